"""Classification heads over a sentence encoder's token vectors: the search space of
Kenneweg, Schröder and Hammer, "Neural Architecture Search for Sentence Classification with
BERT" (arXiv 2403.18547; Kenneweg 2025 thesis).

A head maps the encoder's last hidden states ``hidden`` (B, T, D) and the ``attention_mask``
(B, T) (1 at real tokens, 0 at padding) to logits (B, C) in three stages:

1. optional *token stages*, each (B, T, D_in) -> (B, T, D_out):
   :class:`TransformerBlocks` (post-LN ``nn.TransformerEncoderLayer`` blocks, self-attention over
   each sentence's tokens, padding masked out of the keys) and :class:`ConvBlocks` (a ``Conv1d``
   stack along the tokens with "same" padding, optionally with a skip connection);
2. pooling (:class:`~deepoptim.models.pooling.Pooling`: mean, max or the first token);
3. an MLP: ``mlp_layers - 1`` hidden layers ``Linear`` + ReLU, then a ``Linear`` to the logits
   (``mlp_layers=1`` is the usual linear head).

The paper searched ``num_heads in {1,2,4,8,16}`` and 1-5 transformer layers (feed-forward width
768, dropout 0.2), a Conv1d stack of 1-5 layers, width 5-200, kernel in {3,5,7,9,11} with an
optional skip, the pooling, and an MLP of 1-5 layers of width 5-200; its best head over six GLUE
tasks was 4 one-head transformer blocks, one Conv1d layer of width 40 and kernel 11 with a skip,
mean pooling and a linear layer (:func:`build_head` takes these as flat settings).

Three defects of the authors' code are NOT reproduced here: their ``nn.MultiheadAttention`` was
built without ``batch_first=True`` yet fed (B, T, D), so it attended across the *examples of the
batch* instead of the tokens, with no padding mask; with two or more MLP layers a ReLU was applied
to the logits; and a softmax was applied before the cross-entropy loss (a head here returns
logits). Each example's logits depend only on that example's real tokens: not on the other
examples in the batch, nor on how far it is padded (the Conv1d input is zeroed at padded
positions before every layer, the same zeros as the convolution's own padding at the end of a
sentence).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from deepoptim._checks import check_choice, check_in_range, check_int_at_least

from .pooling import POOLINGS, Pooling, check_tokens


def _check_transformer(dim: int, num_heads: int, num_layers: int, dim_feedforward: int,
                       dropout: float) -> None:
    check_int_at_least("dim", dim, 1)
    check_int_at_least("num_heads", num_heads, 1)
    check_int_at_least("num_layers", num_layers, 1)
    check_int_at_least("dim_feedforward", dim_feedforward, 1)
    check_in_range("dropout", dropout, 0.0, 1.0)
    if dim % num_heads:
        raise ValueError(f"Invalid num_heads value: {num_heads!r} (it must divide dim={dim})")


def _check_conv(dim: int, hidden: int, num_layers: int, kernel_size: int, skip: bool) -> None:
    check_int_at_least("dim", dim, 1)
    check_int_at_least("hidden", hidden, 1)
    check_int_at_least("num_layers", num_layers, 1)
    check_int_at_least("kernel_size", kernel_size, 1)
    if kernel_size % 2 == 0:
        raise ValueError(f"Invalid kernel_size value: {kernel_size!r} (expected an odd kernel, "
                         "so that every token stays at the centre of its window)")
    if not isinstance(skip, bool):
        raise TypeError(f"skip must be a bool, got {type(skip).__name__}")


class TransformerBlocks(nn.Module):
    """``num_layers`` post-LN transformer encoder blocks over each sentence's tokens.

    ``nn.TransformerEncoderLayer(batch_first=True)`` with ReLU; padded tokens are excluded as
    keys (``src_key_padding_mask``), so they never change a real token's vector.
    """

    def __init__(self, dim: int, num_heads: int = 1, num_layers: int = 1,
                 dim_feedforward: int = 768, dropout: float = 0.2) -> None:
        super().__init__()
        _check_transformer(dim, num_heads, num_layers, dim_feedforward, dropout)
        self.in_dim = self.out_dim = dim
        layer = nn.TransformerEncoderLayer(dim, num_heads, dim_feedforward, dropout,
                                           batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        check_tokens(hidden, attention_mask)
        return self.blocks(hidden, src_key_padding_mask=~attention_mask.bool())


class ConvBlocks(nn.Module):
    """A ``Conv1d`` stack along the tokens: ``h <- relu(conv_i(h * mask))``, widths
    ``dim -> hidden -> ... -> hidden``, kernel ``kernel_size`` (odd) with "same" zero padding.

    With ``skip``, the input is added to the stack's output, through a learned token-wise
    linear map when ``dim != hidden`` (a projection shortcut, as in ResNets).
    """

    def __init__(self, dim: int, hidden: int = 40, num_layers: int = 1, kernel_size: int = 11,
                 skip: bool = False) -> None:
        super().__init__()
        _check_conv(dim, hidden, num_layers, kernel_size, skip)
        self.in_dim, self.out_dim = dim, hidden
        widths = [dim] + [hidden] * num_layers
        self.convs = nn.ModuleList(nn.Conv1d(a, b, kernel_size, padding=kernel_size // 2)
                                   for a, b in pairwise(widths))
        self.shortcut = None
        if skip:
            self.shortcut = nn.Identity() if dim == hidden else nn.Linear(dim, hidden)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        check_tokens(hidden, attention_mask)
        mask = attention_mask.to(hidden.dtype).unsqueeze(1)           # (B, 1, T)
        h = hidden.transpose(1, 2)                                      # (B, D, T)
        for conv in self.convs:
            h = torch.relu(conv(h * mask))
        h = h.transpose(1, 2)
        return h if self.shortcut is None else h + self.shortcut(hidden)


class SentenceHead(nn.Module):
    """Token stages, then pooling, then an MLP (see the module docstring).

    Args:
        in_dim: the encoder's width ``D``.
        num_classes: the number of logits.
        stages: token stages applied in order, each a module with ``in_dim``/``out_dim`` and
            ``forward(hidden, attention_mask)`` (:class:`TransformerBlocks`, :class:`ConvBlocks`).
        pooling: ``"mean"``, ``"max"`` or ``"cls"``.
        mlp_layers: the number of ``Linear`` layers (1: a linear head).
        mlp_hidden: the width of the MLP's hidden layers.
    """

    def __init__(self, in_dim: int, num_classes: int, *, stages: Sequence[nn.Module] = (),
                 pooling: str = "mean", mlp_layers: int = 1, mlp_hidden: int = 64) -> None:
        super().__init__()
        check_int_at_least("in_dim", in_dim, 1)
        check_int_at_least("num_classes", num_classes, 1)
        check_int_at_least("mlp_layers", mlp_layers, 1)
        check_int_at_least("mlp_hidden", mlp_hidden, 1)
        self.in_dim = width = in_dim
        for i, stage in enumerate(stages):
            if not isinstance(stage, nn.Module):
                raise TypeError(f"stages[{i}] must be an nn.Module, got {type(stage).__name__}")
            if getattr(stage, "in_dim", None) != width:
                raise ValueError(f"Invalid stages[{i}] value: {type(stage).__name__} with in_dim="
                                 f"{getattr(stage, 'in_dim', None)!r} (expected in_dim={width}, "
                                 "the width of the tokens it receives)")
            width = stage.out_dim
        self.stages = nn.ModuleList(stages)
        self.pool = Pooling(pooling)
        widths = [width] + [mlp_hidden] * (mlp_layers - 1) + [num_classes]
        layers: list[nn.Module] = []
        for a, b in pairwise(widths):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.mlp = nn.Sequential(*layers[:-1])                          # no ReLU on the logits

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        check_tokens(hidden, attention_mask)
        for stage in self.stages:
            hidden = stage(hidden, attention_mask)
        return self.mlp(self.pool(hidden, attention_mask))


def build_head(in_dim: int, num_classes: int, *, transformer_layers: int = 0, num_heads: int = 1,
               dim_feedforward: int = 768, dropout: float = 0.2, conv_layers: int = 0,
               conv_hidden: int = 40, kernel_size: int = 11, skip: bool = False,
               pooling: str = "mean", mlp_layers: int = 1, mlp_hidden: int = 64) -> SentenceHead:
    """A :class:`SentenceHead` from the search space's flat settings.

    ``transformer_layers`` :class:`TransformerBlocks` (none when 0), then ``conv_layers``
    :class:`ConvBlocks` (none when 0), then the pooling and the MLP. The defaults are a linear
    head on mean pooling; the paper's best combined head is ``transformer_layers=4, num_heads=1,
    conv_layers=1, conv_hidden=40, kernel_size=11, skip=True``.
    """
    # every setting is checked before any stage draws its initial weights
    check_int_at_least("transformer_layers", transformer_layers, 0)
    if transformer_layers:
        _check_transformer(in_dim, num_heads, transformer_layers, dim_feedforward, dropout)
    check_int_at_least("conv_layers", conv_layers, 0)
    if conv_layers:
        _check_conv(in_dim, conv_hidden, conv_layers, kernel_size, skip)
    check_int_at_least("num_classes", num_classes, 1)
    check_choice("pooling", pooling, POOLINGS)
    check_int_at_least("mlp_layers", mlp_layers, 1)
    check_int_at_least("mlp_hidden", mlp_hidden, 1)
    stages: list[nn.Module] = []
    if transformer_layers:
        stages.append(TransformerBlocks(in_dim, num_heads, transformer_layers, dim_feedforward,
                                        dropout))
    if conv_layers:
        stages.append(ConvBlocks(in_dim, conv_hidden, conv_layers, kernel_size, skip))
    return SentenceHead(in_dim, num_classes, stages=stages, pooling=pooling,
                        mlp_layers=mlp_layers, mlp_hidden=mlp_hidden)
