"""The system check naming the missing OAuth app settings (chorus.W201–W205), and the
not-configured state of each OAuth connector."""

from __future__ import annotations

import typing

import pytest

from chorus.connectors.oauth2 import OAuth2Connector, check_oauth_apps
from chorus.connectors.registry import connector_class

NETWORKS = ("linkedin", "x", "youtube", "tiktok", "pinterest")


def apps(**overrides: dict) -> dict:
    base = {net: {"client_id": "", "client_secret": "", "enabled": None} for net in NETWORKS}
    return {**base, **overrides}


def test_it_stays_quiet_for_networks_nobody_configured(settings):
    settings.CHORUS_OAUTH_APPS = apps()
    assert check_oauth_apps() == []


def test_it_names_the_missing_secret_with_a_stable_id(settings):
    settings.CHORUS_OAUTH_APPS = apps(x={"client_id": "id", "client_secret": "", "enabled": None})
    [warning] = check_oauth_apps()
    assert warning.id == "chorus.W202" and "X_CLIENT_SECRET is not set" in warning.msg


def test_it_names_both_when_a_network_is_enabled_without_credentials(settings):
    settings.CHORUS_OAUTH_APPS = apps(tiktok={"client_id": "", "client_secret": "", "enabled": True})
    [warning] = check_oauth_apps()
    assert warning.id == "chorus.W204" and "TIKTOK_CLIENT_ID, TIKTOK_CLIENT_SECRET are not set" in warning.msg


def test_a_disabled_network_is_not_configured_even_with_credentials(settings):
    settings.CHORUS_OAUTH_APPS = apps(linkedin={"client_id": "i", "client_secret": "s", "enabled": False})
    assert check_oauth_apps() == []
    assert not typing.cast(type[OAuth2Connector], connector_class("linkedin")).configured()


@pytest.mark.parametrize("kind", NETWORKS)
def test_each_connector_says_how_to_set_it_up(kind, settings):
    settings.CHORUS_OAUTH_APPS = apps(**{kind: {"client_id": "i", "client_secret": "s", "enabled": None}})
    cls = typing.cast(type[OAuth2Connector], connector_class(kind))
    assert cls.configured() and cls.kind == kind
    assert f"{kind.upper()}_CLIENT_ID" in str(cls.setup_steps)
    assert cls.idempotent is False
