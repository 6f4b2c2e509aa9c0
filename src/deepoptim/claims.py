"""A chapter's claims beside what it measured, and the record the book's ledger is built from.

Every chapter ends with a table: each claim of its sources (a paper, a thesis, the authors'
code), where it comes from, the published value when there is one, what the chapter measured,
and the verdict, a function of the measured values. The chapter builds the table with
:func:`claims_table` and records it with :func:`glue_claims`, under the glue key
:data:`CLAIMS_KEY`, as JSON together with the seeds it ran. The book pipeline
(:mod:`deepoptim.book`) reads the record back from every executed chapter with
:func:`read_claims` and assembles the book's "Claims and verdicts" page from them, so the
overview is made of the chapters' own numbers and cannot disagree with them.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["CLAIMS_KEY", "COLUMNS", "claims_table", "glue_claims", "read_claims"]

#: The glue key of a chapter's claims record.
CLAIMS_KEY = "claims"
#: The columns of a claims table, in order; ``published`` may be left out of a row.
COLUMNS = ("claim", "source", "published", "ours", "verdict")
_REQUIRED = ("claim", "source", "ours", "verdict")


def claims_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The claims as a table with the columns :data:`COLUMNS` (``published`` empty where a
    row has none), every entry a string, one row per claim in the given order.

    A row without a required column, with an unknown one, or with an empty claim or verdict is
    a ``ValueError`` naming it.
    """
    if not rows:
        raise ValueError("Invalid rows value: [] (give at least one claim)")
    table = []
    for index, row in enumerate(rows):
        missing = [column for column in _REQUIRED if column not in row]
        unknown = [column for column in row if column not in COLUMNS]
        if missing or unknown:
            raise ValueError(f"Invalid rows[{index}] value: missing {missing}, unknown "
                             f"{unknown} (expected the columns {list(COLUMNS)})")
        for column in ("claim", "verdict"):
            if not str(row[column]).strip():
                raise ValueError(f"Invalid rows[{index}] value: an empty {column}")
        table.append({column: str(row.get(column, "")) for column in COLUMNS})
    return pd.DataFrame(table, columns=list(COLUMNS))


def glue_claims(table: pd.DataFrame, seeds: Sequence[int]) -> None:
    """Record a chapter's :func:`claims_table` and its seeds for the book's ledger (glued, not
    displayed)."""
    from myst_nb import glue

    if list(table.columns) != list(COLUMNS):
        raise ValueError(f"Invalid table value: columns {list(table.columns)} (expected "
                         f"{list(COLUMNS)}, as claims_table makes them)")
    record = {"seeds": [int(seed) for seed in seeds], "claims": table.to_dict("records")}
    glue(CLAIMS_KEY, json.dumps(record), display=False)


def read_claims(notebook: Mapping[str, Any]) -> dict[str, Any] | None:
    """The claims record of an executed notebook (its JSON as a dict: ``seeds``, ``claims``),
    or ``None`` when the chapter recorded none."""
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") != CLAIMS_KEY:
                continue
            data = output.get("data", {})
            text = data.get("application/papermill.record/text/plain", data.get("text/plain"))
            text = "".join(text) if isinstance(text, list) else text
            return json.loads(ast.literal_eval(text))
    return None
