"""The registry of glued values (synthaug_utils/resources/glue_keys.yml): every value a chapter glues is
registered with its unit, every registered value is glued, numbers registered as raw are glued raw, and the
reference check compares a raw number with the tolerance of its unit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from synthaug_utils.core import chapters
from synthaug_utils.presentation import glue_registry, reference

ROOT = Path(__file__).resolve().parents[1]
DEMO = json.loads((ROOT / "benchmarks" / "reference" / "demo.json").read_text())
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"```\{glue(?::\w+)?\} (\S+)")


def _compared(chapter: str, name: str) -> bool:
    """Whether a built book's reference holds this name (not a {glue:md} block, not the comparison itself)."""
    entry = glue_registry.lookup(f"{chapter}:{name}")
    return entry.unit not in ("markdown", "table") and not reference.is_self(name)


def test_every_value_of_the_demo_reference_is_registered_and_every_registered_value_is_glued():
    keys = {**DEMO["values"], **DEMO["timings"]}
    assert glue_registry.unregistered(keys) == []
    unglued = [k for k in glue_registry.unglued(keys) if _compared(*k.split(":", 1))]
    assert unglued == []
    assert glue_registry.not_numbers(keys) == []  # a value registered as raw is glued as a bare number


def test_every_glue_the_pages_show_is_registered_for_its_chapter():
    registered = glue_registry.registry()
    assert set(registered) - {glue_registry.EVERY_CHAPTER} == set(chapters.notebook_ids())
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        text = path.read_text()
        shown = {m.rsplit(":", 1)[0] for m in GLUE_ROLE.findall(text)} | set(GLUE_DIRECTIVE.findall(text))
        assert [n for n in shown if glue_registry.lookup(f"{path.stem}:{n}") is None] == [], path.stem


def test_a_page_formats_only_numbers_registered_as_raw():
    """``{glue:text}`name:spec``` formats the glued value: it must be a raw number in the registry."""
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        for role in GLUE_ROLE.findall(path.read_text()):
            if ":" in role:
                name, spec = role.rsplit(":", 1)
                entry = glue_registry.lookup(f"{path.stem}:{name}")
                assert entry is not None and entry.numeric, f"{path.stem}:{name} is formatted ({spec}) but not numeric"


def test_lookup_takes_exact_names_before_patterns_and_names_every_chapter_glues():
    assert glue_registry.lookup("01_data:audit_leak_share").unit == "%"
    assert glue_registry.lookup("01_data:audit_leak_psoriasis").is_pattern
    assert glue_registry.lookup("05_skin_type:profile_box").unit == "markdown"
    assert glue_registry.lookup("01_data:no_such_value") is None
    assert glue_registry.unregistered(["01_data:no_such_value", "01_data:n_test"]) == ["01_data:no_such_value"]
    assert "01_data:n_test" in glue_registry.unglued(["01_data:n_val"])


def test_a_malformed_entry_is_refused(monkeypatch, tmp_path):
    from synthaug_utils.core.errors import UserFacingError

    monkeypatch.setattr(glue_registry.yaml, "safe_load", lambda text: {"01_data": {"x": {"unit": "furlongs"}}})
    glue_registry.registry.cache_clear()
    try:
        with pytest.raises(UserFacingError, match="01_data:x needs unit"):
            glue_registry.registry()
    finally:
        glue_registry.registry.cache_clear()


@pytest.mark.parametrize(
    ("unit", "ref", "build", "status"),
    [
        ("count", "400", "400", "exact"),
        ("count", "400", "401", "differs"),
        ("%", "0.106", "0.112", "within tolerance"),  # 0.6 pp
        ("%", "0.106", "0.12", "differs"),  # 1.4 pp
        ("pp", "4.1", "4.9", "within tolerance"),
        ("pp", "4.1", "5.2", "differs"),
        ("number", "0.242", "0.2435", "within tolerance"),  # 0.6%
        ("number", "0.242", "0.246", "differs"),  # 1.7%
        ("p", "0.04", "0.05", "within tolerance"),
        ("p", "0.04", "0.9", "differs"),
    ],
)
def test_a_raw_number_is_compared_with_the_tolerance_of_its_unit(monkeypatch, unit, ref, build, status):
    entry = glue_registry.GlueKey("07_embeddings", "x", unit, True)
    monkeypatch.setattr(glue_registry, "lookup", lambda key: entry)
    assert reference.match_kind("07_embeddings:x", ref, build) == status
