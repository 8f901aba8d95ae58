"""Connecting a real WordPress site with an application password."""

from __future__ import annotations

import httpx
import pytest

from chorus.connectors.base import ConnectResult, ReauthRequired
from chorus.connectors.wordpress.connector import WordPressConnectForm, WordPressConnector
from chorus.core.http import UnsafeURL
from tests.connectors.wordpress.conftest import connect_data
from tests.peers.wordpress import WordPressSite


@pytest.mark.peer
def test_it_connects_with_an_application_password(wordpress_site: WordPressSite, local_urls) -> None:
    form = WordPressConnectForm(data=connect_data(wordpress_site))
    assert form.is_valid(), form.errors
    result = WordPressConnector.begin_connect(form.cleaned_data, callback_url="", state="")
    assert isinstance(result, ConnectResult)
    assert result.name  # the site title
    assert result.config == {
        "site_url": wordpress_site.url,
        "rest_root": f"{wordpress_site.url}/wp-json/",
        "username": wordpress_site.username,
        "user_id": wordpress_site.user_id,
    }
    assert result.credentials == {"application_password": wordpress_site.application_password}


@pytest.mark.peer
def test_the_connected_channel_checks_out(wp_channel) -> None:
    assert (
        wp_channel.connector().check() == f"Connected to {wp_channel.name} as {wp_channel.config['username']}"
    )


@pytest.mark.peer
def test_a_wrong_application_password_is_a_clear_error(wordpress_site: WordPressSite, local_urls) -> None:
    data = connect_data(wordpress_site, application_password="abcd efgh ijkl mnop qrst uvwx")
    with pytest.raises(ValueError, match="refused the username or application password") as refused:
        WordPressConnector.begin_connect(data, callback_url="", state="")
    assert "reconnect the site" not in str(refused.value)  # WordPress's own reason, not the publish one


@pytest.mark.peer
def test_a_revoked_password_on_a_connected_channel_asks_for_reauth(wp_channel) -> None:
    wp_channel.credentials = {"application_password": "wrong wrong wrong wrong"}
    with pytest.raises(ReauthRequired, match="reconnect"):
        wp_channel.connector().check()


@pytest.mark.usefixtures("local_urls")
def test_a_site_without_wordpress_is_refused(fake_network) -> None:
    fake_network(lambda request: httpx.Response(404, text="<html>Not a blog</html>"))
    data = {"site_url": "https://example.org", "username": "someone", "application_password": "x"}
    with pytest.raises(ValueError, match=r"No WordPress REST API found at https://example\.org"):
        WordPressConnector.begin_connect(data, callback_url="", state="")


@pytest.mark.peer
def test_a_private_address_is_refused_without_the_setting(wordpress_site: WordPressSite, settings) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(UnsafeURL):
        WordPressConnector.begin_connect(connect_data(wordpress_site), callback_url="", state="")


@pytest.mark.usefixtures("local_urls")
def test_it_falls_back_to_rest_route_without_pretty_permalinks(fake_network) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        route = request.url.params.get("rest_route")
        if route == "/":
            return httpx.Response(
                200, json={"name": "Plain &amp; Simple", "namespaces": ["oembed/1.0", "wp/v2"]}
            )
        if route == "/wp/v2/users/me":
            return httpx.Response(200, json={"id": 7, "name": "Ed"})
        return httpx.Response(404, text="<html>Not found</html>")

    sent = fake_network(handler)
    data = {"site_url": "https://plain.example/", "username": "ed", "application_password": "abcd efgh"}
    result = WordPressConnector.begin_connect(data, callback_url="", state="")
    assert isinstance(result, ConnectResult)
    assert result.name == "Plain & Simple"
    assert result.config["rest_root"] == "https://plain.example/?rest_route=/"
    assert result.config["user_id"] == 7
    assert [str(r.url) for r in sent] == [
        "https://plain.example/wp-json/",
        "https://plain.example/?rest_route=%2F",
        "https://plain.example/?rest_route=%2Fwp%2Fv2%2Fusers%2Fme&context=edit",
    ]
    assert "authorization" not in sent[0].headers  # discovery is anonymous
