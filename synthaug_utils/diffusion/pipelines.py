"""Finding (never training) and loading diffusers pipelines, model hashes, running text-to-image and inpainting."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import MissingModelError
from synthaug_utils.core.paths import DEMO_MODEL_KINDS, DEMO_RESOURCE_DIR, cache_dir, shipped_demo_model
from synthaug_utils.diffusion.settings import GenerationSettings

# ----------------------------------------------------------------------------- models
_PIPELINE_CACHE: dict[tuple, Any] = {}

_HASH_CACHE: dict[tuple, str] = {}


def _how_to_supply(model_id: str) -> str:
    return (
        f"model {model_id!r} cannot be loaded offline. Supply it as a local diffusers folder (a directory with "
        f"model_index.json, e.g. made by `huggingface-cli download {model_id} --local-dir DIR` on a machine with "
        f"internet, then pass DIR; for the paper profile set sd_text2image / sd_inpaint in the config file or "
        f"SYNTHAUG_SD_TEXT2IMAGE / SYNTHAUG_SD_INPAINT), or put it in the Hugging Face cache "
        f"(~/.cache/huggingface/hub, or $HF_HOME) beforehand"
    )


def demo_model_root(profile: Profile) -> Path:
    """The cache folder the demo generator is pretrained into for the profile's world:
    ``cache_dir()/models/demo_ldm/<world key>`` (one sub-folder per kind)."""
    return cache_dir() / "models" / "demo_ldm" / profile.world.key()


def locate_demo_model(model_id: str, profile: Profile | None = None, *, missing_ok: bool = False) -> Path:
    """The local folder for a ``demo://`` model id; never trains.

    Shipped weights (``synthaug_utils/resources/demo_ldm/<kind>``) win; otherwise the
    model pretrained for the profile's world in the cache (:func:`demo_model_root`). When that
    copy is missing: its folder with ``missing_ok``, else MissingModelError saying how to pretrain it.
    """
    if model_id not in DEMO_MODEL_KINDS:
        raise MissingModelError(f"unknown demo model id {model_id!r}; known: {sorted(DEMO_MODEL_KINDS)}")
    kind = DEMO_MODEL_KINDS[model_id]
    shipped = shipped_demo_model(model_id)
    if shipped is not None:
        return shipped
    if profile is None:
        raise MissingModelError(
            f"{model_id}: no shipped weights in {DEMO_RESOURCE_DIR / kind}; name the embedded profile whose "
            "pretrained copy to use"
        )
    if not profile.is_embedded:
        raise MissingModelError(
            f"{model_id}: the demo generator belongs to the embedded profiles, not {profile.name!r}"
        )
    root = demo_model_root(profile)
    folder = root / kind
    if missing_ok or (folder / "model_index.json").is_file():
        return folder
    raise MissingModelError(
        f"{model_id}: no shipped weights in {DEMO_RESOURCE_DIR / kind} and no pretrained copy in {folder}; run "
        f"`synthaug pretrain-generator --profile {profile.name} --out {root}`"
    )


def locate_model(model_id: str | Path, profile: Profile | None = None) -> Path:
    """The local folder holding ``model_id``: a ``demo://`` id already there (shipped or pretrained),
    a local folder, or a hub id in the Hugging Face cache. Never trains or downloads
    (:func:`synthaug_utils.diffusion.resolve.model_folder` pretrains a missing demo model).

    Raises MissingModelError naming the model and how to supply it.
    """
    if str(model_id).startswith("demo://"):
        return locate_demo_model(str(model_id), profile)
    path = Path(str(model_id)).expanduser()
    if path.exists():
        if not (path / "model_index.json").is_file():
            raise MissingModelError(
                f"{path} is not a diffusers pipeline folder (no model_index.json); " + _how_to_supply(str(model_id))
            )
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(model_id), local_files_only=True))
    except Exception as exc:  # offline miss, malformed id: the same advice
        raise MissingModelError(_how_to_supply(str(model_id))) from exc


def model_label(model_id: str) -> str:
    """How a model is named on a page: a local folder by its folder name (no build-machine path), else its id."""
    path = Path(str(model_id)).expanduser()
    return path.name if path.is_absolute() or path.exists() else str(model_id)


def model_hash(folder: str | Path) -> str:
    """sha256 (first 16 hex) over a model folder's weight and config files.

    Files over 64 MiB contribute their name, size, first and last MiB (hashing
    gigabytes of Stable Diffusion weights in full would take longer than it is worth).
    """
    folder = Path(folder)
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin", ".json", ".txt")
    )
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(folder.resolve()), stamp)
    if key in _HASH_CACHE:
        return _HASH_CACHE[key]
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(folder)).encode())
        size = p.stat().st_size
        with open(p, "rb") as fh:
            if size <= 64 * 2**20:
                h.update(fh.read())
            else:
                h.update(str(size).encode())
                h.update(fh.read(2**20))
                fh.seek(-(2**20), os.SEEK_END)
                h.update(fh.read(2**20))
    digest = h.hexdigest()[:16]
    _HASH_CACHE[key] = digest
    return digest


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence diffusers'/transformers' loading progress bars and info messages (book output stays clean)."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    bars = (dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled())
    levels = (dlog.get_verbosity(), tlog.get_verbosity())
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    try:
        yield
    finally:
        dlog.set_verbosity(levels[0])
        tlog.set_verbosity(levels[1])
        if bars[0]:
            dlog.enable_progress_bar()
        if bars[1]:
            tlog.enable_progress_bar()


def load_pipeline(model_id: str | Path, kind: str, settings: GenerationSettings, profile: Profile | None = None):
    """A ready pipeline: ``kind`` 'text2image' (StableDiffusionPipeline) or 'inpaint'
    (StableDiffusionInpaintPipeline), DPMSolverMultistep scheduler, no safety checker, offline.

    Pipelines are cached per (folder, kind, precision, device).
    """
    import torch
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionInpaintPipeline, StableDiffusionPipeline

    if kind not in ("text2image", "inpaint"):
        raise ValueError(f"kind={kind!r}: use 'text2image' or 'inpaint'")
    folder = locate_model(model_id, profile)
    key = (str(folder.resolve()), kind, settings.precision, settings.device, model_hash(folder))
    if key in _PIPELINE_CACHE:
        return _PIPELINE_CACHE[key]
    cls = StableDiffusionPipeline if kind == "text2image" else StableDiffusionInpaintPipeline
    dtype = torch.float16 if settings.precision == "fp16" else torch.float32
    try:
        with quiet_loading():
            pipe = cls.from_pretrained(
                str(folder),
                dtype=dtype,
                safety_checker=None,
                feature_extractor=None,
                requires_safety_checker=False,
                local_files_only=True,
                low_cpu_mem_usage=False,
            )
    except (OSError, ValueError) as exc:
        raise MissingModelError(
            f"loading {model_id!r} from {folder} failed ({exc}); " + _how_to_supply(str(model_id))
        ) from exc
    if kind == "inpaint" and pipe.unet.config.in_channels not in (4, 9):
        raise MissingModelError(
            f"{model_id!r}: an inpainting UNet needs 9 (or 4) input channels, has {pipe.unet.config.in_channels}"
        )
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    pipe.to(settings.device)
    if len(_PIPELINE_CACHE) >= 4:
        _PIPELINE_CACHE.pop(next(iter(_PIPELINE_CACHE)))
    _PIPELINE_CACHE[key] = pipe
    return pipe


def _autocast(settings: GenerationSettings):
    import torch

    if settings.precision == "bf16":
        device = "cuda" if str(settings.device).startswith("cuda") else "cpu"
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def seeded_generators(seeds: Sequence[int], device: str) -> list:
    """One torch generator per image, seeded with that image's seed, on ``device``."""
    import torch

    return [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Pipeline output float (N, H, W, 3) in [0, 1] -> uint8, rounded as diffusers' numpy_to_pil does."""
    return (np.clip(images, 0.0, 1.0) * 255).round().astype(np.uint8)


def run_text2image(pipe, prompts: Sequence[str], seeds: Sequence[int], settings: GenerationSettings) -> np.ndarray:
    """Text-to-image for one batch: uint8 (N, res, res, 3); image i depends only on prompts[i] and seeds[i]."""
    import torch

    with torch.inference_mode(), _autocast(settings):
        out = pipe(
            prompt=list(prompts),
            num_inference_steps=settings.steps,
            guidance_scale=settings.guidance_scale,
            height=settings.resolution,
            width=settings.resolution,
            generator=seeded_generators(seeds, settings.device),
            output_type="np",
        ).images
    return to_uint8(np.asarray(out, dtype=np.float32))


def _encode(pipe, pixels, generators):
    """VAE posterior samples (scaled), one generator per image, the batch encoded at once."""
    import torch

    dist = pipe.vae.encode(pixels).latent_dist
    noise = torch.stack(
        [torch.randn(dist.mean.shape[1:], generator=g, device=g.device, dtype=dist.mean.dtype) for g in generators]
    )
    return (dist.mean + dist.std * noise) * pipe.vae.config.scaling_factor


def run_inpaint(
    pipe,
    images: np.ndarray,
    masks: np.ndarray,
    prompts: Sequence[str],
    seeds: Sequence[int],
    strength: float,
    settings: GenerationSettings,
) -> np.ndarray:
    """Inpaint one batch: ``images`` uint8 (N, res, res, 3), ``masks`` bool (N, res, res) or (res, res)
    (True = repaint). Returns uint8 (N, res, res, 3).

    The source and masked-source latents are encoded here in one batch with each image's
    own generator (diffusers would encode image by image when given a generator list),
    then handed to the pipeline, which accepts latents for both.
    """
    import torch

    n = len(images)
    masks = np.broadcast_to(masks, (n,) + images.shape[1:3]) if masks.ndim == 2 else masks
    device = settings.device
    dtype = pipe.unet.dtype
    gens = seeded_generators(seeds, device)
    pixels = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).to(device, dtype) / 127.5 - 1.0
    mask_t = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32))[:, None].to(device, dtype)
    with torch.inference_mode(), _autocast(settings):
        image_latents = _encode(pipe, pixels, gens)
        masked_latents = _encode(pipe, pixels * (mask_t < 0.5), gens)
        out = pipe(
            prompt=list(prompts),
            image=image_latents.float() if dtype == torch.float32 else image_latents,
            mask_image=mask_t,
            masked_image_latents=masked_latents.float() if dtype == torch.float32 else masked_latents,
            strength=strength,
            num_inference_steps=settings.steps,
            guidance_scale=settings.guidance_scale,
            height=settings.resolution,
            width=settings.resolution,
            generator=gens,
            output_type="np",
        ).images
    result = to_uint8(np.asarray(out, dtype=np.float32))
    if settings.paste_unmasked:
        from synthaug_utils.diffusion.masks import blend_weights

        weights = np.stack([blend_weights(m, settings.paste_blend_px) for m in masks])[..., None]
        result = np.round(weights * result + (1.0 - weights) * images).astype(np.uint8)
    return result
