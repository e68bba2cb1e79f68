"""The tables behind the results figures: trials from the results store in, statistics out.

Every function takes the tidy trial frame (:meth:`ResultsStore.frame`) and the long
per-test-image predictions (:meth:`ResultsStore.predictions`), and returns a tidy
DataFrame that one plotting function in :mod:`synthaug_utils.presentation.plots` draws.

Conventions (stated on every results page; see :mod:`synthaug_utils.analysis.stats`):

- Accuracy over several seeds is the mean over seeds (= seeds x test images pooled, every seed
  scoring the same test images); the per-seed spread (SD of the per-seed accuracies) is beside it.
  Error bars (``ci_low``, ``ci_high``) are the paper's: Wald intervals with n = one run's test set.
- Every comparison is analysed twice. **The paper's convention** (``paper_p``, ``paper_p_bh``,
  ``paper_stars``): continuity-corrected two-sample proportion test of the mean accuracies with n = one test set per
  arm, BH-adjusted over the figure's comparisons. **The primary analysis** (``gain``,
  ``gain_low``, ``gain_high``, ``p``, ``p_bh``, ``stars``, ``df``): the paired accuracy difference
  with its 95% interval and p-value from one crossed (seeds x test images) random-effects model
  (:func:`~synthaug_utils.analysis.stats.primary_comparison`), BH-adjusted over the same family.
  Figure stars are the primary analysis'; a star never sits on an interval that contains 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthaug_utils.analysis import stats
from synthaug_utils.core import profiles
from synthaug_utils.core.errors import DataError
from synthaug_utils.core.vocabulary import NONE


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
    out["control"] = np.where(
        out["synthetic_ratio"] > 0, "synthetic", np.where(out.get("duplicate", 0) > 0, "duplicate", NONE)
    )
    rare = out.get("n_real_per_label", pd.Series([""] * len(out), index=out.index)).fillna("").astype(str)
    out["rare_label"] = rare.str.split("=").str[0].replace("", NONE)
    out["rare_n"] = pd.to_numeric(rare.str.split("=").str[1], errors="coerce")
    return out


def accuracy_by(merged: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Accuracy per group: columns ``by`` + k, n (summed over seeds), accuracy, ci_low, ci_high
    (proportions; the paper's Wald interval with n = test images of one run), n_test (test images
    per run), runs and seed_sd."""
    rows = []
    for values, group in merged.groupby(list(by), sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        per_seed = group.groupby("seed")["correct"].mean()
        k, n = int(group["correct"].sum()), int(len(group))
        n_test = int(group["image_id"].nunique()) if "image_id" in group else int(n / max(per_seed.size, 1))
        low, high = stats.paper_convention_interval(k / n, n_test)
        rows.append(
            {
                **dict(zip(by, values)),
                "k": k,
                "n": n,
                "accuracy": k / n,
                "ci_low": low,
                "ci_high": high,
                "n_test": n_test,
                "runs": int(per_seed.size),
                "seed_sd": float(per_seed.std(ddof=1)) if per_seed.size > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _seed_matrix(group: pd.DataFrame) -> tuple[np.ndarray, list, list]:
    """Correctness as a (seeds, images) matrix, rows sorted by seed, columns by image id.
    Raises DataError when one arm holds two trials of a seed (the arm's settings are ambiguous)."""
    if group.duplicated(["seed", "image_id"]).any():
        keys = sorted(group["key"].unique()) if "key" in group else []
        raise DataError(
            f"one comparison arm holds several trials per seed ({len(keys)} trials: {keys[:4]}); "
            "its settings are ambiguous: separate them by a setting column"
        )
    table = group.pivot_table(index="seed", columns="image_id", values="correct", aggfunc="first")
    return table.to_numpy(dtype=float), list(table.index), list(table.columns)


@dataclass(frozen=True)
class ArmPair:
    """One arm against the baseline within one setting: the setting's values, the arm's value, both arms'
    rows and their correctness matrices (seeds, images) and image ids. ``paired``: both arms have the
    same seeds and test images, every cell filled (a paired analysis is possible)."""

    values: tuple
    arm_value: object
    arm_rows: pd.DataFrame
    base_rows: pd.DataFrame
    arm_matrix: np.ndarray
    base_matrix: np.ndarray
    arm_images: list
    base_images: list
    paired: bool


def arm_pairs(merged: pd.DataFrame, setting: Sequence[str], arm: str, baseline: object):
    """Yield an :class:`ArmPair` for every ``arm`` value within every combination of ``setting`` columns
    that has baseline trials, in sorted order. The baseline itself comes too, where it sorts, as an
    ``ArmPair`` with ``arm_value == baseline``, an empty arm matrix and ``paired`` False (tables keep a
    row for it)."""
    for values, group in merged.groupby(list(setting), sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        base = group[group[arm] == baseline]
        if base.empty:
            continue
        base_m, base_seeds, base_imgs = _seed_matrix(base)
        for arm_value, sub in group.groupby(arm, sort=True):
            if arm_value == baseline:
                yield ArmPair(values, arm_value, sub, base, np.empty((0, 0)), base_m, [], base_imgs, False)
                continue
            m, seeds, imgs = _seed_matrix(sub)
            paired = seeds == base_seeds and imgs == base_imgs and not np.isnan(m).any() and not np.isnan(base_m).any()
            yield ArmPair(values, arm_value, sub, base, m, base_m, imgs, base_imgs, paired)


TEST_COLUMNS = ("gain", "gain_low", "gain_high", "se", "df", "p", "paper_p")


def compare_with_baseline(
    merged: pd.DataFrame,
    setting: Sequence[str],
    arm: str,
    baseline: object,
) -> pd.DataFrame:
    """Each arm value against ``baseline`` within every combination of ``setting`` columns, analysed both ways.

    Returns one row per (setting, arm) - baseline rows included, with NaN tests - with the columns of
    :func:`accuracy_by`, the primary analysis (``gain``: arm minus baseline, proportion; its 95%
    interval ``gain_low``, ``gain_high``; ``se``, ``df``, ``p``, ``p_bh``, ``stars``, ``model_note``)
    and the paper's convention (``paper_p``, ``paper_p_bh``, ``paper_stars``); both BH adjustments
    run over every comparison in the returned table (one figure). ``paired`` is False where the arms
    do not share seeds and test images (no primary test).
    """
    acc = accuracy_by(merged, list(setting) + [arm])
    rows = []
    for pair in arm_pairs(merged, setting, arm, baseline):
        row = {**dict(zip(setting, pair.values)), arm: pair.arm_value}
        if pair.arm_value == baseline:
            rows.append(row)
            continue
        acc_arm, acc_base = float(pair.arm_rows["correct"].mean()), float(pair.base_rows["correct"].mean())
        row["paper_p"] = stats.paper_convention_test(acc_arm, acc_base, len(pair.arm_images), len(pair.base_images))
        row["paired"] = pair.paired
        if pair.paired:
            res = stats.primary_comparison(pair.arm_matrix, pair.base_matrix)
            row.update(
                gain=res.diff,
                gain_low=res.ci_low,
                gain_high=res.ci_high,
                se=res.se,
                df=res.df,
                p=res.p_value,
                model_note=res.note,
            )
        else:  # different seeds or test images: no paired analysis possible
            row.update(gain=acc_arm - acc_base, model_note="arms do not share seeds and test images")
        rows.append(row)
    tests = pd.DataFrame(rows)
    if tests.empty:
        raise DataError(f"no comparisons: no trial has {arm} == {baseline!r}")
    for col in TEST_COLUMNS:
        if col not in tests:
            tests[col] = np.nan
    for prefix in ("", "paper_"):
        tests[f"{prefix}p_bh"] = stats.benjamini_hochberg(tests[f"{prefix}p"].to_numpy(dtype=float))
        tests[f"{prefix}stars"] = [
            stats.significance_stars(p) if np.isfinite(p) else "" for p in tests[f"{prefix}p_bh"]
        ]
    return acc.merge(tests, on=list(setting) + [arm], how="left")


# The columns of a results chapter's "numbers behind the figure" table, after the setting and arm columns.
NUMBERS_COLUMNS = (
    "accuracy",
    "ci_low",
    "ci_high",
    "seed_sd",
    "runs",
    "gain",
    "gain_low",
    "gain_high",
    "df",
    "p",
    "p_bh",
    "stars",
    "paper_p",
    "paper_p_bh",
    "paper_stars",
)


def numbers_behind(table: pd.DataFrame, keys: Sequence[str], leave_out: Sequence[str] = ()) -> pd.DataFrame:
    """``table``'s ``keys`` columns (setting and arm) and :data:`NUMBERS_COLUMNS` (less ``leave_out``): what a
    results chapter shows under "The numbers behind the figure"."""
    return table[list(keys) + [c for c in NUMBERS_COLUMNS if c not in leave_out]]


def two_analyses(table: pd.DataFrame, setting: Sequence[str], arm: str) -> pd.DataFrame:
    """The compact side-by-side table of a results chapter: one row per comparison with the gain
    (percentage points) and its 95% interval from the primary analysis, the paper's convention (BH p,
    stars), the primary analysis (BH p, stars), and ``agree`` (both significant at 0.05 after BH, or
    both not)."""
    tests = table.dropna(subset=["gain"])
    out = tests[list(setting) + [arm]].copy()
    out["gain_pp"] = (tests.gain * 100).round(1)
    out["gain_ci_pp"] = [
        f"{lo * 100:+.1f} to {hi * 100:+.1f}" if np.isfinite(lo) else ""
        for lo, hi in zip(tests.gain_low, tests.gain_high)
    ]
    out["paper_p_bh"] = tests.paper_p_bh
    out["paper_stars"] = tests.paper_stars
    out["primary_p_bh"] = tests.p_bh
    out["primary_stars"] = tests.stars
    out["agree"] = (tests.paper_p_bh < 0.05) == (tests.p_bh < 0.05)
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------- one table per figure
def fig3_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Fig. 3: accuracy per (n_real, transforms, method); each method against no synthetic data."""
    merged = merged_predictions(frame, predictions)
    return compare_with_baseline(merged, ["n_real", "transforms"], "method", NONE)


def duplication_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """The duplication control of Fig. 3: per (n_real, transforms), every arm - no extra images ("none"),
    each real image duplicated ("duplicate"), each synthetic method - against duplication.

    ``frame``/``predictions`` hold the controls grid's and Fig. 3's trials (a trial in both counts once).
    A synthetic method's gain here is its gain beyond training on as many images per epoch.
    """
    from synthaug_utils.core.vocabulary import BUDGET_VARIANTS

    trials = frame.drop_duplicates("key")
    copies = int(trials.duplicate.max()) if "duplicate" in trials and trials.duplicate.max() > 0 else 0
    if not copies:
        raise DataError("no duplication trials: run the controls grid first (synthaug run controls)")
    # the synthetic arms of the same size (ratio = copies) of the chapter's own variant: the one with the
    # most such trials (a budget arm of another variant at the same ratio runs at fewer settings)
    sized = (trials.synthetic_ratio == copies) & ~trials.synthetic_variant.isin(BUDGET_VARIANTS)
    variant = trials.synthetic_variant[sized].value_counts().idxmax() if sized.any() else None
    same = (trials.synthetic_ratio == 0) | (sized & (trials.synthetic_variant == variant))
    merged = merged_predictions(trials[same], predictions.drop_duplicates(["key", "image_id"]))
    merged["arm"] = np.where(merged["control"] == "duplicate", "duplicate", merged["method"])
    keep = merged.groupby(["n_real", "transforms"])["arm"].transform(lambda a: (a == "duplicate").any())
    return compare_with_baseline(merged[keep], ["n_real", "transforms"], "arm", "duplicate")


def _budget_compare(merged: pd.DataFrame, setting: list[str]) -> pd.DataFrame:
    """Each budget arm (pretrained generator, DreamBooth on the whole pool, on the own images, on the own
    images for the whole-pool model's steps) against "none" per ``setting``; each own-images arm against
    the whole-pool arm (``own_vs_pool_*``: what the generator saw, and at the same recipe how far it was
    tuned); the step-matched arm against the own-images arm (``steps_vs_own_*``: the same images, tuned
    further). Each set of columns is BH-adjusted over its own comparisons."""
    from synthaug_utils.core.vocabulary import BUDGET_STEPS_VARIANT, BUDGET_VARIANT, BUDGET_VARIANTS

    merged = merged.assign(arm=np.where(merged.synthetic_ratio > 0, merged.synthetic_variant.astype(str), NONE))
    table = compare_with_baseline(merged, setting, "arm", NONE)
    keep = setting + ["arm", "gain", "gain_low", "gain_high", "p_bh"]
    for name, baseline, arms in (
        ("own_vs_pool", "dreambooth", BUDGET_VARIANTS),
        ("steps_vs_own", BUDGET_VARIANT, (BUDGET_STEPS_VARIANT,)),
    ):
        pair = merged[merged.arm.isin((baseline,) + tuple(arms))]
        if not pair.arm.isin(arms).any():
            table[[f"{name}_gain", f"{name}_low", f"{name}_high", f"{name}_p_bh"]] = np.nan
            continue
        other = compare_with_baseline(pair, setting, "arm", baseline)
        other = other[other.arm.isin(arms)][keep].rename(
            columns={
                "gain": f"{name}_gain",
                "gain_low": f"{name}_low",
                "gain_high": f"{name}_high",
                "p_bh": f"{name}_p_bh",
            }
        )
        table = table.merge(other, on=setting + ["arm"], how="left")
    return table


_BUDGET_MATCH = ("n_real", "n_real_per_label", "augment_labels", "transforms", "synthetic_method", "synthetic_ratio")


def _budget_trials(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Merged predictions of the trials a budget comparison uses: no synthetic data, or a budget arm
    (:data:`~synthaug_utils.core.vocabulary.BUDGET_ARMS`) with the setting, method and ratio of an
    own-images trial (so that another grid's trials of those variants, e.g. Fig. 3's at its own ratio,
    stay out); no duplication; each trial once."""
    from synthaug_utils.core.vocabulary import BUDGET_ARMS, BUDGET_VARIANT

    trials = frame[
        (frame.duplicate.fillna(0) == 0) & ((frame.synthetic_ratio == 0) | frame.synthetic_variant.isin(BUDGET_ARMS))
    ]
    trials = trials.drop_duplicates("key")
    if not (trials.synthetic_variant[trials.synthetic_ratio > 0] == BUDGET_VARIANT).any():
        raise DataError("no generator-data-budget trials: run the controls grid first (synthaug run controls)")
    match = [c for c in _BUDGET_MATCH if c in trials]
    text = pd.Series(["|".join(map(str, row)) for row in trials[match].itertuples(index=False)], index=trials.index)
    own = set(text[(trials.synthetic_ratio > 0) & (trials.synthetic_variant == BUDGET_VARIANT)])
    trials = trials[(trials.synthetic_ratio == 0) | text.isin(own)]
    return merged_predictions(trials, predictions.drop_duplicates(["key", "image_id"]))


def budget_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """The generator-data-budget control: per (n_real, transforms, method), no synthetic data ("none"),
    the pretrained generator ("pretrained"), DreamBooth on the class's whole pool ("dreambooth"), on the
    trial's own n images with the same recipe ("dreambooth-own") and on the own images for as many
    optimiser steps as the whole-pool model ("dreambooth-own-steps"), each against "none" (the arms that
    ran); each own-images arm also against the whole-pool arm (``own_vs_pool_gain``, ``own_vs_pool_low``,
    ``own_vs_pool_high``, ``own_vs_pool_p_bh``) and the step-matched arm against the own-images arm
    (``steps_vs_own_gain``, ``steps_vs_own_low``, ``steps_vs_own_high``, ``steps_vs_own_p_bh``)."""
    from synthaug_utils.core.vocabulary import BUDGET_VARIANT

    merged = _budget_trials(frame, predictions)
    own_n = merged.loc[merged.synthetic_variant == BUDGET_VARIANT, "n_real"].unique()
    merged = merged[merged.n_real.isin(own_n)]  # where the own-images arm ran
    synthetic = merged[merged.synthetic_ratio > 0]
    parts = [
        merged[(merged.method == m) | (merged.synthetic_ratio == 0)].assign(method=m)  # "none" serves every method
        for m in sorted(synthetic["method"].unique())
    ]
    return _budget_compare(pd.concat(parts, ignore_index=True), ["n_real", "transforms", "method"])


def imbalance_budget_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """The generator-data budget of the rare class (Fig. S-2): accuracy on the rare label's test images per
    (rare_label, rare_n, transforms) without rebalancing and with each budget arm: the pretrained
    generator, DreamBooth on the whole class pool, on the rare class's own cut images, and on those for
    the whole-pool model's steps (see :func:`budget_table` for the columns)."""
    merged = _budget_trials(frame, predictions)
    rare = merged[merged["true"] == merged["rare_label"]]
    return _budget_compare(rare, ["rare_label", "rare_n", "transforms"])


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


def fig4_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Fig. 4: accuracy per (n_real, transforms, synthetic_ratio); each ratio against ratio 0, and each
    ratio beyond the first non-zero one against that first one (``step_gain``, ``step_gain_low``,
    ``step_gain_high``, ``step_p_bh``: the saturation check's noise)."""
    merged = merged_predictions(frame, predictions)
    table = compare_with_baseline(merged, ["n_real", "transforms"], "synthetic_ratio", 0)
    ratios = sorted(r for r in merged.synthetic_ratio.unique() if r > 0)
    if len(ratios) < 2:
        return table
    beyond = merged[merged.synthetic_ratio >= ratios[0]]  # each larger ratio against the first one
    steps = compare_with_baseline(beyond, ["n_real", "transforms"], "synthetic_ratio", ratios[0])
    steps = steps[["n_real", "transforms", "synthetic_ratio", "gain", "gain_low", "gain_high", "p_bh"]]
    steps = steps.rename(columns={c: f"step_{c}" for c in ("gain", "gain_low", "gain_high", "p_bh")})
    return table.merge(steps, on=["n_real", "transforms", "synthetic_ratio"], how="left")


def fig5_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Fig. 5: malignant-vs-benign accuracy per (skin-tone bin, transforms, method) against no synthetic data.

    Rows with ``fst`` = "all" pool the three bins.
    """
    merged = merged_predictions(frame, predictions)
    merged["fst"] = merged["fst"].astype(int).astype(str)
    both = pd.concat([merged, merged.assign(fst="all")], ignore_index=True)
    return compare_with_baseline(both, ["fst", "transforms"], "method", NONE)


def figS2_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Fig. S-2: rare-label and overall accuracy per (rare label, images kept, control) against plain duplication.

    ``scope`` is "rare label" (test images of the cut label) or "overall".
    """
    merged = merged_predictions(frame, predictions)
    rare = merged[merged["true"] == merged["rare_label"]].assign(scope="rare label")
    both = pd.concat([rare, merged.assign(scope="overall")], ignore_index=True)
    return compare_with_baseline(both, ["scope", "rare_label", "rare_n", "transforms"], "control", "duplicate")


def figS2_pooled(table: pd.DataFrame) -> pd.DataFrame:
    """Fig. S-2 as drawn: accuracy per (scope, rare_n, control) pooled over rare labels, transforms and
    seeds (counts ``k`` and ``n`` summed), with the paper's Wald interval (``ci_low``, ``ci_high``) on
    ``n_test`` = the distinct test images behind the pooled row, counted once.

    Transforms and seeds score the same test images, so they add none. Across rare labels, "overall"
    rows all score the whole test set (counted once); "rare label" rows score each cut label's own
    images, disjoint sets, so those add up.
    """
    keys = ["scope", "rare_n", "control"]
    pooled = table.groupby(keys, as_index=False)[["k", "n"]].sum()
    per_label = table.groupby(keys + ["rare_label"])["n_test"].max().reset_index()
    overall = per_label.scope == "overall"
    images = pd.concat(
        [per_label[overall].groupby(keys)["n_test"].max(), per_label[~overall].groupby(keys)["n_test"].sum()]
    ).reset_index()
    pooled = pooled.merge(images, on=keys, how="left", validate="one_to_one")
    low, high = stats.paper_convention_interval((pooled.k / pooled.n).to_numpy(), pooled.n_test.to_numpy())
    return pooled.assign(accuracy=pooled.k / pooled.n, ci_low=low, ci_high=high)


# ----------------------------------------------------------------------------- shape checks
SHAPE_ALPHA = profiles.threshold("SHAPE_ALPHA")  # every shape check's noise threshold: BH-adjusted primary p


def _significant_gain(row) -> bool:
    """A gain above 0 beyond noise: positive, with BH-adjusted primary p < :data:`SHAPE_ALPHA`."""
    return bool(np.isfinite(row.p_bh) and row.p_bh < SHAPE_ALPHA and row.gain > 0)


EQUIVALENCE_MARGIN = profiles.threshold("EQUIVALENCE_MARGIN")
"""The margin of the claims of absence ("gains diminish", "gains saturate"), a proportion: a gain
whose 95% interval lies wholly below it is "no meaningful gain". A gain that is merely not
significant is not absent: with a wide interval it reads "inconclusive". Its value and why:
``THRESHOLDS["EQUIVALENCE_MARGIN"]`` in :mod:`synthaug_utils.core.profiles`."""


def _as_floats(tests: pd.DataFrame) -> pd.DataFrame:
    """``tests`` with its gain, interval and p columns as floats (a missing value as NaN)."""
    columns = [c for c in tests if c in ("gain", "gain_low", "gain_high", "p_bh") or c.startswith("step_")]
    return tests.assign(**{c: pd.to_numeric(tests[c], errors="coerce") for c in columns})


def _interval_se(row, low: str = "gain_low", high: str = "gain_high") -> float:
    """The standard error a row's 95% interval implies (NaN without an interval)."""
    lo, hi = getattr(row, low, np.nan), getattr(row, high, np.nan)
    return float(stats.se_from_interval(lo, hi)) if np.isfinite(lo) and np.isfinite(hi) else np.nan


def _below_peak_beyond_noise(peak, row) -> bool:
    """``row``'s gain lies below the ``peak`` gain beyond noise: the peak is itself a gain beyond
    noise (:func:`_significant_gain`) and the difference exceeds z times the root of the two squared
    standard errors (each read off its 95% interval; z two-sided at :data:`SHAPE_ALPHA`). The two gains
    come from different training runs and are treated as independent (the covariance of the shared
    test images is left out). The peak is the largest of several gains, so the test leans towards
    finding a drop; the margin test (:data:`EQUIVALENCE_MARGIN`) does not."""
    if peak is None or not _significant_gain(peak):
        return False
    se = np.hypot(_interval_se(peak), _interval_se(row))
    return bool(np.isfinite(se) and peak.gain - row.gain > stats.two_sided_z(SHAPE_ALPHA) * se)


def shape_checks_fig3(table: pd.DataFrame, margin: float = EQUIVALENCE_MARGIN) -> pd.DataFrame:
    """The paper's Fig. 3 shape with stated thresholds, per (method, transforms).

    ``gain_significant_at_small_n``: at some n below the figure's largest n the gain is above 0 with
    BH-adjusted primary p < 0.05. At the largest n (``largest_n``, the gain and its 95% upper bound
    ``gain_high_at_largest_n``): ``gain_not_significant_at_largest_n`` (p >= 0.05 or gain <= 0),
    ``below_margin_at_largest_n`` (the upper bound lies below ``margin``: no meaningful gain) and
    ``below_peak_beyond_noise`` (the gain lies below ``peak_gain`` beyond noise, see
    :func:`_below_peak_beyond_noise`; ``peak_gain`` is the largest gain with the same transforms at n
    below the largest, over methods, as the paper sets its highest gain against those at n = 228).
    ``diminishes``: "yes" (below the margin or below the peak beyond noise), "no" (a gain above 0
    beyond noise that is not below the peak), "inconclusive" (neither: a gain that is not significant
    but whose interval reaches the margin), "n/a" (no gain at the largest n). ``shape_as_paper``: a
    gain beyond noise below the largest n, diminished and not significant at the largest n. Also the
    setting's best gain and its n and the Spearman correlation of gain with n (descriptive).
    """
    from scipy.stats import spearmanr

    rows = []
    tests = _as_floats(table[table.method != NONE].dropna(subset=["gain"]))
    if tests.empty:
        return pd.DataFrame(rows)
    largest_n = tests.n_real.max()
    below = tests[tests.n_real < largest_n]
    for (method, tf), g in tests.groupby(["method", "transforms"]):
        g = g.sort_values("n_real")
        rho = spearmanr(g.n_real, g.gain).statistic if len(g) > 2 else np.nan
        best = g.loc[g.gain.idxmax()]
        small_sig = any(_significant_gain(r) for r in g[g.n_real < largest_n].itertuples())
        peaks = below[below.transforms == tf]
        peak = peaks.loc[peaks.gain.idxmax()] if len(peaks) else None
        at_largest = g[g.n_real == largest_n]
        if at_largest.empty:
            gain, high, large_not, under, drop, diminishes = np.nan, np.nan, True, False, False, "n/a"
        else:
            large = at_largest.iloc[0]
            gain, high = large.gain, large.get("gain_high", np.nan)
            large_not = not _significant_gain(large)
            under = bool(np.isfinite(high) and high < margin)
            drop = _below_peak_beyond_noise(peak, large)
            diminishes = "yes" if under or drop else ("inconclusive" if large_not else "no")
        rows.append(
            {
                "method": method,
                "transforms": tf,
                "best_n": int(best.n_real),
                "best_gain": best.gain,
                "largest_n": int(largest_n),
                "gain_at_largest_n": gain,
                "gain_high_at_largest_n": high,
                "peak_gain": np.nan if peak is None else peak.gain,
                "spearman_gain_vs_n": rho,
                "gain_significant_at_small_n": small_sig,
                "gain_not_significant_at_largest_n": large_not,
                "below_margin_at_largest_n": under,
                "below_peak_beyond_noise": drop,
                "diminishes": diminishes,
                "shape_as_paper": bool(small_sig and diminishes == "yes" and large_not),
            }
        )
    return pd.DataFrame(rows)


def shape_checks_fig4(table: pd.DataFrame, margin: float = EQUIVALENCE_MARGIN) -> pd.DataFrame:
    """Does the gain saturate after the first synthetic ratio? Per (n_real, transforms), with stated thresholds.

    Each larger ratio is tested against the first non-zero one (the ``step_*`` columns of
    :func:`fig4_table`). ``first_step_significant``: the gain at the first ratio is above 0 with
    BH-adjusted primary p < 0.05. ``increments_inside_noise``: no step is above 0 with BH-adjusted
    primary p < 0.05. ``increments_below_margin``: every step's 95% upper bound (the largest is
    ``largest_step_high``) lies below ``margin``: no meaningful extra gain. ``saturation``: "yes"
    (below the margin), "no" (a step above 0 beyond noise), "inconclusive" (neither: a step that is
    not significant but whose interval reaches the margin), "n/a" (no ratio beyond the first).
    ``saturates``: the first step significant and ``saturation`` "yes".
    """
    rows = []
    tests = _as_floats(table.dropna(subset=["gain"]))
    for (n, tf), g in tests.groupby(["n_real", "transforms"]):
        g = g.sort_values("synthetic_ratio")
        first, beyond = g.iloc[0], g.iloc[1:]
        steps = beyond.dropna(subset=["step_gain"]) if "step_gain" in beyond else beyond.iloc[:0]
        above = any(
            np.isfinite(r.step_p_bh) and r.step_p_bh < SHAPE_ALPHA and r.step_gain > 0 for r in steps.itertuples()
        )
        highs = steps["step_gain_high"] if "step_gain_high" in steps else pd.Series(np.nan, index=steps.index)
        under = bool(len(steps)) and bool(np.isfinite(highs).all() and (highs < margin).all())
        saturation = "n/a" if steps.empty else "no" if above else "yes" if under else "inconclusive"
        first_sig = _significant_gain(first)
        rows.append(
            {
                "n_real": n,
                "transforms": tf,
                "first_ratio": int(first.synthetic_ratio),
                "gain_at_first_ratio": first.gain,
                "best_gain_beyond": beyond.gain.max() if len(beyond) else np.nan,
                "largest_step_beyond_first": steps.step_gain.max() if len(steps) else np.nan,
                "largest_step_high": highs.max() if len(steps) else np.nan,
                "first_step_significant": first_sig,
                "increments_inside_noise": bool(len(steps)) and not above,
                "increments_below_margin": under,
                "saturation": saturation,
                "saturates": bool(first_sig and saturation == "yes"),
            }
        )
    return pd.DataFrame(rows)


def learning_curve_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy against n real images per class (no synthetic data): one row per n with pooled
    accuracy, Wald interval (proportions), runs and per-seed SD (see :func:`accuracy_by`)."""
    return accuracy_by(merged_predictions(frame, predictions), ["n_real"])


# ----------------------------------------------------------------------------- stars and intervals
STAR_COLUMNS = (
    ("gain", "gain_low", "gain_high", "p_bh"),
    ("step_gain", "step_gain_low", "step_gain_high", "step_p_bh"),
)


def star_interval_conflicts(figure_tables: dict[str, pd.DataFrame], alpha: float = 0.05) -> tuple[int, pd.DataFrame]:
    """Significant comparisons whose 95% interval contains 0, over every figure table.

    A comparison is significant when its BH-adjusted primary p is below ``alpha`` (a star, or a
    "significant" in a shape check). BH only raises p-values and the primary analysis' interval and
    p come from one standard error, so there should be none: the book prints the count.

    Returns:
        ``(significant, conflicts)``: how many significant comparisons the tables hold, and the rows
        (figure, gain, gain_low, gain_high, p_bh) of those whose interval contains 0.
    """
    significant, rows = 0, []
    for fig, table in figure_tables.items():
        for gain, low, high, p in STAR_COLUMNS:
            if p not in table:
                continue
            sig = table[np.isfinite(table[p].astype(float)) & (table[p].astype(float) < alpha)]
            significant += len(sig)
            bad = sig[(sig[low] <= 0) & (sig[high] >= 0)]
            rows += [
                {"figure": fig, "gain": r[gain], "gain_low": r[low], "gain_high": r[high], "p_bh": r[p]}
                for _, r in bad.iterrows()
            ]
    return significant, pd.DataFrame(rows, columns=["figure", "gain", "gain_low", "gain_high", "p_bh"])
