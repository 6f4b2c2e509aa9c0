"""The ProxSGD benchmark runs in quick mode on one thread and reports, beside every ratio, what
it is checked against (no timing asserted)."""

from __future__ import annotations

import math


def finite_quartiles(values) -> bool:
    median, q1, q3 = values
    return all(math.isfinite(v) and v > 0 for v in values) and q1 <= median <= q3


def test_bench_proxsgd_quick(capsys, load_benchmark):
    import torch

    threads = torch.get_num_threads()
    try:
        results = load_benchmark("bench_proxsgd").main(quick=True)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    steps = results["steps_64"]
    assert set(steps) >= {"none", "l1", "l1 uncounted", "elastic net", "group rows", "l1 fused"}
    compiled = steps["l1 fused"]
    assert compiled["compile_s"] > 0 and compiled["pays_after"] > 0
    for res in steps.values():
        assert finite_quartiles(res["ratio"]) and res["block"] >= 1
        assert res["gap"] < 1e-12  # the timed step computes the paper's update
    assert finite_quartiles(results["floor_64"])
    inference = results["inference_0.5"]
    assert set(inference["speedups"]) == {"pruned", "fused", "end to end"}
    assert all(finite_quartiles(s) for s in inference["speedups"].values())
    assert 0 < inference["flops"] < 1 and 0 < inference["params"] < 1
    assert inference["gap"] < 1e-4
    assert len(inference["layers"]["pruned fused"]) == len(inference["names"])
    out = capsys.readouterr().out
    assert "1 thread(s)" in out and "kernel floor" in out and "speed-up" in out
    assert "pays after" in out
