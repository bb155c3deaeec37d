"""The category catalogue seeded by migration 0002 (casework.catalogue)."""

from __future__ import annotations

from decimal import Decimal

from django.apps import apps as django_apps

from casework.catalogue import CATEGORIES, GBT30428, GBT47678, fill_categories
from casework.models import Category, CategoryDeadline, CategoryGroup, CategoryKind, Step
from grid.models import AreaLevel, DepartmentKind


def test_the_migration_seeds_both_kinds_under_both_schemes(catalogue):
    categories = Category.objects.all()
    assert categories.count() == len(CATEGORIES)
    for kind in CategoryKind.values:
        majors = set(
            categories.filter(kind=kind, scheme=GBT30428).values_list("major_code", flat=True)
        )
        assert majors == {"01", "02", "03", "04", "05", "06"}
    assert categories.filter(scheme=GBT47678, kind=CategoryKind.COMPONENT).exists()
    assert categories.filter(scheme=GBT47678, kind=CategoryKind.EVENT).exists()
    for category in categories:
        expected = 4 if category.scheme == GBT30428 else 5
        assert len(category.code) == expected, category
        assert category.code.startswith(category.major_code)


def test_component_classes_link_to_the_facility_class_of_the_same_code(catalogue):
    for category in Category.objects.filter(kind=CategoryKind.COMPONENT).select_related(
        "facility_category"
    ):
        if category.facility_category is not None:
            assert (category.facility_category.scheme, category.facility_category.code) == (
                category.scheme,
                category.code,
            )
    cover = Category.objects.get(kind=CategoryKind.COMPONENT, scheme=GBT30428, code="0101")
    assert cover.facility_category.name == "上水井盖"
    assert not Category.objects.filter(
        kind=CategoryKind.EVENT, facility_category__isnull=False
    ).exists()


def test_every_category_has_a_tier_a_department_kind_and_four_deadlines(catalogue):
    for category in Category.objects.prefetch_related("deadlines"):
        assert category.default_tier in (AreaLevel.COMMUNITY, AreaLevel.STREET, AreaLevel.DISTRICT)
        assert category.department_kind is not None
        assert {d.step for d in category.deadlines.all()} == set(Step.values)
        assert category.duplicate_radius_m > 0 and category.duplicate_window_hours > 0


def test_the_defaults_follow_the_kind_of_work(catalogue):
    def get(code, kind=CategoryKind.EVENT):
        return Category.objects.get(kind=kind, scheme=GBT30428, code=code)

    def limit(category, step):
        deadline = CategoryDeadline.objects.get(category=category, step=step)
        return deadline.amount, deadline.unit

    assert get("0102").default_tier == AreaLevel.COMMUNITY  # 暴露垃圾
    assert get("0505").default_tier == AreaLevel.STREET  # 机动车乱停放
    assert get("0403").default_tier == AreaLevel.DISTRICT  # 燃气管道破裂
    assert get("0403").department_kind.code == "zhujian"
    # urgent events are handled in working hours, facilities in working days
    assert limit(get("0403"), Step.HANDLE) == (Decimal(2), "hours")
    assert limit(get("0118", CategoryKind.COMPONENT), Step.HANDLE) == (Decimal(3), "days")
    assert limit(get("0403"), Step.REGISTER) == (Decimal("0.5"), "hours")
    assert limit(get("0102"), Step.REGISTER) == (Decimal(1), "hours")
    assert limit(get("0102"), Step.VERIFY) == (Decimal(1), "days")


def test_groups_and_department_kinds_are_seeded(catalogue):
    covers = CategoryGroup.objects.get(name="井盖")
    assert {c.code for c in covers.categories.all()} == {"0101", "0102", "0103", "0105", "01001"}
    assert {"chengguan", "huanwei", "shuiwu", "zhujian"} <= set(
        DepartmentKind.objects.values_list("code", flat=True)
    )


def test_seeding_again_keeps_what_administrators_changed(catalogue):
    category = Category.objects.get(kind=CategoryKind.EVENT, scheme=GBT30428, code="0102")
    category.default_tier = AreaLevel.STREET
    category.save(update_fields=["default_tier"])
    CategoryDeadline.objects.filter(category=category, step=Step.HANDLE).delete()
    assert fill_categories(django_apps) == 0
    category.refresh_from_db()
    assert category.default_tier == AreaLevel.STREET
    assert not CategoryDeadline.objects.filter(category=category, step=Step.HANDLE).exists()
    assert Category.objects.count() == len(CATEGORIES)
