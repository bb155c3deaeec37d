"""The residents' counter pages: as HTML through the test client (masking, the ID lookup
that never reaches a URL, inline errors, the audited reveal, the access matrix), and in a
real headless Chromium at a counter: find by ID, reveal with a purpose, register."""

from datetime import date

import pytest
from django.urls import reverse

from community.models import PersonalDataAccess, Resident
from community.services.residents import household_create, resident_register
from tests.factories import SquareCity
from tests.fixtures.browser import login
from tests.fixtures.community import valid_id_number

from .resident_support import (
    COMMUNITY_A,
    COMMUNITY_B,
    PASSWORD,
    POINT_A_NW,
    make_people,
    seed_care_tags,
)

ID_A = valid_id_number("360502", date(1944, 8, 15), 51)
ID_B = valid_id_number("360502", date(1979, 11, 30), 52)
PHONE_A = "13611112222"


def build(city: SquareCity):
    seed_care_tags()
    people = make_people(city)
    household = household_create(actor=people.staff_a, number="A-7", location=POINT_A_NW)
    a = resident_register(
        actor=people.staff_a,
        name="赵淑芬",
        id_number=ID_A,
        phone=PHONE_A,
        location=POINT_A_NW,
        household=household,
        relation_to_head="户主",
        care_tags=["elderly_alone", "dibao"],
    )
    b = resident_register(
        actor=people.staff_b, name="钱卫东", id_number=ID_B, community=COMMUNITY_B
    )
    return people, a, b


@pytest.fixture
def world(square_city):
    return build(square_city)


def page_of(client, user, url, method="get", data=None, **headers):
    client.force_login(user)
    call = client.post if method == "post" else client.get
    return call(url, data or {}, HTTP_ACCEPT_LANGUAGE=headers.get("language", "en"))


def html(response) -> str:
    return response.content.decode()


def assert_masked(text: str) -> None:
    for clear in (ID_A, ID_B, PHONE_A):
        assert clear not in text


FIND = reverse("community:residents")
NEW = reverse("community:resident-new")


# --- find -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_find_page_is_chinese_by_default_with_the_id_field_focused(client, world):
    people, _a, _b = world
    client.force_login(people.staff_a)
    text = html(client.get(FIND))
    assert '<html lang="zh-hans">' in text
    assert 'name="id_number"' in text and "autofocus" in text.split('name="id_number"')[1][:400]
    assert 'method="post" action="/community/residents/"' in text


@pytest.mark.django_db
def test_an_id_lookup_redirects_to_a_url_without_the_number(client, world):
    people, a, _b = world
    response = page_of(client, people.staff_a, FIND, "post", {"id_number": ID_A.lower()})
    assert response.status_code == 302
    assert response["Location"] == reverse("community:resident", args=[a.pk])
    assert ID_A not in response["Location"] and ID_A[-4:] not in response["Location"]


@pytest.mark.django_db
def test_a_failed_lookup_says_so_masked_and_offers_to_register(client, world):
    people, _a, _b = world
    unknown = valid_id_number("360502", date(1999, 9, 9), 77)
    text = html(page_of(client, people.staff_a, FIND, "post", {"id_number": unknown}))
    assert "there is no resident with ID number 360502********" + unknown[-4:] in text
    assert 'name="prefill"' in text
    bad = html(page_of(client, people.staff_a, FIND, "post", {"id_number": unknown[:-1] + "Y"}))
    assert "an ID number is 17 digits followed by a digit or X" in bad
    assert 'aria-invalid="true"' in bad


@pytest.mark.django_db
def test_search_by_name_lists_masked_values(client, world):
    people, a, _b = world
    text = html(page_of(client, people.street, FIND + "?name=赵"))
    assert "赵淑芬" in text and a.id_number_masked in text and "136****2222" in text
    assert "独居老人" in text
    assert_masked(text)


# --- register -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_shows_every_problem_next_to_its_field(client, world):
    people, _a, _b = world
    client.force_login(people.staff_a)
    bad = ID_B[:-1] + ("0" if ID_B[-1] != "0" else "1")
    response = client.post(
        NEW,
        {"name": "", "id_number": bad, "phone": "12", "community": COMMUNITY_A},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    text = html(response)
    assert response.status_code == 200
    assert "Please correct 3 fields." in text
    assert '<p class="field-error" id="id_name-error">the name is required</p>' in text
    assert f"should be {ID_B[-1]}: a digit is wrong" in text
    assert "a mobile number has 11 digits; this one has 2" in text
    assert Resident.objects.count() == 2


@pytest.mark.django_db
def test_register_a_duplicate_links_to_the_registered_resident(client, world):
    people, a, _b = world
    client.force_login(people.staff_a)
    text = html(
        client.post(
            NEW,
            {"name": "重复", "id_number": ID_A, "community": COMMUNITY_A},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    )
    assert f"a resident with ID number {a.id_number_masked} is already registered" in text
    assert reverse("community:resident", args=[a.pk]) in text


@pytest.mark.django_db
def test_register_then_land_on_the_new_residents_page(client, world):
    people, _a, _b = world
    new_id = valid_id_number("360502", date(2010, 6, 1), 81)
    client.force_login(people.staff_a)
    response = client.post(
        NEW,
        {
            "name": "孙小雨",
            "id_number": new_id,
            "community": COMMUNITY_A,
            "household": "A-7",
            "relation_to_head": "孙女",
            "care_tags": ["left_behind_child"],
        },
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    resident = Resident.objects.get(name="孙小雨")
    assert response.redirect_chain[-1][0] == reverse("community:resident", args=[resident.pk])
    text = html(response)
    assert "is registered" in text and resident.id_number_masked in text
    assert new_id not in text
    assert resident.household.number == "A-7"


@pytest.mark.django_db
def test_the_prefill_post_fills_the_id_without_errors(client, world):
    people, _a, _b = world
    unknown = valid_id_number("360502", date(1999, 9, 9), 77)
    client.force_login(people.staff_a)
    text = html(client.post(NEW, {"prefill": "1", "id_number": unknown}))
    assert f'value="{unknown}"' in text
    assert "field-error" not in text


@pytest.mark.django_db
def test_readers_may_not_open_the_register_page(client, world):
    people, _a, _b = world
    assert page_of(client, people.inspector_a, NEW).status_code == 403
    assert page_of(client, people.handler, NEW).status_code == 403


# --- resident and household pages -----------------------------------------------------------


@pytest.mark.django_db
def test_the_resident_page_is_masked_with_a_reveal_button_for_keepers(client, world):
    people, a, _b = world
    page = reverse("community:resident", args=[a.pk])
    staff = page_of(client, people.staff_a, page)
    text = html(staff)
    assert a.id_number_masked in text and "136****2222" in text and "独居老人" in text
    assert 'id="reveal-id"' in text and 'id="reveal-phone"' in text
    assert "no-store" in staff["Cache-Control"]
    assert_masked(text)
    inspector = html(page_of(client, people.inspector_a, page))
    assert a.id_number_masked in inspector
    assert 'id="reveal-id"' not in inspector
    assert "Your role sees masked ID and phone numbers only." in inspector


@pytest.mark.django_db
def test_a_reveal_shows_the_value_once_and_records_it(client, world):
    people, a, _b = world
    reveal = reverse("community:resident-reveal", args=[a.pk])
    response = page_of(
        client, people.staff_a, reveal, "post", {"field": "id_number", "purpose": "核验身份"}
    )
    text = html(response)
    assert f'<p class="full-value mono" id="revealed-value">{ID_A}</p>' in text
    assert "no-store" in response["Cache-Control"]
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.field, access.purpose) == (people.staff_a, "id_number", "核验身份")
    # the resident's page itself shows the masked value again
    assert ID_A not in html(
        page_of(client, people.staff_a, reverse("community:resident", args=[a.pk]))
    )


@pytest.mark.django_db
def test_a_reveal_without_purpose_is_refused_inline(client, world):
    people, a, _b = world
    reveal = reverse("community:resident-reveal", args=[a.pk])
    text = html(
        page_of(client, people.staff_a, reveal, "post", {"field": "id_number", "purpose": ""})
    )
    assert "say why the full number is needed" in text
    assert_masked(text)
    assert PersonalDataAccess.objects.count() == 0


@pytest.mark.django_db
def test_readers_get_403_on_reveal_and_nothing_is_recorded(client, world):
    people, a, _b = world
    reveal = reverse("community:resident-reveal", args=[a.pk])
    for reader in (people.inspector_a, people.handler):
        response = page_of(client, reader, reveal, "post", {"field": "id_number", "purpose": "x"})
        assert response.status_code == 403
        assert_masked(html(response))
    assert PersonalDataAccess.objects.count() == 0


@pytest.mark.django_db
def test_the_household_page_lists_members_masked_head_first(client, world):
    people, a, _b = world
    resident_register(
        actor=people.staff_a,
        name="赵小宝",
        id_number=valid_id_number("360502", date(2015, 1, 1), 83),
        community=COMMUNITY_A,
        household="A-7",
        relation_to_head="孙子",
    )
    text = html(
        page_of(client, people.staff_a, reverse("community:household", args=[a.household_id]))
    )
    assert text.index("赵淑芬") < text.index("赵小宝")
    assert a.id_number_masked in text
    assert_masked(text)


# --- access matrix --------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_of_b_cannot_find_or_read_residents_of_a_on_any_page(client, world):
    people, a, _b = world
    client.force_login(people.staff_b)
    assert "赵淑芬" not in html(client.get(FIND + "?name=赵"))
    lookup = client.post(FIND, {"id_number": ID_A}, HTTP_ACCEPT_LANGUAGE="en")
    assert lookup.status_code == 200 and "there is no resident with ID number" in html(lookup)
    assert client.get(reverse("community:resident", args=[a.pk])).status_code == 404
    assert client.get(reverse("community:household", args=[a.household_id])).status_code == 404
    reveal = client.post(
        reverse("community:resident-reveal", args=[a.pk]), {"field": "id_number", "purpose": "x"}
    )
    assert reveal.status_code == 404
    assert PersonalDataAccess.objects.count() == 0
    register = client.post(
        NEW,
        {"name": "x", "id_number": valid_id_number(), "community": COMMUNITY_A},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Select a valid choice" in html(register)  # A is not among B's communities
    assert Resident.objects.count() == 2


@pytest.mark.django_db
def test_a_district_officer_of_360521_reaches_neither(client, world):
    people, a, b = world
    client.force_login(people.district_other)
    for resident in (a, b):
        assert client.get(reverse("community:resident", args=[resident.pk])).status_code == 404
    lookup = client.post(FIND, {"id_number": ID_B}, HTTP_ACCEPT_LANGUAGE="en")
    assert "there is no resident" in html(lookup)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    for url in (FIND, NEW, reverse("community:resident", args=[world[1].pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- in a real browser ----------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_counter_staff_find_reveal_and_register_in_chromium(page, live_server, browser_log):
    _people, a, _b = build(SquareCity().build())
    login(page, live_server, "staff-a", PASSWORD, next_url=FIND)
    assert page.url == live_server.url + FIND
    # The ID field has the focus: the number is typed and Enter pressed, nothing else.
    page.keyboard.type(ID_A)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url + reverse("community:resident", args=[a.pk])
    assert page.inner_text("h1").startswith("赵淑芬")
    assert page.inner_text("#id-number-masked") == a.id_number_masked
    assert not any(ID_A in url or ID_A.lower() in url for url in browser_log.requests)

    # Reveal: open the panel, the purpose field takes the focus, Enter submits.
    page.click("#reveal-id summary")
    # The details element's toggle event, which moves the focus, comes in a task of its own.
    page.wait_for_function("document.activeElement.id === 'purpose-id_number'", timeout=5000)
    assert page.evaluate("document.activeElement.id") == "purpose-id_number"
    page.keyboard.type("核验身份办理高龄津贴")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("#revealed-value") == ID_A
    assert ID_A not in page.url
    access = PersonalDataAccess.objects.get()
    assert (access.user.username, access.field, access.purpose) == (
        "staff-a",
        "id_number",
        "核验身份办理高龄津贴",
    )

    # Register: an invalid ID number first (the error is shown by the field), then a valid one.
    page.goto(live_server.url + NEW)
    assert page.evaluate("document.activeElement.id") == "id_name"
    new_id = valid_id_number("360502", date(2012, 3, 4), 85)
    wrong = new_id[:-1] + ("0" if new_id[-1] != "0" else "1")
    page.fill("#id_name", "周子涵")
    page.fill("#id_id_number", wrong)
    page.select_option("#id_community", COMMUNITY_A)
    page.check("input[name=care_tags][value=left_behind_child]")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert page.is_visible("#id_id_number-error")
    assert new_id[-1] in page.inner_text("#id_id_number-error")
    assert page.get_attribute("#id_id_number", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "id_id_number"
    assert Resident.objects.count() == 2
    page.fill("#id_id_number", new_id)
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    created = Resident.objects.get(name="周子涵")
    assert page.url == live_server.url + reverse("community:resident", args=[created.pk])
    assert page.inner_text("#id-number-masked") == created.id_number_masked
    assert page.is_visible(".messages li")
    assert list(created.care_tags.values_list("code", flat=True)) == ["left_behind_child"]
    assert not any(new_id in url for url in browser_log.requests)
    browser_log.assert_all_local()
