"""Synthetic sets per profile: folder names and ``ensure_synthetic_set``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from synthaug_utils.core.config import Profile, load_profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.paths import cache_dir
from synthaug_utils.core.vocabulary import BUDGET_VARIANTS, GENERATOR_VARIANTS, METHODS
from synthaug_utils.diffusion.resolve import images_key, model_resolver
from synthaug_utils.diffusion.settings import GenerationSettings, generation_settings
from synthaug_utils.synthetic.generate import generate


# ----------------------------------------------------------------------------- experiment entry point
def _which(profile: Profile, splits, sources: pd.DataFrame) -> str:
    """'ddi' or 'main': from the splits' dataset name, else from the source labels."""
    if splits is not None:
        return "ddi" if splits.dataset in (profile.ddi_dataset, "ddi", "demo-ddi") else "main"
    return "ddi" if set(sources.label) <= {"benign", "malignant"} else "main"


def synthetic_set_dir(
    profile: Profile, method: str, variant: str, dataset: str, split_seed: int, settings: GenerationSettings
) -> Path:
    """Default folder of a synthetic set:
    ``cache_dir()/synthetic/<world key or 'paper'>/<dataset>-split<seed>/<method>-<variant>-<settings key>``."""
    world = profile.world.key() if profile.world is not None else "paper"
    models = hashlib.sha256(f"{profile.text2image_model}|{profile.inpaint_model}".encode()).hexdigest()[:4]
    return (
        cache_dir()
        / "synthetic"
        / world
        / f"{dataset}-split{split_seed}"
        / f"{method}-{variant}-{settings.key()}{models}"
    )


def ensure_synthetic_set(
    profile: Profile | str,
    method: str,
    variant: str,
    sources: pd.DataFrame,
    per_real: int,
    out_dir: str | Path | None = None,
    splits=None,
    *,
    which: str | None = None,
    progress: bool = True,
    generate_fn=None,
) -> Path:
    """A folder whose ``manifest.csv`` lists at least ``per_real`` images of ``method``/``variant``
    for every source (generating only what is missing; idempotent, resumable).

    The manifest may list more (other sources or higher indices made by earlier calls):
    select rows with :func:`select_synthetic`. ``splits`` (loaded for split seed 0 when
    None) drives the leakage guard and, for the ``dreambooth`` variant, the training
    pool the per-class models are fine-tuned on (one model on every image for DDI). The
    ``dreambooth-own`` and ``dreambooth-own-steps`` variants (generator-data-budget control) fine-tune
    on ``sources`` only: pass a trial's whole real subset; its set folder is named by that subset.
    ``generate_fn`` replaces :func:`~synthaug_utils.synthetic.generate.generate` (same arguments),
    e.g. generation through a Dask executor.
    """
    profile = load_profile(profile) if isinstance(profile, str) else profile
    if method not in METHODS:
        raise UserFacingError(f"unknown method {method!r}; choose from {list(METHODS)}")
    if variant not in GENERATOR_VARIANTS:
        raise UserFacingError(f"unknown variant {variant!r}; choose from {list(GENERATOR_VARIANTS)}")
    which = which or _which(profile, splits, sources)
    if splits is None:
        from synthaug_utils.data.splits import load_splits

        splits = load_splits(profile, which)
    settings = generation_settings(profile)
    folder = (
        Path(out_dir)
        if out_dir is not None
        else synthetic_set_dir(profile, method, variant, splits.dataset, splits.split_seed, settings)
    )
    own = sources if variant in BUDGET_VARIANTS else None
    if own is not None and out_dir is None:  # the models see exactly these sources: one set per source set
        folder = folder.with_name(f"{folder.name}-own{images_key(own)}")
    resolve, group = model_resolver(profile, splits, which, progress, own_images=own)
    (generate_fn or generate)(
        sources, folder, [method], [variant], per_real, settings, profile, splits, resolve, group, progress
    )
    return folder
