"""The line-search benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import math


def test_bench_linesearch_quick(capsys, load_benchmark):
    rows = load_benchmark("bench_linesearch").main(["--quick", "--steps", "20", "--block", "10"])
    assert {row["optimizer"] for row in rows} == {"Adam", "SLS", "AdamSLS", "AdamSLS-exact",
                                                  "KenSLS", "SaLSa", "PLASLS"}
    for row in rows:
        assert all(math.isfinite(row[key]) for key in ("ratio", "fwd", "bwd", "floor",
                                                       "vs_floor"))
        assert row["bwd"] == 1.0
        assert row["fwd"] >= 1.0
    assert "vs floor" in capsys.readouterr().out
