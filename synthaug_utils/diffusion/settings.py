"""Generation settings per profile, precision and the base model ids."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.diffusion.prompts import PROMPT_TEMPLATE


# ----------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class GenerationSettings:
    """Every generation parameter (PROTOCOL.md defaults). Sizes in px.

    ``precision``: 'fp32'; 'fp16' (weights in float16, the authors' GPU setting);
    'bf16' (bfloat16 autocast around float32 weights: fastest on CPUs with AVX512-BF16).
    ``paste_unmasked``: copy the source pixels back outside the mask after generation
    (off: the authors keep the pipeline's output as it is). ``paste_blend_px``: when pasting, blend
    the generated pixels in over this many px inside the mask's border
    (:func:`~synthaug_utils.diffusion.masks.blend_weights`; 0: a hard paste); the unmasked pixels
    stay the source's exactly.
    """

    steps: int = 50
    guidance_scale: float = 3.0
    resolution: int = 512
    strength_inpaint: float = 0.97
    strength_outpaint: float = 0.95
    prompt_template: str = PROMPT_TEMPLATE
    fst_in_prompt: bool = False
    mask_side_fraction: float = 0.5  # side of the centre square / image side
    frame_px_at_512: int = 16  # unmasked outer frame of the outpaint mask, px at 512 (scaled)
    batch_size: int = 16
    precision: str = "fp32"
    paste_unmasked: bool = False
    paste_blend_px: int = 0
    device: str = "cpu"

    def key(self) -> str:
        """Short hash of every setting that changes an image (all but batch size and device;
        precision counts: bf16 and fp32 give slightly different images)."""
        data = asdict(self)
        for name in ("batch_size", "device"):
            data.pop(name)
        if not data["paste_blend_px"]:  # added later: absent at its default, so earlier keys stay valid
            data.pop("paste_blend_px")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]


def cpu_has_native_bf16() -> bool:
    """True when the CPU advertises native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16; Linux flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


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
