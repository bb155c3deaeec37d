"""Evaluation indicators (综合评价, DOMAIN.md §3) of an area (any tier: its subtree by code
prefix), a department or an inspector over a period [start, end).

Every metric is a number of cases, counted in ONE SQL statement per subject and period by
conditional aggregation over the cases (casework_incident) and their red lights
(casework_supervisionrecord, level red: a step went overdue, 督办). The indicators are
ratios of two metrics, or weighted sums of indicators, as the rows of IndicatorDefinition say
(seeded from casework.evaluation; administrators may change them).

Whose cases:
- an area: the cases reported inside its subtree (area_code starts with the area's code; the
  city's unlocated reports belong to the city);
- a department: the cases dispatched to it (Incident.department: the department that holds
  or last held the case), within the reader's areas;
- an inspector: the cases they reported (Incident.reporter), within the reader's areas.

Every figure describes the period as it stood at its end `end`: a move counts in the
period when its time is in [start, end), an outcome counts when it happened before `end`. The
case keeps the time of the latest occurrence of each move (dispatched_at, handled_at …), so a
case dispatched or handled again in a later period (after a return or a rework) counts by its
latest time. A step was late when supervision recorded its red light (the scan runs every
minute). Cases merged into another as duplicates (duplicate_of set) count only as reports.

With [s, e) the period, "in P" meaning s ≤ time < e, and for a step X (dispatch, handle,
verify) with its completion time done_X (dispatched_at, handled_at, checked_at):
- first_red_X: the earliest deadline of a red light of step X before e;
- last_red_X: the latest deadline of a red light of step X before e;
- X on time: first_red_X is none or ≥ done_X (no deadline of the step was missed before it
  was done);
- X overdue and undone at e: last_red_X exists and done_X is none, ≥ e, or < last_red_X (a
  deadline of the step passed before e and the step was not done after it before e).

Metrics (numbers of cases):
- reports: reported_at in P.
- became_cases: reports registered before e, not merged as duplicates.
- accepted: accepted_at in P.
- registered: accepted ones registered before e.
- dispatched: dispatched_at in P (not duplicates, as every metric below).
- returned: dispatched ones returned as wrongly dispatched at least once (return_count > 0).
- dispatched_on_time: dispatched ones whose dispatch was on time.
- due_dispatch: dispatched ones + those whose dispatch was overdue and undone at e.
- handled: handled_at in P.
- handled_on_time: handled ones whose handling was on time.
- due_handle: handled ones + those whose handling was overdue and undone at e.
- overdue: due_handle − handled_on_time (handled late in P, or overdue and unhandled at e).
- extended: due_handle cases granted an extension (extension_count > 0).
- due_verify: checked_at in P + those whose check on site was overdue and undone at e.
- verified_on_time: checked_at in P and the check was on time.
- closed: status closed and closed_at in P.
- closed_on_time: closed ones none of whose steps had a red light before closed_at.
- due_close: closed ones + those not closed at e that were handled before e or whose
  handling was overdue and undone at e (DOMAIN.md: due = handled + overdue unhandled).
- rework: due_close cases sent back for rework at least once (rework_count > 0).
- peer_max_due_handle (departments only): the largest due_handle of any department on the
  same tier (area level) as the department, over all their cases; none for other subjects.

An indicator's value is numerator ÷ denominator (1 − that when `complement`), none when the
denominator is 0; a weighted one is Σ weight × value, none when a component is none. A
department's score is its "department_score" × 100, graded by the highest Grade band whose
minimum it reaches.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from grid.errors import InvalidInput, NotFound
from grid.models import Area, Assignment, Department, Role
from grid.scope import Scope, user_scope
from grid.selectors.areas import area_get_visible

from ..evaluation import AREA, DEPARTMENT, INSPECTOR, SCORE_CODE
from ..models import Grade, Incident, IndicatorDefinition, Status, SupervisionRecord


def _in(column: str) -> str:
    return f"(i.{column} >= %(start)s AND i.{column} < %(end)s)"


def _on_time(step: str, done: str) -> str:
    return f"(r.{step}_first IS NULL OR r.{step}_first >= i.{done})"


def _overdue_undone(step: str, done: str) -> str:
    return (
        f"(r.{step}_last IS NOT NULL AND (i.{done} IS NULL OR i.{done} >= %(end)s"
        f" OR i.{done} < r.{step}_last))"
    )


# What each case is, once per case (a comparison with a missing time is NULL: false).
BASE: dict[str, str] = {
    "dup": "i.duplicate_of_id IS NOT NULL",
    "reported_in": _in("reported_at"),
    "accepted_in": _in("accepted_at"),
    "registered_by_end": "i.registered_at < %(end)s",
    "dispatched_in": _in("dispatched_at"),
    "was_returned": "i.return_count > 0",
    "dispatch_on_time": _on_time("dispatch", "dispatched_at"),
    "dispatch_undone": _overdue_undone("dispatch", "dispatched_at"),
    "handled_in": _in("handled_at"),
    "handle_on_time": _on_time("handle", "handled_at"),
    "handle_undone": _overdue_undone("handle", "handled_at"),
    "handled_by_end": "i.handled_at < %(end)s",
    "was_extended": "i.extension_count > 0",
    "checked_in": _in("checked_at"),
    "verify_on_time": _on_time("verify", "checked_at"),
    "verify_undone": _overdue_undone("verify", "checked_at"),
    "closed_in": f"i.status = '{Status.CLOSED.value}' AND {_in('closed_at')}",
    "open_at_end": "(i.closed_at IS NULL OR i.closed_at >= %(end)s)",
    "never_red": "(r.any_first IS NULL OR r.any_first >= i.closed_at)",
    "was_reworked": "i.rework_count > 0",
}
# What those that depend on red lights are for a case without any (most cases): worked out
# only for the others, since the statement's time goes into evaluating these per case.
WITHOUT_RED: dict[str, bool] = {
    "dispatch_on_time": True,
    "dispatch_undone": False,
    "handle_on_time": True,
    "handle_undone": False,
    "verify_on_time": True,
    "verify_undone": False,
    "never_red": True,
}
_DUE_HANDLE = "NOT dup AND (handled_in OR handle_undone)"
_HANDLED_ON_TIME = "NOT dup AND handled_in AND handle_on_time"
_DUE_CLOSE = "NOT dup AND (closed_in OR (open_at_end AND (handled_by_end OR handle_undone)))"
# Each metric: the condition, over BASE, a case of the subject meets to be counted (see the
# docstring).
METRICS: dict[str, str] = {
    "reports": "reported_in",
    "became_cases": "reported_in AND registered_by_end AND NOT dup",
    "accepted": "accepted_in",
    "registered": "accepted_in AND registered_by_end",
    "dispatched": "NOT dup AND dispatched_in",
    "returned": "NOT dup AND dispatched_in AND was_returned",
    "dispatched_on_time": "NOT dup AND dispatched_in AND dispatch_on_time",
    "due_dispatch": "NOT dup AND (dispatched_in OR dispatch_undone)",
    "handled": "NOT dup AND handled_in",
    "handled_on_time": _HANDLED_ON_TIME,
    "due_handle": _DUE_HANDLE,
    "overdue": f"({_DUE_HANDLE}) AND NOT ({_HANDLED_ON_TIME})",
    "extended": f"({_DUE_HANDLE}) AND was_extended",
    "due_verify": "NOT dup AND (checked_in OR verify_undone)",
    "verified_on_time": "NOT dup AND checked_in AND verify_on_time",
    "closed": "NOT dup AND closed_in",
    "closed_on_time": "NOT dup AND closed_in AND never_red",
    "due_close": _DUE_CLOSE,
    "rework": f"({_DUE_CLOSE}) AND was_reworked",
}
PEER_METRIC = "peer_max_due_handle"
METRIC_NAMES = (*METRICS, PEER_METRIC)
CLOCKED_STEPS = ("dispatch", "handle", "verify")

# Raw SQL: one pass over the subject's cases, joined to their red lights folded per case.
# Each case is reduced to a bit mask of what it is (BASE, each condition evaluated once),
# the cases are counted per mask (a few hundred kinds), and the metrics are conditional
# sums over those kinds — so a million cases cost one mask and one hash lookup each, not a
# condition per metric. A department's cases are counted with those of its peers, per
# department, for the case volume score. The ORM would need a subquery per metric and step.
_SQL = """
WITH red AS (
    SELECT incident_id, min(deadline) AS any_first, {red_columns}
    FROM {record}
    WHERE level = 'red' AND deadline < %(end)s
    GROUP BY incident_id
),
kinds AS (
    SELECT {inner_columns} {mask} AS mask, count(*) AS n
    FROM {incident} i
    LEFT JOIN red r ON r.incident_id = i.id
    WHERE ({mine} OR {peer})
      AND i.reported_at < %(end)s AND (i.closed_at IS NULL OR i.closed_at >= %(start)s)
    GROUP BY {inner_group}
)
SELECT {outer_columns} {totals}
FROM kinds
{outer_group}
"""
BIT = {name: 1 << position for position, name in enumerate(BASE)}


def _on_mask(condition: str) -> str:
    """A condition over BASE's names, as a condition on a kind's mask."""
    return re.sub(
        r"\b(" + "|".join(BASE) + r")\b",
        lambda match: f"(mask & {BIT[match.group(1)]} <> 0)",
        condition,
    )


@dataclass(frozen=True)
class Subject:
    """Whose cases are counted: `condition` is an SQL condition on `i` (the case) with
    `params`; `peer` selects the cases of the departments compared with a department."""

    kind: str  # area, department or inspector
    key: str  # the area's code, the department's id, the inspector's user id
    name: str
    condition: str
    params: dict
    peer: str = "FALSE"


@dataclass(frozen=True)
class IndicatorValue:
    code: str
    name: str
    value: float | None
    numerator: int | None = None
    denominator: int | None = None
    numerator_metric: str = ""
    denominator_metric: str = ""
    complement: bool = False
    weights: dict | None = None


@dataclass(frozen=True)
class IndicatorReport:
    subject: Subject
    start: datetime
    end: datetime
    metrics: dict[str, int | None]
    indicators: list[IndicatorValue]
    score: float | None = None
    grade: str | None = None

    def get(self, code: str) -> IndicatorValue:
        return next(indicator for indicator in self.indicators if indicator.code == code)


# ---------------------------------------------------------------- subjects and periods


def _scoped(condition: str, params: dict, scope: Scope | None) -> tuple[str, dict]:
    if scope is None or scope.everything:
        return condition, params
    return (
        f"({condition}) AND i.area_code LIKE ANY(%(scope_prefixes)s)",
        {**params, "scope_prefixes": [prefix + "%" for prefix in scope.prefixes]},
    )


def area_subject(area: Area) -> Subject:
    return Subject(
        kind=AREA,
        key=area.code,
        name=area.name,
        condition="i.area_code LIKE %(area_prefix)s",
        params={"area_prefix": area.code + "%"},
    )


def department_subject(department: Department, *, scope: Scope | None = None) -> Subject:
    condition, params = _scoped(
        "i.department_id = %(department_id)s", {"department_id": department.pk}, scope
    )
    return Subject(
        kind=DEPARTMENT,
        key=str(department.pk),
        name=department.name,
        condition=condition,
        params={**params, "peer_level": department.area.level},
        peer=(
            f"i.department_id IN (SELECT d.id FROM {Department._meta.db_table} d "
            f"JOIN {Area._meta.db_table} a ON a.id = d.area_id WHERE a.level = %(peer_level)s)"
        ),
    )


def inspector_subject(inspector, *, scope: Scope | None = None) -> Subject:
    condition, params = _scoped(
        "i.reporter_id = %(reporter_id)s", {"reporter_id": inspector.pk}, scope
    )
    return Subject(
        kind=INSPECTOR,
        key=str(inspector.pk),
        name=inspector.get_full_name() or inspector.get_username(),
        condition=condition,
        params=params,
    )


def indicator_subject(
    *,
    user,
    area_code: str | None = None,
    department_id: int | None = None,
    inspector_id: int | None = None,
) -> Subject:
    """The one subject named, if the user may see it: an area in their scope, a department
    on an area in their scope (or their own), an inspector working in their scope (or
    themselves). NotFound otherwise, as if it did not exist."""
    named = [value is not None for value in (area_code, department_id, inspector_id)]
    if sum(named) != 1:
        raise InvalidInput(
            _("name exactly one of area, department and inspector"),
            details={"area": area_code, "department": department_id, "inspector": inspector_id},
        )
    scope = user_scope(user)
    if area_code is not None:
        return area_subject(area_get_visible(user=user, code=area_code))
    if department_id is not None:
        department = Department.objects.select_related("area").filter(pk=department_id).first()
        own = (
            department is not None
            and Assignment.objects.active()
            .filter(user=user, role=Role.DEPARTMENT_HANDLER, department=department)
            .exists()
        )
        if department is None or not (own or scope.covers(department.area.code)):
            raise NotFound(_("there is no department %(id)s") % {"id": department_id})
        return department_subject(department, scope=None if own else scope)
    inspector = get_user_model().objects.filter(pk=inspector_id).first()
    visible = inspector is not None and (
        scope.everything
        or inspector.pk == user.pk
        or any(
            scope.covers(code)
            for code in Assignment.objects.active()
            .filter(user=inspector, role=Role.GRID_INSPECTOR)
            .values_list("area__code", flat=True)
        )
    )
    if not visible:
        raise NotFound(_("there is no inspector %(id)s") % {"id": inspector_id})
    return inspector_subject(inspector, scope=None if inspector.pk == user.pk else scope)


def moment_parse(value: str) -> date | datetime:
    """A period's end as given (YYYY-MM-DD, or an ISO 8601 date and time), or InvalidInput."""
    try:
        parsed = parse_datetime(value) if "T" in value or " " in value else parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(
            _("“%(value)s” is not a date (YYYY-MM-DD) or a date and time (ISO 8601)")
            % {"value": value}
        )
    return parsed


def period_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """[start, end) as aware moments: a date is local midnight at its start."""

    def moment(value: date | datetime) -> datetime:
        if isinstance(value, datetime):
            return value if timezone.is_aware(value) else timezone.make_aware(value)
        return timezone.make_aware(datetime.combine(value, time.min))

    first, last = moment(start), moment(end)
    if last <= first:
        raise InvalidInput(
            _("the period ends (%(to)s) before it starts (%(from)s)")
            % {"to": last.isoformat(), "from": first.isoformat()},
            details={"from": first.isoformat(), "to": last.isoformat()},
        )
    return first, last


# ---------------------------------------------------------------- the figures


def _sql(subject: Subject) -> str:
    red_columns = ", ".join(
        f"min(deadline) FILTER (WHERE step = '{step}') AS {step}_first, "
        f"max(deadline) FILTER (WHERE step = '{step}') AS {step}_last"
        for step in CLOCKED_STEPS
    )
    # CASE WHEN takes NULL (a comparison with a missing time) as false.
    bits = []
    for name, condition in BASE.items():
        if WITHOUT_RED.get(name) is True:
            condition = f"r.incident_id IS NULL OR ({condition})"
        elif WITHOUT_RED.get(name) is False:
            condition = f"r.incident_id IS NOT NULL AND ({condition})"
        bits.append(f"CASE WHEN {condition} THEN {BIT[name]} ELSE 0 END")
    totals = ", ".join(
        f"coalesce(sum(n) FILTER (WHERE {_on_mask(condition)}), 0)::bigint"
        for condition in METRICS.values()
    )
    is_department = subject.kind == DEPARTMENT
    return _SQL.format(
        record=SupervisionRecord._meta.db_table,
        incident=Incident._meta.db_table,
        red_columns=red_columns,
        mine=subject.condition,
        peer=subject.peer,
        mask=" + ".join(bits),
        totals=totals,
        inner_columns=(
            f"i.department_id, coalesce(({subject.condition}), false) AS mine,"
            if is_department
            else ""
        ),
        inner_group="department_id, mine, mask" if is_department else "mask",
        outer_columns="department_id, mine," if is_department else "",
        outer_group="GROUP BY department_id, mine" if is_department else "",
    )


def case_metrics(*, subject: Subject, start: datetime, end: datetime) -> dict[str, int | None]:
    """Every metric of the subject's cases over [start, end), in one statement."""
    with connection.cursor() as cursor:
        # JIT compiling the statement's few dozen conditions costs more than it saves: a
        # year of the whole city (bench/casework.py) took 0.5–1 s longer with it. Sent in the
        # same round trip, SET LOCAL holds for the statement's implicit transaction, or to
        # the end of the caller's.
        cursor.execute(
            "SET LOCAL jit = off; " + _sql(subject),
            {**subject.params, "start": start, "end": end},
        )
        cursor.nextset()
        rows = cursor.fetchall()
    if subject.kind != DEPARTMENT:
        return {**dict(zip(METRICS, rows[0], strict=True)), PEER_METRIC: None}
    metrics = dict.fromkeys(METRICS, 0)
    due_handle = list(METRICS).index("due_handle")
    per_department: dict[int, int] = defaultdict(int)
    for department_id, mine, *counts in rows:
        if mine:
            for name, count in zip(METRICS, counts, strict=True):
                metrics[name] += count
        if department_id is not None:
            per_department[department_id] += counts[due_handle]
    return {**metrics, PEER_METRIC: max(per_department.values(), default=0)}


def _applies(definition: IndicatorDefinition, subject: Subject) -> bool:
    return definition.subject in (AREA, subject.kind)


def _metric(metrics: dict, definition: IndicatorDefinition, name: str) -> int | None:
    if name not in metrics:
        raise InvalidInput(
            _("indicator “%(code)s” names an unknown metric “%(metric)s”")
            % {"code": definition.code, "metric": name},
            details={"indicator": definition.code, "metric": name, "metrics": list(METRIC_NAMES)},
        )
    return metrics[name]


def indicator_values(
    *, metrics: dict[str, int | None], definitions: list[IndicatorDefinition]
) -> dict[str, IndicatorValue]:
    """The value of every definition from the metrics: ratios first, then weighted sums of
    them (a weighted sum may name any other definition)."""
    values: dict[str, IndicatorValue] = {}
    for definition in definitions:
        if definition.weights:
            continue
        numerator = _metric(metrics, definition, definition.numerator)
        denominator = _metric(metrics, definition, definition.denominator)
        value = None
        if numerator is not None and denominator:
            value = numerator / denominator
            if definition.complement:
                value = 1 - value
        values[definition.code] = IndicatorValue(
            code=definition.code,
            name=definition.name,
            value=value,
            numerator=numerator,
            denominator=denominator,
            numerator_metric=definition.numerator,
            denominator_metric=definition.denominator,
            complement=definition.complement,
        )
    for definition in definitions:
        if not definition.weights:
            continue
        total: float | None = 0.0
        for code, weight in definition.weights.items():
            if code not in values:
                raise InvalidInput(
                    _("indicator “%(code)s” weighs an unknown indicator “%(other)s”")
                    % {"code": definition.code, "other": code},
                    details={"indicator": definition.code, "weighs": code},
                )
            component = values[code].value
            total = None if total is None or component is None else total + weight * component
        values[definition.code] = IndicatorValue(
            code=definition.code,
            name=definition.name,
            value=total,
            weights=dict(definition.weights),
        )
    return values


def grade_for(score: float | None) -> str | None:
    if score is None:
        return None
    return (
        Grade.objects.filter(minimum__lte=Decimal(str(score)))
        .order_by("-minimum")
        .values_list("letter", flat=True)
        .first()
    )


def case_indicators(*, subject: Subject, start: datetime, end: datetime) -> IndicatorReport:
    """The metrics and the active indicators that apply to the subject, for [start, end);
    a department also gets its score and grade. The caller has checked the reader's right to
    the subject (indicator_subject)."""
    start, end = period_bounds(start, end)
    metrics = case_metrics(subject=subject, start=start, end=end)
    definitions = list(IndicatorDefinition.objects.order_by("position", "code"))
    values = indicator_values(metrics=metrics, definitions=definitions)
    shown = [
        values[definition.code]
        for definition in definitions
        if definition.active and _applies(definition, subject)
    ]
    score = grade = None
    if subject.kind == DEPARTMENT and SCORE_CODE in values:
        fraction = values[SCORE_CODE].value
        score = None if fraction is None else round(fraction * 100, 2)
        grade = grade_for(score)
    return IndicatorReport(
        subject=subject,
        start=start,
        end=end,
        metrics=metrics,
        indicators=shown,
        score=score,
        grade=grade,
    )
