r"""How well generated 2-D points cover a Gaussian mixture: modes, quality, reverse KL.

For a mixture of :math:`K` components with centres :math:`\mu_k` and standard deviation
:math:`\sigma`, and :math:`N` generated points (the conventions of VEEGAN, Srivastava et al.
2017, and PacGAN, Lin et al. 2018):

* a point is of **high quality** when it lies within ``threshold`` :math:`\cdot\,\sigma`
  (3 by default) of some centre; :math:`q` is the fraction of such points;
* a **mode is covered** when at least ``min_count`` (20 by default) high-quality points lie
  near its centre;
* the **reverse KL** :math:`\mathrm{KL}(\hat p\,\|\,u) = \sum_k \hat p_k \log(K \hat p_k)` of
  the histogram :math:`\hat p` of *all* points over their nearest centres against the uniform
  :math:`u_k = 1/K` of the mixture: 0 when the points spread evenly over the modes,
  :math:`\log K` when they all fall to one; always defined, whatever the quality.
"""

from __future__ import annotations

import math

import torch

from deepoptim._checks import check_int_at_least, check_positive

__all__ = ["mode_statistics"]


def mode_statistics(samples: torch.Tensor, centers: torch.Tensor, std: float, *,
                    threshold: float = 3.0, min_count: int = 20) -> dict[str, float]:
    """``modes`` (covered, a count), ``high_quality`` (a fraction) and ``reverse_kl`` (nats) of
    ``samples`` ``(N, d)`` against the mixture of ``centers`` ``(K, d)`` and ``std``.

    Non-finite samples (a diverged generator) are of low quality and count towards no mode;
    the reverse KL is then that of the finite ones (``nan`` if none is finite).
    """
    for name, tensor in (("samples", samples), ("centers", centers)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.dim() != 2 or len(tensor) == 0:
            raise ValueError(f"Invalid {name} value: shape {tuple(tensor.shape)} "
                             "(expected (N, d) with N >= 1)")
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(f"Invalid samples value: dimension {samples.shape[1]} (expected the "
                         f"centres' {centers.shape[1]})")
    check_positive("std", std)
    check_positive("threshold", threshold)
    check_int_at_least("min_count", min_count, 1)
    samples = samples.detach().to(torch.float64)
    centers = centers.detach().to(device=samples.device, dtype=torch.float64)
    finite = samples.isfinite().all(dim=1)
    distances, nearest = torch.cdist(samples[finite], centers).min(dim=1)
    good = distances <= threshold * std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    histogram = torch.bincount(nearest, minlength=len(centers)).to(torch.float64)
    if histogram.sum() > 0:
        p = histogram / histogram.sum()
        reverse_kl = float((p[p > 0] * (p[p > 0] * len(centers)).log()).sum())
    else:
        reverse_kl = math.nan
    return {"modes": int((counts >= min_count).sum()),
            "high_quality": float(good.sum()) / len(samples),
            "reverse_kl": reverse_kl}
