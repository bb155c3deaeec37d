"""The four-tier spatial model: areas of five levels, departments, assignments, calendar."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .querysets import AreaQuerySet, AssignmentQuerySet


class AreaLevel(models.IntegerChoices):
    CITY = 1, _("city")
    DISTRICT = 2, _("district")
    STREET = 3, _("street")
    COMMUNITY = 4, _("community")
    GRID = 5, _("grid cell")


def _today():
    return timezone.localdate()


class Area(models.Model):
    """One area of any level. A row is one version: a changed boundary retires the old row
    (valid_to set) and a new row with the same code becomes current, so cases that point at
    the old row keep the boundary they were reported in."""

    code = models.CharField(_("code"), max_length=15)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=AreaLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent area"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    boundary = models.MultiPolygonField(_("boundary"), srid=4326, null=True, blank=True)
    valid_from = models.DateField(_("valid from"), default=_today)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(valid_to__isnull=True), name="area_current_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="area_validity_ordered",
            ),
            models.CheckConstraint(
                condition=(
                    Q(level=AreaLevel.CITY, code__regex=r"^[0-9]{4}$", parent__isnull=True)
                    | Q(level=AreaLevel.DISTRICT, code__regex=r"^[0-9]{6}$")
                    | Q(level=AreaLevel.STREET, code__regex=r"^[0-9]{9}$")
                    | Q(level=AreaLevel.COMMUNITY, code__regex=r"^[0-9]{12}$")
                    | Q(level=AreaLevel.GRID, code__regex=r"^[0-9]{14,15}$")
                ),
                name="area_code_matches_level",
            ),
        ]
        indexes = [
            # Subtree queries are code-prefix queries: LIKE 'prefix%' needs pattern ops.
            models.Index(
                fields=["code"], name="area_code_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["level", "code"], name="area_level_code"),
            # Locate looks only at current grid cells. Declared on the expression F("boundary"),
            # not fields=["boundary"]: Django's PostGIS schema editor builds a spatial index on
            # a field without its condition (Django ticket #36694), and the index would hold
            # every level and every version.
            GistIndex(
                F("boundary"),
                name="area_current_cell_boundary",
                condition=Q(level=AreaLevel.GRID, valid_to__isnull=True),
            ),
            # Bulk locate reads code, name and parent of thousands of cells by id at a time:
            # from the index alone where the table's pages are all visible.
            models.Index(
                fields=["id"],
                include=["code", "name", "parent"],
                name="area_current_cell_chain",
                condition=Q(level=AreaLevel.GRID, valid_to__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class DepartmentKind(models.Model):
    """A kind of functional department (城管, 住建, 民政 …): data, so each city keeps its own list."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("department kind")
        verbose_name_plural = _("department kinds")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A functional department sitting on one area of some tier (e.g. 渝水区城管局)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.ForeignKey(DepartmentKind, verbose_name=_("kind"), on_delete=models.PROTECT)
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="departments"
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["area__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["area", "name"], name="department_name_per_area")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    COMMUNITY_STAFF = "community_staff", _("community staff")
    GRID_INSPECTOR = "grid_inspector", _("grid inspector")
    STREET_OFFICER = "street_officer", _("street officer")
    DISTRICT_OFFICER = "district_officer", _("district officer")
    DEPARTMENT_HANDLER = "department_handler", _("department handler")
    CITY_MANAGER = "city_manager", _("city manager")


class Assignment(models.Model):
    """A user works in a role for an area (and, for handlers, a department on that area).
    The user's scope is the union of the subtrees of their active assignments."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="assignments",
    )
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "area", "role", "department"],
                name="assignment_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(role="department_handler", department__isnull=False)
                | (~Q(role="department_handler") & Q(department__isnull=True)),
                name="assignment_department_iff_handler",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.area}"


class CalendarSource(models.TextChoices):
    PACKAGE = "package", _("official schedule (chinesecalendar)")
    WEEKDAY = "weekday", _("weekday rule, schedule not yet published")
    ADMIN = "admin", _("corrected by an administrator")


class CalendarDay(models.Model):
    """One date of the working calendar. Public holidays and make-up working weekends (调休)
    come from the official schedule; an administrator may correct any day."""

    date = models.DateField(_("date"), primary_key=True)
    is_workday = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=60, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=CalendarSource.choices, default=CalendarSource.ADMIN
    )

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'workday' if self.is_workday else 'rest day'}"


class WorkingPeriod(models.Model):
    """Office hours of a working day (e.g. 09:00–12:00 and 13:30–17:30), for deadlines in
    working hours."""

    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        verbose_name = _("working period")
        verbose_name_plural = _("working periods")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="period_ordered")
        ]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


class Sequence(models.Model):
    """Named counters for readable numbers (application and case numbers). Incremented in
    one statement (grid.services.sequences), so concurrent users never get the same number."""

    key = models.CharField(max_length=80, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class LocateTileGrid(models.Model):
    """The regular lon/lat tiling that LocateTileBlock rows are laid on (one row, id 1).

    Tile (i, j) spans west + i·tile_size ≤ lon < west + (i + 1)·tile_size, and the same in
    latitude from south, for any integers i, j, so the tile of any point can be computed.
    The tile size is chosen from the typical size of the current grid cells when the tiles
    are built from scratch (grid.services.locate_tiles)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    west = models.FloatField()
    south = models.FloatField()
    tile_size = models.FloatField(help_text="degrees")
    built_at = models.DateTimeField()

    class Meta:
        verbose_name = _("locate tile grid")
        verbose_name_plural = _("locate tile grids")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="locate_tile_grid_single_row"),
            models.CheckConstraint(condition=Q(tile_size__gt=0), name="locate_tile_grid_size"),
        ]

    def __str__(self) -> str:
        return f"{self.tile_size:g}° tiles from ({self.west:g}, {self.south:g})"


class LocateTileBlock(models.Model):
    """What locate needs to know about 16 × 16 tiles of LocateTileGrid: derived from the
    current grid cells' boundaries by grid.services.locate_tiles and rebuilt, in the same
    transaction, by every service that changes them.

    `key` is bi·2³² + bj for the block (bi, bj) = (i >> 4, j >> 4) of tile (i, j). `map` has a
    byte per tile, at (j & 15)·16 + (i & 15): 0, no cell touches the tile; 1–127, the tile lies
    strictly inside cells[v] (1-based) and touches no other cell; 128–254, the tile touches
    the cells of candidate set v − 127; 255, not tabulated (locate takes the exact path).
    Candidate set k is sets[(k − 1)·set_width + 1 … k·set_width], 1-based indexes into cells,
    padded with 0. Cells are numbered in code order."""

    key = models.BigIntegerField(primary_key=True)
    cells = ArrayField(models.BigIntegerField())
    map = models.BinaryField()
    set_width = models.PositiveSmallIntegerField(default=0)
    sets = ArrayField(models.SmallIntegerField(), null=True)

    class Meta:
        verbose_name = _("locate tile block")
        verbose_name_plural = _("locate tile blocks")

    def __str__(self) -> str:
        return f"block {self.key}"


class Notification(models.Model):
    """An in-app notification to one user (a case's light changed, an application arrived
    in a queue …). `link` is a path inside the system."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox")
        ]

    def __str__(self) -> str:
        return self.title
