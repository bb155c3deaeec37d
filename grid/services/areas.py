"""Writing areas: importing boundary files, with versioning when a boundary changes.

`area_import` reads every feature, checks all of them (attributes in Python, geometries and
codes in PostGIS over a staging table, one query per kind of check), and reports every
problem of every feature before anything is written. The rows are then written set-based
from the staging table; raw SQL because the geometries never need to leave the database.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..boundaries import (
    LONLAT_SRIDS,
    WGS84,
    BoundaryFeature,
    BoundaryFile,
    BoundaryFileError,
    FieldMapping,
    parse_level,
)
from ..codes import CODE_LENGTHS, code_error, level_for_code, parent_code_of
from ..errors import InvalidInput
from ..models import Area, AreaLevel, Assignment, Department
from ..scope import Scope, user_scope
from ..selectors.coverage import GeometryFindings, coverage_findings
from .locate_tiles import Extent, locate_tiles_rebuild

ProgressCallback = Callable[[int, int], None]
PROGRESS_EVERY = 1000
NAME_MAX_LENGTH = Area._meta.get_field("name").max_length


@dataclass
class ImportProblem:
    """One problem: `index` is the feature's position in the layer (from 1), None for the file."""

    index: int | None
    code: str
    reason: str


@dataclass
class ImportReport:
    file: str
    layer: str = ""
    source_crs: str = ""
    features: int = 0
    created: int = 0
    replaced: int = 0
    dry_run: bool = False
    errors: list[ImportProblem] = field(default_factory=list)
    warnings: list[ImportProblem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _problems_as_details(problems: list[ImportProblem]) -> list[dict]:
    return [asdict(problem) for problem in problems]


class _Staging:
    """A temporary table holding the features of one import while they are checked."""

    def __init__(self, cursor) -> None:
        self.cursor = cursor
        self.name = f"area_import_{uuid.uuid4().hex[:12]}"

    def create(self) -> None:
        self.cursor.execute(
            f"""
            CREATE TEMPORARY TABLE {self.name} (
                idx integer PRIMARY KEY,
                code text NOT NULL,
                name text NOT NULL,
                level smallint,
                parent_code text,
                usable boolean NOT NULL,
                wkb bytea,
                src geometry,
                invalid_reason text,
                geom geometry(MultiPolygon, {WGS84}),
                old_id bigint,
                new_id bigint
            ) ON COMMIT DROP
            """
        )

    def copy(self, rows) -> None:
        raw_cursor = self.cursor.cursor
        columns = "idx, code, name, level, parent_code, usable, wkb"
        with raw_cursor.copy(f"COPY {self.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def drop(self) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.name}")


@dataclass
class _Checked:
    """A feature after the attribute checks: the values the row will get, if all is well."""

    level: int | None
    parent_code: str | None
    problems: list[str]


def _check_attributes(feature: BoundaryFeature, *, scope: Scope, mapping: FieldMapping) -> _Checked:
    problems = list(feature.problems)
    code = feature.code
    level = None
    parent_code = None
    if not code:
        problems.append(
            _("the feature has no code (field “%(field)s”)") % {"field": mapping.code_field}
        )
    elif feature.level_value is None or feature.level_value == "":
        level = level_for_code(code)
        if level is None:
            lengths = sorted({n for options in CODE_LENGTHS.values() for n in options})
            problems.append(
                _("code “%(code)s” has %(got)d characters; codes have %(lengths)s digits")
                % {"code": code, "got": len(code), "lengths": ", ".join(map(str, lengths))}
            )
    else:
        level = parse_level(feature.level_value)
        if level is None:
            problems.append(
                _(
                    "unknown level “%(value)s”: use 1–5, city, district, street, community, grid, "
                    "or 市, 区, 县, 街道, 乡镇, 社区, 村, 网格"
                )
                % {"value": feature.level_value}
            )
    if code and level is not None:
        parent_code = feature.parent_code or parent_code_of(code)
        if level == AreaLevel.CITY:
            parent_code = feature.parent_code
        reason = code_error(level=level, code=code, parent_code=parent_code)
        if reason:
            problems.append(reason)
        elif parent_code and level_for_code(parent_code) != level - 1:
            problems.append(
                _("the parent of a %(level)s must be a %(parent_level)s; “%(parent)s” is not")
                % {
                    "level": AreaLevel(level).label,
                    "parent_level": AreaLevel(level - 1).label,
                    "parent": parent_code,
                }
            )
        if not scope.covers(code):
            problems.append(_("area “%(code)s” lies outside your areas") % {"code": code})
    if not feature.name:
        problems.append(
            _("the feature has no name (field “%(field)s”)") % {"field": mapping.name_field}
        )
    elif len(feature.name) > NAME_MAX_LENGTH:
        problems.append(_("the name is longer than %(max)d characters") % {"max": NAME_MAX_LENGTH})
    return _Checked(level=level, parent_code=parent_code, problems=problems)


def _read_features(
    features: Iterator[BoundaryFeature],
    *,
    total: int,
    staging: _Staging,
    scope: Scope,
    mapping: FieldMapping,
    report: ImportReport,
    progress: ProgressCallback | None,
) -> None:
    def rows():
        for feature in features:
            checked = _check_attributes(feature, scope=scope, mapping=mapping)
            report.errors.extend(
                ImportProblem(feature.index, feature.code, reason) for reason in checked.problems
            )
            usable = not checked.problems
            report.features = feature.index
            if progress and feature.index % PROGRESS_EVERY == 0:
                progress(feature.index, total)
            yield (
                feature.index,
                feature.code,
                feature.name,
                checked.level,
                checked.parent_code,
                usable,
                feature.wkb,
            )

    staging.copy(rows())
    if progress:
        progress(report.features, total)


def _check_geometries(cursor, staging: _Staging, *, epsg: int | None, report: ImportReport) -> None:
    """Validity (ST_IsValidReason), plausibility of lon/lat, then the transformation to 4326."""
    table = staging.name
    source_srid = epsg or WGS84
    cursor.execute(
        f"UPDATE {table} SET src = ST_GeomFromWKB(wkb, %s), wkb = NULL WHERE wkb IS NOT NULL",
        [source_srid],
    )
    cursor.execute(f"CREATE INDEX ON {table} (code)")
    cursor.execute(f"ANALYZE {table}")
    cursor.execute(
        f"""
        UPDATE {table} SET invalid_reason = checked.reason
        FROM (SELECT idx, ST_IsValidReason(src) AS reason FROM {table} WHERE src IS NOT NULL) checked
        WHERE checked.idx = {table}.idx AND checked.reason <> 'Valid Geometry'
        RETURNING {table}.idx, {table}.code, checked.reason
        """
    )
    report.errors.extend(
        ImportProblem(index, code, _("invalid geometry: %(reason)s") % {"reason": reason})
        for index, code, reason in cursor.fetchall()
    )

    if epsg is None or epsg in LONLAT_SRIDS:
        cursor.execute(
            f"SELECT ST_XMin(extent), ST_XMax(extent), ST_YMin(extent), ST_YMax(extent) "
            f"FROM (SELECT ST_Extent(src) AS extent FROM {table}) whole"
        )
        xmin, xmax, ymin, ymax = cursor.fetchone()
        if xmin is not None and (xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90):
            values = {
                "xmin": xmin,
                "xmax": xmax,
                "ymin": ymin,
                "ymax": ymax,
                "srid": source_srid,
            }
            if epsg is None:
                reason = (
                    _(
                        "the file declares no coordinate reference system and its coordinates "
                        "(x %(xmin).1f to %(xmax).1f, y %(ymin).1f to %(ymax).1f) are not longitude "
                        "and latitude: declare the file's CRS (e.g. a .prj file) or reproject it to "
                        "EPSG:4326"
                    )
                    % values
                )
            else:
                reason = (
                    _(
                        "the file is read as EPSG:%(srid)d (declared, or the GeoJSON default) but "
                        "its coordinates (x %(xmin).1f to %(xmax).1f, y %(ymin).1f to %(ymax).1f) "
                        "are not longitude and latitude: declare the file's real CRS"
                    )
                    % values
                )
            report.errors.append(ImportProblem(None, "", reason))
            return
        # CGCS2000 (EPSG:4490) is taken as it is and stored as SRID 4326: the two frames differ
        # by centimetres, far below the accuracy of any administrative boundary.
        cursor.execute(
            f"UPDATE {table} SET geom = ST_SetSRID(ST_Multi(src), %s) "
            f"WHERE src IS NOT NULL AND invalid_reason IS NULL",
            [WGS84],
        )
        return

    cursor.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [epsg])
    if cursor.fetchone() is None:
        report.errors.append(
            ImportProblem(
                None,
                "",
                _(
                    "the file's coordinate reference system EPSG:%(epsg)d is not known to the "
                    "database; reproject the file to EPSG:4326"
                )
                % {"epsg": epsg},
            )
        )
        return
    try:
        with transaction.atomic():
            cursor.execute(
                f"UPDATE {table} SET geom = ST_Transform(ST_Multi(src), %s) "
                f"WHERE src IS NOT NULL AND invalid_reason IS NULL",
                [WGS84],
            )
    except DatabaseError as error:
        report.errors.append(
            ImportProblem(
                None,
                "",
                _(
                    "the coordinates could not be transformed from EPSG:%(epsg)d to EPSG:4326: %(reason)s"
                )
                % {"epsg": epsg, "reason": str(error).strip()},
            )
        )
        return
    cursor.execute(
        f"""
        SELECT idx, code, reason FROM (
            SELECT idx, code, ST_IsValidReason(geom) AS reason FROM {table} WHERE geom IS NOT NULL
        ) checked WHERE reason <> 'Valid Geometry' ORDER BY idx
        """
    )
    report.errors.extend(
        ImportProblem(
            index,
            code,
            _("the geometry becomes invalid when transformed to EPSG:4326: %(reason)s")
            % {"reason": reason},
        )
        for index, code, reason in cursor.fetchall()
    )


def _check_codes(
    cursor,
    staging: _Staging,
    *,
    replace: bool,
    effective_date: datetime.date,
    report: ImportReport,
) -> None:
    """Duplicates in the file, codes already current, and parents that exist nowhere."""
    table = staging.name
    area = Area._meta.db_table
    cursor.execute(
        f"""
        SELECT code, array_agg(idx ORDER BY idx) FROM {table}
        WHERE code <> '' GROUP BY code HAVING count(*) > 1
        """
    )
    for code, indexes in cursor.fetchall():
        listed = ", ".join(map(str, indexes))
        report.errors.extend(
            ImportProblem(
                index,
                code,
                _("code “%(code)s” appears %(count)d times in the file (features %(features)s)")
                % {"code": code, "count": len(indexes), "features": listed},
            )
            for index in indexes
        )

    # The rows a replacement retires are locked now, so the checks below stay true until commit.
    cursor.execute(
        f"""
        SELECT staged.idx, staged.code, current.id, current.name, current.valid_from
        FROM {table} staged JOIN {area} current
          ON current.code = staged.code AND current.valid_to IS NULL
        ORDER BY staged.idx
        FOR UPDATE OF current
        """
    )
    replaceable = []
    for index, code, area_id, name, valid_from in cursor.fetchall():
        if not replace:
            report.errors.append(
                ImportProblem(
                    index,
                    code,
                    _(
                        "an area with code “%(code)s” (%(name)s) already exists; import with "
                        "replace to retire it and make this boundary current"
                    )
                    % {"code": code, "name": name},
                )
            )
        elif valid_from > effective_date:
            report.errors.append(
                ImportProblem(
                    index,
                    code,
                    _(
                        "the current version of “%(code)s” is valid from %(valid_from)s, after "
                        "the effective date %(date)s"
                    )
                    % {"code": code, "valid_from": valid_from, "date": effective_date},
                )
            )
        else:
            replaceable.append((index, area_id))
    if replaceable:
        cursor.execute(
            f"UPDATE {table} SET old_id = replaced.area_id "
            f"FROM unnest(%s::integer[], %s::bigint[]) AS replaced(idx, area_id) "
            f"WHERE {table}.idx = replaced.idx",
            [
                [index for index, _area_id in replaceable],
                [area_id for _index, area_id in replaceable],
            ],
        )

    cursor.execute(
        f"""
        SELECT staged.idx, staged.code, staged.parent_code FROM {table} staged
        WHERE staged.usable AND staged.parent_code IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM {table} other WHERE other.code = staged.parent_code)
          AND NOT EXISTS (
              SELECT 1 FROM {area} current
              WHERE current.code = staged.parent_code AND current.valid_to IS NULL
          )
        ORDER BY staged.idx
        """
    )
    report.errors.extend(
        ImportProblem(
            index,
            code,
            _("the parent area “%(parent)s” is neither in the file nor a current area")
            % {"parent": parent_code},
        )
        for index, code, parent_code in cursor.fetchall()
    )


def _write(
    cursor, staging: _Staging, *, effective_date: datetime.date, report: ImportReport
) -> list[int]:
    """Retire replaced rows, insert the new ones level by level, re-point what hung on the old
    rows. Returns the ids of the parents that received children."""
    table = staging.name
    area = Area._meta.db_table
    cursor.execute(
        f"UPDATE {area} SET valid_to = %s, updated_at = now() "
        f"FROM {table} staged WHERE {area}.id = staged.old_id",
        [effective_date],
    )
    report.replaced = cursor.rowcount
    written = 0
    # Parents first, so every child finds its parent's current row by code.
    for level in AreaLevel.values:
        cursor.execute(
            f"""
            INSERT INTO {area}
                (code, name, level, parent_id, boundary, valid_from, valid_to, created_at, updated_at)
            SELECT staged.code, staged.name, staged.level, parent.id, staged.geom, %s, NULL,
                   now(), now()
            FROM {table} staged
            LEFT JOIN {area} parent
              ON parent.code = staged.parent_code AND parent.valid_to IS NULL
            WHERE staged.level = %s
            ORDER BY staged.code
            """,
            [effective_date, level],
        )
        written += cursor.rowcount
    report.created = written - report.replaced
    cursor.execute(
        f"UPDATE {table} SET new_id = current.id FROM {area} current "
        f"WHERE current.code = {table}.code AND current.valid_to IS NULL"
    )

    # What hung on a retired row moves to its successor: current children, departments and
    # active assignments. Retired children and ended assignments keep their history.
    cursor.execute(
        f"UPDATE {area} SET parent_id = staged.new_id, updated_at = now() FROM {table} staged "
        f"WHERE staged.old_id IS NOT NULL AND {area}.parent_id = staged.old_id "
        f"AND {area}.valid_to IS NULL"
    )
    department = Department._meta.db_table
    cursor.execute(
        f"UPDATE {department} SET area_id = staged.new_id FROM {table} staged "
        f"WHERE staged.old_id IS NOT NULL AND {department}.area_id = staged.old_id"
    )
    assignment = Assignment._meta.db_table
    cursor.execute(
        f"UPDATE {assignment} SET area_id = staged.new_id FROM {table} staged "
        f"WHERE staged.old_id IS NOT NULL AND {assignment}.area_id = staged.old_id "
        f"AND {assignment}.active"
    )

    cursor.execute(
        f"""
        SELECT written.parent_id FROM {area} written JOIN {table} staged ON staged.new_id = written.id
        WHERE written.parent_id IS NOT NULL
        UNION
        SELECT child.parent_id FROM {area} child JOIN {table} staged ON staged.new_id = child.parent_id
        WHERE child.valid_to IS NULL
        """
    )
    return [parent_id for (parent_id,) in cursor.fetchall()]


def _changed_cell_extents(cursor, staging: _Staging) -> list[Extent]:
    """The extents of the grid cells an import wrote and of those it retired."""
    area = Area._meta.db_table
    cursor.execute(
        f"""
        SELECT ST_XMin(geometry), ST_YMin(geometry), ST_XMax(geometry), ST_YMax(geometry)
        FROM (
            SELECT staged.geom AS geometry FROM {staging.name} AS staged
            WHERE staged.level = %(grid)s
            UNION ALL
            SELECT retired.boundary FROM {area} AS retired
            JOIN {staging.name} AS staged ON staged.old_id = retired.id
            WHERE retired.level = %(grid)s AND retired.boundary IS NOT NULL
        ) AS changed
        """,
        {"grid": int(AreaLevel.GRID)},
    )
    return cursor.fetchall()


def _coverage_warnings(findings: GeometryFindings, index_of: dict[str, int]) -> list[ImportProblem]:
    warnings = [
        ImportProblem(
            index_of.get(item.code),
            item.code,
            _("lies %(m2).1f m² outside its parent “%(parent)s”")
            % {"m2": item.outside_m2, "parent": item.parent_code},
        )
        for item in findings.outside
    ]
    warnings += [
        ImportProblem(
            index_of.get(item.code),
            item.code,
            _("overlaps its sibling “%(other)s” by %(m2).1f m²")
            % {"other": item.other_code, "m2": item.overlap_m2},
        )
        for item in findings.overlaps
    ]
    warnings += [
        ImportProblem(
            index_of.get(item.parent_code),
            item.parent_code,
            _("%(m2).1f m² (%(percent).2f %%) of it is covered by none of its children")
            % {"m2": item.gap_m2, "percent": item.gap_percent},
        )
        for item in findings.gaps
    ]
    return warnings


def _crs_label(epsg: int | None) -> str:
    return f"EPSG:{epsg}" if epsg else _("none declared (read as EPSG:4326)")


@transaction.atomic
def area_import(
    *,
    path: str | Path,
    mapping: FieldMapping | None = None,
    layer: str | None = None,
    replace: bool = False,
    effective_date: datetime.date | None = None,
    strict: bool = False,
    dry_run: bool = False,
    user=None,
    progress: ProgressCallback | None = None,
    tolerance_m2: float = 1.0,
) -> ImportReport:
    """Import the areas of a boundary file in one transaction, or nothing.

    Every problem of every feature is collected; if there is any, InvalidInput is raised with
    all of them as `details` and nothing is written. With `replace`, an area whose code is
    already current is retired on `effective_date` (default today) and the new boundary
    becomes current from that date; its current children, departments and active assignments
    move to the new row, and the locate tiles over the cells written and retired are rebuilt.
    After writing, the parents that received children are checked for coverage (children
    outside, sibling overlaps, gaps); the findings come back as warnings, or abort the import
    when `strict`. `user`, when given, may only import inside their scope.
    Cells without an inspector are not reported here: freshly imported cells never have one.
    """
    mapping = mapping or FieldMapping()
    effective_date = effective_date or timezone.localdate()
    scope = user_scope(user) if user is not None else Scope(prefixes=(), everything=True)
    path = Path(path)
    report = ImportReport(file=path.name, dry_run=dry_run)

    with connection.cursor() as cursor:
        staging = _Staging(cursor)
        try:
            with BoundaryFile(path, layer=layer) as boundary_file:
                report.layer = boundary_file.layer.name
                epsg = boundary_file.crs.epsg
                report.source_crs = _crs_label(epsg)
                features = boundary_file.features(mapping)
                # One import at a time: two imports of the same codes would both pass the
                # existence check before either writes.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('grid.area_import'))")
                staging.create()
                _read_features(
                    features,
                    total=boundary_file.feature_count,
                    staging=staging,
                    scope=scope,
                    mapping=mapping,
                    report=report,
                    progress=progress,
                )
        except BoundaryFileError as error:
            report.errors.append(ImportProblem(None, "", error.message))
            raise InvalidInput(
                error.message, details=_problems_as_details(report.errors)
            ) from error

        if report.features == 0:
            report.errors.append(ImportProblem(None, "", _("the layer holds no features")))
        else:
            _check_geometries(cursor, staging, epsg=epsg, report=report)
            _check_codes(
                cursor, staging, replace=replace, effective_date=effective_date, report=report
            )
        if report.errors:
            report.errors.sort(key=lambda problem: (problem.index or 0, problem.code))
            count = len(report.errors)
            raise InvalidInput(
                ngettext(
                    "the boundary file has %(count)d problem; nothing was imported",
                    "the boundary file has %(count)d problems; nothing was imported",
                    count,
                )
                % {"count": count},
                details=_problems_as_details(report.errors),
            )

        parent_ids = _write(cursor, staging, effective_date=effective_date, report=report)
        if not dry_run:
            extents = _changed_cell_extents(cursor, staging)
            if extents:
                locate_tiles_rebuild(extents=extents)
        cursor.execute(f"SELECT code, idx FROM {staging.name}")
        index_of = dict(cursor.fetchall())
        findings = coverage_findings(parent_ids=parent_ids, tolerance_m2=tolerance_m2)
        report.warnings = _coverage_warnings(findings, index_of)
        if strict and report.warnings:
            count = len(report.warnings)
            raise InvalidInput(
                ngettext(
                    "the coverage check found %(count)d problem and the import is strict; "
                    "nothing was imported",
                    "the coverage check found %(count)d problems and the import is strict; "
                    "nothing was imported",
                    count,
                )
                % {"count": count},
                details=_problems_as_details(report.warnings),
            )
        staging.drop()
    if dry_run:
        transaction.set_rollback(True)
    return report


def _cell_extent(area_id: int, *, lock: bool = False) -> Extent | None:
    """The extent of the area's stored boundary if it is a grid cell."""
    areas = Area.objects.select_for_update() if lock else Area.objects.all()
    boundary = (
        areas.filter(pk=area_id, level=AreaLevel.GRID).values_list("boundary", flat=True).first()
    )
    return boundary.extent if boundary is not None and not boundary.empty else None


@transaction.atomic
def area_admin_save(*, area: Area) -> Area:
    """Save an area as edited in the admin. When it is or was a grid cell, the locate tiles
    over its old and its new boundary are rebuilt in the same transaction."""
    before = _cell_extent(area.pk, lock=True) if area.pk is not None else None
    area.save()
    extents = [extent for extent in (before, _cell_extent(area.pk)) if extent is not None]
    if extents:
        locate_tiles_rebuild(extents=extents)
    return area
