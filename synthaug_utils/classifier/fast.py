"""The fast mode: head training on cached features."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthaug_utils.classifier.features import FeatureCache, torch_threads
from synthaug_utils.classifier.recipe import EarlyStopper, FitResult, Recipe, batch_size_rule, seed_everything
from synthaug_utils.core.errors import DataError

# Fast mode trains its small head on one CPU thread: as fast as more threads for these matrix sizes,
# robust when other processes share the cores, and it makes the result independent of the caller's
# thread count (matrix products round differently with different thread counts).
HEAD_THREADS = 1


# ----------------------------------------------------------------------------- fast mode: head training
def create_head_module(n_features: int, n_out: int) -> nn.Module:
    """fastai's default ``vision_learner`` head after pooling: BN-Dropout(0.25)-Linear(512)-ReLU-BN-Dropout(0.5)-Linear.

    ``n_features`` is the concat-pooled width 2C; initialised like ``vision_learner`` (kaiming normal).
    """
    from fastai.torch_core import apply_init
    from fastai.vision.learner import create_head

    head = create_head(n_features, n_out, pool=False)
    apply_init(head, nn.init.kaiming_normal_)
    return head


def _fastai_adam(head: nn.Module, recipe: Recipe):
    """fastai's Adam over the head, with weight decay off for BatchNorm and bias parameters (fastai's default)."""
    from fastai.optimizer import Adam
    from fastai.torch_core import norm_bias_params

    opt = Adam(list(head.parameters()), lr=recipe.lr, wd=recipe.wd)
    for p in norm_bias_params(head, True):
        opt.state[p]["do_wd"] = False
    return opt


@torch.no_grad()
def evaluate_head(
    head: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512
) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, accuracy and softmax probabilities (N, n_out) of the head in eval mode."""
    head.eval()
    logits = torch.cat([head(x[i : i + batch]) for i in range(0, len(x), batch)]) if len(x) else torch.zeros(0)
    loss = float(nn.functional.cross_entropy(logits, y)) if len(y) else float("nan")
    acc = float((logits.argmax(1) == y).float().mean()) if len(y) else float("nan")
    return loss, acc, logits.softmax(1)


def _label_index(table: pd.DataFrame, labels: Sequence[str]) -> torch.Tensor:
    """Class indices (N,) of ``table.label`` in ``labels`` order; unknown labels raise DataError."""
    lookup = {label: i for i, label in enumerate(labels)}
    unknown = sorted(set(table.label) - set(lookup))
    if unknown:
        raise DataError(f"label(s) {unknown} are not among the dataset's labels {list(labels)}")
    return torch.tensor([lookup[v] for v in table.label], dtype=torch.long)


def fit_fast(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    labels: Sequence[str],
    recipe: Recipe,
    *,
    seed: int,
    cache: FeatureCache | None = None,
    progress: bool = False,
) -> FitResult:
    """Train only the head on cached frozen-body features (see module docstring); same stopping rule as fastai.

    Each epoch shuffles the training rows (seeded), drops the last partial batch like
    fastai, and, with transforms on, gives every row one of its ``recipe.views`` cached
    augmented views at random. Validation and test use the plain view.
    """
    start = time.perf_counter()
    batch_size = recipe.batch_size or batch_size_rule(len(train), recipe.batch_rule)
    cache = cache or FeatureCache(recipe.arch, recipe.image_size, recipe.weights)
    views = recipe.views if recipe.transforms else 0
    x_train = torch.from_numpy(cache.get(list(train.path), views, recipe.device, progress=progress))
    x_val = torch.from_numpy(cache.get(list(val.path), 0, recipe.device, progress=progress))
    x_test = torch.from_numpy(cache.get(list(test.path), 0, recipe.device, progress=progress))
    y_train, y_val = _label_index(train, labels), _label_index(val, labels)
    t_fit = time.perf_counter()

    with torch_threads(HEAD_THREADS):
        head, history = train_head(x_train, y_train, x_val, y_val, len(labels), batch_size, views, recipe, seed)
        t_pred = time.perf_counter()
        _, _, probs = evaluate_head(head, x_test, torch.zeros(len(x_test), dtype=torch.long))
    stamps = (start, t_fit, t_pred, time.perf_counter())
    return FitResult.of_run(
        probs.float().numpy(), history, recipe.monitor, batch_size, len(train), "fast", "features_s", stamps
    )


def train_head(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    n_out: int,
    batch_size: int,
    views: int,
    recipe: Recipe,
    seed: int,
) -> tuple[nn.Module, list[dict[str, float]]]:
    """The fast-mode training loop: fastai's head, optimiser and stopping rule on cached features.

    ``x_train``: (N, F), or (N, V, F) with ``views`` = V augmented views per row.
    Returns the trained head (best epoch restored if asked) and the per-epoch history.
    """
    seed_everything(seed)
    rng = np.random.default_rng(int(seed))
    head = create_head_module(x_val.shape[1], n_out)
    opt = _fastai_adam(head, recipe)
    history: list[dict[str, float]] = []
    stopper, best_state = EarlyStopper(recipe.patience, recipe.monitor), None
    n_train = len(x_train)
    for epoch in range(recipe.max_epochs):
        head.train()
        order = torch.from_numpy(rng.permutation(n_train))
        pick = torch.from_numpy(rng.integers(0, views, size=n_train)) if views else None
        total, count = 0.0, 0
        for b in range(n_train // batch_size):
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb = x_train[idx, pick[idx]] if views else x_train[idx]
            loss = nn.functional.cross_entropy(head(xb), y_train[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
            total, count = total + float(loss.detach()) * len(idx), count + len(idx)
        valid_loss, valid_acc, _ = evaluate_head(head, x_val, y_val)
        history.append(
            {"epoch": epoch, "train_loss": total / max(count, 1), "valid_loss": valid_loss, "valid_accuracy": valid_acc}
        )
        improved, stop = stopper.update(valid_loss if recipe.monitor == "valid_loss" else valid_acc)
        if improved and recipe.restore_best:
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
        if stop:
            break
    if recipe.restore_best and best_state is not None:
        head.load_state_dict(best_state)
    return head, history
