"""Small pieces every page shows the same way: stage badges, dates with their zone, owners."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html

from leadflow.leads.models import OpportunityStage, Stage
from leadflow.web import presenters

register = template.Library()

_STAGE_LABELS = {**dict(OpportunityStage.choices), **dict(Stage.choices)}


@register.simple_tag
def stage_badge(stage: str):
    """A stage as a coloured badge; the colour comes from leadflow.css (`stage-<name>`)."""
    if not stage:
        return format_html('<span class="text-body-secondary">—</span>')
    return format_html(
        '<span class="badge stage stage-{}">{}</span>', stage, _STAGE_LABELS.get(stage, stage)
    )


@register.filter
def when(value: datetime | None, style: str = "long"):
    """A moment in the user's time zone: '25 Nov 2025, 14:03 CET'; 'short' leaves out the zone
    (tables name it once, in the column header)."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    shown = format_date(local, "j M Y, H:i" if style == "short" else "j M Y, H:i T")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        format_date(local, "l j F Y, H:i:s T"),
        shown,
    )


@register.filter
def owner(lead) -> str:
    return presenters.owner_label(lead)


@register.filter
def score(value) -> str:
    return "—" if value is None else f"{value:.0f}"


@register.simple_tag
def zone_name() -> str:
    return timezone.get_current_timezone_name()
