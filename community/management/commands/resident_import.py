"""resident_import FILE: import residents from a CSV or XLSX file, with progress."""

from __future__ import annotations

import csv
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from community.services.resident_import import (
    ImportProgress,
    ResidentImportFailed,
    ResidentImportReport,
    resident_import,
)
from grid.errors import DomainError

# Seconds between two progress lines.
PROGRESS_EVERY = 2.0


class Command(BaseCommand):
    help = (
        "Import residents from a CSV (UTF-8 or GB18030) or XLSX file in one transaction: on "
        "any problem nothing is written and every problem of every row is listed, unless "
        "--partial. ID and phone numbers are stored encrypted; reports show them masked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the .csv or .xlsx file")
        parser.add_argument(
            "--user",
            help="import as this user: rows outside their areas are problems (default: every area)",
        )
        parser.add_argument(
            "--partial",
            action="store_true",
            help="write the good rows and report the bad ones",
        )
        parser.add_argument(
            "--report", help="also write the problems to this CSV file (row, column, reason)"
        )

    def handle(self, *args, **options) -> None:
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(_("there is no user “%(name)s”") % {"name": options["user"]})
        last_line = 0.0

        def progress(step: ImportProgress) -> None:
            nonlocal last_line
            now = time.monotonic()
            if now - last_line < PROGRESS_EVERY:
                return
            last_line = now
            self.stdout.write(
                _(
                    "%(seconds)6.1f s  rows read %(read)s · checked %(checked)s · "
                    "written %(written)s · %(rate)s rows/s"
                )
                % {
                    "seconds": step.seconds,
                    "read": f"{step.read:,}",
                    "checked": f"{step.checked:,}",
                    "written": f"{step.written:,}",
                    "rate": f"{step.rate:,.0f}",
                }
            )

        try:
            report = resident_import(
                actor=actor,
                source=options["file"],
                partial=options["partial"],
                progress=progress,
            )
        except ResidentImportFailed as failure:
            self._problems(failure.report, options["report"])
            raise CommandError(failure.message) from failure
        except DomainError as error:
            details = error.details if isinstance(error.details, list) else []
            for problem in details:
                self.stderr.write(
                    f"  {problem['row']:>6}  {problem['column']}: {problem['reason']}"
                )
            raise CommandError(error.message) from error
        except FileNotFoundError as error:
            raise CommandError(
                _("there is no file “%(file)s”") % {"file": options["file"]}
            ) from error
        self._problems(report, options["report"])
        rate = report.rows / report.seconds if report.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(file)s: %(rows)s rows read, %(written)s residents and %(households)s "
                    "households written, %(bad)s rows with problems, in %(seconds).1f s "
                    "(%(rate)s rows/s)"
                )
                % {
                    "file": report.file,
                    "rows": f"{report.rows:,}",
                    "written": f"{report.written:,}",
                    "households": f"{report.households_created:,}",
                    "bad": f"{report.bad_rows:,}",
                    "seconds": report.seconds,
                    "rate": f"{rate:,.0f}",
                }
            )
        )

    def _problems(self, report: ResidentImportReport, path: str | None) -> None:
        if not report.problems:
            return
        self.stderr.write(_("     row  column: reason"))
        for problem in report.problems:
            self.stderr.write(f"  {problem.row:>6}  {problem.column}: {problem.reason}")
        if path:
            with open(path, "w", newline="", encoding="utf-8-sig") as target:
                writer = csv.writer(target)
                writer.writerow(["row", "column", "reason"])
                for problem in report.problems:
                    writer.writerow([problem.row, problem.column, problem.reason])
            self.stderr.write(_("problems written to %(path)s") % {"path": path})
