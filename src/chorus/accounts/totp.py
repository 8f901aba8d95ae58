"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), what authenticator apps show.

Thirty lines of standard library rather than a dependency: HMAC, dynamic truncation, a 30-second
step. Tested against the RFC 6238 appendix B vectors (SHA-1, SHA-256, SHA-512, 8 digits).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP = 30  # seconds
DIGITS = 6
DRIFT = 1  # steps accepted either side of now: a phone clock 30 s off still signs in


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_at(at: float) -> int:
    return int(at // STEP)


def totp(key: bytes, at: float, digits: int = DIGITS, digest: str = "sha1") -> str:
    return hotp(key, step_at(at), digits, digest)


def new_secret() -> str:
    """160 random bits (RFC 4226's recommended length), base32 without padding, as apps take it."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def key_of(secret: str) -> bytes:
    secret = secret.replace(" ", "").upper()
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def matching_step(secret: str, code: str, at: float | None = None, after: int = 0) -> int | None:
    """The time step whose code `code` is (within DRIFT of `at`), or None. A step at or before
    `after` (the last one used) is refused: a code works once."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_at(time.time() if at is None else at)
    key = key_of(secret)
    for step in range(now - DRIFT, now + DRIFT + 1):
        if step > after and hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The URI authenticator apps read from the QR code (Google Authenticator's key URI format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": secret, "issuer": issuer, "digits": DIGITS, "period": STEP})
    return f"otpauth://totp/{label}?{query}"
