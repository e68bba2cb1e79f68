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
# # Class imbalance (Fig. S-2)
#
# One label is cut to a fraction of the others' real images; its training images are then
# topped up back to parity, either with synthetic (inpainted) images of its own real
# images or by plain duplication of those real images. We compare accuracy on the rare
# label and overall.

# %% tags=["parameters"]
profile = "demo"
config = None
overrides = {}
store = None
executor = None

# %%
from synthaug_utils.analysis import highlights, tables
from synthaug_utils.core.config import load_profile
from synthaug_utils.experiments import chapters
from synthaug_utils.presentation import figures, plots, prose
from synthaug_utils.presentation.book import glue_values
from synthaug_utils.presentation.profile_box import glue_profile_box

chapter = chapters.chapter_results("imbalance", load_profile(profile, config, overrides), store, executor)
frame, predictions, note, settings = chapter.frame, chapter.predictions, chapter.note, chapter.settings
table = tables.figS2_table(frame, predictions)
s2 = highlights.figS2_highlights(table)
glue_values(s2)
glue_values({**chapter.facts("s2"), "s2_n": settings["n_real"], "s2_cuts": ", ".join(str(c) for c in settings["cuts"])})
glue_profile_box(chapter.profile, "06_class_imbalance")

# %% [markdown]
# ```{glue:md} profile_box
# :format: myst
# ```
#
# This run: {glue:text}`s2_trials:d` trials ({glue:text}`s2_seeds:d` seeds); every label has
# {glue:text}`s2_n` real training images except the rare one ({glue:text}`s2_labels` in
# turn), cut to {glue:text}`s2_cuts`. With {glue:text}`s2_smallest:d` rare images, accuracy
# on the rare label (pooled over rare labels and seeds) was {glue:text}`s2_none:.1%` without
# rebalancing, {glue:text}`s2_duplicate:.1%` with duplication and {glue:text}`s2_synthetic:.1%`
# with synthetic images. {glue:text}`s2_n_significant:d` of {glue:text}`s2_n_tests:d`
# comparisons against duplication are significant after BH adjustment (primary analysis; both
# analyses below).

# %%
pooled = tables.figS2_pooled(table)  # what the figure draws: pooled over rare labels and seeds
figures.show_figure(plots.plot_figS2(pooled, note), "figS2", profile, s2)
figures.show_table(
    pooled,
    "figS2_table",
    "Fig. S-2 as drawn: accuracy per scope, rare images kept and rebalancing, pooled over rare labels and seeds.",
)

# %% [markdown]
# ## Two analyses of the same comparisons
#
# {glue:text}`s2_an_how` {glue:text}`s2_seed_scope`
#
# After adjustment, {glue:text}`s2_an_paper_sig:d` of {glue:text}`s2_an_tests:d` comparisons are
# significant under the paper's convention and {glue:text}`s2_an_primary_sig:d` under the primary
# analysis. {glue:text}`s2_an_disagree`

# %%
both = tables.two_analyses(table, ["scope", "rare_label", "rare_n", "transforms"], "control")
glue_values(prose.analyses_facts(both, "s2_an", int(table.n_test.max()), table.get("model_note")))
figures.show_table(
    both,
    "figS2_analyses",
    "Every comparison of Fig. S-2 under both analyses: the paper's convention and the primary analysis, "
    "with BH-adjusted p-values and whether they agree.",
)

# %% [markdown]
# ## Generator-data budget of the rare class (beyond the paper)
#
# The paper's DreamBooth model of the rare class is fine-tuned on every training image of that
# class, also when the classifier is given only a cut of them. This control fine-tunes it on the
# rare class's own cut images only, with the same recipe (so fewer optimiser steps) and for as
# many optimiser steps as the whole-pool model, beside the whole-pool model and the pretrained
# generator (smallest cut, same synthetic ratio): the own images against the whole pool at the
# same steps separate what the generator saw from how far it was fine-tuned. {glue:text}`s2_budget`

# %%
rare_budget = chapters.optional_grid_results("imbalance-controls", chapter.profile, store, executor)
rare_table = tables.imbalance_budget_table(*rare_budget) if rare_budget else None
glue_values(prose.imbalance_budget_facts(rare_table))
figures.show_table(
    tables.two_analyses(rare_table, ["rare_label", "rare_n", "transforms"], "arm"),
    "control_rare_budget",
    "The rare class's DreamBooth model fine-tuned on its own cut images, at its own and at the whole-pool "
    "steps, against the whole-pool model, under both analyses.",
) if rare_budget else None

# %%
figures.show_table(
    tables.numbers_behind(table, ["scope", "rare_label", "rare_n", "transforms", "control"], leave_out=["seed_sd"]),
    "figS2_numbers",
    "The numbers behind Fig. S-2, per setting.",
)
