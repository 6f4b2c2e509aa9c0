r"""A key/value cache: decoding a causal transformer one token at a time in linear cost.

A causal attention layer's output at position :math:`t` depends on the query at :math:`t` and
on the keys and values at positions :math:`\le t`, and those keys and values never change once
computed (later tokens cannot reach them). Keeping every layer's keys :math:`K` and values
:math:`V` lets a decoder feed only the *new* tokens: their queries attend to the stored keys
and values plus their own, and the logits are those of the full forward at those positions.
Greedy decoding of :math:`n` tokens after a prompt of length :math:`p` then costs
:math:`O(p + n)` token forwards instead of :math:`O(n(p + n))`.

:class:`KVCache` holds, for each of ``n_layers`` layers, keys and values of shape
``(batch, heads, context, head_dim)`` and the number of positions each row has seen
(``lengths``: rows may differ). New tokens of row :math:`b` take the absolute positions
``lengths[b], lengths[b] + 1, ...`` (for the position embedding too), and a query at position
:math:`t` attends to the stored positions :math:`\le t` (a boolean mask). Right-padded prompts
of different lengths are fed together once, then :meth:`KVCache.rewind` forgets each row's
padding: what was stored there is masked until the row's own tokens overwrite it.
"""

from __future__ import annotations

import torch

__all__ = ["KVCache"]


class KVCache:
    """Per-layer keys and values of the positions a model has seen, row by row.

    Args:
        n_layers: attention layers.
        batch: rows.
        n_heads: heads per layer.
        context: the most positions a row can hold.
        head_dim: width of one head.
        dtype, device: those of the keys and values (the model's).
    """

    def __init__(self, n_layers: int, batch: int, n_heads: int, context: int, head_dim: int,
                 *, dtype: torch.dtype, device: torch.device | str) -> None:
        shape = (batch, n_heads, context, head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.lengths = torch.zeros(batch, dtype=torch.long, device=device)
        self.context = context

    @property
    def batch(self) -> int:
        return len(self.lengths)

    def positions(self, tokens: int) -> torch.Tensor:
        """The absolute positions (batch, tokens) of ``tokens`` new tokens in every row."""
        return self.lengths[:, None] + torch.arange(tokens, device=self.lengths.device)

    def store(self, layer: int, keys: torch.Tensor, values: torch.Tensor,
              positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Write the new ``keys`` and ``values`` (batch, heads, tokens, head_dim) of ``layer``
        at ``positions``; return the stored keys and values up to the last position and the
        mask (batch, 1, tokens, span) of what each new token's query may attend to."""
        rows = torch.arange(self.batch, device=positions.device)[:, None]
        self.keys[layer][rows, :, positions] = keys.transpose(1, 2)
        self.values[layer][rows, :, positions] = values.transpose(1, 2)
        span = int(positions.max()) + 1
        mask = torch.arange(span, device=positions.device) <= positions[:, :, None]
        return self.keys[layer][:, :, :span], self.values[layer][:, :, :span], mask[:, None]

    def advance(self, tokens: int) -> None:
        """Count ``tokens`` more positions in every row (after every layer stored them)."""
        self.lengths += tokens

    def rewind(self, lengths: torch.Tensor) -> None:
        """Forget every position at or after ``lengths[b]`` in row ``b`` (its padding)."""
        lengths = torch.as_tensor(lengths, dtype=torch.long, device=self.lengths.device)
        if lengths.shape != self.lengths.shape or bool((lengths > self.lengths).any()):
            raise ValueError(f"Invalid lengths value: {lengths.tolist()} (expected one per row, "
                             f"at most the positions seen, {self.lengths.tolist()})")
        self.lengths = lengths.clone()

    def select(self, rows: torch.Tensor) -> KVCache:
        """A cache of the given rows only (a boolean mask or indices), in that order."""
        kept = KVCache.__new__(KVCache)
        kept.keys = [k[rows] for k in self.keys]
        kept.values = [v[rows] for v in self.values]
        kept.lengths = self.lengths[rows]
        kept.context = self.context
        return kept
