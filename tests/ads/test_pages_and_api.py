"""The Ads pages (boost from a post's page, the form with a saved audience, pause) and the API."""

from __future__ import annotations

import datetime as dt
import json

from django.urls import reverse
from django.utils import timezone

from chorus.accounts.models import ApiToken
from chorus.accounts.permissions import Role
from chorus.ads import actions, creating
from chorus.ads.models import AdInsightDay, Boost, SavedAudience
from chorus.core.models import AuditEvent
from tests.ads.conftest import AUDIENCE, boost_values, published


def test_a_published_facebook_post_offers_boost_and_the_form_uses_a_saved_audience(
    cast, page, meta, meta_account, budget, django_capture_on_commit_callbacks
) -> None:
    target = published(cast, page, "1111_2222")
    saved = actions.save_audience(
        cast.workspace, actor=cast.owner, name="Ocean lovers", network="facebook", audience=AUDIENCE
    )
    editor = cast.client_for(cast.members[Role.EDITOR])
    post_page = editor.get(
        reverse("publishing:target", kwargs={"slug": cast.workspace.slug, "target_id": target.pk})
    )
    boost_url = reverse("ads:boost_new", kwargs={"slug": cast.workspace.slug, "target_id": target.pk})
    assert boost_url in post_page.content.decode()
    viewer_page = cast.client_for(cast.members[Role.VIEWER]).get(
        reverse("publishing:target", kwargs={"slug": cast.workspace.slug, "target_id": target.pk})
    )
    assert boost_url not in viewer_page.content.decode()  # viewers see ads, they do not boost
    form = editor.get(boost_url)
    assert "Ocean lovers" in form.content.decode()
    start = (
        (timezone.now() + dt.timedelta(days=2))
        .astimezone(timezone.get_fixed_timezone(60))
        .replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer = editor.post(
            boost_url,
            {
                "account": meta_account.pk,
                "objective": "engagement",
                "budget_kind": "daily",
                "budget": "12.50",
                "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "ends_at": (start + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
                "saved_audience": saved.pk,
                "age_min": 18,
                "age_max": 65,
            },
        )
    boost = Boost.objects.get()
    assert answer.status_code == 302 and answer["Location"].endswith(f"/ads/boosts/{boost.pk}/")
    assert boost.budget_minor == 1250 and boost.saved_audience == saved
    assert boost.audience["countries"] == ["US", "CA"]
    assert timezone.localtime(boost.starts_at, timezone.get_fixed_timezone(60)).hour in (9, 10)  # Paris time
    creating.run(boost.pk)
    detail = editor.get(answer["Location"]).content.decode()
    assert "In review" in detail and meta.of("campaign")[0] in detail


def test_a_refused_boost_shows_why_on_the_form(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    start = timezone.now() + dt.timedelta(days=2)
    answer = cast.client_for(cast.owner).post(
        reverse("ads:boost_new", kwargs={"slug": cast.workspace.slug, "target_id": target.pk}),
        {
            "account": meta_account.pk,
            "objective": "awareness",
            "budget_kind": "daily",
            "budget": "0.50",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "countries": "US",
            "age_min": 18,
            "age_max": 65,
        },
    )
    assert answer.status_code == 200
    assert (
        "Meta needs a daily budget of at least 1.00 EUR; this boost has 0.50 EUR." in answer.content.decode()
    )
    assert not Boost.objects.exists()


def test_the_ads_page_lists_boosts_with_spend_and_pause_is_audited(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    boost = actions.request_boost(target, actor=cast.owner, **boost_values(meta_account))
    creating.run(boost.pk)
    AdInsightDay.objects.create(
        boost=boost, workspace=cast.workspace, day=timezone.localdate(), spend_minor=1234
    )
    listing = cast.client_for(cast.members[Role.VIEWER]).get(
        reverse("ads:list", kwargs={"slug": cast.workspace.slug})
    )
    text = listing.content.decode()
    assert "12.34 EUR" in text and "In review" in text and "1,000.00 EUR" in text
    change = reverse("ads:boost_change", kwargs={"slug": cast.workspace.slug, "boost_id": boost.pk})
    assert cast.client_for(cast.members[Role.VIEWER]).post(change, {"change": "pause"}).status_code == 403
    assert cast.client_for(cast.outsider).post(change, {"change": "pause"}).status_code == 404
    cast.client_for(cast.members[Role.EDITOR]).post(change, {"change": "pause"})
    boost.refresh_from_db()
    assert boost.status == Boost.Status.PAUSED
    assert meta.objects[meta.of("campaign")[0]]["fields"]["status"] == "PAUSED"
    event = AuditEvent.objects.get(action="ads.boost_paused")
    assert event.actor == cast.members[Role.EDITOR]


def api(cast, user, method: str, path: str, body: dict | None = None):
    _token, raw = ApiToken.issue(user, "test")
    client = cast.client_for(None)
    headers = {"Authorization": f"Bearer {raw}"}
    if method == "get":
        return client.get(f"/api{path}", headers=headers)
    return client.post(
        f"/api{path}", data=json.dumps(body or {}), content_type="application/json", headers=headers
    )


def test_the_api_creates_reads_pauses_and_reports_a_boost(cast, page, meta, meta_account, budget) -> None:
    target = published(cast, page, "1111_2222")
    slug = cast.workspace.slug
    start = timezone.now() + dt.timedelta(days=1)
    body = {
        "target": target.pk,
        "account": meta_account.pk,
        "budget_minor": 2000,
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(days=2)).isoformat(),
        "audience": AUDIENCE,
    }
    created = api(cast, cast.owner, "post", f"/workspaces/{slug}/boosts", body)
    assert created.status_code == 201, created.content
    boost_id = created.json()["id"]
    assert created.json()["status"] == "queued"
    refused = api(cast, cast.owner, "post", f"/workspaces/{slug}/boosts", {**body, "budget_minor": 50})
    assert refused.status_code == 422
    assert (
        refused.json()["code"] == "below_daily_minimum" and refused.json()["params"]["minimum"] == "1.00 EUR"
    )
    creating.run(boost_id)
    read = api(cast, cast.members[Role.VIEWER], "get", f"/workspaces/{slug}/boosts/{boost_id}").json()
    assert read["status"] == "in_review" and set(read["network_objects"]) == {
        "campaign",
        "adset",
        "creative",
        "ad",
    }
    paused = api(cast, cast.members[Role.EDITOR], "post", f"/workspaces/{slug}/boosts/{boost_id}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    again = api(cast, cast.members[Role.EDITOR], "post", f"/workspaces/{slug}/boosts/{boost_id}/pause")
    assert again.status_code == 422 and again.json()["code"] == "state"
    AdInsightDay.objects.create(
        boost_id=boost_id,
        workspace=cast.workspace,
        day=timezone.localdate(),
        spend_minor=500,
        impressions=1000,
        clicks=10,
    )
    insights = api(cast, cast.owner, "get", f"/workspaces/{slug}/boosts/{boost_id}/insights").json()
    assert (
        insights[0]["spend_minor"] == 500
        and insights[0]["cpm_minor"] == 500
        and insights[0]["cpc_minor"] == 50
    )
    assert api(cast, cast.outsider, "get", f"/workspaces/{slug}/boosts/{boost_id}").status_code == 404
    accounts = api(cast, cast.owner, "get", f"/workspaces/{slug}/ad-accounts").json()
    assert accounts[0]["external_id"] == "act_1234" and "access_token" not in json.dumps(accounts)
    assert SavedAudience.objects.count() == 0


def test_the_form_searches_targeting_and_estimates_reach_through_the_network(
    cast, page, meta, meta_account
) -> None:
    meta.search_results = [{"key": "2490299", "name": "Brittany", "type": "region", "country_name": "France"}]
    editor = cast.client_for(cast.members[Role.EDITOR])
    slug = cast.workspace.slug
    found = editor.get(
        reverse("ads:targeting", kwargs={"slug": slug, "account_id": meta_account.pk}),
        {"kind": "regions", "q": "Bretagne"},
    ).json()
    assert found == {"results": [{"key": "2490299", "name": "Brittany", "detail": "France"}]}
    search = meta.sent[-1]
    assert dict(search.url.params) == {
        "q": "Bretagne",
        "limit": "25",
        "type": "adgeolocation",
        "location_types": '["region"]',
        "access_token": "system-user-token",
    }
    estimate = editor.get(
        reverse("ads:estimate", kwargs={"slug": slug, "account_id": meta_account.pk}),
        {"countries": "US", "age_min": "25", "age_max": "54", "objective": "engagement"},
    ).json()
    assert estimate == {"low": 41000, "high": 48200, "text": "About 41,000 to 48,200 people"}
    sent = dict(meta.sent[-1].url.params)
    assert sent["optimization_goal"] == "POST_ENGAGEMENT"
    assert json.loads(sent["targeting_spec"]) == {
        "geo_locations": {"countries": ["US"]},
        "age_min": 25,
        "age_max": 54,
    }
    other = cast.client_for(cast.outsider).get(
        reverse("ads:estimate", kwargs={"slug": slug, "account_id": meta_account.pk})
    )
    assert other.status_code == 404


def test_linkedin_estimates_reach_with_its_audience_count(
    cast, organization, linkedin, linkedin_account
) -> None:
    url = reverse("ads:estimate", kwargs={"slug": cast.workspace.slug, "account_id": linkedin_account.pk})
    owner = cast.client_for(cast.owner)
    linkedin.audience = {"active": 41000, "total": 110000}
    answer = owner.get(
        url,
        {
            "regions": "urn:li:geo:103644278|United States",
            "interests": "urn:li:interest:637|Climate change",
            "age_min": 25,
            "age_max": 54,
        },
    )
    assert answer.json() == {"low": 41000, "high": 110000, "text": "About 41,000 to 110,000 people"}
    [request] = [r for r in linkedin.sent if r.url.path == "/rest/audienceCounts"]
    assert request.url.query.decode() == (
        "q=targetingCriteriaV2&targetingCriteria=(include:(and:List("
        "(or:(urn%3Ali%3AadTargetingFacet%3Alocations:List(urn%3Ali%3Ageo%3A103644278))),"
        "(or:(urn%3Ali%3AadTargetingFacet%3AageRanges:List(urn%3Ali%3AageRange%3A%2825%2C34%29,"
        "urn%3Ali%3AageRange%3A%2835%2C54%29))),"
        "(or:(urn%3Ali%3AadTargetingFacet%3Ainterests:List(urn%3Ali%3Ainterest%3A637))))))"
    )
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    linkedin.audience = {"active": 0, "total": 0}  # LinkedIn counts fewer than 300 members as 0
    answer = owner.get(url, {"regions": "urn:li:geo:103644278|United States", "age_min": 60})
    assert answer.json()["high"] == 299 and answer.json()["low"] == 0
    sent = len(linkedin.sent)
    assert owner.get(url, {"countries": "US"}).json()["high"] is None  # no LinkedIn location: no count
    assert len(linkedin.sent) == sent


def test_the_ads_page_shows_paid_and_organic_per_campaign(cast, page, meta, meta_account, budget) -> None:
    from chorus.ads import results
    from chorus.analytics.collect import store_post_snapshot

    campaign = cast.workspace.campaigns.create(name="Reef week", slug="reef-week")
    first, second = published(cast, page, "1111_1"), published(cast, page, "1111_2")
    for target in (first, second):
        target.post.campaign = campaign
        target.post.save()
    boost = actions.request_boost(first, actor=cast.owner, **boost_values(meta_account))
    AdInsightDay.objects.create(
        boost=boost,
        workspace=cast.workspace,
        day=timezone.localdate(),
        spend_minor=300,
        impressions=700,
        reach=650,
    )
    store_post_snapshot(first, {"impressions": 100, "reach": 90})
    store_post_snapshot(second, {"impressions": 40, "reach": 30})
    side = results.campaign_side_by_side(campaign)
    assert (side.paid["impressions"], side.organic["impressions"]) == (700, 140)
    assert (side.paid["reach"], side.organic["reach"]) == (650, 120)
    text = (
        cast.client_for(cast.owner)
        .get(reverse("ads:list", kwargs={"slug": cast.workspace.slug}))
        .content.decode()
    )
    assert "Reef week" in text and "140" in text and "700" in text


def test_top_posts_and_the_post_analytics_page_offer_boost(cast, page, meta, meta_account) -> None:
    from chorus.analytics.collect import store_post_snapshot

    target = published(cast, page, "1111_2222")
    store_post_snapshot(target, {"impressions": 100, "likes": 12})
    boost_url = reverse("ads:boost_new", kwargs={"slug": cast.workspace.slug, "target_id": target.pk})
    dashboard = reverse("analytics:dashboard", kwargs={"slug": cast.workspace.slug})
    post_page = reverse("analytics:post", kwargs={"slug": cast.workspace.slug, "target_id": target.pk})
    for url in (dashboard, post_page):
        assert boost_url in cast.client_for(cast.members[Role.EDITOR]).get(url).content.decode(), url
        assert boost_url not in cast.client_for(cast.members[Role.VIEWER]).get(url).content.decode(), url


def test_the_home_offers_the_best_recent_posts_to_boost_and_the_boosts_to_approve(
    cast, page, meta, meta_account, budget
) -> None:
    from chorus.analytics.collect import store_post_snapshot
    from chorus.channels.actions import connect_channel

    best = published(cast, page, "1111_2222", text="Reef survey")
    second = published(cast, page, "1111_3333", text="Beach clean-up")
    store_post_snapshot(best, {"impressions": 900, "likes": 80})
    store_post_snapshot(second, {"impressions": 400, "likes": 20})
    no_account = connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Other page",
        config={"page_id": "9999", "page_name": "Other page"},
        credentials={"access_token": "t"},
        actor=cast.owner,
    )
    unadvertised = published(cast, no_account, "9999_1", text="Elsewhere")
    store_post_snapshot(unadvertised, {"impressions": 9000, "likes": 900})  # no ad account: not offered
    home = reverse("workspace_home", kwargs={"slug": cast.workspace.slug})

    def offered(role: Role) -> list[int]:
        html = cast.client_for(cast.members[role]).get(home).content.decode()
        if 'id="boost-candidates"' not in html:
            return []
        section = html[html.index('id="boost-candidates"') :]
        section = section[: section.index("</section>")]
        for target_id in (best.pk, second.pk):
            if f'data-target="{target_id}"' in section:
                url = reverse("ads:boost_new", kwargs={"slug": cast.workspace.slug, "target_id": target_id})
                assert url in section
        return [int(x) for x in __import__("re").findall(r'data-target="(\d+)"', section)]

    assert offered(Role.EDITOR) == [best.pk, second.pk]  # most engagement first
    assert offered(Role.VIEWER) == []  # viewers do not boost
    actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=0,
    )
    boost = actions.request_boost(best, actor=cast.members[Role.EDITOR], **boost_values(meta_account))
    assert offered(Role.EDITOR) == [second.pk]  # a post with a boost under way is not offered again
    approver_home = cast.client_for(cast.members[Role.APPROVER]).get(home).content.decode()
    boost_url = reverse("ads:boost", kwargs={"slug": cast.workspace.slug, "boost_id": boost.pk})
    assert 'id="boosts-waiting"' in approver_home and boost_url in approver_home
    assert boost_url not in cast.client_for(cast.members[Role.EDITOR]).get(home).content.decode()
    assert (
        boost_url
        not in cast.client_for(cast.outsider)
        .get(reverse("workspace_home", kwargs={"slug": cast.other_workspace.slug}))
        .content.decode()
    )


def test_the_form_sends_regions_cities_and_languages_as_metas_own_geo_and_locale_keys(
    cast, page, meta, meta_account, budget
) -> None:
    target = published(cast, page, "1111_2222")
    start = timezone.now() + dt.timedelta(days=2)
    answer = cast.client_for(cast.owner).post(
        reverse("ads:boost_new", kwargs={"slug": cast.workspace.slug, "target_id": target.pk}),
        {
            "account": meta_account.pk,
            "objective": "awareness",
            "budget_kind": "daily",
            "budget": "5",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "regions": "3847|California",
            "cities": "2420605|San Francisco\n2421836|Oakland",
            "languages": "6|English (US)",
            "genders": ["female"],
            "age_min": 18,
            "age_max": 65,
            "save_audience_as": "Bay area",
        },
    )
    assert answer.status_code == 302
    boost = Boost.objects.get()
    assert boost.audience["cities"] == [
        {"key": "2420605", "name": "San Francisco"},
        {"key": "2421836", "name": "Oakland"},
    ]
    assert SavedAudience.objects.get(name="Bay area").audience["languages"] == [
        {"key": "6", "name": "English (US)"}
    ]
    creating.run(boost.pk)
    [adset] = meta.creates("adset")
    assert json.loads(adset["targeting"]) == {
        "geo_locations": {"regions": [{"key": "3847"}], "cities": [{"key": "2420605"}, {"key": "2421836"}]},
        "age_min": 18,
        "age_max": 65,
        "genders": [2],
        "locales": [6],
    }


def test_the_api_changes_the_budget_and_end_date_and_approves_or_declines(
    cast, page, meta, meta_account, budget
) -> None:
    slug = cast.workspace.slug
    actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=0,
    )
    start = timezone.now() + dt.timedelta(days=1)
    body = {
        "target": published(cast, page, "1111_2222").pk,
        "account": meta_account.pk,
        "budget_minor": 2000,
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(days=2)).isoformat(),
        "audience": AUDIENCE,
    }
    first = api(cast, cast.members[Role.EDITOR], "post", f"/workspaces/{slug}/boosts", body).json()
    second = api(cast, cast.members[Role.EDITOR], "post", f"/workspaces/{slug}/boosts", body).json()
    assert first["status"] == second["status"] == "awaiting_approval"
    path = f"/workspaces/{slug}/boosts/{first['id']}"
    assert api(cast, cast.members[Role.EDITOR], "post", f"{path}/approve").status_code == 403
    approved = api(cast, cast.members[Role.APPROVER], "post", f"{path}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "queued"
    assert api(cast, cast.members[Role.APPROVER], "post", f"{path}/approve").json()["code"] == "state"
    declined = api(
        cast,
        cast.members[Role.APPROVER],
        "post",
        f"/workspaces/{slug}/boosts/{second['id']}/decline",
        {"reason": "Not this week"},
    )
    assert declined.json()["status"] == "declined" and declined.json()["review_reason"] == "Not this week"
    creating.run(first["id"])
    later = start + dt.timedelta(days=4)
    changed = api(
        cast,
        cast.members[Role.EDITOR],
        "post",
        f"{path}/budget",
        {"budget_minor": 3000, "ends_at": later.isoformat()},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["budget_minor"] == 3000
    adset = meta.objects[meta.of("adset")[0]]["fields"]
    assert adset["daily_budget"] == "3000" and adset["end_time"] == later.astimezone(dt.UTC).isoformat()
    too_low = api(cast, cast.members[Role.EDITOR], "post", f"{path}/budget", {"budget_minor": 10})
    assert too_low.status_code == 422 and too_low.json()["code"] == "below_daily_minimum"
    assert (
        AuditEvent.objects.filter(action="ads.boost_budget_changed", object_id=str(first["id"])).count() == 1
    )
    outsider = api(cast, cast.outsider, "post", f"{path}/budget", {"budget_minor": 3000})
    assert outsider.status_code in (403, 404)
