"""Catalogue pages: the public list of service items and their printable guides (办事指南);
for logged-in staff, the 事项进驻落实率 of their areas and the items one counter may take."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from grid.errors import DomainError, NotFound
from grid.selectors.areas import area_get_visible

from ..models import ItemKind
from ..selectors.catalogue import (
    counter_choices,
    counter_get_visible,
    delegation_rate,
    delegation_rate_areas,
    delegation_rate_children,
    delegation_rate_missing,
    item_get,
    item_list,
)

ITEMS_PER_PAGE = 50
MISSING_PER_PAGE = 100


def _rates(request) -> tuple[list[dict], str]:
    """The rate of the chosen area (?area=) or of the user's top areas, each with its
    children's rates; and the reason when the chosen area cannot be shown."""
    code = request.GET.get("area", "").strip()
    if code:
        try:
            areas = [area_get_visible(user=request.user, code=code)]
        except NotFound as error:
            return [], error.message
    else:
        areas = delegation_rate_areas(user=request.user)
    return [
        {
            "area": area,
            "rate": delegation_rate(area=area),
            "children": delegation_rate_children(area=area),
        }
        for area in areas
    ], ""


def catalogue(request):
    """The service items, searchable by name or code. Staff may pick one of their counters to
    see only what it may take (and with what power), and see the 事项进驻落实率 of their areas."""
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    if kind not in ItemKind.values:
        kind = ""
    counter = None
    counter_code = ""
    counter_error = ""
    context: dict = {}
    if request.user.is_authenticated:
        counter_code = request.GET.get("counter", "").strip()
        if counter_code:
            try:
                counter = counter_get_visible(user=request.user, code=counter_code)
            except DomainError as error:
                counter_error = error.message
        context["counters"] = counter_choices(user=request.user)
        context["rates"], context["rate_error"] = _rates(request)
    items = item_list(q=q or None, kind=kind or None, counter=counter)
    if counter_error:
        items = items.none()
    page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        {
            "q": q,
            "kind": kind,
            "kinds": ItemKind.choices,
            "counter": counter,
            "counter_code": counter_code,
            "counter_error": counter_error,
            "page": page,
            "query": query.urlencode(),
        }
    )
    return render(request, "community/catalogue/list.html", context)


def guide(request, implementation_code: str):
    """The printable guide (办事指南) of one item: public, as published for residents."""
    try:
        item = item_get(implementation_code=implementation_code)
    except NotFound as error:
        raise Http404(error.message) from error
    return render(
        request,
        "community/catalogue/guide.html",
        {"item": item, "materials": list(item.materials.all()), "today": timezone.localdate()},
    )


@login_required
def delegation_missing(request, code: str):
    """The (item, counter) pairs of an area that should be delegated and are not."""
    try:
        area = area_get_visible(user=request.user, code=code)
    except NotFound as error:
        raise Http404(error.message) from error
    rate = delegation_rate(area=area)
    page = Paginator(delegation_rate_missing(area=area, rate=rate), MISSING_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "community/catalogue/missing.html",
        {"area": area, "rate": rate, "page": page},
    )


urlpatterns: list = [
    path("items/", catalogue, name="catalogue"),
    path("items/<str:implementation_code>/guide", guide, name="item-guide"),
    path("delegation/<str:code>/missing", delegation_missing, name="delegation-missing"),
]
