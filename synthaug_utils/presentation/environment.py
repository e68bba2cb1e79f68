"""The machine and software a build ran on: CPU, vector extensions and kernel sets, torch's threads,
package versions, GPU, and when the chapters ran. Recorded with a reference and shown in the front
page's reproducibility statement (:mod:`synthaug_utils.presentation.reference`)."""

from __future__ import annotations

import datetime as _dt
import json
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from synthaug_utils.core.chapters import REPORT


def machine() -> dict[str, Any]:
    """The CPU (lscpu model name; AVX2 / AVX-512 / AVX512-BF16 / AMX flags), torch's version, its
    thread count and CPU kernel set (``ATEN_CPU_CAPABILITY``), and Python's version."""
    import os

    import torch

    from synthaug_utils.core.machine import AVX2_KERNELS, cpu_model_and_flags

    model, flags = cpu_model_and_flags()
    return {
        "cpu": model,
        "cpu_flags": {f: f in flags for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")},
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "aten_cpu_capability_env": os.environ.get("ATEN_CPU_CAPABILITY"),
        # what the chapters of an embedded-profile build ran with (core.machine.pin_avx2_kernels; this
        # process's own torch, above, keeps the CPU's kernels)
        # (a variable the user set wins over the pin, e.g. ATEN_CPU_CAPABILITY=default for a cross-kernel check)
        "embedded_chapter_kernels": (
            {k: os.environ.get(k, v) for k, v in AVX2_KERNELS.items()} if "avx2" in flags else "the CPU's own"
        ),
        "python": platform.python_version(),
    }


FLAG_NAMES = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_bf16": "AVX512-BF16", "amx_bf16": "AMX-BF16"}


def _flag_names(info: Mapping[str, Any]) -> str:
    """The vector extensions :func:`machine` found, e.g. ``AVX2, AVX-512`` (``no AVX2`` when none)."""
    flags = info.get("cpu_flags", {})
    return ", ".join(FLAG_NAMES[f] for f in FLAG_NAMES if flags.get(f)) or "no AVX2"


def machine_label(info: Mapping[str, Any]) -> str:
    """e.g. ``AMD EPYC (AVX2, AVX-512, AVX512-BF16; torch 2.5.1, kernels avx512, 2 threads)``."""
    feats = _flag_names(info)
    threads = info.get("torch_threads", "?")
    return (
        f"{info.get('cpu', '?')} ({feats}; torch {info.get('torch', '?')}, kernels "
        f"{info.get('torch_cpu_capability', '?')}, {threads} thread{'' if threads == 1 else 's'})"
    )


# Packages whose versions the front page's reproducibility statement names (distribution names).
STATEMENT_PACKAGES: tuple[str, ...] = (
    "torch",
    "torchvision",
    "diffusers",
    "transformers",
    "fastai",
    "timm",
    "open_clip_torch",
    "numpy",
    "scipy",
    "statsmodels",
    "pandas",
    "scikit-learn",
    "umap-learn",
    "papermill",
    "jupyter-book",
    "myst-nb",
    "sphinxcontrib-bibtex",
)


def package_versions(names: Iterable[str] = STATEMENT_PACKAGES) -> str:
    """``"Python 3.11.9, torch 2.5.1, ..."``: the interpreter's and each installed package's version."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}"]
    for name in names:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} not installed")
    return ", ".join(parts)


def gpu_label(device: str) -> str:
    """The GPU the chapters ran on (name, CUDA and cuDNN versions), or that they ran on the CPU."""
    import torch

    if not torch.cuda.is_available():
        return "none (the chapters ran on the CPU)"
    name = (
        f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
        f"{torch.cuda.device_count()} visible)"
    )
    return name if str(device).startswith("cuda") else f"none used (the profile runs on {device}; present: {name})"


def chapter_kernels() -> str:
    """The CPU kernel sets the chapters' kernels ran with: what the build pinned (they inherit it, as this
    chapter does) or the CPU's own, with torch's kernel set and thread count."""
    import os

    import torch

    from synthaug_utils.core.machine import AVX2_KERNELS

    pinned = [f"{k}={os.environ[k]}" for k in AVX2_KERNELS if os.environ.get(k)]
    threads = torch.get_num_threads()
    torch_part = (
        f"torch kernels {torch.backends.cpu.get_cpu_capability()}; the reproduction report's kernel ran "
        f"{threads} torch thread{'' if threads == 1 else 's'}"
    )
    return (", ".join(pinned) if pinned else "the CPU's own kernel sets") + f" ({torch_part})"


def execution_window(book_dir: Path, this_chapter: str = REPORT.id, now: _dt.datetime | None = None) -> str:
    """When the executed chapters in ``book_dir`` ran (papermill's start times) up to ``now`` (``this_chapter``,
    still running; its copy there is an earlier run's), and the other chapters' kernel time in all."""
    starts, seconds, chapters = [], 0.0, 0
    for path in sorted(Path(book_dir).glob("[0-9][0-9]_*.ipynb")):
        if path.stem == this_chapter:
            continue
        try:
            run = json.loads(path.read_text()).get("metadata", {}).get("papermill", {})
            starts.append(_dt.datetime.fromisoformat(run["start_time"]))
            seconds += float(run.get("duration") or 0.0)
            chapters += 1
        except (OSError, ValueError, KeyError, TypeError):
            continue
    now = now or _dt.datetime.now(_dt.UTC)
    stamp = "%Y-%m-%d %H:%M UTC"
    if not starts:
        return f"{now.strftime(stamp)} (no other executed chapter found)"
    return (
        f"from {min(starts).astimezone(_dt.UTC).strftime(stamp)} to {now.strftime(stamp)}; the "
        f"{chapters} other executed chapter{'' if chapters == 1 else 's'} took {seconds / 60:.1f} kernel-minutes"
    )


def cpu_label() -> str:
    """The CPU's model name and its vector extensions (AVX2, AVX-512, ...)."""
    info = machine()
    return f"{info.get('cpu', '?')} ({_flag_names(info)})"
