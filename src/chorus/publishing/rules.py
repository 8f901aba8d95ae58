"""One validation for every path: the network rules a target must keep when it is saved.

The composer (while typing and on save), the API, the bulk import and recurring schedules all
ask `problems()` about a target, saved or not: the connector's own `validate()` (its limits), the
choices it declares for its options, the workspace's alt-text rule, its writing rules (banned
words, the hashtag a campaign requires: chorus.publishing.writing_rules) and the consent scope of
the media. `refuse()` turns the problems of several targets into the one refusal the API answers
(422, in the common refusal shape): the code and message of the first problem, as the composer
shows them, and every problem in `fields` (`channels.<id>.<field>`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils.translation import gettext as _

from chorus.accounts.models import Workspace
from chorus.channels.models import Channel
from chorus.connectors.base import Connector, Problem
from chorus.content.models import PostTarget
from chorus.core.refusals import Invalid

# Alt text on every image, for accessibility. There is no per-workspace setting yet; until then
# it is this deployment-wide setting, on by default.
ALT_TEXT_REQUIRED_DEFAULT = True


def alt_text_required(workspace: Workspace) -> bool:
    return bool(getattr(settings, "CHORUS_REQUIRE_ALT_TEXT", ALT_TEXT_REQUIRED_DEFAULT))


def option_problems(connector: Connector, options: Mapping[str, Any]) -> list[Problem]:
    """A declared choice holds one of its declared values (a forged or stale form cannot slip
    another through to the network)."""
    problems = []
    for spec in connector.composer_options:
        value = options.get(spec.name)
        if spec.kind == "choice" and value not in (None, "") and value not in dict(spec.choices):
            problems.append(
                Problem(
                    f"options.{spec.name}",
                    _("“%(value)s” is not one of the choices for %(option)s.")
                    % {"value": value, "option": spec.label},
                    "choice",
                )
            )
    return problems


def writing_problems(target: PostTarget) -> list[Problem]:
    """The workspace's writing rules: no banned word, and the hashtag of the post's campaign."""
    from chorus.publishing import writing_rules

    found: list[Problem] = []
    rules = writing_rules.rules_of(target.workspace)
    if rules is None:
        return found
    text = target.text or ""
    for word in writing_rules.banned_in(text, rules.banned_words):
        found.append(
            Problem(
                "text", _("“%(word)s” is a banned word in this workspace.") % {"word": word}, "banned_word"
            )
        )
    campaign = target.post.campaign if target.post.campaign_id else None
    hashtag = str(rules.campaign_hashtags.get(str(campaign.pk), "")) if campaign else ""
    if campaign and hashtag and not writing_rules.carries(text, hashtag):
        found.append(
            Problem(
                "text",
                _("Posts of the campaign %(campaign)s must carry %(hashtag)s.")
                % {"campaign": campaign.name, "hashtag": hashtag},
                "required_hashtag",
            )
        )
    return found


def problems(target: PostTarget, connector: Connector | None = None) -> list[Problem]:
    """Every rule `target` (saved or not; its channel and workspace set) breaks, in the order
    the composer shows them."""
    connector = connector or target.channel.connector()
    try:
        found = list(connector.validate(target))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        found = [Problem("options", _("These options cannot be checked: %(error)s") % {"error": exc})]
    found += option_problems(connector, target.options or {})
    found += writing_problems(target)
    media = list(target.media or [])
    if alt_text_required(target.workspace):
        for index, item in enumerate(media):
            if not str(item.get("alt") or "").strip():
                found.append(
                    Problem(
                        f"media.{index}.alt", _("This workspace requires alt text on every image."), "alt"
                    )
                )
    if media and apps.is_installed("chorus.media"):  # the people in a file agreed to this use
        from chorus.media.consent import scope_problems

        found += [
            Problem(f"media.{i}", reason, "consent")
            for i, reason in scope_problems(media, target.channel.kind)
        ]
    return found


class BreaksNetworkRules(Invalid):
    """A post saved through the API (or another path that answers at once) breaks a rule of one
    of its networks. The code is the first problem's (`too_long`, `empty`, `alt`…)."""

    code = "network_rules"
    http_status = 422


def refuse(found: Iterable[tuple[Channel, list[Problem]]]) -> None:
    """Raises BreaksNetworkRules when any channel has a problem; does nothing otherwise."""
    pairs = [(channel, items) for channel, items in found if items]
    if not pairs:
        return
    first = pairs[0][1][0]
    fields = {
        f"channels.{channel.pk}.{problem.field}": f"{problem.code}: {problem.message}"
        for channel, items in pairs
        for problem in items
    }
    raise BreaksNetworkRules(first.message, code=first.code, fields=fields)


def check_targets(targets: Iterable[PostTarget]) -> None:
    """Refuses (BreaksNetworkRules) when one of `targets` breaks a rule of its network."""
    refuse((target.channel, problems(target)) for target in targets)
