"""Profiles, device choice, seeding and summaries over seeds."""

import random

import numpy as np
import pandas as pd
import pytest
import torch

from deepoptim import experiment


def test_profiles_are_ordered_by_scale():
    smoke, quick, full = (experiment.PROFILES[n] for n in ("smoke", "quick", "full"))
    assert smoke.train_steps < quick.train_steps < full.train_steps
    assert smoke.n_seeds <= quick.n_seeds <= full.n_seeds
    assert full.train_steps == 6000  # the MNIST-1D paper's protocol


def test_pick_returns_the_value_of_the_profile():
    quick = experiment.get_profile("quick")
    assert quick.pick(smoke=1, quick=2, full=3) == 2


@pytest.mark.parametrize("values", [dict(smoke=1, quick=2), dict(smoke=1, quick=2, full=3, x=4)])
def test_pick_needs_one_value_per_profile(values):
    with pytest.raises(ValueError, match="one value per profile"):
        experiment.get_profile("quick").pick(**values)


def test_unknown_profile_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"Invalid profile value: 'fast'.*quick"):
        experiment.get_profile("fast")


def test_auto_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert experiment.resolve_device("auto") == torch.device("cpu")


def test_cuda_device_without_cuda_is_rejected(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="Invalid device value: 'cuda'"):
        experiment.resolve_device("cuda")


def test_device_label_names_what_auto_resolved_to(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert experiment.device_label("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"GPU number {index}")
    assert experiment.device_label("auto") == "cuda:1 (GPU number 1)"
    assert experiment.device_label("cuda:0") == "cuda:0 (GPU number 0)"


def test_garbage_device_is_rejected():
    with pytest.raises(ValueError, match="Invalid device value: 'gpu0'"):
        experiment.resolve_device("gpu0")


def test_seed_everything_makes_every_generator_repeat():
    def draw():
        return random.random(), float(np.random.rand())  # noqa: NPY002, float(torch.rand(()))

    experiment.seed_everything(3)
    first = draw()
    experiment.seed_everything(3)
    assert draw() == first


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (-1, ValueError, "Invalid seed value: -1"),
        (2**32, ValueError, "Invalid seed value: 4294967296"),
        (1.5, TypeError, "seed must be an int, got float"),
        (True, TypeError, "seed must be an int, got bool"),
    ],
)
def test_bad_seed_is_rejected(seed, error, match):
    with pytest.raises(error, match=match):
        experiment.seed_everything(seed)


def test_setup_seeds_and_describes():
    torch.set_num_threads(2)
    try:
        exp = experiment.setup("smoke", "cpu", 7)
        assert torch.get_num_threads() == 1  # on the CPU a chapter computes on one thread
    finally:
        torch.set_num_threads(1)  # the suite's setting (conftest.py)
    assert exp.seeds() == [7]
    assert float(torch.rand(())) == float(torch.rand((), generator=torch.Generator()
                                                     .manual_seed(7)))
    assert "profile=smoke" in exp.describe() and "device=cpu" in exp.describe()
    assert exp.describe().endswith("CPU cores, 1 torch thread")


def test_run_seeds_tags_records_and_seeds_each_run():
    records = experiment.run_seeds(lambda s: {"draw": float(torch.rand(()))}, [0, 1, 0])
    assert [r["seed"] for r in records] == [0, 1, 0]
    assert records[0]["draw"] == records[2]["draw"] != records[1]["draw"]


def test_summarize_matches_pandas_by_hand():
    records = [dict(opt="a", acc=0.5), dict(opt="a", acc=0.7), dict(opt="b", acc=0.1)]
    summary = experiment.summarize(records, by=["opt"], metrics=["acc"]).set_index("opt")
    assert summary.loc["a", "acc_mean"] == pytest.approx(0.6)
    assert summary.loc["a", "acc_std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert summary.loc["b", "acc_std"] == 0.0  # one seed: no spread, not NaN
    assert summary.loc["a", "n"] == 2 and summary.loc["b", "n"] == 1
    assert list(summary.columns) == ["acc_mean", "acc_std", "n"]


def test_summarize_names_missing_columns():
    with pytest.raises(ValueError, match="loss"):
        experiment.summarize(pd.DataFrame([dict(opt="a", acc=1.0)]), by=["opt"],
                             metrics=["loss"])
