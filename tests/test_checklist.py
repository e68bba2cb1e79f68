"""The reporting-checklist page (CLAIM 2024, TRIPOD+AI) and the References page.

The checklist's table names sections by their heading text; the fast tests check the table against
the pages' sources (a renamed heading fails here, not in a reader's browser), the slow ones follow
every link of the built smoke book's checklist to an element id of the page it names.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from synthaug_utils.presentation import checklist

REPO = Path(__file__).resolve().parents[1]
STATUSES = {checklist.ANSWERED, checklist.NOT_REPORTED, checklist.NOT_APPLICABLE}


# ----------------------------------------------------------------------------- the table
def test_every_section_the_table_names_exists_in_the_sources():
    assert checklist.missing_sections(REPO) == []


def test_claim_has_all_44_items_once_and_every_item_says_where_or_why():
    claim = [i.number for i in checklist.ITEMS if i.checklist == checklist.CLAIM]
    assert claim == [str(n) for n in range(1, 45)]
    tripod = [i.number for i in checklist.ITEMS if i.checklist == checklist.TRIPOD]
    assert len(tripod) == len(set(tripod)) >= 10
    for item in checklist.ITEMS:
        assert item.status in STATUSES, item
        if item.status == checklist.ANSWERED:
            assert item.where, f"{item.checklist} {item.number} is answered but links no section"
        else:
            assert item.note, f"{item.checklist} {item.number}: {item.status} needs its reason"


def test_headings_are_read_outside_code_fences_and_from_both_notebook_forms(tmp_path):
    text = "# Title\n\n```{admonition} x\n# not a heading\n```\n\n## Two words\n### Deeper ##\n"
    assert checklist.markdown_headings(text) == [(1, "Title"), (2, "Two words"), (3, "Deeper")]
    source = tmp_path / "01_x.py"
    source.write_text("# %% [markdown]\n# # Title\n#\n# ## Section\n\n# %%\n# ## a comment in code\nx = 1\n")
    assert checklist.page_headings(source) == [(1, "Title"), (2, "Section")]


def test_a_section_missing_from_the_built_page_links_the_page_and_says_so(tmp_path):
    (tmp_path / "intro.md").write_text("# Front\n\n## Findings\n")
    assert checklist._link(tmp_path, "intro", "Findings") == "[Front page › Findings](intro.md#findings)"
    assert checklist._link(tmp_path, "intro", "Gone").startswith('[Front page](intro.md) (section "Gone" absent')
    assert checklist._link(tmp_path, "05_skin_type", None) == "05_skin_type (not in this build)"
    page = checklist.checklist_markdown(tmp_path)
    assert page.count("\n| 44 |") == 1 and "{cite:p}`tejani2024claim`" in page and "## TRIPOD+AI" in page


# ----------------------------------------------------------------------------- references
CITE = re.compile(r"\{cite(?::[pt])?\}`([^`]+)`")
REQUIRED_KEYS = {
    "sagers2023augmenting",
    "groh2021evaluating",
    "daneshjou2022disparities",
    "rombach2022high",
    "ruiz2023dreambooth",
    "lu2022dpmsolver",
    "howard2020fastai",
    "tan2021efficientnetv2",
    "tan2019efficientnet",
    "radford2021learning",
    "ilharco2021openclip",
    "abhishek2025investigating",
    "groger2023selfclean",
    "benjamini1995controlling",
    "satterthwaite1946approximate",
    "searle1992variance",
    "yates1934contingency",
    "efron1993introduction",
    "tejani2024claim",
    "collins2024tripod",
}


def _bib_keys() -> set[str]:
    import pybtex.database

    return set(pybtex.database.parse_file(str(REPO / "book" / "references.bib")).entries)


def test_the_bibliography_holds_the_works_the_book_names_and_every_cited_key():
    keys = _bib_keys()
    assert REQUIRED_KEYS <= keys
    sources = [p.read_text() for p in (REPO / "book").glob("*.md")] + [
        p.read_text() for p in (REPO / "notebooks").glob("*.py")
    ]
    sources.append(checklist.checklist_markdown(REPO / "book"))
    cited = {k.strip() for text in sources for group in CITE.findall(text) for k in group.split(",")}
    assert cited and cited <= keys, sorted(cited - keys)


def test_author_year_labels_are_unique_and_read_like_the_citations():
    import pybtex.database

    from synthaug_utils.presentation.bibstyle import AuthorYearLabels, author_year

    entries = pybtex.database.parse_file(str(REPO / "book" / "references.bib")).entries
    assert author_year(entries["groh2021evaluating"]) == "Groh et al., 2021"
    assert author_year(entries["howard2020fastai"]) == "Howard and Gugger, 2020"
    assert author_year(entries["satterthwaite1946approximate"]) == "Satterthwaite, 1946"
    assert author_year(entries["groger2023selfclean"]) == "Gröger et al., 2023"  # "and others"
    labels = list(AuthorYearLabels().format_labels([entries["lu2022dpmsolver"], entries["lu2022dpmsolverpp"]]))
    assert labels == ["Lu et al., 2022a", "Lu et al., 2022b"]


# ----------------------------------------------------------------------------- the built smoke book
class _Ids(HTMLParser):
    """Every element id of a page, and the hrefs of the links inside its main article."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "article":
            self.depth += 1
        if tag == "a" and self.depth and attrs.get("href"):
            self.hrefs.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "article":
            self.depth -= 1


def _parse(path: Path) -> _Ids:
    parser = _Ids()
    parser.feed(path.read_text())
    return parser


@pytest.mark.slow
def test_smoke_book_checklist_links_all_resolve(smoke_book):
    pages = smoke_book.html / "book"
    page = pages / "checklist.html"
    links = [h for h in _parse(page).hrefs if not h.startswith(("http", "#", "mailto:")) and ".html" in h]
    assert len(links) >= sum(len(i.where) for i in checklist.ITEMS)  # every (page, section) pair is a link
    with_anchor = 0
    for href in links:
        target, _, anchor = href.partition("#")
        path = (pages / target).resolve()
        assert path.is_file(), href
        if anchor:
            with_anchor += 1
            assert anchor in _parse(path).ids, f"{href}: no element with id {anchor!r}"
    assert with_anchor >= sum(1 for i in checklist.ITEMS for _, heading in i.where if heading)
    assert "absent" not in re.sub(r"<[^>]+>", "", page.read_text())  # the smoke book runs every chapter


@pytest.mark.slow
def test_smoke_book_references_page_lists_every_entry_with_licences(smoke_book):
    page = (smoke_book.html / "book" / "references.html").read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    for name in ("Sagers", "Benjamini", "Satterthwaite", "Efron", "Tejani", "Collins", "Ilharco", "Abhishek"):
        assert name in text, name
    assert "Groh et al., 2021" in text  # author-year labels
    licences = text[text.index("Datasets, models and software: licences") :]
    for licence in (
        "CC BY-NC-SA 3.0",
        "CC BY-NC 4.0",
        "research use agreement",
        "CreativeML Open RAIL++-M",
        "CreativeML OpenRAIL-M",
        "Apache-2.0",
        "MIT",
        "BSD-3-Clause",
    ):
        assert licence in licences, licence
    intro = (smoke_book.html / "book" / "intro.html").read_text()
    assert 'href="references.html#id' in intro or "references.html#" in intro  # the front page cites
