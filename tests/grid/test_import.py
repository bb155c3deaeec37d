"""Boundary import: formats, CRS handling, every problem reported, all or nothing, versions."""

from __future__ import annotations

import datetime
import json
import math
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from grid.boundaries import FieldMapping, parse_level
from grid.errors import InvalidInput
from grid.models import Area, AreaLevel, Assignment, Department, Role
from grid.services.areas import area_import
from tests.factories import UserFactory, assign, department
from tests.grid.boundary_files import (
    STEP,
    X0,
    Y0,
    box_geometry,
    feature,
    hierarchy,
    ogr2ogr,
    shapefile_zip,
    write_geojson,
)

pytestmark = pytest.mark.django_db

BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[114.0, 27.8], [114.01, 27.81], [114.01, 27.8], [114.0, 27.81], [114.0, 27.8]]
    ],
}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def failing_import(**kwargs) -> list[dict]:
    """Run an import that must fail; return its problems after checking nothing was written."""
    before = Area.objects.count()
    with pytest.raises(InvalidInput) as caught:
        area_import(**kwargs)
    assert Area.objects.count() == before
    assert caught.value.details, "an error must list its problems"
    return caught.value.details


def has_problem(problems: list[dict], index: int | None, code: str | None, fragment: str) -> bool:
    return any(
        problem["index"] == index
        and (code is None or problem["code"] == code)
        and fragment in problem["reason"]
        for problem in problems
    )


def vertex_near(area: Area, lon: float, lat: float, metres: float) -> bool:
    """Whether some vertex of the area's boundary lies within `metres` of (lon, lat)."""
    for x, y in area.boundary.coords[0][0]:
        dx = (x - lon) * 111_320 * math.cos(math.radians(lat))
        dy = (y - lat) * 110_574
        if math.hypot(dx, dy) < metres:
            return True
    return False


# --- good files ---------------------------------------------------------------------------


def test_geojson_hierarchy_is_imported_with_levels_and_parents_from_the_codes(tmp_path):
    path = write_geojson(tmp_path / "城南.geojson", hierarchy())
    report = area_import(path=path, effective_date=datetime.date(2024, 1, 1))

    assert (report.created, report.replaced, report.features) == (13, 0, 13)
    assert report.errors == [] and report.warnings == []
    assert report.source_crs == "EPSG:4326"
    assert Area.objects.count() == 13
    cell = Area.objects.get(code="360502001001004")
    assert cell.level == AreaLevel.GRID and cell.parent.code == "360502001001"
    assert cell.parent.parent.parent.parent.code == "3605"
    old_style = Area.objects.get(code="36050200100203")
    assert old_style.level == AreaLevel.GRID and old_style.parent.code == "360502001002"
    assert cell.valid_from == datetime.date(2024, 1, 1) and cell.valid_to is None
    assert cell.boundary.geom_type == "MultiPolygon" and cell.boundary.srid == 4326
    assert cell.boundary.extent == pytest.approx((114.01, 27.8, 114.02, 27.81))
    assert Area.objects.get(code="3605").name == "新余市"


def test_zipped_shapefile_made_by_ogr2ogr_keeps_chinese_names(tmp_path):
    source = write_geojson(tmp_path / "source.geojson", hierarchy())
    archive = shapefile_zip(tmp_path, source)
    report = area_import(path=archive)
    assert report.created == 13
    assert Area.objects.get(code="360502001").name == "城南街道"
    assert Area.objects.get(code="360502001002").children.count() == 4


def test_plain_shapefile_path(tmp_path):
    source = write_geojson(tmp_path / "source.geojson", hierarchy())
    ogr2ogr("-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", str(tmp_path / "a.shp"), str(source))
    assert area_import(path=tmp_path / "a.shp").created == 13


def test_geopackage_made_by_ogr2ogr_and_its_layer_chosen(tmp_path):
    source = write_geojson(tmp_path / "source.geojson", hierarchy())
    package = tmp_path / "areas.gpkg"
    ogr2ogr("-f", "GPKG", "-nln", "boundaries", str(package), str(source))
    ogr2ogr("-f", "GPKG", "-update", "-nln", "other", str(package), str(source))

    problems = failing_import(path=package)
    assert has_problem(problems, None, None, "several layers (boundaries, other)")
    problems = failing_import(path=package, layer="nope")
    assert has_problem(problems, None, None, "no layer “nope”")

    report = area_import(path=package, layer="boundaries")
    assert (report.created, report.layer) == (13, "boundaries")


def test_cgcs2000_is_taken_as_it_is(tmp_path):
    path = write_geojson(tmp_path / "cgcs.geojson", hierarchy(), crs="urn:ogc:def:crs:EPSG::4490")
    report = area_import(path=path)
    assert report.source_crs == "EPSG:4490"
    cell = Area.objects.get(code="360502001001001")
    assert cell.boundary.srid == 4326
    assert cell.boundary.extent == pytest.approx((114.0, 27.81, 114.01, 27.82))


def test_projected_gauss_kruger_file_is_transformed_to_lonlat(tmp_path):
    source = write_geojson(tmp_path / "source.geojson", hierarchy())
    projected = tmp_path / "gk.gpkg"
    ogr2ogr("-f", "GPKG", "-s_srs", "EPSG:4326", "-t_srs", "EPSG:4547", str(projected), str(source))
    report = area_import(path=projected)
    assert report.source_crs == "EPSG:4547" and report.created == 13
    cell = Area.objects.get(code="360502001001004")
    assert cell.boundary.srid == 4326
    for lon, lat in ((114.01, 27.8), (114.02, 27.8), (114.02, 27.81), (114.01, 27.81)):
        assert vertex_near(cell, lon, lat, metres=1.0)
    # Transformed shared edges still meet: the coverage check finds nothing.
    assert report.warnings == []


def test_shapefile_without_prj_and_lonlat_coordinates_is_read_as_wgs84(tmp_path):
    source = write_geojson(tmp_path / "source.geojson", hierarchy())
    ogr2ogr("-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", str(tmp_path / "a.shp"), str(source))
    (tmp_path / "a.prj").unlink()
    report = area_import(path=tmp_path / "a.shp")
    assert report.created == 13 and "none declared" in report.source_crs


def test_attribute_mapping_levels_by_name_and_parent_field(tmp_path, square_city):
    features = [
        {
            "type": "Feature",
            "properties": {"DM": "360502002", "MC": "新街道", "JB": "街道", "SJ": "360502"},
            "geometry": box_geometry(X0, Y0 + 2 * STEP, X0 + STEP, Y0 + 3 * STEP),
        },
        {
            "type": "Feature",
            "properties": {"DM": "360502002001", "MC": "新社区", "JB": "community", "SJ": ""},
            "geometry": box_geometry(X0, Y0 + 2 * STEP, X0 + STEP, Y0 + 3 * STEP),
        },
    ]
    path = write_geojson(tmp_path / "mapped.geojson", features)
    mapping = FieldMapping(code_field="DM", name_field="MC", level_field="JB", parent_field="SJ")
    report = area_import(path=path, mapping=mapping)
    assert report.created == 2
    street = Area.objects.get(code="360502002")
    assert street.level == AreaLevel.STREET and street.parent == square_city.districts["360502"]
    assert Area.objects.get(code="360502002001").parent == street


def test_one_level_for_the_whole_file(tmp_path, square_city):
    cells = [
        feature("360502001001005", "新网格", box_geometry(X0, Y0 - STEP, X0 + STEP, Y0)),
    ]
    path = write_geojson(tmp_path / "cells.geojson", cells)
    problems = failing_import(path=path, mapping=FieldMapping(level=AreaLevel.COMMUNITY))
    assert has_problem(problems, 1, "360502001001005", "a community code has 12 digits")
    report = area_import(path=path, mapping=FieldMapping(level=parse_level("网格")))
    assert report.created == 1
    # The new cell lies outside its community: a coverage warning, not an error.
    assert [(w.code, w.index) for w in report.warnings] == [("360502001001005", 1)]
    assert "outside its parent “360502001001”" in report.warnings[0].reason


def test_numeric_codes_levels_and_heights_are_read_as_meant(tmp_path, square_city):
    cell = box_geometry(X0, Y0 - STEP, X0 + STEP, Y0)
    with_heights = {
        "type": "Polygon",
        "coordinates": [[[x, y, 42.0] for x, y in cell["coordinates"][0]]],
    }
    features = [
        {
            "type": "Feature",
            "properties": {"code": 360502001003, "name": "数字", "level": 4.0},
            "geometry": cell,
        },
        {
            "type": "Feature",
            "properties": {"code": 360502001003001, "name": "有高程", "level": 5},
            "geometry": with_heights,
        },
    ]
    report = area_import(path=write_geojson(tmp_path / "numbers.geojson", features))
    assert report.created == 2
    community = Area.objects.get(code="360502001003")
    assert community.level == AreaLevel.COMMUNITY
    grid_cell = Area.objects.get(code="360502001003001")
    assert grid_cell.parent == community and not grid_cell.boundary.hasz


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (1, AreaLevel.CITY),
        ("5", AreaLevel.GRID),
        (3.0, AreaLevel.STREET),
        ("District", AreaLevel.DISTRICT),
        ("grid", AreaLevel.GRID),
        ("市", AreaLevel.CITY),
        ("县", AreaLevel.DISTRICT),
        ("乡镇", AreaLevel.STREET),
        ("村", AreaLevel.COMMUNITY),
        ("网格", AreaLevel.GRID),
        ("6", None),
        ("province", None),
        (2.5, None),
    ],
)
def test_level_values(value, level):
    assert parse_level(value) == level


# --- bad files: nothing written, every problem listed ------------------------------------


def test_every_bad_feature_is_listed_with_index_code_and_reason(tmp_path, square_city):
    features = [
        feature("360502002", "好街道", box_geometry(X0, Y0 + 2 * STEP, X0 + STEP, Y0 + 3 * STEP)),
        feature("360502003", "蝴蝶结", BOW_TIE),
        feature("360502004", "空", {"type": "MultiPolygon", "coordinates": []}),
        feature("360502005", "点", {"type": "Point", "coordinates": [114.0, 27.8]}),
        feature("36050200", "八位", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP)),
        feature(
            "360502006001", "不嵌套", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP), parent="360521001"
        ),
        feature("360502009001", "无上级", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP)),
        feature("360502007", "重复一", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP)),
        feature("360502007", "重复二", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP)),
        feature("360502008", "级别不符", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP), level="社区"),
        feature("360502010", "", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP)),
        feature("360502011", "无几何", None),
        feature(
            "360502012",
            "未闭合",
            {"type": "Polygon", "coordinates": [[[114, 27.8], [114.01, 27.8], [114.01, 27.81]]]},
        ),
        feature("360502013", "怪级别", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP), level="省"),
        feature("360502", "已存在", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP)),
    ]
    path = write_geojson(tmp_path / "bad.geojson", features)
    problems = failing_import(path=path, mapping=FieldMapping(parent_field="parent"))

    expected = [
        (2, "360502003", "Self-intersection"),
        (3, "360502004", "empty"),
        (4, "360502005", "POINT; only Polygon and MultiPolygon"),
        (5, "36050200", "has 8 characters; codes have 4, 6, 9, 12, 14, 15 digits"),
        (6, "360502006001", "does not begin with its parent's code “360521001”"),
        (7, "360502009001", "parent area “360502009” is neither in the file nor a current area"),
        (8, "360502007", "appears 2 times in the file (features 8, 9)"),
        (9, "360502007", "appears 2 times in the file (features 8, 9)"),
        (10, "360502008", "a community code has 12 digits"),
        (11, "360502010", "no name"),
        (12, "360502011", "no geometry"),
        (13, "360502012", "ring 1 of polygon 1 is not closed"),
        (14, "360502013", "unknown level “省”"),
        (15, "360502", "already exists"),
    ]
    for index, code, fragment in expected:
        assert has_problem(problems, index, code, fragment), (index, code, fragment, problems)
    assert not any(problem["index"] == 1 for problem in problems)
    assert {problem["index"] for problem in problems} == {index for index, _c, _f in expected}


def test_malformed_json_is_reported_with_gdal_reason(tmp_path):
    text = json.dumps({"type": "FeatureCollection", "features": hierarchy()})
    truncated = tmp_path / "cut.geojson"
    truncated.write_text(text[: len(text) // 2])
    problems = failing_import(path=truncated)
    assert has_problem(problems, None, "", "could not be read as GeoJSON")

    not_json = tmp_path / "notes.json"
    not_json.write_text("code,name\n3605,新余市\n")
    assert has_problem(failing_import(path=not_json), None, "", "could not be read as GeoJSON")


def test_non_geodata_and_unknown_formats_are_refused(tmp_path):
    table = tmp_path / "areas.csv"
    table.write_text("code,name\n3605,新余市\n")
    assert has_problem(failing_import(path=table), None, "", "not a supported boundary file")

    plain_json = tmp_path / "config.json"
    plain_json.write_text('{"code": "3605"}')
    assert has_problem(failing_import(path=plain_json), None, "", "could not be read as GeoJSON")

    fake_package = tmp_path / "fake.gpkg"
    fake_package.write_text("not a database")
    assert has_problem(failing_import(path=fake_package), None, "", "as GeoPackage")

    fake_zip = tmp_path / "fake.zip"
    fake_zip.write_text("not a zip")
    assert has_problem(failing_import(path=fake_zip), None, "", "not a readable zip archive")

    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("readme.txt", "nothing")
    assert has_problem(failing_import(path=empty_zip), None, "", "holds no Shapefile")


def test_missing_field_is_named_with_the_fields_the_layer_has(tmp_path):
    path = write_geojson(tmp_path / "a.geojson", hierarchy())
    problems = failing_import(path=path, mapping=FieldMapping(code_field="DM"))
    assert has_problem(problems, None, "", "no field “DM”; its fields are: code, name")


def test_empty_layer_is_an_error(tmp_path):
    path = write_geojson(tmp_path / "none.geojson", [])
    assert has_problem(failing_import(path=path), None, "", "no features")


def test_unidentifiable_crs_is_rejected(tmp_path):
    source = write_geojson(tmp_path / "source.geojson", hierarchy())
    custom = (
        "+proj=tmerc +lat_0=0 +lon_0=114.3 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"
    )
    archive = shapefile_zip(tmp_path, source, "-s_srs", "EPSG:4326", "-t_srs", custom)
    problems = failing_import(path=archive)
    assert has_problem(problems, None, "", "cannot be identified as an EPSG code")


def test_undeclared_crs_with_projected_coordinates_is_an_error(tmp_path):
    source = write_geojson(tmp_path / "source.geojson", hierarchy())
    ogr2ogr(
        "-f",
        "ESRI Shapefile",
        "-lco",
        "ENCODING=UTF-8",
        "-s_srs",
        "EPSG:4326",
        "-t_srs",
        "EPSG:4547",
        str(tmp_path / "gk.shp"),
        str(source),
    )
    (tmp_path / "gk.prj").unlink()
    problems = failing_import(path=tmp_path / "gk.shp")
    assert has_problem(problems, None, "", "declares no coordinate reference system")


def test_geojson_with_projected_coordinates_and_no_crs_member_is_an_error(tmp_path):
    features = [feature("3605", "新余市", box_geometry(401000, 3075000, 402000, 3076000))]
    problems = failing_import(path=write_geojson(tmp_path / "gk.geojson", features))
    assert has_problem(problems, None, "", "are not longitude and latitude")


def test_existing_code_without_replace_is_an_error(tmp_path, square_city):
    features = [
        feature("360502001001", "新第1社区", box_geometry(X0, Y0, X0 + 2 * STEP, Y0 + 2 * STEP))
    ]
    problems = failing_import(path=write_geojson(tmp_path / "c.geojson", features))
    assert has_problem(problems, 1, "360502001001", "already exists; import with replace")


def test_import_outside_the_users_scope_is_refused(tmp_path, square_city):
    manager = UserFactory()
    assign(manager, square_city.districts["360502"], Role.DISTRICT_OFFICER)
    features = [
        feature("360521001003", "他县社区", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP)),
        feature("360502001003", "本区社区", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP)),
    ]
    problems = failing_import(path=write_geojson(tmp_path / "c.geojson", features), user=manager)
    assert has_problem(problems, 1, "360521001003", "outside your areas")
    assert not any(problem["index"] == 2 for problem in problems)


# --- writing: dry run, coverage warnings, strict ------------------------------------------


def test_dry_run_reports_but_writes_nothing(tmp_path):
    report = area_import(path=write_geojson(tmp_path / "a.geojson", hierarchy()), dry_run=True)
    assert report.dry_run and report.created == 13
    assert Area.objects.count() == 0


def test_coverage_findings_are_warnings_or_abort_a_strict_import(tmp_path):
    features = [f for f in hierarchy() if f["properties"]["code"] != "360502001001004"]
    path = write_geojson(tmp_path / "gap.geojson", features)

    problems = failing_import(path=path, strict=True)
    assert has_problem(problems, 4, "360502001001", "covered by none of its children")

    report = area_import(path=path)
    assert report.created == 12
    assert [(w.index, w.code) for w in report.warnings] == [(4, "360502001001")]
    assert "(25.0" in report.warnings[0].reason


# --- replace: versions and history ---------------------------------------------------------


def test_replace_retires_the_old_row_and_moves_what_hung_on_it(tmp_path, square_city):
    community = square_city.communities["360502001001"]
    cell = square_city.cells["360502001001001"]
    staff, former, inspector = UserFactory(), UserFactory(), UserFactory()
    active = assign(staff, community, Role.COMMUNITY_STAFF)
    ended = assign(former, community, Role.COMMUNITY_STAFF)
    ended.active = False
    ended.save(update_fields=["active"])
    counter = department(community, "第1社区便民服务站")
    on_cell = assign(inspector, cell, Role.GRID_INSPECTOR)
    Area.objects.filter(pk__in=[community.pk, cell.pk]).update(valid_from=datetime.date(2020, 1, 1))

    # The community is redrawn and its first cell too; the other cells are not in the file.
    moved = {"name": "城南街道第1社区(新)"}
    features = [
        feature("360502001001", moved["name"], box_geometry(X0, Y0, X0 + 2 * STEP, Y0 + 2 * STEP)),
        feature(
            "360502001001001", "1号网格(新)", box_geometry(X0, Y0 + STEP, X0 + STEP, Y0 + 2 * STEP)
        ),
    ]
    path = write_geojson(tmp_path / "redraw.geojson", features)
    when = datetime.date(2025, 7, 1)
    report = area_import(path=path, replace=True, effective_date=when)
    assert (report.created, report.replaced) == (0, 2)

    old = Area.objects.get(pk=community.pk)
    new = Area.objects.current().get(code="360502001001")
    assert old.valid_to == when and new.valid_from == when and new.pk != old.pk
    assert new.name == moved["name"] and new.parent == square_city.streets["360502001"]
    assert Area.objects.filter(code="360502001001").count() == 2
    assert set(new.children.values_list("code", flat=True)) == {
        "360502001001001",
        "360502001001002",
        "360502001001003",
        "360502001001004",
    }
    assert not old.children.filter(valid_to__isnull=True).exists()
    new_cell = Area.objects.current().get(code="360502001001001")
    old_cell = Area.objects.get(pk=cell.pk)
    assert old_cell.valid_to == when and old_cell.parent == old
    assert new_cell.parent == new

    assert Assignment.objects.get(pk=active.pk).area == new
    assert Assignment.objects.get(pk=ended.pk).area == old
    assert Assignment.objects.get(pk=on_cell.pk).area == new_cell
    assert Department.objects.get(pk=counter.pk).area == new


def test_replace_cannot_take_effect_before_the_current_version(tmp_path, square_city):
    Area.objects.filter(code="360502001001").update(valid_from=datetime.date(2025, 1, 1))
    features = [feature("360502001001", "新", box_geometry(X0, Y0, X0 + 2 * STEP, Y0 + 2 * STEP))]
    problems = failing_import(
        path=write_geojson(tmp_path / "c.geojson", features),
        replace=True,
        effective_date=datetime.date(2024, 12, 31),
    )
    assert has_problem(problems, 1, "360502001001", "valid from 2025-01-01")


# --- the command ---------------------------------------------------------------------------


def test_command_prints_progress_and_report(tmp_path, capsys):
    features = hierarchy()[:4]
    x = X0
    for seq in range(1, 1101):
        community = "360502001001" if seq <= 550 else "360502001002"
        number = seq if seq <= 550 else seq - 550
        width = 0.02 / 550
        offset = (number - 1) * width + (0 if seq <= 550 else 0.02)
        features.append(
            feature(
                f"{community}{number:03d}",
                f"网格{seq}",
                box_geometry(x + offset, Y0, x + offset + width, Y0 + 0.02),
            )
        )
    features.append(
        feature("360502001002", "城南第2社区", box_geometry(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.02))
    )
    path = write_geojson(tmp_path / "big.geojson", features)

    call_command("area_import", str(path), "--effective-date", "2024-03-01")
    out = capsys.readouterr().out
    assert "read 1,000 of 1,105 features" in out
    assert "1105 areas created, 0 replaced" in out
    assert Area.objects.current().cells().count() == 1100


def test_command_lists_every_problem_and_fails(tmp_path, capsys):
    features = hierarchy()
    features[1]["geometry"] = BOW_TIE
    features[5]["properties"]["code"] = "3605020010010"
    path = write_geojson(tmp_path / "bad.geojson", features)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("area_import", str(path))
    err = capsys.readouterr().err
    assert "#2" in err and "Self-intersection" in err
    assert "#6" in err and "3605020010010" in err
    assert Area.objects.count() == 0


def test_command_level_option_and_dry_run(tmp_path, capsys, square_city):
    cells = [feature("360502001001005", "新网格", box_geometry(X0, Y0, X0 + STEP, Y0 + STEP))]
    path = write_geojson(tmp_path / "cells.geojson", cells)
    call_command("area_import", str(path), "--level", "网格", "--dry-run")
    out = capsys.readouterr().out
    assert "dry run, nothing written: 1 areas created" in out
    assert "overlaps its sibling" in out
    assert not Area.objects.filter(code="360502001001005").exists()
