"""The generated Methods page: every row read from the profile or the code, its sources, the paper-vs-code
overrides, the statistics rows and the primary analysis' level and power."""

import numpy as np
import pandas as pd
import pytest
import yaml

from synthaug_utils.core.config import load_profile
from synthaug_utils.core.protocol import AUTHORS_CODE, PAPER, PROTOCOL, SOURCES
from synthaug_utils.presentation import methods


def _row(table: pd.DataFrame, key: str) -> pd.Series:
    return table.iloc[[s.key for s in PROTOCOL].index(key)]


def test_every_setting_has_a_source_and_the_paper_profile_follows_the_protocol():
    assert {s.source for s in PROTOCOL} <= set(SOURCES)
    paper = methods.methods_table(load_profile("paper"))
    assert paper.setting.tolist() == [s.setting for s in PROTOCOL]
    assert not paper["deviation and why"].str.startswith("deviates").any()
    demo = methods.methods_table(load_profile("demo"))
    steps = _row(demo, "gen_steps")  # 50 steps is the authors' code's value: the paper does not state it
    assert (
        steps["protocol"] == "50"
        and steps["source"].startswith("authors' code")
        and steps["deviation and why"].startswith("deviates: ")
    )
    for key in (
        "scheduler",
        "guidance_scale",
        "strength_inpaint",
        "db_learning_rate",
        "lr",
        "batch_rule",
        "safety_checker",
    ):
        assert next(s for s in PROTOCOL if s.key == key).source == AUTHORS_CODE, key
    assert _row(demo, "error_bars")["source"] == "paper" and _row(demo, "primary")["source"] == "project"


def test_per_image_seeds_are_a_project_deviation_on_every_profile():
    for name in ("demo", "smoke", "paper"):
        row = _row(methods.methods_table(load_profile(name)), "image_seed")
        assert (
            row["deviation and why"].startswith("project deviation: ")
            and "one generator per run" in row["deviation and why"]
        )
        assert row["source"] == "project" and row["authors' code"].startswith("one generator per run")
        assert row[f"profile {name}"].startswith("derive_seed: ")


def test_values_the_page_reads_from_the_code():
    assert methods.batch_rule_text("default") == "N ≥ 1000: 64, N ≥ 100: 32, else 8"
    assert methods.batch_rule_text("dose-response") == "N ≥ 5000: 128, N ≥ 1000: 64, N ≥ 100: 32, else 8"
    assert methods.call_keyword("synthaug_utils.diffusion.pipelines", "load_pipeline", "safety_checker") is None
    assert methods.call_keyword("synthaug_utils.classifier.faithful", "build_learner", "train_bn") is True
    assert methods.scheduler_name() == "DPMSolverMultistep"
    with pytest.raises(KeyError, match="no keyword"):
        methods.call_keyword("synthaug_utils.diffusion.pipelines", "load_pipeline", "no_such_keyword")
    assert methods.star_thresholds() == "*** p < 0.001, ** p < 0.01, * p < 0.05"
    paper, demo = (methods.profile_values(load_profile(n)) for n in ("paper", "demo"))
    assert paper["trainable"] == ("head", "BatchNorm layers") and demo["trainable"] == ("head",)  # demo: fast mode
    assert paper["outpaint_frame"] == 16 and paper["redraw_validation"] and paper["include_validation"]
    assert not demo["redraw_validation"] and not demo["include_validation"]
    assert (
        paper["fig4_batch_rule"].startswith("N ≥ 5000: 128")
        and paper["fig4_restore_best"]
        and not paper["restore_best"]
    )
    assert paper["imbalance_method"] == "inpaint" and paper["db_crop_scale"] == (0.9, 1.1) and paper["db_hflip"]


def test_statistics_rows_are_the_docstrings_of_the_code_that_computes_them(monkeypatch):
    from synthaug_utils.analysis import stats

    values = methods.profile_values(load_profile("demo"))
    assert values["paper_test"] == methods.code_summary(stats.paper_convention_test)
    assert values["error_bars"] == methods.code_summary(stats.paper_convention_interval)
    assert stats.PRIMARY_ANALYSIS_TEXT in values["primary"]
    assert values["stars"].startswith("significance_stars: *** p < 0.001") and "Benjamini-Hochberg" in values["stars"]
    assert values["large_n"].startswith("PrimaryComparison.ci_low, ci_high: the 95% interval")

    def renamed(acc_a, acc_b, n_test_a, n_test_b=None):
        """A ``marker`` test of :func:`proportions_test`.

        Details that the page leaves out."""

    monkeypatch.setattr(stats, "paper_convention_test", renamed)
    assert methods.profile_values(load_profile("demo"))["paper_test"] == "renamed: A marker test of proportions_test."


def test_figure_stars_are_the_primary_analysis_bh_adjusted_over_a_figure():
    """What the stars row's deviation says: stars = significance_stars(BH(primary p)) over one table."""
    from synthaug_utils.analysis import stats
    from synthaug_utils.analysis.tables import compare_with_baseline

    rng = np.random.default_rng(3)
    rows = []
    for n in (1, 4):
        for method, p_right in (("none", 0.4), ("inpaint", 0.4 + 0.1 * n)):
            for seed in range(3):
                for image in range(60):
                    rows.append(
                        dict(
                            key=f"{n}-{method}-{seed}",
                            n_real=n,
                            method=method,
                            seed=seed,
                            image_id=image,
                            correct=bool(rng.random() < p_right),
                        )
                    )
    merged = pd.DataFrame(rows)
    table = compare_with_baseline(merged, ["n_real"], "method", "none").dropna(subset=["p"])
    primary = []
    for n in (1, 4):
        arm, base = (
            merged[(merged.n_real == n) & (merged.method == m)]
            .pivot(index="seed", columns="image_id", values="correct")
            .to_numpy(float)
            for m in ("inpaint", "none")
        )
        primary.append(stats.primary_comparison(arm, base).p_value)
    np.testing.assert_allclose(table.sort_values("n_real").p, primary)
    assert list(table.sort_values("n_real").stars) == stats.significance_stars(
        stats.benjamini_hochberg(np.array(primary))
    )


def _override(cell: str) -> dict:
    assert cell.startswith("`overrides: ") and cell.endswith("`")
    return yaml.safe_load(cell[len("`overrides: ") : -1])


def test_paper_vs_code_choices_name_an_override_that_gives_the_other_value():
    demo = load_profile("demo")
    choices = methods.choices_table(demo)
    keyed = {s.setting: s for s in PROTOCOL if s.parameter}
    assert {"outpaint_frame", "monitor", "max_epochs", "redraw_validation", "include_validation"} <= {
        s.key for s in keyed.values()
    }
    for _, row in choices.iterrows():
        s = keyed[row.setting]
        value = methods.profile_values(load_profile("paper", overrides=_override(row["override for the other value"])))[
            s.key
        ]
        assert value == (s.value if s.source == PAPER else (not s.value)), s.key
    monitor = choices[choices.setting == keyed_setting("monitor")].iloc[0]
    assert monitor["the paper's text"] == "accuracy" and monitor["the authors' code"] == "valid_loss"
    assert monitor["override for the other value"] == "`overrides: {early_stopping_metric: accuracy}`"
    page = methods.methods_markdown(load_profile("paper", overrides={"early_stopping_metric": "accuracy"}))
    assert "| early-stopping metric (validation set) | accuracy | valid_loss | accuracy |  | paper |" in page


def keyed_setting(key: str) -> str:
    return next(s.setting for s in PROTOCOL if s.key == key)


def test_page_lists_every_value_and_follows_the_profile():
    P = load_profile("smoke", overrides={"gen_steps": 7})
    page = methods.methods_markdown(P)
    assert "| sampling steps | 50 |  | 7 | deviates" in page
    text = page.replace("\\*", "*").replace("\\|", "|")
    for _, row in methods.methods_table(P).iterrows():
        for value in row.drop("section").values:
            assert str(value) in text, value
    for heading in (
        "## Statistics",
        "## Where the paper's text and the authors' code differ",
        "## Why this primary analysis",
        "### Level and power",
    ):
        assert heading in page
    from synthaug_utils.analysis.stats import primary_comparison

    bullets = methods.doc_bullets(primary_comparison)
    assert bullets[0].startswith("one seed: a paired t-test over test images") and "; ".join(bullets) in page


def test_primary_analysis_section_names_this_builds_seeds():
    two = load_profile("demo", overrides={"grids": {"fig3": {"seeds": [0, 1]}}})
    note = methods.few_seed_note(2)
    assert note.startswith("two seeds: ")  # primary_comparison's own note
    assert f"This build runs 2 seeds per setting in Fig. 3 ({note})." in methods.primary_analysis_markdown(two)
    assert "This build runs 3 seeds per setting in Fig. 3." in methods.primary_analysis_markdown(load_profile("demo"))


def _level_csv(path, rows):
    pd.DataFrame(rows, columns=list(methods.LEVEL_COLUMNS)).to_csv(path, index=False)
    return path


def test_level_and_power_table_and_sentence_from_the_benchmark(tmp_path):
    rows = []
    for test, designs, reps in (("primary", ((3, 360), (5, 360)), 1000), ("gee (former)", ((5, 360),), 200)):
        for seeds, images in designs:
            for sigma in (0.0, 0.2):
                for effect in (0.0, 8.0):
                    rate = {("primary", 0.0): 0.048, ("gee (former)", 0.0): 0.25}.get(
                        (test, effect), 0.30 + 0.1 * seeds
                    )
                    rows.append((test, seeds, images, sigma, effect, reps, rate))
    text = methods.level_power_markdown(_level_csv(tmp_path / "level.csv", rows))
    assert "| test | seeds × images | replicates | σ = 0 | σ = 0.2 |" in text
    assert "| primary | 5 × 360 | 1000 | 4.8% / 80.0% | 4.8% / 80.0% |" in text
    assert "| gee (former) | 5 × 360 | 200 | 25.0% / 80.0% | 25.0% / 80.0% |" in text
    assert (
        "At 5 seeds × 360 test images and σ = 0.2, a star is wrong in 4.8% of comparisons without a true effect with "
        "the primary analysis, against 25.0% with the former GEE; a true gain of +8 pp earns a star in 60.0% with 3 "
        "seeds "
        "and 80.0% with 5 seeds"
    ) in text
    assert "benchmark not run" in methods.level_power_markdown(tmp_path / "absent.csv")
    pd.DataFrame({"test": ["primary"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="missing column"):
        methods.level_power_markdown(tmp_path / "bad.csv")


def test_level_and_power_reads_the_repository_benchmark_when_present(monkeypatch, tmp_path):
    from synthaug_utils.core import paths

    monkeypatch.setattr(paths, "project_root", lambda: tmp_path)
    assert "benchmark not run" in methods.level_power_markdown()
    (tmp_path / "benchmarks").mkdir()
    _level_csv(
        tmp_path / methods.LEVEL_RESULTS,
        [("primary", 5, 360, 0.2, 0.0, 10, 0.1), ("primary", 5, 360, 0.2, 8.0, 10, 0.5)],
    )
    assert "a star is wrong in 10.0% of comparisons" in methods.level_power_markdown()
