"""Image embeddings for Figure 2 / S-3 and the synthetic-set quality metrics, cached per image.

Model names (``profile.embedding_model`` by default):

``demo-backbone``
    Pooled features (1280-d) of the ImageNet-pretrained EfficientNet-Lite0 from
    :func:`synthaug_utils.core.backbones.create_feature_extractor`, at the profile's classifier
    image size (64 px in the demo profile). Offline, always available.
``open_clip:ARCH/TAG``  (paper profile: ``open_clip:ViT-B-32/openai``, 512-d)
    An open_clip image encoder with its own preprocessing (224 px, bicubic, CLIP mean/std).
    Weights come, offline only, from (in this order) the ``weights`` argument, the profile
    location ``clip_weights`` / ``$SYNTHAUG_CLIP_WEIGHTS`` when it is a file path, the
    Hugging Face cache, or open_clip's URL cache ``~/.cache/clip``. ``open_clip:ARCH`` with a
    ``weights`` file loads any architecture open_clip knows.
``timm:NAME``
    Pooled features of a timm (or torchvision) model via
    :func:`synthaug_utils.core.backbones.create_feature_extractor`; ``weights`` = a local
    checkpoint file (``timm:tf_efficientnet_lite0`` needs none).

:func:`embed_images` returns ``float32`` arrays ``(N, D)`` with L2-normalised rows, in input
order. Each image's embedding is cached under ``config.cache_dir()/embeddings/<model key>/``
as ``<sha256 of the file bytes>.npy``; the model key combines the model name, the weights
file (name and size) and the input image size, so a changed image, model or size is
recomputed and an unchanged one is read back without loading the model.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from synthaug_utils.core.config import Profile
from synthaug_utils.core.errors import MissingImagesError, MissingModelError
from synthaug_utils.core.files import array_cache_path, atomic_save_npy, file_digest
from synthaug_utils.core.paths import cache_dir

DEMO_BACKBONE = "demo-backbone"
OPEN_CLIP_PREFIX = "open_clip:"
TIMM_PREFIX = "timm:"
HF_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

__all__ = [
    "DEMO_BACKBONE",
    "EmbeddingModelSpec",
    "resolve_model",
    "resolve_open_clip_weights",
    "load_embedder",
    "embed_images",
    "embedding_cache_folder",
    "embed_arrays",
]


@dataclass(frozen=True)
class EmbeddingModelSpec:
    """A resolved embedding model: what to load and the key its cached embeddings live under.

    ``kind`` is "demo", "open_clip" or "timm"; ``arch`` the architecture; ``tag`` the
    open_clip pretrained tag (or None); ``weights`` a local checkpoint path (or None);
    ``image_size`` the input side in px (open_clip: the model's own, filled in on load).
    """

    name: str
    kind: str
    arch: str
    tag: str | None
    weights: str | None
    image_size: int | None

    def cache_key(self) -> str:
        """Folder name for this model's cache: readable prefix + hash of everything that matters."""
        weights_id = ""
        if self.weights:
            path = Path(self.weights)
            weights_id = f"{path.name}:{path.stat().st_size}"
        full = f"{self.name}|{self.tag}|{weights_id}|{self.image_size}"
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.name}-{self.image_size}px")
        return f"{readable}-{hashlib.sha256(full.encode()).hexdigest()[:12]}"


def resolve_open_clip_weights(arch: str, tag: str | None, weights: str | os.PathLike | None = None) -> Path:
    """Local checkpoint file for an open_clip model, offline only.

    Looks at ``weights`` (a file path), then, for a known pretrained ``tag``, the Hugging
    Face cache (``huggingface_hub.try_to_load_from_cache``) and open_clip's URL download
    folder ``~/.cache/clip``.

    Raises:
        MissingModelError: naming the model, the places searched and how to supply the file.
    """
    import open_clip

    model = f"open_clip {arch!r}" + (f" with {tag!r} weights" if tag else "")
    if arch not in open_clip.list_models():
        raise MissingModelError(f"{model}: unknown open_clip architecture; known e.g. ViT-B-32, ViT-B-16")
    if weights:
        path = Path(weights).expanduser()
        if path.is_file():
            return path
        raise MissingModelError(f"{model}: weights file {path} does not exist")
    if not tag:
        raise MissingModelError(f"{model}: no pretrained tag and no weights file given")
    cfg = open_clip.pretrained.get_pretrained_cfg(arch, tag)
    if not cfg:
        raise MissingModelError(
            f"{model}: unknown tag; open_clip knows {open_clip.list_pretrained_tags_by_model(arch)}"
        )
    searched = []
    hf = cfg.get("hf_hub", "")
    if hf:
        from huggingface_hub import try_to_load_from_cache

        repo, filename = os.path.split(hf)  # "org/name/" -> default file names
        for name in [filename] if filename else HF_WEIGHT_FILES:
            hit = try_to_load_from_cache(repo, name)
            if isinstance(hit, str):
                return Path(hit)
        searched.append(f"the Hugging Face cache (repo {repo})")
    url = cfg.get("url", "")
    if url:
        candidate = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        if candidate.is_file():
            return candidate
        searched.append(str(candidate))
    source = f"repo {repo} on the Hugging Face hub" if hf else url
    raise MissingModelError(
        f"{model} is not available offline (searched {', '.join(searched)}). Supply it: download "
        f"the checkpoint on a machine with internet ({source}"
        + (f", or {url}" if hf and url else "")
        + "), then set SYNTHAUG_CLIP_WEIGHTS (or clip_weights in the config file) to the file's path, "
        "or pass weights=PATH, or copy the Hugging Face cache folder here "
        f"(huggingface-cli download {repo if hf else '<repo>'})."
    )


def resolve_model(
    model_name: str | None,
    profile: Profile,
    weights: str | os.PathLike | None = None,
    image_size: int | None = None,
) -> EmbeddingModelSpec:
    """Parse a model name (see module doc) into an :class:`EmbeddingModelSpec`; finds weights offline.

    ``model_name`` defaults to ``profile.embedding_model``; ``image_size`` (px) defaults to
    ``profile.image_size`` for the demo and timm backbones.

    Raises:
        MissingModelError: unknown name, or weights not available offline.
    """
    name = model_name or profile.embedding_model
    size = int(image_size or profile.image_size)
    if name == DEMO_BACKBONE:
        from synthaug_utils.core.vocabulary import LITE0_ARCH

        return EmbeddingModelSpec(name, "demo", LITE0_ARCH, None, None, size)
    if name.startswith(TIMM_PREFIX):
        arch = name[len(TIMM_PREFIX) :]
        path = str(Path(weights).expanduser()) if weights else None
        if path and not Path(path).is_file():
            raise MissingModelError(f"timm model {arch!r}: weights file {path} does not exist")
        return EmbeddingModelSpec(name, "timm", arch, None, path, size)
    if name.startswith(OPEN_CLIP_PREFIX):
        arch, _, tag = name[len(OPEN_CLIP_PREFIX) :].partition("/")
        if weights is None:
            location = profile.locations.get("clip_weights", "")
            if location and "://" not in location:
                weights = location
        path = resolve_open_clip_weights(arch, tag or None, weights)
        return EmbeddingModelSpec(name, "open_clip", arch, tag or None, str(path), None)
    raise MissingModelError(
        f"unknown embedding model {name!r}; use {DEMO_BACKBONE!r}, 'open_clip:ARCH/TAG' "
        "(e.g. open_clip:ViT-B-32/openai) or 'timm:NAME'"
    )


@dataclass
class Embedder:
    """A loaded model: ``preprocess`` (PIL RGB -> tensor (3, H, W)) and ``encode`` ((N, 3, H, W) -> (N, D))."""

    spec: EmbeddingModelSpec
    preprocess: Callable
    encode: Callable
    device: str


def _backbone_embedder(spec: EmbeddingModelSpec, device: str) -> Embedder:
    import torch
    from torchvision import transforms

    from synthaug_utils.core.backbones import create_feature_extractor, normalisation

    weights = spec.weights if spec.kind == "timm" else None
    net = create_feature_extractor(spec.arch, pretrained=True, weights=weights).eval().to(device)
    norm = normalisation(spec.arch)
    preprocess = transforms.Compose(
        [
            transforms.Resize(spec.image_size),  # shorter side, px
            transforms.CenterCrop(spec.image_size),
            transforms.ToTensor(),
            transforms.Normalize(norm.mean, norm.std),
        ]
    )

    def encode(batch: torch.Tensor) -> torch.Tensor:
        return net(batch.to(device))

    return Embedder(spec, preprocess, encode, device)


def _open_clip_embedder(spec: EmbeddingModelSpec, device: str) -> Embedder:
    import open_clip

    cfg = open_clip.pretrained.get_pretrained_cfg(spec.arch, spec.tag) if spec.tag else {}
    try:
        # a file path (not the tag) is passed, so the tag's QuickGELU flag and preprocessing
        # (mean, std, interpolation, resize mode) are set here as open_clip would for the tag
        model, _, preprocess = open_clip.create_model_and_transforms(
            spec.arch,
            pretrained=spec.weights,
            force_quick_gelu=bool(cfg.get("quick_gelu", False)),
            image_mean=cfg.get("mean"),
            image_std=cfg.get("std"),
            image_interpolation=cfg.get("interpolation"),
            image_resize_mode=cfg.get("resize_mode"),
            device=device,
        )
    except TypeError:
        raise
    except Exception as exc:  # corrupt or mismatched checkpoint
        raise MissingModelError(f"open_clip {spec.arch!r}: cannot load weights file {spec.weights}: {exc}") from exc
    model.eval()

    def encode(batch):
        return model.encode_image(batch.to(device))

    return Embedder(spec, preprocess, encode, device)


@lru_cache(maxsize=2)
def _load_cached(spec: EmbeddingModelSpec, device: str) -> Embedder:
    if spec.kind == "open_clip":
        return _open_clip_embedder(spec, device)
    return _backbone_embedder(spec, device)


def load_embedder(spec: EmbeddingModelSpec, device: str = "cpu") -> Embedder:
    """Load (and keep, two at a time) the model of ``spec`` on ``device``."""
    return _load_cached(spec, device)


def embedding_cache_folder(spec: EmbeddingModelSpec) -> Path:
    """``config.cache_dir()/embeddings/<model key>``; created on demand."""
    folder = cache_dir() / "embeddings" / spec.cache_key()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _cache_file(folder: Path, digest: str) -> Path:
    return folder / digest[:2] / f"{digest}.npy"


def _read_cached(path: Path) -> np.ndarray | None:
    try:
        vec = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return vec if vec.ndim == 1 and vec.dtype == np.float32 else None


def _paths_of(images) -> list[str]:
    """Image paths from a DataFrame with a ``path`` column, or an iterable of paths."""
    if hasattr(images, "columns"):
        if "path" not in images.columns:
            raise MissingImagesError("embed_images: the table has no 'path' column")
        return [str(p) for p in images["path"]]
    if isinstance(images, (str, os.PathLike)):
        return [str(images)]
    return [str(p) for p in images]


def _check_exist(paths: Sequence[str]) -> None:
    missing = [p for p in dict.fromkeys(paths) if not Path(p).is_file()]
    if missing:
        raise MissingImagesError(f"{len(missing)} image file(s) to embed are missing, e.g. {missing[:3]}")


def embed_uncached(embedder: Embedder, paths: Sequence[str], batch_size: int, progress: bool) -> np.ndarray:
    """Embed images (no cache): float32 (len(paths), D), rows L2-normalised."""
    import torch
    from tqdm.auto import tqdm

    from synthaug_utils.data.images import open_rgb

    out = []
    batches = range(0, len(paths), batch_size)
    for start in tqdm(
        batches, desc=f"embedding ({embedder.spec.name})", unit="batch", disable=not progress or len(batches) < 2
    ):
        tensors = []
        for p in paths[start : start + batch_size]:
            try:
                tensors.append(embedder.preprocess(open_rgb(p)))
            except OSError as exc:
                raise MissingImagesError(f"cannot read image {p}: {exc}") from exc
        with torch.no_grad():
            feats = embedder.encode(torch.stack(tensors)).float()
            feats = torch.nn.functional.normalize(feats, dim=1)
        out.append(feats.cpu().numpy().astype(np.float32))
    return np.concatenate(out, axis=0)


def embed_images(
    images,
    model_name: str | None,
    profile: Profile,
    *,
    weights: str | os.PathLike | None = None,
    image_size: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
    use_cache: bool = True,
    progress: bool = True,
) -> np.ndarray:
    """L2-normalised image embeddings, float32 ``(N, D)``, row i for ``images[i]``.

    Args:
        images: a DataFrame with a ``path`` column (image table or manifest), or paths.
        model_name: see the module doc; default ``profile.embedding_model``.
        profile: the profile: default model, image size
            (px, for the demo/timm backbones), device and the ``clip_weights`` location.
        weights: explicit checkpoint file for open_clip / timm models.
        image_size: override the backbone input side in px.
        batch_size: images per forward pass.
        device: "cpu" or "cuda"; default the profile's device when available, else "cpu".
        use_cache: read and write the per-image cache (see module doc).
        progress: tqdm progress bar over batches.

    Raises:
        MissingImagesError: files missing or unreadable (count and first paths named).
        MissingModelError: the model or its weights are not available offline.
    """
    paths = _paths_of(images)
    _check_exist(paths)
    spec = resolve_model(model_name, profile, weights, image_size)
    if device is None:
        device = _default_device(profile)
    if not paths:
        return np.zeros((0, 0), dtype=np.float32)
    if not use_cache:
        return embed_uncached(load_embedder(spec, device), paths, batch_size, progress)
    folder = embedding_cache_folder(spec)
    digests = [file_digest(p, algorithm="sha256") for p in paths]
    found: dict[str, np.ndarray] = {}
    for digest in dict.fromkeys(digests):
        vec = _read_cached(_cache_file(folder, digest))
        if vec is not None:
            found[digest] = vec
    todo = {d: p for d, p in zip(digests, paths) if d not in found}  # one path per new digest
    if todo:
        fresh = embed_uncached(load_embedder(spec, device), list(todo.values()), batch_size, progress)
        for digest, vec in zip(todo, fresh):
            atomic_save_npy(_cache_file(folder, digest), vec)
            found[digest] = vec
    return np.stack([found[d] for d in digests]).astype(np.float32, copy=False)


def _default_device(profile: Profile) -> str:
    if profile.device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return profile.device
    return "cpu"


# ----------------------------------------------------------------------------- in-memory arrays
def embed_arrays(
    images: np.ndarray, arch: str = "tf_efficientnet_lite0", batch_size: int = 256, cache: bool = False
) -> np.ndarray:
    """Pooled features of the frozen, ImageNet-pretrained ``arch``: uint8 (N, H, W, 3) -> float32 (N, D).

    Used to ask whether generated images show their class (a yardstick classifier on real
    images labels them). The images may be arrays that exist nowhere on disk, so ``cache``
    keys the result by a hash of the array's bytes and ``arch`` (``<cache>/image_features``).
    Unlike :func:`embed_images` (files, resized and centre-cropped, L2-normalised, cached per
    file), the arrays go through the backbone as they are and the features are not normalised:
    the class-identity gate's classifiers are trained on exactly these features.
    """
    import torch

    from synthaug_utils.core.backbones import create_feature_extractor, normalisation

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"embed_arrays: expected uint8 (N, H, W, 3) images, got {images.dtype} {images.shape}")
    path = array_cache_path("image_features", [images], f"{arch}", "features", "npy") if cache else None
    if path is not None and path.is_file():
        return np.load(path)
    extractor = create_feature_extractor(arch).eval()
    norm = normalisation(arch)
    mean = torch.tensor(norm.mean).view(1, 3, 1, 1)
    std = torch.tensor(norm.std).view(1, 3, 1, 1)
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch_size])).permute(0, 3, 1, 2).float() / 255.0
            out.append(extractor((x - mean) / std).float().numpy())
    features = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
    if path is not None:
        atomic_save_npy(path, features)
    return features
