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
# # Data (Fig. 1A)
#
# This build's main dataset is {glue:text}`data_name`. {glue:text}`data_split_rule`
# Below: label counts per split, the Fitzpatrick skin-type (FST) distribution per split,
# the DDI-style set where one is supplied, and example images per class and skin type.

# %% tags=["parameters"]
profile = "demo"
config = None
overrides = {}
split_seed = 0
show_images = None  # None: only for embedded profiles (patient images are never published by default)
store = None  # results folder for the learning-curve trials (None: the default store of the profile)
executor = None

# %%
from myst_nb import glue

from synthaug_utils.core import vocabulary
from synthaug_utils.core.config import load_profile
from synthaug_utils.core.inputs import has_input, input_keys
from synthaug_utils.data import splits, summary
from synthaug_utils.presentation import data_plots, figures, plots, prose
from synthaug_utils.presentation.book import glue_values
from synthaug_utils.presentation.profile_box import glue_profile_box

P = load_profile(profile, config, overrides)
show_images = P.is_embedded if show_images is None else show_images
note = vocabulary.figure_note(P)
main = splits.load_splits(P, "main", split_seed)
ddi = splits.load_splits(P, "ddi", split_seed) if has_input(P, "ddi") else None  # optional here
counts = summary.split_summary(main)
ddi_counts = summary.split_summary(ddi) if ddi is not None else None

sizes = dict(dataset_name=main.dataset, n_labels=len(main.labels), n_total=int(counts["count"].sum()))
glue_values(sizes | dict(n_train_pool=len(main.train_pool), n_val=len(main.val), n_test=len(main.test)))
main_tables = splits.dataset_tables(P, "main")
capabilities = summary.dataset_capabilities(main_tables)  # skin types known? labels dropped?
grouping = prose.grouping_sentence(main_tables, main)  # bring-your-own data: groups and images per split
glue("ddi_sentence", prose.data_chapter_notes(ddi, input_keys(P, "ddi"), capabilities, grouping), display=False)
glue("profile_name", P.name, display=False)
glue_values(prose.data_opening(P, main_tables, main))
glue_profile_box(P, "01_data")

# %% [markdown]
# ```{glue:md} profile_box
# :format: myst
# ```
#
# Profile {glue:text}`profile_name`: dataset {glue:text}`dataset_name` with
# {glue:text}`n_labels` labels and {glue:text}`n_total` images, split into a training
# pool of {glue:text}`n_train_pool`, {glue:text}`n_val` validation and
# {glue:text}`n_test` test images. {glue:text}`ddi_sentence`

# %%
figures.show_figure(data_plots.plot_split_composition(counts, note), "composition", profile)

# %%
clusters = summary.near_duplicate_table(main_tables, main)  # your own data: near-duplicate clusters found
if len(clusters):
    from synthaug_utils.data.groups import NEAR_DUPLICATE_MAX_HAMMING

    display(
        figures.show_table(
            clusters,
            "near_duplicate_clusters",
            "Near-duplicate clusters among your images "
            f"(identical bytes, or perceptual hashes within {NEAR_DUPLICATE_MAX_HAMMING} of 64 bits); each cluster stays in one split.",
        )
    )

# %%
if capabilities.has_fst:
    figures.show_figure(data_plots.plot_fst_distribution(counts, note), "fst", profile)
else:
    print(prose.skin_type_skipped(capabilities))

# %%
if ddi is not None:  # without a DDI-style set the page says so in its opening, and shows nothing here
    from IPython.display import Markdown

    display(Markdown("The DDI-style set, by skin-tone bin (12 = FST I-II, 34 = III-IV, 56 = V-VI):"))
    figures.show_figure(data_plots.plot_split_composition(ddi_counts, note), "ddi_composition", profile)

# %%
if ddi is not None:
    figures.show_figure(data_plots.plot_fst_distribution(ddi_counts, note), "ddi_fst", profile)

# %% [markdown]
# ## Example images per class and skin type
#
# One training-pool image per cell (blank where the pool has none of that type). Shown
# only for embedded profiles unless `show_images=True` is passed.

# %%
if show_images:
    fsts = [1, 2, 3, 4, 5, 6]
    grid = summary.example_grid(main.train_pool, main.labels, fsts, P.image_size, seed=split_seed)
    drawn = data_plots.plot_image_grid(
        grid, main.labels, [f"FST {data_plots.FST_NAMES[f]}" for f in fsts], "Examples per class and skin type", note
    )
    figures.show_figure(drawn, "examples", profile)
else:
    print("Example images are not shown for this profile (patient images are never published by default).")


# %% [markdown]
# ## How hard is the task? The learning curve with real images only
#
# The default classifier (the profile's backbone, body frozen, trained as in the results
# chapters, {glue:text}`lc_mode`) trained on n real images per class and no synthetic
# data, {glue:text}`lc_seeds` seeds per n (each seed draws its own nested subset). On the
# embedded profiles this curve is the calibration of the stand-in world: one image per class
# must be clearly above chance and clearly below the full pool, and the full pool must stay
# below 95%, so that synthetic data has room to help.

# %%
from synthaug_utils.analysis import highlights, tables
from synthaug_utils.experiments import chapters
from synthaug_utils.presentation.book import glue_values

curve = chapters.chapter_results("learning-curve", P, store=store, executor=executor)
lc = tables.learning_curve_table(curve.frame, curve.predictions)
glue_values({**curve.facts("lc"), **highlights.learning_curve_highlights(lc, n_labels=len(main.labels))})
figures.show_figure(plots.plot_learning_curve(lc, 1 / len(main.labels), note), "learning_curve", profile)

# %% [markdown]
# Chance is {glue:text}`lc_chance:.1%`. With {glue:text}`lc_n_min:d` real image(s) per class the
# classifier reaches {glue:text}`lc_acc_min:.1%` (95% CI {glue:text}`lc_ci_min`); with
# {glue:text}`lc_n_max:d` per class, {glue:text}`lc_acc_max:.1%` (95% CI {glue:text}`lc_ci_max`).
# Accuracy is the mean over seeds (every seed scores the same test images); the interval is the
# paper's Wald interval on one run's test set, and the table also gives the per-seed SD.

# %%
figures.show_table(
    lc,
    "learning_curve_table",
    "The learning curve: test accuracy per real training images per class, pooled over seeds.",
)


# %% [markdown]
# (real-metadata)=
# ## Real Fitzpatrick17k-9 metadata
#
# ```{admonition} Real metadata, on every profile
# :class: note
# This section reads the published metadata {cite:p}`groh2021evaluating` that ships with the package, whatever the
# profile: the authors' clean split files and the near-duplicate clusters
# of Fitzpatrick17k-C {cite:p}`abhishek2025investigating`. Sources, licences
# and citations: `synthaug_utils/resources/f17k_metadata/README.md`. No image is read. The
# sections above describe this build's main dataset, {glue:text}`dataset_name`.
# ```

# %%
from synthaug_utils.data import audit

real = audit.real_metadata_audit()
glue_values(real.values)

# %% [markdown]
# The authors' training file holds {glue:text}`real_f17k9_training` and their held-out file
# {glue:text}`real_f17k9_held_out` images of the nine F17k-9 labels, {glue:text}`real_f17k9_images`
# in all (the paper: {glue:text}`real_f17k9_paper`); the totals per label equal the paper's
# Fig. 1A counts for {glue:text}`real_fig1a_match` labels.

# %%
figures.show_table(
    real.fig1a,
    "real_fig1a",
    "F17k-9 images per label in the authors' split files beside the paper's Fig. 1A counts.",
    audit.HEADERS,
)

# %%
figures.show_table(
    audit.fst_wide(real.fst),
    "real_fst",
    "F17k-9 images per Fitzpatrick skin type (FST) in each split file: count (share of the file).",
    audit.HEADERS,
    data=real.fst,
)

# %% [markdown]
# ### Near-duplicates across and inside the split files
#
# Fitzpatrick17k-C groups {glue:text}`audit_cluster_images` images of the whole Fitzpatrick17k
# table into {glue:text}`audit_clusters` near-duplicate clusters. Read against the authors'
# split files, which the paper calls de-duplicated, **{glue:text}`audit_leak_total` of the
# {glue:text}`audit_held_out` held-out F17k-9 images ({glue:text}`audit_leak_share`) sit in a
# cluster with a training image** (cross-split leakage), {glue:text}`audit_leak_same_label` of
# them with a training image of their own label. Per label: {glue:text}`audit_leak_by_label`.
# Over all ten labels of the split files: {glue:text}`audit10_leak_total` of
# {glue:text}`audit10_held_out` ({glue:text}`audit10_leak_share`). Inside the training file,
# {glue:text}`audit_redundant` F17k-9 images share a cluster with another training image, in
# {glue:text}`audit_redundant_clusters` clusters (keeping one image per cluster would drop
# {glue:text}`audit_redundant_extra`). {glue:text}`audit_noise_clusters` clusters carry more than
# one label, {glue:text}`audit_noise_cross_split` of them across the split:
# {glue:text}`audit_noise_list`.
#
# For the paper's Fig. 3 this means that at small n the generator knows more than the
# classifier: DreamBooth is fine-tuned on the whole clean training file, which holds near-copies
# of {glue:text}`audit_leak_same_label` test images under their own label, so synthetic images can
# carry those test images' look into a training set of 1 or 16 real images per label, and part
# of a gain there may be recall of the test set rather than generalisation. Limits: clusters are
# transitive unions (the largest holds {glue:text}`audit_largest_cluster` images), so two members
# of one cluster need not look alike; some pairs are near- rather than exact duplicates (another
# crop, exposure or photograph of one lesion); and the clusters come from one published cleaning
# of the whole table, not from the authors' SelfClean {cite:p}`groger2023selfclean`, so these counts estimate the overlap
# rather than settle it.

# %%
figures.show_table(
    real.audit,
    "real_audit",
    "Near-duplicate audit per label, for F17k-9 and for "
    "all ten labels of the split files: held-out images with a near-duplicate in the training file "
    "(leaking), training images sharing a cluster with another training image (redundant) and "
    "their clusters, clusters whose members carry different labels (label noise).",
    audit.HEADERS,
)

# %%
figures.show_table(
    real.noise,
    "real_label_noise",
    "The label-noise clusters: members with their label and file.",
    audit.HEADERS,
)
