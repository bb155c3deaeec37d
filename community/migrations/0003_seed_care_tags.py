"""The default care tags (独居老人, 残疾人, 低保, 优抚对象 …) as data."""

from django.db import migrations


def seed_care_tags(apps, schema_editor):
    from community.caretags import care_tags_fill

    care_tags_fill(apps.get_model("community", "CareTag"))


class Migration(migrations.Migration):
    dependencies = [
        ("community", "0002_delegation_history"),
    ]

    operations = [
        # Reversing leaves the rows: they are data, and 0001's reversal drops the table.
        migrations.RunPython(seed_care_tags, migrations.RunPython.noop),
    ]
