r"""Hessian-vector products through autograd, differentiable when asked.

For a scalar loss :math:`L(\theta)` with gradient :math:`g(\theta) = \nabla_\theta L`, the
product with a vector :math:`v` (held fixed) is the gradient of a scalar (Pearlmutter 1994):

.. math::

    Hv = \nabla_\theta \langle g(\theta), v \rangle ,

one backward pass through the graph of :math:`g` ("reverse over reverse"). Built with
``create_graph=True`` that backward pass records its own graph, so :math:`Hv` is again a
differentiable function of :math:`\theta`, and a scalar made from it can be back-propagated:
for a fixed :math:`v`,

.. math::

    \nabla_\theta\, \tfrac12 v^\top H(\theta)\, v = \tfrac12\, \nabla^3 L(\theta)[v, v],
    \qquad \nabla_\theta\, \tfrac12\lVert g(\theta)\rVert^2 = H g ,

which is how a regulariser acts through curvature (a penalty on the curvature along the top
eigenvector, as in NuGAN's spectral regulariser, or a gradient-norm penalty).

* :func:`hvp`: :math:`Hv` of a loss tensor with respect to parameters (a model's, or the
  argument of a function), with or without the graph of the product;
* :func:`hessian_products`: the primitive, from gradients already computed with their graph
  (e.g. ``loss.backward(create_graph=True)`` then ``p.grad``), for one vector or a batch;
* :func:`flat_products`: a batch of flat vectors through that primitive, looped or vectorised,
  which :class:`~deepoptim.curvature.HessianOperator`,
  :class:`~deepoptim.curvature.FunctionHessianOperator` and
  :class:`~deepoptim.curvature.GraphHessianOperator` use for every product. The operators are
  this product frozen (no graph to the caller, parameters copied), for the eigensolvers.

The book derives the product in "Hessian spectra with parallel stochastic Lanczos"
(``notebooks/10_hessian_spectra``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["flat_products", "hessian_products", "hvp"]


def _as_tensors(name: str, value: object) -> tuple[torch.Tensor, ...]:
    """A tensor or a non-empty sequence of tensors, as a tuple."""
    items = (value,) if isinstance(value, torch.Tensor) else tuple(value)  # type: ignore[arg-type]
    if not items or not all(isinstance(t, torch.Tensor) for t in items):
        raise TypeError(f"{name} must be a torch.Tensor or a sequence of torch.Tensors")
    return items


def hessian_products(gradients: Sequence[torch.Tensor], params: Sequence[torch.Tensor],
                     vectors: Sequence[torch.Tensor], *, batched: bool = False,
                     create_graph: bool = False, retain_graph: bool = True
                     ) -> tuple[torch.Tensor, ...]:
    """:math:`Hv`, one tensor per parameter, from gradients computed with their graph.

    Args:
        gradients: :math:`\\nabla_{\\theta_i} L` for each tensor of ``params``, computed with
            ``create_graph=True``. A gradient without a graph is constant: its rows of
            :math:`H` are zero.
        params: the tensors :math:`\\theta_i` (leaves or not) the gradients are taken at.
        vectors: :math:`v_i`, shaped like ``params`` (with a leading batch dimension of
            :math:`k` vectors if ``batched``).
        batched: push the :math:`k` vectors through the graph in one vectorised backward pass
            (``is_grads_batched``).
        create_graph: record the graph of the products (differentiable results).
        retain_graph: keep the gradients' graph for further products.

    Returns:
        :math:`(Hv)_i = \\sum_j \\partial g_j/\\partial\\theta_i\\, v_j` for each ``params[i]``
        (batched: ``(k, *shape)``).
    """
    pairs = [(g, v) for g, v in zip(gradients, vectors, strict=True) if g.requires_grad]
    products: Sequence[torch.Tensor | None] = (None,) * len(params)
    if pairs:
        outputs, grad_outputs = zip(*pairs, strict=True)
        products = torch.autograd.grad(outputs, params, grad_outputs, retain_graph=retain_graph,
                                       create_graph=create_graph, allow_unused=True,
                                       is_grads_batched=batched)
    batch = (len(vectors[0]),) if batched else ()
    return tuple(torch.zeros(*batch, *p.shape, dtype=p.dtype, device=p.device)
                 if product is None else product for product, p in zip(products, params,
                                                                        strict=True))


def flat_products(gradients: Sequence[torch.Tensor], params: Sequence[torch.Tensor],
                  vectors: torch.Tensor, *, chunk_size: int | None, vectorize: bool
                  ) -> torch.Tensor:
    """The products with the rows of ``vectors`` ``(k, n)``, flat in the order of ``params``.

    Each row is split into tensors shaped like ``params``; the rows go back through the graph
    vectorised, ``chunk_size`` rows per pass (``None``: all), or one backward pass per row.
    The graph is kept.
    """
    numels = [p.numel() for p in params]

    def split(rows: torch.Tensor) -> list[torch.Tensor]:
        return [part.reshape(*rows.shape[:-1], *p.shape)
                for part, p in zip(rows.split(numels, dim=-1), params, strict=True)]

    def join(parts: Sequence[torch.Tensor], batch: tuple[int, ...]) -> torch.Tensor:
        return torch.cat([part.reshape(*batch, -1) for part in parts], dim=-1)

    if vectorize and len(vectors) > 1:
        return torch.cat([
            join(hessian_products(gradients, params, split(chunk), batched=True), (len(chunk),))
            for chunk in vectors.split(chunk_size or len(vectors))])
    return torch.stack([join(hessian_products(gradients, params, split(vector)), ())
                        for vector in vectors])


def hvp(loss: torch.Tensor, params: torch.Tensor | Sequence[torch.Tensor],
        vector: torch.Tensor | Sequence[torch.Tensor], *, create_graph: bool = True
        ) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """The Hessian-vector product :math:`\\nabla^2_\\theta L\\, v`, differentiable by default.

    Args:
        loss: the scalar :math:`L`, computed from ``params`` with its graph, e.g.
            ``loss_fn(model(x), y)`` for a model's parameters or ``f(x)`` for a function of a
            tensor ``x`` that requires grad.
        params: :math:`\\theta`: a tensor, or a sequence of tensors (e.g.
            ``list(model.parameters())``: the Hessian over all of them, blocks included).
        vector: :math:`v`, shaped like ``params`` (a tensor or a sequence of tensors); it is
            held constant (a ``v`` that depends on :math:`\\theta` is treated as fixed only if
            detached).
        create_graph: keep the graph of the product, so that :math:`Hv` (and the loss) can be
            differentiated again with respect to ``params``. With ``False`` the product is
            returned without a graph and the loss's graph is freed (as by ``loss.backward()``).

    Returns:
        :math:`Hv` shaped like ``params``: a tensor if ``params`` is one, else a tuple.
    """
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss must be a torch.Tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(f"Invalid loss value: shape {tuple(loss.shape)} (expected a scalar)")
    inputs = _as_tensors("params", params)
    vectors = _as_tensors("vector", vector)
    if [v.shape for v in vectors] != [p.shape for p in inputs]:
        raise ValueError(f"Invalid vector value: shapes {[tuple(v.shape) for v in vectors]} "
                         f"(expected those of params, {[tuple(p.shape) for p in inputs]})")
    gradients = torch.autograd.grad(loss, inputs, create_graph=True, materialize_grads=True)
    products = hessian_products(gradients, inputs, vectors, create_graph=create_graph,
                                retain_graph=create_graph)
    return products[0] if isinstance(params, torch.Tensor) else products
