"""Templates and snippets: saved through their screens and the API, checked (names, sizes,
declared options only), audited, scoped to their workspace, and offered by the composer."""

from __future__ import annotations

import json

from django.test import Client

from chorus.accounts.models import ApiToken
from chorus.channels.models import Channel
from chorus.content.models import Campaign, PostTemplate
from chorus.core.models import AuditEvent
from tests.conftest import Cast

NEW = "/w/campaign/templates/new/"


def _api(client: Client, user):  # type: ignore[no-untyped-def]
    _token, raw = ApiToken.issue(user, "test")
    return lambda method, url, body=None: getattr(client, method)(
        url,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


def test_it_saves_a_template_with_options_campaign_and_tags_and_audits_it(
    owner_client: Client, cast: Cast, mastodon: Channel
) -> None:
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Spring", slug="spring")
    form = owner_client.get(NEW)
    assert form.status_code == 200
    assert b'name="o-mastodon-visibility"' in form.content  # the options Mastodon's connector declares
    response = owner_client.post(
        NEW,
        {
            "name": "Event announcement",
            "text": "Join us on {date}!",
            "link": "https://example.org/events",
            "campaign": str(campaign.pk),
            "tags": "events, spring ,",
            "o-mastodon-visibility": "unlisted",
            "o-mastodon-spoiler_text": "",
        },
    )
    assert response.status_code == 302
    template = PostTemplate.objects.get(workspace=cast.workspace)
    assert (template.kind, template.name, template.link) == (
        "template",
        "Event announcement",
        "https://example.org/events",
    )
    assert template.options == {"mastodon": {"visibility": "unlisted"}}
    assert (template.campaign, template.tag_list) == (campaign, ["events", "spring"])
    event = AuditEvent.objects.get(action="post_template.created")
    assert (event.actor, event.object_id, event.data["name"]) == (
        cast.owner,
        str(template.pk),
        "Event announcement",
    )
    listing = owner_client.get("/w/campaign/templates/")
    assert b"Event announcement" in listing.content and b"?template=" in listing.content


def test_the_composer_starts_from_a_template_and_offers_snippets(
    owner_client: Client, cast: Cast, mastodon: Channel, sink: Channel
) -> None:
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Spring", slug="spring")
    template = PostTemplate.objects.create(
        workspace=cast.workspace,
        name="Event",
        text="Open day at the harbour",
        link="https://example.org/open-day",
        options={"mastodon": {"visibility": "unlisted"}},
        campaign=campaign,
        tags="events, harbour",
    )
    PostTemplate.objects.create(
        workspace=cast.workspace, kind="snippet", name="Sign-off", text='— The team <b>"NGO"</b>'
    )
    page = owner_client.get(f"/w/campaign/posts/new/?template={template.pk}").content.decode()
    assert "Open day at the harbour</textarea>" in page
    assert 'value="https://example.org/open-day"' in page
    assert f'<option value="{campaign.pk}" selected>' in page
    assert 'value="events, harbour"' in page
    assert '<option value="unlisted" selected>' in page  # the Mastodon channel's option
    assert 'id="template-used"' in page
    # The snippet is a button carrying its text, escaped.
    assert 'data-snippet="— The team &lt;b&gt;&quot;NGO&quot;&lt;/b&gt;"' in page
    assert "<b>" not in page.split('id="composer-kit"')[1].split("</div>")[0]


def test_another_workspace_cannot_see_use_or_change_a_template(cast: Cast, owner_client: Client) -> None:
    theirs = PostTemplate.objects.create(workspace=cast.other_workspace, name="Secret", text="Not yours")
    assert owner_client.get(f"/w/campaign/posts/new/?template={theirs.pk}").status_code == 404
    assert owner_client.get(f"/w/campaign/templates/{theirs.pk}/edit/").status_code == 404
    assert owner_client.post(f"/w/campaign/templates/{theirs.pk}/delete/").status_code == 404
    assert b"Secret" not in owner_client.get("/w/campaign/templates/").content
    outsider = cast.client_for(cast.outsider)
    assert outsider.get("/w/campaign/templates/").status_code in (403, 404)
    assert PostTemplate.objects.filter(pk=theirs.pk).exists()


def test_bad_input_gets_an_error_per_field(owner_client: Client, cast: Cast) -> None:
    PostTemplate.objects.create(workspace=cast.workspace, kind="snippet", name="Hashtags", text="#a")
    empty = owner_client.post(NEW + "?kind=snippet", {"name": "Empty", "text": "  "})
    assert empty.status_code == 200  # the form again, with its errors
    assert b"A snippet needs text to insert." in empty.content
    taken = owner_client.post(NEW + "?kind=snippet", {"name": "Hashtags", "text": "#b"})
    assert taken.status_code == 200  # the form again, with its errors
    assert b"Another one of this kind already has this name." in taken.content
    assert b'value="Hashtags"' in taken.content  # what was typed is kept
    long = owner_client.post(NEW, {"name": "Long", "text": "x" * 5001})
    assert b"At most 5000 characters." in long.content
    bad_link = owner_client.post(NEW, {"name": "Link", "text": "Hi", "link": "javascript:alert(1)"})
    assert b"Enter a link starting with http:// or https://." in bad_link.content
    # The same name as a template is fine: names are unique per kind.
    assert owner_client.post(NEW, {"name": "Hashtags", "text": "#c"}).status_code == 302
    assert PostTemplate.objects.filter(workspace=cast.workspace).count() == 2


def test_only_the_author_or_an_editor_changes_or_deletes_it(cast: Cast) -> None:
    contributor = cast.members["contributor"]
    template = PostTemplate.objects.create(
        workspace=cast.workspace, name="Owner's", text="Original", created_by=cast.owner
    )
    as_contributor = cast.client_for(contributor)
    as_contributor.post(f"/w/campaign/templates/{template.pk}/edit/", {"name": "Mine now", "text": "Changed"})
    as_contributor.post(f"/w/campaign/templates/{template.pk}/delete/")
    template.refresh_from_db()
    assert (template.name, template.text) == ("Owner's", "Original")
    editor = cast.client_for(cast.members["editor"])
    assert (
        editor.post(
            f"/w/campaign/templates/{template.pk}/edit/", {"name": "Owner's", "text": "Edited"}
        ).status_code
        == 302
    )
    template.refresh_from_db()
    assert template.text == "Edited"
    assert AuditEvent.objects.get(action="post_template.changed").data["fields"] == ["text"]
    assert editor.post(f"/w/campaign/templates/{template.pk}/delete/").status_code == 302
    assert not PostTemplate.objects.filter(pk=template.pk).exists()
    assert AuditEvent.objects.filter(action="post_template.deleted", object_id=str(template.pk)).exists()
    viewer = cast.client_for(cast.members["viewer"])
    assert viewer.get("/w/campaign/templates/").status_code == 403


def test_the_api_creates_lists_changes_and_deletes_templates(
    client: Client, cast: Cast, mastodon: Channel
) -> None:
    api = _api(client, cast.owner)
    created = api(
        "post",
        "/api/workspaces/campaign/templates",
        {
            "name": "Weekly",
            "text": "This week:",
            "options": {"mastodon": {"visibility": "private"}},
            "tags": ["news"],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["options"], body["tags"]) == (
        "template",
        {"mastodon": {"visibility": "private"}},
        ["news"],
    )
    unknown = api(
        "post",
        "/api/workspaces/campaign/templates",
        {"name": "Bad", "options": {"mastodon": {"visibility": "everyone"}, "myspace": {"x": "y"}}},
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "invalid_template"
    assert set(unknown.json()["fields"]) == {"options"}
    changed = api(
        "put", f"/api/workspaces/campaign/templates/{body['id']}", {"name": "Weekly", "text": "Next week:"}
    )
    assert changed.status_code == 200 and changed.json()["text"] == "Next week:"
    assert [t["name"] for t in api("get", "/api/workspaces/campaign/templates").json()] == ["Weekly"]
    assert api("delete", f"/api/workspaces/campaign/templates/{body['id']}").status_code == 204
    theirs = PostTemplate.objects.create(workspace=cast.other_workspace, name="Theirs", text="x")
    assert api("get", f"/api/workspaces/campaign/templates/{theirs.pk}").status_code == 404
    assert api("delete", f"/api/workspaces/campaign/templates/{theirs.pk}").status_code == 404
    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="post_template.").order_by("pk")
    ] == [
        "post_template.created",
        "post_template.changed",
        "post_template.deleted",
    ]
