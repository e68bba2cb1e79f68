"""Bring-your-own data in the paper profile: class folders of mixed formats, tables, too-few labels, the DDI slot, the
CLI."""

import json
import shutil
import subprocess
import sys
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from synthaug_utils.core import config, inputs
from synthaug_utils.core.errors import DataError, MissingImagesError
from synthaug_utils.data import byo, checks, summary
from synthaug_utils.data import groups as groups_module
from synthaug_utils.data import splits as data_splits
from synthaug_utils.presentation import prose

SIZES = [(30, 20), (17, 41), (64, 64), (25, 25)]


def _texture(path, h, w, channels):
    """A pattern of its own for each file (seeded by its path): no two fixture images are near-duplicates."""
    rng = np.random.default_rng(zlib.crc32(str(path).encode()))
    return rng.integers(-60, 61, (h, w, channels))


def _image(path, i):
    """Mixed formats and sizes: RGBA PNG with transparent pixels, RGB JPEG, greyscale JPEG, palette PNG."""
    w, h = SIZES[i % len(SIZES)]
    kind = i % 4
    if kind == 0:
        a = np.full((h, w, 4), (120, 60, 30, 255), dtype=np.int64)
        a[..., :3] += _texture(path, h, w, 3)
        a[: h // 2, :, 3] = 0  # top half transparent
        Image.fromarray(a.clip(0, 255).astype(np.uint8), "RGBA").save(path.with_suffix(".png"))
        return path.with_suffix(".png")
    if kind == 1:
        a = np.array((i * 9 % 256, 80, 140)) + _texture(path, h, w, 3)
        Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(path.with_suffix(".jpg"), quality=90)
        return path.with_suffix(".jpg")
    if kind == 2:
        a = 90 + i + _texture(path, h, w, 1)[..., 0]
        Image.fromarray(a.clip(0, 255).astype(np.uint8), "L").save(path.with_suffix(".jpeg"))
        return path.with_suffix(".jpeg")
    a = np.array((10, 200, 10)) + _texture(path, h, w, 3)
    Image.fromarray(a.clip(0, 255).astype(np.uint8)).convert("P").save(path.with_suffix(".png"))
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
    assert (
        prose.skin_type_skipped(caps)
        == f"Skin-type analysis skipped: the dataset {P.dataset} has no fst column (Fitzpatrick skin type)."
    )
    assert caps.dropped == () and prose.dropped_labels_sentence(caps) is None


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
    with pytest.raises(
        DataError, match=r"label 'y' has 3 training-split and 1 test-split image\(s\); it needs at least 4"
    ):
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
    assert caps.has_fst and caps.fst_values == (1, 2, 3, 4, 5, 6) and prose.skin_type_skipped(caps) is None
    assert "'rare' (3 images), 'tiny' (1 images)" in prose.dropped_labels_sentence(caps)
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
    out = subprocess.run(
        [sys.executable, "-m", "synthaug_utils.cli", "data", "summary", *map(str, args), "--json"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_cli_summary_of_your_own_data(tmp_path, cache):
    root = _folders(tmp_path / "mine", {"acne": 7, "eczema": 8, "rare": 2})
    s = _summary(
        "--dataset", "byo", "--source", root, "--test-per-label", 2, "--val-per-label", 2, "--min-images-per-label", 4
    )
    assert s["labels"]["acne"] == {
        "train_pool": 5,
        "test": 2,
        "fst": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "6": 0, "-1": 7},
    }
    assert s["total"] == 15 and s["has_fst"] is False and s["dropped"] == [["rare", 2]]
    cfg = tmp_path / "c.yml"
    cfg.write_text(
        f"main_data: {root}\noverrides:\n  test_per_label: 3\n  val_per_label: 1\n  min_images_per_label: 3\n"
    )
    s = _summary("--dataset", "profile", "--profile", "paper", "--config", cfg)
    assert s["labels"]["eczema"]["test"] == 3 and "rare" not in s["labels"]
    bad = subprocess.run(
        [sys.executable, "-m", "synthaug_utils.cli", "data", "summary", "--dataset", "byo", "--source", root],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "label 'rare' has 2 image(s)" in bad.stderr and "Traceback" not in bad.stderr


# ----------------------------------------------------------------------------- groups, near-duplicates, identity
def _photo(path, seed, side=64):
    """A smooth random picture (bicubic-upsampled 6 x 6 noise): structure a perceptual hash can see."""
    small = np.random.default_rng(seed).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    Image.fromarray(small).resize((side, side), Image.BICUBIC).save(path)
    return path


def _grouped_table(folder, patients_per_label=8, per_patient=3):
    """A table with a group column: each patient has ``per_patient`` images of one label, and one
    patient ('p-both') has an image of each label."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for label in ("a", "b"):
        for p in range(patients_per_label):
            for k in range(per_patient):
                name = f"{label}{p}_{k}.png"
                _photo(folder / name, zlib.crc32(name.encode()), side=16)
                rows.append({"path": name, "label": label, "group": f"{label}-patient-{p}"})
        _photo(folder / f"both_{label}.png", zlib.crc32(label.encode()) + 7, side=16)
        rows.append({"path": f"both_{label}.png", "label": label, "group": "p-both"})
    pd.DataFrame(rows).to_csv(folder / "mine.csv", index=False)
    return folder / "mine.csv"


def _split_cli(*args):
    out = subprocess.run(
        [sys.executable, "-m", "synthaug_utils.cli", "data", "split", *map(str, args)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_group_column_keeps_every_group_in_one_split(tmp_path, cache):
    table = _grouped_table(tmp_path / "g")
    tables = byo.read_byo(table, test_per_label=3, val_per_label=3)
    assert tables.meta["grouping"] == "column" and tables.meta["groups"]["b3_1.png"] == "b-patient-3"
    for seed in range(5):
        s = data_splits.make_splits(tables, 3, split_seed=seed)
        rows = s.all()
        group = rows.image_id.map(tables.meta["groups"])
        assert (rows.groupby(group.to_numpy()).split.nunique() == 1).all(), seed
        assert (s.test.label.value_counts() >= 3).all() and (s.val.label.value_counts() >= 3).all()
        sentence = prose.grouping_sentence(tables, s)
        assert (
            "group column" in sentence
            and f"validation {len(s.val)} images in {group[rows.split == 'val'].nunique()} groups" in sentence
        )
    # the command prints every row with its group and split: the split the trials draw for that seed
    out = json.loads(
        _split_cli(
            "--dataset",
            "byo",
            "--source",
            table,
            "--test-per-label",
            3,
            "--val-per-label",
            3,
            "--split-seed",
            2,
            "--json",
        )
    )
    assert out["split_seed"] == 2 and out["grouping"] == "column" and len(out["rows"]) == 2 * (8 * 3 + 1)
    shown = pd.DataFrame(out["rows"])
    assert set(shown.columns) >= {"path", "label", "group", "split"} and set(shown.split) == {"train", "val", "test"}
    assert (shown.groupby("group").split.nunique() == 1).all()
    s2 = data_splits.make_splits(tables, 3, split_seed=2)
    assert dict(zip(shown.image_id, shown.split)) == dict(zip(s2.all().image_id, s2.all().split))
    assert out["counts"]["test"] == {
        "images": len(s2.test),
        "groups": int(shown[shown.split == "test"].group.nunique()),
    }
    csv = _split_cli(
        "--dataset", "byo", "--source", table, "--test-per-label", 3, "--val-per-label", 3, "--split-seed", 2
    )
    assert csv.splitlines()[0] == "path,image_id,label,group,split" and len(csv.splitlines()) == len(shown) + 1


def test_a_split_column_that_splits_a_group_is_an_error_naming_it(tmp_path, cache):
    table = _grouped_table(tmp_path / "g", patients_per_label=4)
    frame = pd.read_csv(table)
    frame["split"] = [
        "test" if g.endswith("-0") or (g == "p-both" and lab == "a") else "train"
        for g, lab in zip(frame.group, frame.label)
    ]
    frame.to_csv(table, index=False)
    with pytest.raises(
        DataError, match=r"puts 1 group\(s\) of the group column in both the train and the test split"
    ) as info:
        byo.read_byo(table, val_per_label=1)
    assert "group 'p-both'" in str(info.value) and "mine.csv line" in str(info.value)


def test_near_duplicates_are_grouped_listed_and_can_be_turned_off(tmp_path, cache):
    folder = tmp_path / "n"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    for i in range(6):
        _photo(folder / "a" / f"a{i}.png", 100 + i, side=128)
        _photo(folder / "b" / f"b{i}.png", 200 + i, side=128)
    # a re-encoded, resized copy of a0 under the other label, and a byte copy of b1 under its own
    Image.open(folder / "a" / "a0.png").resize((96, 96), Image.LANCZOS).save(
        folder / "b" / "copy_of_a0.jpg", quality=75
    )
    shutil.copy(folder / "b" / "b1.png", folder / "b" / "b1_again.png")
    tables = byo.read_byo(folder, test_per_label=2, val_per_label=1)
    assert tables.meta["grouping"] == "near-duplicates"
    groups = tables.meta["groups"]
    assert groups == {
        "a/a0.png": "a/a0.png",
        "b/copy_of_a0.jpg": "a/a0.png",
        "b/b1.png": "b/b1.png",
        "b/b1_again.png": "b/b1.png",
    }
    listed = summary.near_duplicate_table(tables)
    assert listed.cluster.tolist() == [1, 1, 2, 2] and set(listed.images) == {2}
    assert listed.set_index("image_id").distance["b/b1_again.png"] == "identical bytes"
    assert (
        int(listed.set_index("image_id").distance["b/copy_of_a0.jpg"].split()[0])
        <= groups_module.NEAR_DUPLICATE_MAX_HAMMING
    )
    for seed in range(4):
        s = data_splits.make_splits(tables, 1, split_seed=seed)
        where = dict(zip(s.all().image_id, s.all().split))
        assert where["a/a0.png"] == where["b/copy_of_a0.jpg"] and where["b/b1.png"] == where["b/b1_again.png"]
    assert "2 cluster(s) of 4 images, each kept in one split" in prose.grouping_sentence(tables, s)
    assert len(summary.near_duplicate_table(tables, s).split.unique()) >= 1
    # off: every row is its own group (the override is validated; the dataset gets another name)
    off = byo.read_byo(folder, test_per_label=2, val_per_label=1, group_near_duplicates=False)
    assert off.meta["grouping"] == "none" and off.meta["groups"] == {} and summary.near_duplicate_table(off).empty
    P_on, P_off = (
        _paper(tmp_path, main_data=folder),
        _paper(tmp_path, {"group_near_duplicates": False}, main_data=folder),
    )
    assert P_off.group_near_duplicates is False and P_on.dataset != P_off.dataset
    assert data_splits.dataset_tables(P_off).meta["grouping"] == "none"
    with pytest.raises(config.ProfileError, match=r'group_near_duplicates="no" is not true or false'):
        _paper(tmp_path, {"group_near_duplicates": "no"}, main_data=folder)


def test_an_image_listed_twice_is_an_error_naming_its_lines(tmp_path, cache):
    table = _table(tmp_path / "t", {"x": 6, "y": 6})
    frame = pd.read_csv(table)
    frame = pd.concat([frame, frame.iloc[[1]], frame.iloc[[7]].assign(label="x"), frame.iloc[[1]]], ignore_index=True)
    frame.loc[len(frame)] = {"path": "./" + frame.path[3], "label": "x", "fst": 1}  # another spelling of the same file
    frame.to_csv(table, index=False)
    with pytest.raises(DataError, match=r"3 image\(s\) are listed more than once") as info:
        byo.read_byo(table, test_per_label=1)
    msg = str(info.value)
    assert f"- '{frame.path[1]}': lines 3, 14, 16" in msg and f"- '{frame.path[7]}': lines 9, 15" in msg
    assert f"- '{frame.path[3]}': lines 5, 17" in msg


def test_the_dataset_name_comes_from_its_content_not_its_place(tmp_path, cache):
    first = tmp_path / "one" / "derm"
    table = _table(first, {"x": 5, "y": 5})
    second = tmp_path / "elsewhere" / "deeper" / "derm"
    shutil.copytree(first, second)
    name = config.byo_dataset_name(table)
    assert name.startswith("byo-mine-") and config.byo_dataset_name(second / "mine.csv") == name
    assert _paper(tmp_path, main_data=table).dataset == _paper(tmp_path, main_data=second / "mine.csv").dataset == name
    folders = _folders(tmp_path / "a" / "mine", {"p": 4, "q": 4})
    shutil.copytree(folders, tmp_path / "b" / "mine")
    assert config.byo_dataset_name(folders) == config.byo_dataset_name(tmp_path / "b" / "mine")
    # rows in another order: the same draws, the same name
    frame = pd.read_csv(second / "mine.csv")
    frame.iloc[::-1].to_csv(second / "mine.csv", index=False)
    assert config.byo_dataset_name(second / "mine.csv") == name
    # a changed image, label or grouping is another dataset
    _photo(second / pd.read_csv(second / "mine.csv").path[0], 5)
    assert config.byo_dataset_name(second / "mine.csv") != name
    frame.assign(label=frame.label.replace({"x": "z"})).to_csv(first / "mine.csv", index=False)
    assert config.byo_dataset_name(table) != name
    frame.to_csv(first / "mine.csv", index=False)
    assert config.byo_dataset_name(table) == name
    assert config.byo_dataset_name(table, group_near_duplicates=False) != name
