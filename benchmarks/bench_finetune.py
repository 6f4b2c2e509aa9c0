"""One fine-tuning step of MiniLM: SLS, ADAMSLS and PLASLS against torch.optim.Adam, side by side.

Every optimizer fine-tunes its own copy of all-MiniLM-L6-v2 with a linear head (the model of
the fine-tuning chapter, ``deepoptim.studies.finetune``) on the same batches of 32 docstrings
cut to 16 tokens, through the chapter's step (``studies.FineTuningTask.step``: one dropout
seed shared by all the forward passes of a step). Steps run in blocks, the optimizers taking
turns block by block in a rotating order (``timing``), for 40 steps each (6 with
``--quick``). Per optimizer it reports, as ``benchmarks/bench_linesearch.py`` does
(``timing.floor_rows``):

- ``ratio``: median over blocks of (its time per step / Adam's in the same round), with the
  interquartile range;
- ``fwd/step``, ``bwd/step``: forward and backward passes per step, counted by hooks;
- ``floor``: ``(t_Adam + extra forwards per step * t_forward) / t_Adam``, with ``t_forward``
  one loss-only forward pass of the same batch, timed in the same rounds;
- ``vs floor``: median over blocks of (its time per step / its floor); the goal is at most 1.1.

``--profile NAME`` then runs a few more steps of optimizer ``NAME`` under cProfile and prints
where its time goes.

Run: ``python benchmarks/bench_finetune.py [--quick] [--steps N] [--block B] [--threads T]
[--profile NAME]``. One intra-op thread by default.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import math
import pstats
import time

import torch

from deepoptim import data, models, studies
from deepoptim.data import Tokens
from deepoptim.optim import loss_only
from deepoptim.train import closure_of
from timing import PassCounter, floor_rows, floor_table, forward_seconds, rotating_blocks

OPTIMIZERS = ("Adam", "SLS", "AdamSLS", "PLASLS")
ADAM_LR = 1e-4


class Runner:
    """One optimizer on its own copy of the model, stepping through the shared batches."""

    def __init__(self, name: str, encoder: torch.nn.Module, task: studies.FineTuningTask,
                 num_classes: int, seed: int) -> None:
        torch.manual_seed(seed)
        backbone = copy.deepcopy(encoder)
        backbone.pooler.requires_grad_(False)
        self.model = models.SentenceClassifier(backbone, models.SentenceHead(384, num_classes))
        self.model.train()
        self.optimizer = (torch.optim.Adam(self.model.parameters(), lr=ADAM_LR) if name == "Adam"
                          else studies.finetune_optimizer(name, self.model)[0])
        self.counter = PassCounter(self.model)
        self.task = task
        self.block_times: list[float] = []
        self.steps = 0

    def run_block(self, batches: list[Tokens]) -> None:
        """Time ``len(batches)`` steps of the chapter's fine-tuning step."""
        started = time.perf_counter()
        for batch in batches:
            self.task.step(self.model, self.optimizer, batch, None)
        self.block_times.append((time.perf_counter() - started) / len(batches))
        self.steps += len(batches)


def time_forward(runner: Runner, batches: list[Tokens]) -> float:
    """Seconds of one loss-only forward pass of a batch (closure included), not counted."""
    closures = iter([closure_of(lambda batch=batch: runner.task.loss(runner.model, batch),
                                runner.optimizer) for batch in batches])
    return forward_seconds(lambda: loss_only(next(closures)), len(batches), runner.counter)


def setup(seed: int) -> tuple[torch.nn.Module, studies.FineTuningTask, int]:
    """MiniLM, the docstrings task (500 texts, 16 tokens, batch 32) and its class count."""
    encoder, tokenizer = models.load_minilm()
    texts = data.stdlib_docstrings().small(500, seed=seed)
    return (encoder, studies.FineTuningTask(texts.tokenize(tokenizer, 16), batch_size=32),
            texts.num_classes)


def measure(encoder: torch.nn.Module, task: studies.FineTuningTask, num_classes: int,
            steps: int, block: int, seed: int = 0) -> list[dict]:
    """Interleaved blocks of every optimizer; one result row per optimizer."""
    runners = {name: Runner(name, encoder, task, num_classes, seed) for name in OPTIMIZERS}
    stream = task.batches(torch.Generator().manual_seed(seed))
    forward_times = rotating_blocks({name: r.run_block for name, r in runners.items()},
                                    lambda: next(stream),
                                    lambda batches: time_forward(runners["Adam"], batches),
                                    steps, block)
    return floor_rows({name: r.block_times for name, r in runners.items()},
                      {name: r.counter for name, r in runners.items()},
                      {name: r.steps for name, r in runners.items()}, forward_times)


def profile(encoder: torch.nn.Module, task: studies.FineTuningTask, num_classes: int,
            name: str, steps: int, seed: int = 0, top: int = 15) -> str:
    """cProfile of ``steps`` fine-tuning steps of optimizer ``name``, after one warm-up step:
    the ``top`` functions by their own time, as text."""
    runner = Runner(name, encoder, task, num_classes, seed)
    stream = task.batches(torch.Generator().manual_seed(seed))
    runner.run_block([next(stream)])
    batches = [next(stream) for _ in range(steps)]
    profiler = cProfile.Profile()
    profiler.runcall(runner.run_block, batches)
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(top)
    return "\n".join(line for line in buffer.getvalue().splitlines() if line.strip())


def main(argv: list[str] | None = None) -> list[dict]:
    """Parse arguments, measure, print the table (and a profile); return the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 steps in blocks of 2")
    parser.add_argument("--steps", type=int, default=None, help="steps per optimizer (40)")
    parser.add_argument("--block", type=int, default=None, help="steps per timed block (4)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", choices=OPTIMIZERS, default=None,
                        help="also profile this optimizer's steps with cProfile")
    args = parser.parse_args(argv)
    steps = args.steps or (6 if args.quick else 40)
    block = args.block or (2 if args.quick else 4)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        problem = setup(args.seed)
        rows = measure(*problem, steps, block, args.seed)
        report = None if args.profile is None else profile(*problem, args.profile, block,
                                                           args.seed)
    finally:
        torch.set_num_threads(threads)
    print(f"MiniLM fine-tuning, batch 32 x 16 tokens, {steps} steps per optimizer in blocks of "
          f"{block}, {args.threads} thread(s); ratios to torch.optim.Adam (median [IQR] over "
          "blocks)")
    print(floor_table(rows))
    if report is not None:
        print(f"\ncProfile of {block} steps of {args.profile} (by own time):\n{report}")
    assert all(math.isfinite(r["ratio"]) for r in rows)
    return rows


if __name__ == "__main__":
    main()
