"""Pseudo-arclength continuation: the secant predictor (parameter part of length
Delta s, lambda part the last lambda step), the joint descent on lambda with the derivative of
the loss and the multiplier's term, the ascent on mu, Adam, RMSprop and a line search through
the one loop, and bad input refused."""

import math

import pytest
import torch

from deepoptim import train
from deepoptim.continuation import Homotopy, PseudoArclength
from deepoptim.optim import SLS
from train.problems import Regression

from .problems import LinearPath, Theta, homotopy_mlp

OPTIONS = dict(lam0=0.0, delta=0.1, arc_length=0.3, warmup=2, ascent_period=2,
               descent_period=3, lambda_lr=0.05, ascent_lr=0.5, delta_min=0.01)


def _traced_run(steps=120):
    """PARC on the linear path with SGD; per step the state before it and the task's state."""
    homotopy = Homotopy()
    problem, model = LinearPath(homotopy), Theta()
    task = PseudoArclength(problem, homotopy, **OPTIONS)
    trace = []

    def after(step, model, _):
        trace.append(dict(lam=homotopy.lam, theta=model.theta.detach().clone(),
                          point=task.point, guess=task.guess, mu=task.mu))

    history = train.fit(task, model, torch.optim.SGD(model.parameters(), lr=0.3), steps=steps,
                        callback=after, progress=False)
    return problem, history, trace


def test_the_secant_predictor_and_the_joint_descent_follow_the_notes():
    problem, history, trace = _traced_run()
    records = history.steps
    assert records[-1]["lambda"] == 1.0 and not history.diverged
    predictions = [t for t in range(1, len(trace)) if trace[t]["point"] is not trace[t - 1][
        "point"]]
    assert predictions[0] == OPTIONS["warmup"]  # the natural step, after the warm-up
    assert trace[predictions[0]]["lam"] == 0.1 and trace[predictions[0]]["guess"] is None
    secants = 0
    for k, t in enumerate(predictions[1:], start=1):
        (lam_k, [theta_k]), (lam_prev, [theta_prev]) = (trace[t]["point"],
                                                        trace[predictions[k - 1]]["point"])
        guess = trace[t]["guess"]
        if guess is None:  # the last secant, cut at lambda = 1
            assert trace[t]["lam"] == 1.0
            continue
        secants += 1
        direction = (theta_k - theta_prev) / torch.linalg.vector_norm(theta_k - theta_prev)
        torch.testing.assert_close(guess["t_theta"][0], OPTIONS["arc_length"] * direction,
                                   rtol=0, atol=1e-14)
        assert math.isclose(guess["t_lam"], max(lam_k - lam_prev, OPTIONS["delta_min"]))
        assert records[t - 1]["floored"] == float(lam_k - lam_prev < OPTIONS["delta_min"])
        assert torch.equal(guess["theta"][0], trace[t]["theta"])
        torch.testing.assert_close(trace[t]["theta"], theta_k + guess["t_theta"][0], rtol=0,
                                   atol=1e-15)
        assert guess["lam"] == trace[t]["lam"] == lam_k + guess["t_lam"]
    assert secants >= 2
    descents = 0
    for t in range(1, len(trace)):
        before, now, guess = trace[t - 1], trace[t], trace[t - 1]["guess"]
        if guess is None or t in predictions or before["lam"] == 1.0:
            continue
        descents += 1
        residual = before["theta"] - problem.solution(before["lam"])
        dlam = -float(residual @ problem.b)  # dJ/dlam at the step's start
        mu = records[t - 1]["mu"]  # step t
        if (t - 1 - OPTIONS["warmup"]) % OPTIONS["descent_period"] == 0:  # a round's start
            offset = float((before["theta"] - guess["theta"][0]) @ guess["t_theta"][0])
            n = offset + (before["lam"] - guess["lam"]) * guess["t_lam"]
            assert math.isclose(mu, before["mu"] + OPTIONS["ascent_lr"] * n, abs_tol=1e-15)
        expected = before["lam"] - OPTIONS["lambda_lr"] * (dlam + mu * guess["t_lam"])
        assert math.isclose(now["lam"], min(1.0, max(0.0, expected)), abs_tol=1e-15)
        # theta: one SGD step on J + mu N, whose gradient is residual + mu t_theta
        torch.testing.assert_close(
            now["theta"], before["theta"] - 0.3 * (residual + mu * guess["t_theta"][0]),
            rtol=0, atol=1e-14)
    assert descents >= 6
    assert any(r["mu"] != 0 for r in records)


@pytest.mark.parametrize("make", [
    lambda m: torch.optim.Adam(m.parameters(), lr=0.02),
    lambda m: torch.optim.RMSprop(m.parameters(), lr=0.005),
    lambda m: SLS(m.parameters()),
], ids=["Adam", "RMSprop", "SLS"])
def test_optimizers_train_through_pseudo_arclength_continuation(make):
    model, homotopy = homotopy_mlp()
    optimizer = make(model)
    task = PseudoArclength(Regression(), homotopy, lam0=0.01, delta=0.1, warmup=5,
                           ascent_period=2, descent_period=3, arc_length=0.05,
                           lambda_lr=0.01, delta_min=0.05)
    history = train.fit(task, model, optimizer, steps=150, progress=False)
    assert not history.diverged and history.steps[-1]["lambda"] == 1.0
    assert history.evals[-1]["train_loss"] < 0.5 * history.evals[0]["train_loss"]
    assert homotopy.variable is None  # no lambda tracking in ordinary training
    if isinstance(optimizer, SLS):
        assert sum(s["searched"] for s in history.steps) > 0


class OwnStep(Regression):
    def step(self, model, optimizer, batch, search_batch):
        return super().step(model, optimizer, batch, search_batch)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(arc_length=0.0), ValueError, "Invalid arc_length value: 0.0"),
    (dict(delta=-1.0), ValueError, "Invalid delta value: -1.0"),
    (dict(delta_min=0.0), ValueError, "Invalid delta_min value: 0.0"),
    (dict(lambda_lr=-0.1), ValueError, "Invalid lambda_lr value: -0.1"),
    (dict(ascent_lr=math.nan), ValueError, "Invalid ascent_lr value: nan"),
    (dict(warmup=0), ValueError, "Invalid warmup value: 0"),
    (dict(descent_period=0), ValueError, "Invalid descent_period value: 0"),
    (dict(ascent_period=1.5), TypeError, "ascent_period must be an int, got float"),
    (dict(lam0=2.0), ValueError, "Invalid lam0 value: 2.0"),
    (dict(task=OwnStep()), TypeError, "task must be a Task with the default step"),
])
def test_bad_arguments_are_refused_before_any_work(kwargs, error, match):
    homotopy = Homotopy(0.5)
    arguments = dict(task=Regression()) | kwargs
    with pytest.raises(error, match=match):
        PseudoArclength(arguments.pop("task"), homotopy, **arguments)
    assert homotopy.lam == 0.5
