"""The two Gaussian mixtures GAN papers test mode collapse on: ring-8 and grid-25.

* **ring-8** (Metz et al. 2017, *Unrolled generative adversarial networks*): 8 components
  evenly spaced on the circle of radius 2, standard deviation 0.02;
* **grid-25** (Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN): 25 components at
  :math:`\\{-4, -2, 0, 2, 4\\}^2`, standard deviation 0.05.

Both are :func:`~deepoptim.data.gaussian_mixture` with these settings, so their
:meth:`~deepoptim.data.GaussianMixture.sample` draws the real data of a GAN from a private
generator, and ``centers`` and ``std`` define the modes that
:func:`deepoptim.gan.mode_statistics` counts.
"""

from __future__ import annotations

import torch

from .toy import GaussianMixture, gaussian_mixture

__all__ = ["grid25", "ring8"]


def ring8(*, std: float = 0.02, n_samples: int = 2000, seed: int = 0,
          device: torch.device | str | None = None) -> GaussianMixture:
    """Eight Gaussians of standard deviation ``std`` on the circle of radius 2."""
    return gaussian_mixture("ring", n_samples=n_samples, n_components=8, radius=2.0, std=std,
                            seed=seed, device=device)


def grid25(*, std: float = 0.05, n_samples: int = 2000, seed: int = 0,
           device: torch.device | str | None = None) -> GaussianMixture:
    """Twenty-five Gaussians of standard deviation ``std`` on the grid
    :math:`\\{-4, -2, 0, 2, 4\\}^2`."""
    return gaussian_mixture("grid", n_samples=n_samples, n_components=25, radius=4.0, std=std,
                            seed=seed, device=device)
