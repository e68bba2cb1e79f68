"""Datasets, splits and the leakage guard.

Three real-format readers produce a :class:`DatasetTables` (training pool + test set):

- :func:`read_f17k` - Fitzpatrick17k: ``fitzpatrick17k.csv`` plus the authors' clean split
  files and an image folder of ``{md5hash}.jpg`` (the demo world uses ``.png``);
- :func:`read_ddi` - Stanford DDI: ``ddi_metadata.csv`` plus an image folder;
- :func:`read_byo` - bring your own: a CSV with ``path``, ``label`` (optional ``fst``,
  ``split``) or one folder per class; the paper profile's main dataset when the location
  ``main_data`` is set (labels too small for their draws are an error, or dropped with
  ``min_images_per_label``); :func:`read_byo_binary` - a two-label table with ``fst`` for the
  DDI slot (``ddi_data``). :func:`dataset_capabilities` says which optional columns a dataset has.

:func:`make_splits` turns it into a :class:`SplitTables` (train pool, validation, test)
for one split seed, and :func:`training_subset` draws nested training subsets.
Every table has the columns ``image_id, path, label, fst, split``. Metadata-only
operations never touch image files.

Images: :func:`open_rgb` is the one function that opens an image file for every consumer
(training, generation sources, DreamBooth, embeddings, quality): greyscale, 16-bit, CMYK,
palette and alpha images are converted to RGB, transparent pixels are composited on white
(:data:`ALPHA_BACKGROUND`) and EXIF orientation is applied. :func:`validate_images` fully
decodes every image of a run once (cached by path, size and modification time) and raises one
:class:`~synthaug_utils.core.errors.MissingImagesError` listing every missing, empty, truncated or
undecodable file with its row; :func:`load_splits` calls it for non-embedded profiles before
any training or generation starts.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import PIL
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from synthaug_utils.core.config import Profile, byo_dataset_name, cache_dir, check_ready, load_profile
from synthaug_utils.core.errors import DataError, LeakageError, MissingImagesError
from synthaug_utils.core.files import atomic_write_text

COLUMNS = ["image_id", "path", "label", "fst", "split"]
F17K_TRAIN_FILE = "fitzpatrick17k_10label_clean_training.csv"
F17K_TEST_FILE = "fitzpatrick17k_10label_clean_held_out_set.csv"
F17K_REQUIRED = ("md5hash", "fitzpatrick_scale", "label")
DDI_REQUIRED = ("DDI_file", "skin_tone", "malignant")
DDI_TONES = (12, 34, 56)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
BYO_FST = (1, 2, 3, 4, 5, 6)  # Fitzpatrick skin types; -1 (or blank) = unknown
FST_TO_DDI_BIN = {1: 12, 2: 12, 3: 34, 4: 34, 5: 56, 6: 56}  # DDI's bins: FST I-II, III-IV, V-VI


@dataclass
class DatasetTables:
    """A dataset before the validation split: ``pool`` (training pool) and ``test`` (fixed held-out set,
    or None when the test set is drawn per split seed, as for DDI)."""

    name: str
    pool: pd.DataFrame
    test: pd.DataFrame | None
    labels: list[str]
    stratify: str = "label"  # column whose groups get val_per_group / test_per_group images
    meta: dict = field(default_factory=dict)


@dataclass
class SplitTables:
    """Train pool, validation and test tables of one dataset for one split seed."""

    train_pool: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    labels: list[str]
    dataset: str
    split_seed: int

    @property
    def evaluation_ids(self) -> frozenset[str]:
        """Image ids of the validation and test images (nothing derived from them may enter training)."""
        return frozenset(self.val.image_id) | frozenset(self.test.image_id)

    def all(self) -> pd.DataFrame:
        """All three tables stacked (columns as in :data:`COLUMNS`)."""
        return pd.concat([self.train_pool, self.val, self.test], ignore_index=True)


# ----------------------------------------------------------------------------- helpers
def _stable_seed(*parts: object) -> list[int]:
    """Seed material for numpy from text parts (stable across runs, platforms and input order)."""
    return [zlib.crc32("|".join(map(str, parts)).encode())]


def _read_csv(path: Path, required: Iterable[str], what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what}: file {path} does not exist")
    try:
        table = pd.read_csv(path)
    except Exception as exc:  # parser errors, empty files
        raise DataError(f"{what}: cannot read {path} as CSV: {exc}") from exc
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DataError(f"{what}: {path} lacks required column(s) {missing}; it has {list(table.columns)}")
    return table


def _file_lines(ids: Iterable[str], index: Iterable[int], path: Path) -> dict[str, str]:
    """image_id -> "FILE line N" for rows of a CSV read with a default index (line 1 is the header)."""
    name = Path(path).name
    return {str(i): f"{name} line {int(k) + 2}" for i, k in zip(ids, index)}


def _to_int(series: pd.Series, path: Path, column: str) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: column {column!r} row {row + 2} (file line) holds {series.iloc[row]!r}, not an integer")
    return values.astype(int)


# ----------------------------------------------------------------------------- readers
def read_f17k(
    metadata: str | Path | None,
    splits_dir: str | Path,
    images_dir: str | Path | None = None,
    n_labels: int = 9,
    image_ext: str = ".jpg",
    labels: Iterable[str] | None = None,
) -> DatasetTables:
    """Fitzpatrick17k with the authors' clean split files; the F17k-9 selection by default.

    The ``n_labels`` most common labels of the clean training pool are kept (ties by
    name) unless ``labels`` names them. ``metadata`` (``fitzpatrick17k.csv``), when
    given, must contain every md5hash of the split files and supplies their FST.
    Image paths are ``images_dir/{md5hash}{image_ext}`` (not checked here).
    """
    splits_dir = Path(splits_dir)
    train = _read_csv(splits_dir / F17K_TRAIN_FILE, F17K_REQUIRED, "Fitzpatrick17k clean training pool")
    test = _read_csv(splits_dir / F17K_TEST_FILE, F17K_REQUIRED, "Fitzpatrick17k clean held-out set")
    if metadata is not None:
        meta = _read_csv(Path(metadata), F17K_REQUIRED, "Fitzpatrick17k metadata")
        known = set(meta.md5hash)
        for name, table in (("training", train), ("held-out", test)):
            unknown = table.loc[~table.md5hash.isin(known), "md5hash"]
            if len(unknown):
                raise DataError(
                    f"{len(unknown)} md5hash(es) of the clean {name} file are not in {metadata}; "
                    f"first: {list(unknown[:3])}"
                )
        fst = meta.drop_duplicates("md5hash").set_index("md5hash").fitzpatrick_scale
        train = train.assign(fitzpatrick_scale=train.md5hash.map(fst))
        test = test.assign(fitzpatrick_scale=test.md5hash.map(fst))
    counts = train.label.value_counts()
    if labels is None:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        chosen = [name for name, _ in ranked[:n_labels]]
    else:
        chosen = list(labels)
        unknown = [lab for lab in chosen if lab not in counts.index]
        if unknown:
            raise DataError(
                f"unknown label(s) {unknown} for {splits_dir / F17K_TRAIN_FILE}; known: {sorted(counts.index)}"
            )
    images_dir = Path(images_dir) if images_dir is not None else None
    rows: dict[str, str] = {}

    def tidy(table: pd.DataFrame, split: str, path: Path) -> pd.DataFrame:
        table = table[table.label.isin(chosen)]
        dup = table.md5hash[table.md5hash.duplicated()]
        if len(dup):
            raise DataError(f"{path}: md5hash {dup.iloc[0]!r} appears more than once")
        rows.update(_file_lines(table.md5hash.astype(str), table.index, path))
        return pd.DataFrame(
            {
                "image_id": table.md5hash.astype(str).to_numpy(),
                "path": [str(images_dir / f"{h}{image_ext}") if images_dir else "" for h in table.md5hash],
                "label": table.label.to_numpy(),
                "fst": _to_int(table.fitzpatrick_scale, path, "fitzpatrick_scale").to_numpy(),
                "split": split,
            }
        )

    pool = tidy(train, "train", splits_dir / F17K_TRAIN_FILE)
    held_out = tidy(test, "test", splits_dir / F17K_TEST_FILE)
    overlap = set(pool.image_id) & set(held_out.image_id)
    if overlap:
        raise DataError(f"{len(overlap)} image(s) are in both the training and held-out files; first: {sorted(overlap)[:3]}")
    return DatasetTables(
        "f17k9", pool, held_out, sorted(chosen),
        meta={"images_dir": str(images_dir or ""), "rows": rows, "columns": ["fst", "split"], "source": str(splits_dir)},
    )


def read_ddi(metadata: str | Path, images_dir: str | Path | None = None) -> DatasetTables:
    """Stanford DDI: label malignant/benign, ``fst`` = skin-tone bin (12, 34, 56). Test is drawn per seed."""
    metadata = Path(metadata)
    table = _read_csv(metadata, DDI_REQUIRED, "DDI metadata")
    tones = _to_int(table.skin_tone, metadata, "skin_tone")
    bad = ~tones.isin(DDI_TONES)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{metadata}: skin_tone row {row + 2} is {tones.iloc[row]}, expected one of {DDI_TONES}")
    malignant = table.malignant.astype(str).str.strip().str.upper().map({"TRUE": True, "FALSE": False})
    if malignant.isna().any():
        row = int(np.flatnonzero(malignant.isna().to_numpy())[0])
        raise DataError(f"{metadata}: malignant row {row + 2} is {table.malignant.iloc[row]!r}, expected TRUE/FALSE")
    images_dir = Path(images_dir) if images_dir is not None else None
    ids = table.DDI_file.astype(str)
    if ids.duplicated().any():
        raise DataError(f"{metadata}: DDI_file {ids[ids.duplicated()].iloc[0]!r} appears more than once")
    pool = pd.DataFrame(
        {
            "image_id": ids.to_numpy(),
            "path": [str(images_dir / f) if images_dir else "" for f in ids],
            "label": np.where(malignant.astype(bool), "malignant", "benign"),
            "fst": tones.to_numpy(),
            "split": "train",
            "disease": table.get("disease", pd.Series([""] * len(table))).to_numpy(),
        }
    )
    meta = {"rows": _file_lines(ids, table.index, metadata), "columns": ["fst"], "source": str(metadata)}
    return DatasetTables("ddi", pool, None, ["benign", "malignant"], stratify="fst", meta=meta)


def _byo_rows(source: Path, what: str) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The rows of a bring-your-own table or class-folder tree: (tidy table, image_id -> row, optional columns).

    The tidy table has :data:`COLUMNS`; ``fst`` holds the raw numbers (-1 where blank or absent)
    and ``split`` the raw split column ('train' where absent). Hidden files and folders (names
    starting with '.', e.g. macOS ``._x.jpg``) are skipped in class folders.
    """
    if source.is_dir():
        found = [
            {"path": str(p), "label": d.name}
            for d in sorted(source.iterdir())
            if d.is_dir() and not d.name.startswith(".")
            for p in sorted(d.iterdir())
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        ]
        if not found:
            raise DataError(f"{what}: {source}: no class folders with images ({', '.join(IMAGE_SUFFIXES)}) found")
        table, base, columns, rows_of = pd.DataFrame(found), source, [], None
    else:
        table = _read_csv(source, ("path", "label"), what)
        base, columns, rows_of = source.parent, [c for c in ("fst", "split") if c in table], source
        for column in ("path", "label"):
            text = table[column].astype(str).str.strip()
            blank = table[column].isna() | text.eq("")
            if blank.any():
                row = int(np.flatnonzero(blank.to_numpy())[0])
                raise DataError(f"{what}: {source} line {row + 2}: column {column!r} is empty")
            table[column] = text
        table["path"] = [str(p if Path(p).is_absolute() else source.parent / p) for p in table.path]
    fst = pd.Series(-1, index=table.index)
    if "fst" in table:
        values = pd.to_numeric(table["fst"], errors="coerce")
        bad = values.isna() & table["fst"].notna() & table["fst"].astype(str).str.strip().ne("")
        bad |= values.notna() & (values != values.round())
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{what}: {source} line {row + 2}: fst is {table['fst'].iloc[row]!r}, not an integer")
        fst = values.fillna(-1).astype(int)
    tidy = pd.DataFrame(
        {
            "image_id": [_relative_id(p, base) for p in table.path],
            "path": table.path.astype(str).to_numpy(),
            "label": table.label.astype(str).to_numpy(),
            "fst": fst.to_numpy(),
            "split": "train",
        }
    )
    dup = tidy.image_id.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        where = f" (line {row + 2})" if rows_of is not None else ""
        raise DataError(f"{what}: {source}: image {tidy.image_id.iloc[row]!r} is listed more than once{where}")
    if "split" in columns:
        splits = table.split.astype(str).str.strip().str.lower()
        bad = ~splits.isin(["train", "test"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{what}: {source}: split line {row + 2} is {table.split.iloc[row]!r}; use 'train' or 'test'")
        tidy["split"] = splits.to_numpy()
    if rows_of is not None:
        rows = _file_lines(tidy.image_id, table.index, rows_of)
    else:
        rows = {i: f"class folder {label!r}" for i, label in zip(tidy.image_id, tidy.label)}
    return tidy, rows, columns


def _too_few(source: Path, problems: list[str], need: int, group: str, advice: str) -> DataError:
    return DataError(
        f"{source}: {len(problems)} {group}(s) have too few images to fill the validation and test draws "
        f"and keep at least one training image:\n" + "\n".join(f"- {p}" for p in problems) + f"\n{advice}"
    )


def read_byo(
    source: str | Path,
    test_per_label: int = 40,
    seed: int = 0,
    *,
    val_per_label: int = 0,
    min_images_per_label: int | None = None,
    name: str = "byo",
) -> DatasetTables:
    """Bring your own data: a CSV (``path``, ``label``, optional ``fst`` and ``split``) or a folder per class.

    Relative paths in the CSV are relative to the CSV's folder; ``fst`` is the Fitzpatrick
    skin type 1-6 (blank or -1: unknown); ``split`` is ``train`` or ``test``. Without a
    ``split`` column, ``test_per_label`` images per label are held out once (seeded by ``seed``;
    fixed across split seeds like Fitzpatrick17k's held-out file) and :func:`make_splits` later
    draws ``val_per_label`` per label from the rest.

    Every label must fill its test and validation draws and keep at least one training image
    (with a split column: ``val_per_label + 1`` training-split and 1 test-split image); else a
    DataError names every such label, its count and what it needs. ``min_images_per_label``
    drops labels with fewer images first; they are listed in ``meta["dropped"]`` as
    ``(label, count)`` pairs. ``meta["rows"]`` maps image ids to CSV lines and
    ``meta["columns"]`` names the optional columns the table has (see :func:`dataset_capabilities`).
    """
    source = Path(source).expanduser()
    what = "bring-your-own data"
    if not source.exists():
        raise DataError(f"{what}: {source} does not exist (give a CSV table with path,label columns or a folder per class)")
    tidy, rows, columns = _byo_rows(source, what)
    bad = ~tidy.fst.isin([*BYO_FST, -1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{what}: {source} line {row + 2}: fst is {tidy.fst.iloc[row]}; use a Fitzpatrick type 1-6, or -1/blank for unknown")
    dropped: list[tuple[str, int]] = []
    if min_images_per_label is not None:
        counts = tidy.label.value_counts()
        dropped = sorted((str(lab), int(n)) for lab, n in counts.items() if n < int(min_images_per_label))
        tidy = tidy[~tidy.label.isin([lab for lab, _ in dropped])]
    labels = sorted(tidy.label.unique())
    if len(labels) < 2:
        left = f" after dropping {len(dropped)} with fewer than {min_images_per_label} images (min_images_per_label)" if dropped else ""
        raise DataError(f"{what}: {source} has {len(labels)} label(s){left}: {labels}; a classifier needs at least 2")
    split_given = "split" in columns
    problems = []
    if split_given:
        for label in labels:
            n_pool = int(((tidy.label == label) & (tidy.split == "train")).sum())
            n_test = int(((tidy.label == label) & (tidy.split == "test")).sum())
            if n_pool < val_per_label + 1 or n_test < 1:
                problems.append(
                    f"label {label!r} has {n_pool} training-split and {n_test} test-split image(s); it needs at least "
                    f"{val_per_label + 1} in the training split ({val_per_label} validation + 1 training) and 1 in the test split"
                )
        need = val_per_label + 2
    else:
        need = test_per_label + val_per_label + 1
        for label in labels:
            n = int((tidy.label == label).sum())
            if n < need:
                problems.append(
                    f"label {label!r} has {n} image(s); it needs at least {need} "
                    f"({test_per_label} test + {val_per_label} validation + 1 training)"
                )
    if problems:
        raise _too_few(
            source, problems, need, "label",
            "Add images, lower test_per_label / val_per_label (profile overrides), or set min_images_per_label "
            f"(e.g. {need}) to drop such labels (the book names what was dropped).",
        )
    meta = {
        "source": str(source), "rows": rows, "columns": columns, "dropped": dropped,
        "min_images_per_label": min_images_per_label, "test_per_label": None if split_given else int(test_per_label),
    }
    if split_given:
        pool, test = tidy[tidy.split == "train"], tidy[tidy.split == "test"]
    else:
        test_ids = set(_draw_per_group(tidy, "label", test_per_label, seed, "test").image_id) if test_per_label else set()
        is_test = tidy.image_id.isin(test_ids)
        pool, test = tidy[~is_test], tidy[is_test].assign(split="test")
    return DatasetTables(name, pool.reset_index(drop=True), test.reset_index(drop=True), labels, meta=meta)


def read_byo_binary(source: str | Path, per_bin: int = 32, *, name: str = "byo-binary") -> DatasetTables:
    """Bring-your-own binary set for the DDI slot: a CSV with ``path``, ``label``, ``fst`` (optional ``split``).

    Exactly two labels (sorted by name; the chapters treat the second like DDI's
    ``malignant``). ``fst`` is required for every row: a Fitzpatrick type 1-6, binned like DDI
    (I-II -> 12, III-IV -> 34, V-VI -> 56), or DDI's bins 12/34/56 themselves. As for DDI,
    :func:`make_splits` draws ``per_bin`` test and ``per_bin`` validation images per skin-tone bin
    for each split seed (with a ``split`` column the test set is fixed), so every bin present must
    hold ``2 * per_bin + 1`` images (with a split column: ``per_bin + 1`` training-split and 1
    test-split image); else a DataError names every such bin.
    """
    source = Path(source).expanduser()
    what = "bring-your-own binary table (DDI slot)"
    if source.is_dir():
        raise DataError(f"{what}: {source} is a folder; the DDI slot needs a CSV table with path,label,fst columns (skin types cannot come from folders)")
    if not source.exists():
        raise DataError(f"{what}: {source} does not exist")
    tidy, rows, columns = _byo_rows(source, what)
    if "fst" not in columns:
        raise DataError(f"{what}: {source} has no fst column; the DDI slot compares skin types, so every row needs one (1-6)")
    bins = tidy.fst.map(lambda v: FST_TO_DDI_BIN.get(v, v if v in DDI_TONES else None))
    if bins.isna().any():
        row = int(np.flatnonzero(bins.isna().to_numpy())[0])
        raise DataError(f"{what}: {source} line {row + 2}: fst is {tidy.fst.iloc[row]}; use a Fitzpatrick type 1-6 (or DDI's 12, 34, 56)")
    tidy["fst"] = bins.astype(int).to_numpy()
    labels = sorted(tidy.label.unique())
    if len(labels) != 2:
        raise DataError(f"{what}: {source} has {len(labels)} label(s) {labels[:10]}; the DDI slot needs exactly 2")
    split_given = "split" in columns
    problems = []
    for tone in sorted(tidy.fst.unique()):
        here = tidy.fst == tone
        if split_given:
            n_pool, n_test = int((here & (tidy.split == "train")).sum()), int((here & (tidy.split == "test")).sum())
            if n_pool < per_bin + 1 or n_test < 1:
                problems.append(f"skin-tone bin {tone} has {n_pool} training-split and {n_test} test-split image(s); "
                                f"it needs at least {per_bin + 1} in the training split and 1 in the test split")
        elif here.sum() < 2 * per_bin + 1:
            problems.append(f"skin-tone bin {tone} has {int(here.sum())} image(s); it needs at least {2 * per_bin + 1} "
                            f"({per_bin} test + {per_bin} validation + 1 training)")
    if problems:
        raise _too_few(source, problems, 2 * per_bin + 1, "skin-tone bin", "Add images or lower ddi_per_bin (profile overrides).")
    meta = {"source": str(source), "rows": rows, "columns": columns, "dropped": []}
    if split_given:
        pool, test = tidy[tidy.split == "train"].reset_index(drop=True), tidy[tidy.split == "test"].reset_index(drop=True)
        return DatasetTables(name, pool, test, labels, stratify="fst", meta=meta)
    return DatasetTables(name, tidy, None, labels, stratify="fst", meta=meta)


def _relative_id(path: str, base: Path) -> str:
    """Image id of a bring-your-own image: its path relative to ``base`` when inside it, else the path."""
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------- splits
def _draw_per_group(table: pd.DataFrame, column: str, per_group: int, seed: int, purpose: str) -> pd.DataFrame:
    """``per_group`` rows per value of ``column``, drawn reproducibly (independent of row order)."""
    picks = []
    for value, group in table.groupby(column, sort=True):
        if len(group) < per_group:
            raise DataError(f"{column} {value!r} has {len(group)} images, fewer than the {per_group} needed for {purpose}")
        group = group.sort_values("image_id")
        order = np.random.default_rng(_stable_seed(purpose, seed, value)).permutation(len(group))
        picks.append(group.iloc[order[:per_group]])
    return pd.concat(picks)


def make_splits(tables: DatasetTables, val_per_group: int, split_seed: int, test_per_group: int | None = None) -> SplitTables:
    """Validation (and, for DDI, test) drawn per label or per skin-tone bin with ``split_seed``.

    Fitzpatrick17k: the held-out file is the test set; ``val_per_group`` images per label
    come from the training pool. DDI: ``test_per_group`` and ``val_per_group`` images per
    skin-tone bin; the rest is the training pool.
    """
    pool = tables.pool
    if tables.test is None:
        if test_per_group is None:
            raise DataError(f"{tables.name}: test_per_group is needed because the dataset has no fixed test set")
        test = _draw_per_group(pool, tables.stratify, test_per_group, split_seed, "test").assign(split="test")
        pool = pool[~pool.image_id.isin(set(test.image_id))]
    else:
        test = tables.test
    val = _draw_per_group(pool, tables.stratify, val_per_group, split_seed, "validation").assign(split="val")
    train = pool[~pool.image_id.isin(set(val.image_id))].assign(split="train")
    empty = [label for label in tables.labels if not (train.label == label).any()]
    if empty:
        raise DataError(
            f"{tables.name} (split seed {split_seed}): label(s) {empty} have no training image left after the "
            f"validation{' and test' if tables.test is None else ''} draws; add images or draw fewer"
        )
    return SplitTables(
        train.sort_values(["label", "image_id"]).reset_index(drop=True),
        val.sort_values(["label", "image_id"]).reset_index(drop=True),
        test.sort_values(["label", "image_id"]).reset_index(drop=True),
        list(tables.labels),
        tables.name,
        int(split_seed),
    )


def training_subset(
    splits: SplitTables,
    n_per_label: int | None,
    seed: int,
    per_label: dict[str, int] | None = None,
) -> pd.DataFrame:
    """``n_per_label`` training images per label (None = the whole pool), nested in n for a fixed seed.

    Each label's pool is put in a seeded random order once; a subset of size n is its
    first n images, so the 16-image subset contains the 1-image subset and so on.
    ``per_label`` overrides n for some labels (class-imbalance experiments).
    """
    per_label = dict(per_label or {})
    unknown = sorted(set(per_label) - set(splits.labels))
    if unknown:
        raise DataError(f"per_label names unknown label(s) {unknown}; labels: {splits.labels}")
    picks = []
    for label, group in splits.train_pool.groupby("label", sort=True):
        n = per_label.get(label, n_per_label)
        if n is None:
            picks.append(group)
            continue
        if n < 1 or n > len(group):
            raise DataError(
                f"n={n} training images requested for label {label!r}, but its training pool "
                f"(split seed {splits.split_seed}) has {len(group)}"
            )
        order = np.random.default_rng(_stable_seed("subset", seed, label)).permutation(len(group))
        picks.append(group.iloc[order[:n]])
    return pd.concat(picks).reset_index(drop=True)


# ----------------------------------------------------------------------------- profiles
def dataset_tables(profile: Profile | str, which: str = "main") -> DatasetTables:
    """The profile's dataset (``which`` = "main" for F17k-9 / demo-derm9, "ddi" for DDI / demo-ddi)."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    if which not in ("main", "ddi"):
        raise DataError(f"which={which!r}: use 'main' or 'ddi'")
    if profile.is_embedded:
        from synthaug_utils.data.world import ensure_world

        root = ensure_world(profile.world)
        if which == "main":
            tables = read_f17k(root / "derm9" / "fitzpatrick17k.csv", root / "derm9", root / "derm9" / "images", image_ext=".png")
            tables.name = "demo-derm9"
        else:
            tables = read_ddi(root / "ddi" / "ddi_metadata.csv", root / "ddi" / "images")
            tables.name = "demo-ddi"
        return tables
    loc = profile.locations
    if which == "main":
        if loc.get("main_data"):  # bring your own (replaces Fitzpatrick17k)
            check_ready(profile, needs=("main_data",))
            name = profile.dataset if profile.dataset != "f17k9" else byo_dataset_name(loc["main_data"])
            return read_byo(
                loc["main_data"], profile.test_per_label, val_per_label=profile.val_per_label,
                min_images_per_label=profile.min_images_per_label, name=name,
            )
        check_ready(profile, needs=("f17k_metadata", "f17k_splits", "f17k_images"))
        return read_f17k(loc["f17k_metadata"], loc["f17k_splits"], loc["f17k_images"])
    if loc.get("ddi_data"):  # a bring-your-own binary table (replaces DDI)
        check_ready(profile, needs=("ddi_data",))
        name = profile.ddi_dataset if profile.ddi_dataset != "ddi" else byo_dataset_name(loc["ddi_data"], "byo-binary")
        return read_byo_binary(loc["ddi_data"], profile.ddi_per_bin, name=name)
    check_ready(profile, needs=("ddi_metadata", "ddi_images"))
    return read_ddi(loc["ddi_metadata"], loc["ddi_images"])


def load_splits(profile: Profile | str, which: str = "main", split_seed: int = 0, *, validate: bool = True) -> SplitTables:
    """Split tables of the profile's dataset for ``split_seed`` (demo profiles draw their world on first use).

    On non-embedded profiles every image of the dataset (training pool + test) is checked
    first by :func:`validate_images` (once; cached), so a run stops before any training or
    generation with one error listing every missing or unreadable file.
    """
    profile = load_profile(profile) if isinstance(profile, str) else profile
    tables = dataset_tables(profile, which)
    if validate and not profile.is_embedded:
        validate_dataset_images(tables, f"profile {profile.name!r}, {which} dataset")
    if which == "ddi":
        return make_splits(tables, profile.ddi_per_bin, split_seed, test_per_group=profile.ddi_per_bin)
    return make_splits(tables, profile.val_per_label, split_seed)


def pretrain_pool(profile: Profile | str) -> pd.DataFrame:
    """Images reserved for pretraining the demo generator (demo/smoke only; never used by experiments)."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    if not profile.is_embedded:
        raise DataError(f"profile {profile.name!r} has no embedded pretraining pool; the paper profile uses public Stable Diffusion weights")
    from synthaug_utils.data.world import ensure_world

    root = ensure_world(profile.world) / "pretrain"
    table = pd.read_csv(root / "pretrain.csv")
    return pd.DataFrame(
        {
            "image_id": "pretrain-" + table.path.map(lambda p: Path(p).stem),
            "path": [str(root / p) for p in table.path],
            "label": table.label,
            "fst": table.fst.astype(int),
            "split": "pretrain",
        }
    )


# ----------------------------------------------------------------------------- images
ALPHA_BACKGROUND = (255, 255, 255)
"""RGB colour that transparent pixels are composited on: white.

A cut-out or masked dermatology photograph with a transparent margin then looks like a lesion
photographed on a white sheet, and the same file gives the same pixels in every consumer.
(Dropping the alpha channel instead, as a plain ``convert("RGB")`` does, shows whatever
colour the transparent pixels happen to store, often black.)"""
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _to_8bit_grey(img: Image.Image) -> Image.Image:
    """16-bit / 32-bit greyscale -> 8-bit "L" by scaling (PIL's convert would clip at 255)."""
    a = np.asarray(img)
    if img.mode.startswith("I;16"):
        a = a.astype(np.uint32) >> 8
    elif img.mode == "I":
        a = np.clip(a, 0, 65535)
        a = a >> 8 if a.max(initial=0) > 255 else a
    else:  # "F": [0, 1] floats are scaled, larger values clipped
        a = np.nan_to_num(a.astype(np.float64))
        a = np.rint(a * 255 if a.max(initial=0.0) <= 1.0 else a)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    """CMYK -> RGB through the embedded ICC profile when there is one (else PIL's plain formula)."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            import io

            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception:  # a broken or unusual profile: fall back to the plain conversion
            pass
    return img.convert("RGB")


def as_rgb(img: Image.Image) -> Image.Image:
    """A new RGB image with ``img``'s pixels (the conversion rules of :func:`open_rgb`, EXIF excepted).

    RGB is copied unchanged; greyscale ("1", "L", 16-bit "I;16", "I", "F") is scaled to 8 bit and
    replicated; CMYK goes through its ICC profile when present; palette images are expanded;
    images with alpha (RGBA, LA, PA, or a palette / greyscale / RGB image with a transparency
    key) are composited on :data:`ALPHA_BACKGROUND` (white).
    """
    if img.mode == "RGB" and "transparency" not in img.info:
        return img.copy()
    if img.mode in _HIGH_BIT_MODES:
        transparency = img.info.get("transparency")
        img = _to_8bit_grey(img)
        if isinstance(transparency, int):
            img.info["transparency"] = transparency >> 8 if transparency > 255 else transparency
    if img.mode in ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode == "CMYK":
        return _cmyk_to_rgb(img)
    return img.convert("RGB")


def open_rgb(path: str | os.PathLike) -> Image.Image:
    """Open an image file as an 8-bit RGB PIL image: the one reader every consumer uses.

    The file is fully decoded (first frame of multi-frame files); its EXIF orientation is
    applied (``PIL.ImageOps.exif_transpose``); then :func:`as_rgb` converts greyscale, 16-bit,
    CMYK, palette and alpha images (transparent pixels become white, :data:`ALPHA_BACKGROUND`).
    An RGB file without EXIF orientation gives exactly the pixels of
    ``Image.open(path).convert("RGB")`` (and of fastai's ``PILImage.create(path)``).
    Raises what PIL raises for missing or undecodable files (OSError and subclasses).
    """
    with Image.open(path) as img:
        img.load()
        try:
            ImageOps.exif_transpose(img, in_place=True)
        except Exception:  # unreadable EXIF block: keep the stored orientation
            pass
        return as_rgb(img)


def _fit_square(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to ``size`` px (bicubic) and centre-crop to ``size`` x ``size``."""
    w, h = img.size
    scale = size / min(w, h)
    if (w, h) != (size, size):
        img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return img


def load_image(path: str | Path, size: int | None = None) -> Image.Image:
    """Open an image as RGB (:func:`open_rgb`); with ``size``, resize the shorter side to ``size`` px and centre-crop to square."""
    img = open_rgb(path)
    return img if size is None else _fit_square(img, size)


# ----------------------------------------------------------------------------- image checks
IMAGE_CHECK_FILE = "image_checks.json"  # under config.cache_dir(): files that decoded, by (path, size, mtime)
_IMAGE_CHECK_FORMAT = 1
PROGRESS_MIN_IMAGES = 500  # more images to decode than this: a progress bar on stderr (when it is a terminal)


@dataclass(frozen=True)
class ImageCheck:
    """What :func:`validate_images` did: table rows, distinct files, files decoded now, files known good from the cache."""

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


def _images_error(what: str, table: pd.DataFrame, problems: Sequence[tuple[int, str, str]], rows: Mapping[str, str] | None) -> MissingImagesError:
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

        with _strict_decoding(), tqdm(total=len(decoded), desc=f"checking images ({what})", unit="img",
                                      file=sys.stderr, disable=not show, leave=False) as bar:
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


# ----------------------------------------------------------------------------- leakage
def assert_no_leakage(source_ids: Iterable[str], splits: SplitTables, context: str) -> None:
    """Refuse sources that are validation or test images of ``splits`` (raises LeakageError naming them)."""
    evaluation = splits.evaluation_ids
    leaked = sorted({str(s) for s in source_ids} & evaluation)
    if leaked:
        where = {i: s for i, s in zip(splits.val.image_id, splits.val.split)}
        where.update({i: "test" for i in splits.test.image_id})
        detail = ", ".join(f"{i} ({where.get(i, 'eval')})" for i in leaked[:5])
        raise LeakageError(
            f"{context}: {len(leaked)} source image(s) belong to the validation or test split of "
            f"{splits.dataset} (split seed {splits.split_seed}); first: {detail}"
        )


# ----------------------------------------------------------------------------- summaries
def composition(tables: DatasetTables) -> dict:
    """Per-label counts of the training pool and test set and the FST distribution (pool + test), as a dict."""
    both = pd.concat([tables.pool, tables.test]) if tables.test is not None else tables.pool
    fst_keys = [str(t) for t in DDI_TONES] if tables.stratify == "fst" else ["1", "2", "3", "4", "5", "6", "-1"]
    labels = {}
    for label in tables.labels:
        sub = both[both.label == label]
        fst_counts = sub.fst.astype(str).value_counts()
        labels[label] = {
            "train_pool": int((tables.pool.label == label).sum()),
            "test": int((tables.test.label == label).sum()) if tables.test is not None else 0,
            "fst": {k: int(fst_counts.get(k, 0)) for k in fst_keys},
        }
    return {"labels": labels, "total": int(sum(v["train_pool"] + v["test"] for v in labels.values()))}


@dataclass(frozen=True)
class DatasetCapabilities:
    """Which optional information a dataset holds, so a chapter can skip what the data cannot support.

    ``fst_column``: the source has a skin-type column; ``has_fst``: at least one image has a known
    skin type (fst != -1); ``fst_values``: the known values; ``split_given``: the test set comes
    from the data (a split column or held-out file) rather than being drawn; ``dropped``: labels
    removed by ``min_images_per_label`` as (label, count) pairs.
    """

    name: str
    labels: tuple[str, ...]
    fst_column: bool
    has_fst: bool
    fst_values: tuple[int, ...]
    split_given: bool
    dropped: tuple[tuple[str, int], ...] = ()

    def missing(self, need: str) -> str | None:
        """A sentence saying why an analysis needing ``need`` ("fst") cannot run on this dataset; None when it can."""
        if need != "fst":
            raise ValueError(f"unknown dataset requirement {need!r}; known: 'fst'")
        if self.has_fst:
            return None
        if not self.fst_column:
            return f"Skin-type analysis skipped: the dataset {self.name} has no fst column (Fitzpatrick skin type)."
        return f"Skin-type analysis skipped: the fst column of the dataset {self.name} holds no known skin type (all blank or -1)."

    def dropped_sentence(self) -> str | None:
        """A sentence naming the labels dropped by ``min_images_per_label`` (None when none were)."""
        if not self.dropped:
            return None
        names = ", ".join(f"{label!r} ({n} images)" for label, n in self.dropped)
        return f"{len(self.dropped)} label(s) with fewer images than min_images_per_label were left out: {names}."


def dataset_capabilities(tables: DatasetTables) -> DatasetCapabilities:
    """:class:`DatasetCapabilities` of a dataset (from its tables; no image is read)."""
    both = pd.concat([tables.pool, tables.test]) if tables.test is not None else tables.pool
    known = sorted(int(v) for v in both.fst.unique() if int(v) != -1)
    columns = tables.meta.get("columns", ["fst"])
    return DatasetCapabilities(
        name=tables.name,
        labels=tuple(tables.labels),
        fst_column="fst" in columns,
        has_fst=bool(known),
        fst_values=tuple(known),
        split_given=tables.test is not None and tables.meta.get("test_per_label") is None,
        dropped=tuple((str(label), int(n)) for label, n in tables.meta.get("dropped", ())),
    )


def split_summary(splits: SplitTables) -> pd.DataFrame:
    """Tidy counts: one row per (split, label, fst) with column ``count``."""
    both = splits.all()
    return both.groupby(["split", "label", "fst"]).size().rename("count").reset_index()


# ----------------------------------------------------------------------------- CLI
def _cmd_summary(args) -> int:
    if args.dataset in ("byo", "byo-binary"):
        if not args.source:
            raise DataError(f"--dataset {args.dataset} needs --source PATH (a CSV table, or for byo a folder per class)")
        P = load_profile(args.profile, args.config)
        if args.dataset == "byo":
            tables = read_byo(
                args.source,
                P.test_per_label if args.test_per_label is None else args.test_per_label,
                val_per_label=P.val_per_label if args.val_per_label is None else args.val_per_label,
                min_images_per_label=P.min_images_per_label if args.min_images_per_label is None else args.min_images_per_label,
                name=byo_dataset_name(args.source),
            )
        else:
            tables = read_byo_binary(args.source, P.ddi_per_bin, name=byo_dataset_name(args.source, "byo-binary"))
    elif args.dataset == "f17k9":
        if not args.splits:
            raise DataError("--dataset f17k9 needs --splits FOLDER (the clean split files); --metadata is optional")
        tables = read_f17k(args.metadata, args.splits, None)
    elif args.dataset == "ddi":
        if not args.metadata:
            raise DataError("--dataset ddi needs --metadata ddi_metadata.csv")
        tables = read_ddi(args.metadata)
    else:
        tables = dataset_tables(load_profile(args.profile, args.config), "main" if args.dataset == "profile" else "ddi")
    summary = composition(tables)
    if args.dataset in ("byo", "byo-binary"):
        caps = dataset_capabilities(tables)
        summary.update(dataset=tables.name, has_fst=caps.has_fst, dropped=[list(d) for d in caps.dropped])
    if args.json:
        print(json.dumps(summary, indent=None))
    else:
        for label, row in summary["labels"].items():
            print(f"{label:32s} train_pool={row['train_pool']:5d} test={row['test']:4d} fst={row['fst']}")
        print(f"total={summary['total']}")
        if summary.get("dropped"):
            print("dropped (min_images_per_label): " + ", ".join(f"{label} ({n})" for label, n in summary["dropped"]))
    return 0


def register_cli(subparsers) -> None:
    """``synthaug data summary``: dataset composition from metadata only."""
    data = subparsers.add_parser("data", help="dataset metadata: composition, splits")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    summary = sub.add_parser("summary", help="label and FST counts from metadata (no images needed)")
    summary.add_argument("--dataset", choices=["f17k9", "ddi", "byo", "byo-binary", "profile", "profile-ddi"], default="f17k9",
                         help="byo: your own table (path,label[,fst][,split]) or folder per class; byo-binary: a "
                              "two-label table with fst for the DDI slot; profile / profile-ddi: the profile's datasets")
    summary.add_argument("--metadata", help="fitzpatrick17k.csv or ddi_metadata.csv")
    summary.add_argument("--splits", help="folder with the clean Fitzpatrick17k split files")
    summary.add_argument("--source", help="with --dataset byo / byo-binary: the CSV table or class-folder tree")
    summary.add_argument("--test-per-label", type=int, default=None, help="byo without a split column: test images per label (default: the profile's)")
    summary.add_argument("--val-per-label", type=int, default=None, help="byo: validation images per label (default: the profile's)")
    summary.add_argument("--min-images-per-label", type=int, default=None, help="byo: drop labels with fewer images (default: the profile's)")
    summary.add_argument("--profile", default="demo", help="with --dataset profile / profile-ddi")
    summary.add_argument("--config", default=None, help="YAML config file with data locations")
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(func=_cmd_summary)
    data.set_defaults(func=lambda args: data.print_help() or 2)


def example_grid(
    table: pd.DataFrame, labels: list[str], fsts: list[int], size: int, seed: int = 0
) -> np.ndarray:
    """One example image per (label, fst) cell: uint8 (len(labels), len(fsts), size, size, 3).

    Cells without an image of that label and skin type stay black (all zeros).
    """
    grid = np.zeros((len(labels), len(fsts), size, size, 3), dtype=np.uint8)
    for r, label in enumerate(labels):
        for c, fst in enumerate(fsts):
            cell = table[(table.label == label) & (table.fst == fst)].sort_values("image_id")
            if len(cell):
                pick = np.random.default_rng(_stable_seed("example", seed, label, fst)).integers(len(cell))
                grid[r, c] = load_image_array(cell.iloc[[pick]], size)[0]
    return grid
