"""The seam measure, the blended paste of inpainted regions, and the class-identity gate's thresholds (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthaug_utils.data.checks import load_image_array
from synthaug_utils.diffusion import masks
from synthaug_utils.diffusion.measure import seam_energy
from synthaug_utils.diffusion.settings import GenerationSettings
from synthaug_utils.presentation.generation_prose import departures_sentence, gate_check, seam_sentences


def test_border_pairs_straddle_the_mask():
    mask = masks.center_mask(16)  # rows/cols 4..11
    inside, outside = masks.mask_border_pairs(mask)
    assert len(inside) == len(outside) == 4 * 8  # 8 pairs along each of the 4 sides
    assert mask[tuple(inside.T)].all() and not mask[tuple(outside.T)].any()
    assert (np.abs(inside - outside).sum(1) == 1).all()  # adjacent pixels


def test_blend_weights_keep_the_unmasked_pixels_and_ramp_inside():
    mask = masks.center_mask(32)
    hard = masks.blend_weights(mask, 0)
    assert np.array_equal(hard, mask.astype(np.float32))
    soft = masks.blend_weights(mask, 3)
    assert (soft[~mask] == 0).all()
    assert soft[8, 8:24].max() == pytest.approx(0.25) and soft[16, 16] == 1.0  # border ring 1/4, deep inside 1
    assert list(soft[16, 8:12]) == pytest.approx([0.25, 0.5, 0.75, 1.0])


def test_seam_energy_sees_a_hard_paste_and_the_blend_removes_it(smoke_profile):
    from synthaug_utils.data.splits import load_splits

    splits = load_splits(smoke_profile, "main", 0)
    images = load_image_array(splits.train_pool.head(24), 64)
    mask = masks.center_mask(64)
    real = seam_energy(images, mask)
    assert real > 0
    # a foreign image pasted into the centre: a seam on every border pair
    foreign = np.roll(images, 1, axis=0)
    pasted = np.where(mask[None, :, :, None], foreign, images)
    assert seam_energy(pasted, mask) / real > 1.5
    w = masks.blend_weights(mask, 4)[None, :, :, None]
    blended = np.round(w * foreign + (1 - w) * images).astype(np.uint8)
    assert seam_energy(blended, mask) < seam_energy(pasted, mask)
    assert np.array_equal(blended[:, ~mask], images[:, ~mask])  # unmasked pixels stay the source's


def test_blend_setting_changes_the_generation_key_only_when_used():
    base = GenerationSettings()
    assert GenerationSettings(paste_blend_px=0).key() == base.key()
    assert GenerationSettings(paste_blend_px=4).key() != base.key()


def _rows(accuracies: dict[str, float], n: int = 20) -> pd.DataFrame:
    return pd.DataFrame([{"group": "t2i", "label": k, "accuracy": v, "n": n} for k, v in accuracies.items()])


def test_gate_needs_every_class_and_the_pooled_share():
    met, text = gate_check(_rows({"a": 0.5, "b": 0.4, "c": 0.45}), "t2i")
    assert met and "weakest class b 40%" in text
    met, text = gate_check(_rows({"a": 0.9, "b": 0.25, "c": 0.9}), "t2i")
    assert not met and "1 class below 30% (b)" in text
    met, text = gate_check(_rows({"a": 0.31, "b": 0.35, "c": 0.40}), "t2i")
    assert not met and "pooled share below 45%" in text
    assert gate_check(_rows({"a": 0.9}), "other")[0] is False


def test_seam_sentences_name_the_largest_ratio_and_the_pairs_over_the_limit():
    from synthaug_utils.diffusion.measure import SEAM_LIMIT

    ratios = [0.9 * SEAM_LIMIT, 0.5 * SEAM_LIMIT]
    seams = pd.DataFrame(
        {"method": ["inpaint", "outpaint"], "variant": ["pretrained", "dreambooth"], "seam_ratio": ratios}
    )
    within = seam_sentences(seams)
    assert within["seam_max"] == f"{ratios[0]:.2f} (inpaint, pretrained)"
    assert within["seam_verdict"].startswith("every masked method stays within")
    over = seam_sentences(seams.assign(seam_ratio=[SEAM_LIMIT + 1, SEAM_LIMIT + 2]))
    assert over["seam_verdict"].startswith("2 method/variant pair(s) exceed")
    assert "(outpaint, dreambooth)" in over["seam_max"]
    assert seam_sentences(seams.iloc[0:0]) == {"seam_max": "n/a", "seam_verdict": "not measured"}


def test_departures_sentence_says_where_a_profile_leaves_the_papers_settings():
    from types import SimpleNamespace

    from synthaug_utils.core.config import load_profile
    from synthaug_utils.diffusion.settings import generation_settings

    paper = load_profile("paper")

    def chapter(profile):
        return SimpleNamespace(
            profile=profile, settings=generation_settings(profile), paper_settings=generation_settings(paper)
        )

    smoke = load_profile("smoke")
    text = departures_sentence(chapter(smoke))
    assert text.startswith("Where the smoke profile departs") and f"{generation_settings(smoke).steps} sampling" in text
    assert departures_sentence(chapter(paper)) == "The paper profile samples with the paper's settings."
