"""Inverses of damped factors (eigh, Newton-Schulz) and Kronecker-factored solves, in float64
against torch.linalg and the dense Kronecker product."""

from __future__ import annotations

import math

import pytest
import torch

from deepoptim import curvature as cv


def spd(n: int, condition: float, seed: int = 0) -> torch.Tensor:
    """A symmetric positive definite matrix with eigenvalues from 1 to ``condition``."""
    values = torch.logspace(0, math.log10(condition), n, dtype=torch.float64)
    return cv.planted_matrix(values, seed=seed)


def column_vec(matrix: torch.Tensor) -> torch.Tensor:
    """vec(V): the columns stacked."""
    return matrix.T.reshape(-1)


def test_the_damped_inverse_equals_torch_inverse():
    a = spd(12, 50.0)
    torch.testing.assert_close(cv.damped_inverse(a), torch.linalg.inv(a), rtol=0, atol=1e-12)
    eye = torch.eye(12, dtype=torch.float64)
    torch.testing.assert_close(cv.damped_inverse(a, 0.3), torch.linalg.inv(a + 0.3 * eye),
                               rtol=0, atol=1e-12)
    singular = cv.planted_matrix(torch.tensor([0.0, 0.0, 1.0, 2.0]), seed=1)
    torch.testing.assert_close(cv.damped_inverse(singular, 0.1),
                               torch.linalg.inv(singular + 0.1 * torch.eye(4, dtype=torch.float64)),
                               rtol=0, atol=1e-12)


def test_one_decomposition_serves_every_damping():
    a = spd(8, 10.0, seed=2)
    eigen = cv.SymmetricEigen.of(a)
    values, vectors = torch.linalg.eigh(a)
    assert torch.equal(eigen.values, values) and torch.equal(eigen.vectors, vectors)
    for damping in (0.0, 0.01, 1.0):
        torch.testing.assert_close(eigen.inverse(damping), cv.damped_inverse(a, damping),
                                   rtol=0, atol=1e-13)


@pytest.mark.parametrize("matrix, damping, match", [
    (torch.tensor([[1.0, float("nan")], [float("nan"), 1.0]], dtype=torch.float64), 0.0,
     "2 entries are not finite"),
    (torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=torch.float64), 0.0, "not symmetric"),
    (torch.diag(torch.tensor([1.0, -0.5], dtype=torch.float64)), 0.1, "not positive definite"),
    (torch.diag(torch.tensor([1.0, 0.0], dtype=torch.float64)), 0.0, "not positive definite"),
])
def test_unsafe_factors_are_reported_not_inverted(matrix, damping, match):
    with pytest.raises(cv.FactorError, match=match):
        cv.damped_inverse(matrix, damping)
    with pytest.raises(cv.FactorError, match="Invalid matrix value"):
        cv.newton_schulz_inverse(matrix, damping)
    assert issubclass(cv.FactorError, ValueError)


def test_bad_arguments_are_rejected():
    with pytest.raises(TypeError, match="matrix must be a torch.Tensor, got list"):
        cv.damped_inverse([[1.0]])
    with pytest.raises(ValueError, match="Invalid matrix value: shape \\(2, 3\\)"):
        cv.damped_inverse(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="Invalid damping value: -1"):
        cv.damped_inverse(torch.eye(2), -1)
    with pytest.raises(ValueError, match="Invalid max_iter value: 0"):
        cv.newton_schulz_inverse(torch.eye(2), max_iter=0)
    with pytest.raises(ValueError, match="Invalid initial value"):
        cv.newton_schulz_inverse(torch.eye(2), initial=torch.eye(3))
    with pytest.raises(ValueError, match="Invalid matrix value: shape \\(3, 3\\)"):
        cv.kronecker_solve(torch.eye(2), torch.eye(3), torch.zeros(3, 3))


def test_newton_schulz_converges_quadratically_from_the_cold_start():
    """E_{k+1} = E_k^2, so ||E_{k+1}||_F <= ||E_k||_F^2, and the documented bound on the
    number of iterations from B_0 = I / ||A||_F holds."""
    n, tol = 20, 1e-10
    a = spd(n, 100.0, seed=3)
    result = cv.newton_schulz_inverse(a, tol=tol)
    assert result.converged and not result.warm_start
    torch.testing.assert_close(result.inverse, torch.linalg.inv(a), rtol=0, atol=1e-9)
    residuals = result.residuals
    assert len(residuals) == result.iterations + 1 and float(residuals[-1]) <= tol
    for before, after in zip(residuals[:-1], residuals[1:], strict=True):
        assert float(after) <= float(before) ** 2 * (1 + 1e-8) + 1e-13
    smallest = float(torch.linalg.eigvalsh(a)[0])
    bound = math.ceil(math.log2(math.log(math.sqrt(n) / tol)
                                * float(torch.linalg.matrix_norm(a)) / smallest))
    assert result.iterations <= bound
    assert result.iterations >= math.ceil(math.log2(100.0))  # about log2(kappa) at least


def test_damping_is_added_to_the_diagonal():
    a = spd(10, 1000.0, seed=4)
    eye = torch.eye(10, dtype=torch.float64)
    result = cv.newton_schulz_inverse(a, 0.5, tol=1e-12)
    torch.testing.assert_close(result.inverse, torch.linalg.inv(a + 0.5 * eye), rtol=0,
                               atol=1e-11)


def test_a_warm_start_from_the_previous_inverse_takes_fewer_iterations():
    """A factor updated by a moving average (0.95 old + 0.05 new batch) starting from the
    inverse of the old one: a few iterations instead of the cold start's many."""
    n = 16
    old = spd(n, 200.0, seed=5)
    batch = torch.randn(n, 64, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    new = 0.95 * old + 0.05 * (batch @ batch.T / 64)
    previous = torch.linalg.inv(old)
    cold = cv.newton_schulz_inverse(new, tol=1e-12)
    warm = cv.newton_schulz_inverse(new, initial=previous, tol=1e-12)
    assert warm.warm_start and warm.converged and cold.converged
    assert warm.iterations <= 5 < cold.iterations
    torch.testing.assert_close(warm.inverse, torch.linalg.inv(new), rtol=0, atol=1e-10)
    one_step = cv.newton_schulz_inverse(new, initial=previous, max_iter=1)
    assert one_step.iterations == 1
    assert float(one_step.residuals[1]) <= float(one_step.residuals[0]) ** 2 * (1 + 1e-8)


def test_an_unmeasured_last_step_is_the_same_iterate_with_the_squared_residual_as_bound():
    """measure_last=False saves the product that measures the last iterate: the same inverse,
    one residual fewer, and the bound ||E||^2 from the one before it, which the measured
    residual respects (I - B'A = (I - BA)^2)."""
    n = 12
    old = spd(n, 100.0, seed=9)
    batch = torch.randn(n, 48, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    new = 0.9 * old + 0.1 * (batch @ batch.T / 48)
    previous = torch.linalg.inv(old)
    for steps in (1, 2):
        measured = cv.newton_schulz_inverse(new, initial=previous, max_iter=steps, tol=1e-14)
        saved = cv.newton_schulz_inverse(new, initial=previous, max_iter=steps, tol=1e-14,
                                         measure_last=False)
        assert saved.iterations == measured.iterations == steps
        assert torch.equal(saved.inverse, measured.inverse)
        torch.testing.assert_close(saved.residuals, measured.residuals[:-1], rtol=0, atol=0)
        assert saved.residual_bound == float(saved.residuals[-1]) ** 2
        assert measured.residual_bound == float(measured.residuals[-1])
        assert float(measured.residuals[-1]) <= saved.residual_bound * (1 + 1e-8)
        assert saved.converged == (saved.residual_bound <= 1e-14)


def test_an_unmeasured_last_step_is_measured_when_its_start_is_not_contracting():
    """From the cold start the Frobenius residual can exceed one; then the bound would not
    hold, and the last step is measured as usual."""
    a = spd(64, 1e3, seed=11)
    cold = cv.newton_schulz_inverse(a, max_iter=1, measure_last=False)
    assert float(cold.residuals[0]) > 1 and len(cold.residuals) == 2
    assert cold.residual_bound == float(cold.residuals[-1])


def test_a_start_outside_the_basin_falls_back_to_the_cold_start():
    a = spd(8, 30.0, seed=7)
    far = 10 * torch.eye(8, dtype=torch.float64)  # ||I - B A||_F > 1
    result = cv.newton_schulz_inverse(a, initial=far, tol=1e-12)
    assert not result.warm_start and result.converged
    assert result.iterations == cv.newton_schulz_inverse(a, tol=1e-12).iterations


def test_float32_stops_at_its_rounding_floor_without_error():
    a = spd(30, 1e4, seed=8).float()
    result = cv.newton_schulz_inverse(a, tol=1e-12)  # below what float32 can reach
    assert not result.converged and torch.isfinite(result.inverse).all()
    assert float(result.residuals[-1]) < 1e-2


def test_the_vec_identity_of_the_kronecker_product():
    a, g = spd(4, 5.0, seed=9), spd(3, 7.0, seed=10)
    v = torch.randn(3, 4, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    torch.testing.assert_close(torch.kron(a, g) @ column_vec(v), column_vec(g @ v @ a),
                               rtol=0, atol=1e-12)


def test_the_factored_solve_equals_the_dense_kronecker_solve():
    """((A + l_A I) kron (G + l_G I))^{-1} vec(V) from the two inverses, by eigh or
    Newton-Schulz, against torch.linalg.solve with torch.kron."""
    a, g = spd(5, 40.0, seed=12), spd(3, 9.0, seed=13)
    v = torch.randn(3, 5, generator=torch.Generator().manual_seed(14), dtype=torch.float64)
    damp_a, damp_g = 0.2, 0.05
    dense = torch.kron(a + damp_a * torch.eye(5, dtype=torch.float64),
                       g + damp_g * torch.eye(3, dtype=torch.float64))
    expected = torch.linalg.solve(dense, column_vec(v))
    by_eigh = cv.kronecker_solve(cv.damped_inverse(a, damp_a), cv.damped_inverse(g, damp_g), v)
    torch.testing.assert_close(column_vec(by_eigh), expected, rtol=0, atol=1e-12)
    by_newton = cv.kronecker_solve(cv.newton_schulz_inverse(a, damp_a, tol=1e-13).inverse,
                                   cv.newton_schulz_inverse(g, damp_g, tol=1e-13).inverse, v)
    torch.testing.assert_close(column_vec(by_newton), expected, rtol=0, atol=1e-11)


def test_the_eigenbasis_solve_damps_the_product_exactly():
    """(A kron G + l I)^{-1} vec(V), which no product of two damped inverses gives."""
    a = cv.planted_matrix(torch.tensor([0.0, 0.5, 2.0, 6.0]), seed=15)  # singular
    g = spd(3, 20.0, seed=16)
    v = torch.randn(3, 4, generator=torch.Generator().manual_seed(17), dtype=torch.float64)
    damping = 0.1
    dense = torch.kron(a, g) + damping * torch.eye(12, dtype=torch.float64)
    result = cv.kronecker_eigen_solve(cv.SymmetricEigen.of(a), cv.SymmetricEigen.of(g), v,
                                      damping)
    torch.testing.assert_close(column_vec(result), torch.linalg.solve(dense, column_vec(v)),
                               rtol=0, atol=1e-12)
    with pytest.raises(cv.FactorError, match="not positive definite"):
        cv.kronecker_eigen_solve(cv.SymmetricEigen.of(a), cv.SymmetricEigen.of(g), v, 0.0)
    with pytest.raises(ValueError, match="Invalid matrix value: shape \\(4, 3\\)"):
        cv.kronecker_eigen_solve(cv.SymmetricEigen.of(a), cv.SymmetricEigen.of(g), v.T, damping)


def test_the_zero_matrix_is_reported():
    zero = torch.zeros(3, 3, dtype=torch.float64)
    with pytest.raises(cv.FactorError, match="not positive definite"):
        cv.newton_schulz_inverse(zero)
    torch.testing.assert_close(cv.newton_schulz_inverse(zero, 2.0).inverse,
                               0.5 * torch.eye(3, dtype=torch.float64))


def unsafe_start(n: int = 10, seed: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """A positive definite matrix and a positive definite start with eigenvalues of B A from
    0.3 to 3: ||I - B A||_F >= 1, and the full step would make B indefinite (mu >= 2)."""
    a = spd(n, 50.0, seed=seed)
    scales = torch.linspace(0.3, 3.0, n, dtype=torch.float64)
    root = torch.linalg.cholesky(torch.linalg.inv(a))  # B = L D L^T: B A ~ D
    return a, root @ torch.diag(scales) @ root.T


@pytest.mark.parametrize("rule", ["damped", "scaled"])
def test_the_shortened_steps_keep_the_start_positive_definite_and_shrink_the_residual(rule):
    """One step B' = B + eta E B from an unsafe start: I - B'A = E (I - eta T) exactly, eta
    is the rule's, B' stays positive definite, and no eigenvalue of the residual grows."""
    a, start = unsafe_start()
    eye = torch.eye(len(a), dtype=torch.float64)
    error = eye - start @ a
    assert float(torch.linalg.matrix_norm(error)) >= 1
    full = start + error @ start
    assert float(torch.linalg.eigvalsh((full + full.T) / 2)[0]) < 0  # the full step fails
    result = cv.newton_schulz_inverse(a, initial=start, max_iter=1, unsafe_start=rule)
    assert result.warm_start and result.damped_steps == 1 and result.iterations == 1
    t = eye - error
    step = error @ start  # B' - B = eta E B: the eta that was used
    eta = float((result.inverse - start).flatten() @ step.flatten() / step.square().sum())
    largest = float(torch.linalg.eigvals(t).real.max())
    if rule == "damped":
        assert eta == pytest.approx(1 / float(torch.linalg.matrix_norm(t)), rel=1e-12)
    else:  # 1 / (1.1 mu_max) with mu_max from 10 power iterations: below it, within 15%
        assert 1 / (cv.inverse.SCALED_MARGIN * largest) <= eta
        assert eta <= 1.15 / (cv.inverse.SCALED_MARGIN * largest)
    torch.testing.assert_close(eye - result.inverse @ a, error @ (eye - eta * t), rtol=0,
                               atol=1e-12)
    symmetric = (result.inverse + result.inverse.T) / 2
    assert float(torch.linalg.eigvalsh(symmetric)[0]) > 0
    before = torch.linalg.eigvals(error).abs()
    after = torch.linalg.eigvals(eye - result.inverse @ a).abs()
    assert float(after.max()) < float(before.max())


def test_the_scaled_steps_converge_from_an_unsafe_start_and_stop_returns_it():
    a, start = unsafe_start()
    scaled = cv.newton_schulz_inverse(a, initial=start, unsafe_start="scaled", tol=1e-12)
    assert scaled.converged and scaled.warm_start and scaled.damped_steps >= 1
    torch.testing.assert_close(scaled.inverse, torch.linalg.inv(a), rtol=0, atol=1e-9)
    stopped = cv.newton_schulz_inverse(a, initial=start, unsafe_start="stop")
    assert stopped.inverse is start and stopped.iterations == 0 and not stopped.warm_start
    assert float(stopped.residuals[0]) >= 1 and not stopped.converged
    cold = cv.newton_schulz_inverse(a, initial=start, tol=1e-12)
    assert not cold.warm_start and cold.damped_steps == 0 and cold.converged
    with pytest.raises(ValueError, match="Invalid unsafe_start value: 'warm'"):
        cv.newton_schulz_inverse(a, initial=start, unsafe_start="warm")
