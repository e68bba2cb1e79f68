#!/usr/bin/env python3
"""Intra-package import graph: edges, import loops and imports that climb the pipeline.

Standard library only (``ast``). Usage::

    python import_graph.py [PACKAGE_DIR] [--quiet] [--lazy-only] [--notebooks DIR] [--max-lines N]

PACKAGE_DIR defaults to ``synthaug_utils`` (relative to the working directory).
It prints

* every import edge between two modules of the package (``a -> b``), marked
  ``[fn]`` when the import sits inside a function (a "lazy" import), ``[tc]``
  when it is guarded by ``if TYPE_CHECKING:``, ``[dyn]`` for
  ``importlib.import_module("pkg.x")`` with a literal name;
* every import loop (strongly connected component with more than one module,
  or a module importing itself);
* every edge from an earlier stage to a later one (an "upward" edge), using
  ``STAGES`` below, and every module that belongs to no stage.

Exit code 1 when there is a loop, an upward edge or an unstaged module.

All edges count, lazy ones included: an import inside a function is still a
dependency, it only hides the loop from the interpreter.

Importable: ``check(package_dir, stages) -> list[str]`` returns the problems
(empty list = clean), for a pytest test.

A stage prefix ``"data"`` matches every module of the ``data/`` subpackage
(``data.splits``...); the longest matching prefix wins, so one module can be
placed apart from its folder (``"diffusion.resolve"``).
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------
# Pipeline order. A module may import from its own stage and from earlier
# stages only. Each stage is (name, prefixes); prefixes are module paths
# relative to the package ("core", "diffusion.resolve"); one subpackage per
# stage, in the order the data flows.
# ---------------------------------------------------------------------------
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("core",)),
    ("data", ("data",)),
    ("diffusion", ("diffusion",)),
    ("synthetic", ("synthetic",)),
    ("classifier", ("classifier",)),
    ("experiments", ("experiments",)),
    ("analysis", ("analysis",)),
    ("presentation", ("presentation",)),
    ("rehearsal", ("rehearsal",)),
    ("cli", ("cli",)),
]

DEFAULT_PACKAGE = "synthaug_utils"


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, dotted, relative to the package ("" = package __init__)
    target: str  # imported module, same form
    line: int
    in_function: bool = False
    type_checking: bool = False
    dynamic: bool = False

    def marks(self) -> str:
        m = [n for n, on in (("fn", self.in_function), ("tc", self.type_checking), ("dyn", self.dynamic)) if on]
        return f" [{','.join(m)}]" if m else ""


# ---------------------------------------------------------------------------
# reading the package
# ---------------------------------------------------------------------------
def discover(package_dir: str | Path) -> dict[str, Path]:
    """Relative dotted module name -> file, for every ``.py`` under the package.

    The package ``__init__`` is ``""``; a subpackage's ``__init__`` is its folder name.
    """
    root = Path(package_dir)
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if any(p.startswith(".") or p == "__pycache__" for p in parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The most specific module of ``modules`` that the relative dotted ``name`` lies in."""
    parts = name.split(".") if name else []
    while True:
        cand = ".".join(parts)
        if cand in modules:
            return cand
        if not parts:
            return None
        parts.pop()


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, pkg: str, modules: dict[str, Path]):
        self.module, self.is_package, self.pkg, self.modules = module, is_package, pkg, modules
        self.depth_fn = 0
        self.depth_tc = 0
        self.edges: list[Edge] = []

    # --- context -------------------------------------------------------
    def _fn(self, node):
        self.depth_fn += 1
        self.generic_visit(node)
        self.depth_fn -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _fn

    def visit_If(self, node: ast.If):
        test = node.test
        is_tc = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        if is_tc:
            self.visit(node.test)
            self.depth_tc += 1
            for n in node.body:
                self.visit(n)
            self.depth_tc -= 1
            for n in node.orelse:
                self.visit(n)
        else:
            self.generic_visit(node)

    # --- imports -------------------------------------------------------
    def _rel(self, absolute: str) -> str | None:
        """Absolute dotted name -> name relative to the package, or None when outside it."""
        if absolute == self.pkg:
            return ""
        if absolute.startswith(self.pkg + "."):
            return absolute[len(self.pkg) + 1 :]
        return None

    def _add(self, rel: str | None, line: int, dynamic: bool = False):
        if rel is None:
            return
        target = _resolve(rel, self.modules)
        if target is None or target == self.module:
            return
        self.edges.append(Edge(self.module, target, line, self.depth_fn > 0, self.depth_tc > 0, dynamic))

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            self._add(self._rel(alias.name), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom):
        before = len(self.edges)
        self._import_from(node)
        # one edge per (statement, target): ``from x import a, b, c`` is one dependency
        seen, kept = set(), []
        for e in self.edges[before:]:
            if e.target not in seen:
                seen.add(e.target)
                kept.append(e)
        self.edges[before:] = kept

    def _import_from(self, node: ast.ImportFrom):
        if node.level:
            # relative import: the anchor is this module's package
            base = self.module.split(".") if self.module else []
            if not self.is_package:
                base = base[:-1]
            up = node.level - 1
            if up > len(base):
                return
            base = base[: len(base) - up] if up else base
            rel = ".".join(base + ([node.module] if node.module else []))
        else:
            rel = self._rel(node.module or "")
            if rel is None:
                return
        for alias in node.names:
            sub = f"{rel}.{alias.name}" if rel else alias.name
            # ``from pkg import submodule`` names a module; ``from mod import name`` names the module
            self._add(sub if sub in self.modules else rel, node.lineno)

    def visit_Call(self, node: ast.Call):
        f = node.func
        fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if fname in ("import_module", "__import__") and node.args:
            a = node.args[0]
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                self._add(self._rel(a.value), node.lineno, dynamic=True)
        self.generic_visit(node)


def read_edges(package_dir: str | Path) -> tuple[dict[str, Path], list[Edge]]:
    package_dir = Path(package_dir)
    pkg = package_dir.resolve().name
    modules = discover(package_dir)
    edges: list[Edge] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        v = _Visitor(name, path.name == "__init__.py", pkg, modules)
        v.visit(tree)
        # cli.py keeps a table of module paths as strings (lazy subcommand loading): count them too
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(pkg + "."):
                rel = v._rel(node.value)
                if rel is not None and rel in modules and rel != name:
                    if not any(e.target == rel for e in v.edges):
                        v.edges.append(Edge(name, rel, node.lineno, False, False, True))
        edges.extend(v.edges)
    return modules, edges


# ---------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------
def cycles(modules, edges) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), plus self-loops."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def strong(v: str):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(out)


def stage_of(module: str, stages) -> int | None:
    """Index of the stage whose longest prefix matches ``module``; the package __init__ is stage 0."""
    if module == "":
        return 0
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(stages):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    return best


def upward(edges, stages) -> list[Edge]:
    """Edges whose target lies in a later stage than their source."""
    bad = []
    for e in edges:
        s, t = stage_of(e.source, stages), stage_of(e.target, stages)
        if s is not None and t is not None and t > s:
            bad.append(e)
    return bad


def _stage_name(module, stages) -> str:
    i = stage_of(module, stages)
    return "?" if i is None else stages[i][0]


def _label(m: str) -> str:
    return m or "__init__"


def check(package_dir: str | Path = DEFAULT_PACKAGE, stages=None) -> list[str]:
    """Problems of the package as one line each: loops, upward edges, modules in no stage."""
    stages = STAGES if stages is None else stages
    modules, edges = read_edges(package_dir)
    problems = [f"import loop: {' <-> '.join(map(_label, c))}" for c in cycles(modules, edges)]
    for e in sorted(upward(edges, stages), key=lambda e: (e.source, e.line)):
        problems.append(
            f"upward import: {_label(e.source)} ({_stage_name(e.source, stages)}) -> "
            f"{_label(e.target)} ({_stage_name(e.target, stages)}) at line {e.line}{e.marks()}"
        )
    for m in sorted(modules):
        if m and stage_of(m, stages) is None:
            problems.append(f"module in no stage: {m}")
    return problems


def long_modules(package_dir: str | Path = DEFAULT_PACKAGE, limit: int = 700) -> list[str]:
    """Modules over ``limit`` lines, as 'name: N lines'."""
    out = []
    for name, path in discover(package_dir).items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > limit:
            out.append(f"{_label(name)}: {n} lines (limit {limit})")
    return out


def notebook_cells(path: str | Path) -> list[tuple[int, str, list[str]]]:
    """Cells of a jupytext percent notebook: (first line number, kind, body lines)."""
    cells: list[tuple[int, str, list[str]]] = []
    current = None
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("# %%"):
            kind = "markdown" if "[markdown]" in line or "[md]" in line else ("raw" if "[raw]" in line else "code")
            current = (i, kind, [])
            cells.append(current)
        elif current is not None:
            current[2].append(line)
    return cells


def long_cells(notebook_dir: str | Path, limit: int = 25) -> list[str]:
    """Code cells with more than ``limit`` non-blank lines, as 'file:line: N lines'."""
    out = []
    for nb in sorted(Path(notebook_dir).glob("*.py")):
        for line, kind, body in notebook_cells(nb):
            n = sum(1 for b in body if b.strip())
            if kind == "code" and n > limit:
                out.append(f"{nb.name}:{line}: code cell of {n} lines (limit {limit})")
    return out


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("package_dir", nargs="?", default=DEFAULT_PACKAGE)
    ap.add_argument("--quiet", action="store_true", help="problems and counts only, no edge list")
    ap.add_argument("--lazy-only", action="store_true", help="list only imports inside functions")
    ap.add_argument("--notebooks", help="also check code cells of the jupytext notebooks in this folder")
    ap.add_argument("--max-lines", type=int, default=0, help="also flag modules over this many lines")
    args = ap.parse_args(argv)

    modules, edges = read_edges(args.package_dir)
    if not args.quiet:
        print(f"# modules ({len(modules)})")
        for m, p in modules.items():
            print(f"  {_label(m):40s} {_stage_name(m, STAGES):13s} {len(p.read_text().splitlines()):5d} lines")
        shown = [e for e in edges if e.in_function] if args.lazy_only else edges
        print(
            f"\n# import edges ({len(shown)} shown; {len(edges)} in all, "
            f"{sum(e.in_function for e in edges)} inside functions)"
        )
        for e in sorted(shown, key=lambda e: (e.source, e.target, e.line)):
            print(f"  {_label(e.source)}:{e.line} -> {_label(e.target)}{e.marks()}")
        pairs = sorted({(e.source, e.target) for e in edges})
        print(f"\n# module dependencies ({len(pairs)} distinct pairs)")
        for s, t in pairs:
            n = [e for e in edges if (e.source, e.target) == (s, t)]
            lazy = sum(e.in_function for e in n)
            print(f"  {_label(s)} -> {_label(t)}  ({len(n)} import(s){f', {lazy} in functions' if lazy else ''})")

    loops = cycles(modules, edges)
    ups = upward(edges, STAGES)
    problems = check(args.package_dir, STAGES)
    print(f"\n# import loops: {len(loops)}")
    for c in loops:
        print("  " + " <-> ".join(map(_label, c)))
    print(f"\n# upward edges (earlier stage -> later stage): {len(ups)}")
    print("  stages: " + " -> ".join(n for n, _ in STAGES))
    for line in (p for p in problems if not p.startswith("import loop")):
        print("  " + line)
    extra = []
    if args.max_lines:
        extra += long_modules(args.package_dir, args.max_lines)
    if args.notebooks:
        extra += long_cells(args.notebooks)
    if extra:
        print("\n# size limits")
        for line in extra:
            print("  " + line)
    return 1 if (problems or extra) else 0


if __name__ == "__main__":
    sys.exit(main())
