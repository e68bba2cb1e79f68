"""The front page's Findings table: each headline claim of the paper beside this build's result and a verdict.

The claims are the paper's own sentences (``resources/paper_values.csv``, :mod:`.paper`); this
build's side comes from the figure tables (:mod:`.tables`, whose statistics are :mod:`.stats`):
one function, :func:`headline_findings`, holds the claim list and the verdict logic. Verdicts:

- ``same direction and significance`` (the build agrees): the build's effect has the paper's sign
  and its test agrees with the paper's significance statement; for a claim of absence, the absence
  is shown (see below);
- ``same direction, significance differs``;
- ``different``: the opposite sign, the shape the paper describes is absent, or a claim of absence
  meets a gain above 0 beyond noise;
- ``inconclusive``: the build can neither confirm nor refute the claim: a gain that is not
  significant but whose interval is too wide to call it absent, or a peak that is not beyond noise;
- ``not comparable on this profile``: the build's grid lacks the cells the claim is about. A claim
  about a cell (n = 32 with transforms; 10 synthetic per real at n = 16 or 32; the three skin-tone
  bins; both transforms settings) is never read off another cell.

Claims of absence ("gains diminished at sufficiently large samples", "gains saturate above 10:1")
are tested as such: a gain is absent when its 95% upper bound lies below the equivalence margin
:data:`~synthaug_utils.analysis.tables.EQUIVALENCE_MARGIN` (+5 pp; the reasons are there), or, for
"diminished", when it lies below the peak gain beyond noise; a gain that is only not significant
reads ``inconclusive``. Their verdicts name the margin.

Significance is the BH-adjusted p of the figure's table (``p_bh``) below 0.05, except for the
skin-tone claim: the paper supports it with per-bin 95% intervals above 0 and says that only one
comparison survived BH, so there the build's per-bin 95% interval is what is read.

On the embedded profiles (stand-in data and models) a verdict is about the *shape* of the result,
and says so ("shape: ..."); there "the largest n" and "the first ratio" are the grid's own, and
"highest at 16, 32 or 64 of 1-228" reads "highest at an n inside the grid".

:func:`paper_as_build` lays the paper's own printed numbers out as a build's figure tables, so that
the same verdict logic can read the paper against itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from synthaug_utils.analysis import stats
from synthaug_utils.analysis.highlights import percent, pvalue
from synthaug_utils.analysis.paper import paper_values
from synthaug_utils.analysis.tables import EQUIVALENCE_MARGIN, SHAPE_ALPHA, shape_checks_fig3, shape_checks_fig4
from synthaug_utils.core.vocabulary import NONE

ALPHA = SHAPE_ALPHA
MARGIN = EQUIVALENCE_MARGIN
SAME, SAME_DIRECTION, DIFFERENT, INCONCLUSIVE, NOT_COMPARABLE = (
    "same direction and significance",
    "same direction, significance differs",
    "different",
    "inconclusive",
    "not comparable on this profile",
)
COLUMNS = ["figure", "claim", "paper", "this build", "verdict"]
FST_BINS = {"12": "I-II", "34": "III-IV", "56": "V-VI"}
NOT_STATED = "not stated"
_TEST_COLUMNS = ("gain", "gain_low", "gain_high", "p", "p_bh")


# ----------------------------------------------------------------------------- cells
def _stated(value) -> frozenset[str]:
    """The values a table cell states, as the paper's strings: True -> {"yes"}, 16 -> {"16"},
    "16|32" -> {"16", "32"} (one of them); empty for a value not stated."""
    if isinstance(value, (bool, np.bool_)):
        return frozenset({"yes" if value else "no"})
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return frozenset()
    if isinstance(value, (int, float, np.integer, np.floating)):
        return frozenset({str(int(value)) if float(value).is_integer() else str(value)})
    text = str(value)
    return frozenset() if text in ("", NOT_STATED) else frozenset(text.split("|"))


def _wanted(claim: pd.Series, column: str) -> frozenset[str] | None:
    """The values a paper row names for a setting (None: the paper does not restrict it)."""
    text = str(claim.get(column, "") or "")
    return frozenset(text.split("|")) if text else None


def _in_cells(table: pd.DataFrame, column: str, wanted: frozenset[str] | None) -> pd.Series:
    """Rows whose stated ``column`` lies inside ``wanted``: a row stating "16 or 32" is inside {16, 32};
    a row that does not state the setting is inside no restriction of it. A table without the column
    (a setting its figure fixes, e.g. Fig. 3's ratio) is not restricted."""
    if wanted is None or column not in table:
        return pd.Series(True, index=table.index)
    return table[column].map(lambda v: bool(_stated(v)) and _stated(v) <= wanted)


def _single_n(tests: pd.DataFrame) -> pd.Series:
    """n_real as a number where a row states one n (NaN where it states "one of")."""
    return tests.n_real.map(lambda v: float(next(iter(_stated(v)))) if len(_stated(v)) == 1 else np.nan)


def _grid(values) -> str:
    return ", ".join(str(int(v)) for v in sorted(set(values)))


def _tf(value) -> str:
    return {frozenset({"yes"}): "with transforms", frozenset({"no"}): "without transforms"}.get(
        _stated(value), "transforms not stated"
    )


def _where(row: pd.Series) -> str:
    parts = [str(row.method)] if "method" in row and pd.notna(row.method) else []
    if "n_real" in row:
        parts.append(f"n = {row.n_real}")
    if "synthetic_ratio" in row:
        parts.append(f"{row.synthetic_ratio} per real")
    return ", ".join(parts + [_tf(row.transforms)]).replace("|", " or ")


def _interval(row: pd.Series, low: str = "gain_low", high: str = "gain_high") -> str:
    lo, hi = row.get(low, np.nan), row.get(high, np.nan)
    return (
        f"95% CI {percent(lo, signed=True)} to {percent(hi, signed=True)}"
        if np.isfinite(lo) and np.isfinite(hi)
        else "no interval"
    )


def _gain(row: pd.Series) -> str:
    return f"{percent(row.gain, signed=True)} ({_where(row)}; {_interval(row)}; BH p = {pvalue(row.p_bh)})"


def _significant(row: pd.Series) -> bool:
    return bool(np.isfinite(row.p_bh) and row.p_bh < ALPHA and row.gain > 0)


def _verdict(row: pd.Series) -> str:
    """A claim of a gain: the opposite sign is different, a positive gain beyond noise agrees."""
    return DIFFERENT if not row.gain > 0 else (SAME if _significant(row) else SAME_DIRECTION)


def _with_margin(verdict: str) -> str:
    return verdict if verdict == NOT_COMPARABLE else f"{verdict} (equivalence margin {percent(MARGIN, signed=True)})"


def _tests(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison rows of a figure table (baseline rows carry no gain), test columns as floats."""
    tests = table.dropna(subset=["gain"])
    tests = tests.assign(**{c: pd.to_numeric(tests[c], errors="coerce") for c in _TEST_COLUMNS if c in tests})
    return tests[tests.method != NONE] if "method" in tests else tests


# ----------------------------------------------------------------------------- evaluators
def _improves_both(t3: pd.DataFrame, claim: pd.Series, embedded: bool) -> tuple[str, str]:
    """Synthetic data improved accuracy with and without transforms: the best gain of each transforms
    setting the claim names is positive and beyond noise."""
    tests = _tests(t3)
    parts, verdicts = [], []
    for setting in sorted(_wanted(claim, "transforms") or {"yes", "no"}, reverse=True):
        sub = tests[_in_cells(tests, "transforms", frozenset({setting}))]
        if sub.empty:
            return f"no comparison {_tf(setting == 'yes')} in this build", NOT_COMPARABLE
        best = sub.loc[sub.gain.idxmax()]
        parts.append(f"{_tf(setting == 'yes')}: best {_gain(best)}")
        verdicts.append(_verdict(best))
    verdict = DIFFERENT if DIFFERENT in verdicts else (SAME if set(verdicts) == {SAME} else SAME_DIRECTION)
    return "; ".join(parts), verdict


def _peak_n(t3: pd.DataFrame, claim: pd.Series, embedded: bool) -> tuple[str, str]:
    """Gains were highest at the n the claim names: the largest gain of the figure lies there and is
    beyond noise. The grid must hold one of those n and another n to set them against; on the
    embedded profiles the claim's n (16-64 of 1-228) reads "an n inside the grid"."""
    tests = _tests(t3).assign(n_value=lambda t: _single_n(t)).dropna(subset=["n_value"])
    ns = sorted(set(tests.n_value))
    wanted = {float(n) for n in _wanted(claim, "n_real") or ()}
    if embedded:
        if len(ns) < 3:
            return f"grid n = {_grid(ns)}: a peak inside the grid needs three n", NOT_COMPARABLE
        inside, where = (lambda n: ns[0] < n < ns[-1]), "an n inside the grid (shape of the paper's 16-64 of 1-228)"
    else:
        if not (wanted & set(ns)) or not (set(ns) - wanted):
            return f"grid n = {_grid(ns)}: no n of the claim, or none to set them against", NOT_COMPARABLE
        inside, where = (lambda n: n in wanted), f"n = {_grid(wanted)}"
    best = tests.loc[tests.gain.idxmax()]
    text = f"largest gain {_gain(best)}; grid n = {_grid(ns)}; the claim: {where}"
    if not best.gain > 0:
        return text, DIFFERENT
    if not _significant(best):
        return text, INCONCLUSIVE
    return text, SAME if inside(best.n_value) else DIFFERENT


def _largest_gain(t3: pd.DataFrame, claim: pd.Series, embedded: bool) -> tuple[str, str]:
    """The largest gain in the cells the claim names (n, transforms); no cell, no comparison."""
    tests = _tests(t3)
    cells = tests[
        _in_cells(tests, "n_real", _wanted(claim, "n_real"))
        & _in_cells(tests, "transforms", _wanted(claim, "transforms"))
    ]
    named = f"n = {claim.n_real}".replace("|", " or ") + (
        f", {_tf(claim.transforms == 'yes')}" if claim.transforms in ("yes", "no") else ""
    )
    if cells.empty:
        return f"the grid has no cell at {named} (grid n = {_grid(_single_n(tests).dropna())})", NOT_COMPARABLE
    best = cells.loc[cells.gain.idxmax()]
    return f"at {named}: {_gain(best)}", _verdict(best)


def _diminishes(t3: pd.DataFrame, claim: pd.Series, embedded: bool) -> tuple[str, str]:
    """Gains diminished at the largest n: in every setting the gain there is below the margin or
    below the peak beyond noise (:func:`tables.shape_checks_fig3`); none significant, as the paper says."""
    tests = _tests(t3)
    largest = _single_n(tests).max()
    if not np.isfinite(largest):
        return "no comparison at a stated n in this build", NOT_COMPARABLE
    wanted = _wanted(claim, "n_real")
    if not embedded and wanted and str(int(largest)) not in wanted:
        return f"the grid's largest n is {int(largest)}; the claim is about n = {claim.n_real}", NOT_COMPARABLE
    shape = shape_checks_fig3(t3)
    shape = shape[shape.diminishes != "n/a"]
    if shape.empty:
        return f"no gain at the largest n ({int(largest)})", NOT_COMPARABLE
    counts = shape.diminishes.value_counts()
    significant = int((~shape.gain_not_significant_at_largest_n).sum())
    cells = "; ".join(
        f"{r.method} {_tf(r.transforms)} {percent(r.gain_at_largest_n, signed=True)} (upper "
        f"{percent(r.gain_high_at_largest_n, signed=True)})"
        for r in shape.itertuples()
    )
    text = (
        f"at n = {int(largest)}: {cells}. Diminished in {counts.get('yes', 0)} of {len(shape)} settings "
        f"(upper bound below {percent(MARGIN, signed=True)} in {int(shape.below_margin_at_largest_n.sum())}, below the "
        "peak "
        f"({percent(shape.peak_gain.max(), signed=True)}) beyond noise in {int(shape.below_peak_beyond_noise.sum())}); "
        f"inconclusive in {counts.get('inconclusive', 0)}, not diminished in {counts.get('no', 0)}; "
        f"significant (BH) in {significant}"
    )
    if counts.get("no", 0):
        return text, _with_margin(DIFFERENT)
    if counts.get("inconclusive", 0):
        return text, _with_margin(INCONCLUSIVE)
    return text, _with_margin(SAME_DIRECTION if significant else SAME)


def _first_ratio(t4: pd.DataFrame, claim: pd.Series, embedded: bool) -> tuple[str, str]:
    """The largest gain at the ratio and n the claim names; no cell, no comparison."""
    tests = _tests(t4)
    cells = tests[
        _in_cells(tests, "synthetic_ratio", _wanted(claim, "ratio"))
        & _in_cells(tests, "n_real", _wanted(claim, "n_real"))
        & _in_cells(tests, "transforms", _wanted(claim, "transforms"))
    ]
    named = f"{claim.ratio} synthetic per real, n = {claim.n_real}".replace("|", " or ")
    if cells.empty:
        return (
            f"the grid has no cell at {named} (ratios {_grid(tests.synthetic_ratio)}, "
            f"n = {_grid(_single_n(tests).dropna())})"
        ), NOT_COMPARABLE
    best = cells.loc[cells.gain.idxmax()]
    return f"at {named}: {_gain(best)}", _verdict(best)


def _saturates(t4: pd.DataFrame, claim: pd.Series, embedded: bool) -> tuple[str, str]:
    """Gains saturate beyond the first ratio: in every setting each larger ratio's extra gain over the
    first has a 95% upper bound below the margin (:func:`tables.shape_checks_fig4`); a larger ratio
    above the first beyond noise is different."""
    shape = shape_checks_fig4(t4)
    wanted = _wanted(claim, "ratio")
    if not embedded and wanted and len(shape) and not shape.first_ratio.astype(str).isin(wanted).all():
        return f"the grid's first ratio is {_grid(shape.first_ratio)}; the claim is about {claim.ratio}", NOT_COMPARABLE
    shape = shape[shape.saturation != "n/a"] if len(shape) else shape
    if shape.empty:
        return "no ratio beyond the first in this build", NOT_COMPARABLE
    counts = shape.saturation.value_counts()
    text = (
        f"beyond the first ratio ({_grid(shape.first_ratio)}): extra gain below {percent(MARGIN, signed=True)} "
        f"(95% upper bound) in {counts.get('yes', 0)} of {len(shape)} settings (largest upper bound "
        f"{percent(shape.largest_step_high.max(), signed=True)}); inconclusive in {counts.get('inconclusive', 0)}; "
        f"a larger ratio above the first beyond noise in {counts.get('no', 0)}"
    )
    if counts.get("no", 0):
        return text, _with_margin(DIFFERENT)
    return text, _with_margin(INCONCLUSIVE if counts.get("inconclusive", 0) else SAME)


def _all_bins(t5: pd.DataFrame, claim: pd.Series, embedded: bool) -> tuple[str, str]:
    """Synthetic data improved accuracy in every skin-tone bin: the best gain of each bin is positive
    with a 95% interval above 0, as the paper's per-bin intervals are (it says that after BH only one
    comparison was significant, so BH is reported, not required)."""
    tests = _tests(t5)
    bins = sorted(_wanted(claim, "fst_bin") or FST_BINS)
    parts, verdicts = [], []
    for fst in bins:
        sub = tests[tests.fst.astype(str) == fst]
        if sub.empty:
            return f"no comparison in skin-tone bin FST {FST_BINS.get(fst, fst)} in this build", NOT_COMPARABLE
        best = sub.loc[sub.gain.idxmax()]
        parts.append(f"FST {FST_BINS.get(fst, fst)}: {_gain(best)}")
        above = np.isfinite(best.get("gain_low", np.nan)) and best.gain_low > 0
        verdicts.append(DIFFERENT if not best.gain > 0 else (SAME if above else SAME_DIRECTION))
    significant = int(((tests.p_bh < ALPHA) & (tests.gain > 0)).sum())
    text = "; ".join(parts) + f"; BH p < 0.05 in {significant} of {len(tests)} comparisons"
    return text, DIFFERENT if DIFFERENT in verdicts else (SAME if set(verdicts) == {SAME} else SAME_DIRECTION)


Evaluator = Callable[[pd.DataFrame, pd.Series, bool], tuple[str, str]]

# (figure, paper_values quantity, comparison, which figure table, evaluator). One row per claim.
CLAIMS: list[tuple[str, str, str, str, Evaluator]] = [
    ("3", "claim", "with vs without synthetic", "3", _improves_both),
    ("3", "claim", "gain by n_real", "3", _peak_n),
    ("3", "max_accuracy_gain", "with vs without synthetic", "3", _largest_gain),
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
    return re.sub(r"\^\{(-?\d+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), str(text))


def headline_findings(
    tables: dict[str, pd.DataFrame], embedded: bool, paper: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per headline claim: figure, the paper's sentence, its number, this build's result, verdict.

    ``tables`` maps "3", "4", "5" to :func:`tables.fig3_table`, ``fig4_table``, ``fig5_table`` (a
    figure absent from ``tables`` was not built: "not comparable"). ``embedded``: the build ran on
    stand-in data and models, so verdicts are about shape and say so.
    """
    paper = paper_values() if paper is None else paper
    rows = []
    for figure, quantity, comparison, table_id, evaluate in CLAIMS:
        claim = _paper_row(paper, figure, quantity, comparison)
        number = (
            ""
            if np.isnan(claim.value)
            else f"{claim.value:+.1f} pp" + ("" if np.isnan(claim.p_value) else f" (BH p = {pvalue(claim.p_value)})")
        )
        table = tables.get(table_id)
        if table is None or table.empty or _tests(table).empty:
            build, verdict = "figure not built", NOT_COMPARABLE
        else:
            build, verdict = evaluate(table, claim, embedded)
        if embedded and verdict != NOT_COMPARABLE:
            verdict = f"shape: {verdict}"
        rows.append(
            {
                "figure": f"Fig. {figure}",
                "claim": _readable_quote(claim.source_quote),
                "paper": number or "(no number)",
                "this build": build,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


# ----------------------------------------------------------------------------- the paper as a build
_SETTINGS = {
    "3": ("n_real", "transforms", "method"),
    "4": ("n_real", "transforms", "synthetic_ratio"),
    "5": ("fst", "transforms", "method"),
}


# test images of one run per arm, as the paper states them: 40 per label x 9 labels (F17k-9, Sec. 4.4),
# 32 per skin-tone bin (DDI, Sec. 4.7)
PAPER_TEST_IMAGES = {"3": 360, "4": 360, "5": 32}


def _setting_values(row, figure: str) -> dict:
    def number(text: str):
        return int(text) if text.isdigit() else (text or NOT_STATED)

    values = {
        "n_real": number(row.n_real),
        "fst": row.fst_bin or NOT_STATED,
        "method": row.method or NOT_STATED,
        "transforms": {"yes": True, "no": False}.get(row.transforms, NOT_STATED),
        "synthetic_ratio": 0 if row.method == NONE else number(row.ratio),
    }
    return {k: values[k] for k in _SETTINGS[figure]}


def _paper_table(rows: pd.DataFrame, figure: str) -> pd.DataFrame:
    """One figure's printed numbers as a figure table (see :func:`paper_as_build`)."""
    from scipy.stats import norm

    arm = "synthetic_ratio" if figure == "4" else "method"
    keys = [k for k in _SETTINGS[figure] if k != arm]
    cells: dict[tuple, dict] = {}
    for row in rows.itertuples(index=False):
        if row.quantity not in ("accuracy", "accuracy_gain", "max_accuracy_gain"):
            continue
        setting = _setting_values(row, figure)
        cell = cells.setdefault(
            tuple(setting.values()),
            {
                **setting,
                "accuracy": np.nan,
                "gain": np.nan,
                "gain_low": np.nan,
                "gain_high": np.nan,
                "p": np.nan,
                "p_bh": np.nan,
                "source": [],
            },
        )
        p_column = "p_bh" if "BH" in row.p_value_kind else "p"
        if row.quantity == "accuracy":
            # a test only if the cell is a comparison
            cell.update(accuracy=row.value / 100, printed_p=(p_column, row.p_value))
            continue
        cell.update(
            gain=row.value / 100, gain_low=row.ci_low / 100, gain_high=row.ci_high / 100, **{p_column: row.p_value}
        )
        cell["source"].append(
            f"{row.page_or_section}: gain"
            + (f", {row.ci_kind}" if np.isfinite(row.ci_low) else "")
            + (f", {row.p_value_kind}" if np.isfinite(row.p_value) else "")
        )
    baselines = {tuple(c[k] for k in keys): c["accuracy"] for c in cells.values() if c[arm] in (NONE, 0)}
    derived, n_test, z = [], PAPER_TEST_IMAGES[figure], stats.two_sided_z(ALPHA)
    for c in cells.values():
        if c[arm] in (NONE, 0):
            c["source"].append("baseline: printed accuracy")
            continue
        base = baselines.get(tuple(c[k] for k in keys), np.nan)
        p_column, printed = c.get("printed_p", ("p", np.nan))
        if np.isnan(c["gain"]) and np.isfinite(c["accuracy"]) and np.isfinite(base) and np.isfinite(printed):
            c.update(gain=c["accuracy"] - base, **{p_column: printed})  # two accuracies and their p: a comparison
            c["source"].append("accuracies and p printed")
        if np.isnan(c["gain"]):
            c["source"].append("printed accuracy only (no comparison printed)")
            continue
        if np.isnan(c["p"]) and np.isnan(c["p_bh"]):
            if np.isfinite(c["accuracy"]) and np.isfinite(base):
                c["p"] = float(stats.paper_convention_test(c["accuracy"], base, n_test))
                how = f"p: the paper's convention from the printed accuracies, n = {n_test} per arm"
            else:
                c["p"] = float(2 * norm.sf(abs(c["gain"]) / stats.se_from_interval(c["gain_low"], c["gain_high"])))
                how = "p: from the printed 95% CI (normal approximation)"
            c["source"].append(how + "; BH over the figure's derived p-values")
            derived.append(c)
        if np.isnan(c["gain_low"]):
            se = abs(c["gain"]) / stats.two_sided_z(c["p"] if np.isfinite(c["p"]) else c["p_bh"])
            c.update(gain_low=c["gain"] - z * se, gain_high=c["gain"] + z * se)
            c["source"].append("95% CI: from the printed p (normal approximation)")
    for c, q in zip(derived, stats.benjamini_hochberg([c["p"] for c in derived])):
        c["p_bh"] = float(q)
    table = pd.DataFrame(list(cells.values())).drop(columns=["printed_p"], errors="ignore")
    table["stars"] = [stats.significance_stars(p) for p in table.p_bh]
    for col in ("p", "p_bh", "stars"):
        table[f"paper_{col}"] = table[col]
    if figure == "4":
        for col in ("step_gain", "step_gain_low", "step_gain_high", "step_p_bh"):
            table[col] = np.nan
    table["source"] = table.source.map("; ".join)
    return table


def paper_as_build(paper: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The paper's printed Fig. 3, 4 and 5 results laid out as a build's figure tables ("3", "4", "5").

    One row per printed with-vs-without comparison (``gain``, ``gain_low``, ``gain_high``, ``p``,
    ``p_bh``, ``stars`` and the same p-values as ``paper_*``: the paper's analysis is the only one
    here) and per printed accuracy (``accuracy``; baseline rows carry no test). Settings the paper
    does not state read "not stated"; "16|32" is "16 or 32". Where the paper prints no p, it is
    derived: from the two printed accuracies by the paper's convention
    (:func:`stats.paper_convention_test`, n = one run's test set: 360 for F17k-9, 32 per skin-tone
    bin for DDI), else from the printed 95% interval (normal approximation); derived p-values are
    BH-adjusted over the figure's derived p-values (the paper's whole family is not printed; a
    larger family can only raise them). Where it prints a p but no interval, the interval is derived
    from the p (from a BH-adjusted p it is wider than the raw one). ``source`` says which is which.
    Cells the paper shows only in its figures (e.g. Fig. 3 without transforms, ratios above 10:1)
    are absent, so claims about them read "not comparable".
    """
    paper = paper_values() if paper is None else paper
    return {figure: _paper_table(paper[paper.figure == figure], figure) for figure in ("3", "4", "5")}
