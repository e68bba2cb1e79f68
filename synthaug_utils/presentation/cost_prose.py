"""The sentences on what a paper build costs: the estimate's assumptions (``benchmarks/paper_gpu.py``'s
report) and which synthetic source a build used and what the authors' released images save (the Methods page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthaug_utils.analysis.paper_cost import DEFAULT_EPOCHS_PER_TRIAL, benchmark_table, format_hours, source_saving
from synthaug_utils.analysis.paper_workload import PAPER_GRIDS, paper_generation, paper_trials
from synthaug_utils.synthetic.sets import RELEASED_LOCATION, synthetic_source


def assumptions_text(epochs_per_trial: float = DEFAULT_EPOCHS_PER_TRIAL) -> str:
    """The estimate's assumptions, with the counts of a paper build
    (:func:`~synthaug_utils.analysis.paper_workload.paper_generation`,
    :func:`~synthaug_utils.analysis.paper_workload.paper_trials`)."""
    images, models = paper_generation()
    per_method = images.groupby("method", sort=False).images.sum()
    methods = ", ".join(f"{n:,} {m}" for m, n in per_method.items())
    own = models[models.source == "own images"]
    pool = models[models.source == "whole pool"]
    return (
        "Assumptions of the estimate (`synthaug_utils.analysis.paper_cost`): the synthetic images a paper build "
        f"generates, control arms included ({int(images.images.sum()):,}: {methods}; every augmented real image "
        "gets the largest ratio any trial asks of it, once for every validation redraw where its images do not "
        "depend on the split), counted on stand-in tables of the paper's sizes; in-then-outpaint charged both "
        f"passes (its set makes its own inpainting stage); DreamBooth at batch 4: {len(pool)} models on each label's "
        "clean training file for 4 epochs (the DDI model on 560 images for 25 epochs) and "
        f"{len(own)} models on a control trial's own images; classifier: every distinct trial of `build_grid` "
        f"{', '.join(PAPER_GRIDS)} for the paper profile ({len(paper_trials()):,}), {epochs_per_trial:g} epochs per "
        "trial (early stopping, patience 3: real runs stop at 4-30), each epoch a training pass at the authors' "
        "batch rule plus a validation pass, then one test pass; embeddings of every real (3,699 + 656) and "
        "synthetic image; one device, stages in sequence, no data-loading workers beyond what the recipe uses."
    )


def synthetic_source_sentence(profile: Any, csv_path: str | Path | None = None) -> str:
    """Which synthetic source a build used and what the authors' released images save (or saved) a paper
    build: one paragraph for the Methods page."""
    if profile.is_embedded:
        return (
            "This build generated its synthetic images with the demo generator. A paper build may instead take "
            f"them from the authors' released images (location `{RELEASED_LOCATION}`)."
        )
    facts = source_saving(csv_path if csv_path is not None else benchmark_table())
    saved = f"{facts['images']:,} images and {facts['models']} DreamBooth models"
    hours = (
        f", saving {format_hours(facts['hours_saved'])} of the {format_hours(facts['hours_generated'])} a build "
        f"that generates every image takes ({facts['device']}; `benchmarks/paper_gpu_results.csv`)"
        if "hours_saved" in facts
        else ""
    )
    if synthetic_source(profile) == "released":
        where = profile.locations[RELEASED_LOCATION]
        return (
            f"This build took the pretrained and DreamBooth images of Figs. 3-5 and S-2 from the authors' released "
            f"images (`{RELEASED_LOCATION}` = `{where}`) instead of generating them: {saved} it did not generate or "
            f"fine-tune{hours}. It generated only the {facts['generated']:,} images of the arms the release holds "
            "none of (DreamBooth on a trial's own images)."
        )
    return (
        "This build generated its synthetic images. Setting the location "
        f"`{RELEASED_LOCATION}` to the authors' released shards would take {saved} from the release instead{hours}."
    )


def synthetic_source_markdown(profile: Any) -> str:
    """The Methods page's section on the synthetic source (:func:`synthetic_source_sentence`)."""
    return f"## Synthetic images\n\n{synthetic_source_sentence(profile)}\n"
