from __future__ import annotations

import pytest
from django.test import Client

from chorus.channels.models import Channel
from chorus.links.clicks import clicks_for_target, flush, is_bot
from chorus.links.models import Click, ShortLink
from tests.conftest import Cast
from tests.publishing.conftest import make_target

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture
def link(cast: Cast, channel: Channel) -> ShortLink:
    target = make_target(cast, channel, text="x")
    return ShortLink.objects.create(
        workspace=cast.workspace,
        code="abc1234",
        target_url="https://example.org/?utm_source=sink",
        target=target,
        channel_kind="sink",
    )


def test_it_redirects_and_counts_a_click_with_time_and_referrer(link: ShortLink):
    response = Client().get("/l/abc1234", HTTP_USER_AGENT=BROWSER, HTTP_REFERER="https://bsky.app/")
    assert response.status_code == 302
    assert response["Location"] == "https://example.org/?utm_source=sink"
    assert flush() == 1  # the background writer's job in production (every second)
    click = Click.objects.get(link=link)
    assert click.referrer == "https://bsky.app/"
    assert click.channel_kind == "sink"
    assert click.at is not None
    assert link.target is not None
    assert clicks_for_target(link.target) == 1


def test_it_does_not_need_a_csrf_token_nor_a_session(link: ShortLink):
    response = Client(enforce_csrf_checks=True).get("/l/abc1234", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize(
    "agent",
    [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "TelegramBot (like TwitterBot)",
        "WhatsApp/2.23.20.0",
        "LinkedInBot/1.0",
        "Mastodon/4.3.0 (http.rb/5.2.0; +https://mastodon.social/)",
        "Bluesky Cardyb/1.1",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "SomeCrawler/3",
        "",
    ],
)
def test_it_redirects_bots_without_counting_them(link: ShortLink, agent: str):
    assert is_bot(agent)
    response = Client().get("/l/abc1234", HTTP_USER_AGENT=agent)
    assert response.status_code == 302
    assert flush() == 0
    assert Click.objects.count() == 0


def test_it_does_not_count_head_requests(link: ShortLink):
    response = Client().head("/l/abc1234", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert flush() == 0
    assert Click.objects.count() == 0


def test_it_answers_404_to_an_unknown_code(db):
    assert Client().get("/l/nope", HTTP_USER_AGENT=BROWSER).status_code == 404
    assert flush() == 0
    assert Click.objects.count() == 0


def test_it_lists_links_with_click_counts_for_analytics_viewers(cast: Cast, link: ShortLink):
    Client().get("/l/abc1234", HTTP_USER_AGENT=BROWSER)
    assert flush() == 1
    client = Client()
    client.force_login(cast.members["viewer"])
    page = client.get(f"/w/{cast.workspace.slug}/links/")
    assert page.status_code == 200
    assert b"abc1234" in page.content
    api = client.get(f"/api/workspaces/{cast.workspace.slug}/links")
    assert api.status_code == 200, api.content
    assert api.json()[0]["clicks"] == 1
    contributor = Client()
    contributor.force_login(cast.members["contributor"])
    assert contributor.get(f"/w/{cast.workspace.slug}/links/").status_code == 403
