"""The project's fixed vocabularies, each defined once: generation methods and variants, modes, batch rules, monitors, grid names.
"""
from __future__ import annotations



# The demo classifier and embedding backbone (a timm name).
LITE0_ARCH = "tf_efficientnet_lite0"


# Classifier recipe vocabularies (checked before any model is loaded; see training.Recipe).
MODES = ("faithful", "fast")


BATCH_RULES = ("default", "dose-response")


MONITORS = ("valid_loss", "accuracy")


METHODS = ("text-to-image", "inpaint", "outpaint", "in-then-outpaint")


VARIANTS = ("pretrained", "dreambooth")


MASK_OF_METHOD = {"text-to-image": "none", "inpaint": "center", "outpaint": "outer", "in-then-outpaint": "outer"}


KINDS = ("text2image", "inpaint")


GRIDS = ("fig3", "fig4", "fig5", "imbalance", "learning-curve")


NONE = "none"


DEMO_NOTE = "Demo profile: synthetic stand-in world, not patient data"
