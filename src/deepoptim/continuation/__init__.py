r"""Continuation (homotopy) training, Part IV (Pathak 2024; Pathak & Paffenroth, ICMLA 2019 and
arXiv:2507.22089).

Every hidden activation :math:`\sigma` becomes :math:`\sigma_\lambda(v) = (1-\lambda) v +
\lambda \sigma(v)` with one shared :math:`\lambda` (:class:`Homotopy`,
:class:`HomotopyActivation`, :func:`homotopize`): at :math:`\lambda = 0` the network is affine,
at :math:`\lambda = 1` it is itself. A continuation method trains while :math:`\lambda` goes
from near 0 to 1, as a :class:`~deepoptim.train.Task` wrapping the problem's task, in the one
loop :func:`deepoptim.train.fit`, around any ``torch.optim.Optimizer``:

* :class:`NaturalContinuation`: natural-parameter continuation (NPC: fixed
  :math:`\Delta\lambda` every ``every`` steps) and NPACS (secant predictor, adaptive
  :math:`\Delta\lambda`: :func:`adapt_delta`);
* :class:`PseudoArclength`: pseudo-arclength continuation (PARC), :math:`(\theta, \lambda)`
  corrected together on the arclength hyperplane;
* :class:`LinearSchedule`: :math:`\lambda` linear in the step, the curriculum baseline.

After :math:`\lambda` reaches 1 training is ordinary training at :math:`\lambda = 1`.
:func:`pca_init` initialises a linear autoencoder at its optimum (successive SVDs), the first
problem's solution for an autoencoder.
"""

from .activations import Homotopy, HomotopyActivation, homotopize
from .adaptive import adapt_delta
from .arclength import PseudoArclength
from .base import Continuation
from .linear import LinearSchedule
from .natural import NaturalContinuation
from .pca import pca_init

__all__ = [
    "Continuation",
    "Homotopy",
    "HomotopyActivation",
    "LinearSchedule",
    "NaturalContinuation",
    "PseudoArclength",
    "adapt_delta",
    "homotopize",
    "pca_init",
]
