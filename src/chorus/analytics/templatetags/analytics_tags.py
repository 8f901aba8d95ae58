from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from chorus.core import formatting

register = template.Library()


@register.filter
def na(value: Any) -> Any:
    """A metric for display: None is "not available" (never shown as 0)."""
    if value is None:
        return format_html('<span class="na">{}</span>', _("not available"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return formatting.format_number(value)  # 8 284 / 8,284: the reader's format
    return value


@register.filter
def pct(value: float | None) -> SafeString | str:
    if value is None:
        return format_html('<span class="na">{}</span>', _("not available"))
    css = "up" if value > 0 else "down" if value < 0 else "flat"
    return format_html('<span class="delta {}">{}</span>', css, formatting.format_percent(value, signed=True))


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """`mapping[key]` of a dict (None when absent), or the `key`-th item of a list or tuple (the
    weekday names of best times)."""
    if not mapping:
        return None
    if isinstance(mapping, (list, tuple)):
        return mapping[key] if isinstance(key, int) and 0 <= key < len(mapping) else None
    return mapping.get(key)


@register.filter
def heat(value: float, peak: float) -> int:
    """0-100 intensity of a heat-map cell."""
    return round(value / peak * 100) if peak else 0


@register.simple_tag
def latest_metrics(target: Any) -> Any:
    from chorus.analytics.models import PostMetrics

    return PostMetrics.objects.filter(target_id=target.pk).first()
