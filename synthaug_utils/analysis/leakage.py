"""Fig. 3's comparisons on leaking and clean test images, from the stored per-image predictions.

A held-out image *leaks* when its Fitzpatrick17k-C cluster holds an image of the training file
(:func:`synthaug_utils.data.near_duplicates.leaking_test_ids`): a classifier can score it by
remembering the near-copy, and DreamBooth, fine-tuned on the whole training file, has seen the
near-copy whatever n the classifier gets. On the embedded profiles the leaking images are the
stand-in world's planted pairs (:func:`synthaug_utils.data.world.planted_counts`), and the page
says so (:func:`synthaug_utils.presentation.prose.leakage_sentences`). Each comparison of the Fig. 3
table (a synthetic source against none, per n real images and transforms setting) is analysed again
on three sets of test images, with the primary analysis
(:func:`~synthaug_utils.analysis.stats.primary_comparison`) on the same (seeds, images) correctness
matrices restricted to the images' columns; no model is retrained:

- ``authors``: every scored held-out image (the Fig. 3 table's own numbers);
- ``no-near-duplicates``: the images that do not leak (the profile setting
  ``test_set: no-near-duplicates`` gives this test set to a new run);
- ``leaking``: the leaking images only.

BH adjustment runs within each test set over the figure's comparisons, as in the Fig. 3 table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthaug_utils.analysis import stats
from synthaug_utils.analysis.highlights import percent, pvalue
from synthaug_utils.analysis.tables import arm_pairs, merged_predictions
from synthaug_utils.core.config import Profile
from synthaug_utils.core.vocabulary import NONE

TEST_SETS = ("authors", "no-near-duplicates", "leaking")

TEST_SET_NAMES = {
    "authors": "authors' test set",
    "no-near-duplicates": "without near-duplicates",
    "leaking": "leaking only",
}

# headers of the long table (figures.show_table columns)
HEADERS: dict[str, tuple[str, str]] = {
    "test_set": ("test images", ""),
    "images": ("images", ""),
    "baseline_accuracy": ("accuracy without synthetic", "percent"),
    "leak_minus_clean": ("gain: leaking - without near-duplicates", "pp"),
}


def _comparison(arm: np.ndarray, base: np.ndarray, columns: np.ndarray) -> dict:
    """The primary comparison of ``arm`` against ``base`` on the image columns ``columns`` (NaN below 2 images)."""
    row = {
        "images": int(columns.sum()),
        "accuracy": np.nan,
        "baseline_accuracy": np.nan,
        "gain": np.nan,
        "gain_low": np.nan,
        "gain_high": np.nan,
        "p": np.nan,
    }
    if columns.sum() >= 1:
        row.update(accuracy=float(arm[:, columns].mean()), baseline_accuracy=float(base[:, columns].mean()))
    if columns.sum() >= 2:
        res = stats.primary_comparison(arm[:, columns], base[:, columns])
        row.update(gain=res.diff, gain_low=res.ci_low, gain_high=res.ci_high, p=res.p_value)
    return row


def leakage_comparisons(
    merged: pd.DataFrame,
    leaking: Iterable[str],
    setting: Sequence[str] = ("n_real", "transforms"),
    arm: str = "method",
    baseline: object = NONE,
) -> pd.DataFrame:
    """Every ``arm`` value against ``baseline`` per ``setting`` (the Fig. 3 comparisons), on each test set of
    :data:`TEST_SETS`: one row per (setting, arm, test_set) with ``images``, ``accuracy``,
    ``baseline_accuracy``, ``gain``, ``gain_low``, ``gain_high``, ``p`` and ``p_bh`` (BH within the test
    set). ``merged``: :func:`~synthaug_utils.analysis.tables.merged_predictions`; ``leaking``: image ids.
    Arms that do not share seeds and test images with the baseline are left out (no paired analysis)."""
    leaking = {str(i) for i in leaking}
    rows = []
    for pair in arm_pairs(merged, setting, arm, baseline):
        if not pair.paired:
            continue
        leaks = np.isin(np.asarray(pair.base_images, dtype=str), list(leaking))
        masks = {"authors": np.ones_like(leaks), "no-near-duplicates": ~leaks, "leaking": leaks}
        for name in TEST_SETS:
            rows.append(
                {
                    **dict(zip(setting, pair.values)),
                    arm: pair.arm_value,
                    "test_set": name,
                    **_comparison(pair.arm_matrix, pair.base_matrix, masks[name]),
                }
            )
    out = pd.DataFrame(
        rows,
        columns=list(setting)
        + [arm, "test_set", "images", "accuracy", "baseline_accuracy", "gain", "gain_low", "gain_high", "p"],
    )
    out["p_bh"] = np.nan
    for name in TEST_SETS:
        mask = out.test_set == name
        out.loc[mask, "p_bh"] = stats.benjamini_hochberg(out.loc[mask, "p"].to_numpy(dtype=float))
    return out


def _cell(row) -> str:
    if not np.isfinite(row.gain):
        return "n/a"
    return f"{100 * row.gain:+.1f} ({100 * row.gain_low:+.1f} to {100 * row.gain_high:+.1f}){stars(row.p_bh)}"


def stars(p: float) -> str:
    """Significance stars of a BH-adjusted p (nothing when missing or not significant)."""
    return stats.significance_stars(p) if np.isfinite(p) and p < 0.05 else ""


def leakage_wide(
    long: pd.DataFrame,
    setting: Sequence[str] = ("n_real", "transforms"),
    arm: str = "method",
    names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """:func:`leakage_comparisons` as shown: one row per comparison, per test set a cell ``gain (95% CI)``
    in percentage points with its stars, headed by the test set's name (:data:`TEST_SET_NAMES`, then
    ``names``) and its image count; and ``leak_minus_clean``, the gain on leaking images minus the gain
    without them (descriptive)."""
    names = {**TEST_SET_NAMES, **(names or {})}
    keys = list(setting) + [arm]
    wide = long[keys].drop_duplicates().reset_index(drop=True)
    for name in TEST_SETS:
        part = long[long.test_set == name]
        header = f"{names[name]} ({int(part.images.max()) if len(part) else 0} images): gain, 95% CI (pp)"
        wide = wide.merge(
            part.assign(**{header: [_cell(r) for r in part.itertuples()]})[keys + [header]], on=keys, how="left"
        )
    gains = long.set_index(keys + ["test_set"]).gain.unstack("test_set").reindex(columns=list(TEST_SETS))
    diff = (gains["leaking"] - gains["no-near-duplicates"]).rename("leak_minus_clean").reset_index()
    return wide.merge(diff, on=keys, how="left")


def _where(row) -> str:
    n = int(row.n_real)
    return (
        f"{row.method} at {n} real image{'s' if n != 1 else ''} per class "
        f"{'with' if bool(row.transforms) else 'without'} image transforms"
    )


def leakage_facts(
    long: pd.DataFrame, scored: Sequence[str], leaking: Iterable[str], prefix: str = "lk"
) -> dict[str, str]:
    """Glue values of the section: counts of scored, leaking and clean test images (``{prefix}_images``,
    ``_leaking``, ``_clean``, ``_share``) and, where any comparison has paired trials, the largest Fig. 3
    gain on each test set (``_best`` where, ``_best_authors``, ``_best_clean``, ``_best_leaking``), how many
    comparisons gain more on leaking images (``_leak_larger`` "k of m"), and the comparisons and the
    significant ones per test set (``_comparisons``, ``_sig_authors``, ``_sig_clean``). The section's
    sentences are :func:`synthaug_utils.presentation.prose.leakage_sentences`."""
    scored = {str(i) for i in scored}
    n_leak = len(scored & {str(i) for i in leaking})
    out = {
        f"{prefix}_images": str(len(scored)),
        f"{prefix}_leaking": str(n_leak),
        f"{prefix}_clean": str(len(scored) - n_leak),
        f"{prefix}_share": percent(n_leak / len(scored)) if scored else "n/a",
    }
    by = {name: long[long.test_set == name].reset_index(drop=True) for name in TEST_SETS}
    if by["authors"].gain.notna().sum() == 0:
        return out

    def gain_text(row) -> str:
        if not np.isfinite(row.gain):
            return "n/a (fewer than 2 images)"
        return (
            f"{percent(row.gain, signed=True)} (95% CI {percent(row.gain_low, signed=True)} to "
            f"{percent(row.gain_high, signed=True)}, BH p = {pvalue(row.p_bh)})"
        )

    best = by["authors"].gain.idxmax()
    both = by["leaking"].gain.notna() & by["no-near-duplicates"].gain.notna()
    larger = int((by["leaking"].gain > by["no-near-duplicates"].gain)[both].sum())
    sig = {name: int((by[name].p_bh < 0.05).sum()) for name in ("authors", "no-near-duplicates")}
    out.update(
        {
            f"{prefix}_comparisons": str(len(by["authors"])),
            f"{prefix}_best": _where(by["authors"].loc[best]),
            f"{prefix}_best_authors": gain_text(by["authors"].loc[best]),
            f"{prefix}_best_clean": gain_text(by["no-near-duplicates"].loc[best]),
            f"{prefix}_best_leaking": gain_text(by["leaking"].loc[best]),
            f"{prefix}_leak_larger": f"{larger} of {int(both.sum())}",
            f"{prefix}_sig_authors": str(sig["authors"]),
            f"{prefix}_sig_clean": str(sig["no-near-duplicates"]),
        }
    )
    return out


@dataclass
class LeakageReport:
    """The section's long table (None where not computed), its shown form, its glue values, and the
    leaking test images (None where the profile's near-duplicates are unknown: bring-your-own data)."""

    table: pd.DataFrame | None
    shown: pd.DataFrame | None
    values: dict[str, str]
    leaking: frozenset[str] | None = None


def leakage_report(
    profile: Profile, frame: pd.DataFrame, predictions: pd.DataFrame, prefix: str = "lk"
) -> LeakageReport:
    """The leaking-versus-clean analysis of the Fig. 3 trials ``frame``/``predictions`` on ``profile``'s
    main dataset (nothing where its near-duplicates are unknown: bring-your-own data)."""
    from synthaug_utils.data.near_duplicates import leaking_test_ids

    leaking = leaking_test_ids(profile)
    if leaking is None:
        return LeakageReport(None, None, {})
    merged = merged_predictions(frame, predictions)
    long = leakage_comparisons(merged, leaking)
    values = leakage_facts(long, merged.image_id.unique(), leaking, prefix)
    # under test_set: no-near-duplicates every scored image is clean: the first column is the run's own test set
    names = (
        {"authors": "this run's test set"}
        if profile.test_set != "authors"
        else {"authors": "stand-in world's test set"}
        if profile.is_embedded
        else None
    )
    return LeakageReport(long, leakage_wide(long, names=names), values, frozenset(str(i) for i in leaking))
