"""Tests of synthaug_utils.classifier (recipe, features, fast, train): batch-size rule, recipe checks, evaluation, early
stopping, determinism.

Training tests use the smoke profile's demo world (drawn once into a temporary cache),
32 px inputs and one or two epochs, so each takes seconds on a CPU.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest
import torch

from synthaug_utils.classifier.fast import fit_fast
from synthaug_utils.classifier.features import FeatureCache, augmented_views, load_resized
from synthaug_utils.classifier.recipe import EarlyStopper, Recipe, RecipeError, batch_size_rule
from synthaug_utils.classifier.train import evaluate, train_and_evaluate
from synthaug_utils.core.errors import DataError, MissingModelError
from synthaug_utils.core.files import file_digest
from synthaug_utils.core.inputs import check_arch


@pytest.fixture(scope="module")
def smoke():
    """Smoke profile, its split tables and a 2-per-label training subset (demo world in the session cache)."""
    torch.set_num_threads(1)
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.data.splits import load_splits, training_subset

    profile = load_profile("smoke")
    splits = load_splits(profile)
    return profile, splits, training_subset(splits, 2, seed=0)


# ----------------------------------------------------------------------------- batch size
@pytest.mark.parametrize(
    "n_train, rule, expected",
    [
        (9, "default", 8),  # 1 image per label, 9 labels: the authors' smallest batch
        (99, "default", 8),
        (100, "default", 32),
        (999, "default", 32),
        (1000, "default", 64),
        (60000, "default", 64),
        (4999, "dose-response", 64),
        (5000, "dose-response", 128),
        (999, "dose-response", 32),
        (5, "default", 5),  # capped at the training-set size so one full batch exists
    ],
)
def test_batch_size_rule_follows_the_authors_thresholds(n_train, rule, expected):
    assert batch_size_rule(n_train, rule) == expected


def test_batch_size_rule_rejects_empty_set_and_unknown_rule():
    with pytest.raises(DataError, match="empty"):
        batch_size_rule(0)
    with pytest.raises(RecipeError, match="batch_rule"):
        batch_size_rule(10, "huge")


# ----------------------------------------------------------------------------- recipe and arch
@pytest.mark.parametrize(
    "changes, field",
    [
        ({"mode": "quick"}, "mode"),
        ({"monitor": "f1"}, "monitor"),
        ({"lr": 0}, "lr"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"views": 0}, "views"),
    ],
)
def test_recipe_rejects_bad_values_naming_the_field(changes, field):
    with pytest.raises(RecipeError, match=field):
        Recipe(**changes)


def test_recipe_from_profile_takes_backbone_size_and_mode():
    from synthaug_utils.core.config import load_profile

    demo = Recipe.from_profile(load_profile("demo"))
    assert (demo.arch, demo.image_size, demo.mode, demo.max_epochs, demo.patience) == (
        "tf_efficientnet_lite0",
        64,
        "fast",
        30,
        3,
    )
    paper = Recipe.from_profile(load_profile("paper"), mode="faithful")
    assert (paper.arch, paper.image_size, paper.lr, paper.wd) == ("efficientnet_v2_m", 224, 1e-3, 0.01)


def test_check_arch_accepts_timm_and_torchvision_names_and_refuses_unknown():
    check_arch("tf_efficientnet_lite0")
    check_arch("efficientnet_v2_m")  # torchvision
    check_arch("resnet18")
    with pytest.raises(MissingModelError, match="unknown architecture 'not_a_net'"):
        check_arch("not_a_net")


# ----------------------------------------------------------------------------- evaluation
def test_evaluate_reports_topk_per_class_and_per_fst():
    labels = ["a", "b", "c", "d"]
    test = pd.DataFrame({"image_id": ["x", "y", "z"], "label": ["a", "b", "d"], "fst": [1, 1, 5]})
    probs = np.array(
        [
            [0.7, 0.1, 0.1, 0.1],  # a: right
            [0.5, 0.3, 0.15, 0.05],  # b: second -> top-3 only
            [0.4, 0.3, 0.2, 0.1],  # d: last -> wrong in top-3
        ]
    )
    pred, metrics = evaluate(probs, test, labels)
    assert list(pred.pred_1) == ["a", "a", "a"]
    assert list(pred.pred_2) == ["b", "b", "b"]
    assert pred.prob_1.tolist() == [0.7, 0.5, 0.4]
    assert metrics["top1"] == pytest.approx(1 / 3) and metrics["top3"] == pytest.approx(2 / 3)
    assert metrics["per_class"]["b"] == {"n": 1, "correct": 0, "accuracy": 0.0}
    assert metrics["per_fst"]["1"] == {"n": 2, "correct": 1, "accuracy": 0.5}
    with pytest.raises(DataError, match="shape"):
        evaluate(probs[:2], test, labels)


def test_evaluate_binary_task_uses_top2():
    test = pd.DataFrame({"image_id": ["x"], "label": ["malignant"], "fst": [56]})
    pred, metrics = evaluate(np.array([[0.8, 0.2]]), test, ["benign", "malignant"])
    assert "pred_3" not in pred and metrics["top1"] == 0.0 and metrics["top3"] == 1.0


# ----------------------------------------------------------------------------- early stopping
def test_early_stopper_matches_fastai_rule():
    """fastai: stop once `patience` epochs in a row fail to beat the best value strictly."""
    stopper = EarlyStopper(patience=3)
    steps = [stopper.update(v) for v in [3.0, 2.0, 2.0, 2.5, 2.1]]
    assert steps == [(True, False), (True, False), (False, False), (False, False), (False, True)]
    acc = EarlyStopper(patience=1, monitor="accuracy")
    assert [acc.update(v) for v in [0.2, 0.3, 0.3]] == [(True, False), (True, False), (False, True)]


# ----------------------------------------------------------------------------- training
def test_faithful_training_is_deterministic(smoke):
    profile, splits, train = smoke
    recipe = Recipe.from_profile(profile, mode="faithful", image_size=32, max_epochs=2, transforms=True)
    first, pred1, m1 = train_and_evaluate(train, splits, recipe, seed=3)
    second, pred2, m2 = train_and_evaluate(train, splits, recipe, seed=3)
    assert first.probs.shape == (len(splits.test), len(splits.labels))
    np.testing.assert_array_equal(first.probs, second.probs)
    pd.testing.assert_frame_equal(pred1, pred2)
    assert first.history == second.history and 1 <= first.epochs_run <= 2
    assert first.batch_size == 8  # 18 training images
    other, _, _ = train_and_evaluate(train, splits, recipe, seed=4)
    assert not np.array_equal(first.probs, other.probs)  # the seed matters


def test_fast_mode_is_deterministic_and_caches_features(smoke, tmp_path):
    profile, splits, train = smoke
    recipe = Recipe.from_profile(profile, mode="fast", image_size=32, max_epochs=3, transforms=True, views=2)
    cache = FeatureCache(recipe.arch, recipe.image_size, root=tmp_path)
    first = fit_fast(train, splits.val, splits.test, splits.labels, recipe, seed=1, cache=cache)
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.npy"))
    assert len(files) == len(train) + len(splits.val) + len(splits.test)
    feats = np.load(cache.file(file_digest(train.path[0]), 2))
    assert feats.shape == (2, 2560) and not np.allclose(feats[0], feats[1])  # two distinct views
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.npy")}
    second = fit_fast(train, splits.val, splits.test, splits.labels, recipe, seed=1, cache=cache)
    np.testing.assert_array_equal(first.probs, second.probs)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.npy")} == mtimes  # nothing recomputed
    assert not list(tmp_path.rglob("*.tmp"))


def test_fast_mode_result_does_not_depend_on_the_callers_thread_count(smoke, tmp_path):
    profile, splits, train = smoke
    recipe = Recipe.from_profile(profile, mode="fast", image_size=32, max_epochs=2)
    cache = FeatureCache(recipe.arch, recipe.image_size, root=tmp_path)
    before = torch.get_num_threads()
    try:
        runs = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            runs.append(fit_fast(train, splits.val, splits.test, splits.labels, recipe, seed=5, cache=cache).probs)
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_augmented_views_depend_on_the_image_only(smoke):
    _, splits, _ = smoke
    paths = list(splits.train_pool.path[:2])
    images = [load_resized(p, 32).float() / 255 for p in paths]
    digests = [file_digest(p) for p in paths]
    alone = augmented_views(images[0], 3, digests[0])
    torch.manual_seed(123)  # a different global RNG state must not matter
    _ = augmented_views(images[1], 3, digests[1])
    again = augmented_views(images[0], 3, digests[0])
    assert alone.shape == (3, 3, 32, 32)
    torch.testing.assert_close(alone, again, rtol=0, atol=0)


def test_fast_and_faithful_share_the_body_features(smoke):
    """The cached plain feature of an image equals the frozen body's output inside the fastai learner."""
    profile, splits, train = smoke
    from synthaug_utils.classifier.faithful import build_dataloaders, build_learner
    from synthaug_utils.classifier.features import body_features

    recipe = Recipe.from_profile(profile, mode="faithful", image_size=32)
    dls = build_dataloaders(train, splits.val, splits.labels, recipe, 8)
    learn = build_learner(dls, recipe, os.devnull)
    learn.model.eval()
    xb, _ = dls.valid.one_batch()
    with torch.no_grad():
        inside = learn.model[1][:2](learn.model[0](xb))  # body, then concat-pool + flatten of the head
    mean = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    raw = torch.stack([load_resized(p, 32) for p in splits.val.path[: len(xb)]]).float() / 255
    outside = body_features(recipe.arch, None, "cpu")((raw - mean) / mean)
    torch.testing.assert_close(inside, outside, rtol=1e-4, atol=1e-4)


def test_training_refuses_empty_tables(smoke):
    profile, splits, train = smoke
    recipe = Recipe.from_profile(profile, image_size=32, max_epochs=1)
    with pytest.raises(DataError, match="validation table is empty"):
        train_and_evaluate(train, dataclasses.replace(splits, val=splits.val.iloc[:0]), recipe, seed=0)


@pytest.mark.parametrize("size", [64, 32, (24, 48)])
def test_same_size_resize_is_fastai_resize(size):
    """The shortcut Resize gives fastai's pixels and consumes fastai's random draws, in training and validation."""
    import random

    from fastai.vision.all import PILImage, Resize

    from synthaug_utils.classifier.faithful import _same_size_resize

    rng = np.random.default_rng(0)
    for shape in ((64, 64, 3), (80, 100, 3)):
        img = PILImage.create(rng.integers(0, 256, shape, dtype=np.uint8))
        for split_idx in (0, 1):
            random.seed(5)
            expected = np.asarray(Resize(size)(img, split_idx=split_idx))
            after_expected = random.random()
            random.seed(5)
            got = np.asarray(_same_size_resize(size)(img, split_idx=split_idx))
            assert random.random() == after_expected
            np.testing.assert_array_equal(got, expected)


def test_inference_dataloader_keeps_row_order_and_validation_pixels(smoke):
    """Test batches are the rows in order, centre-cropped and normalised as in validation."""
    profile, splits, train = smoke
    from synthaug_utils.classifier.faithful import build_dataloaders, inference_dataloader

    recipe = Recipe.from_profile(profile, mode="faithful", image_size=32)
    dls = build_dataloaders(train, splits.val, splits.labels, recipe, 8)
    test = splits.test.iloc[::-1].head(10)
    batches = [b[0] for b in inference_dataloader(dls, test, 4)]
    assert [len(b) for b in batches] == [4, 4, 2]
    raw = torch.stack([load_resized(p, 32) for p in test.path]).float() / 255
    torch.testing.assert_close(torch.cat(batches).as_subclass(torch.Tensor), (raw - 0.5) / 0.5, rtol=0, atol=1e-6)
