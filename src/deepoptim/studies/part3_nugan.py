r"""The NuGAN chapter's training runs and the sentences that state its results.

:func:`train_gan` trains a :class:`~deepoptim.gan.GAN` on a mixture with Adam for both players
(through :func:`deepoptim.train.fit` and :class:`~deepoptim.gan.GANTask`), with or without a
:class:`~deepoptim.gan.NuGAN`, and records what the chapter shows beside the history: at every
evaluation the top eigenvalue of the generator's Hessian (a cold Lanczos solve on a fixed noise
batch, the discriminator frozen, the same for both methods) and the generated points; at chosen
steps the SLQ densities of both players' Hessians. Each phrase or verdict function maps what
the chapter measured to its words, covering both directions, ties and a missing value (NaN);
the criterion is in its docstring and, beside the result, in the chapter.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from .._checks import check_int_at_least
from ..curvature import SpectralDensity
from ..data import GaussianMixture
from ..experiment import seed_everything
from ..gan import (
    GAN,
    PLAYERS,
    GANTask,
    NuGAN,
    generator_hessian,
    player_spectra,
    top_eigenpair,
)
from ..train import History, fit

__all__ = ["GanRun", "coverage_verdict", "factor_phrase", "sharpness_verdict", "train_gan"]

#: The verdict on a claim whose measurement is missing (NaN).
_NOT_MEASURED = "not measured"


@dataclasses.dataclass
class GanRun:
    """One GAN training run.

    Attributes:
        history: the run's :class:`~deepoptim.train.History` (step records: both losses and
            NuGAN's; evaluations: :func:`~deepoptim.gan.mode_statistics`).
        sharpness: per evaluation, ``step`` and ``lambda_max``, the top eigenvalue of the
            generator's Hessian (largest algebraic, Lanczos).
        samples: generated points per evaluated step, ``(eval_samples, 2)``.
        spectra: per step asked for, the SLQ densities by player.
    """

    history: History
    sharpness: pd.DataFrame
    samples: dict[int, torch.Tensor]
    spectra: dict[int, dict[str, SpectralDensity]]


def train_gan(mixture: GaussianMixture, *, seed: int, steps: int, eval_every: int,
              regularizer: NuGAN | None = None, spectra_at: Sequence[int] = (),
              latent_dim: int = 16, hidden: Sequence[int] = (64, 64), batch_size: int = 256,
              lr: float = 1e-3, betas: tuple[float, float] = (0.5, 0.999),
              probe_size: int = 256, slq_probes: int = 4, slq_steps: int = 30,
              device: torch.device | None = None) -> GanRun:
    """Train a GAN from seed ``seed`` (initialisation and batches) and record the run.

    Both players use Adam with ``lr`` and ``betas``; the generator's gradient goes through
    ``regularizer`` when one is given (a fresh one per run). The monitor's noise and real
    batches (``probe_size``) are drawn from a generator seeded by ``seed`` and are the same
    for every method.
    """
    check_int_at_least("steps", steps, 1)
    seed_everything(seed)
    gan = GAN(latent_dim, hidden, hidden).to(device)
    optimizers = {name: torch.optim.Adam(getattr(gan, name).parameters(), lr=lr, betas=betas)
                  for name in PLAYERS}
    task = GANTask(mixture.to(device), latent_dim, batch_size, regularizer, eval_seed=seed)
    probe = torch.Generator().manual_seed(seed + 10_000)
    probe_noise = gan.noise(probe_size, probe)
    probe_real = mixture.sample(probe_size, generator=probe)[0].to(probe_noise.device)
    eval_noise = gan.noise(task.eval_samples, torch.Generator().manual_seed(seed))
    sharpness, samples, spectra = [], {}, {}

    def monitor(step: int, model: GAN, optimizer: object) -> None:
        if step % eval_every == 0 or step == steps:
            result = top_eigenpair(generator_hessian(model, probe_noise), max_steps=30,
                                   seed=seed)
            sharpness.append({"step": step, "lambda_max": float(result.eigenvalues[0])})
            samples[step] = model.sample(eval_noise).cpu()
        if step in spectra_at:
            spectra[step] = player_spectra(model, probe_real, probe_noise,
                                           num_probes=slq_probes, num_steps=slq_steps,
                                           seed=seed)

    history = fit(task, gan, optimizers, steps=steps, seed=seed, eval_every=eval_every,
                  callback=monitor)
    return GanRun(history, pd.DataFrame(sharpness), samples, spectra)


def _mean(values: Sequence[float]) -> float:
    values = [float(v) for v in values]
    return math.nan if not values or any(math.isnan(v) for v in values) else float(
        np.mean(values))


def coverage_verdict(nugan: Sequence[float], plain: Sequence[float], total: int
                     ) -> tuple[str, str]:
    """The claim "NuGAN avoids mode collapse", from the modes covered per seed by NuGAN and by
    the plain GAN, of ``total``.

    It agrees when NuGAN covers every mode in every seed and more modes on average than the
    plain GAN; partly when it covers more on average but not every mode; disagrees when it
    covers as many or fewer on average; it is untested when both cover every mode in every
    seed (there was no collapse to avoid) or neither covers any (neither has learnt the
    data). Returns a sentence ("NuGAN covers 5.5 of 8 modes on average, the plain GAN 8.0")
    and the verdict.
    """
    check_int_at_least("total", total, 1)
    mean_nugan, mean_plain = _mean(nugan), _mean(plain)
    if math.isnan(mean_nugan) or math.isnan(mean_plain):
        return "the modes were not counted", _NOT_MEASURED
    sentence = (f"NuGAN covers {mean_nugan:.1f} of {total} modes on average, the plain GAN "
                f"{mean_plain:.1f}")
    nugan_all = all(float(n) == total for n in nugan)
    if nugan_all and all(float(n) == total for n in plain):
        return sentence, "untested: the plain GAN did not collapse either"
    if mean_nugan == mean_plain == 0:
        return sentence, "untested: neither method covered a mode in this run's steps"
    if mean_nugan > mean_plain:
        return sentence, "agrees" if nugan_all else "partly"
    return sentence, "disagrees"


def sharpness_verdict(rho: float, runs: int, *, threshold: float = 0.5) -> tuple[str, str]:
    """The claim "mode collapse goes with a large top eigenvalue of the generator's Hessian",
    from Spearman's rank correlation ``rho`` between the final :math:`\\lambda_{\\max}(G)` and
    the modes covered over ``runs`` runs.

    It agrees when ``rho <= -threshold`` (sharper generators cover fewer modes), disagrees
    otherwise: "cover more modes" for ``rho >= threshold``, "no clear relation" in between.
    NaN (e.g. every run covered the same number of modes) is not measured.
    """
    check_int_at_least("runs", runs, 1)
    if not 0 < threshold <= 1:
        raise ValueError(f"Invalid threshold value: {threshold!r} (expected 0 < threshold <= 1)")
    if math.isnan(rho):
        return (f"gives no rank correlation over {runs} runs (the modes covered or the "
                "eigenvalues do not vary)", _NOT_MEASURED)
    measured = f"Spearman's ρ = {rho:.2f} over {runs} runs"
    if rho <= -threshold:
        return f"the sharper generators cover fewer modes ({measured})", "agrees"
    if rho >= threshold:
        return f"the sharper generators cover more modes ({measured})", "disagrees"
    return f"there is no clear relation ({measured})", "disagrees"


def factor_phrase(ratio: float, reference: str, *, tolerance: float = 0.1) -> str:
    """A positive ratio ``a / b`` as a factor against ``reference`` (b's name): "12 times as
    large as the plain GAN's", "3.5 times smaller than ...", "about the same as ..." (within
    ``tolerance``), "not measured against ..." for NaN."""
    if math.isnan(ratio):
        return f"not measured against {reference}"
    if ratio <= 0 or math.isinf(ratio):
        raise ValueError(f"Invalid ratio value: {ratio!r} (a ratio of two positive values)")
    if abs(math.log(ratio)) <= math.log1p(tolerance):
        return f"about the same as {reference}"
    factor = max(ratio, 1 / ratio)
    text = f"{factor:.0f}" if factor >= 10 else f"{factor:.2g}"
    if ratio > 1:
        return f"{text} times as large as {reference}"
    return f"{text} times smaller than {reference}"
