"""Demo department kinds, departments and accounts for a generated city.

Every demo account has the password DEMO_PASSWORD. The accounts, for the demo city 新余市
(3605) — for another city the same places by position (first district, its first street …):

| user | role | area |
|---|---|---|
| admin | superuser | everything |
| city | city manager | the city (3605) |
| district | district officer | the first district (360502 渝水区) |
| district2 | district officer | the second district (360521 分宜县) |
| street | street officer | the first street of the first district (360502001 城南街道) |
| community | community staff | the first community of that street (360502001001) |
| inspector | grid inspector | every grid cell of that community |
| handler | department handler | the first district's 城市管理局 (渝水区城市管理局) |
| reviewer | department handler | that street's 民政办 (城南街道民政办), which reviews forwarded 民政 applications |
| inspector-<community code> | grid inspector | the cells of that community |

The per-community inspectors exist only in small cities (up to COMMUNITY_INSPECTORS_MAX_CELLS
grid cells); one cell in every UNASSIGNED_EVERY-th community is left without an inspector,
so that the coverage check has something to report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _

from grid.errors import NotFound
from grid.models import Area, AreaLevel, Assignment, Department, DepartmentKind, Role
from grid.services.demo_city import CityGenerationResult, city_generate

Progress = Callable[[str], None]

DEMO_PASSWORD = "wangge-demo-2026"

DEPARTMENT_KINDS: tuple[tuple[str, str], ...] = (
    ("chengguan", "城管"),
    ("zhujian", "住建"),
    ("minzheng", "民政"),
    ("huanwei", "环卫"),
    ("shichang", "市场监管"),
    ("shuiwu", "水务"),
    ("yuanlin", "园林绿化"),
    ("jiaotong", "交通运输"),
    ("renshe", "人社"),
    ("yibao", "医保"),
    ("canlian", "残联"),
    ("gongdian", "供电"),
)
# The departments a city and each district have, by kind; {area} is the area's name.
AREA_DEPARTMENTS: dict[str, str] = {
    "chengguan": "{area}城市管理局",
    "zhujian": "{area}住房和城乡建设局",
    "minzheng": "{area}民政局",
    "huanwei": "{area}环境卫生管理所",
    "shichang": "{area}市场监督管理局",
    "shuiwu": "{area}水务局",
    "yuanlin": "{area}园林绿化管理所",
    "jiaotong": "{area}交通运输局",
    "renshe": "{area}人力资源和社会保障局",
    "yibao": "{area}医疗保障局",
    "canlian": "{area}残疾人联合会",
    "gongdian": "国网{area}供电公司",
}
# The departments every street (街道/乡镇) has.
STREET_DEPARTMENTS: dict[str, str] = {
    "chengguan": "{area}城管中队",
    "huanwei": "{area}环卫所",
    "minzheng": "{area}民政办",
    "shichang": "{area}市场监管所",
}

ADMIN = "admin"
CITY_MANAGER = "city"
DISTRICT_OFFICER = "district"
SECOND_DISTRICT_OFFICER = "district2"
STREET_OFFICER = "street"
COMMUNITY_STAFF = "community"
GRID_INSPECTOR = "inspector"
DEPARTMENT_HANDLER = "handler"
REVIEWER = "reviewer"
DEMO_USERNAMES = (
    ADMIN,
    CITY_MANAGER,
    DISTRICT_OFFICER,
    SECOND_DISTRICT_OFFICER,
    STREET_OFFICER,
    COMMUNITY_STAFF,
    GRID_INSPECTOR,
    DEPARTMENT_HANDLER,
    REVIEWER,
)
COMMUNITY_INSPECTOR_PREFIX = "inspector-"
COMMUNITY_INSPECTORS_MAX_CELLS = 10_000
UNASSIGNED_EVERY = 40


def community_inspector_username(community_code: str) -> str:
    return f"{COMMUNITY_INSPECTOR_PREFIX}{community_code}"


@dataclass(frozen=True)
class DemoPeopleResult:
    kinds_created: int
    departments_created: int
    users_created: int
    assignments_created: int

    @property
    def created_anything(self) -> bool:
        return bool(
            self.kinds_created
            or self.departments_created
            or self.users_created
            or self.assignments_created
        )


@dataclass(frozen=True)
class DemoSeedResult:
    generated: CityGenerationResult | None  # None: the city was already there
    people: DemoPeopleResult

    @property
    def created_anything(self) -> bool:
        return self.generated is not None or self.people.created_anything


def department_kinds_seed() -> int:
    """Create the demo department kinds that are missing; the number created."""
    existing = set(DepartmentKind.objects.values_list("code", flat=True))
    missing = [
        DepartmentKind(code=code, name=name)
        for code, name in DEPARTMENT_KINDS
        if code not in existing
    ]
    DepartmentKind.objects.bulk_create(missing)
    return len(missing)


def _current_city(city_code: str) -> Area:
    city = Area.objects.current().filter(code=city_code, level=AreaLevel.CITY).first()
    if city is None:
        raise NotFound(
            _("city %(code)s does not exist; generate it first") % {"code": city_code},
            details={"city_code": city_code},
        )
    return city


def departments_seed(*, city_code: str) -> int:
    """Create the demo departments missing on the city, its districts and its streets; the
    number created."""
    city = _current_city(city_code)
    kinds = {kind.code: kind for kind in DepartmentKind.objects.filter(code__in=AREA_DEPARTMENTS)}
    areas = list(
        Area.objects.current()
        .subtree(city.code)
        .filter(level__in=[AreaLevel.CITY, AreaLevel.DISTRICT, AreaLevel.STREET])
        .order_by("code")
    )
    existing = set(Department.objects.filter(area__in=areas).values_list("area_id", "name"))
    missing = []
    for area in areas:
        templates = STREET_DEPARTMENTS if area.level == AreaLevel.STREET else AREA_DEPARTMENTS
        for kind_code, template in templates.items():
            name = template.format(area=area.name)
            if kind_code in kinds and (area.id, name) not in existing:
                missing.append(Department(name=name, kind=kinds[kind_code], area=area))
    Department.objects.bulk_create(missing)
    return len(missing)


@dataclass(frozen=True)
class _Account:
    username: str
    superuser: bool = False


def _first(queryset):
    return queryset.order_by("code").first()


def _wanted_accounts(
    city: Area, community_inspectors: bool
) -> tuple[list[_Account], list[tuple[str, int, str, int | None]]]:
    """The demo accounts of `city` and their assignments (username, area id, role,
    department id)."""
    current = Area.objects.current()
    districts = list(current.subtree(city.code).filter(level=AreaLevel.DISTRICT).order_by("code"))
    district = districts[0]
    street = _first(current.subtree(district.code).filter(level=AreaLevel.STREET))
    community = _first(current.subtree(street.code).filter(level=AreaLevel.COMMUNITY))
    handler_department = Department.objects.get(
        area=district, name=AREA_DEPARTMENTS["chengguan"].format(area=district.name)
    )
    cells = list(
        current.subtree(city.code)
        .filter(level=AreaLevel.GRID)
        .order_by("code")
        .values_list("id", "parent_id")
    )
    cells_of: dict[int, list[int]] = {}
    for cell_id, community_id in cells:
        cells_of.setdefault(community_id, []).append(cell_id)

    accounts = [_Account(ADMIN, superuser=True)]
    assignments: list[tuple[str, int, str, int | None]] = []

    def add(username: str, area_ids: list[int], role: str, department: int | None = None):
        accounts.append(_Account(username))
        assignments.extend((username, area_id, role, department) for area_id in area_ids)

    add(CITY_MANAGER, [city.id], Role.CITY_MANAGER)
    add(DISTRICT_OFFICER, [district.id], Role.DISTRICT_OFFICER)
    if len(districts) > 1:
        add(SECOND_DISTRICT_OFFICER, [districts[1].id], Role.DISTRICT_OFFICER)
    add(STREET_OFFICER, [street.id], Role.STREET_OFFICER)
    add(COMMUNITY_STAFF, [community.id], Role.COMMUNITY_STAFF)
    add(GRID_INSPECTOR, cells_of.get(community.id, []), Role.GRID_INSPECTOR)
    add(DEPARTMENT_HANDLER, [district.id], Role.DEPARTMENT_HANDLER, handler_department.id)
    reviewer_department = Department.objects.get(
        area=street, name=STREET_DEPARTMENTS["minzheng"].format(area=street.name)
    )
    add(REVIEWER, [street.id], Role.DEPARTMENT_HANDLER, reviewer_department.id)
    if community_inspectors:
        others = (
            current.subtree(city.code)
            .filter(level=AreaLevel.COMMUNITY)
            .exclude(pk=community.pk)
            .order_by("code")
            .values_list("id", "code")
        )
        for index, (community_id, code) in enumerate(others):
            community_cells = cells_of.get(community_id, [])
            if index % UNASSIGNED_EVERY == 0 and len(community_cells) > 1:
                community_cells = community_cells[:-1]
            add(community_inspector_username(code), community_cells, Role.GRID_INSPECTOR)
    return accounts, assignments


def demo_people_seed(
    *,
    city_code: str = "3605",
    community_inspectors: bool | None = None,
    progress: Progress | None = None,
) -> DemoPeopleResult:
    """Create what is missing of the demo department kinds, departments, accounts and
    assignments of a generated city, in one transaction; a second run creates nothing.
    `community_inspectors` (default: only for small cities) adds an inspector for the cells
    of every other community. New accounts get DEMO_PASSWORD; existing ones are left as they
    are."""
    say = progress or (lambda message: None)
    with transaction.atomic():
        city = _current_city(city_code)
        kinds_created = department_kinds_seed()
        departments_created = departments_seed(city_code=city_code)
        say(
            _("%(kinds)d department kinds and %(departments)d departments created")
            % {"kinds": kinds_created, "departments": departments_created}
        )
        if community_inspectors is None:
            cells = Area.objects.current().subtree(city_code).filter(level=AreaLevel.GRID).count()
            community_inspectors = cells <= COMMUNITY_INSPECTORS_MAX_CELLS
        accounts, assignments = _wanted_accounts(city, community_inspectors)

        User = get_user_model()
        existing = set(
            User.objects.filter(username__in=[a.username for a in accounts]).values_list(
                "username", flat=True
            )
        )
        # One hash for all new accounts: hashing is deliberately slow, and these accounts
        # share one published password anyway.
        password = make_password(DEMO_PASSWORD)
        new_users = [
            User(
                username=account.username,
                password=password,
                is_superuser=account.superuser,
                is_staff=account.superuser,
            )
            for account in accounts
            if account.username not in existing
        ]
        User.objects.bulk_create(new_users)
        user_ids = dict(
            User.objects.filter(username__in=[a.username for a in accounts]).values_list(
                "username", "id"
            )
        )
        have = set(
            Assignment.objects.filter(user_id__in=user_ids.values()).values_list(
                "user_id", "area_id", "role", "department_id"
            )
        )
        new_assignments = [
            Assignment(
                user_id=user_ids[username], area_id=area_id, role=role, department_id=department
            )
            for username, area_id, role, department in assignments
            if (user_ids[username], area_id, role, department) not in have
        ]
        Assignment.objects.bulk_create(new_assignments)
        say(
            _("%(users)d demo accounts and %(assignments)d assignments created")
            % {"users": len(new_users), "assignments": len(new_assignments)}
        )
    return DemoPeopleResult(
        kinds_created=kinds_created,
        departments_created=departments_created,
        users_created=len(new_users),
        assignments_created=len(new_assignments),
    )


def demo_seed(
    *,
    city_code: str = "3605",
    scale: str = "small",
    seed: int = 1,
    progress: Progress | None = None,
) -> DemoSeedResult:
    """The demo, once: generate the city unless it is there, then add what is missing of its
    departments and accounts. Running it again changes nothing."""
    say = progress or (lambda message: None)
    with transaction.atomic():
        city = Area.objects.current().filter(code=city_code, level=AreaLevel.CITY).first()
        if city is None:
            generated = city_generate(city_code=city_code, scale=scale, seed=seed, progress=say)
        else:
            generated = None
            say(
                _("city %(code)s %(name)s is already there; not generating it")
                % {"code": city.code, "name": city.name}
            )
        people = demo_people_seed(city_code=city_code, progress=say)
    return DemoSeedResult(generated=generated, people=people)
