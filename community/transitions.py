"""The allowed moves of an application at a counter (DOMAIN.md §4), in one table.

Each move names the states it may start from, the state it leads to, and the roles that may
make it. `check_move` is the one place that decides whether a move is allowed; the services
in community.services.applications call it under a row lock and raise Conflict (409) with
the current state when it refuses.

Who counts as holding a role for an application:
- counter roles (community staff, street officer) — an active assignment whose area's
  subtree covers the application's counter;
- department handler — an active assignment to the department the application was forwarded
  to;
- superusers may make every move (administrators correcting a record).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from grid.models import Role

from .models import ApplicationStatus as S

COUNTER_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_OFFICER})
HANDLER_ROLES = frozenset({Role.DEPARTMENT_HANDLER})


@dataclass(frozen=True)
class Move:
    name: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state does not change (e.g. a rating)
    roles: frozenset[str]


def _move(name, label, sources, target, roles) -> Move:
    return Move(name, label, frozenset(sources), target, frozenset(roles))


MOVES: dict[str, Move] = {
    move.name: move
    for move in (
        # 收件 → 受理: every required material received or on file
        _move("accept", _("accept"), {S.RECEIVED}, S.ACCEPTED, COUNTER_ROLES),
        # 一次性告知: one correction notice listing every missing material; clock pauses
        _move(
            "request_correction",
            _("request missing materials"),
            {S.RECEIVED},
            S.CORRECTION,
            COUNTER_ROLES,
        ),
        # the applicant brought the materials: back to received, clock resumes
        _move(
            "supply_materials",
            _("materials supplied"),
            {S.CORRECTION},
            S.RECEIVED,
            COUNTER_ROLES,
        ),
        # 不予受理, with the reason and the right to appeal
        _move("refuse", _("refuse"), {S.RECEIVED, S.CORRECTION}, S.REFUSED, COUNTER_ROLES),
        # decided on the spot, only where the delegation gives the counter that power
        _move("approve_on_spot", _("approve on the spot"), {S.ACCEPTED}, S.APPROVED, COUNTER_ROLES),
        _move("deny_on_spot", _("deny on the spot"), {S.ACCEPTED}, S.DENIED, COUNTER_ROLES),
        # to the responsible department's review queue
        _move("forward", _("forward for review"), {S.ACCEPTED}, S.FORWARDED, COUNTER_ROLES),
        # the department's review
        _move("approve", _("approve"), {S.FORWARDED}, S.APPROVED, HANDLER_ROLES),
        _move("deny", _("deny"), {S.FORWARDED}, S.DENIED, HANDLER_ROLES),
        # 挂起 for a special procedure (expert review, hearing, on-site check); clock pauses
        _move(
            "suspend",
            _("suspend"),
            {S.ACCEPTED, S.FORWARDED},
            S.SUSPENDED,
            COUNTER_ROLES | HANDLER_ROLES,
        ),
        # back to the state it was suspended from
        _move("resume", _("resume"), {S.SUSPENDED}, None, COUNTER_ROLES | HANDLER_ROLES),
        # 送达/出件: picked up, posted, or delivered by the grid worker
        _move(
            "issue",
            _("issue the result"),
            {S.APPROVED, S.DENIED},
            S.ISSUED,
            COUNTER_ROLES | {Role.GRID_INSPECTOR},
        ),
        # the applicant's rating (five levels), recorded once, at the counter's evaluator
        _move("rate", _("record the rating"), {S.ISSUED, S.REFUSED}, None, COUNTER_ROLES),
    )
}

OPEN_STATES = frozenset({S.RECEIVED, S.CORRECTION, S.ACCEPTED, S.FORWARDED, S.SUSPENDED})
PAUSED_STATES = frozenset({S.CORRECTION, S.SUSPENDED})


def allowed_moves(status: str, roles: set[str], *, superuser: bool = False) -> list[Move]:
    """The moves a person holding `roles` may make from `status`, in table order."""
    return [
        move
        for move in MOVES.values()
        if status in move.sources and (superuser or move.roles & roles)
    ]


def move_refusal(move_name: str, status: str, roles: set[str], *, superuser: bool = False):
    """Why the move is not allowed, or None when it is."""
    move = MOVES.get(move_name)
    if move is None:
        return _("there is no move “%(move)s”") % {"move": move_name}
    if status not in move.sources:
        return _("“%(move)s” is not possible while the application is %(status)s") % {
            "move": move.label,
            "status": S(status).label,
        }
    if not superuser and not move.roles & roles:
        return _("your role may not %(move)s this application") % {"move": move.label}
    return None
