"""Inpainting masks: centre, outer frame, per method, and random training masks.
"""
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
