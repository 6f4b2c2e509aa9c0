"""Profiles, devices, seeds and result records: what every chapter sets up first.

A chapter receives three parameters from the book pipeline (``profile``, ``device``,
``seed``) and turns them into an :class:`Experiment` with :func:`setup`. The profile
decides the scale of everything the chapter runs:

* ``smoke``: seconds per chapter; checks that the code path runs, not the results;
* ``quick``: the default; real results at small scale on a CPU, minutes per
  chapter;
* ``full``: the scale the theses used, on a GPU, with more seeds.

Chapters read the shared knobs (``n_seeds``, ``train_steps``, ...) and choose their own
values per profile with :meth:`Profile.pick`. Repeated runs over seeds go through
:func:`run_seeds`, :func:`summarize` reduces a list of result records (plain dicts)
to mean, standard deviation and count per configuration, and
:func:`deepoptim.studies.display.results_table` shows such a summary to readers.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ._checks import check_in_range, check_int_at_least

__all__ = [
    "PROFILES",
    "Experiment",
    "Profile",
    "device_label",
    "get_profile",
    "resolve_device",
    "run_seeds",
    "seed_everything",
    "setup",
    "summarize",
]


@dataclasses.dataclass(frozen=True)
class Profile:
    """The scale of a chapter run.

    Attributes:
        name: ``"smoke"``, ``"quick"`` or ``"full"``.
        n_seeds: how many seeds each configuration is repeated over.
        train_steps: optimizer steps of a standard MNIST-1D training run (the MNIST-1D
            paper trains for 6000 steps of batch 100).
        eval_every: steps between two evaluations on the test set.
        description: one line for the chapter's header.
    """

    name: str
    n_seeds: int
    train_steps: int
    eval_every: int
    description: str

    def pick(self, **values: Any) -> Any:
        """Return the value given for this profile: ``profile.pick(smoke=1, quick=3, full=10)``."""
        missing = {p for p in PROFILES if p not in values}
        unknown = set(values) - set(PROFILES)
        if missing or unknown:
            raise ValueError(
                f"Invalid values value: {sorted(values)} (pick() needs exactly one value per "
                f"profile {sorted(PROFILES)}; missing {sorted(missing)}, unknown "
                f"{sorted(unknown)})"
            )
        return values[self.name]

    def seeds(self, base: int = 0) -> list[int]:
        """The seeds of this profile's repetitions: ``base, base + 1, ...``."""
        return list(range(base, base + self.n_seeds))


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", n_seeds=1, train_steps=20, eval_every=10,
                     description="seconds; checks that the code path runs, not the results"),
    "quick": Profile("quick", n_seeds=2, train_steps=2000, eval_every=250,
                     description="real results at small scale, minutes per chapter on a CPU"),
    "full": Profile("full", n_seeds=5, train_steps=6000, eval_every=250,
                    description="the theses' scale on a GPU, more seeds"),
}


def get_profile(name: str | Profile) -> Profile:
    """Look a profile up by name (a :class:`Profile` is returned as is)."""
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ValueError(f"Invalid profile value: {name!r} (choose from {sorted(PROFILES)})")
    return PROFILES[name]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU; anything else must be available."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"Invalid device value: {device!r}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"Invalid device value: {device!r} (CUDA is not available here)")
    return resolved


def device_label(device: str | torch.device = "auto") -> str:
    """The device ``device`` resolves to, in words: ``"cpu"`` or ``"cuda:0 (<GPU name>)"``."""
    resolved = resolve_device(device)
    if resolved.type != "cuda":
        return str(resolved)
    index = torch.cuda.current_device() if resolved.index is None else resolved.index
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA)."""
    check_int_at_least("seed", seed, 0)
    check_in_range("seed", seed, 0, 2**32)  # NumPy's limit
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- the legacy global generator is what users call
    torch.manual_seed(seed)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """What a chapter runs with: its profile, device and base seed."""

    profile: Profile
    device: torch.device
    seed: int

    def seeds(self) -> list[int]:
        """The seeds of the profile's repetitions, starting at the chapter's base seed."""
        return self.profile.seeds(self.seed)

    def describe(self) -> str:
        """One line recording how the chapter was executed."""
        threads = torch.get_num_threads()
        return (
            f"profile={self.profile.name} ({self.profile.description}); device={self.device}; "
            f"seed={self.seed}; torch {torch.__version__}; {platform.python_implementation()} "
            f"{platform.python_version()}; {os.cpu_count()} CPU cores, "
            f"{threads} torch thread{'' if threads == 1 else 's'}"
        )


def setup(profile: str | Profile = "quick", device: str = "auto", seed: int = 0) -> Experiment:
    """Validate a chapter's parameters, seed everything and return its :class:`Experiment`.

    On the CPU, torch computes on one thread from here on: the book's networks are small
    enough that more threads do not make them faster, a chapter's numbers then do not depend
    on how many cores the machine has (the threads decide the order in which sums are added),
    and several chapters at once (``--jobs``) do not compete for the cores.
    """
    experiment = Experiment(get_profile(profile), resolve_device(device), seed)
    seed_everything(seed)
    if experiment.device.type == "cpu":
        torch.set_num_threads(1)
    return experiment


def run_seeds(run: Callable[[int], dict[str, Any]], seeds: Iterable[int]) -> list[dict[str, Any]]:
    """Call ``run(seed)`` once per seed, after :func:`seed_everything`, and tag each record.

    ``run`` returns a flat dict of results (numbers and labels); the seed is added under
    ``"seed"``. Returns the records in seed order.
    """
    records = []
    for seed in seeds:
        seed_everything(seed)
        record = dict(run(seed))
        record["seed"] = seed
        records.append(record)
    return records


def summarize(
    records: Sequence[dict[str, Any]] | pd.DataFrame,
    by: Sequence[str],
    metrics: Sequence[str],
) -> pd.DataFrame:
    """Mean, standard deviation (``ddof=1``; 0 for one seed) and count of ``metrics`` per ``by``.

    Returns a frame with one row per configuration and columns ``<metric>_mean``,
    ``<metric>_std`` and ``n``.
    """
    frame = pd.DataFrame(records)
    absent = [c for c in [*by, *metrics] if c not in frame.columns]
    if absent:
        raise ValueError(f"Invalid column value: {absent} not in the records {list(frame.columns)}")
    grouped = frame.groupby(list(by), sort=False)[list(metrics)]
    means = grouped.mean().add_suffix("_mean")
    stds = grouped.std(ddof=1).fillna(0.0).add_suffix("_std")
    counts = grouped.size().rename("n")
    columns = [c for m in metrics for c in (f"{m}_mean", f"{m}_std")]
    return means.join(stds)[columns].join(counts).reset_index()
