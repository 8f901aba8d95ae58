"""Outgoing fetches (core/http.py): bounded bytes, a total deadline, one DNS resolution whose
checked address is the one connected to, IPv6 forms embedding IPv4 judged by the embedded
address, and refusals that do not say where a name resolves."""

from __future__ import annotations

import socket
import threading
import time

import httpcore._backends.sync as httpcore_sync
import pytest

from chorus.core import http
from tests.security.budget import huge_page, local_server, measure, slow_drip

PREVIEW = """
from chorus.publishing.composer import fetch_link_preview
import time
started = time.monotonic()
preview = fetch_link_preview(sys.argv[1] if len(sys.argv) > 1 else os.environ["URL"])
report(error=str(preview.error), title=preview.title, seconds=time.monotonic() - started)
"""


def test_a_400_mb_page_is_cut_at_the_page_budget_with_bounded_memory():
    with local_server(huge_page(400 * 1024 * 1024)) as (url, _seen):
        result = measure(PREVIEW, env={"URL": url + "/big", "CHORUS_ALLOW_PRIVATE_URLS": "1"})
    assert result["peak_mb"] - result["baseline_mb"] < 60, result
    assert "larger than the 5 MB allowed" in result["error"], result


def test_a_slow_drip_ends_at_the_total_deadline():
    stop = threading.Event()
    with local_server(slow_drip(0.5, stop)) as (url, _seen):
        try:
            result = measure(
                "from django.conf import settings\n"
                'settings.CHORUS_HTTP_BUDGETS = {"page": {"deadline": 3}}\n' + PREVIEW,
                env={"URL": url + "/slow", "CHORUS_ALLOW_PRIVATE_URLS": "1"},
                timeout=60,
            )
        finally:
            stop.set()
    assert result["seconds"] < 8, result
    assert "longer than the 3 seconds allowed" in result["error"], result
    assert result["peak_mb"] - result["baseline_mb"] < 60, result


@pytest.fixture
def guarded(settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    http.set_transport_for_tests(None)


def test_the_connection_goes_to_the_address_that_was_checked(guarded, monkeypatch):
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1 afterwards.
    Chorus must resolve once and connect to what it checked."""
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            lookups.append(host)
            address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    connected: list[tuple[str, int]] = []

    def no_network(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("test: no network")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(httpcore_sync.socket, "create_connection", no_network)
    with pytest.raises(Exception):  # noqa: B017 - only where it tried to connect matters
        http.request_public("GET", "http://rebind.example/page")
    assert lookups == ["rebind.example"]
    assert connected == [("93.184.216.34", 80)]


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[::ffff:127.0.0.1]",
        "[2002:7f00:1::1]",
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
        "[::a9fe:a9fe]",  # 169.254.169.254, the cloud metadata address
        "[64:ff9b::a00:1]",  # 10.0.0.1 through NAT64
    ],
)
def test_ipv6_forms_embedding_a_private_ipv4_are_refused(guarded, host):
    with pytest.raises(http.UnsafeURL):
        http.check_public_url(f"http://{host}/")


def test_ipv6_forms_embedding_a_public_ipv4_are_judged_by_it():
    assert http.is_public(__import__("ipaddress").ip_address("64:ff9b::808:808"))


def test_the_refusal_does_not_say_where_a_name_resolves(guarded, monkeypatch):
    real_getaddrinfo = socket.getaddrinfo

    def internal(host, port, *args, **kwargs):
        if host == "intranet.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", internal)
    with pytest.raises(http.UnsafeURL) as refused:
        http.check_public_url("http://intranet.example/")
    assert "10.1.2.3" not in str(refused.value)
    assert "intranet.example" in str(refused.value)


def test_budget_errors_are_network_errors_for_callers():
    assert issubclass(http.TooLarge, __import__("httpx").TransportError)
    started = time.monotonic()
    assert http.budget("page").deadline < 60 and started


def test_a_pds_on_a_private_address_is_refused_with_the_setting_named(guarded, owner_client):
    """The Bluesky connect page with a self-hosted PDS on 127.0.0.1: the refusal says which
    setting allows it, in English and in French."""
    from django.urls import reverse
    from django.utils import translation

    url = reverse("channels:connect", kwargs={"slug": "campaign", "kind": "bluesky"})
    form = {"handle": "ngo.test", "app_password": "x", "service": "http://127.0.0.1:2583"}
    page = owner_client.post(url, form).content.decode()
    assert "127.0.0.1 is not a public address" in page
    assert "set CHORUS_ALLOW_PRIVATE_URLS=true" in page
    with translation.override("fr"), pytest.raises(http.UnsafeURL) as refused:
        http.check_public_url("http://127.0.0.1:2583/")
    assert "n’est pas une adresse publique" in str(refused.value)
    assert "CHORUS_ALLOW_PRIVATE_URLS=true" in str(refused.value)
