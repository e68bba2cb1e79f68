"""What a paper build does and costs (synthaug_utils.analysis.paper_workload, paper_cost) on hand-checkable inputs."""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest

from synthaug_utils.analysis import paper_cost as pc
from synthaug_utils.analysis import paper_workload as pw
from synthaug_utils.presentation import cost_prose


def test_module_needs_no_torch():
    code = (
        "import sys, synthaug_utils.analysis.paper_cost, synthaug_utils.analysis.paper_workload; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_synthetic_split_proportional_and_exact():
    assert pw.synthetic_split(100, {"a": 1, "b": 1, "c": 2}) == {"a": 25, "b": 25, "c": 50}
    parts = pw.synthetic_split(10, {"a": 1, "b": 1, "c": 1})
    assert sum(parts.values()) == 10 and sorted(parts.values()) == [3, 3, 4]
    default = pw.synthetic_split()
    assert sum(default.values()) == 458_920
    # released F17k-9 shares: 66,780 : 66,780 : 600,986
    assert default["inpaint"] == default["in-then-outpaint"] == 41_722
    assert default["text-to-image"] == 375_476


def test_dreambooth_models_and_steps():
    assert pw.dreambooth_steps(5, epochs=4, batch=4) == 8  # ceil(5/4) = 2 steps per epoch
    assert pw.dreambooth_steps(8, epochs=1, batch=4) == 2
    models = pw.dreambooth_models()
    assert len(models) == 2 * 9 + 1
    psoriasis = models[(models.group == "psoriasis") & (models.kind == "text2image")].iloc[0]
    assert (psoriasis.images, psoriasis.steps) == (584, 146 * 4)
    ddi = models[models.group == "DDI (all)"].iloc[0]
    assert (ddi.kind, ddi.images, ddi.steps) == ("inpaint", 560, 140 * 25)
    assert sum(pw.F17K9_TRAINING_COUNTS.values()) == 3339 and pw.REAL_IMAGES == 3699 + 656


def test_training_set_size():
    pool = {"a": 10, "b": 10}
    assert pw.training_set_size(4, pool, synthetic_ratio=10) == 8 + 80
    assert pw.training_set_size(None, pool) == 20
    assert pw.training_set_size(50, pool) == 20  # capped at the pool
    # label a cut to 2 and duplicated 3 more times; b keeps 4
    assert pw.training_set_size(4, pool, per_label={"a": 2}, duplicate=3, augment_labels=("a",)) == 6 + 2 * 3


def test_train_rate_nearest_batch():
    assert pc.train_rate({8: 1.0, 64: 2.0}, 64) == (2.0, 64)
    assert pc.train_rate({8: 1.0, 64: 2.0}, 32) == (2.0, 64)  # log-distance 2x beats 4x
    assert pc.train_rate({8: 1.0, 32: 3.0}, 16) == (3.0, 32)  # a tie goes to the larger batch
    assert pc.train_rate({}, 16) == (None, None)


def _hand_inputs():
    rates = pc.Throughputs(
        text_to_image=1.0,
        inpaint=2.0,
        in_then_outpaint=1.0,
        dreambooth={"text2image": 1.0},
        classifier_train={32: 50.0},
        classifier_infer=10.0,
        clip=2.0,
    )
    trials = pd.DataFrame(
        [dict(grid="g", key="k", n_train=100, n_val=10, n_test=20, batch_rule="default", batch_size=32)]
    )
    synthetic = {"text-to-image": 3600, "inpaint": 3600, "in-then-outpaint": 3600}
    dreambooth = pd.DataFrame([dict(group="x", kind="text2image", images=1, epochs=1, steps=3600)])
    return rates, trials, synthetic, dreambooth


def test_estimate_hand_checked():
    rates, trials, synthetic, dreambooth = _hand_inputs()
    table = pc.estimate(
        rates,
        trials=trials,
        synthetic=synthetic,
        dreambooth=dreambooth,
        embedding_images=7200,
        epochs_per_trial=2,
        device="test device",
    )
    hours = dict(zip(table.stage, table.hours))
    assert hours["generate text-to-image"] == pytest.approx(1.0)  # 3600 images at 1/s
    assert hours["generate inpaint"] == pytest.approx(0.5)  # at 2/s
    # in-then-outpaint: 1 s for both passes, 0.5 s of it the shared inpainting pass
    assert hours["generate in-then-outpaint"] == pytest.approx(0.5)
    assert hours["DreamBooth text2image (1 model)"] == pytest.approx(1.0)
    # one trial: 2 epochs x (100/50 + 10/10) s + 20/10 s = 8 s
    assert hours["classifier g (1 trial)"] == pytest.approx(8 / 3600)
    assert hours["CLIP embeddings"] == pytest.approx(1.0)
    assert hours["total"] == pytest.approx(4.0 + 8 / 3600)
    assert table.attrs["device"] == "test device"

    unshared = pc.estimate(
        rates,
        trials=trials,
        synthetic=synthetic,
        dreambooth=dreambooth,
        embedding_images=7200,
        epochs_per_trial=2,
        share_inpaint_stage=False,
    )
    assert dict(zip(unshared.stage, unshared.hours))["generate in-then-outpaint"] == pytest.approx(1.0)


def test_estimate_names_what_is_missing():
    rates, trials, synthetic, dreambooth = _hand_inputs()
    rates.clip = None
    rates.classifier_train = {}
    table = pc.estimate(rates, trials=trials, synthetic=synthetic, dreambooth=dreambooth, embedding_images=10)
    hours = dict(zip(table.stage, table.hours))
    assert math.isnan(hours["CLIP embeddings"]) and math.isnan(hours["classifier g (1 trial)"])
    assert hours["total"] == pytest.approx(1.0 + 0.5 + 0.5 + 1.0)
    assert "CLIP embeddings" in table.note.iloc[-1] and "classifier g (1 trial)" in table.note.iloc[-1]


def _table_rows(cuda_status: str) -> list[dict]:
    base = dict(setting="s", precision="", seconds=1.0, note="")
    cpu = "cpu: Test CPU (AVX-512), 2 threads"
    rows = [
        dict(
            stage="text-to-image",
            device="cuda",
            throughput=2.0 if cuda_status == "ok" else None,
            unit="images/s",
            status=cuda_status,
            kind="cuda",
            batch=16,
        ),
        dict(
            stage="text-to-image",
            device=cpu,
            throughput=0.5,
            unit="images/s",
            status="ok: 1 of 50 steps run, extrapolated",
            kind="cpu",
            batch=1,
        ),
        dict(stage="inpaint", device=cpu, throughput=1.0, unit="images/s", status="ok", kind="cpu", batch=1),
        dict(stage="in-then-outpaint", device=cpu, throughput=0.5, unit="images/s", status="ok", kind="cpu", batch=1),
        dict(
            stage="dreambooth text2image",
            device=cpu,
            throughput=0.4,
            unit="steps/s",
            status="ok: batch 1",
            kind="cpu",
            batch=1,
        ),
        dict(
            stage="dreambooth inpaint",
            device=cpu,
            throughput=None,
            unit="steps/s",
            status="skipped: --quick",
            kind="cpu",
            batch=1,
        ),
        dict(stage="classifier train", device=cpu, throughput=20.0, unit="images/s", status="ok", kind="cpu", batch=8),
        dict(
            stage="classifier inference", device=cpu, throughput=40.0, unit="images/s", status="ok", kind="cpu", batch=8
        ),
        dict(
            stage="clip embeddings",
            device=cpu,
            throughput=100.0,
            unit="images/s",
            status="failed: boom",
            kind="cpu",
            batch=16,
        ),
    ]
    return [{**base, **r} for r in rows]


def test_estimate_from_table_uses_the_cpu_rows_without_a_gpu(tmp_path):
    path = tmp_path / "results.csv"
    pd.DataFrame(_table_rows("missing: needs a CUDA GPU"), columns=list(pc.TABLE_COLUMNS)).to_csv(path, index=False)
    rates, trials, synthetic, dreambooth = _hand_inputs()
    table = pc.estimate_from_table(
        path,
        epochs_per_trial=1,
        trials=trials,
        synthetic=synthetic,
        dreambooth=pw.dreambooth_models(per_label={"a": 4}, ddi_images=4, ddi_epochs=1, epochs=1),
        embedding_images=100,
    )
    assert table.attrs["device"] == "CPU-hours on this machine (Test CPU (AVX-512), 2 threads)"
    hours = dict(zip(table.stage, table.hours))
    assert hours["generate text-to-image"] == pytest.approx(3600 / 0.5 / 3600)
    assert hours["generate in-then-outpaint"] == pytest.approx(3600 * (1 / 0.5 - 1 / 1.0) / 3600)
    # 0.4 steps/s at batch 1 -> 0.1 steps/s at batch 4; a model on 4 images, 1 epoch = 1 step
    assert hours["DreamBooth text2image (1 model)"] == pytest.approx(10 / 3600)
    assert hours["DreamBooth inpaint (2 models)"] == pytest.approx(2 * 10 / 3600)  # the text2image rate stands in
    # 1 epoch x (100/20 + 10/40) + 20/40 s
    assert hours["classifier g (1 trial)"] == pytest.approx((5 + 0.25 + 0.5) / 3600)
    assert math.isnan(hours["CLIP embeddings"])  # its row failed


def test_estimate_from_table_prefers_gpu_rows(tmp_path):
    path = tmp_path / "results.csv"
    rows = _table_rows("ok")
    rows[0]["device"] = "cuda: Test GPU"
    pd.DataFrame(rows, columns=list(pc.TABLE_COLUMNS)).to_csv(path, index=False)
    rates, trials, synthetic, dreambooth = _hand_inputs()
    table = pc.estimate_from_table(path, trials=trials, synthetic=synthetic, dreambooth=dreambooth, embedding_images=1)
    assert table.attrs["device"] == "GPU-hours on Test GPU"
    hours = dict(zip(table.stage, table.hours))
    assert hours["generate text-to-image"] == pytest.approx(3600 / 2.0 / 3600)
    assert math.isnan(hours["generate inpaint"])  # no GPU inpaint row: CPU rows are not mixed in


def test_paper_trials_count_the_paper_grids():
    trials = pw.paper_trials()
    counts = trials.groupby("grid").size().to_dict()
    # fig3: 6 n x 2 transforms x 4 sources x 5 seeds; fig4: 3 n x 2 x 5 ratios x 5 seeds;
    # fig5: 2 transforms x 3 sources x 5 seeds; S-2: 9 rare labels x 3 cuts x 3 controls x 5 seeds;
    # controls: duplication (6 n x 2 x 5 seeds) + 2 n x 2 x 3 methods x 5 seeds x 4 generator arms, less
    # the whole-pool DreamBooth arm that is Fig. 3's own trial; S-2's controls: 9 labels x 1 cut x 5 seeds
    # x 4 arms, less the whole-pool arm that is the imbalance grid's own synthetic trial
    assert counts == {
        "fig3": 240,
        "controls": 60 + 240 - 60,
        "fig4": 150,
        "fig5": 30,
        "imbalance": 405,
        "imbalance-controls": 180 - 45,
    }
    fig3 = trials[trials.grid == "fig3"]
    assert fig3.n_train.max() == 228 * 9 * 11 and fig3.n_train.min() == 9
    assert set(trials[trials.grid == "fig5"].n_train) == {464, 464 * 11}
    assert set(trials[trials.grid == "fig4"].batch_size) == {32, 64, 128}


def test_training_counts_match_the_clean_split_file(f17k_dir):
    table = pd.read_csv(f17k_dir / "fitzpatrick17k_10label_clean_training.csv")
    counts = table.label.value_counts().to_dict()
    assert {k: counts[k] for k in pw.F17K9_LABELS} == pw.F17K9_TRAINING_COUNTS
    assert set(counts) - set(pw.F17K9_LABELS) == {"folliculitis"}


def test_format_hours():
    assert pc.format_hours(12.34) == "12.3 h"
    assert pc.format_hours(1234.0) == "1,234 h (51.4 days)"
    assert pc.format_hours(float("nan")) == "n/a"


def test_estimate_glue_reads_the_committed_table_or_says_it_is_missing(tmp_path):
    from pathlib import Path

    from synthaug_utils.analysis import paper_cost

    table, glue = paper_cost.estimate_glue(tmp_path / "paper_gpu_results.csv")
    assert table.empty and glue["cost_total"] == "not measured"
    committed = Path(__file__).resolve().parents[1] / "benchmarks" / "paper_gpu_results.csv"
    table, glue = paper_cost.estimate_glue(committed)
    assert set(glue) == {"cost_total", "cost_device", "cost_trials", "cost_generation_share"}
    assert (
        glue["cost_total"].endswith(")")
        and "hours" in glue["cost_device"]
        and int(glue["cost_trials"].replace(",", "")) > 0
    )
    assert "total" in set(table.stage)


def test_paper_generation_counts_every_arm_once_per_source_image():
    """What a paper build generates, on stand-in tables of the paper's sizes: Fig. 5's DDI sets by hand,
    the control arms included, split-independent sets shared by every validation redraw, and the arms
    the authors' release holds taken from it."""
    images, models = pw.paper_generation()
    by = images.set_index(["dataset", "method", "variant"])
    # Fig. 5: the whole DDI pool (656 - 96 test - 96 validation), 10 images each, one split
    assert by.loc[("ddi", "inpaint", "dreambooth"), "images"] == 464 * 10
    assert by.loc[("ddi", "in-then-outpaint", "dreambooth"), "passes"] == 2
    # control arms are counted: the pretrained generator and DreamBooth on each trial's own images
    assert {"pretrained", "dreambooth-own", "dreambooth-own-steps"} <= set(images.variant)
    own = models[models.source == "own images"]
    pool = models[models.source == "whole pool"]
    assert len(own) and own.images.max() <= 32  # Fig. 3's controls at n = 16, 32; S-2's at the rare cut 25
    steps_of = {(r.kind, r.group): r.steps for r in pool.itertuples()}
    matched = own[own.steps > own.images.map(lambda n: pw.dreambooth_steps(n, pw.DREAMBOOTH_EPOCHS))]
    assert len(matched) and all(r.steps == steps_of[r.kind, r.group] for r in matched.itertuples())
    assert sorted(pool.kind.value_counts().to_dict().items()) == [("inpaint", 10), ("text2image", 9)]
    # each source image's set is made once for every validation redraw: one set per (method, variant)
    assert (images[images.variant.isin(["pretrained", "dreambooth"])].sets == 1).all()
    unshared, _ = pw.paper_generation(shared=False)
    assert unshared.images.sum() > images.images.sum()
    # with the authors' release, its arms are not generated and no whole-pool model is fine-tuned
    released, released_models = pw.paper_generation(released=True)
    taken = released[released.source == "released"]
    assert set(taken.variant) == {"pretrained", "dreambooth"} and (released_models.source == "own images").all()
    generated = released[released.source == "generated"]
    assert set(generated.variant) == {"dreambooth-own", "dreambooth-own-steps"}
    facts = pc.source_saving()
    assert facts["images"] == taken.images.sum() and facts["models"] == 19 and "hours_saved" not in facts


def test_the_estimate_counts_the_build_and_says_what_the_release_saves(tmp_path):
    path = tmp_path / "results.csv"
    pd.DataFrame(_table_rows("missing: needs a CUDA GPU"), columns=list(pc.TABLE_COLUMNS)).to_csv(path, index=False)
    generated = pc.estimate_from_table(path)
    released = pc.estimate_from_table(path, released=True)
    images, _ = pw.paper_generation()
    work = dict(zip(generated.stage, generated.work))
    for method, n in images.groupby("method").images.sum().items():
        assert work[f"generate {method}"] == n
    assert generated.attrs["source"] == "generated" and released.attrs["source"] == "released"
    facts = pc.source_saving(path)
    total = lambda t: float(t.set_index("stage").hours["total"])  # noqa: E731
    assert facts["hours_saved"] == pytest.approx(total(generated) - total(released)) and facts["hours_saved"] > 0
    paper = pw.paper_profile(released=True)
    sentence = cost_prose.synthetic_source_sentence(paper, path)
    assert "released_synthetic" in sentence and f"{facts['images']:,} images" in sentence
    assert "generated" in cost_prose.synthetic_source_sentence(pw.paper_profile(), path).split(".")[0]
