"""Listening alerts: volume spikes, negative-sentiment surges, notable authors; rate-limited.

The detectors are pure functions over series so they can be tested on synthetic data; `check`
reads a workspace's recent matches (hourly buckets), runs them, and raises alerts through
`actions.raise_alert`, which applies the rate limit (one alert of a kind per query per interval)
and tells the people who manage listening (in-app and email).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

BASELINE_HOURS = 24
MIN_SPIKE_COUNT = 5  # a jump from 0 to 2 posts is not a spike
MIN_SENTIMENT_COUNT = 5
CHECK_EVERY_SECONDS = 60


@dataclass(frozen=True)
class Spike:
    index: int
    count: int
    baseline: float


def spikes(
    series: Sequence[int], *, factor: float, window: int = BASELINE_HOURS, minimum: int = MIN_SPIKE_COUNT
) -> list[Spike]:
    """Points above `factor` x the mean of the `window` points before them (and at least `minimum`),
    one per episode: consecutive points above the threshold are one spike, reported at its start.
    The baseline of a point excludes points that were themselves above threshold, so a long spike
    does not raise its own baseline and end early, nor a plateau start a second episode."""
    out: list[Spike] = []
    normal: list[int] = []
    in_episode = False
    for i, count in enumerate(series):
        history = normal[-window:]
        baseline = sum(history) / len(history) if history else 0.0
        above = len(history) >= min(window, 3) and count >= minimum and count > factor * max(baseline, 1.0)
        if above:
            if not in_episode:
                out.append(Spike(i, count, baseline))
            in_episode = True
        else:
            in_episode = False
            normal.append(count)
    return out


def negative_surge(
    negatives: Sequence[int], totals: Sequence[int], *, share: float, minimum: int = MIN_SENTIMENT_COUNT
) -> bool:
    """The last bucket's negative share is at least `share` (of posts with a known sentiment) and
    above 1.5 x the share over the buckets before it."""
    if not totals or totals[-1] < minimum:
        return False
    now_share = negatives[-1] / totals[-1]
    before_total = sum(totals[:-1])
    before_share = sum(negatives[:-1]) / before_total if before_total else 0.0
    return now_share >= share and now_share > 1.5 * before_share


# --- against the database ----------------------------------------------------------------------------

_last_check: dict[int, float] = {}


def check_soon(workspace_id: int) -> None:
    """Called by the consumer after a batch: check the workspace at most once a minute."""
    now = time.monotonic()
    if now - _last_check.get(workspace_id, -CHECK_EVERY_SECONDS) < CHECK_EVERY_SECONDS:
        return
    _last_check[workspace_id] = now
    check(workspace_id)


def hourly(
    workspace_id: int, query_id: int, end: dt.datetime, hours: int
) -> tuple[list[int], list[int], list[int]]:
    """Counts per hour (all, negative, with a known sentiment) for the `hours` hours up to `end`."""
    from chorus.listening.models import Match

    start = end - dt.timedelta(hours=hours)
    rows = Match.objects.filter(
        workspace_id=workspace_id, query_id=query_id, posted_at__gte=start, posted_at__lt=end
    ).values_list("posted_at", "sentiment")
    totals, negatives, known = [0] * hours, [0] * hours, [0] * hours
    for posted_at, feeling in rows.iterator():
        index = min(int((posted_at - start).total_seconds() // 3600), hours - 1)
        totals[index] += 1
        if feeling != "unknown":
            known[index] += 1
            negatives[index] += feeling == "negative"
    return totals, negatives, known


def check(workspace_id: int, now: dt.datetime | None = None) -> int:
    """Run the detectors for every active query of a workspace; returns alerts raised."""
    from django.utils.translation import gettext as _

    from chorus.listening import actions
    from chorus.listening.models import Alert, ListeningSettings, Match, Query

    now = now or timezone.now()
    current = ListeningSettings.objects.filter(workspace_id=workspace_id).first() or ListeningSettings(
        workspace_id=workspace_id
    )
    # The current hour is the last bucket: buckets end at `now`, not at the top of the hour.
    raised = 0
    for query in Query.objects.filter(workspace_id=workspace_id, active=True):
        totals, negatives, known = hourly(workspace_id, query.pk, now, BASELINE_HOURS + 1)
        found = spikes(totals, factor=current.spike_factor)
        if found and found[-1].index == len(totals) - 1:
            spike = found[-1]
            message = _(
                "%(query)s: %(count)d posts in the last hour, %(factor).1f× the usual %(baseline).1f."
            ) % {
                "query": query.name,
                "count": spike.count,
                "factor": spike.count / max(spike.baseline, 1.0),
                "baseline": spike.baseline,
            }
            raised += actions.raise_alert(
                query,
                Alert.Kind.SPIKE,
                message,
                {"count": spike.count, "baseline": spike.baseline},
                now=now,
                current=current,
            )
        if negative_surge(negatives, known, share=current.negative_share):
            message = _("%(query)s: %(neg)d of %(n)d posts in the last hour are negative.") % {
                "query": query.name,
                "neg": negatives[-1],
                "n": known[-1],
            }
            raised += actions.raise_alert(
                query,
                Alert.Kind.NEGATIVE,
                message,
                {"negative": negatives[-1], "known": known[-1]},
                now=now,
                current=current,
            )
        notable = (
            Match.objects.filter(
                query=query,
                matched_at__gte=now - dt.timedelta(minutes=current.alert_interval_minutes),
                author_followers__gte=current.notable_followers,
            )
            .order_by("-author_followers")
            .first()
        )
        if notable is not None:
            message = _("%(query)s: %(author)s (%(followers)d followers) posted about you.") % {
                "query": query.name,
                "author": notable.author_handle or notable.author_id,
                "followers": notable.author_followers or 0,
            }
            raised += actions.raise_alert(
                query,
                Alert.Kind.NOTABLE,
                message,
                {"match": notable.pk, "url": notable.url},
                now=now,
                current=current,
            )
    return raised
