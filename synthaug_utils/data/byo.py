"""Bring-your-own datasets: a table or class folders (multi-class or the binary DDI slot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthaug_utils.core.errors import DataError
from synthaug_utils.core.identity import class_folder_images, relative_id
from synthaug_utils.data.groups import (
    NEAR_DUPLICATE_MAX_HAMMING,
    draw_by_group,
    find_near_duplicates,
    group_of,
    groups_across,
)
from synthaug_utils.data.tables import (
    BYO_FST,
    DDI_TONES,
    FST_TO_DDI_BIN,
    IMAGE_SUFFIXES,
    DatasetTables,
    file_lines,
    read_required_csv,
)


def _byo_rows(source: Path, what: str) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The rows of a bring-your-own table or class-folder tree: (tidy table, image_id -> row, optional columns).

    The tidy table has :data:`COLUMNS` and ``group``; ``fst`` holds the raw numbers (-1 where blank
    or absent), ``split`` the raw split column ('train' where absent) and ``group`` the group
    column's text (the image id where blank or absent). Hidden files and folders (names starting
    with '.', e.g. macOS ``._x.jpg``) are skipped in class folders. An image listed on more than one
    row is an error naming every such image and its lines: its rows could land in two splits.
    """
    if source.is_dir():
        found = [{"path": path, "label": label} for path, label in class_folder_images(source)]
        if not found:
            raise DataError(f"{what}: {source}: no class folders with images ({', '.join(IMAGE_SUFFIXES)}) found")
        table, base, columns, rows_of = pd.DataFrame(found), source, [], None
    else:
        table = read_required_csv(source, ("path", "label"), what)
        base, columns, rows_of = source.parent, [c for c in ("fst", "split", "group") if c in table], source
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
            "image_id": [relative_id(p, base) for p in table.path],
            "path": table.path.astype(str).to_numpy(),
            "label": table.label.astype(str).to_numpy(),
            "fst": fst.to_numpy(),
            "split": "train",
        }
    )
    tidy["group"] = tidy.image_id
    if "group" in columns:
        text = pd.read_csv(source, dtype={"group": str}, keep_default_na=False)["group"].str.strip()
        tidy["group"] = text.where(text.ne(""), tidy.image_id).to_numpy()
    dup = tidy.image_id.duplicated(keep=False).to_numpy()
    if dup.any():
        lines = {}
        for row in np.flatnonzero(dup):
            lines.setdefault(tidy.image_id.iloc[row], []).append(str(row + 2))
        listed = "\n".join(f"- {image_id!r}: lines {', '.join(rows)}" for image_id, rows in lines.items())
        raise DataError(
            f"{what}: {source}: {len(lines)} image(s) are listed more than once (each image needs exactly one row, "
            f"or its copies could land in two splits); remove the extra rows:\n{listed}"
        )
    if "split" in columns:
        splits = table.split.astype(str).str.strip().str.lower()
        bad = ~splits.isin(["train", "test"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{what}: {source}: split line {row + 2} is {table.split.iloc[row]!r}; use 'train' or 'test'"
            )
        tidy["split"] = splits.to_numpy()
    if rows_of is not None:
        rows = file_lines(tidy.image_id, table.index, rows_of)
    else:
        rows = {i: f"class folder {label!r}" for i, label in zip(tidy.image_id, tidy.label)}
    return tidy, rows, columns


def _grouping(tidy: pd.DataFrame, columns: list[str], near_duplicates: bool) -> dict:
    """The ``meta`` entries that keep groups in one split: ``grouping`` ('column': the table's group
    column; 'near-duplicates': clusters found by :func:`find_near_duplicates`; 'none'), ``groups``
    (image_id -> group, for every row with a group column, else for the clustered rows) and
    ``near_duplicates`` (the clusters, or None)."""
    if "group" in columns:
        return {"grouping": "column", "groups": dict(zip(tidy.image_id, tidy.group)), "near_duplicates": None}
    if not near_duplicates:
        return {"grouping": "none", "groups": {}, "near_duplicates": None}
    near = find_near_duplicates(tidy)
    return {"grouping": "near-duplicates", "groups": dict(near.groups), "near_duplicates": near}


def _check_split_column(tidy: pd.DataFrame, grouping: dict, rows: dict[str, str], source: Path, what: str) -> None:
    """A split column that puts one group in both the train and the test split is an error naming those groups."""
    group = group_of(tidy, grouping["groups"])
    crossing = groups_across(group, tidy.split)
    if not crossing:
        return
    listed = "\n".join(
        f"- group {g!r}: "
        + ", ".join(f"{i} ({rows.get(i, i)}, {sp})" for i, sp in zip(tidy.image_id[group == g], tidy.split[group == g]))
        for g in crossing[:10]
    )
    more = f"\n(and {len(crossing) - 10} more)" if len(crossing) > 10 else ""
    if grouping["grouping"] == "column":
        advice = "Put every image of a group (patient or lesion) in one split."
        kind = "group(s) of the group column"
    else:
        advice = (
            "These images are near-duplicates (identical bytes, or perceptual hashes within "
            f"{NEAR_DUPLICATE_MAX_HAMMING} bits); put each cluster in one split, or set the override "
            "group_near_duplicates: false to split them as the table says."
        )
        kind = "near-duplicate cluster(s)"
    raise DataError(
        f"{what}: {source}: the split column puts {len(crossing)} {kind} in both the train and the test split:\n"
        f"{listed}{more}\n{advice}"
    )


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
    group_near_duplicates: bool = True,
) -> DatasetTables:
    """Bring your own data: a CSV (``path``, ``label``, optional ``fst``, ``split`` and ``group``) or a folder per
    class.

    Relative paths in the CSV are relative to the CSV's folder; ``fst`` is the Fitzpatrick
    skin type 1-6 (blank or -1: unknown); ``split`` is ``train`` or ``test``; ``group`` names the
    patient or lesion (blank: the image alone). Without a ``split`` column, ``test_per_label``
    images per label are held out once (seeded by ``seed``; fixed across split seeds like
    Fitzpatrick17k's held-out file) and :func:`make_splits` later draws ``val_per_label`` per
    label from the rest.

    Both draws take whole groups (:func:`synthaug_utils.data.groups.draw_by_group`): the group
    column's groups, or without one (and with ``group_near_duplicates``) the near-duplicate
    clusters of :func:`synthaug_utils.data.groups.find_near_duplicates` (the images are read);
    ``meta["grouping"]``, ``meta["groups"]`` and ``meta["near_duplicates"]`` record them. With a
    split column, a group in both splits is an error naming it.

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
        raise DataError(
            f"{what}: {source} does not exist (give a CSV table with path,label columns or a folder per class)"
        )
    tidy, rows, columns = _byo_rows(source, what)
    bad = ~tidy.fst.isin([*BYO_FST, -1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{what}: {source} line {row + 2}: fst is {tidy.fst.iloc[row]}; use a Fitzpatrick type 1-6, or -1/blank "
            "for unknown"
        )
    dropped: list[tuple[str, int]] = []
    if min_images_per_label is not None:
        counts = tidy.label.value_counts()
        dropped = sorted((str(lab), int(n)) for lab, n in counts.items() if n < int(min_images_per_label))
        tidy = tidy[~tidy.label.isin([lab for lab, _ in dropped])]
    labels = sorted(tidy.label.unique())
    if len(labels) < 2:
        left = (
            f" after dropping {len(dropped)} with fewer than {min_images_per_label} images (min_images_per_label)"
            if dropped
            else ""
        )
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
                    f"{val_per_label + 1} in the training split ({val_per_label} validation + 1 training) and 1 in the "
                    "test split"
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
            source,
            problems,
            need,
            "label",
            "Add images, lower test_per_label / val_per_label (profile overrides), or set min_images_per_label "
            f"(e.g. {need}) to drop such labels (the book names what was dropped).",
        )
    grouping = _grouping(tidy, columns, group_near_duplicates)
    meta = {
        "source": str(source),
        "rows": rows,
        "columns": columns,
        "dropped": dropped,
        "min_images_per_label": min_images_per_label,
        "test_per_label": None if split_given else int(test_per_label),
        **grouping,
    }
    tidy = tidy.drop(columns="group")
    if split_given:
        _check_split_column(tidy, grouping, rows, source, what)
        pool, test = tidy[tidy.split == "train"], tidy[tidy.split == "test"]
    else:
        try:
            drawn = (
                draw_by_group(tidy, "label", test_per_label, seed, "test", grouping["groups"])
                if test_per_label
                else tidy.iloc[:0]
            )
        except DataError as exc:
            raise DataError(f"{what}: {source}: {exc}; images of one group stay together") from exc
        is_test = tidy.image_id.isin(set(drawn.image_id))
        pool, test = tidy[~is_test], tidy[is_test].assign(split="test")
        short = [
            f"label {label!r} keeps {int((pool.label == label).sum())} image(s) in the training pool after the test "
            "draw "
            f"took whole groups; it needs at least {val_per_label + 1}"
            for label in labels
            if (pool.label == label).sum() < val_per_label + 1
        ]
        if short:
            off = (
                " or group_near_duplicates: false (the near-duplicates may then be split)"
                if grouping["grouping"] == "near-duplicates"
                else ""
            )
            raise _too_few(
                source,
                short,
                need,
                "label",
                "Images of one group (patient, lesion or near-duplicate cluster) stay in one split; add images "
                f"of other groups, lower test_per_label / val_per_label, or set min_images_per_label{off}.",
            )
    return DatasetTables(name, pool.reset_index(drop=True), test.reset_index(drop=True), labels, meta=meta)


def read_byo_binary(
    source: str | Path,
    per_bin: int = 32,
    *,
    name: str = "byo-binary",
    group_near_duplicates: bool = True,
) -> DatasetTables:
    """Bring-your-own binary set for the DDI slot: a CSV with ``path``, ``label``, ``fst`` (optional ``split``,
    ``group``).

    Exactly two labels (sorted by name; the chapters treat the second like DDI's
    ``malignant``). ``fst`` is required for every row: a Fitzpatrick type 1-6, binned like DDI
    (I-II -> 12, III-IV -> 34, V-VI -> 56), or DDI's bins 12/34/56 themselves. As for DDI,
    :func:`make_splits` draws ``per_bin`` test and ``per_bin`` validation images per skin-tone bin
    for each split seed (with a ``split`` column the test set is fixed), so every bin present must
    hold ``2 * per_bin + 1`` images (with a split column: ``per_bin + 1`` training-split and 1
    test-split image); else a DataError names every such bin. Groups as in :func:`read_byo`:
    :func:`make_splits` draws whole groups.
    """
    source = Path(source).expanduser()
    what = "bring-your-own binary table (DDI slot)"
    if source.is_dir():
        raise DataError(
            f"{what}: {source} is a folder; the DDI slot needs a CSV table with path,label,fst columns (skin types "
            "cannot come from folders)"
        )
    if not source.exists():
        raise DataError(f"{what}: {source} does not exist")
    tidy, rows, columns = _byo_rows(source, what)
    if "fst" not in columns:
        raise DataError(
            f"{what}: {source} has no fst column; the DDI slot compares skin types, so every row needs one (1-6)"
        )
    bins = tidy.fst.map(lambda v: FST_TO_DDI_BIN.get(v, v if v in DDI_TONES else None))
    if bins.isna().any():
        row = int(np.flatnonzero(bins.isna().to_numpy())[0])
        raise DataError(
            f"{what}: {source} line {row + 2}: fst is {tidy.fst.iloc[row]}; use a Fitzpatrick type 1-6 (or DDI's 12, "
            "34, 56)"
        )
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
                problems.append(
                    f"skin-tone bin {tone} has {n_pool} training-split and {n_test} test-split image(s); "
                    f"it needs at least {per_bin + 1} in the training split and 1 in the test split"
                )
        elif here.sum() < 2 * per_bin + 1:
            problems.append(
                f"skin-tone bin {tone} has {int(here.sum())} image(s); it needs at least {2 * per_bin + 1} "
                f"({per_bin} test + {per_bin} validation + 1 training)"
            )
    if problems:
        raise _too_few(
            source, problems, 2 * per_bin + 1, "skin-tone bin", "Add images or lower ddi_per_bin (profile overrides)."
        )
    grouping = _grouping(tidy, columns, group_near_duplicates)
    meta = {"source": str(source), "rows": rows, "columns": columns, "dropped": [], **grouping}
    tidy = tidy.drop(columns="group")
    if split_given:
        _check_split_column(tidy, grouping, rows, source, what)
        pool, test = (
            tidy[tidy.split == "train"].reset_index(drop=True),
            tidy[tidy.split == "test"].reset_index(drop=True),
        )
        return DatasetTables(name, pool, test, labels, stratify="fst", meta=meta)
    return DatasetTables(name, tidy, None, labels, stratify="fst", meta=meta)
