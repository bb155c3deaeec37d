"""Residents and households through their services and selectors: validation, placement by
community or point, encryption at rest, lookup by digest, masking, the audited reveal, the
conflict check of updates, and what is logged."""

import logging
from datetime import date, timedelta

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from community import pii
from community.models import Household, PersonalDataAccess, Resident
from community.selectors.residents import (
    household_members,
    keeper_scope,
    resident_find_by_id_number,
    resident_get,
    resident_list,
    user_may_reveal,
)
from community.services.residents import (
    household_create,
    resident_register,
    resident_reveal,
    resident_update,
)
from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.fixtures.community import valid_id_number

from .resident_support import (
    COMMUNITY_A,
    COMMUNITY_B,
    POINT_A_NW,
    POINT_A_SE,
    POINT_B_NW,
    POINT_OTHER_DISTRICT,
    POINT_OUTSIDE,
    assert_no_clear_values,
    make_people,
    seed_care_tags,
)

pytestmark = pytest.mark.django_db

ID_A = valid_id_number("360502", date(1948, 3, 9), 17)  # male
ID_B = valid_id_number("360502", date(1990, 12, 1), 28)  # female
PHONE = "13912345678"


@pytest.fixture
def people(square_city):
    seed_care_tags()
    return make_people(square_city)


def register(actor, **fields):
    values = {
        "name": "王秀英",
        "id_number": ID_A,
        "phone": PHONE,
        "community": COMMUNITY_A,
        "address": "城南路1号",
    }
    values.update(fields)
    with translation.override("en"):
        return resident_register(actor=actor, **values)


def wrong_check(id_number: str) -> str:
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")


def problems(call, *args, **kwargs) -> dict:
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    return caught.value.details


# --- registering ----------------------------------------------------------------------------


def test_registering_stores_encrypted_digested_and_masked_values(people):
    resident = register(people.staff_a, care_tags=["elderly_alone", "低保"])
    stored = Resident.objects.get(pk=resident.pk)
    assert stored.id_number_masked == ID_A[:6] + "********" + ID_A[-4:]
    assert stored.phone_masked == "139****5678"
    assert stored.birth_date == date(1948, 3, 9) and stored.sex == "M"
    assert stored.area_code == COMMUNITY_A and stored.grid_cell is None
    assert pii.decrypt(stored.id_number_ciphertext) == ID_A
    assert pii.decrypt(stored.phone_ciphertext) == PHONE
    assert stored.id_number_digest == pii.lookup_digest(ID_A)
    assert sorted(stored.care_tags.values_list("code", flat=True)) == ["dibao", "elderly_alone"]
    assert_no_clear_values(ID_A, PHONE)


def test_a_point_is_located_to_its_cell_and_the_community_follows(people):
    resident = register(people.staff_a, community=None, location=POINT_A_SE)
    assert resident.grid_cell.code == COMMUNITY_A + "004"
    assert resident.community.code == COMMUNITY_A
    assert resident.area_code == COMMUNITY_A + "004"
    assert (resident.location.x, resident.location.y) == POINT_A_SE


def test_a_point_outside_every_cell_is_refused_naming_the_point(people):
    details = problems(register, people.staff_a, community=None, location=POINT_OUTSIDE)
    assert details == {"location": "the point (113.500000, 27.500000) lies in no grid cell"}


def test_a_point_or_community_outside_the_actors_areas_is_refused(people):
    assert problems(register, people.staff_a, community=None, location=POINT_B_NW) == {
        "location": "the point (114.025000, 27.815000) lies outside your areas"
    }
    assert problems(register, people.staff_a, community=COMMUNITY_B) == {
        "community": f"there is no community “{COMMUNITY_B}” in your areas"
    }
    # the same answer as for a community that does not exist
    assert problems(register, people.staff_a, community="360502001099") == {
        "community": "there is no community “360502001099” in your areas"
    }
    assert Resident.objects.count() == 0


def test_a_point_in_another_community_than_the_one_given_is_refused(people):
    details = problems(register, people.street, community=COMMUNITY_A, location=POINT_B_NW)
    assert details["location"] == (
        f"the point (114.025000, 27.815000) lies in community {COMMUNITY_B}, not in {COMMUNITY_A}"
    )


def test_every_problem_is_reported_at_once_with_its_precise_reason(people):
    bad_id = wrong_check(ID_A)
    details = problems(
        register,
        people.staff_a,
        name=" ",
        id_number=bad_id,
        phone="1391234567",
        community=None,
        care_tags=["独居老人", "unknown-tag"],
        relation_to_head="x" * 21,
    )
    assert details == {
        "name": "the name is required",
        "id_number": f"the check character is {bad_id[-1]} but should be {ID_A[-1]}: "
        "a digit is wrong",
        "phone": "a mobile number has 11 digits; this one has 10",
        "relation_to_head": "at most 20 characters; this has 21",
        "community": "give the community or the location (longitude, latitude)",
        "care_tags": "unknown care tags: unknown-tag",
    }
    assert Resident.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "stored_mask"),
    [("+86 139 1234 5678", "139****5678"), ("0790-6221234", "********1234"), ("", "")],
)
def test_phones_are_normalised_before_encryption(people, raw, stored_mask):
    resident = register(people.staff_a, phone=raw)
    assert resident.phone_masked == stored_mask
    if raw:
        assert resident.phone_digest == pii.lookup_digest(
            "13912345678" if raw.startswith("+86") else "0790-6221234"
        )
    else:
        assert resident.phone_ciphertext == "" and resident.phone_digest == ""


def test_a_registered_id_number_is_a_conflict_naming_the_resident_masked(people):
    first = register(people.staff_a)
    with translation.override("en"), pytest.raises(Conflict) as caught:
        register(people.staff_a, name="另一个人", id_number=ID_A.lower())
    masked = first.id_number_masked
    assert caught.value.message == (
        f"a resident with ID number {masked} is already registered: 王秀英, {first.community}"
    )
    assert caught.value.details["resident_id"] == first.pk
    assert ID_A not in str(caught.value.details)
    # staff of another community learn only that the number is taken
    with translation.override("en"), pytest.raises(Conflict) as caught:
        register(people.staff_b, community=COMMUNITY_B)
    assert caught.value.message == (
        f"a resident with ID number {masked} is already registered in another community"
    )
    assert "resident_id" not in caught.value.details
    assert Resident.objects.count() == 1


@pytest.mark.parametrize("who", ["inspector_a", "handler", "district_other"])
def test_roles_without_a_keeper_role_here_may_not_register(people, who):
    actor = getattr(people, who)
    if who == "district_other":
        assert problems(register, actor)["community"].startswith("there is no community")
    else:
        with pytest.raises(Forbidden):
            register(actor)
    assert Resident.objects.count() == 0


# --- households -----------------------------------------------------------------------------


def test_households_are_created_and_members_join_them(people):
    household = household_create(
        actor=people.staff_a, number="A-0001", location=POINT_A_NW, address="城南路1号"
    )
    assert household.community.code == COMMUNITY_A
    assert household.area_code == COMMUNITY_A + "001"
    head = register(people.staff_a, household="A-0001", relation_to_head="户主")
    child = register(
        people.staff_a, name="王小明", id_number=ID_B, household=household, relation_to_head="子"
    )
    members = list(household_members(user=people.staff_a, household=household))
    assert members == [head, child]
    with translation.override("en"), pytest.raises(Conflict, match="already exists"):
        household_create(actor=people.staff_a, number="A-0001", community=COMMUNITY_A)
    assert problems(register, people.staff_a, id_number=ID_B, household="nope") == {
        "household": f"there is no household “nope” in {household.community.name}"
    }


def test_a_household_of_another_community_cannot_be_joined(people):
    other = household_create(actor=people.street, number="B-1", community=COMMUNITY_B)
    details = problems(register, people.street, household=other)
    assert details["household"].startswith("there is no household “B-1”")


# --- reading --------------------------------------------------------------------------------


def test_lookup_by_full_id_number_uses_the_digest_and_the_scope(people):
    resident = register(people.staff_a)
    assert resident_find_by_id_number(user=people.staff_a, id_number=ID_A).pk == resident.pk
    assert resident_find_by_id_number(user=people.street, id_number=ID_A.lower()).pk == resident.pk
    for outsider in (people.staff_b, people.district_other, AnonymousUser()):
        with translation.override("en"), pytest.raises(NotFound) as caught:
            resident_find_by_id_number(user=outsider, id_number=ID_A)
        assert caught.value.message == (
            f"there is no resident with ID number {resident.id_number_masked} in your areas"
        )
    with translation.override("en"), pytest.raises(InvalidInput, match="should be"):
        resident_find_by_id_number(user=people.staff_a, id_number=wrong_check(ID_A))


def test_a_wrong_lookup_key_finds_nothing(people):
    register(people.staff_a)
    with (
        override_settings(WANGGE_PII_LOOKUP_KEY="a-different-lookup-key"),
        pytest.raises(NotFound),
    ):
        resident_find_by_id_number(user=people.staff_a, id_number=ID_A)


def test_lists_are_scoped_filtered_and_never_load_the_ciphertexts(people):
    wang = register(people.staff_a, care_tags=["disabled"])
    li = register(people.street, name="李四", id_number=ID_B, community=COMMUNITY_B)
    assert list(resident_list(user=people.staff_a)) == [wang]
    assert set(resident_list(user=people.street)) == {wang, li}
    assert list(resident_list(user=people.district_other)) == []
    assert list(resident_list(user=people.inspector_a)) == []  # A's resident has no cell
    assert list(resident_list(user=people.street, name="秀")) == [wang]
    assert list(resident_list(user=people.street, care_tag="disabled")) == [wang]
    assert list(resident_list(user=people.street, area_code=COMMUNITY_B)) == [li]
    assert list(resident_list(user=people.street, id_tail=ID_B[-4:])) == [li]
    listed = resident_list(user=people.street)[0]
    assert {"id_number_ciphertext", "phone_ciphertext"} <= listed.get_deferred_fields()


def test_inspectors_read_residents_of_their_cells_masked_but_may_not_reveal(people):
    resident = register(people.staff_a, community=None, location=POINT_A_NW)
    assert list(resident_list(user=people.inspector_a)) == [resident]
    assert not user_may_reveal(user=people.inspector_a, resident=resident)
    assert user_may_reveal(user=people.staff_a, resident=resident)
    assert keeper_scope(people.inspector_a).is_empty


# --- reveal ---------------------------------------------------------------------------------


def test_a_reveal_returns_the_value_and_writes_exactly_one_audit_row(people):
    resident = register(people.staff_a)
    value = resident_reveal(
        actor=people.staff_a,
        resident=resident,
        field="id_number",
        purpose=" 核验身份 ",
        ip="10.0.0.8",
    )
    assert value == ID_A
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.resident, access.field, access.purpose, access.ip_address) == (
        people.staff_a,
        resident,
        "id_number",
        "核验身份",
        "10.0.0.8",
    )
    assert (
        resident_reveal(actor=people.street, resident=resident.pk, field="phone", purpose="回访")
        == PHONE
    )
    assert PersonalDataAccess.objects.count() == 2


@pytest.mark.parametrize("who", ["inspector_a", "handler"])
def test_roles_that_may_not_reveal_get_403_and_no_row(people, who):
    resident = register(people.staff_a, community=None, location=POINT_A_NW)
    with pytest.raises(Forbidden):
        resident_reveal(
            actor=getattr(people, who), resident=resident, field="id_number", purpose="看看"
        )
    assert PersonalDataAccess.objects.count() == 0


def test_outside_the_scope_a_reveal_is_not_found_and_nothing_is_recorded(people):
    resident = register(people.staff_a)
    for outsider in (people.staff_b, people.district_other):
        with pytest.raises(NotFound):
            resident_reveal(actor=outsider, resident=resident, field="id_number", purpose="x")
    assert PersonalDataAccess.objects.count() == 0


def test_a_reveal_needs_a_purpose_and_a_known_field(people):
    resident = register(people.staff_a, phone="")
    assert problems(
        resident_reveal, actor=people.staff_a, resident=resident, field="id_number", purpose=" "
    ) == {"purpose": "say why the full number is needed"}
    assert problems(
        resident_reveal, actor=people.staff_a, resident=resident, field="phone", purpose="回访"
    ) == {"field": "no phone number is on file for this resident"}
    assert "field" in problems(
        resident_reveal, actor=people.staff_a, resident=resident, field="name", purpose="x"
    )
    assert PersonalDataAccess.objects.count() == 0


def test_superusers_may_reveal(people):
    resident = register(people.staff_a)
    assert (
        resident_reveal(
            actor=people.admin, resident=resident, field="id_number", purpose="数据核对"
        )
        == ID_A
    )


# --- updating -------------------------------------------------------------------------------


def test_an_update_with_the_current_updated_at_changes_the_given_fields(people):
    resident = register(people.staff_a)
    with translation.override("en"):
        updated = resident_update(
            actor=people.staff_a,
            resident=resident.pk,
            expected_updated_at=resident.updated_at,
            name="王秀英（改）",
            phone="0790-6221234",
            location=POINT_A_NW,
            care_tags=["空巢老人"],
        )
    assert updated.name == "王秀英（改）"
    assert updated.phone_masked == "********1234"
    assert pii.decrypt(updated.phone_ciphertext) == "0790-6221234"
    assert updated.area_code == COMMUNITY_A + "001"
    assert updated.updated_at > resident.updated_at
    assert list(updated.care_tags.values_list("code", flat=True)) == ["empty_nest"]
    assert updated.address == "城南路1号"  # not given: kept


def test_a_stale_update_is_a_conflict_with_the_current_values_masked(people):
    resident = register(people.staff_a)
    read_at = resident.updated_at
    resident_update(actor=people.staff_a, resident=resident, expected_updated_at=read_at, name="新")
    with translation.override("en"), pytest.raises(Conflict) as caught:
        resident_update(
            actor=people.street,
            resident=resident,
            expected_updated_at=read_at,
            name="旧的改动",
        )
    current = caught.value.details["current"]
    assert current["name"] == "新"
    assert current["id_number_masked"] == resident.id_number_masked
    assert current["phone_masked"] == "139****5678"
    assert ID_A not in str(caught.value.details) and PHONE not in str(caught.value.details)
    assert Resident.objects.get().name == "新"


def test_changing_the_id_number_reencrypts_and_checks_duplicates(people):
    resident = register(people.staff_a)
    other = register(people.staff_a, name="李四", id_number=ID_B)
    with translation.override("en"), pytest.raises(Conflict, match="already registered"):
        resident_update(actor=people.staff_a, resident=other, id_number=ID_A)
    changed_id = valid_id_number("360502", date(1991, 1, 2), 30)
    updated = resident_update(actor=people.staff_a, resident=resident, id_number=changed_id)
    assert pii.decrypt(updated.id_number_ciphertext) == changed_id
    assert updated.birth_date == date(1991, 1, 2) and updated.sex == "F"
    assert resident_find_by_id_number(user=people.staff_a, id_number=changed_id) == updated
    with pytest.raises(NotFound):
        resident_find_by_id_number(user=people.staff_a, id_number=ID_A)


def test_updates_outside_the_scope_or_by_readers_are_refused(people):
    resident = register(people.staff_a, community=None, location=POINT_A_NW)
    with pytest.raises(NotFound):
        resident_update(actor=people.staff_b, resident=resident, name="x")
    with pytest.raises(Forbidden):
        resident_update(actor=people.inspector_a, resident=resident, name="x")
    assert problems(
        resident_update, actor=people.staff_a, resident=resident, location=POINT_OTHER_DISTRICT
    ) == {"location": "the point (114.045000, 27.815000) lies outside your areas"}
    assert Resident.objects.get().name == "王秀英"


# --- keys, logs, admin ----------------------------------------------------------------------


def test_key_rotation_keeps_old_rows_readable(people):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(WANGGE_PII_KEYS=[old_key]):
        old = register(people.staff_a)
    with override_settings(WANGGE_PII_KEYS=[new_key, old_key]):
        new = register(people.staff_a, name="李四", id_number=ID_B)
        assert (
            resident_reveal(actor=people.staff_a, resident=old, field="id_number", purpose="核对")
            == ID_A
        )
    with override_settings(WANGGE_PII_KEYS=[new_key]):
        assert pii.decrypt(Resident.objects.get(pk=new.pk).id_number_ciphertext) == ID_B
    # the digest does not depend on the encryption keys: lookups keep working
    with override_settings(WANGGE_PII_KEYS=[new_key, old_key]):
        assert resident_find_by_id_number(user=people.staff_a, id_number=ID_A) == old


def test_nothing_clear_is_logged_while_registering_updating_and_revealing(people, caplog):
    caplog.set_level(logging.DEBUG)
    resident = register(people.staff_a)
    resident_update(actor=people.staff_a, resident=resident, phone="13800138000")
    resident_reveal(actor=people.staff_a, resident=resident, field="id_number", purpose="核对")
    resident_reveal(actor=people.staff_a, resident=resident, field="phone", purpose="回访")
    with pytest.raises(Conflict):
        register(people.staff_a)
    text = caplog.text + " ".join(str(record.args) for record in caplog.records)
    assert resident.id_number_masked in text  # the events are logged, masked
    for clear in (ID_A, PHONE, "13800138000"):
        assert clear not in text


def test_the_admin_changelist_and_change_page_show_masked_values_only(people, client):
    resident = register(people.staff_a)
    client.force_login(people.admin)
    changelist = client.get(reverse("admin:community_resident_changelist")).content.decode()
    assert resident.id_number_masked in changelist and "139****5678" in changelist
    change = client.get(
        reverse("admin:community_resident_change", args=[resident.pk])
    ).content.decode()
    for page in (changelist, change):
        assert ID_A not in page and PHONE not in page
        assert resident.id_number_ciphertext not in page


def test_the_lookup_probe_uses_the_digest_index(people):
    register(people.staff_a)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM community_resident WHERE id_number_digest = %s",
            [pii.lookup_digest(ID_A)],
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "id_number_digest" in plan and "Index" in plan


def test_a_future_birth_date_is_refused_at_registration(people):
    tomorrow = date.today() + timedelta(days=2)
    details = problems(register, people.staff_a, id_number=valid_id_number("360502", tomorrow))
    assert "is not plausible" in details["id_number"]


def test_resident_get_outside_the_scope_is_not_found(people):
    resident = register(people.staff_a)
    assert resident_get(user=people.street, resident_id=resident.pk) == resident
    with pytest.raises(NotFound):
        resident_get(user=people.staff_b, resident_id=resident.pk)
    assert Household.objects.count() == 0
