"""The small classifiers the book trains on MNIST-1D and the 8x8 digits.

The MNIST-1D models reproduce the baselines of Greydanus & Steinbach, "Scaling down deep
learning with MNIST-1D" (ICML 2024): logistic regression, a 100-100 ReLU MLP, a three-layer
1-D CNN with 25 channels and a bidirectional GRU with 6 hidden units. Inputs of shape (N, 40)
and (N, 1, 40) are both accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn


def _as_channels(x: torch.Tensor, length: int) -> torch.Tensor:
    """Return a batch of 1-D signals as (N, 1, length), accepting (N, length) or (N, 1, length)."""
    if x.dim() == 2 and x.shape[1] == length:
        return x.unsqueeze(1)
    if x.dim() == 3 and x.shape[1:] == (1, length):
        return x
    raise ValueError(
        f"Invalid x value: a tensor of shape {tuple(x.shape)} (expected (N, {length}) or "
        f"(N, 1, {length}))"
    )


def _conv_length(length: int, kernel_size: int, stride: int, padding: int) -> int:
    """Output length of a 1-D convolution or pooling (no dilation)."""
    return (length + 2 * padding - kernel_size) // stride + 1


class LogisticRegression(nn.Module):
    """Multinomial logistic regression: one ``Linear(in_features, num_classes)``.

    MNIST-1D baseline (40 inputs, 10 classes: 410 parameters). Inputs are flattened from
    dimension 1, so (N, 40) and (N, 1, 40) both work.
    """

    def __init__(self, in_features: int = 40, num_classes: int = 10) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


class MLP(nn.Module):
    """Fully connected network: ``[Linear - activation]`` per hidden width, then ``Linear``.

    The MNIST-1D baseline is two hidden layers of 100 ReLU units (40-100-100-10: 15,210
    parameters). Inputs are flattened from dimension 1. ``activation`` is a module class (or any
    callable returning a module), instantiated once per hidden layer.
    """

    def __init__(
        self,
        in_features: int = 40,
        hidden: Sequence[int] = (100, 100),
        num_classes: int = 10,
        activation: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), activation()]
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))


class CNN1d(nn.Module):
    """Three strided 1-D convolutions and a linear read-out (the MNIST-1D CNN baseline).

    ``Conv1d(1, c, 5, stride 2, pad 1) - ReLU - Conv1d(c, c, 3, stride 2, pad 1) - ReLU -
    Conv1d(c, c, 3, stride 2, pad 1) - ReLU - flatten - Linear(c * L', num_classes)``, where the
    length shrinks 40 -> 19 -> 10 -> 5 for ``length=40`` (L' is computed from ``length``).
    With c = 25 channels it has 5,210 parameters, as in the paper.
    """

    def __init__(self, channels: int = 25, num_classes: int = 10, length: int = 40) -> None:
        super().__init__()
        self.length = length
        specs = [
            (1, 5),
            (channels, 3),
            (channels, 3),
        ]  # (in_channels, kernel_size), stride 2, pad 1
        layers: list[nn.Module] = []
        out_length = length
        for in_channels, kernel_size in specs:
            layers += [
                nn.Conv1d(in_channels, channels, kernel_size, stride=2, padding=1),
                nn.ReLU(),
            ]
            out_length = _conv_length(out_length, kernel_size, stride=2, padding=1)
        if out_length < 1:
            raise ValueError(
                f"Invalid length value: {length} (too short for three stride-2 convolutions)"
            )
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.classifier = nn.Linear(channels * out_length, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(_as_channels(x, self.length)))


class GRUClassifier(nn.Module):
    """A GRU reading the signal one scalar per time step, with a linear read-out of all steps.

    ``GRU(input_size=1, hidden_size, batch_first, bidirectional)`` over the ``length`` steps,
    its outputs at every step flattened and fed to
    ``Linear(hidden_size * directions * length, num_classes)``. The MNIST-1D baseline is
    bidirectional with 6 hidden units (5,134 parameters).
    """

    def __init__(
        self,
        hidden_size: int = 6,
        bidirectional: bool = True,
        length: int = 40,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.length = length
        self.gru = nn.GRU(1, hidden_size, batch_first=True, bidirectional=bidirectional)
        directions = 2 if bidirectional else 1
        self.classifier = nn.Linear(hidden_size * directions * length, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence = _as_channels(x, self.length).transpose(1, 2)  # (N, length, 1)
        outputs, _ = self.gru(sequence)
        return self.classifier(outputs.flatten(1))


class DigitsCNN(nn.Module):
    """A small CNN with batch normalisation for (N, 1, 8, 8) digit images.

    Per entry c of ``channels``: ``Conv2d(3x3, pad 1) - BatchNorm2d(c) - ReLU - MaxPool2d(2)``,
    then ``flatten - Linear``. The default (16, 32) maps 8x8 -> 4x4 -> 2x2, so the read-out is
    ``Linear(32 * 2 * 2, num_classes)``; the widths are our choice, kept small so the book's
    batch-norm experiments run in seconds on a CPU.
    """

    image_size = 8

    def __init__(self, channels: Sequence[int] = (16, 32), num_classes: int = 10) -> None:
        super().__init__()
        side = self.image_size >> len(channels)
        if not channels or side < 1:
            raise ValueError(
                f"Invalid channels value: {tuple(channels)} (expected 1 to 3 stages for 8x8 images)"
            )
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels in channels:
            layers += [
                nn.Conv2d(in_channels, out_channels, 3, padding=1),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            in_channels = out_channels
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.classifier = nn.Linear(in_channels * side * side, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
