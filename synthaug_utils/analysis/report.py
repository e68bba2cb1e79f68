"""The reproduction table: our results next to the paper's, cell by cell.

A paper row is compared only with a build cell that matches it on **every** setting: n real per
class, synthetic ratio, method, generator variant, transforms and skin-tone bin. A setting the paper
leaves unstated must have one value in the build (else the row is "not comparable", never the best
of several cells); a ``max_accuracy_gain`` row is the maximum over exactly the options it lists, and
the build must have every one of them. Value agreement (:func:`agreement`) uses the paper's and the
build's uncertainty and is only stated on profiles whose data are the paper's (``compare_values``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.analysis.stats import paper_convention_interval, se_from_interval
from synthaug_utils.analysis.tables import EQUIVALENCE_MARGIN
from synthaug_utils.core import profiles

# The paper's synthetic images all come from Stable Diffusion fine-tuned with DreamBooth (Sec. 1:
# "458,920 synthetic images using ... Stable Diffusion fine-tuned with DreamBooth"; Fig. 4 caption).
PAPER_VARIANT = "dreambooth"
# What the paper's methods state per figure beyond the CSV's row settings (Sec. 4: Fig. 5 trains on
# the whole DDI training pool).
PAPER_FIGURE_SETTINGS = {"5": {"n_real": "all"}}
SETTINGS = ("method", "n_real", "transforms", "fst_bin", "ratio", "variant")
COLUMNS = [
    "figure",
    "quantity",
    "setting",
    "paper",
    "paper_ci",
    "build",
    "build_ci",
    "difference",
    "z",
    "agreement",
    "status",
]
Z_AGREE = profiles.threshold("Z_AGREE")  # |difference| / combined standard error below this: the values agree


def _options(cell) -> list[str]:
    """Allowed values of a paper-value setting cell ("" = not stated; "a|b" = any of a, b)."""
    cell = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell)
    return [] if cell == "" else cell.split("|")


def build_cells(table: pd.DataFrame, figure: str, settings: dict) -> pd.DataFrame:
    """A figure's analysis table with one text column per setting of :data:`SETTINGS`.

    ``settings``: the figure's grid settings (``ratio``, ``variant``, ``n_real``) for what the table
    has no column of. Baseline rows (no synthetic data) have ratio "0" and variant "none".
    """
    out = table.copy()
    method = (
        out["method"].astype(str)
        if "method" in out
        else pd.Series("text-to-image" if figure == "4" else "", index=out.index)
    )
    ratio = (
        out["synthetic_ratio"] if "synthetic_ratio" in out else pd.Series(settings.get("ratio", ""), index=out.index)
    )
    n_real = out["n_real"] if "n_real" in out else pd.Series(settings.get("n_real"), index=out.index)
    synthetic = (ratio.astype(str) != "0") & (method != "none")
    out["s_method"] = np.where(synthetic, method, "none")
    out["s_ratio"] = np.where(synthetic, ratio.astype(str), "0")
    out["s_variant"] = np.where(synthetic, str(settings.get("variant", "")), "none")
    out["s_n_real"] = [("all" if v is None or (isinstance(v, float) and np.isnan(v)) else str(int(v))) for v in n_real]
    out["s_transforms"] = np.where(out["transforms"].astype(bool), "yes", "no") if "transforms" in out else ""
    out["s_fst_bin"] = out["fst"].astype(str) if "fst" in out else "all"
    return out


def match_cells(cells: pd.DataFrame, row: pd.Series, figure: str) -> tuple[pd.DataFrame, str]:
    """The build cells matching the paper row on every setting, and "" or why the row is not comparable."""
    wanted = {k: _options(row.get(k)) for k in SETTINGS}
    wanted["variant"] = [PAPER_VARIANT] if _options(row.get("method")) != ["none"] else ["none"]
    if _options(row.get("method")) == ["none"]:
        wanted["ratio"] = ["0"]
    for key, value in PAPER_FIGURE_SETTINGS.get(figure, {}).items():
        wanted[key] = wanted[key] or [value]
    if not wanted["fst_bin"]:
        wanted["fst_bin"] = ["all"]
    out = cells
    for key, allowed in wanted.items():
        column = out[f"s_{key}"].astype(str)
        if allowed:
            out = out[column.isin(allowed)]
            if out.empty:
                return (
                    out,
                    f"not comparable: no build cell with {key} = {'|'.join(allowed)} (build: "
                    f"{', '.join(sorted(set(column)))})",
                )
        elif column.nunique() > 1:
            return out.iloc[
                :0
            ], f"not comparable: the paper does not state {key} and the build has {column.nunique()} values"
    if row.quantity == "max_accuracy_gain":
        for key, allowed in wanted.items():
            missing = sorted(set(allowed) - set(out[f"s_{key}"].astype(str)))
            if len(allowed) > 1 and missing:
                return (
                    out.iloc[:0],
                    f"not comparable: the paper's maximum is over {key} = {'|'.join(allowed)}; the build lacks "
                    f"{', '.join(missing)}",
                )
    elif len(out) != 1:
        return out.iloc[:0], f"not comparable: {len(out)} build cells match (the paper lists several options)"
    return out, ""


def agreement(paper: float, paper_se: float, build: float, build_se: float) -> tuple[float, str]:
    """``z = (build - paper) / sqrt(paper_se^2 + build_se^2)`` and "agree" (|z| < 1.96) or "differ"."""
    se = np.sqrt(np.nansum([paper_se**2, build_se**2]))
    if not np.isfinite(se) or se == 0:
        return np.nan, ""
    z = (build - paper) / se
    return float(z), "agree" if abs(z) < Z_AGREE else "differ"


def reproduction_table(
    paper: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    settings: dict[str, dict] | None = None,
    compare_values: bool = False,
) -> pd.DataFrame:
    """The paper's numeric values beside this build's values for exactly matching cells.

    ``tables`` maps a figure id ("3", "4", "5") to its analysis table, ``settings`` to its grid
    settings (ratio, variant, n_real). Accuracies and gains in percent / percentage points. Columns:
    figure, quantity, setting, paper, paper_ci, build, build_ci, difference, z, agreement, status
    ("compared", "not comparable: why", "figure not built"). ``z`` and ``agreement`` are filled only
    with ``compare_values`` (the paper profile): standard errors from the 95% intervals (the paper's
    where printed, else its Wald convention with n = the build's test set; the build's primary-analysis
    or Wald interval).
    """
    settings = settings or {}
    rows = []
    for _, row in paper[paper.quantity.isin(["accuracy", "accuracy_gain", "max_accuracy_gain"])].iterrows():
        fig = str(row.figure)
        setting = ", ".join(
            f"{k}={row[k]}" for k in ("method", "n_real", "transforms", "fst_bin", "ratio") if _options(row.get(k))
        )
        out = {
            "figure": fig,
            "quantity": row.quantity,
            "setting": setting,
            "paper": row.value,
            "paper_ci": "" if np.isnan(row.ci_low) else f"{row.ci_low:+.1f} to {row.ci_high:+.1f}",
        }
        table = tables.get(fig)
        if table is None:
            rows.append({**out, "status": "figure not built"})
            continue
        cells, why = match_cells(build_cells(table, fig, settings.get(fig, {})), row, fig)
        if row.quantity != "accuracy":
            cells = cells.dropna(subset=["gain"])
        if why or cells.empty:
            rows.append({**out, "status": why or "not comparable: no gain for the matching cell"})
            continue
        if row.quantity == "accuracy":
            cell = cells.iloc[0]
            value, low, high = cell.accuracy * 100, cell.ci_low * 100, cell.ci_high * 100
        else:  # a stated gain, or the maximum over exactly the listed options
            cell = cells.loc[cells.gain.idxmax()]
            value, low, high = cell.gain * 100, cell.gain_low * 100, cell.gain_high * 100
        z, verdict = np.nan, ""
        if compare_values:
            if np.isfinite(row.ci_low):
                paper_se = float(se_from_interval(row.ci_low, row.ci_high))
            elif row.quantity == "accuracy":
                p_low, p_high = paper_convention_interval(row.value / 100, int(cell.n_test))
                paper_se = float(se_from_interval(p_low, p_high)) * 100
            else:
                paper_se = np.nan  # the paper prints no interval for this gain: the build's alone
            # a gain's own standard error (its interval is on a t scale); an accuracy's from its Wald interval
            build_se = (
                cell.se * 100
                if row.quantity != "accuracy" and np.isfinite(cell.get("se", np.nan))
                else (float(se_from_interval(low, high)) if np.isfinite(low) else np.nan)
            )
            z, verdict = agreement(row.value, paper_se, value, build_se)
        rows.append(
            {
                **out,
                "build": value,
                "build_ci": f"{low:.1f} to {high:.1f}" if np.isfinite(low) else "",
                "difference": value - row.value,
                "z": z,
                "agreement": verdict,
                "status": "compared",
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def report_facts(report: pd.DataFrame, shape3: pd.DataFrame, shape4: pd.DataFrame, profile_name: str) -> dict[str, Any]:
    """Glue values of the reproduction report, numbers raw: rows compared and not comparable, shape
    verdicts, the equivalence margin (pp). The value-agreement sentence is
    :func:`~synthaug_utils.presentation.prose.reproduction_values`."""
    return {
        "rr_profile": profile_name,
        "rr_compared": int(report.status.eq("compared").sum()),
        "rr_rows": len(report),
        "rr_not_comparable": int(report.status.str.startswith("not comparable").sum()),
        "rr_shape3": int(shape3.shape_as_paper.sum()) if len(shape3) else 0,
        "rr_shape3_settings": len(shape3),
        "rr_saturates": int(shape4.saturates.sum()) if len(shape4) else 0,
        "rr_shape4_settings": len(shape4),
        "rr_margin": EQUIVALENCE_MARGIN * 100,
    }


def compares_values(profile) -> bool:
    """Whether chapter 08 compares this build's values with the paper's: only on the paper's own data (not
    the embedded stand-in world, not a bring-your-own dataset in either slot)."""
    return not profile.is_embedded and not any(profile.locations.get(k) for k in ("main_data", "ddi_data"))


def reproduction(
    profile, results: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, pd.DataFrame]]:
    """Chapter 08's inputs: the reproduction table, the Fig. 3 and Fig. 4 shape checks, the glue values
    and the figure tables it compared ("3", "4", "5" -> :func:`tables.fig3_table` etc., for the findings).

    ``results``: grid name -> (trial frame, predictions) of the grids of Figs. 3, 4 and 5 that the profile
    can build, run or read by :func:`synthaug_utils.experiments.chapters.available_grid_results`; values are
    compared with agreement only on a profile whose data are the paper's (not the embedded stand-in world,
    not a bring-your-own dataset).
    """
    from synthaug_utils.analysis import tables as analysis_tables
    from synthaug_utils.analysis.paper import paper_values
    from synthaug_utils.experiments.grids import grid_settings

    table_of = {
        "3": ("fig3", analysis_tables.fig3_table),
        "4": ("fig4", analysis_tables.fig4_table),
        "5": ("fig5", analysis_tables.fig5_table),
    }
    built = {fig: (grid, make) for fig, (grid, make) in table_of.items() if grid in results}
    figure_tables = {fig: make(*results[grid]) for fig, (grid, make) in built.items()}
    settings = {fig: grid_settings(grid, profile) for fig, (grid, _) in built.items()}
    compare_values = compares_values(profile)
    report = reproduction_table(paper_values(), figure_tables, settings, compare_values)
    shape3 = (
        analysis_tables.shape_checks_fig3(figure_tables["3"])
        if "3" in figure_tables
        else pd.DataFrame(columns=["shape_as_paper"])
    )
    shape4 = (
        analysis_tables.shape_checks_fig4(figure_tables["4"])
        if "4" in figure_tables
        else pd.DataFrame(columns=["saturates"])
    )
    facts = report_facts(report, shape3, shape4, profile.name)
    significant, conflicts = analysis_tables.star_interval_conflicts(figure_tables)
    facts.update(rr_starred=int(significant), rr_star_conflicts=len(conflicts))
    return report, shape3, shape4, facts, figure_tables
