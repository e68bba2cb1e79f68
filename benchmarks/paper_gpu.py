"""The paper's stages at the paper's real sizes: throughput per stage, then the hours of the full grid.

Random weights in the real architectures, built offline (nothing is downloaded):

- text-to-image: Stable Diffusion 2.1-base (configs in ``synthaug_utils/resources/sd_configs``,
  pipelines built by ``benchmarks/generation.py``'s helpers with the project tokenizer), 512 px,
  50 DPM-Solver steps, guidance 3, through :func:`synthaug_utils.diffusion.pipelines.run_text2image`;
- inpaint (SD 1.5-inpainting, 9-channel UNet, centre mask, strength 0.97) and in-then-outpaint
  (then the outer mask at strength 0.95) through :func:`~synthaug_utils.diffusion.pipelines.run_inpaint`;
  settings from the paper profile (:func:`~synthaug_utils.diffusion.settings.generation_settings`:
  fp16, batch 16 on the GPU);
- DreamBooth: the loop body of :func:`synthaug_utils.diffusion.dreambooth.finetune` (its augmenter, its
  ``diffusion_loss``, AdamW with its settings, grad-norm clip) at 512 px, batch 4, fp32 (the paper
  profile's ``mixed_precision='no'``): optimiser steps/s. ``finetune`` itself is not called
  because it loads and saves multi-GB model folders around the steps;
- classifier: EfficientNetV2-M (torchvision, a random state dict loaded through the project's
  weights-file path) at 224 px in the faithful fastai recipe (``training.build_dataloaders`` +
  ``training.build_learner``: body frozen except BatchNorm, new head, Adam), JPEG decoding
  included (the recipe loads images in the main process), at each batch size the authors'
  rule gives in the paper grids (8, 32, 64, 128); inference through ``learn.get_preds``;
- embeddings: open_clip ViT-B-32 (random state dict file) through the project's embedding path
  (``embeddings.load_embedder`` + decoding + preprocessing + ``encode_image``).

On a CUDA GPU every stage runs at full size (a warm-up batch, then timed batches). Without one
those rows read ``missing: needs a CUDA GPU`` and the same stages run on the CPU at minimal
repetition so that the table always has numbers: one guided UNet step per SD pipeline at
512 px (two without ``--quick``; the last one counts) in one pipeline call, timed by hooks and
extrapolated to 50 steps, in the CPU's fastest precision (bf16 autocast where it has native
bf16); one DreamBooth step at batch 1; two classifier batches of 8; one CLIP batch. Each CPU
row's note says what share of the cores its stage got (wall vs process CPU time), since a
shared machine slows the rows by whatever else runs. The estimate (``synthaug_utils.analysis.paper_cost``) uses the GPU
rows when any
exists, else the CPU rows ("CPU-hours on this machine").

Writes ``paper_gpu_results.md`` and ``paper_gpu_results.csv`` beside this script (or in ``--out``).

Usage: ``python benchmarks/paper_gpu.py [--device cuda|cpu|auto] [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.util
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthaug_utils.analysis import paper_cost as pc  # noqa: E402
from synthaug_utils.analysis import paper_workload as pw  # noqa: E402
from synthaug_utils.core.config import load_profile  # noqa: E402
from synthaug_utils.diffusion import masks, pipelines  # noqa: E402
from synthaug_utils.diffusion import prompts as diffusion_prompts  # noqa: E402
from synthaug_utils.diffusion import settings as diffusion_settings  # noqa: E402
from synthaug_utils.presentation.cost_prose import assumptions_text  # noqa: E402

SD = {"sd21_base": "SD 2.1-base", "sd15_inpaint": "SD 1.5-inpainting"}
CLASSIFIER_BATCHES = (8, 32, 64, 128)  # what the batch rule gives over the paper grids (paper_workload.paper_trials)
MODEL_ONLY_BATCHES = (64, 128)  # GPU rows without data loading (the ceiling of the classifier stage)
MODEL_ONLY_CLIP_BATCH = 256
MISSING_GPU = "missing: needs a CUDA GPU"


# ----------------------------------------------------------------------------- helpers
def _bench_generation():
    """``benchmarks/generation.py`` as a module (its SD-architecture builders are reused, not copied)."""
    spec = importlib.util.spec_from_file_location("benchmarks_generation", Path(__file__).with_name("generation.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_label() -> str:
    """CPU model name (lscpu), its AVX-512 / bf16 flags and torch's thread count."""
    from synthaug_utils.core.machine import cpu_model_and_flags

    model, flags = cpu_model_and_flags()
    feats = [
        "AVX-512" if "avx512f" in flags else "no AVX-512",
        "AVX512-BF16" if "avx512_bf16" in flags else "no AVX512-BF16",
    ]
    if "amx_bf16" in flags:
        feats.append("AMX-BF16")
    return f"cpu: {model} ({', '.join(feats)}), {torch.get_num_threads()} threads"


def gpu_label() -> str:
    return f"cuda: {torch.cuda.get_device_name()}"


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _free(device: str | None = None) -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _loadavg() -> str:
    """The 1-minute load average (other processes sharing the cores), or '?'."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


def mem_available_gb() -> float:
    """MemAvailable from /proc/meminfo in GB (inf when unreadable)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("inf")


def smooth_images(n: int, side: int, seed: int = 0) -> np.ndarray:
    """uint8 (n, side, side, 3) photographs stand-ins: smooth colour fields (low-res noise, bicubic up)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = np.empty((n, side, side, 3), dtype=np.uint8)
    for i in range(n):
        small = rng.integers(40, 220, size=(8, 8, 3), dtype=np.uint8)
        out[i] = np.asarray(Image.fromarray(small).resize((side, side), Image.BICUBIC))
    return out


def write_jpegs(folder: Path, n: int, side: int = 512) -> list[str]:
    """``n`` JPEG files of ``side`` px (the size of the synthetic images) in ``folder``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(smooth_images(n, side, seed=1)):
        path = folder / f"img{i:04d}.jpg"
        Image.fromarray(img).save(path, quality=90)
        paths.append(str(path))
    return paths


def row(
    stage,
    device,
    setting,
    throughput=None,
    unit="images/s",
    status="ok",
    kind="cpu",
    batch=None,
    precision="",
    seconds=None,
    note="",
) -> dict:
    return dict(
        stage=stage,
        device=device,
        setting=setting,
        throughput=None if throughput is None else float(f"{throughput:.4g}"),
        unit=unit,
        status=status,
        kind=kind,
        batch=batch,
        precision=precision,
        seconds=None if seconds is None else round(seconds, 2),
        note=note,
    )


def failed(exc: BaseException) -> str:
    traceback.print_exc()
    return f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"


class UNetTimer:
    """Forward hooks that time every UNet call inside a pipeline call (synchronising on CUDA)."""

    def __init__(self, unet, device: str):
        self.device, self.times, self._t = device, [], 0.0
        self._handles = [unet.register_forward_pre_hook(self._pre), unet.register_forward_hook(self._post)]

    def _pre(self, *_):
        _sync(self.device)
        self._t = time.perf_counter()

    def _post(self, *_):
        _sync(self.device)
        self.times.append(time.perf_counter() - self._t)

    def reset(self):
        self.times = []

    def remove(self):
        for h in self._handles:
            h.remove()


def denoising_steps(steps: int, strength: float = 1.0) -> int:
    """UNet evaluations of an img2img/inpaint call: diffusers runs ``min(int(steps * strength), steps)``."""
    return min(int(steps * strength), steps)


# ----------------------------------------------------------------------------- generation
def make_pipeline(bench, name: str, dtype, device: str, modules=None):
    """A StableDiffusion(Inpaint)Pipeline of the SD architecture ``name`` with random weights (or ``modules``)."""
    return bench.sd_pipeline(name, dtype, device, modules)


def _generate(pipe, method: str, settings, sources: np.ndarray, seeds: list[int]) -> np.ndarray:
    prompts = [diffusion_prompts.prompt_for("psoriasis")] * len(seeds)
    if method == "text-to-image":
        return pipelines.run_text2image(pipe, prompts, seeds, settings)
    centre, outer = masks.mask_for("center", settings), masks.mask_for("outer", settings)
    first = pipelines.run_inpaint(pipe, sources, centre, prompts, seeds, settings.strength_inpaint, settings)
    if method == "inpaint":
        return first
    return pipelines.run_inpaint(pipe, first, outer, prompts, seeds, settings.strength_outpaint, settings)


def generation_rate(pipe, method: str, settings, repeats: int, warmup: bool) -> dict:
    """Images/s of ``method`` at ``settings`` (one warm-up batch when ``warmup``, then ``repeats`` timed)."""
    batch = settings.batch_size
    sources = smooth_images(batch, settings.resolution)
    if warmup:
        _generate(pipe, method, settings, sources, list(range(batch)))
    _sync(settings.device)
    began = time.perf_counter()
    for r in range(repeats):
        _generate(pipe, method, settings, sources, list(range(r * batch, (r + 1) * batch)))
    _sync(settings.device)
    seconds = time.perf_counter() - began
    return dict(images_per_s=batch * repeats / seconds, seconds=seconds)


def step_extrapolation(pipe, method: str, settings, unet_steps: int = 1, full_steps: int = 50) -> dict:
    """CPU: one pipeline call that runs ``unet_steps`` guided UNet steps (timed by hooks), extrapolated to
    ``full_steps`` steps: seconds per batch = (call - UNet time) + last UNet step x the steps diffusers would run."""
    strength = 1.0 if method == "text-to-image" else settings.strength_inpaint
    steps = unet_steps
    while denoising_steps(steps, strength) < unet_steps:  # inpainting at 0.97 runs int(0.97 x steps) of them
        steps += 1
    short = dataclasses.replace(settings, steps=steps)
    sources = smooth_images(settings.batch_size, settings.resolution)
    timer = UNetTimer(pipe.unet, settings.device)
    try:
        # warm-up at 64 px (cheap): first-call costs (allocator, kernels) out of the timed call
        tiny = dataclasses.replace(short, resolution=64)
        _generate(
            pipe,
            "text-to-image" if method == "text-to-image" else "inpaint",
            tiny,
            smooth_images(tiny.batch_size, 64),
            list(range(tiny.batch_size)),
        )
        timer.reset()
        began = time.perf_counter()
        _generate(
            pipe,
            "text-to-image" if method == "text-to-image" else "inpaint",
            short,
            sources,
            list(range(short.batch_size)),
        )
        call = time.perf_counter() - began
    finally:
        timer.remove()
    step = timer.times[-1]  # the last step: the first at a new shape carries one-off costs
    overhead = call - sum(timer.times)  # text encoder, VAE encode/decode, scheduler
    n = denoising_steps(full_steps, strength)
    per_batch = overhead + step * n
    return dict(
        step_s=step,
        first_step_s=timer.times[0],
        overhead_s=overhead,
        steps=n,
        per_batch_s=per_batch,
        calls=len(timer.times),
        images_per_s=settings.batch_size / per_batch,
    )


def generation_rows(
    bench, device: str, label: str, quick: bool, batch: int | None, full: bool | None = None, cpu_steps: int = 1
) -> list[dict]:
    """Text-to-image, inpaint and in-then-outpaint rows on ``device`` (CUDA: full runs; CPU: 1-step extrapolation)."""
    paper = load_profile("paper")
    rows = []
    cuda = device == "cuda" if full is None else full  # full-size runs (the GPU path)
    if cuda:
        settings = diffusion_settings.generation_settings(
            paper, device=device, **({"batch_size": batch} if batch else {})
        )
        dtype = torch.float16 if settings.precision == "fp16" else torch.float32
    else:
        settings = diffusion_settings.generation_settings(paper, device="cpu", precision="auto", batch_size=batch or 1)
        dtype = torch.float32  # bf16 is autocast around fp32 weights on the CPU
    prec = settings.precision + ("" if cuda or settings.precision != "bf16" else " autocast")
    steps = f"{settings.steps} DPM-Solver steps" if cuda else "50 DPM-Solver steps"
    base = (
        f"{settings.resolution} px, {steps}, guidance {settings.guidance_scale:g}, {prec}, batch {settings.batch_size}"
    )
    kind = "cuda" if device == "cuda" else "cpu"
    for name, methods in (("sd21_base", ("text-to-image",)), ("sd15_inpaint", ("inpaint", "in-then-outpaint"))):
        try:
            t0 = time.perf_counter()
            pipe = make_pipeline(bench, name, dtype, device)
            built = time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001
            status = failed(exc)
            rows += [
                row(m, label, f"{SD[name]} (random weights)", status=status, kind=kind, batch=settings.batch_size)
                for m in methods
            ]
            continue
        for method in methods:
            extra = {
                "inpaint": ", centre mask, strength 0.97",
                "in-then-outpaint": ", then outer mask at 0.95 (two passes)",
            }.get(method, "")
            setting = f"{SD[name]} (random weights), {base}{extra}"
            try:
                if cuda:
                    res = generation_rate(pipe, method, settings, repeats=1 if quick else 3, warmup=True)
                    rows.append(
                        row(
                            method,
                            label,
                            setting,
                            res["images_per_s"],
                            kind=kind,
                            batch=settings.batch_size,
                            precision=settings.precision,
                            seconds=res["seconds"],
                            note=f"1 warm-up batch, {1 if quick else 3} timed; model build {built:.0f} s",
                        )
                    )
                elif method == "in-then-outpaint":
                    inp = cache["inpaint"]
                    outpaint_steps = denoising_steps(50, settings.strength_outpaint)
                    per_batch = 2 * inp["overhead_s"] + inp["step_s"] * (inp["steps"] + outpaint_steps)
                    rows.append(
                        row(
                            method,
                            label,
                            setting,
                            settings.batch_size / per_batch,
                            kind=kind,
                            batch=settings.batch_size,
                            precision=prec,
                            seconds=per_batch,
                            status="ok: derived from the inpaint row's step (not run separately)",
                            note=f"2 x {inp['overhead_s']:.1f} s encode/decode + ({inp['steps']} + {outpaint_steps}) x "
                            f"{inp['step_s']:.1f} s steps",
                        )
                    )
                else:
                    res = step_extrapolation(pipe, method, settings, unet_steps=cpu_steps)
                    cache[method] = res
                    first = f" (first step {res['first_step_s']:.1f} s)" if res["calls"] > 1 else ""
                    rows.append(
                        row(
                            method,
                            label,
                            setting,
                            res["images_per_s"],
                            kind=kind,
                            batch=settings.batch_size,
                            precision=prec,
                            seconds=res["per_batch_s"],
                            status=f"ok: {res['calls']} of {res['steps']} steps run, extrapolated",
                            note=f"{res['step_s']:.1f} s per guided UNet step{first} (batch {2 * settings.batch_size} "
                            f"with CFG) x {res['steps']} "
                            f"+ {res['overhead_s']:.1f} s text/VAE = {res['per_batch_s']:.0f} s per batch; model build "
                            f"{built:.0f} s",
                        )
                    )
            except Exception as exc:  # noqa: BLE001
                rows.append(row(method, label, setting, status=failed(exc), kind=kind, batch=settings.batch_size))
        if not cuda and name == "sd21_base":
            cache["sd21_modules"] = (pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer)
        del pipe
        _free()
    return rows


cache: dict = {}  # CPU run: the SD 2.1 modules and the inpaint step, shared between rows


# ----------------------------------------------------------------------------- DreamBooth
def dreambooth_rate(kind: str, modules, device: str, batch: int, steps: int, warmup: int, opt_slices: int = 1) -> dict:
    """Optimiser steps/s of ``dreambooth.finetune``'s loop body (same augmenter, loss, AdamW, clip)."""
    from diffusers import DDPMScheduler

    from synthaug_utils.diffusion import dreambooth as db

    unet, vae, text_encoder, tokenizer, sched_config = modules
    settings = db.dreambooth_settings(load_profile("paper"), device=device, batch_size=batch)
    noise_scheduler = DDPMScheduler.from_config(sched_config)
    latent_side = settings.resolution // 2 ** (len(vae.config.block_out_channels) - 1)
    pixels = torch.from_numpy(smooth_images(batch, settings.resolution)).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        cond1 = db.encode_prompts(tokenizer, text_encoder, [diffusion_prompts.prompt_for("psoriasis")])[0]
    vae.requires_grad_(False)
    text_encoder.requires_grad_(False)
    unet.requires_grad_(True)
    unet.train()
    params = list(unet.parameters())
    adam = dict(
        lr=settings.learning_rate,
        betas=(settings.adam_beta1, settings.adam_beta2),
        weight_decay=settings.weight_decay,
        eps=settings.adam_epsilon,
    )
    opt = torch.optim.AdamW(params, **adam) if opt_slices == 1 else None
    augment = db.training_augmenter(settings)
    g = torch.Generator().manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    autocast = (
        torch.autocast(
            torch.device(device).type, dtype=torch.bfloat16 if settings.mixed_precision == "bf16" else torch.float16
        )
        if settings.mixed_precision in ("fp16", "bf16")
        else None
    )

    def step(opt: torch.optim.Optimizer | None) -> float:
        x = torch.stack([augment(pixels[i]) for i in range(batch)])
        cond = cond1.expand(batch, -1, -1)
        with autocast if autocast is not None else torch.autocast("cpu", enabled=False):
            loss = db.diffusion_loss(unet, vae, noise_scheduler, x, cond, kind, g, rng, latent_side)
        for p in params:
            p.grad = None
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
        if opt is not None:
            opt.step()
        else:  # AdamW is elementwise: stepping disjoint slices in turn does the same work with 1/slices of its state
            for chunk in np.array_split(np.arange(len(params)), opt_slices):
                part = torch.optim.AdamW([params[i] for i in chunk], **adam)
                part.step()
                del part
        return float(loss.detach())

    for _ in range(warmup):
        step(opt)
    _sync(device)
    began = time.perf_counter()
    for _ in range(steps):
        step(opt)
    _sync(device)
    seconds = time.perf_counter() - began
    unet.eval()
    unet.requires_grad_(False)
    for p in params:
        p.grad = None
    del opt
    return dict(steps_per_s=steps / seconds, seconds=seconds, settings=settings)


def _sched_config(name: str) -> dict:
    from synthaug_utils.core.paths import PACKAGE_DIR

    return json.loads(
        (PACKAGE_DIR / "resources" / "sd_configs" / name / "scheduler" / "scheduler_config.json").read_text()
    )


def dreambooth_rows(
    bench, device: str, label: str, quick: bool, kinds=("text2image", "inpaint"), full: bool | None = None
) -> list[dict]:
    rows = []
    cuda = device == "cuda" if full is None else full
    kind_col = "cuda" if device == "cuda" else "cpu"
    batch = pw.DREAMBOOTH_BATCH if cuda else 1
    steps, warmup = ((3, 1) if quick else (8, 2)) if cuda else ((1, 0) if quick else (2, 1))
    for kind in kinds:
        name = "sd21_base" if kind == "text2image" else "sd15_inpaint"
        setting = (
            f"{SD[name]} (random weights), 512 px, batch {batch}, fp32 (mixed_precision 'no'), AdamW lr 5e-6, clip 1"
        )
        stage = pc.STAGE_DREAMBOOTH[kind]
        try:
            if not cuda and kind == "text2image" and "sd21_modules" in cache:
                unet, vae, text, tok = cache.pop("sd21_modules")
            else:
                pipe = make_pipeline(bench, name, torch.float32, device)
                unet, vae, text, tok = pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer
                del pipe
            slices, note = 1, ""
            if not cuda:
                unet_gb = sum(p.numel() for p in unet.parameters()) * 4 / 1024**3
                need = 3 * unet_gb + 4.0  # grads + AdamW's two moments + activations at batch 1 (approx.)
                free = mem_available_gb()
                if free < need + 2.0:
                    slices = 8
                    need = (1 + 2 / slices) * unet_gb + 4.0
                    note = f"AdamW stepped over 8 parameter slices in turn (RAM: {free:.0f} GB free); "
                if free < need + 2.0:
                    rows.append(
                        row(
                            stage,
                            label,
                            setting,
                            unit="steps/s",
                            kind="cpu",
                            batch=batch,
                            status=f"skipped: needs ~{need:.0f} GB free RAM, {free:.0f} GB available",
                        )
                    )
                    continue
            res = dreambooth_rate(
                kind, (unet, vae, text, tok, _sched_config(name)), device, batch, steps, warmup, slices
            )
            timing = (
                f"{warmup} warm-up + {steps} timed steps"
                if warmup
                else f"{steps} step timed, no warm-up (includes AdamW state allocation)"
            )
            rows.append(
                row(
                    stage,
                    label,
                    setting,
                    res["steps_per_s"],
                    unit="steps/s",
                    kind=kind_col,
                    batch=batch,
                    precision="fp32",
                    seconds=res["seconds"],
                    status="ok" if cuda else f"ok: batch {batch} on the CPU (paper: 4)",
                    note=note
                    + timing
                    + "; the loop body of dreambooth.finetune (its training_augmenter, diffusion_loss, AdamW settings)",
                )
            )
            del unet, vae, text, tok
        except Exception as exc:  # noqa: BLE001
            rows.append(row(stage, label, setting, unit="steps/s", status=failed(exc), kind=kind_col, batch=batch))
        _free()
    return rows


# ----------------------------------------------------------------------------- classifier
def _batch_timer(device: str):
    from fastai.callback.core import Callback

    class BatchTimer(Callback):
        order = 99

        def __init__(self):
            self.train, self.valid = [], []

        def after_batch(self):
            _sync(device)
            (self.train if self.training else self.valid).append(time.perf_counter())

    return BatchTimer()


def _rate(marks: list[float], batch: int) -> float | None:
    """Images/s between the first and last batch end (the first batch is the warm-up)."""
    if len(marks) < 2:
        return None
    return batch * (len(marks) - 1) / (marks[-1] - marks[0])


def classifier_rows(
    device: str, label: str, quick: bool, tmp: Path, full: bool | None = None, arch: str = "efficientnet_v2_m"
) -> list[dict]:
    import torchvision

    from synthaug_utils.classifier import faithful
    from synthaug_utils.classifier import recipe as classifier_recipe

    cuda = device == "cuda" if full is None else full
    kind = "cuda" if device == "cuda" else "cpu"
    rows = []
    name = {"efficientnet_v2_m": "EfficientNetV2-M"}.get(arch, arch)
    weights = tmp / f"{arch}-random.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.get_model(arch, weights=None).state_dict(), weights)
    paths = write_jpegs(tmp / "jpeg", 256 if cuda else 16)
    labels = list(pw.F17K9_LABELS)

    def table(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {"path": [paths[i % len(paths)] for i in range(n)], "label": [labels[i % len(labels)] for i in range(n)]}
        )

    batches = CLASSIFIER_BATCHES if cuda else (8,)
    timed = (4 if quick else 12) if cuda else (1 if quick else 3)
    setting = (
        f"{name} (random weights), 224 px, fastai recipe: body frozen except BatchNorm, Adam lr 1e-3; 512 px "
        "JPEGs decoded"
    )
    last_learn = None
    for bs in batches:
        try:
            recipe = classifier_recipe.Recipe(
                arch=arch, image_size=224, weights=str(weights), device=device, batch_size=bs
            )
            n_val = bs * (1 if cuda else 2)
            dls = faithful.build_dataloaders(table(bs * (1 + timed)), table(n_val), labels, recipe, bs)
            with faithful.quiet_fastai():
                learn = faithful.build_learner(dls, recipe, tmp)
                timer = _batch_timer(device)
                with learn.no_bar(), learn.no_logging():
                    learn.fit(1, lr=recipe.lr, wd=recipe.wd, cbs=[timer])
            rate = _rate(timer.train, bs)
            rows.append(
                row(
                    pc.STAGE_TRAIN,
                    label,
                    setting + f", batch {bs}",
                    rate,
                    kind=kind,
                    batch=bs,
                    precision="fp32",
                    seconds=timer.train[-1] - timer.train[0],
                    status="ok" if cuda else f"ok: {timed} batch(es) timed after 1 warm-up batch",
                    note=f"{timed} timed batches after 1 warm-up; data loading in the main process (num_workers=0) as "
                    "in the recipe",
                )
            )
            if not cuda:
                vrate = _rate(timer.valid, bs)
                rows.append(
                    row(
                        pc.STAGE_INFER,
                        label,
                        f"{name} (random weights), 224 px, fastai validation pass, batch {bs}",
                        vrate,
                        kind=kind,
                        batch=bs,
                        precision="fp32",
                        seconds=timer.valid[-1] - timer.valid[0],
                        status="ok: 1 batch timed after 1 (validation pass of the training run)",
                        note="the recipe predicts the test set at batch 64; batch 8 here to fit the CPU budget",
                    )
                )
            last_learn = (learn, dls)
        except Exception as exc:  # noqa: BLE001
            rows.append(row(pc.STAGE_TRAIN, label, setting + f", batch {bs}", status=failed(exc), kind=kind, batch=bs))
        _free()
    if cuda and last_learn is not None:
        learn, dls = last_learn
        try:
            test_bs = 64  # fit_faithful predicts at max(batch, 64)
            n = test_bs * (1 + timed)
            timer = _batch_timer(device)
            with faithful.quiet_fastai(), learn.no_bar(), learn.no_logging():
                learn.get_preds(dl=faithful.inference_dataloader(dls, table(n), test_bs), cbs=[timer])
            rows.append(
                row(
                    pc.STAGE_INFER,
                    label,
                    f"{name} (random weights), 224 px, learn.get_preds, batch {test_bs}",
                    _rate(timer.valid, test_bs),
                    kind=kind,
                    batch=test_bs,
                    precision="fp32",
                    seconds=timer.valid[-1] - timer.valid[0],
                    note=f"{timed} timed batches after 1; JPEG decoding included",
                )
            )
        except Exception as exc:  # noqa: BLE001
            rows.append(
                row(
                    pc.STAGE_INFER, label, f"{name}, learn.get_preds, batch 64", status=failed(exc), kind=kind, batch=64
                )
            )
        try:  # the same trainable set in a plain loop on device tensors: the GPU's ceiling without image decoding
            model = learn.model
            model.train()
            trainable = [p for p in model.parameters() if p.requires_grad]
            opt = torch.optim.Adam(trainable, lr=1e-3)
            for bs in MODEL_ONLY_BATCHES:
                x = torch.randn(bs, 3, 224, 224, device=device)
                y = torch.randint(0, len(labels), (bs,), device=device)
                for i in range(2 + timed):
                    if i == 2:
                        _sync(device)
                        began = time.perf_counter()
                    loss = torch.nn.functional.cross_entropy(model(x), y)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                _sync(device)
                seconds = time.perf_counter() - began
                rows.append(
                    row(
                        "classifier train (model only)",
                        label,
                        f"{name}, 224 px, plain torch loop, same trainable set ({sum(p.numel() for p in trainable):,} "
                        f"params), batch {bs}",
                        bs * timed / seconds,
                        kind=kind,
                        batch=bs,
                        precision="fp32",
                        seconds=seconds,
                        note="no data loading: not used by the estimate",
                    )
                )
        except Exception as exc:  # noqa: BLE001
            rows.append(
                row("classifier train (model only)", label, f"{name} plain loop", status=failed(exc), kind=kind)
            )
    return rows


# ----------------------------------------------------------------------------- CLIP
def clip_rows(device: str, label: str, quick: bool, tmp: Path, full: bool | None = None) -> list[dict]:
    import open_clip

    from synthaug_utils.analysis import embeddings as emb

    cuda = device == "cuda" if full is None else full
    kind = "cuda" if device == "cuda" else "cpu"
    rows = []
    setting = (
        "open_clip ViT-B-32 (random weights, tag openai's preprocessing), embeddings.load_embedder + decode + "
        "preprocess + encode_image"
    )
    try:
        torch.manual_seed(0)
        weights = tmp / "open_clip_ViT-B-32-random.bin"
        torch.save(open_clip.create_model("ViT-B-32", pretrained=None).state_dict(), weights)
        spec = emb.EmbeddingModelSpec("open_clip:ViT-B-32/openai", "open_clip", "ViT-B-32", "openai", str(weights), 224)
        embedder = emb.load_embedder(spec, device)
        batch = 64 if cuda else 16
        n = batch * ((4 if quick else 16) if cuda else (1 if quick else 4))
        paths = write_jpegs(tmp / "jpeg-clip", min(n, 256))
        paths = [paths[i % len(paths)] for i in range(n)]
        emb.embed_uncached(embedder, paths[:batch], batch, False)  # warm-up
        _sync(device)
        began = time.perf_counter()
        out = emb.embed_uncached(embedder, paths, batch, False)
        _sync(device)
        seconds = time.perf_counter() - began
        rows.append(
            row(
                pc.STAGE_CLIP,
                label,
                setting + f", batch {batch}",
                n / seconds,
                kind=kind,
                batch=batch,
                precision="fp32",
                seconds=seconds,
                status="ok" if cuda else f"ok: {n // batch} batch(es) timed after 1 warm-up batch",
                note=f"{n} images of 512 px, {out.shape[1]}-d",
            )
        )
        if cuda:
            cb = MODEL_ONLY_CLIP_BATCH
            x = torch.randn(cb, 3, 224, 224, device=device)
            with torch.no_grad():
                embedder.encode(x)
                _sync(device)
                began = time.perf_counter()
                for _ in range(5):
                    embedder.encode(x)
                _sync(device)
            seconds = time.perf_counter() - began
            rows.append(
                row(
                    "clip embeddings (model only)",
                    label,
                    f"open_clip ViT-B-32 encode_image on device tensors, batch {cb}",
                    cb * 5 / seconds,
                    kind=kind,
                    batch=cb,
                    precision="fp32",
                    seconds=seconds,
                    note="no decoding: not used by the estimate",
                )
            )
    except Exception as exc:  # noqa: BLE001
        rows.append(row(pc.STAGE_CLIP, label, setting, status=failed(exc), kind=kind))
    return rows


# ----------------------------------------------------------------------------- plan, table, main
def gpu_plan(status: str, batch: int) -> list[dict]:
    """The GPU rows, unmeasured (``status`` says why)."""
    gen_set = f"512 px, 50 DPM-Solver steps, guidance 3, fp16, batch {batch}"
    plan = [
        (pc.STAGE_TEXT2IMAGE, f"SD 2.1-base (random weights), {gen_set}", "images/s", batch, "fp16"),
        (
            pc.STAGE_INPAINT,
            f"SD 1.5-inpainting (random weights), {gen_set}, centre mask, strength 0.97",
            "images/s",
            batch,
            "fp16",
        ),
        (
            pc.STAGE_IN_THEN_OUT,
            f"SD 1.5-inpainting (random weights), {gen_set}, then outer mask at 0.95 (two passes)",
            "images/s",
            batch,
            "fp16",
        ),
    ]
    for kind, name in (("text2image", "SD 2.1-base"), ("inpaint", "SD 1.5-inpainting")):
        plan.append(
            (pc.STAGE_DREAMBOOTH[kind], f"{name} (random weights), 512 px, batch 4, fp32", "steps/s", 4, "fp32")
        )
    for bs in CLASSIFIER_BATCHES:
        plan.append(
            (
                pc.STAGE_TRAIN,
                f"EfficientNetV2-M (random weights), 224 px, fastai recipe, batch {bs}",
                "images/s",
                bs,
                "fp32",
            )
        )
    plan.append(
        (pc.STAGE_INFER, "EfficientNetV2-M (random weights), 224 px, learn.get_preds, batch 64", "images/s", 64, "fp32")
    )
    plan.append(
        (pc.STAGE_CLIP, "open_clip ViT-B-32 (random weights), project embedding path, batch 64", "images/s", 64, "fp32")
    )
    return [
        row(stage, "cuda", setting, unit=unit, status=status, kind="cuda", batch=b, precision=prec)
        for stage, setting, unit, b, prec in plan
    ]


def text_table(table: pd.DataFrame, cols=("stage", "device", "setting", "throughput", "unit", "status")) -> str:
    def cell(v):
        if v is None or (isinstance(v, float) and v != v):
            return ""
        return str(v).replace("|", "/")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in table.to_dict("records")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device",
        choices=("cuda", "cpu", "auto"),
        default="auto",
        help="cuda: the GPU rows (CPU rows instead when no GPU); cpu: the CPU rows; auto: cuda when available",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent), help="folder for paper_gpu_results.{md,csv}"
    )
    parser.add_argument(
        "--gen-batch", type=int, default=None, help="generation batch on the GPU (default: the paper profile's, 16)"
    )
    parser.add_argument("--epochs-per-trial", type=float, default=pc.DEFAULT_EPOCHS_PER_TRIAL)
    parser.add_argument(
        "--stages", default="generation,dreambooth,classifier,clip", help="comma-separated subset to run"
    )
    args = parser.parse_args(argv)
    stages = set(args.stages.split(","))
    started = time.perf_counter()
    has_cuda = torch.cuda.is_available()
    run_gpu = has_cuda and args.device in ("cuda", "auto")
    run_cpu = not run_gpu
    gen_batch = (
        args.gen_batch or diffusion_settings.generation_settings(load_profile("paper"), device="cuda").batch_size
    )
    bench = _bench_generation()
    rows: list[dict] = []
    if not run_gpu:
        rows += gpu_plan(MISSING_GPU if not has_cuda else "skipped: --device cpu", gen_batch)
    device = "cuda" if run_gpu else "cpu"
    label = gpu_label() if run_gpu else cpu_label()
    load0 = _loadavg()
    print(
        f"paper_gpu: {label}; torch {torch.__version__}; stages {sorted(stages)}{'; quick' if args.quick else ''}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="paper-gpu-") as tmp:
        tmp = Path(tmp)
        plan = [
            (
                "generation",
                lambda: generation_rows(
                    bench,
                    device,
                    label,
                    args.quick,
                    args.gen_batch if run_gpu else None,
                    cpu_steps=1 if args.quick else 2,
                ),
            ),
            (
                "dreambooth",
                lambda: dreambooth_rows(
                    bench,
                    device,
                    label,
                    args.quick,
                    ("text2image", "inpaint") if run_gpu or not args.quick else ("text2image",),
                ),
            ),
            ("classifier", lambda: classifier_rows(device, label, args.quick, tmp)),
            ("clip", lambda: clip_rows(device, label, args.quick, tmp)),
        ]
        for name, fn in plan:
            if name not in stages:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            new = fn()
            if run_cpu:  # how much of the cores the stage got: a shared machine slows every row
                share = (time.process_time() - c0) / max(time.perf_counter() - t0, 1e-9) / torch.get_num_threads()
                for r in new:
                    r["note"] = (
                        r["note"] + "; " if r["note"] else ""
                    ) + f"this stage got {share:.0%} of {torch.get_num_threads()} cores"
            rows += new
            for r in new:
                print(
                    f"  {r['stage']}: {r['throughput']} {r['unit']} [{r['status']}] ({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
            if not (
                name == "generation" and "dreambooth" in stages
            ):  # the CPU DreamBooth row reuses the SD 2.1 modules
                cache.clear()
                _free()
    if run_cpu and args.quick and "dreambooth" in stages:
        rows.append(
            row(
                pc.STAGE_DREAMBOOTH["inpaint"],
                label,
                "SD 1.5-inpainting (random weights), 512 px",
                unit="steps/s",
                status="skipped: --quick on the CPU (the estimate uses the text2image step)",
                kind="cpu",
                batch=1,
            )
        )
    table = pd.DataFrame(rows, columns=list(pc.TABLE_COLUMNS))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "paper_gpu_results.csv"
    table.to_csv(csv_path, index=False)
    estimate = pc.estimate_from_table(csv_path, epochs_per_trial=args.epochs_per_trial)
    total = float(estimate.loc[estimate.stage == "total", "hours"].iloc[0])
    wall = time.perf_counter() - started
    header = (
        f"# Paper-scale stages: throughput and the hours of the full grid\n\n"
        f"`python benchmarks/paper_gpu.py {' '.join(argv if argv is not None else sys.argv[1:])}`, "
        f"{time.strftime('%Y-%m-%d')}, "
        f"{label}, torch {torch.__version__}, {wall:.0f} s wall"
        + (f", load average {load0} at the start and {_loadavg()} at the end" if run_cpu else "")
        + ". Random weights in the real architectures.\n"
    )
    assumptions = assumptions_text(args.epochs_per_trial)
    saving = pc.source_saving(csv_path)
    released = (
        f"With the authors' released images as the synthetic source (location `released_synthetic`): "
        f"{pc.format_hours(saving['hours_released'])}, {pc.format_hours(saving['hours_saved'])} less; "
        f"{saving['images']:,} images and {saving['models']} DreamBooth models are taken from the release "
        f"instead of made, and the {saving['generated']:,} images of the arms it holds none of are still generated."
    )
    text = (
        header
        + "\n## Stages\n\n"
        + text_table(table, ("stage", "device", "setting", "throughput", "unit", "status", "note"))
        + f"\n\n## Estimate: {estimate.attrs['device']}\n\n"
        + pc.markdown(estimate)
        + f"\n\n**Total: {pc.format_hours(total)}** ({estimate.attrs['device']}), every synthetic image "
        "generated.\n\n" + released + "\n\n" + assumptions + "\n"
    )
    (out / "paper_gpu_results.md").write_text(text)
    print("\n" + text_table(table))
    print(f"\nEstimate, {estimate.attrs['device']}:\n\n" + pc.markdown(estimate))
    print(f"\nTotal: {pc.format_hours(total)}. Wrote {csv_path} and {out / 'paper_gpu_results.md'} ({wall:.0f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
