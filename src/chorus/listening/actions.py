"""Every change to listening state goes through here, with an audit row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus import webhooks
from chorus.accounts.models import User, Workspace
from chorus.core import audit
from chorus.listening import matching
from chorus.listening.matching import QueryInvalid
from chorus.listening.models import Alert, ListeningSettings, Match, Query
from chorus.webhooks.events import listening_alert_data

__all__ = ["QueryInvalid"]

LIST_FIELDS = ("hashtags", "mentions", "authors_include", "authors_exclude", "languages", "networks")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(v).strip() for v in value if str(v).strip()]


def clean_query(data: dict[str, Any]) -> dict[str, Any]:
    """Validated query fields; QueryInvalid with a message a person can act on."""
    name = str(data.get("name") or "").strip()
    if not name:
        raise QueryInvalid(_("A query needs a name."))
    group = str(data.get("group") or Query.Group.BRAND)
    if group not in Query.Group.values:
        raise QueryInvalid(_("Unknown group: %(group)s.") % {"group": group})
    values: dict[str, Any] = {
        "name": name[:150],
        "group": group,
        "expression": str(data.get("expression") or "").strip(),
    }
    for key in LIST_FIELDS:
        values[key] = _as_list(data.get(key))
    values["languages"] = [x.lower() for x in values["languages"]]
    values["networks"] = [x.lower() for x in values["networks"]]
    instance = str(data.get("mastodon_instance") or "").strip().rstrip("/")
    local = getattr(settings, "CHORUS_ALLOW_PRIVATE_URLS", False) and instance.startswith("http://")
    if instance and not (instance.startswith("https://") or local):
        raise QueryInvalid(_("The Mastodon instance must be an https:// address."))
    values["mastodon_instance"] = instance
    values["active"] = bool(data.get("active", True))
    matching.validate(**{k: values[k] for k in ("expression", *LIST_FIELDS)})
    return values


def _check_paid(workspace_id: int, values: dict[str, Any]) -> None:
    """A query that searches X must make an X query string X takes; one that searches Instagram
    must fit in the account's 30 hashtags per 7 days."""
    from chorus.listening import ighashtags, xsearch
    from chorus.listening.matching import QuerySpec

    if "x" in values["networks"]:
        keys = ("expression", "hashtags", "mentions", "authors_include", "authors_exclude", "languages")
        xsearch.x_query(QuerySpec(id=0, workspace_id=workspace_id, **{k: values[k] for k in keys}))
    if "instagram" in values["networks"] and values["active"]:
        try:
            ighashtags.check_room(workspace_id, values["hashtags"])
        except ighashtags.HashtagLimit as exc:
            raise QueryInvalid(str(exc)) from exc


def create_query(workspace: Workspace, *, actor: User | None, data: dict[str, Any]) -> Query:
    values = clean_query(data)
    _check_paid(workspace.pk, values)
    with transaction.atomic():
        query = Query.objects.create(workspace=workspace, **values)
        audit.record("listening.query_created", workspace=workspace, actor=actor, obj=query, name=query.name)
    return query


def update_query(query: Query, *, actor: User | None, data: dict[str, Any]) -> Query:
    values = clean_query(data)
    _check_paid(query.workspace_id, values)
    with transaction.atomic():
        for key, value in values.items():
            setattr(query, key, value)
        query.updated_at = timezone.now()
        query.save()
        audit.record(
            "listening.query_changed", workspace=query.workspace, actor=actor, obj=query, name=query.name
        )
    return query


def delete_query(query: Query, *, actor: User | None) -> int:
    """Deletes the query and every match it stored."""
    with transaction.atomic():
        matches = Match.objects.filter(query=query).count()
        audit.record(
            "listening.query_deleted",
            workspace=query.workspace,
            actor=actor,
            obj=query,
            name=query.name,
            matches=matches,
        )
        query.delete()  # matches and alerts cascade
    return matches


def preview(workspace: Workspace, data: dict[str, Any], *, limit: int = 20, scan: int = 2000) -> list[Match]:
    """What a query (not saved yet) would have matched among the workspace's last stored matches."""
    values = clean_query({**data, "name": data.get("name") or "preview"})
    spec = matching.QuerySpec(
        id=0, workspace_id=workspace.pk, **{k: values[k] for k in ("expression", *LIST_FIELDS)}
    )
    matcher = matching.Matcher([spec])
    seen: set[str] = set()
    out: list[Match] = []
    for match in Match.objects.filter(workspace=workspace).order_by("-posted_at")[:scan]:
        if match.uri in seen:
            continue
        seen.add(match.uri)
        post = matching.Post(
            network=match.network,
            author_id=match.author_id,
            author_handle=match.author_handle,
            text=match.text,
            hashtags=tuple(match.hashtags),
        )
        if matcher.match(post) and matcher.language_filter(spec, match.language or None):
            out.append(match)
            if len(out) >= limit:
                break
    return out


def save_settings(workspace: Workspace, *, actor: User | None, data: dict[str, Any]) -> ListeningSettings:
    from chorus.core.textsignals import known_languages

    languages = [x.lower() for x in _as_list(data.get("languages"))]
    unknown = sorted(set(languages) - known_languages())
    if unknown:
        raise QueryInvalid(_("Unknown language code: %(code)s.") % {"code": ", ".join(unknown)})
    try:
        values: dict[str, Any] = {
            "languages": languages,
            "retention_days": int(data.get("retention_days") or 90),
            "spike_factor": float(data.get("spike_factor") or 3.0),
            "negative_share": float(data.get("negative_share") or 0.5),
            "notable_followers": int(data.get("notable_followers") or 10000),
            "alert_interval_minutes": int(data.get("alert_interval_minutes") or 60),
        }
    except (TypeError, ValueError) as exc:
        raise QueryInvalid(_("Settings must be numbers where numbers are asked.")) from exc
    if not 1 <= values["retention_days"] <= 3650:
        raise QueryInvalid(_("Keep matches between 1 and 3650 days."))
    if values["spike_factor"] <= 1:
        raise QueryInvalid(_("The spike factor must be above 1."))
    if not 0 < values["negative_share"] <= 1:
        raise QueryInvalid(_("The negative share is between 0 and 1."))
    if values["alert_interval_minutes"] < 1:
        raise QueryInvalid(_("Alerts need at least one minute between them."))
    with transaction.atomic():
        current, _created = ListeningSettings.objects.update_or_create(workspace=workspace, defaults=values)
        audit.record("listening.settings_changed", workspace=workspace, actor=actor, obj=current, **values)
    return current


def purge_expired(now: dt.datetime | None = None) -> int:
    """Deletes matches older than each workspace's retention period. Safe to run twice."""
    now = now or timezone.now()
    removed = 0
    default_days = ListeningSettings._meta.get_field("retention_days").default
    custom = dict(ListeningSettings.objects.values_list("workspace_id", "retention_days"))
    workspace_ids = set(Match.objects.values_list("workspace_id", flat=True).distinct())
    for workspace_id in workspace_ids:
        days = custom.get(workspace_id, default_days)
        count, _detail = Match.objects.filter(
            workspace_id=workspace_id, posted_at__lt=now - dt.timedelta(days=days)
        ).delete()
        if count:
            audit.record_raw(
                "listening.matches_expired",
                workspace_id=workspace_id,
                object_type="listening.match",
                object_id="",
                count=count,
                retention_days=days,
            )
        removed += count
    return removed


def raise_alert(
    query: Query,
    kind: str,
    message: str,
    data: dict[str, Any],
    *,
    now: dt.datetime | None = None,
    current: ListeningSettings | None = None,
) -> int:
    """Record and announce an alert unless one of the same kind for the same query was raised
    within the workspace's alert interval. Returns 1 when raised, 0 when rate-limited."""
    from chorus.accounts.models import Membership
    from chorus.accounts.permissions import GRANTS, Perm
    from chorus.core.notify import notify

    now = now or timezone.now()
    current = (
        current or ListeningSettings.objects.filter(workspace=query.workspace).first() or ListeningSettings()
    )
    since = now - dt.timedelta(minutes=current.alert_interval_minutes)
    with transaction.atomic():
        if Alert.objects.filter(query=query, kind=kind, created_at__gt=since).exists():
            return 0
        alert = Alert.objects.create(
            workspace=query.workspace, query=query, kind=kind, message=message, data=data, created_at=now
        )
        audit.record("listening.alert", workspace=query.workspace, obj=alert, kind=kind, query=query.pk)
        webhooks.emit(
            query.workspace_id,
            "listening.alert",
            lambda: listening_alert_data(alert, query.workspace),
        )
        roles = GRANTS[Perm.MANAGE_LISTENING]
        users = [
            m.user
            for m in Membership.objects.filter(workspace=query.workspace, role__in=roles).select_related(
                "user"
            )
        ]
        notify(
            users,
            workspace=query.workspace,
            kind="listening.alert",
            title=str(Alert.Kind(kind).label) + " — " + query.name,
            body=message,
            url=f"/w/{query.workspace.slug}/listening/",
        )
    return 1


class NoInboxChannel(Exception):
    """The workspace has no channel on the match's network to answer from."""

    def __init__(self, network: str) -> None:
        self.network = network
        super().__init__(
            _("Connect a %(network)s channel to answer this post from the inbox.") % {"network": network}
        )


def send_to_inbox(match: Match, *, actor: User | None, channel: Any = None) -> Any:
    """Turn a listening match into an inbox conversation (a mention, on the workspace's first
    channel of the match's network that has an inbox, or `channel`), so the team answers it from
    the inbox. Sending the same match twice opens the same conversation."""
    from chorus.channels.models import Channel
    from chorus.connectors.inbox import InboxEntry
    from chorus.inbox import actions as inbox_actions
    from chorus.inbox.models import Conversation

    if channel is None:
        for candidate in Channel.objects.filter(workspace_id=match.workspace_id, kind=match.network).order_by(
            "pk"
        ):
            try:
                inbox_actions.inbox_connector(candidate)
            except inbox_actions.InboxRefused:
                continue
            channel = candidate
            break
    if channel is None or channel.workspace_id != match.workspace_id:
        raise NoInboxChannel(match.network)
    entry = InboxEntry(
        network_id=match.uri,
        kind="mention",
        author_id=match.author_id,
        created_at=match.posted_at,
        author_handle=match.author_handle,
        text=match.text,
        url=match.url,
        # A reply to a thread names its root; a post that is not a reply is its own root.
        root_id=match.root_uri if match.root_uri and match.root_uri != match.uri else "",
        extra={
            "listening_match": match.pk,
            "listening_query": match.query_id,
            "cid": match.cid,
            "root_cid": match.root_cid,
            "acct": match.author_handle,  # whom a Mastodon reply names
        },
    )
    with transaction.atomic():
        inbox_actions.ingest(channel=channel, entries=[entry], via="listening")
        conversation = Conversation.objects.get(channel=channel, key=entry.conversation_key())
        audit.record(
            "listening.sent_to_inbox",
            workspace=match.workspace,
            actor=actor,
            obj=match,
            conversation=conversation.pk,
            channel=channel.pk,
        )
    return conversation


class NoAnswerChannel(Exception):
    """The workspace has no channel to reply to or quote the match from."""


def answer_post(match: Match, mode: str) -> tuple[Any, dict[str, str]]:
    """Where and how a new post replies to (`mode` "reply") or quotes ("quote") a match: the
    workspace's channel on the match's network (on Mastodon, one on the match's own instance
    first: no lookup across instances) and the composer options its connector declares for it.
    Answers only; the composer saves the post."""
    from urllib.parse import urlsplit

    from chorus.channels.models import Channel
    from chorus.connectors.registry import all_kinds, connector_class

    if match.network not in all_kinds():
        raise NoAnswerChannel(
            _("Chorus cannot reply to or quote %(network)s posts.") % {"network": match.network}
        )
    label = str(connector_class(match.network).label)
    options = connector_class(match.network).answer_options(mode, uri=match.uri, url=match.url)
    if not options:
        raise NoAnswerChannel(_("Chorus cannot reply to or quote %(network)s posts.") % {"network": label})
    channels = list(
        Channel.objects.filter(workspace_id=match.workspace_id, kind=match.network).order_by("pk")
    )
    if not channels:
        raise NoAnswerChannel(
            _("This workspace has no %(network)s channel: connect one to reply to or quote this post.")
            % {"network": label}
        )
    host = urlsplit(match.url or match.uri).netloc
    same = [c for c in channels if urlsplit(str((c.config or {}).get("instance") or "")).netloc == host]
    return (same or channels)[0], options
