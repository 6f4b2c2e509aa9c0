"""The small networks the book trains: the MNIST-1D baselines (logistic regression, MLP, 1-D CNN,
bidirectional GRU) and a batch-normalised CNN for the 8x8 digits, plus :func:`build_model` to
create any of them by name and :func:`count_parameters`. Models only define architectures; they
know nothing of data loading, optimizers or training.
"""

from .classifiers import MLP, CNN1d, DigitsCNN, GRUClassifier, LogisticRegression
from .registry import MODELS, build_model, count_parameters

__all__ = [
    "CNN1d",
    "DigitsCNN",
    "GRUClassifier",
    "LogisticRegression",
    "MLP",
    "MODELS",
    "build_model",
    "count_parameters",
]
