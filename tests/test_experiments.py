"""Tests of synthaug_utils.experiments (spec, trial, store, executors, grids): specs, synthetic rows and the leakage
guard, the results store
(atomic writes under SIGKILL, skip on rerun), named grids, the CLI and the Dask executor.

Real trials run on the smoke profile in fast mode at 32 px for one or two epochs; store
mechanics use a stand-in trial function so that killing and restarting takes seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from synthaug_utils.cli.experiments import register_cli
from synthaug_utils.core.errors import DataError, LeakageError, MissingModelError
from synthaug_utils.experiments.grids import build_grid, grid_settings, run_grid
from synthaug_utils.experiments.spec import SpecError, TrialSpec, base_spec
from synthaug_utils.experiments.store import ResultsStore
from synthaug_utils.experiments.trial import real_subset, run_trial, training_table

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def smoke():
    """Smoke profile and split tables (demo world in the session cache of conftest.py)."""
    import torch

    torch.set_num_threads(1)
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.data.splits import load_splits

    profile = load_profile("smoke")
    return profile, load_splits(profile)


def tiny(profile, **changes):
    """A seconds-long smoke trial: fast mode, 32 px, 2 epochs."""
    values = dict(n_real=2, mode="fast", image_size=32, max_epochs=2)
    values.update(changes)
    return base_spec(profile, **values)


def write_manifest(folder: Path, sources: pd.DataFrame, per_real: int, method="inpaint", variant="pretrained") -> Path:
    """A hand-made synthetic set following the manifest contract: noisy copies of the source images."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for src in sources.itertuples():
        pixels = np.asarray(Image.open(src.path).convert("RGB"), dtype=int)
        for k in range(per_real):
            name = f"images/{src.image_id}-{k}.png"
            Image.fromarray(np.clip(pixels + rng.integers(-30, 30, pixels.shape), 0, 255).astype(np.uint8)).save(
                folder / name
            )
            rows.append(
                dict(
                    synthetic_id=f"{src.image_id}-{method}-{k}",
                    source_id=src.image_id,
                    label=src.label,
                    fst=src.fst,
                    method=method,
                    stage="final",
                    variant=variant,
                    index=k,
                    seed=k,
                    model_id="hand-made",
                    model_hash="0",
                    steps=1,
                    guidance_scale=3.0,
                    strength=0.97,
                    resolution=64,
                    prompt=f"An image of {src.label}, a skin disease",
                    mask="center",
                    path=name,
                )
            )
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder


def fake_result(spec: TrialSpec, profile=None) -> dict:
    """Stand-in for run_trial with the same result layout (store mechanics only)."""
    top1 = (int(spec.key[:4], 16) % 100) / 100
    return {
        "format": 1,
        "key": spec.key,
        "spec": spec.to_dict(),
        "metrics": {
            "top1": top1,
            "top3": 1.0,
            "n_test": 10,
            "n_correct": int(top1 * 10),
            "n_correct_top3": 10,
            "per_class": {},
            "per_fst": {},
        },
        "predictions": {"image_id": ["x"]},
        "history": [],
        "epochs_run": 1,
        "best_epoch": 0,
        "batch_size": 8,
        "n_train": 9,
        "n_train_real": 9,
        "n_train_synthetic": 0,
        "wall_s": 0.0,
        "timings": {},
        "provenance": {},
        "padding": "x" * 200_000,  # a large file, so that a kill can land in the middle of a write
    }


# ----------------------------------------------------------------------------- specs
def test_spec_key_is_canonical_and_round_trips(smoke):
    profile, _ = smoke
    spec = tiny(profile, synthetic_method="inpaint", synthetic_ratio=0, synthetic_variant="dreambooth", views=7)
    # unused options cleared
    assert spec.synthetic_method is None and spec.synthetic_variant is None and spec.views == 0
    assert spec.key == tiny(profile).key
    fancy = tiny(profile, n_real_per_label={"psoriasis": 1, "lichen planus": 2}, transforms=True, views=3)
    assert fancy.n_real_per_label == (("lichen planus", 2), ("psoriasis", 1)) and fancy.views == 3
    again = TrialSpec.from_dict(json.loads(json.dumps(fancy.to_dict())))
    assert again == fancy and again.key == fancy.key
    assert tiny(profile, seed=1).key != fancy.key != tiny(profile, lr=2e-3).key
    with pytest.raises(SpecError, match="unknown trial spec field"):
        TrialSpec.from_dict({**fancy.to_dict(), "colour": "red"})


@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"arch": "resnet_9000"}, MissingModelError, "unknown architecture 'resnet_9000'"),
        ({"mode": "turbo"}, SpecError, "mode='turbo'"),
        (
            {"synthetic_method": "collage", "synthetic_variant": "pretrained", "synthetic_ratio": 2},
            SpecError,
            "synthetic_method='collage'",
        ),
        ({"dataset": "imagenet"}, SpecError, "not a dataset of profile 'smoke'"),
        ({"data_key": "demo-derm9:other-world:val40"}, SpecError, "other data"),
    ],
)
def test_bad_specs_fail_before_training(smoke, changes, error, match):
    profile, _ = smoke
    with pytest.raises(error, match=match):
        run_trial(tiny(profile, **changes), profile)


def test_n_larger_than_the_pool_names_label_and_size(smoke):
    profile, splits = smoke
    with pytest.raises(DataError, match=r"n=500 training images requested for label .* has 20"):
        run_trial(tiny(profile, n_real=500), profile)


def test_missing_manifest_is_a_clear_error(smoke, tmp_path):
    profile, _ = smoke
    spec = tiny(
        profile,
        synthetic_method="inpaint",
        synthetic_variant="pretrained",
        synthetic_ratio=2,
        synthetic_manifest=str(tmp_path / "nowhere"),
    )
    with pytest.raises(DataError, match=r"synthetic manifest .*nowhere/manifest.csv does not exist"):
        run_trial(spec, profile)


# ----------------------------------------------------------------------------- synthetic rows
def test_training_table_takes_ratio_images_per_real_image(smoke, tmp_path):
    profile, splits = smoke
    spec = tiny(
        profile,
        synthetic_method="inpaint",
        synthetic_variant="pretrained",
        synthetic_ratio=2,
        synthetic_manifest=str(tmp_path / "set"),
    )
    write_manifest(tmp_path / "set", real_subset(spec, splits), per_real=3)
    folder = tmp_path / "set"
    table, csv = training_table(spec, profile, splits)
    real, synthetic = table[~table.synthetic], table[table.synthetic]
    assert len(real) == 18 and len(synthetic) == 36 and csv == folder / "manifest.csv"
    assert set(synthetic.source_id) == set(real.image_id)
    assert synthetic.groupby("source_id").size().eq(2).all()
    rare = spec.replace(augment_labels=("psoriasis",))
    rare_table, _ = training_table(rare, profile, splits)
    assert set(rare_table[rare_table.synthetic].label) == {"psoriasis"}
    dup, _ = training_table(tiny(profile, duplicate=3, augment_labels=("psoriasis",)), profile, splits)
    assert (dup.label == "psoriasis").sum() == 2 * 4 and len(dup) == 18 + 6
    too_many = spec.replace(synthetic_ratio=4)
    with pytest.raises(DataError, match="fewer than 4"):
        training_table(too_many, profile, splits)


def test_training_table_only_reads_and_the_grid_runner_prepares(smoke, tmp_path, monkeypatch):
    """Building a trial's training table never generates: a profile-managed set that was not prepared
    raises NotPreparedError naming the step that makes it, and nothing is written; run_grid prepares the
    set before its trials, which then read it."""
    from synthaug_utils.core.errors import NotPreparedError
    from synthaug_utils.synthetic import sets

    profile, splits = smoke
    monkeypatch.setattr(sets, "cache_dir", lambda: tmp_path / "cache")  # a set no other test made
    made = []

    def hand_made(sources, folder, methods, variants, per_real, *args):
        made.append((len(sources), per_real))
        write_manifest(Path(folder), sources, per_real)

    monkeypatch.setattr(sets, "generate", hand_made)
    spec = tiny(profile, synthetic_method="inpaint", synthetic_variant="pretrained", synthetic_ratio=2)
    with pytest.raises(NotPreparedError, match="was not generated.*prepare_synthetic_sets"):
        training_table(spec, profile, splits)
    assert made == [] and not (tmp_path / "cache").exists()
    frame = run_grid([spec], profile, tmp_path / "store", progress=False)
    assert made == [(18, 2)] and int(frame.n_train_synthetic.iloc[0]) == 36
    table, csv = training_table(spec, profile, splits)  # prepared: read, nothing generated
    assert made == [(18, 2)] and int(table.synthetic.sum()) == 36 and csv.is_file()
    with pytest.raises(NotPreparedError, match="fewer than 3"):  # a larger ratio is not prepared yet
        training_table(spec.replace(synthetic_ratio=3), profile, splits)
    assert made == [(18, 2)]


def test_leakage_guard_refuses_synthetic_images_of_validation_or_test_images(smoke, tmp_path):
    profile, splits = smoke
    spec = tiny(
        profile,
        synthetic_method="inpaint",
        synthetic_variant="pretrained",
        synthetic_ratio=2,
        synthetic_manifest=str(tmp_path / "leaky"),
    )
    write_manifest(tmp_path / "leaky", pd.concat([real_subset(spec, splits), splits.val.head(1)]), per_real=2)
    with pytest.raises(LeakageError, match=splits.val.image_id.iloc[0]):
        run_trial(spec, profile)


def test_trial_with_synthetic_images_records_manifest_hash(smoke, tmp_path):
    profile, splits = smoke
    spec = tiny(
        profile,
        synthetic_method="inpaint",
        synthetic_variant="pretrained",
        synthetic_ratio=2,
        synthetic_manifest=str(tmp_path / "set"),
        transforms=True,
        views=2,
    )
    write_manifest(tmp_path / "set", real_subset(spec, splits), per_real=2)
    result = run_trial(spec, profile)
    assert result["n_train_real"] == 18 and result["n_train_synthetic"] == 36
    assert len(result["provenance"]["manifest"]["sha256"]) == 64
    assert result["provenance"]["packages"]["fastai"] and result["provenance"]["data"]["test"]
    assert len(result["predictions"]["image_id"]) == len(splits.test)
    assert set(result["metrics"]["per_class"]) == set(splits.labels)


def test_prepare_asks_generation_only_for_the_indices_trials_need(smoke, monkeypatch):
    from synthaug_utils.experiments import grids

    profile, _ = smoke
    calls = []
    monkeypatch.setattr(
        grids,
        "prepare_synthetic_set",
        lambda prof, spec, splits, sources, per_real, progress=False: calls.append(
            (per_real, sorted(sources.image_id))
        ),
    )
    grid = build_grid("imbalance", profile.replace(grids={"imbalance": {"n_real": 8, "cuts": (2, 4)}}))
    grids.prepare_synthetic_sets(grid, profile, progress=False)
    ratios = {ratio: ids for ratio, ids in calls}
    assert sorted(ratios) == [1, 3] and len(calls) == 2  # cut 2 -> 3 per real image, cut 4 -> 1 per real image
    # nested subsets: 2 + 2 more
    assert len(ratios[3]) == 2 and len(ratios[1]) == 2 and not set(ratios[3]) & set(ratios[1])


def test_controls_grid_duplication_and_generator_budget_arms(smoke, monkeypatch):
    """The controls grid: a duplication arm (ratio extra copies) beside Fig. 3's own no-synthetic trials,
    and DreamBooth on the whole pool beside DreamBooth on the trial's own images, whose synthetic set
    is prepared once per real subset with exactly that subset's images."""
    from synthaug_utils.experiments import grids

    profile, _ = smoke
    paper_like = profile.replace(grids={"fig3": {"seeds": (0, 1), "subset_seed": None}, "controls": {"budget_n": (4,)}})
    controls = build_grid("controls", paper_like)
    fig3_keys = {s.key for s in build_grid("fig3", paper_like)}
    ratio = grid_settings("fig3", paper_like)["ratio"]
    dups = [s for s in controls if s.duplicate]
    assert dups and {s.duplicate for s in dups} == {ratio} and not any(s.synthetic_ratio for s in dups)
    assert {s.key for s in controls if not s.duplicate and not s.synthetic_ratio} <= fig3_keys  # shared baselines
    budget = [s for s in controls if s.synthetic_ratio]
    assert {s.synthetic_variant for s in budget} == {
        "pretrained",
        "dreambooth",
        "dreambooth-own",
        "dreambooth-own-steps",
    }
    assert {s.n_real for s in budget} == {4}
    calls = []
    monkeypatch.setattr(
        grids,
        "prepare_synthetic_set",
        lambda prof, spec, splits, sources, per_real, progress=False: calls.append(
            (spec.synthetic_variant, spec.seed, per_real, tuple(sorted(sources.image_id)))
        ),
    )
    grids.prepare_synthetic_sets(budget, paper_like, progress=False)
    for variant in ("dreambooth-own", "dreambooth-own-steps"):
        own = [c for c in calls if c[0] == variant]
        assert len(own) == 2 and own[0][3] != own[1][3]  # one set per seed's own subset (subset_seed None)
        assert all(len(c[3]) == 4 * 9 for c in own)  # the trial's whole real subset: 4 images x 9 labels
    fewer = build_grid(
        "controls",
        paper_like.replace(
            grids={
                **paper_like.grids,
                "controls": {"budget_n": (4,), "budget_variants": ["dreambooth-own", "dreambooth"]},
            }
        ),
    )
    assert {s.synthetic_variant for s in fewer if s.synthetic_ratio} == {"dreambooth", "dreambooth-own"}
    with pytest.raises(SpecError, match="budget_variants"):  # the own-images arm is what the others are compared with
        grid_settings(
            "controls", paper_like.replace(grids={"controls": {"budget_variants": ["pretrained", "dreambooth"]}})
        )
    with pytest.raises(SpecError, match="synthetic_variant"):
        budget[0].replace(synthetic_variant="dreambooth-elsewhere").validate(profile)


def test_budget_pool_counts_what_the_pool_model_trains_on_and_seed_scope_says_what_seeds_vary(smoke):
    from synthaug_utils.experiments.chapters import ChapterResults
    from synthaug_utils.experiments.grids import seed_scope
    from synthaug_utils.presentation import prose

    profile, splits = smoke
    train = int(splits.train_pool.label.value_counts().min())
    facts = prose.budget_steps_facts(profile, 4)
    assert facts["c_pool"] == train and "validation images excluded" in facts["c_pool_includes"]
    assert facts["c_steps_own"] == 1 and facts["c_steps_pool"] == 3  # smoke: batch 8, 1 epoch, at most 4 steps
    assert "the pretrained generator" in facts["c_budget_arms"] and "as many optimiser steps" in facts["c_budget_arms"]
    authors = profile.replace(grids={"dreambooth": {"include_validation": True}})
    with_val = prose.budget_steps_facts(authors, 4)  # the authors' way (paper profile): validation images too
    assert (
        with_val["c_pool"] == train + profile.val_per_label
        and "validation images included" in with_val["c_pool_includes"]
    )

    shared = seed_scope(grid_settings("fig3", profile))
    assert (
        "all seeds share one training subset (subset seed 0)" in shared
        and "not the draw of the training images" in shared
    )
    own = seed_scope(
        grid_settings("fig3", profile.replace(grids={"fig3": {"subset_seed": None, "redraw_validation": True}}))
    )
    assert "each seed draws its own training subset" in own and "its own validation images" in own
    chapter = ChapterResults(profile, "fig3", grid_settings("fig3", profile), pd.DataFrame(), pd.DataFrame(), None)
    assert chapter.facts("f3")["f3_seed_scope"] == shared


# ----------------------------------------------------------------------------- store
def test_rerun_skips_stored_trials(smoke, tmp_path):
    profile, _ = smoke
    specs = [tiny(profile, seed=s) for s in range(3)]
    calls = []

    def counting(spec, prof):
        calls.append(spec.key)
        return fake_result(spec)

    first = run_grid(specs, profile, tmp_path, trial_fn=counting, progress=False)
    second = run_grid(specs + [tiny(profile, seed=9)], profile, tmp_path, trial_fn=counting, progress=False)
    assert len(calls) == 4 and len(first) == 3 and len(second) == 4
    assert list(second.key[:3]) == list(first.key)
    index = pd.read_parquet(tmp_path / "index.parquet")
    assert sorted(index.key) == sorted(second.key)


CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, {tests!r})
    from test_experiments import fake_result
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.experiments.grids import run_grid
    from synthaug_utils.experiments.spec import TrialSpec

    mode, store, marker = sys.argv[1], sys.argv[2], sys.argv[3]
    profile = load_profile("smoke")
    specs = [TrialSpec.from_dict(d) for d in json.load(open(os.path.join(store, "..", "specs.json")))]
    if mode == "hang-in-write":  # stop forever between writing the temporary file and renaming it
        real_replace = os.replace
        def hanging(src, dst):
            open(marker, "w").close()
            time.sleep(600)
        os.replace = hanging
    def slow(spec, prof):
        time.sleep(0.05)
        return fake_result(spec)
    open(marker + ".started", "w").close()
    run_grid(specs, profile, store, trial_fn=slow, progress=False)
    """
)


def _child(tmp_path: Path, mode: str, store: Path, marker: Path) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(REPO / "tests")))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, str(script), mode, str(store), str(marker)], env=env, stderr=subprocess.DEVNULL
    )


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, "child exited early"
        assert time.time() < deadline, f"child never reached {path.name}"
        time.sleep(0.05)


def test_sigkill_at_any_moment_then_restart_leaves_exactly_one_result_per_trial(smoke, tmp_path):
    profile, _ = smoke
    specs = [tiny(profile, seed=s) for s in range(8)]
    store = tmp_path / "store"
    store.mkdir()
    (tmp_path / "specs.json").write_text(json.dumps([s.to_dict() for s in specs]))

    # 1. killed between writing the temporary file and renaming it: a partial file is left behind
    proc = _child(tmp_path, "hang-in-write", store, tmp_path / "in-write")
    _wait_for(tmp_path / "in-write", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ResultsStore(store).partial_files() and not ResultsStore(store).keys()

    # 2. killed at arbitrary moments while trials finish and files are written
    rng = np.random.default_rng(0)
    for attempt in range(3):
        proc = _child(tmp_path, "normal", store, tmp_path / f"run{attempt}")
        deadline = time.time() + 120
        while len(ResultsStore(store).keys()) < 2 * attempt + 1 and proc.poll() is None:  # trials are being written
            assert time.time() < deadline
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 0.08)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    assert 0 < len(ResultsStore(store).keys()) < len(specs)

    frame = run_grid(specs, profile, store, trial_fn=fake_result, progress=False)
    results = ResultsStore(store)
    assert sorted(results.keys()) == sorted(s.key for s in specs)
    assert all(results.has(s.key) for s in specs)
    assert results.partial_files() == []
    assert len(frame) == len(specs) and frame.key.is_unique
    assert sorted(p.name for p in (store / "trials").iterdir()) == sorted(f"{s.key}.json" for s in specs)


# ----------------------------------------------------------------------------- grids
def test_named_grids_follow_the_protocol(smoke):
    profile, _ = smoke
    paper_like = profile.replace(grids={"fig3": {"n_real": (1, 4), "seeds": (0, 1), "ratio": 2}})
    fig3 = build_grid("fig3", paper_like)
    assert len(fig3) == 2 * 2 * 4 * 2  # n x transforms x {none, 3 methods} x seeds
    assert {s.synthetic_method for s in fig3} == {None, "inpaint", "in-then-outpaint", "text-to-image"}
    assert {s.synthetic_ratio for s in fig3 if s.synthetic_method} == {2}
    fig4 = build_grid("fig4", profile)
    assert all(s.restore_best and s.batch_rule == "dose-response" for s in fig4)
    fig5 = build_grid("fig5", profile)
    assert {s.dataset for s in fig5} == {profile.ddi_dataset}
    assert {s.synthetic_method for s in fig5} == {None, "inpaint", "in-then-outpaint"}
    imbalance = build_grid("imbalance", profile.replace(grids={"imbalance": {"n_real": 16, "cuts": (4, 8)}}))
    synthetic = {s.n_real_per_label[0][1]: s.synthetic_ratio for s in imbalance if s.synthetic_ratio}
    duplicate = {s.n_real_per_label[0][1]: s.duplicate for s in imbalance if s.duplicate}
    assert synthetic == duplicate == {4: 3, 8: 1}  # back to parity with 16
    curve = build_grid(
        "learning-curve", profile.replace(grids={"learning-curve": {"n_real": (1, 2, 8), "seeds": (0, 1)}})
    )
    assert (
        len(curve) == 3 * 2 and {s.synthetic_method for s in curve} == {None} and {s.n_real for s in curve} == {1, 2, 8}
    )
    assert {s.synthetic_ratio for s in curve} == {0} and not any(s.transforms for s in curve)
    with pytest.raises(SpecError, match="unknown grid"):
        grid_settings("fig9", profile)


def test_mode_gap_pairs_fast_and_faithful_twins(smoke):
    from synthaug_utils.experiments.grids import faithful_twins, mode_gap
    from synthaug_utils.experiments.store import tidy_row

    profile, _ = smoke
    fast = [tiny(profile, seed=s, transforms=True, views=2) for s in (0, 1)] + [tiny(profile, seed=2, n_real=1)]
    twins = faithful_twins(fast)
    assert [t.mode for t in twins] == ["faithful"] * 3 and twins[0].views == 0
    scores = dict(zip([s.key for s in fast + twins], [0.60, 0.50, 0.40, 0.55, 0.58, 0.40]))
    rows = []
    for spec in fast + twins:
        row = tidy_row(fake_result(spec))
        row["top1"] = scores[spec.key]
        rows.append(row)
    gap = mode_gap(pd.DataFrame(rows))
    assert gap["pairs"] == 3
    assert gap["mean_diff"] == pytest.approx((0.05 - 0.08 + 0.0) / 3)
    assert gap["max_abs_diff"] == pytest.approx(0.08)


# ----------------------------------------------------------------------------- CLI and Dask
def _cli(argv):
    parser = argparse.ArgumentParser(prog="synthaug")
    register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_trial_prints_json_and_run_dry_run(smoke, tmp_path, capsys):
    assert (
        _cli(
            [
                "trial",
                "--profile",
                "smoke",
                "--n-real",
                "2",
                "--mode",
                "fast",
                "--image-size",
                "32",
                "--max-epochs",
                "1",
                "--store",
                str(tmp_path),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert 0.0 <= out["top1"] <= 1.0 and out["n_test"] == 72 and out["epochs_run"] == 1
    assert ResultsStore(tmp_path).has(out["key"])
    assert _cli(["run", "fig3", "--profile", "smoke", "--store", str(tmp_path), "--dry-run"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["trials"] == len(build_grid("fig3", smoke[0])) and info["stored"] == 0


def test_dask_local_cluster_gives_the_same_results_as_in_process(smoke, tmp_path):
    pytest.importorskip("distributed")
    profile, _ = smoke
    specs = [tiny(profile, seed=0, transforms=True, views=2), tiny(profile, seed=1, n_real=1)]
    local = run_grid(specs, profile, tmp_path / "inprocess", threads=1, progress=False)
    remote = run_grid(specs, profile, tmp_path / "dask", executor="dask-local:2", threads=1, progress=False)
    assert list(local.key) == list(remote.key)
    np.testing.assert_array_equal(local.top1, remote.top1)
    for key in local.key:
        a, b = ResultsStore(tmp_path / "inprocess").load(key), ResultsStore(tmp_path / "dask").load(key)
        assert a["predictions"] == b["predictions"] and a["history"] == b["history"]


def test_paper_profile_follows_the_authors_code_where_text_and_code_differ(smoke):
    """Named protocol choices (protocol rows with a ``parameter``): epoch cap 50, early stopping on valid_loss,
    validation redrawn per run, DreamBooth on the whole clean training file including validation."""
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.core.errors import LeakageError
    from synthaug_utils.core.protocol import PROTOCOL
    from synthaug_utils.data.splits import load_splits
    from synthaug_utils.diffusion.dreambooth import dreambooth_settings, finetune, training_images

    paper = load_profile("paper")
    assert {s.key for s in PROTOCOL if s.parameter} == {
        "max_epochs",
        "monitor",
        "redraw_validation",
        "include_validation",
        "outpaint_frame",
    }
    fig3 = build_grid("fig3", paper)
    assert {s.max_epochs for s in fig3} == {50} and {s.monitor for s in fig3} == {"valid_loss"}
    assert all(s.split_seed == s.seed for s in fig3) and len({s.split_seed for s in fig3}) == 5
    assert {s.split_seed for s in build_grid("fig5", paper)} == {0}  # DDI's test set is drawn with its split
    assert (
        dreambooth_settings(paper).include_validation
        and not dreambooth_settings(load_profile("demo")).include_validation
    )
    profile, _ = smoke
    splits = load_splits(profile, "main", 0)
    label = splits.labels[0]
    both = training_images(splits, label, include_validation=True)
    assert set(splits.val[splits.val.label == label].image_id) <= set(both.image_id)
    assert not set(splits.val.image_id) & set(training_images(splits, label).image_id)
    with pytest.raises(LeakageError):  # test images never, whatever the setting
        finetune(
            "x",
            "text2image",
            splits.test.head(2),
            "/nonexistent",
            dreambooth_settings(profile, include_validation=True),
            splits,
        )


def test_imbalance_controls_grid_gives_the_rare_class_its_own_dreambooth(smoke, monkeypatch):
    from synthaug_utils.experiments import grids

    profile, _ = smoke
    assert build_grid("imbalance-controls", profile) == []  # off on the embedded profiles by default
    on = profile.replace(grids={"imbalance-controls": {"enabled": True}})
    specs = build_grid("imbalance-controls", on)
    imbalance = {s.key for s in build_grid("imbalance", on)}
    s = grid_settings("imbalance", on)
    cut = min(s["cuts"])
    assert {x.key for x in specs if not x.synthetic_ratio} <= imbalance  # the imbalance grid's own "none" trials
    budget = [x for x in specs if x.synthetic_ratio]
    assert {x.synthetic_variant for x in budget} == {
        "pretrained",
        "dreambooth",
        "dreambooth-own",
        "dreambooth-own-steps",
    }
    assert {x.synthetic_ratio for x in budget} == {s["n_real"] // cut - 1} and {
        x.n_real_per_label[0][1] for x in budget
    } == {cut}
    calls = []
    monkeypatch.setattr(
        grids,
        "prepare_synthetic_set",
        lambda prof, spec, splits, sources, per_real, progress=False: calls.append(
            (spec.synthetic_variant, tuple(sorted(set(sources.label))), len(sources))
        ),
    )
    grids.prepare_synthetic_sets(budget, on, progress=False)
    own = [c for c in calls if c[0] == "dreambooth-own"]
    assert own and all(len(c[1]) == 1 and c[2] == cut for c in own)  # the rare class's own cut images only


def test_trials_with_synthetic_images_are_keyed_by_their_generator(smoke_profile):
    """A changed generator (DreamBooth settings here) re-runs the trials that use its images, and only those."""
    import dataclasses

    real = base_spec(smoke_profile, n_real=4, seed=0)
    synthetic = base_spec(smoke_profile, n_real=4, seed=0, synthetic_method="text-to-image", synthetic_ratio=2)
    assert real.generator_key is None and len(synthetic.generator_key) == 16
    assert "generator_key" not in json.dumps(real.to_dict()).replace('"generator_key": null', "")
    changed = dataclasses.replace(
        smoke_profile,
        dreambooth_defaults={**smoke_profile.dreambooth_defaults, "learning_rate": 2e-5},
        dreambooth_ddi_epochs=3,
    )
    assert base_spec(changed, n_real=4, seed=0).key == real.key
    assert (
        base_spec(changed, n_real=4, seed=0, synthetic_method="text-to-image", synthetic_ratio=2).key != synthetic.key
    )
    # DDI's own DreamBooth epochs
    assert (
        base_spec(changed, "ddi", n_real=4, seed=0, synthetic_method="inpaint", synthetic_ratio=1).generator_key
        != base_spec(changed, n_real=4, seed=0, synthetic_method="inpaint", synthetic_ratio=1).generator_key
    )
    assert (
        TrialSpec.from_dict(synthetic.to_dict()) == synthetic
        and synthetic.replace(synthetic_ratio=0).generator_key is None
    )
