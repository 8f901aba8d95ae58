"""From cells to planned posts: column names, dates, channels, media, and every check a row
must pass before it is imported (the dry run and the import run the same code)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.accounts.models import Workspace
from chorus.channels.models import Channel
from chorus.connectors.base import Connector
from chorus.content.models import Campaign, Post, PostTarget
from chorus.core.refusals import Invalid
from chorus.core.timeutil import refuse_past, resolve_local
from chorus.publishing import rules, writing_rules
from chorus.publishing.quotas import forecast_warnings

# Header aliases, lower-cased. Buffer's exports and most tools' templates use one of these.
ALIASES: dict[str, tuple[str, ...]] = {
    "date": (
        "date",
        "datetime",
        "date/time",
        "date and time",
        "scheduled_at",
        "scheduled at",
        "scheduled time",
        "due_at",
        "due at",
        "posted at",
        "sent at",
        "publish at",
        "when",
    ),
    "time": ("time",),
    "channels": ("channel", "channels", "profile", "profiles", "account", "accounts", "channel name"),
    "text": ("text", "message", "content", "post", "update", "post text", "body", "caption"),
    "link": ("link", "url", "link url"),
    "media": ("media", "image", "images", "image url", "media url", "media urls", "photo", "video"),
    "alt": ("alt", "alt text", "alt_text", "image alt", "media alt"),
    "campaign": ("campaign",),
    "tags": ("tags", "tag", "labels"),
}
_BY_ALIAS = {alias: key for key, aliases in ALIASES.items() for alias in aliases}
SPLIT = re.compile(r"[|;]")  # between media, tags
# Between channels in one cell: each of these that no channel name of the workspace contains.
CHANNEL_SEPARATORS = (",", ";", "|")
ALT_SEPARATOR = "|"  # between the alt texts of a row's media, in the order of its media
_NUMERIC = re.compile(
    r"^\s*(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?\s*$",
    re.I,
)
_WORDY = (
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y %I:%M %p",
    "%b %d, %Y %H:%M",
    "%d %b %Y %H:%M",
    "%Y-%m-%d %I:%M %p",
)


def column_key(header: str) -> str | None:
    name = header.strip().lower()
    if name.startswith("text:"):
        return "override"
    return _BY_ALIAS.get(name)


def looks_like_header(cells: list[str]) -> bool:
    return any(column_key(c) for c in cells)


class BadDate(Invalid):
    code = "bad_date"


def parse_when(raw: str, order: str) -> dt.datetime:
    """A naive wall time or an aware instant; `order` ('iso', 'dmy', 'mdy') reads 01/02/2026."""
    value = raw.strip()
    if not value:
        raise BadDate(_("the date is empty"))
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    match = _NUMERIC.match(value)
    if match:
        a, b, c, hour, minute, second, ampm = match.groups()
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        elif order == "mdy":
            month, day, year = int(a), int(b), int(c)
        elif order == "dmy":
            day, month, year = int(a), int(b), int(c)
        else:
            raise BadDate(
                _("%(value)r is not ISO 8601; choose day-first or month-first on upload") % {"value": raw}
            )
        year += 2000 if year < 100 else 0
        h = int(hour or 0)
        if ampm:
            h = h % 12 + (12 if ampm.lower().startswith("p") else 0)
        try:
            return dt.datetime(year, month, day, h, int(minute or 0), int(second or 0))
        except ValueError as exc:
            raise BadDate(
                _("%(value)r is not a valid date (%(reason)s)") % {"value": raw, "reason": exc}
            ) from exc
    for fmt in _WORDY:
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise BadDate(_("%(value)r is not a date this importer reads") % {"value": raw})


@dataclass
class Problem:
    column: str
    reason: str


@dataclass
class PlannedRow:
    row: int
    cells: list[str]
    when: dt.datetime | None = None  # UTC
    note: str = ""  # the DST decision, when there was one
    channels: list[Channel] = field(default_factory=list)
    text: str = ""
    overrides: dict[int, str] = field(default_factory=dict)  # channel id -> text
    media_names: list[str] = field(default_factory=list)  # library file names
    media_urls: list[str] = field(default_factory=list)
    alts: dict[str, str] = field(default_factory=dict)  # media name or address -> its alt text
    campaign: Campaign | None = None
    tags: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def text_for(self, channel: Channel) -> str:
        return self.overrides.get(channel.pk, self.text)


class Context:
    """What every row is checked against, loaded once per file (channels, campaigns, media)."""

    def __init__(self, workspace: Workspace, order: str, default_channel_ids: list[int]) -> None:
        self.workspace = workspace
        self.order = order
        channels = list(Channel.objects.filter(workspace=workspace))
        self.by_id = {str(c.pk): c for c in channels}
        self.by_name = {c.name.strip().casefold(): c for c in channels}
        # A separator that is part of a channel name would cut that name in two: not one here.
        self.separators = [sep for sep in CHANNEL_SEPARATORS if not any(sep in c.name for c in channels)]
        self.defaults = [self.by_id[str(i)] for i in default_channel_ids if str(i) in self.by_id]
        self.campaigns = {}
        for campaign in Campaign.objects.filter(workspace=workspace):
            self.campaigns[campaign.name.casefold()] = campaign
            self.campaigns[campaign.slug.casefold()] = campaign
        self.connectors: dict[int, Connector] = {}
        self.media_names: set[str] | None = None
        self.library: dict[str, dict[str, Any]] | None = None  # usable file name -> media item
        self.now = timezone.now()
        # The workspace's writing rules (a signature per channel), read once for every row.
        self.writing_rules = writing_rules.rules_of(workspace)

    def signed_text(self, row: PlannedRow, channel: Channel) -> str:
        """The row's text for `channel`, ending with the channel's signature, as it is saved
        (the one signature rule, writing_rules.signed)."""
        return writing_rules.signed(row.text_for(channel), self.writing_rules, channel.pk)

    def connector(self, channel: Channel) -> Connector:
        if channel.pk not in self.connectors:
            self.connectors[channel.pk] = channel.connector()
        return self.connectors[channel.pk]

    def channel(self, ref: str) -> Channel | None:
        ref = ref.strip()
        return self.by_id.get(ref) or self.by_name.get(ref.casefold())

    def channel_refs(self, cell: str) -> list[str]:
        """The channels named in one cell: the whole cell when it is a channel's name, else its
        parts between the separators no channel name contains (see CHANNEL_SEPARATORS)."""
        if not cell.strip():
            return []
        if self.channel(cell) is not None or not self.separators:
            return [cell.strip()]
        pattern = "|".join(re.escape(sep) for sep in self.separators)
        return [ref.strip() for ref in re.split(pattern, cell) if ref.strip()]

    def media_item(self, name: str, alt: str) -> dict[str, Any]:
        """A library file as the import will attach it (chorus.media.actions.as_post_media), with
        the alt text given in the row or else the library's."""
        if self.library is None:
            from chorus.media.actions import as_post_media
            from chorus.media.models import MediaAsset

            assets = MediaAsset.objects.filter(workspace=self.workspace, withdrawn_at__isnull=True)
            self.library = {a.original_name: as_post_media(a) for a in assets.order_by("pk")}
        item = self.library.get(name) or {"path": name, "alt": ""}
        return {**item, "alt": alt or item.get("alt") or ""}

    def has_media(self, name: str) -> bool:
        if self.media_names is None:
            from chorus.media.models import MediaAsset

            self.media_names = set(
                MediaAsset.objects.filter(workspace=self.workspace).values_list("original_name", flat=True)
            )
        return name in self.media_names


def plan(ctx: Context, headers: list[str], number: int, cells: list[str]) -> PlannedRow:
    row = PlannedRow(number, cells)
    if headers:
        named: dict[str, str] = {}
        overrides: dict[str, str] = {}
        for index, header in enumerate(headers):
            value = cells[index] if index < len(cells) else ""
            key = column_key(header)
            if key == "override":
                overrides[header.strip()[5:].strip()] = value
            elif key and not named.get(key):
                named[key] = value
    else:
        # Hootsuite's bulk composer: date, message, link; no header, channels chosen on upload.
        padded = [*cells, "", "", ""]
        named, overrides = {"date": padded[0], "text": padded[1], "link": padded[2]}, {}
    date_column = next((h for h in headers if column_key(h) == "date"), "date")
    raw_when = named.get("date", "")
    if named.get("time"):
        raw_when = f"{raw_when} {named['time']}"
    try:
        when = parse_when(raw_when, ctx.order)
        if when.tzinfo is None:
            # A wall time in the workspace's zone; DST gaps and folds follow core.timeutil.
            resolved = resolve_local(when, ctx.workspace.timezone)
            row.when, row.note = resolved.utc, resolved.note
        else:
            row.when = when.astimezone(dt.UTC)
        refuse_past(row.when, ctx.workspace.timezone, now=ctx.now)
    except Invalid as exc:  # a date not understood (BadDate), or already passed (refuse_past)
        row.errors.append(Problem(date_column, exc.message))

    refs = ctx.channel_refs(named.get("channels", ""))
    for ref in refs:
        channel = ctx.channel(ref)
        if channel is None:
            row.errors.append(
                Problem("channels", _("no channel named %(name)r in this workspace") % {"name": ref.strip()})
            )
        elif channel not in row.channels:
            row.channels.append(channel)
    if not refs:
        row.channels = list(ctx.defaults)
        if not row.channels:
            row.errors.append(Problem("channels", _("no channel given (and none chosen on upload)")))

    text = named.get("text", "").strip()
    link = named.get("link", "").strip()
    if link:
        if urlsplit(link).scheme not in ("http", "https") or not urlsplit(link).hostname:
            row.errors.append(Problem("link", _("%(value)r is not an http(s) link") % {"value": link}))
        elif link not in text:
            text = f"{text} {link}".strip()
    row.text = text

    alts = [a.strip() for a in named.get("alt", "").split(ALT_SEPARATOR)]
    for index, item in enumerate(m.strip() for m in SPLIT.split(named.get("media", "")) if m.strip()):
        if index < len(alts) and alts[index]:
            row.alts[item] = alts[index]
        parts = urlsplit(item)
        if parts.scheme in ("http", "https") and parts.hostname:
            row.media_urls.append(item)
        elif "://" in item:
            row.errors.append(
                Problem("media", _("%(value)r: only http(s) addresses can be fetched") % {"value": item})
            )
        elif ctx.has_media(item):
            row.media_names.append(item)
        else:
            row.errors.append(
                Problem("media", _("no file named %(name)r in the media library") % {"name": item})
            )
    if not row.text and not (row.media_names or row.media_urls):
        row.errors.append(Problem("text", _("the post has no text and no media")))

    campaign_ref = named.get("campaign", "").strip()
    if campaign_ref:
        row.campaign = ctx.campaigns.get(campaign_ref.casefold())
        if row.campaign is None:
            row.errors.append(
                Problem("campaign", _("no campaign named %(name)r; create it first") % {"name": campaign_ref})
            )
    row.tags = sorted({t.strip()[:60] for t in SPLIT.split(named.get("tags", "")) if t.strip()})

    for name, value in overrides.items():
        channel = ctx.channel(name)
        if not value.strip():
            continue
        if channel is None or channel not in row.channels:
            row.errors.append(
                Problem(f"text:{name}", _("%(name)r is not one of this row's channels") % {"name": name})
            )
        else:
            row.overrides[channel.pk] = value.strip()

    if row.when is not None:
        for channel in row.channels:
            _check_channel(ctx, row, channel)
    row.fingerprint = fingerprint(row)
    return row


def _check_channel(ctx: Context, row: PlannedRow, channel: Channel) -> None:
    """The composer's checks (chorus.publishing.rules) on the target this row would create."""
    assert row.when is not None
    media = [ctx.media_item(name, row.alts.get(name, "")) for name in row.media_names]
    media += [{"path": url, "alt": row.alts.get(url, "")} for url in row.media_urls]
    probe = PostTarget(
        workspace=ctx.workspace,
        post=Post(workspace=ctx.workspace, campaign=row.campaign),  # its hashtag rule
        channel=channel,
        text=ctx.signed_text(row, channel),
        media=media,
    )
    column = f"text:{channel.name}" if channel.pk in row.overrides else "text"
    for problem in rules.problems(probe, ctx.connector(channel)):
        col = (
            column
            if problem.field == "text"
            else ("media" if problem.field.startswith("media") else problem.field)
        )
        row.errors.append(Problem(col, f"{channel.name}: {problem.message}"))
    if ctx.connector(channel).quotas:
        row.warnings.extend(forecast_warnings(channel, row.when))


def fingerprint(row: PlannedRow) -> str:
    payload: dict[str, Any] = {
        "when": row.when.isoformat() if row.when else "",
        "channels": sorted(c.pk for c in row.channels),
        "text": row.text,
        "overrides": sorted(row.overrides.items()),
        "media": row.media_names + row.media_urls,
    }
    if row.alts:
        payload["alts"] = sorted(row.alts.items())
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
