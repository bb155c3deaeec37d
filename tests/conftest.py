import pytest
from rest_framework.test import APIClient

from tests.factories import SquareCity, UserFactory

pytest_plugins = [
    "tests.fixtures.city",
    "tests.fixtures.browser",
    "tests.fixtures.calendar",
    "tests.fixtures.community",
    "tests.fixtures.casework",
]


@pytest.fixture
def square_city(db) -> SquareCity:
    return SquareCity().build()


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def logged_in_client(db, api_client):
    user = UserFactory(username="viewer")
    api_client.force_authenticate(user)
    api_client.user = user
    return api_client
