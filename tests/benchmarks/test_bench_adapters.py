"""The adapters benchmark runs in quick mode and gives finite ratios (no timing asserted)."""

from __future__ import annotations

import math


def _finite_ratios(res, repeats):
    assert len(res["ratios"]) == repeats
    assert all(math.isfinite(r) and r > 0 for r in res["ratios"])
    median, q1, q3 = res["ratio"]
    assert q1 <= median <= q3


def test_bench_adapters_quick(capsys, load_benchmark):
    bench = load_benchmark("bench_adapters")
    results = bench.main(quick=True, threads=None)
    arms = results["arms"]
    assert set(arms["train"]) == {"full", "bitfit", "lora", "solo", "solo_vs_lora"}
    assert set(arms["latency"]) == {"bitfit", "lora", "lora_merged", "solo"}
    for table in ("train", "latency"):
        for res in arms[table].values():
            _finite_ratios(res, 3)
    decoding = results["decoding"]
    assert decoding["tokens"] == 2 * 16  # quick: two prompts, half the tiny context each
    for name in ("base", "lora", "solo"):
        _finite_ratios(decoding[name], 3)
        assert decoding[name]["cached_tokens_per_s"] > 0 < decoding[name]["full_tokens_per_s"]
    counts = arms["counts"]
    assert counts["base"] == counts["lora_merged"] == 0
    # the Solo rank is the one whose count is nearest LoRA's
    assert abs(counts["solo"] - counts["lora"]) < 0.05 * counts["lora"]
    assert "compile" not in results
    out = capsys.readouterr().out
    assert "Solo / LoRA" in out and "lora_merged" in out and "torch.compile not run" in out
    assert "greedy decoding" in out


def test_merged_lora_arm_differs_from_the_base(load_benchmark):
    bench = load_benchmark("bench_adapters")
    import torch

    from deepoptim.models import GPT_CONFIGS

    arms = bench.build_arms(GPT_CONFIGS["tiny"], lora_rank=2)
    ids = torch.randint(0, 256, (1, 8))
    assert not torch.allclose(arms["lora_merged"](ids), arms["base"](ids))
    torch.testing.assert_close(arms["lora_merged"](ids), arms["lora"](ids), rtol=1e-5,
                               atol=1e-5)
