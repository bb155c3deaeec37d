"""Evaluation indicators (综合评价) on a hand-built set of cases whose every figure is counted
by hand below, for an area, a department and an inspector, with cases on the period's edges.

The period is March 2026, [03-01 00:00, 04-01 00:00) local time. District A is 360502,
district B 360521. Departments a (渝水区城管局), a-housing (渝水区住建局) and b (分宜县城管局)
all sit on districts, so they are each other's peers for the case volume score.

The cases (times local; "red X d" is a red light of step X with deadline d):

 C1  A, dept a, insp-a: reported 02-20, dispatched 02-21, handled 03-02, checked 03-03,
     closed 03-04.
 C2  A, dept a, insp-a: reported 03-01 00:00 (edge, in), accepted 03-01 01:00, registered
     03-01 02:00, dispatched 03-02, red handle 03-05, handled 03-06 (late), checked 03-07,
     closed 03-08.
 C3  A, insp-a: reported 04-01 00:00 (edge, out), still reported.
 C4  A, insp-a: reported 03-31 23:59:59 (edge, in), still reported.
 C5  A, insp-a: reported and accepted 03-10, voided.
 C6  A, dept a, hotline: reported, accepted, registered 03-12, red dispatch 03-13,
     dispatched 03-14 (late; returned once and dispatched again), red handle 03-20,
     an extension granted, still in progress.
 C7  A, dept a, hotline: reported 01-05, dispatched 01-06, red handle 02-10, handled 04-03
     (after the period), status handled.
 C8  A, dept a, insp-a: reported 02-25, dispatched 02-26, handled 03-10, sent back for
     rework, handled again 03-15, checked 03-16, not closed.
 C9  A, dept a-housing, insp-a: reported, accepted, registered 03-19, dispatched 03-20,
     handled 04-01 00:00 (edge, out).
 C10 A, insp-a: reported, accepted, registered 03-05, merged into C2 03-06 (closed).
 C11 B, dept b, insp-b: reported, accepted, registered, dispatched 03-03, handled 03-04,
     checked 03-04, closed 03-05.
 C12 A, dept a, hotline: reported 02-01, dispatched 02-02, handled 02-27, red verify 03-02,
     not checked.
 C13 A, dept a, insp-a: reported 01-10 … closed 02-15.
 C14 A, dept a, insp-a: reported, accepted, registered 03-02, red dispatch 03-02 17:00,
     dispatched 03-03 (late), handled 03-05, checked 03-06, closed 03-07.
 C15 A, hotline: reported, accepted, registered 03-28, red dispatch 03-30, not dispatched.
 C16 A, dept a, insp-a: reported, accepted, registered, dispatched 03-31, red handle 04-02
     (after the period), in progress.
 C17 B, insp-a: reported 03-15 (outside the inspector's own district), still reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.translation import override

from casework.evaluation import GRADES, INDICATORS
from casework.models import Grade, Incident, IndicatorDefinition, Status
from casework.selectors.indicators import (
    METRIC_NAMES,
    area_subject,
    case_indicators,
    case_metrics,
    department_subject,
    grade_for,
    indicator_subject,
    inspector_subject,
)
from grid.errors import InvalidInput, NotFound
from tests.fixtures.casework import make_case_with_times, make_red_light

API = "/api/casework/indicators"


def t(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, hour, minute, second))


MARCH = (t(3, 1, 0), t(4, 1, 0))
APRIL = (t(4, 1, 0), t(5, 1, 0))


@dataclass
class Scenario:
    world: object
    cases: dict[str, Incident]


@pytest.fixture
def scenario(case_world, indicator_definitions) -> Scenario:
    w = case_world
    a, a_housing, b = (w.departments[key] for key in ("a", "a-housing", "b"))
    insp_a, insp_b = w.user("inspector-a"), w.user("inspector-b")
    cell_b = "360521001001001"
    S = Status
    c = {}
    c["C1"] = make_case_with_times(
        w, reported_at=t(2, 20), status=S.CLOSED, department=a, reporter=insp_a,
        accepted_at=t(2, 20, 11), registered_at=t(2, 20, 12), dispatched_at=t(2, 21),
        handled_at=t(3, 2), checked_at=t(3, 3), closed_at=t(3, 4),
    )  # fmt: skip
    c["C2"] = make_case_with_times(
        w, reported_at=t(3, 1, 0), status=S.CLOSED, department=a, reporter=insp_a,
        accepted_at=t(3, 1, 1), registered_at=t(3, 1, 2), dispatched_at=t(3, 2),
        handled_at=t(3, 6), checked_at=t(3, 7), closed_at=t(3, 8),
    )  # fmt: skip
    make_red_light(c["C2"], step="handle", deadline=t(3, 5, 17, 30))
    c["C3"] = make_case_with_times(w, reported_at=t(4, 1, 0), status=S.REPORTED, reporter=insp_a)
    c["C4"] = make_case_with_times(
        w, reported_at=t(3, 31, 23, 59, 59), status=S.REPORTED, reporter=insp_a
    )
    c["C5"] = make_case_with_times(
        w, reported_at=t(3, 10), status=S.VOIDED, reporter=insp_a, accepted_at=t(3, 10, 11)
    )
    c["C6"] = make_case_with_times(
        w, reported_at=t(3, 12, 9), status=S.IN_PROGRESS, department=a,
        accepted_at=t(3, 12, 10), registered_at=t(3, 12, 11), dispatched_at=t(3, 14),
        return_count=1, extension_count=1,
    )  # fmt: skip
    make_red_light(c["C6"], step="dispatch", deadline=t(3, 13))
    make_red_light(c["C6"], step="handle", deadline=t(3, 20))
    c["C7"] = make_case_with_times(
        w, reported_at=t(1, 5), status=S.HANDLED, department=a,
        accepted_at=t(1, 5, 11), registered_at=t(1, 5, 12), dispatched_at=t(1, 6),
        handled_at=t(4, 3),
    )  # fmt: skip
    make_red_light(c["C7"], step="handle", deadline=t(2, 10))
    c["C8"] = make_case_with_times(
        w, reported_at=t(2, 25), status=S.CHECKED, department=a, reporter=insp_a,
        accepted_at=t(2, 25, 11), registered_at=t(2, 25, 12), dispatched_at=t(2, 26),
        handled_at=t(3, 15), checked_at=t(3, 16), rework_count=1,
    )  # fmt: skip
    c["C9"] = make_case_with_times(
        w, reported_at=t(3, 19, 9), status=S.HANDLED, department=a_housing, reporter=insp_a,
        accepted_at=t(3, 19, 10), registered_at=t(3, 19, 11), dispatched_at=t(3, 20),
        handled_at=t(4, 1, 0),
    )  # fmt: skip
    c["C10"] = make_case_with_times(
        w, reported_at=t(3, 5, 9), status=S.CLOSED, reporter=insp_a, duplicate_of=c["C2"],
        accepted_at=t(3, 5, 10), registered_at=t(3, 5, 11), closed_at=t(3, 6),
    )  # fmt: skip
    c["C11"] = make_case_with_times(
        w, cell=cell_b, reported_at=t(3, 3, 8), status=S.CLOSED, department=b, reporter=insp_b,
        accepted_at=t(3, 3, 9), registered_at=t(3, 3, 10), dispatched_at=t(3, 3, 11),
        handled_at=t(3, 4), checked_at=t(3, 4, 15), closed_at=t(3, 5),
    )  # fmt: skip
    c["C12"] = make_case_with_times(
        w, reported_at=t(2, 1), status=S.HANDLED, department=a,
        accepted_at=t(2, 1, 11), registered_at=t(2, 1, 12), dispatched_at=t(2, 2),
        handled_at=t(2, 27),
    )  # fmt: skip
    make_red_light(c["C12"], step="verify", deadline=t(3, 2))
    c["C13"] = make_case_with_times(
        w, reported_at=t(1, 10), status=S.CLOSED, department=a, reporter=insp_a,
        accepted_at=t(1, 10, 11), registered_at=t(1, 10, 12), dispatched_at=t(1, 11),
        handled_at=t(1, 20), checked_at=t(1, 21), closed_at=t(2, 15),
    )  # fmt: skip
    c["C14"] = make_case_with_times(
        w, reported_at=t(3, 2, 8), status=S.CLOSED, department=a, reporter=insp_a,
        accepted_at=t(3, 2, 9), registered_at=t(3, 2, 9, 30), dispatched_at=t(3, 3),
        handled_at=t(3, 5), checked_at=t(3, 6), closed_at=t(3, 7),
    )  # fmt: skip
    make_red_light(c["C14"], step="dispatch", deadline=t(3, 2, 17))
    c["C15"] = make_case_with_times(
        w, reported_at=t(3, 28, 8), status=S.REGISTERED,
        accepted_at=t(3, 28, 9), registered_at=t(3, 28, 10),
    )  # fmt: skip
    make_red_light(c["C15"], step="dispatch", deadline=t(3, 30))
    c["C16"] = make_case_with_times(
        w, reported_at=t(3, 31, 8), status=S.IN_PROGRESS, department=a, reporter=insp_a,
        accepted_at=t(3, 31, 9), registered_at=t(3, 31, 10), dispatched_at=t(3, 31, 11),
    )  # fmt: skip
    make_red_light(c["C16"], step="handle", deadline=t(4, 2))
    c["C17"] = make_case_with_times(
        w, cell=cell_b, reported_at=t(3, 15), status=S.REPORTED, reporter=insp_a
    )
    return Scenario(world=w, cases=c)


def values(report) -> dict[str, tuple]:
    return {
        indicator.code: (indicator.numerator, indicator.denominator, indicator.value)
        for indicator in report.indicators
    }


# ---------------------------------------------------------------- an area


AREA_A_MARCH = {
    # reported_at in March: C2 (03-01 00:00), C4 (03-31 23:59:59), C5, C6, C9, C10, C14,
    # C15, C16; not C3 (04-01 00:00), C17 (district B), nor those reported before March
    "reports": 9,
    # of those registered before 04-01 and not merged: C2, C6, C9, C14, C15, C16
    # (C4 not accepted, C5 voided, C10 merged)
    "became_cases": 6,
    # accepted_at in March: C2, C5, C6, C9, C10, C14, C15, C16
    "accepted": 8,
    # of those registered before 04-01: all but C5
    "registered": 7,
    # dispatched_at in March: C2, C6, C9, C14, C16 (C1, C7, C8, C12 in Jan/Feb)
    "dispatched": 5,
    # of those returned at least once: C6
    "returned": 1,
    # dispatched without a missed dispatch deadline: C2, C9, C16 (C6 red 03-13, C14 red 03-02)
    "dispatched_on_time": 3,
    # the 5 dispatched + C15, whose dispatch deadline 03-30 passed undispatched
    "due_dispatch": 6,
    # handled_at in March: C1, C2, C8 (its latest handling), C14; not C9 (04-01 00:00), C7
    "handled": 4,
    # of those without a missed handle deadline: C1, C8, C14 (C2 red 03-05)
    "handled_on_time": 3,
    # the 4 handled + C6 (red 03-20, unhandled) + C7 (red 02-10, handled only on 04-03);
    # not C16, whose handle deadline 04-02 lies after the period
    "due_handle": 6,
    # due_handle − handled_on_time: C2, C6, C7
    "overdue": 3,
    # due_handle with an extension: C6
    "extended": 1,
    # checked_at in March: C1, C2, C8, C14 + C12 (red verify 03-02, not checked)
    "due_verify": 5,
    # checked in March on time: C1, C2, C8, C14
    "verified_on_time": 4,
    # closed in March: C1, C2, C14 (C10 is a merged duplicate, C13 closed in February)
    "closed": 3,
    # of those with no red light of any step before closing: C1 (C2 handle, C14 dispatch)
    "closed_on_time": 1,
    # the 3 closed + not closed on 04-01 and handled before it (C8, C12) or overdue
    # unhandled (C6, C7); not C9 (handled 04-01 00:00), not C16 (not yet overdue)
    "due_close": 7,
    # of those sent back for rework: C8
    "rework": 1,
    "peer_max_due_handle": None,
}


def test_an_area_for_march_counted_by_hand(scenario, django_assert_num_queries):
    subject = area_subject(scenario.world.area("360502"))

    with django_assert_num_queries(1):
        metrics = case_metrics(subject=subject, start=MARCH[0], end=MARCH[1])

    assert metrics == AREA_A_MARCH
    assert set(metrics) == set(METRIC_NAMES)


def test_an_areas_indicators_are_the_ratios_of_its_metrics(scenario):
    report = case_indicators(
        subject=area_subject(scenario.world.area("360502")), start=MARCH[0], end=MARCH[1]
    )

    assert values(report) == {
        "verify_on_time_rate": (4, 5, 4 / 5),
        "register_rate": (7, 8, 7 / 8),
        "dispatch_on_time_rate": (3, 6, 3 / 6),
        "dispatch_accuracy_rate": (1, 5, 1 - 1 / 5),  # (dispatched − returned) ÷ dispatched
        "handle_rate": (4, 6, 4 / 6),
        "handle_on_time_rate": (3, 6, 3 / 6),
        "close_rate": (3, 7, 3 / 7),
        "close_on_time_rate": (1, 7, 1 / 7),
        "rework_rate": (1, 7, 1 / 7),
        "overdue_rate": (3, 6, 3 / 6),
        "extension_rate": (1, 6, 1 / 6),
    }
    assert (report.score, report.grade) == (None, None)


def test_the_whole_city_adds_district_b(scenario):
    """C11 and C17 lie in district B: +2 reports (C11 03-03, C17 03-15), C11 accepted,
    registered, dispatched on time, handled on time, checked on time and closed on time."""
    metrics = case_metrics(
        subject=area_subject(scenario.world.area("3605")), start=MARCH[0], end=MARCH[1]
    )

    assert metrics == {
        **AREA_A_MARCH,
        "reports": 11,
        "became_cases": 7,
        "accepted": 9,
        "registered": 8,
        "dispatched": 6,
        "dispatched_on_time": 4,
        "due_dispatch": 7,
        "handled": 5,
        "handled_on_time": 4,
        "due_handle": 7,
        "due_verify": 6,
        "verified_on_time": 5,
        "closed": 4,
        "closed_on_time": 2,
        "due_close": 8,
    }


def test_april_counts_what_march_left_at_its_edge(scenario):
    """April 2026: C3 reported 04-01 00:00; C9 handled 04-01 00:00 on time; C7 handled 04-03
    late (red 02-10); C6 (red 03-20) and C16 (red 04-02) overdue and unhandled on 05-01."""
    metrics = case_metrics(
        subject=area_subject(scenario.world.area("360502")), start=APRIL[0], end=APRIL[1]
    )

    assert {
        name: metrics[name]
        for name in ("reports", "handled", "handled_on_time", "due_handle", "overdue")
    } == {"reports": 1, "handled": 2, "handled_on_time": 1, "due_handle": 4, "overdue": 3}
    # still open and due for closing on 05-01: C6, C7 (handled), C8, C9, C12, C16 (overdue)
    assert metrics["due_close"] == 6
    assert metrics["closed"] == 0


# ---------------------------------------------------------------- a department


def test_a_department_for_march_with_its_score(scenario):
    """Department a holds C1, C2, C6, C7, C8, C12, C13, C14, C16."""
    department = scenario.world.departments["a"]

    report = case_indicators(subject=department_subject(department), start=MARCH[0], end=MARCH[1])

    assert report.metrics == {
        # reported in March: C2, C6, C14, C16 — all registered, accepted in March
        "reports": 4,
        "became_cases": 4,
        "accepted": 4,
        "registered": 4,
        # dispatched in March: C2, C6, C14, C16; returned C6; on time C2, C16
        "dispatched": 4,
        "returned": 1,
        "dispatched_on_time": 2,
        "due_dispatch": 4,
        # handled in March: C1, C2, C8, C14; on time C1, C8, C14; + C6, C7 overdue
        "handled": 4,
        "handled_on_time": 3,
        "due_handle": 6,
        "overdue": 3,
        "extended": 1,
        # checked C1, C2, C8, C14 on time + C12 overdue
        "due_verify": 5,
        "verified_on_time": 4,
        # closed C1, C2, C14 (C1 on time) + C6, C7, C8, C12
        "closed": 3,
        "closed_on_time": 1,
        "due_close": 7,
        "rework": 1,
        # due_handle of the district-tier departments: a 6, a-housing 0 (C9 handled on
        # 04-01 00:00), b 1 (C11)
        "peer_max_due_handle": 6,
    }
    shown = values(report)
    assert shown["case_volume_score"] == (6, 6, 1.0)
    assert shown["no_rework_rate"] == (1, 7, 1 - 1 / 7)
    assert "valid_report_rate" not in shown
    # 100 × (0.1 × 6/6 + 0.3 × 3/7 + 0.3 × 3/6 + 0.3 × 6/7) = 63.57 → C (60 ≤ score < 75)
    expected = 0.1 * 1 + 0.3 * (3 / 7) + 0.3 * (3 / 6) + 0.3 * (6 / 7)
    assert report.get("department_score").value == pytest.approx(expected)
    assert report.score == 63.57
    assert report.grade == "C"


def test_a_small_department_gets_a_small_volume_score(scenario):
    """Department b: C11 only, everything on time: 100 × (0.1 × 1/6 + 0.3 + 0.3 + 0.3) = 91.67."""
    report = case_indicators(
        subject=department_subject(scenario.world.departments["b"]), start=MARCH[0], end=MARCH[1]
    )

    shown = values(report)
    assert shown["case_volume_score"] == (1, 6, 1 / 6)
    assert shown["close_rate"] == (1, 1, 1.0)
    assert shown["handle_on_time_rate"] == (1, 1, 1.0)
    assert shown["no_rework_rate"] == (0, 1, 1.0)
    assert (report.score, report.grade) == (91.67, "A")


def test_a_department_without_cases_has_no_score(scenario):
    report = case_indicators(
        subject=department_subject(scenario.world.departments["a-housing"]),
        start=APRIL[0] + (APRIL[1] - APRIL[0]),
        end=APRIL[1] + (APRIL[1] - APRIL[0]),
    )
    assert report.metrics["due_handle"] == 0
    assert (report.score, report.grade) == (None, None)


# ---------------------------------------------------------------- an inspector


def test_an_inspector_sees_all_their_reports_a_district_only_its_own(scenario):
    world = scenario.world
    inspector = world.user("inspector-a")

    own = case_indicators(
        subject=indicator_subject(user=inspector, inspector_id=inspector.pk),
        start=MARCH[0],
        end=MARCH[1],
    )
    seen_by_a = case_indicators(
        subject=indicator_subject(user=world.user("district-a"), inspector_id=inspector.pk),
        start=MARCH[0],
        end=MARCH[1],
    )

    # reported in March by inspector-a: C2, C4, C5, C9, C10, C14, C16 in A, C17 in B;
    # became cases: C2, C9, C14, C16
    assert values(own)["valid_report_rate"] == (4, 8, 4 / 8)
    assert values(seen_by_a)["valid_report_rate"] == (4, 7, 4 / 7)
    # accepted: C2, C5, C9, C10, C14, C16; registered all but the voided C5
    assert values(own)["register_rate"] == (5, 6, 5 / 6)
    assert {
        name: own.metrics[name]
        for name in ("handled", "handled_on_time", "due_handle", "closed", "due_close", "rework")
    } == {
        # handled: C1, C2, C8, C14 (C2 late); due: the same, no hotline cases here
        "handled": 4,
        "handled_on_time": 3,
        "due_handle": 4,
        # closed C1, C2, C14; due: + C8 (handled, not closed); rework C8
        "closed": 3,
        "due_close": 4,
        "rework": 1,
    }
    assert own.subject.kind == "inspector"


def test_an_inspector_subject_by_itself(scenario):
    metrics = case_metrics(
        subject=inspector_subject(scenario.world.user("inspector-b")),
        start=MARCH[0],
        end=MARCH[1],
    )
    # C11 only
    assert (metrics["reports"], metrics["became_cases"], metrics["closed"]) == (1, 1, 1)


# ---------------------------------------------------------------- definitions as data


def test_the_seeded_definitions_and_grades(indicator_definitions):
    assert list(IndicatorDefinition.objects.values_list("code", flat=True)) == [
        seed.code for seed in INDICATORS
    ]
    score = IndicatorDefinition.objects.get(code="department_score")
    assert score.weights == {
        "case_volume_score": 0.1,
        "close_rate": 0.3,
        "handle_on_time_rate": 0.3,
        "no_rework_rate": 0.3,
    }
    assert sum(score.weights.values()) == pytest.approx(1)
    assert [(g.letter, int(g.minimum)) for g in Grade.objects.all()] == [
        (letter, int(minimum)) for letter, minimum in GRADES
    ]
    assert {d.numerator for d in IndicatorDefinition.objects.exclude(numerator="")} | {
        d.denominator for d in IndicatorDefinition.objects.exclude(denominator="")
    } <= set(METRIC_NAMES)


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "A"), (90, "A"), (89.99, "B"), (75, "B"), (60, "C"), (40, "D"), (39.99, "E"), (0, "E")],
)
def test_grade_bands(indicator_definitions, score, grade):
    assert grade_for(score) == grade


def test_an_administrator_changes_a_formula_and_a_weight(scenario):
    IndicatorDefinition.objects.filter(code="close_rate").update(numerator="closed_on_time")
    score = IndicatorDefinition.objects.get(code="department_score")
    score.weights = {"close_rate": 0.5, "handle_on_time_rate": 0.5}
    score.save()
    IndicatorDefinition.objects.filter(code="overdue_rate").update(active=False)

    report = case_indicators(
        subject=department_subject(scenario.world.departments["a"]), start=MARCH[0], end=MARCH[1]
    )

    assert values(report)["close_rate"] == (1, 7, 1 / 7)
    assert "overdue_rate" not in values(report)
    # 100 × (0.5 × 1/7 + 0.5 × 3/6) = 32.14 → E
    assert (report.score, report.grade) == (32.14, "E")


def test_a_definition_naming_an_unknown_metric_is_refused(scenario):
    IndicatorDefinition.objects.filter(code="handle_rate").update(denominator="due_handel")
    with override("en"), pytest.raises(InvalidInput) as caught:
        case_indicators(
            subject=area_subject(scenario.world.area("360502")), start=MARCH[0], end=MARCH[1]
        )
    assert "due_handel" in caught.value.message


def test_a_period_that_ends_before_it_starts_is_refused(scenario):
    with pytest.raises(InvalidInput):
        case_indicators(
            subject=area_subject(scenario.world.area("360502")), start=MARCH[1], end=MARCH[0]
        )


# ---------------------------------------------------------------- who may ask


@pytest.mark.parametrize(
    ("reader", "subject", "visible"),
    [
        ("district-a", {"area_code": "360502"}, True),
        ("district-b", {"area_code": "360502"}, False),
        ("street-a", {"area_code": "360502"}, False),
        ("street-a", {"area_code": "360502001"}, True),
        ("nobody", {"area_code": "3605"}, False),
        ("district-a", {"department": "a"}, True),
        ("district-b", {"department": "a"}, False),
        ("handler-a", {"department": "a"}, True),
        ("handler-b", {"department": "a"}, False),
        ("street-a", {"department": "a"}, False),
        ("city", {"department": "b"}, True),
        ("district-a", {"inspector": "inspector-a"}, True),
        ("district-b", {"inspector": "inspector-a"}, False),
        ("inspector-a", {"inspector": "inspector-a"}, True),
        ("inspector-b", {"inspector": "inspector-a"}, False),
    ],
)
def test_only_subjects_in_the_readers_areas(scenario, reader, subject, visible):
    world = scenario.world
    arguments = {}
    if "area_code" in subject:
        arguments["area_code"] = subject["area_code"]
    elif "department" in subject:
        arguments["department_id"] = world.departments[subject["department"]].pk
    else:
        arguments["inspector_id"] = world.user(subject["inspector"]).pk
    if visible:
        assert indicator_subject(user=world.user(reader), **arguments)
    else:
        with pytest.raises(NotFound):
            indicator_subject(user=world.user(reader), **arguments)


def test_a_handler_counts_all_of_their_department_a_district_officer_their_district(scenario):
    """A department of district A that also worked a case in district B: its handler counts
    it, district A's officer does not."""
    world = scenario.world
    department = world.departments["a"]
    Incident.objects.filter(pk=scenario.cases["C11"].pk).update(department=department)

    def handled(reader):
        subject = indicator_subject(user=world.user(reader), department_id=department.pk)
        return case_metrics(subject=subject, start=MARCH[0], end=MARCH[1])["handled"]

    assert handled("handler-a") == 5
    assert handled("district-a") == 4


# ---------------------------------------------------------------- API


def test_api_for_an_area(scenario, api_client):
    api_client.force_authenticate(scenario.world.user("district-a"))

    response = api_client.get(API, {"area": "360502", "from": "2026-03-01", "to": "2026-04-01"})

    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == {"kind": "area", "key": "360502", "name": "渝水区"}
    assert body["metrics"] == AREA_A_MARCH
    assert datetime.fromisoformat(body["start"]) == MARCH[0]
    assert datetime.fromisoformat(body["end"]) == MARCH[1]
    handle_rate = next(i for i in body["indicators"] if i["code"] == "handle_rate")
    assert handle_rate == {
        "code": "handle_rate",
        "name": "处置率",
        "value": pytest.approx(4 / 6),
        "numerator": 4,
        "denominator": 6,
        "numerator_metric": "handled",
        "denominator_metric": "due_handle",
        "complement": False,
        "weights": None,
    }
    assert (body["score"], body["grade"]) == (None, None)


def test_api_for_a_department_and_an_inspector(scenario, api_client):
    world = scenario.world
    api_client.force_authenticate(world.user("district-a"))

    department = api_client.get(
        API, {"department": world.departments["a"].pk, "from": "2026-03-01", "to": "2026-04-01"}
    ).json()
    inspector = api_client.get(
        API,
        {
            "inspector": world.user("inspector-a").pk,
            "from": "2026-03-01T00:00:00+08:00",
            "to": "2026-04-01T00:00:00+08:00",
        },
    ).json()

    assert (department["score"], department["grade"]) == (63.57, "C")
    score = next(i for i in department["indicators"] if i["code"] == "department_score")
    assert score["weights"]["close_rate"] == 0.3
    assert score["numerator"] is None
    valid = next(i for i in inspector["indicators"] if i["code"] == "valid_report_rate")
    assert (valid["numerator"], valid["denominator"]) == (4, 7)


def test_api_answers_404_outside_the_readers_areas(scenario, api_client):
    world = scenario.world
    api_client.force_authenticate(world.user("district-b"))
    period = {"from": "2026-03-01", "to": "2026-04-01"}

    for subject in (
        {"area": "360502"},
        {"department": world.departments["a"].pk},
        {"inspector": world.user("inspector-a").pk},
        {"department": 999_999},
        {"area": "9999"},
    ):
        response = api_client.get(API, {**subject, **period})
        assert response.status_code == 404, subject
        assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"area": "360502", "from": "2026-04-01", "to": "2026-03-01"}, 422, None),
        ({"area": "360502", "from": "2026-03-01", "to": "2026-03-01"}, 422, None),
        ({"area": "360502", "from": "March", "to": "2026-04-01"}, 400, "from"),
        ({"area": "360502", "to": "2026-04-01"}, 400, "from"),
        ({"from": "2026-03-01", "to": "2026-04-01"}, 400, "non_field_errors"),
        ({"area": "360502", "department": 1, "from": "2026-03-01", "to": "2026-04-01"}, 400,
         "non_field_errors"),
    ],
)  # fmt: skip
def test_api_refuses_bad_questions(scenario, api_client, query, status, field):
    api_client.force_authenticate(scenario.world.user("city"))
    response = api_client.get(API, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status
    if field:
        assert field in response.json()


def test_api_needs_a_signed_in_user(scenario, api_client):
    response = api_client.get(API, {"area": "3605", "from": "2026-03-01", "to": "2026-04-01"})
    assert response.status_code in (401, 403)


# ---------------------------------------------------------------- command


def test_command_prints_json_and_a_table(scenario, capsys):
    call_command("case_indicators", "--area", "360502", "--from", "2026-03-01",
                 "--to", "2026-04-01", "--json")  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert payload["metrics"] == AREA_A_MARCH
    assert payload["subject"]["key"] == "360502"

    call_command("case_indicators", "--department", str(scenario.world.departments["a"].pk),
                 "--from", "2026-03-01", "--to", "2026-04-01")  # fmt: skip
    table = capsys.readouterr().out
    assert "63.57" in table
    assert "处置率" in table
    assert "4 handled / 6 due_handle" in table

    call_command("case_indicators", "--inspector", "inspector-a", "--from", "2026-03-01",
                 "--to", "2026-04-01", "--json")  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert (payload["metrics"]["reports"], payload["metrics"]["became_cases"]) == (8, 4)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--area", "9999", "--from", "2026-03-01", "--to", "2026-04-01"],
        ["--inspector", "nobody-here", "--from", "2026-03-01", "--to", "2026-04-01"],
        ["--area", "360502", "--from", "2026-04-01", "--to", "2026-03-01"],
        ["--area", "360502", "--from", "yesterday", "--to", "2026-03-01"],
    ],
)
def test_command_refuses_bad_arguments(scenario, arguments):
    with override("en"), pytest.raises(CommandError):
        call_command("case_indicators", *arguments)
