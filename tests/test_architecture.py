"""The package's shape, read from the code (issue 13): the import graph has no loop and no import
from an earlier pipeline stage to a later one; modules and notebook cells stay small.

Pure ``ast``/text reading: no package module is imported except for the last test, so this runs
in well under a second. The checker is ``import_graph.py`` (standard library only), kept beside
this file; ``python tests/import_graph.py`` prints the whole graph.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = Path(os.environ.get("SYNTHAUG_REPO", HERE.parent))
PACKAGE = REPO / "synthaug_utils"
NOTEBOOKS = REPO / "notebooks"
# Lines as `ruff format` lays a module out (issue 24): it splits long calls and tables one item a line,
# which made modules ~10% longer than the hand layout the earlier limit of 700 was set for.
MAX_MODULE_LINES = 800
MAX_CELL_LINES = 25


def _load_checker():
    for candidate in (HERE / "import_graph.py", REPO / "tools" / "import_graph.py"):
        if candidate.is_file():
            spec = importlib.util.spec_from_file_location("import_graph", candidate)
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault("import_graph", module)
            spec.loader.exec_module(module)
            return module
    pytest.fail("import_graph.py not found beside this test or in tools/")


graph = _load_checker()


def test_the_import_graph_has_no_loop():
    modules, edges = graph.read_edges(PACKAGE)
    loops = graph.cycles(modules, edges)
    assert loops == [], "import loops (lazy imports inside functions count too): " + "; ".join(
        " <-> ".join(c) for c in loops
    )


def test_no_import_goes_from_an_earlier_stage_to_a_later_one():
    problems = [p for p in graph.check(PACKAGE, graph.STAGES) if p.startswith("upward")]
    order = " -> ".join(name for name, _ in graph.STAGES)
    assert problems == [], f"stage order {order}:\n" + "\n".join(problems)


def test_every_module_belongs_to_a_stage():
    problems = [p for p in graph.check(PACKAGE, graph.STAGES) if p.startswith("module in no stage")]
    assert problems == [], "\n".join(problems) + "\n(add the module's folder to import_graph.STAGES)"


def test_no_module_is_over_800_lines():
    assert graph.long_modules(PACKAGE, MAX_MODULE_LINES) == []


def test_no_notebook_code_cell_is_over_25_lines():
    assert graph.long_cells(NOTEBOOKS, MAX_CELL_LINES) == []


def test_command_line_plumbing_lives_in_cli_only():
    """Pipeline modules expose functions; argparse, ``register_cli`` and ``_cmd_*`` handlers live in ``cli/``."""
    import ast

    offenders = []
    for name, path in graph.discover(PACKAGE).items():
        if name == "cli" or name.startswith("cli."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                offenders.append(f"{name}:{node.lineno} imports argparse")
            elif isinstance(node, ast.FunctionDef) and (node.name == "register_cli" or node.name.startswith("_cmd_")):
                offenders.append(f"{name}:{node.lineno} defines {node.name}")
    assert offenders == []


def test_the_package_docstring_lists_every_module():
    doc = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    missing = [
        f"synthaug_utils.{m}"
        for m in graph.discover(PACKAGE)
        if m and not m.endswith("__main__") and f"synthaug_utils.{m}`" not in doc
    ]
    assert missing == [], "add to the package docstring (one line each, with its concern): " + ", ".join(missing)


def test_the_checker_sees_lazy_imports_and_loops(tmp_path):
    """The checker itself: a loop hidden in a function-level import, and an upward edge, are found."""
    pkg = tmp_path / "pkg"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("def f():\n    from pkg.core import b\n")
    (pkg / "core" / "b.py").write_text("from . import a\nfrom pkg.late import c\n")
    (pkg / "late.py").write_text("import os\n")
    stages = [("core", ("core",)), ("late", ("late",))]
    problems = graph.check(pkg, stages)
    assert "import loop: core.a <-> core.b" in problems
    assert any(p.startswith("upward import: core.b (core) -> late (late)") for p in problems)
    assert len(problems) == 2


def test_moving_modules_kept_the_package_root():
    """config's PACKAGE_DIR locates the shipped resources, project_root() and so cache_dir():
    after a module moves one folder down, it must still be the package folder."""
    sys.path.insert(0, str(REPO))
    try:
        import synthaug_utils

        for name in ("synthaug_utils.core.paths", "synthaug_utils.core.config", "synthaug_utils.config"):
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError:
                continue
            if hasattr(module, "PACKAGE_DIR"):
                break
        else:
            pytest.fail("no module defines PACKAGE_DIR")
        assert module.PACKAGE_DIR == Path(synthaug_utils.__file__).resolve().parent
        assert (module.PACKAGE_DIR / "resources" / "demo_ldm" / "text2image" / "model_index.json").is_file()
        # a wrong root would also move the cache (project_root() None -> ~/.cache) and pretrain the
        # demo generator again instead of finding the shipped weights
        from synthaug_utils.core import paths

        assert paths.project_root() == module.PACKAGE_DIR.parent
        assert (
            paths.shipped_demo_model(paths.DEMO_TEXT2IMAGE_ID)
            == module.PACKAGE_DIR / "resources" / "demo_ldm" / "text2image"
        )
    finally:
        sys.path.remove(str(REPO))
