"""A table is shown as a figure is (numbered, captioned, its CSV saved and linked), and a figure's CSV is
exactly the table its plotting function drew."""

from __future__ import annotations

import IPython.display
import pandas as pd
import pytest

from synthaug_utils.presentation import data_plots, figures


@pytest.fixture
def shown(monkeypatch, tmp_path):
    """What the cells display (Markdown texts), with figures and tables saved under tmp_path."""
    monkeypatch.setenv(figures.FIGURE_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(figures.CHAPTER_ENV, "07_embeddings")
    monkeypatch.setattr(figures, "_TABLES_SHOWN", {})
    texts: list[str] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: texts.extend(getattr(o, "data", o) for o in objs))
    return texts


def test_tables_are_numbered_captioned_and_their_csv_saved_and_linked(shown, tmp_path):
    full = pd.DataFrame({"method": ["inpaint", "outpaint", "text-to-image"], "accuracy": [0.5, 0.25, 0.125]})
    styler = figures.show_table(full.head(2), "first", "Two rows shown.", data=full)
    figures.show_table(full, "second", "All rows.")
    assert shown[0].startswith(
        "(tab-first)=\n**Table 7.1.** Two rows shown. Data: {download}`first.csv <figures/first.csv>`"
    )
    assert "**Table 7.2.** All rows." in shown[1]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "first.csv"), full)  # the CSV holds every row, unformatted
    assert list(styler.data["accuracy (%)"]) == ["50.0", "25.0"]  # the page shows the formatted head


def test_a_figure_saves_exactly_the_table_it_drew(shown, tmp_path):
    counts = pd.DataFrame(
        {
            "split": ["train", "train", "test", "train"],
            "label": ["psoriasis", "lichen planus", "psoriasis", "psoriasis"],
            "fst": [1, 2, 1, 3],
            "count": [3, 2, 1, 4],
        }
    )
    drawn = data_plots.plot_split_composition(counts)
    # the bars: images per label and split, summed over skin types
    assert sorted(drawn.data.itertuples(index=False)) == [
        ("lichen planus", "train", 2),
        ("psoriasis", "test", 1),
        ("psoriasis", "train", 7),
    ]
    figures.show_figure(drawn, "composition", "smoke", chapter="01_data")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "composition.csv"), drawn.data)
    assert (tmp_path / "composition.png").is_file() and "**Figure 1A.1.**" in shown[0]
