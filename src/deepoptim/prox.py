r"""Proximal operators with the per-coordinate (or per-group) scale a proximal optimizer needs.

Every operator solves, in closed form, the subproblem of one proximal step

.. math::

    \operatorname{prox}_{r,\tau}(b) = \arg\min_{x \in \mathcal X}
        \; r(x) + \tfrac12 \sum_i \tau_i (x_i - b_i)^2,

where ``scale`` is :math:`\tau > 0` (a number, or a tensor broadcastable to ``b``: one curvature
value per coordinate, e.g. ProxSGD's Adam-like proxy) and :math:`\mathcal X` a box or the whole
space. With :math:`S_t(b) = \operatorname{sign}(b)\max(|b| - t, 0)` (soft thresholding):

============================================  ==================================================
:math:`r(x)`, constraint                      minimiser
============================================  ==================================================
:math:`\mu\|x\|_1`                            :math:`S_{\mu/\tau}(b)`
:math:`\mu\|x\|_1`, :math:`l \le x \le u`     :math:`\operatorname{clip}(S_{\mu/\tau}(b), l, u)`
box :math:`l \le x \le u` only                :math:`\operatorname{clip}(b, l, u)`
:math:`\mu_1\|x\|_1 + \frac{\mu_2}2\|x\|_2^2`  :math:`S_{\mu_1/\tau}(b) / (1 + \mu_2/\tau)`
:math:`\mu \|x_g\|_2` (one group, scalar τ)   :math:`(1 - \frac{\mu/\tau}{\|b_g\|_2})_+\, b_g`
============================================  ==================================================

The elementwise problems are separable into one-dimensional convex problems, so clipping the
unconstrained minimiser to the box is exact. The group lasso (:math:`\ell_{2,1}`) problem is not
separable inside a group; its closed form needs one scale per group, and it zeroes the whole
group exactly when :math:`\|b_g\|_2 \le \mu/\tau` (:func:`group_shrinkage`). A group may span
several tensors (:func:`prox_group_lasso`, e.g. one operation of a network in every cell), or
be one row of each of several tensors (:func:`prox_group_lasso_rows`, e.g. an output filter of
a convolution together with its bias and batch-norm entries).

Source: Yang et al., "ProxSGD: Training Structured Neural Networks under Regularization and
Constraints" (ICLR 2020), Section 3; derived in the book's chapter "ProxSGD"
(``notebooks/12_proxsgd.py``). The tests compare every operator with a numerical minimisation
of its subproblem (``tests/test_prox.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "group_norms_rows",
    "group_shrinkage",
    "joint_norm",
    "prox_box",
    "prox_elastic_net",
    "prox_group_lasso",
    "prox_group_lasso_rows",
    "prox_l1",
    "prox_l1_box",
    "soft_threshold",
]

Scale = float | torch.Tensor


def soft_threshold(b: torch.Tensor, threshold: Scale, *, inplace: bool = False) -> torch.Tensor:
    r"""Soft thresholding :math:`S_t(b) = \operatorname{sign}(b) \max(|b| - t, 0)`.

    ``threshold`` is a non-negative number (one pass, ``torch.nn.functional.softshrink``) or a
    tensor broadcastable to ``b`` (computed as ``b - clip(b, -t, t)``); entries with
    :math:`|b_i| \le t_i` become exactly zero. With ``inplace=True`` the result overwrites
    ``b`` (a number as threshold then needs no temporary at all); every operator below takes
    the same flag.
    """
    if isinstance(threshold, torch.Tensor):
        clipped = b.clamp(-threshold, threshold)
        return b.sub_(clipped) if inplace else b - clipped
    return torch.ops.aten.softshrink.out(b, threshold, out=b) if inplace \
        else torch.nn.functional.softshrink(b, threshold)


def prox_l1(b: torch.Tensor, weight: float, scale: Scale = 1.0, *, inplace: bool = False
            ) -> torch.Tensor:
    r"""Prox of :math:`\mu\|x\|_1` with curvature ``scale``: :math:`S_{\mu/\tau}(b)`.

    A tensor ``scale`` uses :math:`S_{\mu/\tau}(b) = S_\mu(\tau b)/\tau` (:math:`\tau > 0`),
    which needs no threshold tensor (equal up to rounding).
    """
    if isinstance(scale, torch.Tensor):
        scaled = b.mul_(scale) if inplace else b * scale
        return soft_threshold(scaled, weight, inplace=True).div_(scale)
    return soft_threshold(b, weight / scale, inplace=inplace)


def prox_box(b: torch.Tensor, lower: float | None = None, upper: float | None = None, *,
             inplace: bool = False) -> torch.Tensor:
    r"""Projection onto the box :math:`l \le x \le u` (``None``: unbounded on that side).

    It is the prox of the box's indicator for any scale; with :math:`[-1, 1]` it is the
    constraint of ProxSGD's binarised networks.
    """
    return b.clamp_(lower, upper) if inplace else b.clamp(lower, upper)


def prox_l1_box(b: torch.Tensor, weight: float, lower: float | None, upper: float | None,
                scale: Scale = 1.0, *, inplace: bool = False) -> torch.Tensor:
    r"""Prox of :math:`\mu\|x\|_1` restricted to a box:
    :math:`\operatorname{clip}(S_{\mu/\tau}(b), l, u)`."""
    return prox_box(prox_l1(b, weight, scale, inplace=inplace), lower, upper, inplace=True)


def prox_elastic_net(b: torch.Tensor, l1: float, l2: float, scale: Scale = 1.0, *,
                     inplace: bool = False) -> torch.Tensor:
    r"""Prox of :math:`\mu_1\|x\|_1 + \frac{\mu_2}{2}\|x\|_2^2`:
    :math:`S_{\mu_1/\tau}(b)/(1 + \mu_2/\tau)` (a number as ``scale`` multiplies by the
    reciprocal: one cheap pass, where a division by a number costs twice as much on a CPU)."""
    shrunk = prox_l1(b, l1, scale, inplace=inplace)
    if isinstance(scale, torch.Tensor):
        return shrunk.div_(1 + l2 / scale)
    return shrunk.mul_(1 / (1 + l2 / scale))


def group_shrinkage(norms: torch.Tensor, thresholds: Scale) -> torch.Tensor:
    r"""The group-lasso factor :math:`(1 - t_g / \|b_g\|)_+`, exactly 0 when
    :math:`\|b_g\| \le t_g`.

    A group of norm 0 gets the factor 0 (its prox is 0 for any threshold).
    """
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    return torch.where(norms > thresholds, 1 - thresholds / safe, torch.zeros_like(norms))


def joint_norm(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    r"""The Euclidean norm of all entries of all ``parts`` together (0-dim tensor)."""
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p) for p in parts]))


def group_norms_rows(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    r"""Norms of the row groups: group :math:`k` is row :math:`k` (index ``k`` along dimension 0)
    of every tensor in ``parts``; all parts must have the same size along dimension 0."""
    norms = [torch.linalg.vector_norm(p.reshape(p.shape[0], -1), dim=1) for p in parts]
    return torch.linalg.vector_norm(torch.stack(norms), dim=0)


def prox_group_lasso(parts: Sequence[torch.Tensor], weight: float, scale: Scale = 1.0
                     ) -> list[torch.Tensor]:
    r"""Prox of :math:`\mu\|x\|_2` for one group made of all entries of ``parts`` (any shapes).

    ``scale`` is the group's scalar curvature :math:`\tau` (a number or a 0-dim tensor).
    Returns the shrunk parts, :math:`(1 - \frac{\mu/\tau}{\|b\|})_+ b`.
    """
    factor = group_shrinkage(joint_norm(parts), weight / scale)
    return [factor * p for p in parts]


def prox_group_lasso_rows(parts: Sequence[torch.Tensor], weight: Scale, scale: Scale = 1.0
                          ) -> list[torch.Tensor]:
    r"""Prox of :math:`\sum_k \mu_k \|x_{(k)}\|_2` over the row groups of :func:`group_norms_rows`.

    ``weight`` (:math:`\mu_k`) and ``scale`` (:math:`\tau_k`) are numbers or 1-D tensors with
    one entry per row. Each row group is shrunk by its own factor
    :math:`(1 - \frac{\mu_k/\tau_k}{\|b_{(k)}\|})_+`.
    """
    factor = group_shrinkage(group_norms_rows(parts), weight / scale)
    return [factor.reshape(-1, *([1] * (p.dim() - 1))) * p for p in parts]
