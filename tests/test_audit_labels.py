"""Audit events are shown with human labels in the reader's language (issue 16): every key the
code records has one (found by scanning the source), an unknown key is turned into words, and the
French audit page and home show no raw `post.created` key."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from chorus.channels.actions import connect_channel
from chorus.core.auditlabels import EVENT_LABELS, event_label
from chorus.publishing import actions
from tests.conftest import Cast
from tests.test_i18n import ensure_compiled_catalog, french_client, visible_text

SRC = Path(__file__).resolve().parent.parent / "src" / "chorus"
RECORDERS = {"record", "record_raw", "record_many"}

# Calls whose key is built at run time, with every value it can take (read from the code named).
DYNAMIC = {
    "f'media.withdrawal_{step}'": [  # media/consent.py: MediaConsent withdrawal Step values
        "media.withdrawal_held",
        "media.withdrawal_to_delete",
        "media.withdrawal_manual",
    ],
    "f'media.withdrawal_{outcome}'": ["media.withdrawal_deleted", "media.withdrawal_failed"],
    "action": ["workflow.created", "workflow.changed"],  # approvals/actions.py save_workflow
    "f'review_link.{verdict}'": ["review_link.approve", "review_link.reject", "review_link.comment"],
    "f'target.{action}'": [],  # publishing/actions.py _move: its `action=` literals, found below
    "'webhook.endpoint_enabled' if active else 'webhook.endpoint_disabled'": [
        "webhook.endpoint_enabled",
        "webhook.endpoint_disabled",
    ],
    "f'inbox.reply_{status}'": ["inbox.reply_unknown", "inbox.reply_queued", "inbox.reply_failed"],
    "'organization.two_factor_required' if required else 'organization.two_factor_optional'": [
        "organization.two_factor_required",
        "organization.two_factor_optional",
    ],
    "'ads.account_connected' if created else 'ads.account_refreshed'": [
        "ads.account_connected",
        "ads.account_refreshed",
    ],
    "f'ads.boost_{change}d' if change != 'stop' else 'ads.boost_stopped'": [
        "ads.boost_paused",
        "ads.boost_resumed",
        "ads.boost_stopped",
    ],
}


def recorded_keys() -> tuple[set[str], set[str]]:
    """(every key the source records, the run-time expressions found) by walking the source."""
    keys: set[str] = set()
    dynamic: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if (
                node.func.attr in RECORDERS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
                and node.args
            ):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    keys.add(first.value)
                else:
                    dynamic.add(ast.unparse(first))
        if path.name == "actions.py" and path.parent.name == "publishing":
            moves = re.findall(r'_move\([^)]*?\baction="([a-z_]+)"', path.read_text(encoding="utf-8"), re.S)
            assert len(moves) >= 10
            keys |= {f"target.{action}" for action in moves}
    for expression in dynamic:
        keys |= set(DYNAMIC.get(expression, []))
    return keys, dynamic


def test_every_recorded_event_key_has_a_label() -> None:
    keys, dynamic = recorded_keys()
    assert dynamic == set(DYNAMIC), "a key built at run time: list its values in DYNAMIC"
    assert len(keys) > 120
    assert {"post.created", "target.scheduled", "target.published"} <= keys
    missing = sorted(keys - set(EVENT_LABELS))
    assert not missing, f"audit keys without a label in core/auditlabels.py: {missing}"


def test_labels_are_translated_and_unknown_keys_become_words() -> None:
    ensure_compiled_catalog()
    english = {key: str(label) for key, label in EVENT_LABELS.items()}
    with translation.override("fr"):
        assert event_label("target.scheduled") == "Programmée"
        assert event_label("post.created") == "Publication créée"
        untranslated = sorted(key for key, label in EVENT_LABELS.items() if str(label) == english[key])
    assert untranslated == [], untranslated
    assert event_label("post.created") == "Post created"
    assert event_label("gizmo.spun_round") == "Gizmo spun round"


RAW_KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)*\.[a-z]+(?:_[a-z]+)*\b")


@pytest.mark.django_db
def test_the_french_audit_page_and_home_show_labels_not_keys(cast: Cast) -> None:
    ensure_compiled_catalog()
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    post = actions.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Bonjour"
    )
    target = post.targets.select_related("workspace", "channel", "post").get()
    actions.schedule(target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=2))
    client = french_client(cast.owner)
    audit = client.get(reverse("approvals:audit", args=[cast.workspace.slug])).content.decode()
    table = audit[audit.index('data-testid="audit"') :]
    text = visible_text(table[: table.index("</table>")])
    assert "Publication créée" in text and "Programmée" in text
    assert RAW_KEY.findall(text.replace("Chorus", "")) == [], text
    home = client.get(reverse("workspace_home", args=[cast.workspace.slug])).content.decode()
    recent = visible_text(home[home.index("Activité récente") :])
    assert "Programmée" in recent
    assert RAW_KEY.findall(recent) == [], recent
