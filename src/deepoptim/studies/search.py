"""Seeded, resumable hyperparameter searches: a thin layer over optuna.

Kenneweg et al. searched learning-rate distributions over BERT's depth (one log-uniform rate
per part, reward accuracy on the old task plus on the new one) and classification heads with
AutoGluon's Bayesian optimisation and Hyperband (grace period 1, reduction factor 2, 50
trials). We use optuna's equivalents: a tree-structured Parzen estimator
(``optuna.samplers.TPESampler``) proposes each trial, and a Hyperband pruner
(``optuna.pruners.HyperbandPruner``) stops trials whose intermediate values (say, the
accuracy after each epoch) fall behind their bracket's. Everything else is optuna's own; this
module only fixes what a chapter needs to rerun and resume:

* the study lives in an SQLite file the caller names (optuna's RDB storage), so a chapter
  resumes it where it stopped, and :func:`optimize` runs only the trials still missing;
* the sampler is seeded: a fresh study with the same seed and a deterministic objective
  proposes the same trials. optuna does not store a sampler's random state, and a sampler
  re-created with the same seed would propose the first trials again; a study reopened with
  :math:`n` trials in it therefore gets ``TPESampler(seed=seed + n)``, so the resumed trials
  are new points and a resume from the same :math:`n` is reproducible too (but differs from
  an uninterrupted run after trial :math:`n`);
* the seed, direction and pruner settings are stored with the study, and reopening it with
  others is an error, since its trials would no longer follow one recipe.

An objective receives an ``optuna.Trial``, draws its hyperparameters with the trial's
``suggest_*`` methods, calls :func:`report` after each epoch (which raises
``optuna.TrialPruned`` when Hyperband stops the trial) and returns the final value. A pruned
trial is kept in the study as ``PRUNED``; an objective that raises is kept as ``FAIL`` and the
error propagates. A trial that was running when its process died stays ``RUNNING`` in the file
and is not counted as finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import optuna

from deepoptim._checks import check_choice, check_int_at_least

__all__ = ["load_or_create", "optimize", "report"]

#: The trial states that count as done when :func:`optimize` tops a study up.
_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
             optuna.trial.TrialState.FAIL)


def load_or_create(path: str | os.PathLike, name: str, *, seed: int,
                   direction: str = "maximize", min_resource: int = 1,
                   max_resource: int | str = "auto", reduction_factor: int = 2) -> optuna.Study:
    """The study ``name`` in the SQLite file ``path``: opened if it exists, created if not.

    Args:
        path: the SQLite file (created, with its folder, if missing).
        name: the study's name in that file.
        seed: the TPE sampler's seed (``seed + n`` when the study already holds ``n`` trials).
        direction: ``"maximize"`` or ``"minimize"`` the objective's value.
        min_resource, max_resource, reduction_factor: the Hyperband pruner's settings (the
            step reported first, the last step or ``"auto"`` for the largest one the first
            trial reports, and the factor by which each rung keeps fewer trials); the
            defaults are the paper's grace period 1 and reduction factor 2.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"Invalid name value: {name!r} (expected a non-empty str)")
    check_int_at_least("seed", seed, 0)
    check_choice("direction", direction, ("maximize", "minimize"))
    check_int_at_least("min_resource", min_resource, 1)
    if max_resource != "auto":
        check_int_at_least("max_resource", max_resource, min_resource)
    check_int_at_least("reduction_factor", reduction_factor, 2)
    settings = dict(seed=seed, direction=direction, min_resource=min_resource,
                    max_resource=max_resource, reduction_factor=reduction_factor)
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    pruner = optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=max_resource,
                                            reduction_factor=reduction_factor)
    study = optuna.create_study(storage=f"sqlite:///{path}", study_name=name, direction=direction,
                                pruner=pruner, load_if_exists=True)
    stored = study.user_attrs.get("settings")
    if stored is None and study.trials:
        raise ValueError(f"Invalid name value: {name!r} (the study in {path} holds trials but "
                         "was not created by load_or_create)")
    if stored is None:
        study.set_user_attr("settings", settings)
    elif stored != settings:
        raise ValueError(f"Invalid settings value: {settings!r} (the study {name!r} in {path} was "
                         f"created with {stored!r})")
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def optimize(study: optuna.Study, objective: Callable[[optuna.Trial], float],
             num_trials: int) -> int:
    """Run ``objective`` until ``study`` holds ``num_trials`` finished trials (complete,
    pruned or failed); returns how many trials this call ran (0 when it was already done)."""
    if not isinstance(study, optuna.Study):
        raise TypeError(f"study must be an optuna.Study, got {type(study).__name__}")
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    check_int_at_least("num_trials", num_trials, 0)
    missing = max(0, num_trials - len(study.get_trials(deepcopy=False, states=_FINISHED)))
    if missing:
        study.optimize(objective, n_trials=missing)
    return missing


def report(trial: optuna.Trial, value: float, step: int) -> None:
    """Report ``value`` at ``step`` (an epoch) and raise ``optuna.TrialPruned`` when the
    study's pruner stops the trial there."""
    trial.report(value, step)
    if trial.should_prune():
        raise optuna.TrialPruned(f"trial {trial.number} pruned at step {step} with value {value}")
