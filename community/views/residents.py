"""Counter pages for residents: find (by name, or by full ID number typed into a POST form so
that it never appears in a URL), register, the resident's page with the audited "show full
number" action, and the household page. Every page shows masked numbers only, except the
answer to a reveal, which is never cached."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import Area, AreaLevel

from ..models import PersonalField
from ..selectors.residents import (
    care_tag_list,
    household_get,
    household_members,
    keeper_scope,
    resident_find_by_id_number,
    resident_get,
    resident_list,
    user_may_keep_residents,
    user_may_reveal,
)
from ..services.residents import resident_register, resident_reveal

PAGE_SIZE = 25
# Purposes offered with the reveal form; staff may type any other.
REVEAL_PURPOSES = (
    gettext_lazy("Verify identity for an application at the counter"),
    gettext_lazy("Fill in an application form for the resident"),
    gettext_lazy("Home visit or care follow-up"),
    gettext_lazy("Correct the resident's record"),
)
# Service fields → form fields, where the names differ.
FIELD_FOR_ERROR = {"location": "lon"}


def _not_found(error: NotFound) -> Http404:
    return Http404(error.message)


# --- find -----------------------------------------------------------------------------------


class ResidentIdLookupForm(forms.Form):
    id_number = forms.CharField(label=gettext_lazy("ID number"), max_length=40)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def resident_find(request):
    """Find a resident by name (GET) or by full ID number (POST: the number stays in the
    request body; the answer redirects to the resident's page, whose URL has only the record
    number)."""
    lookup_form = ResidentIdLookupForm(request.POST or None)
    not_found = ""
    if request.method == "POST" and lookup_form.is_valid():
        try:
            resident = resident_find_by_id_number(
                user=request.user, id_number=lookup_form.cleaned_data["id_number"]
            )
        except InvalidInput as error:
            lookup_form.add_error("id_number", error.message)
        except NotFound as error:
            not_found = error.message
        else:
            return redirect("community:resident", resident_id=resident.pk)
    name = request.GET.get("name", "").strip()
    page = None
    if name:
        page = Paginator(resident_list(user=request.user, name=name), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    return render(
        request,
        "community/residents/find.html",
        {
            "lookup_form": lookup_form,
            "not_found": not_found,
            "name": name,
            "page": page,
            "may_register": user_may_keep_residents(user=request.user),
        },
    )


# --- register -------------------------------------------------------------------------------


class ResidentRegisterForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Full name"), required=False)
    id_number = forms.CharField(label=gettext_lazy("ID number"), required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), required=False)
    community = forms.ChoiceField(label=gettext_lazy("Community"), required=False)
    address = forms.CharField(label=gettext_lazy("Address"), required=False)
    lon = forms.FloatField(label=gettext_lazy("Longitude"), required=False)
    lat = forms.FloatField(label=gettext_lazy("Latitude"), required=False)
    household = forms.CharField(label=gettext_lazy("Household number"), required=False)
    relation_to_head = forms.CharField(
        label=gettext_lazy("Relation to head of household"), required=False
    )
    care_tags = forms.MultipleChoiceField(
        label=gettext_lazy("Care tags"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, communities, tags, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [("", _("— located from the point —"))] + [
            (area.code, f"{area.name}（{area.code}）") for area in communities
        ]
        self.fields["care_tags"].choices = [(tag.code, tag.name) for tag in tags]

    def clean(self):
        data = super().clean()
        if (data.get("lon") is None) != (data.get("lat") is None):
            self.add_error("lon", _("give both longitude and latitude, or neither"))
        return data


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def resident_register_page(request):
    """Register a resident; every problem is shown next to its field. A POST with `prefill`
    only fills the form (from the find page, with the ID number just looked up)."""
    scope = keeper_scope(request.user)
    if scope.is_empty:
        raise PermissionDenied(_("your role may not register residents"))
    communities = list(
        scope.filter(Area.objects.current().filter(level=AreaLevel.COMMUNITY))
        .only("code", "name")
        .order_by("code")
    )
    prefill = request.method == "POST" and "prefill" in request.POST
    initial = {"community": communities[0].code} if len(communities) == 1 else {}
    if prefill:
        initial["id_number"] = request.POST.get("id_number", "")
    form = ResidentRegisterForm(
        None if request.method == "GET" or prefill else request.POST,
        initial=initial,
        communities=communities,
        tags=list(care_tag_list()),
    )
    conflict_resident = None
    if request.method == "POST" and not prefill and form.is_valid():
        data = form.cleaned_data
        try:
            resident = resident_register(
                actor=request.user,
                name=data["name"],
                id_number=data["id_number"],
                phone=data["phone"],
                community=data["community"] or None,
                location=(data["lon"], data["lat"]) if data["lon"] is not None else None,
                address=data["address"],
                household=data["household"] or None,
                relation_to_head=data["relation_to_head"],
                care_tags=data["care_tags"],
            )
        except InvalidInput as error:
            for field, reason in (error.details or {}).items():
                form.add_error(FIELD_FOR_ERROR.get(field, field), reason)
        except Conflict as error:
            form.add_error("id_number", error.message)
            conflict_resident = (error.details or {}).get("resident_id")
        except Forbidden as error:
            raise PermissionDenied(error.message) from error
        else:
            messages.success(
                request,
                _("%(name)s (%(id)s) is registered.")
                % {"name": resident.name, "id": resident.id_number_masked},
            )
            return redirect("community:resident", resident_id=resident.pk)
    # The cursor goes to the first field to correct, else to the name.
    focus = next((name for name in form.fields if name in form.errors), "name")
    return render(
        request,
        "community/residents/register.html",
        {"form": form, "conflict_resident": conflict_resident, "focus": focus},
    )


# --- resident -------------------------------------------------------------------------------


def _resident_page(request, resident, *, revealed=None, reveal_form=None):
    return render(
        request,
        "community/residents/detail.html",
        {
            "resident": resident,
            "care_tags": list(resident.care_tags.all()),
            "may_reveal": user_may_reveal(user=request.user, resident=resident),
            "revealed": revealed,
            "reveal_form": reveal_form,
            "purposes": REVEAL_PURPOSES,
            "fields": PersonalField,
        },
    )


@never_cache
@login_required
def resident_page(request, resident_id: int):
    try:
        resident = resident_get(user=request.user, resident_id=resident_id)
    except NotFound as error:
        raise _not_found(error) from error
    return _resident_page(request, resident)


class ResidentRevealForm(forms.Form):
    field = forms.ChoiceField(choices=PersonalField.choices)
    purpose = forms.CharField(label=gettext_lazy("Purpose"), required=False)


@never_cache
@login_required
@require_POST
def resident_reveal_page(request, resident_id: int):
    """Show a full number once, for the purpose given; the read is recorded. The value is in
    this answer only (never cached, never in a URL or the session)."""
    try:
        resident = resident_get(user=request.user, resident_id=resident_id)
    except NotFound as error:
        raise _not_found(error) from error
    form = ResidentRevealForm(request.POST)
    if not form.is_valid():
        return _resident_page(request, resident, reveal_form=form)
    try:
        value = resident_reveal(
            actor=request.user,
            resident=resident,
            field=form.cleaned_data["field"],
            purpose=form.cleaned_data["purpose"],
            ip=request.META.get("REMOTE_ADDR"),
        )
    except Forbidden as error:
        raise PermissionDenied(error.message) from error
    except InvalidInput as error:
        for field, reason in (error.details or {}).items():
            form.add_error(field if field in form.fields else None, reason)
        return _resident_page(request, resident, reveal_form=form)
    revealed = {
        "field": form.cleaned_data["field"],
        "label": PersonalField(form.cleaned_data["field"]).label,
        "value": value,
        "purpose": form.cleaned_data["purpose"],
    }
    return _resident_page(request, resident, revealed=revealed)


# --- household ------------------------------------------------------------------------------


@never_cache
@login_required
def household_page(request, household_id: int):
    try:
        household = household_get(user=request.user, household_id=household_id)
    except NotFound as error:
        raise _not_found(error) from error
    members = list(household_members(user=request.user, household=household))
    return render(
        request,
        "community/residents/household.html",
        {"household": household, "members": members},
    )


urlpatterns: list = [
    path("residents/", resident_find, name="residents"),
    path("residents/new", resident_register_page, name="resident-new"),
    path("residents/<int:resident_id>/", resident_page, name="resident"),
    path("residents/<int:resident_id>/reveal", resident_reveal_page, name="resident-reveal"),
    path("households/<int:household_id>/", household_page, name="household"),
]
