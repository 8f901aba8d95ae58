"""A workspace's writing rules (content.WorkspaceRules): banned words, a signature per channel and
a hashtag per campaign. Read here for chorus.publishing.rules (which checks them on every path)
and for the copy (`sign`); changed only through `save_rules`, which checks sizes and audits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from chorus.accounts.models import User, Workspace
from chorus.channels.models import Channel
from chorus.content.models import Campaign, WorkspaceRules
from chorus.core import audit
from chorus.core.refusals import Invalid

MAX_WORDS = 200
MAX_WORD_CHARS = 60
MAX_SIGNATURE_CHARS = 500
HASHTAG_RE = re.compile(r"^#\w{1,100}$")


def rules_of(workspace: Workspace) -> WorkspaceRules | None:
    return WorkspaceRules.objects.filter(workspace=workspace).first()


def _word_re(word: str) -> re.Pattern[str]:
    """The word or phrase on its own: "free" is in "Free entry!", not in "freedom"."""
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)


def banned_in(text: str, words: Iterable[str]) -> list[str]:
    """The banned words `text` uses, in the order of the list."""
    return [word for word in words if word and _word_re(word).search(text)]


def carries(text: str, hashtag: str) -> bool:
    return bool(hashtag) and bool(_word_re(hashtag).search(text))


def signature_for(rules: WorkspaceRules | None, channel_id: int | None) -> str:
    if rules is None or channel_id is None:
        return ""
    return str(rules.signatures.get(str(channel_id), "")).strip()


_URL_RE = re.compile(r"https?://\S+")


@functools.lru_cache(maxsize=256)
def _signature_re(signature: str) -> re.Pattern[str]:
    """The signature at the very end of a copy, whatever its white space (a browser sends line
    ends as CRLF) and whatever its links became (a scheduled copy's links are shortened and get
    UTM parameters, chorus.links): "— Rivers https://rivers.org" still ends a copy that reads
    "— Rivers\r\nhttps://chor.us/l/Ab3"."""
    words = []
    for word in signature.split():
        pieces, last = [], 0
        for found in _URL_RE.finditer(word):
            pieces += [re.escape(word[last : found.start()]), r"https?://\S+?"]
            last = found.end()
        pieces.append(re.escape(word[last:]))
        words.append("".join(pieces))
    return re.compile(r"\s+".join(words) + r"\s*\Z")


def _signature_at_end(text: str, signature: str) -> re.Match[str] | None:
    return _signature_re(signature).search(text)


def sign(text: str, signature: str) -> str:
    """`text` with the signature appended on its own paragraph, once: a copy that already ends
    with it (edited again, or typed by hand) is left as it is; an empty copy stays empty."""
    signature = signature.strip()
    if not signature or not text.strip() or _signature_at_end(text, signature):
        return text
    return f"{text.rstrip()}\n\n{signature}"


def unsign(text: str, signature: str) -> str:
    """`text` without the signature that ends it: what a person edits (the edit screen shows
    the body; saving signs it again through `signed`)."""
    signature = signature.strip()
    found = _signature_at_end(text, signature) if signature else None
    return text[: found.start()].rstrip() if found else text


def signed(text: str, rules: WorkspaceRules | None, channel_id: int | None) -> str:
    """THE signature rule for a copy's text: every path that writes one calls this (the
    composer's create and edit, the API's create and PATCH, the bulk import, a template's start,
    a recurrence's or an evergreen's copy: all through chorus.publishing.actions, and the import
    through bulk.rows). The channel's signature ends the copy once: an edit that keeps it does
    not get a second, an edit that removes it gets it back."""
    return sign(text, signature_for(rules, channel_id))


def save_rules(
    workspace: Workspace,
    *,
    actor: User | None,
    banned_words: Iterable[str],
    signatures: Mapping[int, str],
    campaign_hashtags: Mapping[int, str],
) -> WorkspaceRules:
    """Replaces the workspace's rules. Refuses (Invalid, with the field) what is too long, a
    hashtag that is not one, or a channel or campaign of another workspace."""
    words: list[str] = []
    for raw in banned_words:
        word = " ".join(str(raw).split())
        if not word or word.lower() in (w.lower() for w in words):
            continue
        if len(word) > MAX_WORD_CHARS:
            raise Invalid(
                _("A banned word is at most %(max)d characters: “%(word)s…”.")
                % {"max": MAX_WORD_CHARS, "word": word[:20]},
                fields={"banned_words": "too_long"},
            )
        words.append(word)
        if len(words) > MAX_WORDS:
            raise Invalid(
                _("At most %(max)d banned words.") % {"max": MAX_WORDS}, fields={"banned_words": "too_many"}
            )
    own_channels = set(Channel.objects.filter(workspace=workspace).values_list("pk", flat=True))
    own_campaigns = set(Campaign.objects.filter(workspace=workspace).values_list("pk", flat=True))
    signed: dict[str, str] = {}
    for channel_id, raw in signatures.items():
        if channel_id not in own_channels:
            raise Invalid(_("Unknown channel."), fields={f"signature-{channel_id}": "unknown"})
        text = str(raw).strip()
        if len(text) > MAX_SIGNATURE_CHARS:
            raise Invalid(
                _("A signature is at most %(max)d characters.") % {"max": MAX_SIGNATURE_CHARS},
                fields={f"signature-{channel_id}": "too_long"},
            )
        if text:
            signed[str(channel_id)] = text
    hashtags: dict[str, str] = {}
    for campaign_id, raw in campaign_hashtags.items():
        if campaign_id not in own_campaigns:
            raise Invalid(_("Unknown campaign."), fields={f"hashtag-{campaign_id}": "unknown"})
        tag = str(raw).strip()
        if tag and not tag.startswith("#"):
            tag = "#" + tag
        if tag and not HASHTAG_RE.match(tag):
            raise Invalid(
                _("“%(tag)s” is not a hashtag: a # then letters, digits or _ (no spaces).")
                % {"tag": tag[:40]},
                fields={f"hashtag-{campaign_id}": "invalid"},
            )
        if tag:
            hashtags[str(campaign_id)] = tag
    with transaction.atomic():
        rules, _created = WorkspaceRules.objects.select_for_update().get_or_create(workspace=workspace)
        before: dict[str, Any] = {
            "banned_words": len(rules.banned_words),
            "signatures": len(rules.signatures),
            "campaign_hashtags": len(rules.campaign_hashtags),
        }
        rules.banned_words, rules.signatures, rules.campaign_hashtags = words, signed, hashtags
        rules.save()
        audit.record(
            "workspace.writing_rules_changed",
            workspace=workspace,
            actor=actor,
            obj=rules,
            before=before,
            after={"banned_words": len(words), "signatures": len(signed), "campaign_hashtags": len(hashtags)},
        )
    return rules
