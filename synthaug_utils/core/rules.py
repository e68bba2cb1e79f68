"""The one validator: what every setting a user can override accepts, checked on every path (command line,
config file, papermill overrides, training recipes).

- :data:`RULES`: the profile's fields and the training recipe's (type, bounds, allowed values);
- :data:`GRID_RULES`: the settings inside each figure grid, and :func:`grid_setting_names`, the names each grid
  accepts (the paper's grid tables and each profile's grid sizes in :mod:`synthaug_utils.core.profiles`);
- :data:`WORLD_RULES`: the embedded stand-in world's settings.

:func:`setting_problem`, :func:`grid_problem` and :func:`rule_problem` apply them; ``core.config.check_overrides``
and ``classifier.recipe.Recipe`` call them.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from synthaug_utils.core.profiles import DEMO_GRIDS, PAPER, PAPER_GRIDS, SMOKE_GRIDS
from synthaug_utils.core.vocabulary import BATCH_RULES, BUDGET_ARMS, GRIDS, METHODS, MODES, MONITORS, VARIANTS


@dataclass(frozen=True)
class Rule:
    """What a setting accepts: ``kind`` (int, number, positive, bool, str, mapping, ints: a non-empty list of
    integers), ``minimum`` and ``maximum`` (numbers; every item of ints), ``choices`` (allowed values with
    what each means), ``nullable`` (None too), ``many`` (one value or a list of such values)."""

    kind: str
    minimum: float | None = None
    choices: Mapping[str, str] | None = None
    maximum: float | None = None
    nullable: bool = False
    many: bool = False


_MONITOR_CHOICES = {"valid_loss": "the authors' code", "accuracy": "validation accuracy, the paper's text"}
assert set(_MONITOR_CHOICES) == set(MONITORS)

RULES: dict[str, Rule] = {
    # profile fields
    "val_per_label": Rule("int", 1),
    "ddi_per_bin": Rule("int", 1),
    "test_per_label": Rule("int", 1),
    "image_size": Rule("int", 16),
    "max_epochs": Rule("int", 1),
    "patience": Rule("int", 1),
    "n_real_grid": Rule("ints", 1),
    "seeds": Rule("ints", 0),
    "gen_resolution": Rule("int", 8),
    "gen_steps": Rule("int", 1),
    "guidance_scale": Rule("number", 0),
    "synthetic_per_real": Rule("int", 0),
    "dreambooth_ddi_epochs": Rule("int", 1),
    "early_stopping_metric": Rule("str", choices=_MONITOR_CHOICES),
    # classifier recipe fields
    "monitor": Rule("str", choices=_MONITOR_CHOICES),
    "mode": Rule("str", choices={m: "" for m in MODES}),
    "batch_rule": Rule("str", choices={r: "" for r in BATCH_RULES}),
    "lr": Rule("positive"),
    "wd": Rule("number", 0),
    "batch_size": Rule("int", 1),
    "views": Rule("int", 1),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def rule_problem(rule: Rule, value: Any) -> str | None:
    """What is wrong with ``value`` under ``rule`` (None when it fits)."""
    if value is None and rule.nullable:
        return None
    if rule.many and isinstance(value, (list, tuple)):
        one = dataclasses.replace(rule, many=False, nullable=False)
        problems = [(item, rule_problem(one, item)) for item in value]
        return next((f"a list whose item {item!r} is {p}" for item, p in problems if p), None)
    low, high = rule.minimum, rule.maximum
    if rule.choices is not None:
        if isinstance(value, str) and value in rule.choices:
            return None
        meaning = "; ".join(f"{v}: {what}" for v, what in rule.choices.items() if what)
        return f"not one of {list(rule.choices)}" + (f" ({meaning})" if meaning else "")
    if rule.kind == "bool":
        return None if isinstance(value, bool) else "not true or false"
    if rule.kind == "str":
        return None if isinstance(value, str) else "not a string"
    if rule.kind == "mapping":
        return None if isinstance(value, Mapping) else "not a mapping"
    if rule.kind == "ints":
        if not isinstance(value, (list, tuple)) or not value or not all(_is_int(v) for v in value):
            return "not a non-empty list of integers, e.g. [0, 1]"
        return None if low is None or min(value) >= low else f"not a list of integers >= {low:g}"
    if rule.kind == "positive":
        return None if _is_number(value) and value > 0 else "not a number > 0"
    ok = _is_int(value) if rule.kind == "int" else _is_number(value)
    if not ok:
        return "not an integer" if rule.kind == "int" else "not a number"
    if low is not None and value < low:
        return f"below the minimum {low:g}"
    return None if high is None or value <= high else f"above the maximum {high:g}"


def setting_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for setting ``name`` under :data:`RULES` (None when it fits or the
    setting has no rule)."""
    rule = RULES.get(name)
    return None if rule is None else rule_problem(rule, value)


# ----------------------------------------------------------------------------- grid settings
# Every grid takes the common settings (the profile's seeds, ratio, mode, views, recipe, epochs, sizes, and the
# paper's common grid settings) and its own paper settings; the controls take Fig. 3's without its methods, and
# their own; the imbalance controls take the imbalance grid's, and their own. Each profile's grid sizes (the
# ``grid_defaults`` tables above) may name only these.
GRID_COMMON = ("seeds", "ratio", "mode", "views", "restore_best", "batch_rule", "max_epochs", "n_real")
GRID_OWN: dict[str, tuple[str, ...]] = {
    "controls": (
        "duplicate_ratio",
        "budget_n",
        "budget_methods",
        "budget_ratio",
        "budget_transforms",
        "budget_variants",
    ),
    "imbalance-controls": ("enabled", "budget_cuts", "budget_variants"),
}
FAITHFUL_SAMPLE = "faithful_sample"  # the faithful twins a fast-mode grid also runs (any grid)


def grid_setting_names(grid: str) -> set[str]:
    """The settings grid ``grid`` (one of :data:`~synthaug_utils.core.vocabulary.GRIDS`) accepts."""
    if grid == "controls":
        base = grid_setting_names("fig3") - {"methods"}
    elif grid == "imbalance-controls":
        base = grid_setting_names("imbalance")
    else:
        base = {*GRID_COMMON, *PAPER["grids"], *PAPER.get(grid, {})}
    sized = (name for table in (PAPER_GRIDS, DEMO_GRIDS, SMOKE_GRIDS) for name in table.get(grid, {}))
    return base | set(sized) | set(GRID_OWN.get(grid, ())) | {FAITHFUL_SAMPLE}


def _names(kind: str, names) -> Rule:
    return Rule(kind, choices={n: "" for n in names}, many=True)


# What each grid setting accepts (one value or a list where the grid takes several).
GRID_RULES: dict[str, Rule] = {
    "seeds": Rule("int", 0, many=True),
    "ratio": Rule("int", 0),
    "mode": RULES["mode"],
    "views": RULES["views"],
    "restore_best": Rule("bool"),
    "batch_rule": RULES["batch_rule"],
    "max_epochs": RULES["max_epochs"],
    "n_real": Rule("int", 1, nullable=True, many=True),
    "transforms": Rule("bool", many=True),
    "variant": Rule("str", choices={v: "" for v in VARIANTS}),
    "split_seed": Rule("int", 0),
    "subset_seed": Rule("int", 0, nullable=True),
    "methods": _names("str", METHODS),
    "ratios": Rule("int", 0, many=True),
    "method": Rule("str", choices={m: "" for m in METHODS}),
    "rare_labels": Rule("str", nullable=True, many=True),
    "cuts": Rule("int", 1, many=True),
    "controls": _names("str", PAPER["imbalance"]["controls"].value),
    "redraw_validation": Rule("bool"),
    "enabled": Rule("bool"),
    "budget_cuts": Rule("int", 1, many=True),
    "budget_variants": _names("str", BUDGET_ARMS),
    "duplicate_ratio": Rule("int", 0),
    "budget_n": Rule("int", 1, many=True),
    "budget_methods": _names("str", METHODS),
    "budget_ratio": Rule("int", 0),
    "budget_transforms": Rule("bool", many=True),
    FAITHFUL_SAMPLE: Rule("mapping"),
}
assert set(GRID_RULES) == set().union(*(grid_setting_names(g) for g in GRIDS))


def grid_problem(grid: str, settings: Mapping[str, Any]) -> str | None:
    """What is wrong with the ``settings`` override of grid ``grid``: an unknown name, or a value its rule in
    :data:`GRID_RULES` refuses (None when they fit)."""
    known = grid_setting_names(grid)
    unknown = sorted(set(settings) - known)
    if unknown:
        return f"not valid: {grid!r} has unknown setting(s) {unknown} (known: {sorted(known)})"
    for name, value in settings.items():
        problem = rule_problem(GRID_RULES[name], value)
        if problem:
            return f"not valid: {grid}.{name}={value!r} is {problem}"
    return None


# What each demo world setting accepts (overrides ``world: {name: value}``).
WORLD_RULES: dict[str, Rule] = {
    **{name: Rule("int", 1) for name in ("train_pool_per_class", "test_per_class", "pretrain_per_class", "ddi_total")},
    "image_size": Rule("int", 16),
    "seed": Rule("int", 0),
    "near_duplicate_rate": Rule("number", 0, maximum=1, nullable=True),
}
