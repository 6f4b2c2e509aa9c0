"""Records of PLASLS (``deepoptim.optim.linesearch.plasls``).

The conformance problem has one parameter group, i.e. one part, where PLASLS is AdamSLS: its C5
reference is the AdamSLS loop of ``reference_linesearch.py``. Several parts are tested in
``test_layerwise.py``.
"""

from __future__ import annotations

from functools import partial

from deepoptim.optim import PLASLS

from .optim_info import ErrorCase, OptimInfo, OptimInput
from .records_linesearch import adam_errors, common_errors, reset_errors
from .reference_linesearch import ReferenceLineSearch

RECORDS: list[OptimInfo] = [
    OptimInfo(
        cls=PLASLS,
        inputs=[
            OptimInput("default", {}),
            OptimInput("rotation from step 2", {"warmup_steps": 1}),
            OptimInput("exact", {"variant": "exact", "warmup_steps": 0}),
        ],
        errors=[
            *common_errors("warmup_steps"),
            *reset_errors(),
            *adam_errors(),
            ErrorCase({"warmup_steps": -1}, ValueError, r"Invalid warmup_steps value: -1"),
            ErrorCase({"variant": "x"}, ValueError, r"Invalid variant value: 'x'"),
        ],
        reference=partial(ReferenceLineSearch, method="adamsls", init_step_size=0.1),
        step_requires_closure=True,
        lr_argument=False,
    ),
]
