"""The book's one figure style: the colour-blind-safe palette, the page width, fonts, where notes and
legends go, the generation methods' colours, and :class:`Drawn` (a figure with the table it draws).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PALETTE = sns.color_palette("colorblind")

PAGE_WIDTH_IN = 7.5  # the widest a figure is drawn (inches); shown at the page's content width


class Drawn(NamedTuple):
    """A drawn figure and the table of what it draws (saved as the figure's CSV by ``figures.show_figure``)."""

    fig: plt.Figure
    data: pd.DataFrame


def columns_present(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The named columns that ``table`` has, in that order, with a fresh index."""
    return table[[c for c in columns if c in table.columns]].reset_index(drop=True)


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


def add_note(fig, text: str | None) -> None:
    """``text`` (the profile's figure note) in small grey italics at the figure's bottom right."""
    if text:
        fig.text(0.99, 0.005, text, ha="right", va="bottom", fontsize=10, color="0.4", style="italic")


def legend_below(fig, ax, note: str | None, ncol: int | None = None, room: float | None = None) -> None:
    """The legend of ``ax`` under the panels (never over the data), the note under it; then the layout."""
    handles, labels = ax.get_legend_handles_labels()
    ncol = ncol or min(len(labels), 3)
    rows = -(-len(labels) // ncol)
    height = fig.get_figheight()
    room = room if room is not None else (0.32 + 0.25 * rows) / height  # inches for the note, then the legend
    fig.legend(
        handles, labels, loc="lower center", ncol=ncol, fontsize=10, frameon=False, bbox_to_anchor=(0.5, 0.2 / height)
    )
    add_note(fig, note)
    fig.tight_layout(rect=(0, room, 1, 1))


METHOD_ORDER = ["none", "inpaint", "outpaint", "in-then-outpaint", "text-to-image"]

METHOD_COLOURS = {m: PALETTE[i] for i, m in enumerate(METHOD_ORDER)}
