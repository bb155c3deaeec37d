"""Reading boundary files (GeoJSON, Shapefile, GeoPackage) through GDAL.

This module only reads: it opens a file with the one GDAL driver its name promises, works out
the coordinate reference system, and yields each feature's mapped attributes and geometry as
WKB. Whether the features make valid areas is decided by `grid.services.areas.area_import`,
which checks geometries in PostGIS, set-based.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from ctypes import c_char_p
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.gdal import DataSource, OGRGeometry
from django.contrib.gis.gdal.driver import Driver
from django.contrib.gis.gdal.error import GDALException, SRSException
from django.contrib.gis.gdal.prototypes import ds as gdal_ds
from django.contrib.gis.gdal.prototypes import geom as gdal_geom
from django.utils.translation import gettext as _

from .models import AreaLevel

WGS84 = 4326
# CGCS2000 (EPSG:4490) and WGS 84 agree to a few centimetres, far below the precision of any
# administrative boundary, so CGCS2000 coordinates are stored unchanged as SRID 4326.
CGCS2000 = 4490
LONLAT_SRIDS = frozenset({WGS84, CGCS2000})

# Each file kind is opened by exactly one GDAL driver, never by auto-detection: GDAL can open
# hundreds of formats, some of which read other local files or URLs named inside the file.
_DRIVERS = {
    ".geojson": ("GeoJSON", "GeoJSON"),
    ".json": ("GeoJSON", "GeoJSON"),
    ".shp": ("ESRI Shapefile", "Shapefile"),
    ".zip": ("ESRI Shapefile", "Shapefile"),
    ".gpkg": ("GPKG", "GeoPackage"),
}
SUPPORTED_SUFFIXES = tuple(_DRIVERS)

LEVEL_NAMES: dict[str, int] = {
    "city": AreaLevel.CITY,
    "district": AreaLevel.DISTRICT,
    "county": AreaLevel.DISTRICT,
    "street": AreaLevel.STREET,
    "town": AreaLevel.STREET,
    "community": AreaLevel.COMMUNITY,
    "village": AreaLevel.COMMUNITY,
    "grid": AreaLevel.GRID,
    "grid cell": AreaLevel.GRID,
    "cell": AreaLevel.GRID,
    "市": AreaLevel.CITY,
    "区": AreaLevel.DISTRICT,
    "县": AreaLevel.DISTRICT,
    "区/县": AreaLevel.DISTRICT,
    "区县": AreaLevel.DISTRICT,
    "街道": AreaLevel.STREET,
    "乡镇": AreaLevel.STREET,
    "乡": AreaLevel.STREET,
    "镇": AreaLevel.STREET,
    "街道/乡镇": AreaLevel.STREET,
    "社区": AreaLevel.COMMUNITY,
    "村": AreaLevel.COMMUNITY,
    "社区/村": AreaLevel.COMMUNITY,
    "网格": AreaLevel.GRID,
    "单元网格": AreaLevel.GRID,
}


def parse_level(value: object) -> int | None:
    """A level from a number 1–5, an English name or a Chinese name (市, 区, 街道, 社区, 网格 …)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        return value if value in AreaLevel.values else None
    text = str(value).strip().lower()
    if text.isdigit():
        return parse_level(int(text))
    return LEVEL_NAMES.get(text)


class BoundaryFileError(Exception):
    """The file as a whole cannot be read: wrong format, broken, no such layer or field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldMapping:
    """Which attributes of the file hold the code, name, level and parent code.

    `level_field` None means: use a field called "level" when the layer has one, else the
    level is derived from the code's length. `level` fixes one level for the whole file.
    """

    code_field: str = "code"
    name_field: str = "name"
    level_field: str | None = None
    level: int | None = None
    parent_field: str | None = None


@dataclass(frozen=True)
class SourceCrs:
    """The file's coordinate reference system: an EPSG code, or None when the file has none."""

    epsg: int | None
    name: str = ""

    @property
    def is_lonlat(self) -> bool:
        return self.epsg is None or self.epsg in LONLAT_SRIDS


@dataclass
class BoundaryFeature:
    """One feature as read: `index` counts from 1 in the order of the layer."""

    index: int
    code: str
    name: str
    level_value: object
    parent_code: str | None
    wkb: bytes | None
    problems: list[str] = field(default_factory=list)


_WHOLE_NUMBER = re.compile(r"^([0-9]+)\.0*$")


def _text(feature, position: int | None) -> str:
    """An attribute as text, read by position straight through OGR's C API (Django's Field
    objects look the field up by name for every value, too slow for 50,000 features).
    Numbers held in real-valued fields (360502.000) lose their decimals, not their digits."""
    if position is None or not gdal_ds.is_field_set(feature.ptr, position):
        return ""
    raw = gdal_ds.get_field_as_string(feature.ptr, position)
    text = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip()
    whole = _WHOLE_NUMBER.match(text)
    return whole.group(1) if whole else text


class _GdalMessages(logging.Handler):
    """Collects the messages GDAL reports while a file is opened, to tell the user why."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(record.args or ()) == 2:
            message = record.args[1]
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            self.messages.append(str(message))


@contextmanager
def _gdal_messages() -> Iterator[_GdalMessages]:
    handler = _GdalMessages()
    gdal_logger = logging.getLogger("django.contrib.gis")
    gdal_logger.addHandler(handler)
    try:
        yield handler
    finally:
        gdal_logger.removeHandler(handler)


def _open_with_driver(source: str, driver_name: str) -> DataSource:
    Driver.ensure_registered()
    allowed = (c_char_p * 2)(driver_name.encode(), None)
    pointer = gdal_ds.open_ds(
        source.encode(), gdal_ds.GDAL_OF_READONLY | gdal_ds.GDAL_OF_VECTOR, allowed, None, None
    )
    return DataSource(pointer, ds_driver=gdal_ds.get_dataset_driver(pointer))


def _shapefile_in_zip(path: Path, layer: str | None) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [
                name
                for name in archive.namelist()
                if name.lower().endswith(".shp") and not name.startswith("__MACOSX/")
            ]
    except (zipfile.BadZipFile, OSError) as error:
        raise BoundaryFileError(
            _("“%(file)s” is not a readable zip archive: %(reason)s")
            % {"file": path.name, "reason": error}
        ) from error
    if layer:
        if not any(Path(name).stem == layer for name in names):
            raise BoundaryFileError(
                _("the zip archive has no Shapefile “%(layer)s”; it holds: %(layers)s")
                % {"layer": layer, "layers": ", ".join(Path(name).stem for name in names) or "—"}
            )
        names = [name for name in names if Path(name).stem == layer]
    if not names:
        raise BoundaryFileError(
            _("the zip archive “%(file)s” holds no Shapefile (.shp)") % {"file": path.name}
        )
    if len(names) > 1:
        raise BoundaryFileError(
            _("the zip archive holds several Shapefiles (%(layers)s): choose one as the layer")
            % {"layers": ", ".join(Path(name).stem for name in names)}
        )
    return f"/vsizip/{path}/{names[0]}"


def _epsg_of(srs) -> int | None:
    """The EPSG code `srs` is, or None when GDAL cannot identify it as one."""
    if srs.auth_name(None) == "EPSG" and srs.srid:
        return srs.srid
    candidate = srs.clone()
    try:
        candidate.identify_epsg()
    except (GDALException, SRSException):
        return None
    if candidate.auth_name(None) == "EPSG" and candidate.srid:
        return candidate.srid
    return None


def _ring_problems(polygon, polygon_number: int) -> list[str]:
    problems = []
    # Borrowed references through OGR's C API: cloning every ring into an OGRGeometry object
    # doubled the time to read a city of 50,000 cells.
    for ring_number in range(gdal_geom.get_geom_count(polygon)):
        ring = gdal_geom.get_geom_ref(polygon, ring_number)
        points = gdal_geom.get_point_count(ring)
        where = {"ring": ring_number + 1, "polygon": polygon_number}
        last = points - 1
        if points and (
            gdal_geom.getx(ring, 0) != gdal_geom.getx(ring, last)
            or gdal_geom.gety(ring, 0) != gdal_geom.gety(ring, last)
        ):
            problems.append(_("ring %(ring)d of polygon %(polygon)d is not closed") % where)
        elif points < 4:
            problems.append(
                _("ring %(ring)d of polygon %(polygon)d has fewer than 4 points") % where
            )
    return problems


def _geometry_problems(geometry: OGRGeometry) -> list[str]:
    """Structural faults PostGIS cannot even parse (or that are not areas at all).

    Unclosed rings and rings of fewer than four points make PostGIS refuse the whole
    statement, so they are caught here, feature by feature; everything else about validity
    is left to ST_IsValidReason, which checks all features in one query.
    """
    kind = geometry.geom_name
    if kind not in ("POLYGON", "MULTIPOLYGON"):
        return [
            _("the geometry is a %(kind)s; only Polygon and MultiPolygon are accepted")
            % {"kind": kind}
        ]
    if geometry.empty:
        return [_("the geometry is empty")]
    if kind == "POLYGON":
        return _ring_problems(geometry.ptr, 1)
    problems = []
    for index in range(geometry.geom_count):
        problems += _ring_problems(gdal_geom.get_geom_ref(geometry.ptr, index), index + 1)
    return problems


class BoundaryFile:
    """An opened boundary file with the one layer that is imported.

    Use as a context manager; `crs` is known once opened, `features()` reads them in order.
    """

    def __init__(self, path: str | Path, *, layer: str | None = None) -> None:
        self.path = Path(path)
        self.layer_name = layer
        self._data_source: DataSource | None = None

    def __enter__(self) -> BoundaryFile:
        suffix = self.path.suffix.lower()
        if suffix not in _DRIVERS:
            raise BoundaryFileError(
                _(
                    "“%(file)s” is not a supported boundary file: use GeoJSON (.geojson, "
                    ".json), a Shapefile (.shp, or a .zip holding .shp, .shx, .dbf and .prj) "
                    "or a GeoPackage (.gpkg)"
                )
                % {"file": self.path.name}
            )
        if not self.path.is_file():
            raise BoundaryFileError(_("there is no file “%(file)s”") % {"file": self.path})
        driver_name, format_label = _DRIVERS[suffix]
        source = (
            _shapefile_in_zip(self.path, self.layer_name) if suffix == ".zip" else str(self.path)
        )
        with _gdal_messages() as gdal:
            try:
                self._data_source = _open_with_driver(source, driver_name)
            except GDALException as error:
                reason = "; ".join(gdal.messages) or _("it is not in that format")
                raise BoundaryFileError(
                    _("“%(file)s” could not be read as %(format)s: %(reason)s")
                    % {"file": self.path.name, "format": format_label, "reason": reason}
                ) from error
        self.layer = self._choose_layer(suffix)
        self.crs = self._source_crs()
        return self

    def __exit__(self, *exc_info) -> None:
        self._data_source = None

    def _choose_layer(self, suffix: str):
        data_source = self._data_source
        names = [layer.name for layer in data_source]
        if not names:
            raise BoundaryFileError(_("“%(file)s” holds no layer") % {"file": self.path.name})
        if self.layer_name and suffix != ".zip":
            if self.layer_name not in names:
                raise BoundaryFileError(
                    _("the file has no layer “%(layer)s”; its layers are: %(layers)s")
                    % {"layer": self.layer_name, "layers": ", ".join(names)}
                )
            return data_source[self.layer_name]
        if len(names) > 1:
            raise BoundaryFileError(
                _("the file holds several layers (%(layers)s): choose one")
                % {"layers": ", ".join(names)}
            )
        return data_source[0]

    def _source_crs(self) -> SourceCrs:
        srs = self.layer.srs
        if srs is None:
            return SourceCrs(epsg=None)
        epsg = _epsg_of(srs)
        if epsg is None:
            raise BoundaryFileError(
                _(
                    "the file's coordinate reference system “%(name)s” cannot be identified as "
                    "an EPSG code; reproject the file to EPSG:4326 (WGS 84) or EPSG:4490 "
                    "(CGCS2000), or declare its EPSG code"
                )
                % {"name": srs.name or srs.proj4}
            )
        return SourceCrs(epsg=epsg, name=srs.name or "")

    @property
    def feature_count(self) -> int:
        return self.layer.num_feat

    @property
    def field_names(self) -> list[str]:
        return list(self.layer.fields)

    def _check_fields(self, mapping: FieldMapping) -> tuple[str | None, bool]:
        """The field to read levels from, and whether parent codes come from a field."""
        present = set(self.field_names)
        wanted = [mapping.code_field, mapping.name_field]
        if mapping.level_field:
            wanted.append(mapping.level_field)
        if mapping.parent_field:
            wanted.append(mapping.parent_field)
        missing = [name for name in wanted if name not in present]
        if missing:
            raise BoundaryFileError(
                _("the layer has no field %(missing)s; its fields are: %(fields)s")
                % {
                    "missing": ", ".join(f"“{name}”" for name in missing),
                    "fields": ", ".join(self.field_names) or "—",
                }
            )
        if mapping.level is not None:
            return None, bool(mapping.parent_field)
        level_field = mapping.level_field or ("level" if "level" in present else None)
        return level_field, bool(mapping.parent_field)

    def features(self, mapping: FieldMapping) -> Iterator[BoundaryFeature]:
        """The features in layer order; a missing field is reported before any is read."""
        if self.feature_count == 0:
            raise BoundaryFileError(_("the layer holds no features"))
        level_field, has_parent_field = self._check_fields(mapping)
        return self._features(mapping, level_field, has_parent_field)

    def _features(
        self, mapping: FieldMapping, level_field: str | None, has_parent_field: bool
    ) -> Iterator[BoundaryFeature]:
        positions = {name: position for position, name in enumerate(self.field_names)}
        code_at = positions[mapping.code_field]
        name_at = positions[mapping.name_field]
        level_at = positions[level_field] if level_field else None
        parent_at = positions[mapping.parent_field] if has_parent_field else None
        for index, feature in enumerate(self.layer, start=1):
            try:
                geometry = feature.geom
            except GDALException:
                geometry = None
            if geometry is None:
                problems, wkb = [_("the feature has no geometry")], None
            else:
                problems = _geometry_problems(geometry)
                # Heights and measures mean nothing for a boundary; dropping them here also
                # keeps PostGIS from refusing rings whose heights do not close.
                if geometry.is_3d:
                    geometry.set_3d(False)
                if geometry.is_measured:
                    geometry.set_measured(False)
                wkb = None if problems else bytes(geometry.wkb)
            level_value = mapping.level if level_at is None else (_text(feature, level_at) or None)
            yield BoundaryFeature(
                index=index,
                code=_text(feature, code_at),
                name=_text(feature, name_at),
                level_value=level_value,
                parent_code=_text(feature, parent_at) or None,
                wkb=wkb,
                problems=problems,
            )
