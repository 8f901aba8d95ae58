"""Templates and snippets: saved writing a team reuses in the composer.

A template starts a post: its text, link, each network's options (the ones the network's
connector declares, stored per network kind), campaign and tags. A snippet is a piece of text
inserted where the cursor is (a hashtag block, a sign-off). Both belong to one workspace; every
change is audited. The web screens (template_views.py) and the API (api/post_templates.py) call
these functions, never `.save()` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from chorus.accounts.models import User, Workspace
from chorus.channels.models import Channel
from chorus.connectors.registry import all_kinds
from chorus.content.models import Campaign, PostTemplate
from chorus.core import audit
from chorus.core.refusals import Invalid
from chorus.publishing import composer

MAX_NAME = 100
MAX_TEXT = 5_000  # longer than any network allows; a template is a start, not a document
MAX_TAGS = 600
MAX_PER_WORKSPACE = 500  # templates and snippets together


@dataclass
class TemplateValues:
    """What a person or an API client sends, before checking."""

    kind: str
    name: str
    text: str = ""
    link: str = ""
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    campaign_id: int | None = None
    tags: str = ""
    # {channel id: its own text} (empty: the template's text); None leaves a template's stored
    # variants as they are (an API client that does not send them).
    channel_texts: dict[int, str] | None = None


#: All of a template's own texts together (each is at most MAX_TEXT): a workspace with many
#: channels cannot make one template carry megabytes.
MAX_CHANNEL_TEXTS = 50_000


@dataclass
class ChannelText:
    """One channel's own text on the template form, with the composer's counter: the copy as a
    post started from the template would read (its own text or the template's, the link, the
    channel's signature), counted as its network counts."""

    channel: Channel
    text: str
    used: int
    limit: int | None
    network: str = ""  # the network's name, beside the channel's
    error: str = ""  # why the form refused this text

    @property
    def over(self) -> bool:
        return self.limit is not None and self.used > self.limit

    @property
    def field(self) -> str:
        return f"ct-{self.channel.pk}"


def channel_texts_of(workspace: Workspace, text: str, link: str, own: Mapping[int, str]) -> list[ChannelText]:
    """Every channel of the workspace, by name, with its own text (from `own`) and its counter."""
    channels = list(Channel.objects.filter(workspace=workspace).order_by("name"))
    draft = composer.Draft(
        title="",
        text=text[:MAX_TEXT],
        link=link.strip()[:500],
        media=[],
        channels=[],
        signatures=composer.signatures_of(workspace),
    )
    rows = []
    for channel in channels:
        mine = own.get(channel.pk, "")
        copy = draft.text_for(composer.ChannelDraft(channel, mine[:MAX_TEXT], {}))
        connector = channel.connector()
        used, limit = composer.count(connector, copy)
        rows.append(ChannelText(channel, mine, used, limit, network=str(connector.label)))
    return rows


def stored_channel_texts(template: PostTemplate | None) -> dict[int, str]:
    raw = template.channel_texts if template is not None else {}
    return {int(k): str(v) for k, v in raw.items() if str(k).isdigit()}


def network_kinds(workspace: Workspace) -> list[str]:
    """The network kinds of the workspace's channels: a template offers their options."""
    kinds = set(Channel.objects.filter(workspace=workspace).values_list("kind", flat=True))
    return sorted(kind for kind in kinds if kind in all_kinds())


def read_form_options(workspace: Workspace, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each network's options from the template form (`o-<kind>-<name>` fields)."""
    options = {}
    for kind in network_kinds(workspace):
        values = composer.read_options(kind, data, f"o-{kind}")
        if values:
            options[kind] = values
    return options


MAX_OPTION_CHARS = 1_000


def _declared_options(raw: Mapping[str, Any], errors: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Only the options each network's connector declares, as the composer stores them (an API
    client may send anything)."""
    known = set(all_kinds())
    options: dict[str, dict[str, Any]] = {}
    for kind, values in raw.items():
        if kind not in known or not isinstance(values, Mapping):
            errors["options"] = str(_("Unknown network: %(kind)s.") % {"kind": str(kind)[:40]})
            continue
        declared = {spec.name: spec for spec in composer.option_fields(kind)}
        kept: dict[str, Any] = {}
        for name, value in values.items():
            spec = declared.get(name)
            if spec is None:
                errors["options"] = str(
                    _("%(network)s has no option “%(name)s”.") % {"network": kind, "name": str(name)[:40]}
                )
                continue
            if spec.kind == "bool":
                ok = isinstance(value, bool)
            elif spec.kind == "list":
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:
                ok = isinstance(value, str)
                if ok and spec.kind == "choice":
                    ok = value in {str(v) for v, _label in spec.choices}
            if not ok or len(str(value)) > MAX_OPTION_CHARS:
                errors["options"] = str(
                    _("The value of “%(name)s” for %(network)s is not valid.")
                    % {"network": kind, "name": name}
                )
                continue
            if value not in ("", [], False):
                kept[name] = value
        if kept:
            options[kind] = kept
    return options


def _checked(workspace: Workspace, values: TemplateValues) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = values.name.strip()
    if values.kind not in PostTemplate.Kind.values:
        errors["kind"] = str(_("Choose “Template” or “Snippet”."))
    if not name:
        errors["name"] = str(_("Give it a name."))
    elif len(name) > MAX_NAME:
        errors["name"] = str(_("At most %(limit)d characters.") % {"limit": MAX_NAME})
    if len(values.text) > MAX_TEXT:
        errors["text"] = str(_("At most %(limit)d characters.") % {"limit": MAX_TEXT})
    elif values.kind == PostTemplate.Kind.SNIPPET and not values.text.strip():
        errors["text"] = str(_("A snippet needs text to insert."))
    link = values.link.strip()
    if link:
        try:  # never fetched here; the composer's preview goes through the SSRF guard
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError:
            errors["link"] = str(_("Enter a link starting with http:// or https://."))
        if len(link) > 500:
            errors["link"] = str(_("At most %(limit)d characters.") % {"limit": 500})
    if len(values.tags) > MAX_TAGS:
        errors["tags"] = str(_("At most %(limit)d characters.") % {"limit": MAX_TAGS})
    options = _declared_options(values.options, errors)
    campaign = None
    if values.campaign_id is not None:
        campaign = Campaign.objects.filter(workspace=workspace, pk=values.campaign_id).first()
        if campaign is None:
            errors["campaign"] = str(_("No such campaign in this workspace."))
    channel_texts: dict[str, str] | None = None
    if values.channel_texts is not None:
        own = set(Channel.objects.filter(workspace=workspace).values_list("pk", flat=True))
        channel_texts = {}
        for channel_id, text in values.channel_texts.items():
            if channel_id not in own:
                errors["channel_texts"] = str(_("No such channel in this workspace."))
            elif len(text) > MAX_TEXT:
                errors[f"channel_texts.{channel_id}"] = str(
                    _("At most %(limit)d characters.") % {"limit": MAX_TEXT}
                )
            elif text.strip():
                channel_texts[str(channel_id)] = text
        if sum(len(t) for t in channel_texts.values()) > MAX_CHANNEL_TEXTS:
            errors["channel_texts"] = str(
                _("The channels' own texts are at most %(limit)d characters together.")
                % {"limit": MAX_CHANNEL_TEXTS}
            )
    if errors:
        raise Invalid(_("Check the fields marked."), code="invalid_template", fields=errors)
    snippet = values.kind == PostTemplate.Kind.SNIPPET
    variants = {} if snippet or channel_texts is None else {"channel_texts": channel_texts}
    return {
        **variants,
        "kind": values.kind,
        "name": name,
        "text": values.text,
        # A snippet is text only: the rest belongs to a whole post.
        "link": "" if snippet else link,
        "options": {} if snippet else options,
        "campaign": None if snippet else campaign,
        "tags": "" if snippet else ", ".join(t.strip()[:60] for t in values.tags.split(",") if t.strip()),
    }


def _name_taken() -> Invalid:
    return Invalid(
        _("Check the fields marked."),
        code="name_taken",
        fields={"name": str(_("Another one of this kind already has this name."))},
    )


def create(workspace: Workspace, values: TemplateValues, *, actor: User | None) -> PostTemplate:
    fields = _checked(workspace, values)
    if PostTemplate.objects.filter(workspace=workspace).count() >= MAX_PER_WORKSPACE:
        raise Invalid(
            _("This workspace already has %(limit)d templates and snippets; delete some first."),
            code="too_many_templates",
            limit=MAX_PER_WORKSPACE,
        )
    try:
        with transaction.atomic():
            template = PostTemplate.objects.create(workspace=workspace, created_by=actor, **fields)
            audit.record(
                "post_template.created",
                workspace=workspace,
                actor=actor,
                obj=template,
                kind=template.kind,
                name=template.name,
            )
    except IntegrityError:  # (workspace, kind, name) is unique
        raise _name_taken() from None
    return template


def change(template: PostTemplate, values: TemplateValues, *, actor: User | None) -> PostTemplate:
    values.kind = template.kind  # a template stays a template
    fields = _checked(template.workspace, values)
    changed = sorted(name for name, value in fields.items() if getattr(template, name) != value)
    if not changed:
        return template
    for name, value in fields.items():
        setattr(template, name, value)
    try:
        with transaction.atomic():
            template.save()
            audit.record(
                "post_template.changed",
                workspace=template.workspace,
                actor=actor,
                obj=template,
                kind=template.kind,
                name=template.name,
                fields=changed,
            )
    except IntegrityError:
        raise _name_taken() from None
    return template


@transaction.atomic
def delete(template: PostTemplate, *, actor: User | None) -> None:
    audit.record(
        "post_template.deleted",
        workspace=template.workspace,
        actor=actor,
        obj=template,
        kind=template.kind,
        name=template.name,
    )
    template.delete()


def may_change(template: PostTemplate, user: User, role: str) -> bool:
    """Its author changes it, and so does anyone who may edit every post."""
    from chorus.accounts.permissions import Perm, can

    return template.created_by_id == user.pk or can(role, Perm.EDIT_ANY_POST)


def for_composer(workspace: Workspace) -> tuple[list[PostTemplate], list[PostTemplate]]:
    """(templates, snippets) offered in the composer, by name."""
    rows = list(
        PostTemplate.objects.filter(workspace=workspace)
        .only("id", "kind", "name", "text")
        .order_by("name")[:MAX_PER_WORKSPACE]
    )
    return (
        [t for t in rows if t.kind == PostTemplate.Kind.TEMPLATE],
        [t for t in rows if t.kind == PostTemplate.Kind.SNIPPET],
    )
