r"""Optimizer trajectories: record checkpoints, project them onto a plane, frame a grid.

A trajectory is a sequence of checkpoints :math:`\theta_0, \dots, \theta_T` (flat parameter
vectors, rows of a ``(T + 1, n)`` tensor). To draw it on a surface through the centre
:math:`\theta_c` spanned by directions :math:`D = [d_1, \dots, d_k]`, each checkpoint gets the
coordinates of its least-squares projection (GradVis; Li et al. 2018 offer it besides a cosine
projection that is exact only for orthogonal directions):

.. math::

    c_t = \arg\min_c \big\|D c - (\theta_t - \theta_c)\big\|_2, \qquad
    r_t = (\theta_t - \theta_c) - D c_t .

Since :math:`r_t` is orthogonal to the plane,
:math:`\|\theta_t - \theta_c\|^2 = \|D c_t\|^2 + \|r_t\|^2`, and the share of the path the
plane explains is

.. math::

    E = 1 - \frac{\sum_t \|r_t\|^2}{\sum_t \|\theta_t - \theta_c\|^2} \in [0, 1],

one when every checkpoint lies in the plane. The least squares are solved in float64.

* :class:`CheckpointRecorder`: a ``callback`` for :func:`deepoptim.train.train` that keeps a
  flat copy of the parameters every ``every`` steps;
* :func:`project`: coordinates, residuals and :math:`E`;
* :func:`path_grid`: grid axes that cover the projected path with a margin (GradVis's
  ``proz``).

The book projects SGD, Adam and a line search in "Loss landscapes and optimizer trajectories"
(``notebooks/11_landscapes``).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from deepoptim._checks import check_in_range, check_int_at_least

from .points import check_vector, flat_parameters

__all__ = ["CheckpointRecorder", "Projection", "path_grid", "project"]


class CheckpointRecorder:
    """Keeps flat copies of a model's trainable parameters during training.

    Pass an instance as ``callback`` to :func:`deepoptim.train.train`, which calls it with
    ``(step, model, optimizer)`` before training (step 0) and after every step; it records the
    steps that are multiples of ``every``. Choose ``every`` dividing the number of steps to
    record the final parameters too.

    Args:
        every: record every this many steps.
        device: where to keep the copies (default the CPU, to spare accelerator memory).
    """

    def __init__(self, every: int = 1, *, device: torch.device | str = "cpu") -> None:
        check_int_at_least("every", every, 1)
        self.every = every
        self.device = torch.device(device)
        self.steps: list[int] = []
        self._points: list[torch.Tensor] = []

    def __call__(self, step: int, model: nn.Module, optimizer: object = None) -> None:
        if step % self.every == 0:
            self.steps.append(int(step))
            self._points.append(flat_parameters(model).to(self.device))

    def __len__(self) -> int:
        return len(self._points)

    @property
    def points(self) -> torch.Tensor:
        """The checkpoints as rows, ``(len(self), n)``."""
        if not self._points:
            raise ValueError("the recorder holds no checkpoint yet")
        return torch.stack(self._points)


@dataclasses.dataclass(frozen=True)
class Projection:
    """Checkpoints projected onto a plane by least squares.

    Attributes:
        coords: ``(T, k)`` float64, :math:`c_t`.
        residuals: ``(T,)`` float64, :math:`\\|r_t\\|`, the distance of each checkpoint from
            the plane.
        distances: ``(T,)`` float64, :math:`\\|\\theta_t - \\theta_c\\|`.
        explained: :math:`E`, the share of the path's squared distance from the centre that
            lies in the plane (1.0 if every checkpoint is the centre).
    """

    coords: torch.Tensor
    residuals: torch.Tensor
    distances: torch.Tensor
    explained: float


def project(points: torch.Tensor, directions: torch.Tensor, center: torch.Tensor) -> Projection:
    """Least-squares coordinates of ``points`` ``(T, n)`` in ``center + span(directions)``.

    ``directions`` is ``(k, n)`` with linearly independent rows (not necessarily orthogonal or
    normalised); ``center`` is ``(n,)``.
    """
    if not isinstance(points, torch.Tensor) or points.dim() != 2 or len(points) == 0 \
            or not points.is_floating_point():
        raise ValueError("Invalid points value: expected a floating point (T, n) tensor of "
                         "checkpoints as rows")
    dim = points.shape[1]
    if not isinstance(directions, torch.Tensor) or directions.dim() != 2 \
            or directions.shape[1] != dim or not 1 <= len(directions) <= dim:
        raise ValueError(f"Invalid directions value: expected (k, {dim}) directions as rows")
    center = check_vector("center", center, dim)
    basis = directions.detach().to("cpu", torch.float64).T
    offsets = (points.detach().to("cpu", torch.float64) - center.to("cpu", torch.float64)).T
    if torch.linalg.matrix_rank(basis) < basis.shape[1]:
        raise ValueError("Invalid directions value: the directions are linearly dependent")
    coords = torch.linalg.lstsq(basis, offsets).solution
    residuals = (offsets - basis @ coords).norm(dim=0)
    distances = offsets.norm(dim=0)
    total = float((distances ** 2).sum())
    explained = 1.0 - float((residuals ** 2).sum()) / total if total > 0 else 1.0
    return Projection(coords=coords.T.contiguous(), residuals=residuals, distances=distances,
                      explained=min(max(explained, 0.0), 1.0))


def path_grid(coords: torch.Tensor, num_points: int = 31, margin: float = 0.5
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Axes ``(x, y)`` of a ``num_points`` grid covering projected coordinates ``(T, 2)``.

    Each axis spans :math:`[\\min - m\\Delta, \\max + m\\Delta]` with :math:`\\Delta` the path's
    extent along it and :math:`m` = ``margin``; the centre (0, 0) is always inside.
    """
    if not isinstance(coords, torch.Tensor) or coords.dim() != 2 or coords.shape[1] != 2 \
            or len(coords) == 0:
        raise ValueError("Invalid coords value: expected a (T, 2) tensor of coordinates")
    check_int_at_least("num_points", num_points, 2)
    check_in_range("margin", margin, 0.0, float("inf"))
    coords = coords.detach().to("cpu", torch.float64)
    low = torch.minimum(coords.min(dim=0).values, torch.zeros(2, dtype=torch.float64))
    high = torch.maximum(coords.max(dim=0).values, torch.zeros(2, dtype=torch.float64))
    extent = torch.where(high > low, high - low, torch.ones(2, dtype=torch.float64))
    low, high = low - margin * extent, high + margin * extent
    return (torch.linspace(float(low[0]), float(high[0]), num_points, dtype=torch.float64),
            torch.linspace(float(low[1]), float(high[1]), num_points, dtype=torch.float64))
