"""The profile's near-duplicate settings applied to the Fitzpatrick17k tables, and the leaking test images.

Near-duplicates are the Fitzpatrick17k-C clusters shipped in ``resources/f17k_metadata/``
(:mod:`synthaug_utils.data.audit`), matched to the split files by md5hash. The settings
(``config.NEAR_DUPLICATE_SETTINGS``):

- ``test_set``: ``authors`` (the held-out file as it is) or ``no-near-duplicates`` (without the
  held-out images whose cluster holds an image of the training file, the *leaking* ones);
- ``training_pool``: ``all`` or ``one-per-cluster`` (of each cluster's training images the one with
  the smallest md5hash stays; images in no cluster all stay). The pool is thinned before the
  validation draw, so validation images are one per cluster too.

Leakage is judged against the whole training file of the dataset's labels, before any thinning:
``one-per-cluster`` keeps a near-copy of every leaking test image in the pool.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from synthaug_utils.core.config import Profile, near_duplicate_changes
from synthaug_utils.core.errors import DataError
from synthaug_utils.data.audit import attach_clusters, leaking_ids, read_clusters, real_images
from synthaug_utils.data.tables import DatasetTables


def _clustered(tables: DatasetTables, clusters: pd.DataFrame) -> pd.DataFrame:
    """Training pool and held-out set stacked with their ``cluster`` column (:func:`attach_clusters`)."""
    both = pd.concat([tables.pool, tables.test], ignore_index=True)
    return attach_clusters(both, clusters)


def one_per_cluster(pool: pd.DataFrame) -> pd.DataFrame:
    """``pool`` (with a ``cluster`` column) keeping, of each cluster, the image with the smallest image id."""
    ranked = pool.assign(_order=range(len(pool))).sort_values("image_id")
    drop = ranked.cluster.notna() & ranked.duplicated("cluster")
    return ranked[~drop].sort_values("_order").drop(columns="_order")


def apply_near_duplicate_settings(
    tables: DatasetTables, test_set: str = "authors", training_pool: str = "all", clusters: pd.DataFrame | None = None
) -> DatasetTables:
    """``tables`` (Fitzpatrick17k with its held-out file) with the near-duplicate settings applied.

    ``clusters``: :func:`~synthaug_utils.data.audit.read_clusters` (default: the shipped file). The result's
    ``meta["near_duplicates"]`` records the settings, the leaking held-out images and what was removed;
    with ``training_pool`` other than ``all`` the dataset's name gains ``-one-per-cluster``, because
    the DreamBooth models and synthetic sets made from the pool are then other ones.
    """
    if tables.test is None:
        raise DataError(f"{tables.name}: the near-duplicate settings need a fixed held-out set")
    images = _clustered(tables, read_clusters() if clusters is None else clusters)
    leaking = leaking_ids(images)
    pool, test = images[images.split.eq("train")], images[images.split.eq("test")]
    if test_set == "no-near-duplicates":
        test = test[~test.image_id.isin(leaking)]
    elif test_set != "authors":
        raise DataError(f"test_set={test_set!r}: use 'authors' or 'no-near-duplicates'")
    if training_pool == "one-per-cluster":
        pool = one_per_cluster(pool)
    elif training_pool != "all":
        raise DataError(f"training_pool={training_pool!r}: use 'all' or 'one-per-cluster'")
    pool, test = (t.drop(columns="cluster").reset_index(drop=True) for t in (pool, test))
    name = tables.name + ("-one-per-cluster" if training_pool != "all" else "")
    record = {
        "test_set": test_set,
        "training_pool": training_pool,
        "leaking": sorted(leaking),
        "removed_test": len(tables.test) - len(test),
        "removed_training": len(tables.pool) - len(pool),
    }
    return DatasetTables(
        name, pool, test, list(tables.labels), tables.stratify, {**tables.meta, "near_duplicates": record}
    )


def profile_near_duplicates(tables: DatasetTables, profile: Profile) -> DatasetTables:
    """``tables`` with ``profile``'s near-duplicate settings applied (unchanged at the defaults)."""
    if not near_duplicate_changes(profile):
        return tables
    return apply_near_duplicate_settings(tables, profile.test_set, profile.training_pool)


def leaking_test_ids(profile: Profile) -> frozenset[str] | None:
    """Ids of the held-out images of ``profile``'s main dataset that have a near-duplicate in its training
    file (the whole file, of the dataset's labels), or None where no near-duplicates are known
    (bring-your-own data). Fitzpatrick17k: the split files and the shipped clusters (no image, no
    metadata table); the demo world: its planted pairs (the held-out file's ``near_duplicate_of``
    column, :func:`synthaug_utils.data.world.planted_near_duplicates`; the world is drawn if missing)."""
    if profile.is_embedded:
        from synthaug_utils.data.world import ensure_world, planted_near_duplicates

        return frozenset(planted_near_duplicates(ensure_world(profile.world, show_progress=False)).image_id)
    if profile.locations.get("main_data"):
        return None
    folder = profile.locations.get("f17k_splits")
    if not folder:
        return None
    return leaking_ids(real_images("F17k-9", Path(folder)))
