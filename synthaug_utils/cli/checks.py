"""Checks of the command line's arguments, run before any work starts (no kernel, model load or cluster).

:func:`check_args` runs for every subcommand (called by :func:`synthaug_utils.cli.main`
before the subcommand's function). It knows the arguments by their names, so a
subcommand gets its checks by naming an argument like the others do:

- ``profile``, ``config``, ``overrides``: the profile is loaded (unknown profile, missing
  or invalid config file, unknown config keys, override JSON, unknown or mistyped
  override fields, unknown grid settings);
- ``out``, ``store``, ``root``: an output folder (an existing file, or a path below
  one, is refused; so is a folder that cannot be created or written);
- ``manifest``: a synthetic-set folder or ``manifest.csv`` that exists;
- ``executor``: one of the accepted forms (:func:`synthaug_utils.experiments.executors.parse_executor`);
  nothing is contacted here;
- counts and seeds (:data:`MINIMUM`): integers at or above a minimum.

Each failure raises :class:`UsageError` whose one-line message names the parameter,
the value and what is accepted; the command line prints it and exits with code 2.
Subcommands add checks that need their own knowledge (chapters of the book, trial
specs, image files) at the start of their functions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.rules import RULES, setting_problem


class UsageError(UserFacingError, ValueError):
    """A command-line argument is invalid (the message names it, its value and what is accepted)."""


# The training settings an argument may set are checked by their rule in the settings source (as overrides,
# config files and recipes are); the other counts and seeds: argument name -> smallest accepted integer.
SETTING_ARGUMENTS = ("max_epochs", "patience", "image_size", "batch_size", "views")
MINIMUM: dict[str, float] = {
    "threads": 1,
    "jobs": 1,
    "n_real": 1,
    "per_image": 1,
    "n_per_label": 1,
    "ratio": 0,
    "duplicate": 0,
    "split_seed": 0,
    "seed": 0,
    "shard_size": 1,
    **{name: RULES[name].minimum for name in SETTING_ARGUMENTS},
}
OUTPUT_FOLDERS = ("out", "store", "root")


def option(name: str) -> str:
    """The command-line spelling of an argument name (``n_real`` -> ``--n-real``)."""
    return "--" + name.replace("_", "-")


def parse_overrides(text: str | None, name: str = "--overrides") -> dict | None:
    """The JSON object of ``--overrides`` (None when not given), with its fields checked
    (:func:`synthaug_utils.core.config.check_overrides`); UsageError naming the value otherwise."""
    if text is None or text == "":
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{name} {text!r} is not valid JSON ({exc.msg} at character {exc.pos + 1}); "
            f"give a JSON object of profile fields, e.g. '{{\"seeds\": [0, 1]}}'"
        ) from None
    from synthaug_utils.core.config import check_overrides

    check_overrides(value, where=f"{name} {text!r}")
    return value


def check_output_folder(value: str, name: str) -> None:
    """Refuse an output folder that is an existing file, lies below a file, or cannot be created or written."""
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(
            f"{name} {value!r} is an existing file, not a folder; give a folder (it is created when missing)"
        )
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{name} {value!r}: {existing} is a file, so the folder cannot be created; give a folder path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{name} {value!r}: {existing} is not writable; give a folder you can write to")


def check_manifest(value: str, name: str = "--manifest") -> None:
    """Refuse a synthetic-set manifest (folder with manifest.csv, or the CSV) that does not exist."""
    from synthaug_utils.synthetic.manifest import manifest_file

    csv = manifest_file(Path(value).expanduser())
    if not csv.is_file():
        raise UsageError(
            f"{name} {value!r}: no synthetic manifest at {csv}; give a synthetic-set folder holding manifest.csv "
            f"(made by synthaug generate) or the CSV itself"
        )


def check_number(name: str, value: Any) -> None:
    """Refuse a count or seed below :data:`MINIMUM`, and a training setting its rule refuses."""
    problem = setting_problem(name, value) if name in SETTING_ARGUMENTS else None
    if problem:
        raise UsageError(f"{option(name)} {value}: {problem}")
    low = MINIMUM[name]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < low:
        raise UsageError(f"{option(name)} {value}: must be an integer >= {low:g}")


def check_grid_settings(profile) -> None:
    """Refuse ``grids`` overrides of the generation and DreamBooth stages whose values their settings refuse
    (the grids' setting names and values, and the stages' setting names, were checked by load_profile)."""
    if "generation" in profile.grids:
        from synthaug_utils.diffusion.settings import generation_settings

        generation_settings(profile)
    if "dreambooth" in profile.grids:
        from synthaug_utils.diffusion.dreambooth import dreambooth_settings

        dreambooth_settings(profile)


def check_args(args) -> None:
    """Check every argument the subcommand has (see the module docstring); raises UsageError / ProfileError."""
    values = vars(args)
    for name in MINIMUM:
        if values.get(name) is not None and not isinstance(values[name], (list, tuple)):
            check_number(name, values[name])
    if values.get("connect_timeout") is not None and not values["connect_timeout"] > 0:
        raise UsageError(f"--connect-timeout {values['connect_timeout']}: must be a number of seconds > 0")
    if values.get("executor") is not None:
        from synthaug_utils.experiments.executors import parse_executor

        try:
            parse_executor(values["executor"], name="--executor")
        except UserFacingError as exc:
            raise UsageError(str(exc)) from None
    for name in OUTPUT_FOLDERS:
        if values.get(name):
            check_output_folder(values[name], option(name))
    if values.get("manifest"):
        check_manifest(values["manifest"])
    overrides = parse_overrides(values["overrides"]) if isinstance(values.get("overrides"), str) else None
    if "profile" in values:
        from synthaug_utils.core.config import PROFILES, load_profile

        if values["profile"] not in PROFILES:
            raise UsageError(f"--profile {values['profile']!r} is not a profile; choose one of {sorted(PROFILES)}")

        check_grid_settings(load_profile(values["profile"], values.get("config"), overrides))
