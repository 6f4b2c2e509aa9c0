"""Curvature tools: Hessian operators, Lanczos, spectral densities, trace estimation.

Every algorithm takes a symmetric :class:`LinearOperator` acting on flat vectors (one vector
``(n,)`` or a batch ``(k, n)``), so it runs the same on a network's Hessian and on an explicit
matrix with a known spectrum:

* operators (``operators.py``): :class:`HessianOperator` (a model's loss over a fixed data
  subset), :class:`FunctionHessianOperator`, :class:`MatrixOperator`; :func:`flatten` and
  :func:`unflatten` between flat vectors and parameter-shaped dicts;
* eigenpairs (``lanczos.py``, ``power.py``): :func:`lanczos` (one chain or many in lock-step,
  full reorthogonalisation), :func:`eigsh` (top-k / bottom-k by block Lanczos, residual-based
  stopping), :func:`power_iteration` (the baseline);
* spectral density (``density.py``): :func:`slq`, stochastic Lanczos quadrature with chains run
  side by side, and :class:`SpectralDensity` with its documented Gaussian smoothing;
* trace (``trace.py``): :func:`hutchinson`, :func:`hutchpp`;
* processes (``parallel.py``): :func:`distributed_slq` (probes over ranks) and
  :class:`DataParallelOperator` (data over ranks, one all-reduce per product);
* ground truth (``dense.py``): :func:`dense_hessian`, :func:`to_dense`, :func:`planted_matrix`.

Random probes come from one generator per probe index and seed, so serial, batched, chunked and
distributed runs agree. This package knows nothing of training or of the book; the chapter
"Hessian spectra with parallel stochastic Lanczos" derives and measures it.
"""

from .dense import dense_hessian, planted_matrix, to_dense
from .density import SpectralDensity, slq
from .lanczos import EigenResult, LanczosResult, eigsh, lanczos
from .operators import (
    FunctionHessianOperator,
    HessianOperator,
    LinearOperator,
    MatrixOperator,
    flatten,
    unflatten,
)
from .parallel import DataParallelOperator, distributed_slq
from .power import power_iteration
from .trace import TraceEstimate, hutchinson, hutchpp

__all__ = [
    # operators
    "FunctionHessianOperator",
    "HessianOperator",
    "LinearOperator",
    "MatrixOperator",
    "flatten",
    "unflatten",
    # eigenpairs
    "EigenResult",
    "LanczosResult",
    "eigsh",
    "lanczos",
    "power_iteration",
    # spectral density
    "SpectralDensity",
    "slq",
    # trace
    "TraceEstimate",
    "hutchinson",
    "hutchpp",
    # processes
    "DataParallelOperator",
    "distributed_slq",
    # ground truth
    "dense_hessian",
    "planted_matrix",
    "to_dense",
]
