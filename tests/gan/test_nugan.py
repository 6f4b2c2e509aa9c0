"""NuGAN's gradient modification, its training step, and plain Adam at gamma = 0."""

import math

import pytest
import torch

from deepoptim import data, train
from deepoptim.gan import GAN, PLAYERS, GANTask, NuGAN, generator_loss

from .conftest import tiny_gan


def _gradient(gan: GAN, noise: torch.Tensor) -> list[torch.Tensor]:
    gan.generator.zero_grad(set_to_none=True)
    generator_loss(gan, noise).backward()
    return [p.grad.clone() for p in gan.generator.parameters()]


def _flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


@pytest.mark.parametrize("gamma", [1.0, 0.5, 2.0])
def test_projection_removes_gamma_times_the_component(gan, noise, gamma):
    regularizer = NuGAN(gamma, noise_size=16, max_steps=22, tol=1e-10)
    regularizer.refresh(gan)
    g = _flat(_gradient(gan, noise))
    regularizer.modify()
    modified = _flat([p.grad for p in gan.generator.parameters()])
    v = regularizer.eigenvector
    torch.testing.assert_close(modified, g - gamma * (g @ v) * v, rtol=1e-12, atol=1e-14)
    assert float(modified @ v) == pytest.approx((1 - gamma) * float(g @ v), abs=1e-12)
    if gamma == 1.0:
        assert abs(float(modified @ v)) <= 1e-12 * float(g.norm())


def test_gamma_one_gradient_is_orthogonal_to_the_eigenvector(gan, noise):
    regularizer = NuGAN(1.0, noise_size=16)
    regularizer.prepare(gan)
    g = _flat(_gradient(gan, noise))
    regularizer.modify()
    modified = _flat([p.grad for p in gan.generator.parameters()])
    assert abs(float(modified @ regularizer.eigenvector)) <= 1e-12 * float(g.norm())
    assert regularizer.records()["grad_cosine"] == pytest.approx(
        float(g @ regularizer.eigenvector / g.norm()), rel=1e-10)


def test_nudge_moves_against_the_sign_of_the_component(gan, noise):
    regularizer = NuGAN(mode="nudge", nudge=0.3, noise_size=16)
    regularizer.refresh(gan)
    g = _flat(_gradient(gan, noise))
    regularizer.modify()
    v = regularizer.eigenvector
    expected = g - 0.3 * math.copysign(1.0, float(g @ v)) * v
    torch.testing.assert_close(_flat([p.grad for p in gan.generator.parameters()]), expected,
                               rtol=1e-12, atol=1e-14)


def _run(regularizer, steps=12, seed=0):
    gan = tiny_gan(seed)
    task = GANTask(data.ring8(), latent_dim=2, batch_size=16, regularizer=regularizer,
                   eval_samples=50)
    optimizers = {name: torch.optim.Adam(getattr(gan, name).parameters(), lr=1e-2,
                                         betas=(0.5, 0.999)) for name in PLAYERS}
    history = train.fit(task, gan, optimizers, steps=steps, eval_every=4, seed=seed,
                        progress=False)
    return gan, history


def test_gamma_zero_is_plain_adam_step_for_step():
    plain, plain_history = _run(None)
    zero, zero_history = _run(NuGAN(0.0, every=3, noise_size=16))
    for a, b in zip(plain.parameters(), zero.parameters(), strict=True):
        assert torch.equal(a, b)
    for name in ("generator_loss", "discriminator_loss"):
        assert ([row[name] for row in plain_history.steps]
                == [row[name] for row in zero_history.steps])
    assert plain_history.evals_frame()["modes"].tolist() == zero_history.evals_frame()[
        "modes"].tolist()


def test_gamma_one_changes_the_trajectory():
    plain, _ = _run(None)
    nudged, _ = _run(NuGAN(1.0, every=3, noise_size=16))
    assert not torch.equal(_flat(plain.generator.parameters()),
                           _flat(nudged.generator.parameters()))


def test_task_records_refreshes_every_k_steps():
    regularizer = NuGAN(1.0, every=5, noise_size=16, max_steps=8)
    _, history = _run(regularizer, steps=12)
    frame = history.steps_frame()
    refreshed = frame.loc[frame["eigen_matvecs"] > 0, "step"].tolist()
    assert refreshed == [1, 6, 11]
    assert regularizer.refreshes == 3
    assert frame["lambda_max"].notna().all()
    assert frame["grad_cosine"].abs().le(1 + 1e-12).all()
    assert set(history.evals_frame().columns) >= {"modes", "high_quality", "reverse_kl"}
    assert {"discriminator_lr", "generator_lr"} <= set(frame.columns)


def test_bad_arguments_raise(gan):
    with pytest.raises(ValueError, match="gamma"):
        NuGAN(-1.0)
    with pytest.raises(ValueError, match="every"):
        NuGAN(every=0)
    with pytest.raises(ValueError, match="mode"):
        NuGAN(mode="reflect")
    with pytest.raises(ValueError, match="nudge"):
        NuGAN(mode="nudge")
    with pytest.raises(ValueError, match="warm_start"):
        NuGAN(solver="power", warm_start=True)
    with pytest.raises(RuntimeError, match="eigenpair"):
        NuGAN().modify()
    with pytest.raises(TypeError, match="gan"):
        NuGAN().refresh(gan.generator)
    with pytest.raises(TypeError, match="GaussianMixture"):
        GANTask("ring8", latent_dim=2)
    with pytest.raises(TypeError, match="regularizer"):
        GANTask(data.ring8(), latent_dim=2, regularizer="nugan")
    task = GANTask(data.ring8(), latent_dim=3)
    batch = next(task.batches(torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="latent_dim"):
        task.evaluate(gan)
    with pytest.raises(TypeError, match="optimizer"):
        GANTask(data.ring8(), latent_dim=2).step(gan, torch.optim.Adam(gan.parameters()),
                                                 batch, None)
    with pytest.raises(ValueError, match="generator_hidden"):
        GAN(generator_hidden=(0,))
