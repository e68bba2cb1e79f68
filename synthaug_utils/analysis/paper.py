"""The paper's reported numbers, typed once in ``resources/paper_values.csv``.

One row per number (or qualitative claim) the text of Sagers et al. (2023) states for
Figures 2, 3, 4, 5 and S-1, with a verbatim ``source_quote``. Columns:

``figure``           "2", "3", "4", "5" or "S-1"
``page_or_section``  where the quote stands (the text file has no page numbers: "Sec. 2.2", "Abstract")
``quantity``         ``cosine_distance_real_real`` | ``cosine_distance_real_synthetic`` |
                     ``cosine_distance_matched`` (mean cosine distance, 1 - dot of CLIP embeddings);
                     ``accuracy`` (percent); ``accuracy_gain`` (percentage points, with minus without
                     synthetic, other settings equal); ``max_accuracy_gain`` (the largest gain over the
                     settings listed with ``|``); ``claim`` (qualitative statement, no value)
``unit``             unit of value / ci_low / ci_high
setting keys         ``method`` (none | inpaint | in-then-outpaint | text-to-image; ``|`` = any of),
                     ``n_real`` (real images per label), ``transforms`` (yes | no), ``fst_bin``
                     (DDI skin-tone bin 12 | 34 | 56 = FST I-II, III-IV, V-VI), ``ratio`` (synthetic per
                     real image), ``label`` (disease); empty = not stated / not applicable
``value, ci_low, ci_high``  the numbers (percent units for accuracies, as printed)
``ci_kind``          e.g. "95% bootstrap"
``p_value``          as printed (``9.0×10^{-4}`` is stored as 0.0009)
``p_value_kind``     which test and adjustment the text names
``comparison``       what the gain or p-value compares
``note``             caveats (e.g. values that look garbled in the source)
``source_quote``     the sentence fragment, verbatim from the paper text (whitespace aside)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import pandas as pd

from synthaug_utils.core.errors import DataError

PAPER_VALUES_FILE = "paper_values.csv"
PAPER_TEXT_NAME = "sagers2023-augmenting-medical-image-classifiers.txt"
NUMERIC_COLUMNS = ("value", "ci_low", "ci_high", "p_value")
SETTING_COLUMNS = ("method", "n_real", "transforms", "fst_bin", "ratio", "label")
COLUMNS = (
    "figure", "page_or_section", "quantity", "unit", *SETTING_COLUMNS,
    "value", "ci_low", "ci_high", "ci_kind", "p_value", "p_value_kind", "comparison", "note", "source_quote",
)  # fmt: skip


def paper_values_path() -> Path:
    """Path of the packaged CSV of the paper's reported values."""
    return Path(str(resources.files("synthaug_utils") / "resources" / PAPER_VALUES_FILE))


def paper_values(figure: str | int | None = None) -> pd.DataFrame:
    """The paper's reported values as a DataFrame (one row per number or claim).

    Setting and text columns are strings ("" when not stated); ``value``, ``ci_low``,
    ``ci_high`` and ``p_value`` are floats (NaN when not stated). ``figure`` ("3", 3,
    "S-1") keeps only that figure's rows.

    Raises:
        DataError: the file lacks a column, or a numeric cell does not parse (row named).
    """
    path = paper_values_path()
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}")
    for col in NUMERIC_COLUMNS:
        parsed = pd.to_numeric(table[col].replace("", None), errors="coerce")
        bad = table[col].ne("") & parsed.isna()
        if bad.any():
            row = int(bad.idxmax())
            raise DataError(f"{path}: row {row + 2}, column {col!r}: {table.at[row, col]!r} is not a number")
        table[col] = parsed.astype(float)
    if figure is not None:
        table = table[table["figure"] == str(figure)].reset_index(drop=True)
    return table


def normalise_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space (for verbatim-quote checks)."""
    return re.sub(r"\s+", " ", text).strip()


def find_paper_text(search_dirs: Iterable[Path]) -> Path | None:
    """The paper's text file (:data:`PAPER_TEXT_NAME`) in the first of ``search_dirs`` that holds it, or None."""
    for folder in search_dirs:
        candidate = folder / PAPER_TEXT_NAME
        if candidate.is_file():
            return candidate
    return None
