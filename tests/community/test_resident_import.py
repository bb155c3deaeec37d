"""Importing residents from CSV and XLSX: good files in both encodings and both formats,
every kind of bad row reported with row, column and reason, all or nothing, --partial,
duplicates in the file and in the database, scope, the command's progress and report."""

import io
import logging
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from community import pii
from community.models import Household, Resident
from community.services.resident_import import (
    ImportProgress,
    ResidentImportFailed,
    resident_import,
)
from community.services.residents import resident_register
from grid.errors import Forbidden, InvalidInput
from tests.fixtures.community import valid_id_number

from .resident_support import (
    COMMUNITY_A,
    COMMUNITY_B,
    POINT_A_NW,
    POINT_A_SE,
    POINT_B_NW,
    POINT_OUTSIDE,
    assert_no_clear_values,
    csv_bytes,
    make_people,
    seed_care_tags,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db

HEADER_ZH = [
    "姓名",
    "公民身份号码",
    "联系电话",
    "住址",
    "社区编码",
    "户号",
    "与户主关系",
    "关怀标签",
]
IDS = [valid_id_number("360502", date(1950 + n, 1 + n, 1 + n), 11 + 2 * n) for n in range(8)]


@pytest.fixture
def people(square_city):
    seed_care_tags()
    return make_people(square_city)


def run(data: bytes, filename: str, *, actor, partial=False, **kwargs):
    with translation.override("en"):
        return resident_import(
            actor=actor, source=io.BytesIO(data), filename=filename, partial=partial, **kwargs
        )


def failure(data: bytes, filename: str, *, actor, partial=False) -> list[tuple[int, str, str]]:
    with translation.override("en"), pytest.raises(ResidentImportFailed) as caught:
        resident_import(actor=actor, source=io.BytesIO(data), filename=filename, partial=partial)
    return [(p["row"], p["column"], p["reason"]) for p in caught.value.details]


def good_rows() -> list[list[object]]:
    return [
        HEADER_ZH,
        [
            "王秀英",
            IDS[0],
            "13912345678",
            "城南路1号",
            COMMUNITY_A,
            "A-1",
            "户主",
            "独居老人、低保",
        ],
        ["王小明", IDS[1], "", "城南路1号", COMMUNITY_A, "A-1", "子", ""],
        ["李四", IDS[2], "0790-6221234", "城南路2号", COMMUNITY_A, "", "", "disabled; youfu"],
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_good_csv_is_imported_in_any_office_encoding(people, encoding):
    report = run(csv_bytes(good_rows(), encoding), "居民.csv", actor=people.staff_a)
    assert (report.rows, report.good, report.written, report.households_created) == (3, 3, 3, 1)
    assert report.problems == []
    wang = Resident.objects.get(name="王秀英")
    assert wang.id_number_digest == pii.lookup_digest(IDS[0])
    assert pii.decrypt(wang.id_number_ciphertext) == IDS[0]
    assert pii.decrypt(wang.phone_ciphertext) == "13912345678"
    assert wang.phone_masked == "139****5678"
    assert wang.area_code == COMMUNITY_A
    assert sorted(wang.care_tags.values_list("code", flat=True)) == ["dibao", "elderly_alone"]
    household = Household.objects.get()
    assert household.number == "A-1" and household.community.code == COMMUNITY_A
    assert set(household.members.values_list("name", flat=True)) == {"王秀英", "王小明"}
    li = Resident.objects.get(name="李四")
    assert li.household is None
    assert li.phone_masked == "********1234"
    assert sorted(li.care_tags.values_list("code", flat=True)) == ["disabled", "youfu"]
    assert_no_clear_values(*IDS[:3], "13912345678", "0790-6221234", "6221234")


def test_a_good_xlsx_with_points_is_located_set_based(people):
    rows = [
        ["name", "id_number", "phone", "lon", "lat", "household"],
        ["甲", IDS[0], 13912345678, POINT_A_NW[0], POINT_A_NW[1], "H1"],
        ["乙", IDS[1], "", *POINT_A_SE, "H1"],
    ]
    report = run(xlsx_bytes(rows), "residents.xlsx", actor=people.staff_a)
    assert report.written == 2
    cells = dict(Resident.objects.values_list("name", "grid_cell__code"))
    assert cells == {"甲": COMMUNITY_A + "001", "乙": COMMUNITY_A + "004"}
    household = Household.objects.get()
    assert household.grid_cell.code == COMMUNITY_A + "001"  # from the household's first row
    first = Resident.objects.get(name="甲")
    assert (first.location.x, first.location.y) == POINT_A_NW
    assert pii.decrypt(first.phone_ciphertext) == "13912345678"


def test_every_kind_of_bad_row_is_reported_and_nothing_is_written(people):
    rows = [
        ["姓名", "身份证号", "手机号", "社区编码", "经度", "纬度", "关怀标签", "与户主关系"],
        ["", IDS[0], "", COMMUNITY_A, "", "", "", ""],  # 2: no name
        ["乙", IDS[1][:-1] + ("0" if IDS[1][-1] != "0" else "1"), "", COMMUNITY_A, "", "", "", ""],
        ["丙", "36050219900230001X", "", COMMUNITY_A, "", "", "", ""],  # 4: bad date
        ["丁", IDS[3][:17], "123", COMMUNITY_A, "", "", "", ""],  # 5: length, phone
        ["戊", IDS[4], "", "", *POINT_OUTSIDE, "", ""],  # 6: point outside every cell
        ["己", IDS[5], "", "", "abc", "27.8", "", ""],  # 7: longitude not a number
        ["庚", IDS[6], "", "", "", "", "", ""],  # 8: no place at all
        ["辛", IDS[7], "", "360502001099", "", "", "孤儿、低保", "x" * 21],  # 9
    ]
    found = failure(csv_bytes(rows), "bad.csv", actor=people.staff_a)
    expected_check = IDS[1][-1]
    given_check = "0" if IDS[1][-1] != "0" else "1"
    assert found == [
        (2, "姓名", "the name is required"),
        (
            3,
            "身份证号",
            f"the check character is {given_check} but should be {expected_check}: "
            "a digit is wrong",
        ),
        (4, "身份证号", "the ID number's birth date 19900230 is not a date"),
        (5, "身份证号", "an ID number has 18 characters; this one has 17"),
        (5, "手机号", "a mobile number has 11 digits; this one has 3"),
        (6, "经度", "the point (113.500000, 27.500000) lies in no grid cell"),
        (7, "经度", "lon must be a number; got “abc”"),
        (8, "社区编码", "give the community code or the longitude and latitude"),
        (9, "社区编码", "there is no community “360502001099” in your areas"),
        (9, "与户主关系", "at most 20 characters; this has 21"),
        (9, "关怀标签", "unknown care tags: 孤儿"),
    ]
    assert Resident.objects.count() == 0 and Household.objects.count() == 0


def test_the_failure_message_counts_rows_and_says_nothing_was_written(people):
    rows = [*good_rows(), ["", IDS[5], "", "", COMMUNITY_A, "", "", ""]]
    with translation.override("en"), pytest.raises(ResidentImportFailed) as caught:
        resident_import(actor=people.staff_a, source=io.BytesIO(csv_bytes(rows)), filename="x.csv")
    assert caught.value.message == "1 of 4 rows has problems; nothing was written"
    assert caught.value.status == 422
    assert caught.value.report.good == 3
    assert Resident.objects.count() == 0


def test_partial_writes_the_good_rows_and_reports_the_bad(people):
    rows = [*good_rows(), ["坏", "123", "", "", COMMUNITY_A, "", "", ""]]
    report = run(csv_bytes(rows), "x.csv", actor=people.staff_a, partial=True)
    assert (report.rows, report.good, report.bad_rows, report.written) == (4, 3, 1, 3)
    assert [(p.row, p.column) for p in report.problems] == [(5, "公民身份号码")]
    assert Resident.objects.count() == 3


def test_duplicates_in_the_file_name_both_rows_and_neither_is_written(people):
    rows = [
        HEADER_ZH,
        ["甲", IDS[0], "", "", COMMUNITY_A, "", "", ""],
        ["乙", IDS[1], "", "", COMMUNITY_A, "", "", ""],
        ["丙", IDS[0].lower(), "", "", COMMUNITY_A, "", "", ""],
    ]
    masked = pii.mask_id_number(IDS[0])
    reason = f"the ID number {masked} appears more than once: rows 2, 4"
    assert failure(csv_bytes(rows), "dup.csv", actor=people.staff_a) == [
        (2, "公民身份号码", reason),
        (4, "公民身份号码", reason),
    ]
    report = run(csv_bytes(rows), "dup.csv", actor=people.staff_a, partial=True)
    assert report.written == 1
    assert list(Resident.objects.values_list("name", flat=True)) == ["乙"]


@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_partial_takes_back_a_duplicate_written_in_an_earlier_batch(people, batch_rows):
    rows = [
        HEADER_ZH,
        ["甲", IDS[0], "", "", COMMUNITY_A, "H1", "户主", "低保"],
        ["乙", IDS[1], "", "", COMMUNITY_A, "H3", "户主", ""],
        ["丙", IDS[0], "", "", COMMUNITY_A, "H2", "户主", "低保、残疾人"],
    ]
    report = run(
        csv_bytes(rows), "x.csv", actor=people.staff_a, partial=True, batch_rows=batch_rows
    )
    assert (report.written, report.bad_rows, report.households_created) == (1, 2, 1)
    assert [(p.row, p.column) for p in report.problems] == [
        (2, "公民身份号码"),
        (4, "公民身份号码"),
    ]
    assert list(Resident.objects.values_list("name", flat=True)) == ["乙"]
    assert list(Household.objects.values_list("number", flat=True)) == ["H3"]
    assert Resident.care_tags.through.objects.count() == 0
    with pytest.raises(ResidentImportFailed):
        run(csv_bytes(rows), "x.csv", actor=people.staff_a, batch_rows=batch_rows)
    assert Resident.objects.count() == 1 and Household.objects.count() == 1


def test_duplicates_against_the_database_are_reported_masked(people):
    with translation.override("en"):
        resident_register(
            actor=people.street, name="已登记", id_number=IDS[2], community=COMMUNITY_B
        )
    found = failure(csv_bytes(good_rows()), "x.csv", actor=people.staff_a)
    masked = pii.mask_id_number(IDS[2])
    assert found == [
        (4, "公民身份号码", f"a resident with ID number {masked} is already registered")
    ]
    assert Resident.objects.count() == 1


def test_rows_outside_the_importers_areas_are_reported(people):
    rows = [
        ["name", "id_number", "community", "lon", "lat"],
        ["甲", IDS[0], COMMUNITY_B, "", ""],
        ["乙", IDS[1], "", *POINT_B_NW],
        ["丙", IDS[2], COMMUNITY_A, *POINT_B_NW],
        ["丁", IDS[3], COMMUNITY_A, "", ""],
    ]
    assert failure(csv_bytes(rows), "x.csv", actor=people.staff_a) == [
        (2, "community", f"there is no community “{COMMUNITY_B}” in your areas"),
        (3, "lon", "the point (114.025000, 27.815000) lies outside your areas"),
        (4, "lon", "the point (114.025000, 27.815000) lies outside your areas"),
    ]
    # the street officer sees both communities; a point in B given with A's code is a mismatch
    assert failure(csv_bytes(rows), "x.csv", actor=people.street) == [
        (
            4,
            "lon",
            f"the point (114.025000, 27.815000) lies in community {COMMUNITY_B}, "
            f"not in {COMMUNITY_A}",
        )
    ]


def test_readers_may_not_import(people):
    for reader in (people.inspector_a, people.handler):
        with pytest.raises(Forbidden):
            run(csv_bytes(good_rows()), "x.csv", actor=reader)
    assert Resident.objects.count() == 0


def test_xlsx_id_numbers_stored_as_numbers_are_reported_clearly(people):
    rows = [
        ["姓名", "身份证号", "社区编码"],
        ["甲", 360502195001010011, COMMUNITY_A],
        ["乙", IDS[1], COMMUNITY_A],
    ]
    found = failure(xlsx_bytes(rows), "x.xlsx", actor=people.staff_a)
    assert len(found) == 1
    row, column, reason = found[0]
    assert (row, column) == (2, "身份证号")
    assert reason.startswith("the cell holds a number, not text")
    assert "15 digits" in reason


def test_a_file_without_a_place_column_or_an_id_column_is_refused(people):
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        run(csv_bytes([["姓名", "身份证号"], ["甲", IDS[0]]]), "x.csv", actor=people.staff_a)
    assert caught.value.details == [{"row": 1, "column": "community", "reason": "missing column"}]
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        run(csv_bytes([["姓名", "社区编码"], ["甲", COMMUNITY_A]]), "x.csv", actor=people.staff_a)
    assert caught.value.details == [{"row": 1, "column": "id_number", "reason": "missing column"}]


@pytest.mark.parametrize(
    ("data", "filename"),
    [(b"\x00\x01binary" * 20, "x.csv"), (b"PK\x03\x04 broken", "x.xlsx"), (b"", "x.csv")],
)
def test_malformed_files_are_refused(people, data, filename):
    with translation.override("en"), pytest.raises(InvalidInput):
        run(data, filename, actor=people.staff_a)


def test_progress_is_reported_per_batch_while_the_previous_one_is_written(people):
    steps: list[ImportProgress] = []
    rows = [HEADER_ZH] + [
        [
            f"居民{n}",
            valid_id_number("360502", date(1970, 1, 1), n),
            "",
            "",
            COMMUNITY_A,
            "",
            "",
            "",
        ]
        for n in range(1, 8)
    ]
    run(csv_bytes(rows), "x.csv", actor=people.staff_a, progress=steps.append, batch_rows=3)
    importing = [(step.read, step.written) for step in steps if step.stage == "importing"]
    assert importing == [(3, 0), (6, 3), (7, 6)]
    assert (steps[-1].stage, steps[-1].written) == ("checking duplicates", 7)
    assert all(step.rate >= 0 for step in steps)
    assert Resident.objects.count() == 7


def test_nothing_clear_is_logged_by_an_import(people, caplog):
    caplog.set_level(logging.DEBUG)
    rows = [*good_rows(), ["坏", IDS[0], "", "", COMMUNITY_A, "", "", ""]]
    run(csv_bytes(rows), "x.csv", actor=people.staff_a, partial=True)
    assert "resident import of x.csv" in caplog.text
    for clear in (*IDS[:3], "13912345678", "0790-6221234"):
        assert clear not in caplog.text


# --- the command ----------------------------------------------------------------------------


def test_the_command_imports_with_progress_and_a_summary(people, tmp_path):
    path = tmp_path / "居民.csv"
    path.write_bytes(csv_bytes(good_rows(), "gb18030"))
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("resident_import", str(path), "--user", "staff-a", stdout=out, stderr=err)
    assert "3 rows read, 3 residents and 1 households written, 0 rows with problems" in (
        out.getvalue()
    )
    assert "rows read 3 · checked 3" in out.getvalue()
    assert err.getvalue() == ""
    assert Resident.objects.count() == 3


def test_the_command_lists_every_problem_and_writes_the_report(people, tmp_path):
    path = tmp_path / "bad.csv"
    rows = [*good_rows(), ["", "123", "", "", COMMUNITY_B, "", "", ""]]
    path.write_bytes(csv_bytes(rows))
    report = tmp_path / "report.csv"
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="nothing was written"):
        call_command(
            "resident_import", str(path), "--user", "staff-a", "--report", str(report), stderr=err
        )
    lines = err.getvalue()
    assert "5  姓名: the name is required" in lines
    assert "5  公民身份号码: an ID number has 18 characters; this one has 3" in lines
    assert f"5  社区编码: there is no community “{COMMUNITY_B}” in your areas" in lines
    assert report.read_text(encoding="utf-8-sig").splitlines()[0] == "row,column,reason"
    assert len(report.read_text(encoding="utf-8-sig").splitlines()) == 4
    assert Resident.objects.count() == 0
    for clear in IDS[:3]:
        assert clear not in lines


def test_the_command_partial_and_without_a_user(people, tmp_path):
    path = tmp_path / "x.csv"
    rows = [*good_rows(), ["外区", IDS[5], "", "", "360521001001", "", "", ""]]
    path.write_bytes(csv_bytes(rows))
    out = io.StringIO()
    with translation.override("en"):
        call_command("resident_import", str(path), "--partial", stdout=out, stderr=io.StringIO())
    assert Resident.objects.count() == 4  # an operator's run reaches every area
    with translation.override("en"), pytest.raises(CommandError, match="there is no user"):
        call_command("resident_import", str(path), "--user", "nobody")
    with translation.override("en"), pytest.raises(CommandError, match="only community staff"):
        call_command("resident_import", str(path), "--user", "inspector-a")
