r"""ProxSGD's step as one compiled kernel per parameter group (``ProxSGD(fused=True)``).

The same update as :mod:`deepoptim.optim.proxsgd` (see its docstring for the math), written
per tensor and compiled by ``torch.compile`` (Inductor: C++ on a CPU, Triton on a GPU), which
fuses the momentum, the curvature proxy, the proximal point and the update of each tensor
into one loop: per step the kernel reads :math:`x, v, g` (and :math:`s`) once and writes
:math:`x, v` (and :math:`s`) once, where the eager step runs five or more separate passes.

Every quantity that changes between steps or groups (the schedules, the bias correction,
``mu``, ``mu2``, ``beta``, ``eps``, the bounds) enters as a row of a float64 tensor, one row
per parameter, so a new step or a parameter that lags by a step never recompiles; the
structure (regulariser, curvature proxy, box, zero count, the tensors' number and shapes)
is part of the compiled graph. Rows: ``rho_t, eps_t, bias correction, mu, mu2, beta, delta,
lower, upper`` (:data:`COLUMNS`).

The compiled graph is built at the first step of each new structure (seconds; the benchmark
``benchmarks/bench_proxsgd.py`` measures it and the number of steps it takes to pay back).
On a CPU, Inductor needs a C++ compiler: :func:`check_toolchain` looks for it before a step
changes anything, so a missing compiler fails with a clear error and leaves every parameter
group as it was.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import torch
from torch._inductor import cpp_builder
from torch._inductor.exc import InvalidCxxCompiler

__all__ = ["COLUMNS", "check_toolchain", "elementwise_step", "group_step"]

COLUMNS = ("rho", "eps", "correction", "mu", "mu2", "beta", "delta", "lower", "upper")


def _moments(v: torch.Tensor, g: torch.Tensor, s: torch.Tensor | None, h: torch.Tensor
             ) -> torch.Tensor | float:
    """Advance :math:`v` (and :math:`s`) in place; return :math:`\\tau_t` (1 without ``s``)."""
    rho, _, correction, _, _, beta, delta = h[:7].unbind()
    v.lerp_(g, rho.to(v.dtype))
    if s is None:
        return 1.0
    s.mul_(beta).add_(g * g * (1 - beta))
    return s.sqrt() / correction + delta


def _elementwise(params: list[torch.Tensor], momenta: list[torch.Tensor],
                 grads: list[torch.Tensor], squares: list[torch.Tensor], rows: torch.Tensor,
                 regularizer: str | None, box: bool, count: bool) -> torch.Tensor | None:
    """One step of parameters with an elementwise regulariser (``None``, ``"l1"``,
    ``"elastic_net"``) and optionally a box; ``squares`` is empty without the curvature proxy.
    Returns the number of exact zeros of the proximal points when ``count``."""
    zeros = []
    for i, (x, v, g) in enumerate(zip(params, momenta, grads, strict=True)):
        h = rows[i]
        tau = _moments(v, g, squares[i] if squares else None, h)
        b = x - v / tau
        if regularizer is not None:
            threshold = h[3] / tau
            b = b - b.clamp(-threshold, threshold)
        if regularizer == "elastic_net":
            b = b / (1 + h[4] / tau)
        if box:
            b = b.clamp(h[7], h[8])
        x.lerp_(b, h[1].to(x.dtype))
        if count:
            zeros.append((b == 0).sum(dtype=torch.int32))
    return torch.stack(zeros).sum(dtype=torch.int64) if count else None


def _group(params: list[torch.Tensor], momenta: list[torch.Tensor], grads: list[torch.Tensor],
           squares: list[torch.Tensor], rows: torch.Tensor, weights: torch.Tensor,
           by_row: bool) -> torch.Tensor:
    """One group-lasso step (groups: the rows of every tensor together, or all entries), the
    group's curvature being the mean of :math:`\\tau_t` over it. Returns the shrinkage factor
    of every group (0: the group's proximal point is exactly 0)."""
    def per_group(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], -1).sum(1) if by_row else t.sum()

    def broadcast(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return t.reshape(-1, *([1] * (like.dim() - 1))) if by_row else t

    taus = [_moments(v, g, squares[i] if squares else None, rows[i])
            for i, (v, g) in enumerate(zip(momenta, grads, strict=True))]
    scale = 1.0
    if squares:
        size = sum(x.numel() for x in params) / (params[0].shape[0] if by_row else 1)
        scale = sum(per_group(tau) for tau in taus) / size
    bases = [x - v / broadcast(scale, x) if squares else x - v
             for x, v in zip(params, momenta, strict=True)]
    norms = sum(per_group(b * b) for b in bases).sqrt()
    threshold = weights / scale
    factor = torch.where(norms > threshold, 1 - threshold / torch.where(norms > 0, norms, 1.0),
                         0.0)
    for i, (x, b) in enumerate(zip(params, bases, strict=True)):
        x.lerp_(b * broadcast(factor, b).to(b.dtype), rows[i, 1].to(x.dtype))
    return factor


@functools.cache
def _cpu_compiler() -> str:
    """The C++ compiler Inductor will use (searched once per process; a failed search is not
    cached)."""
    return cpp_builder.get_cpp_compiler()


def check_toolchain(devices: Iterable[torch.device]) -> None:
    """Raise ``RuntimeError`` if the compiled step cannot be built for tensors on ``devices``
    (on a CPU: no C++ compiler that Inductor accepts)."""
    if any(device.type == "cpu" for device in devices):
        try:
            _cpu_compiler()
        except InvalidCxxCompiler as error:
            raise RuntimeError(
                "ProxSGD(fused=True) compiles its step with torch.compile, whose CPU backend "
                f"needs a C++ compiler: {error}. Install one (e.g. g++), or pass fused=False for "
                "the same update without compiling."
            ) from error


elementwise_step = torch.compile(_elementwise, fullgraph=True)
group_step = torch.compile(_group, fullgraph=True)
