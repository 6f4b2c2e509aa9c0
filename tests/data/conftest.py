import pytest


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Point the data cache at a fresh directory, so no test touches the user's cache."""
    path = tmp_path / "cache"
    monkeypatch.setenv("DEEPOPTIM_CACHE", str(path))
    return path
