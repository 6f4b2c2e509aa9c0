"""A tiny vision transformer for MNIST-1D signals and the 8x8 digits.

The input is cut into non-overlapping patches, one token each: a 40-sample MNIST-1D signal
with ``patch_size=4`` gives 10 tokens of 4 samples, an 8x8 digit (``input_shape=(8, 8)``)
with ``patch_size=2`` gives 16 tokens of 2x2 pixels. Tokens are embedded linearly, a learned
position embedding is added, ``depth`` pre-norm transformer blocks (multi-head self-attention,
then a GELU MLP, each with a residual connection) follow, and the mean token is classified
(Dosovitskiy et al., "An image is worth 16x16 words", ICLR 2021, with mean pooling instead of
a class token).

Attention is written out in :class:`SelfAttention`, with separate ``query``, ``key`` and
``value`` projections (``nn.Linear``) and ``num_heads``: the interface through which
:class:`deepoptim.optim.AFOpt` reaches an attention layer's query and key projections.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from deepoptim._checks import check_int_at_least


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate query, key and value projections.

    For tokens :math:`X \\in \\mathbb R^{n\\times d}` and head :math:`h` (rows
    :math:`h d_k, \\ldots, (h+1) d_k - 1` of each projection, :math:`d_k = d/H`), the logits are
    :math:`S_h = Q_h K_h^\\top/\\sqrt{d_k}` with :math:`Q = X W_q^\\top + b_q`,
    :math:`K = X W_k^\\top + b_k`; the output is ``out`` of the heads'
    :math:`\\operatorname{softmax}(S_h) V_h`, concatenated.
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        check_int_at_least("dim", dim, 1)
        check_int_at_least("num_heads", num_heads, 1)
        if dim % num_heads:
            raise ValueError(f"Invalid num_heads value: {num_heads!r} (it must divide "
                             f"dim={dim})")
        self.num_heads = num_heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        head_dim = dim // self.num_heads

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, tokens, self.num_heads, head_dim).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        logits = q @ k.transpose(-2, -1) / math.sqrt(head_dim)
        mixed = logits.softmax(dim=-1) @ v
        return self.out(mixed.transpose(1, 2).reshape(batch, tokens, dim))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + attention(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = SelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(),
                                 nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """A tiny vision transformer (see the module docstring).

    Args:
        input_shape: ``(40,)`` for MNIST-1D signals, ``(8, 8)`` for the digits; inputs are
            ``(N, *input_shape)`` or ``(N, 1, *input_shape)``.
        patch_size: patch length along every input dimension (it must divide each).
        dim: token width.
        depth: number of transformer blocks.
        num_heads: attention heads per block (must divide ``dim``).
        mlp_ratio: hidden width of the MLPs, in multiples of ``dim``.
        num_classes: number of outputs.
    """

    def __init__(self, input_shape: Sequence[int] = (40,), patch_size: int = 4, dim: int = 32,
                 depth: int = 2, num_heads: int = 2, mlp_ratio: int = 2,
                 num_classes: int = 10) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        if len(self.input_shape) not in (1, 2):
            raise ValueError(f"Invalid input_shape value: {input_shape!r} (a signal length "
                             "(L,) or an image size (H, W))")
        check_int_at_least("patch_size", patch_size, 1)
        for size in self.input_shape:
            check_int_at_least("input_shape entry", size, 1)
            if size % patch_size:
                raise ValueError(f"Invalid patch_size value: {patch_size!r} (it must divide "
                                 f"every entry of input_shape={self.input_shape})")
        check_int_at_least("depth", depth, 1)
        check_int_at_least("mlp_ratio", mlp_ratio, 1)
        self.patch_size = patch_size
        tokens = math.prod(size // patch_size for size in self.input_shape)
        self.embed = nn.Linear(patch_size ** len(self.input_shape), dim)
        self.position = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.normal_(self.position, std=0.02)
        self.blocks = nn.Sequential(*(TransformerBlock(dim, num_heads, mlp_ratio)
                                      for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """The patches of ``x`` as tokens, ``(N, tokens, patch_size ** len(input_shape))``."""
        shape, p = self.input_shape, self.patch_size
        if x.shape[1:] == (1, *shape):
            x = x.squeeze(1)
        if x.dim() != len(shape) + 1 or x.shape[1:] != shape:
            raise ValueError(f"Invalid x value: a tensor of shape {tuple(x.shape)} (expected "
                             f"(N, {', '.join(map(str, shape))}) or (N, 1, "
                             f"{', '.join(map(str, shape))}))")
        n = x.shape[0]
        if len(shape) == 1:
            return x.reshape(n, shape[0] // p, p)
        rows, columns = shape[0] // p, shape[1] // p
        patches = x.reshape(n, rows, p, columns, p).permute(0, 1, 3, 2, 4)
        return patches.reshape(n, rows * columns, p * p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(self.tokens(x)) + self.position
        h = self.norm(self.blocks(h))
        return self.head(h.mean(dim=1))
