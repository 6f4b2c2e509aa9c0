"""Curvature tools: Hessian products and operators, eigensolvers, spectral densities, traces,
diagonals, Kronecker factors and the inverses preconditioners need.

Every algorithm takes a symmetric :class:`LinearOperator` acting on flat vectors (one vector
``(n,)`` or a batch ``(k, n)``), so it runs the same on a network's Hessian and on an explicit
matrix with a known spectrum:

* products (``hvp.py``): :func:`hvp`, the Hessian-vector product through autograd,
  differentiable (``create_graph=True``) so a regulariser can act through curvature;
  :func:`hessian_products` from gradients already computed with their graph;
* operators (``operators.py``): :class:`HessianOperator` (a model's loss over a fixed data
  subset), :class:`FunctionHessianOperator`, :class:`GraphHessianOperator` (a gradient graph
  the caller built, e.g. in an optimizer's step), :class:`MatrixOperator`; :func:`flatten` and
  :func:`unflatten` between flat vectors and parameter-shaped dicts;
* eigenpairs (``lanczos.py``, ``power.py``): :func:`lanczos` (one chain or many in lock-step,
  full reorthogonalisation), :func:`eigsh` (top-k / bottom-k by block Lanczos, residual-based
  stopping), :func:`power_iteration` (the baseline);
* spectral density (``density.py``): :func:`slq`, stochastic Lanczos quadrature with chains run
  side by side, :class:`SpectralDensity` with its documented Gaussian smoothing, and
  :func:`density_grid`, the grid to evaluate and draw densities on;
* trace (``trace.py``): :func:`hutchinson`, :func:`hutchpp`, both for a budget of
  ``num_matvecs`` products;
* diagonal (``diagonal.py``): :func:`exact_diagonal`, :func:`hutchinson_diagonal` (unbiased,
  a :class:`DiagonalEstimate`), and :func:`ones_probe` (SGD-PH's :math:`H\\mathbf 1`: row sums,
  not the diagonal);
* Kronecker factors (``kronecker.py``): :class:`KroneckerFactors` collects KFAC's :math:`A` and
  :math:`G` (:class:`LayerFactors`) of the :data:`SUPPORTED_LAYERS` by module hooks;
  :func:`layer_matrix` and :func:`split_layer_matrix` between a layer's tensors and its matrix;
* inverses (``inverse.py``): :func:`damped_inverse` and :class:`SymmetricEigen` (eigh),
  :func:`newton_schulz_inverse` (warm-started, a :class:`NewtonSchulzResult`),
  :func:`kronecker_solve` and :func:`kronecker_eigen_solve` (Kronecker-factored preconditioners
  without the Kronecker product), :class:`FactorError` for factors that cannot be inverted
  safely;
* processes (``parallel.py``): :func:`distributed_slq` (probes over ranks) and
  :class:`DataParallelOperator` (data over ranks, one all-reduce per product);
* ground truth (``dense.py``): :func:`dense_hessian`, :func:`to_dense`, :func:`planted_matrix`.

``evaluation.py`` holds how a model is evaluated as a function of its parameters (mode flags,
parameter snapshots), shared with :mod:`deepoptim.landscape`. Random probes come from one
generator per probe index and seed, so serial, batched, chunked and distributed runs agree.
This package knows nothing of training or of the book; the chapter "Hessian spectra with
parallel stochastic Lanczos" derives and measures it.
"""

from .dense import dense_hessian, planted_matrix, to_dense
from .density import SpectralDensity, density_grid, slq
from .diagonal import DiagonalEstimate, exact_diagonal, hutchinson_diagonal, ones_probe
from .hvp import hessian_products, hvp
from .inverse import (
    FactorError,
    NewtonSchulzResult,
    SymmetricEigen,
    damped_inverse,
    kronecker_eigen_solve,
    kronecker_solve,
    newton_schulz_inverse,
)
from .kronecker import (
    SUPPORTED_LAYERS,
    KroneckerFactors,
    LayerFactors,
    layer_matrix,
    split_layer_matrix,
)
from .lanczos import EigenResult, LanczosResult, eigsh, lanczos
from .operators import (
    FunctionHessianOperator,
    GraphHessianOperator,
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
    # products
    "hessian_products",
    "hvp",
    # operators
    "FunctionHessianOperator",
    "GraphHessianOperator",
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
    "density_grid",
    "slq",
    # trace
    "TraceEstimate",
    "hutchinson",
    "hutchpp",
    # diagonal
    "DiagonalEstimate",
    "exact_diagonal",
    "hutchinson_diagonal",
    "ones_probe",
    # Kronecker factors
    "SUPPORTED_LAYERS",
    "KroneckerFactors",
    "LayerFactors",
    "layer_matrix",
    "split_layer_matrix",
    # inverses
    "FactorError",
    "NewtonSchulzResult",
    "SymmetricEigen",
    "damped_inverse",
    "kronecker_eigen_solve",
    "kronecker_solve",
    "newton_schulz_inverse",
    # processes
    "DataParallelOperator",
    "distributed_slq",
    # ground truth
    "dense_hessian",
    "planted_matrix",
    "to_dense",
]
