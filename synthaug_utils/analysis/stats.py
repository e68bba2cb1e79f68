"""Statistics for the results chapters: Wald intervals, proportion tests, BH, the primary paired comparison.

Conventions:

* Accuracies are **proportions in [0, 1]** everywhere in this module; the chapters
  multiply by 100 for display.
* Two analyses are offered, and the results chapters show both:

  - **The paper's convention** (:func:`paper_convention_test`, :func:`paper_convention_interval`):
    the mean accuracy over runs, tested and given Wald intervals with ``n`` = the test set of
    **one run** per arm (360 images for F17k-9, 32 per skin-tone bin for DDI), BH-adjusted over a
    figure's comparisons. This reproduces the paper's printed p-values from its printed
    accuracies (``tests/test_stats.py``); pooling seeds x test images (``n`` = 1,800) does not.
  - **The primary analysis of this project** (:func:`primary_comparison`), which respects the
    design: the same test images are scored by every seed, both arms share seeds, and each run is
    one trained model whose own quality varies from run to run. The paired difference of per-image
    correctness is modelled with crossed random effects of runs and test images, so that its
    interval and p-value (one estimate, Satterthwaite t) carry both sources of variance.
    ``benchmarks/primary_level.py`` simulates its level and power.

* :func:`pooled_accuracy` (k correct out of seeds x images) is a point estimate only: a Wald
  interval or proportion test on the pooled count treats the ``seeds * images`` predictions
  as independent, which they are not, and is used by neither analysis.
* Correctness arrays hold 0/1 (or bool) per test image, shaped ``(images,)`` for one
  seed or ``(seeds, images)`` for several seeds evaluated on the same test images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _sps

from synthaug_utils.core import profiles

__all__ = [
    "wald_interval",
    "proportions_test",
    "benjamini_hochberg",
    "paired_bootstrap_diff",
    "pooled_accuracy",
    "per_seed_accuracy",
    "seed_spread",
    "SeedSpread",
    "significance_stars",
    "two_sample_ttest",
    "TTestResult",
    "paper_convention_test",
    "paper_convention_interval",
    "two_sided_z",
    "primary_comparison",
    "PRIMARY_ANALYSIS_TEXT",
    "PrimaryComparison",
    "se_from_interval",
]


def _z(alpha: float) -> float:
    """Two-sided standard normal critical value z_{1 - alpha/2}."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return two_sided_z(alpha)


def two_sided_z(p: float) -> float:
    """The standard normal quantile of a two-sided p-value (or level): z with P(|Z| > z) = p; 0 at p = 1."""
    return float(_sps.norm.isf(min(max(p, 1e-300), 1.0) / 2.0))


def se_from_interval(low, high, alpha: float = 0.05):
    """Standard error implied by a symmetric normal ``1 - alpha`` interval: ``(high - low) / (2 z)``, in
    the interval's units (3.92 in the denominator for 95%). Scalars or arrays."""
    return (high - low) / (2 * _z(alpha))


def _scalar_or_array(x: np.ndarray):
    """Return a Python float for 0-d results, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else x


def wald_interval(k, n, alpha: float = 0.05, clip: bool = True):
    """Wald (normal-approximation) confidence interval for a proportion ``k / n``.

    ``low, high = p -/+ z_{1-alpha/2} * sqrt(p (1 - p) / n)`` with ``p = k / n``, clipped to
    [0, 1]; the same values as ``statsmodels.stats.proportion.proportion_confint(method="normal")``
    (statsmodels 0.15 clips too).

    Args:
        k: number of successes (e.g. correct test predictions); scalar or array.
        n: number of trials; scalar or array broadcastable with ``k``.
        alpha: 1 - confidence level (0.05 for a 95% interval).
        clip: clip the bounds to [0, 1] (default, as statsmodels); False gives the raw formula.

    Returns:
        ``(low, high)`` as proportions in [0, 1] units (floats for scalar input, arrays
        otherwise). ``n == 0`` gives NaN bounds.

    Raises:
        ValueError: ``k`` outside ``[0, n]`` or negative ``n``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n < 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError(f"wald_interval needs 0 <= k <= n; got k={k!r}, n={n!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1.0), np.nan)
        half = _z(alpha) * np.sqrt(p * (1.0 - p) / np.where(n > 0, n, np.nan))
    low, high = p - half, p + half
    if clip:
        low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    return _scalar_or_array(low), _scalar_or_array(high)


def proportions_test(k1, n1, k2, n2, continuity: bool = False):
    """Two-sided p-value of the pooled two-sample z-test for equal proportions.

    ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with the pooled ``p = (k1 + k2) / (n1 + n2)``;
    the same statistic as ``statsmodels.stats.proportion.proportions_ztest`` (``prop_var=False``).

    With ``continuity=True``, Yates' continuity correction: ``|p1 - p2|`` is reduced by
    ``(1/n1 + 1/n2) / 2`` (never below 0), which is R's ``prop.test`` default and
    ``scipy.stats.chi2_contingency(correction=True)`` on the 2 x 2 table (z squared is its chi-square).

    Degenerate inputs (statsmodels returns NaN there): when the pooled proportion is 0 or 1
    (both groups 0% or both 100%) the observed proportions are identical and the p-value
    is defined as **1.0**. Any ``n == 0`` gives NaN (no data, no test).

    Args:
        k1, n1: successes and trials of group 1 (scalars or arrays, broadcast together).
        k2, n2: successes and trials of group 2.
        continuity: apply Yates' continuity correction (default False: the plain z-test).

    Returns:
        p-value in [0, 1] (float for scalar input, array otherwise).
    """
    k1, n1, k2, n2 = (np.asarray(v, dtype=float) for v in (k1, n1, k2, n2))
    if np.any(n1 < 0) or np.any(n2 < 0) or np.any((k1 < 0) | (k1 > n1)) or np.any((k2 < 0) | (k2 > n2)):
        raise ValueError("proportions_test needs 0 <= k <= n in both groups")
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
        diff = np.abs(p1 - p2)
        if continuity:
            diff = np.maximum(diff - 0.5 * (1.0 / n1 + 1.0 / n2), 0.0)
        p = 2.0 * _sps.norm.sf(diff / se)
    p = np.where(se == 0.0, 1.0, p)
    p = np.where((n1 == 0) | (n2 == 0), np.nan, p)
    return _scalar_or_array(p)


def benjamini_hochberg(pvalues) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), in input order.

    The same values as ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]``:
    ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` over the sorted p-values. NaNs are passed
    through and excluded from the family size ``m``.

    Args:
        pvalues: sequence or array of p-values in [0, 1] (any shape; flattened and restored).

    Returns:
        float array of the input's shape.
    """
    p = np.asarray(pvalues, dtype=float)
    shape = p.shape
    flat = p.ravel()
    out = np.full(flat.shape, np.nan)
    ok = ~np.isnan(flat)
    vals = flat[ok]
    if np.any((vals < 0) | (vals > 1)):
        raise ValueError(f"p-values must lie in [0, 1]; got {vals[(vals < 0) | (vals > 1)][:5]}")
    m = vals.size
    if m:
        order = np.argsort(vals, kind="mergesort")
        ranked = vals[order] * m / np.arange(1, m + 1)
        adjusted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
        q = np.empty(m)
        q[order] = adjusted
        out[ok] = q
    return out.reshape(shape)


def _as_seed_matrix(correct, name: str) -> np.ndarray:
    """(images,) or (seeds, images) 0/1 data -> float array (seeds, images)."""
    arr = np.asarray(correct, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be shaped (images,) or (seeds, images) with images > 0; got {arr.shape}")
    if np.any((arr != 0) & (arr != 1)):
        raise ValueError(f"{name} must hold 0/1 correctness values")
    return arr


def paired_bootstrap_diff(correct_a, correct_b, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05):
    """Paired percentile-bootstrap interval for ``accuracy(a) - accuracy(b)`` on the same test images.

    Test images are resampled with replacement; the same resampled images are used for
    both models (paired), and with several seeds all seeds' predictions of a resampled
    image move together (images are the resampling unit, seeds are not resampled).

    Args:
        correct_a: 0/1 correctness, shaped ``(images,)`` or ``(seeds_a, images)``.
        correct_b: the same test images, shaped ``(images,)`` or ``(seeds_b, images)``;
            column ``j`` of both arrays must be the same test image.
        n_boot: bootstrap resamples.
        seed: seed of the numpy generator (same seed, same interval).
        alpha: 1 - confidence level.

    Returns:
        ``(diff, low, high)``: the observed difference of pooled accuracies
        ``acc(a) - acc(b)`` and its ``(alpha/2, 1 - alpha/2)`` percentile interval, all as
        proportions (multiply by 100 for percentage points).
    """
    a = _as_seed_matrix(correct_a, "correct_a")
    b = _as_seed_matrix(correct_b, "correct_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"paired bootstrap needs the same test images: {a.shape[1]} vs {b.shape[1]} columns")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    _z(alpha)  # validates alpha
    # Per-image difference of seed-averaged correctness: the mean over seeds x resampled
    # images equals the mean over resampled images of these per-image means.
    per_image = a.mean(axis=0) - b.mean(axis=0)
    n_images = per_image.size
    diff = float(per_image.mean())
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n_images)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n_images, size=(stop - start, n_images))
        boots[start:stop] = per_image[idx].mean(axis=1)
    low, high = np.quantile(boots, [alpha / 2.0, 1.0 - alpha / 2.0])
    return diff, float(low), float(high)


def _seed_rows(correct) -> list[np.ndarray]:
    """Per-seed 0/1 arrays from a (seeds, images) array, a 1-D array, or a list of 1-D arrays."""
    if isinstance(correct, np.ndarray) and correct.ndim in (1, 2):
        rows = [correct] if correct.ndim == 1 else list(correct)
    elif isinstance(correct, (list, tuple)) and correct and np.ndim(correct[0]) == 0:
        rows = [np.asarray(correct)]
    else:
        rows = list(correct)
    out = []
    for i, row in enumerate(rows):
        r = np.asarray(row, dtype=float).ravel()
        if r.size == 0 or np.any((r != 0) & (r != 1)):
            raise ValueError(f"seed {i}: correctness must be a non-empty 0/1 array")
        out.append(r)
    if not out:
        raise ValueError("no seeds given")
    return out


def pooled_accuracy(correct) -> tuple[int, int, float]:
    """Pooled accuracy over seeds x test images.

    Args:
        correct: 0/1 correctness, shaped ``(images,)`` or ``(seeds, images)``, or a list of
            per-seed 1-D arrays (lengths may differ, e.g. a failed prediction dropped).

    Returns:
        ``(k, n, acc)``: correct predictions, total predictions (summed over seeds) and
        ``acc = k / n`` as a proportion in [0, 1].
    """
    rows = _seed_rows(correct)
    k = int(sum(r.sum() for r in rows))
    n = int(sum(r.size for r in rows))
    return k, n, k / n


def per_seed_accuracy(correct) -> np.ndarray:
    """Accuracy of each seed (proportions), shape ``(seeds,)``; input as :func:`pooled_accuracy`."""
    return np.array([r.mean() for r in _seed_rows(correct)])


@dataclass(frozen=True)
class SeedSpread:
    """Spread of per-seed accuracies (proportions in [0, 1]).

    ``sd`` is the sample standard deviation (ddof=1; NaN for a single seed).
    """

    per_seed: tuple[float, ...]
    mean: float
    sd: float
    min: float
    max: float

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)


def seed_spread(correct) -> SeedSpread:
    """Per-seed accuracies and their mean, sd (ddof=1), min and max; input as :func:`pooled_accuracy`."""
    acc = per_seed_accuracy(correct)
    sd = float(acc.std(ddof=1)) if acc.size > 1 else float("nan")
    return SeedSpread(tuple(float(a) for a in acc), float(acc.mean()), sd, float(acc.min()), float(acc.max()))


def significance_stars(p) -> str | list[str]:
    """Asterisks of the paper's figures: ``'***'`` p<0.001, ``'**'`` p<0.01, ``'*'`` p<0.05, else ``''``.

    NaN gives ``''``. A scalar gives a string; a sequence or array gives a list of strings
    (flattened).
    """

    def one(v: float) -> str:
        if v is None or np.isnan(v):
            return ""
        if v < 0.001:
            return "***"
        if v < 0.01:
            return "**"
        if v < 0.05:
            return "*"
        return ""

    if np.ndim(p) == 0:
        return one(float(p) if p is not None else np.nan)
    return [one(float(v)) for v in np.asarray(p, dtype=float).ravel()]


@dataclass(frozen=True)
class TTestResult:
    """Two-sample t-test of ``mean(a) - mean(b)`` (in the units of the inputs)."""

    mean_a: float
    mean_b: float
    n_a: int
    n_b: int
    statistic: float
    p_value: float


def two_sample_ttest(a: Sequence[float], b: Sequence[float], equal_var: bool = True) -> TTestResult:
    """Two-sided two-sample t-test (Student's by default; Welch's with ``equal_var=False``).

    Used for embedding distances (e.g. cosine distances of random real-real pairs against
    matched synthetic-source pairs). Thin wrapper over ``scipy.stats.ttest_ind`` that also
    returns the means and sizes. NaNs in the inputs are dropped.

    Args:
        a, b: 1-D samples (e.g. cosine distances, unitless in [0, 2]).
        equal_var: pooled-variance Student test (the classic "two-sample t-test") if True.
    """
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if x.size < 2 or y.size < 2:
        raise ValueError(f"two_sample_ttest needs >= 2 values per sample; got {x.size} and {y.size}")
    res = _sps.ttest_ind(x, y, equal_var=equal_var)
    return TTestResult(
        float(x.mean()), float(y.mean()), int(x.size), int(y.size), float(res.statistic), float(res.pvalue)
    )


# ----------------------------------------------------------------------------- the paper's convention
def paper_convention_test(acc_a, acc_b, n_test_a, n_test_b=None, continuity: bool = True):
    """The paper's with-vs-without test: a two-sample proportion test of the **mean accuracies over
    runs** with ``n`` = the test set of one run per arm (not seeds x test images), with Yates'
    continuity correction (R's ``prop.test`` default).

    The correction is what matches the paper: its one fully specified comparison, 29.4% vs 26.3% at
    n = 360 per arm, is printed p = 0.39; the corrected test gives 0.398 (0.382 to 0.415 over the
    accuracies that round to the printed ones), the uncorrected z-test 0.354 (at most 0.369).

    Args:
        acc_a, acc_b: mean accuracies over runs (proportions in [0, 1]); scalars or arrays.
        n_test_a: test images per run of arm a (e.g. 360); ``n_test_b`` defaults to it.
        continuity: Yates' correction (default True); False gives the plain pooled z-test.

    Returns:
        the two-sided p-value of :func:`proportions_test` on ``(acc_a * n, n, acc_b * n, n)``
        (counts need not be whole: a mean over runs of k / n times n).
    """
    n_b = n_test_a if n_test_b is None else n_test_b
    a, b = np.asarray(acc_a, dtype=float), np.asarray(acc_b, dtype=float)
    if np.any((a < 0) | (a > 1)) or np.any((b < 0) | (b > 1)):
        raise ValueError(f"accuracies must be proportions in [0, 1]; got {acc_a!r}, {acc_b!r}")
    return proportions_test(a * n_test_a, n_test_a, b * n_b, n_b, continuity=continuity)


def paper_convention_interval(acc, n_test, alpha: float = 0.05):
    """The paper's error bar: a Wald interval of the mean accuracy over runs with ``n`` = one run's test set."""
    acc = np.asarray(acc, dtype=float)
    return wald_interval(acc * n_test, n_test, alpha=alpha)


# ----------------------------------------------------------------------------- the primary analysis
PRIMARY_ANALYSIS_TEXT = (
    "The primary analysis takes the paired difference of per-image correctness (same seed, same test image) "
    "and estimates the variance of its mean from a crossed random-effects model of seeds (runs) and test "
    "images, so that run-to-run variation and test-image sampling are both in the interval and the p-value "
    "(Satterthwaite t; the interval and the p-value come from the same estimate)."
)


@dataclass(frozen=True)
class PrimaryComparison:
    """The primary comparison of two arms scored on the same test images by the same seeds.

    All differences are proportions (multiply by 100 for percentage points).

    Attributes:
        diff: accuracy(a) - accuracy(b), the mean of the paired differences over seeds x images.
        ci_low, ci_high: the 95% interval ``diff -/+ t_{df} * se``.
        p_value: two-sided p of ``diff / se`` against Student's t with ``df`` degrees of freedom.
        se: standard error of ``diff`` (run level and test-image level together).
        df: Satterthwaite degrees of freedom.
        seeds, images: the design (rows and columns of the correctness arrays).
        var_seed, var_image, var_residual: the variance components of the paired difference
            (per seed, per test image, per seed-and-image; proportions squared, clamped at 0).
        note: why the result is special (one seed, two seeds, identical arms); empty otherwise.
    """

    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    se: float
    df: float
    seeds: int
    images: int
    var_seed: float
    var_image: float
    var_residual: float
    note: str = ""


FLOOR_RUN_TERM_UP_TO = profiles.threshold("FLOOR_RUN_TERM_UP_TO")  # seeds; see primary_comparison


def primary_comparison(correct_a, correct_b, alpha: float = 0.05) -> PrimaryComparison:
    """Paired accuracy difference of two arms with run-to-run and test-image variance in one model.

    The paired difference ``d[s, i] = correct_a[s, i] - correct_b[s, i]`` of seed ``s`` (one trained
    model per arm) and test image ``i`` follows a two-way crossed random-effects model
    ``d = mu + run_s + image_i + e_si``: ``run_s`` is the part of the arm effect that changes from
    run to run (each arm's own training noise, and in the paper each seed's training subset), shared
    by all test images of that run; ``image_i`` is the part that belongs to the test image, shared by
    all seeds. The variance of the mean difference is ``var_run / S + var_image / I + var_e / (S I)``,
    estimated from the two-way ANOVA mean squares (method of moments, each component clamped at 0)
    with Satterthwaite degrees of freedom. The interval ``diff -/+ t * se`` and the p-value come
    from the same estimate, so ``p < alpha`` exactly when the interval excludes 0.

    Fewer seeds than three:

    - one seed: a paired t-test over test images (``var_run`` cannot be estimated; ``note`` says so);
    - two or three seeds: the run component has 1 or 2 degrees of freedom and falls below its floor
      by chance so often that clamping it at 0 rejects too often (two seeds: 11-14%, three seeds:
      up to 9% at a 5% level in ``benchmarks/primary_level.py``); it is kept at its floor instead,
      with its degrees of freedom in the Satterthwaite sum. The test then holds its level; with two
      seeds it has almost no power.

    Args:
        correct_a, correct_b: 0/1 arrays shaped ``(seeds, images)`` (or ``(images,)`` for one seed);
            row ``i`` of both from the same seed, column ``j`` the same test image.
        alpha: 1 - confidence level of the interval.

    Returns:
        :class:`PrimaryComparison`.
    """
    a = _as_seed_matrix(correct_a, "correct_a")
    b = _as_seed_matrix(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(
            f"primary_comparison needs the same seeds and test images in both arms: {a.shape} vs {b.shape}"
        )
    _z(alpha)
    d = a - b
    seeds, images = d.shape
    diff = float(d.mean())
    if images < 2:
        raise ValueError(f"primary_comparison needs at least 2 test images, got {images}")
    if seeds == 1:
        ms_image = float(d[0].var(ddof=1))
        terms = [(ms_image, images - 1)]
        var_seed, var_image, var_resid = float("nan"), ms_image, float("nan")
        note = "one seed: run-to-run variance cannot be estimated and is not in this p-value"
    else:
        row, col = d.mean(axis=1), d.mean(axis=0)
        ms_seed = images * float(row.var(ddof=1))
        ms_image = seeds * float(col.var(ddof=1))
        resid = d - row[:, None] - col[None, :] + diff
        ms_resid = float((resid**2).sum()) / ((seeds - 1) * (images - 1))
        df_seed, df_image, df_resid = seeds - 1, images - 1, (seeds - 1) * (images - 1)
        keep_seed = ms_seed > ms_resid or seeds <= FLOOR_RUN_TERM_UP_TO
        keep_image = ms_image > ms_resid
        seed_ms = max(ms_seed, ms_resid)
        # var(mean) * S * I = (MS_seed - MS_e) + (MS_image - MS_e) + MS_e over the kept components:
        # each mean square once, with its coefficient, for the Satterthwaite sum
        kept = int(keep_seed) + int(keep_image)
        terms = (
            [(seed_ms, df_seed)] * keep_seed + [(ms_image, df_image)] * keep_image + [((1 - kept) * ms_resid, df_resid)]
        )
        var_seed = (seed_ms - ms_resid) / images if keep_seed else 0.0
        var_image = (ms_image - ms_resid) / seeds if keep_image else 0.0
        var_resid = ms_resid
        note = "two seeds: run-to-run variance has 1 degree of freedom; the test has little power" if seeds == 2 else ""
    total = sum(v for v, _ in terms)
    se = float(np.sqrt(max(total, 0.0) / (seeds * images)))
    denom = sum(v**2 / df_ for v, df_ in terms if v != 0.0)
    df = float(total**2 / denom) if denom > 0 else float(images - 1)
    if se == 0.0:
        note = note or "the arms agree on every image in every seed"
        return PrimaryComparison(
            diff, diff, diff, 1.0 if diff == 0 else 0.0, 0.0, df, seeds, images, var_seed, var_image, var_resid, note
        )
    t_crit = float(_sps.t.ppf(1.0 - alpha / 2.0, df))
    p = float(2.0 * _sps.t.sf(abs(diff) / se, df))
    return PrimaryComparison(
        diff, diff - t_crit * se, diff + t_crit * se, p, se, df, seeds, images, var_seed, var_image, var_resid, note
    )
