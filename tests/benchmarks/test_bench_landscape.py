"""The landscape benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import math


def test_bench_landscape_quick(capsys, load_benchmark):
    rows = load_benchmark("bench_landscape").main(["--quick"])
    assert {row["versus"] for row in rows} >= {"loop", "batched"}
    for row in rows:
        assert all(math.isfinite(r) and r > 0 for r in row["ratios"])
    assert "grid points per second" in capsys.readouterr().out
