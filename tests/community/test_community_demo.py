"""The demo's community data: residents, facilities and applications through the real
services, and a second run that changes nothing."""

import pytest
from django.core.management import call_command

from community.models import Application, ApplicationStatus, Facility, Resident
from grid.scope import user_scope

pytestmark = pytest.mark.django_db


def test_community_demo_seed_fills_the_counter_and_is_idempotent(
    demo_people, work_calendar, capsys
):
    call_command("community_demo_seed")
    residents = Resident.objects.filter(area_code__startswith="3605")
    assert residents.count() == 30 * 201
    assert Facility.objects.filter(area_code__startswith="3605").count() == 8 * 201
    community_user = demo_people.user("community")
    counter_applications = Application.objects.filter(counter__code="360502001001")
    assert counter_applications.count() == 8
    statuses = set(counter_applications.values_list("status", flat=True))
    assert {ApplicationStatus.ACCEPTED, ApplicationStatus.CORRECTION} <= statuses
    assert statuses & {ApplicationStatus.FORWARDED, ApplicationStatus.APPROVED}
    # every demo resident is placed in a cell of their community, inside the staff's scope
    scope = user_scope(community_user)
    assert Resident.objects.filter(scope.q("area_code")).count() == 30
    assert not residents.filter(grid_cell__isnull=True).exists()
    assert all(
        code.startswith("360502001001")
        for code in counter_applications.values_list("applicant__area_code", flat=True)
    )

    before = (Resident.objects.count(), Facility.objects.count(), Application.objects.count())
    capsys.readouterr()
    call_command("community_demo_seed")
    assert (
        Resident.objects.count(),
        Facility.objects.count(),
        Application.objects.count(),
    ) == before
    out = capsys.readouterr().out
    assert "nothing changed" in out or "未作改动" in out
