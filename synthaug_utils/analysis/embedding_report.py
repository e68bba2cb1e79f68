"""Chapter 07's steps (embeddings), one function per step, each returning values ready to plot or
glue: the embedded real and synthetic images, the images shown beside the projections, the
pairwise-distance highlights and the quality-versus-gain correlation.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from synthaug_utils.analysis.embeddings import embed_images
from synthaug_utils.analysis.highlights import pvalue
from synthaug_utils.analysis.tables import figS1_table
from synthaug_utils.core.config import Profile
from synthaug_utils.data.checks import load_image_array
from synthaug_utils.experiments.chapters import grid_results, synthetic_sets_of_grid

THUMBNAIL_PX = 48


def embedding_inputs(P: Profile, grid: str = "fig3") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray, dict[str, str]]:
    """The real training pool and the synthetic images ``grid`` trains on, embedded with the profile's
    model (cached per image); returns (real, synthetic, everything, embeddings, ``e_*`` glue incl. timing)."""
    real, synthetic = synthetic_sets_of_grid(grid, P)
    everything = pd.concat([real.assign(kind="real", method="real"), synthetic.assign(kind="synthetic")], ignore_index=True)
    start = time.perf_counter()
    embeddings = embed_images(everything, P.embedding_model, P, progress=False)  # computes only what the cache lacks
    embed_s = time.perf_counter() - start
    facts = {
        "e_model": P.embedding_model, "e_dim": str(embeddings.shape[1]), "e_real": str(len(real)), "e_syn": str(len(synthetic)),
        "e_seconds": f"{embed_s:.1f}", "e_ips": f"{len(everything) / max(embed_s, 1e-9):.0f}",
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
        pair = dict(zip([synth_row, source_row], load_image_array(everything.iloc[[synth_row, source_row]], THUMBNAIL_PX)))
    return thumbs, pair


def distance_highlights(tests: pd.DataFrame, n_pairs: int) -> dict[str, str]:
    """Fig. 2C's numbers: mean cosine distance of random real-real pairs, of random real-synthetic pairs
    (in-then-outpaint) and of in-then-outpaint images against their own sources, with BH-adjusted p."""
    rr = tests.iloc[0]
    ito_random = tests[tests.group.str.startswith("real-synthetic (in-then-outpaint")]
    matched = tests[tests.group.str.startswith("synthetic vs own source")]
    return {
        "e_rr": f"{rr['mean']:.3f}",
        "e_rs": f"{ito_random['mean'].iloc[0]:.3f}" if len(ito_random) else "n/a",
        "e_rs_p": pvalue(ito_random["p_bh"].iloc[0]) if len(ito_random) else "n/a",
        "e_matched": f"{matched['mean'].iloc[0]:.3f}" if len(matched) else "n/a",
        "e_matched_p": pvalue(matched["p_bh"].iloc[0]) if len(matched) else "n/a",
        "e_pairs": str(n_pairs),
    }


def quality_vs_gain(qtable: pd.DataFrame, P: Profile, store=None, executor=None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per (class, method): the synthetic set's quality scores beside the accuracy gain that method brought
    to that class in Fig. S-1 (the fig3 grid, run or read from the store); the Spearman correlation of
    kernel distance and gain. Returns (joined table, ``e_rho``, ``e_rho_p``, ``e_cells`` glue)."""
    gains = figS1_table(*grid_results("fig3", P, store, executor)).rename(columns={"true": "label"})
    joined = qtable[qtable.label != "all"].merge(gains[["label", "method", "gain"]], on=["label", "method"])
    rho = spearmanr(joined["kernel"], joined["gain"])
    return joined, {"e_rho": f"{rho.statistic:.2f}", "e_rho_p": pvalue(rho.pvalue), "e_cells": str(len(joined))}


def contamination_report(P: Profile, real: pd.DataFrame, emb_real: np.ndarray, synthetic: pd.DataFrame,
                         emb_syn: np.ndarray, top: int = 10, split_seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Contamination and memorisation check: each synthetic image's nearest real image among the
    training pool, the validation images and the test images (:func:`~synthaug_utils.analysis.quality.contamination`;
    validation and test embedded here, cached per image). Returns (summary, closest pairs, ``e_cont_*`` glue)."""
    from synthaug_utils.analysis.quality import contamination
    from synthaug_utils.data.splits import load_splits

    splits = load_splits(P, "main", split_seed)
    pools = {"training pool": (emb_real, real.image_id.tolist())}
    for name, table in (("validation", splits.val), ("test", splits.test)):
        pools[name] = (embed_images(table, P.embedding_model, P, progress=False), table.image_id.tolist())
    summary, closest, threshold = contamination(emb_syn, synthetic, pools, top=top)
    by_pool = summary.groupby("pool")[["synthetic", "nearest_in_pool", "near_copies"]].sum()
    sizes = {name: len(ids) for name, (_, ids) in pools.items()}
    facts = {"e_cont_threshold": f"{threshold:.4f}", "e_cont_syn": str(int(by_pool.loc["test", "synthetic"]))}
    for name, tag in (("training pool", "train"), ("validation", "val"), ("test", "test")):
        facts[f"e_cont_{tag}_n"] = str(sizes[name])
        facts[f"e_cont_{tag}_copies"] = str(int(by_pool.loc[name, "near_copies"]))
        facts[f"e_cont_{tag}_nearest"] = f"{by_pool.loc[name, 'nearest_in_pool'] / by_pool.loc[name, 'synthetic']:.1%}"
        facts[f"e_cont_{tag}_min"] = f"{closest[closest.pool == name].distance.min():.4f}"
    facts["e_cont_share_expected"] = f"{(sizes['validation'] + sizes['test']) / sum(sizes.values()):.1%}"
    return summary, closest, facts
