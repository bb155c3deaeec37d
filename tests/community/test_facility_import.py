"""Facility import: Chinese and English headers, CSV and XLSX, every kind of bad row reported
as (row, column, reason), all or nothing, --partial, duplicates, codes issued in blocks, the
set-based locate, and the command's progress."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook

from community.models import Facility, FacilityState
from community.services.facility_import import facility_import, parse_date
from grid.errors import InvalidInput
from grid.models import Role
from tests.factories import department
from tests.fixtures.community import assigned_user, facility_category, make_facility

pytestmark = pytest.mark.django_db

HEADER = "部件编码,小类代码,编码标准,名称,经度,纬度,权属部门,状态,最近巡查日期"
IN_YUSHUI = "114.015,27.805"  # cell 360502001001004
IN_FENYI = "114.045,27.805"  # cell 360521001001003


def run(text: str, *, filename="facilities.csv", encoding="utf-8", **options):
    with translation.override("en"):
        return facility_import(
            source=io.BytesIO(text.encode(encoding)), filename=filename, **options
        )


def xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_good_file_with_chinese_headers(square_city):
    owner = department(square_city.districts["360502"], "渝水区城管局")
    text = "\n".join(
        [
            HEADER,
            f",0101,,北门井盖,{IN_YUSHUI},渝水区城管局,完好,2026-03-01",
            f",0101,,南门井盖,{IN_YUSHUI},{owner.pk},破损,2026/3/2",
            f"3605020101000005,0101,,东门井盖,{IN_YUSHUI},,Damaged,2026年3月3日",
            f",0118,GB/T 30428,路灯,{IN_FENYI},,occupied,20260304",
            f",01001,GB/T 47678.5,新标准井盖,{IN_FENYI},,丢失,",
        ]
    )
    report = run(text, encoding="gb18030")
    assert (report.rows, report.created, report.skipped, report.issued_codes) == (5, 5, 0, 4)
    stored = {f.name: f for f in Facility.objects.select_related("category")}
    # issued codes skip the serial given explicitly in the same file
    assert stored["北门井盖"].code == "3605020101000006"
    assert stored["南门井盖"].code == "3605020101000007"
    assert stored["东门井盖"].code == "3605020101000005"
    assert stored["路灯"].code == "3605210118000001"
    assert stored["新标准井盖"].code == "36052101001000001"
    assert stored["北门井盖"].owner_department == owner
    assert stored["南门井盖"].owner_department == owner
    assert stored["北门井盖"].area_code == "360502001001004"
    assert stored["路灯"].area_code == "360521001001003"
    assert [
        stored[n].state for n in ("北门井盖", "南门井盖", "东门井盖", "路灯", "新标准井盖")
    ] == [
        "intact",
        "damaged",
        "damaged",
        "occupied",
        "lost",
    ]
    assert [stored[n].last_inspected_on for n in ("北门井盖", "南门井盖", "东门井盖", "路灯")] == [
        datetime.date(2026, 3, d) for d in (1, 2, 3, 4)
    ]
    assert stored["新标准井盖"].last_inspected_on is None


def test_english_headers_and_a_name_picks_the_nearest_department(square_city):
    city_department = department(square_city.city, "城管局")
    district_department = department(square_city.districts["360502"], "城管局")
    text = (
        "code,category,name,lon,lat,owner_department,state,last_inspected_on\n"
        f",0101,a,{IN_YUSHUI},城管局,intact,2026-01-05\n"
        f",0101,b,{IN_FENYI},城管局,,\n"
    )
    report = run(text)
    assert report.created == 2
    assert Facility.objects.get(name="a").owner_department == district_department
    assert Facility.objects.get(name="b").owner_department == city_department


EVERY_BAD_KIND = [
    # (row text, column, fragment of the reason)
    (f",0101,,good,{IN_YUSHUI},渝水区城管局,完好,2026-03-01", None, None),
    (f"36050201010000a1,0101,,,{IN_YUSHUI},,,", "部件编码", "digits only"),
    (f"360502010100001,0101,,,{IN_YUSHUI},,,", "部件编码", "has 16 digits"),
    (f"3605210101000001,0101,,,{IN_YUSHUI},,,", "部件编码", "county part 360521 is not 360502"),
    (f"3605020102000001,0101,,,{IN_YUSHUI},,,", "部件编码", "class part 0102 is not 0101"),
    (f"3605020101000000,0101,,,{IN_YUSHUI},,,", "部件编码", "must not be 000000"),
    (f",0999,,,{IN_YUSHUI},,,", "小类代码", "unknown category “0999”"),
    (f",0101,GB/T 99999,,{IN_YUSHUI},,,", "编码标准", "unknown code scheme"),
    (",0101,,,116.4,39.9,,,", "经度, 纬度", "lies outside every grid cell"),
    (f",0101,,,{IN_FENYI},,,", "经度, 纬度", "outside your areas"),
    (f",0101,,,{IN_YUSHUI},,,2026-02-30", "最近巡查日期", "not a real date"),
    (f",0101,,,{IN_YUSHUI},,,last week", "最近巡查日期", "is not a date"),
    (f",0101,,,{IN_YUSHUI},,,2099-01-01", "最近巡查日期", "in the future"),
    (f",0101,,,{IN_YUSHUI},,碎了,", "状态", "unknown state “碎了”"),
    (f"3605020101000010,0101,,,{IN_YUSHUI},,,", None, None),
    (f"3605020101000010,0101,,,{IN_YUSHUI},,,", "部件编码", "also on row 16 of the file"),
    (f"3605020101000050,0101,,,{IN_YUSHUI},,,", "部件编码", "already registered"),
    (f",0101,,,{IN_YUSHUI},不存在局,,", "权属部门", "unknown department “不存在局”"),
    (",0101,,,abc,27.805,,,", "经度", "“abc” is not a number"),
    (",0101,,,114.015,95,,,", "纬度", "between -90 and 90"),
    (f",01001,,,{IN_YUSHUI},,,", "小类代码", "it is a class of GB/T 47678.5"),
    (f",,,,{IN_YUSHUI},,,", "小类代码", "missing"),
]


def every_bad_kind_file() -> str:
    return "\n".join([HEADER, *(line for line, _, _ in EVERY_BAD_KIND)])


def expected_problems() -> list[tuple[int, str, str]]:
    return [
        (number, column, fragment)
        for number, (_, column, fragment) in enumerate(EVERY_BAD_KIND, start=2)
        if column
    ]


@pytest.fixture
def bad_kind_setup(square_city):
    department(square_city.districts["360502"], "渝水区城管局")
    make_facility(cell=square_city.cells["360502001001001"], code="3605020101000050")
    return assigned_user("360502", Role.DISTRICT_OFFICER)


def test_every_bad_kind_is_reported_and_nothing_is_written(bad_kind_setup):
    with pytest.raises(InvalidInput) as caught:
        run(every_bad_kind_file(), actor=bad_kind_setup)
    problems = caught.value.details
    assert "20 problems in 20 of 22 rows; nothing was imported" in caught.value.message
    got = [(p["row"], p["column"], p["reason"]) for p in problems]
    assert len(got) == len(expected_problems())
    for (row, column, reason), (want_row, want_column, fragment) in zip(
        got, expected_problems(), strict=True
    ):
        assert (row, column) == (want_row, want_column), reason
        assert fragment in reason, (row, reason)
    assert Facility.objects.count() == 1


def test_partial_writes_the_good_rows_and_reports_the_others(bad_kind_setup):
    report = run(every_bad_kind_file(), actor=bad_kind_setup, partial=True)
    assert (report.rows, report.created, report.skipped) == (22, 2, 20)
    assert len(report.problems) == 20
    # the first of the two rows with the same code is written, the second reported
    assert set(Facility.objects.values_list("code", flat=True)) == {
        "3605020101000050",
        "3605020101000010",
        "3605020101000051",
    }


def test_a_row_with_several_problems_reports_them_all(square_city):
    text = f"{HEADER}\n3605210102000000,0101,,,{IN_YUSHUI},,坏,2026-13-01\n"
    with pytest.raises(InvalidInput) as caught:
        run(text)
    assert [(p["column"], p["reason"][:20]) for p in caught.value.details] == [
        ("状态", "unknown state “坏”: u"),
        ("最近巡查日期", "“2026-13-01” is not "),
        ("部件编码", "the code's county pa"),
        ("部件编码", "the code's class par"),
        ("部件编码", "the code's serial (i"),
    ]


def test_xlsx_cells_that_lost_their_text(square_city):
    data = xlsx(
        [
            ["部件编码", "小类代码", "名称", "经度", "纬度", "最近巡查日期"],
            [None, 101, "numeric class", 114.015, 27.805, datetime.datetime(2026, 4, 1)],
            [3605020101000003, "0101", "numeric code", 114.015, 27.805, None],
        ]
    )
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        facility_import(source=io.BytesIO(data), filename="f.xlsx")
    assert [(p["row"], p["column"]) for p in caught.value.details] == [(3, "部件编码")]
    assert "15 significant digits" in caught.value.details[0]["reason"]
    report = facility_import(source=io.BytesIO(data), filename="f.xlsx", partial=True)
    assert report.created == 1
    facility = Facility.objects.get()
    assert facility.category.code == "0101"
    assert facility.last_inspected_on == datetime.date(2026, 4, 1)


def test_duplicates_against_the_database_and_in_the_file(square_city):
    make_facility(cell=square_city.cells["360502001001004"], code="3605020101000001")
    text = (
        f"{HEADER}\n3605020101000001,0101,,,{IN_YUSHUI},,,\n"
        f"3605020101000002,0101,,,{IN_YUSHUI},,,\n3605020101000002,0101,,,{IN_YUSHUI},,,\n"
    )
    with pytest.raises(InvalidInput) as caught:
        run(text)
    assert [(p["row"], p["reason"]) for p in caught.value.details] == [
        (2, "the code 3605020101000001 is already registered"),
        (4, "the code 3605020101000002 is also on row 3 of the file"),
    ]


def test_malformed_files(square_city):
    with pytest.raises(InvalidInput) as caught:
        run("名称,备注\n井盖,x\n")
    assert {p["column"] for p in caught.value.details} == {"category", "lon", "lat"}
    with pytest.raises(InvalidInput):
        run(HEADER + "\n")
    with pytest.raises(InvalidInput):
        run("PK\x03\x04 not really", filename="f.xlsx")
    with pytest.raises(InvalidInput):
        run(HEADER, filename="f.doc")


def test_import_locates_all_rows_in_one_statement(square_city, django_assert_max_num_queries):
    cells = ["360502001001001", "360502001002004", "360521001001002", "360521001002003"]
    lines = [HEADER]
    for index in range(2500):
        cell = square_city.cells[cells[index % 4]]
        centre = cell.boundary.centroid
        lines.append(f",0101,,f{index},{centre.x:.6f},{centre.y + (index % 7) * 1e-4:.6f},,,")
    # categories, locate, departments, codes taken, then per district a sequence statement,
    # a highest-serial query and an update, and three batches of inserts; never per row
    with django_assert_max_num_queries(20):
        report = run("\n".join(lines))
    assert report.created == 2500
    counts = {code: Facility.objects.filter(area_code=code).count() for code in cells}
    assert counts == dict.fromkeys(cells, 625)
    assert Facility.objects.filter(code__startswith="3605210101").count() == 1250
    assert Facility.objects.order_by("-code").first().code == "3605210101001250"


# --- the command ----------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "facilities.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_command_shows_progress(square_city, tmp_path):
    lines = [HEADER] + [f",0101,,f{n},{IN_YUSHUI},,," for n in range(2100)]
    out = io.StringIO()
    with translation.override("en"):
        call_command("facility_import", str(write(tmp_path, "\n".join(lines))), stdout=out)
    output = out.getvalue()
    for line in (
        "read 1,000 rows",
        "read 2,000 rows",
        "read 2,100 rows",
        "located 2,100 of 2,100 rows",
        "checked 1,000 of 2,100 rows",
        "checked 2,100 of 2,100 rows",
        "written 1,000 of 2,100 facilities",
        "written 2,100 of 2,100 facilities",
        "registered: 2100 facilities; codes issued: 2100; rows skipped: 0",
    ):
        assert line in output
    assert Facility.objects.count() == 2100


def test_command_all_or_nothing_partial_and_as_user(square_city, tmp_path):
    officer = assigned_user("360502", Role.DISTRICT_OFFICER)
    path = write(tmp_path, f"{HEADER}\n,0101,,a,{IN_YUSHUI},,,\n,0101,,b,{IN_FENYI},,,\n")
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError) as caught:
        call_command("facility_import", str(path), "--as", officer.username, stderr=err)
    assert "nothing was imported" in str(caught.value)
    assert "row       3" in err.getvalue() and "outside your areas" in err.getvalue()
    assert not Facility.objects.exists()
    out = io.StringIO()
    with translation.override("en"):
        call_command(
            "facility_import", str(path), "--as", officer.username, "--partial", stdout=out
        )
    assert "rows not imported (1)" in out.getvalue()
    assert "registered: 1 facilities; codes issued: 1; rows skipped: 1" in out.getvalue()
    assert list(Facility.objects.values_list("name", flat=True)) == ["a"]
    with translation.override("en"), pytest.raises(CommandError, match="no user"):
        call_command("facility_import", str(path), "--as", "nobody")
    with translation.override("en"), pytest.raises(CommandError, match="no file"):
        call_command("facility_import", str(tmp_path / "missing.csv"))
    staff = assigned_user("360502001001", Role.COMMUNITY_STAFF)
    with translation.override("en"), pytest.raises(CommandError, match="may not register"):
        call_command("facility_import", str(path), "--as", staff.username)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", datetime.date(2026, 3, 1)),
        ("2026/3/1", datetime.date(2026, 3, 1)),
        ("2026.03.01", datetime.date(2026, 3, 1)),
        ("2026年3月1日", datetime.date(2026, 3, 1)),
        ("20260301", datetime.date(2026, 3, 1)),
        ("2026-03-01 00:00:00", datetime.date(2026, 3, 1)),
    ],
)
def test_dates_as_offices_write_them(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2026-02-29", "3/1/2026", "2026-3", "tomorrow"])
def test_dates_refused(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_state_words(square_city):
    text = f"{HEADER}\n" + "".join(
        f",0101,,{word},{IN_YUSHUI},,{word},\n"
        for word in ("完好", "破损", "丢失", "占用", "INTACT", "lost", "")
    )
    run(text)
    states = dict(Facility.objects.values_list("name", "state"))
    assert states == {
        "完好": FacilityState.INTACT,
        "破损": FacilityState.DAMAGED,
        "丢失": FacilityState.LOST,
        "占用": FacilityState.OCCUPIED,
        "INTACT": FacilityState.INTACT,
        "lost": FacilityState.LOST,
        "": FacilityState.INTACT,
    }
    assert facility_category("0101").facility_set.count() == 7
