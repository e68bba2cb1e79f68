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
# # Embeddings and the quality of synthetic sets (Fig. 2, Fig. S-3)
#
# Real and synthetic images are embedded (paper profile: CLIP ViT-B/32 image encoder {cite:p}`radford2021learning,ilharco2021openclip`;
# embedded profiles: pooled features of the pretrained demo backbone), L2-normalised and
# cached per image. We project them (PCA, UMAP {cite:p}`mcinnes2018umap`), compare cosine distances of random
# real-real pairs, random real-synthetic pairs and each in-then-outpaint image with its
# own source (Fig. 2C), and go beyond the paper: per method and class, Fréchet and kernel
# distances, k-NN precision and recall, and a memorisation check, set beside the accuracy
# gains of the results chapters.

# %% tags=["parameters"]
profile = "demo"
config = None
overrides = {}
store = None
executor = None
n_pairs = 2000
n_thumbnails = 10
umap_points = 2000  # UMAP of a seeded random sample of this many images (None: all of them)
show_images = None  # None: only for embedded profiles (patient images are never published by default)

# %%
from synthaug_utils.analysis import embedding_report as report
from synthaug_utils.analysis import pair_distances, paper, quality
from synthaug_utils.core.config import load_profile
from synthaug_utils.core.vocabulary import figure_note
from synthaug_utils.experiments import chapters
from synthaug_utils.presentation import data_plots, figures
from synthaug_utils.presentation.book import glue_values
from synthaug_utils.presentation.profile_box import glue_profile_box

P = load_profile(profile, config, overrides)
show_images = P.is_embedded if show_images is None else show_images
note = figure_note(P)
real, synthetic, everything, embeddings, facts = report.embedding_inputs(P, *chapters.synthetic_sets_of_grid("fig3", P))
emb_real, emb_syn = embeddings[: len(real)], embeddings[len(real) :]
glue_values(facts)
glue_profile_box(P, "07_embeddings")

# %% [markdown]
# ```{glue:md} profile_box
# :format: myst
# ```
#
# {glue:text}`e_real:,` real and {glue:text}`e_syn:,` synthetic images, embedded with
# {glue:text}`e_model` into {glue:text}`e_dim:d` dimensions and cached per image (keyed by
# the image file's hash and the model). In this build, getting all of them took
# {glue:text}`e_seconds:.1f` s ({glue:text}`e_ips:.0f` images/s): a cold build computes every
# embedding, a rebuild reads them from the cache (the cold and rebuild times of this page are
# in the README), and the projections and the quality table below are cached the same way.

# %% [markdown]
# ## PCA of real and synthetic images (Fig. 2A, 2B)

# %%
coords = quality.project(embeddings, "pca", seed=0)
thumbs, pair = report.projection_images(everything, show_images, n_thumbnails, seed=0)
figures.show_figure(
    data_plots.plot_projection(
        coords,
        everything.assign(disease=everything.label),
        "disease",
        "PCA of image embeddings, by disease",
        thumbs,
        note=note,
    ),
    "fig2a",
    profile,
)

# %%
drawn = data_plots.plot_projection(
    coords,
    everything.assign(origin=everything.method),
    "origin",
    "PCA of image embeddings: real vs synthetic (an in-then-outpaint image beside its source)",
    pair,
    note=note,
)
figures.show_figure(drawn, "fig2b", profile)

# %% [markdown]
# ## UMAP (Fig. S-3)
#
# UMAP with a fixed seed (`random_state=0`), cosine metric, 15 neighbours, on the first 50
# principal components of the embeddings, 200 optimisation epochs, of
# {glue:text}`e_umap_points:,` images drawn at random (seeded) from the
# {glue:text}`e_all_points:,` above, because a seeded UMAP runs on one core and its cost grows
# with the number of points.

# %%
rows = quality.sample_rows(len(everything), umap_points, seed=0)
glue_values({"e_umap_points": len(rows), "e_all_points": len(everything)})
umap_coords = quality.project(embeddings[rows], "umap", seed=0, cache=True)
shown = everything.iloc[rows].reset_index(drop=True)
drawn = data_plots.plot_projection(
    umap_coords,
    shown.assign(disease=lambda t: t.label),
    "disease",
    "UMAP of image embeddings, by disease",
    axis_names=("UMAP 1", "UMAP 2"),
    note=note,
)
figures.show_figure(drawn, "figS3", profile)

# %% [markdown]
# ## Pairwise distances (Fig. 2C)

# %%
long, tests = pair_distances.distance_comparisons(
    emb_real, real.image_id.tolist(), emb_syn, synthetic, n_pairs=n_pairs, seed=0
)
glue_values(report.distance_highlights(tests, n_pairs))
paper_fig2 = paper.paper_values(2).set_index("quantity")
glue_values(
    {
        "e_paper_rr": paper_fig2.value["cosine_distance_real_real"],
        "e_paper_rs": paper_fig2.value["cosine_distance_real_synthetic"],
        "e_paper_rs_p": paper_fig2.p_value["cosine_distance_real_synthetic"],
        "e_paper_matched": paper_fig2.value["cosine_distance_matched"],
    }
)
figures.show_figure(data_plots.plot_distance_distributions(long, tests, note), "fig2c", profile)

# %% [markdown]
# Mean cosine distance of {glue:text}`e_pairs:,` random real-real pairs:
# {glue:text}`e_rr:.3f`; random real-synthetic pairs (in-then-outpaint):
# {glue:text}`e_rs:.3f` (the paper's test: a BH-adjusted two-sample t-test of the drawn pairs
# against real-real, p = {glue:text}`e_rs_p`); in-then-outpaint images against their own
# source images: {glue:text}`e_matched:.3f` (p = {glue:text}`e_matched_p`). The paper reports
# {glue:text}`e_paper_rr:.3f`, {glue:text}`e_paper_rs:.3f` (p = {glue:text}`e_paper_rs_p:.2f`) and
# {glue:text}`e_paper_matched:.4f` with CLIP on Fitzpatrick17k.
#
# The t-test counts every drawn pair as an independent observation, but the pairs reuse the
# same images ({glue:text}`e_pairs:,` pairs per group from {glue:text}`e_real:,` real images and
# each method's synthetic images), so its p-value falls as more pairs are drawn, whatever the
# images show. Beside it (beyond the paper), an image-level test compares the mean distance
# over all pairs of the images, with no pairs drawn, and bootstraps it {cite:p}`efron1993introduction` by resampling images
# (the real images once for all groups, each synthetic set on its own, a matched synthetic
# image together with its source), so its p-value does not depend on the number of pairs.
# Real-synthetic (in-then-outpaint) minus real-real: {glue:text}`e_rs_diff:+.3f` (95% CI
# {glue:text}`e_rs_diff_ci`, BH p = {glue:text}`e_rs_image_p`); own source minus
# real-real: {glue:text}`e_matched_diff:+.3f` (95% CI {glue:text}`e_matched_diff_ci`, BH p =
# {glue:text}`e_matched_image_p`). The table gives both tests for every group.

# %%
figures.show_table(
    tests,
    "fig2c_tests",
    "Each pair group against real-real: mean cosine distance of the drawn pairs and of all pairs, the "
    "image-level bootstrap test and the paper's t-test (p BH-adjusted).",
    report.DISTANCE_COLUMNS,
)

# %% [markdown]
# ## Quality of each synthetic set (beyond the paper)
#
# Per method and variant (all classes, then per class): Fréchet distance between real and
# synthetic embeddings, kernel distance (unbiased MMD² with KID's cubic kernel), k-NN
# precision (share of synthetic images inside the real manifold) and recall (share of real
# images inside the synthetic manifold, k = 3), and memorisation: the share of synthetic
# images whose nearest real image is their own source.

# %%
qtable = quality.quality_table(emb_real, real, emb_syn, synthetic, cache=True)
figures.show_figure(data_plots.plot_quality(qtable, note), "quality", profile)

# %%
figures.show_table(
    qtable,
    "quality_table",
    "Quality of each synthetic set, all classes and per class: Fréchet and kernel distances, k-NN precision and "
    "recall, and the memorised share.",
)

# %% [markdown]
# ## Contamination and memorisation: nearest real images in training, validation and test
#
# Each synthetic image's nearest real image (cosine distance) is looked up among the
# {glue:text}`e_cont_train_n:,` training-pool images, the {glue:text}`e_cont_val_n:,` validation
# images and the {glue:text}`e_cont_test_n:,` test images. A pair closer than
# {glue:text}`e_cont_threshold:.4f` (the 1st percentile of the distances between a training image and
# its nearest other training image) counts as a near copy. Near copies: training pool
# {glue:text}`e_cont_train_copies:,`, validation {glue:text}`e_cont_val_copies:,`, test
# {glue:text}`e_cont_test_copies:,` (of {glue:text}`e_cont_syn:,` synthetic images). The nearest real
# image lay in the validation set for {glue:text}`e_cont_val_nearest:.1%` and in the test set for
# {glue:text}`e_cont_test_nearest:.1%` of synthetic images; the two sets hold
# {glue:text}`e_cont_share_expected:.1%` of all real images. Closest pairs: training pool
# {glue:text}`e_cont_train_min:.4f`, validation {glue:text}`e_cont_val_min:.4f`, test
# {glue:text}`e_cont_test_min:.4f`.
#
# These counts are not comparable with each other: the fewer images a pool holds, the farther
# away its nearest image lies, and the threshold was set among {glue:text}`e_cont_train_n:,`
# training images but is applied to pools of {glue:text}`e_cont_val_n:,` and
# {glue:text}`e_cont_test_n:,`. The second table compares like with like: for every pool, the share
# of synthetic images closer than the threshold beside the same share for held-out real images
# (real images the pool does not hold: the validation images against the test set, the test images
# against the validation set, both against the training pool), and the training pool again as
# random subsets of {glue:text}`e_cont_trainm_n:,` images, the size of the smaller of the validation
# and test sets. Near-copy share
# against the test set: synthetic {glue:text}`e_cont_test_syn_share:.1%`, held-out real
# {glue:text}`e_cont_test_real_share:.1%`; validation set: synthetic {glue:text}`e_cont_val_syn_share:.1%`,
# held-out real {glue:text}`e_cont_val_real_share:.1%`; training subsets of
# {glue:text}`e_cont_trainm_n:,`: synthetic {glue:text}`e_cont_trainm_syn_share:.1%`, held-out real
# {glue:text}`e_cont_trainm_real_share:.1%`; the whole training pool: synthetic
# {glue:text}`e_cont_train_syn_share:.1%`, held-out real {glue:text}`e_cont_train_real_share:.1%`.
#
# For the inpainting methods (inpaint, in-then-outpaint) a low share in the test set holds by
# construction: each of their images is made from one training image (inpainting keeps three
# quarters of its pixels), so its nearest real image is almost always that source, in the
# training pool. The share of synthetic images whose nearest real image lies in the training pool,
# per method: {glue:text}`e_cont_train_nearest_by_method`. Only text-to-image images, drawn from
# the class prompt alone, can show whether the generator reproduces images outside the
# classifier's training pool.

# %%
cont_summary, cont_closest, cont_facts, cont_like = report.contamination_report(P, real, emb_real, synthetic, emb_syn)
glue_values(cont_facts)
figures.show_table(
    cont_summary,
    "contamination",
    "Nearest real image of each synthetic image in the training pool, validation and test sets, per method: "
    "how often it lies in the pool and how many are near copies.",
)

# %%
figures.show_table(
    cont_like,
    "contamination_like_with_like",
    "Near-copy shares compared like with like: synthetic images beside held-out real images, per pool.",
)

# %%
figures.show_table(
    cont_closest, "contamination_closest", "The closest synthetic-real pairs of each pool (cosine distance)."
)

# %% [markdown]
# ## Does a better-scoring synthetic set give a larger gain?
#
# Per class and method, the set's kernel distance to the real images of that class
# against the accuracy gain that method brought to that class in the real-vs-synthetic
# chapter (Fig. S-1 data).

# %%
joined, facts = report.quality_vs_gain(qtable, chapters.grid_results("fig3", P, store, executor))
glue_values(facts)
figures.show_figure(
    data_plots.plot_quality_vs_gain(joined, "kernel", "kernel distance to real images of the class (MMD²)", note),
    "quality_gain",
    profile,
)

# %% [markdown]
# Across {glue:text}`e_cells:d` (class, method) cells, the Spearman correlation between
# kernel distance and accuracy gain is {glue:text}`e_rho:.2f`; a negative value would mean sets
# closer to the real images help more. Its p = {glue:text}`e_rho_p` counts the cells as
# independent, which they are not: the cells of a class share its real images and its
# baseline accuracy, and the cells of a method share its generator. Tested at the class
# level, the correlation of the {glue:text}`e_classes:d` per-class means is
# {glue:text}`e_rho_class:.2f` (p = {glue:text}`e_rho_class_p`), and permuting the gains among the
# methods of each class ({glue:text}`e_perm:,` permutations) gives p =
# {glue:text}`e_rho_within_p` for the cell correlation: whether, within a class, the set
# closer to the real images brought the larger gain. Neither test removes what the cells of a
# method share; there are too few methods to test at that level.
