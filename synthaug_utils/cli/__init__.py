"""The ``synthaug`` command line. Each concern registers its own subcommands.

Subcommand modules expose ``register_cli(subparsers)``; they are listed in
``_SUBCOMMAND_MODULES`` and imported lazily so that ``synthaug --help`` stays fast.

Every argument is checked before any work starts (:func:`synthaug_utils.cli.checks.check_args`,
then the subcommand's own checks). A user-facing error (bad input, missing data or models)
is one line ``synthaug: error: ...`` on stderr and exit code 2; an operating-system error
(disk full, permission denied) is one line and exit code 1; anything else is a bug and
shows its traceback. ``--debug`` (anywhere on the line) shows the traceback of every error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module path -> subcommand names it registers (kept here so --help needs no heavy import)
_SUBCOMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "synthaug_utils.cli.data": ("data",),
    "synthaug_utils.cli.generate": ("generate", "dreambooth", "pretrain-generator"),
    "synthaug_utils.cli.experiments": ("trial", "run"),
    "synthaug_utils.cli.book": ("book",),
    "synthaug_utils.cli.pdf": ("pdf",),
    "synthaug_utils.cli.rehearse": ("rehearse",),
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``synthaug: error: ...``), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"synthaug: error: {message} (see '{self.prog} --help')\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only`` set, import just the module that owns that subcommand."""
    parser = _Parser(
        prog="synthaug",
        description="Reproduce Sagers et al. (2023): synthetic data from latent diffusion models for skin-disease "
        "classifiers.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of any error (also accepted after the subcommand)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, names in _SUBCOMMAND_MODULES.items():
        if only is not None and only not in names:
            continue
        importlib.import_module(module_name).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    first = next((a for a in argv if not a.startswith("-")), None)
    known = {n for names in _SUBCOMMAND_MODULES.values() for n in names}
    try:
        parser = build_parser(first if first in known else None)
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from synthaug_utils.core.errors import UserFacingError

    try:
        from synthaug_utils.cli.checks import check_args

        check_args(args)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; results already written are kept", file=sys.stderr)
        return 130
    except UserFacingError as exc:  # bad input, missing data or models: one clear line, no traceback
        if debug:
            raise
        print(f"synthaug: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the machine said no (disk full, permission denied): one line, no traceback
        if debug:
            raise
        print(f"synthaug: error: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
