"""Dataset summaries: composition, capabilities, split sizes, example grids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthaug_utils.data.checks import load_image_array
from synthaug_utils.data.tables import DDI_TONES, DatasetTables, SplitTables, stable_seed


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
                pick = np.random.default_rng(stable_seed("example", seed, label, fst)).integers(len(cell))
                grid[r, c] = load_image_array(cell.iloc[[pick]], size)[0]
    return grid


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
