"""Writes to the service catalogue: the seed catalogue, delegation of items to counters
(事项下沉) and the demo delegations.

The seed catalogue is data (community/fixtures/service_catalogue.json): department kinds,
material types shared across items, defaults, and the items with every guide element of
DOMAIN.md §4. Its 通办 scope is a rule (“city”: the whole city of the catalogue), resolved
when the seed runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import Area, AreaLevel, Department, DepartmentKind
from grid.scope import user_scope

from ..models import (
    Delegation,
    DelegationAction,
    DelegationEvent,
    DelegationPower,
    ItemKind,
    MaterialType,
    ServiceItem,
    ServiceMaterial,
)
from ..selectors.catalogue import COUNTER_LEVELS, delegation_granting_scope

Progress = Callable[[str], None]

CATALOGUE_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "service_catalogue.json"

LEVELS = {
    "city": AreaLevel.CITY,
    "district": AreaLevel.DISTRICT,
    "street": AreaLevel.STREET,
    "community": AreaLevel.COMMUNITY,
}
DELEGATE_LEVELS = {None: None, "street": AreaLevel.STREET, "community": AreaLevel.COMMUNITY}
# 通办 scope rules a catalogue file may give an item.
TONGBAN_CITY = "city"
TONGBAN_RULES = {None, TONGBAN_CITY}

# The elements an item takes from the file as they are (after the defaults are applied).
_PLAIN_FIELDS = (
    "name",
    "item_type",
    "basic_code",
    "handling_code",
    "version",
    "implementing_body",
    "implementing_body_credit_code",
    "legal_basis",
    "conditions",
    "procedure",
    "handling_form",
    "kind",
    "legal_limit_days",
    "promised_limit_days",
    "fee_basis",
    "place",
    "hours",
    "visits_needed",
    "in_hall",
    "service_object",
    "consult_phone",
    "complaint_phone",
    "requires_joint_handling",
)
_REQUIRED = (
    "implementation_code",
    "name",
    "item_type",
    "basic_code",
    "implementing_body",
    "department_kind",
    "kind",
    "legal_limit_days",
    "promised_limit_days",
    "service_object",
)


# ---------------------------------------------------------------- the seed catalogue


@dataclass(frozen=True)
class MaterialSpec:
    type_code: str
    form: str
    copies: int
    required: bool
    reusable: bool
    note: str


@dataclass(frozen=True)
class ItemSpec:
    implementation_code: str
    fields: dict
    department_kind: str
    exercise_level: int
    delegate_to_level: int | None
    tongban: str | None
    materials: tuple[MaterialSpec, ...]


@dataclass(frozen=True)
class Catalogue:
    city_code: str | None
    department_kinds: tuple[dict, ...]
    material_types: tuple[dict, ...]
    items: tuple[ItemSpec, ...]


class _Problems:
    """Every problem of a catalogue file, as (item, field, reason)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, item: str, field: str, reason: str) -> None:
        self.rows.append({"item": item, "field": field, "reason": str(reason)})


def _as_int(value, item: str, field: str, problems: _Problems, minimum: int = 0) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.add(
            item, field, _("must be a whole number of at least %(min)d") % {"min": minimum}
        )
        return None
    return value


def _item_spec(raw: dict, defaults: dict, index: int, problems: _Problems) -> ItemSpec | None:
    code = str(raw.get("implementation_code") or f"#{index}")
    merged = {key: value for key, value in defaults.items() if key != "place"}
    merged.update(raw)
    before = len(problems.rows)
    for field in _REQUIRED:
        if merged.get(field) in (None, ""):
            problems.add(code, field, _("is required"))
    if len(problems.rows) > before:
        return None

    exercise_level = LEVELS.get(merged.get("exercise_level", "district"))
    if exercise_level is None:
        problems.add(
            code, "exercise_level", _("must be one of: %(values)s") % {"values": ", ".join(LEVELS)}
        )
    delegate_key = merged.get("delegate_to_level")
    if delegate_key not in DELEGATE_LEVELS:
        problems.add(code, "delegate_to_level", _("must be community, street or empty"))
    tongban = merged.get("tongban")
    if tongban not in TONGBAN_RULES:
        problems.add(code, "tongban", _("must be “city” or empty"))
    legal = _as_int(merged.get("legal_limit_days"), code, "legal_limit_days", problems)
    promised = _as_int(merged.get("promised_limit_days"), code, "promised_limit_days", problems)
    if legal is not None and promised is not None and promised > legal:
        problems.add(
            code,
            "promised_limit_days",
            _(
                "the promised time limit (%(promised)d working days) exceeds the legal one (%(legal)d)"
            )
            % {"promised": promised, "legal": legal},
        )
    _as_int(merged.get("visits_needed", 1), code, "visits_needed", problems)
    try:
        fee = Decimal(str(merged.get("fee", "0")))
        if fee < 0 or not fee.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        problems.add(code, "fee", _("must be an amount in yuan, not negative"))
        fee = Decimal(0)

    places = defaults.get("place") or {}
    if not merged.get("place") and isinstance(places, dict):
        merged["place"] = places.get(delegate_key or "none", "")
    fields = {field: merged[field] for field in _PLAIN_FIELDS if field in merged}
    fields["fee"] = fee

    materials = []
    seen: set[str] = set()
    for position, material in enumerate(merged.get("materials") or [], start=1):
        label = f"materials[{position}]"
        type_code = material.get("type")
        if not type_code:
            problems.add(code, label, _("names no material type"))
            continue
        if type_code in seen:
            problems.add(
                code, label, _("material type “%(type)s” is listed twice") % {"type": type_code}
            )
        seen.add(type_code)
        copies = _as_int(material.get("copies", 1), code, label + ".copies", problems, 1)
        materials.append(
            MaterialSpec(
                type_code=type_code,
                form=material.get("form", "copy"),
                copies=copies or 1,
                required=bool(material.get("required", True)),
                reusable=bool(material.get("reusable", True)),
                note=material.get("note", ""),
            )
        )
    if not materials:
        problems.add(code, "materials", _("an item needs at least one material"))

    # The model's own field rules (choices, lengths) for everything else.
    unsaved = ServiceItem(
        implementation_code=code,
        exercise_level=exercise_level or AreaLevel.DISTRICT,
        delegate_to_level=DELEGATE_LEVELS.get(delegate_key),
        **fields,
    )
    try:
        unsaved.full_clean(
            exclude=["department_kind", "tongban_area"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            for message in messages:
                problems.add(code, field, message)
    if len(problems.rows) > before:
        return None
    return ItemSpec(
        implementation_code=code,
        fields=fields,
        department_kind=merged["department_kind"],
        exercise_level=exercise_level,
        delegate_to_level=DELEGATE_LEVELS[delegate_key],
        tongban=tongban,
        materials=tuple(materials),
    )


def catalogue_read(*, path: Path = CATALOGUE_PATH) -> Catalogue:
    """Read and check a catalogue file. Every problem of every item is reported at once
    (InvalidInput with details [{item, field, reason}]); nothing is written."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInput(
            _("the catalogue file %(path)s cannot be read: %(error)s")
            % {"path": path, "error": error}
        ) from error
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise InvalidInput(_("the catalogue file has no list of items"))
    problems = _Problems()
    kinds = tuple(data.get("department_kinds") or ())
    material_types = tuple(data.get("material_types") or ())
    for kind in kinds:
        if not kind.get("code") or not kind.get("name"):
            problems.add("", "department_kinds", _("a department kind needs a code and a name"))
    for material_type in material_types:
        if not material_type.get("code") or not material_type.get("name"):
            problems.add("", "material_types", _("a material type needs a code and a name"))
    defaults = data.get("defaults") or {}
    specs = []
    for index, raw in enumerate(data["items"], start=1):
        spec = _item_spec(raw, defaults, index, problems)
        if spec is not None:
            specs.append(spec)
    known_kinds = {kind.get("code") for kind in kinds} | set(
        DepartmentKind.objects.values_list("code", flat=True)
    )
    known_types = {material_type.get("code") for material_type in material_types} | set(
        MaterialType.objects.values_list("code", flat=True)
    )
    seen_codes: set[str] = set()
    for spec in specs:
        if spec.implementation_code in seen_codes:
            problems.add(spec.implementation_code, "implementation_code", _("is used twice"))
        seen_codes.add(spec.implementation_code)
        if spec.department_kind not in known_kinds:
            problems.add(
                spec.implementation_code,
                "department_kind",
                _("unknown department kind “%(kind)s”") % {"kind": spec.department_kind},
            )
        for material in spec.materials:
            if material.type_code not in known_types:
                problems.add(
                    spec.implementation_code,
                    "materials",
                    _("unknown material type “%(type)s”") % {"type": material.type_code},
                )
    if problems.rows:
        raise InvalidInput(
            _("the catalogue file has %(count)d problems; nothing was loaded")
            % {"count": len(problems.rows)},
            details=problems.rows,
        )
    return Catalogue(
        city_code=data.get("city_code") or None,
        department_kinds=kinds,
        material_types=material_types,
        items=tuple(specs),
    )


@dataclass(frozen=True)
class CatalogueSeedResult:
    kinds_created: int
    material_types_created: int
    items_created: int
    materials_created: int
    scopes_set: int
    items_in_file: int
    city: Area | None

    @property
    def created_anything(self) -> bool:
        return bool(
            self.kinds_created
            or self.material_types_created
            or self.items_created
            or self.materials_created
            or self.scopes_set
        )


def _current_city(code: str | None) -> Area | None:
    if not code:
        return None
    return Area.objects.current().filter(code=code, level=AreaLevel.CITY).first()


def catalogue_seed(
    *,
    path: Path = CATALOGUE_PATH,
    city_code: str | None = None,
    progress: Progress | None = None,
) -> CatalogueSeedResult:
    """Load the catalogue file: create the department kinds, material types and items (with
    their materials) that are missing, in one transaction. Existing rows are left as they
    are, so administrators' corrections survive a second run, with one exception: an item
    whose 通办 rule is “city” and which has no 通办 scope yet gets the city once the city
    exists (`city_code`, default the file's). A second run changes nothing."""
    say = progress or (lambda message: None)
    catalogue = catalogue_read(path=path)
    with transaction.atomic():
        city = _current_city(city_code or catalogue.city_code)
        kinds_created = 0
        for kind in catalogue.department_kinds:
            _row, created = DepartmentKind.objects.get_or_create(
                code=kind["code"], defaults={"name": kind["name"]}
            )
            kinds_created += created
        have_types = set(MaterialType.objects.values_list("code", flat=True))
        new_types = [
            MaterialType(code=row["code"], name=row["name"], valid_days=row.get("valid_days"))
            for row in catalogue.material_types
            if row["code"] not in have_types
        ]
        MaterialType.objects.bulk_create(new_types)
        kinds = {kind.code: kind for kind in DepartmentKind.objects.all()}
        types = {material_type.code: material_type for material_type in MaterialType.objects.all()}

        existing = {
            item.implementation_code: item
            for item in ServiceItem.objects.filter(
                implementation_code__in=[spec.implementation_code for spec in catalogue.items]
            )
        }
        items_created = materials_created = scopes_set = 0
        for spec in catalogue.items:
            scope = city if spec.tongban == TONGBAN_CITY else None
            item = existing.get(spec.implementation_code)
            if item is not None:
                if scope is not None and item.tongban_area_id is None:
                    item.tongban_area = scope
                    item.save(update_fields=["tongban_area"])
                    scopes_set += 1
                continue
            item = ServiceItem.objects.create(
                implementation_code=spec.implementation_code,
                department_kind=kinds[spec.department_kind],
                exercise_level=spec.exercise_level,
                delegate_to_level=spec.delegate_to_level,
                tongban_area=scope,
                **spec.fields,
            )
            ServiceMaterial.objects.bulk_create(
                ServiceMaterial(
                    item=item,
                    material_type=types[material.type_code],
                    form=material.form,
                    copies=material.copies,
                    required=material.required,
                    reusable=material.reusable,
                    note=material.note,
                    position=position,
                )
                for position, material in enumerate(spec.materials, start=1)
            )
            items_created += 1
            materials_created += len(spec.materials)
        say(
            _(
                "%(items)d of %(total)d service items created with %(materials)d materials; "
                "%(types)d material types and %(kinds)d department kinds created"
            )
            % {
                "items": items_created,
                "total": len(catalogue.items),
                "materials": materials_created,
                "types": len(new_types),
                "kinds": kinds_created,
            }
        )
        if city is None and any(spec.tongban for spec in catalogue.items):
            say(
                _("city %(code)s does not exist: 通办 scopes left empty until it does")
                % {"code": city_code or catalogue.city_code}
            )
        elif scopes_set:
            say(
                _("通办 scope set to %(city)s on %(count)d items")
                % {"city": city, "count": scopes_set}
            )
    return CatalogueSeedResult(
        kinds_created=kinds_created,
        material_types_created=len(new_types),
        items_created=items_created,
        materials_created=materials_created,
        scopes_set=scopes_set,
        items_in_file=len(catalogue.items),
        city=city,
    )


# ---------------------------------------------------------------- delegation


def _check_may_delegate(*, actor, counter: Area) -> None:
    """A counter outside the actor's scope is answered like one that does not exist; inside
    it, only district officers, city managers (for their areas) and superusers delegate."""
    if not user_scope(actor).covers(counter.code):
        raise NotFound(
            _("there is no counter “%(code)s”") % {"code": counter.code},
            details={"code": counter.code},
        )
    if not delegation_granting_scope(user=actor).covers(counter.code):
        raise Forbidden(
            _(
                "only district officers and city managers of the area may delegate items to "
                "%(counter)s or withdraw them"
            )
            % {"counter": counter}
        )


def _delegation_state(delegation: Delegation) -> dict:
    return {
        "id": delegation.pk,
        "item": delegation.item.implementation_code,
        "counter": delegation.counter_code,
        "power": delegation.power,
        "since": delegation.since.isoformat(),
        "active": delegation.active,
    }


def delegation_grant(*, actor, item: ServiceItem, counter: Area, power: str) -> Delegation:
    """Delegate `item` to `counter` (a current community or street) with `power`. One active
    delegation per item and counter (Conflict otherwise); a withdrawn one is granted again."""
    _check_may_delegate(actor=actor, counter=counter)
    if counter.level not in COUNTER_LEVELS or counter.valid_to is not None:
        raise InvalidInput(
            _("%(area)s is not a current community or street: items are delegated to counters")
            % {"area": counter},
            details={"counter": counter.code, "level": counter.level},
        )
    if not item.active:
        raise InvalidInput(
            _("the item “%(item)s” is no longer offered and cannot be delegated")
            % {"item": item.name},
            details={"item": item.implementation_code},
        )
    if power not in DelegationPower.values:
        raise InvalidInput(
            _("unknown power “%(power)s”: use %(values)s")
            % {"power": power, "values": ", ".join(DelegationPower.values)},
            details={"power": power},
        )
    now = timezone.now()
    with transaction.atomic():
        delegation = (
            Delegation.objects.select_for_update()
            .select_related("item")
            .filter(item=item, counter=counter)
            .first()
        )
        if delegation is not None and delegation.active:
            raise Conflict(
                _(
                    "“%(item)s” is already delegated to %(counter)s (%(power)s, since "
                    "%(since)s); withdraw it first to change the power"
                )
                % {
                    "item": item.name,
                    "counter": counter.name,
                    "power": delegation.get_power_display(),
                    "since": delegation.since.isoformat(),
                },
                details=_delegation_state(delegation),
            )
        if delegation is None:
            try:
                with transaction.atomic():
                    delegation = Delegation.objects.create(
                        item=item,
                        counter=counter,
                        counter_code=counter.code,
                        power=power,
                        since=timezone.localdate(now),
                    )
            except IntegrityError as error:
                # Someone granted the same pair between our read and our insert.
                raise Conflict(
                    _("“%(item)s” has just been delegated to %(counter)s by someone else")
                    % {"item": item.name, "counter": counter.name},
                    details={"item": item.implementation_code, "counter": counter.code},
                ) from error
        else:
            delegation.power = power
            delegation.since = timezone.localdate(now)
            delegation.active = True
            delegation.save(update_fields=["power", "since", "active"])
        DelegationEvent.objects.create(
            delegation=delegation, action=DelegationAction.GRANT, power=power, at=now, actor=actor
        )
    return delegation


def delegation_revoke(*, actor, delegation: Delegation, note: str = "") -> Delegation:
    """Withdraw an active delegation. The row stays (inactive) with its history."""
    _check_may_delegate(actor=actor, counter=delegation.counter)
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Delegation.objects.select_for_update()
            .select_related("item", "counter")
            .get(pk=delegation.pk)
        )
        if not locked.active:
            raise Conflict(
                _("the delegation of “%(item)s” to %(counter)s is already withdrawn")
                % {"item": locked.item.name, "counter": locked.counter.name},
                details=_delegation_state(locked),
            )
        locked.active = False
        locked.save(update_fields=["active"])
        DelegationEvent.objects.create(
            delegation=locked,
            action=DelegationAction.REVOKE,
            power=locked.power,
            at=now,
            actor=actor,
            note=note[:200],
        )
    return locked


# ---------------------------------------------------------------- demo delegations

# In the demo, every LEAVE_OUT_EVERY-th counter of a level (from the LEAVE_OUT_FROM-th on)
# lacks one of its items, so the 事项进驻落实率 has something to show; the demo accounts'
# own counters (the first of each level) have everything.
LEAVE_OUT_EVERY = 9
LEAVE_OUT_FROM = 4


def _left_out(counter_index: int, item_position: int, item_count: int) -> bool:
    if counter_index % LEAVE_OUT_EVERY != LEAVE_OUT_FROM:
        return False
    return item_position == (counter_index // LEAVE_OUT_EVERY) % item_count


@dataclass(frozen=True)
class CatalogueDemoSeedResult:
    catalogue: CatalogueSeedResult
    departments_created: int
    delegations_created: int
    pairs_left_out: int

    @property
    def created_anything(self) -> bool:
        return bool(
            self.catalogue.created_anything or self.departments_created or self.delegations_created
        )


def _department_templates(path: Path) -> dict[str, str]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        kind["code"]: kind["department"]
        for kind in data.get("department_kinds") or ()
        if kind.get("department")
    }


def catalogue_demo_seed(
    *, city_code: str = "3605", path: Path = CATALOGUE_PATH, progress: Progress | None = None
) -> CatalogueDemoSeedResult:
    """The demo's catalogue: seed it, give the city and its districts a department of every
    kind the catalogue needs, and delegate every active item to the city's counters of its
    delegate level — decide on the spot for 即办 items, accept and forward for the rest —
    leaving a few pairs out. Only missing rows are created: a second run changes nothing,
    and a delegation someone withdrew stays withdrawn."""
    say = progress or (lambda message: None)
    with transaction.atomic():
        city = _current_city(city_code)
        if city is None:
            raise NotFound(
                _("city %(code)s does not exist; run demo_seed first") % {"code": city_code},
                details={"city_code": city_code},
            )
        catalogue = catalogue_seed(path=path, city_code=city_code, progress=say)

        templates = _department_templates(path)
        kinds = {kind.code: kind for kind in DepartmentKind.objects.filter(code__in=templates)}
        areas = list(
            Area.objects.current()
            .subtree(city.code)
            .filter(level__in=[AreaLevel.CITY, AreaLevel.DISTRICT])
            .order_by("code")
        )
        staffed = set(
            Department.objects.filter(area__in=areas, kind__in=kinds.values()).values_list(
                "area_id", "kind_id"
            )
        )
        new_departments = [
            Department(name=templates[code].format(area=area.name), kind=kind, area=area)
            for area in areas
            for code, kind in sorted(kinds.items())
            if (area.id, kind.id) not in staffed
        ]
        Department.objects.bulk_create(new_departments)

        items = list(
            ServiceItem.objects.filter(active=True, delegate_to_level__isnull=False).order_by(
                "implementation_code"
            )
        )
        have = set(
            Delegation.objects.filter(counter_code__startswith=city.code).values_list(
                "item_id", "counter_id"
            )
        )
        today = timezone.localdate()
        new_delegations = []
        left_out = 0
        for level in COUNTER_LEVELS:
            level_items = [item for item in items if item.delegate_to_level == level]
            if not level_items:
                continue
            counters = (
                Area.objects.current()
                .subtree(city.code)
                .filter(level=level)
                .order_by("code")
                .only("id", "code")
            )
            for index, counter in enumerate(counters):
                for position, item in enumerate(level_items):
                    if _left_out(index, position, len(level_items)):
                        left_out += 1
                        continue
                    if (item.id, counter.id) in have:
                        continue
                    new_delegations.append(
                        Delegation(
                            item=item,
                            counter=counter,
                            counter_code=counter.code,
                            power=(
                                DelegationPower.DECIDE
                                if item.kind == ItemKind.IMMEDIATE
                                else DelegationPower.ACCEPT_FORWARD
                            ),
                            since=today,
                        )
                    )
        Delegation.objects.bulk_create(new_delegations, batch_size=2000)
        now = timezone.now()
        DelegationEvent.objects.bulk_create(
            (
                DelegationEvent(
                    delegation=delegation,
                    action=DelegationAction.GRANT,
                    power=delegation.power,
                    at=now,
                )
                for delegation in new_delegations
            ),
            batch_size=2000,
        )
        say(
            _(
                "%(departments)d departments and %(delegations)d delegations created; "
                "%(left)d (item, counter) pairs left undelegated on purpose"
            )
            % {
                "departments": len(new_departments),
                "delegations": len(new_delegations),
                "left": left_out,
            }
        )
    return CatalogueDemoSeedResult(
        catalogue=catalogue,
        departments_created=len(new_departments),
        delegations_created=len(new_delegations),
        pairs_left_out=left_out,
    )
