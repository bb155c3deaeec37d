"""Who may see a case, and which parts (casework.transitions) a person plays for it.

Seeing: a case is visible to a person whose scope (grid.scope.user_scope) covers its area
code — the grid cell's code, or the city's code for an unlocated report, so the unlocated
queue is the city's —, to the handlers of the department it has been dispatched to (from
dispatch on: a department routed at report time does not see the case before it is
dispatched), and to the person who reported it.
Acting: see casework.transitions for the parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from grid.models import Assignment, Role
from grid.scope import Scope, user_scope

from .models import Incident, Status
from .transitions import DISPATCHER, HANDLER, INSPECTOR, TIER_DISPATCHER_ROLE

# The states in which a case has been dispatched to its department.
DISPATCHED_STATES = frozenset(
    {
        Status.DISPATCHED,
        Status.IN_PROGRESS,
        Status.PARKED,
        Status.HANDLED,
        Status.CHECKED,
        Status.CLOSED,
    }
)


@dataclass(frozen=True)
class CaseAccess:
    """A person's scope and assignments, read once and asked about many cases."""

    user: object
    scope: Scope
    superuser: bool
    # (role, area code, department id) of every active assignment to a current area
    assignments: tuple[tuple[str, str, int | None], ...] = field(default=())

    @property
    def department_ids(self) -> frozenset[int]:
        return frozenset(
            department
            for role, _code, department in self.assignments
            if role == Role.DEPARTMENT_HANDLER and department is not None
        )

    def q(self) -> Q:
        """The filter of the cases this person may see."""
        if self.superuser:
            return Q()
        condition = self.scope.q("area_code")
        if self.department_ids:
            condition |= Q(department_id__in=self.department_ids, status__in=DISPATCHED_STATES)
        if getattr(self.user, "is_authenticated", False):
            condition |= Q(reporter_id=self.user.pk)
        return condition

    def may_see(self, incident: Incident) -> bool:
        return (
            self.superuser
            or self.scope.covers(incident.area_code)
            or (
                incident.department_id in self.department_ids
                and incident.status in DISPATCHED_STATES
            )
            or (
                getattr(self.user, "is_authenticated", False)
                and incident.reporter_id == self.user.pk
            )
        )

    def parts(self, incident: Incident) -> set[str]:
        """The parts this person plays for the case, as it is now."""
        parts: set[str] = set()
        dispatcher_role = TIER_DISPATCHER_ROLE.get(incident.tier)
        holder_code = incident.holder_area.code if incident.holder_area_id else ""
        for role, code, department in self.assignments:
            if role == dispatcher_role and holder_code.startswith(code):
                parts.add(DISPATCHER)
            if role == Role.DEPARTMENT_HANDLER and department == incident.department_id:
                parts.add(HANDLER)
            if (
                role == Role.GRID_INSPECTOR
                and incident.grid_cell_id is not None
                and incident.area_code.startswith(code)
            ):
                parts.add(INSPECTOR)
        return parts


def case_access(user) -> CaseAccess:
    assignments = (
        tuple(
            Assignment.objects.active()
            .filter(user=user, area__valid_to__isnull=True)
            .values_list("role", "area__code", "department_id")
        )
        if user is not None and user.is_authenticated
        else ()
    )
    return CaseAccess(
        user=user,
        scope=user_scope(user),
        superuser=bool(user is not None and user.is_authenticated and user.is_superuser),
        assignments=assignments,
    )
