"""Default office hours and the working calendar from 2020 through next year."""

from django.db import migrations
from django.utils import timezone


def seed_working_calendar(apps, schema_editor):
    from grid.services.calendar import (
        CALENDAR_FIRST_YEAR,
        fill_calendar_days,
        fill_default_working_periods,
    )

    fill_default_working_periods(apps.get_model("grid", "WorkingPeriod"))
    fill_calendar_days(
        apps.get_model("grid", "CalendarDay"),
        first_year=CALENDAR_FIRST_YEAR,
        last_year=timezone.localdate().year + 1,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("grid", "0001_initial"),
    ]

    operations = [
        # Reversing leaves the rows: they are data, and 0001's reversal drops the tables.
        migrations.RunPython(seed_working_calendar, migrations.RunPython.noop),
    ]
