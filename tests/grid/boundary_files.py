"""Boundary files written by the tests themselves: GeoJSON by hand, the rest with ogr2ogr."""

from __future__ import annotations

import json
import math
import subprocess
import zipfile
from pathlib import Path

X0, Y0, STEP = 114.0, 27.8, 0.01


def ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def lattice_ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A box ring with a vertex at every lattice step, so a parent shares every vertex of its
    children's edges (straight edges stay shared after a reprojection)."""
    columns = round((x1 - x0) / STEP)
    rows = round((y1 - y0) / STEP)
    bottom = [[x0 + i * STEP, y0] for i in range(columns)]
    right = [[x1, y0 + j * STEP] for j in range(rows)]
    top = [[x1 - i * STEP, y1] for i in range(columns)]
    left = [[x0, y1 - j * STEP] for j in range(rows)]
    return [*bottom, *right, *top, *left, [x0, y0]]


def box_geometry(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [ring(x0, y0, x1, y1)]}


def lattice_geometry(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [lattice_ring(x0, y0, x1, y1)]}


def feature(code: str | None, name: str | None, geometry: dict | None, **properties) -> dict:
    props = {"code": code, "name": name, **properties}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    collection: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def hierarchy() -> list[dict]:
    """A complete little city: 3605 → 360502 → 360502001 → two communities of four cells each.
    The first community numbers its cells in 15 digits, the second in the older 14."""
    x1, y1 = X0 + 4 * STEP, Y0 + 2 * STEP
    features = [
        feature("3605", "新余市", lattice_geometry(X0, Y0, x1, y1)),
        feature("360502", "渝水区", lattice_geometry(X0, Y0, x1, y1)),
        feature("360502001", "城南街道", lattice_geometry(X0, Y0, x1, y1)),
    ]
    for number, sequence_digits in ((1, 3), (2, 2)):
        col = 2 * (number - 1)
        community = f"360502001{number:03d}"
        features.append(
            feature(
                community,
                f"城南第{number}社区",
                lattice_geometry(X0 + col * STEP, Y0, X0 + (col + 2) * STEP, y1),
            )
        )
        for seq, (dc, row) in enumerate(((0, 1), (1, 1), (0, 0), (1, 0)), start=1):
            x = X0 + (col + dc) * STEP
            y = Y0 + row * STEP
            features.append(
                feature(
                    f"{community}{seq:0{sequence_digits}d}",
                    f"城南第{number}社区{seq}号网格",
                    box_geometry(x, y, x + STEP, y + STEP),
                )
            )
    return features


def ogr2ogr(*args: str) -> None:
    subprocess.run(["ogr2ogr", *args], check=True, capture_output=True)


def shapefile_zip(tmp_path: Path, source: Path, *extra: str, name: str = "areas") -> Path:
    folder = tmp_path / f"{name}_shp"
    folder.mkdir()
    ogr2ogr(
        "-f",
        "ESRI Shapefile",
        "-lco",
        "ENCODING=UTF-8",
        *extra,
        str(folder / f"{name}.shp"),
        str(source),
    )
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in sorted(folder.iterdir()):
            zipped.write(part, part.name)
    return archive


# WGS 84 ellipsoid: the area of a longitude/latitude box, from the authalic-latitude formula.
_A = 6378137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_E = math.sqrt(_E2)


def _q(latitude: float) -> float:
    s = math.sin(math.radians(latitude))
    return (1 - _E2) * (
        s / (1 - _E2 * s * s) - (1 / (2 * _E)) * math.log((1 - _E * s) / (1 + _E * s))
    )


def box_area_m2(x0: float, y0: float, x1: float, y1: float) -> float:
    """Area in m² of the ellipsoidal box between two meridians and two parallels."""
    return _A * _A * math.radians(x1 - x0) / 2 * (_q(y1) - _q(y0))
