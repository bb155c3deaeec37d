"""Factories and small hand-built geometries shared by the tests."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon

from grid.models import Area, AreaLevel, Assignment, Department, DepartmentKind


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pass-word-123")


def box(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=4326)


def make_area(code: str, name: str, level: int, parent: Area | None, boundary=None) -> Area:
    return Area.objects.create(code=code, name=name, level=level, parent=parent, boundary=boundary)


def assign(user, area: Area, role: str, department: Department | None = None) -> Assignment:
    return Assignment.objects.create(user=user, area=area, role=role, department=department)


def department(area: Area, name: str, kind_code: str = "chengguan") -> Department:
    kind, _ = DepartmentKind.objects.get_or_create(code=kind_code, defaults={"name": kind_code})
    return Department.objects.create(name=name, kind=kind, area=area)


class SquareCity:
    """A tiny city on a lattice of 0.01° squares with every level, for exact tests.

    8 columns x 2 rows of cells from lon 114.00, lat 27.80. District 360502 (渝水区) holds
    columns 0–3, district 360521 (分宜县) columns 4–7; each district has one street; each
    street two communities of 2x2 cells. Inside a community the cells are numbered
    west→east, north→south: 001 NW, 002 NE, 003 SW, 004 SE.
    """

    X0, Y0, STEP = 114.0, 27.8, 0.01

    def cell_box(self, col: int, row: int) -> MultiPolygon:
        x = self.X0 + col * self.STEP
        y = self.Y0 + row * self.STEP
        return box(x, y, x + self.STEP, y + self.STEP)

    def region(self, col0: int, row0: int, col1: int, row1: int) -> MultiPolygon:
        return box(
            self.X0 + col0 * self.STEP,
            self.Y0 + row0 * self.STEP,
            self.X0 + col1 * self.STEP,
            self.Y0 + row1 * self.STEP,
        )

    def build(self) -> SquareCity:
        self.city = make_area("3605", "新余市", AreaLevel.CITY, None, self.region(0, 0, 8, 2))
        self.districts, self.streets, self.communities, self.cells = {}, {}, {}, {}
        for d_index, district_code in enumerate(("360502", "360521")):
            col = d_index * 4
            district = make_area(
                district_code,
                ("渝水区", "分宜县")[d_index],
                AreaLevel.DISTRICT,
                self.city,
                self.region(col, 0, col + 4, 2),
            )
            street = make_area(
                district_code + "001",
                ("城南街道", "钤东街道")[d_index],
                AreaLevel.STREET,
                district,
                self.region(col, 0, col + 4, 2),
            )
            self.districts[district_code] = district
            self.streets[street.code] = street
            for c_index in range(2):
                ccol = col + 2 * c_index
                community = make_area(
                    f"{street.code}{c_index + 1:03d}",
                    f"{street.name}第{c_index + 1}社区",
                    AreaLevel.COMMUNITY,
                    street,
                    self.region(ccol, 0, ccol + 2, 2),
                )
                self.communities[community.code] = community
                for seq, (dc, row) in enumerate(((0, 1), (1, 1), (0, 0), (1, 0)), start=1):
                    cell = make_area(
                        f"{community.code}{seq:03d}",
                        f"{community.name}{seq}号网格",
                        AreaLevel.GRID,
                        community,
                        self.cell_box(ccol + dc, row),
                    )
                    self.cells[cell.code] = cell
        return self
