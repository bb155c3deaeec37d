"""The access matrix of the foundation: what each role's scope covers."""

import pytest

from grid.models import AreaLevel, Role
from grid.scope import user_scope
from tests.factories import UserFactory, assign, department

pytestmark = pytest.mark.django_db

# role, the area it is assigned to, areas it must see, areas it must not see
MATRIX = [
    (Role.CITY_MANAGER, "3605", ["3605", "360502", "360521001002003"], []),
    (
        Role.DISTRICT_OFFICER,
        "360502",
        ["360502", "360502001001001"],
        ["3605", "360521", "360521001001001"],
    ),
    (Role.STREET_OFFICER, "360521001", ["360521001", "360521001002004"], ["360521", "360502001"]),
    (
        Role.COMMUNITY_STAFF,
        "360502001002",
        ["360502001002", "360502001002001"],
        ["360502001001", "360502001001004", "360502001"],
    ),
    (
        Role.GRID_INSPECTOR,
        "360502001001003",
        ["360502001001003"],
        ["360502001001004", "360502001001"],
    ),
]


@pytest.mark.parametrize(("role", "assigned", "sees", "hidden"), MATRIX)
def test_each_role_sees_its_subtree_only(square_city, role, assigned, sees, hidden):
    from grid.models import Area

    user = UserFactory()
    assign(user, Area.objects.get(code=assigned), role)
    scope = user_scope(user)
    visible = set(scope.areas().values_list("code", flat=True))
    for code in sees:
        assert code in visible and scope.covers(code)
    for code in hidden:
        assert code not in visible and not scope.covers(code)


def test_department_handler_sees_the_subtree_of_the_department_area(square_city):
    user = UserFactory()
    street = square_city.streets["360521001"]
    dept = department(street, "钤东街道城管科")
    assign(user, street, Role.DEPARTMENT_HANDLER, dept)
    scope = user_scope(user)
    assert scope.covers("360521001001001")
    assert not scope.covers("360502001001001")


def test_several_assignments_union_and_nested_ones_collapse(square_city):
    user = UserFactory()
    assign(user, square_city.cells["360502001001001"], Role.GRID_INSPECTOR)
    assign(user, square_city.cells["360521001002004"], Role.GRID_INSPECTOR)
    assign(user, square_city.communities["360502001001"], Role.COMMUNITY_STAFF)
    scope = user_scope(user)
    assert scope.prefixes == ("360502001001", "360521001002004")
    codes = set(scope.areas().filter(level=AreaLevel.GRID).values_list("code", flat=True))
    assert codes == {
        "360502001001001",
        "360502001001002",
        "360502001001003",
        "360502001001004",
        "360521001002004",
    }


def test_inactive_assignments_and_anonymous_users_see_nothing(square_city):
    from django.contrib.auth.models import AnonymousUser

    user = UserFactory()
    assignment = assign(user, square_city.city, Role.CITY_MANAGER)
    assignment.active = False
    assignment.save(update_fields=["active"])
    assert user_scope(user).is_empty
    assert not user_scope(user).areas().exists()
    assert user_scope(AnonymousUser()).is_empty
    assert user_scope(UserFactory()).is_empty


def test_superuser_sees_everything(square_city):
    admin = UserFactory(is_superuser=True, is_staff=True)
    scope = user_scope(admin)
    assert scope.everything
    assert scope.areas().count() == 1 + 2 + 2 + 4 + 16
