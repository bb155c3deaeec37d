"""The city the benchmarks run on: the medium demo city, generated once per database."""

from __future__ import annotations

from collections.abc import Callable

from grid.models import Area, AreaLevel
from grid.services.demo_city import SCALES, city_generate

CITY_CODE = "3605"
SCALE = "medium"
SEED = 1


def current_cells() -> int:
    return Area.objects.current().cells().subtree(CITY_CODE).count()


def medium_city_ensure(*, progress: Callable[[str], None]) -> Area:
    """The medium city, generated first if the database does not hold it yet. Refuses a
    database where the city exists at another scale: the figures would not compare."""
    city = Area.objects.current().filter(code=CITY_CODE, level=AreaLevel.CITY).first()
    if city is None:
        progress(f"generating the {SCALE} city {CITY_CODE} (seed {SEED}); this happens once")
        city_generate(city_code=CITY_CODE, scale=SCALE, seed=SEED, progress=progress)
        city = Area.objects.current().get(code=CITY_CODE, level=AreaLevel.CITY)
    wanted = SCALES[SCALE].cells
    cells = current_cells()
    if not 0.9 * wanted <= cells <= 1.1 * wanted:
        raise SystemExit(
            f"city {CITY_CODE} in this database has {cells} current grid cells, not about "
            f"{wanted} ({SCALE}); benchmark in a database of its own (scripts/bench.sh)"
        )
    return city
