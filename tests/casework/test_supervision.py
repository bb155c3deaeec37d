"""Supervision (督办): the scan that turns the lights of open cases, records the changes for
the worse once per case × step × round × level, and notifies the holder and, for red, the
tier above. Cases are written straight into the table (tests.fixtures.casework.make_case)
with their clocks; the scan is given the moment it runs at."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from casework.deadlines import step_clock
from casework.models import (
    CLOCKED_STATES,
    Incident,
    IncidentEvent,
    Light,
    Status,
    SupervisionRecord,
)
from casework.services.supervision import (
    KIND_RED,
    KIND_SUPERVISION,
    KIND_YELLOW,
    case_path,
    supervision_scan,
)
from casework.transitions import STEP_OF_STATE
from grid.models import AreaLevel, Assignment, Notification
from tests.fixtures.casework import make_case

NOW = timezone.make_aware(datetime(2026, 3, 10, 15, 0))
MINUTE = timedelta(minutes=1)


def clocked(world, *, warn_in: timedelta, due_in: timedelta, now=NOW, **fields) -> Incident:
    """A case whose yellow light comes `warn_in` after `now` and deadline `due_in` after it
    (negative: already past)."""
    fields.setdefault("status", Status.REGISTERED)
    return make_case(
        world,
        reported_at=now - timedelta(hours=3),
        step_warn_at=now + warn_in,
        step_deadline=now + due_in,
        **fields,
    )


def notified(incident: Incident) -> dict[str, str]:
    """username → kind of the notifications about this case."""
    rows = Notification.objects.filter(link=case_path(incident.number)).values_list(
        "user__username", "kind"
    )
    names = [name for name, _kind in rows]
    assert len(names) == len(set(names)), f"someone was notified twice: {names}"
    return dict(rows)


def light_of(incident: Incident) -> str:
    return Incident.objects.values_list("light", flat=True).get(pk=incident.pk)


def records(incident: Incident) -> list[tuple]:
    return list(
        SupervisionRecord.objects.filter(incident=incident)
        .order_by("recorded_at", "level")
        .values_list("step", "step_round", "level", "supervising_area__code")
    )


# ---------------------------------------------------------------- the lights


def test_the_clocked_states_are_those_with_a_step(db):
    assert sorted(CLOCKED_STATES) == sorted(str(state) for state in STEP_OF_STATE)


def test_yellow_at_the_warning_and_red_only_after_the_deadline(case_world):
    """light_at's rule: yellow from warn_at (included), red after the deadline (the deadline
    itself is still yellow)."""
    case = clocked(case_world, warn_in=MINUTE, due_in=2 * MINUTE)

    assert supervision_scan(now=NOW + MINUTE - timedelta(microseconds=1)).changed == 0
    assert light_of(case) == Light.GREEN

    assert supervision_scan(now=NOW + MINUTE).yellow == 1
    assert light_of(case) == Light.YELLOW

    assert supervision_scan(now=NOW + 2 * MINUTE).changed == 0
    assert light_of(case) == Light.YELLOW

    result = supervision_scan(now=NOW + 2 * MINUTE + timedelta(microseconds=1))
    assert (result.changed, result.yellow, result.red) == (1, 0, 1)
    assert light_of(case) == Light.RED
    assert records(case) == [
        ("dispatch", 0, "yellow", None),
        ("dispatch", 0, "red", "360502"),
    ]


def test_across_the_80_percent_boundary_of_a_working_time_clock(case_world, work_calendar):
    """Two working hours of registration started at 11:00 on a working day run 11:00–12:00
    and 13:30–14:30; 80 % (96 minutes) is used at 14:06, after the lunch break."""
    day = work_calendar.next_workday(date(2026, 3, 9))
    started = timezone.make_aware(datetime.combine(day, time(11, 0)))
    limit = case_world.event.deadlines.get(step="register")
    clock = step_clock(limit=limit, started_at=started, calendar=work_calendar)
    local = timezone.localtime
    assert (local(clock.warn_at).time(), local(clock.deadline).time()) == (
        time(14, 6),
        time(14, 30),
    )
    case = make_case(
        case_world,
        status=Status.REPORTED,
        reported_at=started,
        step_warn_at=clock.warn_at,
        step_deadline=clock.deadline,
    )

    lights = []
    for moment in (time(12, 0), time(14, 5, 59), time(14, 6), time(14, 30), time(14, 30, 1)):
        supervision_scan(now=timezone.make_aware(datetime.combine(day, moment)))
        lights.append(light_of(case))

    assert lights == ["green", "green", "yellow", "yellow", "red"]
    assert [level for _step, _round, level, _area in records(case)] == ["yellow", "red"]


def test_green_cases_and_cases_off_the_clock_are_left_alone(case_world):
    later = clocked(case_world, warn_in=MINUTE, due_in=2 * MINUTE)
    off_the_clock = [
        clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE, status=status)
        for status in (Status.PARKED, Status.CHECKED, Status.CLOSED, Status.VOIDED)
    ]
    no_deadline = make_case(case_world, status=Status.REGISTERED)

    result = supervision_scan(now=NOW)

    assert result.changed == 0
    assert {light_of(case) for case in [later, no_deadline, *off_the_clock]} == {Light.GREEN}
    assert not SupervisionRecord.objects.exists()
    assert not Notification.objects.exists()
    assert not IncidentEvent.objects.filter(action="light").exists()


def test_each_change_appends_a_system_event(case_world):
    case = clocked(case_world, warn_in=-MINUTE, due_in=MINUTE)

    supervision_scan(now=NOW)

    event = IncidentEvent.objects.get(incident=case, action="light")
    assert event.actor is None
    assert event.at == NOW
    deadline = datetime.fromisoformat(event.data.pop("deadline"))
    assert deadline == NOW + MINUTE
    assert event.data == {"light": "yellow", "previous": "green", "step": "dispatch", "round": 0}
    assert event.note


# ---------------------------------------------------------------- who is notified


def test_yellow_on_the_street_tier_notifies_its_street_officer_only(case_world):
    case = clocked(case_world, warn_in=-MINUTE, due_in=MINUTE, tier=AreaLevel.STREET)

    supervision_scan(now=NOW)

    assert notified(case) == {"street-a": KIND_YELLOW}
    assert records(case) == [("dispatch", 0, "yellow", None)]


def test_red_on_the_street_tier_notifies_the_street_and_the_district_above(case_world):
    case = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE, tier=AreaLevel.STREET)

    result = supervision_scan(now=NOW)

    assert (result.yellow, result.red, result.notified) == (0, 1, 2)
    assert notified(case) == {"street-a": KIND_RED, "district-a": KIND_SUPERVISION}
    assert records(case) == [("dispatch", 0, "red", "360502")]


def test_red_on_the_community_tier_is_supervised_by_the_street(case_world):
    case = clocked(
        case_world,
        warn_in=-2 * MINUTE,
        due_in=-MINUTE,
        status=Status.REPORTED,
        tier=AreaLevel.COMMUNITY,
    )

    supervision_scan(now=NOW)

    assert notified(case) == {"community-a": KIND_RED, "street-a": KIND_SUPERVISION}
    assert records(case) == [("register", 0, "red", "360502001")]


def test_a_dispatched_case_notifies_the_department_handlers(case_world):
    in_progress = clocked(
        case_world,
        warn_in=-2 * MINUTE,
        due_in=-MINUTE,
        status=Status.IN_PROGRESS,
        department=case_world.departments["a"],
    )
    dispatched = clocked(
        case_world,
        warn_in=-MINUTE,
        due_in=MINUTE,
        status=Status.DISPATCHED,
        department=case_world.departments["a-housing"],
    )

    supervision_scan(now=NOW)

    assert notified(in_progress) == {"handler-a": KIND_RED, "district-a": KIND_SUPERVISION}
    assert notified(dispatched) == {"handler-a-housing": KIND_YELLOW}
    assert records(in_progress) == [("handle", 0, "red", "360502")]


def test_a_red_case_held_by_the_city_notifies_its_managers_without_a_tier_above(case_world):
    unlocated = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE, cell=None)

    supervision_scan(now=NOW)

    assert notified(unlocated) == {"city": KIND_RED}
    assert records(unlocated) == [("dispatch", 0, "red", None)]


def test_inactive_people_and_assignments_are_not_notified(case_world):
    Assignment.objects.filter(user=case_world.user("street-a")).update(active=False)
    district_officer = case_world.user("district-a")
    district_officer.is_active = False
    district_officer.save(update_fields=["is_active"])
    case = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE)

    result = supervision_scan(now=NOW)

    assert result.red == 1
    assert notified(case) == {}


def test_a_person_who_holds_and_supervises_gets_one_notification(case_world):
    """The district officer also works as a street officer of the holding street: one
    notification, the holder's."""
    officer = case_world.user("district-a")
    Assignment.objects.create(
        user=officer, area=case_world.area("360502001"), role="street_officer"
    )
    case = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE)

    supervision_scan(now=NOW)

    assert notified(case) == {"street-a": KIND_RED, "district-a": KIND_RED}


def test_the_notification_points_at_the_case_in_the_system_language(case_world):
    case = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE)

    supervision_scan(now=NOW)

    notification = Notification.objects.get(user=case_world.user("district-a"))
    assert notification.link == case_path(case.number) == f"/casework/cases/{case.number}/"
    assert case.number in notification.title
    assert timezone.localtime(NOW - MINUTE).strftime("%Y-%m-%d %H:%M") in notification.body
    assert "城南街道" in notification.body
    assert notification.read_at is None
    assert settings.LANGUAGE_CODE == "zh-hans"


# ---------------------------------------------------------------- once only


def test_a_second_scan_records_and_notifies_nothing(case_world):
    cases = [
        clocked(case_world, warn_in=-MINUTE, due_in=MINUTE),
        clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE),
        clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE, tier=AreaLevel.COMMUNITY),
    ]
    first = supervision_scan(now=NOW)
    counts = (
        SupervisionRecord.objects.count(),
        Notification.objects.count(),
        IncidentEvent.objects.count(),
    )

    second = supervision_scan(now=NOW + MINUTE)

    assert (first.changed, first.yellow, first.red, first.notified) == (3, 1, 2, 5)
    assert (second.changed, second.yellow, second.red, second.notified) == (0, 0, 0, 0)
    assert (
        (
            SupervisionRecord.objects.count(),
            Notification.objects.count(),
            IncidentEvent.objects.count(),
        )
        == counts
        == (3, 5, 3)
    )
    assert [light_of(case) for case in cases] == ["yellow", "red", "red"]


def test_small_batches_reach_every_case(case_world):
    cases = [clocked(case_world, warn_in=-MINUTE, due_in=MINUTE) for _ in range(5)]

    result = supervision_scan(now=NOW, batch_size=2)

    assert (result.changed, result.yellow, result.batches) == (5, 5, 3)
    assert {light_of(case) for case in cases} == {Light.YELLOW}


def test_a_record_already_there_is_not_notified_again(case_world):
    """The unique constraint is the last guard: a record of this step round and level that
    exists (written by a scan whose light update was lost) is neither duplicated nor
    notified; the light is still set."""
    case = clocked(case_world, warn_in=-MINUTE, due_in=MINUTE)
    SupervisionRecord.objects.create(
        incident=case,
        step="dispatch",
        step_round=0,
        level="yellow",
        recorded_at=NOW - MINUTE,
        deadline=NOW + MINUTE,
    )

    result = supervision_scan(now=NOW)

    assert (result.changed, result.yellow, result.notified) == (1, 0, 0)
    assert light_of(case) == Light.YELLOW
    assert SupervisionRecord.objects.filter(incident=case).count() == 1


def test_an_extension_turns_the_light_back_and_red_again_is_not_notified_twice(case_world):
    case = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE)
    supervision_scan(now=NOW)
    assert light_of(case) == Light.RED
    # an approved extension moves the clock of the same step round
    Incident.objects.filter(pk=case.pk).update(
        step_warn_at=NOW + timedelta(hours=1), step_deadline=NOW + timedelta(hours=2)
    )

    back = supervision_scan(now=NOW + MINUTE)
    assert (back.changed, back.yellow, back.red, back.notified) == (1, 0, 0, 0)
    assert light_of(case) == Light.GREEN

    again = supervision_scan(now=NOW + timedelta(hours=3))
    assert (again.changed, again.red, again.notified) == (1, 0, 0)
    assert light_of(case) == Light.RED
    assert [
        (event.data["previous"], event.data["light"])
        for event in IncidentEvent.objects.filter(incident=case, action="light")
    ] == [("green", "red"), ("red", "green"), ("green", "red")]
    assert Notification.objects.count() == 2


def test_a_new_step_round_is_recorded_and_notified_again(case_world):
    case = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE)
    supervision_scan(now=NOW)
    # rework: the step starts again in round 1 with a new clock that runs out again
    Incident.objects.filter(pk=case.pk).update(
        step_round=1,
        light=Light.GREEN,
        step_warn_at=NOW + timedelta(minutes=5),
        step_deadline=NOW + timedelta(minutes=10),
    )

    again = supervision_scan(now=NOW + timedelta(minutes=11))

    assert (again.red, again.notified) == (1, 2)
    assert records(case) == [
        ("dispatch", 0, "red", "360502"),
        ("dispatch", 1, "red", "360502"),
    ]


# ---------------------------------------------------------------- no Celery clocks


CASEWORK = Path(__file__).resolve().parents[2] / "casework"
CELERY_CLOCK = re.compile(r"\b(countdown|eta)\s*=|\.apply_async\(|\.retry\(", re.IGNORECASE)


def test_no_deadline_in_casework_is_a_celery_countdown_or_eta():
    sources = sorted(CASEWORK.rglob("*.py"))
    assert len(sources) > 10
    offending = [
        f"{path.relative_to(CASEWORK.parent)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if CELERY_CLOCK.search(line)
    ]
    assert offending == []


@pytest.mark.parametrize("line", ["task.apply_async(countdown=60)", "x.apply_async(eta=when)"])
def test_the_countdown_check_would_find_one(line):
    assert CELERY_CLOCK.search(line)


def test_the_notification_link_is_the_case_page(case_world):
    case = clocked(case_world, warn_in=-MINUTE, due_in=MINUTE)
    assert case_path(case.number) == reverse("casework:case", kwargs={"number": case.number})


# ---------------------------------------------------------------- the list of records


SUPERVISION_API = "/api/casework/supervision"


def test_api_lists_the_records_of_visible_cases_newest_first(case_world, api_client):
    in_a = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE)
    yellow_in_a = clocked(case_world, warn_in=-MINUTE, due_in=MINUTE)
    in_b = clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE, cell="360521001001001")
    supervision_scan(now=NOW)
    Incident.objects.filter(pk=yellow_in_a.pk).update(status=Status.CLOSED)
    api_client.force_authenticate(case_world.user("district-a"))

    everything = api_client.get(SUPERVISION_API).json()
    red = api_client.get(SUPERVISION_API, {"level": "red"}).json()
    still_open = api_client.get(SUPERVISION_API, {"open": "true"}).json()
    supervised_by_b = api_client.get(SUPERVISION_API, {"supervising": "360521"}).json()

    assert everything["count"] == 2
    assert {row["number"] for row in everything["results"]} == {in_a.number, yellow_in_a.number}
    assert [row["number"] for row in red["results"]] == [in_a.number]
    assert red["results"][0] == {
        "id": red["results"][0]["id"],
        "number": in_a.number,
        "status": "registered",
        "light": "red",
        "step": "dispatch",
        "step_round": 0,
        "level": "red",
        "recorded_at": red["results"][0]["recorded_at"],
        "deadline": red["results"][0]["deadline"],
        "holder": {"code": "360502001", "name": "城南街道"},
        "department": None,
        "supervising_area": {"code": "360502", "name": "渝水区"},
        "link": case_path(in_a.number),
    }
    assert datetime.fromisoformat(red["results"][0]["deadline"]) == NOW - MINUTE
    assert [row["number"] for row in still_open["results"]] == [in_a.number]
    assert supervised_by_b["count"] == 0
    assert in_b.number not in {row["number"] for row in everything["results"]}


def test_api_lists_nothing_for_someone_without_areas(case_world, api_client):
    clocked(case_world, warn_in=-2 * MINUTE, due_in=-MINUTE)
    supervision_scan(now=NOW)
    api_client.force_authenticate(case_world.user("nobody"))

    assert api_client.get(SUPERVISION_API).json()["count"] == 0
    assert api_client.get(SUPERVISION_API, {"level": "purple"}).status_code == 400
