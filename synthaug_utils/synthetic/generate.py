"""Running planned tasks into a resumable synthetic set."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.files import atomic_write_text, folder_lock, save_png_atomic
from synthaug_utils.core.vocabulary import KIND_OF_METHOD, METHODS
from synthaug_utils.diffusion.masks import mask_for
from synthaug_utils.diffusion.pipelines import load_pipeline, model_hash, run_inpaint, run_text2image
from synthaug_utils.diffusion.resolve import ModelResolver, model_folder
from synthaug_utils.diffusion.settings import GenerationSettings, base_model_id, generation_settings
from synthaug_utils.synthetic.manifest import MANIFEST_COLUMNS, MANIFEST_NAME, write_manifest
from synthaug_utils.synthetic.plan import _Task, plan_generation


# ----------------------------------------------------------------------------- files
def valid_png(path: Path, resolution: int | None) -> bool:
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


MapTasks = Callable[[Callable[..., Any], Sequence[tuple]], list]
"""``map_tasks(fn, items)``: ``[fn(*args) for args in items]``, wherever it runs them (results in order)."""


def run_here(fn: Callable[..., Any], items: Sequence[tuple]) -> list:
    """The in-process :data:`MapTasks`: each call in this process, one after another."""
    return [fn(*args) for args in items]


@dataclass(frozen=True)
class Batch:
    """Images drawn in one pipeline call: one model, mask and strength."""

    model_key: tuple  # (variant, kind, model group)
    mask: str
    strength: float
    tasks: tuple[_Task, ...]


def plan_batches(tasks: Sequence[_Task], out_dir: Path, settings: GenerationSettings) -> list[Batch]:
    """The batches that make ``tasks``' images not on disk and valid, in the order they run: stage-1 tasks,
    then stage-2 tasks (which start from stage-1 images); within each, per (model, mask, strength) in plan
    order, ``settings.batch_size`` at a time. An image's last bits depend on the batch it is drawn in, so
    every executor draws these same batches."""
    todo = [t for t in tasks if not valid_png(out_dir / t.path, settings.resolution)]
    batches = []
    for phase in ([t for t in todo if t.upstream is None], [t for t in todo if t.upstream is not None]):
        groups: dict[tuple, list[_Task]] = {}
        for t in phase:
            groups.setdefault((t.model_key, t.mask, t.strength), []).append(t)
        for (model_key, mask_name, strength), group in sorted(groups.items(), key=lambda kv: str(kv[0])):
            for start in range(0, len(group), settings.batch_size):
                batches.append(Batch(model_key, mask_name, strength, tuple(group[start : start + settings.batch_size])))
    return batches


def plan_units(batches: Sequence[Batch], source_of: Mapping[str, str], shard_size: int | None) -> list[list[Batch]]:
    """``batches`` cut into units of work that can run side by side: all of them in one unit when
    ``shard_size`` is None; else per model, whole batches of about ``shard_size`` source images
    (``source_of``: image path -> source id), a stage-2 batch in the unit of the batches it starts from.
    A unit is never smaller than one batch. Batches keep their order within a unit."""
    if not batches:
        return []
    if shard_size is None:
        return [list(batches)]
    batch_of = {t.path: i for i, b in enumerate(batches) for t in b.tasks}
    label = list(range(len(batches)))  # the component a batch is in: its own, or merged with its inputs'
    components = {i: [i] for i in range(len(batches))}
    for i, b in enumerate(batches):
        for j in {batch_of[t.upstream] for t in b.tasks if t.upstream in batch_of}:
            keep, merged = sorted((label[i], label[j]))
            if keep != merged:
                for k in components.pop(merged):
                    label[k] = keep
                    components[keep].append(k)
    units: list[list[int]] = []
    open_unit: dict[tuple, tuple[list[int], set[str]]] = {}  # model -> (batch indices, sources) being filled
    for members in sorted(sorted(m) for m in components.values()):
        key = batches[members[0]].model_key
        sources = {source_of[t.path] for i in members for t in batches[i].tasks}
        current = open_unit.get(key)
        if current is None or len(current[1] | sources) > shard_size:
            current = ([], set())
            units.append(current[0])
            open_unit[key] = current
        current[0].extend(members)
        current[1].update(sources)
    return [[batches[i] for i in sorted(unit)] for unit in units]


def run_batches(
    out_dir: str | Path,
    batches: Sequence[Batch],
    models: Mapping[tuple, tuple[str, str | Path]],
    settings: GenerationSettings,
    profile: Profile | None = None,
    progress: bool = True,
    on_saved: Callable[[Path], None] | None = None,
) -> dict:
    """Draw ``batches`` in order with ``models`` (model key -> (model id, folder)) and save each image
    atomically; ``on_saved(path)`` (optional) runs after each image is written. Returns per (kind, mask)
    counts and seconds of generation."""
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    stats: dict = {}
    total = sum(len(b.tasks) for b in batches)
    bar = tqdm(total=total, desc=f"generating into {out_dir.name}", unit="img", disable=not progress, mininterval=2)
    pipe, loaded = None, None
    for b in batches:
        _, kind, _ = b.model_key
        if (b.model_key, kind) != loaded:
            pipe, loaded = load_pipeline(Path(models[b.model_key][1]), kind, settings, profile), (b.model_key, kind)
        began = time.perf_counter()
        prompts = [t.prompt for t in b.tasks]
        seeds = [t.seed for t in b.tasks]
        if kind == "text2image":
            images = run_text2image(pipe, prompts, seeds, settings)
        else:
            inputs = np.stack(
                [
                    _load_source(t.input_path if t.upstream is None else str(out_dir / t.upstream), settings.resolution)
                    for t in b.tasks
                ]
            )
            images = run_inpaint(pipe, inputs, mask_for(b.mask, settings), prompts, seeds, b.strength, settings)
        for t, img in zip(b.tasks, images):
            save_png_atomic(img, out_dir / t.path)
            if on_saved is not None:
                on_saved(out_dir / t.path)
        entry = stats.setdefault(f"{kind}:{b.mask}", {"images": 0, "seconds": 0.0})
        entry["images"] += len(b.tasks)
        entry["seconds"] += time.perf_counter() - began
        bar.update(len(b.tasks))
    bar.close()
    return stats


def resolve_model(resolve: ModelResolver, variant: str, kind: str, group: str) -> tuple[str, str]:
    """(model id, folder) of one model; a DreamBooth resolver fine-tunes it here when it is not cached."""
    model_id, folder = resolve(variant, kind, group)
    return model_id, str(folder)


def _add_stats(total: dict | None, part: Mapping[str, Mapping[str, float]]) -> None:
    if total is None:
        return
    for key, value in part.items():
        entry = total.setdefault(key, {"images": 0, "seconds": 0.0})
        entry["images"] += value["images"]
        entry["seconds"] += value["seconds"]


def remove_temporaries(folder: Path) -> None:
    """Delete ``.*.tmp`` files and folders left by killed writers (the caller holds the folder lock)."""
    import shutil

    for tmp in sorted(folder.rglob(".*.tmp"), reverse=True):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


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
    map_tasks: MapTasks = run_here,
    shard_size: int | None = None,
    on_saved: Callable[[Path], None] | None = None,
) -> Path:
    """Generate ``per_real`` images per source for each method and variant into ``out_dir``; returns the manifest path.

    ``sources``: table with image_id, label, fst (and path for the masked methods;
    optional ``disease`` names the prompt). With ``splits``, validation/test sources are
    refused (LeakageError). ``resolve`` maps (variant, kind, group) to a model (default:
    the profile's pretrained models for every variant). Resumable and idempotent.

    ``map_tasks`` runs the work (default: in this process): first one call of :func:`resolve_model`
    per model, then one call of :func:`run_batches` per unit of :func:`plan_units` (``shard_size``
    source images; None: one unit, with a progress bar). The images are the same bytes whatever runs
    them: every unit draws the batches of :func:`plan_batches`. ``stats`` (optional dict) receives
    per-(kind, mask) counts and seconds of generation; ``on_saved(path)`` runs after each image is written.
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

    tasks, rows = plan_generation(sources, methods, variants, per_real, settings, model_group)
    with folder_lock(out_dir):
        remove_temporaries(out_dir)
        if len(rows):
            group_of = dict(zip(sources.image_id.astype(str), [model_group(r) for r in sources.to_dict("records")]))
            keys = [(r.variant, KIND_OF_METHOD[r.method], group_of[r.source_id]) for r in rows.itertuples()]
            unique = list(dict.fromkeys(keys))
            models = dict(zip(unique, map_tasks(resolve_model, [(resolve, *key) for key in unique])))
            hash_of = {folder: model_hash(Path(folder)) for folder in dict.fromkeys(f for _, f in models.values())}
            rows = rows.assign(model_id=[models[k][0] for k in keys], model_hash=[hash_of[models[k][1]] for k in keys])
            remove_stale_images(out_dir, rows)
            units = plan_units(plan_batches(tasks, out_dir, settings), dict(zip(rows.path, rows.source_id)), shard_size)
            results = map_tasks(
                run_batches,
                [
                    (
                        str(out_dir),
                        unit,
                        {b.model_key: models[b.model_key] for b in unit},
                        settings,
                        profile,
                        progress and shard_size is None,
                        on_saved,
                    )
                    for unit in units
                ],
            )
            for part in results:
                _add_stats(stats, part)
            remove_temporaries(out_dir)
        else:
            rows = pd.DataFrame(columns=MANIFEST_COLUMNS)
        atomic_write_text(out_dir / "settings.json", json.dumps(asdict(settings), indent=2), fsync=False)
        return write_manifest(out_dir, rows)
