"""The front page's reproducibility statement, glued by chapter 08 from the build (commit, profile,
package versions, CPU, GPU and kernels, when the chapters ran, the reference check)."""

from __future__ import annotations

import json
import re
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from synthaug_utils.presentation import environment, reference

REPO = Path(__file__).resolve().parents[1]
STATEMENT_KEYS = {
    "repro_commit",
    "repro_profile",
    "repro_versions",
    "repro_cpu",
    "repro_gpu",
    "repro_kernels",
    "repro_built",
    "repro_check",
}


def _executed(path, start, seconds):
    meta = {"papermill": {"start_time": start, "duration": seconds}, "synthaug": {"profile": "smoke"}}
    path.write_text(json.dumps({"cells": [], "metadata": meta, "nbformat": 4, "nbformat_minor": 5}))


def test_statement_says_when_the_chapters_ran_and_what_the_reference_check_found(tmp_path, smoke_profile):
    _executed(tmp_path / "01_data.ipynb", "2026-01-02T03:04:05.000001+00:00", 30.0)
    _executed(tmp_path / "02_generation.ipynb", "2026-01-02T03:10:00+00:00", 60.0)
    _executed(tmp_path / "08_reproduction_report.ipynb", "2025-01-01T00:00:00+00:00", 99.0)  # an earlier run of 08
    ref = {"commit": "abcdef1234567890", "values": {"01_data:n": "12", "01_data:m": "0.500", "01_data:k": "x"}}
    table = reference.compare(ref, {"01_data:n": "12", "01_data:m": "0.503", "01_data:k": "y"})
    facts = reference.statement_facts(smoke_profile, tmp_path, ref, table)
    assert set(facts) == STATEMENT_KEYS and all(facts.values())
    assert facts["repro_profile"] == "smoke"
    assert facts["repro_check"].startswith(
        "1 of 3 glued values of the other chapters match the committed smoke "
        "reference (commit abcdef123456) exactly and 1 more within tolerance; 1 do not"
    )
    assert facts["repro_built"].startswith("from 2026-01-02 03:04 UTC to ")
    assert facts["repro_built"].endswith("the 2 other executed chapters took 1.5 kernel-minutes")
    for package in ("torch", "diffusers", "fastai", "jupyter-book"):
        assert f"{package} {version(package)}" in facts["repro_versions"]
    assert facts["repro_gpu"] == "none (the chapters ran on the CPU)" or "CUDA" in facts["repro_gpu"]
    commit = reference.git_commit()
    assert facts["repro_commit"].startswith(commit[:12] if commit else "unknown")
    none = reference.statement_facts(smoke_profile, tmp_path, None, None)
    assert none["repro_check"] == "not made: no reference is committed for profile smoke"


def test_gpu_label_names_the_gpu_the_chapters_used(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    assert environment.gpu_label("cuda") == "Fake GPU (CUDA 12.4, cuDNN 90100, 1 visible)"
    assert (
        environment.gpu_label("cpu")
        == "none used (the profile runs on cpu; present: Fake GPU (CUDA 12.4, cuDNN 90100, 1 visible))"
    )


def test_chapter_08_glues_the_statement_with_its_other_repro_facts(tmp_path, smoke_profile):
    facts, _, _ = reference.chapter_section(smoke_profile, tmp_path, path=tmp_path / "none.json")
    assert STATEMENT_KEYS <= set(facts)
    assert not any(reference.is_timing(k) for k in facts if not k.startswith("repro_"))  # repro_*: never in a reference


@pytest.mark.slow
def test_smoke_book_front_page_shows_the_statement(smoke_book):
    intro = (smoke_book.html / "book" / "intro.html").read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", intro[intro.index('id="reproducibility-statement"') :]))
    if reference.git_commit() is None:
        assert "Commit: unknown" in text
    else:  # a commit of this checkout (the checkout may have moved on since the session's build)
        shown = re.search(r"Commit: ([0-9a-f]{12})\b", text).group(1)
        assert (
            subprocess.run(
                ["git", "rev-parse", "--verify", "--quiet", f"{shown}^{{commit}}"], cwd=REPO, capture_output=True
            ).returncode
            == 0
        ), shown
    assert "Profile: smoke" in text
    assert f"torch {version('torch')}" in text and f"jupyter-book {version('jupyter-book')}" in text
    assert "Reference check: not made: no reference is committed for profile smoke" in text
    assert re.search(r"executed from \d{4}-\d\d-\d\d \d\d:\d\d UTC to ", text)
