"""Running planned tasks into a resumable synthetic set."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.files import atomic_write_text, folder_lock, save_png_atomic
from synthaug_utils.core.vocabulary import METHODS
from synthaug_utils.diffusion.masks import mask_for
from synthaug_utils.diffusion.pipelines import load_pipeline, model_hash, run_inpaint, run_text2image
from synthaug_utils.diffusion.resolve import ModelResolver, model_folder
from synthaug_utils.diffusion.settings import GenerationSettings, base_model_id, generation_settings
from synthaug_utils.synthetic.manifest import MANIFEST_COLUMNS, MANIFEST_NAME, _write_manifest
from synthaug_utils.synthetic.plan import _Task, plan_generation


# ----------------------------------------------------------------------------- files
def _valid_png(path: Path, resolution: int | None) -> bool:
    """True when ``path`` is a readable image (of ``resolution`` px square when given)."""
    try:
        with Image.open(path) as img:
            img.verify()
            size = img.size
    except (FileNotFoundError, UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return resolution is None or size == (resolution, resolution)


def _load_source(path: str, resolution: int) -> np.ndarray:
    from synthaug_utils.data.images import load_image

    try:
        return np.asarray(load_image(path, resolution))
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        from synthaug_utils.core.errors import MissingImagesError

        raise MissingImagesError(f"source image {path} is missing or unreadable ({exc})") from exc


def run_tasks(
    tasks: Sequence[_Task],
    out_dir: Path,
    settings: GenerationSettings,
    resolve: ModelResolver,
    profile: Profile | None = None,
    progress: bool = True,
    stats: dict | None = None,
    on_saved: Callable[[Path], None] | None = None,
) -> None:
    """Make every task's image that is not on disk and valid; stage-2 tasks after their inputs.

    ``stats`` (optional dict) receives per-(kind, mask) counts and seconds of generation;
    ``on_saved(path)`` (optional) is called after each image is written.
    """
    from tqdm.auto import tqdm

    todo = [t for t in tasks if not _valid_png(out_dir / t.path, settings.resolution)]
    phases = [[t for t in todo if t.upstream is None], [t for t in todo if t.upstream is not None]]
    bar = tqdm(total=len(todo), desc=f"generating into {out_dir.name}", unit="img", disable=not progress, mininterval=2)
    for phase in phases:
        groups: dict[tuple, list[_Task]] = {}
        for t in phase:
            groups.setdefault((t.model_key, t.mask, t.strength), []).append(t)
        for (model_key, mask_name, strength), group in sorted(groups.items(), key=lambda kv: str(kv[0])):
            variant, kind, model_group = model_key
            _, folder = resolve(variant, kind, model_group)
            pipe = load_pipeline(folder, kind, settings, profile)
            mask = mask_for(mask_name, settings)
            for start in range(0, len(group), settings.batch_size):
                batch = group[start : start + settings.batch_size]
                began = time.perf_counter()
                prompts = [t.prompt for t in batch]
                seeds = [t.seed for t in batch]
                if kind == "text2image":
                    images = run_text2image(pipe, prompts, seeds, settings)
                else:
                    inputs = np.stack(
                        [
                            _load_source(t.input_path, settings.resolution)
                            if t.upstream is None
                            else _load_source(str(out_dir / t.upstream), settings.resolution)
                            for t in batch
                        ]
                    )
                    images = run_inpaint(pipe, inputs, mask, prompts, seeds, strength, settings)
                for t, img in zip(batch, images):
                    save_png_atomic(img, out_dir / t.path)
                    if on_saved is not None:
                        on_saved(out_dir / t.path)
                if stats is not None:
                    entry = stats.setdefault(f"{kind}:{mask_name}", {"images": 0, "seconds": 0.0})
                    entry["images"] += len(batch)
                    entry["seconds"] += time.perf_counter() - began
                bar.update(len(batch))
    bar.close()


def remove_stale_images(out_dir: Path, rows: pd.DataFrame) -> list[str]:
    """Delete the images of ``rows`` (planned rows with the ``model_hash`` of the model that makes them
    now) that the folder's manifest lists as made by another model (the shipped weights or a DreamBooth
    model changed), so that they are made again; returns their paths. An image the manifest does not
    list (an interrupted run) is kept: it was made by this code path, whose models are those named now."""
    listed = out_dir / MANIFEST_NAME
    if not listed.is_file():
        return []
    old = pd.read_csv(listed, dtype=str, keep_default_na=False, usecols=["path", "model_hash"])
    now = dict(zip(rows.path.astype(str), rows.model_hash.astype(str)))
    stale = [p for p, h in zip(old.path, old.model_hash) if p in now and h != now[p] and (out_dir / p).is_file()]
    for path in stale:
        (out_dir / path).unlink()
    return stale


def generate(
    sources: pd.DataFrame,
    out_dir: str | Path,
    methods: Sequence[str] = METHODS,
    variants: Sequence[str] = ("pretrained",),
    per_real: int = 10,
    settings: GenerationSettings | None = None,
    profile: Profile | None = None,
    splits=None,
    resolve: ModelResolver | None = None,
    model_group: Callable[[Mapping[str, Any]], str] = lambda row: "all",
    progress: bool = True,
    stats: dict | None = None,
) -> Path:
    """Generate ``per_real`` images per source for each method and variant into ``out_dir``; returns the manifest path.

    ``sources``: table with image_id, label, fst (and path for the masked methods;
    optional ``disease`` names the prompt). With ``splits``, validation/test sources are
    refused (LeakageError). ``resolve`` maps (variant, kind, group) to a model (default:
    the profile's pretrained models for every variant). Resumable and idempotent.
    """
    out_dir = Path(out_dir)
    if profile is None and settings is None:
        raise UserFacingError("generate needs a profile or explicit settings")
    settings = settings or generation_settings(profile)
    if splits is not None:
        from synthaug_utils.data.splits import assert_no_leakage

        assert_no_leakage(sources.image_id.astype(str), splits, context=f"generation into {out_dir}")
    if resolve is None:
        if profile is None:
            raise UserFacingError("generate needs a profile or a model resolver")

        def resolve(variant: str, kind: str, group: str) -> tuple[str, Path]:
            model_id = base_model_id(profile, kind)
            return model_id, model_folder(model_id, profile)

    resolved: dict[tuple[str, str, str], tuple[str, Path]] = {}
    base_resolve = resolve

    def resolve(variant: str, kind: str, group: str) -> tuple[str, Path]:  # noqa: F811 - memoised
        if (variant, kind, group) not in resolved:
            resolved[variant, kind, group] = base_resolve(variant, kind, group)
        return resolved[variant, kind, group]

    tasks, rows = plan_generation(sources, methods, variants, per_real, settings, model_group)
    with folder_lock(out_dir):
        if len(rows):
            kind_of = {"text-to-image": "text2image"}
            groups = [model_group(r) for r in sources.to_dict("records")]
            group_of = dict(zip(sources.image_id.astype(str), groups))
            ids, hashes, hash_of = [], [], {}
            for r in rows.itertuples():
                model_id, folder = resolve(r.variant, kind_of.get(r.method, "inpaint"), group_of[r.source_id])
                if folder not in hash_of:  # one hash per model folder, not per image
                    hash_of[folder] = model_hash(folder)
                ids.append(model_id)
                hashes.append(hash_of[folder])
            rows = rows.assign(model_id=ids, model_hash=hashes)
            remove_stale_images(out_dir, rows)
        else:
            rows = pd.DataFrame(columns=MANIFEST_COLUMNS)
        run_tasks(tasks, out_dir, settings, resolve, profile, progress, stats)
        atomic_write_text(out_dir / "settings.json", json.dumps(asdict(settings), indent=2), fsync=False)
        return _write_manifest(out_dir, rows)
