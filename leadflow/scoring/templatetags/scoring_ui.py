"""The score explanation on the lead page, and small number formats of the definition pages."""

from django import template

from leadflow.scoring import explain

register = template.Library()


@register.inclusion_tag("web/definitions/_score_explanation.html")
def score_explanation(lead):
    """Which rules gave the lead how many points, and why it is or is not an MQL."""
    return {"score": explain.for_lead(lead), "lead": lead}


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value:.0%}" if value * 100 % 1 == 0 else f"{value:.1%}"


@register.filter
def signed(value) -> str:
    if value is None:
        return ""
    return f"+{value:,}" if value > 0 else f"−{-value:,}" if value < 0 else "0"


@register.filter
def points(value) -> str:
    """Points as people read them: 12, 7.5, −20."""
    text = f"{value:,.1f}".rstrip("0").rstrip(".")
    return text.replace("-", "−")
