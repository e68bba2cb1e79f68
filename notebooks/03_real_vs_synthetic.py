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
# image transforms (`aug_transforms()`). Every trial is read from the results store when
# it is already there, so re-executing this page re-runs only what is missing.

# %% tags=["parameters"]
profile = "demo"
config = None
overrides = {}
store = None  # results folder; None = the profile's default store in the cache
executor = None  # None (in-process), "dask://HOST:PORT" or "dask-local:2"

# %%
from myst_nb import glue

from synthaug_utils import analysis, plots
from synthaug_utils.book import glue_values
from synthaug_utils.config import load_profile
from synthaug_utils.experiments import grid_settings

P = load_profile(profile, config, overrides)
note = plots.DEMO_NOTE if P.is_embedded else None
settings = grid_settings("fig3", P)
frame, predictions = analysis.grid_results("fig3", P, store, executor)
table = analysis.fig3_table(frame, predictions)
glue_values(analysis.fig3_highlights(table))
glue_values({
    "f3_trials": str(len(frame)), "f3_seeds": str(len(settings["seeds"])), "f3_ratio": str(settings["ratio"]),
    "f3_mode": "fast mode (cached frozen-body features, head trained)" if settings["mode"] == "fast" else "the faithful fastai recipe",
    "f3_variant": settings["variant"],
})

# %% [markdown]
# ```{admonition} Demo profile
# :class: warning
# On the `demo` profile these are results about the project's synthetic stand-in world
# and its small generator, not medical findings. Compare the *shape* of the effects with
# the paper (see the reproduction report), not the values.
# ```
#
# This run: {glue:text}`f3_trials` trials, {glue:text}`f3_seeds` seeds per setting,
# {glue:text}`f3_ratio` synthetic images per real image from the
# {glue:text}`f3_variant` generator, trained with {glue:text}`f3_mode`. Accuracy is the
# pooled proportion over seeds x test images (error bars: 95% Wald intervals); stars mark
# Benjamini-Hochberg-adjusted two-sample proportion tests against no synthetic data at
# the same n (* p<0.05, ** p<0.01, *** p<0.001).
#
# The largest gain, {glue:text}`f3_best_gain` (paired bootstrap 95% CI
# {glue:text}`f3_best_ci`, BH-adjusted p = {glue:text}`f3_best_p`), came from
# {glue:text}`f3_best_method` at {glue:text}`f3_best_n` real images per class
# {glue:text}`f3_best_transforms` image transforms. {glue:text}`f3_n_significant` of
# {glue:text}`f3_n_tests` comparisons are significant after adjustment.

# %%
fig = plots.plot_fig3(table, note)

# %% [markdown]
# ## Does the gain shrink as real data grows?
#
# Per method and transforms setting: where the gain peaks, the gain at the largest n, and
# the rank correlation of gain with n.

# %%
analysis.shape_checks_fig3(table).round(3)

# %% [markdown]
# ## Per-disease gains (Fig. S-1)
#
# Gain of each method over no synthetic data for each class, pooled over the n and
# transforms grid.

# %%
fig = plots.plot_figS1(analysis.figS1_table(frame, predictions), note)

# %% [markdown]
# ## The numbers behind the figure

# %%
cols = ["n_real", "transforms", "method", "accuracy", "ci_low", "ci_high", "seed_sd", "runs", "gain", "gain_low", "gain_high", "p", "p_bh", "p_per_run", "stars"]
table[cols].round(4)
