r"""Loss and accuracy on lines and planes through a point of parameter space.

For a centre :math:`\theta_c`, directions :math:`d_1, \dots, d_k` (``k = 1``: a line, ``k = 2``: a
plane) and coordinates :math:`c \in \mathbb{R}^k`, the surface is

.. math::

    L(c) = \frac{1}{|S|}\sum_{i \in S} \ell\big(f_{\theta(c)}(x_i), y_i\big), \qquad
    \theta(c) = \theta_c + \sum_j c_j\, d_j,

over a fixed data set :math:`S`, with the accuracy :math:`\frac{1}{|S|}\sum_i
[\arg\max f_{\theta(c)}(x_i) = y_i]` beside it. The points :math:`\theta(c)` are formed in
the model's dtype by one fused multiply-add each, so the point at :math:`c = 0` is the centre
exactly and no rounding accumulates from point to point.

**Batched evaluation** (``method="batched"``): the network is called as a function of its
parameters (``torch.func.functional_call``) and ``torch.vmap`` maps it over a chunk of
``chunk_size`` grid points at once: every layer of the chunk runs as one batched matrix product
instead of ``chunk_size`` small ones, and no copy of the model is made. The data set is split
into batches of ``batch_size`` samples (each weighted by its size, so the split does not change
the result); memory grows as ``chunk_size * batch_size`` activations. By default a chunk holds
about :data:`PAIRS_PER_CALL` (point, sample) pairs and at most :data:`MAX_CHUNK` points:
``chunk_size = min(MAX_CHUNK, max(1, PAIRS_PER_CALL // batch))``.

**The loop** (``method="loop"``): each point is formed in a flat buffer, copied into the
model's parameters (one kernel each) and the model is called, one point after another, as the
usual landscape scripts do; it is the reference the batched path is tested against.

Batching removes per-call overhead, not arithmetic. On a GPU that overhead (kernel launches)
dominates and batching pays; on a CPU it pays only while one point's forward pass is small:
``benchmarks/bench_landscape.py`` measured it ahead of the loop for a 15k-parameter MLP on 20-50
samples and behind it from about 100 samples on, where the loop's matrix products run near the
processor's peak. The default ``method="auto"`` therefore batches on a GPU, and on a CPU only
when a data batch's samples times the trainable parameters, a proxy for one point's
multiply-adds, is at most :data:`AUTO_BATCHED_WORK`.

The model is left as it was: the batched path never writes into it; the loop writes and then
restores every parameter bit for bit; both restore every module's train/eval flag. By default
the model is evaluated in eval mode (batch normalisation uses its running statistics). With
``train=True`` batch normalisation uses each data batch's statistics (per grid point), and its
running statistics are neither used nor updated; dropout is then rejected (each point would see
different random masks).

The book draws these surfaces in "Loss landscapes and optimizer trajectories"
(``notebooks/11_landscapes``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

from deepoptim._checks import check_choice, check_int_at_least
from deepoptim.curvature import unflatten
from deepoptim.curvature.evaluation import active_dropout, forward_mode

from .points import check_vector, flat_parameters, parameters_of

__all__ = ["AUTO_BATCHED_WORK", "MAX_CHUNK", "METHODS", "PAIRS_PER_CALL", "Surface",
           "evaluate_points", "loss_surface"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: How grid points are evaluated: ``vmap`` over chunks of points, one point at a time, or the
#: one of the two expected to be faster (see the module docstring).
METHODS = ("auto", "batched", "loop")
#: ``method="auto"`` on a CPU batches while samples per batch times parameters is at most this.
AUTO_BATCHED_WORK = 2 ** 20
#: The default number of (grid point, sample) pairs per ``vmap`` call.
PAIRS_PER_CALL = 16384
#: The default largest number of grid points per ``vmap`` call.
MAX_CHUNK = 64


@dataclasses.dataclass(frozen=True)
class Surface:
    """The loss (and accuracy) on a line or a plane.

    Attributes:
        x: ``(nx,)`` float64, the coordinates along the first direction.
        y: ``(ny,)`` float64 along the second direction, or ``None`` for a line.
        loss: float64, ``(nx,)`` on a line; ``(ny, nx)`` on a plane, with ``loss[j, i]`` at
            :math:`(x_i, y_j)` (the layout of ``matplotlib``'s ``contour(x, y, loss)``).
        accuracy: the same shape as ``loss``, or ``None`` if not computed.
        center: ``(n,)``, :math:`\\theta_c`.
        directions: ``(k, n)``, the directions (``k`` = 1 or 2).
    """

    x: torch.Tensor
    y: torch.Tensor | None
    loss: torch.Tensor
    accuracy: torch.Tensor | None
    center: torch.Tensor
    directions: torch.Tensor

    def point(self, coords: Sequence[float]) -> torch.Tensor:
        """:math:`\\theta(c)` for coordinates ``c`` (one per direction), in float64."""
        coords = torch.as_tensor(coords, dtype=torch.float64).reshape(-1)
        coords = coords.to(self.directions.device)
        if len(coords) != len(self.directions):
            raise ValueError(f"Invalid coords value: {coords.tolist()} (expected "
                             f"{len(self.directions)} coordinates)")
        return self.center.to(torch.float64) + coords @ self.directions.to(torch.float64)


def _check_data(inputs: object, targets: object) -> None:
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("inputs and targets must be torch.Tensors")
    if inputs.dim() == 0 or targets.dim() == 0 or len(inputs) == 0 \
            or len(inputs) != len(targets):
        raise ValueError(f"Invalid inputs value: {tuple(inputs.shape)} inputs and "
                         f"{tuple(targets.shape)} targets (expected as many targets as inputs, "
                         "at least one)")


def _check_directions(directions: object, dim: int) -> torch.Tensor:
    """Directions as a ``(k, n)`` tensor (a single ``(n,)`` direction becomes ``(1, n)``)."""
    if not isinstance(directions, torch.Tensor):
        raise TypeError(f"directions must be a torch.Tensor, got {type(directions).__name__}")
    directions = directions.detach()
    if directions.dim() == 1:
        directions = directions.unsqueeze(0)
    if directions.dim() != 2 or directions.shape[1] != dim or len(directions) == 0 \
            or not directions.is_floating_point():
        raise ValueError(f"Invalid directions value: shape {tuple(directions.shape)} (expected "
                         f"(k, n) floating point directions with n = {dim} trainable parameters)")
    return directions


def _check_no_dropout(model: nn.Module, train: bool) -> None:
    active = active_dropout(model)
    if train and active:
        raise ValueError(f"Invalid train value: True with active dropout in {active} (every "
                         "point would see different random masks)")


def _data_batches(inputs: torch.Tensor, targets: torch.Tensor, batch_size: int | None
                  ) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    """``(inputs, targets, weight)`` per batch, the weights summing to one."""
    step = batch_size or len(inputs)
    return [(inputs[i:i + step], targets[i:i + step], len(inputs[i:i + step]) / len(inputs))
            for i in range(0, len(inputs), step)]


def _batch_result(outputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn,
                  accuracy: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's mean loss and its number of correct predictions (0 if not asked)."""
    loss = loss_fn(outputs, targets)
    if not accuracy:
        return loss, torch.zeros((), dtype=loss.dtype, device=loss.device)
    return loss, (outputs.argmax(dim=-1) == targets).sum().to(loss.dtype)


class _Grid:
    """The points :math:`\\theta_c + c D` of a batch of coordinates, in the model's layout.

    Centre, directions and coordinates are held in the model's dtype; every point is one fused
    multiply-add from them (``addmm`` / ``addmv``), so the point at :math:`c = 0` is the centre
    exactly and each point carries its own rounding only (nothing accumulates across the grid).
    """

    def __init__(self, model: nn.Module, center: torch.Tensor | None,
                 directions: torch.Tensor, coords: torch.Tensor) -> None:
        self.like = parameters_of(model)
        dim = sum(t.numel() for t in self.like.values())
        first = next(iter(self.like.values()))
        self.dtype, self.device = first.dtype, first.device
        center = flat_parameters(model) if center is None else check_vector("center", center,
                                                                            dim)
        directions = _check_directions(directions, dim)
        self.directions = directions.to(self.device, self.dtype)
        self.center = center.to(self.device, self.dtype)
        if not isinstance(coords, torch.Tensor):
            coords = torch.as_tensor(coords, dtype=torch.float64)
        if coords.dim() == 1 and len(self.directions) == 1:
            coords = coords.unsqueeze(1)
        if coords.dim() != 2 or coords.shape[1] != len(self.directions) or len(coords) == 0:
            raise ValueError(f"Invalid coords value: shape {tuple(coords.shape)} (expected "
                             f"(P, {len(self.directions)}), one row per point)")
        self.coords = coords.to(self.device, self.dtype)

    def points(self, begin: int, end: int) -> torch.Tensor:
        """The flat points of rows ``begin:end``, ``(P, n)`` in the model's dtype."""
        return torch.addmm(self.center, self.coords[begin:end], self.directions)

    def point_into(self, index: int, out: torch.Tensor) -> torch.Tensor:
        """The flat point of row ``index``, written into ``out`` ``(n,)``."""
        return torch.addmv(self.center, self.directions.T, self.coords[index], out=out)


def _evaluate_batched(model: nn.Module, grid: _Grid, batches, loss_fn: LossFn, accuracy: bool,
                      chunk_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    def one_point(params, x, y):
        return _batch_result(functional_call(model, params, (x,)), y, loss_fn, accuracy)

    mapped = vmap(one_point, in_dims=(0, None, None))
    losses, correct = [], []
    for begin in range(0, len(grid.coords), chunk_size):
        params = unflatten(grid.points(begin, begin + chunk_size), grid.like)
        loss, hits = 0.0, 0.0
        for x, y, weight in batches:
            batch_loss, batch_hits = mapped(params, x, y)
            loss = loss + weight * batch_loss.to(torch.float64)
            hits = hits + batch_hits.to(torch.float64)
        losses.append(loss)
        correct.append(hits)
    return torch.cat(losses), torch.cat(correct)


def _evaluate_loop(model: nn.Module, grid: _Grid, batches, loss_fn: LossFn, accuracy: bool
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """One point after another: the point is formed in a flat buffer and copied into the
    model's parameters (one kernel each), which are restored afterwards."""
    params = [p for p in model.parameters() if p.requires_grad]
    buffer = torch.empty(sum(p.numel() for p in params), dtype=grid.dtype, device=grid.device)
    views = [part.view_as(p) for part, p in zip(buffer.split([p.numel() for p in params]),
                                                params, strict=True)]
    losses, correct = [], []  # one entry per (point, data batch)
    try:
        for index in range(len(grid.coords)):
            grid.point_into(index, buffer)
            torch._foreach_copy_(params, views)
            for x, y, _ in batches:
                outputs = model(x)
                losses.append(loss_fn(outputs, y))
                if accuracy:
                    correct.append((outputs.argmax(dim=-1) == y).sum())
    finally:
        torch._foreach_copy_(params, list(grid.like.values()))
    weights = torch.tensor([weight for _, _, weight in batches], dtype=torch.float64,
                           device=grid.device)
    loss = torch.stack(losses).to(torch.float64).view(-1, len(batches)) @ weights
    hits = (torch.stack(correct).to(torch.float64).view(-1, len(batches)).sum(1) if accuracy
            else torch.zeros_like(loss))
    return loss, hits


def evaluate_points(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor,
                    targets: torch.Tensor, directions: torch.Tensor, coords: torch.Tensor, *,
                    center: torch.Tensor | None = None, batch_size: int | None = None,
                    chunk_size: int | None = None, train: bool = False, accuracy: bool = True,
                    method: str = "auto") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Loss and accuracy at the points :math:`\\theta_c + \\sum_j c_j d_j` of ``coords``.

    Args:
        model: the network; left as it was (see the module docstring).
        loss_fn: ``loss_fn(outputs, targets)``, the mean loss of a batch.
        inputs, targets: the data set :math:`S`.
        directions: ``(k, n)`` (or one ``(n,)``) in the layout of
            :mod:`deepoptim.landscape.points`.
        coords: ``(P, k)``, one row of coordinates per point (``(P,)`` when ``k = 1``).
        center: :math:`\\theta_c`, ``(n,)``; default the model's parameters.
        batch_size: samples per forward pass; ``None``: all at once.
        chunk_size: grid points per ``vmap`` call (``method="batched"``); default
            ``min(MAX_CHUNK, max(1, PAIRS_PER_CALL // samples per batch))``.
        train: evaluate in train mode (see the module docstring).
        accuracy: also count correct predictions (``argmax`` of the outputs' last dimension
            against integer targets); ``False`` for other tasks.
        method: ``"batched"``, ``"loop"`` or ``"auto"`` (batched on a GPU; on a CPU batched
            while samples per batch times parameters is at most :data:`AUTO_BATCHED_WORK`).

    Returns:
        ``(loss, accuracy)``, each ``(P,)`` float64 (accuracy ``None`` if not asked).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    _check_data(inputs, targets)
    if batch_size is not None:
        check_int_at_least("batch_size", batch_size, 1)
    if chunk_size is not None:
        check_int_at_least("chunk_size", chunk_size, 1)
    check_choice("method", method, METHODS)
    _check_no_dropout(model, train)
    grid = _Grid(model, center, directions, coords)
    batches = _data_batches(inputs, targets, batch_size)
    if chunk_size is None:
        chunk_size = min(MAX_CHUNK, max(1, PAIRS_PER_CALL // len(batches[0][0])))
    if method == "auto":
        work = len(batches[0][0]) * grid.center.numel()
        batched = grid.device.type != "cpu" or work <= AUTO_BATCHED_WORK
        method = "batched" if batched else "loop"
    with torch.no_grad(), forward_mode(model, train):
        if method == "batched":
            loss, correct = _evaluate_batched(model, grid, batches, loss_fn, accuracy,
                                              chunk_size)
        else:
            loss, correct = _evaluate_loop(model, grid, batches, loss_fn, accuracy)
    return loss.cpu(), (correct.cpu() / len(inputs)) if accuracy else None


def _axis(name: str, values: object) -> torch.Tensor:
    axis = torch.as_tensor(values, dtype=torch.float64).detach().cpu()
    if axis.dim() != 1 or len(axis) == 0 or not torch.isfinite(axis).all():
        raise ValueError(f"Invalid {name} value: expected a non-empty 1-D sequence of finite "
                         "coordinates")
    return axis


def loss_surface(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor,
                 targets: torch.Tensor, directions: torch.Tensor, x: Sequence[float],
                 y: Sequence[float] | None = None, *, center: torch.Tensor | None = None,
                 batch_size: int | None = None, chunk_size: int | None = None,
                 train: bool = False,
                 accuracy: bool = True, method: str = "auto") -> Surface:
    """The loss (and accuracy) on a line (``y=None``, one direction) or a plane (two).

    ``x`` and ``y`` are the coordinates along the first and second direction; the plane is
    their grid, ``len(x) * len(y)`` points. The other arguments are those of
    :func:`evaluate_points`.
    """
    x_axis = _axis("x", x)
    y_axis = None if y is None else _axis("y", y)
    if not isinstance(directions, torch.Tensor):
        raise TypeError(f"directions must be a torch.Tensor, got {type(directions).__name__}")
    count = 1 if directions.dim() == 1 else len(directions)
    expected = 1 if y_axis is None else 2
    if count != expected:
        raise ValueError(f"Invalid directions value: {count} direction(s) (expected {expected} "
                         f"for {'a line' if expected == 1 else 'a plane'})")
    if y_axis is None:
        coords = x_axis.unsqueeze(1)
    else:
        grid_y, grid_x = torch.meshgrid(y_axis, x_axis, indexing="ij")
        coords = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)
    loss, acc = evaluate_points(model, loss_fn, inputs, targets, directions, coords,
                                center=center, batch_size=batch_size, chunk_size=chunk_size,
                                train=train, accuracy=accuracy, method=method)
    shape = (len(x_axis),) if y_axis is None else (len(y_axis), len(x_axis))
    center = flat_parameters(model) if center is None else center.detach().clone()
    return Surface(x=x_axis, y=y_axis, loss=loss.reshape(shape),
                   accuracy=None if acc is None else acc.reshape(shape), center=center,
                   directions=_check_directions(directions, center.numel()).clone())
