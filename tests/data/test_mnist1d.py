# ruff: noqa: NPY002 -- these tests are about the legacy global numpy RNG that mnist1d reseeds
import importlib.metadata
import random

import mnist1d.data as package
import numpy as np
import pytest
import torch

from deepoptim.data import mnist1d

N = 100  # small sets keep generation in the tens of milliseconds


def forbid_generation(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("make_dataset was called")

    monkeypatch.setattr(package, "make_dataset", fail)


def test_shapes_dtypes_and_split():
    data = mnist1d(num_samples=N)
    assert data.name == "mnist1d" and data.num_classes == 10
    assert data.x_train.shape == (80, 40) and data.x_test.shape == (20, 40)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    labels = torch.cat([data.y_train, data.y_test])
    assert torch.equal(labels.bincount(), torch.full((10,), N // 10))  # equal per class
    x = torch.cat([data.x_train, data.x_test]).double()
    assert abs(x.mean().item()) < 1e-6 and abs(x.std(correction=0).item() - 1) < 1e-5


def test_equals_the_package_with_arguments_overridden():
    data = mnist1d(num_samples=N, seed=3)
    args = package.get_dataset_args()
    args.num_samples, args.seed = N, 3
    python_state, numpy_state = random.getstate(), np.random.get_state()
    raw = package.make_dataset(args)  # reseeds the global RNGs: restore them for other tests
    random.setstate(python_state)
    np.random.set_state(numpy_state)
    np.testing.assert_array_equal(data.x_test.numpy(), raw["x_test"].astype(np.float32))
    np.testing.assert_array_equal(data.y_train.numpy(), raw["y"])


def test_deterministic_for_a_seed_without_the_cache(tmp_path, monkeypatch):
    first = mnist1d(num_samples=N, seed=1)
    monkeypatch.setenv("DEEPOPTIM_CACHE", str(tmp_path / "other"))
    again = mnist1d(num_samples=N, seed=1)
    assert torch.equal(first.x_train, again.x_train) and torch.equal(first.y_test, again.y_test)
    assert not torch.equal(first.x_train, mnist1d(num_samples=N, seed=2).x_train)


def test_cache_hit_skips_generation_and_leaves_one_complete_file(cache, monkeypatch):
    first = mnist1d(num_samples=N)
    forbid_generation(monkeypatch)
    second = mnist1d(num_samples=N)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    assert [path.suffix for path in cache.iterdir()] == [".npz"]  # no temporary files


def test_cache_key_includes_the_package_version(monkeypatch):
    mnist1d(num_samples=N)
    forbid_generation(monkeypatch)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0")
    with pytest.raises(AssertionError, match="make_dataset was called"):
        mnist1d(num_samples=N)


@pytest.mark.parametrize(
    "corrupt",
    [lambda good: b"", lambda good: b"not a zip file", lambda good: good[: len(good) // 2]],
    ids=["empty", "garbage", "truncated"],
)
def test_corrupt_cache_file_is_regenerated(cache, corrupt):
    expected = mnist1d(num_samples=N)
    (path,) = cache.iterdir()
    size = path.stat().st_size
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.warns(RuntimeWarning, match="Corrupt cache file"):
        data = mnist1d(num_samples=N)
    assert torch.equal(data.x_train, expected.x_train)
    assert path.stat().st_size == size  # rewritten in full


def test_leaves_global_rng_state_untouched():
    random.seed(123)
    np.random.seed(123)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    torch_state = torch.get_rng_state()
    mnist1d(num_samples=N, seed=7)  # a cache miss: generates
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_shuffled_variant_is_one_fixed_column_permutation():
    regular, shuffled = mnist1d(num_samples=N), mnist1d(shuffle=True, num_samples=N)
    assert shuffled.name == "mnist1d_shuffled"
    # make_dataset draws the column permutation after shuffling the samples: same order, labels.
    assert torch.equal(regular.y_train, shuffled.y_train)
    # Column j of the shuffled set is column perm[j] of the regular one, for train and test alike.
    distance = torch.cdist(shuffled.x_train.T, regular.x_train.T)
    perm = distance.argmin(dim=1)
    assert sorted(perm.tolist()) == list(range(40)) and perm.tolist() != list(range(40))
    assert torch.equal(shuffled.x_train, regular.x_train[:, perm])
    assert torch.equal(shuffled.x_test, regular.x_test[:, perm])


def test_device_argument():
    assert mnist1d(num_samples=N, device="meta").x_test.device.type == "meta"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_samples": 5}, ValueError, "Invalid num_samples value: 5"),
        ({"num_samples": 105}, ValueError, "Invalid num_samples value: 105"),
        ({"num_samples": 10.5}, TypeError, "num_samples must be an int, got float"),
        ({"seed": -1}, ValueError, "Invalid seed value: -1"),
        ({"seed": 2**32}, ValueError, "Invalid seed value: 4294967296"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be a bool, got str"),
    ],
)
def test_bad_arguments_raise_before_any_work(kwargs, error, message, cache):
    with pytest.raises(error, match=message):
        mnist1d(**kwargs)
    assert not cache.exists()
