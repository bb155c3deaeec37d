"""A GiST index on the facilities' locations as geography, for facilities near a point.

Distances are measured in metres on the spheroid (ST_DWithin on geography), and the index on
the geometry column cannot answer a predicate on `location::geography`. An expression index
on exactly that cast can (community.selectors.facilities.facilities_near uses the same
expression). Raw SQL because it is an index on an expression of a cast that the model's Meta
does not describe; it changes no model state.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("community", "0004_seed_facility_categories"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX facility_location_geography "
            "ON community_facility USING gist ((location::geography))",
            "DROP INDEX facility_location_geography",
        )
    ]
