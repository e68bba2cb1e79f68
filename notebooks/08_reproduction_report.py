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
# The paper's {cite:p}`sagers2023augmenting` reported numbers (typed once, with the figure and section they come from,
# in `synthaug_utils/resources/paper_values.csv`) beside this build's values for exactly the
# same cells, the difference and, on the paper profile only, whether the two agree within
# both uncertainties. The trials are read from the results store written by the results chapters;
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

from synthaug_utils.analysis import report as analysis_report
from synthaug_utils.core.config import load_profile
from synthaug_utils.experiments import chapters
from synthaug_utils.presentation import prose
from synthaug_utils.presentation.book import glue_values
from synthaug_utils.presentation.profile_box import glue_profile_box

P = load_profile(profile, config, overrides)
# a figure whose chapter lacks its inputs (e.g. Fig. 5 without DDI) is reported as "figure not built"
results = chapters.available_grid_results(("fig3", "fig4", "fig5"), P, store, executor)
report, shape3, shape4, facts, figure_tables = analysis_report.reproduction(P, results)
glue_values({**facts, "rr_values": prose.reproduction_values(report, P.name, analysis_report.compares_values(P))})

# %%
from myst_nb import glue

from synthaug_utils.analysis import findings as findings_module
from synthaug_utils.analysis.findings import headline_findings
from synthaug_utils.presentation import figures

findings = headline_findings(figure_tables, P.is_embedded)  # also on the front page
glue("findings_table", figures.table_styler(findings), display=False)
glue_profile_box(P, "08_reproduction_report")

# %% [markdown]
# ```{glue:md} profile_box
# :format: myst
# ```
#
# Profile {glue:text}`rr_profile`. Shape of Fig. 3 (the paper: gains highest at 16-64 real
# images, none significant at 228): in {glue:text}`rr_shape3:d` of {glue:text}`rr_shape3_settings:d`
# (method, transforms) settings the gain was above 0 beyond noise at some n below the largest and
# diminished at the largest n (its 95% upper bound below the equivalence margin of
# {glue:text}`rr_margin:+.1f` pp, or below the peak beyond noise) without being significant there. Shape of
# Fig. 4 (the paper: saturation above 10 synthetic per real image): in {glue:text}`rr_saturates:d` of
# {glue:text}`rr_shape4_settings:d` settings the first step was above 0 beyond noise and every larger
# ratio's extra gain over the first had a 95% upper bound below the same margin. The noise threshold
# of both checks is a Benjamini-Hochberg-adjusted {cite:p}`benjamini1995controlling` p < 0.05 of the primary analysis (paired difference with
# run-to-run and test-image variance; see the Methods page). Of the {glue:text}`rr_starred:d`
# comparisons of Figs. 3-5 that are significant after adjustment, {glue:text}`rr_star_conflicts:d`
# sit on a 95% interval that contains 0 (the interval and the p-value come from one standard error).
#
# Values: a paper row is compared only with a cell of this build that matches it on every
# setting (n real per class, synthetic ratio, method, generator variant, transforms, skin-tone
# bin); otherwise it reads "not comparable" with the reason, and no best cell is picked.
# {glue:text}`rr_compared:d` of {glue:text}`rr_rows:d` reported numbers have an exactly matching cell;
# {glue:text}`rr_not_comparable:d` are not comparable. {glue:text}`rr_values`

# %% [markdown]
# ## Headline findings
#
# Each headline claim of the paper beside this build's result and a verdict (on the embedded
# profiles the verdicts are about the *shape* of the results and say so).
#
# ```{glue} findings_table
# ```
#
# ### The paper read against itself
#
# The same verdict logic run on the paper's own printed numbers (laid out as a build by
# `findings.paper_as_build`; where the paper prints no p-value it is derived by the paper's
# convention, and the table says where each number comes from). A claim the paper states without
# numbers reads "not comparable"; every claim with numbers should read "same direction and
# significance", or the verdict logic misreads the paper.

# %%
paper_itself = findings_module.paper_as_build()
figures.show_table(
    headline_findings(paper_itself, embedded=False),
    "findings_paper_itself",
    "The verdict logic run on the paper's own numbers, as if the paper were a build.",
)

# %% [markdown]
# ## Fig. 3 shape

# %%
figures.show_table(shape3, "shape_fig3", "The shape checks of Fig. 3, per synthetic source and transforms setting.")

# %% [markdown]
# ## Fig. 4 shape

# %%
figures.show_table(
    shape4, "shape_fig4", "The shape checks of Fig. 4, per real images per class and transforms setting."
)

# %% [markdown]
# ## Reported values, figure by figure
#
# Accuracies in percent, gains in percentage points. `z` and `agreement` (|z| < 1.96 with the
# paper's and this build's uncertainty combined) are filled on the paper profile only.

# %%
for figure, rows in report.groupby("figure", sort=True):
    display(
        figures.show_table(
            rows.drop(columns="figure"),
            f"reported_fig{figure}",
            f"Figure {figure}: each value the paper reports beside this build's.",
        )
    )

# %% [markdown]
# ## What the full paper grid costs
#
# `benchmarks/paper_gpu.py` times each stage of the paper at its real sizes (Stable Diffusion
# 2.1-base and 1.5-inpainting at 512 px with 50 DPM-Solver steps and guidance 3, DreamBooth at
# batch 4, EfficientNetV2-M at 224 px with the authors' batch rule, CLIP ViT-B/32; random
# weights in the real architectures) and commits its table (`benchmarks/paper_gpu_results.md`).
# From that table the full protocol ({glue:text}`paper_images:,` synthetic images and
# {glue:text}`paper_dreambooth_models` DreamBooth models, counted as the paper profile's grids would
# generate and fine-tune them, control arms included; the paper reports
# {glue:text}`paper_reported_images:,` synthetic images); the
# {glue:text}`cost_trials` trials of Figs. 3, 4, 5 and S-2 at an assumed
# {glue:text}`paper_trial_epochs` epochs each, and the
# CLIP embeddings of every image) would take {glue:text}`cost_total`, counted in
# {glue:text}`cost_device`; generating the synthetic images is {glue:text}`cost_generation_share`
# of it. Until a GPU run is committed the table holds CPU rows only, so this is CPU time, not the
# GPU-hours a reproduction would spend. The assumptions are listed in
# `synthaug_utils.analysis.paper_cost`.

# %%
from synthaug_utils.analysis import paper_cost, paper_workload
from synthaug_utils.core.paths import project_root

cost, cost_glue = paper_cost.estimate_glue((project_root() or Path.cwd()) / "benchmarks" / "paper_gpu_results.csv")
glue_values(cost_glue)
paper_images, paper_models = paper_workload.paper_generation()
glue_values(
    {
        "paper_images": int(paper_images["images"].sum()),
        "paper_dreambooth_models": len(paper_models),
        "paper_reported_images": paper_workload.SYNTHETIC_TOTAL,
        "paper_trial_epochs": paper_cost.DEFAULT_EPOCHS_PER_TRIAL,
    }
)
figures.show_table(
    cost, "paper_cost", "The paper grid's cost per stage, from the committed benchmark table (benchmarks/paper_gpu.py)."
)

# %% [markdown]
# ## Does this build reproduce the book?
#
# Every value glued into the book's prose is compared with the committed reference of the
# profile ({glue:text}`repro_reference_file`), a list of every glued value of a build, with the
# commit and the CPU it was built on. This build ran on {glue:text}`repro_machine` and generated
# its images in {glue:text}`repro_precision`. {glue:text}`repro_status`
#
# Within tolerance means the same words with every number close enough for what it is. Counts,
# sizes and words (a verdict, a method's name) must match exactly. A percentage or percentage
# point may move by one standard error of its estimate, read off the 95% interval the book prints
# with it, and at least {glue:text}`repro_tol_pp:g` pp; a p-value may move as far as a one-standard-error
# move of the estimate it tests would move it (on the normal quantile, and at least
# {glue:text}`repro_tol_z:g`; a p-value and its interval come from one standard error), while the
# number of significant tests is a count;
# any other decimal may move by {glue:text}`repro_tol_rel:.0%` or one unit in its last printed digit. Why: another CPU kernel set (or thread count) changes the generator's float
# sums in their last bits, which moves a few pixels of some generated images by one grey level
# (`benchmarks/kernel_divergence_results.md`); classifiers trained on them then differ by a few test
# images, as they would with another seed. A value that moves by less than its own standard error
# tells the reader what the reference tells; how many match exactly is reported beside it. Where
# several estimates are within one standard error of the largest, the book names all of them
# rather than the one that happens to be largest, and two such picks agree when they name one
# estimate in common. Timings (durations, throughputs, thread counts
# and the cost estimate) differ from machine to machine and are listed apart.
# `synthaug book` prints the same comparison, over every chapter including this one, as the
# last line of a build.

# %%
from IPython.display import Markdown

from synthaug_utils.presentation import reference as book_reference

repro, repro_rest, repro_timings = book_reference.chapter_section(P, book_dir)
glue_values(repro)
display(Markdown(repro["repro_summary"]))
for key, title, rows in (
    ("repro_differs", "Values that do not match, even within tolerance.", repro_rest),
    ("repro_timings", "Timings of this build beside the reference's (not compared).", repro_timings),
):
    if len(rows):
        display(figures.show_table(rows, key, title))

# %% [markdown]
# ### On other CPU kernels
#
# A build of the demo or smoke profile on a CPU with AVX-512 runs its chapters on torch's, oneDNN's
# and MKL's AVX2 code paths, so that it computes what an AVX2-only CPU computes. To check the rule
# above against kernels that do differ, a whole build is run with torch's scalar kernels
# (`ATEN_CPU_CAPABILITY=default synthaug book --write-reference
# benchmarks/reference/<profile>-other-kernels.json`) and its values recorded beside the
# reference. {glue:text}`repro_kernels_status`

# %%
kernels, kernels_rest = book_reference.other_kernels_section(P.name)
glue_values(kernels)
if len(kernels_rest):
    display(
        figures.show_table(
            kernels_rest, "repro_other_kernels", "Values of the build on other kernels outside tolerance."
        )
    )
