"""Figure tables from planted trial results: pooled accuracy, gains, paired bootstrap, BH, shape checks."""

import numpy as np
import pandas as pd
import pytest

from synthaug_utils.analysis import highlights, tables
from synthaug_utils.core import vocabulary
from synthaug_utils.presentation import plot_style, plots, prose


def _planted(acc_by_arm: dict, seeds=(0, 1, 2), n_images=200, seed=0):
    """A trial frame + predictions whose true accuracy per (n_real, method) is given."""
    rng = np.random.default_rng(seed)
    frame, preds = [], []
    images = [f"img{i:03d}" for i in range(n_images)]
    labels = np.array(["a", "b", "c", "d"])[np.arange(n_images) % 4]
    fst = (np.arange(n_images) % 3 + 1) * 11 + np.arange(n_images) % 3 * 11  # 12, 34, 56
    for (n_real, method), p in acc_by_arm.items():
        for s in seeds:
            key = f"{n_real}-{method}-{s}"
            frame.append(
                {
                    "key": key,
                    "n_real": n_real,
                    "transforms": True,
                    "seed": s,
                    "synthetic_method": None if method == "none" else method,
                    "synthetic_ratio": 0 if method == "none" else 10,
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
                        "fst": fst,
                    }
                )
            )
    return pd.DataFrame(frame), pd.concat(preds, ignore_index=True)


def test_fig3_table_finds_a_planted_gain_and_not_a_null_one():
    frame, preds = _planted({(4, "none"): 0.4, (4, "inpaint"): 0.6, (64, "none"): 0.7, (64, "inpaint"): 0.7})
    table = tables.fig3_table(frame, preds)
    small = table[(table.n_real == 4) & (table.method == "inpaint")].iloc[0]
    large = table[(table.n_real == 64) & (table.method == "inpaint")].iloc[0]
    # three seeds: the run term is kept at its floor, so the interval is wide but still above 0
    assert 0.12 < small.gain < 0.28 and small.gain_low > 0 and small.p_bh < 0.05 and small.stars != ""
    assert abs(large.gain) < 0.06 and large.gain_low < 0 < large.gain_high and large.p_bh > 0.05
    base = table[(table.n_real == 4) & (table.method == "none")].iloc[0]
    assert base.n == 3 * 200 and base.runs == 3 and np.isnan(base.p)
    assert base.ci_low < base.accuracy < base.ci_high
    # both analyses find the planted gain; the paper's convention uses n = one test set per arm
    assert small.paper_p_bh < 1e-3 and small.paper_stars == "***" and large.paper_p_bh > 0.05
    assert small.gain_low > 0 and small.p < 0.05 and bool(small.paired)
    assert (
        base.n_test == 200
        and abs((base.ci_high - base.ci_low) / 2 - 1.959964 * np.sqrt(base.accuracy * (1 - base.accuracy) / 200)) < 1e-6
    )
    checks = tables.shape_checks_fig3(table)
    assert checks.iloc[0].gain_significant_at_small_n and checks.iloc[0].gain_not_significant_at_largest_n
    assert checks.iloc[0].shape_as_paper
    # no real effect anywhere: the threshold (BH-adjusted primary p < 0.05) does not call the shape
    frame, preds = _planted({(n, m): 0.5 for n in (4, 16, 64) for m in ("none", "inpaint")}, seed=5)
    null = tables.shape_checks_fig3(tables.fig3_table(frame, preds))
    assert not null.shape_as_paper.any()


def _planted_fig4(acc_by_ratio: dict, seed=0, seeds=(0, 1, 2), n_images=200):
    frame, preds = _planted(
        {(16, "none" if r == 0 else str(r)): p for r, p in acc_by_ratio.items()},
        seed=seed,
        seeds=seeds,
        n_images=n_images,
    )
    frame["synthetic_ratio"] = [0 if pd.isna(m) else int(m) for m in frame.synthetic_method]
    frame["synthetic_method"] = [None if r == 0 else "text-to-image" for r in frame.synthetic_ratio]
    return frame, preds


def test_fig4_saturation_check_has_a_noise_threshold():
    # five seeds x 1,000 images: intervals narrow enough to show the larger ratios add less than the margin
    saturating = tables.fig4_table(*_planted_fig4({0: 0.4, 10: 0.6, 25: 0.6, 50: 0.6}, seeds=range(5), n_images=1000))
    checks = tables.shape_checks_fig4(saturating).iloc[0]
    assert checks.first_step_significant and checks.increments_inside_noise and checks.saturates
    rising = tables.fig4_table(
        *_planted_fig4({0: 0.3, 10: 0.4, 25: 0.55, 50: 0.75}, seed=1, seeds=range(5), n_images=1000)
    )
    checks = tables.shape_checks_fig4(rising).iloc[0]
    assert checks.first_step_significant and not checks.increments_inside_noise and not checks.saturates


def test_bh_adjusts_over_the_whole_figure():
    frame, preds = _planted(
        {(n, m): 0.5 + (0.05 if m != "none" else 0) for n in (1, 2, 3) for m in ("none", "inpaint", "text-to-image")}
    )
    table = tables.fig3_table(frame, preds).dropna(subset=["p"])
    assert len(table) == 6 and (table.p_bh >= table.p - 1e-12).all()
    assert (table.paper_p_bh >= table.paper_p - 1e-12).all()


def test_two_analyses_table_and_disagreements():
    """A gain planted in one seed only: the paper's convention (n = one test set, per-run means) and the
    primary analysis are both shown; every comparison appears once, and disagreements are named."""
    frame, preds = _planted({(4, "none"): 0.4, (4, "inpaint"): 0.6, (64, "none"): 0.7, (64, "inpaint"): 0.71})
    table = tables.fig3_table(frame, preds)
    both = tables.two_analyses(table, ["n_real", "transforms"], "method")
    assert len(both) == 2 and set(both.columns) >= {"gain_pp", "paper_p_bh", "primary_p_bh", "gain_ci_pp", "agree"}
    assert both.agree.all()
    forced = table.assign(paper_p_bh=np.where(table.n_real == 64, 0.01, table.paper_p_bh))
    facts = prose.analyses_facts(tables.two_analyses(forced, ["n_real", "transforms"], "method"), "x", n_test=200)
    assert facts["x_tests"] == 2 and facts["x_paper_sig"] == 2 and facts["x_primary_sig"] == 1
    assert (
        "n_real 64" in facts["x_disagree"]
        and "paper's convention only" in facts["x_disagree"]
        and "n = 200" in facts["x_how"]
    )
    assert "agree on all 2" in prose.analyses_facts(both, "x")["x_disagree"]


def test_figure_functions_draw(tmp_path):
    frame, preds = _planted(
        {
            (n, m): 0.3 + 0.001 * n + (0.1 if m != "none" else 0)
            for n in (1, 16, 64)
            for m in ("none", "inpaint", "text-to-image")
        }
    )
    fig3 = tables.fig3_table(frame, preds)
    fig, drawn = plots.plot_fig3(fig3, vocabulary.DEMO_NOTE)
    fig.savefig(tmp_path / "f3.png")
    # the figure's table is what it draws: every arm and setting, its accuracy and interval
    assert len(drawn) == len(fig3) and {"method", "n_real", "accuracy", "ci_low", "ci_high"} <= set(drawn)
    fig, drawn = plots.plot_figS1(tables.figS1_table(frame, preds))
    fig.savefig(tmp_path / "s1.png")
    assert "label" in drawn and set(drawn.columns) - {"label"} <= set(plot_style.METHOD_ORDER)
    assert (tmp_path / "f3.png").stat().st_size > 10_000


def test_empty_store_gives_a_clear_error():
    with pytest.raises(Exception, match="run the grid first"):
        tables.fig3_table(pd.DataFrame(), pd.DataFrame())


def test_learning_curve_table_pools_seeds_per_n(tmp_path):
    frame, preds = _planted({(1, "none"): 0.3, (16, "none"): 0.6, (228, "none"): 0.8})
    table = tables.learning_curve_table(frame, preds)
    assert list(table.n_real) == [1, 16, 228] and (table.n == 3 * 200).all() and (table.runs == 3).all()
    assert table.accuracy.is_monotonic_increasing and (table.ci_low < table.accuracy).all()
    facts = highlights.learning_curve_highlights(table, n_labels=4)
    assert f"{facts['lc_chance']:.1%}" == "25.0%" and facts["lc_n_max"] == 228  # raw: the page formats them
    assert f"{facts['lc_acc_min']:.1%}" == highlights.percent(table.accuracy.iloc[0])
    plots.plot_learning_curve(table, 0.25, vocabulary.DEMO_NOTE).fig.savefig(tmp_path / "lc.png")


def test_mode_gap_summary_and_plot(tmp_path):
    pairs = pd.DataFrame(
        {
            "n_real": [1, 8, 1, 8],
            "method": ["none", "none", "inpaint", "inpaint"],
            "transforms": False,
            "seed": 0,
            "fast": [0.5, 0.7, 0.55, 0.72],
            "faithful": [0.4, 0.68, 0.57, 0.6],
            "faithful_epochs": 5,
            "fast_s": [1.0, 1.0, 1.0, 1.0],
            "faithful_s": [20.0, 30.0, 20.0, 30.0],
        }
    )
    pairs["diff"] = pairs.fast - pairs.faithful
    facts = highlights.mode_gap_summary(pairs)
    assert facts["mode_pairs"] == 4 and facts["mode_max_abs"] == "12.0 pp" and facts["mode_fast_higher"] == 3
    assert facts["mode_mean_diff"] == "+5.5 pp" and facts["mode_time_ratio"] == "25"
    assert highlights.mode_gap_summary(pairs.iloc[:0])["mode_mean_abs"] == "n/a"
    plots.plot_mode_gap(pairs, vocabulary.DEMO_NOTE).fig.savefig(tmp_path / "gap.png")


# ----------------------------------------------------------------------------- reproduction report
def test_reproduction_report_matches_on_every_setting_on_the_smoke_profile():
    """Smoke grid settings (ratio 2, pretrained generator, n 1 and 4): no paper row has an exactly
    matching cell, so every built row reads "not comparable" and no value agreement is stated."""
    from synthaug_utils.analysis import paper, report
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.experiments.grids import grid_settings

    P = load_profile("smoke")
    frame, preds = _planted(
        {(n, m): 0.3 + (0.1 if m != "none" else 0) for n in (1, 4) for m in ("none", "inpaint", "in-then-outpaint")}
    )
    table = tables.fig3_table(frame, preds)
    out = report.reproduction_table(
        paper.paper_values(), {"3": table}, {"3": grid_settings("fig3", P)}, compare_values=False
    )
    fig3 = out[out.figure == "3"]
    assert len(fig3) and fig3.status.str.startswith("not comparable").all() and fig3.build.isna().all()
    assert (out[out.figure != "3"].status == "figure not built").all()
    facts = report.report_facts(out, tables.shape_checks_fig3(table), pd.DataFrame(columns=["saturates"]), "smoke")
    assert facts["rr_compared"] == 0 and facts["rr_saturates"] == 0
    assert "no value agreement" in prose.reproduction_values(out, "smoke", compare_values=False)


def test_reproduction_report_compares_exact_cells_only():
    from synthaug_utils.analysis import paper, report

    # the paper's own Fig. 3 cells: n 32 and 64, transforms on, ratio 10, DreamBooth
    frame, preds = _planted(
        {
            (n, m): 0.25 + (0.04 if m != "none" else 0)
            for n in (32, 64)
            for m in ("none", "inpaint", "in-then-outpaint", "text-to-image")
        },
        n_images=360,
    )
    table = tables.fig3_table(frame, preds)
    exact = {"3": {"ratio": 10, "variant": "dreambooth"}}
    out = report.reproduction_table(paper.paper_values(), {"3": table}, exact, compare_values=True).set_index("setting")
    acc = out.loc["method=in-then-outpaint, n_real=32, transforms=yes, ratio=10"]
    assert acc.status == "compared" and acc.agreement in ("agree", "differ") and np.isfinite(acc.z)
    assert acc.build == pytest.approx(
        table[(table.n_real == 32) & (table.method == "in-then-outpaint")].accuracy.iloc[0] * 100
    )
    gain = out.loc["method=inpaint|in-then-outpaint|text-to-image, n_real=32, transforms=yes, ratio=10"]
    assert gain.status == "compared"  # the maximum over exactly the three listed methods, all present
    assert out.loc["method=inpaint, n_real=228, transforms=yes, ratio=10"].status.startswith("not comparable")
    # another generator variant or ratio: not comparable, never a nearby cell
    for other in ({"ratio": 10, "variant": "pretrained"}, {"ratio": 4, "variant": "dreambooth"}):
        out = report.reproduction_table(paper.paper_values(), {"3": table}, {"3": other}, compare_values=True)
        synthetic = out[(out.figure == "3") & ~out.setting.str.startswith("method=none")]
        assert synthetic.status.str.startswith("not comparable").all() and synthetic.agreement.isna().all()
    # the paper does not state transforms for Fig. 5 and the build has both: not comparable
    frame, preds = _planted({(None, m): 0.7 for m in ("none", "inpaint", "in-then-outpaint")}, n_images=96)
    frame = pd.concat([frame, frame.assign(transforms=False, key=frame.key + "f")])
    preds = pd.concat([preds, preds.assign(key=preds.key + "f")])
    out = report.reproduction_table(
        paper.paper_values(),
        {"5": tables.fig5_table(frame, preds)},
        {"5": {"ratio": 10, "variant": "dreambooth", "n_real": None}},
        compare_values=True,
    )
    unstated = out[(out.figure == "5") & ~out.setting.str.contains("transforms=")]
    assert len(unstated) == 9 and unstated.status.str.startswith("not comparable").all()
    assert unstated.status.str.contains("does not state transforms").any()


def test_duplication_and_budget_tables():
    """Controls: synthetic arms against duplication; DreamBooth on the own n images against the whole pool."""
    frame, preds = _planted(
        {(4, "none"): 0.4, (4, "dup"): 0.45, (4, "inpaint"): 0.6, (4, "own"): 0.41, (4, "pool"): 0.62}
    )
    frame["duplicate"] = np.where(frame.synthetic_method == "dup", 4, 0)
    frame["synthetic_variant"] = frame.synthetic_method.map(
        {"own": "dreambooth-own", "pool": "dreambooth", "inpaint": "pretrained"}
    )
    frame.loc[frame.synthetic_method == "dup", ["synthetic_method", "synthetic_ratio"]] = [None, 0]
    frame.loc[frame.synthetic_method.isin(["own", "pool"]), "synthetic_method"] = "text-to-image"
    frame.loc[frame.synthetic_method == "inpaint", "synthetic_ratio"] = 4  # as many images as the duplication arm
    dup = tables.duplication_table(frame, preds)
    row = dup[dup.arm == "inpaint"].iloc[0]
    # the budget arms (another ratio, or DreamBooth on own images) stay out of the duplication table
    assert 0.08 < row.gain < 0.22 and row.p_bh < 0.05 and set(dup.arm) == {"none", "duplicate", "inpaint"}
    with pytest.raises(Exception, match="ambiguous"):  # two trials per seed in one arm are refused, never one picked
        tables.compare_with_baseline(tables.merged_predictions(frame, preds), ["n_real"], "method", "none")
    budget = tables.budget_table(frame, preds)
    assert set(budget.arm) == {"none", "dreambooth", "dreambooth-own"} and set(budget.method) == {"text-to-image"}
    pool, own = (budget[budget.arm == a].iloc[0] for a in ("dreambooth", "dreambooth-own"))
    assert pool.gain > 0.15 and pool.p_bh < 0.05 and abs(own.gain) < 0.12 and own.gain < pool.gain - 0.1
    assert own.own_vs_pool_gain < -0.12 and own.own_vs_pool_p_bh < 0.05 and np.isnan(pool.own_vs_pool_gain)


def test_budget_table_separates_what_the_generator_saw_from_how_far_it_was_tuned():
    """Four budget arms at the same ratio: the pretrained generator, DreamBooth on the whole pool, on the own
    images (same recipe) and on the own images for the pool's steps; another grid's pretrained trials at
    another ratio stay out."""
    arms = {"none": 0.4, "pre": 0.45, "pool": 0.62, "own": 0.42, "steps": 0.6, "fig3pre": 0.7}
    frame, preds = _planted({(4, a): p for a, p in arms.items()})
    variant = {
        "pre": "pretrained",
        "pool": "dreambooth",
        "own": "dreambooth-own",
        "steps": "dreambooth-own-steps",
        "fig3pre": "pretrained",
    }
    frame["synthetic_variant"] = frame.synthetic_method.map(variant)
    frame.loc[frame.synthetic_method == "fig3pre", "synthetic_ratio"] = 4
    frame.loc[frame.synthetic_method.notna(), "synthetic_method"] = "text-to-image"
    budget = tables.budget_table(frame, preds)
    assert set(budget.arm) == {"none", "pretrained", "dreambooth", "dreambooth-own", "dreambooth-own-steps"}
    row = budget.set_index("arm")
    assert row.loc["pretrained"].accuracy < 0.5  # the 70% pretrained trials at ratio 4 are not in this arm
    steps, own = row.loc["dreambooth-own-steps"], row.loc["dreambooth-own"]
    # at the same steps the pool barely helps
    assert abs(steps.own_vs_pool_gain) < 0.06 and own.own_vs_pool_gain < -0.12
    assert steps.steps_vs_own_gain > 0.12 and steps.steps_vs_own_p_bh < 0.05 and np.isnan(own.steps_vs_own_gain)
    text = prose.controls_highlights(pd.DataFrame(columns=["arm", "gain", "n_real", "transforms", "p_bh"]), budget)[
        "c_budget"
    ]
    assert "pretrained generator" in text and "how far it was fine-tuned" in text and "what the generator saw" in text


def test_contamination_finds_a_planted_copy_of_a_test_image():
    from synthaug_utils.analysis import quality

    rng = np.random.default_rng(0)
    train, val, test = rng.normal(size=(200, 16)), rng.normal(size=(40, 16)), rng.normal(size=(40, 16))
    synth = rng.normal(size=(30, 16))
    synth[3] = test[7] + rng.normal(scale=1e-3, size=16)  # a near copy of test image 7
    meta = pd.DataFrame(
        {"synthetic_id": [f"s{i}" for i in range(30)], "method": "text-to-image", "variant": "dreambooth"}
    )
    pools = {
        "training pool": (train, [f"tr{i}" for i in range(200)]),
        "validation": (val, [f"v{i}" for i in range(40)]),
        "test": (test, [f"te{i}" for i in range(40)]),
    }
    summary, closest, threshold = quality.contamination(synth, meta, pools, top=3)
    row = summary.set_index("pool").loc["test"]
    assert row.near_copies == 1 and row.min_distance < threshold and row.nearest_in_pool >= 1
    assert summary.set_index("pool").loc["validation"].near_copies == 0
    first = closest[closest.pool == "test"].iloc[0]
    assert (first.synthetic_id, first.real_id) == ("s3", "te7") and len(closest) == 9
    # each image's nearest lies in one pool
    assert summary.groupby(["method", "variant"]).nearest_in_pool.sum().iloc[0] == 30


def test_limits_are_computed():
    from synthaug_utils.core.config import load_profile

    demo = load_profile("demo")
    facts = prose.limits_facts(demo, (1, 4, 16))
    half = 1.959964 * np.sqrt(0.731 * 0.269 / demo.ddi_per_bin) * 100
    assert facts["lim_bin_halfwidth"] == f"±{half:.1f} points" and 14 < half < 17
    assert str(demo.world.pretrain_per_class) in facts["lim_generator"] and "16" in facts["lim_generator"]
    wider = prose.limits_facts(demo.replace(ddi_per_bin=8))
    assert float(wider["lim_bin_halfwidth"][1:].split()[0]) > half


def test_imbalance_budget_table_scores_the_rare_label():
    frame, preds = _planted({(32, "none"): 0.3, (32, "own"): 0.32, (32, "pool"): 0.55})
    frame["duplicate"] = 0
    frame["synthetic_variant"] = frame.synthetic_method.map({"own": "dreambooth-own", "pool": "dreambooth"})
    frame.loc[frame.synthetic_method.isin(["own", "pool"]), "synthetic_method"] = "inpaint"
    frame["n_real_per_label"] = "a=4"  # label "a" is the rare one, cut to 4
    table = tables.imbalance_budget_table(frame, preds)
    assert set(table.rare_label) == {"a"} and (table.n_test == 50).all()  # only the rare label's test images
    own = table[table.arm == "dreambooth-own"].iloc[0]
    assert own.own_vs_pool_gain < 0 and table[table.arm == "dreambooth"].iloc[0].gain > 0.1
    facts = prose.imbalance_budget_facts(table)
    assert facts["s2_budget"].startswith("Rare-label accuracy") and "a cut to 4" in facts["s2_budget"]
    assert "did not run" in prose.imbalance_budget_facts(None)["s2_budget"]


def test_a_pick_among_estimates_within_one_standard_error_names_them_all_in_a_fixed_order():
    # gains with 95% intervals 8 pp wide (SE ~2 pp): 4.0 and 3.0 are tied with the largest (4.5), 1.0 is not
    tests = pd.DataFrame(
        {
            "method": ["inpaint", "text-to-image", "in-then-outpaint", "outpaint"],
            "synthetic_ratio": [2.0, 4.0, 8.0, 16.0],
            "gain": [0.040, 0.045, 0.030, 0.010],
        }
    )
    tests["gain_low"], tests["gain_high"] = tests.gain - 0.04, tests.gain + 0.04
    expected = "in-then-outpaint, inpaint or text-to-image (within one standard error)"
    assert highlights.tied_with_best(tests, "method") == expected
    assert highlights.tied_with_best(tests.iloc[::-1], "method") == expected  # order does not matter
    assert highlights.tied_with_best(tests, "synthetic_ratio") == "2, 4 or 8 (within one standard error)"
    narrow = tests.assign(gain_low=tests.gain - 0.001, gain_high=tests.gain + 0.001)
    assert highlights.tied_with_best(narrow, "method") == "text-to-image"


def test_figS2_pooled_counts_each_test_image_once():
    """Pooled over rare labels, transforms and seeds, the Wald interval's n is the distinct test images
    behind the row: the whole test set overall, the cut labels' own images on the rare label."""
    rng = np.random.default_rng(0)
    images = [f"img{i:03d}" for i in range(200)]
    labels = np.array(["a", "b", "c", "d"])[np.arange(200) % 4]
    frame, preds = [], []
    for rare in ("a", "b", "c"):
        for tf in (True, False):
            for control, ratio, dup in (("none", 0, 0), ("duplicate", 0, 4), ("synthetic", 4, 0)):
                for s in (0, 1):
                    key = f"{rare}-{tf}-{control}-{s}"
                    frame.append(
                        {
                            "key": key,
                            "n_real": 32,
                            "transforms": tf,
                            "seed": s,
                            "synthetic_ratio": ratio,
                            "duplicate": dup,
                            "synthetic_method": "inpaint" if ratio else None,
                            "n_real_per_label": f"{rare}=4",
                        }
                    )
                    correct = rng.uniform(size=200) < 0.6
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
    merged = tables.merged_predictions(pd.DataFrame(frame), pd.concat(preds, ignore_index=True))
    both = pd.concat(
        [merged[merged["true"] == merged["rare_label"]].assign(scope="rare label"), merged.assign(scope="overall")],
        ignore_index=True,
    )
    # the accuracy columns of figS2_table, without its bootstrap
    table = tables.accuracy_by(both, ["scope", "rare_label", "rare_n", "transforms", "control"])
    pooled = tables.figS2_pooled(table).set_index(["scope", "rare_n", "control"]).sort_index()
    distinct = both.groupby(["scope", "rare_n", "control"]).image_id.nunique().sort_index()
    assert (pooled.n_test == distinct).all()
    assert set(pooled.xs("overall").n_test) == {200} and set(pooled.xs("rare label").n_test) == {150}
    summed = table.groupby(["scope", "rare_n", "control"]).n_test.sum().sort_index()
    assert (summed > pooled.n_test).all()  # summing over rows would count each image 6 or 3 times
    half = 1.959964 * np.sqrt(pooled.accuracy * (1 - pooled.accuracy) / pooled.n_test)
    assert np.allclose((pooled.ci_high - pooled.ci_low) / 2, half, atol=1e-9)


def test_numbers_behind_the_figure_keeps_the_keys_and_the_result_columns_in_order():
    frame, preds = _planted({(4, "none"): 0.4, (4, "inpaint"): 0.6})
    table = tables.fig3_table(frame, preds)
    shown = tables.numbers_behind(table, ["n_real", "transforms", "method"], leave_out=["seed_sd"])
    assert list(shown.columns) == ["n_real", "transforms", "method"] + [
        c for c in tables.NUMBERS_COLUMNS if c != "seed_sd"
    ]
