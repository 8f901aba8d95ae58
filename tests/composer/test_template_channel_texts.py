"""The template form shows and edits a template's own text per channel (saved from the composer's
tabs): one field per channel with its name and the composer's counter (the copy as it will read:
its text, the link, the channel's signature, counted as its network counts), saved through
chorus.publishing.post_templates (checked, audited) within size budgets."""

from __future__ import annotations

from django.test import Client

from chorus.channels.models import Channel
from chorus.content.models import PostTemplate
from chorus.core.models import AuditEvent
from chorus.publishing import post_templates, writing_rules
from tests.conftest import Cast

LINK = "https://example.org/" + "long-path/" * 10  # 120 characters; Mastodon counts any link as 23


def _template(cast: Cast, **channel_texts: str) -> PostTemplate:
    return post_templates.create(
        cast.workspace,
        post_templates.TemplateValues(
            kind=PostTemplate.Kind.TEMPLATE,
            name="Weekly",
            text="Main words",
            link=LINK,
            channel_texts={int(k[1:]): v for k, v in channel_texts.items()},
        ),
        actor=cast.owner,
    )


def _edit_url(template: PostTemplate) -> str:
    return f"/w/campaign/templates/{template.pk}/edit/"


def _form(template: PostTemplate, **fields: str) -> dict[str, str]:
    return {"name": template.name, "text": template.text, "link": template.link, **fields}


def test_the_form_shows_each_channels_own_text_with_its_counter(
    owner_client: Client, cast: Cast, mastodon: Channel, sink: Channel
) -> None:
    writing_rules.save_rules(
        cast.workspace,
        actor=cast.owner,
        banned_words=[],
        signatures={mastodon.pk: "— Team"},
        campaign_hashtags={},
    )
    template = _template(cast, **{f"c{mastodon.pk}": "Toot words"})
    page = owner_client.get(_edit_url(template)).content.decode()
    assert (
        f'<label for="ct-{mastodon.pk}">Text for NGO on Mastodon <span class="muted">Mastodon</span></label>'
        in page
    )
    assert f'name="ct-{mastodon.pk}"' in page and ">Toot words</textarea>" in page
    assert f'<label for="ct-{sink.pk}">Text for Sink' in page
    # "Toot words\n\n<link>\n\n— Team": 10 + 2 + 23 (Mastodon's link) + 2 + 6 = 43, of the
    # instance's 100; Sink counts characters: "Main words\n\n<link>" = 10 + 2 + 120 = 132.
    assert f'id="count-ct-{mastodon.pk}" data-counter>43 characters / 100</p>' in page
    assert f'id="count-ct-{sink.pk}" data-counter>132 characters' in page


def test_editing_the_own_texts_saves_them_audited_and_an_empty_one_is_dropped(
    owner_client: Client, cast: Cast, mastodon: Channel, sink: Channel
) -> None:
    template = _template(cast, **{f"c{mastodon.pk}": "Toot words"})
    response = owner_client.post(
        _edit_url(template), _form(template, **{f"ct-{mastodon.pk}": "", f"ct-{sink.pk}": "Sink words"})
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.channel_texts == {str(sink.pk): "Sink words"}
    event = AuditEvent.objects.get(action="post_template.changed")
    assert (event.actor, event.data["fields"]) == (cast.owner, ["channel_texts"])
    # Saved again unchanged: nothing to audit.
    owner_client.post(_edit_url(template), _form(template, **{f"ct-{sink.pk}": "Sink words"}))
    assert AuditEvent.objects.filter(action="post_template.changed").count() == 1


def test_a_text_over_the_budget_is_refused_with_its_field_and_nothing_is_lost(
    owner_client: Client, cast: Cast, mastodon: Channel, sink: Channel
) -> None:
    template = _template(cast, **{f"c{mastodon.pk}": "Toot words"})
    too_long = "x" * (post_templates.MAX_TEXT + 1)
    response = owner_client.post(
        _edit_url(template), _form(template, **{f"ct-{mastodon.pk}": "Kept", f"ct-{sink.pk}": too_long})
    )
    assert response.status_code == 200  # the form again, with its errors
    page = response.content.decode()
    assert f'<p class="errorlist" id="err-ct-{sink.pk}">At most 5000 characters.</p>' in page
    assert ">Kept</textarea>" in page  # what was typed is shown again
    template.refresh_from_db()
    assert template.channel_texts == {str(mastodon.pk): "Toot words"}
    # The whole form has a budget too.
    huge = owner_client.post(_edit_url(template), _form(template, text="y" * 100_000))
    assert huge.status_code == 413
    template.refresh_from_db()
    assert template.text == "Main words"


def test_the_own_texts_together_have_a_budget(cast: Cast, sink: Channel) -> None:
    from chorus.channels.actions import connect_channel
    from chorus.core.refusals import Invalid

    channels = [sink] + [
        connect_channel(
            workspace=cast.workspace,
            kind="sink",
            name=f"Sink {n}",
            config={},
            credentials={},
            actor=cast.owner,
        )
        for n in range(10)
    ]
    values = post_templates.TemplateValues(
        kind=PostTemplate.Kind.TEMPLATE,
        name="Big",
        channel_texts={c.pk: "z" * post_templates.MAX_TEXT for c in channels},  # 11 × 5,000
    )
    try:
        post_templates.create(cast.workspace, values, actor=cast.owner)
    except Invalid as exc:
        assert exc.fields == {
            "channel_texts": "The channels' own texts are at most 50000 characters together."
        }
    else:
        raise AssertionError("55,000 characters of own texts were accepted")
    assert not PostTemplate.objects.exists()


def test_another_workspaces_channel_is_refused(cast: Cast) -> None:
    from chorus.core.refusals import Invalid

    theirs = Channel.objects.create(workspace=cast.other_workspace, kind="sink", name="Theirs")
    values = post_templates.TemplateValues(kind="template", name="X", channel_texts={theirs.pk: "Hi"})
    try:
        post_templates.create(cast.workspace, values, actor=cast.owner)
    except Invalid as exc:
        assert exc.fields == {"channel_texts": "No such channel in this workspace."}
    else:
        raise AssertionError("another workspace's channel was accepted")


def test_the_counters_follow_the_typing(owner_client: Client, cast: Cast, mastodon: Channel) -> None:
    response = owner_client.post(
        "/w/campaign/templates/counters/", {"text": "Main", "link": "", f"ct-{mastodon.pk}": "é" * 120}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<p class="counter over" id="count-ct-{mastodon.pk}" data-counter hx-swap-oob="true">' in page
    assert "120 characters / 100 — too long for this network</p>" in page
    assert owner_client.get("/w/campaign/templates/counters/").status_code == 405


def test_a_snippet_has_no_own_texts(owner_client: Client, cast: Cast, mastodon: Channel) -> None:
    page = owner_client.get("/w/campaign/templates/new/?kind=snippet").content.decode()
    assert "ct-" not in page and "Own text per channel" not in page
    page = owner_client.get("/w/campaign/templates/new/").content.decode()
    assert f'name="ct-{mastodon.pk}"' in page


def test_the_api_reads_and_writes_the_own_texts(client: Client, cast: Cast, mastodon: Channel) -> None:
    from tests.composer.test_post_templates import _api

    api = _api(client, cast.owner)
    created = api(
        "post",
        "/api/workspaces/campaign/templates",
        {"name": "Weekly", "text": "Main", "channel_texts": {str(mastodon.pk): "Toot words"}},
    )
    assert created.status_code == 201, created.content
    url = f"/api/workspaces/campaign/templates/{created.json()['id']}"
    assert api("get", url).json()["channel_texts"] == {str(mastodon.pk): "Toot words"}
    # Left out: kept. Sent empty: cleared.
    assert api("put", url, {"name": "Weekly", "text": "Other"}).json()["channel_texts"] == {
        str(mastodon.pk): "Toot words"
    }
    assert api("put", url, {"name": "Weekly", "channel_texts": {}}).json()["channel_texts"] == {}
    refused = api("put", url, {"name": "Weekly", "channel_texts": {str(mastodon.pk): "x" * 5001}})
    assert refused.status_code == 422
    assert refused.json()["fields"] == {f"channel_texts.{mastodon.pk}": "At most 5000 characters."}
