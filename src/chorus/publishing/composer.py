"""The composer's logic, shared by the web views and the API: a draft read from the form, checked
per channel by each connector's own `validate` on unsaved PostTargets, a character counter and a
preview per network, link preview cards, and recurring schedules.

Everything that differs per network comes from the channel's connector (connectors/base.py): the
options it declares (`composer_options`), how it counts text (`count_text`), how it names the
account (`handle`), what a mention looks like (`mention_pattern`) and what a draft's link becomes
(`draft_options`). This module holds no per-network table and never branches on a kind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus.accounts.models import User, Workspace
from chorus.channels.models import Channel
from chorus.connectors.base import ComposerOption, Connector, Problem
from chorus.connectors.registry import connector_class
from chorus.content.models import Post, PostTarget, Recurrence
from chorus.core import audit, http
from chorus.core.opengraph import read_page_meta
from chorus.core.refusals import Invalid
from chorus.core.timeutil import Resolved, resolve_local, short_label, zone_label
from chorus.publishing import rules, writing_rules

#: The workspace's alt-text rule (chorus.publishing.rules, where every path checks it).
alt_text_required = rules.alt_text_required


#: The composer shows the options each connector declares (kept under this name for callers).
OptionField = ComposerOption


def option_fields(kind: str) -> tuple[ComposerOption, ...]:
    return connector_class(kind).composer_options


def read_options(kind: str, data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The options of one channel from form data (`<prefix>-<name>` keys)."""
    options: dict[str, Any] = {}
    for spec in option_fields(kind):
        raw = data.get(f"{prefix}-{spec.name}")
        if spec.kind == "bool":
            if raw in ("on", "true", "1", True):
                options[spec.name] = True
        elif spec.kind == "list":
            items = [part.strip() for part in str(raw or "").split(",") if part.strip()]
            if items:
                options[spec.name] = items
        elif raw not in (None, ""):
            options[spec.name] = str(raw).strip()
    return options


def option_value(spec: OptionField, options: Mapping[str, Any]) -> Any:
    """The value to show in a form field for a stored option."""
    value = options.get(spec.name)
    if spec.kind == "list" and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value if value is not None else ""


# --- the draft -------------------------------------------------------------------------------


@dataclass
class ChannelDraft:
    channel: Channel
    own_text: str  # empty: same as the main text
    options: dict[str, Any]
    target: PostTarget | None = None  # when editing a saved post

    @property
    def prefix(self) -> str:
        return f"c{self.channel.pk}"


@dataclass
class Draft:
    title: str
    text: str
    link: str
    media: list[dict[str, Any]]
    channels: list[ChannelDraft]
    campaign_id: int | None = None  # checked against the hashtag the campaign requires
    # {channel id: signature} of the workspace's writing rules (chorus.publishing.writing_rules)
    signatures: dict[int, str] = field(default_factory=dict)

    def text_for(self, channel_draft: ChannelDraft) -> str:
        """The channel's own text, or the main text; the link is added when it is not in it, then
        the channel's signature."""
        text = channel_draft.own_text if channel_draft.own_text.strip() else self.text
        if self.link and self.link not in text:
            text = (
                f"{text.rstrip()}\n\n{shorten_link(self.link)}" if text.strip() else shorten_link(self.link)
            )
        return writing_rules.sign(text, self.signatures.get(channel_draft.channel.pk, ""))


def signatures_of(workspace: Workspace) -> dict[int, str]:
    """The workspace's signature per channel id, for Draft.signatures."""
    found = writing_rules.rules_of(workspace)
    return {int(k): str(v) for k, v in found.signatures.items()} if found else {}


def read_media(data: Any) -> list[dict[str, Any]]:
    """Media items from the form: parallel `media-path` / `media-alt` lists (paths are checked
    against the workspace by the caller, see views._allowed_media)."""
    paths = data.getlist("media-path") if hasattr(data, "getlist") else data.get("media-path", [])
    alts = data.getlist("media-alt") if hasattr(data, "getlist") else data.get("media-alt", [])
    items = []
    for index, path in enumerate(paths):
        if path:
            alt = alts[index] if index < len(alts) else ""
            items.append({"path": str(path), "alt": str(alt).strip()})
    return items


def unsaved_target(draft: Draft, channel_draft: ChannelDraft, workspace: Workspace) -> PostTarget:
    """A PostTarget that is never saved, for the connector's validate()."""
    post = Post(workspace=workspace, title=draft.title, campaign_id=draft.campaign_id)
    target = PostTarget(
        workspace=workspace,
        post=post,
        channel=channel_draft.channel,
        text=draft.text_for(channel_draft),
        media=list(draft.media),
        options=dict(channel_draft.options),
    )
    connector = channel_draft.channel.connector()
    for name, value in connector.draft_options(link=draft.link, media=target.media).items():
        target.options.setdefault(name, value)
    return target


# --- checking --------------------------------------------------------------------------------


def count(connector: Connector, text: str) -> tuple[int, int | None]:
    """(used, limit) as the channel's network counts its text."""
    return connector.count_text(text)


#: Declared choices hold a declared value (chorus.publishing.rules).
option_problems = rules.option_problems


@dataclass
class ChannelCheck:
    channel_draft: ChannelDraft
    text: str
    used: int
    limit: int | None
    problems: list[Problem] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)
    link: str = ""

    @property
    def over(self) -> bool:
        return self.limit is not None and self.used > self.limit

    @property
    def channel(self) -> Channel:
        return self.channel_draft.channel

    @property
    def rows(self) -> list[tuple[str, Problem]]:
        return [(field_label(p.field), p) for p in self.problems]

    @property
    def html(self) -> SafeString:
        """The text as the network shows it: links and mentions marked, and, where its feed
        folds a long text (the connector's `preview_fold`), the rest after a "… more" marker,
        dimmed, as a reader sees it once they tap."""
        connector = self.channel.connector()
        fold = connector.preview_fold
        if fold is None or len(self.text) <= fold:
            return highlight_links(self.text, connector.mention_pattern)
        # Feeds cut between words: at the last space before the fold, unless a long word.
        space = self.text.rfind(" ", 0, fold + 1)
        cut = space if space > fold * 0.8 else fold
        shown = highlight_links(self.text[:cut], connector.mention_pattern)
        rest = highlight_links(self.text[cut:], connector.mention_pattern)
        more = escape(_("… more"))
        where = escape(_("The feed cuts here"))
        return mark_safe(  # noqa: S308 - both parts are escaped by highlight_links
            f'{shown}<span class="net-fold" title="{where}">{more}</span><span class="net-after">{rest}</span>'
        )

    @property
    def handle(self) -> str:
        return handle_of(self.channel)

    @property
    def options(self) -> dict[str, Any]:
        return self.channel_draft.options

    @property
    def images(self) -> list[dict[str, str]]:
        images = []
        for item in self.media:
            url = settings.MEDIA_URL + str(item.get("path"))
            if item.get("media_id") and apps.is_installed("chorus.media"):
                url = reverse("media:thumb", args=[self.channel.workspace.slug, item["media_id"]])
            images.append({"url": url, "alt": str(item.get("alt") or "")})
        return images


FIELD_LABELS = {
    "text": gettext_lazy("Text"),
    "title": gettext_lazy("Title"),
    "media": gettext_lazy("Media"),
    "options": gettext_lazy("Options"),
}


def field_label(name: str) -> str:
    """'media.0.alt' → 'Media 1 · alt text', 'options.langs' → 'Options · langs'."""
    parts = re.split(r"[.\[\]]+", name.strip("]"))
    head = str(FIELD_LABELS.get(parts[0], parts[0]))
    rest = [str(int(p) + 1) if p.isdigit() else p for p in parts[1:] if p]
    return " · ".join([head, *rest]) if rest else head


def check_channel(draft: Draft, channel_draft: ChannelDraft, workspace: Workspace) -> ChannelCheck:
    """The channel's counter and the rules it breaks: the same `rules.problems` the API, the
    bulk import and recurring schedules ask when a post is saved."""
    target = unsaved_target(draft, channel_draft, workspace)
    connector = channel_draft.channel.connector()
    used, limit = count(connector, target.text)
    problems = rules.problems(target, connector)
    return ChannelCheck(channel_draft, target.text, used, limit, problems, target.media, draft.link)


def check_draft(draft: Draft, workspace: Workspace) -> list[ChannelCheck]:
    return [check_channel(draft, cd, workspace) for cd in draft.channels]


URL_RE = re.compile(r"https?://[^\s<>\"']+")


def highlight_links(text: str, mentions: re.Pattern[str] | None = None) -> SafeString:
    """Escaped text with its URLs as links and its mentions marked (the pattern is the
    network's, from its connector), the way networks show them."""
    spans = [(m.start(), m.end(), "url") for m in URL_RE.finditer(text)]
    if mentions is not None:
        spans += [
            (m.start(), m.end(), "mention")
            for m in mentions.finditer(text)
            if not any(start <= m.start() < end for start, end, _kind in spans)
        ]
    out: list[str] = []
    last = 0
    for start, end, kind in sorted(spans):
        out.append(escape(text[last:start]))
        piece = escape(text[start:end])
        if kind == "url":
            out.append(f'<a href="{piece}" rel="noopener nofollow" target="_blank">{piece}</a>')
        else:
            out.append(f'<span class="mention">{piece}</span>')
        last = end
    out.append(escape(text[last:]))
    return mark_safe("".join(out).replace("\n", "<br>"))  # noqa: S308 - every piece is escaped above


def handle_of(channel: Channel) -> str:
    return channel.connector().handle()


# --- schedule --------------------------------------------------------------------------------


def resolve_schedule(workspace: Workspace, local: dt.datetime | None) -> Resolved | None:
    if local is None:
        return None
    return resolve_local(local.replace(tzinfo=None), workspace.timezone)


def button_labels(workspace: Workspace) -> dict[str, str]:
    """What the main button says for each "when" choice; `at` holds %(time)s, which the page's
    script fills in as the time field changes (core.timeutil.short_label on the server)."""
    return {
        "draft": _("Save as draft"),
        "keep": _("Save changes"),
        "review": _("Submit for review"),
        "now": _("Publish now"),
        "at": _("Schedule for %(time)s (%(zone)s)")
        % {"time": "%(time)s", "zone": zone_label(workspace.timezone)},
        "at-empty": _("Schedule"),
        "queue": _("Add to the queue"),
        "recurring": _("Start repeating"),
    }


def button_label(workspace: Workspace, mode: str, local: dt.datetime | None) -> str:
    """The main button says what will happen: "Schedule for Wed 16 Dec, 10:00 (Paris)",
    "Submit for review", "Publish now"… (`local`: the wall time chosen, for `at`)."""
    labels = button_labels(workspace)
    if mode == "at":
        if local is None:
            return labels["at-empty"]
        return labels["at"].replace("%(time)s", short_label(local))
    return labels.get(mode, labels["draft"])


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def build_rrule(freq: str, weekdays: list[str]) -> str:
    if freq == "daily":
        return "FREQ=DAILY"
    days = [d for d in WEEKDAYS if d in weekdays]
    if not days:
        raise Invalid(gettext_lazy("Choose at least one day of the week."), code="no_weekday")
    return "FREQ=WEEKLY;BYDAY=" + ",".join(days)


def create_recurrence(
    target: PostTarget, *, actor: User, rrule: str, starts_local: dt.datetime
) -> tuple[Recurrence, list[PostTarget]]:
    """Repeats `target` (the template, left as it is) on an RRULE at a local time in the
    workspace's zone, and creates the occurrences of the coming days at once."""
    from chorus.publishing import actions, recurrence

    rules.check_targets([target])  # every occurrence is this text: it keeps the network's rules
    with transaction.atomic():
        # Only an approved template repeats; someone who may schedule directly approves it here.
        actions.approve_for_recurrence(target, actor=actor)
        rec = Recurrence.objects.create(
            workspace=target.workspace,
            template=target,
            rrule=rrule,
            timezone=target.workspace.timezone,
            starts_local=Recurrence.wall(starts_local.replace(tzinfo=None)),
        )
        audit.record(
            "recurrence.created",
            workspace=target.workspace,
            actor=actor,
            obj=rec,
            rrule=rrule,
            target=target.pk,
            starts_local=starts_local.isoformat(),
        )
    created = recurrence.generate(rec)
    return rec, created


# --- link preview ----------------------------------------------------------------------------

MAX_PAGE_CHARS = 500_000


@dataclass(frozen=True)
class LinkPreview:
    url: str
    title: str = ""
    description: str = ""
    image: str = ""
    site: str = ""
    error: str = ""


def shorten_link(url: str, target: PostTarget | None = None) -> str:
    """Hook for short links and UTM (chorus.links): a saved target's link is tagged/shortened."""
    from chorus.links.shortening import shorten_link as links_shorten_link

    return links_shorten_link(url, target)


def short_link_base() -> str:
    """Where short links live (chorus.links), shown beside "Add UTM and shorten links"."""
    from chorus.links.shortening import short_base

    return short_base()


def fetch_link_preview(url: str) -> LinkPreview:
    """OpenGraph card of a user-typed URL, fetched through the SSRF guard (no private addresses
    unless CHORUS_ALLOW_PRIVATE_URLS)."""
    url = url.strip()
    if not url:
        return LinkPreview(url, error=_("Paste a link starting with http:// or https://."))
    try:
        response = http.request_public("GET", url)
    except http.UnsafeURL as exc:
        return LinkPreview(url, error=_("This link cannot be previewed: %(reason)s.") % {"reason": exc})
    except (http.TooLarge, http.TooSlow) as exc:
        return LinkPreview(url, error=_("This link cannot be previewed: %(reason)s.") % {"reason": exc})
    except httpx.HTTPError:
        return LinkPreview(url, error=_("The site did not answer; the link is kept without a preview."))
    if response.status_code != 200:
        return LinkPreview(
            url, error=_("The site answered with HTTP %(status)s.") % {"status": response.status_code}
        )
    if "html" not in response.headers.get("content-type", "text/html"):
        return LinkPreview(url, title=url)
    page = read_page_meta(response, MAX_PAGE_CHARS)
    return LinkPreview(
        url=url,
        title=(page.title or url)[:300],
        description=page.description[:500],
        image=page.image_url if page.image_url.startswith(("http://", "https://")) else "",
        site=page.site_name or (response.url.host or ""),
    )
