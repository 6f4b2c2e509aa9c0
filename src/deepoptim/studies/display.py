"""Tables for readers: readable column names, formatted numbers, no index, nothing raw.

A chapter computes with tidy frames (``train_loss_mean``, ``test_acc_std``, ``n``); it shows
them through these two functions:

* :func:`results_table`: a summary of :func:`deepoptim.experiment.summarize` as text, one
  column per metric with its mean and spread over seeds (:func:`~deepoptim.studies.verdicts.
  mean_spread`: a single seed shows the value alone, a missing run "not run"), the label
  columns renamed for readers, and the number of seeds;
* :func:`show`: any frame for display, without its index, with each numeric column formatted
  by its own format and missing values written out.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from pandas.io.formats.style import Styler

from .verdicts import mean_spread

__all__ = ["results_table", "show"]


def results_table(summary: pd.DataFrame, columns: Mapping[str, tuple[str, str]],
                  labels: Mapping[str, str]) -> pd.DataFrame:
    """A summary as readers see it, one row per configuration in the summary's order.

    ``labels`` maps the summary's label columns to their names for readers (e.g.
    ``{"problem": "problem", "config": "method"}``), in the order they are shown; ``columns``
    maps a reader's column name to ``(metric, spec)``, the text of :func:`mean_spread` of
    ``<metric>_mean``, ``<metric>_std`` and ``n`` with the format ``spec`` (e.g.
    ``{"training loss": ("train_loss", ".3f")}``); a last column ``seeds`` holds ``n``.
    """
    if not columns:
        raise ValueError("Invalid columns value: {} (give at least one metric)")
    needed = [*labels, *(f"{metric}_{stat}" for metric, _ in columns.values()
                         for stat in ("mean", "std")), "n"]
    absent = [column for column in needed if column not in summary.columns]
    if absent:
        raise ValueError(f"Invalid column value: {absent} not in the summary "
                         f"{list(summary.columns)}")
    table = summary[list(labels)].rename(columns=dict(labels)).reset_index(drop=True)
    for name, (metric, spec) in columns.items():
        table[name] = [mean_spread(float(m), float(s), int(n), spec) for m, s, n in
                       zip(summary[f"{metric}_mean"], summary[f"{metric}_std"], summary["n"],
                           strict=True)]
    table["seeds"] = summary["n"].astype(int).to_numpy()
    return table


def show(frame: pd.DataFrame, formats: Mapping[str, str] | None = None, *,
         missing: str = "not run") -> Styler:
    """``frame`` for display: no index (reset a meaningful one into columns first), each
    column of ``formats`` formatted with its spec (e.g. ``{"rate": ".4f"}``), other float
    columns with ``.3g``, and missing values shown as ``missing``."""
    formats = dict(formats or {})
    unknown = [column for column in formats if column not in frame.columns]
    if unknown:
        raise ValueError(f"Invalid formats value: {unknown} not in the columns "
                         f"{list(frame.columns)}")
    floats = [column for column in frame.columns
              if pd.api.types.is_float_dtype(frame[column]) and column not in formats]
    specs = {**{column: ".3g" for column in floats}, **formats}
    styler = frame.style.hide(axis="index")
    for column, spec in specs.items():
        styler = styler.format(lambda value, spec=spec: format(value, spec), subset=[column],
                               na_rep=missing)
    return styler.format(na_rep=missing, subset=[c for c in frame.columns if c not in specs])
