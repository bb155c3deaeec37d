"""window_indicators AREA_CODE --from YYYY-MM-DD --to YYYY-MM-DD [--json]."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from community.selectors.indicators import window_indicators
from grid.models import Area


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("“%(value)s” is not a date (YYYY-MM-DD)") % {"value": value}) from exc


class Command(BaseCommand):
    help = "Window service indicators of the counters in an area's subtree for a period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("area_code", help="Counter, community, street, district or city code.")
        parser.add_argument("--from", dest="date_from", required=True, help="First day, included.")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day, included.")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args, area_code: str, date_from: str, date_to: str, **options) -> None:
        area = Area.objects.current().filter(code=area_code).first()
        if area is None:
            raise CommandError(_("there is no current area “%(code)s”") % {"code": area_code})
        start, end = _date(date_from), _date(date_to)
        if end < start:
            raise CommandError(_("the period ends before it starts"))
        result = window_indicators(area=area, date_from=start, date_to=end)
        if options["json"]:
            payload = {
                "area_code": result.area_code,
                "area_name": result.area_name,
                "date_from": result.date_from.isoformat(),
                "date_to": result.date_to.isoformat(),
                "applications": result.applications,
                "indicators": [
                    {
                        "code": indicator.code,
                        "name": indicator.name,
                        "standard_name": indicator.standard_name,
                        "kind": indicator.kind,
                        "numerator": float(indicator.numerator),
                        "denominator": indicator.denominator,
                        "value": indicator.value,
                    }
                    for indicator in result.indicators
                ],
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            _("%(code)s %(name)s, received %(from)s to %(to)s: %(count)d applications")
            % {
                "code": result.area_code,
                "name": result.area_name,
                "from": result.date_from.isoformat(),
                "to": result.date_to.isoformat(),
                "count": result.applications,
            }
        )
        for indicator in result.indicators:
            if indicator.value is None:
                shown = "—"
            elif indicator.kind == "count":
                shown = str(indicator.value)
            else:
                shown = f"{indicator.value * 100:.1f} %"
            self.stdout.write(
                f"  {indicator.standard_name}\t{indicator.name:<32}\t{shown:>10}\t"
                f"{float(indicator.numerator):g} / {indicator.denominator}"
            )
