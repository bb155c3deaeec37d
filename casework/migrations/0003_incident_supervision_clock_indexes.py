# The supervision scan's partial indexes of open cases on the clock.

from django.db import migrations, models

CLOCKED_STATES = ["accepted", "dispatched", "handled", "in_progress", "registered", "reported"]


class Migration(migrations.Migration):

    dependencies = [
        ("casework", "0002_seed_category_catalogue"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(
                    ("status__in", CLOCKED_STATES), ("step_deadline__isnull", False)
                ),
                fields=["light", "step_warn_at"],
                name="incident_clock_warn",
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(
                    ("status__in", CLOCKED_STATES), ("step_deadline__isnull", False)
                ),
                fields=["light", "step_deadline"],
                name="incident_clock_deadline",
            ),
        ),
    ]
