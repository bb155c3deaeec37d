"""Importing residents from CSV and XLSX files (community.tabular), set-based.

The file is read in batches. Each row is checked in Python (name, ID number, phone, care
tags, lengths, community code) and its ID and phone numbers digested and encrypted, a batch
at a time. A worker thread, on the importing transaction's connection, locates the batch's
points with one statement (grid.selectors.locate.locate_points), copies the batch into a
temporary table (COPY) and writes its good rows with INSERT … SELECT: households first, then
the residents and their care tags. While the worker writes one batch — mostly waiting for the
database — the main thread reads and checks the next, so the two cores both work.

A resident whose ID number is already stored is skipped by the insert (ON CONFLICT); at the
end two set queries name every duplicate: inside the file (every row of the group) and
against the residents stored before.

Everything happens in one transaction. By default a single problem anywhere writes nothing
(ResidentImportFailed, 422, with every problem of every row; once a problem is known the
remaining rows are only checked); with `partial` the good rows are written and the bad ones
reported, and residents written before their duplicate turned up are taken back. Problems
name the row as the user sees it in the file (header = row 1), the column as the file names
it, and the reason — never a clear ID or phone number.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import IO

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from grid.errors import InvalidInput
from grid.models import Area, AreaLevel
from grid.scope import Scope
from grid.selectors.locate import locate_points

from .. import pii
from ..idnumber import id_number_check
from ..models import CareTag, Household, Resident
from ..phone import normalise_phone, phone_error
from ..selectors.residents import require_keeper
from ..tabular import RowProblem, read_table
from .residents import ADDRESS_MAX, HOUSEHOLD_NUMBER_MAX, NAME_MAX, RELATION_MAX

logger = logging.getLogger(__name__)

# Header names accepted for each field (a field's own name is always accepted).
ALIASES = {
    "姓名": "name",
    "名字": "name",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "身份证": "id_number",
    "公民身份号码": "id_number",
    "证件号码": "id_number",
    "id number": "id_number",
    "联系电话": "phone",
    "电话": "phone",
    "电话号码": "phone",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "联系方式": "phone",
    "住址": "address",
    "地址": "address",
    "现住址": "address",
    "居住地址": "address",
    "社区编码": "community",
    "社区代码": "community",
    "社区编号": "community",
    "community_code": "community",
    "经度": "lon",
    "longitude": "lon",
    "lng": "lon",
    "纬度": "lat",
    "latitude": "lat",
    "户号": "household",
    "户编号": "household",
    "household_number": "household",
    "与户主关系": "relation_to_head",
    "与户主的关系": "relation_to_head",
    "关系": "relation_to_head",
    "relation": "relation_to_head",
    "关怀标签": "care_tags",
    "关怀对象": "care_tags",
    "关怀类别": "care_tags",
    "标签": "care_tags",
    "tags": "care_tags",
}
FIELDS = (
    "name",
    "id_number",
    "phone",
    "address",
    "community",
    "lon",
    "lat",
    "household",
    "relation_to_head",
    "care_tags",
)
# Rows checked, located and staged together: large enough that one locate statement and one
# COPY serve many rows, small enough to keep memory flat for any file size.
BATCH_ROWS = 50_000
_TAG_SEPARATORS = str.maketrans(dict.fromkeys("、,，;；|/", " "))


@dataclass(frozen=True)
class ImportProgress:
    """Where an import is: `stage` is "importing" (after each batch is read and checked,
    while the one before is written) or "checking duplicates" (every row written)."""

    stage: str
    read: int
    checked: int
    written: int
    seconds: float

    @property
    def rate(self) -> float:
        """Rows per second read and checked so far."""
        return self.checked / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[ImportProgress], None]


@dataclass
class ResidentImportReport:
    file: str
    partial: bool
    rows: int = 0
    good: int = 0
    written: int = 0
    households_created: int = 0
    seconds: float = 0.0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({problem.row for problem in self.problems})

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "partial": self.partial,
            "rows": self.rows,
            "good": self.good,
            "bad_rows": self.bad_rows,
            "written": self.written,
            "households_created": self.households_created,
            "seconds": round(self.seconds, 3),
            "problems": [problem.as_dict() for problem in self.problems],
        }


class ResidentImportFailed(InvalidInput):
    """An all-or-nothing import found problems: nothing was written. `report` has them all;
    the details (the API's "errors") are the problems, one per row and column."""

    def __init__(self, report: ResidentImportReport) -> None:
        message = ngettext(
            "%(bad)d of %(rows)d rows has problems; nothing was written",
            "%(bad)d of %(rows)d rows have problems; nothing was written",
            report.bad_rows,
        ) % {"bad": report.bad_rows, "rows": report.rows}
        super().__init__(message, details=[problem.as_dict() for problem in report.problems])
        self.report = report


@dataclass(slots=True)
class _Row:
    number: int
    problems: list[tuple[str, str]]
    name: str = ""
    id_value: str = ""
    birth_date: date | None = None
    sex: str = ""
    phone: str = ""
    community_id: int | None = None
    community_code: str = ""
    cell_id: int | None = None
    area_code: str = ""
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    household: str = ""
    relation: str = ""
    tags: list[int] = field(default_factory=list)
    digest: str = ""
    masked: str = ""
    id_token: str = ""
    phone_token: str = ""
    phone_digest: str = ""
    phone_masked: str = ""


@dataclass
class _Context:
    scope: Scope
    columns: dict[str, str]
    numeric: dict[int, set[str]]
    communities: dict[str, int]
    tags: dict[str, int]
    today: date


def _text(value: str | None) -> str:
    return " ".join(value.split()) if value else ""


def _too_long(limit: int, value: str) -> str:
    return _("at most %(limit)d characters; this has %(count)d") % {
        "limit": limit,
        "count": len(value),
    }


def _coordinate(text: str, name: str, limit: int) -> tuple[float | None, str | None]:
    try:
        value = float(text)
    except ValueError:
        return None, _("%(name)s must be a number; got “%(value)s”") % {
            "name": name,
            "value": text[:30],
        }
    if not math.isfinite(value) or not -limit <= value <= limit:
        return None, _("%(name)s must be between -%(limit)d and %(limit)d; got %(value)s") % {
            "name": name,
            "limit": limit,
            "value": text[:30],
        }
    return value, None


def _check_row(number: int, values: dict[str, str], context: _Context) -> _Row:
    """Everything that one row can tell about itself; location is settled per batch."""
    row = _Row(number=number, problems=[])
    problems = row.problems
    row.name = _text(values.get("name"))
    if not row.name:
        problems.append(("name", _("the name is required")))
    elif len(row.name) > NAME_MAX:
        problems.append(("name", _too_long(NAME_MAX, row.name)))

    raw_id = values.get("id_number", "")
    if "id_number" in context.numeric.get(number, ()):
        problems.append(
            (
                "id_number",
                _(
                    "the cell holds a number, not text: a spreadsheet keeps only 15 digits of "
                    "a number, so the last digits of this ID number may be lost; format the "
                    "column as text and type the numbers again"
                ),
            )
        )
    elif not raw_id.strip():
        problems.append(("id_number", _("the ID number is required")))
    else:
        checked = id_number_check(raw_id, today=context.today)
        if isinstance(checked, str):
            problems.append(("id_number", checked))
        else:
            row.id_value = checked.value
            row.birth_date = checked.birth_date
            row.sex = checked.sex

    raw_phone = values.get("phone", "").strip()
    if raw_phone:
        reason = phone_error(raw_phone)
        if reason:
            problems.append(("phone", reason))
        else:
            row.phone = normalise_phone(raw_phone)

    row.address = _text(values.get("address"))
    if len(row.address) > ADDRESS_MAX:
        problems.append(("address", _too_long(ADDRESS_MAX, row.address)))
    row.household = _text(values.get("household"))
    if len(row.household) > HOUSEHOLD_NUMBER_MAX:
        problems.append(("household", _too_long(HOUSEHOLD_NUMBER_MAX, row.household)))
    row.relation = _text(values.get("relation_to_head"))
    if len(row.relation) > RELATION_MAX:
        problems.append(("relation_to_head", _too_long(RELATION_MAX, row.relation)))

    raw_tags = values.get("care_tags", "")
    if raw_tags:
        unknown = []
        for tag in raw_tags.translate(_TAG_SEPARATORS).split():
            tag_id = context.tags.get(tag.lower())
            if tag_id is None:
                unknown.append(tag)
            elif tag_id not in row.tags:
                row.tags.append(tag_id)
        if unknown:
            problems.append(
                ("care_tags", _("unknown care tags: %(tags)s") % {"tags": "、".join(unknown)})
            )

    code = values.get("community", "").strip()
    if code:
        community_id = context.communities.get(code)
        if community_id is None or not context.scope.covers(code):
            problems.append(
                ("community", _("there is no community “%(code)s” in your areas") % {"code": code})
            )
        else:
            row.community_id = community_id
            row.community_code = code
    raw_lon = values.get("lon", "").strip()
    raw_lat = values.get("lat", "").strip()
    if raw_lon or raw_lat:
        for name, raw, limit in (("lon", raw_lon, 180), ("lat", raw_lat, 90)):
            if not raw:
                problems.append((name, _("give both longitude and latitude, or neither")))
                continue
            value, reason = _coordinate(raw, name, limit)
            if reason:
                problems.append((name, reason))
            setattr(row, name, value)
        if row.lon is None or row.lat is None:
            row.lon = row.lat = None
    elif not code:
        problems.append(
            (
                "community" if "community" in context.columns else "lon",
                _("give the community code or the longitude and latitude"),
            )
        )
    return row


def _locate(rows: list[_Row], context: _Context) -> None:
    """Locate the batch's points with one statement and settle each row's cell, community and
    area code; a point outside every cell or outside the importer's areas is a problem."""
    with_points = [row for row in rows if row.lon is not None and row.lat is not None]
    # Members of a household usually share one point: each distinct point is located once.
    distinct: dict[tuple[float, float], int] = {}
    for row in with_points:
        distinct.setdefault((row.lon, row.lat), len(distinct))
    located = locate_points(points=list(distinct))
    for row in with_points:
        location = located[distinct[(row.lon, row.lat)]]
        where = f"({row.lon:.6f}, {row.lat:.6f})"
        if location is None or location.community is None:
            row.problems.append(
                ("lon", _("the point %(point)s lies in no grid cell") % {"point": where})
            )
        elif not context.scope.covers(location.cell.code):
            row.problems.append(
                ("lon", _("the point %(point)s lies outside your areas") % {"point": where})
            )
        elif row.community_code and row.community_code != location.community.code:
            row.problems.append(
                (
                    "lon",
                    _("the point %(point)s lies in community %(located)s, not in %(given)s")
                    % {
                        "point": where,
                        "located": location.community.code,
                        "given": row.community_code,
                    },
                )
            )
        else:
            row.community_id = location.community.id
            row.cell_id = location.cell.id
            row.area_code = location.cell.code
    for row in rows:
        if not row.area_code and row.community_id is not None and row.lon is None:
            row.area_code = row.community_code


def _seal(rows: list[_Row]) -> None:
    """Digest and mask every valid ID number (the duplicate checks need them), and encrypt
    the ID and phone numbers of the rows without problems so far, a batch at a time."""
    good = []
    for row in rows:
        if row.id_value:
            row.digest = pii.lookup_digest(row.id_value)
            row.masked = pii.mask_id_number(row.id_value)
            if not row.problems:
                good.append(row)
    for row, token in zip(good, pii.encrypt_many([row.id_value for row in good]), strict=True):
        row.id_token = token
    with_phone = [row for row in good if row.phone]
    tokens = pii.encrypt_many([row.phone for row in with_phone])
    for row, token in zip(with_phone, tokens, strict=True):
        row.phone_token = token
        row.phone_digest = pii.lookup_digest(row.phone)
        row.phone_masked = pii.mask_phone(row.phone)


class _Writer:
    """The database side of one import, on the importing transaction's connection.

    Temporary tables: `batch` takes one batch at a time by COPY and the residents are
    inserted from it; `seen` keeps (row, digest, masked ID) of every row with a valid ID for
    the duplicate checks at the end; `written` keeps (id, digest) of every resident written
    and `created` the households created, so that a partial import can take back the rows
    that turn out to be duplicates."""

    COLUMNS = (
        "row_number",
        "digest",
        "masked",
        "bad",
        "name",
        "id_ct",
        "birth_date",
        "sex",
        "phone_ct",
        "phone_digest",
        "phone_masked",
        "community_id",
        "cell_id",
        "area_code",
        "address",
        "lon",
        "lat",
        "household",
        "relation",
        "tags",
    )

    def __init__(self, cursor) -> None:
        self.cursor = cursor
        suffix = uuid.uuid4().hex[:12]
        self.batch = f"resident_import_batch_{suffix}"
        self.seen = f"resident_import_seen_{suffix}"
        self.written = f"resident_import_written_{suffix}"
        self.created = f"resident_import_created_{suffix}"

    def create(self) -> None:
        self.cursor.execute(
            f"""
            CREATE TEMPORARY TABLE {self.batch} (
                row_number integer NOT NULL,
                digest text NOT NULL,
                masked text NOT NULL,
                bad boolean NOT NULL,
                name text,
                id_ct text,
                birth_date date,
                sex text,
                phone_ct text,
                phone_digest text,
                phone_masked text,
                community_id bigint,
                cell_id bigint,
                area_code text,
                address text,
                lon float8,
                lat float8,
                household text,
                relation text,
                tags bigint[]
            ) ON COMMIT DROP;
            CREATE TEMPORARY TABLE {self.seen} (
                row_number integer NOT NULL, digest text NOT NULL, masked text NOT NULL
            ) ON COMMIT DROP;
            CREATE TEMPORARY TABLE {self.written} (id bigint NOT NULL, digest text NOT NULL)
                ON COMMIT DROP;
            CREATE TEMPORARY TABLE {self.created} (id bigint NOT NULL) ON COMMIT DROP
            """
        )

    def _copy(self, rows: list[_Row]) -> None:
        columns = ", ".join(self.COLUMNS)
        with self.cursor.cursor.copy(f"COPY {self.batch} ({columns}) FROM STDIN") as copy:
            for row in rows:
                if not row.digest:
                    continue
                if row.problems:
                    copy.write_row((row.number, row.digest, row.masked, True) + (None,) * 16)
                    continue
                copy.write_row(
                    (
                        row.number,
                        row.digest,
                        row.masked,
                        False,
                        row.name,
                        row.id_token,
                        row.birth_date,
                        row.sex,
                        row.phone_token,
                        row.phone_digest,
                        row.phone_masked,
                        row.community_id,
                        row.cell_id,
                        row.area_code,
                        row.address,
                        row.lon,
                        row.lat,
                        row.household,
                        row.relation,
                        row.tags,
                    )
                )

    def write_batch(self, rows: list[_Row], *, write: bool) -> int:
        """Stage the batch for the duplicate checks and, if `write`, write its good rows:
        households first, then the residents — a resident whose ID number is stored already
        (earlier in the file, or before) is skipped here and reported at the end — and their
        care tags. The number of residents written."""
        self.cursor.execute(f"TRUNCATE {self.batch}")
        self._copy(rows)
        self.cursor.execute(
            f"INSERT INTO {self.seen} SELECT row_number, digest, masked FROM {self.batch}"
        )
        if not write:
            return 0
        self.cursor.execute(
            f"""
            WITH created AS (
                INSERT INTO {Household._meta.db_table}
                    (number, community_id, grid_cell_id, area_code, address, location,
                     created_at, updated_at)
                SELECT DISTINCT ON (community_id, household)
                       household, community_id, cell_id, area_code, address,
                       CASE WHEN lon IS NULL THEN NULL
                            ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END,
                       now(), now()
                FROM {self.batch}
                WHERE NOT bad AND household <> ''
                ORDER BY community_id, household, row_number
                ON CONFLICT (community_id, number) DO NOTHING
                RETURNING id
            )
            INSERT INTO {self.created} SELECT id FROM created
            """
        )
        through = Resident.care_tags.through._meta.db_table
        # Rows go in by area code, so that the area, community, cell and location indexes
        # are updated page by page rather than all over.
        self.cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO {Resident._meta.db_table}
                    (name, id_number_ciphertext, id_number_digest, id_number_masked,
                     birth_date, sex, phone_ciphertext, phone_digest, phone_masked,
                     household_id, relation_to_head, community_id, grid_cell_id, area_code,
                     address, location, created_at, updated_at)
                SELECT staged.name, staged.id_ct, staged.digest, staged.masked,
                       staged.birth_date, staged.sex, staged.phone_ct, staged.phone_digest,
                       staged.phone_masked, household.id, staged.relation,
                       staged.community_id, staged.cell_id, staged.area_code, staged.address,
                       CASE WHEN staged.lon IS NULL THEN NULL
                            ELSE ST_SetSRID(ST_MakePoint(staged.lon, staged.lat), 4326) END,
                       now(), now()
                FROM {self.batch} AS staged
                LEFT JOIN {Household._meta.db_table} AS household
                  ON staged.household <> ''
                 AND household.community_id = staged.community_id
                 AND household.number = staged.household
                WHERE NOT staged.bad
                ORDER BY staged.area_code
                ON CONFLICT (id_number_digest) DO NOTHING
                RETURNING id, id_number_digest
            ),
            kept AS (
                INSERT INTO {self.written} SELECT id, id_number_digest FROM inserted
            ),
            tagged AS (
                INSERT INTO {through} (resident_id, caretag_id)
                SELECT DISTINCT inserted.id, tag
                FROM inserted
                JOIN {self.batch} AS staged
                  ON staged.digest = inserted.id_number_digest AND NOT staged.bad
                CROSS JOIN LATERAL unnest(staged.tags) AS tag
            )
            SELECT count(*) FROM inserted
            """
        )
        return self.cursor.fetchone()[0]

    def duplicates_in_file(self) -> list[tuple[str, str, list[int]]]:
        # Hashing a million digests wants more than the default 4 MB of work memory; SET
        # LOCAL ends with the transaction.
        self.cursor.execute(
            f"SET LOCAL work_mem = '64MB'; ANALYZE {self.seen}; ANALYZE {self.written}"
        )
        self.cursor.execute(
            f"""
            SELECT digest, min(masked), array_agg(row_number ORDER BY row_number)
            FROM {self.seen}
            GROUP BY digest
            HAVING count(*) > 1
            """
        )
        return self.cursor.fetchall()

    def already_registered(self) -> list[tuple[int, str]]:
        """Rows whose ID number belongs to a resident this import did not write. A digest
        this import wrote was not stored before (the insert would have skipped it), so only
        the rows left by an anti-join with `written` are looked up among the residents."""
        self.cursor.execute(
            f"""
            SELECT seen.row_number, resident.id_number_masked
            FROM {self.seen} AS seen
            JOIN {Resident._meta.db_table} AS resident
              ON resident.id_number_digest = seen.digest
            WHERE NOT EXISTS (SELECT 1 FROM {self.written} AS written
                              WHERE written.digest = seen.digest)
            """
        )
        return self.cursor.fetchall()

    def take_back(self, digests: list[str]) -> int:
        """Delete the residents this import wrote with these digests (duplicates found at the
        end), their care tags, and the households created for nobody; the number deleted."""
        if not digests:
            return 0
        through = Resident.care_tags.through._meta.db_table
        taken = f"SELECT id FROM {self.written} WHERE digest = ANY(%s)"
        self.cursor.execute(f"DELETE FROM {through} WHERE resident_id IN ({taken})", [digests])
        self.cursor.execute(
            f"DELETE FROM {Resident._meta.db_table} WHERE id IN ({taken})", [digests]
        )
        deleted = self.cursor.rowcount
        self.cursor.execute(f"DELETE FROM {self.written} WHERE digest = ANY(%s)", [digests])
        self.cursor.execute(
            f"""
            DELETE FROM {Household._meta.db_table} AS household
            WHERE household.id IN (SELECT id FROM {self.created})
              AND NOT EXISTS (SELECT 1 FROM {Resident._meta.db_table} AS resident
                              WHERE resident.household_id = household.id)
            """
        )
        self.cursor.execute(
            f"DELETE FROM {self.created} AS created WHERE NOT EXISTS "
            f"(SELECT 1 FROM {Household._meta.db_table} AS household "
            f"WHERE household.id = created.id)"
        )
        return deleted

    def households_created(self) -> int:
        self.cursor.execute(f"SELECT count(*) FROM {self.created}")
        return self.cursor.fetchone()[0]


def _batches(rows: Iterator[tuple[int, dict[str, str]]], size: int) -> Iterator[list]:
    while batch := list(islice(rows, size)):
        yield batch


def _context(*, scope: Scope, columns: dict[str, str], numeric: dict[int, set[str]]) -> _Context:
    communities = dict(
        Area.objects.current()
        .filter(level=AreaLevel.COMMUNITY)
        .filter(scope.q("code"))
        .values_list("code", "id")
    )
    tags: dict[str, int] = {}
    for tag_id, code, name in CareTag.objects.values_list("id", "code", "name"):
        tags[code.lower()] = tag_id
        tags[name.lower()] = tag_id
    return _Context(
        scope=scope,
        columns=columns,
        numeric=numeric,
        communities=communities,
        tags=tags,
        today=timezone.localdate(),
    )


def resident_import(
    *,
    actor,
    source: str | Path | IO[bytes],
    filename: str | None = None,
    partial: bool = False,
    progress: ProgressCallback | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ResidentImportReport:
    """Import residents from a CSV (UTF-8 or GB18030) or XLSX file; see the module's text.
    `actor` is the importing user (rows outside their areas are problems); None for an
    operator's command run with access to every area. All or nothing unless `partial`."""
    started = time.perf_counter()
    scope = Scope(prefixes=(), everything=True) if actor is None else require_keeper(user=actor)
    name = filename or Path(str(source)).name
    table = read_table(source, filename=name, aliases=ALIASES, required=("name", "id_number"))
    if "community" not in table.columns and not {"lon", "lat"} <= table.columns.keys():
        missing = ["community"] if "lon" not in table.columns else ["lon", "lat"]
        raise InvalidInput(
            _("the file needs a community code column or longitude and latitude columns"),
            details=[RowProblem(1, column, _("missing column")).as_dict() for column in missing],
        )
    report = ResidentImportReport(file=name, partial=partial)
    context = _context(scope=scope, columns=table.columns, numeric=table.numeric)
    order = {name: position for position, name in enumerate(FIELDS)}

    def tell(stage: str) -> None:
        if progress is not None:
            progress(
                ImportProgress(
                    stage=stage,
                    read=report.rows,
                    checked=report.rows,
                    written=report.written,
                    seconds=time.perf_counter() - started,
                )
            )

    def problem(number: int, column: str, reason: str) -> RowProblem:
        return RowProblem(number, table.columns.get(column, column), reason)

    shared = connections[DEFAULT_DB_ALIAS]
    language = translation.get_language()

    def share_connection() -> None:
        # The worker runs the batch's statements in the importing transaction, on its
        # connection; the main thread does not touch the database while a batch is out.
        connections[DEFAULT_DB_ALIAS] = shared

    def locate_and_write(rows: list[_Row], write: bool) -> int:
        with translation.override(language):
            _locate(rows, context)
            return writer.write_batch(rows, write=write)

    def collect(rows: list[_Row], written: int) -> None:
        report.written += written
        for row in rows:
            for column, reason in sorted(row.problems, key=lambda p: order[p[0]]):
                report.problems.append(problem(row.number, column, reason))

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            writer = _Writer(cursor)
            writer.create()
            shared.inc_thread_sharing()
            try:
                # Two stages overlap: while the worker locates and writes one batch (mostly
                # waiting for the database), this thread reads and checks the next.
                with ThreadPoolExecutor(
                    max_workers=1,
                    thread_name_prefix="resident-import",
                    initializer=share_connection,
                ) as worker:
                    out: tuple[list[_Row], Future] | None = None
                    for batch in _batches(table.rows, batch_rows):
                        rows = [_check_row(number, values, context) for number, values in batch]
                        table.numeric.clear()
                        _seal(rows)
                        report.rows += len(rows)
                        if out is not None:
                            collect(out[0], out[1].result())
                        # All or nothing: once a problem is known, only checking goes on.
                        write = partial or not (
                            report.problems or any(row.problems for row in rows)
                        )
                        out = (rows, worker.submit(locate_and_write, rows, write))
                        tell("importing")
                    if out is not None:
                        collect(out[0], out[1].result())
            finally:
                shared.dec_thread_sharing()
            tell("checking duplicates")
            late: list[RowProblem] = []
            duplicated: list[str] = []
            for digest, masked, numbers in writer.duplicates_in_file():
                listed = ", ".join(str(number) for number in numbers)
                duplicated.append(digest)
                for number in numbers:
                    late.append(
                        problem(
                            number,
                            "id_number",
                            _("the ID number %(masked)s appears more than once: rows %(rows)s")
                            % {"masked": masked, "rows": listed},
                        )
                    )
            for number, masked in writer.already_registered():
                late.append(
                    problem(
                        number,
                        "id_number",
                        _("a resident with ID number %(masked)s is already registered")
                        % {"masked": masked},
                    )
                )
            if late:
                column_order = {table.columns.get(name, name): order[name] for name in FIELDS}
                report.problems = sorted(
                    report.problems + late,
                    key=lambda item: (item.row, column_order.get(item.column, len(FIELDS))),
                )
            report.good = report.rows - report.bad_rows
            if report.problems and not partial:
                logger.info(
                    "resident import of %s by %s: %d rows, %d with problems, nothing written",
                    name,
                    actor or "command",
                    report.rows,
                    report.bad_rows,
                )
                raise ResidentImportFailed(report)
            report.written -= writer.take_back(duplicated)
            report.households_created = writer.households_created()
    finally:
        report.seconds = time.perf_counter() - started
    logger.info(
        "resident import of %s by %s: %d rows, %d written, %d households created, "
        "%d rows with problems, %.1f s",
        name,
        actor or "command",
        report.rows,
        report.written,
        report.households_created,
        report.bad_rows,
        report.seconds,
    )
    return report
