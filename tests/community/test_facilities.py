"""Facilities (部件): component codes, registration, edits, state history, inspections, near
queries in true metres, the patrol list, and the role table of community.services.facilities."""

from __future__ import annotations

import datetime
import math
import re

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone, translation

from community.models import Facility, FacilityCategory, FacilityState, FacilityStateChange
from community.selectors import facilities as facility_selectors
from community.selectors.facilities import (
    FacilityAction,
    facilities_inspection_due,
    facilities_near,
    facility_access,
    facility_detail,
    facility_list,
)
from community.services import facilities as facility_services
from community.services.facilities import (
    facility_code_issue,
    facility_code_problems,
    facility_record_inspection,
    facility_register,
    facility_set_state,
    facility_update,
)
from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import Role
from tests.concurrency import at_once
from tests.factories import department
from tests.fixtures.community import (
    assigned_user,
    cell_point,
    facility_category,
    make_facility,
)

pytestmark = pytest.mark.django_db

FOUR = FacilityCategory(scheme="GB/T 30428", code="0101", major_code="01", name="上水井盖")
FIVE = FacilityCategory(scheme="GB/T 47678.5", code="01001", major_code="01", name="上水井盖")


# --- component codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "category", "district", "expected"),
    [
        ("3205080101000001", FOUR, "320508", []),  # DOMAIN.md's example: 姑苏区, 上水井盖, #1
        ("3605020101999999", FOUR, "360502", []),
        ("36050201001000001", FIVE, "360502", []),
        ("360502010100001", FOUR, "360502", ["has 16 digits (6 county, 4 class, 6 serial)"]),
        ("3605020101000001", FIVE, "360502", ["has 17 digits (6 county, 5 class, 6 serial)"]),
        ("36050201010000a1", FOUR, "360502", ["digits only"]),
        ("", FOUR, "360502", ["digits only"]),
        ("3605210101000001", FOUR, "360502", ["county part 360521 is not 360502"]),
        ("3605020102000001", FOUR, "360502", ["class part 0102 is not 0101"]),
        ("36050201002000001", FIVE, "360502", ["class part 01002 is not 01001"]),
        ("3605020101000000", FOUR, "360502", ["must not be 000000"]),
        (
            "3605210102000000",
            FOUR,
            "360502",
            ["county part 360521", "class part 0102", "must not be 000000"],
        ),
        ("3605210101000001", FOUR, None, []),  # the district unknown: not compared
    ],
)
def test_code_rules_with_precise_reasons(code, category, district, expected):
    with translation.override("en"):
        problems = facility_code_problems(code=code, category=category, district_code=district)
    assert len(problems) == len(expected)
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem


def test_seeded_categories_show_both_schemes():
    four = FacilityCategory.objects.filter(scheme="GB/T 30428")
    five = FacilityCategory.objects.filter(scheme="GB/T 47678.5")
    assert four.get(code="0101").name == "上水井盖"
    assert four.get(code="0501").major_name == "房屋土地"
    assert four.count() == 19
    assert {len(code) for code in four.values_list("code", flat=True)} == {4}
    assert five.get(code="01001").name == "上水井盖"
    assert {len(code) for code in five.values_list("code", flat=True)} == {5}
    assert set(four.values_list("major_code", flat=True)) == {"01", "02", "03", "04", "05"}


# --- register -------------------------------------------------------------------------------


def officer(square_city, code: str, role: str = Role.DISTRICT_OFFICER, dept=None):
    return assigned_user(code, role, dept)


def test_register_locates_the_cell_and_issues_serials(square_city):
    actor = officer(square_city, "360502")
    category = facility_category("0101")
    # column 1, row 0 of the lattice: community 360502001001, south-east cell 004
    point = Point(114.015, 27.805, srid=4326)
    first = facility_register(actor=actor, category=category, location=point, name="井盖甲")
    second = facility_register(actor=actor, category=category, location=point)
    assert first.grid_cell.code == first.area_code == "360502001001004"
    assert first.code == "3605020101000001"
    assert second.code == "3605020101000002"
    other_class = facility_register(actor=actor, category=facility_category("0118"), location=point)
    assert other_class.code == "3605020118000001"
    five = facility_register(actor=actor, category=facility_category("01001"), location=point)
    assert five.code == "36050201001000001"


def test_issued_serials_skip_codes_given_explicitly(square_city):
    actor = officer(square_city, "360502")
    category = facility_category("0102")
    point = cell_point(square_city.cells["360502001002001"])
    facility_register(actor=actor, category=category, location=point, code="3605020102000007")
    assert facility_code_issue(district_code="360502", category=category) == "3605020102000008"
    # a 17-digit code of the other scheme sharing the 16-digit prefix does not count
    make_facility(
        cell=square_city.cells["360502001002001"],
        code="36050201020000099",
        category=facility_category("01020"),
    )
    issued = facility_register(actor=actor, category=category, location=point)
    assert issued.code == "3605020102000009"


def test_register_with_a_code_checks_it_against_the_location(square_city):
    actor = officer(square_city, "3605", Role.CITY_MANAGER)
    category = facility_category("0101")
    in_fenyi = cell_point(square_city.cells["360521001001001"])
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        facility_register(
            actor=actor, category=category, location=in_fenyi, code="3605020101000001"
        )
    assert "county part 360502 is not 360521" in caught.value.message
    assert list(caught.value.details) == ["code"]
    good = facility_register(
        actor=actor, category=category, location=in_fenyi, code="3605210101000001"
    )
    assert good.area_code == "360521001001001"
    with pytest.raises(Conflict):
        facility_register(actor=actor, category=category, location=in_fenyi, code=good.code)


def test_register_outside_every_cell_names_the_point(square_city):
    actor = officer(square_city, "3605", Role.CITY_MANAGER)
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        facility_register(
            actor=actor, category=facility_category(), location=Point(116.4, 39.9, srid=4326)
        )
    assert caught.value.status == 422
    assert "lon 116.4, lat 39.9 lies outside every grid cell" in caught.value.message
    assert not Facility.objects.exists()


def test_register_checks_values_and_owner_department(square_city):
    actor = officer(square_city, "3605", Role.CITY_MANAGER)
    fenyi_department = department(square_city.districts["360521"], "分宜县城管局")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        facility_register(
            actor=actor,
            category=facility_category(),
            location=cell_point(square_city.cells["360502001001001"]),
            state="broken",
            name="x" * 101,
            owner_department=fenyi_department,
            last_inspected_on=tomorrow,
        )
    details = caught.value.details
    assert set(details) == {"state", "name", "owner_department", "last_inspected_on"}
    assert (
        "does not contain the facility's grid cell 360502001001001"
        in (details["owner_department"][0])
    )


# --- state, inspection, update --------------------------------------------------------------


def test_state_changes_append_history_and_a_no_op_is_refused(square_city):
    cell = square_city.cells["360502001001001"]
    facility = make_facility(cell=cell)
    inspector = officer(square_city, cell.code, Role.GRID_INSPECTOR)
    change = facility_set_state(
        facility=facility,
        state=FacilityState.DAMAGED,
        actor=inspector,
        reason="井盖破裂",
        reference="2026360502000123",
    )
    assert (change.from_state, change.to_state) == ("intact", "damaged")
    facility.refresh_from_db()
    assert facility.state == FacilityState.DAMAGED
    with translation.override("en"), pytest.raises(Conflict) as caught:
        facility_set_state(
            facility=facility, state=FacilityState.DAMAGED, actor=inspector, reason="again"
        )
    assert "already damaged" in caught.value.message
    assert caught.value.details["state"] == "damaged"
    facility_set_state(
        facility=facility, state=FacilityState.INTACT, actor=inspector, reason="修复"
    )
    history = facility_detail(user=inspector, facility_id=facility.pk).history
    assert [(h.from_state, h.to_state, h.changed_by, h.reference) for h in history] == [
        ("intact", "damaged", inspector, "2026360502000123"),
        ("damaged", "intact", inspector, ""),
    ]
    with pytest.raises(InvalidInput):
        facility_set_state(facility=facility, state="gone", actor=inspector, reason="x")
    with pytest.raises(InvalidInput):
        facility_set_state(facility=facility, state=FacilityState.LOST, actor=inspector, reason="")
    assert FacilityStateChange.objects.count() == 2


def test_casework_may_move_the_state_without_facility_rights(square_city):
    facility = make_facility(cell=square_city.cells["360521001001001"])
    outsider = officer(square_city, "360502")
    with pytest.raises(NotFound):
        facility_set_state(
            facility=facility, state=FacilityState.DAMAGED, actor=outsider, reason="x"
        )
    change = facility_set_state(
        facility=facility,
        state=FacilityState.DAMAGED,
        actor=outsider,
        reason="case registered",
        reference="C-1",
        check_access=False,
    )
    assert change.changed_by == outsider


def test_record_inspection(square_city):
    cell = square_city.cells["360502001001001"]
    facility = make_facility(cell=cell, last_inspected_on=datetime.date(2026, 1, 10))
    inspector = officer(square_city, cell.code, Role.GRID_INSPECTOR)
    today = timezone.localdate()
    facility_record_inspection(facility=facility, actor=inspector, inspected_on=today)
    facility.refresh_from_db()
    assert facility.last_inspected_on == today
    with pytest.raises(Conflict) as caught:
        facility_record_inspection(
            facility=facility, actor=inspector, inspected_on=datetime.date(2026, 1, 1)
        )
    assert caught.value.details == {"last_inspected_on": today.isoformat()}
    with pytest.raises(InvalidInput):
        facility_record_inspection(
            facility=facility, actor=inspector, inspected_on=today + datetime.timedelta(days=1)
        )
    again = facility_record_inspection(facility=facility, actor=inspector, inspected_on=today)
    assert again.last_inspected_on == today


def test_update_refuses_a_stale_client_with_the_current_values(square_city):
    actor = officer(square_city, "360502")
    facility = make_facility(cell=square_city.cells["360502001001001"], name="旧名")
    read_at = facility.updated_at
    updated = facility_update(facility=facility, actor=actor, updated_at=read_at, name="新名")
    assert updated.name == "新名"
    assert updated.updated_at > read_at
    with translation.override("en"), pytest.raises(Conflict) as caught:
        facility_update(facility=facility, actor=actor, updated_at=read_at, name="另一个名")
    assert "changed by someone else" in caught.value.message
    current = caught.value.details["current"]
    assert current["name"] == "新名"
    assert current["code"] == facility.code
    facility.refresh_from_db()
    assert facility.name == "新名"


def test_update_keeps_the_code_honest_when_class_or_place_change(square_city):
    actor = officer(square_city, "3605", Role.CITY_MANAGER)
    facility = facility_register(
        actor=actor,
        category=facility_category("0101"),
        location=cell_point(square_city.cells["360502001001001"]),
    )
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        facility_update(
            facility=facility,
            actor=actor,
            updated_at=facility.updated_at,
            category=facility_category("0102"),
        )
    assert "class part 0101 is not 0102" in caught.value.message
    assert "empty code" in caught.value.details["code"][-1]
    moved = facility_update(
        facility=facility,
        actor=actor,
        updated_at=facility.updated_at,
        location=cell_point(square_city.cells["360521001002004"]),
        code="",
    )
    assert moved.area_code == "360521001002004"
    assert moved.code == "3605210101000001"
    assert moved.grid_cell_id == square_city.cells["360521001002004"].pk
    stored = Facility.objects.get(pk=facility.pk)
    assert (stored.code, stored.area_code) == (moved.code, moved.area_code)


# --- near, patrol list ----------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


def haversine_m(a: Point, b: Point) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a.x, a.y, b.x, b.y))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def test_near_orders_by_true_metres_not_degrees(square_city):
    centre = Point(114.015, 27.805, srid=4326)
    cell = square_city.cells["360502001001004"]
    # At latitude 27.8° a degree of longitude is ~98.5 km and one of latitude ~110.8 km, so
    # 0.0055° east (~542 m) is nearer than 0.005° north (~554 m), although it is more degrees.
    offsets = {
        "east": (0.0055, 0.0),
        "north": (0.0, 0.005),
        "close": (0.001, 0.001),
        "south-west": (-0.004, -0.003),
        "far east": (0.0085, 0.0),  # ~837 m: outside 800 m
    }
    placed = {}
    for name, (dx, dy) in offsets.items():
        point = Point(centre.x + dx, centre.y + dy, srid=4326)
        # the cell is irrelevant without a user: near() looks at locations only
        placed[name] = make_facility(cell=cell, location=point, name=name)
    expected = sorted(
        ((haversine_m(centre, f.location), name) for name, f in placed.items()),
        key=lambda pair: pair[0],
    )
    within = [(metres, name) for metres, name in expected if metres <= 800]
    assert [name for _, name in within] == ["close", "south-west", "east", "north"]
    near = list(facilities_near(point=centre, radius_m=800))
    assert [f.name for f in near] == [name for _, name in within]
    for facility, (metres, _) in zip(near, within, strict=True):
        # the spheroid and the mean sphere differ by well under 0.5 %
        assert facility.distance_m == pytest.approx(metres, rel=0.005)
    only_lamps = facilities_near(point=centre, radius_m=800, category=facility_category("0118"))
    assert list(only_lamps) == []
    with pytest.raises(InvalidInput):
        facilities_near(point=centre, radius_m=facility_selectors.NEAR_RADIUS_MAX_M + 1)
    with pytest.raises(InvalidInput):
        facilities_near(point=centre, radius_m=0)


def test_near_is_scoped_to_the_user(square_city):
    # two facilities either side of the district line at lon 114.04
    west = make_facility(
        cell=square_city.cells["360502001002002"], location=Point(114.0395, 27.815, srid=4326)
    )
    east = make_facility(
        cell=square_city.cells["360521001001001"], location=Point(114.0405, 27.815, srid=4326)
    )
    centre = Point(114.04, 27.815, srid=4326)
    assert set(facilities_near(point=centre, radius_m=200)) == {west, east}
    yushui = officer(square_city, "360502")
    assert list(facilities_near(point=centre, radius_m=200, user=yushui)) == [west]


def test_near_uses_the_geography_index(square_city):
    cell = square_city.cells["360502001001004"]
    category = facility_category()
    Facility.objects.bulk_create(
        Facility(
            code=f"3605020101{serial:06d}",
            category=category,
            location=Point(114.0 + (serial % 80) * 0.001, 27.8 + (serial // 80) * 0.001, srid=4326),
            grid_cell=cell,
            area_code=cell.code,
        )
        for serial in range(1, 1601)
    )
    facilities = facilities_near(point=Point(114.015, 27.805, srid=4326), radius_m=150)
    sql, params = facilities.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE community_facility")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "facility_location_geography" in plan, plan
    # and the index answers the same as an independent count on the sphere
    assert len(facilities) == sum(
        1 for f in Facility.objects.all() if haversine_m(f.location, Point(114.015, 27.805)) <= 150
    )


def test_inspection_due_lists_the_longest_neglected_first(square_city):
    cell = square_city.cells["360502001001001"]
    today = datetime.date(2026, 6, 30)
    never = make_facility(cell=cell)
    old = make_facility(cell=cell, last_inspected_on=datetime.date(2026, 1, 1))
    make_facility(cell=cell, last_inspected_on=datetime.date(2026, 6, 20))
    borderline = make_facility(cell=cell, last_inspected_on=datetime.date(2026, 5, 30))
    make_facility(cell=square_city.cells["360521001001001"])
    yushui = officer(square_city, "360502")
    due = list(facilities_inspection_due(user=yushui, days=30, today=today))
    assert due == [never, old, borderline]
    assert list(facilities_inspection_due(user=yushui, days=31, today=today)) == [never, old]


def test_list_filters(square_city):
    yushui = officer(square_city, "360502")
    lamp = facility_category("0118")
    cell_a = square_city.cells["360502001001001"]
    cell_b = square_city.cells["360502001002003"]
    owner = department(square_city.districts["360502"], "渝水区城管局")
    a = make_facility(cell=cell_a, name="北门井盖", owner_department=owner)
    b = make_facility(cell=cell_b, category=lamp, state=FacilityState.DAMAGED)
    c = make_facility(
        cell=cell_b,
        category=facility_category("0305"),
        last_inspected_on=datetime.date(2026, 3, 1),
    )
    make_facility(cell=square_city.cells["360521001001001"])
    assert list(facility_list(user=yushui)) == sorted([a, b, c], key=lambda f: f.code)
    assert list(facility_list(user=yushui, category_code="0118")) == [b]
    assert set(facility_list(user=yushui, major_code="01")) == {a, b}
    assert list(facility_list(user=yushui, state="damaged")) == [b]
    assert set(facility_list(user=yushui, area_code="360502001002")) == {b, c}
    assert list(facility_list(user=yushui, owner_department_id=owner.pk)) == [a]
    assert set(facility_list(user=yushui, inspected_before=datetime.date(2026, 2, 1))) == {a, b}
    assert list(facility_list(user=yushui, q="北门")) == [a]
    assert list(facility_list(user=yushui, scheme="GB/T 47678.5")) == []


# --- the role table -------------------------------------------------------------------------

ROLE_LABELS = {
    "city manager": (Role.CITY_MANAGER, "3605"),
    "district officer": (Role.DISTRICT_OFFICER, "360502"),
    "street officer": (Role.STREET_OFFICER, "360502001"),
    "department handler": (Role.DEPARTMENT_HANDLER, "360502"),
    "grid inspector": (Role.GRID_INSPECTOR, "360502001001001"),
    "community staff": (Role.COMMUNITY_STAFF, "360502001001"),
}
ACTIONS = [FacilityAction.VIEW, FacilityAction.EDIT, FacilityAction.MAINTAIN]


def role_table() -> list[tuple[str, list[str]]]:
    """The rows of the table in community.services.facilities' docstring."""
    rows = []
    for line in facility_services.__doc__.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in ROLE_LABELS:
            rows.append((cells[0], cells[1:]))
    return rows


def test_the_docstring_table_names_every_role():
    assert {label for label, _ in role_table()} == set(ROLE_LABELS)
    assert {role for role, _ in ROLE_LABELS.values()} == set(Role.values)


@pytest.mark.parametrize(("label", "cells"), role_table())
def test_the_docstring_table_is_what_the_code_does(square_city, label, cells):
    role, area_code = ROLE_LABELS[label]
    owner = department(square_city.districts["360502"], "渝水区城管局")
    other = department(square_city.districts["360502"], "渝水区住建局", "zhujian")
    user = officer(square_city, area_code, role, owner if role == Role.DEPARTMENT_HANDLER else None)
    access = facility_access(user=user)
    inside = "360502001001001"
    # outside the user's area: another district, or for the city manager another city
    elsewhere = "110101001001001" if role == Role.CITY_MANAGER else "360521001001001"
    for action, cell in zip(ACTIONS, cells, strict=True):
        owned = access.refusal(action, area_code=inside, owner_department_id=owner.pk)
        not_owned = access.refusal(action, area_code=inside, owner_department_id=other.pk)
        outside = access.refusal(action, area_code=elsewhere, owner_department_id=owner.pk)
        assert isinstance(outside, NotFound), (label, action)
        if cell.startswith("✓"):
            assert owned is None and not_owned is None, (label, action)
        elif cell == "owner department's":
            assert owned is None, (label, action)
            assert isinstance(not_owned, Forbidden), (label, action)
        else:
            assert cell == "—"
            assert isinstance(owned, Forbidden), (label, action)
            assert isinstance(not_owned, Forbidden), (label, action)


def test_services_follow_the_table(square_city):
    owner = department(square_city.districts["360502"], "渝水区城管局")
    other = department(square_city.districts["360502"], "渝水区住建局", "zhujian")
    cell = square_city.cells["360502001001001"]
    point = cell_point(cell)
    owned = make_facility(cell=cell, owner_department=owner)
    not_owned = make_facility(cell=cell, owner_department=other)
    handler = officer(square_city, "360502", Role.DEPARTMENT_HANDLER, owner)
    inspector = officer(square_city, cell.code, Role.GRID_INSPECTOR)
    staff = officer(square_city, "360502001001", Role.COMMUNITY_STAFF)
    category = facility_category()

    # handlers: their department's facilities only
    facility_register(actor=handler, category=category, location=point, owner_department=owner)
    with pytest.raises(Forbidden):
        facility_register(actor=handler, category=category, location=point)
    owned = facility_update(facility=owned, actor=handler, updated_at=owned.updated_at, name="x")
    with pytest.raises(Forbidden):
        facility_update(
            facility=not_owned, actor=handler, updated_at=not_owned.updated_at, name="x"
        )
    with pytest.raises(Forbidden):
        # nor may they give their facility away to another department
        facility_update(
            facility=owned, actor=handler, updated_at=owned.updated_at, owner_department=other
        )
    facility_set_state(facility=owned, state="lost", actor=handler, reason="被盗")
    with pytest.raises(Forbidden):
        facility_set_state(facility=not_owned, state="lost", actor=handler, reason="被盗")

    # inspectors: state and inspections on their cells, no registering or editing
    facility_set_state(facility=not_owned, state="occupied", actor=inspector, reason="占道")
    facility_record_inspection(
        facility=not_owned, actor=inspector, inspected_on=timezone.localdate()
    )
    with pytest.raises(Forbidden):
        facility_register(actor=inspector, category=category, location=point)
    with pytest.raises(Forbidden):
        facility_update(
            facility=not_owned, actor=inspector, updated_at=not_owned.updated_at, name="y"
        )
    neighbour = make_facility(cell=square_city.cells["360502001001002"])
    with pytest.raises(NotFound):
        facility_set_state(facility=neighbour, state="lost", actor=inspector, reason="x")
    with pytest.raises(NotFound):
        facility_register(
            actor=inspector, category=category, location=cell_point(neighbour.grid_cell)
        )

    # community staff: read only
    assert owned in facility_list(user=staff)
    with pytest.raises(Forbidden):
        facility_set_state(facility=neighbour, state="lost", actor=staff, reason="x")
    with pytest.raises(Forbidden):
        facility_record_inspection(
            facility=neighbour, actor=staff, inspected_on=timezone.localdate()
        )


def test_messages_name_the_refusal(square_city):
    inspector = officer(square_city, "360502001001001", Role.GRID_INSPECTOR)
    with translation.override("en"), pytest.raises(Forbidden) as caught:
        facility_register(
            actor=inspector,
            category=facility_category(),
            location=cell_point(square_city.cells["360502001001001"]),
        )
    assert caught.value.status == 403
    assert re.search(r"your role may not register or edit facilities", caught.value.message)


def test_admin_corrects_only_the_name(admin_client, square_city):
    facility = make_facility(cell=square_city.cells["360502001001001"], name="旧名")
    change = f"/admin/community/facility/{facility.pk}/change/"
    assert admin_client.get(change).status_code == 200
    assert admin_client.get("/admin/community/facility/add/").status_code == 403
    answer = admin_client.post(change, {"name": "新名", "code": "3605020101999999"})
    assert answer.status_code == 302
    stored = Facility.objects.get(pk=facility.pk)
    assert (stored.name, stored.code) == ("新名", facility.code)


@pytest.mark.django_db(transaction=True)
def test_two_users_change_the_state_at_once_one_wins(square_city):
    cell = square_city.cells["360502001001001"]
    facility = make_facility(cell=cell)
    users = [officer(square_city, cell.code, Role.GRID_INSPECTOR) for _ in range(2)]
    results = at_once(
        *(
            lambda user=user: facility_set_state(
                facility=Facility.objects.get(pk=facility.pk),
                state=FacilityState.DAMAGED,
                actor=user,
                reason="破损",
            )
            for user in users
        )
    )
    assert sorted(type(result).__name__ for result in results) == [
        "Conflict",
        "FacilityStateChange",
    ]
    assert FacilityStateChange.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_registrations_at_once_get_different_serials(square_city):
    actor = officer(square_city, "360502")
    category = facility_category("0105")
    point = cell_point(square_city.cells["360502001001001"])
    results = at_once(
        *(
            lambda: facility_register(actor=actor, category=category, location=point)
            for _ in range(3)
        )
    )
    assert sorted(result.code for result in results) == [
        "3605020105000001",
        "3605020105000002",
        "3605020105000003",
    ]
