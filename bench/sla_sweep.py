"""Benchmark: the SLA sweep over a large company finds the due hand-offs through its index.

    python bench/sla_sweep.py --database-url sqlite:////tmp/leadflow-bench/demo-bench.sqlite3
    python bench/sla_sweep.py --database-url postgres://postgres@127.0.0.1:5432/lf_bench_demo

Run it on a database made by bench/generate_demo.py (1,000,000 leads). It tops the database up
to --open pending hand-offs, then picks a sweep time at which --due of them are overdue and
measures, median of 5:
- find: the sweep's due query (the first batch, as the worker reads it);
- count: how many are due (a range scan of the same partial index);
- claim: the worker's claim (lead rows locked FOR UPDATE SKIP LOCKED) in a transaction;
and the query plan, which must name the index `handoff_pending_due` (no full scan).
The top-up writes pending hand-off rows in bulk (only those rows matter to the query).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta


def timed(fn, repeat=5):
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--open", type=int, default=50_000, help="pending hand-offs wanted")
    parser.add_argument("--due", type=int, default=1_000, help="of which overdue at sweep time")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from leadflow.accounts.models import Team
    from leadflow.leads import sla
    from leadflow.leads.models import Decision, Handoff, Lead, Stage

    call_command("migrate", verbosity=0)
    leads = Lead.objects.count()
    pending = Handoff.objects.filter(decision=Decision.PENDING)
    have = pending.count()
    print(f"{connection.vendor}: {leads:,} leads, {have:,} pending hand-offs", file=sys.stderr)
    if have < args.open:
        need = args.open - have
        # Only the hand-off rows matter to the sweep's query, so they are written in bulk as
        # the `qualify` transition would open them (one per inquiry lead, to its team queue).
        print(f"topping up {need:,} pending hand-offs in bulk…", file=sys.stderr)
        team = Team.objects.filter(side="inside_sales").order_by("pk").first()
        ids = Lead.objects.filter(stage=Stage.INQUIRY).exclude(
            handoffs__decision=Decision.PENDING
        ).values_list("pk", flat=True)[:need]
        now = timezone.now()
        Handoff.objects.bulk_create(
            (
                Handoff(
                    lead_id=pk, kind="mql", offered_to_team=team, offered_at=now,
                    # Deadlines spread over the coming weeks, as a live queue's are.
                    accept_by=now + timedelta(seconds=37 * i),
                )
                for i, pk in enumerate(ids.iterator())
            ),
            batch_size=2000,
        )
    have = pending.count()

    deadlines = pending.order_by("accept_by").values_list("accept_by", flat=True)
    sweep_at = deadlines[args.due - 1]
    due = sla.overdue_offers(sweep_at)

    def find():
        list(due.values_list("pk", flat=True)[: sla.BATCH])

    def count():
        due.count()

    def claim():
        with transaction.atomic():
            list(
                due.select_related("lead")
                .select_for_update(skip_locked=True, of=("lead",))
                .only("id", "lead", "lead__id")[: sla.BATCH]
            )

    find_ms, count_ms, claim_ms = timed(find), timed(count), timed(claim)
    sql, params = due.values_list("pk", flat=True)[: sla.BATCH].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())

    n_due = due.count()

    print(f"database        {connection.vendor}")
    print(f"leads           {leads:,}")
    print(f"pending offers  {have:,}")
    print(f"due at sweep    {n_due:,}")
    print(f"find (batch of {sla.BATCH})  {find_ms:8.2f} ms")
    print(f"count due       {count_ms:8.2f} ms")
    print(f"claim (locks)   {claim_ms:8.2f} ms")
    print("plan:")
    print("  " + plan.replace("\n", "\n  "))
    assert "handoff_pending_due" in plan, "the sweep must use its partial index"


if __name__ == "__main__":
    main()
