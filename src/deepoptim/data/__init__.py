"""Offline data sets for the book: MNIST-1D (generated and cached on disk), scikit-learn's bundled
8x8 digits, and generated toy problems (ill-conditioned quadratics, Rosenbrock, 2-D Gaussian
mixtures). Classification sets come as an immutable :class:`ClassificationData` of train/test
tensors; nothing here downloads anything or touches the global random number generators.
"""

from ._base import ClassificationData
from ._cache import cache_dir
from .digits import digits
from .mnist1d import mnist1d
from .published import mnist1d_published_accuracy
from .toy import (
    GaussianMixture,
    Quadratic,
    gaussian_mixture,
    quadratic,
    rosenbrock,
    rosenbrock_minimizer,
)

__all__ = [
    "ClassificationData",
    "GaussianMixture",
    "Quadratic",
    "cache_dir",
    "digits",
    "gaussian_mixture",
    "mnist1d",
    "mnist1d_published_accuracy",
    "quadratic",
    "rosenbrock",
    "rosenbrock_minimizer",
]
