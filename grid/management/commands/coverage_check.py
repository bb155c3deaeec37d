"""coverage_check CODE: children outside, sibling overlaps, gaps and cells without inspector."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from grid.models import Area
from grid.selectors.coverage import CoverageReport, area_coverage


def _where(point) -> str:
    return f"{point[0]:.6f},{point[1]:.6f}" if point else "—"


def _table(report: CoverageReport) -> list[str]:
    lines = [
        _("coverage of %(code)s %(name)s (%(parents)d parents checked, tolerance %(tol)s m²)")
        % {
            "code": report.area_code,
            "name": report.area_name,
            "parents": report.parents_checked,
            "tol": report.tolerance_m2,
        }
    ]
    if report.outside:
        lines.append(_("children outside their parent:"))
        lines.append(f"  {_('parent'):<15} {_('child'):<15} {_('m² outside'):>14}  {_('at')}")
        lines += [
            f"  {item.parent_code:<15} {item.code:<15} {item.outside_m2:>14,.1f}  {_where(item.point)}"
            for item in report.outside
        ]
    if report.overlaps:
        lines.append(_("overlapping siblings:"))
        lines.append(
            f"  {_('parent'):<15} {_('child'):<15} {_('other child'):<15} {_('m² overlap'):>14}  {_('at')}"
        )
        lines += [
            f"  {item.parent_code:<15} {item.code:<15} {item.other_code:<15} "
            f"{item.overlap_m2:>14,.1f}  {_where(item.point)}"
            for item in report.overlaps
        ]
    if report.gaps:
        lines.append(_("gaps (parent area covered by no child):"))
        lines.append(f"  {_('parent'):<15} {_('m² gap'):>14} {_('share of parent'):>16}  {_('at')}")
        lines += [
            f"  {item.parent_code:<15} {item.gap_m2:>14,.1f} {item.gap_percent:>14.2f} %  {_where(item.point)}"
            for item in report.gaps
        ]
    if report.unstaffed_cells:
        lines.append(_("grid cells without an active grid inspector:"))
        lines += [f"  {cell.code:<15} {cell.name}" for cell in report.unstaffed_cells]
    if not report.has_problems:
        lines.append(_("no problems found"))
    return lines


class Command(BaseCommand):
    help = (
        "Check the coverage of an area: children outside their parent, overlapping siblings, "
        "gaps (in m²) and grid cells without an inspector. Exits non-zero on any finding."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="code of a current area, e.g. 3605")
        parser.add_argument(
            "--recursive", action="store_true", help="check every parent in the subtree"
        )
        parser.add_argument(
            "--tolerance", type=float, default=1.0, help="ignore findings below this many m²"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options) -> None:
        area = Area.objects.current().filter(code=options["code"]).first()
        if area is None:
            raise CommandError(_("there is no current area “%(code)s”") % {"code": options["code"]})
        if options["tolerance"] < 0:
            raise CommandError(_("the tolerance cannot be negative"))
        report = area_coverage(
            area=area, recursive=options["recursive"], tolerance_m2=options["tolerance"]
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write("\n".join(_table(report)))
        if report.has_problems:
            raise CommandError(
                _(
                    "%(outside)d children outside, %(overlaps)d overlaps, %(gaps)d gaps, "
                    "%(cells)d cells without inspector"
                )
                % {
                    "outside": len(report.outside),
                    "overlaps": len(report.overlaps),
                    "gaps": len(report.gaps),
                    "cells": len(report.unstaffed_cells),
                }
            )
