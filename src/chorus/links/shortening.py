"""UTM parameters and short links for the links in a post's text.

Shortening runs when the user asks for it in the composer (`shorten_links_in` through the action
`actions.shorten_target_links`), and once more when a target is scheduled in a workspace that
wants shortening (`apply_on_schedule`, called by publishing.actions.schedule and the bulk import),
never at publish time: a publish never depends on a write to the links tables.

A destination must be http(s) and pass the SSRF guard's checks (chorus.core.http.check_public_url:
no credentials, a public host unless CHORUS_ALLOW_PRIVATE_URLS); one that does not is left as typed.

UTM values, most specific first: the post's own `target.options["utm"]`, the campaign's defaults
(CampaignSettings), the workspace presets (LinkSettings), then the rule of the issue: source = the
channel's network kind, medium = social, campaign = the campaign's slug, content = the post id.
Parameters already in a link are kept; ours only fill the missing ones.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from chorus.content.models import PostTarget
from chorus.core.http import UnsafeURL, check_public_url
from chorus.core.refusals import Invalid
from chorus.links.models import CampaignSettings, LinkSettings, ShortLink

URL_RE = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?)]}'\""
UTM_KEYS = ("source", "medium", "campaign", "content")
CODE_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I
CODE_LENGTH = 7


def short_base() -> str:
    base = getattr(settings, "CHORUS_SHORT_LINK_BASE", "") or settings.CHORUS_BASE_URL
    return str(base).rstrip("/")


def short_url(code: str) -> str:
    return f"{short_base()}/l/{code}"


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def with_utm(url: str, utm: dict[str, str]) -> str:
    """`url` with utm_* parameters added; existing parameters (utm ones included) are kept."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _value in query}
    for key in UTM_KEYS:
        value = utm.get(key, "")
        if value and f"utm_{key}" not in present:
            query.append((f"utm_{key}", value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def utm_for(target: PostTarget) -> dict[str, str]:
    post = target.post
    campaign = post.campaign
    values = {
        "source": target.channel.kind,
        "medium": "social",
        "campaign": campaign.slug if campaign is not None else "",
        "content": str(post.pk),
    }
    layers: list[object] = []
    ws_settings = LinkSettings.objects.filter(workspace_id=target.workspace_id).first()
    if ws_settings is not None:
        layers.append(ws_settings)
    if campaign is not None:
        camp_settings = CampaignSettings.objects.filter(campaign=campaign).first()
        if camp_settings is not None:
            layers.append(camp_settings)
    for layer in layers:
        for key in ("source", "medium", "campaign"):
            value = getattr(layer, f"utm_{key}")
            if value:
                values[key] = value
    override = (target.options or {}).get("utm")
    if isinstance(override, dict):
        for key in UTM_KEYS:
            if key in override and isinstance(override[key], str):
                values[key] = override[key].strip()
    return values


def wants_shortening(workspace_id: int) -> bool:
    return LinkSettings.objects.filter(workspace_id=workspace_id, shorten=True).exists()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class InvalidDestination(Invalid):
    """A short link's destination that is not http(s) or that the SSRF guard refuses."""


def check_destination(url: str) -> str:
    if not is_http_url(url):
        raise InvalidDestination(f"only http and https links can be shortened, not {url[:80]!r}")
    try:
        return check_public_url(url)
    except UnsafeURL as exc:
        raise InvalidDestination(str(exc)) from None


def link_for(target: PostTarget, url: str) -> ShortLink:
    """The target's short link for `url`, created once: asking again gives the same code.
    Raises InvalidDestination for a destination that is not http(s) or not public."""
    existing = ShortLink.objects.filter(
        workspace_id=target.workspace_id, target=target, target_url=url
    ).first()
    if existing is not None:
        return existing
    check_destination(url)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return ShortLink.objects.create(
                    workspace_id=target.workspace_id,
                    code=_new_code(),
                    target_url=url,
                    target=target,
                    channel_kind=target.channel.kind,
                )
        except IntegrityError:  # a code collision (57^7 codes): draw another
            continue
    raise RuntimeError("could not draw a free short-link code")


def _split_trailing(url: str) -> tuple[str, str]:
    """A URL at the end of a sentence: 'see https://x.org/a.' keeps its full stop outside."""
    tail = ""
    while url and url[-1] in TRAILING_PUNCTUATION:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        tail = url[-1] + tail
        url = url[:-1]
    return url, tail


def shorten_links_in(target: PostTarget, *, shorten: bool | None = None) -> str:
    """The target's text with UTM parameters on each http(s) link, and each link replaced by its
    short link when the workspace wants shortening (or when `shorten` says so: the composer's
    "Add UTM and shorten links"). Our own short links are left alone, so running it twice
    changes nothing."""
    own_prefix = short_base() + "/l/"
    if shorten is None:
        shorten = wants_shortening(target.workspace_id)
    utm = utm_for(target)

    def replace(match: re.Match[str]) -> str:
        url, tail = _split_trailing(match.group(0))
        if url.startswith(own_prefix) or not is_http_url(url):
            return match.group(0)
        tagged = with_utm(url, utm)
        if not shorten:
            return tagged + tail
        try:
            return short_url(link_for(target, tagged).code) + tail
        except InvalidDestination:
            return match.group(0)  # not a destination we redirect to: left as typed

    return URL_RE.sub(replace, target.text)


def apply_on_schedule(target: PostTarget) -> str | None:
    """The target's text with its links tagged and shortened, when its workspace wants
    shortening and something changes; None otherwise. Idempotent (our own links are skipped)."""
    if not target.text or not wants_shortening(target.workspace_id):
        return None
    if target.pk is not None:  # the stored text, in case the caller's copy is stale
        current = PostTarget.objects.filter(pk=target.pk).values_list("text", flat=True).first()
        target.text = current if current is not None else target.text
    text = shorten_links_in(target)
    return text if text != target.text else None


def apply_to_many(targets: list[PostTarget]) -> int:
    """`apply_on_schedule` for freshly inserted targets of one workspace (the bulk import): the
    workspace setting is read once, changed texts are written in one UPDATE. Returns how many."""
    if not targets or not wants_shortening(targets[0].workspace_id):
        return 0
    changed = []
    for target in targets:
        if target.pk is None or not URL_RE.search(target.text or ""):
            continue
        text = shorten_links_in(target)
        if text != target.text:
            target.text = text
            changed.append(target)
    PostTarget.objects.bulk_update(changed, ["text"])
    return len(changed)


def shorten_link(url: str, target: PostTarget | None = None) -> str:
    """The composer's hook (chorus.publishing.composer.shorten_link): a link of a saved target
    gets its UTM parameters and short link; without a saved target (a draft being typed) the link
    is left as typed, so previews never create short links."""
    if target is None or target.pk is None or not is_http_url(url):
        return url
    tagged = with_utm(url, utm_for(target))
    if not wants_shortening(target.workspace_id):
        return tagged
    try:
        return short_url(link_for(target, tagged).code)
    except InvalidDestination:
        return url
