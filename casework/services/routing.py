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
read), and the chain's areas with the departments of the kind on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

from grid.errors import Conflict, InvalidInput
from grid.models import Area, AreaLevel, Department, DepartmentKind

from ..models import HANDLING_TIERS, Category, CategoryGroup, Incident, RoutingRule, Source

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
           named_kind.name
    FROM {rule} AS rule
    LEFT JOIN {kind} AS rule_kind ON rule_kind.id = rule.department_kind_id
    LEFT JOIN {department} AS named ON named.id = rule.department_id
    LEFT JOIN {kind} AS named_kind ON named_kind.id = named.kind_id
    WHERE rule.active
      AND (rule.category_id = %(category)s
           OR rule.group_id IN (SELECT categorygroup_id FROM {members} WHERE category_id = %(category)s)
           OR (rule.category_id IS NULL AND rule.group_id IS NULL))
      AND (rule.area_code = '' OR rule.area_code = ANY(%(prefixes)s))
      AND (rule.source = '' OR rule.source = %(source)s)
"""
_AREAS_SQL = """
    SELECT area.id, area.code, area.name, area.level, area.parent_id,
           department.id, department.name, department.phone
    FROM {area} AS area
    LEFT JOIN {department} AS department
           ON department.area_id = area.id AND department.active
          AND department.kind_id = %(kind)s
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


def matching_rules(
    *, category: Category, area_code: str, source: str = "", description: str = ""
) -> list[MatchedRule]:
    """The active rules matching a case, most specific first. One query: the candidates are
    filtered in SQL by category or group, area code prefix and source; keywords here."""
    prefixes = sorted(
        {area_code[:length] for length in _AREA_CODE_LENGTHS if length <= len(area_code)}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _RULES_SQL.format(**_tables()),
            {"category": category.id, "prefixes": prefixes, "source": source},
        )
        rows = cursor.fetchall()
    matching = []
    for row in rows:
        (rule_id, position, category_id, group_id, code, rule_source, keywords, tier) = row[:8]
        if not keywords_match(keywords, description):
            continue
        kind_id, kind_name = row[8:10]
        named = None
        if row[10] is not None:
            named = _department(list(row[10:16]))
            if kind_id is None:
                kind_id, kind_name = named.kind_id, row[16]
        matching.append(
            MatchedRule(
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
        )
    matching.sort(key=lambda rule: rule.specificity)
    return matching


def _category_kind(category: Category) -> _Kind | None:
    kind = category.department_kind
    return _Kind(kind.id, kind.name) if kind is not None else None


def _tiers_from(tier: int) -> list[int]:
    """`tier` and every tier above it, up to the city."""
    tiers = [tier]
    while tiers[-1] in NEXT_TIER:
        tiers.append(NEXT_TIER[tiers[-1]])
    return tiers


def _chain_areas(
    codes: list[str], kind: _Kind | None
) -> tuple[dict[str, Area], dict[str, Department]]:
    """The current areas with these codes, and on each the active department of `kind` with
    the lowest id. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            _AREAS_SQL.format(**_tables()),
            {"kind": kind.id if kind is not None else None, "codes": codes},
        )
        rows = cursor.fetchall()
    areas: dict[str, Area] = {}
    departments: dict[str, Department] = {}
    for row in rows:
        code = row[1]
        if code not in areas:
            areas[code] = Area.from_db(connection.alias, _AREA_FIELDS, list(row[:5]))
        if row[5] is not None and code not in departments:
            department = _department([row[5], row[6], kind.id, row[0], row[7], True])
            department.area = areas[code]
            departments[code] = department
    return areas, departments


def _settle(
    *,
    chain: dict,
    tier: int,
    kind: _Kind | None,
    named: Department | None = None,
    rule_id: int | None = None,
    escalations: tuple[Escalation, ...] = (),
) -> Route:
    """The route from `tier` upwards: the first tier that can handle the case."""
    if tier not in TIER_KEYS:
        raise InvalidInput(
            _("%(tier)s is not a handling tier") % {"tier": tier}, details={"tier": tier}
        )
    tiers = _tiers_from(tier)
    codes = {t: chain[TIER_KEYS[t]]["code"] for t in tiers if chain.get(TIER_KEYS[t])}
    areas, departments = _chain_areas(list(codes.values()), kind)
    steps = list(escalations)
    for current in tiers:
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
        elif code in departments:
            return Route(current, area, departments[code], rule_id, tuple(steps))
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


def route(*, category: Category, chain: dict, source: str = "", description: str = "") -> Route:
    """Where a new case of `category` with this tier chain (the form stored in
    Incident.chain) goes: the most specific matching rule, or the category's defaults,
    escalated tier by tier while a tier cannot handle it. Two queries."""
    if source and source not in Source.values:
        raise InvalidInput(_("unknown source “%(source)s”") % {"source": source})
    rules = matching_rules(
        category=category,
        area_code=chain_area_code(chain),
        source=source,
        description=description,
    )
    if not rules:
        return _settle(chain=chain, tier=category.default_tier, kind=_category_kind(category))
    rule = rules[0]
    return _settle(
        chain=chain,
        tier=rule.handling_tier,
        kind=rule.kind or _category_kind(category),
        named=rule.department,
        rule_id=rule.id,
    )


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
    return _settle(
        chain=incident.chain,
        tier=up,
        kind=case_kind,
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
