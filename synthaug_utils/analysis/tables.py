"""The tables behind the results figures: trials from the results store in, statistics out.

Every function takes the tidy trial frame (:meth:`ResultsStore.frame`) and the long
per-test-image predictions (:meth:`ResultsStore.predictions`), and returns a tidy
DataFrame that one plotting function in :mod:`synthaug_utils.presentation.plots` draws.

Conventions (stated on every results page):

- Accuracy over several seeds is the **pooled proportion** over seeds x test images
  (k correct out of seeds x test images); the per-seed spread (SD of the per-seed
  accuracies) is reported beside it.
- 95% intervals for accuracies are Wald intervals on the pooled proportion.
- With-vs-without comparisons use the pooled two-sample proportion test on the pooled
  counts; p-values are Benjamini-Hochberg adjusted over all comparisons of one figure.
  ``p_per_run`` repeats the test with n = one test set per arm (mean accuracy over seeds,
  the convention the paper's p-values appear to follow), for comparison only.
- Differences get a paired bootstrap interval: test images are resampled, jointly for
  all seeds, so both arms are evaluated on the same resampled images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from synthaug_utils.analysis import stats
from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import DataError

NONE = "none"


def merged_predictions(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per (trial, test image): the trial's spec columns plus ``image_id``, ``true``, ``fst``, ``correct``.

    Adds derived columns: ``method`` (synthetic method or "none"), ``control``
    ("synthetic", "duplicate" or "none"), ``rare_label`` and ``rare_n`` (class imbalance).
    """
    if frame.empty or predictions.empty:
        raise DataError("no stored trials to analyse: run the grid first (synthaug run GRID)")
    preds = predictions.copy()
    if "correct" not in preds:
        preds["correct"] = preds["pred_1"].astype(str) == preds["label"].astype(str)
    preds = preds.rename(columns={"label": "true"})
    keep = [c for c in ("key", "image_id", "true", "fst", "correct") if c in preds]
    spec = derive_columns(frame)
    return preds[keep].merge(spec, on="key", how="inner", validate="many_to_one")


def derive_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the derived columns ``method``, ``control``, ``rare_label`` and ``rare_n``."""
    out = frame.copy()
    out["method"] = out["synthetic_method"].fillna(NONE).replace("", NONE)
    out["control"] = np.where(out["synthetic_ratio"] > 0, "synthetic", np.where(out.get("duplicate", 0) > 0, "duplicate", NONE))
    rare = out.get("n_real_per_label", pd.Series([""] * len(out), index=out.index)).fillna("").astype(str)
    out["rare_label"] = rare.str.split("=").str[0].replace("", NONE)
    out["rare_n"] = pd.to_numeric(rare.str.split("=").str[1], errors="coerce")
    return out


def accuracy_by(merged: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Pooled accuracy per group: columns ``by`` + k, n, accuracy, ci_low, ci_high (proportions), runs, seed_sd."""
    rows = []
    for values, group in merged.groupby(list(by), sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        per_seed = group.groupby("seed")["correct"].mean()
        k, n = int(group["correct"].sum()), int(len(group))
        low, high = stats.wald_interval(k, n)
        rows.append({**dict(zip(by, values)), "k": k, "n": n, "accuracy": k / n, "ci_low": low, "ci_high": high,
                     "runs": int(per_seed.size), "seed_sd": float(per_seed.std(ddof=1)) if per_seed.size > 1 else np.nan})
    return pd.DataFrame(rows)


def _seed_matrix(group: pd.DataFrame) -> tuple[np.ndarray, list, list]:
    """Correctness as a (seeds, images) matrix, rows sorted by seed, columns by image id."""
    table = group.pivot_table(index="seed", columns="image_id", values="correct", aggfunc="first")
    return table.to_numpy(dtype=float), list(table.index), list(table.columns)


def compare_with_baseline(
    merged: pd.DataFrame,
    setting: Sequence[str],
    arm: str,
    baseline: object,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Each arm value against ``baseline`` within every combination of ``setting`` columns.

    Returns one row per (setting, arm) - baseline rows included, with NaN tests - with
    pooled accuracy and Wald interval, ``gain`` (arm minus baseline, proportion), the paired
    bootstrap interval of the gain (``gain_low``, ``gain_high``), ``p`` (pooled proportion
    test), ``p_bh`` (BH-adjusted over every comparison in the returned table), ``stars``,
    and ``p_per_run`` (n = one test set per arm; see the module docstring).
    """
    acc = accuracy_by(merged, list(setting) + [arm])
    rows = []
    for values, group in merged.groupby(list(setting), sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        base = group[group[arm] == baseline]
        if base.empty:
            continue
        base_m, base_seeds, base_imgs = _seed_matrix(base)
        k0, n0 = int(base["correct"].sum()), len(base)
        for arm_value, sub in group.groupby(arm, sort=True):
            row = {**dict(zip(setting, values)), arm: arm_value}
            if arm_value == baseline:
                rows.append(row)
                continue
            k1, n1 = int(sub["correct"].sum()), len(sub)
            m, seeds, imgs = _seed_matrix(sub)
            if seeds == base_seeds and imgs == base_imgs:
                diff, low, high = stats.paired_bootstrap_diff(m, base_m, n_boot=n_boot, seed=seed)
            else:  # different seeds or test images: no pairing possible
                diff, low, high = k1 / n1 - k0 / n0, np.nan, np.nan
            tests_per_arm = max(len(imgs), 1)
            row.update(gain=diff, gain_low=low, gain_high=high, p=stats.proportions_test(k1, n1, k0, n0),
                       p_per_run=stats.proportions_test(round(k1 / n1 * tests_per_arm), tests_per_arm,
                                                        round(k0 / n0 * len(base_imgs)), len(base_imgs)))
            rows.append(row)
    tests = pd.DataFrame(rows)
    if tests.empty:
        raise DataError(f"no comparisons: no trial has {arm} == {baseline!r}")
    for col in ("gain", "gain_low", "gain_high", "p", "p_per_run"):
        if col not in tests:
            tests[col] = np.nan
    tests["p_bh"] = stats.benjamini_hochberg(tests["p"].to_numpy(dtype=float))
    tests["stars"] = [stats.significance_stars(p) if np.isfinite(p) else "" for p in tests["p_bh"]]
    return acc.merge(tests, on=list(setting) + [arm], how="left")


# ----------------------------------------------------------------------------- one table per figure
def fig3_table(frame: pd.DataFrame, predictions: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Fig. 3: accuracy per (n_real, transforms, method); each method against no synthetic data."""
    merged = merged_predictions(frame, predictions)
    return compare_with_baseline(merged, ["n_real", "transforms"], "method", NONE, n_boot=n_boot)


def figS1_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Fig. S-1: per-disease gain of each method over no synthetic data, pooled over the n and transforms grid.

    Columns: true (label), method, accuracy, baseline_accuracy, gain (proportions), n.
    """
    merged = merged_predictions(frame, predictions)
    acc = accuracy_by(merged, ["true", "method"])
    base = acc[acc.method == NONE].set_index("true")["accuracy"]
    acc = acc[acc.method != NONE].copy()
    acc["baseline_accuracy"] = acc["true"].map(base)
    acc["gain"] = acc["accuracy"] - acc["baseline_accuracy"]
    return acc[["true", "method", "accuracy", "baseline_accuracy", "gain", "n"]]


def fig4_table(frame: pd.DataFrame, predictions: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Fig. 4: accuracy per (n_real, transforms, synthetic_ratio); each ratio against ratio 0."""
    merged = merged_predictions(frame, predictions)
    return compare_with_baseline(merged, ["n_real", "transforms"], "synthetic_ratio", 0, n_boot=n_boot)


def fig5_table(frame: pd.DataFrame, predictions: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Fig. 5: malignant-vs-benign accuracy per (skin-tone bin, transforms, method) against no synthetic data.

    Rows with ``fst`` = "all" pool the three bins.
    """
    merged = merged_predictions(frame, predictions)
    merged["fst"] = merged["fst"].astype(int).astype(str)
    both = pd.concat([merged, merged.assign(fst="all")], ignore_index=True)
    return compare_with_baseline(both, ["fst", "transforms"], "method", NONE, n_boot=n_boot)


def figS2_table(frame: pd.DataFrame, predictions: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    """Fig. S-2: rare-label and overall accuracy per (rare label, images kept, control) against plain duplication.

    ``scope`` is "rare label" (test images of the cut label) or "overall".
    """
    merged = merged_predictions(frame, predictions)
    rare = merged[merged["true"] == merged["rare_label"]].assign(scope="rare label")
    both = pd.concat([rare, merged.assign(scope="overall")], ignore_index=True)
    return compare_with_baseline(both, ["scope", "rare_label", "rare_n", "transforms"], "control", "duplicate", n_boot=n_boot)


# ----------------------------------------------------------------------------- shape checks (demo profile)
def shape_checks_fig3(table: pd.DataFrame) -> pd.DataFrame:
    """Does synthetic data help most at small n, and does the gain shrink as n grows?

    Per (method, transforms): the gain at the smallest n with a positive mean gain,
    the gain at the largest n, the Spearman correlation of gain with n, and verdicts.
    """
    from scipy.stats import spearmanr

    rows = []
    tests = table[table.method != NONE].dropna(subset=["gain"])
    for (method, tf), g in tests.groupby(["method", "transforms"]):
        g = g.sort_values("n_real")
        rho = spearmanr(g.n_real, g.gain).statistic if len(g) > 2 else np.nan
        best = g.loc[g.gain.idxmax()]
        rows.append({"method": method, "transforms": tf, "best_n": int(best.n_real), "best_gain": best.gain,
                     "gain_at_largest_n": g.gain.iloc[-1], "largest_n": int(g.n_real.iloc[-1]), "spearman_gain_vs_n": rho,
                     "helps_most_at_small_n": bool(best.n_real < g.n_real.max()),
                     "gain_shrinks_with_n": bool(g.gain.iloc[-1] < best.gain)})
    return pd.DataFrame(rows)


def shape_checks_fig4(table: pd.DataFrame) -> pd.DataFrame:
    """Does the gain saturate beyond the first synthetic ratio? Per (n_real, transforms).

    Compares the gain at the smallest non-zero ratio with the best gain at larger ratios;
    "saturates" when the extra gain beyond the first ratio is smaller than the first step.
    """
    rows = []
    tests = table.dropna(subset=["gain"])
    for (n, tf), g in tests.groupby(["n_real", "transforms"]):
        g = g.sort_values("synthetic_ratio")
        first = g.iloc[0]
        beyond = g.iloc[1:]
        extra = (beyond.gain.max() - first.gain) if len(beyond) else np.nan
        rows.append({"n_real": n, "transforms": tf, "first_ratio": int(first.synthetic_ratio), "gain_at_first_ratio": first.gain,
                     "best_gain_beyond": beyond.gain.max() if len(beyond) else np.nan, "extra_gain_beyond_first": extra,
                     "saturates": bool(len(beyond) and extra < abs(first.gain))})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- notebook helpers
def grid_results(grid: str, profile, store=None, executor=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or load from the store) a named grid; return (trial frame, per-test-image predictions)."""
    from synthaug_utils.experiments import trials as experiments

    store = experiments.ResultsStore(store or experiments.default_store(profile))
    frame = experiments.run_grid(grid, profile, store, executor)
    return frame, store.predictions(frame["key"].tolist())


@dataclass(frozen=True)
class ChapterResults:
    """What a results chapter works from: the profile, its grid settings and the stored trials.

    ``frame``: one row per trial (:meth:`ResultsStore.frame`); ``predictions``: one row per
    (trial, test image); ``note``: the stand-in-world caption for figures (None on real data).
    """

    profile: Profile
    grid: str
    settings: dict
    frame: pd.DataFrame
    predictions: pd.DataFrame
    note: str | None

    def facts(self, prefix: str) -> dict[str, str]:
        """Glue values every results page states: trial count, seeds, and the training mode."""
        fast = self.settings.get("mode") == "fast"
        return {
            f"{prefix}_trials": str(len(self.frame)),
            f"{prefix}_seeds": str(len(self.settings["seeds"])),
            f"{prefix}_mode": "fast mode (cached frozen-body features, head trained)" if fast else "the faithful fastai recipe",
            f"{prefix}_variant": str(self.settings.get("variant", "pretrained")),
        }


def chapter_results(grid: str, profile: str | Profile, config=None, overrides=None, store=None, executor=None) -> ChapterResults:
    """Load the profile (with a chapter's papermill parameters), then run or load ``grid``."""
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.experiments.trials import grid_settings
    from synthaug_utils.presentation.plots import DEMO_NOTE

    P = profile if isinstance(profile, Profile) else load_profile(profile, config, overrides or {})
    frame, predictions = grid_results(grid, P, store, executor)
    return ChapterResults(P, grid, grid_settings(grid, P), frame, predictions, DEMO_NOTE if P.is_embedded else None)


def learning_curve_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy against n real images per class (no synthetic data): one row per n with pooled
    accuracy, Wald interval (proportions), runs and per-seed SD (see :func:`accuracy_by`)."""
    return accuracy_by(merged_predictions(frame, predictions), ["n_real"])


def learning_curve_highlights(table: pd.DataFrame, n_labels: int) -> dict[str, str]:
    """Glue values for the learning curve: chance, and accuracy with CI at the smallest and largest n."""
    first, last = table.sort_values("n_real").iloc[[0, -1]].itertuples()
    return {
        "lc_chance": percent(1 / n_labels),
        "lc_n_min": str(int(first.n_real)), "lc_acc_min": percent(first.accuracy),
        "lc_ci_min": f"{percent(first.ci_low)} to {percent(first.ci_high)}",
        "lc_n_max": str(int(last.n_real)), "lc_acc_max": percent(last.accuracy),
        "lc_ci_max": f"{percent(last.ci_low)} to {percent(last.ci_high)}",
    }


def fast_vs_faithful(chapter: ChapterResults, seeds: Sequence[int] | None = None, transforms: Sequence[bool] | None = None,
                     n_real: Sequence[int] | None = None, store=None, executor=None,
                     methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Run the faithful-recipe twin of a sample of a chapter's fast-mode trials; one row per pair.

    The sample: the chapter grid's fast-mode specs with a seed in ``seeds``, a transforms
    setting in ``transforms``, n real per class in ``n_real`` and a synthetic method in
    ``methods`` ("none" = no synthetic data). Each left as None comes from
    the grid's ``faithful_sample`` setting (see ``EMBEDDED_GRIDS``), else: the first seed,
    transforms off, every n and method. Twins differ only in ``mode`` (stored like any trial, so a
    rebuild reads them). Columns: n_real, method, transforms, seed, fast and faithful top-1
    (proportions), ``diff`` (fast - faithful), faithful epochs and wall seconds of both.
    """
    from synthaug_utils.experiments import trials as experiments

    P = chapter.profile
    defaults = dict(chapter.settings.get("faithful_sample") or {})
    seeds = tuple(seeds if seeds is not None else defaults.get("seeds", tuple(chapter.settings["seeds"])[:1]))
    transforms = tuple(transforms if transforms is not None else defaults.get("transforms", (False,)))
    n_real = n_real if n_real is not None else defaults.get("n_real")
    methods = methods if methods is not None else defaults.get("methods")
    sample = [s for s in experiments.build_grid(chapter.grid, P)
              if s.mode == "fast" and s.seed in set(seeds) and bool(s.transforms) in {bool(t) for t in transforms}
              and (n_real is None or s.n_real in set(n_real))
              and (methods is None or (s.synthetic_method or NONE) in set(methods))]
    columns = ["n_real", "method", "transforms", "seed", "fast", "faithful", "diff", "faithful_epochs", "fast_s", "faithful_s"]
    if not sample:  # e.g. the paper profile, which runs the faithful recipe throughout
        return pd.DataFrame(columns=columns)
    twins = experiments.faithful_twins(sample)
    faithful = experiments.run_grid(twins, P, experiments.ResultsStore(store or experiments.default_store(P)), executor)
    fast = chapter.frame.set_index("key")
    rows = []
    for spec, twin in zip(sample, twins):
        a, b = fast.loc[spec.key], faithful.set_index("key").loc[twin.key]
        rows.append({
            "n_real": spec.n_real, "method": spec.synthetic_method or NONE, "transforms": bool(spec.transforms), "seed": spec.seed,
            "fast": float(a.top1), "faithful": float(b.top1), "diff": float(a.top1 - b.top1),
            "faithful_epochs": int(b.epochs_run), "fast_s": float(a.wall_s), "faithful_s": float(b.wall_s),
        })
    return pd.DataFrame(rows, columns=columns)


def mode_gap_summary(pairs: pd.DataFrame) -> dict[str, str]:
    """Glue values for :func:`fast_vs_faithful`: pairs, mean and max |diff| and the mean signed diff
    (percentage points), and the time ratio faithful/fast summed over the pairs."""
    def listed(values) -> str:
        return ", ".join(str(v) for v in sorted(set(values))) or "none"

    return {
        "mode_pairs": str(len(pairs)),
        "mode_ns": listed(pairs.n_real), "mode_seeds": listed(pairs.seed), "mode_methods": listed(pairs.method),
        "mode_transforms": ", ".join("on" if t else "off" for t in sorted(set(pairs.transforms))) or "none",
        "mode_mean_diff": percent(pairs["diff"].mean(), signed=True),
        "mode_mean_abs": percent(pairs["diff"].abs().mean()).replace("%", " pp"),
        "mode_max_abs": percent(pairs["diff"].abs().max()).replace("%", " pp"),
        "mode_fast_higher": str(int((pairs["diff"] > 0).sum())),
        "mode_time_ratio": f"{pairs.faithful_s.sum() / pairs.fast_s.sum():.0f}" if len(pairs) else "n/a",
    }


def percent(x: float, digits: int = 1, signed: bool = False) -> str:
    """A proportion as a percentage string ("12.3%"; "+12.3 pp" when ``signed``)."""
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x * 100:+.{digits}f} pp" if signed else f"{x * 100:.{digits}f}%"


def pvalue(p: float) -> str:
    """A p-value for prose: 3 significant digits, scientific below 0.001."""
    if p is None or not np.isfinite(p):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


def fig3_highlights(table: pd.DataFrame) -> dict[str, str]:
    """Numbers for the Fig. 3 prose: the largest gain (where, p) and the gains at the largest n."""
    tests = table[table.method != NONE].dropna(subset=["gain"])
    best = tests.loc[tests.gain.idxmax()]
    largest = tests[tests.n_real == tests.n_real.max()]
    out = {
        "f3_best_gain": percent(best.gain, signed=True), "f3_best_method": str(best.method), "f3_best_n": str(int(best.n_real)),
        "f3_best_transforms": "with" if best.transforms else "without", "f3_best_p": pvalue(best.p_bh),
        "f3_best_ci": f"{percent(best.gain_low, signed=True)} to {percent(best.gain_high, signed=True)}",
        "f3_largest_n": str(int(tests.n_real.max())),
        "f3_n_significant": str(int((tests.p_bh < 0.05).sum())), "f3_n_tests": str(len(tests)),
        "f3_runs": str(int(table.runs.max())),
    }
    for _, row in largest.iterrows():
        tag = f"{row.method.replace('-', '_')}_{'tf' if row.transforms else 'notf'}"
        out[f"f3_large_{tag}"] = f"{percent(row.gain, signed=True)} (95% CI {percent(row.gain_low, signed=True)} to {percent(row.gain_high, signed=True)})"
    return out


def fig4_highlights(table: pd.DataFrame) -> dict[str, str]:
    """Numbers for the Fig. 4 prose: the gain at the first ratio and the best gain beyond it."""
    tests = table.dropna(subset=["gain"])
    best = tests.loc[tests.gain.idxmax()]
    first_ratio = int(tests.synthetic_ratio.min())
    first = tests[tests.synthetic_ratio == first_ratio]
    top_first = first.loc[first.gain.idxmax()]
    checks = shape_checks_fig4(table)
    return {
        "f4_best_gain": percent(best.gain, signed=True), "f4_best_ratio": str(int(best.synthetic_ratio)),
        "f4_best_n": str(int(best.n_real)), "f4_best_p": pvalue(best.p_bh),
        "f4_first_ratio": str(first_ratio), "f4_first_gain": percent(top_first.gain, signed=True),
        "f4_first_n": str(int(top_first.n_real)), "f4_first_p": pvalue(top_first.p_bh),
        "f4_saturating": str(int(checks.saturates.sum())), "f4_settings": str(len(checks)),
        "f4_n_significant": str(int((tests.p_bh < 0.05).sum())), "f4_n_tests": str(len(tests)),
    }


def fig5_highlights(table: pd.DataFrame) -> dict[str, str]:
    """Numbers for the Fig. 5 prose: the largest gain per skin-tone bin, with its bootstrap CI."""
    out = {}
    tests = table.dropna(subset=["gain"])
    for fst in ("12", "34", "56", "all"):
        sub = tests[tests.fst.astype(str) == fst]
        if sub.empty:
            continue
        best = sub.loc[sub.gain.idxmax()]
        base = table[(table.fst.astype(str) == fst) & (table.method == NONE) & (table.transforms == best.transforms)].iloc[0]
        out[f"f5_{fst}_from"] = percent(base.accuracy)
        out[f"f5_{fst}_to"] = percent(best.accuracy)
        out[f"f5_{fst}_gain"] = percent(best.gain, signed=True)
        out[f"f5_{fst}_ci"] = f"{percent(best.gain_low, signed=True)} to {percent(best.gain_high, signed=True)}"
        out[f"f5_{fst}_method"] = str(best.method)
        out[f"f5_{fst}_p"] = pvalue(best.p_bh)
    out["f5_n_positive"] = str(int((tests.gain > 0).sum()))
    out["f5_n_tests"] = str(len(tests))
    out["f5_n_significant"] = str(int((tests.p_bh < 0.05).sum()))
    return out


def figS2_highlights(table: pd.DataFrame) -> dict[str, str]:
    """Numbers for the Fig. S-2 prose: synthetic vs duplication on the rare label, pooled over labels and seeds."""
    rare = table[table.scope == "rare label"]
    pooled = rare.groupby(["rare_n", "control"], as_index=False)[["k", "n"]].sum()
    pooled["accuracy"] = pooled.k / pooled.n
    smallest = pooled.rare_n.min()
    at = pooled[pooled.rare_n == smallest].set_index("control")["accuracy"]
    tests = table.dropna(subset=["gain"])
    return {
        "s2_smallest": str(int(smallest)),
        "s2_synthetic": percent(at.get("synthetic", np.nan)), "s2_duplicate": percent(at.get("duplicate", np.nan)),
        "s2_none": percent(at.get("none", np.nan)),
        "s2_n_significant": str(int((tests.p_bh < 0.05).sum())), "s2_n_tests": str(len(tests)),
        "s2_labels": ", ".join(sorted(table.rare_label.unique())),
    }


# ----------------------------------------------------------------------------- reproduction report
def _options(cell) -> list[str]:
    """Allowed values of a paper-value setting cell ("" = any; "a|b" = any of a, b)."""
    cell = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell)
    return [] if cell == "" else cell.split("|")


def _match(table: pd.DataFrame, row: pd.Series, columns: dict[str, str]) -> pd.DataFrame:
    """Rows of ``table`` matching the paper row's settings; ``columns`` maps paper setting -> table column."""
    out = table
    for paper_col, table_col in columns.items():
        allowed = _options(row.get(paper_col))
        if not allowed or table_col not in out:
            continue
        if paper_col == "transforms":
            allowed_values = {a == "yes" for a in allowed}
            out = out[out[table_col].astype(bool).isin(allowed_values)]
        else:
            out = out[out[table_col].astype(str).isin(allowed)]
    return out


def reproduction_table(paper: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The paper's numeric values beside this build's values for the same cells.

    ``tables`` maps a figure id ("3", "4", "5") to its analysis table. Accuracies and
    gains are in percent / percentage points, as in the paper. Columns: figure,
    quantity, setting, paper, paper_ci, build, build_ci, difference, paper_in_build_ci,
    status ("compared", or why not).
    """
    columns = {"method": "method", "n_real": "n_real", "transforms": "transforms", "fst_bin": "fst", "ratio": "synthetic_ratio"}
    rows = []
    for _, row in paper[paper.quantity.isin(["accuracy", "accuracy_gain", "max_accuracy_gain"])].iterrows():
        fig = str(row.figure)
        setting = ", ".join(f"{k}={row[k]}" for k in columns if _options(row.get(k)))
        out = {"figure": fig, "quantity": row.quantity, "setting": setting, "paper": row.value,
               "paper_ci": "" if np.isnan(row.ci_low) else f"{row.ci_low:+.1f} to {row.ci_high:+.1f}"}
        table = tables.get(fig)
        if table is None:
            rows.append({**out, "status": "figure not built"})
            continue
        use = dict(columns)
        if fig in ("3", "5"):
            use.pop("ratio")  # one synthetic ratio per figure
        if fig == "5" and row.quantity == "accuracy" and not _options(row.get("fst_bin")):
            table = table[table.fst.astype(str) == "all"]
        cells = _match(table, row, use)
        if row.quantity != "accuracy":
            cells = cells.dropna(subset=["gain"])
        if cells.empty:
            rows.append({**out, "status": "cell not in this build's grid"})
            continue
        if row.quantity == "accuracy":
            cell = cells.loc[cells.accuracy.idxmax()] if len(cells) > 1 else cells.iloc[0]
            value, low, high = cell.accuracy * 100, cell.ci_low * 100, cell.ci_high * 100
        else:
            cell = cells.loc[cells.gain.idxmax()] if (row.quantity == "max_accuracy_gain" or len(cells) > 1) else cells.iloc[0]
            value, low, high = cell.gain * 100, cell.gain_low * 100, cell.gain_high * 100
        inside = bool(low <= row.value <= high) if np.isfinite(low) and np.isfinite(high) else None
        rows.append({**out, "build": value, "build_ci": f"{low:.1f} to {high:.1f}" if np.isfinite(low) else "",
                     "difference": value - row.value, "paper_in_build_ci": inside,
                     "status": "compared" if len(cells) == 1 or row.quantity == "max_accuracy_gain" else f"best of {len(cells)} matching cells"})
    columns = ["figure", "quantity", "setting", "paper", "paper_ci", "build", "build_ci", "difference", "paper_in_build_ci", "status"]
    return pd.DataFrame(rows, columns=columns)  # every column, even when no cell matched (e.g. other labels)


# ----------------------------------------------------------------------------- embeddings chapter inputs
def synthetic_sets_of_grid(grid: str, profile) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real training pool and the synthetic images a grid trains on at its largest n (first seed).

    Returns (real, synthetic): ``real`` = the training pool of the grid's split (image_id,
    path, label, fst); ``synthetic`` = one row per synthetic image (image_id, path, label,
    fst, source_id, method, variant). Generation happens only if the grid has not run yet.
    """
    from synthaug_utils.experiments import trials as experiments
    from synthaug_utils.data.datasets import load_splits

    specs = [s for s in experiments.build_grid(grid, profile) if s.synthetic_ratio]
    if not specs:
        raise DataError(f"grid {grid!r} uses no synthetic images")
    largest = max(s.n_real or 0 for s in specs)
    first_seed = min(s.seed for s in specs)
    chosen = {}
    for spec in specs:
        if (spec.n_real or 0) == largest and spec.seed == first_seed and not spec.transforms:
            chosen.setdefault((spec.synthetic_method, spec.synthetic_variant), spec)
    splits = load_splits(profile, specs[0].which(profile), specs[0].split_seed)
    parts = []
    for (method, variant), spec in sorted(chosen.items()):
        table, _ = experiments.training_table(spec, profile, splits)
        parts.append(table[table.synthetic].assign(method=method, variant=variant))
    synthetic = pd.concat(parts, ignore_index=True)
    real = splits.train_pool[["image_id", "path", "label", "fst"]].reset_index(drop=True)
    return real, synthetic
