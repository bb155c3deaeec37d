"""Applications benchmark on the medium city: a counter's application flow end to end.

One flow is the six steps of an application that is decided by the department: receive
(every material handed in) → accept (受理通知书) → forward → approve (办结通知书) → issue →
rate, each step its own committed transaction, as at a real counter. Figures, in complete
applications per second on one connection:

- services: community.services.applications, one call per step;
- API: the same steps as six POSTs to /api/community/applications/… through Django's test
  Client in this process (session login; the clerk's five steps and the handler's approval),
  JSON in and out included, no HTTP server or network;
- naive baseline, in the same run: the same six steps written the way a first version would
  — no select_related or prefetching, lazy foreign keys read row by row, one query per
  material for what is on file and one INSERT per material, roles found by reading each
  assignment's area, the delegation found by scanning the counter's delegations in Python,
  the responsible department found by walking up the area tree one parent at a time, and
  the whole working calendar loaded for each receipt;
- queries per flow for each of the three (counted once, outside the timed runs).

The counter is the first community of the city. Its applicants are residents of that
community: those bench/residents.py imported when they are there, else (and for any
shortfall) residents made here and kept, marked by their address. Every application made
is deleted at the end of the run with the materials put on file for it, so each run starts
from the same state.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.city import CITY_CODE
from community import pii
from community.idnumber import check_character
from community.models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationStatus,
    Delegation,
    DelegationPower,
    Delivery,
    ItemKind,
    ItemType,
    MaterialForm,
    MaterialStatus,
    MaterialType,
    NoticeKind,
    Resident,
    ResidentMaterial,
    ServiceItem,
    ServiceMaterial,
    ServiceObject,
)
from community.services import applications as services
from grid.models import Area, AreaLevel, Assignment, Department, DepartmentKind, Role
from grid.services.sequences import sequence_next
from grid.workcalendar import WorkCalendar

SERVICE_FLOWS = int(os.environ.get("WANGGE_BENCH_APPLICATION_FLOWS", "300"))
API_FLOWS = int(os.environ.get("WANGGE_BENCH_APPLICATION_API_FLOWS", "200"))
NAIVE_FLOWS = int(os.environ.get("WANGGE_BENCH_APPLICATION_NAIVE_FLOWS", "100"))
ROUNDS = 3
ITEM_CODE = "BENCH-APPLICATION-0001"
KIND_CODE = "minzheng"
BENCH_ADDRESS = "申请基准路"
MATERIALS = (
    ("id_card", "居民身份证", 3650),
    ("hukou", "户口簿", None),
    ("income", "收入证明", 90),
    ("photo", "近期免冠照片", 180),
    ("form", "申请表", None),
)


# ---------------------------------------------------------------- the scene


def _bench_id_numbers(region: str, count: int) -> list[str]:
    numbers = []
    birth = date(1950, 1, 1)
    for index in range(count):
        day = birth + timedelta(days=index // 100)
        first17 = f"{region}{day:%Y%m%d}{900 + index % 100:03d}"[:17]
        numbers.append(first17 + check_character(first17))
    return sorted(set(numbers))


def scene(*, needed: int, progress: Callable[[str], None]) -> dict:
    """The counter, its clerk, the department and its handler, the item and `needed`
    applicants, made once and kept."""
    counter = (
        Area.objects.current()
        .filter(level=AreaLevel.COMMUNITY, code__startswith=CITY_CODE)
        .order_by("code")
        .first()
    )
    district = Area.objects.current().get(code=counter.code[:6])
    kind, _ = DepartmentKind.objects.get_or_create(code=KIND_CODE, defaults={"name": "民政"})
    department, _ = Department.objects.get_or_create(
        area=district, name=f"{district.name}民政局", defaults={"kind": kind}
    )
    users = get_user_model().objects
    clerk, _ = users.get_or_create(username="bench-clerk")
    handler, _ = users.get_or_create(username="bench-handler")
    Assignment.objects.get_or_create(user=clerk, area=counter, role=Role.COMMUNITY_STAFF)
    Assignment.objects.get_or_create(
        user=handler, area=district, role=Role.DEPARTMENT_HANDLER, department=department
    )
    item, created = ServiceItem.objects.get_or_create(
        implementation_code=ITEM_CODE,
        defaults={
            "name": "基准测试：最低生活保障申请",
            "item_type": ItemType.BENEFIT,
            "basic_code": "BENCH",
            "exercise_level": AreaLevel.DISTRICT,
            "implementing_body": department.name,
            "department_kind": kind,
            "kind": ItemKind.PROMISED,
            "legal_limit_days": 30,
            "promised_limit_days": 15,
            "service_object": ServiceObject.PERSON,
        },
    )
    if created:
        for position, (code, name, valid_days) in enumerate(MATERIALS):
            material_type, _ = MaterialType.objects.get_or_create(
                code=f"bench-{code}", defaults={"name": name, "valid_days": valid_days}
            )
            ServiceMaterial.objects.create(
                item=item,
                material_type=material_type,
                form=MaterialForm.COPY,
                position=position,
            )
    Delegation.objects.get_or_create(
        item=item,
        counter=counter,
        defaults={
            "counter_code": counter.code,
            "power": DelegationPower.ACCEPT_FORWARD,
            "since": date(2026, 1, 1),
        },
    )
    residents = list(
        Resident.objects.filter(community=counter)
        .order_by("id")
        .values_list("pk", flat=True)[:needed]
    )
    if len(residents) < needed:
        missing = needed - len(residents)
        progress(f"making {missing} applicants in {counter.code} (kept for later runs)")
        numbers = _bench_id_numbers(counter.code[:6], needed * 2)
        known = set(
            Resident.objects.filter(
                id_number_digest__in=[pii.lookup_digest(n) for n in numbers]
            ).values_list("id_number_digest", flat=True)
        )
        fresh = [n for n in numbers if pii.lookup_digest(n) not in known][:missing]
        Resident.objects.bulk_create(
            [
                Resident(
                    name=f"申请人{index}",
                    id_number_ciphertext=pii.encrypt(number),
                    id_number_digest=pii.lookup_digest(number),
                    id_number_masked=pii.mask_id_number(number),
                    birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                    sex="M" if int(number[16]) % 2 else "F",
                    community=counter,
                    area_code=counter.code,
                    address=f"{BENCH_ADDRESS}{index}号",
                )
                for index, number in enumerate(fresh)
            ]
        )
        residents = list(
            Resident.objects.filter(community=counter)
            .order_by("id")
            .values_list("pk", flat=True)[:needed]
        )
    return {
        "counter": counter,
        "department": department,
        "clerk": clerk,
        "handler": handler,
        "item": item,
        "requirements": list(item.materials.order_by("position").values_list("pk", flat=True)),
        "residents": residents,
        "made_here": Resident.objects.filter(
            pk__in=residents, address__startswith=BENCH_ADDRESS
        ).count(),
    }


def clean_up(item: ServiceItem) -> int:
    """Remove every application of the bench item and what it put on file."""
    with transaction.atomic():
        ResidentMaterial.objects.filter(source_application__item=item).delete()
        _total, by_model = Application.objects.filter(item=item).delete()
    return by_model.get(Application._meta.label, 0)


# ---------------------------------------------------------------- the three flows


def service_flow(s: dict, resident_id: int) -> None:
    clerk = s["clerk"]
    application = services.application_receive(
        actor=clerk,
        applicant=Resident.objects.get(pk=resident_id),
        item=s["item"],
        counter=s["counter"],
        received_materials=s["requirements"],
    )
    pk = application.pk
    services.application_accept(actor=clerk, application_id=pk)
    services.application_forward(actor=clerk, application_id=pk)
    services.application_approve(actor=s["handler"], application_id=pk)
    services.application_issue(actor=clerk, application_id=pk, delivery=Delivery.PICKUP)
    services.application_rate(actor=clerk, application_id=pk, rating=5)


def _post(client: Client, url: str, body: dict, expected: int = 200) -> dict:
    answer = client.post(url, json.dumps(body), content_type="application/json")
    if answer.status_code != expected:
        raise RuntimeError(f"{url}: {answer.status_code} {answer.content[:300]!r}")
    return answer.json()


def api_flow(s: dict, resident_id: int) -> None:
    clerk, handler = s["clients"]
    created = _post(
        clerk,
        "/api/community/applications/receive/",
        {
            "counter": s["counter"].code,
            "applicant": resident_id,
            "item": ITEM_CODE,
            "received_materials": s["requirements"],
        },
        201,
    )
    base = f"/api/community/applications/{created['id']}/"
    _post(clerk, base + "accept/", {"status": "received"})
    _post(clerk, base + "forward/", {"status": "accepted"})
    _post(handler, base + "approve/", {"status": "forwarded"})
    _post(clerk, base + "issue/", {"status": "approved", "delivery": "pickup"})
    _post(clerk, base + "rate/", {"status": "issued", "rating": 5})


def _naive_roles(user, application: Application) -> set[str]:
    roles = set()
    for assignment in Assignment.objects.filter(user=user, active=True):
        area = assignment.area  # one query per assignment
        if area.valid_to is not None:
            continue
        if assignment.role in (Role.COMMUNITY_STAFF, Role.STREET_OFFICER):
            if application.counter.code.startswith(area.code):
                roles.add(assignment.role)
        elif (
            assignment.role == Role.DEPARTMENT_HANDLER
            and assignment.department_id == application.department_id
        ):
            roles.add(assignment.role)
    return roles


def _naive_step(user, pk: int, sources: set[str], role: str):
    application = Application.objects.select_for_update().get(pk=pk)
    if application.status not in sources or role not in _naive_roles(user, application):
        raise RuntimeError(f"naive flow refused at {application.status}")
    return application


def _naive_event(application, user, action, role, before, note="") -> None:
    ApplicationEvent.objects.create(
        application=application,
        action=action,
        from_status=before,
        to_status=application.status,
        actor=user,
        role=role,
        at=timezone.now(),
        note=note,
    )


def naive_flow(s: dict, resident_id: int) -> None:
    clerk, handler = s["clerk"], s["handler"]
    staff = Role.COMMUNITY_STAFF
    now = timezone.now()
    with transaction.atomic():
        applicant = Resident.objects.get(pk=resident_id)
        counter = Area.objects.get(pk=s["counter"].pk)
        item = ServiceItem.objects.get(pk=s["item"].pk)
        power = None
        for delegation in Delegation.objects.filter(counter=counter):
            if delegation.item_id == item.pk and delegation.active:
                power = delegation.power
        if power is None:
            raise RuntimeError("not delegated")
        calendar = WorkCalendar.load()
        deadline, warn_at, legal = services.deadlines_from(
            calendar=calendar, received_at=now, item=item
        )
        sequence = sequence_next(key=f"application:{counter.code}:{timezone.localtime(now):%Y%m%d}")
        application = Application.objects.create(
            number=f"{counter.code}-{timezone.localtime(now):%Y%m%d}-{sequence:04d}",
            item=item,
            applicant=applicant,
            counter=counter,
            counter_code=counter.code,
            status=ApplicationStatus.RECEIVED,
            power=power,
            received_at=now,
            received_by=clerk,
            deadline=deadline,
            warn_at=warn_at,
            legal_deadline=legal,
        )
        for requirement in item.materials.all():
            material_type = requirement.material_type  # one query per material
            on_file = (
                ResidentMaterial.objects.filter(resident=applicant, material_type=material_type)
                .order_by("-received_at")
                .first()
            )
            if requirement.pk in s["requirements"]:
                status, reused = MaterialStatus.RECEIVED, None
            elif on_file is not None and requirement.reusable:
                status, reused = MaterialStatus.REUSED, on_file
            else:
                status, reused = MaterialStatus.MISSING, None
            ApplicationMaterial(
                application=application,
                requirement=requirement,
                status=status,
                reused_from=reused,
            ).save()
        _naive_event(application, clerk, "receive", staff, "")
    pk = application.pk

    with transaction.atomic():
        application = _naive_step(clerk, pk, {ApplicationStatus.RECEIVED}, staff)
        materials = list(application.materials.all())
        for material in materials:
            if material.status == MaterialStatus.MISSING and material.requirement.required:
                raise RuntimeError("missing material")
        for material in materials:
            if material.status == MaterialStatus.RECEIVED and material.requirement.reusable:
                material_type = material.requirement.material_type
                ResidentMaterial(
                    resident=application.applicant,
                    material_type=material_type,
                    received_at=timezone.now(),
                    valid_until=date.today() + timedelta(days=material_type.valid_days)
                    if material_type.valid_days
                    else None,
                    source_application=application,
                ).save()
        application.status = ApplicationStatus.ACCEPTED
        application.accepted_at = timezone.now()
        application.save()
        services._issue_notice(
            application=application,
            kind=NoticeKind.ACCEPTANCE,
            actor=clerk,
            at=timezone.now(),
            materials=materials,
        )
        _naive_event(application, clerk, "accept", staff, ApplicationStatus.RECEIVED)

    with transaction.atomic():
        application = _naive_step(clerk, pk, {ApplicationStatus.ACCEPTED}, staff)
        area, department = application.counter, None
        while area is not None and department is None:
            department = Department.objects.filter(
                area=area, kind=application.item.department_kind, active=True
            ).first()
            area = area.parent  # one query per level
        application.department = department
        application.forwarded_at = timezone.now()
        application.status = ApplicationStatus.FORWARDED
        application.save()
        _naive_event(application, clerk, "forward", staff, ApplicationStatus.ACCEPTED)

    with transaction.atomic():
        application = _naive_step(
            handler, pk, {ApplicationStatus.FORWARDED}, Role.DEPARTMENT_HANDLER
        )
        application.status = ApplicationStatus.APPROVED
        application.decided_at = timezone.now()
        application.save()
        services._issue_notice(
            application=application,
            kind=NoticeKind.COMPLETION,
            actor=handler,
            at=timezone.now(),
        )
        _naive_event(
            application, handler, "approve", Role.DEPARTMENT_HANDLER, ApplicationStatus.FORWARDED
        )

    with transaction.atomic():
        application = _naive_step(clerk, pk, {ApplicationStatus.APPROVED}, staff)
        application.status = ApplicationStatus.ISSUED
        application.issued_at = timezone.now()
        application.delivery = Delivery.PICKUP
        application.save()
        _naive_event(application, clerk, "issue", staff, ApplicationStatus.APPROVED)

    with transaction.atomic():
        application = _naive_step(clerk, pk, {ApplicationStatus.ISSUED}, staff)
        if application.rating is not None:
            raise RuntimeError("already rated")
        application.rating = 5
        application.rated_at = timezone.now()
        application.save()
        _naive_event(application, clerk, "rate", staff, ApplicationStatus.ISSUED)


# ---------------------------------------------------------------- measuring


def _queries(flow, s: dict, resident_id: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        flow(s, resident_id)
    return len(captured.captured_queries)


def _batch_rate(flow, s: dict, batch: list[int]) -> float:
    started = time.perf_counter()
    for resident_id in batch:
        flow(s, resident_id)
    return len(batch) / (time.perf_counter() - started)


def _figures(rates: list[float], applications: int) -> dict:
    median = statistics.median(rates)
    return {
        "applications": applications,
        "rounds": len(rates),
        "applications_per_second": round(median, 1),
        "ms_per_application": round(1000 / median, 1),
        "steps_per_second": round(6 * median, 1),
        "all_rounds": [round(rate, 1) for rate in rates],
    }


def interleaved(flows: dict, s: dict, pool: list[int], sizes: dict, progress) -> dict:
    """Each flow's rate as the median of ROUNDS rounds; the rounds of the three flows take
    turns, so a machine that gets busier or quieter during the run weighs on all alike.
    Every flow gets applicants of its own (fresh: nothing on file yet)."""
    batches = {}
    for name, size in sizes.items():
        batches[name], pool = pool[:size], pool[size:]
    rates: dict[str, list[float]] = {name: [] for name in flows}
    for index in range(ROUNDS):
        for name, flow in flows.items():
            per_round = sizes[name] // ROUNDS
            batch = batches[name][index * per_round : (index + 1) * per_round]
            rates[name].append(_batch_rate(flow, s, batch))
        progress(
            f"round {index + 1}/{ROUNDS}: "
            + ", ".join(f"{name} {rates[name][-1]:.1f}/s" for name in flows)
        )
    return {name: _figures(rates[name], sizes[name] // ROUNDS * ROUNDS) for name in flows}


def run(*, progress: Callable[[str], None]) -> dict:
    needed = SERVICE_FLOWS + API_FLOWS + NAIVE_FLOWS + 3
    s = scene(needed=needed, progress=progress)
    leftovers = clean_up(s["item"])
    if leftovers:
        progress(f"removed {leftovers} applications an earlier run left behind")
    clerk_client, handler_client = Client(SERVER_NAME="localhost"), Client(SERVER_NAME="localhost")
    clerk_client.force_login(s["clerk"])
    handler_client.force_login(s["handler"])
    s["clients"] = (clerk_client, handler_client)
    residents = s["residents"]
    pool = residents[3:]
    load = os.getloadavg()
    try:
        counts = {
            "services": _queries(service_flow, s, residents[0]),
            "api": _queries(api_flow, s, residents[1]),
            "naive": _queries(naive_flow, s, residents[2]),
        }
        progress(
            f"{SERVICE_FLOWS} flows through the services, {API_FLOWS} through the API, "
            f"{NAIVE_FLOWS} naive, in {ROUNDS} interleaved rounds"
        )
        figures = interleaved(
            {"services": service_flow, "api": api_flow, "naive": naive_flow},
            s,
            pool,
            {"services": SERVICE_FLOWS, "api": API_FLOWS, "naive": NAIVE_FLOWS},
            progress,
        )
        service_figures, api_figures, naive_figures = (
            figures["services"],
            figures["api"],
            figures["naive"],
        )
        made = Application.objects.filter(item=s["item"], status=ApplicationStatus.ISSUED)
        complete = made.filter(rating=5).count()
    finally:
        removed = clean_up(s["item"])
    for name, figures in (
        ("services", service_figures),
        ("api", api_figures),
        ("naive", naive_figures),
    ):
        figures["queries_per_application"] = counts[name]
    ratio = service_figures["applications_per_second"] / naive_figures["applications_per_second"]
    # The API against the services it calls: what HTTP handling, authentication and the
    # detail answered after every step add (the baseline is a services-level one).
    api_share = api_figures["applications_per_second"] / service_figures["applications_per_second"]
    request_ms = api_figures["ms_per_application"] / 6
    counter = s["counter"]
    print()
    print(
        f"counter {counter.code} {counter.name}; item {ITEM_CODE} with {len(MATERIALS)} "
        f"materials; applicants: {len(residents):,} residents of the community "
        f"({s['made_here']:,} of them made here); {os.cpu_count()} CPUs, load average at "
        f"start {load[0]:.2f}"
    )
    print("flow: receive → accept → forward → approve → issue → rate, each step committed")
    for label, figures in (
        ("services", service_figures),
        ("API (test Client, JSON)", api_figures),
        ("naive baseline (services' steps, per-row ORM)", naive_figures),
    ):
        print(
            f"  {label:<46} {figures['applications_per_second']:>7.1f} applications/s"
            f"  ({figures['ms_per_application']:.1f} ms each, "
            f"{figures['queries_per_application']} queries)"
        )
    print(
        f"  services ÷ naive: {ratio:.1f}×; the API runs at {api_share:.0%} of the services' "
        f"rate ({request_ms:.0f} ms a request, the application's detail answered each time)"
    )
    print(f"  {complete} flows completed and rated; {removed} applications removed afterwards")
    return {
        "counter": counter.code,
        "materials_per_item": len(MATERIALS),
        "services": service_figures,
        "api": api_figures,
        "naive": naive_figures,
        "services_over_naive": round(ratio, 2),
        "api_over_services": round(api_share, 2),
        "api_ms_per_request": round(request_ms, 1),
        "flows_completed": complete,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(value, 2) for value in load],
    }
