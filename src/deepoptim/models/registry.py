"""Build the book's models by name, and count their parameters."""

from __future__ import annotations

from torch import nn

from deepoptim._checks import check_choice

from .cells import CellNet1d
from .classifiers import MLP, CNN1d, DigitsCNN, GRUClassifier, LogisticRegression
from .resnet import ResNet
from .vit import TinyViT

MODELS: dict[str, type[nn.Module]] = {
    "logreg": LogisticRegression,
    "mlp": MLP,
    "cnn1d": CNN1d,
    "gru": GRUClassifier,
    "digits_cnn": DigitsCNN,
    "resnet": ResNet,
    "cellnet1d": CellNet1d,
    "vit": TinyViT,
}


def build_model(name: str, **kwargs: object) -> nn.Module:
    """Instantiate the model registered as ``name`` (see ``MODELS``) with ``kwargs``."""
    check_choice("name", name, tuple(MODELS))
    return MODELS[name](**kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable (``requires_grad``) scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
