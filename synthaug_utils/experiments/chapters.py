"""Running a chapter's grids and returning its results (the notebooks' one call per step)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import DataError
from synthaug_utils.core.vocabulary import METHODS, NONE, VARIANTS, figure_note
from synthaug_utils.data.splits import load_splits
from synthaug_utils.diffusion.settings import generation_settings
from synthaug_utils.experiments.grids import (
    build_grid,
    faithful_twins,
    grid_settings,
    prepare_synthetic_sets,
    run_grid,
    seed_scope,
)
from synthaug_utils.experiments.store import ResultsStore, default_store
from synthaug_utils.experiments.trial import training_table


def grid_results(grid: str, profile: Profile, store=None, executor=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or load from the store) a named grid; return (trial frame, per-test-image predictions)."""
    store = ResultsStore(store or default_store(profile))
    frame = run_grid(grid, profile, store, executor)
    return frame, store.predictions(frame["key"].tolist())


@dataclass(frozen=True)
class ChapterResults:
    """What a results chapter works from: the profile, its grid settings and the stored trials.

    ``frame``: one row per trial (:meth:`ResultsStore.frame`); ``predictions``: one row per
    (trial, test image); ``note``: the stand-in-world caption for figures (None on real data).
    """

    profile: Profile
    grid: str
    settings: dict
    frame: pd.DataFrame
    predictions: pd.DataFrame
    note: str | None

    def facts(self, prefix: str) -> dict[str, int | str]:
        """Glue values every results page states: trial count, seeds, the training mode, and
        ``{prefix}_seed_scope``: what the seeds vary and share, so what an interval over seeds covers
        (:func:`~synthaug_utils.experiments.grids.seed_scope`)."""
        fast = self.settings.get("mode") == "fast"
        return {
            f"{prefix}_trials": len(self.frame),
            f"{prefix}_seeds": len(self.settings["seeds"]),
            f"{prefix}_mode": "fast mode (cached frozen-body features, head trained)"
            if fast
            else "the faithful fastai recipe",
            f"{prefix}_variant": str(self.settings.get("variant", "pretrained")),
            f"{prefix}_seed_scope": seed_scope(self.settings),
        }


def chapter_results(grid: str, profile: Profile, store=None, executor=None) -> ChapterResults:
    """Run (preparing its synthetic sets first) or load ``grid``, with its settings and figure note."""
    frame, predictions = grid_results(grid, profile, store, executor)
    return ChapterResults(profile, grid, grid_settings(grid, profile), frame, predictions, figure_note(profile))


def with_controls(chapter: ChapterResults, store=None, executor=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or load) the controls grid beside a chapter's grid (same profile); return the trials and
    per-test-image predictions of both grids together, each trial once (see ``grid_settings('controls')``)."""
    frame, predictions = grid_results("controls", chapter.profile, store, executor)
    new = ~frame["key"].isin(chapter.frame["key"])
    both = pd.concat([chapter.frame, frame[new]], ignore_index=True)
    preds = pd.concat(
        [chapter.predictions, predictions[predictions["key"].isin(frame.loc[new, "key"])]], ignore_index=True
    )
    return both, preds


def optional_grid_results(
    grid: str, profile: Profile, store=None, executor=None
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """:func:`grid_results` for a grid that may hold no trial on this profile (None then)."""
    if not build_grid(grid, profile):
        return None
    return grid_results(grid, profile, store, executor)


def available_grid_results(
    grids: Sequence[str], profile: Profile, store=None, executor=None
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """:func:`grid_results` of each of ``grids`` whose inputs the profile has (``core.inputs.grid_available``),
    in the order given; the others are left out."""
    from synthaug_utils.core.inputs import grid_available

    return {grid: grid_results(grid, profile, store, executor) for grid in grids if grid_available(profile, grid)}


def fast_vs_faithful(
    chapter: ChapterResults,
    seeds: Sequence[int] | None = None,
    transforms: Sequence[bool] | None = None,
    n_real: Sequence[int] | None = None,
    store=None,
    executor=None,
    methods: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run the faithful-recipe twin of a sample of a chapter's fast-mode trials; one row per pair.

    The sample: the chapter grid's fast-mode specs with a seed in ``seeds``, a transforms
    setting in ``transforms``, n real per class in ``n_real`` and a synthetic method in
    ``methods`` ("none" = no synthetic data). Each left as None comes from
    the grid's ``faithful_sample`` setting (see ``Profile.grid_defaults``), else: the first seed,
    transforms off, every n and method. Twins differ only in ``mode`` (stored like any trial, so a
    rebuild reads them). Columns: n_real, method, transforms, seed, fast and faithful top-1
    (proportions), ``diff`` (fast - faithful), faithful epochs and wall seconds of both.
    """
    P = chapter.profile
    defaults = dict(chapter.settings.get("faithful_sample") or {})
    seeds = tuple(seeds if seeds is not None else defaults.get("seeds", tuple(chapter.settings["seeds"])[:1]))
    transforms = tuple(transforms if transforms is not None else defaults.get("transforms", (False,)))
    n_real = n_real if n_real is not None else defaults.get("n_real")
    methods = methods if methods is not None else defaults.get("methods")
    sample = [
        s
        for s in build_grid(chapter.grid, P)
        if s.mode == "fast"
        and s.seed in set(seeds)
        and bool(s.transforms) in {bool(t) for t in transforms}
        and (n_real is None or s.n_real in set(n_real))
        and (methods is None or (s.synthetic_method or NONE) in set(methods))
    ]
    columns = [
        "n_real",
        "method",
        "transforms",
        "seed",
        "fast",
        "faithful",
        "diff",
        "faithful_epochs",
        "fast_s",
        "faithful_s",
    ]
    if not sample:  # e.g. the paper profile, which runs the faithful recipe throughout
        return pd.DataFrame(columns=columns)
    twins = faithful_twins(sample)
    faithful = run_grid(twins, P, ResultsStore(store or default_store(P)), executor)
    fast = chapter.frame.set_index("key")
    rows = []
    for spec, twin in zip(sample, twins):
        a, b = fast.loc[spec.key], faithful.set_index("key").loc[twin.key]
        rows.append(
            {
                "n_real": spec.n_real,
                "method": spec.synthetic_method or NONE,
                "transforms": bool(spec.transforms),
                "seed": spec.seed,
                "fast": float(a.top1),
                "faithful": float(b.top1),
                "diff": float(a.top1 - b.top1),
                "faithful_epochs": int(b.epochs_run),
                "fast_s": float(a.wall_s),
                "faithful_s": float(b.wall_s),
            }
        )
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------- embeddings chapter inputs
def synthetic_sets_of_grid(grid: str, profile: Profile) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real training pool and the synthetic images a grid trains on at its largest n (first seed).

    Returns (real, synthetic): ``real`` = the training pool of the grid's split (image_id,
    path, label, fst); ``synthetic`` = one row per synthetic image (image_id, path, label,
    fst, source_id, method, variant). The sets are prepared here first (a no-op once the grid has run).
    """
    specs = [s for s in build_grid(grid, profile) if s.synthetic_ratio]
    if not specs:
        raise DataError(f"grid {grid!r} uses no synthetic images")
    largest = max(s.n_real or 0 for s in specs)
    first_seed = min(s.seed for s in specs)
    chosen = {}
    for spec in specs:
        if (spec.n_real or 0) == largest and spec.seed == first_seed and not spec.transforms:
            chosen.setdefault((spec.synthetic_method, spec.synthetic_variant), spec)
    splits = load_splits(profile, specs[0].which(profile), specs[0].split_seed)
    prepare_synthetic_sets(list(chosen.values()), profile, progress=False)
    parts = []
    for (method, variant), spec in sorted(chosen.items()):
        table, _ = training_table(spec, profile, splits)
        parts.append(table[table.synthetic].assign(method=method, variant=variant))
    synthetic = pd.concat(parts, ignore_index=True)
    real = splits.train_pool[["image_id", "path", "label", "fst"]].reset_index(drop=True)
    return real, synthetic


# ----------------------------------------------------------------------------- generation chapter inputs
# Chapter 02 runs the generator at four steps; each is one call here, so the analysis functions that
# report on them only read what these return.
def generation_sets(
    profile: Profile, splits, sizes: Mapping[str, int]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[tuple[str, str], pd.DataFrame]]:
    """Chapter 02's synthetic sets, made here where the cache the grids use lacks them (DreamBooth models
    fine-tuned first): one image of every method and variant per source. Returns (text-to-image sources:
    the seed-0 subset of ``sizes['gate_per_class']`` training images per class, masked-method sources:
    ``sizes['masked_per_class']`` per class, {(method, variant): manifest rows of those sources})."""
    from synthaug_utils.data.splits import training_subset
    from synthaug_utils.synthetic.manifest import read_manifest, select_synthetic
    from synthaug_utils.synthetic.sets import ensure_synthetic_set

    t2i_sources = training_subset(splits, sizes["gate_per_class"], seed=0)
    masked_sources = training_subset(splits, sizes["masked_per_class"], seed=0)
    manifests = {}
    for variant in VARIANTS:
        for method in METHODS:
            sources = t2i_sources if method == "text-to-image" else masked_sources
            folder = ensure_synthetic_set(profile, method, variant, sources, 1, splits=splits, progress=False)
            manifests[method, variant] = select_synthetic(read_manifest(folder), sources.image_id, 1, splits=splits)
    return t2i_sources, masked_sources, manifests


def guidance_samples(
    profile: Profile, labels: Sequence[str], per_label: int, guidance: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Text-to-image samples of the profile's pretrained model at ``guidance`` (the paper's), made in memory
    (:func:`~synthaug_utils.diffusion.measure.sample_text2image`); None where the profile samples at it."""
    from synthaug_utils.diffusion.measure import sample_text2image

    settings = generation_settings(profile)
    if guidance == settings.guidance_scale:
        return None
    return sample_text2image(profile, labels, per_label, dataclasses.replace(settings, guidance_scale=guidance))


def raw_inpaint_fidelity(profile: Profile, sources: pd.DataFrame) -> pd.DataFrame:
    """Mask fidelity of the pretrained inpainting model's own output for ``sources``, generated in memory
    (:func:`~synthaug_utils.diffusion.measure.raw_mask_fidelity`)."""
    from synthaug_utils.diffusion.measure import raw_mask_fidelity

    return raw_mask_fidelity(profile, sources, generation_settings(profile))


def time_generation(profile: Profile, sources: pd.DataFrame, n_images: int) -> pd.DataFrame:
    """Images per second of each method, measured now on ``n_images`` per method with ``sources``' images
    as the masked methods' inputs (:func:`~synthaug_utils.diffusion.measure.measure_throughput`)."""
    from synthaug_utils.data.images import load_image
    from synthaug_utils.diffusion.measure import measure_throughput

    resolution = generation_settings(profile).resolution
    images = np.stack([np.asarray(load_image(p, resolution)) for p in sources.path])
    return measure_throughput(profile, METHODS, n_images=n_images, sources=images)
