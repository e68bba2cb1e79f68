"""The project's fixed vocabularies, each defined once: generation methods and variants, model
kinds, classifier modes, batch rules, monitors, grid names and the demo caption.
"""

from __future__ import annotations

# The demo classifier and embedding backbone (a timm name).
LITE0_ARCH = "tf_efficientnet_lite0"

# Classifier recipe vocabularies (checked before any model is loaded; see classifier.recipe.Recipe).
MODES = ("faithful", "fast")
BATCH_RULES = ("default", "dose-response")
MONITORS = ("valid_loss", "accuracy")

# Generation: methods in pipeline order (this order sets generate()'s default and chapter 02's
# cost table), variants, the mask each method uses, and the diffusers pipeline kinds.
METHODS = ("text-to-image", "inpaint", "outpaint", "in-then-outpaint")
VARIANTS = ("pretrained", "dreambooth")
# The generator-data-budget control: DreamBooth fine-tuned on the trial's own n real images
# of each class only, instead of the class's whole training pool, with the same recipe (so fewer
# optimiser steps). Not one of chapter 02's variants: only the control grids ask for it.
BUDGET_VARIANT = "dreambooth-own"
# The same own images fine-tuned for as many optimiser steps (at the same batch size) as the class's
# whole-pool model: with BUDGET_VARIANT it separates what the generator saw from how far it was tuned.
BUDGET_STEPS_VARIANT = "dreambooth-own-steps"
BUDGET_VARIANTS = (BUDGET_VARIANT, BUDGET_STEPS_VARIANT)
# The arms of the generator-data-budget control, the untuned generator first.
BUDGET_ARMS = ("pretrained", "dreambooth") + BUDGET_VARIANTS
# Every variant a trial may name:
GENERATOR_VARIANTS = VARIANTS + BUDGET_VARIANTS
MASK_OF_METHOD = {"text-to-image": "none", "inpaint": "center", "outpaint": "outer", "in-then-outpaint": "outer"}
KINDS = ("text2image", "inpaint")
# The pipeline kind that makes a method's final image (every masked method runs the inpainting pipeline).
KIND_OF_METHOD = {
    "text-to-image": "text2image",
    "inpaint": "inpaint",
    "outpaint": "inpaint",
    "in-then-outpaint": "inpaint",
}

# The paper's named experiment grids.
GRIDS = ("fig3", "fig4", "fig5", "imbalance", "learning-curve", "controls", "imbalance-controls")

# How "no synthetic method" is written in tables.
NONE = "none"

# The caption every figure of the embedded profiles carries.
DEMO_NOTE = "Demo profile: synthetic stand-in world, not patient data"
# The caption every figure of a rehearsal build carries (the paper profile's code on a world with random weights).
REHEARSAL_NOTE = "Rehearsal: random weights, the numbers mean nothing"


def figure_note(P) -> str | None:
    """The note under every figure of a build of profile ``P``: the stand-in world, the rehearsal, or none
    (real data and models)."""
    from synthaug_utils.core.paths import rehearsal_world

    if P.is_embedded:
        return DEMO_NOTE
    return REHEARSAL_NOTE if rehearsal_world(P.locations.values()) is not None else None
