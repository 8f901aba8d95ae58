"""Designs: alternation gives every variant the same slot mix; the cross-over swaps on time."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from chorus.experiments.designs import alternation, crossover, slot_pattern

PARIS = ZoneInfo("Europe/Paris")


def _slots(weeks: int, days: tuple[int, ...], hours: tuple[int, ...]) -> list[dt.datetime]:
    start = dt.datetime(2027, 1, 4, tzinfo=PARIS)  # a Monday
    return [
        (start + dt.timedelta(weeks=w, days=d, hours=h)).astimezone(dt.UTC)
        for w in range(weeks)
        for d in days
        for h in hours
    ]


@pytest.mark.parametrize(("weeks", "variants"), [(4, 2), (5, 2), (5, 3), (7, 4)])
def test_alternation_gives_every_variant_the_same_slot_mix(weeks, variants):
    slots = _slots(weeks, (0, 2, 4), (9, 18))
    placements = alternation(slots, variants=variants, channel_id=1, tz=PARIS)

    assert sorted(p.at for p in placements) == sorted(slots)
    per_pattern: dict[tuple[int, int], Counter[int]] = {}
    for p in placements:
        per_pattern.setdefault(slot_pattern(p.at, PARIS), Counter())[p.variant] += 1
    for counts in per_pattern.values():
        values = [counts.get(v, 0) for v in range(variants)]
        assert max(values) - min(values) <= 1
    totals = Counter(p.variant for p in placements)
    assert max(totals.values()) - min(totals.values()) <= 1


def test_the_crossover_swaps_at_the_middle_of_the_period():
    slots = _slots(4, (1, 3), (12,))
    placements, swap_at = crossover(slots, channel_ids=[10, 20])

    assert swap_at == sorted(slots)[len(slots) // 2]
    for channel, first, second in ((10, 0, 1), (20, 1, 0)):
        mine = [p for p in placements if p.channel_id == channel]
        assert {p.variant for p in mine if p.at < swap_at} == {first}
        assert {p.variant for p in mine if p.at >= swap_at} == {second}
    # At every slot the two channels show different variants.
    by_time: dict[dt.datetime, set[int]] = {}
    for p in placements:
        by_time.setdefault(p.at, set()).add(p.variant)
    assert all(len(v) == 2 for v in by_time.values())


def test_a_design_refuses_what_cannot_be_compared():
    with pytest.raises(ValueError, match="two variants"):
        alternation(_slots(1, (0,), (9,)), variants=1, channel_id=1, tz=PARIS)
    with pytest.raises(ValueError, match="two channels"):
        crossover(_slots(1, (0,), (9,)), channel_ids=[1])
