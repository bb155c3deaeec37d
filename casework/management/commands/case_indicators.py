"""case_indicators (--area CODE | --department ID | --inspector USERNAME) --from DATE --to DATE
[--json]: the evaluation indicators (综合评价) of the cases of an area, a department or an
inspector over [from, to)."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from casework.selectors.indicators import (
    IndicatorReport,
    area_subject,
    case_indicators,
    department_subject,
    inspector_subject,
    moment_parse,
    period_bounds,
)
from grid.errors import InvalidInput
from grid.models import Area, Department


def report_as_dict(report: IndicatorReport) -> dict:
    return {
        "subject": {
            "kind": report.subject.kind,
            "key": report.subject.key,
            "name": report.subject.name,
        },
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "metrics": report.metrics,
        "indicators": [
            {
                "code": indicator.code,
                "name": indicator.name,
                "value": indicator.value,
                "numerator": indicator.numerator,
                "denominator": indicator.denominator,
                "numerator_metric": indicator.numerator_metric,
                "denominator_metric": indicator.denominator_metric,
                "complement": indicator.complement,
                "weights": indicator.weights,
            }
            for indicator in report.indicators
        ],
        "score": report.score,
        "grade": report.grade,
    }


class Command(BaseCommand):
    help = (
        "Evaluation indicators (综合评价) of the cases of an area, a department or an inspector "
        "over a period [from, to)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        subject = parser.add_mutually_exclusive_group(required=True)
        subject.add_argument("--area", help="Area code (any tier): the cases of its subtree.")
        subject.add_argument("--department", type=int, help="Department id.")
        subject.add_argument("--inspector", help="Username of the inspector (reporter).")
        parser.add_argument("--from", dest="start", required=True, help="First day, included.")
        parser.add_argument(
            "--to", dest="end", required=True, help="Day the period ends, excluded."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def _subject(self, *, area: str | None, department: int | None, inspector: str | None):
        if area is not None:
            found = Area.objects.current().filter(code=area).first()
            if found is None:
                raise CommandError(_("there is no current area “%(code)s”") % {"code": area})
            return area_subject(found)
        if department is not None:
            found = Department.objects.select_related("area").filter(pk=department).first()
            if found is None:
                raise CommandError(_("there is no department %(id)s") % {"id": department})
            return department_subject(found)
        found = get_user_model().objects.filter(username=inspector).first()
        if found is None:
            raise CommandError(_("there is no user “%(name)s”") % {"name": inspector})
        return inspector_subject(found)

    def handle(self, *args, start: str, end: str, **options) -> None:
        subject = self._subject(
            area=options["area"], department=options["department"], inspector=options["inspector"]
        )
        try:
            first, last = period_bounds(moment_parse(start), moment_parse(end))
            report = case_indicators(subject=subject, start=first, end=last)
        except InvalidInput as error:
            raise CommandError(error.message) from error
        if options["json"]:
            self.stdout.write(json.dumps(report_as_dict(report), ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            _("%(kind)s %(key)s %(name)s, from %(from)s to %(to)s (excluded)")
            % {
                "kind": subject.kind,
                "key": subject.key,
                "name": subject.name,
                "from": report.start.isoformat(),
                "to": report.end.isoformat(),
            }
        )
        for indicator in report.indicators:
            shown = "—" if indicator.value is None else f"{indicator.value * 100:.1f} %"
            if indicator.weights:
                counted = " + ".join(
                    f"{weight:g}×{code}" for code, weight in indicator.weights.items()
                )
            else:
                counted = (
                    f"{'1 − ' if indicator.complement else ''}"
                    f"{indicator.numerator} {indicator.numerator_metric} / "
                    f"{indicator.denominator} {indicator.denominator_metric}"
                )
            self.stdout.write(f"  {indicator.name}\t{shown:>8}\t{counted}")
        if report.score is not None or subject.kind == "department":
            score = "—" if report.score is None else f"{report.score:.2f}"
            self.stdout.write(
                _("score %(score)s, grade %(grade)s")
                % {"score": score, "grade": report.grade or "—"}
            )
        self.stdout.write(
            "  " + ", ".join(f"{name} {value}" for name, value in report.metrics.items())
        )
