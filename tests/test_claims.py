"""Claims tables, and their record round trip through an executed notebook's glue output."""

import pytest

from deepoptim import claims

ROWS = [
    {"claim": "SLS beats tuned SGD", "source": "Vaswani et al. 2019", "ours": "0 of 3",
     "verdict": "disagrees"},
    {"claim": "about 2 forward passes per step", "source": "the authors' code",
     "published": "2.16", "ours": "2.16 ± 0.01", "verdict": "agrees"},
]


def test_claims_table_orders_the_columns_and_fills_published():
    table = claims.claims_table(ROWS)
    assert list(table.columns) == list(claims.COLUMNS)
    assert table["published"].tolist() == ["", "2.16"]
    assert table["claim"].tolist() == [row["claim"] for row in ROWS]


@pytest.mark.parametrize(("rows", "match"), [
    ([], r"Invalid rows value: \[\]"),
    ([{"claim": "x", "source": "y", "ours": "z"}], r"rows\[0\] value: missing \['verdict'\]"),
    ([{**ROWS[0], "note": "n"}], r"unknown \['note'\]"),
    ([ROWS[0], {**ROWS[1], "verdict": " "}], r"Invalid rows\[1\] value: an empty verdict"),
])
def test_bad_rows_are_refused(rows, match):
    with pytest.raises(ValueError, match=match):
        claims.claims_table(rows)


def test_the_record_round_trips_through_the_glue_output(monkeypatch):
    """glue stores the value's repr under papermill's record mime type; read_claims parses it."""
    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: glued.update({name: value}))
    table = claims.claims_table(ROWS)
    claims.glue_claims(table, seeds=[0, 1])
    output = {"output_type": "display_data",
              "metadata": {"scrapbook": {"name": claims.CLAIMS_KEY}},
              "data": {"application/papermill.record/text/plain": repr(glued["claims"])}}
    notebook = {"cells": [{"cell_type": "code", "outputs": []},
                          {"cell_type": "code", "outputs": [output]}]}
    record = claims.read_claims(notebook)
    assert record["seeds"] == [0, 1]
    assert record["claims"] == table.to_dict("records")
    assert claims.read_claims({"cells": [{"cell_type": "markdown"}]}) is None


def test_glue_claims_wants_a_claims_table():
    with pytest.raises(ValueError, match="Invalid table value"):
        claims.glue_claims(claims.claims_table(ROWS)[["claim", "verdict"]], seeds=[0])
