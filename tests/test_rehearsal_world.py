"""The miniature paper-format rehearsal world: real-format datasets, SD folders, classifier and CLIP files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image, ImageOps

from synthaug_utils.core.config import PAPER_LOCATIONS, load_profile
from synthaug_utils.core.inputs import missing_resources
from synthaug_utils.data.world import DERM9_LABELS
from synthaug_utils.rehearsal import byo, common, datasets, models
from synthaug_utils.rehearsal import world as rehearsal_world

F17K_COLUMNS = [
    "md5hash",
    "fitzpatrick_scale",
    "fitzpatrick_centaur",
    "label",
    "nine_partition_label",
    "three_partition_label",
    "qc",
    "url",
    "url_alphanum",
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="session")
def world(rehearsal_world) -> rehearsal_world.RehearsalWorld:
    """The rehearsal world (written once per session, see conftest.py)."""
    return rehearsal_world


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- the world as a whole
def test_locations_cover_the_paper_profile_and_pass_check_ready(world, tmp_path):
    assert tuple(world.locations) == rehearsal_world.LOCATION_KEYS
    assert set(world.locations) <= set(PAPER_LOCATIONS)
    for key, value in world.locations.items():
        assert Path(value).is_absolute() and Path(value).exists(), key
    recorded = json.loads((world.root / "world.json").read_text())
    assert recorded["locations"] == world.locations
    config = tmp_path / "paper.yml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in world.locations.items()))
    profile = load_profile("paper", config=config)
    assert missing_resources(profile, needs=rehearsal_world.LOCATION_KEYS) == []


def test_rerun_skips_complete_parts(world):
    files = [p for p in world.root.rglob("*") if p.is_file() and ".rehearsal" not in p.parts and p.name != "world.json"]
    stamps = {p: p.stat().st_mtime_ns for p in files}
    began = time.perf_counter()
    again = rehearsal_world.write_rehearsal_world(world.root, progress=False)
    assert time.perf_counter() - began < 15
    assert again == world
    assert {p: p.stat().st_mtime_ns for p in files} == stamps


def test_same_seed_same_bytes(world, tmp_path):
    """Every data and model file of a fresh world equals the first one's (the CLIP file is checked by size)."""
    other = tmp_path / "again"
    datasets.write_f17k(other)
    datasets.write_ddi(other)
    byo.write_byo(other)
    byo.write_ddi_byo(other)
    byo.write_bad_table(other)
    models.write_sd_folders(other)
    models.write_classifier_weights(other)
    compared = 0
    for path in sorted(other.rglob("*")):
        if path.is_file() and ".rehearsal" not in path.parts:
            twin = world.root / path.relative_to(other)
            assert twin.is_file() and _digest(twin) == _digest(path), path.relative_to(other)
            compared += 1
    assert compared > 200
    different = tmp_path / "seed1"
    datasets.write_ddi(different, seed=1)
    assert _digest(different / "ddi" / "images" / "000001.png") != _digest(world.root / "ddi" / "images" / "000001.png")


# ----------------------------------------------------------------------------- Fitzpatrick17k
def test_shipped_rows_are_real_rows_verbatim(f17k_dir):
    """Every shipped row is a row of the real file, field for field; the selector reproduces the shipped files."""
    for name in datasets.F17K_FILES:
        shipped = _rows((common.RESOURCE_DIR / name).read_text())
        real = _rows((f17k_dir / name).read_text())
        assert shipped[0] == real[0] == F17K_COLUMNS
        real_rows = {tuple(r) for r in real[1:]}
        assert all(tuple(r) in real_rows for r in shipped[1:]), name
        shipped_lines = (common.RESOURCE_DIR / name).read_bytes().splitlines(keepends=True)
        real_lines = set((f17k_dir / name).read_bytes().splitlines(keepends=True))
        assert all(line in real_lines for line in shipped_lines), f"{name}: a line differs from the real file's bytes"
    selected = datasets.select_f17k_rows(f17k_dir)
    for name, text in selected.items():
        assert (common.RESOURCE_DIR / name).read_bytes() == text.encode(), (
            f"{name} differs from select_f17k_rows' output"
        )


def test_shipped_selection_shape():
    train = pd.read_csv(common.RESOURCE_DIR / datasets.F17K_TRAIN_FILE)
    test = pd.read_csv(common.RESOURCE_DIR / datasets.F17K_TEST_FILE)
    meta = pd.read_csv(common.RESOURCE_DIR / datasets.F17K_METADATA_FILE)
    for table in (train, test, meta):
        assert list(table.columns) == F17K_COLUMNS
    counts = train.label.value_counts()
    assert {lab: counts[lab] for lab in DERM9_LABELS} == {lab: 8 for lab in DERM9_LABELS}
    assert counts["folliculitis"] == 4 and len(counts) == 10
    assert (test.label.value_counts() == 3).all() and test.label.nunique() == 10
    assert set(meta.md5hash) == set(train.md5hash) | set(test.md5hash) and len(meta) == len(train) + len(test)
    assert not set(train.md5hash) & set(test.md5hash)
    assert (train.fitzpatrick_scale == -1).sum() >= 2
    readme = (common.RESOURCE_DIR / "README.md").read_text()
    assert "github.com/mattgroh/fitzpatrick17k" in readme and "CC BY-NC-SA 3.0" in readme


def test_read_f17k_reads_the_world_with_all_nine_labels(world):
    from synthaug_utils.data.tables import read_f17k

    loc = world.locations
    tables = read_f17k(loc["f17k_metadata"], loc["f17k_splits"], loc["f17k_images"])
    assert tables.labels == sorted(DERM9_LABELS)
    assert len(tables.pool) == 9 * 8 and len(tables.test) == 9 * 3
    assert all(Path(p).is_file() for p in pd.concat([tables.pool, tables.test]).path)
    assert (tables.pool.fst == -1).any()
    for name in datasets.F17K_FILES:  # the world's CSVs are the shipped ones, byte for byte
        assert (Path(loc["f17k_splits"]) / name).read_bytes() == (common.RESOURCE_DIR / name).read_bytes()


def test_f17k_images_vary_in_size_and_kind(world):
    images = Path(world.locations["f17k_images"])
    train = pd.read_csv(common.RESOURCE_DIR / datasets.F17K_TRAIN_FILE)
    test = pd.read_csv(common.RESOURCE_DIR / datasets.F17K_TEST_FILE)
    md5s = set(train.md5hash) | set(test.md5hash)
    assert {p.stem for p in images.glob("*.jpg")} == md5s
    sizes, kinds = [], Counter()
    for path in sorted(images.glob("*.jpg")):
        with Image.open(path) as img:
            assert img.format == "JPEG"
            w, h = ImageOps.exif_transpose(img).size
            sizes.append((w, h))
            kinds[img.mode] += 1
            orientation = img.getexif().get(0x0112)
            if orientation:
                kinds[f"exif{orientation}"] += 1
            if img.info.get("progressive"):
                kinds["progressive"] += 1
    assert all(180 <= s <= 900 for wh in sizes for s in wh)
    assert all(w != h for w, h in sizes)
    assert len(set(sizes)) > len(sizes) * 0.8
    assert kinds["L"] >= 2 and kinds["CMYK"] >= 2 and kinds["progressive"] >= 2
    assert kinds["exif6"] >= 1 and kinds["exif8"] >= 1 and kinds["exif6"] + kinds["exif8"] >= 2
    assert sum(p.stat().st_size for p in images.glob("*.jpg")) < 8 * 2**20


def test_exif_rotated_images_are_upright_after_the_orientation(world):
    """Applying the EXIF orientation gives the image as drawn (pixels stored rotated)."""
    images = Path(world.locations["f17k_images"])
    rows = pd.concat(
        [pd.read_csv(common.RESOURCE_DIR / n) for n in (datasets.F17K_TRAIN_FILE, datasets.F17K_TEST_FILE)]
    )
    checked = 0
    for row in rows.itertuples():
        with Image.open(images / f"{row.md5hash}.jpg") as img:
            orientation = img.getexif().get(0x0112)
            if not orientation:
                continue
            assert orientation in (6, 8)
            upright = np.asarray(ImageOps.exif_transpose(img).convert("RGB"), np.float32)
        rng = common.seeded_rng("f17k-size", 0, row.md5hash)
        drawn = common.upscale(
            common.draw_lesion(row.label, row.fitzpatrick_scale, ("f17k", 0, row.md5hash)),
            common.non_square_size(rng, *common.F17K_IMAGE_SIDE),
            rng,
        )
        assert upright.shape == np.asarray(drawn).shape
        assert np.abs(upright - np.asarray(drawn, np.float32)).mean() < 4  # JPEG error only
        checked += 1
    assert checked >= 2


# ----------------------------------------------------------------------------- DDI
def test_ddi_metadata_format_bins_and_classes(world):
    from synthaug_utils.data.tables import read_ddi

    path = Path(world.locations["ddi_metadata"])
    raw = _rows(path.read_text())
    assert raw[0] == ["", "DDI_ID", "DDI_file", "skin_tone", "malignant", "disease"]
    assert [r[0] for r in raw[1:]] == [str(i) for i in range(len(raw) - 1)]
    assert {r[4] for r in raw[1:]} == {"TRUE", "FALSE"}
    assert all(r[2] == f"{int(r[1]):06d}.png" for r in raw[1:])
    tables = read_ddi(path, world.locations["ddi_images"])
    cells = tables.pool.groupby(["fst", "label"]).size()
    assert set(cells.index) == {(t, c) for t in (12, 34, 56) for c in ("benign", "malignant")}
    assert (tables.pool.groupby("fst").size() == 10).all()
    sizes = set()
    for p in tables.pool.path:
        with Image.open(p) as img:
            assert img.format == "PNG" and img.mode == "RGB"
            sizes.add(img.size)
    assert len(sizes) > 20 and all(w != h for w, h in sizes)


# ----------------------------------------------------------------------------- bring your own
def test_byo_folders_mixed_formats_and_table(world):
    folders = world.byo_folders
    labels = sorted(d.name for d in folders.iterdir() if d.is_dir())
    assert labels == sorted(common.BYO_LABELS)
    kinds = Counter()
    for label in labels:
        files = sorted((folders / label).iterdir())
        assert len(files) == byo.BYO_PER_LABEL
        for path in files:
            with Image.open(path) as img:
                kinds[(img.format, img.mode)] += 1
                w, h = img.size
                assert 100 <= w <= 600 and 100 <= h <= 600 and w != h
                if img.mode == "RGBA":
                    alpha = np.asarray(img)[..., 3]
                    assert alpha.min() == 0 and alpha.max() == 255
    assert set(kinds) == {("PNG", "RGBA"), ("PNG", "P"), ("JPEG", "RGB"), ("JPEG", "L")}
    table = pd.read_csv(world.byo_table)
    assert list(table.columns) == ["path", "label", "fst"]
    assert not any(Path(p).is_absolute() for p in table.path)
    listed = {(world.byo_table.parent / p).resolve() for p in table.path}
    assert listed == {p.resolve() for label in labels for p in (folders / label).iterdir()}
    assert table.fst.between(1, 6).all() and table.fst.nunique() > 2
    assert all(Path(p).parts[1] == lab for p, lab in zip(table.path, table.label))


def test_read_byo_reads_folders_and_table(world):
    from synthaug_utils.data.byo import read_byo

    for source in (world.byo_folders, world.byo_table):
        tables = read_byo(source, test_per_label=2)
        assert tables.labels == sorted(common.BYO_LABELS)
        assert len(tables.pool) + len(tables.test) == 3 * byo.BYO_PER_LABEL


def test_ddi_byo_table(world):
    table = pd.read_csv(world.ddi_byo_table)
    assert list(table.columns) == ["path", "label", "fst"]
    assert set(table.label) == {"benign", "malignant"} and set(table.fst) == {12, 34, 56}
    per_bin = table.groupby("fst").label.agg(["size", "nunique"])
    assert (per_bin["size"] >= 8).all() and (per_bin["nunique"] == 2).all()
    assert all((world.ddi_byo_table.parent / p).is_file() for p in table.path)
    assert {Path(p).suffix for p in table.path} == {".jpg", ".png"}


def test_ddi_byo_table_reads_as_a_binary_dataset(world):
    from synthaug_utils.data import byo as data

    read_binary = getattr(data, "read_byo_binary", None)
    if read_binary is None:
        pytest.skip("synthaug_utils.data.byo has no bring-your-own binary reader")
    tables = read_binary(world.ddi_byo_table, per_bin=2)
    assert tables.labels == ["benign", "malignant"]
    assert set(tables.pool.fst) == {12, 34, 56}


def test_bad_table_names_exactly_three_bad_images(world):
    table = pd.read_csv(world.bad_table)
    assert list(table.columns) == ["path", "label"]
    bad = {}
    for path in (world.bad_table.parent / p for p in table.path):
        if not path.exists():
            bad[path.name] = "missing"
        elif path.stat().st_size == 0:
            bad[path.name] = "empty"
        else:
            try:
                with Image.open(path) as img:
                    img.load()
            except OSError:
                bad[path.name] = "truncated"
    assert bad == {"missing.jpg": "missing", "empty.jpg": "empty", "truncated.jpg": "truncated"}
    assert len(table) == 9


# ----------------------------------------------------------------------------- models
def test_sd_folders_are_real_pipeline_folders(world):
    from safetensors import safe_open

    for key, in_channels in (("sd_text2image", 4), ("sd_inpaint", 9)):
        folder = Path(world.locations[key])
        index = json.loads((folder / "model_index.json").read_text())
        assert index["safety_checker"] == [None, None] and index["feature_extractor"] == [None, None]
        assert index["requires_safety_checker"] is False
        assert index["unet"] == ["diffusers", "UNet2DConditionModel"] and index["vae"] == ["diffusers", "AutoencoderKL"]
        assert index["text_encoder"] == ["transformers", "CLIPTextModel"] and index["tokenizer"] == [
            "transformers",
            "CLIPTokenizer",
        ]
        assert index["scheduler"] == ["diffusers", "DPMSolverMultistepScheduler"]
        assert {p.name for p in (folder / "tokenizer").iterdir()} >= {
            "vocab.json",
            "merges.txt",
            "tokenizer_config.json",
        }
        unet = json.loads((folder / "unet" / "config.json").read_text())
        assert unet["in_channels"] == in_channels and unet["block_out_channels"] == [32, 64]
        for weights in folder.rglob("*.safetensors"):
            with safe_open(str(weights), "pt") as fh:
                assert {str(fh.get_slice(k).get_dtype()) for k in fh.keys()} == {"F32"}, weights


def test_sd_folders_load_with_the_project_loader_and_generate(world):
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionInpaintPipeline, StableDiffusionPipeline

    from synthaug_utils.diffusion import masks, pipelines
    from synthaug_utils.diffusion import prompts as diffusion_prompts
    from synthaug_utils.diffusion import settings as diffusion_settings

    settings = diffusion_settings.GenerationSettings(steps=2, resolution=64, batch_size=4)
    t2i = pipelines.load_pipeline(world.locations["sd_text2image"], "text2image", settings)
    inp = pipelines.load_pipeline(world.locations["sd_inpaint"], "inpaint", settings)
    assert isinstance(t2i, StableDiffusionPipeline) and not isinstance(t2i, StableDiffusionInpaintPipeline)
    assert isinstance(inp, StableDiffusionInpaintPipeline)
    assert isinstance(t2i.scheduler, DPMSolverMultistepScheduler) and t2i.vae_scale_factor == 8
    assert t2i.unet.config.in_channels == 4 and inp.unet.config.in_channels == 9
    prompts = [
        diffusion_prompts.prompt_for("psoriasis", 3),
        diffusion_prompts.prompt_for("seborrheic keratosis"),
        diffusion_prompts.prompt_for("pityriasis rosea", -1),
        diffusion_prompts.prompt_for("melanoma", 56),
    ]
    out = pipelines.run_text2image(t2i, prompts, [0, 1, 2, 3], settings)
    assert out.shape == (4, 64, 64, 3) and out.dtype == np.uint8
    again = pipelines.run_text2image(t2i, prompts[:1], [0], settings)
    np.testing.assert_array_equal(again[0], out[0])
    sources = np.random.default_rng(0).integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
    painted = pipelines.run_inpaint(
        inp, sources, masks.mask_for("center", settings), prompts[:2], [0, 1], 0.97, settings
    )
    assert painted.shape == (2, 64, 64, 3) and painted.dtype == np.uint8


def test_tokenizer_has_every_prompt_word_and_splits_new_words(world):
    from synthaug_utils.diffusion.demo_model import load_tokenizer
    from synthaug_utils.diffusion.prompts import prompt_for

    tok = load_tokenizer(Path(world.locations["sd_text2image"]) / "tokenizer")
    assert tok.model_max_length == 77
    for label in (*DERM9_LABELS, "folliculitis", *common.BYO_LABELS, *common.DDI_BENIGN, *common.DDI_MALIGNANT):
        text = prompt_for(label.replace("-", " "), 2)
        words = text.lower().replace(",", " , ").split()
        assert len(tok.tokenize(text)) == len(words), text  # one token per word (and comma)
    tokens = tok.tokenize("An image of pityriasis rosea, a skin disease")
    assert len(tokens) > 8 and tok.unk_token not in tokens  # an unknown word falls back to characters


def test_classifier_weights_load_through_create_classifier_net(world):
    import torchvision

    from synthaug_utils.core.backbones import create_classifier_net

    path = Path(world.locations["classifier_weights"])
    assert path.name == Path(torchvision.models.get_model_weights("efficientnet_b0").DEFAULT.url).name
    net = create_classifier_net("efficientnet_b0", pretrained=True, weights=str(path))
    saved = torch.load(path, map_location="cpu", weights_only=True)
    for key, value in net.state_dict().items():
        assert torch.equal(value, saved[key]), key
    with torch.no_grad():
        assert net.eval()(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)


def test_efficientnet_v2_m_weights_file_loads(tmp_path):
    """The paper's classifier architecture, under the file name the paper profile's default names."""
    from synthaug_utils.core.backbones import EFFNETV2M_FILE, create_classifier_net

    path = models.write_classifier_weights(tmp_path, "efficientnet_v2_m")
    assert path.name == EFFNETV2M_FILE
    assert PAPER_LOCATIONS["classifier_weights"][1].endswith(EFFNETV2M_FILE)
    net = create_classifier_net("efficientnet_v2_m", pretrained=True, weights=str(path))
    assert net.classifier[-1].out_features == 1000


def test_open_clip_checkpoint_loads_through_the_embedding_path(world):
    from synthaug_utils.analysis import embeddings as emb

    profile = load_profile("paper")
    weights = world.locations["clip_weights"]
    spec = emb.resolve_model("open_clip:ViT-B-32/openai", profile, weights=weights)
    assert spec.kind == "open_clip" and Path(spec.weights) == Path(weights)
    embedder = emb.load_embedder(spec)
    assert embedder.spec.arch == "ViT-B-32"
    paths = sorted(Path(world.locations["f17k_images"]).glob("*.jpg"))[:2]
    vectors = emb.embed_images(
        paths, "open_clip:ViT-B-32/openai", profile, weights=weights, device="cpu", use_cache=False, progress=False
    )
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
