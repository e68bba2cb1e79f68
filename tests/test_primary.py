"""The primary analysis (stats.primary_comparison): its arithmetic, its edge cases, and its level and power
on simulated classifiers whose runs vary (analysis.level_simulation)."""

from __future__ import annotations

import numpy as np
import pytest

from synthaug_utils.analysis import level_simulation as sim
from synthaug_utils.analysis import stats


def _p(a, b) -> float:
    return stats.primary_comparison(a, b).p_value


def _anova_by_hand(d: np.ndarray) -> float:
    """Variance of the grand mean of a (seeds, images) table under crossed random effects, no clamping."""
    s, i = d.shape
    g = d.mean()
    ms_seed = i * ((d.mean(1) - g) ** 2).sum() / (s - 1)
    ms_image = s * ((d.mean(0) - g) ** 2).sum() / (i - 1)
    resid = d - d.mean(1, keepdims=True) - d.mean(0, keepdims=True) + g
    ms_resid = (resid**2).sum() / ((s - 1) * (i - 1))
    return (ms_seed + ms_image - ms_resid) / (s * i)


def test_primary_comparison_matches_the_anova_by_hand_and_its_interval_matches_its_p():
    rng = np.random.default_rng(3)
    a, b = sim.simulate_arms(5, 360, 0.3, sim.logit_shift_for_gain(6), rng)
    res = stats.primary_comparison(a, b)
    assert res.diff == pytest.approx(a.mean() - b.mean())
    assert res.var_seed > 0 and res.var_image > 0  # both components kept here, so no clamping
    assert res.se**2 == pytest.approx(_anova_by_hand(a - b))
    assert 4 <= res.df < 360 and res.seeds == 5 and res.images == 360 and res.note == ""
    # the interval and the p-value come from the same t: the interval's edge is where p = 0.05
    from scipy import stats as sps

    t = sps.t.ppf(0.975, res.df)
    assert (res.ci_high - res.diff) == pytest.approx(t * res.se) and (res.diff - res.ci_low) == pytest.approx(
        t * res.se
    )
    assert res.p_value == pytest.approx(2 * sps.t.sf(abs(res.diff) / res.se, res.df))
    assert stats.primary_comparison(a, b) == res  # analytic: same numbers twice


def test_a_star_never_sits_on_an_interval_containing_zero():
    rng = np.random.default_rng(4)
    for trial in range(300):
        seeds = (1, 2, 3, 5)[trial % 4]
        images = (32, 40, 120)[trial % 3]
        a, b = sim.simulate_arms(seeds, images, 0.3, sim.logit_shift_for_gain(rng.uniform(-10, 10)), rng)
        res = stats.primary_comparison(a, b)
        assert (res.p_value < 0.05) == (res.ci_low > 0 or res.ci_high < 0), (seeds, images, res)


def test_run_to_run_variation_widens_the_interval():
    """The same per-image data, but one arm's seeds shifted in opposite directions: the per-image view
    is unchanged on average, the run level is not, and the interval must say so."""
    rng = np.random.default_rng(5)
    a, b = sim.simulate_arms(5, 360, 0.0, 0.0, rng)
    flat = stats.primary_comparison(a, b)
    shifted = a.copy()
    for s, sign in enumerate((1, -1, 1, -1, 0)):
        pool = np.flatnonzero(shifted[s] == (0 if sign > 0 else 1))
        shifted[s, pool[:40]] = 1 if sign > 0 else 0
    varied = stats.primary_comparison(shifted, b)
    assert varied.ci_high - varied.ci_low > 2 * (flat.ci_high - flat.ci_low)


def test_few_seeds_and_edge_cases():
    rng = np.random.default_rng(6)
    a, b = sim.simulate_arms(1, 200, 0.0, sim.logit_shift_for_gain(10), rng)
    one = stats.primary_comparison(a[0], b[0])  # a 1-D array is one seed
    d = a[0] - b[0]
    assert one.se == pytest.approx(d.std(ddof=1) / np.sqrt(200)) and one.df == 199 and "one seed" in one.note
    two = stats.primary_comparison(*sim.simulate_arms(2, 200, 0.0, 0.0, rng))
    assert "two seeds" in two.note and two.var_seed >= 0
    same = stats.primary_comparison(np.ones((3, 10)), np.ones((3, 10)))
    assert same.p_value == 1.0 and same.ci_low == same.ci_high == 0.0 and same.note
    with pytest.raises(ValueError, match="same seeds and test images"):
        stats.primary_comparison(np.ones((2, 10)), np.ones((3, 10)))
    with pytest.raises(ValueError, match="0/1"):
        stats.primary_comparison(np.full((2, 10), 0.5), np.ones((2, 10)))


# The level-and-power check: 5 seeds x 360 test images (Fig. 3 on the paper profile), 5 x 32 (a skin-tone
# bin of Fig. 5) and 5 x 40 (a rare label of Fig. S-2); per-run logit SD 0, 0.1 and 0.2 (0.2 is a per-run
# accuracy SD of about 4.7 pp). benchmarks/primary_level.py prints the full table with more replicates.
REPLICATES = 240
DESIGNS = [(5, 360), (5, 32), (5, 40)]


@pytest.mark.parametrize("seeds,images", DESIGNS)
def test_primary_analysis_holds_its_level_when_runs_vary(seeds, images):
    rates = {
        sigma: sim.rejection_rate(_p, seeds, images, sigma, 0.0, REPLICATES, seed=1).rate for sigma in (0.0, 0.1, 0.2)
    }
    print(f"level at alpha 0.05, {seeds} seeds x {images} images: {rates}")
    assert all(rate <= 0.08 for rate in rates.values()), rates
    if images == 360:
        assert rates[0.2] >= 0.01, rates  # a test that never rejects is no test
    power = sim.rejection_rate(_p, seeds, images, 0.2, 8.0, REPLICATES, seed=1).rate
    print(f"power at +8 pp, sigma 0.2: {power:.2f}")
    assert power > (0.4 if images == 360 else 0.05)


def test_a_test_that_ignores_the_run_level_fails_the_level_check():
    """The check has teeth: a per-image paired test that treats seeds as fixed - the mistake of a GEE
    clustered by test image - rejects far too often once runs vary."""

    def seeds_fixed(a, b):
        d = (a - b).mean(axis=0)  # per-image mean over seeds: the run level averages into the images
        from scipy import stats as sps

        return float(sps.ttest_1samp(d, 0.0).pvalue) if d.std() > 0 else 1.0

    rate = sim.rejection_rate(seeds_fixed, 5, 360, 0.2, 0.0, REPLICATES, seed=1).rate
    assert rate > 0.15, rate
