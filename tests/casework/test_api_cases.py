"""Cases API reads: the list with its filters and deadline order, "my queue" per role, one case
with history, photos, moves, chain, facility and duplicates, the category catalogue, the
facilities near a point, and the protected photo endpoint. Cases are written straight into the
tables (tests.fixtures.casework.make_case), so only the reads are under test here."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from casework.models import IncidentEvent, PhotoStage, Source, Status
from grid.models import AreaLevel
from tests.fixtures.casework import jpeg_bytes, make_case, make_event, make_photo
from tests.fixtures.community import cell_point, make_facility

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
CELL_A = "360502001001001"
CELL_A2 = "360502001001002"
CELL_A_OTHER_COMMUNITY = "360502001002001"
CELL_B = "360521001001001"


def as_user(world, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.user(name))
    return client


def numbers(answer) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [row["number"] for row in answer.json()["results"]]


def listed(world, name: str, **params) -> list[str]:
    return numbers(as_user(world, name).get("/api/casework/cases", params, **EN))


# --- the list -------------------------------------------------------------------------------


def test_the_list_is_scoped_and_most_urgent_deadline_first(case_world):
    now = timezone.now()
    later = make_case(case_world, step_deadline=now + timedelta(hours=3))
    sooner = make_case(case_world, cell=CELL_A2, step_deadline=now + timedelta(hours=1))
    no_clock = make_case(case_world, status=Status.CHECKED)
    in_b = make_case(case_world, cell=CELL_B, step_deadline=now + timedelta(minutes=5))

    assert listed(case_world, "district-a") == [sooner.number, later.number, no_clock.number]
    assert listed(case_world, "district-b") == [in_b.number]
    assert listed(case_world, "city") == [
        in_b.number,
        sooner.number,
        later.number,
        no_clock.number,
    ]
    assert listed(case_world, "nobody") == []
    assert listed(case_world, "district-a", ordering="-reported_at")[0] in {
        later.number,
        sooner.number,
        no_clock.number,
    }
    by_number = listed(case_world, "district-a", ordering="number")
    assert by_number == sorted(by_number)


def test_the_list_filters(case_world):
    now = timezone.now()
    red = make_case(
        case_world,
        step_warn_at=now - timedelta(hours=2),
        step_deadline=now - timedelta(hours=1),
    )
    yellow = make_case(
        case_world,
        cell=CELL_A2,
        status=Status.DISPATCHED,
        department=case_world.departments["a"],
        tier=AreaLevel.DISTRICT,
        step_warn_at=now - timedelta(minutes=10),
        step_deadline=now + timedelta(hours=1),
        source=Source.HOTLINE,
    )
    green = make_case(
        case_world,
        cell=CELL_A_OTHER_COMMUNITY,
        category=case_world.component,
        step_warn_at=now + timedelta(hours=1),
        step_deadline=now + timedelta(hours=2),
        reported_at=now - timedelta(days=3),
    )
    closed = make_case(case_world, status=Status.CLOSED)
    unlocated = make_case(case_world, cell=None)

    def only(**params):
        return set(listed(case_world, "city", **params))

    assert only(light="red") == {red.number}
    assert only(light="yellow") == {yellow.number}
    assert only(light="green") == {green.number, unlocated.number}
    assert only(status="closed") == {closed.number}
    assert only(category="0101") == {green.number}
    assert only(kind="component") == {green.number}
    assert only(category="0102", kind="event") == {
        red.number,
        yellow.number,
        closed.number,
        unlocated.number,
    }
    assert only(area="360502001002") == {green.number}
    assert only(area="360502001001") == {red.number, yellow.number, closed.number}
    assert only(source="hotline") == {yellow.number}
    three_days_ago = (timezone.localtime(now) - timedelta(days=3)).date()
    assert only(reported_from=three_days_ago, reported_to=three_days_ago) == {green.number}
    assert green.number not in only(reported_from=three_days_ago + timedelta(days=1))
    assert only(tier=AreaLevel.DISTRICT) == {yellow.number}
    assert only(department=case_world.departments["a"].pk) == {yellow.number}
    assert only(unlocated="true") == {unlocated.number}
    yellow.assignee = case_world.user("handler-a")
    yellow.save(update_fields=["assignee"])
    assert only(assignee=case_world.user("handler-a").pk) == {yellow.number}
    assert unlocated.number not in only(unlocated="false")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"light": "blue"}, "light"),
        ({"status": "lost"}, "status"),
        ({"area": "36x5"}, "area"),
        ({"reported_from": "2026-05-02", "reported_to": "2026-05-01"}, "reported_to"),
        ({"reported_from": "yesterday"}, "reported_from"),
        ({"ordering": "random"}, "ordering"),
        ({"tier": "5"}, "tier"),
    ],
)
def test_wrong_filters_are_422_naming_the_field(case_world, params, field):
    answer = as_user(case_world, "city").get("/api/casework/cases", params, **EN)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid"
    assert field in body["errors"]
    assert field in body["detail"]


def test_list_rows_carry_what_a_queue_shows(case_world):
    now = timezone.now()
    case = make_case(
        case_world,
        status=Status.DISPATCHED,
        department=case_world.departments["a"],
        step_warn_at=now - timedelta(minutes=1),
        step_deadline=now + timedelta(hours=1),
    )
    row = as_user(case_world, "district-a").get("/api/casework/cases", **EN).json()["results"][0]
    assert row["number"] == case.number
    assert row["url"] == f"/api/casework/cases/{case.number}"
    assert (row["light"], row["light_label"]) == ("yellow", "due soon")
    assert row["status_label"] == "dispatched"
    assert row["category"]["code"] == "0102" and row["category"]["names_facility"] is False
    assert row["department"] == {"id": case_world.departments["a"].pk, "name": "渝水区城管局"}
    assert row["holder_area"] == {"code": "360502001", "name": "城南街道"}
    assert row["unlocated"] is False and row["area_code"] == CELL_A
    assert row["location"]["lon"] == pytest.approx(114.005)
    assert row["location"]["lat"] == pytest.approx(27.815)


def test_the_list_reads_the_same_few_times_for_more_rows(case_world, django_assert_max_num_queries):
    client = as_user(case_world, "district-a")
    for _ in range(2):
        make_case(case_world, status=Status.DISPATCHED, department=case_world.departments["a"])
    with django_assert_max_num_queries(10) as few:
        client.get("/api/casework/cases")
        client.get("/api/casework/queue")
    for _ in range(10):
        make_case(case_world, status=Status.DISPATCHED, department=case_world.departments["a"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(numbers(client.get("/api/casework/cases"))) == 12
        client.get("/api/casework/queue")


# --- my queue -------------------------------------------------------------------------------


def queue(world, name: str, **params) -> list[str]:
    return numbers(as_user(world, name).get("/api/casework/queue", params, **EN))


def test_my_queue_per_role(case_world):
    now = timezone.now()
    street_new = make_case(case_world, step_deadline=now + timedelta(hours=2))
    street_registered = make_case(
        case_world, status=Status.REGISTERED, step_deadline=now + timedelta(hours=1)
    )
    street_checked = make_case(case_world, status=Status.CHECKED)
    dispatched_a = make_case(
        case_world, status=Status.DISPATCHED, department=case_world.departments["a"]
    )
    extension = make_case(
        case_world,
        status=Status.IN_PROGRESS,
        department=case_world.departments["a"],
        extension_requested=True,
    )
    handled_a = make_case(case_world, status=Status.HANDLED, department=case_world.departments["a"])
    handled_other_cell = make_case(
        case_world, cell=CELL_A2, status=Status.HANDLED, department=case_world.departments["a"]
    )
    community_case = make_case(case_world, tier=AreaLevel.COMMUNITY)
    district_case = make_case(case_world, tier=AreaLevel.DISTRICT, status=Status.ACCEPTED)
    own_report = make_case(
        case_world,
        cell=CELL_A2,
        status=Status.DISPATCHED,
        department=case_world.departments["a-housing"],
        reporter=case_world.user("inspector-a"),
    )
    unlocated = make_case(case_world, cell=None)
    make_case(case_world, status=Status.CLOSED, reporter=case_world.user("inspector-a"))
    in_b = make_case(case_world, cell=CELL_B, tier=AreaLevel.DISTRICT)

    assert queue(case_world, "street-a") == [
        street_registered.number,
        street_new.number,
        street_checked.number,
        extension.number,
    ]
    assert queue(case_world, "community-a") == [community_case.number]
    assert queue(case_world, "district-a") == [district_case.number]
    assert queue(case_world, "district-b") == [in_b.number]
    assert queue(case_world, "city") == [unlocated.number]
    assert set(queue(case_world, "handler-a")) == {dispatched_a.number, extension.number}
    assert queue(case_world, "handler-a-housing") == [own_report.number]
    assert set(queue(case_world, "inspector-a")) == {handled_a.number, own_report.number}
    assert handled_other_cell.number not in queue(case_world, "inspector-a")
    assert queue(case_world, "nobody") == []

    rows = as_user(case_world, "street-a").get("/api/casework/queue", **EN).json()["results"]
    moves = {row["number"]: row["moves"] for row in rows}
    assert moves[street_new.number] == ["accept", "void", "escalate", "merge"]
    assert moves[street_registered.number] == ["dispatch", "escalate", "merge"]
    assert moves[street_checked.number] == ["close"]
    assert moves[extension.number] == [
        "approve_extension",
        "reject_extension",
        "park",
        "merge",
    ]
    handler_rows = as_user(case_world, "handler-a").get("/api/casework/queue", **EN).json()
    handler_moves = {row["number"]: row["moves"] for row in handler_rows["results"]}
    assert handler_moves[dispatched_a.number] == ["start", "return"]
    # An extension is already asked for: it is not offered again.
    assert handler_moves[extension.number] == ["return", "handle"]


def test_queue_light_filter(case_world):
    now = timezone.now()
    red = make_case(case_world, step_deadline=now - timedelta(minutes=1))
    make_case(case_world, step_deadline=now + timedelta(hours=5))
    assert queue(case_world, "street-a", light="red") == [red.number]
    assert as_user(case_world, "street-a").get(
        "/api/casework/queue", {"light": "x"}
    ).status_code == (422)


# --- one case -------------------------------------------------------------------------------


def test_detail_with_history_photos_moves_chain_facility_and_duplicates(case_world, media):
    facility = make_facility(
        cell=case_world.area(CELL_A),
        category=case_world.facility_category,
        name="人民路1号井盖",
    )
    earlier = make_case(
        case_world,
        category=case_world.component,
        reported_at=timezone.now() - timedelta(hours=5),
    )
    case = make_case(
        case_world,
        category=case_world.component,
        status=Status.REGISTERED,
        facility=facility,
        reporter=case_world.user("inspector-a"),
    )
    merged = make_case(case_world, category=case_world.component, status=Status.CLOSED)
    merged.duplicate_of = case
    merged.save(update_fields=["duplicate_of"])
    event = make_event(
        case, action="reported", to_status=Status.REPORTED, actor=case_world.user("inspector-a")
    )
    make_event(case, action="register", to_status=Status.REGISTERED, note="立案")
    photo = make_photo(case, user=case_world.user("inspector-a"))
    photo.event = event
    photo.save(update_fields=["event"])

    answer = as_user(case_world, "street-a").get(f"/api/casework/cases/{case.number}", **EN)
    assert answer.status_code == 200
    body = answer.json()
    assert body["number"] == case.number
    assert body["status"] == "registered"
    assert body["chain"]["district"] == {"code": "360502", "name": "渝水区"}
    assert body["chain"]["cell"]["code"] == CELL_A
    assert body["grid_cell"] == CELL_A
    assert body["facility"]["code"] == facility.code
    assert body["facility"]["state_label"] == "intact"
    assert body["reporter"] == "inspector-a"
    assert [(e["action"], e["action_label"]) for e in body["history"]] == [
        ("reported", "reported"),
        ("register", "register"),
    ]
    assert body["history"][1]["note"] == "立案"
    assert body["photos"] == [
        {
            "id": photo.pk,
            "stage": "report",
            "stage_label": "as reported",
            "url": f"/api/casework/photos/{photo.pk}",
            "content_type": "image/jpeg",
            "width": 64,
            "height": 48,
            "size": photo.size,
            "event": event.pk,
            "uploaded_at": body["photos"][0]["uploaded_at"],
        }
    ]
    assert [(m["name"], m["parts"], m["arguments"]) for m in body["moves"]] == [
        ("dispatch", ["dispatcher"], ["department_id"]),
        ("escalate", ["dispatcher"], ["reason"]),
        ("merge", ["dispatcher"], ["into_id"]),
    ]
    assert body["moves"][0]["url"] == f"/api/casework/cases/{case.number}/dispatch"
    assert body["duplicates"]["merged_into"] is None
    assert [c["number"] for c in body["duplicates"]["merged"]] == [merged.number]
    assert [c["number"] for c in body["duplicates"]["likely"]] == [earlier.number]

    merged_body = as_user(case_world, "street-a").get(f"/api/casework/cases/{merged.number}", **EN)
    assert merged_body.json()["duplicates"]["merged_into"]["number"] == case.number
    assert merged_body.json()["moves"] == []


def test_moves_follow_the_part_the_reader_plays(case_world):
    case = make_case(case_world, status=Status.HANDLED, department=case_world.departments["a"])

    def moves(name):
        answer = as_user(case_world, name).get(f"/api/casework/cases/{case.number}", **EN)
        return [(m["name"], m["parts"]) for m in answer.json()["moves"]]

    assert moves("inspector-a") == [("check_pass", ["inspector"]), ("check_fail", ["inspector"])]
    assert moves("handler-a") == []
    assert moves("street-a") == []
    # District officers see the street's case but do not dispatch for the street.
    assert moves("district-a") == []


# --- the report form's helpers --------------------------------------------------------------


def test_categories_for_the_report_form(case_world):
    client = as_user(case_world, "inspector-a")
    rows = client.get("/api/casework/categories", {"page_size": 1000}, **EN).json()["results"]
    mine = {(row["kind"], row["code"], row["scheme"]): row for row in rows}
    cover = mine[("component", "0101", "test-4")]
    assert cover["name"] == "上水井盖" and cover["names_facility"] is True
    assert mine[("event", "0102", "test-4")]["names_facility"] is False
    events = client.get("/api/casework/categories", {"kind": "event"}).json()["results"]
    assert events and {row["kind"] for row in events} == {"event"}
    found = client.get("/api/casework/categories", {"q": "井盖"}).json()["results"]
    assert found and all("井盖" in row["name"] or "井盖" in row["major_name"] for row in found)
    assert client.get("/api/casework/categories", {"kind": "thing"}).status_code == 422


def test_facilities_near_a_point_in_the_readers_areas(case_world):
    cell_a, cell_b = case_world.area(CELL_A), case_world.area(CELL_B)
    near = make_facility(cell=cell_a, category=case_world.facility_category, name="近")
    farther = make_facility(
        cell=cell_a,
        category=case_world.facility_category,
        location=cell_point(cell_a, dx=0.0003),
        name="远",
    )
    make_facility(
        cell=cell_a, category=case_world.facility_category, location=cell_point(cell_a, dx=0.004)
    )
    make_facility(cell=cell_b, category=case_world.facility_category)
    point = cell_point(cell_a)
    params = {"lon": point.x, "lat": point.y, "category": case_world.component.pk}

    rows = as_user(case_world, "inspector-a").get("/api/casework/facilities-near", params).json()
    assert [row["id"] for row in rows] == [near.pk, farther.pk]
    assert rows[0]["distance_m"] == pytest.approx(0, abs=0.5)
    assert 25 < rows[1]["distance_m"] < 35
    assert rows[1]["state"] == "intact"
    # District B's officer sees none of district A's facilities.
    b_rows = as_user(case_world, "district-b").get("/api/casework/facilities-near", params)
    assert b_rows.json() == []

    event = {**params, "category": case_world.event.pk}
    answer = as_user(case_world, "inspector-a").get("/api/casework/facilities-near", event, **EN)
    assert answer.status_code == 422 and "names no facility" in answer.json()["detail"]
    missing = as_user(case_world, "inspector-a").get(
        "/api/casework/facilities-near", {"lon": 114.0}, **EN
    )
    assert missing.status_code == 422
    assert {"lat", "category"} <= set(missing.json()["errors"])


# --- photos ---------------------------------------------------------------------------------


def test_the_photo_endpoint_serves_the_stored_file_privately(case_world, media):
    case = make_case(case_world)
    data = jpeg_bytes(80, 60)
    photo = make_photo(case, data=data, stage=PhotoStage.REPORT)

    answer = as_user(case_world, "street-a").get(
        f"/api/casework/photos/{photo.pk}", HTTP_ACCEPT="image/avif,image/webp,*/*"
    )
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/jpeg"
    assert answer["Cache-Control"].startswith("private")
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Content-Length"] == str(len(data))
    assert b"".join(answer.streaming_content) == data
    # The stored name is random and nothing of it leaks into the answer.
    assert photo.image.name.split("/")[-1] not in answer.get("Content-Disposition", "")

    for name in ("district-b", "inspector-b", "nobody"):
        refused = as_user(case_world, name).get(f"/api/casework/photos/{photo.pk}", **EN)
        assert refused.status_code == 404, name
        assert refused["Content-Type"] == "application/json"
    assert as_user(case_world, "city").get(
        f"/api/casework/photos/{photo.pk + 1000}"
    ).status_code == (404)
    assert APIClient().get(f"/api/casework/photos/{photo.pk}").status_code == 401


def test_history_of_a_case_lists_its_events_in_order(case_world):
    case = make_case(case_world)
    first = make_event(case, action="reported", to_status=Status.REPORTED)
    second = make_event(case, action="accept", to_status=Status.ACCEPTED)
    IncidentEvent.objects.filter(pk=first.pk).update(at=timezone.now() - timedelta(minutes=5))
    history = (
        as_user(case_world, "street-a").get(f"/api/casework/cases/{case.number}").json()["history"]
    )
    assert [event["id"] for event in history] == [first.pk, second.pk]
    assert history[0]["actor"] is None


def test_reported_dates_are_local_days(case_world):
    # 00:30 on 2 May in Shanghai is still 1 May in UTC: it counts on 2 May.
    moment = timezone.make_aware(timezone.datetime(2026, 5, 2, 0, 30))
    case = make_case(case_world, reported_at=moment)
    assert listed(
        case_world, "city", reported_from=date(2026, 5, 2), reported_to=date(2026, 5, 2)
    ) == [case.number]
    assert listed(case_world, "city", reported_to=date(2026, 5, 1)) == []
