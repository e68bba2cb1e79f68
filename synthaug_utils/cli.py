"""The ``synthaug`` command line. Each concern registers its own subcommands.

Subcommand modules expose ``register_cli(subparsers)``; they are listed in
``_SUBCOMMAND_MODULES`` and imported lazily so that ``synthaug --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# module path -> subcommand names it registers (kept here so --help needs no heavy import)
_SUBCOMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "synthaug_utils.data": ("data",),
    "synthaug_utils.generation": ("generate", "dreambooth", "pretrain-generator"),
    "synthaug_utils.experiments": ("trial", "run"),
    "synthaug_utils.book": ("book",),
    "synthaug_utils.rehearsal": ("rehearse",),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only`` set, import just the module that owns that subcommand."""
    parser = argparse.ArgumentParser(
        prog="synthaug",
        description="Reproduce Sagers et al. (2023): synthetic data from latent diffusion models for skin-disease classifiers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, names in _SUBCOMMAND_MODULES.items():
        if only is not None and only not in names:
            continue
        importlib.import_module(module_name).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    known = {n for names in _SUBCOMMAND_MODULES.values() for n in names}
    parser = build_parser(first if first in known else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; results already written are kept", file=sys.stderr)
        return 130
    except Exception as exc:  # user-facing errors: one clear line, no traceback
        from synthaug_utils.errors import UserFacingError

        if isinstance(exc, UserFacingError):
            print(f"synthaug: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
