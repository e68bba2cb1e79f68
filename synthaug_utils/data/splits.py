"""Splits, nested training subsets, the profile's dataset tables, the pretraining pool and the leakage guard."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from synthaug_utils.core.config import Profile, byo_dataset_name
from synthaug_utils.core.errors import DataError, LeakageError
from synthaug_utils.core.inputs import check_ready
from synthaug_utils.data.byo import read_byo, read_byo_binary
from synthaug_utils.data.checks import validate_dataset_images
from synthaug_utils.data.groups import draw_by_group
from synthaug_utils.data.near_duplicates import profile_near_duplicates
from synthaug_utils.data.tables import DatasetTables, SplitTables, read_ddi, read_f17k, stable_seed


def make_splits(
    tables: DatasetTables, val_per_group: int, split_seed: int, test_per_group: int | None = None
) -> SplitTables:
    """Validation (and, for DDI, test) drawn per label or per skin-tone bin with ``split_seed``.

    Fitzpatrick17k: the held-out file is the test set; ``val_per_group`` images per label
    come from the training pool. DDI: ``test_per_group`` and ``val_per_group`` images per
    skin-tone bin; the rest is the training pool. Bring-your-own data with groups
    (``tables.meta["groups"]``: a group column or near-duplicate clusters) is drawn by whole
    groups, so no group is in two splits.
    """
    pool, groups = tables.pool, tables.meta.get("groups")
    if tables.test is None:
        if test_per_group is None:
            raise DataError(f"{tables.name}: test_per_group is needed because the dataset has no fixed test set")
        test = draw_by_group(pool, tables.stratify, test_per_group, split_seed, "test", groups).assign(split="test")
        pool = pool[~pool.image_id.isin(set(test.image_id))]
    else:
        test = tables.test
    val = draw_by_group(pool, tables.stratify, val_per_group, split_seed, "validation", groups).assign(split="val")
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
        order = np.random.default_rng(stable_seed("subset", seed, label)).permutation(len(group))
        picks.append(group.iloc[order[:n]])
    return pd.concat(picks).reset_index(drop=True)


# ----------------------------------------------------------------------------- profiles
def dataset_which(profile: Profile, dataset: str) -> str:
    """'ddi' when ``dataset`` names the profile's DDI-like dataset (``ddi_dataset``, or the DDI
    readers' own names 'ddi' and 'demo-ddi'), else 'main': the ``which`` of :func:`dataset_tables`."""
    return "ddi" if dataset in (profile.ddi_dataset, "ddi", "demo-ddi") else "main"


def dataset_tables(profile: Profile, which: str = "main") -> DatasetTables:
    """The profile's dataset (``which`` = "main" for F17k-9 / demo-derm9, "ddi" for DDI / demo-ddi)."""
    if which not in ("main", "ddi"):
        raise DataError(f"which={which!r}: use 'main' or 'ddi'")
    if profile.is_embedded:
        from synthaug_utils.data.world import ensure_world

        root = ensure_world(profile.world)
        if which == "main":
            tables = read_f17k(
                root / "derm9" / "fitzpatrick17k.csv", root / "derm9", root / "derm9" / "images", image_ext=".png"
            )
            tables.name = "demo-derm9"
        else:
            tables = read_ddi(root / "ddi" / "ddi_metadata.csv", root / "ddi" / "images")
            tables.name = "demo-ddi"
        return tables
    loc = profile.locations
    if which == "main":
        if loc.get("main_data"):  # bring your own (replaces Fitzpatrick17k)
            check_ready(profile, needs=("main_data",))
            near = profile.group_near_duplicates
            name = (
                profile.dataset
                if profile.dataset != "f17k9"
                else byo_dataset_name(loc["main_data"], group_near_duplicates=near)
            )
            return read_byo(
                loc["main_data"],
                profile.test_per_label,
                val_per_label=profile.val_per_label,
                min_images_per_label=profile.min_images_per_label,
                name=name,
                group_near_duplicates=near,
            )
        check_ready(profile, needs=("f17k_metadata", "f17k_splits", "f17k_images"))
        tables = read_f17k(loc["f17k_metadata"], loc["f17k_splits"], loc["f17k_images"])
        return profile_near_duplicates(tables, profile)  # test_set, training_pool (the defaults change nothing)
    if loc.get("ddi_data"):  # a bring-your-own binary table (replaces DDI)
        check_ready(profile, needs=("ddi_data",))
        near = profile.group_near_duplicates
        name = (
            profile.ddi_dataset
            if profile.ddi_dataset != "ddi"
            else byo_dataset_name(loc["ddi_data"], "byo-binary", group_near_duplicates=near)
        )
        return read_byo_binary(loc["ddi_data"], profile.ddi_per_bin, name=name, group_near_duplicates=near)
    check_ready(profile, needs=("ddi_metadata", "ddi_images"))
    return read_ddi(loc["ddi_metadata"], loc["ddi_images"])


def load_splits(profile: Profile, which: str = "main", split_seed: int = 0, *, validate: bool = True) -> SplitTables:
    """Split tables of the profile's dataset for ``split_seed`` (demo profiles draw their world on first use).

    On non-embedded profiles every image of the dataset (training pool + test) is checked
    first by :func:`validate_images` (once; cached), so a run stops before any training or
    generation with one error listing every missing or unreadable file.
    """
    tables = dataset_tables(profile, which)
    if validate and not profile.is_embedded:
        validate_dataset_images(tables, f"profile {profile.name!r}, {which} dataset")
    if which == "ddi":
        return make_splits(tables, profile.ddi_per_bin, split_seed, test_per_group=profile.ddi_per_bin)
    return make_splits(tables, profile.val_per_label, split_seed)


def pretrain_pool(profile: Profile) -> pd.DataFrame:
    """Images reserved for pretraining the demo generator (demo/smoke only; never used by experiments)."""
    if not profile.is_embedded:
        raise DataError(
            f"profile {profile.name!r} has no embedded pretraining pool; the paper profile uses public Stable "
            "Diffusion weights"
        )
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
