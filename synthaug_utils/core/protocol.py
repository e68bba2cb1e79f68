"""The paper's protocol, setting by setting: the protocol's value and who states it, the authors' code's
value where it differs, and why a profile deviates. Typed once here (from the project's protocol notes, the
paper and the authors' code); the book's Methods page is generated from this table and the profile of the
build (:mod:`synthaug_utils.presentation.methods`), so no protocol value is typed in a page.

``value`` is a Python value compared with the profile's value as it is (tuples for lists). ``source``
says who states it: :data:`PAPER`, :data:`AUTHORS_CODE` where the paper is silent and the authors' code
fills the gap, :data:`PROJECT` where neither does. ``code`` is the authors' code's value where it differs
from ``value`` (None where it agrees or has none). ``why`` says why a profile other than ``paper`` may
differ; it is shown only where the value does. ``departs`` says why the project itself departs from the
paper or the authors' code on every profile (shown on every profile). ``parameter`` is the profile
override (dotted: ``grids.generation.frame_px_at_512``) that chooses between the paper's text and the
authors' code. ``described``: the profile's value is the description of the code that computes it
(statistics), not a value to compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PAPER = "paper"
AUTHORS_CODE = "authors' code"
PROJECT = "project"
SOURCES = (PAPER, AUTHORS_CODE, PROJECT)


@dataclass(frozen=True)
class ProtocolSetting:
    """One setting of the paper's protocol (see the module docstring)."""

    key: str
    section: str
    setting: str
    value: Any
    code: Any = None
    source: str = PAPER
    why: str = ""
    departs: str = ""
    parameter: str = ""
    described: bool = False


_CPU = "the embedded profiles run on 2 CPU cores in minutes (the demo book's time budget)"
_TOY = "the smoke profile is a toy-size test of the code paths"
_WORLD = "the embedded stand-in world has its own sizes"
_DEMO_MODEL = "the demo generator is a small latent diffusion model trained by the project"
_FAST = "fast mode trains the head on cached frozen-body features; chapter 03 measures what that costs"
_NO_STATS = "none (the authors' code has no statistics)"

PROTOCOL: tuple[ProtocolSetting, ...] = (
    # data
    ProtocolSetting(
        "dataset",
        "Data",
        "main dataset",
        "f17k9",
        why="no patient data ships with the project: the stand-in world carries the F17k-9 label names",
    ),
    ProtocolSetting("labels", "Data", "labels (classes)", 9, why=_WORLD),
    ProtocolSetting("test_per_label", "Data", "test images per label", 40, why=_WORLD),
    ProtocolSetting(
        "val_per_label", "Data", "validation images per label (drawn from the training pool)", 40, why=_TOY
    ),
    ProtocolSetting(
        "redraw_validation",
        "Data",
        "validation images redrawn for every run (split seed = run seed; Fig. 3's grid shown, each grid has the "
        "setting)",
        True,
        source=AUTHORS_CODE,
        parameter="grids.fig3.redraw_validation",
        why="the embedded grids draw one training subset for every seed, so that the seeds share one synthetic set "
        "(generation is the largest cost of a cold demo build)",
    ),
    ProtocolSetting("n_real_grid", "Data", "real training images per label (n)", (1, 16, 32, 64, 128, 228), why=_CPU),
    ProtocolSetting(
        "nested",
        "Data",
        "training subsets nested per seed (the code that draws them)",
        "the n-image subset holds the smaller ones",
        source=PROJECT,
        described=True,
    ),
    ProtocolSetting(
        "ddi_dataset",
        "Data",
        "skin-type dataset",
        "ddi",
        why="DDI needs a data-use agreement; the stand-in world draws a DDI-like set",
    ),
    ProtocolSetting("ddi_per_bin", "Data", "DDI test (and validation) images per skin-tone bin", 32, why=_TOY),
    # generation
    ProtocolSetting(
        "text2image_model", "Generation", "text-to-image model", "stable-diffusion-2-1-base", why=_DEMO_MODEL
    ),
    ProtocolSetting("inpaint_model", "Generation", "inpainting model", "stable-diffusion-inpainting", why=_DEMO_MODEL),
    ProtocolSetting("scheduler", "Generation", "sampler", "DPMSolverMultistep", source=AUTHORS_CODE),
    ProtocolSetting(
        "gen_steps",
        "Generation",
        "sampling steps",
        50,
        source=AUTHORS_CODE,
        why="at 64 px the demo model's samples change little beyond about 10 steps; generation is the largest cost of "
        "a cold demo build",
    ),
    ProtocolSetting(
        "guidance_scale",
        "Generation",
        "guidance scale",
        3.0,
        source=AUTHORS_CODE,
        why="the demo model's text conditioning is weaker: at 3.0 a real-image classifier recognises fewer of its "
        "samples (chapter 02)",
    ),
    ProtocolSetting(
        "gen_resolution", "Generation", "generation size (px)", 512, source=AUTHORS_CODE, why=_DEMO_MODEL + " at 64 px"
    ),
    ProtocolSetting(
        "centre_crop",
        "Generation",
        "source images: resized and centre-cropped to the generation size (the code that does it)",
        "shorter side resized, then centre-cropped to a square",
        source=AUTHORS_CODE,
        described=True,
    ),
    ProtocolSetting("safety_checker", "Generation", "safety checker on", False, source=AUTHORS_CODE),
    ProtocolSetting("prompt", "Generation", "prompt", "An image of {label}, a skin disease"),
    ProtocolSetting("mask_side_fraction", "Generation", "inpaint mask: side of the centred square / image side", 0.5),
    ProtocolSetting("strength_inpaint", "Generation", "inpainting strength", 0.97, source=AUTHORS_CODE),
    ProtocolSetting(
        "outpaint_frame",
        "Generation",
        "outpaint mask: unmasked outer frame (px at 512, scaled to the generation size); "
        "the paper: an exact complement of the inpainting mask",
        0,
        code=16,
        parameter="grids.generation.frame_px_at_512",
    ),
    ProtocolSetting("strength_outpaint", "Generation", "outpainting strength", 0.95, source=AUTHORS_CODE),
    ProtocolSetting(
        "paste_unmasked",
        "Generation",
        "source pixels pasted back outside the mask",
        False,
        source=AUTHORS_CODE,
        why="the minutes-pretrained demo model repaints the unmasked region; pasting restores the method's meaning",
    ),
    ProtocolSetting(
        "precision",
        "Generation",
        "generation precision",
        "fp16",
        source=AUTHORS_CODE,
        why="CPU: bfloat16 where the CPU has native instructions, else float32",
    ),
    ProtocolSetting("synthetic_per_real", "Generation", "synthetic images per real image", 10, why=_CPU),
    ProtocolSetting(
        "image_seed",
        "Generation",
        "random seed of each synthetic image (the code that derives it)",
        "one seed per (source image, method, variant, index)",
        code="one generator per run (batch-order dependent)",
        source=PROJECT,
        described=True,
        departs="the authors' code seeded one generator per run, so an image depended on its batch and on the "
        "order of generation; a seed per image makes each image the same in any batch, order or executor",
    ),
    # DreamBooth
    ProtocolSetting(
        "db_resolution", "DreamBooth", "fine-tuning size (px)", 512, source=AUTHORS_CODE, why=_DEMO_MODEL + " at 64 px"
    ),
    ProtocolSetting("db_batch_size", "DreamBooth", "batch size", 4, source=AUTHORS_CODE, why=_CPU),
    ProtocolSetting(
        "db_learning_rate",
        "DreamBooth",
        "learning rate (constant, no warm-up)",
        5e-6,
        source=AUTHORS_CODE,
        why="chosen for the small demo generator (fine-tuning in seconds per class)",
    ),
    ProtocolSetting("db_epochs", "DreamBooth", "epochs per class model", 4, source=AUTHORS_CODE, why=_CPU),
    ProtocolSetting("db_ddi_epochs", "DreamBooth", "epochs of the DDI model", 25, source=AUTHORS_CODE, why=_CPU),
    ProtocolSetting("db_weight_decay", "DreamBooth", "AdamW weight decay", 1e-2, source=AUTHORS_CODE),
    ProtocolSetting("db_grad_clip", "DreamBooth", "gradient-norm clip", 1.0, source=AUTHORS_CODE),
    ProtocolSetting("db_prior", "DreamBooth", "prior preservation", False, source=AUTHORS_CODE),
    ProtocolSetting("db_text_encoder", "DreamBooth", "text encoder trained", False, source=AUTHORS_CODE),
    ProtocolSetting(
        "include_validation",
        "DreamBooth",
        "training images include the class's validation images (never test images)",
        True,
        source=AUTHORS_CODE,
        parameter="grids.dreambooth.include_validation",
        why="the stricter choice on the embedded profiles: no validation image reaches the generator",
    ),
    ProtocolSetting(
        "db_crop_scale", "DreamBooth", "augmentation: random resized crop, scale", (0.9, 1.1), source=AUTHORS_CODE
    ),
    ProtocolSetting(
        "db_crop_ratio",
        "DreamBooth",
        "augmentation: random resized crop, aspect ratio",
        (0.9, 1.1),
        source=AUTHORS_CODE,
    ),
    ProtocolSetting(
        "db_color_jitter",
        "DreamBooth",
        "augmentation: colour jitter (brightness, contrast, saturation, hue)",
        0.05,
        source=AUTHORS_CODE,
    ),
    ProtocolSetting("db_hflip", "DreamBooth", "augmentation: random horizontal flip", True, source=AUTHORS_CODE),
    ProtocolSetting(
        "db_masks",
        "DreamBooth",
        "inpainting variant: training masks (the code that draws them)",
        "a random rectangle or ellipse per image",
        source=AUTHORS_CODE,
        described=True,
    ),
    ProtocolSetting(
        "variant",
        "DreamBooth",
        "generator variant of the results grids",
        "dreambooth",
        why=(
            "the embedded grids use the pretrained demo generator (fine-tuning every class costs CPU minutes per build)"
        ),
    ),
    # classifier
    ProtocolSetting(
        "arch",
        "Classifier",
        "backbone (ImageNet weights)",
        "efficientnet_v2_m",
        why="EfficientNet-Lite0 runs on the CPU in seconds per trial",
    ),
    ProtocolSetting(
        "image_size", "Classifier", "input size (px)", 224, source=AUTHORS_CODE, why=_WORLD + " (64 px images)"
    ),
    ProtocolSetting("mode", "Classifier", "training mode", "faithful", source=AUTHORS_CODE, why=_FAST),
    ProtocolSetting(
        "trainable",
        "Classifier",
        "layers that train (fit, not fine_tune: the pretrained body stays frozen)",
        ("head", "BatchNorm layers"),
        source=AUTHORS_CODE,
        why=_FAST,
    ),
    ProtocolSetting("lr", "Classifier", "learning rate (Adam)", 1e-3, source=AUTHORS_CODE),
    ProtocolSetting("wd", "Classifier", "weight decay", 0.01, source=AUTHORS_CODE),
    ProtocolSetting("max_epochs", "Classifier", "maximum epochs", 30, code=50, why=_TOY, parameter="max_epochs"),
    ProtocolSetting("patience", "Classifier", "early-stopping patience (epochs)", 3),
    ProtocolSetting(
        "monitor",
        "Classifier",
        "early-stopping metric (validation set)",
        "accuracy",
        code="valid_loss",
        parameter="early_stopping_metric",
    ),
    ProtocolSetting(
        "batch_rule",
        "Classifier",
        "batch size by training-set size N (real + synthetic)",
        "N ≥ 1000: 64, N ≥ 100: 32, else 8",
        source=AUTHORS_CODE,
    ),
    ProtocolSetting(
        "restore_best", "Classifier", "best epoch's weights restored after training", False, source=AUTHORS_CODE
    ),
    ProtocolSetting("seeds", "Classifier", "runs (seeds) per setting", 5, why=_CPU),
    # experiments
    ProtocolSetting(
        "fig3_methods", "Experiments", "Fig. 3: synthetic sources", ("inpaint", "in-then-outpaint", "text-to-image")
    ),
    ProtocolSetting(
        "fig3_transforms", "Experiments", "Fig. 3: image transforms (aug_transforms) off / on", (False, True)
    ),
    ProtocolSetting("fig4_n_real", "Experiments", "Fig. 4: real images per label", (16, 32, 64), why=_CPU),
    ProtocolSetting(
        "fig4_ratios", "Experiments", "Fig. 4: text-to-image images per real image", (0, 10, 25, 50, 75), why=_CPU
    ),
    ProtocolSetting(
        "fig4_batch_rule",
        "Experiments",
        "Fig. 4 (dose-response script): batch size by N",
        "N ≥ 5000: 128, N ≥ 1000: 64, N ≥ 100: 32, else 8",
        source=AUTHORS_CODE,
    ),
    ProtocolSetting(
        "fig4_restore_best",
        "Experiments",
        "Fig. 4 (dose-response script): best epoch's weights restored",
        True,
        source=AUTHORS_CODE,
    ),
    ProtocolSetting("fig5_methods", "Experiments", "Fig. 5: synthetic sources", ("inpaint", "in-then-outpaint")),
    ProtocolSetting("imbalance_n_real", "Experiments", "Fig. S-2: images per label", 200, why=_CPU),
    ProtocolSetting("imbalance_cuts", "Experiments", "Fig. S-2: rare label cut to", (25, 50, 100), why=_CPU),
    ProtocolSetting(
        "imbalance_method",
        "Experiments",
        "Fig. S-2: synthetic source of the rare label (the paper does not name it)",
        "inpaint",
        source=PROJECT,
    ),
    ProtocolSetting(
        "embedding_model",
        "Experiments",
        "Fig. 2: image embeddings",
        "open_clip:ViT-B-32/openai",
        why="no CLIP weights offline: the demo classifier's frozen backbone embeds the images",
    ),
    # statistics: the profile's column describes the code that computes each one
    ProtocolSetting("error_bars", "Statistics", "error bars", "95% Wald interval", described=True),
    ProtocolSetting(
        "paper_test",
        "Statistics",
        "the paper's test, with vs without synthetic (each results chapter's two-analysis table)",
        "two-sample proportion test comparing mean accuracy with and without synthetic data, BH-adjusted",
        code=_NO_STATS,
        described=True,
    ),
    ProtocolSetting(
        "primary",
        "Statistics",
        "primary analysis: gain, its 95% interval and p-value",
        "paired accuracy difference, crossed seeds x test images random effects, Satterthwaite t",
        code=_NO_STATS,
        source=PROJECT,
        described=True,
        departs="an analysis the paper does not have: its test leaves out run-to-run variance and the pairing of "
        "the arms on each test image (see Why this primary analysis, below)",
    ),
    ProtocolSetting(
        "stars",
        "Statistics",
        "figure stars",
        "* p<0.05, ** p<0.01, *** p<0.001 on the BH-adjusted proportion tests",
        code=_NO_STATS,
        described=True,
        departs="the figures' stars are those of the primary analysis' p-values, BH-adjusted over each figure's "
        "comparisons, so that a star never sits on an interval that contains 0; the paper's stars stay in "
        "each results chapter's two-analysis table",
    ),
    ProtocolSetting(
        "large_n",
        "Statistics",
        "differences at large n",
        "95% bootstrap interval",
        code=_NO_STATS,
        described=True,
        departs="every comparison's interval is the primary analysis', from the same standard error as its p-value",
    ),
)

# Why the results chapters' primary analysis is the crossed seeds x test images model (the Methods page
# states it beside the function's own notes for fewer than three seeds and the level-and-power benchmark).
PRIMARY_ANALYSIS_WHY = (
    "Every arm of a comparison is trained once per seed and scored on the same test images, so a gain carries two "
    "kinds of noise: the run's (each trained model's own luck and, in the paper, each seed's training subset) and the "
    "test images'. A logistic GEE clustered by test image (this project's former primary test) conditions on the "
    "seeds: "
    "run-to-run variance is not in its p-value, so with a few seeds it finds gains that a rerun would not. The crossed "
    "random-effects model puts both in one standard error, and it keeps the pairing of the two arms on each test "
    "image, "
    "which a test of two independent proportions (the paper's) throws away. Its interval and its p-value come from the "
    "same estimate, so a star never sits on an interval that contains 0."
)
