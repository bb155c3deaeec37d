"""Reading areas for people: lists, one area with its ancestors, always within the user's scope.

An area outside the user's scope is answered exactly like an area that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from ..codes import parent_code_of
from ..errors import NotFound
from ..models import Area, Assignment, Role
from ..scope import user_scope


def area_list(
    *, user, level: int | None = None, parent_code: str | None = None, q: str | None = None
) -> QuerySet[Area]:
    """Current areas the user may see, by code, without their (heavy) boundaries."""
    areas = user_scope(user).filter(Area.objects.current())
    if level is not None:
        areas = areas.filter(level=level)
    if parent_code:
        areas = areas.filter(parent__code=parent_code, parent__valid_to__isnull=True)
    if q:
        areas = areas.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return (
        areas.select_related("parent")
        .only("code", "name", "level", "valid_from", "parent__code")
        .order_by("code")
    )


def area_get_visible(*, user, code: str) -> Area:
    """The current area with `code`, if the user may see it; NotFound otherwise."""
    area = user_scope(user).filter(Area.objects.current().filter(code=code)).first()
    if area is None:
        raise NotFound(_("there is no area “%(code)s”") % {"code": code})
    return area


@dataclass
class AreaDetail:
    area: Area
    ancestors: list[Area]
    child_count: int


def area_detail(*, user, code: str) -> AreaDetail:
    """One area with its boundary, the ancestors the user may see (top first) and the number
    of its current children."""
    area = area_get_visible(user=user, code=code)
    ancestor_codes = []
    parent = parent_code_of(area.code)
    while parent:
        ancestor_codes.append(parent)
        parent = parent_code_of(parent)
    ancestors = list(
        user_scope(user)
        .filter(Area.objects.current().filter(code__in=ancestor_codes))
        .only("code", "name", "level")
        .order_by("level")
    )
    child_count = Area.objects.current().filter(parent=area).count()
    return AreaDetail(area=area, ancestors=ancestors, child_count=child_count)


def user_may_import_boundaries(*, user) -> bool:
    """Administrators and city managers (an active assignment on a current area) import."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (
        Assignment.objects.active()
        .filter(user=user, role=Role.CITY_MANAGER, area__valid_to__isnull=True)
        .exists()
    )
