"""Numbers ready to glue: percentages, p-values, per-figure highlights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthaug_utils.analysis import stats
from synthaug_utils.analysis.stats import se_from_interval
from synthaug_utils.analysis.tables import EQUIVALENCE_MARGIN, figS2_pooled, shape_checks_fig4
from synthaug_utils.core.vocabulary import BUDGET_STEPS_VARIANT, BUDGET_VARIANT, NONE


def learning_curve_highlights(table: pd.DataFrame, n_labels: int) -> dict[str, str]:
    """Glue values for the learning curve: chance, and accuracy with CI at the smallest and largest n."""
    first, last = table.sort_values("n_real").iloc[[0, -1]].itertuples()
    return {
        "lc_chance": percent(1 / n_labels),
        "lc_n_min": str(int(first.n_real)),
        "lc_acc_min": percent(first.accuracy),
        "lc_ci_min": f"{percent(first.ci_low)} to {percent(first.ci_high)}",
        "lc_n_max": str(int(last.n_real)),
        "lc_acc_max": percent(last.accuracy),
        "lc_ci_max": f"{percent(last.ci_low)} to {percent(last.ci_high)}",
    }


def mode_gap_summary(pairs: pd.DataFrame) -> dict[str, str]:
    """Glue values for :func:`fast_vs_faithful`: pairs, mean and max |diff| and the mean signed diff
    (percentage points), and the time ratio faithful/fast summed over the pairs."""

    def listed(values) -> str:
        return ", ".join(str(v) for v in sorted(set(values))) or "none"

    return {
        "mode_pairs": str(len(pairs)),
        "mode_ns": listed(pairs.n_real),
        "mode_seeds": listed(pairs.seed),
        "mode_methods": listed(pairs.method),
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


def fig3_highlights(table: pd.DataFrame) -> dict[str, str]:
    """Numbers for the Fig. 3 prose: the largest gain (where, p) and the gains at the largest n."""
    tests = table[table.method != NONE].dropna(subset=["gain"])
    best = tests.loc[tests.gain.idxmax()]
    largest = tests[tests.n_real == tests.n_real.max()]
    out = {
        "f3_best_gain": percent(best.gain, signed=True),
        "f3_best_method": str(best.method),
        "f3_best_n": str(int(best.n_real)),
        "f3_best_transforms": "with" if best.transforms else "without",
        "f3_best_p": pvalue(best.p_bh),
        "f3_best_ci": f"{percent(best.gain_low, signed=True)} to {percent(best.gain_high, signed=True)}",
        "f3_largest_n": str(int(tests.n_real.max())),
        "f3_n_significant": str(int((tests.p_bh < 0.05).sum())),
        "f3_n_tests": str(len(tests)),
        "f3_margin": percent(EQUIVALENCE_MARGIN, signed=True),
        "f3_runs": str(int(table.runs.max())),
    }
    for _, row in largest.iterrows():
        tag = f"{row.method.replace('-', '_')}_{'tf' if row.transforms else 'notf'}"
        out[f"f3_large_{tag}"] = (
            f"{percent(row.gain, signed=True)} (95% CI {percent(row.gain_low, signed=True)} to "
            f"{percent(row.gain_high, signed=True)})"
        )
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
        "f4_best_gain": percent(best.gain, signed=True),
        "f4_best_ratio": tied_with_best(tests, "synthetic_ratio"),
        "f4_best_n": str(int(best.n_real)),
        "f4_best_p": pvalue(best.p_bh),
        "f4_first_ratio": str(first_ratio),
        "f4_first_gain": percent(top_first.gain, signed=True),
        "f4_first_n": str(int(top_first.n_real)),
        "f4_first_p": pvalue(top_first.p_bh),
        "f4_saturating": str(int(checks.saturates.sum())),
        "f4_settings": str(len(checks)),
        "f4_margin": percent(EQUIVALENCE_MARGIN, signed=True),
        "f4_n_significant": str(int((tests.p_bh < 0.05).sum())),
        "f4_n_tests": str(len(tests)),
    }


def fig5_highlights(table: pd.DataFrame) -> dict[str, str]:
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
        out[f"f5_{fst}_from"] = percent(base.accuracy)
        out[f"f5_{fst}_to"] = percent(best.accuracy)
        out[f"f5_{fst}_gain"] = percent(best.gain, signed=True)
        out[f"f5_{fst}_ci"] = f"{percent(best.gain_low, signed=True)} to {percent(best.gain_high, signed=True)}"
        out[f"f5_{fst}_method"] = tied_with_best(sub, "method")
        out[f"f5_{fst}_p"] = pvalue(best.p_bh)
    # gains whose 95% interval lies above zero (a count of positive point estimates, many near zero, is
    # what a build on other CPU kernels changes most)
    out["f5_n_above_zero"] = str(int((tests.gain_low > 0).sum()))
    out["f5_n_tests"] = str(len(tests))
    out["f5_n_significant"] = str(int((tests.p_bh < 0.05).sum()))
    return out


def figS2_highlights(table: pd.DataFrame) -> dict[str, str]:
    """Numbers for the Fig. S-2 prose: synthetic vs duplication on the rare label, pooled over labels and seeds."""
    pooled = figS2_pooled(table)
    rare = pooled[pooled.scope == "rare label"]
    smallest = rare.rare_n.min()
    at = rare[rare.rare_n == smallest].set_index("control")["accuracy"]
    tests = table.dropna(subset=["gain"])
    return {
        "s2_smallest": str(int(smallest)),
        "s2_synthetic": percent(at.get("synthetic", np.nan)),
        "s2_duplicate": percent(at.get("duplicate", np.nan)),
        "s2_none": percent(at.get("none", np.nan)),
        "s2_n_significant": str(int((tests.p_bh < 0.05).sum())),
        "s2_n_tests": str(len(tests)),
        "s2_labels": ", ".join(sorted(table.rare_label.unique())),
    }


def analyses_facts(
    both: pd.DataFrame, prefix: str, n_test: int | None = None, notes: pd.Series | None = None
) -> dict[str, str]:
    """Glue values for a chapter's side-by-side table (:func:`~synthaug_utils.analysis.tables.two_analyses`):
    ``{prefix}_tests``, ``{prefix}_paper_sig`` and ``{prefix}_primary_sig`` (significant after BH),
    ``{prefix}_how`` (what the two analyses are, with ``n_test`` test images per arm and run) and
    ``{prefix}_disagree`` (where they disagree, or that they agree). ``notes``: the primary analysis'
    ``model_note`` per comparison (:func:`~synthaug_utils.analysis.tables.compare_with_baseline`);
    each distinct note is added to ``{prefix}_how`` with the number of comparisons it touches."""
    setting = [
        c
        for c in both.columns
        if c not in {"gain_pp", "gain_ci_pp", "paper_p_bh", "paper_stars", "primary_p_bh", "primary_stars", "agree"}
    ]
    differ = both[~both.agree & both.paper_p_bh.notna() & both.primary_p_bh.notna()]
    if differ.empty:
        disagree = f"The two analyses agree on all {len(both)} comparisons."
    else:
        where = "; ".join(
            ", ".join(f"{c} {row[c]}" for c in setting)
            + (" (paper's convention only)" if row.paper_p_bh < 0.05 else " (primary analysis only)")
            for _, row in differ.iterrows()
        )
        disagree = (
            f"They disagree on {len(differ)} of {len(both)} comparisons, significant under one analysis only: {where}."
        )
    n = f"n = {n_test} test images per arm" if n_test else "n = one run's test set per arm"
    how = (
        "The paper's convention tests the mean accuracy over runs with a two-sample proportion test (Yates' "
        f"continuity correction, as R's prop.test) and {n}. "
        f"{stats.PRIMARY_ANALYSIS_TEXT} Both are Benjamini-Hochberg adjusted over the figure's comparisons; "
        "the figure's stars are the primary analysis'."
    )
    given = [str(n) for n in (notes if notes is not None else []) if isinstance(n, str) and n]
    for note in sorted(set(given)):
        how += f" On this build, {note} ({given.count(note)} of {len(both)} comparisons)."
    return {
        f"{prefix}_tests": str(len(both)),
        f"{prefix}_paper_sig": str(int((both.paper_p_bh < 0.05).sum())),
        f"{prefix}_primary_sig": str(int((both.primary_p_bh < 0.05).sum())),
        f"{prefix}_how": how,
        f"{prefix}_disagree": disagree,
    }


# What each generator-data-budget arm is, in the order the sentences name them.
_BUDGET_ARM_TEXT = {
    "pretrained": "the pretrained generator (no fine-tuning)",
    "dreambooth": "DreamBooth on the whole class pool",
    BUDGET_VARIANT: "on the trial's own images with the same recipe",
    BUDGET_STEPS_VARIANT: "on the own images for as many optimiser steps as the whole-pool model",
}


def _budget_arms_text(rows: pd.DataFrame) -> str:
    """The generator-data-budget comparison of one setting (rows of the arms that ran, at least
    ``dreambooth`` and ``dreambooth-own``): each arm's gain over no synthetic data; own images minus
    whole pool (at the same recipe and, where it ran, at the same steps: what the generator saw); the
    step-matched arm minus the same-recipe arm (the same images: how far it was fine-tuned)."""
    arms = rows.set_index("arm")
    missing = [arm for arm in ("dreambooth", BUDGET_VARIANT) if arm not in arms.index]
    if missing:
        return f"not compared ({' and '.join(missing)} without a gain estimate on this grid)"
    gains = ", ".join(
        f"{text} {_gain_text(arms.loc[arm].gain, arms.loc[arm].gain_low, arms.loc[arm].gain_high, arms.loc[arm].p_bh)}"
        for arm, text in _BUDGET_ARM_TEXT.items()
        if arm in arms.index
    )
    own = arms.loc[BUDGET_VARIANT]
    diffs = [
        f"own images minus whole pool at the same recipe "
        f"{_gain_text(own.own_vs_pool_gain, own.own_vs_pool_low, own.own_vs_pool_high, own.own_vs_pool_p_bh)}"
    ]
    if BUDGET_STEPS_VARIANT in arms.index:
        steps = arms.loc[BUDGET_STEPS_VARIANT]
        own = _gain_text(steps.own_vs_pool_gain, steps.own_vs_pool_low, steps.own_vs_pool_high, steps.own_vs_pool_p_bh)
        tuned = _gain_text(
            steps.steps_vs_own_gain, steps.steps_vs_own_low, steps.steps_vs_own_high, steps.steps_vs_own_p_bh
        )
        diffs.append(f"at the same steps (what the generator saw) {own}")
        diffs.append(f"own images for the pool's steps minus the same recipe (how far it was fine-tuned) {tuned}")
    return f"{gains}; " + ", ".join(diffs)


def _gain_text(gain: float, low: float, high: float, p: float) -> str:
    """'+1.2 pp (95% CI -0.3 pp to +2.7 pp, BH p = 0.120)' from proportions."""
    return (
        f"{percent(gain, signed=True)} (95% CI {percent(low, signed=True)} to {percent(high, signed=True)}, BH p = "
        f"{pvalue(p)})"
    )


def controls_highlights(dup: pd.DataFrame, budget: pd.DataFrame) -> dict[str, str]:
    """Glue values for the controls (:func:`~synthaug_utils.analysis.tables.duplication_table`,
    :func:`~synthaug_utils.analysis.tables.budget_table`): ``c_dup_vs_none`` (duplication against no
    extra images, per n and transforms), ``c_syn_vs_dup`` (each synthetic method against duplication),
    ``c_syn_vs_dup_sig`` / ``c_syn_vs_dup_tests``, and ``c_budget`` (each generator-data-budget arm
    against no synthetic data, the own-images arms against whole-pool, step-matched against same recipe)."""

    def where(row) -> str:
        return f"n = {int(row.n_real)}{' with transforms' if row.transforms else ''}"

    none = dup[dup.arm == NONE].dropna(subset=["gain"])
    dup_vs_none = "; ".join(
        f"{where(r)}: {_gain_text(-r.gain, -r.gain_high, -r.gain_low, r.p_bh)}" for r in none.itertuples()
    )
    syn = dup[~dup.arm.isin([NONE, "duplicate"])].dropna(subset=["gain"])
    syn_vs_dup = "; ".join(
        f"{r.arm} at {where(r)}: {_gain_text(r.gain, r.gain_low, r.gain_high, r.p_bh)}" for r in syn.itertuples()
    )
    parts = []
    for (n, tf, method), g in budget.dropna(subset=["gain"]).groupby(["n_real", "transforms", "method"]):
        parts.append(f"{method} at n = {int(n)}{' with transforms' if tf else ''}: " + _budget_arms_text(g))
    return {
        "c_dup_vs_none": dup_vs_none or "n/a",
        "c_syn_vs_dup": syn_vs_dup or "n/a (no synthetic arm beside the duplication arm)",
        "c_syn_vs_dup_sig": str(int((syn.p_bh < 0.05).sum())),
        "c_syn_vs_dup_tests": str(len(syn)),
        "c_budget": "; ".join(parts) or "n/a",
    }


def budget_steps_facts(profile, n_own: int, split_seed: int = 0) -> dict[str, str]:
    """DreamBooth optimiser steps of a model on ``n_own`` images and on the smallest class pool of the
    main dataset (the profile's DreamBooth settings: epochs over the images at its batch size, capped
    by max_steps), with both image counts. The pool is what the whole-pool model trains on: with
    ``include_validation`` (paper profile) the class's validation images too. ``c_pool_includes``
    says which; ``c_db_batch`` is the batch size; ``c_budget_arms`` describes every budget arm the
    controls grid runs, with these numbers, and what each comparison separates."""
    from synthaug_utils.data.splits import load_splits
    from synthaug_utils.diffusion.dreambooth import dreambooth_settings, optimiser_steps, training_images
    from synthaug_utils.experiments.grids import grid_settings

    db = dreambooth_settings(profile)
    splits = load_splits(profile, "main", split_seed)
    pool_per_class = min(len(training_images(splits, label, db.include_validation)) for label in splits.labels)
    steps_own, steps_pool = optimiser_steps(db, n_own), optimiser_steps(db, pool_per_class)
    includes = (
        "validation images included, as in the authors' code" if db.include_validation else "validation images excluded"
    )
    arms = grid_settings("controls", profile)["budget_variants"]
    parts = [
        f"DreamBooth on the class's whole pool ({pool_per_class} images for the smallest class, {includes}; "
        f"{steps_pool} optimiser steps of {db.batch_size} images)",
        f"on the trial's own {n_own} images with the same recipe ({db.epochs} epoch{'s' * (db.epochs != 1)}: "
        f"{steps_own} step{'s' * (steps_own != 1)})",
    ]
    if "pretrained" in arms:
        parts.insert(0, "the pretrained generator (no fine-tuning)")
    if BUDGET_STEPS_VARIANT in arms:
        per_step = min(n_own, db.batch_size)
        batch = (
            f"each step on {db.batch_size} images"
            + (" (the own images cycled to fill the batch)" if n_own < db.batch_size else "")
            if db.fill_matched_batches
            else f"each step on {per_step} images"
            + (
                f" (all the own images; the whole-pool model's steps hold {db.batch_size})"
                if per_step < db.batch_size
                else ""
            )
        )
        parts.append(
            f"on the own images for as many optimiser steps as the class's whole-pool model ({steps_pool} for the "
            f"smallest class), {batch}"
        )
    sentence = f"The budget arms: {'; '.join(parts)}."
    if BUDGET_STEPS_VARIANT in arms:
        sentence += (
            " Comparing the own images with the whole pool at the same steps separates what the generator saw; "
            "comparing the step-matched arm with the same-recipe arm separates how far it was fine-tuned."
        )
    return {
        "c_steps_own": str(steps_own),
        "c_steps_pool": str(steps_pool),
        "c_n_own": str(n_own),
        "c_pool": str(pool_per_class),
        "c_db_epochs": str(db.epochs),
        "c_db_batch": str(db.batch_size),
        "c_pool_includes": includes,
        "c_budget_arms": sentence,
    }


def limits_facts(profile, n_real: tuple | list = ()) -> dict[str, str]:
    """Glue values for the limits the book names (computed, not typed): ``lim_bin_n`` DDI test images
    per skin-tone bin, ``lim_bin_halfwidth`` the half-width of a 95% Wald interval at that n and the
    paper's FST I-II baseline accuracy, ``lim_bin_acc`` that accuracy; ``lim_generator`` a sentence on
    the generator's pretraining pool against the classifier's n (``n_real``: the chapter's n values)."""
    from synthaug_utils.analysis.paper import paper_values
    from synthaug_utils.analysis.stats import paper_convention_interval

    fig5 = paper_values("5")
    acc = (
        float(fig5[(fig5.quantity == "accuracy") & (fig5.method == "none") & (fig5.fst_bin == "12")].value.iloc[0])
        / 100
    )
    low, high = paper_convention_interval(acc, profile.ddi_per_bin)
    if profile.world is not None:
        pool = profile.world.pretrain_per_class
        generator = (
            f"The demo generator was pretrained on {pool} images per class of the stand-in world (images no "
            f"classifier trains or is tested on), more than the at most {max(n_real) if n_real else 'n'} real images "
            "per class "
            "the classifier gets in this chapter. It plays the part of Stable Diffusion's web-scale "
            "pretraining, and like it makes gains at small n easier to get: the generator knows more about the "
            "classes than the classifier's training set shows."
        )
    else:
        generator = (
            "Stable Diffusion was pretrained on web-scale data; whether it saw images like (or identical to) the "
            "test images cannot be checked (see the contamination check in the embeddings chapter)."
        )
    return {
        "lim_bin_n": str(profile.ddi_per_bin),
        "lim_bin_acc": percent(acc),
        "lim_bin_halfwidth": f"±{(high - low) / 2 * 100:.1f} points",
        "lim_generator": generator,
    }


def imbalance_budget_facts(table: pd.DataFrame | None) -> dict[str, str]:
    """``s2_budget``: the rare class's generator-data budget
    (:func:`~synthaug_utils.analysis.tables.imbalance_budget_table`),
    or why it did not run (``table`` None: the grid ``imbalance-controls`` is off on this profile)."""
    if table is None:
        return {
            "s2_budget": "This control did not run on this profile (grid imbalance-controls, enabled: false, to keep "
            "the book within its time budget; the paper profile runs it)."
        }
    parts = []
    for (label, cut, tf), g in table.dropna(subset=["gain"]).groupby(["rare_label", "rare_n", "transforms"]):
        parts.append(f"{label} cut to {int(cut)}{' with transforms' if tf else ''}: " + _budget_arms_text(g))
    return {"s2_budget": "Rare-label accuracy against no rebalancing: " + "; ".join(parts) + "."}
