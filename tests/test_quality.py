"""Synthetic-set quality metrics on planted cases (synthaug_utils.analysis.quality)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

from synthaug_utils.analysis import class_identity, embeddings, pair_distances, quality
from synthaug_utils.presentation.generation_prose import gate_verdict

D = 16


def _cloud(n: int, seed: int, shift: float = 0.0, d: int = D) -> np.ndarray:
    """(n, d) Gaussian points with anisotropic scales, moved by ``shift`` along the first axis."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d)
    x[:, 0] += shift
    return x


def _fd_reference(a: np.ndarray, b: np.ndarray) -> float:
    """Textbook FID formula with scipy.linalg.sqrtm (fine on well-conditioned covariances)."""
    mu = a.mean(0) - b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(ca @ cb).real
    return float(mu @ mu + np.trace(ca) + np.trace(cb) - 2 * np.trace(root))


# ---------------------------------------------------------------- Fréchet
def test_frechet_identical_sets_near_zero_and_matches_scipy():
    a = _cloud(400, 0)
    assert quality.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    b = _cloud(400, 1, shift=1.0)
    assert quality.frechet_distance(a, b) == pytest.approx(_fd_reference(a, b), rel=1e-6)


def test_frechet_pure_mean_shift_is_squared_shift():
    a = _cloud(300, 2)
    assert quality.frechet_distance(a, a + 0.7) == pytest.approx(D * 0.49, rel=1e-9)


def test_frechet_monotone_in_shift():
    a = _cloud(500, 3)
    values = [quality.frechet_distance(a, _cloud(500, 4, shift=s)) for s in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert all(x < y for x, y in zip(values, values[1:])), values
    assert values[0] < 0.5  # same distribution, different draws: small


def test_frechet_stable_when_fewer_images_than_dimensions():
    # singular covariances (N < D): finite, non-negative, ~0 for identical sets
    a = _cloud(20, 5, d=64)
    b = _cloud(20, 6, d=64, shift=3.0)
    fd = quality.frechet_distance(a, b)
    assert np.isfinite(fd) and fd > 0
    assert quality.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


# ------------------------------------------------------------ kernel / MMD
def test_kernel_distance_identical_near_zero_shift_larger_and_seeded():
    a = _cloud(300, 7)
    same = quality.kernel_distance(a, _cloud(300, 8), n_subsets=10, subset_size=200, seed=0)
    values = [
        quality.kernel_distance(a, _cloud(300, 8, shift=s), n_subsets=10, subset_size=200, seed=0)
        for s in (0.5, 1.0, 2.0)
    ]
    assert abs(same) < 0.2 * values[1]
    assert all(x < y for x, y in zip(values, values[1:])), values
    # the very same rows: slightly negative, O(1/n) (the unbiased estimator drops the within-set
    # diagonal but keeps the cross-set one), and small against any real shift
    self_kid = quality.kernel_distance(a, a, n_subsets=5, subset_size=300)
    assert -0.3 * values[1] < self_kid < 0
    again = quality.kernel_distance(a, _cloud(300, 8, shift=0.5), n_subsets=10, subset_size=200, seed=0)
    assert again == values[0]
    other_seed = quality.kernel_distance(a, _cloud(300, 8, shift=0.5), n_subsets=10, subset_size=200, seed=1)
    assert other_seed != values[0]


def test_kernel_distance_unbiased_estimator_by_hand():
    # subsets as large as the sets are permutations of them, and MMD is order-free, so the
    # single-subset value must equal the unbiased estimator written out as double loops
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)) + 0.3
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
    xy = sum(k(x[i], y[j]) for i in range(5) for j in range(5)) / 25
    got = quality.kernel_distance_subsets(x, y, n_subsets=1, subset_size=5)
    assert got.shape == (1,)
    assert got[0] == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


# ---------------------------------------------------- precision / recall
def test_precision_recall_identical_and_disjoint():
    a = _cloud(200, 10)
    same = quality.knn_precision_recall(a, a.copy(), k=3)
    assert same.precision == 1.0 and same.recall == 1.0
    far = quality.knn_precision_recall(a, _cloud(200, 11, shift=100.0), k=3)
    assert far.precision == 0.0 and far.recall == 0.0
    draw = quality.knn_precision_recall(a, _cloud(200, 12), k=3)
    assert draw.precision > 0.6 and draw.recall > 0.6


def test_precision_recall_mode_collapse_keeps_precision_loses_recall():
    real = _cloud(300, 13)
    collapsed = real[:10] + np.random.default_rng(14).normal(scale=1e-3, size=(10, D))
    collapsed = np.repeat(collapsed, 5, axis=0)
    pr = quality.knn_precision_recall(real, collapsed, k=3)
    assert pr.precision > 0.9
    assert pr.recall < 0.2
    with pytest.raises(ValueError):
        quality.knn_precision_recall(real[:3], collapsed, k=3)


# -------------------------------------------------------------- cosine
def test_cosine_helpers():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    b = np.array([[2.0, 0.0], [1.0, 0.0], [-1.0, -1.0]])
    np.testing.assert_allclose(pair_distances.cosine_distance(a, b), [0.0, 1.0, 2.0], atol=1e-12)
    x = _cloud(50, 15)
    d = pair_distances.random_pair_distances(x, 1000, seed=3)
    assert d.shape == (1000,) and np.all(d > 1e-9)  # never pairs an image with itself
    np.testing.assert_array_equal(d, pair_distances.random_pair_distances(x, 1000, seed=3))
    c = pair_distances.random_cross_distances(x, _cloud(30, 16), 500, seed=1)
    assert c.shape == (500,) and np.all((c >= 0) & (c <= 2))
    with pytest.raises(ValueError):
        pair_distances.l2_normalise(np.zeros((1, 3)))


def test_matched_distances_and_missing_source():
    real = _cloud(5, 17)
    synth = real[[2, 4]] * 3.0  # same direction as its source
    out = pair_distances.matched_distances(synth, ["r2", "missing"], real, [f"r{i}" for i in range(5)])
    assert out[0] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(out[1])


# --------------------------------------------------------- memorisation
def test_memorisation_flags_copied_image():
    rng = np.random.default_rng(18)
    real = rng.normal(size=(100, 32))
    real_ids = [f"img{i}" for i in range(100)]
    copies = real[[3, 50]] + rng.normal(scale=0.01, size=(2, 32))  # near copies of their sources
    novel = rng.normal(size=(40, 32))  # unrelated to their nominal sources
    synth = np.vstack([copies, novel])
    sources = ["img3", "img50"] + [real_ids[i] for i in rng.integers(0, 100, 40)]
    mem = quality.memorisation(synth, sources, real, real_ids)
    assert mem.nn_is_source[:2].all()
    assert list(mem.nn_real_id[:2]) == ["img3", "img50"]
    assert mem.nn_distance[:2].max() < 0.01
    assert mem.nn_is_source[2:].sum() <= 2
    assert mem.share == pytest.approx(mem.nn_is_source.mean())
    assert mem.share < 0.15 and mem.n_with_source == 42
    np.testing.assert_allclose(mem.source_distance[:2], mem.nn_distance[:2])
    assert np.all(mem.nn_distance <= np.nan_to_num(mem.source_distance, nan=np.inf) + 1e-12)


def test_memorisation_without_sources_and_bad_ids():
    real = _cloud(10, 19)
    mem = quality.memorisation(_cloud(4, 20), ["x"] * 4, real, [str(i) for i in range(10)])
    assert np.isnan(mem.share) and mem.n_with_source == 0 and not mem.nn_is_source.any()
    with pytest.raises(ValueError, match="unique"):
        quality.memorisation(_cloud(1, 21), ["0"], real, ["0"] * 10)


# --------------------------------------------------------------- summary
def test_quality_table_ranks_planted_sets():
    rng = np.random.default_rng(22)
    labels = ["a", "b"]
    real = np.vstack([_cloud(60, 23), _cloud(60, 24, shift=5.0)])
    real_meta = pd.DataFrame({"image_id": [f"r{i}" for i in range(120)], "label": ["a"] * 60 + ["b"] * 60})
    src = rng.integers(0, 120, 120)
    good = real[src] + rng.normal(scale=0.3, size=(120, D))
    bad = real[src] + rng.normal(scale=0.3, size=(120, D)) + 3.0
    synth = np.vstack([good, bad])
    synth_meta = pd.DataFrame(
        {
            "source_id": [f"r{i}" for i in src] * 2,
            "label": [real_meta.label[i] for i in src] * 2,
            "method": ["inpaint"] * 120 + ["text-to-image"] * 120,
            "variant": "pretrained",
        }
    )
    table = quality.quality_table(real, real_meta, synth, synth_meta, n_subsets=5, subset_size=100)
    assert set(table["label"]) == {"all", *labels}
    overall = table[table.label == "all"].set_index("method")
    assert overall.loc["inpaint", "frechet"] < overall.loc["text-to-image", "frechet"]
    assert overall.loc["inpaint", "kernel"] < overall.loc["text-to-image", "kernel"]
    assert overall.loc["inpaint", "precision"] > overall.loc["text-to-image", "precision"]
    assert overall.loc["inpaint", "n_synth"] == 120 and overall.loc["inpaint", "n_real"] == 120


# ---------------------------------------------------------------- class identity of samples
def test_class_identity_scores_samples_that_show_their_class():
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    centres = {k: rng.normal(0, 4, D) for k in labels}

    def draw(n, shift=0.0):
        y = np.repeat(labels, n)
        return np.stack([centres[k] + rng.normal(0, 1, D) + shift for k in y]), y

    train = draw(30)
    good = draw(10)
    x, y = draw(10)
    bad = (x, np.roll(y, 10))  # every sample claims the wrong class
    per_class = class_identity.class_identity(train, {"good": good, "bad": bad}, labels + ["d"])
    acc = per_class.set_index(["group", "label"]).accuracy
    assert acc.loc["good"].loc[labels].min() > 0.9 and acc.loc["bad"].loc[labels].max() < 0.1
    assert np.isnan(acc.loc[("good", "d")])  # a label without images gets no accuracy
    summary = class_identity.class_identity_summary(per_class, chance=1 / 3).set_index("images")
    assert summary.loc["good", "classes above 2x chance"] == 3 and summary.loc["bad", "classes above 2x chance"] == 0
    assert summary.loc["good", "accuracy"] > 0.9


def test_class_identity_gate_scores_every_group_under_every_yardstick():
    rng = np.random.default_rng(1)
    labels = ["a", "b", "c"]
    centres = {k: rng.normal(0, 4, D) for k in labels}
    y = np.repeat(labels, 20)
    draw = lambda: np.stack([centres[k] + rng.normal(0, 1, D) for k in y])  # noqa: E731
    yardsticks = {"clean": (draw(), draw()), "shuffled": (draw(), draw()[rng.permutation(len(y))])}
    per_class, summary = class_identity.class_identity_gate(yardsticks, y, y, {"samples": (draw(), y)}, labels)
    assert set(per_class.classifier) == {"trained on clean", "trained on shuffled"}
    assert len(per_class) == 2 * 2 * 3  # yardsticks x (own test set + samples) x labels
    s = summary.set_index(["classifier", "images"]).accuracy
    assert s[("trained on clean", "test set (clean)")] > 0.9 and s[("trained on clean", "samples")] > 0.9
    assert s[("trained on shuffled", "test set (shuffled)")] < 0.7  # its test features no longer match their labels


def test_embed_arrays_checks_its_input():
    with pytest.raises(ValueError, match="uint8"):
        embeddings.embed_arrays(np.zeros((2, 8, 8, 3), np.float32))


def test_embed_arrays_cache_is_keyed_by_the_pixels(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path))
    images = np.random.default_rng(0).integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    fresh = embeddings.embed_arrays(images, cache=True)
    stored = list((tmp_path / "image_features").glob("features-*.npy"))
    assert len(stored) == 1 and np.allclose(np.load(stored[0]), fresh)
    np.save(stored[0], np.zeros_like(fresh))  # planted: a hit returns the stored features
    assert not embeddings.embed_arrays(images, cache=True).any()
    other = images.copy()
    other[0, 0, 0, 0] ^= 1  # one pixel differs: another key, computed afresh
    assert (
        embeddings.embed_arrays(other, cache=True).any() and len(list((tmp_path / "image_features").glob("*.npy"))) == 2
    )


def test_projection_cache_returns_the_stored_coordinates(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path))
    x = _cloud(40, 1)
    first = quality.project(x, "pca", seed=0, cache=True)
    stored = list((tmp_path / "projections").glob("pca-*.npy"))
    assert len(stored) == 1 and np.array_equal(np.load(stored[0]), first)
    np.save(stored[0], np.zeros_like(first))  # planted: a cache hit must return the stored array
    assert np.array_equal(quality.project(x, "pca", seed=0, cache=True), np.zeros_like(first))
    assert not np.array_equal(quality.project(x + 1e-3, "pca", seed=0, cache=True), np.zeros_like(first))
    with pytest.raises(ValueError, match="unknown projection"):
        quality.project(x, "tsne")


def test_quality_table_cache_returns_the_stored_table(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path))
    real, synth = _cloud(30, 1), _cloud(20, 2)
    real_meta = pd.DataFrame({"image_id": [f"r{i}" for i in range(30)], "label": ["a", "b"] * 15})
    synth_meta = pd.DataFrame(
        {
            "source_id": [f"r{i}" for i in range(20)],
            "label": ["a", "b"] * 10,
            "method": "inpaint",
            "variant": "pretrained",
        }
    )
    first = quality.quality_table(real, real_meta, synth, synth_meta, n_subsets=3, subset_size=10, cache=True)
    stored = list((tmp_path / "quality").glob("table-*.parquet"))
    assert len(stored) == 1
    pd.testing.assert_frame_equal(pd.read_parquet(stored[0]), first)
    first.assign(frechet=-1.0).to_parquet(stored[0], index=False)  # planted: a hit returns the stored table
    assert (
        quality.quality_table(real, real_meta, synth, synth_meta, n_subsets=3, subset_size=10, cache=True).frechet == -1
    ).all()
    relabelled = synth_meta.assign(label=["b", "a"] * 10)  # other metadata: a different key, recomputed
    again = quality.quality_table(real, real_meta, synth, relabelled, n_subsets=3, subset_size=10, cache=True)
    assert (again.frechet >= 0).all() and len(list((tmp_path / "quality").glob("*.parquet"))) == 2
    assert not list((tmp_path / "quality").glob(".*"))  # no temporary files left


def test_sample_rows_is_seeded_sorted_and_bounded():
    rows = quality.sample_rows(100, 10, seed=3)
    assert len(rows) == 10 and len(set(rows)) == 10 and (np.diff(rows) > 0).all() and rows.max() < 100
    assert np.array_equal(rows, quality.sample_rows(100, 10, seed=3))
    assert np.array_equal(quality.sample_rows(5, 10), np.arange(5)) and len(quality.sample_rows(5, None)) == 5


def test_gate_verdict_names_the_classes_at_or_below_twice_chance():
    per_class = pd.DataFrame(
        {
            "group": ["s"] * 4 + ["t"],
            "label": ["a", "b", "c", "d", "a"],
            "accuracy": [0.9, 0.2, 0.05, float("nan"), 0.1],
            "n": [10, 10, 10, 0, 10],
        }
    )
    assert class_identity.classes_below(per_class, "s", 0.2) == ["c", "b"]
    assert gate_verdict(per_class, "s", 0.1) == "2 classes are at or below twice chance (20.0%): c 5%, b 20%"
    assert gate_verdict(per_class, "s", 0.01) == "every class is above twice chance (2.0%)"


# ------------------------------------------------- Fig. 2C: tests of pair distances
def _fig2c_sets(shift: float, n_real: int = 200, n_synth: int = 150, seed: int = 30):
    """Real and synthetic embeddings (synthetic moved by ``shift``), ids and metadata with sources."""
    real, synth = _cloud(n_real, seed, shift=2.0), _cloud(n_synth, seed + 1, shift=2.0 + shift)
    ids = [f"r{i}" for i in range(n_real)]
    meta = pd.DataFrame({"method": "m", "source_id": [ids[i % n_real] for i in range(n_synth)]})
    return real, ids, synth, meta


def test_image_level_distance_test_does_not_depend_on_the_pair_count():
    real, ids, synth, meta = _fig2c_sets(shift=0.3)
    runs = {
        n: pair_distances.distance_comparisons(real, ids, synth, meta, n_pairs=n, matched_methods=("m",), n_boot=500)[1]
        for n in (500, 50_000)
    }
    few, many = (runs[n].set_index("group") for n in (500, 50_000))
    rs, own = "real-synthetic (m, random pairs)", "synthetic vs own source (m)"
    # the image-level test uses all pairs of the images and resamples images: the same whatever n_pairs
    for col in ("all_pairs_mean", "image_diff", "image_diff_low", "image_diff_high", "image_p", "image_p_bh"):
        np.testing.assert_allclose(
            few[col].to_numpy(dtype=float), many[col].to_numpy(dtype=float), rtol=1e-12, equal_nan=True
        )
    # the paper's t-test on the drawn pairs: 100 times more pairs of the same images, a far smaller p
    assert many.loc[rs, "paper_p"] < 1e-6 * few.loc[rs, "paper_p"]
    assert many.loc[rs, "paper_p"] < 1e-6 * many.loc[rs, "image_p"]
    # all-pairs means by brute force
    r, s = pair_distances.l2_normalise(real), pair_distances.l2_normalise(synth)
    off_diagonal = ~np.eye(len(r), dtype=bool)
    assert many.loc["real-real (random pairs)", "all_pairs_mean"] == pytest.approx(
        (1 - r @ r.T)[off_diagonal].mean(), rel=1e-10
    )
    assert many.loc[rs, "all_pairs_mean"] == pytest.approx((1 - r @ s.T).mean(), rel=1e-10)
    # every matched pair is used
    assert many.loc[own, "all_pairs_mean"] == pytest.approx(many.loc[own, "mean"], rel=1e-12)
    assert many.loc[rs, "image_diff_low"] < many.loc[rs, "image_diff"] < many.loc[rs, "image_diff_high"]


def test_image_level_distance_test_holds_its_level_where_the_t_test_does_not():
    """No difference between real and synthetic images: the t-test on 2,000 pairs of 60 x 40 images
    rejects far more often than 5%, the image-level test does not."""
    image, paper = [], []
    for k in range(60):
        real, ids, synth, meta = _fig2c_sets(shift=0.0, n_real=60, n_synth=40, seed=100 + 2 * k)
        tests = pair_distances.distance_comparisons(
            real, ids, synth, meta, n_pairs=2000, seed=k, matched_methods=(), n_boot=300
        )[1]
        image.append(tests.image_p.iloc[1] < 0.05)
        paper.append(tests.paper_p.iloc[1] < 0.05)
    assert np.mean(image) <= 0.1 and np.mean(paper) >= 0.2


def test_class_level_correlation_separates_shared_class_effects_from_cells():
    from synthaug_utils.analysis import embedding_report

    rng = np.random.default_rng(40)
    labels, methods = np.repeat([f"c{i}" for i in range(9)], 3), np.tile(["a", "b", "c"], 9)
    level = np.repeat(rng.normal(size=9), 3)  # a class effect that both columns share
    shared = pd.DataFrame(
        {
            "label": labels,
            "method": methods,
            "kernel": level + 0.1 * rng.normal(size=27),
            "gain": -level + 0.1 * rng.normal(size=27),
        }
    )
    out = embedding_report.class_level_correlation(shared, "kernel", "gain", n_perm=2000)
    # 27 cells counted as independent overstate it; 9 classes, one point each; within classes: nothing
    assert out["rho"] < -0.7 and out["p"] < 1e-6 and out["classes"] == 9
    assert out["class_rho"] < -0.7 and out["class_p"] > 100 * out["p"] and out["within_p"] > 0.05
    assert embedding_report.class_level_correlation(shared, "kernel", "gain", n_perm=2000) == out  # seeded
    # within each class the set with the larger kernel distance has the smaller gain, and nothing else
    within = shared.assign(gain=-(shared.kernel - shared.groupby("label").kernel.transform("mean")))
    out = embedding_report.class_level_correlation(within, "kernel", "gain", n_perm=2000)
    assert out["within_p"] < 0.01 and out["p"] > 0.05
