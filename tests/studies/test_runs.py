"""Seeded training runs, grids of them as tidy frames, and per-run means of step diagnostics."""

import pandas as pd
import pytest

from deepoptim import studies

from .problems import RING_MODEL, ring


@pytest.mark.parametrize("optimizer_name, schedule", [("Adam", "warmup_cosine"),
                                                      ("SLS", "constant")])
def test_run_classifier_is_seeded_and_reports_the_final_evaluation(optimizer_name, schedule):
    mixture = ring()
    kwargs = dict(steps=5, seed=2, batch_size=32, schedule=schedule, model_kwargs=RING_MODEL)
    first, history = studies.run_classifier("mlp", mixture, optimizer_name, **kwargs)
    second, _ = studies.run_classifier("mlp", mixture, optimizer_name, **kwargs)
    first_time, second_time = first.pop("time"), second.pop("time")
    assert first == second  # everything but the wall time
    assert first_time > 0 and second_time > 0
    assert first["test_acc"] == history.final()["test_acc"]
    assert {"model", "dataset", "optimizer", "seed", "train_loss", "diverged"} <= set(first)


def test_run_grid_gives_tidy_frames_equal_to_single_runs():
    mixture = ring()
    configs = {"Adam": {"optimizer_kwargs": {"lr": 0.05}},
               "SLS same": {"optimizer": "SLS", "search_batch": "same"},
               "SLS independent": {"optimizer": "SLS", "search_batch": "independent"}}
    runs = studies.run_grid("mlp", mixture, configs, [0, 1], steps=4, batch_size=32,
                            eval_every=2, model_kwargs=RING_MODEL)
    assert list(runs.records["config"]) == [c for c in configs for _ in (0, 1)]
    assert list(runs.records["seed"]) == [0, 1] * 3
    assert len(runs.steps) == 3 * 2 * 4 and len(runs.evals) == 3 * 2 * 3  # steps 0, 2, 4
    for frame in (runs.records, runs.evals, runs.steps):
        assert {"config", "model", "optimizer", "seed"} <= set(frame.columns)
    assert runs.steps.loc[runs.steps["config"] == "Adam", "loss_evals"].isna().all()
    independent = runs.steps[runs.steps["config"] == "SLS independent"]
    assert (independent["loss_evals"] >= 3).all()  # the search's reference point costs one more
    single, _ = studies.run_classifier("mlp", mixture, "SLS", steps=4, seed=1, batch_size=32,
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
        studies.run_grid("mlp", ring(), configs, seeds, steps=1)


def fake_runs(configs=("SGD", "SLS"), seeds=(0, 1), steps=4, model="mlp") -> studies.Runs:
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
    return studies.Runs(pd.DataFrame(records), evals, pd.DataFrame(step_rows))


def test_runs_assign_and_concat_label_and_join_every_frame():
    first, second = fake_runs(model="mlp"), fake_runs(model="cnn1d")
    joined = studies.concat_runs([first.assign(problem="a"), second.assign(problem="b")])
    for name in ("records", "evals", "steps"):
        frame, parts = getattr(joined, name), (getattr(first, name), getattr(second, name))
        assert len(frame) == sum(map(len, parts)) and list(frame.index) == list(range(len(frame)))
        assert list(frame["problem"]) == ["a"] * len(parts[0]) + ["b"] * len(parts[1])
    with pytest.raises(ValueError, match=r"Invalid runs value: \[\]"):
        studies.concat_runs([])


def test_with_step_means_equals_the_pandas_computation():
    runs = studies.concat_runs([fake_runs(model="mlp"), fake_runs(model="cnn1d", seeds=(3,))])
    means = studies.with_step_means(runs, {"loss_evals": 1.0, "failed": None})
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
    runs = studies.concat_runs([fake_runs(configs=("SGD",)).assign(problem=p) for p in "ab"])
    means = studies.with_step_means(runs, {"loss_evals": 1.0, "searched": 0.0},
                                    keys=["problem", "config", "seed"])
    assert (means["loss_evals"] == 1.0).all() and (means["searched"] == 0.0).all()
    assert list(means.columns) == [*runs.records.columns, "loss_evals", "searched"]


@pytest.mark.parametrize("columns, keys, match", [
    ({}, studies.RUN_KEYS, "Invalid columns value: {}"),
    ({"train_loss": 0.0}, studies.RUN_KEYS, r"Invalid columns value: \['train_loss'\]"),
    ({"loss_evals": 1.0}, ["problem", "config", "seed"], r"Invalid keys value: \['problem'\]"),
    ({"loss_evals": 1.0}, ["config"], r"Invalid keys value: \['config'\].*several records"),
])
def test_with_step_means_rejects_bad_input(columns, keys, match):
    with pytest.raises(ValueError, match=match):
        studies.with_step_means(fake_runs(), columns, keys=keys)
