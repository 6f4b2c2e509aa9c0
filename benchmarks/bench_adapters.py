"""Fine-tuning arms side by side: training step and per-token latency against the frozen base,
and the GPT's pretraining throughput eager against ``torch.compile``.

All arms are built from one :class:`~deepoptim.models.GPT` (random weights: time does not
depend on them), each on its own copy, and timed in one process with the methods alternating
in a rotating order over ``--repeats`` rounds (``timing.alternate``); ratios are per round,
median [IQR].

1. **Training step** (a batch of windows, next-byte cross-entropy, backward, AdamW on the
   trainable parameters): full fine-tuning, BitFit, LoRA through ``peft`` (q and v, rank
   ``--lora-rank``) and Solo-Connection (stride 1, the rank whose trainable count is nearest
   LoRA's, both printed). Reported: each arm's time / the frozen base's forward pass on the same
   batch, and Solo / LoRA. Goal (issue): Solo's step at most LoRA's at equal trainable
   parameters.
2. **Per-token latency**: one next-byte step of generation without a key-value cache (a
   forward pass of one sequence of ``context`` bytes), eval mode, no gradient: BitFit, LoRA,
   LoRA merged into the weights (``merge_and_unload``) and Solo, each / the frozen base.
   Goal: merged LoRA = the base (1.0x); Solo cannot merge and pays its skips.
3. **Greedy decoding** (:func:`~deepoptim.nlp.greedy_continue`, ``--batch`` prompts of
   different lengths, half the context new bytes each, no stop byte): with the key/value cache
   (the padded prompts once, then one byte per row a step) and without (every prefix re-run),
   for the base, LoRA and Solo. Reported: tokens/s of each, and the speed-up (uncached time /
   cached time, per round). Both produce the same bytes (checked before timing).
4. **Pretraining throughput**: tokens per second of the pretraining step (full model, AdamW)
   eager and under ``torch.compile`` (inductor, which needs a C++ compiler on CPU; a failure is
   caught and printed, never hidden). Compilation time is reported apart and excluded.

Run: ``python benchmarks/bench_adapters.py [--quick] [--threads N] [--repeats R]
[--no-compile]``. One torch thread by default; the quick mode uses the tiny GPT and skips
nothing but the compiler unless ``--compile`` is given.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim.adapters import (
    SoloConnected,
    add_lora,
    bitfit,
    connections,
    count_trainable,
    freeze,
    solo_parameter_count,
)
from deepoptim.models import GPT, GPT_CONFIGS
from deepoptim.nlp import greedy_continue
from timing import alternate, quartiles, show


def matched_solo_rank(config, lora_count: int, stride: int = 1) -> int:
    """The Solo-Connection rank whose trainable count is nearest ``lora_count``."""
    n = len(connections(config.n_layers, stride))
    return min(range(1, 4 * config.dim),
               key=lambda r: abs(solo_parameter_count(config.dim, r, n) - lora_count))


def build_arms(config, lora_rank: int) -> dict[str, nn.Module]:
    """Every arm on its own copy of one GPT (float32, random weights)."""
    torch.manual_seed(0)
    base = GPT(config)
    lora_count = 4 * config.n_layers * config.dim * lora_rank
    solo_rank = matched_solo_rank(config, lora_count)
    lora = add_lora(copy.deepcopy(base), rank=lora_rank)
    with torch.no_grad():  # B = 0 at init: give it values, so merging changes the weights
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.02)
    merged = copy.deepcopy(lora).merge_and_unload()
    return {"base": freeze(copy.deepcopy(base)), "full": copy.deepcopy(base),
            "bitfit": bitfit(copy.deepcopy(base)), "lora": lora, "lora_merged": merged,
            "solo": SoloConnected(copy.deepcopy(base), solo_rank, 1)}


def _train_step(model: nn.Module, batch: torch.Tensor) -> Callable[[], None]:
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def run() -> None:
        optimizer.zero_grad(set_to_none=True)
        logits = model(batch[:, :-1])
        F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten()).backward()
        optimizer.step()
    return run


def _forward(model: nn.Module, ids: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        with torch.no_grad():
            model(ids)[:, -1].argmax(-1)
    return run


def _ratios(times: dict[str, list[float]], reference: str) -> dict[str, dict[str, object]]:
    out = {}
    for name, values in times.items():
        if name != reference:
            ratios = [a / b for a, b in zip(values, times[reference], strict=True)]
            out[name] = {"ratio": quartiles(ratios), "ratios": ratios,
                         "ms": 1e3 * quartiles(values)[0]}
    return out


def bench_arms(config, lora_rank: int, batch_size: int, count: int, repeats: int) -> dict:
    """Training-step and latency ratios of every arm (see the module docstring)."""
    arms = build_arms(config, lora_rank)
    for arm in arms.values():
        arm.train()
    generator = torch.Generator().manual_seed(1)
    batch = torch.randint(0, 256, (batch_size, config.context + 1), generator=generator)
    counts = {name: count_trainable(arm).trainable for name, arm in arms.items()}

    def repeated(run: Callable[[], None]) -> Callable[[], None]:
        return lambda: [run() for _ in range(count)]

    training = {name: repeated(_train_step(arms[name], batch))
                for name in ("full", "bitfit", "lora", "solo")}
    training["base_forward"] = repeated(_forward(arms["base"], batch[:, :-1]))
    train_times = alternate(training, repeats)
    train_result = _ratios(train_times, "base_forward")
    solo_vs_lora = [a / b for a, b in zip(train_times["solo"], train_times["lora"], strict=True)]
    train_result["solo_vs_lora"] = {"ratio": quartiles(solo_vs_lora), "ratios": solo_vs_lora}

    for arm in arms.values():
        arm.eval()
    sequence = batch[:1, :-1]
    latency = {name: repeated(_forward(arms[name], sequence))
               for name in ("base", "bitfit", "lora", "lora_merged", "solo")}
    latency_result = _ratios(alternate(latency, repeats), "base")
    return {"counts": counts, "train": train_result, "latency": latency_result}


def bench_decoding(config, lora_rank: int, batch_size: int, repeats: int) -> dict:
    """Greedy decoding with and without the key/value cache (see the module docstring)."""
    arms = build_arms(config, lora_rank)
    generator = torch.Generator().manual_seed(2)
    max_new = config.context // 2
    lengths = torch.linspace(config.context // 8, config.context // 2, batch_size).long()
    prompts = [torch.randint(0, 256, (int(n),), generator=generator) for n in lengths]
    tokens = batch_size * max_new
    runs = {}
    for name in ("base", "lora", "solo"):
        model = arms[name]
        cached = greedy_continue(model, prompts, max_new)
        full = greedy_continue(model, prompts, max_new, cache=False)
        if [t.tolist() for t in cached] != [t.tolist() for t in full]:
            raise RuntimeError(f"{name}: cached and uncached greedy decoding differ")
        runs[f"{name}_cached"] = lambda m=model: greedy_continue(m, prompts, max_new)
        runs[f"{name}_full"] = lambda m=model: greedy_continue(m, prompts, max_new, cache=False)
    times = alternate(runs, repeats)
    result: dict[str, object] = {"tokens": tokens}
    for name in ("base", "lora", "solo"):
        cached, full = times[f"{name}_cached"], times[f"{name}_full"]
        speedups = [b / a for a, b in zip(cached, full, strict=True)]
        result[name] = {"ratio": quartiles(speedups), "ratios": speedups,
                        "cached_tokens_per_s": tokens / quartiles(cached)[0],
                        "full_tokens_per_s": tokens / quartiles(full)[0]}
    return result


def bench_compile(config, batch_size: int, count: int, repeats: int) -> dict[str, object]:
    """Pretraining tokens/s eager and compiled (or the compiler's error)."""
    torch.manual_seed(0)
    eager = GPT(config)
    batch = torch.randint(0, 256, (batch_size, config.context + 1))
    tokens = batch_size * config.context * count
    runs = {"eager": _train_step(eager, batch)}
    result: dict[str, object] = {}
    try:
        compiled = torch.compile(copy.deepcopy(eager))
        step = _train_step(compiled, batch)
        start = time.perf_counter()
        step()
        result["compile_s"] = time.perf_counter() - start
        runs["compiled"] = step
    except Exception as error:  # noqa: BLE001  any compiler failure is reported, not raised
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    times = alternate({name: lambda run=run: [run() for _ in range(count)]
                       for name, run in runs.items()}, repeats)
    result["tokens_per_s"] = {name: tokens / quartiles(values)[0]
                              for name, values in times.items()}
    if "compiled" in times:
        speedups = [a / b for a, b in zip(times["eager"], times["compiled"], strict=True)]
        result["speedup"] = {"ratio": quartiles(speedups), "ratios": speedups}
    return result


def main(quick: bool = False, threads: int | None = 1, repeats: int | None = None,
         compile_model: bool | None = None, lora_rank: int = 4) -> dict:
    """Run the four measurements, print them, return the results."""
    if threads is not None:
        torch.set_num_threads(threads)
    config = GPT_CONFIGS["tiny" if quick else "small"]
    repeats = repeats or (3 if quick else 15)
    count, batch_size = (1, 2) if quick else (3, 16)
    compile_model = (not quick) if compile_model is None else compile_model
    print(f"GPT L={config.n_layers} d={config.dim} context={config.context}, batch {batch_size},"
          f" {count} calls x {repeats} rounds, {torch.get_num_threads()} thread(s)")
    arms = bench_arms(config, lora_rank, batch_size, count, repeats)
    counts = arms["counts"]
    print("trainable parameters: " + ", ".join(f"{name} {n:,}" for name, n in counts.items()
                                               if name not in ("base", "lora_merged")))
    print("training step / frozen base forward:")
    for name in ("full", "bitfit", "lora", "solo"):
        res = arms["train"][name]
        print(f"  {name:12s} {show(res['ratios'])}x   ({res['ms']:.2f} ms/{count} steps)")
    print(f"  Solo / LoRA  {show(arms['train']['solo_vs_lora']['ratios'])}x   "
          f"(goal: <= 1 at {counts['solo']:,} vs {counts['lora']:,} parameters)")
    print("per-token latency (one forward of the context) / frozen base:")
    for name in ("bitfit", "lora", "lora_merged", "solo"):
        res = arms["latency"][name]
        print(f"  {name:12s} {show(res['ratios'])}x   ({res['ms']:.3f} ms)")
    decoding = bench_decoding(config, lora_rank, batch_size, repeats)
    print(f"greedy decoding, {decoding['tokens']} new bytes per call, cached / uncached "
          "(same bytes):")
    for name in ("base", "lora", "solo"):
        res = decoding[name]
        print(f"  {name:12s} speed-up {show(res['ratios'])}x   "
              f"({res['cached_tokens_per_s']:,.0f} vs {res['full_tokens_per_s']:,.0f} tokens/s)")
    results = {"arms": arms, "decoding": decoding}
    if compile_model:
        compiled = bench_compile(config, batch_size, count, repeats)
        rates = ", ".join(f"{name} {rate:,.0f}" for name, rate in
                          compiled["tokens_per_s"].items())
        print(f"pretraining throughput (tokens/s): {rates}")
        if "error" in compiled:
            print(f"  torch.compile failed on this machine: {compiled['error']}")
        else:
            print(f"  compiled / eager speed-up {show(compiled['speedup']['ratios'])}x "
                  f"(compilation {compiled['compile_s']:.1f} s, not counted)")
        results["compile"] = compiled
    else:
        print("pretraining throughput: torch.compile not run (--compile to run it)")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny GPT, a few rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 15)")
    parser.add_argument("--lora-rank", type=int, default=4, help="LoRA rank (default 4)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--compile", dest="compile_model", action="store_true", default=None,
                       help="time torch.compile (default: on, off in --quick)")
    group.add_argument("--no-compile", dest="compile_model", action="store_false")
    args = parser.parse_args()
    main(quick=args.quick, threads=args.threads, repeats=args.repeats,
         compile_model=args.compile_model, lora_rank=args.lora_rank)
