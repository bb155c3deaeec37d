"""The admin's Area page shows the boundary on django-leaflet's map widget, in Chromium."""

import json

import pytest

from grid.models import Area
from tests.factories import SquareCity, UserFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_area_change_page_draws_the_boundary_on_the_map_widget(page, live_server, browser_log):
    SquareCity().build()
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    area = Area.objects.get(code="360502001001")
    change_url = f"/admin/grid/area/{area.pk}/change/"

    login(page, live_server, "admin", "pass-word-123", next_url=change_url)
    assert page.url == live_server.url + change_url

    widget = "#id_boundary-div-map"
    page.wait_for_selector(f"{widget} .leaflet-container")
    shape = page.wait_for_selector(f"{widget} path.leaflet-interactive")
    box = shape.bounding_box()
    assert box["width"] > 20 and box["height"] > 20

    stored = json.loads(page.input_value("textarea#id_boundary"))
    assert stored["type"] == "MultiPolygon"
    x0, y0, x1, y1 = (round(value, 6) for value in area.boundary.extent)
    corners = {(round(x, 6), round(y, 6)) for x, y in stored["coordinates"][0][0]}
    assert corners == {(x0, y0), (x1, y0), (x1, y1), (x0, y1)}

    # The drawing tools of the widget are there, so the boundary can be edited.
    assert page.locator(f"{widget} .leaflet-draw").count() == 1
    browser_log.assert_all_local()
    paths = browser_log.local_paths()
    assert "/static/leaflet/leaflet.js" in paths
    assert "/static/leaflet/draw/leaflet.draw.js" in paths
