"""The classifier recipe and its checks, batch-size rule, seeding, fit results, early stopping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthaug_utils.core import profiles, rules
from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import DataError, UserFacingError
from synthaug_utils.core.vocabulary import BATCH_RULES, LITE0_ARCH


class RecipeError(UserFacingError, ValueError):
    """A training hyperparameter is out of range or unknown (the message names it)."""


# ----------------------------------------------------------------------------- recipe
@dataclass(frozen=True)
class Recipe:
    """Every setting of one classifier training run (defaults: the authors' recipe with the demo profile's
    backbone, input size and epoch cap, from :mod:`synthaug_utils.core.profiles`).

    ``image_size`` is the classifier input side in px. ``batch_size`` None applies
    :func:`batch_size_rule` with ``batch_rule`` to the training-set size. ``views`` is
    the number of cached augmented views per image in fast mode with transforms on.
    ``weights`` is a local checkpoint for non-Lite0 backbones (None: torch's hub cache).
    ``amp`` and ``channels_last`` are GPU speed options (faithful mode only).
    """

    arch: str = profiles.demo("profile", "arch")
    image_size: int = profiles.demo("profile", "image_size")
    transforms: bool = False
    mode: str = profiles.paper("classifier", "mode")
    max_epochs: int = profiles.demo("profile", "max_epochs")
    patience: int = profiles.paper("profile", "patience")
    lr: float = profiles.paper("classifier", "lr")
    wd: float = profiles.paper("classifier", "wd")
    monitor: str = profiles.paper("profile", "early_stopping_metric")
    restore_best: bool = profiles.paper("classifier", "restore_best")
    batch_rule: str = profiles.paper("classifier", "batch_rule")
    batch_size: int | None = None
    views: int = profiles.paper("classifier", "views")
    weights: str | None = None
    device: str = "cpu"
    amp: bool = False
    channels_last: bool = False

    def __post_init__(self) -> None:
        """Check every setting with a rule in :data:`synthaug_utils.core.rules.RULES` (the rules the
        profile's overrides are checked with)."""
        for name in ("mode", "batch_rule", "monitor", "image_size", "max_epochs", "patience", "lr", "wd", "views"):
            problem = rules.setting_problem(name, getattr(self, name))
            if problem:
                raise RecipeError(f"training recipe: {name}={getattr(self, name)!r} is {problem}")
        if self.batch_size is not None:
            problem = rules.setting_problem("batch_size", self.batch_size)
            if problem:
                raise RecipeError(f"training recipe: batch_size={self.batch_size!r} is {problem}")

    @classmethod
    def from_profile(cls, profile: Profile, **changes: Any) -> Recipe:
        """The profile's backbone, input size, epochs, patience, early-stopping metric
        (``early_stopping_metric``), device and mode, then ``changes``."""
        base = dict(**profile_recipe_fields(profile), device=profile.device, weights=profile_weights(profile))
        base.update(changes)
        return cls(**base)


def profile_recipe_fields(profile: Profile) -> dict[str, Any]:
    """The recipe fields a profile sets and a trial's key records: backbone, input size, epochs,
    patience, early-stopping metric and mode (device and weights are the machine's, not the trial's)."""
    return dict(
        arch=profile.arch,
        image_size=profile.image_size,
        max_epochs=profile.max_epochs,
        patience=profile.patience,
        monitor=profile.early_stopping_metric,
        mode="fast" if profile.fast_mode else "faithful",
    )


def profile_weights(profile: Profile) -> str | None:
    """The classifier checkpoint named in the profile's locations (paper profile), or None."""
    value = profile.locations.get("classifier_weights") if profile.locations else None
    if value and profile.arch != LITE0_ARCH and not value.startswith("torchvision://"):
        return value
    return None


def batch_size_rule(n_train: int, rule: str = "default") -> int:
    """Batch size for a training set of ``n_train`` images (real + synthetic), as the authors chose it.

    The authors' scripts compare ``n_train / 10`` with thresholds (manrai/synthetic-derm):
    ``default`` (Fig. 3 script): n_train >= 1000 -> 64, >= 100 -> 32, else 8;
    ``dose-response`` (Fig. 4 script): n_train >= 5000 -> 128, >= 1000 -> 64, >= 100 -> 32, else 8.
    The result is capped at ``n_train`` so that a tiny set still yields one full batch
    (fastai drops the last incomplete training batch).
    """
    if rule not in BATCH_RULES:
        raise RecipeError(f"batch_rule={rule!r}: use one of {BATCH_RULES}")
    n_train = int(n_train)
    if n_train < 1:
        raise DataError("the training set is empty; nothing to train on")
    tenth = n_train / 10
    if rule == "dose-response" and tenth >= 500:
        size = 128
    elif tenth >= 100:
        size = 64
    elif tenth >= 10:
        size = 32
    else:
        size = 8
    return min(size, n_train)


# ----------------------------------------------------------------------------- seeding, hashing
def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA), deterministic cuDNN."""
    from fastai.torch_core import set_seed

    set_seed(int(seed), reproducible=True)


# ----------------------------------------------------------------------------- results
@dataclass
class FitResult:
    """Outcome of one training run.

    ``probs``: float32 (N_test, n_labels) softmax probabilities in label order;
    ``history``: one dict per epoch run (epoch, train_loss, valid_loss, valid_accuracy);
    ``best_epoch``: 0-based epoch with the best monitored value; ``wall_s``: seconds.
    """

    probs: np.ndarray
    history: list[dict[str, float]]
    epochs_run: int
    best_epoch: int
    batch_size: int
    n_train: int
    wall_s: float
    mode: str
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of_run(
        cls,
        probs: np.ndarray,
        history: list[dict[str, float]],
        monitor: str,
        batch_size: int,
        n_train: int,
        mode: str,
        first: str,
        stamps: tuple[float, float, float, float],
    ) -> FitResult:
        """A run's result from its outputs and its perf-counter ``stamps`` (start, fit start, predict
        start, end); ``first`` names the span before fitting (``setup_s`` or ``features_s``)."""
        start, t_fit, t_pred, t_end = stamps
        return cls(
            probs=probs,
            history=history,
            epochs_run=len(history),
            best_epoch=_best_epoch(history, monitor),
            batch_size=batch_size,
            n_train=n_train,
            wall_s=t_end - start,
            mode=mode,
            timings={first: t_fit - start, "fit_s": t_pred - t_fit, "predict_s": t_end - t_pred},
        )


class EarlyStopper:
    """fastai's ``EarlyStoppingCallback`` rule (``min_delta=0``) as a plain object, for fast mode.

    :meth:`update` takes one epoch's monitored value and returns (improved, stop): an
    epoch improves when its value is strictly better than the best so far (lower loss,
    higher accuracy); training stops after ``patience`` epochs in a row without improvement.
    """

    def __init__(self, patience: int, monitor: str = "valid_loss"):
        self.patience, self.sign = int(patience), 1.0 if monitor == "valid_loss" else -1.0
        self.best: float | None = None
        self.wait = 0

    def update(self, value: float) -> tuple[bool, bool]:
        score = self.sign * float(value)
        if self.best is None or score < self.best:
            self.best, self.wait = score, 0
            return True, False
        self.wait += 1
        return False, self.wait >= self.patience


def _best_epoch(history: list[dict[str, float]], monitor: str) -> int:
    """0-based index of the first epoch with the best monitored value (lowest loss / highest accuracy)."""
    key = "valid_loss" if monitor == "valid_loss" else "valid_accuracy"
    values = [h[key] for h in history]
    return int(np.argmin(values) if monitor == "valid_loss" else np.argmax(values))
