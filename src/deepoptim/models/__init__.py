"""The small networks the book trains: the MNIST-1D baselines (logistic regression, MLP, 1-D CNN,
bidirectional GRU), a batch-normalised CNN and a small ResNet for the 8x8 digits and a tiny
vision transformer for both, the iterated block maps of Part IV (:class:`Sequential2D` and its
skip blocks), plus :func:`build_model` to create any of them by name and
:func:`count_parameters`.
Models only define architectures; they know nothing of data loading, optimizers or training.
"""

from .blocks import (
    Diagonal,
    LowRankLinear,
    MaskedLinear,
    ScaledIdentity,
    count_effective_parameters,
)
from .classifiers import MLP, CNN1d, DigitsCNN, GRUClassifier, LogisticRegression
from .registry import MODELS, build_model, count_parameters
from .resnet import BasicBlock, ResNet
from .sequential2d import Sequential2D
from .vit import SelfAttention, TinyViT

__all__ = [
    "BasicBlock",
    "CNN1d",
    "Diagonal",
    "DigitsCNN",
    "GRUClassifier",
    "LogisticRegression",
    "LowRankLinear",
    "MLP",
    "MODELS",
    "MaskedLinear",
    "ResNet",
    "ScaledIdentity",
    "SelfAttention",
    "Sequential2D",
    "TinyViT",
    "build_model",
    "count_effective_parameters",
    "count_parameters",
]
