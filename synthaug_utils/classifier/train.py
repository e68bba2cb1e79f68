"""Evaluation and ``train_and_evaluate`` (either mode)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthaug_utils.classifier.faithful import fit_faithful
from synthaug_utils.classifier.fast import fit_fast
from synthaug_utils.classifier.recipe import FitResult, Recipe
from synthaug_utils.core.errors import DataError
from synthaug_utils.core.inputs import check_arch
from synthaug_utils.data.tables import SplitTables


# ----------------------------------------------------------------------------- evaluation
def evaluate(probs: np.ndarray, test: pd.DataFrame, labels: Sequence[str], top: int = 3) -> tuple[pd.DataFrame, dict]:
    """Per-image top-k predictions and accuracy summaries.

    ``probs``: (N_test, n_labels) in ``labels`` order. Returns (predictions, metrics):
    predictions has image_id, label, fst, pred_1..k, prob_1..k, correct, correct_topk
    (k = min(top, n_labels)); metrics has top1, top3 (top-k accuracy), n_test, n_correct,
    n_correct_top3 and per_class / per_fst dicts of {n, correct, accuracy}.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(test), len(labels)):
        raise DataError(f"predictions have shape {probs.shape}, expected ({len(test)}, {len(labels)})")
    k = min(top, len(labels))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    names = np.asarray(labels, dtype=object)
    truth = test.label.astype(str).to_numpy()
    pred = pd.DataFrame(
        {"image_id": test.image_id.astype(str).to_numpy(), "label": truth, "fst": test.fst.astype(int).to_numpy()}
    )
    for j in range(k):
        pred[f"pred_{j + 1}"] = names[order[:, j]]
        pred[f"prob_{j + 1}"] = np.round(probs[np.arange(len(test)), order[:, j]], 6)
    pred["correct"] = pred["pred_1"].to_numpy() == truth
    pred["correct_top3"] = (names[order] == truth[:, None]).any(axis=1)

    def groups(column: str) -> dict[str, dict]:
        out = {}
        for value, group in pred.groupby(column, sort=True):
            out[str(value)] = {
                "n": int(len(group)),
                "correct": int(group.correct.sum()),
                "accuracy": float(group.correct.mean()),
            }
        return out

    metrics = {
        "top1": float(pred.correct.mean()) if len(pred) else float("nan"),
        "top3": float(pred.correct_top3.mean()) if len(pred) else float("nan"),
        "n_test": int(len(pred)),
        "n_correct": int(pred.correct.sum()),
        "n_correct_top3": int(pred.correct_top3.sum()),
        "per_class": groups("label"),
        "per_fst": groups("fst"),
    }
    return pred, metrics


def train_and_evaluate(
    train: pd.DataFrame, splits: SplitTables, recipe: Recipe, seed: int, progress: bool = False
) -> tuple[FitResult, pd.DataFrame, dict]:
    """Train on ``train`` in ``recipe.mode``, stopping on ``splits.val``, and evaluate on ``splits.test``:
    (FitResult, per-image predictions, metrics).

    Tables have columns image_id, path, label, fst. The training table may hold
    synthetic rows and repeated rows (duplication); validation and test are real images.
    """
    val, test, labels = splits.val, splits.test, splits.labels
    check_arch(recipe.arch)
    for name, table in (("training", train), ("validation", val), ("test", test)):
        if len(table) == 0:
            raise DataError(f"the {name} table is empty")
    if recipe.mode == "fast":
        result = fit_fast(train, val, test, labels, recipe, seed=seed, progress=progress)
    else:
        result = fit_faithful(train, val, test, labels, recipe, seed)
    predictions, metrics = evaluate(result.probs, test, labels)
    return result, predictions, metrics
