"""The reporting-checklist page: where the book answers each item of CLAIM 2024 and TRIPOD+AI.

:data:`ITEMS` is the table: for each item, the checklist, its number, a short text, the sections that
answer it as ``(page, heading)`` pairs (``page``: a page of the book's chapter registry, written as its role
there, e.g. ``chapters.METHODS``, and stored as its id; ``heading``: the text of a section heading on that page,
or None for the page itself) and a status: answered, or "not reported by the paper" / "not
applicable" with the reason. :func:`write_checklist_page` writes ``book/checklist.md`` from it when
the book is built, after the chapters ran: each link points to a heading found in the page as built
(its MyST slug anchor; ``_config.yml`` sets ``myst_heading_anchors``), so a link never names a
section the build lacks (a chapter that did not run for want of inputs links its page instead).
:func:`missing_sections` checks the table against the pages' sources (``tests/test_checklist.py``).

Item numbers and texts: CLAIM 2024 as numbered in its published checklist (44 items); TRIPOD+AI
items that bear on an image classifier developed and tested on public datasets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from synthaug_utils.core import chapters

CHECKLIST_PAGE = f"{chapters.CHECKLIST.id}.md"

ANSWERED = "answered"
NOT_REPORTED = "not reported by the paper"
NOT_APPLICABLE = "not applicable"

CLAIM = "CLAIM 2024"
TRIPOD = "TRIPOD+AI"


@dataclass(frozen=True)
class Item:
    """One checklist item and where the book answers it."""

    checklist: str
    number: str
    text: str
    where: tuple[tuple[str, str | None], ...] = ()
    status: str = ANSWERED
    note: str = ""


def _where(where) -> tuple[tuple[str, str | None], ...]:
    """``(page, heading)`` pairs with each page (a registry entry) as its id."""
    return tuple((page.id, heading) for page, heading in where)


def _c(number, text, where=(), status=ANSWERED, note=""):
    return Item(CLAIM, str(number), text, _where(where), status, note)


def _t(number, text, where=(), status=ANSWERED, note=""):
    return Item(TRIPOD, str(number), text, _where(where), status, note)


DATA, GEN, DB, CLF, EXP, STATS = "Data", "Generation", "DreamBooth", "Classifier", "Experiments", "Statistics"
WHY, LEVEL = "Why this primary analysis", "Level and power"
REAL, DUPES = "Real Fitzpatrick17k-9 metadata", "Near-duplicates across and inside the split files"
TWO = "Two analyses of the same comparisons"
STATEMENT = "Reproducibility statement"
LICENCES = "Datasets, models and software: licences"

ITEMS: tuple[Item, ...] = (
    _c(
        1,
        "Identification as a study of AI methodology, with the category of technology",
        [(chapters.INTRO, None)],
        note="latent diffusion models (Stable Diffusion, DreamBooth) and convolutional classifiers",
    ),
    _c(2, "Summary of study design, methods, results and conclusions", [(chapters.INTRO, "Findings")]),
    _c(3, "Scientific and clinical background, intended use and role of the AI approach", [(chapters.INTRO, None)]),
    _c(
        4,
        "Study aims, objectives and hypotheses",
        [(chapters.REPORT, "Headline findings")],
        note="the paper's headline claims, each tested",
    ),
    _c(5, "Prospective or retrospective study", [(chapters.METHODS, DATA)], note="retrospective, on public datasets"),
    _c(6, "Study goal", [(chapters.INTRO, None)], note="a reproduction of a model-development study"),
    _c(7, "Data sources", [(chapters.DATA, None), (chapters.REFERENCES, LICENCES)]),
    _c(8, "Inclusion and exclusion criteria", [(chapters.METHODS, DATA), (chapters.DATA, REAL)]),
    _c(9, "Data pre-processing", [(chapters.METHODS, DATA), (chapters.METHODS, CLF)]),
    _c(
        10,
        "Selection of data subsets",
        [(chapters.METHODS, EXP), (chapters.DATA, None)],
        note="nested subsets of n real images per class",
    ),
    _c(
        11,
        "De-identification methods",
        status=NOT_REPORTED,
        note="the datasets are published de-identified by their authors; the book shows no patient image",
    ),
    _c(
        12,
        "How missing data were handled",
        [(chapters.DATA, REAL)],
        status=NOT_REPORTED,
        note="the paper does not say how images of unknown skin type enter the per-type analyses",
    ),
    _c(
        13,
        "Image acquisition protocol",
        status=NOT_REPORTED,
        note="clinical photographs collected by the datasets' authors, with no common protocol",
    ),
    _c(
        14,
        "Definition of the method(s) used to obtain the reference standard",
        [(chapters.REFERENCES, LICENCES)],
        note="the datasets' own diagnoses, as their papers describe",
    ),
    _c(
        15,
        "Rationale for choosing the reference standard",
        status=NOT_REPORTED,
        note="the datasets' labels are taken as given; the paper does not discuss alternatives",
    ),
    _c(16, "Source of reference standard annotations", [(chapters.REFERENCES, LICENCES)], note="the datasets' authors"),
    _c(
        17,
        "Annotation of the test set",
        status=NOT_APPLICABLE,
        note="no image was annotated; the test sets keep the datasets' labels",
    ),
    _c(
        18,
        "Inter- and intra-rater variability",
        [(chapters.DATA, DUPES)],
        status=NOT_REPORTED,
        note="near-duplicate clusters that carry more than one label are counted",
    ),
    _c(19, "How data were assigned to partitions", [(chapters.METHODS, DATA), (chapters.DATA, None)]),
    _c(
        20,
        "Level at which partitions are disjoint",
        [(chapters.DATA, DUPES), (chapters.SKIN_TYPE, "Limits")],
        note="images, not patients; near-duplicates across the split are counted",
    ),
    _c(
        21,
        "Intended sample size",
        [(chapters.METHODS, LEVEL)],
        status=NOT_REPORTED,
        note="the book simulates the level and power of its primary analysis at the paper's sizes",
    ),
    _c(22, "Detailed description of the model", [(chapters.METHODS, GEN), (chapters.METHODS, CLF)]),
    _c(
        23,
        "Software libraries, frameworks and packages",
        [(chapters.INTRO, STATEMENT), (chapters.REFERENCES, LICENCES)],
    ),
    _c(
        24,
        "Initialization of model parameters",
        [(chapters.METHODS, CLF), (chapters.METHODS, DB)],
        note="ImageNet weights; pretrained Stable Diffusion",
    ),
    _c(25, "Details of the training approach", [(chapters.METHODS, CLF), (chapters.METHODS, DB)]),
    _c(26, "Method of selecting the final model", [(chapters.METHODS, CLF)]),
    _c(27, "Ensembling techniques", status=NOT_APPLICABLE, note="no ensembles"),
    _c(28, "Metrics of model performance", [(chapters.METHODS, STATS)]),
    _c(
        29, "Statistical measures of significance and uncertainty", [(chapters.METHODS, STATS), (chapters.METHODS, WHY)]
    ),
    _c(
        30,
        "Robustness or sensitivity analysis",
        [
            (chapters.REAL_VS_SYNTHETIC, "Controls the paper does not have"),
            (chapters.REAL_VS_SYNTHETIC, "Fast mode against the faithful recipe"),
            (chapters.REPORT, "On other CPU kernels"),
        ],
    ),
    _c(
        31,
        "Methods for explainability or interpretability",
        [(chapters.EMBEDDINGS, None)],
        status=NOT_REPORTED,
        note="no saliency maps; chapter 07 projects the images' embeddings",
    ),
    _c(32, "Evaluation on internal data", [(chapters.REAL_VS_SYNTHETIC, TWO), (chapters.DOSE_RESPONSE, TWO)]),
    _c(
        33,
        "Testing on external data",
        status=NOT_REPORTED,
        note="no external test set; DDI is a second task, not an external test of the F17k-9 classifier",
    ),
    _c(34, "Clinical trial registration", status=NOT_APPLICABLE, note="not a clinical trial"),
    _c(35, "Numbers of patients or examinations included and excluded", [(chapters.DATA, REAL), (chapters.DATA, None)]),
    _c(
        36,
        "Demographic and clinical characteristics of cases in each partition",
        [(chapters.DATA, None)],
        note="Fitzpatrick skin type per split; no other demographics are published with the images",
    ),
    _c(
        37,
        "Performance metrics and measures of statistical uncertainty",
        [
            (chapters.REAL_VS_SYNTHETIC, "The numbers behind the figure"),
            (chapters.REPORT, "Reported values, figure by figure"),
        ],
    ),
    _c(38, "Estimates of diagnostic performance and their precision", [(chapters.SKIN_TYPE, TWO)]),
    _c(
        39,
        "Failure analysis of incorrect results",
        [(chapters.REAL_VS_SYNTHETIC, "Per-disease gains (Fig. S-1)")],
        status=NOT_REPORTED,
        note="per-disease gains only; no analysis of misclassified images",
    ),
    _c(
        40,
        "Study limitations",
        [
            (chapters.SKIN_TYPE, "Limits"),
            (chapters.DATA, DUPES),
            (chapters.REPORT, "Does this build reproduce the book?"),
        ],
    ),
    _c(
        41,
        "Implications for practice, intended use and clinical role",
        [(chapters.INTRO, None)],
        status=NOT_APPLICABLE,
        note="a methods study: no clinical use is claimed",
    ),
    _c(42, "Reference to the full study protocol or technical details", [(chapters.METHODS, None)]),
    _c(
        43,
        "Availability of software, trained model and data",
        [(chapters.INTRO, "Rebuilding one figure"), (chapters.INTRO, STATEMENT), (chapters.REFERENCES, LICENCES)],
    ),
    _c(
        44,
        "Sources of funding and other support; role of funders",
        status=NOT_APPLICABLE,
        note="the paper states its funding in its acknowledgments",
    ),
    _t(
        "3c",
        "Known health inequalities across groups",
        [(chapters.SKIN_TYPE, None)],
        note="accuracy by skin tone (Fig. 5)",
    ),
    _t("5a", "Sources of data", [(chapters.DATA, None), (chapters.REFERENCES, LICENCES)]),
    _t("6b", "Eligibility criteria", [(chapters.METHODS, DATA), (chapters.DATA, REAL)]),
    _t(
        10,
        "Sample size",
        [(chapters.METHODS, LEVEL)],
        status=NOT_REPORTED,
        note="the paper gives no rationale; the book reports the level and power of its test",
    ),
    _t(11, "Missing data", [(chapters.DATA, REAL)], status=NOT_REPORTED, note="see CLAIM item 12"),
    _t(
        12,
        "Analytical methods: model type, building steps, performance measures",
        [(chapters.METHODS, CLF), (chapters.METHODS, STATS)],
    ),
    _t(13, "Class imbalance", [(chapters.CLASS_IMBALANCE, None)]),
    _t(14, "Fairness", [(chapters.SKIN_TYPE, None)], note="per skin-tone bin"),
    _t(
        18,
        "Open science: protocol, data and code availability",
        [(chapters.METHODS, None), (chapters.INTRO, STATEMENT), (chapters.REFERENCES, LICENCES)],
    ),
    _t(23, "Model performance with its uncertainty", [(chapters.REAL_VS_SYNTHETIC, TWO), (chapters.SKIN_TYPE, TWO)]),
    _t(26, "Limitations", [(chapters.SKIN_TYPE, "Limits"), (chapters.DATA, DUPES)]),
)


# ----------------------------------------------------------------------------- headings of the pages
def markdown_headings(text: str) -> list[tuple[int, str]]:
    """``(level, text)`` of every ATX heading of MyST Markdown ``text``, outside code fences."""
    headings, fence = [], None
    for line in text.splitlines():
        stripped = line.strip()
        match = re.match(r"^(`{3,}|~{3,})", stripped)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif stripped.startswith(fence) and not stripped[len(fence) :].strip():
                fence = None
            continue
        if fence is None:
            m = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
            if m:
                headings.append((len(m.group(1)), m.group(2).strip()))
    return headings


def notebook_markdown(path: Path) -> str:
    """The Markdown cells of an executed notebook (``.ipynb``) or a jupytext percent source (``.py``)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text()).get("cells", [])
        return "\n\n".join(
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells
            if c.get("cell_type") == "markdown"
        )
    out, inside = [], False
    for line in path.read_text().splitlines():
        if line.startswith("# %%"):
            inside = "[markdown]" in line
            continue
        if inside:
            out.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    return "\n".join(out)


def page_file(book_dir: Path, page: str) -> Path | None:
    """The built page ``page`` in ``book_dir`` (``<page>.md`` or ``<page>.ipynb``), or None."""
    for suffix in (".md", ".ipynb"):
        if (book_dir / f"{page}{suffix}").is_file():
            return book_dir / f"{page}{suffix}"
    return None


def page_headings(path: Path) -> list[tuple[int, str]]:
    text = notebook_markdown(path) if path.suffix in (".ipynb", ".py") else path.read_text()
    return markdown_headings(text)


def slug(heading: str) -> str:
    """The anchor MyST gives a heading (``myst_heading_anchors``; its default slug function)."""
    from myst_parser.mdit_to_docutils.base import default_slugify

    return default_slugify(heading)


# ----------------------------------------------------------------------------- the page
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _link(book_dir: Path, page: str, heading: str | None) -> str:
    """A Markdown link to ``heading`` on ``page`` (the page itself when None); when the built page lacks
    the heading (a chapter that did not run), the page with a note."""
    path = page_file(book_dir, page)
    if path is None:
        return f"{page} (not in this build)"
    headings = page_headings(path)
    title = _cell(page_label(page, next((t for level, t in headings if level == 1), page)))
    if heading is None:
        return f"[{title}]({path.name})"
    if heading not in [t for _, t in headings]:
        return f'[{title}]({path.name}) (section "{_cell(heading)}" absent: the chapter did not run)'
    return f"[{title} › {_cell(heading)}]({path.name}#{slug(heading)})"


def page_label(page: str, title: str) -> str:
    """A page's short name in a link: "Front page", or its title up to the first colon."""
    return "Front page" if page == chapters.INTRO.id else title.split(":")[0].strip()


def checklist_markdown(book_dir: Path) -> str:
    """The checklist page for the pages built in ``book_dir``."""
    out = [
        f"# {chapters.CHECKLIST.title}\n",
        "Where this book answers each item of two reporting guidelines for medical-imaging AI: CLAIM 2024 "
        "{cite:p}`tejani2024claim`, all 44 items, and the items of TRIPOD+AI {cite:p}`collins2024tripod` that bear on "
        "an image classifier developed and tested on public datasets. Each item links the sections of this build that "
        "answer it, or says why it is not reported by the paper or not applicable. The page is generated by "
        "`synthaug book` from the table in `synthaug_utils.presentation.checklist`, and every link is checked against "
        "the built pages.\n",
    ]
    for checklist in (CLAIM, TRIPOD):
        out += [f"## {checklist}\n", "| # | item | where this book answers it | status |", "|---|---|---|---|"]
        for item in (i for i in ITEMS if i.checklist == checklist):
            where = "; ".join(_link(book_dir, page, heading) for page, heading in item.where) or "-"
            status = item.status + (f": {item.note}" if item.note else "")
            out.append(f"| {item.number} | {_cell(item.text)} | {where} | {_cell(status)} |")
        out.append("")
    return "\n".join(out)


def write_checklist_page(book_dir: Path) -> Path:
    """Write ``<book_dir>/checklist.md`` for the pages built there; return its path."""
    from synthaug_utils.core.files import atomic_write_text

    return atomic_write_text(Path(book_dir) / CHECKLIST_PAGE, checklist_markdown(Path(book_dir)))


# ----------------------------------------------------------------------------- the table against the sources
def source_headings(root: Path) -> dict[str, list[str]]:
    """Heading texts of every page the table may name, read from the repository's sources: the static
    pages (``book/*.md``), the Methods page as generated for the demo profile, and the chapters'
    jupytext sources (``notebooks/<id>.py``)."""
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.presentation.methods import methods_markdown

    pages = {path.stem: [t for _, t in page_headings(path)] for path in sorted((root / "book").glob("*.md"))}
    pages[chapters.METHODS.id] = [t for _, t in markdown_headings(methods_markdown(load_profile("demo")))]
    for chapter in chapters.notebooks():
        path = root / chapter.source
        if path.is_file():
            pages[chapter.id] = [t for _, t in page_headings(path)]
    return pages


def missing_sections(root: Path) -> list[str]:
    """``"page: heading"`` of every pair in :data:`ITEMS` whose page or heading the sources lack."""
    pages = source_headings(root)
    missing = []
    for item in ITEMS:
        for page, heading in item.where:
            if page not in pages or (heading is not None and heading not in pages[page]):
                missing.append(f"{item.checklist} {item.number}: {page}: {heading}")
    return missing
