"""``synthaug rehearse``: the paper profile, end to end, at miniature size on the CPU.

:func:`rehearse` writes a miniature paper-format world (:mod:`synthaug_utils.rehearsal.world`:
real Fitzpatrick17k rows with project-drawn JPEGs, a DDI-format table, Stable Diffusion
2.1-base and 1.5-inpainting architecture folders with random weights, a torchvision
classifier checkpoint, an open_clip checkpoint), writes the config file a real user would
write (the locations) plus the size overrides of :data:`REHEARSAL_OVERRIDES`, and builds the
whole book on the ``paper`` profile against it into ``DIR/_build/html``. Then it builds a
second, bring-your-own book (class folders of mixed image formats, no DDI, no CLIP weights)
into ``DIR/byo/_build/html``; there DDI and the CLIP weights are not supplied, so the Fig. 5
and embeddings pages say what is missing and how to supply it.

Everything except the sizes is the paper profile's own code path: ``check_ready``, the F17k
and DDI readers, the image checks, DreamBooth, generation with diffusers pipelines, the
faithful fastai recipe with torchvision weights, CLIP embeddings, the statistics and the book.
The numbers are meaningless (random weights); the point is that every step runs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import yaml

from synthaug_utils.core import profiles
from synthaug_utils.core.errors import UserFacingError

# Size overrides of the paper profile for the rehearsal, with why: the settings source's REHEARSAL table.
REHEARSAL_OVERRIDES: dict[str, Any] = profiles.overrides(profiles.REHEARSAL)

# The bring-your-own rehearsal: its config names the dataset as a user would (top-level keys beside
# main_data), so the book shows that name and citation.
BYO_DESCRIPTION: dict[str, str] = {
    "main_data_name": "Rehearsal lesion folders",
    "main_data_citation": "class folders drawn by synthaug_utils.rehearsal.byo (not photographs)",
}
BYO_OVERRIDES: dict[str, Any] = profiles.overrides(profiles.REHEARSAL_BYO)


class RehearsalError(UserFacingError, RuntimeError):
    """The rehearsal's output folder cannot be used."""


def _merge(base: dict, extra: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in extra.items():
        out[key] = _merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def write_config(path: Path, locations: dict[str, str], overrides: dict[str, Any]) -> Path:
    """Write a paper-profile config file: the locations a user sets (and any other top-level keys, such as
    ``main_data_name``), then ``overrides``."""
    data = {**{k: str(v) for k, v in locations.items()}, "overrides": overrides}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# written by `synthaug rehearse`: locations of the miniature world, then size overrides\n"
        + yaml.safe_dump(data, sort_keys=False)
    )
    return path


def rehearse(out: str | Path, byo: bool = True, jobs: int | None = None, force: bool = False) -> dict[str, Any]:
    """Write the miniature world under ``out`` and build the paper-profile book(s) against it.

    Returns a dict with the HTML folders and the seconds each stage took. The results store
    and caches live in ``out/cache`` (``SYNTHAUG_CACHE``), so the repository's cache is untouched.
    """
    from synthaug_utils.presentation.book import build_book
    from synthaug_utils.rehearsal.world import write_rehearsal_world

    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise RehearsalError(f"--out {out} is an existing file; give a folder (it is created if absent)")
    out.mkdir(parents=True, exist_ok=True)
    os.environ["SYNTHAUG_CACHE"] = str(out / "cache")  # the kernels inherit it
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    world = write_rehearsal_world(out / "world", classifier_arch=REHEARSAL_OVERRIDES["arch"])
    seconds["world"] = time.perf_counter() - start

    config = write_config(out / "paper.yml", world.locations, REHEARSAL_OVERRIDES)
    start = time.perf_counter()
    html, _runs = build_book("paper", root=out, config=str(config), jobs=jobs, force=force)
    seconds["paper book"] = time.perf_counter() - start
    result: dict[str, Any] = {"html": html, "config": config, "seconds": seconds}
    if byo:
        keep = ("sd_text2image", "sd_inpaint", "classifier_weights")
        locations = {k: world.locations[k] for k in keep} | {"main_data": str(world.byo_folders)} | BYO_DESCRIPTION
        byo_config = write_config(out / "byo.yml", locations, _merge(REHEARSAL_OVERRIDES, BYO_OVERRIDES))
        start = time.perf_counter()
        byo_html, _ = build_book("paper", root=out / "byo", config=str(byo_config), jobs=jobs, force=force)
        seconds["bring-your-own book"] = time.perf_counter() - start
        result.update(byo_html=byo_html, byo_config=byo_config)
    return result
