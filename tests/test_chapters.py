"""The chapter registry (``synthaug_utils.core.chapters``) is the one place that names the book's chapters.

The ids are written in no other module of the package; ``_toc.yml``, the titles, the figures and the grids
agree with it; and a chapter is added by one registry entry plus its notebook: a toy chapter in a temporary
copy of the book's sources reaches the table of contents, the schedule, the captions, the missing-inputs
page, the profile box and the Methods page.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from synthaug_utils.core import chapters, vocabulary
from synthaug_utils.core.config import PAPER_LOCATIONS, load_profile
from synthaug_utils.core.inputs import DATA_SLOTS, grid_available
from synthaug_utils.core.paths import PACKAGE_DIR, project_root
from synthaug_utils.presentation import book, checklist, figures, methods
from synthaug_utils.presentation import profile_box as pb

ROOT = project_root()
CHAPTER_ID = re.compile(r"0[1-8]_[a-z]")


def test_the_chapter_ids_are_spelled_in_the_registry_only():
    spelled = sorted(
        f"{path.relative_to(PACKAGE_DIR)}:{number}"
        for path in PACKAGE_DIR.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CHAPTER_ID.search(line)
    )
    assert spelled and all(s.startswith(str(Path("core") / "chapters.py")) for s in spelled), [
        s for s in spelled if not s.startswith(str(Path("core") / "chapters.py"))
    ]
    # and the registry does spell every notebook chapter
    assert [c.id for c in chapters.notebooks()] == sorted(p.stem for p in (ROOT / "notebooks").glob("*.py"))


def test_the_committed_toc_is_the_registrys():
    text = (ROOT / "_toc.yml").read_text()
    assert text == chapters.toc_text(), "run `synthaug book` (or write chapters.toc_text() to _toc.yml)"
    toc = yaml.safe_load(text)
    assert toc == chapters.toc()
    assert toc["root"] == chapters.INTRO.page
    assert [p["caption"] for p in toc["parts"]] == ["Data and generation", "Results", "Reproduction", "Reporting"]
    files = [e["file"] for p in toc["parts"] for e in p["chapters"]]
    assert files == [c.page for c in chapters.all_pages() if c is not chapters.INTRO]
    assert [Path(f).name for f in book.chapter_names(ROOT / "_toc.yml")] == chapters.notebook_ids()


def test_the_titles_are_the_pages_first_headings():
    for c in chapters.all_pages():
        if c.is_notebook:
            heading = next(x for x in (ROOT / c.source).read_text().splitlines() if x.startswith("# # "))[4:]
        elif c.kind == chapters.PAGE:
            heading = (ROOT / "book" / f"{c.id}.md").read_text().splitlines()[0][2:]
        else:  # a generated page writes its heading from the registry's title
            continue
        assert heading.strip() == c.title, c.id
    assert checklist.checklist_markdown(ROOT / "book").startswith(f"# {chapters.CHECKLIST.title}\n")
    assert methods.METHODS_PAGE == f"{chapters.METHODS.id}.md" and checklist.CHECKLIST_PAGE == "checklist.md"


def test_every_grid_has_one_chapter_and_every_input_is_known():
    for grid in vocabulary.GRIDS:
        owners = [c for c in chapters.notebooks() if grid in c.grids]
        assert len(owners) == 1 and chapters.by_grid(grid) is owners[0], grid
    assert chapters.by_grid("fig3") is chapters.REAL_VS_SYNTHETIC and chapters.by_grid("nothing") is None
    known = set(DATA_SLOTS) | set(PAPER_LOCATIONS)
    order = chapters.notebook_ids()
    for c in chapters.notebooks():
        assert set(c.requires + c.optional) <= known, c.id
        assert all(order.index(r) < order.index(c.id) for r in c.reads), c.id  # reads what runs before it
    assert [c.id for c in chapters.notebooks() if c.reads_book] == [chapters.REPORT.id]


def _shown_figures(source: Path) -> set[str]:
    """Figure keys a notebook passes to ``show_figure`` (its second argument, a string literal)."""
    keys = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "show_figure":
            key = node.args[1] if len(node.args) > 1 else next(k.value for k in node.keywords if k.arg == "key")
            assert isinstance(key, ast.Constant), f"{source.name}: show_figure's key is not a literal"
            keys.add(key.value)
    return keys


def test_each_chapter_shows_exactly_its_registered_figures():
    for c in chapters.notebooks():
        assert _shown_figures(ROOT / c.source) == {f.key for f in c.figures}, c.id
    assert len(chapters.figures()) == sum(len(c.figures) for c in chapters.all_pages())  # keys are unique
    chapter, figure = chapters.for_figure("fig5")
    assert chapter is chapters.SKIN_TYPE and figure.number == "5"
    number, caption = figures.caption_text("fig2b")
    assert number == "2B" and caption == "The same PCA coloured by origin (real, or the synthetic source)."
    with pytest.raises(KeyError, match="no caption for figure"):
        figures.caption_text("no_such_figure")


TOY_NOTEBOOK = """# %% [markdown]
# # A toy chapter (Fig. T1)

# %% tags=["parameters"]
profile = "smoke"
config = None
overrides = {}

# %% [markdown]
# ## What it shows
"""


@pytest.fixture
def toy_book(tmp_path, monkeypatch):
    """A copy of the book's sources with one more chapter: its notebook and its registry entry."""
    source = tmp_path / "source"
    (source / "notebooks").mkdir(parents=True)
    shutil.copy2(ROOT / "_config.yml", source / "_config.yml")
    shutil.copytree(ROOT / "book", source / "book", ignore=shutil.ignore_patterns("*.ipynb", "_build", "figures"))
    for c in chapters.notebooks():
        shutil.copy2(ROOT / c.source, source / c.source)
    toy = chapters.Chapter(
        "09_toy",
        "A toy chapter (Fig. T1)",
        chapters.RESULTS,
        requires=("main", "clip_weights"),
        grids=("toy-grid",),
        reads=(chapters.GENERATION.id,),
        figures=(chapters.Figure("toy_points", "T1", "Toy points: {toy_n} of them."),),
    )
    (source / toy.source).write_text(TOY_NOTEBOOK)
    pages = list(chapters.CHAPTERS)
    pages.insert(pages.index(chapters.EMBEDDINGS) + 1, toy)  # the registry entry, where the book shows it
    monkeypatch.setattr(chapters, "CHAPTERS", tuple(pages))
    monkeypatch.setattr(book, "source_root", lambda: source)
    return source, toy


def test_a_new_chapter_is_one_registry_entry_and_its_notebook(toy_book, tmp_path, monkeypatch):
    source, toy = toy_book
    root = book.stage_root(tmp_path / "build")
    # the table of contents: in its part, after the chapter before it in the registry
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    results = next(p for p in toc["parts"] if p["caption"] == chapters.RESULTS)
    assert results["chapters"][-1] == {"file": toy.page}
    names = [Path(f).name for f in book.chapter_names(root / "_toc.yml")]
    assert names == chapters.notebook_ids() and names[-2:] == [toy.id, chapters.REPORT.id]
    # the schedule: after the first chapter and the one it reads; the report waits for it
    assert not book._ready(toy.id, names, names, {names[0]})
    assert book._ready(toy.id, names, names, {names[0], chapters.GENERATION.id})
    assert not book._ready(chapters.REPORT.id, names, names, set(names) - {toy.id, chapters.REPORT.id})
    assert book.chapter_fingerprint(toy.id, "smoke") != book.chapter_fingerprint(chapters.EMBEDDINGS.id, "smoke")
    # the captions and the grid
    assert figures.caption_text("toy_points", {"toy_n": "3"}) == ("T1", "Toy points: 3 of them.")
    assert chapters.for_figure("toy_points")[0] is toy and chapters.by_grid("toy-grid") is toy
    # its headings for the checklist, its line on the Methods page, its profile box
    monkeypatch.setattr(methods, "methods_markdown", lambda P: f"# {chapters.METHODS.title}\n")
    assert checklist.source_headings(source)[toy.id] == ["A toy chapter (Fig. T1)", "What it shows"]
    row = f"| {toy.title} | `main`, `clip_weights` | - | `toy-grid` | Data, Generation |"
    assert row in methods.chapters_markdown()
    assert "stand-in world" in pb.profile_box(load_profile("smoke"), toy.id)
    # papermill executes it from its notebook into the book
    run = book.execute_notebook(toy.id, root, "smoke")
    assert run.executed and "What it shows" in (root / "book" / f"{toy.id}.ipynb").read_text()
    # without its inputs it is not run, and its page says so under its title
    for env, _default, _what in PAPER_LOCATIONS.values():
        monkeypatch.delenv(env, raising=False)
    P = load_profile("paper", overrides={"device": "cpu"})
    assert not grid_available(P, "toy-grid")
    assert book._skip_chapters_without_inputs([toy.id], names, root, P) == []
    page = json.loads((root / "book" / f"{toy.id}.ipynb").read_text())
    text = "".join(page["cells"][0]["source"])
    assert text.startswith(f"# {toy.title}\n") and "This chapter was not run" in text and "clip_weights" in text
