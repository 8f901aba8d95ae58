"""How variants are laid out in time and across channels (pure functions, no database).

- **Organic alternation**: one channel, the variants take turns in comparable slots. Slots are
  grouped by their pattern (weekday and hour in the workspace zone); within each pattern the
  variants rotate, and the rotation's starting variant moves on from one pattern to the next, so
  every variant gets the same mix of patterns (counts differ by at most one per pattern) and the
  same total when the slots allow it. The comparison is observational: the audience is not
  randomised, only balanced.
- **Paid split**: one post per variant on the one channel (slot i % len(slots)), each boosted
  identically; Meta's split test then randomizes the audience (paid.py).
- **Organic cross-over**: comparable channels (two language accounts...) get different variants
  in a first period, then swap at its middle, so a channel's own audience difference cancels.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Placement:
    variant: int  # index into the experiment's variants
    channel_id: int
    at: dt.datetime  # UTC


def slot_pattern(at: dt.datetime, tz: ZoneInfo) -> tuple[int, int]:
    local = at.astimezone(tz)
    return local.weekday(), local.hour


def alternation(
    slots: Sequence[dt.datetime], *, variants: int, channel_id: int, tz: ZoneInfo
) -> list[Placement]:
    """Assigns each slot (UTC datetimes, e.g. the channel's queue slots over the period) a variant
    so that every variant gets the same slot mix (see the module docstring)."""
    if variants < 2:
        raise ValueError("an experiment needs at least two variants")
    by_pattern: dict[tuple[int, int], list[dt.datetime]] = defaultdict(list)
    for at in sorted(slots):
        by_pattern[slot_pattern(at, tz)].append(at)
    placements: list[Placement] = []
    counts = [0] * variants
    for pattern in sorted(by_pattern):
        # Start each pattern with the variant that has had the fewest slots so far: totals
        # stay balanced even when a pattern's count is not a multiple of the variants.
        start = min(range(variants), key=lambda v: (counts[v], v))
        for i, at in enumerate(by_pattern[pattern]):
            variant = (start + i) % variants
            counts[variant] += 1
            placements.append(Placement(variant, channel_id, at))
    return sorted(placements, key=lambda p: p.at)


def crossover(
    slots: Sequence[dt.datetime], *, channel_ids: Sequence[int], variants: int = 2
) -> tuple[list[Placement], dt.datetime]:
    """Channel i gets variant i in the first half of the slots and variant i+1 (mod variants) in
    the second; returns the placements and the swap time (the first slot of the second half)."""
    if len(channel_ids) < 2 or variants < 2:
        raise ValueError("a cross-over needs at least two channels and two variants")
    ordered = sorted(slots)
    if len(ordered) < 2:
        raise ValueError("a cross-over needs at least two slots, one per period")
    half = len(ordered) // 2
    swap_at = ordered[half]
    placements = []
    for index, channel_id in enumerate(channel_ids):
        first, second = index % variants, (index + 1) % variants
        for position, at in enumerate(ordered):
            placements.append(Placement(first if position < half else second, channel_id, at))
    return placements, swap_at


def paid_split(slots: Sequence[dt.datetime], *, variants: int, channel_id: int) -> list[Placement]:
    """One post per variant: variant i at slot i (cycling when there are fewer slots)."""
    if variants < 2:
        raise ValueError("an experiment needs at least two variants")
    ordered = sorted(slots)
    return [Placement(i, channel_id, ordered[i % len(ordered)]) for i in range(variants)]
