r"""Evaluating a model as a fixed function of its parameters: its mode and its tensors.

The curvature and landscape tools evaluate a network as :math:`\theta \mapsto L(\theta)` with
``torch.func.functional_call``, never writing into the model. Two things make that function
well defined and leave the model as it was:

* :func:`forward_mode`: the train/eval flags the model is evaluated with, restored afterwards
  module by module; in train mode batch normalisation normalises with each batch's own
  statistics and its running statistics are neither used nor updated;
* :func:`parameter_snapshot`: copies of the differentiated parameters (the coordinates
  :math:`\theta`) and of everything else the forward pass reads (other parameters, buffers),
  optionally cast to a dtype.

:func:`active_dropout` names the dropout layers that would make the function random in train
mode; :func:`check_dtype` validates a dtype argument. Used by
:class:`~deepoptim.curvature.HessianOperator`, :func:`~deepoptim.curvature.dense_hessian` and
:mod:`deepoptim.landscape`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

__all__ = ["active_dropout", "check_dtype", "forward_mode", "parameter_snapshot"]


def active_dropout(model: nn.Module) -> list[str]:
    """Names of the dropout layers of ``model`` that drop something (p > 0)."""
    return [name for name, m in model.named_modules()
            if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0]


@contextlib.contextmanager
def forward_mode(model: nn.Module, train: bool) -> Iterator[None]:
    """Run ``model`` in eval (or train) mode inside the block, then restore every module's flag.

    In train mode, batch normalisation uses the statistics of the batch it sees and its running
    statistics are neither used nor updated (``track_running_stats`` is switched off inside the
    block). Each submodule's own ``training`` flag is restored, also a mixed one.
    """
    flags = {m: m.training for m in model.modules()}
    batchnorms = (m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    patched = [m for m in batchnorms if train and m.track_running_stats]
    model.train(train)
    for m in patched:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in patched:
            m.track_running_stats = True
        for m, flag in flags.items():
            m.training = flag


def parameter_snapshot(model: nn.Module, parameters: Sequence[str] | None,
                       dtype: torch.dtype | None
                       ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Copies of the differentiated parameters and of everything else the forward pass reads.

    Returns ``(params, frozen)``: the parameters named in ``parameters`` (default: all that
    require grad), in ``named_parameters()`` order, and the other parameters and all buffers.
    Floating point tensors are cast to ``dtype`` (``None``: kept).
    """
    named = dict(model.named_parameters())
    if parameters is None:
        wanted = [name for name, p in named.items() if p.requires_grad]
    else:
        if isinstance(parameters, str) or not all(isinstance(n, str) for n in parameters):
            raise TypeError("parameters must be a sequence of parameter names")
        unknown = [n for n in parameters if n not in named]
        if unknown:
            raise ValueError(f"Invalid parameters value: {unknown} (not parameters of the "
                             f"model; it has {list(named)})")
        wanted = [name for name in named if name in set(parameters)]
    if not wanted:
        raise ValueError("Invalid parameters value: no parameter to differentiate")

    def copy(t: torch.Tensor) -> torch.Tensor:
        cast = dtype if t.is_floating_point() else None
        return t.detach().to(dtype=cast, copy=True)

    params = {name: copy(named[name]) for name in wanted}
    frozen = {name: copy(p) for name, p in named.items() if name not in params}
    frozen.update({name: copy(b) for name, b in model.named_buffers()})
    return params, frozen


def check_dtype(dtype: torch.dtype | None) -> None:
    """Require ``None`` or a floating point ``torch.dtype``."""
    if dtype is not None and (not isinstance(dtype, torch.dtype) or not dtype.is_floating_point):
        raise ValueError(f"Invalid dtype value: {dtype!r} (expected a floating point dtype)")
