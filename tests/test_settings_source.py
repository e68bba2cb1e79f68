"""The settings source (core/profiles.py): one validator on every path, the code's defaults and the protocol
table read from it, and one version for every stored key."""

from __future__ import annotations

import dataclasses

import pytest

from synthaug_utils.classifier.recipe import Recipe, RecipeError
from synthaug_utils.cli import main
from synthaug_utils.core import identity, profiles
from synthaug_utils.core.config import ProfileError, load_profile
from synthaug_utils.core.protocol import PROTOCOL

BAD = [({"patience": 0}, "patience=0"), ({"image_size": 1}, "image_size=1")]


# ----------------------------------------------------------------------------- one validator, every path
@pytest.mark.parametrize("overrides, named", BAD + [({"grids": {"fig33": {"seeds": [0]}}}, "'fig33'")])
def test_papermill_overrides_are_refused_naming_the_setting(overrides, named):
    """The notebooks call load_profile(profile, config, overrides) with papermill's parameters."""
    with pytest.raises(ProfileError) as info:
        load_profile("demo", None, overrides)
    message = str(info.value)
    assert named in message and "\n" not in message
    if "grids" in overrides:
        assert "did you mean 'fig3'" in message


@pytest.mark.parametrize("overrides, named", BAD + [({"grids": {"fig33": {"seeds": [0]}}}, "'fig33'")])
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
    minimum = profiles.RULES[name].minimum
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
