"""Resuming mid-continuation from a checkpoint (model, optimizer, continuation state and history)
equals continuing, bit for bit, for every method."""

import pytest
import torch

from deepoptim import train
from deepoptim.continuation import LinearSchedule, NaturalContinuation, PseudoArclength
from deepoptim.optim import SLS
from train.problems import Regression, checkpoint, without_time

from .problems import homotopy_mlp

METHODS = {
    "npacs-Adam": (lambda h: NaturalContinuation(Regression(), h, every=3, delta=0.05,
                                                 delta_min=0.02, delta_max=0.1, window=4),
                   lambda m: torch.optim.Adam(m.parameters(), lr=0.02)),
    "npc-reset-RMSprop": (lambda h: NaturalContinuation(Regression(), h, every=3, delta=0.05,
                                                        secant=False, adaptive=False,
                                                        reset_state=True),
                          lambda m: torch.optim.RMSprop(m.parameters(), lr=0.005)),
    "parc-SLS": (lambda h: PseudoArclength(Regression(), h, warmup=3, ascent_period=2,
                                           descent_period=2, ascent_lr=0.5, delta=0.05),
                 lambda m: SLS(m.parameters())),
    "linear-Adam": (lambda h: LinearSchedule(Regression(), h, 30),
                    lambda m: torch.optim.Adam(m.parameters(), lr=0.02)),
}


@pytest.mark.parametrize("method", METHODS)
def test_resuming_mid_continuation_equals_continuing(method):
    make_task, make_optimizer = METHODS[method]

    def fresh():
        model, homotopy = homotopy_mlp(torch.nn.ReLU)
        return model, make_optimizer(model), make_task(homotopy)

    options = dict(seed=5, eval_every=6, progress=False)
    continued_model, optimizer, task = fresh()
    continued = train.fit(task, continued_model, optimizer, steps=36, **options)

    model, optimizer, task = fresh()
    first = train.fit(task, model, optimizer, steps=17, **options)
    assert 0 < task.homotopy.lam < 1  # stopped mid-continuation
    saved = checkpoint(model, optimizer, task, first)
    model, optimizer, task = fresh()
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    task.load_state_dict(saved["task"])
    resumed = train.fit(task, model, optimizer, steps=36,
                        history=train.History(**saved["history"]), **options)

    assert without_time(resumed.steps) == without_time(continued.steps)
    assert without_time([e for e in resumed.evals if e["step"] != 17]) == without_time(
        continued.evals)
    for (name, p), q in zip(model.state_dict().items(), continued_model.state_dict().values(),
                            strict=True):
        assert torch.equal(p, q), name
    lams = [s["lambda"] for s in continued.steps]
    assert len(set(lams[17:])) > 1  # lambda kept moving after the checkpoint


def test_a_foreign_state_is_refused():
    model, homotopy = homotopy_mlp()
    task = LinearSchedule(Regression(), homotopy, 5)
    with pytest.raises(ValueError, match="Invalid state value: keys \\['delta', 'lam', "):
        task.load_state_dict({"lam": 0.5, "steps_taken": 3, "delta": 0.1, "norms": []})
    assert homotopy.lam == 0.0 and task.steps_taken == 0  # nothing restored
