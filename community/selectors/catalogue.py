"""Reads of the service catalogue and its delegation to counters.

Who may see what: the catalogue itself (items and their guides) is public; delegations, the
items a particular counter may take and the 事项进驻落实率 of an area are shown only for
areas in the reader's scope (grid.scope.user_scope).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from grid.codes import CODE_LENGTHS
from grid.errors import InvalidInput, NotFound
from grid.models import Area, AreaLevel, Assignment, Role
from grid.scope import Scope, user_scope

from ..models import Delegation, DelegationPower, ServiceItem, ServiceMaterial

COUNTER_LEVELS = (AreaLevel.STREET, AreaLevel.COMMUNITY)
# The roles that decide which items go down to which counters (事项下沉).
GRANTING_ROLES = (Role.DISTRICT_OFFICER, Role.CITY_MANAGER)


@dataclass(frozen=True)
class CounterPermission:
    """Whether a counter may accept an item, with what power, and if not, why."""

    allowed: bool
    power: str | None
    reason: str
    delegation: Delegation | None = None


def _tongban_covers(item: ServiceItem, counter: Area) -> bool:
    scope = item.tongban_area
    return scope is not None and scope.valid_to is None and counter.code.startswith(scope.code)


def counter_may_accept(*, item: ServiceItem, counter: Area) -> CounterPermission:
    """A counter (a community or street) accepts an item delegated to it — with the power the
    delegation gives — or an item whose 通办 scope covers it (accept and forward only)."""
    if counter.level not in COUNTER_LEVELS or counter.valid_to is not None:
        return CounterPermission(
            False,
            None,
            _("%(area)s is not a current community or street counter") % {"area": counter},
        )
    if not item.active:
        return CounterPermission(
            False, None, _("the item “%(item)s” is no longer offered") % {"item": item.name}
        )
    delegation = Delegation.objects.filter(item=item, counter=counter).first()
    if delegation is not None and delegation.active:
        return CounterPermission(True, delegation.power, "", delegation)
    if _tongban_covers(item, counter):
        return CounterPermission(True, DelegationPower.ACCEPT_FORWARD, "")
    values = {"item": item.name, "counter": counter.name}
    if delegation is not None:
        values["scope"] = item.tongban_area.name if item.tongban_area else ""
        if item.tongban_area is not None:
            reason = _(
                "the delegation of “%(item)s” to %(counter)s has been withdrawn, and its 通办 "
                "scope %(scope)s does not cover this counter"
            )
        else:
            reason = _(
                "the delegation of “%(item)s” to %(counter)s has been withdrawn, and the item "
                "has no 通办 scope"
            )
        return CounterPermission(False, None, reason % values)
    scope = item.tongban_area
    if scope is not None:
        values["scope"] = scope.name
        reason = _(
            "the item “%(item)s” is not delegated to %(counter)s, and its 通办 scope "
            "%(scope)s does not cover this counter"
        )
    else:
        reason = _("the item “%(item)s” is not delegated to %(counter)s and has no 通办 scope")
    return CounterPermission(False, None, reason % values)


# ---------------------------------------------------------------- the catalogue


def _ancestor_codes(code: str) -> list[str]:
    """The code itself and the codes of every area above it (codes nest)."""
    lengths = sorted({length for options in CODE_LENGTHS.values() for length in options})
    return [code[:length] for length in lengths if length <= len(code)]


def item_list(
    *,
    q: str | None = None,
    kind: str | None = None,
    department_kind: str | None = None,
    counter: Area | None = None,
    include_inactive: bool = False,
) -> QuerySet[ServiceItem]:
    """Items of the catalogue, searched by part of the name or of a code. With `counter`,
    only the items that counter may take, each annotated with its `power` there: the
    delegation's power, or accept-and-forward where only the 通办 scope covers the counter."""
    items = ServiceItem.objects.select_related("department_kind", "tongban_area")
    if not include_inactive or counter is not None:
        items = items.filter(active=True)
    if q:
        q = q.strip()
        items = items.filter(
            Q(name__icontains=q)
            | Q(implementation_code__icontains=q)
            | Q(basic_code__icontains=q)
            | Q(handling_code__icontains=q)
        )
    if kind:
        items = items.filter(kind=kind)
    if department_kind:
        items = items.filter(department_kind__code=department_kind)
    if counter is not None:
        if counter.level not in COUNTER_LEVELS or counter.valid_to is not None:
            return items.none()
        delegated = Delegation.objects.filter(item=OuterRef("pk"), counter=counter, active=True)
        items = (
            items.annotate(delegated_power=Subquery(delegated.values("power")[:1]))
            .filter(
                Q(delegated_power__isnull=False)
                | Q(
                    tongban_area__valid_to__isnull=True,
                    tongban_area__code__in=_ancestor_codes(counter.code),
                )
            )
            .annotate(power=Coalesce("delegated_power", Value(DelegationPower.ACCEPT_FORWARD)))
        )
    return items.order_by("implementation_code")


def item_get(*, implementation_code: str) -> ServiceItem:
    """One item with its materials (in guide order), for its guide and detail."""
    item = (
        ServiceItem.objects.select_related("department_kind", "tongban_area")
        .prefetch_related(
            Prefetch(
                "materials",
                queryset=ServiceMaterial.objects.select_related("material_type").order_by(
                    "position", "id"
                ),
            )
        )
        .filter(implementation_code=implementation_code)
        .first()
    )
    if item is None:
        raise NotFound(
            _("there is no service item “%(code)s”") % {"code": implementation_code},
            details={"implementation_code": implementation_code},
        )
    return item


def counter_get_visible(*, user, code: str) -> Area:
    """The current counter (community or street) with `code` in the user's scope. An area
    outside the scope is answered like one that does not exist; an area of another level
    is refused with the reason."""
    area = user_scope(user).filter(Area.objects.current().filter(code=code)).first()
    if area is None:
        raise NotFound(_("there is no counter “%(code)s”") % {"code": code}, details={"code": code})
    if area.level not in COUNTER_LEVELS:
        raise InvalidInput(
            _("%(area)s is a %(level)s, not a community or street counter")
            % {"area": area, "level": area.get_level_display()},
            details={"code": code, "level": area.level},
        )
    return area


def counter_choices(*, user, limit: int = 500) -> list[Area]:
    """The current counters in the user's scope, by code (for pickers)."""
    return list(
        user_scope(user)
        .filter(Area.objects.current().filter(level__in=COUNTER_LEVELS))
        .only("code", "name", "level")
        .order_by("code")[:limit]
    )


# ---------------------------------------------------------------- delegations


def delegation_list(
    *,
    user,
    area_code: str | None = None,
    item_code: str | None = None,
    active: bool | None = True,
) -> QuerySet[Delegation]:
    """Delegations to counters in the user's scope, optionally within one area's subtree, of
    one item, and active or withdrawn (None: both)."""
    delegations = Delegation.objects.filter(user_scope(user).q("counter_code"))
    if area_code:
        delegations = delegations.filter(counter_code__startswith=area_code)
    if item_code:
        delegations = delegations.filter(item__implementation_code=item_code)
    if active is not None:
        delegations = delegations.filter(active=active)
    return delegations.select_related("item", "counter").order_by(
        "counter_code", "item__implementation_code"
    )


def delegation_get_visible(*, user, pk: int) -> Delegation:
    delegation = (
        Delegation.objects.filter(user_scope(user).q("counter_code"), pk=pk)
        .select_related("item", "counter")
        .prefetch_related("events__actor")
        .first()
    )
    if delegation is None:
        raise NotFound(_("there is no delegation %(id)s") % {"id": pk}, details={"id": pk})
    return delegation


def delegation_granting_scope(*, user) -> Scope:
    """The areas in which `user` may grant and withdraw delegations: the subtrees of their
    active district-officer and city-manager assignments (superusers: everywhere)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope(prefixes=())
    if user.is_superuser:
        return Scope(prefixes=(), everything=True)
    codes = sorted(
        set(
            Assignment.objects.active()
            .filter(user=user, role__in=GRANTING_ROLES, area__valid_to__isnull=True)
            .values_list("area__code", flat=True)
        ),
        key=len,
    )
    prefixes: list[str] = []
    for code in codes:
        if not any(code.startswith(prefix) for prefix in prefixes):
            prefixes.append(code)
    return Scope(prefixes=tuple(sorted(prefixes)))


def user_may_grant_delegations(*, user) -> bool:
    return not delegation_granting_scope(user=user).is_empty


# ---------------------------------------------------------------- 事项进驻落实率


@dataclass(frozen=True)
class DelegationRate:
    """事项进驻落实率 of an area: (item, counter) pairs that should be delegated and are, over
    the pairs that should be. `rate` is None when nothing should be delegated there."""

    area_code: str
    area_name: str
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        if not self.denominator:
            return None
        return self.numerator / self.denominator

    @property
    def percent(self) -> float | None:
        rate = self.rate
        return None if rate is None else round(rate * 100, 1)

    @property
    def missing(self) -> int:
        return self.denominator - self.numerator


def _tables() -> dict[str, str]:
    return {
        "item": ServiceItem._meta.db_table,
        "area": Area._meta.db_table,
        "delegation": Delegation._meta.db_table,
    }


# The pairs that should be delegated: every active item with a delegate level, times every
# current counter of that level inside the area. A delegation counts only while active;
# (item, counter) is unique, so the LEFT JOIN adds at most one row per pair.
_EXPECTED_PAIRS = """
    FROM {item} i
    JOIN {area} a ON a.level = i.delegate_to_level
    LEFT JOIN {delegation} d ON d.item_id = i.id AND d.counter_id = a.id AND d.active
    WHERE i.active AND i.delegate_to_level IS NOT NULL
      AND a.valid_to IS NULL AND a.code LIKE %(prefix)s
"""


def delegation_rate(*, area: Area) -> DelegationRate:
    """事项进驻落实率 of an area's subtree, in one query."""
    sql = "SELECT count(d.id), count(*)" + _EXPECTED_PAIRS.format(**_tables())
    with connection.cursor() as cursor:
        cursor.execute(sql, {"prefix": area.code + "%"})
        numerator, denominator = cursor.fetchone()
    return DelegationRate(area.code, area.name, numerator, denominator)


def delegation_rate_children(*, area: Area) -> list[DelegationRate]:
    """The rate of each current child area of `area`, in one query; children where nothing
    should be delegated have denominator 0."""
    child_level = area.level + 1
    if child_level > AreaLevel.COMMUNITY:
        return []
    length = CODE_LENGTHS[child_level][0]
    sql = (
        """
        WITH pairs AS (
            SELECT left(a.code, %(length)s) AS child_code,
                   count(d.id) AS numerator, count(*) AS denominator
        """
        + _EXPECTED_PAIRS
        + """
            GROUP BY 1
        )
        SELECT c.code, c.name, coalesce(p.numerator, 0), coalesce(p.denominator, 0)
        FROM {area} c LEFT JOIN pairs p ON p.child_code = c.code
        WHERE c.parent_id = %(parent)s AND c.valid_to IS NULL
        ORDER BY c.code
        """
    ).format(**_tables())
    with connection.cursor() as cursor:
        cursor.execute(sql, {"prefix": area.code + "%", "length": length, "parent": area.id})
        return [DelegationRate(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class MissingDelegation:
    item_code: str
    item_name: str
    counter_code: str
    counter_name: str
    counter_level: int


class MissingDelegations:
    """The (item, counter) pairs of an area that should be delegated and are not, by counter
    code then item code. A lazy sequence: Django's Paginator counts it and slices one page,
    and each slice is one LIMIT/OFFSET query."""

    def __init__(self, *, area: Area, total: int) -> None:
        self.area = area
        self.total = total

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index):
        if not isinstance(index, slice):
            rows = self[index : index + 1]
            if not rows:
                raise IndexError(index)
            return rows[0]
        start, stop, step = index.indices(self.total)
        if step != 1:
            raise ValueError("missing delegations are sliced with step 1 only")
        if stop <= start:
            return []
        sql = (
            "SELECT i.implementation_code, i.name, a.code, a.name, a.level"
            + _EXPECTED_PAIRS
            + " AND d.id IS NULL ORDER BY a.code, i.implementation_code"
            + " LIMIT %(limit)s OFFSET %(offset)s"
        ).format(**_tables())
        with connection.cursor() as cursor:
            cursor.execute(
                sql, {"prefix": self.area.code + "%", "limit": stop - start, "offset": start}
            )
            return [MissingDelegation(*row) for row in cursor.fetchall()]


def delegation_rate_missing(
    *, area: Area, rate: DelegationRate | None = None
) -> MissingDelegations:
    """The pairs that are missing from the area's rate (paginate the result)."""
    rate = rate or delegation_rate(area=area)
    return MissingDelegations(area=area, total=rate.missing)


def delegation_rate_areas(*, user) -> list[Area]:
    """The top areas of the user's scope (their assignments' areas; for superusers the
    current cities), the areas whose rate a person sees first."""
    scope = user_scope(user)
    if scope.is_empty:
        return []
    areas = Area.objects.current()
    if scope.everything:
        areas = areas.filter(level=AreaLevel.CITY)
    else:
        areas = areas.filter(code__in=scope.prefixes)
    return list(areas.only("code", "name", "level").order_by("code"))
