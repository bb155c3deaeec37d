"""Incident categories, routing rules, cases (案卷) and their history, photos, supervision
(督办) records and the indicator definitions (DOMAIN.md §2–3, the GB/T 30428 tradition)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from community.models import Facility, FacilityCategory
from grid.models import Area, AreaLevel, Department, DepartmentKind

USER = settings.AUTH_USER_MODEL


def area_code_index(field: str, name: str) -> models.Index:
    """A pattern-ops index on an area code column, for scope (code-prefix) filters."""
    return models.Index(fields=[field], name=name, opclasses=["varchar_pattern_ops"])


HANDLING_TIERS = [
    (AreaLevel.COMMUNITY, AreaLevel.COMMUNITY.label),
    (AreaLevel.STREET, AreaLevel.STREET.label),
    (AreaLevel.DISTRICT, AreaLevel.DISTRICT.label),
    (AreaLevel.CITY, AreaLevel.CITY.label),
]


# ---------------------------------------------------------------- categories and routing


class CategoryKind(models.TextChoices):
    COMPONENT = "component", _("component (部件)")
    EVENT = "event", _("event (事件)")


class Category(models.Model):
    """A component or event class with its code under a named code scheme (4-digit GB/T 30428
    tradition, 5-digit GB/T 47678.5 …), the tier and department kind that handle it by
    default, and the distance and time window within which reports are likely duplicates."""

    kind = models.CharField(_("kind"), max_length=10, choices=CategoryKind.choices)
    scheme = models.CharField(_("code scheme"), max_length=40)
    code = models.CharField(_("code"), max_length=5)
    major_code = models.CharField(_("major class code"), max_length=2)
    major_name = models.CharField(_("major class"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    facility_category = models.ForeignKey(
        FacilityCategory,
        verbose_name=_("facility category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For components: the class of the facilities a report may name."),
    )
    default_tier = models.PositiveSmallIntegerField(
        _("default handling tier"), choices=HANDLING_TIERS, default=AreaLevel.STREET
    )
    department_kind = models.ForeignKey(
        DepartmentKind,
        verbose_name=_("department kind"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    duplicate_radius_m = models.PositiveIntegerField(_("duplicate radius (m)"), default=50)
    duplicate_window_hours = models.PositiveIntegerField(_("duplicate window (hours)"), default=72)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["kind", "scheme", "code"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "scheme", "code"], name="category_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Step(models.TextChoices):
    """The steps that run on a deadline."""

    REGISTER = "register", _("register")  # 立案: from report to registration
    DISPATCH = "dispatch", _("dispatch")  # 派遣: from registration to dispatch
    HANDLE = "handle", _("handle")  # 处置: from dispatch to handled
    VERIFY = "verify", _("verify")  # 核查: from handled to checked on site


class TimeUnit(models.TextChoices):
    WORKING_HOURS = "hours", _("working hours")
    WORKING_DAYS = "days", _("working days")


class CategoryDeadline(models.Model):
    """How long one step of a category's cases may take, in working hours or days."""

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="deadlines"
    )
    step = models.CharField(_("step"), max_length=10, choices=Step.choices)
    amount = models.DecimalField(_("amount"), max_digits=6, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=5, choices=TimeUnit.choices)

    class Meta:
        verbose_name = _("step deadline")
        verbose_name_plural = _("step deadlines")
        constraints = [
            models.UniqueConstraint(fields=["category", "step"], name="deadline_once_per_step"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="deadline_positive"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.category} · {self.get_step_display()} {self.amount} {self.get_unit_display()}"
        )


class CategoryGroup(models.Model):
    """A named group of categories (e.g. all manhole covers) that routing rules can name."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories"), related_name="groups"
    )

    class Meta:
        verbose_name = _("category group")
        verbose_name_plural = _("category groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Source(models.TextChoices):
    INSPECTOR = "inspector", _("grid inspector")
    HOTLINE = "hotline", _("12345 hotline")
    CITIZEN = "citizen", _("citizen (Open311)")
    STAFF = "staff", _("staff")


class RoutingRule(models.Model):
    """Where cases of a category (or group, or any) in an area's subtree go: the handling tier
    and a department (a named one, or the department of a kind on that tier's area of the
    case). The most specific matching rule wins (see casework.services.routing)."""

    position = models.PositiveIntegerField(_("position"), default=100)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, null=True, blank=True
    )
    group = models.ForeignKey(
        CategoryGroup,
        verbose_name=_("category group"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The rule applies inside this area's subtree; empty: everywhere."),
    )
    area_code = models.CharField(max_length=15, blank=True, editable=False)
    source = models.CharField(
        _("only for source"), max_length=10, choices=Source.choices, blank=True
    )
    keywords = models.CharField(
        _("only when the description contains"),
        max_length=200,
        blank=True,
        help_text=_("Words separated by commas; any one of them matches."),
    )
    handling_tier = models.PositiveSmallIntegerField(_("handling tier"), choices=HANDLING_TIERS)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    department_kind = models.ForeignKey(
        DepartmentKind,
        verbose_name=_("department kind"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__isnull=True) | Q(group__isnull=True),
                name="rule_category_or_group",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.position} → {self.get_handling_tier_display()}"


# ---------------------------------------------------------------- cases


class Status(models.TextChoices):
    REPORTED = "reported", _("reported")  # 上报
    ACCEPTED = "accepted", _("accepted")  # 受理
    VOIDED = "voided", _("voided")  # 作废
    REGISTERED = "registered", _("registered")  # 立案
    DISPATCHED = "dispatched", _("dispatched")  # 派遣
    IN_PROGRESS = "in_progress", _("in progress")  # 处置中
    PARKED = "parked", _("parked")  # 挂账
    HANDLED = "handled", _("handled")  # 处置反馈
    CHECKED = "checked", _("checked on site")  # 核查通过
    CLOSED = "closed", _("closed")  # 结案


# The states whose step runs on a clock (casework.transitions.STEP_OF_STATE; parked and
# checked cases are off it), sorted as the supervision scan spells them.
CLOCKED_STATES = sorted(
    state.value
    for state in (
        Status.REPORTED,
        Status.ACCEPTED,
        Status.REGISTERED,
        Status.DISPATCHED,
        Status.IN_PROGRESS,
        Status.HANDLED,
    )
)


class Light(models.TextChoices):
    GREEN = "green", _("green")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")


class Incident(models.Model):
    """A case file. The grid cell and the whole tier chain at report time are kept as codes
    and names, so the case stays where it was reported even if boundaries change later. A
    report whose point lies in no grid cell has no cell and waits in the city's unlocated
    queue (area_code = the city's code)."""

    number = models.CharField(_("case number"), max_length=30, unique=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    external_id = models.CharField(
        _("external id"),
        max_length=80,
        null=True,
        blank=True,
        unique=True,
        help_text=_("The reporting device's or system's id of the report (idempotency)."),
    )
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT)
    facility = models.ForeignKey(
        Facility,
        verbose_name=_("facility"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
    )
    location = models.PointField(_("location"), srid=4326)
    address = models.CharField(_("address"), max_length=200, blank=True)
    description = models.TextField(_("description"))
    grid_cell = models.ForeignKey(
        Area,
        verbose_name=_("grid cell"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The chain at report time: codes and names of cell, community, street, district, city.
    area_code = models.CharField(_("area code"), max_length=15, editable=False)
    district_code = models.CharField(max_length=6, blank=True, editable=False)
    chain = models.JSONField(_("tier chain at report time"), default=dict, editable=False)
    reporter = models.ForeignKey(
        USER,
        verbose_name=_("reporter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reporter_name = models.CharField(_("reporter's name"), max_length=50, blank=True)
    reporter_phone_masked = models.CharField(_("reporter's phone"), max_length=20, blank=True)
    reporter_phone_ciphertext = models.TextField(blank=True, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    # Current holder: the tier and its area in the case's chain, a department, a person.
    tier = models.PositiveSmallIntegerField(_("tier"), choices=HANDLING_TIERS)
    holder_area = models.ForeignKey(
        Area, verbose_name=_("holding area"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
    )
    assignee = models.ForeignKey(
        USER,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The step on the clock and its deadlines; light is the last one recorded by supervision.
    step = models.CharField(_("step"), max_length=10, choices=Step.choices, blank=True)
    step_round = models.PositiveSmallIntegerField(default=0, editable=False)
    step_started_at = models.DateTimeField(_("step started"), null=True, blank=True)
    step_warn_at = models.DateTimeField(_("yellow light from"), null=True, blank=True)
    step_deadline = models.DateTimeField(_("step deadline"), null=True, blank=True)
    light = models.CharField(_("light"), max_length=6, choices=Light.choices, default=Light.GREEN)
    rework_count = models.PositiveSmallIntegerField(_("rework count"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("extensions"), default=0)
    extension_requested = models.BooleanField(_("extension requested"), default=False)
    return_count = models.PositiveSmallIntegerField(_("returned as wrongly dispatched"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    reported_at = models.DateTimeField(_("reported at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-id"]
        indexes = [
            area_code_index("area_code", "incident_area_code"),
            models.Index(fields=["status", "step_deadline"], name="incident_status_deadline"),
            models.Index(fields=["department", "status"], name="incident_department_queue"),
            models.Index(fields=["reported_at"], name="incident_reported_at"),
            models.Index(fields=["category", "reported_at"], name="incident_category_time"),
            # The supervision scan (casework.services.supervision) looks only at open cases on
            # the clock whose light is due to change: a range of one light's warning times or
            # deadlines. Partial, so the closed cases of years never enter these indexes.
            models.Index(
                fields=["light", "step_warn_at"],
                name="incident_clock_warn",
                condition=Q(status__in=CLOCKED_STATES, step_deadline__isnull=False),
            ),
            models.Index(
                fields=["light", "step_deadline"],
                name="incident_clock_deadline",
                condition=Q(status__in=CLOCKED_STATES, step_deadline__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class IncidentEvent(models.Model):
    """Append-only history of a case: who (or the system), in which role, when, from → to."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=12, blank=True)
    to_status = models.CharField(_("to"), max_length=12, blank=True)
    actor = models.ForeignKey(
        USER,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    role = models.CharField(_("role"), max_length=30, blank=True)
    at = models.DateTimeField(_("at"))
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="incident_event_time")]


class PhotoStage(models.TextChoices):
    REPORT = "report", _("as reported")
    HANDLED = "handled", _("after handling")
    CHECK = "check", _("on-site check")


class IncidentPhoto(models.Model):
    """A photo, re-encoded on save (metadata dropped), served only to users who may see the
    case. Stored under a random name outside any public URL."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(
        IncidentEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="photos"
    )
    stage = models.CharField(_("stage"), max_length=8, choices=PhotoStage.choices)
    image = models.FileField(_("image"), upload_to="incident-photos/%Y/%m/")
    content_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["uploaded_at", "id"]


class SupervisionLevel(models.TextChoices):
    YELLOW = "yellow", _("yellow light")  # ≥ 80 % of the step's time used
    RED = "red", _("red light")  # overdue: 督办


class SupervisionRecord(models.Model):
    """A light change found by the supervision scan. One row per case × step × round ×
    level, enforced by the database, so a scan run twice or by two beat processes records
    and notifies once."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="supervision_records"
    )
    step = models.CharField(_("step"), max_length=10, choices=Step.choices)
    step_round = models.PositiveSmallIntegerField()
    level = models.CharField(_("level"), max_length=6, choices=SupervisionLevel.choices)
    recorded_at = models.DateTimeField(_("recorded at"))
    deadline = models.DateTimeField(_("deadline"))
    supervising_area = models.ForeignKey(
        Area, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("supervision record")
        verbose_name_plural = _("supervision records")
        ordering = ["-recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "step", "step_round", "level"], name="supervision_once"
            )
        ]


class IndicatorDefinition(models.Model):
    """An evaluation indicator (综合评价) as data: value = numerator ÷ denominator, where both
    name metrics computed in SQL (casework.selectors.indicators.METRICS), or a weighted sum of
    other indicators (department score). Administrators adjust formulas and weights here."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    subject = models.CharField(
        _("applies to"),
        max_length=12,
        choices=[
            ("area", _("area")),
            ("department", _("department")),
            ("inspector", _("inspector")),
        ],
        default="area",
    )
    numerator = models.CharField(_("numerator metric"), max_length=40, blank=True)
    denominator = models.CharField(_("denominator metric"), max_length=40, blank=True)
    complement = models.BooleanField(
        _("one minus the ratio"), default=False, help_text=_("e.g. 1 − 返工率")
    )
    weights = models.JSONField(
        _("weighted sum of indicators"),
        default=dict,
        blank=True,
        help_text=_('{"indicator code": weight, …}; used instead of numerator/denominator.'),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Grade(models.Model):
    """Score bands of the evaluation (A 90–100, B 75–90 …): a score gets the grade of the
    highest band whose minimum it reaches."""

    letter = models.CharField(_("grade"), max_length=2, unique=True)
    minimum = models.DecimalField(_("minimum score"), max_digits=5, decimal_places=2, unique=True)

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["-minimum"]

    def __str__(self) -> str:
        return f"{self.letter} ≥ {self.minimum}"
