"""Execute the chapter notebooks with papermill and build the Jupyter Book (HTML).

The chapters, their order and what each needs are the chapter registry (:mod:`synthaug_utils.core.chapters`),
from which the build writes ``_toc.yml``. The jupytext percent-format sources live in
``notebooks/<id>.py``. For each notebook chapter, :func:`execute_notebook` converts the source to a
notebook and executes it with papermill (parameters ``profile``, ``config``, ``overrides``) into
``<root>/book/<id>.ipynb``; :func:`build_html` then runs ``jupyter-book build`` with
execution off (``_config.yml``: ``execute_notebooks: off``), warnings as errors. The book
renders exactly the executed copies; nothing runs twice. Two pages are generated for the build:
the Methods page (``book/methods.md``, before the chapters run) and the reporting checklist
(``book/checklist.md``, after they ran, so that its links name sections the executed pages have).

A build root other than the repository (``--root DIR``) gets a copy of the book's
static sources (``_config.yml``, ``book/*.md``) and its ``_toc.yml``, so a smoke build never
touches the demo book.

Chapters may run side by side (``jobs``, default 2 on the embedded profiles with two or
more CPU cores, 1 on the paper profile): the first chapter (the data chapter, which draws
the embedded world) runs alone, then the others in the book's order as soon as the
chapters they read from (their registry entry's ``reads``) are done. Everything they share on disk
is written atomically or under a folder lock (worlds, synthetic sets, models, features,
trial results), and every number is a pure function of its inputs and the kernels' thread
count. Each kernel gets ``cores // jobs`` threads (the first chapter, running alone, every core;
:func:`chapter_threads`), whatever the order in which chapters happen to finish.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from synthaug_utils.core import chapters as registry
from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.paths import project_root

BOOK_DIR = registry.BOOK_DIR

NOTEBOOK_DIR = registry.NOTEBOOK_DIR

# Arguments for every chapter's IPython kernel: its application log shows errors only, so the
# kernel's own start-up notices (ipykernel's "Kernel is running over TCP without encryption"
# warning, printed to the terminal the kernel inherits) stay out of the build's output. Warnings
# raised by the chapters' code are untouched (they are part of the executed notebooks).
# Each kernel also runs ``outputs.KERNEL_SETUP`` first: progress bars go to this terminal, not the page.
KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]


class BookBuildError(UserFacingError, RuntimeError):
    """A notebook failed (named with its failing cell) or Sphinx reported a warning or error."""


@dataclass
class ChapterRun:
    """What happened to one chapter: its name, seconds taken and whether it was executed or reused."""

    name: str
    seconds: float
    executed: bool


def source_root() -> Path:
    root = project_root()
    if root is None:
        raise BookBuildError("the book is built from a repository checkout (no _toc.yml next to synthaug_utils/)")
    return root


def chapter_names(toc_path: Path) -> list[str]:
    """Chapter files (``book/<id>``) in a ``_toc.yml`` that come from notebooks (the registry's notebook chapters)."""
    toc = yaml.safe_load(toc_path.read_text())
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(str(node["file"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    notebooks = set(registry.notebook_ids())
    return [f for f in files if Path(f).name in notebooks]


def write_toc(root: Path) -> Path:
    """Write ``<root>/_toc.yml`` from the chapter registry (:func:`chapters.toc_text`), unless it already says that."""
    from synthaug_utils.core.files import atomic_write_text

    path = root / registry.TOC_FILE
    text = registry.toc_text()
    if not path.is_file() or path.read_text() != text:
        atomic_write_text(path, text)
    return path


def stage_root(root: Path) -> Path:
    """Write ``root``'s ``_toc.yml`` from the registry and copy the book's static sources into ``root`` (when it
    is not the repository); return it."""
    source = source_root()
    root = root.resolve()
    write_toc(root)
    if root == source:
        return root
    (root / BOOK_DIR).mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "_config.yml", root / "_config.yml")
    if (source / "_static").is_dir():  # the book's stylesheet (jupyter-book adds every _static/*.css)
        shutil.copytree(source / "_static", root / "_static", dirs_exist_ok=True)
    for path in (source / BOOK_DIR).iterdir():
        if path.suffix in (".md", ".bib", ".png", ".svg", ".css") and path.is_file():
            shutil.copy2(path, root / BOOK_DIR / path.name)
    return root


def _failing_cell(notebook_path: Path) -> str:
    """Index and first source line of the cell that raised, from a papermill-executed notebook."""
    import nbformat

    try:
        nb = nbformat.read(str(notebook_path), as_version=4)
    except Exception:
        return "unknown cell"
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                return f"cell {index} ({first[:80]!r}): {output.get('ename')}: {output.get('evalue')}"
    return "unknown cell"


def chapter_fingerprint(name: str, profile: str, config: str | None = None, overrides: dict | None = None) -> str:
    """sha256 (first 20 hex) of everything an executed chapter depends on: its notebook source,
    its parameters, the config file's contents, every file of the ``synthaug_utils`` package
    (code and shipped resources) and the cache folder holding data, synthetic sets and results."""
    import hashlib
    import json

    from synthaug_utils.core.paths import PACKAGE_DIR, cache_dir

    h = hashlib.sha256()
    h.update((source_root() / NOTEBOOK_DIR / f"{name}.py").read_bytes())
    h.update(
        json.dumps(
            {"profile": profile, "overrides": overrides or {}, "cache": str(cache_dir().resolve())},
            sort_keys=True,
            default=str,
        ).encode()
    )
    if config:
        h.update(Path(config).read_bytes())
    for extra in registry.get(name).files:  # repository files a chapter reads besides the package
        extra = extra.format(profile=profile)
        path = source_root() / extra
        h.update(extra.encode() + (path.read_bytes() if path.is_file() else b"absent"))
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(PACKAGE_DIR)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:20]


def executed_fingerprint(path: Path) -> str | None:
    """The fingerprint an executed chapter was made with (None when absent or unreadable)."""
    import json

    try:
        return json.loads(path.read_text()).get("metadata", {}).get("synthaug", {}).get("fingerprint")
    except (OSError, ValueError):
        return None


def execute_notebook(
    name: str,
    root: Path,
    profile: str,
    config: str | None = None,
    overrides: dict | None = None,
    timeout_s: int = 1800,
) -> ChapterRun:
    """Execute ``notebooks/<name>.py`` with papermill into ``<root>/book/<name>.ipynb``.

    The executed copy is written to a temporary name and renamed on success, so a failed
    run never replaces a good notebook. Raises BookBuildError naming the failing cell.
    """
    import jupytext
    import papermill

    source = source_root() / NOTEBOOK_DIR / f"{name}.py"
    if not source.is_file():
        raise BookBuildError(f"chapter {name!r} is in the chapter registry but {source} does not exist")
    out_dir = root / BOOK_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    work = root / "_build" / "executing"  # outside book/: a failed run's partial output never reaches the HTML
    work.mkdir(parents=True, exist_ok=True)
    raw = work / f"{name}.input.ipynb"
    tmp = work / f"{name}.running.ipynb"
    final = out_dir / f"{name}.ipynb"
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["synthaug"] = {"fingerprint": chapter_fingerprint(name, profile, config, overrides), "profile": profile}
    jupytext.write(nb, raw, fmt="ipynb")
    start = time.time()
    parameters = {"profile": profile, "config": config, "overrides": overrides or {}}
    from synthaug_utils.presentation.figures import CHAPTER_ENV, FIGURE_DIR_ENV, FIGURE_FOLDER
    from synthaug_utils.presentation.outputs import KERNEL_SETUP

    os.environ[FIGURE_DIR_ENV] = str(out_dir / FIGURE_FOLDER)  # the kernel inherits it: figures next to the chapter
    os.environ[CHAPTER_ENV] = name
    if _declares_parameter(nb, "book_dir"):
        parameters["book_dir"] = str(out_dir.resolve())
    try:
        papermill.execute_notebook(
            str(raw),
            str(tmp),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(source_root()),
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout_s,
            extra_arguments=[*KERNEL_ARGS, f"--IPKernelApp.exec_lines={KERNEL_SETUP}"],
        )
    except Exception as exc:
        where = _failing_cell(tmp)
        raise BookBuildError(f"notebook {source.name} failed at {where}; partial output kept in {tmp}") from exc
    finally:
        raw.unlink(missing_ok=True)
    _clean_executed(tmp, work / f"{name}.stderr.log")
    os.replace(tmp, final)
    return ChapterRun(name, time.time() - start, True)


def _clean_executed(path: Path, log: Path) -> None:
    """Fold inputs, hide parameter cells and strip stderr, warnings and progress bars from the executed
    notebook at ``path`` (:func:`outputs.clean_notebook`); what was stripped goes to ``log``."""
    import nbformat

    from synthaug_utils.presentation.outputs import clean_notebook

    nb = nbformat.read(str(path), as_version=4)
    removed = clean_notebook(nb)
    nbformat.write(nb, str(path))
    log.write_text("\n".join(removed))


def _declares_parameter(nb, name: str) -> bool:
    """Whether the notebook's ``parameters`` cell assigns ``name``."""
    import re

    return any(
        "parameters" in cell.get("metadata", {}).get("tags", []) and re.search(rf"^{name}\s*=", cell.source, re.M)
        for cell in nb.cells
        if cell.cell_type == "code"
    )


def build_html(root: Path, builder: str = "html") -> Path:
    """Run ``jupyter-book build`` on ``root`` (warnings are errors) with Sphinx's ``builder`` (``html``, or
    ``singlehtml``: the whole book as one page, which ``synthaug pdf`` prints); return its output folder."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [
        str(exe) if exe.exists() else "jupyter-book",
        "build",
        str(root),
        "--builder",
        builder,
        "--warningiserror",
        "--keep-going",
        "--quiet",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise BookBuildError(f"jupyter-book build ({builder}) of {root} failed (warnings count as errors):\n{tail}")
    return root / "_build" / builder


def build_book(
    profile: str = "demo",
    root: str | Path | None = None,
    config: str | None = None,
    overrides: dict | None = None,
    chapters: list[str] | None = None,
    reuse: bool = False,
    force: bool = False,
    jobs: int | None = None,
) -> tuple[Path, list[ChapterRun]]:
    """Execute the chapters for ``profile`` and build the HTML book; return (html folder, chapter runs).

    A chapter whose executed copy in ``<root>/book`` carries the same
    :func:`chapter_fingerprint` is up to date and is not executed again (``force``
    re-executes it anyway). ``chapters`` limits execution to some chapter ids; ``reuse``
    keeps every executed notebook already there, whatever it was made with. ``jobs``: how
    many chapters run side by side (None: :func:`default_jobs`).
    """
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.presentation.methods import write_methods_page
    from synthaug_utils.presentation.profile_box import write_front_box

    P = load_profile(profile, config, overrides or {})  # the chapters get the name, config and overrides
    root = stage_root(Path(root) if root else source_root())
    write_methods_page(root / BOOK_DIR, P)
    write_front_box(root / BOOK_DIR, P)
    names = registry.notebook_ids()
    wanted = names if not chapters else [n for n in names if n in chapters]
    unknown = sorted(set(chapters or []) - set(names))
    if unknown:
        raise BookBuildError(f"unknown chapter(s) {unknown}; chapters: {names}")
    runs: dict[str, ChapterRun] = {}
    todo: list[str] = []
    for index, name in enumerate(names, 1):
        executed_copy = root / BOOK_DIR / f"{name}.ipynb"
        if name not in wanted or (reuse and executed_copy.exists()):
            if not executed_copy.exists():
                raise BookBuildError(f"chapter {name} has no executed notebook in {root / BOOK_DIR}; run it first")
            runs[name] = ChapterRun(name, 0.0, False)
        elif (
            not force
            and not (registry.get(name).reads_book and todo)
            and executed_copy.exists()
            and executed_fingerprint(executed_copy) == chapter_fingerprint(name, profile, config, overrides)
        ):
            print(
                f"[{index}/{len(names)}] {name} is up to date (same source, parameters, package and cache)", flush=True
            )
            runs[name] = ChapterRun(name, 0.0, False)
        else:
            todo.append(name)
    if todo:  # a chapter that reads the others' executed notebooks is stale once any of them runs again
        todo += [n for n in names if registry.get(n).reads_book and n not in todo and n in wanted]
        todo.sort(key=names.index)
    todo = _skip_chapters_without_inputs(todo, names, root, P)
    jobs = default_jobs(P) if jobs is None else max(1, int(jobs))
    from synthaug_utils.core.machine import avx2_kernels_for_children

    with avx2_kernels_for_children() if P.is_embedded else contextlib.nullcontext({}) as pinned:
        if todo and pinned:  # the kernels inherit it: the same numbers on AVX2 and AVX-512 CPUs
            print(
                "CPU kernels pinned to AVX2 for a machine-independent book: "
                + ", ".join(f"{k}={v}" for k, v in pinned.items()),
                flush=True,
            )
        for run in _execute_chapters(todo, names, root, profile, config, overrides, jobs):
            runs[run.name] = run
    from synthaug_utils.presentation.checklist import write_checklist_page

    write_checklist_page(root / BOOK_DIR)  # its links name the sections of the pages as executed
    print("building HTML with jupyter-book ...", flush=True)
    html = build_html(root)
    print(f"book built: {html / 'index.html'}", flush=True)
    return html, [runs.get(n, ChapterRun(n, 0.0, False)) for n in names]  # absent: a page saying what is missing


def default_jobs(P: Profile) -> int:
    """Chapters run side by side: 2 on a CPU device with at least 2 CPU cores, else 1 (a profile on
    a GPU, like the paper profile, shares its one GPU between its chapters)."""
    return 2 if not str(P.device).startswith("cuda") and _cores() >= 2 else 1


def _skip_chapters_without_inputs(todo: list[str], names: list[str], root: Path, P: Profile) -> list[str]:
    """Check every chapter's inputs before any kernel starts; return the chapters that can run.

    A chapter whose required inputs are missing (its registry entry's ``requires``; e.g. Fig. 5
    without DDI, 07 without CLIP weights) gets a page saying what is missing and how to supply
    it instead of being executed. A CUDA profile without a visible GPU stops the build here.
    """
    from synthaug_utils.core.inputs import MissingResourcesError, chapter_missing, missing_device

    if P.is_embedded:
        return todo
    device = missing_device(P)
    if device:
        raise MissingResourcesError(f"profile {P.name!r} cannot run:\n" + "\n".join(device))
    from synthaug_utils.core.inputs import DATA_SLOTS, has_input
    from synthaug_utils.data.splits import load_splits

    for slot in DATA_SLOTS:  # every image of every supplied dataset, checked once (cached) before any kernel
        if has_input(P, slot):
            load_splits(P, slot)
    number = {n: i for i, n in enumerate(names, 1)}
    runnable = []
    for name in todo:
        missing = chapter_missing(P, name)
        if not missing:
            runnable.append(name)
            continue
        from synthaug_utils.presentation.profile_box import profile_box

        write_missing_page(name, root, P.name, missing, profile_box(P, name, with_note=False))
        print(
            f"[{number[name]}/{len(names)}] {name} not run: {len(missing)} input(s) missing (the page says which)",
            flush=True,
        )
    return runnable


def write_missing_page(name: str, root: Path, profile: str, missing: list[str], box: str = "") -> Path:
    """Write ``<root>/book/<name>.ipynb`` as a page that says the chapter did not run and lists
    every missing input with how to supply it (no kernel; re-checked on every build), after ``box``
    (the chapter's profile box, :func:`~synthaug_utils.presentation.profile_box.profile_box`)."""
    import nbformat

    items = "\n".join(missing)
    body = (
        f"# {registry.get(name).title}\n\n"
        + (f"{box}\n\n" if box else "")
        + f"```{{admonition}} This chapter was not run\n:class: warning\n"
        f"Profile `{profile}` lacks {len(missing)} input(s) this chapter needs. Supply them (in the config "
        f"file passed with `--config`, or the environment variables named below) and rebuild; "
        f"`synthaug book --chapters {name}` runs just this chapter.\n```\n\n"
        f"Missing:\n\n{items}\n"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["synthaug"] = {"fingerprint": None, "profile": profile, "missing": missing}
    from synthaug_utils.core.files import atomic_write_text

    out = root / BOOK_DIR / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(out, nbformat.writes(nb))


def _cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _ready(name: str, names: list[str], todo: list[str], done: set[str]) -> bool:
    """Whether chapter ``name`` may start: the first chapter always; others once the first
    chapter and the chapters its registry entry ``reads`` that this build executes are done."""
    entry = registry.get(name)
    needs = set(entry.reads) | ({names[0]} if name != names[0] else set())
    if entry.reads_book:
        needs |= set(names) - {name}
    return all(n in done for n in needs if n in todo)


def _execute_chapters(
    todo: list[str], names: list[str], root: Path, profile: str, config: str | None, overrides: dict | None, jobs: int
) -> list[ChapterRun]:
    """Execute the chapters in ``todo`` (at most ``jobs`` at once, respecting :func:`_ready`).

    The first failure stops new starts, waits for the running ones and raises its
    BookBuildError; executed copies of chapters that finished stay (each is renamed into
    place only when complete).
    """
    if not todo:
        return []
    number = {n: i for i, n in enumerate(names, 1)}
    if jobs == 1:
        runs = []
        for name in todo:
            print(f"[{number[name]}/{len(names)}] executing {name} (profile {profile}) ...", flush=True)
            runs.append(execute_notebook(name, root, profile, config, overrides))
            print(f"[{number[name]}/{len(names)}] {name} done in {runs[-1].seconds:.0f} s", flush=True)
        return runs
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    cores = _cores()
    pending, running, done, runs, failure = list(todo), {}, set(), [], None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        while pending or running:
            while failure is None and pending and len(running) < jobs:
                name = next((n for n in pending if _ready(n, names, todo, done)), None)
                if name is None:
                    break
                pending.remove(name)
                print(f"[{number[name]}/{len(names)}] executing {name} (profile {profile}) ...", flush=True)
                running[
                    pool.submit(
                        _execute_in_worker,
                        name,
                        root,
                        profile,
                        config,
                        overrides,
                        str(chapter_threads(name, names, cores, jobs)),
                    )
                ] = name
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                try:
                    run = future.result()
                except BookBuildError as exc:
                    failure = failure or exc
                    continue
                done.add(name)
                runs.append(run)
                print(f"[{number[name]}/{len(names)}] {name} done in {run.seconds:.0f} s", flush=True)
    if failure is not None:
        raise failure
    return runs


def chapter_threads(name: str, names: list[str], cores: int, jobs: int) -> int:
    """CPU threads of a chapter's kernel when ``jobs`` chapters run side by side: ``cores // jobs``,
    and every core for the first chapter, which runs alone (it draws the world; nothing it computes
    depends on the thread count). Never more when a chapter happens to run alone later: generated
    images and DreamBooth weights change in their last bits with the thread count
    (``benchmarks/kernel_divergence.py``), so a chapter gets the same count however the chapters
    are scheduled."""
    return cores if name == names[0] else max(1, cores // jobs)


def _execute_in_worker(
    name: str, root: Path, profile: str, config: str | None, overrides: dict | None, threads: str
) -> ChapterRun:
    """:func:`execute_notebook` in a pool process whose kernels get ``threads`` CPU threads."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = threads
    return execute_notebook(name, root, profile, config, overrides)


def glue_values(values: dict) -> None:
    """Glue every ``name -> value`` pair for use as ``{glue:text}`name``` in the page's prose (not displayed).

    A value is text the chapter wrote or a raw number that the page formats (``{glue:text}`name:.1f```);
    NumPy scalars are glued as Python numbers, so the page and the reference read a plain literal."""
    import numpy as np
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value.item() if isinstance(value, np.generic) else value, display=False)
