"""facility_import FILE: register facilities (部件) from a CSV or XLSX file."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from community.services.facility_import import facility_import
from grid.errors import DomainError


def _problem_lines(problems: list[dict]) -> list[str]:
    return [
        f"  {_('row')} {problem['row']:>7}  {problem['column']:<16}  {problem['reason']}"
        for problem in problems
    ]


class Command(BaseCommand):
    help = (
        "Register facilities from a CSV or XLSX file (header in row 1). Every problem of every "
        "row is listed; nothing is written if there is one, unless --partial."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the .csv or .xlsx file")
        parser.add_argument(
            "--partial",
            action="store_true",
            help="write the rows without problems and report the others",
        )
        parser.add_argument(
            "--as",
            dest="username",
            help="import as this user: rows outside their areas or role are refused "
            "(default: the system, no restriction)",
        )

    def handle(self, *args, **options) -> None:
        actor = None
        if options["username"]:
            actor = get_user_model().objects.filter(username=options["username"]).first()
            if actor is None:
                raise CommandError(_("there is no user “%(name)s”") % {"name": options["username"]})
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("there is no file %(path)s") % {"path": path})

        labels = {
            "read": _("read %(done)s rows"),
            "located": _("located %(done)s of %(total)s rows"),
            "checked": _("checked %(done)s of %(total)s rows"),
            "written": _("written %(done)s of %(total)s facilities"),
        }

        def progress(stage: str, done: int, total: int) -> None:
            self.stdout.write(labels[stage] % {"done": f"{done:,}", "total": f"{total:,}"})

        try:
            report = facility_import(
                source=path,
                filename=path.name,
                actor=actor,
                partial=options["partial"],
                progress=progress,
            )
        except DomainError as error:
            if isinstance(error.details, list):
                self.stderr.write("\n".join(_problem_lines(error.details)))
            raise CommandError(error.message) from error

        if report.problems:
            self.stdout.write(
                self.style.WARNING(_("rows not imported (%(count)d):") % {"count": report.skipped})
            )
            self.stdout.write("\n".join(_problem_lines([p.as_dict() for p in report.problems])))
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "registered: %(created)d facilities; codes issued: %(issued)d; "
                    "rows skipped: %(skipped)d"
                )
                % {
                    "created": report.created,
                    "issued": report.issued_codes,
                    "skipped": report.skipped,
                }
            )
        )
