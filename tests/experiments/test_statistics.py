"""The statistics tell the truth, checked by simulation: with daily peeking the registered test
crowns a false winner no more often than its level, finds a true effect at the minimum detectable
effect as often as its power, and the posterior probabilities agree with a large Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chorus.experiments.stats import (
    Arm,
    compare_counts,
    fixed_horizon,
    posteriors,
    probability_b_beats_a,
    sample_size_per_variant,
    two_proportion_z,
)

SIMULATIONS = 1000
DAYS = 20  # the team looks every day until the horizon
BASELINE, MDE, ALPHA, POWER = 0.02, 0.004, 0.05, 0.8


def _tolerance(rate: float) -> float:
    """Three standard errors of a proportion estimated from SIMULATIONS runs."""
    return 3 * math.sqrt(rate * (1 - rate) / SIMULATIONS)


def _simulate(rate_a: float, rate_b: float, needed: int, seed: int) -> tuple[float, float, float]:
    """Runs SIMULATIONS experiments with daily looks; returns the rates of experiments in which
    the registered rule named B the winner, named any winner, and in which a naive rule "stop at
    the first look with p < α" named any winner."""
    rng = np.random.default_rng(seed)
    per_day = math.ceil(needed / DAYS)
    successes_a = rng.binomial(per_day, rate_a, size=(SIMULATIONS, DAYS)).cumsum(axis=1)
    successes_b = rng.binomial(per_day, rate_b, size=(SIMULATIONS, DAYS)).cumsum(axis=1)
    registered_b, registered_any, naive = 0, 0, 0
    for run in range(SIMULATIONS):
        naive_called = False
        for day in range(DAYS):
            trials = per_day * (day + 1)
            a = Arm("A", int(successes_a[run, day]), trials)
            b = Arm("B", int(successes_b[run, day]), trials)
            decision = fixed_horizon([a, b], needed, alpha=ALPHA)
            if day < DAYS - 1:
                assert decision.leader is None and not decision.reached  # no winner before the horizon
            else:
                registered_b += decision.leader == "B"
                registered_any += decision.leader is not None
            if not naive_called and two_proportion_z(a, b)[1] < ALPHA:
                naive_called = True
        naive += naive_called
    return registered_b / SIMULATIONS, registered_any / SIMULATIONS, naive / SIMULATIONS


def test_the_sample_needed_for_2_to_2_4_percent_is_about_21000_per_variant():
    needed = sample_size_per_variant(BASELINE, MDE, alpha=ALPHA, power=POWER)
    assert 20_500 <= needed <= 21_500


def test_a_a_experiments_with_daily_peeking_name_a_false_winner_at_most_at_the_stated_level(record_property):
    needed = sample_size_per_variant(BASELINE, MDE, alpha=ALPHA, power=POWER)
    _b, false_winners, naive = _simulate(BASELINE, BASELINE, needed, seed=11)
    record_property("false_winner_rate", false_winners)
    record_property("naive_peeking_false_winner_rate", naive)
    assert false_winners <= ALPHA + _tolerance(ALPHA)
    # Peeking with a naive rule is what the registered horizon protects against.
    assert naive > 2 * ALPHA


def test_a_true_effect_at_the_minimum_detectable_effect_is_found_at_the_stated_power(record_property):
    needed = sample_size_per_variant(BASELINE, MDE, alpha=ALPHA, power=POWER)
    power, _any, _naive = _simulate(BASELINE, BASELINE + MDE, needed, seed=21)
    record_property("power", power)
    assert power >= POWER - _tolerance(POWER)


def test_the_exact_probability_of_beating_agrees_with_a_large_monte_carlo():
    a, b = Arm("A", 40, 2000), Arm("B", 55, 2000)
    rng = np.random.default_rng(3)
    draws = 4_000_000
    reference = (rng.beta(1 + 55, 1 + 1945, draws) > rng.beta(1 + 40, 1 + 1960, draws)).mean()
    assert probability_b_beats_a(a, b) == pytest.approx(reference, abs=0.002)


def test_posteriors_of_three_variants_sum_to_one_and_rank_the_best():
    result = posteriors([Arm("A", 20, 1000), Arm("B", 35, 1000), Arm("C", 21, 1000)])
    assert sum(p.probability_best for p in result) == pytest.approx(1.0, abs=1e-9)
    assert max(result, key=lambda p: p.probability_best).label == "B"
    b = result[1]
    assert b.low < 0.035 < b.high and b.expected_loss < result[0].expected_loss


def test_the_registered_test_says_how_much_is_missing_before_the_horizon():
    decision = fixed_horizon([Arm("A", 10, 400), Arm("B", 30, 1000)], 2000)
    assert not decision.reached and decision.leader is None
    assert decision.missing_trials == 1600


def test_counts_without_exposure_cannot_conclude_and_with_exposure_use_the_exact_test():
    assert not compare_counts((30, 60), None).can_conclude
    same_rate = compare_counts((30, 60), (1000.0, 2000.0))
    assert same_rate.can_conclude and same_rate.p_value == pytest.approx(1.0, abs=0.05)
    assert compare_counts((30, 90), (1000.0, 1000.0)).p_value < 0.001


def test_impossible_inputs_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="baseline"):
        sample_size_per_variant(0.0, 0.01)
    with pytest.raises(ValueError, match="successes"):
        Arm("A", 5, 3)
