"""One `classify()` (connectors/classify.py) with a table per network, instead of a near-copy of
the same status ladder in every client."""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

import httpx
import pytest

from chorus.connectors import classify as errors
from chorus.connectors.base import (
    AuthExpired,
    ContentRejected,
    PublishError,
    RateLimited,
    ReauthRequired,
    Transient,
)
from chorus.connectors.classify import ErrorTable, Reading, Rule
from chorus.connectors.linkedin import client as linkedin
from chorus.connectors.mastodon import client as mastodon
from chorus.connectors.meta import graph
from chorus.connectors.pinterest import client as pinterest
from chorus.connectors.tiktok import client as tiktok
from chorus.connectors.x import client as x
from chorus.connectors.youtube import client as youtube

CLIENTS: tuple[ModuleType, ...] = (linkedin, x, youtube, tiktok, pinterest, mastodon, graph)


def _read(response: httpx.Response, body: dict) -> Reading | None:
    if response.status_code < 400:
        return None
    return Reading(
        reason=str(body.get("why") or response.status_code), codes=frozenset(body.get("codes") or ())
    )


TABLE = ErrorTable(
    network="Example",
    read=_read,
    rules=(
        Rule(
            ReauthRequired,
            "%(network)s banned: %(reason)s",
            statuses=frozenset({403}),
            reason_has=("banned",),
        ),
        Rule(AuthExpired, "%(network)s token", codes=frozenset({"expired"})),
        Rule(RateLimited, "%(network)s slow down", statuses=frozenset({429}), wait=42.0, min_wait=10.0),
        Rule(Transient, "%(network)s down %(status)s", server_error=True),
    ),
    fallback=Rule(ContentRejected, "%(network)s said no: %(reason)s"),
)


def test_the_first_matching_rule_decides_and_the_fallback_takes_the_rest() -> None:
    assert errors.classify(httpx.Response(204), TABLE) is None
    banned = errors.classify(httpx.Response(403, json={"why": "You are BANNED"}), TABLE)
    assert isinstance(banned, ReauthRequired) and banned.message == "Example banned: You are BANNED"
    # 403 without the word: no rule (the status matched, the words did not) → the fallback.
    other = errors.classify(httpx.Response(403, json={"why": "duplicate"}), TABLE)
    assert type(other) is ContentRejected and other.message == "Example said no: duplicate"
    # A code matches on any status; a server error by its class of status.
    assert isinstance(errors.classify(httpx.Response(400, json={"codes": ["expired"]}), TABLE), AuthExpired)
    down = errors.classify(httpx.Response(503), TABLE)
    assert isinstance(down, Transient) and down.message == "Example down 503"
    assert errors.classify(httpx.Response(503), TABLE, network="Other").message == "Other down 503"  # type: ignore[union-attr]


def test_a_rate_limit_waits_for_the_header_else_the_rules_default_never_under_its_floor() -> None:
    told = errors.classify(httpx.Response(429, headers={"Retry-After": "120"}), TABLE)
    assert isinstance(told, RateLimited) and told.retry_after == 120.0
    untold = errors.classify(httpx.Response(429), TABLE)
    assert isinstance(untold, RateLimited) and untold.retry_after == 42.0
    short = errors.classify(httpx.Response(429, headers={"Retry-After": "3"}), TABLE)
    assert isinstance(short, RateLimited) and short.retry_after == 10.0


@pytest.mark.parametrize("client", CLIENTS, ids=lambda m: m.__name__.split(".")[-2])
def test_every_oauth_client_classifies_through_its_table(client: ModuleType) -> None:
    assert isinstance(client.ERRORS, ErrorTable)
    tree = ast.parse(inspect.getsource(client.classify))
    compared = [n for n in ast.walk(tree) if isinstance(n, ast.Compare | ast.If)]
    assert compared == [], f"{client.__name__}.classify branches itself instead of using its table"


@pytest.mark.parametrize("client", CLIENTS, ids=lambda m: m.__name__.split(".")[-2])
def test_the_same_answers_mean_the_same_everywhere(client: ModuleType) -> None:
    assert client.classify(httpx.Response(200, json={})) is None
    assert isinstance(client.classify(httpx.Response(503, text="")), Transient)
    limited = client.classify(httpx.Response(429, headers={"Retry-After": "7"}, json={}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 7.0
    failed = client.classify(httpx.Response(418, json={}))
    assert isinstance(failed, PublishError) and not failed.retryable
