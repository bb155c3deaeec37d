"""Batch intake (casework.services.report.incidents_report_batch and POST
/api/casework/reports/batch): each report of a batch becomes the case incident_report would
make of it, a bad report is refused on its own, numbers come in blocks, external ids replay,
and the cost of a batch does not grow with its size."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from rest_framework.test import APIClient

from casework.models import Incident, IncidentEvent, Source
from casework.services.report import (
    CREATED,
    EXISTING,
    REJECTED,
    incident_report,
    incidents_report_batch,
)
from grid.errors import Forbidden, InvalidInput
from grid.models import Sequence
from grid.services.sequences import sequence_next, sequence_next_block
from tests.concurrency import at_once
from tests.fixtures.casework import (
    REPORT_CELL,
    build_report_world,
    catalogue_category,
    report_case,
)
from tests.fixtures.community import facility_category, make_facility

COMPONENT = "component"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
URL = "/api/casework/reports/batch"
# SquareCity spans 114.00–114.08 × 27.80–27.82; this is south-west of it, in no cell.
OUTSIDE = (113.95, 27.75)

# What a case is, besides its number and id: compared between a batch and single reports.
CASE_FIELDS = (
    "source",
    "category_id",
    "facility_id",
    "address",
    "description",
    "grid_cell_id",
    "area_code",
    "district_code",
    "chain",
    "reporter_id",
    "reporter_name",
    "reporter_phone_masked",
    "status",
    "tier",
    "holder_area_id",
    "department_id",
    "step",
    "step_started_at",
    "step_warn_at",
    "step_deadline",
    "escalation_count",
    "reported_at",
    "light",
)
EVENT_FIELDS = ("action", "from_status", "to_status", "actor_id", "role", "at", "note", "data")


def item(world, *, cell=REPORT_CELL, dx=0.0, dy=0.0, code="0102", kind="event", **fields):
    lon, lat = world.point(cell, dx, dy)
    return {
        "source": Source.INSPECTOR,
        "category": catalogue_category(code, kind).pk,
        "lon": lon,
        "lat": lat,
        "description": "路边有一堆暴露垃圾",
        **fields,
    }


def case_of(incident: Incident) -> tuple:
    incident = Incident.objects.get(pk=incident.pk)
    events = [
        tuple(getattr(event, name) for name in EVENT_FIELDS)
        for event in incident.events.order_by("id")
    ]
    return tuple(getattr(incident, name) for name in CASE_FIELDS), events


def cover(world, *, cell=REPORT_CELL, dx=0.0, code="0101"):
    from django.contrib.gis.geos import Point

    lon, lat = world.point(cell, dx)
    return make_facility(
        cell=world.area(cell),
        category=facility_category(code),
        location=Point(lon, lat, srid=4326),
    )


# --- the same cases as single reports ---------------------------------------------------------


def batches_of_every_kind(world, at) -> dict[str, list[dict]]:
    """Per reporter, reports covering the routing outcomes of the report world: the
    community's team, a rule-less default tier, three escalations, a named facility, the
    hotline, the unlocated queue, a reporter's phone."""
    facility = cover(world, dx=0.0003)
    return {
        "inspector-a": [
            item(world, at=at, address="胜利路 12 号"),
            item(world, cell="360502001001003", code="0401", at=at, description="路面塌陷"),
            item(world, code="0101", kind=COMPONENT, facility=facility.pk, at=at),
            item(world, cell="360502001001004", source=Source.STAFF, at=at),
        ],
        "inspector-b": [item(world, cell="360521001001001", at=at)],
        "city": [
            item(
                world,
                cell="360521001002004",
                source=Source.HOTLINE,
                at=at,
                reporter_name="王先生",
                reporter_phone="138-0013-5678",
            ),
            {**item(world, source=Source.STAFF, at=at), "lon": OUTSIDE[0], "lat": OUTSIDE[1]},
        ],
    }


def test_a_batch_makes_the_cases_single_reports_make(report_world):
    at = timezone.now() - timedelta(minutes=10)
    batches = batches_of_every_kind(report_world, at)
    single = {
        actor: [incident_report(actor=report_world.user(actor), **fields) for fields in batch]
        for actor, batch in batches.items()
    }
    batched = {
        actor: incidents_report_batch(actor=report_world.user(actor), reports=batch)
        for actor, batch in batches.items()
    }
    for actor, outcomes in batched.items():
        assert [outcome.status for outcome in outcomes] == [CREATED] * len(outcomes)
        for result, outcome in zip(single[actor], outcomes, strict=True):
            assert case_of(outcome.incident) == case_of(result.incident)
            # the same format, the next number of the same counter
            assert outcome.number[:10] == result.incident.number[:10]
            assert len(outcome.number) == len(result.incident.number)
    escalated = batched["inspector-b"][0].incident
    assert escalated.escalation_count == 3
    assert [event.action for event in escalated.events.order_by("id")] == [
        "reported",
        "escalated",
        "escalated",
        "escalated",
    ]
    unlocated = batched["city"][1].incident
    assert (unlocated.grid_cell_id, unlocated.area_code) == (None, "3605")
    assert unlocated.number[4:10] == "360500"
    assert batched["inspector-a"][2].incident.facility_id is not None
    assert (
        batched["inspector-a"][0].incident.department
        == (report_world.departments["community-a-huanwei"])
    )


def test_numbers_are_unique_and_consecutive_per_district(report_world):
    first = report_case(report_world).incident
    cells_a = [f"360502001001{seq:03d}" for seq in (1, 2, 3, 4)] * 3
    outcomes = incidents_report_batch(
        actor=report_world.user("city"),
        reports=[item(report_world, cell=cell, source=Source.STAFF) for cell in cells_a]
        + [item(report_world, cell="360521001001001", source=Source.STAFF)] * 2,
    )
    numbers = [outcome.number for outcome in outcomes]
    assert len(set(numbers)) == len(numbers)
    district_a = [int(number[-6:]) for number in numbers if number[4:10] == "360502"]
    assert district_a == list(range(int(first.number[-6:]) + 1, int(first.number[-6:]) + 13))
    assert [number[-6:] for number in numbers if number[4:10] == "360521"] == [
        "000001",
        "000002",
    ]
    after = report_case(report_world).incident
    assert int(after.number[-6:]) == district_a[-1] + 1


def test_a_block_of_numbers_is_reserved_in_one_go(db):
    assert sequence_next_block(key="block", count=5) == 1
    assert sequence_next(key="block") == 6
    assert sequence_next_block(key="block", count=3) == 7
    assert Sequence.objects.get(key="block").value == 9
    with pytest.raises(ValueError):
        sequence_next_block(key="block", count=0)


# --- refusals, one report at a time ----------------------------------------------------------


def test_a_bad_report_is_refused_and_the_good_ones_are_written(report_world):
    with translation.override("en"):
        outcomes = incidents_report_batch(
            actor=report_world.user("inspector-a"),
            reports=[
                item(report_world),
                {**item(report_world), "lon": 200, "lat": "north"},
                {**item(report_world), "category": 999_999},
                item(report_world, cell="360502001002001"),
                {**item(report_world), "lon": OUTSIDE[0], "lat": OUTSIDE[1]},
                "not a report",
                {"source": Source.INSPECTOR, "photos": []},
                item(report_world, cell="360502001001004"),
            ],
        )
    assert [outcome.status for outcome in outcomes] == [
        CREATED,
        REJECTED,
        REJECTED,
        REJECTED,
        REJECTED,
        REJECTED,
        REJECTED,
        CREATED,
    ]
    assert [outcome.index for outcome in outcomes] == list(range(8))
    bad_point, no_category, outside, unlocated, not_object, empty = outcomes[1:7]
    assert bad_point.http_status == 422
    assert set(bad_point.errors) == {"lon", "lat"}
    assert "between -180 and 180" in bad_point.errors["lon"]
    assert no_category.errors == {"category": "there is no category 999999"}
    assert (outside.http_status, outside.message) == (
        403,
        "the point lies in grid cell 360502001002001, outside your grid cells",
    )
    assert unlocated.http_status == 403
    assert "only city managers may file it" in unlocated.message
    assert not_object.http_status == 422
    assert set(empty.errors) == {"category", "lon", "lat", "description", "photos"}
    assert empty.errors["photos"] == "photos is not a field of a report"
    assert Incident.objects.count() == 2
    assert {outcome.number for outcome in outcomes if outcome.status == CREATED} == set(
        Incident.objects.values_list("number", flat=True)
    )


def test_each_refusal_is_the_one_a_single_report_gets(report_world):
    reports = [
        item(report_world, cell="360502001002001"),
        {**item(report_world), "source": "fax", "description": " "},
        item(report_world, code="0101", kind=COMPONENT, facility=cover(report_world).pk + 999),
    ]
    with translation.override("en"):
        outcomes = incidents_report_batch(actor=report_world.user("inspector-a"), reports=reports)
        for fields, outcome in zip(reports, outcomes, strict=True):
            with pytest.raises((Forbidden, InvalidInput)) as caught:
                incident_report(actor=report_world.user("inspector-a"), **fields)
            assert (outcome.http_status, outcome.message) == (
                caught.value.status,
                caught.value.message,
            )
    assert not Incident.objects.exists()


def test_a_district_officer_may_not_file_in_another_district(report_world):
    """The access matrix: district A's officer, a point in district B → that report 403."""
    with translation.override("en"):
        outcomes = incidents_report_batch(
            actor=report_world.user("district-a"),
            reports=[
                item(report_world, cell="360502001002004", source=Source.STAFF),
                item(report_world, cell="360521001001001", source=Source.STAFF),
            ],
        )
    assert [outcome.status for outcome in outcomes] == [CREATED, REJECTED]
    assert outcomes[1].http_status == 403
    assert "360521001001001, outside your areas" in outcomes[1].message
    assert list(Incident.objects.values_list("area_code", flat=True)) == ["360502001002004"]


def test_an_anonymous_reporter_may_not_file_a_batch(report_world):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Forbidden):
        incidents_report_batch(actor=AnonymousUser(), reports=[item(report_world)])
    assert not Incident.objects.exists()


def test_a_batch_over_the_limit_is_refused_whole(report_world, settings):
    settings.WANGGE_REPORT_BATCH_MAX = 3
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        incidents_report_batch(
            actor=report_world.user("inspector-a"), reports=[item(report_world)] * 4
        )
    assert caught.value.message == "a batch may carry at most 3 reports; got 4"
    assert not Incident.objects.exists()


# --- external ids ----------------------------------------------------------------------------


def test_external_ids_replay_across_batches_and_twice_in_one_is_refused(report_world):
    inspector = report_world.user("inspector-a")
    first = incidents_report_batch(
        actor=inspector,
        reports=[item(report_world, external_id="phone-1"), item(report_world, external_id="p-2")],
    )
    events = IncidentEvent.objects.count()
    report_case(report_world, actor="community-a", source=Source.STAFF, external_id="theirs")
    with translation.override("en"):
        again = incidents_report_batch(
            actor=inspector,
            reports=[
                item(report_world, external_id="phone-1", description="typed again"),
                item(report_world, external_id="phone-3"),
                item(report_world, external_id="phone-3"),
                item(report_world, external_id="theirs"),
            ],
        )
    assert [outcome.status for outcome in again] == [EXISTING, CREATED, REJECTED, REJECTED]
    assert again[0].number == first[0].number
    assert again[0].incident.pk == first[0].incident.pk
    assert Incident.objects.get(number=first[0].number).description == "路边有一堆暴露垃圾"
    assert (again[2].http_status, again[2].errors) == (
        409,
        {"external_id": "already in this batch"},
    )
    assert again[3].http_status == 409
    assert again[3].message == "the external id theirs belongs to another report"
    assert Incident.objects.count() == 4
    assert IncidentEvent.objects.count() == events + 2


# --- duplicates ------------------------------------------------------------------------------


def test_likely_duplicates_as_if_filed_one_after_another(report_world):
    earlier = report_case(report_world).incident
    far = report_case(report_world, cell="360502001001004").incident
    outcomes = incidents_report_batch(
        actor=report_world.user("inspector-a"),
        reports=[
            item(report_world, dx=0.0001),
            item(report_world, dx=0.0002),
            item(report_world, cell="360502001001003"),
            item(report_world, code="0401"),
        ],
    )
    first, second, elsewhere, other_category = outcomes
    assert first.duplicates == (earlier.number,)
    # the second sees the first of its batch (nearer) and the earlier case
    assert second.duplicates == (first.number, earlier.number)
    assert elsewhere.duplicates == ()
    assert other_category.duplicates == ()
    assert far.number not in first.duplicates
    replay = incidents_report_batch(
        actor=report_world.user("inspector-a"), reports=[item(report_world, external_id="x")]
    )[0]
    again = incidents_report_batch(
        actor=report_world.user("inspector-a"), reports=[item(report_world, external_id="x")]
    )[0]
    assert again.status == EXISTING
    assert set(again.duplicates) == {earlier.number, first.number, second.number}
    assert replay.number not in again.duplicates


def test_duplicates_are_only_those_the_reporter_may_see(report_world):
    # A case in cell 360502001002001 (not inspector-a's), 5 m from the east edge of their
    # cell 002, filed by district A's officer; the new reports 5 m on the other side.
    theirs = report_case(
        report_world,
        cell="360502001002001",
        dx=-0.00495,
        actor="district-a",
        source=Source.STAFF,
    ).incident
    near = item(report_world, cell="360502001001002", dx=0.00495, source=Source.STAFF)
    by_inspector = incidents_report_batch(actor=report_world.user("inspector-a"), reports=[near])
    by_officer = incidents_report_batch(actor=report_world.user("district-a"), reports=[near])
    assert by_inspector[0].status == by_officer[0].status == CREATED
    assert by_inspector[0].duplicates == ()
    assert theirs.number in by_officer[0].duplicates


# --- cost ------------------------------------------------------------------------------------

# Reads: categories, the actor's assignments, locate, rules, chain areas; in a savepoint (two
# statements): register limits, one counter per district, the cases, their events, the
# duplicates.
BATCH_QUERIES = 12


def test_a_batch_costs_the_same_queries_whatever_its_size(report_world):
    cells = [f"360502001001{seq:03d}" for seq in (1, 2, 3, 4)]
    inspector = report_world.user("inspector-a")
    incidents_report_batch(actor=inspector, reports=[item(report_world)])
    counts = {}
    for size in (2, 50):
        reports = [
            item(
                report_world,
                cell=cells[index % 4],
                dx=0.0001 * (index % 7),
                code=("0102", "0401", "0104")[index % 3],
                external_id=f"cost-{size}-{index}",
            )
            for index in range(size)
        ]
        with CaptureQueriesContext(connection) as queries:
            outcomes = incidents_report_batch(actor=inspector, reports=reports)
        assert [outcome.status for outcome in outcomes] == [CREATED] * size
        counts[size] = len(queries)
    # with external ids the ids seen before are read too: one more
    assert counts[50] == counts[2] <= BATCH_QUERIES + 1


# --- concurrency -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_batch_and_single_reports_at_once_take_unique_numbers(work_calendar):
    world = build_report_world()

    def batch():
        outcomes = incidents_report_batch(
            actor=world.user("inspector-a"),
            reports=[item(world, dx=0.0001 * index) for index in range(30)],
        )
        return [outcome.number for outcome in outcomes]

    def singles():
        return [report_case(world).incident.number for _ in range(10)]

    results = at_once(batch, singles, singles)
    assert not [result for result in results if isinstance(result, BaseException)], results
    numbers = [number for result in results for number in result]
    assert len(numbers) == 50 == len(set(numbers))
    assert sorted(int(number[-6:]) for number in numbers) == list(range(1, 51))
    assert Incident.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_a_batch_racing_a_report_with_the_same_external_id(work_calendar):
    world = build_report_world()
    for round_ in range(3):
        outcomes, result = at_once(
            lambda round_=round_: incidents_report_batch(
                actor=world.user("inspector-a"),
                reports=[
                    item(world, external_id=f"race-{round_}"),
                    item(world, external_id=f"other-{round_}"),
                ],
            ),
            lambda round_=round_: report_case(world, external_id=f"race-{round_}"),
        )
        assert isinstance(outcomes, list), outcomes
        assert [outcome.status for outcome in outcomes][1] == CREATED
        raced = outcomes[0]
        assert raced.incident.pk == result.incident.pk
        assert sorted([raced.status == CREATED, result.created]) == [False, True]
        assert Incident.objects.filter(external_id=f"race-{round_}").count() == 1


# --- the API ---------------------------------------------------------------------------------


def as_user(world, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.user(name))
    return client


def api_item(world, **fields) -> dict:
    fields = item(world, **fields)
    fields.pop("source")
    return fields


def test_the_batch_api_answers_each_report_in_order(report_world):
    outside = api_item(report_world, cell="360502001002001")
    answer = as_user(report_world, "inspector-a").post(
        URL,
        {
            "reports": [
                api_item(report_world, external_id="api-1"),
                {**api_item(report_world), "lon": "east"},
                outside,
                api_item(
                    report_world,
                    cell="360502001001002",
                    at=(timezone.now() - timedelta(hours=3)).isoformat(),
                ),
            ]
        },
        format="json",
        **EN,
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["created"], body["existing"], body["rejected"]) == (2, 0, 2)
    results = body["results"]
    assert [result["index"] for result in results] == [0, 1, 2, 3]
    assert [result["status"] for result in results] == [CREATED, REJECTED, REJECTED, CREATED]
    assert results[0]["number"] == Incident.objects.get(external_id="api-1").number
    assert results[0]["duplicates"] == []
    assert (results[1]["http_status"], list(results[1]["errors"])) == (422, ["lon"])
    assert results[2]["http_status"] == 403
    assert "outside your grid cells" in results[2]["message"]
    assert results[3]["number"] is not None
    queued = Incident.objects.get(number=results[3]["number"])
    assert queued.source == Source.INSPECTOR
    assert timezone.now() - queued.reported_at > timedelta(hours=2)
    again = as_user(report_world, "inspector-a").post(
        URL, {"reports": [api_item(report_world, external_id="api-1")]}, format="json"
    )
    assert again.json()["existing"] == 1
    assert again.json()["results"][0]["number"] == results[0]["number"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reports": "many"},
        {"reports": ["a report", 3]},
        [{"category": 1}],
    ],
)
def test_a_malformed_batch_is_refused(report_world, body):
    answer = as_user(report_world, "inspector-a").post(URL, body, format="json", **EN)
    assert answer.status_code == 422, answer.content
    assert answer.json()["detail"]
    assert not Incident.objects.exists()


def test_an_oversized_batch_is_refused_through_the_api(report_world, settings):
    settings.WANGGE_REPORT_BATCH_MAX = 2
    answer = as_user(report_world, "inspector-a").post(
        URL, {"reports": [api_item(report_world)] * 3}, format="json", **EN
    )
    assert answer.status_code == 422
    assert "at most 2 reports; got 3" in answer.json()["detail"]
    assert not Incident.objects.exists()


def test_the_batch_api_wants_a_signed_in_reporter(report_world):
    answer = APIClient().post(URL, {"reports": [api_item(report_world)]}, format="json")
    assert answer.status_code == 401
    assert not Incident.objects.exists()


def test_the_batch_api_keeps_the_access_matrix(report_world):
    answer = as_user(report_world, "district-a").post(
        URL,
        {
            "reports": [
                api_item(report_world, cell="360502001002004"),
                api_item(report_world, cell="360521001001001"),
            ]
        },
        format="json",
        **EN,
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [result["status"] for result in results] == [CREATED, REJECTED]
    assert results[1]["http_status"] == 403
    assert not Incident.objects.filter(area_code="360521001001001").exists()
