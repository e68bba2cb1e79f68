"""The book's Methods page, generated from the build's profile and the protocol table.

Every row of :data:`synthaug_utils.core.protocol.PROTOCOL` becomes a row of the page: the paper's
value, the authors' code's value where it differs, this profile's value (read from the profile and
the settings functions the pipeline itself uses) and, where they differ, why. Nothing on the page is
typed by hand: ``synthaug book`` writes ``book/methods.md`` before Sphinx runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from synthaug_utils.core.config import Profile, load_profile
from synthaug_utils.core.protocol import PROTOCOL, ProtocolSetting

METHODS_PAGE = "methods.md"


def _labels(P: Profile) -> int:
    from synthaug_utils.data.world import DERM9_LABELS

    return len(DERM9_LABELS) if P.is_embedded else 9  # F17k-9 by definition (the dataset name)


def _model_name(model_id: str) -> str:
    from synthaug_utils.diffusion.pipelines import model_label

    return model_label(model_id).split("/")[-1]


def profile_values(P: Profile) -> dict[str, Any]:
    """This profile's value of every protocol setting, keyed like :data:`PROTOCOL`, from the same
    functions the pipeline uses (generation and DreamBooth settings, grid settings, the recipe)."""
    from synthaug_utils.classifier.recipe import Recipe
    from synthaug_utils.diffusion.dreambooth import dreambooth_settings
    from synthaug_utils.diffusion.settings import generation_settings
    from synthaug_utils.experiments.grids import grid_settings

    gen, db, db_ddi = generation_settings(P), dreambooth_settings(P), dreambooth_settings(P, ddi=True)
    fig3, fig4, fig5, imb = (grid_settings(g, P) for g in ("fig3", "fig4", "fig5", "imbalance"))
    recipe = Recipe()
    world = P.world
    values: dict[str, Callable[[], Any]] = {
        "dataset": lambda: P.dataset, "labels": lambda: _labels(P),
        "test_per_label": lambda: world.test_per_class if world else P.test_per_label,
        "val_per_label": lambda: P.val_per_label, "n_real_grid": lambda: tuple(fig3["n_real"]),
        "nested": lambda: True, "ddi_dataset": lambda: P.ddi_dataset, "ddi_per_bin": lambda: P.ddi_per_bin,
        "text2image_model": lambda: _model_name(P.text2image_model), "inpaint_model": lambda: _model_name(P.inpaint_model),
        "scheduler": lambda: "DPMSolverMultistep", "gen_steps": lambda: gen.steps, "guidance_scale": lambda: gen.guidance_scale,
        "gen_resolution": lambda: gen.resolution, "prompt": lambda: gen.prompt_template,
        "mask_side_fraction": lambda: gen.mask_side_fraction, "strength_inpaint": lambda: gen.strength_inpaint,
        "strength_outpaint": lambda: gen.strength_outpaint, "paste_unmasked": lambda: gen.paste_unmasked,
        "precision": lambda: gen.precision, "synthetic_per_real": lambda: fig3["ratio"],
        "image_seed": lambda: "per (source, method, index)",
        "db_resolution": lambda: db.resolution, "db_batch_size": lambda: db.batch_size, "db_learning_rate": lambda: db.learning_rate,
        "db_epochs": lambda: db.epochs, "db_ddi_epochs": lambda: db_ddi.epochs, "db_weight_decay": lambda: db.weight_decay,
        "db_grad_clip": lambda: db.max_grad_norm, "db_prior": lambda: db.prior_preservation, "db_text_encoder": lambda: db.train_text_encoder,
        "variant": lambda: fig3["variant"],
        "arch": lambda: P.arch, "image_size": lambda: P.image_size, "mode": lambda: fig3["mode"],
        "lr": lambda: recipe.lr, "wd": lambda: recipe.wd, "max_epochs": lambda: fig3["max_epochs"], "patience": lambda: P.patience,
        "monitor": lambda: recipe.monitor, "batch_rule": lambda: fig3["batch_rule"], "seeds": lambda: len(fig3["seeds"]),
        "fig3_methods": lambda: tuple(fig3["methods"]), "fig3_transforms": lambda: tuple(fig3["transforms"]),
        "fig4_n_real": lambda: tuple(fig4["n_real"]), "fig4_ratios": lambda: tuple(fig4["ratios"]),
        "fig5_methods": lambda: tuple(fig5["methods"]), "imbalance_n_real": lambda: imb["n_real"],
        "imbalance_cuts": lambda: tuple(imb["cuts"]), "embedding_model": lambda: P.embedding_model,
        "ci": lambda: "Wald", "test": lambda: "two-sample proportion test, BH-adjusted per figure",
        "bootstrap": lambda: "95% bootstrap interval",
    }
    missing = [s.key for s in PROTOCOL if s.key not in values]
    if missing:
        raise KeyError(f"protocol setting(s) without a profile value: {missing}")
    return {s.key: values[s.key]() for s in PROTOCOL}


def show_value(value: Any) -> str:
    """A protocol value as the page prints it: lists comma-separated, booleans yes/no, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (tuple, list)):
        return ", ".join(show_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))
    return a == b


def deviation(setting: ProtocolSetting, value: Any, profile_name: str) -> str:
    """'' when ``value`` equals the paper's (or the authors' code's) value, else what differs and why."""
    if _same(value, setting.paper):
        return ""
    if setting.code is not None and _same(value, setting.code):
        return "follows the authors' code"
    why = setting.why if profile_name != "paper" and setting.why else "set by this build's configuration"
    return f"deviates: {why}"


def methods_table(P: Profile) -> pd.DataFrame:
    """One row per protocol setting: section, setting, paper, authors' code, this profile, deviation."""
    values = profile_values(P)
    rows = [{"section": s.section, "setting": s.setting, "paper": show_value(s.paper) + ("" if s.source == "paper" else f" (source: {s.source})"),
             "authors' code": "" if s.code is None else show_value(s.code), f"profile {P.name}": show_value(values[s.key]),
             "deviation and why": deviation(s, values[s.key], P.name)} for s in PROTOCOL]
    return pd.DataFrame(rows)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def methods_markdown(P: Profile) -> str:
    """The Methods page (MyST Markdown): one table per protocol section."""
    table = methods_table(P)
    deviating = int(table["deviation and why"].str.startswith("deviates").sum())
    out = [
        "# Methods: the protocol and this build\n",
        f"Every setting of the paper's protocol, with the paper's value (and the authors' code's value where the two "
        f"differ) beside the value this build used (profile `{P.name}`: {P.description.rstrip('.')}). The page is generated from "
        f"the project's protocol table (`synthaug_utils.core.protocol`) and the profile by `synthaug book`; "
        f"{deviating} of {len(table)} settings deviate on this profile, each with the reason.\n",
    ]
    columns = [c for c in table.columns if c != "section"]
    for section, rows in table.groupby("section", sort=False):
        out.append(f"## {section}\n")
        out.append("| " + " | ".join(columns) + " |")
        out.append("|" + "---|" * len(columns))
        for _, row in rows.iterrows():
            out.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
        out.append("")
    return "\n".join(out) + "\n"


def write_methods_page(book_dir: Path, profile: str, config: str | None = None, overrides: dict | None = None) -> Path:
    """Write ``<book_dir>/methods.md`` for this build's profile; return its path."""
    from synthaug_utils.core.files import atomic_write_text

    P = load_profile(profile, config, overrides or {})
    book_dir.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(book_dir / METHODS_PAGE, methods_markdown(P))
