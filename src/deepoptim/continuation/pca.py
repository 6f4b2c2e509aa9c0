r"""PCA initialisation of an autoencoder: the closed-form solution of continuation's first problem.

At :math:`\lambda = 0` an autoencoder with homotopy activations is a linear autoencoder, whose
mean-squared-error optimum is the rank-:math:`k` PCA projection (Baldi & Hornik 1989;
Eckart-Young). NPACS (Pathak & Paffenroth, ICMLA 2019) therefore
starts there, by successive SVDs:

1. centre the data, :math:`L_0 = X - \bar x`;
2. encoder layer :math:`\ell` (width :math:`d_\ell`): :math:`L_{\ell-1} = U S V^\top`,
   :math:`W_\ell = V_{:, :d_\ell}^\top`, then :math:`L_\ell = L_{\ell-1} V_{:, :d_\ell}`;
3. each decoder layer gets the transpose of its mirror encoder layer's weight;
4. every bias is the constant ``bias`` (the reference: 1e-4).

With ``bias=0`` the linear autoencoder then reconstructs the centred data by its rank-:math:`k`
PCA projection (:math:`k` the code width): its mean squared error is
:math:`\sum_{i>k} s_i^2 / (n D)`. Train it on centred data (the mean is returned).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepoptim._checks import check_in_range

__all__ = ["pca_init"]


def _linears(name: str, module: nn.Module) -> list[nn.Linear]:
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"Invalid {name} value: no nn.Linear layer in {type(module).__name__}")
    return linears


@torch.no_grad()
def pca_init(encoder: nn.Module, decoder: nn.Module, x: torch.Tensor, *,
             bias: float = 1e-4) -> torch.Tensor:
    r"""Initialise the ``nn.Linear`` layers of ``encoder`` and ``decoder`` (in module order)
    from the principal components of ``x`` (samples by features); return the data's mean.

    The decoder's layers mirror the encoder's (decoder layer :math:`i` has the transposed shape
    of encoder layer :math:`L - 1 - i`), and each encoder width is at most the rank the SVD
    before it can give (the number of samples and the layer's input width).
    """
    encoders, decoders = _linears("encoder", encoder), _linears("decoder", decoder)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"Invalid x value: shape {tuple(x.shape)} (expected samples by features)")
    check_in_range("bias", bias, -math.inf, math.inf, low_inclusive=False)
    mirrors = [(d.out_features, d.in_features) for d in reversed(decoders)]
    if mirrors != [(e.in_features, e.out_features) for e in encoders]:
        raise ValueError(f"Invalid decoder value: layer shapes (in, out) "
                         f"{[(d.in_features, d.out_features) for d in decoders]} do not mirror "
                         f"the encoder's {[(e.in_features, e.out_features) for e in encoders]}")
    if encoders[0].in_features != x.shape[1]:
        raise ValueError(f"Invalid x value: {x.shape[1]} features (expected the encoder's "
                         f"{encoders[0].in_features})")
    for layer in encoders:
        rank = min(x.shape[0], layer.in_features)
        if layer.out_features > rank:
            raise ValueError(f"Invalid encoder value: a layer of width {layer.out_features} "
                             f"after an SVD of rank at most {rank}")
    mean = x.mean(dim=0)
    projected = (x - mean).to(encoders[0].weight.dtype)
    for layer, mirror in zip(encoders, reversed(decoders), strict=True):
        basis = torch.linalg.svd(projected, full_matrices=False).Vh[:layer.out_features]
        layer.weight.copy_(basis)
        mirror.weight.copy_(basis.T)
        projected = projected @ basis.T
    for layer in encoders + decoders:
        if layer.bias is not None:
            layer.bias.fill_(bias)
    return mean
