"""The composer shows, counts and checks what each connector declares, and holds no network
knowledge of its own: a connector added in a test appears in it with its options, its counter,
its handle and its mentions, without a line of the composer changing."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.urls import reverse

from chorus.channels.models import Channel
from chorus.connectors.base import ComposerOption
from chorus.connectors.registry import CONNECTORS
from chorus.content.models import PostTarget
from tests.composer.conftest import channel
from tests.composer.test_composer import check, compose
from tests.conftest import Cast
from tests.sink.connector import SinkConnector

SRC = Path(__file__).resolve().parents[2] / "src" / "chorus"


class PollsConnector(SinkConnector):
    """A network that exists only in this test: two options, words as its unit, its own handle."""

    kind = "polls"
    label = "Polls"
    composer_options: ClassVar[tuple[ComposerOption, ...]] = (
        ComposerOption("tone", "Tone of voice", "choice", (("warm", "Warm"), ("dry", "Dry"))),
        ComposerOption("pin", "Pin to the profile", "bool"),
        ComposerOption("topics", "Topics", "list"),
    )
    mention_pattern = re.compile(r"~[a-z]+")

    def count_text(self, text: str) -> tuple[int, int | None]:
        return len(text.split()), 5  # counts words, five at most

    def handle(self) -> str:
        return f"~{self.channel.config['nick']}"

    def draft_options(self, *, link: str, media: list[dict[str, Any]]) -> dict[str, Any]:
        return {"tone": "warm"} if link else {}


@pytest.fixture
def polls(cast: Cast, settings) -> Channel:
    settings.CHORUS_EXTRA_CONNECTORS = {
        **settings.CHORUS_EXTRA_CONNECTORS,
        "polls": f"{__name__}.PollsConnector",
    }
    return channel(cast, "polls", "Polls", {"nick": "ngo"})


def test_a_connectors_declared_options_appear_in_the_composer(owner_client, polls: Channel) -> None:
    page = owner_client.get(reverse("publishing:post_new", args=["campaign"])).content.decode()
    assert f'<select name="c{polls.pk}-tone" id="c{polls.pk}-tone">' in page
    assert '<option value="warm"' in page and '<option value="dry"' in page
    assert f'<input type="checkbox" name="c{polls.pk}-pin"' in page
    assert f'<input type="text" name="c{polls.pk}-topics"' in page


def test_a_declared_choice_is_checked_and_saved(owner_client, cast: Cast, polls: Channel) -> None:
    refused = check(owner_client, [polls], text="hello", **{f"c{polls.pk}-tone": "shouty"})
    assert 'data-field="options.tone" data-code="choice"' in refused
    assert "“shouty” is not one of the choices for Tone of voice." in refused
    fine = check(owner_client, [polls], text="hello", **{f"c{polls.pk}-tone": "dry"})
    assert 'data-code="choice"' not in fine

    response = compose(
        owner_client,
        [polls],
        text="hello",
        **{f"c{polls.pk}-tone": "dry", f"c{polls.pk}-pin": "on", f"c{polls.pk}-topics": "a, b"},
    )
    assert response.status_code == 302
    assert PostTarget.objects.get(channel=polls).options == {"tone": "dry", "pin": True, "topics": ["a", "b"]}


def test_the_connectors_counter_handle_and_mentions_drive_the_preview(owner_client, polls: Channel) -> None:
    html = check(owner_client, [polls], text="one two three ~friend four five six")
    assert "7 characters / 5" in html  # its unit is the word: 7 words against its limit of 5
    assert "~ngo" in html
    assert '<span class="mention">~friend</span>' in html


def test_a_draft_option_from_the_link_reaches_validation_but_a_persons_choice_wins(
    owner_client, polls: Channel
) -> None:
    # The link gives the draft tone "warm" (valid); a person's own choice is kept and checked.
    assert 'data-code="choice"' not in check(owner_client, [polls], text="x", link="https://a.example/")
    forged = check(owner_client, [polls], text="x", link="https://a.example/", **{f"c{polls.pk}-tone": "odd"})
    assert 'data-field="options.tone" data-code="choice"' in forged


def test_instagram_declares_its_post_type_and_first_comment(owner_client, cast: Cast) -> None:
    instagram = channel(cast, "instagram", "NGO on Instagram", {"ig_user_id": "1789", "username": "ngo"})
    page = owner_client.get(reverse("publishing:post_new", args=["campaign"])).content.decode()
    assert f'<select name="c{instagram.pk}-ig_type" id="c{instagram.pk}-ig_type">' in page
    assert '<option value="reels"' in page and '<option value="story"' in page
    assert f'name="c{instagram.pk}-first_comment"' in page
    html = check(owner_client, [instagram], text="hi", **{f"c{instagram.pk}-ig_type": "carousel"})
    assert 'data-field="options.ig_type" data-code="choice"' in html


def test_x_counts_a_link_as_23_characters(owner_client, cast: Cast) -> None:
    x = channel(cast, "x", "NGO on X", {"username": "ngo"})
    html = check(owner_client, [x], text="a" * 10 + " https://example.org/" + "b" * 100)
    assert "34 characters / 280" in html  # 10 + 1 + 23, not 132


def test_the_composer_holds_no_network_knowledge() -> None:
    """No kind of the registry is named in the composer's code, templates or script."""
    sources = {
        "composer.py": (SRC / "publishing" / "composer.py").read_text(),
        "composer.html": (SRC / "templates" / "publishing" / "composer.html").read_text(),
        "_channel_check.html": (SRC / "templates" / "publishing" / "_channel_check.html").read_text(),
        "composer.js": (SRC / "static" / "chorus" / "composer.js").read_text(),
    }
    for name, text in sources.items():
        for kind in CONNECTORS:
            assert not re.search(rf"[\"']{kind}[\"']", text), f"{name} names the network {kind!r}"
    tree = ast.parse(sources["composer.py"])
    kinds_compared = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(
            isinstance(side, ast.Attribute) and side.attr == "kind" for side in [node.left, *node.comparators]
        )
        and not any(
            isinstance(side, ast.Attribute)
            and side.attr == "kind"
            and isinstance(side.value, ast.Name)
            and side.value.id == "spec"
            for side in [node.left, *node.comparators]
        )
    ]
    assert kinds_compared == [], "composer.py branches on a channel kind"


def test_threads_does_not_import_instagram() -> None:
    """Shared Meta pieces live in connectors/meta/, not in another network's package."""
    for path in (SRC / "connectors" / "threads").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("chorus.connectors.instagram"), path


def test_the_preview_cuts_where_the_network_folds_a_long_text(owner_client, cast: Cast) -> None:
    """Instagram's feed shows about 125 characters of a caption, then "… more": the preview marks
    the cut (declared by the connector, `preview_fold`); Mastodon shows the whole text."""
    instagram = channel(cast, "instagram", "NGO on Instagram", {"ig_user_id": "1789", "username": "ngo"})
    mastodon = channel(
        cast, "mastodon", "NGO on Mastodon", {"instance": "https://social.example", "username": "ngo"}
    )
    text = "a" * 125 + "TAIL"
    html = check(owner_client, [instagram, mastodon], text=text)
    assert (
        '<div class="net-text">'
        + "a" * 125
        + '<span class="net-fold" title="The feed cuts here">… more</span>'
        '<span class="net-after">TAIL</span></div>'
    ) in html
    assert f'<div class="net-text">{text}</div>' in html  # Mastodon: no fold
    short = check(owner_client, [instagram], text="a" * 125)
    assert "net-fold" not in short
    # Between words, as feeds cut: "word " × 30 folds after the 25th word (124 characters).
    words = check(owner_client, [instagram], text="word " * 30)
    assert "word " * 24 + 'word<span class="net-fold"' in words
