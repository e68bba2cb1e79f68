"""``synthaug rehearse``."""

from __future__ import annotations

import time

from synthaug_utils.rehearsal.run import rehearse


def _cmd_rehearse(args) -> int:
    start = time.perf_counter()
    result = rehearse(args.out, byo=not args.no_byo, jobs=args.jobs, force=args.force)
    for stage, s in result["seconds"].items():
        print(f"{stage}: {s:.0f} s")
    print(f"paper-profile book: {result['html'] / 'index.html'}")
    if "byo_html" in result:
        print(f"bring-your-own book: {result['byo_html'] / 'index.html'}")
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


def register_cli(subparsers) -> None:
    """``synthaug rehearse --out DIR``: the paper profile end to end on a miniature world (CPU)."""
    p = subparsers.add_parser("rehearse", help="build the paper-profile book on a miniature paper-format world (CPU)")
    p.add_argument("--out", required=True, help="folder for the world, caches, results and the books (DIR/_build/html)")
    p.add_argument("--no-byo", action="store_true", help="skip the bring-your-own book (DIR/byo)")
    p.add_argument("--jobs", type=int, default=None, help="chapters side by side (default: 2 on 2+ CPU cores)")
    p.add_argument("--force", action="store_true", help="re-execute chapters even when up to date")
    p.set_defaults(func=_cmd_rehearse)
