r"""Symmetric linear operators on flat vectors: the Hessian of a network's loss, and test matrices.

Every curvature algorithm of :mod:`deepoptim.curvature` takes a :class:`LinearOperator`: a
symmetric map :math:`A:\mathbb{R}^n\to\mathbb{R}^n` applied to one vector (``op.matvec(v)``,
``op @ v``) or to a batch of :math:`k` vectors held as the rows of a ``(k, n)`` tensor
(``op.matvec_batch(V)``, the layout ``torch.vmap`` batches over). Four kinds are provided:

* :class:`HessianOperator`: :math:`H = \nabla^2 L(\theta)` of a model's loss over a fixed data
  subset :math:`S`, :math:`L(\theta) = \frac{1}{|S|}\sum_{i\in S}\ell(f_\theta(x_i), y_i)`. The
  subset is split into batches :math:`B_1,\dots,B_K` and :math:`Hv = \sum_k |B_k|\,H_k v/|S|`,
  with :math:`H_k` the Hessian of the mean loss over :math:`B_k`: exact, whatever the split.
  Products are reverse-over-reverse (Pearlmutter's :math:`Hv = \nabla_\theta\langle\nabla_\theta
  L, v\rangle`): the gradient of each batch is computed once per call with its graph, and a
  batch of vectors goes back through that graph (in one vectorised pass, or a loop of passes),
  so :math:`k` vectors share one forward and one backward pass (``cache=True`` keeps the
  graphs between calls).
* :class:`FunctionHessianOperator`: the Hessian of any scalar function of a flat vector (toy
  problems, a loss written by hand).
* :class:`GraphHessianOperator`: the Hessian block of a loss through a gradient graph the
  caller has built (``loss.backward(create_graph=True)`` in an optimizer's step).
* :class:`MatrixOperator`: an explicit symmetric matrix, so that every algorithm can be tested
  against a known spectrum.

:func:`flatten` and :func:`unflatten` go between flat vectors and parameter-shaped dicts (in
``named_parameters()`` order, the order every flat vector of this package uses).

Their products are :func:`deepoptim.curvature.hvp.flat_products`, the code of the
differentiable :func:`~deepoptim.curvature.hvp`, run without a graph. New operators (a
Gauss-Newton matrix, a Kronecker-factored approximation) subclass :class:`LinearOperator` and
implement ``_apply``; :func:`check_operator` is the argument check of every algorithm that takes
one. The book derives the Hessian-vector product in the chapter "Hessian spectra with parallel
stochastic Lanczos" (``notebooks/10_hessian_spectra``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call

from deepoptim._checks import check_int_at_least

from .evaluation import active_dropout, check_dtype, forward_mode, parameter_snapshot
from .hvp import flat_products
from .inverse import check_factor

__all__ = [
    "FunctionHessianOperator",
    "GraphHessianOperator",
    "HessianOperator",
    "LinearOperator",
    "MatrixOperator",
    "check_operator",
    "flatten",
    "unflatten",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def flatten(tensors: Mapping[str, torch.Tensor] | Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate tensors (a dict's values in its order, or a sequence) into one flat vector."""
    values = list(tensors.values()) if isinstance(tensors, Mapping) else list(tensors)
    if not values:
        raise ValueError("Invalid tensors value: nothing to flatten")
    return torch.cat([t.reshape(-1) for t in values])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Split a flat vector into views shaped like ``like``'s values, under the same keys.

    Leading batch dimensions are kept: a ``(k, n)`` batch gives tensors of shape
    ``(k, *shape)``. The last dimension must equal the total number of entries of ``like``.
    """
    numels = [t.numel() for t in like.values()]
    if vector.dim() == 0 or vector.shape[-1] != sum(numels):
        raise ValueError(
            f"Invalid vector value: shape {tuple(vector.shape)} "
            f"(expected a last dimension of {sum(numels)})"
        )
    chunks = vector.split(numels, dim=-1)
    batch = vector.shape[:-1]
    return {name: chunk.reshape(*batch, *t.shape)
            for (name, t), chunk in zip(like.items(), chunks, strict=True)}


class LinearOperator:
    """A symmetric linear operator on :math:`\\mathbb{R}^n`, applied to flat vectors.

    Attributes:
        dim: :math:`n`, the length of the vectors it acts on.
        dtype: the dtype of those vectors.
        device: their device.

    Subclasses implement ``_apply(vectors)``, mapping a ``(k, n)`` batch (one vector per row)
    to the ``(k, n)`` batch of products; arguments are checked before it is called.
    """

    def __init__(self, dim: int, dtype: torch.dtype, device: torch.device) -> None:
        check_int_at_least("dim", dim, 1)
        self.dim = dim
        self.dtype = dtype
        self.device = torch.device(device)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, n)``."""
        return (self.dim, self.dim)

    def matvec(self, vector: torch.Tensor) -> torch.Tensor:
        """The product :math:`Av` of one vector of shape ``(n,)``."""
        self._check(vector, 1)
        return self._products(vector.unsqueeze(0)).squeeze(0)

    def matvec_batch(self, vectors: torch.Tensor) -> torch.Tensor:
        """The products :math:`Av_i` of a batch of vectors, one per row of a ``(k, n)`` tensor."""
        self._check(vectors, 2)
        return self._products(vectors)

    def _products(self, vectors: torch.Tensor) -> torch.Tensor:
        """``_apply`` without recording a graph: products are not differentiable."""
        with torch.no_grad():
            return self._apply(vectors)

    def __matmul__(self, other: torch.Tensor) -> torch.Tensor:
        """``A @ v`` for a vector ``(n,)``, or ``A @ X`` for a matrix ``(n, k)`` of columns."""
        if isinstance(other, torch.Tensor) and other.dim() == 2:
            return self.matvec_batch(other.T).T
        return self.matvec(other)

    def _apply(self, vectors: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _check(self, vectors: object, ndim: int) -> None:
        """Require a tensor of ``ndim`` dimensions, last one ``n``, of this dtype and device."""
        if not isinstance(vectors, torch.Tensor):
            raise TypeError(f"vectors must be a torch.Tensor, got {type(vectors).__name__}")
        expected = "(n,)" if ndim == 1 else "(k, n)"
        if vectors.dim() != ndim or vectors.shape[-1] != self.dim or vectors.numel() == 0:
            raise ValueError(f"Invalid vectors value: shape {tuple(vectors.shape)} "
                             f"(expected {expected} with n = {self.dim})")
        if vectors.dtype != self.dtype or vectors.device != self.device:
            raise ValueError(f"Invalid vectors value: {vectors.dtype} on {vectors.device} "
                             f"(expected {self.dtype} on {self.device})")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, dtype={self.dtype}, device={self.device})"


def check_operator(op: object, name: str = "op") -> None:
    """Require a :class:`LinearOperator` (the first check of every curvature algorithm)."""
    if not isinstance(op, LinearOperator):
        raise TypeError(f"{name} must be a deepoptim.curvature.LinearOperator, "
                        f"got {type(op).__name__}")


class MatrixOperator(LinearOperator):
    """An explicit symmetric ``(n, n)`` matrix as an operator (tests with known spectra, the
    largest eigenvalue of a Kronecker factor).

    Raises ``ValueError`` when the matrix is not square and floating point, and
    :class:`~deepoptim.curvature.FactorError` (a ``ValueError``) when it is not finite or not
    symmetric to within :math:`\\sqrt{\\varepsilon}` of its largest entry
    (:func:`~deepoptim.curvature.inverse.check_factor`); ``name`` is the matrix's name in
    these errors.
    """

    def __init__(self, matrix: torch.Tensor, name: str = "matrix") -> None:
        check_factor(name, matrix)
        super().__init__(matrix.shape[0], matrix.dtype, matrix.device)
        self.matrix = matrix

    def _apply(self, vectors: torch.Tensor) -> torch.Tensor:
        return vectors @ self.matrix  # rows: (A v)^T = v^T A for symmetric A


class _Linearization:
    """:math:`\\nabla f` linearised at a point: :math:`v \\mapsto \\nabla^2 f\\, v`.

    Reverse over reverse (Pearlmutter): the gradient is computed once with ``create_graph``
    (one forward and one backward pass, kept as a graph); each product is then one backward
    pass through that graph (:func:`~deepoptim.curvature.hvp.flat_products`). Eager autograd
    rather than ``torch.func``: the same products, with a fraction of the fixed cost per
    linearisation, which dominates for small networks.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], point: torch.Tensor) -> None:
        self.point = point.detach().requires_grad_(True)
        with torch.enable_grad():
            (self.gradient,) = torch.autograd.grad(fn(self.point), self.point, create_graph=True)

    def apply(self, vectors: torch.Tensor, chunk_size: int | None, vectorize: bool
              ) -> torch.Tensor:
        """The products with the rows of ``vectors`` ``(k, n)``: vectorised, ``chunk_size``
        rows per pass, or one backward pass per row."""
        return flat_products((self.gradient,), (self.point,), vectors, chunk_size=chunk_size,
                             vectorize=vectorize)


def _check_chunk_size(chunk_size: int | None) -> None:
    if chunk_size is not None:
        check_int_at_least("chunk_size", chunk_size, 1)


def _vectorize_on(device: torch.device, vectorize: bool | None) -> bool:
    """``vectorize``, or by default: on CUDA (batched kernels), not on a CPU (a loop measured
    faster there for the book's networks)."""
    if vectorize is None:
        return device.type == "cuda"
    if not isinstance(vectorize, bool):
        raise TypeError(f"vectorize must be a bool or None, got {type(vectorize).__name__}")
    return vectorize


class FunctionHessianOperator(LinearOperator):
    """The Hessian :math:`\\nabla^2 f(x)` of a scalar function of one flat vector.

    Args:
        fn: maps a tensor of shape ``(n,)`` to a 0-dim tensor, twice differentiable by
            autograd.
        point: :math:`x`, copied (later changes to the tensor do not change the operator).
        chunk_size: with ``vectorize``, at most this many vectors go back through the graph in
            one pass (bounds memory); ``None``: all of them.
        vectorize: push a batch of vectors through the graph in one vectorised backward pass
            instead of a loop of passes; default: on CUDA only (on a CPU the loop measured
            faster for the book's networks).
        cache: keep the linearisation of :math:`\\nabla f` between calls, so every product
            after the first costs one backward pass instead of a forward and two backward
            passes; it keeps the graph of :math:`\\nabla f` in memory.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], point: torch.Tensor, *,
                 chunk_size: int | None = None, vectorize: bool | None = None,
                 cache: bool = False) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        if not isinstance(point, torch.Tensor) or point.dim() != 1 or not point.is_floating_point():
            raise ValueError("Invalid point value: expected a 1-D floating point tensor")
        _check_chunk_size(chunk_size)
        super().__init__(point.numel(), point.dtype, point.device)
        self.fn = fn
        self.point = point.detach().clone()
        self.chunk_size = chunk_size
        self.vectorize = _vectorize_on(self.device, vectorize)
        self.cache = bool(cache)
        self._cached: _Linearization | None = None

    def _apply(self, vectors: torch.Tensor) -> torch.Tensor:
        linearization = self._cached or _Linearization(self.fn, self.point)
        if self.cache:
            self._cached = linearization
        return linearization.apply(vectors, self.chunk_size, self.vectorize)


class GraphHessianOperator(LinearOperator):
    """The Hessian of a loss through a gradient graph the caller has built, on flat vectors.

    For parameters :math:`\\theta_1, \\dots, \\theta_m` and their gradients
    :math:`g_i = \\nabla_{\\theta_i} L` computed with ``create_graph=True``, the operator is
    the block of :math:`\\nabla^2 L` over these parameters, :math:`v \\mapsto
    \\nabla_\\theta\\langle g, v\\rangle`, each product one backward pass through the
    gradients' graph. It brings every algorithm of this package (diagonals, eigenpairs,
    densities) to a loss as an optimizer sees it: after ``loss.backward(create_graph=True)``,
    ``GraphHessianOperator([p.grad for p in block], block)`` is the Hessian block of ``block``,
    at the parameters' current values.

    Args:
        gradients: one gradient per parameter, computed with ``create_graph=True``.
        params: the tensors the gradients were taken with respect to (all of one dtype and
            device); flat vectors follow their order.
        chunk_size, vectorize: as for :class:`HessianOperator`.

    The graph is kept as long as the operator: changing a parameter in place invalidates it
    (autograd then raises), and the operator must be rebuilt from a new gradient.
    """

    def __init__(self, gradients: Sequence[torch.Tensor], params: Sequence[torch.Tensor], *,
                 chunk_size: int | None = None, vectorize: bool | None = None) -> None:
        gradients, params = list(gradients), list(params)
        if not params or not all(isinstance(t, torch.Tensor) for t in [*gradients, *params]):
            raise TypeError("gradients and params must be non-empty sequences of torch.Tensors")
        if len(gradients) != len(params) or any(
                g.shape != p.shape for g, p in zip(gradients, params, strict=False)):
            raise ValueError(f"Invalid gradients value: shapes "
                             f"{[tuple(g.shape) for g in gradients]} (expected one gradient "
                             f"per parameter, shaped {[tuple(p.shape) for p in params]})")
        kinds = {(p.dtype, p.device) for p in params}
        if len(kinds) > 1 or not params[0].is_floating_point():
            raise ValueError(f"Invalid params value: {sorted(map(str, kinds))} (expected "
                             "floating point tensors of one dtype on one device)")
        _check_chunk_size(chunk_size)
        super().__init__(sum(p.numel() for p in params), params[0].dtype, params[0].device)
        self.gradients = gradients
        self.params = params
        self.chunk_size = chunk_size
        self.vectorize = _vectorize_on(self.device, vectorize)

    def _apply(self, vectors: torch.Tensor) -> torch.Tensor:
        return flat_products(self.gradients, self.params, vectors, chunk_size=self.chunk_size,
                             vectorize=self.vectorize)


def _check_batch(index: int, batch: object) -> tuple[torch.Tensor, torch.Tensor]:
    ok = (isinstance(batch, (tuple, list)) and len(batch) == 2
          and all(isinstance(t, torch.Tensor) for t in batch))
    if not ok:
        raise TypeError(f"batch {index} must be a pair (inputs, targets) of tensors")
    inputs, targets = batch
    sizes = [len(t) if t.dim() else 0 for t in batch]
    if sizes[0] == 0 or sizes[0] != sizes[1]:
        raise ValueError(f"Invalid batch value: batch {index} has {sizes[0]} inputs and "
                         f"{sizes[1]} targets (expected as many targets as inputs, at least one)")
    return inputs, targets


class HessianOperator(LinearOperator):
    """The Hessian of a model's mean loss over a fixed data subset, as a matrix-free operator.

    The operator is :math:`H = \\nabla^2_\\theta L(\\theta)` with
    :math:`L(\\theta) = \\frac{1}{|S|}\\sum_{i\\in S}\\ell(f_\\theta(x_i), y_i)` at the
    parameters the model has when the operator is built (they are copied: training the model
    afterwards does not change the operator). ``loss_fn(outputs, targets)`` must return the
    *mean* loss of a batch; batches are weighted by their size, so any split of :math:`S`
    gives the same operator.

    Args:
        model: the network; it is never modified (parameters, ``.grad``, buffers, hooks and
            training flags are as before after every call).
        loss_fn: ``loss_fn(model(inputs), targets)``, the mean over the batch.
        inputs, targets: the subset :math:`S` (kept by reference; do not modify them).
        batch_size: split :math:`S` into batches of this size (the last may be smaller) to
            bound memory; ``None``: one batch.
        parameters: names of the parameters to differentiate (a block of the Hessian); the
            others are held fixed. Default: every parameter that requires grad.
        train: evaluate the model in train mode. By default it is evaluated in eval mode, which
            makes :math:`H` the Hessian of the loss the model reports at test time. In train
            mode batch normalisation normalises with each batch's own statistics, so
            :math:`H` includes the coupling of every sample of a batch through those
            statistics and *depends on the split into batches*: a different operator. Running
            statistics are neither used nor updated. Dropout would make every product random,
            so a model with active dropout is rejected in train mode.
        dtype: compute in this floating dtype (e.g. ``torch.float64`` for a float32 model);
            ``None``: the model's.
        chunk_size: with ``vectorize``, at most this many vectors go back through the graph in
            one pass (memory grows with it, as the activations of that many backward passes);
            ``None``: all.
        vectorize: push a batch of vectors through each graph in one vectorised backward pass
            (``torch.vmap`` inside autograd) instead of a loop of passes; default: on CUDA only.
            On a CPU the loop measured faster for the book's networks: the batch then shares
            only each call's forward and backward pass.
        cache: keep every batch's linearisation of the gradient between calls: every product
            after the first costs one backward pass of the gradient's graph instead of a
            forward and two backward passes, at the price of keeping the graphs of all batches
            in memory. Default (``None``): cache when the subset is one batch, where the kept
            graph is the one every product builds anyway (no higher peak memory); with several
            batches, cache only when asked, since ``batch_size`` is there to bound memory. The
            operator copies parameters and buffers, so a cached linearisation is exactly the
            uncached product.

    Vectors are flat, in ``named_parameters()`` order over the differentiated parameters;
    :meth:`unflatten` and :meth:`flatten` convert to and from dicts of parameter-shaped tensors.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor,
                 targets: torch.Tensor, *, batch_size: int | None = None,
                 parameters: Sequence[str] | None = None, train: bool = False,
                 dtype: torch.dtype | None = None, chunk_size: int | None = None,
                 vectorize: bool | None = None, cache: bool | None = None) -> None:
        _check_batch(0, (inputs, targets))
        if batch_size is not None:
            check_int_at_least("batch_size", batch_size, 1)
        step = batch_size or len(inputs)
        batches = [(inputs[i:i + step], targets[i:i + step]) for i in range(0, len(inputs), step)]
        self._build(model, loss_fn, batches, parameters, train, dtype, chunk_size, vectorize,
                    cache)

    @classmethod
    def from_batches(cls, model: nn.Module, loss_fn: LossFn,
                     batches: Sequence[tuple[torch.Tensor, torch.Tensor]], *,
                     parameters: Sequence[str] | None = None, train: bool = False,
                     dtype: torch.dtype | None = None, chunk_size: int | None = None,
                     vectorize: bool | None = None, cache: bool | None = None
                     ) -> HessianOperator:
        """The operator over a subset given as a sequence of ``(inputs, targets)`` batches.

        The batches may have different sizes; each is weighted by its size. The other
        arguments are those of the constructor.
        """
        operator = cls.__new__(cls)
        operator._build(model, loss_fn, list(batches), parameters, train, dtype, chunk_size,
                        vectorize, cache)
        return operator

    def _build(self, model: nn.Module, loss_fn: LossFn,
               batches: list[tuple[torch.Tensor, torch.Tensor]],
               parameters: Sequence[str] | None, train: bool, dtype: torch.dtype | None,
               chunk_size: int | None, vectorize: bool | None, cache: bool | None) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        if not batches:
            raise ValueError("Invalid batches value: no batch (expected at least one)")
        checked = [_check_batch(i, batch) for i, batch in enumerate(batches)]
        check_dtype(dtype)
        _check_chunk_size(chunk_size)
        if train and active_dropout(model):
            raise ValueError(f"Invalid train value: True with active dropout in "
                             f"{active_dropout(model)} (products would be random)")
        self._params, self._frozen = parameter_snapshot(model, parameters, dtype)
        point = flatten(self._params)
        super().__init__(point.numel(), point.dtype, point.device)
        self.model = model
        self.loss_fn = loss_fn
        self.train = bool(train)
        self.chunk_size = chunk_size
        self.vectorize = _vectorize_on(self.device, vectorize)
        self.cache = len(batches) == 1 if cache is None else bool(cache)
        self.point = point
        self.batches = [(x.to(dtype) if dtype is not None and x.is_floating_point() else x, y)
                        for x, y in checked]
        self.num_samples = sum(len(x) for x, _ in self.batches)
        self.weights = [len(x) / self.num_samples for x, _ in self.batches]
        self._cached: list[_Linearization | None] = [None] * len(self.batches)

    @property
    def names(self) -> list[str]:
        """The differentiated parameters, in the order of the flat vectors."""
        return list(self._params)

    def unflatten(self, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        """A flat vector (or a ``(k, n)`` batch) as a dict of parameter-shaped tensors."""
        return unflatten(vector, self._params)

    def flatten(self, tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """A dict of parameter-shaped tensors (keys: :attr:`names`) as one flat vector."""
        if list(tensors) != self.names:
            raise ValueError(f"Invalid tensors value: keys {list(tensors)} (expected {self.names})")
        return flatten(tensors)

    def batch_loss(self, index: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """The mean loss of batch ``index`` as a function of the flat parameter vector."""
        inputs, targets = self.batches[index]

        def loss(theta: torch.Tensor) -> torch.Tensor:
            state = {**unflatten(theta, self._params), **self._frozen}
            return self.loss_fn(functional_call(self.model, state, (inputs,)), targets)

        return loss

    @torch.no_grad()
    def loss(self, theta: torch.Tensor | None = None) -> float:
        """:math:`L(\\theta)` over the subset (default: at the operator's parameters)."""
        theta = self.point if theta is None else theta
        self._check(theta, 1)
        with forward_mode(self.model, self.train):
            return sum(weight * float(self.batch_loss(index)(theta))
                       for index, weight in enumerate(self.weights))

    def _apply(self, vectors: torch.Tensor) -> torch.Tensor:
        linearized = all(cached is not None for cached in self._cached)  # no forward pass
        result = None
        with contextlib.nullcontext() if linearized else forward_mode(self.model, self.train):
            for index, weight in enumerate(self.weights):
                linearization = (self._cached[index]
                                 or _Linearization(self.batch_loss(index), self.point))
                if self.cache:
                    self._cached[index] = linearization
                products = linearization.apply(vectors, self.chunk_size, self.vectorize)
                if result is None:
                    result = products if weight == 1 else products.mul_(weight)
                else:
                    result.add_(products, alpha=weight)
        return result

    def __repr__(self) -> str:
        return (f"HessianOperator(dim={self.dim}, samples={self.num_samples}, "
                f"batches={len(self.batches)}, train={self.train}, dtype={self.dtype}, "
                f"device={self.device}, cache={self.cache})")
