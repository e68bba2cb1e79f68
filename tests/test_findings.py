"""The Findings verdicts: the paper read as a build agrees with itself; no claim is read off a cell it
is not about; claims of absence need an interval below the equivalence margin, not just p >= 0.05."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from synthaug_utils.analysis import findings, stats, tables
from synthaug_utils.analysis.findings import (
    CLAIMS,
    COLUMNS,
    DIFFERENT,
    INCONCLUSIVE,
    NOT_COMPARABLE,
    SAME,
    SAME_DIRECTION,
    headline_findings,
    paper_as_build,
)
from synthaug_utils.analysis.paper import paper_values

MARGIN_TEXT = f"{tables.EQUIVALENCE_MARGIN * 100:+.1f} pp"


def _verdicts(result: pd.DataFrame) -> dict[str, str]:
    """claim sentence (first words) -> verdict."""
    return {claim[:40]: verdict for claim, verdict in zip(result.claim, result.verdict)}


def _claim(result: pd.DataFrame, words: str) -> pd.Series:
    rows = result[result.claim.str.contains(words, regex=False)]
    assert len(rows) == 1, words
    return rows.iloc[0]


# ----------------------------------------------------------------------------- the paper as a build
def test_paper_as_build_lays_out_the_printed_numbers_as_figure_tables():
    build = paper_as_build()
    assert set(build) == {"3", "4", "5"}
    for table in build.values():
        assert {
            "gain",
            "gain_low",
            "gain_high",
            "p",
            "p_bh",
            "stars",
            "paper_p",
            "paper_p_bh",
            "paper_stars",
            "source",
        } <= set(table)
        tests = table.dropna(subset=["gain"])
        assert len(tests) and tests.gain_low.notna().all() and tests.p_bh.notna().all()
        assert (tests.gain_low <= tests.gain).all() and (tests.gain <= tests.gain_high).all()
    assert {"step_gain", "step_gain_low", "step_gain_high", "step_p_bh"} <= set(build["4"])
    paper = paper_values()
    # a printed BH-adjusted p is kept as printed
    printed = paper[(paper.figure == "3") & (paper.quantity == "max_accuracy_gain")].iloc[0]
    row = build["3"][np.isclose(build["3"].gain, printed.value / 100)].iloc[0]
    assert row.p_bh == printed.p_value and "printed p" in row.source
    # Fig. 5 prints accuracies and intervals but no p: the paper's convention with 32 test images per bin,
    # BH over the figure's derived p-values
    fig5 = build["5"].dropna(subset=["gain"])
    assert len(fig5) == 3 and fig5.source.str.contains("n = 32 per arm").all()
    base = build["5"][build["5"].method == "none"].set_index("fst").accuracy
    expected = [stats.paper_convention_test(r.accuracy, base[r.fst], 32) for r in fig5.itertuples()]
    assert np.allclose(fig5.p, expected)
    assert np.allclose(fig5.p_bh, stats.benjamini_hochberg(expected))
    # Fig. 3 at n = 228 prints intervals only: p from the interval
    large = build["3"][build["3"].n_real == 228]
    assert len(large) == 3 and large.source.str.contains("from the printed 95% CI").all()
    z = large.gain / stats.se_from_interval(large.gain_low, large.gain_high)
    assert np.allclose(large.p, 2 * norm.sf(np.abs(z)))


def test_the_paper_read_as_a_build_agrees_with_itself():
    """Every claim the paper's text prints numbers for agrees with those numbers; the two claims the
    text shows only in its figures (Fig. 3 without transforms, ratios beyond 10:1) are not comparable."""
    result = headline_findings(paper_as_build(), embedded=False)
    assert list(result.columns) == COLUMNS and len(result) == len(CLAIMS)
    not_comparable = result[result.verdict == NOT_COMPARABLE].claim
    assert (
        len(not_comparable) == 2
        and not_comparable.str.contains("with and without image transforms|gains saturate").all()
    )
    assert (
        _claim(result, "with and without image transforms")["this build"]
        == "no comparison without transforms in this build"
    )
    assert _claim(result, "gains saturate")["this build"] == "no ratio beyond the first in this build"
    others = result[result.verdict != NOT_COMPARABLE]
    assert len(others) == len(CLAIMS) - 2
    assert others.verdict.str.startswith(SAME).all(), _verdicts(others)
    # the skin-tone claim: every bin's interval above 0 although none is significant after BH, as the paper says
    skin = _claim(result, "for all FST categories")
    assert skin.verdict == SAME and "BH p < 0.05 in 0 of 3" in skin["this build"]
    assert (paper_as_build()["5"].dropna(subset=["gain"]).p_bh >= 0.05).all()
    # gains diminished at n = 228: a claim of absence, its verdict names the margin
    dim = _claim(result, "diminished at sufficiently large")
    assert dim.verdict == f"{SAME} (equivalence margin {MARGIN_TEXT})" and "Diminished in 3 of 3" in dim["this build"]


# ----------------------------------------------------------------------------- tables for the verdicts
def _fig3(cells: dict) -> pd.DataFrame:
    """A Fig. 3 table: {(n_real, transforms, method): (gain, gain_low, gain_high, p_bh)}, proportions."""
    rows = [
        {"n_real": n, "transforms": tf, "method": m, "gain": g, "gain_low": lo, "gain_high": hi, "p": p, "p_bh": p}
        for (n, tf, m), (g, lo, hi, p) in cells.items()
    ]
    rows += [{"n_real": n, "transforms": tf, "method": "none", "gain": np.nan} for n, tf, _ in cells]
    return pd.DataFrame(rows)


def _fig4(first: tuple, steps: dict, ratios=(10, 25, 50), n_real=16) -> pd.DataFrame:
    """A Fig. 4 table at one (n, transforms): the first ratio's gain and each larger ratio's step over it
    ({ratio: (step_gain, step_low, step_high, step_p_bh)})."""
    rows = [
        {
            "n_real": n_real,
            "transforms": True,
            "synthetic_ratio": ratios[0],
            "gain": first[0],
            "gain_low": first[1],
            "gain_high": first[2],
            "p": first[3],
            "p_bh": first[3],
        }
    ]
    for r in ratios[1:]:
        g, lo, hi, p = steps[r]
        rows.append(
            {
                "n_real": n_real,
                "transforms": True,
                "synthetic_ratio": r,
                "gain": first[0] + g,
                "gain_low": first[1] + g,
                "gain_high": first[2] + g,
                "p": 1e-4,
                "p_bh": 1e-4,
                "step_gain": g,
                "step_gain_low": lo,
                "step_gain_high": hi,
                "step_p_bh": p,
            }
        )
    return pd.DataFrame(rows)


PEAK = (0.15, 0.10, 0.20, 1e-5)  # a gain well beyond noise


def _diminish(at_largest: tuple, peak: tuple = PEAK) -> pd.Series:
    table = _fig3(
        {(1, True, "inpaint"): (0.0, -0.02, 0.02, 0.9), (32, True, "inpaint"): peak, (228, True, "inpaint"): at_largest}
    )
    return _claim(headline_findings({"3": table}, embedded=False), "diminished at sufficiently large")


def test_gains_diminish_is_a_claim_of_absence():
    # an interval wholly below the margin: absent
    assert _diminish((0.005, -0.02, 0.03, 0.7)).verdict == f"{SAME} (equivalence margin {MARGIN_TEXT})"
    # not significant, but the interval reaches far beyond the margin and the peak is not beyond noise: inconclusive
    wide = _diminish((0.04, -0.06, 0.14, 0.4), peak=(0.06, -0.01, 0.13, 0.1))
    assert (
        wide.verdict == f"{INCONCLUSIVE} (equivalence margin {MARGIN_TEXT})"
        and "inconclusive in 1" in wide["this build"]
    )
    # the same wide interval below a peak far beyond noise: the gain did diminish
    assert _diminish((0.01, -0.06, 0.08, 0.7), peak=(0.30, 0.25, 0.35, 1e-9)).verdict.startswith(SAME + " (")
    # still significant, but below the peak beyond noise: diminished, significance differs from the paper's
    assert _diminish((0.06, 0.03, 0.09, 1e-3), peak=(0.20, 0.16, 0.24, 1e-9)).verdict.startswith(SAME_DIRECTION)
    # as large at the largest n as at the peak, beyond noise: different
    assert _diminish((0.15, 0.10, 0.20, 1e-5)).verdict.startswith(DIFFERENT)


def _saturate(steps: dict) -> pd.Series:
    table = _fig4((0.10, 0.06, 0.14, 1e-4), steps)
    return _claim(headline_findings({"4": table}, embedded=False), "saturate at synthetic-to-real")


def test_gains_saturate_is_a_claim_of_absence():
    within = _saturate({25: (0.01, -0.02, 0.04, 0.6), 50: (-0.01, -0.04, 0.02, 0.6)})
    assert (
        within.verdict == f"{SAME} (equivalence margin {MARGIN_TEXT})" and "in 1 of 1 settings" in within["this build"]
    )
    wide = _saturate({25: (0.03, -0.04, 0.10, 0.4), 50: (0.0, -0.03, 0.03, 0.9)})
    assert wide.verdict == f"{INCONCLUSIVE} (equivalence margin {MARGIN_TEXT})"
    rising = _saturate({25: (0.03, -0.04, 0.10, 0.4), 50: (0.08, 0.04, 0.12, 1e-3)})
    assert rising.verdict.startswith(DIFFERENT)
    # the same check on the page: per setting "yes", "inconclusive", "no"
    checks = tables.shape_checks_fig4(
        pd.concat(
            [
                _fig4((0.10, 0.06, 0.14, 1e-4), {25: (0.01, -0.02, 0.04, 0.6), 50: (0.0, -0.03, 0.03, 0.9)}, n_real=16),
                _fig4((0.10, 0.06, 0.14, 1e-4), {25: (0.03, -0.04, 0.10, 0.4), 50: (0.0, -0.03, 0.03, 0.9)}, n_real=32),
                _fig4((0.01, -0.03, 0.05, 0.6), {25: (0.08, 0.04, 0.12, 1e-3), 50: (0.0, -0.03, 0.03, 0.9)}, n_real=64),
            ]
        )
    )
    assert checks.saturation.tolist() == ["yes", "inconclusive", "no"]
    assert checks.saturates.tolist() == [True, False, False] and checks.increments_inside_noise.tolist() == [
        True,
        True,
        False,
    ]


def test_a_claim_about_a_cell_the_grid_lacks_is_not_comparable():
    """No best-of-grid fallback: a gain elsewhere is not the gain the paper reports at its cell."""
    big = (0.30, 0.25, 0.35, 1e-9)
    t3 = _fig3({(n, tf, "inpaint"): (big[0] + n / 1000, *big[1:]) for n in (1, 4, 16) for tf in (True, False)})
    t4 = _fig4(big, {4: (0.0, -0.02, 0.02, 0.9)}, ratios=(2, 4))
    for embedded in (False, True):
        result = headline_findings({"3": t3, "4": t4}, embedded=embedded)
        cell3 = _claim(result, "At 32 real images per disease label")
        assert cell3.verdict == NOT_COMPARABLE and "no cell at n = 32, with transforms" in cell3["this build"]
        cell4 = _claim(result, "adding 10 synthetic images per real")
        assert (
            cell4.verdict == NOT_COMPARABLE and "no cell at 10 synthetic per real, n = 16 or 32" in cell4["this build"]
        )
    # on the paper's own scale the claims about n = 228 and about ratios above 10 need those cells too
    result = headline_findings({"3": t3, "4": t4}, embedded=False)
    assert _claim(result, "diminished at sufficiently large").verdict == NOT_COMPARABLE
    assert _claim(result, "saturate at synthetic-to-real").verdict == NOT_COMPARABLE
    # the claim "with and without transforms" needs both settings
    only_with = t3[t3.transforms]
    assert (
        _claim(headline_findings({"3": only_with}, embedded=True), "with and without image transforms").verdict
        == NOT_COMPARABLE
    )


def test_embedded_verdicts_are_about_shape():
    """On stand-in data: "shape: " before every verdict; the largest n and the first ratio are the grid's
    own, and the peak "at 16, 32 or 64 of 1-228" reads "at an n inside the grid"."""
    t3 = _fig3(
        {
            (1, True, "inpaint"): (0.01, -0.02, 0.04, 0.6),
            (4, True, "inpaint"): (0.15, 0.10, 0.20, 1e-5),
            (16, True, "inpaint"): (0.01, -0.02, 0.04, 0.6),
            (4, False, "inpaint"): (0.12, 0.07, 0.17, 1e-4),
        }
    )
    t4 = _fig4((0.10, 0.06, 0.14, 1e-4), {4: (0.01, -0.02, 0.04, 0.6), 8: (0.0, -0.03, 0.03, 0.9)}, ratios=(2, 4, 8))
    result = headline_findings({"3": t3, "4": t4}, embedded=True)
    comparable = result[result.verdict != NOT_COMPARABLE]
    assert comparable.verdict.str.startswith("shape: ").all()
    peak = _claim(result, "highest at 16, 32, or 64")
    assert peak.verdict == f"shape: {SAME}" and "an n inside the grid" in peak["this build"]
    assert (
        _claim(result, "diminished at sufficiently large").verdict
        == f"shape: {SAME} (equivalence margin {MARGIN_TEXT})"
    )
    assert (
        _claim(result, "saturate at synthetic-to-real").verdict == f"shape: {SAME} (equivalence margin {MARGIN_TEXT})"
    )
    # the same grid on the paper's scale: the peak at n = 4 is not at 16, 32 or 64
    assert _claim(headline_findings({"3": t3}, embedded=False), "highest at 16, 32, or 64").verdict == DIFFERENT
    # a peak that is not beyond noise locates nothing
    flat = t3.assign(p_bh=0.5)
    assert (
        _claim(headline_findings({"3": flat}, embedded=True), "highest at 16, 32, or 64").verdict
        == f"shape: {INCONCLUSIVE}"
    )


def test_skin_tone_claim_reads_the_per_bin_intervals():
    def fig5(low_34: float) -> pd.DataFrame:
        rows = [
            {
                "fst": f,
                "transforms": True,
                "method": "inpaint",
                "gain": 0.08,
                "gain_low": lo,
                "gain_high": 0.14,
                "p": 0.3,
                "p_bh": 0.4,
            }
            for f, lo in (("12", 0.01), ("34", low_34), ("56", 0.02))
        ]
        return pd.DataFrame(rows)

    verdict = lambda t: _claim(headline_findings({"5": t}, embedded=False), "for all FST categories").verdict  # noqa: E731
    assert verdict(fig5(0.02)) == SAME  # intervals above 0, none significant after BH: what the paper reports
    assert verdict(fig5(-0.01)) == SAME_DIRECTION
    assert verdict(fig5(0.02).assign(gain=lambda t: np.where(t.fst == "56", -0.01, t.gain))) == DIFFERENT
    assert verdict(fig5(0.02)[lambda t: t.fst != "56"]) == NOT_COMPARABLE


def test_shape_checks_fig3_diminishes_per_setting():
    table = _fig3(
        {
            (4, True, "inpaint"): PEAK,
            (64, True, "inpaint"): (0.005, -0.02, 0.03, 0.7),
            (4, True, "text-to-image"): (0.02, -0.02, 0.06, 0.5),
            (64, True, "text-to-image"): (0.03, -0.05, 0.11, 0.5),
            (4, False, "inpaint"): (0.02, -0.02, 0.06, 0.5),
            (64, False, "inpaint"): (0.10, 0.06, 0.14, 1e-4),
        }
    )
    checks = tables.shape_checks_fig3(table).set_index(["method", "transforms"])
    # below the margin; below the peak of its transforms setting (inpaint's) beyond noise;
    # significant and no peak above it
    assert checks.diminishes.to_dict() == {
        ("inpaint", False): "no",
        ("inpaint", True): "yes",
        ("text-to-image", True): "yes",
    }
    assert (
        checks.loc[("inpaint", True)].below_margin_at_largest_n
        and not checks.loc[("text-to-image", True)].below_margin_at_largest_n
    )
    assert (
        checks.loc[("text-to-image", True)].below_peak_beyond_noise
        and checks.loc[("text-to-image", True)].peak_gain == PEAK[0]
    )
    assert checks.shape_as_paper.to_dict() == {
        ("inpaint", False): False,
        ("inpaint", True): True,
        ("text-to-image", True): False,
    }


def _planted_fig4(acc_by_ratio: dict, seeds, n_images: int, seed: int = 0):
    """Trials and predictions at n = 16 whose true accuracy per synthetic ratio is given."""
    rng = np.random.default_rng(seed)
    frame, preds = [], []
    images = [f"img{i:04d}" for i in range(n_images)]
    labels = np.array(["a", "b", "c", "d"])[np.arange(n_images) % 4]
    for ratio, p in acc_by_ratio.items():
        for s in seeds:
            key = f"{ratio}-{s}"
            frame.append(
                {
                    "key": key,
                    "n_real": 16,
                    "transforms": True,
                    "seed": s,
                    "synthetic_method": "text-to-image" if ratio else None,
                    "synthetic_ratio": ratio,
                    "duplicate": 0,
                    "n_real_per_label": "",
                }
            )
            correct = rng.uniform(size=n_images) < p
            preds.append(
                pd.DataFrame(
                    {
                        "key": key,
                        "image_id": images,
                        "label": labels,
                        "pred_1": np.where(correct, labels, "zz"),
                        "fst": 12,
                    }
                )
            )
    return pd.DataFrame(frame), pd.concat(preds, ignore_index=True)


@pytest.mark.parametrize(
    "seeds, n_images, expected", [((0, 1, 2, 3, 4), 1000, "yes"), ((0, 1, 2), 200, "inconclusive")]
)
def test_saturation_needs_intervals_narrow_enough_to_show_it(seeds, n_images, expected):
    """Flat beyond the first ratio: shown with 5 seeds x 1000 test images, not with 3 x 200."""
    table = tables.fig4_table(*_planted_fig4({0: 0.4, 10: 0.6, 25: 0.6, 50: 0.6}, seeds, n_images))
    checks = tables.shape_checks_fig4(table).iloc[0]
    assert checks.first_step_significant and checks.increments_inside_noise and checks.saturation == expected
    assert checks.saturates == (expected == "yes")


def test_findings_keep_their_columns_and_vocabulary():
    assert COLUMNS == ["figure", "claim", "paper", "this build", "verdict"]
    assert {SAME, SAME_DIRECTION, DIFFERENT, INCONCLUSIVE, NOT_COMPARABLE} == {
        "same direction and significance",
        "same direction, significance differs",
        "different",
        "inconclusive",
        "not comparable on this profile",
    }
    assert findings.MARGIN == tables.EQUIVALENCE_MARGIN
    empty = headline_findings({}, embedded=True)
    assert len(empty) == len(CLAIMS) and (empty.verdict == NOT_COMPARABLE).all()
