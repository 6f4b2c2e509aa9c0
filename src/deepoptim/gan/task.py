"""The alternating GAN training step as a :class:`~deepoptim.train.Task` of the package's loop.

:func:`deepoptim.train.fit` runs it with the two players' optimizers by name,
``{"discriminator": ..., "generator": ...}``, and a :class:`~deepoptim.gan.GAN` as the model.
Each step draws from the run's seeded batch stream ``batch_size`` real points of the mixture
and two noise batches, then

1. takes one step of the discriminator on :math:`L_D` (the generated points detached);
2. takes one step of the generator on :math:`L_G` with the discriminator frozen; with a
   ``regularizer`` (:class:`~deepoptim.gan.NuGAN`) it is prepared first (its eigenpair
   refreshed when due) and modifies the generator's gradient between the backward pass and
   the optimizer's step.

Both steps are closure-driven (:func:`~deepoptim.train.optimizer_step`). The step records
``discriminator_loss`` and ``generator_loss`` (the run stops when one is not finite) and the
regulariser's records. The evaluation draws ``eval_samples`` points from the generator for a
fixed noise batch and reports :func:`~deepoptim.gan.mode_statistics` against the mixture.
A regulariser carries state (its eigenvector): give each run a new one; a run with a
regulariser is not resumable from a :class:`~deepoptim.train.History` alone.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_int_at_least
from deepoptim.data import GaussianMixture
from deepoptim.train import Task, optimizer_step

from .losses import discriminator_loss, generator_loss
from .metrics import mode_statistics
from .models import GAN, frozen
from .nugan import NuGAN

__all__ = ["PLAYERS", "GANTask"]

#: The names of the optimizers a :class:`GANTask` drives.
PLAYERS = ("discriminator", "generator")

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""``(real, discriminator_noise, generator_noise)``."""


@dataclasses.dataclass(frozen=True, eq=False)
class GANTask(Task):
    """Alternating GAN training on a 2-D Gaussian mixture.

    Attributes:
        data: the mixture (:func:`~deepoptim.data.ring8`, :func:`~deepoptim.data.grid25`).
        latent_dim: the generator's noise dimension (that of the :class:`GAN` trained).
        batch_size: real points, and noise vectors per player, per step.
        regularizer: ``None`` (a plain GAN) or a :class:`NuGAN` of the generator.
        eval_samples: generated points per evaluation.
        eval_seed: seeds the evaluation's fixed noise batch.
    """

    data: GaussianMixture
    latent_dim: int
    batch_size: int = 256
    regularizer: NuGAN | None = None
    eval_samples: int = 2500
    eval_seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.data, GaussianMixture):
            raise TypeError(f"data must be a GaussianMixture, got {type(self.data).__name__}")
        check_int_at_least("latent_dim", self.latent_dim, 1)
        check_int_at_least("batch_size", self.batch_size, 1)
        if self.regularizer is not None and not isinstance(self.regularizer, NuGAN):
            raise TypeError("regularizer must be a deepoptim.gan.NuGAN or None, got "
                            f"{type(self.regularizer).__name__}")
        check_int_at_least("eval_samples", self.eval_samples, 1)
        check_int_at_least("eval_seed", self.eval_seed, 0)

    def batches(self, generator: torch.Generator) -> Iterator[Batch]:
        """Real points and two noise batches, all drawn from ``generator``."""
        while True:
            real, _ = self.data.sample(self.batch_size, generator=generator)
            noise = torch.randn(2, self.batch_size, self.latent_dim, generator=generator)
            yield real, noise[0], noise[1]

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """The generator's loss :math:`L_G` on the batch's generator noise (the loss NuGAN
        watches)."""
        return generator_loss(self._gan(model), batch[2].to(_dtype(model)))

    def step(self, model: nn.Module, optimizer: Any, batch: Batch, search_batch: Any
             ) -> dict[str, float]:
        """One discriminator step, then one (regularised) generator step; their records."""
        gan = self._gan(model)
        optimizers = self._optimizers(optimizer)
        dtype = _dtype(gan)
        real, noise_d, noise_g = (tensor.to(dtype) for tensor in batch)
        records = {"discriminator_loss": optimizer_step(
            optimizers["discriminator"], functools.partial(discriminator_loss, gan, real),
            noise_d)}
        after_backward = None
        if self.regularizer is not None:
            self.regularizer.prepare(gan)
            after_backward = self.regularizer.modify
        with frozen(gan.discriminator):
            records["generator_loss"] = optimizer_step(
                optimizers["generator"], functools.partial(generator_loss, gan), noise_g,
                after_backward=after_backward)
        if self.regularizer is not None:
            records.update(self.regularizer.records())
        return records

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """:func:`mode_statistics` of ``eval_samples`` generated points against the mixture."""
        gan = self._gan(model)
        noise = gan.noise(self.eval_samples, torch.Generator().manual_seed(self.eval_seed))
        return mode_statistics(gan.sample(noise), self.data.centers, self.data.std)

    def _gan(self, model: nn.Module) -> GAN:
        if not isinstance(model, GAN):
            raise TypeError(f"model must be a deepoptim.gan.GAN, got {type(model).__name__}")
        if model.latent_dim != self.latent_dim or model.data_dim != self.data.centers.shape[1]:
            raise ValueError(f"Invalid model value: latent_dim {model.latent_dim}, data_dim "
                             f"{model.data_dim} (expected the task's latent_dim "
                             f"{self.latent_dim} and the mixture's dimension "
                             f"{self.data.centers.shape[1]})")
        return model

    @staticmethod
    def _optimizers(optimizer: Any) -> dict[str, torch.optim.Optimizer]:
        if not isinstance(optimizer, dict) or sorted(optimizer) != sorted(PLAYERS):
            raise TypeError("optimizer must be a dict of two optimizers named "
                            f"{list(PLAYERS)}, got {type(optimizer).__name__}"
                            + (f" with keys {sorted(optimizer)}"
                               if isinstance(optimizer, dict) else ""))
        return optimizer


def _dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype
