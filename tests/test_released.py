"""The authors' released synthetic images as a synthetic source, and sets shared by every validation redraw.

Shards are written here as manrai/synthetic-derm's ``huggingface/compile_webdataset.py`` writes them: one
series of tar shards per ``{label}_{method}_{submethod}`` folder, named ``shard-{prefix}-{n:05d}.tar``,
each sample a ``png`` and a ``json`` (name, md5hash, label, method, submethod, generation_num, tag) under the
key ``{label}_{method}_{submethod}_{tag}_{generation_num}_{md5hash}`` (underscores for dashes in the prefix).
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from synthaug_utils.core.errors import DataError, LeakageError, NotPreparedError
from synthaug_utils.experiments import grids
from synthaug_utils.experiments.spec import base_spec
from synthaug_utils.experiments.trial import real_subset, synthetic_rows, training_table
from synthaug_utils.synthetic import sets
from synthaug_utils.synthetic.manifest import read_manifest, select_synthetic


@pytest.fixture(scope="module")
def smoke():
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.data.splits import load_splits

    profile = load_profile("smoke")
    return profile, load_splits(profile)


def write_release(folder: Path, entries) -> list[Path]:
    """Shards in the authors' format; ``entries``: (label, method, submethod, tag, generation_num, md5, colour)."""
    import webdataset as wds

    folder.mkdir(parents=True, exist_ok=True)
    by_prefix: dict[str, list] = {}
    for label, method, sub, tag, num, md5, colour in entries:
        prefix = f"{label}_{method}_{sub}".replace("-", "_")
        by_prefix.setdefault(prefix, []).append((label, method, sub, tag, num, md5, colour))
    shards = []
    for prefix, samples in by_prefix.items():
        path = folder / f"shard-{prefix.replace('_', '-')}-00000.tar"
        with wds.TarWriter(str(path)) as tar:
            for label, method, sub, tag, num, md5, colour in samples:
                name = f"{prefix}_{tag}_{num}_{md5}"
                buf = io.BytesIO()
                Image.new("RGB", (16, 16), colour).save(buf, format="PNG")
                meta = dict(
                    name=f"{name}.png",
                    md5hash=md5,
                    label=label,
                    method=method,
                    submethod=sub,
                    generation_num=num,
                    tag=tag,
                )
                tar.write({"__key__": name, "png": buf.getvalue(), "json": json.dumps(meta).encode()})
        shards.append(path)
    return shards


def released_entries(sources: pd.DataFrame, per_source: int, method="finetune_text_to_image", sub="text-to-image"):
    """``per_source`` released images of every source; the colour encodes (source row, generation number)."""
    out = []
    for i, src in enumerate(sources.itertuples()):
        for k in range(per_source):
            tag, num = ("generations1", f"{k:02d}") if k < per_source - 1 else ("generations2", "00")
            out.append((src.label.replace(" ", "-"), method, sub, tag, num, src.image_id, (i % 256, k, 7)))
    return out


def test_released_shards_are_the_synthetic_source_of_a_run(smoke, tmp_path, monkeypatch):
    """With ``released_synthetic`` set a trial's synthetic rows come from the release and nothing is
    generated; released images of validation or test images are unpacked but never selected, and the
    leakage guard checks what each run selects."""
    profile, splits = smoke
    released = dataclasses.replace(profile, locations={**profile.locations, "released_synthetic": str(tmp_path / "r")})
    spec = base_spec(
        released, n_real=2, synthetic_method="text-to-image", synthetic_variant="dreambooth", synthetic_ratio=2
    )
    real = real_subset(spec, splits)
    evaluation = pd.concat([splits.val.head(1), splits.test.head(1)])
    write_release(tmp_path / "r", released_entries(pd.concat([real, evaluation]), per_source=3))

    def no_generation(*args, **kwargs):
        raise AssertionError("a released arm must not generate")

    monkeypatch.setattr(sets, "generate", no_generation)
    with pytest.raises(NotPreparedError, match="not unpacked"):  # a trial only reads: unpacking is preparation
        training_table(spec, released, splits)
    grids.prepare_synthetic_sets([spec], released, progress=False)
    table, csv = training_table(spec, released, splits)
    synthetic = table[table.synthetic]
    assert csv.parent.parent.parent.name == "released" and csv.parent.name == splits.dataset
    assert len(synthetic) == 2 * len(real) and set(synthetic.source_id) == set(real.image_id)
    assert not set(synthetic.source_id) & splits.evaluation_ids
    # indices rank a source's images by (tag, generation number): generations1-00, generations1-01
    firsts = [np.asarray(Image.open(p))[0, 0, 1] for p in synthetic.path]
    assert firsts == [0, 1] * len(real)
    assert (synthetic.label.to_numpy() == synthetic.source_id.map(dict(zip(real.image_id, real.label)))).all()

    manifest = read_manifest(csv)
    assert set(evaluation.image_id) <= set(manifest.source_id)  # unpacked, as the release names them
    assert manifest.model_id.str.startswith("released:manrai/synthetic-derm/").all() and (manifest.seed == -1).all()
    with pytest.raises(LeakageError, match=splits.val.image_id.iloc[0]):
        select_synthetic(manifest, [splits.val.image_id.iloc[0]], 2, splits=splits)
    # the guard runs on every run's own selection: a split where a chosen source is a validation image
    moved = real.image_id.iloc[0]
    other = dataclasses.replace(splits, val=pd.concat([splits.val, real.head(1).assign(split="val")]))
    with pytest.raises(LeakageError, match=moved):
        synthetic_rows(spec, released, other, real)
    # a ratio the release cannot serve is refused by name
    with pytest.raises(DataError, match="fewer than 4"):
        training_table(spec.replace(synthetic_ratio=4), released, splits)
    # results of released images are not those of generated ones
    plain = base_spec(
        profile, n_real=2, synthetic_method="text-to-image", synthetic_variant="dreambooth", synthetic_ratio=2
    )
    assert plain.key != spec.key
    assert sets.synthetic_source(released) == "released" and sets.synthetic_source(profile) == "generated"
    # a release that names none of a dataset's images says so, with the key to unset
    elsewhere = dataclasses.replace(profile, locations={"released_synthetic": str(tmp_path / "other")})
    write_release(
        tmp_path / "other", [("psoriasis", "pretrained_inpaint", "inpaint", "generations1", "00", "x", (1, 1, 1))]
    )
    with pytest.raises(DataError, match="none named an image of .*Unset released_synthetic"):
        grids.prepare_synthetic_sets([spec], elsewhere, progress=False)
    # arms the release has no images of are still generated
    assert sets.released_serves(released, "inpaint", "pretrained")
    assert not sets.released_serves(released, "outpaint", "pretrained")
    assert not sets.released_serves(released, "text-to-image", "dreambooth-own")


def test_released_location_is_checked_before_any_work(tmp_path):
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.core.inputs import MissingResourcesError, check_ready, missing_resources

    paper = load_profile("paper")
    assert not any("released_synthetic" in line for line in missing_resources(paper))  # optional: unset, not needed
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = dataclasses.replace(paper, locations={**paper.locations, "released_synthetic": str(empty)})
    lines = [line for line in missing_resources(broken) if "released_synthetic" in line]
    assert len(lines) == 1 and "SYNTHAUG_RELEASED_SYNTHETIC" in lines[0] and "compile_webdataset" in lines[0]
    with pytest.raises(MissingResourcesError, match="released_synthetic"):
        check_ready(broken, needs=("released_synthetic",))
    # the book checks it before any kernel, for the chapters whose trials take synthetic images
    from synthaug_utils.core.inputs import chapter_missing

    for chapter in ("03_real_vs_synthetic", "04_dose_response", "05_skin_type", "06_class_imbalance"):
        assert any("released_synthetic" in line for line in chapter_missing(broken, chapter))
        assert not any("released_synthetic" in line for line in chapter_missing(paper, chapter))
    assert not any("released_synthetic" in line for line in chapter_missing(broken, "01_data"))
    write_release(
        tmp_path / "ok", [("psoriasis", "pretrained_inpaint", "inpaint", "generations1", "00", "a", (1, 1, 1))]
    )
    fine = dataclasses.replace(paper, locations={**paper.locations, "released_synthetic": str(tmp_path / "ok")})
    assert missing_resources(fine, needs=("released_synthetic",)) == []


def test_split_independent_sets_are_shared_by_every_redraw(smoke, tmp_path, monkeypatch):
    """A set whose images do not depend on the split is one folder for every split seed; a run takes its own
    training images' rows from it even where other rows derive from its validation images, while a manifest
    a spec names is still refused whole."""
    from test_experiments import write_manifest

    from synthaug_utils.diffusion.settings import generation_settings
    from synthaug_utils.experiments import trial

    profile, splits = smoke
    gen = generation_settings(profile)
    assert sets.split_independent(profile, "pretrained", "main")
    assert not sets.split_independent(profile, "dreambooth-own", "main")
    assert sets.split_independent(profile, "dreambooth", "main") is bool(
        profile.dreambooth_defaults.get("include_validation")
    )
    paper_like = dataclasses.replace(
        profile, dreambooth_defaults={**profile.dreambooth_defaults, "include_validation": True}
    )
    assert sets.split_independent(paper_like, "dreambooth", "main") and not sets.split_independent(
        paper_like, "dreambooth", "ddi"
    )
    shared = sets.synthetic_set_dir(profile, "inpaint", "pretrained", splits.dataset, None, gen)
    assert shared.parent.name == f"{splits.dataset}-all-splits"
    assert sets.synthetic_set_dir(profile, "inpaint", "pretrained", splits.dataset, 0, gen).parent.name.endswith(
        "-split0"
    )

    # ensure_synthetic_set names the folder: one for every split where the images do not depend on it
    from synthaug_utils.data.splits import load_splits

    redrawn = load_splits(profile, "main", 1)
    folders = []

    def record(sources, out_dir, *args):
        folders.append(Path(out_dir))

    for variant, these in (
        ("pretrained", splits),
        ("pretrained", redrawn),
        ("dreambooth", splits),
        ("dreambooth", redrawn),
    ):
        sources = these.train_pool.head(3)
        sets.ensure_synthetic_set(
            profile, "inpaint", variant, sources, 1, splits=these, progress=False, generate_fn=record
        )
    assert folders[0] == folders[1] and folders[0].parent.name.endswith("-all-splits")
    assert folders[2] != folders[3] and folders[3].parent.name.endswith(
        "-split1"
    )  # the smoke DreamBooth sees one split

    spec = base_spec(profile, n_real=2, synthetic_method="inpaint", synthetic_variant="pretrained", synthetic_ratio=2)
    real = real_subset(spec, splits)
    folder = write_manifest(tmp_path / "shared", pd.concat([real, splits.val.head(2)]), per_real=3)
    monkeypatch.setattr(trial, "prepared_synthetic_set", lambda *args, **kwargs: folder)
    rows, _ = synthetic_rows(spec, profile, splits, real)
    assert len(rows) == 2 * len(real) and set(rows.source_id) == set(real.image_id)
    assert list(rows.source_id) == sorted(rows.source_id)
    with pytest.raises(LeakageError, match=splits.val.image_id.iloc[0]):
        synthetic_rows(spec.replace(synthetic_manifest=str(folder)), profile, splits, real)
