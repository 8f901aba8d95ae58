"""Money for people: minor units + the ISO code, the number in the reader's language
("1,234.50 EUR" in English, "1 234,50 EUR" in French)."""

from __future__ import annotations

from typing import Any

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


@register.simple_tag
def token_expiry(account: Any) -> str:
    """ "expires in 5 days — reconnect", "expired — reconnect", or "" (no expiry, or far off)."""
    import datetime as dt

    from django.utils import timezone
    from django.utils.translation import gettext, ngettext

    from chorus.ads.actions import token_warning_days

    expires = account.token_expires_at
    now = timezone.now()
    if expires is None or expires > now + dt.timedelta(days=token_warning_days()):
        return ""
    if expires <= now:
        return gettext("expired — reconnect")
    days = (expires - now).days
    if days == 0:
        return gettext("expires today — reconnect")
    return ngettext("expires in %(days)s day — reconnect", "expires in %(days)s days — reconnect", days) % {
        "days": days
    }


@register.inclusion_tag("ads/_boost_panel.html", takes_context=True)
def boost_panel(context: dict[str, Any], target: Any) -> dict[str, Any]:
    """On a post's page: "Boost" for a published Facebook / Instagram / LinkedIn post, and the
    boosts it already has with paid vs organic figures (for those who may see ads)."""
    from chorus.accounts.permissions import Perm, can
    from chorus.ads.results import post_side_by_side
    from chorus.ads.views import boostable

    request = context.get("request")
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    if not can(role, Perm.VIEW_ADS):
        return {"show": False}
    boosts = list(target.boosts.all().order_by("-created_at"))
    return {
        "show": True,
        "workspace": context.get("workspace"),
        "target": target,
        "boosts": boosts,
        "may_boost": can(role, Perm.MANAGE_ADS) and boostable(target),
        "side": post_side_by_side(target) if boosts else None,
    }


@register.simple_tag(takes_context=True)
def boost_link(context: dict[str, Any], target: Any) -> str:
    """A "Boost" link next to a post in a list (analytics top posts), for those who may boost it."""
    from django.urls import reverse
    from django.utils.html import format_html
    from django.utils.translation import gettext

    from chorus.accounts.permissions import Perm, can
    from chorus.ads.views import boostable

    request = context.get("request")
    membership = getattr(request, "membership", None)
    if membership is None or not can(membership.role, Perm.MANAGE_ADS) or not boostable(target):
        return ""
    url = reverse("ads:boost_new", kwargs={"slug": membership.workspace.slug, "target_id": target.pk})
    return format_html(' · <a class="boost-link" href="{}">{}</a>', url, gettext("Boost"))


HOME_CANDIDATES = 3  # recent posts offered for a boost on the home
HOME_WINDOW_DAYS = 14


@register.inclusion_tag("ads/_home_boosts.html", takes_context=True)
def home_boosts(context: dict[str, Any], workspace: Any) -> dict[str, Any]:
    """On the home: ad accounts whose token is about to expire (reconnect), boosts that wait for
    this person's approval step, and the best posts of the last
    two weeks (most engagement) that could be boosted now — published on a network with an ad
    account connected for their channel, and not already running a boost."""
    import datetime as dt

    from django.utils import timezone

    from chorus.accounts.permissions import Perm, can
    from chorus.ads.models import AdAccount, Boost
    from chorus.ads.views import boostable
    from chorus.analytics.models import PostMetrics
    from chorus.approvals import boosts as approval

    request = context.get("request")
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    user = getattr(request, "user", None)
    waiting = (
        [run.boost for run in approval.pending_for(user, workspace)][:10]
        if can(role, Perm.VIEW_ADS) and user is not None
        else []
    )
    candidates = []
    if can(role, Perm.MANAGE_ADS):
        channels = set(AdAccount.objects.filter(workspace=workspace).values_list("channel_id", flat=True))
        running = (
            Boost.Status.AWAITING_APPROVAL,
            Boost.Status.QUEUED,
            Boost.Status.CREATING,
            Boost.Status.IN_REVIEW,
            Boost.Status.ACTIVE,
            Boost.Status.PAUSED,
        )
        rows = (
            PostMetrics.objects.filter(
                workspace=workspace,
                channel_id__in=channels,
                engagement__isnull=False,
                published_at__gte=timezone.now() - dt.timedelta(days=HOME_WINDOW_DAYS),
            )
            .exclude(target__boosts__status__in=running)
            .select_related("target__post", "target__channel", "channel")
            .order_by("-engagement", "-published_at")[: HOME_CANDIDATES * 3]
            if channels
            else []
        )
        candidates = [pm for pm in rows if boostable(pm.target)][:HOME_CANDIDATES]
    from chorus.ads.actions import expiring_accounts

    expiring = expiring_accounts(workspace) if can(role, Perm.MANAGE_AD_ACCOUNTS) else []
    return {"workspace": workspace, "waiting": waiting, "candidates": candidates, "expiring": expiring}
