"""The residents API: masked lists and details, register, update with the conflict check,
lookup by ID number in the body, the audited reveal, import with its limits, households, and
the access matrix across every endpoint."""

import io
import json
import logging
from datetime import date

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from community import pii
from community.models import PersonalDataAccess, Resident
from community.services.residents import household_create, resident_register
from tests.fixtures.community import valid_id_number

from .resident_support import (
    COMMUNITY_A,
    COMMUNITY_B,
    POINT_A_NW,
    POINT_OUTSIDE,
    csv_bytes,
    make_people,
    seed_care_tags,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db

ID_A = valid_id_number("360502", date(1950, 2, 3), 41)
ID_B = valid_id_number("360502", date(1985, 7, 8), 42)
PHONE_A = "13712345678"
PHONE_B = "15898765432"


@pytest.fixture
def people(square_city):
    seed_care_tags()
    return make_people(square_city)


@pytest.fixture
def residents(people):
    """One resident in community A (located in its cell 001, with a household) and one in B."""
    household_create(actor=people.staff_a, number="A-1", location=POINT_A_NW)
    a = resident_register(
        actor=people.staff_a,
        name="张桂兰",
        id_number=ID_A,
        phone=PHONE_A,
        location=POINT_A_NW,
        household="A-1",
        relation_to_head="户主",
        care_tags=["elderly_alone"],
    )
    b = resident_register(
        actor=people.staff_b, name="刘建国", id_number=ID_B, phone=PHONE_B, community=COMMUNITY_B
    )
    return a, b


def client_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"community-api:{name}", args=args)


def no_clear_values(response) -> None:
    body = response.content.decode()
    for clear in (ID_A, ID_B, PHONE_A, PHONE_B):
        assert clear not in body


# --- lists and details ----------------------------------------------------------------------


def test_the_list_is_scoped_masked_and_paginated(people, residents):
    a, b = residents
    response = client_for(people.street).get(url("resident-list"), {"page_size": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
    first = body["results"][0]
    assert first["name"] == "刘建国"  # by name
    assert first["id_number"] == b.id_number_masked
    assert first["phone"] == "158****5432"
    no_clear_values(response)
    only_a = client_for(people.staff_a).get(url("resident-list")).json()["results"]
    assert [row["id"] for row in only_a] == [a.pk]
    assert only_a[0]["care_tags"] == [{"code": "elderly_alone", "name": "独居老人"}]
    assert only_a[0]["household_number"] == "A-1"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"name": "桂"}, ["张桂兰"]),
        ({"care_tag": "elderly_alone"}, ["张桂兰"]),
        ({"area": COMMUNITY_B}, ["刘建国"]),
        ({"id_tail": ID_B[-4:]}, ["刘建国"]),
    ],
)
def test_list_filters(people, residents, query, names):
    response = client_for(people.street).get(url("resident-list"), query)
    assert [row["name"] for row in response.json()["results"]] == names


def test_a_malformed_filter_is_a_400(people, residents):
    response = client_for(people.street).get(url("resident-list"), {"area": "abc"})
    assert response.status_code == 400


def test_the_detail_is_masked_and_says_whether_the_user_may_reveal(people, residents):
    a, _ = residents
    body = client_for(people.staff_a).get(url("resident-detail", a.pk)).json()
    assert body["id_number"] == a.id_number_masked
    assert body["grid_cell_code"] == COMMUNITY_A + "001"
    assert (body["lon"], body["lat"]) == POINT_A_NW
    assert body["may_reveal"] is True
    assert (
        client_for(people.inspector_a).get(url("resident-detail", a.pk)).json()["may_reveal"]
        is False
    )


# --- register and update --------------------------------------------------------------------


def test_register_answers_201_with_the_masked_resident(people):
    new_id = valid_id_number("360502", date(2001, 4, 5), 61)
    response = client_for(people.staff_a).post(
        url("resident-list"),
        {
            "name": "陈晨",
            "id_number": new_id,
            "phone": "13600000000",
            "community": COMMUNITY_A,
            "care_tags": ["留守儿童"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id_number"] == pii.mask_id_number(new_id)
    assert body["birth_date"] == "2001-04-05" and body["sex"] == "M"
    assert body["care_tags"] == [{"code": "left_behind_child", "name": "留守儿童"}]
    assert new_id not in response.content.decode()
    assert "13600000000" not in response.content.decode()


def test_register_problems_are_422_per_field_and_a_duplicate_is_409_masked(people, residents):
    client = client_for(people.staff_a)
    response = client.post(
        url("resident-list"),
        {
            "name": "",
            "id_number": ID_A[:-1] + "Y",
            "lon": POINT_OUTSIDE[0],
            "lat": POINT_OUTSIDE[1],
        },
        format="json",
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["name"] == "the name is required"
    assert errors["id_number"] == "an ID number is 17 digits followed by a digit or X"
    assert errors["location"] == "the point (113.500000, 27.500000) lies in no grid cell"
    duplicate = client.post(
        url("resident-list"),
        {"name": "重复", "id_number": ID_A, "community": COMMUNITY_A},
        format="json",
    )
    assert duplicate.status_code == 409
    assert residents[0].id_number_masked in duplicate.json()["detail"]
    no_clear_values(duplicate)
    half = client.post(
        url("resident-list"),
        {"name": "x", "id_number": ID_A, "lon": 114.0},
        format="json",
    )
    assert half.status_code == 400


def test_update_with_a_fresh_updated_at_and_a_stale_one(people, residents):
    a, _ = residents
    client = client_for(people.staff_a)
    read = client.get(url("resident-detail", a.pk)).json()
    changed = client.patch(
        url("resident-detail", a.pk),
        {"updated_at": read["updated_at"], "address": "新地址", "household": ""},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["address"] == "新地址"
    assert changed.json()["household_id"] is None
    stale = client_for(people.street).patch(
        url("resident-detail", a.pk),
        {"updated_at": read["updated_at"], "address": "旧的想法"},
        format="json",
    )
    assert stale.status_code == 409
    current = stale.json()["errors"]["current"]
    assert current["address"] == "新地址"
    assert current["id_number_masked"] == a.id_number_masked
    no_clear_values(stale)
    assert Resident.objects.get(pk=a.pk).address == "新地址"
    missing = client.patch(url("resident-detail", a.pk), {"address": "x"}, format="json")
    assert missing.status_code == 400 and "updated_at" in missing.json()


# --- lookup and reveal ----------------------------------------------------------------------


def test_lookup_takes_the_id_number_in_the_body_only(people, residents):
    a, _ = residents
    client = client_for(people.staff_a)
    found = client.post(url("resident-lookup"), {"id_number": ID_A.lower()}, format="json")
    assert found.status_code == 200 and found.json()["id"] == a.pk
    no_clear_values(found)
    assert client.get(url("resident-lookup"), {"id_number": ID_A}).status_code == 405
    malformed = client.post(url("resident-lookup"), {"id_number": "12345"}, format="json")
    assert malformed.status_code == 422
    assert malformed.json()["errors"] == {
        "id_number": "an ID number has 18 characters; this one has 5"
    }


def test_reveal_returns_the_value_once_audited_and_uncached(people, residents):
    a, _ = residents
    response = client_for(people.staff_a).post(
        url("resident-reveal", a.pk),
        {"field": "id_number", "purpose": "办理高龄津贴核验身份"},
        format="json",
        REMOTE_ADDR="192.0.2.7",
    )
    assert response.status_code == 200
    assert response.json() == {"field": "id_number", "value": ID_A}
    assert response["Cache-Control"] == "no-store"
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.resident_id, access.field, access.purpose) == (
        people.staff_a,
        a.pk,
        "id_number",
        "办理高龄津贴核验身份",
    )
    assert access.ip_address == "192.0.2.7"
    phone = client_for(people.street).post(
        url("resident-reveal", a.pk), {"field": "phone", "purpose": "电话回访"}, format="json"
    )
    assert phone.json()["value"] == PHONE_A
    assert PersonalDataAccess.objects.count() == 2


@pytest.mark.parametrize("who", ["inspector_a", "handler"])
def test_reveal_is_403_for_readers_and_records_nothing(people, residents, who):
    a, _ = residents
    response = client_for(getattr(people, who)).post(
        url("resident-reveal", a.pk), {"field": "id_number", "purpose": "看看"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    no_clear_values(response)
    assert PersonalDataAccess.objects.count() == 0


def test_reveal_needs_a_purpose(people, residents):
    a, _ = residents
    response = client_for(people.staff_a).post(
        url("resident-reveal", a.pk), {"field": "id_number", "purpose": "  "}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"purpose": "say why the full number is needed"}
    assert PersonalDataAccess.objects.count() == 0


# --- import ---------------------------------------------------------------------------------


def import_file(client, data: bytes, name: str, **fields):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(url("resident-import"), {"file": upload, **fields}, format="multipart")


def import_rows(*rows):
    return [["姓名", "身份证号", "手机号", "社区编码"], *rows]


def test_import_csv_and_xlsx_through_the_api(people):
    client = client_for(people.staff_a)
    first = valid_id_number("360502", date(1960, 1, 1), 71)
    second = valid_id_number("360502", date(1961, 1, 1), 73)
    response = import_file(
        client, csv_bytes(import_rows(["甲", first, "13500000000", COMMUNITY_A])), "a.csv"
    )
    assert response.status_code == 201, response.content
    assert response.json()["written"] == 1 and response.json()["problems"] == []
    response = import_file(
        client, xlsx_bytes(import_rows(["乙", second, "", COMMUNITY_A])), "b.xlsx"
    )
    assert response.status_code == 201
    assert Resident.objects.count() == 2


def test_a_bad_import_is_422_with_the_row_report_and_partial_is_201(people, residents):
    client = client_for(people.staff_a)
    good = valid_id_number("360502", date(1962, 1, 1), 75)
    data = csv_bytes(
        import_rows(
            ["甲", good, "", COMMUNITY_A], ["乙", ID_A, PHONE_A, COMMUNITY_A], ["丙", "1", "", ""]
        )
    )
    response = import_file(client, data, "x.csv")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "2 of 3 rows have problems; nothing was written"
    assert body["errors"][0] == {
        "row": 3,
        "column": "身份证号",
        "reason": f"a resident with ID number {residents[0].id_number_masked} is already registered",
    }
    assert {(item["row"], item["column"]) for item in body["errors"]} == {
        (3, "身份证号"),
        (4, "身份证号"),
        (4, "社区编码"),
    }
    no_clear_values(response)
    assert Resident.objects.count() == 2
    partial = import_file(client, data, "x.csv", partial="true")
    assert partial.status_code == 201
    assert (partial.json()["written"], partial.json()["bad_rows"]) == (1, 2)
    assert Resident.objects.count() == 3


@override_settings(WANGGE_RESIDENT_UPLOAD_MAX=1000)
def test_an_oversized_upload_is_413(people):
    data = csv_bytes(import_rows(*[["甲" * 20, "1" * 18, "", COMMUNITY_A]] * 40))
    response = import_file(client_for(people.staff_a), data, "big.csv")
    assert response.status_code == 413
    assert "larger than the limit of 1,000 bytes" in response.json()["detail"]


@pytest.mark.parametrize(
    ("data", "name"), [(b"PK\x03\x04 not a zip", "x.xlsx"), (b"%PDF-1.4", "x.pdf"), (b"", "x.csv")]
)
def test_a_malformed_upload_is_422(people, data, name):
    response = import_file(client_for(people.staff_a), data, name)
    assert response.status_code == 422


def test_readers_may_not_import_through_the_api(people):
    data = csv_bytes(import_rows(["甲", valid_id_number(), "", COMMUNITY_A]))
    assert import_file(client_for(people.inspector_a), data, "x.csv").status_code == 403
    assert Resident.objects.count() == 0


# --- households and care tags ---------------------------------------------------------------


def test_households_list_create_and_detail(people, residents):
    client = client_for(people.staff_a)
    listed = client.get(url("household-list")).json()
    assert [(h["number"], h["member_count"]) for h in listed["results"]] == [("A-1", 1)]
    created = client.post(
        url("household-list"), {"number": "A-2", "community": COMMUNITY_A}, format="json"
    )
    assert created.status_code == 201 and created.json()["members"] == []
    taken = client.post(
        url("household-list"), {"number": "A-2", "community": COMMUNITY_A}, format="json"
    )
    assert taken.status_code == 409
    household_id = listed["results"][0]["id"]
    detail = client.get(url("household-detail", household_id))
    assert [m["name"] for m in detail.json()["members"]] == ["张桂兰"]
    assert detail.json()["members"][0]["id_number"] == residents[0].id_number_masked
    no_clear_values(detail)


def test_care_tags_are_listed(people):
    tags = client_for(people.staff_a).get(url("care-tag-list")).json()
    assert {"code": "dibao", "name": "低保"} in tags
    assert len(tags) >= 7


# --- access matrix --------------------------------------------------------------------------


def reach(client, resident, household_id) -> dict[str, int]:
    """The status of every residents endpoint for one resident."""
    return {
        "detail": client.get(url("resident-detail", resident.pk)).status_code,
        "lookup": client.post(
            url("resident-lookup"),
            {"id_number": pii.decrypt(Resident.objects.get(pk=resident.pk).id_number_ciphertext)},
            format="json",
        ).status_code,
        "reveal": client.post(
            url("resident-reveal", resident.pk), {"field": "id_number", "purpose": "p"}
        ).status_code,
        "update": client.patch(
            url("resident-detail", resident.pk),
            {"updated_at": resident.updated_at.isoformat(), "address": "x"},
            format="json",
        ).status_code,
        "household": client.get(url("household-detail", household_id)).status_code,
    }


def listed_ids(client) -> set[int]:
    return {row["id"] for row in client.get(url("resident-list")).json()["results"]}


def test_staff_of_b_cannot_find_read_reveal_change_or_import_residents_of_a(people, residents):
    a, b = residents
    client = client_for(people.staff_b)
    assert listed_ids(client) == {b.pk}
    assert client.get(url("resident-list"), {"name": "张"}).json()["count"] == 0
    assert client.get(url("resident-list"), {"area": COMMUNITY_A}).json()["count"] == 0
    assert reach(client, a, a.household_id) == {
        "detail": 404,
        "lookup": 404,
        "reveal": 404,
        "update": 404,
        "household": 404,
    }
    assert client.get(url("household-list")).json()["count"] == 0
    into_a = import_file(
        client,
        csv_bytes(
            import_rows(["甲", valid_id_number("360502", date(1970, 1, 1), 91), "", COMMUNITY_A])
        ),
        "x.csv",
    )
    assert into_a.status_code == 422
    assert into_a.json()["errors"][0]["reason"] == (
        f"there is no community “{COMMUNITY_A}” in your areas"
    )
    created = client.post(
        url("resident-list"),
        {"name": "x", "id_number": valid_id_number(), "community": COMMUNITY_A},
        format="json",
    )
    assert created.status_code == 422
    assert PersonalDataAccess.objects.count() == 0
    assert Resident.objects.get(pk=a.pk).address == ""


def test_a_street_officer_sees_both_communities(people, residents):
    a, b = residents
    client = client_for(people.street)
    assert listed_ids(client) == {a.pk, b.pk}
    statuses = reach(client, a, a.household_id)
    assert statuses == {
        "detail": 200,
        "lookup": 200,
        "reveal": 200,
        "update": 200,
        "household": 200,
    }


def test_a_district_officer_of_360521_sees_neither(people, residents):
    a, b = residents
    client = client_for(people.district_other)
    assert listed_ids(client) == set()
    for resident in (a, b):
        assert set(reach(client, resident, a.household_id).values()) == {404}


def test_an_inspector_reads_masked_only(people, residents):
    a, b = residents
    client = client_for(people.inspector_a)
    assert listed_ids(client) == {a.pk}
    statuses = reach(client, a, a.household_id)
    assert statuses == {
        "detail": 200,
        "lookup": 200,
        "reveal": 403,
        "update": 403,
        "household": 200,
    }
    assert reach(client, b, a.household_id)["detail"] == 404
    assert PersonalDataAccess.objects.count() == 0


def test_nothing_clear_is_logged_by_the_api(people, residents, caplog):
    caplog.set_level(logging.DEBUG)
    a, _ = residents
    client = client_for(people.staff_a)
    client.post(url("resident-lookup"), {"id_number": ID_A}, format="json")
    client.post(url("resident-lookup"), {"id_number": ID_B}, format="json")  # 404, logged
    client.post(url("resident-reveal", a.pk), {"field": "id_number", "purpose": "核对"})
    client.post(url("resident-list"), {"name": "重复", "id_number": ID_A, "community": COMMUNITY_A})
    import_file(client, csv_bytes(import_rows(["乙", ID_A, PHONE_A, COMMUNITY_A])), "x.csv")
    assert "Not Found" in caplog.text or "Conflict" in caplog.text
    for clear in (ID_A, ID_B, PHONE_A):
        assert clear not in caplog.text
        assert clear not in json.dumps([str(record.args) for record in caplog.records])
