"""Benchmark data for scoring: N leads created over the last 12 months, about 20 activities
each, their stage history and MQL hand-offs, and the starter definition active.

    python bench/scoring_data.py --leads 1000000 --database sqlite
    python bench/scoring_data.py --leads 1000000 --database postgres

Rows are written with the driver (COPY, executemany), not through leadflow's actions: this
builds the history the benchmarks read, it is not itself a benchmark. Deterministic by --seed.
Scores are left at 0: run bench/scoring_rescore.py next.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import scoring_common  # noqa: E402

STAGES = [
    ("inquiry", 0.66),
    ("nurture", 0.08),
    ("mql", 0.02),
    ("sal", 0.03),
    ("sql", 0.02),
    ("won", 0.03),
    ("lost", 0.04),
    ("in_review", 0.01),
    ("disqualified", 0.11),
]
URLS = (
    ["/pricing", "/pricing/enterprise"]
    + [f"/blog/post-{i}" for i in range(150)]
    + ["/", "/product", "/integrations", "/about", "/customers"]
)
CHUNK = 200_000


def main() -> None:
    parser = scoring_common.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--per-lead", type=float, default=20.0, help="Mean activities per lead.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--settle-only", action="store_true", help="Only settle an existing database."
    )
    args = parser.parse_args()
    if args.settle_only:
        scoring_common.configure(args)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        t = time.perf_counter()
        print(f"settled: {_settle():,} leads moved to mql in {time.perf_counter() - t:.0f} s")
        return
    scoring_common.fresh(args)
    scoring_common.configure(args)

    from django.core.management import call_command
    from django.db import connection, transaction

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(args.seed)
    now = datetime.now(UTC).replace(microsecond=0)
    with transaction.atomic():
        world = _world(now)
    counts = {}
    with transaction.atomic():
        t = time.perf_counter()
        leads = _leads(rng, args.leads, now, world)
        counts["leads"] = (args.leads, time.perf_counter() - t)
        t = time.perf_counter()
        counts["history"] = (_history(rng, leads, now, world), time.perf_counter() - t)
    t = time.perf_counter()
    counts["activities"] = (
        _activities(rng, leads, args.per_lead, now, world),
        time.perf_counter() - t,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    t = time.perf_counter()
    counts["settled"] = (_settle(), time.perf_counter() - t)
    print(f"{scoring_common.database_label()}: data in {time.perf_counter() - started:.0f} s")
    for name, (n, seconds) in counts.items():
        print(f"  {name:<11} {n:>12,} rows in {seconds:6.1f} s")


def _world(now: datetime) -> dict:
    """Users, sources, campaigns and the active definition (the starter)."""
    from leadflow.accounts.models import Role, Side, Team, User
    from leadflow.leads.models import Campaign, LeadDefinition, Source
    from leadflow.scoring.definitions import STARTER

    teams = {t.side: t for t in Team.objects.all()}
    users = {}
    for name, role, side in (
        ("bench-marketing", Role.MARKETING, Side.MARKETING),
        *((f"bench-sdr{i}", Role.INSIDE_SALES, Side.INSIDE_SALES) for i in range(1, 7)),
        *((f"bench-ae{i}", Role.FIELD_SALES, Side.FIELD_SALES) for i in range(1, 4)),
    ):
        users[name] = User.objects.create_user(
            username=name, password="bench", role=role, team=teams[side], max_open_offers=10**6
        )
    sources = [
        Source.objects.create(name=n)
        for n in ("Organic Web", "Paid Search", "Webinars", "Content Syndication", "Events")
    ]
    campaigns = [
        Campaign.objects.create(source=s, name=f"{s.name} {i}", external_id=f"cmp-{s.pk}-{i}")
        for s in sources
        for i in range(10)
    ]
    LeadDefinition.objects.create(
        version=1,
        status="active",
        document=STARTER.read_text(),
        summary="The starter definition",
        activated_at=now - timedelta(days=400),
        created_at=now - timedelta(days=420),
    )
    return {"teams": teams, "users": users, "sources": sources, "campaigns": campaigns}


def _pick(rng, table, n):
    values, weights = zip(*table, strict=True)
    weights = np.asarray(weights, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), n, p=weights / weights.sum())]


def _when(epochs: np.ndarray) -> np.ndarray:
    """Unix seconds as the text both databases take: 'YYYY-MM-DD HH:MM:SS+00:00'."""
    text = np.datetime_as_string(epochs.astype("datetime64[s]"), unit="s")
    return np.char.add(np.char.replace(text, "T", " "), "+00:00")


def _write(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["?"] * len(columns))
            # The driver itself: Django's cursor wrapper costs as much as SQLite here.
            connection.connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )


def _leads(rng, n: int, now: datetime, world: dict) -> dict:
    from leadflow.demo import catalog

    titles = [
        (t, w / len(catalog.TITLES[level]))
        for level, w in (
            ("c_level", 3),
            ("vp", 6),
            ("director", 12),
            ("manager", 25),
            ("individual", 50),
            ("student", 4),
        )
        for t in catalog.TITLES[level]
    ]
    ids = np.arange(1, n + 1)
    end = now.timestamp()
    created = (end - rng.uniform(0, 365 * 86400, n)).astype(np.int64)
    stage = _pick(rng, STAGES, n)
    company = rng.integers(0, max(n // 20, 1), n)
    mail = rng.random(n)
    country = _pick(rng, [(c[0], c[1]) for c in catalog.COUNTRIES], n)
    industry = _pick(rng, list(catalog.INDUSTRIES), n)
    employees = np.exp(rng.uniform(np.log(2), np.log(20000), n)).astype(int)
    title = _pick(rng, titles, n)
    source = rng.integers(0, len(world["sources"]), n)
    teams = world["teams"]
    owner_team = {
        "inquiry": "marketing",
        "nurture": "marketing",
        "mql": "inside_sales",
        "sal": "inside_sales",
        "sql": "field_sales",
        "in_review": "arbiter",
        "won": "field_sales",
        "lost": "field_sales",
        "disqualified": "marketing",
    }
    created_text = _when(created)
    columns = [
        "id",
        "first_name",
        "last_name",
        "title",
        "email",
        "email_key",
        "phone",
        "company",
        "domain",
        "country",
        "industry",
        "employee_count",
        "custom",
        "external_id",
        "source_id",
        "campaign_id",
        "stage",
        "owner_team_id",
        "sql_evidence",
        "priority",
        "fit_score",
        "engagement_score",
        "created_at",
        "updated_at",
        "stage_changed_at",
        "version",
    ]

    def rows():
        for i in range(n):
            c = int(company[i])
            domain = f"company{c}.example"
            if mail[i] < 0.05:
                email_domain = ("gmail.com", "yahoo.com", "outlook.com")[i % 3]
            elif mail[i] < 0.052:
                email_domain = domain = "leadcanal.com"
            else:
                email_domain = domain
            yield (
                int(ids[i]),
                "Pat",
                f"Lead{i}",
                title[i],
                f"pat.lead{i}@{email_domain}",
                f"pat.lead{i}@{email_domain}",  # already its email_key (lower case, no +tag)
                "",
                f"Company {c}",
                domain,
                country[i],
                industry[i],
                int(employees[i]),
                '{"segment": "enterprise"}' if employees[i] > 5000 else "{}",
                f"crm-{i + 1}",
                world["sources"][source[i]].pk,
                None,
                stage[i],
                teams[owner_team[stage[i]]].pk,
                "{}",
                "normal",
                0.0,
                0.0,
                created_text[i],
                created_text[i],
                created_text[i],
                1,
            )

    _write("leads_lead", columns, rows())
    _reset_sequence("leads_lead")
    return {"ids": ids, "created": created, "stage": stage}


def _reset_sequence(table: str) -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )


def _history(rng, leads: dict, now: datetime, world: dict) -> int:
    """A create row per lead; mql, sql and closing rows for leads that went that far; an MQL
    hand-off for each lead that reached mql, decided as its stage says."""
    teams = world["teams"]
    end = now.timestamp()
    ids, created, stage = leads["ids"], leads["created"], leads["stage"]
    reached_mql = np.isin(stage, ["mql", "sal", "sql", "won", "lost", "in_review"])
    reached_sql = np.isin(stage, ["sql", "won", "lost"])
    closed = np.isin(stage, ["won", "lost"])
    mql_at = np.minimum(created + rng.uniform(3600, 20 * 86400, len(ids)).astype(int), end - 60)
    sql_at = np.minimum(mql_at + rng.uniform(86400, 30 * 86400, len(ids)).astype(int), end - 30)
    close_at = np.minimum(sql_at + rng.uniform(86400, 60 * 86400, len(ids)).astype(int), end)
    c, m, s, x = _when(created), _when(mql_at), _when(sql_at), _when(close_at)
    columns = [
        "lead_id",
        "entity",
        "transition",
        "from_stage",
        "to_stage",
        "at",
        "comment",
        "owner_team_id",
    ]

    def rows():
        for i in range(len(ids)):
            pk = int(ids[i])
            yield (pk, "lead", "create", "", "inquiry", c[i], "", teams["marketing"].pk)
            if reached_mql[i]:
                yield (pk, "lead", "qualify", "inquiry", "mql", m[i], "", teams["inside_sales"].pk)
            if reached_sql[i]:
                yield (pk, "lead", "convert", "sal", "sql", s[i], "", teams["field_sales"].pk)
            if closed[i]:
                name = "win" if stage[i] == "won" else "lose"
                yield (pk, "lead", name, "sql", stage[i], x[i], "", teams["field_sales"].pk)

    count = int(len(ids) + reached_mql.sum() + reached_sql.sum() + closed.sum())
    _write("leads_stagechange", columns, rows())
    decision = {"mql": "pending", "in_review": "rejected"}
    offer_columns = [
        "lead_id",
        "kind",
        "offered_to_team_id",
        "offered_at",
        "accept_by",
        "decision",
        "decided_at",
        "comment",
        "reminders_sent",
        "review_outcome",
    ]
    accept_by = _when(mql_at + 86400)
    decided = _when(mql_at + 7200)

    def offers():
        for i in np.flatnonzero(reached_mql):
            d = decision.get(stage[i], "accepted")
            yield (
                int(ids[i]),
                "mql",
                teams["inside_sales"].pk,
                m[i],
                accept_by[i],
                d,
                None if d == "pending" else decided[i],
                "",
                0,
                "",
            )

    _write("leads_handoff", offer_columns, offers())
    return count + int(reached_mql.sum())


def _settle() -> int:
    """Scores computed, and the leads at inquiry or nurture that meet the MQL rule moved to
    mql as incremental scoring would have moved them when it happened (history rows and
    open hand-offs written directly): the state a live database is in, so the benchmarks
    measure scoring, not a first mass qualification."""
    from django.db import connection, transaction
    from django.utils import timezone

    from leadflow.accounts.models import Team
    from leadflow.leads.models import Lead, LeadDefinition
    from leadflow.scoring import active, columns, rescore

    rescore.rescore(qualify=False)
    rules = active.active().rules
    leads = columns.load_leads([rules])
    stored = dict(Lead.objects.values_list("pk", "engagement_score"))
    engagement = np.array([stored[pk] for pk in leads.ids.tolist()])
    meets = (
        np.isin(leads.stages, ["inquiry", "nurture"])
        & (leads.fit[0] >= rules.mql_fit)
        & (np.round(engagement, 6) >= rules.mql_engagement)
        & ~leads.disqualified[0]
    )
    ids = leads.ids[meets].tolist()
    team = Team.objects.get(side="inside_sales").pk
    definition = LeadDefinition.active().pk
    now = timezone.now()
    at, accept_by = _when(np.array([now.timestamp(), now.timestamp() + 86400], dtype=np.int64))
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(ids), 50_000):
            chunk = ids[start : start + 50_000]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE leads_lead SET stage = 'mql', owner_team_id = %s WHERE id IN ({marks})",
                [team, *chunk],
            )
        _write(
            "leads_stagechange",
            [
                "lead_id",
                "entity",
                "transition",
                "from_stage",
                "to_stage",
                "at",
                "comment",
                "owner_team_id",
                "definition_id",
            ],
            [(pk, "lead", "qualify", "inquiry", "mql", at, "", team, definition) for pk in ids],
        )
        _write(
            "leads_handoff",
            [
                "lead_id",
                "kind",
                "offered_to_team_id",
                "offered_at",
                "accept_by",
                "decision",
                "comment",
                "reminders_sent",
                "review_outcome",
            ],
            [(pk, "mql", team, at, accept_by, "pending", "", 0, "") for pk in ids],
        )
    return len(ids)


def _activities(rng, leads: dict, per_lead: float, now: datetime, world: dict) -> int:
    from django.db import transaction

    ids, created = leads["ids"], leads["created"]
    # Over-dispersed: most leads do little, a few do a lot.
    counts = rng.poisson(rng.gamma(1.0, per_lead, len(ids)))
    lead = np.repeat(ids, counts)
    start = np.repeat(created, counts)
    total = len(lead)
    end = now.timestamp()
    kinds = [k for k, _ in scoring_common.KINDS]
    weights = np.array([w for _, w in scoring_common.KINDS])
    campaigns = [c.pk for c in world["campaigns"]]
    written = 0
    columns = ["lead_id", "kind", "occurred_at", "url", "campaign_id", "source_system", "detail"]
    for begin in range(0, total, CHUNK):
        stop = min(begin + CHUNK, total)
        n = stop - begin
        at = (start[begin:stop] + rng.random(n) * (end - start[begin:stop])).astype(np.int64)
        kind = np.asarray(kinds, dtype=object)[rng.choice(len(kinds), n, p=weights / weights.sum())]
        url_pick = rng.random(n)
        url_index = rng.integers(2, len(URLS), n)
        campaign = rng.choice(campaigns, n)
        text = _when(at)

        def rows(
            kind=kind,
            text=text,
            url_pick=url_pick,
            url_index=url_index,
            campaign=campaign,
            lead_chunk=lead[begin:stop],
            n=n,
        ):
            for i in range(n):
                k = kind[i]
                if k == "web_visit":
                    url = "https://leadflow.example" + (
                        URLS[0] if url_pick[i] < 0.1 else URLS[url_index[i]]
                    )
                else:
                    url = ""
                yield (
                    int(lead_chunk[i]),
                    k,
                    text[i],
                    url,
                    int(campaign[i]) if k.startswith(("email", "webinar")) else None,
                    "bench",
                    "",
                )

        with transaction.atomic():
            _write("leads_activity", columns, rows())
        written += n
        sys.stderr.write(f"\r  activities {written:>12,}/{total:,}")
        sys.stderr.flush()
    sys.stderr.write("\n")
    return written


if __name__ == "__main__":
    main()
