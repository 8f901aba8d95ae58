"""Walks every URL pattern and every API operation as anonymous, an outsider (member of another
workspace) and each role, asserting tenancy and permissions.

Patterns and operations are enumerated from the URL resolver and the OpenAPI document, so a new
endpoint is covered automatically; one the walker cannot classify fails `test_every_*_is_covered`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from chorus.accounts.models import ApiToken, Invitation, Membership
from chorus.accounts.permissions import Perm, Role, Scope, can, scope_allows, scope_needed
from tests.conftest import Cast, make_cast


def _feed_in(workspace):
    from chorus.planning.actions import issue_feed

    return issue_feed(workspace, actor=None)[0].pk


def _asset_in(workspace):
    from chorus.media.actions import upload
    from tests.media.conftest import image_bytes, upload_file

    return upload(workspace, None, upload_file("walker.png", image_bytes("PNG", (8, 8))))[0].pk


def _import_job_in(workspace):
    from chorus.bulk.models import ImportJob

    return ImportJob.objects.create(workspace=workspace, filename="walker.csv").pk


def _workflow_in(workspace):
    from chorus.approvals.actions import save_workflow

    return save_workflow(
        workspace, actor=None, name="Walker", applies_to="everyone", steps=[{"role": "admin"}]
    ).pk


def _review_link_in(workspace):
    from chorus.approvals.actions import issue_link

    return issue_link(_target_in(workspace), actor=None, name="Walker")[0].pk


def _story_in(workspace):
    from chorus.approvals.intake import invite, submit

    return submit(invite(workspace, actor=None, name="Walker")[0], title="T", text="S", consent=True).pk


def _ad_account_in(workspace):
    from chorus.ads.models import AdAccount

    target = _target_in(workspace)
    return AdAccount.objects.create(
        workspace=workspace,
        channel=target.channel,
        external_id="walker",
        name="Walker",
        currency="EUR",
        status="active",
    )


def _boost_in(workspace):
    from django.utils import timezone

    from chorus.ads.models import Boost

    account = _ad_account_in(workspace)
    target = account.channel.targets.get()
    return Boost.objects.create(
        workspace=workspace,
        account=account,
        target=target,
        objective="engagement",
        budget_kind="daily",
        budget_minor=500,
        currency="EUR",
        starts_at=timezone.now(),
        ends_at=timezone.now(),
    ).pk


def _listening_query_in(workspace):
    from chorus.listening.actions import create_query

    return create_query(workspace, actor=None, data={"name": "Walker", "expression": "walker"}).pk


def _listening_match_in(workspace):
    from django.utils import timezone

    from chorus.listening.models import Match, Query

    query = Query.objects.get(pk=_listening_query_in(workspace))
    return Match.objects.create(
        workspace=workspace,
        query=query,
        network="bluesky",
        uri="at://did:plc:walker/app.bsky.feed.post/1",
        author_id="did:plc:walker",
        text="walker",
        posted_at=timezone.now(),
    ).pk


def _contributor_in(workspace):
    from chorus.approvals.intake import invite

    return invite(workspace, actor=None, name="Walker")[0].pk


def _conversation_in(workspace):
    import datetime as dt

    from chorus.channels.actions import connect_channel
    from chorus.connectors.inbox import InboxEntry
    from chorus.inbox.actions import ingest

    channel = connect_channel(workspace=workspace, kind="sink", name="Sink", config={}, credentials={})
    entry = InboxEntry(network_id="walker", kind="reply", author_id="fan", created_at=dt.datetime.now(dt.UTC))
    ingest(channel=channel, entries=[entry])
    return channel.conversations.get()


def _inbox_view_in(cast):
    from chorus.inbox.actions import save_view

    return save_view(workspace=cast.workspace, actor=cast.owner, name="Walker", filters={}, shared=True)


def _inbox_reply_in(workspace):
    from chorus.inbox.models import Reply

    conversation = _conversation_in(workspace)
    return Reply.objects.create(
        workspace=workspace,
        conversation=conversation,
        in_reply_to=conversation.items.get(),
        text="walker",
        status=Reply.Status.AWAITING_APPROVAL,
    )


# URL kwargs -> how to get a value that names an object *of the target workspace*.
def _webhook_endpoint_in(workspace):
    from chorus.webhooks.models import Endpoint
    from chorus.webhooks.signing import new_secret, seal

    existing = Endpoint.objects.filter(workspace=workspace).first()  # a delivery_id must be of it
    if existing is not None:
        return existing.pk
    return Endpoint.objects.create(
        workspace=workspace,
        url="https://hooks.example.org/in",
        event_types=["post.failed"],
        secret_encrypted=seal(new_secret()),
    ).pk


def _webhook_delivery_in(workspace):
    from chorus.webhooks.models import Delivery

    return Delivery.objects.create(
        workspace=workspace,
        endpoint_id=_webhook_endpoint_in(workspace),
        event_id="msg_walker",
        event_type="post.failed",
        body="{}",
        status="failed",
    ).pk


def _experiment_in(workspace):
    from chorus.experiments.models import Experiment

    return Experiment.objects.create(workspace=workspace, question="Walker?").pk


def _report_id_in(workspace):
    import datetime as dt

    from chorus.analytics.reports import ReportSpec
    from chorus.api.analytics import report_id

    return report_id(workspace, ReportSpec(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), "csv")


def _target_in(workspace):
    from chorus.channels.actions import connect_channel
    from chorus.publishing.actions import create_post

    channel = connect_channel(workspace=workspace, kind="sink", name="Sink", config={}, credentials={})
    return create_post(workspace=workspace, author=None, channels=[channel], text="walker").targets.get()


KWARG_FACTORIES: dict[str, Callable[[Cast], Any]] = {
    "slug": lambda cast: cast.workspace.slug,
    "member_id": lambda cast: Membership.objects.get(workspace=cast.workspace, role=Role.VIEWER).pk,
    "target_id": lambda cast: _target_in(cast.workspace).pk,
    "channel_id": lambda cast: _target_in(cast.workspace).channel_id,
    "kind": lambda cast: "wordpress",
    "pending_id": lambda cast: "walker",  # a choice this session never started: refused, back to channels
    "campaign_id": lambda cast: cast.workspace.campaigns.create(name="Walker", slug="walker").pk,
    "asset_id": lambda cast: _asset_in(cast.workspace),
    "feed_id": lambda cast: _feed_in(cast.workspace),
    "job_id": lambda cast: _import_job_in(cast.workspace),
    "report_id": lambda cast: _report_id_in(cast.workspace),
    "workflow_id": lambda cast: _workflow_in(cast.workspace),
    "link_id": lambda cast: _review_link_in(cast.workspace),
    "story_id": lambda cast: _story_in(cast.workspace),
    "post_id": lambda cast: _target_in(cast.workspace).post_id,
    "experiment_id": lambda cast: _experiment_in(cast.workspace),
    "endpoint_id": lambda cast: _webhook_endpoint_in(cast.workspace),
    "delivery_id": lambda cast: _webhook_delivery_in(cast.workspace),
    "action": lambda cast: "stop",
    "account_id": lambda cast: _ad_account_in(cast.workspace).pk,
    "boost_id": lambda cast: _boost_in(cast.workspace),
    "query_id": lambda cast: _listening_query_in(cast.workspace),
    "match_id": lambda cast: _listening_match_in(cast.workspace),
    "contributor_id": lambda cast: _contributor_in(cast.workspace),
    "conversation_id": lambda cast: _conversation_in(cast.workspace).pk,
    "item_id": lambda cast: _conversation_in(cast.workspace).items.get().pk,
    "reply_id": lambda cast: _inbox_reply_in(cast.workspace).pk,
    "template_id": lambda cast: cast.workspace.post_templates.create(name="Walker", text="walker").pk,
    "view_id": lambda cast: _inbox_view_in(cast).pk,
    "invitation_id": lambda cast: (
        Invitation.objects.create(
            workspace=cast.workspace,
            email="new@example.org",
            role=Role.EDITOR,
            token_hash="x" * 64,
            expires_at="2099-01-01T00:00:00Z",
        ).pk
    ),
}


def _experiment_in(workspace):
    from chorus.experiments.models import Experiment

    return Experiment.objects.create(workspace=workspace, question="Walker?").pk


def _target_in(workspace):
    from chorus.channels.actions import connect_channel
    from chorus.publishing.actions import create_post

    channel = connect_channel(workspace=workspace, kind="sink", name="Sink", config={}, credentials={})
    return create_post(workspace=workspace, author=None, channels=[channel], text="walker").targets.get()


# Views outside the workspace tenancy, with what anonymous gets. Anything else must be a
# workspace view (carrying `chorus_permission`) or listed here with a reason.
PUBLIC_OR_USER_VIEWS = {
    "login": "public",
    "login_code": "public",  # needs the session's right password first; tested in tests/test_two_factor
    "logout": "public",
    "password_reset": "public",
    "password_reset_done": "public",
    "password_reset_confirm": "public",
    "password_reset_complete": "public",
    "accept_invitation": "public",  # the token itself is the credential; tested in test_invitations
    "switch_language": "public",
    "health": "public",
    "analytics:shared": "public",  # the token is the credential; tested in tests/analytics
    "approvals:outside_review": "public",  # the review link's token is the credential; tests/approvals/test_review_links
    "approvals:outside_media": "public",  # same token; serves only that post's own media
    "approvals:contribute": "public",  # the contributor's magic-link token is the credential; tests/approvals/test_intake
    "links:redirect": "public",  # short links are public by design; tested in tests/links/test_redirect
    "short_link": "public",  # the same view, first in chorus/urls.py (resolved first)
    "planning:ical_feed": "public",  # the secret token is the credential; tested in tests/planning/test_feeds
    "inbox:meta_webhook": "public",  # signed by Meta (X-Hub-Signature-256); tests/inbox/test_meta_inbox_fake  # the secret token is the credential; tested in tests/planning/test_feeds
    "home": "user",
    "password_change": "user",
    "password_change_done": "user",
    "profile": "user",
    "api_tokens": "user",
    "two_factor": "user",
    "api_token_revoke": "user",  # scoped to the user's own tokens; tested in test_api_tokens
    "workspace_create": "user",
    "channels:oauth_callback": "user",  # state-checked against the session; tested in test_channels  # creation rights tested in test_workspaces
    "ads:meta_callback": "user",  # state-checked against the session; tests/ads/test_meta_login_connects_ad_accounts
}
# Patterns owned by other frameworks and covered by their own tests.
FOREIGN_PREFIXES = ("admin/", "api/", "media/", "static/")


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    callback: Any


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield Route(namespace + (entry.name or ""), prefix + str(entry.pattern), entry.callback)


ROUTES = [r for r in _walk(get_resolver()) if not r.pattern.startswith(FOREIGN_PREFIXES)]
WORKSPACE_ROUTES = [r for r in ROUTES if hasattr(r.callback, "chorus_permission")]


def test_every_url_pattern_is_covered():
    unclassified = [
        r.pattern
        for r in ROUTES
        if not hasattr(r.callback, "chorus_permission") and r.name not in PUBLIC_OR_USER_VIEWS
    ]
    assert not unclassified, f"new URL patterns without tenancy classification: {unclassified}"
    for route in WORKSPACE_ROUTES:
        for kwarg in _kwargs_of(route.pattern):
            assert kwarg in KWARG_FACTORIES, f"{route.pattern}: add a KWARG_FACTORIES entry for <{kwarg}>"


def _kwargs_of(pattern: str) -> list[str]:
    import re

    return re.findall(r"<(?:\w+:)?(\w+)>", pattern)


def _url(route: Route, walk: Walk) -> str:
    from django.urls import reverse

    return reverse(route.name, kwargs={k: walk.kwargs[k] for k in _kwargs_of(route.pattern)})


ACTORS = ["anonymous", "outsider", *[r.value for r in Role]]


@dataclass
class Walk:
    """What every case of this module shares: the cast, each actor's signed-in session and API
    token, and one object of the cast's workspace per URL kwarg."""

    cast: Cast
    cookies: dict[str, SimpleCookie]  # actor -> session cookie
    tokens: dict[str, str]  # actor -> raw API token
    kwargs: dict[str, Any]
    scoped: dict[str, str]  # scope -> the owner's raw API token of that scope

    def client(self, actor: str) -> Client:
        client = Client()
        client.cookies = SimpleCookie(self.cookies.get(actor, SimpleCookie()))  # a case's own copy
        return client


@pytest.fixture(scope="module")
def walk(django_db_setup: None, django_db_blocker: Any) -> Iterator[Walk]:
    """Built once per module (per test process) in a transaction rolled back at the module's end;
    each case runs in a savepoint inside it (the `db` fixture), so what a case changes (a POST
    that deletes a campaign...) is undone before the next. ~1,500 cases used to build a cast,
    sign in and create their objects each."""
    md5 = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=md5), transaction.atomic():
        cast = make_cast()
        cookies, tokens = {}, {}
        for actor in ACTORS[1:]:
            user = cast.outsider if actor == "outsider" else cast.members[actor]
            client = Client()
            client.force_login(user)
            cookies[actor] = client.cookies
            tokens[actor] = ApiToken.issue(user, "walker")[1]
        names = set(KWARG_FACTORIES) | set(API_PATH_PARAMS)
        kwargs = {name: KWARG_FACTORIES[name](cast) for name in sorted(names)}
        scoped = {scope.value: ApiToken.issue(cast.owner, "walker", scope=scope)[1] for scope in Scope}
        yield Walk(cast, cookies, tokens, kwargs, scoped)
        transaction.set_rollback(True)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", WORKSPACE_ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_workspace_view_tenancy(walk: Walk, db: None, route: Route, actor: str, method: str):
    url = _url(route, walk)
    response = getattr(walk.client(actor), method)(url)
    perm: Perm = route.callback.chorus_permission
    if actor == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif actor == "outsider":
        assert response.status_code == 404
    elif not can(actor, perm):
        assert response.status_code == 403, f"{actor} must not reach {route.name} ({perm})"
    else:
        assert response.status_code in (200, 302, 405), (
            f"{actor} should reach {route.name}: {response.status_code}"
        )


@pytest.mark.parametrize("name", [n for n, kind in PUBLIC_OR_USER_VIEWS.items() if kind == "user"])
def test_user_views_need_sign_in(client, name: str):
    from django.urls import reverse

    kwargs = {"api_token_revoke": {"token_id": 1}, "channels:oauth_callback": {"kind": "mastodon"}}.get(
        name, {}
    )
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"]


# --- the REST API ---------------------------------------------------------------------------

API_PATH_PARAMS: dict[str, Callable[[Cast], Any]] = {
    "slug": KWARG_FACTORIES["slug"],
    "member_id": KWARG_FACTORIES["member_id"],
    "target_id": KWARG_FACTORIES["target_id"],
    "asset_id": KWARG_FACTORIES["asset_id"],
    "link_id": KWARG_FACTORIES["link_id"],
    "campaign_id": KWARG_FACTORIES["campaign_id"],
    "experiment_id": KWARG_FACTORIES["experiment_id"],
    "boost_id": KWARG_FACTORIES["boost_id"],
    "query_id": KWARG_FACTORIES["query_id"],
    "contributor_id": KWARG_FACTORIES["contributor_id"],
    "conversation_id": KWARG_FACTORIES["conversation_id"],
    "endpoint_id": KWARG_FACTORIES["endpoint_id"],
    "delivery_id": KWARG_FACTORIES["delivery_id"],
    "channel_id": KWARG_FACTORIES["channel_id"],
    "job_id": KWARG_FACTORIES["job_id"],
    "report_id": KWARG_FACTORIES["report_id"],
    "template_id": KWARG_FACTORIES["template_id"],
    "post_id": KWARG_FACTORIES["post_id"],
    "story_id": KWARG_FACTORIES["story_id"],
}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    from chorus.api.api import api

    schema = api.get_openapi_schema()
    return [
        (path, method, op)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


OPERATIONS = _operations()


def test_every_api_operation_declares_a_permission():
    missing = [f"{m.upper()} {p}" for p, m, op in OPERATIONS if "x-chorus-permission" not in op]
    assert not missing, f"API operations without x-chorus-permission: {missing}"
    for path, _method, _op in OPERATIONS:
        for param in _kwargs_of(path.replace("{", "<").replace("}", ">")):
            assert param in API_PATH_PARAMS, f"{path}: add an API_PATH_PARAMS entry for {{{param}}}"


def _api_url(path: str, walk: Walk) -> str:
    for param in _kwargs_of(path.replace("{", "<").replace("}", ">")):
        path = path.replace("{" + param + "}", str(walk.kwargs[param]))
    return path


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: f"{o[1].upper()} {o[0]}")
def test_api_operation_tenancy(walk: Walk, db: None, operation: tuple[str, str, dict[str, Any]], actor: str):
    path, method, op = operation
    url = _api_url(path, walk)
    headers = {}
    if actor != "anonymous":
        headers["Authorization"] = f"Bearer {walk.tokens[actor]}"

    if method == "get":
        response = Client().get(url, headers=headers)
    else:
        response = getattr(Client(), method)(
            url, data=json.dumps({}), content_type="application/json", headers=headers
        )
    permission = op["x-chorus-permission"]
    if actor == "anonymous":
        assert response.status_code == 401
        return
    if permission == "authenticated":
        assert response.status_code in (200, 201, 204, 422)
        return
    perm = Perm(permission)
    if actor == "outsider":
        assert response.status_code == 404
    elif not can(actor, perm):
        assert response.status_code == 403, f"{actor} must not {method.upper()} {path} ({perm})"
    else:
        # Allowed roles get past tenancy; an empty body may still be refused as invalid (422),
        # and some actions refuse on business rules (e.g. editing someone else's post: 403 with its
        # own reason — never the role refusal, which would mean the permission table disagrees).
        if response.status_code == 403:
            assert "Your role in this workspace does not allow this." not in response.content.decode()
        else:
            assert response.status_code in (200, 201, 204, 400, 409, 422), response.content


@pytest.mark.parametrize("scope", [s.value for s in Scope])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: f"{o[1].upper()} {o[0]}")
def test_api_operation_token_scope(
    walk: Walk, db: None, operation: tuple[str, str, dict[str, Any]], scope: str
):
    """The owner's token of each scope: read reaches GET, write every other method, admin the
    workspace's administration too (accounts.permissions.scope_needed); a narrower scope is 403
    `token_scope` before anything else happens."""
    path, method, op = operation
    url = _api_url(path, walk)
    headers = {"Authorization": f"Bearer {walk.scoped[scope]}"}
    if method == "get":
        response = Client().get(url, headers=headers)
    else:
        response = getattr(Client(), method)(
            url, data=json.dumps({}), content_type="application/json", headers=headers
        )
    permission = op["x-chorus-permission"]
    needed = scope_needed(method, None if permission == "authenticated" else Perm(permission))
    refused = response.status_code == 403 and response.json().get("code") == "token_scope"
    if scope_allows(scope, needed):
        assert not refused and response.status_code != 401, response.content
    else:
        assert refused, f"a {scope} token must not {method.upper()} {path} (needs {needed})"
