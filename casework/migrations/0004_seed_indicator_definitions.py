"""The evaluation indicators (综合评价) of DOMAIN.md §3 and the grade bands
(casework.evaluation)."""

from django.db import migrations


def seed_indicator_definitions(apps, schema_editor):
    from casework.evaluation import fill_indicator_definitions

    fill_indicator_definitions(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0003_incident_supervision_clock_indexes"),
    ]

    operations = [
        # Reversing leaves the rows: they are data, and 0001's reversal drops the tables.
        migrations.RunPython(seed_indicator_definitions, migrations.RunPython.noop),
    ]
