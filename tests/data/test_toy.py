import math

import pytest
import torch
from torch.autograd.functional import hessian

from deepoptim.data import gaussian_mixture, quadratic, rosenbrock, rosenbrock_minimizer


@pytest.fixture(scope="module")
def problem():
    return quadratic(dim=6, condition_number=50.0, min_value=1.5, seed=3)


def test_quadratic_gradient_matches_autograd(problem):
    x = torch.randn(6, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(problem(x), x)
    torch.testing.assert_close(problem.gradient(x.detach()), expected, rtol=1e-12, atol=1e-12)


def test_quadratic_hessian_matches_autograd(problem):
    x = torch.randn(6, dtype=torch.float64)
    torch.testing.assert_close(hessian(problem, x), problem.hessian, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(problem.hessian, problem.hessian.T, rtol=0, atol=0)


def test_quadratic_minimizer(problem):
    x_star = problem.minimizer
    assert torch.count_nonzero(problem.gradient(x_star)) == 0
    assert problem(x_star).item() == 1.5 == problem.min_value


def test_quadratic_accepts_a_batch(problem):
    points = torch.randn(4, 6, dtype=torch.float64)
    values = torch.stack([problem(point) for point in points])
    torch.testing.assert_close(problem(points), values, rtol=1e-12, atol=0)
    assert problem.gradient(points).shape == (4, 6)


def test_quadratic_eigenvalues_span_the_condition_number(problem):
    eigenvalues = problem.eigenvalues
    assert eigenvalues[0].item() == 1.0 and eigenvalues[-1].item() == pytest.approx(50.0, 1e-14)
    ratios = eigenvalues[1:] / eigenvalues[:-1]  # log-spaced: constant ratio 50**(1/5)
    torch.testing.assert_close(ratios, torch.full_like(ratios, 50.0 ** (1 / 5)))
    torch.testing.assert_close(torch.linalg.eigvalsh(problem.hessian), eigenvalues)
    assert problem.condition_number == pytest.approx(50.0)
    assert (
        repr(problem) == "Quadratic(dim=6, condition_number=50, min_value=1.5, dtype=torch.float64)"
    )


def test_quadratic_step_sizes_govern_gradient_descent(problem):
    assert problem.optimal_step_size == pytest.approx(2 / 51)
    assert problem.stability_limit == pytest.approx(2 / 50)

    def error_after(step, iterations=100):
        x = problem.minimizer + 1.0
        for _ in range(iterations):
            x = x - step * problem.gradient(x)
        return (x - problem.minimizer).norm().item()

    start = math.sqrt(6)
    rate = 49 / 51  # (kappa - 1) / (kappa + 1)
    assert error_after(problem.optimal_step_size) <= start * rate**100 * (1 + 1e-9)
    assert error_after(0.95 * problem.stability_limit) < start
    assert error_after(1.05 * problem.stability_limit) > start


def test_quadratic_is_seeded_and_takes_dtype():
    first, again = quadratic(dim=4, seed=1), quadratic(dim=4, seed=1)
    assert torch.equal(first.hessian, again.hessian)
    assert torch.equal(first.minimizer, again.minimizer)
    assert not torch.equal(first.minimizer, quadratic(dim=4, seed=2).minimizer)
    single = quadratic(dim=4, seed=1, dtype=torch.float32, device="meta")
    assert single.hessian.dtype == torch.float32 and single.minimizer.device.type == "meta"
    assert quadratic(dim=1).eigenvalues.tolist() == [1.0]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"dim": 0}, ValueError, "Invalid dim value: 0"),
        ({"dim": 2.0}, TypeError, "dim must be an int, got float"),
        ({"condition_number": 0.5}, ValueError, "Invalid condition_number value: 0.5"),
        ({"condition_number": math.inf}, ValueError, "Invalid condition_number value: inf"),
        ({"condition_number": True}, TypeError, "condition_number must be a real number"),
        ({"seed": -2}, ValueError, "Invalid seed value: -2"),
        ({"dtype": torch.int64}, ValueError, "Invalid dtype value: torch.int64"),
    ],
)
def test_quadratic_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        quadratic(**kwargs)


def test_quadratic_rejects_wrong_shape(problem):
    with pytest.raises(ValueError, match=r"Invalid x value: a tensor of shape \(5,\)"):
        problem(torch.zeros(5, dtype=torch.float64))


@pytest.mark.parametrize("dim", [2, 5])
def test_rosenbrock_minimum(dim):
    x = rosenbrock_minimizer(dim).requires_grad_()
    value = rosenbrock(x)
    (gradient,) = torch.autograd.grad(value, x)
    assert value.item() == 0.0 and torch.count_nonzero(gradient) == 0
    assert rosenbrock(torch.zeros(dim)).item() == dim - 1  # each (a - x_i)^2 term is 1


def test_rosenbrock_known_value_and_batch():
    x = torch.tensor([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    expected = 100 * (1.0 - 0.25) ** 2 + 0.25 + 100 * (2.0 - 1.0) ** 2 + 0.0
    torch.testing.assert_close(rosenbrock(x), torch.tensor([expected, 0.0], dtype=torch.float64))


def test_rosenbrock_bad_arguments():
    with pytest.raises(ValueError, match=r"Invalid x value: a tensor of shape \(1,\)"):
        rosenbrock(torch.zeros(1))
    with pytest.raises(ValueError, match="Invalid dim value: 1"):
        rosenbrock_minimizer(1)


def test_ring_mixture_centres_and_labels():
    data = gaussian_mixture("ring", n_samples=400, n_components=8, radius=2.0, std=0.05, seed=1)
    assert data.num_classes == 8 and (data.num_train, data.num_test) == (320, 80)
    assert data.x_train.shape == (320, 2) and data.x_train.dtype == torch.float32
    torch.testing.assert_close(data.centers.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.atan2(data.centers[:, 1], data.centers[:, 0]).double()
    torch.testing.assert_close(
        angles.remainder(2 * math.pi), torch.arange(8.0).double() * math.pi / 4
    )
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert (x - data.centers[y]).norm(dim=1).max() < 6 * 0.05
    assert data.y_train.unique().tolist() == list(range(8))


def test_grid_mixture_centres():
    data = gaussian_mixture("grid", n_components=9, radius=1.0, n_samples=50)
    grid = torch.tensor([-1.0, 0.0, 1.0])
    torch.testing.assert_close(data.centers, torch.cartesian_prod(grid, grid))
    assert (data.x_train - data.centers[data.y_train]).norm(dim=1).max() < 0.3


def test_mixture_is_seeded_and_samples_more():
    first, again = gaussian_mixture(seed=4, n_samples=100), gaussian_mixture(seed=4, n_samples=100)
    assert torch.equal(first.x_train, again.x_train)
    assert not torch.equal(first.x_train, gaussian_mixture(seed=5, n_samples=100).x_train)
    x, y = first.sample(7, generator=torch.Generator().manual_seed(0))
    x_again, _ = first.sample(7, generator=torch.Generator().manual_seed(0))
    assert x.shape == (7, 2) and y.shape == (7,) and torch.equal(x, x_again)
    moved = first.to("meta", dtype=torch.float64)
    assert moved.centers.dtype == torch.float64 and moved.centers.device.type == "meta"
    assert "centers=(8, 2)" in repr(first)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"kind": "spiral"}, ValueError, "Invalid kind value: 'spiral'.*'ring', 'grid'"),
        ({"kind": "grid", "n_components": 8}, ValueError, "Invalid n_components value: 8"),
        ({"n_components": 1}, ValueError, "Invalid n_components value: 1"),
        ({"n_samples": 1}, ValueError, "Invalid n_samples value: 1"),
        ({"n_samples": 100.0}, TypeError, "n_samples must be an int, got float"),
        ({"std": 0.0}, ValueError, "Invalid std value: 0.0"),
        ({"std": math.nan}, ValueError, "Invalid std value: nan"),
        ({"radius": -1.0}, ValueError, "Invalid radius value: -1.0"),
        ({"radius": "2"}, TypeError, "radius must be a real number, got str"),
        ({"test_fraction": 1.0}, ValueError, "Invalid test_fraction value: 1.0"),
        ({"n_samples": 3, "test_fraction": 0.1}, ValueError, "Invalid test_fraction value: 0.1"),
    ],
)
def test_mixture_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        gaussian_mixture(**kwargs)
