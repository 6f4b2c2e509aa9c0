r"""The losses of the two players (Goodfellow et al. 2014), with logits.

With :math:`D` the discriminator's logit and :math:`\ell(s, y)` the binary cross-entropy of
the logit :math:`s` against the label :math:`y`,

.. math::

    L_D(\phi) = \frac{1}{2B}\Big(\sum_{i=1}^B \ell(D_\phi(x_i), 1)
                 + \sum_{i=1}^B \ell(D_\phi(G_\theta(z_i)), 0)\Big), \qquad
    L_G(\theta) = \frac1B \sum_{i=1}^B \ell(D_\phi(G_\theta(z_i)), 1),

the discriminator's loss as the mean over the real and generated points together, the
generator's the *non-saturating* loss (its gradient does not vanish when :math:`D` rejects the
generated points). :func:`labelled_bce` is the loss of logits against labels, the form the
Hessian operators of :mod:`deepoptim.curvature` take (``loss_fn(outputs, targets)``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .models import GAN

__all__ = ["discriminator_batch", "discriminator_loss", "generator_loss", "labelled_bce"]


def labelled_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of ``logits`` against ``labels`` (1 real, 0 generated)."""
    return F.binary_cross_entropy_with_logits(logits, labels)


def discriminator_batch(gan: GAN, real: torch.Tensor, noise: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """The discriminator's inputs and labels: the real points (1) and the points generated
    from ``noise`` (0), computed without a graph."""
    fake = gan.sample(noise)
    points = torch.cat([real, fake])
    return points, torch.cat([real.new_ones(len(real)), fake.new_zeros(len(fake))])


def discriminator_loss(gan: GAN, real: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """:math:`L_D`; the generated points carry no graph, so only the discriminator gets a
    gradient."""
    points, labels = discriminator_batch(gan, real, noise)
    return labelled_bce(gan.logits(points), labels)


def generator_loss(gan: GAN, noise: torch.Tensor) -> torch.Tensor:
    """:math:`L_G`, the non-saturating loss."""
    fake = gan.generator(noise)
    return labelled_bce(gan.logits(fake), fake.new_ones(len(fake)))
