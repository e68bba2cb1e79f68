"""The one image reader (data.open_rgb) and the up-front image check (data.validate_images), on tiny real files."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFile

from synthaug_utils.core.errors import MissingImagesError, UserFacingError
from synthaug_utils.data import byo, checks, images
from synthaug_utils.data import splits as data_splits


def _rgb(path):
    return np.asarray(images.open_rgb(path))


# ----------------------------------------------------------------------------- the demo images do not change
def test_demo_world_pngs_give_the_same_pixels_through_every_reader(smoke_profile):
    from fastai.vision.all import PILImage, Resize

    from synthaug_utils.classifier import faithful, features

    splits = data_splits.load_splits(smoke_profile, "main", 0)
    ddi = data_splits.load_splits(smoke_profile, "ddi", 0)
    rows = pd.concat([splits.train_pool.head(4), splits.test.head(2), ddi.train_pool.head(2)])
    for path in rows.path:
        with Image.open(path) as raw:
            assert raw.mode == "RGB" and not raw.getexif()  # what the demo world writes
        old = np.asarray(Image.open(path).convert("RGB"))
        assert np.array_equal(_rgb(path), old) and _rgb(path).dtype == np.uint8
        # fastai's item reader: PILImage.create(path) before, read_item_image(row) now
        row = next(pd.DataFrame({"path": [path]}).itertuples(index=False))
        assert np.array_equal(
            np.asarray(PILImage.create(faithful.read_item_image(row))), np.asarray(PILImage.create(path))
        )
        before = Resize(32)(PILImage.create(path), split_idx=1)
        assert np.array_equal(features.load_resized(path, 32).permute(1, 2, 0).numpy(), np.asarray(before))
    # load_image / load_image_array (generation sources, DreamBooth, quality, 07's thumbnails)
    arr = checks.load_image_array(rows, 48)
    for i, path in enumerate(rows.path):
        img = Image.open(path).convert("RGB")
        w, h = img.size
        if (w, h) != (48, 48):
            img = img.resize((48, 48), Image.BICUBIC)
        assert np.array_equal(arr[i], np.asarray(img))


# ----------------------------------------------------------------------------- conversions
def test_greyscale_jpeg_and_16_bit_png_become_grey_rgb(tmp_path):
    Image.new("L", (12, 9), 100).save(tmp_path / "grey.jpg", quality=95)
    out = _rgb(tmp_path / "grey.jpg")
    assert out.shape == (9, 12, 3) and (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    assert abs(int(out[0, 0, 0]) - 100) <= 2
    deep = np.array([[0, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    assert _rgb(tmp_path / "deep.png")[0, :, 0].tolist() == [0, 128, 255]  # scaled, not clipped at 255
    Image.new("LA", (4, 4), (30, 0)).save(tmp_path / "la.png")
    assert (_rgb(tmp_path / "la.png") == 255).all()  # transparent greyscale -> white


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (16, 8), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    out = _rgb(tmp_path / "cmyk.jpg").astype(int)
    assert out.shape == (8, 16, 3)
    assert np.abs(out - [255, 0, 0]).max() <= 6  # red


def test_transparent_pixels_are_composited_on_white(tmp_path):
    assert images.ALPHA_BACKGROUND == (255, 255, 255)
    a = np.zeros((2, 3, 4), dtype=np.uint8)
    a[0, 0] = (10, 20, 30, 0)  # fully transparent, dark stored colour
    a[0, 1] = (10, 20, 30, 255)  # opaque
    a[0, 2] = (0, 0, 0, 128)  # half transparent black
    a[1] = (200, 100, 50, 255)
    Image.fromarray(a, "RGBA").save(tmp_path / "alpha.png")
    out = _rgb(tmp_path / "alpha.png")
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == [10, 20, 30]
    assert all(abs(int(v) - 127) <= 1 for v in out[0, 2])
    assert out[1, 0].tolist() == [200, 100, 50]
    # the training reader and the resizing loader agree with open_rgb
    from synthaug_utils.classifier import faithful

    row = next(pd.DataFrame({"path": [str(tmp_path / "alpha.png")]}).itertuples(index=False))
    assert np.array_equal(np.asarray(faithful.read_item_image(row)), out)


def test_palette_pngs_with_and_without_transparency(tmp_path):
    p = Image.new("P", (4, 2))
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.putpixel((0, 0), 1)
    p.save(tmp_path / "pal.png")
    out = _rgb(tmp_path / "pal.png")
    assert out[0, 0].tolist() == [0, 0, 255] and out[1, 1].tolist() == [255, 0, 0]
    p.save(tmp_path / "pal_t.png", transparency=1)  # index 1 (blue) transparent
    with Image.open(tmp_path / "pal_t.png") as img:
        assert img.mode == "P" and "transparency" in img.info
    out = _rgb(tmp_path / "pal_t.png")
    assert out[0, 0].tolist() == [255, 255, 255] and out[1, 1].tolist() == [255, 0, 0]


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))  # left half red, right half blue, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    img.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    out = _rgb(tmp_path / "rot.jpg").astype(int)
    assert out.shape == (40, 20, 3)  # portrait after rotation
    assert np.abs(out[5, 10] - [255, 0, 0]).max() < 30  # the stored left half is now on top
    assert np.abs(out[35, 10] - [0, 0, 255]).max() < 30
    assert images.load_image(tmp_path / "rot.jpg", 8).size == (8, 8)


# ----------------------------------------------------------------------------- the up-front check
def _jpeg_bytes(seed=0, size=(64, 48)):
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _table_with_three_bad_images(folder):
    folder.mkdir()
    rows = []
    for i in range(4):
        Image.new("RGB", (10 + i, 12), (i * 40, 9, 9)).save(folder / f"good{i}.png")
        rows.append({"path": f"good{i}.png", "label": "a" if i % 2 else "b"})
    (folder / "good.jpg").write_bytes(_jpeg_bytes())
    rows.append({"path": "good.jpg", "label": "a"})
    (folder / "empty.png").write_bytes(b"")
    whole = _jpeg_bytes(1)
    (folder / "cut.jpg").write_bytes(whole[: len(whole) // 2])  # the first half of a valid JPEG
    rows += [
        {"path": "missing.jpg", "label": "a"},
        {"path": "empty.png", "label": "b"},
        {"path": "cut.jpg", "label": "b"},
    ]
    pd.DataFrame(rows).to_csv(folder / "mine.csv", index=False)
    return byo.read_byo(folder / "mine.csv", test_per_label=0)


def test_one_error_names_every_bad_image_with_its_row_then_the_cache_serves_unchanged_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # must not hide the truncated file
    tables = _table_with_three_bad_images(tmp_path / "d")
    decoded = []
    real = checks._decode_problem
    monkeypatch.setattr(checks, "_decode_problem", lambda p: decoded.append(p) or real(p))
    with pytest.raises(MissingImagesError) as info:
        checks.validate_dataset_images(tables, "my run")
    msg = str(info.value)
    assert isinstance(info.value, UserFacingError)
    assert "3 of 8 images are missing or unreadable" in msg and msg.startswith("my run: ")
    lines = msg.splitlines()[1:]
    assert len(lines) == 3
    by_name = {name: next(line for line in lines if name in line) for name in ("missing.jpg", "empty.png", "cut.jpg")}
    assert str(tmp_path / "d" / "missing.jpg") in by_name["missing.jpg"]
    assert (
        "mine.csv line 7" in by_name["missing.jpg"]
        and "image_id missing.jpg" in by_name["missing.jpg"]
        and "missing" in by_name["missing.jpg"]
    )
    assert "mine.csv line 8" in by_name["empty.png"] and "empty (0 bytes)" in by_name["empty.png"]
    assert "mine.csv line 9" in by_name["cut.jpg"] and "truncated" in by_name["cut.jpg"]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored
    assert len(decoded) == 6  # 5 good files + the truncated one (missing and empty need no decoding)
    assert (tmp_path / "cache" / checks.IMAGE_CHECK_FILE).is_file()
    # fix the three files; only they are decoded again, the five good ones come from the cache
    d = tmp_path / "d"
    (d / "missing.jpg").write_bytes(_jpeg_bytes(2))
    Image.new("RGB", (5, 5)).save(d / "empty.png")
    (d / "cut.jpg").write_bytes(_jpeg_bytes(1))
    decoded.clear()
    check = checks.validate_dataset_images(tables)
    assert sorted(decoded) == sorted(str(d / n) for n in ("missing.jpg", "empty.png", "cut.jpg"))
    assert (check.images, check.decoded, check.cached) == (8, 3, 5)
    decoded.clear()
    assert checks.validate_dataset_images(tables).decoded == 0 and not decoded
    # a changed file (new size / mtime) is checked again
    (d / "good.jpg").write_bytes(_jpeg_bytes(5, size=(30, 30)))
    assert checks.validate_dataset_images(tables).decoded == 1


def test_load_image_array_and_check_images_report_like_validate_images(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path / "cache"))
    tables = _table_with_three_bad_images(tmp_path / "d")
    table = pd.concat([tables.pool, tables.test])
    for call in (lambda: checks.load_image_array(table, 8), lambda: checks.check_images(table)):
        with pytest.raises(MissingImagesError, match="3 of 8 images are missing or unreadable") as info:
            call()
        for reason in ("missing (no such file)", "empty (0 bytes)", "truncated"):
            assert reason in str(info.value)
    good = table[table.path.str.contains("good")]
    assert checks.load_image_array(good, 8).shape == (5, 8, 8, 3)
