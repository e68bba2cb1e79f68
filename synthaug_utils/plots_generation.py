"""Figures of the generation chapter (to be merged into :mod:`synthaug_utils.plots`).

Every function takes arrays or tidy DataFrames, draws one figure and returns the
matplotlib ``Figure``; none computes results. Images are uint8 (H, W, 3) arrays.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from synthaug_utils.plots import PALETTE, _note, set_style

METHOD_NAMES = {
    "text-to-image": "text-to-image",
    "inpaint": "inpaint",
    "outpaint": "outpaint",
    "in-then-outpaint": "in-then-outpaint",
}


def _overlay(image: np.ndarray, mask: np.ndarray, colour=(0, 114, 178), alpha: float = 0.55) -> np.ndarray:
    """``image`` with the True pixels of ``mask`` tinted (uint8 (H, W, 3))."""
    out = image.astype(float).copy()
    out[mask] = (1 - alpha) * out[mask] + alpha * np.asarray(colour, float)
    return out.round().astype(np.uint8)


def plot_mask_geometry(
    source: np.ndarray,
    masks: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    note: str | None = None,
) -> plt.Figure:
    """Fig. 1B analogue. Top row: the source and each mask (tinted = repainted pixels).
    Bottom row: what each method makes from that source (``outputs``: title -> image)."""
    set_style()
    n = max(1 + len(masks), len(outputs))
    fig, axes = plt.subplots(2, n, figsize=(1.9 * n, 4.3))
    axes = np.atleast_2d(axes)
    top = [("source", source)] + [(f"mask: {name}", _overlay(source, m)) for name, m in masks.items()]
    for ax, (title, img) in zip(axes[0], top):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=9)
    for ax, (title, img) in zip(axes[1], outputs.items()):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        if not ax.images:
            ax.axis("off")
    fig.tight_layout()
    _note(fig, note)
    return fig


def plot_sample_grid(
    images: Mapping[tuple[str, str], np.ndarray],
    rows: Sequence[str],
    columns: Sequence[str],
    note: str | None = None,
    title: str | None = None,
) -> plt.Figure:
    """Fig. S-4 analogue: a grid of images, ``images[(row, column)]`` (missing cells stay blank)."""
    set_style()
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(1.25 * len(columns) + 1.6, 1.25 * len(rows) + 0.6),
                             squeeze=False)
    for i, row in enumerate(rows):
        for j, col in enumerate(columns):
            ax = axes[i, j]
            img = images.get((row, col))
            if img is not None:
                ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for side in ax.spines.values():
                side.set_visible(img is not None)
            if i == 0:
                ax.set_title(col, fontsize=7.5, rotation=0)
            if j == 0:
                ax.set_ylabel(row, fontsize=7.5, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _note(fig, note)
    return fig


def plot_class_accuracy(table: pd.DataFrame, chance: float, note: str | None = None) -> plt.Figure:
    """Quality gate: accuracy of a real-image classifier on synthetic images, per class.

    ``table``: columns label, group (e.g. 'real test', 'text-to-image / pretrained'), accuracy (0-1).
    """
    set_style()
    labels = sorted(table.label.unique())
    groups = list(dict.fromkeys(table.group))
    fig, ax = plt.subplots(figsize=(7.5, 0.38 * len(labels) * max(1, len(groups)) / 2 + 1.6))
    height = 0.8 / len(groups)
    for k, group in enumerate(groups):
        part = table[table.group == group].set_index("label").reindex(labels)
        y = np.arange(len(labels)) + (k - (len(groups) - 1) / 2) * height
        ax.barh(y, part.accuracy, height=height, color=PALETTE[k % len(PALETTE)], label=group)
    ax.axvline(chance, color="0.3", ls="--", lw=1)
    ax.text(chance, len(labels) - 0.4, " chance", fontsize=8, color="0.3", va="bottom")
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share classified as the prompted class")
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    fig.tight_layout()
    _note(fig, note)
    return fig


def plot_mask_mad(table: pd.DataFrame, note: str | None = None) -> plt.Figure:
    """Mean absolute difference (grey levels) between source and output, inside vs outside the mask.

    ``table``: columns method, variant, region ('inside mask' / 'outside mask'), mad.
    """
    set_style()
    table = table.assign(case=table.method + "\n" + table.variant)
    cases = list(dict.fromkeys(table.case))
    regions = list(dict.fromkeys(table.region))
    fig, ax = plt.subplots(figsize=(1.3 * len(cases) + 2, 3.4))
    width = 0.8 / len(regions)
    for k, region in enumerate(regions):
        part = table[table.region == region].set_index("case").reindex(cases)
        x = np.arange(len(cases)) + (k - (len(regions) - 1) / 2) * width
        ax.bar(x, part.mad, width=width, color=PALETTE[k], label=region)
    ax.set_xticks(np.arange(len(cases)))
    ax.set_xticklabels(cases, fontsize=8)
    ax.set_ylabel("mean |output - source| (grey levels, 0-255)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _note(fig, note)
    return fig


def plot_generation_cost(table: pd.DataFrame, note: str | None = None) -> plt.Figure:
    """Images per second per method (``table``: columns method, images_per_s, optional setting)."""
    set_style()
    table = table.copy()
    if "setting" in table:
        table["name"] = table.method + " (" + table.setting.astype(str) + ")"
    else:
        table["name"] = table.method
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(table) + 1.2))
    ax.barh(np.arange(len(table)), table.images_per_s, color=PALETTE[2])
    for i, v in enumerate(table.images_per_s):
        ax.text(v, i, f" {v:.0f}", va="center", fontsize=8)
    ax.set_yticks(np.arange(len(table)))
    ax.set_yticklabels(table.name, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("images per second (this machine)")
    fig.tight_layout()
    _note(fig, note)
    return fig
