"""Offline data sets for the book: MNIST-1D (generated and cached on disk), scikit-learn's bundled
8x8 digits, generated toy problems (ill-conditioned quadratics, Rosenbrock, 2-D Gaussian
mixtures), text classification on Python's own documentation and WEAT/SEAT word lists.
Classification sets come as an immutable :class:`ClassificationData` of train/test tensors (text
sets as :class:`TextClassificationData`); nothing here downloads anything or touches the global
random number generators.
"""

from ._base import ClassificationData
from ._cache import cache_dir
from .digits import digits
from .mixtures import grid25, ring8
from .mnist1d import mnist1d
from .published import mnist1d_published_accuracy
from .text import (
    TextClassificationData,
    TokenizedSplits,
    Tokens,
    python_doc_passages,
    stdlib_docstrings,
)
from .toy import (
    GaussianMixture,
    Quadratic,
    gaussian_mixture,
    quadratic,
    rosenbrock,
    rosenbrock_minimizer,
)
from .weat import WeatTest, WordSet, seat_sentences, seat_templates, weat_tests

__all__ = [
    "ClassificationData",
    "GaussianMixture",
    "Quadratic",
    "TextClassificationData",
    "TokenizedSplits",
    "Tokens",
    "WeatTest",
    "WordSet",
    "cache_dir",
    "digits",
    "gaussian_mixture",
    "grid25",
    "mnist1d",
    "mnist1d_published_accuracy",
    "python_doc_passages",
    "quadratic",
    "ring8",
    "rosenbrock",
    "rosenbrock_minimizer",
    "seat_sentences",
    "seat_templates",
    "stdlib_docstrings",
    "weat_tests",
]
