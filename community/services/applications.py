"""Every write to an application at a counter: receipt, the moves of community.transitions,
and complaints (DOMAIN.md §4).

Each move runs in one transaction, locks the application row, asks the transition table
whether the actor may make it from the current state, saves the changed fields, appends an
ApplicationEvent and sends `application_moved` after commit. A refusal raises:

- NotFound (404) when the actor may not see the application (outside their areas: answered
  exactly like an application that does not exist);
- Conflict (409) when the move is not possible from the current state, or the client saw an
  older state (`expected_status`), naming the current state;
- Forbidden (403) when the state allows the move but the actor's roles for this
  application do not;
- InvalidInput (422) when the input is wrong (a missing reason, missing materials …).

The clock runs in working time from receipt (grid.workcalendar). It pauses in correction and
suspension; when it resumes, `deadline`, `warn_at` and `legal_deadline` are moved on by the
working time that passed while paused, and `paused_seconds` adds it up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import Area, AreaLevel, Department, Role
from grid.scope import user_scope
from grid.services.sequences import sequence_next
from grid.workcalendar import (
    CalendarError,
    WorkCalendar,
    add_working_days,
    add_working_hours,
    working_time_between,
)

from ..models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationStatus,
    Channel,
    Complaint,
    DelegationPower,
    Delivery,
    ItemKind,
    MaterialStatus,
    Notice,
    NoticeKind,
    Resident,
    ResidentMaterial,
    ServiceItem,
)
from ..selectors.applications import (
    SUPERUSER_ROLE,
    ActorRoles,
    actor_roles,
    application_visibility,
    assignments_of,
    counter_roles_at,
    materials_preview,
)
from ..selectors.catalogue import counter_may_accept
from ..transitions import COUNTER_ROLES, MOVES

S = ApplicationStatus

# Sent after commit for every receipt and move: sender=Application, application_id, action,
# from_status, to_status. Notifications and other apps listen here, never inside the move.
application_moved = Signal()

# Share of the promised working time after which the light turns yellow.
WARN_SHARE = 0.8
# Five levels (GB/T 39735): 1 非常不满意 … 5 非常满意.
RATING_LEVELS = range(1, 6)
# Terms printed on refusal and denial notices: 行政复议法 art. 20 (60 days from the day the
# applicant learns of the decision) and 行政诉讼法 art. 46 (six months).
APPEAL_TERMS = {"reconsideration_days": 60, "lawsuit_months": 6}
# Roles that supervise counters and decide whether a complaint is substantiated.
SUPERVISOR_ROLES = frozenset({Role.STREET_OFFICER, Role.DISTRICT_OFFICER, Role.CITY_MANAGER})

NOTICE_PREFIXES = {
    NoticeKind.ACCEPTANCE: "SL",  # 受理
    NoticeKind.CORRECTION: "BZ",  # 补正
    NoticeKind.REFUSAL: "BY",  # 不予受理
    NoticeKind.COMPLETION: "BJ",  # 办结
    NoticeKind.DENIAL: "BX",  # 不予许可
}


# ---------------------------------------------------------------- clock


def _load_calendar(first_day: date) -> WorkCalendar:
    try:
        return WorkCalendar.load(start_date=first_day)
    except CalendarError as exc:
        raise InvalidInput(
            _(
                "the working calendar cannot compute the deadline (%(problem)s); ask an "
                "administrator to extend it"
            )
            % {"problem": exc}
        ) from exc


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def deadlines_from(
    *, calendar: WorkCalendar, received_at: datetime, item: ServiceItem
) -> tuple[datetime, datetime, datetime]:
    """(deadline, warn_at, legal_deadline) of an application received at `received_at`:
    the promised and legal limits in working days from receipt; an immediate item (即办)
    by the close of the day's work. warn_at is when WARN_SHARE of the promised working
    time is used."""
    if item.kind == ItemKind.IMMEDIATE:
        deadline = add_working_days(calendar, received_at, 0)
    else:
        deadline = add_working_days(calendar, received_at, item.promised_limit_days)
    legal_deadline = max(add_working_days(calendar, received_at, item.legal_limit_days), deadline)
    available = working_time_between(calendar, received_at, deadline)
    if available > timedelta(0):
        warn_seconds = round(available.total_seconds() * WARN_SHARE)
        warn_at = add_working_hours(calendar, received_at, warn_seconds / 3600)
    else:
        warn_at = deadline
    return deadline, warn_at, legal_deadline


def _pause(application: Application, at: datetime) -> list[str]:
    application.paused_since = at
    return ["paused_since"]


def _resume(application: Application, at: datetime) -> list[str]:
    """Restart the clock: move the deadlines on by the working time spent paused."""
    paused_since = application.paused_since
    application.paused_since = None
    if paused_since is None:
        return ["paused_since"]
    calendar = _load_calendar(
        _local_date(min(paused_since, application.warn_at, application.deadline))
    )
    paused = working_time_between(calendar, paused_since, at)
    if paused > timedelta(0):
        hours = paused.total_seconds() / 3600
        application.deadline = add_working_hours(calendar, application.deadline, hours)
        application.warn_at = add_working_hours(calendar, application.warn_at, hours)
        application.legal_deadline = add_working_hours(calendar, application.legal_deadline, hours)
        application.paused_seconds += round(paused.total_seconds())
    return ["paused_since", "deadline", "warn_at", "legal_deadline", "paused_seconds"]


def _stop_clock(application: Application, at: datetime) -> list[str]:
    """A paused application that ends (refused from correction): count the pause, keep the
    deadlines where they were."""
    if application.paused_since is None:
        return []
    calendar = _load_calendar(_local_date(application.paused_since))
    paused = working_time_between(calendar, application.paused_since, at)
    application.paused_seconds += round(paused.total_seconds())
    application.paused_since = None
    return ["paused_since", "paused_seconds"]


# ---------------------------------------------------------------- history, notices


def _record(
    *,
    application: Application,
    action: str,
    actor,
    role: str,
    at: datetime,
    from_status: str,
    to_status: str,
    note: str = "",
    data: dict | None = None,
) -> ApplicationEvent:
    event = ApplicationEvent.objects.create(
        application=application,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        role=role,
        at=at,
        note=note,
        data=data or {},
    )
    application_id = application.pk
    transaction.on_commit(
        lambda: application_moved.send(
            sender=Application,
            application_id=application_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
        )
    )
    return event


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def _material_rows(materials: Iterable[ApplicationMaterial]) -> list[dict]:
    return [
        {
            "name": material.requirement.material_type.name,
            "form": material.requirement.form,
            "form_label": str(material.requirement.get_form_display()),
            "copies": material.requirement.copies,
            "required": material.requirement.required,
            "note": material.requirement.note,
            "status": material.status,
            "status_label": str(material.get_status_display()),
        }
        for material in materials
    ]


def _reconsideration_body(application: Application) -> str:
    """The people's government of the counter's district hears administrative
    reconsideration (行政复议法 2023: county-level governments)."""
    district = (
        Area.objects.current()
        .filter(code=application.counter_code[:6], level=AreaLevel.DISTRICT)
        .only("name")
        .first()
    )
    area_name = district.name if district else _counter_of(application).name
    return _("%(area)s People's Government") % {"area": area_name}


def _counter_of(application: Application) -> Area:
    """The counter's code and name, without its boundary polygon."""
    if Application.counter.is_cached(application):
        return application.counter
    return Area.objects.only("code", "name").get(pk=application.counter_id)


def _issue_notice(
    *,
    application: Application,
    kind: str,
    actor,
    at: datetime,
    materials: Iterable[ApplicationMaterial] = (),
    extra: dict | None = None,
) -> Notice:
    """Number the notice and freeze what it says: a reprint shows exactly this."""
    local = timezone.localtime(at)
    sequence = sequence_next(key=f"notice:{kind}:{application.counter_code}:{local.year}")
    number = f"{NOTICE_PREFIXES[kind]}-{application.counter_code}-{local.year}-{sequence:05d}"
    item = application.item
    counter = _counter_of(application)
    content = {
        "kind": kind,
        "title": str(NoticeKind(kind).label),
        "number": number,
        "issued_at": _iso(at),
        "issued_by": _person(actor),
        "application_number": application.number,
        "counter": {"code": counter.code, "name": counter.name},
        "applicant": {
            "name": application.applicant.name,
            "id_number_masked": application.applicant.id_number_masked,
        },
        "item": {
            "name": item.name,
            "implementation_code": item.implementation_code,
            "kind": item.kind,
            "kind_label": str(item.get_kind_display()),
            "promised_limit_days": item.promised_limit_days,
            "legal_limit_days": item.legal_limit_days,
            "implementing_body": item.implementing_body,
            "consult_phone": item.consult_phone,
            "complaint_phone": item.complaint_phone,
        },
        "received_at": _iso(application.received_at),
        "accepted_at": _iso(application.accepted_at),
        "decided_at": _iso(application.decided_at),
        "deadline": _iso(application.deadline),
        "legal_deadline": _iso(application.legal_deadline),
        "department": application.department.name if application.department_id else "",
        "materials": _material_rows(materials),
    }
    content.update(extra or {})
    return Notice.objects.create(
        application=application,
        kind=kind,
        number=number,
        issued_at=at,
        issued_by=actor,
        content=content,
    )


def _appeal(application: Application) -> dict:
    return {"appeal": {**APPEAL_TERMS, "reconsideration_body": _reconsideration_body(application)}}


# ---------------------------------------------------------------- the move machinery


@dataclass
class _Move:
    application: Application
    actor_roles: ActorRoles
    role: str
    from_status: str
    at: datetime
    changed: list[str] = field(default_factory=list)


def _status_label(status: str) -> str:
    return str(S(status).label) if status in S.values else status


def _stale(application: Application) -> Conflict:
    return Conflict(
        _("the application %(number)s is now %(status)s; reload it and try again")
        % {"number": application.number, "status": _status_label(application.status)},
        details={"status": application.status},
    )


def _begin(
    *,
    actor,
    application_id: int,
    move_name: str,
    expected_status: str | None,
    at: datetime | None,
) -> _Move:
    """Lock the application, check visibility, the client's view of the state and the
    transition table. Call inside a transaction."""
    assignments = assignments_of(actor)
    # The row alone: the related rows are read when a move needs them (most need none),
    # because planning a five-table join cost more than the lookups it saved.
    application = (
        Application.objects.select_for_update(of=("self",))
        .filter(application_visibility(actor, assignments), pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound(_("there is no application %(id)s") % {"id": application_id})
    if expected_status and expected_status != application.status:
        raise _stale(application)
    roles = actor_roles(user=actor, application=application, assignments=assignments)
    move = MOVES[move_name]
    if application.status not in move.sources:
        raise Conflict(
            _("“%(move)s” is not possible while the application %(number)s is %(status)s")
            % {
                "move": move.label,
                "number": application.number,
                "status": _status_label(application.status),
            },
            details={"status": application.status},
        )
    if not roles.superuser and not (move.roles & roles.roles):
        raise Forbidden(
            _("your role may not %(move)s application %(number)s")
            % {"move": move.label, "number": application.number},
            details={"status": application.status},
        )
    return _Move(
        application=application,
        actor_roles=roles,
        role=roles.role_for(move.roles),
        from_status=application.status,
        at=at or timezone.now(),
    )


def _finish(
    move: _Move, *, actor, action: str, note: str = "", data: dict | None = None
) -> Application:
    application = move.application
    application.save(update_fields=sorted({*move.changed, "updated_at"}))
    _record(
        application=application,
        action=action,
        actor=actor,
        role=move.role,
        at=move.at,
        from_status=move.from_status,
        to_status=application.status,
        note=note,
        data=data,
    )
    return application


def _required_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("give the reason for %(what)s") % {"what": what}, details={"reason": what}
        )
    return reason


def _materials(application: Application) -> list[ApplicationMaterial]:
    return list(
        application.materials.select_related("requirement__material_type").order_by(
            "requirement__position", "requirement_id"
        )
    )


def _missing_required(materials: list[ApplicationMaterial]) -> list[ApplicationMaterial]:
    return [m for m in materials if m.status == MaterialStatus.MISSING and m.requirement.required]


# ---------------------------------------------------------------- receipt


def application_receive(
    *,
    actor,
    applicant: Resident,
    item: ServiceItem,
    counter: Area,
    received_materials: Iterable[int] = (),
    channel: str = Channel.COUNTER,
    delivery: str = "",
    at: datetime | None = None,
) -> Application:
    """收件: register an application at `counter`. Materials ticked as received (requirement
    ids of the item) are `received`; reusable materials the applicant provided before and
    still valid are attached as `reused`; the rest are `missing`."""
    at = at or timezone.now()
    scope = user_scope(actor)
    if not scope.covers(counter.code) or not scope.covers(applicant.area_code):
        raise NotFound(_("there is no such counter or applicant in your areas"))
    roles = counter_roles_at(user=actor, counter=counter)
    if not roles and not actor.is_superuser:
        raise Forbidden(
            _("only the staff of the counter %(counter)s may receive applications there")
            % {"counter": counter.name}
        )
    if channel not in Channel.values:
        raise InvalidInput(
            _("unknown channel “%(channel)s”") % {"channel": channel}, details={"channel": channel}
        )
    if delivery and delivery not in Delivery.values:
        raise InvalidInput(
            _("unknown delivery “%(delivery)s”") % {"delivery": delivery},
            details={"delivery": delivery},
        )
    permission = counter_may_accept(item=item, counter=counter)
    if not permission.allowed:
        raise InvalidInput(permission.reason, details={"item": item.implementation_code})
    today = _local_date(at)
    preview = materials_preview(applicant=applicant, item=item, today=today)
    ticked = set(received_materials)
    unknown = ticked - {row.requirement.pk for row in preview}
    if unknown:
        raise InvalidInput(
            _("materials %(ids)s are not asked for by “%(item)s”")
            % {"ids": ", ".join(str(pk) for pk in sorted(unknown)), "item": item.name},
            details={"received_materials": sorted(unknown)},
        )
    calendar = _load_calendar(today)
    deadline, warn_at, legal_deadline = deadlines_from(calendar=calendar, received_at=at, item=item)
    role = next(
        (r for r in (Role.COMMUNITY_STAFF, Role.STREET_OFFICER) if r in roles), SUPERUSER_ROLE
    )
    with transaction.atomic():
        local = timezone.localtime(at)
        sequence = sequence_next(key=f"application:{counter.code}:{local:%Y%m%d}")
        application = Application.objects.create(
            number=f"{counter.code}-{local:%Y%m%d}-{sequence:04d}",
            item=item,
            applicant=applicant,
            counter=counter,
            counter_code=counter.code,
            channel=channel,
            status=S.RECEIVED,
            power=permission.power,
            received_at=at,
            received_by=actor,
            deadline=deadline,
            warn_at=warn_at,
            legal_deadline=legal_deadline,
            delivery=delivery,
        )
        rows = [
            ApplicationMaterial(
                application=application,
                requirement=row.requirement,
                status=MaterialStatus.RECEIVED if row.requirement.pk in ticked else row.status,
                reused_from=None if row.requirement.pk in ticked else row.on_file,
            )
            for row in preview
        ]
        ApplicationMaterial.objects.bulk_create(rows)
        _record(
            application=application,
            action="receive",
            actor=actor,
            role=role,
            at=at,
            from_status="",
            to_status=S.RECEIVED,
            data={
                status: [row.requirement_id for row in rows if row.status == status]
                for status in MaterialStatus.values
            },
        )
    return application


# ---------------------------------------------------------------- moves at the counter


def application_accept(
    *,
    actor,
    application_id: int,
    expected_status: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Application:
    """受理: only when no required material is missing. Materials received become the
    applicant's materials on file for reuse; the 受理通知书 is issued."""
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="accept",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        materials = _materials(application)
        missing = _missing_required(materials)
        if missing:
            names = [m.requirement.material_type.name for m in missing]
            raise InvalidInput(
                _("cannot accept: missing %(materials)s") % {"materials": "、".join(names)},
                details={"missing": names},
            )
        today = _local_date(move.at)
        ResidentMaterial.objects.bulk_create(
            [
                ResidentMaterial(
                    resident_id=application.applicant_id,
                    material_type=m.requirement.material_type,
                    received_at=move.at,
                    valid_until=(
                        today + timedelta(days=m.requirement.material_type.valid_days)
                        if m.requirement.material_type.valid_days is not None
                        else None
                    ),
                    source_application=application,
                )
                for m in materials
                if m.status == MaterialStatus.RECEIVED and m.requirement.reusable
            ]
        )
        application.status = S.ACCEPTED
        application.accepted_at = move.at
        move.changed += ["status", "accepted_at"]
        notice = _issue_notice(
            application=application,
            kind=NoticeKind.ACCEPTANCE,
            actor=actor,
            at=move.at,
            materials=materials,
        )
        return _finish(
            move, actor=actor, action="accept", note=note, data={"notice": notice.number}
        )


def application_request_correction(
    *,
    actor,
    application_id: int,
    expected_status: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Application:
    """一次性告知: one correction notice listing every missing material; the clock pauses.
    An application gets one correction notice only."""
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="request_correction",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        earlier = application.notices.filter(kind=NoticeKind.CORRECTION).first()
        if earlier is not None:
            raise Conflict(
                _(
                    "a correction notice (%(number)s) was already issued for %(application)s: "
                    "every missing material is told at once; accept or refuse the application"
                )
                % {"number": earlier.number, "application": application.number},
                details={"status": application.status, "notice": earlier.number},
            )
        missing = _missing_required(_materials(application))
        if not missing:
            raise InvalidInput(
                _("no required material is missing from %(number)s: accept it instead")
                % {"number": application.number}
            )
        application.status = S.CORRECTION
        move.changed += ["status", *_pause(application, move.at)]
        notice = _issue_notice(
            application=application,
            kind=NoticeKind.CORRECTION,
            actor=actor,
            at=move.at,
            materials=missing,
            extra={"note": note},
        )
        return _finish(
            move,
            actor=actor,
            action="request_correction",
            note=note,
            data={"notice": notice.number, "missing": [m.requirement_id for m in missing]},
        )


def application_supply_materials(
    *,
    actor,
    application_id: int,
    supplied: Iterable[int],
    expected_status: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Application:
    """The applicant brought materials (requirement ids): they are ticked received, the
    application is back to received and the clock resumes."""
    supplied = set(supplied)
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="supply_materials",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        missing = {
            m.requirement_id: m
            for m in _materials(application)
            if m.status == MaterialStatus.MISSING
        }
        if not supplied:
            raise InvalidInput(
                _("tick the materials the applicant brought"), details={"supplied": []}
            )
        stray = supplied - set(missing)
        if stray:
            raise InvalidInput(
                _("materials %(ids)s are not missing from %(number)s")
                % {"ids": ", ".join(str(pk) for pk in sorted(stray)), "number": application.number},
                details={"supplied": sorted(stray)},
            )
        ApplicationMaterial.objects.filter(
            application=application, requirement_id__in=supplied
        ).update(status=MaterialStatus.RECEIVED)
        application.status = S.RECEIVED
        move.changed += ["status", *_resume(application, move.at)]
        return _finish(
            move,
            actor=actor,
            action="supply_materials",
            note=note,
            data={"supplied": sorted(supplied)},
        )


def application_refuse(
    *,
    actor,
    application_id: int,
    reason: str,
    expected_status: str | None = None,
    at: datetime | None = None,
) -> Application:
    """不予受理, with the reason and the applicant's right to reconsideration or a lawsuit."""
    reason = _required_reason(reason, _("the refusal"))
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="refuse",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        move.changed += _stop_clock(application, move.at)
        application.status = S.REFUSED
        application.reason = reason
        move.changed += ["status", "reason"]
        notice = _issue_notice(
            application=application,
            kind=NoticeKind.REFUSAL,
            actor=actor,
            at=move.at,
            extra={"reason": reason, "refused_at": _iso(move.at), **_appeal(application)},
        )
        return _finish(
            move, actor=actor, action="refuse", note=reason, data={"notice": notice.number}
        )


def _decide(
    move: _Move, *, actor, approved: bool, on_spot: bool, reason: str, note: str
) -> Application:
    application = move.application
    application.status = S.APPROVED if approved else S.DENIED
    application.decided_at = move.at
    application.decided_on_spot = on_spot
    move.changed += ["status", "decided_at", "decided_on_spot"]
    extra: dict = {}
    if not approved:
        application.reason = reason
        move.changed.append("reason")
        extra = {"reason": reason, **_appeal(application)}
    notice = _issue_notice(
        application=application,
        kind=NoticeKind.COMPLETION if approved else NoticeKind.DENIAL,
        actor=actor,
        at=move.at,
        extra={**extra, "decided_on_spot": on_spot, "note": note},
    )
    action = ("approve" if approved else "deny") + ("_on_spot" if on_spot else "")
    return _finish(
        move, actor=actor, action=action, note=reason or note, data={"notice": notice.number}
    )


def _check_power(move: _Move) -> None:
    if move.application.power != DelegationPower.DECIDE:
        raise Conflict(
            _(
                "the counter may only accept and forward “%(item)s”: forward %(number)s to the "
                "responsible department"
            )
            % {"item": move.application.item.name, "number": move.application.number},
            details={"status": move.application.status, "power": move.application.power},
        )


def application_approve_on_spot(
    *,
    actor,
    application_id: int,
    expected_status: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Application:
    """即收即办: approve at the counter, where the delegation gives it the power to decide."""
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="approve_on_spot",
            expected_status=expected_status,
            at=at,
        )
        _check_power(move)
        return _decide(move, actor=actor, approved=True, on_spot=True, reason="", note=note)


def application_deny_on_spot(
    *,
    actor,
    application_id: int,
    reason: str,
    expected_status: str | None = None,
    at: datetime | None = None,
) -> Application:
    reason = _required_reason(reason, _("the denial"))
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="deny_on_spot",
            expected_status=expected_status,
            at=at,
        )
        _check_power(move)
        return _decide(move, actor=actor, approved=False, on_spot=True, reason=reason, note="")


def responsible_department(*, item: ServiceItem, counter_code: str) -> Department:
    """The active department of the item's kind on the nearest current area at or above the
    counter (the counter itself, its street, district, city). One query."""
    codes = [
        code
        for code in (counter_code[:12], counter_code[:9], counter_code[:6], counter_code[:4])
        if len(code) <= len(counter_code)
    ]
    department = (
        Department.objects.filter(
            kind_id=item.department_kind_id,
            active=True,
            area__valid_to__isnull=True,
            area__code__in=sorted(set(codes)),
        )
        .order_by("-area__level", "id")
        .first()
    )
    if department is None:
        raise InvalidInput(
            _(
                "no active %(kind)s department on the counter's street, district or city to "
                "review “%(item)s”"
            )
            % {"kind": item.department_kind.name, "item": item.name},
            details={"department_kind": item.department_kind.code},
        )
    return department


def application_forward(
    *,
    actor,
    application_id: int,
    jointly: bool = False,
    expected_status: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Application:
    """转部门审核: to the review queue of the responsible department. `jointly` marks a
    joint handling (联办) by the departments concerned."""
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="forward",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        department = responsible_department(
            item=application.item, counter_code=application.counter_code
        )
        application.department = department
        application.forwarded_at = move.at
        application.handled_jointly = jointly
        application.status = S.FORWARDED
        move.changed += ["department", "forwarded_at", "handled_jointly", "status"]
        return _finish(
            move,
            actor=actor,
            action="forward",
            note=note,
            data={
                "department": department.pk,
                "department_name": department.name,
                "jointly": jointly,
            },
        )


def application_approve(
    *,
    actor,
    application_id: int,
    expected_status: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Application:
    """The department's approval (办结); the 办结通知书 is issued."""
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="approve",
            expected_status=expected_status,
            at=at,
        )
        return _decide(move, actor=actor, approved=True, on_spot=False, reason="", note=note)


def application_deny(
    *,
    actor,
    application_id: int,
    reason: str,
    expected_status: str | None = None,
    at: datetime | None = None,
) -> Application:
    """The department's denial; the 不予许可通知书 with the reason and the right to appeal."""
    reason = _required_reason(reason, _("the denial"))
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="deny",
            expected_status=expected_status,
            at=at,
        )
        return _decide(move, actor=actor, approved=False, on_spot=False, reason=reason, note="")


def application_suspend(
    *,
    actor,
    application_id: int,
    reason: str,
    expected_status: str | None = None,
    at: datetime | None = None,
) -> Application:
    """挂起 for a special procedure (hearing, expert review, on-site check); the clock pauses."""
    reason = _required_reason(reason, _("the suspension"))
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="suspend",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        application.status_before_pause = application.status
        application.status = S.SUSPENDED
        move.changed += ["status", "status_before_pause", *_pause(application, move.at)]
        return _finish(move, actor=actor, action="suspend", note=reason)


def application_resume(
    *,
    actor,
    application_id: int,
    expected_status: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Application:
    """Back to the state the application was suspended from; the clock resumes."""
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="resume",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        application.status = application.status_before_pause or S.ACCEPTED
        application.status_before_pause = ""
        move.changed += ["status", "status_before_pause", *_resume(application, move.at)]
        return _finish(move, actor=actor, action="resume", note=note)


def application_issue(
    *,
    actor,
    application_id: int,
    delivery: str = "",
    expected_status: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Application:
    """送达/出件: picked up, posted, or delivered by the grid worker. The grid inspector of the
    applicant's cell may record a delivery by the grid worker, and only that."""
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="issue",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        delivery = delivery or application.delivery
        if delivery not in Delivery.values:
            raise InvalidInput(
                _("choose how the result is delivered: %(choices)s")
                % {"choices": ", ".join(Delivery.values)},
                details={"delivery": delivery},
            )
        roles = move.actor_roles
        as_inspector = not roles.superuser and not (roles.roles & COUNTER_ROLES)
        if as_inspector and delivery != Delivery.GRID_WORKER:
            raise Forbidden(
                _("a grid inspector records only deliveries by the grid worker"),
                details={"status": application.status},
            )
        application.status = S.ISSUED
        application.issued_at = move.at
        application.delivery = delivery
        application.delivered_by = actor if as_inspector else None
        move.changed += ["status", "issued_at", "delivery", "delivered_by"]
        return _finish(move, actor=actor, action="issue", note=note, data={"delivery": delivery})


def application_rate(
    *,
    actor,
    application_id: int,
    rating: int,
    comment: str = "",
    expected_status: str | None = None,
    at: datetime | None = None,
) -> Application:
    """The applicant's rating, five levels (GB/T 39735), recorded once."""
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATING_LEVELS:
        raise InvalidInput(
            _("the rating is one of 1 (very dissatisfied) to 5 (very satisfied)"),
            details={"rating": rating},
        )
    with transaction.atomic():
        move = _begin(
            actor=actor,
            application_id=application_id,
            move_name="rate",
            expected_status=expected_status,
            at=at,
        )
        application = move.application
        if application.rating is not None:
            raise Conflict(
                _("application %(number)s was already rated %(rating)s")
                % {"number": application.number, "rating": application.rating},
                details={"status": application.status, "rating": application.rating},
            )
        application.rating = rating
        application.rated_at = move.at
        application.rating_comment = comment.strip()[:200]
        move.changed += ["rating", "rated_at", "rating_comment"]
        return _finish(move, actor=actor, action="rate", note=comment, data={"rating": rating})


# ---------------------------------------------------------------- complaints


def complaint_register(
    *, actor, application_id: int, content: str, at: datetime | None = None
) -> Complaint:
    """A complaint about an application, registered by anyone who may see it."""
    content = (content or "").strip()
    if not content:
        raise InvalidInput(_("write what the complaint is about"), details={"content": ""})
    at = at or timezone.now()
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .filter(application_visibility(actor), pk=application_id)
            .first()
        )
        if application is None:
            raise NotFound(_("there is no application %(id)s") % {"id": application_id})
        complaint = Complaint.objects.create(
            application=application, received_at=at, content=content
        )
        _record(
            application=application,
            action="complaint",
            actor=actor,
            role=_supervising_role(actor, application) or "",
            at=at,
            from_status=application.status,
            to_status=application.status,
            note=content,
            data={"complaint": complaint.pk},
        )
    return complaint


def _supervising_role(actor, application: Application) -> str | None:
    if actor.is_superuser:
        return SUPERUSER_ROLE
    for role, code, _department in assignments_of(actor):
        if role in SUPERVISOR_ROLES and application.counter_code.startswith(code):
            return role
    return None


def complaint_resolve(
    *,
    actor,
    complaint_id: int,
    substantiated: bool,
    note: str = "",
    at: datetime | None = None,
) -> Complaint:
    """Decide whether a complaint is substantiated (for 投诉率): a street, district or city
    officer over the counter, never the counter's own staff; once."""
    at = at or timezone.now()
    with transaction.atomic():
        complaint = (
            Complaint.objects.select_for_update(of=("self",))
            .select_related("application")
            .filter(pk=complaint_id)
            .filter(application__in=Application.objects.filter(application_visibility(actor)))
            .first()
        )
        if complaint is None:
            raise NotFound(_("there is no complaint %(id)s") % {"id": complaint_id})
        application = complaint.application
        role = _supervising_role(actor, application)
        if role is None:
            raise Forbidden(
                _("only a street, district or city officer over the counter decides on a complaint")
            )
        if complaint.resolved_at is not None:
            raise Conflict(
                _("the complaint was already decided on %(date)s")
                % {"date": timezone.localtime(complaint.resolved_at).date().isoformat()},
                details={"substantiated": complaint.substantiated},
            )
        complaint.substantiated = bool(substantiated)
        complaint.resolved_at = at
        complaint.save(update_fields=["substantiated", "resolved_at"])
        _record(
            application=application,
            action="complaint_resolved",
            actor=actor,
            role=role,
            at=at,
            from_status=application.status,
            to_status=application.status,
            note=note,
            data={"complaint": complaint.pk, "substantiated": complaint.substantiated},
        )
    return complaint
