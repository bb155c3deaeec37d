"""calendar_seed [--from YEAR] [--to YEAR]: fill the working calendar from the official
holiday schedule (the weekday rule for years not yet published), keeping administrator
corrections."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import InvalidInput
from grid.services.calendar import calendar_seed


class Command(BaseCommand):
    help = (
        "Fill the working calendar for the given years from the official holiday schedule; "
        "years not yet published follow the weekday rule. Administrator corrections are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        this_year = timezone.localdate().year
        parser.add_argument(
            "--from",
            dest="first_year",
            type=int,
            default=this_year,
            metavar="YEAR",
            help="first year to fill (default: this year)",
        )
        parser.add_argument(
            "--to",
            dest="last_year",
            type=int,
            default=this_year + 1,
            metavar="YEAR",
            help="last year to fill (default: next year)",
        )

    def handle(self, *args, first_year: int, last_year: int, **options) -> None:
        try:
            result = calendar_seed(first_year=first_year, last_year=last_year)
        except InvalidInput as error:
            raise CommandError(error.message) from error
        for year in result.years:
            if year.published:
                source = _("%(count)d days from the official schedule") % {
                    "count": year.from_package
                }
            else:
                source = _("%(count)d days by the weekday rule (schedule not yet published)") % {
                    "count": year.from_weekday_rule
                }
            self.stdout.write(
                _(
                    "%(year)d: %(source)s, %(kept)d administrator corrections kept; "
                    "%(created)d created, %(updated)d updated"
                )
                % {
                    "year": year.year,
                    "source": source,
                    "kept": year.kept_admin,
                    "created": year.created,
                    "updated": year.updated,
                }
            )
        self.stdout.write(_("%(changed)d calendar days written.") % {"changed": result.changed})
