"""Dataset summaries: composition, capabilities, split sizes, example grids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthaug_utils.data.checks import load_image_array
from synthaug_utils.data.tables import DDI_TONES, DatasetTables, SplitTables, _stable_seed


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
        return (
            f"Skin-type analysis skipped: the fst column of the dataset {self.name} holds no known skin type (all "
            "blank or -1)."
        )

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


def example_grid(table: pd.DataFrame, labels: list[str], fsts: list[int], size: int, seed: int = 0) -> np.ndarray:
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


def grouping_sentence(tables: DatasetTables, splits: SplitTables) -> str | None:
    """How a bring-your-own dataset's images were grouped and how many groups and images each split got
    (None for datasets without grouping: Fitzpatrick17k, DDI, the stand-in world)."""
    from synthaug_utils.data.groups import NEAR_DUPLICATE_MAX_HAMMING, group_of

    grouping = tables.meta.get("grouping")
    if grouping is None:
        return None
    groups = tables.meta.get("groups") or {}
    parts = [
        (name, t, group_of(t, groups))
        for name, t in (("training pool", splits.train_pool), ("validation", splits.val), ("test", splits.test))
    ]
    counts = "; ".join(
        f"{name} {len(t)} images in {g.nunique()} group{'' if g.nunique() == 1 else 's'}" for name, t, g in parts
    )
    if grouping == "column":
        how = "Images are split by the table's group column (patient or lesion), whole groups at a time"
    elif grouping == "near-duplicates":
        near = tables.meta.get("near_duplicates")
        clustered = len(near.groups) if near is not None else 0
        n_clusters = len(set(near.groups.values())) if near is not None else 0
        rule = f"identical bytes, or perceptual hashes within {NEAR_DUPLICATE_MAX_HAMMING} of 64 bits"
        how = (
            f"Near-duplicate images ({rule}) were grouped: {n_clusters} cluster(s) of {clustered} images, each kept in "
            "one split"
            if n_clusters
            else f"No near-duplicate images were found ({rule}), so every image is its own group"
        )
    else:
        return (
            f"Images are split one by one (no group column, near-duplicate grouping off): training pool "
            f"{len(splits.train_pool)}, validation {len(splits.val)}, test {len(splits.test)} images."
        )
    return f"{how} (split seed {splits.split_seed}): {counts}; no group is in two splits."


def near_duplicate_table(tables: DatasetTables, splits: SplitTables | None = None) -> pd.DataFrame:
    """The near-duplicate clusters found in a bring-your-own dataset, one row per image (see
    :func:`synthaug_utils.data.groups.cluster_table`), with its split when ``splits`` is given; empty
    when no cluster was found or grouping was not by near-duplicates."""
    from synthaug_utils.data.groups import NearDuplicates, cluster_table

    near = tables.meta.get("near_duplicates") or NearDuplicates({}, ())
    both = pd.concat([tables.pool, tables.test]) if tables.test is not None else tables.pool
    table = cluster_table(near, both)
    if splits is not None:
        where = dict(zip(splits.all().image_id, splits.all().split))
        table["split"] = [where.get(i, "") for i in table.image_id]
    return table


def data_chapter_notes(
    ddi, ddi_keys: Sequence[str], capabilities: DatasetCapabilities, grouping: str | None = None
) -> str:
    """The data chapter's sentences after the split counts: the DDI slot (``ddi``: its SplitTables, or
    None when not supplied; ``ddi_keys``: the location keys that would supply it), labels dropped by
    ``min_images_per_label``, a missing skin-type column, and ``grouping`` (:func:`grouping_sentence`)."""
    if ddi is not None:
        positive = ddi.labels[-1]
        counts = ddi.all()
        bins = sorted(counts.fst.unique())
        text = (
            f"The DDI-style set ({ddi.dataset}) has {len(counts)} images, {int(counts.label.eq(positive).sum())} of "
            f"them {positive}; its test and validation sets take {per_group(ddi.test, 'fst', bins)} and "
            f"{per_group(ddi.val, 'fst', bins)} images per skin-tone bin."
        )
    else:
        text = f"The DDI slot is not supplied ({', '.join(ddi_keys)}), so its figures are left out here and in Fig. 5."
    extra = [s for s in (capabilities.dropped_sentence(), capabilities.missing("fst"), grouping) if s]
    return " ".join([text, *extra])


def per_group(frame: pd.DataFrame, column: str, groups: Sequence) -> str:
    """Images of ``frame`` per value of ``column`` over ``groups``: one number when every group has as
    many, else the range ("35-40")."""
    sizes = frame[column].value_counts().reindex(list(groups), fill_value=0)
    low, high = int(sizes.min()), int(sizes.max())
    return str(low) if low == high else f"{low}-{high}"


def data_opening(profile, tables: DatasetTables, splits: SplitTables) -> dict[str, str]:
    """The data chapter's opening, from the dataset and split this build used: ``data_name`` (the main
    dataset and where it came from) and ``data_split_rule`` (how the test, validation and training sets
    were made, with their images per label)."""
    from pathlib import Path

    from synthaug_utils.core.config import NEAR_DUPLICATE_SETTINGS, main_data_name, near_duplicate_changes

    test = per_group(splits.test, "label", splits.labels)
    val = per_group(splits.val, "label", splits.labels)
    n = len(splits.labels)
    byo_name = main_data_name(profile)
    given = dataset_capabilities(tables).split_given
    if profile.is_embedded:
        name = (
            f"the synthetic stand-in world {tables.name}, drawn by the project's own code: {n} classes that carry "
            "the F17k-9 label names, not photographs of patients"
        )
        test_rule = f"the world's held-out images are the test set ({test} per label)"
    elif byo_name is not None:
        source = Path(profile.locations["main_data"]).expanduser()
        origin = (
            f"the table {source.name}" if source.suffix.lower() == ".csv" else f"the class folders in {source.name}"
        )
        name = f"{byo_name}, bring-your-own data ({n} labels, read from {origin}; stored as {tables.name})"
        test_rule = (
            f"the table's split column gives the test set ({test} per label)"
            if given
            else f"{test} test images per label are held out, one draw for every split seed"
        )
    else:
        name = (
            f"F17k-9 ({tables.name}): the {n} Fitzpatrick17k labels the paper uses, from the authors' clean split files"
        )
        test_rule = f"the authors' held-out file is the test set ({test} per label), as in the paper"
    rule = (
        f"{test_rule[0].upper()}{test_rule[1:]}; {val} validation images per label are drawn from the rest with the "
        f"split seed ({splits.split_seed}), and the remaining images form the training pool."
    )
    changed = near_duplicate_changes(profile)
    if changed:
        rule += (
            " Changed from the paper's files: "
            + "; ".join(
                f"{setting} = {value} ({NEAR_DUPLICATE_SETTINGS[setting][value]})" for setting, value in changed.items()
            )
            + "."
        )
    return {"data_name": name, "data_split_rule": rule}
