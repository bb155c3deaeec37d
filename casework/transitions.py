"""The allowed moves of a case (DOMAIN.md §3), in one table.

Roles of the tradition and who holds them here:
- 监督员/网格员 (report, verify on site, check the result): a grid inspector assigned to the
  case's grid cell;
- 受理员, 值班长, 派遣员 (accept, register, dispatch, close, void, supervise): the dispatchers of
  the tier holding the case — community staff for the community tier, street officers for the
  street, district officers for the district, city managers for the city — with the case's
  holding area in their scope;
- 专业部门 (handle, ask for an extension, return a wrong dispatch): a department handler of
  the department the case was dispatched to;
- superusers may make every move (administrators correcting a record).

`move_refusal` and `place_refusal` are the one place that decides; the services in
casework.services.workflow call them under a row lock and raise Conflict (409) with the current
state when the state or the case's place refuses, Forbidden (403) when the part does.

The case's place: a report in no grid cell waits in the city's unlocated queue (see
casework.services.report). The city's managers place it on the map (`locate`), after which it
is routed like any located case. Registering or dispatching it before that is refused: the
on-site check needs the inspector of a grid cell, so a case sent down the path without one
could never be closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grid.models import AreaLevel, Role

from .models import Status as S

DISPATCHER = "dispatcher"  # 受理员 / 值班长 / 派遣员 of the holding tier
HANDLER = "handler"  # 专业部门: a handler of the case's department
INSPECTOR = "inspector"  # 监督员 / 网格员 of the case's grid cell

# Where the case must lie for a move (Move.place; "" for anywhere).
LOCATED = "located"  # in a grid cell
UNLOCATED = "unlocated"  # in no grid cell: the unlocated queue

# The role that dispatches on each tier.
TIER_DISPATCHER_ROLE = {
    AreaLevel.COMMUNITY: Role.COMMUNITY_STAFF,
    AreaLevel.STREET: Role.STREET_OFFICER,
    AreaLevel.DISTRICT: Role.DISTRICT_OFFICER,
    AreaLevel.CITY: Role.CITY_MANAGER,
}


@dataclass(frozen=True)
class Move:
    name: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state does not change, or the service decides
    parts: frozenset[str]  # which of DISPATCHER / HANDLER / INSPECTOR may make it
    place: str = ""  # LOCATED, UNLOCATED or "" (wherever the case lies)

    def fits_place(self, *, located: bool) -> bool:
        return not self.place or (self.place == LOCATED) == located


def _move(name, label, sources, target, parts, place="") -> Move:
    return Move(name, label, frozenset(sources), target, frozenset(parts), place)


MOVES: dict[str, Move] = {
    move.name: move
    for move in (
        _move("accept", gettext_lazy("accept"), {S.REPORTED}, S.ACCEPTED, {DISPATCHER}),
        _move("void", gettext_lazy("void"), {S.REPORTED, S.ACCEPTED}, S.VOIDED, {DISPATCHER}),
        # 定位: a report of the unlocated queue placed in a grid cell and routed from there
        _move(
            "locate",
            gettext_lazy("place on the map"),
            {S.REPORTED, S.ACCEPTED, S.REGISTERED},
            None,
            {DISPATCHER},
            UNLOCATED,
        ),
        _move(
            "register",
            gettext_lazy("register"),
            {S.ACCEPTED},
            S.REGISTERED,
            {DISPATCHER},
            LOCATED,
        ),
        _move(
            "dispatch",
            gettext_lazy("dispatch"),
            {S.REGISTERED},
            S.DISPATCHED,
            {DISPATCHER},
            LOCATED,
        ),
        # one tier up (community → street → district → city), back to registration there
        _move(
            "escalate",
            gettext_lazy("escalate one tier up"),
            {S.REPORTED, S.ACCEPTED, S.REGISTERED},
            None,
            {DISPATCHER},
        ),
        _move("start", gettext_lazy("start handling"), {S.DISPATCHED}, S.IN_PROGRESS, {HANDLER}),
        # 回退: dispatched to the wrong department; the dispatcher dispatches again or escalates
        _move(
            "return",
            gettext_lazy("return as wrongly dispatched"),
            {S.DISPATCHED, S.IN_PROGRESS},
            S.REGISTERED,
            {HANDLER},
        ),
        _move(
            "request_extension",
            gettext_lazy("ask for an extension"),
            {S.IN_PROGRESS},
            None,
            {HANDLER},
        ),
        _move(
            "approve_extension",
            gettext_lazy("approve the extension"),
            {S.IN_PROGRESS},
            None,
            {DISPATCHER},
        ),
        _move(
            "reject_extension",
            gettext_lazy("refuse the extension"),
            {S.IN_PROGRESS},
            None,
            {DISPATCHER},
        ),
        _move("park", gettext_lazy("park"), {S.IN_PROGRESS}, S.PARKED, {DISPATCHER}),
        _move("unpark", gettext_lazy("resume"), {S.PARKED}, S.IN_PROGRESS, {DISPATCHER}),
        _move("handle", gettext_lazy("report handled"), {S.IN_PROGRESS}, S.HANDLED, {HANDLER}),
        _move("check_pass", gettext_lazy("confirm on site"), {S.HANDLED}, S.CHECKED, {INSPECTOR}),
        # 返工: the result is not good enough; back to the department, counted
        _move(
            "check_fail",
            gettext_lazy("send back for rework"),
            {S.HANDLED},
            S.IN_PROGRESS,
            {INSPECTOR},
        ),
        _move("close", gettext_lazy("close"), {S.CHECKED}, S.CLOSED, {DISPATCHER}),
        # closes this case as a duplicate of another open one
        _move(
            "merge",
            gettext_lazy("merge into another case"),
            {S.REPORTED, S.ACCEPTED, S.REGISTERED, S.DISPATCHED, S.IN_PROGRESS},
            S.CLOSED,
            {DISPATCHER},
        ),
    )
}

OPEN_STATES = frozenset(
    {
        S.REPORTED,
        S.ACCEPTED,
        S.REGISTERED,
        S.DISPATCHED,
        S.IN_PROGRESS,
        S.PARKED,
        S.HANDLED,
        S.CHECKED,
    }
)
# The step whose clock runs in each state (parked: none — a parked case is off the clock).
STEP_OF_STATE = {
    S.REPORTED: "register",
    S.ACCEPTED: "register",
    S.REGISTERED: "dispatch",
    S.DISPATCHED: "handle",
    S.IN_PROGRESS: "handle",
    S.HANDLED: "verify",
}


def allowed_moves(
    status: str, parts: set[str], *, superuser: bool = False, located: bool | None = None
) -> list[Move]:
    """The moves a person playing `parts` for a case may make from `status`, in table order;
    with `located` (whether the case lies in a grid cell), those its place allows."""
    return [
        move
        for move in MOVES.values()
        if status in move.sources
        and (superuser or move.parts & parts)
        and (located is None or move.fits_place(located=located))
    ]


def move_refusal(move_name: str, status: str, parts: set[str], *, superuser: bool = False):
    """Why the move is not allowed, or None when it is."""
    move = MOVES.get(move_name)
    if move is None:
        return _("there is no move “%(move)s”") % {"move": move_name}
    if status not in move.sources:
        return _("“%(move)s” is not possible while the case is %(status)s") % {
            "move": move.label,
            "status": S(status).label,
        }
    if not superuser and not move.parts & parts:
        return _("your role may not %(move)s this case") % {"move": move.label}
    return None


def place_refusal(move_name: str, *, cell_code: str | None) -> str | None:
    """Why the case's place rules the move out (`cell_code`: its grid cell's code, None for a
    case in no grid cell), or None when it does not."""
    move = MOVES[move_name]
    if move.fits_place(located=cell_code is not None):
        return None
    if cell_code is not None:
        return _("the case already lies in grid cell %(cell)s") % {"cell": cell_code}
    return _("the case lies in no grid cell: place the case on the map first")
