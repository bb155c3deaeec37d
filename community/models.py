"""Residents and households, facilities (部件), the service catalogue, delegation to counters,
and applications at the counters (DOMAIN.md §4)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from grid.models import Area, AreaLevel, Department, DepartmentKind

USER = settings.AUTH_USER_MODEL


def area_code_index(field: str, name: str) -> models.Index:
    """A pattern-ops index on an area code column, for scope (code-prefix) filters."""
    return models.Index(fields=[field], name=name, opclasses=["varchar_pattern_ops"])


# ---------------------------------------------------------------- residents and households


class CareTag(models.Model):
    """A care category (独居老人, 残疾人, 低保, 优抚对象 …): data, each city keeps its own."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("care tag")
        verbose_name_plural = _("care tags")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    """A household (户) registered in a community."""

    number = models.CharField(_("household number"), max_length=30)
    community = models.ForeignKey(
        Area, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+"
    )
    grid_cell = models.ForeignKey(
        Area,
        verbose_name=_("grid cell"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The code of the smallest area the record is placed in (the cell, else the community):
    # the key every scope filter uses.
    area_code = models.CharField(_("area code"), max_length=15, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(fields=["community", "number"], name="household_number_unique")
        ]
        indexes = [area_code_index("area_code", "household_area_code")]

    def __str__(self) -> str:
        return self.number


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class Resident(models.Model):
    """A resident. The ID number and phone are stored encrypted (community.pii) with a keyed
    lookup digest; only masked forms are stored in clear."""

    name = models.CharField(_("name"), max_length=50)
    id_number_ciphertext = models.TextField(editable=False)
    id_number_digest = models.CharField(max_length=64, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    birth_date = models.DateField(_("birth date"), editable=False)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, editable=False)
    phone_ciphertext = models.TextField(blank=True, editable=False)
    phone_digest = models.CharField(max_length=64, blank=True, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True, editable=False)
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    relation_to_head = models.CharField(
        _("relation to head of household"), max_length=20, blank=True
    )
    community = models.ForeignKey(
        Area, verbose_name=_("community"), on_delete=models.PROTECT, related_name="+"
    )
    grid_cell = models.ForeignKey(
        Area,
        verbose_name=_("grid cell"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    area_code = models.CharField(_("area code"), max_length=15, editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    care_tags = models.ManyToManyField(CareTag, verbose_name=_("care tags"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        # The digests are declared here rather than with unique=True / db_index=True on the
        # fields: for those Django also builds a second, pattern-ops index on PostgreSQL, which
        # no query of a digest uses and which made every insert a quarter slower.
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_digest"], name="resident_id_number_digest_unique"
            )
        ]
        indexes = [
            area_code_index("area_code", "resident_area_code"),
            models.Index(fields=["phone_digest"], name="resident_phone_digest"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked}"


class PersonalField(models.TextChoices):
    ID_NUMBER = "id_number", _("ID number")
    PHONE = "phone", _("phone")


class PersonalDataAccess(models.Model):
    """Append-only audit of every read of a full ID number or phone number."""

    user = models.ForeignKey(USER, verbose_name=_("user"), on_delete=models.PROTECT)
    resident = models.ForeignKey(
        Resident, verbose_name=_("resident"), on_delete=models.PROTECT, related_name="accesses"
    )
    field = models.CharField(_("field"), max_length=20, choices=PersonalField.choices)
    purpose = models.CharField(_("purpose"), max_length=200)
    accessed_at = models.DateTimeField(_("accessed at"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        ordering = ["-accessed_at"]


# ---------------------------------------------------------------- facilities (部件)


class FacilityCategory(models.Model):
    """A component (部件) class: major + minor class code under a named code scheme
    (4-digit GB/T 30428 tradition, 5-digit GB/T 47678.5), so both schemes live side by side."""

    scheme = models.CharField(_("code scheme"), max_length=40)
    code = models.CharField(_("code"), max_length=5)
    major_code = models.CharField(_("major class code"), max_length=2)
    major_name = models.CharField(_("major class"), max_length=40)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("facility category")
        verbose_name_plural = _("facility categories")
        ordering = ["scheme", "code"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="facility_category_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class FacilityState(models.TextChoices):
    INTACT = "intact", _("intact")  # 完好
    DAMAGED = "damaged", _("damaged")  # 破损
    LOST = "lost", _("lost")  # 丢失
    OCCUPIED = "occupied", _("occupied")  # 占用


class Facility(models.Model):
    """A managed component: 6-digit county code + class code + 6-digit serial
    (16 digits with 4-digit class codes, e.g. 3205080101000001)."""

    code = models.CharField(_("component code"), max_length=17, unique=True)
    category = models.ForeignKey(
        FacilityCategory, verbose_name=_("category"), on_delete=models.PROTECT
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    location = models.PointField(_("location"), srid=4326)
    grid_cell = models.ForeignKey(
        Area, verbose_name=_("grid cell"), on_delete=models.PROTECT, related_name="+"
    )
    area_code = models.CharField(_("area code"), max_length=15, editable=False)
    owner_department = models.ForeignKey(
        Department,
        verbose_name=_("owner department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="facilities",
    )
    state = models.CharField(
        _("state"), max_length=10, choices=FacilityState.choices, default=FacilityState.INTACT
    )
    last_inspected_on = models.DateField(_("last inspection"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        indexes = [area_code_index("area_code", "facility_area_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.category.name}"


class FacilityStateChange(models.Model):
    """Append-only history of a facility's state."""

    facility = models.ForeignKey(
        Facility, verbose_name=_("facility"), on_delete=models.CASCADE, related_name="state_changes"
    )
    from_state = models.CharField(_("from"), max_length=10, choices=FacilityState.choices)
    to_state = models.CharField(_("to"), max_length=10, choices=FacilityState.choices)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    changed_by = models.ForeignKey(
        USER, verbose_name=_("changed by"), on_delete=models.PROTECT, null=True, blank=True
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    reference = models.CharField(_("reference"), max_length=40, blank=True)  # e.g. a case number

    class Meta:
        verbose_name = _("facility state change")
        verbose_name_plural = _("facility state changes")
        ordering = ["changed_at", "id"]


# ---------------------------------------------------------------- service catalogue


class ItemType(models.TextChoices):
    PERMIT = "permit", _("administrative permit")  # 行政许可
    BENEFIT = "benefit", _("administrative benefit")  # 行政给付
    CONFIRMATION = "confirmation", _("administrative confirmation")  # 行政确认
    PUBLIC_SERVICE = "public_service", _("public service")  # 公共服务
    OTHER = "other", _("other administrative power")  # 其他行政权力


class ItemKind(models.TextChoices):
    IMMEDIATE = "immediate", _("immediate")  # 即办件
    PROMISED = "promised", _("promised")  # 承诺件


class ServiceObject(models.TextChoices):
    PERSON = "person", _("natural person")
    LEGAL_ENTITY = "legal_entity", _("legal person")
    BOTH = "both", _("natural and legal persons")


class ServiceItem(models.Model):
    """A government service item with the elements of its guide (办事指南, DOMAIN.md §4)."""

    name = models.CharField(_("name"), max_length=120)
    item_type = models.CharField(_("item type"), max_length=20, choices=ItemType.choices)
    basic_code = models.CharField(_("basic code"), max_length=40)
    implementation_code = models.CharField(_("implementation code"), max_length=60, unique=True)
    handling_code = models.CharField(_("handling item code"), max_length=80, blank=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    exercise_level = models.PositiveSmallIntegerField(
        _("level that exercises it"), choices=AreaLevel.choices
    )
    implementing_body = models.CharField(_("implementing body"), max_length=100)
    implementing_body_credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True
    )
    department_kind = models.ForeignKey(
        DepartmentKind,
        verbose_name=_("reviewing department kind"),
        on_delete=models.PROTECT,
        related_name="service_items",
    )
    legal_basis = models.TextField(_("legal basis"), blank=True)
    conditions = models.TextField(_("acceptance conditions"), blank=True)
    procedure = models.TextField(_("procedure"), blank=True)
    handling_form = models.CharField(_("handling form"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind.choices)
    legal_limit_days = models.PositiveSmallIntegerField(_("legal time limit (working days)"))
    promised_limit_days = models.PositiveSmallIntegerField(_("promised time limit (working days)"))
    fee = models.DecimalField(_("fee (yuan)"), max_digits=10, decimal_places=2, default=0)
    fee_basis = models.CharField(_("fee basis"), max_length=200, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    hours = models.CharField(_("hours"), max_length=200, blank=True)
    visits_needed = models.PositiveSmallIntegerField(_("visits needed"), default=1)
    in_hall = models.BooleanField(_("handled in the hall"), default=True)
    tongban_area = models.ForeignKey(
        Area,
        verbose_name=_("通办 scope"),
        help_text=_("Any counter inside this area may accept the item (e.g. the city: 全城通办)."),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    service_object = models.CharField(
        _("service object"), max_length=20, choices=ServiceObject.choices
    )
    consult_phone = models.CharField(_("consultation phone"), max_length=40, blank=True)
    complaint_phone = models.CharField(_("complaint phone"), max_length=40, blank=True)
    delegate_to_level = models.PositiveSmallIntegerField(
        _("should be delegated to counters of"),
        choices=[
            (AreaLevel.STREET, AreaLevel.STREET.label),
            (AreaLevel.COMMUNITY, AreaLevel.COMMUNITY.label),
        ],
        null=True,
        blank=True,
    )
    requires_joint_handling = models.BooleanField(_("needs joint handling"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        ordering = ["implementation_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(promised_limit_days__lte=models.F("legal_limit_days")),
                name="item_promise_within_legal_limit",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MaterialType(models.Model):
    """A kind of document (居民身份证, 户口簿, 残疾人证 …) that several items may ask for; a
    resident's copy on file may be reused while valid."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    valid_days = models.PositiveIntegerField(
        _("valid for (days)"), null=True, blank=True, help_text=_("Empty: does not expire.")
    )

    class Meta:
        verbose_name = _("material type")
        verbose_name_plural = _("material types")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class MaterialForm(models.TextChoices):
    ORIGINAL = "original", _("original")
    COPY = "copy", _("copy")
    ORIGINAL_AND_COPY = "both", _("original and copy")


class ServiceMaterial(models.Model):
    """One material an item asks for."""

    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("service item"),
        on_delete=models.CASCADE,
        related_name="materials",
    )
    material_type = models.ForeignKey(
        MaterialType, verbose_name=_("material type"), on_delete=models.PROTECT
    )
    form = models.CharField(_("form"), max_length=10, choices=MaterialForm.choices)
    copies = models.PositiveSmallIntegerField(_("copies"), default=1)
    required = models.BooleanField(_("required"), default=True)
    reusable = models.BooleanField(_("reusable"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("service material")
        verbose_name_plural = _("service materials")
        ordering = ["item", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "material_type"], name="material_once_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.item} · {self.material_type}"


class DelegationPower(models.TextChoices):
    ACCEPT_FORWARD = "accept_forward", _("accept and forward")  # 收件受理，转部门审批
    DECIDE = "decide", _("decide on the spot")  # 即收即办


class Delegation(models.Model):
    """An item delegated (事项下沉) to a counter: a community or a street."""

    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("service item"),
        on_delete=models.CASCADE,
        related_name="delegations",
    )
    counter = models.ForeignKey(
        Area, verbose_name=_("counter"), on_delete=models.PROTECT, related_name="delegations"
    )
    counter_code = models.CharField(max_length=15, editable=False)
    power = models.CharField(_("power"), max_length=20, choices=DelegationPower.choices)
    since = models.DateField(_("since"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            models.UniqueConstraint(fields=["item", "counter"], name="delegation_unique")
        ]
        indexes = [area_code_index("counter_code", "delegation_counter_code")]


class DelegationAction(models.TextChoices):
    GRANT = "grant", _("granted")
    REVOKE = "revoke", _("withdrawn")


class DelegationEvent(models.Model):
    """Append-only history of a delegation: who granted or withdrew it, when, with what power.
    `actor` is empty for delegations written by a seed command."""

    delegation = models.ForeignKey(
        Delegation, verbose_name=_("delegation"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=10, choices=DelegationAction.choices)
    power = models.CharField(_("power"), max_length=20, choices=DelegationPower.choices)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        USER,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("delegation event")
        verbose_name_plural = _("delegation events")
        ordering = ["at", "id"]


# ---------------------------------------------------------------- applications


class ApplicationStatus(models.TextChoices):
    RECEIVED = "received", _("received")  # 收件
    CORRECTION = "correction", _("waiting for materials")  # 补齐补正: clock paused
    REFUSED = "refused", _("refused")  # 不予受理
    ACCEPTED = "accepted", _("accepted")  # 受理
    FORWARDED = "forwarded", _("forwarded for review")  # 转部门审核
    SUSPENDED = "suspended", _("suspended")  # 挂起: clock paused
    APPROVED = "approved", _("approved")  # 办结（准予）
    DENIED = "denied", _("denied")  # 办结（不予许可）
    ISSUED = "issued", _("result issued")  # 送达 / 出件


class Channel(models.TextChoices):
    COUNTER = "counter", _("at the counter")
    ONLINE = "online", _("online")


class Delivery(models.TextChoices):
    PICKUP = "pickup", _("picked up at the counter")
    POST = "post", _("by post")
    GRID_WORKER = "grid_worker", _("delivered by the grid worker")


class Application(models.Model):
    """One application at a counter, from receipt to the issued result and its rating.

    The clock runs in working time from receipt; it pauses while the applicant supplies
    missing materials (correction) and while suspended. `deadline` is the promised deadline
    and `warn_at` the moment 80 % of the promised working time is used, both moved on by the
    paused working time whenever the clock resumes, so the light (green / yellow / red) is a
    comparison with now that SQL can filter and sort on.
    """

    number = models.CharField(_("application number"), max_length=40, unique=True)
    item = models.ForeignKey(
        ServiceItem, verbose_name=_("service item"), on_delete=models.PROTECT, related_name="+"
    )
    applicant = models.ForeignKey(
        Resident,
        verbose_name=_("applicant"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    counter = models.ForeignKey(
        Area, verbose_name=_("counter"), on_delete=models.PROTECT, related_name="+"
    )
    counter_code = models.CharField(max_length=15, editable=False)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.COUNTER
    )
    status = models.CharField(_("status"), max_length=12, choices=ApplicationStatus.choices)
    status_before_pause = models.CharField(
        max_length=12, choices=ApplicationStatus.choices, blank=True, editable=False
    )
    power = models.CharField(_("counter's power"), max_length=20, choices=DelegationPower.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("reviewing department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
    )
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        USER, verbose_name=_("received by"), on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    forwarded_at = models.DateTimeField(_("forwarded at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    decided_on_spot = models.BooleanField(_("decided on the spot"), default=False)
    handled_jointly = models.BooleanField(_("handled jointly"), default=False)
    deadline = models.DateTimeField(_("promised deadline"))
    warn_at = models.DateTimeField(_("yellow light from"))
    legal_deadline = models.DateTimeField(_("legal deadline"))
    paused_since = models.DateTimeField(_("clock paused since"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("paused working time (s)"), default=0)
    delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices, blank=True)
    delivered_by = models.ForeignKey(
        USER,
        verbose_name=_("delivered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-received_at", "-id"]
        indexes = [
            area_code_index("counter_code", "application_counter_code"),
            models.Index(fields=["status", "deadline"], name="application_status_deadline"),
            models.Index(fields=["department", "status"], name="application_department_queue"),
            models.Index(fields=["received_at"], name="application_received_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="application_rating_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return self.number


class MaterialStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    REUSED = "reused", _("on file, reused")
    MISSING = "missing", _("missing")


class ResidentMaterial(models.Model):
    """A material a resident has provided, kept so later applications can reuse it."""

    resident = models.ForeignKey(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="materials"
    )
    material_type = models.ForeignKey(
        MaterialType, verbose_name=_("material type"), on_delete=models.PROTECT
    )
    received_at = models.DateTimeField(_("received at"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    source_application = models.ForeignKey(
        "Application",
        verbose_name=_("received with application"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("material on file")
        verbose_name_plural = _("materials on file")
        ordering = ["resident", "material_type", "-received_at"]
        indexes = [models.Index(fields=["resident", "material_type"], name="resident_material")]

    def __str__(self) -> str:
        return f"{self.resident} · {self.material_type}"


class ApplicationMaterial(models.Model):
    """What happened to one required material of an application."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    requirement = models.ForeignKey(ServiceMaterial, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=MaterialStatus.choices)
    reused_from = models.ForeignKey(
        ResidentMaterial, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("application material")
        verbose_name_plural = _("application materials")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "requirement"], name="application_material_once"
            )
        ]


class ApplicationEvent(models.Model):
    """Append-only history of an application: who did what, in which role, when."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=12, blank=True)
    to_status = models.CharField(_("to"), max_length=12, blank=True)
    actor = models.ForeignKey(
        USER, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("role"), max_length=30, blank=True)
    at = models.DateTimeField(_("at"))
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("application event")
        verbose_name_plural = _("application events")
        ordering = ["at", "id"]


class NoticeKind(models.TextChoices):
    ACCEPTANCE = "acceptance", _("acceptance notice")  # 受理通知书
    CORRECTION = "correction", _("correction notice")  # 补正材料通知书（一次性告知）
    REFUSAL = "refusal", _("refusal notice")  # 不予受理通知书
    COMPLETION = "completion", _("completion notice")  # 办结通知书
    DENIAL = "denial", _("denial notice")  # 不予许可通知书


class Notice(models.Model):
    """A notice handed to the applicant. Its content is a snapshot taken when it is issued,
    so a reprint shows exactly what the applicant received."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(_("kind"), max_length=12, choices=NoticeKind.choices)
    number = models.CharField(_("notice number"), max_length=60, unique=True)
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        USER, verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="+"
    )
    content = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["issued_at", "id"]

    def __str__(self) -> str:
        return self.number


class Complaint(models.Model):
    """A complaint about an application (for 投诉率)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="complaints"
    )
    received_at = models.DateTimeField(_("received at"))
    content = models.TextField(_("content"))
    substantiated = models.BooleanField(_("substantiated"), null=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at"]
