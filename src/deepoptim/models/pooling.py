"""Pooling of token vectors into one vector per sentence, ignoring padding.

A batch of ``B`` sentences padded to ``T`` tokens is held as ``hidden`` (B, T, D) and an
``attention_mask`` (B, T), 1 (or ``True``) at real tokens and 0 at padding, as a Hugging Face
tokenizer returns it. With :math:`m_{bt}` the mask:

* mean: :math:`\\sum_t m_{bt} h_{bt} / \\sum_t m_{bt}` (the pooling of all-MiniLM-L6-v2 and of
  sentence-transformers, whose denominator is clamped at ``1e-9``: a sentence with no tokens
  gives zeros);
* max: :math:`\\max_{t: m_{bt}=1} h_{bt}` per feature (``-inf`` for a sentence with no tokens);
* cls: :math:`h_{b0}`, the first token (BERT's ``[CLS]``; the tokenizer must pad on the right).

Padding never reaches the result, whatever the hidden vectors at padded positions hold.
"""

from __future__ import annotations

import torch
from torch import nn

from deepoptim._checks import check_choice

POOLINGS = ("mean", "max", "cls")


def check_tokens(hidden: torch.Tensor, attention_mask: torch.Tensor) -> None:
    """Require ``hidden`` of shape (B, T, D) and ``attention_mask`` of shape (B, T)."""
    if not isinstance(hidden, torch.Tensor) or hidden.dim() != 3:
        shape = tuple(hidden.shape) if isinstance(hidden, torch.Tensor) else type(hidden).__name__
        raise ValueError(f"Invalid hidden value: {shape} (expected a (batch, tokens, features) "
                         "tensor)")
    if not isinstance(attention_mask, torch.Tensor) or attention_mask.shape != hidden.shape[:2]:
        shape = (tuple(attention_mask.shape) if isinstance(attention_mask, torch.Tensor)
                 else type(attention_mask).__name__)
        raise ValueError(f"Invalid attention_mask value: {shape} (expected a "
                         f"{tuple(hidden.shape[:2])} tensor, the shape of hidden without features)")


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the real tokens' vectors, (B, T, D) -> (B, D)."""
    check_tokens(hidden, attention_mask)
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def max_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The feature-wise maximum over the real tokens, (B, T, D) -> (B, D)."""
    check_tokens(hidden, attention_mask)
    padding = ~attention_mask.bool().unsqueeze(-1)
    return hidden.masked_fill(padding, -torch.inf).amax(dim=1)


def cls_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The first token's vector, (B, T, D) -> (B, D)."""
    check_tokens(hidden, attention_mask)
    return hidden[:, 0]


class Pooling(nn.Module):
    """Pooling by name, one of :data:`POOLINGS`: ``forward(hidden, attention_mask)`` -> (B, D)."""

    _POOL = {"mean": mean_pool, "max": max_pool, "cls": cls_pool}

    def __init__(self, kind: str = "mean") -> None:
        super().__init__()
        check_choice("pooling", kind, POOLINGS)
        self.kind = kind

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self._POOL[self.kind](hidden, attention_mask)

    def extra_repr(self) -> str:
        return repr(self.kind)
