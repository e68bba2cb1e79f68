"""Inpainting masks: centre, outer frame, per method, and random training masks."""

from __future__ import annotations

import numpy as np

from synthaug_utils.diffusion.settings import GenerationSettings


# ----------------------------------------------------------------------------- masks, prompts, seeds
def center_mask(resolution: int, side_fraction: float = 0.5) -> np.ndarray:
    """Bool (resolution, resolution), True inside the centred square of ``side_fraction`` of the side.

    At 512 px and 0.5: rows/columns 128..383 (the authors' mask, a quarter of the area).
    """
    start = int(round(resolution * (1.0 - side_fraction) / 2.0))
    mask = np.zeros((resolution, resolution), dtype=bool)
    mask[start : resolution - start, start : resolution - start] = True
    return mask


def frame_width(resolution: int, frame_px_at_512: int = 16) -> int:
    """Width (px) of the outpaint mask's unmasked outer frame: 16 px at 512, scaled, at least 1."""
    return max(1, int(round(frame_px_at_512 * resolution / 512))) if frame_px_at_512 > 0 else 0


def outer_mask(resolution: int, side_fraction: float = 0.5, frame_px_at_512: int = 16) -> np.ndarray:
    """Bool (resolution, resolution): the complement of :func:`center_mask` minus the outer frame."""
    mask = ~center_mask(resolution, side_fraction)
    f = frame_width(resolution, frame_px_at_512)
    if f:
        mask[:f, :] = mask[-f:, :] = False
        mask[:, :f] = mask[:, -f:] = False
    return mask


def mask_for(name: str, settings: GenerationSettings) -> np.ndarray | None:
    """The mask named 'center', 'outer' or 'none' (None) at the settings' resolution."""
    if name == "center":
        return center_mask(settings.resolution, settings.mask_side_fraction)
    if name == "outer":
        return outer_mask(settings.resolution, settings.mask_side_fraction, settings.frame_px_at_512)
    if name == "none":
        return None
    raise ValueError(f"unknown mask {name!r}; use 'center', 'outer' or 'none'")


def random_inpaint_masks(n: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """Random rectangle or ellipse masks as in the authors' DreamBooth-inpainting script.

    Returns float32 (n, 1, side, side) with 1 = region to repaint. Each mask's width and
    height are uniform in 0..side and its centre uniform where the shape fits.
    """
    yy, xx = np.mgrid[0:side, 0:side] + 0.5
    out = np.zeros((n, 1, side, side), dtype=np.float32)
    for i in range(n):
        w, h = rng.integers(0, side + 1, size=2)
        cx = rng.uniform(w / 2, side - w / 2)
        cy = rng.uniform(h / 2, side - h / 2)
        if rng.integers(2) == 0:
            m = (np.abs(xx - cx) <= w / 2) & (np.abs(yy - cy) <= h / 2)
        else:
            m = ((xx - cx) / max(w / 2, 0.5)) ** 2 + ((yy - cy) / max(h / 2, 0.5)) ** 2 <= 1.0
        out[i, 0] = m
    return out


def mask_border_pairs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel pairs that straddle the mask's border: (inside (K, 2), outside (K, 2)) row/column indices of
    horizontally and vertically adjacent pixels where one is in ``mask`` (bool (H, W)) and the other not."""
    inside, outside = [], []
    for axis in (0, 1):
        a = mask[:-1, :] if axis == 0 else mask[:, :-1]
        b = mask[1:, :] if axis == 0 else mask[:, 1:]
        step = np.array([1, 0]) if axis == 0 else np.array([0, 1])
        for first_in in (True, False):
            rows, cols = np.nonzero(a & ~b if first_in else ~a & b)
            first = np.stack([rows, cols], axis=1)
            second = first + step
            inside.append(first if first_in else second)
            outside.append(second if first_in else first)
    return np.concatenate(inside), np.concatenate(outside)


def blend_weights(mask: np.ndarray, blend_px: int) -> np.ndarray:
    """Float32 (H, W) weight of the generated pixels when pasting them over the source: 0 outside
    ``mask`` (bool (H, W)), rising linearly over the first ``blend_px`` px inside it (Chebyshev distance
    to the nearest unmasked pixel), 1 deeper inside. ``blend_px`` 0: the hard mask. The unmasked
    pixels always keep the source exactly."""
    weights = mask.astype(np.float32)
    if blend_px <= 0:
        return weights
    distance = np.where(mask, np.inf, 0.0)
    for d in range(1, blend_px + 1):  # Chebyshev distance to the outside, up to blend_px
        grown = np.zeros_like(mask)
        outside = distance < d
        padded = np.pad(outside, 1, mode="edge")
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                grown |= padded[1 + dr : 1 + dr + mask.shape[0], 1 + dc : 1 + dc + mask.shape[1]]
        distance = np.where(mask & grown & np.isinf(distance), d, distance)
    return np.where(mask, np.minimum(distance, blend_px + 1) / (blend_px + 1), 0.0).astype(np.float32)
