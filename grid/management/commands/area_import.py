"""area_import FILE: import boundaries from GeoJSON, a Shapefile or a GeoPackage."""

from __future__ import annotations

import argparse
import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from grid.boundaries import FieldMapping, parse_level
from grid.errors import InvalidInput
from grid.services.areas import ImportProblem, area_import


def _level(value: str) -> int:
    level = parse_level(value)
    if level is None:
        raise argparse.ArgumentTypeError(
            _("unknown level “%(value)s”: use 1–5, city … grid, or 市 区 街道 社区 网格")
            % {"value": value}
        )
    return level


def _problem_lines(problems: list[dict] | list[ImportProblem]) -> list[str]:
    lines = []
    for problem in problems:
        item = problem if isinstance(problem, dict) else vars(problem)
        where = _("file") if item["index"] is None else f"#{item['index']}"
        lines.append(f"  {where:>8}  {item['code'] or '—':<15}  {item['reason']}")
    return lines


class Command(BaseCommand):
    help = (
        "Import areas from a boundary file (GeoJSON, .shp or zipped Shapefile, GeoPackage) in "
        "one transaction: on any problem nothing is written and every problem is listed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the .geojson/.json, .shp, .zip or .gpkg file")
        parser.add_argument("--layer", help="layer to import when the file has several")
        parser.add_argument("--code-field", default="code", help="attribute with the code")
        parser.add_argument("--name-field", default="name", help="attribute with the name")
        levels = parser.add_mutually_exclusive_group()
        levels.add_argument(
            "--level-field",
            help="attribute with the level (default: “level” if present, else from the code)",
        )
        levels.add_argument(
            "--level",
            type=_level,
            help="one level for the whole file: 1–5, city … grid, or 市 区 街道 社区 网格",
        )
        parser.add_argument(
            "--parent-field", help="attribute with the parent's code (default: from the code)"
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="retire current areas with the same code; the new boundary becomes current",
        )
        parser.add_argument(
            "--effective-date",
            type=datetime.date.fromisoformat,
            help="date (YYYY-MM-DD) the new boundaries take effect; default today",
        )
        parser.add_argument(
            "--strict", action="store_true", help="abort if the coverage check finds anything"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, then write nothing"
        )

    def handle(self, *args, **options) -> None:
        mapping = FieldMapping(
            code_field=options["code_field"],
            name_field=options["name_field"],
            level_field=options["level_field"],
            level=options["level"],
            parent_field=options["parent_field"],
        )

        def progress(done: int, total: int) -> None:
            self.stdout.write(
                _("read %(done)s of %(total)s features")
                % {
                    "done": f"{done:,}",
                    "total": f"{total:,}",
                }
            )

        try:
            report = area_import(
                path=options["file"],
                mapping=mapping,
                layer=options["layer"],
                replace=options["replace"],
                effective_date=options["effective_date"],
                strict=options["strict"],
                dry_run=options["dry_run"],
                progress=progress,
            )
        except InvalidInput as error:
            self.stderr.write("\n".join(_problem_lines(error.details or [])))
            raise CommandError(error.message) from error

        self.stdout.write(
            _("%(file)s, layer %(layer)s, CRS %(crs)s: %(features)d features")
            % {
                "file": report.file,
                "layer": report.layer,
                "crs": report.source_crs,
                "features": report.features,
            }
        )
        if report.warnings:
            self.stdout.write(self.style.WARNING(_("coverage warnings:")))
            self.stdout.write("\n".join(_problem_lines(report.warnings)))
        summary = _("%(created)d areas created, %(replaced)d replaced") % {
            "created": report.created,
            "replaced": report.replaced,
        }
        if report.dry_run:
            summary = _("dry run, nothing written: %(summary)s") % {"summary": summary}
        self.stdout.write(self.style.SUCCESS(summary))
