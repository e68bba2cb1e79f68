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
# Real and synthetic images are embedded (paper profile: CLIP ViT-B/32 image encoder;
# embedded profiles: pooled features of the pretrained demo backbone), L2-normalised and
# cached per image. We project them (PCA, UMAP), compare cosine distances of random
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
from synthaug_utils.analysis import quality
from synthaug_utils.core.config import load_profile
from synthaug_utils.core.vocabulary import DEMO_NOTE
from synthaug_utils.presentation import figures, plots
from synthaug_utils.presentation.book import glue_values

P = load_profile(profile, config, overrides)
show_images = P.is_embedded if show_images is None else show_images
note = DEMO_NOTE if P.is_embedded else None
real, synthetic, everything, embeddings, facts = report.embedding_inputs(P)
emb_real, emb_syn = embeddings[: len(real)], embeddings[len(real):]
glue_values(facts)

# %% [markdown]
# ```{admonition} Demo profile
# :class: warning
# On the `demo` profile these are embeddings of stand-in images from the project's own
# world and generator; distances and quality scores describe that world, not real skin
# disease.
# ```
#
# {glue:text}`e_real` real and {glue:text}`e_syn` synthetic images, embedded with
# {glue:text}`e_model` into {glue:text}`e_dim` dimensions and cached per image (keyed by
# the image file's hash and the model). In this build, getting all of them took
# {glue:text}`e_seconds` s ({glue:text}`e_ips` images/s): a cold build computes every
# embedding, a rebuild reads them from the cache (the cold and rebuild times of this page are
# in the README), and the projections and the quality table below are cached the same way.

# %% [markdown]
# ## PCA of real and synthetic images (Fig. 2A, 2B)

# %%
coords = quality.project(embeddings, "pca", seed=0)
thumbs, pair = report.projection_images(everything, show_images, n_thumbnails, seed=0)
points = everything[["image_id", "label", "method"]].assign(pc1=coords[:, 0], pc2=coords[:, 1])
figures.show_figure(plots.plot_projection(coords, everything.assign(disease=everything.label), "disease", "PCA of image embeddings, by disease", thumbs, note=note), "fig2a", points, profile)

# %%
fig = plots.plot_projection(coords, everything.assign(origin=everything.method), "origin",
                            "PCA of image embeddings: real vs synthetic (an in-then-outpaint image beside its source)", pair, note=note)
figures.show_figure(fig, "fig2b", points, profile)

# %% [markdown]
# ## UMAP (Fig. S-3)
#
# UMAP with a fixed seed (`random_state=0`), cosine metric, 15 neighbours, on the first 50
# principal components of the embeddings, 200 optimisation epochs, of
# {glue:text}`e_umap_points` images drawn at random (seeded) from the
# {glue:text}`e_all_points` above, because a seeded UMAP runs on one core and its cost grows
# with the number of points.

# %%
rows = quality.sample_rows(len(everything), umap_points, seed=0)
glue_values({"e_umap_points": str(len(rows)), "e_all_points": str(len(everything))})
umap_coords = quality.project(embeddings[rows], "umap", seed=0, cache=True)
shown = everything.iloc[rows].reset_index(drop=True)
fig = plots.plot_projection(umap_coords, shown.assign(disease=lambda t: t.label), "disease", "UMAP of image embeddings, by disease",
                            axis_names=("UMAP 1", "UMAP 2"), note=note)
figures.show_figure(fig, "figS3", shown[["image_id", "label", "method"]].assign(umap1=umap_coords[:, 0], umap2=umap_coords[:, 1]), profile)

# %% [markdown]
# ## Pairwise distances (Fig. 2C)

# %%
long, tests = quality.distance_comparisons(emb_real, real.image_id.tolist(), emb_syn, synthetic, n_pairs=n_pairs, seed=0)
glue_values(report.distance_highlights(tests, n_pairs))
figures.show_figure(plots.plot_distance_distributions(long, tests, note), "fig2c", long, profile)

# %% [markdown]
# Mean cosine distance of {glue:text}`e_pairs` random real-real pairs:
# {glue:text}`e_rr`; random real-synthetic pairs (in-then-outpaint):
# {glue:text}`e_rs` (BH-adjusted two-sample t-test against real-real, p =
# {glue:text}`e_rs_p`); in-then-outpaint images against their own source images:
# {glue:text}`e_matched` (p = {glue:text}`e_matched_p`). The paper reports 0.242, 0.241
# (p = 0.62) and 0.0844 with CLIP on Fitzpatrick17k.

# %%
figures.show_table(tests)

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
figures.show_figure(plots.plot_quality(qtable, note), "quality", qtable[qtable.label == "all"], profile)

# %%
figures.show_table(qtable)

# %% [markdown]
# ## Contamination and memorisation: nearest real images in training, validation and test
#
# Each synthetic image's nearest real image (cosine distance) is looked up among the
# {glue:text}`e_cont_train_n` training-pool images, the {glue:text}`e_cont_val_n` validation
# images and the {glue:text}`e_cont_test_n` test images. A pair closer than
# {glue:text}`e_cont_threshold` (the 1st percentile of the distances between a training image and
# its nearest other training image) counts as a near copy. Near copies: training pool
# {glue:text}`e_cont_train_copies`, validation {glue:text}`e_cont_val_copies`, test
# {glue:text}`e_cont_test_copies` (of {glue:text}`e_cont_syn` synthetic images). The nearest real
# image lay in the validation set for {glue:text}`e_cont_val_nearest` and in the test set for
# {glue:text}`e_cont_test_nearest` of synthetic images; the two sets hold
# {glue:text}`e_cont_share_expected` of all real images. Closest pairs: training pool
# {glue:text}`e_cont_train_min`, validation {glue:text}`e_cont_val_min`, test
# {glue:text}`e_cont_test_min`.

# %%
cont_summary, cont_closest, cont_facts = report.contamination_report(P, real, emb_real, synthetic, emb_syn)
glue_values(cont_facts)
figures.show_table(cont_summary)

# %%
figures.show_table(cont_closest)

# %% [markdown]
# ## Does a better-scoring synthetic set give a larger gain?
#
# Per class and method, the set's kernel distance to the real images of that class
# against the accuracy gain that method brought to that class in the real-vs-synthetic
# chapter (Fig. S-1 data).

# %%
joined, facts = report.quality_vs_gain(qtable, P, store, executor)
glue_values(facts)
figures.show_figure(plots.plot_quality_vs_gain(joined, "kernel", "kernel distance to real images of the class (MMD²)", note), "quality_gain", joined, profile)

# %% [markdown]
# Across {glue:text}`e_cells` (class, method) cells, the Spearman correlation between
# kernel distance and accuracy gain is {glue:text}`e_rho` (p = {glue:text}`e_rho_p`); a
# negative value would mean sets closer to the real images help more.
