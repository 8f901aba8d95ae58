"""Standard Webhooks signatures (https://www.standardwebhooks.com/): `webhook-signature` is
"v1," + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")). During a secret rotation's
overlap both the new and the previous secret sign, space-separated, as the spec allows, so a
receiver that still holds the old secret keeps verifying."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from typing import Any

from standardwebhooks.webhooks import Webhook

from chorus.core import vault

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def seal(current: str, previous: str = "", previous_until: dt.datetime | None = None) -> str:
    return vault.encrypt(
        {
            "current": current,
            "previous": previous,
            "previous_until": previous_until.isoformat() if previous_until else "",
        }
    )


def secrets_in_use(sealed: str, at: dt.datetime) -> list[str]:
    """The secrets that sign at `at`: the current one, and the previous one until its overlap ends."""
    data: dict[str, Any] = vault.decrypt(sealed)
    in_use = [data["current"]]
    until = data.get("previous_until")
    if data.get("previous") and until and dt.datetime.fromisoformat(until) > at:
        in_use.append(data["previous"])
    return in_use


def current_secret(sealed: str) -> str:
    return str(vault.decrypt(sealed)["current"])


def headers(secrets_: list[str], msg_id: str, at: dt.datetime, body: bytes) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }
