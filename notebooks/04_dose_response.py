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
# # Dose-response and saturation (Fig. 4)
#
# Classifiers trained on n real images per class plus an increasing number of
# text-to-image synthetic images per real image (the paper {cite:p}`sagers2023augmenting`: 0, 10, 25, 50 and 75 at
# n = 16, 32 and 64), with and without image transforms.

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

chapter = chapters.chapter_results("fig4", load_profile(profile, config, overrides), store, executor)
frame, predictions, note, settings = chapter.frame, chapter.predictions, chapter.note, chapter.settings
table = tables.fig4_table(frame, predictions)
f4 = highlights.fig4_highlights(table)
glue_values(f4)
glue_values(
    {
        **chapter.facts("f4"),
        "f4_ratios": ", ".join(str(r) for r in settings["ratios"]),
        "f4_ns": ", ".join(str(n) for n in settings["n_real"]),
    }
)
glue_profile_box(chapter.profile, "04_dose_response")

# %% [markdown]
# ```{glue:md} profile_box
# :format: myst
# ```
#
# This run: {glue:text}`f4_trials:d` trials ({glue:text}`f4_seeds:d` seeds), ratios
# {glue:text}`f4_ratios` synthetic per real image at n = {glue:text}`f4_ns`.
# At the first non-zero ratio ({glue:text}`f4_first_ratio:d`) the largest gain was
# {glue:text}`f4_first_gain:+.1f` pp (n = {glue:text}`f4_first_n:d`, BH-adjusted p =
# {glue:text}`f4_first_p`); the largest gain at any ratio was {glue:text}`f4_best_gain:+.1f` pp
# (ratio {glue:text}`f4_best_ratio`, n = {glue:text}`f4_best_n:d`, p =
# {glue:text}`f4_best_p`). The gain saturated in {glue:text}`f4_saturating:d` of
# {glue:text}`f4_settings:d` settings: the first step was above 0 beyond noise and every larger
# ratio's extra gain over the first had a 95% upper bound below a margin of {glue:text}`f4_margin:+.1f` pp
# (saturation is a claim of absence, so a non-significant step with a wide interval reads
# "inconclusive", not "saturates"; noise threshold of the first step: BH-adjusted primary p < 0.05). Accuracy: mean over seeds, the paper's 95% Wald intervals (n = one run's test
# set); stars: the primary analysis against ratio 0 (BH-adjusted p; both analyses below).

# %%
figures.show_figure(plots.plot_fig4(table, note), "fig4", profile, f4)

# %% [markdown]
# ## Two analyses of the same comparisons
#
# {glue:text}`f4_an_how` {glue:text}`f4_seed_scope`
#
# After adjustment, {glue:text}`f4_an_paper_sig:d` of {glue:text}`f4_an_tests:d` comparisons are
# significant under the paper's convention and {glue:text}`f4_an_primary_sig:d` under the primary
# analysis. {glue:text}`f4_an_disagree`

# %%
both = tables.two_analyses(table, ["n_real", "transforms"], "synthetic_ratio")
glue_values(prose.analyses_facts(both, "f4_an", int(table.n_test.max()), table.get("model_note")))
figures.show_table(
    both,
    "fig4_analyses",
    "Every comparison of Fig. 4 under both analyses: the paper's convention and the primary analysis, "
    "with BH-adjusted p-values and whether they agree.",
)

# %%
figures.show_table(
    tables.shape_checks_fig4(table),
    "fig4_shape",
    "The shape of Fig. 4 tested: the gain at the first ratio, and whether larger ratios add to it beyond noise.",
)

# %%
figures.show_table(
    tables.numbers_behind(table, ["n_real", "transforms", "synthetic_ratio"]),
    "fig4_numbers",
    "The numbers behind Fig. 4, per setting.",
)
