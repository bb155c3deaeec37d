"""manage.py demo_info: where the demo runs and how to log in."""

import unicodedata

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from grid.selectors.demo_people import demo_logins


def _width(text: str) -> int:
    """Columns `text` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "Print the URL of the running demo and the demo logins (user, role, area, password)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url: str, **options) -> None:
        self.stdout.write(self.style.SUCCESS(_("Wangge is running at %(url)s") % {"url": url}))
        found = demo_logins()
        if not found.logins:
            self.stdout.write(_("There are no demo accounts; run manage.py demo_seed."))
            return
        header = (_("user"), _("role"), _("area"), _("password"))
        rows = [header] + [
            (login.username, login.role, login.area, login.password) for login in found.logins
        ]
        widths = [max(_width(row[column]) for row in rows) for column in range(3)]
        self.stdout.write(_("Demo logins:"))
        for index, row in enumerate(rows):
            line = "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row[:3]))
            line = f"  {line}  {row[3]}"
            self.stdout.write(self.style.MIGRATE_HEADING(line) if index == 0 else line)
        if found.community_inspectors:
            self.stdout.write(
                _(
                    "  and %(count)d more grid inspectors, one per community, named "
                    "inspector-<community code> (e.g. %(example)s), with the same password"
                )
                % {
                    "count": found.community_inspectors,
                    "example": found.example_community_inspector,
                }
            )
