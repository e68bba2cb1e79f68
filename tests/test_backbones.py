"""The demo classifier's packaged ImageNet weights load correctly into timm's tf_efficientnet_lite0."""

import numpy as np
import pytest
import torch

from synthaug_utils.core import backbones
from synthaug_utils.core.errors import MissingModelError


def test_lite0_weights_give_correct_imagenet_predictions():
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    model = backbones.create_classifier_net(backbones.LITE0_ARCH).eval()
    norm = backbones.normalisation(backbones.LITE0_ARCH)
    cases = {"chelsea": {281, 282, 283, 284, 285, 287}, "coffee": {967, 968, 504}}  # cats; espresso/cup
    for name, allowed in cases.items():
        img = Image.fromarray(getattr(skimage_data, name)()).resize((224, 224))
        x = torch.tensor(np.asarray(img)).permute(2, 0, 1).float()[None] / 255
        x = (x - torch.tensor(norm.mean)[:, None, None]) / torch.tensor(norm.std)[:, None, None]
        with torch.no_grad():
            top = model(x).argmax(1).item()
        assert top in allowed, (name, top)


def test_feature_extractor_returns_pooled_features():
    model = backbones.create_feature_extractor(backbones.LITE0_ARCH).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 64, 64))
    assert out.shape == (2, 1280)


def test_missing_torchvision_weights_say_how_to_supply_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingModelError, match="SYNTHAUG_CLASSIFIER_WEIGHTS"):
        backbones.create_classifier_net("efficientnet_v2_m")
    with pytest.raises(MissingModelError, match="unknown architecture 'resnet9000'"):
        backbones.create_classifier_net("resnet9000")
