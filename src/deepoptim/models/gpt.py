r"""A small GPT: the pretrained base that Part IV's adapters fine-tune.

A decoder-only transformer in the layout of GPT-2 (Radford et al., 2019) at toy scale:
byte-level tokens (vocabulary 256, so any UTF-8 text is a sequence of ids without a tokenizer),
a learned position embedding, ``n_layers`` pre-LN blocks

.. math::
    h \leftarrow h + \operatorname{Attn}(\operatorname{LN}_1 h), \qquad
    h \leftarrow h + \operatorname{MLP}(\operatorname{LN}_2 h),

a final LayerNorm and a linear head onto the 256 byte logits. Attention is causal (token
:math:`t` sees tokens :math:`\le t`) and written with separate ``q``, ``k``, ``v`` and ``o``
projections (``nn.Linear`` modules of those names in every block's ``attn``), so that LoRA can
target the query and value maps alone, as Hu et al. (2022) do on GPT-2 (``target_modules=["q",
"v"]`` in ``peft``). The head is tied to the token embedding by default (``tied=True``: one
:math:`256 \times d` matrix serves both, as in GPT-2); ``tied=False`` gives the head its own.

Weights start as in GPT-2: normal with standard deviation 0.02, the two projections that write
into the residual stream (``attn.o`` and the MLP's second layer) scaled by
:math:`1/\sqrt{2L}`, biases zero. :func:`encode_bytes` and :func:`decode_bytes` map text to
byte ids and back (:func:`deepoptim.nlp.greedy_continue` continues prompts with the GPT, or it
wrapped by an adapter). Models know nothing of training: the GPT is pretrained by
:func:`deepoptim.adapters.pretrained_gpt`.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim._checks import check_int_at_least

from .kv_cache import KVCache

__all__ = ["GPT", "GPTConfig", "GPT_CONFIGS", "decode_bytes", "encode_bytes", "gpt_config"]

VOCAB_SIZE = 256


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """The shape of a :class:`GPT`.

    Attributes:
        n_layers: transformer blocks ``L``.
        dim: width ``d`` of the residual stream.
        n_heads: attention heads (they must divide ``dim``).
        context: the longest sequence, in bytes (the position embedding's size).
        mlp_ratio: the MLP's hidden width is ``mlp_ratio * dim``.
        tied: the head shares the token embedding's matrix.
    """

    n_layers: int = 6
    dim: int = 128
    n_heads: int = 4
    context: int = 128
    mlp_ratio: int = 4
    tied: bool = True

    def __post_init__(self) -> None:
        check_int_at_least("n_layers", self.n_layers, 1)
        check_int_at_least("dim", self.dim, 1)
        check_int_at_least("n_heads", self.n_heads, 1)
        check_int_at_least("context", self.context, 1)
        check_int_at_least("mlp_ratio", self.mlp_ratio, 1)
        if self.dim % self.n_heads:
            raise ValueError(f"Invalid n_heads value: {self.n_heads!r} (it must divide "
                             f"dim={self.dim})")
        if not isinstance(self.tied, bool):
            raise TypeError(f"tied must be a bool, got {type(self.tied).__name__}")


#: Named configurations: ``"small"`` is the book's base (six blocks, so that Solo-Connection
#: strides 1 and 2 give five and two connections), ``"tiny"`` the tests' and smoke runs'.
GPT_CONFIGS = {
    "small": GPTConfig(),
    "tiny": GPTConfig(n_layers=4, dim=32, n_heads=2, context=32),
}


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with separate ``q``, ``k``, ``v``, ``o`` projections."""

    def __init__(self, dim: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0,
                positions: torch.Tensor | None = None) -> torch.Tensor:
        """Causal attention over ``x``; with ``cache``, over the positions stored in it for
        ``layer`` too (``x`` holds the tokens at ``positions``, which it stores)."""
        batch, tokens, dim = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, tokens, self.n_heads, dim // self.n_heads).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        if cache is None:
            mixed = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            k, v, mask = cache.store(layer, k, v, positions)
            mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o(mixed.transpose(1, 2).reshape(batch, tokens, dim))


class Block(nn.Module):
    """Pre-LN block: ``h + attn(ln1(h))``, then ``h + mlp(ln2(h))`` (GELU MLP)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        width = config.mlp_ratio * config.dim
        self.ln1 = nn.LayerNorm(config.dim)
        self.attn = CausalSelfAttention(config.dim, config.n_heads)
        self.ln2 = nn.LayerNorm(config.dim)
        self.mlp = nn.Sequential(nn.Linear(config.dim, width), nn.GELU(),
                                 nn.Linear(width, config.dim))

    def forward(self, h: torch.Tensor, cache: KVCache | None = None, layer: int = 0,
                positions: torch.Tensor | None = None) -> torch.Tensor:
        h = h + self.attn(self.ln1(h), cache, layer, positions)
        return h + self.mlp(self.ln2(h))


class GPT(nn.Module):
    """The small GPT of the module docstring: ``forward(ids)`` with ``ids`` (B, T) int64 byte
    ids, ``T <= config.context``, returns the next-byte logits (B, T, 256).
    ``forward(ids, cache)`` with a cache from :meth:`make_cache` feeds only new tokens (see
    :mod:`deepoptim.models.kv_cache`).

    ``blocks`` is the ``nn.ModuleList`` of the ``L`` blocks (where Solo-Connection hooks in).
    """

    def __init__(self, config: GPTConfig | str = "small") -> None:
        super().__init__()
        config = gpt_config(config)
        self.config = config
        self.embed = nn.Embedding(VOCAB_SIZE, config.dim)
        self.pos = nn.Embedding(config.context, config.dim)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, VOCAB_SIZE, bias=False)
        self.apply(_init_weights)
        for block in self.blocks:
            for proj in (block.attn.o, block.mlp[2]):
                proj.weight.data.mul_(1 / math.sqrt(2 * config.n_layers))
        if config.tied:
            self.head.weight = self.embed.weight

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.dim() != 2:
            raise ValueError(f"Invalid ids value: {_describe(ids)} (expected an int64 tensor "
                             "of shape (batch, tokens))")
        if cache is not None and (not isinstance(cache, KVCache) or cache.batch != len(ids)):
            raise ValueError(f"Invalid cache value: {type(cache).__name__} (expected a "
                             f"KVCache of {len(ids)} rows from make_cache)")
        seen = 0 if cache is None else int(cache.lengths.max())
        if seen + ids.shape[1] > self.config.context:
            raise ValueError(f"Invalid ids value: {seen + ids.shape[1]} tokens (expected at "
                             f"most the context, {self.config.context})")
        positions = (torch.arange(ids.shape[1], device=ids.device) if cache is None
                     else cache.positions(ids.shape[1]))
        h = self.embed(ids) + self.pos(positions)
        for layer, block in enumerate(self.blocks):
            h = block(h, cache, layer, positions)
        if cache is not None:
            cache.advance(ids.shape[1])
        return self.head(self.ln_f(h))

    def make_cache(self, batch: int) -> KVCache:
        """An empty :class:`~deepoptim.models.KVCache` of ``batch`` rows for ``forward(ids,
        cache)``: each call feeds the next tokens of every row, at the positions after those
        the cache has seen, and returns the logits the full forward gives there."""
        check_int_at_least("batch", batch, 1)
        c, weight = self.config, self.embed.weight
        return KVCache(c.n_layers, batch, c.n_heads, c.context, c.dim // c.n_heads,
                       dtype=weight.dtype, device=weight.device)


def gpt_config(config: GPTConfig | str) -> GPTConfig:
    """``config`` itself, or the named one of :data:`GPT_CONFIGS`."""
    if isinstance(config, str):
        if config not in GPT_CONFIGS:
            options = ", ".join(repr(name) for name in GPT_CONFIGS)
            raise ValueError(f"Invalid config value: {config!r} (expected a GPTConfig or one "
                             f"of {options})")
        return GPT_CONFIGS[config]
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig or a name, got {type(config).__name__}")
    return config


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def encode_bytes(text: str) -> torch.Tensor:
    """The UTF-8 bytes of ``text`` as an int64 tensor of ids in [0, 256)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return torch.tensor(list(text.encode("utf-8")), dtype=torch.long)


def decode_bytes(ids: torch.Tensor) -> str:
    """The text of byte ids (a 1-D tensor); bytes that are not valid UTF-8 become U+FFFD."""
    return bytes(ids.tolist()).decode("utf-8", errors="replace")
