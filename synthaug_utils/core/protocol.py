"""The paper's protocol, setting by setting: the paper's value, the authors' code's value where it
differs, and why the embedded profiles deviate. Typed once here (from the project's protocol notes and the
paper); the book's Methods page is generated from this table and the profile of the build
(:mod:`synthaug_utils.presentation.methods`), so no protocol value is typed in a page.

``paper`` and ``code`` are Python values compared with the profile's value as they are (tuples for
lists). ``code`` is None where the authors' code agrees with the paper (or the paper is silent and
the code fills the gap, in which case ``paper`` holds the code's value and ``source`` says so).
``why`` says why a profile other than ``paper`` may differ; it is shown only where the value does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProtocolSetting:
    """One setting of the paper's protocol (see the module docstring)."""

    key: str
    section: str
    setting: str
    paper: Any
    code: Any = None
    source: str = "paper"  # "paper", or "authors' code" where the paper is silent
    why: str = ""


_CPU = "the embedded profiles run on 2 CPU cores in minutes (the demo book's time budget)"
_TOY = "the smoke profile is a toy-size test of the code paths"
_WORLD = "the embedded stand-in world has its own sizes"
_DEMO_MODEL = "the demo generator is a small latent diffusion model trained by the project"

PROTOCOL: tuple[ProtocolSetting, ...] = (
    # data
    ProtocolSetting("dataset", "Data", "main dataset", "f17k9", why="no patient data ships with the project: the stand-in world carries the F17k-9 label names"),
    ProtocolSetting("labels", "Data", "labels (classes)", 9, why=_WORLD),
    ProtocolSetting("test_per_label", "Data", "test images per label", 40, why=_WORLD),
    ProtocolSetting("val_per_label", "Data", "validation images per label (drawn from the training pool)", 40, why=_TOY),
    ProtocolSetting("n_real_grid", "Data", "real training images per label (n)", (1, 16, 32, 64, 128, 228), why=_CPU),
    ProtocolSetting("nested", "Data", "training subsets nested per seed", True, source="the project's protocol; the paper does not say"),
    ProtocolSetting("ddi_dataset", "Data", "skin-type dataset", "ddi", why="DDI needs a data-use agreement; the stand-in world draws a DDI-like set"),
    ProtocolSetting("ddi_per_bin", "Data", "DDI test (and validation) images per skin-tone bin", 32, why=_TOY),
    # generation
    ProtocolSetting("text2image_model", "Generation", "text-to-image model", "stable-diffusion-2-1-base", why=_DEMO_MODEL),
    ProtocolSetting("inpaint_model", "Generation", "inpainting model", "stable-diffusion-inpainting", why=_DEMO_MODEL),
    ProtocolSetting("scheduler", "Generation", "sampler", "DPMSolverMultistep"),
    ProtocolSetting("gen_steps", "Generation", "sampling steps", 50, why="at 64 px the demo model's samples change little beyond about 10 steps; generation is the largest cost of a cold demo build"),
    ProtocolSetting("guidance_scale", "Generation", "guidance scale", 3.0, why="the demo model's text conditioning is weaker: at 3.0 a real-image classifier recognises fewer of its samples (chapter 02)"),
    ProtocolSetting("gen_resolution", "Generation", "generation size (px)", 512, why=_DEMO_MODEL + " at 64 px"),
    ProtocolSetting("prompt", "Generation", "prompt", "An image of {label}, a skin disease"),
    ProtocolSetting("mask_side_fraction", "Generation", "inpaint mask: side of the centred square / image side", 0.5),
    ProtocolSetting("strength_inpaint", "Generation", "inpainting strength", 0.97),
    ProtocolSetting("strength_outpaint", "Generation", "outpainting strength", 0.95),
    ProtocolSetting("paste_unmasked", "Generation", "source pixels pasted back outside the mask", False,
                    why="the minutes-pretrained demo model repaints the unmasked region; pasting restores the method's meaning"),
    ProtocolSetting("precision", "Generation", "generation precision", "fp16", why="CPU: bfloat16 where the CPU has native instructions, else float32"),
    ProtocolSetting("synthetic_per_real", "Generation", "synthetic images per real image", 10, why=_CPU),
    ProtocolSetting("image_seed", "Generation", "random seed of each synthetic image", "per (source, method, index)", code="one generator per run (batch-order dependent)"),
    # DreamBooth
    ProtocolSetting("db_resolution", "DreamBooth", "fine-tuning size (px)", 512, why=_DEMO_MODEL + " at 64 px"),
    ProtocolSetting("db_batch_size", "DreamBooth", "batch size", 4, why=_CPU),
    ProtocolSetting("db_learning_rate", "DreamBooth", "learning rate (constant, no warm-up)", 5e-6, why="chosen for the small demo generator (fine-tuning in seconds per class)"),
    ProtocolSetting("db_epochs", "DreamBooth", "epochs per class model", 4, why=_CPU),
    ProtocolSetting("db_ddi_epochs", "DreamBooth", "epochs of the DDI model", 25, why=_CPU),
    ProtocolSetting("db_weight_decay", "DreamBooth", "AdamW weight decay", 1e-2),
    ProtocolSetting("db_grad_clip", "DreamBooth", "gradient-norm clip", 1.0),
    ProtocolSetting("db_prior", "DreamBooth", "prior preservation", False),
    ProtocolSetting("db_text_encoder", "DreamBooth", "text encoder trained", False),
    ProtocolSetting("variant", "DreamBooth", "generator variant of the results grids", "dreambooth",
                    why="the embedded grids use the pretrained demo generator (fine-tuning every class costs CPU minutes per build)"),
    # classifier
    ProtocolSetting("arch", "Classifier", "backbone (ImageNet weights)", "efficientnet_v2_m", why="EfficientNet-Lite0 runs on the CPU in seconds per trial"),
    ProtocolSetting("image_size", "Classifier", "input size (px)", 224, why=_WORLD + " (64 px images)"),
    ProtocolSetting("mode", "Classifier", "training mode", "faithful",
                    why="fast mode trains the head on cached frozen-body features; chapter 03 measures what that costs"),
    ProtocolSetting("lr", "Classifier", "learning rate (Adam)", 1e-3),
    ProtocolSetting("wd", "Classifier", "weight decay", 0.01),
    ProtocolSetting("max_epochs", "Classifier", "maximum epochs", 30, code=50, why=_TOY),
    ProtocolSetting("patience", "Classifier", "early-stopping patience (epochs)", 3),
    ProtocolSetting("monitor", "Classifier", "early stopping monitors", "valid_accuracy", code="valid_loss"),
    ProtocolSetting("batch_rule", "Classifier", "batch size by training-set size N", "default"),
    ProtocolSetting("seeds", "Classifier", "runs (seeds) per setting", 5, why=_CPU),
    # experiments
    ProtocolSetting("fig3_methods", "Experiments", "Fig. 3: synthetic sources", ("inpaint", "in-then-outpaint", "text-to-image")),
    ProtocolSetting("fig3_transforms", "Experiments", "Fig. 3: image transforms (aug_transforms) off / on", (False, True)),
    ProtocolSetting("fig4_n_real", "Experiments", "Fig. 4: real images per label", (16, 32, 64), why=_CPU),
    ProtocolSetting("fig4_ratios", "Experiments", "Fig. 4: text-to-image images per real image", (0, 10, 25, 50, 75), why=_CPU),
    ProtocolSetting("fig5_methods", "Experiments", "Fig. 5: synthetic sources", ("inpaint", "in-then-outpaint")),
    ProtocolSetting("imbalance_n_real", "Experiments", "Fig. S-2: images per label", 200, why=_CPU),
    ProtocolSetting("imbalance_cuts", "Experiments", "Fig. S-2: rare label cut to", (25, 50, 100), why=_CPU),
    ProtocolSetting("embedding_model", "Experiments", "Fig. 2: image embeddings", "open_clip:ViT-B-32/openai",
                    why="no CLIP weights offline: the demo classifier's frozen backbone embeds the images"),
    # statistics
    ProtocolSetting("ci", "Statistics", "95% confidence intervals", "Wald", source="the project's protocol; the authors' code has no statistics"),
    ProtocolSetting("test", "Statistics", "with vs without synthetic", "two-sample proportion test, BH-adjusted per figure",
                    source="the project's protocol; the authors' code has no statistics"),
    ProtocolSetting("bootstrap", "Statistics", "differences at large n", "95% bootstrap interval", source="the project's protocol"),
)


def protocol_keys() -> list[str]:
    """Keys of :data:`PROTOCOL`, in order (each is unique)."""
    return [s.key for s in PROTOCOL]
