"""Writing facilities (部件): registration under the component code rules, edits with a
stale-update check, state changes with an append-only history, and inspections.

Component code (DOMAIN.md §2): the 6-digit county (district) code of the district that
contains the facility + the category's class code (4 digits in the GB/T 30428 tradition, 5
in GB/T 47678.5) + a 6-digit serial, 000001 upwards: 16 or 17 digits, e.g. 3205080101000001.
A facility registered without a code gets the next free serial of its district and class.

Who may do what — each ✓ holds only where one of the user's active assignments has an area
that contains the facility's grid cell. Outside all of them the facility is answered as not
found (404); inside, without the role, as forbidden (403). An edit that moves a facility or
changes its owner must be allowed both before and after.

| role               | see (list, detail, near, map) | register, edit, import | change state, record inspection |
|--------------------|-------------------------------|------------------------|---------------------------------|
| city manager       | ✓                             | ✓                      | ✓                               |
| district officer   | ✓                             | ✓                      | ✓                               |
| street officer     | ✓                             | ✓                      | ✓                               |
| department handler | ✓                             | owner department's     | owner department's              |
| grid inspector     | ✓                             | —                      | ✓ (their cells)                 |
| community staff    | ✓                             | —                      | —                               |

Superusers may do everything; `actor=None` is the system itself (an import run from the
command line without --as). The table lives in community.selectors.facilities.ROLE_ACTIONS.
"""

from __future__ import annotations

import datetime
import re
from typing import Final

from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import Conflict, InvalidInput, NotFound
from grid.models import Department, Sequence
from grid.selectors.locate import Location, coordinate_errors, locate_point
from grid.services.sequences import sequence_next

from ..models import Facility, FacilityCategory, FacilityState, FacilityStateChange
from ..selectors.facilities import FacilityAccess, FacilityAction, facility_access

SCHEME_GBT30428: Final = "GB/T 30428"
SCHEME_GBT47678: Final = "GB/T 47678.5"
DEFAULT_SCHEME: Final = SCHEME_GBT30428
COUNTY_DIGITS: Final = 6
SERIAL_DIGITS: Final = 6
SERIAL_MAX: Final = 10**SERIAL_DIGITS - 1
NAME_MAX_LENGTH: Final = Facility._meta.get_field("name").max_length
REASON_MAX_LENGTH: Final = FacilityStateChange._meta.get_field("reason").max_length
REFERENCE_MAX_LENGTH: Final = FacilityStateChange._meta.get_field("reference").max_length
_DIGITS = re.compile(r"^[0-9]+$")


# --- component codes ------------------------------------------------------------------------


def facility_code_length(category: FacilityCategory) -> int:
    """16 digits with a 4-digit class code, 17 with a 5-digit one."""
    return COUNTY_DIGITS + len(category.code) + SERIAL_DIGITS


def facility_code_problems(
    *, code: str, category: FacilityCategory, district_code: str | None
) -> list[str]:
    """Every reason `code` is not the component code of a facility of `category` in the
    district `district_code` (None: the district is unknown and not compared)."""
    if not code or not _DIGITS.match(code):
        return [_("a component code consists of digits only; “%(code)s” does not") % {"code": code}]
    wanted = facility_code_length(category)
    if len(code) != wanted:
        return [
            _(
                "a component code of the %(scheme)s scheme has %(wanted)d digits (6 county, "
                "%(class_digits)d class, 6 serial); “%(code)s” has %(got)d"
            )
            % {
                "scheme": category.scheme,
                "wanted": wanted,
                "class_digits": len(category.code),
                "code": code,
                "got": len(code),
            }
        ]
    problems = []
    county = code[:COUNTY_DIGITS]
    class_code = code[COUNTY_DIGITS : COUNTY_DIGITS + len(category.code)]
    serial = code[COUNTY_DIGITS + len(category.code) :]
    if district_code is not None and county != district_code:
        problems.append(
            _(
                "the code's county part %(county)s is not %(district)s, the district that "
                "contains the facility's location"
            )
            % {"county": county, "district": district_code}
        )
    if class_code != category.code:
        problems.append(
            _("the code's class part %(given)s is not %(wanted)s, the class of “%(name)s”")
            % {"given": class_code, "wanted": category.code, "name": category.name}
        )
    if serial == "0" * SERIAL_DIGITS:
        problems.append(_("the code's serial (its last 6 digits) must not be 000000"))
    return problems


def district_code_of(location: Location) -> str:
    """The county-level code of a located point: its district, else the cell code's first six
    digits (codes nest)."""
    return location.district.code if location.district else location.cell.code[:COUNTY_DIGITS]


class FacilitySerials:
    """Issues serials per (district, class) from grid.services.sequences, skipping serials
    already used by codes given explicitly (registered, or reserved from an import file). The
    sequence row stays locked until the transaction ends, so concurrent registrations never
    get the same serial."""

    def __init__(self) -> None:
        self._highest: dict[str, int] = {}

    @staticmethod
    def _stored_highest(prefix: str) -> int:
        # A range on the unique index, then the exact shape: 17-digit codes of the other
        # scheme can share the 16-digit prefix.
        last = (
            Facility.objects.filter(
                code__range=(prefix + "0" * SERIAL_DIGITS, prefix + "9" * SERIAL_DIGITS),
                code__regex=rf"^{prefix}[0-9]{{{SERIAL_DIGITS}}}$",
            )
            .order_by("-code")
            .values_list("code", flat=True)
            .first()
        )
        return int(last[len(prefix) :]) if last else 0

    def _known_highest(self, prefix: str) -> int:
        if prefix not in self._highest:
            self._highest[prefix] = self._stored_highest(prefix)
        return self._highest[prefix]

    def reserve(self, *, code: str, category: FacilityCategory) -> None:
        """Mark a valid code as used, so no issued serial collides with it."""
        prefix = code[: COUNTY_DIGITS + len(category.code)]
        serial = int(code[len(prefix) :])
        self._highest[prefix] = max(self._known_highest(prefix), serial)

    def issue_block(
        self, *, district_code: str, category: FacilityCategory, count: int
    ) -> list[str]:
        """`count` consecutive free codes of the district and class."""
        prefix = district_code + category.code
        highest = self._known_highest(prefix)
        key = f"facility-code:{prefix}"
        taken = sequence_next(key=key)
        first = max(taken, highest + 1)
        last = first + count - 1
        if last > SERIAL_MAX:
            raise InvalidInput(
                _("district %(district)s has no %(count)d free serials left for class %(class)s")
                % {"district": district_code, "count": count, "class": category.code}
            )
        if last != taken:
            # The row is locked since sequence_next, until the transaction ends.
            Sequence.objects.filter(key=key).update(value=last)
        self._highest[prefix] = last
        return [f"{prefix}{serial:0{SERIAL_DIGITS}d}" for serial in range(first, last + 1)]

    def issue(self, *, district_code: str, category: FacilityCategory) -> str:
        return self.issue_block(district_code=district_code, category=category, count=1)[0]


def facility_code_issue(*, district_code: str, category: FacilityCategory) -> str:
    """The next free component code for a facility of `category` in `district_code`."""
    return FacilitySerials().issue(district_code=district_code, category=category)


# --- shared checks --------------------------------------------------------------------------


def facility_values(facility: Facility) -> dict:
    """The stored values of a facility, as a client sees them (for 409 answers)."""
    return {
        "id": facility.pk,
        "code": facility.code,
        "scheme": facility.category.scheme,
        "category": facility.category.code,
        "name": facility.name,
        "lon": facility.location.x,
        "lat": facility.location.y,
        "grid_cell": facility.area_code,
        "owner_department": facility.owner_department_id,
        "state": facility.state,
        "last_inspected_on": (
            facility.last_inspected_on.isoformat() if facility.last_inspected_on else None
        ),
        "updated_at": facility.updated_at.isoformat(),
    }


def _wgs84(location: Point) -> Point:
    if location.srid not in (None, 4326):
        location = location.transform(4326, clone=True)
    errors = coordinate_errors(lon=location.x, lat=location.y)
    if errors:
        raise InvalidInput("; ".join(errors.values()), details=errors)
    return Point(location.x, location.y, srid=4326)


def _locate(point: Point) -> Location:
    location = locate_point(lon=point.x, lat=point.y)
    if location is None:
        raise InvalidInput(
            _("the point lon %(lon)s, lat %(lat)s lies outside every grid cell")
            % {"lon": point.x, "lat": point.y},
            details={"location": [point.x, point.y]},
        )
    return location


def _check_point(
    access: FacilityAccess,
    action: FacilityAction,
    *,
    location: Location,
    point: Point,
    owner_department_id: int | None,
) -> None:
    refusal = access.refusal(
        action, area_code=location.cell.code, owner_department_id=owner_department_id
    )
    if isinstance(refusal, NotFound):
        raise NotFound(
            _("no grid cell in your areas covers lon %(lon)s, lat %(lat)s")
            % {"lon": point.x, "lat": point.y}
        )
    if refusal is not None:
        raise refusal


def _check_facility(access: FacilityAccess, action: FacilityAction, facility: Facility) -> None:
    refusal = access.refusal(
        action, area_code=facility.area_code, owner_department_id=facility.owner_department_id
    )
    if isinstance(refusal, NotFound):
        raise NotFound(_("there is no facility %(id)s") % {"id": facility.pk})
    if refusal is not None:
        raise refusal


def _department_problem(department: Department, *, cell_code: str) -> str | None:
    if not department.active:
        return _("the department “%(name)s” is no longer active") % {"name": department.name}
    if not cell_code.startswith(department.area.code):
        return _(
            "the department “%(name)s” works for %(area)s, which does not contain the "
            "facility's grid cell %(cell)s"
        ) % {"name": department.name, "area": department.area.name, "cell": cell_code}
    return None


def facility_state_problem(state: str) -> str | None:
    if state not in FacilityState.values:
        return _("unknown state “%(state)s”; one of %(states)s") % {
            "state": state,
            "states": ", ".join(FacilityState.values),
        }
    return None


def facility_inspection_date_problem(day: datetime.date | None) -> str | None:
    if day is not None and day > timezone.localdate():
        return _("the inspection date %(date)s is in the future") % {"date": day.isoformat()}
    return None


def _name_problem(name: str) -> str | None:
    if len(name) > NAME_MAX_LENGTH:
        return _("the name has %(got)d characters; at most %(max)d") % {
            "got": len(name),
            "max": NAME_MAX_LENGTH,
        }
    return None


def _raise_problems(problems: dict[str, list[str]]) -> None:
    problems = {field: reasons for field, reasons in problems.items() if reasons}
    if problems:
        raise InvalidInput(
            "; ".join(reason for reasons in problems.values() for reason in reasons),
            details=problems,
        )


def _code_taken(code: str, *, exclude_id: int | None = None) -> Conflict | None:
    other = Facility.objects.filter(code=code).exclude(pk=exclude_id).values("pk").first()
    if other is None:
        return None
    return Conflict(
        _("the component code %(code)s is already registered") % {"code": code},
        details={"code": code, "facility": other["pk"]},
    )


def _save_code(facility: Facility, *, update_fields: list[str] | None = None) -> None:
    """Save, turning a race on the unique code into a 409."""
    try:
        with transaction.atomic():
            facility.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise Conflict(
            _("the component code %(code)s is already registered") % {"code": facility.code},
            details={"code": facility.code},
        ) from exc


# --- register -------------------------------------------------------------------------------


@transaction.atomic
def facility_register(
    *,
    actor,
    category: FacilityCategory,
    location: Point,
    code: str | None = None,
    name: str = "",
    owner_department: Department | None = None,
    state: str = FacilityState.INTACT,
    last_inspected_on: datetime.date | None = None,
) -> Facility:
    """Register a facility at `location` (WGS84), located to the grid cell covering it.
    Without a code the next free serial of its district and class is issued."""
    point = _wgs84(location)
    located = _locate(point)
    access = facility_access(user=actor)
    _check_point(
        access,
        FacilityAction.EDIT,
        location=located,
        point=point,
        owner_department_id=owner_department.pk if owner_department else None,
    )
    district_code = district_code_of(located)
    problems: dict[str, list[str]] = {
        "state": [p for p in [facility_state_problem(state)] if p],
        "name": [p for p in [_name_problem(name)] if p],
        "last_inspected_on": [
            p for p in [facility_inspection_date_problem(last_inspected_on)] if p
        ],
        "owner_department": [
            p
            for p in [
                owner_department
                and _department_problem(owner_department, cell_code=located.cell.code)
            ]
            if p
        ],
        "code": (
            facility_code_problems(code=code, category=category, district_code=district_code)
            if code
            else []
        ),
    }
    _raise_problems(problems)
    if code:
        taken = _code_taken(code)
        if taken:
            raise taken
    else:
        code = facility_code_issue(district_code=district_code, category=category)
    facility = Facility(
        code=code,
        category=category,
        name=name,
        location=point,
        grid_cell_id=located.cell.id,
        area_code=located.cell.code,
        owner_department=owner_department,
        state=state,
        last_inspected_on=last_inspected_on,
    )
    _save_code(facility)
    return facility


# --- update ---------------------------------------------------------------------------------


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def _lock(facility: Facility) -> Facility:
    return (
        Facility.objects.select_for_update(of=("self",))
        .select_related("category", "owner_department__area")
        .get(pk=facility.pk)
    )


@transaction.atomic
def facility_update(
    *,
    facility: Facility,
    actor,
    updated_at: datetime.datetime,
    category: FacilityCategory | _Unset = UNSET,
    location: Point | _Unset = UNSET,
    code: str | _Unset | None = UNSET,
    name: str | _Unset = UNSET,
    owner_department: Department | _Unset | None = UNSET,
) -> Facility:
    """Change what the client sent (UNSET: keep). `updated_at` is the value the client read:
    if the facility changed since, nothing is written and the 409 carries the current
    values. `code=None` or "" asks for a newly issued code; a kept code must still fit a
    new category or district. State and inspections change only through their own
    services."""
    locked = _lock(facility)
    access = facility_access(user=actor)
    _check_facility(access, FacilityAction.EDIT, locked)
    if locked.updated_at != updated_at:
        raise Conflict(
            _(
                "the facility %(code)s was changed by someone else at %(at)s; "
                "here are its current values"
            )
            % {"code": locked.code, "at": timezone.localtime(locked.updated_at).isoformat()},
            details={"current": facility_values(locked)},
        )
    changed: set[str] = set()
    problems: dict[str, list[str]] = {}
    new_category = locked.category if isinstance(category, _Unset) else category
    new_owner = (
        locked.owner_department if isinstance(owner_department, _Unset) else owner_department
    )
    owner_id = new_owner.pk if new_owner else None
    cell_id, cell_code = locked.grid_cell_id, locked.area_code
    district_code = cell_code[:COUNTY_DIGITS]
    if not isinstance(location, _Unset):
        point = _wgs84(location)
        located = _locate(point)
        _check_point(
            access, FacilityAction.EDIT, location=located, point=point, owner_department_id=owner_id
        )
        cell_id, cell_code = located.cell.id, located.cell.code
        district_code = district_code_of(located)
        locked.location = point
        changed.add("location")
    else:
        access.check(FacilityAction.EDIT, area_code=cell_code, owner_department_id=owner_id)
    if not isinstance(name, _Unset):
        problems["name"] = [p for p in [_name_problem(name)] if p]
        locked.name = name
        changed.add("name")
    if not isinstance(owner_department, _Unset):
        problems["owner_department"] = [
            p for p in [new_owner and _department_problem(new_owner, cell_code=cell_code)] if p
        ]
        locked.owner_department = new_owner
        changed.add("owner_department")
    if not isinstance(category, _Unset):
        locked.category = new_category
        changed.add("category")
    # The code is judged again only when it, the class or the place changes: a rename does
    # not trip over a code whose district was redrawn since it was issued.
    issue_code = code is None or code == ""
    new_code = locked.code if isinstance(code, _Unset) else code
    if not issue_code and ({"location", "category"} & changed or not isinstance(code, _Unset)):
        problems["code"] = facility_code_problems(
            code=new_code, category=new_category, district_code=district_code
        )
        if isinstance(code, _Unset) and problems["code"]:
            problems["code"].append(_("send a new code, or an empty code to have one issued"))
    _raise_problems(problems)
    if issue_code:
        locked.code = facility_code_issue(district_code=district_code, category=new_category)
        changed.add("code")
    elif new_code != locked.code:
        taken = _code_taken(new_code, exclude_id=locked.pk)
        if taken:
            raise taken
        locked.code = new_code
        changed.add("code")
    if cell_id != locked.grid_cell_id:
        locked.grid_cell_id, locked.area_code = cell_id, cell_code
        changed.update({"grid_cell", "area_code"})
    if changed:
        _save_code(locked, update_fields=sorted(changed | {"updated_at"}))
    return locked


# --- state and inspections ------------------------------------------------------------------


@transaction.atomic
def facility_set_state(
    *,
    facility: Facility,
    state: str,
    actor,
    reason: str,
    reference: str = "",
    check_access: bool = True,
) -> FacilityStateChange:
    """Move the facility to `state`, appending a history row with who, why and a reference
    (e.g. a case number). Setting the state it already has is refused (409). Casework, whose
    own rules already allowed the move of a case, passes check_access=False so that the
    facility follows the case whoever moved it."""
    problems = {
        "state": [p for p in [facility_state_problem(state)] if p],
        "reason": [],
        "reference": [],
    }
    reason = reason.strip()
    if not reason:
        problems["reason"].append(_("give a reason for the change"))
    elif len(reason) > REASON_MAX_LENGTH:
        problems["reason"].append(
            _("the reason has %(got)d characters; at most %(max)d")
            % {"got": len(reason), "max": REASON_MAX_LENGTH}
        )
    if len(reference) > REFERENCE_MAX_LENGTH:
        problems["reference"].append(
            _("the reference has %(got)d characters; at most %(max)d")
            % {"got": len(reference), "max": REFERENCE_MAX_LENGTH}
        )
    _raise_problems(problems)
    locked = _lock(facility)
    if check_access:
        _check_facility(facility_access(user=actor), FacilityAction.MAINTAIN, locked)
    if locked.state == state:
        raise Conflict(
            _("the facility %(code)s is already %(state)s")
            % {"code": locked.code, "state": FacilityState(state).label},
            details={"state": locked.state, "updated_at": locked.updated_at.isoformat()},
        )
    change = FacilityStateChange.objects.create(
        facility=locked,
        from_state=locked.state,
        to_state=state,
        changed_by=actor,
        reason=reason,
        reference=reference,
    )
    locked.state = state
    locked.save(update_fields=["state", "updated_at"])
    facility.state, facility.updated_at = locked.state, locked.updated_at
    return change


@transaction.atomic
def facility_record_inspection(
    *, facility: Facility, actor, inspected_on: datetime.date
) -> Facility:
    """Record that the facility was inspected on `inspected_on`. The same date again changes
    nothing; a date before the recorded last inspection is refused (409 with that date)."""
    problem = facility_inspection_date_problem(inspected_on)
    if problem:
        raise InvalidInput(problem, details={"inspected_on": [problem]})
    locked = _lock(facility)
    _check_facility(facility_access(user=actor), FacilityAction.MAINTAIN, locked)
    last = locked.last_inspected_on
    if last is not None and inspected_on < last:
        raise Conflict(
            _("the facility %(code)s was last inspected on %(last)s, after %(date)s")
            % {"code": locked.code, "last": last.isoformat(), "date": inspected_on.isoformat()},
            details={"last_inspected_on": last.isoformat()},
        )
    if last != inspected_on:
        locked.last_inspected_on = inspected_on
        locked.save(update_fields=["last_inspected_on", "updated_at"])
    facility.last_inspected_on, facility.updated_at = locked.last_inspected_on, locked.updated_at
    return locked
