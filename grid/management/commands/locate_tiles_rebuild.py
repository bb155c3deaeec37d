"""locate_tiles_rebuild: build the locate tiles of all current grid cells afresh."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from grid.services.locate_tiles import locate_tiles_rebuild


class Command(BaseCommand):
    help = _(
        "Build the locate tiles of all current grid cells afresh, with a tile size chosen from "
        "the cells (the services that change cells keep them up to date)."
    )

    def handle(self, *args, **options):
        report = locate_tiles_rebuild()
        self.stdout.write(
            _("%(blocks)d blocks of %(size).6f° tiles over %(cells)d grid cells in %(seconds).1f s")
            % {
                "blocks": report.blocks,
                "size": report.tile_size,
                "cells": report.cells,
                "seconds": report.seconds,
            }
        )
