"""Bring-your-own data in the paper profile: class folders of mixed formats, tables, too-few labels, the DDI slot, the CLI."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from synthaug_utils.core import config
from synthaug_utils.core import inputs
from synthaug_utils.data import byo
from synthaug_utils.data import checks
from synthaug_utils.data import splits as data_splits
from synthaug_utils.data import summary
from synthaug_utils.core.errors import DataError, MissingImagesError

SIZES = [(30, 20), (17, 41), (64, 64), (25, 25)]


def _image(path, i):
    """Mixed formats and sizes: RGBA PNG with transparent pixels, RGB JPEG, greyscale JPEG, palette PNG."""
    w, h = SIZES[i % len(SIZES)]
    kind = i % 4
    if kind == 0:
        a = np.full((h, w, 4), (120, 60, 30, 255), dtype=np.uint8)
        a[: h // 2, :, 3] = 0  # top half transparent
        Image.fromarray(a, "RGBA").save(path.with_suffix(".png"))
        return path.with_suffix(".png")
    if kind == 1:
        Image.new("RGB", (w, h), (i * 9 % 256, 80, 140)).save(path.with_suffix(".jpg"), quality=90)
        return path.with_suffix(".jpg")
    if kind == 2:
        Image.new("L", (w, h), 90 + i).save(path.with_suffix(".jpeg"))
        return path.with_suffix(".jpeg")
    Image.new("RGB", (w, h), (10, 200, 10)).convert("P").save(path.with_suffix(".png"))
    return path.with_suffix(".png")


def _folders(root, counts):
    for label, n in counts.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            _image(root / label / f"img{i}", i)
    if "acne" in counts:
        (root / "acne" / "._img0.jpg").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")  # not an image: skipped
    return root


def _paper(tmp_path, overrides=None, **locations):
    cfg = tmp_path / "paper.yml"
    cfg.write_text("".join(f"{k}: {v}\n" for k, v in locations.items()))
    base = {"device": "cpu", "test_per_label": 2, "val_per_label": 2, "ddi_per_bin": 1}
    return config.load_profile("paper", config=cfg, overrides={**base, **(overrides or {})})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_class_folders_of_mixed_formats_run_through_load_splits(tmp_path, cache, monkeypatch):
    for var in ("SYNTHAUG_F17K_METADATA", "SYNTHAUG_F17K_SPLITS", "SYNTHAUG_F17K_IMAGES", "SYNTHAUG_MAIN_DATA"):
        monkeypatch.delenv(var, raising=False)
    root = _folders(tmp_path / "mine", {"acne": 7, "eczema": 8, "psoriasis": 6})
    P = _paper(tmp_path, main_data=root)
    assert P.dataset.startswith("byo-mine-") and P.locations["main_data"] == str(root)
    # the F17k locations are not needed when main_data is set; main_data is not needed when unset
    assert inputs.missing_resources(P, needs=("f17k_metadata", "f17k_splits", "f17k_images")) == []
    everything = "\n".join(inputs.missing_resources(P))
    assert "f17k" not in everything and "main_data" not in everything and "ddi_metadata" in everything
    (tmp_path / "plain").mkdir()
    plain = "\n".join(inputs.missing_resources(_paper(tmp_path / "plain")))
    assert "f17k_images" in plain and "main_data" not in plain

    splits = data_splits.load_splits(P, "main", split_seed=0)
    assert splits.labels == ["acne", "eczema", "psoriasis"] and splits.dataset == P.dataset
    assert (splits.test.label.value_counts() == 2).all() and (splits.val.label.value_counts() == 2).all()
    assert splits.train_pool.label.value_counts().to_dict() == {"acne": 3, "eczema": 4, "psoriasis": 2}
    assert not any("._" in p for p in splits.all().path)  # macOS resource forks are not images
    assert set(splits.all().image_id) >= {"acne/img1.jpg", "eczema/img0.png"}
    assert (cache / checks.IMAGE_CHECK_FILE).is_file()  # every image was decoded once, up front
    # the test set is fixed across split seeds; validation is drawn per split seed
    other = data_splits.load_splits(P, "main", split_seed=1)
    assert other.test.image_id.tolist() == splits.test.image_id.tolist()
    arr = checks.load_image_array(splits.all(), 16)
    assert arr.shape == (21, 16, 16, 3) and arr.dtype == np.uint8
    rgba = splits.all().reset_index(drop=True).image_id.eq("acne/img0.png").to_numpy().nonzero()[0][0]
    assert (arr[rgba, 0] == 255).all()  # the transparent top is white
    caps = summary.dataset_capabilities(data_splits.dataset_tables(P))
    assert not caps.has_fst and not caps.fst_column and not caps.split_given
    assert caps.missing("fst") == f"Skin-type analysis skipped: the dataset {P.dataset} has no fst column (Fitzpatrick skin type)."
    assert caps.dropped == () and caps.dropped_sentence() is None


def test_bad_images_stop_load_splits_before_any_work_with_every_one_named(tmp_path, cache):
    root = _folders(tmp_path / "mine", {"a": 6, "b": 6})
    (root / "a" / "img1.jpg").write_bytes((root / "a" / "img1.jpg").read_bytes()[:200])
    (root / "b" / "img3.png").write_bytes(b"")
    (root / "b" / "notes.png").write_text("not a png")
    P = _paper(tmp_path, main_data=root)
    with pytest.raises(MissingImagesError) as info:
        data_splits.load_splits(P)
    msg = str(info.value)
    assert "3 of 13 images are missing or unreadable" in msg
    assert "image_id a/img1.jpg): truncated" in msg and "image_id b/img3.png): empty (0 bytes)" in msg
    assert "image_id b/notes.png): not an image PIL can identify" in msg


def _table(folder, counts, fst=True, split=None):
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, n in counts.items():
        for i in range(n):
            path = _image(folder / f"{label}{i}", i)
            row = {"path": path.name, "label": label}
            if fst:
                row["fst"] = 1 + i % 6
            if split:
                row["split"] = split(label, i)
            rows.append(row)
    pd.DataFrame(rows).to_csv(folder / "mine.csv", index=False)
    return folder / "mine.csv"


def test_a_label_too_small_for_its_draws_is_an_error_naming_it(tmp_path, cache):
    table = _table(tmp_path / "t", {"big": 8, "rare": 3, "tiny": 1})
    P = _paper(tmp_path, main_data=table)
    with pytest.raises(DataError) as info:
        data_splits.load_splits(P)
    msg = str(info.value)
    assert "label 'rare' has 3 image(s); it needs at least 5 (2 test + 2 validation + 1 training)" in msg
    assert "label 'tiny' has 1 image(s)" in msg and "'big'" not in msg and "min_images_per_label" in msg
    # with a split column: validation + 1 from the training split, 1 from the test split
    split_table = _table(tmp_path / "s", {"x": 6, "y": 4}, split=lambda label, i: "test" if i == 0 else "train")
    with pytest.raises(DataError, match=r"label 'y' has 3 training-split and 1 test-split image\(s\); it needs at least 4"):
        byo.read_byo(split_table, val_per_label=3)
    t = byo.read_byo(split_table, val_per_label=2)
    assert len(t.test) == 2 and summary.dataset_capabilities(t).split_given


def test_min_images_per_label_drops_small_labels_and_records_them(tmp_path, cache):
    table = _table(tmp_path / "t", {"big": 8, "mid": 6, "rare": 3, "tiny": 1})
    P = _paper(tmp_path, {"min_images_per_label": 5}, main_data=table)
    splits = data_splits.load_splits(P)
    assert splits.labels == ["big", "mid"]
    tables = data_splits.dataset_tables(P)
    assert tables.meta["dropped"] == [("rare", 3), ("tiny", 1)]
    caps = summary.dataset_capabilities(tables)
    assert caps.has_fst and caps.fst_values == (1, 2, 3, 4, 5, 6) and caps.missing("fst") is None
    assert "'rare' (3 images), 'tiny' (1 images)" in caps.dropped_sentence()
    # a label kept by min_images_per_label but still too small for val + test + 1 is an error
    with pytest.raises(DataError, match="label 'rare' has 3 image"):
        data_splits.load_splits(_paper(tmp_path, {"min_images_per_label": 2}, main_data=table))


def test_binary_table_replaces_ddi(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_DDI_DATA", str(_table(tmp_path / "b", {"benign": 12, "melanoma": 12})))
    P = _paper(tmp_path)
    assert P.ddi_dataset.startswith("byo-binary-mine-")
    assert "ddi_metadata" not in "\n".join(inputs.missing_resources(P))
    splits = data_splits.load_splits(P, "ddi", split_seed=0)
    assert splits.labels == ["benign", "melanoma"] and splits.dataset == P.ddi_dataset
    assert sorted(splits.test.fst.unique()) == [12, 34, 56]  # FST 1-6 binned like DDI
    assert splits.test.fst.value_counts().to_dict() == {12: 1, 34: 1, 56: 1}
    three = _table(tmp_path / "c", {"a": 4, "b": 4, "c": 4})
    with pytest.raises(DataError, match="needs exactly 2"):
        byo.read_byo_binary(three, 1)
    with pytest.raises(DataError, match="no fst column"):
        byo.read_byo_binary(_table(tmp_path / "d", {"a": 4, "b": 4}, fst=False), 1)


def _summary(*args):
    out = subprocess.run([sys.executable, "-m", "synthaug_utils.cli", "data", "summary", *map(str, args), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_cli_summary_of_your_own_data(tmp_path, cache):
    root = _folders(tmp_path / "mine", {"acne": 7, "eczema": 8, "rare": 2})
    s = _summary("--dataset", "byo", "--source", root, "--test-per-label", 2, "--val-per-label", 2, "--min-images-per-label", 4)
    assert s["labels"]["acne"] == {"train_pool": 5, "test": 2, "fst": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "6": 0, "-1": 7}}
    assert s["total"] == 15 and s["has_fst"] is False and s["dropped"] == [["rare", 2]]
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"main_data: {root}\noverrides:\n  test_per_label: 3\n  val_per_label: 1\n  min_images_per_label: 3\n")
    s = _summary("--dataset", "profile", "--profile", "paper", "--config", cfg)
    assert s["labels"]["eczema"]["test"] == 3 and "rare" not in s["labels"]
    bad = subprocess.run([sys.executable, "-m", "synthaug_utils.cli", "data", "summary", "--dataset", "byo", "--source", root],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "label 'rare' has 2 image(s)" in bad.stderr and "Traceback" not in bad.stderr
