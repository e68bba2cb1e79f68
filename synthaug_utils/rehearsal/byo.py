"""Bring-your-own tables and folders, and the bad table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from synthaug_utils.rehearsal.common import (
    BYO_IMAGE_SIDE,
    BYO_LABELS,
    DDI_IMAGE_SIDE,
    jpeg_bytes,
    png_bytes,
    seeded_rng,
    stand_in_image,
    write_csv,
    write_part,
)
from synthaug_utils.rehearsal.datasets import DDI_MALIGNANT_PER_BIN, ddi_image, ddi_rows

BYO_PER_LABEL = 12

DDI_BYO_PER_BIN = 9  # 4 malignant + 5 benign per bin

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
        return png_bytes(Image.fromarray(rgba, "RGBA")), ".png"
    if kind == "palette_png":
        return png_bytes(img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)), ".png"
    if kind == "rgb_jpeg":
        return jpeg_bytes(img, "rgb"), ".jpg"
    if kind == "grey_jpeg":
        return jpeg_bytes(img, "grey"), ".jpeg"
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

    def build(tmp: Path) -> None:
        table = []
        for label in sorted(BYO_LABELS):
            (tmp / "folders" / label).mkdir(parents=True)
            for i in range(BYO_PER_LABEL):
                rng = seeded_rng("byo", seed, label, i)
                fst = int(rng.integers(1, 7))
                img = stand_in_image(BYO_LABELS[label], fst, ("byo", seed, label, i), BYO_IMAGE_SIDE, rng, noise=0.0)
                data, suffix = _byo_file(img, BYO_KIND_CYCLE[i % len(BYO_KIND_CYCLE)], rng)
                rel = f"folders/{label}/{label.replace(' ', '_')}_{i:02d}{suffix}"
                (tmp / rel).write_bytes(data)
                table.append((rel, label, fst))
        write_csv(tmp / "table.csv", ["path", "label", "fst"], table)

    outputs = [folder / "folders", folder / "table.csv"]
    what = f"bring-your-own folders, {len(BYO_LABELS) * BYO_PER_LABEL} images"
    write_part(root, "byo", params, folder, outputs, build, progress, what)
    return folder / "folders", folder / "table.csv"


def write_ddi_byo(out: str | Path, seed: int = 0, progress: bool = False) -> Path:
    """Write ``out/ddi_byo/``: ``table.csv`` with columns ``path,label,fst`` (label benign or
    malignant, fst the skin-tone bin 12/34/56; 9 images per bin, 4 malignant and 5 benign) and
    its images ``images/ddi_byo_NNN.{jpg,png}`` (alternating; sides 160-480 px). Returns the table path.
    """
    root = Path(out).resolve()
    folder = root / "ddi_byo"
    params = {"seed": int(seed), "per_bin": DDI_BYO_PER_BIN}
    rows = ddi_rows(seed, DDI_BYO_PER_BIN, DDI_MALIGNANT_PER_BIN, "ddi-byo")

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        table = []
        for index, tone, malignant, disease in rows:
            img = ddi_image(tone, disease, ("ddi-byo", seed, index), DDI_IMAGE_SIDE, noise=2.0)
            if index % 2:
                rel, data = f"images/ddi_byo_{index:03d}.jpg", jpeg_bytes(img, "rgb")
            else:
                rel, data = f"images/ddi_byo_{index:03d}.png", png_bytes(img)
            (tmp / rel).write_bytes(data)
            table.append((rel, "malignant" if malignant else "benign", tone))
        write_csv(tmp / "table.csv", ["path", "label", "fst"], table)

    what = f"bring-your-own DDI table, {len(rows)} images"
    write_part(root, "ddi_byo", params, folder, [folder / "table.csv", folder / "images"], build, progress, what)
    return folder / "table.csv"


# The bad table: 6 good images and these 3 bad entries, interleaved (file name -> what is wrong).
BAD_ENTRIES = {
    "missing.jpg": "missing",
    "empty.jpg": "empty (0 bytes)",
    "truncated.jpg": "truncated JPEG (first half of the bytes)",
}


def write_bad_table(out: str | Path, seed: int = 0, progress: bool = False) -> Path:
    """Write ``out/bad/``: ``table.csv`` with columns ``path,label`` naming 6 valid JPEGs and 3
    bad entries (:data:`BAD_ENTRIES`): ``images/missing.jpg`` (absent), ``images/empty.jpg``
    (0 bytes) and ``images/truncated.jpg`` (the first half of a valid JPEG's bytes). Rows:
    good, missing, good, good, empty, good, good, truncated, good. Returns the table path.
    """
    root = Path(out).resolve()
    folder = root / "bad"
    params = {"seed": int(seed)}
    labels = sorted(BYO_LABELS)[:2]

    def build(tmp: Path) -> None:
        (tmp / "images").mkdir()
        good = []
        for i in range(7):  # 6 good images, and one more whose bytes are cut for the truncated file
            label = labels[i % 2]
            rng = seeded_rng("bad", seed, i)
            fst = int(rng.integers(1, 7))
            img = stand_in_image(BYO_LABELS[label], fst, ("bad", seed, i), BYO_IMAGE_SIDE, rng)
            data = jpeg_bytes(img, "rgb")
            if i == 6:
                (tmp / "images" / "truncated.jpg").write_bytes(data[: len(data) // 2])
            else:
                (tmp / "images" / f"good_{i}.jpg").write_bytes(data)
                good.append((f"images/good_{i}.jpg", label))
        (tmp / "images" / "empty.jpg").write_bytes(b"")
        bad = [(f"images/{name}", labels[k % 2]) for k, name in enumerate(BAD_ENTRIES)]
        table = [good[0], bad[0], good[1], good[2], bad[1], good[3], good[4], bad[2], good[5]]
        write_csv(tmp / "table.csv", ["path", "label"], table)

    what = "bad-image table, 6 good + 3 bad"
    write_part(root, "bad", params, folder, [folder / "table.csv", folder / "images"], build, progress, what)
    return folder / "table.csv"
