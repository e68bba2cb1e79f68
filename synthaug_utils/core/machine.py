"""The machine a build or benchmark ran on: CPU model name and instruction-set flags."""
from __future__ import annotations

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
            line = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags"))
            flags = set(line.split(":", 1)[1].split())
        except (OSError, StopIteration, IndexError):
            pass
    return model, flags
