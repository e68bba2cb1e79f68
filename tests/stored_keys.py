#!/usr/bin/env python3
"""Dump every stored-result key and cache folder name the move must keep, as JSON.

Usage (from a repository root; no data, no torch, no model is touched)::

    SYNTHAUG_CACHE=/tmp/keys-cache PYTHONPATH=. python tests/stored_keys.py > keys.json

Run it before and after each step of the move and ``diff`` the two files: they must be equal.
Covers, for the demo, smoke and paper profiles: the key of every trial of every named grid
(the results store's file names), generation and DreamBooth settings keys and the synthetic-set
and DreamBooth folder names built from them, the demo generator's pretraining settings, the
grid settings.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
from types import SimpleNamespace

os.environ.setdefault("SYNTHAUG_CACHE", "/tmp/synthaug-keys-cache")

WHERE = {  # name -> the module that defines it
    "load_profile": ["core.config"],
    "build_grid": ["experiments.grids"],
    "grid_settings": ["experiments.grids"],
    "generation_settings": ["diffusion.settings"],
    "synthetic_set_dir": ["synthetic.sets"],
    "dreambooth_settings": ["diffusion.dreambooth"],
    "dreambooth_dir": ["diffusion.dreambooth"],
    "pretrain_settings": ["diffusion.demo_pretrain"],
    "cache_dir": ["core.paths"],
}


def find(name: str):
    for mod in WHERE[name]:
        try:
            module = importlib.import_module(f"synthaug_utils.{mod}")
        except ModuleNotFoundError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise SystemExit(f"{name} not found in {WHERE[name]}")


def relative(path) -> str:
    return str(path.relative_to(find("cache_dir")()))


def portable() -> None:
    """Make the dump the same on every machine: precision ``auto`` resolves as on a CPU with native
    bfloat16 (the machine that wrote the golden file; the generation key includes the precision),
    and no ``SYNTHAUG_*`` location variable (paper data, models) is read."""
    from synthaug_utils.core.config import PAPER_LOCATIONS
    from synthaug_utils.diffusion import settings

    settings.cpu_has_native_bf16 = lambda: True
    for env, _, _ in PAPER_LOCATIONS.values():
        os.environ.pop(env, None)


def main() -> int:
    portable()
    load_profile = find("load_profile")
    out: dict = {}
    for name in ("demo", "smoke", "paper"):
        P = load_profile(name)
        entry: dict = {"grids": {}, "grid_settings": {}}
        for grid in ("fig3", "fig4", "fig5", "imbalance", "learning-curve"):
            try:
                entry["grids"][grid] = sorted(s.key for s in find("build_grid")(grid, P))
                entry["grid_settings"][grid] = repr(sorted(find("grid_settings")(grid, P).items()))
            except Exception as exc:  # the paper imbalance grid reads the dataset's labels
                entry["grids"][grid] = f"not built here: {type(exc).__name__}"
        gen = find("generation_settings")(P)
        entry["generation_settings"] = {**dataclasses.asdict(gen), "precision": "(machine-dependent when auto)"}
        entry["generation_key_fields"] = sorted(k for k in dataclasses.asdict(gen) if k not in ("batch_size", "device"))
        splits = SimpleNamespace(dataset=P.dataset, split_seed=0)
        ddi = SimpleNamespace(dataset=P.ddi_dataset, split_seed=0)
        entry["synthetic_sets"] = sorted(
            relative(find("synthetic_set_dir")(P, m, v, P.dataset, 0, gen))
            for m in ("text-to-image", "inpaint", "outpaint", "in-then-outpaint")
            for v in ("pretrained", "dreambooth")
        )
        db = find("dreambooth_settings")(P)
        db_ddi = find("dreambooth_settings")(P, ddi=True)
        entry["dreambooth"] = {
            "settings": dataclasses.asdict(db),
            "key": db.key(),
            "ddi_key": db_ddi.key(),
            "ddi_epochs": db_ddi.epochs,
            "folders": [
                relative(find("dreambooth_dir")(P, k, "psoriasis", splits, db)) for k in ("text2image", "inpaint")
            ]
            + [relative(find("dreambooth_dir")(P, "inpaint", "all", ddi, db_ddi))],
        }
        if P.is_embedded:
            entry["pretrain_settings"] = repr(find("pretrain_settings")(P))
        out[name] = entry
    json.dump(out, sys.stdout, indent=1, sort_keys=True, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
