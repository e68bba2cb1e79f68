"""Chapter 07's steps (embeddings), one function per step, each returning values ready to plot or
glue: the embedded real and synthetic images, the images shown beside the projections, the
pairwise-distance highlights and the quality-versus-gain correlation.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.analysis.embeddings import embed_images
from synthaug_utils.analysis.highlights import pvalue
from synthaug_utils.analysis.tables import figS1_table
from synthaug_utils.core.config import Profile
from synthaug_utils.data.checks import load_image_array

THUMBNAIL_PX = 48
# headers of Fig. 2C's test table (pair_distances.distance_comparisons): which test each p-value comes from
DISTANCE_COLUMNS = {
    "n": ("pairs", ""),
    "mean": ("mean (drawn pairs)", "float"),
    "sd": ("SD (drawn pairs)", "float"),
    "all_pairs_mean": ("mean (all pairs)", "float"),
    "image_diff": ("difference to real-real (all pairs)", "float"),
    "image_diff_low": ("95% CI low", "float"),
    "image_diff_high": ("95% CI high", "float"),
    "image_diff_se": ("bootstrap SE", "float"),
    "image_p": ("p, image-level", "p"),
    "image_p_bh": ("image-level p (BH)", "p"),
    "paper_p": ("p, paper's t-test", "p"),
    "paper_p_bh": ("paper's t-test p (BH)", "p"),
}


def embedding_inputs(
    P: Profile, real: pd.DataFrame, synthetic: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray, dict[str, Any]]:
    """The real training pool and the synthetic images a grid trains on
    (:func:`~synthaug_utils.experiments.chapters.synthetic_sets_of_grid`), embedded with the profile's
    model (cached per image); returns (real, synthetic, everything, embeddings, ``e_*`` glue incl. timing)."""
    everything = pd.concat(
        [real.assign(kind="real", method="real"), synthetic.assign(kind="synthetic")], ignore_index=True
    )
    start = time.perf_counter()
    embeddings = embed_images(everything, P.embedding_model, P, progress=False)  # computes only what the cache lacks
    embed_s = time.perf_counter() - start
    facts = {
        "e_model": P.embedding_model,
        "e_dim": int(embeddings.shape[1]),
        "e_real": len(real),
        "e_syn": len(synthetic),
        "e_seconds": embed_s,
        "e_ips": len(everything) / max(embed_s, 1e-9),
    }
    return real, synthetic, everything, embeddings, facts


def projection_images(everything: pd.DataFrame, show: bool, n_thumbnails: int, seed: int = 0) -> tuple[dict, dict]:
    """Images drawn beside the PCA plots (none unless ``show``): ``n_thumbnails`` random rows, and one
    in-then-outpaint image with its source; each a {row: uint8 thumbnail} dict, from one seeded generator."""
    rng = np.random.default_rng(seed)
    thumbs, pair = {}, {}
    if show:
        picks = rng.choice(len(everything), size=min(n_thumbnails, len(everything)), replace=False)
        thumbs = dict(zip(picks.tolist(), load_image_array(everything.iloc[picks], THUMBNAIL_PX)))
    ito = everything.index[everything.method == "in-then-outpaint"]
    if show and len(ito):
        synth_row = int(rng.choice(ito))
        source_row = int(everything.index[everything.image_id == everything.source_id[synth_row]][0])
        pair = dict(
            zip([synth_row, source_row], load_image_array(everything.iloc[[synth_row, source_row]], THUMBNAIL_PX))
        )
    return thumbs, pair


def distance_highlights(tests: pd.DataFrame, n_pairs: int) -> dict[str, Any]:
    """Fig. 2C's numbers: mean cosine distance of random real-real pairs, of random real-synthetic pairs
    (in-then-outpaint) and of in-then-outpaint images against their own sources, each tested against
    real-real twice (:func:`~synthaug_utils.analysis.pair_distances.distance_comparisons`): the paper's
    t-test on the drawn pairs (``e_rs_p``, ``e_matched_p``) and the image-level test (``*_image_p``,
    with the all-pairs difference ``*_diff`` and its 95% interval ``*_diff_ci``); p BH adjusted.
    Means and differences are raw numbers (NaN where the profile has no in-then-outpaint images)."""
    rr = tests.iloc[0]
    ito_random = tests[tests.group.str.startswith("real-synthetic (in-then-outpaint")]
    matched = tests[tests.group.str.startswith("synthetic vs own source")]
    out = {"e_rr": float(rr["mean"]), "e_pairs": int(n_pairs)}
    for tag, rows in (("e_rs", ito_random), ("e_matched", matched)):
        row = rows.iloc[0] if len(rows) else None
        out[tag] = float("nan") if row is None else float(row["mean"])
        out[f"{tag}_p"] = "n/a" if row is None else pvalue(row["paper_p_bh"])
        out[f"{tag}_image_p"] = "n/a" if row is None else pvalue(row["image_p_bh"])
        out[f"{tag}_diff"] = float("nan") if row is None else float(row["image_diff"])
        out[f"{tag}_diff_ci"] = (
            "n/a" if row is None else f"{row['image_diff_low']:+.3f} to {row['image_diff_high']:+.3f}"
        )
    return out


def quality_vs_gain(
    qtable: pd.DataFrame, fig3: tuple[pd.DataFrame, pd.DataFrame], n_perm: int = 10000
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per (class, method): the synthetic set's quality scores beside the accuracy gain that method brought
    to that class in Fig. S-1 (``fig3``: the fig3 grid's trials and predictions); the Spearman correlation of
    kernel distance and gain over the cells (``e_rho``; ``e_rho_p`` counts the cells as independent,
    though the cells of a class share its images and baseline), and two class-level tests
    (:func:`class_level_correlation`): the correlation of per-class means (``e_rho_class``,
    ``e_rho_class_p``, ``e_classes``) and ``e_rho`` tested by permuting the gains among the methods
    of each class (``e_rho_within_p``, ``e_perm`` permutations).
    Returns (joined table, glue)."""
    gains = figS1_table(*fig3).rename(columns={"true": "label"})
    joined = qtable[qtable.label != "all"].merge(gains[["label", "method", "gain"]], on=["label", "method"])
    test = class_level_correlation(joined, "kernel", "gain", by="label", n_perm=n_perm, seed=0)
    return joined, {
        "e_rho": float(test["rho"]),
        "e_rho_p": pvalue(test["p"]),
        "e_cells": len(joined),
        "e_rho_class": float(test["class_rho"]),
        "e_rho_class_p": pvalue(test["class_p"]),
        "e_classes": int(test["classes"]),
        "e_rho_within_p": pvalue(test["within_p"]),
        "e_perm": int(n_perm),
    }


def class_level_correlation(
    cells, x: str, y: str, by: str = "label", n_perm: int = 10000, seed: int = 0
) -> dict[str, float]:
    """Spearman correlation of columns ``x`` and ``y`` over cells that share classes (``by``), tested
    at the class level.

    Cells of one class share its real images and its baseline accuracy, so they are not independent
    observations, and a p-value that counts every cell as one overstates the evidence. Returns

    * ``rho``, ``p``: over all cells, ``p`` as if they were independent (scipy; descriptive);
    * ``class_rho``, ``class_p``, ``classes``: the Spearman correlation of the per-class means of ``x``
      and ``y``, one point per class;
    * ``within_p``: ``rho`` tested by permuting ``y`` among the cells of each class (``n_perm``
      seeded permutations, two-sided, (count + 1) / (n_perm + 1)). Each class keeps its own values,
      so this asks whether, within a class, the cell with the larger ``x`` has the larger ``y``
      beyond chance.
    """
    from scipy.stats import rankdata, spearmanr

    cells = cells.dropna(subset=[x, y]).sort_values(by, kind="stable")
    rho = spearmanr(cells[x], cells[y]) if len(cells) > 2 else None
    means = cells.groupby(by)[[x, y]].mean()
    by_class = spearmanr(means[x], means[y]) if len(means) > 2 else None
    out = {
        "rho": float(rho.statistic) if rho else np.nan,
        "p": float(rho.pvalue) if rho else np.nan,
        "class_rho": float(by_class.statistic) if by_class else np.nan,
        "class_p": float(by_class.pvalue) if by_class else np.nan,
        "classes": len(means),
        "within_p": np.nan,
    }
    if rho is None or not np.isfinite(out["rho"]):
        return out
    rx, ry = rankdata(cells[x]), rankdata(cells[y])
    rx, ry = rx - rx.mean(), ry - ry.mean()
    codes = cells.groupby(by, sort=True).ngroup().to_numpy()  # cells are sorted by class: one block per class
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_perm, len(cells))) + codes, axis=1)  # a permutation inside each block
    null = (ry[perms] @ rx) / np.sqrt((rx @ rx) * (ry @ ry))
    out["within_p"] = float((np.sum(np.abs(null) >= abs(out["rho"]) - 1e-12) + 1) / (n_perm + 1))
    return out


def contamination_report(
    P: Profile,
    real: pd.DataFrame,
    emb_real: np.ndarray,
    synthetic: pd.DataFrame,
    emb_syn: np.ndarray,
    top: int = 10,
    split_seed: int = 0,
    draws: int = 20,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Contamination and memorisation check: each synthetic image's nearest real image among the
    training pool, the validation images and the test images (:func:`~synthaug_utils.analysis.quality.contamination`;
    validation and test embedded here, cached per image), and the near-copy shares compared like with
    like (:func:`near_copy_baseline`, ``draws`` size-matched training subsets). Returns (summary,
    closest pairs, ``e_cont_*`` glue, like-with-like table)."""
    from synthaug_utils.analysis.quality import contamination
    from synthaug_utils.data.splits import load_splits

    splits = load_splits(P, "main", split_seed)
    pools = {"training pool": (emb_real, real.image_id.tolist())}
    for name, table in (("validation", splits.val), ("test", splits.test)):
        pools[name] = (embed_images(table, P.embedding_model, P, progress=False), table.image_id.tolist())
    summary, closest, threshold = contamination(emb_syn, synthetic, pools, top=top)
    by_pool = summary.groupby("pool")[["synthetic", "nearest_in_pool", "near_copies"]].sum()
    sizes = {name: len(ids) for name, (_, ids) in pools.items()}
    facts = {"e_cont_threshold": float(threshold), "e_cont_syn": int(by_pool.loc["test", "synthetic"])}
    for name, tag in (("training pool", "train"), ("validation", "val"), ("test", "test")):
        facts[f"e_cont_{tag}_n"] = int(sizes[name])
        facts[f"e_cont_{tag}_copies"] = int(by_pool.loc[name, "near_copies"])
        facts[f"e_cont_{tag}_nearest"] = float(by_pool.loc[name, "nearest_in_pool"] / by_pool.loc[name, "synthetic"])
        facts[f"e_cont_{tag}_min"] = float(closest[closest.pool == name].distance.min())
    facts["e_cont_share_expected"] = (sizes["validation"] + sizes["test"]) / sum(sizes.values())
    in_train = summary[summary.pool == "training pool"].groupby("method")[["synthetic", "nearest_in_pool"]].sum()
    facts["e_cont_train_nearest_by_method"] = ", ".join(
        f"{method} {row.nearest_in_pool / row.synthetic:.1%}" for method, row in in_train.iterrows()
    )
    like = near_copy_baseline(emb_syn, synthetic, pools, threshold, draws=draws)
    facts.update(near_copy_facts(like))
    return summary, closest, facts, like


HELD_OUT_REAL = "held-out real"


def _nearest_distance(queries: np.ndarray, pool: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Cosine distance of each (L2-normalised) query row to its nearest row of ``pool``."""
    return (
        np.concatenate([(1.0 - queries[i : i + chunk] @ pool.T).min(axis=1) for i in range(0, len(queries), chunk)])
        if len(queries)
        else np.empty(0)
    )


def near_copy_baseline(
    emb_syn,
    synthetic: pd.DataFrame,
    pools: dict,
    threshold: float,
    reference: str = "training pool",
    draws: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Near-copy shares compared like with like.

    A near copy is a nearest-neighbour distance below ``threshold``, and nearest-neighbour distances
    grow as the pool shrinks: a count against a pool of 360 images cannot be read against a threshold
    set in a pool of thousands, nor against the count in that larger pool. So for every pool the same
    statistic is computed for real images outside it (``held-out real``: the other pools' images, none of
    which the pool holds), and the ``reference`` pool is also scored at the size of the smallest other
    pool (``"{reference} (random N)"``: ``draws`` seeded random subsets of N images, counts averaged).

    Args:
        emb_syn: (N_s, D) synthetic embeddings, row-aligned with ``synthetic`` (column ``method``).
        pools: pool name -> (embeddings (N, D), ids), as for :func:`~synthaug_utils.analysis.quality.contamination`.
        threshold: the near-copy cosine distance.

    Returns one row per (pool, query group): ``pool``, ``pool_images``, ``query`` (``held-out real``,
    ``all synthetic`` or a method), ``images`` (queries), ``near_copies`` (mean over draws for the
    size-matched pool) and ``share``.
    """
    from synthaug_utils.analysis.pair_distances import l2_normalise

    s = l2_normalise(emb_syn)
    normed = {name: l2_normalise(emb) for name, (emb, _) in pools.items()}
    methods = synthetic["method"].to_numpy()
    groups = [("all synthetic", np.ones(len(s), dtype=bool))] + [(m, methods == m) for m in sorted(set(methods))]

    def held_out(name: str) -> np.ndarray:
        return np.concatenate([emb for other, emb in normed.items() if other != name and other != reference])

    def score(pool_name: str, pool: np.ndarray, real_queries: np.ndarray) -> list[dict]:
        rows = [
            {
                "query": HELD_OUT_REAL,
                "images": len(real_queries),
                "near": _nearest_distance(real_queries, pool) < threshold,
            }
        ]
        near = _nearest_distance(s, pool) < threshold
        rows += [{"query": group, "images": int(mask.sum()), "near": near[mask]} for group, mask in groups]
        return [{"pool": pool_name, "pool_images": len(pool), **r} for r in rows]

    rows = []
    for name, pool in normed.items():
        rows += score(name, pool, held_out(name))
    others = [len(emb) for name, emb in normed.items() if name != reference]
    size = min(others) if others else 0
    ref = normed[reference]
    if others and size < len(ref):
        rng = np.random.default_rng(seed)
        drawn = [
            score(f"{reference} (random {size})", ref[rng.choice(len(ref), size, replace=False)], held_out(reference))
            for _ in range(max(1, draws))
        ]
        for parts in zip(*drawn):  # one row per query group, its near-copy flags stacked over the draws
            rows.append({**parts[0], "near": np.concatenate([p["near"] for p in parts]), "draws": len(parts)})
    out = pd.DataFrame(rows)
    draws_of = out["draws"].fillna(1) if "draws" in out else 1
    out["near_copies"] = out["near"].map(np.sum) / draws_of
    out["share"] = out["near"].map(lambda flags: float(np.mean(flags)) if len(flags) else np.nan)
    return out[["pool", "pool_images", "query", "images", "near_copies", "share"]]


def near_copy_facts(like: pd.DataFrame) -> dict[str, Any]:
    """Glue of :func:`near_copy_baseline`: per pool (tags ``train``, ``trainm`` = the size-matched
    training subsets, ``val``, ``test``) the near-copy share of all synthetic images
    (``e_cont_{tag}_syn_share``) and of held-out real images (``e_cont_{tag}_real_share``), and
    ``e_cont_trainm_n`` (the subsets' size); shares are proportions, formatted by the page."""
    facts = {}
    for pool, rows in like.groupby("pool", sort=False):
        tag = {"training pool": "train", "validation": "val", "test": "test"}.get(pool, "trainm")
        by = rows.set_index("query")
        facts[f"e_cont_{tag}_syn_share"] = float(by.loc["all synthetic", "share"])
        facts[f"e_cont_{tag}_real_share"] = float(by.loc[HELD_OUT_REAL, "share"])
        if tag == "trainm":
            facts["e_cont_trainm_n"] = int(rows.pool_images.iloc[0])
    return facts
