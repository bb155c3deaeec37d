"""Demo departments and accounts, demo_seed and demo_info."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.utils import translation

from grid.errors import NotFound
from grid.models import Area, AreaLevel, Assignment, Department, DepartmentKind, Role
from grid.scope import user_scope
from grid.services.demo_people import (
    DEMO_PASSWORD,
    DEMO_USERNAMES,
    DEPARTMENT_KINDS,
    demo_people_seed,
)


def table_counts() -> dict[str, int]:
    return {
        "areas": Area.objects.count(),
        "kinds": DepartmentKind.objects.count(),
        "departments": Department.objects.count(),
        "users": get_user_model().objects.count(),
        "assignments": Assignment.objects.count(),
    }


@pytest.mark.django_db
def test_demo_seed_generates_everything_once_and_then_changes_nothing():
    first, second = StringIO(), StringIO()
    with translation.override("en"):
        call_command("demo_seed", stdout=first)
        after_first = table_counts()
        call_command("demo_seed", stdout=second)
    assert "planning 新余市 (3605)" in first.getvalue()
    assert "demo data ready" in first.getvalue()
    assert Area.objects.current().filter(code="3605", level=AreaLevel.CITY).exists()
    assert 2_700 <= Area.objects.current().subtree("3605").cells().count() <= 3_300
    assert after_first["users"] >= len(DEMO_USERNAMES) + 100
    assert "already there" in second.getvalue()
    assert "nothing changed" in second.getvalue()
    assert "planning" not in second.getvalue()
    assert table_counts() == after_first


def test_seed_on_an_existing_city_adds_people_once(demo_city):
    before = table_counts()
    # the casework category catalogue's migration may have created some kinds already
    missing_kinds = (
        len(DEPARTMENT_KINDS)
        - DepartmentKind.objects.filter(code__in=[code for code, _name in DEPARTMENT_KINDS]).count()
    )
    result = demo_people_seed(city_code="3605")
    assert result.created_anything
    assert result.kinds_created == missing_kinds
    assert DepartmentKind.objects.filter(code__in=[c for c, _n in DEPARTMENT_KINDS]).count() == len(
        DEPARTMENT_KINDS
    )
    after = table_counts()
    assert after["areas"] == before["areas"]
    again = demo_people_seed(city_code="3605")
    assert not again.created_anything
    assert table_counts() == after


@pytest.mark.django_db
def test_people_need_the_city():
    with translation.override("en"), pytest.raises(NotFound, match="3605 does not exist"):
        demo_people_seed(city_code="3605")


def test_every_role_has_a_demo_user_with_an_assignment(demo_people):
    roles = set(Assignment.objects.active().values_list("role", flat=True))
    assert roles == set(Role.values)
    expected = {
        "city": (Role.CITY_MANAGER, {"3605"}),
        "district": (Role.DISTRICT_OFFICER, {"360502"}),
        "district2": (Role.DISTRICT_OFFICER, {"360521"}),
        "street": (Role.STREET_OFFICER, {"360502001"}),
        "community": (Role.COMMUNITY_STAFF, {"360502001001"}),
        "handler": (Role.DEPARTMENT_HANDLER, {"360502"}),
    }
    for username, (role, codes) in expected.items():
        user = demo_people.user(username)
        assignments = Assignment.objects.filter(user=user)
        assert set(assignments.values_list("role", flat=True)) == {role}, username
        assert set(assignments.values_list("area__code", flat=True)) == codes, username
    handler = Assignment.objects.get(user__username="handler")
    assert handler.department.name == "渝水区城市管理局"
    assert handler.department.kind.code == "chengguan"

    inspector_cells = set(
        Assignment.objects.filter(user__username="inspector").values_list("area__code", flat=True)
    )
    community_cells = set(
        Area.objects.current().subtree("360502001001").cells().values_list("code", flat=True)
    )
    assert inspector_cells == community_cells and len(community_cells) >= 3
    assert set(
        Assignment.objects.filter(user__username="inspector").values_list("role", flat=True)
    ) == {Role.GRID_INSPECTOR}

    admin = demo_people.user("admin")
    assert admin.is_superuser and admin.is_staff
    assert not Assignment.objects.filter(user=admin).exists()


def test_demo_accounts_log_in_with_the_documented_password_and_see_their_area(demo_people):
    for username in DEMO_USERNAMES:
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username
    assert authenticate(username="district", password="wrong") is None
    assert user_scope(demo_people.user("district")).prefixes == ("360502",)
    assert user_scope(demo_people.user("district2")).prefixes == ("360521",)
    assert user_scope(demo_people.user("city")).prefixes == ("3605",)
    assert user_scope(demo_people.user("admin")).everything


def test_most_cells_have_an_inspector_and_a_handful_do_not(demo_people):
    cells = Area.objects.current().subtree("3605").cells()
    covered = cells.filter(assignments__role=Role.GRID_INSPECTOR, assignments__active=True)
    uncovered = cells.exclude(pk__in=covered.values("pk"))
    assert 1 <= uncovered.count() <= 10
    assert covered.distinct().count() == cells.count() - uncovered.count()
    # One inspector per community, named after it.
    communities = Area.objects.current().subtree("3605").filter(level=AreaLevel.COMMUNITY)
    for community in communities.exclude(code="360502001001")[:20]:
        user = demo_people.user(f"inspector-{community.code}")
        assigned = set(user.assignments.values_list("area__parent__code", flat=True))
        assert assigned == {community.code}
    assert (
        get_user_model().objects.filter(username__startswith="inspector-").count()
        == communities.count() - 1
    )


def test_departments_sit_on_the_city_districts_and_streets(demo_people):
    assert set(DepartmentKind.objects.values_list("code", flat=True)) >= {
        "chengguan",
        "zhujian",
        "minzheng",
        "huanwei",
        "shichang",
    }
    yushui = Department.objects.filter(area__code="360502")
    assert yushui.count() == len(DEPARTMENT_KINDS)
    assert yushui.filter(name="渝水区城市管理局", kind__code="chengguan").exists()
    assert Department.objects.filter(area__code="360521", name="分宜县城市管理局").exists()
    assert Department.objects.filter(area__code="3605", name="新余市城市管理局").exists()
    chengnan = Department.objects.filter(area__code="360502001")
    assert chengnan.filter(name="城南街道城管中队", kind__code="chengguan").exists()
    streets = Area.objects.current().subtree("3605").filter(level=AreaLevel.STREET).count()
    assert (
        Department.objects.filter(area__level=AreaLevel.STREET, kind__code="chengguan").count()
        == streets
    )


def test_demo_info_prints_the_url_and_the_logins(demo_people):
    out = StringIO()
    with translation.override("en"):
        call_command("demo_info", "--url", "http://127.0.0.1:8123/", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8123/" in text
    lines = {line.split()[0]: line for line in text.splitlines()[2:] if line.strip()}
    for username in DEMO_USERNAMES:
        assert username in lines, username
        assert lines[username].rstrip().endswith(DEMO_PASSWORD)
    assert "city manager" in lines["city"] and "3605 新余市" in lines["city"]
    assert "district officer" in lines["district2"] and "360521 分宜县" in lines["district2"]
    assert "street officer" in lines["street"] and "360502001 城南街道" in lines["street"]
    assert "grid inspector" in lines["inspector"] and "360502001001" in lines["inspector"]
    assert "渝水区城市管理局" in lines["handler"]
    assert "administrator" in lines["admin"]
    assert "inspector-360502001002" in text


def test_demo_info_marks_a_changed_password(demo_people):
    user = demo_people.user("street")
    user.set_password("something-else-2026")
    user.save(update_fields=["password"])
    out = StringIO()
    with translation.override("en"):
        call_command("demo_info", stdout=out)
    street_line = next(
        line for line in out.getvalue().splitlines() if line.split()[:1] == ["street"]
    )
    assert "(changed)" in street_line and DEMO_PASSWORD not in street_line


@pytest.mark.django_db
def test_demo_info_without_demo_accounts_says_how_to_make_them():
    out = StringIO()
    with translation.override("en"):
        call_command("demo_info", "--url", "http://localhost:9000/", stdout=out)
    assert "http://localhost:9000/" in out.getvalue()
    assert "demo_seed" in out.getvalue()
