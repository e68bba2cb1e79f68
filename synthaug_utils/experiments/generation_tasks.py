"""Generation and DreamBooth through an executor: the work cut into independent, idempotent Dask tasks.

- DreamBooth: one task per model (kind, class).
- Generation: :func:`synthaug_utils.synthetic.generate.generate` itself, with the executor's ``map``
  as its ``map_tasks``: one task per model it needs (a DreamBooth model is fine-tuned there when it
  is not cached), then one task per unit of whole batches of one model (about ``shard_size`` source
  images). Each task writes its images atomically; the caller stamps the model hashes, removes stale
  images and writes ``manifest.csv``, so a killed task leaves no half-written file (its temporary
  files are removed on the next run) and a re-run makes only the missing images.
- Each task asks for one GPU (Dask worker resource ``GPU``) when the profile's device is CUDA.

Seeds derive from (source, method, variant, index), and every task draws the batches the in-process
run draws (the batch an image is drawn in moves about 0.01-0.03% of its pixels by one grey level,
``benchmarks/kernel_divergence.py``), so the images and the manifest are the same bytes whatever the
number of workers and the shard size.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.diffusion.prompts import slug
from synthaug_utils.experiments.executors import DASK_CONNECT_TIMEOUT_S, InProcessExecutor, make_executor
from synthaug_utils.synthetic.generate import generate

DEFAULT_SHARD_SIZE = 16  # source images per generation task


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def _with_threads(threads: int | None, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a task on ``threads`` torch threads (None: the worker's)."""
    _set_threads(threads)
    return fn(*args)


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


def generate_with_executor(
    sources: pd.DataFrame,
    out_dir: str | Path,
    *args: Any,
    executor: Any = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    threads: int | None = None,
    connect_timeout: float = DASK_CONNECT_TIMEOUT_S,
    **kwargs: Any,
) -> Path:
    """:func:`~synthaug_utils.synthetic.generate.generate` (``args`` and ``kwargs`` are its own) through
    ``executor`` (a name or an executor); returns the manifest path. In-process (the default): in this
    process, one unit. Dask: tasks per model and per unit of about ``shard_size`` sources (see the
    module); ``threads`` sets torch threads in each task (default: this process's, so that the tasks compute
    what this process would)."""
    if int(shard_size) < 1:
        raise UserFacingError(f"shard size {shard_size} must be at least 1")
    call = inspect.signature(generate).bind(sources, out_dir, *args, **kwargs)
    call.apply_defaults()
    ex = make_executor(executor, connect_timeout)
    try:
        if isinstance(ex, InProcessExecutor):
            return generate(sources, out_dir, *args, map_tasks=ex.map, **kwargs)
        profile, progress = call.arguments["profile"], call.arguments["progress"]
        if threads is None:  # a worker's own count (1 on a local cluster) could move the images' last bits
            import torch

            threads = torch.get_num_threads()
        resources = task_resources(ex.client, profile, local=getattr(ex, "_cluster", None) is not None)

        def map_tasks(fn, items):
            desc = f"{getattr(fn, '__name__', 'tasks')} into {Path(out_dir).name}"
            return ex.map(functools.partial(_with_threads, threads, fn), items, resources, progress, desc)

        return generate(sources, out_dir, *args, map_tasks=map_tasks, shard_size=int(shard_size), **kwargs)
    finally:
        if ex is not executor:
            ex.close()


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
