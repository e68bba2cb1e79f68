"""The book's chapters and pages, in one table (:data:`CHAPTERS`, in the order the book shows them).

Each :class:`Chapter` names a page of the book: its id (the notebook's and the page's file name), its
title, the part of the table of contents it sits under, and, for a chapter executed from a notebook,
what it needs and does: the inputs it requires or uses when present, the grids it runs, the chapters
whose results it reads, the repository files it shows and its figures with their captions. Everything
else reads this table: ``_toc.yml`` (written by ``synthaug book``, :func:`toc_text`), the scheduler and
the missing-inputs pages (``presentation.book``), the figure captions (``presentation.figures``), the
profile boxes, the checklist's links and the Methods page.

Other modules name a chapter by its role (:data:`DATA`, :data:`REPORT`, ...), by a grid it runs
(:func:`by_grid`) or by a figure it shows (:func:`for_figure`), never by spelling its id, so the ids
are written here only. (Running a chapter's grids is another concern: :mod:`synthaug_utils.experiments.chapters`.)

Adding a chapter: write its notebook ``notebooks/<id>.py`` (a jupytext percent source whose first
heading is the title) and add one :class:`Chapter` to :data:`CHAPTERS` where the book shows it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

NOTEBOOK = "notebook"  # executed from notebooks/<id>.py by papermill into book/<id>.ipynb
PAGE = "page"  # a static Markdown page, book/<id>.md
GENERATED = "generated"  # a Markdown page that ``synthaug book`` writes into book/<id>.md
KINDS = (NOTEBOOK, PAGE, GENERATED)

BOOK_DIR = "book"
NOTEBOOK_DIR = "notebooks"


@dataclass(frozen=True)
class Figure:
    """A numbered figure a chapter shows: its key (file name and anchor), number and caption.

    ``caption`` is a template naming keys of the values the chapter passes to ``show_figure`` (its glued
    highlights), so a caption's numbers are the page's glued numbers. Figures the paper does not have are
    numbered E1, E2, ...
    """

    key: str
    number: str
    caption: str


@dataclass(frozen=True)
class Chapter:
    """One page of the book.

    ``part``: the caption of the table of contents part it sits under (None: the book's front page).
    ``requires`` and ``optional``: the inputs it reads on a non-embedded profile, each a data slot
    (``main``, ``ddi``: ``core.inputs.DATA_SLOTS``) or a location key of ``config.PAPER_LOCATIONS``; a
    chapter missing a required input is not executed, and the book shows a page naming what is missing;
    optional inputs are used when present (the chapter says what it left out). ``grids``: the named grids
    it runs (a grid's inputs are its chapter's required inputs). ``reads``: ids of chapters whose results it
    reads; it starts after them. ``reads_book``: it reads every other chapter's executed notebook, so it
    starts after all of them, runs again whenever any of them runs, and gets the parameter ``book_dir`` when
    its parameters cell declares it. ``files``: repository files outside the package whose contents it shows
    (part of its fingerprint; ``{profile}`` stands for the profile's name).
    """

    id: str
    title: str
    part: str | None
    kind: str = NOTEBOOK
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    reads_book: bool = False
    files: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()

    @property
    def is_notebook(self) -> bool:
        return self.kind == NOTEBOOK

    @property
    def source(self) -> str | None:
        """The notebook's jupytext source, relative to the repository root (None for a Markdown page)."""
        return f"{NOTEBOOK_DIR}/{self.id}.py" if self.is_notebook else None

    @property
    def page(self) -> str:
        """The page as ``_toc.yml`` names it (relative to the book's root, no suffix)."""
        return f"{BOOK_DIR}/{self.id}"


# ----------------------------------------------------------------------------- the parts of the table of contents
DATA_AND_GENERATION = "Data and generation"
RESULTS = "Results"
REPRODUCTION = "Reproduction"
REPORTING = "Reporting"

# ----------------------------------------------------------------------------- the pages
INTRO = Chapter("intro", "synthaug: augmenting medical image classifiers with synthetic data", None, PAGE)

METHODS = Chapter("methods", "Methods: the protocol and this build", DATA_AND_GENERATION, GENERATED)

DATA = Chapter(
    "01_data",
    "Data (Fig. 1A)",
    DATA_AND_GENERATION,
    requires=("main",),
    optional=("ddi",),
    grids=("learning-curve",),
    figures=(
        Figure(
            "composition", "1A.1", "Images per label and split of the main dataset (training pool, validation, test)."
        ),
        Figure("fst", "1A.2", "Share of images per Fitzpatrick skin type within each split of the main dataset (%)."),
        Figure("ddi_composition", "1A.3", "Images per class (malignant, benign) and split of the DDI-style set."),
        Figure("ddi_fst", "1A.4", "Share of images per skin-tone bin within each split of the DDI-style set (%)."),
        Figure(
            "examples",
            "E1",
            "Not in the paper. One training-pool image per class (rows) and skin type (columns); blank where "
            "the pool has none of that type.",
        ),
        Figure(
            "learning_curve",
            "E2",
            "Not in the paper. Top-1 test accuracy (%, 95% Wald intervals) against real training images "
            "per class (log scale), no synthetic data; dashed: chance.",
        ),
    ),
)

GENERATION = Chapter(
    "02_generation",
    "Generation: four methods, two variants (Fig. 1B, Fig. S-4)",
    DATA_AND_GENERATION,
    requires=("main", "sd_text2image", "sd_inpaint"),
    figures=(
        Figure(
            "mask_geometry",
            "1B",
            "Top row: a source image and each method's mask (tinted: repainted pixels); bottom row: what "
            "each method makes from that source.",
        ),
        Figure("samples", "S-4", "Synthetic samples per class (rows), method and generator variant (columns)."),
        Figure(
            "gate_real",
            "E3",
            "Not in the paper. Share of text-to-image samples that a classifier trained on real images "
            "assigns to the prompted class, per class and generator; dashed: chance.",
        ),
        Figure(
            "gate_autoencoded",
            "E4",
            "Not in the paper. The same share for a classifier trained on autoencoded real images "
            "(the generator's own image space); dashed: chance.",
        ),
        Figure(
            "mask_mad",
            "E5",
            "Not in the paper. Mean absolute difference between output and source (grey levels, 0-255) "
            "inside and outside the mask, per method and generator variant.",
        ),
        Figure("generation_cost", "E6", "Not in the paper. Images generated per second on this machine, per method."),
    ),
)

REAL_VS_SYNTHETIC = Chapter(
    "03_real_vs_synthetic",
    "Real vs synthetic training data (Fig. 3, Fig. S-1)",
    RESULTS,
    requires=("main", "sd_text2image", "sd_inpaint", "classifier_weights"),
    optional=("released_synthetic",),
    grids=("fig3", "controls"),
    figures=(
        Figure(
            "fig3",
            "3",
            "Test accuracy (%, 95% Wald intervals) against real training images per class, one panel per "
            "synthetic source; grey: no synthetic images; solid lines with image transforms, dashed without. "
            "Stars: the primary analysis (paired difference with run and test-image variance, BH-adjusted) against "
            "no synthetic data at the same n. Largest gain "
            "{f3_best_gain:+.1f} pp ({f3_best_method}, n = {f3_best_n}, BH p = {f3_best_p}).",
        ),
        Figure(
            "figS1",
            "S-1",
            "Accuracy gain over no synthetic data (percentage points) per disease and synthetic source, "
            "pooled over the n and transforms grid.",
        ),
        Figure(
            "mode_gap",
            "E7",
            "Not in the paper. Top-1 accuracy (%) of the same trials in fast mode (y) and with the faithful "
            "fastai recipe (x); dashed: equality. Mean fast minus faithful: {mode_mean_diff}.",
        ),
    ),
)

DOSE_RESPONSE = Chapter(
    "04_dose_response",
    "Dose-response and saturation (Fig. 4)",
    RESULTS,
    requires=("main", "sd_text2image", "classifier_weights"),
    optional=("released_synthetic",),
    grids=("fig4",),
    figures=(
        Figure(
            "fig4",
            "4",
            "Test accuracy (%, 95% Wald intervals) against synthetic (text-to-image) images per real image, one "
            "panel per n real images per class; solid with image transforms, dashed without. Stars: the primary "
            "analysis (BH-adjusted) against ratio 0. Largest gain {f4_best_gain:+.1f} pp (ratio {f4_best_ratio}, "
            "n = {f4_best_n}).",
        ),
    ),
)

SKIN_TYPE = Chapter(
    "05_skin_type",
    "Malignancy classification by skin type (Fig. 5)",
    RESULTS,
    requires=("ddi", "sd_inpaint", "classifier_weights"),
    optional=("released_synthetic",),
    grids=("fig5",),
    figures=(
        Figure(
            "fig5",
            "5",
            "Malignant-vs-benign test accuracy (%, 95% Wald intervals) per skin-tone bin, bars per synthetic "
            "source, one panel per transforms setting. Stars: the primary analysis (BH-adjusted) against no "
            "synthetic data. "
            "{f5_n_above_zero} of {f5_n_tests} comparisons show a gain whose 95% interval lies above zero.",
        ),
    ),
)

CLASS_IMBALANCE = Chapter(
    "06_class_imbalance",
    "Class imbalance (Fig. S-2)",
    RESULTS,
    requires=("main", "sd_inpaint", "classifier_weights"),
    optional=("released_synthetic",),
    grids=("imbalance", "imbalance-controls"),
    figures=(
        Figure(
            "figS2",
            "S-2",
            "Accuracy (%, 95% Wald intervals on the distinct test images behind each point) on the rare label "
            "(left) and overall (right) against the real "
            "images kept of the rare label, pooled over rare labels and seeds: no rebalancing, duplicated real "
            "images, synthetic images. With {s2_smallest} rare images: {s2_synthetic:.1%} with synthetic images, "
            "{s2_duplicate:.1%} with duplication.",
        ),
    ),
)

EMBEDDINGS = Chapter(
    "07_embeddings",
    "Embeddings and the quality of synthetic sets (Fig. 2, Fig. S-3)",
    RESULTS,
    requires=("main", "sd_text2image", "sd_inpaint", "clip_weights"),
    reads=(REAL_VS_SYNTHETIC.id,),  # it embeds the synthetic sets of Fig. 3
    figures=(
        Figure(
            "fig2a",
            "2A",
            "PCA of the image embeddings of real and synthetic images, coloured by disease, with thumbnails.",
        ),
        Figure("fig2b", "2B", "The same PCA coloured by origin (real, or the synthetic source)."),
        Figure("figS3", "S-3", "UMAP of the image embeddings, coloured by disease."),
        Figure(
            "fig2c",
            "2C",
            "Cosine distances between embeddings (1 - cosine similarity) per pair group, with means and "
            "two BH-adjusted p-values against random real-real pairs: an image-level test (mean over all "
            "pairs, images resampled; it does not depend on the number of pairs drawn) and the paper's "
            "two-sample t-test on the drawn pairs (which counts pairs that share images as independent).",
        ),
        Figure(
            "quality",
            "E8",
            "Not in the paper. Quality of each synthetic set against the real images (all labels): Fréchet "
            "and kernel distances, k-NN precision and recall, and the share memorised.",
        ),
        Figure(
            "quality_gain",
            "E9",
            "Not in the paper. Per class and source: kernel distance of the synthetic images to the real "
            "images of the class (x) against the accuracy gain they brought (y, percentage points).",
        ),
    ),
)

REPORT = Chapter(
    "08_reproduction_report",
    "Reproduction report",
    REPRODUCTION,
    # it tabulates the results of the four results chapters, and compares the book's glued values with the
    # committed reference, so it reads every chapter's executed notebook
    reads=(REAL_VS_SYNTHETIC.id, DOSE_RESPONSE.id, SKIN_TYPE.id, CLASS_IMBALANCE.id),
    reads_book=True,
    files=(
        "benchmarks/paper_gpu_results.csv",
        "benchmarks/reference/{profile}.json",
        "benchmarks/reference/{profile}-other-kernels.json",
    ),
)

CHECKLIST = Chapter("checklist", "Reporting checklist", REPORTING, GENERATED)

DECISIONS = Chapter("decisions", "Decisions: why the embedded profiles differ from the paper", REPORTING, PAGE)

REFERENCES = Chapter("references", "References", REPORTING, PAGE)

# The book, in the order of its table of contents: the front page, then each part's pages.
CHAPTERS: tuple[Chapter, ...] = (
    INTRO,
    METHODS,
    DATA,
    GENERATION,
    REAL_VS_SYNTHETIC,
    DOSE_RESPONSE,
    SKIN_TYPE,
    CLASS_IMBALANCE,
    EMBEDDINGS,
    REPORT,
    CHECKLIST,
    DECISIONS,
    REFERENCES,
)


# ----------------------------------------------------------------------------- reading the table
def all_pages() -> tuple[Chapter, ...]:
    """Every page of the book in table-of-contents order (:data:`CHAPTERS`, read at call time)."""
    return CHAPTERS


def notebooks() -> tuple[Chapter, ...]:
    """The chapters executed from notebooks, in the book's order."""
    return tuple(c for c in all_pages() if c.is_notebook)


def notebook_ids() -> list[str]:
    """The ids of :func:`notebooks`."""
    return [c.id for c in notebooks()]


def find(chapter_id: str) -> Chapter | None:
    """The page with id ``chapter_id``, or None."""
    return next((c for c in all_pages() if c.id == chapter_id), None)


def get(chapter_id: str) -> Chapter:
    """The page with id ``chapter_id``; KeyError naming the known ids when there is none."""
    found = find(chapter_id)
    if found is None:
        raise KeyError(f"no chapter {chapter_id!r}; chapters: {[c.id for c in all_pages()]}")
    return found


def number(chapter_id: str) -> str:
    """A chapter's number in the book (its place among the notebook chapters: "1", "2", ...); any other
    name is returned as it is."""
    ids = notebook_ids()
    return str(ids.index(chapter_id) + 1) if chapter_id in ids else chapter_id


def by_grid(grid: str) -> Chapter | None:
    """The chapter that runs the named grid, or None."""
    return next((c for c in notebooks() if grid in c.grids), None)


def figures() -> dict[str, tuple[Chapter, Figure]]:
    """Every figure of the book by key, with the chapter that shows it."""
    return {f.key: (c, f) for c in all_pages() for f in c.figures}


def for_figure(key: str) -> tuple[Chapter, Figure]:
    """The chapter that shows figure ``key`` and the figure; KeyError naming the known keys when none does."""
    known = figures()
    if key not in known:
        raise KeyError(f"no caption for figure {key!r}; known: {sorted(known)}")
    return known[key]


def captions() -> dict[str, tuple[str, str]]:
    """Figure key -> (number, caption template), for every figure of the book."""
    return {key: (f.number, f.caption) for key, (_c, f) in figures().items()}


# ----------------------------------------------------------------------------- the table of contents
TOC_FILE = "_toc.yml"
TOC_HEADER = (
    "# Table of contents, written by `synthaug book` from the chapter registry (synthaug_utils/core/chapters.py):\n"
    "# edit the registry, not this file. Chapters are executed from notebooks/<id>.py by papermill.\n"
)


def toc() -> dict:
    """The jupyter-book table of contents as a mapping: the front page, then the parts in the book's order
    (consecutive pages with the same ``part`` form one part)."""
    pages = all_pages()
    roots = [c for c in pages if c.part is None]
    if len(roots) != 1:
        raise ValueError(f"the registry needs exactly one front page (part None); found {[c.id for c in roots]}")
    parts: list[dict] = []
    for c in pages:
        if c.part is None:
            continue
        if not parts or parts[-1]["caption"] != c.part:
            parts.append({"caption": c.part, "chapters": []})
        parts[-1]["chapters"].append({"file": c.page})
    return {"format": "jb-book", "root": roots[0].page, "parts": parts}


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain where that is unambiguous, else double-quoted (JSON is YAML)."""
    return text if re.fullmatch(r"[A-Za-z0-9][\w .,()/'-]*", text) else json.dumps(text)


def toc_text() -> str:
    """``_toc.yml``'s text for :func:`toc` (the layout jupyter-book's own files use)."""
    t = toc()
    lines = [TOC_HEADER.rstrip("\n"), f"format: {t['format']}", f"root: {_scalar(t['root'])}", "parts:"]
    for part in t["parts"]:
        lines += [f"  - caption: {_scalar(part['caption'])}", "    chapters:"]
        lines += [f"      - file: {_scalar(entry['file'])}" for entry in part["chapters"]]
    return "\n".join(lines) + "\n"
