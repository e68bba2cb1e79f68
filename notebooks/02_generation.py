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
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
from myst_nb import glue

from synthaug_utils.data import checks
from synthaug_utils.data import images as data_images
from synthaug_utils.data import splits as data_splits
from synthaug_utils.diffusion import dreambooth
from synthaug_utils.diffusion import masks
from synthaug_utils.diffusion import measure
from synthaug_utils.diffusion import pipelines
from synthaug_utils.diffusion import resolve
from synthaug_utils.diffusion import settings as diffusion_settings
from synthaug_utils.synthetic import manifest
from synthaug_utils.synthetic import sets
from synthaug_utils.core import vocabulary
from synthaug_utils.presentation import plots
from synthaug_utils.core.inputs import check_ready
from synthaug_utils.core.config import load_profile

P = load_profile(profile, config, overrides)
if not P.is_embedded:
    check_ready(P, needs=("f17k_metadata", "f17k_splits", "f17k_images", "sd_text2image", "sd_inpaint"))
note = vocabulary.DEMO_NOTE if P.is_embedded else None
sizes = P.grids["generation-chapter"]  # the profile's sizes for this chapter
T2I_PER_CLASS = sizes["gate_per_class"]  # text-to-image samples per class for the quality gate
MASKED_PER_CLASS = sizes["masked_per_class"]  # source images per class for the masked methods
VARIANTS = ("pretrained", "dreambooth")
METHODS = vocabulary.METHODS

splits = data_splits.load_splits(P, "main", split_seed)
settings = diffusion_settings.generation_settings(P)
glue("gen_profile", P.name, display=False)
glue("gen_steps", settings.steps, display=False)
glue("gen_guidance", settings.guidance_scale, display=False)
glue("gen_resolution", settings.resolution, display=False)
glue("gen_precision", settings.precision, display=False)
glue("gen_t2i_model", pipelines.model_label(P.text2image_model), display=False)
glue("gen_inpaint_model", pipelines.model_label(P.inpaint_model), display=False)
glue("gen_db_epochs", dreambooth.dreambooth_settings(P).epochs, display=False)
glue("gen_db_lr", f"{dreambooth.dreambooth_settings(P).learning_rate:g}", display=False)
paper_settings = diffusion_settings.generation_settings(load_profile("paper"))
glue("gen_paper_steps", paper_settings.steps, display=False)
glue("gen_paper_resolution", paper_settings.resolution, display=False)

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
# Profile {glue:text}`gen_profile`: text-to-image model {glue:text}`gen_t2i_model`, inpainting
# model {glue:text}`gen_inpaint_model`, {glue:text}`gen_resolution` px,
# {glue:text}`gen_steps` DPM-Solver steps, guidance scale {glue:text}`gen_guidance`,
# precision {glue:text}`gen_precision`. Every image's seed derives from its source image id,
# method, variant and index, so the images do not depend on batch size or order.
#
# Where the demo profile departs from the paper's settings, and why: guidance
# {glue:text}`gen_guidance` instead of {glue:text}`gen_paper_guidance`, because the small model
# follows its prompt weakly (the quality gate below scores samples made at both);
# {glue:text}`gen_steps` sampling steps instead of {glue:text}`gen_paper_steps` and
# {glue:text}`gen_resolution` px instead of {glue:text}`gen_paper_resolution`, for CPU time; DreamBooth for
# {glue:text}`gen_db_epochs` epoch(s) at learning rate {glue:text}`gen_db_lr` (paper: 4 epochs
# at 5e-6), because the model is tiny and the book must build in minutes.

# %%
demo_meta = {}
if P.is_embedded:
    folder = resolve.model_folder(P.inpaint_model, P)  # written last: holds the whole run's record
    meta_file = folder / "synthaug_demo.json"
    demo_meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
glue("generator_sentence", pipelines.generator_sentence(P, demo_meta), display=False)

# %% [markdown]
# {glue:text}`generator_sentence`

# %% [markdown]
# ## Making the synthetic sets
#
# The sets below come from the same cache the experiment chapters use: text-to-image samples
# for the first {glue:text}`gen_t2i_sources` training images per class, and the masked methods
# for the first {glue:text}`gen_masked_sources` per class (the seed-0 nested subsets), with the
# pretrained and the DreamBooth models. DreamBooth models are fine-tuned once per class and kept.

# %%
t2i_sources = data_splits.training_subset(splits, T2I_PER_CLASS, seed=0)
masked_sources = data_splits.training_subset(splits, MASKED_PER_CLASS, seed=0)
glue("gen_t2i_sources", T2I_PER_CLASS, display=False)
glue("gen_masked_sources", MASKED_PER_CLASS, display=False)
manifests = {}
for variant in VARIANTS:
    for method in METHODS:
        sources = t2i_sources if method == "text-to-image" else masked_sources
        folder = sets.ensure_synthetic_set(P, method, variant, sources, 1, splits=splits, progress=False)
        m = manifest.read_manifest(folder, splits=splits)
        manifests[method, variant] = manifest.select_synthetic(m, sources.image_id, 1)


def load(path):
    return np.asarray(data_images.load_image(path, settings.resolution))



# %% [markdown]
# ## Mask geometry (Fig. 1B analogue)
#
# Tinted pixels are the ones the model repaints. The inpaint mask is the centred square of half
# the side; the outpaint mask is its complement minus an outer frame of
# {glue:text}`gen_frame_px` px ({glue:text}`gen_frame_ref` px at 512). In-then-outpaint applies
# both in turn, so every pixel except the frame is replaced.

# %%
glue("gen_frame_px", masks.frame_width(settings.resolution, settings.frame_px_at_512), display=False)
glue("gen_frame_ref", settings.frame_px_at_512, display=False)
example = masked_sources.iloc[0]
variant = "dreambooth"


def pick(method, stage="final", source=example.image_id, v=variant):
    rows = manifests[method, v]
    row = rows[(rows.source_id == source) & (rows.stage == stage)].iloc[0]
    return load(row.path)


t2i_rows = manifests["text-to-image", variant]
t2i_example = load(t2i_rows[t2i_rows.label == example.label].iloc[0].path)
fig = plots.plot_mask_geometry(
    load(example.path),
    {"inpaint (centre)": masks.mask_for("center", settings), "outpaint (outer)": masks.mask_for("outer", settings)},
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
fig = plots.plot_sample_grid(cells, sorted(splits.labels), columns, note)

# %% [markdown]
# ## Quality gate 1: do text-to-image samples show their class?
#
# A classifier trained on real images only (logistic regression on ImageNet EfficientNet-Lite0
# features of the whole training pool) labels the text-to-image samples. If the generator draws
# what the prompt names, the share labelled as the prompted class is far above chance
# ({glue:text}`gate_chance`). The real test set gives the classifier's own accuracy for scale.
#
# Every sample passes through the generator's autoencoder, which loses fine texture. To
# separate that loss from the diffusion model's grasp of the classes, a second classifier is
# trained on the same real training images *after a round trip through the autoencoder*
# (encode, decode) and scored the same way.

# %%
from synthaug_utils.analysis import class_identity
from synthaug_utils.analysis import quality


def array(paths):
    return checks.load_image_array(pd.DataFrame({"path": list(paths)}), settings.resolution)


autoencoder = pipelines.load_pipeline(P.text2image_model, "text2image", settings, P)
autoencoder_key = f"{P.text2image_model}|{pipelines.model_hash(resolve.model_folder(P.text2image_model, P))}"
train_images, test_images = array(splits.train_pool.path), array(splits.test.path)
yardsticks = {
    "real images": (train_images, test_images),
    "autoencoded real images": tuple(measure.vae_roundtrip(autoencoder, x, cache_key=autoencoder_key) for x in (train_images, test_images)),
}
samples = {v: manifests["text-to-image", v] for v in VARIANTS}
sample_groups = {f"text-to-image, {v}": (quality.image_features(array(rows.path), cache=True), rows.label) for v, rows in samples.items()}
paper_guidance = paper_settings.guidance_scale
glue("gen_paper_guidance", paper_guidance, display=False)
if paper_guidance != settings.guidance_scale:  # the same model sampled at the paper's guidance, for comparison
    images, labels_ = measure.sample_text2image(P, splits.labels, T2I_PER_CLASS, dataclasses.replace(settings, guidance_scale=paper_guidance))
    sample_groups[f"text-to-image, pretrained, guidance {paper_guidance:g}"] = (quality.image_features(images, cache=True), labels_)
chance = 1 / len(splits.labels)
yardstick_features = {name: tuple(quality.image_features(x, cache=True) for x in pair) for name, pair in yardsticks.items()}
gate, summary = class_identity.class_identity_gate(yardstick_features, splits.train_pool.label, splits.test.label, sample_groups, splits.labels)
glue("gate_chance", f"{chance:.1%}", display=False)
glue("gate_n_classes", len(splits.labels), display=False)
for key, name in (("real", "real images"), ("rec", "autoencoded real images")):
    part = summary[summary.classifier == f"trained on {name}"].set_index("images")
    rows_of = gate[gate.classifier == f"trained on {name}"]
    glue(f"gate_{key}_test", f"{part.accuracy.iloc[0]:.1%}", display=False)
    for v in VARIANTS:
        row = part.loc[f"text-to-image, {v}"]
        glue(f"gate_{key}_t2i_{v}", f"{row.accuracy:.1%}", display=False)
        glue(f"gate_{key}_t2i_{v}_min", f"{row['weakest class']:.1%}", display=False)
        glue(f"gate_{key}_t2i_{v}_n_above", int(row["classes above 2x chance"]), display=False)
        glue(f"gate_{key}_t2i_{v}_verdict", class_identity.gate_verdict(rows_of, f"text-to-image, {v}", chance), display=False)
    paper_row = f"text-to-image, pretrained, guidance {paper_guidance:g}"
    glue(f"gate_{key}_t2i_paper_guidance", f"{part.loc[paper_row].accuracy:.1%}" if paper_row in part.index else "the same (this profile samples at that guidance)", display=False)
fig = plots.plot_class_accuracy(gate[gate.classifier == "trained on real images"], chance, note)

# %%
fig = plots.plot_class_accuracy(gate[gate.classifier == "trained on autoencoded real images"], chance, note)

# %%
summary.round(3)

# %% [markdown]
# Chance is {glue:text}`gate_chance`. The classifier trained on real images labels
# {glue:text}`gate_real_test` of the real test images correctly, and assigns
# {glue:text}`gate_real_t2i_pretrained` of the pretrained model's text-to-image samples and
# {glue:text}`gate_real_t2i_dreambooth` of the DreamBooth models' samples to the prompted class
# ({glue:text}`gate_real_t2i_pretrained_n_above` and {glue:text}`gate_real_t2i_dreambooth_n_above`
# of {glue:text}`gate_n_classes` classes above twice chance); sampled at the paper's guidance
# {glue:text}`gen_paper_guidance`, the pretrained model's samples score
# {glue:text}`gate_real_t2i_paper_guidance`. The classifier trained on
# autoencoded real images scores {glue:text}`gate_rec_test` on the autoencoded test images and
# {glue:text}`gate_rec_t2i_pretrained` (pretrained) / {glue:text}`gate_rec_t2i_dreambooth`
# (DreamBooth) on the samples ({glue:text}`gate_rec_t2i_pretrained_n_above` /
# {glue:text}`gate_rec_t2i_dreambooth_n_above` classes above twice chance; weakest class
# {glue:text}`gate_rec_t2i_pretrained_min` / {glue:text}`gate_rec_t2i_dreambooth_min`). Where
# these shares sit near chance for a class, the synthetic images of that class carry little of
# its look, and the experiments' synthetic augmentation for it is closer to noise than to data.
#
# **Is the gate met?** The project asks that every class of the text-to-image samples be
# labelled far above chance by the classifier trained on real images. For the pretrained model
# {glue:text}`gate_real_t2i_pretrained_verdict`; for the DreamBooth models
# {glue:text}`gate_real_t2i_dreambooth_verdict`. Where classes are named here, the gate is not
# met for them, and the results chapters' synthetic sets of those classes should be read in
# that light.

# %% [markdown]
# ## Quality gate 2: do the masked methods change only the masked region?
#
# The inpainting pipeline decodes the whole image from latents. Stable Diffusion's inpainting
# model reproduces the unmasked pixels closely by itself, and the authors kept its output as it
# is. The demo profiles paste the source pixels back outside the mask
# (`paste_unmasked` = {glue:text}`gen_paste`), because the small demo model repaints the unmasked
# region too; the first rows below show the model's raw output (no paste) so that this stays
# visible. Mean absolute difference between each output and its source, in grey levels (0-255):

# %%
glue("gen_paste", str(settings.paste_unmasked), display=False)
mad = pd.concat([
    measure.raw_mask_fidelity(P, masked_sources, settings),
    measure.mask_fidelity(manifests, dict(zip(masked_sources.image_id, masked_sources.path)), settings),
], ignore_index=True)
for r in mad.itertuples():
    key = "raw" if r.variant.endswith("raw output") else r.variant
    glue(f"mad_{r.method}_{key}_{'in' if r.region == 'inside mask' else 'out'}", round(r.mad, 1), display=False)
fig = plots.plot_mask_mad(mad, note)

# %%
mad.pivot_table(index=["method", "variant"], columns="region", values="mad").round(1)

# %% [markdown]
# Raw model output: inpainting changes the masked centre by {glue:text}`mad_inpaint_raw_in` grey
# levels on average and the rest of the image by {glue:text}`mad_inpaint_raw_out`; outpainting
# changes its mask by {glue:text}`mad_outpaint_raw_in` and the centre by
# {glue:text}`mad_outpaint_raw_out`. In the synthetic sets the experiments use: inpainting
# {glue:text}`mad_inpaint_pretrained_in` inside vs {glue:text}`mad_inpaint_pretrained_out` outside
# (pretrained; DreamBooth {glue:text}`mad_inpaint_dreambooth_in` vs
# {glue:text}`mad_inpaint_dreambooth_out`), outpainting {glue:text}`mad_outpaint_pretrained_in`
# vs {glue:text}`mad_outpaint_pretrained_out` (DreamBooth {glue:text}`mad_outpaint_dreambooth_in`
# vs {glue:text}`mad_outpaint_dreambooth_out`).

# %% [markdown]
# ## What generation costs here
#
# Images per second of each method with the pretrained models at this profile's settings,
# measured now on this machine (in-then-outpaint counts its two passes as one image), and the
# seconds each DreamBooth model took to fine-tune.

# %%
n_timed = sizes["timed_images"]
cost = measure.measure_throughput(P, METHODS, n_images=n_timed, sources=np.stack([load(p) for p in masked_sources.path]))
for r in cost.itertuples():
    glue(f"cost_{r.method}", f"{r.images_per_s:.0f}", display=False)
glue("cost_threads", int(cost.threads.iloc[0]), display=False)
db_seconds = []
for kind in vocabulary.KINDS:
    db_settings = dreambooth.dreambooth_settings(P)
    for label in splits.labels:
        meta_file = dreambooth.dreambooth_dir(P, kind, label, splits, db_settings) / "dreambooth.json"
        if meta_file.is_file():
            meta = json.loads(meta_file.read_text())
            db_seconds.append({"kind": kind, "label": label, "seconds": meta["seconds"], "steps": meta["steps"]})
db_seconds = pd.DataFrame(db_seconds)
glue("cost_db_seconds", f"{db_seconds.seconds.mean():.0f}" if len(db_seconds) else "n/a", display=False)
glue("cost_db_steps", int(db_seconds.steps.median()) if len(db_seconds) else 0, display=False)
fig = plots.plot_generation_cost(cost, note)

# %%
cost.round(2)

# %% [markdown]
# With {glue:text}`cost_threads` CPU thread(s): text-to-image {glue:text}`cost_text-to-image`,
# inpaint {glue:text}`cost_inpaint`, outpaint {glue:text}`cost_outpaint` and in-then-outpaint
# {glue:text}`cost_in-then-outpaint` images per second. A DreamBooth model took
# {glue:text}`cost_db_seconds` s on average ({glue:text}`cost_db_steps` optimiser steps). The
# paper's Stable Diffusion runs need a GPU: `benchmarks/generation.py` measures them with random
# weights in the real architectures where a GPU is present.
