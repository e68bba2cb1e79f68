"""Generation through the Dask executor: same manifest and image bytes as in-process (tiny pipelines from
tests/test_generation.py, and the smoke profile through the command line), images of another model made again,
and a worker killed mid-run recovers to exactly one valid image per manifest row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cloudpickle
import pytest
import test_generation
from test_generation import sources, tiny_models, tiny_resolver, tiny_settings  # noqa: F401 - fixtures

from synthaug_utils.core import files
from synthaug_utils.core.vocabulary import METHODS
from synthaug_utils.diffusion import pipelines
from synthaug_utils.experiments import generation_tasks
from synthaug_utils.synthetic import generate
from synthaug_utils.synthetic import manifest as synthetic_manifest

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def by_value():
    """Ship this module's and test_generation's functions to Dask workers by value (they cannot import tests)."""
    modules = [test_generation, sys.modules[__name__]]
    for m in modules:
        cloudpickle.register_pickle_by_value(m)
    yield
    for m in modules:
        cloudpickle.unregister_pickle_by_value(m)


def _images(folder: Path) -> dict[str, bytes]:
    table = synthetic_manifest.read_manifest(folder, check_files=True)
    return {sid: Path(p).read_bytes() for sid, p in zip(table.synthetic_id, table.path)}


def _temporaries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.tmp"))


def test_dask_local_generation_matches_in_process(tmp_path, tiny_models, sources, by_value):
    args = (list(METHODS), ["pretrained", "dreambooth"], 2, tiny_settings())
    kw = dict(resolve=tiny_resolver(tiny_models), model_group=lambda row: row["label"], progress=False)
    one = generate.generate(sources, tmp_path / "inprocess", *args, **kw)
    two = generation_tasks.generate_with_executor(
        sources, tmp_path / "dask", *args, **kw, executor="dask-local:2", shard_size=1, threads=1
    )
    assert two.read_bytes() == one.read_bytes()
    a, b = _images(tmp_path / "inprocess"), _images(tmp_path / "dask")
    assert len(a) == 2 * (len(METHODS) + 1) * 2 * len(sources) and a == b
    assert not _temporaries(tmp_path / "dask")


def test_dask_path_stamps_model_hash_and_remakes_images_of_another_model(tmp_path, tiny_models, sources, by_value):
    """On the Dask path too, images the manifest lists as made by another model are made again (a valid image
    left by that model would otherwise be kept), and the manifest names the hash of the model that made them."""
    import shutil

    from PIL import Image

    out = tmp_path / "set"
    args = (["text-to-image"], ["pretrained"], 1, tiny_settings())
    kw = dict(progress=False, executor="dask-local:1", shard_size=2, threads=1)
    first = generation_tasks.generate_with_executor(sources, out, *args, resolve=tiny_resolver(tiny_models), **kw)
    assert set(synthetic_manifest.read_manifest(first).model_hash) == {pipelines.model_hash(tiny_models["text2image"])}
    made = _images(out)
    grey = Image.new("RGB", (tiny_settings().resolution,) * 2, (128, 128, 128))
    for path in synthetic_manifest.read_manifest(first).path:
        grey.save(path)  # valid images of the right size that this model did not make
    stats: dict = {}
    generation_tasks.generate_with_executor(sources, out, *args, resolve=tiny_resolver(tiny_models), stats=stats, **kw)
    assert stats == {} and set(_images(out).values()) == {Path(path).read_bytes()}  # same model: the grey ones kept
    changed = tmp_path / "text2image-changed"
    shutil.copytree(tiny_models["text2image"], changed)
    config = changed / "unet" / "config.json"
    config.write_text(config.read_text() + "\n")  # the same weights under another hash: the same images
    second = generation_tasks.generate_with_executor(
        sources, out, *args, resolve=lambda variant, kind, group: (f"tiny-{kind}", changed), stats=stats, **kw
    )
    assert sum(v["images"] for v in stats.values()) == len(sources) and _images(out) == made
    assert set(synthetic_manifest.read_manifest(second).model_hash) == {pipelines.model_hash(changed)}


def _cli_generate(out: Path, *extra: str) -> None:
    """``synthaug generate --profile smoke`` on one class's pretrained-model images, in a fresh process with the
    machine's own thread count and kernel set (no variable of ours or of the test session chooses them)."""
    from synthaug_utils.core.machine import AVX2_KERNELS

    env = {k: v for k, v in os.environ.items() if k not in AVX2_KERNELS and not k.endswith("_NUM_THREADS")}
    command = [sys.executable, "-m", "synthaug_utils.cli", "generate", "--profile", "smoke", "--out", str(out)]
    command += ["--variants", "pretrained", "--labels", "allergic contact dermatitis", *extra]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def test_cli_generate_gives_the_same_bytes_in_process_and_on_dask_workers(tmp_path):
    """The class has 20 training sources, more than one shard of 16: the Dask tasks must still draw the
    in-process run's batches (an image's last bits depend on its batch)."""
    _cli_generate(tmp_path / "inprocess")
    _cli_generate(tmp_path / "dask", "--executor", "dask-local:2")
    one, two = tmp_path / "inprocess" / "manifest.csv", tmp_path / "dask" / "manifest.csv"
    assert one.read_bytes() == two.read_bytes()
    a, b = _images(tmp_path / "inprocess"), _images(tmp_path / "dask")
    made_from = {key.rsplit("/", 1)[1] for key in a}
    assert len(made_from) > 16 and len(a) == len(made_from) * 2 * (len(METHODS) + 1) and a.keys() == b.keys()
    assert sorted(k for k in a if a[k] != b[k]) == []


def _crash_once(marker: str):
    def on_saved(path: Path) -> None:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        files.temporary_name(path).write_bytes(b"half an image")  # as if killed mid-write
        os._exit(1)

    return on_saved


def test_killed_worker_then_rerun_leaves_one_valid_image_per_row(tmp_path, tiny_models, sources, by_value):
    out, marker = tmp_path / "set", tmp_path / "crashed"
    kw = dict(resolve=tiny_resolver(tiny_models), progress=False, executor="dask-local:2", shard_size=2, threads=1)
    args = (["inpaint", "in-then-outpaint"], ["pretrained"], 2, tiny_settings())
    try:  # Dask reschedules the killed worker's task; a KilledWorker error is also acceptable here
        generation_tasks.generate_with_executor(sources, out, *args, **kw, on_saved=_crash_once(str(marker)))
    except Exception as exc:  # noqa: BLE001
        assert "KilledWorker" in type(exc).__name__, exc
    assert marker.is_file()
    stats: dict = {}
    path = generation_tasks.generate_with_executor(sources, out, *args, **kw, stats=stats)
    table = synthetic_manifest.read_manifest(path, check_files=True)
    _, planned = generate.plan_generation(sources, *args)
    assert sorted(table.synthetic_id) == sorted(planned.synthetic_id) and not table.synthetic_id.duplicated().any()
    assert all(generate.valid_png(Path(p), tiny_settings().resolution) for p in table.path)
    assert len({*table.path}) == len(list((out / "images").rglob("*.png")))
    assert not _temporaries(out)
    stats2: dict = {}
    generation_tasks.generate_with_executor(sources, out, *args, **kw, stats=stats2)
    assert stats2 == {} and path.read_bytes() == (out / "manifest.csv").read_bytes()


def test_grid_preparation_goes_through_a_dask_executor(monkeypatch, smoke_profile):
    """run_grid's synthetic-set preparation hands each set to generate_with_executor with the grid's Dask executor."""
    from synthaug_utils.data.splits import load_splits
    from synthaug_utils.experiments import grids
    from synthaug_utils.experiments.spec import base_spec

    calls = []

    def fake(*args, executor=None, threads=None, **kw):
        calls.append((executor, threads, args[2], args[3], args[4]))
        return generate.generate(*args, **kw)

    class FakeDask:  # a Dask executor as far as preparation can tell
        client = object()
        workers = 1

        def map_unordered(self, fn, items):
            for i, args in enumerate(items):
                yield i, fn(*args)

        def close(self):
            pass

    monkeypatch.setattr(generation_tasks, "generate_with_executor", fake)
    load_splits(smoke_profile)
    spec = base_spec(
        smoke_profile,
        n_real=1,
        mode="fast",
        image_size=32,
        max_epochs=1,
        synthetic_ratio=1,
        synthetic_method="inpaint",
        synthetic_variant="pretrained",
    )
    runner = FakeDask()
    grids.prepare_synthetic_sets([spec], smoke_profile, progress=False, executor=runner, threads=1)
    assert calls and all(c[0] is runner and c[1] == 1 and c[2:] == (["inpaint"], ["pretrained"], 1) for c in calls)
    calls.clear()
    grids.prepare_synthetic_sets([spec], smoke_profile, progress=False)  # in-process: generate itself
    assert calls == []


def test_dreambooth_through_dask_is_one_task_per_model_and_skips_finished_ones(monkeypatch, tmp_path, smoke_profile):
    """One task per (kind, class), submitted to the executor's client; a model with dreambooth.json is not redone."""
    from distributed import Client

    def fake_task(profile, kind, group, splits, out, threads):  # records its run in a file (tasks are pickled)
        Path(out).mkdir(parents=True)
        (Path(out) / "ran.txt").write_text(f"{kind} {group} {threads}")
        (Path(out) / "dreambooth.json").write_text("{}")
        return out

    class ThreadDask:  # a Dask executor on an in-process (threads) client: the stub above runs in this process
        def __init__(self):
            self.client = Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None)

    monkeypatch.setattr(generation_tasks, "_finetune_task", fake_task)
    ex = ThreadDask()
    try:
        (tmp_path / "inpaint" / "b").mkdir(parents=True)
        (tmp_path / "inpaint" / "b" / "dreambooth.json").write_text("{}")
        paths = generation_tasks.dreambooth_with_executor(
            smoke_profile, ["text2image", "inpaint"], ["a", "b"], None, tmp_path, executor=ex, threads=1
        )
    finally:
        ex.client.close()
    ran = sorted(p.read_text() for p in tmp_path.rglob("ran.txt"))
    assert ran == ["inpaint a 1", "text2image a 1", "text2image b 1"]
    assert paths == {(k, g): tmp_path / k / g for k in ("text2image", "inpaint") for g in ("a", "b")}
