"""Chapter 02's steps (generation), one function per step, each returning values ready to plot or
glue: the profile's generation settings, the generator's record, the chapter's synthetic sets, the
mask-geometry and sample-grid images, the class-identity gate, mask fidelity and generation cost.

The notebook calls them in this order; each reads what the earlier ones put on the
:class:`GenerationChapter`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthaug_utils.analysis.class_identity import (
    GATE_MIN_CLASS,
    GATE_MIN_POOLED,
    class_identity_gate,
)
from synthaug_utils.analysis.embeddings import embed_arrays
from synthaug_utils.analysis.stats import wald_interval
from synthaug_utils.core.config import Profile, generation_chapter_sizes, load_profile
from synthaug_utils.core.inputs import check_ready
from synthaug_utils.core.vocabulary import KINDS, METHODS, VARIANTS, figure_note
from synthaug_utils.data.checks import load_image_array
from synthaug_utils.data.images import load_image
from synthaug_utils.data.splits import load_splits
from synthaug_utils.diffusion.dreambooth import dreambooth_dir, dreambooth_settings
from synthaug_utils.diffusion.masks import frame_width, mask_for
from synthaug_utils.diffusion.measure import (
    SEAM_LIMIT,
    mask_fidelity,
    seam_ratios,
    vae_roundtrip,
)
from synthaug_utils.diffusion.pipelines import load_pipeline, locate_model, model_hash, model_label
from synthaug_utils.diffusion.settings import GenerationSettings, generation_settings, precision_label

PAPER_NEEDS = ("f17k_metadata", "f17k_splits", "f17k_images", "sd_text2image", "sd_inpaint")


@dataclass
class GenerationChapter:
    """What chapter 02's steps work from: the profile, its splits and settings, the chapter's sizes
    (:func:`core.config.generation_chapter_sizes`), then the sources and synthetic sets of :func:`make_sets`."""

    profile: Profile
    note: str | None
    splits: Any
    settings: GenerationSettings
    paper_settings: GenerationSettings
    sizes: Mapping[str, int]
    t2i_sources: pd.DataFrame | None = None
    masked_sources: pd.DataFrame | None = None
    manifests: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)

    def load(self, path: str) -> np.ndarray:
        """One image at the generation resolution, uint8 (H, W, 3)."""
        return np.asarray(load_image(path, self.settings.resolution))

    def array(self, paths: Iterable[str]) -> np.ndarray:
        """Images at the generation resolution, uint8 (N, H, W, 3)."""
        return load_image_array(pd.DataFrame({"path": list(paths)}), self.settings.resolution)


def setup(P: Profile, split_seed: int = 0) -> tuple[GenerationChapter, dict[str, Any]]:
    """The chapter's profile, splits and settings, and the settings' glue values (``gen_*``)."""
    if not P.is_embedded:
        check_ready(P, needs=PAPER_NEEDS)
    splits = load_splits(P, "main", split_seed)
    settings = generation_settings(P)
    paper_settings = generation_settings(load_profile("paper"))
    chapter = GenerationChapter(P, figure_note(P), splits, settings, paper_settings, generation_chapter_sizes(P))
    db = dreambooth_settings(P)
    facts = {
        "gen_profile": P.name,
        "gen_steps": settings.steps,
        "gen_guidance": settings.guidance_scale,
        "gen_resolution": settings.resolution,
        "gen_precision": precision_label(P, settings),
        "gen_t2i_model": model_label(P.text2image_model),
        "gen_inpaint_model": model_label(P.inpaint_model),
        "gen_db_epochs": db.epochs,
        "gen_db_lr": float(db.learning_rate),
        "gen_paper_steps": paper_settings.steps,
        "gen_paper_resolution": paper_settings.resolution,
        "gen_paper_guidance": paper_settings.guidance_scale,
    }
    return chapter, facts


def generator_record(chapter: GenerationChapter) -> dict[str, Any]:
    """The demo generator's pretraining record (its ``synthaug_demo.json``, found by
    :func:`~synthaug_utils.diffusion.pipelines.locate_model`, which never trains); empty for a real
    profile's generators."""
    P, demo_meta = chapter.profile, {}
    if P.is_embedded:
        meta_file = locate_model(P.inpaint_model, P) / "synthaug_demo.json"  # written last: the whole run's record
        demo_meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    return demo_meta


def make_sets(chapter: GenerationChapter, sets: tuple[pd.DataFrame, pd.DataFrame, dict]) -> dict[str, int]:
    """Keeps the chapter's synthetic sets on ``chapter``: ``sets`` = (text-to-image sources, masked-method
    sources, {(method, variant): manifest rows}) as made by
    :func:`~synthaug_utils.experiments.chapters.generation_sets`; glue values ``gen_t2i_sources``,
    ``gen_masked_sources``."""
    chapter.t2i_sources, chapter.masked_sources, manifests = sets
    chapter.manifests.update(manifests)
    return {"gen_t2i_sources": chapter.sizes["gate_per_class"], "gen_masked_sources": chapter.sizes["masked_per_class"]}


def mask_geometry(chapter: GenerationChapter, variant: str = "dreambooth") -> tuple[tuple, dict[str, int]]:
    """Fig. 1B's inputs (source image, masks, outputs of each method for that source) and the frame's
    glue values (``gen_frame_px``, ``gen_frame_ref``)."""
    settings, example = chapter.settings, chapter.masked_sources.iloc[0]

    def pick(method: str, stage: str = "final") -> np.ndarray:
        rows = chapter.manifests[method, variant]
        return chapter.load(rows[(rows.source_id == example.image_id) & (rows.stage == stage)].iloc[0].path)

    t2i_rows = chapter.manifests["text-to-image", variant]
    t2i_example = chapter.load(t2i_rows[t2i_rows.label == example.label].iloc[0].path)
    source = chapter.load(example.path)
    masks = {"inpaint (centre)": mask_for("center", settings), "outpaint (outer)": mask_for("outer", settings)}
    outputs = {
        "inpaint": pick("inpaint"),
        "outpaint": pick("outpaint"),
        "in-then-outpaint\nstage 1": pick("in-then-outpaint", "inpaint"),
        "in-then-outpaint\nfinal": pick("in-then-outpaint"),
        "text-to-image\n(same class)": t2i_example,
    }
    facts = {
        "gen_frame_px": frame_width(settings.resolution, settings.frame_px_at_512),
        "gen_frame_ref": settings.frame_px_at_512,
    }
    return (source, masks, outputs), facts


def sample_grid(chapter: GenerationChapter) -> tuple[dict[tuple[str, str], np.ndarray], list[str], list[str]]:
    """Fig. S-4's cells: per class, one real training image and each method's output for it (text-to-image:
    a sample of the class), per variant; returns (cells, row labels, column names)."""
    cells, columns = {}, ["real"]
    for v in VARIANTS:
        for method in METHODS:
            col = f"{method}\n{v}"
            columns.append(col)
            rows = chapter.manifests[method, v]
            for label, group in chapter.masked_sources.groupby("label"):
                if method == "text-to-image":
                    sel = rows[(rows.label == label) & (rows.stage == "final")]
                else:
                    sel = rows[(rows.source_id == group.image_id.iloc[0]) & (rows.stage == "final")]
                if len(sel):
                    cells[label, col] = chapter.load(sel.iloc[0].path)
    for label, group in chapter.masked_sources.groupby("label"):
        cells[label, "real"] = chapter.load(group.path.iloc[0])
    return cells, sorted(chapter.splits.labels), columns


def class_identity_gate_report(
    chapter: GenerationChapter, paper_guidance_samples: tuple[np.ndarray, np.ndarray] | None
) -> tuple[pd.DataFrame, pd.DataFrame, float, dict[str, Any]]:
    """Quality gate 1: do text-to-image samples show their class? Classifiers trained on real (and on
    autoencoded real) images label the samples; ``paper_guidance_samples``: (images, labels) of the same
    model at the paper's guidance (:func:`~synthaug_utils.experiments.chapters.guidance_samples`; None where
    the profile samples at it). Returns (per-class gate, summary, chance, ``gate_*`` glue)."""
    P, splits, settings = chapter.profile, chapter.splits, chapter.settings
    folder = locate_model(P.text2image_model, P)  # made by the chapter's generation step
    autoencoder = load_pipeline(folder, "text2image", settings, P)
    autoencoder_key = f"{P.text2image_model}|{model_hash(folder)}"
    train_images, test_images = chapter.array(splits.train_pool.path), chapter.array(splits.test.path)
    yardsticks = {
        "real images": (train_images, test_images),
        "autoencoded real images": tuple(
            vae_roundtrip(autoencoder, x, cache_key=autoencoder_key) for x in (train_images, test_images)
        ),
    }
    samples = {v: chapter.manifests["text-to-image", v] for v in VARIANTS}
    groups = {
        f"text-to-image, {v}": (embed_arrays(chapter.array(rows.path), cache=True), rows.label)
        for v, rows in samples.items()
    }
    paper_guidance = chapter.paper_settings.guidance_scale
    if paper_guidance_samples is not None:  # the same model sampled at the paper's guidance, for comparison
        images, labels = paper_guidance_samples
        groups[f"text-to-image, pretrained, guidance {paper_guidance:g}"] = (embed_arrays(images, cache=True), labels)
    chance = 1 / len(splits.labels)
    features = {name: tuple(embed_arrays(x, cache=True) for x in pair) for name, pair in yardsticks.items()}
    gate, summary = class_identity_gate(features, splits.train_pool.label, splits.test.label, groups, splits.labels)
    return gate, summary, chance, _gate_facts(gate, summary, chance, len(splits.labels), paper_guidance)


def _gate_facts(
    gate: pd.DataFrame, summary: pd.DataFrame, chance: float, n_classes: int, paper_guidance: float
) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "gate_chance": chance,
        "gate_n_classes": n_classes,
        "gate_min_class": GATE_MIN_CLASS,
        "gate_min_pooled": GATE_MIN_POOLED,
    }
    for key, name in (("real", "real images"), ("rec", "autoencoded real images")):
        part = summary[summary.classifier == f"trained on {name}"].set_index("images")
        rows_of = gate[gate.classifier == f"trained on {name}"]
        facts[f"gate_{key}_test"] = float(part.accuracy.iloc[0])
        for v in VARIANTS:
            row = part.loc[f"text-to-image, {v}"]
            facts[f"gate_{key}_t2i_{v}"] = float(row.accuracy)
            # 95% Wald intervals of the pooled share and of the weakest class's share (binomial over samples)
            sampled = rows_of[(rows_of.group == f"text-to-image, {v}") & (rows_of.n > 0)]
            weakest = sampled.loc[sampled.accuracy.idxmin()]
            for suffix, share, n in (("ci", row.accuracy, sampled.n.sum()), ("min_ci", weakest.accuracy, weakest.n)):
                low, high = wald_interval(round(share * n), n)
                facts[f"gate_{key}_t2i_{v}_{suffix}"] = f"{low:.1%} to {high:.1%}"
            facts[f"gate_{key}_t2i_{v}_min"] = float(row["weakest class"])
            facts[f"gate_{key}_t2i_{v}_n_above"] = int(row["classes above 2x chance"])
        if key == "real":
            paper_row = f"text-to-image, pretrained, guidance {paper_guidance:g}"
            facts[f"gate_{key}_t2i_paper_guidance"] = (
                f"{part.loc[paper_row].accuracy:.1%}"
                if paper_row in part.index
                else "the same (this profile samples at that guidance)"
            )
    return facts


def mask_fidelity_report(chapter: GenerationChapter, raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Quality gate 2: mean absolute change inside and outside each mask, of the raw model output (``raw``,
    :func:`~synthaug_utils.experiments.chapters.raw_inpaint_fidelity`) and of the synthetic sets; returns
    (table, ``mad_*`` and ``gen_paste`` glue)."""
    settings, sources = chapter.settings, chapter.masked_sources
    mad = pd.concat(
        [
            raw,
            mask_fidelity(chapter.manifests, dict(zip(sources.image_id, sources.path)), settings),
        ],
        ignore_index=True,
    )
    facts: dict[str, Any] = {"gen_paste": str(settings.paste_unmasked)}
    for r in mad.itertuples():
        key = "raw" if r.variant.endswith("raw output") else r.variant
        facts[f"mad_{r.method}_{key}_{'in' if r.region == 'inside mask' else 'out'}"] = float(r.mad)
    return mad, facts


def seam_report(chapter: GenerationChapter) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Quality gate 3: is there a seam where the pasted source meets the generated region? The seam
    measure of :func:`~synthaug_utils.diffusion.measure.seam_ratios` per masked method and variant of
    the synthetic sets; returns (table, ``seam_*`` glue: each ratio, the limit, the blend width; the sentences
    on the largest ratio are :func:`synthaug_utils.presentation.generation_prose.seam_sentences`)."""
    table = seam_ratios(
        chapter.manifests, dict(zip(chapter.masked_sources.image_id, chapter.masked_sources.path)), chapter.settings
    )
    facts: dict[str, Any] = {f"seam_{r.method}_{r.variant}": float(r.seam_ratio) for r in table.itertuples()}
    facts["seam_limit"] = float(SEAM_LIMIT)
    facts["seam_blend_px"] = chapter.settings.paste_blend_px
    return table, facts


def generation_cost(chapter: GenerationChapter, cost: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Images per second of each method (``cost``, measured by
    :func:`~synthaug_utils.experiments.chapters.time_generation`), and the seconds each cached DreamBooth
    model took to fine-tune (read from its record); returns (throughput table, ``cost_*`` glue)."""
    P, splits = chapter.profile, chapter.splits
    facts: dict[str, Any] = {f"cost_{r.method}": float(r.images_per_s) for r in cost.itertuples()}
    facts["cost_threads"] = int(cost.threads.iloc[0])
    runs = []
    for kind in KINDS:
        db_settings = dreambooth_settings(P)
        for label in splits.labels:
            meta_file = dreambooth_dir(P, kind, label, splits, db_settings) / "dreambooth.json"
            if meta_file.is_file():
                meta = json.loads(meta_file.read_text())
                runs.append({"kind": kind, "label": label, "seconds": meta["seconds"], "steps": meta["steps"]})
    runs = pd.DataFrame(runs)
    facts["cost_db_seconds"] = f"{runs.seconds.mean():.0f}" if len(runs) else "n/a"
    facts["cost_db_steps"] = int(runs.steps.median()) if len(runs) else 0
    return cost, facts
