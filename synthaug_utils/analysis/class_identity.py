"""The class-identity gate: can a classifier tell the synthetic images' classes apart?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthaug_utils.analysis.pair_distances import as_2d
from synthaug_utils.core import profiles


def class_identity(
    train: tuple[np.ndarray, Sequence[str]],
    groups: dict[str, tuple[np.ndarray, Sequence[str]]],
    labels: Sequence[str],
    C: float = 0.5,
) -> pd.DataFrame:
    """Share of each group's images that a yardstick classifier assigns to their intended label.

    ``train``: (features (N, D), labels) of real training images; the yardstick is a
    standardised logistic regression (inverse regularisation ``C``). ``groups``: name ->
    (features (M, D), intended labels), e.g. the real test set and each generator's
    text-to-image samples. Returns one row per (group, label): ``accuracy`` (share, 0-1)
    and ``n`` (images); labels a group lacks get NaN accuracy and n = 0.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = train
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=C))
    clf.fit(as_2d(x, "train features", 2), np.asarray(y))
    rows = []
    for group, (features, intended) in groups.items():
        intended = np.asarray(intended)
        hit = clf.predict(as_2d(features, f"{group} features")) == intended
        for label in labels:
            sel = intended == label
            rows.append(
                {
                    "group": group,
                    "label": label,
                    "accuracy": float(hit[sel].mean()) if sel.any() else float("nan"),
                    "n": int(sel.sum()),
                }
            )
    return pd.DataFrame(rows)


def class_identity_summary(per_class: pd.DataFrame, chance: float) -> pd.DataFrame:
    """Per group of :func:`class_identity`: pooled accuracy (weighted by n), weakest class, and
    how many classes score above twice ``chance`` (a proportion, e.g. 1/9)."""
    rows = []
    for group, part in per_class.groupby("group", sort=False):
        part = part[part.n > 0]
        rows.append(
            {
                "images": group,
                "accuracy": float(np.average(part.accuracy, weights=part.n)) if len(part) else float("nan"),
                "weakest class": float(part.accuracy.min()) if len(part) else float("nan"),
                "classes above 2x chance": int((part.accuracy > 2 * chance).sum()),
            }
        )
    return pd.DataFrame(rows)


def class_identity_gate(
    yardsticks: dict[str, tuple[np.ndarray, np.ndarray]],
    train_labels: Sequence[str],
    test_labels: Sequence[str],
    sample_groups: dict[str, tuple[np.ndarray, Sequence[str]]],
    labels: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The class-identity gate under several yardstick classifiers.

    ``yardsticks``: name -> (training features (N, D), test features (M, D)) of the real
    training pool and test set as that yardstick sees them (e.g. "real images" and
    "autoencoded real images"); each trains its own :func:`class_identity` classifier and
    scores its own test set (group ``"test set ({name})"``) and every ``sample_groups`` entry
    (name -> (features, intended labels)). Returns (per-class rows, :func:`class_identity_summary`
    rows at chance ``1 / len(labels)``), both with a ``classifier`` column ``"trained on {name}"``.
    """
    chance = 1 / len(labels)
    per_class, summaries = [], []
    for name, (train_x, test_x) in yardsticks.items():
        groups = {f"test set ({name})": (test_x, test_labels), **sample_groups}
        rows = class_identity((train_x, train_labels), groups, labels)
        per_class.append(rows.assign(classifier=f"trained on {name}"))
        summaries.append(class_identity_summary(rows, chance).assign(classifier=f"trained on {name}"))
    return pd.concat(per_class, ignore_index=True), pd.concat(summaries, ignore_index=True)


def classes_below(per_class: pd.DataFrame, group: str, threshold: float) -> list[str]:
    """Labels whose :func:`class_identity` accuracy in ``group`` is at or below ``threshold``
    (a share, e.g. twice chance), weakest first; labels without images are skipped."""
    part = per_class[(per_class.group == group) & (per_class.n > 0)]
    part = part[part.accuracy <= threshold].sort_values(["accuracy", "label"])
    return part.label.tolist()


# The class-identity gate's thresholds (values and why: the settings source): every class of a variant's
# text-to-image samples recognised at least GATE_MIN_CLASS of the time, all of them together at least GATE_MIN_POOLED.
GATE_MIN_CLASS = profiles.threshold("GATE_MIN_CLASS")
GATE_MIN_POOLED = profiles.threshold("GATE_MIN_POOLED")
