"""Raw calls to the WordPress REST API (wp/v2) with an application password.

The site URL is user-typed, so every request goes through `core.http.request_public` (the SSRF
guard checks the host on each call, since DNS may change after the channel was connected).
Authenticated calls never follow redirects: the REST root was resolved at connect time, and a
redirect must not carry the application password to another host.

Every non-2xx response and every transport failure becomes a PublishError in `classify` /
`_transport_error` — the only places that decide retries for this network.
"""

from __future__ import annotations

import html
from typing import Any

import httpx
from django.utils.translation import gettext

from chorus.connectors.base import (
    ContentRejected,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    ReauthRequired,
    Transient,
    Unreachable,
)
from chorus.core.http import NOT_CONNECTED, UnsafeURL, host_of, request_public, retry_after_seconds

# 403 with one of these prefixes: the account is logged in but may not do this one thing
# (publish, assign a term, upload this file type...). Reconnecting would not help.
PERMISSION_CODE_PREFIXES = ("rest_cannot_", "rest_upload_")
# A term with this name already exists (a race with another writer, or `search` missed it).
TERM_EXISTS = "term_exists"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _error_body(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300].strip(), {}
    if not isinstance(body, dict):
        return "", "", {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    return str(body.get("code") or ""), html.unescape(str(body.get("message") or "")), data or {}


def classify(response: httpx.Response) -> PublishError:
    """Translates a non-2xx WordPress response into the error hierarchy (DESIGN.md)."""
    code, message, data = _error_body(response)
    status = response.status_code
    detail = {"status": status, "code": code, "message": message}
    # WordPress's own message stays as the site gave it; our words around it are translated.
    words = {"network": "WordPress", "reason": message or code or status, "status": status}
    if status == 429:
        return RateLimited(
            (gettext("%(network)s is rate limiting requests.") % words + f" {message}").strip(),
            retry_after=retry_after_seconds(response),
            detail=detail,
        )
    if status == 403 and code.startswith(PERMISSION_CODE_PREFIXES):
        return ContentRejected(
            message or gettext("WordPress refused this action for this account."), detail=detail
        )
    if status in (401, 403):
        # 401 is "not logged in": the application password was revoked or the user removed.
        return ReauthRequired(
            gettext("WordPress refused the application password (%(reason)s); reconnect the site.") % words,
            detail=detail,
        )
    if status >= 500:
        return Transient(
            (gettext("%(network)s answered %(status)s.") % words + f" {message}").strip(), detail=detail
        )
    params = data.get("params")
    if isinstance(params, dict) and params:
        message = f"{message} " + "; ".join(str(value) for value in params.values())
    return ContentRejected(
        message.strip() or gettext("WordPress refused the post (%(status)s).") % words, detail=detail
    )


def _transport_error(exc: Exception, method: str) -> PublishError:
    if isinstance(exc, UnsafeURL):
        return ReauthRequired(
            gettext("The site address is no longer allowed: %(error)s; reconnect the site.") % {"error": exc}
        )
    words = {"network": "WordPress", "error": type(exc).__name__}
    if isinstance(exc, NOT_CONNECTED):
        return Unreachable(
            gettext("Could not reach the WordPress site: %(error)s") % {"error": exc},
            host=host_of(exc, "WordPress"),
        )
    if method in WRITE_METHODS:
        # The request left; WordPress may have applied it. Reconciliation reads back (lookup).
        return OutcomeUnknown(gettext("No answer from %(network)s after sending (%(error)s).") % words)
    return Transient(gettext("%(network)s did not answer (%(error)s).") % words)


def rest_url(rest_root: str, route: str, params: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The URL and query of `route` under a REST root of either form (/wp-json/ or ?rest_route=/)."""
    params = dict(params or {})
    route = "/" + route.lstrip("/")
    if "rest_route=" in rest_root:
        return rest_root.split("?", 1)[0], {"rest_route": route, **params}
    return rest_root.rstrip("/") + route, params


def discover(site_url: str) -> tuple[str, dict[str, Any]]:
    """Finds the REST root of a site: /wp-json/ (pretty permalinks), else ?rest_route=/.
    Returns (rest root, the API index). Raises ValueError with a message for the connect form."""
    base = site_url.rstrip("/")
    for candidate in (f"{base}/wp-json/", f"{base}/?rest_route=/"):
        url, params = rest_url(candidate, "/")
        try:
            response = request_public("GET", url, params=params)
        except httpx.HTTPError:
            continue
        try:
            index = response.json()
        except ValueError:
            continue
        if response.is_success and isinstance(index, dict) and "wp/v2" in index.get("namespaces", []):
            final = response.url  # after redirects (http -> https, www...)
            root = f"{final.scheme}://{final.netloc.decode()}{final.path}"
            return (root if "rest_route" not in candidate else f"{root}?rest_route=/"), index
    raise ValueError(
        gettext("No WordPress REST API found at %(url)s (tried /wp-json/ and ?rest_route=/).")
        % {"url": site_url}
    )


class WordPressAPI:
    def __init__(self, *, rest_root: str, username: str, application_password: str) -> None:
        self.rest_root = rest_root
        self.auth = httpx.BasicAuth(username, application_password)

    def call(
        self,
        method: str,
        route: str,
        *,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """One request; a status in `ok` is returned to the caller instead of raised."""
        url, query = rest_url(self.rest_root, route, params)
        try:
            response = request_public(method, url, params=query, auth=self.auth, max_redirects=0, **kwargs)
        except (httpx.HTTPError, UnsafeURL) as exc:
            raise _transport_error(exc, method) from exc
        if not response.is_success and response.status_code not in ok:
            raise classify(response)
        return response

    def me(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/wp/v2/users/me", params={"context": "edit"}).json()
        return result

    def create_post(self, payload: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", "/wp/v2/posts", json=payload).json()
        return result

    def posts_with_slug(self, slug: str) -> list[dict[str, Any]]:
        # status=any and context=edit need the author's rights: drafts and scheduled posts count.
        params = {"slug": slug, "status": "any", "context": "edit", "per_page": 10}
        result: list[dict[str, Any]] = self.call("GET", "/wp/v2/posts", params=params).json()
        return result

    def delete_post(self, post_id: str) -> None:
        # force=true skips the trash; an already-gone post (404/410) is what we wanted anyway.
        self.call("DELETE", f"/wp/v2/posts/{post_id}", params={"force": "true"}, ok=(404, 410))

    def post_for_edit(self, post_id: str) -> dict[str, Any] | None:
        response = self.call("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"}, ok=(404, 410))
        return response.json() if response.is_success else None  # type: ignore[no-any-return]

    def media_for_edit(self, media_id: int) -> dict[str, Any] | None:
        response = self.call("GET", f"/wp/v2/media/{media_id}", params={"context": "edit"}, ok=(404, 410))
        return response.json() if response.is_success else None  # type: ignore[no-any-return]

    def media_with_slug(self, slug: str) -> list[dict[str, Any]]:
        params = {"slug": slug, "context": "edit", "per_page": 10}
        result: list[dict[str, Any]] = self.call("GET", "/wp/v2/media", params=params).json()
        return result

    def delete_media(self, media_id: int) -> None:
        # Attachments have no trash in the REST API: force=true deletes the file and its sizes.
        self.call("DELETE", f"/wp/v2/media/{media_id}", params={"force": "true"}, ok=(404, 410))

    def upload_media(
        self, content: bytes, *, filename: str, content_type: str, alt: str, slug: str = ""
    ) -> dict[str, Any]:
        safe_name = "".join(c for c in filename if c.isascii() and c not in '"\\;\r\n') or "image"
        headers = {"Content-Type": content_type, "Content-Disposition": f'attachment; filename="{safe_name}"'}
        # A raw-body upload takes its other fields from the query string.
        params = {"alt_text": alt} if alt else {}
        if slug:
            params["slug"] = slug
        result: dict[str, Any] = self.call(
            "POST", "/wp/v2/media", params=params, content=content, headers=headers
        ).json()
        return result

    def term_id(self, taxonomy: str, name: str) -> int:
        """The id of the category/tag called `name` (case-insensitive), created if missing."""
        found = self.call("GET", f"/wp/v2/{taxonomy}", params={"search": name, "per_page": 100}).json()
        for term in found:
            if html.unescape(term["name"]).casefold() == name.casefold():
                return int(term["id"])
        created = self.call("POST", f"/wp/v2/{taxonomy}", json={"name": name}, ok=(400,))
        body = created.json()
        if created.is_success:
            return int(body["id"])
        if body.get("code") == TERM_EXISTS and body.get("data", {}).get("term_id"):
            return int(body["data"]["term_id"])
        raise classify(created)

    def total(self, route: str, params: dict[str, Any] | None = None) -> int | None:
        """The X-WP-Total count of a collection (one item fetched)."""
        response = self.call("GET", route, params={**(params or {}), "per_page": 1})
        value = response.headers.get("x-wp-total")
        return int(value) if value and value.isdigit() else None

    # --- inbox (Feature.INBOX): comments and their moderation -----------------------------
    def comments_since(self, *, after: str, page: int, per_page: int) -> list[dict[str, Any]]:
        """Comments held or approved (status=all), oldest first, from `after` (ISO, GMT)."""
        params: dict[str, Any] = {
            "context": "edit",  # the raw text and the moderation state need the moderator's view
            "status": "all",
            "orderby": "date_gmt",
            "order": "asc",
            "per_page": per_page,
            "page": page,
        }
        if after:
            params["after"] = after
        response = self.call("GET", "/wp/v2/comments", params=params, ok=(400,))
        if response.status_code == 400:  # rest_comment_invalid_page_number: past the last page
            return []
        result: list[dict[str, Any]] = response.json()
        return result

    def create_comment(self, payload: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", "/wp/v2/comments", json=payload).json()
        return result

    def comment_replies(self, parent: str, author: int) -> list[dict[str, Any]]:
        params = {"parent": parent, "author": author, "status": "all", "context": "edit", "per_page": 100}
        result: list[dict[str, Any]] = self.call("GET", "/wp/v2/comments", params=params).json()
        return result

    def set_comment_status(self, comment_id: str, status: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "POST", f"/wp/v2/comments/{comment_id}", json={"status": status}
        ).json()
        return result

    def delete_comment(self, comment_id: str) -> None:
        self.call("DELETE", f"/wp/v2/comments/{comment_id}", params={"force": "true"}, ok=(404, 410))
