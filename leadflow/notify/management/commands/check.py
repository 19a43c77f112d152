"""`leadflow check`: Django's system checks, then the lead flow's invariant (DOMAIN.md
"Invariants"): every open lead has an owner, every open hand-off has a deadline, and none is
past it by more than one sweep interval without having been escalated.

It prints the count of each kind of violation and the offending ids, and exits 1 if there is
any, so a cron job or monitor can alarm on it. On a healthy database every count is zero.
`--tag`, `--list-tags` or app labels run only the system checks, as Django's command does.
"""

from django.core.management.base import CommandError
from django.core.management.commands.check import Command as SystemCheckCommand

from leadflow.leads import sla

LABELS = {
    "leads_without_owner": "open leads without an owner",
    "offers_without_deadline": "open hand-offs without a deadline",
    "offers_not_escalated": "open hand-offs past their deadline by more than {grace}, "
    "not escalated",
}


class Command(SystemCheckCommand):
    help = (
        "Django's system checks, then the lead flow invariant: open leads without an owner, "
        "open hand-offs without a deadline or overdue and not escalated. Exits 1 on any."
    )

    def handle(self, *app_labels, **options):
        super().handle(*app_labels, **options)
        if options["list_tags"] or options["tags"] or app_labels:
            return
        found = sla.violations()
        grace = f"{int(found.grace.total_seconds())} s (one sweep)"
        self.stdout.write(f"Lead flow invariant: {found.total} violation(s).")
        for name, label in LABELS.items():
            count, ids = found.counts[name], getattr(found, name)
            line = f"  {label.format(grace=grace)}: {count}"
            if ids:
                more = f" and {count - len(ids)} more" if count > len(ids) else ""
                line += f" (ids {', '.join(map(str, ids))}{more})"
            self.stdout.write(line)
        if found.total:
            raise CommandError(f"the lead flow invariant is broken: {found.total} violation(s)")
