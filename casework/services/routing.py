"""Routing: the tier and department a case goes to, and escalation one tier up.

A routing rule (casework.RoutingRule) matches a case when it is active and
- names the case's category, or a group the category belongs to, or neither (any category);
- has no area (anywhere), or an area whose subtree holds the case: the rule's area code is a
  prefix of the case's area code (its grid cell's code; the city's for an unlocated report);
- its conditions hold: `source` empty or the case's source; `keywords` empty or one of its
  words (separated by commas, ， or 、) occurs in the description, ignoring case.

The most specific matching rule wins. Criteria in order, each deciding only when all before
it tie:
1. a rule naming the category beats one naming a group, which beats one for any category;
2. a deeper area (longer area code) beats a shallower one, which beats none (anywhere);
3. a rule with a condition (source or keywords) beats one without;
4. the lower position;
5. the lower id.
When no rule matches, the category's default tier and department kind apply.

The winner gives the handling tier and a named department, or a department kind (its own, or
else the category's). A kind is resolved on the case's chain: the active department of that
kind on the chain's area of that tier (the one with the lowest id when there are several).
When the tier cannot handle the case — no such department there, the named department is
inactive, or the chain lacks that tier's area — the case escalates one tier up (community →
street → district → city), and again if need be; incident_report records each step as an
"escalated" IncidentEvent. At the city with still no department, the case stays at the city
with no department: the city's dispatchers triage it. A category without a department kind
goes to its tier with no department, and that tier's dispatchers choose one.

Cost: two queries — the candidate rules (filtered in SQL by category or group, by the
prefixes of the case's area code and by source, so only the few rules that can match are
read), and the chain's areas with the departments of the kind on them. route_many routes a
batch of cases with the same two queries; route() is route_many for a batch of one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

from grid.errors import Conflict, InvalidInput
from grid.models import Area, AreaLevel, Department, DepartmentKind

from ..models import (
    HANDLING_TIERS,
    Category,
    CategoryGroup,
    Incident,
    IncidentEvent,
    RoutingRule,
    Source,
)

# The chain's key (casework.Incident.chain) of each handling tier, lowest first.
TIER_KEYS: dict[int, str] = {
    AreaLevel.COMMUNITY: "community",
    AreaLevel.STREET: "street",
    AreaLevel.DISTRICT: "district",
    AreaLevel.CITY: "city",
}
CHAIN_KEYS = ("cell", "community", "street", "district", "city")
# One tier up: community → street → district → city.
NEXT_TIER: dict[int, int] = {
    AreaLevel.COMMUNITY: AreaLevel.STREET,
    AreaLevel.STREET: AreaLevel.DISTRICT,
    AreaLevel.DISTRICT: AreaLevel.CITY,
}
# Lengths of area codes that can be a rule's area (city … grid cell, old 14-digit cells too).
_AREA_CODE_LENGTHS = (4, 6, 9, 12, 14, 15)
_KEYWORD_SEPARATORS = re.compile(r"[,，、]")


@dataclass(frozen=True)
class Escalation:
    """One step up: from a tier to the next, and why."""

    from_tier: int
    to_tier: int
    reason: str


@dataclass(frozen=True)
class Route:
    """Where a case goes: the handling tier, its area in the case's chain (a current area,
    read with its id, code, name, level and parent), the department (None: the tier's
    dispatchers choose), the id of the rule that decided (None: the category's defaults)
    and the escalation steps taken on the way."""

    tier: int
    area: Area
    department: Department | None
    rule_id: int | None = None
    escalations: tuple[Escalation, ...] = ()


@dataclass(frozen=True)
class _Kind:
    id: int
    name: str


@dataclass(frozen=True)
class MatchedRule:
    """A routing rule that matches a case, as routing reads it."""

    id: int
    position: int
    category_id: int | None
    group_id: int | None
    area_code: str
    source: str
    keywords: str
    handling_tier: int
    kind: _Kind | None  # the rule's department kind, or its named department's
    department: Department | None  # the named department

    @property
    def specificity(self) -> tuple[int, int, int, int, int]:
        """The sort key: the most specific first (see the module docstring)."""
        breadth = 0 if self.category_id else 1 if self.group_id else 2
        has_condition = bool(self.source or self.keywords.strip())
        return (breadth, -len(self.area_code), 0 if has_condition else 1, self.position, self.id)


# The roles recorded in the history for what the system does on its own, and for a
# superuser's actions (report intake and the moves both write them).
SYSTEM_ROLE = "system"
SUPERUSER_ROLE = "superuser"


def escalation_events(routed: Route, *, incident: Incident, status: str, at) -> list:
    """The routing's own steps up (no department on a tier) as history rows, unsaved: one
    "escalated" event each, by the system."""
    return [
        IncidentEvent(
            incident=incident,
            action="escalated",
            from_status=status,
            to_status=status,
            actor=None,
            role=SYSTEM_ROLE,
            at=at,
            note=step.reason,
            data={"from_tier": step.from_tier, "to_tier": step.to_tier, "automatic": True},
        )
        for step in routed.escalations
    ]


def tier_label(tier: int) -> str:
    return str(dict(HANDLING_TIERS)[tier])


def chain_area_code(chain: dict) -> str:
    """The case's area code: its grid cell's, or the deepest area the chain has."""
    for key in CHAIN_KEYS:
        if chain.get(key):
            return chain[key]["code"]
    raise InvalidInput(_("the case's tier chain is empty"))


def keywords_match(keywords: str, description: str) -> bool:
    """Whether one of the rule's keywords occurs in the description (no keywords: yes)."""
    words = [word.strip().casefold() for word in _KEYWORD_SEPARATORS.split(keywords)]
    words = [word for word in words if word]
    if not words:
        return True
    text = description.casefold()
    return any(word in text for word in words)


# Raw SQL for the two reads of routing, which runs in every report: through the ORM, building
# the same queries cost about four times the database's own time (measured on this project's
# two-core machine: some 1 ms of Python per query against 0.2 ms in PostgreSQL).
_RULES_SQL = """
    SELECT rule.id, rule.position, rule.category_id, rule.group_id, rule.area_code,
           rule.source, rule.keywords, rule.handling_tier,
           rule_kind.id, rule_kind.name,
           named.id, named.name, named.kind_id, named.area_id, named.phone, named.active,
           named_kind.name,
           ARRAY(SELECT member.category_id FROM {members} AS member
                 WHERE member.categorygroup_id = rule.group_id
                   AND member.category_id = ANY(%(categories)s))
    FROM {rule} AS rule
    LEFT JOIN {kind} AS rule_kind ON rule_kind.id = rule.department_kind_id
    LEFT JOIN {department} AS named ON named.id = rule.department_id
    LEFT JOIN {kind} AS named_kind ON named_kind.id = named.kind_id
    WHERE rule.active
      AND (rule.category_id = ANY(%(categories)s)
           OR rule.group_id IN (SELECT categorygroup_id FROM {members}
                                WHERE category_id = ANY(%(categories)s))
           OR (rule.category_id IS NULL AND rule.group_id IS NULL))
      AND (rule.area_code = '' OR rule.area_code = ANY(%(prefixes)s))
      AND (rule.source = '' OR rule.source = ANY(%(sources)s))
"""
_AREAS_SQL = """
    SELECT area.id, area.code, area.name, area.level, area.parent_id,
           department.id, department.name, department.phone, department.kind_id
    FROM {area} AS area
    LEFT JOIN {department} AS department
           ON department.area_id = area.id AND department.active
          AND department.kind_id = ANY(%(kinds)s)
    WHERE area.valid_to IS NULL AND area.code = ANY(%(codes)s)
    ORDER BY area.code, department.id
"""
_AREA_FIELDS = ["id", "code", "name", "level", "parent_id"]
_DEPARTMENT_FIELDS = ["id", "name", "kind_id", "area_id", "phone", "active"]


def _tables() -> dict[str, str]:
    return {
        "rule": RoutingRule._meta.db_table,
        "kind": DepartmentKind._meta.db_table,
        "department": Department._meta.db_table,
        "members": CategoryGroup.categories.through._meta.db_table,
        "area": Area._meta.db_table,
    }


def _department(values: list) -> Department:
    # Model field order: id, name, kind, area, phone, active (from_db fills the rest lazily).
    return Department.from_db(connection.alias, _DEPARTMENT_FIELDS, values)


def _area_prefixes(area_code: str) -> set[str]:
    """The codes a rule's area may have to hold a case of this area code."""
    return {area_code[:length] for length in _AREA_CODE_LENGTHS if length <= len(area_code)}


class _Rules:
    """The active rules that can match any of a set of cases, read in one query (filtered in
    SQL by category or group, area code prefix and source), then matched per case here."""

    def __init__(self, *, category_ids: set[int], area_codes: set[str], sources: set[str]):
        prefixes = sorted({prefix for code in area_codes for prefix in _area_prefixes(code)})
        with connection.cursor() as cursor:
            cursor.execute(
                _RULES_SQL.format(**_tables()),
                {
                    "categories": sorted(category_ids),
                    "prefixes": prefixes,
                    "sources": sorted(sources),
                },
            )
            rows = cursor.fetchall()
        # Each rule with the ids of the asked-for categories in its group.
        self._rules: list[tuple[MatchedRule, frozenset[int]]] = []
        for row in rows:
            (rule_id, position, category_id, group_id, code, rule_source, keywords, tier) = row[:8]
            kind_id, kind_name = row[8:10]
            named = None
            if row[10] is not None:
                named = _department(list(row[10:16]))
                if kind_id is None:
                    kind_id, kind_name = named.kind_id, row[16]
            rule = MatchedRule(
                id=rule_id,
                position=position,
                category_id=category_id,
                group_id=group_id,
                area_code=code,
                source=rule_source,
                keywords=keywords,
                handling_tier=tier,
                kind=_Kind(kind_id, kind_name) if kind_id is not None else None,
                department=named,
            )
            self._rules.append((rule, frozenset(row[17])))
        self._candidates: dict[tuple[int, str, str], list[MatchedRule]] = {}

    def matching(
        self, *, category_id: int, area_code: str, source: str, description: str
    ) -> list[MatchedRule]:
        """The rules matching one case, most specific first."""
        key = (category_id, area_code, source)
        candidates = self._candidates.get(key)
        if candidates is None:
            prefixes = _area_prefixes(area_code)
            candidates = sorted(
                (
                    rule
                    for rule, members in self._rules
                    if (
                        rule.category_id == category_id
                        or category_id in members
                        or (rule.category_id is None and rule.group_id is None)
                    )
                    and (not rule.area_code or rule.area_code in prefixes)
                    and (not rule.source or rule.source == source)
                ),
                key=lambda rule: rule.specificity,
            )
            self._candidates[key] = candidates
        return [rule for rule in candidates if keywords_match(rule.keywords, description)]


def matching_rules(
    *, category: Category, area_code: str, source: str = "", description: str = ""
) -> list[MatchedRule]:
    """The active rules matching a case, most specific first. One query: the candidates are
    filtered in SQL by category or group, area code prefix and source; keywords here."""
    return _Rules(category_ids={category.id}, area_codes={area_code}, sources={source}).matching(
        category_id=category.id, area_code=area_code, source=source, description=description
    )


def _category_kind(category: Category) -> _Kind | None:
    kind = category.department_kind
    return _Kind(kind.id, kind.name) if kind is not None else None


def _tiers_from(tier: int) -> list[int]:
    """`tier` and every tier above it, up to the city."""
    tiers = [tier]
    while tiers[-1] in NEXT_TIER:
        tiers.append(NEXT_TIER[tiers[-1]])
    return tiers


@dataclass(frozen=True)
class _ChainAreas:
    """Current areas by code, and on each the active department of each asked-for kind with
    the lowest id, by (area code, kind id)."""

    areas: dict[str, Area]
    departments: dict[tuple[str, int], Department]


def _chain_areas(codes: set[str], kind_ids: set[int]) -> _ChainAreas:
    """The current areas with these codes and their departments of these kinds. One query
    (none for no codes)."""
    areas: dict[str, Area] = {}
    departments: dict[tuple[str, int], Department] = {}
    if not codes:
        return _ChainAreas(areas, departments)
    with connection.cursor() as cursor:
        cursor.execute(
            _AREAS_SQL.format(**_tables()), {"kinds": sorted(kind_ids), "codes": sorted(codes)}
        )
        rows = cursor.fetchall()
    for row in rows:
        code = row[1]
        if code not in areas:
            areas[code] = Area.from_db(connection.alias, _AREA_FIELDS, list(row[:5]))
        if row[5] is not None and (code, row[8]) not in departments:
            department = _department([row[5], row[6], row[8], row[0], row[7], True])
            department.area = areas[code]
            departments[(code, row[8])] = department
    return _ChainAreas(areas, departments)


def _tier_codes(chain: dict, tier: int) -> dict[int, str]:
    """The chain's area code of `tier` and of every tier above it (where the chain has one)."""
    if tier not in TIER_KEYS:
        raise InvalidInput(
            _("%(tier)s is not a handling tier") % {"tier": tier}, details={"tier": tier}
        )
    return {t: chain[TIER_KEYS[t]]["code"] for t in _tiers_from(tier) if chain.get(TIER_KEYS[t])}


def _settle(
    *,
    codes: dict[int, str],
    tier: int,
    kind: _Kind | None,
    known: _ChainAreas,
    named: Department | None = None,
    rule_id: int | None = None,
    escalations: tuple[Escalation, ...] = (),
) -> Route:
    """The route from `tier` upwards (`codes`: _tier_codes of the chain from `tier`): the
    first tier that can handle the case."""
    areas = known.areas
    steps = list(escalations)
    for current in _tiers_from(tier):
        code = codes.get(current)
        area = areas.get(code) if code else None
        if code is None:
            reason = _("the case's tier chain has no %(tier)s") % {"tier": tier_label(current)}
        elif area is None:
            reason = _("%(code)s is no longer a current area") % {"code": code}
        elif current == tier and named is not None and named.active:
            return Route(current, area, named, rule_id, tuple(steps))
        elif current == tier and named is not None:
            reason = _("the department “%(name)s” named by the routing rule is inactive") % {
                "name": named.name
            }
        elif kind is None:
            return Route(current, area, None, rule_id, tuple(steps))
        elif (code, kind.id) in known.departments:
            return Route(current, area, known.departments[(code, kind.id)], rule_id, tuple(steps))
        else:
            reason = _("no active %(kind)s department on %(tier)s %(code)s %(name)s") % {
                "kind": kind.name,
                "tier": tier_label(current),
                "code": code,
                "name": area.name,
            }
        if current == AreaLevel.CITY:
            break
        steps.append(Escalation(current, NEXT_TIER[current], reason))
    # At the city with no department: the city's dispatchers triage the case.
    city = areas.get(codes.get(AreaLevel.CITY, ""))
    if city is None:
        raise InvalidInput(
            _(
                "the case's tier chain reaches no current city; the areas above its cell are "
                "incomplete"
            )
        )
    return Route(AreaLevel.CITY, city, None, rule_id, tuple(steps))


@dataclass(frozen=True)
class RouteRequest:
    """A new case to route: its category, tier chain (the form stored in Incident.chain),
    source and description."""

    category: Category
    chain: dict
    source: str = ""
    description: str = ""


@dataclass(frozen=True)
class _Decision:
    """What the winning rule (or the category's defaults) says, before the chain is walked."""

    codes: dict[int, str]
    tier: int
    kind: _Kind | None
    named: Department | None
    rule_id: int | None

    @property
    def key(self) -> tuple:
        return (
            tuple(self.codes.items()),
            self.tier,
            self.kind.id if self.kind else None,
            self.named.id if self.named else None,
            self.rule_id,
        )


def _decide(rules: _Rules, request: RouteRequest, area_code: str) -> _Decision:
    category = request.category
    matched = rules.matching(
        category_id=category.id,
        area_code=area_code,
        source=request.source,
        description=request.description,
    )
    if not matched:
        tier = category.default_tier
        return _Decision(
            _tier_codes(request.chain, tier), tier, _category_kind(category), None, None
        )
    rule = matched[0]
    return _Decision(
        _tier_codes(request.chain, rule.handling_tier),
        rule.handling_tier,
        rule.kind or _category_kind(category),
        rule.department,
        rule.id,
    )


def route_many(*, requests: list[RouteRequest]) -> list[Route | InvalidInput]:
    """Where each of many new cases goes, in order: the Route that route() gives for it, or
    the InvalidInput it raises. Two queries for the whole set, whatever its size: the rules
    that can match any of the cases, and the areas of all their chains with the departments
    of every kind wanted on them; the rules are matched once per category, area code and
    source, and a chain walked once per starting point."""
    decisions: list[_Decision | InvalidInput] = []
    area_codes: list[str | InvalidInput] = []
    for request in requests:
        try:
            if request.source and request.source not in Source.values:
                raise InvalidInput(_("unknown source “%(source)s”") % {"source": request.source})
            area_codes.append(chain_area_code(request.chain))
        except InvalidInput as exc:
            area_codes.append(exc)
    asked = [
        (request, code)
        for request, code in zip(requests, area_codes, strict=True)
        if isinstance(code, str)
    ]
    rules = (
        _Rules(
            category_ids={request.category.id for request, _code in asked},
            area_codes={code for _request, code in asked},
            sources={request.source for request, _code in asked},
        )
        if asked
        else None
    )
    for request, code in zip(requests, area_codes, strict=True):
        if isinstance(code, InvalidInput):
            decisions.append(code)
            continue
        try:
            decisions.append(_decide(rules, request, code))
        except InvalidInput as exc:
            decisions.append(exc)
    wanted = [decision for decision in decisions if isinstance(decision, _Decision)]
    known = _chain_areas(
        {code for decision in wanted for code in decision.codes.values()},
        {decision.kind.id for decision in wanted if decision.kind is not None},
    )
    settled: dict[tuple, Route | InvalidInput] = {}
    routes: list[Route | InvalidInput] = []
    for decision in decisions:
        if isinstance(decision, InvalidInput):
            routes.append(decision)
            continue
        key = decision.key
        if key not in settled:
            try:
                settled[key] = _settle(
                    codes=decision.codes,
                    tier=decision.tier,
                    kind=decision.kind,
                    known=known,
                    named=decision.named,
                    rule_id=decision.rule_id,
                )
            except InvalidInput as exc:
                settled[key] = exc
        routes.append(settled[key])
    return routes


def route(*, category: Category, chain: dict, source: str = "", description: str = "") -> Route:
    """Where a new case of `category` with this tier chain (the form stored in
    Incident.chain) goes: the most specific matching rule, or the category's defaults,
    escalated tier by tier while a tier cannot handle it. Two queries (route_many for a set
    of one)."""
    [routed] = route_many(
        requests=[
            RouteRequest(category=category, chain=chain, source=source, description=description)
        ]
    )
    if isinstance(routed, InvalidInput):
        raise routed
    return routed


def next_tier_route(*, incident: Incident, reason: str) -> Route:
    """The route of a case escalated one tier up from the tier holding it (and further up
    while a tier cannot handle it). The department kind is that of the case's department,
    or else the one its routing gives; the first escalation step carries `reason`.
    Conflict when the case is already at the city."""
    up = NEXT_TIER.get(incident.tier)
    if up is None:
        raise Conflict(_("the case is already at the city tier; there is no tier above it"))
    if incident.department_id is not None:
        kind = DepartmentKind.objects.get(department=incident.department_id)
        case_kind: _Kind | None = _Kind(kind.id, kind.name)
    else:
        rules = matching_rules(
            category=incident.category,
            area_code=chain_area_code(incident.chain),
            source=incident.source,
            description=incident.description,
        )
        case_kind = (rules[0].kind if rules else None) or _category_kind(incident.category)
    codes = _tier_codes(incident.chain, up)
    return _settle(
        codes=codes,
        tier=up,
        kind=case_kind,
        known=_chain_areas(set(codes.values()), {case_kind.id} if case_kind else set()),
        escalations=(Escalation(incident.tier, up, reason),),
    )


def routing_rule_add(
    *,
    handling_tier: int,
    category: Category | None = None,
    group: CategoryGroup | None = None,
    area: Area | None = None,
    source: str = "",
    keywords: str = "",
    department: Department | None = None,
    department_kind: DepartmentKind | None = None,
    position: int = 100,
    active: bool = True,
) -> RoutingRule:
    """A new routing rule, checked; its area code follows the area."""
    errors: dict[str, str] = {}
    if handling_tier not in TIER_KEYS:
        errors["handling_tier"] = _("the handling tier must be community, street, district or city")
    if category is not None and group is not None:
        errors["group"] = _("a rule names a category or a group, not both")
    if source and source not in Source.values:
        errors["source"] = _("unknown source “%(source)s”") % {"source": source}
    if area is not None and area.level == AreaLevel.GRID:
        errors["area"] = _("a rule's area is a city, district, street or community")
    if area is not None and not area.is_current:
        errors["area"] = _("%(code)s is no longer a current area") % {"code": area.code}
    if department is not None and department_kind is not None:
        errors["department_kind"] = _("a rule names a department or a department kind, not both")
    if errors:
        raise InvalidInput("; ".join(errors.values()), details=errors)
    return RoutingRule.objects.create(
        position=position,
        category=category,
        group=group,
        area=area,
        area_code=area.code if area is not None else "",
        source=source,
        keywords=keywords,
        handling_tier=handling_tier,
        department=department,
        department_kind=department_kind,
        active=active,
    )
