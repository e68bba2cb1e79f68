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
# The paper makes synthetic training images four ways with Stable Diffusion {cite:p}`rombach2022high`: **text-to-image**
# from the class prompt `An image of {label}, a skin disease`; **inpaint** (repaint the centred
# square of half the side, strength 0.97); **outpaint** (repaint its complement except a thin
# outer frame, strength 0.95); and **in-then-outpaint** (inpaint, then outpaint the result; both
# stages kept). Each method runs with the *pretrained* model and with a *DreamBooth* model {cite:p}`ruiz2023dreambooth`
# fine-tuned on the class's training images. This chapter shows the mask geometry, samples per
# class, method and variant, two quality checks, and what generation costs on this machine.

# %% tags=["parameters"]
profile = "demo"
config = None
overrides = {}
split_seed = 0

# %%
import pandas as pd

from synthaug_utils.analysis import generation_report as report
from synthaug_utils.core.config import load_profile
from synthaug_utils.experiments import chapters
from synthaug_utils.presentation import data_plots, figures, generation_prose
from synthaug_utils.presentation.book import glue_values
from synthaug_utils.presentation.profile_box import glue_profile_box

P = load_profile(profile, config, overrides)
chapter, facts = report.setup(P, split_seed)
note = chapter.note
glue_values({**facts, "gen_departures": generation_prose.departures_sentence(chapter)})
glue_profile_box(chapter.profile, "02_generation")

# %% [markdown]
# ```{glue:md} profile_box
# :format: myst
# ```
#
# Profile {glue:text}`gen_profile`: text-to-image model {glue:text}`gen_t2i_model`, inpainting
# model {glue:text}`gen_inpaint_model`, {glue:text}`gen_resolution` px,
# {glue:text}`gen_steps` DPM-Solver {cite:p}`lu2022dpmsolver,lu2022dpmsolverpp` steps, guidance scale {glue:text}`gen_guidance`,
# precision {glue:text}`gen_precision`. Every image's seed derives from its source image id,
# method, variant and index, so the images do not depend on batch size or order.
#
# {glue:text}`gen_departures`

# %%
glue_values(
    {"generator_sentence": generation_prose.generator_sentence(chapter.profile, report.generator_record(chapter))}
)

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
glue_values(report.make_sets(chapter, chapters.generation_sets(chapter.profile, chapter.splits, chapter.sizes)))

# %% [markdown]
# ## Mask geometry (Fig. 1B analogue)
#
# Tinted pixels are the ones the model repaints. The inpaint mask is the centred square of half
# the side; the outpaint mask is its complement minus an outer frame of
# {glue:text}`gen_frame_px` px ({glue:text}`gen_frame_ref` px at 512). In-then-outpaint applies
# both in turn, so every pixel except the frame is replaced.

# %%
(source, masks, outputs), facts = report.mask_geometry(chapter)
glue_values(facts)
masked = pd.DataFrame([{"mask": name, "share_of_pixels": float(m.mean())} for name, m in masks.items()])
figures.show_figure(data_plots.plot_mask_geometry(source, masks, outputs, note, data=masked), "mask_geometry", profile)

# %% [markdown]
# ## Samples per class, method and variant (Fig. S-4 analogue)
#
# One real training image per class (left) and, for each variant, what each method makes of it
# (text-to-image: a sample of the class prompt, tied to the real image by name only).

# %%
cells, labels, columns = report.sample_grid(chapter)
figures.show_figure(data_plots.plot_sample_grid(cells, labels, columns, note), "samples", profile)

# %% [markdown]
# ## Quality gate 1: do text-to-image samples show their class?
#
# A classifier trained on real images only (logistic regression on ImageNet EfficientNet-Lite0
# features of the whole training pool) labels the text-to-image samples. If the generator draws
# what the prompt names, the share labelled as the prompted class is far above chance
# ({glue:text}`gate_chance:.1%`). The real test set gives the classifier's own accuracy for scale.
#
# Every sample passes through the generator's autoencoder, which loses fine texture. To
# separate that loss from the diffusion model's grasp of the classes, a second classifier is
# trained on the same real training images *after a round trip through the autoencoder*
# (encode, decode) and scored the same way.

# %%
samples = chapters.guidance_samples(
    P, chapter.splits.labels, chapter.sizes["gate_per_class"], chapter.paper_settings.guidance_scale
)
gate, summary, chance, facts = report.class_identity_gate_report(chapter, samples)
glue_values({**facts, **generation_prose.gate_sentences(gate, chance)})
real_gate = gate[gate.classifier == "trained on real images"]
figures.show_figure(data_plots.plot_class_accuracy(real_gate, chance, note), "gate_real", profile)

# %%
ae_gate = gate[gate.classifier == "trained on autoencoded real images"]
figures.show_figure(data_plots.plot_class_accuracy(ae_gate, chance, note), "gate_autoencoded", profile)

# %%
figures.show_table(
    summary,
    "gate_summary",
    "Quality gate 1 per classifier and generator: the share of text-to-image samples labelled as the prompted "
    "class, pooled and for the weakest class, against the real test images.",
)

# %% [markdown]
# Chance is {glue:text}`gate_chance:.1%`. The classifier trained on real images labels
# {glue:text}`gate_real_test:.1%` of the real test images correctly, and assigns
# {glue:text}`gate_real_t2i_pretrained:.1%` (95% CI {glue:text}`gate_real_t2i_pretrained_ci`) of the pretrained model's text-to-image samples and
# {glue:text}`gate_real_t2i_dreambooth:.1%` (95% CI {glue:text}`gate_real_t2i_dreambooth_ci`) of the DreamBooth models' samples to the prompted class
# ({glue:text}`gate_real_t2i_pretrained_n_above` and {glue:text}`gate_real_t2i_dreambooth_n_above`
# of {glue:text}`gate_n_classes` classes above twice chance); sampled at the paper's guidance
# {glue:text}`gen_paper_guidance`, the pretrained model's samples score
# {glue:text}`gate_real_t2i_paper_guidance`. The classifier trained on
# autoencoded real images scores {glue:text}`gate_rec_test:.1%` on the autoencoded test images and
# {glue:text}`gate_rec_t2i_pretrained:.1%` (pretrained; 95% CI
# {glue:text}`gate_rec_t2i_pretrained_ci`) / {glue:text}`gate_rec_t2i_dreambooth:.1%` (DreamBooth; 95% CI
# {glue:text}`gate_rec_t2i_dreambooth_ci`) on the samples ({glue:text}`gate_rec_t2i_pretrained_n_above` /
# {glue:text}`gate_rec_t2i_dreambooth_n_above` classes above twice chance; weakest class
# {glue:text}`gate_rec_t2i_pretrained_min:.1%` (95% CI {glue:text}`gate_rec_t2i_pretrained_min_ci`) /
# {glue:text}`gate_rec_t2i_dreambooth_min:.1%` (95% CI {glue:text}`gate_rec_t2i_dreambooth_min_ci`)). Where
# these shares sit near chance for a class, the synthetic images of that class carry little of
# its look, and the experiments' synthetic augmentation for it is closer to noise than to data.
#
# **Is the gate met?** The project asks that the classifier trained on real images recognise at
# least {glue:text}`gate_min_class:.0%` of every class's text-to-image samples and at least
# {glue:text}`gate_min_pooled:.0%` of all of them together
# (chance is {glue:text}`gate_chance:.1%`; real test images score {glue:text}`gate_real_test:.1%`). For the
# pretrained model {glue:text}`gate_real_t2i_pretrained_met`; for the DreamBooth models
# {glue:text}`gate_real_t2i_dreambooth_met`. Against twice chance: for the pretrained model
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
mad, facts = report.mask_fidelity_report(chapter, chapters.raw_inpaint_fidelity(P, chapter.masked_sources))
glue_values(facts)
figures.show_figure(data_plots.plot_mask_mad(mad, note), "mask_mad", profile)

# %%
figures.show_table(
    mad.pivot_table(index=["method", "variant"], columns="region", values="mad").reset_index(),
    "mask_mad_table",
    "Mean absolute difference between output and source (grey levels, 0-255) inside and outside the mask.",
    data=mad,
)

# %% [markdown]
# Raw model output: inpainting changes the masked centre by {glue:text}`mad_inpaint_raw_in:.1f` grey
# levels on average and the rest of the image by {glue:text}`mad_inpaint_raw_out:.1f`; outpainting
# changes its mask by {glue:text}`mad_outpaint_raw_in:.1f` and the centre by
# {glue:text}`mad_outpaint_raw_out:.1f`. In the synthetic sets the experiments use: inpainting
# {glue:text}`mad_inpaint_pretrained_in:.1f` inside vs {glue:text}`mad_inpaint_pretrained_out:.1f` outside
# (pretrained; DreamBooth {glue:text}`mad_inpaint_dreambooth_in:.1f` vs
# {glue:text}`mad_inpaint_dreambooth_out:.1f`), outpainting {glue:text}`mad_outpaint_pretrained_in:.1f`
# vs {glue:text}`mad_outpaint_pretrained_out:.1f` (DreamBooth {glue:text}`mad_outpaint_dreambooth_in:.1f`
# vs {glue:text}`mad_outpaint_dreambooth_out:.1f`).

# %% [markdown]
# ## Quality gate 3: is there a seam at the mask's border?
#
# Where the generated region meets the pasted source pixels, a region that does not continue its
# surroundings leaves a seam. The seam measure is the mean squared colour difference between the
# two pixels of every adjacent pair straddling the mask's border, divided by the same quantity of
# the real source images at the same positions (1.0: no more contrast across the border than
# real skin has there). The generated pixels are blended in over the first
# {glue:text}`seam_blend_px` px inside the mask; the unmasked pixels stay the source's exactly.

# %%
seams, facts = report.seam_report(chapter)
glue_values({**facts, **generation_prose.seam_sentences(seams)})
figures.show_table(
    seams, "seams", "Seam ratio per method and generator: contrast across the mask's border, synthetic over real."
)

# %% [markdown]
# The largest seam ratio is {glue:text}`seam_max`; the line is {glue:text}`seam_limit:g`:
# {glue:text}`seam_verdict`.

# %% [markdown]
# ## What generation costs here
#
# Images per second of each method with the pretrained models at this profile's settings,
# measured now on this machine (in-then-outpaint counts its two passes as one image), and the
# seconds each DreamBooth model took to fine-tune.

# %%
cost, facts = report.generation_cost(
    chapter, chapters.time_generation(P, chapter.masked_sources, chapter.sizes["timed_images"])
)
glue_values(facts)
figures.show_figure(data_plots.plot_generation_cost(cost, note), "generation_cost", profile)

# %%
figures.show_table(cost, "generation_cost_table", "Images generated per second on this machine, per method.")

# %% [markdown]
# With {glue:text}`cost_threads` CPU thread(s): text-to-image {glue:text}`cost_text-to-image:.0f`,
# inpaint {glue:text}`cost_inpaint:.0f`, outpaint {glue:text}`cost_outpaint:.0f` and in-then-outpaint
# {glue:text}`cost_in-then-outpaint:.0f` images per second. A DreamBooth model took
# {glue:text}`cost_db_seconds` s on average ({glue:text}`cost_db_steps` optimiser steps). The
# paper's Stable Diffusion runs need a GPU: `benchmarks/generation.py` measures them with random
# weights in the real architectures where a GPU is present.
