"""The embedded demo world: procedurally drawn stand-in "skin lesion" images.

Nothing here is medical data. Two datasets are drawn, deterministically from a seed:

``demo-derm9``
    Nine classes carrying the F17k-9 label names. Each class is a distinct but
    overlapping lesion *morphology* (number, size, shape, border, colour, texture of
    lesions) drawn on a skin background whose colour follows a Fitzpatrick skin type
    I-VI; the type distribution is skewed towards lighter types as in Fitzpatrick17k.
    Nuisance variation: lighting gradient, exposure, blur, sensor noise, hair, rotation.
    A share of images (``ATYPICAL_RATE``) shows an *atypical presentation*: the
    morphology of another class under the true label, which caps attainable accuracy
    the way ambiguous real cases do.
    *Planted near-duplicates*: per class, the share of held-out images that leaks in the real
    F17k-9 split (:func:`planted_counts`: held-out images with a near-duplicate in the
    authors' training file, from the shipped metadata) is not drawn afresh but made of slightly
    altered copies of training images of the class (:func:`near_duplicate_image`); the held-out file's
    column ``near_duplicate_of`` names that training image. They make the real split's
    cross-split leakage, and chapter 03's analysis of it, exist in the stand-in world.
``demo-ddi``
    Malignant vs benign lesions on skin-tone bins 12 / 34 / 56, sized like DDI.

Both are written in the real datasets' file formats (Fitzpatrick17k CSVs with
``{md5hash}.png`` images; DDI's ``ddi_metadata.csv``), so the real loaders in
:mod:`synthaug_utils.data.splits` reads them. A separate pretraining pool (never used by the
experiments) serves the demo generator's pretraining.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from synthaug_utils.core.config import DemoWorldSpec
from synthaug_utils.core.errors import DataError
from synthaug_utils.core.files import atomic_folder
from synthaug_utils.core.paths import cache_dir

DERM9_LABELS = (
    "psoriasis",
    "squamous cell carcinoma",
    "lichen planus",
    "basal cell carcinoma",
    "allergic contact dermatitis",
    "lupus erythematosus",
    "sarcoidosis",
    "neutrophilic dermatoses",
    "photodermatoses",
)

# Fitzpatrick type shares of the authors' clean Fitzpatrick17k training pool
# (counts for -1, 1..6: 132, 621, 1103, 691, 538, 307, 138), a world-design input.
FST_VALUES = (-1, 1, 2, 3, 4, 5, 6)
FST_WEIGHTS = np.array([132, 621, 1103, 691, 538, 307, 138], dtype=float)
FST_WEIGHTS /= FST_WEIGHTS.sum()

# Mean skin RGB per Fitzpatrick type (I..VI), a stylised palette.
SKIN_RGB = {
    1: (242, 214, 196),
    2: (228, 188, 158),
    3: (204, 158, 118),
    4: (164, 114, 78),
    5: (112, 74, 50),
    6: (68, 44, 32),
}

ATYPICAL_RATE = 0.10

NEAR_DUPLICATE_COLUMN = "near_duplicate_of"  # held-out file: md5hash of the training image it copies, or empty
NEAR_DUPLICATE_SCOPE = "F17k-9"  # the real audit's scope whose per-label leak shares the world copies
NEAR_DUPLICATE_MAX_CROP = 1  # px per side that a planted copy loses before it is resized back
# what near_duplicate_image does, for the pages
NEAR_DUPLICATE_CHANGES = (
    f"a crop of at most {NEAR_DUPLICATE_MAX_CROP} px per side resized back, an exposure and "
    "colour shift, a JPEG re-encode"
)
RENDER_SCALE = 2  # draw at 2x, then downsample with a Lanczos filter (anti-aliasing)


@dataclass(frozen=True)
class LesionStyle:
    """Distributions that define one class's morphology. Sizes are fractions of the image side."""

    count: tuple[int, int]  # number of lesions, inclusive range
    radius: tuple[float, float]
    shape: str  # "round", "irregular", "ring", "polygon", "patch"
    irregularity: float  # 0 = smooth outline, 1 = very ragged
    colour: tuple[int, int, int]  # lesion hue on light skin (RGB)
    strength: tuple[float, float]  # opacity range of the lesion colour
    border: float  # edge softness, fraction of radius
    texture: str  # "scale", "vesicles", "crust", "pearly", "papules", "ulcer", "none", "warty", "variegated"
    layout: str  # "scattered", "clustered", "single", "band"


DERM9_STYLES: dict[str, LesionStyle] = {
    "psoriasis": LesionStyle(
        (2, 5), (0.10, 0.20), "irregular", 0.25, (222, 96, 96), (0.65, 0.9), 0.08, "scale", "scattered"
    ),
    "squamous cell carcinoma": LesionStyle(
        (1, 1), (0.18, 0.30), "irregular", 0.45, (196, 92, 80), (0.6, 0.85), 0.12, "crust", "single"
    ),
    "lichen planus": LesionStyle(
        (8, 18), (0.035, 0.07), "polygon", 0.1, (140, 70, 140), (0.6, 0.9), 0.05, "none", "clustered"
    ),
    "basal cell carcinoma": LesionStyle(
        (1, 1), (0.12, 0.22), "round", 0.1, (232, 170, 170), (0.5, 0.75), 0.05, "pearly", "single"
    ),
    "allergic contact dermatitis": LesionStyle(
        (1, 2), (0.22, 0.38), "patch", 0.55, (214, 84, 74), (0.35, 0.6), 0.35, "vesicles", "clustered"
    ),
    "lupus erythematosus": LesionStyle(
        (1, 3), (0.12, 0.22), "ring", 0.2, (190, 70, 90), (0.6, 0.85), 0.10, "scale", "scattered"
    ),
    "sarcoidosis": LesionStyle(
        (3, 7), (0.06, 0.11), "round", 0.2, (170, 90, 70), (0.55, 0.8), 0.15, "papules", "clustered"
    ),
    "neutrophilic dermatoses": LesionStyle(
        (1, 2), (0.16, 0.26), "irregular", 0.35, (120, 60, 110), (0.6, 0.85), 0.10, "ulcer", "scattered"
    ),
    "photodermatoses": LesionStyle(
        (1, 1), (0.35, 0.55), "patch", 0.15, (226, 112, 96), (0.3, 0.5), 0.30, "papules", "band"
    ),
}

DDI_STYLES: dict[str, tuple[bool, LesionStyle]] = {
    # disease -> (malignant, style)
    "melanocytic-nevi": (
        False,
        LesionStyle((1, 1), (0.10, 0.18), "round", 0.08, (120, 80, 55), (0.7, 0.9), 0.06, "none", "single"),
    ),
    "seborrheic-keratosis": (
        False,
        LesionStyle((1, 1), (0.12, 0.22), "round", 0.2, (140, 100, 60), (0.6, 0.85), 0.05, "warty", "single"),
    ),
    "verruca-vulgaris": (
        False,
        LesionStyle((1, 3), (0.06, 0.12), "round", 0.3, (190, 160, 130), (0.5, 0.8), 0.06, "warty", "clustered"),
    ),
    "dermatofibroma": (
        False,
        LesionStyle((1, 1), (0.08, 0.14), "round", 0.15, (160, 110, 90), (0.5, 0.7), 0.25, "none", "single"),
    ),
    "melanoma": (
        True,
        LesionStyle((1, 1), (0.14, 0.26), "irregular", 0.5, (70, 45, 40), (0.7, 0.95), 0.06, "variegated", "single"),
    ),
    "basal-cell-carcinoma": (
        True,
        LesionStyle((1, 1), (0.12, 0.22), "round", 0.25, (225, 165, 165), (0.5, 0.75), 0.05, "pearly", "single"),
    ),
    "squamous-cell-carcinoma-in-situ": (
        True,
        LesionStyle((1, 1), (0.15, 0.26), "irregular", 0.4, (200, 95, 85), (0.55, 0.8), 0.1, "crust", "single"),
    ),
}
DDI_DISEASE_WEIGHTS = {
    "melanocytic-nevi": 0.22,
    "seborrheic-keratosis": 0.2,
    "verruca-vulgaris": 0.18,
    "dermatofibroma": 0.14,
    "melanoma": 0.08,
    "basal-cell-carcinoma": 0.09,
    "squamous-cell-carcinoma-in-situ": 0.09,
}
DDI_TONE_SHARES = {12: 208, 34: 241, 56: 205}  # DDI's skin-tone bin sizes (public metadata)
DDI_TONE_FST = {12: (1, 2), 34: (3, 4), 56: (5, 6)}


def _stable_int(*parts: object) -> int:
    """A 32-bit integer from the parts' text (stable across runs and platforms)."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng([_stable_int(*parts)])


# ----------------------------------------------------------------------------- drawing
def _smooth_noise(rng: np.random.Generator, side: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1], shape (side, side): a coarse random grid upsampled bicubically."""
    coarse = rng.uniform(-1, 1, size=(cells, cells)).astype(np.float32)
    img = Image.fromarray(((coarse + 1) * 127.5).astype(np.uint8)).resize((side, side), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 127.5 - 1


def _skin(rng: np.random.Generator, fst: int, side: int) -> np.ndarray:
    """Skin background (side, side, 3) float RGB in [0, 255] for Fitzpatrick type ``fst`` (-1 = unknown)."""
    base_type = fst if fst in SKIN_RGB else int(rng.integers(1, 7))
    base = np.array(SKIN_RGB[base_type], dtype=np.float32) + rng.normal(0, 8, size=3)
    mottling = _smooth_noise(rng, side, 6)[..., None] * rng.uniform(4, 12)
    grain = rng.normal(0, 3.0, size=(side, side, 1))
    return base[None, None, :] + mottling + grain


def _outline_radius(rng: np.random.Generator, theta: np.ndarray, radius: float, irregularity: float) -> np.ndarray:
    """Radius of a lesion outline at angles ``theta``: a base radius modulated by a random Fourier series."""
    r = np.full_like(theta, radius)
    for k in range(2, 7):
        amp = irregularity * radius * rng.uniform(0, 0.35) / (k / 2)
        r += amp * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return np.maximum(r, radius * 0.25)


def _lesion_alpha(rng, style: LesionStyle, cx, cy, radius, xx, yy, side) -> np.ndarray:
    """Opacity map (side, side) in [0, 1] of one lesion centred at (cx, cy) px with base radius px."""
    dx, dy = xx - cx, yy - cy
    dist = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    soft = max(style.border * radius, 0.8)
    if style.shape == "polygon":
        sides = int(rng.integers(5, 7))
        rot = rng.uniform(0, 2 * np.pi)
        edge = radius * np.cos(np.pi / sides) / np.cos(((theta - rot) % (2 * np.pi / sides)) - np.pi / sides)
        return np.clip((edge - dist) / soft + 0.5, 0, 1)
    outline = _outline_radius(rng, theta, radius, style.irregularity)
    alpha = np.clip((outline - dist) / soft + 0.5, 0, 1)
    if style.shape == "ring":
        inner = outline * rng.uniform(0.45, 0.65)
        alpha = alpha * np.clip((dist - inner) / soft + 0.5, 0, 1)
    if style.shape == "patch":
        alpha = alpha * (0.75 + 0.25 * _smooth_noise(rng, side, 5))
    return alpha


def _centres(rng, style: LesionStyle, count: int, side: int, radius: float) -> list[tuple[float, float]]:
    """Lesion centres in px, following the style's layout."""
    if style.layout == "single":
        return [tuple(side / 2 + rng.normal(0, side * 0.08, size=2))]
    if style.layout == "band":
        return [(side / 2 + rng.normal(0, side * 0.05), side * rng.uniform(0.35, 0.65))]
    if style.layout == "clustered":
        centre = side / 2 + rng.normal(0, side * 0.08, size=2)
        spread = side * rng.uniform(0.12, 0.22)
        return [tuple(centre + rng.normal(0, spread, size=2)) for _ in range(count)]
    margin = radius + side * 0.05
    return [tuple(rng.uniform(margin, side - margin, size=2)) for _ in range(count)]


def _lesion_colour(style_colour, fst: int, skin_mean: np.ndarray, rng) -> np.ndarray:
    """Lesion RGB target: the class hue darkened and shifted towards the skin colour on darker skin."""
    colour = np.array(style_colour, dtype=np.float32) + rng.normal(0, 22, size=3)
    darkness = {1: 0.0, 2: 0.1, 3: 0.25, 4: 0.45, 5: 0.65, 6: 0.8}.get(fst, 0.2)
    return colour * (1 - darkness) + skin_mean * darkness * 0.75


def _stamp_discs(img: np.ndarray, xs, ys, radius_px: float, colour: np.ndarray, opacity: float) -> None:
    """Blend anti-aliased discs of ``colour`` centred at (xs, ys) px into ``img`` (H, W, 3), in place.

    Each disc touches only a small window around its centre (fast for many small dots).
    """
    side = img.shape[0]
    reach = int(np.ceil(radius_px)) + 1
    for x, y in zip(np.asarray(xs, float), np.asarray(ys, float)):
        x0, x1 = max(int(x) - reach, 0), min(int(x) + reach + 1, side)
        y0, y1 = max(int(y) - reach, 0), min(int(y) + reach + 1, side)
        if x0 >= x1 or y0 >= y1:
            continue
        wy, wx = np.mgrid[y0:y1, x0:x1]
        a = np.clip(radius_px - np.hypot(wx - x, wy - y) + 0.5, 0, 1)[..., None] * opacity
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - a) + colour * a


def _apply_texture(rng, texture: str, img, alpha, xx, yy, side, skin_mean) -> None:
    """Draw the style's texture onto ``img`` (in place), inside the lesion opacity ``alpha``."""
    inside = alpha > 0.5
    if not inside.any() or texture == "none":
        return
    ys, xs = np.nonzero(inside)
    n_pts = max(int(inside.sum() / (side * 0.9)), 3)

    def dots(count, radius_px, colour, opacity):
        picks = rng.integers(0, len(xs), size=count)
        _stamp_discs(img, xs[picks], ys[picks], radius_px, np.asarray(colour, np.float32), opacity)

    if texture == "scale":
        dots(n_pts * 2, side * 0.012, (236, 232, 226), 0.7)
    elif texture == "vesicles":
        dots(n_pts, side * 0.014, (250, 236, 220), 0.8)
    elif texture == "papules":
        dots(n_pts, side * 0.018, skin_mean * 0.55 + np.array([60, 10, 10]), 0.6)
    elif texture == "warty":
        dots(n_pts * 2, side * 0.015, skin_mean * 0.45, 0.5)
    elif texture in ("crust", "ulcer"):
        cy, cx = ys.mean(), xs.mean()
        r = np.sqrt(inside.sum() / np.pi) * rng.uniform(0.35, 0.55)
        d = np.hypot(xx - cx, yy - cy)
        a = np.clip(r - d + 0.5, 0, 1) * 0.85
        colour = (120, 80, 40) if texture == "crust" else (200, 190, 120)
        img[:] = img * (1 - a[..., None]) + np.array(colour, np.float32) * a[..., None]
        if texture == "ulcer":
            rim = np.clip(1 - np.abs(d - r) / 1.5, 0, 1) * 0.7
            img[:] = img * (1 - rim[..., None]) + np.array([90, 40, 90], np.float32) * rim[..., None]
    elif texture == "pearly":
        cy, cx = ys.mean(), xs.mean()
        r = np.sqrt(inside.sum() / np.pi)
        d = np.hypot(xx - cx, yy - cy)
        rim = np.clip(1 - np.abs(d - r * 0.85) / (side * 0.02), 0, 1) * 0.6
        img[:] = img * (1 - rim[..., None]) + np.array([250, 240, 235], np.float32) * rim[..., None]
        for _ in range(int(rng.integers(2, 5))):  # telangiectasia: thin red lines
            t = np.linspace(0, 1, 40)
            a0 = rng.uniform(0, 2 * np.pi)
            px = cx + r * 0.7 * np.cos(a0 + t * rng.uniform(-1, 1)) * (1 - t * 0.8)
            py = cy + r * 0.7 * np.sin(a0 + t * rng.uniform(-1, 1)) * (1 - t * 0.8)
            _stamp_discs(img, px, py, 0.6, np.array([200, 30, 40], np.float32), 0.6)
    elif texture == "variegated":
        field = _smooth_noise(rng, side, 5)
        blue = (field > 0.3) & inside
        black = (field < -0.4) & inside
        img[blue] = img[blue] * 0.5 + np.array([70, 80, 120], np.float32) * 0.5
        img[black] = img[black] * 0.4 + np.array([25, 20, 20], np.float32) * 0.6


def _nuisance(rng, img: np.ndarray, xx, yy, side) -> np.ndarray:
    """Lighting gradient, exposure, hair and sensor noise (in place on a float image)."""
    angle = rng.uniform(0, 2 * np.pi)
    grad = ((xx - side / 2) * np.cos(angle) + (yy - side / 2) * np.sin(angle)) / side
    img *= (1 + grad * rng.uniform(0, 0.35))[..., None] * rng.uniform(0.8, 1.15)
    for _ in range(int(rng.poisson(1.2))):  # hairs: thin dark arcs
        x0, y0 = rng.uniform(0, side, size=2)
        a = rng.uniform(0, np.pi)
        bend = rng.uniform(-0.01, 0.01)
        t = np.linspace(-side * 0.5, side * 0.5, 120)
        px = x0 + t * np.cos(a) + bend * t**2
        py = y0 + t * np.sin(a)
        hair = np.zeros((side, side), np.float32)
        ok = (px >= 0) & (px < side) & (py >= 0) & (py < side)
        hair[py[ok].astype(int), px[ok].astype(int)] = 1
        img *= (1 - 0.6 * hair)[..., None]
    img += rng.normal(0, rng.uniform(1, 6), size=img.shape)
    return img


def _rotated_grid(side: int, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (yy, xx), each (side, side), of a frame rotated by ``angle`` rad about the centre.

    Lesions are drawn in this frame, so the whole scene is rotated without empty corners.
    """
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) - side / 2
    c, s = np.cos(angle), np.sin(angle)
    return (s * xx + c * yy + side / 2), (c * xx - s * yy + side / 2)


def render_lesion_image(style: LesionStyle, fst: int, seed_parts: tuple, size: int = 64) -> Image.Image:
    """Draw one stand-in lesion image (size x size RGB) of ``style`` on skin of type ``fst``.

    Deterministic in ``seed_parts`` (any tuple of str/int).
    """
    rng = _rng("render", *seed_parts)
    side = size * RENDER_SCALE
    yy, xx = _rotated_grid(side, float(rng.uniform(0, 2 * np.pi)))
    img = _skin(rng, fst, side)
    skin_mean = img.reshape(-1, 3).mean(0)
    count = int(rng.integers(style.count[0], style.count[1] + 1))
    radius = side * rng.uniform(*style.radius)
    colour = _lesion_colour(style.colour, fst, skin_mean, rng)
    alpha = np.zeros((side, side), np.float32)
    for cx, cy in _centres(rng, style, count, side, radius):
        r = radius * rng.uniform(0.7, 1.2)
        alpha = np.maximum(alpha, _lesion_alpha(rng, style, cx, cy, r, xx, yy, side))
    alpha *= rng.uniform(*style.strength)
    img = img * (1 - alpha[..., None]) + colour[None, None, :] * alpha[..., None]
    py, px = np.mgrid[0:side, 0:side].astype(np.float32)  # unrotated pixel grid
    _apply_texture(rng, style.texture, img, alpha / max(alpha.max(), 1e-6), px, py, side, skin_mean)
    img = _nuisance(rng, img, px, py, side)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    pil = pil.resize((size, size), Image.LANCZOS)
    if rng.uniform() < 0.3:
        from PIL import ImageFilter

        pil = pil.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.9))))
    return pil


def near_duplicate_image(img: Image.Image, seed_parts: tuple) -> Image.Image:
    """A near-duplicate of ``img``, deterministic in ``seed_parts``: cropped by 0 to
    :data:`NEAR_DUPLICATE_MAX_CROP` px per side and resized back (a slight shift and zoom), a slight
    exposure and colour change, and a JPEG re-encode (quality 88-95, no chroma subsampling, so the
    decoder does no upsampling): pixel-close to ``img`` but not the same bytes, like a re-upload of
    one photograph."""
    rng = _rng("near-duplicate", *seed_parts)
    w, h = img.size
    left, top, right, bottom = (int(v) for v in rng.integers(0, NEAR_DUPLICATE_MAX_CROP + 1, size=4))
    out = img.convert("RGB").crop((left, top, w - right, h - bottom)).resize((w, h), Image.LANCZOS)
    pixels = np.asarray(out, np.float32) * rng.uniform(0.95, 1.05) + rng.uniform(-4, 4, size=3)
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8)).save(
        buf, format="JPEG", quality=int(rng.integers(88, 96)), subsampling=0
    )
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


# ----------------------------------------------------------------------------- datasets
def _draw_fst(rng: np.random.Generator) -> int:
    return int(rng.choice(FST_VALUES, p=FST_WEIGHTS))


def derm9_case(label: str, part: str, index: int, seed: int, size: int) -> tuple[Image.Image, int, str]:
    """One demo-derm9 image: (image, fst, style label actually drawn). Deterministic in its arguments."""
    rng = _rng("derm9", seed, label, part, index)
    fst = _draw_fst(rng)
    drawn = label
    if rng.uniform() < ATYPICAL_RATE:
        others = [lab for lab in DERM9_LABELS if lab != label]
        drawn = others[int(rng.integers(len(others)))]
    img = render_lesion_image(DERM9_STYLES[drawn], fst, ("derm9", seed, label, part, index), size)
    return img, fst, drawn


def ddi_case(index: int, seed: int, size: int, tone: int) -> tuple[Image.Image, str, bool]:
    """One demo-ddi image on skin-tone bin ``tone``: (image, disease, malignant)."""
    rng = _rng("ddi", seed, index)
    names = list(DDI_DISEASE_WEIGHTS)
    weights = np.array([DDI_DISEASE_WEIGHTS[n] for n in names])
    disease = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    malignant, style = DDI_STYLES[disease]
    fst = int(rng.choice(DDI_TONE_FST[tone]))
    img = render_lesion_image(style, fst, ("ddi", seed, index), size)
    return img, disease, malignant


def _derm9_png(task: tuple) -> tuple[bytes, int, str]:
    """(png bytes, fst, drawn style) of one demo-derm9 case; ``task`` = derm9_case's arguments and the
    index of the training image the case copies (:func:`near_duplicate_image`), or None."""
    label, part, index, seed, size, twin = task
    if twin is None:
        img, fst, drawn = derm9_case(label, part, index, seed, size)
    else:
        img, fst, drawn = derm9_case(label, "training", twin, seed, size)
        img = near_duplicate_image(img, ("derm9", seed, label, part, index))
    return _png_bytes(img), fst, drawn


def _round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def planted_counts(spec: DemoWorldSpec) -> dict[str, int]:
    """Held-out images per class that are near-duplicates of a training image of the class: the class's
    ``test_per_class`` times the rate, rounded half up, at most ``train_pool_per_class`` (each copies
    another training image). The rate (``spec.near_duplicate_rate``) by default is the label's share of
    leaking held-out images in the real F17k-9 audit of the shipped split files and Fitzpatrick17k-C
    clusters (:func:`synthaug_utils.data.audit.audit_table`); a number is the share for every class."""
    if spec.near_duplicate_rate is None:
        from synthaug_utils.data.audit import audit_table, real_images

        audit = audit_table(real_images(NEAR_DUPLICATE_SCOPE)).set_index("label")
        missing = [label for label in DERM9_LABELS if label not in audit.index]
        if missing:
            raise DataError(f"the {NEAR_DUPLICATE_SCOPE} audit has no row for the world's label(s) {missing}")
        rates = {
            label: Fraction(int(audit.at[label, "leaking"]), int(audit.at[label, "held_out"])) for label in DERM9_LABELS
        }
    else:
        rate = float(spec.near_duplicate_rate)
        if not 0 <= rate <= 1:
            raise DataError(
                f"near_duplicate_rate={spec.near_duplicate_rate!r}: use a share from 0 to 1, or None for the real rate"
            )
        rates = dict.fromkeys(DERM9_LABELS, Fraction(rate))
    cap = min(spec.test_per_class, spec.train_pool_per_class)
    return {label: min(_round_half_up(rate * spec.test_per_class), cap) for label, rate in rates.items()}


def planted_pairs(spec: DemoWorldSpec) -> dict[tuple[str, int], int]:
    """(label, held-out index) -> index of the training image of that label it copies, for the
    :func:`planted_counts` held-out images of each class (seeded; distinct twins within a class)."""
    pairs: dict[tuple[str, int], int] = {}
    for label, count in planted_counts(spec).items():
        rng = _rng("near-duplicate pairs", spec.seed, label)
        held_out = rng.choice(spec.test_per_class, size=count, replace=False)
        twins = rng.choice(spec.train_pool_per_class, size=count, replace=False)
        pairs.update({(label, int(h)): int(t) for h, t in zip(held_out, twins)})
    return pairs


def _ddi_png(task: tuple) -> tuple[bytes, str, bool]:
    """(png bytes, disease, malignant) of one demo-ddi case; ``task`` = ddi_case's arguments."""
    img, disease, malignant = ddi_case(*task)
    return _png_bytes(img), disease, malignant


def _render(fn, tasks: list[tuple], workers: int):
    """``fn`` over ``tasks`` in order: in this process, or in ``workers`` spawned processes
    (every case is a pure function of its task, so the bytes do not depend on ``workers``)."""
    if workers <= 1 or len(tasks) < 200:
        return map(fn, tasks)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def ordered():
        with pool:
            yield from pool.map(fn, tasks, chunksize=64)

    return ordered()


def _write_derm9(root: Path, spec: DemoWorldSpec, progress, workers: int = 1) -> None:
    images = root / "derm9" / "images"
    pretrain_images = root / "pretrain" / "images"
    images.mkdir(parents=True)
    pretrain_images.mkdir(parents=True)
    rows = {"training": [], "held_out": [], "pretrain": []}
    parts = (
        ("training", spec.train_pool_per_class),
        ("held_out", spec.test_per_class),
        ("pretrain", spec.pretrain_per_class),
    )
    pairs = planted_pairs(spec)
    # a class's training images come before its held-out ones, so a copy's twin is written first
    tasks = [
        (label, part, i, spec.seed, spec.image_size, pairs.get((label, i)) if part == "held_out" else None)
        for label in DERM9_LABELS
        for part, count in parts
        for i in range(count)
    ]
    training_md5: dict[tuple[str, int], str] = {}
    for (label, part, i, _, _, twin), (data, fst, drawn) in zip(tasks, _render(_derm9_png, tasks, workers)):
        md5 = hashlib.md5(data).hexdigest()
        if part == "training":
            training_md5[(label, i)] = md5
        twin_md5 = training_md5[(label, twin)] if twin is not None else ""
        if twin_md5 == md5:
            raise DataError(f"demo world: the near-duplicate of training image {label}/{twin} has its very bytes")
        folder = pretrain_images if part == "pretrain" else images
        (folder / f"{md5}.png").write_bytes(data)
        extra = {NEAR_DUPLICATE_COLUMN: twin_md5} if part == "held_out" else {}
        rows[part].append(
            {
                "md5hash": md5,
                "fitzpatrick_scale": fst,
                "fitzpatrick_centaur": fst,
                "label": label,
                "nine_partition_label": "demo",
                "three_partition_label": "demo",
                "qc": "",
                "url": f"demo-world://derm9/{part}/{label.replace(' ', '-')}/{i}",
                "url_alphanum": f"demo{part}{i}",
                "drawn_style": drawn,
                **extra,
            }
        )
        progress(1)
    derm9 = root / "derm9"
    pd.DataFrame(rows["training"]).to_csv(derm9 / "fitzpatrick17k_10label_clean_training.csv", index=False)
    pd.DataFrame(rows["held_out"]).to_csv(derm9 / "fitzpatrick17k_10label_clean_held_out_set.csv", index=False)
    pd.DataFrame(rows["training"] + rows["held_out"]).to_csv(derm9 / "fitzpatrick17k.csv", index=False)
    pretrain = pd.DataFrame(rows["pretrain"])
    pd.DataFrame(
        {"path": "images/" + pretrain.md5hash + ".png", "label": pretrain.label, "fst": pretrain.fitzpatrick_scale}
    ).to_csv(root / "pretrain" / "pretrain.csv", index=False)


def _ddi_tone_counts(total: int) -> dict[int, int]:
    shares = np.array(list(DDI_TONE_SHARES.values()), float)
    counts = np.floor(shares / shares.sum() * total).astype(int)
    counts[np.argmax(shares)] += total - counts.sum()
    return dict(zip(DDI_TONE_SHARES, counts.tolist()))


def _write_ddi(root: Path, spec: DemoWorldSpec, progress, workers: int = 1) -> None:
    folder = root / "ddi"
    (folder / "images").mkdir(parents=True)
    rows = []
    tones = [tone for tone, count in _ddi_tone_counts(spec.ddi_total).items() for _ in range(count)]
    tasks = [(index, spec.seed, spec.image_size, tone) for index, tone in enumerate(tones, 1)]
    for (index, _, _, tone), (data, disease, malignant) in zip(tasks, _render(_ddi_png, tasks, workers)):
        name = f"{index:06d}.png"
        (folder / "images" / name).write_bytes(data)
        rows.append({"DDI_ID": index, "DDI_file": name, "skin_tone": tone, "malignant": malignant, "disease": disease})
        progress(1)
    pd.DataFrame(rows).to_csv(folder / "ddi_metadata.csv")  # unnamed index column, as in DDI's file


def planted_near_duplicates(root: Path) -> pd.DataFrame:
    """The planted pairs of the demo world in ``root`` (:func:`ensure_world`): one row per held-out image
    that copies a training image, columns ``image_id`` (its md5hash), ``twin_id`` (the training image's)
    and ``label``."""
    held_out = pd.read_csv(
        root / "derm9" / "fitzpatrick17k_10label_clean_held_out_set.csv", dtype=str, keep_default_na=False
    )
    if NEAR_DUPLICATE_COLUMN not in held_out.columns:
        raise DataError(
            f"{root}: the held-out file has no column {NEAR_DUPLICATE_COLUMN!r}; delete the world and draw it again"
        )
    planted = held_out[held_out[NEAR_DUPLICATE_COLUMN] != ""]
    return pd.DataFrame(
        {
            "image_id": planted.md5hash.to_numpy(),
            "twin_id": planted[NEAR_DUPLICATE_COLUMN].to_numpy(),
            "label": planted.label.to_numpy(),
        }
    )


def world_dir(spec: DemoWorldSpec) -> Path:
    """Folder of the demo world for ``spec`` inside the cache (it may not exist yet)."""
    return cache_dir() / "demo-world" / spec.key()


def ensure_world(spec: DemoWorldSpec, show_progress: bool = True) -> Path:
    """Draw the demo world for ``spec`` into the cache unless it is already complete; return its folder.

    The world is drawn into a temporary folder and renamed into place when complete,
    so an interrupted run never leaves a half-written world behind.
    """
    final = world_dir(spec)
    if (final / "COMPLETE").is_file():
        return final
    total = (
        len(DERM9_LABELS) * (spec.train_pool_per_class + spec.test_per_class + spec.pretrain_per_class) + spec.ddi_total
    )
    from tqdm.auto import tqdm

    workers = min(4, os.cpu_count() or 1)

    def build(tmp: Path) -> None:
        with tqdm(total=total, desc=f"drawing demo world {spec.key()}", unit="img", disable=not show_progress) as bar:
            _write_derm9(tmp, spec, bar.update, workers)
            _write_ddi(tmp, spec, bar.update, workers)
        (tmp / "COMPLETE").write_text(spec.key() + "\n")

    atomic_folder(final, build, keep_existing=True)  # another process finished first: keep theirs
    if not (final / "COMPLETE").is_file():
        raise OSError(f"demo world folder {final} exists but is incomplete; delete it and retry")
    return final
