"""The faithful mode: the fastai recipe end to end."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch
from PIL import Image as PILImageModule
from torch import nn

from synthaug_utils.classifier.recipe import FitResult, Recipe, batch_size_rule, seed_everything
from synthaug_utils.core.backbones import create_classifier_net, normalisation
from synthaug_utils.data.images import open_rgb


def quiet_fastai() -> contextlib.ExitStack:
    """Silence fastai's prints (early-stopping notices) and known harmless warnings inside a block."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore", UserWarning)
    warnings.simplefilter("ignore", FutureWarning)
    return stack


# ----------------------------------------------------------------------------- faithful mode
def _arch_factory(arch: str, weights: str | None):
    """A callable ``factory(pretrained=True) -> nn.Module`` that fastai's ``vision_learner`` accepts as ``arch``."""

    def factory(pretrained: bool = True, **_: Any) -> nn.Module:
        return create_classifier_net(arch, pretrained=pretrained, weights=weights)

    factory.__name__ = arch.replace("-", "_")
    return factory


def _records(table: pd.DataFrame, cols: Sequence[str]) -> list:
    """Rows of ``table`` as namedtuples with fields ``cols``, fastai's items.

    fastai's ``ColReader`` reads namedtuple fields by name exactly as it reads DataFrame
    columns, but pandas' per-row ``iloc`` costs more than decoding a 64 px image.
    """
    return list(table[list(cols)].itertuples(index=False, name="Row"))


def read_item_image(row) -> PILImageModule.Image:
    """fastai ``get_x``: the image of an item (a row with a ``path`` field) through
    :func:`synthaug_utils.data.images.open_rgb`, the one RGB reader of the project (fastai's own
    ``PILImage.create(path)`` would drop alpha channels and ignore EXIF orientation)."""
    return open_rgb(row.path)


def _frame(train: pd.DataFrame, val: pd.DataFrame) -> pd.DataFrame:
    """Training and validation rows in one table with an ``is_valid`` column (the authors' layout)."""
    cols = ["path", "label"]
    return pd.concat([train[cols].assign(is_valid=False), val[cols].assign(is_valid=True)], ignore_index=True)


def _same_size_resize(size: int):
    """fastai ``Resize(size)`` that passes images already at the target size through untouched.

    Numerically identical to ``Resize``: cropping the whole image and resizing it to its own
    size is the identity, and ``before_call`` still draws the random crop position in
    training, so the random stream (and every later augmentation) is unchanged. It saves the
    reflection-pad and PIL round trip that cost about half of fastai's per-image time at 64 px.
    """
    from fastai.vision.all import Resize

    class SameSizeResize(Resize):
        def encodes(self, x: PILImageModule.Image):  # PIL images only; masks, points and boxes keep Resize's methods
            if tuple(x.size) == tuple(self.size):  # PIL (w, h); fastai stores size as (w, h) too
                return x
            return super().encodes(x)

    return SameSizeResize(size)


def build_dataloaders(train: pd.DataFrame, val: pd.DataFrame, labels: Sequence[str], recipe: Recipe, batch_size: int):
    """fastai DataLoaders: Resize(image_size) item transform; aug_transforms() (optional) and Normalize batch
    transforms.

    Images are read in the main process (``num_workers=0``) so that loading order and
    augmentation are seeded; the training loader shuffles and drops its last partial batch.
    Items are namedtuples (path, label, is_valid) of :func:`_frame`, split on ``is_valid``
    as the authors' ``ColSplitter`` did; use :func:`inference_dataloader` for test images.
    """
    from fastai.vision.all import (
        CategoryBlock,
        ColReader,
        DataBlock,
        ImageBlock,
        IndexSplitter,
        Normalize,
        aug_transforms,
    )

    norm = normalisation(recipe.arch)
    batch_tfms = [*(aug_transforms() if recipe.transforms else []), Normalize.from_stats(norm.mean, norm.std)]
    items = _records(_frame(train, val), ["path", "label", "is_valid"])
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=list(labels))),
        get_x=read_item_image,  # ImageBlock's PILImage.create wraps the RGB image it returns
        get_y=ColReader("label"),
        splitter=IndexSplitter([i for i, row in enumerate(items) if row.is_valid]),
        item_tfms=_same_size_resize(recipe.image_size),
        batch_tfms=batch_tfms,
    )
    return block.dataloaders(items, bs=batch_size, num_workers=0, device=torch.device(recipe.device))


def inference_dataloader(dls, test: pd.DataFrame, batch_size: int):
    """An unlabelled fastai DataLoader over ``test``'s images (columns ``path``, ``label``) with the
    validation transforms of ``dls`` (deterministic: centre crop, no augmentation), in row order."""
    return dls.test_dl(_records(test, ["path", "label"]), bs=batch_size, rm_type_tfms=0)


def _plain_input_callback():
    """A fastai callback that hands the model plain tensors instead of ``TensorImage``.

    Numerically identical; it skips fastai's per-operation ``__torch_function__`` dispatch
    on the tensor subclass, which costs about 10% of CPU training time for Lite0 at 64 px.
    """
    from fastai.callback.core import Callback

    class PlainTensorInput(Callback):
        order = 100  # after the batch transforms and device placement

        def before_batch(self):
            self.learn.xb = tuple(x.as_subclass(torch.Tensor) if isinstance(x, torch.Tensor) else x for x in self.xb)

    return PlainTensorInput()


def build_learner(dls, recipe: Recipe, path: str | os.PathLike):
    """``vision_learner`` with the authors' settings: frozen pretrained body, head + BatchNorm trainable, Adam."""
    from fastai.vision.all import Adam, CrossEntropyLossFlat, accuracy, vision_learner

    learn = vision_learner(
        dls,
        _arch_factory(recipe.arch, recipe.weights),
        normalize=False,  # Normalize(stats of the backbone) is already in the batch transforms
        pretrained=True,
        loss_func=CrossEntropyLossFlat(),
        opt_func=Adam,
        lr=recipe.lr,
        wd=recipe.wd,
        train_bn=True,
        metrics=[accuracy],
        path=path,
        cbs=[_plain_input_callback()],
    )
    if recipe.amp:
        learn = learn.to_fp16()
    if recipe.channels_last:
        from fastai.callback.channelslast import ChannelsLast

        learn.add_cb(ChannelsLast())
    return learn


def fit_faithful(
    train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame, labels: Sequence[str], recipe: Recipe, seed: int
) -> FitResult:
    """Train with fastai exactly as the authors did and predict the test set (see module docstring)."""
    from fastai.vision.all import EarlyStoppingCallback, SaveModelCallback

    start = time.perf_counter()
    batch_size = recipe.batch_size or batch_size_rule(len(train), recipe.batch_rule)
    seed_everything(seed)
    dls = build_dataloaders(train, val, labels, recipe, batch_size)
    with tempfile.TemporaryDirectory(prefix="synthaug-learner-") as tmp, quiet_fastai():
        learn = build_learner(dls, recipe, tmp)
        callbacks = [EarlyStoppingCallback(monitor=recipe.monitor, min_delta=0.0, patience=recipe.patience)]
        if recipe.restore_best:
            callbacks.append(SaveModelCallback(monitor=recipe.monitor, fname="best", with_opt=False))
        t_fit = time.perf_counter()
        with learn.no_bar(), learn.no_logging():
            learn.fit(recipe.max_epochs, lr=recipe.lr, wd=recipe.wd, cbs=callbacks)
            values = [list(v) for v in learn.recorder.values]  # get_preds below resets the recorder
            t_pred = time.perf_counter()
            test_dl = inference_dataloader(dls, test, max(batch_size, 64))
            probs, _ = learn.get_preds(dl=test_dl)
        stamps = (start, t_fit, t_pred, time.perf_counter())
    history = [
        {"epoch": i, "train_loss": float(v[0]), "valid_loss": float(v[1]), "valid_accuracy": float(v[2])}
        for i, v in enumerate(values)
    ]
    return FitResult.of_run(
        probs.float().numpy(), history, recipe.monitor, batch_size, len(train), "faithful", "setup_s", stamps
    )
