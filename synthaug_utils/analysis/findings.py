"""The front page's Findings table: each headline claim of the paper beside this build's result and a verdict.

The claims are the paper's own sentences (``resources/paper_values.csv``, :mod:`.paper`); this
build's side comes from the figure tables (:mod:`.tables`, whose statistics are :mod:`.stats`):
one function, :func:`headline_findings`, holds the claim list and the verdict logic. Verdicts:

- ``same direction and significance``: the build's effect has the paper's sign and its BH-adjusted
  test (or shape check) agrees with the paper's significance statement;
- ``same direction, significance differs``;
- ``different``: the opposite sign, or the shape the paper describes is absent;
- ``not comparable on this profile``: the build's grid lacks the cells the claim is about.

On the embedded profiles (stand-in data and models) a verdict is about the *shape* of the result,
and says so ("shape: ...").
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from synthaug_utils.analysis.highlights import percent, pvalue
from synthaug_utils.analysis.paper import paper_values
from synthaug_utils.analysis.tables import shape_checks_fig3, shape_checks_fig4

ALPHA = 0.05
SAME, SAME_DIRECTION, DIFFERENT, NOT_COMPARABLE = (
    "same direction and significance", "same direction, significance differs", "different", "not comparable on this profile")
COLUMNS = ["figure", "claim", "paper", "this build", "verdict"]
FST_BINS = {"12": "I-II", "34": "III-IV", "56": "V-VI"}


def _verdict(sign_same: bool, significance_same: bool) -> str:
    return DIFFERENT if not sign_same else (SAME if significance_same else SAME_DIRECTION)


def _gain(row: pd.Series) -> str:
    return f"{percent(row.gain, signed=True)} ({row.method if 'method' in row else ''}, BH p = {pvalue(row.p_bh)})".replace("(, ", "(")


def _improves_both(t3: pd.DataFrame) -> tuple[str, str]:
    parts, signs, sig = [], [], []
    for tf, sub in t3.dropna(subset=["gain"]).groupby("transforms"):
        best = sub.loc[sub.gain.idxmax()]
        parts.append(f"{'with' if tf else 'without'} transforms: best {_gain(best)} at n = {int(best.n_real)}")
        signs.append(best.gain > 0)
        sig.append(best.p_bh < ALPHA)
    return "; ".join(parts), _verdict(all(signs), all(sig))


def _peak_n(t3: pd.DataFrame) -> tuple[str, str]:
    shape = shape_checks_fig3(t3)
    ns = sorted(t3.n_real.unique())
    small = int(shape.gain_significant_at_small_n.sum())
    text = (f"gain significantly above 0 (BH p < 0.05) at some n below the largest (grid n = "
            f"{', '.join(str(int(n)) for n in ns)}) in {small} of {len(shape)} settings")
    if len(ns) < 3:  # a peak needs a smaller and a larger n around it
        return text, NOT_COMPARABLE
    return text, SAME if small * 2 > len(shape) else DIFFERENT


def _largest_gain(t3: pd.DataFrame, n_real: int, transforms: bool) -> tuple[str, str]:
    tests = t3.dropna(subset=["gain"])
    cells = tests[(tests.n_real == n_real) & (tests.transforms == transforms)]
    where = f"at n = {n_real}, with transforms" if transforms else f"at n = {n_real}"
    if cells.empty:
        cells, where = tests, "largest anywhere (the grid has no such cell)"
    best = cells.loc[cells.gain.idxmax()]
    return f"{where}: {_gain(best)}", _verdict(best.gain > 0, best.p_bh < ALPHA)


def _diminishes(t3: pd.DataFrame) -> tuple[str, str]:
    tests = t3.dropna(subset=["gain"])
    largest = tests[tests.n_real == tests.n_real.max()]
    shape = shape_checks_fig3(t3)
    significant = int((largest.p_bh < ALPHA).sum())
    shrinks = int(shape.gain_not_significant_at_largest_n.sum())
    text = (f"at the largest n ({int(tests.n_real.max())}): {significant} of {len(largest)} gains significant; "
            f"no significant gain at the largest n in {shrinks} of {len(shape)} settings")
    return text, _verdict(shrinks * 2 > len(shape), significant == 0)


def _first_ratio(t4: pd.DataFrame) -> tuple[str, str]:
    tests = t4.dropna(subset=["gain"])
    first = tests[tests.synthetic_ratio == tests.synthetic_ratio.min()]
    best = first.loc[first.gain.idxmax()]
    text = f"{int(best.synthetic_ratio)} per real, n = {int(best.n_real)}: {percent(best.gain, signed=True)} (BH p = {pvalue(best.p_bh)})"
    return text, _verdict(best.gain > 0, best.p_bh < ALPHA)


def _saturates(t4: pd.DataFrame) -> tuple[str, str]:
    shape = shape_checks_fig4(t4)
    k = int(shape.saturates.sum())
    return f"extra gain beyond the first ratio smaller than the first step in {k} of {len(shape)} settings", SAME if k * 2 > len(shape) else DIFFERENT


def _all_bins(t5: pd.DataFrame) -> tuple[str, str]:
    tests = t5[t5.fst.astype(str).isin(["12", "34", "56"])].dropna(subset=["gain"])
    parts, signs, sig = [], [], []
    for fst, sub in tests.groupby(tests.fst.astype(str)):
        best = sub.loc[sub.gain.idxmax()]
        parts.append(f"FST {FST_BINS.get(fst, fst)}: {_gain(best)}")
        signs.append(best.gain > 0)
        sig.append(best.p_bh < ALPHA)
    if not parts:
        return "no skin-tone bins in this build", NOT_COMPARABLE
    return "; ".join(parts), _verdict(all(signs), all(sig))


# (figure, paper_values quantity, comparison) -> (which figure table, evaluator). One row per claim.
CLAIMS: list[tuple[str, str, str, str, Callable[[pd.DataFrame], tuple[str, str]]]] = [
    ("3", "claim", "with vs without synthetic", "3", _improves_both),
    ("3", "claim", "gain by n_real", "3", _peak_n),
    ("3", "max_accuracy_gain", "with vs without synthetic", "3", lambda t: _largest_gain(t, 32, True)),
    ("3", "claim", "with vs without synthetic@228", "3", _diminishes),
    ("4", "max_accuracy_gain", "10 synthetic per real vs none", "4", _first_ratio),
    ("4", "claim", "gain by synthetic-to-real ratio", "4", _saturates),
    ("5", "claim", "with vs without synthetic per skin-tone bin", "5", _all_bins),
]


def _paper_row(paper: pd.DataFrame, figure: str, quantity: str, comparison: str) -> pd.Series:
    comparison, _, n_real = comparison.partition("@")
    rows = paper[(paper.figure == figure) & (paper.quantity == quantity) & (paper.comparison == comparison)]
    if n_real:
        rows = rows[rows.n_real == n_real]
    elif quantity == "claim":
        rows = rows[rows.n_real != "228"]
    if rows.empty:
        raise KeyError(f"no paper claim for figure {figure}, {quantity}, {comparison!r}")
    return rows.iloc[0]


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def _readable_quote(text: str) -> str:
    """The paper's sentence as a reader sees it in the PDF: LaTeX-style exponents (``10^{-4}``) as superscripts."""
    import re

    return re.sub(r"\^\{(-?\d+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), str(text))


def headline_findings(tables: dict[str, pd.DataFrame], embedded: bool, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per headline claim: figure, the paper's sentence, its number, this build's result, verdict.

    ``tables`` maps "3", "4", "5" to :func:`tables.fig3_table`, ``fig4_table``, ``fig5_table`` (a
    figure absent from ``tables`` was not built: "not comparable"). ``embedded``: the build ran on
    stand-in data and models, so verdicts are about shape and say so.
    """
    paper = paper_values() if paper is None else paper
    rows = []
    for figure, quantity, comparison, table_id, evaluate in CLAIMS:
        claim = _paper_row(paper, figure, quantity, comparison)
        number = "" if np.isnan(claim.value) else f"{claim.value:+.1f} pp" + ("" if np.isnan(claim.p_value) else f" (BH p = {pvalue(claim.p_value)})")
        table = tables.get(table_id)
        if table is None or table.empty:
            build, verdict = "figure not built", NOT_COMPARABLE
        else:
            build, verdict = evaluate(table)
        if embedded and verdict != NOT_COMPARABLE:
            verdict = f"shape: {verdict}"
        rows.append({"figure": f"Fig. {figure}", "claim": _readable_quote(claim.source_quote), "paper": number or "(no number)", "this build": build, "verdict": verdict})
    return pd.DataFrame(rows, columns=COLUMNS)
