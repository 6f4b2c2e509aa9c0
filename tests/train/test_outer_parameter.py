"""An outer parameter in the same loop: a task wrapper that raises a homotopy's lambda from 0
to 1 between optimizer steps (natural-parameter continuation), records lambda and its
increment, keeps or resets the optimizer's state, and resumes from a checkpoint as if the run
had never stopped, around any optimizer (Adam, a line search)."""


import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import train
from deepoptim.optim import SLS

from .problems import Regression, checkpoint, without_time

DTYPE = torch.float64


class HomotopyNet(nn.Module):
    """A 1-8-1 network with ``sigma_lam(v) = (1 - lam) v + lam tanh(v)``; ``lam`` a buffer."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.hidden, self.out = nn.Linear(1, 8).to(DTYPE), nn.Linear(8, 1).to(DTYPE)
        self.register_buffer("lam", torch.tensor(0.0, dtype=DTYPE))

    def forward(self, x):
        v = self.hidden(x)
        return self.out((1 - self.lam) * v + self.lam * torch.tanh(v))


class Continuation(train.Task):
    """Any task at the model's ``lam``; after every ``every`` steps, ``lam += delta`` (up to 1).

    Records the ``lambda`` a step was taken at and the increment ``delta_lambda`` that followed
    it; optionally clears the optimizer's state at every increment.
    """

    def __init__(self, task, every, delta, reset_state=False) -> None:
        self.task, self.every, self.delta, self.reset_state = task, every, delta, reset_state
        self.steps_taken = 0

    def batches(self, generator):
        return self.task.batches(generator)

    def loss(self, model, batch):
        return self.task.loss(model, batch)

    def evaluate(self, model):
        return {**self.task.evaluate(model), "lambda": float(model.lam)}

    def step(self, model, optimizer, batch, search_batch):
        records = self.task.step(model, optimizer, batch, search_batch)
        lam = float(model.lam)
        self.steps_taken += 1
        if self.steps_taken % self.every == 0 and lam < 1:
            model.lam.fill_(min(1.0, lam + self.delta))
            if self.reset_state:
                optimizer.state.clear()
        return {**records, "lambda": lam, "delta_lambda": float(model.lam) - lam}

    def state_dict(self):
        return {"steps_taken": self.steps_taken}

    def load_state_dict(self, state):
        self.steps_taken = state["steps_taken"]


def test_lambda_and_its_increments_are_recorded_and_the_state_is_kept():
    model = HomotopyNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    history = train.fit(Continuation(Regression(), every=3, delta=0.25), model, optimizer,
                        steps=16, seed=1, eval_every=6, progress=False)
    frame = history.steps_frame()
    assert list(frame) == ["step", "loss", "lambda", "delta_lambda", "lr", "time"]
    expected = [min(1.0, 0.25 * ((t - 1) // 3)) for t in range(1, 17)]
    assert frame["lambda"].tolist() == expected
    assert frame["delta_lambda"].tolist() == [0.25 if t % 3 == 0 and t <= 12 else 0.0
                                              for t in range(1, 17)]
    assert [(e["step"], e["lambda"]) for e in history.evals] == [(0, 0.0), (6, 0.5), (12, 1.0),
                                                                 (16, 1.0)]
    assert all(int(state["step"]) == 16 for state in optimizer.state.values())

    reference = HomotopyNet()  # the same run written out by hand
    ref_optimizer = torch.optim.Adam(reference.parameters(), lr=0.02)
    batches = Regression().batches(torch.Generator().manual_seed(1))
    losses = []
    for t in range(1, 17):
        x, y = next(batches)
        ref_optimizer.zero_grad()
        loss = F.mse_loss(reference(x), y)
        loss.backward()
        ref_optimizer.step()
        losses.append(loss.item())
        if t % 3 == 0:
            reference.lam.fill_(min(1.0, float(reference.lam) + 0.25))
    assert frame["loss"].tolist() == losses
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_the_optimizer_state_can_be_reset_at_every_increment():
    model = HomotopyNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    train.fit(Continuation(Regression(), every=3, delta=0.25, reset_state=True), model,
              optimizer, steps=16, progress=False)
    assert all(int(state["step"]) == 4 for state in optimizer.state.values())  # since step 12


@pytest.mark.parametrize("search_batch", ["same", "independent"])
def test_resuming_from_a_checkpoint_equals_continuing_with_a_line_search(search_batch):
    def fresh():
        model = HomotopyNet()
        return model, SLS(model.parameters()), Continuation(Regression(), every=2, delta=0.2)

    options = dict(seed=7, eval_every=4, search_batch=search_batch, progress=False)
    continued_model, optimizer, task = fresh()
    continued = train.fit(task, continued_model, optimizer, steps=12, **options)

    model, optimizer, task = fresh()
    first = train.fit(task, model, optimizer, steps=5, **options)
    saved = checkpoint(model, optimizer, task, first)
    model, optimizer, task = fresh()
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    task.load_state_dict(saved["task"])
    resumed = train.fit(task, model, optimizer, steps=12,
                        history=train.History(**saved["history"]), **options)

    assert without_time(resumed.steps) == without_time(continued.steps)
    assert [s["step"] for s in resumed.steps] == list(range(1, 13))
    assert [e["step"] for e in resumed.evals] == [0, 4, 5, 8, 12]  # + the end of the first part
    assert without_time([e for e in resumed.evals if e["step"] != 5]) == without_time(
        continued.evals)
    times = [s["time"] for s in resumed.steps]
    assert times == sorted(times) and resumed.steps[4] == first.steps[4]
    for (name, p), q in zip(model.state_dict().items(), continued_model.state_dict().values(),
                            strict=True):
        assert torch.equal(p, q), name
    assert float(model.lam) == 1.0 and continued.steps[-1]["lambda"] == 1.0
    searched = sum(s["searched"] for s in continued.steps)
    assert searched > 0  # the line search did search

