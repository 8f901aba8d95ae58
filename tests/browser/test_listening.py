"""The listening insights page in a real browser, in English and French, on a desktop and a phone:
the matching posts link to the original, show their author's followers (or "unknown"), and lead
to a new post replying to or quoting them (the composer opens on the workspace's Bluesky channel
with the post it answers), and the page stays inside the window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.inbox.models import Conversation
from chorus.listening import actions
from chorus.listening.models import Match
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDS = {
    "en": {
        "title": "Listening insights",
        "reply": "Reply",
        "quote": "Quote",
        "followers": "2,400 followers",
        "unknown": "followers: unknown",
        "in_reply_to": "In reply to",
        "quoting": "Quoting",
        "original": "original",
        "inbox": "Answer from the inbox",
        "in_inbox": "The post is in the inbox: answer it from here.",
    },
    "fr": {
        "title": "Analyses de veille",
        "reply": "Répondre",
        "quote": "Citer",
        "followers": "2\u202f400 abonnés",
        "unknown": "abonnés : inconnu",
        "in_reply_to": "En réponse à",
        "quoting": "Citation de",
        "original": "original",
        "inbox": "Répondre depuis la boîte de réception",
        "in_inbox": "La publication est dans la boîte de réception : répondez-y d’ici.",
    },
}
URL = "https://bsky.app/profile/did:plc:fan/post/3kaaa"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_insights_lead_to_a_post_answering_a_match(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    ours = connect_channel(
        workspace=cast.workspace, kind="bluesky", name="Our Bluesky", config={}, credentials={}
    )
    query = actions.create_query(
        cast.workspace, actor=None, data={"name": "Climat", "expression": "climat OR climate"}
    )
    now = timezone.now()
    for n, (text, feeling) in enumerate(
        [
            ("Bravo au collectif pour la marche pour le climat #climat", "positive"),
            ("The climate plan vote was a mess again tonight", "negative"),
            ("Réunion climat jeudi à 18 h à la mairie", "neutral"),
        ]
    ):
        Match.objects.create(
            workspace=cast.workspace,
            query=query,
            network="bluesky",
            uri=f"at://did:plc:fan/app.bsky.feed.post/3kaa{n}",
            url=URL if n == 0 else f"https://bsky.app/profile/did:plc:fan/post/3kaa{n}",
            author_id="did:plc:fan",
            author_handle="fan.bsky.social",
            text=text,
            sentiment=feeling,
            language="en" if n == 1 else "fr",
            posted_at=now - dt.timedelta(hours=n + 1),
            author_followers=2400 if n == 0 else None,
        )
    words = WORDS[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/listening/insights/?days=7")
        expect(page.locator("h1")).to_have_text(words["title"])
        rows = page.locator("#listening-posts tbody tr")
        expect(rows).to_have_count(3)
        first = rows.filter(has_text="marche pour le climat")
        expect(first.get_by_role("link", name=words["original"])).to_have_attribute("href", URL)
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"listening insights {language} {device}")
        page.screenshot(path=SCREENS / f"listening-insights-{language}-{device}.png", full_page=True)
        assert not overflow, "the insights page is wider than the window"
        expect(first.get_by_test_id("followers")).to_have_text(words["followers"])
        expect(rows.filter(has_text="mairie").get_by_test_id("followers")).to_have_text(words["unknown"])
        first.get_by_role("link", name=words["reply"], exact=True).click()
        reply_to = page.locator(f'[name="c{ours.pk}-reply_to"]')
        expect(reply_to).to_have_value("at://did:plc:fan/app.bsky.feed.post/3kaa0")
        expect(page.locator(f'input[name="channels"][value="{ours.pk}"]')).to_be_checked()
        expect(page.get_by_label(words["in_reply_to"], exact=True)).to_have_value(
            "at://did:plc:fan/app.bsky.feed.post/3kaa0"
        )
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"composer replying to a match {language} {device}")
        page.screenshot(path=SCREENS / f"listening-reply-{language}-{device}.png", full_page=True)
        assert not overflow, "the composer is wider than the window"
        page.go_back()
        rows.filter(has_text="marche pour le climat").get_by_role("link", name=words["quote"]).click()
        expect(page.get_by_label(words["quoting"], exact=True)).to_have_value(
            "at://did:plc:fan/app.bsky.feed.post/3kaa0"
        )
        expect(page.locator(f'[name="c{ours.pk}-reply_to"]')).to_have_value("")
        # The same match, answered from the inbox instead: one conversation however often it is sent.
        page.goto(f"/w/{cast.workspace.slug}/listening/insights/?days=7")
        rows.filter(has_text="marche pour le climat").get_by_role("button", name=words["inbox"]).click()
        expect(page.get_by_text(words["in_inbox"])).to_be_visible()
        expect(page.get_by_text("Bravo au collectif pour la marche pour le climat").first).to_be_visible()
        assert f"/w/{cast.workspace.slug}/inbox/" in page.url
        assert Conversation.objects.filter(workspace=cast.workspace).count() == 1
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"match in the inbox {language} {device}")
        page.screenshot(path=SCREENS / f"listening-to-inbox-{language}-{device}.png", full_page=True)
        assert not overflow, "the conversation page is wider than the window"


PAID = {
    "en": (
        "X and Instagram searches",
        "X search paused",
        "Instagram hashtags searched by @seasalive",
        "(5.00 USD",
    ),
    "fr": (
        "Recherches X et Instagram",
        "Recherche X en pause",
        "Hashtags Instagram cherchés par @seasalive",
        "(5,00 USD",
    ),
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_settings_say_why_x_search_paused_and_how_many_instagram_hashtags_are_used(
    new_page: NewPage, shot: Shot, cast: Cast, live_server, language: str
) -> None:
    import json

    from chorus.listening import notes, xsearch
    from chorus.listening.models import HashtagSearch, StreamCursor

    connect_channel(
        workspace=cast.workspace, kind="x", name="@chorusteam", config={"user_id": "1"}, credentials={}
    )
    ig = connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@seasalive",
        config={"ig_user_id": "2"},
        credentials={},
    )
    query = actions.create_query(
        cast.workspace, actor=None, data={"name": "Climat X", "expression": "climat", "networks": ["x"]}
    )
    StreamCursor.objects.create(
        source=xsearch.source_for(query),
        cursor=json.dumps({"since": "1"}),
        note=notes.encode("x_budget", budget="5.00", spent="4.98", n=10),
    )
    for i in range(12):
        HashtagSearch.objects.create(channel=ig, hashtag=f"tag{i}", hashtag_id=str(i))
    from chorus.listening import mastodon

    toots = actions.create_query(
        cast.workspace,
        actor=None,
        data={"name": "Toots", "hashtags": ["chorus"], "mastodon_instance": "https://social.example"},
    )
    StreamCursor.objects.create(
        source=mastodon.source_for(toots.mastodon_instance, "chorus"),
        note=notes.encode("mastodon_no_token", host="social.example"),
    )
    title, paused, used, budget = PAID[language]
    polled = {
        "en": "Toots (#chorus): Polled every minute, not streamed: Mastodon streams need a user token",
        "fr": "Toots (#chorus) : Interrogé chaque minute, sans flux en direct",
    }[language]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for device, viewport in VIEWPORTS.items():
        page = new_page(viewport=viewport)
        page.context.add_cookies([{"name": "chorus_language", "value": language, "url": live_server.url}])
        sign_in(page, cast.owner.email)
        page.goto(f"/w/{cast.workspace.slug}/listening/settings/")
        section = page.locator("#paid-sources")
        expect(section.locator("h2")).to_have_text(title)
        expect(section).to_contain_text(paused)
        expect(section).to_contain_text(used)
        expect(section).to_contain_text(budget)
        expect(section).to_contain_text("12")
        expect(page.locator("#mastodon-sources")).to_contain_text(polled)
        # The form above keeps its values in both languages (base.html's language menu once
        # overwrote `languages`; French decimals once emptied the number inputs).
        expect(page.locator("#languages")).to_have_value("en fr")
        expect(page.locator("#spike_factor")).to_have_value("3.0")
        expect(page.locator("#negative_share")).to_have_value("0.5")
        overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, f"listening settings {language} {device}")
        page.screenshot(path=SCREENS / f"listening-settings-{language}-{device}.png", full_page=True)
        assert not overflow
        page.close()
