import numpy as np
import pytest

from deepoptim.data import cache_dir
from deepoptim.data._cache import cached_arrays


def test_cache_dir_prefers_deepoptim_cache(cache):
    assert not cache.exists()
    assert cache_dir() == cache and cache.is_dir()


def test_cache_dir_falls_back_to_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.delenv("DEEPOPTIM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "deepoptim"
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # empty counts as unset
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "deepoptim"
    assert cache_dir().is_dir()


def test_cached_arrays_calls_make_once_per_key(cache):
    calls = []

    def make():
        calls.append(1)
        return {"a": np.arange(3)}

    first = cached_arrays("demo", {"n": 3}, make)
    second = cached_arrays("demo", {"n": 3}, make)
    np.testing.assert_array_equal(first["a"], second["a"])
    assert len(calls) == 1
    cached_arrays("demo", {"n": 4}, make)
    assert len(calls) == 2 and len(list(cache.iterdir())) == 2


def test_failed_write_warns_and_leaves_no_partial_file(cache, monkeypatch):
    def broken_savez(file, **arrays):
        file.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.warns(RuntimeWarning, match="disk full"):
        arrays = cached_arrays("demo", {}, lambda: {"a": np.ones(2)})
    np.testing.assert_array_equal(arrays["a"], np.ones(2))
    assert list(cache.iterdir()) == []
