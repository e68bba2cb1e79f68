"""Frozen-body features, their cache and augmented views for the fast mode."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from synthaug_utils.core.backbones import create_classifier_net, normalisation
from synthaug_utils.core.files import atomic_save_npy, file_digest
from synthaug_utils.core.paths import cache_dir
from synthaug_utils.data.images import open_rgb

FEATURE_FORMAT = "v1"  # bump when the cached feature layout or the view pipeline changes


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

    def _compute(
        self, items: list[tuple[str, str]], views: int, device: str, batch_images: int, progress: bool
    ) -> None:
        from tqdm.auto import tqdm

        body = body_features(self.arch, self.weights, device)
        norm = normalisation(self.arch)
        mean = torch.tensor(norm.mean).view(1, 3, 1, 1)
        std = torch.tensor(norm.std).view(1, 3, 1, 1)
        bar = tqdm(
            total=len(items),
            desc=f"features {self.arch} {self.image_size}px {'plain' if views == 0 else f'{views} views'}",
            unit="img",
            disable=not progress,
            leave=False,
        )
        for start in range(0, len(items), batch_images):
            chunk = items[start : start + batch_images]
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
