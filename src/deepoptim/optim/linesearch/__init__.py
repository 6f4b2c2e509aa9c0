"""Stochastic line searches: one driver for any search direction, and the published methods.

* ``armijo.py``: the Armijo search (backtracking, Goldstein, SaLSa's smoothing), :class:`Line`
  and the named :class:`SearchStatus` every search ends with;
* ``slope.py``: the slope of a direction by a forward difference (KenSLS's);
* ``driver.py``: :class:`LineSearch`, the search along any
  :mod:`~deepoptim.optim.directions` direction, and the conventions of the whole family
  (closures, the group ``lr`` multiplier, state, diagnostics);
* one file per published method: ``sls.py`` (SLS, Vaswani et al. 2019), ``adamsls.py`` (ADAMSLS,
  Kenneweg et al. 2023), ``kensls.py`` (KenSLS, 2024), ``salsa.py`` (SaLSa, 2024),
  ``plasls.py`` (PLASLS, layer-wise, 2023).

The book derives them in its line-search chapters (Part I).
"""

from deepoptim.optim.linesearch.adamsls import AdamSLS
from deepoptim.optim.linesearch.armijo import (
    FAILURES,
    ArmijoSearch,
    Line,
    SearchResult,
    SearchStatus,
    reset_step_size,
)
from deepoptim.optim.linesearch.driver import LINE_SEARCH, LineSearch, LineSearchOptimizer
from deepoptim.optim.linesearch.kensls import KenSLS
from deepoptim.optim.linesearch.plasls import PLASLS
from deepoptim.optim.linesearch.salsa import SaLSa
from deepoptim.optim.linesearch.slope import finite_difference_slope, finite_difference_step
from deepoptim.optim.linesearch.sls import SLS, sls_growth

__all__ = [
    "FAILURES",
    "LINE_SEARCH",
    "PLASLS",
    "SLS",
    "AdamSLS",
    "ArmijoSearch",
    "KenSLS",
    "Line",
    "LineSearch",
    "LineSearchOptimizer",
    "SaLSa",
    "SearchResult",
    "SearchStatus",
    "finite_difference_slope",
    "finite_difference_step",
    "reset_step_size",
    "sls_growth",
]
