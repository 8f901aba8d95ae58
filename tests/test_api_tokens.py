"""Personal API tokens: scopes enforced per operation, expiry, audit rows, the tokens page, and the
per-token / per-address rate limits (429 with Retry-After and RateLimit-* headers)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from chorus.accounts import actions
from chorus.accounts.models import ApiToken, Membership
from chorus.accounts.permissions import Scope
from chorus.core.models import AuditEvent

API = "/api/workspaces/campaign"


def _call(raw: str, method: str, url: str, body: dict | None = None, **extra):
    headers = {"Authorization": f"Bearer {raw}"}
    if method == "get":
        return Client(**extra).get(url, headers=headers)
    return getattr(Client(**extra), method)(
        url, data=json.dumps(body or {}), content_type="application/json", headers=headers
    )


def _token(user, scope: str, **kwargs) -> str:
    return actions.issue_api_token(user=user, name=f"{scope} token", scope=scope, **kwargs)[1]


def _member_of(cast, role: str) -> Membership:
    return Membership.objects.get(workspace=cast.workspace, user=cast.members[role])


def _assert_error_shape(response, code: str) -> dict:
    body = response.json()
    assert body["code"] == code, body
    assert body["message"] and body["detail"] == body["message"]
    assert body["fields"] == {}
    return body


# --- scopes -----------------------------------------------------------------------------------


def test_a_read_token_reads_but_cannot_write(cast):
    raw = _token(cast.owner, Scope.READ)

    assert _call(raw, "get", f"{API}/campaigns").status_code == 200
    refused = _call(raw, "post", f"{API}/campaigns", {"name": "Spring"})

    assert refused.status_code == 403
    body = _assert_error_shape(refused, "token_scope")
    assert "Read and write" in body["message"]
    assert not cast.workspace.campaigns.exists()


def test_a_write_token_writes_but_cannot_administer(cast):
    raw = _token(cast.owner, Scope.WRITE)
    editor = _member_of(cast, "editor")

    created = _call(raw, "post", f"{API}/campaigns", {"name": "Spring"})
    assert created.status_code == 201, created.content
    for method, url, body in [
        ("patch", f"{API}/members/{editor.pk}", {"role": "viewer"}),
        ("post", f"{API}/invitations", {"email": "new@example.org", "role": "editor"}),
        ("get", f"{API}/webhooks", None),  # the webhooks are the workspace's administration
    ]:
        refused = _call(raw, method, url, body)
        assert refused.status_code == 403, (method, url, refused.content)
        _assert_error_shape(refused, "token_scope")
    editor.refresh_from_db()
    assert editor.role == "editor"


def test_an_admin_token_administers(cast):
    raw = _token(cast.owner, Scope.ADMIN)
    editor = _member_of(cast, "editor")

    changed = _call(raw, "patch", f"{API}/members/{editor.pk}", {"role": "viewer"})

    assert changed.status_code == 200, changed.content
    editor.refresh_from_db()
    assert editor.role == "viewer"
    assert _call(raw, "get", f"{API}/webhooks").status_code == 200


def test_a_scope_never_adds_to_the_role(cast):
    """An admin-scoped token of a viewer is still a viewer: the role refuses."""
    raw = _token(cast.members["viewer"], Scope.ADMIN)

    refused = _call(raw, "post", f"{API}/campaigns", {"name": "Spring"})

    assert refused.status_code == 403
    assert refused.json()["message"] == "Your role in this workspace does not allow this."


def test_tokens_made_before_scopes_keep_full_access():
    from chorus.accounts.models import ApiToken as Model

    assert Model._meta.get_field("scope").default == Scope.ADMIN


# --- expiry, revocation, audit ----------------------------------------------------------------


def test_an_expired_token_is_refused_401_with_a_clear_message(cast):
    token, raw = actions.issue_api_token(
        user=cast.owner, name="short", scope=Scope.READ, expires_at=timezone.now() + dt.timedelta(days=1)
    )
    assert _call(raw, "get", f"{API}/campaigns").status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    refused = _call(raw, "get", f"{API}/campaigns")

    assert refused.status_code == 401
    body = _assert_error_shape(refused, "token_expired")
    assert "expired on" in body["message"] and "Account → API tokens" in body["message"]


def test_a_revoked_or_unknown_token_is_refused_401(cast):
    token, raw = actions.issue_api_token(user=cast.owner, name="gone", scope=Scope.READ)
    actions.revoke_api_token(token=token, actor=cast.owner)

    for value in (raw, "chorus_not-a-token"):
        refused = _call(value, "get", f"{API}/campaigns")
        assert refused.status_code == 401
        _assert_error_shape(refused, "token_invalid")
    anonymous = Client().get(f"{API}/campaigns")
    assert anonymous.status_code == 401
    _assert_error_shape(anonymous, "not_authenticated")


def test_issue_and_revoke_leave_audit_rows(cast):
    token, _raw = actions.issue_api_token(
        user=cast.owner, name="n8n", scope=Scope.WRITE, expires_at=actions.token_expiry(30)
    )
    actions.revoke_api_token(token=token, actor=cast.owner)

    rows = AuditEvent.objects.filter(object_type__icontains="token", object_id=str(token.pk)).order_by(
        "at", "pk"
    )
    assert [(r.action, r.actor_id, r.data["scope"]) for r in rows] == [
        ("api_token.issued", cast.owner.pk, "write"),
        ("api_token.revoked", cast.owner.pk, "write"),
    ]
    assert rows[0].data["expires_at"].startswith(str((timezone.now() + dt.timedelta(days=30)).date()))


def test_the_issue_action_refuses_a_bad_scope_or_expiry(cast):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        actions.issue_api_token(user=cast.owner, name="x", scope="root")
    with pytest.raises(ValidationError):
        actions.token_expiry(-3)
    assert actions.token_expiry(0) is None


def test_the_tokens_page_chooses_and_shows_scope_and_expiry(cast):
    client = cast.client_for(cast.owner)

    page = client.post("/accounts/tokens/", {"name": "Sheets", "scope": "read", "expires_in_days": "30"})

    assert page.status_code == 200
    token = ApiToken.objects.get(user=cast.owner, name="Sheets")
    assert token.scope == "read"
    assert token.expires_at is not None and token.expires_at > timezone.now() + dt.timedelta(days=29)
    html = page.content.decode()
    assert 'name="scope"' in html and '<td class="token-scope">Read</td>' in html
    raw = page.context["new_token"]
    assert _call(raw, "post", f"{API}/campaigns", {"name": "Spring"}).status_code == 403


def test_the_tokens_page_shows_scopes_in_french(cast):
    cast.owner.language = "fr"
    cast.owner.save(update_fields=["language"])
    actions.issue_api_token(user=cast.owner, name="Tableur", scope=Scope.ADMIN)

    html = cast.client_for(cast.owner).get("/accounts/tokens/").content.decode()

    assert "Portée" in html and "Lecture, écriture et administration" in html


# --- rate limits ------------------------------------------------------------------------------


@override_settings(CHORUS_API_RATE_PER_TOKEN=3, CHORUS_API_RATE_PER_ADDRESS=100)
def test_a_token_over_its_rate_limit_gets_429_with_retry_after(cast):
    raw = _token(cast.owner, Scope.READ)
    answers = [_call(raw, "get", f"{API}/campaigns") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a["RateLimit-Limit"] == "3" for a in answers)
    limited = answers[-1]
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited["RateLimit-Reset"] == limited["Retry-After"]
    assert "Retry-After" not in answers[0]
    _assert_error_shape(limited, "rate_limited")
    # Another token of the same person has its own allowance.
    assert _call(_token(cast.owner, Scope.READ), "get", f"{API}/campaigns").status_code == 200


@override_settings(CHORUS_API_RATE_PER_TOKEN=100, CHORUS_API_RATE_PER_ADDRESS=2)
def test_an_address_over_its_limit_gets_429_whatever_the_token(cast):
    first, second = _token(cast.owner, Scope.READ), _token(cast.members["editor"], Scope.READ)

    statuses = [_call(raw, "get", f"{API}/campaigns").status_code for raw in (first, second, first)]
    other_address = _call(second, "get", f"{API}/campaigns", REMOTE_ADDR="192.0.2.7")

    assert statuses == [200, 200, 429]
    assert other_address.status_code == 200


@override_settings(CHORUS_API_RATE_PER_TOKEN=1, CHORUS_API_RATE_PER_ADDRESS=100)
def test_the_count_starts_again_in_the_next_window(cast):
    from chorus.accounts.models import Throttle

    raw = _token(cast.owner, Scope.READ)
    assert _call(raw, "get", f"{API}/campaigns").status_code == 200
    assert _call(raw, "get", f"{API}/campaigns").status_code == 429

    Throttle.objects.filter(key__startswith="api:token:").update(
        window_start=timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    )

    assert _call(raw, "get", f"{API}/campaigns").status_code == 200


def test_the_schema_documents_scopes_errors_and_rate_limits():
    from chorus.api.api import api

    schema = api.get_openapi_schema()
    assert "offset" in schema["info"]["description"] and "token_expired" in schema["info"]["description"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = {str(k): v for k, v in operation["responses"].items()}
            assert {"401", "403", "404", "422", "429"} <= set(responses), (method, path)
            assert "Retry-After" in responses["429"]["headers"]
            error = responses["404"]["content"]["application/json"]["schema"]
            assert set(error["required"]) == {"code", "message", "fields"}
            success = [v for k, v in responses.items() if k.startswith("2")]
            assert all("RateLimit-Remaining" in r["headers"] for r in success), (method, path)


def test_every_paged_list_takes_limit_and_offset():
    from chorus.api.api import api

    paged = [
        (path, {p["name"] for p in methods["get"].get("parameters", [])})
        for path, methods in api.get_openapi_schema()["paths"].items()
        if "get" in methods
    ]
    with_limit = [(path, names) for path, names in paged if "limit" in names]
    assert len(with_limit) >= 7
    assert [path for path, names in with_limit if "offset" not in names] == []


def test_offset_pages_the_media_library(cast):
    from chorus.media.actions import upload
    from tests.media.conftest import image_bytes, upload_file

    for n in range(3):
        upload(cast.workspace, None, upload_file(f"p{n}.png", image_bytes("PNG", (8 + n, 8))))
    raw = _token(cast.owner, Scope.READ)

    pages = [_call(raw, "get", f"{API}/media?limit=2&offset={offset}").json() for offset in (0, 2)]

    names = [[item["original_name"] for item in page["items"]] for page in pages]
    assert names == [["p2.png", "p1.png"], ["p0.png"]]
