"""Offline data sets for the book: MNIST-1D (generated and cached on disk), scikit-learn's bundled
8x8 digits, generated toy problems (ill-conditioned quadratics, Rosenbrock, 2-D Gaussian
mixtures), text classification on Python's own documentation and on the sentiment of VADER's
human-rated words, WEAT/SEAT word lists, E2E-style data-to-text generation (with prompt/text
pairs as byte-level language-model batches) and the standard library's source code as a domain
shift.
Classification sets come as an immutable :class:`ClassificationData` of train/test tensors (text
sets as :class:`TextClassificationData`); nothing here downloads anything or touches the global
random number generators.
"""

from ._base import ClassificationData
from ._cache import cache_dir
from .byte_pairs import PairBatch, encode_pairs, prompt_ids, text_of
from .digits import digits
from .e2e import (
    E2EData,
    E2EExample,
    MeaningRepresentation,
    SlotErrors,
    e2e_data,
    slot_error_rate,
    slot_errors,
    venue_names,
)
from .mixtures import grid25, ring8
from .mnist1d import mnist1d
from .published import mnist1d_published_accuracy
from .sentiment import SENTIMENT_TEMPLATES, sentiment_sentence, vader_lexicon, vader_sentiment
from .stdlib_source import SourceCode, stdlib_source
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
from .weat import WEAT_BIASES, WeatTest, WordSet, seat_sentences, seat_templates, weat_tests

__all__ = [
    "ClassificationData",
    "E2EData",
    "E2EExample",
    "MeaningRepresentation",
    "PairBatch",
    "SlotErrors",
    "SENTIMENT_TEMPLATES",
    "SourceCode",
    "GaussianMixture",
    "Quadratic",
    "TextClassificationData",
    "TokenizedSplits",
    "Tokens",
    "WEAT_BIASES",
    "WeatTest",
    "WordSet",
    "cache_dir",
    "digits",
    "e2e_data",
    "encode_pairs",
    "gaussian_mixture",
    "grid25",
    "mnist1d",
    "mnist1d_published_accuracy",
    "prompt_ids",
    "python_doc_passages",
    "quadratic",
    "ring8",
    "rosenbrock",
    "rosenbrock_minimizer",
    "seat_sentences",
    "seat_templates",
    "sentiment_sentence",
    "slot_error_rate",
    "slot_errors",
    "stdlib_docstrings",
    "stdlib_source",
    "text_of",
    "vader_lexicon",
    "vader_sentiment",
    "venue_names",
    "weat_tests",
]
