"""Embedding backends and the per-image cache (synthaug_utils.analysis.embeddings)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from synthaug_utils.analysis import embeddings
from synthaug_utils.core.config import load_profile
from synthaug_utils.core.errors import MissingImagesError, MissingModelError

DEMO = load_profile("demo")

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "cache"))
    embeddings._load_cached.cache_clear()
    yield
    embeddings._load_cached.cache_clear()


def _pngs(folder, n: int, seed: int = 0, size: int = 64) -> list[str]:
    """n random RGB PNGs (size x size px); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        base = rng.integers(0, 256, size=(1, 1, 3))
        noise = rng.integers(-40, 40, size=(size, size, 3))
        arr = np.clip(base + noise, 0, 255).astype(np.uint8)
        path = folder / f"img{i:03d}.png"
        Image.fromarray(arr).save(path)
        paths.append(str(path))
    return paths


def test_demo_backbone_normalised_cached_and_faster(tmp_path):
    paths = _pngs(tmp_path / "imgs", 48)
    t0 = time.perf_counter()
    cold = embeddings.embed_images(paths, "demo-backbone", DEMO, progress=False)
    t_cold = time.perf_counter() - t0
    assert cold.shape == (48, 1280) and cold.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(cold, axis=1), 1.0, atol=1e-5)
    embeddings._load_cached.cache_clear()  # a warm call must not need the model at all
    t0 = time.perf_counter()
    warm = embeddings.embed_images(pd.DataFrame({"path": paths}), "demo-backbone", DEMO, progress=False)
    t_warm = time.perf_counter() - t0
    np.testing.assert_array_equal(cold, warm)
    assert embeddings._load_cached.cache_info().currsize == 0
    assert t_cold >= 5 * t_warm, f"cold {t_cold:.3f}s, warm {t_warm:.3f}s"
    files = list((tmp_path / "cache" / "embeddings").rglob("*.npy"))
    assert len(files) == 48 and not list((tmp_path / "cache").rglob("*.tmp"))


def test_deterministic_and_cache_equals_fresh(tmp_path):
    paths = _pngs(tmp_path / "imgs", 6, seed=1)
    a = embeddings.embed_images(paths, "demo-backbone", DEMO, use_cache=False, progress=False)
    b = embeddings.embed_images(paths, "demo-backbone", DEMO, use_cache=False, progress=False)
    np.testing.assert_array_equal(a, b)
    cached = embeddings.embed_images(paths, "demo-backbone", DEMO, progress=False)
    np.testing.assert_allclose(cached, a, atol=1e-6)
    # different images give different embeddings; the same content under another name hits the cache
    assert np.max(np.abs(a[0] - a[1])) > 1e-3
    copy = tmp_path / "copy.png"
    copy.write_bytes(open(paths[2], "rb").read())
    again = embeddings.embed_images([str(copy), paths[0]], "demo-backbone", DEMO, progress=False)
    np.testing.assert_array_equal(again, cached[[2, 0]])


def test_cache_key_separates_models_and_sizes(tmp_path):
    paths = _pngs(tmp_path / "imgs", 3, seed=2)
    at64 = embeddings.embed_images(paths, "demo-backbone", DEMO, progress=False)
    at32 = embeddings.embed_images(paths, "demo-backbone", DEMO, image_size=32, progress=False)
    assert not np.allclose(at64, at32)
    spec64 = embeddings.resolve_model("demo-backbone", DEMO)
    spec32 = embeddings.resolve_model("demo-backbone", DEMO, image_size=32)
    assert spec64.cache_key() != spec32.cache_key()
    assert len(list((tmp_path / "cache" / "embeddings").iterdir())) == 2


def test_missing_open_clip_weights_clear_error(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SYNTHAUG_CLIP_WEIGHTS", raising=False)
    paths = _pngs(tmp_path / "imgs", 1)
    with pytest.raises(MissingModelError) as err:
        embeddings.embed_images(paths, "open_clip:ViT-B-32/openai", DEMO, progress=False)
    msg = str(err.value)
    assert "ViT-B-32" in msg and "openai" in msg and "SYNTHAUG_CLIP_WEIGHTS" in msg
    assert "timm/vit_base_patch32_clip_224.openai" in msg
    with pytest.raises(MissingModelError, match="does not exist"):
        embeddings.resolve_model("open_clip:ViT-B-32/openai", DEMO, weights=tmp_path / "nope.pt")
    with pytest.raises(MissingModelError, match="unknown embedding model"):
        embeddings.resolve_model("clip-b32", DEMO)
    with pytest.raises(MissingModelError, match="unknown tag"):
        embeddings.resolve_model("open_clip:ViT-B-32/no-such-tag", DEMO)


def test_open_clip_from_local_checkpoint_file(tmp_path):
    # a small open_clip architecture with random weights saved to a file stands in for the real checkpoint
    import open_clip

    torch.manual_seed(0)
    ckpt = tmp_path / "vit-s-32-alt-random.pt"
    torch.save(open_clip.create_model("ViT-S-32-alt", pretrained=None).state_dict(), ckpt)
    paths = _pngs(tmp_path / "imgs", 3, seed=3)
    emb = embeddings.embed_images(paths, "open_clip:ViT-S-32-alt", DEMO, weights=ckpt, progress=False)
    assert emb.shape == (3, 256) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    spec = embeddings.resolve_model("open_clip:ViT-S-32-alt", DEMO, weights=ckpt)
    assert spec.weights == str(ckpt)


def test_missing_images_named(tmp_path):
    paths = _pngs(tmp_path / "imgs", 1) + [str(tmp_path / "gone.png")]
    with pytest.raises(MissingImagesError, match="gone.png"):
        embeddings.embed_images(paths, "demo-backbone", DEMO, progress=False)
    with pytest.raises(MissingImagesError, match="'path' column"):
        embeddings.embed_images(pd.DataFrame({"file": paths}), "demo-backbone", DEMO)


def test_near_copies_are_compared_with_held_out_real_images_at_the_same_pool_size():
    """A threshold set in a large pool undercounts in a small one: every pool's near-copy share comes with
    held-out real images' share against that pool, and the large pool is also scored at the small size."""
    from synthaug_utils.analysis.embedding_report import HELD_OUT_REAL, near_copy_baseline, near_copy_facts

    rng = np.random.default_rng(0)
    train, val, test = (rng.normal(size=(n, 8)) for n in (400, 40, 40))
    # 20 near their sources
    synth = np.vstack([train[:20] + rng.normal(scale=0.05, size=(20, 8)), rng.normal(size=(20, 8))])
    meta = pd.DataFrame({"method": ["inpaint"] * 20 + ["text-to-image"] * 20})
    pools = {
        "training pool": (train, list(range(400))),
        "validation": (val, list(range(40))),
        "test": (test, list(range(40))),
    }
    unit = train / np.linalg.norm(train, axis=1, keepdims=True)
    nn = np.sort(1 - unit @ unit.T, axis=1)[:, 1]
    like = near_copy_baseline(synth, meta, pools, float(np.quantile(nn, 0.05)), draws=5)
    rows = like.set_index(["pool", "query"])
    assert set(like.pool) == {"training pool", "validation", "test", "training pool (random 40)"}
    assert (
        rows.loc[("test", HELD_OUT_REAL), "images"] == 40 and rows.loc[("training pool", HELD_OUT_REAL), "images"] == 80
    )
    assert rows.loc[("training pool", "inpaint"), "share"] == 1.0  # near their own sources, by construction
    assert rows.loc[("test", "inpaint"), "share"] == 0.0
    small, large = (
        rows.loc[("training pool (random 40)", HELD_OUT_REAL), "share"],
        rows.loc[("training pool", HELD_OUT_REAL), "share"],
    )
    assert small < large  # the same real images count fewer near copies in a smaller pool
    facts = near_copy_facts(like)
    assert facts["e_cont_trainm_n"] == 40 and set(facts) >= {
        "e_cont_test_syn_share",
        "e_cont_test_real_share",
        "e_cont_trainm_syn_share",
    }
