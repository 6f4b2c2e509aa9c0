"""Seeded, resumable optuna studies in an SQLite file."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

from deepoptim.studies.search import load_or_create, optimize, report  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    """A toy learning-rate search: the 'accuracy' after each of 4 epochs, reported."""
    lr = trial.suggest_float("lr", 1e-7, 1e-3, log=True)
    head = trial.suggest_float("head", 0.1, 10.0, log=True)
    value = 0.0
    for epoch in range(1, 5):
        value = epoch / 4 - (abs(lr - 1e-5) * 1e3 + abs(head - 3.0) / 10)
        report(trial, value, epoch)
    return value


def params(study):
    return [trial.params for trial in study.trials]


def test_same_seed_same_trials_and_pruning_happens(tmp_path):
    first = load_or_create(tmp_path / "a.db", "lr", seed=7)
    second = load_or_create(tmp_path / "b.db", "lr", seed=7)
    assert optimize(first, objective, 20) == 20 and optimize(second, objective, 20) == 20
    assert params(first) == params(second)
    assert [t.state for t in first.trials] == [t.state for t in second.trials]
    assert any(t.state == optuna.trial.TrialState.PRUNED for t in first.trials)
    other = load_or_create(tmp_path / "c.db", "lr", seed=8)
    optimize(other, objective, 3)
    assert params(other) != params(first)[:3]


def test_resume_from_the_file(tmp_path):
    path = tmp_path / "nested" / "study.db"
    study = load_or_create(path, "lr", seed=3)
    optimize(study, objective, 4)
    first = params(study)
    reopened = load_or_create(path, "lr", seed=3)
    assert params(reopened) == first
    assert optimize(reopened, objective, 4) == 0  # already done
    assert optimize(reopened, objective, 7) == 3
    again = load_or_create(path, "lr", seed=3)
    assert len(again.trials) == 7 and params(again)[:4] == first
    # The resumed trials are new points, not the seed's first proposals again.
    assert all(p not in first for p in params(again)[4:])
    # A resume from the same point is reproducible.
    twin = tmp_path / "twin.db"
    optimize(load_or_create(twin, "lr", seed=3), objective, 4)
    optimize(load_or_create(twin, "lr", seed=3), objective, 7)
    assert params(load_or_create(twin, "lr", seed=3)) == params(again)


def test_a_failing_objective_is_recorded_and_raises(tmp_path):
    study = load_or_create(tmp_path / "s.db", "lr", seed=0)

    def broken(trial):
        trial.suggest_float("x", 0, 1)
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError, match="diverged"):
        optimize(study, broken, 2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL]


def test_bad_input(tmp_path):
    path = tmp_path / "s.db"
    with pytest.raises(ValueError, match="Invalid direction value: 'up'"):
        load_or_create(path, "lr", seed=0, direction="up")
    with pytest.raises(ValueError, match="Invalid seed value: -1"):
        load_or_create(path, "lr", seed=-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        load_or_create(path, "lr", seed=1.0)
    with pytest.raises(ValueError, match="Invalid name value: ''"):
        load_or_create(path, "", seed=0)
    with pytest.raises(TypeError, match="path must be a str"):
        load_or_create(3, "lr", seed=0)
    with pytest.raises(ValueError, match="Invalid reduction_factor value: 1"):
        load_or_create(path, "lr", seed=0, reduction_factor=1)
    with pytest.raises(ValueError, match="Invalid max_resource value: 0"):
        load_or_create(path, "lr", seed=0, max_resource=0)
    assert not path.exists()  # nothing written before the checks passed
    study = load_or_create(path, "lr", seed=0)
    with pytest.raises(ValueError, match="Invalid settings value"):
        load_or_create(path, "lr", seed=1)
    with pytest.raises(ValueError, match="Invalid settings value"):
        load_or_create(path, "lr", seed=0, direction="minimize")
    with pytest.raises(ValueError, match="Invalid num_trials value: -1"):
        optimize(study, objective, -1)
    with pytest.raises(TypeError, match="objective must be callable"):
        optimize(study, None, 1)
