"""Loaders and splits on the real Fitzpatrick17k / DDI metadata, nested subsets, bad inputs, the leakage guard."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from synthaug_utils.analysis import paper_workload
from synthaug_utils.core.errors import DataError, LeakageError, MissingImagesError
from synthaug_utils.data import byo, checks
from synthaug_utils.data import splits as data_splits
from synthaug_utils.data import tables as data_tables

# the clean training pool per label in the authors' split file
PAPER_F17K9_COUNTS = paper_workload.F17K9_TRAINING_COUNTS


@pytest.fixture(scope="module")
def f17k(f17k_dir):
    return data_tables.read_f17k(f17k_dir / "fitzpatrick17k.csv", f17k_dir, "/no/images")


def test_f17k9_selects_the_nine_most_common_clean_labels(f17k):
    assert set(f17k.labels) == set(PAPER_F17K9_COUNTS)  # folliculitis (10th) dropped
    assert f17k.pool.label.value_counts().to_dict() == PAPER_F17K9_COUNTS
    assert (f17k.test.label.value_counts() == 40).all() and len(f17k.test) == 360
    assert len(f17k.pool) + len(f17k.test) == 3699  # the paper's F17k-9 size
    assert list(f17k.pool.columns[:5]) == data_tables.COLUMNS


def test_validation_is_40_per_label_from_the_pool_and_seeded(f17k):
    a = data_splits.make_splits(f17k, 40, split_seed=0)
    b = data_splits.make_splits(f17k, 40, split_seed=0)
    c = data_splits.make_splits(f17k, 40, split_seed=1)
    assert (a.val.label.value_counts() == 40).all()
    assert a.val.image_id.tolist() == b.val.image_id.tolist()
    assert a.val.image_id.tolist() != c.val.image_id.tolist()
    assert not set(a.val.image_id) & set(a.train_pool.image_id)
    assert not set(a.test.image_id) & set(a.train_pool.image_id)
    assert a.train_pool.label.value_counts().min() == 272 - 40  # photodermatoses
    # independent of the input row order
    shuffled = data_tables.DatasetTables(f17k.name, f17k.pool.sample(frac=1, random_state=3), f17k.test, f17k.labels)
    assert data_splits.make_splits(shuffled, 40, 0).val.image_id.tolist() == a.val.image_id.tolist()


def test_training_subsets_are_nested_per_seed(f17k):
    splits = data_splits.make_splits(f17k, 40, split_seed=0)
    previous = set()
    for n in (1, 16, 32, 64, 128, 228):
        sub = data_splits.training_subset(splits, n, seed=7)
        assert (sub.label.value_counts() == n).all()
        ids = set(sub.image_id)
        assert previous <= ids
        previous = ids
    assert set(data_splits.training_subset(splits, 16, seed=7).image_id) != set(
        data_splits.training_subset(splits, 16, seed=8).image_id
    )
    assert len(data_splits.training_subset(splits, None, seed=0)) == len(splits.train_pool)


def test_n_larger_than_available_names_the_label(f17k):
    splits = data_splits.make_splits(f17k, 40, split_seed=0)
    with pytest.raises(DataError, match="n=233 .*photodermatoses.* has 232"):
        data_splits.training_subset(splits, 233, seed=0)


def test_ddi_split_32_per_skin_tone_bin(ddi_csv):
    tables = data_tables.read_ddi(ddi_csv, "/no/images")
    assert len(tables.pool) == 654 and (tables.pool.label == "malignant").sum() == 171
    splits = data_splits.make_splits(tables, 32, split_seed=0, test_per_group=32)
    assert splits.test.fst.value_counts().to_dict() == {12: 32, 34: 32, 56: 32}
    assert splits.val.fst.value_counts().to_dict() == {12: 32, 34: 32, 56: 32}
    assert len(splits.train_pool) == 654 - 192
    assert not set(splits.test.image_id) & set(splits.val.image_id)


def test_missing_column_is_named(tmp_path, f17k_dir):
    table = pd.read_csv(f17k_dir / data_tables.F17K_TRAIN_FILE).drop(columns="label")
    table.to_csv(tmp_path / data_tables.F17K_TRAIN_FILE, index=False)
    (tmp_path / data_tables.F17K_TEST_FILE).write_bytes((f17k_dir / data_tables.F17K_TEST_FILE).read_bytes())
    with pytest.raises(DataError, match=r"lacks required column\(s\) \['label'\]"):
        data_tables.read_f17k(None, tmp_path)


def test_unknown_label_is_named(f17k_dir):
    with pytest.raises(DataError, match="unknown label.*'acne'"):
        data_tables.read_f17k(None, f17k_dir, labels=["psoriasis", "acne"])


def test_bad_fst_value_names_the_row(tmp_path, f17k_dir):
    table = pd.read_csv(f17k_dir / data_tables.F17K_TRAIN_FILE, dtype={"fitzpatrick_scale": str})
    table.loc[5, "fitzpatrick_scale"] = "dark"
    table.to_csv(tmp_path / data_tables.F17K_TRAIN_FILE, index=False)
    (tmp_path / data_tables.F17K_TEST_FILE).write_bytes((f17k_dir / data_tables.F17K_TEST_FILE).read_bytes())
    with pytest.raises(DataError, match="row 7 .*'dark'"):
        data_tables.read_f17k(None, tmp_path)


def _byo(tmp_path, n=6, corrupt=None, missing=None):
    rows = []
    for label in ("a", "b"):
        for i in range(n):
            path = tmp_path / f"{label}{i}.png"
            Image.new("RGB", (20, 16), (i * 20, 100, 50)).save(path)
            rows.append({"path": path.name, "label": label, "fst": 1 + i % 6})
    if corrupt:
        (tmp_path / corrupt).write_bytes(b"not an image")
    if missing:
        (tmp_path / missing).unlink()
    pd.DataFrame(rows).to_csv(tmp_path / "mine.csv", index=False)
    return tmp_path / "mine.csv"


def test_bring_your_own_csv_and_folder(tmp_path):
    tables = byo.read_byo(_byo(tmp_path), test_per_label=2)
    assert len(tables.test) == 4 and len(tables.pool) == 8
    arr = checks.load_image_array(tables.pool, 12)
    assert arr.shape == (8, 12, 12, 3) and arr.dtype == np.uint8
    folder = tmp_path / "folders"
    for label in ("x", "y"):
        (folder / label).mkdir(parents=True)
        for i in range(3):
            # not copies of each other
            Image.new("RGB", (8, 8), (40 * i, 99 if label == "y" else 0, 0)).save(folder / label / f"{i}.jpg")
    t2 = byo.read_byo(folder, test_per_label=1)
    assert t2.labels == ["x", "y"] and len(t2.test) == 2


def test_missing_and_corrupt_images_are_counted_and_named(tmp_path):
    tables = byo.read_byo(_byo(tmp_path, corrupt="a1.png", missing="b2.png"), test_per_label=1)
    table = pd.concat([tables.pool, tables.test])
    with pytest.raises(MissingImagesError, match=r"2 of 12 images are missing or unreadable") as info:
        checks.load_image_array(table, 8)
    assert "a1.png" in str(info.value) and "b2.png" in str(info.value)


def test_leakage_guard_names_the_evaluation_image(f17k):
    splits = data_splits.make_splits(f17k, 40, split_seed=0)
    ok = data_splits.training_subset(splits, 4, seed=0).image_id
    data_splits.assert_no_leakage(ok, splits, "generation")
    bad = [splits.val.image_id.iloc[0]]
    with pytest.raises(LeakageError, match=f"generation: 1 source image.*{bad[0]} \\(val\\)"):
        data_splits.assert_no_leakage(list(ok) + bad, splits, "generation")
    with pytest.raises(LeakageError, match=r"\(test\)"):
        data_splits.assert_no_leakage([splits.test.image_id.iloc[3]], splits, "training")


def test_acceptance_command_prints_the_composition(f17k_dir):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthaug_utils.cli",
            "data",
            "summary",
            "--dataset",
            "f17k9",
            "--metadata",
            str(f17k_dir / "fitzpatrick17k.csv"),
            "--splits",
            str(f17k_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(out.stdout)
    assert summary["total"] == 3699
    psoriasis = summary["labels"]["psoriasis"]
    assert psoriasis["train_pool"] == 584 and psoriasis["test"] == 40
    assert sum(psoriasis["fst"].values()) == 624
    assert set(psoriasis["fst"]) == {"1", "2", "3", "4", "5", "6", "-1"}


def test_cli_reports_bad_input_without_traceback(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthaug_utils.cli",
            "data",
            "summary",
            "--dataset",
            "f17k9",
            "--splits",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "synthaug: error:" in out.stderr and "does not exist" in out.stderr and "Traceback" not in out.stderr
