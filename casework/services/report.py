"""Filing a report (信息收集): a new case, located, routed, numbered and on the clock.

Who may report:
- a grid inspector, on their own grid cells (source inspector or staff);
- staff and officers of any role (community staff, street and district officers, department
  handlers, city managers), inside their areas (source staff);
- hotline (12345) and citizen reports are taken by city managers, inside their city;
- a point in no grid cell goes to the city's unlocated queue, so only a city manager of that
  city may file it (whatever the source) — others are told the point lies outside their
  areas;
- superusers everywhere; `actor=None` is the system itself (a trusted intake that checked its
  caller on its own), recorded as no one.
A report outside one's areas is refused with 403 and the reason.

A report whose point lies in no current grid cell is not lost: it is kept with no cell, area
code = the city's code (the city whose boundary is nearest the point), held by the city with
no department, in the status reported — the unlocated queue that only the city's managers
see, to triage.

Batch intake (incidents_report_batch): an inspector's phone uploads the reports it queued
offline in one go, the 12345 hotline system forwards its reports in batches. Each report of a
batch gets exactly what incident_report would give it (the same checks and reasons, cell,
chain, routing, clock, number format, history and idempotency), but the work is done for the
whole batch at once: one locate, one read of the actor's assignments, the categories and
their limits, one routing (rules and chain areas read once), one block of case numbers per
district, the cases and their history written with one statement each, the likely duplicates
found with one statement. A bad report is refused on its own; the good ones are written.
incident_report is the same path with a batch of one.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.models import F, JSONField
from django.utils import timezone
from django.utils.translation import gettext as _

from community import pii
from community.models import Facility, FacilityCategory
from grid.errors import Conflict, DomainError, Forbidden, InvalidInput
from grid.models import Area, AreaLevel, Assignment, Role
from grid.scope import Scope
from grid.selectors.locate import Location, coordinate_errors, locate_point, locate_points
from grid.services.sequences import sequence_next_block

from ..access import CaseAccess
from ..deadlines import StepClock, calendar_for, step_clock
from ..models import (
    Category,
    CategoryDeadline,
    CategoryKind,
    Incident,
    IncidentEvent,
    PhotoStage,
    Source,
    Status,
    Step,
)
from ..photos import CleanPhoto, photos_clean
from ..selectors.duplicates import DuplicateProbe, incident_duplicates_many
from .photos import incident_photos_add
from .routing import (
    SUPERUSER_ROLE,
    SYSTEM_ROLE,
    Route,
    RouteRequest,
    escalation_events,
    route_many,
)

# A facility named by a component report must lie this close to the reported point, or
# within the category's duplicate radius when that is wider: phone positions are often tens
# of metres off.
FACILITY_RADIUS_MIN_M = 50
# How far ahead of the server's clock a report's time may be (a phone's clock drifts).
FUTURE_TOLERANCE = timedelta(minutes=5)
_PHONE = re.compile(r"^\+?[0-9]{5,20}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")

# The role a staff report is recorded under when several of the reporter's roles cover it.
STAFF_ROLE_ORDER = (
    Role.CITY_MANAGER,
    Role.DISTRICT_OFFICER,
    Role.STREET_OFFICER,
    Role.COMMUNITY_STAFF,
    Role.DEPARTMENT_HANDLER,
    Role.GRID_INSPECTOR,
)
UNLOCATED_DISTRICT_SUFFIX = "00"

# The fields of one report of a batch (incident_report's keyword arguments but the photos).
REPORT_FIELDS = (
    "source",
    "category",
    "lon",
    "lat",
    "description",
    "address",
    "facility",
    "external_id",
    "reporter_name",
    "reporter_phone",
    "at",
)
REQUIRED_FIELDS = ("source", "category", "lon", "lat", "description")

CREATED = "created"
EXISTING = "existing"
REJECTED = "rejected"


@dataclass(frozen=True)
class ReportResult:
    """The case, whether this call created it (False: its external id was seen before and
    the same case is returned, nothing written), and the likely duplicates the reporter may
    see: open cases of the category nearby, reported shortly before (nearest first, each
    with distance_m)."""

    incident: Incident
    created: bool
    duplicates: list[Incident]


@dataclass(frozen=True)
class BatchOutcome:
    """What became of the report at `index` of a batch: `status` created (a new case),
    existing (its external id was seen before from the same reporter: that case, nothing
    written) or rejected (`http_status` 422, 403 or 409 — what incident_report would answer
    —, the `message` and the `errors` per field). `number` and `incident` for a created or
    existing case; `duplicates`: the numbers of its likely duplicates the reporter may see,
    nearest first."""

    index: int
    status: str
    number: str = ""
    incident: Incident | None = None
    duplicates: tuple[str, ...] = ()
    http_status: int | None = None
    message: str = ""
    errors: dict = field(default_factory=dict)


@dataclass(slots=True)
class _Report:
    """One report of an intake on its way: its checked fields, then what each step found.
    `error` set: refused; `existing` set: its external id was seen before."""

    index: int
    source: str
    category: Category
    lon: float
    lat: float
    description: str
    address: str
    facility: Facility | int | None
    external_id: str | None
    reporter_name: str
    reporter_phone: str
    at: datetime
    photos: list = field(default_factory=list)
    location: Location | None = None
    city: Area | None = None
    area_code: str = ""
    district_code: str = ""
    role: str = ""
    facility_id: int | None = None
    cleaned: list[CleanPhoto] = field(default_factory=list)
    routed: Route | None = None
    existing: Incident | None = None
    incident: Incident | None = None
    events: list[IncidentEvent] = field(default_factory=list)
    error: DomainError | None = None
    duplicates: list[Incident] = field(default_factory=list)


def _category(category, errors: dict[str, str], known: dict[int, Category]) -> Category | None:
    """The report's category (given or by id, from `known`: the batch's categories read at
    once), recording the reason when there is none or it is no longer in use."""
    if not isinstance(category, Category):
        found = (
            known.get(category)
            if isinstance(category, int) and not isinstance(category, bool)
            else None
        )
        if found is None:
            errors["category"] = _("there is no category %(id)s") % {"id": category}
            return None
        category = found
    if not category.active:
        errors["category"] = _("the category “%(category)s” is no longer in use") % {
            "category": category
        }
    return category


def _categories_read(values: list) -> dict[int, Category]:
    """The categories named by id among `values`, by id. One query (none when no ids)."""
    ids = {
        value
        for value in values
        if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    }
    if not ids:
        return {}
    return {
        category.pk: category
        for category in Category.objects.select_related("department_kind").filter(pk__in=ids)
    }


def _max_length(field: str) -> int:
    return Incident._meta.get_field(field).max_length


def _text(
    value, field: str, errors: dict[str, str], *, required: bool = False, limit: int | None = None
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = _("%(field)s must be text") % {"field": field}
        return ""
    value = value.strip()
    if required and not value:
        errors[field] = _("%(field)s is required") % {"field": field}
    if limit and len(value) > limit:
        errors[field] = _("%(field)s may have at most %(limit)d characters; got %(count)d") % {
            "field": field,
            "limit": limit,
            "count": len(value),
        }
    return value


def _phone(value: str, errors: dict[str, str]) -> str:
    if not value:
        return ""
    phone = _PHONE_SEPARATORS.sub("", value)
    if not _PHONE.match(phone):
        errors["reporter_phone"] = _(
            "reporter_phone must be a telephone number of 5 to 20 digits; got “%(value)s”"
        ) % {"value": value}
    return phone


def _moment(at, errors: dict[str, str], now: datetime) -> datetime:
    if at is None:
        return now
    if not isinstance(at, datetime) or timezone.is_naive(at):
        errors["at"] = _("at must be a date and time with its time zone")
        return now
    if at > now + FUTURE_TOLERANCE:
        errors["at"] = _("at lies in the future (%(at)s)") % {"at": at.isoformat()}
    return at


def _checked(index: int, fields, known: dict[int, Category], now: datetime) -> _Report:
    """One report's fields checked and cleaned, or InvalidInput naming every wrong field."""
    if not isinstance(fields, dict):
        raise InvalidInput(
            _("a report must be an object of fields"), details={"report": _("not an object")}
        )
    errors: dict[str, str] = {}
    for name in REQUIRED_FIELDS:
        if name not in fields:
            errors[name] = _("%(field)s is required") % {"field": name}
    for name in sorted(set(fields) - set(REPORT_FIELDS), key=str):
        errors[str(name)] = _("%(field)s is not a field of a report") % {"field": name}
    source = fields.get("source")
    if "source" in fields and source not in Source.values:
        errors["source"] = _("source must be one of %(choices)s; got “%(source)s”") % {
            "choices": ", ".join(Source.values),
            "source": source,
        }
    category = _category(fields["category"], errors, known) if "category" in fields else None
    description = _text(fields.get("description"), "description", errors, required=True)
    address = _text(fields.get("address"), "address", errors, limit=_max_length("address"))
    reporter_name = _text(
        fields.get("reporter_name"),
        "reporter_name",
        errors,
        limit=_max_length("reporter_name"),
    )
    reporter_phone = _phone(_text(fields.get("reporter_phone"), "reporter_phone", errors), errors)
    external_id = fields.get("external_id")
    if external_id is not None:
        external_id = (
            _text(
                external_id, "external_id", errors, required=True, limit=_max_length("external_id")
            )
            or None
        )
    lon, lat = fields.get("lon"), fields.get("lat")
    if "lon" in fields and "lat" in fields:
        errors.update(coordinate_errors(lon=lon, lat=lat))
    at = _moment(fields.get("at"), errors, now)
    if errors:
        raise InvalidInput("; ".join(errors.values()), details=errors)
    return _Report(
        index=index,
        source=source,
        category=category,
        lon=float(lon),
        lat=float(lat),
        description=description,
        address=address,
        facility=fields.get("facility"),
        external_id=external_id,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        at=at,
    )


# Raw SQL for the small reads of every intake: through the ORM, building each cost several
# times the database's own time (about 1 ms of Python per query on a two-core machine).
_ASSIGNMENTS_SQL = """
    SELECT assignment.role, area.code, assignment.department_id
    FROM {assignment} AS assignment
    JOIN {area} AS area ON area.id = assignment.area_id
    WHERE assignment.user_id = %s AND assignment.active AND area.valid_to IS NULL
"""
_DEADLINES_SQL = (
    "SELECT category_id, amount, unit FROM {deadline} WHERE category_id = ANY(%s) AND step = %s"
)
_FACILITIES_SQL = """
    SELECT probe.position, facility.id, facility.code, facility.category_id, kind.name,
           facility.area_code,
           ST_Distance(facility.location::geography,
                       ST_SetSRID(ST_MakePoint(probe.lon, probe.lat), 4326)::geography)
    FROM unnest(%s::int[], %s::bigint[], %s::float8[], %s::float8[])
         AS probe(position, facility, lon, lat)
    JOIN {facility} AS facility ON facility.id = probe.facility
    JOIN {kind} AS kind ON kind.id = facility.category_id
"""


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _assignments(actor) -> tuple[tuple[str, str, int | None], ...]:
    """(role, area code, department id) of the actor's active assignments to current areas."""
    sql = _ASSIGNMENTS_SQL.format(assignment=Assignment._meta.db_table, area=Area._meta.db_table)
    return tuple(_fetch(sql, [actor.pk]))


def _register_limits(categories: dict[int, Category]) -> dict[int, CategoryDeadline]:
    """The register step's limit of each category that sets one. One query."""
    rows = _fetch(
        _DEADLINES_SQL.format(deadline=CategoryDeadline._meta.db_table),
        [sorted(categories), Step.REGISTER],
    )
    return {
        category_id: CategoryDeadline(
            category=categories[category_id], step=Step.REGISTER, amount=amount, unit=unit
        )
        for category_id, amount, unit in rows
    }


def _seen(external_ids: list[str]) -> dict[str, Incident]:
    """The cases already filed under these external ids. One query (none for no ids)."""
    if not external_ids:
        return {}
    return {
        incident.external_id: incident
        for incident in Incident.objects.select_related("category").filter(
            external_id__in=external_ids
        )
    }


def _replay_allowed(*, existing: Incident, actor) -> None:
    """A report whose external id was seen before answers with that case, but only to the
    one who filed it."""
    actor_id = actor.pk if actor is not None else None
    if existing.reporter_id != actor_id and not (actor is not None and actor.is_superuser):
        raise Conflict(
            _("the external id %(id)s belongs to another report") % {"id": existing.external_id}
        )


def _reporter_role(*, actor, assignments, source: str, area_code: str, located: bool) -> str:
    """The role in which `actor` files this report, or Forbidden with the reason."""
    if actor is None:
        return SYSTEM_ROLE
    if actor.is_superuser:
        return SUPERUSER_ROLE
    roles = {role for role, _code, _department in assignments}
    covering = [role for role, code, _department in assignments if area_code.startswith(code)]
    only_inspector = roles == {Role.GRID_INSPECTOR}
    if not located:
        if Role.CITY_MANAGER in covering:
            return Role.CITY_MANAGER
        if only_inspector:
            raise Forbidden(
                _(
                    "the point lies in no grid cell, so outside your grid cells; only city "
                    "managers may file it, for the city to triage"
                )
            )
        raise Forbidden(
            _(
                "the point lies in no grid cell; only city managers may file it, for the city "
                "to triage"
            )
        )
    if source in (Source.HOTLINE, Source.CITIZEN):
        if Role.CITY_MANAGER in covering:
            return Role.CITY_MANAGER
        if Role.CITY_MANAGER in roles:
            raise Forbidden(
                _("the point lies in grid cell %(cell)s, outside your areas") % {"cell": area_code}
            )
        raise Forbidden(_("only city managers take hotline and citizen reports"))
    if source == Source.INSPECTOR:
        if Role.GRID_INSPECTOR in covering:
            return Role.GRID_INSPECTOR
        if Role.GRID_INSPECTOR in roles:
            raise Forbidden(
                _("the point lies in grid cell %(cell)s, outside your grid cells")
                % {"cell": area_code}
            )
        raise Forbidden(_("only grid inspectors report as inspectors"))
    for role in STAFF_ROLE_ORDER:
        if role in covering:
            return role
    if only_inspector:
        raise Forbidden(
            _("the point lies in grid cell %(cell)s, outside your grid cells") % {"cell": area_code}
        )
    raise Forbidden(
        _("the point lies in grid cell %(cell)s, outside your areas") % {"cell": area_code}
    )


def _unlocated_city(point: Point) -> Area:
    """The current city whose boundary is nearest the point (covering it: distance 0)."""
    city = (
        Area.objects.current()
        .filter(level=AreaLevel.CITY)
        .annotate(distance=Distance("boundary", point))
        .order_by(F("distance").asc(nulls_last=True), "code")
        .only("id", "code", "name")
        .first()
    )
    if city is None:
        raise InvalidInput(_("there is no city to keep a report outside every grid cell"))
    return city


def _chain(location: Location | None, city: Area | None) -> dict:
    if location is not None:
        return location.as_dict()
    return {
        "cell": None,
        "community": None,
        "street": None,
        "district": None,
        "city": {"id": city.id, "code": city.code, "name": city.name},
    }


def _events(
    *, incident: Incident, actor, role: str, at: datetime, routed: Route | None
) -> list[IncidentEvent]:
    reported = IncidentEvent(
        incident=incident,
        action="reported",
        from_status="",
        to_status=Status.REPORTED,
        actor=actor,
        role=role,
        at=at,
        note=""
        if routed is not None
        else _("the point lies in no grid cell; kept in the city's unlocated queue"),
        data={
            "source": incident.source,
            "tier": incident.tier,
            "department": incident.department_id,
            "unlocated": routed is None,
            "rule": routed.rule_id if routed is not None else None,
        },
    )
    if routed is None:
        return [reported]
    return [reported, *escalation_events(routed, incident=incident, status=Status.REPORTED, at=at)]


def _visible(cases: list[Incident], access: CaseAccess | None) -> list[Incident]:
    if access is None:
        return cases
    return [case for case in cases if access.may_see(case)]


def _access(actor, assignments) -> CaseAccess | None:
    """What the actor may see of other cases (None: the system, everything)."""
    if actor is None:
        return None
    superuser = bool(actor.is_superuser)
    return CaseAccess(
        user=actor,
        scope=Scope(
            prefixes=tuple(sorted({code for _role, code, _d in assignments})),
            everything=superuser,
        ),
        superuser=superuser,
        assignments=assignments,
    )


def _facility_id(facility):
    return facility.pk if isinstance(facility, Facility) else facility


def _facilities_read(reports: list[_Report]) -> dict[int, dict]:
    """The facility each component report names by id, with its distance in metres from the
    reported point, by the report's index. One query (none when no report names one)."""
    asking = [
        report
        for report in reports
        if report.category.kind == CategoryKind.COMPONENT
        and isinstance(_facility_id(report.facility), int)
        and not isinstance(_facility_id(report.facility), bool)
        and -(2**63) <= _facility_id(report.facility) < 2**63
    ]
    if not asking:
        return {}
    rows = _fetch(
        _FACILITIES_SQL.format(
            facility=Facility._meta.db_table, kind=FacilityCategory._meta.db_table
        ),
        [
            [report.index for report in asking],
            [_facility_id(report.facility) for report in asking],
            [report.lon for report in asking],
            [report.lat for report in asking],
        ],
    )
    keys = ("id", "code", "category_id", "category__name", "area_code", "distance_m")
    return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in rows}


def _check_facility(*, report: _Report, found: dict | None, scope: Scope) -> int:
    """The id of the facility a component report names (`found`: as _facilities_read read
    it), or InvalidInput with the reason."""
    category = report.category
    facility_id = _facility_id(report.facility)
    if category.kind != CategoryKind.COMPONENT:
        raise InvalidInput(
            _("only a component (部件) report may name a facility; “%(category)s” is an event")
            % {"category": category},
            details={"facility": facility_id},
        )
    if found is None or not scope.covers(found["area_code"]):
        raise InvalidInput(
            _("there is no facility %(id)s in your areas") % {"id": facility_id},
            details={"facility": _("no such facility in your areas")},
        )
    if found["category_id"] != category.facility_category_id:
        raise InvalidInput(
            _("facility %(code)s is a %(kind)s, not a %(wanted)s")
            % {"code": found["code"], "kind": found["category__name"], "wanted": category.name},
            details={"facility": _("the facility is of another category")},
        )
    radius = max(category.duplicate_radius_m, FACILITY_RADIUS_MIN_M)
    if found["distance_m"] > radius:
        reason = _(
            "facility %(code)s is %(distance).0f m from the reported point; it must be within "
            "%(radius)d m"
        ) % {"code": found["code"], "distance": found["distance_m"], "radius": radius}
        raise InvalidInput(
            reason, details={"facility": reason, "distance_m": round(found["distance_m"], 1)}
        )
    return found["id"]


def _is_external_id_clash(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return "external_id" in (getattr(diag, "constraint_name", None) or "")


def _each(reports: list[_Report], step) -> list[_Report]:
    """`step` done for each report; a report it refuses keeps the error and drops out."""
    kept = []
    for report in reports:
        try:
            step(report)
        except DomainError as exc:
            report.error = exc
        else:
            kept.append(report)
    return kept


def _not_replayed(reports: list[_Report], actor) -> list[_Report]:
    """The reports to file: those whose external id is new. A seen id answers with its case
    (or 409 for another reporter's id); an id twice in the batch refuses the second."""
    seen = _seen([report.external_id for report in reports if report.external_id is not None])
    taken: set[str] = set()
    kept = []
    for report in reports:
        if report.external_id is not None:
            if report.external_id in taken:
                report.error = Conflict(
                    _("the external id %(id)s comes twice in this batch")
                    % {"id": report.external_id},
                    details={"external_id": _("already in this batch")},
                )
                continue
            taken.add(report.external_id)
            existing = seen.get(report.external_id)
            if existing is not None:
                try:
                    _replay_allowed(existing=existing, actor=actor)
                except Conflict as exc:
                    report.error = exc
                else:
                    report.existing = existing
                continue
        kept.append(report)
    return kept


def _locate(reports: list[_Report]) -> list[_Report]:
    """Each report's grid cell and chain (one statement for all), or the unlocated queue's
    city (one query per report in no cell: such reports are few)."""
    # One point (incident_report): the single statement, cheaper than setting up the tiles'
    # search for a set; both give the same answer.
    locations = (
        [locate_point(lon=reports[0].lon, lat=reports[0].lat)]
        if len(reports) == 1
        else locate_points(points=[(report.lon, report.lat) for report in reports])
    )
    for report, location in zip(reports, locations, strict=True):
        report.location = location
        if location is not None:
            report.area_code = location.cell.code
            report.district_code = (
                location.district.code if location.district else report.area_code[:6]
            )

    def city(report: _Report) -> None:
        if report.location is None:
            report.city = _unlocated_city(Point(report.lon, report.lat, srid=4326))
            report.area_code = report.city.code

    return _each(reports, city)


def _clocks(reports: list[_Report]) -> dict[tuple[int, datetime], StepClock | None]:
    """The register step's clock of each report, by (category id, moment): worked out once
    for the reports of a batch that share both."""
    limits = _register_limits({report.category.id: report.category for report in reports})
    calendar = calendar_for(min(report.at for report in reports))
    clocks: dict[tuple[int, datetime], StepClock | None] = {}
    for report in reports:
        key = (report.category.id, report.at)
        if key not in clocks:
            clocks[key] = step_clock(
                limit=limits.get(report.category.id), started_at=report.at, calendar=calendar
            )
    return clocks


def _numbers(reports: list[_Report]) -> list[str]:
    """The case numbers of the reports, in order: one block of the counter of each year and
    district."""
    keys = [
        (
            timezone.localtime(report.at).year,
            report.district_code or report.area_code + UNLOCATED_DISTRICT_SUFFIX,
        )
        for report in reports
    ]
    wanted: dict[tuple[int, str], int] = defaultdict(int)
    for key in keys:
        wanted[key] += 1
    # Counters are locked in a fixed order, so two batches of several districts queue behind
    # each other instead of deadlocking.
    following = {
        key: sequence_next_block(key=f"incident:{key[0]}:{key[1]}", count=count)
        for key, count in sorted(wanted.items())
    }
    numbers = []
    for year, district in keys:
        numbers.append(f"{year}{district}{following[(year, district)]:06d}")
        following[(year, district)] += 1
    return numbers


def _incident(*, report: _Report, number: str, actor, clock: StepClock | None) -> Incident:
    location, routed = report.location, report.routed
    if routed is not None:
        tier, holder_area, department = routed.tier, routed.area, routed.department
    else:
        tier, holder_area, department = AreaLevel.CITY, report.city, None
    phone = report.reporter_phone
    return Incident(
        number=number,
        source=report.source,
        external_id=report.external_id,
        category=report.category,
        facility_id=report.facility_id,
        location=Point(report.lon, report.lat, srid=4326),
        address=report.address,
        description=report.description,
        grid_cell_id=location.cell.id if location is not None else None,
        area_code=report.area_code,
        district_code=report.district_code,
        chain=_chain(location, report.city),
        reporter=actor,
        reporter_name=report.reporter_name,
        reporter_phone_masked=pii.mask_phone(phone) if phone else "",
        reporter_phone_ciphertext=pii.encrypt(phone) if phone else "",
        status=Status.REPORTED,
        tier=tier,
        holder_area=holder_area,
        department=department,
        step=Step.REGISTER,
        step_started_at=report.at,
        step_warn_at=clock.warn_at if clock else None,
        step_deadline=clock.deadline if clock else None,
        escalation_count=len(routed.escalations) if routed is not None else 0,
        reported_at=report.at,
    )


@functools.cache
def _db_type(column) -> str:
    return column.db_type(connection)


def _insert_rows(objects: list) -> None:
    """Insert new instances of one model with one INSERT … SELECT FROM unnest (an array per
    column), in order, and set their ids. bulk_create builds a placeholder and prepares each
    value one by one: for a batch of 500 cases of 40-odd columns that cost more Python time
    than PostgreSQL took to insert them (measured on the benchmark's 1,000,000 cases)."""
    meta = type(objects[0])._meta
    columns, arrays, names, selects, params = [], [], [], [], []
    for column in meta.concrete_fields:
        if column.primary_key:
            continue
        values = [column.pre_save(instance, True) for instance in objects]
        name = f"c{len(columns)}"
        columns.append(connection.ops.quote_name(column.column))
        if isinstance(column, GeometryField):
            arrays += ["%s::float8[]", "%s::float8[]"]
            names += [f"{name}x", f"{name}y"]
            params += [[value.x for value in values], [value.y for value in values]]
            selects.append(f"ST_SetSRID(ST_MakePoint({name}x, {name}y), {column.srid})")
        elif isinstance(column, JSONField):
            arrays.append("%s::text[]")
            names.append(name)
            params.append([json.dumps(value, cls=column.encoder) for value in values])
            selects.append(f"{name}::jsonb")
        else:
            arrays.append(f"%s::{_db_type(column)}[]")
            names.append(name)
            params.append(values)
            selects.append(name)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} "
        f"FROM unnest({', '.join(arrays)}) WITH ORDINALITY AS row({', '.join(names)}, position) "
        f"ORDER BY position RETURNING {connection.ops.quote_name(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for instance, pk in zip(objects, ids, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias


def _write(reports: list[_Report], actor) -> None:
    """Number the reports and write their cases, history and photos: one statement for the
    cases, one for the events, whatever their number."""
    clocks = _clocks(reports)
    for report, number in zip(reports, _numbers(reports), strict=True):
        report.incident = _incident(
            report=report,
            number=number,
            actor=actor,
            clock=clocks[(report.category.id, report.at)],
        )
    _insert_rows([report.incident for report in reports])
    for report in reports:
        report.events = _events(
            incident=report.incident,
            actor=actor,
            role=report.role,
            at=report.at,
            routed=report.routed,
        )
    _insert_rows([event for report in reports for event in report.events])
    for report in reports:
        if report.cleaned:
            incident_photos_add(
                actor=actor,
                incident=report.incident,
                files=report.cleaned,
                stage=PhotoStage.REPORT,
                event=report.events[0],
            )


def _find_duplicates(reports: list[_Report], written: list[_Report], access) -> None:
    """The likely duplicates of every created or replayed report, as if the batch had been
    filed one report after another: a report sees the cases its batch wrote before it."""
    probes, answered = [], []
    filed = 0
    for report in reports:
        case, seen_written = report.incident or report.existing, filed
        if case is None:
            continue
        if report.incident is not None:
            filed += 1
        probes.append(
            DuplicateProbe(
                category=case.category,
                lon=case.location.x,
                lat=case.location.y,
                at=case.reported_at,
                exclude_id=case.pk,
                seen_written=seen_written,
            )
        )
        answered.append(report)
    found = incident_duplicates_many(
        probes=probes, written=[report.incident.pk for report in written]
    )
    for report, duplicates in zip(answered, found, strict=True):
        report.duplicates = _visible(duplicates, access)


def _intake(
    *, actor, items: list, photos: list | None = None, retry: bool = True
) -> list[_Report | InvalidInput]:
    """Every report of `items` checked, and the good ones filed in one transaction; per item
    its _Report (error set when refused, existing when replayed) or the InvalidInput of its
    fields. `photos`: the uploads of each item (incident_report's)."""
    now = timezone.now()
    known = _categories_read([item.get("category") for item in items if isinstance(item, dict)])
    results: list[_Report | InvalidInput] = []
    for index, item in enumerate(items):
        try:
            report = _checked(index, item, known, now)
        except InvalidInput as exc:
            results.append(exc)
            continue
        if photos:
            report.photos = list(photos[index])
        results.append(report)
    reports = [result for result in results if isinstance(result, _Report)]
    if not reports:
        return results
    assignments = _assignments(actor) if actor is not None else ()
    access = _access(actor, assignments)
    scope = access.scope if access is not None else Scope(prefixes=(), everything=True)

    pending = _locate(_not_replayed(reports, actor))

    def role(report: _Report) -> None:
        report.role = _reporter_role(
            actor=actor,
            assignments=assignments,
            source=report.source,
            area_code=report.area_code,
            located=report.location is not None,
        )

    pending = _each(pending, role)
    facilities = _facilities_read([report for report in pending if report.facility is not None])

    def facility(report: _Report) -> None:
        if report.facility is not None:
            report.facility_id = _check_facility(
                report=report, found=facilities.get(report.index), scope=scope
            )
        # Re-encoding photos costs the most CPU of a report: only once it may be filed.
        if report.photos:
            report.cleaned = photos_clean(report.photos)

    pending = _each(pending, facility)
    located = [report for report in pending if report.location is not None]
    routes = route_many(
        requests=[
            RouteRequest(
                category=report.category,
                chain=report.location.as_dict(),
                source=report.source,
                description=report.description,
            )
            for report in located
        ]
    )
    for report, routed in zip(located, routes, strict=True):
        if isinstance(routed, InvalidInput):
            report.error = routed
        else:
            report.routed = routed
    pending = [report for report in pending if report.error is None]

    try:
        with transaction.atomic():
            if pending:
                _write(pending, actor)
            _find_duplicates(reports, pending, access)
    except IntegrityError as exc:
        if not retry or not _is_external_id_clash(exc):
            raise
        # Another report with one of these ids committed while this intake was being written:
        # once more, and that id is now one seen before.
        return _intake(actor=actor, items=items, photos=photos, retry=False)
    return results


def _reporter_check(actor) -> None:
    if actor is not None and not (actor.is_authenticated and actor.is_active):
        raise Forbidden(_("sign in to report"))


def incident_report(
    *,
    actor,
    source: str,
    category: Category | int,
    lon: float,
    lat: float,
    description: str,
    address: str = "",
    facility: Facility | int | None = None,
    photos=(),
    external_id: str | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    at: datetime | None = None,
) -> ReportResult:
    """File a report: check it, locate it (or keep it in the unlocated queue), route it,
    number it and start the clock of its registration step, in one transaction.

    Idempotent on `external_id` (the reporting phone's or system's id of the report): a
    second call with the same id returns the same case with created=False and writes
    nothing; a unique constraint makes two concurrent identical reports one case. Bad input
    gets 422 naming every wrong field; a point outside the actor's areas 403 (see the module
    docstring for who may report where)."""
    _reporter_check(actor)
    item = {
        "source": source,
        "category": category,
        "lon": lon,
        "lat": lat,
        "description": description,
        "address": address,
        "facility": facility,
        "external_id": external_id,
        "reporter_name": reporter_name,
        "reporter_phone": reporter_phone,
        "at": at,
    }
    [report] = _intake(actor=actor, items=[item], photos=[photos])
    if isinstance(report, InvalidInput):
        raise report
    if report.error is not None:
        raise report.error
    if report.existing is not None:
        return ReportResult(incident=report.existing, created=False, duplicates=report.duplicates)
    return ReportResult(incident=report.incident, created=True, duplicates=report.duplicates)


def report_batch_size_check(*, count: int) -> None:
    """InvalidInput naming the limit when a batch of `count` reports is too large."""
    limit = settings.WANGGE_REPORT_BATCH_MAX
    if count > limit:
        reason = _("a batch may carry at most %(limit)d reports; got %(count)d") % {
            "limit": limit,
            "count": count,
        }
        raise InvalidInput(reason, details={"reports": reason})


def incidents_report_batch(*, actor, reports: list[dict]) -> list[BatchOutcome]:
    """File a batch of reports (a phone's offline queue, a forwarding of the hotline), each a
    dict of incident_report's keyword arguments but photos (a batch carries none; add them
    to the created cases afterwards). Every report gets what incident_report would give it
    — created, existing (its external id seen before: that case, nothing written) or
    rejected with the status and reason incident_report would raise —, in input order; the
    good reports are written even when others are refused, all in one transaction. The same
    external id twice in the batch: the second is refused (409). At most
    WANGGE_REPORT_BATCH_MAX reports (422 beyond). Queries: a fixed number for the batch
    whatever its size, plus one per report that lies in no grid cell (its city is looked
    up; such reports are few) and those of storing photos (none in a batch)."""
    _reporter_check(actor)
    if not isinstance(reports, list | tuple):
        raise InvalidInput(
            _("reports must be a list of reports"), details={"reports": _("not a list")}
        )
    report_batch_size_check(count=len(reports))
    return [
        _outcome(index, result)
        for index, result in enumerate(_intake(actor=actor, items=list(reports)))
    ]


def _outcome(index: int, result: _Report | InvalidInput) -> BatchOutcome:
    error = result if isinstance(result, DomainError) else result.error
    if error is not None:
        details = error.details if isinstance(error.details, dict) else {}
        return BatchOutcome(
            index=index,
            status=REJECTED,
            http_status=error.status,
            message=error.message,
            errors={str(key): value for key, value in details.items()},
        )
    incident = result.existing or result.incident
    return BatchOutcome(
        index=index,
        status=EXISTING if result.existing is not None else CREATED,
        number=incident.number,
        incident=incident,
        duplicates=tuple(duplicate.number for duplicate in result.duplicates),
    )
