"""Logging in twice with the same Mastodon account reconnects its channel, against the
`mastodon_mock` imitation (a stateful stand-in for the Mastodon API, not Mastodon itself)."""

from __future__ import annotations

import pytest

from chorus.channels import actions
from chorus.channels.models import Channel
from chorus.connectors.mastodon.connector import MastodonConnector
from tests.connectors.mastodon.conftest import CALLBACK, authorize_as

pytestmark = pytest.mark.django_db


def login(cast, instance: str, username: str, state: str, workspace=None) -> actions.Connection:
    redirect = MastodonConnector.begin_connect({"instance": instance}, callback_url=CALLBACK, state=state)
    params = authorize_as(username, redirect)
    result = MastodonConnector.finish_connect(params, state_data=redirect.state_data, callback_url=CALLBACK)
    return actions.connect_account(
        workspace=workspace or cast.workspace,
        kind="mastodon",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        account_id=result.account_id,
        actor=cast.owner,
    )


def test_the_same_mastodon_account_twice_is_one_channel_with_the_new_token_against_the_imitation(
    cast, mastodon_imitation
):
    first = login(cast, mastodon_imitation.base_url, "alice", "one")
    old_token = first.channel.credentials["access_token"]
    account = first.channel.config["account_id"]
    assert first.channel.config["network_account_id"] == f"{first.channel.config['instance']}#{account}"

    again = login(cast, mastodon_imitation.base_url, "alice", "two")

    assert again.reconnected and again.channel.pk == first.channel.pk
    (channel,) = Channel.objects.filter(workspace=cast.workspace, kind="mastodon")
    assert channel.credentials["access_token"] not in ("", old_token)
    assert channel.config["account_id"] == account  # the connector's own key is untouched


def test_another_mastodon_account_and_another_workspace_get_their_own_channels_against_the_imitation(
    cast, mastodon_imitation
):
    alice = login(cast, mastodon_imitation.base_url, "alice", "one")
    bob = login(cast, mastodon_imitation.base_url, "bob", "two")
    elsewhere = login(cast, mastodon_imitation.base_url, "alice", "three", workspace=cast.other_workspace)
    assert not bob.reconnected and not elsewhere.reconnected
    assert len({alice.channel.pk, bob.channel.pk, elsewhere.channel.pk}) == 3
    assert elsewhere.channel.workspace_id == cast.other_workspace.pk
