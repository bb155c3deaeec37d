import io

import pytest
from django.utils import translation
from openpyxl import Workbook

from community.tabular import read_table
from grid.errors import InvalidInput

ALIASES = {"姓名": "name", "身份证号": "id_number", "电话": "phone"}


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(data: bytes, filename: str, required=("name", "id_number")):
    table = read_table(io.BytesIO(data), filename=filename, aliases=ALIASES, required=required)
    return table, list(table.rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_the_encodings_chinese_offices_use(encoding):
    text = "姓名,身份证号,备注\n张三,360502199001011234,x\n\n李四,360502199001015678,\n"
    table, rows = read(text.encode(encoding), "people.csv")
    assert table.columns == {"name": "姓名", "id_number": "身份证号"}
    assert rows == [
        (2, {"name": "张三", "id_number": "360502199001011234"}),
        (4, {"name": "李四", "id_number": "360502199001015678"}),
    ]


def test_xlsx_rows_with_numbers_flagged():
    data = xlsx_bytes([["name", "id_number", "phone"], ["王五", "36050219900101123X", 13800138000]])
    table, rows = read(data, "people.xlsx")
    assert rows == [
        (2, {"name": "王五", "id_number": "36050219900101123X", "phone": "13800138000"})
    ]
    assert table.numeric == {2: {"phone"}}


def test_missing_columns_are_listed():
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        read("姓名,电话\n张三,1\n".encode(), "people.csv")
    assert "id_number" in caught.value.message
    assert caught.value.details == [{"row": 1, "column": "id_number", "reason": "missing column"}]


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b"", "people.csv", "empty"),
        (b"\x00\x01\x02binary" * 10, "people.csv", "not a CSV"),
        (b"PK\x03\x04rest", "people.csv", "workbook"),
        (b"name,id\n", "people.xlsx", "not an XLSX"),
        (b"PK\x03\x04 broken zip", "people.xlsx", "not a readable XLSX"),
        (b"name\n", "people.pdf", "neither a CSV nor an XLSX"),
        ("姓名".encode("utf-16"), "people.csv", "neither UTF-8 nor GB18030"),
    ],
)
def test_malformed_files_get_a_clear_error(data, filename, reason):
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        read(data, filename, required=("name",))
    assert reason in caught.value.message
