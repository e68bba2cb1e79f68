"""Profiles, overrides, config files and the paper profile's missing-resource report."""
import pytest

from synthaug_utils.core.inputs import MissingResourcesError, check_ready
from synthaug_utils.core.config import ProfileError, load_profile


def test_demo_is_the_default_and_is_embedded():
    p = load_profile()
    assert p.name == "demo" and p.is_embedded and p.device == "cpu"
    assert p.arch == "tf_efficientnet_lite0"
    check_ready(p)  # embedded profiles need nothing


def test_smoke_is_smaller_than_demo():
    demo, smoke = load_profile("demo"), load_profile("smoke")
    assert smoke.world.train_pool_per_class < demo.world.train_pool_per_class
    assert max(smoke.n_real_grid) <= smoke.world.train_pool_per_class - smoke.val_per_label


def test_overrides_apply_and_unknown_names_are_rejected():
    p = load_profile("smoke", overrides={"seeds": [3, 4], "max_epochs": 2})
    assert p.seeds == (3, 4) and p.max_epochs == 2
    with pytest.raises(ProfileError, match="no_such_field"):
        load_profile("smoke", overrides={"no_such_field": 1})
    with pytest.raises(ProfileError, match="unknown profile 'nope'"):
        load_profile("nope")


def test_paper_profile_lists_every_missing_item_in_one_message(tmp_path, monkeypatch):
    for var in ("SYNTHAUG_F17K_IMAGES", "SYNTHAUG_DDI_IMAGES", "SYNTHAUG_F17K_METADATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cfg = tmp_path / "paper.yml"
    cfg.write_text(f"f17k_images: {tmp_path / 'nowhere'}\n")
    p = load_profile("paper", config=cfg)
    with pytest.raises(MissingResourcesError) as info:
        check_ready(p)
    msg = str(info.value)
    for key in ("f17k_metadata", "f17k_splits", "f17k_images", "ddi_metadata", "ddi_images", "sd_text2image",
                "sd_inpaint", "classifier_weights", "clip_weights", "CUDA GPU"):
        assert key in msg, key
    assert "SYNTHAUG_F17K_METADATA" in msg and str(tmp_path / "nowhere") in msg


def test_config_file_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("f17k_imgs: /x\n")
    with pytest.raises(ProfileError, match="f17k_imgs"):
        load_profile("paper", config=bad)
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile("paper", config=tmp_path / "missing.yml")


def test_paper_locations_found_when_present(tmp_path, f17k_dir, monkeypatch):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    cfg = tmp_path / "c.yml"
    cfg.write_text(
        f"f17k_metadata: {f17k_dir / 'fitzpatrick17k.csv'}\nf17k_splits: {f17k_dir}\nf17k_images: {imgs}\n"
    )
    p = load_profile("paper", config=cfg)
    check_ready(p, needs=("f17k_metadata", "f17k_splits", "f17k_images"))
