"""Planning a generation run: one task per (source, method, variant, index)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from synthaug_utils.core.errors import DataError, UserFacingError
from synthaug_utils.core.vocabulary import GENERATOR_VARIANTS, MASK_OF_METHOD, METHODS
from synthaug_utils.diffusion.prompts import derive_seed, prompt_for, prompt_label, slug
from synthaug_utils.diffusion.settings import GenerationSettings


# ----------------------------------------------------------------------------- planning
@dataclass
class _Task:
    """One image to make. ``input_path``: the real source (masked methods) or an upstream synthetic image."""

    path: str  # relative to the output folder
    kind: str  # 'text2image' or 'inpaint'
    model_key: tuple  # (variant, kind, model group)
    prompt: str
    seed: int
    mask: str
    strength: float
    input_path: str | None = None
    upstream: str | None = None  # relative path of the image this task starts from (stage 2)


def _image_path(variant: str, method_dir: str, index: int, source_id: str) -> str:
    return f"images/{variant}/{method_dir}/{index:03d}/{slug(source_id)}.png"


def plan_generation(
    sources: pd.DataFrame,
    methods: Sequence[str],
    variants: Sequence[str],
    per_real: int,
    settings: GenerationSettings,
    model_group: Callable[[Mapping[str, Any]], str] = lambda row: "all",
) -> tuple[list[_Task], pd.DataFrame]:
    """Tasks to run and the manifest rows they produce (model ids and hashes filled in later).

    ``model_group(row)`` names the DreamBooth model a source's images come from
    (its label for per-class models, 'all' for one model on every image).
    """
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise UserFacingError(f"unknown method(s) {bad}; choose from {list(METHODS)}")
    bad = [v for v in variants if v not in GENERATOR_VARIANTS]
    if bad:
        raise UserFacingError(f"unknown variant(s) {bad}; choose from {list(GENERATOR_VARIANTS)}")
    need = {"image_id", "label", "fst"} | ({"path"} if set(methods) - {"text-to-image"} else set())
    missing = sorted(need - set(sources.columns))
    if missing:
        raise DataError(f"source table lacks column(s) {missing}")
    if sources.image_id.duplicated().any():
        raise DataError(f"source image {sources.image_id[sources.image_id.duplicated()].iloc[0]!r} is listed twice")
    tasks: dict[str, _Task] = {}
    rows: list[dict] = []
    strength = {"inpaint": settings.strength_inpaint, "outpaint": settings.strength_outpaint}
    for record in sources.to_dict("records"):
        source_id = str(record["image_id"])
        fst = int(record["fst"])
        prompt = prompt_for(prompt_label(record), fst if settings.fst_in_prompt else None, settings.prompt_template)
        group = model_group(record)
        for variant in variants:
            for method in methods:
                for index in range(per_real):
                    base = dict(
                        source_id=source_id,
                        label=record["label"],
                        fst=fst,
                        method=method,
                        variant=variant,
                        index=index,
                        steps=settings.steps,
                        guidance_scale=settings.guidance_scale,
                        resolution=settings.resolution,
                        prompt=prompt,
                    )
                    if method == "text-to-image":
                        seed = derive_seed(source_id, method, variant, index)
                        path = _image_path(variant, method, index, source_id)
                        tasks[path] = _Task(
                            path, "text2image", (variant, "text2image", group), prompt, seed, "none", 1.0
                        )
                        rows.append(
                            {**base, "stage": "final", "seed": seed, "strength": 1.0, "mask": "none", "path": path}
                        )
                        continue
                    first = "outpaint" if method == "outpaint" else "inpaint"
                    seed1 = derive_seed(source_id, first, variant, index)
                    path1 = _image_path(variant, first, index, source_id)
                    mask1 = MASK_OF_METHOD[first]
                    tasks[path1] = _Task(
                        path1,
                        "inpaint",
                        (variant, "inpaint", group),
                        prompt,
                        seed1,
                        mask1,
                        strength[first],
                        input_path=str(record["path"]),
                    )
                    stage1 = {**base, "seed": seed1, "strength": strength[first], "mask": mask1, "path": path1}
                    if method != "in-then-outpaint":
                        rows.append({**stage1, "stage": "final"})
                        continue
                    rows.append({**stage1, "stage": "inpaint"})
                    seed2 = derive_seed(source_id, method, variant, index)
                    path2 = _image_path(variant, method, index, source_id)
                    tasks[path2] = _Task(
                        path2,
                        "inpaint",
                        (variant, "inpaint", group),
                        prompt,
                        seed2,
                        "outer",
                        settings.strength_outpaint,
                        upstream=path1,
                    )
                    rows.append(
                        {
                            **base,
                            "stage": "final",
                            "seed": seed2,
                            "strength": settings.strength_outpaint,
                            "mask": "outer",
                            "path": path2,
                        }
                    )
    table = pd.DataFrame(rows)
    if len(table):
        table["synthetic_id"] = [
            f"{r.variant}/{r.method}/{r.stage}/{r.index:03d}/{r.source_id}" for r in table.itertuples()
        ]
    return list(tasks.values()), table
