"""Groups of bring-your-own images that must stay in one split, and the hashes that find near-duplicates.

A bring-your-own table may name each image's patient or lesion in a ``group`` column. Without one,
near-duplicate images are found and grouped: two images whose files have identical bytes, or
whose 64-bit perceptual hashes (pHash) differ in at most :data:`NEAR_DUPLICATE_MAX_HAMMING` bits,
are near-duplicates, and the clusters are the transitive closure of that relation (an image joins
a cluster when it is a near-duplicate of any member, so two members need not be alike). The
validation and test draws take whole groups (:func:`draw_by_group`), so no group crosses train,
validation and test.

pHash: the image (EXIF orientation applied, transparency on white, as the classifier reads it) in
grey, reduced to 32 x 32 pixels (Lanczos); its 2-D DCT-II; bit k is set when the k-th of the 8 x 8
lowest-frequency coefficients exceeds the median of the 63 without the mean. It survives
re-encoding, resizing and mild colour or exposure changes, and often matches a second photograph
of one scene taken from almost the same place; it does not match crops, flips, rotations or
other views of the same lesion (a ``group`` column does). Images whose 32 x 32 thumbnail is flat
(brightness range under :data:`FLAT_THUMBNAIL_RANGE` grey levels) carry no structure to compare,
so they are grouped only by identical bytes.

File hashes (content digest and pHash) are cached by :func:`synthaug_utils.core.identity.file_records`,
so a dataset is decoded once and again only where files change.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import PIL
from PIL import Image, ImageOps

from synthaug_utils.core import profiles
from synthaug_utils.core.errors import DataError

# of the 64 pHash bits: at or below, two images are near-duplicates (kept in core: a dataset's identity includes it)
from synthaug_utils.core.identity import NEAR_DUPLICATE_MAX_HAMMING  # noqa: E402

FLAT_THUMBNAIL_RANGE = profiles.threshold("FLAT_THUMBNAIL_RANGE")  # grey levels: a flatter thumbnail has no pHash

_PHASH_VERSION = 1  # bump when phash() changes: cached hashes of another version are recomputed

_BLOCK = 256  # rows per block of the all-pairs Hamming comparison (256 x n uint64 at a time)

_SIDE = 32
_DCT = np.cos(np.pi * (2 * np.arange(_SIDE)[None, :] + 1) * np.arange(_SIDE)[:, None] / (2 * _SIDE))  # DCT-II rows


# ----------------------------------------------------------------------------- hashes
def phash(img: Image.Image) -> int | None:
    """The 64-bit perceptual hash of a PIL image (None when its thumbnail is flat; see the module docstring)."""
    from synthaug_utils.data.images import as_rgb

    grey = as_rgb(img).convert("L").convert("F").resize((_SIDE, _SIDE), Image.Resampling.LANCZOS)
    a = np.asarray(grey, dtype=np.float64)
    if float(a.max() - a.min()) < FLAT_THUMBNAIL_RANGE:
        return None
    low = (_DCT @ a @ _DCT.T)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def _phash_of_bytes(data: bytes) -> int | None:
    """pHash of an image file's bytes; None when undecodable or flat (unreadable files are reported by the image
    check)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (2 * _SIDE, 2 * _SIDE))  # JPEG: decode at a reduced scale, still >= 64 px a side
            img.load()
            try:
                img = ImageOps.exif_transpose(img)
            except Exception:  # unreadable EXIF block: keep the stored orientation
                pass
            return phash(img)
    except Exception:
        return None


def _phash_text(data: bytes) -> str:
    """The pHash of an image file's bytes as 16 hex chars ("" when undecodable or flat)."""
    value = _phash_of_bytes(data)
    return "" if value is None else f"{value:016x}"


def file_hashes(paths: Iterable[str]) -> dict[str, tuple[str | None, int | None]]:
    """path -> (content digest, pHash) of each file: blake2b of the bytes (32 hex chars; None when the
    file is missing or unreadable) and the pHash (None when undecodable or flat). Both are cached
    (:func:`synthaug_utils.core.identity.file_records`), the pHash per Pillow version."""
    from synthaug_utils.core.identity import file_records

    records = file_records(paths, _phash_text, f"phash{_PHASH_VERSION}-side{_SIDE}-pillow{PIL.__version__}")
    return {path: (digest, int(text, 16) if text else None) for path, (digest, text) in records.items()}


# ----------------------------------------------------------------------------- clusters
@dataclass(frozen=True)
class NearDuplicates:
    """Near-duplicate clusters of a table: ``groups`` maps each clustered image id to its cluster's group id
    (the cluster's first image id in sorted order); ``pairs`` lists the linking pairs (image id, image id,
    Hamming distance; -1 for identical bytes)."""

    groups: dict[str, str]
    pairs: tuple[tuple[str, str, int], ...]


def find_near_duplicates(table: pd.DataFrame, max_hamming: int = NEAR_DUPLICATE_MAX_HAMMING) -> NearDuplicates:
    """Near-duplicate clusters among the rows of ``table`` (columns ``image_id``, ``path``; see the module
    docstring)."""
    ids = table.image_id.astype(str).tolist()
    hashes = file_hashes(table.path.astype(str))
    digests = [hashes[str(p)][0] for p in table.path]
    values = [hashes[str(p)][1] for p in table.path]
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs: list[tuple[str, str, int]] = []

    def link(i: int, j: int, distance: int) -> None:
        pairs.append((ids[i], ids[j], distance) if ids[i] < ids[j] else (ids[j], ids[i], distance))
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first: dict[str, int] = {}
    for i, digest in enumerate(digests):
        if digest is None:
            continue
        if digest in first:
            link(first[digest], i, -1)
        else:
            first[digest] = i
    index = np.array([i for i, v in enumerate(values) if v is not None], dtype=np.int64)
    if len(index) > 1:
        h = np.array([values[i] for i in index], dtype=np.uint64)
        for start in range(0, len(h), _BLOCK):
            block = h[start : start + _BLOCK]
            distance = np.bitwise_count(block[:, None] ^ h[None, :])
            rows, cols = np.nonzero(distance <= max_hamming)
            keep = cols > rows + start
            for r, c in zip(rows[keep], cols[keep]):
                i, j = int(index[start + r]), int(index[c])
                if digests[i] is None or digests[i] != digests[j]:  # identical bytes were linked above
                    link(i, j, int(distance[r, c]))
    members: dict[int, list[str]] = {}
    for i in range(len(ids)):
        members.setdefault(find(i), []).append(ids[i])
    groups = {}
    for cluster in members.values():
        if len(cluster) > 1:
            head = min(cluster)
            groups.update({image_id: head for image_id in cluster})
    return NearDuplicates(groups, tuple(sorted(pairs)))


def cluster_table(near: NearDuplicates, table: pd.DataFrame) -> pd.DataFrame:
    """One row per clustered image: cluster (1, 2, ... by first image id), images (cluster size), image_id,
    label, and the closest other member with its pHash distance (0 bits and ``identical bytes`` for byte copies)."""
    columns = ["cluster", "images", "image_id", "label", "nearest", "distance"]
    if not near.groups:
        return pd.DataFrame(columns=columns)
    label = dict(zip(table.image_id.astype(str), table.label.astype(str)))
    best: dict[str, tuple[int, str]] = {}
    for a, b, d in near.pairs:
        for one, other in ((a, b), (b, a)):
            if one in near.groups and (one not in best or (max(d, 0), other) < (max(best[one][0], 0), best[one][1])):
                best[one] = (d, other)
    heads = sorted(set(near.groups.values()))
    number = {head: k + 1 for k, head in enumerate(heads)}
    size = pd.Series(near.groups).value_counts()
    rows = []
    for image_id, head in sorted(near.groups.items(), key=lambda kv: (number[kv[1]], kv[0])):
        d, other = best[image_id]
        rows.append(
            {
                "cluster": number[head],
                "images": int(size[head]),
                "image_id": image_id,
                "label": label.get(image_id, ""),
                "nearest": other,
                "distance": "identical bytes" if d < 0 else f"{d} bits",
            }
        )
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------- draws
def group_of(table: pd.DataFrame, groups: Mapping[str, str] | None) -> pd.Series:
    """Each row's group (its image id where ``groups`` names none)."""
    ids = table.image_id.astype(str)
    if not groups:
        return ids
    return ids.map(lambda i: groups.get(i, i))


def draw_by_group(
    table: pd.DataFrame, column: str, per_group: int, seed: int, purpose: str, groups: Mapping[str, str] | None
) -> pd.DataFrame:
    """At least ``per_group`` rows per value of ``column``, taking whole groups (reproducible, independent of row
    order).

    Without groups of two or more rows this is exactly the per-row draw of
    :func:`synthaug_utils.data.tables.draw_per_group`. Otherwise, per value in sorted order, the
    groups holding rows of that value are put in a seeded order (seed: ``purpose``, ``seed``, the
    value) and taken while they fit the rows still needed; if that leaves the value short, the
    smallest remaining groups are taken, so a value may get a few more rows than asked. Rows of
    other values in a taken group come along (and count for those values).
    """
    from synthaug_utils.data.tables import draw_per_group, stable_seed

    group = group_of(table, groups)
    if group.nunique() == len(table):
        return draw_per_group(table, column, per_group, seed, purpose)
    taken: set[str] = set()
    for value in sorted(table[column].unique()):
        here = (table[column] == value).to_numpy()
        need = per_group - int((here & group.isin(taken).to_numpy()).sum())
        if need <= 0:
            continue
        sizes = group[here].value_counts()
        names = sorted(g for g in sizes.index if g not in taken)
        order = [names[k] for k in np.random.default_rng(stable_seed(purpose, seed, value)).permutation(len(names))]
        rest = []
        for name in order:
            if sizes[name] <= need:
                taken.add(name)
                need -= int(sizes[name])
                if need == 0:
                    break
            else:
                rest.append(name)
        for name in sorted(rest, key=lambda g: int(sizes[g])):
            if need <= 0:
                break
            taken.add(name)
            need -= int(sizes[name])
        if need > 0:
            raise DataError(
                f"{column} {value!r} has {int(here.sum())} images in {len(sizes)} groups, fewer than the {per_group} "
                f"needed for {purpose} after earlier draws took whole groups"
            )
    return table[group.isin(taken).to_numpy()]


def groups_across(groups: pd.Series, splits: pd.Series) -> list[str]:
    """Groups (values of ``groups``) whose rows fall in more than one split (values of ``splits``), sorted."""
    both = pd.DataFrame({"group": groups.to_numpy(), "split": splits.to_numpy()})
    n = both.groupby("group").split.nunique()
    return sorted(str(g) for g in n[n > 1].index)
