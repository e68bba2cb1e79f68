"""Datasets, splits and the leakage guard.

Three real-format readers produce a :class:`DatasetTables` (training pool + test set):

- :func:`read_f17k` - Fitzpatrick17k: ``fitzpatrick17k.csv`` plus the authors' clean split
  files and an image folder of ``{md5hash}.jpg`` (the demo world uses ``.png``);
- :func:`read_ddi` - Stanford DDI: ``ddi_metadata.csv`` plus an image folder;
- :func:`read_byo` - bring your own: a CSV with ``path``, ``label`` (optional ``fst``,
  ``split``) or one folder per class.

:func:`make_splits` turns it into a :class:`SplitTables` (train pool, validation, test)
for one split seed, and :func:`training_subset` draws nested training subsets.
Every table has the columns ``image_id, path, label, fst, split``. Metadata-only
operations never touch image files; :func:`load_image_array` checks images and names
the missing or unreadable ones.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from synthaug_utils.config import Profile, check_ready, load_profile
from synthaug_utils.errors import DataError, LeakageError, MissingImagesError

COLUMNS = ["image_id", "path", "label", "fst", "split"]
F17K_TRAIN_FILE = "fitzpatrick17k_10label_clean_training.csv"
F17K_TEST_FILE = "fitzpatrick17k_10label_clean_held_out_set.csv"
F17K_REQUIRED = ("md5hash", "fitzpatrick_scale", "label")
DDI_REQUIRED = ("DDI_file", "skin_tone", "malignant")
DDI_TONES = (12, 34, 56)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


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

    def tidy(table: pd.DataFrame, split: str, path: Path) -> pd.DataFrame:
        table = table[table.label.isin(chosen)]
        dup = table.md5hash[table.md5hash.duplicated()]
        if len(dup):
            raise DataError(f"{path}: md5hash {dup.iloc[0]!r} appears more than once")
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
    return DatasetTables("f17k9", pool, held_out, sorted(chosen), meta={"images_dir": str(images_dir or "")})


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
    return DatasetTables("ddi", pool, None, ["benign", "malignant"], stratify="fst")


def read_byo(source: str | Path, test_per_label: int = 40, seed: int = 0) -> DatasetTables:
    """Bring your own data: a CSV (``path``, ``label``, optional ``fst`` and ``split``) or a folder per class.

    Relative paths in the CSV are relative to the CSV's folder. Without a ``split``
    column, ``test_per_label`` images per label are held out (seeded by ``seed``).
    """
    source = Path(source)
    if source.is_dir():
        rows = [
            {"path": str(p), "label": d.name}
            for d in sorted(source.iterdir())
            if d.is_dir()
            for p in sorted(d.iterdir())
            if p.suffix.lower() in IMAGE_SUFFIXES
        ]
        if not rows:
            raise DataError(f"{source}: no class folders with images ({', '.join(IMAGE_SUFFIXES)}) found")
        table = pd.DataFrame(rows)
    else:
        table = _read_csv(source, ("path", "label"), "bring-your-own CSV")
        table["path"] = [str(p if Path(p).is_absolute() else source.parent / p) for p in table.path.astype(str)]
    fst = _to_int(table["fst"], source, "fst") if "fst" in table else pd.Series(-1, index=table.index)
    base = source if source.is_dir() else source.parent
    image_ids = [_relative_id(p, base) for p in table.path]
    tidy = pd.DataFrame({"image_id": image_ids, "path": table.path, "label": table.label.astype(str), "fst": fst, "split": "train"})
    if tidy.image_id.duplicated().any():
        raise DataError(f"{source}: image {tidy.image_id[tidy.image_id.duplicated()].iloc[0]!r} is listed more than once")
    labels = sorted(tidy.label.unique())
    if "split" in table:
        splits = table.split.astype(str).str.lower()
        bad = ~splits.isin(["train", "test"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{source}: split row {row + 2} is {table.split.iloc[row]!r}; use 'train' or 'test'")
        tidy["split"] = splits.to_numpy()
        return DatasetTables("byo", tidy[tidy.split == "train"].reset_index(drop=True), tidy[tidy.split == "test"].reset_index(drop=True), labels)
    test_ids = set(_draw_per_group(tidy, "label", test_per_label, seed, "test").image_id)
    is_test = tidy.image_id.isin(test_ids)
    return DatasetTables("byo", tidy[~is_test].reset_index(drop=True), tidy[is_test].assign(split="test").reset_index(drop=True), labels)


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
        from synthaug_utils.demo_world import ensure_world

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
        check_ready(profile, needs=("f17k_metadata", "f17k_splits", "f17k_images"))
        return read_f17k(loc["f17k_metadata"], loc["f17k_splits"], loc["f17k_images"])
    check_ready(profile, needs=("ddi_metadata", "ddi_images"))
    return read_ddi(loc["ddi_metadata"], loc["ddi_images"])


def load_splits(profile: Profile | str, which: str = "main", split_seed: int = 0) -> SplitTables:
    """Split tables of the profile's dataset for ``split_seed`` (demo profiles draw their world on first use)."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    tables = dataset_tables(profile, which)
    if which == "ddi":
        return make_splits(tables, profile.ddi_per_bin, split_seed, test_per_group=profile.ddi_per_bin)
    return make_splits(tables, profile.val_per_label, split_seed)


def pretrain_pool(profile: Profile | str) -> pd.DataFrame:
    """Images reserved for pretraining the demo generator (demo/smoke only; never used by experiments)."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    if not profile.is_embedded:
        raise DataError(f"profile {profile.name!r} has no embedded pretraining pool; the paper profile uses public Stable Diffusion weights")
    from synthaug_utils.demo_world import ensure_world

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
def load_image(path: str | Path, size: int | None = None) -> Image.Image:
    """Open an image as RGB; with ``size``, resize the shorter side to ``size`` px and centre-crop to square."""
    img = Image.open(path)
    img.load()
    img = img.convert("RGB")
    if size is None:
        return img
    w, h = img.size
    scale = size / min(w, h)
    if (w, h) != (size, size):
        img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return img


def check_images(table: pd.DataFrame, show: int = 5) -> None:
    """Raise MissingImagesError if any image of ``table`` is missing or unreadable (names how many + the first few)."""
    bad = []
    for path in table.path:
        try:
            with Image.open(path) as img:
                img.verify()
        except (FileNotFoundError, IsADirectoryError, UnidentifiedImageError, OSError, SyntaxError, ValueError):
            bad.append(str(path))
    if bad:
        raise MissingImagesError(
            f"{len(bad)} of {len(table)} images are missing or unreadable; first: {bad[:show]}"
        )


def load_image_array(table: pd.DataFrame, size: int) -> np.ndarray:
    """All images of ``table`` as uint8 (N, size, size, 3); checks every image first, so nothing is half-loaded."""
    check_images(table)
    out = np.empty((len(table), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(table.path):
        out[i] = np.asarray(load_image(path, size))
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


def split_summary(splits: SplitTables) -> pd.DataFrame:
    """Tidy counts: one row per (split, label, fst) with column ``count``."""
    both = splits.all()
    return both.groupby(["split", "label", "fst"]).size().rename("count").reset_index()


# ----------------------------------------------------------------------------- CLI
def _cmd_summary(args) -> int:
    if args.dataset == "f17k9":
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
    if args.json:
        print(json.dumps(summary, indent=None))
    else:
        for label, row in summary["labels"].items():
            print(f"{label:32s} train_pool={row['train_pool']:5d} test={row['test']:4d} fst={row['fst']}")
        print(f"total={summary['total']}")
    return 0


def register_cli(subparsers) -> None:
    """``synthaug data summary``: dataset composition from metadata only."""
    data = subparsers.add_parser("data", help="dataset metadata: composition, splits")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    summary = sub.add_parser("summary", help="label and FST counts from metadata (no images needed)")
    summary.add_argument("--dataset", choices=["f17k9", "ddi", "profile", "profile-ddi"], default="f17k9")
    summary.add_argument("--metadata", help="fitzpatrick17k.csv or ddi_metadata.csv")
    summary.add_argument("--splits", help="folder with the clean Fitzpatrick17k split files")
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
