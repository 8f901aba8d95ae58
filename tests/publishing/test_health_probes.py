"""What publishing tells /health: due work, and work claimed but not started (a due post that a
scheduler claimed and queued is no longer due; with every worker dead it waits here)."""

from __future__ import annotations

import pytest

from chorus.content.models import PostTarget
from chorus.core.models import Heartbeat
from chorus.publishing import dispatch


@pytest.mark.django_db
def test_a_claimed_target_leaves_oldest_due_and_is_counted_as_claimed_unstarted(client, due_target):
    Heartbeat.beat("worker", process="w:1")
    Heartbeat.beat("scheduler", process="s:1")
    assert dispatch.oldest_due() == due_target.due_at
    assert dispatch.claimed_unstarted() == (0, None)

    _attempt, ids = dispatch.claim_due()

    assert ids == [due_target.pk]
    assert dispatch.oldest_due() is None
    claimed = PostTarget.objects.get(pk=due_target.pk)
    assert claimed.phase == PostTarget.Phase.CLAIMED
    assert dispatch.claimed_unstarted() == (1, claimed.claimed_at)
    body = client.get("/health").json()
    assert body["oldest_due"] is None
    assert body["claimed_unstarted"]["count"] == 1
    assert 0 <= body["claimed_unstarted"]["oldest_age_seconds"] < 30
