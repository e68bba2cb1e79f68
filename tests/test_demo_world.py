"""The embedded demo world: deterministic bytes, real formats, composition, skin-type skew."""
import hashlib

import numpy as np

from synthaug_utils.data import checks
from synthaug_utils.data import splits as data_splits
from synthaug_utils.data import world as demo_world
from synthaug_utils.core.config import DemoWorldSpec


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
