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
# # Reproduction report
#
# The paper's reported numbers (typed once, with the figure and section they come from,
# in `synthaug_utils/resources/paper_values.csv`) beside this build's values for the same
# cells, the difference, and whether the paper's value lies inside this build's 95%
# interval. The trials are read from the results store written by the results chapters;
# nothing is trained here unless a chapter's trials are missing.

# %% tags=["parameters"]
profile = "demo"
config = None
overrides = {}
store = None
executor = None
book_dir = None

# %%
from pathlib import Path

import pandas as pd

from synthaug_utils.analysis import report as analysis_report
from synthaug_utils.analysis import tables as analysis_tables
from synthaug_utils.experiments import chapters
from synthaug_utils.presentation.book import glue_values
from synthaug_utils.core.inputs import grid_available
from synthaug_utils.core.config import load_profile
from synthaug_utils.analysis.paper import paper_values

P = load_profile(profile, config, overrides)
table_of = {"3": ("fig3", analysis_tables.fig3_table), "4": ("fig4", analysis_tables.fig4_table), "5": ("fig5", analysis_tables.fig5_table)}
# a figure whose chapter lacks its inputs (e.g. Fig. 5 without DDI) is reported as "figure not built"
tables = {fig: make(*chapters.grid_results(grid, P, store, executor)) for fig, (grid, make) in table_of.items() if grid_available(P, grid)}
report = analysis_report.reproduction_table(paper_values(), tables)
shape3 = analysis_tables.shape_checks_fig3(tables["3"]) if "3" in tables else pd.DataFrame(columns=["helps_most_at_small_n", "gain_shrinks_with_n"])
shape4 = analysis_tables.shape_checks_fig4(tables["4"]) if "4" in tables else pd.DataFrame(columns=["saturates"])
glue_values({
    "rr_profile": P.name,
    "rr_compared": str(int(report.status.str.startswith(("compared", "best of")).sum())), "rr_rows": str(len(report)),
    "rr_inside": str(int(report.paper_in_build_ci.eq(True).sum())),
    "rr_small_n": str(int(shape3.helps_most_at_small_n.sum())), "rr_shrinks": str(int(shape3.gain_shrinks_with_n.sum())),
    "rr_shape3_settings": str(len(shape3)),
    "rr_saturates": str(int(shape4.saturates.sum())), "rr_shape4_settings": str(len(shape4)),
})

# %%
from myst_nb import glue

from synthaug_utils.analysis.findings import headline_findings
from synthaug_utils.presentation import figures

findings = headline_findings(tables, P.is_embedded)  # also on the front page
glue("findings_table", figures.show_table(findings), display=False)

# %% [markdown]
# ```{admonition} What this comparison means on the demo profile
# :class: warning
# On the `demo` and `smoke` profiles the data, generator and classifier are stand-ins, so
# the *values* below are not expected to match the paper's; the comparison is one of
# **shape**: does synthetic data help most at small n, does the gain shrink as n grows,
# does it saturate beyond the first synthetic-to-real ratio. Only the `paper` profile
# compares values.
# ```
#
# Profile {glue:text}`rr_profile`. Shape of Fig. 3: in {glue:text}`rr_small_n` of
# {glue:text}`rr_shape3_settings` (method, transforms) settings the gain peaked below the
# largest n, and in {glue:text}`rr_shrinks` of them the gain at the largest n was smaller
# than the peak gain (the paper: gains highest at 16-64 real images, none significant at
# 228). Shape of Fig. 4: in {glue:text}`rr_saturates` of {glue:text}`rr_shape4_settings`
# settings the extra gain beyond the first ratio was smaller than the first step (the
# paper: saturation above 10 synthetic per real image).
#
# Values: {glue:text}`rr_compared` of {glue:text}`rr_rows` reported numbers have a
# matching cell in this build; the paper's value lies inside this build's 95% interval
# for {glue:text}`rr_inside` of them.

# %% [markdown]
# ## Headline findings
#
# Each headline claim of the paper beside this build's result and a verdict (on the embedded
# profiles the verdicts are about the *shape* of the results and say so).
#
# ```{glue} findings_table
# ```

# %% [markdown]
# ## Fig. 3 shape

# %%
figures.show_table(shape3)

# %% [markdown]
# ## Fig. 4 shape

# %%
figures.show_table(shape4)

# %% [markdown]
# ## Reported values, figure by figure
#
# Accuracies in percent, gains in percentage points. "paper inside this build's CI" is empty where
# this build has no interval for the cell.

# %%
for figure, rows in report.groupby("figure", sort=True):
    print(f"Figure {figure}")
    display(figures.show_table(rows.drop(columns="figure")))

# %% [markdown]
# ## What the full paper grid costs
#
# `benchmarks/paper_gpu.py` times each stage of the paper at its real sizes (Stable Diffusion
# 2.1-base and 1.5-inpainting at 512 px with 50 DPM-Solver steps and guidance 3, DreamBooth at
# batch 4, EfficientNetV2-M at 224 px with the authors' batch rule, CLIP ViT-B/32; random
# weights in the real architectures) and commits its table (`benchmarks/paper_gpu_results.md`).
# From that table the full protocol (458,920 synthetic images, 19 DreamBooth models, the
# {glue:text}`cost_trials` trials of Figs. 3, 4, 5 and S-2 at an assumed 10 epochs each, and the
# CLIP embeddings of every image) would take {glue:text}`cost_total`, counted in
# {glue:text}`cost_device`; generating the synthetic images is {glue:text}`cost_generation_share`
# of it. Until a GPU run is committed the table holds CPU rows only, so this is CPU time, not the
# GPU-hours a reproduction would spend. The assumptions are listed in
# `synthaug_utils.analysis.paper_cost`.

# %%
from synthaug_utils.analysis import paper_cost
from synthaug_utils.core.paths import project_root

cost, cost_glue = paper_cost.estimate_glue((project_root() or Path.cwd()) / "benchmarks" / "paper_gpu_results.csv")
glue_values(cost_glue)
figures.show_table(cost)

# %% [markdown]
# ## Does this build reproduce the book?
#
# Every value glued into the book's prose is compared with the committed reference of the
# profile ({glue:text}`repro_reference_file`), a list of every glued value of a build, with the
# commit and the CPU it was built on. This build ran on {glue:text}`repro_machine` and generated
# its images in {glue:text}`repro_precision`. {glue:text}`repro_status`
#
# Within tolerance means the same words with every number close enough for the way it is
# printed: counts and sizes must match exactly; percentages and percentage points within
# {glue:text}`repro_tol_pp` pp, because another CPU kernel set (or thread count) changes the
# generator's float sums in their last bits, which moves a few pixels of some generated images
# by one grey level (`benchmarks/kernel_divergence_results.md`), and classifiers trained on them
# then differ by a few test images; p-values within {glue:text}`repro_tol_p` (below that, the
# same power of ten), since whether a test is significant is a count and must match; any other
# decimal within one unit of its last printed digit. Timings (durations, throughputs, thread
# counts and the cost estimate) differ from machine to machine and are listed apart.
# `synthaug book` prints the same comparison, over every chapter including this one, as the
# last line of a build.

# %%
from IPython.display import Markdown

from synthaug_utils.presentation import reference as book_reference

repro, repro_rest, repro_timings = book_reference.chapter_section(P, book_dir)
glue_values(repro)
display(Markdown(repro["repro_summary"]))
for title, rows in (("Values that do not match, even within tolerance:", repro_rest),
                    ("Timings of this build beside the reference's (not compared):", repro_timings)):
    if len(rows):
        display(Markdown(f"**{title}**"), figures.show_table(rows))
