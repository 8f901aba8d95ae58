"""Short links: the friendly 404 (unknown or expired code), destinations through the SSRF guard,
and links shortened when a target is scheduled (composer, API, approvals and the bulk import)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from chorus.bulk import actions as bulk
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.links import actions, clicks
from chorus.links.models import Click, ShortLink
from chorus.links.shortening import InvalidDestination, link_for, short_url, shorten_links_in
from chorus.publishing import actions as publishing
from chorus.publishing import dispatch, engine
from tests.conftest import Cast
from tests.publishing.conftest import make_target
from tests.sink.models import SinkPost

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
YEAR = dt.date.today().year + 1


def wants_shortening(cast: Cast) -> None:
    actions.save_link_settings(
        cast.workspace, actor=cast.owner, shorten=True, utm_source="", utm_medium="", utm_campaign=""
    )


def test_it_answers_an_unknown_code_with_the_friendly_404_page(db):
    response = Client().get("/l/nope123", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 404
    assert "links/not_found.html" in [t.name for t in response.templates]
    assert "This link does not exist" in response.content.decode()
    assert clicks.flush() == 0
    assert Click.objects.count() == 0


def test_it_answers_an_expired_code_with_the_friendly_404_and_counts_nothing(cast: Cast, channel: Channel):
    target = make_target(cast, channel, text="x")
    link = ShortLink.objects.create(
        workspace=cast.workspace,
        code="old1234",
        target_url="https://example.org/",
        target=target,
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    response = Client().get("/l/old1234", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 404
    assert "This link has expired" in response.content.decode()
    assert clicks.flush() == 0
    assert not Click.objects.filter(link=link).exists()

    link.expires_at = timezone.now() + dt.timedelta(days=1)
    link.save()
    response = Client().get("/l/old1234", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302 and response["Location"] == "https://example.org/"


def test_it_shows_the_friendly_page_in_the_visitors_language(db):
    response = Client().get("/l/nope123", HTTP_USER_AGENT=BROWSER, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    assert '<html lang="fr">' in response.content.decode()


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/file", "javascript://example.org/%0aalert(1)", "https://user:pw@example.org/"],
)
def test_it_refuses_a_destination_that_is_not_plain_http_or_https(cast: Cast, channel: Channel, url: str):
    target = make_target(cast, channel, text="x")
    with pytest.raises(InvalidDestination):
        link_for(target, url)
    assert not ShortLink.objects.exists()


def test_it_refuses_a_private_destination_and_leaves_it_as_typed(cast: Cast, channel: Channel, settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    wants_shortening(cast)
    target = make_target(cast, channel, text="Intranet http://127.0.0.1:8080/admin now")
    with pytest.raises(InvalidDestination, match="not a public address"):
        link_for(target, "http://127.0.0.1:8080/admin")
    assert shorten_links_in(target) == "Intranet http://127.0.0.1:8080/admin now"
    assert not ShortLink.objects.exists()


def test_scheduling_shortens_the_links_once_when_the_workspace_wants_it(cast: Cast, channel: Channel):
    wants_shortening(cast)
    when = timezone.now() + dt.timedelta(days=1)
    target = make_target(cast, channel, text="Read https://example.org/story.", when=when)
    link = ShortLink.objects.get(target=target)
    assert target.text == f"Read {short_url(link.code)}."
    assert target.status == PostTarget.Status.SCHEDULED
    assert parse_qs(urlsplit(link.target_url).query)["utm_source"] == ["sink"]

    publishing.unschedule(target, actor=cast.owner)
    target.refresh_from_db()
    publishing.schedule(target, actor=cast.owner, when=when)
    target.refresh_from_db()
    assert target.text.endswith(f"/l/{link.code}.")  # the same code, not a link to a link
    assert ShortLink.objects.count() == 1


def test_scheduling_leaves_links_alone_when_the_workspace_does_not_shorten(cast: Cast, channel: Channel):
    target = make_target(
        cast, channel, text="Read https://example.org/story", when=timezone.now() + dt.timedelta(days=1)
    )
    assert target.text == "Read https://example.org/story"
    assert not ShortLink.objects.exists()


def test_an_imported_link_is_shortened_published_and_counts_a_click(cast: Cast, channel: Channel):
    wants_shortening(cast)
    data = f"date,channels,text,link\n{YEAR}-05-01 09:00,Sink,Our report,https://example.org/report\n"
    job = bulk.check(
        bulk.create_job(
            cast.workspace,
            actor=cast.owner,
            data=data.encode(),
            filename="plan.csv",
            date_order="iso",
            default_channels=[],
        ).pk
    )
    assert job.report["ok"] == 1, job.report
    bulk.begin_import(job, actor=cast.owner)

    target = PostTarget.objects.get(workspace=cast.workspace)
    link = ShortLink.objects.get(target=target)
    assert target.status == PostTarget.Status.SCHEDULED
    assert f"/l/{link.code}" in target.text and "example.org" not in target.text
    query = parse_qs(urlsplit(link.target_url).query)
    assert link.target_url.startswith("https://example.org/report?")
    assert (query["utm_source"], query["utm_medium"], query["utm_content"]) == (
        ["sink"],
        ["social"],
        [str(target.post_id)],
    )

    PostTarget.objects.filter(pk=target.pk).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert target.pk in ids
    assert engine.publish_one(target.pk, attempt_id) == "published"
    published = SinkPost.objects.get(target_id=target.pk).text  # type: ignore[attr-defined]
    short = published[published.index("http") :].split()[0]
    assert short.endswith(f"/l/{link.code}")

    response = Client().get(
        urlsplit(short).path, HTTP_USER_AGENT=BROWSER, HTTP_REFERER="https://sink.invalid/"
    )
    assert response.status_code == 302 and response["Location"] == link.target_url
    assert clicks.flush() == 1
    assert Click.objects.filter(link=link, channel_kind="sink").count() == 1
