"""What a paper build does, counted without its data or a GPU (no torch): the paper's data sizes, every
trial of its grids, and the synthetic images and DreamBooth models it generates.

Synthetic images
    What a paper build generates (:func:`paper_generation`): every trial of every grid it runs
    (:data:`PAPER_GRIDS`: Figs. 3, 4, 5 and S-2 and their control arms), walked as the grid runner
    prepares its synthetic sets, on stand-in tables of the paper's sizes (:func:`standin_tables`). A set
    whose images do not depend on the split is made once for every validation redraw; an in-then-outpaint
    set makes both of its stages. With the authors' released images as the source (location
    ``released_synthetic``), the arms the release holds are taken from it. The paper's own count, 458,920
    (:data:`SYNTHETIC_TOTAL`), split by method in the proportions of the authors' released images for the 9
    F17k-9 labels (manrai/synthetic-derm ``huggingface/folder_counts.csv``: 66,780 inpaint, 66,780
    in-then-outpaint, 600,986 text-to-image), is :func:`synthetic_split`.
DreamBooth
    One model per F17k-9 label and model kind a build uses (text-to-image on SD 2.1-base; inpainting
    on SD 1.5-inpainting, shared by inpaint and in-then-outpaint), each on the label's whole clean
    training file (:data:`F17K9_TRAINING_COUNTS`), 4 epochs at batch 4; one inpainting model on the
    560 DDI images outside the test set, 25 epochs; and the control arms' models on a trial's own
    images (per label and real subset; the step-matched arm for as many steps as the whole-pool model).
Classifier trials
    Every trial of :data:`PAPER_GRIDS` as :func:`synthaug_utils.experiments.grids.build_grid`
    builds them for the paper profile (:func:`paper_trials`), with its training-set and batch size.

:mod:`synthaug_utils.analysis.paper_cost` turns these counts and measured throughputs into hours.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from synthaug_utils.classifier.recipe import batch_size_rule
from synthaug_utils.data.audit import PAPER_F17K9_COUNTS

SYNTHETIC_TOTAL = 458_920
"""Synthetic images the paper reports (abstract; Sec. 2)."""

RELEASED_F17K9_BY_METHOD = {"inpaint": 66_780, "in-then-outpaint": 66_780, "text-to-image": 600_986}
"""The authors' released images for the 9 F17k-9 labels by method, pretrained + DreamBooth
(manrai/synthetic-derm, huggingface/folder_counts.csv): the default split of :data:`SYNTHETIC_TOTAL`."""

F17K9_TEST_PER_LABEL = 40
F17K9_TRAINING_COUNTS = {label: n - F17K9_TEST_PER_LABEL for label, n in PAPER_F17K9_COUNTS.items()}
"""Images per label in the authors' clean training file (fitzpatrick17k_10label_clean_training.csv,
folliculitis dropped): the paper's Fig. 1A count of each label less its 40 held-out test images; 3,339
in all, 3,699 with the test images (``tests/test_data.py`` checks them against the split file)."""

F17K9_LABELS = tuple(F17K9_TRAINING_COUNTS)
F17K9_VAL_PER_LABEL = 40
DDI_IMAGES = 656  # the paper's count (Sec. 4.1)
DDI_TEST = 96  # 32 per skin-tone bin
DDI_VAL = 96
DDI_DREAMBOOTH_IMAGES = DDI_IMAGES - DDI_TEST  # 560, as Sec. 4.7 states
REAL_IMAGES = sum(F17K9_TRAINING_COUNTS.values()) + len(F17K9_LABELS) * F17K9_TEST_PER_LABEL + DDI_IMAGES

DREAMBOOTH_BATCH = 4
DREAMBOOTH_EPOCHS = 4
DREAMBOOTH_DDI_EPOCHS = 25
PAPER_GRIDS = ("fig3", "controls", "fig4", "fig5", "imbalance", "imbalance-controls")
"""Every grid a paper build runs: Figs. 3, 4, 5 and S-2 and their control arms."""
# DDI's images per Fitzpatrick bin (I-II, III-IV, V-VI): the metadata's 208 and 241, the rest of the paper's 656
DDI_PER_BIN = {12: 208, 34: 241, 56: DDI_IMAGES - 208 - 241}


# ----------------------------------------------------------------------------- trials
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
