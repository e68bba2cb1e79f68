"""The paper profile end to end: `synthaug rehearse` builds both books on the miniature world.

The slow test runs the whole rehearsal (the paper-format world, the paper-profile book and the
bring-your-own book) exactly as `synthaug rehearse --out DIR` does, so CI proves the paper path
on every change. The fast tests check the pre-kernel refusals on the same world.
"""

from __future__ import annotations

import re

import pytest

from synthaug_utils.core.errors import MissingImagesError
from synthaug_utils.presentation import book
from synthaug_utils.rehearsal import run as rehearsal

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


def _figures(page: str) -> int:
    return len(re.findall(r'<img [^>]*src="[^"]+\.png"', page))


@pytest.fixture(scope="module")
def world(rehearsal_world):
    return rehearsal_world


def test_a_table_with_three_bad_images_stops_the_book_before_any_kernel(world, tmp_path):
    locations = {k: world.locations[k] for k in ("sd_text2image", "sd_inpaint", "classifier_weights")}
    sizes = {**rehearsal.REHEARSAL_OVERRIDES, "test_per_label": 1, "val_per_label": 1}  # 4-5 images per label
    config = rehearsal.write_config(tmp_path / "bad.yml", locations | {"main_data": str(world.bad_table)}, sizes)
    with pytest.raises(MissingImagesError) as info:
        book.build_book("paper", root=tmp_path / "root", config=str(config))
    message = str(info.value)
    assert "3 of" in message
    for name in ("missing.jpg", "empty.jpg", "truncated.jpg"):
        assert name in message, f"{name} not named in: {message}"
    assert not list((tmp_path / "root" / "book").glob("0*.ipynb"))  # no chapter executed or replaced


def test_every_rehearsal_size_is_an_override_of_the_paper_profile(world, tmp_path):
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.diffusion.dreambooth import dreambooth_settings
    from synthaug_utils.diffusion.settings import generation_settings

    config = rehearsal.write_config(tmp_path / "paper.yml", world.locations, rehearsal.REHEARSAL_OVERRIDES)
    P = load_profile("paper", config=str(config))
    assert P.name == "paper" and P.device == "cpu" and P.gen_resolution == 64
    assert dreambooth_settings(P).resolution == 64  # DreamBooth follows the profile's sampling size
    assert generation_settings(P).steps == 2
    assert dreambooth_settings(load_profile("paper")).resolution == 512  # the paper's own sizes stay


@pytest.mark.slow
def test_rehearsal_builds_the_paper_book_and_the_bring_your_own_book(rehearsal_books):
    result = rehearsal_books  # rehearse() on a fresh folder, once per session (tests/conftest.py)
    print("rehearsal seconds:", {k: round(v) for k, v in result["seconds"].items()})
    html = result["html"] / "book"
    for name in CHAPTERS:
        page = (html / f"{name}.html").read_text()
        assert "This chapter was not run" not in page, name
        if name != "08_reproduction_report":  # the report is tables only
            assert _figures(page) >= 1, f"{name} holds no figure"
    assert "<table" in (html / "08_reproduction_report.html").read_text()
    generation = (html / "02_generation.html").read_text()
    assert "sd21_base" in generation and "sd15_inpaint" in generation  # samples from the SD-architecture pipelines
    assert _figures(generation) >= 4
    assert "open_clip:ViT-B-32/openai" in (html / "07_embeddings.html").read_text()

    byo = result["byo_html"] / "book"
    data_page = (byo / "01_data.html").read_text()
    assert "byo-folders-" in data_page  # the bring-your-own dataset (labels appear in the figures)
    assert "Skin-type analysis skipped" in data_page and "DDI slot is not supplied" in data_page
    for name in ("05_skin_type", "07_embeddings"):  # no DDI slot, no CLIP weights in the bring-your-own run
        page = (byo / f"{name}.html").read_text()
        assert "This chapter was not run" in page, name
    assert _figures((byo / "03_real_vs_synthetic.html").read_text()) >= 1
    assert (byo / "08_reproduction_report.html").is_file()
