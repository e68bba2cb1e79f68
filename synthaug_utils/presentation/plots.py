"""One plotting function per figure, in one consistent, colour-blind-safe style.

Every function takes tidy data (DataFrames from the other modules), draws one figure and returns
it with the table it drew (:class:`Drawn`): the rows and columns behind every mark, after any
grouping or selection the function made, so the CSV saved beside a figure is exactly what is drawn.
None computes results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

PALETTE = sns.color_palette("colorblind")

PAGE_WIDTH_IN = 7.5  # the widest a figure is drawn (inches); shown at the page's content width


class Drawn(NamedTuple):
    """A drawn figure and the table of what it draws (saved as the figure's CSV by ``figures.show_figure``)."""

    fig: plt.Figure
    data: pd.DataFrame


def _columns(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The named columns that ``table`` has, in that order, with a fresh index."""
    return table[[c for c in columns if c in table.columns]].reset_index(drop=True)


RESULT_COLUMNS = ("accuracy", "ci_low", "ci_high", "stars")


def _width(per_panel: float, panels: int, extra: float = 0.3, least: float = 5.5) -> float:
    """Figure width for ``panels`` side by side: ``per_panel`` inches each, within [least, PAGE_WIDTH_IN]."""
    return float(min(PAGE_WIDTH_IN, max(least, per_panel * panels + extra)))


SPLIT_ORDER = ["train", "val", "test"]

SPLIT_NAMES = {"train": "training pool", "val": "validation", "test": "test"}

FST_ORDER = [1, 2, 3, 4, 5, 6, -1]

FST_NAMES = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", -1: "unknown", 12: "I-II", 34: "III-IV", 56: "V-VI"}


def set_style() -> None:
    """The book's figure style: white grid, colour-blind palette, readable font sizes."""
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=1.0)
    # Figures are drawn at most PAGE_WIDTH_IN wide and shown at that width = the page's content column
    # (presentation.figures): text of 10 pt or more is then at least the size of the body's footnotes.
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "axes.titleweight": "bold",
            "font.size": 10.5,
            "axes.titlesize": 11,
            "axes.labelsize": 10.5,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
            "legend.title_fontsize": 10,
        }
    )


def _note(fig, text: str | None) -> None:
    if text:
        fig.text(0.99, 0.005, text, ha="right", va="bottom", fontsize=10, color="0.4", style="italic")


def _legend_below(fig, ax, note: str | None, ncol: int | None = None, room: float | None = None) -> None:
    """The legend of ``ax`` under the panels (never over the data), the note under it; then the layout."""
    handles, labels = ax.get_legend_handles_labels()
    ncol = ncol or min(len(labels), 3)
    rows = -(-len(labels) // ncol)
    height = fig.get_figheight()
    room = room if room is not None else (0.32 + 0.25 * rows) / height  # inches for the note, then the legend
    fig.legend(
        handles, labels, loc="lower center", ncol=ncol, fontsize=10, frameon=False, bbox_to_anchor=(0.5, 0.2 / height)
    )
    _note(fig, note)
    fig.tight_layout(rect=(0, room, 1, 1))


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
        ax.barh(order, values, left=left, color=PALETTE[i], label=SPLIT_NAMES.get(split, split))
        left += values
    for y, total in enumerate(left):
        ax.text(total + max(left) * 0.01, y, f"{int(total)}", va="center", fontsize=10)
    ax.invert_yaxis()
    ax.set_xlabel("images (count)")
    ax.set_ylabel("")
    ax.set_title("Images per label and split")
    _legend_below(fig, ax, note)
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
            x + (i - (len(splits) - 1) / 2) * width, share, width, color=PALETTE[i], label=SPLIT_NAMES.get(split, split)
        )
    ax.set_xticks(x, [FST_NAMES.get(f, str(f)) for f in fsts])
    ax.set_xlabel("Fitzpatrick skin type")
    ax.set_ylabel("share of split (%)")
    ax.set_title("Skin-type distribution per split")
    _legend_below(fig, ax, note)
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
    cell = min(1.05, (PAGE_WIDTH_IN - 2.2) / cols)
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
    _note(fig, note)
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


# ----------------------------------------------------------------------------- results figures
METHOD_ORDER = ["none", "inpaint", "outpaint", "in-then-outpaint", "text-to-image"]

METHOD_COLOURS = {m: PALETTE[i] for i, m in enumerate(METHOD_ORDER)}

TRANSFORM_STYLE = {True: "-", False: "--"}

TRANSFORM_NAMES = {True: "with image transforms", False: "without image transforms"}

NONE_NAME = "none"


def _errorbar(ax, x, table: pd.DataFrame, colour, style: str, label: str, offset: float = 0.0):
    """Accuracy (%) with its Wald interval as error bars; ``table`` has accuracy, ci_low, ci_high."""
    y = table["accuracy"].to_numpy() * 100
    err = np.vstack([y - table["ci_low"].to_numpy() * 100, table["ci_high"].to_numpy() * 100 - y])
    ax.errorbar(
        np.asarray(x, float) + offset,
        y,
        yerr=err,
        color=colour,
        linestyle=style,
        marker="o",
        ms=4,
        capsize=2.5,
        lw=1.4,
        label=label,
    )


def _stars(ax, x, table: pd.DataFrame, offset: float = 0.0, colour="0.15"):
    for xi, (_, row) in zip(x, table.iterrows()):
        if isinstance(row.get("stars"), str) and row["stars"]:
            ax.annotate(
                row["stars"],
                (xi + offset, row["ci_high"] * 100),
                textcoords="offset points",
                xytext=(0, 2),
                ha="center",
                fontsize=10,
                color=colour,
            )


def plot_fig3(table: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fig. 3: accuracy (%) vs real images per class, one panel per method; baseline in every panel.

    ``table``: :func:`synthaug_utils.analysis.tables.fig3_table`. Solid lines: with image transforms;
    dashed: without. Stars: BH-adjusted p of the method vs no synthetic data at that n.
    """
    set_style()
    methods = [m for m in METHOD_ORDER[1:] if m in set(table.method)]
    ns = sorted(table.n_real.unique())
    xpos = {n: i for i, n in enumerate(ns)}
    fig, axes = plt.subplots(1, len(methods), figsize=(_width(2.4, len(methods)), 4.6), sharey=True, squeeze=False)
    for ax, method in zip(axes[0], methods):
        for tf in sorted(table.transforms.unique(), reverse=True):
            for arm, colour in ((NONE_NAME, "0.45"), (method, METHOD_COLOURS[method])):
                rows = table[(table.method == arm) & (table.transforms == tf)].sort_values("n_real")
                x = [xpos[n] for n in rows.n_real]
                off = 0.06 if arm == method else -0.06
                _errorbar(
                    ax,
                    x,
                    rows,
                    colour,
                    TRANSFORM_STYLE[bool(tf)],
                    f"{'no synthetic' if arm == NONE_NAME else arm}, {TRANSFORM_NAMES[bool(tf)]}",
                    off,
                )
                if arm == method:
                    _stars(ax, x, rows, off, colour)
        ax.set_xticks(range(len(ns)), [str(n) for n in ns])
        ax.set_xlabel("real images per class")
        ax.set_title(method)
    axes[0, 0].set_ylabel("test accuracy (%)")
    handles, labels = axes[0, -1].get_legend_handles_labels()
    _legend_below(fig, axes[0, -1], note, ncol=2)
    return Drawn(
        fig,
        _columns(table[table.method.isin([NONE_NAME, *methods])], ("n_real", "transforms", "method", *RESULT_COLUMNS)),
    )


def plot_figS1(table: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fig. S-1: accuracy gain (percentage points) per disease (rows) and method (columns), as a heatmap."""
    set_style()
    pivot = table.pivot(index="true", columns="method", values="gain") * 100
    pivot = pivot[[m for m in METHOD_ORDER if m in pivot.columns]]
    fig, ax = plt.subplots(figsize=(min(PAGE_WIDTH_IN, 1.3 * pivot.shape[1] + 3.8), 0.45 * pivot.shape[0] + 1.5))
    lim = max(np.nanmax(np.abs(pivot.to_numpy())), 1)
    sns.heatmap(
        pivot,
        ax=ax,
        cmap="vlag",
        center=0,
        vmin=-lim,
        vmax=lim,
        annot=True,
        fmt="+.1f",
        cbar_kws={"label": "gain over no synthetic (percentage points)"},
    )
    ax.set_xlabel("generation method")
    ax.set_ylabel("")
    ax.set_title("Per-disease accuracy gain from synthetic data")
    _note(fig, note)
    fig.tight_layout()
    return Drawn(fig, pivot.rename_axis(columns=None).reset_index().rename(columns={"true": "label"}))


def plot_fig4(table: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fig. 4: accuracy (%) vs synthetic images per real image, one panel per n real; stars vs ratio 0."""
    set_style()
    ns = sorted(table.n_real.unique())
    fig, axes = plt.subplots(1, len(ns), figsize=(_width(2.4, len(ns)), 3.9), sharey=True, squeeze=False)
    for ax, n in zip(axes[0], ns):
        ratios = sorted(table.synthetic_ratio.unique())
        for i, tf in enumerate(sorted(table.transforms.unique(), reverse=True)):
            rows = table[(table.n_real == n) & (table.transforms == tf)].sort_values("synthetic_ratio")
            x = [ratios.index(r) for r in rows.synthetic_ratio]
            _errorbar(
                ax,
                x,
                rows,
                PALETTE[4 if tf else 0],
                TRANSFORM_STYLE[bool(tf)],
                TRANSFORM_NAMES[bool(tf)],
                0.05 * (i - 0.5),
            )
            _stars(ax, x, rows, 0.05 * (i - 0.5))
        ax.set_xticks(range(len(ratios)), [str(r) for r in ratios])
        ax.set_xlabel("synthetic images per real image")
        ax.set_title(f"{n} real images per class")
    axes[0, 0].set_ylabel("test accuracy (%)")
    _legend_below(fig, axes[0, -1], note)
    return Drawn(fig, _columns(table, ("n_real", "transforms", "synthetic_ratio", *RESULT_COLUMNS)))


def plot_fig5(table: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fig. 5: malignant-vs-benign accuracy (%) per skin-tone bin, bars per method, one panel per transforms setting."""
    set_style()
    bins = [b for b in ("12", "34", "56", "all") if b in set(table.fst.astype(str))]
    methods = [m for m in METHOD_ORDER if m in set(table.method)]
    tfs = sorted(table.transforms.unique(), reverse=True)
    fig, axes = plt.subplots(1, len(tfs), figsize=(_width(3.6, len(tfs)), 3.9), sharey=True, squeeze=False)
    width = 0.8 / len(methods)
    for ax, tf in zip(axes[0], tfs):
        for j, method in enumerate(methods):
            rows = (
                table[(table.transforms == tf) & (table.method == method)]
                .assign(fst=lambda d: d.fst.astype(str))
                .set_index("fst")
                .reindex(bins)
            )
            x = np.arange(len(bins)) + (j - (len(methods) - 1) / 2) * width
            y = rows["accuracy"].to_numpy() * 100
            err = np.vstack([y - rows["ci_low"].to_numpy() * 100, rows["ci_high"].to_numpy() * 100 - y])
            ax.bar(
                x,
                y,
                width,
                yerr=err,
                capsize=2,
                color=METHOD_COLOURS[method],
                label="no synthetic" if method == "none" else method,
            )
            for xi, (_, row) in zip(x, rows.iterrows()):
                if isinstance(row.get("stars"), str) and row["stars"]:
                    ax.annotate(
                        row["stars"],
                        (xi, row["ci_high"] * 100),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        fontsize=10,
                    )
        ax.set_xticks(
            range(len(bins)), [{"12": "FST I-II", "34": "FST III-IV", "56": "FST V-VI", "all": "all"}[b] for b in bins]
        )
        ax.set_title(TRANSFORM_NAMES[bool(tf)])
        ax.set_xlabel("skin-tone bin")
    axes[0, 0].set_ylabel("test accuracy (%)")
    _legend_below(fig, axes[0, -1], note)
    return Drawn(
        fig,
        _columns(
            table[table.method.isin(methods) & table.fst.astype(str).isin(bins)],
            ("fst", "transforms", "method", *RESULT_COLUMNS),
        ),
    )


def plot_figS2(pooled: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fig. S-2: rare-label and overall accuracy (%) vs images kept of the rare label, lines per control.

    ``pooled``: :func:`synthaug_utils.analysis.tables.figS2_pooled` (accuracy and Wald interval per
    scope, rare_n and control), drawn as it is.
    """
    set_style()
    scopes = [s for s in ("rare label", "overall") if s in set(pooled.scope)]
    fig, axes = plt.subplots(1, len(scopes), figsize=(_width(3.6, len(scopes)), 3.9), squeeze=False)
    colours = {"none": "0.45", "duplicate": PALETTE[0], "synthetic": PALETTE[2]}
    names = {"none": "no rebalancing", "duplicate": "duplicated real images", "synthetic": "synthetic images (inpaint)"}
    for ax, scope in zip(axes[0], scopes):
        sub = pooled[pooled.scope == scope]
        for control in ("none", "duplicate", "synthetic"):
            rows = sub[sub.control == control].sort_values("rare_n")
            if rows.empty:
                continue
            _errorbar(ax, rows.rare_n, rows, colours[control], "-", names[control])
        ax.set_xscale("log", base=2)
        ticks = sorted(sub.rare_n.dropna().unique())
        ax.set_xticks(ticks, [str(int(t)) for t in ticks])
        ax.set_xlabel("real images kept of the rare label")
        ax.set_title(f"accuracy on the {scope}" if scope == "rare label" else "overall accuracy")
    axes[0, 0].set_ylabel("test accuracy (%)")
    _legend_below(fig, axes[0, -1], note)
    return Drawn(fig, pooled.reset_index(drop=True))


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
    _note(fig, note)
    fig.tight_layout()
    return Drawn(
        fig,
        _columns(meta, ("image_id", "label", "method", colour_by)).assign(
            **{name.lower().replace(" ", ""): coords[:, k] for k, name in enumerate(axis_names)}
        ),
    )


def plot_distance_distributions(long: pd.DataFrame, tests: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fig. 2C: cosine distance (1 - cosine similarity) distributions per pair group, means and BH p-values
    against real-real: the image-level test's and the paper's t-test's
    (:func:`synthaug_utils.analysis.pair_distances.distance_comparisons`)."""
    set_style()
    order = tests["group"].tolist()
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 0.95 * len(order) + 1.6))
    palette = ["0.55"] + [PALETTE[i % len(PALETTE)] for i in range(1, len(order))]
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
    _note(fig, note)
    fig.tight_layout()
    return Drawn(fig, _columns(long, ("group", "distance")))


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
    fig, axes = plt.subplots(2, 3, figsize=(PAGE_WIDTH_IN, 6.8))
    axes = axes.ravel()
    axes[-1].axis("off")
    for ax, (col, name) in zip(axes, metrics):
        colours = [METHOD_COLOURS.get(m, PALETTE[0]) for m in overall["method"]]
        ax.bar(range(len(overall)), overall[col], color=colours)
        ax.set_xticks(range(len(overall)), overall["set"], fontsize=10, rotation=30, ha="right")
        ax.set_title(name, fontsize=10)
    _note(fig, note)
    fig.tight_layout()
    return Drawn(fig, _columns(overall, ["method", "variant", *(col for col, _ in metrics)]))


def plot_quality_vs_gain(joined: pd.DataFrame, metric: str, metric_name: str, note: str | None = None) -> Drawn:
    """Per (method, label): a quality metric of the synthetic set (x) against the accuracy gain it brought (y, pp)."""
    set_style()
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for method, sub in joined.groupby("method"):
        ax.scatter(sub[metric], sub["gain"] * 100, color=METHOD_COLOURS.get(method, PALETTE[0]), label=method, s=28)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel(metric_name)
    ax.set_ylabel("accuracy gain over no synthetic (percentage points)")
    ax.set_title("Set quality vs accuracy gain, per class and method")
    ax.legend(fontsize=10)
    _note(fig, note)
    fig.tight_layout()
    return Drawn(fig, _columns(joined, ("label", "method", metric, "gain")))


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
    fig, axes = plt.subplots(2, n, figsize=(min(PAGE_WIDTH_IN, 1.7 * n), 4.3))
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
    _note(fig, note)
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
    cell = min(1.25, (PAGE_WIDTH_IN - left - right) / len(columns))
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
    _note(fig, note)
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
        ax.barh(y, part.accuracy, height=height, color=PALETTE[k % len(PALETTE)], label=group)
    ax.axvline(chance, color="0.3", ls="--", lw=1)
    ax.text(chance, len(labels) - 0.4, " chance", fontsize=10, color="0.3", va="bottom")
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share classified as the prompted class")
    _legend_below(fig, ax, note, ncol=2)
    return Drawn(fig, _columns(table, ("group", "label", "accuracy")).assign(chance=chance))


def plot_mask_mad(table: pd.DataFrame, note: str | None = None) -> Drawn:
    """Mean absolute difference (grey levels) between source and output, inside vs outside the mask.

    ``table``: columns method, variant, region ('inside mask' / 'outside mask'), mad.
    """
    set_style()
    table = table.assign(case=table.method + "\n" + table.variant)
    cases = list(dict.fromkeys(table.case))
    regions = list(dict.fromkeys(table.region))
    fig, ax = plt.subplots(figsize=(min(PAGE_WIDTH_IN, 1.3 * len(cases) + 2), 3.4))
    width = 0.8 / len(regions)
    for k, region in enumerate(regions):
        part = table[table.region == region].set_index("case").reindex(cases)
        x = np.arange(len(cases)) + (k - (len(regions) - 1) / 2) * width
        ax.bar(x, part.mad, width=width, color=PALETTE[k], label=region)
    ax.set_xticks(np.arange(len(cases)))
    ax.set_xticklabels([c.replace(", ", ",\n") for c in cases], fontsize=10)
    ax.set_ylabel("mean |output - source| (grey levels, 0-255)")
    ax.legend(fontsize=10)
    fig.tight_layout()
    _note(fig, note)
    return Drawn(fig, _columns(table, ("method", "variant", "region", "mad")))


def plot_generation_cost(table: pd.DataFrame, note: str | None = None) -> Drawn:
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
        ax.text(v, i, f" {v:.0f}", va="center", fontsize=10)
    ax.set_yticks(np.arange(len(table)))
    ax.set_yticklabels(table.name, fontsize=10)
    ax.invert_yaxis()
    ax.set_xlabel("images per second (this machine)")
    fig.tight_layout()
    _note(fig, note)
    return Drawn(fig, _columns(table, ("name", "method", "setting", "images_per_s")))


# ----------------------------------------------------------------------------- training modes
def plot_mode_gap(pairs: pd.DataFrame, note: str | None = None) -> Drawn:
    """Fast mode against the faithful recipe on the same trials: top-1 accuracy (%) of each pair,
    faithful on x, fast on y, the identity line dashed. ``pairs``: rows of
    :func:`synthaug_utils.experiments.chapters.fast_vs_faithful` (columns fast, faithful, method, n_real)."""
    set_style()
    fig, ax = plt.subplots(figsize=(5.0, 4.2))
    methods = list(dict.fromkeys(pairs.method))
    sizes = sorted(pairs.n_real.unique())
    markers = ["o", "s", "^", "D", "v", "P"]
    for i, method in enumerate(methods):
        for j, n in enumerate(sizes):
            part = pairs[(pairs.method == method) & (pairs.n_real == n)]
            if len(part):
                ax.scatter(
                    part.faithful * 100,
                    part.fast * 100,
                    color=PALETTE[i % len(PALETTE)],
                    marker=markers[j % len(markers)],
                    s=46,
                    edgecolor="0.2",
                    linewidth=0.5,
                    label=f"{method}, n={n}",
                )
    low = min(pairs.fast.min(), pairs.faithful.min()) * 100 - 3
    high = max(pairs.fast.max(), pairs.faithful.max()) * 100 + 3
    ax.plot([low, high], [low, high], ls="--", color="0.4", lw=1, label="fast = faithful")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("faithful fastai recipe: top-1 accuracy (%)")
    ax.set_ylabel("fast mode: top-1 accuracy (%)")
    ax.set_title("Fast mode vs the faithful recipe, same trials")
    ax.legend(fontsize=10, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=True)
    _note(fig, note)
    fig.tight_layout()
    return Drawn(fig, _columns(pairs, ("method", "n_real", "transforms", "seed", "fast", "faithful")))


def plot_learning_curve(table: pd.DataFrame, chance: float, note: str | None = None) -> Drawn:
    """Top-1 accuracy (%) against real images per class (log axis), Wald 95% bars, chance dashed.
    ``table``: :func:`synthaug_utils.analysis.tables.learning_curve_table` (n_real, accuracy, ci_low, ci_high)."""
    set_style()
    t = table.sort_values("n_real")
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    yerr = np.vstack([t.accuracy - t.ci_low, t.ci_high - t.accuracy]) * 100
    ax.errorbar(
        t.n_real, t.accuracy * 100, yerr=yerr, marker="o", color=PALETTE[0], capsize=3, label="real images only"
    )
    ax.axhline(chance * 100, ls="--", color="0.5", lw=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(t.n_real, [str(int(n)) for n in t.n_real])
    ax.minorticks_off()
    ax.set_xlabel("real training images per class (count, log scale)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Learning curve without synthetic data")
    ax.legend(frameon=True, loc="lower right")
    _note(fig, note)
    fig.tight_layout()
    return Drawn(fig, _columns(t, ("n_real", "accuracy", "ci_low", "ci_high")).assign(chance=chance))
