"""Benchmark: a full rescore (`leadflow rescore`) of the data bench/scoring_data.py made.

    python bench/scoring_data.py --leads 1000000 --database sqlite   # once
    python bench/scoring_rescore.py --database sqlite

Target (issue 4): 1,000,000 leads with 20,000,000 activities in under 2 minutes. The first run
writes every score and state; --rebuild makes it re-read every activity into the packed columns
first (a cold start: what the first rescore after installing this version does).
"""

from __future__ import annotations

import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import scoring_common  # noqa: E402


def main() -> None:
    parser = scoring_common.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-qualify", action="store_true")
    parser.add_argument(
        "--rebuild", action="store_true",
        help="Rebuild the packed activity columns in the first run (a cold start).",
    )
    args = parser.parse_args()
    scoring_common.configure(args)

    from leadflow.leads.models import Activity, Lead
    from leadflow.scoring import rescore

    leads, activities = Lead.objects.count(), Activity.objects.count()
    print(
        f"{scoring_common.database_label()}: {leads:,} leads, {activities:,} activities; "
        f"{scoring_common.machine()}"
    )

    def progress(what, done, total):
        sys.stderr.write(f"\r  {what:<11} {done:>12,}/{total:,}   ")
        sys.stderr.flush()

    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        done = rescore.rescore(
            progress=progress, qualify=not args.no_qualify, rebuild=args.rebuild and run == 1
        )
        seconds = time.perf_counter() - started
        sys.stderr.write("\n")
        print(
            f"run {run}: {seconds:.1f} s — {done.leads:,} leads, {done.activities:,} scored "
            f"activities, {done.changed:,} scores changed, {done.qualified:,} moved to MQL"
        )
        print("  by phase: " + ", ".join(f"{k} {v:.1f} s" for k, v in done.seconds.items()))
    print(f"  peak RSS {scoring_common.peak_rss_mb():,} MB")


if __name__ == "__main__":
    main()
