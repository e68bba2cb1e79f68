"""Profiles, overrides, config files and the paper profile's missing-resource report."""

import pytest

from synthaug_utils.core.config import ProfileError, load_profile
from synthaug_utils.core.inputs import MissingResourcesError, check_ready


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
    for key in (
        "f17k_metadata",
        "f17k_splits",
        "f17k_images",
        "ddi_metadata",
        "ddi_images",
        "sd_text2image",
        "sd_inpaint",
        "classifier_weights",
        "clip_weights",
        "CUDA GPU",
    ):
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
    cfg.write_text(f"f17k_metadata: {f17k_dir / 'fitzpatrick17k.csv'}\nf17k_splits: {f17k_dir}\nf17k_images: {imgs}\n")
    p = load_profile("paper", config=cfg)
    check_ready(p, needs=("f17k_metadata", "f17k_splits", "f17k_images"))


def test_early_stopping_metric_override_reaches_the_recipe_the_trials_and_the_callbacks(tmp_path):
    """The paper's early-stopping metric (validation accuracy) is one profile override away; the authors'
    valid_loss is every profile's default."""
    import numpy as np
    from fastai.callback.tracker import EarlyStoppingCallback
    from fastai.learner import AvgMetric
    from fastai.metrics import accuracy

    from synthaug_utils.classifier.recipe import EarlyStopper, Recipe, _best_epoch
    from synthaug_utils.experiments.grids import build_grid

    assert {load_profile(n).early_stopping_metric for n in ("demo", "smoke", "paper")} == {"valid_loss"}
    paper = load_profile("paper", overrides={"early_stopping_metric": "accuracy"})
    assert (
        Recipe.from_profile(paper).monitor == "accuracy"
        and Recipe.from_profile(load_profile("paper")).monitor == "valid_loss"
    )
    assert {s.monitor for s in build_grid("fig3", paper)} == {"accuracy"}
    cfg = tmp_path / "paper.yml"
    cfg.write_text("overrides:\n  early_stopping_metric: accuracy\n")
    assert load_profile("paper", config=cfg).early_stopping_metric == "accuracy"
    # faithful mode: fastai monitors the recorder's "accuracy" column (the learner's metric), higher is better
    assert AvgMetric(accuracy).name == "accuracy"
    assert EarlyStoppingCallback(monitor=Recipe.from_profile(paper).monitor, patience=3).comp is np.greater
    # fast mode: the same rule on validation accuracy, and the best epoch is the most accurate one
    stopper = EarlyStopper(patience=2, monitor="accuracy")
    assert [stopper.update(v) for v in (0.5, 0.4, 0.6, 0.6, 0.55)][-1] == (False, True)
    assert (
        _best_epoch(
            [{"valid_loss": 1.0, "valid_accuracy": 0.5}, {"valid_loss": 0.9, "valid_accuracy": 0.4}], "accuracy"
        )
        == 0
    )


def test_bad_early_stopping_metric_names_the_parameter_and_the_choices(tmp_path):
    for value in ("val_acc", 1, None):
        with pytest.raises(ProfileError, match=r"early_stopping_metric=.* is not one of \['valid_loss', 'accuracy'\]"):
            load_profile("smoke", overrides={"early_stopping_metric": value})
    cfg = tmp_path / "c.yml"
    cfg.write_text("overrides:\n  early_stopping_metric: loss\n")
    with pytest.raises(ProfileError, match=f'config file {cfg}: overrides: early_stopping_metric="loss"'):
        load_profile("paper", config=cfg)
