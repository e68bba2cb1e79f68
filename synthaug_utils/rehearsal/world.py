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

import json
import time
from dataclasses import dataclass
from pathlib import Path

from synthaug_utils.core.config import PAPER_LOCATIONS
from synthaug_utils.core.files import atomic_write_bytes
from synthaug_utils.core.paths import REHEARSAL_WORLD_FILE
from synthaug_utils.rehearsal.byo import write_bad_table, write_byo, write_ddi_byo
from synthaug_utils.rehearsal.common import say
from synthaug_utils.rehearsal.datasets import F17K_METADATA_FILE, write_ddi, write_f17k
from synthaug_utils.rehearsal.models import write_classifier_weights, write_open_clip_checkpoint, write_sd_folders

__all__ = [
    "RehearsalWorld",
    "write_rehearsal_world",
    "write_f17k",
    "write_ddi",
    "write_byo",
    "write_ddi_byo",
    "write_bad_table",
    "write_sd_folders",
    "write_classifier_weights",
    "write_open_clip_checkpoint",
    "LOCATION_KEYS",
]

# The paper-profile locations a rehearsal world supplies (real-format datasets and models).
LOCATION_KEYS = (
    "f17k_metadata",
    "f17k_splits",
    "f17k_images",
    "ddi_metadata",
    "ddi_images",
    "sd_text2image",
    "sd_inpaint",
    "classifier_weights",
    "clip_weights",
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
        raise RuntimeError(
            f"rehearsal locations {unknown} are not paper-profile location keys {sorted(PAPER_LOCATIONS)}"
        )
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
    atomic_write_bytes(root / REHEARSAL_WORLD_FILE, (json.dumps(summary, indent=2) + "\n").encode())
    say(progress, f"complete in {root} ({time.perf_counter() - began:.1f} s)")
    return world
