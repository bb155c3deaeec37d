import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.test import APIClient

from tests.factories import SquareCity, UserFactory

pytest_plugins = [
    "tests.fixtures.city",
    "tests.fixtures.browser",
    "tests.fixtures.calendar",
    "tests.fixtures.community",
    "tests.fixtures.casework",
]


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the system's language: a request in English (LocaleMiddleware
    activates the language of the request in the thread) must not leak into the next test."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


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
