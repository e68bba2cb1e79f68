"""Model resolution above the code it calls: ``demo://`` ids (pretraining the demo generator on
demand) and DreamBooth models (fine-tuning on demand).

Everything below this module only *locates* models
(:func:`synthaug_utils.diffusion.pipelines.locate_model`, which never trains); the synthetic-set
stage resolves through here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from synthaug_utils.core.config import load_profile, Profile
from synthaug_utils.core.files import folder_lock
from synthaug_utils.diffusion.dreambooth import _is_ddi, dreambooth_dir, dreambooth_settings, finetune, training_images
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


def model_resolver(profile: Profile, splits, which: str, progress: bool = True) -> tuple[ModelResolver, Callable[[Mapping[str, Any]], str]]:
    """The (resolver, model_group) pair for a profile: pretrained -> the profile's models;
    dreambooth -> per-class fine-tuned models (one 'all' model for DDI), trained on demand."""
    per_class = which != "ddi"

    def group(row: Mapping[str, Any]) -> str:
        return str(row["label"]) if per_class else "all"

    def resolve(variant: str, kind: str, grp: str) -> tuple[str, Path]:
        base = base_model_id(profile, kind)
        if variant == "pretrained":
            return base, model_folder(base, profile)
        folder = ensure_dreambooth_model(profile, kind, grp, splits, progress=progress)
        return f"{base}+dreambooth:{splits.dataset}/{slug(grp)}", folder

    return resolve, group


# ----------------------------------------------------------------------------- resolving demo:// ids
def is_demo_model(model_id: str) -> bool:
    """True for ``demo://...`` model ids."""
    return str(model_id).startswith("demo://")


def resolve_demo_model(model_id: str, profile: Profile | str | None = None, allow_pretrain: bool = True) -> Path:
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

        profile = load_profile(profile or "demo") if not isinstance(profile, Profile) else profile
        pretrain_demo_generator(profile, folder.parent)
    return folder

def finetune_for_profile(profile: Profile | str, kind: str, group: str, splits, out: str | Path, progress: bool = True) -> Path:
    """Fine-tune the profile's base model of ``kind`` on ``group``'s training images into ``out``."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    settings = dreambooth_settings(profile, ddi=_is_ddi(splits, profile))
    images = training_images(splits, group)
    return finetune(base_model_id(profile, kind), kind, images, out, settings, splits, profile,
                    base_text2image=profile.text2image_model, progress=progress, locate=model_folder)


def ensure_dreambooth_model(profile: Profile | str, kind: str, group: str, splits, progress: bool = True) -> Path:
    """The cached fine-tuned model for (kind, group), fine-tuning it first if absent (idempotent)."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    settings = dreambooth_settings(profile, ddi=_is_ddi(splits, profile))
    out = dreambooth_dir(profile, kind, group, splits, settings)
    if (out / "dreambooth.json").is_file():
        return out
    with folder_lock(out.parent):
        if (out / "dreambooth.json").is_file():
            return out
        images = training_images(splits, group)
        return finetune(base_model_id(profile, kind), kind, images, out, settings, splits, profile,
                        base_text2image=profile.text2image_model, progress=progress, locate=model_folder)
