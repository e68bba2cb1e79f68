"""The package's shape, read from the code: the import graph has no loop and no import from an
earlier pipeline stage to a later one; modules and notebook cells stay small; comments say why,
not when.

Pure ``ast``/text reading: no package module is imported except for the last test, so this runs
in well under a second. The checker is ``import_graph.py`` (standard library only), kept beside
this file; ``python tests/import_graph.py`` prints the whole graph.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = Path(os.environ.get("SYNTHAUG_REPO", HERE.parent))
PACKAGE = REPO / "synthaug_utils"
NOTEBOOKS = REPO / "notebooks"
# Lines as `ruff format` lays a module out (long calls and tables one item a line).
MAX_MODULE_LINES = 700
MAX_CELL_LINES = 25


def _load_checker():
    spec = importlib.util.spec_from_file_location("import_graph", HERE / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)
    spec.loader.exec_module(module)
    return module


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


def test_no_module_is_over_700_lines():
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
        from synthaug_utils.core import paths

        assert paths.PACKAGE_DIR == Path(synthaug_utils.__file__).resolve().parent
        assert (paths.PACKAGE_DIR / "resources" / "demo_ldm" / "text2image" / "model_index.json").is_file()
        # a wrong root would also move the cache (project_root() None -> ~/.cache) and pretrain the
        # demo generator again instead of finding the shipped weights
        assert paths.project_root() == paths.PACKAGE_DIR.parent
        assert (
            paths.shipped_demo_model(paths.DEMO_TEXT2IMAGE_ID)
            == paths.PACKAGE_DIR / "resources" / "demo_ldm" / "text2image"
        )
    finally:
        sys.path.remove(str(REPO))


# Comments and docstrings say why, not when: no issue numbers, "(was ...)", "added later", numbered
# sessions or work periods. And no path into ``shared/``, a folder beside the repository that a
# clone does not have.
HISTORY = re.compile(
    r"\bissues? #?\d+|\(was\b|\badded later\b|\bsessions? \d+|\bwork periods?\b|\bperiods? \d+", re.IGNORECASE
)
OUTSIDE = re.compile(r"(?<![\w.-])(\.\./)?shared/|\.\./shared\b")
TEXT_SUFFIXES = (".py", ".md", ".yml", ".yaml", ".toml", ".cfg")


def history_lines(root: Path) -> list[str]:
    """``path:line: text`` for every line under ``root`` that narrates history or points into ``shared/``."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HISTORY.search(line) or OUTSIDE.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_comment_narrates_history_or_points_outside_the_repository():
    assert history_lines(PACKAGE) == []


def test_the_history_check_finds_what_it_looks_for(tmp_path):
    lines = {
        "a.py": "x = 1  # issue 17: the old value failed\n",
        "b.py": '"""Rate 5e-5 (was 1e-4)."""\n',
        "c.md": "A key added later.\n",
        "d.py": "# measured in session 6\n",
        "e.py": "# work period 3\n",
        "f.md": "Settings follow ``shared/PROTOCOL.md``.\n",
        "g.py": "ROOT = '../shared/data'\n",
        "ok.py": "# shared cores: one thread per worker; a dataset shared by both grids\n",
    }
    for name, text in lines.items():
        (tmp_path / name).write_text(text)
    assert [line.split(":", 1)[0] for line in history_lines(tmp_path)] == sorted(set(lines) - {"ok.py"})
