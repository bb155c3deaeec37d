"""Every move of a case (casework.transitions.MOVES): one service per move, named
`incident_<move>`, and `incident_move` dispatching by name (the API calls it).

A move runs in one transaction and
1. locks the case row alone (SELECT … FOR UPDATE without joins; the related rows it needs are
   read after the lock);
2. answers a case the actor may not see (casework.access) with NotFound (404), exactly as if
   it did not exist;
3. asks the transition table: a move the case's state does not allow, or its place
   (register and dispatch need a grid cell, locate needs none: transitions.place_refusal), is
   a Conflict (409) naming the current state; a move both allow but none of the actor's parts
   for this case does is Forbidden (403). Both carry details {"status": <current state>};
4. refuses with Conflict (409, the current state in details) when the client says which
   state it saw (`expected_status`) and the case is no longer in it: a stale page, or a race
   lost to another user;
5. checks the move's own input (InvalidInput, 422, problems named per argument), applies
   the move, saves the changed fields only, appends an IncidentEvent and writes the
   notifications for whoever holds the case next.

Any refusal raised on the way rolls the whole move back: nothing is half-applied.

Notifications are grid.models.Notification rows written in the move's own transaction, not
in a transaction.on_commit hook: they live in the same database, so they commit or vanish
with the move — no notice of a move that was rolled back, and none lost if the process dies
between the commit and an after-commit hook. Only work that leaves the database (a Celery
task, a message to another system) belongs in on_commit.

History rows: `action` is the move's name (the kept case of a merge gets "merged_from");
`role` the assignment role the actor moved in (grid.models.Role: the holding tier's dispatcher
role, department_handler, grid_inspector) or "superuser"; `data["part"]` the part of
casework.transitions (dispatcher, handler, inspector); `note` the actor's free note; the move's
particulars (reason, departments, holders, clock, facility) are in `data`.

Step clocks: entering a state whose step (transitions.STEP_OF_STATE) differs from the one
running starts that step's clock with the category's CategoryDeadline, in working time
(casework.deadlines), and lights it green; a state of the same step keeps the running clock
(reported → accepted keeps the register clock, dispatched → in progress the handle clock).
`step_round` numbers the clock runs of a case: every start takes the next number, so the
supervision records (one per case × step × round × level) of a rerun step — after a rework, a
return or an escalation — never collide with those of the earlier run. Closing, voiding and
checking on site take the case off the clock.

Decisions made here:
- Escalation moves the holder one tier up (casework.services.routing.next_tier_route; further
  up while a tier has no department for the case, each step counted in escalation_count and
  listed in the event) and keeps the status: a reported case waits for the upper tier's acceptance, an accepted one
  for its registration, a registered one for its dispatch. What the lower tier decided stands;
  the upper tier gets the full time of the step the case is in (the clock restarts).
- Registration re-routes the case with the category it is registered under (an inspector's
  category may be corrected here), except that it never sends an escalated case back down
  below the tier it was escalated to.
- A case in no grid cell (the city's unlocated queue) is neither registered nor dispatched
  (409): nobody could check it on site, so it could never be closed. The city's managers
  place it on the map (定位, incident_locate) with a point in a current grid cell of their
  areas: the case takes that point, cell, codes and chain, and is routed as a report of that
  point would have been (tier, holder, department, the routing's escalations recorded as
  report intake records them). The case number is kept — numbers never change, so a located
  case keeps the city's "00" district in its number — and the running step's clock runs on:
  placing the case is part of the step it is in, not a new start.
- Dispatch goes to an active department on the case's chain from the holding area down (the
  departments the case page offers); a department above the holding tier is reached by
  escalating. Without a department named, the routed one (Incident.department) is used.
- Parking takes the case off the clock: its yellow-light moment and deadline are cleared and
  kept in the park event; resuming puts them back moved on by the working time the case was
  parked.
- An approved extension moves the handle deadline and the yellow-light moment on by the
  working time asked for (a working day counts as the office hours of one day).
- A component case's facility follows the case (community.services.facilities): 破损
  (damaged) when registered unless already damaged or lost, 完好 (intact) when closed. A case
  closed by merging does not repair anything: the kept case carries on.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from community.models import Facility, FacilityState
from community.services.facilities import facility_set_state
from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import AreaLevel, Assignment, Department, Role
from grid.selectors.locate import coordinate_errors, locate_point
from grid.services.notifications import NotificationDraft, notifications_create_many
from grid.workcalendar import CalendarError, WorkCalendar, add_working_hours, working_time_between

from ..access import CaseAccess, case_access
from ..deadlines import calendar_for, light_at, step_clock
from ..models import (
    Category,
    CategoryDeadline,
    Incident,
    IncidentEvent,
    Light,
    PhotoStage,
    Status,
    Step,
    TimeUnit,
)
from ..photos import CleanPhoto, photos_clean
from ..transitions import (
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    MOVES,
    OPEN_STATES,
    STEP_OF_STATE,
    TIER_DISPATCHER_ROLE,
    Move,
    move_refusal,
    place_refusal,
)
from .photos import incident_photos_add
from .routing import (
    SUPERUSER_ROLE,
    Route,
    escalation_events,
    next_tier_route,
    route,
)

# The part an actor is recorded in when they play several, in this order.
PART_ORDER = (DISPATCHER, HANDLER, INSPECTOR)
PART_ROLE = {HANDLER: Role.DEPARTMENT_HANDLER, INSPECTOR: Role.GRID_INSPECTOR}
# Lengths of the codes of city, district, street, community and grid cell: codes nest.
CODE_LENGTHS = (4, 6, 9, 12, 15)
TEXT_MAX_LENGTH = 2000
# The longest extension one request may ask for.
EXTENSION_MAX = {TimeUnit.WORKING_HOURS: Decimal(400), TimeUnit.WORKING_DAYS: Decimal(60)}


def case_link(incident: Incident) -> str:
    """The path of the case's page, for notifications."""
    return f"/casework/cases/{incident.number}/"


# ---------------------------------------------------------------- the frame of every move


@dataclass
class _Move:
    incident: Incident
    move: Move
    actor: object
    access: CaseAccess
    part: str
    role: str
    from_status: str
    at: datetime
    changed: set[str] = field(default_factory=set)
    data: dict = field(default_factory=dict)

    def set(self, **values) -> None:
        for name, value in values.items():
            setattr(self.incident, name, value)
        self.changed.update(values)


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    if not isinstance(at, datetime) or timezone.is_naive(at):
        raise InvalidInput(
            _("the moment of a move must be a date and time with its time zone"),
            details={"at": [_("give an aware date and time")]},
        )
    return at


def _status_label(status: str) -> str:
    return str(Status(status).label) if status in Status.values else status


def _begin(
    *,
    actor,
    incident_id: int,
    move_name: str,
    expected_status: str | None,
    at: datetime | None,
    also_lock: int | None = None,
) -> tuple[_Move, Incident | None]:
    """Lock the case (and `also_lock`, in id order so that two opposite merges cannot
    deadlock), then check visibility, the transition table and the client's view of the
    state. Call inside a transaction. Returns the move and the other locked case, if any."""
    moment = _moment(at)
    access = case_access(actor)
    wanted = {incident_id} | ({also_lock} if isinstance(also_lock, int) else set())
    locked = {
        row.pk: row
        for row in Incident.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    }
    incident = locked.get(incident_id)
    if incident is None or not access.may_see(incident):
        raise NotFound(
            _("there is no case %(id)s in your areas") % {"id": incident_id},
            details={"incident_id": incident_id},
        )
    move = MOVES[move_name]
    parts = access.parts(incident)
    refusal = move_refusal(move_name, incident.status, parts, superuser=access.superuser)
    if refusal is not None and incident.status not in move.sources:
        raise Conflict(refusal, details={"status": incident.status})
    cell_code = incident.area_code if incident.grid_cell_id is not None else None
    misplaced = place_refusal(move_name, cell_code=cell_code)
    if misplaced is not None:
        raise Conflict(misplaced, details={"status": incident.status, "grid_cell": cell_code})
    if refusal is not None:
        raise Forbidden(refusal, details={"status": incident.status})
    if expected_status and expected_status != incident.status:
        raise Conflict(
            _("case %(number)s is now %(status)s; reload it and try again")
            % {"number": incident.number, "status": _status_label(incident.status)},
            details={"status": incident.status},
        )
    part = next((p for p in PART_ORDER if p in move.parts and p in parts), "")
    if part == DISPATCHER:
        role = str(TIER_DISPATCHER_ROLE[incident.tier])
    elif part:
        role = str(PART_ROLE[part])
    else:
        role = SUPERUSER_ROLE
    return (
        _Move(
            incident=incident,
            move=move,
            actor=actor,
            access=access,
            part=part,
            role=role,
            from_status=incident.status,
            at=moment,
        ),
        locked.get(also_lock) if also_lock != incident_id else None,
    )


def _finish(m: _Move, *, note: str) -> IncidentEvent:
    note = _text(note, "note", required=False)
    m.incident.save(update_fields=sorted(m.changed | {"updated_at"}))
    return _record(
        incident=m.incident,
        action=m.move.name,
        m=m,
        from_status=m.from_status,
        to_status=m.incident.status,
        note=note,
        data=m.data,
    )


def _record(
    *,
    incident: Incident,
    action: str,
    m: _Move,
    from_status: str,
    to_status: str,
    note: str,
    data: dict,
) -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=m.actor,
        role=m.role,
        at=m.at,
        note=note,
        data={"part": m.part, **data},
    )


# ---------------------------------------------------------------- input


def _text(value, name: str, *, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(
            _("%(name)s must be text") % {"name": name}, details={name: [_("give text")]}
        )
    value = value.strip()
    if required and not value:
        message = _("give the %(name)s for this move") % {"name": name}
        raise InvalidInput(message, details={name: [message]})
    if len(value) > TEXT_MAX_LENGTH:
        message = _("the %(name)s has %(got)d characters; at most %(max)d") % {
            "name": name,
            "got": len(value),
            "max": TEXT_MAX_LENGTH,
        }
        raise InvalidInput(message, details={name: [message]})
    return value


def _reason(reason) -> str:
    return _text(reason, "reason")


def _identifier(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        message = _("%(name)s must be a whole number, not “%(value)s”") % {
            "name": name,
            "value": value,
        }
        raise InvalidInput(message, details={name: [message]})
    return value


def _photos(photos) -> list[CleanPhoto]:
    """The photos checked and re-encoded before anything is written, so a refused one (422)
    leaves no file and no row behind."""
    if photos is None:
        return []
    if isinstance(photos, str | bytes) or not isinstance(photos, Iterable):
        message = _("photos must be a list of image files")
        raise InvalidInput(message, details={"photos": [message]})
    return photos_clean(list(photos))


# ---------------------------------------------------------------- clock


def _iso(moment: datetime | None) -> str | None:
    """A moment for the history, in local time (as people read it)."""
    return timezone.localtime(moment).isoformat() if moment is not None else None


def _calendar_problem(exc: CalendarError) -> InvalidInput:
    return InvalidInput(
        _(
            "the working calendar cannot compute the deadline (%(problem)s); ask an "
            "administrator to extend it"
        )
        % {"problem": exc}
    )


def _start_clock(m: _Move, step: str) -> None:
    """Start `step`'s clock at the move's moment: the next round, green."""
    incident = m.incident
    limit = CategoryDeadline.objects.filter(category_id=incident.category_id, step=step).first()
    try:
        clock = step_clock(limit=limit, started_at=m.at, calendar=calendar_for(m.at))
    except CalendarError as exc:
        raise _calendar_problem(exc) from exc
    warn_at = clock.warn_at if clock else None
    deadline = clock.deadline if clock else None
    m.set(
        step=step,
        step_round=incident.step_round + 1,
        step_started_at=m.at,
        step_warn_at=warn_at,
        step_deadline=deadline,
        light=light_at(warn_at=warn_at, deadline=deadline, now=m.at),
    )
    m.data["clock"] = {
        "step": step,
        "round": incident.step_round,
        "warn_at": _iso(warn_at),
        "deadline": _iso(deadline),
    }


def _stop_clock(m: _Move) -> None:
    m.set(
        step="",
        step_started_at=None,
        step_warn_at=None,
        step_deadline=None,
        light=Light.GREEN,
    )


def _working_day(calendar: WorkCalendar) -> timedelta:
    """The office hours of one working day."""
    return sum(
        (
            datetime.combine(date.min, end) - datetime.combine(date.min, start)
            for start, end in calendar.periods
        ),
        timedelta(0),
    )


def _later(calendar: WorkCalendar, moment: datetime | None, by: timedelta) -> datetime | None:
    """`moment` moved on by `by` of working time."""
    if moment is None:
        return None
    try:
        return add_working_hours(calendar, moment, by.total_seconds() / 3600)
    except CalendarError as exc:
        raise _calendar_problem(exc) from exc


def _calendar(at: datetime) -> WorkCalendar:
    try:
        return calendar_for(at)
    except CalendarError as exc:
        raise _calendar_problem(exc) from exc


# ---------------------------------------------------------------- holders and notifications


def _code_prefixes(code: str) -> list[str]:
    return [code[:length] for length in CODE_LENGTHS if length <= len(code)]


def _dispatchers(incident: Incident) -> set[int]:
    """Users who dispatch on the tier holding the case, with its holding area in scope."""
    return set(
        Assignment.objects.active()
        .filter(
            role=TIER_DISPATCHER_ROLE[incident.tier],
            area__code__in=_code_prefixes(incident.holder_area.code),
            area__valid_to__isnull=True,
            user__is_active=True,
        )
        .values_list("user_id", flat=True)
    )


def _handlers(department_id: int | None) -> set[int]:
    if department_id is None:
        return set()
    return set(
        Assignment.objects.active()
        .filter(
            role=Role.DEPARTMENT_HANDLER,
            department_id=department_id,
            area__valid_to__isnull=True,
            user__is_active=True,
        )
        .values_list("user_id", flat=True)
    )


def _inspectors(incident: Incident) -> set[int]:
    """The grid inspectors of the case's cell."""
    if incident.grid_cell_id is None:
        return set()
    return set(
        Assignment.objects.active()
        .filter(
            role=Role.GRID_INSPECTOR,
            area__code__in=_code_prefixes(incident.area_code),
            area__valid_to__isnull=True,
            user__is_active=True,
        )
        .values_list("user_id", flat=True)
    )


def _notify(m: _Move, users: set[int], *, kind: str, title: str, body: str = "") -> None:
    """Notify `users` but the actor, in the move's transaction (see the module docstring)."""
    notifications_create_many(
        drafts=[
            NotificationDraft(
                user_id=user_id, kind=kind, title=title, body=body, link=case_link(m.incident)
            )
            for user_id in sorted(users - {getattr(m.actor, "pk", None)})
        ]
    )


def _holder(incident: Incident) -> dict:
    return {
        "tier": incident.tier,
        "area": incident.holder_area.code,
        "department": incident.department_id,
    }


def _department_data(department: Department | None) -> dict | None:
    if department is None:
        return None
    return {"id": department.pk, "name": department.name}


# ---------------------------------------------------------------- facility


def _facility_follows(m: _Move, *, state: str, leave_in: frozenset[str], reason: str) -> None:
    """Set the case's facility to `state` unless it is already in one of `leave_in` (the
    facility service refuses a change to the state it has)."""
    if m.incident.facility_id is None:
        return
    facility = Facility.objects.select_for_update().get(pk=m.incident.facility_id)
    if facility.state in leave_in:
        return
    before = facility.state
    facility_set_state(
        facility=facility,
        state=state,
        actor=m.actor,
        reason=reason,
        reference=m.incident.number,
        check_access=False,
    )
    m.data["facility"] = {"id": facility.pk, "code": facility.code, "from": before, "to": state}


# ---------------------------------------------------------------- the moves


@transaction.atomic
def incident_accept(
    *, actor, incident_id: int, expected_status: str | None = None, note: str = "", at=None
) -> Incident:
    """受理: the report is taken in. The register step's clock keeps running."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="accept",
        expected_status=expected_status,
        at=at,
    )
    m.set(status=Status.ACCEPTED, accepted_at=m.at)
    _finish(m, note=note)
    return m.incident


@transaction.atomic
def incident_void(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    reason: str = "",
) -> Incident:
    """作废: the report is not a case (false, outside the system's remit, a joke)."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="void",
        expected_status=expected_status,
        at=at,
    )
    m.data["reason"] = _reason(reason)
    m.set(status=Status.VOIDED)
    _stop_clock(m)
    _finish(m, note=note)
    return m.incident


def _reroute(m: _Move) -> None:
    """Route the case again for its (possibly corrected) category; see the module's
    decisions."""
    incident = m.incident
    if incident.grid_cell_id is None:
        return
    routed = route(
        category=incident.category,
        chain=incident.chain,
        source=incident.source,
        description=incident.description,
    )
    if incident.escalation_count and routed.tier > incident.tier:
        return
    before = _holder(incident)
    m.set(tier=routed.tier, holder_area=routed.area, department=routed.department)
    after = _holder(incident)
    if after != before:
        m.data["holder"] = {"from": before, "to": after}


def _point(lon, lat) -> Point:
    errors = coordinate_errors(lon=lon, lat=lat)
    if errors:
        raise InvalidInput(
            "; ".join(errors.values()), details={name: [error] for name, error in errors.items()}
        )
    return Point(float(lon), float(lat), srid=4326)


def _routing_escalations(m: _Move, routed: Route) -> None:
    """The routing's own steps up, as report intake records them."""
    IncidentEvent.objects.bulk_create(
        escalation_events(routed, incident=m.incident, status=m.incident.status, at=m.at)
    )


@transaction.atomic
def incident_locate(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    lon=None,
    lat=None,
) -> Incident:
    """定位: a case of the unlocated queue placed on the map at (lon, lat), which must lie in
    a current grid cell of the actor's areas; it is routed from there and the new holder's
    dispatchers are notified. See the module's decisions."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="locate",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    point = _point(lon, lat)
    location = locate_point(lon=point.x, lat=point.y)
    if location is None:
        message = _("the point lies in no grid cell")
        raise InvalidInput(message, details={"lon": [message], "lat": [message]})
    cell_code = location.cell.code
    if not (m.access.superuser or m.access.scope.covers(cell_code)):
        raise Forbidden(
            _("the point lies in grid cell %(cell)s, outside your areas") % {"cell": cell_code},
            details={"status": incident.status, "grid_cell": cell_code},
        )
    chain = location.as_dict()
    routed = route(
        category=incident.category,
        chain=chain,
        source=incident.source,
        description=incident.description,
    )
    before = _holder(incident)
    was_at = [incident.location.x, incident.location.y]
    m.set(
        location=point,
        grid_cell_id=location.cell.id,
        area_code=cell_code,
        district_code=location.district.code if location.district else cell_code[:6],
        chain=chain,
        tier=routed.tier,
        holder_area=routed.area,
        department=routed.department,
        escalation_count=incident.escalation_count + len(routed.escalations),
    )
    m.data.update(
        {
            "from": None,
            "cell": cell_code,
            "tier": routed.tier,
            "department": routed.department.pk if routed.department else None,
            "rule": routed.rule_id,
            "holder": {"from": before, "to": _holder(incident)},
            "point": {"from": was_at, "to": [point.x, point.y]},
        }
    )
    _finish(m, note=note)
    _routing_escalations(m, routed)
    _notify(
        m,
        _dispatchers(incident),
        kind="case_located",
        title=_("Case %(number)s was placed on the map in grid cell %(cell)s, for %(area)s")
        % {"number": incident.number, "cell": cell_code, "area": routed.area.name},
        body=incident.description[:500],
    )
    return incident


@transaction.atomic
def incident_register(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    category_id: int | None = None,
) -> Incident:
    """立案: the case is real and the system's to handle. The category may be corrected; the
    case is routed again and the dispatch step's clock starts. A named facility turns 破损."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="register",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    if category_id is not None and category_id != incident.category_id:
        _identifier(category_id, "category_id")
        category = Category.objects.filter(pk=category_id, active=True).first()
        if category is None:
            message = _("there is no active category %(id)s") % {"id": category_id}
            raise InvalidInput(message, details={"category_id": [message]})
        m.data["category"] = {"from": incident.category_id, "to": category.pk}
        m.set(category=category)
        if incident.facility_id is not None:
            facility_category = (
                Facility.objects.filter(pk=incident.facility_id)
                .values_list("category_id", flat=True)
                .get()
            )
            if category.facility_category_id != facility_category:
                # The facility named with the first category is not one of the corrected
                # class: keep the case from damaging a facility it is not about.
                m.data["facility_unlinked"] = incident.facility_id
                m.set(facility=None)
    holder_before = incident.holder_area_id
    _reroute(m)
    m.set(status=Status.REGISTERED, registered_at=m.at)
    _start_clock(m, Step.DISPATCH)
    _facility_follows(
        m,
        state=FacilityState.DAMAGED,
        leave_in=frozenset({FacilityState.DAMAGED, FacilityState.LOST}),
        reason=_("case %(number)s registered") % {"number": incident.number},
    )
    _finish(m, note=note)
    if incident.holder_area_id != holder_before:
        _notify(
            m,
            _dispatchers(incident),
            kind="case_registered",
            title=_("Case %(number)s was registered for your area") % {"number": incident.number},
        )
    return incident


def _dispatch_department(incident: Incident, department_id) -> Department:
    name = "department_id"
    if department_id is None:
        if incident.department_id is None:
            message = _("name the department: no department was routed for case %(number)s") % {
                "number": incident.number
            }
            raise InvalidInput(message, details={name: [message]})
        department_id = incident.department_id
    _identifier(department_id, name)
    department = (
        Department.objects.select_related("area")
        .defer("area__boundary")
        .filter(pk=department_id)
        .first()
    )
    if department is None:
        message = _("there is no department %(id)s") % {"id": department_id}
        raise InvalidInput(message, details={name: [message]})
    if not department.active:
        message = _("the department %(name)s is not active") % {"name": department.name}
        raise InvalidInput(message, details={name: [message]})
    holder_code = incident.holder_area.code
    reach = [code for code in _code_prefixes(incident.area_code) if len(code) >= len(holder_code)]
    if holder_code not in reach:
        reach.append(holder_code)
    if department.area.code not in reach or department.area.valid_to is not None:
        message = _(
            "%(name)s does not sit on the areas of case %(number)s from %(holder)s down; "
            "dispatch to a department of the holding tier or below, or escalate the case"
        ) % {"name": department.name, "number": incident.number, "holder": holder_code}
        raise InvalidInput(message, details={name: [message]})
    return department


@transaction.atomic
def incident_dispatch(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    department_id: int | None = None,
) -> Incident:
    """派遣: to a department (the routed one unless another is named); the handle step's clock
    starts and the department's handlers are notified."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="dispatch",
        expected_status=expected_status,
        at=at,
    )
    department = _dispatch_department(m.incident, department_id)
    m.set(
        status=Status.DISPATCHED,
        department=department,
        assignee=None,
        extension_requested=False,
        dispatched_at=m.at,
    )
    m.data["department"] = _department_data(department)
    _start_clock(m, Step.HANDLE)
    _finish(m, note=note)
    _notify(
        m,
        _handlers(department.pk),
        kind="case_dispatched",
        title=_("Case %(number)s was dispatched to %(department)s")
        % {"number": m.incident.number, "department": department.name},
        body=m.incident.description[:500],
    )
    return m.incident


@transaction.atomic
def incident_escalate(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    reason: str = "",
) -> Incident:
    """上报上级: one tier up (community → street → district → city), keeping the status; the
    current step's clock restarts for the new holder, whose dispatchers are notified."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="escalate",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    m.data["reason"] = _reason(reason)
    if incident.tier == AreaLevel.CITY:
        raise Conflict(
            _("case %(number)s is already at the city: there is no tier above it")
            % {"number": incident.number},
            details={"status": incident.status, "tier": incident.tier},
        )
    upper = next_tier_route(incident=incident, reason=m.data["reason"])
    before = _holder(incident)
    m.set(
        tier=upper.tier,
        holder_area=upper.area,
        department=upper.department,
        assignee=None,
        escalation_count=incident.escalation_count + len(upper.escalations),
    )
    m.data["holder"] = {"from": before, "to": _holder(incident)}
    m.data["escalations"] = [
        {"from": step.from_tier, "to": step.to_tier, "reason": str(step.reason)}
        for step in upper.escalations
    ]
    _start_clock(m, STEP_OF_STATE[incident.status])
    _finish(m, note=note)
    _notify(
        m,
        _dispatchers(incident),
        kind="case_escalated",
        title=_("Case %(number)s was escalated to %(area)s")
        % {"number": incident.number, "area": upper.area.name},
        body=m.data["reason"],
    )
    return incident


@transaction.atomic
def incident_start(
    *, actor, incident_id: int, expected_status: str | None = None, note: str = "", at=None
) -> Incident:
    """处置: the department starts; the actor becomes the assignee. The handle clock runs on."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="start",
        expected_status=expected_status,
        at=at,
    )
    m.set(status=Status.IN_PROGRESS, assignee=actor)
    _finish(m, note=note)
    return m.incident


@transaction.atomic
def incident_return(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    reason: str = "",
) -> Incident:
    """回退: the department says the case is not theirs. Back to registered at the same tier,
    without a department; the dispatch clock restarts and the dispatchers are notified."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="return",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    m.data["reason"] = _reason(reason)
    department = incident.department
    m.data["department"] = _department_data(department)
    m.set(
        status=Status.REGISTERED,
        department=None,
        assignee=None,
        extension_requested=False,
        return_count=incident.return_count + 1,
    )
    _start_clock(m, Step.DISPATCH)
    _finish(m, note=note)
    _notify(
        m,
        _dispatchers(incident),
        kind="case_returned",
        title=_("Case %(number)s was returned by %(department)s")
        % {"number": incident.number, "department": department.name if department else "—"},
        body=m.data["reason"],
    )
    return incident


def _extension_request(amount, unit) -> tuple[Decimal, str]:
    problems: dict[str, list[str]] = {}
    if unit not in TimeUnit.values:
        problems["unit"] = [
            _("the unit must be one of %(units)s") % {"units": ", ".join(TimeUnit.values)}
        ]
    try:
        value = (
            Decimal(str(amount)) if not isinstance(amount, bool) and amount is not None else None
        )
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        problems["amount"] = [_("give the extension as a positive number")]
    elif value != value.quantize(Decimal("0.01")):
        problems["amount"] = [_("give the extension with at most two decimals")]
    elif unit in TimeUnit.values and value > EXTENSION_MAX[unit]:
        problems["amount"] = [
            _("an extension may be at most %(max)s %(unit)s")
            % {"max": EXTENSION_MAX[unit], "unit": TimeUnit(unit).label}
        ]
    if problems:
        first = next(iter(problems.values()))[0]
        raise InvalidInput(first, details=problems)
    return value, unit


@transaction.atomic
def incident_request_extension(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    amount=None,
    unit: str = "",
    reason: str = "",
) -> Incident:
    """延期申请: the department asks for more time; one request waits at a time."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="request_extension",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    if incident.extension_requested:
        raise Conflict(
            _("an extension of case %(number)s is already waiting for a decision")
            % {"number": incident.number},
            details={"status": incident.status, "extension_requested": True},
        )
    if incident.step_deadline is None:
        raise Conflict(
            _("case %(number)s has no handling deadline to extend") % {"number": incident.number},
            details={"status": incident.status},
        )
    value, unit = _extension_request(amount, unit)
    m.data.update(amount=str(value), unit=unit, reason=_reason(reason))
    m.set(extension_requested=True)
    _finish(m, note=note)
    _notify(
        m,
        _dispatchers(incident),
        kind="case_extension_requested",
        title=_("An extension of case %(number)s is asked for: %(amount)s %(unit)s")
        % {"number": incident.number, "amount": value, "unit": TimeUnit(unit).label},
        body=m.data["reason"],
    )
    return incident


def _pending_extension(incident: Incident) -> IncidentEvent:
    request = (
        IncidentEvent.objects.filter(incident=incident, action="request_extension")
        .order_by("-at", "-id")
        .first()
        if incident.extension_requested
        else None
    )
    if request is None:
        raise Conflict(
            _("no extension of case %(number)s is waiting for a decision")
            % {"number": incident.number},
            details={"status": incident.status, "extension_requested": False},
        )
    return request


@transaction.atomic
def incident_approve_extension(
    *, actor, incident_id: int, expected_status: str | None = None, note: str = "", at=None
) -> Incident:
    """延期批准: the handle deadline and the yellow-light moment move on by the working time
    asked for."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="approve_extension",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    request = _pending_extension(incident)
    amount, unit = Decimal(request.data["amount"]), request.data["unit"]
    if incident.step_deadline is not None:
        calendar = _calendar(min(m.at, incident.step_warn_at or incident.step_deadline))
        granted = (
            timedelta(hours=float(amount))
            if unit == TimeUnit.WORKING_HOURS
            else _working_day(calendar) * float(amount)
        )
        warn_at = _later(calendar, incident.step_warn_at, granted)
        deadline = _later(calendar, incident.step_deadline, granted)
        m.data["deadline"] = {"from": _iso(incident.step_deadline), "to": _iso(deadline)}
        m.set(
            step_warn_at=warn_at,
            step_deadline=deadline,
            light=light_at(warn_at=warn_at, deadline=deadline, now=m.at),
        )
    m.data.update(amount=str(amount), unit=unit, request=request.pk)
    m.set(extension_requested=False, extension_count=incident.extension_count + 1)
    _finish(m, note=note)
    _notify(
        m,
        _handlers(incident.department_id),
        kind="case_extension_approved",
        title=_("The extension of case %(number)s was approved: %(amount)s %(unit)s")
        % {"number": incident.number, "amount": amount, "unit": TimeUnit(unit).label},
    )
    return incident


@transaction.atomic
def incident_reject_extension(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    reason: str = "",
) -> Incident:
    """延期驳回: the deadline stands."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="reject_extension",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    request = _pending_extension(incident)
    m.data.update(reason=_reason(reason), request=request.pk)
    m.set(extension_requested=False)
    _finish(m, note=note)
    _notify(
        m,
        _handlers(incident.department_id),
        kind="case_extension_rejected",
        title=_("The extension of case %(number)s was refused") % {"number": incident.number},
        body=m.data["reason"],
    )
    return incident


@transaction.atomic
def incident_park(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    reason: str = "",
) -> Incident:
    """挂账: the case waits for something outside the department's reach and is off the
    clock; the clock's moments are kept in this event for the resumption."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="park",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    m.data["reason"] = _reason(reason)
    m.data["paused_clock"] = {
        "warn_at": _iso(incident.step_warn_at),
        "deadline": _iso(incident.step_deadline),
    }
    m.set(status=Status.PARKED, step_warn_at=None, step_deadline=None)
    _finish(m, note=note)
    return incident


@transaction.atomic
def incident_unpark(
    *, actor, incident_id: int, expected_status: str | None = None, note: str = "", at=None
) -> Incident:
    """Resumed: back in progress, the paused deadlines moved on by the working time the case
    was parked."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="unpark",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    parked = (
        IncidentEvent.objects.filter(incident=incident, action="park")
        .order_by("-at", "-id")
        .first()
    )
    m.set(status=Status.IN_PROGRESS)
    paused_clock = parked.data.get("paused_clock") if parked is not None else None
    if paused_clock is None:
        # Parked without a recorded clock (not by this service): the handling starts afresh.
        _start_clock(m, Step.HANDLE)
    else:
        calendar = _calendar(min(parked.at, m.at))
        try:
            paused = working_time_between(calendar, parked.at, m.at)
        except CalendarError as exc:
            raise _calendar_problem(exc) from exc
        warn_at = _later(calendar, _parse(paused_clock["warn_at"]), paused)
        deadline = _later(calendar, _parse(paused_clock["deadline"]), paused)
        m.set(
            step_warn_at=warn_at,
            step_deadline=deadline,
            light=light_at(warn_at=warn_at, deadline=deadline, now=m.at),
        )
        m.data.update(
            parked_at=_iso(parked.at),
            paused_hours=round(paused.total_seconds() / 3600, 4),
            deadline={"from": paused_clock["deadline"], "to": _iso(deadline)},
        )
    _finish(m, note=note)
    return incident


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@transaction.atomic
def incident_handle(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    photos: Sequence = (),
) -> Incident:
    """处置反馈: done, with at least one photo of the result. The verify step's clock starts;
    the dispatchers and the cell's inspectors (for the on-site check) are notified."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="handle",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    files = _photos(photos)
    if not files:
        message = _("add at least one photo of the result")
        raise InvalidInput(message, details={"photos": [message]})
    m.set(status=Status.HANDLED, handled_at=m.at, extension_requested=False)
    _start_clock(m, Step.VERIFY)
    m.data["photos"] = len(files)
    event = _finish(m, note=note)
    incident_photos_add(
        actor=actor, incident=incident, files=files, stage=PhotoStage.HANDLED, event=event
    )
    dispatchers = _dispatchers(incident)
    title = _("Case %(number)s was reported handled") % {"number": incident.number}
    _notify(m, dispatchers, kind="case_handled", title=title)
    _notify(
        m,
        _inspectors(incident) - dispatchers,
        kind="case_check_due",
        title=_("Case %(number)s was reported handled: check it on site")
        % {"number": incident.number},
    )
    return incident


@transaction.atomic
def incident_check_pass(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    photos: Sequence = (),
) -> Incident:
    """核查通过: the inspector confirms the result on site (photos optional); off the clock,
    waiting for the dispatchers to close it."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="check_pass",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    files = _photos(photos)
    m.set(status=Status.CHECKED, checked_at=m.at)
    _stop_clock(m)
    m.data["photos"] = len(files)
    event = _finish(m, note=note)
    if files:
        incident_photos_add(
            actor=actor, incident=incident, files=files, stage=PhotoStage.CHECK, event=event
        )
    _notify(
        m,
        _dispatchers(incident),
        kind="case_checked",
        title=_("Case %(number)s passed the on-site check: close it") % {"number": incident.number},
    )
    return incident


@transaction.atomic
def incident_check_fail(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    reason: str = "",
    photos: Sequence = (),
) -> Incident:
    """返工: the result is not good enough. Back in progress with the department, counted,
    with a new handle clock (the next round)."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="check_fail",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    m.data["reason"] = _reason(reason)
    files = _photos(photos)
    m.set(status=Status.IN_PROGRESS, rework_count=incident.rework_count + 1)
    _start_clock(m, Step.HANDLE)
    m.data["photos"] = len(files)
    event = _finish(m, note=note)
    if files:
        incident_photos_add(
            actor=actor, incident=incident, files=files, stage=PhotoStage.CHECK, event=event
        )
    _notify(
        m,
        _handlers(incident.department_id),
        kind="case_rework",
        title=_("Case %(number)s failed the on-site check: rework it")
        % {"number": incident.number},
        body=m.data["reason"],
    )
    return incident


@transaction.atomic
def incident_close(
    *, actor, incident_id: int, expected_status: str | None = None, note: str = "", at=None
) -> Incident:
    """结案: off the clock; a named facility is 完好 again."""
    m, _other = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="close",
        expected_status=expected_status,
        at=at,
    )
    incident = m.incident
    m.set(status=Status.CLOSED, closed_at=m.at)
    _stop_clock(m)
    _facility_follows(
        m,
        state=FacilityState.INTACT,
        leave_in=frozenset({FacilityState.INTACT}),
        reason=_("case %(number)s closed") % {"number": incident.number},
    )
    _finish(m, note=note)
    return incident


@transaction.atomic
def incident_merge(
    *,
    actor,
    incident_id: int,
    expected_status: str | None = None,
    note: str = "",
    at=None,
    into_id: int | None = None,
) -> Incident:
    """合并: this case is a duplicate of another open case it can see; it closes pointing at
    it, and both histories name the other case."""
    if into_id is None:
        message = _("name the case to merge into")
        raise InvalidInput(message, details={"into_id": [message]})
    _identifier(into_id, "into_id")
    m, into = _begin(
        actor=actor,
        incident_id=incident_id,
        move_name="merge",
        expected_status=expected_status,
        at=at,
        also_lock=into_id,
    )
    incident = m.incident
    if into_id == incident.pk:
        message = _("a case cannot be merged into itself")
        raise InvalidInput(message, details={"into_id": [message]})
    if into is None or not m.access.may_see(into):
        message = _("there is no case %(id)s in your areas to merge into") % {"id": into_id}
        raise InvalidInput(message, details={"into_id": [message]})
    if into.status not in OPEN_STATES:
        raise Conflict(
            _("case %(number)s is %(status)s: a case can only be merged into an open one")
            % {"number": into.number, "status": _status_label(into.status)},
            details={"status": incident.status, "into_status": into.status},
        )
    was_with = (
        incident.department_id
        if incident.status
        in {
            Status.DISPATCHED,
            Status.IN_PROGRESS,
        }
        else None
    )
    m.set(status=Status.CLOSED, closed_at=m.at, duplicate_of=into)
    _stop_clock(m)
    m.data["into"] = {"id": into.pk, "number": into.number}
    _finish(m, note=note)
    _record(
        incident=into,
        action="merged_from",
        m=m,
        from_status=into.status,
        to_status=into.status,
        note="",
        data={"duplicate": {"id": incident.pk, "number": incident.number}},
    )
    _notify(
        m,
        _handlers(was_with),
        kind="case_merged",
        title=_("Case %(number)s was merged into case %(into)s: stop work on it")
        % {"number": incident.number, "into": into.number},
    )
    return incident


SERVICES: dict[str, Callable[..., Incident]] = {
    "accept": incident_accept,
    "void": incident_void,
    "locate": incident_locate,
    "register": incident_register,
    "dispatch": incident_dispatch,
    "escalate": incident_escalate,
    "start": incident_start,
    "return": incident_return,
    "request_extension": incident_request_extension,
    "approve_extension": incident_approve_extension,
    "reject_extension": incident_reject_extension,
    "park": incident_park,
    "unpark": incident_unpark,
    "handle": incident_handle,
    "check_pass": incident_check_pass,
    "check_fail": incident_check_fail,
    "close": incident_close,
    "merge": incident_merge,
}


def incident_move(*, actor, incident_id: int, move: str, **kwargs) -> Incident:
    """Make the move named `move` (a key of casework.transitions.MOVES) with its keyword
    arguments; a name or an argument the move does not know is refused (422)."""
    service = SERVICES.get(move)
    if service is None:
        message = _("there is no move “%(move)s”") % {"move": move}
        raise InvalidInput(message, details={"move": [message]})
    known = set(inspect.signature(service).parameters)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        message = _("“%(move)s” takes no %(names)s") % {"move": move, "names": ", ".join(unknown)}
        raise InvalidInput(message, details={name: [message] for name in unknown})
    return service(actor=actor, incident_id=incident_id, **kwargs)
