"""Chapter 02's generator measurements: throughput, raw mask fidelity, samples, autoencoder round trips."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from synthaug_utils.core import profiles
from synthaug_utils.core.config import Profile
from synthaug_utils.core.vocabulary import METHODS
from synthaug_utils.diffusion.masks import mask_border_pairs, mask_for
from synthaug_utils.diffusion.pipelines import load_pipeline, run_inpaint, run_text2image
from synthaug_utils.diffusion.prompts import derive_seed, prompt_for, prompt_label
from synthaug_utils.diffusion.resolve import model_folder
from synthaug_utils.diffusion.settings import GenerationSettings, base_model_id, generation_settings


# ----------------------------------------------------------------------------- quality and cost
def mask_mad(sources: np.ndarray, outputs: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Mean absolute difference (grey levels, 0-255) between outputs and their sources inside and
    outside ``mask``. ``sources``/``outputs``: uint8 (N, H, W, 3); ``mask``: bool (H, W)."""
    diff = np.abs(outputs.astype(np.float64) - sources.astype(np.float64))
    return float(diff[:, mask].mean()), float(diff[:, ~mask].mean())


MASKED_METHODS = (("inpaint", "center"), ("outpaint", "outer"))  # (method, mask it repaints)


def seam_energy(images: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared colour difference (grey levels squared, summed over RGB) between the two pixels of
    every adjacent pair straddling the border of ``mask`` (bool (H, W)), over ``images`` uint8
    (N, H, W, 3): the gradient energy across the border. A pasted region that does not continue
    its surroundings raises it above that of untouched images at the same positions."""
    inside, outside = mask_border_pairs(mask)
    x = images.astype(np.float64)
    diff = x[:, inside[:, 0], inside[:, 1]] - x[:, outside[:, 0], outside[:, 1]]
    return float((diff**2).sum(-1).mean())


SEAM_LIMIT = profiles.threshold("SEAM_LIMIT")  # a seam ratio above this is a visible seam
# (method, mask whose border is measured)
SEAM_MASKS = (
    ("inpaint", "center"),
    ("outpaint", "outer"),
    ("in-then-outpaint", "outer"),
)


def seam_ratios(
    manifests: Mapping[tuple[str, str], pd.DataFrame], source_paths: Mapping[str, str], settings: GenerationSettings
) -> pd.DataFrame:
    """The seam measure of each masked method's final images: :func:`seam_energy` across the border of
    its mask, divided by the same energy of its real source images at the same positions (1.0: no
    more contrast across the border than real skin has there). For in-then-outpaint the outer
    mask's border holds both stages' seams. One row per (method, variant): ``seam_ratio``,
    ``seam_rms`` and ``real_rms`` (root mean squared difference across the border, grey levels), ``n``."""
    from synthaug_utils.data.images import load_image

    def load(path):
        return np.asarray(load_image(path, settings.resolution))

    rows = []
    for (method, variant), manifest in manifests.items():
        mask_name = dict(SEAM_MASKS).get(method)
        final = manifest[manifest.stage == "final"]
        if mask_name is None or final.empty:
            continue
        mask = mask_for(mask_name, settings)
        synthetic = seam_energy(np.stack([load(p) for p in final.path]), mask)
        real = seam_energy(np.stack([load(source_paths[s]) for s in final.source_id]), mask)
        rows.append(
            {
                "method": method,
                "variant": variant,
                "seam_ratio": synthetic / real if real > 0 else float("nan"),
                "seam_rms": synthetic**0.5,
                "real_rms": real**0.5,
                "n": len(final),
            }
        )
    return pd.DataFrame(rows, columns=["method", "variant", "seam_ratio", "seam_rms", "real_rms", "n"])


def mask_fidelity(
    manifests: Mapping[tuple[str, str], pd.DataFrame], source_paths: Mapping[str, str], settings: GenerationSettings
) -> pd.DataFrame:
    """Mean absolute change (grey levels, 0-255) inside and outside the mask of each masked method's
    final images against their sources. ``manifests``: (method, variant) -> manifest rows;
    ``source_paths``: source image id -> path. One row per (method, variant, region)."""
    from synthaug_utils.data.images import load_image

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
        rows += [
            {"method": method, "variant": variant, "region": "inside mask", "mad": inside},
            {"method": method, "variant": variant, "region": "outside mask", "mad": outside},
        ]
    return pd.DataFrame(rows, columns=["method", "variant", "region", "mad"])


def raw_mask_fidelity(
    profile: Profile, sources: pd.DataFrame, settings: GenerationSettings, variant_name: str = "pretrained, raw output"
) -> pd.DataFrame:
    """:func:`mask_fidelity` of the pretrained inpainting model's own output, before any pasting of
    the source pixels outside the mask (``paste_unmasked`` off), for ``sources`` (rows with path,
    image_id, label). Images are generated in memory with the manifest seeds, not stored."""
    import dataclasses

    from synthaug_utils.data.images import load_image

    raw = dataclasses.replace(settings, paste_unmasked=False)
    pipe = load_pipeline(model_folder(profile.inpaint_model, profile), "inpaint", raw, profile)
    images = np.stack([np.asarray(load_image(p, raw.resolution)) for p in sources.path])
    prompts = [prompt_for(prompt_label(r)) for r in sources.to_dict("records")]
    strength = {"inpaint": raw.strength_inpaint, "outpaint": raw.strength_outpaint}
    rows = []
    for method, mask_name in MASKED_METHODS:
        mask = mask_for(mask_name, raw)
        seeds = [derive_seed(i, method, "pretrained", 0) for i in sources.image_id]
        out = np.concatenate(
            [
                run_inpaint(
                    pipe,
                    images[i : i + raw.batch_size],
                    mask,
                    prompts[i : i + raw.batch_size],
                    seeds[i : i + raw.batch_size],
                    strength[method],
                    raw,
                )
                for i in range(0, len(images), raw.batch_size)
            ]
        )
        inside, outside = mask_mad(images, out, mask)
        rows += [
            {"method": method, "variant": variant_name, "region": "inside mask", "mad": inside},
            {"method": method, "variant": variant_name, "region": "outside mask", "mad": outside},
        ]
    return pd.DataFrame(rows, columns=["method", "variant", "region", "mad"])


def sample_text2image(
    profile: Profile, labels: Sequence[str], per_label: int, settings: GenerationSettings
) -> tuple[np.ndarray, np.ndarray]:
    """In-memory text-to-image samples of the profile's pretrained model (nothing written):
    ``per_label`` per label with seeds derived from ("sample-{label}-{i}", method, "pretrained", i).
    Returns (uint8 images (N, res, res, 3), labels (N,)), N = len(labels) * per_label."""
    pipe = load_pipeline(model_folder(profile.text2image_model, profile), "text2image", settings, profile)
    names = np.repeat(np.asarray(list(labels), dtype=object), per_label)
    index = np.tile(np.arange(per_label), len(labels))
    seeds = [derive_seed(f"sample-{k}-{i}", "text-to-image", "pretrained", int(i)) for k, i in zip(names, index)]
    prompts = [prompt_for(k) for k in names]
    step = settings.batch_size
    images = np.concatenate(
        [
            run_text2image(pipe, prompts[i : i + step], seeds[i : i + step], settings)
            for i in range(0, len(prompts), step)
        ]
    )
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
            t2i = t2i or load_pipeline(
                model_folder(base_model_id(profile, "text2image"), profile), "text2image", settings, profile
            )
            fn = lambda seeds: run_text2image(t2i, prompts, seeds, settings)  # noqa: B023, E731
        else:
            inp = inp or load_pipeline(
                model_folder(base_model_id(profile, "inpaint"), profile), "inpaint", settings, profile
            )
            centre, outer = mask_for("center", settings), mask_for("outer", settings)

            def fn(seeds, method=method):
                if method == "inpaint":
                    return run_inpaint(inp, sources, centre, prompts, seeds, settings.strength_inpaint, settings)  # noqa: B023
                if method == "outpaint":
                    return run_inpaint(inp, sources, outer, prompts, seeds, settings.strength_outpaint, settings)  # noqa: B023
                first = run_inpaint(inp, sources, centre, prompts, seeds, settings.strength_inpaint, settings)  # noqa: B023
                return run_inpaint(inp, first, outer, prompts, seeds, settings.strength_outpaint, settings)  # noqa: B023

        fn(list(range(batch)))
        began = time.perf_counter()
        done = 0
        while done < n_images:
            fn(list(range(done, done + batch)))
            done += batch
        seconds = time.perf_counter() - began
        rows.append(
            dict(
                method=method,
                images=done,
                seconds=seconds,
                images_per_s=done / seconds,
                steps=settings.steps,
                precision=settings.precision,
                threads=torch.get_num_threads(),
            )
        )
    return pd.DataFrame(rows)
