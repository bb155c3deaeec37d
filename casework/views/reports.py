"""The report form (/casework/report): an inspector on a phone reports what they see — the
place (device location, a click on the map, or typed longitude and latitude), the category
(major → minor class, searchable), the facility for a component, photos from the camera or
the gallery, and a description — through casework.services.report.incident_report.

Everything but the map works without JavaScript: the place is then typed, and nearby
facilities are found with a button that sends the form back. Each form carries its own
external id, so a report sent twice (a double tap, a resent form) is one case.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from grid.errors import DomainError

from ..selectors import cases as selectors
from ..services.report import incident_report
from .cases import map_settings

PLACE_MISSING = gettext_lazy(
    "Pick the place: use this device's location, tap the map, or type the longitude and latitude."
)


class PlaceForm(forms.Form):
    category = forms.TypedChoiceField(
        label=gettext_lazy("Category"),
        coerce=int,
        error_messages={"required": gettext_lazy("Pick a category.")},
    )
    lon = forms.FloatField(
        label=gettext_lazy("Longitude"),
        min_value=-180,
        max_value=180,
        error_messages={"required": PLACE_MISSING},
    )
    lat = forms.FloatField(
        label=gettext_lazy("Latitude"),
        min_value=-90,
        max_value=90,
        error_messages={"required": PLACE_MISSING},
    )

    def __init__(self, *args, category_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices


class ReportForm(PlaceForm):
    description = forms.CharField(
        label=gettext_lazy("What is wrong"),
        max_length=4000,
        error_messages={"required": gettext_lazy("Say in a few words what is wrong.")},
    )
    address = forms.CharField(
        label=gettext_lazy("Address or landmark"), max_length=200, required=False
    )
    facility = forms.IntegerField(label=gettext_lazy("Facility"), required=False)
    external_id = forms.CharField(max_length=80, required=False)


def _text() -> dict[str, str]:
    """The sentences the report script shows, translated here so the script holds no language."""
    return {
        "locating": _("Finding this device's location…"),
        "located": _("Location from this device (± %(accuracy)s m)."),
        "noGeolocation": _("This device cannot give its location: tap the map instead."),
        "geolocationFailed": _(
            "The location could not be found (%(reason)s): tap the map instead."
        ),
        "picked": _("Place picked on the map."),
        "noFacilities": _("No facility of this class within 100 m in your areas."),
        "facilitiesFailed": _("Nearby facilities could not be loaded."),
        "noneFacility": _("None of these / not listed"),
        "metres": _("%(distance)s m"),
        "noMatch": _("No category matches “%(q)s”."),
        "photosChosen": _("%(count)s photo(s) chosen."),
    }


def _render(request, *, form, facilities=None, facility_error="", status=200):
    tree = selectors.category_tree()
    chosen = form["category"].value()
    return render(
        request,
        "casework/report.html",
        {
            "form": form,
            "tree": tree,
            "chosen_category": str(chosen or ""),
            "facilities": facilities,
            "facility_error": facility_error,
            "map_areas": selectors.report_map_areas(user=request.user),
            "report_config": {
                "facilitiesUrl": reverse("casework-api:facilities-near"),
                "text": _text(),
            },
            **map_settings(),
        },
        status=status,
    )


def _category_choices() -> list[tuple[int, str]]:
    return [
        (category.pk, f"{category.code} {category.name}") for category in selectors.category_list()
    ]


@login_required
def report_page(request):
    choices = _category_choices()
    if request.method != "POST":
        form = ReportForm(
            category_choices=choices,
            initial={
                "external_id": f"web-{uuid.uuid4().hex}",
                "category": request.GET.get("category"),
            },
        )
        return _render(request, form=form)

    if request.POST.get("action") == "facilities":
        return _facilities(request, choices)

    form = ReportForm(request.POST, category_choices=choices)
    if not form.is_valid():
        return _render(request, form=form, status=422)
    data = form.cleaned_data
    try:
        result = incident_report(
            actor=request.user,
            source=selectors.default_source(user=request.user),
            category=data["category"],
            lon=data["lon"],
            lat=data["lat"],
            description=data["description"],
            address=data["address"],
            facility=data["facility"],
            photos=request.FILES.getlist("photos"),
            external_id=data["external_id"] or None,
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _render(request, form=form, status=exc.status)
    incident = result.incident
    visible_duplicates = selectors.case_rows(
        user=request.user, ids=[other.pk for other in result.duplicates]
    )
    if result.created:
        messages.success(request, _("Case %(number)s reported.") % {"number": incident.number})
    else:
        messages.info(
            request,
            _("This report was already sent: case %(number)s.") % {"number": incident.number},
        )
    if visible_duplicates:
        messages.warning(
            request,
            ngettext(
                "%(count)s open case of this category nearby may be the same problem: see "
                "“Likely duplicates”.",
                "%(count)s open cases of this category nearby may be the same problem: see "
                "“Likely duplicates”.",
                len(visible_duplicates),
            )
            % {"count": len(visible_duplicates)},
        )
    return redirect("casework:case", number=incident.number)


def _facilities(request, choices):
    """The no-script way to the facilities near the point: the form comes back with them."""
    place = PlaceForm(request.POST, category_choices=choices)
    form = ReportForm(initial=request.POST.dict(), category_choices=choices)
    if not place.is_valid():
        message = " ".join(str(error) for errors in place.errors.values() for error in errors)
        return _render(request, form=form, facility_error=message, status=422)
    try:
        facilities = list(
            selectors.case_facilities_near(
                user=request.user,
                lon=place.cleaned_data["lon"],
                lat=place.cleaned_data["lat"],
                category=selectors.category_get(category_id=place.cleaned_data["category"]),
            )
        )
    except DomainError as exc:
        return _render(request, form=form, facility_error=exc.message, status=exc.status)
    return _render(request, form=form, facilities=facilities)


urlpatterns = [path("report/", report_page, name="report")]
