"""Part I's comparison: its problems, budgets, tuned baselines and glued facts."""

import pandas as pd
import pytest

from deepoptim import experiment, studies
from deepoptim.studies import part1


def test_comparison_runs_its_problems_with_their_budget(monkeypatch):
    tiny = dict(part1._COMPARISON_PROBLEMS)
    tiny["MNIST-1D MLP"] = ("mlp", "mnist1d", 100, {"smoke": 3, "quick": 3, "full": 3})
    monkeypatch.setattr(part1, "_COMPARISON_PROBLEMS", tiny)
    exp = experiment.setup("smoke", "cpu", 5)
    comparison = studies.setup_comparison(exp)
    assert list(comparison.problems) == ["MNIST-1D MLP", "MNIST-1D CNN", "digits CNN"]
    mlp, digits = comparison.problems["MNIST-1D MLP"], comparison.problems["digits CNN"]
    assert (mlp.model, mlp.batch_size, mlp.steps, mlp.eval_every) == ("mlp", 100, 3, 1)
    assert (digits.model, digits.batch_size, digits.steps, digits.eval_every) == (
        "digits_cnn", 64, 12, 6)
    # 4000 MNIST-1D and 1437 digits training examples
    assert (mlp.batches_per_epoch, digits.batches_per_epoch) == (40, 22)
    assert comparison.seeds == comparison.sweep_seeds == [5]
    best, table = studies.tune_lr("mlp", mlp.dataset, studies.COMPARISON_LR_GRID, [5], steps=3,
                                  batch_size=100, schedule="warmup_cosine")
    assert comparison.best_lr == best
    pd.testing.assert_frame_equal(comparison.sweep, table)
    shown = comparison.sweep_table()
    assert list(shown.columns) == ["baseline", "peak step size", "final training loss (MLP)",
                                   "chosen"]
    assert list(shown["baseline"]) == list(table["optimizer"])
    assert list(shown["peak step size"]) == [f"{lr:g}" for lr in table["lr"]]
    assert list(shown["final training loss (MLP)"]) == [f"{loss:.3f}"
                                                        for loss in table["train_loss_mean"]]
    assert [(row["baseline"], float(row["peak step size"])) for _, row in shown.iterrows()
            if row["chosen"] == "✓"] == list(best.items())
    assert comparison.baseline_configs() == {
        name: {"optimizer_kwargs": {"lr": lr}, "schedule": "warmup_cosine"}
        for name, lr in best.items()}
    values = comparison.glue_values()
    assert values["profile"] == "smoke" and values["sweep_seeds"] == 1
    assert values["seeds_phrase"] == values["sweep_seeds_phrase"] == "one seed"
    assert (values["full_steps_mnist"], values["full_steps_digits"]) == (3, 3000)  # patched
    assert values["best_lr_SGD"] == best["SGD"] and isinstance(values["best_lr_Adam"], float)
    edges = studies.at_grid_edge(best, studies.COMPARISON_LR_GRID)
    assert values["bracket_verdict"].startswith("Both" if not edges else "The best step size")
    runs = comparison.run("MNIST-1D MLP", {"Adam": {}})
    single = mlp.run({"Adam": {}}, [5])
    pd.testing.assert_frame_equal(runs.steps.drop(columns=["problem", "time"]),
                                  single.steps.drop(columns="time"))
    assert (runs.records["problem"] == "MNIST-1D MLP").all() and runs.evals["step"].max() == 3
    with pytest.raises(ValueError, match="Invalid problem value: 'MLP'"):
        comparison.run("MLP", {"Adam": {}})
