"""Coverage check on the square city with planted faults, measured against the ellipsoid."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from grid.models import Area, Role
from grid.selectors.coverage import area_coverage
from tests.factories import SquareCity, UserFactory, assign, box, make_area
from tests.grid.boundary_files import box_area_m2

pytestmark = pytest.mark.django_db

X0, Y0, STEP = SquareCity.X0, SquareCity.Y0, SquareCity.STEP
GROW = 0.002  # degrees a cell is grown by
REL = 0.005  # the m² must agree with the ellipsoidal formula within 0.5 %


@pytest.fixture
def faulty_city(square_city):
    """The square city with one gap, one overlap and one child outside its parent.

    - gap: cell 360502001001004 (SE of the first community, col 1 row 0) is deleted;
    - overlap: cell 360502001002001 (col 2 row 1) grows GROW° east into its sibling 002;
    - outside: cell 360521001001002 (col 5 row 1) grows GROW° north out of its community.
    """
    square_city.cells["360502001001004"].delete()
    Area.objects.filter(code="360502001002001").update(
        boundary=box(X0 + 2 * STEP, Y0 + STEP, X0 + 3 * STEP + GROW, Y0 + 2 * STEP)
    )
    Area.objects.filter(code="360521001001002").update(
        boundary=box(X0 + 5 * STEP, Y0 + STEP, X0 + 6 * STEP, Y0 + 2 * STEP + GROW)
    )
    return square_city


def staff_every_cell(city: SquareCity, *, except_codes: set[str] = frozenset()) -> None:
    inspector = UserFactory()
    for code, cell in city.cells.items():
        if code not in except_codes and Area.objects.filter(pk=cell.pk).exists():
            assign(inspector, cell, Role.GRID_INSPECTOR)


def test_recursive_check_finds_each_planted_fault_with_its_area(faulty_city):
    staff_every_cell(faulty_city)
    report = area_coverage(area=faulty_city.city, recursive=True)

    assert report.parents_checked == 1 + 2 + 2 + 4
    assert [(g.parent_code) for g in report.gaps] == ["360502001001"]
    gap = report.gaps[0]
    expected_gap = box_area_m2(X0 + STEP, Y0, X0 + 2 * STEP, Y0 + STEP)
    assert gap.gap_m2 == pytest.approx(expected_gap, rel=REL)
    community = box_area_m2(X0, Y0, X0 + 2 * STEP, Y0 + 2 * STEP)
    assert gap.gap_percent == pytest.approx(expected_gap / community * 100, rel=REL)
    assert X0 + STEP < gap.point[0] < X0 + 2 * STEP and Y0 < gap.point[1] < Y0 + STEP

    assert [(o.parent_code, o.code, o.other_code) for o in report.overlaps] == [
        ("360502001002", "360502001002001", "360502001002002")
    ]
    expected_overlap = box_area_m2(X0 + 3 * STEP, Y0 + STEP, X0 + 3 * STEP + GROW, Y0 + 2 * STEP)
    assert report.overlaps[0].overlap_m2 == pytest.approx(expected_overlap, rel=REL)

    assert [(o.parent_code, o.code) for o in report.outside] == [
        ("360521001001", "360521001001002")
    ]
    expected_outside = box_area_m2(
        X0 + 5 * STEP, Y0 + 2 * STEP, X0 + 6 * STEP, Y0 + 2 * STEP + GROW
    )
    assert report.outside[0].outside_m2 == pytest.approx(expected_outside, rel=REL)

    assert report.unstaffed_cells == []
    assert report.has_problems


def test_square_metres_are_not_degrees():
    # A 0.01° square at 27.8° N is about 1.09 km²; in degrees it would be 0.0001.
    assert box_area_m2(X0, Y0, X0 + STEP, Y0 + STEP) == pytest.approx(1_091_867, rel=0.001)


def test_non_recursive_checks_only_the_areas_own_children(faulty_city):
    city = area_coverage(area=faulty_city.city)
    assert city.parents_checked == 1
    assert city.gaps == city.overlaps == city.outside == []

    community = area_coverage(area=faulty_city.communities["360502001001"])
    assert [g.parent_code for g in community.gaps] == ["360502001001"]
    assert community.overlaps == community.outside == []

    district = area_coverage(area=faulty_city.districts["360521"], recursive=True)
    assert [o.code for o in district.outside] == ["360521001001002"]
    assert district.gaps == district.overlaps == []


def test_tolerance_leaves_out_small_findings(faulty_city):
    report = area_coverage(area=faulty_city.city, recursive=True, tolerance_m2=300_000)
    # The gap (~1.09 km²) stays; the overlap (~0.22 km²) and the part outside (~0.22 km²) go.
    assert [g.parent_code for g in report.gaps] == ["360502001001"]
    assert report.overlaps == report.outside == []


def test_cells_without_an_active_inspector(square_city):
    left_out = {"360502001001002", "360521001002004"}
    staff_every_cell(square_city, except_codes=left_out)
    ended, gone = UserFactory(), UserFactory(is_active=False)
    assignment = assign(ended, square_city.cells["360502001001002"], Role.GRID_INSPECTOR)
    assignment.active = False
    assignment.save(update_fields=["active"])
    assign(gone, square_city.cells["360521001002004"], Role.GRID_INSPECTOR)
    # Staff on the community are not inspectors of its cells.
    assign(UserFactory(), square_city.communities["360502001001"], Role.COMMUNITY_STAFF)

    report = area_coverage(area=square_city.city)
    assert [cell.code for cell in report.unstaffed_cells] == sorted(left_out)
    assert report.gaps == report.overlaps == report.outside == []
    assert report.has_problems

    street = area_coverage(area=square_city.streets["360521001"])
    assert [cell.code for cell in street.unstaffed_cells] == ["360521001002004"]
    cell = area_coverage(area=square_city.cells["360502001001001"])
    assert cell.parents_checked == 0 and cell.unstaffed_cells == []


def test_a_clean_city_has_no_problems(square_city):
    staff_every_cell(square_city)
    report = area_coverage(area=square_city.city, recursive=True)
    assert not report.has_problems


def test_only_current_areas_count(square_city):
    staff_every_cell(square_city)
    old = square_city.cells["360502001001001"]
    Area.objects.filter(pk=old.pk).update(valid_to=old.valid_from)
    successor = make_area(old.code, old.name, old.level, old.parent, square_city.cell_box(0, 1))
    assign(UserFactory(), successor, Role.GRID_INSPECTOR)
    report = area_coverage(area=square_city.city, recursive=True)
    assert not report.has_problems


def test_a_parent_without_children_is_a_full_gap(square_city):
    community = make_area(
        "360502001003",
        "空社区",
        4,
        square_city.streets["360502001"],
        box(X0, Y0 - STEP, X0 + STEP, Y0),
    )
    report = area_coverage(area=community)
    assert [(g.parent_code, round(g.gap_percent, 6)) for g in report.gaps] == [
        ("360502001003", 100.0)
    ]
    assert report.gaps[0].gap_m2 == pytest.approx(
        box_area_m2(X0, Y0 - STEP, X0 + STEP, Y0), rel=REL
    )


def test_overlaps_are_found_under_a_parent_without_boundary(square_city):
    Area.objects.filter(code="360521001").update(boundary=None)
    Area.objects.filter(code="360521001001").update(
        boundary=box(X0 + 4 * STEP, Y0, X0 + 6 * STEP + GROW, Y0 + 2 * STEP)
    )
    report = area_coverage(area=square_city.streets["360521001"])
    assert [(o.code, o.other_code) for o in report.overlaps] == [("360521001001", "360521001002")]
    expected = box_area_m2(X0 + 6 * STEP, Y0, X0 + 6 * STEP + GROW, Y0 + 2 * STEP)
    assert report.overlaps[0].overlap_m2 == pytest.approx(expected, rel=REL)
    assert report.gaps == report.outside == []


def test_command_prints_a_table_and_fails_on_problems(faulty_city, capsys):
    with translation.override("en"), pytest.raises(CommandError, match="1 gaps"):
        call_command("coverage_check", "3605", "--recursive")
    out = capsys.readouterr().out
    assert "gaps (parent area covered by no child)" in out
    assert "360502001001" in out and "360502001002001" in out and "360521001001002" in out
    assert "grid cells without an active grid inspector" in out


def test_command_json_output(faulty_city, capsys):
    with pytest.raises(CommandError):
        call_command("coverage_check", "360502001", "--recursive", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["area_code"] == "360502001" and data["has_problems"]
    assert [g["parent_code"] for g in data["gaps"]] == ["360502001001"]
    assert [o["code"] for o in data["overlaps"]] == ["360502001002001"]
    assert len(data["unstaffed_cells"]) == 7


def test_command_on_a_clean_area_succeeds(square_city, capsys):
    staff_every_cell(square_city)
    with translation.override("en"):
        call_command("coverage_check", "360521", "--recursive")
    assert "no problems found" in capsys.readouterr().out


def test_command_unknown_code(db):
    with pytest.raises(CommandError):
        call_command("coverage_check", "9999")
