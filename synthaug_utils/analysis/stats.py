"""Statistics for the results chapters: Wald intervals, proportion tests, BH, paired bootstrap.

Conventions (see ``shared/PROTOCOL.md``, "Statistics"):

* Accuracies are **proportions in [0, 1]** everywhere in this module; the chapters
  multiply by 100 for display.
* Accuracy over several seeds is the **pooled proportion** over seeds x test images:
  ``k`` correct predictions out of ``n = seeds * images`` (:func:`pooled_accuracy`). The
  per-seed spread is reported beside it (:func:`seed_spread`). Note that a Wald interval
  on the pooled count treats the ``seeds * images`` predictions as independent, which
  they are not (every seed sees the same test images); it is the paper's convention,
  and the paired bootstrap (:func:`paired_bootstrap_diff`) resamples test images to
  account for that dependence.
* Correctness arrays hold 0/1 (or bool) per test image, shaped ``(images,)`` for one
  seed or ``(seeds, images)`` for several seeds evaluated on the same test images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as _sps

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
]


def _z(alpha: float) -> float:
    """Two-sided standard normal critical value z_{1 - alpha/2}."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return float(_sps.norm.isf(alpha / 2.0))


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


def proportions_test(k1, n1, k2, n2):
    """Two-sided p-value of the pooled two-sample z-test for equal proportions.

    ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with the pooled ``p = (k1 + k2) / (n1 + n2)``;
    the same statistic as ``statsmodels.stats.proportion.proportions_ztest`` (``prop_var=False``).

    Degenerate inputs (statsmodels returns NaN there): when the pooled proportion is 0 or 1
    (both groups 0% or both 100%) the observed proportions are identical and the p-value
    is defined as **1.0**. Any ``n == 0`` gives NaN (no data, no test).

    Args:
        k1, n1: successes and trials of group 1 (scalars or arrays, broadcast together).
        k2, n2: successes and trials of group 2.

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
        z = (p1 - p2) / se
        p = 2.0 * _sps.norm.sf(np.abs(z))
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
