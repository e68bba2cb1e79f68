"""Generation and DreamBooth through an executor: the work cut into independent, idempotent Dask tasks.

- DreamBooth: one task per model (kind, class).
- Generation: one task per model (variant, kind, model group) x shard of that group's sources.
  Each task writes its images atomically, then its part-manifest (``<out>/.parts/*.csv``)
  atomically; the final ``manifest.csv`` is assembled from the parts by the caller, so a
  killed task leaves no half-written file (its temporary files are removed on the next run)
  and a re-run submits only the tasks whose part or images are missing.
- A generation task takes its model as a future (the model task's result): a DreamBooth model
  is fine-tuned by its own task before the tasks that use it start, as a task dependency.
- Each task asks for one GPU (Dask worker resource ``GPU``) when the profile's device is CUDA.

Seeds derive from (source, method, variant, index), so the images and the manifest do not
depend on the number of workers or the shard size, up to float rounding: the batch an image is
drawn in (and the thread count) moves about 0.01-0.03% of its pixels by one grey level
(``benchmarks/kernel_divergence.py``). The in-process executor (the default)
runs :func:`synthaug_utils.synthetic.generate.generate` unchanged.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.files import atomic_write_text, folder_lock, write_csv_atomic
from synthaug_utils.core.vocabulary import METHODS
from synthaug_utils.diffusion.pipelines import model_hash
from synthaug_utils.diffusion.prompts import slug
from synthaug_utils.diffusion.resolve import ModelResolver
from synthaug_utils.diffusion.settings import GenerationSettings, generation_settings
from synthaug_utils.experiments.executors import DASK_CONNECT_TIMEOUT_S, InProcessExecutor, make_executor
from synthaug_utils.synthetic.generate import _valid_png, generate, run_tasks
from synthaug_utils.synthetic.manifest import _MANIFEST_DTYPES, MANIFEST_COLUMNS, _write_manifest
from synthaug_utils.synthetic.plan import _Task, plan_generation

PARTS_DIR = ".parts"
DEFAULT_SHARD_SIZE = 16  # source images per generation task


def _kind(method: str) -> str:
    return "text2image" if method == "text-to-image" else "inpaint"


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(int(threads))


# ----------------------------------------------------------------------------- tasks (run on workers)
def resolve_model_task(
    resolve: ModelResolver, variant: str, kind: str, group: str, threads: int | None = None
) -> tuple[str, str]:
    """(model id, folder) of one model; a DreamBooth resolver fine-tunes it here when it is not cached."""
    _set_threads(threads)
    model_id, folder = resolve(variant, kind, group)
    return model_id, str(folder)


def generation_task(
    out_dir: str,
    tasks: Sequence[_Task],
    rows: pd.DataFrame,
    model: tuple[str, str],
    settings: GenerationSettings,
    profile: Profile | None,
    part: str,
    threads: int | None = None,
    on_saved: Callable[[Path], None] | None = None,
) -> str:
    """Make one shard's missing images with one model, then write its part-manifest atomically."""
    _set_threads(threads)
    out = Path(out_dir)
    model_id, folder = model
    run_tasks(
        tasks,
        out,
        settings,
        lambda variant, kind, group: (model_id, Path(folder)),
        profile,
        progress=False,
        on_saved=on_saved,
    )
    rows = rows.assign(model_id=model_id, model_hash=model_hash(Path(folder)))
    write_csv_atomic(rows[MANIFEST_COLUMNS], out / PARTS_DIR / part)
    return part


# ----------------------------------------------------------------------------- driver
def _remove_temporaries(folder: Path) -> None:
    """Delete ``.*.tmp`` files and folders left by killed writers (the caller holds the folder lock)."""
    import shutil

    for tmp in sorted(folder.rglob(".*.tmp"), reverse=True):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def task_resources(client, profile: Profile | None, local: bool) -> dict | None:
    """``{"GPU": 1}`` when the profile runs on CUDA (and, on a local cluster, its workers declare GPUs)."""
    if profile is None or not str(profile.device).startswith("cuda"):
        return None
    if local:
        workers = client.scheduler_info().get("workers", {})
        if not any("GPU" in (w.get("resources") or {}) for w in workers.values()):
            warnings.warn("local Dask workers declare no GPU resource; tasks share the GPU", stacklevel=2)
            return None
    return {"GPU": 1}


def _units(tasks: list[_Task], rows: pd.DataFrame, sources: pd.DataFrame, model_group, shard_size: int):
    """[(model key, tasks, rows, part name)] per model x shard of that model's sources, in plan order."""
    source_of = dict(zip(rows.path, rows.source_id)) if len(rows) else {}
    order = list(sources.image_id.astype(str))
    group_of = dict(zip(order, [model_group(r) for r in sources.to_dict("records")]))
    by_model: dict[tuple, list[_Task]] = {}
    for t in tasks:
        by_model.setdefault(t.model_key, []).append(t)
    kinds = rows.method.map(_kind) if len(rows) else pd.Series(dtype=str)
    units = []
    for key, model_tasks in by_model.items():
        variant, kind, group = key
        ids = [s for s in order if group_of[s] == group]
        for start in range(0, len(ids), shard_size):
            shard = set(ids[start : start + shard_size])
            unit_tasks = [t for t in model_tasks if source_of[t.path] in shard]
            if not unit_tasks:
                continue
            unit_rows = rows[(rows.variant == variant) & (kinds == kind) & rows.source_id.isin(shard)]
            digest = hashlib.sha256("\n".join([variant, kind, group, *sorted(shard)]).encode()).hexdigest()[:16]
            units.append(
                (key, unit_tasks, unit_rows.reset_index(drop=True), f"{variant}-{kind}-{slug(group)}-{digest}.csv")
            )
    return units


def generate_with_executor(
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
    executor: Any = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    threads: int | None = None,
    connect_timeout: float = DASK_CONNECT_TIMEOUT_S,
    on_saved: Callable[[Path], None] | None = None,
) -> Path:
    """:func:`~synthaug_utils.synthetic.generate.generate` through ``executor`` (a name or an executor);
    returns the manifest path. In-process (the default): ``generate`` itself. Dask: tasks per model x
    shard of ``shard_size`` sources (see the module); ``threads`` sets torch threads in each task;
    ``on_saved(path)`` runs in the task after each image is written."""
    if int(shard_size) < 1:
        raise UserFacingError(f"shard size {shard_size} must be at least 1")
    ex = make_executor(executor, connect_timeout)
    try:
        if isinstance(ex, InProcessExecutor):
            return generate(
                sources,
                out_dir,
                methods,
                variants,
                per_real,
                settings,
                profile,
                splits,
                resolve,
                model_group,
                progress,
                stats,
            )
        return _generate_dask(
            ex,
            sources,
            Path(out_dir),
            methods,
            variants,
            per_real,
            settings,
            profile,
            splits,
            resolve,
            model_group,
            progress,
            stats,
            int(shard_size),
            threads,
            on_saved,
        )
    finally:
        if ex is not executor:
            ex.close()


def _generate_dask(
    ex,
    sources,
    out_dir,
    methods,
    variants,
    per_real,
    settings,
    profile,
    splits,
    resolve,
    model_group,
    progress,
    stats,
    shard_size,
    threads,
    on_saved,
) -> Path:
    from distributed import as_completed
    from tqdm.auto import tqdm

    from synthaug_utils.diffusion.resolve import model_folder
    from synthaug_utils.diffusion.settings import base_model_id

    if profile is None and settings is None:
        raise UserFacingError("generate needs a profile or explicit settings")
    settings = settings or generation_settings(profile)
    if splits is not None:
        from synthaug_utils.data.splits import assert_no_leakage

        assert_no_leakage(sources.image_id.astype(str), splits, context=f"generation into {out_dir}")
    if resolve is None:
        if profile is None:
            raise UserFacingError("generate needs a profile or a model resolver")

        def resolve(variant: str, kind: str, group: str):
            model_id = base_model_id(profile, kind)
            return model_id, model_folder(model_id, profile)

    tasks, rows = plan_generation(sources, methods, variants, per_real, settings, model_group)
    units = _units(tasks, rows, sources, model_group, shard_size)
    client = ex.client
    resources = task_resources(client, profile, local=getattr(ex, "_cluster", None) is not None)
    began = time.perf_counter()
    with folder_lock(out_dir):
        _remove_temporaries(out_dir)
        todo = [
            u
            for u in units
            if not (
                (out_dir / PARTS_DIR / u[3]).is_file()
                and all(_valid_png(out_dir / t.path, settings.resolution) for t in u[1])
            )
        ]
        made = sum(not _valid_png(out_dir / t.path, settings.resolution) for u in todo for t in u[1])
        models = {}
        for key, *_ in todo:
            if key not in models:
                models[key] = client.submit(resolve_model_task, resolve, *key, threads, pure=False, resources=resources)
        futures = [
            client.submit(
                generation_task,
                str(out_dir),
                unit_tasks,
                unit_rows,
                models[key],
                settings,
                profile,
                part,
                threads,
                on_saved,
                pure=False,
                resources=resources,
            )
            for key, unit_tasks, unit_rows, part in todo
        ]
        bar = tqdm(total=len(futures), desc=f"generation tasks into {out_dir.name}", disable=not progress)
        try:
            for future in as_completed(futures):
                future.result()
                bar.update(1)
        finally:
            bar.close()
            for future in futures + list(models.values()):
                future.cancel()
        _remove_temporaries(out_dir)
        parts = [
            pd.read_csv(out_dir / PARTS_DIR / part, dtype=_MANIFEST_DTYPES, keep_default_na=False) for *_, part in units
        ]
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=MANIFEST_COLUMNS)
        if stats is not None:
            stats["all:dask"] = {"images": made, "seconds": time.perf_counter() - began}
        atomic_write_text(out_dir / "settings.json", json.dumps(asdict(settings), indent=2), fsync=False)
        return _write_manifest(out_dir, table)


def dreambooth_with_executor(
    profile: Profile,
    kinds: Sequence[str],
    groups: Sequence[str],
    splits,
    out: str | Path,
    executor: Any = None,
    threads: int | None = None,
    connect_timeout: float = DASK_CONNECT_TIMEOUT_S,
) -> dict[tuple[str, str], Path]:
    """Fine-tune one model per (kind, group) into ``out/<kind>/<group>``, one task each; models already
    there (``dreambooth.json`` written last) are skipped. Returns their folders."""
    from synthaug_utils.diffusion.resolve import finetune_for_profile

    out = Path(out)
    ex = make_executor(executor, connect_timeout)
    try:
        jobs = [(kind, grp, out / kind / slug(grp)) for kind in kinds for grp in groups]
        if isinstance(ex, InProcessExecutor):
            return {(k, g): Path(finetune_for_profile(profile, k, g, splits, o)) for k, g, o in jobs}
        resources = task_resources(ex.client, profile, local=getattr(ex, "_cluster", None) is not None)
        done = {(k, g): o for k, g, o in jobs if (o / "dreambooth.json").is_file()}
        futures = {
            ex.client.submit(_finetune_task, profile, k, g, splits, str(o), threads, pure=False, resources=resources): (
                k,
                g,
            )
            for k, g, o in jobs
            if (k, g) not in done
        }
        for future, key in futures.items():
            done[key] = Path(future.result())
        return {(k, g): done[k, g] for k, g, _ in jobs}
    finally:
        if ex is not executor:
            ex.close()


def _finetune_task(profile, kind, group, splits, out, threads):
    from synthaug_utils.diffusion.resolve import finetune_for_profile

    _set_threads(threads)
    return str(finetune_for_profile(profile, kind, group, splits, out, progress=False))
