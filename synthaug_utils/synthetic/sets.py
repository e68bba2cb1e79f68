"""Synthetic sets per profile: folder names, ``ensure_synthetic_set`` and the authors' released images as a source.

A set is keyed by its dataset, method, variant, generation settings and models, and by the split seed only
where its images depend on the split (:func:`split_independent`): each source image's images are then
generated once and every validation redraw selects those of its own training subset."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import DataError, UserFacingError
from synthaug_utils.core.paths import cache_dir
from synthaug_utils.core.vocabulary import BUDGET_VARIANTS, GENERATOR_VARIANTS, METHODS
from synthaug_utils.data.splits import dataset_which
from synthaug_utils.diffusion.resolve import images_key, model_resolver
from synthaug_utils.diffusion.settings import GenerationSettings, generation_settings
from synthaug_utils.synthetic.generate import generate


# ----------------------------------------------------------------------------- experiment entry point
def _which(profile: Profile, splits, sources: pd.DataFrame) -> str:
    """'ddi' or 'main': from the splits' dataset name, else from the source labels."""
    if splits is not None:
        return dataset_which(profile, splits.dataset)
    return "ddi" if set(sources.label) <= {"benign", "malignant"} else "main"


def synthetic_set_dir(
    profile: Profile, method: str, variant: str, dataset: str, split_seed: int | None, settings: GenerationSettings
) -> Path:
    """Default folder of a synthetic set:
    ``cache_dir()/synthetic/<world key or 'paper'>/<dataset>-split<seed>/<method>-<variant>-<settings key>``,
    with ``<dataset>-all-splits`` when ``split_seed`` is None (a set whose images do not depend on the split)."""
    world = profile.world.key() if profile.world is not None else "paper"
    models = hashlib.sha256(f"{profile.text2image_model}|{profile.inpaint_model}".encode()).hexdigest()[:4]
    split = "all-splits" if split_seed is None else f"split{split_seed}"
    return cache_dir() / "synthetic" / world / f"{dataset}-{split}" / f"{method}-{variant}-{settings.key()}{models}"


def split_independent(profile: Profile, variant: str, which: str) -> bool:
    """Whether a source image's synthetic images are the same under every split seed.

    An image is a function of its source, method, variant, index, the generation settings and the
    model. The pretrained models never see the splits; a DreamBooth model trained on the whole
    training file (validation images included, ``include_validation``) is one model for every split
    of the main dataset. Such a set is generated once per source image and shared by every
    validation redraw; each run selects the images of its own training subset, and the leakage
    guard checks those (:func:`synthaug_utils.experiments.trial.synthetic_rows`).
    """
    if variant == "pretrained":
        return True
    if variant == "dreambooth" and which == "main":
        from synthaug_utils.diffusion.dreambooth import dreambooth_settings

        return bool(dreambooth_settings(profile).include_validation)
    return False


def synthetic_set_folder(
    profile: Profile,
    method: str,
    variant: str,
    sources: pd.DataFrame,
    splits,
    *,
    which: str | None = None,
    out_dir: str | Path | None = None,
) -> Path:
    """The folder that holds the ``method``/``variant`` set of ``sources`` (nothing is read or made):
    ``out_dir`` when given, else :func:`synthetic_set_dir` for the splits' dataset (shared by every split
    seed where :func:`split_independent`), suffixed by the sources' key for the generator-data-budget
    variants, whose models see exactly ``sources``."""
    if method not in METHODS:
        raise UserFacingError(f"unknown method {method!r}; choose from {list(METHODS)}")
    if variant not in GENERATOR_VARIANTS:
        raise UserFacingError(f"unknown variant {variant!r}; choose from {list(GENERATOR_VARIANTS)}")
    if out_dir is not None:
        return Path(out_dir)
    which = which or _which(profile, splits, sources)
    split_seed = None if split_independent(profile, variant, which) else splits.split_seed
    folder = synthetic_set_dir(profile, method, variant, splits.dataset, split_seed, generation_settings(profile))
    if variant in BUDGET_VARIANTS:  # the models see exactly these sources: one set per source set
        folder = folder.with_name(f"{folder.name}-own{images_key(sources)}")
    return folder


def ensure_synthetic_set(
    profile: Profile,
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
    """A folder (:func:`synthetic_set_folder`) whose ``manifest.csv`` lists at least ``per_real`` images of
    ``method``/``variant`` for every source (generating only what is missing; idempotent, resumable).

    The manifest may list more (other sources or higher indices made by earlier calls):
    select rows with :func:`select_synthetic`. ``splits`` (loaded for split seed 0 when
    None) drives the leakage guard and, for the ``dreambooth`` variant, the training
    pool the per-class models are fine-tuned on (one model on every image for DDI). The
    ``dreambooth-own`` and ``dreambooth-own-steps`` variants (generator-data-budget control) fine-tune
    on ``sources`` only: pass a trial's whole real subset; its set folder is named by that subset.
    ``generate_fn`` replaces :func:`~synthaug_utils.synthetic.generate.generate` (same arguments),
    e.g. generation through a Dask executor.
    """
    which = which or _which(profile, splits, sources)
    if splits is None:
        from synthaug_utils.data.splits import load_splits

        splits = load_splits(profile, which)
    folder = synthetic_set_folder(profile, method, variant, sources, splits, which=which, out_dir=out_dir)
    own = sources if variant in BUDGET_VARIANTS else None
    resolve, group = model_resolver(profile, splits, which, progress, own_images=own)
    settings = generation_settings(profile)
    (generate_fn or generate)(
        sources, folder, [method], [variant], per_real, settings, profile, splits, resolve, group, progress
    )
    return folder


# ----------------------------------------------------------------------------- the authors' released images
RELEASED_LOCATION = "released_synthetic"
_RELEASED_DONE = "released.json"


def released_serves(profile: Profile, method: str | None, variant: str | None) -> bool:
    """Whether the profile takes ``method``/``variant`` images from the authors' release (location
    ``released_synthetic`` set; pretrained and DreamBooth images of text-to-image, inpaint and
    in-then-outpaint). Other arms (outpaint, DreamBooth on a trial's own images) are generated."""
    from synthaug_utils.synthetic.released import RELEASED_METHODS, RELEASED_VARIANTS

    return (
        bool(profile.locations.get(RELEASED_LOCATION)) and method in RELEASED_METHODS and variant in RELEASED_VARIANTS
    )


def synthetic_source(profile: Profile) -> str:
    """'released' when the profile reads the authors' released images, else 'generated'."""
    return "released" if profile.locations.get(RELEASED_LOCATION) else "generated"


def released_set_folder(profile: Profile, splits) -> Path:
    """Where :func:`released_synthetic_set` unpacks the release for ``splits``' dataset (nothing is read or made)."""
    from synthaug_utils.synthetic.released import release_key

    shards = Path(profile.locations[RELEASED_LOCATION]).expanduser()
    return cache_dir() / "synthetic" / "released" / release_key(shards) / splits.dataset


def released_set_unpacked(folder: Path) -> bool:
    """Whether :func:`released_synthetic_set` finished unpacking into ``folder``."""
    return (Path(folder) / _RELEASED_DONE).is_file()


def released_synthetic_set(profile: Profile, splits, progress: bool = True) -> Path:
    """The folder of the authors' released images of ``splits``' dataset, unpacked once from the shards
    named by the ``released_synthetic`` location (checked first, like every input).

    ``cache_dir()/synthetic/released/<shards key>/<dataset>``: every released image whose source (the
    release's ``md5hash``) is an image of the dataset, whatever its split, since one unpacked set serves
    every validation redraw. A run takes the images of its own training subset and the leakage guard
    checks them (:func:`synthaug_utils.experiments.trial.synthetic_rows`), so a released image of a
    validation or test image never enters training.
    """
    import json

    from synthaug_utils.core.files import atomic_write_bytes
    from synthaug_utils.core.inputs import check_ready
    from synthaug_utils.synthetic.released import RELEASED_METHODS, manifest_from_webdataset, release_key

    check_ready(profile, needs=(RELEASED_LOCATION,))
    shards = Path(profile.locations[RELEASED_LOCATION]).expanduser()
    key = release_key(shards)
    folder = released_set_folder(profile, splits)
    done = folder / _RELEASED_DONE
    if not done.is_file():
        sources = splits.all().drop_duplicates("image_id")
        try:
            manifest_from_webdataset(shards, folder, methods=RELEASED_METHODS, sources=sources, progress=progress)
        except DataError as exc:
            if "no released images matched" not in str(exc):
                raise
            raise DataError(
                f"{RELEASED_LOCATION} = {shards}: {exc}; a released image names its source image by md5hash, and "
                f"none named an image of {splits.dataset}. Unset {RELEASED_LOCATION} to generate the images instead."
            ) from exc
        record = {"shards": str(shards), "key": key, "dataset": splits.dataset}
        atomic_write_bytes(done, json.dumps(record, indent=1).encode())
    return folder
