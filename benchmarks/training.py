"""Classifier training and inference speed: fastai recipe vs a bare PyTorch loop, and fast mode vs faithful mode.

Prints one table:

Speeds are the best of several timed epochs / passes, fastai and bare loop alternating (robust to
other processes and to the machine's speed drifting).

- faithful training, images/s: fastai ``fit`` (the project's recipe, train phase only)
  vs a bare PyTorch loop over the same model (same frozen body, trainable head and
  BatchNorm layers, same AdamW-equivalent optimiser) and the same image files;
- inference, images/s: fastai ``get_preds`` vs a bare ``torch.no_grad`` loop over the same
  trained model and image files (passes alternate, best of 5);
- seconds per trial, faithful vs fast mode (cold and warm feature cache), same data and
  the same number of epochs (early stopping off so both run every epoch);
- on a CUDA machine, EfficientNetV2-M at 224 px training and inference images/s in
  fp32, with mixed precision (AMP), and with AMP + channels_last (random weights and
  inputs: a throughput measurement only). Without CUDA these rows say so.

Targets (issue 4): fastai overhead within 1.2x of the bare loop; fast mode >= 10x faster
per trial. Usage: ``python benchmarks/training.py [--profile demo] [--n-real 64] [--threads N] [--no-save]``;
the table is also written to ``benchmarks/training_results.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthaug_utils.classifier.faithful import build_dataloaders, build_learner, fit_faithful, inference_dataloader
from synthaug_utils.classifier.fast import fit_fast
from synthaug_utils.classifier.features import FeatureCache
from synthaug_utils.classifier.recipe import Recipe, seed_everything
from synthaug_utils.core.backbones import normalisation  # noqa: E402
from synthaug_utils.core.config import load_profile  # noqa: E402
from synthaug_utils.data.images import load_image
from synthaug_utils.data.splits import load_splits, training_subset  # noqa: E402


# ----------------------------------------------------------------------------- bare PyTorch
class ImageFiles(Dataset):
    """Images of a table as normalised float tensors (3, size, size) with class indices (bare-loop data)."""

    def __init__(self, table: pd.DataFrame, labels: list[str], size: int, arch: str):
        self.paths = list(table.path)
        self.y = [labels.index(v) for v in table.label]
        self.size = size
        norm = normalisation(arch)
        self.mean = torch.tensor(norm.mean).view(3, 1, 1)
        self.std = torch.tensor(norm.std).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        pixels = torch.from_numpy(np.asarray(load_image(self.paths[i], self.size), dtype=np.uint8).copy())
        x = pixels.permute(2, 0, 1).float() / 255.0
        return (x - self.mean) / self.std, self.y[i]


def bare_model(train: pd.DataFrame, val: pd.DataFrame, labels: list[str], recipe: Recipe, batch_size: int) -> nn.Module:
    """The exact network fastai trains (vision_learner body + head), with fastai's frozen/trainable flags."""
    dls = build_dataloaders(train, val, labels, recipe, batch_size)
    learn = build_learner(dls, recipe, tempfile.gettempdir())
    learn.create_opt()
    learn.freeze()
    return learn.model


class BareTrainer:
    """A plain PyTorch training loop (AdamW equivalent to fastai's Adam with decoupled weight decay)."""

    def __init__(self, model: nn.Module, data: ImageFiles, batch_size: int):
        self.model = model
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
        self.loader = DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=0)
        self.loss_fn = nn.CrossEntropyLoss()

    def epoch(self) -> float:
        """Train one epoch; returns its images/s."""
        self.model.train()
        start, count = time.perf_counter(), 0
        for x, y in self.loader:
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            self.opt.step()
            self.opt.zero_grad()
            count += len(y)
        return count / (time.perf_counter() - start)


@torch.no_grad()
def bare_infer_pass(model: nn.Module, data: ImageFiles, batch_size: int) -> float:
    """Images/s of one plain inference pass (``torch.no_grad``, eval mode, softmax) over ``data``."""
    model.eval()
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=0)
    start = time.perf_counter()
    for x, _ in loader:
        model(x).softmax(1)
    return len(data) / (time.perf_counter() - start)


# ----------------------------------------------------------------------------- fastai
def paired_rates(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    labels: list[str],
    recipe: Recipe,
    batch_size: int,
    epochs: int,
    repeats: int = 5,
) -> dict[str, float]:
    """Best images/s of fastai and of the bare loop, measured alternately so both see the same machine load.

    Training: ``epochs`` timed epochs each (after one warm-up epoch each); fastai's rate counts
    its train phase only (``fit`` one epoch at a time, the optimiser kept). Inference: ``repeats``
    passes over ``test`` of fastai ``get_preds`` and of the bare loop on the same trained model.
    Keys: ``fastai_train``, ``bare_train``, ``fastai_infer``, ``bare_infer``.
    """
    from fastai.callback.core import Callback

    class TrainTimer(Callback):
        order = 0

        def __init__(self):
            self.rates = []

        def before_train(self):
            self.start, self.count = time.perf_counter(), 0

        def after_batch(self):
            if self.training:
                self.count += len(self.yb[0])

        def after_train(self):
            self.rates.append(self.count / (time.perf_counter() - self.start))

    bare = BareTrainer(
        bare_model(train, val, labels, recipe, batch_size),
        ImageFiles(train, labels, recipe.image_size, recipe.arch),
        batch_size,
    )
    seed_everything(0)
    dls = build_dataloaders(train, val, labels, recipe, batch_size)
    rates: dict[str, list[float]] = {"fastai_train": [], "bare_train": [], "fastai_infer": [], "bare_infer": []}
    with tempfile.TemporaryDirectory() as tmp:
        learn = build_learner(dls, recipe, tmp)
        timer = TrainTimer()
        with learn.no_bar(), learn.no_logging():
            for epoch in range(epochs + 1):  # epoch 0 warms both loops up
                learn.fit(1, lr=recipe.lr, wd=recipe.wd, cbs=[timer])
                bare_rate = bare.epoch()
                if epoch:
                    rates["fastai_train"].append(timer.rates[-1])
                    rates["bare_train"].append(bare_rate)
            test_dl = inference_dataloader(dls, test, batch_size)
            bare_data = ImageFiles(test, labels, recipe.image_size, recipe.arch)
            learn.get_preds(dl=inference_dataloader(dls, test.iloc[:batch_size], batch_size))  # warm-up
            for _ in range(repeats):
                start = time.perf_counter()
                learn.get_preds(dl=test_dl)
                rates["fastai_infer"].append(len(test) / (time.perf_counter() - start))
                rates["bare_infer"].append(bare_infer_pass(learn.model, bare_data, batch_size))
    return {key: max(values) for key, values in rates.items()}


# ----------------------------------------------------------------------------- per trial
def trial_seconds(train, val, test, labels, profile, transforms: bool, epochs: int) -> dict[str, float]:
    """Seconds per trial: faithful, fast with a cold feature cache, fast with a warm one (same epochs)."""
    common = dict(transforms=transforms, max_epochs=epochs, patience=epochs + 1)
    faithful = fit_faithful(train, val, test, labels, Recipe.from_profile(profile, mode="faithful", **common), seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        recipe = Recipe.from_profile(profile, mode="fast", views=2, **common)
        cache = FeatureCache(recipe.arch, recipe.image_size, root=tmp)
        cold = fit_fast(train, val, test, labels, recipe, seed=0, cache=cache)
        warm = fit_fast(train, val, test, labels, recipe, seed=0, cache=cache)
    return {"faithful": faithful.wall_s, "fast_cold": cold.wall_s, "fast_warm": warm.wall_s}


# ----------------------------------------------------------------------------- GPU
def gpu_rows(batch_size: int = 64, steps: int = 20) -> list[tuple[str, str, str, str]]:
    """EfficientNetV2-M 224 px throughput on CUDA: fp32, AMP, AMP + channels_last (random weights and data)."""
    if not torch.cuda.is_available():
        return [("GPU: EfficientNetV2-M 224 px", "missing: no CUDA device", "", "")]
    import torchvision

    rows = []
    for label, amp, channels_last in (
        ("fp32", False, False),
        ("AMP", True, False),
        ("AMP + channels_last", True, True),
    ):
        model = torchvision.models.efficientnet_v2_m(weights=None, num_classes=9).cuda()
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(memory_format=fmt)
        x = torch.randn(batch_size, 3, 224, 224, device="cuda").to(memory_format=fmt)
        y = torch.randint(0, 9, (batch_size,), device="cuda")
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cuda", enabled=amp)

        def step():
            with torch.autocast("cuda", enabled=amp):  # noqa: B023
                loss = nn.functional.cross_entropy(model(x), y)  # noqa: B023
            scaler.scale(loss).backward()  # noqa: B023
            scaler.step(opt)  # noqa: B023
            scaler.update()  # noqa: B023
            opt.zero_grad()  # noqa: B023

        for _ in range(3):
            step()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        train_ips = batch_size * steps / (time.perf_counter() - start)
        model.eval()
        with torch.no_grad(), torch.autocast("cuda", enabled=amp):
            for _ in range(3):
                model(x)
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(steps):
                model(x)
            torch.cuda.synchronize()
        infer_ips = batch_size * steps / (time.perf_counter() - start)
        rows.append(
            (f"GPU EfficientNetV2-M 224 px {label}: train / infer img/s", f"{train_ips:.0f}", f"{infer_ips:.0f}", "")
        )
    return rows


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument(
        "--n-real", type=int, default=64, help="real training images per label (demo: 64 -> 576 images)"
    )
    parser.add_argument(
        "--epochs", type=int, default=4, help="timed training epochs per loop (after one warm-up epoch)"
    )
    parser.add_argument("--trial-epochs", type=int, default=5, help="epochs per trial in the fast-vs-faithful rows")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's default)")
    parser.add_argument("--skip-trials", action="store_true", help="skip the per-trial rows (they take minutes)")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/training_results.md")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    profile = load_profile(args.profile)
    splits = load_splits(profile)
    train = training_subset(splits, args.n_real, seed=0)
    labels = list(splits.labels)
    recipe = Recipe.from_profile(profile, mode="faithful")
    batch_size = 64
    print(
        f"profile {profile.name}: {recipe.arch} at {recipe.image_size} px, {len(train)} training images, "
        f"{len(splits.test)} test images, batch {batch_size}, {torch.get_num_threads()} torch threads, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    r = paired_rates(train, splits.val, splits.test, labels, recipe, batch_size, args.epochs)
    fa_train, bare_train, fa_infer, bare_infer = r["fastai_train"], r["bare_train"], r["fastai_infer"], r["bare_infer"]
    rows = [
        ("measurement", "fastai / faithful", "bare PyTorch / fast", "ratio"),
        (
            "faithful training, img/s",
            f"{fa_train:.1f}",
            f"{bare_train:.1f}",
            f"{bare_train / fa_train:.2f}x (target <= 1.2x)",
        ),
        ("inference, img/s", f"{fa_infer:.1f}", f"{bare_infer:.1f}", f"{bare_infer / fa_infer:.2f}x (target <= 1.2x)"),
    ]
    if not args.skip_trials:
        for transforms in (False, True):
            secs = trial_seconds(train, splits.val, splits.test, labels, profile, transforms, args.trial_epochs)
            name = f"s/trial, {args.trial_epochs} epochs, transforms {'on' if transforms else 'off'}"
            rows.append(
                (
                    f"{name} (fast: warm cache)",
                    f"{secs['faithful']:.1f}",
                    f"{secs['fast_warm']:.2f}",
                    f"{secs['faithful'] / secs['fast_warm']:.0f}x faster (target >= 10x)",
                )
            )
            rows.append(
                (
                    f"{name} (fast: cold cache)",
                    f"{secs['faithful']:.1f}",
                    f"{secs['fast_cold']:.2f}",
                    f"{secs['faithful'] / secs['fast_cold']:.1f}x faster",
                )
            )
    rows.extend(gpu_rows())
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    text = "\n".join(lines)
    print(text)
    if not args.no_save:
        header = (
            f"Training benchmark, {time.strftime('%Y-%m-%d')}, profile {profile.name}, {len(train)} training images, "
            f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, load average "
            f"{os.getloadavg()[0]:.1f}\n\n"
        )
        Path(__file__).with_name("training_results.md").write_text(header + "```\n" + text + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
