"""`synthaug pdf`: one PDF of the built book (title page, chapters in order, figures, tables, glued
numbers, references; no code), printed offline by headless Chromium.

The slow test prints the session's smoke book (the ``smoke_book`` fixture) and reads the PDF's text
with pypdf. It needs Debian's chromium: where it is not installed (a fresh machine, a CI runner
without it) the test is skipped and says so; the fast tests run everywhere.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.presentation import pdf

REPO = Path(__file__).resolve().parents[1]
NO_CHROMIUM = (
    "chromium is not installed (Debian: apt-get install -y chromium); `synthaug pdf` needs it, "
    "so a machine without it, such as a CI runner that cannot apt-get, skips this test"
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    pytest.skip(NO_CHROMIUM)


def _words(text: str) -> str:
    import unicodedata

    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


# ----------------------------------------------------------------------------- fast
def test_without_chromium_the_command_fails_first_with_one_line_naming_it(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UserFacingError) as err:
        pdf.build_pdf(tmp_path)
    message = str(err.value)
    assert message.startswith("chromium not found") and "apt-get install -y chromium" in message and "\n" not in message


def test_a_root_without_a_built_book_is_refused(tmp_path):
    with pytest.raises(UserFacingError, match="no built book"):
        pdf.check_built(tmp_path)


def test_the_title_page_names_the_book_its_authors_the_paper_and_the_profile(tmp_path):
    root = tmp_path
    (root / "book").mkdir()
    shutil.copy2(REPO / "_config.yml", root / "_config.yml")
    shutil.copy2(REPO / "book" / "references.bib", root / "book" / "references.bib")
    nb = {"cells": [], "metadata": {"synthaug": {"profile": "smoke"}}, "nbformat": 4, "nbformat_minor": 5}
    (root / "book" / "01_data.ipynb").write_text(json.dumps(nb))
    block = pdf.title_block(root)
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert config["title"] in block and config["author"] in block
    assert "Luke W. Sagers, James A. Diao" in block and "Arjun K. Manrai (2023)" in block
    assert "<code>smoke</code> profile" in block


def test_the_print_page_carries_the_print_stylesheet_and_the_title_page(tmp_path):
    root, single = tmp_path / "root", tmp_path / "root" / "_build" / "singlehtml"
    (single / "book").mkdir(parents=True)
    (root / "book").mkdir()
    shutil.copy2(REPO / "_config.yml", root / "_config.yml")
    shutil.copy2(REPO / "_toc.yml", root / "_toc.yml")
    shutil.copy2(REPO / "book" / "references.bib", root / "book" / "references.bib")
    (single / "book" / "intro.html").write_text(
        "<html><head><title>t</title></head><body class='x'><p>page</p></body></html>"
    )
    page = pdf.print_page(root, single).read_text()
    assert page.index("synthaug-title-page") < page.index("<p>page</p>")
    assert "div.cell_input" in page and "@page" in page


# ----------------------------------------------------------------------------- the smoke book
@pytest.mark.slow
def test_smoke_book_pdf_has_every_chapter_and_figure_and_no_code(smoke_book):
    _chromium()
    from pypdf import PdfReader

    from synthaug_utils.presentation.book import chapter_names
    from synthaug_utils.presentation.checklist import notebook_markdown

    path = pdf.build_pdf(smoke_book.root)
    assert path == smoke_book.root / "_build" / "pdf" / "book.pdf" and path.read_bytes()[:5] == b"%PDF-"
    reader = PdfReader(str(path))
    pages = [_words(p.extract_text() or "") for p in reader.pages]
    text = " ".join(pages)

    import yaml

    # opens to the title
    assert _words(yaml.safe_load((smoke_book.root / "_config.yml").read_text())["title"]) in pages[0]
    # every chapter's title, in the order of _toc.yml
    book_dir = smoke_book.root / "book"
    positions = []
    for name in [Path(n).name for n in chapter_names(smoke_book.root / "_toc.yml")]:
        title = next(
            line[2:] for line in notebook_markdown(book_dir / f"{name}.ipynb").splitlines() if line.startswith("# ")
        )
        assert _words(title) in text, title
        positions.append(text.index(_words(title), positions[-1] if positions else 0))
    # every figure of the built book, by the number its caption starts with
    html = (smoke_book.root / "_build" / "singlehtml" / pdf.PRINT_PAGE).read_text()
    captions = re.findall(r"<figcaption>\s*<p><span class=\"caption-text\"><strong>Figure ([^<]+?)\.</strong>", html)
    assert len(captions) >= 20 and len(captions) == html.count("<figcaption>")
    for label in captions:
        assert f"Figure {label}." in text, label
    assert len(re.findall(r"Figure [0-9A-Z][\w.-]*?\. ", text)) >= len(captions)
    # glued numbers, tables, references, the checklist
    assert "{glue" not in text and "Traceback" not in text
    assert "demo-derm9" in text  # glued dataset name (chapter 01)
    assert "Reference check: not made: no reference is committed for profile smoke" in text
    assert (
        re.search(r"Table 1\.\d+\. F17k-9 images per label", text)
        and "Reporting checklist" in text
        and "Satterthwaite" in text
    )
    # no code: no line of any code cell of the executed chapters
    code_lines = set()
    for nb_path in sorted(book_dir.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(nb_path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                code_lines |= {_words(line) for line in source.splitlines() if len(line.strip()) > 30}
    leaked = sorted(line for line in code_lines if line in text)
    assert leaked == [], leaked[:5]
