"""Pretraining the demo generator on the demo world's pretraining pool."""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from synthaug_utils.core.config import Profile
from synthaug_utils.core.profiles import pretraining
from synthaug_utils.diffusion.demo_model import (
    SCHEDULER_CONFIG,
    DemoArchitecture,
    build_components,
    build_tokenizer_files,
    inpaint_unet_from,
    save_pipeline_folder,
)
from synthaug_utils.diffusion.masks import center_mask, outer_mask, random_inpaint_masks
from synthaug_utils.diffusion.prompts import prompt_for


# ----------------------------------------------------------------------------- pretraining settings
@dataclass(frozen=True)
class PretrainSettings:
    """Budget of the demo generator's pretraining (steps are optimiser updates; lr for AdamW); defaults:
    the demo profile's budget (:data:`synthaug_utils.core.profiles.PRETRAINING`)."""

    vae_steps: int = pretraining("vae_steps")
    vae_batch: int = pretraining("vae_batch")
    vae_lr: float = pretraining("vae_lr")
    vae_crop: int = pretraining("vae_crop")  # px
    vae_crop_share: float = pretraining("vae_crop_share")
    vae_perceptual: float = pretraining("vae_perceptual")  # weight of the perceptual distance on whole-image steps
    vae_logvar_init: float = pretraining("vae_logvar_init")
    kl_weight: float = pretraining("kl_weight")
    unet_steps: int = pretraining("unet_steps")
    unet_batch: int = pretraining("unet_batch")
    unet_lr: float = pretraining("unet_lr")
    inpaint_steps: int = pretraining("inpaint_steps")
    masks_per_image: int = pretraining("masks_per_image")
    prompt_dropout: float = pretraining("prompt_dropout")  # share of empty prompts (classifier-free guidance)
    fst_prompt_share: float = pretraining("fst_prompt_share")  # share of prompts with the Fitzpatrick suffix
    seed: int = pretraining("seed")
    arch: DemoArchitecture = DemoArchitecture()


def pretrain_settings(profile: Profile) -> PretrainSettings:
    """The profile's pretraining budget (``Profile.generator_pretraining`` over the defaults: demo the
    full budget, about 92 min on one CPU thread; smoke a toy model in seconds)."""
    return PretrainSettings(**dict(profile.generator_pretraining))


# ----------------------------------------------------------------------------- data helpers
def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 flips/rotations of a (N, C, H, W) batch (k in 0..7)."""
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


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
def _warmup_cosine(opt, steps: int, warmup: float = 0.05):
    """Linear warm-up over ``warmup`` of the steps (at least 1), then cosine decay to 0."""
    n_warm = max(1, int(steps * warmup))

    def factor(step: int) -> float:
        if step < n_warm:
            return (step + 1) / n_warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - n_warm) / max(1, steps - n_warm))))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


class PerceptualDistance(torch.nn.Module):
    """LPIPS-style distance on ImageNet EfficientNet-Lite0 feature maps (an offline stand-in for the
    VGG-based LPIPS that Stable Diffusion's autoencoder was trained with).

    Inputs are images in [-1, 1] (N, 3, H, W) - exactly Lite0's input normalisation. Feature
    maps after the first ``stages`` blocks are unit-normalised per position; the distance is
    the mean squared difference, averaged over stages. Frozen.
    """

    def __init__(self, stages: int = 4):
        super().__init__()
        from synthaug_utils.core.backbones import create_classifier_net
        from synthaug_utils.core.vocabulary import LITE0_ARCH

        net = create_classifier_net(LITE0_ARCH, pretrained=True).eval()
        self.stem = torch.nn.Sequential(net.conv_stem, net.bn1)
        self.blocks = torch.nn.ModuleList(net.blocks[:stages])
        self.requires_grad_(False)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        x, y = self.stem(torch.cat([a, b])).chunk(2)
        total = a.new_zeros(())
        for block in self.blocks:
            x, y = block(x), block(y)
            total = total + (F.normalize(x, dim=1) - F.normalize(y, dim=1)).pow(2).sum(1).mean()
        return total / len(self.blocks)


def _train_vae(vae, images: torch.Tensor, s: PretrainSettings, gen: torch.Generator, log) -> float:
    """Train the autoencoder; returns the latent scaling factor (1 / std of the latent means).

    Loss: L1 + L2 reconstruction + ``kl_weight`` x KL. The first ``vae_crop_share`` of the
    steps use random ``vae_crop`` px crops (4x cheaper; the autoencoder is fully
    convolutional), the rest whole images. The posterior log-variance starts at
    ``vae_logvar_init`` (std ~0.02): with SD's tiny KL weight it stays small, and a decoder
    that sees unit-variance latent noise from step 0 learns to blur. The whole-image steps
    add ``vae_perceptual`` x :class:`PerceptualDistance` (SD's autoencoder used LPIPS too):
    it keeps the lesions' textures, which L1/L2 alone blur away.
    """
    from tqdm.auto import tqdm

    with torch.no_grad():
        vae.encoder.conv_out.bias[vae.config.latent_channels :] = s.vae_logvar_init
    opt = torch.optim.AdamW(vae.parameters(), lr=s.vae_lr, weight_decay=0.0)
    sched = _warmup_cosine(opt, s.vae_steps)
    vae.train()
    perceptual = PerceptualDistance() if s.vae_perceptual > 0 else None
    n, side = len(images), images.shape[-1]
    for step in tqdm(range(s.vae_steps), desc="pretrain VAE", mininterval=5):
        idx = torch.randint(n, (s.vae_batch,), generator=gen)
        x = dihedral(images[idx], int(torch.randint(8, (1,), generator=gen)))
        cropped = step < s.vae_crop_share * s.vae_steps and s.vae_crop < side
        if cropped:
            i, j = torch.randint(0, side - s.vae_crop + 1, (2,), generator=gen).tolist()
            x = x[:, :, i : i + s.vae_crop, j : j + s.vae_crop]
        posterior = vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=gen)
        rec = vae.decode(z).sample
        loss = (rec - x).abs().mean() + F.mse_loss(rec, x) + s.kl_weight * posterior.kl().mean()
        if perceptual is not None and not cropped:
            loss = loss + s.vae_perceptual * perceptual(rec, x)
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
    unet,
    text_encoder,
    tokenizer,
    bank,
    prompts_of,
    s: PretrainSettings,
    gen,
    log,
    steps: int,
    masks=None,
    train_text=True,
) -> None:
    """Train a UNet (and optionally the text encoder) on the latent bank.

    ``prompts_of(indices) -> list[str]``; ``masks`` = (mask_latents (M,1,h,w), masked latents (M,C,h,w),
    image index per mask (M,)) for the inpainting UNet, None for text-to-image.
    """
    from diffusers import DDPMScheduler
    from tqdm.auto import tqdm

    noise_scheduler = DDPMScheduler(**SCHEDULER_CONFIG)
    params = list(unet.parameters()) + (list(text_encoder.parameters()) if train_text else [])
    opt = torch.optim.AdamW(params, lr=s.unet_lr, weight_decay=1e-2)
    sched = _warmup_cosine(opt, steps)
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
    """Masks for inpainting pretraining: per image the centre square, its outer complement, the
    whole image and ``masks_per_image`` random rectangles/ellipses, each on a random one of the
    8 flips/rotations. Returns (mask latents (M,1,h,w), masked-image latents (M,C,h,w), owner (M,)),
    ``owner`` indexing the latent bank (dihedral copy k of image i is k*N + i)."""
    side = arch.image_size
    n = len(images)
    fixed = np.stack([center_mask(side), outer_mask(side), np.ones((side, side), bool)]).astype(np.float32)[:, None]
    per = len(fixed) + s.masks_per_image
    owner_img = np.repeat(np.arange(n), per)
    turns = rng.integers(0, 8, size=len(owner_img))
    masks = np.concatenate(
        [
            np.tile(fixed, (n, 1, 1, 1)).reshape(n, len(fixed), 1, side, side),
            random_inpaint_masks(n * s.masks_per_image, side, rng).reshape(n, s.masks_per_image, 1, side, side),
        ],
        axis=1,
    ).reshape(n * per, 1, side, side)
    masks_t = torch.from_numpy(masks)
    masked_lat = []
    with torch.no_grad():
        for start in range(0, len(owner_img), 256):
            stop = start + 256
            x = torch.stack(
                [dihedral(images[i : i + 1], int(k))[0] for i, k in zip(owner_img[start:stop], turns[start:stop])]
            )
            masked_lat.append(vae.encode(x * (masks_t[start:stop] < 0.5)).latent_dist.mean * scaling)
    mask_lat = F.interpolate(masks_t, size=(arch.latent_size, arch.latent_size))
    owner = torch.from_numpy(turns * n + owner_img)
    return mask_lat, torch.cat(masked_lat), owner


def pretrain_demo_generator(
    profile: Profile,
    out: str | Path,
    settings: PretrainSettings | None = None,
    log: Callable[[str], None] | None = print,
) -> dict[str, Path]:
    """Pretrain the demo generator on ``data.pretrain_pool(profile)`` and write both pipeline folders.

    Writes ``out/text2image`` and ``out/inpaint`` (diffusers folders, float16 safetensors)
    and returns their paths. Deterministic for fixed settings and thread count.
    """
    from synthaug_utils.data import checks, splits

    s = settings or pretrain_settings(profile)
    arch = s.arch
    out = Path(out)
    started = time.perf_counter()
    pool = splits.pretrain_pool(profile)
    images = images_to_tensor(checks.load_image_array(pool, arch.image_size))
    labels = pool.label.tolist()
    fsts = pool.fst.astype(int).tolist()
    _log(f"pretraining the demo generator on {len(pool)} images of {pool.label.nunique()} classes", log)

    tok_dir = out / ".tokenizer-build"
    build_tokenizer_files(tok_dir, max_tokens=arch.max_tokens)
    comps = build_components(arch, tok_dir, seed=s.seed)
    shutil.rmtree(tok_dir, ignore_errors=True)
    gen = torch.Generator().manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)

    timings: dict[str, float] = {}
    mark = time.perf_counter()
    scaling = _train_vae(comps["vae"], images, s, gen, log)
    comps["vae"].register_to_config(scaling_factor=scaling)
    with torch.no_grad():
        sample = images[:256]
        rec = comps["vae"].decode(comps["vae"].encode(sample).latent_dist.mean).sample.clamp(-1, 1)
        vae_l1 = float((rec - sample).abs().mean() * 127.5)
    _log(f"VAE: mean absolute reconstruction error {vae_l1:.2f} grey levels (of 255)", log)
    timings["vae"], mark = time.perf_counter() - mark, time.perf_counter()
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

    timings["latent_bank"], mark = time.perf_counter() - mark, time.perf_counter()
    _train_unet(comps["unet"], comps["text_encoder"], comps["tokenizer"], bank, prompts_of, s, gen, log, s.unet_steps)
    timings["unet"], mark = time.perf_counter() - mark, time.perf_counter()
    meta = {
        "profile": profile.name,
        "world": profile.world.key() if profile.world else None,
        "pretrain_images": len(pool),
        "settings": asdict(s),
        "vae_scaling_factor": scaling,
        "vae_l1_grey_levels": round(vae_l1, 3),
        "torch_threads": torch.get_num_threads(),
        "seconds_per_phase": timings,
    }
    paths = {
        "text2image": save_pipeline_folder(
            {**comps, "meta": {**meta, "kind": "text2image"}}, "text2image", out / "text2image"
        )
    }

    inpaint_unet = inpaint_unet_from(comps["unet"], arch, seed=s.seed)
    masks = _mask_bank(comps["vae"], images, scaling, arch, s, rng)
    timings["mask_bank"], mark = time.perf_counter() - mark, time.perf_counter()
    for p in comps["text_encoder"].parameters():
        p.requires_grad_(False)
    _train_unet(
        inpaint_unet,
        comps["text_encoder"],
        comps["tokenizer"],
        bank,
        prompts_of,
        s,
        gen,
        log,
        s.inpaint_steps,
        masks=masks,
        train_text=False,
    )
    timings["inpaint_unet"] = time.perf_counter() - mark
    meta["seconds"] = round(time.perf_counter() - started, 1)
    paths["inpaint"] = save_pipeline_folder(
        {**comps, "unet": inpaint_unet, "meta": {**meta, "kind": "inpaint"}}, "inpaint", out / "inpaint"
    )
    _log(f"demo generator pretrained in {meta['seconds']:.0f} s -> {out}", log)
    return paths
