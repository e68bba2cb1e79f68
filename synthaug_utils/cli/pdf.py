"""``synthaug pdf``."""

from __future__ import annotations


def _cmd_pdf(args) -> int:
    from synthaug_utils.presentation.pdf import build_pdf

    path = build_pdf(args.root)
    print(f"PDF written: {path}", flush=True)
    return 0


def register_cli(subparsers) -> None:
    """``synthaug pdf``: one PDF of a built book (needs Debian's chromium)."""
    p = subparsers.add_parser(
        "pdf",
        help="print the book built in --root to one PDF (<root>/_build/pdf/book.pdf; needs chromium)",
        description="Render the already-built book (synthaug book) as one page and print it with headless Chromium "
        "to <root>/_build/pdf/book.pdf: title page, chapters in order, figures, tables, references; no "
        "code cells. Nothing is executed; offline.",
    )
    p.add_argument("--root", default=None, help="the build folder given to synthaug book (default: the repository)")
    p.set_defaults(func=_cmd_pdf)
