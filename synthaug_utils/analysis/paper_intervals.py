"""Which interval gives the paper's Fig. 5 gain intervals? A record of the methods tried.

Sec. 2.4 prints three skin-tone gains with 95% intervals (e.g. FST I-II, in-then-outpaint:
"73.1% to 80.0% (difference of +6.9%, 95% CI: 1.2%, 13.1%)") and does not say how the intervals
were computed: the text names no method, and the Fig. 5 caption is a word-for-word copy of Fig. 4's
(Wald intervals of accuracies). :func:`fig5_interval_attempts` recomputes the three intervals with
the usual closed-form intervals of a difference of two proportions, at every test-set size the
paper's design suggests, and compares them with the printed ones (read from
``resources/paper_values.csv``, never typed here).

What the design gives (Sec. 4.7: 32 DDI test images per skin-tone bin, 96 in all; 5 runs per
setting, Sec. 4.4; 656 DDI images, Sec. 2.1; the F17k-9 test set of Figs. 3 and 4 has 360): the six
printed accuracies are all ``k / 160`` to the printed decimal (:func:`smallest_grid_n`), the mean over
5 runs of 32 test images, so each arm of each bin holds 160 predictions of 32 distinct images.
An interval of the difference that treats them as 160 independent predictions is about 1.5 times
as wide as the printed ones; the ``n`` that fits best is about 390 per arm, which no count in the
design gives. The printed intervals also sit off their gains in a way that differs between bins
(the FST V-VI interval is centred well above its gain, the FST III-IV one slightly below), which
no method tried reproduces within :data:`TOLERANCE_PP`, not even with ``n`` fitted bin by bin, nor
a paired score interval on the 160 predictions with its discordant pairs fitted bin by bin. That
pattern is what a resampling interval gives (the paper's Fig. 3 gains have "95% bootstrapped"
intervals), and a bootstrap cannot be redone without the per-image predictions.

Units: accuracies and interval bounds in percent / percentage points in the returned tables;
the interval functions take and return proportions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.analysis.paper import paper_values
from synthaug_utils.analysis.stats import two_sided_z
from synthaug_utils.core import profiles

# The paper's design (see the module docstring for where each is stated).
DDI_TEST_PER_BIN = 32  # Sec. 4.7: "32 images per FST category"
DDI_BINS = 3  # FST I-II, III-IV, V-VI
RUNS = 5  # Sec. 4.4 and the figure captions: "mean accuracy across five runs"
DDI_IMAGES = 656  # Sec. 2.1 and 4.1
F17K_TEST = 360  # Sec. 4.4: the F17k-9 test set of Figs. 3 and 4
TOLERANCE_PP = profiles.threshold("TOLERANCE_PP")  # a method reproduces the paper if every bound is within this
FIT_N = np.arange(10, 3001)  # candidate n per arm for the best-fitting single n
COLUMNS = ["method", "n", "bin", "low", "high", "printed_low", "printed_high", "max_error_pp", "n_choice", "detail"]

Interval = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# ----------------------------------------------------------------------------- intervals (proportions)
def _wilson(p, n):
    z = two_sided_z(0.05)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _wald_diff(p1, p2, n):
    half = two_sided_z(0.05) * np.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
    return p1 - p2 - half, p1 - p2 + half


def _wald_diff_pooled(p1, p2, n):
    pooled = (p1 + p2) / 2
    half = two_sided_z(0.05) * np.sqrt(pooled * (1 - pooled) * 2 / n)
    return p1 - p2 - half, p1 - p2 + half


def _wald_diff_continuity(p1, p2, n):
    # R's prop.test interval: Wald widened by Yates' (1/n1 + 1/n2) / 2, at most |p1 - p2|
    d = p1 - p2
    half = two_sided_z(0.05) * np.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n) + np.minimum(1 / n, np.abs(d))
    return d - half, d + half


def _newcombe(p1, p2, n):
    l1, u1 = _wilson(p1, n)
    l2, u2 = _wilson(p2, n)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _agresti_caffo(p1, p2, n):
    a1, a2 = (p1 * n + 1) / (n + 2), (p2 * n + 1) / (n + 2)
    half = two_sided_z(0.05) * np.sqrt(a1 * (1 - a1) / (n + 2) + a2 * (1 - a2) / (n + 2))
    return a1 - a2 - half, a1 - a2 + half


def _with_arm_wald(p1, p2, n):
    half = two_sided_z(0.05) * np.sqrt(p1 * (1 - p1) / n)
    return p1 - half - p2, p1 + half - p2


def _baseline_wilson(p1, p2, n):
    low, high = _wilson(p2, n)
    return p1 - high, p1 - low


def _gain_one_sample(p1, p2, n):
    d = p1 - p2
    half = two_sided_z(0.05) * np.sqrt(d * (1 - d) / n)
    return d - half, d + half


METHODS: dict[str, tuple[Interval, str]] = {
    "Wald, difference (unpooled SE)": (_wald_diff, "d -/+ z sqrt(p1 q1 / n + p2 q2 / n)"),
    "Wald, difference (pooled SE)": (_wald_diff_pooled, "d -/+ z sqrt(p q 2 / n), p = (p1 + p2) / 2"),
    "Wald with continuity correction (R prop.test)": (_wald_diff_continuity, "unpooled Wald widened by 1 / n"),
    "Newcombe hybrid score (Wilson)": (_newcombe, "Newcombe (1998) method 10, independent arms"),
    "Agresti-Caffo": (_agresti_caffo, "Wald after adding one success and one failure per arm"),
    "Wald of the with-synthetic accuracy, minus the baseline": (_with_arm_wald, "an interval of one accuracy, shifted"),
    "with-synthetic accuracy minus the Wilson interval of the baseline":
        (_baseline_wilson, "an interval of one accuracy, shifted"),
    "one-sample Wald on the gain": (_gain_one_sample, "d -/+ z sqrt(d (1 - d) / n)"),
}  # fmt: skip


def _paired_newcombe(a, b, c, d):
    """Newcombe's (1998b) method 10 for a paired difference, from the 2 x 2 table of paired outcomes
    (a both right, b only the with-synthetic arm right, c only the baseline right, d both wrong)."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = _wilson(p1, n)
    l2, u2 = _wilson(p2, n)
    num = a * d - b * c
    num = max(num - n / 2, 0.0) if num > 0 else num
    den = np.sqrt(float((a + b) * (c + d) * (a + c) * (b + d)))
    phi = num / den if den > 0 else 0.0
    diff = p1 - p2
    low = diff - np.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    high = diff + np.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return low, high


# ----------------------------------------------------------------------------- the paper's numbers
def smallest_grid_n(values_percent, decimals: int = 1, max_n: int = 1000) -> int | None:
    """The smallest ``n`` for which every value (percent, printed to ``decimals``) is ``100 k / n`` for
    a whole ``k`` to the printed precision; None if no ``n <= max_n`` is."""
    values = np.asarray(values_percent, dtype=float)
    half_step = 0.5 * 10.0**-decimals + 1e-9
    for n in range(1, max_n + 1):
        k = np.round(values * n / 100)
        if np.all(np.abs(100 * k / n - values) <= half_step):
            return n
    return None


def fig5_printed() -> pd.DataFrame:
    """The three gains Sec. 2.4 prints with intervals, one row per skin-tone bin: ``bin`` (12, 34, 56),
    ``method``, ``with_synthetic`` and ``baseline`` accuracies (percent), ``gain``, ``printed_low``,
    ``printed_high`` (percentage points)."""
    table = paper_values("5")
    rows = []
    for _, gain in table[table.quantity == "accuracy_gain"].iterrows():
        same_bin = table[(table.quantity == "accuracy") & (table.fst_bin == gain.fst_bin)]
        with_ = same_bin[same_bin.method == gain.method].value.iloc[0]
        base = same_bin[same_bin.method == "none"].value.iloc[0]
        rows.append(
            {
                "bin": gain.fst_bin,
                "method": gain.method,
                "with_synthetic": with_,
                "baseline": base,
                "gain": gain.value,
                "printed_low": gain.ci_low,
                "printed_high": gain.ci_high,
            }
        )
    return pd.DataFrame(rows).sort_values("bin").reset_index(drop=True)


def ddi_bin_counts(metadata: str | Path) -> dict[str, int]:
    """DDI images per skin-tone bin ("12", "34", "56") in a ``ddi_metadata.csv``."""
    tones = pd.read_csv(metadata, usecols=["skin_tone"]).skin_tone.astype(int).astype(str)
    return {str(k): int(v) for k, v in tones.value_counts().sort_index().items()}


# ----------------------------------------------------------------------------- the attempts
def _errors(low, high, printed: pd.DataFrame):
    """Largest distance (pp) of each bin's bounds from the printed ones; arrays broadcast over n."""
    return np.maximum(
        np.abs(low - printed.printed_low.to_numpy()[:, None]), np.abs(high - printed.printed_high.to_numpy()[:, None])
    )


def fig5_interval_attempts(bin_counts: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Every (method, n) tried for the Fig. 5 intervals, one row per skin-tone bin.

    Columns: ``method``; ``n`` (predictions per arm the interval assumes); ``bin`` (12, 34, 56);
    ``low``, ``high`` (the recomputed 95% interval of the gain, percentage points); ``printed_low``,
    ``printed_high`` (the paper's); ``max_error_pp`` (the larger distance of the two bounds from the
    printed ones, pp); ``n_choice`` (where ``n`` comes from); ``detail`` (what was fitted, if anything).
    The accuracies are the printed ones.

    ``bin_counts``: DDI images per bin (:func:`ddi_bin_counts`) for the "DDI images in the bin" rows,
    left out when None. The last rows are a paired interval on ``RUNS * DDI_TEST_PER_BIN``
    predictions with the discordant pairs (unknown from the paper) fitted bin by bin, the most
    favourable case for a closed-form paired interval.
    """
    printed = fig5_printed()
    p1, p2 = printed.with_synthetic.to_numpy()[:, None] / 100, printed.baseline.to_numpy()[:, None] / 100
    choices: list[tuple[str, np.ndarray]] = [
        ("one bin's test set (Sec. 4.7)", np.full(len(printed), DDI_TEST_PER_BIN)),
        ("the whole DDI test set, all bins", np.full(len(printed), DDI_BINS * DDI_TEST_PER_BIN)),
        ("5 runs x one bin's test set", np.full(len(printed), RUNS * DDI_TEST_PER_BIN)),
        ("the F17k-9 test set of Figs. 3-4", np.full(len(printed), F17K_TEST)),
        ("all DDI images (Sec. 2.1)", np.full(len(printed), DDI_IMAGES)),
    ]
    if bin_counts is not None:
        choices.append(("DDI images in the bin (metadata)", np.array([bin_counts[b] for b in printed.bin])))
    rows = []

    def add(method, n_choice, n, low, high, detail=""):
        err = _errors(low, high, printed)[:, 0]
        for i, r in printed.iterrows():
            rows.append(
                {
                    "method": method,
                    "n": int(n[i]),
                    "bin": r.bin,
                    "low": float(low[i, 0]),
                    "high": float(high[i, 0]),
                    "printed_low": r.printed_low,
                    "printed_high": r.printed_high,
                    "max_error_pp": float(err[i]),
                    "n_choice": n_choice,
                    "detail": detail,
                }
            )

    for method, (interval, _) in METHODS.items():
        for n_choice, n in choices:
            low, high = interval(p1, p2, n[:, None].astype(float))
            add(method, n_choice, n, 100 * low, 100 * high)
        low, high = interval(p1, p2, FIT_N[None, :].astype(float))
        errors = _errors(100 * low, 100 * high, printed)
        best = int(np.nanargmin(errors.max(axis=0)))
        add(
            method,
            "one n for the three bins, fitted",
            np.full(len(printed), FIT_N[best]),
            100 * low[:, best : best + 1],
            100 * high[:, best : best + 1],
            "n fitted",
        )
        each = np.nanargmin(errors, axis=1)
        rows_ = np.arange(len(printed))
        add(
            method,
            "one n per bin, fitted",
            FIT_N[each],
            100 * low[rows_, each][:, None],
            100 * high[rows_, each][:, None],
            "n fitted bin by bin",
        )

    n = RUNS * DDI_TEST_PER_BIN
    for _, r in printed.iterrows():
        k1, k2 = int(round(r.with_synthetic * n / 100)), int(round(r.baseline * n / 100))
        fits = []
        for b in range(max(k1 - k2, 0), min(k1, n - k2) + 1):
            c = b - (k1 - k2)
            low, high = _paired_newcombe(k1 - b, b, c, n - k1 - c)
            err = max(abs(100 * low - r.printed_low), abs(100 * high - r.printed_high))
            fits.append((err, b, c, 100 * low, 100 * high))
        err, b, c, low, high = min(fits)
        rows.append(
            {
                "method": "Newcombe paired score (method 10)",
                "n": n,
                "bin": r.bin,
                "low": low,
                "high": high,
                "printed_low": r.printed_low,
                "printed_high": r.printed_high,
                "max_error_pp": err,
                "n_choice": "5 runs x one bin's test set",
                "detail": f"discordant pairs fitted bin by bin: {b} vs {c}",
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def fig5_attempts_summary(attempts: pd.DataFrame, tolerance_pp: float = TOLERANCE_PP) -> pd.DataFrame:
    """One row per (method, n_choice) of :func:`fig5_interval_attempts`: ``n`` (the values, "a/b/c" when
    they differ by bin), ``worst_error_pp`` over the three bins and ``reproduces`` (every bound of
    every bin within ``tolerance_pp``), best first."""
    out = (
        attempts.groupby(["method", "n_choice"], sort=False)
        .agg(n=("n", lambda s: "/".join(str(v) for v in dict.fromkeys(s))), worst_error_pp=("max_error_pp", "max"))
        .reset_index()
    )
    out["reproduces"] = out.worst_error_pp <= tolerance_pp
    return out.sort_values("worst_error_pp", kind="stable").reset_index(drop=True)


def fig5_interval_facts(summary: pd.DataFrame, tolerance_pp: float = TOLERANCE_PP) -> dict[str, Any]:
    """Glue values for the page that lists the attempts (``summary`` from :func:`fig5_attempts_summary`):
    ``f5pi_tried`` (method and n choices), ``f5pi_reproduced`` (how many reproduce all three intervals),
    ``f5pi_best`` / ``f5pi_best_n`` / ``f5pi_best_err`` (the closest), ``f5pi_tol``, ``f5pi_grid_n``
    (the smallest n on whose grid all six printed accuracies fall) and ``f5pi_one_bin`` (the half-width
    of a Wald interval of a difference with one bin's test set per arm, at the printed accuracies, pp)."""
    printed = fig5_printed()
    best = summary.iloc[0]
    accuracies = np.concatenate([printed.with_synthetic.to_numpy(), printed.baseline.to_numpy()])
    grid_n = smallest_grid_n(accuracies)
    p1, p2 = printed.with_synthetic.to_numpy() / 100, printed.baseline.to_numpy() / 100
    one_bin = 100 * two_sided_z(0.05) * np.sqrt(p1 * (1 - p1) / DDI_TEST_PER_BIN + p2 * (1 - p2) / DDI_TEST_PER_BIN)
    return {
        "f5pi_tried": len(summary),
        "f5pi_reproduced": int(summary.reproduces.sum()),
        "f5pi_best": str(best.method),
        "f5pi_best_n": str(best.n),
        "f5pi_best_err": float(best.worst_error_pp),
        "f5pi_tol": float(tolerance_pp),
        "f5pi_grid_n": str(grid_n) if grid_n else "none up to 1,000",
        "f5pi_one_bin": f"{one_bin.min():.1f} to {one_bin.max():.1f}",
    }
