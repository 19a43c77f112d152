"""Benchmark: activity batches through the API, scored as they are stored.

    python bench/scoring_data.py --leads 1000000 --database sqlite   # once
    python bench/scoring_ingest.py --database sqlite

Each call posts 10,000 activities to POST /api/activities/batch (in-process, through the whole
Django and Ninja stack; the JSON is encoded before the clock starts), naming random existing
leads by id (80%), e-mail (10%) or external id (10%), 1% of them unknown. Target (issue 4):
20,000 activities/s with scoring, on SQLite and PostgreSQL. Leads that cross the MQL rule are
moved to mql inside the call; their count and cost are reported apart.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import scoring_common  # noqa: E402


def main() -> None:
    parser = scoring_common.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--queue", action="store_true",
        help="Send qualify=false: leads meeting the MQL rule are queued for the worker.",
    )
    args = parser.parse_args()
    scoring_common.configure(args)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from leadflow.accounts.models import ApiToken, User
    from leadflow.leads.models import Activity, Lead

    user = User.objects.get(username="bench-marketing")
    _, token = ApiToken.issue(user, name="bench")
    client = Client(headers={"Authorization": f"Bearer {token}"})
    rng = np.random.default_rng(args.seed)
    ids = np.array(Lead.objects.values_list("pk", flat=True))
    emails = dict(
        Lead.objects.filter(pk__in=rng.choice(ids, 20_000).tolist()).values_list("pk", "email")
    )
    before = Activity.objects.count()
    print(
        f"{scoring_common.database_label()}: {len(ids):,} leads, {before:,} activities; "
        f"{scoring_common.machine()}"
    )

    bodies = [_batch(rng, ids, emails, args.size) for _ in range(args.batches)]
    url = "/api/activities/batch" + ("?qualify=false" if args.queue else "")
    seconds, stored, qualified, refused, queries = [], 0, 0, 0, []
    for body in bodies:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post(url, body, content_type="application/json")
            seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:500]
        result = response.json()
        stored += result["stored"]
        qualified += len(result["qualified"]) + len(result["queued"])
        refused += len(result["refused"])
        queries.append(len(captured))
        sys.stderr.write(
            f"\r  batch {len(seconds):>3}/{args.batches}: {seconds[-1]:.2f} s, "
            f"{len(result['qualified']) + len(result['queued'])} to MQL   "
        )
    sys.stderr.write("\n")
    total = sum(seconds)
    print(
        f"{args.batches} batches of {args.size:,}: {stored:,} stored, {refused:,} refused, "
        f"{qualified:,} leads {'queued for' if args.queue else 'moved to'} MQL, in "
        f"{total:.1f} s = {stored / total:,.0f} activities/s"
    )
    print(
        f"  per batch: median {statistics.median(seconds):.3f} s, slowest {max(seconds):.3f} s; "
        f"{statistics.median(queries):.0f} queries (median)"
    )
    print(
        f"  peak RSS {scoring_common.peak_rss_mb():,} MB; "
        f"activities now {Activity.objects.count():,}"
    )


def _batch(rng, ids: np.ndarray, emails: dict, size: int) -> str:
    now = datetime.now(UTC)
    kinds, weights = zip(*scoring_common.KINDS, strict=True)
    weights = np.asarray(weights) / sum(weights)
    chosen = rng.choice(ids, size)
    kind = np.asarray(kinds)[rng.choice(len(kinds), size, p=weights)]
    how = rng.random(size)
    with_email = list(emails.items())
    events = []
    for i in range(size):
        event = {
            "kind": str(kind[i]),
            "occurred_at": (now - timedelta(seconds=float(rng.uniform(0, 3600)))).isoformat(),
            "source_system": "bench",
        }
        if how[i] < 0.01:
            event["lead"] = 10**9 + i  # unknown
        elif how[i] < 0.81:
            event["lead"] = int(chosen[i])
        elif how[i] < 0.91:
            event["email"] = with_email[i % len(with_email)][1]
        else:
            event["external_id"] = f"crm-{int(chosen[i])}"
        if kind[i] == "web_visit":
            page = "/pricing" if rng.random() < 0.1 else f"/blog/post-{rng.integers(150)}"
            event["url"] = "https://leadflow.example" + page
        events.append(event)
    return json.dumps({"activities": events})


if __name__ == "__main__":
    main()
