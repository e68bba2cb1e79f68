"""One plotting function per results figure: the classifiers' accuracy in Figs. 3, 4, 5, S-1 and S-2,
fast against faithful training, and the learning curve; in the book's one style
(:mod:`synthaug_utils.presentation.plot_style`).

Every function takes tidy data (DataFrames from the other modules), draws one figure and returns
it with the table it drew (:class:`~synthaug_utils.presentation.plot_style.Drawn`): the rows and columns
behind every mark, after any grouping or selection the function made, so the CSV saved beside a figure is
exactly what is drawn. None computes results.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthaug_utils.presentation.plot_style import (
    METHOD_COLOURS,
    METHOD_ORDER,
    PAGE_WIDTH_IN,
    PALETTE,
    Drawn,
    add_note,
    columns_present,
    legend_below,
    set_style,
)

RESULT_COLUMNS = ("accuracy", "ci_low", "ci_high", "stars")


def _width(per_panel: float, panels: int, extra: float = 0.3, least: float = 5.5) -> float:
    """Figure width for ``panels`` side by side: ``per_panel`` inches each, within [least, PAGE_WIDTH_IN]."""
    return float(min(PAGE_WIDTH_IN, max(least, per_panel * panels + extra)))


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
    legend_below(fig, axes[0, -1], note, ncol=2)
    return Drawn(
        fig,
        columns_present(
            table[table.method.isin([NONE_NAME, *methods])], ("n_real", "transforms", "method", *RESULT_COLUMNS)
        ),
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
    add_note(fig, note)
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
    legend_below(fig, axes[0, -1], note)
    return Drawn(fig, columns_present(table, ("n_real", "transforms", "synthetic_ratio", *RESULT_COLUMNS)))


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
    legend_below(fig, axes[0, -1], note)
    return Drawn(
        fig,
        columns_present(
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
    legend_below(fig, axes[0, -1], note)
    return Drawn(fig, pooled.reset_index(drop=True))


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
    add_note(fig, note)
    fig.tight_layout()
    return Drawn(fig, columns_present(pairs, ("method", "n_real", "transforms", "seed", "fast", "faithful")))


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
    add_note(fig, note)
    fig.tight_layout()
    return Drawn(fig, columns_present(t, ("n_real", "accuracy", "ci_low", "ci_high")).assign(chance=chance))
