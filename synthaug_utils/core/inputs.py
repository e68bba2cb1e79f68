"""What a profile needs before it runs: resources (datasets, weights, models), chapter inputs, the ready checks."""

from __future__ import annotations

from pathlib import Path

from synthaug_utils.core import chapters
from synthaug_utils.core.config import PAPER_LOCATIONS, Profile, ProfileError
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.vocabulary import LITE0_ARCH


class MissingResourcesError(UserFacingError, RuntimeError):
    """The paper profile lacks data, weights or a GPU; the message lists every missing item."""


# Location keys that are checked only when set (each replaces work the profile would otherwise do).
OPTIONAL_LOCATIONS = ("released_synthetic",)


def resource_keys(profile: Profile, needs: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The location keys to check: ``needs`` (default: every key) with each data slot resolved.

    A bring-your-own key (``main_data``, ``ddi_data``) replaces the real dataset's keys of its
    slot when it is set; unset, it is not needed. So ``needs=("f17k_images",)`` checks
    ``main_data`` when that is set. An :data:`OPTIONAL_LOCATIONS` key is checked only when it is set.
    """
    optional = {k for byo, _real in DATA_SLOTS.values() for k in byo} | set(OPTIONAL_LOCATIONS)
    keys = list(needs) if needs is not None else [k for k in PAPER_LOCATIONS if k not in optional]
    if needs is None:
        keys += [k for k in OPTIONAL_LOCATIONS if profile.locations.get(k)]
    for byo, real in DATA_SLOTS.values():
        if any(profile.locations.get(k) for k in byo):
            keys = [k2 for k in keys for k2 in ((*byo,) if k in real else (k,))]
    return tuple(dict.fromkeys(keys))


def _hf_model_available(model: str) -> bool:
    """True when ``model`` is a local diffusers folder or a hub id already in the local cache."""
    path = Path(model).expanduser()
    if path.exists():
        return (path / "model_index.json").is_file()
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(model, "model_index.json")
        return isinstance(hit, str)
    except Exception:  # malformed id, no hub package: not available
        return False


def _torch_hub_file(spec: str) -> Path:
    import torch

    name = spec.split("://", 1)[1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _weights_available(spec: str) -> bool:
    if spec.startswith("torchvision://"):
        return _torch_hub_file(spec).is_file()
    if spec.startswith("open_clip://"):
        try:
            from huggingface_hub import try_to_load_from_cache

            hit = try_to_load_from_cache("timm/vit_base_patch32_clip_224.openai", "open_clip_model.safetensors")
            return isinstance(hit, str)
        except Exception:
            return False
    return Path(spec).expanduser().is_file()


def missing_resources(profile: Profile, needs: tuple[str, ...] | None = None) -> list[str]:
    """Every resource the profile needs and cannot find, as human-readable lines.

    ``needs`` restricts the check to some location keys (e.g. a notebook that only
    reads metadata); bring-your-own data stands in for the real dataset of its slot
    (:func:`resource_keys`). Embedded profiles need nothing beyond installed packages.
    """
    if profile.is_embedded:
        return []
    keys = resource_keys(profile, needs)
    missing = []
    for key in keys:
        env, _default, what = PAPER_LOCATIONS[key]
        value = profile.locations.get(key)
        how = f"set {key}: in a config file (--config FILE) or the environment variable {env}"
        if not value:
            missing.append(f"- {key}: {what}. Not set; {how}.")
            continue
        if key in ("sd_text2image", "sd_inpaint"):
            ok = _hf_model_available(value)
        elif key in ("classifier_weights", "clip_weights"):
            ok = _weights_available(value)
        elif key in ("f17k_images", "ddi_images", "f17k_splits"):
            ok = Path(value).expanduser().is_dir()
        elif key == "main_data":
            ok = Path(value).expanduser().exists()
        elif key == "released_synthetic":
            ok = Path(value).expanduser().is_dir() and any(Path(value).expanduser().glob("*.tar"))
        else:
            ok = Path(value).expanduser().is_file()
        if not ok:
            missing.append(f"- {key} = {value!r}: not found offline. Expected: {what}; {how}.")
    if needs is None:
        missing.extend(missing_device(profile))
    return missing


def check_ready(profile: Profile, needs: tuple[str, ...] | None = None) -> None:
    """Raise MissingResourcesError listing every missing item, before any work starts."""
    missing = missing_resources(profile, needs)
    if missing:
        raise MissingResourcesError(
            f"profile {profile.name!r} cannot run; {len(missing)} item(s) missing:\n" + "\n".join(missing)
        )


def check_arch(arch: str) -> None:
    """Raise MissingModelError unless ``arch`` is Lite0, a torchvision model name or a timm model name."""
    if arch == LITE0_ARCH:
        return
    import timm
    import torchvision

    if arch in torchvision.models.list_models(module=torchvision.models) or arch in timm.list_models():
        return
    from synthaug_utils.core.errors import MissingModelError

    raise MissingModelError(
        f"unknown architecture {arch!r}: not {LITE0_ARCH!r}, a torchvision classification model name "
        f"(e.g. efficientnet_v2_m) or a timm model name"
    )


# ----------------------------------------------------------------------------- chapter inputs
# What each chapter needs is in its registry entry (core.chapters: ``requires``, ``optional``, ``grids``).

# The data slots: location keys of a bring-your-own table (tried first) or of the real dataset.
DATA_SLOTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "main": (("main_data",), ("f17k_metadata", "f17k_splits", "f17k_images")),
    "ddi": (("ddi_data",), ("ddi_metadata", "ddi_images")),
}


def input_keys(profile: Profile, name: str) -> tuple[str, ...]:
    """The location keys behind an input name: a data slot's bring-your-own key when it is set, else
    the real dataset's keys; any other name is itself a location key."""
    if name in DATA_SLOTS:
        byo, real = DATA_SLOTS[name]
        return byo if any(profile.locations.get(k) for k in byo if k in PAPER_LOCATIONS) else real
    if name not in PAPER_LOCATIONS:
        raise ProfileError(f"unknown chapter input {name!r}; known: {sorted(DATA_SLOTS)} and {sorted(PAPER_LOCATIONS)}")
    return (name,)


def missing_inputs(profile: Profile, names: tuple[str, ...]) -> list[str]:
    """Human-readable lines for every missing location behind ``names`` (empty on embedded profiles)."""
    if profile.is_embedded:
        return []
    keys = tuple(dict.fromkeys(k for name in names for k in input_keys(profile, name)))
    return missing_resources(profile, needs=keys) if keys else []


def has_input(profile: Profile, name: str) -> bool:
    """Whether input ``name`` (a data slot or location key) is available to this profile."""
    return not missing_inputs(profile, (name,))


def chapter_missing(profile: Profile, chapter: str) -> list[str]:
    """What chapter ``chapter`` needs and cannot find (its required inputs, and its optional
    :data:`OPTIONAL_LOCATIONS` that are set; empty when it can run)."""
    entry = chapters.find(chapter)
    if entry is None:
        return []
    chosen = tuple(k for k in entry.optional if k in OPTIONAL_LOCATIONS and profile.locations.get(k))
    return missing_inputs(profile, entry.requires + chosen)


def grid_available(profile: Profile, grid: str) -> bool:
    """Whether the inputs of the chapter that runs ``grid`` are all available."""
    entry = chapters.by_grid(grid)
    return entry is None or not missing_inputs(profile, entry.requires)


def missing_device(profile: Profile) -> list[str]:
    """A line when the profile's device is CUDA and torch sees no GPU (checked once per build)."""
    if not str(profile.device).startswith("cuda"):
        return []
    try:
        import torch

        if torch.cuda.is_available():
            return []
    except Exception:
        pass
    return [
        f"- device: profile {profile.name!r} runs on {profile.device!r}, but torch sees no CUDA GPU. "
        "Run it on a GPU machine, or set device: cpu under overrides in the config file for a CPU "
        "rehearsal at small size."
    ]
