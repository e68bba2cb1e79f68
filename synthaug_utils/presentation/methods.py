"""The book's Methods page, generated from the build's profile, the protocol table and the code.

Every row of :data:`synthaug_utils.core.protocol.PROTOCOL` becomes a row of the page: the protocol's
value and who states it (the paper; the authors' code where the paper is silent; the project where
neither is), the authors' code's value where it differs, this profile's value and, where they differ,
why. The profile's values are read from the profile and the settings functions the pipeline itself uses,
or from the code that uses them (a keyword the code passes, a rule probed by calling it); where a row
describes what the code does (the statistics, fixed code paths) the text is the first paragraph of the
docstring of the function that does it. Then come the settings where the paper's text and the authors'
code differ, with the profile override that picks the other one, and the primary analysis: why it is
primary, its own notes for fewer than three seeds, and its level and power from
``benchmarks/primary_level_results.csv``. Nothing on the page is typed by hand: ``synthaug book`` writes
``book/methods.md`` before Sphinx runs.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from synthaug_utils.core import chapters, profiles
from synthaug_utils.core.config import Profile
from synthaug_utils.core.protocol import AUTHORS_CODE, PAPER, PRIMARY_ANALYSIS_WHY, PROJECT, PROTOCOL, ProtocolSetting
from synthaug_utils.presentation.cost_prose import synthetic_source_markdown

METHODS_PAGE = f"{chapters.METHODS.id}.md"
# The level-and-power benchmark's table, relative to the repository root (benchmarks/primary_level.py writes it).
LEVEL_RESULTS = Path("benchmarks") / "primary_level_results.csv"
LEVEL_COLUMNS = ("test", "seeds", "images", "sigma", "effect_pp", "replicates", "rejection_rate")
# The benchmark's names of the test the book uses and the one it replaced.
PRIMARY_TEST, FORMER_TEST = "primary", "gee (former)"
# The design the page's sentence quotes: the paper's 5 runs x 360 test images, a per-run logit SD of 0.2,
# and the power with 3 and 5 runs (the demo's and the paper's).
LEVEL_DESIGN = {"seeds": 5, "images": 360, "sigma": 0.2}
POWER_SEEDS = (3, 5)
_BATCH_SCAN = 50_000  # training-set sizes probed for the batch-size rules' thresholds

SOURCE_LABELS = {PAPER: "paper", AUTHORS_CODE: "authors' code (the paper does not say)", PROJECT: "project"}


# ----------------------------------------------------------------------------- reading the code
def _plain(text: str) -> str:
    """Docstring text (reStructuredText) as plain text: roles and literals unwrapped, one line."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return " ".join(text.replace("``", "").replace("**", "").split())


def code_summary(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring as plain text, prefixed with its name."""
    doc = inspect.getdoc(obj)
    if not doc:
        raise ValueError(f"{obj!r} has no docstring to describe it")
    first = doc.split("\n\n")[0]
    return f"{obj.__name__}: {_plain(first)}"


def doc_entry(obj: Any, name: str) -> str:
    """The text of the entry ``name: ...`` of ``obj``'s docstring (an Args or Attributes item), plain."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    for i, line in enumerate(lines):
        head = line.strip()
        if head.startswith(name) and ":" in head:
            indent = len(line) - len(line.lstrip())
            text = [head.split(":", 1)[1]]
            for more in lines[i + 1 :]:
                if not more.strip() or len(more) - len(more.lstrip()) <= indent:
                    break
                text.append(more.strip())
            return f"{obj.__name__}.{head.split(':', 1)[0]}: {_plain(' '.join(text))}"
    raise KeyError(f"{obj.__name__}'s docstring has no entry {name!r}")


def call_keyword(module: str, function: str, name: str) -> Any:
    """The literal value that ``function`` of ``module`` passes as keyword ``name`` in a call, read from
    the source (no import: the module may need torch or diffusers)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise KeyError(f"module {module} not found")
    tree = ast.parse(Path(spec.origin).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for kw in ast.walk(node):
                if isinstance(kw, ast.keyword) and kw.arg == name:
                    return ast.literal_eval(kw.value)
    raise KeyError(f"{module}.{function} passes no keyword {name}")


def scheduler_name() -> str:
    """The sampler :func:`~synthaug_utils.diffusion.pipelines.load_pipeline` sets (``pipe.scheduler =
    XScheduler.from_config(...)``), read from the source: ``X``."""
    spec = importlib.util.find_spec("synthaug_utils.diffusion.pipelines")
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Attribute) and t.attr == "scheduler" for t in node.targets)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and isinstance(node.value.func.value, ast.Name)
        ):
            return node.value.func.value.id.removesuffix("Scheduler")
    raise KeyError("synthaug_utils.diffusion.pipelines sets no pipe.scheduler")


def batch_rule_text(rule: str) -> str:
    """A batch-size rule as its thresholds (e.g. ``N ≥ 1000: 64, N ≥ 100: 32, else 8``), found by calling
    :func:`~synthaug_utils.classifier.recipe.batch_size_rule` for every N up to 50,000."""
    from synthaug_utils.classifier.recipe import batch_size_rule

    sizes = [batch_size_rule(n, rule) for n in range(1, _BATCH_SCAN + 1)]
    # size == n below the smallest batch: the rule's cap at the training-set size, not a threshold
    steps = [(i + 1, s) for i, (s, prev) in enumerate(zip(sizes[1:], sizes), start=1) if s != prev and s != i + 1]
    base = sizes[steps[0][0] - 2] if steps else sizes[-1]
    return ", ".join([f"N ≥ {n}: {s}" for n, s in reversed(steps)] + [f"else {base}"])


def star_thresholds() -> str:
    """The p-value thresholds of :func:`~synthaug_utils.analysis.stats.significance_stars`, found by calling it."""
    from synthaug_utils.analysis.stats import significance_stars

    parts = []
    for k in (3, 2, 1):
        lo, hi = 0.0, 1.0  # bisect the largest p with at least k stars
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if len(significance_stars(mid)) >= k else (lo, mid)
        parts.append(f"{'*' * k} p < {float(f'{hi:.3g}'):g}")
    return ", ".join(parts)


def doc_bullets(obj: Any) -> list[str]:
    """The items (``- ...``, continuation lines joined) of the first list in ``obj``'s docstring, plain,
    without their closing punctuation."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    items: list[str] = []
    for line in lines:
        text = line.strip()
        if text.startswith("- "):
            items.append(text[2:])
        elif text and items:
            items[-1] += " " + text
        elif items:
            break
    if not items:
        raise KeyError(f"{obj.__name__}'s docstring has no list")
    return [_plain(item).rstrip(";.") for item in items]


def few_seed_note(seeds: int) -> str:
    """What :func:`~synthaug_utils.analysis.stats.primary_comparison` notes of its result with ``seeds``
    seeds ('' from three on), from calling it on a small example."""
    from synthaug_utils.analysis.stats import primary_comparison

    if seeds < 1:
        return ""
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 2, size=(seeds, 8)) for _ in range(2))
    return primary_comparison(a, b).note


# ----------------------------------------------------------------------------- the profile's values
def _labels(P: Profile) -> int:
    from synthaug_utils.data.world import DERM9_LABELS

    return len(DERM9_LABELS) if P.is_embedded else 9  # F17k-9 by definition (the dataset name)


def _model_name(model_id: str) -> str:
    from synthaug_utils.diffusion.pipelines import model_label

    return model_label(model_id).split("/")[-1]


def _trainable(mode: str) -> tuple[str, ...]:
    """The classifier layers that train: faithful mode passes ``train_bn`` to fastai's ``vision_learner``
    (the body stays frozen); fast mode trains the head on cached features of the frozen body."""
    if mode == "faithful" and call_keyword("synthaug_utils.classifier.faithful", "build_learner", "train_bn"):
        return ("head", "BatchNorm layers")
    return ("head",)


def profile_values(P: Profile) -> dict[str, Any]:
    """This profile's value of every protocol setting, keyed like :data:`PROTOCOL`, from the same
    functions the pipeline uses (generation and DreamBooth settings, grid settings, the recipe), from
    the code that uses them, or (rows marked ``described``) the docstring of the code that does it."""
    from synthaug_utils.analysis import stats
    from synthaug_utils.classifier.recipe import Recipe
    from synthaug_utils.data.images import load_image
    from synthaug_utils.data.splits import training_subset
    from synthaug_utils.diffusion.dreambooth import dreambooth_settings
    from synthaug_utils.diffusion.masks import random_inpaint_masks
    from synthaug_utils.diffusion.prompts import derive_seed
    from synthaug_utils.diffusion.settings import generation_settings
    from synthaug_utils.experiments.grids import grid_settings

    gen, db, db_ddi = generation_settings(P), dreambooth_settings(P), dreambooth_settings(P, ddi=True)
    fig3, fig4, fig5, imb = (grid_settings(g, P) for g in ("fig3", "fig4", "fig5", "imbalance"))
    recipe = Recipe.from_profile(P)
    world = P.world
    values: dict[str, Callable[[], Any]] = {
        "dataset": lambda: P.dataset,
        "labels": lambda: _labels(P),
        "test_per_label": lambda: world.test_per_class if world else P.test_per_label,
        "val_per_label": lambda: P.val_per_label,
        "redraw_validation": lambda: bool(fig3.get("redraw_validation", False)),
        "n_real_grid": lambda: tuple(fig3["n_real"]),
        "nested": lambda: code_summary(training_subset),
        "ddi_dataset": lambda: P.ddi_dataset,
        "ddi_per_bin": lambda: P.ddi_per_bin,
        "text2image_model": lambda: _model_name(P.text2image_model),
        "inpaint_model": lambda: _model_name(P.inpaint_model),
        "scheduler": scheduler_name,
        "gen_steps": lambda: gen.steps,
        "guidance_scale": lambda: gen.guidance_scale,
        "gen_resolution": lambda: gen.resolution,
        "centre_crop": lambda: f"{gen.resolution} px; {code_summary(load_image)}",
        "safety_checker": lambda: (
            call_keyword("synthaug_utils.diffusion.pipelines", "load_pipeline", "safety_checker") is not None
        ),
        "prompt": lambda: gen.prompt_template,
        "mask_side_fraction": lambda: gen.mask_side_fraction,
        "strength_inpaint": lambda: gen.strength_inpaint,
        "outpaint_frame": lambda: gen.frame_px_at_512,
        "strength_outpaint": lambda: gen.strength_outpaint,
        "paste_unmasked": lambda: gen.paste_unmasked,
        "precision": lambda: gen.precision,
        "synthetic_per_real": lambda: fig3["ratio"],
        "image_seed": lambda: code_summary(derive_seed),
        "db_resolution": lambda: db.resolution,
        "db_batch_size": lambda: db.batch_size,
        "db_learning_rate": lambda: db.learning_rate,
        "db_epochs": lambda: db.epochs,
        "db_ddi_epochs": lambda: db_ddi.epochs,
        "db_weight_decay": lambda: db.weight_decay,
        "db_grad_clip": lambda: db.max_grad_norm,
        "db_prior": lambda: db.prior_preservation,
        "db_text_encoder": lambda: db.train_text_encoder,
        "include_validation": lambda: db.include_validation,
        "db_crop_scale": lambda: db.crop_scale,
        "db_crop_ratio": lambda: db.crop_ratio,
        "db_color_jitter": lambda: db.color_jitter,
        "db_hflip": lambda: db.hflip,
        "db_masks": lambda: code_summary(random_inpaint_masks),
        "variant": lambda: fig3["variant"],
        "arch": lambda: P.arch,
        "image_size": lambda: P.image_size,
        "mode": lambda: fig3["mode"],
        "trainable": lambda: _trainable(fig3["mode"]),
        "lr": lambda: recipe.lr,
        "wd": lambda: recipe.wd,
        "max_epochs": lambda: fig3["max_epochs"],
        "patience": lambda: P.patience,
        "monitor": lambda: recipe.monitor,
        "batch_rule": lambda: batch_rule_text(fig3["batch_rule"]),
        "restore_best": lambda: fig3["restore_best"],
        "seeds": lambda: len(fig3["seeds"]),
        "fig3_methods": lambda: tuple(fig3["methods"]),
        "fig3_transforms": lambda: tuple(fig3["transforms"]),
        "fig4_n_real": lambda: tuple(fig4["n_real"]),
        "fig4_ratios": lambda: tuple(fig4["ratios"]),
        "fig4_batch_rule": lambda: batch_rule_text(fig4["batch_rule"]),
        "fig4_restore_best": lambda: fig4["restore_best"],
        "fig5_methods": lambda: tuple(fig5["methods"]),
        "imbalance_n_real": lambda: imb["n_real"],
        "imbalance_cuts": lambda: tuple(imb["cuts"]),
        "imbalance_method": lambda: imb["method"],
        "embedding_model": lambda: P.embedding_model,
        "error_bars": lambda: code_summary(stats.paper_convention_interval),
        "paper_test": lambda: code_summary(stats.paper_convention_test),
        "primary": lambda: f"primary_comparison: {stats.PRIMARY_ANALYSIS_TEXT}",
        "stars": lambda: f"significance_stars: {star_thresholds()}; {code_summary(stats.benjamini_hochberg)}",
        "large_n": lambda: doc_entry(stats.PrimaryComparison, "ci_low"),
    }
    missing = [s.key for s in PROTOCOL if s.key not in values]
    if missing:
        raise KeyError(f"protocol setting(s) without a profile value: {missing}")
    return {s.key: values[s.key]() for s in PROTOCOL}


# ----------------------------------------------------------------------------- the tables
def show_value(value: Any) -> str:
    """A protocol value as the page prints it: lists comma-separated, booleans yes/no, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (tuple, list)):
        return ", ".join(show_value(v) for v in value) if value else "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))
    return a == b


def deviation(setting: ProtocolSetting, value: Any, profile_name: str) -> str:
    """'' when ``value`` equals the protocol's (or the authors' code's) value, else what differs and why.

    Where the project departs from the paper or the authors' code on every profile (``departs``), the
    text says so ("project deviation: ..."), on the paper profile too. A ``described`` value (what the
    code does, in words) is not compared."""
    if setting.described or _same(value, setting.value):
        return f"project deviation: {setting.departs}" if setting.departs else ""
    if setting.code is not None and _same(value, setting.code):
        return "follows the authors' code"
    why = setting.why_on(profile_name) if profile_name != "paper" and setting.why_on(profile_name) else None
    why = why or "set by this build's configuration"
    return f"deviates: {why}"


def methods_table(P: Profile, values: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per protocol setting: section, setting, protocol (the value), authors' code (where it
    differs), this profile, deviation and why, source (who states the protocol's value). ``values``:
    :func:`profile_values` (computed when None)."""
    values = profile_values(P) if values is None else values
    rows = [
        {
            "section": s.section,
            "setting": s.setting,
            "protocol": show_value(s.value),
            "authors' code": "" if s.code is None else show_value(s.code),
            f"profile {P.name}": show_value(values[s.key]),
            "deviation and why": deviation(s, values[s.key], P.name),
            "source": SOURCE_LABELS[s.source],
        }
        for s in PROTOCOL
    ]
    return pd.DataFrame(rows)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def _markdown_table(table: pd.DataFrame) -> list[str]:
    out = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return out + [""]


def _override(parameter: str, value: Any) -> str:
    """``overrides: {a: {b: value}}`` for the dotted ``parameter`` (YAML flow style, as a config file takes it)."""
    nested: Any = value
    for part in reversed(parameter.split(".")):
        nested = {part: nested}
    return "overrides: " + yaml.safe_dump(nested, default_flow_style=True, allow_unicode=True).strip()


def choices_table(P: Profile, values: dict[str, Any] | None = None) -> pd.DataFrame:
    """The settings with a profile override between the paper's text and the authors' code: setting,
    the paper's text, the authors' code, this profile's value, and the override that gives the other value
    (the paper's where it states one)."""
    values = profile_values(P) if values is None else values
    chosen = [s for s in PROTOCOL if s.parameter]
    rows = []
    for s in chosen:
        paper, code = (s.value, s.code) if s.source == PAPER else (None, s.value)
        other = paper if paper is not None else (not code if isinstance(code, bool) else None)
        rows.append(
            {
                "setting": s.setting,
                "the paper's text": "not stated" if paper is None else show_value(paper),
                "the authors' code": show_value(code),
                f"profile {P.name}": show_value(values[s.key]),
                "override for the other value": "" if other is None else f"`{_override(s.parameter, other)}`",
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- level and power
def _rate(table: pd.DataFrame, test: str, seeds: int, images: int, sigma: float, effect: float) -> float | None:
    hit = table[
        (table.test == test)
        & (table.seeds == seeds)
        & (table.images == images)
        & np.isclose(table.sigma, sigma)
        & np.isclose(table.effect_pp, effect)
    ]
    return float(hit.rejection_rate.iloc[0]) if len(hit) else None


def _pct(rate: float | None) -> str:
    return "-" if rate is None or not np.isfinite(rate) else f"{rate * 100:.1f}%"


def level_power_markdown(path: str | Path | None = None) -> str:
    """The level-and-power section's body: a compact table of the benchmark's rejection rates (level at
    effect 0, power at its nonzero effect; one column per per-run SD sigma) and a sentence with the
    numbers of :data:`LEVEL_DESIGN` and :data:`POWER_SEEDS`. ``path`` defaults to
    :data:`LEVEL_RESULTS` under the repository root; without the file the section says so."""
    from synthaug_utils.core.paths import project_root

    root = project_root()
    path = Path(path) if path is not None else (root / LEVEL_RESULTS if root is not None else None)
    if path is None or not path.is_file():
        return (
            f"Level and power: benchmark not run (`python benchmarks/primary_level.py` writes "
            f"`{LEVEL_RESULTS.as_posix()}`).\n"
        )
    table = pd.read_csv(path)
    missing = sorted(set(LEVEL_COLUMNS) - set(table.columns))
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {list(LEVEL_COLUMNS)}")
    effects = sorted(set(table.effect_pp[table.effect_pp != 0]))
    effect = effects[0] if effects else None
    sigmas = sorted(set(table.sigma))
    rows = []
    for (test, seeds, images), g in table.groupby(["test", "seeds", "images"], sort=False):
        cells = {
            f"σ = {s:g}": f"{_pct(_rate(g, test, seeds, images, s, 0.0))} / "
            f"{_pct(None if effect is None else _rate(g, test, seeds, images, s, effect))}"
            for s in sigmas
        }
        rows.append(
            {
                "test": test,
                "seeds × images": f"{seeds} × {images}",
                "replicates": ", ".join(str(r) for r in sorted(set(g.replicates))),
                **cells,
            }
        )
    power = "-" if effect is None else f"{effect:+g} pp"
    out = [
        f"Rejection rates at p < 0.05 over simulated runs (`{LEVEL_RESULTS.as_posix()}`, written by "
        f"`benchmarks/primary_level.py`); each cell is the level (no true effect: how often a star is wrong) / the "
        f"power (a true gain of {power}); σ is the SD of each run's own logit shift.\n",
        *_markdown_table(pd.DataFrame(rows)),
    ]
    d = LEVEL_DESIGN
    level, former = (_rate(table, t, d["seeds"], d["images"], d["sigma"], 0.0) for t in (PRIMARY_TEST, FORMER_TEST))
    sentence = []
    if level is not None:
        against = f", against {_pct(former)} with the former GEE" if former is not None else ""
        sentence.append(
            f"At {d['seeds']} seeds × {d['images']} test images and σ = {d['sigma']:g}, a star is wrong in "
            f"{_pct(level)} of comparisons without a true effect with the primary analysis{against}"
        )
    powers = (
        [(k, _rate(table, PRIMARY_TEST, k, d["images"], d["sigma"], effect)) for k in POWER_SEEDS]
        if effect is not None
        else []
    )
    powers = [(k, r) for k, r in powers if r is not None]
    if powers:
        listed = " and ".join(f"{_pct(r)} with {k} seeds" for k, r in powers)
        sentence.append(
            f"a true gain of {power} earns a star in {listed} ({d['images']} test images, σ = {d['sigma']:g})"
        )
    if sentence:
        out.append("; ".join(sentence) + ".\n")
    return "\n".join(out)


def primary_analysis_markdown(P: Profile) -> str:
    """Why the primary analysis is primary, what it does with fewer than three seeds (its own notes), how
    many seeds this build runs, and its level and power."""
    from synthaug_utils.analysis.stats import primary_comparison
    from synthaug_utils.experiments.grids import grid_settings

    seeds = len(grid_settings("fig3", P)["seeds"])
    own = few_seed_note(seeds)
    runs = f"This build runs {seeds} seed{'s' if seeds != 1 else ''} per setting in Fig. 3" + (
        f" ({own})." if own else "."
    )
    fewer = "; ".join(doc_bullets(primary_comparison))
    return "\n".join(
        [
            "## Why this primary analysis\n",
            PRIMARY_ANALYSIS_WHY + "\n",
            f"With few seeds (primary_comparison's docstring): {fewer}. {runs}\n",
            "### Level and power\n",
            level_power_markdown(),
        ]
    )


# ----------------------------------------------------------------------------- the page
def methods_markdown(P: Profile) -> str:
    """The Methods page (MyST Markdown): one table per protocol section, the choices between the paper's
    text and the authors' code, and the primary analysis."""
    values = profile_values(P)
    table = methods_table(P, values)
    deviating = int(table["deviation and why"].str.startswith("deviates").sum())
    project = int(table["deviation and why"].str.startswith("project deviation").sum())
    from synthaug_utils.presentation.profile_box import profile_box

    out = [
        f"# {chapters.METHODS.title}\n",
        profile_box(P, chapters.METHODS.id) + "\n",
        "Every setting of the paper's protocol: the protocol's value and who states it (source: the paper; the "
        "authors' "
        "code where the paper is silent; the project where neither is), the authors' code's value where it differs, "
        "and "
        f"the value this build used (profile `{P.name}`: {P.description.rstrip('.')}), read from the profile and the "
        "code "
        "the pipeline runs. Rows that describe what the code does (the statistics, and code paths without a setting) "
        "quote "
        "the docstring of the function that does it. The page is generated from the project's protocol table "
        "(`synthaug_utils.core.protocol`) by "
        f"`synthaug book`; {deviating} of {len(table)} settings deviate on this profile, each with the reason, and "
        f"{project} are the project's own deviations on every profile.\n",
    ]
    columns = [c for c in table.columns if c != "section"]
    for section, rows in table.groupby("section", sort=False):
        out.append(f"## {section}\n")
        out += _markdown_table(rows[columns])
    out += [
        "## Where the paper's text and the authors' code differ\n",
        "The project follows the authors' code by default and exposes the other value as a profile override (in a "
        "config file's `overrides:` or the notebooks' `overrides` parameter):\n",
    ]
    choices = choices_table(P, values)
    out += ["| " + " | ".join(choices.columns) + " |", "|" + "---|" * len(choices.columns)]
    out += [
        "| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in choices.itertuples(index=False)
    ] + [""]
    out.append(primary_analysis_markdown(P))
    out.append(thresholds_markdown())
    out.append(synthetic_source_markdown(P))
    out.append(chapters_markdown())
    return "\n".join(out) + "\n"


def thresholds_markdown() -> str:
    """The section listing the project's thresholds and margins (the settings source's ``THRESHOLDS``): what
    each decides, its value, why, and the module that reads it."""
    rows = pd.DataFrame(
        [
            {
                "threshold": f"`{name}`",
                "value": show_value(t.value),
                "what it decides": t.what,
                "why": t.why,
                "source": SOURCE_LABELS.get(t.source, t.source),
                "read by": f"`{t.used_by}`",
            }
            for name, t in profiles.THRESHOLDS.items()
        ]
    )
    return "\n".join(
        [
            "## Project thresholds\n",
            "The thresholds and margins of the project's own checks and statements (the paper states none of them), "
            "the same on every profile. The table is the settings source (`synthaug_utils.core.profiles`).\n",
            *_markdown_table(rows),
        ]
    )


def _codes(names) -> str:
    return ", ".join(f"`{n}`" for n in names) or "-"


def chapters_markdown() -> str:
    """The section naming, for each chapter, what it needs and runs, from the chapter registry."""
    from synthaug_utils.core.inputs import DATA_SLOTS

    slots = "; ".join(f"`{slot}`: `{byo[0]}`, or {_codes(real)}" for slot, (byo, real) in DATA_SLOTS.items())
    out = [
        "## The chapters: inputs, grids and order\n",
        "What each chapter reads on the paper profile (its datasets and model weights), the grids it runs and the "
        "chapters it starts after: the first chapter (it prepares the data), and those whose results it reads. A "
        "chapter missing a required input is not run: its page says what is missing and how to supply it. Inputs are "
        f"location keys of the config file or data slots ({slots}). The table is the project's chapter registry "
        "(`synthaug_utils.core.chapters`), which also writes the book's table of contents.\n",
        "| chapter | requires | uses when present | grids | starts after |",
        "|---|---|---|---|---|",
    ]
    first, *_ = chapters.notebooks()
    for c in chapters.notebooks():
        reads = [chapters.get(r) for r in ((first.id, *c.reads) if c != first else c.reads)]
        short = ", ".join(re.split(r" \(|:", r.title)[0] for r in reads)  # a title up to its colon or figures
        after = "every other chapter" if c.reads_book else short or "-"
        out.append(f"| {_cell(c.title)} | {_codes(c.requires)} | {_codes(c.optional)} | {_codes(c.grids)} | {after} |")
    return "\n".join(out) + "\n"


def write_methods_page(book_dir: Path, P: Profile) -> Path:
    """Write ``<book_dir>/methods.md`` for this build's profile; return its path."""
    from synthaug_utils.core.files import atomic_write_text

    book_dir.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(book_dir / METHODS_PAGE, methods_markdown(P))
