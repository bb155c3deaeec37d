"""The map page and the login page as HTML (the browser tests drive them for real)."""

import json
import re

import pytest
from django.test import override_settings
from django.urls import reverse

from grid.models import Role
from tests.factories import UserFactory, assign

pytestmark = pytest.mark.django_db


def logged_in(client, square_city, *, area_code="3605", role=Role.CITY_MANAGER):
    user = UserFactory()
    if area_code:
        from grid.models import Area

        assign(user, Area.objects.get(code=area_code), role)
    client.force_login(user)
    return client


def leaflet_options(html: str) -> dict:
    match = re.search(r"var djoptions = (\{.*?\}),\n", html)
    assert match, "the page has no django-leaflet map"
    return json.loads(match.group(1))


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(reverse("maps:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=/maps/")


def test_the_map_page_loads_leaflet_from_static_files_only(client, square_city):
    html = logged_in(client, square_city).get(reverse("maps:home")).content.decode()
    assert '<script src="/static/leaflet/leaflet.js">' in html
    assert 'href="/static/leaflet/leaflet.css"' in html
    assert '<script src="/static/maps/areas.js">' in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    config = json.loads(re.search(r'id="map-config"[^>]*>(.*?)</script>', html).group(1))
    assert config["apiUrl"] == reverse("maps:areas-geojson")


def test_without_a_tile_url_the_map_has_no_basemap(client, square_city):
    html = logged_in(client, square_city).get(reverse("maps:home")).content.decode()
    assert leaflet_options(html)["layers"] == []
    assert "no-basemap" in html
    assert "openstreetmap" not in html


@override_settings(
    LEAFLET_CONFIG={
        "TILES": [
            ("basemap", "https://tiles.example.gov.cn/{z}/{x}/{y}.png", {"attribution": "测绘"})
        ]
    }
)
def test_a_configured_tile_layer_is_used(client, square_city):
    html = logged_in(client, square_city).get(reverse("maps:home")).content.decode()
    assert leaflet_options(html)["layers"] == [
        ["basemap", "https://tiles.example.gov.cn/{z}/{x}/{y}.png", {"attribution": "测绘"}]
    ]
    assert "no-basemap" not in html


def test_a_user_without_areas_is_told_so(client, square_city):
    response = logged_in(client, square_city, area_code=None).get(
        reverse("maps:home"), HTTP_ACCEPT_LANGUAGE="en"
    )
    html = response.content.decode()
    assert "You have no assigned areas." in html
    assert "leaflet.js" not in html


def test_the_login_page_is_chinese_by_default_and_english_on_request(client):
    chinese = client.get(reverse("login")).content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert 'name="viewport"' in chinese
    english = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english
    assert "Staff login" in english
    assert 'action="/i18n/setlang/"' in english


def test_a_wrong_password_keeps_the_user_on_the_login_page(client):
    UserFactory(username="officer")
    response = client.post(
        reverse("login"),
        {"username": "officer", "password": "wrong"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Wrong user name or password" in html
    assert 'value="officer"' in html
