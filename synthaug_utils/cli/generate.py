"""``synthaug generate``, ``synthaug dreambooth``, ``synthaug pretrain-generator``."""

from __future__ import annotations

import time
from pathlib import Path

from synthaug_utils.core.config import load_profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.vocabulary import METHODS, VARIANTS
from synthaug_utils.diffusion.pipelines import demo_model_root
from synthaug_utils.diffusion.prompts import slug
from synthaug_utils.diffusion.resolve import model_resolver
from synthaug_utils.diffusion.settings import generation_settings
from synthaug_utils.experiments.executors import DASK_CONNECT_TIMEOUT_S
from synthaug_utils.experiments.generation_tasks import DEFAULT_SHARD_SIZE
from synthaug_utils.synthetic.manifest import read_manifest


# ----------------------------------------------------------------------------- CLI
def _common_args(p) -> None:
    p.add_argument("--profile", default="demo", help="demo, smoke or paper (default demo)")
    p.add_argument("--config", default=None, help="YAML config file (paper-profile locations, overrides)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--which", default="main", choices=["main", "ddi"], help="dataset: main (F17k-9 / demo-derm9) or ddi"
    )
    p.add_argument("--split-seed", type=int, default=0, help="split seed of the validation draw (default 0)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (per task with --executor; default: torch's choice here, which generate's tasks take)",
    )
    p.add_argument(
        "--executor",
        default=None,
        help="inprocess (default), dask-local[:N] (N local worker processes, default 2), or dask://HOST:PORT "
        "(a running scheduler, e.g. a dask-jobqueue SLURM/PBS cluster): one task per model "
        "(and per model x shard of source images for generate)",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=DASK_CONNECT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"seconds to wait for a dask://HOST:PORT scheduler to answer (default {DASK_CONNECT_TIMEOUT_S:g})",
    )


def _set_threads(args) -> None:
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(int(args.threads))


def _cmd_generate(args) -> int:
    from synthaug_utils.data.splits import load_splits, training_subset
    from synthaug_utils.experiments.generation_tasks import generate_with_executor

    _set_threads(args)
    profile = load_profile(args.profile, config=args.config)
    splits = load_splits(profile, args.which, args.split_seed)
    sources = training_subset(splits, args.n_per_label, seed=0) if args.n_per_label else splits.train_pool
    if args.labels:
        unknown = sorted(set(args.labels) - set(splits.labels))
        if unknown:
            raise UserFacingError(f"unknown label(s) {unknown}; labels: {splits.labels}")
        sources = sources[sources.label.isin(args.labels)]
    per_real = args.per_image if args.per_image is not None else profile.synthetic_per_real
    resolve, group = model_resolver(profile, splits, args.which)
    stats: dict = {}
    began = time.perf_counter()
    path = generate_with_executor(
        sources,
        args.out,
        args.methods,
        args.variants,
        per_real,
        generation_settings(profile),
        profile,
        splits,
        resolve,
        group,
        progress=True,
        stats=stats,
        executor=args.executor,
        shard_size=args.shard_size,
        threads=args.threads,
        connect_timeout=args.connect_timeout,
    )
    rows = len(read_manifest(path))
    made = sum(v["images"] for v in stats.values())
    print(f"{path}: {rows} rows; {made} images made in {time.perf_counter() - began:.1f} s")
    for key, v in sorted(stats.items()):
        print(f"  {key}: {v['images']} images, {v['images'] / max(v['seconds'], 1e-9):.1f} img/s")
    return 0


def _cmd_dreambooth(args) -> int:
    from synthaug_utils.data.splits import load_splits
    from synthaug_utils.diffusion.resolve import finetune_for_profile

    _set_threads(args)
    profile = load_profile(args.profile, config=args.config)
    splits = load_splits(profile, args.which, args.split_seed)
    groups = ["all"] if args.which == "ddi" else (args.classes or list(splits.labels))
    unknown = sorted(set(groups) - set(splits.labels) - {"all"})
    if unknown:
        raise UserFacingError(f"unknown class(es) {unknown}; labels: {splits.labels}")
    if getattr(args, "executor", None) not in (None, "inprocess", "in-process", "local"):
        from synthaug_utils.experiments.generation_tasks import dreambooth_with_executor

        paths = dreambooth_with_executor(
            profile, args.kinds, groups, splits, args.out, args.executor, args.threads, args.connect_timeout
        )
        for (kind, grp), path in paths.items():
            print(f"{kind} / {grp}: {path}")
        return 0
    for kind in args.kinds:
        for grp in groups:
            out = Path(args.out) / kind / slug(grp)
            path = finetune_for_profile(profile, kind, grp, splits, out)
            print(f"{kind} / {grp}: {path}")
    return 0


def _cmd_pretrain(args) -> int:

    return cmd_pretrain(args)


def register_cli(subparsers) -> None:
    """Register ``generate``, ``dreambooth`` and ``pretrain-generator``."""
    p = subparsers.add_parser("generate", help="generate synthetic images (+ manifest.csv) for the training pool")
    _common_args(p)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument(
        "--per-image", type=int, default=None, help="images per real image (default: profile.synthetic_per_real)"
    )
    p.add_argument(
        "--n-per-label", type=int, default=None, help="use n training images per label (default: the whole pool)"
    )
    p.add_argument("--labels", nargs="+", default=None, help="only these labels")
    p.add_argument(
        "--shard-size",
        type=int,
        default=DEFAULT_SHARD_SIZE,
        help=f"source images per generation task with --executor (default {DEFAULT_SHARD_SIZE}); "
        "the images do not depend on it",
    )
    p.set_defaults(func=_cmd_generate)

    p = subparsers.add_parser("dreambooth", help="DreamBooth-fine-tune one model per class (one for all DDI images)")
    _common_args(p)
    p.add_argument("--classes", nargs="+", default=None, help="labels to fine-tune (default: all)")
    p.add_argument("--kinds", nargs="+", default=["text2image", "inpaint"], choices=["text2image", "inpaint"])
    p.set_defaults(func=_cmd_dreambooth)

    p = subparsers.add_parser("pretrain-generator", help="pretrain the embedded demo latent diffusion model")
    p.add_argument("--profile", default="demo", help="demo or smoke")
    p.add_argument("--config", default=None)
    p.add_argument(
        "--out",
        default=None,
        help="output folder (default: the cache); synthaug_utils/resources/demo_ldm to refresh the shipped weights",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.set_defaults(func=_cmd_pretrain)


def cmd_pretrain(args) -> int:
    """``synthaug pretrain-generator``: pretrain the demo generator into ``--out`` (default: the cache)."""
    import torch

    from synthaug_utils.diffusion.demo_pretrain import pretrain_demo_generator

    if args.threads:
        torch.set_num_threads(max(1, int(args.threads)))
    profile = load_profile(args.profile, config=getattr(args, "config", None))
    if not profile.is_embedded:
        raise UserFacingError("pretrain-generator builds the demo generator; use --profile demo or smoke")
    out = Path(args.out) if args.out else demo_model_root(profile)
    paths = pretrain_demo_generator(profile, out)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
