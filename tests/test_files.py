"""Tests of synthaug_utils.core.files: atomic writes leave the old file or the new one, never a partial one."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

from synthaug_utils.core.files import atomic_save_npy, atomic_write, atomic_write_text, temporary_name, temporary_writer


def test_temporary_names_are_hidden_unique_and_name_their_writer(tmp_path):
    target = tmp_path / "abc.v1.json"
    a, b = temporary_name(target), temporary_name(target)
    assert a != b and a.parent == tmp_path and a.name.startswith(".abc.v1.json~") and a.suffix == ".tmp"
    assert temporary_writer(a) == (socket.gethostname(), os.getpid())
    assert temporary_writer(tmp_path / ".other.tmp") is None


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deep" / "result.json"
    atomic_write_text(target, "old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert list(target.parent.iterdir()) == [target]


def test_npy_is_written_under_exactly_the_given_name(tmp_path):
    target = tmp_path / "features.bin"
    atomic_save_npy(target, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert [p.name for p in tmp_path.iterdir()] == ["features.bin"]
    np.testing.assert_array_equal(np.load(target), np.arange(6, dtype=np.float32).reshape(2, 3))


def test_array_cache_paths_change_with_any_input(tmp_path, monkeypatch):
    from synthaug_utils.core.files import array_cache_path

    monkeypatch.setenv("SYNTHAUG_CACHE", str(tmp_path))
    a = np.zeros((2, 3), np.uint8)
    base = array_cache_path("kind", [a], "s", "name", "npy")
    assert base.parent == tmp_path / "kind" and base.name.startswith("name-") and base.suffix == ".npy"
    assert array_cache_path("kind", [a.copy()], "s", "name", "npy") == base
    b = a.copy()
    b[1, 2] = 1
    assert array_cache_path("kind", [b], "s", "name", "npy") != base
    assert array_cache_path("kind", [a.reshape(3, 2)], "s", "name", "npy") != base
    assert array_cache_path("kind", [a.astype(np.int8)], "s", "name", "npy") != base
    assert array_cache_path("kind", [a], "t", "name", "npy") != base
