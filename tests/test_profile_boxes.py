"""Every page says which profile, data and models it shows (issue 26, point 3).

Unit tests of :func:`profile_box` for each kind of build (the stand-in world, the paper profile on real
data, a bring-your-own dataset, the rehearsal), of the dataset settings ``main_data_name`` and
``main_data_citation``, and of the notebooks' sources; then, on built books, that every chapter page
carries exactly its own profile's box and no other: the smoke book, and the rehearsal's paper-profile
and bring-your-own books.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from synthaug_utils.core import config
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.paths import REHEARSAL_MARKER_DIR, REHEARSAL_WORLD_FILE, project_root
from synthaug_utils.presentation import book, methods
from synthaug_utils.presentation import profile_box as pb

ROOT = project_root()
CHAPTERS = [Path(f).name for f in book.chapter_names(ROOT / "_toc.yml")]
PAGES = CHAPTERS + [Path(methods.METHODS_PAGE).stem]  # every page built for the profile
BOX_CLASS = re.compile(r'class="[^"]*\bprofile-box\b[^"]*"')
KIND_CLASS = re.compile(r"\bprofile-(stand-in|paper|byo|rehearsal)\b")

# Location environment variables: a test's config decides every location.
LOCATION_VARS = [env for env, _default, _what in config.PAPER_LOCATIONS.values()]


@pytest.fixture
def no_location_env(monkeypatch, tmp_path):
    for var in LOCATION_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "cache"))


def _paper(tmp_path: Path, **keys) -> config.Profile:
    cfg = tmp_path / "paper.yml"
    cfg.write_text("".join(f"{k}: {json.dumps(str(v))}\n" for k, v in keys.items()))
    return config.load_profile("paper", config=cfg)


def _class_folders(root: Path, counts: dict[str, int] | None = None) -> Path:
    """Class folders of seeded noise images (no two near-duplicates)."""
    import numpy as np
    from PIL import Image

    for i, (label, n) in enumerate((counts or {"acne": 1, "eczema": 1}).items()):
        (root / label).mkdir(parents=True)
        for j in range(n):
            pixels = np.random.default_rng([i, j]).integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{j}.png")
    return root


def _f17k_files(root: Path) -> dict[str, Path]:
    (root / "fitz_metadata").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "fitzpatrick17k.csv").write_text("md5hash,label\n")
    return {
        "f17k_metadata": root / "fitzpatrick17k.csv",
        "f17k_splits": root / "fitz_metadata",
        "f17k_images": root / "images",
    }


def _fake_world(root: Path) -> Path:
    """The marks `synthaug rehearse` leaves on its world (the record and the marker folder)."""
    (root / REHEARSAL_MARKER_DIR).mkdir(parents=True)
    (root / REHEARSAL_WORLD_FILE).write_text("{}")
    return root


def kinds_named(text: str) -> set[str]:
    return set(KIND_CLASS.findall(text))


def shown_text(page: str) -> str:
    """A page's text as read: tags dropped (glued values sit in their own spans), entities decoded."""
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


# ----------------------------------------------------------------------------- the box, per kind
@pytest.mark.parametrize("name", ["demo", "smoke"])
def test_the_stand_in_profiles_say_so_and_name_themselves(name):
    P = config.load_profile(name)
    assert pb.box_kind(P) == "stand-in"
    for chapter in CHAPTERS:
        box = pb.profile_box(P, chapter)
        assert box.startswith(f"~~~{{admonition}} Profile `{name}`:") and box.endswith("~~~")
        assert kinds_named(box) == {"stand-in"}
        assert "stand-in world" in box and "not medical findings" in box and P.dataset in box
        assert "random weights" not in box and "Methods page" not in box
        other = "smoke" if name == "demo" else "demo"
        assert f"`{other}`" not in box
    assert "published metadata" in pb.profile_box(P, "01_data")  # the chapter's own sentence
    assert "shape" in pb.profile_box(P, "08_reproduction_report")


def test_the_paper_box_names_the_real_data_and_models_without_the_machine_s_paths(tmp_path, no_location_env):
    files = _f17k_files(tmp_path / "f17k")
    P = _paper(tmp_path, **files)
    assert pb.box_kind(P) == "paper"
    box = pb.profile_box(P, "08_reproduction_report")
    assert kinds_named(box) == {"paper"} and "Profile `paper`: real data and models" in box
    from synthaug_utils.core.files import file_digest

    assert f"`fitzpatrick17k.csv` (blake2b {file_digest(files['f17k_metadata'])[:12]})" in box  # the data's version
    assert "`fitz_metadata`" in box and "DDI slot (Fig. 5): not supplied" in box
    assert "stable-diffusion-2-1-base" in box and "efficientnet_v2_m" in box and "ViT-B-32" in box
    assert str(tmp_path) not in box  # names, never the build machine's folders
    assert "stand-in" not in box and "random weights" not in box and "`demo`" not in box
    assert "compared with the paper's" in box  # the paper's own data: values are compared


def test_a_bring_your_own_box_names_the_dataset_where_it_came_from_and_its_citation(tmp_path, no_location_env):
    folders = _class_folders(tmp_path / "clinic")
    P = _paper(
        tmp_path,
        main_data=folders,
        main_data_name="Clinic photos 2024",
        main_data_citation="Doe et al., J. Derm. 2024.",
    )
    assert pb.box_kind(P) == "byo" and config.main_data_name(P) == "Clinic photos 2024"
    box = pb.profile_box(P, "03_real_vs_synthetic")
    assert kinds_named(box) == {"byo"} and "your own dataset: Clinic photos 2024" in box
    assert (
        "the class folders in `clinic`" in box
        and f"stored as `{P.dataset}`" in box
        and P.dataset.startswith("byo-clinic-")
    )
    assert "Source: Doe et al., J. Derm. 2024." in box
    assert "not the values" in box and "F17k-9 (" not in box and "stand-in" not in box
    # without a name: the folder's name; a table: the file's name
    (tmp_path / "plain").mkdir()
    assert config.main_data_name(_paper(tmp_path / "plain", main_data=folders)) == "clinic"
    table = tmp_path / "mine.csv"
    table.write_text("path,label\nclinic/acne/0.png,acne\nclinic/eczema/0.png,eczema\n")
    (tmp_path / "table").mkdir()
    P = _paper(tmp_path / "table", main_data=table)
    assert config.main_data_name(P) == "mine.csv" and "the table `mine.csv`" in pb.profile_box(P, "01_data")
    assert "Source:" not in pb.profile_box(P, "01_data")


def test_a_profile_on_a_rehearsal_world_says_the_numbers_mean_nothing(tmp_path, no_location_env):
    world = _fake_world(tmp_path / "world")
    files = _f17k_files(world / "fitzpatrick17k")
    P = _paper(tmp_path, **files)
    assert pb.box_kind(P) == "rehearsal"
    box = pb.profile_box(P, "03_real_vs_synthetic")
    assert kinds_named(box) == {"rehearsal"} and "random weights, the numbers mean nothing" in box
    assert "`synthaug rehearse`" in box and "(the folder `world`)" in box and "Fitzpatrick17k rows" in box
    assert "stand-in" not in box and "real data and models" not in box
    # its bring-your-own book: the rehearsal box, naming the dataset
    folders = _class_folders(world / "byo" / "folders")
    (tmp_path / "byo").mkdir()
    P = _paper(tmp_path / "byo", main_data=folders, main_data_name="Rehearsal lesion folders")
    box = pb.profile_box(P, "01_data")
    assert pb.box_kind(P) == "rehearsal" and kinds_named(box) == {"rehearsal"}
    assert "**Rehearsal lesion folders**" in box and "F17k-9 (" not in box
    assert "its numbers are real" in box  # chapter 01's real-metadata section


def test_every_chapter_has_its_entry_and_an_unknown_chapter_is_refused():
    assert sorted(pb.CHAPTER_NOTES) == sorted(PAGES)
    with pytest.raises(ValueError, match="no profile box for chapter"):
        pb.profile_box(config.load_profile("smoke"), "09_nothing")
    # a chapter that did not run shows the box without the chapter's sentences
    P = config.load_profile("smoke")
    assert "shape" not in pb.profile_box(P, "08_reproduction_report", with_note=False)


def test_a_chapter_that_did_not_run_still_carries_its_profile_box(tmp_path, no_location_env):
    book.stage_root(tmp_path)
    book._skip_chapters_without_inputs(
        ["05_skin_type"], CHAPTERS, tmp_path, config.load_profile("paper", overrides={"device": "cpu"})
    )
    cell = json.loads((tmp_path / "book" / "05_skin_type.ipynb").read_text())["cells"][0]["source"]
    text = "".join(cell)
    box = pb.profile_box(config.load_profile("paper", overrides={"device": "cpu"}), "05_skin_type", with_note=False)
    assert box in text and text.index(box) < text.index("This chapter was not run")


def test_the_notebooks_glue_their_box_and_type_no_profile_sentence():
    for name in CHAPTERS:
        source = (ROOT / "notebooks" / f"{name}.py").read_text()
        assert "glue_profile_box(" in source and f'"{name}")' in source, name
        assert "# ```{glue:md} profile_box\n# :format: myst\n# ```" in source, name
        for fixed in (
            "admonition} Demo profile",
            "On the `demo` profile",
            "On the `demo` and `smoke` profiles",
            "Where the demo profile departs",
        ):
            assert fixed not in source, (name, fixed)
    data = (ROOT / "notebooks" / "01_data.py").read_text()
    assert "# # Data (Fig. 1A)\n" in data and "F17k-9 and DDI" not in data
    assert "(40 per label)" not in data and "32 images per skin-tone bin" not in data  # the numbers are glued


# ----------------------------------------------------------------------------- the dataset settings
def test_main_data_name_and_citation_are_checked(tmp_path, no_location_env):
    folders = _class_folders(tmp_path / "clinic")
    for bad, why in (
        ("a `name`", "not plain text"),
        ("x" * 81, "longer than 80"),
        ("two\nlines", "one line"),
        ("  ", "non-empty"),
    ):
        (tmp_path / "cfg").mkdir(exist_ok=True)
        with pytest.raises(config.ProfileError, match=why):
            _paper(tmp_path / "cfg", main_data=folders, main_data_name=bad)
    with pytest.raises(config.ProfileError, match="main_data_citation=.*longer than 500"):
        config.load_profile("paper", overrides={"main_data_citation": "c" * 501})
    with pytest.raises(config.ProfileError, match="describes a bring-your-own main dataset"):
        config.load_profile("paper", overrides={"main_data_name": "Mine"})  # no main_data
    with pytest.raises(config.ProfileError, match="did you mean 'main_data_name'"):
        (tmp_path / "typo").mkdir()
        _paper(tmp_path / "typo", main_data=folders, main_data_nam="Mine")
    assert isinstance(config.ProfileError("x"), UserFacingError)
    # an override wins over the config file's top-level key
    (tmp_path / "both").mkdir()
    cfg = tmp_path / "both" / "paper.yml"
    cfg.write_text(f"main_data: {folders}\nmain_data_name: From the file\n")
    assert (
        config.load_profile("paper", config=cfg, overrides={"main_data_name": "From the call"}).main_data_name
        == "From the call"
    )


def test_the_data_chapter_opening_comes_from_the_dataset_used(tmp_path, no_location_env):
    from synthaug_utils.data import splits as data_splits
    from synthaug_utils.presentation import prose

    folders = _class_folders(tmp_path / "clinic", {"acne": 7, "eczema": 8, "psoriasis": 6})
    cfg = tmp_path / "paper.yml"
    cfg.write_text(f"main_data: {folders}\nmain_data_name: Clinic photos\n")
    P = config.load_profile("paper", config=cfg, overrides={"device": "cpu", "test_per_label": 2, "val_per_label": 1})
    tables = data_splits.dataset_tables(P, "main")
    opening = prose.data_opening(P, tables, data_splits.load_splits(P, "main", 0))
    assert opening["data_name"].startswith(
        "Clinic photos, bring-your-own data (3 labels, read from the class folders in clinic"
    )
    assert P.dataset in opening["data_name"]
    assert (
        opening["data_split_rule"].startswith("2 test images per label are held out")
        and "1 validation images per label" in opening["data_split_rule"]
    )
    smoke = config.load_profile("smoke")
    opening = prose.data_opening(
        smoke, data_splits.dataset_tables(smoke, "main"), data_splits.load_splits(smoke, "main", 0)
    )
    assert "stand-in world demo-derm9" in opening["data_name"]
    assert f"({smoke.world.test_per_class} per label)" in opening["data_split_rule"]
    assert f"{smoke.val_per_label} validation images per label" in opening["data_split_rule"]


# ----------------------------------------------------------------------------- built books
def page_boxes(html_dir: Path) -> dict[str, list[str]]:
    """Page -> the classes of every profile box on it."""
    found = {}
    for name in PAGES:
        page = (html_dir / "book" / f"{name}.html").read_text()
        found[name] = BOX_CLASS.findall(page)
    return found


def check_book(html_dir: Path, kind: str, profile: str, own: list[str], others: list[str]) -> None:
    """Each chapter page and the Methods page has exactly one profile box, of ``kind``, naming ``profile``
    and every text in ``own``; no page names another kind of box or any text in ``others``."""
    for name, boxes in page_boxes(html_dir).items():
        assert len(boxes) == 1, f"{name}: {len(boxes)} profile boxes"
        assert kinds_named(boxes[0]) == {kind}, (name, boxes[0])
        page = (html_dir / "book" / f"{name}.html").read_text()
        assert kinds_named(page) == {kind}, name
        assert f'<code class="docutils literal notranslate"><span class="pre">{profile}</span></code>' in page, name
        shown = shown_text(page)
        for text in own:
            assert text in page or text in shown, (name, text)
        for text in others:
            assert text not in page and text not in shown, (name, text)
        assert "{glue:" not in page and "```" not in page and "~~~" not in page, name  # the glued box rendered


STAND_IN_TEXTS = ["synthetic stand-in world", "not medical findings"]
REHEARSAL_TEXTS = ["random weights, the numbers mean nothing"]
PAPER_TEXTS = ["real data and models"]


@pytest.mark.slow
def test_the_smoke_book_shows_only_the_smoke_box(smoke_book):
    html = smoke_book.html
    check_book(
        html,
        "stand-in",
        "smoke",
        ["not medical findings"],
        REHEARSAL_TEXTS + PAPER_TEXTS + ["On the <code", "demo</span></code> profile"],
    )
    page = (html / "book" / "01_data.html").read_text()
    data = shown_text(page)
    assert "Data (Fig. 1A)" in data and "F17k-9 and DDI" not in data
    smoke = config.load_profile("smoke")
    assert "main dataset is the synthetic stand-in world demo-derm9" in data
    assert (
        f"({smoke.world.test_per_class} per label)" in data
        and f"{smoke.val_per_label} validation images per label" in data
    )
    assert f"take {smoke.ddi_per_bin} and {smoke.ddi_per_bin} images per skin-tone bin" in data
    assert 'href="#real-metadata"' in page  # the box's cross-reference resolved


@pytest.mark.slow
def test_the_rehearsal_books_show_only_the_rehearsal_box_and_their_own_dataset(rehearsal_books):
    from synthaug_utils.rehearsal.run import BYO_DESCRIPTION

    html = rehearsal_books["html"]
    check_book(
        html,
        "rehearsal",
        "paper",
        ["Fitzpatrick17k rows"],
        STAND_IN_TEXTS + PAPER_TEXTS + ["demo</span></code> profile", BYO_DESCRIPTION["main_data_name"]],
    )
    assert "main dataset is F17k-9 (f17k9)" in shown_text((html / "book" / "01_data.html").read_text())
    byo = rehearsal_books["byo_html"]
    name = BYO_DESCRIPTION["main_data_name"]
    check_book(byo, "rehearsal", "paper", [name], STAND_IN_TEXTS + PAPER_TEXTS + ["Fitzpatrick17k rows"])
    data = shown_text((byo / "book" / "01_data.html").read_text())
    assert f"main dataset is {name}, bring-your-own data" in data and "F17k-9 (f17k9)" not in data
    assert BYO_DESCRIPTION["main_data_citation"] in data
    assert "3 test images per label" in data  # the byo rehearsal's test_per_label, glued


def test_figure_notes_say_stand_in_rehearsal_or_nothing(tmp_path):
    from types import SimpleNamespace

    from synthaug_utils.core import paths, vocabulary
    from synthaug_utils.core.config import load_profile

    assert vocabulary.figure_note(load_profile("smoke")) == vocabulary.DEMO_NOTE
    paper = SimpleNamespace(is_embedded=False, locations={"f17k_images": str(tmp_path / "images")})
    assert vocabulary.figure_note(paper) is None
    world = tmp_path / "world"
    (world / "images").mkdir(parents=True)
    (world / paths.REHEARSAL_WORLD_FILE).write_text("{}")
    (world / paths.REHEARSAL_MARKER_DIR).mkdir()
    rehearsal = SimpleNamespace(is_embedded=False, locations={"f17k_images": str(world / "images")})
    assert vocabulary.figure_note(rehearsal) == vocabulary.REHEARSAL_NOTE
