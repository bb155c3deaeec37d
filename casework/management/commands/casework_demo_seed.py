"""manage.py casework_demo_seed: the demo's routing rules and cases in the demo city (after
manage.py demo_seed and community_demo_seed); a second run changes nothing."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from grid.errors import DomainError

from ...services.demo import DEMO_CASES, casework_demo_seed


class Command(BaseCommand):
    help = (
        "Add two demo routing rules, a cleaning team on the first community and about two "
        "hundred cases in the demo city, filed through the report service and moved along "
        "through the workflow. Does nothing when the demo cases are there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--city", default="3605", help="4-digit city code (default 3605 新余市)"
        )
        parser.add_argument(
            "--cases", type=int, default=DEMO_CASES, help=f"cases to file (default {DEMO_CASES})"
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")

    def handle(self, *args, city: str, cases: int, seed: int, **options) -> None:
        if cases < 0:
            raise CommandError(_("--cases must not be negative"))
        try:
            result = casework_demo_seed(
                city_code=city, cases=cases, seed=seed, progress=self.stdout.write
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if result.created_anything:
            self.stdout.write(self.style.SUCCESS(_("casework demo data ready")))
        else:
            self.stdout.write(_("casework demo data already there; nothing changed"))
