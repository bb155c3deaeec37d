"""Filing a report: validation, who may report where, the chain snapshot, numbering, the
register clock, facilities, idempotency (also under concurrency) and the report's cost."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone, translation
from PIL import Image

from casework.deadlines import calendar_for, step_clock
from casework.models import (
    CategoryDeadline,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    PhotoStage,
    Source,
    Status,
    Step,
)
from casework.services.report import incident_report
from community import pii
from grid.errors import Conflict, Forbidden, InvalidInput
from grid.models import Area, AreaLevel
from grid.services.areas import area_import
from tests.concurrency import at_once
from tests.fixtures.casework import (
    REPORT_CELL,
    build_report_world,
    catalogue_category,
    report_case,
)
from tests.fixtures.community import facility_category, make_facility
from tests.grid.boundary_files import box_geometry, feature, write_geojson

COMPONENT = "component"


def jpeg_upload(name: str = "photo.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 120, 200)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_a_report_becomes_a_located_routed_numbered_case(report_world):
    at = timezone.now() - timedelta(minutes=5)
    lon, lat = report_world.point(REPORT_CELL, 0.001, -0.002)
    inspector = report_world.user("inspector-a")
    result = incident_report(
        actor=inspector,
        source=Source.INSPECTOR,
        category=catalogue_category("0102"),
        lon=lon,
        lat=lat,
        description="  路边有一堆暴露垃圾  ",
        address="胜利路 12 号",
        at=at,
    )
    assert result.created is True
    incident = Incident.objects.get(pk=result.incident.pk)
    assert incident.status == Status.REPORTED
    assert incident.description == "路边有一堆暴露垃圾"
    assert incident.address == "胜利路 12 号"
    assert (incident.location.x, incident.location.y) == pytest.approx((lon, lat))
    assert incident.grid_cell.code == REPORT_CELL
    assert (incident.area_code, incident.district_code) == (REPORT_CELL, "360502")
    assert {key: value["code"] for key, value in incident.chain.items()} == {
        "cell": REPORT_CELL,
        "community": "360502001001",
        "street": "360502001",
        "district": "360502",
        "city": "3605",
    }
    assert incident.chain["street"]["name"] == "城南街道"
    year = timezone.localtime(at).year
    assert incident.number == f"{year}360502000001"
    assert incident.reporter == inspector
    assert incident.reported_at == at
    # 0102 暴露垃圾: the community's 环卫 team
    assert (incident.tier, incident.holder_area.code) == (AreaLevel.COMMUNITY, "360502001001")
    assert incident.department == report_world.departments["community-a-huanwei"]
    # the register step's clock: 1 working hour from the report
    limit = CategoryDeadline.objects.get(category=incident.category, step=Step.REGISTER)
    clock = step_clock(limit=limit, started_at=at, calendar=calendar_for(at))
    assert incident.step == Step.REGISTER
    assert incident.step_started_at == at
    assert (incident.step_warn_at, incident.step_deadline) == (clock.warn_at, clock.deadline)
    assert incident.light == "green"
    [event] = incident.events.all()
    assert (event.action, event.from_status, event.to_status) == ("reported", "", Status.REPORTED)
    assert (event.actor, event.role, event.at) == (inspector, "grid_inspector", at)


def test_case_numbers_count_per_district_and_year(report_world):
    first = report_case(report_world).incident
    second = report_case(report_world, cell="360502001001004").incident
    other_district = report_case(report_world, cell="360521001001001", actor="inspector-b").incident
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1
    assert other_district.number[4:10] == "360521"
    assert other_district.number.endswith("000001")


def test_the_reporters_phone_is_kept_encrypted_and_shown_masked(report_world):
    incident = report_case(
        report_world,
        actor="city",
        source=Source.HOTLINE,
        reporter_name="王先生",
        reporter_phone="138-0013-5678",
    ).incident
    assert incident.reporter_name == "王先生"
    assert incident.reporter_phone_masked == "138****5678"
    assert "13800135678" not in incident.reporter_phone_ciphertext
    assert pii.decrypt(incident.reporter_phone_ciphertext) == "13800135678"


def test_bad_input_is_refused_naming_every_field(report_world):
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        incident_report(
            actor=report_world.user("inspector-a"),
            source="fax",
            category=999_999,
            lon=200,
            lat="north",
            description="   ",
            reporter_phone="call me",
            at=timezone.now() + timedelta(hours=1),
        )
    details = caught.value.details
    assert set(details) == {
        "source",
        "category",
        "lon",
        "lat",
        "description",
        "reporter_phone",
        "at",
    }
    assert "between -180 and 180" in details["lon"]
    assert "description is required" in details["description"]
    assert not Incident.objects.exists()


def test_an_inactive_category_is_refused(report_world):
    category = catalogue_category("0104")
    category.active = False
    category.save(update_fields=["active"])
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        report_case(report_world, code="0104")
    assert "no longer in use" in caught.value.details["category"]


def test_a_category_may_be_given_by_id(report_world):
    lon, lat = report_world.point()
    result = incident_report(
        actor=report_world.user("inspector-a"),
        source=Source.INSPECTOR,
        category=catalogue_category("0401").id,
        lon=lon,
        lat=lat,
        description="路面塌陷约一平方米",
    )
    assert result.incident.category.code == "0401"
    assert result.incident.department == report_world.departments["district-a-zhujian"]


# --- who may report where ------------------------------------------------------------------


def test_an_inspector_outside_their_cells_is_refused(report_world):
    with translation.override("en"), pytest.raises(Forbidden) as caught:
        report_case(report_world, cell="360502001002001")
    assert "360502001002001, outside your grid cells" in caught.value.message
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("actor", "source", "cell", "allowed"),
    [
        ("inspector-a", Source.INSPECTOR, REPORT_CELL, True),
        ("inspector-a", Source.STAFF, REPORT_CELL, True),
        ("inspector-a", Source.HOTLINE, REPORT_CELL, False),
        ("inspector-b", Source.INSPECTOR, REPORT_CELL, False),
        ("community-a", Source.STAFF, "360502001001004", True),
        ("community-a", Source.STAFF, "360502001002001", False),
        ("community-a", Source.INSPECTOR, "360502001001004", False),
        ("street-a", Source.STAFF, "360502001002004", True),
        ("district-a", Source.STAFF, "360502001002004", True),
        ("district-a", Source.STAFF, "360521001001001", False),
        ("handler-a", Source.STAFF, "360502001002004", True),
        ("district-b", Source.STAFF, "360521001001001", True),
        ("city", Source.HOTLINE, "360521001002004", True),
        ("city", Source.CITIZEN, REPORT_CELL, True),
        ("city", Source.STAFF, REPORT_CELL, True),
        ("district-a", Source.HOTLINE, REPORT_CELL, False),
        ("nobody", Source.STAFF, REPORT_CELL, False),
    ],
)
def test_who_may_report_where(report_world, actor, source, cell, allowed):
    if allowed:
        result = report_case(report_world, actor=actor, source=source, cell=cell)
        assert result.incident.area_code == cell
        assert result.incident.source == source
    else:
        with pytest.raises(Forbidden):
            report_case(report_world, actor=actor, source=source, cell=cell)
        assert not Incident.objects.exists()


def test_a_superuser_and_the_system_may_report_anywhere(report_world, user_factory):
    admin = user_factory(username="report-admin", is_superuser=True)
    by_admin = report_case(report_world, actor=admin, source=Source.STAFF).incident
    by_system = report_case(report_world, actor=None, source=Source.CITIZEN).incident
    assert by_admin.events.get().role == "superuser"
    assert (by_system.reporter, by_system.events.get().role) == (None, "system")


def test_an_anonymous_or_inactive_user_may_not_report_nor_replay(report_world):
    from django.contrib.auth.models import AnonymousUser

    report_case(report_world, actor=None, source=Source.CITIZEN, external_id="open311-1")
    inactive = report_world.user("inspector-a")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    for actor in (AnonymousUser(), inactive):
        for external_id in (None, "open311-1"):
            with pytest.raises(Forbidden):
                report_case(report_world, actor=actor, external_id=external_id)
    assert Incident.objects.count() == 1


# --- the chain at report time ----------------------------------------------------------------


def test_the_chain_is_kept_after_a_boundary_change(report_world, tmp_path):
    # The east half of cell 001 (114.000–114.010, 27.810–27.820) is cut off: the new cell
    # covers only 114.000–114.005, under a new name.
    lon, lat = 114.0075, 27.815
    before = report_case(report_world, lonlat=(lon, lat)).incident
    old_cell = before.grid_cell
    path = write_geojson(
        tmp_path / "redrawn.geojson",
        [feature(REPORT_CELL, "1号网格(改)", box_geometry(114.0, 27.81, 114.005, 27.82))],
    )
    area_import(path=path, replace=True)
    new_cell = Area.objects.current().get(code=REPORT_CELL)
    assert new_cell.pk != old_cell.pk

    kept = Incident.objects.get(pk=before.pk)
    assert kept.grid_cell_id == old_cell.pk
    assert kept.chain["cell"] == {"id": old_cell.pk, "code": REPORT_CELL, "name": old_cell.name}
    assert kept.area_code == REPORT_CELL
    # the same point now lies in no cell: a new report goes to the city's unlocated queue
    after = report_case(report_world, lonlat=(lon, lat), actor="city", source=Source.STAFF)
    assert after.incident.grid_cell is None
    assert after.incident.area_code == "3605"
    # and a point still inside the redrawn cell gets the new row and name
    inside = report_case(report_world, lonlat=(114.002, 27.815)).incident
    assert inside.grid_cell_id == new_cell.pk
    assert inside.chain["cell"]["name"] == "1号网格(改)"


# --- facilities ------------------------------------------------------------------------------


def cover(report_world, *, cell=REPORT_CELL, dx=0.0, dy=0.0, code="0101"):
    lon, lat = report_world.point(cell, dx, dy)
    return make_facility(
        cell=report_world.area(cell),
        category=facility_category(code),
        location=Point(lon, lat, srid=4326),
    )


def test_a_component_report_names_a_nearby_facility_of_its_class(report_world):
    facility = cover(report_world, dx=0.0003)  # about 30 m east
    result = report_case(report_world, code="0101", kind=COMPONENT, facility=facility)
    assert result.incident.facility == facility
    by_id = report_case(report_world, code="0101", kind=COMPONENT, facility=facility.pk)
    assert by_id.incident.facility == facility


def test_a_facility_of_another_class_is_refused(report_world):
    lamp = cover(report_world, code="0118")
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        report_case(report_world, code="0101", kind=COMPONENT, facility=lamp)
    assert f"facility {lamp.code} is a 路灯, not a 上水井盖" == caught.value.message
    assert "facility" in caught.value.details


def test_a_facility_too_far_from_the_point_is_refused_with_the_distance(report_world):
    facility = cover(report_world, dx=0.0009)  # about 89 m east at 27.8° N
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        report_case(report_world, code="0101", kind=COMPONENT, facility=facility)
    assert 85 < caught.value.details["distance_m"] < 93
    assert "must be within 50 m" in caught.value.message
    assert not Incident.objects.exists()


def test_an_event_report_may_not_name_a_facility(report_world):
    facility = cover(report_world)
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        report_case(report_world, code="0102", facility=facility)
    assert "only a component" in caught.value.message


def test_a_facility_outside_the_reporters_areas_is_unknown_to_them(report_world):
    # The point is at the east edge of the inspector's cell 002; the facility 20 m further
    # east, in cell 360502001002001, which is not theirs.
    facility = cover(report_world, cell="360502001002001", dx=-0.0048)
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        report_case(
            report_world,
            code="0101",
            kind=COMPONENT,
            cell="360502001001002",
            dx=0.0048,
            facility=facility,
        )
    assert caught.value.message == f"there is no facility {facility.pk} in your areas"
    district = report_case(
        report_world,
        code="0101",
        kind=COMPONENT,
        cell="360502001001002",
        dx=0.0048,
        facility=facility,
        actor="district-a",
        source=Source.STAFF,
    )
    assert district.incident.facility == facility


# --- photos ----------------------------------------------------------------------------------


def test_photos_are_stored_with_the_report(report_world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    result = report_case(report_world, photos=[jpeg_upload("a.png"), jpeg_upload()])
    photos = list(IncidentPhoto.objects.filter(incident=result.incident))
    assert len(photos) == 2
    reported = result.incident.events.get(action="reported")
    for photo in photos:
        assert (photo.stage, photo.event, photo.content_type) == (
            PhotoStage.REPORT,
            reported,
            "image/jpeg",
        )
        assert (photo.width, photo.height) == (320, 240)
        assert photo.uploaded_by == report_world.user("inspector-a")
        assert (tmp_path / photo.image.name).is_file()


def test_a_bad_photo_refuses_the_whole_report(report_world, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        report_case(
            report_world,
            photos=[jpeg_upload(), SimpleUploadedFile("b.jpg", b"not a picture at all")],
        )
    assert caught.value.details == {
        "photos": {2: "“b.jpg” is not an image; send a JPEG, PNG or WebP photo"}
    }
    assert not Incident.objects.exists()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_external_id_twice_gives_the_same_case(report_world):
    first = report_case(report_world, external_id="phone-7f3a-0001")
    events = IncidentEvent.objects.count()
    again = report_case(
        report_world, external_id="phone-7f3a-0001", description="typed again, differently"
    )
    assert (first.created, again.created) == (True, False)
    assert again.incident.pk == first.incident.pk
    assert again.incident.description == "路边有一堆暴露垃圾"
    assert Incident.objects.count() == 1
    assert IncidentEvent.objects.count() == events


def test_another_reporters_external_id_is_a_conflict(report_world):
    report_case(report_world, external_id="shared-id")
    with pytest.raises(Conflict):
        report_case(report_world, external_id="shared-id", actor="community-a", source=Source.STAFF)
    assert Incident.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_reports_at_once_make_one_case(work_calendar):
    world = build_report_world()
    results = at_once(*[lambda: report_case(world, external_id="phone-race-0001")] * 2)
    assert not [result for result in results if isinstance(result, BaseException)], results
    assert sorted(result.created for result in results) == [False, True]
    assert results[0].incident.pk == results[1].incident.pk
    assert Incident.objects.filter(external_id="phone-race-0001").count() == 1
    assert IncidentEvent.objects.filter(incident=results[0].incident).count() == 1
    # the losing report's number went back: the next case takes the one after the winner's
    following = report_case(world).incident
    assert int(following.number[-6:]) == int(results[0].incident.number[-6:]) + 1


# --- cost ------------------------------------------------------------------------------------

# Reads: the actor's assignments, locate, the candidate rules, the chain's areas with their
# departments, the register deadline, duplicates. Writes, in a savepoint: the case number,
# the case, its events.
REPORT_QUERIES = 11


def test_a_report_takes_a_handful_of_queries(report_world, django_assert_max_num_queries):
    category = catalogue_category("0102")
    report_case(report_world)

    points = {cell: report_world.point(cell) for cell in ("360502001001003", "360521001001001")}

    def report(actor: str, cell: str):
        lon, lat = points[cell]
        return incident_report(
            actor=report_world.user(actor),
            source=Source.INSPECTOR,
            category=category,
            lon=lon,
            lat=lat,
            description="路边有一堆暴露垃圾",
        )

    with django_assert_max_num_queries(REPORT_QUERIES):
        result = report("inspector-a", "360502001001003")
    assert result.created
    assert len(result.duplicates) == 0
    # escalated three times, and with a likely duplicate: still the same queries
    with django_assert_max_num_queries(REPORT_QUERIES):
        report("inspector-b", "360521001001001")
    with django_assert_max_num_queries(REPORT_QUERIES):
        escalated = report("inspector-b", "360521001001001")
    assert escalated.incident.escalation_count == 3
    assert len(escalated.duplicates) == 1
