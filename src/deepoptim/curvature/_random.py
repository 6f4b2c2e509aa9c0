"""Random probe vectors with one generator per probe, so every parallel layout draws the same.

Probe ``l`` of a run with seed ``s`` is drawn from its own ``torch.Generator``, seeded from the
pair ``(s, l)`` through NumPy's ``SeedSequence`` (independent streams, no overlap between
``(s, l + 1)`` and ``(s + 1, l)``). A probe is therefore the same vector whether the probes run
one after another, side by side in one batch, in chunks, or on different processes, and on any
device: the numbers are drawn on the CPU in float64 and then moved and cast. A second stream per
probe (``stream=1``) supplies the fresh directions Lanczos needs after a breakdown.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from deepoptim._checks import check_choice, check_int_at_least

#: Probe distributions: Rademacher (entries +-1) or standard Gaussian.
DISTRIBUTIONS = ("rademacher", "gaussian")


def probe_generator(seed: int, index: int, stream: int = 0) -> torch.Generator:
    """A CPU generator for probe ``index`` of a run seeded ``seed`` (``stream`` 0: the probe)."""
    state = np.random.SeedSequence([seed, index, stream]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


def draw(dim: int, generator: torch.Generator, distribution: str, dtype: torch.dtype,
         device: torch.device) -> torch.Tensor:
    """One vector of ``dim`` entries from ``generator``: Rademacher or standard Gaussian."""
    if distribution == "rademacher":
        values = torch.randint(0, 2, (dim,), generator=generator).to(torch.float64) * 2 - 1
    else:
        values = torch.randn(dim, generator=generator, dtype=torch.float64)
    return values.to(device=device, dtype=dtype)


def probes(dim: int, indices: Sequence[int], seed: int, distribution: str, dtype: torch.dtype,
           device: torch.device) -> torch.Tensor:
    """The probes with these indices as rows of a ``(len(indices), dim)`` tensor."""
    return torch.stack([
        draw(dim, probe_generator(seed, index), distribution, dtype, device) for index in indices
    ])


def check_probe_arguments(seed: int, distribution: str) -> None:
    """Validate the seed and the distribution of a stochastic estimator."""
    check_int_at_least("seed", seed, 0)
    check_choice("distribution", distribution, DISTRIBUTIONS)
