"""The synthetic-set manifest: columns, the one reader, the writer, selection."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from synthaug_utils.core.errors import DataError
from synthaug_utils.core.files import write_csv_atomic

MANIFEST_COLUMNS = [
    "synthetic_id",
    "source_id",
    "label",
    "fst",
    "method",
    "stage",
    "variant",
    "index",
    "seed",
    "model_id",
    "model_hash",
    "steps",
    "guidance_scale",
    "strength",
    "resolution",
    "prompt",
    "mask",
    "path",
]

MANIFEST_NAME = "manifest.csv"

# ----------------------------------------------------------------------------- manifests
MANIFEST_DTYPES = {
    "synthetic_id": str,
    "source_id": str,
    "label": str,
    "method": str,
    "stage": str,
    "variant": str,
    "model_id": str,
    "model_hash": str,
    "prompt": str,
    "mask": str,
    "path": str,
}


def read_manifest(path_or_folder: str | Path, splits=None, check_files: bool = False) -> pd.DataFrame:
    """A manifest (``manifest.csv`` or its folder, see :func:`manifest_file`) with :data:`MANIFEST_COLUMNS`
    and absolute ``path``; a missing manifest raises DataError saying what to do.

    With ``splits``, refuses (LeakageError) rows whose source is a validation or test image.
    With ``check_files``, raises MissingImagesError if listed images are missing.
    """
    path = manifest_file(Path(path_or_folder).expanduser())
    if not path.is_file():
        raise DataError(
            f"synthetic manifest {path} does not exist; generate the set first (synthaug generate ...) "
            f"or pass the folder that holds manifest.csv"
        )
    table = pd.read_csv(path, dtype=MANIFEST_DTYPES, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{path}: manifest lacks column(s) {missing}")
    table["path"] = [str((path.parent / p).resolve()) if not Path(p).is_absolute() else p for p in table.path]
    for column in ("fst", "index", "seed", "steps", "resolution"):
        table[column] = table[column].astype("int64")
    for column in ("guidance_scale", "strength"):
        table[column] = table[column].astype(float)
    if splits is not None:
        from synthaug_utils.data.splits import assert_no_leakage

        assert_no_leakage(table.source_id, splits, context=f"synthetic images of {path}")
    if check_files:
        from synthaug_utils.core.errors import MissingImagesError

        absent = [p for p in table.path if not Path(p).is_file()]
        if absent:
            raise MissingImagesError(
                f"{len(absent)} of {len(table)} images listed in {path} are missing; first: {absent[:5]}"
            )
    return table[MANIFEST_COLUMNS + [c for c in table.columns if c not in MANIFEST_COLUMNS]]


def select_synthetic(
    manifest: pd.DataFrame,
    source_ids: Iterable[str],
    per_real: int,
    stages: Sequence[str] = ("final", "inpaint"),
    splits=None,
) -> pd.DataFrame:
    """Rows for these sources with index < ``per_real`` and a stage in ``stages`` (a manifest may hold more).

    With ``splits``, refuses (LeakageError) selected rows whose source is a validation or test image. A
    profile's set is shared by every split whose images it serves, so it may list images of sources
    that are evaluation images of this split; the guard checks what is selected.
    """
    ids = {str(s) for s in source_ids}
    keep = manifest.source_id.isin(ids) & (manifest["index"] < per_real) & manifest.stage.isin(list(stages))
    chosen = manifest[keep].reset_index(drop=True)
    if splits is not None:
        from synthaug_utils.data.splits import assert_no_leakage

        assert_no_leakage(chosen.source_id, splits, context="synthetic images selected for training")
    return chosen


def write_manifest(folder: Path, rows: pd.DataFrame) -> Path:
    """Merge ``rows`` into the folder's manifest (new rows win by synthetic_id) and write it atomically.

    Rows whose image file is gone are dropped, so every listed image exists.
    """
    path = folder / MANIFEST_NAME
    if path.is_file():
        old = pd.read_csv(path, dtype=MANIFEST_DTYPES, keep_default_na=False)
        rows = pd.concat([old[~old.synthetic_id.isin(set(rows.synthetic_id))], rows], ignore_index=True)
    exists = np.array([(folder / p).is_file() for p in rows.path], dtype=bool)
    rows = rows[exists]
    rows = rows.sort_values(["variant", "method", "label", "source_id", "index", "stage"]).reset_index(drop=True)
    write_csv_atomic(rows[MANIFEST_COLUMNS], path)
    return path


def manifest_file(folder: str | os.PathLike) -> Path:
    """The manifest CSV of a synthetic-set folder (or the file itself)."""
    path = Path(folder)
    return path / MANIFEST_NAME if path.is_dir() or not path.suffix else path
