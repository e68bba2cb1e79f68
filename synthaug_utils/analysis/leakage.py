"""Fig. 3's comparisons on leaking and clean test images, from the stored per-image predictions.

A held-out image *leaks* when its Fitzpatrick17k-C cluster holds an image of the training file
(:func:`synthaug_utils.data.near_duplicates.leaking_test_ids`): a classifier can score it by
remembering the near-copy, and DreamBooth, fine-tuned on the whole training file, has seen the
near-copy whatever n the classifier gets. On the embedded profiles the leaking images are the
stand-in world's planted pairs (:func:`synthaug_utils.data.world.planted_counts`), and the page
says so (``{prefix}_where``, ``{prefix}_label``). Each comparison of the Fig. 3 table (a synthetic source
against none, per n real images and transforms setting) is analysed again on three sets of test
images, with the primary analysis (:func:`~synthaug_utils.analysis.stats.primary_comparison`) on
the same (seeds, images) correctness matrices restricted to the images' columns; no model is
retrained:

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
from synthaug_utils.data.world import DERM9_LABELS, NEAR_DUPLICATE_CHANGES

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
    long: pd.DataFrame,
    scored: Sequence[str],
    leaking: Iterable[str],
    prefix: str = "lk",
    test_set: str = "authors",
    whole: str = "the authors' test set",
) -> dict[str, str]:
    """Glue values of the section: counts of scored, leaking and clean test images (``{prefix}_images``,
    ``_leaking``, ``_clean``, ``_share``), the largest Fig. 3 gain on each test set (``_best`` where,
    ``_best_authors``, ``_best_clean``, ``_best_leaking``), how many comparisons gain more on leaking
    images (``_leak_larger`` "k of m"), the significant ones per test set (``_sig_authors``,
    ``_sig_clean``), and ``_sentence``, the section's sentence. ``test_set``: the profile setting the
    predictions were made under; ``whole``: the sentence's name for the whole test set."""
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
        return {
            **out,
            f"{prefix}_sentence": "No Fig. 3 comparison has paired trials, so none is analysed by test images.",
        }

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
    if n_leak == 0:
        why = " (this run's test set is the one without near-duplicates)" if test_set == "no-near-duplicates" else ""
        out[f"{prefix}_sentence"] = (
            f"None of the {len(scored)} scored test images has a near-duplicate in the training file{why}, so every "
            f"gain above is already a gain on clean images."
        )
        return out
    out[f"{prefix}_sentence"] = (
        f"Of the {len(scored)} scored held-out images, {n_leak} ({out[f'{prefix}_share']}) have a near-duplicate in "
        "the "
        f"training file (leaking) and {len(scored) - n_leak} do not. The largest Fig. 3 gain, {out[f'{prefix}_best']}, "
        "is "
        f"{out[f'{prefix}_best_authors']} on {whole}, {out[f'{prefix}_best_clean']} without the leaking "
        f"images and {out[f'{prefix}_best_leaking']} on the leaking images alone. The gain was larger on leaking than "
        "on "
        f"clean images in {larger} of {int(both.sum())} comparisons; after BH adjustment {sig['authors']} of "
        f"{len(by['authors'])} comparisons are significant on {whole} and {sig['no-near-duplicates']} "
        f"without near-duplicates."
    )
    return out


@dataclass
class LeakageReport:
    """The section's long table (None where not computed), its shown form, and its glue values."""

    table: pd.DataFrame | None
    shown: pd.DataFrame | None
    values: dict[str, str]


def leakage_source(profile: Profile, leaking: Iterable[str] | None, prefix: str = "lk") -> dict[str, str]:
    """What the leaking images of ``profile`` are: ``{prefix}_where``, a sentence for the prose, and
    ``{prefix}_label``, a note for the table's caption (empty where the near-duplicates are real). On
    the embedded profiles both say that the pairs are planted in the stand-in world, not real."""
    if not profile.is_embedded:
        if leaking is None:
            return {
                f"{prefix}_where": "The main dataset of this profile is bring-your-own data.",
                f"{prefix}_label": "",
            }
        return {
            f"{prefix}_where": "On this profile the held-out images are the authors' held-out file and a "
            "near-duplicate is a training image in the same Fitzpatrick17k-C cluster.",
            f"{prefix}_label": "",
        }
    world = profile.world
    rate = world.near_duplicate_rate
    how = (
        "as many per class as leak in the real F17k-9 split (each label's leaking share in chapter 01's audit of "
        f"the real metadata, applied to the world's {world.test_per_class} held-out images per class and rounded)"
        if rate is None
        else f"a share of {percent(float(rate))} of each class's held-out images"
    )
    n_held_out = len(DERM9_LABELS) * world.test_per_class
    return {
        f"{prefix}_where": (
            f"On this profile these are not real near-duplicates: the stand-in world {profile.dataset!r} has planted "
            f"pairs. {len(set(leaking or ()))} of its {n_held_out} held-out images were drawn as slightly altered "
            "copies "
            f"({NEAR_DUPLICATE_CHANGES}) of a training image of their class, {how}."
        ),
        f"{prefix}_label": "Stand-in world: the leaking images are planted near-duplicate pairs, not real ones.",
    }


def leakage_report(
    profile: Profile, frame: pd.DataFrame, predictions: pd.DataFrame, prefix: str = "lk"
) -> LeakageReport:
    """The leaking-versus-clean analysis of the Fig. 3 trials ``frame``/``predictions`` on ``profile``'s
    main dataset, with :func:`leakage_source`'s values; where its near-duplicates are unknown
    (bring-your-own data) only a ``{prefix}_sentence`` saying so."""
    from synthaug_utils.data.near_duplicates import leaking_test_ids

    leaking = leaking_test_ids(profile)
    source = leakage_source(profile, leaking, prefix)
    if leaking is None:
        return LeakageReport(
            None,
            None,
            {
                **source,
                f"{prefix}_sentence": (
                    "Not computed on this profile: bring-your-own data has no known near-duplicate clusters. On the "
                    "paper "
                    "profile with Fitzpatrick17k (and in the rehearsal book) this section repeats each Fig. 3 "
                    "comparison on "
                    "the held-out images that have a near-duplicate in the training file and on the others; chapter 01 "
                    "counts them in the real metadata."
                ),
            },
        )
    merged = merged_predictions(frame, predictions)
    long = leakage_comparisons(merged, leaking)
    whole = "the stand-in world's test set" if profile.is_embedded else "the authors' test set"
    values = {**source, **leakage_facts(long, merged.image_id.unique(), leaking, prefix, profile.test_set, whole)}
    # under test_set: no-near-duplicates every scored image is clean: the first column is the run's own test set
    names = (
        {"authors": "this run's test set"}
        if profile.test_set != "authors"
        else {"authors": "stand-in world's test set"}
        if profile.is_embedded
        else None
    )
    return LeakageReport(long, leakage_wide(long, names=names), values)
