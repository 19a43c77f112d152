"""Every activity as numpy columns, kept in the database in chunks (`ActivityChunk`).

Reading 20 million activity rows through a Python driver costs 20–30 s whatever the query
(row objects, not the database, are the cost: docs/CEILINGS). Rescoring and the what-if need
only five numbers per activity, so the activities are also kept packed: one row per 100,000
activity ids holding their lead, time (µs), kind, campaign and URL number. Reading all of them
is a few hundred rows.

They are derived data, brought up to date before each use (`sync`): the chunks from the one
holding the newest known activity onwards are rebuilt; if the total then differs from the
table's (activities deleted with their lead, or a transaction that committed late with a
lower id), each chunk's count is compared and the ones that differ are rebuilt. An activity
edited in place (only the admin can) is picked up by `sync(rebuild=True)`
(`leadflow rescore --rebuild`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from leadflow.leads.models import Activity, ActivityKind
from leadflow.scoring.models import ActivityChunk, ActivityUrl

IDS_PER_CHUNK = 100_000
ROW = np.dtype(
    [("lead", "<i4"), ("at", "<i8"), ("kind", "i1"), ("campaign", "<i4"), ("url", "<i4")]
)
KINDS = tuple(ActivityKind.values)
NO_URL = -1

Progress = Callable[[str, int, int], None]


def _quiet(what: str, done: int, total: int) -> None:
    pass


@dataclass
class Columns:
    lead: np.ndarray  # int32
    at: np.ndarray  # float64 Unix seconds
    kind: np.ndarray  # int8, index into KINDS (-1: a kind no longer known)
    campaign: np.ndarray  # int32, 0: none
    url: np.ndarray  # int32, index into urls (an ActivityUrl id), NO_URL: none
    urls: list[str]

    def __len__(self) -> int:
        return len(self.lead)


def _micros(column: str) -> str:
    """SQL for a datetime column as integer microseconds since 1970 (exact)."""
    if connection.vendor == "postgresql":
        return f"round(date_part('epoch', {column}) * 1000000)::bigint"
    # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC). unixepoch() of the whole text
    # rounds the fraction to milliseconds first, so .9995 s and more would count a second
    # twice: the whole seconds come from the text without its fraction.
    return (
        f"(unixepoch(substr({column}, 1, 19)) * 1000000 + "
        f"CASE WHEN substr({column}, 20, 1) = '.' THEN CAST(substr({column}, 21, 6) AS INTEGER) "
        "ELSE 0 END)"
    )


def _chunk_of(activity_id: int) -> int:
    """The first id of the chunk holding `activity_id`."""
    return (activity_id - 1) // IDS_PER_CHUNK * IDS_PER_CHUNK + 1


def sync(progress: Progress = _quiet, *, rebuild: bool = False) -> int:
    """Bring the chunks up to date with the activity table; the number rebuilt."""
    table = Activity._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(max(id), 0) FROM {table}")
        total, top = cursor.fetchone()
    if rebuild:
        ActivityChunk.objects.all().delete()
    if total == 0:
        ActivityChunk.objects.all().delete()
        return 0
    known = dict(ActivityChunk.objects.values_list("first_id", "rows"))
    newest = ActivityChunk.objects.order_by("-first_id").values_list("first_id", "last_id").first()
    if newest and newest[1] >= top and sum(known.values()) == total:
        return 0  # nothing new, nothing gone
    # The newest chunk may have gained activities; the ones after it are new.
    start = newest[0] if newest else 1
    wanted = set(range(start, top + 1, IDS_PER_CHUNK))
    counted = sum(rows for first, rows in known.items() if first not in wanted)
    rebuilt = _build(sorted(wanted), progress)
    counted += rebuilt
    if counted != total:
        # Something changed below the newest chunk: compare each chunk's count.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT (id - 1) / {IDS_PER_CHUNK}, count(*) FROM {table} GROUP BY 1"
            )
            actual = {k * IDS_PER_CHUNK + 1: n for k, n in cursor.fetchall()}
        stored = dict(ActivityChunk.objects.values_list("first_id", "rows"))
        differ = sorted(f for f in set(actual) | set(stored) if actual.get(f) != stored.get(f))
        ActivityChunk.objects.filter(first_id__in=[f for f in differ if f not in actual]).delete()
        _build([f for f in differ if f in actual], progress)
        wanted |= set(differ)
    return len(wanted)


def _build(firsts: list[int], progress: Progress) -> int:
    """Rebuild the chunks starting at `firsts`; the number of activities they hold."""
    if not firsts:
        return 0
    table = Activity._meta.db_table
    urls = dict(ActivityUrl.objects.values_list("url", "pk"))
    code = {kind: i for i, kind in enumerate(KINDS)}
    sql = (
        f"SELECT lead_id, {_micros('occurred_at')}, kind, coalesce(campaign_id, 0), url, id "
        f"FROM {table} WHERE id >= %s AND id < %s"
    )
    held = 0
    for done, first in enumerate(firsts, start=1):
        if connection.vendor == "postgresql":
            packed, newest = _packed_by_postgres(first)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, [first, first + IDS_PER_CHUNK])
                rows = cursor.fetchall()
            packed = np.zeros(len(rows), dtype=ROW)
            newest = first
            if rows:
                leads, ats, kinds, campaigns, texts, ids = zip(*rows, strict=True)
                newest = max(ids)
                packed["lead"] = leads
                packed["at"] = ats
                packed["kind"] = [code.get(k, -1) for k in kinds]
                packed["campaign"] = campaigns
                packed["url"] = _url_numbers(texts, urls)
        with transaction.atomic():
            ActivityChunk.objects.filter(first_id=first).delete()
            if len(packed):
                ActivityChunk.objects.create(
                    first_id=first,
                    last_id=newest,
                    rows=len(packed),
                    kinds=list(KINDS),
                    payload=packed.tobytes(),
                )
        held += len(packed)
        progress("activities", done, len(firsts))
    return held


# PostgreSQL packs a chunk itself: one bytea of big-endian binary rows, no Python row objects.
_WIRE = np.dtype(
    [("lead", ">i4"), ("at", ">i8"), ("kind", ">i2"), ("campaign", ">i4"), ("url", ">i4")]
)


def _packed_by_postgres(first: int) -> tuple[np.ndarray, int]:
    table, urls = Activity._meta.db_table, ActivityUrl._meta.db_table
    kind = "CASE a.kind " + " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(KINDS))
    kind += " ELSE -1 END"
    span = [first, first + IDS_PER_CHUNK]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {urls} (url) SELECT DISTINCT url FROM {table} "
            "WHERE id >= %s AND id < %s AND url <> '' ON CONFLICT (url) DO NOTHING",
            span,
        )
        cursor.execute(
            "SELECT coalesce(max(a.id), 0), string_agg("
            f"int4send(a.lead_id::int4) || int8send({_micros('a.occurred_at')}) || "
            f"int2send(({kind})::int2) || int4send(coalesce(a.campaign_id, 0)::int4) || "
            f"int4send(coalesce(u.id, {NO_URL})::int4), ''::bytea) "
            f"FROM {table} a LEFT JOIN {urls} u ON u.url = a.url AND a.url <> '' "
            "WHERE a.id >= %s AND a.id < %s",
            span,
        )
        newest, payload = cursor.fetchone()
    wire = np.frombuffer(bytes(payload or b""), dtype=_WIRE)
    packed = np.zeros(len(wire), dtype=ROW)
    for name in ROW.names:
        packed[name] = wire[name]
    return packed, newest or first


def _url_numbers(texts, urls: dict[str, int]) -> list[int]:
    new = {t for t in set(texts) if t and t not in urls}
    if new:
        ActivityUrl.objects.bulk_create(
            [ActivityUrl(url=t) for t in sorted(new)], ignore_conflicts=True
        )
        urls.update(ActivityUrl.objects.filter(url__in=new).values_list("url", "pk"))
    return [urls[t] if t else NO_URL for t in texts]


def load(progress: Progress = _quiet, *, rebuild: bool = False) -> Columns:
    """Every activity, as columns (after `sync`)."""
    sync(progress, rebuild=rebuild)
    parts = []
    for kinds, payload in ActivityChunk.objects.order_by("first_id").values_list(
        "kinds", "payload"
    ):
        part = np.frombuffer(payload, dtype=ROW)
        if list(kinds) != list(KINDS):  # built before ActivityKind changed: renumber
            remap = np.array([KINDS.index(k) if k in KINDS else -1 for k in kinds], np.int16)
            part = part.copy()
            part["kind"] = remap[part["kind"]]
        parts.append(part)
    rows = np.concatenate(parts) if parts else np.zeros(0, dtype=ROW)
    numbered = dict(ActivityUrl.objects.values_list("pk", "url"))
    # URL numbers are ActivityUrl ids: the list is indexed by them (a few gaps are harmless).
    urls: list[str] = [""] * (max(numbered, default=0) + 1)
    for pk, url in numbered.items():
        urls[pk] = url
    return Columns(
        lead=rows["lead"],
        at=rows["at"] / 1e6,
        kind=rows["kind"],
        campaign=rows["campaign"],
        url=rows["url"],
        urls=urls,
    )
