"""A miniature paper-format world: every input of the ``paper`` profile, small enough for a CPU.

:func:`write_rehearsal_world` writes, under one folder, the files a researcher would bring to
the ``paper`` profile, in the real formats, at miniature size:

``fitzpatrick17k/``
    ``fitzpatrick17k.csv`` and the authors' two clean split files holding a subset of *real*
    rows (real md5hash, labels and FST, every column verbatim; shipped in
    ``resources/rehearsal/``, see :func:`select_f17k_rows`), and ``images/{md5hash}.jpg``
    drawn by the project (:mod:`synthaug_utils.data.world` lesions, upscaled to non-square
    sizes of 180-900 px; some greyscale, CMYK, EXIF-rotated and progressive JPEGs).
``ddi/``
    ``ddi_metadata.csv`` in DDI's format (generated rows, not DDI's) and ``images/{:06d}.png``.
``byo/``, ``ddi_byo/``, ``bad/``
    Bring-your-own inputs: class folders of mixed formats plus a ``path,label,fst`` table over
    the same images; a binary benign/malignant table with skin-tone bins for the DDI slot; a
    table naming 6 good images and 3 bad ones (missing, empty, truncated).
``models/``
    Stable Diffusion 2.1-base and 1.5-inpainting pipeline folders (the real component
    classes, widths shrunk, random weights, float32 safetensors), a random torchvision
    classifier state dict under the file name torchvision uses for the arch's ImageNet
    weights, and a random open_clip checkpoint.

Everything is deterministic in ``seed`` (same seed, same bytes of every file). Each part is
written into a temporary folder (or file) and renamed into place, then marked complete in
``.rehearsal/<part>.json``; a re-run skips complete parts. No file is downloaded.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from PIL import Image

from synthaug_utils.core.config import PACKAGE_DIR, PAPER_LOCATIONS

__all__ = [
    "RehearsalWorld",
    "write_rehearsal_world",
    "select_f17k_rows",
    "write_f17k_resources",
    "write_f17k",
    "write_ddi",
    "write_byo",
    "write_ddi_byo",
    "write_bad_table",
    "write_sd_folders",
    "write_classifier_weights",
    "write_open_clip_checkpoint",
    "classifier_weights_name",
    "prompt_words",
    "F17K_FILES",
    "LOCATION_KEYS",
    "BYO_LABELS",
    "SD_SHRINK",
]

# Bump when a writer changes what it writes: completed parts of an older version are rewritten.
WRITER_VERSION = 1
RESOURCE_DIR = PACKAGE_DIR / "resources" / "rehearsal"
SD_CONFIG_DIR = PACKAGE_DIR / "resources" / "sd_configs"
F17K_METADATA_FILE = "fitzpatrick17k.csv"
F17K_TRAIN_FILE = "fitzpatrick17k_10label_clean_training.csv"
F17K_TEST_FILE = "fitzpatrick17k_10label_clean_held_out_set.csv"
F17K_FILES = (F17K_METADATA_FILE, F17K_TRAIN_FILE, F17K_TEST_FILE)

# Bring-your-own labels -> the demo world's DDI style used to draw them.
BYO_LABELS = {"melanoma": "melanoma", "nevus": "melanocytic-nevi", "seborrheic keratosis": "seborrheic-keratosis"}
BYO_PER_LABEL = 12
DDI_PER_BIN = 10  # 4 malignant + 6 benign per skin-tone bin
DDI_MALIGNANT_PER_BIN = 4
DDI_BYO_PER_BIN = 9  # 4 malignant + 5 benign per bin
# Generated DDI disease names (DDI's naming: lower case, hyphens) -> demo_world.DDI_STYLES style.
DDI_BENIGN = {
    "melanocytic-nevi": "melanocytic-nevi", "seborrheic-keratosis": "seborrheic-keratosis",
    "verruca-vulgaris": "verruca-vulgaris", "dermatofibroma": "dermatofibroma",
    "epidermal-cyst": "dermatofibroma", "acrochordon": "verruca-vulgaris",
}
DDI_MALIGNANT = {
    "basal-cell-carcinoma": "basal-cell-carcinoma", "melanoma": "melanoma",
    "squamous-cell-carcinoma-in-situ": "squamous-cell-carcinoma-in-situ",
    "mycosis-fungoides": "squamous-cell-carcinoma-in-situ",
}

# How the Stable Diffusion architectures are shrunk (everything else is the real config).
SD_SHRINK = {
    "unet_block_out_channels": (32, 64),  # SD: (320, 640, 1280, 1280)
    "unet_layers_per_block": 1,  # SD: 2
    "unet_heads": (2, 4),  # per level (diffusers' attention_head_dim); SD 2.1: (5, 10, 20, 20), SD 1.5: 8
    "vae_block_out_channels": (32, 32, 64, 64),  # SD: (128, 256, 512, 512); 4 levels keep the factor 8
    "vae_layers_per_block": 1,  # SD: 2
    "text_hidden": 32,  # SD 2.1: 1024, SD 1.5: 768
    "text_layers": 2,  # SD 2.1: 23, SD 1.5: 12
    "text_heads": 2,
    "max_tokens": 77,  # as SD
    "image_size": 64,  # px; the UNet's sample_size is image_size // 8
}

F17K_IMAGE_SIDE = (180, 900)  # px, min and max side of the Fitzpatrick17k stand-in images
DDI_IMAGE_SIDE = (160, 480)
BYO_IMAGE_SIDE = (100, 600)
DRAW_SIZE = 64  # px, the side the lesions are drawn at before upscaling
# The paper-profile locations a rehearsal world supplies (real-format datasets and models).
LOCATION_KEYS = (
    "f17k_metadata", "f17k_splits", "f17k_images", "ddi_metadata", "ddi_images",
    "sd_text2image", "sd_inpaint", "classifier_weights", "clip_weights",
)


@dataclass(frozen=True)
class RehearsalWorld:
    """Paths of a written rehearsal world (all absolute).

    ``locations`` maps the paper-profile location keys of the real datasets and models
    (:data:`LOCATION_KEYS`, keys of ``config.PAPER_LOCATIONS``) to paths;
    ``byo_folders`` is a class-folder dataset of mixed image formats; ``byo_table`` a CSV
    ``path,label,fst`` over the same images (paths relative to the CSV's folder);
    ``ddi_byo_table`` a binary ``path,label,fst`` table (benign/malignant, fst 12/34/56);
    ``bad_table`` a CSV ``path,label`` naming valid images and exactly 3 bad ones.
    ``byo_folders`` / ``byo_table`` suit the ``main_data`` location, ``ddi_byo_table`` ``ddi_data``.
    """

    root: Path
    locations: dict[str, str]
    byo_folders: Path
    byo_table: Path
    ddi_byo_table: Path
    bad_table: Path


# ----------------------------------------------------------------------------- small helpers
def _stable_int(*parts: object) -> int:
    """A 32-bit integer from the parts' text (stable across runs and platforms)."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng([_stable_int("rehearsal", *parts)])


def _say(progress: bool, text: str) -> None:
    if progress:
        print(f"rehearsal world: {text}", file=sys.stderr, flush=True)


def _marker(root: Path, part: str) -> Path:
    return root / ".rehearsal" / f"{part}.json"


def _read_marker(root: Path, part: str) -> dict | None:
    try:
        return json.loads(_marker(root, part).read_text())
    except (OSError, ValueError):
        return None


def _is_complete(root: Path, part: str, params: dict, outputs: Iterable[Path]) -> bool:
    """True when ``part`` was written with the same ``params`` and every output still exists."""
    done = _read_marker(root, part)
    if done is None:
        return False
    done.pop("output", None)
    return done == {"version": WRITER_VERSION, **params} and all(Path(p).exists() for p in outputs)


def _completed_output(root: Path, part: str, params: dict) -> Path | None:
    """The output file recorded by a complete ``part`` with the same ``params`` (None if not complete)."""
    done = _read_marker(root, part) or {}
    output = done.get("output")
    if output and _is_complete(root, part, params, [root / output]):
        return root / output
    return None


def _mark_complete(root: Path, part: str, params: dict, output: Path | None = None) -> None:
    marker = _marker(root, part)
    marker.parent.mkdir(parents=True, exist_ok=True)
    record = {"version": WRITER_VERSION, **params}
    if output is not None:
        record["output"] = Path(output).relative_to(root).as_posix()
    _write_bytes(marker, json.dumps(record, sort_keys=True).encode())


def _write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _build_folder(final: Path, build: Callable[[Path], None]) -> Path:
    """Run ``build(tmp)`` on an empty temporary folder beside ``final``, then rename it to ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        build(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _write_csv(path: Path, header: list[str], rows: Iterable[Iterable[object]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _write_bytes(path, buf.getvalue().encode())


# ----------------------------------------------------------------------------- drawing
def _style_for(label: str):
    """A demo-world LesionStyle for a label: the F17k-9 / DDI styles by name, a folliculitis
    style, else a style chosen by the label's hash (any new label can be drawn)."""
    from synthaug_utils.data.world import DDI_STYLES, DERM9_STYLES, LesionStyle

    if label in DERM9_STYLES:
        return DERM9_STYLES[label]
    if label in DDI_STYLES:
        return DDI_STYLES[label][1]
    if label == "folliculitis":  # follicular papules and pustules, scattered
        return LesionStyle((10, 20), (0.02, 0.04), "round", 0.1, (226, 120, 110), (0.6, 0.9), 0.2, "vesicles", "scattered")
    styles = list(DERM9_STYLES.values())
    return styles[_stable_int(label) % len(styles)]


def _draw(style_label: str, fst: int, seed_parts: tuple) -> Image.Image:
    """A DRAW_SIZE x DRAW_SIZE RGB lesion of ``style_label`` on skin type ``fst`` (1-6, -1 unknown)."""
    from synthaug_utils.data.world import render_lesion_image

    return render_lesion_image(_style_for(style_label), int(fst), ("rehearsal",) + tuple(seed_parts), DRAW_SIZE)


def _non_square_size(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int]:
    """(width, height) px with both sides in [lo, hi], aspect ratio 0.6-0.9 or 1.1-1.67 (never square)."""
    while True:
        w = int(rng.integers(lo, hi + 1))
        ratio = float(rng.uniform(0.6, 0.9))
        if rng.uniform() < 0.5:
            ratio = 1 / ratio
        h = int(round(w * ratio))
        if lo <= h <= hi and h != w:
            return w, h


def _upscale(img: Image.Image, size: tuple[int, int], rng: np.random.Generator, noise: float = 3.0) -> Image.Image:
    """Upscale a square RGB image to cover ``size`` = (w, h) px, centre-crop, add mild noise.

    The noise (std ``noise`` grey levels) is drawn at a quarter of the resolution and smoothed
    up, so the result is not a pure upscale yet still compresses well.
    """
    w, h = size
    side = max(w, h)
    big = img.resize((side, side), Image.BICUBIC)
    left, top = (side - w) // 2, (side - h) // 2
    big = big.crop((left, top, left + w, top + h))
    if noise <= 0:
        return big
    coarse = rng.normal(0, noise, size=(max(h // 4, 2), max(w // 4, 2), 3))
    field = Image.fromarray(np.clip(coarse * 8 + 128, 0, 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)
    arr = np.asarray(big, np.float32) + (np.asarray(field, np.float32) - 128) / 8
    return Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8))


def _exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value  # Orientation
    return exif.tobytes()


# Stored pixels per EXIF orientation, so that applying the orientation gives the upright image:
# 6 = "rotate 90 degrees clockwise to display" -> store the image rotated 90 counter-clockwise.
_STORE_ROTATED = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def _jpeg_bytes(img: Image.Image, kind: str, quality: int = 85) -> bytes:
    """JPEG bytes of an RGB image as ``kind``: 'rgb', 'grey' (mode L), 'cmyk', 'exif6', 'exif8'
    (pixels stored rotated, EXIF Orientation set) or 'progressive'."""
    buf = io.BytesIO()
    if kind == "grey":
        img.convert("L").save(buf, "JPEG", quality=quality)
    elif kind == "cmyk":
        img.convert("CMYK").save(buf, "JPEG", quality=quality)
    elif kind in ("exif6", "exif8"):
        value = int(kind[-1])
        img.transpose(_STORE_ROTATED[value]).save(buf, "JPEG", quality=quality, exif=_exif_orientation(value))
    elif kind == "progressive":
        img.save(buf, "JPEG", quality=quality, progressive=True, optimize=True)
    elif kind == "rgb":
        img.save(buf, "JPEG", quality=quality)
    else:
        raise ValueError(f"unknown JPEG kind {kind!r}")
    return buf.getvalue()


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


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
    shared_dir: str | Path,
    train_per_label: int = 8,
    test_per_label: int = 3,
    extra_label_rows: int = 4,
    seed: int = 0,
    min_unknown_fst: int = 2,
) -> dict[str, str]:
    """Pick a small subset of the real Fitzpatrick17k rows; returns {file name: CSV text} for
    the three files of :data:`F17K_FILES`, each row byte-for-byte as in the real file.

    Selection: the 9 most common labels of the clean training file (F17k-9) get
    ``train_per_label`` training rows and ``test_per_label`` held-out rows each; the 10th label
    (folliculitis) gets ``extra_label_rows`` training rows (fewer, so that "the 9 most common
    labels" still picks F17k-9) and ``test_per_label`` held-out rows. Rows are drawn per label
    from the rows sorted by md5hash with a seeded permutation; at least ``min_unknown_fst``
    training rows with ``fitzpatrick_scale`` -1 are swapped in (one per label, labels in
    name order). ``fitzpatrick17k.csv`` holds the chosen md5hashes' rows of the real table.
    Rows keep the real files' order and line endings.
    """
    shared_dir = Path(shared_dir)
    header_train, lines_train, fields_train = _read_raw_csv(shared_dir / F17K_TRAIN_FILE)
    header_test, lines_test, fields_test = _read_raw_csv(shared_dir / F17K_TEST_FILE)
    header_meta, lines_meta, fields_meta = _read_raw_csv(shared_dir / F17K_METADATA_FILE)
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
        order = _rng("f17k-select", seed, purpose, label).permutation(len(idx))
        return [idx[j] for j in order[:n]]

    train_picks = {lab: pick(fields_train, lab, train_per_label, "train") for lab in main_labels}
    train_picks.update({lab: pick(fields_train, lab, extra_label_rows, "train") for lab in extra_labels})
    unknown = sum(fields_train[i][i_fst] == "-1" for picks in train_picks.values() for i in picks)
    for lab in sorted(main_labels):
        if unknown >= min_unknown_fst:
            break
        picks = train_picks[lab]
        if any(fields_train[i][i_fst] == "-1" for i in picks):
            continue
        candidates = [i for i in sorted(range(len(fields_train)), key=lambda i: fields_train[i][i_md5])
                      if fields_train[i][i_label] == lab and fields_train[i][i_fst] == "-1"]
        if candidates:
            picks[-1] = candidates[int(_rng("f17k-unknown", seed, lab).integers(len(candidates)))]
            unknown += 1
    test_picks = [i for lab in main_labels + extra_labels for i in pick(fields_test, lab, test_per_label, "test")]
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
No image is included: `synthaug_utils.rehearsal.world.write_f17k` draws a stand-in image
`{{md5hash}}.jpg` for every row.

Selection (`synthaug_utils.rehearsal.world.select_f17k_rows`, seed {seed}): the 9 most common
labels of the clean training file (F17k-9) get {train} training rows and {test} held-out rows each;
the 10th label (folliculitis) gets {extra} training rows, fewer than the others, so that the
reader's "9 most common labels" rule still picks F17k-9, and {test} held-out rows. Rows are drawn
per label from the rows sorted by md5hash with a seeded permutation; at least {unknown} training
rows with fitzpatrick_scale -1 (unknown type) are swapped in. Regenerate with

    python -c "from synthaug_utils.rehearsal.world import write_f17k_resources; write_f17k_resources('../shared/data/fitzpatrick17k')"
"""


def write_f17k_resources(
    shared_dir: str | Path, dest: str | Path = RESOURCE_DIR, seed: int = 0, **selection: int
) -> Path:
    """Write the shipped selection (:func:`select_f17k_rows`) and its README.md into ``dest``."""
    dest = Path(dest)
    params = dict(train_per_label=8, test_per_label=3, extra_label_rows=4, min_unknown_fst=2)
    params.update(selection)
    files = select_f17k_rows(shared_dir, seed=seed, **params)
    for name, text in files.items():
        _write_bytes(dest / name, text.encode("utf-8"))
    readme = _RESOURCE_README.format(
        seed=seed, train=params["train_per_label"], test=params["test_per_label"],
        extra=params["extra_label_rows"], unknown=params["min_unknown_fst"],
    )
    _write_bytes(dest / "README.md", readme.encode("utf-8"))
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
    params = {"seed": int(seed), "csv": [_stable_int(texts[n].decode()) for n in F17K_FILES]}
    if _is_complete(root, "f17k", params, [folder / n for n in F17K_FILES] + [folder / "images"]):
        return folder
    began = time.perf_counter()
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
            rng = _rng("f17k-size", seed, md5)
            img = _upscale(_draw(label, fst, ("f17k", seed, md5)), _non_square_size(rng, *F17K_IMAGE_SIDE), rng)
            (tmp / "images" / f"{md5}.jpg").write_bytes(_jpeg_bytes(img, F17K_KIND_CYCLE[i % len(F17K_KIND_CYCLE)]))

    _build_folder(folder, build)
    _mark_complete(root, "f17k", params)
    _say(progress, f"Fitzpatrick17k, {len(rows)} images ({time.perf_counter() - began:.1f} s)")
    return folder


# ----------------------------------------------------------------------------- DDI
def _ddi_rows(seed: int, per_bin: int, malignant_per_bin: int, tag: str) -> list[tuple[int, int, bool, str]]:
    """(index from 1, skin-tone bin, malignant, disease) per image: ``per_bin`` per bin 12/34/56,
    the first ``malignant_per_bin`` of each bin malignant; diseases drawn from the generated lists."""
    rows = []
    benign, malignant = sorted(DDI_BENIGN), sorted(DDI_MALIGNANT)
    for tone in (12, 34, 56):
        for j in range(per_bin):
            rng = _rng(tag, seed, tone, j)
            is_malignant = j < malignant_per_bin
            names = malignant if is_malignant else benign
            rows.append((len(rows) + 1, tone, is_malignant, names[int(rng.integers(len(names)))]))
    # interleave the bins as DDI's table does (ids are not grouped by class)
    order = _rng(tag + "-order", seed).permutation(len(rows))
    return [(i + 1, *rows[k][1:]) for i, k in enumerate(order)]


def _ddi_image(tone: int, disease: str, seed_parts: tuple, side: tuple[int, int], noise: float = 0.0) -> Image.Image:
    """A DDI-style stand-in: a lesion of ``disease`` on skin of one type of the ``tone`` bin, upscaled."""
    rng = _rng("ddi-image", *seed_parts)
    fst = int(rng.choice({12: (1, 2), 34: (3, 4), 56: (5, 6)}[tone]))
    style = {**DDI_BENIGN, **DDI_MALIGNANT}.get(disease, disease)
    return _upscale(_draw(style, fst, seed_parts), _non_square_size(rng, *side), rng, noise=noise)


def write_ddi(out: str | Path, seed: int = 0, progress: bool = False) -> Path:
    """Write ``out/ddi/``: ``ddi_metadata.csv`` in DDI's format (unnamed index column, DDI_ID,
    DDI_file, skin_tone 12/34/56, malignant TRUE/FALSE, disease) with generated rows (not DDI's),
    10 per skin-tone bin (4 malignant, 6 benign), and PNG images ``images/{DDI_ID:06d}.png``
    of non-square sizes with sides 160-480 px; returns the folder.
    """
    root = Path(out).resolve()
    folder = root / "ddi"
    params = {"seed": int(seed), "per_bin": DDI_PER_BIN, "malignant": DDI_MALIGNANT_PER_BIN}
    if _is_complete(root, "ddi", params, [folder / "ddi_metadata.csv", folder / "images"]):
        return folder
    began = time.perf_counter()
    rows = _ddi_rows(seed, DDI_PER_BIN, DDI_MALIGNANT_PER_BIN, "ddi")

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        table = []
        for k, (ddi_id, tone, malignant, disease) in enumerate(rows):
            name = f"{ddi_id:06d}.png"
            img = _ddi_image(tone, disease, ("ddi", seed, ddi_id), DDI_IMAGE_SIDE)
            (tmp / "images" / name).write_bytes(_png_bytes(img))
            table.append((k, ddi_id, name, tone, "TRUE" if malignant else "FALSE", disease))
        _write_csv(tmp / "ddi_metadata.csv", ["", "DDI_ID", "DDI_file", "skin_tone", "malignant", "disease"], table)

    _build_folder(folder, build)
    _mark_complete(root, "ddi", params)
    _say(progress, f"DDI, {len(rows)} images ({time.perf_counter() - began:.1f} s)")
    return folder


# ----------------------------------------------------------------------------- bring your own
BYO_KIND_CYCLE = ("rgba_png", "palette_png", "rgb_jpeg", "grey_jpeg")


def _byo_file(img: Image.Image, kind: str, rng: np.random.Generator) -> tuple[bytes, str]:
    """(bytes, suffix) of an RGB image written as ``kind``: 'rgba_png' (an elliptical cut-out:
    alpha 255 inside, 0 outside with black RGB there, soft edge), 'palette_png' (mode P, 64
    colours), 'rgb_jpeg' or 'grey_jpeg' (mode L)."""
    if kind == "rgba_png":
        w, h = img.size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r = np.hypot((xx - w / 2) / (w * 0.46), (yy - h / 2) / (h * 0.46))
        alpha = np.clip((1.0 - r) * 12 + 0.5, 0, 1)
        rgb = np.asarray(img, np.float32) * (alpha[..., None] > 0)
        rgba = np.dstack([rgb, alpha * 255]).round().astype(np.uint8)
        return _png_bytes(Image.fromarray(rgba, "RGBA")), ".png"
    if kind == "palette_png":
        return _png_bytes(img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)), ".png"
    if kind == "rgb_jpeg":
        return _jpeg_bytes(img, "rgb"), ".jpg"
    if kind == "grey_jpeg":
        return _jpeg_bytes(img, "grey"), ".jpeg"
    raise ValueError(f"unknown kind {kind!r}")


def write_byo(out: str | Path, seed: int = 0, progress: bool = False) -> tuple[Path, Path]:
    """Write ``out/byo/``: class folders ``folders/<label>/`` (labels :data:`BYO_LABELS`, 12
    images each, non-square, sides 100-600 px, kinds cycling through RGBA PNG with
    transparency, palette PNG, RGB JPEG and greyscale JPEG) and ``table.csv`` with columns
    ``path,label,fst`` (paths relative to ``byo/``, fst 1-6 drawn, no split column) over the
    same images. Returns (class-folder root, table path).
    """
    root = Path(out).resolve()
    folder = root / "byo"
    params = {"seed": int(seed), "labels": sorted(BYO_LABELS), "per_label": BYO_PER_LABEL}
    if _is_complete(root, "byo", params, [folder / "folders", folder / "table.csv"]):
        return folder / "folders", folder / "table.csv"
    began = time.perf_counter()

    def build(tmp: Path) -> None:
        table = []
        for label in sorted(BYO_LABELS):
            (tmp / "folders" / label).mkdir(parents=True)
            for i in range(BYO_PER_LABEL):
                rng = _rng("byo", seed, label, i)
                fst = int(rng.integers(1, 7))
                img = _upscale(_draw(BYO_LABELS[label], fst, ("byo", seed, label, i)),
                               _non_square_size(rng, *BYO_IMAGE_SIDE), rng, noise=0.0)
                data, suffix = _byo_file(img, BYO_KIND_CYCLE[i % len(BYO_KIND_CYCLE)], rng)
                rel = f"folders/{label}/{label.replace(' ', '_')}_{i:02d}{suffix}"
                (tmp / rel).write_bytes(data)
                table.append((rel, label, fst))
        _write_csv(tmp / "table.csv", ["path", "label", "fst"], table)

    _build_folder(folder, build)
    _mark_complete(root, "byo", params)
    _say(progress, f"bring-your-own folders, {len(BYO_LABELS) * BYO_PER_LABEL} images ({time.perf_counter() - began:.1f} s)")
    return folder / "folders", folder / "table.csv"


def write_ddi_byo(out: str | Path, seed: int = 0, progress: bool = False) -> Path:
    """Write ``out/ddi_byo/``: ``table.csv`` with columns ``path,label,fst`` (label benign or
    malignant, fst the skin-tone bin 12/34/56; 9 images per bin, 4 malignant and 5 benign) and
    its images ``images/ddi_byo_NNN.{jpg,png}`` (alternating; sides 160-480 px). Returns the table path.
    """
    root = Path(out).resolve()
    folder = root / "ddi_byo"
    params = {"seed": int(seed), "per_bin": DDI_BYO_PER_BIN}
    if _is_complete(root, "ddi_byo", params, [folder / "table.csv", folder / "images"]):
        return folder / "table.csv"
    began = time.perf_counter()
    rows = _ddi_rows(seed, DDI_BYO_PER_BIN, DDI_MALIGNANT_PER_BIN, "ddi-byo")

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        table = []
        for index, tone, malignant, disease in rows:
            img = _ddi_image(tone, disease, ("ddi-byo", seed, index), DDI_IMAGE_SIDE, noise=2.0)
            if index % 2:
                rel, data = f"images/ddi_byo_{index:03d}.jpg", _jpeg_bytes(img, "rgb")
            else:
                rel, data = f"images/ddi_byo_{index:03d}.png", _png_bytes(img)
            (tmp / rel).write_bytes(data)
            table.append((rel, "malignant" if malignant else "benign", tone))
        _write_csv(tmp / "table.csv", ["path", "label", "fst"], table)

    _build_folder(folder, build)
    _mark_complete(root, "ddi_byo", params)
    _say(progress, f"bring-your-own DDI table, {len(rows)} images ({time.perf_counter() - began:.1f} s)")
    return folder / "table.csv"


# The bad table: 6 good images and these 3 bad entries, interleaved (file name -> what is wrong).
BAD_ENTRIES = {"missing.jpg": "missing", "empty.jpg": "empty (0 bytes)", "truncated.jpg": "truncated JPEG (first half of the bytes)"}


def write_bad_table(out: str | Path, seed: int = 0, progress: bool = False) -> Path:
    """Write ``out/bad/``: ``table.csv`` with columns ``path,label`` naming 6 valid JPEGs and 3
    bad entries (:data:`BAD_ENTRIES`): ``images/missing.jpg`` (absent), ``images/empty.jpg``
    (0 bytes) and ``images/truncated.jpg`` (the first half of a valid JPEG's bytes). Rows:
    good, missing, good, good, empty, good, good, truncated, good. Returns the table path.
    """
    root = Path(out).resolve()
    folder = root / "bad"
    params = {"seed": int(seed)}
    if _is_complete(root, "bad", params, [folder / "table.csv", folder / "images"]):
        return folder / "table.csv"
    labels = sorted(BYO_LABELS)[:2]

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        good = []
        for i in range(7):  # 6 good images, and one more whose bytes are cut for the truncated file
            label = labels[i % 2]
            rng = _rng("bad", seed, i)
            img = _upscale(_draw(BYO_LABELS[label], int(rng.integers(1, 7)), ("bad", seed, i)),
                           _non_square_size(rng, *BYO_IMAGE_SIDE), rng)
            data = _jpeg_bytes(img, "rgb")
            if i == 6:
                (tmp / "images" / "truncated.jpg").write_bytes(data[: len(data) // 2])
            else:
                (tmp / "images" / f"good_{i}.jpg").write_bytes(data)
                good.append((f"images/good_{i}.jpg", label))
        (tmp / "images" / "empty.jpg").write_bytes(b"")
        bad = [(f"images/{name}", labels[k % 2]) for k, name in enumerate(BAD_ENTRIES)]
        table = [good[0], bad[0], good[1], good[2], bad[1], good[3], good[4], bad[2], good[5]]
        _write_csv(tmp / "table.csv", ["path", "label"], table)

    _build_folder(folder, build)
    _mark_complete(root, "bad", params)
    _say(progress, "bad-image table, 6 good + 3 bad")
    return folder / "table.csv"


# ----------------------------------------------------------------------------- Stable Diffusion
def prompt_words(labels: Iterable[str] = ()) -> list[str]:
    """Vocabulary words of the rehearsal tokenizer: the demo generator's prompt words (template,
    FST suffix, F17k-9 and DDI names), the words of ``labels``, the bring-your-own labels and the
    generated DDI disease names. Other words tokenize character by character (never an error)."""
    from synthaug_utils.diffusion.demo_generator import PROMPT_WORDS

    extra = " ".join([*labels, *BYO_LABELS, *DDI_BENIGN, *DDI_MALIGNANT, "skin disease fitzpatrick type"])
    words = list(PROMPT_WORDS) + extra.replace("-", " ").replace(",", " ").lower().split()
    return list(dict.fromkeys(words))


def _sd_components(name: str, tokenizer, seed: int) -> dict:
    """Randomly initialised components of SD architecture ``name`` ('sd21_base' or 'sd15_inpaint'),
    shrunk per :data:`SD_SHRINK` from the real configs in ``resources/sd_configs/<name>``."""
    import torch
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg_dir = SD_CONFIG_DIR / name
    s = SD_SHRINK
    n = len(s["unet_block_out_channels"])
    unet_cfg = json.loads((cfg_dir / "unet" / "config.json").read_text())
    downs, ups = unet_cfg["down_block_types"], unet_cfg["up_block_types"]
    unet_cfg.update(
        block_out_channels=list(s["unet_block_out_channels"]),
        down_block_types=downs[: n - 1] + downs[-1:],  # cross-attention levels, then the plain one
        up_block_types=ups[:1] + ups[len(ups) - n + 1:],
        layers_per_block=s["unet_layers_per_block"],
        cross_attention_dim=s["text_hidden"],
        attention_head_dim=list(s["unet_heads"]) if isinstance(unet_cfg["attention_head_dim"], list) else s["unet_heads"][0],
        sample_size=s["image_size"] // 8,
    )
    vae_cfg = json.loads((cfg_dir / "vae" / "config.json").read_text())
    vae_cfg.update(
        block_out_channels=list(s["vae_block_out_channels"]),
        layers_per_block=s["vae_layers_per_block"],
        sample_size=s["image_size"],
    )
    text_cfg = json.loads((cfg_dir / "text_encoder" / "config.json").read_text())
    for key in ("architectures", "model_type"):
        text_cfg.pop(key, None)
    text_cfg.update(
        vocab_size=len(tokenizer),
        hidden_size=s["text_hidden"],
        intermediate_size=4 * s["text_hidden"],
        projection_dim=s["text_hidden"],
        num_hidden_layers=s["text_layers"],
        num_attention_heads=s["text_heads"],
        max_position_embeddings=s["max_tokens"],
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    sched_cfg = json.loads((cfg_dir / "scheduler" / "scheduler_config.json").read_text())
    torch.manual_seed(_stable_int(seed, name, "unet"))
    unet = UNet2DConditionModel(**{k: v for k, v in unet_cfg.items() if not k.startswith("_")})
    torch.manual_seed(_stable_int(seed, name, "vae"))
    vae = AutoencoderKL(**{k: v for k, v in vae_cfg.items() if not k.startswith("_")})
    torch.manual_seed(_stable_int(seed, name, "text_encoder"))
    text_encoder = CLIPTextModel(CLIPTextConfig(**text_cfg))
    scheduler = DPMSolverMultistepScheduler.from_config(sched_cfg)  # the real (PNDM) schedule, as DPM-Solver
    return {"vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "unet": unet, "scheduler": scheduler}


def _real_tokenizer_folder(folder: Path, source: Path) -> None:
    """Make ``folder`` hold what the real SD tokenizer folders hold: ``vocab.json``,
    ``merges.txt``, ``tokenizer_config.json`` and ``special_tokens_map.json`` (here the files
    :func:`~synthaug_utils.diffusion.demo_generator.build_tokenizer_files` wrote into ``source``), not
    the ``tokenizer.json`` that ``save_pretrained`` of transformers 5 writes instead."""
    shutil.rmtree(folder)
    shutil.copytree(source, folder)


def _readable(folder: Path) -> None:
    """chmod 644 every file under ``folder`` (safetensors writes its files 600)."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o644)


def write_sd_folders(out: str | Path, seed: int = 0, labels: Iterable[str] = (), progress: bool = False) -> dict[str, Path]:
    """Write ``out/models/sd21_base`` (StableDiffusionPipeline, UNet with 4 input channels) and
    ``out/models/sd15_inpaint`` (StableDiffusionInpaintPipeline, 9 input channels) with
    ``save_pretrained``: the real component classes (AutoencoderKL, UNet2DConditionModel,
    CLIPTextModel, CLIPTokenizer, DPMSolverMultistepScheduler), the real configs shrunk per
    :data:`SD_SHRINK` (VAE factor 8 kept: 64 px images <-> 8 x 8 x 4 latents), random
    float32 weights seeded by ``seed``, safetensors; ``model_index.json`` with
    safety_checker and feature_extractor null. The tokenizer's ``vocab.json`` / ``merges.txt``
    are written by :func:`synthaug_utils.diffusion.demo_generator.build_tokenizer_files` over
    :func:`prompt_words` (``labels`` adds words). Returns {name: folder}.
    """
    root = Path(out).resolve()
    folders = {"sd21_base": root / "models" / "sd21_base", "sd15_inpaint": root / "models" / "sd15_inpaint"}
    words = prompt_words(labels)
    params = {"seed": int(seed), "words": _stable_int(" ".join(words)), "shrink": json.dumps(SD_SHRINK, sort_keys=True)}
    if _is_complete(root, "sd", params, [f / "model_index.json" for f in folders.values()]):
        return folders
    import torch

    from synthaug_utils.diffusion.demo_generator import build_tokenizer_files, load_tokenizer, save_pipeline_folder
    from synthaug_utils.diffusion.generation import quiet_loading

    began = time.perf_counter()
    tok_dir = root / "models" / f".tokenizer.tmp-{os.getpid()}"
    shutil.rmtree(tok_dir, ignore_errors=True)
    try:
        build_tokenizer_files(tok_dir, words=words, max_tokens=SD_SHRINK["max_tokens"])
        tokenizer = load_tokenizer(tok_dir)
        for name, kind in (("sd21_base", "text2image"), ("sd15_inpaint", "inpaint")):
            with quiet_loading():
                components = _sd_components(name, tokenizer, seed)
            save_pipeline_folder(components, kind, folders[name], dtype=torch.float32)
            _real_tokenizer_folder(folders[name] / "tokenizer", tok_dir)
            _readable(folders[name])
            note = {
                "what": f"synthaug rehearsal: the {name} architecture with widths shrunk, random weights",
                "shrink": SD_SHRINK,
                "seed": int(seed),
            }
            (folders[name] / "rehearsal.json").write_text(json.dumps(note, indent=2, sort_keys=True) + "\n")
    finally:
        shutil.rmtree(tok_dir, ignore_errors=True)
    _mark_complete(root, "sd", params)
    _say(progress, f"Stable Diffusion folders ({time.perf_counter() - began:.1f} s)")
    return folders


# ----------------------------------------------------------------------------- classifier, CLIP
def classifier_weights_name(arch: str) -> str:
    """File name torchvision uses for ``arch``'s DEFAULT ImageNet weights (e.g.
    ``efficientnet_b0_rwightman-7f5810bc.pth``)."""
    import torchvision

    return Path(torchvision.models.get_model_weights(arch).DEFAULT.url).name


def write_classifier_weights(out: str | Path, arch: str = "efficientnet_b0", seed: int = 0, progress: bool = False) -> Path:
    """Write ``out/models/<torchvision file name of arch's DEFAULT weights>``: the state dict of a
    randomly initialised (seeded) torchvision ``arch`` with its 1000-way head, float32,
    ``torch.save`` format (loads with ``torch.load(weights_only=True)``). Returns the path."""
    root = Path(out).resolve()
    params = {"seed": int(seed), "arch": arch}
    done = _completed_output(root, f"classifier-{arch}", params)
    if done is not None:
        return done
    import torch
    import torchvision

    path = root / "models" / classifier_weights_name(arch)
    began = time.perf_counter()
    torch.manual_seed(_stable_int(seed, "classifier", arch))
    model = torchvision.models.get_model(arch, weights=None)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    _write_bytes(path, buf.getvalue())
    _mark_complete(root, f"classifier-{arch}", params, output=path)
    _say(progress, f"classifier weights {path.name} ({time.perf_counter() - began:.1f} s)")
    return path


def write_open_clip_checkpoint(
    out: str | Path, arch: str = "ViT-B-32", seed: int = 0, dtype: str = "float16", progress: bool = False
) -> Path:
    """Write ``out/models/open_clip_<arch>.safetensors``: the state dict of a randomly initialised
    (seeded) open_clip model ``arch`` (both towers; ViT-B-32: 151 M parameters, 512-d
    embeddings), as ``dtype`` tensors (float16 by default, about 300 MB for ViT-B-32, as OpenAI
    released its weights; open_clip casts them into its float32 model on load). Returns the path."""
    root = Path(out).resolve()
    path = root / "models" / f"open_clip_{arch}.safetensors"
    params = {"seed": int(seed), "arch": arch, "dtype": dtype}
    if _is_complete(root, f"clip-{arch}", params, [path]):
        return path
    import open_clip
    import torch
    from safetensors.torch import save_file

    began = time.perf_counter()
    torch.manual_seed(_stable_int(seed, "open_clip", arch))
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # open_clip warns that no pretrained weights were loaded: intended
    try:
        model = open_clip.create_model(arch, pretrained=None)
    finally:
        logging.disable(previous)
    state = {k: v.detach().to(getattr(torch, dtype)).contiguous() for k, v in model.state_dict().items()}
    del model
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        save_file(state, str(tmp), metadata={"format": "pt"})
        tmp.chmod(0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _mark_complete(root, f"clip-{arch}", params)
    _say(progress, f"open_clip checkpoint {path.name} ({time.perf_counter() - began:.1f} s)")
    return path


# ----------------------------------------------------------------------------- the world
def write_rehearsal_world(
    out: str | Path,
    classifier_arch: str = "efficientnet_b0",
    clip_arch: str = "ViT-B-32",
    seed: int = 0,
    progress: bool = True,
) -> RehearsalWorld:
    """Write (or complete) the miniature paper-format world under ``out``; returns its paths.

    Parts already complete with the same settings are skipped, so a re-run takes about a
    second. ``locations`` holds the keys :data:`LOCATION_KEYS` (the real-format datasets and
    models; not the bring-your-own keys); ``out/world.json`` records the same paths.
    """
    root = Path(out).resolve()
    root.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    f17k = write_f17k(root, seed, progress=progress)
    ddi = write_ddi(root, seed, progress=progress)
    byo_folders, byo_table = write_byo(root, seed, progress=progress)
    ddi_byo_table = write_ddi_byo(root, seed, progress=progress)
    bad_table = write_bad_table(root, seed, progress=progress)
    sd = write_sd_folders(root, seed, progress=progress)
    classifier = write_classifier_weights(root, classifier_arch, seed, progress=progress)
    clip = write_open_clip_checkpoint(root, clip_arch, seed, progress=progress)
    locations = {
        "f17k_metadata": str(f17k / F17K_METADATA_FILE),
        "f17k_splits": str(f17k),
        "f17k_images": str(f17k / "images"),
        "ddi_metadata": str(ddi / "ddi_metadata.csv"),
        "ddi_images": str(ddi / "images"),
        "sd_text2image": str(sd["sd21_base"]),
        "sd_inpaint": str(sd["sd15_inpaint"]),
        "classifier_weights": str(classifier),
        "clip_weights": str(clip),
    }
    unknown = sorted(set(locations) - set(PAPER_LOCATIONS))
    if unknown:  # the profile's location keys were renamed: this writer must follow
        raise RuntimeError(f"rehearsal locations {unknown} are not paper-profile location keys {sorted(PAPER_LOCATIONS)}")
    world = RehearsalWorld(root, locations, byo_folders, byo_table, ddi_byo_table, bad_table)
    summary = {
        "locations": locations,
        "byo_folders": str(byo_folders),
        "byo_table": str(byo_table),
        "ddi_byo_table": str(ddi_byo_table),
        "bad_table": str(bad_table),
        "classifier_arch": classifier_arch,
        "clip_arch": clip_arch,
        "seed": int(seed),
    }
    _write_bytes(root / "world.json", (json.dumps(summary, indent=2) + "\n").encode())
    _say(progress, f"complete in {root} ({time.perf_counter() - began:.1f} s)")
    return world
