"""The results store (one file per trial key) and tidy rows."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.files import atomic_write, atomic_write_text, temporary_writer
from synthaug_utils.core.paths import cache_dir
from synthaug_utils.experiments.trial import RESULT_FORMAT


class StoreFormatError(UserFacingError, RuntimeError):
    """A stored trial result was written in another result format (by another package version)."""


# ----------------------------------------------------------------------------- the store
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ResultsStore:
    """A folder of trial results: ``trials/{key}.json`` (one per trial) and ``index.parquet`` (tidy, rebuilt).

    Writes go to ``trials/.{key}.{host}.{pid}.{random}.tmp`` and are renamed into place,
    so a reader never sees a partial file; :meth:`clean_partial` removes temporary files
    left by writers that died (same host, dead pid, or older than a day).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()
        self.trials = self.root / "trials"
        self.trials.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.trials / f"{key}.json"

    def has(self, key: str) -> bool:
        """True when a complete, parseable result for ``key`` is stored."""
        try:
            return self.load(key)["key"] == key
        except (OSError, ValueError, KeyError):
            return False

    def load(self, key: str) -> dict:
        """The stored result of ``key``. Raises StoreFormatError when it has another ``format`` than
        :data:`RESULT_FORMAT` (written by another package version: refused, never mixed or overwritten)."""
        path = self.path(key)
        with open(path) as handle:
            result = json.load(handle)
        if not isinstance(result, dict):
            raise ValueError(f"{path} does not hold a trial result")
        if result.get("format") != RESULT_FORMAT:
            from synthaug_utils import __version__

            provenance = result.get("provenance") if isinstance(result.get("provenance"), dict) else {}
            packages = provenance.get("packages") if isinstance(provenance.get("packages"), dict) else {}
            raise StoreFormatError(
                f"results store {self.root}: {path.name} has result format {result.get('format')!r} (written by "
                "synthaug "
                f"{packages.get('synthaug', 'of unknown version')}); this synthaug {__version__} reads format "
                f"{RESULT_FORMAT}: "
                f"move that store aside or pass another --store (its trials then run again)"
            )
        return result

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.trials.glob("*.json"))

    def write(self, result: Mapping[str, Any]) -> Path:
        """Store ``result`` atomically under its ``key`` (replacing an older result of the same key)."""
        key = result["key"]
        text = json.dumps(result, sort_keys=True, allow_nan=True)
        return atomic_write_text(self.path(key), text)

    def partial_files(self) -> list[Path]:
        return sorted(p for folder in (self.trials, self.root) for p in folder.glob(".*.tmp"))

    def clean_partial(self) -> int:
        """Delete temporary files of dead writers; returns how many were removed."""
        host, removed = socket.gethostname(), 0
        for tmp in self.partial_files():
            writer_host, pid = temporary_writer(tmp) or ("", -1)
            stale = time.time() - tmp.stat().st_mtime > 86400
            if stale or (writer_host == host and not _pid_alive(pid)):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def results(self, keys: Iterable[str] | None = None) -> Iterator[dict]:
        for key in self.keys() if keys is None else keys:
            if self.path(key).is_file():
                yield self.load(key)

    def rebuild_index(self) -> pd.DataFrame:
        """Rebuild ``index.parquet`` (one row per stored trial, see :func:`tidy_row`) from the trial files."""
        frame = pd.DataFrame([tidy_row(r) for r in self.results()])
        atomic_write(self.root / "index.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
        return frame

    def frame(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Tidy results, one row per trial (only ``keys`` when given, in that order)."""
        return pd.DataFrame([tidy_row(r) for r in self.results(keys)])

    def group_accuracy(self, by: str = "label", keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Long table: one row per (trial, class) for ``by='label'`` or (trial, FST) for ``by='fst'``."""
        field = {"label": "per_class", "fst": "per_fst"}[by]
        rows = []
        for result in self.results(keys):
            base = tidy_row(result)
            for group, values in result["metrics"][field].items():
                rows.append(
                    {
                        **base,
                        by: group,
                        "group_n": values["n"],
                        "group_correct": values["correct"],
                        "group_accuracy": values["accuracy"],
                    }
                )
        return pd.DataFrame(rows)

    def predictions(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Long table of per-test-image predictions with the trial key."""
        frames = [pd.DataFrame(r["predictions"]).assign(key=r["key"]) for r in self.results(keys)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# What a trial's result records about its run, beside the spec and the metrics.
RUN_FACTS = ("epochs_run", "best_epoch", "batch_size", "n_train", "n_train_real", "n_train_synthetic", "wall_s")


def tidy_row(result: Mapping[str, Any]) -> dict[str, Any]:
    """One flat row: key, every spec field (tuples as text), scalar metrics and run facts."""
    spec = dict(result["spec"])
    spec["n_real_per_label"] = ";".join(f"{k}={v}" for k, v in spec.get("n_real_per_label", []))
    spec["augment_labels"] = ";".join(spec.get("augment_labels", []))
    metrics = result["metrics"]
    row = {"key": result["key"], **spec}
    row.update({k: metrics[k] for k in ("top1", "top3", "n_test", "n_correct", "n_correct_top3")})
    row.update({k: result[k] for k in RUN_FACTS})
    return row


def default_store(profile: Profile) -> Path:
    """The results folder used when none is given: ``<cache>/results/<profile name>``."""
    return cache_dir() / "results" / profile.name
