"""Fitzpatrick17k and DDI in their real formats, drawn small."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from PIL import Image

from synthaug_utils.core.files import atomic_write_bytes
from synthaug_utils.rehearsal.common import (
    DDI_BENIGN,
    DDI_IMAGE_SIDE,
    DDI_MALIGNANT,
    F17K_IMAGE_SIDE,
    RESOURCE_DIR,
    jpeg_bytes,
    png_bytes,
    seeded_rng,
    stable_int,
    stand_in_image,
    write_csv,
    write_part,
)

F17K_METADATA_FILE = "fitzpatrick17k.csv"

F17K_TRAIN_FILE = "fitzpatrick17k_10label_clean_training.csv"

F17K_TEST_FILE = "fitzpatrick17k_10label_clean_held_out_set.csv"

F17K_FILES = (F17K_METADATA_FILE, F17K_TRAIN_FILE, F17K_TEST_FILE)

DDI_PER_BIN = 10  # 4 malignant + 6 benign per skin-tone bin

DDI_MALIGNANT_PER_BIN = 4

# Special JPEG kinds of the Fitzpatrick17k stand-ins, in a cycle over the images (sorted by label, md5).
F17K_KIND_CYCLE = ("rgb", "grey", "rgb", "cmyk", "rgb", "exif6", "rgb", "progressive", "rgb", "exif8")


# ----------------------------------------------------------------------------- Fitzpatrick17k
def _read_raw_csv(path: Path) -> tuple[str, list[str], list[list[str]]]:
    """(header line, raw data lines with their line endings, parsed fields per line) of a CSV
    without quoted newlines (as the Fitzpatrick17k files are)."""
    text = Path(path).read_bytes().decode("utf-8")
    lines = text.splitlines(keepends=True)
    return lines[0], lines[1:], [next(csv.reader([line])) for line in lines[1:]]


def select_f17k_rows(
    f17k_dir: str | Path,
    train_per_label: int = 8,
    test_per_label: int = 3,
    extra_label_rows: int = 4,
    seed: int = 0,
    min_unknown_fst: int = 2,
    leaking_labels: int = 3,
) -> dict[str, str]:
    """Pick a small subset of the real Fitzpatrick17k rows; returns {file name: CSV text} for
    the three files of :data:`F17K_FILES`, each row byte-for-byte as in the real file.

    Selection: the 9 most common labels of the clean training file (F17k-9) get
    ``train_per_label`` training rows and ``test_per_label`` held-out rows each; the 10th label
    (folliculitis) gets ``extra_label_rows`` training rows (fewer, so that "the 9 most common
    labels" still picks F17k-9) and ``test_per_label`` held-out rows. Rows are drawn per label
    from the rows sorted by md5hash with a seeded permutation; at least ``min_unknown_fst``
    training rows with ``fitzpatrick_scale`` -1 are swapped in (one per label, labels in
    name order). Near-duplicates across the split (:func:`leaking_clusters`): for the
    ``leaking_labels`` F17k-9 labels with the most leaking clusters, one such cluster's held-out
    image and all its training images are swapped in (counts per label unchanged), so the rehearsal's
    held-out set leaks at about the real rate and its training file holds redundant copies.
    ``fitzpatrick17k.csv`` holds the chosen md5hashes' rows of the real table.
    Rows keep the real files' order and line endings.
    """
    f17k_dir = Path(f17k_dir)
    header_train, lines_train, fields_train = _read_raw_csv(f17k_dir / F17K_TRAIN_FILE)
    header_test, lines_test, fields_test = _read_raw_csv(f17k_dir / F17K_TEST_FILE)
    header_meta, lines_meta, fields_meta = _read_raw_csv(f17k_dir / F17K_METADATA_FILE)
    columns = next(csv.reader([header_train]))
    i_md5, i_fst, i_label = columns.index("md5hash"), columns.index("fitzpatrick_scale"), columns.index("label")
    counts: dict[str, int] = {}
    for f in fields_train:
        counts[f[i_label]] = counts.get(f[i_label], 0) + 1
    ranked = [lab for lab, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    main_labels, extra_labels = ranked[:9], ranked[9:10]
    if extra_labels and extra_label_rows >= train_per_label:
        raise ValueError(f"extra_label_rows={extra_label_rows} must be below train_per_label={train_per_label}")

    def pick(fields: list[list[str]], label: str, n: int, purpose: str) -> list[int]:
        idx = sorted((i for i, f in enumerate(fields) if f[i_label] == label), key=lambda i: fields[i][i_md5])
        order = seeded_rng("f17k-select", seed, purpose, label).permutation(len(idx))
        return [idx[j] for j in order[:n]]

    train_picks = {lab: pick(fields_train, lab, train_per_label, "train") for lab in main_labels}
    train_picks.update({lab: pick(fields_train, lab, extra_label_rows, "train") for lab in extra_labels})
    test_picks_by_label = {lab: pick(fields_test, lab, test_per_label, "test") for lab in main_labels + extra_labels}
    leaks = leaking_clusters(
        [f[i_md5] for f in fields_train],
        [f[i_label] for f in fields_train],
        [f[i_md5] for f in fields_test],
        [f[i_label] for f in fields_test],
    )
    for lab in [lab for lab in sorted(leaks, key=lambda lab: (-len(leaks[lab]), lab)) if lab in main_labels][
        :leaking_labels
    ]:
        train_rows, test_row = leaks[lab][0]  # the cluster with the most training images (first listed)
        train_picks[lab] = (train_rows + [i for i in train_picks[lab] if i not in train_rows])[:train_per_label]
        others = [i for i in test_picks_by_label[lab] if i != test_row]
        test_picks_by_label[lab] = ([test_row] + others)[:test_per_label]
    unknown = sum(fields_train[i][i_fst] == "-1" for picks in train_picks.values() for i in picks)
    for lab in sorted(main_labels):
        if unknown >= min_unknown_fst:
            break
        picks = train_picks[lab]
        if any(fields_train[i][i_fst] == "-1" for i in picks):
            continue
        candidates = [
            i
            for i in sorted(range(len(fields_train)), key=lambda i: fields_train[i][i_md5])
            if fields_train[i][i_label] == lab and fields_train[i][i_fst] == "-1"
        ]
        if candidates:
            picks[-1] = candidates[int(seeded_rng("f17k-unknown", seed, lab).integers(len(candidates)))]
            unknown += 1
    test_picks = [i for lab in main_labels + extra_labels for i in test_picks_by_label[lab]]
    train_set = sorted(i for picks in train_picks.values() for i in picks)
    test_set = sorted(test_picks)
    chosen = {fields_train[i][i_md5] for i in train_set} | {fields_test[i][i_md5] for i in test_set}
    meta_rows = [line for line, f in zip(lines_meta, fields_meta) if f[0] in chosen]
    seen = {f[0] for f in fields_meta if f[0] in chosen}
    if seen != chosen:
        raise ValueError(f"{len(chosen - seen)} chosen md5hash(es) are not in {F17K_METADATA_FILE}")
    return {
        F17K_METADATA_FILE: header_meta + "".join(meta_rows),
        F17K_TRAIN_FILE: header_train + "".join(lines_train[i] for i in train_set),
        F17K_TEST_FILE: header_test + "".join(lines_test[i] for i in test_set),
    }


def leaking_clusters(
    train_md5: list[str], train_labels: list[str], test_md5: list[str], test_labels: list[str]
) -> dict[str, list[tuple[list[int], int]]]:
    """Per label, the shipped Fitzpatrick17k-C clusters (:func:`synthaug_utils.data.audit.read_clusters`)
    whose members in the two split files all carry that label and that hold training and held-out rows:
    (row indices of the training members, row index of the first held-out member), the clusters with the
    most training rows first, ties by the held-out member's md5hash."""
    from synthaug_utils.data.audit import read_clusters

    cluster_of = read_clusters().set_index("md5_prefix").cluster.to_dict()
    members: dict[int, dict[str, list[int]]] = {}
    for split, md5s in (("train", train_md5), ("test", test_md5)):
        for i, md5 in enumerate(md5s):
            if md5[:8] in cluster_of:
                members.setdefault(cluster_of[md5[:8]], {"train": [], "test": []})[split].append(i)
    out: dict[str, list[tuple[list[int], int]]] = {}
    for rows in members.values():
        labels = {train_labels[i] for i in rows["train"]} | {test_labels[i] for i in rows["test"]}
        if rows["train"] and rows["test"] and len(labels) == 1:
            test_row = min(rows["test"], key=lambda i: test_md5[i])
            out.setdefault(labels.pop(), []).append((sorted(rows["train"], key=lambda i: train_md5[i]), test_row))
    for found in out.values():
        found.sort(key=lambda c: (-len(c[0]), test_md5[c[1]]))
    return out


_RESOURCE_README = """\
# Fitzpatrick17k rows for the rehearsal world

These three files hold a small subset of the real rows of the Fitzpatrick17k annotation table
and of the authors' clean split files, every row byte-for-byte as published (real md5hash,
label, Fitzpatrick types, URLs; line endings as in the source files):

- `fitzpatrick17k.csv`: the rows of the chosen md5hashes in the public annotation table of
  Fitzpatrick17k (Groh et al., CVPR 2021), github.com/mattgroh/fitzpatrick17k;
- `fitzpatrick17k_10label_clean_training.csv` and `fitzpatrick17k_10label_clean_held_out_set.csv`:
  rows of the authors' de-duplicated training pool and held-out set (Sagers et al. 2023,
  repository manrai/synthetic-derm, folder fitz_metadata/), same columns.

Licence of the metadata: CC BY-NC-SA 3.0 (Fitzpatrick17k; research, non-commercial use).
No image is included: `synthaug_utils.rehearsal.datasets.write_f17k` draws a stand-in image
`{{md5hash}}.jpg` for every row.

Selection (`synthaug_utils.rehearsal.datasets.select_f17k_rows`, seed {seed}): the 9 most common
labels of the clean training file (F17k-9) get {train} training rows and {test} held-out rows each;
the 10th label (folliculitis) gets {extra} training rows, fewer than the others, so that the
reader's "9 most common labels" rule still picks F17k-9, and {test} held-out rows. Rows are drawn
per label from the rows sorted by md5hash with a seeded permutation; at least {unknown} training
rows with fitzpatrick_scale -1 (unknown type) are swapped in. For the {leaking} labels with the most
near-duplicate clusters across the split (Fitzpatrick17k-C, `resources/f17k_metadata/`), one such
cluster's held-out row and all its training rows are swapped in, so that some held-out rows have a
near-duplicate in the training rows. Regenerate with (`F17K_DIR`: the Fitzpatrick17k metadata folder,
holding `fitzpatrick17k.csv` and the clean split files from manrai/synthetic-derm `fitz_metadata/`)

    python -c "from synthaug_utils.rehearsal.datasets import write_f17k_resources; write_f17k_resources('F17K_DIR')"
"""  # noqa: E501 (a command to copy: one line)


def write_f17k_resources(
    f17k_dir: str | Path, dest: str | Path = RESOURCE_DIR, seed: int = 0, **selection: int
) -> Path:
    """Write the shipped selection (:func:`select_f17k_rows`) and its README.md into ``dest``."""
    dest = Path(dest)
    params = dict(train_per_label=8, test_per_label=3, extra_label_rows=4, min_unknown_fst=2, leaking_labels=3)
    params.update(selection)
    files = select_f17k_rows(f17k_dir, seed=seed, **params)
    for name, text in files.items():
        atomic_write_bytes(dest / name, text.encode("utf-8"))
    readme = _RESOURCE_README.format(
        seed=seed,
        train=params["train_per_label"],
        test=params["test_per_label"],
        extra=params["extra_label_rows"],
        unknown=params["min_unknown_fst"],
        leaking=params["leaking_labels"],
    )
    atomic_write_bytes(dest / "README.md", readme.encode("utf-8"))
    return dest


def write_f17k(out: str | Path, seed: int = 0, source: str | Path = RESOURCE_DIR, progress: bool = False) -> Path:
    """Write ``out/fitzpatrick17k/``: the three CSVs of ``source`` (copied byte for byte) and one
    drawn JPEG ``images/{md5hash}.jpg`` per row of the two split files; returns the folder.

    Images: a lesion of the row's label on skin of the row's ``fitzpatrick_scale`` drawn at
    64 px, upscaled and centre-cropped to a non-square size with both sides in 180-900 px,
    plus smooth noise (std 3 grey levels), JPEG quality 85. Over the rows sorted by
    (label, md5hash) the kinds cycle through :data:`F17K_KIND_CYCLE`: plain RGB, greyscale
    (mode L), CMYK, EXIF Orientation 6 / 8 (pixels stored rotated so that applying the
    orientation gives the upright image) and progressive.
    """
    root = Path(out).resolve()
    folder = root / "fitzpatrick17k"
    source = Path(source)
    texts = {name: (source / name).read_bytes() for name in F17K_FILES}
    params = {"seed": int(seed), "csv": [stable_int(texts[n].decode()) for n in F17K_FILES]}
    rows = []
    for name in (F17K_TRAIN_FILE, F17K_TEST_FILE):
        table = list(csv.DictReader(io.StringIO(texts[name].decode())))
        rows += [(r["label"], r["md5hash"], int(r["fitzpatrick_scale"])) for r in table]
    rows.sort()

    def build(tmp: Path) -> None:
        for name in F17K_FILES:
            (tmp / name).write_bytes(texts[name])
        (tmp / "images").mkdir()
        for i, (label, md5, fst) in enumerate(rows):
            rng = seeded_rng("f17k-size", seed, md5)
            img = stand_in_image(label, fst, ("f17k", seed, md5), F17K_IMAGE_SIDE, rng)
            (tmp / "images" / f"{md5}.jpg").write_bytes(jpeg_bytes(img, F17K_KIND_CYCLE[i % len(F17K_KIND_CYCLE)]))

    outputs = [folder / n for n in F17K_FILES] + [folder / "images"]
    write_part(root, "f17k", params, folder, outputs, build, progress, f"Fitzpatrick17k, {len(rows)} images")
    return folder


# ----------------------------------------------------------------------------- DDI
def ddi_rows(seed: int, per_bin: int, malignant_per_bin: int, tag: str) -> list[tuple[int, int, bool, str]]:
    """(index from 1, skin-tone bin, malignant, disease) per image: ``per_bin`` per bin 12/34/56,
    the first ``malignant_per_bin`` of each bin malignant; diseases drawn from the generated lists."""
    rows = []
    benign, malignant = sorted(DDI_BENIGN), sorted(DDI_MALIGNANT)
    for tone in (12, 34, 56):
        for j in range(per_bin):
            rng = seeded_rng(tag, seed, tone, j)
            is_malignant = j < malignant_per_bin
            names = malignant if is_malignant else benign
            rows.append((len(rows) + 1, tone, is_malignant, names[int(rng.integers(len(names)))]))
    # interleave the bins as DDI's table does (ids are not grouped by class)
    order = seeded_rng(tag + "-order", seed).permutation(len(rows))
    return [(i + 1, *rows[k][1:]) for i, k in enumerate(order)]


def ddi_image(tone: int, disease: str, seed_parts: tuple, side: tuple[int, int], noise: float = 0.0) -> Image.Image:
    """A DDI-style stand-in: a lesion of ``disease`` on skin of one type of the ``tone`` bin, upscaled."""
    rng = seeded_rng("ddi-image", *seed_parts)
    fst = int(rng.choice({12: (1, 2), 34: (3, 4), 56: (5, 6)}[tone]))
    style = {**DDI_BENIGN, **DDI_MALIGNANT}.get(disease, disease)
    return stand_in_image(style, fst, seed_parts, side, rng, noise=noise)


def write_ddi(out: str | Path, seed: int = 0, progress: bool = False) -> Path:
    """Write ``out/ddi/``: ``ddi_metadata.csv`` in DDI's format (unnamed index column, DDI_ID,
    DDI_file, skin_tone 12/34/56, malignant TRUE/FALSE, disease) with generated rows (not DDI's),
    10 per skin-tone bin (4 malignant, 6 benign), and PNG images ``images/{DDI_ID:06d}.png``
    of non-square sizes with sides 160-480 px; returns the folder.
    """
    root = Path(out).resolve()
    folder = root / "ddi"
    params = {"seed": int(seed), "per_bin": DDI_PER_BIN, "malignant": DDI_MALIGNANT_PER_BIN}
    rows = ddi_rows(seed, DDI_PER_BIN, DDI_MALIGNANT_PER_BIN, "ddi")

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        table = []
        for k, (ddi_id, tone, malignant, disease) in enumerate(rows):
            name = f"{ddi_id:06d}.png"
            img = ddi_image(tone, disease, ("ddi", seed, ddi_id), DDI_IMAGE_SIDE)
            (tmp / "images" / name).write_bytes(png_bytes(img))
            table.append((k, ddi_id, name, tone, "TRUE" if malignant else "FALSE", disease))
        write_csv(tmp / "ddi_metadata.csv", ["", "DDI_ID", "DDI_file", "skin_tone", "malignant", "disease"], table)

    outputs = [folder / "ddi_metadata.csv", folder / "images"]
    write_part(root, "ddi", params, folder, outputs, build, progress, f"DDI, {len(rows)} images")
    return folder
