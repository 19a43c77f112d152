"""Benchmark: the what-if of a proposed version beside the active one, over 12 months.

    python bench/scoring_data.py --leads 1000000 --database sqlite   # once
    python bench/scoring_whatif.py --database sqlite

The proposal is the active (starter) definition with a lower engagement bar, a higher fit bar
and pricing-page visits worth more. Target (issue 4): under 10 s for 1,000,000 leads. The
packed activity columns are brought up to date first (`snapshot.sync`), timed apart.
"""

from __future__ import annotations

import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import scoring_common  # noqa: E402


def main() -> None:
    parser = scoring_common.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    scoring_common.configure(args)

    from django.utils import timezone

    from leadflow.accounts.models import User
    from leadflow.leads.models import Activity, Lead, LeadDefinition
    from leadflow.scoring import definitions, snapshot, whatif

    active = LeadDefinition.active()
    proposal = LeadDefinition.objects.filter(status="proposed").first()
    if proposal is None:
        text = (
            active.document.replace("engagement_at_least: 30", "engagement_at_least: 25")
            .replace("fit_at_least: 35", "fit_at_least: 40")
            .replace("url: {pattern: /pricing}, points: 10, cap: 20",
                     "url: {pattern: /pricing}, points: 15, cap: 30")
        )
        author = User.objects.get(username="bench-marketing")
        proposal = definitions.propose(
            definitions.create_draft(actor=author, text=text, summary="bench proposal"),
            actor=author,
        )
    print(f"{scoring_common.database_label()}: {Lead.objects.count():,} leads, "
          f"{Activity.objects.count():,} activities; v{proposal.version} against "
          f"v{active.version}; {scoring_common.machine()}")
    t = time.perf_counter()
    rebuilt = snapshot.sync()
    print(f"  activity columns brought up to date: {rebuilt} chunks rebuilt in "
          f"{time.perf_counter() - t:.1f} s")
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        found = whatif.compare(proposal, now=timezone.now())
        seconds = time.perf_counter() - started
        print(
            f"run {run}: {seconds:.1f} s — MQLs in 12 months v{found.proposed.version} "
            f"{sum(found.proposed.per_month):,} vs v{found.active.version} "
            f"{sum(found.active.per_month):,}; {found.newly_qualified:,} newly qualify, "
            f"{found.dropped:,} drop out"
        )
        print("  by phase: " + ", ".join(f"{k} {v:.1f} s" for k, v in found.seconds.items()))
    print(f"  peak RSS {scoring_common.peak_rss_mb():,} MB")


if __name__ == "__main__":
    main()
