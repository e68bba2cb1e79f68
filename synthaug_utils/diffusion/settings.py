"""Generation settings per profile, precision and the base model ids."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from synthaug_utils.core import profiles
from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.identity import settings_key
from synthaug_utils.core.machine import cpu_has_native_bf16
from synthaug_utils.diffusion.prompts import PROMPT_TEMPLATE

# ----------------------------------------------------------------------------- settings
_PAPER = {name: setting.value for name, setting in profiles.PAPER["generation"].items()}


@dataclass(frozen=True)
class GenerationSettings:
    """Every generation parameter (defaults: the paper profile's, :mod:`synthaug_utils.core.profiles`,
    but float32). Sizes in px.

    ``precision``: 'fp32'; 'fp16' (weights in float16, the authors' GPU setting);
    'bf16' (bfloat16 autocast around float32 weights: fastest on CPUs with AVX512-BF16).
    ``paste_unmasked``: copy the source pixels back outside the mask after generation
    (off: the authors keep the pipeline's output as it is). ``paste_blend_px``: when pasting, blend
    the generated pixels in over this many px inside the mask's border
    (:func:`~synthaug_utils.diffusion.masks.blend_weights`; 0: a hard paste); the unmasked pixels
    stay the source's exactly.
    """

    steps: int = _PAPER["steps"]
    guidance_scale: float = _PAPER["guidance_scale"]
    resolution: int = _PAPER["resolution"]
    strength_inpaint: float = _PAPER["strength_inpaint"]
    strength_outpaint: float = _PAPER["strength_outpaint"]
    prompt_template: str = PROMPT_TEMPLATE
    fst_in_prompt: bool = _PAPER["fst_in_prompt"]
    mask_side_fraction: float = _PAPER["mask_side_fraction"]  # side of the centre square / image side
    frame_px_at_512: int = _PAPER["frame_px_at_512"]  # unmasked outer frame of the outpaint mask, px at 512 (scaled)
    batch_size: int = _PAPER["batch_size"]
    # float16 needs a GPU: without a profile, float32, which runs on every device
    precision: str = profiles.demo("generation", "precision")
    paste_unmasked: bool = _PAPER["paste_unmasked"]
    paste_blend_px: int = _PAPER["paste_blend_px"]
    device: str = "cpu"

    def key(self) -> str:
        """Short hash of every setting that changes an image (all but batch size and device;
        precision counts: bf16 and fp32 give slightly different images)."""
        data = asdict(self)
        for name in ("batch_size", "device"):
            data.pop(name)
        return settings_key(data, 8)


def resolve_precision(precision: str, device: str) -> str:
    """'auto' -> 'bf16' on CPUs with native bf16, 'fp16' on CUDA, else 'fp32'; other values unchanged."""
    if precision != "auto":
        if precision not in ("fp32", "fp16", "bf16"):
            raise UserFacingError(f"precision={precision!r}: use 'fp32', 'fp16', 'bf16' or 'auto'")
        return precision
    if str(device).startswith("cuda"):
        return "fp16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def precision_label(profile: Profile, settings: GenerationSettings) -> str:
    """The precision as the book states it: its name, and when it overrides the profile's default
    (e.g. bf16 on the embedded profiles, whose default is fp32) a clause saying so."""
    default = resolve_precision(str(dict(profile.generation_defaults).get("precision", "fp32")), str(settings.device))
    if settings.precision == default:
        return settings.precision
    return (
        f"{settings.precision} (an override of this profile's default, {default}: its numbers differ "
        f"from a {default} build's)"
    )


def generation_settings(profile: Profile, **changes: Any) -> GenerationSettings:
    """Settings for ``profile``: its gen_steps, guidance_scale, gen_resolution and device, the
    profile-level defaults above, then ``profile.grids['generation']``, then ``changes``."""
    values: dict[str, Any] = dict(
        steps=profile.gen_steps,
        guidance_scale=profile.guidance_scale,
        resolution=profile.gen_resolution,
        device=profile.device,
    )
    values.update(dict(profile.generation_defaults))
    values.update(dict(profile.grids.get("generation", {})) if profile.grids else {})
    values.update(changes)
    unknown = sorted(set(values) - set(GenerationSettings.__dataclass_fields__))
    if unknown:
        raise UserFacingError(
            f"unknown generation setting(s) {unknown}; known: {sorted(GenerationSettings.__dataclass_fields__)}"
        )
    values["precision"] = resolve_precision(str(values.get("precision", "fp32")), str(values["device"]))
    return GenerationSettings(**values)


def base_model_id(profile: Profile, kind: str) -> str:
    """The profile's pretrained model id for ``kind`` ('text2image' or 'inpaint')."""
    return profile.text2image_model if kind == "text2image" else profile.inpaint_model
