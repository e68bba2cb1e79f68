"""What the full paper grid costs: stage throughputs in, an hours table out (no torch).

``benchmarks/paper_gpu.py`` measures each stage of the paper at its real sizes (random
weights in the real architectures) and writes ``benchmarks/paper_gpu_results.csv``;
:func:`estimate_from_table` turns that table into hours for the whole protocol, and
:func:`estimate` does the same from throughputs given by hand. The work it prices is what a paper
build does (:mod:`synthaug_utils.analysis.paper_workload`): the synthetic images it generates, its
DreamBooth models and its classifier trials, each trained for an assumed ``epochs_per_trial`` epochs
(early stopping with patience 3 stops the real runs at 4-30 epochs; default 10), every epoch a training
pass over real + synthetic images at the authors' batch rule and a validation pass, then one test pass;
and CLIP image embeddings of every real (3,699 F17k-9 + 656 DDI) and synthetic image.
:func:`source_saving` says what the authors' released images save.

Throughputs are images per second, except DreamBooth: optimiser steps per second at
batch 4. Hours are wall-clock hours of one device running the stages one after another.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthaug_utils.analysis.paper_workload import DREAMBOOTH_BATCH, REAL_IMAGES, paper_generation, paper_trials

DEFAULT_EPOCHS_PER_TRIAL = 10
"""Epochs a classifier trial is assumed to train for (early stopping ends the real runs at 4-30)."""

# Stage names of the benchmark table (column ``stage``) that the estimate reads.
STAGE_TEXT2IMAGE = "text-to-image"
STAGE_INPAINT = "inpaint"
STAGE_IN_THEN_OUT = "in-then-outpaint"
STAGE_DREAMBOOTH = {"text2image": "dreambooth text2image", "inpaint": "dreambooth inpaint"}
STAGE_TRAIN = "classifier train"
STAGE_INFER = "classifier inference"
STAGE_CLIP = "clip embeddings"
TABLE_COLUMNS = (
    "stage",
    "device",
    "setting",
    "throughput",
    "unit",
    "status",
    "kind",
    "batch",
    "precision",
    "seconds",
    "note",
)


# ----------------------------------------------------------------------------- the estimate
@dataclass
class Throughputs:
    """Measured speeds. Generation, classifier and CLIP in images/s; DreamBooth in optimiser
    steps/s at batch 4. ``classifier_train`` maps batch size -> images/s. None = not measured.
    ``sources`` names where each number came from (shown in the estimate's notes)."""

    text_to_image: float | None = None
    inpaint: float | None = None
    in_then_outpaint: float | None = None  # both passes of one image
    dreambooth: dict[str, float] = field(default_factory=dict)  # kind -> steps/s at batch 4
    classifier_train: dict[int, float] = field(default_factory=dict)
    classifier_infer: float | None = None
    clip: float | None = None
    sources: dict[str, str] = field(default_factory=dict)


def train_rate(rates: Mapping[int, float], batch: int) -> tuple[float | None, int | None]:
    """Training images/s at ``batch``: the measured rate at that batch size, else at the nearest
    measured one (in log scale; ties to the larger). Returns (rate, batch size used)."""
    if not rates:
        return None, None
    used = min(rates, key=lambda b: (abs(math.log(b / batch)), -b))
    return float(rates[used]), int(used)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _hours(seconds: float | None) -> float:
    return float("nan") if seconds is None else seconds / 3600.0


def estimate(
    rates: Throughputs,
    trials: pd.DataFrame | None = None,
    synthetic: Mapping[str, int] | None = None,
    dreambooth: pd.DataFrame | None = None,
    embedding_images: int | None = None,
    epochs_per_trial: float = DEFAULT_EPOCHS_PER_TRIAL,
    share_inpaint_stage: bool | None = None,
    device: str = "",
    released: bool = False,
) -> pd.DataFrame:
    """Hours per stage of the full paper grid, and their total.

    ``trials``: rows with grid, n_train, n_val, n_test, batch_size (default :func:`paper_trials`: every
    grid of a paper build, control arms included). ``synthetic``: images per method and ``dreambooth``:
    rows with kind, steps (default both what a paper build generates and fine-tunes,
    :func:`paper_generation`; with ``released``, the authors' released images stand in for the arms
    the release holds, so only the rest is generated). ``embedding_images``: default every real
    and synthetic image. A classifier trial costs ``epochs_per_trial * (n_train / train rate at
    its batch size + n_val / inference rate) + n_test / inference rate`` seconds. With
    ``share_inpaint_stage`` an in-then-outpaint image costs its outpainting pass only
    (``1/in_then_outpaint - 1/inpaint`` s), its first stage being an inpaint-method image; None: shared
    for a given ``synthetic`` count, not for the build's own (its in-then-outpaint sets make both stages).

    Returns columns stage, work, work_unit, throughput, throughput_unit, hours, note (hours
    NaN where a throughput is missing; the ``total`` row sums the others and says what is
    missing); ``attrs['device']`` = ``device``, ``attrs['source']`` = 'released' or 'generated'.
    """
    trials = paper_trials() if trials is None else trials
    built = None
    if synthetic is None or dreambooth is None:
        images, models = paper_generation(released=released)
        made = images[images.source == "generated"]
        built = made.groupby("method", sort=False).images.sum().astype(int).to_dict()
    synthetic = built if synthetic is None else dict(synthetic)
    share_inpaint_stage = synthetic is not built if share_inpaint_stage is None else share_inpaint_stage
    dreambooth = models if dreambooth is None else dreambooth
    embedding_images = REAL_IMAGES + sum(synthetic.values()) if embedding_images is None else int(embedding_images)
    src = rates.sources
    rows: list[dict] = []

    def add(stage, work, work_unit, rate, rate_unit, seconds, note=""):
        rows.append(
            dict(
                stage=stage,
                work=work,
                work_unit=work_unit,
                throughput=rate,
                throughput_unit=rate_unit,
                hours=_hours(seconds),
                note=note,
            )
        )

    # generation
    per_method = {
        "text-to-image": rates.text_to_image,
        "inpaint": rates.inpaint,
        "in-then-outpaint": rates.in_then_outpaint,
    }
    for method in synthetic:
        n = int(synthetic[method])
        rate = per_method.get(method)
        note = src.get(method, "")
        seconds = None if not rate else n / rate
        if method == "in-then-outpaint" and share_inpaint_stage and rate and rates.inpaint:
            per_image = max(1.0 / rate - 1.0 / rates.inpaint, 0.0)
            seconds = n * per_image
            rate = 1.0 / per_image if per_image > 0 else float("inf")
            note = (
                note + "; " if note else ""
            ) + "outpainting pass only (its inpainting stage is an inpaint-method image)"
        add(f"generate {method}", n, "images", rate, "images/s", seconds, note)

    # DreamBooth
    for kind, group in dreambooth.groupby("kind", sort=False):
        rate = rates.dreambooth.get(kind)
        note = src.get(f"dreambooth {kind}", "")
        if rate is None and rates.dreambooth:
            other, rate = next(iter(rates.dreambooth.items()))
            note = f"no {kind} measurement: the {other} rate stands in" + (
                f" ({src.get(f'dreambooth {other}')})" if src.get(f"dreambooth {other}") else ""
            )
        steps = int(group.steps.sum())
        add(
            f"DreamBooth {kind} ({_count(len(group), 'model')})",
            steps,
            "steps (batch 4)",
            rate,
            "steps/s",
            None if not rate else steps / rate,
            note,
        )

    # classifier trials
    infer = rates.classifier_infer
    for grid, group in trials.groupby("grid", sort=False):
        seconds, used, missing = 0.0, set(), False
        for t in group.itertuples():
            rate, b = train_rate(rates.classifier_train, int(t.batch_size))
            if rate is None or not infer:
                missing = True
                break
            used.add((int(t.batch_size), b))
            seconds += epochs_per_trial * (t.n_train / rate + t.n_val / infer) + t.n_test / infer
        images = int(epochs_per_trial * (group.n_train + group.n_val).sum() + group.n_test.sum())
        subs = sorted({f"{a}->{b}" for a, b in used if a != b})
        note = f"{epochs_per_trial:g} epochs per trial; batch sizes {sorted(set(group.batch_size.astype(int)))}"
        if subs:
            note += f"; rate of the nearest measured batch size used ({', '.join(subs)})"
        add(
            f"classifier {grid} ({_count(len(group), 'trial')})",
            images,
            "images (train+val+test passes)",
            None if missing or not seconds else images / seconds,
            "images/s (effective)",
            None if missing else seconds,
            note,
        )

    # embeddings
    add(
        "CLIP embeddings",
        embedding_images,
        "images",
        rates.clip,
        "images/s",
        None if not rates.clip else embedding_images / rates.clip,
        src.get("clip", ""),
    )

    table = pd.DataFrame(rows, columns=["stage", "work", "work_unit", "throughput", "throughput_unit", "hours", "note"])
    lacking = table.stage[table.hours.isna()].tolist()
    total_note = "sum of the rows above" + (f"; missing (not counted): {', '.join(lacking)}" if lacking else "")
    total = dict(
        stage="total",
        work=float("nan"),
        work_unit="",
        throughput=float("nan"),
        throughput_unit="",
        hours=float(table.hours.sum(skipna=True)),
        note=total_note,
    )
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    table.attrs["device"] = device
    table.attrs["source"] = "released" if released else "generated"
    return table


# ----------------------------------------------------------------------------- from the benchmark table
def read_table(csv_path: str | Path) -> pd.DataFrame:
    """The benchmark table (``benchmarks/paper_gpu_results.csv``) with its ``ok`` rows flagged."""
    table = pd.read_csv(csv_path, dtype={"status": str, "kind": str, "stage": str}, keep_default_na=False)
    missing = [
        c for c in ("stage", "device", "throughput", "unit", "status", "kind", "batch") if c not in table.columns
    ]
    if missing:
        raise ValueError(f"{csv_path}: not a paper_gpu results table (missing column(s) {missing})")
    table["throughput"] = pd.to_numeric(table["throughput"], errors="coerce")
    table["batch"] = pd.to_numeric(table["batch"], errors="coerce")
    table["usable"] = table.status.str.startswith("ok") & table.throughput.gt(0)
    return table


def device_rows(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The usable rows of the table's best device (a CUDA GPU when any of its rows is usable,
    else the CPU) and a label for the hours: 'GPU-hours on ...' or 'CPU-hours on this machine (...)'."""
    usable = table[table.usable]
    for kind, label in (("cuda", "GPU-hours on {}"), ("cpu", "CPU-hours on this machine ({})")):
        rows = usable[usable.kind == kind]
        if len(rows):
            return rows, label.format(re.sub(r"^(cpu|cuda): ", "", str(rows.device.iloc[0])))
    return usable.iloc[0:0], "no usable rows"


def throughputs_from_table(rows: pd.DataFrame) -> Throughputs:
    """:class:`Throughputs` from one device's usable benchmark rows (first row of a stage wins;
    DreamBooth steps/s at batch b become steps/s at batch 4 as ``rate * b / 4``)."""
    rates = Throughputs()

    def first(stage):
        hit = rows[rows.stage == stage]
        return None if hit.empty else hit.iloc[0]

    for stage, attr in (
        (STAGE_TEXT2IMAGE, "text_to_image"),
        (STAGE_INPAINT, "inpaint"),
        (STAGE_IN_THEN_OUT, "in_then_outpaint"),
        (STAGE_INFER, "classifier_infer"),
        (STAGE_CLIP, "clip"),
    ):
        row = first(stage)
        if row is not None:
            setattr(rates, attr, float(row.throughput))
            key = "clip" if stage == STAGE_CLIP else stage
            rates.sources[key] = f"{row.setting}" + (f" [{row.status}]" if row.status != "ok" else "")
    for kind, stage in STAGE_DREAMBOOTH.items():
        row = first(stage)
        if row is not None:
            b = int(row.batch) if row.batch == row.batch and row.batch else DREAMBOOTH_BATCH
            rates.dreambooth[kind] = float(row.throughput) * b / DREAMBOOTH_BATCH
            note = f"{row.setting}" + (
                f"; measured at batch {b}, scaled to batch 4 as rate x {b}/4" if b != DREAMBOOTH_BATCH else ""
            )
            rates.sources[f"dreambooth {kind}"] = note
    for row in rows[rows.stage == STAGE_TRAIN].itertuples():
        if row.batch == row.batch and row.batch:
            rates.classifier_train.setdefault(int(row.batch), float(row.throughput))
    return rates


def estimate_from_table(
    csv_path: str | Path,
    epochs_per_trial: float = DEFAULT_EPOCHS_PER_TRIAL,
    trials: pd.DataFrame | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`estimate` from a ``paper_gpu.py`` results CSV, using the GPU rows when the table has
    usable ones, else the CPU rows. ``attrs['device']`` holds the hours label ('GPU-hours on
    NVIDIA ...' or 'CPU-hours on this machine (...)')."""
    rows, label = device_rows(read_table(csv_path))
    return estimate(
        throughputs_from_table(rows), trials=trials, epochs_per_trial=epochs_per_trial, device=label, **kwargs
    )


def format_hours(hours: float) -> str:
    """'1,234 h (51.4 days)' style text for a number of hours."""
    if hours != hours:
        return "n/a"
    text = f"{hours:,.0f} h" if hours >= 100 else f"{hours:,.1f} h"
    return text + (f" ({hours / 24:,.1f} days)" if hours >= 48 else "")


def markdown(table: pd.DataFrame) -> str:
    """The estimate as a markdown table (hours with thousands separators)."""

    def cell(v, col):
        if isinstance(v, float):
            if v != v:
                return ""
            if col == "hours":
                return f"{v:,.2f}" if v < 10 else f"{v:,.0f}"
            if col == "throughput":
                return f"{v:.4g}"
            return f"{v:,.0f}"
        return re.sub(r"\|", "/", str(v))

    cols = ["stage", "work", "work_unit", "throughput", "throughput_unit", "hours", "note"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c], c) for c in cols) + " |" for r in table.to_dict("records")]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- what the released images save
def benchmark_table() -> Path | None:
    """The committed ``benchmarks/paper_gpu_results.csv`` of this checkout, or None outside one."""
    from synthaug_utils.core.paths import project_root

    root = project_root()
    path = root / "benchmarks" / "paper_gpu_results.csv" if root is not None else None
    return path if path is not None and path.is_file() else None


def source_saving(csv_path: str | Path | None = None) -> dict[str, Any]:
    """What the authors' released images save a paper build (:func:`paper_generation` with and without
    ``released``): ``images`` taken from the release instead of generated, ``generated`` images the build
    still makes (the arms the release has no images of), ``models`` DreamBooth models not fine-tuned and,
    with a benchmark table, ``hours_generated`` / ``hours_released`` (totals of :func:`estimate_from_table`),
    ``hours_saved`` and ``device`` (what kind of hours)."""
    images, models = paper_generation(released=True)
    _, all_models = paper_generation()
    facts: dict[str, Any] = {
        "images": int(images[images.source == "released"].images.sum()),
        "generated": int(images[images.source == "generated"].images.sum()),
        "models": len(all_models) - len(models),
    }
    if csv_path is not None and Path(csv_path).is_file():
        both = {r: estimate_from_table(csv_path, released=r) for r in (False, True)}
        total = {r: float(t.set_index("stage").hours["total"]) for r, t in both.items()}
        facts.update(
            hours_generated=total[False],
            hours_released=total[True],
            hours_saved=total[False] - total[True],
            device=str(both[False].attrs.get("device", "")),
        )
    return facts


def estimate_glue(csv_path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The estimate of the committed ``paper_gpu.py`` table and its glue values for the reproduction
    report: ``cost_total`` (hours text), ``cost_device`` (what kind of hours), ``cost_trials`` (trials of
    Figs. 3, 4, 5 and S-2) and ``cost_generation_share`` (share of the hours spent generating images).
    Without the table: an empty frame and values saying it was not measured."""
    path = Path(csv_path)
    if not path.is_file():
        return pd.DataFrame(), {
            "cost_total": "not measured",
            "cost_device": f"no table {path.name} in benchmarks/",
            "cost_trials": "n/a",
            "cost_generation_share": "n/a",
        }
    table = estimate_from_table(path)
    hours = table.set_index("stage").hours
    total = float(hours["total"])
    generation = float(hours[hours.index.str.startswith("generate")].sum())
    return table, {
        "cost_total": format_hours(total),
        "cost_device": str(table.attrs.get("device", "")),
        "cost_trials": f"{len(paper_trials()):,}",
        "cost_generation_share": f"{100 * generation / total:.0f}%" if total > 0 else "n/a",
    }
