"""Chapter 02's computed sentences (the generator): where the profile's generator comes from, where its
settings depart from the paper's, whether the samples pass the class-identity gate and whether the masked
methods leave a seam. The other chapters' are in :mod:`synthaug_utils.presentation.prose`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.analysis.class_identity import GATE_MIN_CLASS, GATE_MIN_POOLED, classes_below
from synthaug_utils.core.config import Profile, load_profile
from synthaug_utils.core.vocabulary import VARIANTS
from synthaug_utils.diffusion.pipelines import model_label


# ----------------------------------------------------------------------------- chapter 02: the generator
def generator_sentence(profile: Profile, demo_meta: Mapping[str, Any]) -> str:
    """One sentence on where the profile's generator comes from: the demo model's pretraining record
    (``demo_meta``: its ``synthaug_demo.json``), or the Stable Diffusion folders of a real profile."""
    if profile.is_embedded:
        return (
            "On the embedded profiles the generator (autoencoder, text encoder with its own tokenizer, conditional "
            "UNets for text-to-image and for inpainting) was pretrained by `synthaug pretrain-generator` on "
            f"{int(demo_meta.get('pretrain_images', 0))} images of the world's pretraining pool in "
            f"{float(demo_meta.get('seconds', 0)) / 60:.1f} minutes; its autoencoder reconstructs images to a mean "
            f"absolute error of {float(demo_meta.get('vae_l1_grey_levels', float('nan'))):.1f} grey levels (of 255)."
        )
    return (
        f"On this profile the generators are Stable Diffusion pipelines loaded offline with diffusers: "
        f"{model_label(profile.text2image_model)} (text-to-image) and {model_label(profile.inpaint_model)} "
        "(inpainting, 9-channel UNet), with the DPM-Solver multistep scheduler and no safety checker."
    )


def departures_sentence(chapter) -> str:
    """Where the profile's generation settings depart from the paper's, and why (``gen_departures``;
    ``chapter``: :class:`~synthaug_utils.analysis.generation_report.GenerationChapter`)."""
    from synthaug_utils.diffusion.dreambooth import dreambooth_settings

    P, settings, paper = chapter.profile, chapter.settings, chapter.paper_settings
    db, paper_db = dreambooth_settings(P), dreambooth_settings(load_profile("paper"))
    if P.is_embedded:
        return (
            f"Where the {P.name} profile departs from the paper's settings, and why: guidance "
            f"{settings.guidance_scale} "
            f"instead of {paper.guidance_scale}, because the small model follows its prompt weakly (the quality gate "
            f"below scores samples made at both); {settings.steps} sampling steps instead of {paper.steps} and "
            f"{settings.resolution} px instead of {paper.resolution}, for CPU time; DreamBooth for {db.epochs} "
            "epoch(s) "
            f"at learning rate {db.learning_rate:g} (paper: {paper_db.epochs} epochs at {paper_db.learning_rate:g}), "
            "because the model is tiny and the book must build in minutes."
        )
    pairs = [
        ("guidance", settings.guidance_scale, paper.guidance_scale, ""),
        ("sampling steps", settings.steps, paper.steps, ""),
        ("resolution", settings.resolution, paper.resolution, " px"),
        ("DreamBooth epochs", db.epochs, paper_db.epochs, ""),
        ("DreamBooth learning rate", f"{db.learning_rate:g}", f"{paper_db.learning_rate:g}", ""),
    ]
    changed = [f"{what} {mine}{unit} instead of {theirs}{unit}" for what, mine, theirs, unit in pairs if mine != theirs]
    if db.max_steps is not None and db.max_steps != paper_db.max_steps:
        changed.append(f"DreamBooth capped at {db.max_steps} optimiser step(s)")
    if not changed:
        return f"The {P.name} profile samples with the paper's settings."
    return f"Where this build departs from the paper's settings (its config's overrides): {'; '.join(changed)}."


def seam_sentences(seams: pd.DataFrame) -> dict[str, str]:
    """``seam_max`` (the largest seam ratio, its method and variant) and ``seam_verdict`` (whether every
    masked method stays within :data:`~synthaug_utils.diffusion.measure.SEAM_LIMIT`); ``seams``: the table of
    :func:`~synthaug_utils.analysis.generation_report.seam_report`."""
    from synthaug_utils.diffusion.measure import SEAM_LIMIT

    if not len(seams):
        return {"seam_max": "n/a", "seam_verdict": "not measured"}
    worst = seams.loc[seams.seam_ratio.idxmax()]
    verdict = (
        f"every masked method stays within {SEAM_LIMIT:g}x real skin's contrast across the border"
        if worst.seam_ratio <= SEAM_LIMIT
        else f"{(seams.seam_ratio > SEAM_LIMIT).sum()} method/variant pair(s) exceed {SEAM_LIMIT:g}x: a visible seam"
    )
    return {"seam_max": f"{worst.seam_ratio:.2f} ({worst.method}, {worst.variant})", "seam_verdict": verdict}


# ----------------------------------------------------------------------------- chapter 02: the class-identity gate
def gate_verdict(per_class: pd.DataFrame, group: str, chance: float) -> str:
    """One sentence on whether every class of ``group`` is above twice ``chance``, naming the
    classes that are not, with their accuracies (for the book's prose)."""
    below = classes_below(per_class, group, 2 * chance)
    if not below:
        return f"every class is above twice chance ({2 * chance:.1%})"
    acc = per_class[per_class.group == group].set_index("label").accuracy
    named = ", ".join(f"{label} {acc[label]:.0%}" for label in below)
    return (
        f"{len(below)} class{'es are' if len(below) > 1 else ' is'} at or below twice chance ({2 * chance:.1%}): "
        f"{named}"
    )


def gate_check(
    per_class: pd.DataFrame, group: str, min_class: float = GATE_MIN_CLASS, min_pooled: float = GATE_MIN_POOLED
) -> tuple[bool, str]:
    """Whether ``group``'s samples meet the gate: every class at least ``min_class`` and the pooled
    share (weighted by images) at least ``min_pooled`` (shares, 0-1). Returns (met, one sentence for
    the book naming the weakest class, the pooled share and any class below the line)."""
    part = per_class[(per_class.group == group) & (per_class.n > 0)]
    if part.empty:
        return False, f"not measured: no samples in {group!r}"
    pooled = float(np.average(part.accuracy, weights=part.n))
    weakest = part.sort_values(["accuracy", "label"]).iloc[0]
    below = classes_below(part[part.accuracy < min_class], group, min_class)
    met = not below and pooled >= min_pooled
    facts = (
        f"weakest class {weakest.label} {weakest.accuracy:.0%} (line: {min_class:.0%}), "
        f"pooled {pooled:.1%} (line: {min_pooled:.0%})"
    )
    if met:
        return True, f"the gate is met: {facts}"
    why = (
        [f"{len(below)} class{'es' if len(below) > 1 else ''} below {min_class:.0%} ({', '.join(below)})"]
        if below
        else []
    )
    why += [f"pooled share below {min_pooled:.0%}"] if pooled < min_pooled else []
    return False, f"the gate is not met ({'; '.join(why)}): {facts}"


def gate_sentences(gate: pd.DataFrame, chance: float) -> dict[str, str]:
    """``gate_real_t2i_<variant>_met`` and ``_verdict`` for each generator variant: whether its text-to-image
    samples meet the gate (:func:`gate_check`) and which classes are at or below twice ``chance``
    (:func:`gate_verdict`), judged by the classifier trained on real images (``gate``: per-class rows of
    :func:`~synthaug_utils.analysis.class_identity.class_identity_gate`)."""
    rows = gate[gate.classifier == "trained on real images"]
    out = {}
    for v in VARIANTS:
        out[f"gate_real_t2i_{v}_met"] = gate_check(rows, f"text-to-image, {v}")[1]
        out[f"gate_real_t2i_{v}_verdict"] = gate_verdict(rows, f"text-to-image, {v}", chance)
    return out
