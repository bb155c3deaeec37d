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
guard. Each batch is one statement and one COPY of its notifications, in its own
transaction; who is notified is read once per scan. Candidates are found through two
partial indexes of the clocked open cases (Incident.Meta: incident_clock_warn and
incident_clock_deadline), so a scan over a million cases reads only those whose light is
due to change. No deadline is ever a Celery countdown/ETA.

Notification and history texts are written in the system's language (settings.LANGUAGE_CODE).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from grid.models import Area, AreaLevel, Assignment, Department, Role
from grid.services.notifications import NotificationDraft, notifications_create_many

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
# append history and insert the records ON CONFLICT DO NOTHING, returning each change with
# the record it made, if any. The ORM can express neither SKIP LOCKED with LIMIT inside a
# data-modifying CTE nor INSERT … SELECT … ON CONFLICT … RETURNING, and a backlog of tens of
# thousands of changes must not make a round trip per case.
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
)
SELECT c.id, r.level, c.number, c.status, c.tier, c.department_id, c.holder_code,
       c.holder_name, d.name, s.code, c.due, c.step_label
FROM changed c
LEFT JOIN recorded r ON r.incident_id = c.id
LEFT JOIN {department} d ON d.id = c.department_id
LEFT JOIN {area} s ON s.id = r.supervising_area_id
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
        department=Department._meta.db_table,
        clocked=clocked,
    )


@dataclass(frozen=True)
class Texts:
    """History notes (with {step} and {deadline} for the statement to fill) and the
    notification templates, in the system's language."""

    steps: str
    notes: str
    title_yellow: str
    title_red: str
    title_supervision: str
    body: str


def _texts() -> Texts:
    fill = {"step": "{step}", "deadline": "{deadline}"}
    with translation.override(settings.LANGUAGE_CODE):
        return Texts(
            steps=json.dumps({step.value: str(step.label) for step in Step}, ensure_ascii=False),
            notes=json.dumps(
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
            title_yellow=_("Case %(number)s: yellow light at the %(step)s step"),
            title_red=_("Case %(number)s is overdue at the %(step)s step"),
            title_supervision=_("Supervision: case %(number)s is overdue at the %(step)s step"),
            body=_("Deadline %(deadline)s. Held by %(holder)s."),
        )


@dataclass(frozen=True)
class Directory:
    """Who is notified: the active handlers of each department and the active dispatchers
    by role and assigned area code (current areas, active people), read once per scan."""

    handlers: dict[int, tuple[int, ...]]
    dispatchers: dict[tuple[str, str], tuple[int, ...]]

    @classmethod
    def load(cls) -> Directory:
        handlers: dict[int, list[int]] = defaultdict(list)
        dispatchers: dict[tuple[str, str], list[int]] = defaultdict(list)
        rows = (
            Assignment.objects.active()
            .filter(area__valid_to__isnull=True, user__is_active=True)
            .values_list("user_id", "role", "department_id", "area__code")
        )
        for user_id, role, department_id, code in rows:
            if role == Role.DEPARTMENT_HANDLER:
                handlers[department_id].append(user_id)
            else:
                dispatchers[(role, code)].append(user_id)
        return cls(
            handlers={key: tuple(users) for key, users in handlers.items()},
            dispatchers={key: tuple(users) for key, users in dispatchers.items()},
        )

    def covering(self, *, tier: int, code: str) -> list[int]:
        """The dispatchers of `tier` whose assigned area covers the area `code`."""
        role = TIER_DISPATCHER_ROLE.get(tier)
        people: list[int] = []
        for length in (4, 6, 9, 12):
            if length <= len(code):
                people += self.dispatchers.get((role, code[:length]), ())
        return list(dict.fromkeys(people))


def _notifications(rows: list[tuple], *, directory: Directory, texts: Texts) -> list:
    """One notification per person and recorded change: the holders', and for red the
    supervising tier's (a person who is both gets the holder's)."""
    drafts = []
    for (
        _id,
        level,
        number,
        status,
        tier,
        department_id,
        holder_code,
        holder_name,
        department_name,
        supervising_code,
        due,
        step_label,
    ) in rows:
        if level is None:
            continue
        if status in DEPARTMENT_STATES and department_id is not None:
            holders = list(directory.handlers.get(department_id, ()))
        else:
            holders = directory.covering(tier=tier, code=holder_code)
        supervisors = (
            directory.covering(tier=tier - 1, code=supervising_code)
            if level == Light.RED and supervising_code
            else []
        )
        words = {"number": number, "step": step_label}
        body = texts.body % {
            "deadline": due,
            "holder": f"{holder_name} · {department_name}" if department_name else holder_name,
        }
        link = case_path(number)
        title = (texts.title_red if level == Light.RED else texts.title_yellow) % words
        kind = KIND_RED if level == Light.RED else KIND_YELLOW
        drafts += [NotificationDraft(user, kind, title, body, link) for user in holders]
        if supervisors:
            title = texts.title_supervision % words
            drafts += [
                NotificationDraft(user, KIND_SUPERVISION, title, body, link)
                for user in supervisors
                if user not in holders
            ]
    return drafts


def _batch(
    *, now: datetime, batch_size: int, sql: str, texts: Texts, directory: Directory
) -> tuple[int, int, int, int]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "now": now,
                    "batch": batch_size,
                    "zone": settings.TIME_ZONE,
                    "supervising_length": json.dumps(
                        {str(int(t)): n for t, n in SUPERVISING_CODE_LENGTH.items()}
                    ),
                    "steps": texts.steps,
                    "notes": texts.notes,
                },
            )
            rows = cursor.fetchall()
        notified = notifications_create_many(
            drafts=_notifications(rows, directory=directory, texts=texts), at=now
        )
    levels = [row[1] for row in rows]
    return len(rows), levels.count(Light.YELLOW), levels.count(Light.RED), notified


def supervision_scan(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> ScanResult:
    """Turn the lights of every open case whose light is not the light of `now` (default:
    the current time), recording and notifying the changes for the worse once."""
    now = now or timezone.now()
    sql = _scan_sql()
    texts = _texts()
    directory = Directory.load()
    changed = yellow = red = notified = batches = 0
    while True:
        batch_changed, batch_yellow, batch_red, batch_notified = _batch(
            now=now, batch_size=batch_size, sql=sql, texts=texts, directory=directory
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
