"""The few sentences of the book that must be computed, because their words depend on the data or the
profile: which dataset, how it was split and grouped, which labels were dropped and whether skin types are
known (chapter 01); what the two analyses are and where they disagree, the control arms' comparisons, the
limits (03-06); whether values are compared with the paper (08). Chapter 02's are in
:mod:`synthaug_utils.presentation.generation_prose`, the cost estimate's and the synthetic source's in
:mod:`synthaug_utils.presentation.cost_prose`. Every other sentence is the notebooks' Markdown, with the
numbers glued raw and formatted in the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from synthaug_utils.analysis import stats
from synthaug_utils.analysis.highlights import percent, pvalue
from synthaug_utils.analysis.paper import paper_values
from synthaug_utils.analysis.stats import paper_convention_interval
from synthaug_utils.core.config import Profile
from synthaug_utils.core.vocabulary import BUDGET_STEPS_VARIANT, BUDGET_VARIANT, NONE
from synthaug_utils.data.summary import DatasetCapabilities, dataset_capabilities
from synthaug_utils.data.tables import DatasetTables, SplitTables
from synthaug_utils.data.world import DERM9_LABELS, NEAR_DUPLICATE_CHANGES


# ----------------------------------------------------------------------------- chapter 01: the data
def grouping_sentence(tables: DatasetTables, splits: SplitTables) -> str | None:
    """How a bring-your-own dataset's images were grouped and how many groups and images each split got
    (None for datasets without grouping: Fitzpatrick17k, DDI, the stand-in world)."""
    from synthaug_utils.data.groups import NEAR_DUPLICATE_MAX_HAMMING, group_of

    grouping = tables.meta.get("grouping")
    if grouping is None:
        return None
    groups = tables.meta.get("groups") or {}
    parts = [
        (name, t, group_of(t, groups))
        for name, t in (("training pool", splits.train_pool), ("validation", splits.val), ("test", splits.test))
    ]
    counts = "; ".join(
        f"{name} {len(t)} images in {g.nunique()} group{'' if g.nunique() == 1 else 's'}" for name, t, g in parts
    )
    if grouping == "column":
        how = "Images are split by the table's group column (patient or lesion), whole groups at a time"
    elif grouping == "near-duplicates":
        near = tables.meta.get("near_duplicates")
        clustered = len(near.groups) if near is not None else 0
        n_clusters = len(set(near.groups.values())) if near is not None else 0
        rule = f"identical bytes, or perceptual hashes within {NEAR_DUPLICATE_MAX_HAMMING} of 64 bits"
        how = (
            f"Near-duplicate images ({rule}) were grouped: {n_clusters} cluster(s) of {clustered} images, each kept in "
            "one split"
            if n_clusters
            else f"No near-duplicate images were found ({rule}), so every image is its own group"
        )
    else:
        return (
            f"Images are split one by one (no group column, near-duplicate grouping off): training pool "
            f"{len(splits.train_pool)}, validation {len(splits.val)}, test {len(splits.test)} images."
        )
    return f"{how} (split seed {splits.split_seed}): {counts}; no group is in two splits."


def data_chapter_notes(
    ddi, ddi_keys: Sequence[str], capabilities: DatasetCapabilities, grouping: str | None = None
) -> str:
    """The data chapter's sentences after the split counts: the DDI slot (``ddi``: its SplitTables, or
    None when not supplied; ``ddi_keys``: the location keys that would supply it), labels dropped by
    ``min_images_per_label``, a missing skin-type column, and ``grouping`` (:func:`grouping_sentence`)."""
    if ddi is not None:
        positive = ddi.labels[-1]
        counts = ddi.all()
        bins = sorted(counts.fst.unique())
        text = (
            f"The DDI-style set ({ddi.dataset}) has {len(counts)} images, {int(counts.label.eq(positive).sum())} of "
            f"them {positive}; its test and validation sets take {per_group(ddi.test, 'fst', bins)} and "
            f"{per_group(ddi.val, 'fst', bins)} images per skin-tone bin."
        )
    else:
        text = f"The DDI slot is not supplied ({', '.join(ddi_keys)}), so its figures are left out here and in Fig. 5."
    extra = [s for s in (dropped_labels_sentence(capabilities), skin_type_skipped(capabilities), grouping) if s]
    return " ".join([text, *extra])


def skin_type_skipped(capabilities: DatasetCapabilities) -> str | None:
    """A sentence saying why the skin-type analysis cannot run on the dataset; None when it can."""
    if capabilities.has_fst:
        return None
    if not capabilities.fst_column:
        return f"Skin-type analysis skipped: the dataset {capabilities.name} has no fst column (Fitzpatrick skin type)."
    return (
        f"Skin-type analysis skipped: the fst column of the dataset {capabilities.name} holds no known skin type (all "
        "blank or -1)."
    )


def dropped_labels_sentence(capabilities: DatasetCapabilities) -> str | None:
    """A sentence naming the labels dropped by ``min_images_per_label`` (None when none were)."""
    if not capabilities.dropped:
        return None
    names = ", ".join(f"{label!r} ({n} images)" for label, n in capabilities.dropped)
    return f"{len(capabilities.dropped)} label(s) with fewer images than min_images_per_label were left out: {names}."


def per_group(frame: pd.DataFrame, column: str, groups: Sequence) -> str:
    """Images of ``frame`` per value of ``column`` over ``groups``: one number when every group has as
    many, else the range ("35-40")."""
    sizes = frame[column].value_counts().reindex(list(groups), fill_value=0)
    low, high = int(sizes.min()), int(sizes.max())
    return str(low) if low == high else f"{low}-{high}"


def data_opening(profile, tables: DatasetTables, splits: SplitTables) -> dict[str, str]:
    """The data chapter's opening, from the dataset and split this build used: ``data_name`` (the main
    dataset and where it came from) and ``data_split_rule`` (how the test, validation and training sets
    were made, with their images per label)."""
    from pathlib import Path

    from synthaug_utils.core.config import NEAR_DUPLICATE_SETTINGS, main_data_name, near_duplicate_changes

    test = per_group(splits.test, "label", splits.labels)
    val = per_group(splits.val, "label", splits.labels)
    n = len(splits.labels)
    byo_name = main_data_name(profile)
    given = dataset_capabilities(tables).split_given
    if profile.is_embedded:
        name = (
            f"the synthetic stand-in world {tables.name}, drawn by the project's own code: {n} classes that carry "
            "the F17k-9 label names, not photographs of patients"
        )
        test_rule = f"the world's held-out images are the test set ({test} per label)"
    elif byo_name is not None:
        source = Path(profile.locations["main_data"]).expanduser()
        origin = (
            f"the table {source.name}" if source.suffix.lower() == ".csv" else f"the class folders in {source.name}"
        )
        name = f"{byo_name}, bring-your-own data ({n} labels, read from {origin}; stored as {tables.name})"
        test_rule = (
            f"the table's split column gives the test set ({test} per label)"
            if given
            else f"{test} test images per label are held out, one draw for every split seed"
        )
    else:
        name = (
            f"F17k-9 ({tables.name}): the {n} Fitzpatrick17k labels the paper uses, from the authors' clean split files"
        )
        test_rule = f"the authors' held-out file is the test set ({test} per label), as in the paper"
    rule = (
        f"{test_rule[0].upper()}{test_rule[1:]}; {val} validation images per label are drawn from the rest with the "
        f"split seed ({splits.split_seed}), and the remaining images form the training pool."
    )
    changed = near_duplicate_changes(profile)
    if changed:
        rule += (
            " Changed from the paper's files: "
            + "; ".join(
                f"{setting} = {value} ({NEAR_DUPLICATE_SETTINGS[setting][value]})" for setting, value in changed.items()
            )
            + "."
        )
    return {"data_name": name, "data_split_rule": rule}


# ----------------------------------------------------------------------------- results chapters 03-06
def analyses_facts(
    both: pd.DataFrame, prefix: str, n_test: int | None = None, notes: pd.Series | None = None
) -> dict[str, Any]:
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
        f"{prefix}_tests": len(both),
        f"{prefix}_paper_sig": int((both.paper_p_bh < 0.05).sum()),
        f"{prefix}_primary_sig": int((both.primary_p_bh < 0.05).sum()),
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


def controls_highlights(dup: pd.DataFrame, budget: pd.DataFrame) -> dict[str, Any]:
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
        "c_syn_vs_dup_sig": int((syn.p_bh < 0.05).sum()),
        "c_syn_vs_dup_tests": len(syn),
        "c_budget": "; ".join(parts) or "n/a",
    }


def budget_steps_facts(profile, n_own: int, split_seed: int = 0) -> dict[str, Any]:
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
        "c_steps_own": int(steps_own),
        "c_steps_pool": int(steps_pool),
        "c_n_own": int(n_own),
        "c_pool": int(pool_per_class),
        "c_db_epochs": int(db.epochs),
        "c_db_batch": int(db.batch_size),
        "c_pool_includes": includes,
        "c_budget_arms": sentence,
    }


def limits_facts(profile, n_real: tuple | list = ()) -> dict[str, Any]:
    """Glue values for the limits the book names (computed, not typed): ``lim_bin_n`` DDI test images
    per skin-tone bin, ``lim_bin_halfwidth`` the half-width of a 95% Wald interval at that n and the
    paper's FST I-II baseline accuracy, ``lim_bin_acc`` that accuracy; ``lim_generator`` a sentence on
    the generator's pretraining pool against the classifier's n (``n_real``: the chapter's n values)."""
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
        "lim_bin_n": int(profile.ddi_per_bin),
        "lim_bin_acc": acc,
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


# ----------------------------------------------------------------------------- chapter 03: leaking test images
def leakage_where(profile: Profile, leaking: Iterable[str] | None, prefix: str = "lk") -> dict[str, str]:
    """What the leaking images of ``profile`` are: ``{prefix}_where``, a sentence for the prose, and
    ``{prefix}_label``, a note for the table's caption (empty where the near-duplicates are real). On
    the embedded profiles both say that the pairs are planted in the stand-in world, not real."""
    if not profile.is_embedded:
        if leaking is None:
            return {
                f"{prefix}_where": "The main dataset of this profile is bring-your-own data.",
                f"{prefix}_label": "",
            }
        return {
            f"{prefix}_where": "On this profile the held-out images are the authors' held-out file and a "
            "near-duplicate is a training image in the same Fitzpatrick17k-C cluster.",
            f"{prefix}_label": "",
        }
    world = profile.world
    rate = world.near_duplicate_rate
    how = (
        "as many per class as leak in the real F17k-9 split (each label's leaking share in chapter 01's audit of "
        f"the real metadata, applied to the world's {world.test_per_class} held-out images per class and rounded)"
        if rate is None
        else f"a share of {percent(float(rate))} of each class's held-out images"
    )
    n_held_out = len(DERM9_LABELS) * world.test_per_class
    return {
        f"{prefix}_where": (
            f"On this profile these are not real near-duplicates: the stand-in world {profile.dataset!r} has planted "
            f"pairs. {len(set(leaking or ()))} of its {n_held_out} held-out images were drawn as slightly altered "
            "copies "
            f"({NEAR_DUPLICATE_CHANGES}) of a training image of their class, {how}."
        ),
        f"{prefix}_label": "Stand-in world: the leaking images are planted near-duplicate pairs, not real ones.",
    }


def leakage_sentences(profile: Profile, report, prefix: str = "lk") -> dict[str, str]:
    """The leakage section's words (chapter 03): :func:`leakage_where`'s ``{prefix}_where`` and
    ``{prefix}_label``, and ``{prefix}_sentence``, what the comparisons on leaking and clean test images
    show (``report``: :func:`synthaug_utils.analysis.leakage.leakage_report`, its values those of
    :func:`~synthaug_utils.analysis.leakage.leakage_facts`)."""
    out = leakage_where(profile, report.leaking, prefix)
    v = report.values
    if report.leaking is None:
        out[f"{prefix}_sentence"] = (
            "Not computed on this profile: bring-your-own data has no known near-duplicate clusters. On the paper "
            "profile with Fitzpatrick17k (and in the rehearsal book) this section repeats each Fig. 3 comparison on "
            "the held-out images that have a near-duplicate in the training file and on the others; chapter 01 "
            "counts them in the real metadata."
        )
    elif f"{prefix}_comparisons" not in v:
        out[f"{prefix}_sentence"] = "No Fig. 3 comparison has paired trials, so none is analysed by test images."
    elif v[f"{prefix}_leaking"] == "0":
        why = (
            " (this run's test set is the one without near-duplicates)"
            if profile.test_set == "no-near-duplicates"
            else ""
        )
        out[f"{prefix}_sentence"] = (
            f"None of the {v[f'{prefix}_images']} scored test images has a near-duplicate in the training file{why}, "
            "so every gain above is already a gain on clean images."
        )
    else:
        whole = "the stand-in world's test set" if profile.is_embedded else "the authors' test set"
        out[f"{prefix}_sentence"] = (
            f"Of the {v[f'{prefix}_images']} scored held-out images, {v[f'{prefix}_leaking']} ({v[f'{prefix}_share']}) "
            f"have a near-duplicate in the training file (leaking) and {v[f'{prefix}_clean']} do not. The largest "
            f"Fig. 3 gain, {v[f'{prefix}_best']}, is {v[f'{prefix}_best_authors']} on {whole}, "
            f"{v[f'{prefix}_best_clean']} without the leaking images and {v[f'{prefix}_best_leaking']} on the leaking "
            f"images alone. The gain was larger on leaking than on clean images in {v[f'{prefix}_leak_larger']} "
            f"comparisons; after BH adjustment {v[f'{prefix}_sig_authors']} of {v[f'{prefix}_comparisons']} "
            f"comparisons are significant on {whole} and {v[f'{prefix}_sig_clean']} without near-duplicates."
        )
    return out


# ----------------------------------------------------------------------------- chapter 08: the reproduction report
def reproduction_values(report: pd.DataFrame, profile_name: str, compare_values: bool) -> str:
    """``rr_values``: how many compared values agree with the paper, or (``compare_values`` False: stand-in
    data) why none is counted (``report``: :func:`~synthaug_utils.analysis.report.reproduction_table`)."""
    from synthaug_utils.analysis.report import Z_AGREE

    if compare_values:
        compared = int(report.status.eq("compared").sum())
        return (
            f"Of the {compared} compared values, {int(report.agreement.eq('agree').sum())} agree with the paper "
            f"within the combined uncertainty (|z| < {Z_AGREE}, the paper's and this build's 95% intervals)."
        )
    return (
        f"On the {profile_name} profile the data and models are stand-ins, so no value agreement is counted; "
        "the values are listed to show which cells exist."
    )
