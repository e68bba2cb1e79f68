"""Dataset tables: Fitzpatrick17k and DDI readers, ``DatasetTables``/``SplitTables``, the table digest."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from synthaug_utils.core.errors import DataError
from synthaug_utils.core.files import file_digest
from synthaug_utils.core.identity import IMAGE_SUFFIXES  # noqa: F401  (the readers' image suffixes, defined once)

COLUMNS = ["image_id", "path", "label", "fst", "split"]

F17K_TRAIN_FILE = "fitzpatrick17k_10label_clean_training.csv"

F17K_TEST_FILE = "fitzpatrick17k_10label_clean_held_out_set.csv"

F17K_REQUIRED = ("md5hash", "fitzpatrick_scale", "label")

DDI_REQUIRED = ("DDI_file", "skin_tone", "malignant")

DDI_TONES = (12, 34, 56)


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
def stable_seed(*parts: object) -> list[int]:
    """Seed material for numpy from text parts (stable across runs, platforms and input order)."""
    return [zlib.crc32("|".join(map(str, parts)).encode())]


def read_required_csv(path: Path, required: Iterable[str], what: str) -> pd.DataFrame:
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


def file_lines(ids: Iterable[str], index: Iterable[int], path: Path) -> dict[str, str]:
    """image_id -> "FILE line N" for rows of a CSV read with a default index (line 1 is the header)."""
    name = Path(path).name
    return {str(i): f"{name} line {int(k) + 2}" for i, k in zip(ids, index)}


def _to_int(series: pd.Series, path: Path, column: str) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: column {column!r} row {row + 2} (file line) holds {series.iloc[row]!r}, not an integer"
        )
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
    train = read_required_csv(splits_dir / F17K_TRAIN_FILE, F17K_REQUIRED, "Fitzpatrick17k clean training pool")
    test = read_required_csv(splits_dir / F17K_TEST_FILE, F17K_REQUIRED, "Fitzpatrick17k clean held-out set")
    if metadata is not None:
        meta = read_required_csv(Path(metadata), F17K_REQUIRED, "Fitzpatrick17k metadata")
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
        rows.update(file_lines(table.md5hash.astype(str), table.index, path))
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
        raise DataError(
            f"{len(overlap)} image(s) are in both the training and held-out files; first: {sorted(overlap)[:3]}"
        )
    return DatasetTables(
        "f17k9",
        pool,
        held_out,
        sorted(chosen),
        meta={
            "images_dir": str(images_dir or ""),
            "rows": rows,
            "columns": ["fst", "split"],
            "source": str(splits_dir),
        },
    )


def read_ddi(metadata: str | Path, images_dir: str | Path | None = None) -> DatasetTables:
    """Stanford DDI: label malignant/benign, ``fst`` = skin-tone bin (12, 34, 56). Test is drawn per seed."""
    metadata = Path(metadata)
    table = read_required_csv(metadata, DDI_REQUIRED, "DDI metadata")
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
    meta = {"rows": file_lines(ids, table.index, metadata), "columns": ["fst"], "source": str(metadata)}
    return DatasetTables("ddi", pool, None, ["benign", "malignant"], stratify="fst", meta=meta)


# ----------------------------------------------------------------------------- splits
def draw_per_group(table: pd.DataFrame, column: str, per_group: int, seed: int, purpose: str) -> pd.DataFrame:
    """``per_group`` rows per value of ``column``, drawn reproducibly (independent of row order)."""
    picks = []
    for value, group in table.groupby(column, sort=True):
        if len(group) < per_group:
            raise DataError(
                f"{column} {value!r} has {len(group)} images, fewer than the {per_group} needed for {purpose}"
            )
        group = group.sort_values("image_id")
        order = np.random.default_rng(stable_seed(purpose, seed, value)).permutation(len(group))
        picks.append(group.iloc[order[:per_group]])
    return pd.concat(picks)


def table_digest(table: pd.DataFrame) -> str:
    """Hash of a data table: sorted (image_id, label, file content hash) triples (16 hex chars)."""
    h = hashlib.blake2b(digest_size=8)
    rows = sorted(zip(table.image_id.astype(str), table.label.astype(str), table.path.astype(str)))
    for image_id, label, path in rows:
        h.update(f"{image_id}\t{label}\t{file_digest(path)}\n".encode())
    return h.hexdigest()
