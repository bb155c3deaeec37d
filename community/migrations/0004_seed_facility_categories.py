"""The component (部件) classes of DOMAIN.md §2 as data, under both code schemes.

GB/T 30428 tradition, 4-digit class codes (2-digit major + 2-digit minor): the six major
classes and the sample minor classes of DOMAIN.md, marked [partly] there — one public source;
local lists renumber and extend them, which administrators do in the admin. Major class 06
其他设施 has no minor class in the sources, so no row of it is seeded: a category row is a
minor class, and its class code goes into every component code.

GB/T 47678.5 (2026), 5-digit class codes (2-digit major + 3-digit minor): the structure is
[partly] sourced; the numbers below under it are not — they are the 4-digit minor numbers
padded to three digits, seeded so both schemes can be shown side by side. Correct them in the
admin when the standard's own table is at hand.
"""

from django.db import migrations

GBT30428 = "GB/T 30428"
GBT47678 = "GB/T 47678.5"

MAJOR_CLASSES = {
    "01": "公用设施",
    "02": "道路交通",
    "03": "市容环境",
    "04": "园林绿化",
    "05": "房屋土地",
    "06": "其他设施",
}

# [partly] DOMAIN.md §2 sample minor classes.
GBT30428_CLASSES = [
    ("0101", "上水井盖"),
    ("0102", "污水井盖"),
    ("0103", "雨水井盖"),
    ("0104", "雨水箅子"),
    ("0105", "电力井盖"),
    ("0117", "电杆"),
    ("0118", "路灯"),
    ("0203", "公交站亭"),
    ("0205", "过街天桥"),
    ("0209", "交通标志牌"),
    ("0213", "路名牌"),
    ("0301", "公共厕所"),
    ("0305", "垃圾箱"),
    ("0307", "广告牌匾"),
    ("0401", "古树名木"),
    ("0402", "行道树"),
    ("0405", "绿地"),
    ("0407", "街头座椅"),
    ("0501", "宣传栏"),
]

# Structure [partly]; numbers unchecked (padded from the 4-digit list), see the docstring.
GBT47678_CLASSES = [
    ("01001", "上水井盖"),
    ("01002", "污水井盖"),
    ("01003", "雨水井盖"),
    ("01018", "路灯"),
    ("02013", "路名牌"),
    ("03005", "垃圾箱"),
]


def seed_facility_categories(apps, schema_editor):
    FacilityCategory = apps.get_model("community", "FacilityCategory")
    for scheme, classes in ((GBT30428, GBT30428_CLASSES), (GBT47678, GBT47678_CLASSES)):
        for code, name in classes:
            FacilityCategory.objects.get_or_create(
                scheme=scheme,
                code=code,
                defaults={
                    "major_code": code[:2],
                    "major_name": MAJOR_CLASSES[code[:2]],
                    "name": name,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("community", "0003_seed_care_tags"),
    ]

    operations = [
        # Reversing leaves the rows: they are data, and 0001's reversal drops the table.
        migrations.RunPython(seed_facility_categories, migrations.RunPython.noop),
    ]
