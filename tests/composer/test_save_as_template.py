"""“Save as template” in the composer (issue 16, item 3): the text, link, each ticked channel's
own text and options, campaign and tags become a template through chorus.publishing.post_templates
(checked, audited); the post itself is not saved; starting from that template ticks those
channels with their own text."""

from __future__ import annotations

import pytest

from chorus.channels.models import Channel
from chorus.content.models import Campaign, Post, PostTemplate
from chorus.core.models import AuditEvent
from chorus.core.refusals import Invalid
from chorus.publishing import post_templates
from tests.conftest import Cast

NEW = "/w/campaign/posts/new/"


def test_the_composer_saves_its_draft_as_a_template_and_a_post_starts_from_it(
    owner_client, cast: Cast, bluesky: Channel, mastodon: Channel
) -> None:
    water = Campaign.objects.create(workspace=cast.workspace, name="Water", slug="water")
    response = owner_client.post(
        NEW,
        {
            "channels": [bluesky.pk, mastodon.pk],
            "text": "Rivers week starts Monday",
            "link": "https://example.org/rivers",
            f"c{mastodon.pk}-text": "Rivers week: the long version for Mastodon",
            f"c{mastodon.pk}-spoiler_text": "floods",
            "campaign": str(water.pk),
            "tags": "rivers, week",
            "when": "draft",
            "template_name": "Rivers week",
            "save_template": "1",
        },
    )
    assert response.status_code == 200
    assert "Template “Rivers week” saved" in response.content.decode()
    assert "Rivers week: the long version for Mastodon" in response.content.decode()  # kept on the page
    assert not Post.objects.filter(workspace=cast.workspace).exists()
    template = PostTemplate.objects.get(workspace=cast.workspace)
    assert (template.kind, template.name, template.text, template.link) == (
        "template",
        "Rivers week",
        "Rivers week starts Monday",
        "https://example.org/rivers",
    )
    assert template.channel_texts == {str(mastodon.pk): "Rivers week: the long version for Mastodon"}
    assert template.options == {"mastodon": {"spoiler_text": "floods"}}
    assert (template.campaign, template.tags) == (water, "rivers, week")
    assert AuditEvent.objects.filter(action="post_template.created", actor=cast.owner).count() == 1

    page = owner_client.get(f"{NEW}?template={template.pk}").content.decode()
    assert f'value="{mastodon.pk}" data-channel="{mastodon.pk}" checked' in page
    assert f'value="{bluesky.pk}" data-channel="{bluesky.pk}" checked' not in page
    assert ">Rivers week: the long version for Mastodon</textarea>" in page
    assert 'value="floods"' in page


def test_a_template_without_a_name_is_not_saved_and_says_why(
    owner_client, cast: Cast, bluesky: Channel
) -> None:
    response = owner_client.post(
        NEW,
        {
            "channels": [bluesky.pk],
            "text": "Hello",
            "when": "draft",
            "template_name": " ",
            "save_template": "1",
        },
    )
    assert response.status_code == 200
    assert "Template not saved: Give it a name." in response.content.decode()
    assert not PostTemplate.objects.exists() and not Post.objects.exists()


def test_the_template_form_keeps_the_channel_texts_it_does_not_show(cast: Cast, bluesky: Channel) -> None:
    template = post_templates.create(
        cast.workspace,
        post_templates.TemplateValues(kind="template", name="T", text="x", channel_texts={bluesky.pk: "own"}),
        actor=cast.owner,
    )
    post_templates.change(
        template, post_templates.TemplateValues(kind="template", name="T", text="y"), actor=cast.owner
    )
    template.refresh_from_db()
    assert (template.text, template.channel_texts) == ("y", {str(bluesky.pk): "own"})


def test_a_channel_of_another_workspace_is_refused(cast: Cast) -> None:
    theirs = Channel.objects.create(workspace=cast.other_workspace, kind="sink", name="Theirs")
    with pytest.raises(Invalid) as refused:
        post_templates.create(
            cast.workspace,
            post_templates.TemplateValues(
                kind="template", name="T", text="x", channel_texts={theirs.pk: "own"}
            ),
            actor=cast.owner,
        )
    assert refused.value.fields == {"channel_texts": "No such channel in this workspace."}
    assert not PostTemplate.objects.exists()
