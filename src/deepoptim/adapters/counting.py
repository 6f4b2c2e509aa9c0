r"""One parameter count for every fine-tuning arm, and the closed forms it must agree with.

:func:`count_trainable` counts what an optimizer would update: the scalars of the parameters
with ``requires_grad`` (a tied matrix once), split into the adapter's and the task head's
(reported apart: LoRA's authors did not count their heads), and the frozen rest. It is the one
count the book uses for every arm: zero-shot 0; full fine-tuning every parameter; BitFit the
biases (:math:`(7+m)Ld + d` on our GPT, :mod:`.bitfit`); and

* LoRA of rank :math:`r` on maps :math:`d_\text{in} \to d_\text{out}`:
  :math:`r \sum (d_\text{in} + d_\text{out})`, i.e. :math:`4Ldr` on the query and value maps of
  :math:`L` blocks of width :math:`d` (:func:`lora_parameter_count`; all-MiniLM-L6-v2,
  :math:`r = 8`: 73,728);
* Solo-Connection of rank :math:`r` with :math:`|C|` connections:
  :math:`P(2dr + r + d) + |C|(d + r + g)` with :math:`P = 1` shared pair (:math:`|C|`
  unshared) and :math:`g = 1` if the gates are trained (0 for a schedule or a constant)
  (:func:`solo_parameter_count`; all-MiniLM-L6-v2, :math:`r = 8`, :math:`k = 2`: 7,322).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from torch import nn

from deepoptim._checks import check_int_at_least

from ._freeze import check_module

__all__ = ["ParameterCount", "count_trainable", "lora_parameter_count", "solo_parameter_count"]


class ParameterCount(NamedTuple):
    """Scalars of a model: ``adapter`` (trainable, outside the head), ``head`` (trainable, in
    the task head) and ``frozen``; ``trainable`` is the first two together."""

    adapter: int
    head: int
    frozen: int

    @property
    def trainable(self) -> int:
        return self.adapter + self.head


def count_trainable(model: nn.Module, head: nn.Module | None = None) -> ParameterCount:
    """The :class:`ParameterCount` of ``model`` (``head``: its task head, counted apart)."""
    check_module("model", model)
    check_module("head", head, optional=True)
    in_head = set() if head is None else {id(p) for p in head.parameters()}
    counts = {"adapter": 0, "head": 0, "frozen": 0}
    for parameter in model.parameters():
        kind = ("frozen" if not parameter.requires_grad
                else "head" if id(parameter) in in_head else "adapter")
        counts[kind] += parameter.numel()
    return ParameterCount(**counts)


def lora_parameter_count(shapes: Iterable[tuple[int, int]], rank: int) -> int:
    """LoRA's trainable scalars on maps of ``(d_in, d_out)`` in ``shapes``, rank ``rank``."""
    check_int_at_least("rank", rank, 1)
    return sum(rank * (d_in + d_out) for d_in, d_out in shapes)


def solo_parameter_count(dim: int, rank: int, n_connections: int, trainable_gates: bool = True,
                         shared: bool = True) -> int:
    """Solo-Connection's trainable scalars (see the module docstring)."""
    for name, value in (("dim", dim), ("rank", rank), ("n_connections", n_connections)):
        check_int_at_least(name, value, 1)
    pairs = 1 if shared else n_connections
    return pairs * (2 * dim * rank + rank + dim) + n_connections * (dim + rank
                                                                    + int(trainable_gates))
