"""The reproduction table: our results next to the paper's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


# ----------------------------------------------------------------------------- reproduction report
def _options(cell) -> list[str]:
    """Allowed values of a paper-value setting cell ("" = any; "a|b" = any of a, b)."""
    cell = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell)
    return [] if cell == "" else cell.split("|")


def _match(table: pd.DataFrame, row: pd.Series, columns: dict[str, str]) -> pd.DataFrame:
    """Rows of ``table`` matching the paper row's settings; ``columns`` maps paper setting -> table column."""
    out = table
    for paper_col, table_col in columns.items():
        allowed = _options(row.get(paper_col))
        if not allowed or table_col not in out:
            continue
        if paper_col == "transforms":
            allowed_values = {a == "yes" for a in allowed}
            out = out[out[table_col].astype(bool).isin(allowed_values)]
        else:
            out = out[out[table_col].astype(str).isin(allowed)]
    return out


def reproduction_table(paper: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The paper's numeric values beside this build's values for the same cells.

    ``tables`` maps a figure id ("3", "4", "5") to its analysis table. Accuracies and
    gains are in percent / percentage points, as in the paper. Columns: figure,
    quantity, setting, paper, paper_ci, build, build_ci, difference, paper_in_build_ci,
    status ("compared", or why not).
    """
    columns = {"method": "method", "n_real": "n_real", "transforms": "transforms", "fst_bin": "fst", "ratio": "synthetic_ratio"}
    rows = []
    for _, row in paper[paper.quantity.isin(["accuracy", "accuracy_gain", "max_accuracy_gain"])].iterrows():
        fig = str(row.figure)
        setting = ", ".join(f"{k}={row[k]}" for k in columns if _options(row.get(k)))
        out = {"figure": fig, "quantity": row.quantity, "setting": setting, "paper": row.value,
               "paper_ci": "" if np.isnan(row.ci_low) else f"{row.ci_low:+.1f} to {row.ci_high:+.1f}"}
        table = tables.get(fig)
        if table is None:
            rows.append({**out, "status": "figure not built"})
            continue
        use = dict(columns)
        if fig in ("3", "5"):
            use.pop("ratio")  # one synthetic ratio per figure
        if fig == "5" and row.quantity == "accuracy" and not _options(row.get("fst_bin")):
            table = table[table.fst.astype(str) == "all"]
        cells = _match(table, row, use)
        if row.quantity != "accuracy":
            cells = cells.dropna(subset=["gain"])
        if cells.empty:
            rows.append({**out, "status": "cell not in this build's grid"})
            continue
        if row.quantity == "accuracy":
            cell = cells.loc[cells.accuracy.idxmax()] if len(cells) > 1 else cells.iloc[0]
            value, low, high = cell.accuracy * 100, cell.ci_low * 100, cell.ci_high * 100
        else:
            cell = cells.loc[cells.gain.idxmax()] if (row.quantity == "max_accuracy_gain" or len(cells) > 1) else cells.iloc[0]
            value, low, high = cell.gain * 100, cell.gain_low * 100, cell.gain_high * 100
        inside = bool(low <= row.value <= high) if np.isfinite(low) and np.isfinite(high) else None
        rows.append({**out, "build": value, "build_ci": f"{low:.1f} to {high:.1f}" if np.isfinite(low) else "",
                     "difference": value - row.value, "paper_in_build_ci": inside,
                     "status": "compared" if len(cells) == 1 or row.quantity == "max_accuracy_gain" else f"best of {len(cells)} matching cells"})
    columns = ["figure", "quantity", "setting", "paper", "paper_ci", "build", "build_ci", "difference", "paper_in_build_ci", "status"]
    return pd.DataFrame(rows, columns=columns)  # every column, even when no cell matched (e.g. other labels)
