"""A small residual network with batch normalisation for the 8x8 digits.

:class:`ResNet` follows He et al. (2016)'s CIFAR ResNets at toy scale: a stem
``Conv2d(3x3) - BatchNorm2d - ReLU``, then stages of :class:`BasicBlock` (two 3x3 convolutions
with batch normalisation and an identity shortcut, or a 1x1 projection where the width or the
stride changes), global average pooling and a linear classifier. The default, stages of 16 and
32 channels with one block each (the second halves the side, 8x8 -> 4x4), has 19,706
parameters; a step of batch 64 costs a few milliseconds on one CPU thread. Activations are not
in place, so module hooks (KFAC's, NKFAC's) can record every layer's input and output gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BasicBlock", "ResNet"]


class BasicBlock(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    The shortcut is the identity when ``in_channels == out_channels`` and ``stride == 1``,
    otherwise ``Conv2d(1x1, stride) - BatchNorm2d`` (a projection). The convolutions have no
    bias (the batch normalisation that follows has one). ``zero_init_residual`` starts the
    residual branch's last scale at zero, so the block starts as ``relu(shortcut(x))``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid {name} value: {value!r} (a positive integer)")
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if zero_init_residual:
            nn.init.zeros_(self.bn2.weight)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """A residual network for (N, C, H, W) images (default: the 8x8 digits, C = 1).

    Args:
        channels: the width of each stage; every stage after the first halves the side.
        blocks: residual blocks per stage.
        in_channels: the images' channels.
        num_classes: the classifier's outputs.
        zero_init_residual: start every block's residual branch at zero
            (:class:`BasicBlock`).

    ``stem - stages - global average pooling - Linear(channels[-1], num_classes)``; the stem
    is ``Conv2d(in_channels, channels[0], 3x3, pad 1, no bias) - BatchNorm2d - ReLU``.
    """

    def __init__(self, channels: Sequence[int] = (16, 32), blocks: int = 1,
                 in_channels: int = 1, num_classes: int = 10, *,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        channels = tuple(channels)
        if not channels or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1
                                   for c in channels):
            raise ValueError(f"Invalid channels value: {channels!r} (one or more positive "
                             "integers, the width of each stage)")
        for name, value in (("blocks", blocks), ("in_channels", in_channels),
                            ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid {name} value: {value!r} (a positive integer)")
        self.in_channels = in_channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels[0]), nn.ReLU())
        stages: list[nn.Module] = []
        width = channels[0]
        for index, out_channels in enumerate(channels):
            for block in range(blocks):
                stride = 2 if index > 0 and block == 0 else 1
                stages.append(BasicBlock(width, out_channels, stride,
                                         zero_init_residual=zero_init_residual))
                width = out_channels
        self.stages = nn.Sequential(*stages)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Invalid x value: a tensor of shape {tuple(x.shape)} (expected "
                             f"(N, {self.in_channels}, H, W) images)")
        features = self.stages(self.stem(x))
        return self.classifier(features.mean(dim=(2, 3)))
