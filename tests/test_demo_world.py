"""The embedded demo world: deterministic bytes, real formats, composition, skin-type skew, planted near-duplicates."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from synthaug_utils.core.config import DemoWorldSpec
from synthaug_utils.data import checks
from synthaug_utils.data import splits as data_splits
from synthaug_utils.data import world as demo_world


def _digest(folder):
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path, monkeypatch):
    spec = DemoWorldSpec(train_pool_per_class=3, test_per_class=1, pretrain_per_class=1, ddi_total=6)
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "a"))
    a = _digest(demo_world.ensure_world(spec, show_progress=False))
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "b"))
    b = _digest(demo_world.ensure_world(spec, show_progress=False))
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "c"))
    other = DemoWorldSpec(train_pool_per_class=3, test_per_class=1, pretrain_per_class=1, ddi_total=6, seed=7)
    c = _digest(demo_world.ensure_world(other, show_progress=False))
    assert a == b and a != c


def test_smoke_world_reads_through_the_real_loaders(smoke_profile):
    splits = data_splits.load_splits(smoke_profile, "main", 0)
    w = smoke_profile.world
    assert splits.labels == sorted(demo_world.DERM9_LABELS)
    assert (splits.test.label.value_counts() == w.test_per_class).all()
    assert (splits.val.label.value_counts() == smoke_profile.val_per_label).all()
    assert (splits.train_pool.label.value_counts() == w.train_pool_per_class - smoke_profile.val_per_label).all()
    arr = checks.load_image_array(splits.test.head(5), w.image_size)
    assert arr.shape == (5, 64, 64, 3) and arr.std() > 5
    # the md5hash naming of Fitzpatrick17k holds: file name = md5 of its bytes
    path = splits.test.path.iloc[0]
    assert hashlib.md5(open(path, "rb").read()).hexdigest() == splits.test.image_id.iloc[0]
    ddi = data_splits.load_splits(smoke_profile, "ddi", 0)
    assert set(ddi.test.fst) == {12, 34, 56} and set(ddi.test.label) <= {"benign", "malignant"}
    pre = data_splits.pretrain_pool(smoke_profile)
    assert len(pre) == 9 * w.pretrain_per_class
    assert not set(pre.image_id) & set(splits.all().image_id)


def test_skin_type_distribution_is_skewed_to_lighter_types():
    rng_fsts = [demo_world.derm9_case("psoriasis", "training", i, 1, 16)[1] for i in range(300)]
    counts = {f: rng_fsts.count(f) for f in (1, 2, 3, 4, 5, 6)}
    assert counts[2] > counts[4] > counts[6] and counts[6] > 0


def test_skin_colour_follows_the_type():
    style = demo_world.DERM9_STYLES["basal cell carcinoma"]
    light = np.asarray(demo_world.render_lesion_image(style, 1, ("t", 1), 32)).mean()
    dark = np.asarray(demo_world.render_lesion_image(style, 6, ("t", 1), 32)).mean()
    assert light > dark + 60


def test_drawing_in_worker_processes_gives_the_same_bytes(tmp_path):
    from synthaug_utils.data import world as demo_world

    spec = DemoWorldSpec(train_pool_per_class=20, test_per_class=3, pretrain_per_class=2, ddi_total=210)

    def draw(root, workers):
        demo_world._write_derm9(root, spec, lambda n: None, workers)
        demo_world._write_ddi(root, spec, lambda n: None, workers)
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    serial, parallel = draw(tmp_path / "serial", 1), draw(tmp_path / "parallel", 2)
    assert len(serial) > 9 * 25 + 210 and serial == parallel


# ----------------------------------------------------------------------------- planted near-duplicates
def _audit_shares():
    from synthaug_utils.data import audit

    table = audit.audit_table(audit.real_images(demo_world.NEAR_DUPLICATE_SCOPE)).set_index("label")
    return table, {label: table.at[label, "leaking"] / table.at[label, "held_out"] for label in demo_world.DERM9_LABELS}


def test_planted_counts_follow_the_real_audit_per_label_and_overall():
    table, shares = _audit_shares()
    for spec in (DemoWorldSpec(), DemoWorldSpec(test_per_class=8), DemoWorldSpec(test_per_class=3)):
        counts = demo_world.planted_counts(spec)
        assert set(counts) == set(demo_world.DERM9_LABELS)
        for label, share in shares.items():  # within rounding, per class
            assert abs(counts[label] - share * spec.test_per_class) <= 0.5
    real = table.loc["all labels"]
    demo = DemoWorldSpec()
    total = sum(demo_world.planted_counts(demo).values())
    assert abs(total / (9 * demo.test_per_class) - real.leaking / real.held_out) <= 9 * 0.5 / (9 * demo.test_per_class)
    assert total > 0 and demo.key() != DemoWorldSpec(near_duplicate_rate=0).key()
    assert demo_world.planted_counts(DemoWorldSpec(near_duplicate_rate=0.25, test_per_class=8)) == dict.fromkeys(
        demo_world.DERM9_LABELS, 2
    )
    assert (
        demo_world.planted_counts(DemoWorldSpec(near_duplicate_rate=1, test_per_class=8, train_pool_per_class=5))[
            "psoriasis"
        ]
        == 5
    )


def test_planted_test_images_are_near_duplicates_of_training_images_of_their_class(smoke_profile):
    from PIL import Image

    from synthaug_utils.core.errors import LeakageError
    from synthaug_utils.data.near_duplicates import leaking_test_ids

    root = demo_world.ensure_world(smoke_profile.world, show_progress=False)
    pairs = demo_world.planted_near_duplicates(root)
    expected = {k: v for k, v in demo_world.planted_counts(smoke_profile.world).items() if v}
    assert len(pairs) > 0 and pairs.groupby("label").size().to_dict() == expected
    assert leaking_test_ids(smoke_profile) == frozenset(pairs.image_id)
    splits = data_splits.load_splits(smoke_profile, "main", 0)
    pool = pd.concat([splits.train_pool, splits.val]).set_index("image_id")  # the training file
    test = splits.test.set_index("image_id")
    assert set(pairs.image_id) <= set(test.index) and set(pairs.twin_id) <= set(pool.index)
    assert pairs.twin_id.is_unique
    for row in pairs.itertuples():
        assert pool.at[row.twin_id, "label"] == test.at[row.image_id, "label"] == row.label
        assert pool.at[row.twin_id, "fst"] == test.at[row.image_id, "fst"]
        copy, twin = (open(p, "rb").read() for p in (test.at[row.image_id, "path"], pool.at[row.twin_id, "path"]))
        assert copy != twin and row.image_id != row.twin_id
        a, b = (
            np.asarray(Image.open(p), dtype=float)
            for p in (test.at[row.image_id, "path"], pool.at[row.twin_id, "path"])
        )
        others = pool[(pool.label == row.label) & (pool.index != row.twin_id)].path
        nearest_other = min(np.abs(np.asarray(Image.open(p), dtype=float) - a).mean() for p in others)
        # pixel-close, and closer to its twin than to any other
        assert 0 < np.abs(a - b).mean() < min(16, nearest_other)
    # the leakage guard: a twin (training image) may be a generation source, a planted test image may not
    data_splits.assert_no_leakage(set(splits.train_pool.image_id), splits, "test")
    with pytest.raises(LeakageError):
        data_splits.assert_no_leakage(set(pairs.image_id[:1]), splits, "test")


def test_a_world_without_planted_pairs_reads_through_the_loaders(tmp_path):
    from synthaug_utils.data.tables import read_f17k

    for rate, tiny in (
        (0, DemoWorldSpec(train_pool_per_class=3, test_per_class=2)),
        (None, DemoWorldSpec(train_pool_per_class=3, test_per_class=1)),
    ):
        root = tmp_path / f"rate{rate}"
        demo_world._write_derm9(root, tiny, lambda n: None, 1)
        assert sum(demo_world.planted_counts(tiny).values()) == 0
        assert demo_world.planted_near_duplicates(root).empty
        tables = read_f17k(
            root / "derm9" / "fitzpatrick17k.csv", root / "derm9", root / "derm9" / "images", image_ext=".png"
        )
        assert len(tables.test) == 9 * tiny.test_per_class
