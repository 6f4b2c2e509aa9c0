r"""Generative adversarial networks on 2-D mixtures, and NuGAN against mode collapse.

Durall, Chatzimichailidis, Labus and Keuper (2021) and Chatzimichailidis (2023, PhD thesis)
relate mode collapse to the generator converging to sharp minima of its loss, a large top
eigenvalue of its Hessian, and propose NuGAN: remove the top eigenvector's direction from the
generator's gradient before Adam uses it. This package:

* players and losses (``models.py``, ``losses.py``): :class:`GAN` (generator and
  discriminator MLPs), :func:`frozen` (hold a player fixed), :func:`discriminator_batch`,
  :func:`discriminator_loss`, :func:`generator_loss` (non-saturating), :func:`labelled_bce`;
* training (``task.py``): :class:`GANTask`, the alternating step as a task of
  :func:`deepoptim.train.fit` (optimizers by name, :data:`PLAYERS`);
* curvature (``hessians.py``): each player's Hessian with the other frozen
  (:func:`generator_hessian`, :func:`discriminator_hessian`, :class:`PlayerHessian`), the top
  eigenpair (:func:`top_eigenpair`: Lanczos or power iteration, :data:`SOLVERS`) and the SLQ
  densities of both players (:func:`player_spectra`), all through
  :mod:`deepoptim.curvature`; the game's Jacobian is not symmetric, and none of these is its
  spectrum;
* the regulariser (``nugan.py``): :class:`NuGAN`, projection removal or nudge (:data:`MODES`);
* metrics (``metrics.py``): :func:`mode_statistics` (modes covered, share of high-quality
  samples, reverse KL of the mode histogram).

The data are :func:`deepoptim.data.ring8` and :func:`deepoptim.data.grid25`. The book's
chapter "NuGAN" derives the method and measures it.
"""

from .hessians import (
    SOLVERS,
    PlayerHessian,
    discriminator_hessian,
    generator_hessian,
    player_spectra,
    top_eigenpair,
)
from .losses import discriminator_batch, discriminator_loss, generator_loss, labelled_bce
from .metrics import mode_statistics
from .models import GAN, frozen
from .nugan import MODES, NuGAN
from .task import PLAYERS, GANTask

__all__ = [
    "GAN",
    "MODES",
    "PLAYERS",
    "SOLVERS",
    "GANTask",
    "NuGAN",
    "PlayerHessian",
    "discriminator_batch",
    "discriminator_hessian",
    "discriminator_loss",
    "frozen",
    "generator_hessian",
    "generator_loss",
    "labelled_bce",
    "mode_statistics",
    "player_spectra",
    "top_eigenpair",
]
