"""Checking every image of a dataset before work starts (cached), and loading image arrays."""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import PIL
from PIL import Image, ImageFile, UnidentifiedImageError

from synthaug_utils.core.errors import DataError, MissingImagesError
from synthaug_utils.core.files import atomic_write_text
from synthaug_utils.core.paths import cache_dir
from synthaug_utils.data.images import load_image, open_rgb
from synthaug_utils.data.tables import DatasetTables

# ----------------------------------------------------------------------------- image checks
IMAGE_CHECK_FILE = "image_checks.json"  # under config.cache_dir(): files that decoded, by (path, size, mtime)

_IMAGE_CHECK_FORMAT = 1

PROGRESS_MIN_IMAGES = 500  # more images to decode than this: a progress bar on stderr (when it is a terminal)


@dataclass(frozen=True)
class ImageCheck:
    """What :func:`validate_images` did: table rows, distinct files, files decoded now, files known good from the
    cache."""

    images: int
    files: int
    decoded: int
    cached: int


@contextlib.contextmanager
def _strict_decoding():
    """PIL's ``LOAD_TRUNCATED_IMAGES`` off for the block: a truncated file raises instead of loading grey."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def _path_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return os.fspath(value) if isinstance(value, (str, os.PathLike)) else str(value)


def _file_problem(path: str) -> tuple[os.stat_result | None, str | None]:
    """(stat, None) for a non-empty regular file, else (stat or None, the reason it cannot be an image)."""
    if not path:
        return None, "no file name (empty path)"
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None, "missing (no such file)"
    except OSError as exc:
        return None, f"cannot be accessed ({exc.strerror or exc})"
    if stat.S_ISDIR(st.st_mode):
        return st, "is a folder, not an image file"
    if not stat.S_ISREG(st.st_mode):
        return st, "not a regular file"
    if st.st_size == 0:
        return st, "empty (0 bytes)"
    return st, None


def _decode_reason(exc: BaseException) -> str:
    """The reason a file failed to open or decode, for the error message."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, UnidentifiedImageError):
        return "not an image PIL can identify (unknown format or damaged header)"
    if isinstance(exc, Image.DecompressionBombError):
        return f"too large to decode safely ({text})"
    if isinstance(exc, FileNotFoundError):
        return "missing (no such file)"
    if isinstance(exc, OSError) and ("truncated" in text.lower() or "broken data stream" in text):
        return f"truncated ({text})"
    if isinstance(exc, (EOFError, SyntaxError)):
        return f"truncated or damaged ({type(exc).__name__}: {text})"
    return f"cannot be decoded ({type(exc).__name__}: {text})"


def _decode_problem(path: str) -> str | None:
    """None when ``path`` opens fully decoded through :func:`open_rgb`, else the reason."""
    try:
        open_rgb(path)
    except Exception as exc:
        return _decode_reason(exc)
    return None


def _read_check_cache(path: Path) -> dict[str, list[int]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _IMAGE_CHECK_FORMAT or data.get("pillow") != PIL.__version__:
        return {}  # a different decoder may judge files differently
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _write_check_cache(path: Path, new: Mapping[str, list[int]]) -> None:
    files = _read_check_cache(path)  # re-read: another process may have added files meanwhile
    files.update(new)
    text = json.dumps({"format": _IMAGE_CHECK_FORMAT, "pillow": PIL.__version__, "files": files}, separators=(",", ":"))
    try:
        atomic_write_text(path, text, fsync=False)
    except OSError:  # a read-only cache folder: the check still ran, it just is not remembered
        pass


def _row_text(table: pd.DataFrame, i: int, rows: Mapping[str, str] | None) -> str:
    image_id = str(table.image_id.iloc[i]) if "image_id" in table else None
    where = (rows or {}).get(image_id) if image_id is not None else None
    where = where or f"table row {i}"
    return f"{where}, image_id {image_id}" if image_id is not None else where


def _images_error(
    what: str, table: pd.DataFrame, problems: Sequence[tuple[int, str, str]], rows: Mapping[str, str] | None
) -> MissingImagesError:
    """One error listing every (row index, path, reason)."""
    lines = [f"- {path} ({_row_text(table, i, rows)}): {reason}" for i, path, reason in sorted(problems)]
    kinds: dict[str, int] = {}
    for _i, _path, reason in problems:
        kinds[reason.split(" (")[0]] = kinds.get(reason.split(" (")[0], 0) + 1
    tally = "; ".join(f"{kind}: {n}" for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    return MissingImagesError(
        f"{what}: {len(problems)} of {len(table)} images are missing or unreadable ({tally}; all listed below). "
        f"Fix, replace or remove them (and their rows), then run again; nothing already computed was changed.\n"
        + "\n".join(lines)
    )


def validate_images(
    table: pd.DataFrame,
    what: str,
    *,
    rows: Mapping[str, str] | None = None,
    cache: bool = True,
    progress: bool | None = None,
    workers: int | None = None,
) -> ImageCheck:
    """Check that every image of ``table`` (column ``path``) can be read; raise one error listing every bad one.

    Each file is checked as a consumer reads it: it must exist, be a non-empty regular file and
    decode fully through :func:`open_rgb` with PIL's ``LOAD_TRUNCATED_IMAGES`` off (so a
    truncated JPEG fails here, not mid-run). Files that pass are remembered in
    ``cache_dir()/image_checks.json`` by (absolute path, size, mtime_ns) and are not decoded
    again until they change (``cache=False``: decode everything, remember nothing). More than
    :data:`PROGRESS_MIN_IMAGES` files to decode show a progress bar on stderr when it is a terminal
    (``progress`` forces it on or off).

    Raises :class:`~synthaug_utils.core.errors.MissingImagesError` (a UserFacingError) naming, for
    every missing, empty, truncated or undecodable file, its path, its row (``rows`` maps
    image_id -> e.g. ``"mine.csv line 7"``; else the table row) and image_id, and the reason.
    It only reads: nothing already computed is touched. ``what`` names the data in the message.
    Returns an :class:`ImageCheck` with the counts.
    """
    if "path" not in table:
        raise DataError(f"{what}: the table has no 'path' column")
    paths = [_path_text(p) for p in table.path]
    cache_file = cache_dir() / IMAGE_CHECK_FILE
    known = _read_check_cache(cache_file) if cache else {}
    problems: list[tuple[int, str, str]] = []
    reason_of: dict[str, str | None] = {}
    todo: dict[str, list[int]] = {}  # path -> [size, mtime_ns] of files to decode
    for path in dict.fromkeys(paths):
        st, reason = _file_problem(path)
        if reason is None:
            key = os.path.abspath(path)
            if known.get(key) == [st.st_size, st.st_mtime_ns]:
                reason_of[path] = None
                continue
            todo[path] = [st.st_size, st.st_mtime_ns]
        else:
            reason_of[path] = reason
    decoded = list(todo)
    if decoded:
        show = len(decoded) > PROGRESS_MIN_IMAGES and sys.stderr.isatty() if progress is None else progress
        workers = max(1, min(4, os.cpu_count() or 1)) if workers is None else max(1, int(workers))
        from tqdm import tqdm  # the terminal bar on stderr, also inside a notebook kernel

        with (
            _strict_decoding(),
            tqdm(
                total=len(decoded),
                desc=f"checking images ({what})",
                unit="img",
                file=sys.stderr,
                disable=not show,
                leave=False,
            ) as bar,
        ):
            if workers == 1 or len(decoded) < 32:
                results = []
                for path in decoded:
                    results.append(_decode_problem(path))
                    bar.update(1)
            else:  # PIL releases the GIL while decoding
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(workers) as pool:
                    results = []
                    for reason in pool.map(_decode_problem, decoded):
                        results.append(reason)
                        bar.update(1)
        reason_of.update(zip(decoded, results))
        good = {os.path.abspath(p): todo[p] for p, r in zip(decoded, results) if r is None}
        if cache and good:
            _write_check_cache(cache_file, good)
    for i, path in enumerate(paths):
        if reason_of[path] is not None:
            problems.append((i, path, reason_of[path]))
    if problems:
        raise _images_error(what, table, problems, rows)
    distinct = len(reason_of)
    return ImageCheck(images=len(paths), files=distinct, decoded=len(decoded), cached=distinct - len(decoded))


def validate_dataset_images(tables: DatasetTables, what: str | None = None, **kwargs) -> ImageCheck:
    """:func:`validate_images` over a dataset's training pool and test set, rows named from its metadata files."""
    both = pd.concat([tables.pool, tables.test], ignore_index=True) if tables.test is not None else tables.pool
    label = f"{what}: " if what else ""
    return validate_images(both, f"{label}{tables.name} (training pool + test)", rows=tables.meta.get("rows"), **kwargs)


def check_images(table: pd.DataFrame, what: str = "images") -> ImageCheck:
    """Raise MissingImagesError listing every missing or unreadable image of ``table`` (:func:`validate_images`)."""
    return validate_images(table, what)


def load_image_array(table: pd.DataFrame, size: int, what: str = "images") -> np.ndarray:
    """All images of ``table`` as uint8 (N, size, size, 3) through :func:`load_image`.

    Every image is read (each decoded once, with the checks of :func:`validate_images`) before
    the array is returned: any missing or unreadable file raises one MissingImagesError listing
    all of them, so nothing is half-loaded.
    """
    out = np.empty((len(table), size, size, 3), dtype=np.uint8)
    problems: list[tuple[int, str, str]] = []
    with _strict_decoding():
        for i, path in enumerate(_path_text(p) for p in table.path):
            _st, reason = _file_problem(path)
            if reason is None:
                try:
                    out[i] = np.asarray(load_image(path, size))
                except Exception as exc:
                    reason = _decode_reason(exc)
            if reason is not None:
                problems.append((i, path, reason))
    if problems:
        raise _images_error(what, table, problems, None)
    return out
