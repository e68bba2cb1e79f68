"""Shared pieces of the rehearsal world: seeds, markers, drawing and image bytes."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from synthaug_utils.core.files import atomic_folder, atomic_write_bytes
from synthaug_utils.core.paths import PACKAGE_DIR, REHEARSAL_MARKER_DIR

# Bump when a writer changes what it writes: completed parts of an older version are rewritten.
WRITER_VERSION = 1

RESOURCE_DIR = PACKAGE_DIR / "resources" / "rehearsal"

SD_CONFIG_DIR = PACKAGE_DIR / "resources" / "sd_configs"

# Bring-your-own labels -> the demo world's DDI style used to draw them.
BYO_LABELS = {"melanoma": "melanoma", "nevus": "melanocytic-nevi", "seborrheic keratosis": "seborrheic-keratosis"}

# Generated DDI disease names (DDI's naming: lower case, hyphens) -> demo_world.DDI_STYLES style.
DDI_BENIGN = {
    "melanocytic-nevi": "melanocytic-nevi",
    "seborrheic-keratosis": "seborrheic-keratosis",
    "verruca-vulgaris": "verruca-vulgaris",
    "dermatofibroma": "dermatofibroma",
    "epidermal-cyst": "dermatofibroma",
    "acrochordon": "verruca-vulgaris",
}

DDI_MALIGNANT = {
    "basal-cell-carcinoma": "basal-cell-carcinoma",
    "melanoma": "melanoma",
    "squamous-cell-carcinoma-in-situ": "squamous-cell-carcinoma-in-situ",
    "mycosis-fungoides": "squamous-cell-carcinoma-in-situ",
}

F17K_IMAGE_SIDE = (180, 900)  # px, min and max side of the Fitzpatrick17k stand-in images

DDI_IMAGE_SIDE = (160, 480)

BYO_IMAGE_SIDE = (100, 600)

DRAW_SIZE = 64  # px, the side the lesions are drawn at before upscaling


# ----------------------------------------------------------------------------- small helpers
def stable_int(*parts: object) -> int:
    """A 32-bit integer from the parts' text (stable across runs and platforms)."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def seeded_rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng([stable_int("rehearsal", *parts)])


def say(progress: bool, text: str) -> None:
    if progress:
        print(f"rehearsal world: {text}", file=sys.stderr, flush=True)


def _marker(root: Path, part: str) -> Path:
    return root / REHEARSAL_MARKER_DIR / f"{part}.json"


def _read_marker(root: Path, part: str) -> dict | None:
    try:
        return json.loads(_marker(root, part).read_text())
    except (OSError, ValueError):
        return None


def is_complete(root: Path, part: str, params: dict, outputs: Iterable[Path]) -> bool:
    """True when ``part`` was written with the same ``params`` and every output still exists."""
    done = _read_marker(root, part)
    if done is None:
        return False
    done.pop("output", None)
    return done == {"version": WRITER_VERSION, **params} and all(Path(p).exists() for p in outputs)


def completed_output(root: Path, part: str, params: dict) -> Path | None:
    """The output file recorded by a complete ``part`` with the same ``params`` (None if not complete)."""
    done = _read_marker(root, part) or {}
    output = done.get("output")
    if output and is_complete(root, part, params, [root / output]):
        return root / output
    return None


def mark_complete(root: Path, part: str, params: dict, output: Path | None = None) -> None:
    marker = _marker(root, part)
    marker.parent.mkdir(parents=True, exist_ok=True)
    record = {"version": WRITER_VERSION, **params}
    if output is not None:
        record["output"] = Path(output).relative_to(root).as_posix()
    atomic_write_bytes(marker, json.dumps(record, sort_keys=True).encode())


def write_part(
    root: Path,
    part: str,
    params: dict,
    folder: Path,
    outputs: Iterable[Path],
    build: Callable[[Path], None],
    progress: bool,
    what: str,
) -> None:
    """Write ``folder`` with ``build`` (into a temporary folder, moved into place when complete) and mark
    ``part`` complete with ``params``; nothing when it already is, with every one of ``outputs`` present.
    Says ``what`` it wrote and how long it took."""
    if is_complete(root, part, params, outputs):
        return
    began = time.perf_counter()
    atomic_folder(folder, build)
    mark_complete(root, part, params)
    say(progress, f"{what} ({time.perf_counter() - began:.1f} s)")


def write_csv(path: Path, header: list[str], rows: Iterable[Iterable[object]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


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
        return LesionStyle(
            (10, 20), (0.02, 0.04), "round", 0.1, (226, 120, 110), (0.6, 0.9), 0.2, "vesicles", "scattered"
        )
    styles = list(DERM9_STYLES.values())
    return styles[stable_int(label) % len(styles)]


def draw_lesion(style_label: str, fst: int, seed_parts: tuple) -> Image.Image:
    """A DRAW_SIZE x DRAW_SIZE RGB lesion of ``style_label`` on skin type ``fst`` (1-6, -1 unknown)."""
    from synthaug_utils.data.world import render_lesion_image

    return render_lesion_image(_style_for(style_label), int(fst), ("rehearsal",) + tuple(seed_parts), DRAW_SIZE)


def non_square_size(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int]:
    """(width, height) px with both sides in [lo, hi], aspect ratio 0.6-0.9 or 1.1-1.67 (never square)."""
    while True:
        w = int(rng.integers(lo, hi + 1))
        ratio = float(rng.uniform(0.6, 0.9))
        if rng.uniform() < 0.5:
            ratio = 1 / ratio
        h = int(round(w * ratio))
        if lo <= h <= hi and h != w:
            return w, h


def upscale(img: Image.Image, size: tuple[int, int], rng: np.random.Generator, noise: float = 3.0) -> Image.Image:
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


def stand_in_image(
    style_label: str, fst: int, seed_parts: tuple, side: tuple[int, int], rng: np.random.Generator, noise: float = 3.0
) -> Image.Image:
    """A drawn lesion (:func:`draw_lesion`) upscaled to a non-square size with both sides in ``side``
    = (lo, hi) px (:func:`non_square_size` and :func:`upscale`, both drawing from ``rng``)."""
    return upscale(draw_lesion(style_label, fst, seed_parts), non_square_size(rng, *side), rng, noise=noise)


def _exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value  # Orientation
    return exif.tobytes()


# Stored pixels per EXIF orientation, so that applying the orientation gives the upright image:
# 6 = "rotate 90 degrees clockwise to display" -> store the image rotated 90 counter-clockwise.
_STORE_ROTATED = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def jpeg_bytes(img: Image.Image, kind: str, quality: int = 85) -> bytes:
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


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()
