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
# # Generation: four methods, two variants (Fig. 1B, Fig. S-4)
#
# The paper makes synthetic training images four ways with Stable Diffusion: **text-to-image**
# from the class prompt `An image of {label}, a skin disease`; **inpaint** (repaint the centred
# square of half the side, strength 0.97); **outpaint** (repaint its complement except a thin
# outer frame, strength 0.95); and **in-then-outpaint** (inpaint, then outpaint the result; both
# stages kept). Each method runs with the *pretrained* model and with a *DreamBooth* model
# fine-tuned on the class's training images. This chapter shows the mask geometry, samples per
# class, method and variant, two quality checks, and what generation costs on this machine.

# %% tags=["parameters"]
profile = "demo"
config = None
overrides = {}
split_seed = 0

# %%
import json
from pathlib import Path

import numpy as np
import pandas as pd
from myst_nb import glue

from synthaug_utils import data, dreambooth, generation, plots, plots_generation
from synthaug_utils.config import check_ready, load_profile

P = load_profile(profile, config, overrides)
if not P.is_embedded:
    check_ready(P, needs=("f17k_metadata", "f17k_splits", "f17k_images", "sd_text2image", "sd_inpaint"))
note = plots.DEMO_NOTE if P.is_embedded else None
small = P.name == "smoke"
T2I_PER_CLASS = 4 if small else 40  # text-to-image samples per class for the quality gate
MASKED_PER_CLASS = 2 if small else 10  # source images per class for the masked methods
VARIANTS = ("pretrained", "dreambooth")
METHODS = generation.METHODS

splits = data.load_splits(P, "main", split_seed)
settings = generation.generation_settings(P)
glue("gen_profile", P.name, display=False)
glue("gen_steps", settings.steps, display=False)
glue("gen_guidance", settings.guidance_scale, display=False)
glue("gen_resolution", settings.resolution, display=False)
glue("gen_precision", settings.precision, display=False)
glue("gen_t2i_model", P.text2image_model, display=False)
glue("gen_inpaint_model", P.inpaint_model, display=False)

# %% [markdown]
# ```{admonition} What these images are
# :class: warning
# On the `demo` and `smoke` profiles the real images are drawn by the project's own code (a
# synthetic stand-in world whose classes carry the F17k-9 label names), and the generator is
# the project's small latent diffusion model pretrained on a separate pool of that world's
# images, not Stable Diffusion. Nothing here shows patients, and every number describes that
# stand-in world and model, not skin disease.
# ```
#
# Profile {glue:text}`gen_profile`: text-to-image model `{glue:text}`gen_t2i_model``, inpainting
# model `{glue:text}`gen_inpaint_model``, {glue:text}`gen_resolution` px,
# {glue:text}`gen_steps` DPM-Solver steps, guidance scale {glue:text}`gen_guidance`,
# precision {glue:text}`gen_precision`. Every image's seed derives from its source image id,
# method, variant and index, so the images do not depend on batch size or order.

# %%
demo_meta = {}
if P.is_embedded:
    folder = generation.model_folder(P.text2image_model, P)
    meta_file = folder / "synthaug_demo.json"
    demo_meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
glue("demo_pretrain_images", int(demo_meta.get("pretrain_images", 0)), display=False)
glue("demo_pretrain_minutes", round(float(demo_meta.get("seconds", 0)) / 60, 1), display=False)
glue("demo_vae_l1", round(float(demo_meta.get("vae_l1_grey_levels", float("nan"))), 1), display=False)

# %% [markdown]
# On the embedded profiles the generator (autoencoder, text encoder with its own tokenizer,
# conditional UNets for text-to-image and for inpainting) was pretrained by
# `synthaug pretrain-generator` on {glue:text}`demo_pretrain_images` images of the world's
# pretraining pool in {glue:text}`demo_pretrain_minutes` minutes; its autoencoder reconstructs
# images to a mean absolute error of {glue:text}`demo_vae_l1` grey levels (of 255).

# %% [markdown]
# ## Making the synthetic sets
#
# The sets below come from the same cache the experiment chapters use: text-to-image samples
# for the first {glue:text}`gen_t2i_sources` training images per class, and the masked methods
# for the first {glue:text}`gen_masked_sources` per class (the seed-0 nested subsets), with the
# pretrained and the DreamBooth models. DreamBooth models are fine-tuned once per class and kept.

# %%
t2i_sources = data.training_subset(splits, T2I_PER_CLASS, seed=0)
masked_sources = data.training_subset(splits, MASKED_PER_CLASS, seed=0)
glue("gen_t2i_sources", T2I_PER_CLASS, display=False)
glue("gen_masked_sources", MASKED_PER_CLASS, display=False)
manifests = {}
for variant in VARIANTS:
    for method in METHODS:
        sources = t2i_sources if method == "text-to-image" else masked_sources
        folder = generation.ensure_synthetic_set(P, method, variant, sources, 1, splits=splits, progress=False)
        m = generation.read_manifest(folder, splits=splits)
        manifests[method, variant] = generation.select_synthetic(m, sources.image_id, 1)


def load(path):
    return np.asarray(data.load_image(path, settings.resolution))


real_by_id = masked_sources.set_index("image_id")

# %% [markdown]
# ## Mask geometry (Fig. 1B analogue)
#
# Tinted pixels are the ones the model repaints. The inpaint mask is the centred square of half
# the side; the outpaint mask is its complement minus an outer frame of
# {glue:text}`gen_frame_px` px ({glue:text}`gen_frame_ref` px at 512). In-then-outpaint applies
# both in turn, so every pixel except the frame is replaced.

# %%
glue("gen_frame_px", generation.frame_width(settings.resolution, settings.frame_px_at_512), display=False)
glue("gen_frame_ref", settings.frame_px_at_512, display=False)
example = masked_sources.iloc[0]
variant = "dreambooth"


def pick(method, stage="final", source=example.image_id, v=variant):
    rows = manifests[method, v]
    row = rows[(rows.source_id == source) & (rows.stage == stage)].iloc[0]
    return load(row.path)


t2i_rows = manifests["text-to-image", variant]
t2i_example = load(t2i_rows[t2i_rows.label == example.label].iloc[0].path)
fig = plots_generation.plot_mask_geometry(
    load(example.path),
    {"inpaint (centre)": generation.mask_for("center", settings), "outpaint (outer)": generation.mask_for("outer", settings)},
    {
        "inpaint": pick("inpaint"),
        "outpaint": pick("outpaint"),
        "in-then-outpaint\nstage 1": pick("in-then-outpaint", "inpaint"),
        "in-then-outpaint\nfinal": pick("in-then-outpaint"),
        "text-to-image\n(same class)": t2i_example,
    },
    note,
)

# %% [markdown]
# ## Samples per class, method and variant (Fig. S-4 analogue)
#
# One real training image per class (left) and, for each variant, what each method makes of it
# (text-to-image: a sample of the class prompt, tied to the real image by name only).

# %%
cells = {}
columns = ["real"]
for v in VARIANTS:
    for method in METHODS:
        col = f"{method}\n{v}"
        columns.append(col)
        rows = manifests[method, v]
        for label, group in masked_sources.groupby("label"):
            if method == "text-to-image":
                sel = rows[(rows.label == label) & (rows.stage == "final")]
            else:
                sel = rows[(rows.source_id == group.image_id.iloc[0]) & (rows.stage == "final")]
            if len(sel):
                cells[label, col] = load(sel.iloc[0].path)
for label, group in masked_sources.groupby("label"):
    cells[label, "real"] = load(group.path.iloc[0])
fig = plots_generation.plot_sample_grid(cells, sorted(splits.labels), columns, note)

# %% [markdown]
# ## Quality gate 1: do text-to-image samples show their class?
#
# A classifier trained on real images only (logistic regression on ImageNet EfficientNet-Lite0
# features of the whole training pool) labels the text-to-image samples. If the generator draws
# what the prompt names, the share labelled as the prompted class is far above chance
# ({glue:text}`gate_chance`). The real test set gives the classifier's own accuracy for scale.

# %%
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from synthaug_utils.backbones import LITE0_ARCH, create_feature_extractor, normalisation

torch.manual_seed(0)
extractor = create_feature_extractor(LITE0_ARCH).eval()
norm = normalisation(LITE0_ARCH)
mean = torch.tensor(norm.mean).view(1, 3, 1, 1)
std = torch.tensor(norm.std).view(1, 3, 1, 1)


def features(paths, size=64):
    table = pd.DataFrame({"path": list(paths)})
    arr = data.load_image_array(table, size)
    out = []
    with torch.no_grad():
        for i in range(0, len(arr), 256):
            x = torch.from_numpy(arr[i : i + 256]).permute(0, 3, 1, 2).float() / 255.0
            out.append(extractor((x - mean) / std).numpy())
    return np.concatenate(out)


clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.5))
clf.fit(features(splits.train_pool.path), splits.train_pool.label)
gate_rows = []
test_pred = clf.predict(features(splits.test.path))
for label in splits.labels:
    sel = splits.test.label.to_numpy() == label
    gate_rows.append({"label": label, "group": "real test images", "accuracy": float((test_pred[sel] == label).mean())})
summary = {}
for v in VARIANTS:
    rows = manifests["text-to-image", v]
    pred = clf.predict(features(rows.path))
    hit = pred == rows.label.to_numpy()
    summary[v] = float(hit.mean())
    for label in splits.labels:
        sel = rows.label.to_numpy() == label
        gate_rows.append({"label": label, "group": f"text-to-image, {v}", "accuracy": float(hit[sel].mean())})
gate = pd.DataFrame(gate_rows)
chance = 1 / len(splits.labels)
glue("gate_chance", f"{chance:.1%}", display=False)
glue("gate_real_acc", f"{float((test_pred == splits.test.label.to_numpy()).mean()):.1%}", display=False)
for v in VARIANTS:
    per_class = gate[gate.group == f"text-to-image, {v}"].accuracy
    glue(f"gate_t2i_{v}", f"{summary[v]:.1%}", display=False)
    glue(f"gate_t2i_{v}_min", f"{per_class.min():.1%}", display=False)
    glue(f"gate_t2i_{v}_n_above", int((per_class > 2 * chance).sum()), display=False)
glue("gate_n_classes", len(splits.labels), display=False)
fig = plots_generation.plot_class_accuracy(gate, chance, note)

# %%
gate.pivot(index="label", columns="group", values="accuracy").round(3)

# %% [markdown]
# The real-image classifier labels {glue:text}`gate_real_acc` of the real test images correctly.
# Of the text-to-image samples it assigns {glue:text}`gate_t2i_pretrained` (pretrained model) and
# {glue:text}`gate_t2i_dreambooth` (DreamBooth models) to the prompted class, against a chance
# level of {glue:text}`gate_chance`; the weakest class reaches {glue:text}`gate_t2i_pretrained_min`
# (pretrained) and {glue:text}`gate_t2i_dreambooth_min` (DreamBooth), and
# {glue:text}`gate_t2i_pretrained_n_above` / {glue:text}`gate_t2i_dreambooth_n_above` of
# {glue:text}`gate_n_classes` classes are above twice chance.

# %% [markdown]
# ## Quality gate 2: do the masked methods change only the masked region?
#
# The inpainting pipeline decodes the whole image from latents (the authors did not paste the
# source back), so pixels outside the mask change a little; inside the mask they should change
# a lot. Mean absolute difference between each output and its source, in grey levels (0-255):

# %%
mad_rows = []
for v in VARIANTS:
    for method, mask_name in (("inpaint", "center"), ("outpaint", "outer")):
        rows = manifests[method, v]
        rows = rows[rows.stage == "final"]
        src = np.stack([load(real_by_id.loc[s, "path"]) for s in rows.source_id])
        out = np.stack([load(p) for p in rows.path])
        inside, outside = generation.mask_mad(src, out, generation.mask_for(mask_name, settings))
        mad_rows += [{"method": method, "variant": v, "region": "inside mask", "mad": inside},
                     {"method": method, "variant": v, "region": "outside mask", "mad": outside}]
        glue(f"mad_{method}_{v}_in", round(inside, 1), display=False)
        glue(f"mad_{method}_{v}_out", round(outside, 1), display=False)
mad = pd.DataFrame(mad_rows)
fig = plots_generation.plot_mask_mad(mad, note)

# %% [markdown]
# Inpainting changes the masked centre by {glue:text}`mad_inpaint_pretrained_in` grey levels on
# average and the rest of the image by {glue:text}`mad_inpaint_pretrained_out` (pretrained;
# DreamBooth: {glue:text}`mad_inpaint_dreambooth_in` vs {glue:text}`mad_inpaint_dreambooth_out`).
# Outpainting: {glue:text}`mad_outpaint_pretrained_in` inside vs
# {glue:text}`mad_outpaint_pretrained_out` outside its mask (DreamBooth:
# {glue:text}`mad_outpaint_dreambooth_in` vs {glue:text}`mad_outpaint_dreambooth_out`).

# %% [markdown]
# ## What generation costs here
#
# Images per second of each method with the pretrained models at this profile's settings,
# measured now on this machine (in-then-outpaint counts its two passes as one image), and the
# seconds each DreamBooth model took to fine-tune.

# %%
n_timed = 32 if small else 256
cost = generation.measure_throughput(P, METHODS, n_images=n_timed, sources=np.stack([load(p) for p in masked_sources.path]))
for r in cost.itertuples():
    glue(f"cost_{r.method}", f"{r.images_per_s:.0f}", display=False)
glue("cost_threads", int(cost.threads.iloc[0]), display=False)
db_seconds = []
for kind in dreambooth.KINDS:
    db_settings = dreambooth.dreambooth_settings(P)
    for label in splits.labels:
        meta_file = dreambooth.dreambooth_dir(P, kind, label, splits, db_settings) / "dreambooth.json"
        if meta_file.is_file():
            meta = json.loads(meta_file.read_text())
            db_seconds.append({"kind": kind, "label": label, "seconds": meta["seconds"], "steps": meta["steps"]})
db_seconds = pd.DataFrame(db_seconds)
glue("cost_db_seconds", f"{db_seconds.seconds.mean():.0f}" if len(db_seconds) else "n/a", display=False)
glue("cost_db_steps", int(db_seconds.steps.median()) if len(db_seconds) else 0, display=False)
fig = plots_generation.plot_generation_cost(cost, note)

# %%
cost.round(2)

# %% [markdown]
# With {glue:text}`cost_threads` CPU thread(s): text-to-image {glue:text}`cost_text-to-image`,
# inpaint {glue:text}`cost_inpaint`, outpaint {glue:text}`cost_outpaint` and in-then-outpaint
# {glue:text}`cost_in-then-outpaint` images per second. A DreamBooth model took
# {glue:text}`cost_db_seconds` s on average ({glue:text}`cost_db_steps` optimiser steps). The
# paper's Stable Diffusion runs need a GPU: `benchmarks/generation.py` measures them with random
# weights in the real architectures where a GPU is present.
