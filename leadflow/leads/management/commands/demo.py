"""`leadflow demo`: fill the database with a realistic demo company, deterministically.

leadflow demo                        # 10,000 leads over 24 months, random passwords
leadflow demo --leads 1000000 --seed 7 --password demo-pass
leadflow demo --reset                # wipe the previous demo's leads and generate again

Running it again on a database that already has the demo generates nothing: it resets the
demo users' passwords and prints them.
"""

from __future__ import annotations

import sys
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leadflow.demo.generate import Report, generate
from leadflow.demo.world import demo_present, ensure_users, wipe


class Command(BaseCommand):
    help = "Generate a demo company: users per role, sources, campaigns, spend and leads."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same company.")
        parser.add_argument("--leads", type=int, default=10_000, help="Raw leads (default 10,000).")
        parser.add_argument("--months", type=int, default=24, help="Months of history.")
        parser.add_argument(
            "--today", help="The demo's today, YYYY-MM-DD (default: now). Nothing happens later."
        )
        parser.add_argument(
            "--password", help="Password for every demo user (default: one generated per user)."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the previous demo's leads (and their rows) and generate again.",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=10_000,
            help="Leads simulated and written per transaction (memory vs. speed).",
        )

    def handle(self, *args, seed, leads, months, today, password, reset, chunk_size, **options):
        if leads < 1 or months < 1 or chunk_size < 1:
            raise CommandError("--leads, --months and --chunk-size must be at least 1")
        zone = ZoneInfo(settings.TIME_ZONE)
        cutoff = timezone.now()
        if today:
            try:
                day = datetime.strptime(today, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError(f"--today {today!r} is not a date like 2026-03-31") from None
            cutoff = datetime.combine(day, time(23, 59, 59), zone)
        if reset:
            counts = wipe()
            self.stderr.write(
                "Deleted the previous demo: "
                + ", ".join(f"{n:,} {label}" for label, n in counts.items())
            )
        users = ensure_users(password)
        if demo_present():
            self.stdout.write(
                "The demo company is already here: nothing generated (use --reset to start "
                "over). Passwords reset."
            )
        else:
            report = generate(
                seed=seed,
                leads=leads,
                months=months,
                cutoff=cutoff,
                zone=zone,
                chunk_size=chunk_size,
                progress=self._progress if leads > chunk_size else None,
            )
            self._summary(report)
        self._users(users)

    def _progress(self, report: Report) -> None:
        # A plain line per chunk on stderr: readable in logs, harmless when piped.
        rate = report.leads / report.total_seconds if report.total_seconds else 0
        sys.stderr.write(
            f"demo: {report.leads:,} leads, {report.history:,} history rows, "
            f"{report.activities:,} activities - {report.total_seconds:.1f} s "
            f"({rate:,.0f} leads/s)\n"
        )
        sys.stderr.flush()

    def _summary(self, report: Report) -> None:
        w = self.stdout.write
        w(
            f"Generated the demo company in {report.total_seconds:.1f} s "
            f"(simulate {report.simulate_seconds:.1f} s, write {report.write_seconds:.1f} s):"
        )
        for label, n in (
            ("leads", report.leads),
            ("history rows", report.history),
            ("hand-offs", report.handoffs),
            ("opportunities", report.opportunities),
            ("activities", report.activities),
            ("accounts", report.accounts),
            ("spend rows", report.spend_rows),
        ):
            w(f"  {n:>12,}  {label}")
        world = report.world
        w(
            f"  definition v{world.definition.version}; months {world.months[0]:%Y-%m} to "
            f"{world.months[-1]:%Y-%m}; nothing after {world.cutoff:%Y-%m-%d %H:%M %Z}"
        )

    def _users(self, users) -> None:
        w = self.stdout.write
        width = max(len(u[0]) for u in users)
        team_width = max(len(u[2]) for u in users)
        w("")
        w(f"{'user':<{width}}  {'role':<12}  {'team':<{team_width}}  password")
        for username, role, team, password in users:
            w(f"{username:<{width}}  {role:<12}  {team:<{team_width}}  {password}")
