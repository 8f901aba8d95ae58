"""A connection waiting for the user to pick accounts (the Page picker).

After an OAuth login that reaches several accounts, their tokens must wait somewhere until the
user chooses. They stay on the server: the session (database-backed) keeps one vault-encrypted
record per pending choice, naming its kind, workspace, user and expiry inside the encrypted part,
so a record altered, replayed in another workspace or by another user, or kept too long is
refused. The page and its URL carry only a random id and the options' keys, never a token.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from chorus.connectors.base import ConnectChoice, ConnectOption, ConnectResult
from chorus.core import vault

SESSION_KEY = "chorus_connect_choices"
LIFETIME_SECONDS = 15 * 60  # long enough to choose, short enough that tokens do not linger
MAX_PENDING = 5  # per session: an abandoned picker does not pile up tokens


@dataclass(frozen=True)
class Pending:
    pending_id: str
    kind: str
    options: tuple[ConnectOption, ...]


def keep(request: HttpRequest, *, kind: str, workspace_id: int, choice: ConnectChoice) -> str:
    """Stores the choice in the session, encrypted; returns its id for the picker's URL."""
    pending_id = secrets.token_urlsafe(16)
    expires = time.time() + LIFETIME_SECONDS
    record = {
        "id": pending_id,
        "kind": kind,
        "workspace": workspace_id,
        "user": request.user.pk,
        "expires": expires,
        "options": [_option_to_dict(option) for option in choice.options],
    }
    stored = {
        key: value
        for key, value in _stored(request).items()
        if isinstance(value, dict) and float(value.get("expires") or 0) > time.time()
    }
    while len(stored) >= MAX_PENDING:
        del stored[min(stored, key=lambda key: float(stored[key]["expires"]))]
    # `expires` in clear only to prune the session; the one that counts is inside the record.
    stored[pending_id] = {"record": vault.encrypt(record), "expires": expires}
    request.session[SESSION_KEY] = stored
    return pending_id


def load(request: HttpRequest, pending_id: str, *, workspace_id: int) -> Pending | None:
    """The pending choice, or None when it is unknown, altered, expired, or not this user's and
    workspace's."""
    entry = _stored(request).get(pending_id)
    if not isinstance(entry, dict):
        return None
    try:
        record = vault.decrypt(str(entry.get("record") or ""))
    except vault.VaultError:
        return None
    if (
        record.get("id") != pending_id
        or record.get("workspace") != workspace_id
        or record.get("user") != request.user.pk
        or float(record.get("expires") or 0) <= time.time()
    ):
        return None
    try:
        options = tuple(_option_from_dict(option) for option in record["options"])
    except (KeyError, TypeError):
        return None
    return Pending(pending_id=pending_id, kind=str(record["kind"]), options=options)


def drop(request: HttpRequest, pending_id: str) -> None:
    stored = _stored(request)
    if stored.pop(pending_id, None) is not None:
        request.session[SESSION_KEY] = stored


def chosen(choice: Pending, keys: list[str]) -> list[ConnectOption] | None:
    """The options a picker's form sent back by key, in the order they were offered; None when a
    key was not among them (a forged or stale form: the caller drops the whole choice)."""
    offered = {option.key for option in choice.options}
    if any(key not in offered for key in keys):
        return None
    return [option for option in choice.options if option.key in keys]


def _stored(request: HttpRequest) -> dict[str, Any]:
    value = request.session.get(SESSION_KEY)
    return dict(value) if isinstance(value, dict) else {}


def _option_to_dict(option: ConnectOption) -> dict[str, Any]:
    result = option.result
    return {
        "key": option.key,
        "name": option.name,
        "detail": option.detail,
        "picture": option.picture,
        "result": {
            "name": result.name,
            "config": result.config,
            "credentials": result.credentials,
            "account_id": result.account_id,
        },
    }


def _option_from_dict(data: dict[str, Any]) -> ConnectOption:
    result = data["result"]
    return ConnectOption(
        key=str(data["key"]),
        name=str(data["name"]),
        detail=str(data.get("detail") or ""),
        picture=str(data.get("picture") or ""),
        result=ConnectResult(
            name=str(result["name"]),
            config=dict(result["config"]),
            credentials=dict(result["credentials"]),
            account_id=str(result.get("account_id") or ""),
        ),
    )
