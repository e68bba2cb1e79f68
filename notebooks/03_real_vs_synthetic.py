# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Real vs synthetic training data (Fig. 3, Fig. S-1)
#
# Nine-way classifiers trained on n real images per class, with or without synthetic
# images (inpainting, in-then-outpainting, text-to-image) and with or without fastai's
# image transforms (`aug_transforms()`; {cite:p}`howard2020fastai`). Every trial is read from the results store when
# it is already there, so re-executing this page re-runs only what is missing.

# %% tags=["parameters"]
profile = "demo"
config = None
overrides = {}
store = None  # results folder (None: the default store of the profile, in the cache)
executor = None  # None (in-process), "dask://HOST:PORT" or "dask-local:2"
faithful_seeds = None  # fast-mode trials with these seeds get a faithful-recipe twin (None: the grid setting)
faithful_transforms = None  # ... and with these transforms settings (None: the grid setting)
faithful_n_real = None  # ... and these n real per class (None: the grid setting)

# %%

from synthaug_utils.analysis import highlights, leakage, tables
from synthaug_utils.core.config import load_profile
from synthaug_utils.experiments import chapters
from synthaug_utils.presentation import figures, plots, prose
from synthaug_utils.presentation.book import glue_values
from synthaug_utils.presentation.profile_box import glue_profile_box

chapter = chapters.chapter_results("fig3", load_profile(profile, config, overrides), store, executor)
frame, predictions, note = chapter.frame, chapter.predictions, chapter.note
table = tables.fig3_table(frame, predictions)
f3 = highlights.fig3_highlights(table)
glue_values(f3)
glue_values({**chapter.facts("f3"), "f3_ratio": chapter.settings["ratio"]})
glue_profile_box(chapter.profile, "03_real_vs_synthetic")

# %% [markdown]
# ```{glue:md} profile_box
# :format: myst
# ```
#
# This run: {glue:text}`f3_trials:d` trials, {glue:text}`f3_seeds:d` seeds per setting,
# {glue:text}`f3_ratio` synthetic images per real image from the
# {glue:text}`f3_variant` generator, trained with {glue:text}`f3_mode`. Accuracy is the
# mean over seeds (error bars: the paper's 95% Wald intervals, n = one run's test set); stars mark
# the primary analysis {cite:p}`searle1992variance,satterthwaite1946approximate` against no synthetic data at the same n (Benjamini-Hochberg-adjusted {cite:p}`benjamini1995controlling`
# p, * p<0.05, ** p<0.01, *** p<0.001; both analyses are compared below).
#
# The largest gain, {glue:text}`f3_best_gain:+.1f` pp (primary analysis, 95% CI
# {glue:text}`f3_best_ci`, BH-adjusted p = {glue:text}`f3_best_p`), came from
# {glue:text}`f3_best_method` at {glue:text}`f3_best_n:d` real images per class
# {glue:text}`f3_best_transforms` image transforms. {glue:text}`f3_n_significant:d` of
# {glue:text}`f3_n_tests:d` comparisons are significant after adjustment.

# %%
figures.show_figure(plots.plot_fig3(table, note), "fig3", profile, f3)

# %% [markdown]
# ## Two analyses of the same comparisons
#
# {glue:text}`f3_an_how` {glue:text}`f3_seed_scope`
#
# After adjustment, {glue:text}`f3_an_paper_sig:d` of {glue:text}`f3_an_tests:d` comparisons are
# significant under the paper's convention and {glue:text}`f3_an_primary_sig:d` under the primary
# analysis. {glue:text}`f3_an_disagree`

# %%
both = tables.two_analyses(table, ["n_real", "transforms"], "method")
glue_values(prose.analyses_facts(both, "f3_an", int(table.n_test.max()), table.get("model_note")))
figures.show_table(
    both,
    "fig3_analyses",
    "Every comparison of Fig. 3 under both analyses: the paper's convention and the primary analysis, "
    "with BH-adjusted p-values and whether they agree.",
)

# %% [markdown]
# ## Does the gain shrink as real data grows?
#
# Per method and transforms setting: where the gain peaks, the gain at the largest n, and
# the rank correlation of gain with n. "The gain diminishes" is a claim that something is
# absent, so it is not read off a non-significant test: it holds when the 95% upper bound of the
# gain at the largest n lies below a margin of {glue:text}`f3_margin:+.1f` pp, or when the gain there
# lies below the peak beyond noise; a wide interval that allows both reads "inconclusive".

# %%
figures.show_table(
    tables.shape_checks_fig3(table),
    "fig3_shape",
    "The shape of Fig. 3 tested: where the gain is significant, and whether it saturates at the largest n.",
)

# %% [markdown]
# ## Leaking and clean test images
#
# Some held-out images of the authors' split have a near-duplicate in the training file (the same
# Fitzpatrick17k-C cluster; chapter 01 counts them): a classifier can score them by remembering the
# near-copy, and DreamBooth, fine-tuned on the whole training file, has seen it. Each comparison of
# the figure is analysed again, from the same stored predictions, on the test set as it is, on the
# test set without those images (the profile setting `test_set: no-near-duplicates`) and on the
# leaking images alone. {glue:text}`lk_where` {glue:text}`lk_sentence`

# %%
leak = leakage.leakage_report(chapter.profile, frame, predictions)
leak_words = prose.leakage_sentences(chapter.profile, leak)
glue_values({**leak.values, **leak_words})
caption = f"Leaking and clean test images: each Fig. 3 comparison (primary analysis; stars: BH-adjusted within each test set). {leak_words['lk_label']}".strip()
figures.show_table(
    leak.shown, "fig3_leakage", caption, leakage.HEADERS, data=leak.table
) if leak.table is not None else None

# %% [markdown]
# ## Controls the paper does not have
#
# **Duplication.** A synthetic arm trains on {glue:text}`f3_ratio` extra images per real image, so
# it also takes that many more optimiser steps per epoch. The duplication arm repeats each real
# image instead (the same number of training images, no new content); the paper has this control
# only for class imbalance (Fig. S-2). Duplication against no extra images:
# {glue:text}`c_dup_vs_none`. Each synthetic method against duplication:
# {glue:text}`c_syn_vs_dup` ({glue:text}`c_syn_vs_dup_sig:d` of {glue:text}`c_syn_vs_dup_tests:d`
# significant after BH, primary analysis).
#
# **Generator-data budget.** The paper's DreamBooth models see every training image of their class
# whatever n the classifier gets, so at small n the synthetic images carry information from far
# more real images than the classifier is given. With the same recipe, a model on fewer images
# also takes fewer optimiser steps, so "what the generator saw" and "how far it was fine-tuned" move
# together; the arms below separate them. {glue:text}`c_budget_arms` All arms use the same ratio,
# method and seeds. Against no synthetic data and between arms: {glue:text}`c_budget`.
# {glue:text}`lim_generator`

# %%
both_frame, both_predictions = chapters.with_controls(chapter, store, executor)
glue_values(prose.limits_facts(chapter.profile, chapter.settings["n_real"]))
duplication = tables.duplication_table(both_frame, both_predictions)
budget = tables.budget_table(both_frame, both_predictions)
glue_values(
    {
        **prose.controls_highlights(duplication, budget),
        **prose.budget_steps_facts(chapter.profile, int(budget.n_real.min())),
    }
)
figures.show_table(
    tables.two_analyses(duplication, ["n_real", "transforms"], "arm"),
    "control_duplication",
    "Duplication control: duplicated real images against no extra images, and each synthetic method against "
    "duplication, under both analyses.",
)

# %%
figures.show_table(
    tables.two_analyses(budget, ["n_real", "transforms", "method"], "arm"),
    "control_budget",
    "Generator-data budget control: DreamBooth fine-tuned on the classifier's own images against the whole "
    "training pool, under both analyses.",
)

# %% [markdown]
# ## Per-disease gains (Fig. S-1)
#
# Gain of each method over no synthetic data for each class, pooled over the n and
# transforms grid.

# %%
s1 = tables.figS1_table(frame, predictions)
figures.show_figure(plots.plot_figS1(s1, note), "figS1", profile)

# %% [markdown]
# ## Fast mode against the faithful recipe
#
# On the embedded profiles the grid runs in *fast mode*: the frozen body's pooled features are
# computed once per image (and per augmented view when transforms are on) and only the head is
# trained on them. The faithful fastai recipe also trains the body's BatchNorm layers (their
# affine parameters and running statistics), which fast mode cannot. To show what that costs,
# a sample of this chapter's trials ({glue:text}`mode_pairs:d` of them: synthetic source
# {glue:text}`mode_methods` at n = {glue:text}`mode_ns` real images per class, seed(s)
# {glue:text}`mode_seeds`, transforms {glue:text}`mode_transforms`) is run again with the
# faithful recipe, each as its own stored trial.

# %%
pairs = chapters.fast_vs_faithful(chapter, faithful_seeds, faithful_transforms, faithful_n_real, store, executor)
mode = highlights.mode_gap_summary(pairs)
glue_values(mode)
if len(pairs):
    figures.show_figure(
        plots.plot_mode_gap(pairs, note),
        "mode_gap",
        profile,
        mode,
    )

# %% [markdown]
# Fast minus faithful top-1 accuracy: mean {glue:text}`mode_mean_diff`, mean absolute
# difference {glue:text}`mode_mean_abs`, largest absolute difference {glue:text}`mode_max_abs`;
# fast mode scored higher in {glue:text}`mode_fast_higher:d` of {glue:text}`mode_pairs:d` pairs.
# The faithful twins took {glue:text}`mode_time_ratio` times as long as the fast-mode trials
# (feature cache warm). The chapter's conclusions are therefore about the fast-mode classifier:
# the *differences* between training sets are what the figures compare, and both arms of every
# comparison use the same mode. The `paper` profile runs the faithful recipe throughout.

# %%
figures.show_table(
    pairs, "mode_pairs", "Fast mode and the faithful recipe on the same trials: top-1 accuracy of each pair."
)

# %% [markdown]
# ## The numbers behind the figure

# %%
figures.show_table(
    tables.numbers_behind(table, ["n_real", "transforms", "method"]),
    "fig3_numbers",
    "The numbers behind Fig. 3, per setting.",
)
