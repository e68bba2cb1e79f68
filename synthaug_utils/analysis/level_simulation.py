"""How often a paired comparison test rejects: simulated classifiers on shared test images.

The design of every results figure: ``seeds`` runs per arm, each run one trained model scoring the
same ``images`` test images. A test image has a difficulty on the logit scale shared by both arms
and all seeds; each (arm, seed) model has its own quality shift (run-to-run variation, SD ``sigma``
on the logit scale), shared by all of its test images; arm a adds a true effect. The rejection rate
of a test at ``effect_pp = 0`` is its level (how often a star is wrong), at ``effect_pp > 0`` its
power. ``tests/test_stats.py`` checks the primary analysis with it; ``benchmarks/primary_level.py``
prints the full table the Methods page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

IMAGE_SD = 1.5  # SD of test-image difficulty on the logit scale: accuracy near 50%, images from easy to hard


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def logit_shift_for_gain(effect_pp: float, image_sd: float = IMAGE_SD, draws: int = 200_000) -> float:
    """The logit-scale arm effect that raises the expected accuracy by ``effect_pp`` percentage points
    over test images of difficulty N(0, image_sd^2) (base accuracy 50%)."""
    if effect_pp == 0:
        return 0.0
    x = np.random.default_rng(12345).normal(0.0, image_sd, draws)
    base = _expit(x).mean()
    return float(optimize.brentq(lambda d: _expit(x + d).mean() - base - effect_pp / 100.0, -10.0, 10.0))


def simulate_arms(
    seeds: int, images: int, sigma: float, shift: float, rng: np.random.Generator, image_sd: float = IMAGE_SD
) -> tuple[np.ndarray, np.ndarray]:
    """One simulated comparison: 0/1 correctness of arms a and b, each shaped (seeds, images).

    ``sigma``: SD of each (arm, seed) model's logit shift; ``shift``: arm a's true effect on the
    logit scale (:func:`logit_shift_for_gain`).
    """
    difficulty = rng.normal(0.0, image_sd, images)
    run_a = rng.normal(0.0, sigma, (seeds, 1))
    run_b = rng.normal(0.0, sigma, (seeds, 1))
    a = rng.uniform(size=(seeds, images)) < _expit(difficulty + shift + run_a)
    b = rng.uniform(size=(seeds, images)) < _expit(difficulty + run_b)
    return a.astype(float), b.astype(float)


@dataclass(frozen=True)
class RejectionRate:
    """Share of ``replicates`` simulated comparisons with ``p < alpha``, and its binomial standard error."""

    seeds: int
    images: int
    sigma: float
    effect_pp: float
    replicates: int
    rate: float

    @property
    def se(self) -> float:
        return float(np.sqrt(max(self.rate * (1 - self.rate), 1e-12) / self.replicates))


def rejection_rate(
    pvalue: Callable[[np.ndarray, np.ndarray], float],
    seeds: int,
    images: int,
    sigma: float,
    effect_pp: float = 0.0,
    replicates: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> RejectionRate:
    """Rejection rate of ``pvalue(correct_a, correct_b)`` over simulated comparisons (seeded: same numbers twice)."""
    rng = np.random.default_rng([seed, seeds, images, int(round(sigma * 1000)), int(round(effect_pp * 10))])
    shift = logit_shift_for_gain(effect_pp)
    hits = sum(pvalue(*simulate_arms(seeds, images, sigma, shift, rng)) < alpha for _ in range(replicates))
    return RejectionRate(seeds, images, sigma, effect_pp, replicates, hits / replicates)
