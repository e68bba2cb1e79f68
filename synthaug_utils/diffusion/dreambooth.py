"""DreamBooth fine-tuning of a Stable-Diffusion-architecture model on one class's training images.

The same code fine-tunes Stable Diffusion (paper profile) and the embedded demo
generator (demo / smoke). One model per class, or one model on every image (``'all'``,
the DDI experiment); a ``text2image`` variant (StableDiffusionPipeline) and an
``inpaint`` variant (StableDiffusionInpaintPipeline, 9-channel UNet) trained with
random rectangle or ellipse masks. Only the UNet trains, without prior preservation (optional
here) or text-encoder training. Each image is prompted with its own label (its ``disease`` for
DDI, as in the authors' code). The settings (:class:`DreamBoothSettings`) default to the paper's values
and each profile's changes come from the settings source (:mod:`synthaug_utils.core.profiles`; the
measurements behind the demo's on the book's decisions page).

Training images come from the training pool only: :func:`finetune` refuses validation
and test images (LeakageError). The result is a diffusers pipeline folder that
:func:`synthaug_utils.diffusion.pipelines.load_pipeline` loads: the fine-tuned ``unet/`` plus the
base model's other components (linked when possible, else copied).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.core import profiles
from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import DataError, UserFacingError
from synthaug_utils.core.files import atomic_folder, atomic_save_npy
from synthaug_utils.core.identity import settings_key
from synthaug_utils.core.paths import cache_dir
from synthaug_utils.core.vocabulary import KINDS
from synthaug_utils.diffusion.pipelines import locate_model, model_hash, quiet_loading
from synthaug_utils.diffusion.prompts import prompt_for, prompt_label, slug
from synthaug_utils.diffusion.settings import base_model_id

Locate = Callable[[str, Profile | None], Path]
"""(model id, profile) -> local pipeline folder; :func:`locate_model` by default, which never trains."""


_PAPER = {name: setting.value for name, setting in profiles.PAPER["dreambooth"].items()}


@dataclass(frozen=True)
class DreamBoothSettings:
    """Fine-tuning parameters (defaults: the paper profile's, :mod:`synthaug_utils.core.profiles`, but
    ``include_validation`` off). ``resolution`` in px; ``epochs`` over the class's images."""

    resolution: int = _PAPER["resolution"]
    batch_size: int = _PAPER["batch_size"]
    learning_rate: float = _PAPER["learning_rate"]
    epochs: int = _PAPER["epochs"]
    max_steps: int | None = _PAPER["max_steps"]  # caps the number of optimiser steps when set
    weight_decay: float = _PAPER["weight_decay"]
    max_grad_norm: float = _PAPER["max_grad_norm"]
    adam_beta1: float = _PAPER["adam_beta1"]
    adam_beta2: float = _PAPER["adam_beta2"]
    adam_epsilon: float = _PAPER["adam_epsilon"]
    prior_preservation: bool = _PAPER["prior_preservation"]
    prior_loss_weight: float = _PAPER["prior_loss_weight"]
    num_class_images: int = _PAPER["num_class_images"]
    class_prompt: str = _PAPER["class_prompt"]
    train_text_encoder: bool = _PAPER["train_text_encoder"]
    crop_scale: tuple[float, float] = _PAPER["crop_scale"]
    crop_ratio: tuple[float, float] = _PAPER["crop_ratio"]
    color_jitter: float = _PAPER["color_jitter"]
    hflip: bool = _PAPER["hflip"]
    fst_in_prompt: bool = _PAPER["fst_in_prompt"]
    mixed_precision: str = _PAPER["mixed_precision"]  # 'no', 'fp16' or 'bf16' (autocast; GPU)
    save_dtype: str = _PAPER["save_dtype"]
    seed: int = _PAPER["seed"]
    device: str = "cpu"
    # True: the class's whole clean training file, validation images included (the authors' code and the
    # paper profile); False: the training pool of the split only (the stricter default).
    include_validation: bool = profiles.demo("dreambooth", "include_validation")
    # True: a set smaller than one batch is cycled so that every optimiser step sees ``batch_size``
    # images (the step-matched budget control: as many steps of the same size as the whole-pool model).
    fill_batches: bool = _PAPER["fill_batches"]
    # What :func:`step_matched` sets ``fill_batches`` to. It changes no weights by itself (the
    # step-matched settings carry ``fill_batches``), so it is not part of the key.
    fill_matched_batches: bool = _PAPER["fill_matched_batches"]

    def key(self) -> str:
        """Short hash of every setting that changes the weights (not the device or ``fill_matched_batches``)."""
        data = asdict(self)
        data.pop("device")
        data.pop("fill_matched_batches")
        return settings_key(data, 8)


def optimiser_steps(settings: DreamBoothSettings, images: int) -> int:
    """Optimiser steps of a fine-tuning on ``images`` images: ``epochs`` x batches per epoch (one full
    batch when ``fill_batches`` and fewer images than a batch), capped by ``max_steps``."""
    per_epoch = math.ceil(max(images, settings.batch_size if settings.fill_batches else 1) / settings.batch_size)
    total = per_epoch * settings.epochs
    return min(total, settings.max_steps) if settings.max_steps is not None else total


def step_matched(settings: DreamBoothSettings, images: int, steps: int) -> DreamBoothSettings:
    """``settings`` for a fine-tuning on ``images`` images that takes exactly ``steps`` optimiser steps
    (the whole-pool model's): epochs raised to reach the steps, ``max_steps`` = ``steps``, and with
    ``fill_matched_batches`` a set smaller than one batch cycled so that every step holds
    ``batch_size`` images (``fill_batches``; else such a step holds the ``images``). Learning rate,
    batch size and everything else stay."""
    if steps < 1 or images < 1:
        raise UserFacingError(f"a step-matched fine-tuning needs steps >= 1 and images >= 1 (got {steps}, {images})")
    fill = settings.fill_matched_batches
    matched = dataclasses.replace(settings, fill_batches=fill, max_steps=int(steps))
    per_epoch = math.ceil(max(images, settings.batch_size if fill else 1) / settings.batch_size)
    return dataclasses.replace(matched, epochs=math.ceil(steps / per_epoch))


def dreambooth_settings(profile: Profile, ddi: bool = False, **changes: Any) -> DreamBoothSettings:
    """Settings for ``profile`` (and the DDI model when ``ddi``), then ``profile.grids['dreambooth']``, then
    ``changes``."""
    # fine-tune at the sampling size
    values: dict[str, Any] = {
        "device": profile.device,
        "resolution": profile.gen_resolution,
    }
    values.update(dict(profile.dreambooth_defaults))
    if ddi:
        values["epochs"] = int(profile.dreambooth_ddi_epochs)
    values.update(dict(profile.grids.get("dreambooth", {})) if profile.grids else {})
    values.update(changes)
    unknown = sorted(set(values) - set(DreamBoothSettings.__dataclass_fields__))
    if unknown:
        raise UserFacingError(
            f"unknown DreamBooth setting(s) {unknown}; known: {sorted(DreamBoothSettings.__dataclass_fields__)}"
        )
    for name in ("crop_scale", "crop_ratio"):
        if name in values:
            values[name] = tuple(float(v) for v in values[name])
    return DreamBoothSettings(**values)


# ----------------------------------------------------------------------------- data
def training_images(splits, group: str, include_validation: bool = False) -> pd.DataFrame:
    """The rows a model for ``group`` (a label, or 'all') is fine-tuned on: the split's training pool,
    with its validation images too when ``include_validation`` (the authors' whole clean training file;
    never test images)."""
    pool = pd.concat([splits.train_pool, splits.val], ignore_index=True) if include_validation else splits.train_pool
    table = pool if group == "all" else pool[pool.label == group]
    if not len(table):
        raise DataError(f"no training images for {group!r} in {splits.dataset} (labels: {splits.labels})")
    return table.reset_index(drop=True)


def training_augmenter(settings: DreamBoothSettings):
    """torchvision v2 transform on uint8 (3, H, W) tensors: random resized crop, colour jitter, flip."""
    from torchvision.transforms import v2

    steps = [
        v2.RandomResizedCrop(settings.resolution, scale=settings.crop_scale, ratio=settings.crop_ratio, antialias=True),
    ]
    if settings.color_jitter > 0:
        j = settings.color_jitter
        steps.append(v2.ColorJitter(j, j, j, j))
    if settings.hflip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def _load_components(folder: Path, settings: DreamBoothSettings):
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    kw = dict(local_files_only=True)
    model_kw = dict(kw, low_cpu_mem_usage=False)
    with quiet_loading():
        vae = AutoencoderKL.from_pretrained(str(folder), subfolder="vae", **model_kw)
        unet = UNet2DConditionModel.from_pretrained(str(folder), subfolder="unet", **model_kw)
        text_encoder = CLIPTextModel.from_pretrained(str(folder), subfolder="text_encoder", **kw)
        tokenizer = CLIPTokenizer.from_pretrained(str(folder), subfolder="tokenizer", **kw)
        config = DDPMScheduler.load_config(str(folder), subfolder="scheduler", **kw)
        for module in (vae, unet, text_encoder):
            module.to(settings.device, dtype=__import__("torch").float32)
    noise_scheduler = DDPMScheduler.from_config(config)
    return vae, unet, text_encoder, tokenizer, noise_scheduler


def encode_prompts(tokenizer, text_encoder, prompts: list[str]):
    """The text encoder's hidden states of ``prompts`` (padded to the tokenizer's length): the UNet's condition."""
    ids = tokenizer(
        prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids
    return text_encoder(ids.to(text_encoder.device))[0]


def _class_images(
    base_text2image: str, settings: DreamBoothSettings, profile: Profile | None, locate: Locate = locate_model
) -> np.ndarray:
    """Prior-preservation images: ``num_class_images`` samples of the class prompt from the base
    text-to-image model (cached), uint8 (N, res, res, 3)."""
    from synthaug_utils.diffusion.pipelines import load_pipeline, run_text2image
    from synthaug_utils.diffusion.prompts import derive_seed
    from synthaug_utils.diffusion.settings import GenerationSettings, generation_settings

    folder = locate(base_text2image, profile)
    key = hashlib.sha256(
        f"{model_hash(folder)}|{settings.class_prompt}|{settings.resolution}|{settings.num_class_images}".encode()
    ).hexdigest()[:12]
    path = cache_dir() / "dreambooth-class-images" / f"{key}.npy"
    if path.is_file():
        return np.load(path)
    gen = generation_settings(profile) if profile is not None else GenerationSettings()
    gen = GenerationSettings(**{**asdict(gen), "resolution": settings.resolution, "device": settings.device})
    pipe = load_pipeline(folder, "text2image", gen, profile)
    seeds = [
        derive_seed("class-prior", settings.class_prompt, "pretrained", i) for i in range(settings.num_class_images)
    ]
    out = np.concatenate(
        [
            run_text2image(
                pipe, [settings.class_prompt] * len(seeds[i : i + gen.batch_size]), seeds[i : i + gen.batch_size], gen
            )
            for i in range(0, len(seeds), gen.batch_size)
        ]
    )
    atomic_save_npy(path, out)
    return out


# ----------------------------------------------------------------------------- training
def _latents(vae, pixels, gen):
    """Scaled VAE posterior samples of pixels in [-1, 1] (N, 3, H, W)."""
    import torch

    dist = vae.encode(pixels).latent_dist
    noise = torch.randn(dist.mean.shape, generator=gen, device="cpu").to(dist.mean.device)
    return (dist.mean + dist.std * noise) * vae.config.scaling_factor


def diffusion_loss(unet, vae, noise_scheduler, pixels, cond, kind, gen, rng, latent_side):
    """Diffusion loss of one batch (pixels uint8 (N, 3, H, W)); inpaint adds random masks."""
    import torch
    import torch.nn.functional as F

    from synthaug_utils.diffusion.masks import random_inpaint_masks

    x = pixels.float().div(127.5).sub(1.0).to(cond.device)
    with torch.no_grad():
        latents = _latents(vae, x, gen)
        extra = None
        if kind == "inpaint":
            masks = torch.from_numpy(random_inpaint_masks(len(x), x.shape[-1], rng)).to(x.device)
            masked = _latents(vae, x * (masks < 0.5), gen)
            extra = torch.cat([F.interpolate(masks, size=(latent_side, latent_side)), masked], dim=1)
    noise = torch.randn(latents.shape, generator=gen).to(latents.device)
    t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(latents),), generator=gen).to(latents.device)
    noisy = noise_scheduler.add_noise(latents, noise, t)
    model_in = noisy if extra is None else torch.cat([noisy, extra], dim=1)
    pred = unet(model_in, t, encoder_hidden_states=cond).sample
    target = (
        noise
        if noise_scheduler.config.prediction_type == "epsilon"
        else noise_scheduler.get_velocity(latents, noise, t)
    )
    return F.mse_loss(pred.float(), target.float())


def finetune(
    base_model: str | Path,
    kind: str,
    images: pd.DataFrame,
    out: str | Path,
    settings: DreamBoothSettings,
    splits=None,
    profile: Profile | None = None,
    base_text2image: str | None = None,
    progress: bool = True,
    locate: Locate = locate_model,
) -> Path:
    """DreamBooth-fine-tune ``base_model`` (kind 'text2image' or 'inpaint') on ``images``; write a pipeline folder.

    ``images``: rows with image_id, path, label, fst (optional disease). With ``splits``,
    validation/test images are refused (LeakageError). ``base_text2image`` is the model
    that draws prior-preservation images (default ``base_model`` for text2image).
    ``locate`` finds the base models' folders (:func:`synthaug_utils.diffusion.resolve.model_folder`
    when a missing demo model may be pretrained first). Deterministic for fixed settings on the CPU.
    Returns ``out``.
    """
    import torch
    from tqdm.auto import tqdm

    from synthaug_utils.data.checks import load_image_array
    from synthaug_utils.data.splits import assert_no_leakage

    if kind not in KINDS:
        raise UserFacingError(f"kind={kind!r}: use one of {KINDS}")
    if not len(images):
        raise DataError("DreamBooth needs at least one training image")
    if splits is not None:
        checked = splits if not settings.include_validation else dataclasses.replace(splits, val=splits.val.iloc[:0])
        assert_no_leakage(images.image_id.astype(str), checked, context=f"DreamBooth fine-tuning into {out}")
    out = Path(out)
    folder = locate(str(base_model), profile)
    started = time.perf_counter()
    pixels = torch.from_numpy(load_image_array(images, settings.resolution)).permute(0, 3, 1, 2).contiguous()
    records = images.to_dict("records")
    prompts = [prompt_for(prompt_label(r), int(r["fst"]) if settings.fst_in_prompt else None) for r in records]
    prior = None
    if settings.prior_preservation:
        source = base_text2image or (str(base_model) if kind == "text2image" else None)
        if source is None:
            raise UserFacingError(
                "prior preservation for an inpainting model needs base_text2image (the model drawing class images)"
            )
        prior = torch.from_numpy(_class_images(source, settings, profile, locate)).permute(0, 3, 1, 2).contiguous()

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        gen = torch.Generator().manual_seed(settings.seed)
        rng = np.random.default_rng(settings.seed)
        vae, unet, text_encoder, tokenizer, noise_scheduler = _load_components(folder, settings)
        vae.requires_grad_(False)
        text_encoder.requires_grad_(settings.train_text_encoder)
        if kind == "inpaint" and unet.config.in_channels != 4 + 1 + vae.config.latent_channels:
            raise UserFacingError(
                f"{base_model}: inpainting DreamBooth needs a 9-channel UNet, found {unet.config.in_channels}"
            )
        latent_side = settings.resolution // 2 ** (len(vae.config.block_out_channels) - 1)
        unique = sorted(set(prompts) | ({settings.class_prompt} if prior is not None else set()))
        with torch.no_grad():
            table = dict(zip(unique, encode_prompts(tokenizer, text_encoder, unique)))
        params = list(unet.parameters()) + (list(text_encoder.parameters()) if settings.train_text_encoder else [])
        opt = torch.optim.AdamW(
            params,
            lr=settings.learning_rate,
            betas=(settings.adam_beta1, settings.adam_beta2),
            weight_decay=settings.weight_decay,
            eps=settings.adam_epsilon,
        )
        augment = training_augmenter(settings)
        total = optimiser_steps(settings, len(pixels))
        autocast = (
            torch.autocast(
                torch.device(settings.device).type,
                dtype=torch.bfloat16 if settings.mixed_precision == "bf16" else torch.float16,
            )
            if settings.mixed_precision in ("fp16", "bf16")
            else None
        )
        unet.train()
        step = 0
        bar = tqdm(total=total, desc=f"DreamBooth {kind} ({len(pixels)} images)", disable=not progress, mininterval=2)
        losses = []
        while step < total:
            order = torch.randperm(len(pixels), generator=gen)
            if settings.fill_batches and len(pixels) < settings.batch_size:  # one full batch per epoch
                cycles = [order] + [
                    torch.randperm(len(pixels), generator=gen) for _ in range(settings.batch_size // len(pixels))
                ]
                order = torch.cat(cycles)[: settings.batch_size]
            for start in range(0, len(order), settings.batch_size):
                if step >= total:
                    break
                idx = order[start : start + settings.batch_size]
                batch = torch.stack([augment(pixels[i]) for i in idx.tolist()])
                if settings.train_text_encoder:
                    cond = encode_prompts(tokenizer, text_encoder, [prompts[i] for i in idx.tolist()])
                else:
                    cond = torch.stack([table[prompts[i]] for i in idx.tolist()])
                with autocast if autocast is not None else torch.autocast("cpu", enabled=False):
                    loss = diffusion_loss(unet, vae, noise_scheduler, batch, cond, kind, gen, rng, latent_side)
                    if prior is not None:
                        pick = torch.randint(len(prior), (len(idx),), generator=gen)
                        prior_batch = torch.stack([augment(prior[i]) for i in pick.tolist()])
                        prior_cond = table[settings.class_prompt].expand(len(idx), -1, -1)
                        loss = loss + settings.prior_loss_weight * diffusion_loss(
                            unet, vae, noise_scheduler, prior_batch, prior_cond, kind, gen, rng, latent_side
                        )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
                opt.step()
                losses.append(float(loss.detach()))
                step += 1
                bar.update(1)
        bar.close()
        unet.eval()
    meta = {
        "base_model": str(base_model),
        "base_model_hash": model_hash(folder),
        "kind": kind,
        "images": len(images),
        "image_ids_sha256": hashlib.sha256("\n".join(sorted(images.image_id.astype(str))).encode()).hexdigest(),
        "labels": sorted(images.label.astype(str).unique()),
        "steps": step,
        "final_loss_mean_last10": float(np.mean(losses[-10:])) if losses else None,
        "seconds": round(time.perf_counter() - started, 2),
        "settings": asdict(settings),
    }
    return _save_folder(
        folder, unet, text_encoder if settings.train_text_encoder else None, out, meta, settings.save_dtype
    )


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.symlink(src.resolve(), dst, target_is_directory=src.is_dir())
    except OSError:
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)


def _save_folder(base: Path, unet, text_encoder, out: Path, meta: dict, save_dtype: str) -> Path:
    """Write the fine-tuned pipeline folder atomically: ``unet/`` (and ``text_encoder/`` when trained) saved,
    the base folder's other entries linked (or copied)."""
    import torch

    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[save_dtype]
    trained = {"unet": unet, "text_encoder": text_encoder}

    def build(tmp: Path) -> None:
        for entry in base.iterdir():
            if entry.name.startswith(".") or entry.name in ("synthaug_demo.json",):
                continue
            module = trained.get(entry.name)
            if module is not None:
                with quiet_loading():
                    module.to(dtype).save_pretrained(str(tmp / entry.name), safe_serialization=True)
                    module.to(torch.float32)
            elif entry.name == "model_index.json":
                shutil.copy2(entry, tmp / entry.name)
            else:
                _link_or_copy(entry, tmp / entry.name)
        (tmp / "dreambooth.json").write_text(json.dumps(meta, indent=2, default=str))

    return atomic_folder(out, build)


# ----------------------------------------------------------------------------- profile entry points
def dreambooth_dir(profile: Profile, kind: str, group: str, splits, settings: DreamBoothSettings) -> Path:
    """Cache folder of a fine-tuned model:
    ``cache_dir()/models/dreambooth/<world key or 'paper'>/<dataset>-split<seed>/<kind>/<group>-<key>``."""
    world = profile.world.key() if profile.world is not None else "paper"
    base = hashlib.sha256(base_model_id(profile, kind).encode()).hexdigest()[:4]
    # with validation images included the model sees the whole training file: the same for every split
    split = "all-splits" if settings.include_validation else f"split{splits.split_seed}"
    return (
        cache_dir()
        / "models"
        / "dreambooth"
        / world
        / f"{splits.dataset}-{split}"
        / kind
        / f"{slug(group)}-{settings.key()}{base}"
    )
