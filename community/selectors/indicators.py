"""Window service indicators (窗口服务指标, DOMAIN.md §4; GB/T 32169.4 groups: efficiency,
satisfaction, abnormal handling, complaints) for any area's subtree of counters over a
period.

The applications counted are those received at a counter inside the area (counter code
prefix) on a day of the period (both days included, local time). Every indicator keeps its
numerator and denominator:

| indicator | numerator | denominator |
|---|---|---|
| 现场办结率 on_spot_rate | decided on the spot | accepted |
| 办理提速率 speedup_rate | Σ (legal limit − actual working days) ÷ legal limit | decided (legal limit > 0) |
| 网上受理率 online_rate | accepted online | accepted |
| 联办率 joint_rate | handled jointly | accepted, of items needing joint handling |
| 窗口服务满意率 satisfaction_rate | ratings counted as satisfied (default 4–5) | ratings |
| 投诉率 complaint_rate | substantiated complaints | applications |
| 异常办理 overdue (a count) | decided after the deadline, or open past it | applications |
| 事项进驻落实率 delegation_rate | delegated (item, counter) pairs | pairs that should be |

Actual working days run on the working calendar from receipt to decision, the day of
receipt not counted (as for deadlines; grid.workcalendar.working_days_between); pauses are
included, the applicant waited through them. An open application is past its deadline when
now (for a paused one: the moment it paused) is after it.

Everything but 事项进驻落实率 is one SQL statement with conditional aggregation; the rate of
delegation comes from the catalogue's selector (one more statement).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grid.errors import InvalidInput
from grid.models import Area, CalendarDay, WorkingPeriod

from ..models import Application, Channel, Complaint, ServiceItem
from ..transitions import OPEN_STATES
from .catalogue import delegation_rate

RATE, AVERAGE, COUNT = "rate", "average", "count"

INDICATORS = (
    ("on_spot_rate", gettext_lazy("on-the-spot completion rate"), "现场办结率", RATE),
    ("speedup_rate", gettext_lazy("speed-up rate"), "办理提速率", AVERAGE),
    ("online_rate", gettext_lazy("online acceptance rate"), "网上受理率", RATE),
    ("joint_rate", gettext_lazy("joint handling rate"), "联办率", RATE),
    ("satisfaction_rate", gettext_lazy("window satisfaction rate"), "窗口服务满意率", RATE),
    ("complaint_rate", gettext_lazy("complaint rate"), "投诉率", RATE),
    ("overdue", gettext_lazy("abnormal handling (overdue)"), "异常办理", COUNT),
    ("delegation_rate", gettext_lazy("item delegation rate"), "事项进驻落实率", RATE),
)


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    standard_name: str
    kind: str  # rate, average (of per-application ratios) or count
    numerator: Decimal | int
    denominator: int

    @property
    def value(self) -> float | int | None:
        """The rate or average (None when nothing was counted); a count is its numerator."""
        if self.kind == COUNT:
            return int(self.numerator)
        if not self.denominator:
            return None
        return float(self.numerator) / self.denominator


@dataclass(frozen=True)
class WindowIndicators:
    area_code: str
    area_name: str
    date_from: date
    date_to: date
    applications: int
    indicators: list[Indicator]

    def get(self, code: str) -> Indicator:
        return next(indicator for indicator in self.indicators if indicator.code == code)


def satisfied_ratings() -> tuple[int, ...]:
    return tuple(settings.WANGGE_SATISFIED_RATINGS)


# Raw SQL: the working-day arithmetic needs a running count of working days over the
# calendar (a window function) joined twice per application, which the ORM cannot express.
# ordinal(d) = working days on or before d, so working days in (a, b] = ordinal(b) − ordinal(a).
# The decision "finishes" on its own day if that is a working day and it came by the close of
# office hours, else on the next working day (ordinal + 1) — working_days_between's rule; a
# decision by the close of the first day the clock counted takes 0 days.
_SQL = """
WITH ordinal AS (
    SELECT date, is_workday,
           sum(CASE WHEN is_workday THEN 1 ELSE 0 END) OVER (ORDER BY date) AS n
    FROM {calendar}
),
office AS (SELECT max("end") AS closes FROM {period}),
cohort AS (
    SELECT a.id, a.status, a.channel, a.accepted_at, a.decided_at, a.decided_on_spot,
           a.handled_jointly, a.rating, a.deadline, a.paused_since, a.received_at,
           i.legal_limit_days, i.requires_joint_handling,
           (a.received_at AT TIME ZONE %(zone)s) AS received_local,
           (a.decided_at AT TIME ZONE %(zone)s) AS decided_local
    FROM {application} a
    JOIN {item} i ON i.id = a.item_id
    WHERE a.counter_code LIKE %(prefix)s
      AND a.received_at >= %(start)s AND a.received_at < %(end)s
),
speed AS (
    SELECT c.legal_limit_days,
           CASE WHEN de.n + CASE WHEN de.is_workday AND c.decided_local::time <= o.closes
                                 THEN 0 ELSE 1 END
                     <= rs.n + CASE WHEN rs.is_workday AND c.received_local::time <= o.closes
                                    THEN 0 ELSE 1 END
                THEN 0
                ELSE de.n + CASE WHEN de.is_workday AND c.decided_local::time <= o.closes
                                 THEN 0 ELSE 1 END - rs.n
           END AS actual_days
    FROM cohort c
    CROSS JOIN office o
    JOIN ordinal rs ON rs.date = c.received_local::date
    JOIN ordinal de ON de.date = c.decided_local::date
    WHERE c.decided_at IS NOT NULL AND c.legal_limit_days > 0
),
substantiated AS (
    SELECT count(*) AS n
    FROM {complaint} k
    WHERE k.substantiated AND k.application_id IN (SELECT id FROM cohort)
)
SELECT
    count(*),
    count(*) FILTER (WHERE accepted_at IS NOT NULL),
    count(*) FILTER (WHERE decided_on_spot),
    count(*) FILTER (WHERE accepted_at IS NOT NULL AND channel = %(online)s),
    count(*) FILTER (WHERE accepted_at IS NOT NULL AND requires_joint_handling),
    count(*) FILTER (WHERE accepted_at IS NOT NULL AND requires_joint_handling
                     AND handled_jointly),
    count(rating),
    count(*) FILTER (WHERE rating = ANY(%(satisfied)s)),
    (SELECT n FROM substantiated),
    count(*) FILTER (
        WHERE (decided_at IS NOT NULL AND decided_at > deadline)
           OR (status = ANY(%(open)s) AND coalesce(paused_since, %(now)s) > deadline)
    ),
    (SELECT count(*) FROM speed),
    (SELECT coalesce(sum((legal_limit_days - actual_days)::numeric / legal_limit_days), 0)
       FROM speed)
FROM cohort
"""


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def window_indicators(
    *,
    area: Area,
    date_from: date,
    date_to: date,
    now: datetime | None = None,
    satisfied: tuple[int, ...] | None = None,
) -> WindowIndicators:
    """The window indicators of the counters in `area`'s subtree for applications received
    from `date_from` to `date_to` (both included). The caller checks the reader's scope."""
    if date_to < date_from:
        raise InvalidInput(
            _("the period ends (%(to)s) before it starts (%(from)s)")
            % {"to": date_to.isoformat(), "from": date_from.isoformat()},
            details={"from": date_from.isoformat(), "to": date_to.isoformat()},
        )
    satisfied = tuple(satisfied or satisfied_ratings())
    sql = _SQL.format(
        calendar=CalendarDay._meta.db_table,
        period=WorkingPeriod._meta.db_table,
        application=Application._meta.db_table,
        item=ServiceItem._meta.db_table,
        complaint=Complaint._meta.db_table,
    )
    params = {
        "zone": settings.TIME_ZONE,
        "prefix": area.code + "%",
        "start": _day_start(date_from),
        "end": _day_start(date_to + timedelta(days=1)),
        "online": Channel.ONLINE,
        "satisfied": list(satisfied),
        "open": sorted(str(status) for status in OPEN_STATES),
        "now": now or timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (
            applications,
            accepted,
            on_spot,
            online,
            joint_needed,
            joint_done,
            ratings,
            satisfied_count,
            substantiated,
            overdue,
            decided,
            speedup_sum,
        ) = cursor.fetchone()
    rate = delegation_rate(area=area)
    values = {
        "on_spot_rate": (on_spot, accepted),
        "speedup_rate": (Decimal(speedup_sum), decided),
        "online_rate": (online, accepted),
        "joint_rate": (joint_done, joint_needed),
        "satisfaction_rate": (satisfied_count, ratings),
        "complaint_rate": (substantiated or 0, applications),
        "overdue": (overdue, applications),
        "delegation_rate": (rate.numerator, rate.denominator),
    }
    return WindowIndicators(
        area_code=area.code,
        area_name=area.name,
        date_from=date_from,
        date_to=date_to,
        applications=applications,
        indicators=[
            Indicator(code, str(name), standard_name, kind, *values[code])
            for code, name, standard_name, kind in INDICATORS
        ],
    )
