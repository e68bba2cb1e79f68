"""Classifier training: the authors' fastai recipe (faithful mode) and a cached-feature fast mode.

Faithful mode (:func:`fit_faithful`) runs the recipe of the authors' scripts
(manrai/synthetic-derm, ``skin_classification_with_augmentation.py``): fastai
``vision_learner`` over an ImageNet-pretrained backbone, ``fit`` (not ``fine_tune``) so
the body stays frozen while the new head and every BatchNorm layer train, Adam
(fastai's, decoupled weight decay) with lr 1e-3 and weight decay 0.01, up to
``max_epochs`` epochs with ``EarlyStoppingCallback(monitor='valid_loss', patience=3)``,
item transform ``Resize(image_size)`` and batch transforms none or ``aug_transforms()``.
The Fig. 3 script keeps the last epoch's weights; the dose-response script restores the
best epoch (``SaveModelCallback``); :attr:`Recipe.restore_best` chooses.

Fast mode (:func:`fit_fast`) runs the frozen body once per image (and per augmented view
when transforms are on), caches its pooled features on disk (:class:`FeatureCache`) and
trains the same head (same layers, init, optimiser, lr, weight decay, batch size,
epochs and early-stopping rule) on them. It differs from faithful mode in two ways
that the book measures: the body's BatchNorm layers keep their ImageNet statistics and
affine parameters, and augmentation draws from ``views`` cached views per image
instead of a fresh draw every epoch. On the demo world the first difference dominates:
faithful mode with the body's BatchNorm frozen (fastai ``BnFreeze``, ``train_bn=False``)
lands within about 0.01-0.02 top-1 of fast mode, while the authors' ``train_bn=True``
recipe scores about 0.1 lower (measured for issue 4; the book reports the comparison).

Everything is seeded (Python, NumPy, torch, data-loader order, augmentation): the same
inputs give identical predictions twice on the CPU at a given torch thread count (fast
mode trains its head on one thread, so its results do not depend on the thread count).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from PIL import Image as PILImageModule
from torch import nn

from synthaug_utils.core.backbones import LITE0_ARCH, create_classifier_net, normalisation
from synthaug_utils.core.config import BATCH_RULES, MODES, MONITORS, check_arch  # noqa: F401 (part of this module's API)
from synthaug_utils.core.config import Profile, cache_dir
from synthaug_utils.data.datasets import open_rgb
from synthaug_utils.core.errors import DataError, MissingModelError, UserFacingError
from synthaug_utils.core.files import atomic_save_npy

FEATURE_FORMAT = "v1"  # bump when the cached feature layout or the view pipeline changes
# Fast mode trains its small head on one CPU thread: as fast as more threads for these matrix sizes,
# robust when other processes share the cores, and it makes the result independent of the caller's
# thread count (matrix products round differently with different thread counts).
HEAD_THREADS = 1


class RecipeError(UserFacingError, ValueError):
    """A training hyperparameter is out of range or unknown (the message names it)."""


# ----------------------------------------------------------------------------- recipe
@dataclass(frozen=True)
class Recipe:
    """Every setting of one classifier training run (defaults: the authors' recipe, demo backbone).

    ``image_size`` is the classifier input side in px. ``batch_size`` None applies
    :func:`batch_size_rule` with ``batch_rule`` to the training-set size. ``views`` is
    the number of cached augmented views per image in fast mode with transforms on.
    ``weights`` is a local checkpoint for non-Lite0 backbones (None: torch's hub cache).
    ``amp`` and ``channels_last`` are GPU speed options (faithful mode only).
    """

    arch: str = LITE0_ARCH
    image_size: int = 64
    transforms: bool = False
    mode: str = "faithful"
    max_epochs: int = 30
    patience: int = 3
    lr: float = 1e-3
    wd: float = 0.01
    monitor: str = "valid_loss"
    restore_best: bool = False
    batch_rule: str = "default"
    batch_size: int | None = None
    views: int = 4
    weights: str | None = None
    device: str = "cpu"
    amp: bool = False
    channels_last: bool = False

    def __post_init__(self) -> None:
        checks = [
            (self.mode in MODES, f"mode={self.mode!r}: use one of {MODES}"),
            (self.batch_rule in BATCH_RULES, f"batch_rule={self.batch_rule!r}: use one of {BATCH_RULES}"),
            (self.monitor in MONITORS, f"monitor={self.monitor!r}: use one of {MONITORS}"),
            (int(self.image_size) >= 16, f"image_size={self.image_size}: must be at least 16 px"),
            (int(self.max_epochs) >= 1, f"max_epochs={self.max_epochs}: must be at least 1"),
            (int(self.patience) >= 1, f"patience={self.patience}: must be at least 1"),
            (float(self.lr) > 0, f"lr={self.lr}: must be positive"),
            (float(self.wd) >= 0, f"wd={self.wd}: must be non-negative"),
            (self.batch_size is None or int(self.batch_size) >= 1, f"batch_size={self.batch_size}: must be >= 1"),
            (int(self.views) >= 1, f"views={self.views}: must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise RecipeError(f"training recipe: {message}")

    @classmethod
    def from_profile(cls, profile: Profile, **changes: Any) -> "Recipe":
        """The profile's backbone, input size, epochs, patience, device and mode, then ``changes``."""
        base = dict(
            arch=profile.arch,
            image_size=profile.image_size,
            max_epochs=profile.max_epochs,
            patience=profile.patience,
            mode="fast" if profile.fast_mode else "faithful",
            device=profile.device,
            weights=_profile_weights(profile),
        )
        base.update(changes)
        return cls(**base)


def _profile_weights(profile: Profile) -> str | None:
    """The classifier checkpoint named in the profile's locations (paper profile), or None."""
    value = profile.locations.get("classifier_weights") if profile.locations else None
    if value and profile.arch != LITE0_ARCH and not value.startswith("torchvision://"):
        return value
    return None


def batch_size_rule(n_train: int, rule: str = "default") -> int:
    """Batch size for a training set of ``n_train`` images (real + synthetic), as the authors chose it.

    The authors' scripts compare ``n_train / 10`` with thresholds (manrai/synthetic-derm):
    ``default`` (Fig. 3 script): n_train >= 1000 -> 64, >= 100 -> 32, else 8;
    ``dose-response`` (Fig. 4 script): n_train >= 5000 -> 128, >= 1000 -> 64, >= 100 -> 32, else 8.
    The result is capped at ``n_train`` so that a tiny set still yields one full batch
    (fastai drops the last incomplete training batch).
    """
    if rule not in BATCH_RULES:
        raise RecipeError(f"batch_rule={rule!r}: use one of {BATCH_RULES}")
    n_train = int(n_train)
    if n_train < 1:
        raise DataError("the training set is empty; nothing to train on")
    tenth = n_train / 10
    if rule == "dose-response" and tenth >= 500:
        size = 128
    elif tenth >= 100:
        size = 64
    elif tenth >= 10:
        size = 32
    else:
        size = 8
    return min(size, n_train)


# ----------------------------------------------------------------------------- seeding, hashing
def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA), deterministic cuDNN."""
    from fastai.torch_core import set_seed

    set_seed(int(seed), reproducible=True)


_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGEST_LOCK = threading.Lock()


def file_digest(path: str | os.PathLike) -> str:
    """Content hash of a file (BLAKE2b, 32 hex chars), memoised per (path, size, mtime)."""
    path = str(path)
    try:
        stat = os.stat(path)
    except OSError as exc:
        from synthaug_utils.core.errors import MissingImagesError

        raise MissingImagesError(f"image file {path} is missing or unreadable: {exc}") from exc
    key = (path, stat.st_size, stat.st_mtime_ns)
    with _DIGEST_LOCK:
        hit = _DIGESTS.get(key)
    if hit is None:
        with open(path, "rb") as handle:
            hit = hashlib.blake2b(handle.read(), digest_size=16).hexdigest()
        with _DIGEST_LOCK:
            _DIGESTS[key] = hit
    return hit


def table_digest(table: pd.DataFrame) -> str:
    """Hash of a data table: sorted (image_id, label, file content hash) triples (16 hex chars)."""
    h = hashlib.blake2b(digest_size=8)
    rows = sorted(zip(table.image_id.astype(str), table.label.astype(str), table.path.astype(str)))
    for image_id, label, path in rows:
        h.update(f"{image_id}\t{label}\t{file_digest(path)}\n".encode())
    return h.hexdigest()


def _quiet() -> contextlib.ExitStack:
    """Silence fastai's prints (early-stopping notices) and known harmless warnings inside a block."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore", UserWarning)
    warnings.simplefilter("ignore", FutureWarning)
    return stack


# ----------------------------------------------------------------------------- results
@dataclass
class FitResult:
    """Outcome of one training run.

    ``probs``: float32 (N_test, n_labels) softmax probabilities in label order;
    ``history``: one dict per epoch run (epoch, train_loss, valid_loss, valid_accuracy);
    ``best_epoch``: 0-based epoch with the best monitored value; ``wall_s``: seconds.
    """

    probs: np.ndarray
    history: list[dict[str, float]]
    epochs_run: int
    best_epoch: int
    batch_size: int
    n_train: int
    wall_s: float
    mode: str
    timings: dict[str, float] = field(default_factory=dict)


class EarlyStopper:
    """fastai's ``EarlyStoppingCallback`` rule (``min_delta=0``) as a plain object, for fast mode.

    :meth:`update` takes one epoch's monitored value and returns (improved, stop): an
    epoch improves when its value is strictly better than the best so far (lower loss,
    higher accuracy); training stops after ``patience`` epochs in a row without improvement.
    """

    def __init__(self, patience: int, monitor: str = "valid_loss"):
        self.patience, self.sign = int(patience), 1.0 if monitor == "valid_loss" else -1.0
        self.best: float | None = None
        self.wait = 0

    def update(self, value: float) -> tuple[bool, bool]:
        score = self.sign * float(value)
        if self.best is None or score < self.best:
            self.best, self.wait = score, 0
            return True, False
        self.wait += 1
        return False, self.wait >= self.patience


def _best_epoch(history: list[dict[str, float]], monitor: str) -> int:
    """0-based index of the first epoch with the best monitored value (lowest loss / highest accuracy)."""
    key = "valid_loss" if monitor == "valid_loss" else "valid_accuracy"
    values = [h[key] for h in history]
    return int(np.argmin(values) if monitor == "valid_loss" else np.argmax(values))


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
    :func:`synthaug_utils.data.datasets.open_rgb`, the one RGB reader of the project (fastai's own
    ``PILImage.create(path)`` would drop alpha channels and ignore EXIF orientation)."""
    return open_rgb(row.path)


def _frame(train: pd.DataFrame, val: pd.DataFrame) -> pd.DataFrame:
    """Training and validation rows in one table with an ``is_valid`` column (the authors' layout)."""
    cols = ["path", "label"]
    return pd.concat(
        [train[cols].assign(is_valid=False), val[cols].assign(is_valid=True)], ignore_index=True
    )


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
    """fastai DataLoaders: Resize(image_size) item transform; aug_transforms() (optional) and Normalize batch transforms.

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
    with tempfile.TemporaryDirectory(prefix="synthaug-learner-") as tmp, _quiet():
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
        t_end = time.perf_counter()
    history = [
        {"epoch": i, "train_loss": float(v[0]), "valid_loss": float(v[1]), "valid_accuracy": float(v[2])}
        for i, v in enumerate(values)
    ]
    return FitResult(
        probs=probs.float().numpy(),
        history=history,
        epochs_run=len(history),
        best_epoch=_best_epoch(history, recipe.monitor),
        batch_size=batch_size,
        n_train=len(train),
        wall_s=t_end - start,
        mode="faithful",
        timings={"setup_s": t_fit - start, "fit_s": t_pred - t_fit, "predict_s": t_end - t_pred},
    )


# ----------------------------------------------------------------------------- fast mode: features
class BodyFeatures(nn.Module):
    """The frozen body that ``vision_learner`` cuts from the backbone, then fastai's AdaptiveConcatPool2d.

    Maps a normalised float batch (N, 3, H, W) to (N, 2C) features ([max-pool, avg-pool]),
    exactly the input of the head's first BatchNorm1d in faithful mode (C=1280 for Lite0).
    """

    def __init__(self, arch: str, weights: str | None = None):
        super().__init__()
        from fastai.layers import AdaptiveConcatPool2d, Flatten
        from fastai.vision.learner import create_body

        net = create_classifier_net(arch, pretrained=True, weights=weights)
        self.body = create_body(net, 3, True, None)
        self.pool = nn.Sequential(AdaptiveConcatPool2d(), Flatten())
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(x))


_BODIES: dict[tuple[str, str | None, str], BodyFeatures] = {}


def body_features(arch: str, weights: str | None, device: str) -> BodyFeatures:
    """A cached :class:`BodyFeatures` per (arch, weights, device) for this process (frozen, so shareable)."""
    key = (arch, weights, device)
    if key not in _BODIES:
        _BODIES[key] = BodyFeatures(arch, weights).to(device)
    return _BODIES[key]


def _weights_tag(arch: str, weights: str | None) -> str:
    """Short tag of the backbone weights for cache folder names ('pkg' = packaged / hub default)."""
    if not weights:
        return "default"
    path = Path(weights)
    size = path.stat().st_size if path.is_file() else 0
    return hashlib.blake2b(f"{path.name}:{size}".encode(), digest_size=4).hexdigest()


class FeatureCache:
    """Per-image frozen-body features on disk, keyed by image content hash, backbone, input size and view set.

    Layout: ``root/{arch}-{size}px-{weights}/{view_set}/{hash[:2]}/{hash}.npy`` with
    ``view_set`` = ``plain`` (float32 (F,)) or ``aug{V}`` (float32 (V, F): V augmented
    views drawn with fastai's ``aug_transforms()``, seeded by the image hash). Files are
    written atomically, so concurrent workers can share one cache.
    """

    def __init__(self, arch: str, image_size: int, weights: str | None = None, root: str | os.PathLike | None = None):
        self.arch, self.image_size, self.weights = arch, int(image_size), weights
        base = Path(root) if root is not None else cache_dir() / "features"
        self.root = base / FEATURE_FORMAT / f"{arch}-{self.image_size}px-{_weights_tag(arch, weights)}"

    def file(self, digest: str, views: int) -> Path:
        """Cache file of one image for ``views`` augmented views (0 = the plain view)."""
        view_set = "plain" if views == 0 else f"aug{views}"
        return self.root / view_set / digest[:2] / f"{digest}.npy"

    def get(
        self, paths: Sequence[str], views: int = 0, device: str = "cpu", batch_images: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Features of ``paths``: (N, F) for views=0, (N, V, F) for ``views`` = V augmented views.

        Missing entries are computed (in batches of ``batch_images`` images) and stored first.
        """
        digests = [file_digest(p) for p in paths]
        todo = {}
        for path, digest in zip(paths, digests):
            if digest not in todo and not self.file(digest, views).is_file():
                todo[digest] = path
        if todo:
            self._compute(list(todo.items()), views, device, batch_images, progress)
        return np.stack([np.load(self.file(d, views)) for d in digests]) if digests else np.zeros((0,))

    def _compute(self, items: list[tuple[str, str]], views: int, device: str, batch_images: int, progress: bool) -> None:
        from tqdm.auto import tqdm

        body = body_features(self.arch, self.weights, device)
        norm = normalisation(self.arch)
        mean = torch.tensor(norm.mean).view(1, 3, 1, 1)
        std = torch.tensor(norm.std).view(1, 3, 1, 1)
        bar = tqdm(total=len(items), desc=f"features {self.arch} {self.image_size}px {'plain' if views == 0 else f'{views} views'}",
                   unit="img", disable=not progress, leave=False)
        for start in range(0, len(items), batch_images):
            chunk = items[start:start + batch_images]
            images = torch.stack([load_resized(path, self.image_size) for _, path in chunk])  # uint8 (B,3,H,W)
            x = images.float() / 255.0
            if views:
                x = torch.cat([augmented_views(img, views, digest) for img, (digest, _) in zip(x, chunk)])
            feats = body(((x - mean) / std).to(device)).float().cpu().numpy()
            if views:
                feats = feats.reshape(len(chunk), views, -1)
            for (digest, _), f in zip(chunk, feats):
                atomic_save_npy(self.file(digest, views), f.astype(np.float32))
            bar.update(len(chunk))
        bar.close()


def load_resized(path: str, size: int) -> torch.Tensor:
    """One image as fastai's validation pipeline sees it: PILImage, Resize(size) centre crop, uint8 (3, size, size)."""
    from fastai.vision.all import PILImage, Resize

    img = Resize(size)(PILImage.create(open_rgb(path)), split_idx=1)
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch CPU threads, restoring the previous count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _isolated_rng(seed: int) -> Iterator[None]:
    """Run a block with Python ``random`` and torch's CPU generator seeded, restoring both afterwards."""
    state = random.getstate()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(state)


def augmented_views(image: torch.Tensor, views: int, digest: str) -> torch.Tensor:
    """``views`` augmented copies of one image float (3, H, W) in [0, 1] -> (views, 3, H, W).

    The training-time pipeline of faithful mode (fastai ``aug_transforms()`` at split 0) is
    applied to a batch of ``views`` copies; the random draw is seeded by the image's
    content hash, so a view depends on the image alone, not on the batch it is computed in.
    """
    from fastai.vision.all import TensorImage, aug_transforms

    seed = int(digest[:8], 16)
    x = TensorImage(image.unsqueeze(0).expand(views, -1, -1, -1).contiguous())
    with _isolated_rng(seed):
        for tfm in aug_transforms():
            x = tfm(x, split_idx=0)
    return torch.as_tensor(x).clamp(0.0, 1.0)


# ----------------------------------------------------------------------------- fast mode: head training
def create_head_module(n_features: int, n_out: int) -> nn.Module:
    """fastai's default ``vision_learner`` head after pooling: BN-Dropout(0.25)-Linear(512)-ReLU-BN-Dropout(0.5)-Linear.

    ``n_features`` is the concat-pooled width 2C; initialised like ``vision_learner`` (kaiming normal).
    """
    from fastai.torch_core import apply_init
    from fastai.vision.learner import create_head

    head = create_head(n_features, n_out, pool=False)
    apply_init(head, nn.init.kaiming_normal_)
    return head


def _fastai_adam(head: nn.Module, recipe: Recipe):
    """fastai's Adam over the head, with weight decay off for BatchNorm and bias parameters (fastai's default)."""
    from fastai.optimizer import Adam
    from fastai.torch_core import norm_bias_params

    opt = Adam(list(head.parameters()), lr=recipe.lr, wd=recipe.wd)
    for p in norm_bias_params(head, True):
        opt.state[p]["do_wd"] = False
    return opt


@torch.no_grad()
def _evaluate_head(head: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, accuracy and softmax probabilities (N, n_out) of the head in eval mode."""
    head.eval()
    logits = torch.cat([head(x[i:i + batch]) for i in range(0, len(x), batch)]) if len(x) else torch.zeros(0)
    loss = float(nn.functional.cross_entropy(logits, y)) if len(y) else float("nan")
    acc = float((logits.argmax(1) == y).float().mean()) if len(y) else float("nan")
    return loss, acc, logits.softmax(1)


def _label_index(table: pd.DataFrame, labels: Sequence[str]) -> torch.Tensor:
    """Class indices (N,) of ``table.label`` in ``labels`` order; unknown labels raise DataError."""
    lookup = {label: i for i, label in enumerate(labels)}
    unknown = sorted(set(table.label) - set(lookup))
    if unknown:
        raise DataError(f"label(s) {unknown} are not among the dataset's labels {list(labels)}")
    return torch.tensor([lookup[v] for v in table.label], dtype=torch.long)


def fit_fast(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    labels: Sequence[str],
    recipe: Recipe,
    seed: int,
    cache: FeatureCache | None = None,
    progress: bool = False,
) -> FitResult:
    """Train only the head on cached frozen-body features (see module docstring); same stopping rule as fastai.

    Each epoch shuffles the training rows (seeded), drops the last partial batch like
    fastai, and, with transforms on, gives every row one of its ``recipe.views`` cached
    augmented views at random. Validation and test use the plain view.
    """
    start = time.perf_counter()
    batch_size = recipe.batch_size or batch_size_rule(len(train), recipe.batch_rule)
    cache = cache or FeatureCache(recipe.arch, recipe.image_size, recipe.weights)
    views = recipe.views if recipe.transforms else 0
    x_train = torch.from_numpy(cache.get(list(train.path), views, recipe.device, progress=progress))
    x_val = torch.from_numpy(cache.get(list(val.path), 0, recipe.device, progress=progress))
    x_test = torch.from_numpy(cache.get(list(test.path), 0, recipe.device, progress=progress))
    y_train, y_val = _label_index(train, labels), _label_index(val, labels)
    t_fit = time.perf_counter()

    with torch_threads(HEAD_THREADS):
        head, history = _train_head(x_train, y_train, x_val, y_val, len(labels), batch_size, views, recipe, seed)
        t_pred = time.perf_counter()
        _, _, probs = _evaluate_head(head, x_test, torch.zeros(len(x_test), dtype=torch.long))
    t_end = time.perf_counter()
    return FitResult(
        probs=probs.float().numpy(),
        history=history,
        epochs_run=len(history),
        best_epoch=_best_epoch(history, recipe.monitor),
        batch_size=batch_size,
        n_train=len(train),
        wall_s=t_end - start,
        mode="fast",
        timings={"features_s": t_fit - start, "fit_s": t_pred - t_fit, "predict_s": t_end - t_pred},
    )


def _train_head(
    x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor, n_out: int,
    batch_size: int, views: int, recipe: Recipe, seed: int,
) -> tuple[nn.Module, list[dict[str, float]]]:
    """The fast-mode training loop: fastai's head, optimiser and stopping rule on cached features.

    ``x_train``: (N, F), or (N, V, F) with ``views`` = V augmented views per row.
    Returns the trained head (best epoch restored if asked) and the per-epoch history.
    """
    seed_everything(seed)
    rng = np.random.default_rng(int(seed))
    head = create_head_module(x_val.shape[1], n_out)
    opt = _fastai_adam(head, recipe)
    history: list[dict[str, float]] = []
    stopper, best_state = EarlyStopper(recipe.patience, recipe.monitor), None
    n_train = len(x_train)
    for epoch in range(recipe.max_epochs):
        head.train()
        order = torch.from_numpy(rng.permutation(n_train))
        pick = torch.from_numpy(rng.integers(0, views, size=n_train)) if views else None
        total, count = 0.0, 0
        for b in range(n_train // batch_size):
            idx = order[b * batch_size:(b + 1) * batch_size]
            xb = x_train[idx, pick[idx]] if views else x_train[idx]
            loss = nn.functional.cross_entropy(head(xb), y_train[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
            total, count = total + float(loss.detach()) * len(idx), count + len(idx)
        valid_loss, valid_acc, _ = _evaluate_head(head, x_val, y_val)
        history.append({"epoch": epoch, "train_loss": total / max(count, 1), "valid_loss": valid_loss, "valid_accuracy": valid_acc})
        improved, stop = stopper.update(valid_loss if recipe.monitor == "valid_loss" else valid_acc)
        if improved and recipe.restore_best:
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
        if stop:
            break
    if recipe.restore_best and best_state is not None:
        head.load_state_dict(best_state)
    return head, history


# ----------------------------------------------------------------------------- evaluation
def evaluate(probs: np.ndarray, test: pd.DataFrame, labels: Sequence[str], top: int = 3) -> tuple[pd.DataFrame, dict]:
    """Per-image top-k predictions and accuracy summaries.

    ``probs``: (N_test, n_labels) in ``labels`` order. Returns (predictions, metrics):
    predictions has image_id, label, fst, pred_1..k, prob_1..k, correct, correct_topk
    (k = min(top, n_labels)); metrics has top1, top3 (top-k accuracy), n_test, n_correct,
    n_correct_top3 and per_class / per_fst dicts of {n, correct, accuracy}.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(test), len(labels)):
        raise DataError(f"predictions have shape {probs.shape}, expected ({len(test)}, {len(labels)})")
    k = min(top, len(labels))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    names = np.asarray(labels, dtype=object)
    truth = test.label.astype(str).to_numpy()
    pred = pd.DataFrame({"image_id": test.image_id.astype(str).to_numpy(), "label": truth, "fst": test.fst.astype(int).to_numpy()})
    for j in range(k):
        pred[f"pred_{j + 1}"] = names[order[:, j]]
        pred[f"prob_{j + 1}"] = np.round(probs[np.arange(len(test)), order[:, j]], 6)
    pred["correct"] = pred["pred_1"].to_numpy() == truth
    pred["correct_top3"] = (names[order] == truth[:, None]).any(axis=1)

    def groups(column: str) -> dict[str, dict]:
        out = {}
        for value, group in pred.groupby(column, sort=True):
            out[str(value)] = {"n": int(len(group)), "correct": int(group.correct.sum()), "accuracy": float(group.correct.mean())}
        return out

    metrics = {
        "top1": float(pred.correct.mean()) if len(pred) else float("nan"),
        "top3": float(pred.correct_top3.mean()) if len(pred) else float("nan"),
        "n_test": int(len(pred)),
        "n_correct": int(pred.correct.sum()),
        "n_correct_top3": int(pred.correct_top3.sum()),
        "per_class": groups("label"),
        "per_fst": groups("fst"),
    }
    return pred, metrics


def train_and_evaluate(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    labels: Sequence[str],
    recipe: Recipe,
    seed: int,
    progress: bool = False,
) -> tuple[FitResult, pd.DataFrame, dict]:
    """Train in ``recipe.mode`` and evaluate on ``test``: (FitResult, per-image predictions, metrics).

    Tables have columns image_id, path, label, fst. The training table may hold
    synthetic rows and repeated rows (duplication); validation and test are real images.
    """
    check_arch(recipe.arch)
    for name, table in (("training", train), ("validation", val), ("test", test)):
        if len(table) == 0:
            raise DataError(f"the {name} table is empty")
    if recipe.mode == "fast":
        result = fit_fast(train, val, test, labels, recipe, seed, progress=progress)
    else:
        result = fit_faithful(train, val, test, labels, recipe, seed)
    predictions, metrics = evaluate(result.probs, test, labels)
    return result, predictions, metrics


def recipe_dict(recipe: Recipe) -> dict[str, Any]:
    """The recipe as a plain JSON-able dict."""
    return asdict(recipe)


__all__ = [
    "BATCH_RULES",
    "MODES",
    "BodyFeatures",
    "EarlyStopper",
    "FeatureCache",
    "FitResult",
    "Recipe",
    "RecipeError",
    "augmented_views",
    "batch_size_rule",
    "build_dataloaders",
    "inference_dataloader",
    "build_learner",
    "check_arch",
    "create_head_module",
    "evaluate",
    "file_digest",
    "fit_faithful",
    "fit_fast",
    "load_resized",
    "seed_everything",
    "table_digest",
    "train_and_evaluate",
]
