"""The demo logins, as they are in the database: who, in which role, for which area."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from grid.models import AreaLevel, Assignment, Role
from grid.services.demo_people import (
    COMMUNITY_INSPECTOR_PREFIX,
    DEMO_PASSWORD,
    DEMO_USERNAMES,
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    area: str
    password: str


@dataclass(frozen=True)
class DemoLogins:
    logins: list[DemoLogin]
    community_inspectors: int
    example_community_inspector: str | None


def _area_text(assignments: list[Assignment]) -> str:
    cells = [a for a in assignments if a.area.level == AreaLevel.GRID]
    others = [a for a in assignments if a.area.level != AreaLevel.GRID]
    parts = []
    for assignment in others:
        text = f"{assignment.area.code} {assignment.area.name}"
        if assignment.department_id:
            text = f"{assignment.department.name} ({text})"
        parts.append(text)
    if cells:
        communities = {a.area.parent for a in cells}
        parent = communities.pop() if len(communities) == 1 else None
        if parent is not None:
            parts.append(
                _("%(count)d grid cells of %(code)s %(name)s")
                % {"count": len(cells), "code": parent.code, "name": parent.name}
            )
        else:
            parts.append(_("%(count)d grid cells") % {"count": len(cells)})
    return "; ".join(parts)


def demo_logins() -> DemoLogins:
    """The demo accounts that exist, with their roles and areas, in DEMO_USERNAMES order.
    The password column says whether the account still has the demo password."""
    User = get_user_model()
    users = {user.username: user for user in User.objects.filter(username__in=DEMO_USERNAMES)}
    assignments: dict[int, list[Assignment]] = {}
    for assignment in (
        Assignment.objects.active()
        .filter(user__in=users.values())
        .select_related("area__parent", "department")
        .order_by("area__code")
    ):
        assignments.setdefault(assignment.user_id, []).append(assignment)
    # Demo accounts share one password hash, so one check answers for all that share it.
    checked: dict[str, bool] = {}
    logins = []
    for username in DEMO_USERNAMES:
        user = users.get(username)
        if user is None:
            continue
        if user.password not in checked:
            checked[user.password] = user.check_password(DEMO_PASSWORD)
        mine = assignments.get(user.id, [])
        if user.is_superuser:
            role, area = _("administrator"), _("all areas")
        else:
            role = ", ".join(sorted({str(Role(a.role).label) for a in mine})) or _("no role")
            area = _area_text(mine) or _("no area")
        logins.append(
            DemoLogin(
                username=username,
                role=role,
                area=area,
                password=DEMO_PASSWORD if checked[user.password] else _("(changed)"),
            )
        )
    inspectors = User.objects.filter(username__startswith=COMMUNITY_INSPECTOR_PREFIX)
    example = inspectors.order_by("username").values_list("username", flat=True).first()
    return DemoLogins(
        logins=logins, community_inspectors=inspectors.count(), example_community_inspector=example
    )
