"""Atomic file writes for the caches and the results store.

Every file that other processes (parallel chapters, Dask workers on a shared folder) may read
is written under a temporary name in its own folder and then renamed over the target with
:func:`os.replace`, which is atomic on POSIX file systems: a reader sees the old file or the
new one, never a partial one, and a process killed mid-write leaves only a hidden ``*.tmp``
file (:func:`temporary_name`) that no reader opens.
"""
from __future__ import annotations

import hashlib
import os
import socket
import uuid
from pathlib import Path
from typing import Callable, Sequence

import numpy as np


def temporary_name(path: Path) -> Path:
    """A hidden, unique name beside ``path``: ``.{name}~{host}~{pid}~{8 hex}.tmp``.

    Unique across processes and machines sharing the folder; ``folder.glob(".*.tmp")`` finds
    leftovers of killed writers and :func:`temporary_writer` tells who wrote them.
    """
    path = Path(path)
    return path.with_name(f".{path.name}~{socket.gethostname()}~{os.getpid()}~{uuid.uuid4().hex[:8]}.tmp")


def temporary_writer(tmp: Path) -> tuple[str, int] | None:
    """(host, pid) of the process that made a :func:`temporary_name`; None for other names."""
    parts = Path(tmp).name.removesuffix(".tmp").rsplit("~", 3)
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2])


def atomic_write(path: Path, write: Callable[[Path], None], fsync: bool = False) -> Path:
    """Create ``path`` by ``write(tmp)`` on a :func:`temporary_name`, then rename it over ``path``.

    ``write`` must create the file it is given (it may use any writer: parquet, text, ...).
    With ``fsync`` the data reach the disk before the rename (crash-safe, slower). The
    temporary file is removed whatever happens. Creates the parent folder. Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_save_npy(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as a ``.npy`` file at ``path`` (exactly that name; no pickles) atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, np.asarray(array), allow_pickle=False)

    return atomic_write(path, write)


def atomic_write_text(path: Path, text: str, fsync: bool = True) -> Path:
    """Write ``text`` (UTF-8) at ``path`` atomically; fsynced by default (results-store files)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), fsync=fsync)


def array_cache_path(kind: str, arrays: Sequence[np.ndarray], settings: str, name: str, suffix: str) -> Path:
    """``<cache>/<kind>/<name>-<hash>.<suffix>`` for a result computed from ``arrays``.

    The hash (sha256, 20 hex) covers each array's bytes, shape and dtype and the ``settings``
    text, which must name everything else the result depends on (model, arguments).
    """
    from synthaug_utils.core.config import cache_dir

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(a.tobytes())
        h.update(f"{a.shape}|{a.dtype}".encode())
    h.update(settings.encode())
    return cache_dir() / kind / f"{name}-{h.hexdigest()[:20]}.{suffix}"
