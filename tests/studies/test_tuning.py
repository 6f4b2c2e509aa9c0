"""Step-size sweeps pick the step size that learns, and say when it lies on the grid's edge."""

import pytest

from deepoptim import studies

from .problems import RING_MODEL, ring


def test_tune_lr_picks_the_step_size_that_learns():
    grid = {"Adam": [0.0, 0.05], "SGD": [0.2, 0.0]}
    best, table = studies.tune_lr("mlp", ring(), grid, [0], steps=20, batch_size=50,
                                  model_kwargs=RING_MODEL, schedule="warmup_cosine")
    assert best == {"Adam": 0.05, "SGD": 0.2}
    assert list(table["lr"]) == [0.0, 0.05, 0.2, 0.0]
    assert {"train_loss_mean", "train_loss_std", "n"} <= set(table.columns)
    best_acc, _ = studies.tune_lr("mlp", ring(), {"Adam": [0.05, 0.0]}, [0], steps=20,
                                  batch_size=50, model_kwargs=RING_MODEL, metric="train_acc")
    assert best_acc == {"Adam": 0.05}


def test_tune_lr_rejects_an_unknown_metric_and_an_empty_grid():
    with pytest.raises(ValueError, match="Invalid metric value: 'loss'"):
        studies.tune_lr("mlp", ring(), {"Adam": [0.1]}, [0], steps=1, metric="loss")
    with pytest.raises(ValueError, match="Invalid grid value"):
        studies.tune_lr("mlp", ring(), {"Adam": []}, [0], steps=1)


def test_at_grid_edge_names_the_best_step_sizes_on_the_border():
    grid = {"SGD": [0.1, 0.3, 1.0], "Adam": (3e-2, 1e-2, 1e-1)}
    assert studies.at_grid_edge({"SGD": 0.3, "Adam": 3e-2}, grid) == []
    assert studies.at_grid_edge({"SGD": 1.0, "Adam": 1e-2}, grid) == ["SGD", "Adam"]
    with pytest.raises(ValueError, match=r"Invalid grid value.*\['AdamW'\]"):
        studies.at_grid_edge({"AdamW": 0.1}, grid)
