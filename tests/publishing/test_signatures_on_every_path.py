"""A channel's signature (the workspace's writing rules) ends every copy written for that channel,
once, on every path that writes a copy's text: create, the edit screen, the API's PATCH, the bulk
import, a template's start, a recurrence's occurrences. An edit that keeps the signature does not
get a second one; an edit that removes it gets it back (chorus.publishing.writing_rules.signed)."""

from __future__ import annotations

import datetime as dt

import pytest

from chorus.bulk import actions as bulk
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import PostTarget, PostTemplate, Recurrence
from chorus.publishing import actions, post_templates, recurrence, writing_rules
from tests.conftest import Cast
from tests.publishing.conftest import make_target
from tests.publishing.test_api_rules import _api

SIG = "— The Rivers team https://rivers.example/about"


@pytest.fixture
def plain_channel(cast: Cast) -> Channel:
    """A second channel, without a signature."""
    return connect_channel(
        workspace=cast.workspace, kind="sink", name="Plain", config={}, credentials={}, actor=cast.owner
    )


@pytest.fixture
def signed_rules(cast: Cast, sink_channel: Channel) -> None:
    writing_rules.save_rules(
        cast.workspace,
        actor=cast.owner,
        banned_words=[],
        signatures={sink_channel.pk: SIG},
        campaign_hashtags={},
    )


def _text(target: PostTarget) -> str:
    return PostTarget.objects.get(pk=target.pk).text


def test_sign_recognises_its_signature_across_line_ends_and_shortened_links() -> None:
    body = "Hello"
    signed = writing_rules.sign(body, SIG)
    assert signed == f"Hello\n\n{SIG}"
    # A browser sends CRLF; a scheduled copy's link became a short link with UTM parameters.
    as_typed = "Hello\r\n\r\n— The Rivers  team\r\nhttps://chorus.example/l/Ab3?utm_source=x"
    assert writing_rules.sign(as_typed, SIG) == as_typed
    assert writing_rules.unsign(as_typed, SIG) == "Hello"
    assert writing_rules.unsign(signed, SIG) == "Hello"
    # Not the signature: a different word, or the signature in the middle of the text.
    assert writing_rules.sign("Hello — The Rivers crew https://rivers.example/about", SIG).endswith(
        f"\n\n{SIG}"
    )
    assert writing_rules.sign(f"{SIG}\n\nP.S. hi", SIG).count("Rivers team") == 2
    assert writing_rules.unsign("Hello", SIG) == "Hello"


def test_create_signs_each_channel_once(
    cast: Cast, sink_channel: Channel, plain_channel: Channel, signed_rules
):
    post = actions.create_post(
        workspace=cast.workspace,
        author=cast.owner,
        channels=[sink_channel, plain_channel],
        text="Hello",
        per_channel_text={sink_channel.pk: f"Hello\n\n{SIG}"},  # typed with it already
    )
    texts = {t.channel_id: t.text for t in post.targets.all()}
    assert texts == {sink_channel.pk: f"Hello\n\n{SIG}", plain_channel.pk: "Hello"}


def test_the_api_patch_keeps_one_signature_and_restores_a_removed_one(
    client, cast: Cast, sink_channel: Channel, signed_rules
):
    target = make_target(cast, sink_channel, text="First")
    assert _text(target) == f"First\n\n{SIG}"
    api = _api(client, cast.members["admin"])
    url = f"/api/workspaces/{cast.workspace.slug}/targets/{target.pk}"
    # A new text without the signature: it is added.
    response = api("patch", url, {"text": "Second"})
    assert response.status_code == 200, response.content
    assert response.json()["text"] == f"Second\n\n{SIG}"
    # The text sent back as read (with the signature): no second one.
    response = api("patch", url, {"text": response.json()["text"] + "\n"})
    assert response.json()["text"].count("Rivers team") == 1
    # The signature deleted by hand: it comes back.
    response = api("patch", url, {"text": "Third, unsigned"})
    assert response.json()["text"] == f"Third, unsigned\n\n{SIG}"
    assert _text(target) == f"Third, unsigned\n\n{SIG}"


def test_the_edit_screen_shows_the_body_and_signs_the_saved_text_once(
    cast: Cast, sink_channel: Channel, plain_channel: Channel, signed_rules, owner_client
):
    post = actions.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[sink_channel, plain_channel], text="Body"
    )
    target = post.targets.get(channel=sink_channel)
    url = f"/w/{cast.workspace.slug}/targets/{target.pk}/edit/"
    page = owner_client.get(url).content.decode()
    # The copies differ only by the signature: one main text, no channel's own text.
    assert '<textarea name="text"' in page and ">\nBody</textarea>" in page
    assert (
        f'id="c{sink_channel.pk}-text" rows="5" data-own-text placeholder="Same as the main text"></textarea>'
        in page
    )
    assert "Rivers team" in page  # in the channel's preview
    form = {"title": "", "when": "keep", f"c{sink_channel.pk}-text": "", f"c{plain_channel.pk}-text": ""}
    response = owner_client.post(url, {**form, "text": "Body, edited"})
    assert response.status_code == 302, response.content.decode()[:2000]
    texts = dict(PostTarget.objects.filter(post=post).values_list("channel_id", "text"))
    assert texts == {sink_channel.pk: f"Body, edited\n\n{SIG}", plain_channel.pk: "Body, edited"}
    # The signature typed by hand in the channel's own text (CRLF, as a browser sends it): once.
    own = f"Own words\r\n\r\n{SIG}"
    owner_client.post(url, {**form, "text": "Body, edited", f"c{sink_channel.pk}-text": own})
    assert _text(target) == own
    # Its own text without the signature: it comes back.
    owner_client.post(url, {**form, "text": "Body, edited", f"c{sink_channel.pk}-text": "Own words"})
    assert _text(target) == f"Own words\n\n{SIG}"


def test_a_template_start_signs_the_copy_once(
    cast: Cast, sink_channel: Channel, plain_channel: Channel, signed_rules, owner_client
):
    template = post_templates.create(
        cast.workspace,
        post_templates.TemplateValues(
            kind=PostTemplate.Kind.TEMPLATE,
            name="Weekly",
            text="From the template",
            channel_texts={sink_channel.pk: f"Sink words\n\n{SIG}", plain_channel.pk: "Plain words"},
        ),
        actor=cast.owner,
    )
    page = owner_client.get(f"/w/{cast.workspace.slug}/posts/new/?template={template.pk}").content.decode()
    assert "Sink words" in page
    response = owner_client.post(
        f"/w/{cast.workspace.slug}/posts/new/",
        {
            "title": "",
            "text": "From the template",
            "channels": [sink_channel.pk, plain_channel.pk],
            f"c{sink_channel.pk}-text": f"Sink words\n\n{SIG}",
            f"c{plain_channel.pk}-text": "Plain words",
            "when": "draft",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    texts = dict(PostTarget.objects.filter(workspace=cast.workspace).values_list("channel_id", "text"))
    assert texts == {sink_channel.pk: f"Sink words\n\n{SIG}", plain_channel.pk: "Plain words"}


def test_an_import_row_that_carries_the_signature_is_signed_once(
    cast: Cast, sink_channel: Channel, signed_rules
):
    year = dt.date.today().year + 1
    data = (
        "date,channels,text\n"
        f'{year}-05-01 09:00,Sink,"Signed already\n\n{SIG}"\n'
        f"{year}-05-02 09:00,Sink,Not signed\n"
    )
    job = bulk.create_job(cast.workspace, actor=cast.owner, data=data.encode(), filename="f.csv")
    bulk.check(job.pk)
    bulk.begin_import(bulk.ImportJob.objects.get(pk=job.pk), actor=cast.owner)
    texts = list(
        PostTarget.objects.filter(workspace=cast.workspace)
        .order_by("scheduled_at")
        .values_list("text", flat=True)
    )
    assert texts == [f"Signed already\n\n{SIG}", f"Not signed\n\n{SIG}"]


def test_a_recurrence_copies_carry_the_signature_once(cast: Cast, sink_channel: Channel):
    # Written before the channel had a signature: its occurrences get it.
    template = make_target(cast, sink_channel, text="Every day")
    actions.submit_for_review(template, actor=cast.members["editor"])
    actions.approve(template, actor=cast.members["approver"])
    writing_rules.save_rules(
        cast.workspace,
        actor=cast.owner,
        banned_words=[],
        signatures={sink_channel.pk: SIG},
        campaign_hashtags={},
    )
    rec = Recurrence.objects.create(
        workspace=cast.workspace,
        template=template,
        rrule="FREQ=DAILY",
        timezone="UTC",
        starts_local=Recurrence.wall(dt.datetime(2026, 5, 1, 9, 0)),
    )
    created = recurrence.generate(rec, now=dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC))
    assert created
    assert {_text(t) for t in created} == {f"Every day\n\n{SIG}"}
