"""The demo's people and things at the counters: synthetic residents and facilities for every
community of the demo city, and a few applications
at the first community's counter in different states, so that the counter's queue, the review
queue and the indicators have something to show.

Residents and facilities go through the real imports (validation, encryption, locate), from
files made here; everything is deterministic for a seed. A second run changes nothing.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils.translation import gettext as _

from grid.errors import NotFound
from grid.models import Area, AreaLevel, Assignment, Role
from grid.services.demo_people import REVIEWER

from ..idnumber import check_character
from ..models import Application, CareTag, Facility, FacilityCategory, Resident, ServiceItem
from .applications import (
    application_accept,
    application_approve,
    application_forward,
    application_receive,
    application_request_correction,
)
from .facility_import import facility_import
from .resident_import import resident_import

Progress = Callable[[str], None]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美霞平刚桂兰建国志红玉梅文斌浩宇欣怡子涵俊"
ROADS = ("胜利路", "长青路", "仙来大道", "北湖路", "抱石大道", "劳动路", "新欣大道", "团结路")
RELATIONS = ("户主", "配偶", "子", "女", "父亲", "母亲")
FACILITY_CLASSES = ("0101", "0102", "0103", "0118", "0209", "0213", "0305", "0402", "0407")


@dataclass(frozen=True)
class CommunityDemoResult:
    residents: int
    facilities: int
    applications: int

    @property
    def created_anything(self) -> bool:
        return bool(self.residents or self.facilities or self.applications)


def _points(
    *, city_code: str, level: int, per_area: int, seed: int
) -> list[tuple[str, float, float]]:
    """`per_area` random points inside every current area of `level` in the city (PostGIS
    ST_GeneratePoints with a seed, so the same points each run), as (area code, lon, lat)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT code, ST_X(point.geom), ST_Y(point.geom)
            FROM (
                SELECT code, (ST_Dump(ST_GeneratePoints(boundary, %s, %s))).geom
                FROM grid_area
                WHERE level = %s AND valid_to IS NULL AND code LIKE %s AND boundary IS NOT NULL
            ) AS point
            ORDER BY code
            """,
            [per_area, seed, level, city_code + "%"],
        )
        return cursor.fetchall()


def _id_number(rng: random.Random, region: str) -> str:
    birth = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 70))
    first17 = f"{region}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + check_character(first17)


def _residents_file(*, city_code: str, per_community: int, seed: int) -> bytes:
    rng = random.Random(seed)
    tags = list(CareTag.objects.values_list("code", flat=True))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["姓名", "身份证号", "手机号", "住址", "经度", "纬度", "户号", "与户主关系", "关怀标签"]
    )
    seen: set[str] = set()
    for index, (community, lon, lat) in enumerate(
        _points(city_code=city_code, level=AreaLevel.COMMUNITY, per_area=per_community, seed=seed)
    ):
        id_number = _id_number(rng, community[:6])
        while id_number in seen:
            id_number = _id_number(rng, community[:6])
        seen.add(id_number)
        household = f"{community[-6:]}{index // 3:05d}"
        writer.writerow(
            [
                rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                id_number,
                f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
                f"{rng.choice(ROADS)}{rng.randrange(1, 300)}号",
                f"{lon:.6f}",
                f"{lat:.6f}",
                household,
                RELATIONS[index % 3] if index % 3 else "户主",
                rng.choice(tags) if tags and rng.random() < 0.15 else "",
            ]
        )
    return buffer.getvalue().encode()


def _facilities_file(*, city_code: str, per_community: int, seed: int) -> bytes:
    rng = random.Random(seed + 1)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["小类代码", "经度", "纬度", "状态", "最近巡查日期"])
    for _community, lon, lat in _points(
        city_code=city_code, level=AreaLevel.COMMUNITY, per_area=per_community, seed=seed + 1
    ):
        writer.writerow(
            [
                rng.choice(FACILITY_CLASSES),
                f"{lon:.6f}",
                f"{lat:.6f}",
                "破损" if rng.random() < 0.05 else "完好",
                (date(2026, 1, 1) + timedelta(days=rng.randrange(300))).isoformat(),
            ]
        )
    return buffer.getvalue().encode()


def _applications(*, community: Area, staff, reviewer) -> int:
    """A few applications at the community's counter: accepted, waiting for materials,
    forwarded, and approved, so each queue has rows."""
    if Application.objects.filter(counter=community).exists():
        return 0
    items = list(
        ServiceItem.objects.filter(active=True, delegations__counter=community)
        .order_by("implementation_code")
        .prefetch_related("materials")
    )
    applicants = list(Resident.objects.filter(community=community).order_by("id")[:8])
    if not items or not applicants:
        return 0
    made = 0
    for index, applicant in enumerate(applicants):
        item = items[index % len(items)]
        requirements = [material.id for material in item.materials.all()]
        complete = index % 4 != 1
        application = application_receive(
            actor=staff,
            applicant=applicant,
            item=item,
            counter=community,
            received_materials=requirements if complete else requirements[:1],
        )
        made += 1
        if not complete and len(requirements) > 1:
            application_request_correction(actor=staff, application_id=application.id)
            continue
        application = application_accept(actor=staff, application_id=application.id)
        if index % 4 == 2 and application.power == "accept_forward":
            application = application_forward(actor=staff, application_id=application.id)
            if reviewer is not None and application.department.kind.code == "minzheng":
                application_approve(actor=reviewer, application_id=application.id)
    return made


def community_demo_data_seed(
    *,
    city_code: str = "3605",
    residents_per_community: int = 30,
    facilities_per_community: int = 8,
    seed: int = 1,
    progress: Progress | None = None,
) -> CommunityDemoResult:
    """Residents, facilities, a reviewer and a few applications for the demo city; only what
    is missing is created."""
    say = progress or (lambda message: None)
    city = Area.objects.current().filter(code=city_code, level=AreaLevel.CITY).first()
    if city is None:
        raise NotFound(_("city %(code)s does not exist; run demo_seed first") % {"code": city_code})
    residents = facilities = applications = 0
    if not Resident.objects.filter(area_code__startswith=city_code).exists():
        say(_("importing demo residents"))
        report = resident_import(
            actor=None,
            source=io.BytesIO(
                _residents_file(
                    city_code=city_code, per_community=residents_per_community, seed=seed
                )
            ),
            filename="demo-residents.csv",
        )
        residents = report.written
    if (
        not Facility.objects.filter(area_code__startswith=city_code).exists()
        and FacilityCategory.objects.exists()
    ):
        say(_("importing demo facilities"))
        report = facility_import(
            source=io.BytesIO(
                _facilities_file(
                    city_code=city_code, per_community=facilities_per_community, seed=seed
                )
            ),
            filename="demo-facilities.csv",
        )
        facilities = report.created
    staff_assignment = (
        Assignment.objects.filter(user__username="community", role=Role.COMMUNITY_STAFF)
        .select_related("user", "area__parent")
        .first()
    )
    if staff_assignment is not None:
        with transaction.atomic():
            community = staff_assignment.area
            reviewer = get_user_model().objects.filter(username=REVIEWER).first()
            applications = _applications(
                community=community, staff=staff_assignment.user, reviewer=reviewer
            )
    return CommunityDemoResult(residents, facilities, applications)
