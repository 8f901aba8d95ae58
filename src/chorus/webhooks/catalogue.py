"""One example payload (`data`) per event type: the documented, stable shape of each event.

The endpoint page and `GET /api/workspaces/{slug}/webhooks/event-types` show these examples, the
README's events table lists their keys, and tests check that every payload an action emits
carries at least these keys (new keys may be added; none is removed or renamed).
"""

from __future__ import annotations

from typing import Any

_BASE = "https://chorus.example.org"
_CHANNEL = {"id": 3, "kind": "bluesky", "name": "Seas Alive"}
_WORKSPACE = {"id": 1, "slug": "seas-alive"}


def _target(**extra: Any) -> dict[str, Any]:
    return {
        "post_id": 41,
        "target_id": 57,
        "channel": _CHANNEL,
        "status": "scheduled",
        "scheduled_at": "2026-12-07T09:00:00+00:00",
        "published_at": None,
        "external_id": None,
        "url": None,
        "error_code": None,
        "error_message": None,
        **extra,
    }


EXAMPLES: dict[str, dict[str, Any]] = {
    "post.scheduled": _target(),
    "post.published": _target(
        status="published",
        published_at="2026-12-07T09:00:02+00:00",
        external_id="at://did:plc:seas/app.bsky.feed.post/3lbx",
        url="https://bsky.app/profile/seasalive.org/post/3lbx",
    ),
    "post.failed": _target(
        status="failed", error_code="content_rejected", error_message="The text is too long."
    ),
    "post.outcome_unknown": _target(status="unknown", error_code="timeout", error_message="No answer."),
    "approval.requested": _target(status="in_review", scheduled_at=None),
    "approval.decided": _target(status="approved", decision="approved", comment="Good to go"),
    "story.received": {"story_id": 12, "title": "Beach clean-up", "contributor": "Ana", "photos": 2},
    "import.finished": {"job_id": 8, "status": "done", "imported": 40, "rows": 40, "error": None},
    "report.ready": {
        "report_id": 5,
        "name": "November",
        "start": "2026-11-01",
        "end": "2026-11-30",
        "sent_to": 2,
    },
    "channel.needs_reconnect": {
        "channel_id": 3,
        "kind": "bluesky",
        "name": "Seas Alive",
        "reason": "The session expired.",
    },
    "inbox.message.received": {
        "workspace": _WORKSPACE,
        "item_id": 901,
        "conversation_id": 77,
        "channel": _CHANNEL,
        "kind": "reply",  # reply, mention, quote, comment or message
        "network_id": "at://did:plc:fan/app.bsky.feed.post/3lby",
        "url": "https://bsky.app/profile/fan.example/post/3lby",
        "author": {"id": "did:plc:fan", "handle": "fan.example", "name": "A Fan"},
        "text": "Where can I join the next survey?",
        "created_at": "2026-12-07T09:12:00+00:00",
        "received_at": "2026-12-07T09:12:04+00:00",
        "via": "poll",  # poll or webhook
        "links": {
            "page": f"{_BASE}/w/seas-alive/inbox/77/",
            "api": f"{_BASE}/api/workspaces/seas-alive/inbox/conversations/77",
        },
    },
    "listening.alert": {
        "workspace": _WORKSPACE,
        "alert_id": 14,
        "kind": "spike",  # spike, negative or notable
        "message": "Brand: 42 posts in the last hour, 6.0× the usual 7.0.",
        "query": {"id": 2, "name": "Brand", "group": "brand"},
        "data": {"count": 42, "baseline": 7.0},  # negative: negative, known; notable: match, url
        "created_at": "2026-12-07T10:00:00+00:00",
        "links": {
            "page": f"{_BASE}/w/seas-alive/listening/",
            "api": f"{_BASE}/api/workspaces/seas-alive/listening/matches?query=2",
        },
    },
    "ad.status_changed": {
        "workspace": _WORKSPACE,
        "boost_id": 6,
        "old_status": "in_review",
        "status": "rejected",  # Boost.Status values; the move to creating is not sent
        "reason": "The image has too much text.",
        "post_id": 41,
        "target_id": 57,
        "channel": {"id": 4, "kind": "facebook", "name": "Seas Alive"},
        "account": {"id": 2, "external_id": "1234", "name": "Seas Alive ads"},
        "objective": "engagement",
        "budget_kind": "daily",
        "budget_minor": 1500,
        "currency": "EUR",
        "starts_at": "2026-12-08T09:00:00+00:00",
        "ends_at": "2026-12-11T09:00:00+00:00",
        "links": {
            "page": f"{_BASE}/w/seas-alive/ads/boosts/6/",
            "api": f"{_BASE}/api/workspaces/seas-alive/boosts/6",
        },
    },
    "experiment.concluded": {
        "workspace": _WORKSPACE,
        "experiment_id": 3,
        "question": "Does a photo of a person beat a landscape?",
        "metric": "engagement_rate",
        "design": "alternation",
        "winner": "B",  # null: no difference detected
        "p_value": 0.0004,
        "variants": [
            {"label": "A", "successes": 440, "trials": 22000, "posts": 2},
            {"label": "B", "successes": 600, "trials": 22000, "posts": 2},
        ],
        "learning": "Does a photo of a person beat a landscape?: variant B, +0.73 points…",
        "started_at": "2026-11-20T09:00:00+00:00",
        "concluded_at": "2026-12-07T11:00:00+00:00",
        "links": {
            "page": f"{_BASE}/w/seas-alive/experiments/3/",
            "api": f"{_BASE}/api/workspaces/seas-alive/experiments/3",
        },
    },
    "webhook.test": {"endpoint_id": 9, "message": "Hello from Chorus"},
}


def missing_keys(event_type: str, data: dict[str, Any]) -> list[str]:
    """The catalogue's top-level keys that `data` lacks (empty: the payload keeps the shape)."""
    return sorted(set(EXAMPLES[event_type]) - set(data))
