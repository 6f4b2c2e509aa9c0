"""Lanczos and eigsh: exact Ritz values, orthonormal bases, planted spectra, breakdown."""

from __future__ import annotations

import pytest
import torch

from deepoptim import curvature as cv

from .problems import make_mlp_problem


def planted(values, seed: int = 0) -> cv.MatrixOperator:
    return cv.MatrixOperator(cv.planted_matrix(torch.as_tensor(values, dtype=torch.float64),
                                               seed=seed))


def network_operator():
    problem = make_mlp_problem()
    op = cv.HessianOperator(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                            batch_size=16, cache=True)
    truth = cv.dense_hessian(problem.model, problem.loss_fn, problem.inputs, problem.targets)
    return op, truth


#: Planted spectra: negative, repeated and clustered eigenvalues beside a bulk.
SPECTRA = {
    "negative": [-6.0, -5.0, 4.0, *torch.linspace(-1, 1, 57).tolist()],
    "repeated": [5.0, 5.0, 5.0, -3.0, -3.0, *torch.linspace(-1, 2, 55).tolist()],
    "clustered": [3.0, 3.0 - 1e-4, 3.0 - 2e-4, -2.0, -2.0 + 1e-4,
                  *torch.linspace(-1, 1, 55).tolist()],
}


def test_a_full_run_gives_the_exact_spectrum_of_the_network_hessian():
    op, truth = network_operator()
    result = cv.lanczos(op, torch.ones(op.dim, dtype=torch.float64), op.dim)
    torch.testing.assert_close(result.ritz_values()[0], torch.linalg.eigvalsh(truth),
                               rtol=0, atol=1e-12)
    basis = result.basis[0]
    torch.testing.assert_close(basis @ basis.T, torch.eye(op.dim, dtype=torch.float64),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(basis @ truth @ basis.T, result.tridiagonal()[0],
                               rtol=0, atol=1e-12)


def test_ritz_residuals_are_the_true_residuals():
    op = planted(SPECTRA["negative"])
    result = cv.lanczos(op, torch.ones(op.dim, dtype=torch.float64), 25)
    values, residuals = result.ritz_residuals()
    _, vectors = torch.linalg.eigh(result.tridiagonal()[0])
    ritz = vectors.T @ result.basis[0]
    true = (ritz @ op.matrix - values[0].unsqueeze(1) * ritz).norm(dim=1)
    torch.testing.assert_close(residuals[0], true, rtol=1e-6, atol=1e-12)


def test_without_reorthogonalization_orthogonality_is_lost_and_ghosts_appear():
    op = planted([10.0, *torch.linspace(0, 1, 199).tolist()])
    start = torch.ones(op.dim, dtype=torch.float64)
    plain = cv.lanczos(op, start, 80, reorthogonalize=False)
    full = cv.lanczos(op, start, 80)
    gram = plain.basis[0] @ plain.basis[0].T
    assert (gram - torch.eye(80, dtype=torch.float64)).abs().max() > 0.1
    assert int((plain.ritz_values()[0] > 9.999).sum()) >= 2  # ghost copies of 10
    assert int((full.ritz_values()[0] > 9.999).sum()) == 1
    gram = full.basis[0] @ full.basis[0].T
    assert (gram - torch.eye(80, dtype=torch.float64)).abs().max() < 1e-13


def test_chains_in_lock_step_equal_chains_run_alone():
    op = planted(SPECTRA["negative"])
    starts = torch.randn(4, op.dim, generator=torch.Generator().manual_seed(0),
                         dtype=torch.float64)
    together = cv.lanczos(op, starts, 30)
    for chain, start in enumerate(starts):
        alone = cv.lanczos(op, start, 30)
        torch.testing.assert_close(together.alpha[chain], alone.alpha[0], rtol=0, atol=1e-12)
        torch.testing.assert_close(together.beta[chain], alone.beta[0], rtol=0, atol=1e-12)
        torch.testing.assert_close(together.basis[chain], alone.basis[0], rtol=0, atol=1e-10)
    assert together.num_matvecs == 4 * 30


def test_breakdown_continues_in_a_fresh_direction():
    op = cv.MatrixOperator(torch.diag(torch.arange(1.0, 11.0, dtype=torch.float64)))
    start = torch.zeros(10, dtype=torch.float64)
    start[:3] = 1.0  # the Krylov space is span(e1, e2, e3): invariant after three steps
    result = cv.lanczos(op, start, 10)
    assert result.beta[0, 2] == 0.0 and (result.beta[0, :2] > 0.1).all()
    first_block = torch.linalg.eigvalsh(result.tridiagonal()[0, :3, :3])
    torch.testing.assert_close(first_block, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    torch.testing.assert_close(result.ritz_values()[0], torch.arange(1.0, 11.0,
                                                                     dtype=torch.float64))
    basis = result.basis[0]
    torch.testing.assert_close(basis @ basis.T, torch.eye(10, dtype=torch.float64),
                               rtol=0, atol=1e-14)


@pytest.mark.parametrize("spectrum", list(SPECTRA))
@pytest.mark.parametrize("which", ["LA", "SA", "LM"])
def test_eigsh_on_planted_spectra(spectrum, which):
    values = torch.tensor(SPECTRA[spectrum], dtype=torch.float64)
    op = planted(values, seed=1)
    k = 3
    result = cv.eigsh(op, k, which=which, block_size=3, tol=1e-10)
    ordered = {"LA": values.sort(descending=True).values,
               "SA": values.sort().values,
               "LM": values[values.abs().argsort(descending=True, stable=True)]}[which]
    assert result.converged
    torch.testing.assert_close(result.eigenvalues, ordered[:k], rtol=0, atol=1e-9)
    vectors = result.eigenvectors
    true_residuals = (vectors @ op.matrix - result.eigenvalues.unsqueeze(1) * vectors).norm(dim=1)
    assert (true_residuals <= 1e-9 * values.abs().max()).all()
    torch.testing.assert_close(result.residuals, true_residuals, rtol=0, atol=1e-9)
    assert (result.eigenvalues >= values.min() - 1e-12).all()
    assert (result.eigenvalues <= values.max() + 1e-12).all()


def test_single_vector_eigsh_finds_top_and_bottom_of_the_network_hessian():
    op, truth = network_operator()
    exact = torch.linalg.eigvalsh(truth)
    top = cv.eigsh(op, 4, which="LA")
    bottom = cv.eigsh(op, 2, which="SA")
    assert top.converged and bottom.converged
    torch.testing.assert_close(top.eigenvalues, exact.flip(0)[:4], rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(bottom.eigenvalues, exact[:2], rtol=1e-6, atol=1e-12)
    assert top.num_matvecs < op.dim
    assert top.history[-1] == top.eigenvalues[0]
    assert torch.equal(top.history_matvecs, torch.arange(4, len(top.history) + 4))


def test_eigsh_reports_when_the_budget_runs_out():
    op = planted(SPECTRA["clustered"])
    result = cv.eigsh(op, 3, max_steps=4, tol=1e-12)
    assert not result.converged and result.num_matvecs == 4
    assert result.eigenvalues.shape == (3,) and result.eigenvectors.shape == (3, op.dim)


def test_eigsh_from_a_given_start_and_seeds():
    op = planted(SPECTRA["negative"])
    a = cv.eigsh(op, 2, seed=5)
    b = cv.eigsh(op, 2, seed=5)
    assert torch.equal(a.eigenvalues, b.eigenvalues)
    c = cv.eigsh(op, 2, start=torch.ones(op.dim, dtype=torch.float64))
    torch.testing.assert_close(c.eigenvalues, a.eigenvalues, rtol=0, atol=1e-9)


def test_bad_arguments_are_rejected():
    op = planted([1.0, 2.0, 3.0, 4.0])
    one = torch.ones(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="Invalid num_steps value: 5"):
        cv.lanczos(op, one, 5)
    with pytest.raises(ValueError, match=r"Invalid start value: shape \(3,\)"):
        cv.lanczos(op, torch.ones(3), 2)
    with pytest.raises(ValueError, match="start block is zero"):
        cv.lanczos(op, torch.zeros(4, dtype=torch.float64), 2)
    with pytest.raises(TypeError, match="op must be a deepoptim.curvature.LinearOperator"):
        cv.lanczos(op.matrix, one, 2)
    with pytest.raises(ValueError, match="Invalid which value: 'BE'"):
        cv.eigsh(op, which="BE")
    with pytest.raises(ValueError, match="Invalid k value: 5"):
        cv.eigsh(op, 5)
    with pytest.raises(ValueError, match="Invalid max_steps value: 3"):
        cv.eigsh(op, block_size=2, max_steps=3)
    with pytest.raises(ValueError, match="Invalid start value: 1 vectors"):
        cv.eigsh(op, block_size=2, start=one)
    with pytest.raises(ValueError, match="Invalid tol value"):
        cv.eigsh(op, tol=0.0)


#: Five outliers above a bulk, like a trained network's Hessian.
OUTLIERS = [10.0, 9.0, 8.5, 8.0, 7.7, *torch.linspace(0.0, 5.0, 295).tolist()]


@pytest.mark.parametrize("tol", [1e-3, 1e-6, 1e-10])
def test_eigsh_stops_at_the_first_step_that_meets_tol_on_a_diagonal_matrix(tol):
    """On convergence each eigenvalue is within tol * max|theta| of the truth, and eigsh stops
    at the first step whose top-5 residuals pass (Ritz values from lanczos, same start)."""
    op = cv.MatrixOperator(torch.diag(torch.tensor(OUTLIERS, dtype=torch.float64)))
    truth = torch.tensor(OUTLIERS[:5], dtype=torch.float64)
    start = torch.randn(op.dim, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    result = cv.eigsh(op, 5, tol=tol, start=start)
    assert result.converged
    assert ((result.eigenvalues - truth).abs() <= tol * truth.max()).all()
    passes = []
    for steps in range(result.num_matvecs - 1, result.num_matvecs + 1):
        values, residuals = cv.lanczos(op, start, steps).ritz_residuals()
        passes.append(bool((residuals[0, -5:] <= tol * values[0].abs().max()).all()))
    assert passes == [False, True]


@pytest.mark.parametrize("spectrum", list(SPECTRA))
def test_every_ritz_value_is_within_its_residual_of_an_eigenvalue(spectrum):
    """The bound the stopping rule relies on, at every step of a run, for every Ritz value."""
    values = torch.tensor(SPECTRA[spectrum], dtype=torch.float64)
    result = cv.lanczos(planted(values, seed=2), torch.ones(len(values), dtype=torch.float64),
                        40)
    for steps in range(1, 41):
        ritz, vectors = torch.linalg.eigh(result.tridiagonal()[0, :steps, :steps])
        residuals = result.beta[0, steps - 1].abs() * vectors[-1].abs()
        errors = (ritz.unsqueeze(1) - values).abs().amin(1)
        assert (errors <= residuals + 1e-12).all(), steps


def test_eigsh_equals_a_dense_eigendecomposition_in_float64():
    op, truth = network_operator()
    exact = torch.linalg.eigvalsh(truth)
    for which, expected in (("LA", exact.flip(0)[:3]), ("SA", exact[:3])):
        result = cv.eigsh(op, 3, which=which, tol=1e-12)
        assert result.converged and result.num_matvecs < op.dim
        assert ((result.eigenvalues - expected).abs() <= 1e-12 * exact.abs().max()).all()
        vectors = result.eigenvectors
        true_residuals = (vectors @ truth - result.eigenvalues.unsqueeze(1) * vectors).norm(dim=1)
        torch.testing.assert_close(result.residuals, true_residuals, rtol=1e-5, atol=1e-13)
