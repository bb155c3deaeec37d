"""The category catalogue of DOMAIN.md §2 as data: component (部件) and event (事件) classes
with the tier and department kind that handle them by default, their step deadlines and their
duplicate window. Seeded by migration 0002; administrators adjust everything in the admin.

Codes and names: the 4-digit GB/T 30428 classes are DOMAIN.md's sample minor classes
([partly]: one public source; local lists renumber and extend them). The six major classes of
each kind are all present: major class 06 has no minor class in the sources, so it gets one
catch-all minor class 99 (其他部件 / 其他事件), a local extension in the usual "99 = other"
manner, not a sourced code. The few 5-digit GB/T 47678.5 rows (2 major + 3 minor digits) show
both schemes side by side; their structure is [partly] sourced, the numbers are not (the
4-digit minor number padded to three digits, as community's facility categories do).

Defaults (unchecked reconstructions, chosen to be plausible, meant to be corrected locally):
- tier: street-cleanliness events (暴露垃圾, 积存垃圾渣土, 道路不洁, 绿地脏乱, 非法小广告) go to
  the community; most events and the street furniture a street's 城管中队/环卫所 looks after go
  to the street; utilities, roads, greenery and urgent events (路面塌陷, 自来水管破裂, 燃气管道
  破裂, 工地扬尘) to the district, where the specialist departments sit;
- department kind: the grid.DepartmentKind codes of the demo (grid.services.demo_people);
- deadlines: register and dispatch 1 working hour (urgent 突发事件 half an hour), verify 1
  working day; handling in working hours for urgent and street-order events, in working days
  for facilities;
- duplicates: a fixed facility is reported again within tens of metres over a week; a pile
  of rubbish within 30 m the same day; a road collapse or a gas leak draws reports from a
  wider circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from grid.models import AreaLevel

GBT30428 = "GB/T 30428"
GBT47678 = "GB/T 47678.5"

COMPONENT = "component"
EVENT = "event"

HOURS = "hours"
DAYS = "days"

COMMUNITY = int(AreaLevel.COMMUNITY)
STREET = int(AreaLevel.STREET)
DISTRICT = int(AreaLevel.DISTRICT)

MAJOR_CLASSES = {
    COMPONENT: {
        "01": "公用设施",
        "02": "道路交通",
        "03": "市容环境",
        "04": "园林绿化",
        "05": "房屋土地",
        "06": "其他设施",
    },
    EVENT: {
        "01": "市容环境",
        "02": "宣传广告",
        "03": "施工管理",
        "04": "突发事件",
        "05": "街面秩序",
        "06": "其他",
    },
}

# The department kinds the catalogue names (created when missing; same codes and names as
# the demo's list, so the demo's departments resolve them).
DEPARTMENT_KIND_NAMES = {
    "chengguan": "城管",
    "zhujian": "住建",
    "minzheng": "民政",
    "huanwei": "环卫",
    "shuiwu": "水务",
    "yuanlin": "园林绿化",
    "jiaotong": "交通运输",
    "gongdian": "供电",
}


@dataclass(frozen=True)
class CategorySeed:
    kind: str
    scheme: str
    code: str
    name: str
    tier: int
    department_kind: str
    handle: tuple[str, str]  # (amount, unit)
    radius_m: int
    window_hours: int
    urgent: bool = False

    def deadlines(self) -> dict[str, tuple[Decimal, str]]:
        quick = Decimal("0.5") if self.urgent else Decimal(1)
        return {
            "register": (quick, HOURS),
            "dispatch": (quick, HOURS),
            "handle": (Decimal(self.handle[0]), self.handle[1]),
            "verify": (Decimal(1), DAYS),
        }


def _component(code, name, tier, kind, days, radius_m=20, scheme=GBT30428):
    return CategorySeed(COMPONENT, scheme, code, name, tier, kind, (days, DAYS), radius_m, 168)


def _event(code, name, tier, kind, handle, radius_m, window_hours, scheme=GBT30428, urgent=False):
    return CategorySeed(
        EVENT, scheme, code, name, tier, kind, handle, radius_m, window_hours, urgent
    )


CATEGORIES: tuple[CategorySeed, ...] = (
    # 部件 — components, handled in working days
    _component("0101", "上水井盖", DISTRICT, "shuiwu", "1"),
    _component("0102", "污水井盖", DISTRICT, "shuiwu", "1"),
    _component("0103", "雨水井盖", DISTRICT, "shuiwu", "1"),
    _component("0104", "雨水箅子", DISTRICT, "shuiwu", "2"),
    _component("0105", "电力井盖", DISTRICT, "gongdian", "1"),
    _component("0117", "电杆", DISTRICT, "gongdian", "3"),
    _component("0118", "路灯", DISTRICT, "chengguan", "3"),
    _component("0203", "公交站亭", DISTRICT, "jiaotong", "5", radius_m=30),
    _component("0205", "过街天桥", DISTRICT, "zhujian", "10", radius_m=50),
    _component("0209", "交通标志牌", DISTRICT, "jiaotong", "5"),
    _component("0213", "路名牌", DISTRICT, "minzheng", "10"),
    _component("0301", "公共厕所", STREET, "huanwei", "2", radius_m=30),
    _component("0305", "垃圾箱", STREET, "huanwei", "2"),
    _component("0307", "广告牌匾", STREET, "chengguan", "5"),
    _component("0401", "古树名木", DISTRICT, "yuanlin", "5", radius_m=30),
    _component("0402", "行道树", DISTRICT, "yuanlin", "3"),
    _component("0405", "绿地", DISTRICT, "yuanlin", "5", radius_m=50),
    _component("0407", "街头座椅", DISTRICT, "yuanlin", "5"),
    _component("0501", "宣传栏", STREET, "chengguan", "5"),
    _component("0699", "其他部件", STREET, "chengguan", "5", radius_m=30),
    # 事件 — events
    _event("0101", "私搭乱建", STREET, "chengguan", ("10", DAYS), 50, 720),
    _event("0102", "暴露垃圾", COMMUNITY, "huanwei", ("4", HOURS), 30, 24),
    _event("0103", "积存垃圾渣土", COMMUNITY, "huanwei", ("1", DAYS), 30, 48),
    _event("0104", "道路不洁", COMMUNITY, "huanwei", ("4", HOURS), 50, 24),
    _event("0106", "绿地脏乱", COMMUNITY, "huanwei", ("1", DAYS), 50, 48),
    _event("0107", "废弃车辆", STREET, "chengguan", ("5", DAYS), 30, 720),
    _event("0201", "非法小广告", COMMUNITY, "chengguan", ("1", DAYS), 30, 72),
    _event("0203", "占道广告牌", STREET, "chengguan", ("3", DAYS), 30, 168),
    _event("0301", "施工扰民", STREET, "chengguan", ("4", HOURS), 100, 24),
    _event("0302", "工地扬尘", DISTRICT, "zhujian", ("1", DAYS), 200, 72),
    _event("0304", "道路遗撒", STREET, "chengguan", ("4", HOURS), 100, 24),
    _event("0401", "路面塌陷", DISTRICT, "zhujian", ("4", HOURS), 100, 24, urgent=True),
    _event("0402", "自来水管破裂", DISTRICT, "shuiwu", ("4", HOURS), 100, 24, urgent=True),
    _event("0403", "燃气管道破裂", DISTRICT, "zhujian", ("2", HOURS), 200, 24, urgent=True),
    _event("0501", "无照经营游商", STREET, "chengguan", ("1", DAYS), 50, 24),
    _event("0504", "店外经营", STREET, "chengguan", ("1", DAYS), 30, 72),
    _event("0505", "机动车乱停放", STREET, "chengguan", ("4", HOURS), 30, 24),
    _event("0699", "其他事件", STREET, "chengguan", ("5", DAYS), 50, 72),
    # GB/T 47678.5 — a few 5-digit classes beside their 4-digit counterparts (numbers unchecked)
    _component("01001", "上水井盖", DISTRICT, "shuiwu", "1", scheme=GBT47678),
    _component("01018", "路灯", DISTRICT, "chengguan", "3", scheme=GBT47678),
    _component("03005", "垃圾箱", STREET, "huanwei", "2", scheme=GBT47678),
    _event("01002", "暴露垃圾", COMMUNITY, "huanwei", ("4", HOURS), 30, 24, scheme=GBT47678),
    _event(
        "04001",
        "路面塌陷",
        DISTRICT,
        "zhujian",
        ("4", HOURS),
        100,
        24,
        scheme=GBT47678,
        urgent=True,
    ),
    _event(
        "04003",
        "燃气管道破裂",
        DISTRICT,
        "zhujian",
        ("2", HOURS),
        200,
        24,
        scheme=GBT47678,
        urgent=True,
    ),
)

# Named groups routing rules can refer to: (name, [(kind, scheme, code), …]).
GROUPS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "井盖",
        tuple(
            (COMPONENT, scheme, code)
            for scheme, code in (
                (GBT30428, "0101"),
                (GBT30428, "0102"),
                (GBT30428, "0103"),
                (GBT30428, "0105"),
                (GBT47678, "01001"),
            )
        ),
    ),
    (
        "市容环境卫生",
        tuple(
            (EVENT, scheme, code)
            for scheme, code in (
                (GBT30428, "0102"),
                (GBT30428, "0103"),
                (GBT30428, "0104"),
                (GBT30428, "0106"),
                (GBT47678, "01002"),
            )
        ),
    ),
)


def fill_categories(apps) -> int:
    """Create what is missing of the catalogue: department kinds, categories (linked to the
    facility category of the same scheme and code where one exists), their step deadlines
    and the groups. Rows that exist are left as administrators changed them. `apps` is the
    app registry (a migration's historical one, or django.apps.apps). Returns the number of
    categories created."""
    Category = apps.get_model("casework", "Category")
    CategoryDeadline = apps.get_model("casework", "CategoryDeadline")
    CategoryGroup = apps.get_model("casework", "CategoryGroup")
    FacilityCategory = apps.get_model("community", "FacilityCategory")
    DepartmentKind = apps.get_model("grid", "DepartmentKind")

    kinds = {}
    for code, name in DEPARTMENT_KIND_NAMES.items():
        kinds[code], _created = DepartmentKind.objects.get_or_create(
            code=code, defaults={"name": name}
        )
    facility_categories = {(row.scheme, row.code): row for row in FacilityCategory.objects.all()}
    created = 0
    categories = {}
    for seed in CATEGORIES:
        category, was_created = Category.objects.get_or_create(
            kind=seed.kind,
            scheme=seed.scheme,
            code=seed.code,
            defaults={
                "major_code": seed.code[:2],
                "major_name": MAJOR_CLASSES[seed.kind][seed.code[:2]],
                "name": seed.name,
                "facility_category": (
                    facility_categories.get((seed.scheme, seed.code))
                    if seed.kind == COMPONENT
                    else None
                ),
                "default_tier": seed.tier,
                "department_kind": kinds[seed.department_kind],
                "duplicate_radius_m": seed.radius_m,
                "duplicate_window_hours": seed.window_hours,
            },
        )
        categories[(seed.kind, seed.scheme, seed.code)] = category
        if was_created:
            created += 1
            CategoryDeadline.objects.bulk_create(
                CategoryDeadline(category=category, step=step, amount=amount, unit=unit)
                for step, (amount, unit) in seed.deadlines().items()
            )
    for name, members in GROUPS:
        group, was_created = CategoryGroup.objects.get_or_create(name=name)
        if was_created:
            group.categories.set([categories[member] for member in members])
    return created
