"""The composer: per-channel checks while typing, link previews, schedule choices, editing."""

from __future__ import annotations

import datetime as dt
import re
import socket
import zoneinfo

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.channels.models import Channel
from chorus.content.models import PostTarget, Recurrence
from chorus.core import http
from chorus.core.models import AuditEvent
from chorus.publishing import actions
from tests.conftest import Cast

S = PostTarget.Status
FAMILY = "👨‍👩‍👧"  # one grapheme, five code points


def check(client, channels: list[Channel], **data) -> str:
    payload = {"channels": [c.pk for c in channels], **data}
    response = client.post(reverse("publishing:compose_check", args=["campaign"]), payload)
    assert response.status_code == 200
    return response.content.decode()


def test_it_counts_bluesky_text_in_graphemes(owner_client, bluesky: Channel) -> None:
    fits = check(owner_client, [bluesky], text=FAMILY * 300)
    assert "300 characters / 300" in fits
    assert "too_long" not in fits
    assert len(FAMILY * 300) == 1500  # what a code-point count would have refused

    too_long = check(owner_client, [bluesky], text=FAMILY * 301)
    assert 'data-field="text" data-code="too_long"' in too_long
    assert "301 characters; Bluesky allows 300" in too_long
    assert f'<span id="badge-c{bluesky.pk}" class="badge bad" hx-swap-oob="true">1</span>' in too_long


def test_it_uses_the_mastodon_instance_limit_and_weighs_urls_23(owner_client, mastodon: Channel) -> None:
    url = "https://example.org/" + "a" * 120
    html = check(owner_client, [mastodon], text="x" * 70 + " " + url)
    assert "94 characters / 100" in html  # 70 + space + 23 for the URL, against the instance's 100
    assert "too_long" not in html
    html = check(owner_client, [mastodon], text="x" * 101)
    assert "101 characters; this instance allows 100." in html


def test_it_checks_each_channel_with_its_own_text_and_options(
    owner_client, bluesky: Channel, mastodon: Channel
) -> None:
    html = check(
        owner_client,
        [bluesky, mastodon],
        text="short",
        **{f"c{mastodon.pk}-text": "y" * 150, f"c{bluesky.pk}-langs": "en, fr, de, es"},
    )
    assert "150 characters; this instance allows 100." in html
    assert 'data-field="options.langs"' in html  # Bluesky takes at most 3 languages
    assert "5 characters / 300" in html  # Bluesky kept the main text


def test_it_highlights_links_in_the_network_preview(owner_client, bluesky: Channel) -> None:
    html = check(owner_client, [bluesky], text="Read <this> https://example.org/a?b=1&c=2")
    assert "Read &lt;this&gt;" in html
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener nofollow"' in html
    assert "@ngo.bsky.social" in html


def test_it_requires_alt_text_on_media(owner_client, cast: Cast, sink: Channel, settings) -> None:
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[sink], text="pic")
    target = post.targets.get()
    actions.edit(target, actor=cast.owner, media=[{"path": "photos/a.jpg", "alt": ""}])
    data = {"text": "pic", "media-path": "photos/a.jpg", "media-alt": "", "post_target": target.pk}
    html = check(owner_client, [], **data)
    assert 'data-field="media.0.alt"' in html
    assert "requires alt text" in html
    html = check(owner_client, [], **{**data, "media-alt": "Volunteers planting trees"})
    assert "requires alt text" not in html
    settings.CHORUS_REQUIRE_ALT_TEXT = False
    assert "requires alt text" not in check(owner_client, [], **data)


def test_it_ignores_media_paths_the_post_does_not_carry(owner_client, sink: Channel) -> None:
    html = check(owner_client, [sink], text="x", **{"media-path": "../../etc/passwd", "media-alt": "x"})
    assert "passwd" not in html


# --- link previews ------------------------------------------------------------------------


@pytest.fixture
def public_dns(monkeypatch):
    """news.example resolves to a public address (the SSRF guard resolves before fetching)."""
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "news.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_it_previews_a_link_from_its_opengraph_tags(owner_client, public_dns, settings) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = (
            '<html><head><title>Fallback</title><meta property="og:title" content="Trees &amp; rivers">'
            '<meta property="og:description" content="A story"><meta property="og:image" content="/i.jpg">'
            "</head></html>"
        )
        return httpx.Response(200, text=page, headers={"content-type": "text/html"})

    http.set_transport_for_tests(httpx.MockTransport(handler))
    try:
        response = owner_client.post(
            reverse("publishing:link_preview", args=["campaign"]), {"link": "https://news.example/story"}
        )
    finally:
        http.set_transport_for_tests(None)
    html = response.content.decode()
    assert seen == ["https://news.example/story"]
    assert "Trees &amp; rivers" in html
    assert "A story" in html
    assert 'src="https://news.example/i.jpg"' in html


def test_it_refuses_to_preview_a_loopback_address(owner_client, settings) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = False

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the guard must refuse before any request is sent")

    http.set_transport_for_tests(httpx.MockTransport(handler))
    try:
        response = owner_client.post(
            reverse("publishing:link_preview", args=["campaign"]), {"link": "http://127.0.0.1:8000/admin/"}
        )
    finally:
        http.set_transport_for_tests(None)
    html = response.content.decode()
    assert "cannot be previewed" in html
    assert "127.0.0.1 is not a public address" in html


# --- saving and scheduling -------------------------------------------------------------------


def compose(client, channels: list[Channel], **data):
    payload = {"channels": [c.pk for c in channels], "text": "Hello", "when": "draft", **data}
    return client.post(reverse("publishing:post_new", args=["campaign"]), payload)


def test_it_saves_each_channels_text_and_options(
    owner_client, cast: Cast, bluesky: Channel, mastodon: Channel
) -> None:
    response = compose(
        owner_client,
        [bluesky, mastodon],
        text="Same everywhere",
        link="https://news.example/story",
        **{
            f"c{mastodon.pk}-text": "Only on Mastodon",
            f"c{mastodon.pk}-spoiler_text": "politics",
            f"c{mastodon.pk}-visibility": "unlisted",
            f"c{bluesky.pk}-langs": "en, fr",
        },
    )
    assert response.status_code == 302
    on_bluesky = PostTarget.objects.get(channel=bluesky)
    on_mastodon = PostTarget.objects.get(channel=mastodon)
    assert on_bluesky.text == "Same everywhere\n\nhttps://news.example/story"
    assert on_bluesky.options == {"langs": ["en", "fr"]}
    assert on_mastodon.text == "Only on Mastodon\n\nhttps://news.example/story"
    assert on_mastodon.options == {"spoiler_text": "politics", "visibility": "unlisted"}
    assert on_bluesky.post_id == on_mastodon.post_id and on_bluesky.status == S.DRAFT


def test_it_refuses_to_schedule_a_post_with_problems(owner_client, bluesky: Channel) -> None:
    response = compose(owner_client, [bluesky], text=FAMILY * 301, when="now")
    assert response.status_code == 200
    assert "Fix the problems shown on each channel" in response.content.decode()
    assert not PostTarget.objects.exists()


def last_sunday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 31)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def test_it_shows_the_dst_gap_note_while_choosing_and_keeps_it(owner_client, sink: Channel) -> None:
    year = dt.date.today().year + 1  # a time to come: past ones are refused
    gap, fold_day = last_sunday(year, 3), last_sunday(year, 10)
    html = check(owner_client, [sink], text="x", when="at", local_time=f"{gap}T02:30")
    assert f"{gap} 02:30 does not exist in Europe/Paris (clocks go forward); moved to 03:00." in html
    assert f"Sunday {gap.day} March {year}, 03:00 (Europe/Paris)" in html
    fold = check(owner_client, [sink], text="x", when="at", local_time=f"{fold_day}T02:30")
    assert "happens twice in Europe/Paris" in fold

    response = compose(owner_client, [sink], when="at", local_time=f"{gap}T02:30")
    assert response.status_code == 302
    target = PostTarget.objects.get()
    assert target.status == S.SCHEDULED
    assert target.scheduled_at == dt.datetime.combine(gap, dt.time(1, 0), tzinfo=dt.UTC)
    assert "moved to 03:00" in target.schedule_note


def test_it_creates_a_weekly_recurrence_and_its_next_occurrences(
    owner_client, cast: Cast, sink: Channel
) -> None:
    today = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")).date()
    response = compose(
        owner_client,
        [sink],
        text="Weekly tip",
        when="recurring",
        recur_freq="weekly",
        recur_days=["MO", "WE", "FR"],
        recur_time="09:00",
        recur_start=(today + dt.timedelta(days=1)).isoformat(),
    )
    assert response.status_code == 302
    rec = Recurrence.objects.get()
    assert rec.rrule == "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    assert rec.timezone == "Europe/Paris" and rec.workspace == cast.workspace
    occurrences = list(PostTarget.objects.filter(recurrence=rec))
    assert 2 <= len(occurrences) <= 3  # the coming week
    for occurrence in occurrences:
        assert occurrence.scheduled_at is not None
        local = occurrence.scheduled_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
        assert (local.hour, local.minute) == (9, 0) and local.strftime("%a")[:2].upper() in {"MO", "WE", "FR"}
        assert occurrence.text == "Weekly tip" and occurrence.status == S.SCHEDULED
    assert AuditEvent.objects.filter(action="recurrence.created", object_id=str(rec.pk)).exists()


def test_it_lets_a_contributor_only_submit_for_review(cast: Cast, sink: Channel) -> None:
    client = cast.client_for(cast.members["contributor"])
    response = compose(client, [sink], when="now")
    assert "Select a valid choice" in response.content.decode()
    assert 'value="now"' not in response.content.decode()
    assert compose(client, [sink], when="review").status_code == 302
    assert PostTarget.objects.get().status == S.IN_REVIEW


def test_it_adds_to_the_next_queue_slot(owner_client, sink: Channel) -> None:
    Channel.objects.filter(pk=sink.pk).update(posting_slots=[{"weekday": 2, "time": "10:30"}])
    response = compose(owner_client, [sink], when="queue")
    assert response.status_code == 302
    target = PostTarget.objects.get()
    assert target.status == S.SCHEDULED and target.scheduled_at is not None
    local = target.scheduled_at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert (local.weekday(), local.hour, local.minute) == (2, 10, 30)


# --- editing ---------------------------------------------------------------------------------


def test_it_edits_the_editable_targets_of_a_post(
    owner_client, cast: Cast, sink: Channel, bluesky: Channel
) -> None:
    post = actions.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[sink, bluesky], text="v1"
    )
    on_sink, on_bluesky = post.targets.get(channel=sink), post.targets.get(channel=bluesky)
    url = reverse("publishing:post_edit", args=["campaign", on_sink.pk])
    page = owner_client.get(url).content.decode()
    assert f'name="c{bluesky.pk}-text"' in page and "v1" in page
    response = owner_client.post(url, {"text": "v2", "when": "keep", f"c{bluesky.pk}-text": "v2 for Bluesky"})
    assert response.status_code == 302
    on_sink.refresh_from_db()
    on_bluesky.refresh_from_db()
    assert (on_sink.text, on_bluesky.text) == ("v2", "v2 for Bluesky")


def test_it_shows_already_publishing_targets_as_locked(owner_client, cast: Cast, sink: Channel) -> None:
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[sink], text="v1")
    target = post.targets.get()
    PostTarget.objects.filter(pk=target.pk).update(status=S.PUBLISHING)  # the scheduler claimed it
    url = reverse("publishing:post_edit", args=["campaign", target.pk])
    assert "it can no longer be changed" in owner_client.get(url).content.decode()
    response = owner_client.post(url, {"text": "v2", "when": "keep"})
    assert "Already publishing" in response.content.decode()
    target.refresh_from_db()
    assert target.text == "v1"


def test_it_refuses_edits_by_someone_who_is_not_the_author(cast: Cast, sink: Channel) -> None:
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[sink], text="v1")
    target = post.targets.get()
    client = cast.client_for(cast.members["contributor"])
    response = client.post(reverse("publishing:post_edit", args=["campaign", target.pk]), {"text": "mine"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.text == "v1"


# --- media from the library --------------------------------------------------------------------


def test_it_attaches_media_picked_from_the_library_with_alt_text(
    owner_client, cast: Cast, sink: Channel
) -> None:
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from chorus.media.actions import upload
    from chorus.media.models import MediaUsage

    buffer = BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, "PNG")
    asset, _created = upload(cast.workspace, cast.owner, SimpleUploadedFile("tree.png", buffer.getvalue()))
    missing_alt = check(owner_client, [sink], text="x", **{"media-asset": asset.pk, "media-asset-alt": ""})
    assert 'data-field="media.0.alt"' in missing_alt
    response = compose(
        owner_client, [sink], text="A tree", **{"media-asset": asset.pk, "media-asset-alt": "A young oak"}
    )
    assert response.status_code == 302
    target = PostTarget.objects.get()
    assert target.media[0]["media_id"] == asset.pk
    assert (target.media[0]["path"], target.media[0]["alt"]) == (asset.file.name, "A young oak")
    assert MediaUsage.objects.filter(asset=asset, target=target).exists()


def test_it_ignores_library_media_of_another_workspace(owner_client, cast: Cast, sink: Channel) -> None:
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from chorus.media.actions import upload

    buffer = BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    theirs, _created = upload(
        cast.other_workspace, cast.outsider, SimpleUploadedFile("x.png", buffer.getvalue())
    )
    compose(owner_client, [sink], text="x", **{"media-asset": theirs.pk, "media-asset-alt": "alt"})
    assert PostTarget.objects.get().media == []


def test_it_warns_before_saving_when_a_time_would_pass_a_quota(
    owner_client, cast: Cast, mastodon: Channel
) -> None:
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[], text="busy")
    at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    PostTarget.objects.bulk_create(
        PostTarget(workspace=cast.workspace, post=post, channel=mastodon, status=S.SCHEDULED, scheduled_at=at)
        for _ in range(300)
    )
    html = check(owner_client, [mastodon], text="x", when="at", local_time="2026-12-01T10:00")
    assert "NGO on Mastodon: 301 posts within 0:05:00 of this time; Mastodon allows 300 (requests)." in html


def test_it_prefills_the_time_from_a_link(owner_client, sink: Channel) -> None:
    page = owner_client.get(
        reverse("publishing:post_new", args=["campaign"]) + "?at=2026-12-24T18:00&text=Hi"
    )
    html = page.content.decode()
    assert 'value="2026-12-24T18:00"' in html
    assert re.search(r"<input[^>]*value=\"at\"[^>]*checked", html)


# --- the main button and past times ------------------------------------------------------------


def main_button(html: str) -> str:
    found = re.search(r'<button[^>]*id="composer-save"[^>]*>([^<]*)</button>', html)
    assert found is not None, html
    return found.group(1)


def test_the_main_button_says_what_will_happen(owner_client, cast: Cast, sink: Channel) -> None:
    day = dt.date.today() + dt.timedelta(days=30)
    url = reverse("publishing:post_new", args=["campaign"])
    page = owner_client.get(f"{url}?at={day}T10:00").content.decode()
    assert main_button(page) == f"Schedule for {day:%a} {day.day} {day:%b}, 10:00 (Paris)"
    assert 'data-label-at="Schedule for %(time)s (Paris)"' in page  # the script fills the time in
    assert 'data-days="Mon,Tue,Wed,Thu,Fri,Sat,Sun"' in page
    assert main_button(owner_client.get(url).content.decode()) == "Save as draft"
    # Re-shown with an error (no channel chosen), it says what the choice would do.
    assert main_button(compose(owner_client, [], when="now").content.decode()) == "Publish now"
    assert main_button(compose(owner_client, [], when="at").content.decode()) == "Schedule"
    assert main_button(compose(owner_client, [], when="queue").content.decode()) == "Add to the queue"
    contributor = cast.client_for(cast.members["contributor"])
    assert main_button(compose(contributor, [], when="review").content.decode()) == "Submit for review"


def test_the_main_button_speaks_french_with_french_dates(owner_client, sink: Channel, settings) -> None:
    day = dt.date(dt.date.today().year + 1, 12, 16)
    owner_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    url = reverse("publishing:post_new", args=["campaign"])
    page = owner_client.get(f"{url}?at={day}T10:00").content.decode()
    weekday = ["Lun", "Mar", "Mer", "Jeu", "Ven", "Sam", "Dim"][day.weekday()]  # the catalog's
    assert main_button(page) == f"Programmer pour {weekday} 16 déc, 10:00 (Paris)"
    months = re.search(r'data-months="([^"]*)"', page)
    assert months is not None and months.group(1).split(",")[11] == "déc"  # as the server writes it
    assert main_button(compose(owner_client, [], when="now").content.decode()) == "Publier maintenant"


def test_it_refuses_a_past_time_and_offers_publish_now(owner_client, sink: Channel) -> None:
    response = compose(owner_client, [sink], text="Too late", when="at", local_time="2001-01-01T09:00")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mon 1 Jan, 09:00 (Paris) has already passed: choose a later time, or publish now." in html
    assert 'name="publish_now"' in html and 'data-testid="composer-publish-now"' in html
    assert not PostTarget.objects.exists()  # nothing saved, not even a draft held at once

    # The explicit alternative: the same form, sent with "Publish now".
    response = compose(
        owner_client, [sink], text="Too late", when="at", local_time="2001-01-01T09:00", publish_now="1"
    )
    assert response.status_code == 302
    target = PostTarget.objects.get()
    assert target.status == S.SCHEDULED and target.scheduled_at is not None
    assert abs((target.scheduled_at - timezone.now()).total_seconds()) < 60


def test_a_future_time_shows_no_refusal(owner_client, sink: Channel) -> None:
    day = dt.date.today() + dt.timedelta(days=3)
    response = compose(owner_client, [sink], text="Soon", when="at", local_time=f"{day}T10:00")
    assert response.status_code == 302
    assert PostTarget.objects.get().status == S.SCHEDULED


def test_the_post_page_refuses_to_reschedule_into_the_past(owner_client, cast: Cast, sink: Channel) -> None:
    post = actions.create_post(workspace=cast.workspace, author=cast.owner, channels=[sink], text="x")
    target = post.targets.get()
    when = timezone.now() + dt.timedelta(days=2)
    actions.schedule(target, actor=cast.owner, when=when)
    url = reverse("publishing:target_action", args=["campaign", target.pk])
    response = owner_client.post(url, {"action": "reschedule", "local_time": "2001-01-01T09:00"}, follow=True)
    assert "has already passed: choose a later time, or publish now." in response.content.decode()
    target.refresh_from_db()
    assert target.scheduled_at == when


# --- campaign and tags -------------------------------------------------------------------------


def test_it_files_the_post_in_a_campaign_with_tags(owner_client, cast: Cast, sink: Channel) -> None:
    from chorus.content.models import Campaign, Post, Tag

    spring = Campaign.objects.create(workspace=cast.workspace, name="Spring fair", slug="spring-fair")
    Tag.objects.create(workspace=cast.workspace, name="volunteers")
    response = compose(owner_client, [sink], campaign=spring.pk, tags="volunteers, Fair ,, volunteers")
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.campaign == spring
    assert sorted(post.tags.values_list("name", flat=True)) == ["Fair", "volunteers"]
    assert Tag.objects.filter(workspace=cast.workspace).count() == 2  # "Fair" is new, "volunteers" reused
    event = AuditEvent.objects.get(action="post.filed", object_id=str(post.pk))
    assert event.data["tags"] == {"before": [], "after": ["Fair", "volunteers"]}

    # Editing shows them, and can take the post out of its campaign.
    target = post.targets.get()
    url = reverse("publishing:post_edit", args=["campaign", target.pk])
    html = owner_client.get(url).content.decode()
    assert re.search(rf'<option value="{spring.pk}" selected>Spring fair</option>', html)
    assert 'value="Fair, volunteers"' in html and '<option value="volunteers">' in html
    assert owner_client.post(url, {"text": "Hello", "when": "keep", "tags": "Fair"}).status_code == 302
    post.refresh_from_db()
    assert post.campaign is None and list(post.tags.values_list("name", flat=True)) == ["Fair"]


def test_it_refuses_a_campaign_of_another_workspace(owner_client, cast: Cast, sink: Channel) -> None:
    from chorus.accounts.models import Workspace
    from chorus.content.models import Campaign

    other = Workspace.objects.exclude(pk=cast.workspace.pk).first()
    assert other is not None
    theirs = Campaign.objects.create(workspace=other, name="Theirs", slug="theirs")
    response = compose(owner_client, [sink], campaign=theirs.pk)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not PostTarget.objects.exists()
