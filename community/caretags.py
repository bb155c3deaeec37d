"""The care tags (关怀标签) a new installation starts with. They are data: each city renames,
adds or retires its own through the admin; imports accept a tag's code or its name."""

from __future__ import annotations

DEFAULT_CARE_TAGS: tuple[tuple[str, str, str], ...] = (
    ("elderly_alone", "独居老人", "独自居住的老年人"),
    ("empty_nest", "空巢老人", "子女不在身边的老年人"),
    ("elderly_80", "高龄老人", "八十周岁以上的老年人"),
    ("disabled", "残疾人", "持有残疾人证"),
    ("dibao", "低保", "城乡最低生活保障对象"),
    ("tekun", "特困人员", "特困供养人员"),
    ("youfu", "优抚对象", "享受抚恤优待的退役军人及其家属"),
    ("left_behind_child", "留守儿童", "父母外出务工的未成年人"),
    ("shidu", "失独家庭", "独生子女死亡或伤残的家庭"),
    ("serious_illness", "重病患者", "患有重大疾病的居民"),
)


def care_tags_fill(model) -> int:
    """Create the default tags that are missing (a code already present is left as the city
    changed it). `model` is CareTag, or its historical version in a migration."""
    existing = set(model.objects.values_list("code", flat=True))
    missing = [
        model(code=code, name=name, description=description)
        for code, name, description in DEFAULT_CARE_TAGS
        if code not in existing
    ]
    model.objects.bulk_create(missing)
    return len(missing)
