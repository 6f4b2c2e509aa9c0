"""One look for every figure in the book, and the drawing helpers the chapters share.

* style (``style.py``): :func:`use_book_style` (the seaborn theme), :data:`OPTIMIZER_COLORS` and
  :func:`color` (one fixed colour per optimizer, a stable one for any other name),
  :func:`palette`;
* training curves (``curves.py``): :func:`mean_band` (mean over seeds with a band of one
  standard deviation), :func:`against_time` (a metric against wall time), :func:`rolling_mean`,
  :func:`training_curves` and :data:`CURVE_LOSSES`;
* landscapes (``surfaces.py``): :func:`plot_surface` (a plane's loss as filled contours) and
  :func:`plot_path` (a projected trajectory);
* spectra (``spectra.py``): :func:`plot_density` (a smoothed spectral density, logarithmic
  axis) and :func:`default_sigma`;
* animation (``animation.py``): :func:`training_animation`, a :class:`TrainingAnimation` of the
  path on the landscape beside the Hessian's spectrum, one frame per checkpoint, as
  self-contained HTML.

Everything here only draws: the quantities come from :mod:`deepoptim.landscape` and
:mod:`deepoptim.curvature`, which know nothing of plotting.
"""

from .animation import TrainingAnimation, training_animation
from .curves import CURVE_LOSSES, against_time, mean_band, rolling_mean, training_curves
from .spectra import default_sigma, plot_density
from .style import OPTIMIZER_COLORS, color, palette, use_book_style
from .surfaces import plot_path, plot_surface

__all__ = [
    # style
    "OPTIMIZER_COLORS",
    "color",
    "palette",
    "use_book_style",
    # training curves
    "CURVE_LOSSES",
    "against_time",
    "mean_band",
    "rolling_mean",
    "training_curves",
    # landscapes and spectra
    "default_sigma",
    "plot_density",
    "plot_path",
    "plot_surface",
    # animation
    "TrainingAnimation",
    "training_animation",
]
