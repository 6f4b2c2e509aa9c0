r"""NPACS's adaptive :math:`\Delta\lambda`: a gradient-norm trend rule (Pathak & Paffenroth,
ICMLA 2019; the authors' code's ``adaptive_lambda``).

With :math:`p` the mean global gradient norm over the window before the last ``window`` steps
(:math:`p := 0.2` when it is 0, as the reference) and :math:`c` the mean over the last
``window`` steps,

* if :math:`(c - p)/p < -\text{norm\_strict}` (the norm fell): :math:`\Delta\lambda \leftarrow
  \min(1.5\,\Delta\lambda, \Delta\lambda_{\max})`;
* if :math:`(c - p)/p \ge \text{norm\_strict}` (it rose): :math:`\Delta\lambda \leftarrow
  \max(\Delta\lambda / 2, \Delta\lambda_{\min})`;
* then, if the largest norm of the last ``window`` steps is at least ``norm_cap``:
  :math:`\Delta\lambda \leftarrow \max(\Delta\lambda / 2, \Delta\lambda_{\min})` once more.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

__all__ = ["adapt_delta"]

#: The reference's stand-in for a previous mean gradient norm of zero.
ZERO_NORM_STAND_IN = 0.2


def adapt_delta(delta: float, norms: Sequence[float], *, window: int, delta_min: float,
                delta_max: float, norm_strict: float, norm_cap: float) -> float:
    r"""The next :math:`\Delta\lambda` from ``delta`` and the recorded gradient norms.

    ``norms`` holds more than ``window`` norms, the latest last; the previous window is the
    (up to ``window``) norms before the last ``window``.
    """
    if len(norms) <= window:
        raise ValueError(f"Invalid norms value: {len(norms)} norms (expected more than "
                         f"window = {window})")
    recent = norms[-window:]
    previous = statistics.fmean(norms[-2 * window:-window]) or ZERO_NORM_STAND_IN
    trend = (statistics.fmean(recent) - previous) / previous
    if trend < -norm_strict:
        delta = min(1.5 * delta, delta_max)
    elif trend >= norm_strict:
        delta = max(delta / 2, delta_min)
    if max(recent) >= norm_cap:
        delta = max(delta / 2, delta_min)
    return delta
