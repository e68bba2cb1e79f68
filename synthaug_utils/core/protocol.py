"""The paper's protocol, setting by setting: the protocol's value and who states it, the authors' code's
value where it differs, and why a profile deviates. A row of a setting the pipeline reads (:func:`_row`)
takes its value, source and whys from the settings source (:mod:`synthaug_utils.core.profiles`), so they
agree with what a build runs; the other rows (described code, the figures' grids) are typed here. The
book's Methods page is generated from this table and the profile of the build
(:mod:`synthaug_utils.presentation.methods`), so no protocol value is typed in a page.

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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from synthaug_utils.core import profiles
from synthaug_utils.core.profiles import AUTHORS_CODE, PROJECT, SOURCES
from synthaug_utils.core.profiles import PAPER_TEXT as PAPER

__all__ = ["AUTHORS_CODE", "PAPER", "PRIMARY_ANALYSIS_WHY", "PROJECT", "PROTOCOL", "SOURCES", "ProtocolSetting"]


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
    whys: Mapping[str, str] = field(default_factory=dict)  # profile name -> why it differs (over ``why``)

    def why_on(self, profile: str) -> str:
        """Why ``profile`` differs from the protocol's value here."""
        return self.whys.get(profile) or self.why


_CPU, _TOY, _WORLD, _DEMO_MODEL, _FAST = profiles.CPU, profiles.TOY, profiles.WORLD, profiles.DEMO_MODEL, profiles.FAST


def _row(key: str, section: str, setting: str, ref: str, **more: Any) -> ProtocolSetting:
    """The row of the settings source's setting ``ref`` (``stage.name``): the paper's text value where the
    paper profile follows the authors' code instead (which is then ``code``), the source, and each embedded
    profile's why."""
    stage, name = ref.split(".")
    paper = profiles.PAPER[stage][name]
    whys = {p: profiles.why(p, stage, name) for p in ("demo", "smoke")}
    values = (
        dict(value=paper.text, code=paper.value, source=PAPER)
        if paper.text is not None
        else dict(value=paper.value, source=paper.source)
    )
    # A demo value that differs only through its grids (no change of its own in the source) is there for the
    # demo book's time budget; the smoke profile's reasons are its own and never stand in for the demo's.
    more.setdefault("why", whys["demo"] or _CPU)
    return ProtocolSetting(key, section, setting, **values, whys=whys, **more)


_NO_STATS = "none (the authors' code has no statistics)"

PROTOCOL: tuple[ProtocolSetting, ...] = (
    # data
    _row("dataset", "Data", "main dataset", "profile.dataset"),
    ProtocolSetting("labels", "Data", "labels (classes)", 9, why=_WORLD),
    ProtocolSetting("test_per_label", "Data", "test images per label", 40, why=_WORLD),
    _row(
        "val_per_label", "Data", "validation images per label (drawn from the training pool)", "profile.val_per_label"
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
    _row("n_real_grid", "Data", "real training images per label (n)", "profile.n_real_grid"),
    ProtocolSetting(
        "nested",
        "Data",
        "training subsets nested per seed (the code that draws them)",
        "the n-image subset holds the smaller ones",
        source=PROJECT,
        described=True,
    ),
    _row("ddi_dataset", "Data", "skin-type dataset", "profile.ddi_dataset"),
    _row("ddi_per_bin", "Data", "DDI test (and validation) images per skin-tone bin", "profile.ddi_per_bin"),
    # generation
    ProtocolSetting(
        "text2image_model", "Generation", "text-to-image model", "stable-diffusion-2-1-base", why=_DEMO_MODEL
    ),
    ProtocolSetting("inpaint_model", "Generation", "inpainting model", "stable-diffusion-inpainting", why=_DEMO_MODEL),
    ProtocolSetting("scheduler", "Generation", "sampler", "DPMSolverMultistep", source=AUTHORS_CODE),
    _row("gen_steps", "Generation", "sampling steps", "generation.steps"),
    _row("guidance_scale", "Generation", "guidance scale", "generation.guidance_scale"),
    _row("gen_resolution", "Generation", "generation size (px)", "generation.resolution"),
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
    _row(
        "mask_side_fraction",
        "Generation",
        "inpaint mask: side of the centred square / image side",
        "generation.mask_side_fraction",
    ),
    _row("strength_inpaint", "Generation", "inpainting strength", "generation.strength_inpaint"),
    _row(
        "outpaint_frame",
        "Generation",
        "outpaint mask: unmasked outer frame (px at 512, scaled to the generation size); "
        "the paper: an exact complement of the inpainting mask",
        "generation.frame_px_at_512",
        parameter="grids.generation.frame_px_at_512",
    ),
    _row("strength_outpaint", "Generation", "outpainting strength", "generation.strength_outpaint"),
    _row("paste_unmasked", "Generation", "source pixels pasted back outside the mask", "generation.paste_unmasked"),
    _row("precision", "Generation", "generation precision", "generation.precision"),
    _row("synthetic_per_real", "Generation", "synthetic images per real image", "profile.synthetic_per_real"),
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
    _row("db_resolution", "DreamBooth", "fine-tuning size (px)", "dreambooth.resolution"),
    _row("db_batch_size", "DreamBooth", "batch size", "dreambooth.batch_size"),
    _row("db_learning_rate", "DreamBooth", "learning rate (constant, no warm-up)", "dreambooth.learning_rate"),
    _row("db_epochs", "DreamBooth", "epochs per class model", "dreambooth.epochs"),
    _row("db_ddi_epochs", "DreamBooth", "epochs of the DDI model", "profile.dreambooth_ddi_epochs"),
    _row("db_weight_decay", "DreamBooth", "AdamW weight decay", "dreambooth.weight_decay"),
    _row("db_grad_clip", "DreamBooth", "gradient-norm clip", "dreambooth.max_grad_norm"),
    _row("db_prior", "DreamBooth", "prior preservation", "dreambooth.prior_preservation"),
    _row("db_text_encoder", "DreamBooth", "text encoder trained", "dreambooth.train_text_encoder"),
    _row(
        "include_validation",
        "DreamBooth",
        "training images include the class's validation images (never test images)",
        "dreambooth.include_validation",
        parameter="grids.dreambooth.include_validation",
    ),
    _row("db_crop_scale", "DreamBooth", "augmentation: random resized crop, scale", "dreambooth.crop_scale"),
    _row("db_crop_ratio", "DreamBooth", "augmentation: random resized crop, aspect ratio", "dreambooth.crop_ratio"),
    _row(
        "db_color_jitter",
        "DreamBooth",
        "augmentation: colour jitter (brightness, contrast, saturation, hue)",
        "dreambooth.color_jitter",
    ),
    _row("db_hflip", "DreamBooth", "augmentation: random horizontal flip", "dreambooth.hflip"),
    ProtocolSetting(
        "db_masks",
        "DreamBooth",
        "inpainting variant: training masks (the code that draws them)",
        "a random rectangle or ellipse per image",
        source=AUTHORS_CODE,
        described=True,
    ),
    _row(
        "variant",
        "DreamBooth",
        "generator variant of the results grids",
        "grids.variant",
        why=(
            "the embedded grids use the pretrained demo generator (fine-tuning every class costs CPU minutes per build)"
        ),
    ),
    # classifier
    _row("arch", "Classifier", "backbone (ImageNet weights)", "profile.arch"),
    _row("image_size", "Classifier", "input size (px)", "profile.image_size"),
    _row("mode", "Classifier", "training mode", "classifier.mode", why=_FAST),
    ProtocolSetting(
        "trainable",
        "Classifier",
        "layers that train (fit, not fine_tune: the pretrained body stays frozen)",
        ("head", "BatchNorm layers"),
        source=AUTHORS_CODE,
        why=_FAST,
    ),
    _row("lr", "Classifier", "learning rate (Adam)", "classifier.lr"),
    _row("wd", "Classifier", "weight decay", "classifier.wd"),
    _row("max_epochs", "Classifier", "maximum epochs", "profile.max_epochs", parameter="max_epochs"),
    _row("patience", "Classifier", "early-stopping patience (epochs)", "profile.patience"),
    _row(
        "monitor",
        "Classifier",
        "early-stopping metric (validation set)",
        "profile.early_stopping_metric",
        parameter="early_stopping_metric",
    ),
    ProtocolSetting(
        "batch_rule",
        "Classifier",
        "batch size by training-set size N (real + synthetic)",
        "N ≥ 1000: 64, N ≥ 100: 32, else 8",
        source=AUTHORS_CODE,
    ),
    _row("restore_best", "Classifier", "best epoch's weights restored after training", "classifier.restore_best"),
    ProtocolSetting("seeds", "Classifier", "runs (seeds) per setting", 5, why=_CPU),
    # experiments
    _row("fig3_methods", "Experiments", "Fig. 3: synthetic sources", "fig3.methods"),
    _row("fig3_transforms", "Experiments", "Fig. 3: image transforms (aug_transforms) off / on", "grids.transforms"),
    _row("fig4_n_real", "Experiments", "Fig. 4: real images per label", "fig4.n_real", why=_CPU),
    _row("fig4_ratios", "Experiments", "Fig. 4: text-to-image images per real image", "fig4.ratios", why=_CPU),
    ProtocolSetting(
        "fig4_batch_rule",
        "Experiments",
        "Fig. 4 (dose-response script): batch size by N",
        "N ≥ 5000: 128, N ≥ 1000: 64, N ≥ 100: 32, else 8",
        source=AUTHORS_CODE,
    ),
    _row(
        "fig4_restore_best",
        "Experiments",
        "Fig. 4 (dose-response script): best epoch's weights restored",
        "fig4.restore_best",
    ),
    _row("fig5_methods", "Experiments", "Fig. 5: synthetic sources", "fig5.methods"),
    _row("imbalance_n_real", "Experiments", "Fig. S-2: images per label", "imbalance.n_real", why=_CPU),
    _row("imbalance_cuts", "Experiments", "Fig. S-2: rare label cut to", "imbalance.cuts", why=_CPU),
    _row(
        "imbalance_method",
        "Experiments",
        "Fig. S-2: synthetic source of the rare label (the paper does not name it)",
        "imbalance.method",
    ),
    _row("embedding_model", "Experiments", "Fig. 2: image embeddings", "profile.embedding_model"),
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
    "test images'. A logistic GEE clustered by test image conditions on the seeds: "
    "run-to-run variance is not in its p-value, so with a few seeds it finds gains that a rerun would not. The crossed "
    "random-effects model puts both in one standard error, and it keeps the pairing of the two arms on each test "
    "image, "
    "which a test of two independent proportions (the paper's) throws away. Its interval and its p-value come from the "
    "same estimate, so a star never sits on an interval that contains 0."
)
