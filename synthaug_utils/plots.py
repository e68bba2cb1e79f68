"""One plotting function per figure, in one consistent, colour-blind-safe style.

Every function takes tidy data (DataFrames from the other modules), draws one figure
and returns the matplotlib ``Figure``; none computes results.
"""
from __future__ import annotations



import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

PALETTE = sns.color_palette("colorblind")
SPLIT_ORDER = ["train", "val", "test"]
SPLIT_NAMES = {"train": "training pool", "val": "validation", "test": "test"}
FST_ORDER = [1, 2, 3, 4, 5, 6, -1]
FST_NAMES = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", -1: "unknown", 12: "I-II", 34: "III-IV", 56: "V-VI"}
DEMO_NOTE = "Demo profile: synthetic stand-in world, not patient data"


def set_style() -> None:
    """The book's figure style: white grid, colour-blind palette, readable font sizes."""
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "axes.titleweight": "bold"})


def _note(fig, text: str | None) -> None:
    if text:
        fig.text(0.99, 0.005, text, ha="right", va="bottom", fontsize=7, color="0.4", style="italic")


def plot_split_composition(counts: pd.DataFrame, note: str | None = None) -> plt.Figure:
    """Fig. 1A (left): images per label and split. ``counts``: columns split, label, count (any extra ignored)."""
    set_style()
    per = counts.groupby(["label", "split"], as_index=False)["count"].sum()
    order = per[per.split == "train"].sort_values("count", ascending=False).label.tolist() or sorted(per.label.unique())
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(order) + 1.4))
    splits = [s for s in SPLIT_ORDER if s in set(per.split)]
    left = np.zeros(len(order))
    for i, split in enumerate(splits):
        values = per[per.split == split].set_index("label")["count"].reindex(order).fillna(0).to_numpy()
        ax.barh(order, values, left=left, color=PALETTE[i], label=SPLIT_NAMES.get(split, split))
        left += values
    for y, total in enumerate(left):
        ax.text(total + max(left) * 0.01, y, f"{int(total)}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("images (count)")
    ax.set_ylabel("")
    ax.set_title("Images per label and split")
    ax.legend(loc="lower right", frameon=True)
    _note(fig, note)
    fig.tight_layout()
    return fig


def plot_fst_distribution(counts: pd.DataFrame, note: str | None = None) -> plt.Figure:
    """Fig. 1A (right): share of images per skin type within each split. ``counts``: split, fst, count."""
    set_style()
    per = counts.groupby(["split", "fst"], as_index=False)["count"].sum()
    per["share"] = per["count"] / per.groupby("split")["count"].transform("sum") * 100
    fsts = [f for f in FST_ORDER + [12, 34, 56] if f in set(per.fst)]
    splits = [s for s in SPLIT_ORDER if s in set(per.split)]
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    width = 0.8 / len(splits)
    x = np.arange(len(fsts))
    for i, split in enumerate(splits):
        share = per[per.split == split].set_index("fst")["share"].reindex(fsts).fillna(0)
        ax.bar(x + (i - (len(splits) - 1) / 2) * width, share, width, color=PALETTE[i], label=SPLIT_NAMES.get(split, split))
    ax.set_xticks(x, [FST_NAMES.get(f, str(f)) for f in fsts])
    ax.set_xlabel("Fitzpatrick skin type")
    ax.set_ylabel("share of split (%)")
    ax.set_title("Skin-type distribution per split")
    ax.legend(frameon=True)
    _note(fig, note)
    fig.tight_layout()
    return fig


def plot_image_grid(
    images: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    title: str,
    note: str | None = None,
) -> plt.Figure:
    """A grid of images (rows x cols, uint8 (R, C, H, W, 3); all-zero cells are left blank) with labels."""
    set_style()
    rows, cols = images.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(1.05 * cols + 2.2, 1.05 * rows + 0.6), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if images[r, c].any():
                ax.imshow(images[r, c])
            if r == 0:
                ax.set_title(col_labels[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontweight="bold")
    _note(fig, note)
    fig.tight_layout()
    return fig
