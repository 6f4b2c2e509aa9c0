import pytest

from .problems import Problem, make_batchnorm_problem, make_mlp_problem


@pytest.fixture
def mlp_problem() -> Problem:
    return make_mlp_problem()


@pytest.fixture
def batchnorm_problem() -> Problem:
    return make_batchnorm_problem()
