"""The smoke-profile book builds end to end, and a failing notebook is reported by name and cell."""

import re

import pytest

from synthaug_utils.core.config import load_profile
from synthaug_utils.presentation import book, glue_registry, reference


@pytest.mark.slow
def test_smoke_book_builds_with_the_data_chapter_figures(smoke_book):
    tmp_path, html, runs = smoke_book.root, smoke_book.html, smoke_book.runs
    assert all(r.executed for r in runs)
    page = (html / "book" / "01_data.html").read_text()
    figures = re.findall(r'<img [^>]*src="[^"]+\.png"', page)
    assert len(figures) >= 5, "composition, FST and example-image figures must be embedded"
    assert "synthetic stand-in world" in page
    assert "demo-derm9" in page  # glued from the run
    assert (tmp_path / "book" / "01_data.ipynb").exists()
    assert (html / "index.html").exists()
    # a rebuild with nothing changed renders the executed chapters without running them again
    _, again = book.build_book("smoke", root=tmp_path)
    assert not any(r.executed for r in again)
    # a smoke reference of this build; a rebuild that re-executes 02 (it re-times generation and
    # re-samples images in memory) runs 08 again, which reads every chapter, and reproduces the values
    written = reference.write_reference(tmp_path / "book", tmp_path / "smoke.json")
    assert len(written["values"]) > 100 and written["timings"]
    assert not reference.unmarked_timings({**written["values"], **written["timings"]})
    # every glued value is registered with its unit, every registered one glued, raw numbers glued raw
    glued = {**written["values"], **written["timings"]}
    assert glue_registry.unregistered(glued) == [] and glue_registry.not_numbers(glued) == []
    assert [
        k
        for k in glue_registry.unglued(glued)
        if glue_registry.lookup(k).unit not in ("markdown", "table") and not reference.is_self(k)
    ] == []
    _, forced = book.build_book(
        "smoke", root=tmp_path, chapters=["02_generation", "08_reproduction_report"], force=True
    )
    assert [r.name for r in forced if r.executed] == ["02_generation", "08_reproduction_report"]
    ref, table, line = reference.build_comparison("smoke", tmp_path / "book", path=tmp_path / "smoke.json")
    # the same machine and thread counts: every value exactly (timings aside)
    assert reference.counts(table)["exact"] == len(written["values"]), table[~table.timing & (table.status != "exact")]
    assert line.startswith(f"reproduction: {reference.counts(table)['exact']} of {len(written['values'])} values match")
    page = (html / "book" / "08_reproduction_report.html").read_text()
    assert "There is no reference for profile smoke" in page  # none is committed for smoke


def test_chapter_fingerprint_follows_the_inputs(tmp_path, monkeypatch):
    base = book.chapter_fingerprint("01_data", "smoke")
    assert base == book.chapter_fingerprint("01_data", "smoke")
    assert base != book.chapter_fingerprint("01_data", "demo")
    assert base != book.chapter_fingerprint("01_data", "smoke", overrides={"seeds": [0]})
    assert base != book.chapter_fingerprint("02_generation", "smoke")
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "elsewhere"))
    assert base != book.chapter_fingerprint("01_data", "smoke")  # another cache holds other results
    executed = tmp_path / "x.ipynb"
    executed.write_text('{"cells": [], "metadata": {"synthaug": {"fingerprint": "abc"}}}')
    assert (
        book.executed_fingerprint(executed) == "abc" and book.executed_fingerprint(tmp_path / "missing.ipynb") is None
    )


def test_failing_notebook_names_the_notebook_and_cell(tmp_path):
    book.stage_root(tmp_path)
    with pytest.raises(book.BookBuildError) as info:
        book.execute_notebook("01_data", tmp_path, "smoke", overrides={"no_such_field": 1})
    msg = str(info.value)
    assert "01_data.py" in msg and "cell" in msg and "no_such_field" in msg
    assert not (tmp_path / "book" / "01_data.ipynb").exists()  # nothing half-written in place


CHAPTERS = [
    "01_data",
    "02_generation",
    "03_real_vs_synthetic",
    "04_dose_response",
    "05_skin_type",
    "06_class_imbalance",
    "07_embeddings",
    "08_reproduction_report",
]


def test_chapters_start_only_after_the_chapters_they_read():
    todo = list(CHAPTERS)
    assert book._ready("01_data", CHAPTERS, todo, set())
    assert not book._ready("02_generation", CHAPTERS, todo, set())  # the data chapter draws the world first
    done = {"01_data"}
    assert book._ready("02_generation", CHAPTERS, todo, done) and book._ready("05_skin_type", CHAPTERS, todo, done)
    assert not book._ready("07_embeddings", CHAPTERS, todo, done)
    assert book._ready("07_embeddings", CHAPTERS, todo, done | {"03_real_vs_synthetic"})
    assert not book._ready(
        "08_reproduction_report", CHAPTERS, todo, done | {"03_real_vs_synthetic", "04_dose_response", "05_skin_type"}
    )
    # 08 reads every chapter
    assert not book._ready("08_reproduction_report", CHAPTERS, todo, done | set(CHAPTERS[2:6]))
    assert book._ready("08_reproduction_report", CHAPTERS, todo, set(CHAPTERS[:-1]))
    # what this build does not run is not awaited
    assert book._ready("07_embeddings", CHAPTERS, ["07_embeddings"], set())
    # a chapter's thread count does not depend on what else happens to run (generation depends on it)
    assert [book.chapter_threads(n, CHAPTERS, 2, 2) for n in CHAPTERS] == [2] + [1] * 7
    assert (
        book.chapter_threads("05_skin_type", CHAPTERS, 16, 2) == 8
        and book.chapter_threads("01_data", CHAPTERS, 16, 2) == 16
    )
    assert book.default_jobs(load_profile("paper")) == 1 and book.default_jobs(load_profile("smoke")) in (1, 2)
    # a CPU run is not GPU-bound
    assert book.default_jobs(load_profile("paper", overrides={"device": "cpu"})) == book.default_jobs(
        load_profile("smoke")
    )


def test_chapters_without_their_inputs_get_a_page_saying_what_is_missing(tmp_path, monkeypatch):
    for env in (
        "SYNTHAUG_F17K_METADATA",
        "SYNTHAUG_F17K_SPLITS",
        "SYNTHAUG_F17K_IMAGES",
        "SYNTHAUG_DDI_METADATA",
        "SYNTHAUG_DDI_IMAGES",
        "SYNTHAUG_MAIN_DATA",
        "SYNTHAUG_DDI_DATA",
    ):
        monkeypatch.delenv(env, raising=False)
    book.stage_root(tmp_path)
    runnable = book._skip_chapters_without_inputs(
        list(CHAPTERS), CHAPTERS, tmp_path, load_profile("paper", overrides={"device": "cpu"})
    )
    assert runnable == ["08_reproduction_report"]  # the report tabulates whatever exists
    page = (tmp_path / "book" / "05_skin_type.ipynb").read_text()
    assert "This chapter was not run" in page and "ddi_metadata" in page and "SYNTHAUG_DDI_METADATA" in page
    assert "Malignancy classification by skin type" in page  # the chapter's own title
    assert book.executed_fingerprint(tmp_path / "book" / "05_skin_type.ipynb") is None  # re-checked next build
    import torch

    if torch.cuda.is_available():
        return
    with pytest.raises(Exception, match="CUDA"):  # a GPU profile without a GPU stops before any kernel
        book._skip_chapters_without_inputs(
            list(CHAPTERS), CHAPTERS, tmp_path, load_profile("paper", overrides={"device": "cuda"})
        )


def test_parallel_runner_reports_a_failing_chapter_by_name_and_cell(tmp_path):
    book.stage_root(tmp_path)
    with pytest.raises(book.BookBuildError) as info:
        book._execute_chapters(["01_data"], CHAPTERS, tmp_path, "smoke", None, {"no_such_field": 1}, jobs=2)
    assert "01_data.py" in str(info.value) and "cell" in str(info.value)
    assert not (tmp_path / "book" / "01_data.ipynb").exists()
