"""Where things are: the package folder, the repository root, the cache folder, ``demo://`` model ids, the shipped
demo weights and rehearsal worlds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # synthaug_utils/ (this file is in synthaug_utils/core/)

# The demo generator's model ids and shipped weights (named here, where no torch import is needed).
DEMO_TEXT2IMAGE_ID = "demo://ldm-text2image"

DEMO_INPAINT_ID = "demo://ldm-inpaint"

DEMO_MODEL_KINDS = {DEMO_TEXT2IMAGE_ID: "text2image", DEMO_INPAINT_ID: "inpaint"}

DEMO_RESOURCE_DIR = PACKAGE_DIR / "resources" / "demo_ldm"


def shipped_demo_model(model_id: str) -> Path | None:
    """The folder of the shipped weights of a ``demo://`` model id, or None when absent (no torch import)."""
    kind = DEMO_MODEL_KINDS.get(str(model_id))
    folder = DEMO_RESOURCE_DIR / kind if kind else None
    return folder if folder is not None and (folder / "model_index.json").is_file() else None


def project_root() -> Path | None:
    """The repository root (the folder holding ``_toc.yml``) when running from a checkout, else None."""
    root = PACKAGE_DIR.parent
    return root if (root / "_toc.yml").exists() else None


def cache_dir() -> Path:
    """Root folder for generated data, model caches and the results store.

    ``$SYNTHAUG_CACHE`` if set; else ``<repo>/.cache`` in a checkout (so a fresh
    clone starts cold); else ``$XDG_CACHE_HOME/synthaug`` (``~/.cache/synthaug``).
    """
    env = os.environ.get("SYNTHAUG_CACHE")
    if env:
        path = Path(env)
    elif project_root() is not None:
        path = project_root() / ".cache"
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "synthaug"
    path.mkdir(parents=True, exist_ok=True)
    return path


# What `synthaug rehearse` writes into the root of its miniature world (synthaug_utils.rehearsal.world): the
# record of the world's paths, written last, and the folder of its parts' completion markers.
REHEARSAL_WORLD_FILE = "world.json"
REHEARSAL_MARKER_DIR = ".rehearsal"


def rehearsal_world(locations: Iterable[str]) -> Path | None:
    """The root of the rehearsal world that holds any of ``locations`` (local files or folders; hub ids and
    ``scheme://`` specs are skipped), or None. Data and models there are drawn by the project or carry
    random weights, whatever profile reads them."""
    for value in locations:
        if not value or "://" in str(value):
            continue
        path = Path(str(value)).expanduser()
        if not path.exists():
            continue
        path = path.resolve()
        for folder in (path, *path.parents):
            if (folder / REHEARSAL_WORLD_FILE).is_file() and (folder / REHEARSAL_MARKER_DIR).is_dir():
                return folder
    return None
