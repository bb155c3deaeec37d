"""Casework benchmark on the medium city with 1,000,000 cases.

- the kept cases: 1,000,000 cases of the last year, generated once (committed, kept) and
  written with COPY: categories by a Zipf-like weight, grid cells by a log-normal weight,
  report times by hour of day, sources 70 % inspectors, 20 % hotline, 5 % citizens, 5 % staff;
  each case's life drawn step by step (accept, register, dispatch, handle, check on site,
  close; voided, returned, extended, reworked, parked and stuck cases among them) and cut at
  the moment of generation, so the old ones are closed and the recent ones open in every
  state; holders and departments through the real routing (casework.services.routing.route,
  once per category and starting area); step deadlines from the categories' limits as wall
  clock (working hours × 4.5, working days × 1.4 days; the working calendar is not consulted
  for generated cases), so some steps finished late — those have their yellow and red
  lights (SupervisionRecord) — and some open cases are overdue. The open cases' lights are
  all green, as if supervision had not run yet;
- reports/s through the real report service (casework.services.report.incident_report:
  checks, locate, routing, deadline, duplicates, number, case and history), each report its
  own committed transaction, the created cases deleted afterwards; and, in the same run, a
  naive implementation on a sample of the same reports: per-report ORM locate with the
  ancestors read one by one (no select_related), routing by loading every rule into Python
  and walking its relations, the calendar loaded for every report, the sequence counter by
  get_or_create and save, the case and its history saved one by one; its answers (cell,
  tier, holding area, department) are checked against the service's; then the same reports
  through the batch intake (casework.services.report.incidents_report_batch), grouped by
  actor in batches of WANGGE_BENCH_REPORT_BATCH (500) — the figure the target is about,
  since batch intake is how reports arrive in bulk (an inspector's phone uploading its
  offline queue, the hotline forwarding) — its answers checked against the single reports';
- one supervision scan (casework.services.supervision.supervision_scan) over all open cases:
  the backlog (every open case's light due), then one minute later (the steady state: the
  lights due in that minute), then again with nothing to do; inside a transaction rolled
  back afterwards, so every run measures the same work;
- the city-wide indicators (casework.selectors.indicators) for the year, and for a district,
  a department and an inspector.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db import connection, transaction
from django.db.models import Q

from bench.city import CITY_CODE
from casework.catalogue import GBT30428
from casework.deadlines import step_clock
from casework.models import (
    Category,
    CategoryDeadline,
    Incident,
    IncidentEvent,
    RoutingRule,
    Source,
    Status,
    SupervisionRecord,
)
from casework.selectors.indicators import (
    area_subject,
    case_indicators,
    department_subject,
    inspector_subject,
)
from casework.services.report import incident_report, incidents_report_batch
from casework.services.routing import route, routing_rule_add
from casework.services.supervision import supervision_scan
from casework.transitions import OPEN_STATES, TIER_DISPATCHER_ROLE
from grid.models import Area, AreaLevel, Assignment, Department, DepartmentKind, Role, Sequence
from grid.selectors.locate import locate_points
from grid.services.demo_people import department_kinds_seed, departments_seed
from grid.workcalendar import WorkCalendar

INCIDENTS = int(os.environ.get("WANGGE_BENCH_INCIDENTS", "1000000"))
REPORTS = int(os.environ.get("WANGGE_BENCH_REPORTS", "2000"))
NAIVE_REPORTS = int(os.environ.get("WANGGE_BENCH_NAIVE_REPORTS", "200"))
# Reports per batch for the batch intake figure (the service's default limit).
BATCH_SIZE = int(os.environ.get("WANGGE_BENCH_REPORT_BATCH", "500"))
# Threads filing reports at once for the concurrent figure (a web server's workers).
WORKERS = int(os.environ.get("WANGGE_BENCH_REPORT_WORKERS", "4"))
SEED = 20_260_401
# Holds the moment the kept cases were generated at (epoch seconds) and marks them present.
ANCHOR_KEY = f"bench:casework:{INCIDENTS}:anchor"
KEPT_ADDRESS = "基准案件" if INCIDENTS == 1_000_000 else f"小基准案件{INCIDENTS}-"
USER_PREFIX = "bench-case-"

TARGET_REPORTS_PER_SECOND = 300
TARGET_SCAN_SECONDS = 5.0
TARGET_INDICATOR_SECONDS = 2.0

HOURS_WALL = 4.5  # wall-clock hours per working hour (7.5 office hours a day, 5 days a week)
DAYS_WALL = 1.4  # wall-clock days per working day
DESCRIPTIONS = ("，请尽快处理", "，影响通行", "，居民多次反映", "，已拍照", "")


# ---------------------------------------------------------------- people and rules


def people_ensure(*, progress: Callable[[str], None]) -> dict:
    """Departments of the demo kinds on the city, its districts and streets; a dispatcher
    for every community, street and district and for the city, two handlers per department,
    an inspector per community and one for the whole city (the reports' actor); a few
    routing rules. Created once, found afterwards."""
    department_kinds_seed()
    created_departments = departments_seed(city_code=CITY_CODE)
    password = make_password(None)
    areas = list(
        Area.objects.current()
        .subtree(CITY_CODE)
        .filter(level__lte=AreaLevel.COMMUNITY)
        .only("id", "code", "level")
    )
    users = {
        user.username: user
        for user in get_user_model().objects.filter(username__startswith=USER_PREFIX)
    }
    wanted: list[tuple[str, Area, str, Department | None]] = []
    for area in areas:
        role = TIER_DISPATCHER_ROLE[area.level]
        wanted.append((f"{role}-{area.code}", area, role, None))
        if area.level == AreaLevel.COMMUNITY:
            wanted.append((f"inspector-{area.code}", area, Role.GRID_INSPECTOR, None))
    city = next(area for area in areas if area.level == AreaLevel.CITY)
    wanted.append(("inspector-city", city, Role.GRID_INSPECTOR, None))
    for department in Department.objects.filter(area__code__startswith=CITY_CODE).select_related(
        "area"
    ):
        for number in (1, 2):
            wanted.append(
                (
                    f"handler-{department.pk}-{number}",
                    department.area,
                    Role.DEPARTMENT_HANDLER,
                    department,
                )
            )
    missing = [
        get_user_model()(username=USER_PREFIX + name, password=password)
        for name, *_rest in wanted
        if USER_PREFIX + name not in users
    ]
    if missing:
        progress(f"creating {len(missing):,} bench people and their assignments")
        get_user_model().objects.bulk_create(missing, batch_size=2000)
        users = {
            user.username: user
            for user in get_user_model().objects.filter(username__startswith=USER_PREFIX)
        }
        Assignment.objects.bulk_create(
            [
                Assignment(
                    user=users[USER_PREFIX + name], area=area, role=role, department=department
                )
                for name, area, role, department in wanted
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
    if not RoutingRule.objects.filter(keywords__startswith="基准").exists():
        _rules_add()
    return {
        "departments_created": created_departments,
        "people": len(wanted),
        "city_manager": users[f"{USER_PREFIX}{Role.CITY_MANAGER}-{CITY_CODE}"],
        "inspector": users[f"{USER_PREFIX}inspector-city"],
        "users": users,
    }


def _rules_add() -> None:
    """Routing rules a city might have: street furniture of one district to its districts'
    城管, rubbish in some streets to the street, a keyword rule for hotline reports."""
    districts = list(Area.objects.current().subtree(CITY_CODE).filter(level=AreaLevel.DISTRICT))
    streets = list(Area.objects.current().subtree(CITY_CODE).filter(level=AreaLevel.STREET))
    kinds = {kind.code: kind for kind in DepartmentKind.objects.all()}
    categories = {
        (category.kind, category.code): category
        for category in Category.objects.filter(scheme=GBT30428)
    }
    for district in districts:
        routing_rule_add(
            handling_tier=AreaLevel.DISTRICT,
            category=categories[("component", "0307")],
            area=district,
            department_kind=kinds["chengguan"],
            keywords="基准,大型",
        )
    for street in streets[::3]:
        routing_rule_add(
            handling_tier=AreaLevel.STREET,
            category=categories[("event", "0102")],
            area=street,
            department_kind=kinds["huanwei"],
        )
    routing_rule_add(
        handling_tier=AreaLevel.DISTRICT,
        category=categories[("event", "0301")],
        source=Source.HOTLINE,
        keywords="基准,夜间",
        department_kind=kinds["chengguan"],
    )


# ---------------------------------------------------------------- the kept cases


@dataclass
class Cells:
    ids: np.ndarray
    codes: list[str]
    lon: np.ndarray
    lat: np.ndarray
    chains: list[str]  # JSON of the chain, escaped for COPY
    ancestors: list[dict[int, tuple[int, str]]]  # level → (area id, code)


def _cells() -> Cells:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cell.id, cell.code, cell.name, ST_X(ST_PointOnSurface(cell.boundary)),
                   ST_Y(ST_PointOnSurface(cell.boundary)),
                   community.id, community.code, community.name,
                   street.id, street.code, street.name,
                   district.id, district.code, district.name,
                   city.id, city.code, city.name
            FROM grid_area cell
            JOIN grid_area community ON community.id = cell.parent_id
            JOIN grid_area street ON street.id = community.parent_id
            JOIN grid_area district ON district.id = street.parent_id
            JOIN grid_area city ON city.id = district.parent_id
            WHERE cell.level = %s AND cell.valid_to IS NULL AND cell.code LIKE %s
            ORDER BY cell.code
            """,
            [AreaLevel.GRID, CITY_CODE + "%"],
        )
        rows = cursor.fetchall()
    chains, ancestors = [], []
    for row in rows:
        keys = ("cell", "community", "street", "district", "city")
        chain = {
            key: {"id": row[i], "code": row[i + 1], "name": row[i + 2]}
            for key, i in zip(keys, (0, 5, 8, 11, 14), strict=True)
        }
        chains.append(json.dumps(chain, ensure_ascii=False).replace("\\", "\\\\"))
        ancestors.append(
            {
                AreaLevel.COMMUNITY: (row[5], row[6]),
                AreaLevel.STREET: (row[8], row[9]),
                AreaLevel.DISTRICT: (row[11], row[12]),
                AreaLevel.CITY: (row[14], row[15]),
            }
        )
    return Cells(
        ids=np.array([row[0] for row in rows]),
        codes=[row[1] for row in rows],
        lon=np.array([row[3] for row in rows]),
        lat=np.array([row[4] for row in rows]),
        chains=chains,
        ancestors=ancestors,
    )


@dataclass
class CategoryTable:
    categories: list[Category]
    limits: (
        np.ndarray
    )  # hours of wall clock: [category, step] for register, dispatch, handle, verify


STEPS = ("register", "dispatch", "handle", "verify")


def _categories() -> CategoryTable:
    categories = list(
        Category.objects.filter(scheme=GBT30428, active=True)
        .select_related("department_kind")
        .order_by("kind", "code")
    )
    limits = np.zeros((len(categories), len(STEPS)))
    deadlines = {
        (row.category_id, row.step): row
        for row in CategoryDeadline.objects.filter(category__in=categories)
    }
    for i, category in enumerate(categories):
        for j, step in enumerate(STEPS):
            row = deadlines.get((category.id, step))
            amount = float(row.amount) if row else 24.0
            limits[i, j] = (
                amount * HOURS_WALL
                if row is None or row.unit == "hours"
                else amount * DAYS_WALL * 24
            )
    return CategoryTable(categories=categories, limits=limits)


def _routes(table: CategoryTable, cells: Cells, pairs: set[tuple[int, int]]) -> dict:
    """(category index, cell index) → (tier, holding area id, department id) through the
    real routing, once per category and starting area (the category's default tier)."""
    answers: dict[tuple[int, int], tuple[int, int, int | None]] = {}
    by_start: dict[tuple[int, int], tuple[int, int, int | None]] = {}
    for category_index, cell_index in pairs:
        category = table.categories[category_index]
        # Routing depends on the areas from the starting tier up (the rules here name
        # districts and streets only), so one answer serves every cell below that area.
        start_id = cells.ancestors[cell_index][category.default_tier][0]
        key = (category_index, start_id)
        if key not in by_start:
            chain = json.loads(cells.chains[cell_index].replace("\\\\", "\\"))
            routed = route(category=category, chain=chain, source=Source.INSPECTOR, description="")
            by_start[key] = (
                routed.tier,
                routed.area.id,
                routed.department.id if routed.department else None,
            )
        answers[(category_index, cell_index)] = by_start[key]
    return answers


def _iso(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds as timestamptz text for COPY; NaN as NULL."""
    text = np.datetime_as_string(
        np.nan_to_num(seconds, nan=0).astype("datetime64[s]"), unit="s"
    ).astype(object)
    text = text + "+00"
    text[np.isnan(seconds)] = r"\N"
    return text


def generate(*, anchor: float, people: dict, progress: Callable[[str], None]) -> dict:
    """Write INCIDENTS cases of the year before `anchor` (epoch seconds) with COPY."""
    rng = np.random.default_rng(SEED)
    n = INCIDENTS
    cells = _cells()
    table = _categories()
    progress(f"{len(cells.ids):,} cells, {len(table.categories)} categories")

    # Where and what: cells by a log-normal weight, categories by a Zipf-like weight.
    cell_weight = rng.lognormal(0, 1.0, len(cells.ids))
    cell_index = rng.choice(len(cells.ids), n, p=cell_weight / cell_weight.sum())
    ranks = rng.permutation(len(table.categories)) + 1
    category_weight = 1 / ranks**1.1
    category_index = rng.choice(len(table.categories), n, p=category_weight / category_weight.sum())

    # When: a day of the last year, an hour by the day's rhythm.
    hour_weight = np.array(
        [0.3] * 7 + [3, 4, 4, 4, 3, 2, 3, 4, 4, 3, 2] + [1.5, 1, 0.8, 0.6, 0.4, 0.3]
    )
    local_midnight = anchor - (anchor + 8 * 3600) % 86400
    day = rng.integers(0, 365, n)
    hour = rng.choice(24, n, p=hour_weight / hour_weight.sum())
    reported = local_midnight - day * 86400.0 + hour * 3600.0 + rng.uniform(0, 3600, n)
    reported = np.where(reported > anchor - 60, reported - 86400, reported)

    source = rng.choice(
        np.array([Source.INSPECTOR, Source.HOTLINE, Source.CITIZEN, Source.STAFF], dtype=object),
        n,
        p=[0.7, 0.2, 0.05, 0.05],
    )

    # The life of each case, in hours, drawn step by step.
    limits = table.limits[category_index]  # n × 4 wall-clock hours
    register_limit, dispatch_limit, handle_limit, verify_limit = limits.T
    hour_s = 3600.0
    voided = rng.random(n) < 0.04
    returned = rng.random(n) < 0.03
    extended = rng.random(n) < 0.04
    reworked = rng.random(n) < 0.05
    parked = rng.random(n) < 0.01
    stuck = rng.random(n) < 0.015
    handle_limit = np.where(extended, handle_limit * 1.5, handle_limit)
    accepted = reported + rng.exponential(0.2, n) * hour_s
    registered = accepted + rng.exponential(0.3, n) * hour_s
    late_dispatch = rng.random(n) < 0.06
    dispatched = (
        registered
        + (
            rng.exponential(0.25, n) * dispatch_limit
            + late_dispatch * rng.exponential(1.0, n) * dispatch_limit
            + returned * 2.0
        )
        * hour_s
    )
    handling = rng.lognormal(np.log(0.45 * handle_limit), 0.7)
    handling += reworked * (
        rng.exponential(0.3, n) * verify_limit + rng.lognormal(np.log(0.3 * handle_limit), 0.6)
    )
    handled = np.where(stuck | parked, np.inf, dispatched + handling * hour_s)
    checked = handled + rng.lognormal(np.log(0.35 * verify_limit), 0.8) * hour_s
    closed = checked + rng.exponential(3.0, n) * hour_s

    register_deadline = reported + register_limit * hour_s
    dispatch_deadline = registered + dispatch_limit * hour_s
    handle_deadline = dispatched + handle_limit * hour_s
    verify_deadline = handled + verify_limit * hour_s

    status = np.full(n, Status.CLOSED, dtype=object)
    status[closed > anchor] = Status.CHECKED
    status[checked > anchor] = Status.HANDLED
    in_handling = handled > anchor
    status[in_handling] = np.where(
        anchor - dispatched[in_handling] < 0.3 * hour_s, Status.DISPATCHED, Status.IN_PROGRESS
    )
    status[in_handling & parked] = Status.PARKED
    status[dispatched > anchor] = Status.REGISTERED
    status[registered > anchor] = Status.ACCEPTED
    status[accepted > anchor] = Status.REPORTED
    status[voided & (accepted <= anchor)] = Status.VOIDED

    def cut(times: np.ndarray) -> np.ndarray:
        out = times.astype(float).copy()
        out[(out > anchor) | voided] = np.nan
        return out

    accepted_at = np.where(accepted > anchor, np.nan, accepted)
    accepted_at[voided & (accepted <= anchor)] = np.nan
    registered_at, dispatched_at = cut(registered), cut(dispatched)
    handled_at, checked_at, closed_at = cut(handled), cut(checked), cut(closed)

    # The step on the clock now, and its clock.
    step = np.full(n, "", dtype=object)
    started = np.full(n, np.nan)
    deadline = np.full(n, np.nan)
    limit_now = np.full(n, np.nan)
    for states, name, start, due, length in (
        (
            (Status.REPORTED, Status.ACCEPTED),
            "register",
            reported,
            register_deadline,
            register_limit,
        ),
        ((Status.REGISTERED,), "dispatch", registered, dispatch_deadline, dispatch_limit),
        (
            (Status.DISPATCHED, Status.IN_PROGRESS),
            "handle",
            dispatched,
            handle_deadline,
            handle_limit,
        ),
        ((Status.HANDLED,), "verify", handled, verify_deadline, verify_limit),
    ):
        mask = np.isin(status, states)
        step[mask] = name
        started[mask] = start[mask]
        deadline[mask] = due[mask]
        limit_now[mask] = length[mask]
    with np.errstate(invalid="ignore"):
        warn = started + 0.8 * (deadline - started)

    # Holders through the real routing.
    progress("routing each category from each starting area")
    pairs = set(zip(category_index.tolist(), cell_index.tolist(), strict=True))
    routes = _routes(table, cells, pairs)
    tier = np.empty(n, dtype=np.int64)
    holder = np.empty(n, dtype=np.int64)
    department = np.empty(n, dtype=object)
    for i, key in enumerate(zip(category_index.tolist(), cell_index.tolist(), strict=True)):
        tier[i], holder[i], department[i] = routes[key]
    department = np.where(department == None, r"\N", department.astype(str))  # noqa: E711

    users = people["users"]
    inspector_of = {
        code: users[f"{USER_PREFIX}inspector-{code}"].pk
        for code in {ancestor[AreaLevel.COMMUNITY][1] for ancestor in cells.ancestors}
    }
    street_officer_of = {
        code: users[f"{USER_PREFIX}{Role.STREET_OFFICER}-{code}"].pk
        for code in {ancestor[AreaLevel.STREET][1] for ancestor in cells.ancestors}
    }
    city_manager = people["city_manager"].pk

    # Case numbers: year + district + sequence within them by report time.
    years = np.datetime_as_string((reported + 8 * 3600).astype("datetime64[s]"), unit="Y").astype(
        object
    )
    district_codes = np.array(
        [ancestor[AreaLevel.DISTRICT][1] for ancestor in cells.ancestors], dtype=object
    )[cell_index]
    order = np.lexsort((reported, district_codes, years))
    serial = np.empty(n, dtype=np.int64)
    counters: dict[tuple[str, str], int] = {}
    for i in order.tolist():
        key = (years[i], district_codes[i])
        counters[key] = counters.get(key, 0) + 1
        serial[i] = counters[key]

    progress("writing the cases with COPY")
    reported_text, accepted_text = _iso(reported), _iso(accepted_at)
    registered_text, dispatched_text = _iso(registered_at), _iso(dispatched_at)
    handled_text, checked_text, closed_text = _iso(handled_at), _iso(checked_at), _iso(closed_at)
    started_text, warn_text, deadline_text = _iso(started), _iso(warn), _iso(deadline)
    updated = np.fmax.reduce(
        [
            reported,
            np.nan_to_num(accepted_at),
            np.nan_to_num(registered_at),
            np.nan_to_num(dispatched_at),
            np.nan_to_num(handled_at),
            np.nan_to_num(checked_at),
            np.nan_to_num(closed_at),
        ]
    )
    updated_text = _iso(updated)
    jitter = rng.normal(0, 0.00001, (n, 2))
    names = [category.name for category in table.categories]
    columns = (
        "number, source, category_id, location, address, description, grid_cell_id, "
        "area_code, district_code, chain, reporter_id, reporter_name, reporter_phone_masked, "
        "reporter_phone_ciphertext, status, tier, holder_area_id, department_id, step, "
        "step_round, step_started_at, step_warn_at, step_deadline, light, rework_count, "
        "extension_count, extension_requested, return_count, escalation_count, reported_at, "
        "accepted_at, registered_at, dispatched_at, handled_at, checked_at, closed_at, "
        "created_at, updated_at"
    )
    started_clock = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {Incident._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        chunk = []
        for i in range(n):
            c = cell_index[i]
            ancestor = cells.ancestors[c]
            src = source[i]
            if src == Source.INSPECTOR:
                reporter = inspector_of[ancestor[AreaLevel.COMMUNITY][1]]
            elif src == Source.STAFF:
                reporter = street_officer_of[ancestor[AreaLevel.STREET][1]]
            else:
                reporter = city_manager
            chunk.append(
                "\t".join(
                    (
                        f"{years[i]}{district_codes[i]}{serial[i]:06d}",
                        src,
                        str(table.categories[category_index[i]].id),
                        f"SRID=4326;POINT({cells.lon[c] + jitter[i, 0]:.7f} "
                        f"{cells.lat[c] + jitter[i, 1]:.7f})",
                        f"{KEPT_ADDRESS}{i}号",
                        names[category_index[i]] + DESCRIPTIONS[i % len(DESCRIPTIONS)],
                        str(cells.ids[c]),
                        cells.codes[c],
                        district_codes[i],
                        cells.chains[c],
                        str(reporter),
                        "",
                        "",
                        "",
                        status[i],
                        str(tier[i]),
                        str(holder[i]),
                        department[i],
                        step[i],
                        "0",
                        started_text[i],
                        warn_text[i],
                        deadline_text[i],
                        "green",
                        str(int(reworked[i] and not np.isnan(checked_at[i]))),
                        str(int(extended[i] and not np.isnan(dispatched_at[i]))),
                        "f",
                        str(int(returned[i] and not np.isnan(dispatched_at[i]))),
                        "0",
                        reported_text[i],
                        accepted_text[i],
                        registered_text[i],
                        dispatched_text[i],
                        handled_text[i],
                        checked_text[i],
                        closed_text[i],
                        reported_text[i],
                        updated_text[i],
                    )
                )
            )
            if len(chunk) == 50_000:
                copy.write("\n".join(chunk) + "\n")
                chunk = []
                if (i + 1) % 200_000 == 0:
                    progress(
                        f"{i + 1:,} cases written, {time.perf_counter() - started_clock:.0f} s"
                    )
        if chunk:
            copy.write("\n".join(chunk) + "\n")
    copy_seconds = time.perf_counter() - started_clock

    progress("the sequences of case numbers, and the lights of the steps finished late")
    with connection.cursor() as cursor:
        for (year, district), value in counters.items():
            cursor.execute(
                f"INSERT INTO {Sequence._meta.db_table} (key, value) VALUES (%s, %s) "
                f"ON CONFLICT (key) DO UPDATE SET value = GREATEST({Sequence._meta.db_table}.value,"
                " EXCLUDED.value)",
                [f"incident:{year}:{district}", value],
            )
    records = _late_lights(
        anchor=anchor,
        done={
            "register": registered_at,
            "dispatch": dispatched_at,
            "handle": handled_at,
            "verify": checked_at,
        },
        start={
            "register": reported,
            "dispatch": registered,
            "handle": dispatched,
            "verify": handled,
        },
        due={
            "register": register_deadline,
            "dispatch": dispatch_deadline,
            "handle": handle_deadline,
            "verify": verify_deadline,
        },
        tier=tier,
        cells=cells,
        cell_index=cell_index,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"ANALYZE {Incident._meta.db_table}; ANALYZE {SupervisionRecord._meta.db_table}"
        )
    open_cases = int(np.isin(status, list(OPEN_STATES)).sum())
    overdue = int(((deadline < anchor) & ~np.isnan(deadline)).sum())
    return {
        "incidents": n,
        "copy_seconds": round(copy_seconds, 1),
        "open": open_cases,
        "open_overdue": overdue,
        "open_past_warning": int(((warn <= anchor) & ~np.isnan(warn)).sum()),
        "late_step_lights": records,
        "by_status": {
            str(state): int((status == state).sum()) for state in sorted(set(status.tolist()))
        },
    }


def _late_lights(*, anchor, done, start, due, tier, cells, cell_index) -> int:
    """The yellow and red lights of the steps that finished past their warning or deadline
    (those of the open cases' current steps are left for the scan)."""
    rows = []
    incident_ids = np.array(
        Incident.objects.filter(address__startswith=KEPT_ADDRESS)
        .order_by("id")
        .values_list("id", flat=True)
    )
    # COPY wrote the rows in order, and the ids follow it.
    assert len(incident_ids) == len(tier)
    supervising = np.array(
        [
            cells.ancestors[c].get(t - 1, (None,))[0] if t > AreaLevel.CITY else None
            for c, t in zip(cell_index.tolist(), tier.tolist(), strict=True)
        ],
        dtype=object,
    )
    for step_name in STEPS:
        finished = done[step_name]
        with np.errstate(invalid="ignore"):
            warn = start[step_name] + 0.8 * (due[step_name] - start[step_name])
            yellow = ~np.isnan(finished) & (finished > warn)
            red = ~np.isnan(finished) & (finished > due[step_name])
        for mask, level, moment in ((yellow, "yellow", warn), (red, "red", due[step_name])):
            recorded = _iso(moment[mask] + 30)
            deadlines = _iso(due[step_name][mask])
            ids = incident_ids[mask]
            areas = supervising[mask]
            for k in range(len(ids)):
                area = areas[k] if level == "red" and areas[k] is not None else r"\N"
                rows.append(
                    f"{ids[k]}\t{step_name}\t0\t{level}\t{recorded[k]}\t{deadlines[k]}\t{area}"
                )
    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {SupervisionRecord._meta.db_table} "
            "(incident_id, step, step_round, level, recorded_at, deadline, supervising_area_id) "
            "FROM STDIN"
        ) as copy,
    ):
        for start_row in range(0, len(rows), 100_000):
            copy.write("\n".join(rows[start_row : start_row + 100_000]) + "\n")
    return len(rows)


def kept_ensure(*, people: dict, progress: Callable[[str], None]) -> tuple[datetime, dict]:
    """The kept cases and the moment they were generated at: generated first when missing."""
    anchor = Sequence.objects.filter(key=ANCHOR_KEY).values_list("value", flat=True).first()
    present = Incident.objects.filter(address__startswith=KEPT_ADDRESS).count()
    if anchor is not None and present == INCIDENTS:
        return datetime.fromtimestamp(anchor, tz=UTC), {"present": present}
    if present:
        raise SystemExit(
            f"{present:,} cases are marked {KEPT_ADDRESS!r}, not {INCIDENTS:,} with their "
            f"marker {ANCHOR_KEY!r}: remove them (or set WANGGE_BENCH_INCIDENTS) first"
        )
    anchor = int(time.time())
    progress(f"generating the {INCIDENTS:,} kept cases (committed, once)")
    started = time.perf_counter()
    with transaction.atomic():
        figures = generate(anchor=float(anchor), people=people, progress=progress)
        Sequence.objects.create(key=ANCHOR_KEY, value=anchor)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return datetime.fromtimestamp(anchor, tz=UTC), figures


# ---------------------------------------------------------------- reports


@dataclass(frozen=True)
class ReportInput:
    actor: object
    source: str
    category: Category
    lon: float
    lat: float
    description: str


def report_inputs(count: int, *, people: dict, seed: int) -> list[ReportInput]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_AsText(ST_GeneratePoints(boundary, %s, %s)) FROM grid_area "
            "WHERE code = %s AND level = %s AND valid_to IS NULL",
            [count, seed, CITY_CODE, AreaLevel.CITY],
        )
        text = cursor.fetchone()[0]
    drawn = [
        [float(value) for value in pair.strip("() ").split()]
        for pair in text.removeprefix("MULTIPOINT(").removesuffix(")").split(",")
    ]
    # A point in a gap between cells would be an unlocated report, which only city managers
    # file: the inspector's reports keep to the cells.
    points = [
        point for point, located in zip(drawn, locate_points(points=drawn), strict=True) if located
    ][:count]
    rng = np.random.default_rng(seed)
    categories = list(
        Category.objects.filter(scheme=GBT30428, active=True).select_related(
            "department_kind", "facility_category"
        )
    )
    inputs = []
    for i, (lon, lat) in enumerate(points):
        hotline = rng.random() < 0.3
        category = categories[int(rng.integers(len(categories)))]
        inputs.append(
            ReportInput(
                actor=people["city_manager"] if hotline else people["inspector"],
                source=Source.HOTLINE if hotline else Source.INSPECTOR,
                category=category,
                lon=lon,
                lat=lat,
                description=f"{category.name}{DESCRIPTIONS[i % len(DESCRIPTIONS)]}",
            )
        )
    return inputs


def service_reports(inputs: list[ReportInput]) -> tuple[float, list[Incident]]:
    made = []
    started = time.perf_counter()
    for report in inputs:
        result = incident_report(
            actor=report.actor,
            source=report.source,
            category=report.category,
            lon=report.lon,
            lat=report.lat,
            description=report.description,
        )
        made.append(result.incident)
    return time.perf_counter() - started, made


def batch_reports(inputs: list[ReportInput], *, size: int) -> tuple[float, list[Incident]]:
    """The reports through incidents_report_batch, in batches of `size` of one actor each
    (the inspector's queued reports, the city manager's hotline forwardings), each batch its
    own committed transaction."""
    by_actor: dict[int, list[ReportInput]] = {}
    for report in inputs:
        by_actor.setdefault(report.actor.pk, []).append(report)
    batches = [
        reports[start : start + size]
        for reports in by_actor.values()
        for start in range(0, len(reports), size)
    ]
    made: list[Incident] = []
    started = time.perf_counter()
    for batch in batches:
        outcomes = incidents_report_batch(
            actor=batch[0].actor,
            reports=[
                {
                    "source": report.source,
                    "category": report.category.id,
                    "lon": report.lon,
                    "lat": report.lat,
                    "description": report.description,
                }
                for report in batch
            ],
        )
        made += [outcome.incident for outcome in outcomes if outcome.incident is not None]
        refused = [outcome for outcome in outcomes if outcome.status != "created"]
        if refused:
            raise RuntimeError(f"batch report refused: {refused[0]}")
    return time.perf_counter() - started, made


def concurrent_reports(inputs: list[ReportInput], *, workers: int) -> tuple[float, list[Incident]]:
    """The reports split among `workers` threads, each on its own database connection, as a
    web server's workers would file them."""
    made: list[list[Incident]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            made[index] = service_reports(inputs[index::workers])[1]
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return seconds, [incident for part in made for incident in part]


def _naive_route(category: Category, chain: dict[int, Area], source: str, description: str):
    """Every rule loaded, matched in Python through its relations."""
    best = None
    for rule in RoutingRule.objects.filter(active=True):
        if rule.category_id is not None and rule.category_id != category.id:
            continue
        if rule.group_id is not None and not rule.group.categories.filter(pk=category.pk).exists():
            continue
        if rule.area_id is not None and not chain[AreaLevel.GRID].code.startswith(rule.area.code):
            continue
        if rule.source and rule.source != source:
            continue
        words = [w.strip() for w in rule.keywords.replace("，", ",").replace("、", ",").split(",")]
        if rule.keywords.strip() and not any(w and w in description for w in words):
            continue
        key = (
            0 if rule.category_id else 1 if rule.group_id else 2,
            -len(rule.area.code) if rule.area_id else 0,
            0 if (rule.source or rule.keywords.strip()) else 1,
            rule.position,
            rule.id,
        )
        if best is None or key < best[0]:
            best = (key, rule)
    if best is None:
        tier, kind, named = category.default_tier, category.department_kind, None
    else:
        rule = best[1]
        tier, named = rule.handling_tier, rule.department
        kind = rule.department_kind or (named.kind if named else None) or category.department_kind
    current = tier
    while True:
        area = chain[current]
        if named is not None and current == tier and named.active:
            return current, area, named
        if kind is None:
            return current, area, None
        department = (
            Department.objects.filter(area=area, kind=kind, active=True).order_by("id").first()
        )
        if department is not None:
            return current, area, department
        if current == AreaLevel.CITY:
            return current, area, None
        current -= 1


def naive_report(report: ReportInput) -> Incident:
    """One report the way a first version would write it (see the module docstring)."""
    with transaction.atomic():
        now = datetime.now(tz=UTC)
        point = Point(report.lon, report.lat, srid=4326)
        cell = (
            Area.objects.filter(level=AreaLevel.GRID, valid_to__isnull=True, boundary__covers=point)
            .order_by("code")
            .first()
        )
        chain = {AreaLevel.GRID: cell}
        area = cell
        for level in (AreaLevel.COMMUNITY, AreaLevel.STREET, AreaLevel.DISTRICT, AreaLevel.CITY):
            area = area.parent
            chain[level] = area
        category = Category.objects.get(pk=report.category.pk)
        assignments = list(Assignment.objects.filter(user=report.actor, active=True))
        if not any(cell.code.startswith(a.area.code) for a in assignments):
            raise RuntimeError("the naive report's actor does not cover the point")
        tier, holder, department = _naive_route(category, chain, report.source, report.description)
        limit = CategoryDeadline.objects.filter(category=category, step="register").first()
        calendar = WorkCalendar.load(start_date=(now - timedelta(days=400)).date())
        clock = step_clock(limit=limit, started_at=now, calendar=calendar)
        list(
            Incident.objects.filter(
                category=category,
                status__in=OPEN_STATES,
                reported_at__gte=now - timedelta(hours=category.duplicate_window_hours),
                location__distance_lte=(point, D(m=category.duplicate_radius_m)),
            )
        )
        year = now.year
        district = chain[AreaLevel.DISTRICT].code
        sequence, _ = Sequence.objects.select_for_update().get_or_create(
            key=f"incident:{year}:{district}"
        )
        sequence.value += 1
        sequence.save()
        incident = Incident.objects.create(
            number=f"{year}{district}{sequence.value:06d}",
            source=report.source,
            category=category,
            location=point,
            description=report.description,
            grid_cell=cell,
            area_code=cell.code,
            district_code=district,
            chain={
                key: {"id": chain[level].id, "code": chain[level].code, "name": chain[level].name}
                for key, level in (
                    ("cell", AreaLevel.GRID),
                    ("community", AreaLevel.COMMUNITY),
                    ("street", AreaLevel.STREET),
                    ("district", AreaLevel.DISTRICT),
                    ("city", AreaLevel.CITY),
                )
            },
            reporter=report.actor,
            status=Status.REPORTED,
            tier=tier,
            holder_area=holder,
            department=department,
            step="register",
            step_started_at=now,
            step_warn_at=clock.warn_at if clock else None,
            step_deadline=clock.deadline if clock else None,
            reported_at=now,
        )
        IncidentEvent.objects.create(
            incident=incident,
            action="reported",
            to_status=Status.REPORTED,
            actor=report.actor,
            role=report.source,
            at=now,
        )
    return incident


def reports(people: dict, *, progress: Callable[[str], None]) -> dict:
    wanted = 2 * REPORTS + 20
    inputs = report_inputs(wanted, people=people, seed=SEED + 7)
    if len(inputs) < wanted:
        inputs += report_inputs(wanted - len(inputs), people=people, seed=SEED + 8)
    warm, measured, parallel = inputs[:20], inputs[20 : 20 + REPORTS], inputs[20 + REPORTS :]
    made: list[Incident] = []
    try:
        progress(f"{len(measured):,} reports through incident_report, each committed")
        made += service_reports(warm)[1]
        seconds, service_made = service_reports(measured)
        made += service_made
        sample = measured[:NAIVE_REPORTS]
        progress(f"{len(sample):,} of the same reports through the naive implementation")
        naive_made = []
        started = time.perf_counter()
        for report in sample:
            naive_made.append(naive_report(report))
        naive_seconds = time.perf_counter() - started
        made += naive_made
        mismatches = sum(
            (a.grid_cell_id, a.tier, a.holder_area_id, a.department_id)
            != (b.grid_cell_id, b.tier, b.holder_area_id, b.department_id)
            for a, b in zip(service_made, naive_made, strict=False)
        )
        unlocated = sum(incident.grid_cell_id is None for incident in service_made)
        progress(f"{len(parallel):,} other reports through incident_report by {WORKERS} threads")
        parallel_seconds, parallel_made = concurrent_reports(parallel, workers=WORKERS)
        made += parallel_made
        progress(
            f"the same {len(measured):,} reports through incidents_report_batch, batches of "
            f"{BATCH_SIZE} by actor"
        )
        batch_seconds, batch_made = batch_reports(measured, size=BATCH_SIZE)
        made += batch_made
        by_input = {
            (incident.location.x, incident.location.y, incident.description): incident
            for incident in service_made
        }
        batch_mismatches = sum(
            (a.grid_cell_id, a.tier, a.holder_area_id, a.department_id, a.escalation_count)
            != (b.grid_cell_id, b.tier, b.holder_area_id, b.department_id, b.escalation_count)
            for a, b in (
                (
                    by_input[(incident.location.x, incident.location.y, incident.description)],
                    incident,
                )
                for incident in batch_made
            )
        )
    finally:
        Incident.objects.filter(pk__in=[incident.pk for incident in made]).delete()
    rate = len(measured) / seconds
    naive_rate = len(sample) / naive_seconds
    batch_rate = len(batch_made) / batch_seconds
    return {
        "batch": {
            "reports": len(batch_made),
            "batch_size": BATCH_SIZE,
            "seconds": round(batch_seconds, 2),
            "reports_per_second": round(batch_rate, 1),
            "ratio_to_naive": round(batch_rate / naive_rate, 1),
            "answers_differing_from_single_reports": batch_mismatches,
            "what": "the same reports as the single figure, grouped by actor (the inspector's "
            "queued reports, the city manager's hotline reports) in batches, each batch one "
            "committed transaction",
        },
        "reports": len(measured),
        "seconds": round(seconds, 2),
        "reports_per_second": round(rate, 1),
        "unlocated": unlocated,
        "naive": {
            "reports": len(sample),
            "seconds": round(naive_seconds, 2),
            "reports_per_second": round(naive_rate, 1),
            "answers_differing_from_the_service": mismatches,
            "what": "per report: ORM locate (boundary__covers) then the four ancestors one by "
            "one, the actor's assignments and their areas one by one, every routing rule "
            "loaded and matched in Python through its relations, department per tier by "
            "query, the calendar loaded, duplicates by ORM, the sequence by get_or_create and "
            "save, the case and its history event saved one by one",
        },
        "ratio": round(rate / naive_rate, 1),
        "concurrent": {
            "workers": WORKERS,
            "reports": len(parallel),
            "seconds": round(parallel_seconds, 2),
            "reports_per_second": round(len(parallel) / parallel_seconds, 1),
            "what": "threads in this process, each on its own database connection",
        },
        "target_reports_per_second": TARGET_REPORTS_PER_SECOND,
        # Throughput through the report service is the batch intake's: one report per call
        # is bound by its round trips (about 11), see the single figure beside it.
        "met": batch_rate >= TARGET_REPORTS_PER_SECOND,
        "single_met": rate >= TARGET_REPORTS_PER_SECOND,
    }


# ---------------------------------------------------------------- supervision


class _Rollback(Exception):
    pass


def _candidate_plan(now: datetime) -> list[str]:
    """The index scans the scan's candidate search uses (EXPLAIN of its first part)."""
    from casework.services import supervision

    sql = supervision._scan_sql()
    candidate = sql[sql.index("SELECT i.id") : sql.index("FOR UPDATE")]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + candidate, {"now": now, "batch": 5000})
        return [row[0] for row in cursor.fetchall()]


def scans(anchor: datetime, *, progress: Callable[[str], None]) -> dict:
    figures: dict = {}
    try:
        with transaction.atomic():
            open_cases = Incident.objects.filter(status__in=OPEN_STATES).count()
            plan = _candidate_plan(anchor)
            progress(f"backlog scan over {open_cases:,} open cases (rolled back afterwards)")
            started = time.perf_counter()
            backlog = supervision_scan(now=anchor)
            figures["backlog"] = {
                "seconds": round(time.perf_counter() - started, 2),
                **backlog.as_dict(),
            }
            started = time.perf_counter()
            minute = supervision_scan(now=anchor + timedelta(minutes=1))
            figures["one_minute_later"] = {
                "seconds": round(time.perf_counter() - started, 3),
                **minute.as_dict(),
            }
            started = time.perf_counter()
            idle = supervision_scan(now=anchor + timedelta(minutes=1))
            figures["nothing_to_do"] = {
                "seconds": round(time.perf_counter() - started, 3),
                **idle.as_dict(),
            }
            figures["open_cases"] = open_cases
            figures["candidate_plan"] = plan
            raise _Rollback
    except _Rollback:
        pass
    figures["target_seconds"] = TARGET_SCAN_SECONDS
    # The target is the scan beat runs every minute; the backlog is the worst case (the
    # first scan after an outage), reported beside it.
    figures["met"] = figures["one_minute_later"]["seconds"] <= TARGET_SCAN_SECONDS
    figures["backlog_met"] = figures["backlog"]["seconds"] <= TARGET_SCAN_SECONDS
    return figures


# ---------------------------------------------------------------- indicators


def _backend_cpu_seconds() -> float | None:
    """CPU time used so far by this connection's PostgreSQL backend, when the server runs on
    this machine (read from /proc); None otherwise. On a shared machine it tells the
    statement's own cost from the time spent waiting for a core."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(call: Callable[[], object], repeats: int = 3) -> tuple[float, float | None, object]:
    """Median wall-clock seconds, median backend CPU seconds, and the last result."""
    seconds, cpu, result = [], [], None
    for _ in range(repeats):
        cpu_before = _backend_cpu_seconds()
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
        cpu_after = _backend_cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            cpu.append(cpu_after - cpu_before)
    return statistics.median(seconds), statistics.median(cpu) if cpu else None, result


def indicators(anchor: datetime, people: dict) -> dict:
    end = anchor + timedelta(seconds=1)
    start = end - timedelta(days=365)
    city = Area.objects.current().get(code=CITY_CODE)
    district = (
        Area.objects.current()
        .filter(level=AreaLevel.DISTRICT, code__startswith=CITY_CODE)
        .order_by("code")
        .first()
    )
    department = (
        Department.objects.filter(area=district, kind__code="chengguan")
        .select_related("area")
        .first()
    )
    inspector = (
        Assignment.objects.filter(role=Role.GRID_INSPECTOR, user__username__startswith=USER_PREFIX)
        .filter(~Q(area=city))
        .select_related("user")
        .order_by("area__code")
        .first()
        .user
    )
    figures = {}
    for name, subject in (
        ("city", area_subject(city)),
        ("district", area_subject(district)),
        ("department", department_subject(department)),
        ("inspector", inspector_subject(inspector)),
    ):
        seconds, cpu, report = _timed(
            lambda subject=subject: case_indicators(subject=subject, start=start, end=end)
        )
        figures[name] = {
            "subject": f"{subject.kind} {subject.key} {subject.name}",
            "seconds": round(seconds, 3),
            "database_cpu_seconds": None if cpu is None else round(cpu, 2),
            "reports": report.metrics["reports"],
            "due_handle": report.metrics["due_handle"],
            "handle_on_time_rate": report.get("handle_on_time_rate").value,
            "close_rate": report.get("close_rate").value,
            "score": report.score,
            "grade": report.grade,
        }
    figures["target_seconds"] = TARGET_INDICATOR_SECONDS
    figures["met"] = figures["city"]["seconds"] <= TARGET_INDICATOR_SECONDS
    return figures


# ---------------------------------------------------------------- run


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def run(*, progress: Callable[[str], None]) -> dict:
    people = people_ensure(progress=progress)
    anchor, seeding = kept_ensure(people=people, progress=progress)
    total = Incident.objects.count()
    progress(f"{total:,} cases in the table; kept ones generated at {anchor.isoformat()}")
    report_figures = reports(people, progress=progress)
    scan_figures = scans(anchor, progress=progress)
    progress("indicators for the year before the kept cases' moment")
    indicator_figures = indicators(anchor, people)

    print()
    print(f"cases in the table: {total:,}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    batch = report_figures["batch"]
    print(
        f"reports through incidents_report_batch (batches of {batch['batch_size']} by actor): "
        f"{batch['reports']:,} in {batch['seconds']} s = {batch['reports_per_second']} "
        f"reports/s (target ≥ {TARGET_REPORTS_PER_SECOND}: {_verdict(report_figures['met'])}); "
        f"ratio to naive: {batch['ratio_to_naive']}x; answers differing from single reports: "
        f"{batch['answers_differing_from_single_reports']}"
    )
    print(
        f"reports through incident_report, one per call: {report_figures['reports']:,} in "
        f"{report_figures['seconds']} s = {report_figures['reports_per_second']} reports/s"
    )
    parallel = report_figures["concurrent"]
    print(
        f"the same service with {parallel['workers']} threads at once: {parallel['reports']:,} "
        f"reports in {parallel['seconds']} s = {parallel['reports_per_second']} reports/s"
    )
    naive = report_figures["naive"]
    print(
        f"naive implementation, {naive['reports']} of the same reports: "
        f"{naive['reports_per_second']} reports/s   ratio: {report_figures['ratio']}x   "
        f"answers differing: {naive['answers_differing_from_the_service']}"
    )
    print(
        f"supervision scan over {scan_figures['open_cases']:,} open cases "
        f"(target ≤ {TARGET_SCAN_SECONDS} s for the scan every minute: "
        f"{_verdict(scan_figures['met'])}):"
    )
    for label, key in (
        ("the backlog (every open case's light due at once)", "backlog"),
        ("one minute later (the scan every minute)", "one_minute_later"),
        ("again, nothing to do", "nothing_to_do"),
    ):
        figures = scan_figures[key]
        print(
            f"  {label}: {figures['seconds']} s — {figures['changed']:,} lights set, "
            f"{figures['yellow']:,} yellow and {figures['red']:,} red recorded, "
            f"{figures['notified']:,} notifications, {figures['batches']} batches"
        )
    used = sorted(
        {
            line.split(" on ")[-1].split()[0]
            for line in scan_figures["candidate_plan"]
            if " on " in line
        }
    )
    print(f"the scan's candidates come from: {', '.join(used)}")
    for name in ("city", "district", "department", "inspector"):
        figures = indicator_figures[name]
        print(
            f"indicators for a year, {figures['subject']}: {figures['seconds']} s "
            f"(database CPU {figures['database_cpu_seconds']} s; "
            f"{figures['reports']:,} reports, {figures['due_handle']:,} due for handling"
            + (f", score {figures['score']} {figures['grade']}" if figures["score"] else "")
            + ")"
            + (
                f" (target ≤ {TARGET_INDICATOR_SECONDS} s: {_verdict(indicator_figures['met'])})"
                if name == "city"
                else ""
            )
        )
    return {
        "benchmark": "casework",
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "cases_in_table": total,
        "kept": seeding,
        "anchor": anchor.isoformat(),
        "reports": report_figures,
        "supervision_scan": scan_figures,
        "indicators": indicator_figures,
    }
