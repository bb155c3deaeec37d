"""The demo's cases: filed through the report service in the demo city, moved along through
the workflow, and not again on a second run."""

from __future__ import annotations

import io
from collections import Counter

from django.core.management import call_command
from django.utils import timezone

from casework.models import Incident, IncidentEvent, RoutingRule, Status
from casework.services.demo import STAGES, casework_demo_seed
from grid.models import Area, AreaLevel, Assignment, Department, Role
from tests.fixtures.community import facility_category, make_facility


def facilities_in_inspected_cells(count: int) -> list:
    cells = (
        Assignment.objects.filter(
            role=Role.GRID_INSPECTOR, area__level=AreaLevel.GRID, area__code__startswith="360502"
        )
        .order_by("area__code")
        .values_list("area_id", flat=True)[:count]
    )
    return [
        make_facility(cell=Area.objects.get(pk=cell), category=facility_category("0101"))
        for cell in cells
    ]


def test_the_demo_files_and_moves_cases_once(demo_people, work_calendar, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    facilities = facilities_in_inspected_cells(8)
    result = casework_demo_seed(cases=len(STAGES) * 2)
    assert (result.rules, result.departments) == (2, 1)
    assert result.cases == len(STAGES) * 2 + 2  # and two for the unlocated queue
    assert result.moves > 50
    cases = Incident.objects.filter(external_id__startswith="demo-case-3605-")
    assert cases.count() == result.cases
    statuses = Counter(cases.values_list("status", flat=True))
    for status in (
        Status.REPORTED,
        Status.ACCEPTED,
        Status.REGISTERED,
        Status.DISPATCHED,
        Status.IN_PROGRESS,
        Status.PARKED,
        Status.HANDLED,
        Status.CHECKED,
        Status.CLOSED,
        Status.VOIDED,
    ):
        assert statuses[status] > 0, status
    assert cases.filter(rework_count=1).exists()
    assert cases.filter(extension_requested=True).exists()
    assert cases.filter(escalation_count__gt=0).exists()
    assert cases.filter(grid_cell__isnull=True, area_code="3605").count() == 2
    assert cases.filter(source="hotline").exclude(reporter_phone_masked="").exists()
    assert cases.filter(source="staff").exists()
    assert cases.filter(facility__in=facilities).exists()
    # cases left early in their life are past their step's deadline
    assert cases.filter(status=Status.REPORTED, step_deadline__lt=timezone.now()).exists()
    closed = cases.filter(status=Status.CLOSED).first()
    actions = list(IncidentEvent.objects.filter(incident=closed).values_list("action", flat=True))
    assert (actions[0], actions[-1]) == ("reported", "close")
    handled = IncidentEvent.objects.filter(incident=closed, action="handle").get()
    assert handled.photos.count() == 1
    # the demo's handler works the cases of 渝水区城市管理局, the inspectors check their cells
    assert IncidentEvent.objects.filter(actor__username="handler").exists()
    assert IncidentEvent.objects.filter(action="check_pass", role="grid_inspector").exists()
    assert Department.objects.filter(
        area__level=AreaLevel.COMMUNITY, name__endswith="保洁队"
    ).exists()
    assert RoutingRule.objects.count() == 2

    again = casework_demo_seed(cases=len(STAGES) * 2)
    assert (again.rules, again.departments, again.cases, again.moves) == (0, 0, 0, 0)
    assert not again.created_anything
    assert Incident.objects.count() == result.cases


def test_the_command_says_what_it_did(demo_people, work_calendar, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first, second = io.StringIO(), io.StringIO()
    call_command("casework_demo_seed", "--cases", "3", stdout=first)
    call_command("casework_demo_seed", "--cases", "3", stdout=second)
    # In the system's language (zh-hans).
    assert "已生成 5 件演示案件" in first.getvalue()  # three, and two unlocated
    assert "案件演示数据已就绪" in first.getvalue()
    assert "案件演示数据已存在，未作改动" in second.getvalue()
    assert Incident.objects.count() == 5
