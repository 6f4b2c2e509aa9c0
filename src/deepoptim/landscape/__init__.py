r"""Loss landscapes: directions, surfaces, trajectories, sharpness and minima (computation only).

Everything works in the space of a model's trainable parameters, flattened in
``named_parameters()`` order (:mod:`~deepoptim.landscape.points`, the layout of
:mod:`deepoptim.curvature`):

* points (``points.py``): :func:`flat_parameters`, :func:`parameters_of`, :func:`parameters_at`
  (set a model to a point inside a ``with`` block, restored exactly);
* directions (``directions.py``): :func:`random_directions` (Gaussian; filter-wise
  normalisation of Li et al. 2018, layer-wise of GradVis, or unit), :func:`eigen_directions`
  (top / bottom / both ends of the Hessian spectrum, through :func:`deepoptim.curvature.eigsh`),
  :func:`pca_directions` (principal directions of checkpoints), :func:`line_direction`, and
  :func:`normalize_direction` with the explicit rule ``bias`` for biases and normalisation
  layers;
* surfaces (``surface.py``): :func:`loss_surface` on a line or a plane and the primitive
  :func:`evaluate_points`, evaluated for chunks of grid points at once with
  ``torch.func.functional_call`` and ``torch.vmap`` or one point after another
  (``method="auto"`` picks the faster: batched on a GPU or for small forward passes); the
  result is a :class:`Surface`;
* trajectories (``trajectory.py``): :class:`CheckpointRecorder` (a ``callback`` for
  :func:`deepoptim.train.train`), :func:`project` (least squares, with the share of the path the
  plane explains) and :func:`path_grid`;
* spectra (``spectra.py``): :func:`spectrum_at` / :func:`spectra_at`, the Hessian's spectral
  density at any point (SLQ);
* sharpness (``sharpness.py``): :class:`SharpnessTracker`, a ``callback`` for
  :func:`deepoptim.train.train` that records :math:`\lambda_{\max}` of the Hessian and the loss
  every few steps;
* between two points (``interpolation.py``): :func:`interpolate`, :func:`interpolation_points`,
  :func:`spectra_along`, and :func:`loss_barrier` (the barrier on the line and where it is,
  a :class:`LossBarrier`).

Drawing lives in :mod:`deepoptim.plotting` (surfaces, paths, densities, the training
animation). This package uses :mod:`deepoptim.curvature` and knows nothing of training loops,
experiments, plotting or the book; the chapter "Loss landscapes and optimizer trajectories"
(``notebooks/11_landscapes``) derives and demonstrates it.
"""

from .directions import (
    BIAS_RULES,
    NORMALIZATIONS,
    EigenDirections,
    PCADirections,
    eigen_directions,
    line_direction,
    normalize_direction,
    pca_directions,
    random_directions,
)
from .interpolation import (
    LossBarrier,
    interpolate,
    interpolation_points,
    loss_barrier,
    spectra_along,
)
from .points import flat_parameters, parameters_at, parameters_of
from .sharpness import SharpnessTracker
from .spectra import spectra_at, spectrum_at
from .surface import (
    AUTO_BATCHED_WORK,
    MAX_CHUNK,
    METHODS,
    PAIRS_PER_CALL,
    Surface,
    evaluate_points,
    loss_surface,
)
from .trajectory import CheckpointRecorder, Projection, path_grid, project

__all__ = [
    # points
    "flat_parameters",
    "parameters_at",
    "parameters_of",
    # directions
    "BIAS_RULES",
    "NORMALIZATIONS",
    "EigenDirections",
    "PCADirections",
    "eigen_directions",
    "line_direction",
    "normalize_direction",
    "pca_directions",
    "random_directions",
    # surfaces
    "AUTO_BATCHED_WORK",
    "MAX_CHUNK",
    "METHODS",
    "PAIRS_PER_CALL",
    "Surface",
    "evaluate_points",
    "loss_surface",
    # trajectories
    "CheckpointRecorder",
    "Projection",
    "path_grid",
    "project",
    # sharpness
    "SharpnessTracker",
    # spectra and interpolation
    "LossBarrier",
    "interpolate",
    "interpolation_points",
    "loss_barrier",
    "spectra_along",
    "spectra_at",
    "spectrum_at",
]
