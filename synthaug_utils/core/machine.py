"""The machine and checkout a build or benchmark ran on: CPU model name, instruction-set flags and the
git commit."""

from __future__ import annotations

import contextlib
import platform
import subprocess
from pathlib import Path


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """The CPU's model name (``lscpu``'s "Model name", else :func:`platform.processor`) and its flags
    (``lscpu``'s "Flags", else ``/proc/cpuinfo``; empty where neither is readable)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "Flags":
                flags = set(value.split())
    except (OSError, subprocess.SubprocessError):
        pass
    if not flags:
        try:
            line = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags"))
            flags = set(line.split(":", 1)[1].split())
        except (OSError, StopIteration, IndexError):
            pass
    return model, flags


def cpu_has_native_bf16() -> bool:
    """True when the CPU advertises native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16)."""
    _, flags = cpu_model_and_flags()
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def git_commit(root: Path | None = None) -> str | None:
    """The checkout's commit (``+dirty`` when tracked files have uncommitted changes), or None outside
    a git checkout (``root``: default the project root)."""
    from synthaug_utils.core.paths import project_root

    root = root or project_root()
    if root is None:
        return None
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


# Kernel sets every embedded-profile build uses on an x86 CPU with AVX2: torch's ATen kernels, oneDNN's
# convolutions and MKL's BLAS (conditional numerical reproducibility) all on their AVX2 code paths, so
# that a CPU with AVX-512 computes what an AVX2-only CPU computes (benchmarks/kernel_divergence.py: the
# CPU's own kernel set moves generated images in their last float bits, and the demo's small trials
# amplify that). Values a user has set win.
AVX2_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}


@contextlib.contextmanager
def avx2_kernels_for_children():
    """Within the block, child processes started (the book's kernels and pool workers) inherit
    :func:`pin_avx2_kernels`'s variables; afterwards ``os.environ`` is as before (this process's own
    torch keeps its kernels either way: ATen reads the variable once, at import). Yields what was set."""
    import os

    before = dict(os.environ)
    try:
        yield pin_avx2_kernels()
    finally:
        for name in AVX2_KERNELS:
            if name in before:
                os.environ[name] = before[name]
            else:
                os.environ.pop(name, None)


def pin_avx2_kernels(environ=None) -> dict[str, str]:
    """Set :data:`AVX2_KERNELS` in ``environ`` (default ``os.environ``; child processes such as the
    book's kernels inherit it) where the CPU has AVX2 and the variable is unset. Returns what it set
    (empty on a CPU without AVX2, where the CPU's own kernels are the only choice)."""
    import os

    environ = os.environ if environ is None else environ
    _, flags = cpu_model_and_flags()
    if "avx2" not in flags:
        return {}
    added = {k: v for k, v in AVX2_KERNELS.items() if k not in environ}
    environ.update(added)
    return added
