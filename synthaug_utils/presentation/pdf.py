"""``synthaug pdf`` / ``make pdf``: the whole built book as one PDF, for reading and annotating.

The book in ``<root>`` must be built (``synthaug book --root <root>``): nothing is executed here.
Sphinx's ``singlehtml`` builder renders the executed chapters as one page into
``<root>/_build/singlehtml`` (:func:`~synthaug_utils.presentation.book.build_html`); :func:`print_page`
writes ``print.html`` into that folder, the same page with a title block (the book's title and authors
from ``_config.yml``, the reproduced paper's authors from ``book/references.bib``, the profile) and
a print stylesheet (:data:`PRINT_CSS`) that leaves out code cells, toggles and navigation and starts
each chapter on a new page; headless Chromium (Debian's ``chromium``) prints it to
``<root>/_build/pdf/book.pdf`` with every network request refused, so the PDF is made offline.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import subprocess
import tempfile
from pathlib import Path

import yaml

from synthaug_utils.core.errors import UserFacingError

PDF_PATH = Path("_build") / "pdf" / "book.pdf"  # relative to the build root
PRINT_PAGE = "print.html"  # written into the singlehtml build's folder
PAPER_KEY = "sagers2023augmenting"  # the reproduced paper in book/references.bib
BIBLIOGRAPHY = Path("book") / "references.bib"

# Chromium flags for an offline print: no first-run work, no network (every host name is unresolvable),
# no header or footer of Chromium's own (the page numbers come from PRINT_CSS), and time for scripts.
PRINT_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--no-pdf-header-footer",
    "--print-to-pdf-no-header",
    "--run-all-compositor-stages-before-draw",
    "--virtual-time-budget=30000",
)

PRINT_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm;
        @bottom-center { content: counter(page); font-size: 9pt; color: #555; } }
html, body { background: #fff !important; }
/* the theme's navigation, headers, sidebars, buttons and search */
.bd-header, .bd-header-article, .header-article, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-sidebar,
.bd-footer, .bd-footer-article, .bd-footer-content, footer, .prev-next-area, .prev-next-footer, .bd-search,
.search-button-field, .article-header-buttons, .headerlink, .toggle-button, .copybtn, button, dialog,
.skip-link, #pst-skip-link, .pst-async-banner-revealer, .bd-header-announcement, .sidebar-toggle,
.bd-toc { display: none !important; }
/* code: every input cell (folded or not) and its toggle */
div.cell_input, details.above-input, details.hide.above-input, .cell details.hide > summary { display: none !important; }
/* the content over the page's whole width */
.bd-container, .bd-container__inner, .bd-page-width, .bd-main, .bd-content, .bd-article-container, .bd-article,
main, article { max-width: none !important; width: auto !important; margin: 0 !important; padding: 0 !important;
                display: block !important; }
body { font-size: 10.5pt; font-variant-ligatures: none; }  /* no ligatures: the PDF's text searches as typed */
.cell_output .output.text_html, .pst-scrollable-table-container, div.output, .table-wrapper { overflow: visible !important; }
.bd-main .bd-content { margin-left: 0 !important; }
#jb-print-docs-body > h1 { display: none !important; }  /* the theme's print title: the title page has it */
table { font-size: 7.5pt; max-width: 100% !important; word-break: break-word; }
.bd-main .bd-content table, table { break-inside: auto !important; page-break-inside: auto !important; }
img { max-width: 100% !important; }
figure, img, tr, .admonition { break-inside: avoid; page-break-inside: avoid; }
h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
/* each page of the book (the singlehtml build marks where one starts) on a new page, its title in chapter size */
span[id^="document-"] + section { break-before: page; page-break-before: always; }
span[id^="document-"] + section > :is(h1, h2, h3, h4):first-child { font-size: 20pt; }
a { color: inherit !important; text-decoration: none !important; }
.synthaug-title-page { break-after: page; page-break-after: always; text-align: center; padding-top: 28vh; }
.synthaug-title-page h1.synthaug-book-title { break-before: avoid; page-break-before: avoid; font-size: 24pt;
                                              line-height: 1.25; margin-bottom: 1.2em; }
.synthaug-title-page p { font-size: 12pt; margin: 0.4em 0; }
.synthaug-title-page .synthaug-note { font-size: 10pt; color: #444; margin-top: 2em; }
"""  # noqa: E501 (CSS text, kept byte for byte)


def _source_root() -> Path:
    from synthaug_utils.presentation.book import source_root as root

    return root()


def built_profiles(book_dir: Path) -> list[str]:
    """The profiles the executed chapters in ``book_dir`` were built with (their notebooks' metadata)."""
    profiles = set()
    for path in sorted(book_dir.glob("[0-9][0-9]_*.ipynb")):
        try:
            profile = json.loads(path.read_text()).get("metadata", {}).get("synthaug", {}).get("profile")
        except (OSError, ValueError):
            continue
        if profile:
            profiles.add(profile)
    return sorted(profiles)


def check_built(root: Path) -> None:
    """Refuse a root without a built book: the HTML build and the executed chapters must be there."""
    from synthaug_utils.presentation.book import BOOK_DIR, chapter_names

    toc = root / "_toc.yml"
    html_index = root / "_build" / "html" / "index.html"
    if not toc.is_file() or not html_index.is_file():
        raise UserFacingError(f"no built book in {root}: run `synthaug book --root {root}` (or `make book`) first")
    missing = [Path(n).name for n in chapter_names(toc) if not (root / BOOK_DIR / f"{Path(n).name}.ipynb").is_file()]
    if missing:
        raise UserFacingError(
            f"the book in {root} lacks executed chapter(s) {missing}: run `synthaug book --root {root}` first"
        )


def paper_authors(root: Path) -> str:
    """The reproduced paper's authors and year from the bibliography: ``A, B and C (2023)``."""
    import pybtex.database

    path = root / BIBLIOGRAPHY
    try:
        entry = pybtex.database.parse_file(str(path)).entries[PAPER_KEY]
    except (OSError, KeyError, pybtex.database.PybtexError) as exc:
        raise UserFacingError(f"cannot read the entry {PAPER_KEY!r} from {path}: {exc}") from exc
    names = [" ".join(p.first_names + p.middle_names + p.prelast_names + p.last_names) for p in entry.persons["author"]]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{joined} ({entry.fields.get('year', 'n.d.')})"


def title_block(root: Path) -> str:
    """The title page: the book's title and authors (``_config.yml``), the reproduced paper's authors,
    the profile the chapters were built with and the day the PDF was printed."""
    from synthaug_utils.presentation.book import BOOK_DIR

    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    profiles = built_profiles(root / BOOK_DIR)
    profile = ", ".join(profiles) or "unknown"
    day = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d")
    return (
        '<section class="synthaug-title-page">'
        f'<h1 class="synthaug-book-title">{html.escape(str(config.get("title", "synthaug")))}</h1>'
        f'<p class="synthaug-authors">{html.escape(str(config.get("author", "")))}</p>'
        f'<p class="synthaug-paper">An executable reproduction of the paper by {html.escape(paper_authors(root))}</p>'
        f'<p class="synthaug-note">Built with the <code>{html.escape(profile)}</code> profile; printed {day}. '
        "Code cells are left out; every figure and table is the built book's.</p>"
        "</section>"
    )


def print_page(root: Path, single_dir: Path) -> Path:
    """Write ``print.html`` into the singlehtml build's folder: its one page (the book's root document,
    ``root`` in ``_toc.yml``) with :data:`PRINT_CSS` and :func:`title_block`; return its path."""
    toc = yaml.safe_load((root / "_toc.yml").read_text()) or {}
    index = single_dir / f"{toc.get('root', 'index')}.html"
    if not index.is_file():
        raise UserFacingError(f"the singlehtml build in {single_dir} has no page {index.name} (the root of _toc.yml)")
    page = index.read_text(encoding="utf-8")
    if "</head>" not in page or "<body" not in page:
        raise UserFacingError(f"{index} is not an HTML page (is the singlehtml build complete?)")
    page = page.replace("</head>", f'<style media="print">{PRINT_CSS}</style>\n</head>', 1)
    body_start = page.index("<body")
    body_end = page.index(">", body_start) + 1
    page = page[:body_end] + title_block(root) + page[body_end:]
    out = single_dir / PRINT_PAGE  # the page's links to images and styles are relative to the build's folder
    out.write_text(page, encoding="utf-8")
    return out


def print_to_pdf(chromium: str, page: Path, out: Path, timeout_s: int = 600) -> Path:
    """Print the HTML ``page`` to the PDF ``out`` with headless Chromium (written whole or not at all)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile_dir:
        cmd = [
            chromium,
            *PRINT_FLAGS,
            f"--user-data-dir={profile_dir}",
            f"--print-to-pdf={tmp}",
            page.resolve().as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise UserFacingError(f"chromium did not finish printing {page} within {timeout_s} s") from exc
    if not tmp.is_file() or tmp.read_bytes()[:5] != b"%PDF-":
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
        raise UserFacingError(f"chromium wrote no PDF for {page} (exit code {proc.returncode}):\n{tail}")
    os.replace(tmp, out)
    return out


def build_pdf(root: str | Path | None = None) -> Path:
    """The PDF of the book built in ``root`` (default: the repository): ``<root>/_build/pdf/book.pdf``."""
    from synthaug_utils.presentation.book import build_html
    from synthaug_utils.presentation.screenshots import find_chromium

    root = Path(root).resolve() if root else _source_root()
    chromium = find_chromium("synthaug pdf")  # before any work: the one dependency `make book` lacks
    check_built(root)
    single = build_html(root, "singlehtml")
    return print_to_pdf(chromium, print_page(root, single), root / PDF_PATH)
