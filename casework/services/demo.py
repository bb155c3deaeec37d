"""The demo's cases: two routing rules, a 保洁队 (cleaning team) on the first community, and
about two hundred cases in the demo city filed through incident_report — by the cells' grid
inspectors, as hotline calls taken by the city manager, by the street officer, and two
outside every cell for the city's unlocated queue — then moved along through the workflow's
moves: accepted, registered, dispatched, in progress (one with an extension asked, one
parked), handled, checked, closed, voided, escalated, sent back for rework. Reports reach
back up to three weeks, so cases left early in their life are overdue.

Each move is made by a demo account playing the part the move needs (casework.transitions):
the dispatcher of the holding tier, a handler of the case's department, the cell's
inspector; where the demo has no such account, by the demo superuser. Everything is
deterministic for a seed except the times, which count back from now. Cases carry external
ids, so a second run files nothing and moves nothing.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from community.models import Facility
from grid.errors import NotFound
from grid.models import Area, AreaLevel, Assignment, Department, DepartmentKind, Role
from grid.services.demo_people import ADMIN, CITY_MANAGER, STREET_OFFICER

from ..catalogue import GBT30428, fill_categories
from ..models import Category, CategoryGroup, CategoryKind, Incident, RoutingRule, Source
from ..photos import CleanPhoto, photo_clean
from ..transitions import TIER_DISPATCHER_ROLE
from . import workflow
from .report import incident_report
from .routing import routing_rule_add

Progress = Callable[[str], None]

DEMO_CASES = 200
DEMO_DAYS = 21
EXTERNAL_ID_PREFIX = "demo-case"
ROADS = ("胜利路", "长青路", "仙来大道", "北湖路", "抱石大道", "劳动路", "新欣大道", "团结路")
PLACES = ("交叉口", "公交站旁", "小区门口", "菜市场旁", "学校门口", "人行道上", "绿化带边")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"

# Where each demo case stops, in turn (a cycle of 24).
STAGES = (
    "reported",
    "reported",
    "reported",
    "accepted",
    "registered",
    "registered",
    "dispatched",
    "dispatched",
    "in_progress",
    "in_progress",
    "in_progress",
    "extension",
    "parked",
    "handled",
    "handled",
    "checked",
    "closed",
    "closed",
    "closed",
    "closed",
    "voided",
    "escalated",
    "rework",
    "closed",
)
# Offsets of the moves after the report (working on the case through its life).
MOVE_AFTER = {
    "accept": timedelta(minutes=12),
    "register": timedelta(minutes=30),
    "escalate": timedelta(minutes=20),
    "void": timedelta(minutes=15),
    "dispatch": timedelta(minutes=45),
    "start": timedelta(hours=2),
    "request_extension": timedelta(hours=5),
    "park": timedelta(hours=4),
    "handle": timedelta(days=1),
    "check_fail": timedelta(days=1, hours=2),
    "check_pass": timedelta(days=1, hours=2),
    "close": timedelta(days=1, hours=3),
}
# The moves that take a case to each stage.
PATHS = {
    "reported": (),
    "accepted": ("accept",),
    "registered": ("accept", "register"),
    "dispatched": ("accept", "register", "dispatch"),
    "in_progress": ("accept", "register", "dispatch", "start"),
    "extension": ("accept", "register", "dispatch", "start", "request_extension"),
    "parked": ("accept", "register", "dispatch", "start", "park"),
    "handled": ("accept", "register", "dispatch", "start", "handle"),
    "checked": ("accept", "register", "dispatch", "start", "handle", "check_pass"),
    "closed": ("accept", "register", "dispatch", "start", "handle", "check_pass", "close"),
    "voided": ("void",),
    "escalated": ("escalate",),
    "rework": ("accept", "register", "dispatch", "start", "handle", "check_fail"),
}
MOVE_ARGUMENTS = {
    "void": {"reason": "现场核实不属实"},
    "escalate": {"reason": "超出本级处置能力，请上级协调"},
    "request_extension": {"amount": 2, "unit": "days", "reason": "需协调施工单位"},
    "park": {"reason": "等待天气转好后处置"},
    "check_fail": {"reason": "现场仍有残留，请返工"},
}
DISPATCHER_MOVES = {"accept", "register", "dispatch", "escalate", "void", "park", "close"}
HANDLER_MOVES = {"start", "request_extension", "handle"}
INSPECTOR_MOVES = {"check_pass", "check_fail"}


@dataclass(frozen=True)
class CaseworkDemoResult:
    rules: int
    departments: int
    cases: int
    moves: int

    @property
    def created_anything(self) -> bool:
        return bool(self.rules or self.departments or self.cases)


@dataclass(frozen=True)
class _Report:
    external_id: str
    actor_id: int
    source: str
    category: Category
    lon: float
    lat: float
    description: str
    at: datetime
    stage: str
    facility_id: int | None = None
    reporter_name: str = ""
    reporter_phone: str = ""


def _city(city_code: str) -> Area:
    city = Area.objects.current().filter(code=city_code, level=AreaLevel.CITY).first()
    if city is None:
        raise NotFound(_("city %(code)s does not exist; run demo_seed first") % {"code": city_code})
    return city


def _first(queryset):
    return queryset.order_by("code").first()


def _demo_rules(city: Area, district: Area) -> int:
    """机动车乱停放 in the first district goes to the district's 城管 (the demo's handler);
    hotline calls about street cleanliness go straight to the street's 环卫所."""
    parking = Category.objects.get(kind=CategoryKind.EVENT, scheme=GBT30428, code="0505")
    cleanliness = CategoryGroup.objects.get(name="市容环境卫生")
    wanted = (
        {
            "category": parking,
            "area": district,
            "handling_tier": AreaLevel.DISTRICT,
            "department_kind": DepartmentKind.objects.get(code="chengguan"),
        },
        {
            "group": cleanliness,
            "source": Source.HOTLINE,
            "handling_tier": AreaLevel.STREET,
            "department_kind": DepartmentKind.objects.get(code="huanwei"),
        },
    )
    created = 0
    for fields in wanted:
        if not RoutingRule.objects.filter(**fields).exists():
            routing_rule_add(**fields)
            created += 1
    return created


def _demo_departments(community: Area) -> int:
    _department, created = Department.objects.get_or_create(
        area=community,
        name=f"{community.name}保洁队",
        defaults={"kind": DepartmentKind.objects.get(code="huanwei")},
    )
    return int(created)


def _cell_inspectors(city_code: str) -> dict[str, int]:
    """The grid cells of the city that have an inspector: cell code → that user's id."""
    rows = (
        Assignment.objects.active()
        .filter(
            role=Role.GRID_INSPECTOR,
            area__level=AreaLevel.GRID,
            area__valid_to__isnull=True,
            area__code__startswith=city_code,
        )
        .order_by("area__code", "user_id")
        .values_list("area__code", "user_id")
    )
    inspectors: dict[str, int] = {}
    for code, user_id in rows:
        inspectors.setdefault(code, user_id)
    return inspectors


def _points_in(cells: list[str], seed: int) -> dict[str, list[tuple[float, float]]]:
    """For each cell code, as many random points inside it (a seeded ST_GeneratePoints) as it
    occurs in `cells`."""
    wanted: dict[str, int] = {}
    for code in cells:
        wanted[code] = wanted.get(code, 0) + 1
    codes = sorted(wanted)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT cell.code, ST_X(dumped.geom), ST_Y(dumped.geom)
            FROM {Area._meta.db_table} AS cell
            JOIN unnest(%s::text[], %s::int[]) AS wanted(code, count) ON wanted.code = cell.code
            CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(cell.boundary, wanted.count, %s))
                AS dumped
            WHERE cell.valid_to IS NULL AND cell.level = %s
            ORDER BY cell.code, dumped.path
            """,
            [codes, [wanted[code] for code in codes], seed, int(AreaLevel.GRID)],
        )
        points: dict[str, list[tuple[float, float]]] = {}
        for code, lon, lat in cursor.fetchall():
            points.setdefault(code, []).append((lon, lat))
    return points


def _description(rng: random.Random, category: Category) -> str:
    return (
        f"{rng.choice(ROADS)}{rng.randrange(1, 300)}号{rng.choice(PLACES)}发现{category.name}，"
        "请尽快处置。"
    )


def _plan(
    *, city: Area, district: Area, street: Area, count: int, seed: int, now: datetime
) -> list[_Report]:
    rng = random.Random(seed)
    users = dict(
        get_user_model()
        .objects.filter(username__in=[CITY_MANAGER, STREET_OFFICER])
        .values_list("username", "id")
    )
    inspectors = _cell_inspectors(city.code)
    if not inspectors:
        raise NotFound(_("the demo city has no grid inspectors; run demo_seed first"))
    cells = sorted(inspectors)
    in_street = [code for code in cells if code.startswith(street.code)] or cells
    in_district = [code for code in cells if code.startswith(district.code)] or cells
    categories = list(
        Category.objects.filter(active=True).select_related("facility_category").order_by("id")
    )
    events = [c for c in categories if c.kind == CategoryKind.EVENT and c.scheme == GBT30428]
    components = [c for c in categories if c.kind == CategoryKind.COMPONENT]
    by_facility_class = {c.facility_category_id: c for c in components if c.facility_category_id}
    facilities = list(
        Facility.objects.filter(
            area_code__startswith=district.code, category_id__in=list(by_facility_class)
        )
        .order_by("code")
        .values_list("id", "category_id", "area_code", "location")[:400]
    )

    # (cell, source, reporter) of each case, and its category
    chosen: list[tuple[str | None, str, int | None, Category, int | None, tuple | None]] = []
    for index in range(count):
        slot = index % 10
        facility = None
        if slot in (0, 1, 2, 3):
            cell = rng.choice(in_street)
        elif slot in (4, 5, 6):
            cell = rng.choice(in_district)
        else:
            cell = rng.choice(cells)
        source, reporter = Source.INSPECTOR, inspectors[cell]
        if slot == 9 and CITY_MANAGER in users:
            source, reporter = Source.HOTLINE, users[CITY_MANAGER]
        elif slot == 8 and index % 20 == 8 and STREET_OFFICER in users:
            cell = rng.choice(in_street)
            source, reporter = Source.STAFF, users[STREET_OFFICER]
        category = rng.choice(events if rng.random() < 0.75 else components)
        if slot == 5 and facilities and index % 3 == 0:
            facility_id, facility_class, facility_cell, location = rng.choice(facilities)
            if facility_cell in inspectors:
                cell, reporter, source = facility_cell, inspectors[facility_cell], Source.INSPECTOR
                category = by_facility_class[facility_class]
                facility = (facility_id, location.x, location.y)
        chosen.append(
            (cell, source, reporter, category, facility[0] if facility else None, facility)
        )
    points = _points_in([cell for cell, *_rest, facility in chosen if facility is None], seed)

    plans: list[_Report] = []
    for index, (cell, source, reporter, category, facility_id, facility) in enumerate(chosen):
        lon, lat = facility[1:] if facility else points[cell].pop()
        stage = STAGES[index % len(STAGES)]
        # Cases that went through their whole life were reported at least two days ago.
        earliest = timedelta(days=2) if len(PATHS[stage]) >= 5 else timedelta(minutes=30)
        at = now - earliest - timedelta(seconds=rng.randrange(int(DEMO_DAYS * 86400 * 0.9)))
        hotline = source == Source.HOTLINE
        plans.append(
            _Report(
                external_id=f"{EXTERNAL_ID_PREFIX}-{city.code}-{index + 1:04d}",
                actor_id=reporter,
                source=source,
                category=category,
                lon=lon,
                lat=lat,
                description=_description(rng, category),
                at=at,
                stage=stage,
                facility_id=facility_id,
                reporter_name=rng.choice(SURNAMES) + rng.choice(("先生", "女士"))
                if hotline
                else "",
                reporter_phone=f"139{rng.randrange(10**8):08d}" if hotline else "",
            )
        )
    if CITY_MANAGER in users:
        west, south, _east, _north = city.boundary.extent
        for number in range(2):
            plans.append(
                _Report(
                    external_id=f"{EXTERNAL_ID_PREFIX}-{city.code}-unlocated-{number + 1}",
                    actor_id=users[CITY_MANAGER],
                    source=Source.HOTLINE,
                    category=events[number % len(events)],
                    lon=west - 0.02 - 0.01 * number,
                    lat=south - 0.02,
                    description="来电人说不清具体位置，只知道在城区边缘附近。",
                    at=now - timedelta(hours=3 + 20 * number),
                    stage="reported",
                    reporter_name=rng.choice(SURNAMES) + "先生",
                    reporter_phone=f"138{rng.randrange(10**8):08d}",
                )
            )
    return plans


class _Actors:
    """Who plays each part of a move in the demo: a demo account with that part, or the
    demo superuser."""

    def __init__(self, city_code: str) -> None:
        User = get_user_model()
        self.superuser = (
            User.objects.filter(username=ADMIN, is_superuser=True).first()
            or User.objects.filter(is_superuser=True).order_by("id").first()
        )
        if self.superuser is None:
            raise NotFound(_("the demo has no superuser; run demo_seed first"))
        rows = (
            Assignment.objects.active()
            .filter(area__valid_to__isnull=True, area__code__startswith=city_code)
            .select_related("user")
            .order_by("area__code", "user_id")
        )
        self.assignments = [(row.role, row.area.code, row.department_id, row.user) for row in rows]

    def for_move(self, move: str, incident: Incident):
        if move in DISPATCHER_MOVES:
            role = TIER_DISPATCHER_ROLE[incident.tier]
            holder = incident.holder_area.code
            found = [
                user
                for r, code, _dep, user in self.assignments
                if r == role and holder.startswith(code)
            ]
        elif move in HANDLER_MOVES:
            found = [
                user
                for r, _code, department, user in self.assignments
                if r == Role.DEPARTMENT_HANDLER and department == incident.department_id
            ]
        else:
            found = [
                user
                for r, code, _dep, user in self.assignments
                if r == Role.GRID_INSPECTOR
                and incident.grid_cell_id is not None
                and incident.area_code.startswith(code)
            ]
        return found[0] if found else self.superuser


def _photo() -> CleanPhoto:
    image = Image.new("RGB", (480, 360), (96, 140, 96))
    image.paste((200, 200, 190), (120, 90, 360, 270))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    buffer.name = "demo.jpg"
    return photo_clean(buffer)


def _move_along(incident: Incident, plan: _Report, actors: _Actors, photo: CleanPhoto) -> int:
    """Take one new case along the path to its stage; the number of moves made."""
    made = 0
    now = timezone.now()
    for move in PATHS[plan.stage]:
        at = plan.at + MOVE_AFTER[move]
        if at >= now:
            break
        if move == "escalate" and incident.tier == AreaLevel.CITY:
            break
        arguments = dict(MOVE_ARGUMENTS.get(move, {}))
        if move == "handle":
            arguments["photos"] = [photo]
        function = getattr(workflow, f"incident_{move}")
        incident = function(
            actor=actors.for_move(move, incident),
            incident_id=incident.pk,
            at=at,
            **arguments,
        )
        made += 1
    return made


def casework_demo_seed(
    *,
    city_code: str = "3605",
    cases: int = DEMO_CASES,
    seed: int = 1,
    progress: Progress | None = None,
) -> CaseworkDemoResult:
    """The demo's routing rules, cleaning team and cases (see the module docstring), in one
    transaction; what exists is left alone, so a second run changes nothing."""
    say = progress or (lambda message: None)
    now = timezone.now()
    with transaction.atomic():
        city = _city(city_code)
        district = _first(
            Area.objects.current().subtree(city.code).filter(level=AreaLevel.DISTRICT)
        )
        street = _first(
            Area.objects.current().subtree(district.code).filter(level=AreaLevel.STREET)
        )
        community = _first(
            Area.objects.current().subtree(street.code).filter(level=AreaLevel.COMMUNITY)
        )
        if not Category.objects.filter(scheme=GBT30428).exists():
            fill_categories(django_apps)
        rules = _demo_rules(city, district)
        departments = _demo_departments(community)
        say(
            _("%(rules)d demo routing rules and %(departments)d departments created")
            % {"rules": rules, "departments": departments}
        )
        if Incident.objects.filter(
            external_id__startswith=f"{EXTERNAL_ID_PREFIX}-{city.code}-"
        ).exists():
            say(_("the demo cases are already there; not filing them again"))
            return CaseworkDemoResult(rules=rules, departments=departments, cases=0, moves=0)
        plans = _plan(city=city, district=district, street=street, count=cases, seed=seed, now=now)
        users = get_user_model().objects.in_bulk({plan.actor_id for plan in plans})
        actors = _Actors(city.code)
        photo = _photo()
        created = moves = 0
        for plan in sorted(plans, key=lambda plan: plan.at):
            result = incident_report(
                actor=users[plan.actor_id],
                source=plan.source,
                category=plan.category,
                lon=plan.lon,
                lat=plan.lat,
                description=plan.description,
                facility=plan.facility_id,
                external_id=plan.external_id,
                reporter_name=plan.reporter_name,
                reporter_phone=plan.reporter_phone,
                at=plan.at,
            )
            if result.created:
                created += 1
                moves += _move_along(result.incident, plan, actors, photo)
        say(
            _("%(cases)d demo cases filed and %(moves)d moves made")
            % {"cases": created, "moves": moves}
        )
    return CaseworkDemoResult(rules=rules, departments=departments, cases=created, moves=moves)
