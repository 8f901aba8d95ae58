"""An ad account connected through Meta's login has a user token that expires (about 60 days):
its expiry is kept in the open, the accounts page and the home say "expires in N days —
reconnect" within CHORUS_AD_TOKEN_WARN_DAYS, and the account's managers are notified once per
token (the scheduler job `ads-token-expiry`)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from chorus.accounts.permissions import Role
from chorus.ads import actions
from chorus.ads.models import AdAccount
from chorus.core.models import AuditEvent


def connect(cast, page, expires_in: dt.timedelta | None) -> AdAccount:
    """What Meta's login does (ads/meta_login.py): a user token and its expiry, in epoch seconds."""
    return actions.connect_ad_account(
        cast.workspace,
        actor=cast.owner,
        channel=page,
        external_id="1234",
        access_token="long-user-token",
        token_expires_at=int((timezone.now() + expires_in).timestamp()) if expires_in else None,
    )


def accounts_page(cast, user, language: str = "en") -> str:
    url = reverse("ads:accounts", kwargs={"slug": cast.workspace.slug})
    return cast.client_for(user).get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_the_accounts_page_says_how_many_days_are_left(cast, page, meta, settings) -> None:
    settings.CHORUS_AD_TOKEN_WARN_DAYS = 7
    account = connect(cast, page, dt.timedelta(days=5, hours=1))
    assert account.token_expires_at is not None
    assert "expires in 5 days — reconnect" in accounts_page(cast, cast.owner)
    assert "expire dans 5 jours — reconnectez-le" in accounts_page(cast, cast.owner, "fr")
    connect(cast, page, dt.timedelta(days=30))  # logged in again: a new token, far from expiry
    assert 'data-testid="token-expiry"' not in accounts_page(cast, cast.owner)
    AdAccount.objects.filter(pk=account.pk).update(token_expires_at=timezone.now() - dt.timedelta(hours=1))
    assert "expired — reconnect" in accounts_page(cast, cast.owner)
    connect(cast, page, None)  # a system-user token does not expire
    assert AdAccount.objects.get(pk=account.pk).token_expires_at is None
    assert 'data-testid="token-expiry"' not in accounts_page(cast, cast.owner)


def test_the_managers_are_notified_once_per_token(cast, page, meta, settings) -> None:
    settings.CHORUS_AD_TOKEN_WARN_DAYS = 7
    account = connect(cast, page, dt.timedelta(days=20))
    assert actions.warn_expiring_tokens() == 0  # 20 days left: not yet
    in_14_days = timezone.now() + dt.timedelta(days=14)
    assert actions.warn_expiring_tokens(now=in_14_days) == 1  # 6 days left
    assert actions.warn_expiring_tokens(now=in_14_days) == 0  # once (another scheduler, a rerun)
    owner, admin, editor = (cast.members[r] for r in (Role.OWNER, Role.ADMIN, Role.EDITOR))
    told = owner.notifications.get(kind="ads.token_expiring")
    assert told.title == "The ad account Seas Alive ads must be reconnected"
    assert told.body == "Its access expires in 5 days: log in with Meta again on the ad accounts page."
    assert told.url == reverse("ads:accounts", kwargs={"slug": cast.workspace.slug})
    assert admin.notifications.filter(kind="ads.token_expiring").exists()
    assert not editor.notifications.filter(kind="ads.token_expiring").exists()  # cannot reconnect
    assert cast.outsider.notifications.count() == 0
    assert AuditEvent.objects.filter(action="ads.token_expiring", object_id=str(account.pk)).count() == 1

    connect(cast, page, dt.timedelta(days=20))  # reconnected: the new token is warned about in turn
    assert actions.warn_expiring_tokens(now=in_14_days) == 1
    assert owner.notifications.filter(kind="ads.token_expiring").count() == 2


def test_the_home_lists_accounts_to_reconnect_for_who_can(cast, page, meta, settings) -> None:
    settings.CHORUS_AD_TOKEN_WARN_DAYS = 7
    account = connect(cast, page, dt.timedelta(days=3, hours=2))
    home = reverse("workspace_home", kwargs={"slug": cast.workspace.slug})
    shown = cast.client_for(cast.owner).get(home).content.decode()
    assert f'data-account="{account.pk}"' in shown and "expires in 3 days — reconnect" in shown
    viewer = cast.client_for(cast.members[Role.VIEWER]).get(home).content.decode()
    assert f'data-account="{account.pk}"' not in viewer
