"""Workspace writing rules (issue 16, item 3): banned words and a campaign's hashtag are problems
of the one rule engine (chorus.publishing.rules) the composer, the API and the import ask; a
channel's signature ends each of its copies once; the rules screen saves them, audited, and
refuses what is too long or not a hashtag."""

from __future__ import annotations

import datetime as dt

import pytest

from chorus.channels.models import Channel
from chorus.content.models import Campaign, Post, WorkspaceRules
from chorus.core.models import AuditEvent
from chorus.core.refusals import Invalid
from chorus.publishing import actions, composer, rules, writing_rules
from tests.conftest import Cast
from tests.publishing.test_api_rules import POSTS, _api, _channel


@pytest.fixture
def bluesky(cast: Cast) -> Channel:
    return _channel(cast, "bluesky", "NGO on Bluesky", {"handle": "ngo.bsky.social", "did": "did:plc:x"})


@pytest.fixture
def sink(cast: Cast) -> Channel:
    return _channel(cast, "sink", "Sink", {})


@pytest.fixture
def water(cast: Cast) -> Campaign:
    return Campaign.objects.create(workspace=cast.workspace, name="Water", slug="water")


def _draft(text: str, *channels: Channel, campaign: Campaign | None = None, signatures=None):
    return composer.Draft(
        title="",
        text=text,
        link="",
        media=[],
        channels=[composer.ChannelDraft(c, "", {}) for c in channels],
        campaign_id=campaign.pk if campaign else None,
        signatures=signatures or {},
    )


def test_banned_words_match_whole_words_whatever_the_case() -> None:
    words = ["free", "miracle cure"]
    assert writing_rules.banned_in("FREE entry! A Miracle  cure", words) == ["free"]
    assert writing_rules.banned_in("Free entry, a miracle cure.", words) == ["free", "miracle cure"]
    assert writing_rules.banned_in("Freedom of movement", words) == []
    assert writing_rules.carries("Join us #RiversWeek!", "#riversweek")
    assert not writing_rules.carries("Join us #RiversWeekend", "#RiversWeek")


def test_a_signature_is_added_once_and_never_to_an_empty_copy() -> None:
    assert writing_rules.sign("Hello", "— Rivers") == "Hello\n\n— Rivers"
    assert writing_rules.sign("Hello\n\n— Rivers\n", "— Rivers") == "Hello\n\n— Rivers\n"
    assert writing_rules.sign("  ", "— Rivers") == "  "
    assert writing_rules.sign("Hello", "") == "Hello"


def test_the_composer_names_a_banned_word_and_a_missing_hashtag_on_the_channel(
    cast: Cast, bluesky: Channel, sink: Channel, water: Campaign
) -> None:
    writing_rules.save_rules(
        cast.workspace,
        actor=cast.owner,
        banned_words=["guaranteed", ""],
        signatures={},
        campaign_hashtags={water.pk: "RiversWeek"},
    )
    checks = composer.check_draft(
        _draft("Results guaranteed.", bluesky, sink, campaign=water), cast.workspace
    )
    for check in checks:
        assert [(p.field, p.code, p.message) for p in check.problems] == [
            ("text", "banned_word", "“guaranteed” is a banned word in this workspace."),
            ("text", "required_hashtag", "Posts of the campaign Water must carry #RiversWeek."),
        ]
    (fine,) = composer.check_draft(_draft("Results. #RiversWeek", sink, campaign=water), cast.workspace)
    assert fine.problems == []
    # No campaign: no hashtag asked.
    (free,) = composer.check_draft(_draft("Results.", sink), cast.workspace)
    assert free.problems == []


def test_without_rules_nothing_is_asked(cast: Cast, sink: Channel) -> None:
    post = actions.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[sink], text="guaranteed"
    )
    assert rules.writing_problems(post.targets.get()) == []


def test_the_api_refuses_a_banned_word_with_422_and_creates_nothing(
    client, cast: Cast, sink: Channel, water: Campaign
) -> None:
    writing_rules.save_rules(
        cast.workspace,
        actor=cast.owner,
        banned_words=["guaranteed"],
        signatures={},
        campaign_hashtags={water.pk: "#RiversWeek"},
    )
    api = _api(client, cast.members["admin"])
    body = {"text": "Results GUARANTEED", "channel_ids": [sink.pk], "schedule": {"mode": "now"}}
    response = api("post", POSTS, body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "banned_word"
    assert response.json()["message"] == "“guaranteed” is a banned word in this workspace."
    assert response.json()["fields"] == {
        f"channels.{sink.pk}.text": "banned_word: “guaranteed” is a banned word in this workspace."
    }
    assert not Post.objects.filter(workspace=cast.workspace).exists()
    # The campaign's hashtag, by API too.
    response = api("post", POSTS, {**body, "text": "Results", "campaign_id": water.pk})
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "required_hashtag"
    response = api("post", POSTS, {**body, "text": "Results #RiversWeek", "campaign_id": water.pk})
    assert response.status_code == 201, response.content


def test_a_channel_signature_ends_its_copies_in_preview_and_when_saved(
    client, cast: Cast, bluesky: Channel, sink: Channel
) -> None:
    writing_rules.save_rules(
        cast.workspace,
        actor=cast.owner,
        banned_words=[],
        signatures={sink.pk: "— The Rivers team"},
        campaign_hashtags={},
    )
    signatures = composer.signatures_of(cast.workspace)
    checks = {
        c.channel.pk: c
        for c in composer.check_draft(_draft("Hello", bluesky, sink, signatures=signatures), cast.workspace)
    }
    assert checks[sink.pk].text == "Hello\n\n— The Rivers team"
    assert checks[bluesky.pk].text == "Hello"
    api = _api(client, cast.members["admin"])
    response = api(
        "post", POSTS, {"text": "Hello", "channel_ids": [bluesky.pk, sink.pk], "schedule": {"mode": "draft"}}
    )
    assert response.status_code == 201, response.content
    texts = {t["channel_id"]: t["text"] for t in response.json()["targets"]}
    assert texts == {bluesky.pk: "Hello", sink.pk: "Hello\n\n— The Rivers team"}


def test_the_rules_screen_saves_audited_and_refuses_what_is_not_a_hashtag(
    client, cast: Cast, sink: Channel, water: Campaign
) -> None:
    url = f"/w/{cast.workspace.slug}/writing-rules/"
    client.force_login(cast.owner)
    response = client.post(
        url + "save/",
        {
            "banned_words": "free\nFree\n  miracle   cure \n",
            f"signature-{sink.pk}": "— Rivers",
            f"hashtag-{water.pk}": "#RiversWeek",
        },
    )
    assert response.status_code == 302
    saved = WorkspaceRules.objects.get(workspace=cast.workspace)
    assert saved.banned_words == ["free", "miracle cure"]
    assert saved.signatures == {str(sink.pk): "— Rivers"}
    assert saved.campaign_hashtags == {str(water.pk): "#RiversWeek"}
    event = AuditEvent.objects.get(action="workspace.writing_rules_changed")
    assert event.actor == cast.owner and event.workspace == cast.workspace
    page = client.get(url).content.decode()
    assert "miracle cure" in page and "— Rivers" in page and 'value="#RiversWeek"' in page

    refused = client.post(url + "save/", {"banned_words": "free", f"hashtag-{water.pk}": "#Rivers Week"})
    assert refused.status_code == 422
    assert "is not a hashtag" in refused.content.decode()
    assert WorkspaceRules.objects.get(workspace=cast.workspace).campaign_hashtags == {
        str(water.pk): "#RiversWeek"
    }
    with pytest.raises(Invalid):
        writing_rules.save_rules(
            cast.workspace, actor=cast.owner, banned_words=["x" * 61], signatures={}, campaign_hashtags={}
        )


def test_a_contributor_reads_the_rules_but_cannot_change_them(client, cast: Cast) -> None:
    url = f"/w/{cast.workspace.slug}/writing-rules/"
    contributor = cast.members["editor"]
    client.force_login(contributor)
    assert client.get(url).status_code == 200
    assert client.post(url + "save/", {"banned_words": "free"}).status_code == 403
    assert not WorkspaceRules.objects.filter(workspace=cast.workspace).exists()


def test_another_workspaces_channel_cannot_carry_a_signature(cast: Cast) -> None:
    theirs = Channel.objects.create(workspace=cast.other_workspace, kind="sink", name="Theirs")
    with pytest.raises(Invalid):
        writing_rules.save_rules(
            cast.workspace,
            actor=cast.owner,
            banned_words=[],
            signatures={theirs.pk: "x"},
            campaign_hashtags={},
        )
    assert not WorkspaceRules.objects.exists()


def test_an_import_refuses_a_banned_word_and_signs_the_copies_it_creates(cast: Cast, sink: Channel) -> None:
    from chorus.bulk import actions as bulk
    from chorus.content.models import PostTarget

    writing_rules.save_rules(
        cast.workspace,
        actor=cast.owner,
        banned_words=["guaranteed"],
        signatures={sink.pk: "— Rivers"},
        campaign_hashtags={},
    )
    year = dt.date.today().year + 1
    data = f"date,channels,text\n{year}-05-01 09:00,Sink,Good one\n{year}-05-02 09:00,Sink,Guaranteed!\n"
    job = bulk.create_job(
        cast.workspace,
        actor=cast.owner,
        data=data.encode(),
        filename="f.csv",
        date_order="iso",
        default_channels=[],
    )
    job = bulk.check(job.pk)
    rows = {r["row"]: r for r in job.report["rows"]}
    assert rows[2]["status"] == "ok"
    assert rows[3]["errors"] == [
        {"column": "text", "reason": "Sink: “guaranteed” is a banned word in this workspace."}
    ]
    bulk.begin_import(job, actor=cast.owner)
    bulk.import_rows(job.pk)
    assert list(PostTarget.objects.filter(workspace=cast.workspace).values_list("text", flat=True)) == [
        "Good one\n\n— Rivers"
    ]
