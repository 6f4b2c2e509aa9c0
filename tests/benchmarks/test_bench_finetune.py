"""The fine-tuning step benchmark runs in quick mode and gives finite ratios (no timing
asserted)."""

from __future__ import annotations

import math


def test_bench_finetune_quick(capsys, load_benchmark):
    rows = load_benchmark("bench_finetune").main(["--quick", "--steps", "2", "--block", "1",
                                                   "--profile", "AdamSLS"])
    assert [row["optimizer"] for row in rows] == ["Adam", "SLS", "AdamSLS", "PLASLS"]
    for row in rows:
        assert all(math.isfinite(row[key]) for key in ("ratio", "fwd", "bwd", "floor",
                                                       "vs_floor"))
        assert row["bwd"] == 1.0
    assert rows[0]["fwd"] == 1.0 and rows[0]["floor"] == 1.0
    assert all(row["fwd"] >= 2.0 for row in rows[1:])  # the gradient's pass and a trial
    out = capsys.readouterr().out
    assert "vs floor" in out and "cProfile of 1 steps of AdamSLS" in out
