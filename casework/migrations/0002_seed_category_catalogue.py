"""The category catalogue of DOMAIN.md §2 (casework.catalogue): component and event classes
under both code schemes, with default tiers, department kinds, step deadlines and duplicate
windows, and two category groups."""

from django.db import migrations


def seed_category_catalogue(apps, schema_editor):
    from casework.catalogue import fill_categories

    fill_categories(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0001_initial"),
        ("community", "0004_seed_facility_categories"),
    ]

    operations = [
        # Reversing leaves the rows: they are data, and 0001's reversal drops the tables.
        migrations.RunPython(seed_category_catalogue, migrations.RunPython.noop),
    ]
