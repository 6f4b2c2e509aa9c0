r"""The slope of a search direction by a forward difference (KenSLS's "numerical approach").

The Armijo test along a direction :math:`d` needs its slope :math:`s = \nabla f(w)^\top d`.
After a backward pass it is a dot product; Kenneweg et al. (ACDSA 2024) estimate it instead
with one more forward pass,

.. math::

    \hat s = \frac{f(w) - f(w - \varepsilon d)}{\varepsilon}.

Its error has two parts: truncation, :math:`\tfrac{\varepsilon}{2} |d^\top \nabla^2 f\, d|`, and
round-off, :math:`O(\epsilon_{\text{mach}} |f| / \varepsilon)` (both losses and the probe point
are rounded). :func:`finite_difference_step` balances them with
:math:`\varepsilon = \sqrt{\epsilon_{\text{mach}}}\,(1 + \|w\|)/\|d\|`, a relative move of
:math:`\sqrt{\epsilon_{\text{mach}}}` (:math:`3.5 \cdot 10^{-4}` in float32). The authors'
fixed :math:`\varepsilon = 5\cdot 10^{-9}` is below half the float32 spacing of a weight of size
0.1 (:math:`2^{-27} \approx 7.5 \cdot 10^{-9}`): the probe point rounds back to :math:`w`, and
the estimate is mostly round-off. The book measures both in its ADAMSLS and KenSLS chapter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from deepoptim.optim.linesearch.armijo import Line

__all__ = ["finite_difference_slope", "finite_difference_step"]


def finite_difference_step(params: Sequence[torch.Tensor],
                           directions: Sequence[torch.Tensor]) -> float:
    """The forward-difference step :math:`\\sqrt{\\epsilon_{\\text{mach}}}(1 + \\|w\\|)/\\|d\\|`,
    with the machine epsilon of the parameters' dtype."""
    params, directions = list(params), list(directions)
    machine = torch.finfo(params[0].dtype).eps
    norms = torch.stack([torch.linalg.vector_norm(torch.stack(torch._foreach_norm(t)))
                         for t in (params, directions)]).tolist()
    return math.sqrt(machine) * (1 + norms[0]) / norms[1]


def finite_difference_slope(line: Line, eps: float | None = None, *,
                            reference: float | None = None) -> float:
    """:math:`[f(w) - f(w - \\varepsilon d)]/\\varepsilon` along ``line``'s directions.

    Args:
        line: the parameters :math:`w`, the direction :math:`d` and the loss's closure.
        eps: :math:`\\varepsilon`; ``None`` takes :func:`finite_difference_step`.
        reference: :math:`f(w)` if already known (on the same closure's batch); otherwise it
            costs one more forward pass.

    The parameters are returned exactly to :math:`w` afterwards.
    """
    epsilon = eps or finite_difference_step(line.params, line.directions)
    start = line.loss_at(0.0) if reference is None else reference
    estimate = (start - line.loss_at(epsilon)) / epsilon
    line.move(0.0)
    return estimate
