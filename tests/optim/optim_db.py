"""The optimizer database: every record of every ``records_*.py`` module in this package.

``test_conformance.py`` runs its generic tests over ``OPTIM_DB``. To register an optimizer,
add a ``records_<family>.py`` module defining ``RECORDS`` (see ``optim_info.py`` for what a
record holds); nothing here needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from .optim_info import BASE_ERRORS, ErrorCase, OptimInfo, OptimInput

__all__ = ["BASE_ERRORS", "OPTIM_DB", "ErrorCase", "OptimInfo", "OptimInput"]


def _collect() -> list[OptimInfo]:
    """The ``RECORDS`` of every ``records_*`` module here, in module-name order."""
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if m.name.startswith("records_"))
    return [record for name in names
            for record in importlib.import_module(f"{__package__}.{name}").RECORDS]


OPTIM_DB: list[OptimInfo] = _collect()
