"""Generation, DreamBooth and the demo generator, with tiny diffusers pipelines built offline from configs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from synthaug_utils.cli import generate as cli_generate
from synthaug_utils.core import files, vocabulary
from synthaug_utils.core.errors import DataError, LeakageError, MissingModelError
from synthaug_utils.diffusion import demo_model, demo_pretrain, masks, measure, pipelines, resolve
from synthaug_utils.diffusion import prompts as diffusion_prompts
from synthaug_utils.diffusion import settings as diffusion_settings
from synthaug_utils.synthetic import generate, released
from synthaug_utils.synthetic import manifest as synthetic_manifest

RES = 32
TINY = demo_model.DemoArchitecture(
    image_size=RES,
    vae_channels=(8, 8, 8),
    unet_channels=(8, 16),
    unet_attention=(False, True),
    text_width=16,
    text_layers=1,
    text_heads=2,
    max_tokens=24,
    norm_groups=4,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Random-weight text-to-image and inpainting pipeline folders of the tiny architecture."""
    root = tmp_path_factory.mktemp("tiny-models")
    demo_model.build_tokenizer_files(root / "tok", max_tokens=TINY.max_tokens)
    comps = demo_model.build_components(TINY, root / "tok", seed=0)
    t2i = demo_model.save_pipeline_folder(comps, "text2image", root / "text2image", dtype=torch.float32)
    comps = dict(comps, unet=demo_model.inpaint_unet_from(comps["unet"], TINY))
    torch.manual_seed(1)
    with torch.no_grad():  # give the new input channels weight so that mask and source matter
        comps["unet"].conv_in.weight.normal_(0, 0.2)
    inp = demo_model.save_pipeline_folder(comps, "inpaint", root / "inpaint", dtype=torch.float32)
    return {"text2image": t2i, "inpaint": inp}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> pd.DataFrame:
    """Four small real-looking source images (smooth colour fields) on disk."""
    root = tmp_path_factory.mktemp("sources")
    rng = np.random.default_rng(0)
    rows = []
    for i, label in enumerate(["psoriasis", "psoriasis", "lichen planus", "sarcoidosis"]):
        yy, xx = np.mgrid[0:RES, 0:RES] / RES
        img = np.stack([120 + 80 * xx, 90 + 60 * yy, 70 + 40 * xx * yy], -1) + rng.normal(0, 4, (RES, RES, 3))
        path = root / f"img{i}.png"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
        rows.append(
            {"image_id": f"img{i}", "path": str(path), "label": label, "fst": [2, 3, -1, 5][i], "split": "train"}
        )
    return pd.DataFrame(rows)


def tiny_settings(**changes) -> diffusion_settings.GenerationSettings:
    return diffusion_settings.GenerationSettings(**{"steps": 3, "resolution": RES, "batch_size": 4, **changes})


def tiny_resolver(models):
    return lambda variant, kind, group: (f"tiny-{kind}", models[kind])


def make_splits(train: pd.DataFrame, val_ids=("val0",), test_ids=("test0",)):
    from synthaug_utils.data.tables import SplitTables

    def table(ids, split):
        return pd.DataFrame({"image_id": list(ids), "path": "", "label": "psoriasis", "fst": 1, "split": split})

    return SplitTables(train, table(val_ids, "val"), table(test_ids, "test"), sorted(train.label.unique()), "tiny", 0)


# ----------------------------------------------------------------------------- masks, prompts, seeds
def test_masks_follow_the_protocol_geometry():
    c = masks.center_mask(512)
    rows, cols = np.nonzero(c)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (128, 383, 128, 383)
    assert c.sum() == 512 * 512 // 4
    o = masks.outer_mask(512)
    assert not o[:16].any() and not o[-16:].any() and not o[:, :16].any() and not o[:, -16:].any()
    assert o[16, 16] and o[16, 200] and not (o & c).any()
    assert (o | c).sum() == 512 * 512 - (512 * 512 - 480 * 480)
    o64 = masks.outer_mask(64)
    assert masks.frame_width(64) == 2 and not o64[:2].any() and o64[2, 2] and not o64[16:48, 16:48].any()
    assert masks.center_mask(64)[16:48, 16:48].all() and masks.center_mask(64).sum() == 32 * 32


def test_prompts_and_seeds():
    assert diffusion_prompts.prompt_for("psoriasis") == "An image of psoriasis, a skin disease"
    assert diffusion_prompts.prompt_for("psoriasis", 3).endswith(", Fitzpatrick skin type 3")
    assert diffusion_prompts.prompt_for("psoriasis", -1).endswith("type unknown")
    assert diffusion_prompts.prompt_for("melanoma", 56).endswith("type 5-6")
    assert (
        diffusion_prompts.prompt_label({"label": "malignant", "disease": "squamous-cell-carcinoma-in-situ"})
        == "squamous cell carcinoma in situ"
    )
    s = diffusion_prompts.derive_seed("a", "inpaint", "pretrained", 0)
    assert s == diffusion_prompts.derive_seed("a", "inpaint", "pretrained", 0) and 0 <= s < 2**63
    others = {
        diffusion_prompts.derive_seed(*args)
        for args in [
            ("b", "inpaint", "pretrained", 0),
            ("a", "outpaint", "pretrained", 0),
            ("a", "inpaint", "dreambooth", 0),
            ("a", "inpaint", "pretrained", 1),
        ]
    }
    assert s not in others and len(others) == 4


def test_demo_tokenizer_keeps_prompt_words_whole(tmp_path):
    demo_model.build_tokenizer_files(tmp_path)
    tok = demo_model.load_tokenizer(tmp_path)
    for word in demo_model.PROMPT_WORDS:
        assert len(tok(word, add_special_tokens=False).input_ids) == 1, word
    ids = tok(diffusion_prompts.prompt_for("basal cell carcinoma", 4)).input_ids
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id and len(ids) == 17
    assert len(tok("zebra quagga", add_special_tokens=False).input_ids) > 2  # unknown words fall back to characters


# ----------------------------------------------------------------------------- generation
def test_every_method_runs_and_writes_a_manifest(tiny_models, sources, tmp_path):
    stats: dict = {}
    path = generate.generate(
        sources,
        tmp_path / "set",
        vocabulary.METHODS,
        ("pretrained", "dreambooth"),
        2,
        tiny_settings(),
        resolve=tiny_resolver(tiny_models),
        progress=False,
        stats=stats,
    )
    m = synthetic_manifest.read_manifest(path)
    assert list(m.columns[: len(synthetic_manifest.MANIFEST_COLUMNS)]) == synthetic_manifest.MANIFEST_COLUMNS
    # per source, variant and index: t2i 1, inpaint 1, outpaint 1, in-then-outpaint 2 (both stages)
    assert len(m) == 4 * 2 * 2 * 5 and m.synthetic_id.is_unique
    counts = m.groupby(["method", "stage"]).size().to_dict()
    assert counts[("in-then-outpaint", "inpaint")] == counts[("in-then-outpaint", "final")] == 16
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in m.path)
    with Image.open(m.path.iloc[0]) as img:
        assert img.size == (RES, RES) and img.mode == "RGB"
    row = m[(m.method == "outpaint")].iloc[0]
    assert row["mask"] == "outer" and row.strength == pytest.approx(0.95) and row.steps == 3 and row.model_hash
    # stage 1 of in-then-outpaint is the inpaint method's image (same seed, same file)
    itto = m[(m.method == "in-then-outpaint") & (m.stage == "inpaint")].set_index(["variant", "source_id", "index"])
    inp = m[m.method == "inpaint"].set_index(["variant", "source_id", "index"])
    assert (itto.seed == inp.seed.loc[itto.index]).all() and (itto.path == inp.path.loc[itto.index]).all()
    # 4 sources x 2 variants x 2 indices: t2i 16 + inpaint 16 + outpaint 16 + itto-final 16 images made
    assert sum(v["images"] for v in stats.values()) == 64
    chosen = synthetic_manifest.select_synthetic(m, ["img0"], 1)
    assert set(chosen["index"]) == {0} and set(chosen.source_id) == {"img0"} and len(chosen) == 10


def test_mask_semantics_with_paste(tiny_models, sources):
    settings = tiny_settings(paste_unmasked=True)
    pipe = pipelines.load_pipeline(tiny_models["inpaint"], "inpaint", settings)
    images = np.stack([np.asarray(Image.open(p)) for p in sources.path])
    for name in ("center", "outer"):
        mask = masks.mask_for(name, settings)
        out = pipelines.run_inpaint(
            pipe, images, mask, ["An image of psoriasis, a skin disease"] * 4, [1, 2, 3, 4], 0.97, settings
        )
        assert np.array_equal(out[:, ~mask], images[:, ~mask])
        assert np.abs(out[:, mask].astype(int) - images[:, mask]).mean() > 5


def test_seeds_do_not_depend_on_batch_size_or_order(tiny_models, sources):
    ref = None
    for batch_size, order in ((1, [0, 1, 2, 3]), (4, [3, 1, 0, 2]), (3, [2, 3, 0, 1])):
        settings = tiny_settings(batch_size=batch_size)
        subset = sources.iloc[order].reset_index(drop=True)
        outs = {}
        for kind, mask in (("text2image", None), ("inpaint", masks.center_mask(RES))):
            pipe = pipelines.load_pipeline(tiny_models[kind], kind, settings)
            seeds = [diffusion_prompts.derive_seed(i, "x", "pretrained", 0) for i in subset.image_id]
            prompts = [diffusion_prompts.prompt_for(lab) for lab in subset.label]
            chunks = []
            for s in range(0, len(subset), batch_size):
                sl = slice(s, s + batch_size)
                if mask is None:
                    chunks.append(pipelines.run_text2image(pipe, prompts[sl], seeds[sl], settings))
                else:
                    imgs = np.stack([np.asarray(Image.open(p)) for p in subset.path[sl]])
                    chunks.append(pipelines.run_inpaint(pipe, imgs, mask, prompts[sl], seeds[sl], 0.97, settings))
            outs[kind] = dict(zip(subset.image_id, np.concatenate(chunks)))
        if ref is None:
            ref = outs
            assert not np.array_equal(ref["text2image"]["img0"], ref["text2image"]["img1"])
            continue
        for kind in outs:
            for image_id, img in outs[kind].items():
                diff = np.abs(img.astype(int) - ref[kind][image_id])
                assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (kind, image_id, batch_size)


def test_resume_after_interruption(tiny_models, sources, tmp_path, monkeypatch):
    kwargs = dict(
        methods=("text-to-image", "in-then-outpaint"),
        variants=("pretrained",),
        per_real=2,
        settings=tiny_settings(batch_size=2),
        resolve=tiny_resolver(tiny_models),
        progress=False,
    )
    fresh = synthetic_manifest.read_manifest(generate.generate(sources, tmp_path / "fresh", **kwargs))

    calls = {"n": 0}
    real_save = files.save_png_atomic

    def flaky(array, path):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        real_save(array, path)

    monkeypatch.setattr(generate, "save_png_atomic", flaky)  # run_batches looks it up in synthetic.generate
    with pytest.raises(KeyboardInterrupt):
        generate.generate(sources, tmp_path / "resumed", **kwargs)
    monkeypatch.setattr(generate, "save_png_atomic", real_save)
    out = tmp_path / "resumed"
    assert not (out / synthetic_manifest.MANIFEST_NAME).exists()
    done = sorted(out.rglob("*.png"))
    assert len(done) == 5
    done[0].write_bytes(done[0].read_bytes()[:40])  # a corrupt file left by a crash
    (done[1].parent / ".junk.tmp-1.png").write_bytes(b"partial")  # a temp file left by a crash
    stats: dict = {}
    resumed = synthetic_manifest.read_manifest(generate.generate(sources, out, stats=stats, **kwargs))
    assert sum(v["images"] for v in stats.values()) == len(fresh.path.unique()) - 4  # 4 valid images kept
    assert len(resumed) == len(fresh)
    for a, b in zip(fresh.sort_values("synthetic_id").path, resumed.sort_values("synthetic_id").path):
        diff = np.abs(np.asarray(Image.open(a)).astype(int) - np.asarray(Image.open(b)))
        assert diff.max() <= 1
    stats = {}
    generate.generate(sources, out, stats=stats, **kwargs)  # idempotent: nothing left to make
    assert stats == {}


def test_leakage_guard_fires(tiny_models, sources, tmp_path):
    leaky = pd.concat([sources, sources.iloc[:1].assign(image_id="val0")], ignore_index=True)
    splits = make_splits(sources)
    with pytest.raises(LeakageError, match="val0"):
        generate.generate(
            leaky,
            tmp_path / "set",
            ("inpaint",),
            ("pretrained",),
            1,
            tiny_settings(),
            splits=splits,
            resolve=tiny_resolver(tiny_models),
            progress=False,
        )
    assert not list((tmp_path / "set").rglob("*.png"))
    path = generate.generate(
        sources,
        tmp_path / "ok",
        ("text-to-image",),
        ("pretrained",),
        1,
        tiny_settings(),
        splits=splits,
        resolve=tiny_resolver(tiny_models),
        progress=False,
    )
    assert len(synthetic_manifest.read_manifest(path, splits=splits)) == 4
    with pytest.raises(LeakageError, match="img1"):
        synthetic_manifest.read_manifest(path, splits=make_splits(sources, test_ids=("img1",)))


def test_missing_model_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingModelError) as info:
        resolve.model_folder("no-such-org/no-such-model-xyz")
    text = str(info.value)
    assert "no-such-org/no-such-model-xyz" in text and "local diffusers folder" in text and "Hugging Face cache" in text
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingModelError, match="model_index.json"):
        pipelines.load_pipeline(tmp_path / "empty", "text2image", tiny_settings())
    with pytest.raises(MissingModelError, match="unknown demo model"):
        resolve.model_folder("demo://no-such-model")


def test_tiny_pipelines_load_as_real_diffusers_pipelines(tiny_models):
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    t2i = pipelines.load_pipeline(tiny_models["text2image"], "text2image", tiny_settings())
    inp = pipelines.load_pipeline(tiny_models["inpaint"], "inpaint", tiny_settings())
    assert isinstance(t2i, StableDiffusionPipeline) and isinstance(inp, StableDiffusionInpaintPipeline)
    assert inp.unet.config.in_channels == 9 and t2i.unet.config.in_channels == 4
    assert type(t2i.scheduler).__name__ == "DPMSolverMultistepScheduler"
    index = json.loads((tiny_models["inpaint"] / "model_index.json").read_text())
    assert index["tokenizer"] == ["transformers", "CLIPTokenizer"] and index["safety_checker"] == [None, None]


# ----------------------------------------------------------------------------- released shards
def _write_shards(folder: Path, entries) -> list[Path]:
    import webdataset as wds

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s, chunk in enumerate((entries[:3], entries[3:])):
        path = folder / f"shard-{s:05d}.tar"
        with wds.TarWriter(str(path)) as tar:
            for label, method, sub, tag, num, md5, colour in chunk:
                key = f"{label}_{method}_{sub}".replace("-", "_") + f"_{tag}_{num}_{md5}"
                buf = __import__("io").BytesIO()
                Image.new("RGB", (RES, RES), colour).save(buf, format="PNG")
                meta = {
                    "name": f"{key}.png",
                    "md5hash": md5,
                    "label": label,
                    "method": method,
                    "submethod": sub,
                    "generation_num": num,
                    "tag": tag,
                }
                tar.write({"__key__": key, "png": buf.getvalue(), "json": json.dumps(meta).encode()})
        paths.append(path)
    return paths


def test_released_webdataset_shards_become_a_manifest(tmp_path, sources):
    entries = [
        ("psoriasis", "finetune_text_to_image", "text-to-image", "generations1", "00", "img0", (255, 0, 0)),
        ("psoriasis", "finetune_text_to_image", "text-to-image", "generations2", "00", "img0", (0, 255, 0)),
        ("psoriasis", "finetune_text_to_image", "text-to-image", "generations1", "01", "img0", (0, 0, 255)),
        ("lichen-planus", "pretrained_inpaint", "inpaint", "generations1", "00", "img2", (9, 9, 9)),
        ("lichen-planus", "pretrained_inpaint", "inpaint-outpaint", "generations1", "00", "img2", (8, 8, 8)),
        ("psoriasis", "finetune_text_to_image", "text-to-image", "generations1", "00", "zzzz", (1, 2, 3)),
    ]
    shards = _write_shards(tmp_path / "shards", entries)
    path = released.manifest_from_webdataset(
        tmp_path / "shards", tmp_path / "released", sources=sources, progress=False
    )
    m = synthetic_manifest.read_manifest(path)
    assert set(m.source_id) == {"img0", "img2"}  # the unknown source zzzz is skipped
    t2i = m[m.method == "text-to-image"].sort_values("index")
    assert list(t2i["index"]) == [0, 1, 2] and set(t2i.variant) == {"dreambooth"}
    colours = [np.asarray(Image.open(p))[0, 0].tolist() for p in t2i.path]
    assert colours == [[255, 0, 0], [0, 0, 255], [0, 255, 0]]  # ordered by (tag, generation_num)
    itto = m[m.method == "in-then-outpaint"].set_index("stage")
    assert set(itto.index) == {"inpaint", "final"} and (itto.variant == "pretrained").all()
    assert itto.loc["final", "mask"] == "outer" and itto.loc["inpaint", "mask"] == "center"
    assert (m[m.source_id == "img2"].label == "lichen planus").all() and (m[m.source_id == "img2"].fst == -1).all()
    assert len(m[m.method == "inpaint"]) == 1 and (m.seed == -1).all()
    only = synthetic_manifest.read_manifest(
        released.manifest_from_webdataset(shards, tmp_path / "t2i", methods=("text-to-image",), progress=False)
    )
    assert set(only.method) == {"text-to-image"} and len(only) == 4 and "zzzz" in set(only.source_id)
    with pytest.raises(LeakageError, match="img2"):
        released.manifest_from_webdataset(
            shards, tmp_path / "leak", sources=sources, splits=make_splits(sources, val_ids=("img2",)), progress=False
        )
    with pytest.raises(DataError, match="no WebDataset shards"):
        released.manifest_from_webdataset(tmp_path / "nothing-here", tmp_path / "x", progress=False)


# ----------------------------------------------------------------------------- DreamBooth
def test_dreambooth_finetunes_the_unet_only_and_refuses_evaluation_images(tiny_models, sources, tmp_path):
    from safetensors.torch import load_file

    from synthaug_utils.diffusion import dreambooth as db

    settings = db.DreamBoothSettings(resolution=RES, batch_size=2, learning_rate=1e-3, epochs=1, seed=3)
    splits = make_splits(sources)
    for kind in ("text2image", "inpaint"):
        out = db.finetune(tiny_models[kind], kind, sources, tmp_path / kind, settings, splits=splits, progress=False)
        base_unet = load_file(tiny_models[kind] / "unet" / "diffusion_pytorch_model.safetensors")
        new_unet = load_file(out / "unet" / "diffusion_pytorch_model.safetensors")
        assert any(not torch.equal(base_unet[k], new_unet[k]) for k in base_unet)
        assert (out / "vae").resolve() == (tiny_models[kind] / "vae").resolve()
        meta = json.loads((out / "dreambooth.json").read_text())
        assert (
            meta["steps"] == 2
            and meta["images"] == 4
            and meta["base_model_hash"] == pipelines.model_hash(tiny_models[kind])
        )
        pipe = pipelines.load_pipeline(out, kind, tiny_settings())
        assert pipe.unet.config.in_channels == (4 if kind == "text2image" else 9)
    again = db.finetune(tiny_models["text2image"], "text2image", sources, tmp_path / "again", settings, progress=False)
    a = load_file(again / "unet" / "diffusion_pytorch_model.safetensors")
    b = load_file(tmp_path / "text2image" / "unet" / "diffusion_pytorch_model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)  # seeded: identical weights twice
    leaky = pd.concat([sources, sources.iloc[:1].assign(image_id="test0")], ignore_index=True)
    with pytest.raises(LeakageError, match="test0"):
        db.finetune(
            tiny_models["text2image"], "text2image", leaky, tmp_path / "leak", settings, splits=splits, progress=False
        )


def test_step_matched_dreambooth_takes_the_pool_models_steps_in_full_batches(
    tiny_models, sources, tmp_path, monkeypatch
):
    import dataclasses

    from synthaug_utils.diffusion import dreambooth as db

    paper_like = db.DreamBoothSettings(batch_size=4, epochs=4)
    assert db.optimiser_steps(paper_like, 16) == 16 and db.optimiser_steps(paper_like, 268) == 268
    demo_like = db.DreamBoothSettings(batch_size=16, epochs=2)
    assert db.optimiser_steps(demo_like, 4) == 2 and db.optimiser_steps(demo_like, 228) == 30
    matched = db.step_matched(demo_like, 4, 30)
    assert db.optimiser_steps(matched, 4) == 30 and (matched.batch_size, matched.learning_rate) == (
        16,
        demo_like.learning_rate,
    )
    assert db.optimiser_steps(db.step_matched(paper_like, 16, 268), 16) == 268
    assert db.DreamBoothSettings().key() != dataclasses.replace(db.DreamBoothSettings(), include_validation=True).key()
    assert matched.key() != dataclasses.replace(matched, fill_batches=False).key()
    unfilled = db.step_matched(dataclasses.replace(demo_like, fill_matched_batches=False), 4, 30)  # the demo's choice
    assert not unfilled.fill_batches and db.optimiser_steps(unfilled, 4) == 30
    assert dataclasses.replace(demo_like, fill_matched_batches=False).key() == demo_like.key()

    sizes = []
    real_loss = db.diffusion_loss
    monkeypatch.setattr(
        db,
        "diffusion_loss",
        lambda unet, vae, sched, pixels, *rest: sizes.append(len(pixels)) or real_loss(unet, vae, sched, pixels, *rest),
    )
    settings = db.step_matched(
        db.DreamBoothSettings(resolution=RES, batch_size=3, learning_rate=1e-3, epochs=1, seed=3), 2, 5
    )
    out = db.finetune(
        tiny_models["text2image"], "text2image", sources.head(2), tmp_path / "matched", settings, progress=False
    )
    # two images cycled into batches of 3
    assert json.loads((out / "dreambooth.json").read_text())["steps"] == 5 and sizes == [3] * 5


def test_profile_settings(smoke_profile):
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.diffusion import dreambooth as db

    paper = load_profile("paper")
    s = diffusion_settings.generation_settings(paper)
    assert (s.steps, s.guidance_scale, s.resolution, s.strength_inpaint, s.strength_outpaint) == (
        50,
        3.0,
        512,
        0.97,
        0.95,
    )
    d = db.dreambooth_settings(paper)
    assert (d.resolution, d.batch_size, d.learning_rate, d.epochs, d.weight_decay, d.max_grad_norm) == (
        512,
        4,
        5e-6,
        4,
        1e-2,
        1.0,
    )
    assert not d.prior_preservation and not d.train_text_encoder and d.crop_scale == (0.9, 1.1)
    assert db.dreambooth_settings(paper, ddi=True).epochs == 25
    assert diffusion_settings.generation_settings(smoke_profile).resolution == 64
    tuned = smoke_profile.replace(grids={"generation": {"steps": 7}, "dreambooth": {"epochs": 3}})
    assert diffusion_settings.generation_settings(tuned).steps == 7 and db.dreambooth_settings(tuned).epochs == 3


def test_cli_registers_its_subcommands():
    import argparse

    parser = argparse.ArgumentParser()
    cli_generate.register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["generate", "--profile", "smoke", "--out", "x", "--methods", "inpaint", "--per-image", "3"]
    )
    assert args.methods == ["inpaint"] and args.per_image == 3 and callable(args.func)
    assert parser.parse_args(["dreambooth", "--profile", "smoke", "--out", "x", "--classes", "psoriasis"]).classes == [
        "psoriasis"
    ]
    assert callable(parser.parse_args(["pretrain-generator", "--profile", "smoke"]).func)


def test_demo_generator_pretrains_into_loadable_pipelines(smoke_profile, tmp_path):
    settings = demo_pretrain.PretrainSettings(
        vae_steps=4, vae_batch=8, unet_steps=4, unet_batch=8, inpaint_steps=2, masks_per_image=1
    )
    paths = demo_pretrain.pretrain_demo_generator(smoke_profile, tmp_path / "ldm", settings, log=None)
    meta = json.loads((paths["inpaint"] / "synthaug_demo.json").read_text())
    assert meta["pretrain_images"] == 9 * smoke_profile.world.pretrain_per_class and meta["settings"]["unet_steps"] == 4
    size = sum(p.stat().st_size for p in (tmp_path / "ldm").rglob("*.safetensors"))
    assert size < 30 * 2**20  # float16 weights: at most 30 MB for both pipelines (issue 17)
    s = tiny_settings(resolution=64, steps=2)
    t2i = pipelines.load_pipeline(paths["text2image"], "text2image", s)
    inp = pipelines.load_pipeline(paths["inpaint"], "inpaint", s)
    assert t2i.vae.config.scaling_factor != 1.0 and inp.unet.config.in_channels == 9
    img = pipelines.run_text2image(t2i, [diffusion_prompts.prompt_for("psoriasis")], [0], s)
    assert img.shape == (1, 64, 64, 3)


def test_dreambooth_prior_preservation_draws_class_images(tiny_models, sources, tmp_path):
    from synthaug_utils.diffusion import dreambooth as db

    settings = db.DreamBoothSettings(
        resolution=RES, batch_size=2, learning_rate=1e-3, epochs=1, prior_preservation=True, num_class_images=3, seed=1
    )
    out = db.finetune(
        tiny_models["inpaint"],
        "inpaint",
        sources,
        tmp_path / "prior",
        settings,
        base_text2image=str(tiny_models["text2image"]),
        progress=False,
    )
    assert json.loads((out / "dreambooth.json").read_text())["settings"]["prior_preservation"] is True
    cached = list((Path(os.environ["SYNTHAUG_CACHE"]) / "dreambooth-class-images").glob("*.npy"))
    assert len(cached) == 1 and np.load(cached[0]).shape == (3, RES, RES, 3)


def test_mask_fidelity_measures_change_inside_and_outside_the_mask(sources, tmp_path):
    settings = tiny_settings()
    mask = masks.mask_for("center", settings)
    rows = []
    for r in sources.itertuples():
        img = np.asarray(Image.open(r.path).convert("RGB")).copy()
        img[mask] = 255 - img[mask]  # planted: only the masked centre changes
        path = tmp_path / f"{r.image_id}_inpaint.png"
        Image.fromarray(img).save(path)
        rows.append({"source_id": r.image_id, "path": str(path), "stage": "final"})
    manifest = pd.DataFrame(rows)
    text2image = manifest.assign(stage="final")
    mad = measure.mask_fidelity(
        {("inpaint", "pretrained"): manifest, ("text-to-image", "pretrained"): text2image},
        dict(zip(sources.image_id, sources.path)),
        settings,
    )
    assert set(mad.method) == {"inpaint"}  # text-to-image has no mask to measure
    values = mad.set_index("region").mad
    assert values["outside mask"] == pytest.approx(0.0) and values["inside mask"] > 20
    # the same images judged as outpaint (mask = outer ring): the change now lies *outside* its mask
    swapped = measure.mask_fidelity(
        {("outpaint", "pretrained"): manifest}, dict(zip(sources.image_id, sources.path)), settings
    )
    assert swapped.set_index("region").mad["outside mask"] > 20


def test_raw_mask_fidelity_runs_the_inpainting_model_without_pasting(tiny_models, sources, smoke_profile):
    profile = smoke_profile.replace(inpaint_model=str(tiny_models["inpaint"]))
    mad = measure.raw_mask_fidelity(profile, sources, tiny_settings(paste_unmasked=True))
    assert list(mad.method.unique()) == ["inpaint", "outpaint"] and (mad.variant == "pretrained, raw output").all()
    assert (mad.mad > 0).all()  # an untrained model repaints the whole image, pasting is off


def test_vae_roundtrip_cache_returns_the_stored_result_and_keys_by_model(tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path))
    pipe = pipelines.load_pipeline(tiny_models["text2image"], "text2image", tiny_settings())
    images = np.random.default_rng(0).integers(0, 256, (3, RES, RES, 3), dtype=np.uint8)
    fresh = measure.vae_roundtrip(pipe, images, cache_key="tiny|v1")
    assert fresh.shape == images.shape and fresh.dtype == np.uint8
    np.testing.assert_array_equal(fresh, measure.vae_roundtrip(pipe, images))  # the cache stores what is computed
    (stored,) = (tmp_path / "vae_roundtrip").glob("roundtrip-*.npy")
    np.save(stored, np.zeros_like(fresh))  # a planted value proves the second call reads the cache
    assert not measure.vae_roundtrip(pipe, images, cache_key="tiny|v1").any()
    assert measure.vae_roundtrip(pipe, images, cache_key="tiny|v2").any()  # other weights: a new entry
    assert len(list((tmp_path / "vae_roundtrip").glob("*.npy"))) == 2


def test_images_made_by_another_model_are_made_again(tiny_models, sources, tmp_path):
    """A changed generator (shipped weights, a DreamBooth model) must not leave its predecessor's images
    in a synthetic set: the manifest's model_hash tells them apart."""
    import shutil

    out = tmp_path / "set"
    first = synthetic_manifest.read_manifest(
        generate.generate(
            sources,
            out,
            ["text-to-image"],
            ("pretrained",),
            1,
            tiny_settings(),
            resolve=tiny_resolver(tiny_models),
            progress=False,
        )
    )
    again: dict = {}
    generate.generate(
        sources,
        out,
        ["text-to-image"],
        ("pretrained",),
        1,
        tiny_settings(),
        resolve=tiny_resolver(tiny_models),
        progress=False,
        stats=again,
    )
    assert sum(v["images"] for v in again.values()) == 0  # same model: nothing to make
    changed = tmp_path / "text2image-changed"
    shutil.copytree(tiny_models["text2image"], changed)
    config = changed / "unet" / "config.json"
    config.write_text(config.read_text() + "\n")  # another model as far as its hash goes
    stats: dict = {}
    second = synthetic_manifest.read_manifest(
        generate.generate(
            sources,
            out,
            ["text-to-image"],
            ("pretrained",),
            1,
            tiny_settings(),
            resolve=lambda variant, kind, group: (f"tiny-{kind}", changed),
            progress=False,
            stats=stats,
        )
    )
    assert sum(v["images"] for v in stats.values()) == len(sources)  # every image made again
    assert set(second.model_hash) == {pipelines.model_hash(changed)} != set(first.model_hash)
