"""An instance's posting rules: the limits it advertises, how it counts characters, and the
checks on media and polls. Each instance sets its own limits, so they are read at connect
(and on check) into channel.config["limits"] instead of being class constants."""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from django.core.files.storage import default_storage
from django.utils.translation import gettext, ngettext

from chorus.connectors.base import Problem, megabytes
from chorus.connectors.mastodon.client import MastodonAPI

DEFAULT_LIMITS: dict[str, int] = {  # Mastodon's own defaults, for servers that advertise nothing
    "max_characters": 500,
    "max_media_attachments": 4,
    "characters_reserved_per_url": 23,
    "image_size_limit": 10 * 1024 * 1024,
    "video_size_limit": 40 * 1024 * 1024,
    "poll_max_options": 4,
    "poll_min_expiration": 300,
    "poll_max_expiration": 2629746,
}
VISIBILITIES = ("public", "unlisted", "private", "direct")
MAX_ALT_TEXT = 1500
URL_RE = re.compile(r"https?://\S+")
MENTION_DOMAIN_RE = re.compile(r"(@\w+)@[\w.-]+\w")


def limits_from_instance(api: MastodonAPI) -> dict[str, int]:
    version, info = api.instance_info()
    config = info.get("configuration") or {}
    statuses, media, polls = (config.get(key) or {} for key in ("statuses", "media_attachments", "polls"))
    if version == 1 and not statuses:  # old servers (and forks) put the limit at the top level
        statuses = {"max_characters": info.get("max_toot_chars")}
    found = {
        "max_characters": statuses.get("max_characters"),
        "max_media_attachments": statuses.get("max_media_attachments"),
        "characters_reserved_per_url": statuses.get("characters_reserved_per_url"),
        "image_size_limit": media.get("image_size_limit"),
        "video_size_limit": media.get("video_size_limit"),
        "poll_max_options": polls.get("max_options"),
        "poll_min_expiration": polls.get("min_expiration"),
        "poll_max_expiration": polls.get("max_expiration"),
    }
    return {key: int(value) if value else DEFAULT_LIMITS[key] for key, value in found.items()}


def count(text: str, limits: dict[str, int]) -> int:
    """Characters as Mastodon counts them: any URL is 23, @user@domain counts as @user."""
    per_url = "x" * limits["characters_reserved_per_url"]
    return len(MENTION_DOMAIN_RE.sub(r"\1", URL_RE.sub(per_url, text)))


def split_thread(text: str, limits: dict[str, int]) -> list[str]:
    """The text cut at spaces into parts that each fit one status."""
    limit = limits["max_characters"]
    parts: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if count(candidate, limits) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current.strip())
        while count(word, limits) > limit:  # a single word longer than a post: cut it
            parts.append(word[:limit])
            word = word[limit:]
        current = word
    if current.strip():
        parts.append(current.strip())
    return parts


def content_type(item: dict[str, Any]) -> str:
    guessed = mimetypes.guess_type(str(item.get("path", "")))[0]
    return str(item.get("content_type") or guessed or "application/octet-stream")


def valid_focus(focus: Any) -> bool:
    try:
        return len(focus) == 2 and all(-1.0 <= float(value) <= 1.0 for value in focus)
    except (TypeError, ValueError):
        return False


def media_problems(index: int, item: dict[str, Any], limits: dict[str, int]) -> list[Problem]:
    name = f"media[{index}]"
    if not item.get("path") or not default_storage.exists(item["path"]):
        return [Problem(name, gettext("The file is missing."), "missing")]
    problems = []
    if len(item.get("alt") or "") > MAX_ALT_TEXT:
        problems.append(
            Problem(
                name,
                ngettext(
                    "Alt text is limited to %(limit)s character.",
                    "Alt text is limited to %(limit)s characters.",
                    MAX_ALT_TEXT,
                )
                % {"limit": MAX_ALT_TEXT},
                "alt_too_long",
            )
        )
    if item.get("focus") is not None and not valid_focus(item["focus"]):
        problems.append(Problem(name, gettext("Focus is two numbers between -1 and 1."), "focus"))
    cap = limits["video_size_limit" if content_type(item).startswith("video/") else "image_size_limit"]
    if default_storage.size(item["path"]) > cap:
        problems.append(
            Problem(
                name,
                gettext("The file is larger than this instance's %(size)s MB.") % {"size": megabytes(cap)},
                "too_big",
            )
        )
    return problems


def poll_problems(poll: dict[str, Any], limits: dict[str, int]) -> list[Problem]:
    problems = []
    most = limits["poll_max_options"]
    if not 2 <= len(poll.get("options") or []) <= most:
        message = ngettext("A poll has 2 to %(most)s option.", "A poll has 2 to %(most)s options.", most)
        problems.append(Problem("options", message % {"most": most}, "poll"))
    expires = int(poll.get("expires_in") or 86400)
    if not limits["poll_min_expiration"] <= expires <= limits["poll_max_expiration"]:
        problems.append(
            Problem("options", gettext("The poll duration is outside this instance's range."), "poll")
        )
    return problems
