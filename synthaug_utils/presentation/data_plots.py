"""One plotting function per figure of the data and the synthetic images rather than of trial results:
the dataset's composition and example images (chapter 01), the masks, samples, class-identity gate, mask
fidelity and generation cost (02), and the embeddings, pairwise distances and set quality (07); in the book's
one style (:mod:`synthaug_utils.presentation.plot_style`).

Like :mod:`synthaug_utils.presentation.plots`, every function returns the figure with the table it drew
(:class:`~synthaug_utils.presentation.plot_style.Drawn`). None computes results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthaug_utils.presentation import plot_style as style
from synthaug_utils.presentation.plot_style import Drawn, add_note, set_style

SPLIT_ORDER = ["train", "val", "test"]

SPLIT_NAMES = {"train": "training pool", "val": "validation", "test": "test"}

FST_ORDER = [1, 2, 3, 4, 5, 6, -1]

FST_NAMES = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", -1: "unknown", 12: "I-II", 34: "III-IV", 56: "V-VI"}


def plot_split_composition(counts: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fig. 1A (left): images per label and split. ``counts``: columns split, label, count (any extra ignored)."""
    set_style()
    per = counts.groupby(["label", "split"], as_index=False)["count"].sum()
    order = per[per.split == "train"].sort_values("count", ascending=False).label.tolist() or sorted(per.label.unique())
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(order) + 1.4))
    splits = [s for s in SPLIT_ORDER if s in set(per.split)]
    left = np.zeros(len(order))
    for i, split in enumerate(splits):
        values = per[per.split == split].set_index("label")["count"].reindex(order).fillna(0).to_numpy()
        ax.barh(order, values, left=left, color=style.PALETTE[i], label=SPLIT_NAMES.get(split, split))
        left += values
    for y, total in enumerate(left):
        ax.text(total + max(left) * 0.01, y, f"{int(total)}", va="center", fontsize=10)
    ax.invert_yaxis()
    ax.set_xlabel("images (count)")
    ax.set_ylabel("")
    ax.set_title("Images per label and split")
    style.legend_below(fig, ax, note)
    return Drawn(fig, per[per.label.isin(order)].reset_index(drop=True))


def plot_fst_distribution(counts: pd.DataFrame, note: str | None = None) -> Drawn:
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
        ax.bar(
            x + (i - (len(splits) - 1) / 2) * width,
            share,
            width,
            color=style.PALETTE[i],
            label=SPLIT_NAMES.get(split, split),
        )
    ax.set_xticks(x, [FST_NAMES.get(f, str(f)) for f in fsts])
    ax.set_xlabel("Fitzpatrick skin type")
    ax.set_ylabel("share of split (%)")
    ax.set_title("Skin-type distribution per split")
    style.legend_below(fig, ax, note)
    return Drawn(fig, per[per.fst.isin(fsts)].reset_index(drop=True))


def plot_image_grid(
    images: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    title: str,
    note: str | None = None,
    data: pd.DataFrame | None = None,
) -> Drawn:
    """A grid of images (rows x cols, uint8 (R, C, H, W, 3); all-zero cells are left blank) with labels.
    ``data``: the table of the images shown (e.g. their ids), returned as what is drawn; default one row per cell."""
    set_style()
    rows, cols = images.shape[:2]
    cell = min(1.05, (style.PAGE_WIDTH_IN - 2.2) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cell * cols + 2.2, cell * rows + 0.6), squeeze=False)
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
                ax.set_title(col_labels[c], fontsize=10)
            if c == 0:
                ax.set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=10)
    fig.suptitle(title, fontweight="bold")
    add_note(fig, note)
    fig.tight_layout()
    return Drawn(
        fig,
        (
            pd.DataFrame(
                [
                    {"row": row_labels[r], "column": col_labels[c], "image": bool(images[r, c].any())}
                    for r in range(rows)
                    for c in range(cols)
                ]
            )
            if data is None
            else data
        ),
    )


# ----------------------------------------------------------------------------- embeddings (Fig. 2, S-3) and quality
def _thumbnail(ax, image: np.ndarray, xy, zoom: float = 0.45, edge="0.2"):
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    box = AnnotationBbox(
        OffsetImage(image, zoom=zoom), xy, frameon=True, pad=0.1, bboxprops={"edgecolor": edge, "lw": 0.8}
    )
    ax.add_artist(box)


def plot_projection(
    coords: np.ndarray,
    meta: pd.DataFrame,
    colour_by: str,
    title: str,
    thumbnails: dict[int, np.ndarray] | None = None,
    axis_names: tuple[str, str] = ("PC 1", "PC 2"),
    note: str | None = None,
) -> Drawn:
    """Fig. 2A/2B, S-3: a 2-D projection (N, 2) of embeddings coloured by a ``meta`` column, with image thumbnails.

    ``thumbnails`` maps a row index of ``meta`` to a uint8 image drawn at that point.
    """
    set_style()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    groups = sorted(meta[colour_by].astype(str).unique())
    colours = dict(
        zip(
            groups,
            sns.color_palette("colorblind", len(groups))
            if len(groups) <= 10
            else sns.color_palette("husl", len(groups)),
        )
    )
    for group in groups:
        mask = (meta[colour_by].astype(str) == group).to_numpy()
        ax.scatter(coords[mask, 0], coords[mask, 1], s=7, alpha=0.55, color=colours[group], label=group, lw=0)
    for index, image in (thumbnails or {}).items():
        _thumbnail(ax, image, coords[index], edge=colours[str(meta[colour_by].iloc[index])])
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(title)
    ax.legend(fontsize=10, markerscale=2, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    add_note(fig, note)
    fig.tight_layout()
    return Drawn(
        fig,
        style.columns_present(meta, ("image_id", "label", "method", colour_by)).assign(
            **{name.lower().replace(" ", ""): coords[:, k] for k, name in enumerate(axis_names)}
        ),
    )


def plot_distance_distributions(long: pd.DataFrame, tests: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fig. 2C: cosine distance (1 - cosine similarity) distributions per pair group, means and BH p-values
    against real-real: the image-level test's and the paper's t-test's
    (:func:`synthaug_utils.analysis.pair_distances.distance_comparisons`)."""
    set_style()
    order = tests["group"].tolist()
    fig, ax = plt.subplots(figsize=(style.PAGE_WIDTH_IN, 0.95 * len(order) + 1.6))
    palette = ["0.55"] + [style.PALETTE[i % len(style.PALETTE)] for i in range(1, len(order))]
    sns.boxplot(
        data=long,
        y="group",
        x="distance",
        order=order,
        palette=palette,
        hue="group",
        legend=False,
        ax=ax,
        fliersize=1,
        linewidth=0.8,
    )
    ticks = []  # each group's mean and both BH p under its name (no text outside the axes)
    for _, row in tests.iterrows():
        tested = np.isfinite(row["image_p_bh"]) or np.isfinite(row["paper_p_bh"])
        ticks.append(
            f"{row['group']}\nmean {row['mean']:.3f}"
            + ("" if not tested else f"\nBH p: images {row['image_p_bh']:.2g}, paper's t-test {row['paper_p_bh']:.2g}")
        )
    ax.set_yticks(range(len(order)), ticks)
    ax.set_xlabel("cosine distance between embeddings (1 - cosine similarity)")
    ax.set_ylabel("")
    ax.set_title("Pairwise embedding distances")
    add_note(fig, note)
    fig.tight_layout()
    return Drawn(fig, style.columns_present(long, ("group", "distance")))


def plot_quality(table: pd.DataFrame, note: str | None = None) -> Drawn:
    """Synthetic-set quality per method (all labels): Fréchet distance, kernel distance, precision, recall, memorised
    share."""
    set_style()
    overall = table[table.label == "all"].copy()
    overall["set"] = overall["method"] + "\n" + overall["variant"]
    metrics = [
        ("frechet", "Fréchet distance\n(lower = closer)"),
        ("kernel", "kernel distance (MMD²)\n(lower = closer)"),
        ("precision", "precision (k-NN)\n(share realistic)"),
        ("recall", "recall (k-NN)\n(share of real covered)"),
        ("memorised_share", "memorised share\n(nearest real = own source)"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(style.PAGE_WIDTH_IN, 6.8))
    axes = axes.ravel()
    axes[-1].axis("off")
    for ax, (col, name) in zip(axes, metrics):
        colours = [style.METHOD_COLOURS.get(m, style.PALETTE[0]) for m in overall["method"]]
        ax.bar(range(len(overall)), overall[col], color=colours)
        ax.set_xticks(range(len(overall)), overall["set"], fontsize=10, rotation=30, ha="right")
        ax.set_title(name, fontsize=10)
    add_note(fig, note)
    fig.tight_layout()
    return Drawn(fig, style.columns_present(overall, ["method", "variant", *(col for col, _ in metrics)]))


def plot_quality_vs_gain(joined: pd.DataFrame, metric: str, metric_name: str, note: str | None = None) -> Drawn:
    """Per (method, label): a quality metric of the synthetic set (x) against the accuracy gain it brought (y, pp)."""
    set_style()
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for method, sub in joined.groupby("method"):
        ax.scatter(
            sub[metric], sub["gain"] * 100, color=style.METHOD_COLOURS.get(method, style.PALETTE[0]), label=method, s=28
        )
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel(metric_name)
    ax.set_ylabel("accuracy gain over no synthetic (percentage points)")
    ax.set_title("Set quality vs accuracy gain, per class and method")
    ax.legend(fontsize=10)
    add_note(fig, note)
    fig.tight_layout()
    return Drawn(fig, style.columns_present(joined, ("label", "method", metric, "gain")))


# ----------------------------------------------------------------------------- generation chapter
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
    data: pd.DataFrame | None = None,
) -> Drawn:
    """Fig. 1B analogue. Top row: the source and each mask (tinted = repainted pixels).
    Bottom row: what each method makes from that source (``outputs``: title -> image). ``data``: the
    table of the images shown (e.g. their ids), returned as what is drawn; default one row per panel."""
    set_style()
    n = max(1 + len(masks), len(outputs))
    fig, axes = plt.subplots(2, n, figsize=(min(style.PAGE_WIDTH_IN, 1.7 * n), 4.3))
    axes = np.atleast_2d(axes)
    top = [("source", source)] + [(f"mask:\n{name}", _overlay(source, m)) for name, m in masks.items()]
    for ax, (title, img) in zip(axes[0], top):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=10)
    for ax, (title, img) in zip(axes[1], outputs.items()):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=10)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        if not ax.images:
            ax.axis("off")
    fig.tight_layout()
    add_note(fig, note)
    return Drawn(
        fig,
        (
            pd.DataFrame(
                [{"row": "masks", "panel": t.replace("\n", " ")} for t, _ in top]
                + [{"row": "outputs", "panel": t} for t in outputs]
            )
            if data is None
            else data
        ),
    )


def plot_sample_grid(
    images: Mapping[tuple[str, str], np.ndarray],
    rows: Sequence[str],
    columns: Sequence[str],
    note: str | None = None,
    title: str | None = None,
) -> Drawn:
    """Fig. S-4 analogue: a grid of images, ``images[(row, column)]`` (missing cells stay blank)."""
    set_style()
    left, right, top, bottom = 2.1, 0.7, 1.5, 0.45  # in: row names, the last slanted header, headers, the note
    cell = min(1.25, (style.PAGE_WIDTH_IN - left - right) / len(columns))
    width, height = cell * len(columns) + left + right, cell * len(rows) + top + bottom
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(width, height), squeeze=False)
    # fixed margins, not tight_layout: the slanted headers made it shrink the images to a few pixels
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        wspace=0.06,
        hspace=0.06,
    )
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
                ax.set_title(col, fontsize=10, rotation=60, ha="left", va="bottom")  # long names, narrow columns
            if j == 0:
                ax.set_ylabel(row, fontsize=10.5, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    add_note(fig, note)
    return Drawn(
        fig,
        pd.DataFrame(
            [{"row": row, "column": col} for row in rows for col in columns if (row, col) in images],
            columns=["row", "column"],
        ),
    )


def plot_class_accuracy(table: pd.DataFrame, chance: float, note: str | None = None) -> Drawn:
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
        ax.barh(y, part.accuracy, height=height, color=style.PALETTE[k % len(style.PALETTE)], label=group)
    ax.axvline(chance, color="0.3", ls="--", lw=1)
    ax.text(chance, len(labels) - 0.4, " chance", fontsize=10, color="0.3", va="bottom")
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share classified as the prompted class")
    style.legend_below(fig, ax, note, ncol=2)
    return Drawn(fig, style.columns_present(table, ("group", "label", "accuracy")).assign(chance=chance))


def plot_mask_mad(table: pd.DataFrame, note: str | None = None) -> Drawn:
    """Mean absolute difference (grey levels) between source and output, inside vs outside the mask.

    ``table``: columns method, variant, region ('inside mask' / 'outside mask'), mad.
    """
    set_style()
    table = table.assign(case=table.method + "\n" + table.variant)
    cases = list(dict.fromkeys(table.case))
    regions = list(dict.fromkeys(table.region))
    fig, ax = plt.subplots(figsize=(min(style.PAGE_WIDTH_IN, 1.3 * len(cases) + 2), 3.4))
    width = 0.8 / len(regions)
    for k, region in enumerate(regions):
        part = table[table.region == region].set_index("case").reindex(cases)
        x = np.arange(len(cases)) + (k - (len(regions) - 1) / 2) * width
        ax.bar(x, part.mad, width=width, color=style.PALETTE[k], label=region)
    ax.set_xticks(np.arange(len(cases)))
    ax.set_xticklabels([c.replace(", ", ",\n") for c in cases], fontsize=10)
    ax.set_ylabel("mean |output - source| (grey levels, 0-255)")
    ax.legend(fontsize=10)
    fig.tight_layout()
    add_note(fig, note)
    return Drawn(fig, style.columns_present(table, ("method", "variant", "region", "mad")))


def plot_generation_cost(table: pd.DataFrame, note: str | None = None) -> Drawn:
    """Images per second per method (``table``: columns method, images_per_s, optional setting)."""
    set_style()
    table = table.copy()
    if "setting" in table:
        table["name"] = table.method + " (" + table.setting.astype(str) + ")"
    else:
        table["name"] = table.method
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(table) + 1.2))
    ax.barh(np.arange(len(table)), table.images_per_s, color=style.PALETTE[2])
    for i, v in enumerate(table.images_per_s):
        ax.text(v, i, f" {v:.0f}", va="center", fontsize=10)
    ax.set_yticks(np.arange(len(table)))
    ax.set_yticklabels(table.name, fontsize=10)
    ax.invert_yaxis()
    ax.set_xlabel("images per second (this machine)")
    fig.tight_layout()
    add_note(fig, note)
    return Drawn(fig, style.columns_present(table, ("name", "method", "setting", "images_per_s")))
