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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.models import F, FloatField
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from community import pii
from community.models import Facility
from grid.errors import Conflict, Forbidden, InvalidInput
from grid.models import Area, AreaLevel, Assignment, Role
from grid.scope import Scope
from grid.selectors.locate import Location, coordinate_errors, locate_point
from grid.services.sequences import sequence_next

from ..access import CaseAccess
from ..deadlines import calendar_for, step_clock
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
from ..selectors.duplicates import incident_duplicates
from .photos import incident_photos_add
from .routing import Route, route

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
SYSTEM_ROLE = "system"
SUPERUSER_ROLE = "superuser"
UNLOCATED_DISTRICT_SUFFIX = "00"


@dataclass(frozen=True)
class ReportResult:
    """The case, whether this call created it (False: its external id was seen before and
    the same case is returned, nothing written), and the likely duplicates the reporter may
    see: open cases of the category nearby, reported shortly before (nearest first, each
    with distance_m)."""

    incident: Incident
    created: bool
    duplicates: list[Incident]


def _max_length(field: str) -> int:
    return Incident._meta.get_field(field).max_length


def _category(category: Category | int, errors: dict[str, str]) -> Category | None:
    if not isinstance(category, Category):
        found = (
            Category.objects.select_related("department_kind").filter(pk=category).first()
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


def _moment(at, errors: dict[str, str]) -> datetime:
    now = timezone.now()
    if at is None:
        return now
    if not isinstance(at, datetime) or timezone.is_naive(at):
        errors["at"] = _("at must be a date and time with its time zone")
        return now
    if at > now + FUTURE_TOLERANCE:
        errors["at"] = _("at lies in the future (%(at)s)") % {"at": at.isoformat()}
    return at


# Raw SQL for the small reads of every report: through the ORM, building each cost several
# times the database's own time (about 1 ms of Python per query on a two-core machine).
_ASSIGNMENTS_SQL = """
    SELECT assignment.role, area.code, assignment.department_id
    FROM {assignment} AS assignment
    JOIN {area} AS area ON area.id = assignment.area_id
    WHERE assignment.user_id = %s AND assignment.active AND area.valid_to IS NULL
"""
_DEADLINE_SQL = "SELECT amount, unit FROM {deadline} WHERE category_id = %s AND step = %s"
_EXTERNAL_ID_SQL = "SELECT id FROM {incident} WHERE external_id = %s"


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _assignments(actor) -> tuple[tuple[str, str, int | None], ...]:
    """(role, area code, department id) of the actor's active assignments to current areas."""
    sql = _ASSIGNMENTS_SQL.format(assignment=Assignment._meta.db_table, area=Area._meta.db_table)
    return tuple(_fetch(sql, [actor.pk]))


def _register_limit(category: Category) -> CategoryDeadline | None:
    rows = _fetch(
        _DEADLINE_SQL.format(deadline=CategoryDeadline._meta.db_table),
        [category.id, Step.REGISTER],
    )
    if not rows:
        return None
    amount, unit = rows[0]
    return CategoryDeadline(category=category, step=Step.REGISTER, amount=amount, unit=unit)


def _seen(external_id: str) -> Incident | None:
    rows = _fetch(_EXTERNAL_ID_SQL.format(incident=Incident._meta.db_table), [external_id])
    if not rows:
        return None
    return Incident.objects.select_related("category").get(pk=rows[0][0])


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


_FACILITY_DISTANCE = (
    'ST_Distance("community_facility"."location"::geography, '
    "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)"
)


def _check_facility(*, facility, category: Category, lon: float, lat: float, scope: Scope) -> int:
    """The id of the facility a component report names, or InvalidInput with the reason."""
    facility_id = facility.pk if isinstance(facility, Facility) else facility
    if category.kind != CategoryKind.COMPONENT:
        raise InvalidInput(
            _("only a component (部件) report may name a facility; “%(category)s” is an event")
            % {"category": category},
            details={"facility": facility_id},
        )
    found = (
        Facility.objects.filter(pk=facility_id)
        .annotate(distance_m=RawSQL(_FACILITY_DISTANCE, [lon, lat], output_field=FloatField()))
        .values("id", "code", "category_id", "category__name", "area_code", "distance_m")
        .first()
        if isinstance(facility_id, int) and not isinstance(facility_id, bool)
        else None
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


def _case_number(*, at: datetime, district_code: str) -> str:
    year = timezone.localtime(at).year
    return f"{year}{district_code}{sequence_next(key=f'incident:{year}:{district_code}'):06d}"


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
    escalations = routed.escalations if routed is not None else ()
    return [reported] + [
        IncidentEvent(
            incident=incident,
            action="escalated",
            from_status=Status.REPORTED,
            to_status=Status.REPORTED,
            actor=None,
            role=SYSTEM_ROLE,
            at=at,
            note=step.reason,
            data={"from_tier": step.from_tier, "to_tier": step.to_tier, "automatic": True},
        )
        for step in escalations
    ]


def _is_external_id_clash(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return "external_id" in (getattr(diag, "constraint_name", None) or "")


def _replay(*, existing: Incident, actor, access: CaseAccess | None) -> ReportResult:
    """The answer to a report whose external id was seen before: the same case."""
    actor_id = actor.pk if actor is not None else None
    if existing.reporter_id != actor_id and not (actor is not None and actor.is_superuser):
        raise Conflict(
            _("the external id %(id)s belongs to another report") % {"id": existing.external_id}
        )
    return ReportResult(
        incident=existing,
        created=False,
        duplicates=_visible(
            incident_duplicates(
                category=existing.category,
                point=existing.location,
                at=existing.reported_at,
                exclude_id=existing.id,
            ),
            access,
        ),
    )


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
    if actor is not None and not (actor.is_authenticated and actor.is_active):
        raise Forbidden(_("sign in to report"))
    errors: dict[str, str] = {}
    if source not in Source.values:
        errors["source"] = _("source must be one of %(choices)s; got “%(source)s”") % {
            "choices": ", ".join(Source.values),
            "source": source,
        }
    category = _category(category, errors)
    description = _text(description, "description", errors, required=True)
    address = _text(address, "address", errors, limit=_max_length("address"))
    reporter_name = _text(
        reporter_name, "reporter_name", errors, limit=_max_length("reporter_name")
    )
    reporter_phone = _phone(_text(reporter_phone, "reporter_phone", errors), errors)
    if external_id is not None:
        external_id = (
            _text(
                external_id, "external_id", errors, required=True, limit=_max_length("external_id")
            )
            or None
        )
    errors.update(coordinate_errors(lon=lon, lat=lat))
    at = _moment(at, errors)
    if errors:
        raise InvalidInput("; ".join(errors.values()), details=errors)

    assignments = _assignments(actor) if actor is not None else ()
    access = _access(actor, assignments)
    if external_id is not None:
        existing = _seen(external_id)
        if existing is not None:
            return _replay(existing=existing, actor=actor, access=access)

    point = Point(float(lon), float(lat), srid=4326)
    location = locate_point(lon=lon, lat=lat)
    city = _unlocated_city(point) if location is None else None
    chain = _chain(location, city)
    area_code = location.cell.code if location is not None else city.code
    role = _reporter_role(
        actor=actor,
        assignments=assignments,
        source=source,
        area_code=area_code,
        located=location is not None,
    )
    facility_id = None
    if facility is not None:
        facility_id = _check_facility(
            facility=facility,
            category=category,
            lon=float(lon),
            lat=float(lat),
            scope=access.scope if access is not None else Scope(prefixes=(), everything=True),
        )
    # Re-encoding photos costs the most CPU of a report: only once the reporter may file it.
    cleaned: list[CleanPhoto] = photos_clean(list(photos)) if photos else []

    if location is not None:
        routed: Route | None = route(
            category=category, chain=chain, source=source, description=description
        )
        tier, holder_area, department = routed.tier, routed.area, routed.department
        district_code = location.district.code if location.district else area_code[:6]
    else:
        routed = None
        tier, holder_area, department = AreaLevel.CITY, city, None
        district_code = ""
    clock = step_clock(limit=_register_limit(category), started_at=at, calendar=calendar_for(at))
    duplicates = incident_duplicates(category=category, point=point, at=at)

    try:
        with transaction.atomic():
            incident = Incident(
                number=_case_number(
                    at=at, district_code=district_code or area_code + UNLOCATED_DISTRICT_SUFFIX
                ),
                source=source,
                external_id=external_id,
                category=category,
                facility_id=facility_id,
                location=point,
                address=address,
                description=description,
                grid_cell_id=location.cell.id if location is not None else None,
                area_code=area_code,
                district_code=district_code,
                chain=chain,
                reporter=actor,
                reporter_name=reporter_name,
                reporter_phone_masked=pii.mask_phone(reporter_phone) if reporter_phone else "",
                reporter_phone_ciphertext=pii.encrypt(reporter_phone) if reporter_phone else "",
                status=Status.REPORTED,
                tier=tier,
                holder_area=holder_area,
                department=department,
                step=Step.REGISTER,
                step_started_at=at,
                step_warn_at=clock.warn_at if clock else None,
                step_deadline=clock.deadline if clock else None,
                escalation_count=len(routed.escalations) if routed is not None else 0,
                reported_at=at,
            )
            incident.save(force_insert=True)
            events = IncidentEvent.objects.bulk_create(
                _events(incident=incident, actor=actor, role=role, at=at, routed=routed)
            )
            if cleaned:
                incident_photos_add(
                    actor=actor,
                    incident=incident,
                    files=cleaned,
                    stage=PhotoStage.REPORT,
                    event=events[0],
                )
    except IntegrityError as exc:
        if external_id is None or not _is_external_id_clash(exc):
            raise
        # Another report with this id committed while this one was being written.
        existing = Incident.objects.select_related("category").get(external_id=external_id)
        return _replay(existing=existing, actor=actor, access=access)
    return ReportResult(incident=incident, created=True, duplicates=_visible(duplicates, access))
