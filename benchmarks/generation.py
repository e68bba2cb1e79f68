"""Synthetic-image generation speed: images per second per method and setting.

Rows (one printed table, also written to ``benchmarks/generation_results.md`` unless ``--no-save``):

- CPU, demo generator (the shipped 64 px latent diffusion model): text-to-image and
  inpaint images/s at the demo profile's steps and guidance, fp32 and bf16 autocast;
- CPU, Stable Diffusion architectures with random weights: one UNet evaluation with
  classifier-free guidance (batch 2) of SD 2.1-base and SD 1.5-inpainting at a small
  latent size (default 64 px images; 512 px is minutes per step on a CPU), and the
  50-step extrapolation of it;
- GPU (CUDA only), SD 2.1-base text-to-image and SD 1.5 inpainting with random weights
  in the real architectures (configs in ``synthaug_utils/resources/sd_configs``), 512 px,
  50 DPM-Solver steps, guidance 3: the authors' settings (fp16, batch 16) and the fastest
  settings found here (bf16, SDPA, channels_last, batch 32, torch.compile of the UNet).
  Without CUDA these rows are listed as missing.
- CPU, demo generator through the Dask executor (``synthaug generate --executor dask-local:N``):
  images/s of a whole generation run (text-to-image + inpaint, shards of 8 sources, one torch
  thread per worker, models loaded per task, the cluster started beforehand) with 1 and 2
  local workers, and the speed-up of 2 over 1.

Usage: ``python benchmarks/generation.py [--threads 2] [--sd-px 64] [--no-sd] [--no-workers | --only-workers]
[--no-save]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthaug_utils.core.config import load_profile  # noqa: E402
from synthaug_utils.core.paths import PACKAGE_DIR
from synthaug_utils.diffusion import masks, pipelines
from synthaug_utils.diffusion import prompts as diffusion_prompts
from synthaug_utils.diffusion import settings as diffusion_settings  # noqa: E402

SD_CONFIGS = PACKAGE_DIR / "resources" / "sd_configs"


def demo_rows(profile_name: str, batch: int, repeats: int, steps: int | None = None) -> list[dict]:
    """Images/s of the demo generator per method and precision (images are generated, not saved)."""
    profile = load_profile(profile_name)
    if steps:
        profile = profile.replace(gen_steps=steps)
    rows = []
    rng = np.random.default_rng(0)
    # bf16 autocast is emulated (many times slower) on CPUs without native bf16 instructions
    precisions = ("fp32", "bf16") if diffusion_settings.cpu_has_native_bf16() else ("fp32",)
    if len(precisions) == 1:
        print("bf16 rows skipped: this CPU has no native bf16 (AVX512-BF16 / AMX-BF16)", flush=True)
    for precision in precisions:
        settings = diffusion_settings.generation_settings(
            profile, precision=precision, batch_size=batch, paste_unmasked=False
        )
        t2i = pipelines.load_pipeline(profile.text2image_model, "text2image", settings, profile)
        inp = pipelines.load_pipeline(profile.inpaint_model, "inpaint", settings, profile)
        res = settings.resolution
        sources = rng.integers(0, 256, size=(batch, res, res, 3), dtype=np.uint8)
        prompts = [diffusion_prompts.prompt_for("psoriasis")] * batch
        # partial binds this iteration's pipelines, images and settings when each case is made
        cases = {"text-to-image": partial(pipelines.run_text2image, t2i, prompts, settings=settings)}
        for method, where, strength in (
            ("inpaint", "center", settings.strength_inpaint),
            ("outpaint", "outer", settings.strength_outpaint),
        ):
            mask = masks.mask_for(where, settings)
            cases[method] = partial(
                pipelines.run_inpaint, inp, sources, mask, prompts, strength=strength, settings=settings
            )
        for method, fn in cases.items():
            fn(list(range(batch)))  # warm-up
            began = time.perf_counter()
            for r in range(repeats):
                fn(list(range(r * batch, (r + 1) * batch)))
            rate = batch * repeats / (time.perf_counter() - began)
            rows.append(
                dict(
                    device="cpu",
                    model="demo LDM",
                    method=method,
                    px=res,
                    steps=settings.steps,
                    precision=precision,
                    batch=batch,
                    images_per_s=round(rate, 1),
                    note=f"{torch.get_num_threads()} threads",
                )
            )
    return rows


def random_sd_modules(name: str, dtype=torch.float32, device="cpu"):
    """UNet, VAE, text encoder and scheduler of an SD architecture with random weights."""
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = SD_CONFIGS / name
    torch.manual_seed(0)
    from diffusers.utils import logging as dlog

    dlog.set_verbosity_error()
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
    vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
    text = CLIPTextModel(CLIPTextConfig(**json.loads((folder / "text_encoder" / "config.json").read_text())))
    sched = DPMSolverMultistepScheduler.from_config(
        json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    )
    return [m.to(device, dtype).eval() for m in (unet, vae, text)] + [sched]


def sd_cpu_rows(px: int) -> list[dict]:
    """One guided UNet evaluation (batch 2) of each SD architecture at ``px`` images, fp32, on the CPU."""
    rows = []
    for name, label in (("sd21_base", "SD 2.1-base"), ("sd15_inpaint", "SD 1.5-inpainting")):
        unet, vae, text, _ = random_sd_modules(name)
        lat = px // 8
        x = torch.randn(2, unet.config.in_channels, lat, lat)
        ctx = torch.randn(2, 77, unet.config.cross_attention_dim)
        with torch.inference_mode():
            unet(x, 999, encoder_hidden_states=ctx)
            began = time.perf_counter()
            unet(x, 999, encoder_hidden_states=ctx)
            step = time.perf_counter() - began
            began = time.perf_counter()
            vae.decode(torch.randn(1, 4, lat, lat))
            decode = time.perf_counter() - began
        per_image = 50 * step + decode
        rows.append(
            dict(
                device="cpu",
                model=label + " (random weights)",
                method="1 guided UNet step",
                px=px,
                steps=1,
                precision="fp32",
                batch=1,
                images_per_s=round(1 / per_image, 4),
                note=f"{step:.2f} s per guided step at {px} px; 50 steps + decode = {per_image:.0f} s/image",
            )
        )
        del unet, vae, text
    return rows


def sd_pipeline(name: str, dtype, device, modules=None):
    """A StableDiffusion(Inpaint)Pipeline of the SD architecture ``name`` with random weights (or ``modules``:
    (unet, vae, text encoder, scheduler))."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    from synthaug_utils.diffusion import demo_model as dg

    unet, vae, text, sched = modules or random_sd_modules(name, dtype, device)
    with tempfile.TemporaryDirectory(prefix="sd-bench-tok-") as tok_dir:  # the tokenizer reads its files on load
        dg.build_tokenizer_files(Path(tok_dir), max_tokens=77)
        tokenizer = dg.load_tokenizer(Path(tok_dir))
    cls = StableDiffusionPipeline if unet.config.in_channels == 4 else StableDiffusionInpaintPipeline
    pipe = cls(
        vae=vae,
        text_encoder=text,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=sched,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _generate(pipe, kind: str, dtype, prompts: list[str], images: np.ndarray, seeds: list[int], settings):
    """One batch of ``kind`` ("text-to-image" or "inpaint") on CUDA under autocast to ``dtype``."""
    with torch.autocast("cuda", dtype=dtype):
        if kind == "text-to-image":
            return pipelines.run_text2image(pipe, prompts, seeds, settings)
        return pipelines.run_inpaint(pipe, images, masks.center_mask(512), prompts, seeds, 0.97, settings)


def gpu_rows(repeats: int = 2) -> list[dict]:
    """512 px, 50 steps, guidance 3 on CUDA: authors' settings and fastest settings."""
    rows = []
    configs = [
        ("authors: fp16, batch 16", torch.float16, 16, False, False),
        ("fastest: bf16, SDPA, channels_last, batch 32, compile", torch.bfloat16, 32, True, True),
    ]
    for name, label, kind in (
        ("sd21_base", "SD 2.1-base", "text-to-image"),
        ("sd15_inpaint", "SD 1.5-inpainting", "inpaint"),
    ):
        for setting, dtype, batch, channels_last, compile_unet in configs:
            pipe = sd_pipeline(name, dtype, "cuda")
            if channels_last:
                pipe.unet.to(memory_format=torch.channels_last)
                pipe.vae.to(memory_format=torch.channels_last)
            if compile_unet:
                pipe.unet = torch.compile(pipe.unet, mode="max-autotune-no-cudagraphs")
            settings = diffusion_settings.GenerationSettings(
                steps=50,
                guidance_scale=3.0,
                resolution=512,
                batch_size=batch,
                precision="fp16" if dtype == torch.float16 else "fp32",
                device="cuda",
            )
            prompts = [diffusion_prompts.prompt_for("psoriasis")] * batch
            images = np.random.default_rng(0).integers(0, 256, (batch, 512, 512, 3), dtype=np.uint8)
            _generate(pipe, kind, dtype, prompts, images, list(range(batch)), settings)
            torch.cuda.synchronize()
            began = time.perf_counter()
            for r in range(repeats):
                _generate(pipe, kind, dtype, prompts, images, list(range(r * batch, (r + 1) * batch)), settings)
            torch.cuda.synchronize()
            rate = batch * repeats / (time.perf_counter() - began)
            rows.append(
                dict(
                    device=torch.cuda.get_device_name(),
                    model=label + " (random weights)",
                    method=kind,
                    px=512,
                    steps=50,
                    precision=str(dtype).replace("torch.", ""),
                    batch=batch,
                    images_per_s=round(rate, 2),
                    note=setting,
                )
            )
            del pipe
            torch.cuda.empty_cache()
    return rows


def worker_rows(profile_name: str, n_sources: int, workers: Sequence[int] = (1, 2)) -> list[dict]:
    """Images/s of ``generate`` through ``dask-local:N`` for each N (one thread per worker), and the speed-up."""
    import tempfile

    import pandas as pd
    from PIL import Image

    from synthaug_utils.experiments.executors import DaskExecutor
    from synthaug_utils.experiments.generation_tasks import generate_with_executor

    profile = load_profile(profile_name)
    settings = diffusion_settings.generation_settings(profile)
    rng = np.random.default_rng(0)
    rows, rate = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        records = []
        for i in range(n_sources):
            path = Path(tmp) / f"src{i}.png"
            Image.fromarray(rng.integers(0, 256, (settings.resolution,) * 2 + (3,), dtype=np.uint8)).save(path)
            records.append({"image_id": f"src{i}", "path": str(path), "label": "psoriasis", "fst": 1 + i % 6})
        sources = pd.DataFrame(records)
        for n in workers:
            ex = DaskExecutor(n_workers=n)
            try:
                began = time.perf_counter()
                manifest = generate_with_executor(
                    sources,
                    Path(tmp) / f"w{n}",
                    ["text-to-image", "inpaint"],
                    ["pretrained"],
                    1,
                    settings,
                    profile,
                    progress=False,
                    executor=ex,
                    shard_size=8,
                    threads=1,
                )
                seconds = time.perf_counter() - began
            finally:
                ex.close()
            images = len(pd.read_csv(manifest))
            rate[n] = images / seconds
            rows.append(
                dict(
                    device="cpu",
                    model="demo LDM",
                    method=f"generate, dask-local:{n}",
                    px=settings.resolution,
                    steps=settings.steps,
                    precision=settings.precision,
                    batch=settings.batch_size,
                    images_per_s=round(rate[n], 2),
                    note=f"{images} images in {seconds:.1f} s, {n} worker(s) x 1 thread"
                    + (f"; speed-up {rate[n] / rate[workers[0]]:.2f}x over {workers[0]}" if n != workers[0] else ""),
                )
            )
    return rows


def table(rows: list[dict]) -> str:
    cols = ["device", "model", "method", "px", "steps", "precision", "batch", "images_per_s", "note"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--batch", type=int, default=256, help="demo batch size")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--demo-steps", type=int, default=None, help="DPM steps for the demo rows (default: the profile's)"
    )
    parser.add_argument("--sd-px", type=int, default=64, help="image side for the CPU SD step timing (px)")
    parser.add_argument("--no-sd", action="store_true", help="skip the CPU SD-architecture rows")
    parser.add_argument("--no-workers", action="store_true", help="skip the dask-local:1 / dask-local:2 rows")
    parser.add_argument("--only-workers", action="store_true", help="only the dask-local rows")
    parser.add_argument("--worker-sources", type=int, default=64, help="source images of the dask-local rows")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.only_workers:
        text = table(worker_rows(args.profile, args.worker_sources))
        print(text)
        return 0
    rows = demo_rows(args.profile, args.batch, args.repeats, args.demo_steps)
    if not args.no_workers:
        rows += worker_rows(args.profile, args.worker_sources)
    if not args.no_sd:
        rows += sd_cpu_rows(args.sd_px)
    missing = ""
    if torch.cuda.is_available():
        rows += gpu_rows()
    else:
        missing = (
            "GPU rows missing: no CUDA device on this machine (SD 2.1-base / SD 1.5-inpainting at 512 px, "
            "50 steps, guidance 3; authors' fp16 batch 16 vs bf16 + SDPA + channels_last + batch 32 + torch.compile)."
        )
    text = table(rows) + ("\n\n" + missing if missing else "")
    header = (
        f"Generation benchmark, {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads\n\n"
    )
    print(header + text)
    if not args.no_save:
        (Path(__file__).with_name("generation_results.md")).write_text(header + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
