"""Supervision (督办): the scan that turns the lights of open cases as their step clocks run.

An open case on the clock (a state in casework.transitions.STEP_OF_STATE with a step
deadline) shows green, yellow from `step_warn_at` (WARN_SHARE of the step's working time
used) and red after `step_deadline` (casework.deadlines.light_at). The scan, run every minute
by Celery beat (casework.tasks.supervision_scan), finds the cases whose stored light is not
the light of now and, for each:

- sets Incident.light and appends an IncidentEvent (actor None: the system; action "light");
- when the light got worse (green → yellow, green/yellow → red), writes a SupervisionRecord,
  one per case × step × step round × level (a unique constraint; INSERT … ON CONFLICT DO
  NOTHING), and only for a record actually written:
  - notifies the holder: the handlers of the case's department while it is dispatched or in
    progress, otherwise the dispatchers of the tier holding it (community staff, street,
    district officers or city managers whose assigned area covers the holding area);
  - for red (督办), also notifies the dispatchers of the tier above the holding tier in the
    case's chain (a street officer supervises a community, a district officer a street, a
    city manager a district) and names that area on the record. The city has no tier above:
    a red case held by the city is recorded without a supervising area, and its holders,
    the city managers, are the ones notified.

A light that got better (an extension moved the deadline, or a move started a new step
without resetting the light) is set and written in the history, with nothing recorded or
notified. A red light that comes back in the same step round is not recorded or notified a
second time.

Safe to run twice and by two workers at once: candidates are locked in batches with
SELECT … FOR UPDATE SKIP LOCKED, so two scans never take the same case, and a case whose
light a committed scan already set no longer matches; the unique constraint is the last
guard. Each batch is one statement in its own transaction. Candidates are found through two
partial indexes of the clocked open cases (Incident.Meta: incident_clock_warn and
incident_clock_deadline), so a scan over a million cases
reads only those whose light is due to change. No deadline is ever a Celery countdown/ETA.

Notification and history texts are written in the system's language (settings.LANGUAGE_CODE).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from grid.models import Area, AreaLevel, Assignment, Department, Notification, Role

from ..models import (
    CLOCKED_STATES,
    Incident,
    IncidentEvent,
    Light,
    Status,
    Step,
    SupervisionRecord,
)
from ..transitions import TIER_DISPATCHER_ROLE

# Cases locked and changed per transaction. Large enough that a backlog of tens of thousands
# of changes costs a handful of statements; small enough that a concurrent scan finds work.
BATCH_SIZE = 5_000
# While a department holds the case, its handlers are the holder to notify.
DEPARTMENT_STATES = (str(Status.DISPATCHED), str(Status.IN_PROGRESS))
# Code length of the area one tier above each handling tier (the supervising tier).
SUPERVISING_CODE_LENGTH = {AreaLevel.COMMUNITY: 9, AreaLevel.STREET: 6, AreaLevel.DISTRICT: 4}
KIND_YELLOW = "case_light_yellow"
KIND_RED = "case_light_red"
KIND_SUPERVISION = "case_supervision"


def case_path(number: str) -> str:
    """Where a notification about case `number` points: the case's page."""
    return f"/casework/cases/{number}/"


@dataclass(frozen=True)
class ScanResult:
    at: datetime
    changed: int = 0  # cases whose light was set
    yellow: int = 0  # yellow lights recorded
    red: int = 0  # red lights recorded (督办)
    notified: int = 0  # notifications written
    batches: int = 0

    def as_dict(self) -> dict:
        result = asdict(self)
        result["at"] = self.at.isoformat()
        return result


# Raw SQL: a batch is one statement — lock the candidates (SKIP LOCKED), set their lights,
# append history, insert the records ON CONFLICT DO NOTHING and notify only for the records
# actually inserted (RETURNING). The ORM can express neither SKIP LOCKED with LIMIT inside a
# data-modifying CTE nor INSERT … SELECT … ON CONFLICT … RETURNING, and a backlog of tens of
# thousands of changes must not make a round trip per case or per notification.
_SCAN_SQL = """
WITH candidate AS MATERIALIZED (
    SELECT i.id, i.light AS previous,
           CASE WHEN i.step_deadline < %(now)s THEN 'red'
                WHEN i.step_warn_at <= %(now)s THEN 'yellow'
                ELSE 'green' END AS light
    FROM {incident} i
    WHERE i.status IN ({clocked}) AND i.step_deadline IS NOT NULL
      AND (   (i.light = 'green' AND i.step_warn_at <= %(now)s)
           OR (i.light = 'green' AND i.step_deadline < %(now)s)
           OR (i.light = 'yellow' AND i.step_deadline < %(now)s)
           OR (i.light = 'yellow' AND i.step_warn_at > %(now)s)
           OR (i.light = 'red' AND i.step_deadline >= %(now)s))
    LIMIT %(batch)s
    FOR UPDATE OF i SKIP LOCKED
),
changed AS (
    UPDATE {incident} i
    SET light = c.light, updated_at = %(now)s
    FROM candidate c, {area} h
    WHERE i.id = c.id AND h.id = i.holder_area_id
    RETURNING i.id, i.number, i.status, i.step, i.step_round, i.step_deadline, i.tier,
              i.department_id, c.previous, c.light, h.code AS holder_code,
              h.name AS holder_name,
              to_char(i.step_deadline AT TIME ZONE %(zone)s, 'YYYY-MM-DD HH24:MI') AS due,
              coalesce(%(steps)s::jsonb ->> i.step, i.step) AS step_label
),
history AS (
    INSERT INTO {event} (incident_id, action, from_status, to_status, actor_id, role, at,
                         note, data)
    SELECT c.id, 'light', '', '', NULL, '', %(now)s,
           replace(replace(%(notes)s::jsonb ->> c.light, '{{step}}', c.step_label),
                   '{{deadline}}', c.due),
           jsonb_build_object('light', c.light, 'previous', c.previous, 'step', c.step,
                              'round', c.step_round, 'deadline', c.step_deadline)
    FROM changed c
    RETURNING 1
),
recorded AS (
    INSERT INTO {record} (incident_id, step, step_round, level, recorded_at, deadline,
                          supervising_area_id)
    SELECT c.id, c.step, c.step_round, c.light, %(now)s, c.step_deadline,
           CASE WHEN c.light = 'red' THEN s.id END
    FROM changed c
    LEFT JOIN {area} s
      ON s.code = left(c.holder_code, (%(supervising_length)s::jsonb ->> c.tier::text)::int)
     AND s.valid_to IS NULL
    WHERE (c.light = 'yellow' AND c.previous = 'green') OR c.light = 'red'
    ON CONFLICT (incident_id, step, step_round, level) DO NOTHING
    RETURNING incident_id, level, supervising_area_id
),
staff AS (
    SELECT a.user_id, a.role, a.department_id, ar.code
    FROM {assignment} a
    JOIN {area} ar ON ar.id = a.area_id AND ar.valid_to IS NULL
    JOIN {user} u ON u.id = a.user_id AND u.is_active
    WHERE a.active
),
notice AS (
    SELECT r.incident_id, r.level, c.number, c.step_label, c.due,
           c.holder_name || coalesce(' · ' || d.name, '') AS holder,
           s.code AS supervising_code, c.holder_code, c.tier, c.status, c.department_id
    FROM recorded r
    JOIN changed c ON c.id = r.incident_id
    LEFT JOIN {department} d ON d.id = c.department_id
    LEFT JOIN {area} s ON s.id = r.supervising_area_id
),
recipient AS (
    -- the department's handlers while it holds the case
    SELECT st.user_id, n.incident_id, n.level, 0 AS part
    FROM notice n JOIN staff st
      ON st.department_id = n.department_id AND st.role = %(handler_role)s
    WHERE n.status IN ({department_states}) AND n.department_id IS NOT NULL
    UNION
    -- otherwise the dispatchers of the holding tier whose area covers the holding area
    SELECT st.user_id, n.incident_id, n.level, 0
    FROM notice n
    CROSS JOIN LATERAL (VALUES (left(n.holder_code, 4)), (left(n.holder_code, 6)),
                               (left(n.holder_code, 9)), (left(n.holder_code, 12))) AS p(code)
    JOIN staff st ON st.code = p.code AND st.role = %(roles)s::jsonb ->> n.tier::text
    WHERE NOT (n.status IN ({department_states}) AND n.department_id IS NOT NULL)
    UNION
    -- 督办: the dispatchers of the tier above, whose area covers the supervising area
    SELECT st.user_id, n.incident_id, n.level, 1
    FROM notice n
    CROSS JOIN LATERAL (VALUES (left(n.supervising_code, 4)), (left(n.supervising_code, 6)),
                               (left(n.supervising_code, 9))) AS p(code)
    JOIN staff st ON st.code = p.code AND st.role = %(roles)s::jsonb ->> (n.tier - 1)::text
    WHERE n.level = 'red' AND n.supervising_code IS NOT NULL
),
notified AS (
    INSERT INTO {notification} (user_id, kind, title, body, link, created_at, read_at)
    SELECT one.user_id,
           CASE WHEN one.part = 1 THEN %(kind_supervision)s
                WHEN one.level = 'red' THEN %(kind_red)s ELSE %(kind_yellow)s END,
           left(replace(replace(
               CASE WHEN one.part = 1 THEN %(title_supervision)s
                    WHEN one.level = 'red' THEN %(title_red)s ELSE %(title_yellow)s END,
               '{{number}}', n.number), '{{step}}', n.step_label), 200),
           replace(replace(%(body)s, '{{deadline}}', n.due), '{{holder}}', n.holder),
           replace(%(link)s, '{{number}}', n.number),
           %(now)s, NULL
    FROM (
        -- one notification per person and change: the holder's, if they are both
        SELECT DISTINCT ON (user_id, incident_id) user_id, incident_id, level, part
        FROM recipient
        ORDER BY user_id, incident_id, part
    ) one
    JOIN notice n ON n.incident_id = one.incident_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM changed),
       (SELECT count(*) FROM recorded WHERE level = 'yellow'),
       (SELECT count(*) FROM recorded WHERE level = 'red'),
       (SELECT count(*) FROM notified),
       (SELECT count(*) FROM history)
"""


def _scan_sql() -> str:
    # Spelled as literals, as in the indexes' predicate: the planner uses a partial index
    # only when it can prove the query's condition implies the predicate.
    clocked = ", ".join(f"'{state}'" for state in CLOCKED_STATES)
    return _SCAN_SQL.format(
        incident=Incident._meta.db_table,
        event=IncidentEvent._meta.db_table,
        record=SupervisionRecord._meta.db_table,
        area=Area._meta.db_table,
        assignment=Assignment._meta.db_table,
        department=Department._meta.db_table,
        notification=Notification._meta.db_table,
        user=Assignment._meta.get_field("user").related_model._meta.db_table,
        clocked=clocked,
        department_states=", ".join(f"'{state}'" for state in DEPARTMENT_STATES),
    )


def _texts() -> dict[str, str]:
    """The texts of history notes and notifications, with {placeholders} the statement fills."""
    fill = {
        "number": "{number}",
        "step": "{step}",
        "deadline": "{deadline}",
        "holder": "{holder}",
    }
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "steps": json.dumps({step.value: str(step.label) for step in Step}, ensure_ascii=False),
            "notes": json.dumps(
                {
                    Light.GREEN.value: _(
                        "Green light at the %(step)s step (deadline %(deadline)s)."
                    )
                    % fill,
                    Light.YELLOW.value: _(
                        "Yellow light: most of the %(step)s step's time is used (deadline "
                        "%(deadline)s)."
                    )
                    % fill,
                    Light.RED.value: _(
                        "Red light: the %(step)s step is overdue (deadline %(deadline)s)."
                    )
                    % fill,
                },
                ensure_ascii=False,
            ),
            "title_yellow": _("Case %(number)s: yellow light at the %(step)s step") % fill,
            "title_red": _("Case %(number)s is overdue at the %(step)s step") % fill,
            "title_supervision": _("Supervision: case %(number)s is overdue at the %(step)s step")
            % fill,
            "body": _("Deadline %(deadline)s. Held by %(holder)s.") % fill,
        }


def _batch(*, now: datetime, batch_size: int, sql: str, texts: dict[str, str]) -> tuple:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "now": now,
                "batch": batch_size,
                "zone": settings.TIME_ZONE,
                "roles": json.dumps({str(int(t)): str(r) for t, r in TIER_DISPATCHER_ROLE.items()}),
                "supervising_length": json.dumps(
                    {str(int(t)): n for t, n in SUPERVISING_CODE_LENGTH.items()}
                ),
                "handler_role": str(Role.DEPARTMENT_HANDLER),
                "kind_yellow": KIND_YELLOW,
                "kind_red": KIND_RED,
                "kind_supervision": KIND_SUPERVISION,
                "link": case_path("{number}"),
                **texts,
            },
        )
        return cursor.fetchone()


def supervision_scan(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> ScanResult:
    """Turn the lights of every open case whose light is not the light of `now` (default:
    the current time), recording and notifying the changes for the worse once."""
    now = now or timezone.now()
    sql = _scan_sql()
    texts = _texts()
    changed = yellow = red = notified = batches = 0
    while True:
        batch_changed, batch_yellow, batch_red, batch_notified, _events = _batch(
            now=now, batch_size=batch_size, sql=sql, texts=texts
        )
        batches += 1
        changed += batch_changed
        yellow += batch_yellow
        red += batch_red
        notified += batch_notified
        # A short batch means no candidate was left but those another scan has locked.
        if batch_changed < batch_size:
            break
    return ScanResult(
        at=now, changed=changed, yellow=yellow, red=red, notified=notified, batches=batches
    )
