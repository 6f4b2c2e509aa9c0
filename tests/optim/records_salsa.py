"""Records of SaLSa (``deepoptim.optim.linesearch.salsa``), with the independent float64
reference."""

from __future__ import annotations

from functools import partial

from deepoptim.optim import SaLSa

from .optim_info import ErrorCase, OptimInfo, OptimInput
from .records_linesearch import adam_errors, common_errors
from .reference_linesearch import ReferenceLineSearch

#: The reference bound to SaLSa's defaults (also used by test_salsa.py for the cadence).
ReferenceSaLSa = partial(ReferenceLineSearch, method="salsa", init_step_size=1.0, c=0.5,
                         beta_s=0.9, beta_b=0.8, growth=1.1)

RECORDS: list[OptimInfo] = [
    OptimInfo(
        cls=SaLSa,
        inputs=[
            OptimInput("default", {}),
            OptimInput("use_mv", {"use_mv": True}),
            OptimInput("no cadence", {"cadence": False}),
            OptimInput("constant step", {"max_trials": 0, "growth": 1.0, "use_mv": True,
                                         "init_step_size": 0.01}),
        ],
        errors=[
            *common_errors(),
            *adam_errors(),
            ErrorCase({"growth": 0.5}, ValueError, r"Invalid growth value: 0.5"),
            ErrorCase({"beta_s": -0.1}, ValueError, r"Invalid beta_s value: -0.1"),
        ],
        reference=ReferenceSaLSa,
        step_requires_closure=True,
        lr_argument=False,
    ),
]
