"""Consent records: scope, term, reminders, withdrawal by the team (fast, on the local sink)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.content.models import PostTarget
from chorus.core import http
from chorus.core.models import AuditEvent, Notification
from chorus.media import actions as media
from chorus.media import consent
from chorus.media.models import MediaAsset, MediaConsent, WithdrawalStep
from chorus.media.sniff import MediaRejected
from chorus.publishing import actions as publishing
from tests.conftest import Cast
from tests.safety.files import jpeg_with_location


@pytest.fixture
def asset(cast: Cast, tmp_path) -> MediaAsset:
    photo = jpeg_with_location(tmp_path / "portrait.jpg")
    found, _created = media.upload(
        cast.workspace, cast.owner, SimpleUploadedFile(photo.name, photo.read_bytes())
    )
    return found


def _scheduled(cast: Cast, asset: MediaAsset) -> PostTarget:
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    post = publishing.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Soon"
    )
    target = post.targets.get()
    publishing.edit(target, actor=cast.owner, media=[media.as_post_media(asset)])
    publishing.schedule(target, actor=cast.owner, when=timezone.now() + dt.timedelta(days=1))
    return PostTarget.objects.get(pk=target.pk)


def test_the_team_records_a_scoped_consent_with_a_term_and_a_pseudonym(cast: Cast, asset: MediaAsset):
    client = cast.client_for(cast.members["editor"])
    until = timezone.localdate() + dt.timedelta(days=90)
    response = client.post(
        reverse("media:consent", args=[cast.workspace.slug, asset.pk]),
        {"action": "add", "person": "Amina", "uses": ["networks", "reports"], "valid_until": until.isoformat(),
         "evidence": "written", "evidence_note": "Form 12, office cabinet", "credit": "Rose",
         "credit_is_pseudonym": "1"},
    )  # fmt: skip
    assert response.status_code == 302
    row = MediaConsent.objects.get()
    assert (row.uses, row.valid_until, row.credit, row.credit_is_pseudonym) == (
        ["networks", "reports"], until, "Rose", True,
    )  # fmt: skip
    assert consent.active_uses(asset) == {"networks", "reports"}
    page = client.get(reverse("media:detail", args=[cast.workspace.slug, asset.pk])).content.decode()
    assert "Form 12, office cabinet" in page and "pseudonym" in page
    with pytest.raises(MediaRejected):
        consent.record(asset, actor=cast.owner, person="X", uses=[], evidence="written")
    with pytest.raises(MediaRejected):
        consent.record(asset, actor=cast.owner, person="X", uses=["billboards"], evidence="written")
    # A viewer cannot record or withdraw consent.
    viewer = cast.client_for(cast.members["viewer"])
    refused = viewer.post(reverse("media:consent", args=[cast.workspace.slug, asset.pk]), {"action": "add"})
    assert refused.status_code == 403


def test_a_team_withdrawal_holds_hides_and_audits_and_is_safe_twice(cast: Cast, asset: MediaAsset):
    target = _scheduled(cast, asset)
    row = consent.record(asset, actor=cast.owner, person="Amina", uses=["networks"], evidence="verbal")
    client = cast.client_for(cast.members["editor"])
    url = reverse("media:consent", args=[cast.workspace.slug, asset.pk])
    assert client.post(url, {"action": "withdraw", "consent": row.pk, "reason": "asked"}).status_code == 302
    target.refresh_from_db()
    assert (target.status, target.hold_reason) == ("scheduled", "consent_withdrawn")
    detail = client.get(reverse("publishing:target", args=[cast.workspace.slug, target.pk])).content.decode()
    assert "Consent for a file in this post was withdrawn" in detail
    assert "Publish now anyway" not in detail  # a withdrawn file is not released by one click
    consent.withdraw(row, actor=cast.owner)  # again: nothing new
    assert WithdrawalStep.objects.filter(consent=row).count() == 1
    assert AuditEvent.objects.filter(action="media.consent_withdrawn").count() == 1
    assert AuditEvent.objects.filter(action="target.held", object_id=str(target.pk)).count() == 1
    # Hidden from the composer: the picker leaves it out and a forged id is ignored.
    picker = client.get(reverse("media:picker", args=[cast.workspace.slug])).content.decode()
    assert f'data-media-id="{asset.pk}"' not in picker
    library = client.get(reverse("media:library", args=[cast.workspace.slug])).content.decode()
    assert asset.original_name in library  # still in the library, marked on its page
    from chorus.publishing.views import _library_media

    request = type("R", (), {"POST": type("P", (), {"getlist": lambda self, k: [str(asset.pk)]})()})()
    assert _library_media(request, cast.workspace) == []  # type: ignore[arg-type]


def test_reminders_before_the_end_and_withdrawal_after_it(cast: Cast, asset: MediaAsset):
    target = _scheduled(cast, asset)
    soon = consent.record(
        asset, actor=cast.owner, person="Amina", uses=["networks"], evidence="written",
        valid_until=timezone.localdate() + dt.timedelta(days=10),
    )  # fmt: skip
    assert consent.remind_and_expire() == (1, 0)
    assert consent.remind_and_expire() == (0, 0)  # told once
    told = Notification.objects.filter(kind="media.consent_expiring")
    assert sorted(told.values_list("user__email", flat=True)) == ["admin@example.org", "owner@example.org"]
    assert "portrait.jpg: Amina" in told.first().body  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(action="media.consent_reminded", object_id=str(soon.pk)).count() == 1
    MediaConsent.objects.filter(pk=soon.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert consent.remind_and_expire() == (0, 1)
    soon.refresh_from_db()
    target.refresh_from_db()
    assert soon.state == "expired" and target.hold_reason == "consent_withdrawn"


def test_the_composer_refuses_a_file_outside_its_consent_scope(cast: Cast, asset: MediaAsset):
    from chorus.publishing import composer

    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    items = [media.as_post_media(asset, alt="A portrait")]
    draft = composer.Draft(
        title="", text="Hello", link="", media=items,
        channels=[composer.ChannelDraft(channel=channel, own_text="", options={})],
    )  # fmt: skip

    def reasons() -> list[str]:
        return [p.message for p in composer.check_channel(draft, draft.channels[0], cast.workspace).problems]

    assert reasons() == []  # the team's own file, no consent record: not judged
    row = consent.record(asset, actor=cast.owner, person="Amina", uses=["website"], evidence="written")
    assert reasons() == ["The consent for this file does not cover: Social networks."]
    consent.record(asset, actor=cast.owner, person="Amina", uses=["networks"], evidence="written")
    assert reasons() == []
    consent.withdraw(row, actor=cast.owner)
    assert reasons() == ["Consent for this file was withdrawn."]


def test_a_withdrawal_stops_the_ads_of_the_published_post(cast: Cast, asset: MediaAsset, tmp_path):
    """Paid reach stops too: a running boost is stopped at the network (the Meta Marketing API
    fake, built from its documented requests), one awaiting approval is declined, one queued fails
    when its creation job runs, and a new boost of the post is refused."""
    from chorus.ads import actions as ads
    from chorus.ads import creating
    from chorus.ads.refusals import AdsRefused
    from tests.ads.conftest import boost_values
    from tests.ads.fakes import MetaMarketingFake
    from tests.publishing.conftest import make_target

    fake = MetaMarketingFake()
    http.set_transport_for_tests(httpx.MockTransport(fake.handler))
    try:
        page = connect_channel(
            workspace=cast.workspace, kind="facebook", name="Seas Alive",
            config={"page_id": "1111", "page_name": "Seas Alive"},
            credentials={"access_token": "page-token-1111"}, actor=cast.owner,
        )  # fmt: skip
        account = ads.connect_ad_account(
            cast.workspace, actor=cast.owner, channel=page, external_id="1234", access_token="t"
        )
        ads.set_ad_budget(
            cast.workspace, actor=cast.owner, currency="EUR", monthly_limit_minor=100_000,
            approval_threshold_minor=50_000,
        )  # fmt: skip
        targets = []
        for n in (1, 2, 3):
            target = make_target(cast, page, text="Our story")
            publishing.edit(target, actor=cast.owner, media=[media.as_post_media(asset)])
            PostTarget.objects.filter(pk=target.pk).update(
                status="published", external_id=f"1111_{n}", published_at=timezone.now()
            )  # published on the network (the engine has its own tests)
            targets.append(
                PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)
            )
        running = ads.request_boost(targets[0], actor=cast.owner, **boost_values(account))
        assert creating.run(running.pk) == "in_review"
        waiting = ads.request_boost(
            targets[1], actor=cast.owner, **boost_values(account, budget_minor=20_000)
        )
        queued = ads.request_boost(targets[2], actor=cast.owner, **boost_values(account))
        assert [b.status for b in (waiting, queued)] == ["awaiting_approval", "queued"]
        row = consent.record(
            asset, actor=cast.owner, person="Amina", uses=["networks", "ads"], evidence="written"
        )

        consent.withdraw(row, actor=cast.owner, reason="asked")

        for boost in (running, waiting, queued):
            boost.refresh_from_db()
        assert (running.status, waiting.status, queued.status) == ("stopped", "declined", "queued")
        ad_campaign = fake.of("campaign")[0]
        assert fake.objects[ad_campaign]["fields"]["status"] == "ARCHIVED"  # stopped at the network
        assert creating.run(queued.pk) == "failed"
        queued.refresh_from_db()
        assert (queued.status, queued.last_error_code) == ("failed", "consent_withdrawn")
        assert len(fake.of("campaign")) == 1  # nothing was created for the queued one
        with pytest.raises(AdsRefused) as refused:
            ads.request_boost(targets[0], actor=cast.owner, **boost_values(account))
        assert refused.value.code == "consent_withdrawn"
        stopped = AuditEvent.objects.filter(action="media.withdrawal_boost_stopped")
        assert sorted(stopped.values_list("object_id", flat=True)) == sorted(
            [str(running.pk), str(waiting.pk)]
        )
        assert AuditEvent.objects.filter(action="ads.boost_stopped", object_id=str(running.pk)).exists()
        assert AuditEvent.objects.filter(action="ads.boost_declined", object_id=str(waiting.pk)).exists()
    finally:
        http.set_transport_for_tests(None)


def test_a_boost_needs_a_consent_that_covers_ads(cast: Cast, asset: MediaAsset):
    """A post whose photo's consent covers networks but not ads is refused paid reach; once a
    consent in force covers ads, the boost is accepted (the Meta Marketing API fake)."""
    from chorus.ads import actions as ads
    from chorus.ads.refusals import AdsRefused
    from tests.ads.conftest import boost_values
    from tests.ads.fakes import MetaMarketingFake
    from tests.publishing.conftest import make_target

    fake = MetaMarketingFake()
    http.set_transport_for_tests(httpx.MockTransport(fake.handler))
    try:
        page = connect_channel(
            workspace=cast.workspace, kind="facebook", name="Seas Alive",
            config={"page_id": "1111", "page_name": "Seas Alive"},
            credentials={"access_token": "page-token-1111"}, actor=cast.owner,
        )  # fmt: skip
        account = ads.connect_ad_account(
            cast.workspace, actor=cast.owner, channel=page, external_id="1234", access_token="t"
        )
        ads.set_ad_budget(
            cast.workspace, actor=cast.owner, currency="EUR", monthly_limit_minor=100_000,
            approval_threshold_minor=50_000,
        )  # fmt: skip
        consent.record(asset, actor=cast.owner, person="Amina", uses=["networks"], evidence="written")
        target = make_target(cast, page, text="Our story")
        publishing.edit(target, actor=cast.owner, media=[media.as_post_media(asset)])
        PostTarget.objects.filter(pk=target.pk).update(
            status="published", external_id="1111_1", published_at=timezone.now()
        )
        target = PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)
        with pytest.raises(AdsRefused) as refused:
            ads.request_boost(target, actor=cast.owner, **boost_values(account))
        assert refused.value.code == "consent_scope"
        assert "does not cover ads" in str(refused.value.message)
        consent.record(asset, actor=cast.owner, person="Amina", uses=["networks", "ads"], evidence="written")
        boost = ads.request_boost(target, actor=cast.owner, **boost_values(account))
        assert boost.status == "queued"
    finally:
        http.set_transport_for_tests(None)
