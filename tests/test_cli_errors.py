"""The command line's failure paths, one row per bad input (issue 14).

Each row is a command line, with the files it needs (a config file, a manifest, a results
store, a miniature paper-format dataset) made in ``tmp_path``. For every row:

- the exit code is 2;
- stderr is exactly one line, ``synthaug: error: ...``, naming the culprit (the paper
  profile's list of missing items is the one row whose line is followed by its items);
- no traceback;
- nothing already in the cache or the results store changed, and nothing was added
  (paths, sizes, mtimes and sha256 of every file, before and after);
- no work started: book kernels, training, generation, DreamBooth and generator
  pretraining are replaced by a stub that raises, so a row that reaches them fails.

Most rows call :func:`synthaug_utils.cli.main` in-process; two run ``python -m
synthaug_utils.cli`` in a subprocess (the real process: nothing else on stderr).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from synthaug_utils.cli import main
from synthaug_utils.core.config import PAPER_LOCATIONS, load_profile

REPO = Path(__file__).resolve().parents[1]


class WorkStarted(Exception):
    """Raised by the stubs that stand in for real work: a bad input got through its checks."""


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A cache of this module's own (kept small, so that it can be hashed for every row): the smoke
    world, its splits and a results store holding one result."""
    from synthaug_utils.data.splits import load_splits
    from synthaug_utils.experiments import grids, trial
    from synthaug_utils.experiments import store as experiments_store

    cache = tmp_path_factory.mktemp("cli-errors-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHAUG_CACHE", str(cache))
        for _, (env, _, _) in PAPER_LOCATIONS.items():
            mp.delenv(env, raising=False)
        profile = load_profile("smoke")
        splits = load_splits(profile, "main", 0)
        spec = grids.build_grid("fig3", profile)[0]
        store = experiments_store.ResultsStore(experiments_store.default_store(profile))
        store.write({"format": trial.RESULT_FORMAT, "key": spec.key, "spec": spec.to_dict(), "metrics": {}})
        yield {"cache": cache, "profile": profile, "splits": splits, "spec": spec}


@pytest.fixture
def no_work(monkeypatch):
    """Every entry point of real work raises WorkStarted."""

    def stub(*args, **kwargs):
        raise WorkStarted("work started although the input is bad")

    for target in (
        "synthaug_utils.presentation.book._execute_chapters",
        "synthaug_utils.presentation.book.build_html",
        "synthaug_utils.classifier.train.train_and_evaluate",
        "synthaug_utils.experiments.grids.prepare_synthetic_set",
        "synthaug_utils.experiments.executors.DaskExecutor",
        "synthaug_utils.synthetic.generate.generate",
        "synthaug_utils.diffusion.resolve.finetune_for_profile",
        "synthaug_utils.diffusion.demo_pretrain.pretrain_demo_generator",
    ):
        monkeypatch.setattr(target, stub)


def snapshot(*folders: Path) -> dict[str, tuple]:
    """Every file and folder under ``folders``: (kind, size, mtime_ns, sha256). The image-check record
    (data.IMAGE_CHECK_FILE) is left out: it remembers files that decoded, not computed results."""
    from synthaug_utils.data.checks import IMAGE_CHECK_FILE

    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.name == IMAGE_CHECK_FILE:
                continue
            st = path.stat()
            if path.is_dir():
                out[str(path)] = ("dir",)
            else:
                out[str(path)] = ("file", st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


# ----------------------------------------------------------------------------- inputs the rows need
def _break(victim: Path, broken: str | None) -> Path:
    """Make ``victim`` ``missing``, ``empty`` or ``truncated`` (first half of its bytes); None leaves it."""
    if broken == "missing":
        victim.unlink()
    elif broken == "empty":
        victim.write_bytes(b"")
    elif broken == "truncated":
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    return victim


def _png(path: Path, seed: int = 0, size: int = 32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@dataclass
class Inputs:
    """Makes the files a row needs, under ``tmp`` (the row's own folder)."""

    tmp: Path
    world: dict
    made: list = field(default_factory=list)

    def file(self, name: str, text: str = "") -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)

    def config(self, text: str) -> str:
        return self.file("config.yaml", text)

    def paper_data(self, broken: str | None = None, weights: bool = True) -> str:
        """A miniature Fitzpatrick17k in the real formats (2 labels, 3 training + 1 held-out image
        each, JPEG) and a paper-profile config pointing at it (device cpu). ``broken``: the first
        held-out image is ``missing``, ``empty`` or ``truncated``; ``weights``: whether the classifier
        weights file named in the config exists. Returns the config file."""
        root = self.tmp / "f17k"
        (root / "images").mkdir(parents=True)
        rows = []
        for label in ("psoriasis", "eczema"):
            for i in range(4):
                rows.append({"md5hash": f"{label[:3]}{i:029d}", "fitzpatrick_scale": 1 + i % 6, "label": label})
        table = pd.DataFrame(rows)
        test = table.groupby("label").head(1)
        train = table.drop(test.index)
        table.to_csv(root / "fitzpatrick17k.csv", index=False)
        train.to_csv(root / "fitzpatrick17k_10label_clean_training.csv", index=False)
        test.to_csv(root / "fitzpatrick17k_10label_clean_held_out_set.csv", index=False)
        for i, h in enumerate(table.md5hash):
            rgb = np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8)
            Image.fromarray(rgb).save(root / "images" / f"{h}.jpg", quality=90)
        victim = root / "images" / f"{test.md5hash.iloc[0]}.jpg"
        self.victim = _break(victim, broken)
        if weights:
            (root / "weights.pth").write_bytes(b"")  # present; never loaded (training does not start)
        return self.config(
            f"f17k_metadata: {root / 'fitzpatrick17k.csv'}\nf17k_splits: {root}\nf17k_images: {root / 'images'}\n"
            f"classifier_weights: {root / 'weights.pth'}\n"
            "overrides:\n  device: cpu\n  val_per_label: 1\n"
        )

    def manifest(self, sources: pd.DataFrame, broken: str | None = None) -> str:
        """A synthetic-set folder: one inpainting per source (a valid PNG); with ``broken``, the first
        source's image is ``missing``, ``empty`` or ``truncated``."""
        folder = self.tmp / "synthetic"
        rows = []
        for i, src in enumerate(sources.itertuples()):
            image = _png(folder / "images" / f"{i:03d}.png", seed=i)
            rows.append(
                dict(
                    synthetic_id=f"inpaint/pretrained/{i:03d}",
                    source_id=src.image_id,
                    label=src.label,
                    fst=int(src.fst),
                    method="inpaint",
                    stage="final",
                    variant="pretrained",
                    index=0,
                    seed=i,
                    model_id="demo://ldm-inpaint",
                    model_hash="0",
                    steps=4,
                    guidance_scale=3.0,
                    strength=0.97,
                    resolution=64,
                    prompt=f"An image of {src.label}, a skin disease",
                    mask="center",
                    path=str(image.relative_to(folder)),
                )
            )
        victim = folder / rows[0]["path"]
        self.victim = _break(victim, broken)
        pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
        return str(folder)

    def trial_sources(self) -> pd.DataFrame:
        """The real images of ``synthaug trial --profile smoke --n-real 1`` (seed 0)."""
        from synthaug_utils.data.splits import training_subset

        return training_subset(self.world["splits"], 1, 0)

    def old_store(self) -> str:
        """A results store holding the first fig3 (smoke) trial in result format 0, written by synthaug 0.0.1."""
        spec = self.world["spec"]
        trials = self.tmp / "old-store" / "trials"
        trials.mkdir(parents=True)
        result = {
            "format": 0,
            "key": spec.key,
            "spec": spec.to_dict(),
            "metrics": {"top1": 0.5},
            "provenance": {"packages": {"synthaug": "0.0.1"}},
        }
        (trials / f"{spec.key}.json").write_text(json.dumps(result))
        self.victim = trials / f"{spec.key}.json"
        return str(self.tmp / "old-store")


@dataclass
class Row:
    """One bad input: ``argv`` from the row's Inputs; ``culprit(inputs)`` must appear in the error line."""

    name: str
    argv: Callable[[Inputs], list[str]]
    culprit: Callable[[Inputs], str] | str
    subprocess: bool = False
    items_follow: bool = False  # a list follows the line, one '- item' per line (missing resources, bad images)
    xfail: str | None = None


def _smoke_test_image(t: Inputs) -> str:
    return t.world["splits"].test.image_id.iloc[0]


ROWS = [
    # -- the five rows of the issue
    Row(
        "overrides-malformed-json",
        lambda t: ["book", "--overrides", "{seeds: [0"],
        "--overrides '{seeds: [0'",
        subprocess=True,
    ),
    Row(
        "generate-out-is-a-file",
        lambda t: ["generate", "--profile", "smoke", "--out", t.file("taken.txt", "x")],
        "taken.txt",
    ),
    Row(
        "dask-scheduler-unreachable",
        lambda t: ["run", "fig3", "--profile", "smoke", "--executor", "dask://127.0.0.1:9", "--connect-timeout", "1"],
        "127.0.0.1:9",
        subprocess=True,
    ),
    Row(
        "overrides-unknown-field-before-any-kernel",
        lambda t: ["book", "--profile", "smoke", "--overrides", '{"seedz": [0]}'],
        "seedz",
    ),
    Row(
        "executor-typo-with-dry-run",
        lambda t: ["run", "fig3", "--profile", "smoke", "--executor", "dask-locl", "--dry-run"],
        "dask-locl",
    ),
    # -- the eleven that already worked
    Row(
        "missing-column",
        lambda t: [
            "data",
            "summary",
            "--dataset",
            "ddi",
            "--metadata",
            t.file("ddi.csv", "DDI_file,skin_tone\na.png,12\n"),
        ],
        "malignant",
    ),
    Row(
        "missing-file",
        lambda t: ["data", "summary", "--dataset", "ddi", "--metadata", str(t.tmp / "nope.csv")],
        "nope.csv",
    ),
    Row("unknown-profile", lambda t: ["trial", "--profile", "papr"], "papr"),
    Row("unknown-architecture", lambda t: ["trial", "--profile", "smoke", "--arch", "resnet999x"], "resnet999x"),
    Row("n-too-large", lambda t: ["trial", "--profile", "smoke", "--n-real", "1000"], "n=1000"),
    Row("paper-profile-nothing-supplied", lambda t: ["trial", "--profile", "paper"], "paper", items_follow=True),
    Row(
        "bad-yaml",
        lambda t: ["trial", "--profile", "smoke", "--config", t.config("f17k_metadata: [unclosed\n")],
        "config.yaml",
    ),
    Row(
        "misspelt-config-key",
        lambda t: ["trial", "--profile", "smoke", "--config", t.config("f17k_metdata: x.csv\n")],
        "f17k_metdata",
    ),
    Row(
        "negative-ratio",
        lambda t: ["trial", "--profile", "smoke", "--method", "inpaint", "--ratio", "-1"],
        "--ratio -1",
    ),
    Row("unknown-chapter", lambda t: ["book", "--profile", "smoke", "--chapters", "99_nope"], "99_nope"),
    Row(
        "missing-manifest",
        lambda t: [
            "trial",
            "--profile",
            "smoke",
            "--method",
            "inpaint",
            "--ratio",
            "1",
            "--manifest",
            str(t.tmp / "no-set"),
        ],
        "no-set",
    ),
    # -- images that are missing, empty or truncated: real (paper-format data) and synthetic (a manifest)
    Row(
        "real-image-missing",
        lambda t: ["trial", "--profile", "paper", "--config", t.paper_data("missing"), "--n-real", "1"],
        lambda t: t.victim.name,
        items_follow=True,
    ),
    Row(
        "real-image-empty",
        lambda t: ["trial", "--profile", "paper", "--config", t.paper_data("empty"), "--n-real", "1"],
        lambda t: t.victim.name,
        items_follow=True,
    ),
    Row(
        "real-image-truncated-jpeg",
        lambda t: ["trial", "--profile", "paper", "--config", t.paper_data("truncated"), "--n-real", "1"],
        lambda t: t.victim.name,
        items_follow=True,
    ),
    Row(
        "paper-classifier-weights-missing",
        lambda t: ["trial", "--profile", "paper", "--config", t.paper_data(weights=False), "--n-real", "1"],
        "classifier_weights",
        items_follow=True,
    ),
    Row(
        "synthetic-image-missing",
        lambda t: [
            "trial",
            "--profile",
            "smoke",
            "--n-real",
            "1",
            "--method",
            "inpaint",
            "--ratio",
            "1",
            "--manifest",
            t.manifest(t.trial_sources(), "missing"),
        ],
        lambda t: t.victim.name,
    ),
    Row(
        "synthetic-image-truncated-png",
        lambda t: [
            "trial",
            "--profile",
            "smoke",
            "--n-real",
            "1",
            "--method",
            "inpaint",
            "--ratio",
            "1",
            "--manifest",
            t.manifest(t.trial_sources(), "truncated"),
        ],
        lambda t: t.victim.name,
        items_follow=True,
    ),
    # -- the leakage guard: a synthetic image derived from a test image
    Row(
        "manifest-derived-from-test-image",
        lambda t: [
            "trial",
            "--profile",
            "smoke",
            "--n-real",
            "1",
            "--method",
            "inpaint",
            "--ratio",
            "1",
            "--manifest",
            t.manifest(pd.concat([t.world["splits"].test.head(1), t.trial_sources()])),
        ],
        _smoke_test_image,
    ),
    # -- a results store written by another package version (another result format)
    Row(
        "store-from-other-version-dry-run",
        lambda t: ["run", "fig3", "--profile", "smoke", "--store", t.old_store(), "--dry-run"],
        lambda t: t.victim.name,
    ),
    Row(
        "store-from-other-version-run",
        lambda t: ["run", "fig3", "--profile", "smoke", "--store", t.old_store()],
        "synthaug 0.0.1",
    ),
    # -- more arguments, overrides and paths
    Row(
        "override-wrong-type",
        lambda t: ["book", "--profile", "smoke", "--overrides", '{"seeds": "zero"}'],
        'seeds="zero"',
    ),
    Row("overrides-not-an-object", lambda t: ["book", "--profile", "smoke", "--overrides", "[0, 1]"], "[0, 1]"),
    Row(
        "override-group-near-duplicates-not-boolean",
        lambda t: ["book", "--profile", "smoke", "--overrides", '{"group_near_duplicates": "no"}'],
        'group_near_duplicates="no"',
    ),
    Row(
        "byo-image-listed-twice",
        lambda t: [
            "data",
            "split",
            "--dataset",
            "byo",
            "--source",
            t.file("mine/mine.csv", "path,label\na.png,x\nb.png,y\na.png,x\n"),
        ],
        "'a.png': lines 2, 4",
        items_follow=True,
    ),
    Row(
        "override-unknown-grid-setting",
        lambda t: [
            "run",
            "fig3",
            "--profile",
            "smoke",
            "--dry-run",
            "--config",
            t.config("overrides:\n  grids:\n    fig3:\n      seedz: [0]\n"),
        ],
        "seedz",
    ),
    Row(
        "config-override-wrong-type",
        lambda t: ["trial", "--profile", "smoke", "--config", t.config("overrides:\n  max_epochs: many\n")],
        "max_epochs",
    ),
    Row(
        "executor-bad-worker-count",
        lambda t: ["run", "fig3", "--profile", "smoke", "--executor", "dask-local:zero", "--dry-run"],
        "dask-local:zero",
    ),
    Row(
        "store-is-a-file",
        lambda t: ["run", "fig3", "--profile", "smoke", "--dry-run", "--store", t.file("store.txt", "x")],
        "store.txt",
    ),
    Row(
        "out-below-a-file",
        lambda t: ["dreambooth", "--profile", "smoke", "--out", t.file("plain.txt", "x") + "/models"],
        "plain.txt",
    ),
    Row("jobs-zero", lambda t: ["book", "--profile", "smoke", "--jobs", "0"], "--jobs 0"),
    Row(
        "write-reference-into-a-missing-folder",
        lambda t: ["book", "--profile", "smoke", "--write-reference", str(t.tmp / "no" / "such" / "ref.json")],
        "no/such",
    ),
    Row("threads-negative", lambda t: ["trial", "--profile", "smoke", "--threads", "-2"], "--threads -2"),
    Row("unknown-grid", lambda t: ["run", "fig9"], "fig9"),
    Row(
        "n-per-label-without-count",
        lambda t: ["trial", "--profile", "smoke", "--n-per-label", "psoriasis"],
        "psoriasis",
    ),
    Row(
        "generate-unknown-label",
        lambda t: ["generate", "--profile", "smoke", "--out", str(t.tmp / "gen"), "--labels", "warts"],
        "warts",
    ),
    # -- the PDF of a book that was never built (or, without chromium, the missing chromium)
    Row(
        "pdf-without-a-built-book",
        lambda t: ["pdf", "--root", str(t.tmp / "not-built")],
        lambda t: (
            "not-built"
            if any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))
            else "chromium"
        ),
    ),
]


def _params():
    for row in ROWS:
        marks = [pytest.mark.xfail(reason=row.xfail, strict=False)] if row.xfail else []
        yield pytest.param(row, id=row.name, marks=marks)


def test_the_table_covers_the_issue():
    assert len(ROWS) >= 20 and len({r.name for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", list(_params()))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(row: Row, world, no_work, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(world["cache"]))
    for env, _, _ in PAPER_LOCATIONS.values():
        monkeypatch.delenv(env, raising=False)
    inputs = Inputs(tmp_path, world)
    argv = row.argv(inputs)
    before = snapshot(world["cache"], tmp_path)
    if row.subprocess:
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.run(
            [sys.executable, "-m", "synthaug_utils.cli", *argv], capture_output=True, text=True, env=env, timeout=120
        )
        code, err = proc.returncode, proc.stderr
    else:
        code = main(argv)
        err = capsys.readouterr().err
    after = snapshot(world["cache"], tmp_path)

    assert "Traceback" not in err, err
    assert code == 2, err
    lines = err.rstrip("\n").splitlines()
    assert lines and lines[0].startswith("synthaug: error: "), err
    if row.items_follow:
        assert len(lines) > 1 and all(line.startswith("- ") for line in lines[1:]), err
    else:
        assert len(lines) == 1, err
    culprit = row.culprit(inputs) if callable(row.culprit) else row.culprit
    named = err if row.items_follow else lines[0]  # a list of missing items names them in its items
    assert culprit in named, f"{culprit!r} not named in: {named}"
    assert after == before, "the command changed the cache, the store or the inputs"


def test_debug_shows_the_traceback(world, capsys):
    from synthaug_utils.cli.checks import UsageError

    with pytest.raises(UsageError):
        main(["--debug", "run", "fig3", "--executor", "dask-locl", "--dry-run"])
    with pytest.raises(UsageError):  # also after the subcommand
        main(["run", "fig3", "--executor", "dask-locl", "--dry-run", "--debug"])


def test_a_bug_still_shows_its_traceback(monkeypatch):
    monkeypatch.setattr("synthaug_utils.cli.checks.check_args", lambda args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        main(["run", "fig3", "--dry-run"])


def test_executor_forms():
    from synthaug_utils.experiments.executors import parse_executor
    from synthaug_utils.experiments.spec import SpecError

    assert parse_executor(None) == ("inprocess", None) and parse_executor("inprocess") == ("inprocess", None)
    assert parse_executor("dask-local") == ("local", 2) and parse_executor("dask-local:3") == ("local", 3)
    assert parse_executor("dask://10.0.0.1:8786") == ("remote", "10.0.0.1:8786")
    assert parse_executor("tcp://node7:8786") == ("remote", "tcp://node7:8786")
    assert parse_executor("dask://tls://node7:8786") == ("remote", "tls://node7:8786")
    for bad in (
        "dask-locl",
        "dask-local:0",
        "dask-local:x",
        "dask://",
        "dask://host",
        "dask://host:http",
        "tcp://:1",
        "ray://x:1",
    ):
        with pytest.raises(SpecError, match="is not one of"):
            parse_executor(bad)


def test_book_kernels_start_without_their_tcp_warning(tmp_path, capfd):
    """ipykernel logs 'Kernel is running over TCP without encryption' to the terminal it inherits;
    the book's kernel arguments keep it out, and the notebook's own warnings stay in the notebook."""
    import nbformat
    import papermill

    from synthaug_utils.presentation.book import KERNEL_ARGS

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import warnings; warnings.warn('a warning of the chapter'); print('ran')")]
    nbformat.write(nb, tmp_path / "in.ipynb")
    papermill.execute_notebook(
        str(tmp_path / "in.ipynb"),
        str(tmp_path / "out.ipynb"),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
        extra_arguments=KERNEL_ARGS,
    )
    captured = capfd.readouterr()
    assert "without encryption" not in captured.err + captured.out
    assert "a warning of the chapter" in (tmp_path / "out.ipynb").read_text()
