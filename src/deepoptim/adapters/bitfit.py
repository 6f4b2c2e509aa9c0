r"""BitFit (Ben Zaken, Ravfogel and Goldberg, "BitFit: simple parameter-efficient fine-tuning
for transformer-based masked language-models", ACL 2022): train the bias terms only.

Every parameter whose name ends in ``bias`` stays trainable (the linear maps' biases and the
LayerNorms' shifts :math:`\beta`), all others are frozen. On our
:class:`~deepoptim.models.GPT` (``L`` blocks of width ``d``, MLP ratio ``m``, head without bias)
that is per block ``4d`` (q, k, v, o) ``+ md + d`` (the MLP) ``+ 2d`` (two LayerNorms), plus
the final LayerNorm's ``d``: :math:`(7 + m)\,L d + d`.
"""

from __future__ import annotations

from torch import nn

from ._freeze import freeze

__all__ = ["bitfit"]


def bitfit(model: nn.Module, head: nn.Module | None = None) -> nn.Module:
    """Freeze ``model`` (in place) but for its biases and ``head``'s parameters; return it."""
    freeze(model, head)
    for name, parameter in model.named_parameters():
        if name.rsplit(".", 1)[-1] == "bias":
            parameter.requires_grad_(True)
    return model
