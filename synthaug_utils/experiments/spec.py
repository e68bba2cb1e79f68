"""Trial specs and their keys.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.vocabulary import METHODS, VARIANTS


class SpecError(UserFacingError, ValueError):
    """A trial spec or grid setting is invalid (the message names the field and the allowed values)."""


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
    None = the profile's set from :func:`synthaug_utils.synthetic.sets.ensure_synthetic_set`),
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
        from synthaug_utils.core.vocabulary import BATCH_RULES, MODES, MONITORS
        from synthaug_utils.core.inputs import check_arch

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
        """The :class:`~synthaug_utils.classifier.recipe.Recipe` of this trial (weights and device from the profile)."""
        from synthaug_utils.classifier.recipe import Recipe, _profile_weights

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
