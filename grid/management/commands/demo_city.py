"""manage.py demo_city: generate a demo city (real districts and streets, synthetic
communities and grid cells)."""

import argparse

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from grid.errors import DomainError
from grid.services.demo_city import SCALES, city_generate


def center_argument(value: str) -> tuple[float, float]:
    try:
        lon, lat = (float(part) for part in value.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_("--center must be LON,LAT, e.g. 114.93,27.82")) from exc
    return (lon, lat)


class Command(BaseCommand):
    help = "Generate a demo city: its real districts and streets with synthetic communities and grid cells."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--city", default="3605", help="4-digit city code (default 3605 新余市)"
        )
        parser.add_argument("--scale", default="small", choices=sorted(SCALES))
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--center",
            type=center_argument,
            default=None,
            help="LON,LAT of the city's centre (default: its real or provincial position)",
        )

    def handle(self, *args, city: str, scale: str, seed: int, center, **options) -> None:
        try:
            result = city_generate(
                city_code=city, scale=scale, seed=seed, center=center, progress=self.stdout.write
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(name)s (%(code)s): %(areas)d areas, %(cells)d grid cells; "
                    "planned in %(plan).1f s, written in %(write).1f s"
                )
                % {
                    "name": result.city_name,
                    "code": result.city_code,
                    "areas": result.areas,
                    "cells": result.cells,
                    "plan": result.plan_seconds,
                    "write": result.write_seconds,
                }
            )
        )
