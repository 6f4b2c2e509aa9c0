"""Natural-parameter continuation and NPACS: the lambda schedule and its bounds, the secant
predictor (exact on a linear path), the adaptive rule, the optimizer's state kept or reset,
Adam, RMSprop and a line search through the one loop, and bad input refused."""

import math

import pytest
import torch

from deepoptim import train
from deepoptim.continuation import Homotopy, LinearSchedule, NaturalContinuation, adapt_delta
from deepoptim.optim import SLS
from train.problems import Regression

from .problems import LinearPath, Theta, homotopy_mlp

RULE = dict(window=3, delta_min=0.01, delta_max=0.1, norm_strict=0.05, norm_cap=0.25)


def test_natural_continuation_takes_fixed_steps_every_few_corrector_steps():
    model, homotopy = homotopy_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    task = NaturalContinuation(Regression(), homotopy, lam0=0.1, delta=0.3, every=3,
                               secant=False, adaptive=False)
    history = train.fit(task, model, optimizer, steps=14, eval_every=7, progress=False)
    frame = history.steps_frame()
    assert list(frame) == ["step", "loss", "lambda", "delta_lambda", "lr", "time"]
    lams = [0.1, 0.1 + 0.3, 0.1 + 0.3 + 0.3, 1.0, 1.0]  # the last increment is cut at 1
    assert frame["lambda"].tolist() == [lams[(t - 1) // 3] for t in range(1, 15)]
    assert frame["delta_lambda"].tolist() == [
        lams[t // 3] - lams[t // 3 - 1] if t % 3 == 0 and t <= 9 else 0.0 for t in range(1, 15)]
    assert [e["lambda"] for e in history.evals] == [0.1, lams[2], 1.0]
    assert all(int(state["step"]) == 14 for state in optimizer.state.values())  # state kept


def test_the_optimizer_state_can_be_reset_at_every_lambda_step():
    model, homotopy = homotopy_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    task = NaturalContinuation(Regression(), homotopy, lam0=0.1, delta=0.3, every=3,
                               secant=False, adaptive=False, reset_state=True)
    train.fit(task, model, optimizer, steps=14, progress=False)
    assert all(int(state["step"]) == 5 for state in optimizer.state.values())  # since step 9


def _linear_path_run(every, secant, steps=20):
    """SGD with lr 1 (one step solves each problem) along the linear path; the loss records
    and the distance to the path right after every prediction."""
    homotopy = Homotopy()
    problem, model = LinearPath(homotopy), Theta()
    task = NaturalContinuation(problem, homotopy, lam0=0.0, delta=0.15, every=every,
                               secant=secant, adaptive=False, secant_scale="ratio")
    distances = []

    def after(step, model, _):
        if step and step % every == 0 and homotopy.lam < 1:
            offset = model.theta.detach() - problem.solution(homotopy.lam)
            distances.append(float(offset.abs().max()))

    history = train.fit(task, model, torch.optim.SGD(model.parameters(), lr=1.0), steps=steps,
                        callback=after, progress=False)
    return history, distances


@pytest.mark.parametrize("every", [1, 2])
def test_the_secant_predictor_is_exact_on_a_linear_path(every):
    history, distances = _linear_path_run(every, secant=True)
    assert len(distances) == 6  # lambda 0.15, ..., 0.9, then 1
    assert distances[0] > 0.1  # the first step is natural: no previous point
    assert max(distances[1:]) < 1e-14  # every later prediction lands on the path
    # the loss recorded at the first step on each new problem is the predicted point's
    losses = [s["loss"] for s in history.steps]
    firsts = [losses[t] for t in range(2 * every, 6 * every + 1, every)]
    assert max(firsts) < 1e-28
    assert history.steps[-1]["lambda"] == 1.0
    _, natural = _linear_path_run(every, secant=False)  # without the predictor: off the path
    assert min(natural) > 0.1


def test_the_fixed_secant_scale_is_the_reference_constant():
    homotopy = Homotopy()
    task = NaturalContinuation(LinearPath(homotopy), homotopy, lam0=0.0, delta=0.1, every=1,
                               adaptive=False)  # the default: the authors' constant 0.4
    model = Theta()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    train.fit(task, model, optimizer, steps=2, progress=False)
    corrected = task.previous[1][0]  # theta at lambda 0.1; the one before: a = theta(0)
    expected = corrected + 0.4 * (corrected - task.task.solution(0.0))
    torch.testing.assert_close(model.theta.detach(), expected, rtol=0, atol=1e-15)


def test_adaptive_steps_stay_in_their_bounds_and_lambda_ends_exactly_at_one():
    model, homotopy = homotopy_mlp(torch.nn.ReLU)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    task = NaturalContinuation(Regression(), homotopy, lam0=0.01, delta=0.02, every=2,
                               delta_min=0.01, delta_max=0.1, window=4, norm_cap=10.0)
    history = train.fit(task, model, optimizer, steps=250, progress=False)
    lams = [s["lambda"] for s in history.steps]
    deltas = [s["delta_lambda"] for s in history.steps if s["delta_lambda"]]
    assert lams == sorted(lams) and max(lams) == 1.0 and lams[-1] == 1.0
    # (the increments taken, differences of floats: within rounding of the bounds)
    assert all(0.01 - 1e-15 <= d <= 0.1 + 1e-15 for d in deltas[:-1])
    assert 0 < deltas[-1] <= 0.1 + 1e-15
    assert len(set(round(d, 12) for d in deltas[:-1])) > 1  # the rule did change the step
    assert all(math.isfinite(s["grad_norm"]) for s in history.steps if s["lambda"] < 1)
    assert "grad_norm" not in history.steps[-1]  # ordinary training after lambda = 1


@pytest.mark.parametrize(("norms", "expected"), [
    ([1.0, 1.0, 1.0, 0.1, 0.1, 0.1], 0.06),   # fell: x1.5
    ([0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 0.04),   # flat: unchanged
    ([0.1, 0.1, 0.1, 0.2, 0.2, 0.2], 0.02),   # rose: /2
    ([0.1, 0.1, 0.1, 0.1, 0.1, 0.3], 0.01),   # rose and one norm >= cap: /2 twice, floored
    ([0.9, 0.9, 0.9, 0.1, 0.1, 0.3], 0.03),   # fell (x1.5) then capped (/2)
    ([0.0, 0.2, 0.2, 0.2], 0.04),             # previous window mean 0: the reference's 0.2
])
def test_the_adaptive_rule(norms, expected):
    assert math.isclose(adapt_delta(0.04, norms, **RULE), expected)


def test_the_adaptive_rule_respects_its_maximum_and_needs_a_full_window():
    assert adapt_delta(0.09, [1.0, 1.0, 1.0, 0.1, 0.1, 0.1], **RULE) == 0.1
    with pytest.raises(ValueError, match="Invalid norms value: 3 norms"):
        adapt_delta(0.04, [1.0, 1.0, 1.0], **RULE)


def test_the_linear_schedule_reaches_one_exactly_at_its_last_step():
    model, homotopy = homotopy_mlp()
    task = LinearSchedule(Regression(), homotopy, 7, lam0=0.3)
    history = train.fit(task, model, torch.optim.Adam(model.parameters()), steps=10,
                        progress=False)
    lams = [s["lambda"] for s in history.steps]
    assert lams[0] == 0.3 and lams[7:] == [1.0, 1.0, 1.0]
    assert all(math.isclose(lams[t], 0.3 + 0.7 * t / 7) for t in range(7))
    assert lams == sorted(lams) and max(lams) == 1.0


@pytest.mark.parametrize("make", [
    lambda m: torch.optim.Adam(m.parameters(), lr=0.02),
    lambda m: torch.optim.RMSprop(m.parameters(), lr=0.005),
    lambda m: SLS(m.parameters()),
], ids=["Adam", "RMSprop", "SLS"])
@pytest.mark.parametrize("method", ["npc", "npacs", "linear"])
def test_optimizers_train_through_the_continuation(make, method):
    model, homotopy = homotopy_mlp()
    optimizer = make(model)
    task = {"npc": lambda: NaturalContinuation(Regression(), homotopy, every=2, delta=0.05,
                                               secant=False, adaptive=False),
            "npacs": lambda: NaturalContinuation(Regression(), homotopy, every=5, delta=0.1,
                                                 delta_min=0.05, delta_max=0.2, window=5,
                                                 norm_cap=100.0),
            "linear": lambda: LinearSchedule(Regression(), homotopy, 40)}[method]()
    history = train.fit(task, model, optimizer, steps=120, progress=False)
    assert not history.diverged and history.steps[-1]["lambda"] == 1.0
    assert history.evals[-1]["train_loss"] < 0.5 * history.evals[0]["train_loss"]
    if isinstance(optimizer, SLS):
        assert sum(s["searched"] for s in history.steps) > 0


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(lam0=1.5), ValueError, "Invalid lam0 value: 1.5"),
    (dict(lam0=math.nan), ValueError, "Invalid lam0 value: nan"),
    (dict(delta=0.0), ValueError, "Invalid delta value: 0.0"),
    (dict(delta=-0.01), ValueError, "Invalid delta value: -0.01"),
    (dict(delta_min=0.05, delta_max=0.01), ValueError, "Invalid delta_min value: 0.05"),
    (dict(delta=0.5), ValueError, "Invalid delta value: 0.5 \\(expected delta_min"),
    (dict(every=0), ValueError, "Invalid every value: 0"),
    (dict(every=2.0), TypeError, "every must be an int, got float"),
    (dict(window=0), ValueError, "Invalid window value: 0"),
    (dict(secant_scale="constant"), ValueError, "Invalid secant_scale value: 'constant'"),
    (dict(secant_scale=0.0), ValueError, "Invalid secant_scale value: 0.0"),
    (dict(secant=1), TypeError, "secant must be a bool, got int"),
    (dict(reset_state="yes"), TypeError, "reset_state must be a bool, got str"),
])
def test_bad_arguments_are_refused_before_any_work(kwargs, error, match):
    homotopy = Homotopy(0.5)
    with pytest.raises(error, match=match):
        NaturalContinuation(Regression(), homotopy, **kwargs)
    assert homotopy.lam == 0.5  # untouched


def test_bad_tasks_and_schedules_are_refused():
    with pytest.raises(TypeError, match="task must be a Task, got ABCMeta"):
        NaturalContinuation(Regression, Homotopy())  # the class, not a task
    with pytest.raises(TypeError, match="homotopy must be a Homotopy, got float"):
        NaturalContinuation(Regression(), 0.0)
    with pytest.raises(ValueError, match="Invalid steps value: 0"):
        LinearSchedule(Regression(), Homotopy(), 0)
    with pytest.raises(ValueError, match="Invalid lam0 value: -0.5"):
        LinearSchedule(Regression(), Homotopy(), 5, lam0=-0.5)
