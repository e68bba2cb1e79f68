"""The install files agree with each other and the CLI entry point exists."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_deps() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["test"]


def test_environment_yml_lists_the_same_pinned_dependencies():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_entries = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip_deps = [d for d in pip_entries if not d.startswith("-e")]

    def norm(deps):
        return sorted(re.sub(r"[-_.]+", "-", d.lower()) for d in deps)

    assert norm(pip_deps) == norm(_pyproject_deps())


def test_every_dependency_is_pinned_and_torch_is_the_required_release():
    deps = _pyproject_deps()
    assert all("==" in d for d in deps), [d for d in deps if "==" not in d]
    assert "torch==2.14.1" in deps and "torchvision==0.29.1" in deps


def test_console_script_and_ci_use_the_readme_test_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["synthaug"] == "synthaug_utils.cli:main"
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_book_config_renders_executed_notebooks_only():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    from synthaug_utils.presentation.book import chapter_names

    files = chapter_names(ROOT / "_toc.yml")
    assert len(files) >= 8
    for f in files:
        name = Path(f).name
        if name[:2].isdigit():
            assert (ROOT / "notebooks" / f"{name}.py").is_file(), f"{name} has no jupytext source"


def test_every_subpackage_is_packaged():
    """A fresh ``pip install .`` ships every folder of the package: each one is listed in pyproject.toml."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "synthaug_utils").rglob("__init__.py")}
    assert found == listed, (
        f"pyproject.toml [tool.setuptools] packages: missing {sorted(found - listed)}, extra {sorted(listed - found)}"
    )
