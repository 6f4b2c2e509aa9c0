"""scikit-learn's bundled handwritten digits (UCI optdigits test set): 1797 8x8 images, 10 classes.

Shipped with scikit-learn, so it loads offline in milliseconds; the book uses it for small
image models (e.g. CNNs with batch normalisation) where MNIST-1D's 1-D signals do not fit.
"""

from __future__ import annotations

import numpy as np
import torch

from deepoptim._checks import check_in_range, check_int_at_least

from ._base import ClassificationData

NUM_CLASSES = 10
IMAGE_SIZE = 8
MAX_PIXEL = 16.0


def digits(
    *, test_fraction: float = 0.2, seed: int = 0, device: torch.device | str | None = None
) -> ClassificationData:
    """The digits as x of shape (N, 1, 8, 8) float32 in [0, 1] (pixel / 16) and labels 0-9.

    The train/test split is stratified by class and determined by ``seed``
    (``sklearn.model_selection.train_test_split`` with ``random_state=seed``).
    """
    check_in_range("test_fraction", test_fraction, 0.0, 1.0, low_inclusive=False)
    check_int_at_least("seed", seed, 0)
    # Imported here: scikit-learn is slow to import and only this loader needs it.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    pixels, labels = load_digits(return_X_y=True)
    images = (pixels / MAX_PIXEL).astype(np.float32).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels.astype(np.int64), test_size=test_fraction, random_state=seed, stratify=labels
    )
    data = ClassificationData(
        name="digits",
        x_train=torch.from_numpy(x_train),
        y_train=torch.from_numpy(y_train),
        x_test=torch.from_numpy(x_test),
        y_test=torch.from_numpy(y_test),
        num_classes=NUM_CLASSES,
    )
    return data.to(device)
