"""What the full paper grid costs: stage throughputs in, an hours table out (no torch).

``benchmarks/paper_gpu.py`` measures each stage of the paper at its real sizes (random
weights in the real architectures) and writes ``benchmarks/paper_gpu_results.csv``;
:func:`estimate_from_table` turns that table into hours for the whole protocol, and
:func:`estimate` does the same from throughputs given by hand. Everything here is plain
arithmetic on documented workload constants:

Synthetic images
    What a paper build generates (:func:`paper_generation`): every trial of every grid it runs
    (:data:`PAPER_GRIDS`: Figs. 3, 4, 5 and S-2 and their control arms), walked as the grid runner
    prepares its synthetic sets, on stand-in tables of the paper's sizes. A set whose images do not
    depend on the split is made once for every validation redraw; an in-then-outpaint set makes both of
    its stages. With the authors' released images as the source (location ``released_synthetic``), the
    arms the release holds are taken from it (:func:`source_saving` says what that saves). The paper's
    own count, 458,920 (:data:`SYNTHETIC_TOTAL`), split by method in the proportions of the authors'
    released images for the 9 F17k-9 labels (manrai/synthetic-derm ``huggingface/folder_counts.csv``:
    66,780 inpaint, 66,780 in-then-outpaint, 600,986 text-to-image), is :func:`synthetic_split`.
DreamBooth
    One model per F17k-9 label and model kind a build uses (text-to-image on SD 2.1-base; inpainting
    on SD 1.5-inpainting, shared by inpaint and in-then-outpaint), each on the label's whole clean
    training file (:data:`F17K9_TRAINING_COUNTS`), 4 epochs at batch 4; one inpainting model on the
    560 DDI images outside the test set, 25 epochs; and the control arms' models on a trial's own
    images (per label and real subset; the step-matched arm for as many steps as the whole-pool model).
Classifier trials
    Every trial of :data:`PAPER_GRIDS` as :func:`synthaug_utils.experiments.grids.build_grid`
    builds them for the paper profile (:func:`paper_trials`), each trained for an assumed
    ``epochs_per_trial`` epochs (early stopping with patience 3 stops the real runs at
    4-30 epochs; default 10), every epoch a training pass over real + synthetic images at
    the authors' batch rule and a validation pass, then one test pass.
Embeddings
    CLIP image embeddings of every real (3,699 F17k-9 + 656 DDI) and synthetic image.

Throughputs are images per second, except DreamBooth: optimiser steps per second at
batch 4. Hours are wall-clock hours of one device running the stages one after another.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthaug_utils.classifier.recipe import batch_size_rule

SYNTHETIC_TOTAL = 458_920
"""Synthetic images the paper reports (abstract; Sec. 2)."""

RELEASED_F17K9_BY_METHOD = {"inpaint": 66_780, "in-then-outpaint": 66_780, "text-to-image": 600_986}
"""The authors' released images for the 9 F17k-9 labels by method, pretrained + DreamBooth
(manrai/synthetic-derm, huggingface/folder_counts.csv): the default split of :data:`SYNTHETIC_TOTAL`."""

F17K9_TRAINING_COUNTS = {
    "psoriasis": 584,
    "squamous cell carcinoma": 440,
    "lichen planus": 412,
    "basal cell carcinoma": 406,
    "allergic contact dermatitis": 358,
    "lupus erythematosus": 297,
    "sarcoidosis": 286,
    "neutrophilic dermatoses": 284,
    "photodermatoses": 272,
}
"""Images per label in the authors' clean training file (fitzpatrick17k_10label_clean_training.csv,
folliculitis dropped): 3,339; with the 360 held-out test images the paper's 3,699."""

F17K9_LABELS = tuple(F17K9_TRAINING_COUNTS)
F17K9_VAL_PER_LABEL = 40
F17K9_TEST_PER_LABEL = 40
DDI_IMAGES = 656  # the paper's count (Sec. 4.1)
DDI_TEST = 96  # 32 per skin-tone bin
DDI_VAL = 96
DDI_DREAMBOOTH_IMAGES = DDI_IMAGES - DDI_TEST  # 560, as Sec. 4.7 states
REAL_IMAGES = sum(F17K9_TRAINING_COUNTS.values()) + len(F17K9_LABELS) * F17K9_TEST_PER_LABEL + DDI_IMAGES

DREAMBOOTH_BATCH = 4
DREAMBOOTH_EPOCHS = 4
DREAMBOOTH_DDI_EPOCHS = 25
DEFAULT_EPOCHS_PER_TRIAL = 10
PAPER_GRIDS = ("fig3", "controls", "fig4", "fig5", "imbalance", "imbalance-controls")
"""Every grid a paper build runs: Figs. 3, 4, 5 and S-2 and their control arms."""
# DDI's images per Fitzpatrick bin (I-II, III-IV, V-VI): the metadata's 208 and 241, the rest of the paper's 656
DDI_PER_BIN = {12: 208, 34: 241, 56: DDI_IMAGES - 208 - 241}

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


# ----------------------------------------------------------------------------- workloads
def synthetic_split(
    total: int = SYNTHETIC_TOTAL, shares: Mapping[str, float] = RELEASED_F17K9_BY_METHOD
) -> dict[str, int]:
    """``total`` images split in proportion to ``shares`` (largest remainder, so the parts sum to ``total``)."""
    weight = float(sum(shares.values()))
    if weight <= 0:
        raise ValueError("shares must have a positive sum")
    exact = {k: total * v / weight for k, v in shares.items()}
    parts = {k: int(math.floor(x)) for k, x in exact.items()}
    left = total - sum(parts.values())
    for k in sorted(exact, key=lambda k: exact[k] - parts[k], reverse=True)[:left]:
        parts[k] += 1
    return parts


def dreambooth_steps(images: int, epochs: int, batch: int = DREAMBOOTH_BATCH) -> int:
    """Optimiser steps of one DreamBooth model: ``ceil(images / batch)`` per epoch (the last batch may be short)."""
    return math.ceil(int(images) / int(batch)) * int(epochs)


def dreambooth_models(
    per_label: Mapping[str, int] = F17K9_TRAINING_COUNTS,
    kinds: Sequence[str] = ("text2image", "inpaint"),
    epochs: int = DREAMBOOTH_EPOCHS,
    ddi_images: int | None = DDI_DREAMBOOTH_IMAGES,
    ddi_kinds: Sequence[str] = ("inpaint",),
    ddi_epochs: int = DREAMBOOTH_DDI_EPOCHS,
    batch: int = DREAMBOOTH_BATCH,
) -> pd.DataFrame:
    """One row per DreamBooth model: group, kind, images, epochs, steps."""
    rows = [
        dict(group=label, kind=kind, images=n, epochs=epochs, steps=dreambooth_steps(n, epochs, batch))
        for kind in kinds
        for label, n in per_label.items()
    ]
    if ddi_images:
        rows += [
            dict(
                group="DDI (all)",
                kind=kind,
                images=ddi_images,
                epochs=ddi_epochs,
                steps=dreambooth_steps(ddi_images, ddi_epochs, batch),
            )
            for kind in ddi_kinds
        ]
    return pd.DataFrame(rows, columns=["group", "kind", "images", "epochs", "steps"])


def training_set_size(
    n_real: int | None,
    pool: Mapping[str, int],
    per_label: Mapping[str, int] | Iterable[tuple[str, int]] = (),
    synthetic_ratio: int = 0,
    duplicate: int = 0,
    augment_labels: Sequence[str] = (),
) -> int:
    """Training images of one trial: real images per label (``n_real``, None = the whole
    ``pool`` of that label; ``per_label`` overrides; capped at the pool), plus
    ``synthetic_ratio`` synthetic images and ``duplicate`` copies per real image of
    ``augment_labels`` (empty = every label)."""
    overrides = dict(per_label.items() if isinstance(per_label, Mapping) else per_label)
    real = {}
    for label, available in pool.items():
        want = overrides.get(label, n_real)
        real[label] = int(available) if want is None else min(int(want), int(available))
    augmented = sum(n for label, n in real.items() if not augment_labels or label in augment_labels)
    return sum(real.values()) + augmented * (int(synthetic_ratio) + int(duplicate))


def _pools() -> dict[str, dict[str, Any]]:
    """Training pools (after validation), validation and test sizes per dataset of the paper profile."""
    ddi_pool = DDI_IMAGES - DDI_TEST - DDI_VAL
    return {
        "main": dict(
            pool={k: v - F17K9_VAL_PER_LABEL for k, v in F17K9_TRAINING_COUNTS.items()},
            n_val=F17K9_VAL_PER_LABEL * len(F17K9_LABELS),
            n_test=F17K9_TEST_PER_LABEL * len(F17K9_LABELS),
        ),
        # malignant vs benign; n_real is None (the whole pool) in every DDI trial, so one pseudo-label holds it
        "ddi": dict(pool={"all": ddi_pool}, n_val=DDI_VAL, n_test=DDI_TEST),
    }


def trial_rows(specs: Iterable[Any], grid: str, which: str = "main") -> list[dict]:
    """Workload rows (grid, key, n_train, n_val, n_test, batch_rule, batch_size) of trial specs
    (objects with TrialSpec's fields: n_real, n_real_per_label, synthetic_ratio, duplicate,
    augment_labels, batch_rule, batch_size and key)."""
    sizes = _pools()[which]
    rows = []
    for spec in specs:
        n_train = training_set_size(
            spec.n_real, sizes["pool"], spec.n_real_per_label, spec.synthetic_ratio, spec.duplicate, spec.augment_labels
        )
        rows.append(
            dict(
                grid=grid,
                key=getattr(spec, "key", None),
                n_train=n_train,
                n_val=sizes["n_val"],
                n_test=sizes["n_test"],
                batch_rule=spec.batch_rule,
                batch_size=spec.batch_size or batch_size_rule(n_train, spec.batch_rule),
            )
        )
    return rows


def paper_profile(rare_labels: Sequence[str] = F17K9_LABELS, released: bool = False):
    """The paper profile as the estimate reads it: the class-imbalance grids take ``rare_labels`` (the
    F17k-9 labels) instead of reading them from the data; ``released``: with the authors' released
    images as the synthetic source (location ``released_synthetic``)."""
    import dataclasses

    from synthaug_utils.core.config import load_profile

    profile = load_profile("paper", overrides={"grids": {"imbalance": {"rare_labels": tuple(rare_labels)}}})
    locations = {k: v for k, v in profile.locations.items() if k != "released_synthetic"}
    if released:
        locations["released_synthetic"] = "released"
    return dataclasses.replace(profile, locations=locations)


def paper_trials(grids: Sequence[str] = PAPER_GRIDS, rare_labels: Sequence[str] = F17K9_LABELS) -> pd.DataFrame:
    """Every distinct trial of ``grids`` as :func:`synthaug_utils.experiments.grids.build_grid` builds them
    for the paper profile, with its training-set size and batch size.

    The class-imbalance grid takes its rare labels from the data; ``rare_labels`` (the F17k-9
    labels) stands in so that no data is read. A trial two grids share is counted once.
    """
    from synthaug_utils.experiments.grids import build_grid, grid_which

    profile = paper_profile(rare_labels)
    rows: list[dict] = []
    for grid in grids:
        rows += trial_rows(build_grid(grid, profile), grid, grid_which(grid))
    table = pd.DataFrame(rows, columns=["grid", "key", "n_train", "n_val", "n_test", "batch_rule", "batch_size"])
    return table.drop_duplicates("key").reset_index(drop=True)


# ----------------------------------------------------------------------------- what a build generates
def standin_tables(which: str):
    """A stand-in for the paper's data with its sizes and none of its images: ids only. F17k-9: each
    label's clean training file and 40 held-out test images; DDI: the 656 images in their three skin-tone
    bins. The split and subset draws select by position in each label's (or bin's) sorted ids, so the
    images a build generates are counted as on the real tables (near-duplicate groups aside)."""
    from synthaug_utils.data.tables import DatasetTables

    def table(counts: Mapping[str, int], split: str, column: str = "label") -> pd.DataFrame:
        rows = [
            dict(image_id=f"{split}-{key}-{i:04d}", path="", label=str(key), fst=0, split=split)
            for key, n in counts.items()
            for i in range(n)
        ]
        frame = pd.DataFrame(rows)
        if column == "fst":  # DDI: stratified by bin, two labels within each bin
            frame["fst"] = frame.label.astype(int)
            frame["label"] = ["malignant" if i % 4 == 0 else "benign" for i in range(len(frame))]
        return frame

    if which == "ddi":
        return DatasetTables("ddi", table(DDI_PER_BIN, "pool", "fst"), None, ["benign", "malignant"], stratify="fst")
    test = table({label: F17K9_TEST_PER_LABEL for label in F17K9_LABELS}, "test")
    return DatasetTables("f17k9", table(F17K9_TRAINING_COUNTS, "pool"), test, list(F17K9_LABELS))


def paper_generation(
    grids: Sequence[str] = PAPER_GRIDS,
    rare_labels: Sequence[str] = F17K9_LABELS,
    released: bool = False,
    shared: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a paper build generates and fine-tunes: (images, DreamBooth models); see :func:`_paper_generation`."""
    images, models = _paper_generation(tuple(grids), tuple(rare_labels), bool(released), bool(shared))
    return images.copy(), models.copy()


@functools.lru_cache(maxsize=8)
def _paper_generation(
    grids: tuple[str, ...], rare_labels: tuple[str, ...], released: bool, shared: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a paper build generates and fine-tunes: (images, DreamBooth models).

    Walks every trial of ``grids`` as :func:`synthaug_utils.experiments.grids.prepare_synthetic_sets`
    does, on :func:`standin_tables`: each augmented real image gets as many images as the largest
    ratio any trial asks of it, once per synthetic set. A set whose images do not depend on the split
    (:func:`~synthaug_utils.synthetic.sets.split_independent`) is one set for every validation redraw
    when ``shared`` (as the code does); ``shared=False`` counts one set per split seed. DreamBooth on a
    trial's own images (the control arms) is one set and one model per label for each real subset. With
    ``released``, the arms the authors' release holds are taken from it (``source`` 'released').

    Images: columns dataset, method, variant, source ('generated' or 'released'), sets, sources, images,
    passes (in-then-outpaint: 2, its inpainting and outpainting stages). Models: columns group, kind,
    images, epochs, steps, source ('whole pool' or 'own images').
    """
    from synthaug_utils.core.vocabulary import BUDGET_STEPS_VARIANT, BUDGET_VARIANTS, KIND_OF_METHOD
    from synthaug_utils.data.splits import make_splits
    from synthaug_utils.experiments.grids import build_grid
    from synthaug_utils.experiments.trial import augment_targets, real_subset
    from synthaug_utils.synthetic.sets import released_serves, split_independent

    profile = paper_profile(rare_labels, released)
    splits_of: dict[tuple, Any] = {}
    subsets: dict[tuple, pd.DataFrame] = {}
    need: dict[tuple, dict[str, int]] = {}
    models: dict[tuple, dict] = {}  # one per (dataset, kind, group, and for own images: arm and subset)
    for grid in grids:
        for spec in build_grid(grid, profile):
            if not spec.synthetic_ratio or spec.synthetic_manifest:
                continue
            which, method, variant = spec.which(profile), spec.synthetic_method, spec.synthetic_variant
            if (which, spec.split_seed) not in splits_of:
                per = profile.ddi_per_bin if which == "ddi" else profile.val_per_label
                test = profile.ddi_per_bin if which == "ddi" else None
                splits_of[which, spec.split_seed] = make_splits(standin_tables(which), per, spec.split_seed, test)
            seed = spec.seed if spec.subset_seed is None else spec.subset_seed
            subset = (which, spec.split_seed, spec.n_real, spec.n_real_per_label, seed)
            if subset not in subsets:
                subsets[subset] = real_subset(spec, splits_of[which, spec.split_seed])
            targets = augment_targets(spec, subsets[subset])
            source = "released" if released_serves(profile, method, variant) else "generated"
            split = None if shared and split_independent(profile, variant, which) else spec.split_seed
            own = tuple(sorted(targets.image_id)) if variant in BUDGET_VARIANTS else None
            ratios = need.setdefault((which, method, variant, source, split, own), {})
            for image_id in targets.image_id:
                ratios[image_id] = max(ratios.get(image_id, 0), int(spec.synthetic_ratio))
            if source == "generated" and variant != "pretrained":
                kind = KIND_OF_METHOD[method]
                epochs = DREAMBOOTH_DDI_EPOCHS if which == "ddi" else DREAMBOOTH_EPOCHS
                for group in ["all"] if which == "ddi" else sorted(set(targets.label)):
                    pool = DDI_IMAGES - DDI_TEST if which == "ddi" else F17K9_TRAINING_COUNTS[group]
                    row = dict(group=group, kind=kind, images=pool, epochs=epochs, steps=dreambooth_steps(pool, epochs))
                    if own is None:
                        models[which, kind, group] = dict(row, source="whole pool")
                        continue
                    n = len(targets) if group == "all" else int((targets.label == group).sum())
                    steps = row["steps"] if variant == BUDGET_STEPS_VARIANT else dreambooth_steps(n, epochs)
                    models[which, kind, group, variant, own] = dict(row, images=n, steps=steps, source="own images")
    rows: dict[tuple, dict] = {}
    for (which, method, variant, source, _split, own), ratios in need.items():
        if own:  # a dreambooth-own set gets the largest ratio asked of it for its whole subset
            ratios = dict.fromkeys(ratios, max(ratios.values()))
        row = rows.setdefault(
            (which, method, variant, source),
            dict(dataset=which, method=method, variant=variant, source=source, sets=0, sources=0, images=0),
        )
        row.update(
            sets=row["sets"] + 1, sources=row["sources"] + len(ratios), images=row["images"] + sum(ratios.values())
        )
    images = pd.DataFrame(
        list(rows.values()), columns=["dataset", "method", "variant", "source", "sets", "sources", "images"]
    )
    images["passes"] = [2 if m == "in-then-outpaint" else 1 for m in images.method]
    table = pd.DataFrame(list(models.values()), columns=["group", "kind", "images", "epochs", "steps", "source"])
    return images, table


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


def assumptions_text(epochs_per_trial: float = DEFAULT_EPOCHS_PER_TRIAL) -> str:
    """The estimate's assumptions, with the counts of a paper build (:func:`paper_generation`, :func:`paper_trials`)."""
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


# ----------------------------------------------------------------------------- the synthetic source
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


def synthetic_source_sentence(profile: Any, csv_path: str | Path | None = None) -> str:
    """Which synthetic source a build used and what the authors' released images save (or saved) a paper
    build: one paragraph for the Methods page."""
    from synthaug_utils.synthetic.sets import RELEASED_LOCATION, synthetic_source

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
