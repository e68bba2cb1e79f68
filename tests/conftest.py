"""Shared fixtures: an isolated cache folder per test session and the real metadata in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
F17K_DIR = SHARED_DATA / "fitzpatrick17k"
DDI_CSV = SHARED_DATA / "ddi" / "ddi_metadata.csv"


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Every test session writes generated data, caches and results into its own temporary folder."""
    path = tmp_path_factory.mktemp("synthaug-cache")
    old = os.environ.get("SYNTHAUG_CACHE")
    os.environ["SYNTHAUG_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SYNTHAUG_CACHE", None)
    else:
        os.environ["SYNTHAUG_CACHE"] = old


@pytest.fixture(scope="session")
def f17k_dir() -> Path:
    """Folder with the real Fitzpatrick17k metadata and the authors' clean split files."""
    if not (F17K_DIR / "fitzpatrick17k.csv").is_file():
        pytest.skip(f"real Fitzpatrick17k metadata not found at {F17K_DIR} (shared/ must sit next to the repository)")
    return F17K_DIR


@pytest.fixture(scope="session")
def ddi_csv() -> Path:
    """The real DDI metadata table."""
    if not DDI_CSV.is_file():
        pytest.skip(f"real DDI metadata not found at {DDI_CSV}")
    return DDI_CSV


@pytest.fixture(scope="session")
def smoke_profile():
    from synthaug_utils.core.config import load_profile

    return load_profile("smoke")


@pytest.fixture(scope="session")
def rehearsal_world(tmp_path_factory):
    """The miniature paper-format world of `synthaug rehearse`, written once per session (1 torch thread)."""
    import torch

    from synthaug_utils.rehearsal.world import write_rehearsal_world

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return write_rehearsal_world(tmp_path_factory.mktemp("rehearsal") / "world", progress=False)
    finally:
        torch.set_num_threads(old)


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread (restored afterwards): small models run faster and repeatably."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """The smoke-profile book, executed and built once per session (shared by the book tests):
    ``root`` (the build root), ``html`` (its HTML folder) and ``runs`` (the chapter runs)."""
    from types import SimpleNamespace

    from synthaug_utils.presentation import book

    root = tmp_path_factory.mktemp("smoke-book")
    html, runs = book.build_book("smoke", root=root)
    return SimpleNamespace(root=root, html=html, runs=runs)


@pytest.fixture(scope="session")
def rehearsal_books(tmp_path_factory):
    """``synthaug rehearse`` run once per session (shared by tests/test_rehearsal.py and
    tests/test_profile_boxes.py): its result (``html``, ``byo_html``, ``config``, ``byo_config``,
    ``seconds``). The rehearsal points ``SYNTHAUG_CACHE`` at its own folder; it is restored afterwards."""
    from synthaug_utils.rehearsal import run as rehearsal

    old = os.environ.get("SYNTHAUG_CACHE")
    try:
        return rehearsal.rehearse(tmp_path_factory.mktemp("rehearsal-books") / "r")
    finally:
        if old is None:
            os.environ.pop("SYNTHAUG_CACHE", None)
        else:
            os.environ["SYNTHAUG_CACHE"] = old
