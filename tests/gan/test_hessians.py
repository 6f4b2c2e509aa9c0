"""Each player's Hessian and its top eigenpair against dense references, in float64."""

import gc
import warnings

import pytest
import torch

from deepoptim import curvature
from deepoptim.gan import (
    GAN,
    NuGAN,
    discriminator_batch,
    discriminator_hessian,
    frozen,
    generator_hessian,
    labelled_bce,
    player_spectra,
    top_eigenpair,
)


def dense_generator_hessian(gan: GAN, noise: torch.Tensor) -> torch.Tensor:
    def loss_fn(outputs, labels):
        return labelled_bce(gan.logits(outputs), labels)

    with frozen(gan.discriminator):
        return curvature.dense_hessian(gan.generator, loss_fn, noise,
                                       noise.new_ones(len(noise)))


def test_generator_hessian_is_the_dense_one(gan, noise):
    op = generator_hessian(gan, noise)
    assert op.dim == sum(p.numel() for p in gan.generator.parameters())
    torch.testing.assert_close(curvature.to_dense(op), dense_generator_hessian(gan, noise),
                               rtol=1e-10, atol=1e-12)


def test_discriminator_hessian_is_the_dense_one(gan, real, noise):
    points, labels = discriminator_batch(gan, real, noise)
    dense = curvature.dense_hessian(
        gan.discriminator, lambda logits, y: labelled_bce(logits.squeeze(-1), y), points, labels)
    torch.testing.assert_close(curvature.to_dense(discriminator_hessian(gan, real, noise)),
                               dense, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("warm", [False, True])
def test_lanczos_top_eigenpair_matches_eigh(gan, noise, warm):
    values, vectors = torch.linalg.eigh(dense_generator_hessian(gan, noise))
    op = generator_hessian(gan, noise)
    start = vectors[:, -1] + 0.1 * vectors[:, 0] if warm else None
    result = top_eigenpair(op, max_steps=op.dim, tol=1e-10, start=start)
    assert result.converged
    assert float(result.eigenvalues[0]) == pytest.approx(float(values[-1]), rel=1e-9)
    assert abs(float(result.eigenvectors[0] @ vectors[:, -1])) == pytest.approx(1.0, abs=1e-8)


def test_warm_start_from_the_eigenvector_needs_fewer_products(gan, noise):
    op = generator_hessian(gan, noise)
    cold = top_eigenpair(op, max_steps=op.dim, tol=1e-6)
    warm = top_eigenpair(op, max_steps=op.dim, tol=1e-6, start=cold.eigenvectors[0])
    assert warm.converged and warm.num_matvecs < cold.num_matvecs


def test_power_iteration_finds_the_largest_magnitude_lanczos_the_largest_value():
    op = curvature.MatrixOperator(curvature.planted_matrix([-5.0, 0.1, 0.5, 1.0, 2.0]))
    power = top_eigenpair(op, solver="power", max_steps=500, tol=1e-12)
    lanczos = top_eigenpair(op, max_steps=5, tol=1e-10)
    assert float(power.eigenvalues[0]) == pytest.approx(-5.0, rel=1e-6)
    assert float(lanczos.eigenvalues[0]) == pytest.approx(2.0, rel=1e-9)


def test_nugan_refresh_is_the_dense_top_eigenpair(gan, noise):
    regularizer = NuGAN(every=1, max_steps=30, tol=1e-10, noise_size=16, seed=3)
    regularizer.refresh(gan)
    values, vectors = torch.linalg.eigh(dense_generator_hessian(gan, regularizer._noise))
    assert regularizer.eigenvalue == pytest.approx(float(values[-1]), rel=1e-9)
    assert abs(float(regularizer.eigenvector @ vectors[:, -1])) == pytest.approx(1.0, abs=1e-8)


def _live_tensors() -> int:
    gc.collect()
    with warnings.catch_warnings():  # isinstance on torch.distributed's deprecated aliases
        warnings.simplefilter("ignore", FutureWarning)
        return sum(1 for obj in gc.get_objects() if isinstance(obj, torch.Tensor))


def test_eigen_solve_leaves_the_discriminator_alone_and_keeps_no_graph(gan):
    for p in gan.discriminator.parameters():
        p.grad = torch.full_like(p, 0.5)
    before = [(p.detach().clone(), p.grad.clone()) for p in gan.discriminator.parameters()]
    regularizer = NuGAN(every=1, max_steps=10, noise_size=16)
    regularizer.refresh(gan)
    counts = []
    for _ in range(4):
        regularizer.refresh(gan)
        counts.append(_live_tensors())
    assert counts[-1] <= counts[1]  # repeated solves do not accumulate tensors
    for p, (value, grad) in zip(gan.discriminator.parameters(), before, strict=True):
        assert p.requires_grad
        assert torch.equal(p, value) and torch.equal(p.grad, grad)
    assert regularizer.eigenvector.grad_fn is None
    assert not regularizer.eigenvector.requires_grad
    assert all(p.grad is None for p in gan.generator.parameters())


def test_products_do_not_touch_the_frozen_player(gan, real, noise):
    op = discriminator_hessian(gan, real, noise)
    op.matvec(torch.ones(op.dim, dtype=torch.float64))
    assert all(p.grad is None for p in gan.parameters())
    assert all(p.requires_grad for p in gan.parameters())


def test_frozen_restores_the_flags_after_an_error(gan):
    gan.discriminator.layers[0].bias.requires_grad_(False)
    with pytest.raises(RuntimeError), frozen(gan.discriminator):
        assert not any(p.requires_grad for p in gan.discriminator.parameters())
        raise RuntimeError("inside")
    flags = [p.requires_grad for p in gan.discriminator.parameters()]
    assert flags == [True, False, True, True]


def test_player_spectra_are_densities_of_both_players(gan, real, noise):
    spectra = player_spectra(gan, real, noise, num_probes=3, num_steps=8)
    assert set(spectra) == {"generator", "discriminator"}
    for name, op in (("generator", generator_hessian(gan, noise)),
                     ("discriminator", discriminator_hessian(gan, real, noise))):
        spectrum = spectra[name]
        assert spectrum.dim == op.dim
        torch.testing.assert_close(spectrum.weights.sum(dim=1), torch.ones(3, dtype=torch.float64))
        largest = float(torch.linalg.eigvalsh(curvature.to_dense(op))[-1])
        assert float(spectrum.nodes.max()) <= largest + 1e-8


def test_bad_arguments_raise(gan, noise):
    op = generator_hessian(gan, noise)
    with pytest.raises(ValueError, match="solver"):
        top_eigenpair(op, solver="arnoldi")
    with pytest.raises(ValueError, match="start"):
        top_eigenpair(op, solver="power", start=torch.ones(op.dim, dtype=torch.float64))
    with pytest.raises(ValueError, match="noise"):
        generator_hessian(gan, noise[:, :1])
    with pytest.raises(TypeError, match="gan"):
        generator_hessian(gan.generator, noise)
    with pytest.raises(TypeError, match="module"):
        with frozen("discriminator"):
            pass
