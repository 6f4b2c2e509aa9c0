"""Part I's comparison: the problems, budgets and tuned baselines of the line-search chapters.

Every chapter of Part I (SLS, ADAMSLS and KenSLS, SaLSa, PLASLS) measures its methods on the
same three :class:`Problem` s with the same budgets and seeds, against the same SGD (momentum
0.9) and Adam, both with the line-search papers' warm-up cosine schedule and with peak step
sizes tuned once on the MLP: :func:`setup_comparison` builds that :class:`Comparison` for a
chapter's profile, so the four chapters report one set of baseline numbers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .. import data
from .._checks import check_choice
from ..data import ClassificationData
from ..experiment import Experiment, get_profile
from .runs import Runs, run_grid
from .tuning import at_grid_edge, tune_lr
from .verdicts import seeds_phrase

__all__ = ["COMPARISON_LR_GRID", "Comparison", "Problem", "setup_comparison"]


@dataclasses.dataclass(frozen=True)
class Problem:
    """A problem of a comparison: a model trained on a data set for a fixed budget.

    Attributes:
        model: a name for :func:`deepoptim.models.build_model`.
        dataset: the data it trains on.
        batch_size: examples per mini-batch.
        steps: optimizer steps of every run.
        eval_every: steps between two evaluations on the full training and test sets.
    """

    model: str
    dataset: ClassificationData
    batch_size: int
    steps: int
    eval_every: int

    @property
    def batches_per_epoch(self) -> int:
        """Mini-batches per epoch, ``dataset.num_train // batch_size``."""
        return self.dataset.num_train // self.batch_size

    def run(self, configs: Mapping[str, Mapping[str, Any]], seeds: Iterable[int]) -> Runs:
        """Every configuration over ``seeds`` on this problem (:func:`run_grid`)."""
        return run_grid(self.model, self.dataset, configs, seeds, steps=self.steps,
                        batch_size=self.batch_size, eval_every=self.eval_every)


#: Part I's comparison problems: model, data set (a loader of :mod:`deepoptim.data`), batch
#: size, and optimizer steps per profile (the ``full`` profile is the MNIST-1D protocol's 6000).
_COMPARISON_PROBLEMS: dict[str, tuple[str, str, int, dict[str, int]]] = {
    "MNIST-1D MLP": ("mlp", "mnist1d", 100, {"smoke": 12, "quick": 400, "full": 6000}),
    "MNIST-1D CNN": ("cnn1d", "mnist1d", 100, {"smoke": 12, "quick": 250, "full": 6000}),
    "digits CNN": ("digits_cnn", "digits", 64, {"smoke": 12, "quick": 150, "full": 3000}),
}
#: The problem the baselines are tuned on.
_TUNED_ON = "MNIST-1D MLP"
#: Evaluations per run on the full training and test sets, per profile.
_COMPARISON_EVALUATIONS = {"smoke": 2, "quick": 6, "full": 24}
#: How many of the comparison's seeds the step-size sweep uses, per profile.
_SWEEP_SEEDS = {"smoke": 1, "quick": 1, "full": 3}
#: The peak step sizes of the baselines' sweep in Part I's comparison.
COMPARISON_LR_GRID: dict[str, tuple[float, ...]] = {"SGD": (0.1, 0.3, 1.0),
                                                    "Adam": (1e-2, 3e-2, 1e-1)}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Part I's comparison at one profile, as every chapter of Part I runs it.

    Attributes:
        profile: the profile that sets the budgets (its name).
        problems: title -> :class:`Problem`: the MNIST-1D MLP and CNN (batch 100) and the
            digits CNN (batch 64).
        seeds: the seeds every configuration runs over.
        sweep_seeds: the first of them, which the step-size sweep uses.
        best_lr: the peak step size of SGD and Adam with the lowest mean final training
            loss on the MLP, from :data:`COMPARISON_LR_GRID`.
        sweep: the sweep's table (:func:`tune_lr`).
    """

    profile: str
    problems: dict[str, Problem]
    seeds: list[int]
    sweep_seeds: list[int]
    best_lr: dict[str, float]
    sweep: pd.DataFrame

    def sweep_table(self) -> pd.DataFrame:
        """The sweep for readers: a row per baseline and peak step size, in the sweep's order,
        with the mean final training loss on the MLP to three decimals ("diverged" where it
        is NaN) and a mark at the step size chosen."""
        return pd.DataFrame({
            "baseline": self.sweep["optimizer"].to_numpy(),
            "peak step size": [f"{lr:g}" for lr in self.sweep["lr"]],
            "final training loss (MLP)": [
                "diverged" if math.isnan(loss) else f"{loss:.3f}"
                for loss in self.sweep["train_loss_mean"]],
            "chosen": ["✓" if self.best_lr[name] == lr else "" for name, lr in
                       zip(self.sweep["optimizer"], self.sweep["lr"], strict=True)],
        })

    def baseline_configs(self) -> dict[str, dict[str, Any]]:
        """:func:`run_grid` configurations of the tuned baselines, with the warm-up cosine."""
        return {name: {"optimizer_kwargs": {"lr": lr}, "schedule": "warmup_cosine"}
                for name, lr in self.best_lr.items()}

    def run(self, problem: str, configs: Mapping[str, Mapping[str, Any]],
            seeds: Iterable[int] | None = None) -> Runs:
        """Every configuration on one problem over ``seeds`` (default: :attr:`seeds`).

        Every row is labelled with the problem's title in a column ``problem``.
        """
        check_choice("problem", problem, tuple(self.problems))
        chosen = self.seeds if seeds is None else seeds
        return self.problems[problem].run(configs, chosen).assign(problem=problem)

    def glue_values(self) -> dict[str, Any]:
        """The facts of the set-up that the chapters glue into their prose, by glue key.

        ``profile``; ``full_steps_mnist`` and ``full_steps_digits``, the MNIST-1D and digits
        budgets of the ``full`` profile, and ``full_seeds``, its number of seeds;
        ``best_lr_<name>`` per baseline; ``sweep_seeds``, their number; ``seeds_phrase`` and
        ``sweep_seeds_phrase``, the comparison's and the sweep's seeds in words ("one seed",
        "2 seeds"); and ``bracket_verdict``, a sentence on whether the grid brackets each best
        step size.
        """
        edges = at_grid_edge(self.best_lr, COMPARISON_LR_GRID)
        verdict = ("Both lie inside their grids, so the optimum is bracketed" if not edges else
                   f"The best step size of {', '.join(edges)} lies at the edge of its grid, "
                   "so the optimum may lie outside it")
        return {"profile": self.profile,
                "full_steps_mnist": _COMPARISON_PROBLEMS["MNIST-1D MLP"][3]["full"],
                "full_steps_digits": _COMPARISON_PROBLEMS["digits CNN"][3]["full"],
                "full_seeds": get_profile("full").n_seeds,
                **{f"best_lr_{name}": float(lr) for name, lr in self.best_lr.items()},
                "bracket_verdict": verdict,
                "sweep_seeds": len(self.sweep_seeds),
                "seeds_phrase": seeds_phrase(len(self.seeds)),
                "sweep_seeds_phrase": seeds_phrase(len(self.sweep_seeds))}


def setup_comparison(experiment: Experiment) -> Comparison:
    """Part I's comparison at the experiment's profile, seeds and device; tunes the baselines.

    Loads the data sets onto the device and sets the budgets of the profile: the MLP trains
    for 12 (smoke), 400 (quick) or 6000 (full) steps, the MNIST-1D CNN for 12, 250 or 6000,
    the digits CNN for 12, 150 or 3000; each run is evaluated 2, 6 or 24 times. Then it
    sweeps the peak step size of SGD (momentum 0.9) and Adam over :data:`COMPARISON_LR_GRID`
    on the MLP with the warm-up cosine schedule, over the first 1, 1 or 3 seeds, and keeps
    the one with the lowest mean final training loss (:func:`tune_lr`): this trains.
    """
    profile = experiment.profile
    loaded = {loader: getattr(data, loader)(device=experiment.device)
              for loader in ("mnist1d", "digits")}
    evaluations = profile.pick(**_COMPARISON_EVALUATIONS)
    problems = {}
    for title, (model, loader, batch_size, steps) in _COMPARISON_PROBLEMS.items():
        budget = profile.pick(**steps)
        problems[title] = Problem(model, loaded[loader], batch_size, budget,
                                  max(1, budget // evaluations))
    seeds = experiment.seeds()
    sweep_seeds = seeds[:profile.pick(**_SWEEP_SEEDS)]
    tuned = problems[_TUNED_ON]
    best_lr, sweep = tune_lr(tuned.model, tuned.dataset, COMPARISON_LR_GRID, sweep_seeds,
                             steps=tuned.steps, batch_size=tuned.batch_size,
                             schedule="warmup_cosine")
    return Comparison(profile.name, problems, seeds, sweep_seeds, best_lr, sweep)
