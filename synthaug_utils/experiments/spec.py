"""Trial specs and their keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthaug_utils.classifier.recipe import Recipe, RecipeError, profile_recipe_fields, profile_weights
from synthaug_utils.core.config import Profile, near_duplicate_changes
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.identity import settings_key
from synthaug_utils.core.vocabulary import GENERATOR_VARIANTS, METHODS


class SpecError(UserFacingError, ValueError):
    """A trial spec or grid setting is invalid (the message names the field and the allowed values)."""


# ----------------------------------------------------------------------------- the spec
# The training settings of a spec live in its Recipe; these are their names, in the flat spec's field order.
RECIPE_FIELDS = (
    "transforms",
    "arch",
    "image_size",
    "mode",
    "max_epochs",
    "patience",
    "lr",
    "wd",
    "monitor",
    "restore_best",
    "batch_rule",
    "batch_size",
    "views",
)
DATA_FIELDS = (
    "dataset",
    "data_key",
    "split_seed",
    "n_real",
    "n_real_per_label",
    "subset_seed",
    "synthetic_method",
    "synthetic_variant",
    "synthetic_ratio",
    "synthetic_manifest",
    "duplicate",
    "augment_labels",
)
# The flat field order of stored tables: the data, the recipe's input settings, the seed, its training settings.
FIELD_NAMES = DATA_FIELDS + RECIPE_FIELDS[:3] + ("seed",) + RECIPE_FIELDS[3:] + ("generator_key",)


@dataclass(frozen=True, init=False)
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
    ``generator_key`` (:func:`generator_key`): what made the synthetic images (model ids, generation and
    DreamBooth settings, the shipped demo weights); None without synthetic images, and then left out of
    ``key``, so a changed generator re-runs the trials that use its images and only those.
    ``seed``: the training seed.
    Training: ``recipe``, a :class:`~synthaug_utils.classifier.recipe.Recipe` (its own checks apply;
    weights and device stay at their defaults: the profile fills them, :meth:`recipe_for`). Its fields
    read through the spec (``spec.mode``) and are passed flat (``TrialSpec(dataset=..., mode="fast")``):
    ``transforms`` (fastai ``aug_transforms()``), ``arch``, ``image_size`` (px), ``mode``
    (faithful | fast), ``max_epochs``, ``patience``, ``lr``, ``wd``, ``monitor``, ``restore_best``,
    ``batch_rule``, ``batch_size`` (None = rule), ``views`` (fast mode, transforms on: cached augmented
    views per image; reads 0 where unused). :meth:`to_dict` is flat, so keys do not depend on the nesting.
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
    seed: int = 0
    recipe: Recipe = Recipe()
    generator_key: str | None = None

    def __init__(
        self,
        dataset: str,
        data_key: str = "",
        split_seed: int = 0,
        n_real: int | None = None,
        n_real_per_label=(),
        subset_seed: int | None = None,
        synthetic_method: str | None = None,
        synthetic_variant: str | None = None,
        synthetic_ratio: int = 0,
        synthetic_manifest: str | None = None,
        duplicate: int = 0,
        augment_labels=(),
        seed: int = 0,
        recipe: Recipe | None = None,
        generator_key: str | None = None,
        **training: Any,
    ) -> None:
        """Canonical form: typed values, sorted tuples, unused options cleared (so equal trials share a key).
        ``training``: recipe fields by name, over ``recipe`` (default: :class:`Recipe`'s defaults)."""
        unknown = sorted(set(training) - set(RECIPE_FIELDS))
        if unknown:
            raise TypeError(f"TrialSpec got unexpected field(s) {unknown}")
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        set_("dataset", dataset)
        set_("data_key", data_key)
        set_("split_seed", int(split_seed))
        set_("seed", int(seed))
        set_("n_real", None if n_real is None else int(n_real))
        set_("subset_seed", None if subset_seed is None else int(subset_seed))
        pairs = n_real_per_label.items() if isinstance(n_real_per_label, Mapping) else n_real_per_label
        set_("n_real_per_label", tuple(sorted((str(k), int(v)) for k, v in pairs)))
        set_("augment_labels", tuple(sorted(str(v) for v in augment_labels)))
        set_("duplicate", int(duplicate))
        if int(synthetic_ratio) == 0 or synthetic_method is None:
            synthetic_method = synthetic_variant = synthetic_manifest = generator_key = None
            synthetic_ratio = 0
        elif synthetic_manifest is not None:
            synthetic_manifest = str(Path(synthetic_manifest).expanduser().resolve())
        set_("synthetic_method", synthetic_method)
        set_("synthetic_variant", synthetic_variant)
        set_("synthetic_ratio", int(synthetic_ratio))
        set_("synthetic_manifest", synthetic_manifest)
        set_("generator_key", None if generator_key is None else str(generator_key))
        values = {name: getattr(recipe or Recipe(), name) for name in RECIPE_FIELDS}
        values.update(training)
        values.update(
            transforms=bool(values["transforms"]),
            restore_best=bool(values["restore_best"]),
            lr=float(values["lr"]),
            wd=float(values["wd"]),
            batch_size=None if values["batch_size"] is None else int(values["batch_size"]),
        )
        uses_views = values["mode"] == "fast" and values["transforms"]
        values["views"] = int(values["views"]) if uses_views else 1  # unused: one canonical value (reads 0)
        try:
            set_("recipe", Recipe(**values))
        except RecipeError as exc:
            raise SpecError(f"invalid trial spec: {exc}") from exc

    def __getattr__(self, name: str) -> Any:
        """The recipe's fields read through the spec (``spec.mode``); ``views`` reads 0 where unused."""
        if name in RECIPE_FIELDS:
            recipe = object.__getattribute__(self, "recipe")
            if name == "views" and not (recipe.mode == "fast" and recipe.transforms):
                return 0
            return getattr(recipe, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @staticmethod
    def field_names() -> tuple[str, ...]:
        """The flat field names, in :meth:`to_dict`'s order (the data fields and the recipe's)."""
        return FIELD_NAMES

    # -- identity
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able flat dict (tuples become lists; the recipe's fields under their own names)."""
        out = {name: getattr(self, name) for name in FIELD_NAMES}
        out["n_real_per_label"] = [list(p) for p in self.n_real_per_label]
        out["augment_labels"] = list(self.augment_labels)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialSpec:
        """Inverse of :meth:`to_dict`; unknown fields raise SpecError naming them."""
        unknown = sorted(set(data) - set(FIELD_NAMES))
        if unknown:
            raise SpecError(f"unknown trial spec field(s) {unknown}; known: {sorted(FIELD_NAMES)}")
        values = dict(data)
        values["n_real_per_label"] = tuple(tuple(p) for p in values.get("n_real_per_label", ()))
        values["augment_labels"] = tuple(values.get("augment_labels", ()))
        return cls(**values)

    @property
    def key(self) -> str:
        """20-hex-char hash of the canonical JSON of every field (the trial's file name in the store)."""
        return settings_key(self.to_dict(), 20)

    def replace(self, **changes: Any) -> TrialSpec:
        """A copy with some fields changed (data or recipe fields, by their flat names)."""
        return dataclasses.replace(self, **changes)

    # -- checks and derived settings
    def validate(self, profile: Profile | None = None) -> None:
        """Raise SpecError / MissingModelError for bad values before any data or model is loaded
        (the recipe's own values were checked when the spec was made)."""
        from synthaug_utils.core.inputs import check_arch

        problems = []
        if self.n_real is not None and self.n_real < 1:
            problems.append(f"n_real={self.n_real} (must be >= 1, or None for the whole pool)")
        if self.synthetic_ratio < 0 or self.duplicate < 0:
            problems.append("synthetic_ratio and duplicate must be >= 0")
        if self.synthetic_method is not None:
            if self.synthetic_method not in METHODS:
                problems.append(f"synthetic_method={self.synthetic_method!r} (use one of {METHODS})")
            if self.synthetic_variant not in GENERATOR_VARIANTS:
                problems.append(f"synthetic_variant={self.synthetic_variant!r} (use one of {GENERATOR_VARIANTS})")
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

    def recipe_for(self, profile: Profile) -> Recipe:
        """This trial's :class:`~synthaug_utils.classifier.recipe.Recipe` with the profile's weights and device."""
        return dataclasses.replace(
            self.recipe, weights=profile_weights(profile) if self.arch == profile.arch else None, device=profile.device
        )

    def which(self, profile: Profile) -> str:
        """``main`` or ``ddi``: which of the profile's datasets this spec uses."""
        from synthaug_utils.data.splits import dataset_which

        return dataset_which(profile, self.dataset)


def data_key(profile: Profile, dataset: str) -> str:
    """Identity of the data behind ``dataset`` in ``profile``: dataset name, world sizes, validation sizes,
    and for the main dataset the near-duplicate settings that differ from their defaults
    (``:test_set=no-near-duplicates``; none by default, so the paper's trials keep their keys)."""
    world = profile.world.key() if profile.world is not None else "external"
    per = profile.ddi_per_bin if dataset == profile.ddi_dataset else profile.val_per_label
    key = f"{dataset}:{world}:val{per}"
    if dataset != profile.ddi_dataset:
        key += "".join(f":{name}={value}" for name, value in near_duplicate_changes(profile).items())
    return key


def generator_key(profile: Profile, which: str = "main") -> str:
    """Identity (16 hex) of what makes ``which``'s synthetic images in ``profile``: the model ids, the
    generation settings' key, the DreamBooth settings' key (DDI's for ``'ddi'``) and, on the embedded
    profiles, the hash of the shipped demo generator's weights (a paper profile's weights are named by
    their ids: hashing them would need them present to read stored results)."""
    from synthaug_utils.diffusion.dreambooth import dreambooth_settings
    from synthaug_utils.diffusion.pipelines import model_hash
    from synthaug_utils.diffusion.resolve import model_folder
    from synthaug_utils.diffusion.settings import generation_settings

    parts = {
        "models": [profile.text2image_model, profile.inpaint_model],
        "generation": generation_settings(profile).key(),
        "dreambooth": dreambooth_settings(profile, ddi=which == "ddi").key(),
    }
    if profile.is_embedded:
        parts["weights"] = [model_hash(model_folder(m, profile)) for m in parts["models"]]
    if profile.locations.get("released_synthetic"):  # the authors' images stand in for the generated ones
        parts["source"] = "released"
    return settings_key(parts, 16)


def base_spec(profile: Profile, which: str = "main", **changes: Any) -> TrialSpec:
    """A spec with the profile's dataset, backbone, input size, epochs, patience, early-stopping metric and
    mode, then ``changes`` (a spec with synthetic images also carries the profile's :func:`generator_key`)."""
    dataset = profile.ddi_dataset if which == "ddi" else profile.dataset
    values = dict(dataset=dataset, data_key=data_key(profile, dataset), **profile_recipe_fields(profile))
    if (
        changes.get("synthetic_method") is not None
        and changes.get("synthetic_ratio", 0)
        and "generator_key" not in changes
    ):
        values["generator_key"] = generator_key(profile, which)
    values.update(changes)
    return TrialSpec(**values)
