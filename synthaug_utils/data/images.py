"""Reading one image: any mode to 8-bit RGB (alpha on white, CMYK, 16-bit), square fitting."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# ----------------------------------------------------------------------------- images
ALPHA_BACKGROUND = (255, 255, 255)
"""RGB colour that transparent pixels are composited on: white.

A cut-out or masked dermatology photograph with a transparent margin then looks like a lesion
photographed on a white sheet, and the same file gives the same pixels in every consumer.
(Dropping the alpha channel instead, as a plain ``convert("RGB")`` does, shows whatever
colour the transparent pixels happen to store, often black.)"""

ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")

_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _to_8bit_grey(img: Image.Image) -> Image.Image:
    """16-bit / 32-bit greyscale -> 8-bit "L" by scaling (PIL's convert would clip at 255)."""
    a = np.asarray(img)
    if img.mode.startswith("I;16"):
        a = a.astype(np.uint32) >> 8
    elif img.mode == "I":
        a = np.clip(a, 0, 65535)
        a = a >> 8 if a.max(initial=0) > 255 else a
    else:  # "F": [0, 1] floats are scaled, larger values clipped
        a = np.nan_to_num(a.astype(np.float64))
        a = np.rint(a * 255 if a.max(initial=0.0) <= 1.0 else a)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    """CMYK -> RGB through the embedded ICC profile when there is one (else PIL's plain formula)."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            import io

            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception:  # a broken or unusual profile: fall back to the plain conversion
            pass
    return img.convert("RGB")


def as_rgb(img: Image.Image) -> Image.Image:
    """A new RGB image with ``img``'s pixels (the conversion rules of :func:`open_rgb`, EXIF excepted).

    RGB is copied unchanged; greyscale ("1", "L", 16-bit "I;16", "I", "F") is scaled to 8 bit and
    replicated; CMYK goes through its ICC profile when present; palette images are expanded;
    images with alpha (RGBA, LA, PA, or a palette / greyscale / RGB image with a transparency
    key) are composited on :data:`ALPHA_BACKGROUND` (white).
    """
    if img.mode == "RGB" and "transparency" not in img.info:
        return img.copy()
    if img.mode in _HIGH_BIT_MODES:
        transparency = img.info.get("transparency")
        img = _to_8bit_grey(img)
        if isinstance(transparency, int):
            img.info["transparency"] = transparency >> 8 if transparency > 255 else transparency
    if img.mode in ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode == "CMYK":
        return _cmyk_to_rgb(img)
    return img.convert("RGB")


def open_rgb(path: str | os.PathLike) -> Image.Image:
    """Open an image file as an 8-bit RGB PIL image: the one reader every consumer uses.

    The file is fully decoded (first frame of multi-frame files); its EXIF orientation is
    applied (``PIL.ImageOps.exif_transpose``); then :func:`as_rgb` converts greyscale, 16-bit,
    CMYK, palette and alpha images (transparent pixels become white, :data:`ALPHA_BACKGROUND`).
    An RGB file without EXIF orientation gives exactly the pixels of
    ``Image.open(path).convert("RGB")`` (and of fastai's ``PILImage.create(path)``).
    Raises what PIL raises for missing or undecodable files (OSError and subclasses).
    """
    with Image.open(path) as img:
        img.load()
        try:
            ImageOps.exif_transpose(img, in_place=True)
        except Exception:  # unreadable EXIF block: keep the stored orientation
            pass
        return as_rgb(img)


def _fit_square(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to ``size`` px (bicubic) and centre-crop to ``size`` x ``size``."""
    w, h = img.size
    scale = size / min(w, h)
    if (w, h) != (size, size):
        img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return img


def load_image(path: str | Path, size: int | None = None) -> Image.Image:
    """Open an image as RGB (:func:`open_rgb`); with ``size``, resize the shorter side to ``size`` px and centre-crop to
    square."""
    img = open_rgb(path)
    return img if size is None else _fit_square(img, size)
