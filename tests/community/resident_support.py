"""Builders shared by the residents' tests: the people of the access matrix on SquareCity,
points inside its cells, files to import, and a check that a raw database row holds no clear
personal number."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import connection
from openpyxl import Workbook

from community.caretags import care_tags_fill
from community.models import CareTag
from grid.models import Area, Role
from tests.factories import SquareCity, UserFactory, assign, department

PASSWORD = "pass-word-123"
COMMUNITY_A = "360502001001"
COMMUNITY_B = "360502001002"
STREET = "360502001"
OTHER_DISTRICT = "360521"
# Points in the middle of cells of SquareCity (0.01° squares from 114.00, 27.80).
POINT_A_NW = (114.005, 27.815)  # 360502001001001
POINT_A_SE = (114.015, 27.805)  # 360502001001004
POINT_B_NW = (114.025, 27.815)  # 360502001002001
POINT_OTHER_DISTRICT = (114.045, 27.815)  # 360521001001001
POINT_OUTSIDE = (113.5, 27.5)


@dataclass
class ResidentPeople:
    """Who is who in the access matrix."""

    staff_a: object  # community staff of community A
    staff_b: object  # community staff of community B
    street: object  # street officer of 360502001 (A and B)
    district_other: object  # district officer of 360521 (neither)
    inspector_a: object  # grid inspector of a cell of A: masked reads only
    handler: object  # department handler on the street: masked reads only
    admin: object  # superuser


def make_people(city: SquareCity) -> ResidentPeople:
    street_area = Area.objects.current().get(code=STREET)
    welfare_office = department(street_area, "城南街道民政办", "minzheng")

    def person(username: str, code: str, role: str):
        user = UserFactory(username=username)
        handler_of = welfare_office if role == Role.DEPARTMENT_HANDLER else None
        assign(user, Area.objects.current().get(code=code), role, handler_of)
        return user

    admin = UserFactory(username="admin", is_superuser=True, is_staff=True)
    return ResidentPeople(
        staff_a=person("staff-a", COMMUNITY_A, Role.COMMUNITY_STAFF),
        staff_b=person("staff-b", COMMUNITY_B, Role.COMMUNITY_STAFF),
        street=person("street", STREET, Role.STREET_OFFICER),
        district_other=person("district-521", OTHER_DISTRICT, Role.DISTRICT_OFFICER),
        inspector_a=person("inspector-a", COMMUNITY_A + "001", Role.GRID_INSPECTOR),
        handler=person("handler", STREET, Role.DEPARTMENT_HANDLER),
        admin=admin,
    )


def seed_care_tags() -> dict[str, CareTag]:
    """The default care tags (the migration seeds them; transactional tests flush them)."""
    care_tags_fill(CareTag)
    return {tag.code: tag for tag in CareTag.objects.all()}


def assert_no_clear_values(*values: str) -> None:
    """No column of any stored resident, nor of any stored household, holds these values
    (checked with SQL on the raw rows, including digits with separators removed)."""
    with connection.cursor() as cursor:
        for table in ("community_resident", "community_household"):
            cursor.execute(f"SELECT t::text FROM {table} AS t")
            for (text,) in cursor.fetchall():
                for value in values:
                    assert value not in text, f"{table} holds a clear value"
                    assert value not in text.replace("-", "").replace(" ", "")


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    text = "\n".join(",".join(str(cell) for cell in row) for row in rows) + "\n"
    return text.encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
