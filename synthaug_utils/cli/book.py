"""``synthaug book``."""

from __future__ import annotations

import time
from pathlib import Path

from synthaug_utils.core import chapters
from synthaug_utils.presentation.book import BOOK_DIR, build_book


def _cmd_book(args) -> int:
    from synthaug_utils.cli.checks import UsageError, parse_overrides

    # refused before any kernel starts: profile, config and overrides (cli.checks.check_args), chapters, jobs
    overrides = parse_overrides(args.overrides)
    names = chapters.notebook_ids()
    unknown = sorted(set(args.chapters or []) - set(names))
    if unknown:
        raise UsageError(f"--chapters: unknown chapter(s) {unknown}; chapters: {names}")
    if args.write_reference and not Path(args.write_reference).resolve().parent.is_dir():
        raise UsageError(f"--write-reference: folder {Path(args.write_reference).parent} does not exist")
    start = time.time()
    html, _ = build_book(
        args.profile, args.root, args.config, overrides, args.chapters, args.reuse, args.force, args.jobs
    )
    print(f"total {time.time() - start:.0f} s")
    _reproduction(args.profile, html.parents[1] / BOOK_DIR, args.write_reference)
    return 0


def _reproduction(profile: str, book_dir: Path, write_to: str | None) -> None:
    """Print the build's comparison with the committed reference (one line); with ``write_to``, then
    write this build's values as the reference there."""
    from synthaug_utils.presentation import environment, reference

    print(reference.build_comparison(profile, book_dir)[2], flush=True)
    if write_to:
        written = reference.write_reference(book_dir, write_to, profile)
        print(
            f"reference written: {write_to} ({len(written['values'])} values, {len(written['timings'])} timings; "
            f"commit {written['commit']}, {environment.machine_label(written['machine'])})",
            flush=True,
        )


def register_cli(subparsers) -> None:
    """``synthaug book``: execute the chapters with papermill and build the HTML book."""
    p = subparsers.add_parser("book", help="execute every chapter with papermill and build the HTML book")
    p.add_argument("--profile", default="demo", help="demo (default), smoke or paper")
    p.add_argument("--config", default=None, help="YAML file with data/model locations (paper profile)")
    p.add_argument("--root", default=None, help="build folder (default: the repository; _build/html inside it)")
    p.add_argument(
        "--overrides",
        default=None,
        help="JSON object of profile overrides, e.g. '{\"seeds\": [0, 1]}' (checked before any chapter runs)",
    )
    p.add_argument("--chapters", nargs="*", default=None, help="execute only these chapters (others must exist)")
    p.add_argument("--reuse", action="store_true", help="keep executed notebooks already in book/ (render only)")
    p.add_argument("--force", action="store_true", help="re-execute chapters even when they are up to date")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="chapters executed side by side (default: 2 on demo/smoke with 2+ CPU cores, 1 on paper)",
    )
    p.add_argument(
        "--write-reference",
        default=None,
        metavar="PATH",
        help="after the build, write every glued value (with commit, CPU, torch, threads, date) to PATH as "
        "the profile's reference (commit it as benchmarks/reference/<profile>.json)",
    )
    p.set_defaults(func=_cmd_book)
