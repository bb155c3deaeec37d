"""manage.py demo_seed: the demo city, its departments and demo accounts, once."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from grid.errors import DomainError
from grid.services.demo_city import SCALES
from grid.services.demo_people import demo_seed


class Command(BaseCommand):
    help = (
        "Generate the demo city unless it is there, and add its department kinds, departments "
        "and demo accounts. Does nothing when everything is there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--city", default="3605", help="4-digit city code (default 3605 新余市)"
        )
        parser.add_argument("--scale", default="small", choices=sorted(SCALES))
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, city: str, scale: str, seed: int, **options) -> None:
        try:
            result = demo_seed(city_code=city, scale=scale, seed=seed, progress=self.stdout.write)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if result.created_anything:
            self.stdout.write(self.style.SUCCESS(_("demo data ready")))
        else:
            self.stdout.write(_("demo data already there; nothing changed"))
