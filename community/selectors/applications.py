"""Reading applications for people: queues with their lights, filters, one application with
materials, notices and history, the counter's item list — always within the reader's
visibility (`application_visibility`).

The light (green / yellow / red) is computed in SQL from a reference moment:
- a running clock: now;
- a paused clock (correction, suspension): the moment it paused — the light is frozen while
  paused, because on resume both `warn_at` and `deadline` move on by the paused working time;
- a decided application (approved, denied, issued): the moment of the decision.
Red when the reference moment is after `deadline`; yellow from `warn_at` on (80 % of the
promised working time used); green before. Refused applications have no light ("").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import InvalidInput, NotFound
from grid.models import Area, AreaLevel, Assignment, Department, Role
from grid.scope import user_scope

from ..models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationStatus,
    Complaint,
    DelegationPower,
    Delivery,
    MaterialStatus,
    Notice,
    NoticeKind,
    ResidentMaterial,
    ServiceItem,
    ServiceMaterial,
)
from ..transitions import COUNTER_ROLES, OPEN_STATES, Move, allowed_moves
from .catalogue import counter_get_visible

S = ApplicationStatus

# The role recorded in the history when a superuser acts without a role of their own.
SUPERUSER_ROLE = "superuser"
# Columns of related rows an application page never shows: a counter's boundary polygon,
# the applicant's point and encrypted personal data.
HEAVY_COLUMNS = (
    "counter__boundary",
    "applicant__location",
    "applicant__id_number_ciphertext",
    "applicant__phone_ciphertext",
)


class Light:
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    NONE = ""
    CHOICES = (GREEN, YELLOW, RED)


# ---------------------------------------------------------------- who may see and act


def assignments_of(user) -> list[tuple[str, str, int | None]]:
    """(role, area code, department id) of the user's active assignments on current areas."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    return list(
        Assignment.objects.active()
        .filter(user=user, area__valid_to__isnull=True)
        .values_list("role", "area__code", "department_id")
    )


@dataclass(frozen=True)
class ActorRoles:
    """The roles a user holds for one application (community.transitions' rule)."""

    roles: frozenset[str]
    superuser: bool = False

    def role_for(self, move_roles) -> str:
        """The role recorded in the history for a move open to `move_roles`."""
        for role in (
            Role.COMMUNITY_STAFF,
            Role.STREET_OFFICER,
            Role.DEPARTMENT_HANDLER,
            Role.GRID_INSPECTOR,
        ):
            if role in self.roles and role in move_roles:
                return str(role)
        return SUPERUSER_ROLE if self.superuser else ""


def actor_roles(*, user, application: Application, assignments: list | None = None) -> ActorRoles:
    """Counter roles: a community_staff / street_officer assignment whose subtree covers the
    counter; department handler: an assignment to the department the application was
    forwarded to; grid inspector: an assignment covering the applicant's grid cell (the
    inspector who may deliver the result)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ActorRoles(frozenset())
    roles: set[str] = set()
    applicant_code = None  # read only for a grid inspector
    for role, code, department_id in assignments_of(user) if assignments is None else assignments:
        if role in COUNTER_ROLES and application.counter_code.startswith(code):
            roles.add(role)
        elif role == Role.DEPARTMENT_HANDLER:
            if department_id is not None and department_id == application.department_id:
                roles.add(role)
        elif role == Role.GRID_INSPECTOR:
            applicant_code = applicant_code or application.applicant.area_code
            if applicant_code.startswith(code):
                roles.add(role)
    return ActorRoles(frozenset(roles), superuser=user.is_superuser)


def counter_roles_at(*, user, counter: Area) -> frozenset[str]:
    """The counter roles `user` holds at `counter` (empty: they may not receive there)."""
    return frozenset(
        role
        for role, code, _department in assignments_of(user)
        if role in COUNTER_ROLES and counter.code.startswith(code)
    )


def application_visibility(user, assignments: list | None = None) -> Q:
    """The applications `user` may see: those of counters in their areas, those forwarded to
    a department they handle for, and — for a grid inspector — those whose result the grid
    worker delivers to an applicant living in their cells. The one rule every list, page,
    move and print follows."""
    scope = user_scope(user)
    if scope.everything:
        return Q()
    visible = scope.q("counter_code")
    departments, inspected = [], []
    for role, code, department_id in assignments_of(user) if assignments is None else assignments:
        if role == Role.DEPARTMENT_HANDLER and department_id is not None:
            departments.append(department_id)
        elif role == Role.GRID_INSPECTOR:
            inspected.append(code)
    if departments:
        visible |= Q(department_id__in=departments)
    if inspected:
        cells = Q()
        for code in inspected:
            cells |= Q(applicant__area_code__startswith=code)
        visible |= Q(delivery=Delivery.GRID_WORKER) & cells
    return visible


def visible_applications(user, assignments: list | None = None) -> QuerySet[Application]:
    return Application.objects.filter(application_visibility(user, assignments))


# ---------------------------------------------------------------- lights


def with_light(applications: QuerySet[Application], *, now: datetime | None = None):
    """Annotate `light_at` (the reference moment), `light` and `light_rank` (0 red, 1 yellow,
    2 green, 3 none) in SQL; see the module docstring for the rule."""
    now = now or timezone.now()
    return applications.annotate(
        light_at=Coalesce(
            F("decided_at"), F("paused_since"), Value(now, output_field=DateTimeField())
        ),
    ).annotate(
        light=Case(
            When(status=S.REFUSED, then=Value(Light.NONE)),
            When(light_at__gt=F("deadline"), then=Value(Light.RED)),
            When(light_at__gte=F("warn_at"), then=Value(Light.YELLOW)),
            default=Value(Light.GREEN),
            output_field=CharField(),
        ),
        light_rank=Case(
            When(status=S.REFUSED, then=Value(3)),
            When(light_at__gt=F("deadline"), then=Value(0)),
            When(light_at__gte=F("warn_at"), then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    )


def light_of(application: Application, *, now: datetime | None = None) -> str:
    """The same rule for one loaded application (tests and single pages)."""
    if application.status == S.REFUSED:
        return Light.NONE
    moment = application.decided_at or application.paused_since or now or timezone.now()
    if moment > application.deadline:
        return Light.RED
    if moment >= application.warn_at:
        return Light.YELLOW
    return Light.GREEN


# ---------------------------------------------------------------- lists and queues

LIST_FIELDS = (
    "id",
    "number",
    "status",
    "channel",
    "power",
    "counter_code",
    "received_at",
    "accepted_at",
    "decided_at",
    "deadline",
    "warn_at",
    "legal_deadline",
    "paused_since",
    "rating",
    "delivery",
    "item__id",
    "item__name",
    "item__implementation_code",
    "item__kind",
    "counter__id",
    "counter__code",
    "counter__name",
    "applicant__id",
    "applicant__name",
    "applicant__id_number_masked",
    "applicant__area_code",
    "department__id",
    "department__name",
)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def application_list(
    *,
    user,
    status: str | list[str] | None = None,
    light: str | None = None,
    item: str | int | None = None,
    counter: str | None = None,
    department_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime | None = None,
) -> QuerySet[Application]:
    """Applications the user may see, with their lights, the most urgent first (red, yellow,
    green, then by deadline). `item`: id or implementation code; `counter`: a counter or area
    code (its subtree); dates: the day of receipt, both included."""
    applications = visible_applications(user)
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        unknown = [value for value in statuses if value not in S.values]
        if unknown:
            raise InvalidInput(
                _("unknown status “%(status)s”") % {"status": unknown[0]},
                details={"status": unknown},
            )
        applications = applications.filter(status__in=statuses)
    if item:
        if isinstance(item, int) or str(item).isdigit():
            applications = applications.filter(item_id=int(item))
        else:
            applications = applications.filter(item__implementation_code=item)
    if counter:
        applications = applications.filter(counter_code__startswith=counter)
    if department_id is not None:
        applications = applications.filter(department_id=department_id)
    if date_from:
        applications = applications.filter(received_at__gte=_day_start(date_from))
    if date_to:
        applications = applications.filter(received_at__lt=_day_start(date_to + timedelta(days=1)))
    applications = with_light(applications, now=now)
    if light is not None and light != "":
        if light not in Light.CHOICES:
            raise InvalidInput(
                _("unknown light “%(light)s”: green, yellow or red") % {"light": light},
                details={"light": light},
            )
        applications = applications.filter(light=light)
    return (
        applications.select_related("item", "counter", "applicant", "department")
        .only(*LIST_FIELDS)
        .order_by("light_rank", "deadline", "id")
    )


def application_counter_queue(
    *, user, counter_code: str, light: str | None = None, now: datetime | None = None
) -> QuerySet[Application]:
    """The open applications of one counter (not of the counters below it), most urgent
    first."""
    counter = counter_get_visible(user=user, code=counter_code)
    return application_list(user=user, status=sorted(OPEN_STATES), light=light, now=now).filter(
        counter_code=counter.code
    )


def departments_handled_by(user) -> QuerySet[Department]:
    """The departments whose review queue the user works (superusers: every active one)."""
    if user.is_superuser:
        return (
            Department.objects.filter(active=True)
            .select_related("area", "kind")
            .defer("area__boundary")
        )
    ids = [
        department_id
        for role, _code, department_id in assignments_of(user)
        if role == Role.DEPARTMENT_HANDLER and department_id is not None
    ]
    return (
        Department.objects.filter(pk__in=ids).select_related("area", "kind").defer("area__boundary")
    )


def application_review_queue(
    *,
    user,
    department_id: int | None = None,
    light: str | None = None,
    now: datetime | None = None,
) -> QuerySet[Application]:
    """Applications forwarded to a department the user handles for (one of them when
    `department_id` is given), waiting for the review or suspended during it."""
    departments = departments_handled_by(user)
    if department_id is not None:
        departments = departments.filter(pk=department_id)
        if not departments.exists():
            raise NotFound(
                _("there is no department %(id)s you handle for") % {"id": department_id}
            )
    return application_list(
        user=user, status=[S.FORWARDED, S.SUSPENDED], light=light, now=now
    ).filter(department__in=departments.values("pk"))


# ---------------------------------------------------------------- one application


def application_get(
    *,
    user,
    application_id: int,
    now: datetime | None = None,
    assignments: list | None = None,
) -> Application:
    """One application the user may see, with its light; NotFound otherwise."""
    application = (
        with_light(visible_applications(user, assignments), now=now)
        # Five tables at most: with eight, planning the joins cost more than running them.
        .select_related("item", "counter", "applicant", "department")
        .defer(*HEAVY_COLUMNS)
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound(_("there is no application %(id)s") % {"id": application_id})
    return application


def application_moves(
    *,
    user,
    application: Application,
    roles: ActorRoles | None = None,
    notices: list[Notice] | None = None,
):
    """The moves the user may make now, in table order, as buttons: the transition table's
    answer, less on-the-spot decisions where the counter may only accept and forward, less
    a second rating or correction notice."""
    roles = roles or actor_roles(user=user, application=application)
    moves: list[Move] = allowed_moves(
        application.status, set(roles.roles), superuser=roles.superuser
    )
    result = []
    for move in moves:
        if move.name in {"approve_on_spot", "deny_on_spot"} and (
            application.power != DelegationPower.DECIDE
        ):
            continue
        if move.name == "rate" and application.rating is not None:
            continue
        if move.name == "request_correction":
            corrected = (
                any(notice.kind == NoticeKind.CORRECTION for notice in notices)
                if notices is not None
                else application.notices.filter(kind=NoticeKind.CORRECTION).exists()
            )
            if corrected:
                continue
        result.append(move)
    return result


@dataclass
class ApplicationDetail:
    application: Application
    materials: list[ApplicationMaterial]
    notices: list[Notice]
    events: list[ApplicationEvent]
    complaints: list[Complaint]
    roles: ActorRoles
    moves: list[Move]

    @property
    def missing(self) -> list[ApplicationMaterial]:
        return [m for m in self.materials if m.status == MaterialStatus.MISSING]


def application_detail(*, user, application_id: int, now: datetime | None = None):
    """One application with its materials, notices, history, complaints and the moves the
    user may make."""
    assignments = assignments_of(user)
    application = application_get(
        user=user, application_id=application_id, now=now, assignments=assignments
    )
    materials = list(
        application.materials.select_related("requirement__material_type", "reused_from").order_by(
            "requirement__position", "requirement_id"
        )
    )
    notices = list(application.notices.order_by("issued_at", "id"))
    events = list(application.events.select_related("actor").order_by("at", "id"))
    complaints = list(application.complaints.order_by("-received_at", "-id"))
    roles = actor_roles(user=user, application=application, assignments=assignments)
    return ApplicationDetail(
        application=application,
        materials=materials,
        notices=notices,
        events=events,
        complaints=complaints,
        roles=roles,
        moves=application_moves(user=user, application=application, roles=roles, notices=notices),
    )


def notice_get(*, user, notice_id: int) -> Notice:
    """One notice of an application the user may see."""
    notice = (
        Notice.objects.filter(application__in=visible_applications(user).values("pk"))
        .select_related("application", "issued_by")
        .filter(pk=notice_id)
        .first()
    )
    if notice is None:
        raise NotFound(_("there is no notice %(id)s") % {"id": notice_id})
    return notice


def notice_list(*, user, application_id: int) -> QuerySet[Notice]:
    application = application_get(user=user, application_id=application_id)
    return application.notices.order_by("issued_at", "id")


def complaint_list(*, user, application_id: int | None = None) -> QuerySet[Complaint]:
    complaints = Complaint.objects.filter(
        application__in=visible_applications(user).values("pk")
    ).select_related("application")
    if application_id is not None:
        application_get(user=user, application_id=application_id)
        complaints = complaints.filter(application_id=application_id)
    return complaints.order_by("-received_at", "-id")


# ---------------------------------------------------------------- counters and items


def counters_of(user) -> QuerySet[Area]:
    """The counters (communities and streets) where the user holds a counter role."""
    codes = {code for role, code, _department in assignments_of(user) if role in COUNTER_ROLES}
    return (
        Area.objects.current()
        .filter(code__in=codes, level__in=(AreaLevel.STREET, AreaLevel.COMMUNITY))
        .order_by("code")
    )


@dataclass
class MaterialPreview:
    requirement: ServiceMaterial
    on_file: ResidentMaterial | None

    @property
    def status(self) -> str:
        return MaterialStatus.REUSED if self.on_file is not None else MaterialStatus.MISSING


def materials_preview(*, applicant, item: ServiceItem, today: date | None = None):
    """What the counter sees before ticking: every material the item asks for, with the
    applicant's valid copy on file where the material is reusable. Two queries."""
    today = today or timezone.localdate()
    requirements = list(
        ServiceMaterial.objects.filter(item=item)
        .select_related("material_type")
        .order_by("position", "id")
    )
    on_file = {
        material.material_type_id: material
        for material in ResidentMaterial.objects.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=today),
            resident=applicant,
            material_type_id__in=[r.material_type_id for r in requirements if r.reusable],
        )
        .order_by("material_type_id", "-received_at", "-id")
        .distinct("material_type_id")
    }
    return [
        MaterialPreview(
            requirement=requirement,
            on_file=on_file.get(requirement.material_type_id) if requirement.reusable else None,
        )
        for requirement in requirements
    ]
