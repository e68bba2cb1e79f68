"""Named grids: settings, specs, preparing synthetic sets, running a grid, mode pairs."""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.core import profiles
from synthaug_utils.core.config import Profile
from synthaug_utils.core.vocabulary import BUDGET_ARMS, BUDGET_VARIANTS, GRIDS
from synthaug_utils.experiments.executors import DASK_CONNECT_TIMEOUT_S, make_executor, parse_executor
from synthaug_utils.experiments.spec import SpecError, TrialSpec, base_spec
from synthaug_utils.experiments.store import ResultsStore, default_store
from synthaug_utils.experiments.trial import augment_targets, execute_trial, real_subset


# ----------------------------------------------------------------------------- grids
def grid_settings(name: str, profile: Profile) -> dict[str, Any]:
    """Settings of a named grid: defaults from the profile, then the embedded-profile sizes, then
    ``profile.grids[name]``."""
    if name not in GRIDS:
        raise SpecError(f"unknown grid {name!r}; choose one of {GRIDS}")
    if name == "controls":
        return _controls_settings(profile)
    if name == "imbalance-controls":
        imbalance = grid_settings("imbalance", profile)
        settings = {
            **imbalance,
            "enabled": False,
            "budget_cuts": (min(imbalance["cuts"]),),
            "budget_variants": BUDGET_ARMS,
            **dict(profile.grid_defaults.get(name, {})),
            **dict(profile.grids.get(name, {})),
        }
        return {**settings, "budget_variants": _budget_variants(settings["budget_variants"])}
    # profile.grid_defaults may add redraw_validation=True: split seed = run seed (see build_grid)
    # the paper's grids, from the settings source (core.profiles)
    paper = {stage: {k: s.value for k, s in profiles.PAPER[stage].items()} for stage in ("grids", "classifier", name)}
    common = dict(
        seeds=tuple(profile.seeds),
        ratio=profile.synthetic_per_real,
        mode="fast" if profile.fast_mode else "faithful",
        views=paper["classifier"]["views"],
        restore_best=paper["classifier"]["restore_best"],
        batch_rule=paper["classifier"]["batch_rule"],
        max_epochs=profile.max_epochs,
        n_real=tuple(profile.n_real_grid),
        **paper["grids"],
    )
    settings = {
        **common,
        **paper[name],
        **dict(profile.grid_defaults.get(name, {})),
        **dict(profile.grids.get(name, {})),
    }
    for key in ("seeds", "transforms", "methods", "ratios", "cuts", "controls"):
        if key in settings and settings[key] is not None and not isinstance(settings[key], (list, tuple)):
            settings[key] = (settings[key],)
    return settings


def _controls_settings(profile: Profile) -> dict[str, Any]:
    """The controls grid: Fig. 3's settings (seeds, subsets, mode, n, transforms, so that its
    no-synthetic trials are Fig. 3's own), then the controls' own settings, then the profile's.

    ``duplicate_ratio``: extra copies of every real image in the duplication arm (default Fig. 3's
    synthetic ratio, so that it trains on as many images per epoch as the synthetic arms).
    ``budget_n``, ``budget_methods``, ``budget_ratio``, ``budget_transforms``: where the
    generator-data-budget arms run. ``budget_variants``: which arms (default all of
    :data:`~synthaug_utils.core.vocabulary.BUDGET_ARMS`) - the pretrained generator (no fine-tuning),
    DreamBooth fine-tuned on the whole class pool (``dreambooth``, the authors' way), on the trial's
    own n images with the same recipe (``dreambooth-own``: fewer optimiser steps) and on the own images
    for as many steps as the whole-pool model (``dreambooth-own-steps``).
    """
    fig3 = grid_settings("fig3", profile)
    small = tuple(n for n in fig3["n_real"] if n and 16 <= n <= 32) or tuple(fig3["n_real"][:1])
    defaults = dict(
        duplicate_ratio=fig3["ratio"],
        budget_n=small,
        budget_methods=tuple(fig3["methods"]),
        budget_ratio=fig3["ratio"],
        budget_transforms=tuple(fig3["transforms"]),
        budget_variants=BUDGET_ARMS,
    )
    settings = {
        **{k: v for k, v in fig3.items() if k not in ("methods", "faithful_sample")},
        **defaults,
        **dict(profile.grid_defaults.get("controls", {})),
        **dict(profile.grids.get("controls", {})),
    }
    for key in ("seeds", "transforms", "n_real", "budget_n", "budget_methods", "budget_transforms"):
        if settings[key] is not None and not isinstance(settings[key], (list, tuple)):
            settings[key] = (settings[key],)
    settings["budget_variants"] = _budget_variants(settings["budget_variants"])
    return settings


def _budget_variants(variants) -> tuple[str, ...]:
    """The budget arms asked for, in :data:`BUDGET_ARMS` order. The whole-pool and own-images arms
    (``dreambooth``, ``dreambooth-own``) must be among them: the budget tables compare with them."""
    variants = (variants,) if isinstance(variants, str) else tuple(variants)
    unknown = sorted(set(variants) - set(BUDGET_ARMS))
    if unknown:
        raise SpecError(f"budget_variants: unknown arm(s) {unknown}; choose from {list(BUDGET_ARMS)}")
    missing = [v for v in ("dreambooth", BUDGET_VARIANTS[0]) if v not in variants]
    if missing:
        raise SpecError(
            f"budget_variants: {missing} missing; the budget control needs the whole-pool and own-images arms"
        )
    return tuple(v for v in BUDGET_ARMS if v in variants)


def _join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def seed_scope(settings: dict[str, Any]) -> str:
    """What the run seeds of a grid vary and what all of them share, from its settings
    (:func:`grid_settings`): the sentence a results page states beside every interval that includes
    the run-to-run spread (such an interval covers only what the seeds vary)."""
    fast = settings.get("mode") == "fast"
    augment = any(bool(t) for t in settings.get("transforms") or ())
    varies = ["the classifier head's initialisation", "dropout", "batch order"]
    if augment:
        varies.append("which cached augmented view each training image gets" if fast else "the random augmentation")
    covers = ["head initialisation", "dropout", "batch order"] + (["augmentation"] if augment else [])
    synthetic = (
        bool(settings.get("methods"))
        or any(settings.get("ratios") or ())
        or "synthetic" in (settings.get("controls") or ())
    )
    shared, drawn, redrawn = [], [], []
    if settings.get("n_real") is None:
        shared.append("the whole training pool" + (" (and so one synthetic set)" if synthetic else ""))
    elif settings.get("subset_seed") is not None:
        shared.append(
            f"one training subset (subset seed {settings['subset_seed']})"
            + (" and so one synthetic set" if synthetic else "")
        )
    else:
        drawn.append("its own training subset" + (" (and so its own synthetic images)" if synthetic else ""))
        redrawn.append("the training subset")
    if settings.get("redraw_validation"):
        drawn.append("its own validation images")
        redrawn.append("the validation images")
    else:
        shared.append(f"one validation split (split seed {settings.get('split_seed', 0)})")
    shared.append("the test images")
    text = f"Seeds vary {_join(varies)}"
    text += f"; each seed draws {_join(drawn)}" if drawn else ""
    text += f"; all seeds share {_join(shared)}."
    if redrawn:
        return f"{text} An interval over seeds therefore covers {_join(covers)}, and the draw of {_join(redrawn)}."
    beyond = "" if settings.get("n_real") is None else ", not the draw of the training images"
    return f"{text} An interval over seeds therefore covers {_join(covers)} only{beyond}."


def grid_which(name: str) -> str:
    """The dataset a named grid runs on: 'ddi' for Fig. 5, 'main' for every other grid."""
    return "ddi" if name == "fig5" else "main"


def build_grid(name: str, profile: Profile) -> list[TrialSpec]:
    """The trial specs of a named grid (fig3, fig4, fig5, imbalance, learning-curve) for ``profile``."""
    s = grid_settings(name, profile)
    which = grid_which(name)
    common = dict(
        split_seed=s["split_seed"],
        subset_seed=s["subset_seed"],
        mode=s["mode"],
        views=s["views"],
        restore_best=s["restore_best"],
        batch_rule=s["batch_rule"],
        max_epochs=s["max_epochs"],
    )
    specs: list[TrialSpec] = []

    def add(n: int, tf: str, seed: int, method: str | None = None, variant: str | None = None, ratio: int = 0, **extra):
        """One trial of ``n`` real images per label (``method``'s images at ``ratio`` when given)."""
        specs.append(
            base_spec(
                profile,
                which,
                n_real=n,
                transforms=tf,
                seed=seed,
                synthetic_method=method,
                synthetic_variant=variant,
                synthetic_ratio=ratio,
                **extra,
                **common,
            )
        )

    if name in ("fig3", "fig5", "learning-curve"):
        ns = s["n_real"] if isinstance(s["n_real"], (list, tuple)) else (s["n_real"],)
        sources = [(None, 0)] + [(m, s["ratio"]) for m in s["methods"]]
        for n, tf, (method, ratio), seed in itertools.product(ns, s["transforms"], sources, s["seeds"]):
            add(n, tf, seed, method, s["variant"], ratio)
    elif name == "controls":
        for n, tf, seed in itertools.product(s["n_real"], s["transforms"], s["seeds"]):
            for dup in (0, s["duplicate_ratio"]):  # the no-synthetic trial is Fig. 3's own (same key)
                add(n, tf, seed, duplicate=dup)
        for n, tf, method, seed in itertools.product(
            s["budget_n"], s["budget_transforms"], s["budget_methods"], s["seeds"]
        ):
            add(n, tf, seed)
            for variant in s["budget_variants"]:
                add(n, tf, seed, method, variant, s["budget_ratio"])
    elif name == "imbalance-controls":  # the rare class's DreamBooth on its own cut images vs the whole pool
        from synthaug_utils.data.splits import dataset_tables

        labels = s["rare_labels"] or dataset_tables(profile, "main").labels
        n = int(s["n_real"])
        runs = itertools.product(labels, s["budget_cuts"], s["transforms"], s["seeds"]) if s["enabled"] else ()
        for rare, cut, tf, seed in runs:
            rare_only = dict(n_real_per_label=((rare, cut),), augment_labels=(rare,))
            add(n, tf, seed, **rare_only)  # the imbalance grid's own "none" trial
            for variant in s["budget_variants"]:
                add(n, tf, seed, s["method"], variant, n // cut - 1, **rare_only)
    elif name == "fig4":
        for n, tf, ratio, seed in itertools.product(s["n_real"], s["transforms"], s["ratios"], s["seeds"]):
            add(n, tf, seed, s["method"], s["variant"], ratio)
    else:
        from synthaug_utils.data.splits import dataset_tables

        labels = s["rare_labels"] or dataset_tables(profile, "main").labels
        n = int(s["n_real"])
        for rare, cut, control, tf, seed in itertools.product(
            labels, s["cuts"], s["controls"], s["transforms"], s["seeds"]
        ):
            if n % cut:
                raise SpecError(
                    f"imbalance grid: n_real={n} is not a multiple of cut={cut}, so parity needs a fractional ratio"
                )
            extra = n // cut - 1
            add(
                n,
                tf,
                seed,
                s["method"] if control == "synthetic" else None,
                s["variant"],
                extra if control == "synthetic" else 0,
                n_real_per_label=((rare, cut),),
                augment_labels=(rare,),
                duplicate=extra if control == "duplicate" else 0,
            )
    if s.get("redraw_validation"):  # the paper's protocol: validation redrawn for every run
        specs = [spec.replace(split_seed=spec.seed) for spec in specs]
    return list({spec.key: spec for spec in specs}.values())


def prepare_synthetic_set(
    profile: Profile,
    spec: TrialSpec,
    splits,
    sources: pd.DataFrame,
    per_real: int,
    progress: bool = False,
    generate_fn=None,
) -> Path:
    """Make (or find made) the profile-managed synthetic set of ``spec``'s method and variant: ``per_real``
    images of every real image in ``sources`` (image_id, path, label, fst, split).

    Calls :func:`synthaug_utils.synthetic.sets.ensure_synthetic_set` (idempotent: cheap when the
    requested (source, index < per_real) images already exist; fine-tunes or pretrains the generator it
    needs first) with the trial's splits; where the profile reads the authors' released images
    (:func:`~synthaug_utils.synthetic.sets.released_serves`), unpacks their set instead, and nothing is
    generated. Trials then only read the set (:func:`~synthaug_utils.experiments.trial.prepared_synthetic_set`).
    """
    from synthaug_utils.synthetic.sets import ensure_synthetic_set, released_serves, released_synthetic_set

    if released_serves(profile, spec.synthetic_method, spec.synthetic_variant):
        return released_synthetic_set(profile, splits, progress=progress)
    return ensure_synthetic_set(
        profile,
        spec.synthetic_method,
        spec.synthetic_variant,
        sources,
        per_real,
        splits=splits,
        which=spec.which(profile),
        progress=progress,
        generate_fn=generate_fn,
    )


def prepare_synthetic_sets(
    specs: Sequence[TrialSpec],
    profile: Profile,
    progress: bool = True,
    executor: Any = None,
    threads: int | None = None,
) -> None:
    """Make the profile-managed synthetic images that ``specs`` need before any trial runs: the one step that
    generates, fine-tunes or pretrains for a grid (trials only read what it made).

    Per (dataset, split seed, method, variant), every real source gets the largest ratio any
    spec asks of it; sources are grouped by that ratio and each group is one
    :func:`~synthaug_utils.synthetic.sets.ensure_synthetic_set` call, so nothing beyond the
    needed indices is generated. In-process by default; with a Dask ``executor`` (an executor
    object) each call is cut into tasks per model x shard of sources
    (:func:`~synthaug_utils.experiments.generation_tasks.generate_with_executor`, ``threads`` torch
    threads per task), one call at a time.
    """
    from synthaug_utils.data.splits import load_splits

    generate_fn = None
    if executor is not None and hasattr(executor, "client"):
        from synthaug_utils.experiments.generation_tasks import generate_with_executor

        generate_fn = functools.partial(generate_with_executor, executor=executor, threads=threads)

    groups: dict[tuple, list[TrialSpec]] = {}
    for spec in specs:
        if spec.synthetic_ratio and spec.synthetic_manifest is None:
            # a dreambooth-own set belongs to one real subset (its models see exactly those images)
            own = (
                (
                    spec.n_real,
                    spec.n_real_per_label,
                    spec.seed if spec.subset_seed is None else spec.subset_seed,
                    spec.augment_labels,
                )
                if spec.synthetic_variant in BUDGET_VARIANTS
                else None
            )
            groups.setdefault(
                (spec.dataset, spec.split_seed, spec.synthetic_method, spec.synthetic_variant, own), []
            ).append(spec)
    for (_, split_seed, _, _, own), members in groups.items():
        splits = load_splits(profile, members[0].which(profile), split_seed)
        needs = pd.concat([augment_targets(m, real_subset(m, splits)).assign(ratio=m.synthetic_ratio) for m in members])
        needs = needs.sort_values(["image_id", "ratio"]).drop_duplicates("image_id", keep="last")
        if own is not None:  # one call with the whole subset, at the largest ratio asked of it
            needs = needs.assign(ratio=needs.ratio.max())
        for ratio, sources in needs.groupby("ratio", sort=True):
            extra = {"generate_fn": generate_fn} if generate_fn is not None else {}
            prepare_synthetic_set(
                profile,
                members[0],
                splits,
                sources.drop(columns="ratio").reset_index(drop=True),
                int(ratio),
                progress=progress,
                **extra,
            )


def grid_summary(specs: Sequence[TrialSpec]) -> dict[str, Any]:
    """Size of a grid: trials, and synthetic images per real image needed per (method, variant) as the largest ratio."""
    need: dict[str, int] = {}
    for spec in specs:
        if spec.synthetic_ratio:
            name = f"{spec.synthetic_method}/{spec.synthetic_variant}"
            need[name] = max(need.get(name, 0), spec.synthetic_ratio)
    return {"trials": len(specs), "max_synthetic_per_real": need}


# ----------------------------------------------------------------------------- the runner
def run_grid(
    grid: str | Sequence[TrialSpec],
    profile: Profile,
    store: str | os.PathLike | ResultsStore | None = None,
    executor: str | Any | None = None,
    *,
    threads: int | None = None,
    progress: bool = True,
    prepare: bool = True,
    trial_fn: Callable[[TrialSpec, Profile], dict] | None = None,
    connect_timeout: float = DASK_CONNECT_TIMEOUT_S,
) -> pd.DataFrame:
    """Run every trial of ``grid`` (a grid name or a list of specs) not yet in ``store``; return their tidy rows.

    ``executor``: None (in-process), 'dask://HOST:PORT', 'dask-local[:N]', or an executor
    object. ``threads`` sets torch's thread count in each trial; None means 1 on CPU profiles
    (on shared cores more threads can be ten times slower, and a fixed count makes
    in-process and Dask results identical) and torch's default on GPU profiles. Use
    ``executor='dask-local:2'`` to use two cores. Results are written by
    this process as trials finish; a progress bar shows done / running / left and the ETA.
    ``trial_fn`` replaces :func:`run_trial` (tests). The first failing trial stops the run
    and its error is raised; finished trials stay stored. A remote scheduler is contacted
    before anything is prepared and must answer within ``connect_timeout`` seconds.
    """
    from tqdm.auto import tqdm

    if executor is None or isinstance(executor, str):
        parse_executor(executor)
    if threads is None and profile.device == "cpu":
        threads = 1
    specs = build_grid(grid, profile) if isinstance(grid, str) else list({s.key: s for s in grid}.values())
    store = store if isinstance(store, ResultsStore) else ResultsStore(store or default_store(profile))
    store.clean_partial()
    for spec in specs:
        spec.validate(profile)
    pending = [s for s in specs if not store.has(s.key)]
    own = not hasattr(executor, "map_unordered")
    # a remote scheduler is contacted before anything is prepared: an unreachable one is refused before work starts
    remote = (
        pending and own and (executor is None or isinstance(executor, str)) and parse_executor(executor)[0] == "remote"
    )
    runner = make_executor(executor, connect_timeout) if remote else None
    dask_prepare = bool(
        pending and prepare and trial_fn is None and (not own or parse_executor(executor)[0] != "inprocess")
    )
    if pending and prepare:
        from synthaug_utils.data.splits import load_splits

        try:
            for which, split_seed in sorted({(s.which(profile), s.split_seed) for s in pending}):
                load_splits(profile, which, split_seed)  # draws the demo world once, before workers start
            if (
                dask_prepare and runner is None and own
            ):  # the synthetic sets are prepared on the grid's Dask workers too
                runner = make_executor(executor, connect_timeout)
            if trial_fn is None:
                prepare_synthetic_sets(
                    pending,
                    profile,
                    progress=progress,
                    executor=(runner if own else executor) if dask_prepare else None,
                    threads=threads,
                )
        except BaseException:
            if runner is not None:
                runner.close()
            raise
    if pending:
        runner = runner or make_executor(executor, connect_timeout)
        label = grid if isinstance(grid, str) else "trials"
        bar = tqdm(
            total=len(pending), desc=f"{label} ({len(specs) - len(pending)} stored)", unit="trial", disable=not progress
        )
        try:
            items = [(s.to_dict(), profile, trial_fn, threads) for s in pending]
            for done, (_, result) in enumerate(runner.map_unordered(execute_trial, items), start=1):
                store.write(result)
                left = len(pending) - done
                bar.set_postfix(running=min(runner.workers, left), left=left, refresh=False)
                bar.update(1)
        finally:
            bar.close()
            if own:
                runner.close()
    store.rebuild_index()
    return store.frame([s.key for s in specs])


def faithful_twins(specs: Sequence[TrialSpec]) -> list[TrialSpec]:
    """The faithful-mode copy of every fast-mode spec (for measuring how far fast mode is from the recipe)."""
    return [s.replace(mode="faithful") for s in specs if s.mode == "fast"]


def mode_gap(frame: pd.DataFrame) -> dict[str, float]:
    """Fast minus faithful top-1 over trials that differ only in mode: pairs, mean, mean |diff|, max |diff|."""
    spec_cols = [name for name in TrialSpec.field_names() if name not in ("mode", "views")]
    text = frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), "none").astype(str) for c in spec_cols})
    fast = text[text["mode"] == "fast"].set_index(spec_cols)["top1"]
    faithful = text[text["mode"] == "faithful"].set_index(spec_cols)["top1"]
    diff = (fast - faithful.reindex(fast.index)).dropna()
    return {
        "pairs": int(len(diff)),
        "mean_diff": float(diff.mean()) if len(diff) else float("nan"),
        "mean_abs_diff": float(diff.abs().mean()) if len(diff) else float("nan"),
        "max_abs_diff": float(diff.abs().max()) if len(diff) else float("nan"),
    }


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD of top-1 accuracy over seeds for each setting (columns that vary, seeds excluded)."""
    if frame.empty:
        return frame
    ignore = {
        "key",
        "seed",
        "subset_seed",
        "top1",
        "top3",
        "n_correct",
        "n_correct_top3",
        "epochs_run",
        "best_epoch",
        "wall_s",
        "n_train",
        "n_train_real",
        "n_train_synthetic",
        "batch_size",
        "n_test",
    }
    text = {
        c: frame[c].map(lambda v: "none" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        for c in frame.columns
        if c not in ignore
    }
    varying = [c for c, values in text.items() if values.nunique() > 1] or ["dataset"]
    keyed = frame.assign(**{c: text[c] for c in varying})
    out = keyed.groupby(varying, sort=True, dropna=False).agg(
        top1_mean=("top1", "mean"), top1_sd=("top1", "std"), runs=("top1", "size"), epochs=("epochs_run", "mean")
    )
    return out.reset_index()
