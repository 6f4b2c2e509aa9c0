"""The two players of a GAN on 2-D data, and how one of them is held fixed.

:class:`GAN` holds a generator :math:`G_\\theta:\\mathbb{R}^{d_z}\\to\\mathbb{R}^2` and a
discriminator :math:`D_\\phi:\\mathbb{R}^2\\to\\mathbb{R}` (a logit), both
:class:`~deepoptim.models.MLP`, in one module so that the training loop sees one model.
:func:`frozen` turns off ``requires_grad`` of a module's parameters inside a ``with`` block and
restores it after: a player held fixed while the other one's loss is differentiated (or its
Hessian computed) gets no gradient and keeps no part of the graph.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from deepoptim._checks import check_int_at_least
from deepoptim.models import MLP

__all__ = ["GAN", "frozen"]


class GAN(nn.Module):
    """A generator and a discriminator, fully connected ReLU networks.

    Args:
        latent_dim: :math:`d_z`, the dimension of the generator's Gaussian noise.
        generator_hidden: the generator's hidden widths.
        discriminator_hidden: the discriminator's hidden widths.
        data_dim: the dimension of the data (2 for the mixtures of the book).

    Attributes:
        generator: ``(B, latent_dim) -> (B, data_dim)``.
        discriminator: ``(B, data_dim) -> (B,)`` logits (the MLP's one output, squeezed by
            :meth:`logits`).
    """

    def __init__(self, latent_dim: int = 16, generator_hidden: Sequence[int] = (64, 64),
                 discriminator_hidden: Sequence[int] = (64, 64), data_dim: int = 2) -> None:
        super().__init__()
        check_int_at_least("latent_dim", latent_dim, 1)
        check_int_at_least("data_dim", data_dim, 1)
        for name, widths in (("generator_hidden", generator_hidden),
                             ("discriminator_hidden", discriminator_hidden)):
            if not all(isinstance(w, int) and w >= 1 for w in widths):
                raise ValueError(f"Invalid {name} value: {widths!r} (expected positive widths)")
        self.latent_dim = latent_dim
        self.data_dim = data_dim
        self.generator = MLP(latent_dim, tuple(generator_hidden), data_dim)
        self.discriminator = MLP(data_dim, tuple(discriminator_hidden), 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's logits of ``x`` ``(B, data_dim)``, shape ``(B,)``."""
        return self.discriminator(x).squeeze(-1)

    @torch.no_grad()
    def sample(self, noise: torch.Tensor) -> torch.Tensor:
        """Generated points for the noise ``(B, latent_dim)``, without a graph."""
        return self.generator(noise)

    def noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` standard Gaussian noise vectors drawn from ``generator`` (a CPU one), on the
        device and in the dtype of the generator's parameters."""
        check_int_at_least("n", n, 1)
        weight = next(self.generator.parameters())
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=weight.dtype)
        return z.to(weight.device)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Hold ``module``'s parameters fixed: ``requires_grad`` off inside the block, as it was
    after (also when the block raises). Their values and ``.grad`` are not touched."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
