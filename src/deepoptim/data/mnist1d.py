"""MNIST-1D: a small, generated 1-D analogue of MNIST (Greydanus & Steinbach, 2020/2024).

Each sample is one of ten hand-made 1-D digit templates, randomly padded, scaled, translated,
sheared, corrupted with correlated and i.i.d. noise, and resampled to 40 points; the whole set
is standardised to mean 0 and standard deviation 1. Linear models reach about 32% test
accuracy, MLPs about 68%, CNNs and GRUs over 90%, which makes it a fast yet discriminating
benchmark for optimizers on a CPU. The data come from the ``mnist1d`` package's
``make_dataset`` (generated locally, never downloaded) and are cached on disk.
"""

from __future__ import annotations

import importlib.metadata
import random

import numpy as np
import torch

from deepoptim._checks import check_in_range, check_int_at_least

from ._base import ClassificationData
from ._cache import cached_arrays

NUM_CLASSES = 10
SEQUENCE_LENGTH = 40


def mnist1d(
    shuffle: bool = False,
    *,
    num_samples: int = 5000,
    seed: int = 42,
    device: torch.device | str | None = None,
) -> ClassificationData:
    """The MNIST-1D data set: x of shape (N, 40) float32, labels 0-9, an 80/20 train/test split.

    Args:
        shuffle: the spatially shuffled variant (the package's ``shuffle_seq``): one fixed random
            permutation of the 40 positions, applied to every sample. Sample order and labels
            equal those of the unshuffled set with the same ``num_samples`` and ``seed``.
        num_samples: total number of samples, a positive multiple of 10 (equal per class);
            the first 80% are the training set. The package's default is 5000.
        seed: the generator's seed (the package's default is 42).
        device: where to put the tensors (default: CPU).

    The first call for a set of arguments generates the data (a few seconds for 5000 samples)
    and caches it under :func:`deepoptim.data.cache_dir`; later calls load the cache. The
    global ``random`` and ``numpy`` RNG states are left as they were.
    """
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be a bool, got {type(shuffle).__name__}")
    check_int_at_least("num_samples", num_samples, NUM_CLASSES)
    if num_samples % NUM_CLASSES:
        raise ValueError(
            f"Invalid num_samples value: {num_samples!r} (expected a multiple of {NUM_CLASSES})"
        )
    check_int_at_least("seed", seed, 0)
    check_in_range("seed", seed, 0, 2**32)  # the generator takes 32-bit seeds

    key = {
        "num_samples": num_samples,
        "seed": seed,
        "shuffle_seq": shuffle,
        "mnist1d_version": importlib.metadata.version("mnist1d"),
    }
    arrays = cached_arrays("mnist1d", key, lambda: _generate(num_samples, seed, shuffle))
    data = ClassificationData(
        name="mnist1d_shuffled" if shuffle else "mnist1d",
        x_train=torch.from_numpy(arrays["x_train"]),
        y_train=torch.from_numpy(arrays["y_train"]),
        x_test=torch.from_numpy(arrays["x_test"]),
        y_test=torch.from_numpy(arrays["y_test"]),
        num_classes=NUM_CLASSES,
    )
    return data.to(device)


def _generate(num_samples: int, seed: int, shuffle: bool) -> dict[str, np.ndarray]:
    # Imported here: the package pulls in matplotlib and scipy, which a cache hit never needs.
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed, args.shuffle_seq = num_samples, seed, shuffle
    # make_dataset reseeds the global (legacy) RNGs; put them back so the call has no side effects.
    python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        raw = make_dataset(args)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002
    return {
        "x_train": raw["x"].astype(np.float32),
        "y_train": raw["y"].astype(np.int64),
        "x_test": raw["x_test"].astype(np.float32),
        "y_test": raw["y_test"].astype(np.int64),
    }
