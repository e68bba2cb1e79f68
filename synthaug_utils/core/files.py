"""Atomic file writes for the caches and the results store.

Every file that other processes (parallel chapters, Dask workers on a shared folder) may read
is written under a temporary name in its own folder and then renamed over the target with
:func:`os.replace`, which is atomic on POSIX file systems: a reader sees the old file or the
new one, never a partial one, and a process killed mid-write leaves only a hidden ``*.tmp``
file (:func:`temporary_name`) that no reader opens.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image


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


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` at ``path`` atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_folder(final: Path, build: Callable[[Path], None], keep_existing: bool = False) -> Path:
    """Run ``build(tmp)`` on an empty temporary folder beside ``final``, then rename it to ``final``.

    An existing ``final`` is replaced; with ``keep_existing`` it is kept instead when the rename
    finds it there (another process finished first) and this build is discarded. The temporary
    folder is removed whatever happens. Returns ``final``.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(final)
    tmp.mkdir()
    try:
        build(tmp)
        if final.exists() and not keep_existing:
            shutil.rmtree(final)
        try:
            os.replace(tmp, final)
        except OSError:
            if not (keep_existing and final.exists()):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


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
    from synthaug_utils.core.paths import cache_dir

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(a.tobytes())
        h.update(f"{a.shape}|{a.dtype}".encode())
    h.update(settings.encode())
    return cache_dir() / kind / f"{name}-{h.hexdigest()[:20]}.{suffix}"


def save_png_atomic(array: np.ndarray, path: Path) -> None:
    """Write uint8 (H, W, 3) as PNG at ``path`` atomically."""
    atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format="PNG"))


def write_csv_atomic(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as CSV (no index) at ``path`` atomically."""
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock on a synthetic-set folder (another process writing it waits)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_DIGESTS: dict[tuple[str, int, int], str] = {}

_DIGEST_LOCK = threading.Lock()


def file_digest(path: str | os.PathLike, algorithm: str = "blake2b") -> str:
    """Content hash of a file, memoised per (path, size, mtime, algorithm).

    ``blake2b`` (default; 32 hex chars) names the feature cache, seeds augmented views and feeds
    the table digest; ``sha256`` (64 hex chars) names the per-image embedding caches and the
    trial record's ``manifest.sha256``. Neither may change: both name stored files.
    """
    if algorithm not in ("blake2b", "sha256"):
        raise ValueError(f"algorithm={algorithm!r}: use 'blake2b' or 'sha256'")
    path = str(path)
    try:
        stat = os.stat(path)
    except OSError as exc:
        from synthaug_utils.core.errors import MissingImagesError

        raise MissingImagesError(f"image file {path} is missing or unreadable: {exc}") from exc
    key = (path, stat.st_size, stat.st_mtime_ns, algorithm)
    with _DIGEST_LOCK:
        hit = _DIGESTS.get(key)
    if hit is None:
        with open(path, "rb") as handle:
            data = handle.read()
        hit = (
            hashlib.blake2b(data, digest_size=16).hexdigest()
            if algorithm == "blake2b"
            else hashlib.sha256(data).hexdigest()
        )
        with _DIGEST_LOCK:
            _DIGESTS[key] = hit
    return hit
