"""The settings source (core/profiles.py): one validator on every path, the code's defaults and the protocol
table read from it, and one version for every stored key."""

from __future__ import annotations

import dataclasses

import pytest

from synthaug_utils.classifier.recipe import Recipe, RecipeError
from synthaug_utils.cli import main
from synthaug_utils.core import identity, profiles, rules
from synthaug_utils.core.config import ProfileError, load_profile
from synthaug_utils.core.protocol import PROTOCOL

BAD = [({"patience": 0}, "patience=0"), ({"image_size": 1}, "image_size=1")]
# Inside a known grid: an unknown setting name, a value its rule refuses; and the demo world's settings.
GRID_BAD = [
    ({"grids": {"fig33": {"seeds": [0]}}}, "'fig33'"),
    ({"grids": {"fig3": {"cuts": [2]}}}, "'fig3' has unknown setting(s) ['cuts']"),
    ({"grids": {"fig4": {"ratios": [0, -1]}}}, "fig4.ratios=[0, -1] is a list whose item -1 is below the minimum 0"),
    ({"grids": {"imbalance": {"method": "inpainting"}}}, "imbalance.method='inpainting' is not one of"),
    ({"world": {"near_duplicate_rate": 1.5}}, "world.near_duplicate_rate=1.5 is above the maximum 1"),
]


# ----------------------------------------------------------------------------- one validator, every path
@pytest.mark.parametrize("overrides, named", BAD + GRID_BAD)
def test_papermill_overrides_are_refused_naming_the_setting(overrides, named):
    """The notebooks call load_profile(profile, config, overrides) with papermill's parameters."""
    with pytest.raises(ProfileError) as info:
        load_profile("demo", None, overrides)
    message = str(info.value)
    assert named in message and "\n" not in message
    if "fig33" in overrides.get("grids", {}):
        assert "did you mean 'fig3'" in message


@pytest.mark.parametrize("overrides, named", BAD + GRID_BAD)
def test_config_file_overrides_are_refused_naming_the_setting(tmp_path, overrides, named):
    import yaml

    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"overrides": overrides}))
    with pytest.raises(ProfileError, match=str(config)) as info:
        load_profile("smoke", config)
    assert named in str(info.value)


@pytest.mark.parametrize(
    "argv, named",
    [
        (["trial", "--profile", "smoke", "--patience", "0"], "--patience 0"),
        (["trial", "--profile", "smoke", "--image-size", "1"], "--image-size 1"),
        (["book", "--profile", "smoke", "--overrides", '{"patience": 0}'], "patience=0"),
        (["book", "--profile", "smoke", "--overrides", '{"grids": {"fig33": {}}}'], "'fig33'"),
        (["book", "--profile", "smoke", "--overrides", '{"grids": {"fig3": {"cuts": [2]}}}'], "['cuts']"),
        (["book", "--profile", "smoke", "--overrides", '{"grids": {"fig4": {"ratios": [-1]}}}'], "fig4.ratios"),
    ],
)
def test_command_line_refuses_them_in_one_line(argv, named, capsys, tmp_path):
    """Checked before any work: the book is not built, no trial trains."""
    assert main(argv + (["--root", str(tmp_path)] if argv[0] == "book" else [])) == 2
    assert not any(tmp_path.iterdir())
    err = capsys.readouterr().err.strip()
    assert err.startswith("synthaug: error: ") and "\n" not in err and named in err, err


@pytest.mark.parametrize("changes", [{"patience": 0}, {"image_size": 1}])
def test_recipes_apply_the_same_rules(changes):
    name, value = next(iter(changes.items()))
    with pytest.raises(RecipeError, match=f"{name}={value}"):
        Recipe(**changes)
    minimum = rules.RULES[name].minimum
    Recipe(**{name: int(minimum)})  # the smallest value the rule accepts is a valid recipe
    load_profile("demo", overrides={name: int(minimum)})


def test_stage_settings_are_checked_when_the_profile_loads():
    from synthaug_utils.core.config import STAGE_SETTINGS
    from synthaug_utils.diffusion.dreambooth import DreamBoothSettings
    from synthaug_utils.diffusion.settings import GenerationSettings

    assert STAGE_SETTINGS["generation"] == {f.name for f in dataclasses.fields(GenerationSettings)}
    assert STAGE_SETTINGS["dreambooth"] == {f.name for f in dataclasses.fields(DreamBoothSettings)}
    with pytest.raises(ProfileError, match="'generation' has unknown setting"):
        load_profile("demo", None, {"grids": {"generation": {"stepz": 3}}})


# ----------------------------------------------------------------------------- code defaults and the protocol
def test_settings_defaults_are_the_sources_values():
    from synthaug_utils.diffusion.demo_pretrain import PretrainSettings
    from synthaug_utils.diffusion.dreambooth import DreamBoothSettings, dreambooth_settings
    from synthaug_utils.diffusion.settings import GenerationSettings, generation_settings

    generation, dreambooth = GenerationSettings(), DreamBoothSettings()
    assert generation.steps == profiles.paper("generation", "steps") == 50
    assert dreambooth.learning_rate == profiles.paper("dreambooth", "learning_rate")
    assert PretrainSettings().unet_steps == profiles.pretraining("unet_steps")
    paper, demo = load_profile("paper"), load_profile("demo")
    assert dataclasses.asdict(generation_settings(paper)) == {
        **dataclasses.asdict(generation),
        **{name: setting.value for name, setting in profiles.PAPER["generation"].items()},
        "device": "cuda",
    }
    for name, change in profiles.DEMO["dreambooth"].items():
        assert getattr(dreambooth_settings(demo), name) == change.value
    assert demo.gen_steps == profiles.DEMO["generation"]["steps"].value


def test_protocol_whys_agree_with_the_profiles_values():
    """The drifted whys: the demo generates in float32 on every machine, with as many steps as it says."""
    rows = {s.key: s for s in PROTOCOL}
    demo = load_profile("demo")
    assert "bfloat16 where" not in rows["precision"].why_on("demo")
    assert "float32 on every machine" in rows["precision"].why_on("demo")
    assert f"beyond {demo.gen_steps} steps" in rows["gen_steps"].why_on("demo")
    assert rows["gen_steps"].value == load_profile("paper").gen_steps
    assert rows["max_epochs"].why_on("smoke") == profiles.TOY  # the smoke profile's own reason


# ----------------------------------------------------------------------------- one key version
def test_key_version_changes_every_stored_key(monkeypatch):
    from synthaug_utils.diffusion.dreambooth import DreamBoothSettings
    from synthaug_utils.diffusion.settings import GenerationSettings
    from synthaug_utils.experiments.spec import TrialSpec

    def keys():
        return GenerationSettings().key(), DreamBoothSettings().key(), TrialSpec(dataset="demo-derm9").key

    before = keys()
    assert keys() == before  # stable
    monkeypatch.setattr(identity, "KEY_VERSION", identity.KEY_VERSION + 1)
    assert all(a != b for a, b in zip(before, keys(), strict=True))


# ----------------------------------------------------------------------------- grids, the demo world, the rehearsal
def test_grid_rules_cover_exactly_what_the_grids_resolve():
    """The source's grid setting names are the settings the grids' code resolves on some profile, and every
    resolved value (paper values, each profile's sizes) fits its rule: the validator cannot drift from the grids."""
    from synthaug_utils.core.vocabulary import GRIDS
    from synthaug_utils.experiments.grids import grid_settings

    loaded = [load_profile(name) for name in ("demo", "smoke", "paper")]
    for grid in GRIDS:
        resolved = [grid_settings(grid, P) for P in loaded]
        assert rules.grid_setting_names(grid) == set().union(*resolved) | {rules.FAITHFUL_SAMPLE}, grid
        for settings in resolved:
            assert rules.grid_problem(grid, settings) is None, grid
    with pytest.raises(ProfileError, match=r"fig5.n_real=0 is below the minimum 1"):
        load_profile("smoke", overrides={"grids": {"fig5": {"n_real": 0}}})
    assert load_profile("smoke", overrides={"grids": {"fig5": {"n_real": None}}}).grids["fig5"]["n_real"] is None


def test_the_demo_worlds_settings_come_from_the_source_and_are_overridable():
    from synthaug_utils.core.config import DemoWorldSpec

    assert dataclasses.asdict(DemoWorldSpec()) == {name: s.value for name, s in profiles.DEMO_WORLD.items()}
    assert set(rules.WORLD_RULES) == set(profiles.DEMO_WORLD)
    smoke = load_profile("smoke")
    planted = load_profile("smoke", overrides={"world": {"near_duplicate_rate": 0.25}})
    assert planted.world == dataclasses.replace(smoke.world, near_duplicate_rate=0.25)
    assert planted.world.key() != smoke.world.key()  # a changed world is drawn apart
    with pytest.raises(ProfileError, match="world.near_duplicate_rate='high' is not a number"):
        load_profile("smoke", overrides={"world": {"near_duplicate_rate": "high"}})


def test_the_rehearsal_overrides_come_from_the_source_and_pass_the_validator():
    from synthaug_utils.rehearsal import run

    assert run.REHEARSAL_OVERRIDES == {name: change.value for name, change in profiles.REHEARSAL.items()}
    fresh = profiles.overrides(profiles.REHEARSAL)
    fresh["grids"]["fig3"]["n_real"].append(99)  # a caller's change does not reach the source
    assert profiles.REHEARSAL["grids"].value["fig3"]["n_real"] == [1, 2]
    for extra in ({}, run.BYO_OVERRIDES):
        paper = load_profile("paper", overrides=run._merge(run.REHEARSAL_OVERRIDES, extra))
        assert paper.image_size == profiles.REHEARSAL["image_size"].value
    assert all(change.why for change in (*profiles.REHEARSAL.values(), *profiles.REHEARSAL_BYO.values()))


# ----------------------------------------------------------------------------- project thresholds
def test_thresholds_are_read_from_the_source_and_shown_on_the_methods_page():
    import importlib

    from synthaug_utils.presentation.methods import thresholds_markdown

    page = thresholds_markdown()
    for name, threshold in profiles.THRESHOLDS.items():
        module = importlib.import_module(f"synthaug_utils.{threshold.used_by}")
        assert getattr(module, name) == threshold.value, name
        assert threshold.source == profiles.PROJECT and threshold.why and threshold.what
        assert f"| `{name}` |" in page
