"""The small networks the book trains: the MNIST-1D baselines (logistic regression, MLP, 1-D CNN,
bidirectional GRU), a batch-normalised CNN and a small ResNet for the 8x8 digits and a tiny
vision transformer for both, plus :func:`build_model` to create any of them by name and
:func:`count_parameters`.
Models only define architectures; they know nothing of data loading, optimizers or training.
"""

from .classifiers import MLP, CNN1d, DigitsCNN, GRUClassifier, LogisticRegression
from .registry import MODELS, build_model, count_parameters
from .resnet import BasicBlock, ResNet
from .vit import SelfAttention, TinyViT

__all__ = [
    "BasicBlock",
    "CNN1d",
    "DigitsCNN",
    "GRUClassifier",
    "LogisticRegression",
    "MLP",
    "MODELS",
    "ResNet",
    "SelfAttention",
    "TinyViT",
    "build_model",
    "count_parameters",
]
