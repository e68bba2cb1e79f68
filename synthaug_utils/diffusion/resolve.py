"""Model resolution above the code it calls: ``demo://`` ids (pretraining the demo generator on
demand) and DreamBooth models (fine-tuning on demand).

Everything below this module only *locates* models
(:func:`synthaug_utils.diffusion.pipelines.locate_model`, which never trains); the synthetic-set
stage resolves through here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.files import folder_lock
from synthaug_utils.core.vocabulary import BUDGET_STEPS_VARIANT, BUDGET_VARIANTS
from synthaug_utils.data.splits import dataset_which
from synthaug_utils.diffusion.dreambooth import (
    dreambooth_dir,
    dreambooth_settings,
    finetune,
    optimiser_steps,
    step_matched,
    training_images,
)
from synthaug_utils.diffusion.pipelines import locate_demo_model, locate_model
from synthaug_utils.diffusion.prompts import slug
from synthaug_utils.diffusion.settings import base_model_id


def model_folder(model_id: str, profile: Profile | None = None) -> Path:
    """The local folder holding ``model_id``: a ``demo://`` id (pretrained first when it is neither
    shipped nor cached), a local folder, or a hub id in the HF cache.

    Raises MissingModelError naming the model and how to supply it.
    """
    if str(model_id).startswith("demo://"):
        return resolve_demo_model(str(model_id), profile)
    return locate_model(model_id, profile)


# ----------------------------------------------------------------------------- running
ModelResolver = Callable[[str, str, str], tuple[str, Path]]
"""(variant, kind, group) -> (model id for the manifest, local pipeline folder)."""


def images_key(images: pd.DataFrame) -> str:
    """Short hash of a set of image ids (names a model fine-tuned on exactly those images)."""
    return hashlib.sha256("|".join(sorted(map(str, images.image_id))).encode()).hexdigest()[:8]


def model_resolver(
    profile: Profile, splits, which: str, progress: bool = True, own_images: pd.DataFrame | None = None
) -> tuple[ModelResolver, Callable[[Mapping[str, Any]], str]]:
    """The (resolver, model_group) pair for a profile: pretrained -> the profile's models;
    dreambooth -> per-class fine-tuned models (one 'all' model for DDI) on the class's training pool;
    ``dreambooth-own`` (the generator-data-budget control) -> the same, fine-tuned on ``own_images``
    only (the trial's own real images of the class); ``dreambooth-own-steps`` -> on ``own_images`` for
    as many optimiser steps as the group's whole-pool model (:func:`pool_steps`); all trained on demand."""
    per_class = which != "ddi"

    def group(row: Mapping[str, Any]) -> str:
        return str(row["label"]) if per_class else "all"

    def resolve(variant: str, kind: str, grp: str) -> tuple[str, Path]:
        base = base_model_id(profile, kind)
        if variant == "pretrained":
            return base, model_folder(base, profile)
        if variant in BUDGET_VARIANTS:
            if own_images is None:
                raise UserFacingError(f"variant {variant!r} needs the trial's own real images (own_images)")
            images = own_images if grp == "all" else own_images[own_images.label == grp]
            steps = pool_steps(profile, grp, splits) if variant == BUDGET_STEPS_VARIANT else None
            folder = ensure_dreambooth_model(profile, kind, grp, splits, progress=progress, images=images, steps=steps)
            return f"{base}+{variant}:{splits.dataset}/{slug(grp)}-{images_key(images)}", folder
        folder = ensure_dreambooth_model(profile, kind, grp, splits, progress=progress)
        return f"{base}+dreambooth:{splits.dataset}/{slug(grp)}", folder

    return resolve, group


# ----------------------------------------------------------------------------- resolving demo:// ids
def resolve_demo_model(model_id: str, profile: Profile | None = None, allow_pretrain: bool = True) -> Path:
    """The local folder for a ``demo://`` model id.

    Shipped weights (``synthaug_utils/resources/demo_ldm/<kind>``) win; otherwise the
    model pretrained for the profile's world in the cache
    (``cache_dir()/models/demo_ldm/<world key>/<kind>``), pretraining it first when
    ``allow_pretrain``.
    """
    if not allow_pretrain:
        return locate_demo_model(model_id, profile)
    folder = locate_demo_model(model_id, profile, missing_ok=True)
    if not (folder / "model_index.json").is_file():
        from synthaug_utils.diffusion.demo_pretrain import pretrain_demo_generator  # torch: only when pretraining

        pretrain_demo_generator(profile, folder.parent)
    return folder


def finetune_for_profile(
    profile: Profile, kind: str, group: str, splits, out: str | Path, progress: bool = True
) -> Path:
    """Fine-tune the profile's base model of ``kind`` on ``group``'s training images into ``out``."""
    settings = _dreambooth_settings(profile, splits)
    images = training_images(splits, group, settings.include_validation)
    return _finetune(profile, kind, images, out, settings, splits, progress)


def _dreambooth_settings(profile: Profile, splits):
    """The profile's DreamBooth settings for the dataset of ``splits`` (DDI's own for DDI)."""
    return dreambooth_settings(profile, ddi=dataset_which(profile, splits.dataset) == "ddi")


def _finetune(profile: Profile, kind: str, images: pd.DataFrame, out: Path, settings, splits, progress: bool) -> Path:
    """Fine-tune the profile's base model of ``kind`` on ``images`` into ``out``."""
    return finetune(
        base_model_id(profile, kind),
        kind,
        images,
        out,
        settings,
        splits,
        profile,
        base_text2image=profile.text2image_model,
        progress=progress,
        locate=model_folder,
    )


def pool_steps(profile: Profile, group: str, splits) -> int:
    """Optimiser steps of ``group``'s whole-pool DreamBooth model (its training images, validation
    images included where the profile's settings include them)."""
    settings = _dreambooth_settings(profile, splits)
    return optimiser_steps(settings, len(training_images(splits, group, settings.include_validation)))


def ensure_dreambooth_model(
    profile: Profile,
    kind: str,
    group: str,
    splits,
    progress: bool = True,
    images: pd.DataFrame | None = None,
    steps: int | None = None,
) -> Path:
    """The cached fine-tuned model for (kind, group), fine-tuning it first if absent (idempotent).

    ``images``: fine-tune on these training images only (the generator-data-budget control; the
    folder name then carries their :func:`images_key`) instead of the group's whole training pool.
    ``steps`` (with ``images``): exactly this many optimiser steps of full batches
    (:func:`~synthaug_utils.diffusion.dreambooth.step_matched`; the settings' key names the folder)."""
    settings = _dreambooth_settings(profile, splits)
    if images is not None and not len(images):
        raise UserFacingError(f"no own training images for DreamBooth group {group!r}")
    if steps is not None:
        if images is None:
            raise UserFacingError("a step-matched DreamBooth model needs its own training images (images)")
        settings = step_matched(settings, len(images), steps)
    out = dreambooth_dir(
        profile, kind, group if images is None else f"{group}-own{images_key(images)}", splits, settings
    )
    if (out / "dreambooth.json").is_file():
        return out
    with folder_lock(out.parent):
        if (out / "dreambooth.json").is_file():
            return out
        images = (
            training_images(splits, group, settings.include_validation)
            if images is None
            else images.reset_index(drop=True)
        )
        return _finetune(profile, kind, images, out, settings, splits, progress)
