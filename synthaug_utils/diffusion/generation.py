"""Synthetic image generation: text-to-image, inpaint, outpaint, in-then-outpaint; manifests.

One code path serves every model size: diffusers' ``StableDiffusionPipeline`` (text-to-image)
and ``StableDiffusionInpaintPipeline`` (the masked methods) with a DPMSolverMultistep
scheduler, loaded from a Hugging Face id (offline, from the local cache), a local
diffusers folder, or a ``demo://`` id (the embedded demo generator,
:mod:`synthaug_utils.diffusion.demo_generator`). Settings follow ``shared/PROTOCOL.md``
("Generation"); every one is a field of :class:`GenerationSettings`.

Methods (``METHODS``) and their masks (True = pixels the model repaints):

- ``text-to-image``: the class prompt alone; tied to a real image by name only;
- ``inpaint``: the centred square of half the side (px 128-384 at 512), strength 0.97;
- ``outpaint``: the complement of that square minus a thin outer frame (16 px at 512,
  scaled with the resolution) that stays unmasked, strength 0.95;
- ``in-then-outpaint``: inpaint, then outpaint the result; both stages are kept
  (stage ``inpaint`` and stage ``final``). The first stage uses the inpaint method's
  seed, so it is the very image the ``inpaint`` method makes for the same source and
  index (as in the authors' runs, which produced both from one pass).

Every image's seed is derived from (source id, method, variant, index)
(:func:`derive_seed`) and drives a generator of its own, so an image does not depend on
batch size or order. Images are written under a temporary name and renamed; a re-run
skips images already on disk and valid, so an interrupted run resumes. Every run
writes ``manifest.csv`` (columns :data:`MANIFEST_COLUMNS`) atomically; training reads
synthetic images only through :func:`read_manifest`. Sources that are validation or
test images are refused (:func:`synthaug_utils.data.datasets.assert_no_leakage`).

The authors' released synthetic images (WebDataset tar shards) become a manifest with
:func:`manifest_from_webdataset`.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from synthaug_utils.core.config import Profile, cache_dir, load_profile
from synthaug_utils.core.errors import DataError, MissingModelError, UserFacingError

METHODS = ("text-to-image", "inpaint", "outpaint", "in-then-outpaint")
VARIANTS = ("pretrained", "dreambooth")
MANIFEST_COLUMNS = [
    "synthetic_id", "source_id", "label", "fst", "method", "stage", "variant", "index", "seed",
    "model_id", "model_hash", "steps", "guidance_scale", "strength", "resolution", "prompt", "mask", "path",
]
MANIFEST_NAME = "manifest.csv"
PROMPT_TEMPLATE = "An image of {label}, a skin disease"
FST_SUFFIX = ", Fitzpatrick skin type {fst}"
MASK_OF_METHOD = {"text-to-image": "none", "inpaint": "center", "outpaint": "outer", "in-then-outpaint": "outer"}


# ----------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class GenerationSettings:
    """Every generation parameter (PROTOCOL.md defaults). Sizes in px.

    ``precision``: 'fp32'; 'fp16' (weights in float16, the authors' GPU setting);
    'bf16' (bfloat16 autocast around float32 weights: fastest on CPUs with AVX512-BF16).
    ``paste_unmasked``: copy the source pixels back outside the mask after generation
    (off: the authors keep the pipeline's output as it is).
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
    device: str = "cpu"

    def key(self) -> str:
        """Short hash of every setting that changes an image (all but batch size and device;
        precision counts: bf16 and fp32 give slightly different images)."""
        data = asdict(self)
        for name in ("batch_size", "device"):
            data.pop(name)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]


# Profile-level generation defaults beyond the Profile fields (overridable via profile.grids["generation"]).
# paper: the authors' GPU settings. demo/smoke: large CPU batches; bfloat16 autocast where the CPU
# has native bf16 instructions (about 1.5x faster here), else float32 ("auto"); and the source
# pixels pasted back outside the mask: Stable Diffusion's inpainting model reproduces the unmasked
# region closely by itself, the minutes-pretrained demo model does not (it repaints it: mean
# absolute change ~15 grey levels outside the mask), so pasting restores the method's meaning.
PROFILE_GENERATION_DEFAULTS: dict[str, dict[str, Any]] = {
    "paper": {"batch_size": 16, "precision": "fp16"},
    "demo": {"batch_size": 256, "precision": "auto", "paste_unmasked": True},
    "smoke": {"batch_size": 256, "precision": "auto", "paste_unmasked": True},
}


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


def generation_settings(profile: Profile, **changes: Any) -> GenerationSettings:
    """Settings for ``profile``: its gen_steps, guidance_scale, gen_resolution and device, the
    profile-level defaults above, then ``profile.grids['generation']``, then ``changes``."""
    values: dict[str, Any] = dict(
        steps=profile.gen_steps,
        guidance_scale=profile.guidance_scale,
        resolution=profile.gen_resolution,
        device=profile.device,
    )
    values.update(PROFILE_GENERATION_DEFAULTS.get(profile.name, {}))
    values.update(dict(profile.grids.get("generation", {})) if profile.grids else {})
    values.update(changes)
    unknown = sorted(set(values) - set(GenerationSettings.__dataclass_fields__))
    if unknown:
        raise UserFacingError(f"unknown generation setting(s) {unknown}; known: {sorted(GenerationSettings.__dataclass_fields__)}")
    values["precision"] = resolve_precision(str(values.get("precision", "fp32")), str(values["device"]))
    return GenerationSettings(**values)


# ----------------------------------------------------------------------------- masks, prompts, seeds
def center_mask(resolution: int, side_fraction: float = 0.5) -> np.ndarray:
    """Bool (resolution, resolution), True inside the centred square of ``side_fraction`` of the side.

    At 512 px and 0.5: rows/columns 128..383 (the authors' mask, a quarter of the area).
    """
    start = int(round(resolution * (1.0 - side_fraction) / 2.0))
    mask = np.zeros((resolution, resolution), dtype=bool)
    mask[start : resolution - start, start : resolution - start] = True
    return mask


def frame_width(resolution: int, frame_px_at_512: int = 16) -> int:
    """Width (px) of the outpaint mask's unmasked outer frame: 16 px at 512, scaled, at least 1."""
    return max(1, int(round(frame_px_at_512 * resolution / 512))) if frame_px_at_512 > 0 else 0


def outer_mask(resolution: int, side_fraction: float = 0.5, frame_px_at_512: int = 16) -> np.ndarray:
    """Bool (resolution, resolution): the complement of :func:`center_mask` minus the outer frame."""
    mask = ~center_mask(resolution, side_fraction)
    f = frame_width(resolution, frame_px_at_512)
    if f:
        mask[:f, :] = mask[-f:, :] = False
        mask[:, :f] = mask[:, -f:] = False
    return mask


def mask_for(name: str, settings: GenerationSettings) -> np.ndarray | None:
    """The mask named 'center', 'outer' or 'none' (None) at the settings' resolution."""
    if name == "center":
        return center_mask(settings.resolution, settings.mask_side_fraction)
    if name == "outer":
        return outer_mask(settings.resolution, settings.mask_side_fraction, settings.frame_px_at_512)
    if name == "none":
        return None
    raise ValueError(f"unknown mask {name!r}; use 'center', 'outer' or 'none'")


def prompt_for(label: str, fst: int | None = None, template: str = PROMPT_TEMPLATE) -> str:
    """``template`` with ``label``; with ``fst`` the suffix ``, Fitzpatrick skin type {n}``.

    FST -1 reads ``unknown`` (as the authors' code); DDI skin-tone bins 12/34/56 read ``1-2`` etc.
    """
    text = template.format(label=label)
    if fst is None:
        return text
    fst = int(fst)
    if fst in (12, 34, 56):
        name = f"{fst // 10}-{fst % 10}"
    elif 1 <= fst <= 6:
        name = str(fst)
    else:
        name = "unknown"
    return text + FST_SUFFIX.format(fst=name)


def prompt_label(row: Mapping[str, Any]) -> str:
    """The disease name a prompt uses: the ``disease`` column when present (DDI; hyphens read as
    spaces, as in the authors' code), else ``label``."""
    disease = row.get("disease")
    if isinstance(disease, str) and disease.strip():
        return disease.replace("-", " ")
    return str(row["label"])


def derive_seed(source_id: str, method: str, variant: str, index: int) -> int:
    """A 63-bit seed from (source id, method, variant, index); independent of batches and order."""
    text = f"{source_id}\x1f{method}\x1f{variant}\x1f{int(index)}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") & (2**63 - 1)


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (labels, ids)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


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


def model_folder(model_id: str, profile: Profile | None = None) -> Path:
    """The local folder holding ``model_id``: a ``demo://`` id, a local folder, or a hub id in the HF cache.

    Raises MissingModelError naming the model and how to supply it.
    """
    if str(model_id).startswith("demo://"):
        from synthaug_utils.core.config import shipped_demo_model

        shipped = shipped_demo_model(model_id)
        if shipped is not None:  # found without importing the generator (and torch)
            return shipped
        from synthaug_utils.diffusion.demo_generator import resolve_demo_model

        return resolve_demo_model(model_id, profile)
    path = Path(str(model_id)).expanduser()
    if path.exists():
        if not (path / "model_index.json").is_file():
            raise MissingModelError(f"{path} is not a diffusers pipeline folder (no model_index.json); " + _how_to_supply(str(model_id)))
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


def generator_sentence(profile: Profile, demo_meta: Mapping[str, Any]) -> str:
    """One sentence on where the profile's generator comes from: the demo model's pretraining record
    (``demo_meta``: its ``synthaug_demo.json``), or the Stable Diffusion folders of a real profile."""
    if profile.is_embedded:
        return (
            "On the embedded profiles the generator (autoencoder, text encoder with its own tokenizer, conditional "
            "UNets for text-to-image and for inpainting) was pretrained by `synthaug pretrain-generator` on "
            f"{int(demo_meta.get('pretrain_images', 0))} images of the world's pretraining pool in "
            f"{float(demo_meta.get('seconds', 0)) / 60:.1f} minutes; its autoencoder reconstructs images to a mean "
            f"absolute error of {float(demo_meta.get('vae_l1_grey_levels', float('nan'))):.1f} grey levels (of 255)."
        )
    return (
        f"On this profile the generators are Stable Diffusion pipelines loaded offline with diffusers: "
        f"{model_label(profile.text2image_model)} (text-to-image) and {model_label(profile.inpaint_model)} "
        "(inpainting, 9-channel UNet), with the DPM-Solver multistep scheduler and no safety checker."
    )


def model_hash(folder: str | Path) -> str:
    """sha256 (first 16 hex) over a model folder's weight and config files.

    Files over 64 MiB contribute their name, size, first and last MiB (hashing
    gigabytes of Stable Diffusion weights in full would take longer than it is worth).
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin", ".json", ".txt"))
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
    folder = model_folder(str(model_id), profile)
    key = (str(folder.resolve()), kind, settings.precision, settings.device, model_hash(folder))
    if key in _PIPELINE_CACHE:
        return _PIPELINE_CACHE[key]
    cls = StableDiffusionPipeline if kind == "text2image" else StableDiffusionInpaintPipeline
    dtype = torch.float16 if settings.precision == "fp16" else torch.float32
    try:
        with quiet_loading():
            pipe = cls.from_pretrained(
                str(folder), dtype=dtype, safety_checker=None, feature_extractor=None,
                requires_safety_checker=False, local_files_only=True, low_cpu_mem_usage=False,
            )
    except (OSError, ValueError, EnvironmentError) as exc:
        raise MissingModelError(f"loading {model_id!r} from {folder} failed ({exc}); " + _how_to_supply(str(model_id))) from exc
    if kind == "inpaint" and pipe.unet.config.in_channels not in (4, 9):
        raise MissingModelError(f"{model_id!r}: an inpainting UNet needs 9 (or 4) input channels, has {pipe.unet.config.in_channels}")
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    pipe.to(settings.device)
    if len(_PIPELINE_CACHE) >= 4:
        _PIPELINE_CACHE.pop(next(iter(_PIPELINE_CACHE)))
    _PIPELINE_CACHE[key] = pipe
    return pipe


def clear_pipeline_cache() -> None:
    """Forget loaded pipelines (frees memory)."""
    _PIPELINE_CACHE.clear()


def _autocast(settings: GenerationSettings):
    import torch

    if settings.precision == "bf16":
        device = "cuda" if str(settings.device).startswith("cuda") else "cpu"
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _generators(seeds: Sequence[int], device: str) -> list:
    import torch

    return [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]


def _to_uint8(images: np.ndarray) -> np.ndarray:
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
            generator=_generators(seeds, settings.device),
            output_type="np",
        ).images
    return _to_uint8(np.asarray(out, dtype=np.float32))


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
    gens = _generators(seeds, device)
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
    result = _to_uint8(np.asarray(out, dtype=np.float32))
    if settings.paste_unmasked:
        result = np.where(masks[..., None], result, images)
    return result


# ----------------------------------------------------------------------------- files
def _valid_png(path: Path, resolution: int | None) -> bool:
    """True when ``path`` is a readable image (of ``resolution`` px square when given)."""
    try:
        with Image.open(path) as img:
            img.verify()
            size = img.size
    except (FileNotFoundError, UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return resolution is None or size == (resolution, resolution)


def save_png_atomic(array: np.ndarray, path: Path) -> None:
    """Write uint8 (H, W, 3) as PNG: temporary name in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.png")
    Image.fromarray(array).save(tmp, format="PNG")
    os.replace(tmp, path)


def write_csv_atomic(table: pd.DataFrame, path: Path) -> None:
    """Write a CSV via a temporary file and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    table.to_csv(tmp, index=False)
    os.replace(tmp, path)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock on a synthetic-set folder (another process writing it waits)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- manifests
_MANIFEST_DTYPES = {
    "synthetic_id": str, "source_id": str, "label": str, "method": str, "stage": str, "variant": str,
    "model_id": str, "model_hash": str, "prompt": str, "mask": str, "path": str,
}


def read_manifest(path_or_folder: str | Path, splits=None, check_files: bool = False) -> pd.DataFrame:
    """A manifest (``manifest.csv`` or its folder) with :data:`MANIFEST_COLUMNS` and absolute ``path``.

    With ``splits``, refuses (LeakageError) rows whose source is a validation or test image.
    With ``check_files``, raises MissingImagesError if listed images are missing.
    """
    path = Path(path_or_folder)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise DataError(f"no synthetic-image manifest at {path}")
    table = pd.read_csv(path, dtype=_MANIFEST_DTYPES, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{path}: manifest lacks column(s) {missing}")
    table["path"] = [str((path.parent / p).resolve()) if not Path(p).is_absolute() else p for p in table.path]
    for column in ("fst", "index", "seed", "steps", "resolution"):
        table[column] = table[column].astype("int64")
    for column in ("guidance_scale", "strength"):
        table[column] = table[column].astype(float)
    if splits is not None:
        from synthaug_utils.data.datasets import assert_no_leakage

        assert_no_leakage(table.source_id, splits, context=f"synthetic images of {path}")
    if check_files:
        from synthaug_utils.core.errors import MissingImagesError

        absent = [p for p in table.path if not Path(p).is_file()]
        if absent:
            raise MissingImagesError(f"{len(absent)} of {len(table)} images listed in {path} are missing; first: {absent[:5]}")
    return table[MANIFEST_COLUMNS + [c for c in table.columns if c not in MANIFEST_COLUMNS]]


def select_synthetic(manifest: pd.DataFrame, source_ids: Iterable[str], per_real: int, stages: Sequence[str] = ("final", "inpaint")) -> pd.DataFrame:
    """Rows for these sources with index < ``per_real`` and a stage in ``stages`` (a manifest may hold more)."""
    ids = {str(s) for s in source_ids}
    keep = manifest.source_id.isin(ids) & (manifest["index"] < per_real) & manifest.stage.isin(list(stages))
    return manifest[keep].reset_index(drop=True)


def _write_manifest(folder: Path, rows: pd.DataFrame) -> Path:
    """Merge ``rows`` into the folder's manifest (new rows win by synthetic_id) and write it atomically.

    Rows whose image file is gone are dropped, so every listed image exists.
    """
    path = folder / MANIFEST_NAME
    if path.is_file():
        old = pd.read_csv(path, dtype=_MANIFEST_DTYPES, keep_default_na=False)
        rows = pd.concat([old[~old.synthetic_id.isin(set(rows.synthetic_id))], rows], ignore_index=True)
    exists = np.array([(folder / p).is_file() for p in rows.path], dtype=bool)
    rows = rows[exists]
    rows = rows.sort_values(["variant", "method", "label", "source_id", "index", "stage"]).reset_index(drop=True)
    write_csv_atomic(rows[MANIFEST_COLUMNS], path)
    return path


# ----------------------------------------------------------------------------- planning
@dataclass
class _Task:
    """One image to make. ``input_path``: the real source (masked methods) or an upstream synthetic image."""

    path: str  # relative to the output folder
    kind: str  # 'text2image' or 'inpaint'
    model_key: tuple  # (variant, kind, model group)
    prompt: str
    seed: int
    mask: str
    strength: float
    input_path: str | None = None
    upstream: str | None = None  # relative path of the image this task starts from (stage 2)


def _image_path(variant: str, method_dir: str, index: int, source_id: str) -> str:
    return f"images/{variant}/{method_dir}/{index:03d}/{slug(source_id)}.png"


def plan_generation(
    sources: pd.DataFrame,
    methods: Sequence[str],
    variants: Sequence[str],
    per_real: int,
    settings: GenerationSettings,
    model_group: Callable[[Mapping[str, Any]], str] = lambda row: "all",
) -> tuple[list[_Task], pd.DataFrame]:
    """Tasks to run and the manifest rows they produce (model ids and hashes filled in later).

    ``model_group(row)`` names the DreamBooth model a source's images come from
    (its label for per-class models, 'all' for one model on every image).
    """
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise UserFacingError(f"unknown method(s) {bad}; choose from {list(METHODS)}")
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise UserFacingError(f"unknown variant(s) {bad}; choose from {list(VARIANTS)}")
    need = {"image_id", "label", "fst"} | ({"path"} if set(methods) - {"text-to-image"} else set())
    missing = sorted(need - set(sources.columns))
    if missing:
        raise DataError(f"source table lacks column(s) {missing}")
    if sources.image_id.duplicated().any():
        raise DataError(f"source image {sources.image_id[sources.image_id.duplicated()].iloc[0]!r} is listed twice")
    tasks: dict[str, _Task] = {}
    rows: list[dict] = []
    strength = {"inpaint": settings.strength_inpaint, "outpaint": settings.strength_outpaint}
    for record in sources.to_dict("records"):
        source_id = str(record["image_id"])
        fst = int(record["fst"])
        prompt = prompt_for(prompt_label(record), fst if settings.fst_in_prompt else None, settings.prompt_template)
        group = model_group(record)
        for variant in variants:
            for method in methods:
                for index in range(per_real):
                    base = dict(source_id=source_id, label=record["label"], fst=fst, method=method, variant=variant,
                                index=index, steps=settings.steps, guidance_scale=settings.guidance_scale,
                                resolution=settings.resolution, prompt=prompt)
                    if method == "text-to-image":
                        seed = derive_seed(source_id, method, variant, index)
                        path = _image_path(variant, method, index, source_id)
                        tasks[path] = _Task(path, "text2image", (variant, "text2image", group), prompt, seed, "none", 1.0)
                        rows.append({**base, "stage": "final", "seed": seed, "strength": 1.0, "mask": "none", "path": path})
                        continue
                    first = "outpaint" if method == "outpaint" else "inpaint"
                    seed1 = derive_seed(source_id, first, variant, index)
                    path1 = _image_path(variant, first, index, source_id)
                    mask1 = MASK_OF_METHOD[first]
                    tasks[path1] = _Task(path1, "inpaint", (variant, "inpaint", group), prompt, seed1, mask1,
                                         strength[first], input_path=str(record["path"]))
                    stage1 = {**base, "seed": seed1, "strength": strength[first], "mask": mask1, "path": path1}
                    if method != "in-then-outpaint":
                        rows.append({**stage1, "stage": "final"})
                        continue
                    rows.append({**stage1, "stage": "inpaint"})
                    seed2 = derive_seed(source_id, method, variant, index)
                    path2 = _image_path(variant, method, index, source_id)
                    tasks[path2] = _Task(path2, "inpaint", (variant, "inpaint", group), prompt, seed2, "outer",
                                         settings.strength_outpaint, upstream=path1)
                    rows.append({**base, "stage": "final", "seed": seed2, "strength": settings.strength_outpaint,
                                 "mask": "outer", "path": path2})
    table = pd.DataFrame(rows)
    if len(table):
        table["synthetic_id"] = [
            f"{r.variant}/{r.method}/{r.stage}/{r.index:03d}/{r.source_id}" for r in table.itertuples()
        ]
    return list(tasks.values()), table


# ----------------------------------------------------------------------------- running
ModelResolver = Callable[[str, str, str], tuple[str, Path]]
"""(variant, kind, group) -> (model id for the manifest, local pipeline folder)."""


def base_model_id(profile: Profile, kind: str) -> str:
    """The profile's pretrained model id for ``kind`` ('text2image' or 'inpaint')."""
    return profile.text2image_model if kind == "text2image" else profile.inpaint_model


def _load_source(path: str, resolution: int) -> np.ndarray:
    from synthaug_utils.data.datasets import load_image

    try:
        return np.asarray(load_image(path, resolution))
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        from synthaug_utils.core.errors import MissingImagesError

        raise MissingImagesError(f"source image {path} is missing or unreadable ({exc})") from exc


def run_tasks(
    tasks: Sequence[_Task],
    out_dir: Path,
    settings: GenerationSettings,
    resolve: ModelResolver,
    profile: Profile | None = None,
    progress: bool = True,
    stats: dict | None = None,
) -> None:
    """Make every task's image that is not on disk and valid; stage-2 tasks after their inputs.

    ``stats`` (optional dict) receives per-(kind, mask) counts and seconds of generation.
    """
    from tqdm.auto import tqdm

    todo = [t for t in tasks if not _valid_png(out_dir / t.path, settings.resolution)]
    phases = [[t for t in todo if t.upstream is None], [t for t in todo if t.upstream is not None]]
    bar = tqdm(total=len(todo), desc=f"generating into {out_dir.name}", unit="img", disable=not progress, mininterval=2)
    for phase in phases:
        groups: dict[tuple, list[_Task]] = {}
        for t in phase:
            groups.setdefault((t.model_key, t.mask, t.strength), []).append(t)
        for (model_key, mask_name, strength), group in sorted(groups.items(), key=lambda kv: str(kv[0])):
            variant, kind, model_group = model_key
            _, folder = resolve(variant, kind, model_group)
            pipe = load_pipeline(folder, kind, settings, profile)
            mask = mask_for(mask_name, settings)
            for start in range(0, len(group), settings.batch_size):
                batch = group[start : start + settings.batch_size]
                began = time.perf_counter()
                prompts = [t.prompt for t in batch]
                seeds = [t.seed for t in batch]
                if kind == "text2image":
                    images = run_text2image(pipe, prompts, seeds, settings)
                else:
                    inputs = np.stack([
                        _load_source(t.input_path, settings.resolution) if t.upstream is None
                        else _load_source(str(out_dir / t.upstream), settings.resolution)
                        for t in batch
                    ])
                    images = run_inpaint(pipe, inputs, mask, prompts, seeds, strength, settings)
                for t, img in zip(batch, images):
                    save_png_atomic(img, out_dir / t.path)
                if stats is not None:
                    entry = stats.setdefault(f"{kind}:{mask_name}", {"images": 0, "seconds": 0.0})
                    entry["images"] += len(batch)
                    entry["seconds"] += time.perf_counter() - began
                bar.update(len(batch))
    bar.close()


def generate(
    sources: pd.DataFrame,
    out_dir: str | Path,
    methods: Sequence[str] = METHODS,
    variants: Sequence[str] = ("pretrained",),
    per_real: int = 10,
    settings: GenerationSettings | None = None,
    profile: Profile | None = None,
    splits=None,
    resolve: ModelResolver | None = None,
    model_group: Callable[[Mapping[str, Any]], str] = lambda row: "all",
    progress: bool = True,
    stats: dict | None = None,
) -> Path:
    """Generate ``per_real`` images per source for each method and variant into ``out_dir``; returns the manifest path.

    ``sources``: table with image_id, label, fst (and path for the masked methods;
    optional ``disease`` names the prompt). With ``splits``, validation/test sources are
    refused (LeakageError). ``resolve`` maps (variant, kind, group) to a model (default:
    the profile's pretrained models for every variant). Resumable and idempotent.
    """
    out_dir = Path(out_dir)
    if profile is None and settings is None:
        raise UserFacingError("generate needs a profile or explicit settings")
    settings = settings or generation_settings(profile)
    if splits is not None:
        from synthaug_utils.data.datasets import assert_no_leakage

        assert_no_leakage(sources.image_id.astype(str), splits, context=f"generation into {out_dir}")
    if resolve is None:
        if profile is None:
            raise UserFacingError("generate needs a profile or a model resolver")

        def resolve(variant: str, kind: str, group: str) -> tuple[str, Path]:
            model_id = base_model_id(profile, kind)
            return model_id, model_folder(model_id, profile)

    resolved: dict[tuple[str, str, str], tuple[str, Path]] = {}
    base_resolve = resolve

    def resolve(variant: str, kind: str, group: str) -> tuple[str, Path]:  # noqa: F811 - memoised
        if (variant, kind, group) not in resolved:
            resolved[variant, kind, group] = base_resolve(variant, kind, group)
        return resolved[variant, kind, group]

    tasks, rows = plan_generation(sources, methods, variants, per_real, settings, model_group)
    with folder_lock(out_dir):
        run_tasks(tasks, out_dir, settings, resolve, profile, progress, stats)
        if len(rows):
            kind_of = {"text-to-image": "text2image"}
            groups = [model_group(r) for r in sources.to_dict("records")]
            group_of = dict(zip(sources.image_id.astype(str), groups))
            ids, hashes, hash_of = [], [], {}
            for r in rows.itertuples():
                model_id, folder = resolve(r.variant, kind_of.get(r.method, "inpaint"), group_of[r.source_id])
                if folder not in hash_of:  # one hash per model folder, not per image
                    hash_of[folder] = model_hash(folder)
                ids.append(model_id)
                hashes.append(hash_of[folder])
            rows = rows.assign(model_id=ids, model_hash=hashes)
        else:
            rows = pd.DataFrame(columns=MANIFEST_COLUMNS)
        (out_dir / "settings.json").write_text(json.dumps(asdict(settings), indent=2))
        return _write_manifest(out_dir, rows)


# ----------------------------------------------------------------------------- experiment entry point
def _which(profile: Profile, splits, sources: pd.DataFrame) -> str:
    """'ddi' or 'main': from the splits' dataset name, else from the source labels."""
    if splits is not None:
        return "ddi" if splits.dataset in (profile.ddi_dataset, "ddi", "demo-ddi") else "main"
    return "ddi" if set(sources.label) <= {"benign", "malignant"} else "main"


def synthetic_set_dir(profile: Profile, method: str, variant: str, dataset: str, split_seed: int, settings: GenerationSettings) -> Path:
    """Default folder of a synthetic set:
    ``cache_dir()/synthetic/<world key or 'paper'>/<dataset>-split<seed>/<method>-<variant>-<settings key>``."""
    world = profile.world.key() if profile.world is not None else "paper"
    models = hashlib.sha256(f"{profile.text2image_model}|{profile.inpaint_model}".encode()).hexdigest()[:4]
    return cache_dir() / "synthetic" / world / f"{dataset}-split{split_seed}" / f"{method}-{variant}-{settings.key()}{models}"


def ensure_synthetic_set(
    profile: Profile | str,
    method: str,
    variant: str,
    sources: pd.DataFrame,
    per_real: int,
    out_dir: str | Path | None = None,
    splits=None,
    *,
    which: str | None = None,
    progress: bool = True,
) -> Path:
    """A folder whose ``manifest.csv`` lists at least ``per_real`` images of ``method``/``variant``
    for every source (generating only what is missing; idempotent, resumable).

    The manifest may list more (other sources or higher indices made by earlier calls):
    select rows with :func:`select_synthetic`. ``splits`` (loaded for split seed 0 when
    None) drives the leakage guard and, for the ``dreambooth`` variant, the training
    pool the per-class models are fine-tuned on (one model on every image for DDI).
    """
    profile = load_profile(profile) if isinstance(profile, str) else profile
    if method not in METHODS:
        raise UserFacingError(f"unknown method {method!r}; choose from {list(METHODS)}")
    if variant not in VARIANTS:
        raise UserFacingError(f"unknown variant {variant!r}; choose from {list(VARIANTS)}")
    which = which or _which(profile, splits, sources)
    if splits is None:
        from synthaug_utils.data.datasets import load_splits

        splits = load_splits(profile, which)
    settings = generation_settings(profile)
    folder = Path(out_dir) if out_dir is not None else synthetic_set_dir(profile, method, variant, splits.dataset, splits.split_seed, settings)
    resolve, group = model_resolver(profile, splits, which, progress)
    generate(sources, folder, [method], [variant], per_real, settings, profile, splits, resolve, group, progress)
    return folder


def model_resolver(profile: Profile, splits, which: str, progress: bool = True) -> tuple[ModelResolver, Callable[[Mapping[str, Any]], str]]:
    """The (resolver, model_group) pair for a profile: pretrained -> the profile's models;
    dreambooth -> per-class fine-tuned models (one 'all' model for DDI), trained on demand."""
    per_class = which != "ddi"

    def group(row: Mapping[str, Any]) -> str:
        return str(row["label"]) if per_class else "all"

    def resolve(variant: str, kind: str, grp: str) -> tuple[str, Path]:
        base = base_model_id(profile, kind)
        if variant == "pretrained":
            return base, model_folder(base, profile)
        from synthaug_utils.diffusion.dreambooth import ensure_dreambooth_model

        folder = ensure_dreambooth_model(profile, kind, grp, splits, progress=progress)
        return f"{base}+dreambooth:{splits.dataset}/{slug(grp)}", folder

    return resolve, group


# ----------------------------------------------------------------------------- quality and cost
def mask_mad(sources: np.ndarray, outputs: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Mean absolute difference (grey levels, 0-255) between outputs and their sources inside and
    outside ``mask``. ``sources``/``outputs``: uint8 (N, H, W, 3); ``mask``: bool (H, W)."""
    diff = np.abs(outputs.astype(np.float64) - sources.astype(np.float64))
    return float(diff[:, mask].mean()), float(diff[:, ~mask].mean())


MASKED_METHODS = (("inpaint", "center"), ("outpaint", "outer"))  # (method, mask it repaints)


def mask_fidelity(manifests: Mapping[tuple[str, str], pd.DataFrame], source_paths: Mapping[str, str], settings: GenerationSettings) -> pd.DataFrame:
    """Mean absolute change (grey levels, 0-255) inside and outside the mask of each masked method's
    final images against their sources. ``manifests``: (method, variant) -> manifest rows;
    ``source_paths``: source image id -> path. One row per (method, variant, region)."""
    from synthaug_utils.data.datasets import load_image

    def load(path):
        return np.asarray(load_image(path, settings.resolution))

    rows = []
    for (method, variant), manifest in manifests.items():
        mask_name = dict(MASKED_METHODS).get(method)
        final = manifest[manifest.stage == "final"]
        if mask_name is None or final.empty:
            continue
        sources = np.stack([load(source_paths[s]) for s in final.source_id])
        outputs = np.stack([load(p) for p in final.path])
        inside, outside = mask_mad(sources, outputs, mask_for(mask_name, settings))
        rows += [{"method": method, "variant": variant, "region": "inside mask", "mad": inside},
                 {"method": method, "variant": variant, "region": "outside mask", "mad": outside}]
    return pd.DataFrame(rows, columns=["method", "variant", "region", "mad"])


def raw_mask_fidelity(profile: Profile, sources: pd.DataFrame, settings: GenerationSettings, variant_name: str = "pretrained, raw output") -> pd.DataFrame:
    """:func:`mask_fidelity` of the pretrained inpainting model's own output, before any pasting of
    the source pixels outside the mask (``paste_unmasked`` off), for ``sources`` (rows with path,
    image_id, label). Images are generated in memory with the manifest seeds, not stored."""
    import dataclasses

    from synthaug_utils.data.datasets import load_image

    raw = dataclasses.replace(settings, paste_unmasked=False)
    pipe = load_pipeline(profile.inpaint_model, "inpaint", raw, profile)
    images = np.stack([np.asarray(load_image(p, raw.resolution)) for p in sources.path])
    prompts = [prompt_for(prompt_label(r)) for r in sources.to_dict("records")]
    strength = {"inpaint": raw.strength_inpaint, "outpaint": raw.strength_outpaint}
    rows = []
    for method, mask_name in MASKED_METHODS:
        mask = mask_for(mask_name, raw)
        seeds = [derive_seed(i, method, "pretrained", 0) for i in sources.image_id]
        out = np.concatenate([
            run_inpaint(pipe, images[i : i + raw.batch_size], mask, prompts[i : i + raw.batch_size], seeds[i : i + raw.batch_size], strength[method], raw)
            for i in range(0, len(images), raw.batch_size)
        ])
        inside, outside = mask_mad(images, out, mask)
        rows += [{"method": method, "variant": variant_name, "region": "inside mask", "mad": inside},
                 {"method": method, "variant": variant_name, "region": "outside mask", "mad": outside}]
    return pd.DataFrame(rows, columns=["method", "variant", "region", "mad"])


def sample_text2image(profile: Profile, labels: Sequence[str], per_label: int, settings: GenerationSettings) -> tuple[np.ndarray, np.ndarray]:
    """In-memory text-to-image samples of the profile's pretrained model (nothing written):
    ``per_label`` per label with seeds derived from ("sample-{label}-{i}", method, "pretrained", i).
    Returns (uint8 images (N, res, res, 3), labels (N,)), N = len(labels) * per_label."""
    pipe = load_pipeline(profile.text2image_model, "text2image", settings, profile)
    names = np.repeat(np.asarray(list(labels), dtype=object), per_label)
    index = np.tile(np.arange(per_label), len(labels))
    seeds = [derive_seed(f"sample-{k}-{i}", "text-to-image", "pretrained", int(i)) for k, i in zip(names, index)]
    prompts = [prompt_for(k) for k in names]
    step = settings.batch_size
    images = np.concatenate([run_text2image(pipe, prompts[i : i + step], seeds[i : i + step], settings) for i in range(0, len(prompts), step)])
    return images, names.astype(str)


def vae_roundtrip(pipe, images: np.ndarray, batch_size: int = 256, cache_key: str | None = None) -> np.ndarray:
    """Images passed through a pipeline's autoencoder (encode to the posterior mean, decode):
    uint8 (N, H, W, 3) -> uint8 (N, H, W, 3). Shows what the latent space can represent.

    With ``cache_key`` (text naming the model and its weights, e.g. ``model_hash`` of its
    folder) the result is cached under ``<cache>/vae_roundtrip``, keyed by the images' bytes,
    the key and the autoencoder's dtype, so a rebuilt chapter does not decode again.
    """
    import torch

    from synthaug_utils.core.files import array_cache_path, atomic_save_npy

    images = np.asarray(images)
    path = None
    if cache_key is not None:
        path = array_cache_path("vae_roundtrip", [images], f"{cache_key}|{pipe.vae.dtype}", "roundtrip", "npy")
        if path.is_file():
            return np.load(path)
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch_size])).permute(0, 3, 1, 2)
            x = x.to(pipe.vae.device, pipe.vae.dtype) / 127.5 - 1.0
            y = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mean).sample.float().clamp(-1, 1)
            out.append(((y + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy())
    result = np.concatenate(out) if out else images.copy()
    if path is not None:
        atomic_save_npy(path, result)
    return result


def measure_throughput(
    profile: Profile,
    methods: Sequence[str] = METHODS,
    n_images: int = 128,
    settings: GenerationSettings | None = None,
    sources: np.ndarray | None = None,
) -> pd.DataFrame:
    """Images per second of each method with the profile's pretrained models (nothing is saved).

    One warm-up batch, then ``n_images`` timed; in-then-outpaint counts its two passes as one
    image. ``sources``: uint8 (N, res, res, 3) inputs for the masked methods (default: noise).
    Returns columns method, images, seconds, images_per_s, steps, precision, threads.
    """
    import torch

    settings = settings or generation_settings(profile)
    res = settings.resolution
    batch = min(settings.batch_size, n_images)
    if sources is None:
        sources = np.random.default_rng(0).integers(0, 256, size=(batch, res, res, 3), dtype=np.uint8)
    sources = np.resize(sources, (batch,) + sources.shape[1:])
    prompts = [prompt_for("psoriasis")] * batch
    t2i = inp = None
    rows = []
    for method in methods:
        if method == "text-to-image":
            t2i = t2i or load_pipeline(base_model_id(profile, "text2image"), "text2image", settings, profile)
            fn = lambda seeds: run_text2image(t2i, prompts, seeds, settings)  # noqa: E731
        else:
            inp = inp or load_pipeline(base_model_id(profile, "inpaint"), "inpaint", settings, profile)
            centre, outer = mask_for("center", settings), mask_for("outer", settings)

            def fn(seeds, method=method):
                if method == "inpaint":
                    return run_inpaint(inp, sources, centre, prompts, seeds, settings.strength_inpaint, settings)
                if method == "outpaint":
                    return run_inpaint(inp, sources, outer, prompts, seeds, settings.strength_outpaint, settings)
                first = run_inpaint(inp, sources, centre, prompts, seeds, settings.strength_inpaint, settings)
                return run_inpaint(inp, first, outer, prompts, seeds, settings.strength_outpaint, settings)

        fn(list(range(batch)))
        began = time.perf_counter()
        done = 0
        while done < n_images:
            fn(list(range(done, done + batch)))
            done += batch
        seconds = time.perf_counter() - began
        rows.append(dict(method=method, images=done, seconds=seconds, images_per_s=done / seconds, steps=settings.steps,
                         precision=settings.precision, threads=torch.get_num_threads()))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- released WebDataset shards
_RELEASED_SUBMETHOD = {"text-to-image": "text-to-image", "inpaint": "inpaint", "inpaint-outpaint": "in-then-outpaint"}


def _iter_shards(shards: Sequence[str | Path]) -> Iterator[dict]:
    """Samples ``{'__key__', 'png', 'json'}`` of WebDataset tar shards, in shard order."""
    import webdataset as wds

    urls = [str(s) for s in shards]
    dataset = wds.WebDataset(urls, shardshuffle=False, empty_check=False)
    yield from dataset


def _expand_shards(shards: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(shards, (str, Path)):
        p = Path(shards)
        found = sorted(p.glob("*.tar")) if p.is_dir() else sorted(Path(p.parent).glob(p.name)) if any(c in p.name for c in "*?[") else [p]
    else:
        found = [Path(s) for s in shards]
    missing = [str(p) for p in found if not p.is_file()]
    if not found or missing:
        raise DataError(f"no WebDataset shards found at {shards}" + (f"; missing: {missing[:3]}" if missing else ""))
    return found


def manifest_from_webdataset(
    shards: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    methods: Sequence[str] = ("text-to-image", "inpaint", "in-then-outpaint"),
    variants: Sequence[str] = VARIANTS,
    sources: pd.DataFrame | None = None,
    splits=None,
    progress: bool = True,
) -> Path:
    """Unpack the authors' released synthetic images into ``out_dir`` and write its manifest.

    Shard samples hold ``png`` and ``json`` (name, md5hash, label, method, submethod,
    generation_num, tag); keys read ``{label}_{method}_{submethod}_{tag}_{gen}_{md5}``.
    ``method`` 'finetune_*' -> variant dreambooth, 'pretrained_*' -> pretrained; submethod
    'text-to-image', 'inpaint' and 'inpaint-outpaint' (-> in-then-outpaint; its
    inpaint-stage rows come from the 'inpaint' images of the same run). ``index`` ranks
    a source's images by (tag, generation_num). With ``sources``, md5hash (or file stem)
    maps to image_id, label and fst; images of other sources are skipped. With
    ``splits``, validation/test sources are refused. Seeds are unknown (-1).
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    files = _expand_shards(shards)
    lookup: dict[str, Mapping[str, Any]] = {}
    if sources is not None:
        for rec in sources.to_dict("records"):
            lookup[str(rec["image_id"])] = rec
            lookup.setdefault(Path(str(rec["image_id"])).stem, rec)
    wanted_sub = {"text-to-image"} if "text-to-image" in methods else set()
    if "inpaint" in methods or "in-then-outpaint" in methods:
        wanted_sub.add("inpaint")
    if "in-then-outpaint" in methods:
        wanted_sub.add("inpaint-outpaint")
    records = []
    with folder_lock(out_dir):
        for sample in tqdm(_iter_shards(files), desc="reading released shards", unit="img", disable=not progress, mininterval=2):
            try:
                meta = json.loads(sample["json"])
            except (KeyError, json.JSONDecodeError) as exc:
                raise DataError(f"shard sample {sample.get('__key__')!r} has no readable json ({exc})") from exc
            absent = [k for k in ("md5hash", "label", "method", "submethod", "generation_num") if k not in meta]
            if absent or "png" not in sample:
                raise DataError(f"shard sample {sample.get('__key__')!r} lacks {absent or ['png']}")
            sub = meta["submethod"]
            if sub not in _RELEASED_SUBMETHOD:
                raise DataError(f"shard sample {sample['__key__']!r}: unknown submethod {sub!r}")
            variant = "dreambooth" if str(meta["method"]).startswith("finetune") else "pretrained"
            if sub not in wanted_sub or variant not in variants:
                continue
            md5 = str(meta["md5hash"])
            source = lookup.get(md5)
            if sources is not None and source is None:
                continue
            method = _RELEASED_SUBMETHOD[sub]
            rel = f"images/{variant}/{method}/{slug(meta.get('tag', 'x'))}-{slug(meta['generation_num'])}/{slug(md5)}.png"
            target = out_dir / rel
            if not _valid_png(target, None):
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.stem}.tmp-{os.getpid()}.png")
                tmp.write_bytes(sample["png"])
                os.replace(tmp, target)
            with Image.open(target) as img:
                resolution = img.size[0]
            label = str(source["label"]) if source is not None else str(meta["label"]).replace("-", " ")
            records.append(dict(
                key=sample["__key__"], source_id=str(source["image_id"]) if source is not None else md5, label=label,
                fst=int(source["fst"]) if source is not None else -1, method=method, variant=variant,
                order=(str(meta.get("tag", "")), str(meta["generation_num"])), resolution=resolution,
                model_id=f"released:manrai/synthetic-derm/{meta['method']}", path=rel,
            ))
        table = pd.DataFrame(records)
        if not len(table):
            raise DataError(f"no released images matched methods {list(methods)} / variants {list(variants)} in {len(files)} shard(s)")
        if splits is not None:
            from synthaug_utils.data.datasets import assert_no_leakage

            assert_no_leakage(table.source_id, splits, context=f"released synthetic images from {files[0].parent}")
        table = table.sort_values(["variant", "method", "source_id", "order"]).reset_index(drop=True)
        table["index"] = table.groupby(["variant", "method", "source_id"]).cumcount()
        rows = []
        strength = {"text-to-image": 1.0, "inpaint": 0.97, "in-then-outpaint": 0.95}
        mask = {"text-to-image": "none", "inpaint": "center", "in-then-outpaint": "outer"}
        for r in table.itertuples():
            base = dict(source_id=r.source_id, label=r.label, fst=r.fst, variant=r.variant, index=int(r.index), seed=-1,
                        model_id=r.model_id, model_hash="", steps=50, guidance_scale=3.0, resolution=r.resolution,
                        prompt=prompt_for(r.label), path=r.path)
            targets = []
            if r.method != "inpaint" or "inpaint" in methods:
                targets.append((r.method, "final"))
            if r.method == "inpaint" and "in-then-outpaint" in methods:
                targets.append(("in-then-outpaint", "inpaint"))
            for method, stage in targets:
                m = "inpaint" if stage == "inpaint" else method
                rows.append({**base, "method": method, "stage": stage, "strength": strength[m], "mask": mask[m],
                             "synthetic_id": f"released/{r.variant}/{method}/{stage}/{int(r.index):03d}/{r.source_id}"})
        return _write_manifest(out_dir, pd.DataFrame(rows))


# ----------------------------------------------------------------------------- CLI
def _common_args(p) -> None:
    p.add_argument("--profile", default="demo", help="demo, smoke or paper (default demo)")
    p.add_argument("--config", default=None, help="YAML config file (paper-profile locations, overrides)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--which", default="main", choices=["main", "ddi"], help="dataset: main (F17k-9 / demo-derm9) or ddi")
    p.add_argument("--split-seed", type=int, default=0, help="split seed of the validation draw (default 0)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


def _set_threads(args) -> None:
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(int(args.threads))


def _cmd_generate(args) -> int:
    from synthaug_utils.data.datasets import load_splits, training_subset

    _set_threads(args)
    profile = load_profile(args.profile, config=args.config)
    splits = load_splits(profile, args.which, args.split_seed)
    sources = training_subset(splits, args.n_per_label, seed=0) if args.n_per_label else splits.train_pool
    if args.labels:
        unknown = sorted(set(args.labels) - set(splits.labels))
        if unknown:
            raise UserFacingError(f"unknown label(s) {unknown}; labels: {splits.labels}")
        sources = sources[sources.label.isin(args.labels)]
    per_real = args.per_image if args.per_image is not None else profile.synthetic_per_real
    resolve, group = model_resolver(profile, splits, args.which)
    stats: dict = {}
    began = time.perf_counter()
    path = generate(sources, args.out, args.methods, args.variants, per_real, generation_settings(profile), profile,
                    splits, resolve, group, progress=True, stats=stats)
    rows = len(read_manifest(path))
    made = sum(v["images"] for v in stats.values())
    print(f"{path}: {rows} rows; {made} images made in {time.perf_counter() - began:.1f} s")
    for key, v in sorted(stats.items()):
        print(f"  {key}: {v['images']} images, {v['images'] / max(v['seconds'], 1e-9):.1f} img/s")
    return 0


def _cmd_dreambooth(args) -> int:
    from synthaug_utils.data.datasets import load_splits
    from synthaug_utils.diffusion.dreambooth import finetune_for_profile

    _set_threads(args)
    profile = load_profile(args.profile, config=args.config)
    splits = load_splits(profile, args.which, args.split_seed)
    groups = ["all"] if args.which == "ddi" else (args.classes or list(splits.labels))
    unknown = sorted(set(groups) - set(splits.labels) - {"all"})
    if unknown:
        raise UserFacingError(f"unknown class(es) {unknown}; labels: {splits.labels}")
    for kind in args.kinds:
        for grp in groups:
            out = Path(args.out) / kind / slug(grp)
            path = finetune_for_profile(profile, kind, grp, splits, out)
            print(f"{kind} / {grp}: {path}")
    return 0


def _cmd_pretrain(args) -> int:
    from synthaug_utils.diffusion.demo_generator import cmd_pretrain

    return cmd_pretrain(args)


def register_cli(subparsers) -> None:
    """Register ``generate``, ``dreambooth`` and ``pretrain-generator``."""
    p = subparsers.add_parser("generate", help="generate synthetic images (+ manifest.csv) for the training pool")
    _common_args(p)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--per-image", type=int, default=None, help="images per real image (default: profile.synthetic_per_real)")
    p.add_argument("--n-per-label", type=int, default=None, help="use n training images per label (default: the whole pool)")
    p.add_argument("--labels", nargs="+", default=None, help="only these labels")
    p.set_defaults(func=_cmd_generate)

    p = subparsers.add_parser("dreambooth", help="DreamBooth-fine-tune one model per class (one for all DDI images)")
    _common_args(p)
    p.add_argument("--classes", nargs="+", default=None, help="labels to fine-tune (default: all)")
    p.add_argument("--kinds", nargs="+", default=["text2image", "inpaint"], choices=["text2image", "inpaint"])
    p.set_defaults(func=_cmd_dreambooth)

    p = subparsers.add_parser("pretrain-generator", help="pretrain the embedded demo latent diffusion model")
    p.add_argument("--profile", default="demo", help="demo or smoke")
    p.add_argument("--config", default=None)
    p.add_argument("--out", default=None, help="output folder (default: the cache); "
                   "synthaug_utils/resources/demo_ldm to refresh the shipped weights")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.set_defaults(func=_cmd_pretrain)
