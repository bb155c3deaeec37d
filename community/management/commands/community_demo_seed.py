"""manage.py community_demo_seed: the demo's service catalogue and its delegation to the demo
city's counters (after manage.py demo_seed); a second run changes nothing."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from grid.errors import DomainError

from ...services.catalogue import catalogue_demo_seed
from ...services.demo import community_demo_data_seed


class Command(BaseCommand):
    help = (
        "Seed the service catalogue and delegate its items to the demo city's community and "
        "street counters, leaving a few out; import synthetic residents and facilities and "
        "open a few applications at the first community's counter. Does nothing when "
        "everything is there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--city", default="3605", help="4-digit city code (default 3605 新余市)"
        )

    def handle(self, *args, city: str, **options) -> None:
        try:
            result = catalogue_demo_seed(city_code=city, progress=self.stdout.write)
            data = community_demo_data_seed(city_code=city, progress=self.stdout.write)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if data.created_anything:
            self.stdout.write(
                _(
                    "%(residents)d residents, %(facilities)d facilities, %(applications)d applications created"
                )
                % {
                    "residents": data.residents,
                    "facilities": data.facilities,
                    "applications": data.applications,
                }
            )
        if result.created_anything or data.created_anything:
            self.stdout.write(self.style.SUCCESS(_("community demo data ready")))
        else:
            self.stdout.write(_("community demo data already there; nothing changed"))
