"""``synthaug trial`` and ``synthaug run``."""

from __future__ import annotations

import json
import time

import pandas as pd

from synthaug_utils.core.config import Profile, load_profile
from synthaug_utils.core.vocabulary import GRIDS, METHODS, VARIANTS
from synthaug_utils.experiments.executors import DASK_CONNECT_TIMEOUT_S
from synthaug_utils.experiments.grids import build_grid, grid_summary, prepare_synthetic_sets, run_grid, summarize
from synthaug_utils.experiments.spec import SpecError, TrialSpec, base_spec
from synthaug_utils.experiments.store import RUN_FACTS, ResultsStore, default_store
from synthaug_utils.experiments.trial import check_trial, run_trial


# ----------------------------------------------------------------------------- CLI
def _add_profile_args(parser) -> None:
    parser.add_argument("--profile", default="demo", help="demo (default), smoke or paper")
    parser.add_argument("--config", default=None, help="YAML config file (data and model locations)")


def _spec_from_args(args, profile: Profile) -> TrialSpec:
    changes = {
        k: v
        for k, v in dict(
            split_seed=args.split_seed,
            n_real=args.n_real,
            seed=args.seed,
            synthetic_method=args.method,
            synthetic_variant=args.variant,
            synthetic_ratio=args.ratio,
            synthetic_manifest=args.manifest,
            transforms=args.transforms,
            arch=args.arch,
            image_size=args.image_size,
            mode=args.mode,
            max_epochs=args.max_epochs,
            patience=args.patience,
            restore_best=args.restore_best,
            batch_rule=args.batch_rule,
            batch_size=args.batch_size,
            views=args.views,
            duplicate=args.duplicate,
        ).items()
        if v is not None
    }
    if args.n_per_label:
        changes["n_real_per_label"] = tuple(_parse_pair(p) for p in args.n_per_label)
    if args.augment_label:
        changes["augment_labels"] = tuple(args.augment_label)
    if args.method and args.ratio is None:
        changes["synthetic_ratio"] = profile.synthetic_per_real
    if args.method and args.variant is None:
        changes["synthetic_variant"] = "pretrained"
    return base_spec(profile, args.dataset, **changes)


def _parse_pair(text: str) -> tuple[str, int]:
    label, sep, n = text.rpartition("=")
    if not sep:
        raise SpecError(f"--n-per-label {text!r}: use LABEL=N")
    try:
        return label, int(n)
    except ValueError as exc:
        raise SpecError(f"--n-per-label {text!r}: N must be an integer") from exc


def _cmd_trial(args) -> int:
    profile = load_profile(args.profile, args.config)
    spec = _spec_from_args(args, profile)
    store = ResultsStore(args.store) if args.store else None
    stored = store is not None and store.has(spec.key)  # a result of another format is refused here
    if not stored:
        check_trial(spec, profile)
        prepare_synthetic_sets([spec], profile, progress=not args.json)  # the trial itself only reads them
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if store is not None:
        result = store.load(spec.key) if stored else run_trial(spec, profile, progress=not args.json)
        store.write(result)
    else:
        result = run_trial(spec, profile, progress=not args.json)
    summary = {k: result[k] for k in ("key", *RUN_FACTS)}
    summary.update(result["metrics"])
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"trial {summary['key']}: top-1 {summary['top1']:.3f}, top-3 {summary['top3']:.3f} on {summary['n_test']} "
            "test images; "
            f"{summary['epochs_run']} epochs, {summary['n_train']} training images, {summary['wall_s']:.1f} s"
        )
    return 0


def _cmd_run(args) -> int:
    profile = load_profile(args.profile, args.config)
    specs = build_grid(args.grid, profile)
    for spec in specs:
        spec.validate(profile)
    store = ResultsStore(args.store or default_store(profile))
    if args.dry_run:
        info = grid_summary(specs)
        info["stored"] = sum(store.has(s.key) for s in specs)
        print(json.dumps(info))
        return 0
    start = time.perf_counter()
    frame = run_grid(
        args.grid,
        profile,
        store,
        args.executor,
        threads=args.threads,
        progress=not args.no_progress,
        connect_timeout=args.connect_timeout,
    )
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.max_columns", 20):
        print(summarize(frame).to_string(index=False))
    print(f"{len(frame)} trials in {store.root} ({time.perf_counter() - start:.0f} s)")
    return 0


def register_cli(subparsers) -> None:
    """``synthaug trial`` (one trial) and ``synthaug run GRID`` (a named grid into a results store)."""
    trial = subparsers.add_parser("trial", help="train and test one classifier (a trial) and print its metrics")
    _add_profile_args(trial)
    trial.add_argument(
        "--dataset", choices=["main", "ddi"], default="main", help="the profile's main (F17k-9) or DDI dataset"
    )
    trial.add_argument("--n-real", type=int, help="real training images per label (default: whole pool)")
    trial.add_argument("--n-per-label", action="append", metavar="LABEL=N", help="per-label n override (repeatable)")
    trial.add_argument("--split-seed", type=int)
    trial.add_argument("--seed", type=int, help="training seed (also draws the subset)")
    trial.add_argument("--method", choices=METHODS, help="add synthetic images made by this method")
    trial.add_argument("--variant", choices=VARIANTS)
    trial.add_argument("--ratio", type=int, help="synthetic images per real image (default: the profile's)")
    trial.add_argument("--manifest", help="synthetic-set folder with manifest.csv (default: the profile's set)")
    trial.add_argument("--duplicate", type=int, help="extra copies of each real image (of --augment-label labels)")
    trial.add_argument(
        "--augment-label", action="append", help="label that receives synthetic images / duplicates (repeatable)"
    )
    trial.add_argument("--transforms", action="store_true", default=None, help="fastai aug_transforms()")
    trial.add_argument("--arch")
    trial.add_argument("--image-size", type=int)
    trial.add_argument("--mode", choices=["faithful", "fast"])
    trial.add_argument("--max-epochs", type=int)
    trial.add_argument("--patience", type=int)
    trial.add_argument("--restore-best", action="store_true", default=None)
    trial.add_argument("--batch-rule", choices=["default", "dose-response"])
    trial.add_argument("--batch-size", type=int)
    trial.add_argument("--views", type=int, help="fast mode: augmented views cached per image")
    trial.add_argument("--threads", type=int, help="torch CPU threads")
    trial.add_argument("--store", help="results folder: reuse a stored result, or store this one")
    trial.add_argument("--json", action="store_true", help="print one JSON object")
    trial.set_defaults(func=_cmd_trial)

    run = subparsers.add_parser(
        "run", help="run a named grid of trials (fig3, fig4, fig5, imbalance, learning-curve) into a results store"
    )
    run.add_argument("grid", choices=GRIDS)
    _add_profile_args(run)
    run.add_argument("--store", help="results folder (default: <cache>/results/<profile>)")
    run.add_argument(
        "--executor",
        default=None,
        help="inprocess (default), dask-local[:N] (N local worker processes, default 2), or dask://HOST:PORT "
        "(a running scheduler; refused with one line when it does not answer within --connect-timeout)",
    )
    run.add_argument(
        "--connect-timeout",
        type=float,
        default=DASK_CONNECT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"seconds to wait for a dask://HOST:PORT scheduler to answer (default {DASK_CONNECT_TIMEOUT_S:g})",
    )
    run.add_argument("--threads", type=int, help="torch CPU threads per trial")
    run.add_argument("--dry-run", action="store_true", help="print the grid's size and how much is stored, run nothing")
    run.add_argument("--no-progress", action="store_true")
    run.set_defaults(func=_cmd_run)
