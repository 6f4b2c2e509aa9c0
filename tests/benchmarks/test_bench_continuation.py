"""The continuation benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import math


def test_bench_continuation_quick(capsys, load_benchmark):
    results = load_benchmark("bench_continuation").main(quick=True)
    assert set(results) == {"Adam", "SLS"}
    for res in results.values():
        assert set(res["ratios"]) == {"NPC", "NPACS", "linear", "PARC"}
        assert all(len(r) == 2 and all(math.isfinite(x) and x > 0 for x in r)
                   for r in res["ratios"].values())
        assert res["below_one"] and all(t > 0 for t in res["plain"])
    out = capsys.readouterr().out
    assert "time per step / plain training's" in out and "PARC" in out
