"""Residents benchmark on the medium city: import throughput and lookup by full ID number.

- import: 1,000,000 generated residents (CSV, every row with a point inside the city, a
  phone number for most, households of one to four members, care tags for some) through
  community.services.resident_import — file → checks → locate → encryption → COPY → insert;
  rows per second of the whole call;
- the naive baseline, in the same run: a per-row ORM loop on a sample of the same rows —
  check the ID and phone, encrypt both (Fernet, one value at a time), digest, locate the
  one point (locate_point), look for a duplicate, get or create the household, create the
  resident, set its care tags — each row in its own savepoint;
- lookup by full ID number: p95 over random residents of the 1,000,000 through the selector
  (resident_find_by_id_number) and through the API (POST /api/community/residents/lookup,
  Django's test Client in this process, session login), as a city manager;
- the named baselines, in the same run: the same digest query with index scans switched off
  (a sequential scan of the table), and decrypt-and-compare over the resident's community
  (what a lookup would cost if the ID were only encrypted, not digested).

The 1,000,000 residents the lookups run on are imported once (committed, marked by their
address) and kept. Every measured import imports a second file of the same size with other ID
numbers into the table that holds them, inside a transaction that is rolled back, so each
run measures the same work and leaves the database as it found it.
"""

from __future__ import annotations

import csv
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import shapely
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client

from bench.city import CITY_CODE
from community import pii
from community.idnumber import id_number_check
from community.models import CareTag, Household, Resident
from community.phone import normalise_phone, phone_error
from community.selectors.residents import resident_find_by_id_number
from community.services.resident_import import (
    ImportProgress,
    ResidentImportFailed,
    ResidentImportReport,
    resident_import,
)
from grid.models import Area, AreaLevel, Assignment, Role
from grid.selectors.locate import locate_point, locate_points

RESIDENTS = int(os.environ.get("WANGGE_BENCH_RESIDENTS", "1000000"))
NAIVE_ROWS = 2_000
LOOKUPS = 1_000
SEQSCAN_LOOKUPS = 20
DECRYPT_LOOKUPS = 50
SEED = 20_260_301
# Marks the residents the lookups run on, so a later run finds them (and nothing else); a
# set of another size gets its own marker, seed and household numbers.
KEPT_ADDRESS = "基准路" if RESIDENTS == 1_000_000 else f"基准{RESIDENTS}路"
KEPT_SEED = SEED if RESIDENTS == 1_000_000 else SEED + RESIDENTS
KEPT_HOUSEHOLDS = "B0" if RESIDENTS == 1_000_000 else f"B0s{RESIDENTS}"
MEASURED_ADDRESS = "测量路"
URL = "/api/community/residents/lookup"
HEADER = ["姓名", "身份证号", "手机号", "住址", "经度", "纬度", "户号", "与户主关系", "关怀标签"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅林"
RELATIONS = ("户主", "配偶", "子", "女", "孙子", "孙女", "父亲", "母亲")
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_CHECK = np.array(list("10X98765432"))


def _stored(numbers: list[str]) -> set[str]:
    """Those of `numbers` that a stored resident has (other benchmarks make residents too)."""
    by_digest = {pii.lookup_digest(number): number for number in numbers}
    digests = list(by_digest)
    stored: set[str] = set()
    for start in range(0, len(digests), 50_000):
        found = Resident.objects.filter(
            id_number_digest__in=digests[start : start + 50_000]
        ).values_list("id_number_digest", flat=True)
        stored.update(by_digest[digest] for digest in found)
    return stored


def id_numbers(count: int, *, rng: np.random.Generator, half: int) -> list[str]:
    """`count` distinct valid ID numbers of the city's districts that no stored resident
    has. `half` (0 or 1) splits the sequence numbers so that the two files never share a
    number."""
    regions = ["360502", "360521", "360503", "360524"]
    first = date(1930, 1, 1).toordinal()
    last = date(2023, 12, 31).toordinal()
    numbers: set[str] = set()
    while len(numbers) < count:
        need = int((count - len(numbers)) * 1.05) + 10
        days = rng.integers(first, last, need)
        sequence = rng.integers(0, 500, need) + 500 * half
        region = rng.integers(0, len(regions), need)
        stems = [
            f"{regions[r]}{date.fromordinal(int(d)):%Y%m%d}{s:03d}"
            for r, d, s in zip(region, days, sequence, strict=True)
        ]
        digits = np.frombuffer("".join(stems).encode(), dtype=np.uint8).reshape(-1, 17) - 48
        checks = _CHECK[(digits @ _WEIGHTS) % 11]
        drawn = [stem + check for stem, check in zip(stems, checks, strict=True)]
        taken = _stored(drawn)
        for number in drawn:
            if number not in taken:
                numbers.add(number)
                if len(numbers) == count:
                    break
    ordered = sorted(numbers)
    rng.shuffle(ordered)
    return ordered


def city_points(count: int, *, seed: int) -> np.ndarray:
    """`count` points inside grid cells of the city, rounded to the 6 decimals the file holds
    (a point generated next to the city's edge can fall outside once rounded: such points
    are dropped and others drawn)."""
    kept = np.empty((0, 2))
    attempt = 0
    while len(kept) < count:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ST_AsBinary(ST_GeneratePoints(boundary, %s, %s)) FROM grid_area "
                "WHERE code = %s AND level = %s AND valid_to IS NULL",
                [count - len(kept) + 10, seed + attempt, CITY_CODE, AreaLevel.CITY],
            )
            drawn = shapely.get_coordinates(shapely.from_wkb(bytes(cursor.fetchone()[0])))
        drawn = np.round(drawn, 6)
        located = locate_points(points=drawn.tolist())
        inside = np.array([location is not None for location in located], dtype=bool)
        kept = np.concatenate([kept, drawn[inside]])
        attempt += 1
    return kept[:count]


def write_file(
    path: Path, *, count: int, half: int, address: str, seed: int, household_prefix: str
) -> None:
    """A CSV file of `count` residents in households of 1–4 sharing one point."""
    rng = np.random.default_rng(seed)
    ids = id_numbers(count, rng=rng, half=half)
    sizes = rng.integers(1, 5, count)
    phones = [
        f"1{prefix}{number:09d}"
        for prefix, number in zip(
            rng.integers(3, 10, count).tolist(), rng.integers(0, 10**9, count).tolist(), strict=True
        )
    ]
    households = int(np.searchsorted(np.cumsum(sizes), count)) + 1
    points = city_points(households, seed=seed)
    tags = [tag.name for tag in CareTag.objects.order_by("code")]
    with path.open("w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(HEADER)
        row = 0
        for household in range(households):
            lon, lat = points[household]
            for member in range(int(sizes[household])):
                if row == count:
                    break
                phone = phones[row] if row % 5 else ""
                care = "、".join(rng.choice(tags, 2, replace=False)) if row % 10 == 0 else ""
                writer.writerow(
                    [
                        SURNAMES[row % len(SURNAMES)] + GIVEN[(row * 7) % len(GIVEN)],
                        ids[row],
                        phone,
                        f"{address}{household}号",
                        f"{lon:.6f}",
                        f"{lat:.6f}",
                        f"{household_prefix}-{household}",
                        RELATIONS[min(member, len(RELATIONS) - 1)],
                        care,
                    ]
                )
                row += 1


def bench_user():
    user, _ = get_user_model().objects.get_or_create(username="bench-residents")
    city = Area.objects.current().get(code=CITY_CODE, level=AreaLevel.CITY)
    Assignment.objects.get_or_create(user=user, area=city, role=Role.CITY_MANAGER)
    return user


class _Rollback(Exception):
    """Leaves a measured import's transaction, undoing it."""


def _progress_every(progress: Callable[[str], None], seconds: float = 15.0):
    last = [0.0]

    def report(step: ImportProgress) -> None:
        if step.seconds - last[0] >= seconds:
            last[0] = step.seconds
            progress(
                f"{step.stage}: {step.checked:,} rows read and checked, {step.written:,} "
                f"written, {step.seconds:.0f} s"
            )

    return report


def _import(path: Path, *, user, progress: Callable[[str], None]) -> ResidentImportReport:
    """resident_import, and if the generated file has a problem, the first problems."""
    try:
        return resident_import(actor=user, source=path, progress=_progress_every(progress))
    except ResidentImportFailed as failure:
        shown = "; ".join(
            f"row {p.row} {p.column}: {p.reason}" for p in failure.report.problems[:5]
        )
        raise SystemExit(f"the generated file {path.name} has problems: {shown}") from failure


def measured_import(path: Path, *, user, progress: Callable[[str], None]) -> dict:
    started = time.perf_counter()
    try:
        with transaction.atomic():
            report = _import(path, user=user, progress=progress)
            seconds = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return {
        "rows": report.rows,
        "written": report.written,
        "households_created": report.households_created,
        "problems": len(report.problems),
        "seconds": round(seconds, 1),
        "rows_per_second": round(report.rows / seconds),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "path": "CSV file → community.services.resident_import (checks, locate_points, "
        "encryption, COPY, INSERT … SELECT), rolled back afterwards",
    }


def naive_import(path: Path, *, user, rows: int) -> dict:
    """The per-row ORM loop a first version would write, on the file's first `rows` rows."""
    tags = {}
    for tag in CareTag.objects.all():
        tags[tag.code] = tags[tag.name] = tag
    today = date.today()
    with path.open(encoding="utf-8") as source:
        reader = csv.reader(source)
        next(reader)
        sample = [next(reader) for _ in range(rows)]
    written = 0
    started = time.perf_counter()
    try:
        with transaction.atomic():
            for name, raw_id, raw_phone, address, lon, lat, number, relation, care in sample:
                with transaction.atomic():
                    parsed = id_number_check(raw_id, today=today)
                    if isinstance(parsed, str) or (raw_phone and phone_error(raw_phone)):
                        continue
                    phone = normalise_phone(raw_phone) if raw_phone else ""
                    located = locate_point(lon=float(lon), lat=float(lat))
                    if located is None:
                        continue
                    digest = pii.lookup_digest(parsed.value)
                    if Resident.objects.filter(id_number_digest=digest).exists():
                        continue
                    household, _ = Household.objects.get_or_create(
                        community_id=located.community.id,
                        number=number,
                        defaults={"area_code": located.cell.code, "grid_cell_id": located.cell.id},
                    )
                    resident = Resident.objects.create(
                        name=name,
                        id_number_ciphertext=pii.encrypt(parsed.value),
                        id_number_digest=digest,
                        id_number_masked=pii.mask_id_number(parsed.value),
                        birth_date=parsed.birth_date,
                        sex=parsed.sex,
                        phone_ciphertext=pii.encrypt(phone) if phone else "",
                        phone_digest=pii.lookup_digest(phone) if phone else "",
                        phone_masked=pii.mask_phone(phone) if phone else "",
                        household=household,
                        relation_to_head=relation,
                        community_id=located.community.id,
                        grid_cell_id=located.cell.id,
                        area_code=located.cell.code,
                        address=address,
                        location=Point(float(lon), float(lat), srid=4326),
                    )
                    if care:
                        resident.care_tags.set([tags[item] for item in care.split("、")])
                    written += 1
            seconds = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return {
        "rows": rows,
        "written": written,
        "what": "per row, in its own savepoint: check ID and phone, Fernet-encrypt both one "
        "at a time, digest, locate_point, duplicate query, household get_or_create, "
        "Resident.objects.create, care_tags.set (a real loop would also commit per row)",
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds, 1),
    }


def _p95(milliseconds: list[float]) -> float:
    return (
        statistics.quantiles(milliseconds, n=100)[94]
        if len(milliseconds) >= 20
        else max(milliseconds)
    )


def _timings(samples: list[str], call: Callable[[str], object]) -> dict:
    for value in samples[:10]:
        call(value)
    milliseconds = []
    for value in samples:
        started = time.perf_counter()
        call(value)
        milliseconds.append((time.perf_counter() - started) * 1000)
    return {
        "lookups": len(samples),
        "median_ms": round(statistics.median(milliseconds), 3),
        "p95_ms": round(_p95(milliseconds), 3),
        "max_ms": round(max(milliseconds), 3),
    }


def lookups(sample: list[str], *, user) -> dict:
    """Lookups of these full ID numbers (of random kept residents), and the baselines on the
    first of them."""

    def by_selector(value: str) -> None:
        resident_find_by_id_number(user=user, id_number=value)

    client = Client(SERVER_NAME="localhost")
    client.force_login(user)

    def by_api(value: str) -> None:
        response = client.post(URL, {"id_number": value}, content_type="application/json")
        if response.status_code != 200:
            raise RuntimeError(f"lookup answered {response.status_code}")

    table = Resident._meta.db_table

    def seqscan(value: str) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
            cursor.execute(
                f"SELECT id FROM {table} WHERE id_number_digest = %s AND area_code LIKE %s",
                [pii.lookup_digest(value), CITY_CODE + "%"],
            )
            assert cursor.fetchone() is not None

    communities = dict(
        Resident.objects.filter(
            id_number_digest__in=[pii.lookup_digest(v) for v in sample]
        ).values_list("id_number_digest", "community_id")
    )

    def decrypt_and_compare(value: str) -> None:
        community = communities[pii.lookup_digest(value)]
        tokens = Resident.objects.filter(community_id=community).values_list(
            "id", "id_number_ciphertext"
        )
        assert any(pii.decrypt(token) == value for _id, token in tokens)

    per_community = statistics.median(
        Resident.objects.filter(community_id__in=set(communities.values()))
        .values("community_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    return {
        "selector": _timings(sample, by_selector),
        "api": {
            **_timings(sample, by_api),
            "client": "Django test Client in-process, session login, no HTTP server",
        },
        "baseline_seqscan": {
            **_timings(sample[:SEQSCAN_LOOKUPS], seqscan),
            "what": "the same digest query with index and bitmap scans off (sequential scan)",
        },
        "baseline_decrypt_community": {
            **_timings(sample[:DECRYPT_LOOKUPS], decrypt_and_compare),
            "what": "fetch every ciphertext of the resident's community, decrypt and compare "
            "(no digest)",
            "residents_per_community_median": per_community,
        },
    }


def kept_sample(count: int) -> list[str]:
    """The full ID numbers of `count` random kept residents (decrypted: the file that made
    them is not kept)."""
    tokens = (
        Resident.objects.filter(address__startswith=KEPT_ADDRESS)
        .order_by("?")
        .values_list("id_number_ciphertext", flat=True)[:count]
    )
    return [pii.decrypt(token) for token in tokens]


def kept_ensure(folder: Path, *, user, progress: Callable[[str], None]) -> dict:
    """The kept residents, imported first when missing. A set of another size
    (WANGGE_BENCH_RESIDENTS) has its own marker, seed and household numbers, and none is
    ever deleted (other benchmarks may hold applications of them)."""
    present = Resident.objects.filter(address__startswith=KEPT_ADDRESS).count()
    if present == RESIDENTS:
        return {"present": present}
    if present:
        # An import is one transaction: a set is there whole or not at all.
        raise SystemExit(
            f"{present:,} residents are marked {KEPT_ADDRESS!r}, not {RESIDENTS:,}: "
            "they were not written by this benchmark"
        )
    path = folder / "kept.csv"
    progress(f"writing the file of the {RESIDENTS:,} kept residents")
    write_file(
        path,
        count=RESIDENTS,
        half=0,
        address=KEPT_ADDRESS,
        seed=KEPT_SEED,
        household_prefix=KEPT_HOUSEHOLDS,
    )
    progress(f"importing the {RESIDENTS:,} kept residents (committed, once)")
    started = time.perf_counter()
    report = _import(path, user=user, progress=progress)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE community_resident; ANALYZE community_household")
    return {
        "imported": report.written,
        "seconds": round(seconds, 1),
        "rows_per_second": round(report.rows / seconds),
    }


def run(*, progress: Callable[[str], None]) -> dict:
    user = bench_user()
    with tempfile.TemporaryDirectory(prefix="wangge-bench-residents-") as name:
        folder = Path(name)
        seeding = kept_ensure(folder, user=user, progress=progress)
        total = Resident.objects.count()
        measured_path = folder / "measured.csv"
        progress(f"writing the measured file of {RESIDENTS:,} other residents")
        write_file(
            measured_path,
            count=RESIDENTS,
            half=1,
            address=MEASURED_ADDRESS,
            seed=KEPT_SEED + 1,
            household_prefix="B1",
        )
        progress(f"import of {RESIDENTS:,} rows into a table of {total:,} residents (rolled back)")
        imported = measured_import(measured_path, user=user, progress=progress)
        progress(f"naive per-row loop on the first {NAIVE_ROWS:,} rows of the same file")
        naive = naive_import(measured_path, user=user, rows=NAIVE_ROWS)
    progress(f"lookups by full ID number among {total:,} residents")
    lookup = lookups(kept_sample(LOOKUPS), user=user)
    ratio = imported["rows_per_second"] / naive["rows_per_second"]

    print()
    print(f"residents in the table: {total:,} (kept: {RESIDENTS:,}); {os.cpu_count()} CPUs")
    print(
        f"import, {imported['rows']:,} CSV rows ({imported['file_mb']} MB) through resident_import: "
        f"{imported['seconds']} s, {imported['rows_per_second']:,} rows/s "
        f"({imported['written']:,} residents, {imported['households_created']:,} households)"
    )
    print(
        f"naive per-row ORM loop, {naive['rows']:,}-row sample: {naive['rows_per_second']:,} "
        f"rows/s   ratio: {ratio:.0f}x"
    )
    for label, key in (("selector", "selector"), ("API (test Client)", "api")):
        figures = lookup[key]
        print(
            f"lookup by ID number, {label}, {figures['lookups']:,} lookups: "
            f"median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms"
        )
    seq = lookup["baseline_seqscan"]
    dec = lookup["baseline_decrypt_community"]
    print(
        f"baseline, digest query without its index (sequential scan), {seq['lookups']} lookups: "
        f"median {seq['median_ms']} ms, p95 {seq['p95_ms']} ms   "
        f"ratio of p95: {seq['p95_ms'] / lookup['selector']['p95_ms']:.0f}x"
    )
    print(
        f"baseline, decrypt and compare over the resident's community "
        f"(median {dec['residents_per_community_median']:,} residents), {dec['lookups']} lookups: "
        f"median {dec['median_ms']} ms, p95 {dec['p95_ms']} ms   "
        f"ratio of p95: {dec['p95_ms'] / lookup['selector']['p95_ms']:.0f}x"
    )
    return {
        "benchmark": "residents",
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "residents_in_table": total,
        "kept": seeding,
        "import": imported,
        "naive_import": naive,
        "import_ratio": round(ratio, 1),
        "lookup": lookup,
    }
