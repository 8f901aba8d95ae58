"""Money for people: minor units + the ISO code, the number in the reader's language
("1,234.50 EUR" in English, "1 234,50 EUR" in French)."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

from chorus.connectors.ads import minor_per_major

register = template.Library()


@register.filter
def money(minor: int | None, currency: str = "") -> str:
    if minor is None:
        return "—"
    per = minor_per_major(currency or "EUR")
    amount = minor / per
    digits = 0 if per == 1 else 2
    return f"{number_format(amount, decimal_pos=digits, force_grouping=True)} {currency}".strip()


@register.filter
def money_plain(minor: int | None, currency: str = "") -> str:
    """The amount as an input field takes it back: 1234.50 (no grouping, a dot)."""
    if minor is None:
        return ""
    per = minor_per_major(currency or "EUR")
    return str(minor) if per == 1 else f"{minor // per}.{minor % per:02d}"
