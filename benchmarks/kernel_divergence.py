"""Where do fp32 results diverge between CPU kernel sets (and thread counts)? (issue 17)

torch picks its CPU kernels at start-up from the CPU (``AVX512``, ``AVX2`` or ``DEFAULT``);
``ATEN_CPU_CAPABILITY`` forces a set. Each variant below runs in its own process and computes, on
fixed inputs, one stage of the demo pipeline at small scale:

* **generation**: the demo text-to-image model (demo profile settings, fp32) draws 6 images in one
  batch, then the same 6 one at a time: float output before and the 8-bit PNG pixels after
  quantisation, and whether the batch size changes an image;
* **features**: the frozen EfficientNet-Lite0 features (``embed_arrays``: the yardstick of
  chapter 02 and the embeddings of 07; the fast-mode classifier features use the same body) of the
  *baseline's* 8-bit images, so the input is identical in every variant;
* **training**: the fast-mode head (the classifier trained in every trial) on the *baseline's*
  features, seed 0, on ``HEAD_THREADS`` threads as in every trial: its probabilities and predicted
  classes.

Every variant is compared with the baseline (this machine's own kernels, 1 thread): the largest
absolute difference, and for 8-bit images and predicted classes the share that differ. Run::

    PYTHONPATH=. python benchmarks/kernel_divergence.py            # prints a Markdown table

(about 2-4 minutes on 2 cores). Results of a run are in ``kernel_divergence_results.md``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# Every library's instruction set pinned to AVX2: torch's own kernels (ATen), oneDNN (convolutions,
# linear layers) and MKL (matrix products) each choose theirs from the CPU independently.
AVX2_EVERYWHERE = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2,STRICT"}

# (label, environment, torch threads); the first is the baseline
VARIANTS = (
    ("native, 1 thread (baseline)", {}, 1),
    ("native, 2 threads", {}, 2),
    ("ATEN_CPU_CAPABILITY=avx2, 1 thread", {"ATEN_CPU_CAPABILITY": "avx2"}, 1),
    ("ATEN_CPU_CAPABILITY=default, 1 thread", {"ATEN_CPU_CAPABILITY": "default"}, 1),
    ("AVX2 everywhere (ATen, oneDNN, MKL), 1 thread", AVX2_EVERYWHERE, 1),
    ("AVX2 everywhere, 2 threads", AVX2_EVERYWHERE, 2),
)
ENV_NAMES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS")


def worker(out: Path, inputs: Path | None, threads: int) -> None:
    """Compute every stage in this process (its kernels fixed by the environment) and save them."""
    import torch

    torch.set_num_threads(threads)
    from synthaug_utils.analysis.embeddings import embed_arrays
    from synthaug_utils.classifier.fast import HEAD_THREADS, evaluate_head, train_head
    from synthaug_utils.classifier.features import torch_threads
    from synthaug_utils.classifier.recipe import Recipe
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.diffusion import pipelines
    from synthaug_utils.diffusion.prompts import prompt_for
    from synthaug_utils.diffusion.resolve import model_folder
    from synthaug_utils.diffusion.settings import generation_settings

    P = load_profile("demo")
    settings = generation_settings(P)
    pipe = pipelines.load_pipeline(model_folder(P.text2image_model, P), "text2image", settings, P)
    labels = ["psoriasis", "lupus erythematosus", "basal cell carcinoma"]
    prompts, seeds = [prompt_for(k) for k in labels for _ in range(2)], list(range(6))

    def generate(prompts, seeds):
        with torch.inference_mode():
            out = pipe(
                prompt=list(prompts),
                num_inference_steps=settings.steps,
                guidance_scale=settings.guidance_scale,
                height=settings.resolution,
                width=settings.resolution,
                generator=pipelines.seeded_generators(seeds, "cpu"),
                output_type="np",
            ).images
        return np.asarray(out, dtype=np.float32)

    float_batch = generate(prompts, seeds)
    float_single = np.concatenate([generate([p], [s]) for p, s in zip(prompts, seeds)])
    result = {
        "gen_float": float_batch,
        "gen_uint8": pipelines.to_uint8(float_batch),
        "gen_float_single": float_single,
        "gen_uint8_single": pipelines.to_uint8(float_single),
    }

    base = np.load(inputs) if inputs else result
    rng = np.random.default_rng(0)  # fixed textured images beside the generated ones: 64 in all
    noise = rng.integers(0, 256, size=(58, 64, 64, 3), dtype=np.uint8)
    images = np.concatenate([base["gen_uint8"], noise])
    result["features"] = embed_arrays(images, cache=False)

    feats = torch.from_numpy(base["features"] if inputs else result["features"]).float()
    y = torch.from_numpy(np.arange(len(feats)) % 3)
    order = np.random.default_rng(1).permutation(len(feats))
    train, val = order[:40], order[40:]
    recipe = Recipe(mode="fast", max_epochs=8, patience=8)
    with torch_threads(HEAD_THREADS):  # as fit_fast trains every trial's head
        head, _ = train_head(feats[train], y[train], feats[val], y[val], 3, 8, 0, recipe, seed=0)
        _, _, probs = evaluate_head(head, feats, torch.zeros(len(feats), dtype=torch.long))
    result["probs"] = probs.float().numpy()
    result["capability"] = np.array(torch.backends.cpu.get_cpu_capability())
    np.savez(out, **result)


def _run(label: str, variables: dict[str, str], threads: int, out: Path, inputs: Path | None) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env.update(variables)
    env["OMP_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, __file__, "--worker", str(out), "--threads", str(threads)] + (
        ["--inputs", str(inputs)] if inputs else []
    )
    print(f"running: {label} ...", file=sys.stderr, flush=True)
    subprocess.run(cmd, env=env, check=True)


def compare(base: dict, other: dict) -> dict[str, str]:
    """One table row: the largest differences of ``other`` from ``base`` stage by stage."""

    def share(a, b):
        return f"{np.mean(a != b):.2%}"

    gen_f = float(np.abs(base["gen_float"] - other["gen_float"]).max())
    gen_u = np.abs(base["gen_uint8"].astype(int) - other["gen_uint8"].astype(int))
    feat = np.abs(base["features"] - other["features"])
    scale = float(np.abs(base["features"]).max())
    probs = float(np.abs(base["probs"] - other["probs"]).max())
    pred = share(base["probs"].argmax(1), other["probs"].argmax(1))
    return {
        "kernels": str(other["capability"]),
        "generation: max |float diff|": f"{gen_f:.2e}",
        "8-bit pixels differing (max levels)": f"{share(base['gen_uint8'], other['gen_uint8'])} ({int(gen_u.max())})",
        "batch of 6 vs 1 at a time: pixels differing": share(other["gen_uint8"], other["gen_uint8_single"]),
        "features: max |diff| (rel. to max |feature|)": f"{feat.max():.2e} ({feat.max() / scale:.1e})",
        "training: max |prob diff|": f"{probs:.2e}",
        "predicted classes differing": pred,
    }


def table(rows: list[tuple[str, dict[str, str]]]) -> str:
    cols = list(rows[0][1])
    lines = ["| variant | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(row[c] for c in cols) + " |" for label, row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.inputs, args.threads)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        outs = []
        for i, (label, variables, threads) in enumerate(VARIANTS):
            out = Path(tmp) / f"v{i}.npz"
            _run(label, variables, threads, out, outs[0] if outs else None)
            outs.append(out)
        loaded = [dict(np.load(o)) for o in outs]
        rows = [(label, compare(loaded[0], data)) for (label, _, _), data in zip(VARIANTS, loaded)]
        pinned = [i for i, (_, variables, _) in enumerate(VARIANTS) if variables == AVX2_EVERYWHERE]
        rows += [
            (f"{VARIANTS[i][0]} vs {VARIANTS[pinned[0]][0]}", compare(loaded[pinned[0]], loaded[i])) for i in pinned[1:]
        ]
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    raise SystemExit(main())
