"""Importing facilities (部件) from CSV or XLSX files.

Every row is checked and every problem of every row is reported as (row, column, reason),
with the row number as the user sees it in the file (header = row 1) and the column name the
file used. The points of all rows are located in one statement (grid.selectors.locate.
locate_points), not row by row. By default the import is all or nothing: one problem and
nothing is written. With `partial=True` the good rows are written and the others reported.

Columns (English names or the Chinese ones in ALIASES): code (optional; issued when empty),
category (the class code), scheme (default GB/T 30428), name, lon, lat, owner_department
(name or id), state (完好/破损/丢失/占用 or intact/damaged/lost/occupied), last_inspected_on.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import Department
from grid.selectors.locate import Location, coordinate_errors, locate_points

from ..models import Facility, FacilityCategory, FacilityState
from ..selectors.facilities import (
    FacilityAction,
    facility_access,
    facility_codes_taken,
)
from ..tabular import RowProblem, read_table
from .facilities import (
    DEFAULT_SCHEME,
    NAME_MAX_LENGTH,
    FacilitySerials,
    district_code_of,
    facility_code_problems,
    facility_inspection_date_problem,
)

ProgressCallback = Callable[[str, int, int], None]
PROGRESS_EVERY = 1000
WRITE_BATCH = 1000

ALIASES: dict[str, str] = {
    "部件编码": "code",
    "部件标识码": "code",
    "标识码": "code",
    "编码": "code",
    "小类代码": "category",
    "小类编码": "category",
    "部件小类": "category",
    "类别代码": "category",
    "category_code": "category",
    "编码标准": "scheme",
    "分类标准": "scheme",
    "编码体系": "scheme",
    "名称": "name",
    "部件名称": "name",
    "经度": "lon",
    "longitude": "lon",
    "lng": "lon",
    "纬度": "lat",
    "latitude": "lat",
    "权属部门": "owner_department",
    "主管部门": "owner_department",
    "权属单位": "owner_department",
    "department": "owner_department",
    "状态": "state",
    "部件状态": "state",
    "status": "state",
    "最近巡查日期": "last_inspected_on",
    "最近巡查": "last_inspected_on",
    "巡查日期": "last_inspected_on",
    "last_inspection": "last_inspected_on",
}
REQUIRED = ("category", "lon", "lat")

STATE_WORDS: dict[str, str] = {
    "完好": FacilityState.INTACT,
    "破损": FacilityState.DAMAGED,
    "丢失": FacilityState.LOST,
    "占用": FacilityState.OCCUPIED,
    **{state.value: state.value for state in FacilityState},
}
# 2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, optionally with a time of day (a date cell of
# a workbook reads as "2026-03-01 00:00:00"), or 20260301.
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T][0-9:.]+)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# A spreadsheet keeps 15 significant digits of a number: a longer code stored as a number
# may already have lost its last digits.
SPREADSHEET_DIGITS = 15


@dataclass
class FacilityImportReport:
    file: str
    rows: int = 0
    created: int = 0
    skipped: int = 0
    issued_codes: int = 0
    partial: bool = False
    problems: list[RowProblem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "skipped": self.skipped,
            "issued_codes": self.issued_codes,
            "partial": self.partial,
            "problems": [problem.as_dict() for problem in self.problems],
        }


@dataclass
class _Row:
    number: int
    code: str = ""
    category: FacilityCategory | None = None
    name: str = ""
    lon: float | None = None
    lat: float | None = None
    department_text: str = ""
    state: str = FacilityState.INTACT
    inspected_on: datetime.date | None = None
    location: Location | None = None
    owner: Department | None = None
    problems: list[RowProblem] = field(default_factory=list)


def parse_date(text: str) -> datetime.date:
    """A date as offices write it; ValueError with the reason otherwise."""
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if not match:
        raise ValueError(_("“%(text)s” is not a date (write it as 2026-03-01)") % {"text": text})
    try:
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise ValueError(_("“%(text)s” is not a real date") % {"text": text}) from None


class _Columns:
    """The file's own column names, for reports; fields the file lacks go by their name."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns

    def __getitem__(self, name: str) -> str:
        return self.columns.get(name, name)

    @property
    def location(self) -> str:
        return f"{self['lon']}, {self['lat']}"


class _Catalogue:
    def __init__(self) -> None:
        self.by_key = {(c.scheme, c.code): c for c in FacilityCategory.objects.all()}
        self.schemes: dict[str, int] = {}
        for scheme, code in self.by_key:
            self.schemes[scheme] = max(self.schemes.get(scheme, 0), len(code))

    def scheme_problem(self, scheme: str) -> str | None:
        if scheme in self.schemes:
            return None
        return _("unknown code scheme “%(scheme)s”; known: %(known)s") % {
            "scheme": scheme,
            "known": ", ".join(sorted(self.schemes)),
        }

    def resolve(self, *, code: str, scheme: str, numeric: bool) -> FacilityCategory | str:
        if numeric and code.isdigit():
            # A number cell has lost the class code's leading zero (0101 → 101).
            code = code.zfill(self.schemes[scheme])
        category = self.by_key.get((scheme, code))
        if category is not None:
            return category
        elsewhere = sorted(s for s, c in self.by_key if c == code and s != scheme)
        if elsewhere:
            return _(
                "no category “%(code)s” in the %(scheme)s scheme; it is a class of %(other)s: "
                "name that scheme in the scheme column"
            ) % {"code": code, "scheme": scheme, "other": ", ".join(elsewhere)}
        return _("unknown category “%(code)s” in the %(scheme)s scheme") % {
            "code": code,
            "scheme": scheme,
        }


def _parse_row(
    number: int, values: dict[str, str], *, numeric: set[str], cols: _Columns, catalogue: _Catalogue
) -> _Row:
    row = _Row(number=number)

    def problem(name: str, reason: str, *, column: str | None = None) -> None:
        row.problems.append(RowProblem(number, column or cols[name], reason))

    row.code = values.get("code", "").strip()
    if row.code and "code" in numeric and len(row.code) > SPREADSHEET_DIGITS:
        problem(
            "code",
            _(
                "the code is stored as a number, and a spreadsheet keeps only 15 significant "
                "digits: format the column as text and enter the code again"
            ),
        )
    scheme = values.get("scheme", "").strip() or DEFAULT_SCHEME
    scheme_problem = catalogue.scheme_problem(scheme)
    if scheme_problem:
        problem("scheme", scheme_problem)
    category_code = values.get("category", "").strip()
    if not category_code:
        problem("category", _("the category code is missing"))
    elif not scheme_problem:
        resolved = catalogue.resolve(
            code=category_code, scheme=scheme, numeric="category" in numeric
        )
        if isinstance(resolved, str):
            problem("category", resolved)
        else:
            row.category = resolved
    if row.code and row.category is None and not row.code.isdigit():
        problem(
            "code",
            _("a component code consists of digits only; “%(code)s” does not") % {"code": row.code},
        )
    row.name = values.get("name", "").strip()
    if len(row.name) > NAME_MAX_LENGTH:
        problem(
            "name",
            _("the name has %(got)d characters; at most %(max)d")
            % {"got": len(row.name), "max": NAME_MAX_LENGTH},
        )
    coordinates: dict[str, object] = {}
    for name in ("lon", "lat"):
        text = values.get(name, "").strip()
        if not text:
            problem(name, _("%(name)s is missing") % {"name": cols[name]})
            continue
        try:
            coordinates[name] = float(text)
        except ValueError:
            problem(name, _("“%(text)s” is not a number") % {"text": text})
    if len(coordinates) == 2:
        errors = coordinate_errors(lon=coordinates["lon"], lat=coordinates["lat"])
        for name, reason in errors.items():
            problem(name, reason)
        if not errors:
            row.lon, row.lat = float(coordinates["lon"]), float(coordinates["lat"])
    row.department_text = values.get("owner_department", "").strip()
    state_text = values.get("state", "").strip()
    if state_text:
        state = STATE_WORDS.get(state_text.lower())
        if state is None:
            problem(
                "state",
                _("unknown state “%(state)s”: use 完好, 破损, 丢失 or 占用 (%(english)s)")
                % {"state": state_text, "english": ", ".join(FacilityState.values)},
            )
        else:
            row.state = state
    date_text = values.get("last_inspected_on", "").strip()
    if date_text:
        try:
            row.inspected_on = parse_date(date_text)
        except ValueError as error:
            problem("last_inspected_on", str(error))
        else:
            future = facility_inspection_date_problem(row.inspected_on)
            if future:
                problem("last_inspected_on", future)
    return row


class _Departments:
    """The departments the file names, loaded in one query."""

    def __init__(self, texts: set[str]) -> None:
        ids = {int(text) for text in texts if text.isdigit()}
        names = {text for text in texts if not text.isdigit()}
        rows = list(
            Department.objects.filter(Q(pk__in=ids) | Q(name__in=names)).select_related("area")
        )
        self.by_id = {department.pk: department for department in rows}
        self.by_name: dict[str, list[Department]] = {}
        for department in rows:
            self.by_name.setdefault(department.name, []).append(department)

    def resolve(self, text: str, *, cell_code: str) -> Department | str:
        """The department `text` names (an id, or a name: the one working for the smallest
        area that contains the cell), or the reason there is none."""
        if text.isdigit():
            department = self.by_id.get(int(text))
            if department is None:
                return _("there is no department with id %(id)s") % {"id": text}
            candidates = [department]
        else:
            candidates = self.by_name.get(text, [])
            if not candidates:
                return _("unknown department “%(name)s”") % {"name": text}
        active = [d for d in candidates if d.active]
        if not active:
            return _("the department “%(name)s” is no longer active") % {"name": text}
        containing = [d for d in active if cell_code.startswith(d.area.code)]
        if not containing:
            return _(
                "the department “%(name)s” works for %(area)s, which does not contain the "
                "facility's grid cell %(cell)s"
            ) % {"name": text, "area": active[0].area.name, "cell": cell_code}
        return max(containing, key=lambda d: len(d.area.code))


def _report_progress(progress: ProgressCallback | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def facility_import(
    *,
    source: str | Path | IO[bytes],
    filename: str,
    actor=None,
    partial: bool = False,
    progress: ProgressCallback | None = None,
) -> FacilityImportReport:
    """Check every row of the file and register the facilities in one transaction. All or
    nothing unless `partial`: then the rows without problems are written. `actor` (None: the
    system) must be allowed to register facilities where each row lies; a row outside their
    areas is reported. `progress(stage, done, total)` is called as rows are read, located,
    checked and written."""
    access = facility_access(user=actor)
    if not access.may_at_all(FacilityAction.EDIT):
        raise Forbidden(_("your role may not register facilities"))
    table = read_table(source, filename=filename, aliases=ALIASES, required=REQUIRED)
    cols = _Columns(table.columns)
    catalogue = _Catalogue()
    rows: list[_Row] = []
    for number, values in table.rows:
        rows.append(
            _parse_row(
                number,
                values,
                numeric=table.numeric.get(number, set()),
                cols=cols,
                catalogue=catalogue,
            )
        )
        if len(rows) % PROGRESS_EVERY == 0:
            _report_progress(progress, "read", len(rows), 0)
    total = len(rows)
    _report_progress(progress, "read", total, total)
    report = FacilityImportReport(file=filename, rows=total, partial=partial)
    if not rows:
        raise InvalidInput(_("the file has no data rows"))

    placed = [row for row in rows if row.lon is not None]
    for row, location in zip(
        placed, locate_points(points=[(row.lon, row.lat) for row in placed]), strict=True
    ):
        row.location = location
    _report_progress(progress, "located", len(placed), total)

    departments = _Departments({row.department_text for row in rows if row.department_text})
    first_row_of_code: dict[str, int] = {}
    for index, row in enumerate(rows, start=1):
        _check_row(row, cols=cols, access=access, departments=departments)
        if row.code:
            first = first_row_of_code.setdefault(row.code, row.number)
            if first != row.number:
                row.problems.append(
                    RowProblem(
                        row.number,
                        cols["code"],
                        _("the code %(code)s is also on row %(row)d of the file")
                        % {"code": row.code, "row": first},
                    )
                )
        if index % PROGRESS_EVERY == 0:
            _report_progress(progress, "checked", index, total)
    taken = facility_codes_taken(codes=[row.code for row in rows if row.code])
    for row in rows:
        if row.code in taken:
            row.problems.append(
                RowProblem(
                    row.number,
                    cols["code"],
                    _("the code %(code)s is already registered") % {"code": row.code},
                )
            )
    _report_progress(progress, "checked", total, total)

    report.problems = [problem for row in rows for problem in row.problems]
    good = [row for row in rows if not row.problems]
    report.skipped = total - len(good)
    if report.problems and not partial:
        raise InvalidInput(
            ngettext(
                "%(problems)d problem in %(rows)d of %(total)d rows; nothing was imported",
                "%(problems)d problems in %(rows)d of %(total)d rows; nothing was imported",
                len(report.problems),
            )
            % {"problems": len(report.problems), "rows": report.skipped, "total": total},
            details=[problem.as_dict() for problem in report.problems],
        )
    _write(good, report=report, progress=progress)
    return report


def _check_row(row: _Row, *, cols: _Columns, access, departments: _Departments) -> None:
    """The checks that need the row's location: cell, scope, department, code."""

    def problem(column: str, reason: str) -> None:
        row.problems.append(RowProblem(row.number, column, reason))

    location = row.location
    if row.lon is not None and location is None:
        problem(
            cols.location,
            _("the point lon %(lon)s, lat %(lat)s lies outside every grid cell")
            % {"lon": row.lon, "lat": row.lat},
        )
    if location is not None and row.department_text:
        resolved = departments.resolve(row.department_text, cell_code=location.cell.code)
        if isinstance(resolved, str):
            problem(cols["owner_department"], resolved)
        else:
            row.owner = resolved
    if location is not None:
        refusal = access.refusal(
            FacilityAction.EDIT,
            area_code=location.cell.code,
            owner_department_id=row.owner.pk if row.owner else None,
        )
        if isinstance(refusal, NotFound):
            problem(
                cols.location,
                _("the point lies in grid cell %(cell)s, outside your areas")
                % {"cell": location.cell.code},
            )
        elif refusal is not None:
            problem(cols.location, refusal.message)
    if row.code and row.category is not None:
        district = district_code_of(location) if location is not None else None
        for reason in facility_code_problems(
            code=row.code, category=row.category, district_code=district
        ):
            problem(cols["code"], reason)


# Raw SQL: the rows go in as one array per column and the points are built in PostGIS.
# bulk_create compiles a geometry expression per row: 50,000 rows took 27 s with it and
# 3.5 s this way (the whole import of such a file: 6 s).
_INSERT_SQL = f"""
    INSERT INTO {Facility._meta.db_table} (
        code, category_id, name, location, grid_cell_id, area_code, owner_department_id,
        state, last_inspected_on, created_at, updated_at
    )
    SELECT code, category_id, name, ST_SetSRID(ST_MakePoint(lon, lat), 4326), grid_cell_id,
           area_code, owner_department_id, state, last_inspected_on, %(now)s, %(now)s
    FROM unnest(
        %(code)s::text[], %(category_id)s::bigint[], %(name)s::text[], %(lon)s::float8[],
        %(lat)s::float8[], %(grid_cell_id)s::bigint[], %(area_code)s::text[],
        %(owner_department_id)s::bigint[], %(state)s::text[], %(last_inspected_on)s::date[]
    ) AS given (
        code, category_id, name, lon, lat, grid_cell_id, area_code, owner_department_id,
        state, last_inspected_on
    )
"""


def _columns(rows: list[_Row], *, now: datetime.datetime) -> dict[str, object]:
    return {
        "now": now,
        "code": [row.code for row in rows],
        "category_id": [row.category.pk for row in rows],
        "name": [row.name for row in rows],
        "lon": [row.lon for row in rows],
        "lat": [row.lat for row in rows],
        "grid_cell_id": [row.location.cell.id for row in rows],
        "area_code": [row.location.cell.code for row in rows],
        "owner_department_id": [row.owner.pk if row.owner else None for row in rows],
        "state": [row.state for row in rows],
        "last_inspected_on": [row.inspected_on for row in rows],
    }


def _write(
    rows: list[_Row], *, report: FacilityImportReport, progress: ProgressCallback | None
) -> None:
    try:
        with transaction.atomic():
            serials = FacilitySerials()
            for row in rows:
                if row.code:
                    serials.reserve(code=row.code, category=row.category)
            # Codes are issued a block per district and class: one sequence statement for
            # all the rows of a block, not one per row.
            waiting: dict[tuple[str, int], list[_Row]] = {}
            for row in rows:
                if not row.code:
                    key = (district_code_of(row.location), row.category.pk)
                    waiting.setdefault(key, []).append(row)
            for (district_code, _category), block in waiting.items():
                codes = serials.issue_block(
                    district_code=district_code, category=block[0].category, count=len(block)
                )
                for row, code in zip(block, codes, strict=True):
                    row.code = code
                report.issued_codes += len(block)
            now = timezone.now()
            with connection.cursor() as cursor:
                for start in range(0, len(rows), WRITE_BATCH):
                    batch = rows[start : start + WRITE_BATCH]
                    cursor.execute(_INSERT_SQL, _columns(batch, now=now))
                    report.created = start + len(batch)
                    _report_progress(progress, "written", report.created, len(rows))
    except IntegrityError as exc:
        raise Conflict(
            _("another import or registration took some of these codes meanwhile; run it again"),
        ) from exc
