from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from grid.scope import user_scope


def _map_text() -> dict[str, str]:
    """The sentences the map script shows, translated here so the script holds no language."""
    return {
        "myAreas": _("My areas"),
        "areas": _("Areas"),
        "legend": _("Legend"),
        "open": _("Sub-areas ›"),
        "openChildren": _("Show the sub-areas of %(name)s"),
        "zoomTo": _("Zoom to %(name)s"),
        "boundaryOf": _("Boundary of %(name)s"),
        "shownOne": ngettext("%(count)s area shown", "%(count)s areas shown", 1),
        "shownOther": ngettext("%(count)s area shown", "%(count)s areas shown", 2),
        "loadFailed": _("The areas could not be loaded. Please reload the page."),
    }


@login_required
def home(request):
    """The map of the user's areas; the areas themselves come from the GeoJSON endpoint."""
    tiles = settings.LEAFLET_CONFIG.get("TILES", [])
    return render(
        request,
        "maps/home.html",
        {
            "has_areas": not user_scope(request.user).is_empty,
            "has_basemap": bool(tiles),
            # django-leaflet reads its settings once at import; the tiles are passed here so a
            # changed WANGGE_TILE_URL (and a test's override) reaches the page.
            "leaflet_overrides": {"TILES": tiles},
            "map_config": {"apiUrl": reverse("maps:areas-geojson"), "text": _map_text()},
        },
    )
