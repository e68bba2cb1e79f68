"""Numbered, captioned figures and readable tables on the book's pages.

:func:`show_figure` saves a figure's PNG and a CSV of exactly the numbers it draws next to the
chapter (``<book>/figures/``, the folder ``synthaug book`` names in :data:`FIGURE_DIR_ENV`), and
displays a MyST ``figure`` directive: "Figure 3. ..." in the paper's numbering (figures the paper
does not have are numbered E1, E2, ...), a caption that says what is plotted with the chapter's
computed numbers, a download link to the CSV and the commands that rebuild just that figure.
:func:`show_table` shows a table the same way: numbered (Table 7.1, 7.2, ... in page order), captioned,
its CSV saved beside the figures and linked; the table itself without its index, with readable
headers and proportions as percentages (:func:`table_styler`).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from synthaug_utils.analysis.tables import EQUIVALENCE_MARGIN
from synthaug_utils.core import chapters

FIGURE_DIR_ENV = "SYNTHAUG_FIGURE_DIR"  # <root>/book/figures during `synthaug book`
CHAPTER_ENV = "SYNTHAUG_CHAPTER"  # the executing chapter's name
FIGURE_FOLDER = "figures"  # relative to the chapter's page

# Legibility at the rendered width: the book's content column is about CONTENT_PX wide at a 1300 px
# window (measured on the smoke book's screenshots) and figures are drawn at 100% of it.
CONTENT_PX = 705
MIN_TEXT_PX = 13.0  # the body's footnote size ("small": 13 px at the 16 px body size)
DPI = 150  # saved PNGs: sharp at the content width on high-density screens


def figure_dir() -> Path:
    """Where figure files go: ``$SYNTHAUG_FIGURE_DIR`` (set by ``synthaug book``), else ``./figures``."""
    return Path(os.environ.get(FIGURE_DIR_ENV) or FIGURE_FOLDER)


def shown_width_percent(width_in: float) -> int:
    """How wide (% of the content column) a figure ``width_in`` inches wide is shown: a figure of
    ``plot_style.PAGE_WIDTH_IN`` or more fills the column, a narrower one keeps that scale."""
    from synthaug_utils.presentation.plot_style import PAGE_WIDTH_IN

    return int(min(100, math.ceil(100 * width_in / PAGE_WIDTH_IN - 1e-9)))


def min_text_px(fig, width_in: float | None = None, content_px: float = CONTENT_PX, draw: bool = True) -> float:
    """The smallest visible text of ``fig`` in CSS px as the page shows it (``width_in``: the saved
    figure's width, default the figure's own; shown at :func:`shown_width_percent` of ``content_px``).
    ``draw``: lay the figure out first (tick labels exist only then; not needed right after a savefig)."""
    from matplotlib.text import Text

    if draw:
        fig.canvas.draw()
    width_in = width_in or fig.get_figwidth()
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    scale = content_px * shown_width_percent(width_in) / 100 / (width_in * 72.0)  # px per point
    return min(sizes) * scale if sizes else float("inf")


def rebuild_commands(chapter: str, profile: str) -> tuple[str, str]:
    """The commands that rebuild one chapter's figures: ``synthaug book`` and the papermill line."""
    book = f"synthaug book --profile {profile} --chapters {chapter} --force"
    paper = (
        f"jupytext --to ipynb notebooks/{chapter}.py -o _build/{chapter}.ipynb && "
        f"papermill _build/{chapter}.ipynb _build/{chapter}.out.ipynb -p profile {profile}"
    )
    return book, paper


def caption_text(key: str, values: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(number, caption) of figure ``key`` (its chapter's registry entry), the caption filled from ``values``."""
    _chapter, figure = chapters.for_figure(key)
    number, template = figure.number, figure.caption
    try:
        return number, template.format_map(dict(values or {}))
    except KeyError as exc:
        raise KeyError(f"caption of figure {key!r} needs the value {exc}") from None


def figure_markdown(key: str, number: str, caption: str, chapter: str, profile: str, width_percent: int = 100) -> str:
    """The MyST figure directive for a saved figure: numbered caption, CSV link, rebuild commands."""
    book, paper = rebuild_commands(chapter, profile)
    return (
        f"```{{figure}} {FIGURE_FOLDER}/{key}.png\n:name: fig-{key}\n:width: {width_percent}%\n:alt: Figure "
        f"{number}\n\n"
        f"**Figure {number}.** {caption} Data: {{download}}`{key}.csv <{FIGURE_FOLDER}/{key}.csv>`. "
        f"Rebuild: `{book}`, or `{paper}`.\n```\n"
    )


def show_figure(drawn, key: str, profile: str, values: Mapping[str, str] | None = None, chapter: str | None = None):
    """Save a drawn figure (``plot_style.Drawn``: the PNG, and its table as the CSV of exactly what it draws)
    under :func:`figure_dir` and display the numbered, captioned figure (returns None, so a cell
    ending with it shows nothing more)."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display
    from PIL import Image

    fig, data = drawn
    chapter = chapter or os.environ.get(CHAPTER_ENV, "CHAPTER")

    number, caption = caption_text(key, values)
    folder = figure_dir()
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / f"{key}.png", dpi=DPI, bbox_inches="tight")
    with Image.open(folder / f"{key}.png") as image:
        width_in = image.size[0] / DPI
    smallest = min_text_px(fig, width_in, draw=False)  # savefig laid it out
    if smallest < MIN_TEXT_PX - 0.05:  # the terminal (and the build log) names it; the page stays clean
        print(
            f"figure {number} ({key}): smallest text {smallest:.1f} px as shown (< {MIN_TEXT_PX})",
            file=sys.__stderr__,
            flush=True,
        )
    plt.close(fig)
    pd.DataFrame(data).to_csv(folder / f"{key}.csv", index=False)
    text = figure_markdown(key, number, caption, chapter, profile, shown_width_percent(width_in))
    display(Markdown(text))


# ----------------------------------------------------------------------------- tables
# column -> (header, kind): kind "percent" (a proportion shown as %), "pp" (a difference of
# proportions, percentage points), "p" (p-value), "float", or "" (as it is)
_MARGIN = f"{EQUIVALENCE_MARGIN * 100:+.0f} pp"
COLUMNS: dict[str, tuple[str, str]] = {
    "n_real": ("real images per class", ""),
    "transforms": ("image transforms", ""),
    "method": ("synthetic source", ""),
    "accuracy": ("accuracy", "percent"),
    "ci_low": ("95% CI low", "percent"),
    "ci_high": ("95% CI high", "percent"),
    "seed_sd": ("SD over seeds", "pp"),
    "runs": ("runs", ""),
    "gain": ("gain", "pp"),
    "gain_low": ("gain CI low", "pp"),
    "gain_high": ("gain CI high", "pp"),
    "p": ("p", "p"),
    "p_bh": ("p (BH)", "p"),
    "p_per_run": ("p (runs as units)", "p"),
    "stars": ("", ""),
    "synthetic_ratio": ("synthetic per real", ""),
    "fst": ("skin-tone bin", ""),
    "scope": ("scope", ""),
    "rare_label": ("rare label", ""),
    "rare_n": ("rare images kept", ""),
    "control": ("rebalancing", ""),
    "fast": ("fast mode", "percent"),
    "faithful": ("faithful recipe", "percent"),
    "diff": ("fast - faithful", "pp"),
    "label": ("label", ""),
    "variant": ("generator", ""),
    "group": ("pair group", ""),
    "mean": ("mean", "float"),
    "seed": ("seed", ""),
    "images_per_s": ("images per second", "float"),
    # the reproduction table (values already in percent / percentage points)
    "quantity": ("quantity", ""),
    "setting": ("setting", ""),
    "paper": ("paper", "float"),
    "paper_ci": ("paper 95% CI", ""),
    "build": ("this build", "float"),
    "build_ci": ("this build's 95% CI", ""),
    "difference": ("difference", "float"),
    "paper_in_build_ci": ("paper inside this build's CI", ""),
    "status": ("status", ""),
    "gain_significant_at_small_n": ("gain significant below the largest n", ""),
    "gain_not_significant_at_largest_n": ("no significant gain at the largest n", ""),
    "shape_as_paper": ("shape as in the paper", ""),
    "first_step_significant": ("first ratio's gain significant", ""),
    "largest_step_beyond_first": ("largest step beyond the first ratio", "pp"),
    "increments_inside_noise": ("larger ratios inside the noise", ""),
    "saturates": ("saturates", ""),
    "gain_high_at_largest_n": ("95% upper bound at the largest n", "pp"),
    "peak_gain": ("peak gain below the largest n", "pp"),
    "below_margin_at_largest_n": (f"upper bound below the {_MARGIN} margin", ""),
    "below_peak_beyond_noise": ("below the peak beyond noise", ""),
    "diminishes": ("gain diminishes", ""),
    "largest_step_high": ("largest 95% upper bound of a step", "pp"),
    "increments_below_margin": (f"larger ratios below the {_MARGIN} margin", ""),
    "saturation": ("saturation", ""),
    "source": ("where the number comes from", ""),
    "weakest class": ("weakest class", "percent"),
    "best_n": ("n of the best gain", ""),
    "best_gain": ("best gain", "pp"),
    "gain_at_largest_n": ("gain at the largest n", "pp"),
    "largest_n": ("largest n", ""),
    "spearman_gain_vs_n": ("Spearman (gain, n)", "float"),
    "first_ratio": ("first ratio", ""),
    "gain_at_first_ratio": ("gain at the first ratio", "pp"),
    "best_gain_beyond": ("best gain beyond it", "pp"),
    "extra_gain_beyond_first": ("extra gain beyond it", "pp"),
    # the two analyses of every results chapter
    "gain_pp": ("gain (pp)", ""),
    "gain_ci_pp": ("gain 95% CI (pp)", ""),
    "paper_p": ("p, paper's convention", "p"),
    "paper_p_bh": ("paper's p (BH)", "p"),
    "paper_stars": ("paper's stars", ""),
    "primary_p_bh": ("primary p (BH)", "p"),
    "primary_stars": ("primary stars", ""),
    "agree": ("agree", ""),
    "arm": ("arm", ""),
    # chapter 02's seam measure
    "seam_ratio": ("seam ratio (synthetic / real)", "float"),
    "seam_rms": ("RMS step across the border, synthetic (grey levels)", "float"),
    "real_rms": ("RMS step across the border, real (grey levels)", "float"),
}


def _format(kind: str):
    if kind == "percent":
        return lambda v: "" if pd.isna(v) else f"{100 * v:.1f}"
    if kind == "pp":
        return lambda v: "" if pd.isna(v) else f"{100 * v:+.1f}"
    if kind == "p":
        return lambda v: "" if pd.isna(v) else (f"{v:.2g}" if v >= 1e-3 else f"{v:.1e}")
    if kind == "float":
        return lambda v: (
            ""
            if pd.isna(v)
            else (f"{v:.3g}" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else str(v))
        )
    return lambda v: (
        ""
        if v is None or (isinstance(v, float) and pd.isna(v))
        else (("yes" if v else "no") if isinstance(v, bool) else str(v))
    )


def table_view(table: pd.DataFrame, columns: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """``table`` as strings ready to show: known columns renamed and formatted (proportions in %,
    differences of proportions in percentage points, the unit in the header), others as they are,
    index dropped."""
    names = {**COLUMNS, **dict(columns or {})}
    out = {}
    for col in table.columns:
        header, kind = names.get(
            col, (str(col).replace("_", " "), "float" if pd.api.types.is_float_dtype(table[col]) else "")
        )
        header += {"percent": " (%)", "pp": " (pp)"}.get(kind, "") if header else ""
        out[header or " "] = [_format(kind)(v) for v in table[col]]
    return pd.DataFrame(out)


def table_styler(table: pd.DataFrame, columns: Mapping[str, tuple[str, str]] | None = None):
    """A Styler of :func:`table_view` without the index column (what the page shows of a table)."""
    return table_view(table, columns).style.hide(axis="index")


# tables shown so far per chapter (a chapter runs in its own kernel): numbers them in page order
_TABLES_SHOWN: dict[str, int] = {}


def table_number(chapter: str) -> str:
    """The next table number of ``chapter``: ``"<chapter number>.<k>"`` (the seventh chapter: 7.1, 7.2, ...)."""
    _TABLES_SHOWN[chapter] = _TABLES_SHOWN.get(chapter, 0) + 1
    return f"{chapters.number(chapter)}.{_TABLES_SHOWN[chapter]}"


def table_markdown(key: str, number: str, caption: str) -> str:
    """The numbered caption shown above a table, with a download link to its CSV (as a figure's)."""
    return (
        f"(tab-{key})=\n**Table {number}.** {caption.strip()} "
        f"Data: {{download}}`{key}.csv <{FIGURE_FOLDER}/{key}.csv>`."
    )


def show_table(
    table: pd.DataFrame,
    key: str,
    caption: str,
    columns: Mapping[str, tuple[str, str]] | None = None,
    data: pd.DataFrame | None = None,
    chapter: str | None = None,
):
    """Show a table as a figure is shown: save ``data`` (default ``table``; every column, unformatted) as
    ``<figure_dir>/<key>.csv``, display the numbered caption (:func:`table_number`) with a download link
    to it, and return :func:`table_styler`'s Styler of ``table`` (a cell ending with it shows the table)."""
    from IPython.display import Markdown, display

    chapter = chapter or os.environ.get(CHAPTER_ENV, "CHAPTER")
    folder = figure_dir()
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(table if data is None else data).to_csv(folder / f"{key}.csv", index=False)
    display(Markdown(table_markdown(key, table_number(chapter), caption)))
    return table_styler(table, columns)
