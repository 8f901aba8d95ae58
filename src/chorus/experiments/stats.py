"""The statistics of an experiment, in one place, with scipy's distributions.

Two views of the same numbers, side by side, because they answer different questions:

- **Bayesian** (beta-binomial): with a Beta(1, 1) prior on each variant's rate, the posterior is
  Beta(1 + successes, 1 + failures). We report each variant's credible interval, the probability
  that it is the best and the expected loss of choosing it (how much rate is given up, on
  average, if it is not the best). These are descriptions, never a stopping rule: a naive rule
  "stop when P(best) > 95 %" checked every day crowns noise as often as naive p-values do.
- **Frequentist, fixed horizon**: the sample each variant needs is registered when the experiment
  starts, from the baseline rate and the minimum detectable effect (two-sided α, power 1 − β).
  The two-proportion z-test is evaluated **once**, when every variant has reached that sample.
  Looking every day before that is safe because no look can declare a winner: the only decision
  is taken at the horizon, so the false-winner rate stays α whatever the number of looks. We
  chose the fixed horizon over an always-valid sequential test (mSPRT, confidence sequences)
  because a small team's posts rarely reach even the fixed-horizon sample: a sequential test
  needs more data still for the same power, and its early stop would seldom happen here.
  The registered sample is the smallest at which the test's exact power (the sum over every
  outcome of the counts) reaches the stated level; the normal formula alone falls a little short
  at some rates. At 2 % → 2.4 %: 21,109 per variant, exact power 80.06 %, exact false-winner
  rate 5.001 % (the z-test's normal approximation; the daily looks add nothing).

Counts without a denominator (replies, saves without impressions) are compared as Poisson rates
per unit of exposure (followers × posts) with the exact conditional binomial test; without an
exposure, the answer is "cannot conclude".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

# numpy and scipy are imported where they are used: importing scipy.stats costs ~2.5 s and ~60 MB,
# and every process that loads the URLconf (web, worker, scheduler, each `chorus` command)
# imports this module through the API; only an experiment's page or job needs them.
if TYPE_CHECKING:
    import numpy as np
    from scipy import stats

PRIOR_ALPHA = 1.0
PRIOR_BETA = 1.0
MONTE_CARLO_DRAWS = 200_000
EXACT_LIMIT = 100_000  # trials per variant up to which the sample's power is checked exactly


@dataclass(frozen=True)
class Arm:
    """One variant's totals: `successes` out of `trials` (e.g. engagements out of impressions)."""

    label: str
    successes: int
    trials: int

    def __post_init__(self) -> None:
        if self.trials < 0 or self.successes < 0 or self.successes > self.trials:
            raise ValueError(f"{self.label}: {self.successes} successes out of {self.trials} trials")

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


# --- sample size -----------------------------------------------------------------------------


def normal_sample_size(baseline: float, mde: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """The textbook sample per variant for `baseline` → `baseline + mde` (absolute), two-sided
    test at `alpha` (normal approximation, pooled variance under the null)."""
    from scipy import stats

    if not 0 < baseline < 1:
        raise ValueError("the baseline rate must be between 0 and 1 (exclusive)")
    target = baseline + mde
    if mde == 0 or not 0 < target < 1:
        raise ValueError("the minimum detectable effect must move the rate to another value between 0 and 1")
    z_alpha = stats.norm.ppf(1 - alpha / 2)
    z_beta = stats.norm.ppf(power)
    pooled = (baseline + target) / 2
    numerator = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_beta * math.sqrt(
        baseline * (1 - baseline) + target * (1 - target)
    )
    return math.ceil(numerator**2 / mde**2)


@functools.lru_cache(maxsize=256)  # pure; the exact check can take a second at some rates
def sample_size_per_variant(baseline: float, mde: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Trials each of two variants needs so that the registered test detects `baseline` →
    `baseline + mde` with at least the stated power. 2 % → 2.4 % at 95 %/80 % needs about
    21,000 impressions per variant.

    The textbook normal formula is the start. The test is run on counts, not on a normal curve,
    and at some rates the formula's sample falls short of the power it claims (50 % → 60 %:
    388 per variant give 79.6 %, not 80 %). So its exact power (`registered_test_rates`) is
    computed, and if it falls short the sample grows until it reaches the stated power. Above
    EXACT_LIMIT trials the approximation's shortfall is below 0.05 points of power and the
    exact sum would be slow, so the formula stands there."""
    start = normal_sample_size(baseline, mde, alpha=alpha, power=power)
    if start > EXACT_LIMIT:
        return start
    target = baseline + mde

    def enough(n: int) -> bool:
        named_b, named_any = registered_test_rates(n, baseline, target, alpha=alpha)
        return (named_b if mde > 0 else named_any - named_b) >= power

    if enough(start):
        return start
    short, high = start, start
    while not enough(high):  # the shortfall is a few per cent of the sample at most
        short, high = high, math.ceil(high * 1.02) + 1
    while high - short > 1:
        middle = (short + high) // 2
        if enough(middle):
            high = middle
        else:
            short = middle
    return high


# --- frequentist: fixed horizon ------------------------------------------------------------


@dataclass(frozen=True)
class FixedHorizon:
    needed_per_variant: int
    reached: bool
    z: float | None
    p_value: float | None
    significant: bool
    leader: str | None
    missing_trials: int
    """How many more trials (impressions…) the variant furthest from the horizon needs."""


def two_proportion_z(a: Arm, b: Arm) -> tuple[float, float]:
    """The pooled two-proportion z statistic of b − a and its two-sided p-value."""
    from scipy import stats

    if a.trials == 0 or b.trials == 0:
        return 0.0, 1.0
    pooled = (a.successes + b.successes) / (a.trials + b.trials)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials))
    if se == 0:
        return 0.0, 1.0
    z = (b.rate - a.rate) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def fixed_horizon(arms: Sequence[Arm], needed_per_variant: int, *, alpha: float = 0.05) -> FixedHorizon:
    """The registered test: no decision before every variant reached `needed_per_variant`. With
    more than two variants, each challenger is compared with the first (the control) and the
    threshold is Bonferroni-corrected."""
    missing = max(0, max(needed_per_variant - arm.trials for arm in arms))
    if missing > 0:
        return FixedHorizon(needed_per_variant, False, None, None, False, None, missing)
    control, challengers = arms[0], arms[1:]
    threshold = alpha / max(1, len(challengers))
    best: tuple[float, float, Arm] | None = None
    for arm in challengers:
        z, p = two_proportion_z(control, arm)
        if best is None or p < best[1]:
            best = (z, p, arm)
    assert best is not None
    z, p, arm = best
    significant = p < threshold
    leader = (arm.label if z > 0 else control.label) if significant else None
    return FixedHorizon(needed_per_variant, True, z, p, significant, leader, 0)


def registered_test_rates(
    needed_per_variant: int, rate_a: float, rate_b: float, *, alpha: float = 0.05
) -> tuple[float, float]:
    """Exactly how often the registered test, run once at the horizon on two variants of
    `needed_per_variant` trials each, names B the winner and names any winner, when the true
    rates are `rate_a` and `rate_b`: the sum over every pair of binomial outcomes (tails beyond
    1e-10 dropped). With rate_b = rate_a + the minimum effect the first number is the test's
    power; with rate_b = rate_a the second is its false-winner rate. This is what a simulation
    of the test estimates, without the simulation's sampling error."""
    import numpy as np
    from scipy import stats

    n = int(needed_per_variant)

    def outcomes(rate: float) -> tuple[np.ndarray, np.ndarray]:
        dist = stats.binom(n, rate)
        counts = np.arange(dist.ppf(1e-10), dist.isf(1e-10) + 1)
        return counts, dist.pmf(counts)

    (hits_a, weight_a), (hits_b, weight_b) = outcomes(rate_a), outcomes(rate_b)
    a, b = np.meshgrid(hits_a, hits_b, indexing="ij")
    pooled = (a + b) / (2 * n)
    se = np.sqrt(pooled * (1 - pooled) * 2 / n)
    z = np.divide(b - a, n * se, out=np.zeros_like(se), where=se > 0)
    winner = 2 * stats.norm.sf(np.abs(z)) < alpha  # two_proportion_z and fixed_horizon, vectorised
    weight = np.outer(weight_a, weight_b)
    return float(weight[winner & (z > 0)].sum()), float(weight[winner].sum())


# --- Bayesian description --------------------------------------------------------------------


@dataclass(frozen=True)
class Posterior:
    label: str
    mean: float
    low: float
    high: float
    probability_best: float
    expected_loss: float


def _posterior(arm: Arm) -> stats.rv_continuous:
    from scipy import stats

    return stats.beta(PRIOR_ALPHA + arm.successes, PRIOR_BETA + arm.trials - arm.successes)


def probability_b_beats_a(a: Arm, b: Arm) -> float:
    """P(rate_b > rate_a) under independent Beta posteriors, exactly (the sum over the
    integer shape parameter of b, in log space; Evan Miller's closed form)."""
    import numpy as np
    from scipy import integrate
    from scipy.special import betaln

    alpha_a, beta_a = PRIOR_ALPHA + a.successes, PRIOR_BETA + a.trials - a.successes
    alpha_b, beta_b = PRIOR_ALPHA + b.successes, PRIOR_BETA + b.trials - b.successes
    if float(alpha_b).is_integer():
        i = np.arange(int(alpha_b))
        terms = (
            betaln(alpha_a + i, beta_a + beta_b)
            - np.log(beta_b + i)
            - betaln(1 + i, beta_b)
            - betaln(alpha_a, beta_a)
        )
        return float(np.exp(terms).sum())
    # Non-integer priors: integrate P(b > x) against a's density.
    dist_a, dist_b = _posterior(a), _posterior(b)
    value, _error = integrate.quad(lambda x: dist_a.pdf(x) * dist_b.sf(x), 0, 1, limit=200)
    return float(value)


def posteriors(arms: Sequence[Arm], *, credibility: float = 0.95, seed: int = 0) -> list[Posterior]:
    """Each variant's posterior mean and credible interval, the probability it is the best and
    its expected loss. Two variants: exact probabilities; more: Monte Carlo with a fixed seed."""
    import numpy as np

    dists = [_posterior(arm) for arm in arms]
    tail = (1 - credibility) / 2
    if len(arms) == 2:
        p_second = probability_b_beats_a(arms[0], arms[1])
        best = [1 - p_second, p_second]
    else:
        best = []
    rng = np.random.default_rng(seed)
    draws = np.column_stack([dist.rvs(size=MONTE_CARLO_DRAWS, random_state=rng) for dist in dists])
    if not best:
        winners = draws.argmax(axis=1)
        best = [float((winners == i).mean()) for i in range(len(arms))]
    top = draws.max(axis=1)
    return [
        Posterior(
            label=arm.label,
            mean=float(dist.mean()),
            low=float(dist.ppf(tail)),
            high=float(dist.ppf(1 - tail)),
            probability_best=float(best[i]),
            expected_loss=float((top - draws[:, i]).mean()),
        )
        for i, (arm, dist) in enumerate(zip(arms, dists, strict=True))
    ]


# --- counts with exposure ------------------------------------------------------------------


@dataclass(frozen=True)
class CountComparison:
    can_conclude: bool
    rate_ratio: float | None
    p_value: float | None


def compare_counts(counts: tuple[int, int], exposures: tuple[float, float] | None) -> CountComparison:
    """Two Poisson counts with exposures (followers × posts): conditional on the total, the first
    count is binomial with p = e1 / (e1 + e2) under equal rates (exact test). No exposure, no
    conclusion: raw counts of unequal audiences say nothing about the content."""
    from scipy import stats

    if exposures is None or min(exposures) <= 0:
        return CountComparison(False, None, None)
    total = counts[0] + counts[1]
    if total == 0:
        return CountComparison(False, None, None)
    share = exposures[0] / (exposures[0] + exposures[1])
    p = stats.binomtest(counts[0], total, share).pvalue
    ratio = (counts[1] / exposures[1]) / (counts[0] / exposures[0]) if counts[0] else None
    return CountComparison(True, ratio, float(p))
