"""Run benchmarks: python -m bench.run [name ...] (default: all of them).

Each benchmark is a module of this package with `run(*, progress) -> dict`; it prints its
figures and returns them, and they are written as JSON to bench/results/. The benchmarks run
on the medium demo city in the database wangge_bench only (scripts/bench.sh creates and
migrates it), never on the demo database.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

BENCHMARKS = {
    "locate": "bench.locate",
    "residents": "bench.residents",
    "applications": "bench.applications",
    "casework": "bench.casework",
}
DATABASE_NAME = "wangge_bench"
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _say(message: str) -> None:
    print(f"  · {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"one of: {', '.join(BENCHMARKS)} (default: all)"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ.setdefault("DEBUG", "false")

    # whitenoise looks for collected static files, which only deployments have.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import translation

    translation.activate("en")

    from bench.city import medium_city_ensure

    name = connection.settings_dict["NAME"]
    if name != DATABASE_NAME:
        print(
            f"refusing to run on database {name!r}: the benchmarks write the medium city and "
            f"run only on {DATABASE_NAME!r} (scripts/bench.sh sets DATABASE_URL to it)",
            file=sys.stderr,
        )
        return 2
    if settings.DEBUG:
        print("refusing to run with DEBUG on: every query would be recorded", file=sys.stderr)
        return 2
    medium_city_ensure(progress=_say)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for benchmark in args.names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[benchmark])
        print(f"\n== {benchmark} ==", flush=True)
        figures = module.run(progress=_say)
        path = RESULTS_DIR / f"{benchmark}-{stamp}.json"
        path.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
        print(f"\nfigures written to {path.relative_to(RESULTS_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
