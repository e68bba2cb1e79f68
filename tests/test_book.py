"""The smoke-profile book builds end to end, and a failing notebook is reported by name and cell."""
import re

import pytest

from synthaug_utils import book


@pytest.mark.slow
def test_smoke_book_builds_with_the_data_chapter_figures(tmp_path):
    html, runs = book.build_book("smoke", root=tmp_path)
    assert all(r.executed for r in runs)
    page = (html / "book" / "01_data.html").read_text()
    figures = re.findall(r'<img [^>]*src="[^"]+\.png"', page)
    assert len(figures) >= 5, "composition, FST and example-image figures must be embedded"
    assert "synthetic stand-in world" in page
    assert "demo-derm9" in page  # glued from the run
    assert (tmp_path / "book" / "01_data.ipynb").exists()
    assert (html / "index.html").exists()


def test_failing_notebook_names_the_notebook_and_cell(tmp_path):
    book.stage_root(tmp_path)
    with pytest.raises(book.BookBuildError) as info:
        book.execute_notebook("01_data", tmp_path, "smoke", overrides={"no_such_field": 1})
    msg = str(info.value)
    assert "01_data.py" in msg and "cell" in msg and "no_such_field" in msg
    assert not (tmp_path / "book" / "01_data.ipynb").exists()  # nothing half-written in place
