"""The training loop: closures, batches, history, diagnostics, equivalence with a plain loop."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import data, train


def tiny_data(dtype=torch.float64) -> data.ClassificationData:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(60, 4, generator=generator, dtype=dtype)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return data.ClassificationData("tiny", x[:40], y[:40], x[40:], y[40:], num_classes=3)


def tiny_model(dtype=torch.float64) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)


def test_closure_backpropagates_only_with_grad_enabled():
    model, d = tiny_model(), tiny_data()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    closure = train.make_closure(model, F.cross_entropy, d.x_train, d.y_train, optimizer)
    with torch.no_grad():
        loss = closure()
    assert all(p.grad is None for p in model.parameters())
    with torch.enable_grad():
        assert closure() == loss
    first = [p.grad.clone() for p in model.parameters()]
    with torch.enable_grad():
        closure()  # gradients are zeroed first, not accumulated
    assert all(torch.equal(a, p.grad) for a, p in zip(first, model.parameters(), strict=True))


def test_minibatches_cover_every_sample_once_per_epoch():
    batches = train.minibatches(10, 3, torch.Generator().manual_seed(0))
    epoch = torch.cat([next(batches) for _ in range(3)])  # 3 full batches, the rest dropped
    assert len(set(epoch.tolist())) == 9
    full = train.minibatches(10, None, torch.Generator())
    assert torch.equal(next(full), torch.arange(10))


def test_train_equals_a_plain_loop_with_the_same_batches():
    d = tiny_data()
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = train.train(model, optimizer, d, steps=12, batch_size=8, seed=5, progress=False)

    reference = tiny_model()
    ref_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    batches = train.minibatches(d.num_train, 8, torch.Generator().manual_seed(5))
    losses = []
    for _ in range(12):
        index = next(batches)
        ref_optimizer.zero_grad()
        loss = F.cross_entropy(reference(d.x_train[index]), d.y_train[index])
        loss.backward()
        ref_optimizer.step()
        losses.append(loss.item())
    assert [s["loss"] for s in history.steps] == losses
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_history_records_evaluations_and_steps():
    d = tiny_data()
    model = tiny_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = train.train(model, optimizer, d, steps=10, batch_size=None, eval_every=4,
                          progress=False)
    assert [e["step"] for e in history.evals] == [0, 4, 8, 10]
    assert [s["step"] for s in history.steps] == list(range(1, 11))
    assert history.steps_frame()["lr"].eq(0.01).all()
    loss, acc = train.evaluate(model, d.x_test, d.y_test)
    assert history.final()["test_loss"] == pytest.approx(loss)
    assert history.final()["test_acc"] == acc
    assert history.final()["diverged"] is False


def test_same_seed_gives_the_same_run():
    def run():
        model = tiny_model()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        history = train.train(model, optimizer, tiny_data(), steps=5, batch_size=4, seed=3,
                              progress=False)
        return [s["loss"] for s in history.steps], [p.detach() for p in model.parameters()]

    (losses, params), (losses_again, params_again) = run(), run()
    assert losses == losses_again
    assert all(torch.equal(p, q) for p, q in zip(params, params_again, strict=True))


class DiagnosticSGD(torch.optim.SGD):
    """SGD that keeps diagnostics the way the package's optimizers do."""

    def step(self, closure=None):
        loss = super().step(closure)
        self.state["diagnostics"] = {"evaluations": 1, "step_size": torch.tensor([0.1, 0.2])}
        return loss


def test_optimizer_diagnostics_are_recorded_per_step():
    model = tiny_model()
    optimizer = DiagnosticSGD(model.parameters(), lr=0.1)
    history = train.train(model, optimizer, tiny_data(), steps=2, batch_size=4, progress=False)
    assert history.steps[-1]["evaluations"] == 1.0
    assert history.steps[-1]["step_size[1]"] == pytest.approx(0.2)
    assert train.optimizer_diagnostics(torch.optim.SGD(tiny_model().parameters(), lr=1)) == {}


def test_divergence_stops_training_and_is_flagged():
    model = nn.Linear(4, 3).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e3)  # far above 2 / curvature

    def squared_logits(logits, targets):
        return (logits**2).mean()

    history = train.train(model, optimizer, tiny_data(), steps=1000, batch_size=None,
                          loss_fn=squared_logits, progress=False)
    assert history.diverged
    assert len(history.steps) < 1000
    assert not math.isfinite(history.steps[-1]["loss"])


def test_evaluate_restores_the_training_mode():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5)).double()
    d = tiny_data()
    model.train()
    train.evaluate(model, d.x_test, d.y_test)
    assert model.training


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(steps=0), ValueError, "Invalid steps value"),
    (dict(steps=1, batch_size=0), ValueError, "Invalid batch_size value"),
    (dict(steps=1, eval_every=0), ValueError, "Invalid eval_every value"),
    (dict(steps=10.0), TypeError, "steps must be an int, got float"),
    (dict(steps=1, batch_size=True), TypeError, "batch_size must be an int, got bool"),
])
def test_bad_arguments_are_rejected(kwargs, error, match):
    model = tiny_model()
    with pytest.raises(error, match=match):
        train.train(model, torch.optim.SGD(model.parameters(), lr=0.1), tiny_data(), **kwargs)


def test_minimize_follows_gradient_descent_in_closed_form():
    quad = data.quadratic(dim=5, condition_number=10.0, seed=1)
    eta = quad.optimal_step_size
    start = torch.zeros(5, dtype=torch.float64)
    path, values = train.minimize(quad, start, lambda p: torch.optim.SGD(p, lr=eta), 6)
    x = start.clone()
    for t in range(1, 7):
        x = x - eta * quad.gradient(x)
        torch.testing.assert_close(path[t], x)
    torch.testing.assert_close(values, quad(path))
    assert torch.equal(path[0], start)


@pytest.mark.parametrize("steps, error, match", [
    (0, ValueError, "Invalid steps value: 0"), (2.0, TypeError, "steps must be an int, got float"),
])
def test_minimize_rejects_bad_steps(steps, error, match):
    quad = data.quadratic(dim=2)
    with pytest.raises(error, match=match):
        train.minimize(quad, torch.zeros(2, dtype=torch.float64), torch.optim.SGD, steps)


def test_line_search_diagnostics_and_an_independent_search_batch():
    from deepoptim.optim import SLS

    runs = {}
    for mode in ("same", "independent"):
        model = tiny_model()
        optimizer = SLS(model.parameters(), init_step_size=5.0)
        runs[mode] = train.train(model, optimizer, tiny_data(), steps=6, batch_size=8,
                                 search_batch=mode, progress=False).steps_frame()
    same, independent = runs["same"], runs["independent"]
    assert same.loss[0] == independent.loss[0]  # the gradient batches are the same
    assert (same.loss_evals == 1 + same.trials).all()
    assert (independent.loss_evals == 2 + independent.trials).all()  # + f_B at the start
    assert {"step_size", "trials", "searched", "failed", "backward_passes"} <= set(same)


class _RecordBatches(torch.optim.Optimizer):
    """Takes no step; records the losses of the closure and the search closure at the start."""

    def __init__(self, params):
        super().__init__(params, {"lr": 0.0})
        self.pairs = []

    def step(self, closure, search_closure=None):
        loss = closure()
        with torch.no_grad():
            self.pairs.append((float(loss), float(search_closure())))
        return loss


@pytest.mark.parametrize("seed", [0, 7])
def test_independent_search_batches_differ_from_the_gradient_batches(seed):
    # regression: a seed offset of 2**32 gave the same stream (torch keeps 32 bits of a seed)
    model = tiny_model()
    recorder = _RecordBatches(model.parameters())
    train.train(model, recorder, tiny_data(), steps=10, batch_size=8, seed=seed,
                search_batch="independent", progress=False)
    assert sum(a != b for a, b in recorder.pairs) >= 8


@pytest.mark.parametrize("kwargs, match", [
    (dict(search_batch="other"), "Invalid search_batch value: 'other'"),
    (dict(search_batch="independent", batch_size=None), "needs mini-batches"),
])
def test_bad_search_batch_is_rejected(kwargs, match):
    model = tiny_model()
    with pytest.raises(ValueError, match=match):
        train.train(model, torch.optim.SGD(model.parameters(), lr=0.1), tiny_data(), steps=1,
                    **kwargs)


def test_callback_sees_every_checkpoint_and_is_not_timed():
    d = tiny_data()
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []

    def callback(step, seen_model, seen_optimizer):
        assert seen_model is model and seen_optimizer is optimizer
        seen.append((step, model[0].weight.detach().clone()))

    history = train.train(model, optimizer, d, steps=3, batch_size=8, progress=False,
                          callback=callback)
    assert [step for step, _ in seen] == [0, 1, 2, 3]
    assert not torch.equal(seen[0][1], seen[1][1])
    assert torch.equal(seen[-1][1], model[0].weight)
    reference = tiny_model()
    plain = train.train(reference, torch.optim.SGD(reference.parameters(), lr=0.1), d, steps=3,
                        batch_size=8, progress=False)
    assert [s["loss"] for s in history.steps] == [s["loss"] for s in plain.steps]
