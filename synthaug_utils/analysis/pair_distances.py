"""Cosine distances between pairs of images, and the paper's Fig. 2C tests on them.

Every function takes embedding arrays shaped ``(N, D)`` (rows = images, float), L2-normalised where
it says so (:func:`l2_normalise`): random real-real pairs (:func:`random_pair_distances`), random
real-synthetic pairs (:func:`random_cross_distances`) and each synthetic image against its own
source (:func:`matched_distances`), as in Figure 2C of the paper; :func:`distance_comparisons`
tests them against real-real with the paper's t-test on the drawn pairs and with an image-level
bootstrap over all pairs (:func:`image_bootstrap`). The set-level metrics built on them are in
:mod:`synthaug_utils.analysis.quality`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "as_2d",
    "same_dim",
    "l2_normalise",
    "cosine_distance",
    "random_pair_distances",
    "random_cross_distances",
    "source_rows",
    "matched_distances",
    "distance_comparisons",
    "image_bootstrap",
]


def as_2d(x, name: str, min_rows: int = 1) -> np.ndarray:
    """Float64 copy-free view of an (N, D) array, checked."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be shaped (N, D); got {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows; got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def same_dim(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding dimensions differ: {a.shape[1]} vs {b.shape[1]}")


# -------------------------------------------------------------- cosine
def l2_normalise(x) -> np.ndarray:
    """Rows scaled to unit Euclidean norm, shape kept (N, D); zero rows raise ValueError."""
    arr = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("cannot L2-normalise a zero embedding")
    return arr / norms


def cosine_distance(a, b) -> np.ndarray:
    """Row-wise cosine distance ``1 - <a_i, b_i>`` after L2 normalisation; (N, D), (N, D) -> (N,) in [0, 2]."""
    x, y = l2_normalise(a), l2_normalise(b)
    if x.shape != y.shape:
        raise ValueError(f"cosine_distance needs equal shapes; got {x.shape} and {y.shape}")
    return 1.0 - np.sum(x * y, axis=-1)


def random_pair_distances(x, n_pairs: int, seed: int = 0) -> np.ndarray:
    """Cosine distances of ``n_pairs`` random pairs of distinct rows of one set (e.g. real-real).

    Pairs (i, j), i != j, drawn uniformly with replacement across pairs by
    ``numpy.random.default_rng(seed)``. Returns (n_pairs,).
    """
    arr = as_2d(x, "x", 2)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, arr.shape[0], n_pairs)
    j = (i + rng.integers(1, arr.shape[0], n_pairs)) % arr.shape[0]  # uniform over j != i
    return cosine_distance(arr[i], arr[j])


def random_cross_distances(x, y, n_pairs: int, seed: int = 0) -> np.ndarray:
    """Cosine distances of ``n_pairs`` random (row of x, row of y) pairs (e.g. real-synthetic), seeded. (n_pairs,)."""
    a, b = as_2d(x, "x"), as_2d(y, "y")
    same_dim(a, b)
    rng = np.random.default_rng(seed)
    return cosine_distance(a[rng.integers(0, a.shape[0], n_pairs)], b[rng.integers(0, b.shape[0], n_pairs)])


def source_rows(synth_source_ids: Sequence[str], real_ids: Sequence[str]) -> np.ndarray:
    """Row index in real_ids of each synthetic image's source (-1 when the source is absent)."""
    lookup = {}
    for row, rid in enumerate(real_ids):
        if rid in lookup:
            raise ValueError(f"real_ids must be unique; {rid!r} repeats")
        lookup[rid] = row
    return np.array([lookup.get(sid, -1) for sid in synth_source_ids], dtype=int)


def matched_distances(synth, synth_source_ids: Sequence[str], real, real_ids: Sequence[str]) -> np.ndarray:
    """Cosine distance of each synthetic image to its own source image, shape (N_s,).

    NaN where the source id is not among ``real_ids``.
    """
    s, r = as_2d(synth, "synth"), as_2d(real, "real")
    same_dim(s, r)
    if len(synth_source_ids) != s.shape[0]:
        raise ValueError(f"{len(synth_source_ids)} source ids for {s.shape[0]} synthetic embeddings")
    rows = source_rows(synth_source_ids, real_ids)
    out = np.full(s.shape[0], np.nan)
    ok = rows >= 0
    out[ok] = cosine_distance(s[ok], r[rows[ok]])
    return out


# ----------------------------------------------------------------------------- the paper's Fig. 2 analyses
def distance_comparisons(
    real_emb,
    real_ids: Sequence[str],
    synth_emb,
    synth_meta,
    n_pairs: int = 2000,
    seed: int = 0,
    matched_methods: Sequence[str] = ("in-then-outpaint",),
    n_boot: int = 2000,
):
    """Cosine distances (1 - dot, L2-normalised embeddings) for the paper's Fig. 2C, with two tests.

    Groups: random real-real pairs; random real-synthetic pairs per method; each synthetic
    image of ``matched_methods`` against its own source image. Every other group is compared
    with real-real twice, each test BH adjusted over the groups:

    * the paper's two-sample t-test on the drawn pairs' distances (``paper_p``, ``paper_p_bh``). It
      counts every pair as an independent observation, but the pairs reuse the same images, so its
      p-value falls as ``n_pairs`` grows whatever the images show;
    * an image-level test (:func:`image_bootstrap`) of the difference in mean distance over all
      pairs of the images (``all_pairs_mean``; ``image_diff`` with its 95% interval
      ``image_diff_low``, ``image_diff_high``, bootstrap SE ``image_diff_se``; ``image_p``,
      ``image_p_bh``): images are resampled, not pairs, and no pairs are drawn, so it does not
      depend on ``n_pairs``.

    Returns (long, tests): ``long`` has columns group, distance (one row per drawn pair);
    ``tests`` has group, n (drawn pairs), mean, sd (of the drawn pairs), the image-level columns
    above, paper_p and paper_p_bh.
    """
    import pandas as pd

    from synthaug_utils.analysis.stats import benjamini_hochberg, two_sample_ttest

    real = l2_normalise(as_2d(real_emb, "real_emb"))
    synth = l2_normalise(as_2d(synth_emb, "synth_emb"))
    synth_meta = synth_meta.reset_index(drop=True)
    reference = "real-real (random pairs)"
    groups = {reference: random_pair_distances(real, n_pairs, seed)}
    cross, matched = {}, {}
    for method, sub in synth_meta.groupby("method", sort=True):
        name = f"real-synthetic ({method}, random pairs)"
        cross[name] = synth[sub.index.to_numpy()]
        groups[name] = random_cross_distances(real, cross[name], n_pairs, seed)
    for method in matched_methods:
        sub = synth_meta[synth_meta.method == method]
        sub = sub[sub.source_id.isin(set(real_ids))]
        if len(sub):
            name = f"synthetic vs own source ({method})"
            groups[name] = matched_distances(synth[sub.index.to_numpy()], sub.source_id.tolist(), real, list(real_ids))
            matched[name] = (groups[name], source_rows(sub.source_id.tolist(), list(real_ids)))
    boot = image_bootstrap(real, cross, matched, reference, n_boot=n_boot, seed=seed)
    rows = []
    for name, values in groups.items():
        row = {
            "group": name,
            "n": len(values),
            "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)),
            **boot[name],
        }
        row["paper_p"] = np.nan if name == reference else two_sample_ttest(values, groups[reference]).p_value
        rows.append(row)
    tests = pd.DataFrame(rows)
    for col in ("image_p", "paper_p"):
        tests.insert(tests.columns.get_loc(col) + 1, f"{col}_bh", benjamini_hochberg(tests[col].to_numpy(dtype=float)))
    long = pd.concat([pd.DataFrame({"group": k, "distance": v}) for k, v in groups.items()], ignore_index=True)
    return long, tests


def _bootstrap_counts(rng: np.random.Generator, n: int, replicates: int) -> np.ndarray:
    """(replicates, n) float: how often each of n images is drawn in n draws with replacement, per replicate."""
    draws = rng.integers(0, n, size=(replicates, n)) + n * np.arange(replicates)[:, None]
    return np.bincount(draws.ravel(), minlength=replicates * n).reshape(replicates, n).astype(np.float64)


def image_bootstrap(
    real, cross: dict, matched: dict, reference: str = "real-real", n_boot: int = 2000, seed: int = 0, chunk: int = 250
) -> dict[str, dict[str, float]]:
    """Image-level test of mean cosine distances against that of real-real pairs (rows L2-normalised).

    Each statistic is a mean over all pairs of the images, never over drawn pairs: ``reference``:
    all pairs of distinct real images; ``cross`` (name -> synthetic embeddings (M, D)): all
    (real, synthetic) pairs; ``matched`` (name -> (distances (M,), source rows (M,))): each
    synthetic image against its own source. For unit rows these need only the (weighted) mean
    embeddings, so every pair costs nothing. The bootstrap resamples images with replacement: the
    real images once per replicate for every group (groups that share them stay correlated), each
    synthetic set on its own, and a matched synthetic image with its source (resampling a source
    takes all of its synthetic images). Returns name -> ``all_pairs_mean`` and, for every
    non-reference group, ``image_diff`` (its all-pairs mean minus the reference's),
    ``image_diff_low``, ``image_diff_high`` (2.5 and 97.5 percentiles of the replicates),
    ``image_diff_se`` (their SD) and ``image_p`` (two-sided, normal on
    ``image_diff / image_diff_se``); NaN for the reference. On data without a difference it
    rejects at most as often as its level (tests/test_quality.py), the t-test on drawn pairs more.
    """
    from scipy.stats import norm

    real = as_2d(real, "real", 2)

    def real_real(w, s):  # mean distance of the pairs of distinct real images, weighted by w_i * w_j
        total, self_pairs = w.sum(axis=1), (w * w).sum(axis=1)
        return 1.0 - (np.einsum("bd,bd->b", s, s) - self_pairs) / (total * total - self_pairs)

    def real_cross(w, s, v, y):  # mean distance of all (real, synthetic) pairs, weighted by w_i * v_j
        return 1.0 - np.einsum("bd,bd->b", s, v @ y) / (w.sum(axis=1) * v.sum(axis=1))

    def statistics(w, vs):  # (replicates,) per group, from real weights w and synthetic weights vs
        s = w @ real
        out = {reference: real_real(w, s)}
        out.update({name: real_cross(w, s, vs[name], y) for name, y in cross.items()})
        for name, (distances, source) in matched.items():
            weights = w[:, source]
            out[name] = (weights @ distances) / weights.sum(axis=1)
        return out

    observed = {
        k: float(v[0])
        for k, v in statistics(np.ones((1, real.shape[0])), {k: np.ones((1, len(y))) for k, y in cross.items()}).items()
    }
    rng = np.random.default_rng(seed)
    replicates = {name: [] for name in observed}
    for start in range(0, n_boot, chunk):
        reps = min(chunk, n_boot - start)
        w = _bootstrap_counts(rng, real.shape[0], reps)
        for name, values in statistics(w, {k: _bootstrap_counts(rng, len(y), reps) for k, y in cross.items()}).items():
            replicates[name].append(values)
    ref_boot = np.concatenate(replicates[reference])
    untested = dict.fromkeys(("image_diff", "image_diff_low", "image_diff_high", "image_diff_se", "image_p"), np.nan)
    out = {reference: {"all_pairs_mean": observed[reference], **untested}}
    for name in observed:
        if name == reference:
            continue
        diff = observed[name] - observed[reference]
        reps = np.concatenate(replicates[name]) - ref_boot
        reps = reps[np.isfinite(reps)]
        se = float(np.std(reps, ddof=1)) if reps.size > 1 else np.nan
        low, high = np.percentile(reps, [2.5, 97.5]) if reps.size else (np.nan, np.nan)
        p = float(2 * norm.sf(abs(diff) / se)) if np.isfinite(se) and se > 0 else np.nan
        out[name] = {
            "all_pairs_mean": observed[name],
            "image_diff": diff,
            "image_diff_low": float(low),
            "image_diff_high": float(high),
            "image_diff_se": se,
            "image_p": p,
        }
    return out
