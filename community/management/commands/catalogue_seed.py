"""manage.py catalogue_seed: load the seed service catalogue; a second run changes nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from grid.errors import DomainError

from ...services.catalogue import CATALOGUE_PATH, catalogue_seed


class Command(BaseCommand):
    help = (
        "Load the service catalogue (items with their guide elements and materials, material "
        "types, department kinds): creates what is missing, leaves existing rows as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=CATALOGUE_PATH, help="catalogue JSON file")
        parser.add_argument(
            "--city",
            default=None,
            help="code of the city whose counters may accept 全城通办 items (default: the file's)",
        )

    def handle(self, *args, file: Path, city: str | None, **options) -> None:
        try:
            result = catalogue_seed(path=file, city_code=city, progress=self.stdout.write)
        except DomainError as exc:
            for problem in exc.details or ():
                self.stderr.write(f"{problem['item']} · {problem['field']}: {problem['reason']}")
            raise CommandError(exc.message) from exc
        if result.created_anything:
            self.stdout.write(self.style.SUCCESS(_("service catalogue loaded")))
        else:
            self.stdout.write(_("service catalogue already there; nothing changed"))
