"""Numbers ready to glue: the per-figure highlights as raw numbers (a proportion for ``%``, percentage points
for ``pp``; the page formats them), and the text forms of percentages and p-values for the few values glued
as text (intervals, p-values whose format depends on their size)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.analysis.stats import se_from_interval
from synthaug_utils.analysis.tables import EQUIVALENCE_MARGIN, figS2_pooled, shape_checks_fig4
from synthaug_utils.core.vocabulary import NONE


def learning_curve_highlights(table: pd.DataFrame, n_labels: int) -> dict[str, Any]:
    """Glue values for the learning curve: chance, and accuracy with CI at the smallest and largest n."""
    first, last = table.sort_values("n_real").iloc[[0, -1]].itertuples()
    return {
        "lc_chance": 1 / n_labels,
        "lc_n_min": int(first.n_real),
        "lc_acc_min": float(first.accuracy),
        "lc_ci_min": f"{percent(first.ci_low)} to {percent(first.ci_high)}",
        "lc_n_max": int(last.n_real),
        "lc_acc_max": float(last.accuracy),
        "lc_ci_max": f"{percent(last.ci_low)} to {percent(last.ci_high)}",
    }


def mode_gap_summary(pairs: pd.DataFrame) -> dict[str, Any]:
    """Glue values for :func:`fast_vs_faithful`: pairs, mean and max |diff| and the mean signed diff
    (percentage points), and the time ratio faithful/fast summed over the pairs."""

    def listed(values) -> str:
        return ", ".join(str(v) for v in sorted(set(values))) or "none"

    return {
        "mode_pairs": len(pairs),
        "mode_ns": listed(pairs.n_real),
        "mode_seeds": listed(pairs.seed),
        "mode_methods": listed(pairs.method),
        "mode_transforms": ", ".join("on" if t else "off" for t in sorted(set(pairs.transforms))) or "none",
        "mode_mean_diff": percent(pairs["diff"].mean(), signed=True),
        "mode_mean_abs": percent(pairs["diff"].abs().mean()).replace("%", " pp"),
        "mode_max_abs": percent(pairs["diff"].abs().max()).replace("%", " pp"),
        "mode_fast_higher": int((pairs["diff"] > 0).sum()),
        "mode_time_ratio": f"{pairs.faithful_s.sum() / pairs.fast_s.sum():.0f}" if len(pairs) else "n/a",
    }


def percent(x: float, digits: int = 1, signed: bool = False) -> str:
    """A proportion as a percentage string ("12.3%"; "+12.3 pp" when ``signed``)."""
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x * 100:+.{digits}f} pp" if signed else f"{x * 100:.{digits}f}%"


def pp(x: float) -> float:
    """A difference of proportions in percentage points, raw (the page formats it: ``:+.1f`` and " pp")."""
    return float(x) * 100


def pvalue(p: float) -> str:
    """A p-value for prose: 3 significant digits, scientific below 0.001."""
    if p is None or not np.isfinite(p):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


def tied_with_best(tests: pd.DataFrame, column: str) -> str:
    """The ``column`` values (e.g. method or ratio) of the rows whose gain is within one standard error
    of the largest gain, the standard error read off the largest gain's 95% interval
    (:func:`~synthaug_utils.analysis.stats.se_from_interval`): "inpaint" when one stands out, "inpaint or text-to-image
    (within one standard error)" when several do, sorted so that the text does not depend on which
    of the tied estimates happens to be largest (a build on other CPU kernels can reorder them)."""
    best = tests.loc[tests.gain.idxmax()]
    se = se_from_interval(best.gain_low, best.gain_high)
    tied = tests[tests.gain >= best.gain - (se if np.isfinite(se) else 0.0)]
    # numbers in numeric order, names in alphabetical order
    values = [
        str(int(v)) if isinstance(v, (float, np.floating)) and float(v).is_integer() else str(v)
        for v in sorted(set(tied[column]))
    ]
    if len(values) == 1:
        return values[0]
    return f"{', '.join(values[:-1])} or {values[-1]} (within one standard error)"


def fig3_highlights(table: pd.DataFrame) -> dict[str, Any]:
    """Numbers for the Fig. 3 prose: the largest gain (where, p) and the gains at the largest n."""
    tests = table[table.method != NONE].dropna(subset=["gain"])
    best = tests.loc[tests.gain.idxmax()]
    largest = tests[tests.n_real == tests.n_real.max()]
    out = {
        "f3_best_gain": pp(best.gain),
        "f3_best_method": str(best.method),
        "f3_best_n": int(best.n_real),
        "f3_best_transforms": "with" if best.transforms else "without",
        "f3_best_p": pvalue(best.p_bh),
        "f3_best_ci": f"{percent(best.gain_low, signed=True)} to {percent(best.gain_high, signed=True)}",
        "f3_largest_n": int(tests.n_real.max()),
        "f3_n_significant": int((tests.p_bh < 0.05).sum()),
        "f3_n_tests": len(tests),
        "f3_margin": pp(EQUIVALENCE_MARGIN),
        "f3_runs": int(table.runs.max()),
    }
    for _, row in largest.iterrows():
        tag = f"{row.method.replace('-', '_')}_{'tf' if row.transforms else 'notf'}"
        out[f"f3_large_{tag}"] = (
            f"{percent(row.gain, signed=True)} (95% CI {percent(row.gain_low, signed=True)} to "
            f"{percent(row.gain_high, signed=True)})"
        )
    return out


def fig4_highlights(table: pd.DataFrame) -> dict[str, Any]:
    """Numbers for the Fig. 4 prose: the gain at the first ratio and the best gain beyond it."""
    tests = table.dropna(subset=["gain"])
    best = tests.loc[tests.gain.idxmax()]
    first_ratio = int(tests.synthetic_ratio.min())
    first = tests[tests.synthetic_ratio == first_ratio]
    top_first = first.loc[first.gain.idxmax()]
    checks = shape_checks_fig4(table)
    return {
        "f4_best_gain": pp(best.gain),
        "f4_best_ratio": tied_with_best(tests, "synthetic_ratio"),
        "f4_best_n": int(best.n_real),
        "f4_best_p": pvalue(best.p_bh),
        "f4_first_ratio": first_ratio,
        "f4_first_gain": pp(top_first.gain),
        "f4_first_n": int(top_first.n_real),
        "f4_first_p": pvalue(top_first.p_bh),
        "f4_saturating": int(checks.saturates.sum()),
        "f4_settings": len(checks),
        "f4_margin": pp(EQUIVALENCE_MARGIN),
        "f4_n_significant": int((tests.p_bh < 0.05).sum()),
        "f4_n_tests": len(tests),
    }


def fig5_highlights(table: pd.DataFrame) -> dict[str, Any]:
    """Numbers for the Fig. 5 prose: the largest gain per skin-tone bin, with its 95% CI (primary analysis)."""
    out = {}
    tests = table.dropna(subset=["gain"])
    for fst in ("12", "34", "56", "all"):
        sub = tests[tests.fst.astype(str) == fst]
        if sub.empty:
            continue
        best = sub.loc[sub.gain.idxmax()]
        base = table[
            (table.fst.astype(str) == fst) & (table.method == NONE) & (table.transforms == best.transforms)
        ].iloc[0]
        out[f"f5_{fst}_from"] = float(base.accuracy)
        out[f"f5_{fst}_to"] = float(best.accuracy)
        out[f"f5_{fst}_gain"] = pp(best.gain)
        out[f"f5_{fst}_ci"] = f"{percent(best.gain_low, signed=True)} to {percent(best.gain_high, signed=True)}"
        out[f"f5_{fst}_method"] = tied_with_best(sub, "method")
        out[f"f5_{fst}_p"] = pvalue(best.p_bh)
    # gains whose 95% interval lies above zero (a count of positive point estimates, many near zero, is
    # what a build on other CPU kernels changes most)
    out["f5_n_above_zero"] = int((tests.gain_low > 0).sum())
    out["f5_n_tests"] = len(tests)
    out["f5_n_significant"] = int((tests.p_bh < 0.05).sum())
    return out


def figS2_highlights(table: pd.DataFrame) -> dict[str, Any]:
    """Numbers for the Fig. S-2 prose: synthetic vs duplication on the rare label, pooled over labels and seeds."""
    pooled = figS2_pooled(table)
    rare = pooled[pooled.scope == "rare label"]
    smallest = rare.rare_n.min()
    at = rare[rare.rare_n == smallest].set_index("control")["accuracy"]
    tests = table.dropna(subset=["gain"])
    return {
        "s2_smallest": int(smallest),
        "s2_synthetic": float(at.get("synthetic", np.nan)),
        "s2_duplicate": float(at.get("duplicate", np.nan)),
        "s2_none": float(at.get("none", np.nan)),
        "s2_n_significant": int((tests.p_bh < 0.05).sum()),
        "s2_n_tests": len(tests),
        "s2_labels": ", ".join(sorted(table.rare_label.unique())),
    }
