from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from chorus.approvals.models import DigestSubscription
from chorus.approvals.policy import send_digests
from chorus.core.models import Notification
from chorus.publishing import actions
from tests.approvals.conftest import make_target

PARIS_9AM = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)  # 09:00 in Paris
PARIS_7AM = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_it_sends_digest_subscribers_one_daily_email_instead_of_one_per_step(cast, sink_channel, two_step):
    editor = cast.members["editor"]
    response = cast.client_for(editor).post(
        reverse("approvals:digest", kwargs={"slug": "campaign"}), {"enabled": "1"}
    )
    assert response.status_code == 302 and DigestSubscription.objects.get(user=editor).enabled
    mail.outbox.clear()
    for text in ("First", "Second"):
        actions.submit_for_review(
            make_target(cast, sink_channel, text=text), actor=cast.members["contributor"]
        )
    assert Notification.objects.filter(user=editor, kind="approval_requested").count() == 2  # in-app still
    assert not [m for m in mail.outbox if editor.email in m.to]  # but no email per step

    assert send_digests(now=PARIS_7AM) == 0  # before 08:00 local
    assert send_digests(now=PARIS_9AM) == 1
    digest = [m for m in mail.outbox if editor.email in m.to]
    assert (
        len(digest) == 1
        and "2 posts" in digest[0].subject
        and digest[0].body.count("/approvals/targets/") == 2
    )
    assert send_digests(now=PARIS_9AM + dt.timedelta(hours=3)) == 0  # once a day
    assert send_digests(now=PARIS_9AM + dt.timedelta(days=1)) == 1
