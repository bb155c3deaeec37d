"""Routing: the most specific rule wins (each criterion isolated), department kinds resolve on
the tier's area of the case's chain, and a tier that cannot handle a case escalates."""

from __future__ import annotations

import time

import pytest
from django.utils import translation

from casework.models import CategoryGroup, IncidentEvent, Source
from casework.services.routing import (
    keywords_match,
    matching_rules,
    next_tier_route,
    route,
    routing_rule_add,
)
from grid.errors import Conflict, InvalidInput
from grid.models import AreaLevel, DepartmentKind
from grid.selectors.locate import locate_point
from tests.fixtures.casework import catalogue_category, report_case

COMMUNITY, STREET, DISTRICT, CITY = (
    AreaLevel.COMMUNITY,
    AreaLevel.STREET,
    AreaLevel.DISTRICT,
    AreaLevel.CITY,
)
EVENT, COMPONENT = "event", "component"


def chain_at(world, cell: str) -> dict:
    lon, lat = world.point(cell)
    return locate_point(lon=lon, lat=lat).as_dict()


def kind(code: str) -> DepartmentKind:
    return DepartmentKind.objects.get(code=code)


def build_rules(world, specs: list[dict]) -> dict[str, int]:
    """Create the rules of a table row in order; label → rule id."""
    ids = {}
    for spec in specs:
        spec = dict(spec)
        label = spec.pop("label")
        if "category" in spec:
            spec["category"] = catalogue_category(*spec["category"])
        if "group" in spec:
            spec["group"] = CategoryGroup.objects.get(name=spec["group"])
        if "area" in spec:
            spec["area"] = world.area(spec["area"])
        spec["department_kind"] = kind(spec.pop("kind", "chengguan"))
        spec.setdefault("handling_tier", STREET)
        ids[label] = routing_rule_add(**spec).id
    return ids


# Each row isolates one criterion: the rules differ only in it (or, for the first rows of a
# criterion, in it and in something a lower criterion would decide the other way), so the
# expected winner is right only if that criterion is applied, and in its place.
SPECIFICITY = [
    # 1. category beats group beats any
    (
        "category beats group and any",
        [
            {"label": "any"},
            {"label": "group", "group": "市容环境卫生"},
            {"label": "category", "category": ("0102", EVENT)},
        ],
        {"code": "0102"},
        "category",
    ),
    (
        "group beats any",
        [{"label": "any"}, {"label": "group", "group": "市容环境卫生"}],
        {"code": "0103"},
        "group",
    ),
    (
        "a category not in the group: any",
        [{"label": "any"}, {"label": "group", "group": "市容环境卫生"}],
        {"code": "0401"},
        "any",
    ),
    (
        "category beats group even when the group's area is deeper",
        [
            {"label": "group-street", "group": "市容环境卫生", "area": "360502001"},
            {"label": "category-anywhere", "category": ("0102", EVENT)},
        ],
        {"code": "0102"},
        "category-anywhere",
    ),
    # 2. deeper area beats shallower beats none
    (
        "deeper area wins",
        [
            {"label": "anywhere", "category": ("0102", EVENT)},
            {"label": "district", "category": ("0102", EVENT), "area": "360502"},
            {"label": "street", "category": ("0102", EVENT), "area": "360502001"},
            {"label": "city", "category": ("0102", EVENT), "area": "3605"},
        ],
        {"code": "0102"},
        "street",
    ),
    (
        "an area beats none even when the area-less rule has a condition",
        [
            {"label": "anywhere-keyword", "category": ("0102", EVENT), "keywords": "垃圾"},
            {"label": "district", "category": ("0102", EVENT), "area": "360502"},
        ],
        {"code": "0102"},
        "district",
    ),
    (
        "another district's rule does not match",
        [
            {"label": "anywhere", "category": ("0102", EVENT)},
            {"label": "district-b", "category": ("0102", EVENT), "area": "360521"},
        ],
        {"code": "0102"},
        "anywhere",
    ),
    # 3. a condition beats no condition
    (
        "a keyword condition that holds wins",
        [
            {"label": "plain", "category": ("0102", EVENT), "position": 1},
            {
                "label": "keyword",
                "category": ("0102", EVENT),
                "keywords": "建筑, 暴露",
                "position": 9,
            },
        ],
        {"code": "0102", "description": "路边有一堆暴露垃圾"},
        "keyword",
    ),
    (
        "a keyword condition that fails does not match",
        [
            {"label": "plain", "category": ("0102", EVENT)},
            {"label": "keyword", "category": ("0102", EVENT), "keywords": "塌陷"},
        ],
        {"code": "0102", "description": "路边有一堆暴露垃圾"},
        "plain",
    ),
    (
        "a source condition that holds wins",
        [
            {"label": "plain", "category": ("0102", EVENT), "position": 1},
            {"label": "hotline", "category": ("0102", EVENT), "source": Source.HOTLINE},
        ],
        {"code": "0102", "source": Source.HOTLINE, "actor": "city"},
        "hotline",
    ),
    (
        "a source condition that fails does not match",
        [
            {"label": "plain", "category": ("0102", EVENT)},
            {"label": "hotline", "category": ("0102", EVENT), "source": Source.HOTLINE},
        ],
        {"code": "0102"},
        "plain",
    ),
    # 4. lower position
    (
        "lower position wins",
        [
            {"label": "late", "category": ("0102", EVENT), "position": 20},
            {"label": "early", "category": ("0102", EVENT), "position": 10},
        ],
        {"code": "0102"},
        "early",
    ),
    # 5. lower id
    (
        "lower id wins",
        [
            {"label": "first", "category": ("0102", EVENT), "position": 10},
            {"label": "second", "category": ("0102", EVENT), "position": 10},
        ],
        {"code": "0102"},
        "first",
    ),
    (
        "inactive rules are ignored",
        [
            {"label": "plain", "category": ("0102", EVENT), "position": 20},
            {"label": "inactive", "category": ("0102", EVENT), "position": 10, "active": False},
        ],
        {"code": "0102"},
        "plain",
    ),
]


@pytest.mark.parametrize(
    ("rules", "case", "winner"),
    [row[1:] for row in SPECIFICITY],
    ids=[row[0] for row in SPECIFICITY],
)
def test_the_most_specific_rule_wins(report_world, rules, case, winner):
    ids = build_rules(report_world, rules)
    result = report_case(
        report_world,
        code=case["code"],
        description=case.get("description", "路边有一堆暴露垃圾"),
        source=case.get("source", Source.INSPECTOR),
        actor=case.get("actor", "inspector-a"),
    )
    event = result.incident.events.get(action="reported")
    assert event.data["rule"] == ids[winner]


def test_matching_rules_come_most_specific_first(report_world):
    ids = build_rules(
        report_world,
        [
            {"label": "any-late", "position": 50},
            {"label": "any-early", "position": 5},
            {"label": "group", "group": "市容环境卫生"},
            {"label": "category-district", "category": ("0102", EVENT), "area": "360502"},
            {"label": "category", "category": ("0102", EVENT)},
            {"label": "category-keyword", "category": ("0102", EVENT), "keywords": "垃圾"},
            {
                "label": "category-cell-community",
                "category": ("0102", EVENT),
                "area": "360502001001",
            },
        ],
    )
    rules = matching_rules(
        category=catalogue_category("0102"),
        area_code="360502001001001",
        source=Source.INSPECTOR,
        description="暴露垃圾",
    )
    assert [rule.id for rule in rules] == [
        ids["category-cell-community"],
        ids["category-district"],
        ids["category-keyword"],
        ids["category"],
        ids["group"],
        ids["any-early"],
        ids["any-late"],
    ]


@pytest.mark.parametrize(
    ("keywords", "description", "matches"),
    [
        ("", "anything", True),
        ("塌陷", "路面塌陷一处", True),
        ("积水，塌陷", "路面塌陷一处", True),
        ("积水、井盖", "路面塌陷一处", False),
        ("Manhole", "a manhole cover is missing", True),
        (" , ", "anything", True),
    ],
)
def test_keywords(keywords, description, matches):
    assert keywords_match(keywords, description) is matches


def test_no_rule_gives_the_category_defaults(report_world):
    # 0401 路面塌陷: district, 住建
    routed = route(
        category=catalogue_category("0401"), chain=chain_at(report_world, "360502001001001")
    )
    assert routed.rule_id is None
    assert routed.tier == DISTRICT
    assert routed.area.code == "360502"
    assert routed.department == report_world.departments["district-a-zhujian"]
    assert routed.escalations == ()


def test_a_kind_resolves_on_the_tiers_area_of_the_chain(report_world):
    build_rules(
        report_world,
        [
            {
                "label": "street-huanwei",
                "category": ("0104", EVENT),
                "handling_tier": STREET,
                "kind": "huanwei",
            }
        ],
    )
    routed = route(
        category=catalogue_category("0104"), chain=chain_at(report_world, "360502001002004")
    )
    assert (routed.tier, routed.area.code) == (STREET, "360502001")
    assert routed.department == report_world.departments["street-a-huanwei"]


def test_the_lowest_id_department_of_a_kind_wins_on_one_area(report_world):
    from tests.factories import department

    second = department(report_world.area("360502"), "渝水区第二住建局", "zhujian")
    routed = route(
        category=catalogue_category("0401"), chain=chain_at(report_world, "360502001001001")
    )
    assert routed.department == report_world.departments["district-a-zhujian"]
    assert routed.department.id < second.id


def test_a_named_department(report_world):
    build_rules(report_world, [])
    rule = routing_rule_add(
        category=catalogue_category("0401"),
        handling_tier=STREET,
        department=report_world.departments["district-a-chengguan"],
    )
    routed = route(
        category=catalogue_category("0401"), chain=chain_at(report_world, "360502001001003")
    )
    assert routed.rule_id == rule.id
    assert (routed.tier, routed.area.code) == (STREET, "360502001")
    assert routed.department == report_world.departments["district-a-chengguan"]


def test_an_inactive_named_department_escalates_with_its_kind(report_world):
    named = report_world.departments["street-a-chengguan"]
    named.active = False
    named.save(update_fields=["active"])
    routing_rule_add(category=catalogue_category("0401"), handling_tier=STREET, department=named)
    with translation.override("en"):
        routed = route(
            category=catalogue_category("0401"),
            chain=chain_at(report_world, "360502001001001"),
        )
    assert routed.tier == DISTRICT
    assert routed.department == report_world.departments["district-a-chengguan"]
    assert [(s.from_tier, s.to_tier) for s in routed.escalations] == [(STREET, DISTRICT)]
    assert "inactive" in routed.escalations[0].reason


def test_a_category_without_a_department_kind_stays_at_its_tier(report_world):
    category = catalogue_category("0699")
    category.department_kind = None
    category.save(update_fields=["department_kind"])
    routed = route(category=category, chain=chain_at(report_world, "360521001001001"))
    assert (routed.tier, routed.area.code, routed.department) == (STREET, "360521001", None)


def test_escalation_when_the_community_has_no_department(report_world):
    # 0102 暴露垃圾 goes to the community (环卫); community 360502001002 has no 环卫 team.
    with translation.override("en"):
        result = report_case(
            report_world, code="0102", cell="360502001002001", actor="street-a", source=Source.STAFF
        )
    incident = result.incident
    assert (incident.tier, incident.holder_area.code) == (STREET, "360502001")
    assert incident.department == report_world.departments["street-a-huanwei"]
    assert incident.escalation_count == 1
    escalated = list(incident.events.filter(action="escalated"))
    assert [(e.data["from_tier"], e.data["to_tier"]) for e in escalated] == [(COMMUNITY, STREET)]
    assert "no active 环卫 department on community 360502001002" in escalated[0].note
    assert escalated[0].actor is None


def test_a_community_with_a_department_keeps_the_case(report_world):
    result = report_case(report_world, code="0102", cell="360502001001002")
    incident = result.incident
    assert (incident.tier, incident.holder_area.code) == (COMMUNITY, "360502001001")
    assert incident.department == report_world.departments["community-a-huanwei"]
    assert incident.escalation_count == 0
    assert not incident.events.filter(action="escalated").exists()


def test_escalation_goes_up_to_the_city_and_stays_there_without_a_department(report_world):
    # District B has no 环卫 anywhere, nor has the city: community → street → district → city.
    result = report_case(report_world, code="0102", cell="360521001001001", actor="inspector-b")
    incident = result.incident
    assert (incident.tier, incident.holder_area.code, incident.department) == (CITY, "3605", None)
    assert incident.escalation_count == 3
    steps = [
        (e.data["from_tier"], e.data["to_tier"])
        for e in IncidentEvent.objects.filter(incident=incident, action="escalated").order_by("id")
    ]
    assert steps == [(COMMUNITY, STREET), (STREET, DISTRICT), (DISTRICT, CITY)]


def test_escalation_finds_the_citys_department(report_world):
    # 0101 上水井盖: district 水务; district B has none, the city has 新余市水务局.
    result = report_case(
        report_world, code="0101", kind=COMPONENT, cell="360521001001001", actor="inspector-b"
    )
    assert result.incident.tier == CITY
    assert result.incident.department == report_world.departments["city-shuiwu"]
    assert result.incident.escalation_count == 1


def test_next_tier_route_goes_one_tier_up(report_world):
    incident = report_case(report_world, code="0102", cell="360502001001001").incident
    assert incident.tier == COMMUNITY
    upper = next_tier_route(incident=incident, reason="beyond the community's means")
    assert (upper.tier, upper.area.code) == (STREET, "360502001")
    assert upper.department == report_world.departments["street-a-huanwei"]
    assert [(s.from_tier, s.to_tier, s.reason) for s in upper.escalations] == [
        (COMMUNITY, STREET, "beyond the community's means")
    ]


def test_next_tier_route_without_a_department_uses_the_routing_kind(report_world):
    incident = report_case(report_world, code="0102", cell="360502001001001").incident
    incident.department = None
    upper = next_tier_route(incident=incident, reason="returned")
    assert upper.department == report_world.departments["street-a-huanwei"]


def test_next_tier_route_from_the_city_is_a_conflict(report_world):
    incident = report_case(
        report_world, code="0102", cell="360521001001001", actor="inspector-b"
    ).incident
    assert incident.tier == CITY
    with pytest.raises(Conflict):
        next_tier_route(incident=incident, reason="up")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"handling_tier": AreaLevel.GRID}, "handling_tier"),
        ({"handling_tier": STREET, "source": "fax"}, "source"),
        ({"handling_tier": STREET, "area": "360502001001001"}, "area"),
    ],
)
def test_routing_rule_add_refuses_bad_rules(report_world, fields, field):
    if "area" in fields:
        fields = {**fields, "area": report_world.area(fields["area"])}
    with pytest.raises(InvalidInput) as caught:
        routing_rule_add(**fields)
    assert field in caught.value.details


def test_routing_rule_add_refuses_category_and_group(report_world):
    with pytest.raises(InvalidInput) as caught:
        routing_rule_add(
            handling_tier=STREET,
            category=catalogue_category("0102"),
            group=CategoryGroup.objects.get(name="市容环境卫生"),
        )
    assert "group" in caught.value.details


def test_routing_reads_the_rules_in_one_query_and_is_fast(
    report_world, django_assert_max_num_queries
):
    """With many rules stored, one case's routing reads only the candidates, in one query,
    plus one for the departments."""
    categories = [catalogue_category(code) for code in ("0101", "0103", "0104", "0201", "0301")]
    street_b = report_world.area("360521001")
    for index in range(2000):
        routing_rule_add(
            category=categories[index % len(categories)],
            area=street_b,
            handling_tier=STREET,
            department_kind=kind("chengguan"),
            position=index,
        )
    routing_rule_add(
        category=catalogue_category("0102"), handling_tier=STREET, department_kind=kind("huanwei")
    )
    chain = chain_at(report_world, "360502001001001")
    category = catalogue_category("0102")
    with django_assert_max_num_queries(2):
        routed = route(category=category, chain=chain, source=Source.INSPECTOR, description="垃圾")
    assert routed.department == report_world.departments["street-a-huanwei"]
    started = time.perf_counter()
    for _ in range(200):
        route(category=category, chain=chain, source=Source.INSPECTOR, description="垃圾")
    per_route_ms = (time.perf_counter() - started) / 200 * 1000
    print(f"routing: {per_route_ms:.2f} ms per case with 2,001 rules stored")
    # Loading every stored rule through the ORM instead would take several times this.
    assert per_route_ms < 25
