"""Stored results and caches keep their names (issue 13): every trial key of every named grid,
the generation and DreamBooth settings keys, the synthetic-set and DreamBooth folder names and the
demo generator's pretraining settings equal the golden file ``tests/data/stored_keys.json``.

A changed key silently re-runs stored trials, regenerates synthetic sets or fine-tunes again.
Regenerate the golden file only for a deliberate change of a key:
``SYNTHAUG_CACHE=/tmp/k PYTHONPATH=. python tests/stored_keys.py > tests/data/stored_keys.json``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_stored_keys_and_cache_names_are_unchanged(monkeypatch):
    from synthaug_utils.core.config import PAPER_LOCATIONS
    from synthaug_utils.diffusion import settings

    monkeypatch.setattr(settings, "cpu_has_native_bf16", settings.cpu_has_native_bf16)  # restored after the test
    for env, _, _ in PAPER_LOCATIONS.values():
        monkeypatch.delenv(env, raising=False)
    spec = importlib.util.spec_from_file_location("stored_keys", HERE / "stored_keys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert module.main() == 0
    now = json.loads(out.getvalue())
    golden = json.loads((HERE / "data" / "stored_keys.json").read_text())
    for profile in golden:
        for field in golden[profile]:
            assert now[profile][field] == golden[profile][field], f"{profile}: {field} changed"
    assert now == golden
