"""The content identity of a bring-your-own dataset: its rows and image bytes, not its place; cached file hashes.

A bring-your-own dataset's name in the results store (:func:`synthaug_utils.core.config.byo_dataset_name`)
ends in a digest of :func:`dataset_digest`, so moving or copying the folder keeps its stored trials,
while a changed row, image or grouping gets new ones. File digests (and a caller's per-file extra,
the perceptual hash of :mod:`synthaug_utils.data.groups`) are cached under ``cache_dir()/``
:data:`FILE_CACHE` by (absolute path, size, mtime), so a dataset is read once and again only where
files change.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from synthaug_utils.core import profiles

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

FILE_CACHE = "byo_file_hashes.json"  # under config.cache_dir(): digest (+ extra) by (absolute path, size, mtime)

_FILE_CACHE_FORMAT = 1

# The version of every stored key's recipe (trial specs, generation and DreamBooth settings). Raise it when
# what a key hashes changes (a new setting, another encoding): every key then changes at once, and a
# setting's key never needs a special case to keep older names.
KEY_VERSION = 2


def settings_key(data: dict, length: int) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``data`` with :data:`KEY_VERSION` (canonical JSON)."""
    text = json.dumps({**data, "key_version": KEY_VERSION}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


TABLE_COLUMNS = ("path", "label", "fst", "split", "group")  # the columns of a bring-your-own table that count


def relative_id(path: str, base: Path) -> str:
    """Image id of a bring-your-own image: its path relative to ``base`` when inside it, else the path."""
    try:
        return Path(path).resolve().relative_to(Path(base).resolve()).as_posix()
    except ValueError:
        return str(path)


def class_folder_images(source: Path) -> list[tuple[str, str]]:
    """(path, label) of every image in a class-folder tree, sorted; hidden files and folders (names
    starting with '.', e.g. macOS ``._x.jpg``) are skipped."""
    return [
        (str(p), d.name)
        for d in sorted(Path(source).iterdir())
        if d.is_dir() and not d.name.startswith(".")
        for p in sorted(d.iterdir())
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]


# ----------------------------------------------------------------------------- file hashes
def _read_cache(path: Path) -> dict[str, list]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _FILE_CACHE_FORMAT:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _write_cache(path: Path, new: dict[str, list]) -> None:
    from synthaug_utils.core.files import atomic_write_text

    files = _read_cache(path)  # re-read: another process may have added files meanwhile
    files.update(new)
    try:
        atomic_write_text(
            path, json.dumps({"format": _FILE_CACHE_FORMAT, "files": files}, separators=(",", ":")), fsync=False
        )
    except OSError:  # a read-only cache folder: the hashes are recomputed next time
        pass


def file_records(
    paths: Iterable[str], extra: Callable[[bytes], str] | None = None, extra_version: str = ""
) -> dict[str, tuple[str | None, str | None]]:
    """path -> (content digest, extra) of each file: blake2b of its bytes (32 hex chars) and, with
    ``extra``, ``extra(bytes)`` (cached under ``extra_version``; None when not asked for). Missing or
    unreadable files give (None, None)."""
    from synthaug_utils.core.paths import cache_dir

    cache_file = cache_dir() / FILE_CACHE
    known = _read_cache(cache_file)
    out: dict[str, tuple[str | None, str | None]] = {}
    new: dict[str, list] = {}
    for path in dict.fromkeys(str(p) for p in paths):
        key = os.path.abspath(path)
        try:
            stat = os.stat(path)
        except OSError:
            out[path] = (None, None)
            continue
        entry = known.get(key)
        fresh = isinstance(entry, list) and len(entry) == 5 and entry[:2] == [stat.st_size, stat.st_mtime_ns]
        if fresh and (extra is None or entry[3] == extra_version):
            out[path] = (entry[2], entry[4] if extra is not None else None)
            continue
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            out[path] = (None, None)
            continue
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        value = extra(data) if extra is not None else None
        out[path] = (digest, value)
        new[key] = [stat.st_size, stat.st_mtime_ns, digest, extra_version if extra is not None else None, value]
    if new:
        _write_cache(cache_file, new)
    return out


# ----------------------------------------------------------------------------- the dataset digest
def _rows(source: Path) -> tuple[list[tuple[str, ...]], list[str]]:
    """(rows of (image id, label, fst, split, group, path) as raw text, the optional columns present)."""
    if source.is_dir():
        return [(relative_id(p, source), label, "", "", "", p) for p, label in class_folder_images(source)], []
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    if "path" not in table or "label" not in table:
        raise ValueError("not a bring-your-own table")
    present = [c for c in TABLE_COLUMNS[2:] if c in table]
    text = {c: table[c].str.strip() if c in table else pd.Series("", index=table.index) for c in TABLE_COLUMNS}
    paths = [raw if Path(raw).is_absolute() else str(source.parent / raw) for raw in text["path"]]
    rows = [
        (relative_id(path, source.parent), label, fst, split.lower(), group, path)
        for path, label, fst, split, group in zip(paths, text["label"], text["fst"], text["split"], text["group"])
    ]
    return rows, present


NEAR_DUPLICATE_MAX_HAMMING = profiles.threshold("NEAR_DUPLICATE_MAX_HAMMING")  # of 64 pHash bits: at or below, alike


def dataset_digest(source: str | os.PathLike, group_near_duplicates: bool = True) -> str:
    """A digest of a bring-your-own table or class-folder tree (40 hex chars), independent of where it lies.

    It covers each row's image id (the path relative to the CSV's folder or the class-folder root),
    label, fst, split and group as written, which optional columns the table has, each image
    file's bytes (blake2b) and how groups are formed (the group column; near-duplicate clusters
    when ``group_near_duplicates``; none). Rows are sorted: the draws do not depend on row order.
    A source that cannot be read as a table is digested by its bytes (a missing one by its
    absolute path); every use of it stops with an error anyway.
    """
    source = Path(source).expanduser()
    h = hashlib.blake2b(digest_size=20)
    try:
        rows, present = _rows(source)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError):
        h.update(b"unreadable\n")
        h.update(source.read_bytes() if source.is_file() else str(source.absolute()).encode())
        return h.hexdigest()
    # the threshold decides the clusters, so it decides the draws: a new threshold is a new dataset
    grouping = (
        "column"
        if "group" in present
        else f"near-duplicates (pHash Hamming <= {NEAR_DUPLICATE_MAX_HAMMING})"
        if group_near_duplicates
        else "none"
    )
    h.update(f"columns: {','.join(present)}\ngrouping: {grouping}\n".encode())
    digests = file_records(r[-1] for r in rows)
    h.update("\n".join(sorted("\t".join([*r[:-1], digests[r[-1]][0] or "missing"]) for r in rows)).encode())
    return h.hexdigest()
