"""LinkedIn connector against a fake of the versioned REST API (recorded payloads in fixtures/),
asserting the exact requests Chorus sends."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from chorus.connectors.base import (
    AuthExpired,
    ContentRejected,
    OutcomeUnknown,
    RateLimited,
    ReauthRequired,
    Transient,
)
from chorus.connectors.linkedin.client import VERSION, classify
from chorus.connectors.linkedin.connector import LinkedInConnector
from chorus.content.models import PostTarget
from chorus.publishing import dispatch, engine
from tests.connectors.oauth_fakes import fixture
from tests.publishing.conftest import make_target

REST = "https://api.linkedin.com/rest"
POSTS = f"{REST}/posts"
TOKEN = "https://www.linkedin.com/oauth/v2/accessToken"
CALLBACK = "https://chorus.example/channels/connect/linkedin/callback"
SHARE = "urn:li:share:6844785523593134080"


def ok(name: str, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=fixture("linkedin", name), headers=headers)


def created() -> httpx.Response:
    return httpx.Response(201, headers={"x-restli-id": SHARE})


def target_with(cast, channel, text="Hello LinkedIn", media=(), **options):
    target = make_target(cast, channel, text=text)
    target.media, target.options = list(media), options
    target.save()
    return target


def connect(fake, acls: str = "organization_acls_two"):
    fake.on("POST", TOKEN, ok("token"))
    fake.on("GET", "https://api.linkedin.com/v2/userinfo", ok("userinfo"))
    fake.on("GET", f"{REST}/organizationAcls", ok(acls))
    fake.on("GET", f"{REST}/organizations", ok("organizations_batch"))
    redirect = LinkedInConnector.begin_connect({}, callback_url=CALLBACK, state="st")
    choice = LinkedInConnector.finish_connect(
        {"code": "c0de"}, state_data=redirect.state_data, callback_url=CALLBACK
    )
    return redirect, choice


def test_it_offers_the_member_and_each_organization_they_administer(fake, oauth_apps):
    redirect, choice = connect(fake)
    query = parse_qs(urlsplit(redirect.url).query)
    assert redirect.url.startswith("https://www.linkedin.com/oauth/v2/authorization?")
    assert query["state"] == ["st"] and query["client_id"] == ["linkedin-id"]
    assert "w_member_social" in query["scope"][0] and "w_organization_social" in query["scope"][0]
    assert fake.form(fake.to("POST", TOKEN)[0]) == {
        "grant_type": "authorization_code",
        "code": "c0de",
        "redirect_uri": CALLBACK,
        "client_id": "linkedin-id",
        "client_secret": "linkedin-secret",
    }
    acl = fake.to("GET", f"{REST}/organizationAcls")[0]
    assert dict(acl.url.params) == {
        "q": "roleAssignee",
        "role": "ADMINISTRATOR",
        "state": "APPROVED",
        "start": "0",
        "count": "50",
    }
    assert acl.headers["LinkedIn-Version"] == VERSION and acl.headers["X-Restli-Protocol-Version"] == "2.0.0"
    (lookup,) = fake.to("GET", f"{REST}/organizations")
    assert lookup.url.query == b"ids=List(2414183,5515715)"  # Rest.li 2.0: the List stays unencoded
    assert (
        lookup.headers["LinkedIn-Version"] == VERSION
        and lookup.headers["Authorization"] == "Bearer li-access-1"
    )
    assert [(o.key, o.name, o.detail) for o in choice.options] == [
        ("urn:li:person:782bbtaQ", "Ada Lovelace", "Yourself: posts appear on your member profile"),
        ("urn:li:organization:2414183", "Chorus Foundation", "linkedin.com/company/chorus-foundation"),
        ("urn:li:organization:5515715", "Reef Alliance", "linkedin.com/company/reef-alliance"),
    ]
    assert choice.options[0].picture == "https://media.licdn.com/dms/image/a.jpg"
    member, page = choice.options[0].result, choice.options[2].result
    organizations = ["urn:li:organization:2414183", "urn:li:organization:5515715"]
    assert member.config == {
        "author": "urn:li:person:782bbtaQ",
        "member": "urn:li:person:782bbtaQ",
        "organizations": organizations,
    }
    assert page.config == {
        "author": "urn:li:organization:5515715",
        "member": "urn:li:person:782bbtaQ",
        "organizations": organizations,
    }
    assert member.credentials["refresh_token"] == page.credentials["refresh_token"] == "li-refresh-1"


def test_a_member_without_pages_is_offered_only_themself_and_no_lookup_is_made(fake, oauth_apps):
    _redirect, choice = connect(fake, acls="organization_acls_none")
    assert [o.key for o in choice.options] == ["urn:li:person:782bbtaQ"]
    assert choice.options[0].result.name == "Ada Lovelace"
    assert not fake.to("GET", f"{REST}/organizations")


def test_it_posts_text_as_the_member_with_escaped_commentary(cast, fake, linkedin_channel):
    fake.on("POST", POSTS, created())
    result = linkedin_channel.connector().publish(
        target_with(cast, linkedin_channel, text="Join us (today) #climate")
    )
    request = fake.to("POST", POSTS)[0]
    assert (
        request.headers["LinkedIn-Version"] == VERSION
        and request.headers["Authorization"] == "Bearer li-access-1"
    )
    assert fake.body(request) == {
        "author": "urn:li:person:782bbtaQ",
        "commentary": "Join us \\(today\\) \\#climate",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert result.external_id == SHARE and result.url == f"https://www.linkedin.com/feed/update/{SHARE}/"


def test_it_uploads_images_through_the_images_api_for_a_page(cast, fake, linkedin_page):
    default_storage.save("uploads/a.png", ContentFile(b"png-a"))
    default_storage.save("uploads/b.jpg", ContentFile(b"jpg-b"))
    fake.on("POST", f"{REST}/images", ok("images_initialize"), ok("images_initialize_2"))
    image_host = "https://www.linkedin.com/dms-uploads/sp/C4E10AQFoyyAjHPMQuQ/uploaded-image"
    fake.on("PUT", f"{image_host}/0", httpx.Response(201))
    fake.on("PUT", f"{image_host}/1", httpx.Response(201))
    fake.on("POST", POSTS, created())
    media = [{"path": "uploads/a.png", "alt": "A"}, {"path": "uploads/b.jpg", "alt": "B"}]
    linkedin_page.connector().publish(target_with(cast, linkedin_page, media=media))
    inits = fake.to("POST", f"{REST}/images")
    assert [r.url.params["action"] for r in inits] == ["initializeUpload"] * 2
    assert fake.body(inits[0]) == {"initializeUploadRequest": {"owner": "urn:li:organization:2414183"}}
    assert [fake.to("PUT", f"{image_host}/{n}")[0].content for n in (0, 1)] == [b"png-a", b"jpg-b"]
    body = fake.body(fake.to("POST", POSTS)[0])
    assert body["author"] == "urn:li:organization:2414183"
    assert body["content"] == {
        "multiImage": {
            "images": [
                {"id": "urn:li:image:C4E10AQFoyyAjHPMQuQ", "altText": "A"},
                {"id": "urn:li:image:C4E10AQFoyyAjHPMQu2", "altText": "B"},
            ]
        }
    }


def test_it_uploads_video_in_parts_and_finalizes_with_the_etags(cast, fake, linkedin_channel):
    default_storage.save("uploads/v.mp4", ContentFile(b"0123456789"))
    part = "https://www.linkedin.com/dms-uploads/sp/C5F10AQGKQg_6y2a4sQ/uploadedVideo/part"
    fake.on("POST", f"{REST}/videos", ok("videos_initialize"), httpx.Response(200))
    fake.on("PUT", f"{part}0", httpx.Response(200, headers={"etag": "etag-0"}))
    fake.on("PUT", f"{part}1", httpx.Response(200, headers={"etag": "etag-1"}))
    fake.on("POST", POSTS, created())
    target = target_with(cast, linkedin_channel, media=[{"path": "uploads/v.mp4"}], video_title="Our year")
    linkedin_channel.connector().publish(target)
    init, finalize = fake.to("POST", f"{REST}/videos")
    assert fake.body(init)["initializeUploadRequest"]["fileSizeBytes"] == 10
    assert [fake.to("PUT", f"{part}{n}")[0].content for n in (0, 1)] == [b"0123", b"456789"]
    assert finalize.url.params["action"] == "finalizeUpload"
    assert fake.body(finalize) == {
        "finalizeUploadRequest": {
            "video": "urn:li:video:C5F10AQGKQg_6y2a4sQ",
            "uploadToken": "",
            "uploadedPartIds": ["etag-0", "etag-1"],
        }
    }
    assert fake.body(fake.to("POST", POSTS)[0])["content"] == {
        "media": {"id": "urn:li:video:C5F10AQGKQg_6y2a4sQ", "title": "Our year"}
    }


def test_it_posts_an_article_link(cast, fake, linkedin_channel, settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # no DNS in tests
    fake.on("POST", POSTS, created())
    target = target_with(
        cast, linkedin_channel, link="https://chorus.example/report", link_title="Report 2026"
    )
    linkedin_channel.connector().publish(target)
    assert fake.body(fake.to("POST", POSTS)[0])["content"] == {
        "article": {"source": "https://chorus.example/report", "title": "Report 2026"}
    }


def test_it_refreshes_without_losing_the_refresh_token(cast, fake, linkedin_channel):
    fake.on("POST", TOKEN, ok("token_refreshed"))
    linkedin_channel.connector().refresh_credentials()
    assert fake.form(fake.to("POST", TOKEN)[0])["grant_type"] == "refresh_token"
    linkedin_channel.refresh_from_db()
    assert linkedin_channel.credentials["access_token"] == "li-access-2"
    assert linkedin_channel.credentials["refresh_token"] == "li-refresh-1"
    fake.routes.clear()
    fake.on("POST", TOKEN, httpx.Response(400, json=fixture("linkedin", "token_refused")))
    with pytest.raises(ReauthRequired):
        linkedin_channel.connector().refresh_credentials()


def test_it_classifies_linkedin_errors():
    assert isinstance(classify(ok("error_401_expired", 401)), AuthExpired)
    assert isinstance(classify(ok("error_401_revoked", 401)), ReauthRequired)
    duplicate = classify(ok("error_422_duplicate", 422))
    assert isinstance(duplicate, ContentRejected) and "duplicate" in duplicate.message
    limited = classify(ok("error_429", 429))
    assert isinstance(limited, RateLimited) and 0 < limited.retry_after <= 86400
    assert isinstance(classify(httpx.Response(502)), Transient)


def test_a_timeout_after_creating_the_post_is_an_unknown_outcome(cast, fake, linkedin_channel):
    fake.on("POST", POSTS, httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        linkedin_channel.connector().publish(target_with(cast, linkedin_channel))


def test_it_reads_social_actions_and_share_statistics_for_a_page(cast, fake, linkedin_page, linkedin_channel):
    encoded = "urn%3Ali%3Ashare%3A6844785523593134080"
    fake.on("GET", f"{REST}/socialActions/{encoded}", ok("social_actions"))
    fake.on("GET", f"{REST}/organizationalEntityShareStatistics", ok("share_statistics"))
    target = target_with(cast, linkedin_page)
    target.external_id = SHARE
    assert linkedin_page.connector().post_metrics(target) == {
        "likes": 12,
        "comments": 4,
        "impressions": 180,
        "reach": 100,
        "clicks": 7,
        "shares": 2,
    }
    stats = fake.to("GET", f"{REST}/organizationalEntityShareStatistics")[0]
    assert stats.url.params["shares"] == f"List({SHARE})"
    # A member's post has no share statistics: absent, not 0.
    assert linkedin_channel.connector().post_metrics(target) == {"likes": 12, "comments": 4}


def test_validation_follows_linkedin_rules(cast, linkedin_channel):
    connector = linkedin_channel.connector()
    assert [p.code for p in connector.validate(target_with(cast, linkedin_channel, text="x" * 3001))] == [
        "too_long"
    ]
    mixed = [{"path": "uploads/a.png"}, {"path": "uploads/v.mp4"}]
    assert "too_many" in [
        p.code for p in connector.validate(target_with(cast, linkedin_channel, media=mixed))
    ]
    both = target_with(cast, linkedin_channel, media=[{"path": "uploads/a.png"}], link="https://a.org")
    assert "link" in [p.code for p in connector.validate(both)]


def test_it_publishes_end_to_end_through_the_engine(cast, fake, linkedin_channel):
    fake.on("POST", POSTS, created())
    target = make_target(cast, linkedin_channel, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk] and engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert target.status == PostTarget.Status.PUBLISHED and target.external_id == SHARE


def test_the_engine_pauses_the_channel_when_access_was_revoked(cast, fake, linkedin_channel):
    fake.on("POST", POSTS, ok("error_401_revoked", 401))
    target = make_target(cast, linkedin_channel, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, _ids = dispatch.claim_due()
    assert engine.publish_one(target.pk, attempt_id) == "held"
    assert not fake.to("POST", TOKEN)  # revoked: no refresh attempted


def test_it_pages_through_every_organization_the_member_administers(fake, oauth_apps, monkeypatch):
    monkeypatch.setattr("chorus.connectors.linkedin.client.ACL_PAGE_SIZE", 2)
    acl = fixture("linkedin", "organization_acls_two")
    third = {**acl["elements"][0], "organization": "urn:li:organization:7777777"}
    fake.on(
        "GET",
        f"{REST}/organizationAcls",
        httpx.Response(200, json=acl),  # a full page: ask for the next one
        httpx.Response(200, json={"paging": {"start": 2, "count": 2}, "elements": [third]}),
    )
    _redirect, choice = connect(fake)
    assert [dict(r.url.params)["start"] for r in fake.to("GET", f"{REST}/organizationAcls")] == ["0", "2"]
    lookups = [r.url.query for r in fake.to("GET", f"{REST}/organizations")]
    assert lookups == [b"ids=List(2414183,5515715)", b"ids=List(7777777)"]  # batches of the page size
    assert [o.key for o in choice.options] == [
        "urn:li:person:782bbtaQ",
        "urn:li:organization:2414183",
        "urn:li:organization:5515715",
        "urn:li:organization:7777777",
    ]
