"""The optimizers the chapters compare, the schedules, and one seeded training run."""

import math

import pandas as pd
import pytest
import torch
from torch import nn

from deepoptim import data, experiment, optim, testbed


def tiny_model() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))


def test_baselines_are_sgd_with_momentum_and_adam():
    sgd = testbed.make_optimizer("SGD", tiny_model())
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9
    adam = testbed.make_optimizer("Adam", tiny_model(), lr=0.5)
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["lr"] == 0.5
    assert set(testbed.BASELINES) <= set(testbed.OPTIMIZERS)


def test_layerwise_method_gets_one_group_per_layer():
    plasls = testbed.make_optimizer("PLASLS", tiny_model())
    assert isinstance(plasls, optim.PLASLS)
    assert len(plasls.param_groups) == 2  # the two Linear layers


def test_unknown_optimizer_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"Invalid optimizer value: 'Nadam'.*'Adam'"):
        testbed.make_optimizer("Nadam", tiny_model())


@pytest.mark.parametrize("name, expected", [
    ("constant", [1.0, 1.0, 1.0, 1.0, 1.0]),
    ("cosine", [1.0 * 0.5 * (1 + math.cos(math.pi * t / 4)) for t in range(5)]),
    ("warmup_cosine", [0.5, 1.0, 1.0, 0.5 * (1 + math.cos(math.pi / 2)), 0.0]),
])
def test_schedules_follow_their_formulas(name, expected):
    optimizer = torch.optim.SGD(tiny_model().parameters(), lr=2.0)
    schedule = testbed.make_schedule(optimizer, name, steps=4, warmup_fraction=0.5)
    seen = []
    for _ in range(5):
        seen.append(optimizer.param_groups[0]["lr"] / 2.0)
        optimizer.step()
        schedule.step()
    assert seen == pytest.approx(expected, abs=1e-12)


def test_unknown_schedule_is_rejected():
    optimizer = torch.optim.SGD(tiny_model().parameters(), lr=1.0)
    with pytest.raises(ValueError, match="Invalid schedule value: 'step'"):
        testbed.make_schedule(optimizer, "step", steps=3)


@pytest.mark.parametrize("optimizer_name, schedule", [("Adam", "warmup_cosine"),
                                                      ("SLS", "constant")])
def test_run_classifier_is_seeded_and_reports_the_final_evaluation(optimizer_name, schedule):
    mixture = data.gaussian_mixture("ring", n_samples=200, n_components=4, seed=0)
    kwargs = dict(steps=5, seed=2, batch_size=32, schedule=schedule,
                  model_kwargs={"in_features": 2, "num_classes": 4})
    first, history = testbed.run_classifier("mlp", mixture, optimizer_name, **kwargs)
    second, _ = testbed.run_classifier("mlp", mixture, optimizer_name, **kwargs)
    first_time, second_time = first.pop("time"), second.pop("time")
    assert first == second  # everything but the wall time
    assert first_time > 0 and second_time > 0
    assert first["test_acc"] == history.final()["test_acc"]
    assert {"model", "dataset", "optimizer", "seed", "train_loss", "diverged"} <= set(first)


def ring(n_samples: int = 200):
    return data.gaussian_mixture("ring", n_samples=n_samples, n_components=4, seed=0)


RING_MODEL = {"in_features": 2, "num_classes": 4}


def test_run_grid_gives_tidy_frames_equal_to_single_runs():
    mixture = ring()
    configs = {"Adam": {"optimizer_kwargs": {"lr": 0.05}},
               "SLS same": {"optimizer": "SLS", "search_batch": "same"},
               "SLS independent": {"optimizer": "SLS", "search_batch": "independent"}}
    runs = testbed.run_grid("mlp", mixture, configs, [0, 1], steps=4, batch_size=32,
                            eval_every=2, model_kwargs=RING_MODEL)
    assert list(runs.records["config"]) == [c for c in configs for _ in (0, 1)]
    assert list(runs.records["seed"]) == [0, 1] * 3
    assert len(runs.steps) == 3 * 2 * 4 and len(runs.evals) == 3 * 2 * 3  # steps 0, 2, 4
    for frame in (runs.records, runs.evals, runs.steps):
        assert {"config", "model", "optimizer", "seed"} <= set(frame.columns)
    assert runs.steps.loc[runs.steps["config"] == "Adam", "loss_evals"].isna().all()
    independent = runs.steps[runs.steps["config"] == "SLS independent"]
    assert (independent["loss_evals"] >= 3).all()  # the search's reference point costs one more
    single, _ = testbed.run_classifier("mlp", mixture, "SLS", steps=4, seed=1, batch_size=32,
                                       eval_every=2, model_kwargs=RING_MODEL,
                                       search_batch="independent")
    row = runs.records.iloc[-1]
    assert row["optimizer"] == "SLS"
    assert row["test_loss"] == single["test_loss"] and row["train_acc"] == single["train_acc"]


@pytest.mark.parametrize("configs, seeds, error, match", [
    ({}, [0], ValueError, "Invalid configs value"),
    ({"Adam": {}}, [], ValueError, "Invalid seeds value"),
    ({"Nadam": {}}, [0], ValueError, "Invalid optimizer value: 'Nadam'"),
    ({"Adam": {"lr": 0.1}}, [0], TypeError, r"unexpected keyword\(s\) \['lr'\]"),
])
def test_run_grid_rejects_bad_input_before_any_run(configs, seeds, error, match):
    with pytest.raises(error, match=match):
        testbed.run_grid("mlp", ring(), configs, seeds, steps=1)


def test_tune_lr_picks_the_step_size_that_learns():
    grid = {"Adam": [0.0, 0.05], "SGD": [0.2, 0.0]}
    best, table = testbed.tune_lr("mlp", ring(), grid, [0], steps=20, batch_size=50,
                                  model_kwargs=RING_MODEL, schedule="warmup_cosine")
    assert best == {"Adam": 0.05, "SGD": 0.2}
    assert list(table["lr"]) == [0.0, 0.05, 0.2, 0.0]
    assert {"train_loss_mean", "train_loss_std", "n"} <= set(table.columns)
    best_acc, _ = testbed.tune_lr("mlp", ring(), {"Adam": [0.05, 0.0]}, [0], steps=20,
                                  batch_size=50, model_kwargs=RING_MODEL, metric="train_acc")
    assert best_acc == {"Adam": 0.05}


def test_tune_lr_rejects_an_unknown_metric_and_an_empty_grid():
    with pytest.raises(ValueError, match="Invalid metric value: 'loss'"):
        testbed.tune_lr("mlp", ring(), {"Adam": [0.1]}, [0], steps=1, metric="loss")
    with pytest.raises(ValueError, match="Invalid grid value"):
        testbed.tune_lr("mlp", ring(), {"Adam": []}, [0], steps=1)


def fake_runs(configs=("SGD", "SLS"), seeds=(0, 1), steps=4, model="mlp") -> testbed.Runs:
    """Runs as run_grid lays them out, with made-up numbers; only "SLS" reports diagnostics."""
    records, step_rows = [], []
    for config in configs:
        for seed in seeds:
            labels = {"config": config, "model": model, "optimizer": config, "seed": seed}
            records.append({**labels, "train_loss": 1.0 + seed})
            for step in range(1, steps + 1):
                diagnostics = ({"loss_evals": step + seed, "failed": float(step == 2)}
                               if config == "SLS" else {})
                step_rows.append({"step": step, "loss": 10.0 / step + seed, **diagnostics,
                                  **labels})
    evals = pd.DataFrame([{"step": 0, "test_acc": 0.1, **r} for r in records])
    return testbed.Runs(pd.DataFrame(records), evals, pd.DataFrame(step_rows))


def test_runs_assign_and_concat_label_and_join_every_frame():
    first, second = fake_runs(model="mlp"), fake_runs(model="cnn1d")
    joined = testbed.concat_runs([first.assign(problem="a"), second.assign(problem="b")])
    for name in ("records", "evals", "steps"):
        frame, parts = getattr(joined, name), (getattr(first, name), getattr(second, name))
        assert len(frame) == sum(map(len, parts)) and list(frame.index) == list(range(len(frame)))
        assert list(frame["problem"]) == ["a"] * len(parts[0]) + ["b"] * len(parts[1])
    with pytest.raises(ValueError, match=r"Invalid runs value: \[\]"):
        testbed.concat_runs([])


def test_with_step_means_equals_the_pandas_computation():
    runs = testbed.concat_runs([fake_runs(model="mlp"), fake_runs(model="cnn1d", seeds=(3,))])
    means = testbed.with_step_means(runs, {"loss_evals": 1.0, "failed": None})
    by_hand = runs.steps.groupby(["model", "config", "seed"], sort=False).agg(
        loss_evals=("loss_evals", "mean"), failed=("failed", "mean")).reset_index()
    by_hand["loss_evals"] = by_hand["loss_evals"].fillna(1.0)
    pd.testing.assert_frame_equal(means, runs.records.merge(by_hand, on=["model", "config",
                                                                         "seed"]))
    sls = means[means["config"] == "SLS"]
    assert list(sls["loss_evals"]) == [2.5, 3.5, 5.5] and (sls["failed"] == 0.25).all()
    assert (means.loc[means["config"] == "SGD", "loss_evals"] == 1.0).all()  # the fill
    assert means.loc[means["config"] == "SGD", "failed"].isna().all()  # None leaves NaN


def test_with_step_means_fills_a_column_no_run_reports_and_takes_other_keys():
    runs = testbed.concat_runs([fake_runs(configs=("SGD",)).assign(problem=p) for p in "ab"])
    means = testbed.with_step_means(runs, {"loss_evals": 1.0, "searched": 0.0},
                                    keys=["problem", "config", "seed"])
    assert (means["loss_evals"] == 1.0).all() and (means["searched"] == 0.0).all()
    assert list(means.columns) == [*runs.records.columns, "loss_evals", "searched"]


@pytest.mark.parametrize("columns, keys, match", [
    ({}, testbed.RUN_KEYS, "Invalid columns value: {}"),
    ({"train_loss": 0.0}, testbed.RUN_KEYS, r"Invalid columns value: \['train_loss'\]"),
    ({"loss_evals": 1.0}, ["problem", "config", "seed"], r"Invalid keys value: \['problem'\]"),
    ({"loss_evals": 1.0}, ["config"], r"Invalid keys value: \['config'\].*several records"),
])
def test_with_step_means_rejects_bad_input(columns, keys, match):
    with pytest.raises(ValueError, match=match):
        testbed.with_step_means(fake_runs(), columns, keys=keys)


def test_at_grid_edge_names_the_best_step_sizes_on_the_border():
    grid = {"SGD": [0.1, 0.3, 1.0], "Adam": (3e-2, 1e-2, 1e-1)}
    assert testbed.at_grid_edge({"SGD": 0.3, "Adam": 3e-2}, grid) == []
    assert testbed.at_grid_edge({"SGD": 1.0, "Adam": 1e-2}, grid) == ["SGD", "Adam"]
    with pytest.raises(ValueError, match=r"Invalid grid value.*\['AdamW'\]"):
        testbed.at_grid_edge({"AdamW": 0.1}, grid)


def test_comparison_runs_its_problems_with_their_budget(monkeypatch):
    tiny = dict(testbed._COMPARISON_PROBLEMS)
    tiny["MNIST-1D MLP"] = ("mlp", "mnist1d", 100, {"smoke": 3, "quick": 3, "full": 3})
    monkeypatch.setattr(testbed, "_COMPARISON_PROBLEMS", tiny)
    exp = experiment.setup("smoke", "cpu", 5)
    comparison = testbed.setup_comparison(exp)
    assert list(comparison.problems) == ["MNIST-1D MLP", "MNIST-1D CNN", "digits CNN"]
    mlp, digits = comparison.problems["MNIST-1D MLP"], comparison.problems["digits CNN"]
    assert (mlp.model, mlp.batch_size, mlp.steps, mlp.eval_every) == ("mlp", 100, 3, 1)
    assert (digits.model, digits.batch_size, digits.steps, digits.eval_every) == (
        "digits_cnn", 64, 12, 6)
    assert comparison.seeds == comparison.sweep_seeds == [5]
    best, table = testbed.tune_lr("mlp", mlp.dataset, testbed.COMPARISON_LR_GRID, [5], steps=3,
                                  batch_size=100, schedule="warmup_cosine")
    assert comparison.best_lr == best
    pd.testing.assert_frame_equal(comparison.sweep, table)
    assert comparison.baseline_configs() == {
        name: {"optimizer_kwargs": {"lr": lr}, "schedule": "warmup_cosine"}
        for name, lr in best.items()}
    values = comparison.glue_values()
    assert values["profile"] == "smoke" and values["sweep_seeds"] == 1
    assert (values["full_steps_mnist"], values["full_steps_digits"]) == (3, 3000)  # patched
    assert values["best_lr_SGD"] == best["SGD"] and isinstance(values["best_lr_Adam"], float)
    edges = testbed.at_grid_edge(best, testbed.COMPARISON_LR_GRID)
    assert values["bracket_verdict"].startswith("Both" if not edges else "The best step size")
    runs = comparison.run("MNIST-1D MLP", {"Adam": {}})
    single = mlp.run({"Adam": {}}, [5])
    pd.testing.assert_frame_equal(runs.steps.drop(columns=["problem", "time"]),
                                  single.steps.drop(columns="time"))
    assert (runs.records["problem"] == "MNIST-1D MLP").all() and runs.evals["step"].max() == 3
    with pytest.raises(ValueError, match="Invalid problem value: 'MLP'"):
        comparison.run("MLP", {"Adam": {}})
