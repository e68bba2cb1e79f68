"""The embedded demo generator: a small latent diffusion model of the Stable Diffusion architecture.

No Stable Diffusion weights exist offline, so the demo and smoke profiles use a model
that the project builds and pretrains itself, on the demo world's pretraining pool
(:func:`synthaug_utils.data.pretrain_pool`, images never used by the experiments) -
the analogue of Stable Diffusion's web-scale pretraining. Every part is the real
diffusers / transformers class, so the generation and DreamBooth code paths are the
ones the paper profile runs with Stable Diffusion:

- ``vae``: :class:`diffusers.AutoencoderKL`, 64 px RGB <-> 8 x 8 x 4 latents (factor 8, as SD);
- ``text_encoder``: :class:`transformers.CLIPTextModel` built from a small config;
- ``tokenizer``: :class:`transformers.CLIPTokenizer` with a vocabulary written here
  (:func:`build_tokenizer_files`): every word of the prompt vocabulary is one BPE
  token, any other word falls back to characters;
- ``unet``: :class:`diffusers.UNet2DConditionModel` (4 input channels for
  text-to-image; 9 = latents + mask + masked-image latents for inpainting, initialised
  from the text-to-image UNet with zero weights on the 5 new channels, as SD-inpainting was);
- ``scheduler``: DPMSolverMultistep with Stable Diffusion's noise schedule.

The two assembled folders are real ``StableDiffusionPipeline`` /
``StableDiffusionInpaintPipeline`` folders (``model_index.json`` + subfolders,
safetensors weights). Pretrained weights ship in ``synthaug_utils/resources/demo_ldm/``
(float16, a few MB) so the book never pretrains; they are reproduced by::

    synthaug pretrain-generator --profile demo --out synthaug_utils/resources/demo_ldm

Model ids ``demo://ldm-text2image`` and ``demo://ldm-inpaint`` resolve to those
folders (:func:`resolve_demo_model`); without shipped weights the model is pretrained
into the cache on first use (demo: about 10-15 min on 2 CPU cores; smoke: a toy model
in seconds).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from synthaug_utils.config import PACKAGE_DIR, Profile, cache_dir, load_profile
from synthaug_utils.errors import MissingModelError, UserFacingError

TEXT2IMAGE_ID = "demo://ldm-text2image"
INPAINT_ID = "demo://ldm-inpaint"
DEMO_MODEL_KINDS = {TEXT2IMAGE_ID: "text2image", INPAINT_ID: "inpaint"}
RESOURCE_DIR = PACKAGE_DIR / "resources" / "demo_ldm"
PROMPT_TEMPLATE = "An image of {label}, a skin disease"
FST_SUFFIX = ", Fitzpatrick skin type {fst}"

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
_ALPHABET = list("abcdefghijklmnopqrstuvwxyz0123456789") + [",", ".", "-", "'", "(", ")", "/"]
# Words of the prompts the project writes: template, FST suffix, demo / F17k-9 / DDI labels and diseases.
PROMPT_WORDS = (
    "an image of a skin disease fitzpatrick type unknown "
    "psoriasis squamous cell carcinoma lichen planus basal allergic contact dermatitis lupus "
    "erythematosus sarcoidosis neutrophilic dermatoses photodermatoses folliculitis "
    "benign malignant melanocytic nevi seborrheic keratosis verruca vulgaris dermatofibroma melanoma "
    "in situ all"
).split()


# ----------------------------------------------------------------------------- architecture
@dataclass(frozen=True)
class DemoArchitecture:
    """Sizes of the demo latent diffusion model (px for images, channels for layers)."""

    image_size: int = 64
    vae_channels: tuple[int, ...] = (8, 16, 32, 32)  # 4 levels -> latent factor 8, as SD
    latent_channels: int = 4
    unet_channels: tuple[int, ...] = (32, 64)
    unet_attention: tuple[bool, ...] = (False, True)  # cross-attention per UNet level
    unet_layers_per_block: int = 1
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    max_tokens: int = 24
    norm_groups: int = 8

    @property
    def latent_size(self) -> int:
        return self.image_size // 2 ** (len(self.vae_channels) - 1)


def _word_tokens(word: str) -> list[str]:
    """A word's initial BPE symbols: its characters, the last one with CLIP's end-of-word suffix."""
    return list(word[:-1]) + [word[-1] + "</w>"]


def _apply_merges(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Byte-pair merging as the tokenizers library does it: lowest rank first, leftmost on ties."""
    symbols = list(symbols)
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b)), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
        pairs = [(r, i) for r, i in pairs if r is not None]
        if not pairs:
            break
        _, i = min(pairs)
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
    return symbols


def build_tokenizer_files(folder: Path, words: Iterable[str] = PROMPT_WORDS, max_tokens: int = 24) -> int:
    """Write a CLIPTokenizer (``vocab.json``, ``merges.txt``, configs) whose vocabulary words are single tokens.

    Merges are added greedily: each word is merged with the merges so far, and when it
    is stuck the leftmost pair is appended as a new (lowest-priority) merge, which never
    changes how earlier words tokenize. Returns the vocabulary size.
    """
    folder.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {}
    for token in [BOS, EOS] + _ALPHABET + [c + "</w>" for c in _ALPHABET]:
        vocab.setdefault(token, len(vocab))
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    for word in dict.fromkeys(w.lower() for w in words):
        symbols = _apply_merges(_word_tokens(word), ranks)
        while len(symbols) > 1:
            pair = (symbols[0], symbols[1])
            ranks[pair] = len(merges)
            merges.append(pair)
            vocab.setdefault(pair[0] + pair[1], len(vocab))
            symbols = _apply_merges(symbols, ranks)
    (folder / "vocab.json").write_text(json.dumps(vocab, indent=0))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": max_tokens,
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": EOS,
        "pad_token": EOS,
        "do_lower_case": True,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    specials = {"bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS}
    (folder / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))
    return len(vocab)


def load_tokenizer(folder: Path):
    """The CLIPTokenizer saved in ``folder`` (offline)."""
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)


def build_components(arch: DemoArchitecture, tokenizer_dir: Path, seed: int = 0) -> dict:
    """Randomly initialised pipeline components (deterministic in ``seed``).

    Returns a dict with ``vae``, ``text_encoder``, ``tokenizer``, ``unet`` (4 input
    channels) and ``scheduler``, all in float32 on the CPU.
    """
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = load_tokenizer(tokenizer_dir)
    torch.manual_seed(seed)
    n_levels = len(arch.vae_channels)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n_levels,
        up_block_types=("UpDecoderBlock2D",) * n_levels,
        block_out_channels=arch.vae_channels,
        layers_per_block=1,
        latent_channels=arch.latent_channels,
        norm_num_groups=arch.norm_groups,
        sample_size=arch.image_size,
    )
    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch.text_width,
        intermediate_size=4 * arch.text_width,
        projection_dim=arch.text_width,
        num_hidden_layers=arch.text_layers,
        num_attention_heads=arch.text_heads,
        max_position_embeddings=arch.max_tokens,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    text_encoder = CLIPTextModel(text_config)
    unet = UNet2DConditionModel(**unet_config(arch, in_channels=4))
    scheduler = DPMSolverMultistepScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000
    )
    return {"vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "unet": unet, "scheduler": scheduler}


def unet_config(arch: DemoArchitecture, in_channels: int) -> dict:
    """Keyword arguments of the demo UNet2DConditionModel (``in_channels`` 4 or 9)."""
    downs = tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in arch.unet_attention)
    ups = tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(arch.unet_attention))
    return dict(
        sample_size=arch.latent_size,
        in_channels=in_channels,
        out_channels=arch.latent_channels,
        block_out_channels=arch.unet_channels,
        down_block_types=downs,
        up_block_types=ups,
        layers_per_block=arch.unet_layers_per_block,
        cross_attention_dim=arch.text_width,
        attention_head_dim=4,
        norm_num_groups=arch.norm_groups,
    )


def inpaint_unet_from(unet, arch: DemoArchitecture):
    """A 9-input-channel UNet initialised from the 4-channel one (new input weights zero)."""
    from diffusers import UNet2DConditionModel

    new = UNet2DConditionModel(**unet_config(arch, in_channels=4 + 1 + arch.latent_channels))
    state = unet.state_dict()
    weight = state["conv_in.weight"]
    extra = torch.zeros(weight.shape[0], 1 + arch.latent_channels, *weight.shape[2:], dtype=weight.dtype)
    state["conv_in.weight"] = torch.cat([weight, extra], dim=1)
    new.load_state_dict(state)
    return new


def save_pipeline_folder(components: dict, kind: str, out: Path, dtype: torch.dtype = torch.float16) -> Path:
    """Write a diffusers pipeline folder (``kind`` 'text2image' or 'inpaint') atomically; weights as ``dtype`` safetensors."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    cls = StableDiffusionPipeline if kind == "text2image" else StableDiffusionInpaintPipeline
    pipe = cls(
        vae=components["vae"],
        text_encoder=components["text_encoder"],
        tokenizer=components["tokenizer"],
        unet=components["unet"],
        scheduler=components["scheduler"],
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    pipe.to(dtype)
    pipe.save_pretrained(str(tmp), safe_serialization=True)
    pipe.to(torch.float32)
    if "meta" in components:
        (tmp / "synthaug_demo.json").write_text(json.dumps(components["meta"], indent=2, default=str))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


# ----------------------------------------------------------------------------- pretraining settings
@dataclass(frozen=True)
class PretrainSettings:
    """Budget of the demo generator's pretraining (steps are optimiser updates; lr for AdamW)."""

    vae_steps: int = 1500
    vae_batch: int = 32
    vae_lr: float = 2e-3
    kl_weight: float = 1e-6
    unet_steps: int = 3000
    unet_batch: int = 64
    unet_lr: float = 1e-3
    inpaint_steps: int = 1500
    masks_per_image: int = 4
    prompt_dropout: float = 0.1  # share of empty prompts (classifier-free guidance)
    fst_prompt_share: float = 0.5  # share of prompts with the Fitzpatrick suffix
    seed: int = 2023
    arch: DemoArchitecture = DemoArchitecture()


def pretrain_settings(profile: Profile) -> PretrainSettings:
    """Demo: the full budget (about 10-15 min on 2 cores). Smoke: a toy model in seconds."""
    if profile.name == "smoke":
        return PretrainSettings(vae_steps=40, unet_steps=40, inpaint_steps=20, vae_batch=16, unet_batch=16)
    return PretrainSettings()


# ----------------------------------------------------------------------------- prompts and data
def prompt_for(label: str, fst: int | None = None, template: str = PROMPT_TEMPLATE) -> str:
    """``template`` filled with ``label``; with ``fst``, the suffix ``, Fitzpatrick skin type {n}``.

    FST -1 (unknown) reads ``unknown`` (as the authors' code); DDI bins 12/34/56 read ``1-2`` etc.
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


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 flips/rotations of a (N, C, H, W) batch (k in 0..7)."""
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def random_inpaint_masks(n: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """Random rectangle or ellipse masks as in the authors' DreamBooth-inpainting script.

    Returns float32 (n, 1, side, side) with 1 = region to repaint. Each mask's width and
    height are uniform in 0..side and its centre uniform where the shape fits.
    """
    yy, xx = np.mgrid[0:side, 0:side] + 0.5
    out = np.zeros((n, 1, side, side), dtype=np.float32)
    for i in range(n):
        w, h = rng.integers(0, side + 1, size=2)
        cx = rng.uniform(w / 2, side - w / 2)
        cy = rng.uniform(h / 2, side - h / 2)
        if rng.integers(2) == 0:
            m = (np.abs(xx - cx) <= w / 2) & (np.abs(yy - cy) <= h / 2)
        else:
            m = ((xx - cx) / max(w / 2, 0.5)) ** 2 + ((yy - cy) / max(h / 2, 0.5)) ** 2 <= 1.0
        out[i, 0] = m
    return out


def encode_prompts(tokenizer, text_encoder, prompts: list[str]) -> torch.Tensor:
    """Text embeddings (N, tokens, width) exactly as the SD pipelines compute them."""
    ids = tokenizer(
        prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids
    return text_encoder(ids)[0]


def _log(message: str, log: Callable[[str], None] | None) -> None:
    if log is not None:
        log(message)


# ----------------------------------------------------------------------------- pretraining
def _train_vae(vae, images: torch.Tensor, s: PretrainSettings, gen: torch.Generator, log) -> float:
    """Train the autoencoder (L1 + L2 reconstruction + KL); returns the latent scaling factor (1 / std)."""
    from tqdm.auto import tqdm

    opt = torch.optim.AdamW(vae.parameters(), lr=s.vae_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.vae_lr, total_steps=s.vae_steps, pct_start=0.05)
    vae.train()
    n = len(images)
    for step in tqdm(range(s.vae_steps), desc="pretrain VAE", mininterval=5):
        idx = torch.randint(n, (s.vae_batch,), generator=gen)
        x = dihedral(images[idx], int(torch.randint(8, (1,), generator=gen)))
        posterior = vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=gen)
        rec = vae.decode(z).sample
        loss = (rec - x).abs().mean() + F.mse_loss(rec, x) + s.kl_weight * posterior.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 250 == 0 or step == s.vae_steps - 1:
            _log(f"vae step {step}: loss {loss.item():.4f}", log)
    vae.eval()
    with torch.no_grad():
        means = torch.cat([vae.encode(images[i : i + 256]).latent_dist.mean for i in range(0, n, 256)])
    return float(1.0 / means.std())


def _latent_bank(vae, images: torch.Tensor, scaling: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior means and stds (8 dihedral copies of every image), scaled: each (8N, C, h, w)."""
    means, stds = [], []
    with torch.no_grad():
        for k in range(8):
            for i in range(0, len(images), 256):
                dist = vae.encode(dihedral(images[i : i + 256], k)).latent_dist
                means.append(dist.mean * scaling)
                stds.append(dist.std * scaling)
    return torch.cat(means), torch.cat(stds)


def _diffusion_loss(unet, noise_scheduler, latents, cond, gen, extra=None) -> torch.Tensor:
    """Epsilon-prediction loss at uniformly drawn timesteps (the SD training objective)."""
    noise = torch.randn(latents.shape, generator=gen)
    t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(latents),), generator=gen)
    noisy = noise_scheduler.add_noise(latents, noise, t)
    model_in = noisy if extra is None else torch.cat([noisy, extra], dim=1)
    pred = unet(model_in, t, encoder_hidden_states=cond).sample
    return F.mse_loss(pred, noise)


def _train_unet(
    unet, text_encoder, tokenizer, bank, prompts_of, s: PretrainSettings, gen, log, steps: int, masks=None, train_text=True
) -> None:
    """Train a UNet (and optionally the text encoder) on the latent bank.

    ``prompts_of(indices) -> list[str]``; ``masks`` = (mask_latents (M,1,h,w), masked latents (M,C,h,w),
    image index per mask (M,)) for the inpainting UNet, None for text-to-image.
    """
    from diffusers import DDPMScheduler
    from tqdm.auto import tqdm

    noise_scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)
    params = list(unet.parameters()) + (list(text_encoder.parameters()) if train_text else [])
    opt = torch.optim.AdamW(params, lr=s.unet_lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.unet_lr, total_steps=steps, pct_start=0.05)
    unet.train()
    text_encoder.train(train_text)
    means, stds = bank
    n_images = len(means) // 8
    for step in tqdm(range(steps), desc="pretrain UNet" if masks is None else "pretrain inpaint UNet", mininterval=5):
        extra = None
        if masks is None:
            idx = torch.randint(len(means), (s.unet_batch,), generator=gen)
        else:
            mask_lat, masked_lat, owner = masks
            pick = torch.randint(len(owner), (s.unet_batch,), generator=gen)
            idx = owner[pick]
            extra = torch.cat([mask_lat[pick], masked_lat[pick]], dim=1)
        latents = means[idx] + stds[idx] * torch.randn(means[idx].shape, generator=gen)
        prompts = prompts_of(idx % n_images)
        with torch.set_grad_enabled(train_text):
            cond = encode_prompts(tokenizer, text_encoder, prompts)
        loss = _diffusion_loss(unet, noise_scheduler, latents, cond, gen, extra)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % 250 == 0 or step == steps - 1:
            _log(f"unet step {step}: loss {loss.item():.4f}", log)
    unet.eval()
    text_encoder.eval()


def _mask_bank(vae, images: torch.Tensor, scaling: float, arch: DemoArchitecture, s: PretrainSettings, rng):
    """Masks for inpainting pretraining: per image the centre square, its outer complement,
    the full image and ``masks_per_image`` random rectangles/ellipses (image index k*N+i holds
    dihedral copy k of image i, matching the latent bank)."""
    from synthaug_utils.generation import center_mask, outer_mask

    side = arch.image_size
    n = len(images)
    fixed = np.stack([center_mask(side), outer_mask(side), np.ones((side, side), bool)]).astype(np.float32)[:, None]
    mask_lat, masked_lat, owner = [], [], []
    with torch.no_grad():
        for k in range(8):
            for start in range(0, n, 128):
                chunk = dihedral(images[start : start + 128], k)
                m = len(chunk)
                rand = random_inpaint_masks(m * s.masks_per_image, side, rng)
                masks = np.concatenate([np.repeat(fixed, m, axis=0), rand])  # (m*(3+r), 1, side, side)
                reps = 3 + s.masks_per_image
                order = np.concatenate([np.tile(np.arange(m), 3), np.repeat(np.arange(m), s.masks_per_image)])
                masks_t = torch.from_numpy(masks)
                masked = chunk[order] * (masks_t < 0.5)
                lat = torch.cat([vae.encode(masked[i : i + 256]).latent_dist.mean for i in range(0, len(masked), 256)])
                masked_lat.append(lat * scaling)
                mask_lat.append(F.interpolate(masks_t, size=(arch.latent_size, arch.latent_size)))
                owner.append(torch.from_numpy(k * n + start + order))
                del reps
    return torch.cat(mask_lat), torch.cat(masked_lat), torch.cat(owner)


def pretrain_demo_generator(
    profile: Profile | str,
    out: str | Path,
    settings: PretrainSettings | None = None,
    log: Callable[[str], None] | None = print,
) -> dict[str, Path]:
    """Pretrain the demo generator on ``data.pretrain_pool(profile)`` and write both pipeline folders.

    Writes ``out/text2image`` and ``out/inpaint`` (diffusers folders, float16 safetensors)
    and returns their paths. Deterministic for fixed settings and thread count.
    """
    from synthaug_utils import data

    profile = load_profile(profile) if isinstance(profile, str) else profile
    s = settings or pretrain_settings(profile)
    arch = s.arch
    out = Path(out)
    started = time.perf_counter()
    pool = data.pretrain_pool(profile)
    images = images_to_tensor(data.load_image_array(pool, arch.image_size))
    labels = pool.label.tolist()
    fsts = pool.fst.astype(int).tolist()
    _log(f"pretraining the demo generator on {len(pool)} images of {pool.label.nunique()} classes", log)

    tok_dir = out / ".tokenizer-build"
    build_tokenizer_files(tok_dir, max_tokens=arch.max_tokens)
    comps = build_components(arch, tok_dir, seed=s.seed)
    shutil.rmtree(tok_dir, ignore_errors=True)
    gen = torch.Generator().manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)

    scaling = _train_vae(comps["vae"], images, s, gen, log)
    comps["vae"].register_to_config(scaling_factor=scaling)
    for p in comps["vae"].parameters():
        p.requires_grad_(False)
    bank = _latent_bank(comps["vae"], images, scaling)

    def prompts_of(idx: torch.Tensor) -> list[str]:
        draws = torch.rand(len(idx), generator=gen).tolist()
        fst_draws = torch.rand(len(idx), generator=gen).tolist()
        return [
            "" if d < s.prompt_dropout else prompt_for(labels[i], fsts[i] if f < s.fst_prompt_share else None)
            for i, d, f in zip(idx.tolist(), draws, fst_draws)
        ]

    _train_unet(comps["unet"], comps["text_encoder"], comps["tokenizer"], bank, prompts_of, s, gen, log, s.unet_steps)
    meta = {
        "profile": profile.name,
        "world": profile.world.key() if profile.world else None,
        "pretrain_images": len(pool),
        "settings": asdict(s),
        "vae_scaling_factor": scaling,
    }
    paths = {"text2image": save_pipeline_folder({**comps, "meta": {**meta, "kind": "text2image"}}, "text2image", out / "text2image")}

    inpaint_unet = inpaint_unet_from(comps["unet"], arch)
    masks = _mask_bank(comps["vae"], images, scaling, arch, s, rng)
    for p in comps["text_encoder"].parameters():
        p.requires_grad_(False)
    _train_unet(inpaint_unet, comps["text_encoder"], comps["tokenizer"], bank, prompts_of, s, gen, log, s.inpaint_steps, masks=masks, train_text=False)
    meta["seconds"] = round(time.perf_counter() - started, 1)
    paths["inpaint"] = save_pipeline_folder({**comps, "unet": inpaint_unet, "meta": {**meta, "kind": "inpaint"}}, "inpaint", out / "inpaint")
    _log(f"demo generator pretrained in {meta['seconds']:.0f} s -> {out}", log)
    return paths


# ----------------------------------------------------------------------------- resolving demo:// ids
def is_demo_model(model_id: str) -> bool:
    """True for ``demo://...`` model ids."""
    return str(model_id).startswith("demo://")


def resolve_demo_model(model_id: str, profile: Profile | str | None = None, allow_pretrain: bool = True) -> Path:
    """The local folder for a ``demo://`` model id.

    Shipped weights (``synthaug_utils/resources/demo_ldm/<kind>``) win; otherwise the
    model pretrained for the profile's world in the cache
    (``cache_dir()/models/demo_ldm/<world key>/<kind>``), pretraining it first when
    ``allow_pretrain``.
    """
    if model_id not in DEMO_MODEL_KINDS:
        raise MissingModelError(f"unknown demo model id {model_id!r}; known: {sorted(DEMO_MODEL_KINDS)}")
    kind = DEMO_MODEL_KINDS[model_id]
    shipped = RESOURCE_DIR / kind
    if (shipped / "model_index.json").is_file():
        return shipped
    profile = load_profile(profile or "demo") if not isinstance(profile, Profile) else profile
    if not profile.is_embedded:
        raise MissingModelError(f"{model_id}: the demo generator belongs to the embedded profiles, not {profile.name!r}")
    root = cache_dir() / "models" / "demo_ldm" / profile.world.key()
    folder = root / kind
    if (folder / "model_index.json").is_file():
        return folder
    if not allow_pretrain:
        raise MissingModelError(
            f"{model_id}: no shipped weights in {shipped} and no pretrained copy in {folder}; run "
            f"`synthaug pretrain-generator --profile {profile.name} --out {root}`"
        )
    pretrain_demo_generator(profile, root)
    return folder


def _cmd_pretrain(args) -> int:
    torch.set_num_threads(max(1, int(args.threads))) if args.threads else None
    profile = load_profile(args.profile, config=getattr(args, "config", None))
    if not profile.is_embedded:
        raise UserFacingError("pretrain-generator builds the demo generator; use --profile demo or smoke")
    out = Path(args.out) if args.out else cache_dir() / "models" / "demo_ldm" / profile.world.key()
    paths = pretrain_demo_generator(profile, out)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
