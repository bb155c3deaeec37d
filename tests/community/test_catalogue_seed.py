"""The seed service catalogue: every guide element, idempotent loading, 通办 resolved at seed
time, a bad file reported item by item with nothing written, promised ≤ legal enforced."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import translation

from community.models import (
    ItemKind,
    MaterialType,
    ServiceItem,
    ServiceMaterial,
)
from community.services.catalogue import CATALOGUE_PATH, catalogue_seed
from grid.errors import InvalidInput
from grid.models import AreaLevel, DepartmentKind
from tests.factories import make_area
from tests.fixtures.community import make_item

# Every guide element of DOMAIN.md §4 that the seed must fill for every item.
GUIDE_ELEMENTS = (
    "name",
    "item_type",
    "basic_code",
    "implementation_code",
    "handling_code",
    "implementing_body",
    "implementing_body_credit_code",
    "legal_basis",
    "conditions",
    "procedure",
    "handling_form",
    "kind",
    "fee_basis",
    "place",
    "hours",
    "service_object",
    "consult_phone",
    "complaint_phone",
)
SEED_KINDS = {"renshe", "yibao", "minzheng", "weijian", "canlian", "zhujian", "gongan"}


def counts() -> dict[str, int]:
    return {
        "items": ServiceItem.objects.count(),
        "materials": ServiceMaterial.objects.count(),
        "types": MaterialType.objects.count(),
        "kinds": DepartmentKind.objects.count(),
    }


def catalogue_file(tmp_path, mutate) -> str:
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    mutate(data)
    target = tmp_path / "catalogue.json"
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


@pytest.mark.django_db
def test_seed_loads_about_thirty_items_with_every_guide_element():
    result = catalogue_seed()
    assert 28 <= result.items_created <= 35
    assert result.items_created == result.items_in_file == ServiceItem.objects.count()
    assert set(DepartmentKind.objects.values_list("code", flat=True)) >= SEED_KINDS

    items = list(
        ServiceItem.objects.select_related("department_kind").prefetch_related("materials")
    )
    for item in items:
        for element in GUIDE_ELEMENTS:
            assert getattr(item, element), (item.implementation_code, element)
        assert 0 < item.promised_limit_days <= item.legal_limit_days, item.name
        assert item.fee >= 0 and item.fee_basis
        assert item.exercise_level == AreaLevel.CITY
        assert len(item.implementing_body_credit_code) == 18
        # 实施编码 = the body's credit code + level digit + basic code; 办理项 adds a serial.
        assert item.implementation_code.startswith(item.implementing_body_credit_code)
        assert item.implementation_code.endswith(item.basic_code)
        assert item.handling_code.startswith(item.implementation_code)
        assert item.materials.all(), item.name
        assert item.department_kind.code in SEED_KINDS
    names = {item.name for item in items}
    for expected in (
        "城乡居民养老保险参保登记",
        "养老待遇领取资格认证",
        "城乡居民基本医疗保险参保登记",
        "基本医疗保险关系转移接续",
        "高龄津贴申领",
        "最低生活保障申请",
        "临时救助申请",
        "特困人员救助供养申请",
        "生育登记",
        "残疾人证新办",
        "困难残疾人生活补贴和重度残疾人护理补贴申请",
        "公共租赁住房申请",
        "住房租赁补贴申请",
        "就业创业证申领",
        "失业登记",
        "灵活就业人员社会保险补贴申领",
        "居住证申领",
        "老年人优待证办理",
    ):
        assert expected in names

    by_name = {item.name: item for item in items}
    assert "《社会救助暂行办法》" in by_name["最低生活保障申请"].legal_basis
    assert "《中华人民共和国残疾人保障法》" in by_name["残疾人证新办"].legal_basis
    assert by_name["公共租赁住房申请"].requires_joint_handling
    assert by_name["居住证换领补领"].fee > 0
    assert {item.kind for item in items} == set(ItemKind.values)
    levels = {item.delegate_to_level for item in items}
    assert levels == {AreaLevel.COMMUNITY, AreaLevel.STREET, None}
    assert by_name["高龄津贴申领"].department_kind.code == "minzheng"
    assert by_name["生育登记"].department_kind.code == "weijian"


@pytest.mark.django_db
def test_material_types_are_shared_across_items_with_form_count_reuse_and_validity():
    catalogue_seed()
    id_card = MaterialType.objects.get(code="id_card")
    assert id_card.name == "居民身份证"
    assert ServiceMaterial.objects.filter(material_type=id_card).count() >= 25
    assert MaterialType.objects.get(code="photo").valid_days == 180
    assert MaterialType.objects.get(code="income_proof").valid_days == 90
    for code in ("hukou", "disability_cert", "bank_card", "marriage_cert", "photo"):
        assert ServiceMaterial.objects.filter(material_type__code=code).count() >= 2, code
    dibao = ServiceItem.objects.get(name="最低生活保障申请")
    materials = {m.material_type.code: m for m in dibao.materials.select_related("material_type")}
    assert materials["id_card"].form == "both" and materials["id_card"].reusable
    assert materials["application_form"].form == "original"
    assert not materials["application_form"].reusable
    photo = ServiceMaterial.objects.filter(material_type__code="photo").first()
    assert photo.copies == 2
    positions = list(dibao.materials.values_list("position", flat=True))
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


@pytest.mark.django_db
def test_seed_is_idempotent_and_keeps_administrators_changes():
    catalogue_seed()
    after_first = counts()
    item = ServiceItem.objects.get(name="高龄津贴申领")
    item.promised_limit_days = 7
    item.save(update_fields=["promised_limit_days"])
    again = catalogue_seed()
    assert not again.created_anything
    assert counts() == after_first
    item.refresh_from_db()
    assert item.promised_limit_days == 7


@pytest.mark.django_db
def test_tongban_rule_resolves_to_the_city_at_seed_time_even_on_a_later_run():
    first = catalogue_seed()
    assert first.city is None
    assert not ServiceItem.objects.filter(tongban_area__isnull=False).exists()

    city = make_area("3605", "新余市", AreaLevel.CITY, None)
    second = catalogue_seed()
    assert second.city == city
    scoped = ServiceItem.objects.filter(tongban_area=city)
    assert second.scopes_set == scoped.count() >= 10
    assert set(scoped.values_list("name", flat=True)) >= {
        "养老待遇领取资格认证",
        "城乡居民医保异地就医备案",
        "生育登记",
    }
    assert not ServiceItem.objects.get(name="最低生活保障申请").tongban_area
    assert not catalogue_seed().created_anything


@pytest.mark.django_db
def test_the_command_loads_once_and_then_says_nothing_changed():
    first, second = StringIO(), StringIO()
    with translation.override("en"):
        call_command("catalogue_seed", stdout=first)
        after_first = counts()
        call_command("catalogue_seed", stdout=second)
    assert "service catalogue loaded" in first.getvalue()
    assert f"{after_first['items']} of {after_first['items']} service items created" in (
        first.getvalue()
    )
    assert "nothing changed" in second.getvalue()
    assert "0 of" in second.getvalue()
    assert counts() == after_first


@pytest.mark.django_db
def test_promised_limit_above_legal_limit_is_refused_with_every_problem_and_nothing_written(
    tmp_path,
):
    def spoil(data):
        data["items"][0]["promised_limit_days"] = data["items"][0]["legal_limit_days"] + 1
        data["items"][1]["materials"][0]["type"] = "no_such_material"
        data["items"][2]["kind"] = "sometimes"
        del data["items"][3]["name"]

    path = catalogue_file(tmp_path, spoil)
    before = counts()
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        catalogue_seed(path=path)
    problems = {(p["item"], p["field"]): p["reason"] for p in caught.value.details}
    data = json.loads(path.read_text(encoding="utf-8"))
    codes = [item.get("implementation_code") for item in data["items"]]
    assert "exceeds the legal one" in problems[(codes[0], "promised_limit_days")]
    assert "no_such_material" in problems[(codes[1], "materials")]
    assert "not a valid choice" in problems[(codes[2], "kind")]
    assert problems[(codes[3], "name")] == "is required"
    assert "4 problems" in caught.value.message
    assert counts() == before


@pytest.mark.django_db
def test_the_command_lists_the_problems_of_a_bad_file(tmp_path):
    def spoil(data):
        data["items"][0]["legal_limit_days"] = 0

    path = catalogue_file(tmp_path, spoil)
    errors = StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="1 problems"):
        call_command("catalogue_seed", "--file", str(path), stderr=errors)
    assert "promised_limit_days: the promised time limit" in errors.getvalue()
    assert ServiceItem.objects.count() == 0


@pytest.mark.django_db
def test_the_database_refuses_a_promise_beyond_the_legal_limit():
    item = make_item(code="LIMIT-1", promised_days=5, legal_days=20)
    item.promised_limit_days = 21
    with pytest.raises(IntegrityError), transaction.atomic():
        item.save(update_fields=["promised_limit_days"])
