r"""Pretraining the small GPT on Python's own documentation, cached on disk.

The corpus is the text of ``help('TOPIC')`` for every help topic (``pydoc_data.topics``, part
of the standard library, so it is there offline): 79 topics, about 466 kB of UTF-8 in CPython
3.11. Every topic (in sorted order) is cut at 90% of its characters: the first parts, joined by
blank lines, are the training stream of bytes, the last parts the validation stream.

The objective is next-byte prediction (:class:`LanguageModelTask`): a batch is
``batch_size`` windows of ``context + 1`` bytes starting at uniform random offsets of the
stream, the loss is the mean cross-entropy of byte :math:`t+1` given bytes :math:`\le t`. The
held-out score is bits per byte, :math:`\frac{1}{N \ln 2}\sum_t -\ln p(x_{t+1} \mid x_{\le t})`
over consecutive non-overlapping windows of the validation stream (:func:`bits_per_byte`).
Training is :func:`deepoptim.train.fit` with AdamW and a warm-up-then-cosine learning rate
(:class:`PretrainRecipe`).

:func:`pretrained_gpt` returns the trained model, pretraining it only when no checkpoint is
cached: the weights (and the run's record, :func:`pretraining_log`) are stored with
:func:`deepoptim.data._cache.cached_arrays` (written atomically) under a key holding the
configuration, the recipe, a hash of the corpus and a hash of the source code (this module's and
:mod:`deepoptim.models.gpt`'s), so any change to one of them trains afresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim._checks import check_int_at_least, check_non_negative, check_positive
from deepoptim.data._cache import cached_arrays
from deepoptim.models import gpt as _gpt
from deepoptim.models.gpt import GPT, GPTConfig, gpt_config
from deepoptim.schedules import make_schedule
from deepoptim.train import History, Task, fit

__all__ = ["LanguageModelTask", "PretrainRecipe", "bits_per_byte", "pretrain_gpt",
           "pretrained_gpt", "pretraining_log", "pydoc_corpus"]


# The source of the running model and pretraining code (read once, at import).
_CODE_HASH = hashlib.sha256(Path(_gpt.__file__).read_bytes()
                            + Path(__file__).read_bytes()).hexdigest()


def pydoc_corpus() -> tuple[torch.Tensor, torch.Tensor]:
    """The training and validation byte streams (int64 ids) of the help topics."""
    from pydoc_data.topics import topics

    texts = [topics[name] for name in sorted(topics)]
    cuts = [round(0.9 * len(text)) for text in texts]
    train = "\n\n".join(text[:cut] for text, cut in zip(texts, cuts, strict=True))
    valid = "\n\n".join(text[cut:] for text, cut in zip(texts, cuts, strict=True))
    return _gpt.encode_bytes(train), _gpt.encode_bytes(valid)


@dataclasses.dataclass(frozen=True)
class PretrainRecipe:
    """How :func:`pretrain_gpt` trains: AdamW (``lr``, betas (0.9, 0.95), ``weight_decay`` on
    every parameter) for ``steps`` steps of ``batch_size`` random windows, the learning rate
    warmed up linearly over the first ``warmup_fraction`` of the steps then annealed by a
    cosine (``"warmup_cosine"`` of :mod:`deepoptim.schedules`); ``seed`` draws the
    initialisation and the batches."""

    steps: int = 600
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        check_int_at_least("steps", self.steps, 1)
        check_int_at_least("batch_size", self.batch_size, 1)
        check_positive("lr", self.lr)
        check_non_negative("weight_decay", self.weight_decay)
        check_int_at_least("seed", self.seed, 0)


@torch.no_grad()
def bits_per_byte(model: nn.Module, ids: torch.Tensor, context: int,
                  batch_size: int = 64) -> float:
    """Mean next-byte cross-entropy of ``model`` on the 1-D stream ``ids``, in bits.

    The stream is cut into consecutive windows of ``context + 1`` bytes (the last partial one
    dropped); each window's first ``context`` bytes predict its last ``context``. Eval mode,
    the model's mode restored.
    """
    check_int_at_least("context", context, 1)
    windows = len(ids) // (context + 1)
    if windows == 0:
        raise ValueError(f"Invalid ids value: {len(ids)} bytes (expected at least context + 1 "
                         f"= {context + 1})")
    chunks = ids[: windows * (context + 1)].view(windows, context + 1)
    was_training = model.training
    model.eval()
    try:
        total = 0.0
        for start in range(0, windows, batch_size):
            chunk = chunks[start:start + batch_size]
            logits = model(chunk[:, :-1])
            total += float(F.cross_entropy(logits.flatten(0, 1), chunk[:, 1:].flatten(),
                                           reduction="sum"))
    finally:
        model.train(was_training)
    return total / (windows * context * math.log(2))


@dataclasses.dataclass(frozen=True, eq=False)
class LanguageModelTask(Task):
    """Next-byte prediction on a stream (see the module docstring): batches of random windows
    of ``train``, evaluated as :func:`bits_per_byte` on ``valid`` (``valid_bits_per_byte``)."""

    train: torch.Tensor
    valid: torch.Tensor
    context: int
    batch_size: int = 16

    def __post_init__(self) -> None:
        check_int_at_least("context", self.context, 1)
        check_int_at_least("batch_size", self.batch_size, 1)
        for name in ("train", "valid"):
            stream = getattr(self, name)
            if not isinstance(stream, torch.Tensor) or stream.dim() != 1 or \
                    len(stream) <= self.context:
                raise ValueError(f"Invalid {name} value: expected a 1-D tensor of more than "
                                 f"context={self.context} byte ids")

    def batches(self, generator: torch.Generator) -> Iterator[torch.Tensor]:
        """Windows (batch_size, context + 1) at offsets drawn uniformly from ``generator``."""
        offsets = torch.arange(self.context + 1)
        while True:
            starts = torch.randint(len(self.train) - self.context, (self.batch_size, 1),
                                   generator=generator)
            yield self.train[starts + offsets]

    def loss(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of each next byte."""
        logits = model(batch[:, :-1])
        return F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return {"valid_bits_per_byte": bits_per_byte(model, self.valid, self.context)}


def pretrain_gpt(config: GPTConfig | str = "small", recipe: PretrainRecipe | None = None,
                 progress: bool | None = None) -> tuple[GPT, History]:
    """Train a fresh :class:`GPT` on :func:`pydoc_corpus` by ``recipe`` (no cache)."""
    config, recipe = gpt_config(config), recipe or PretrainRecipe()
    train, valid = pydoc_corpus()
    torch.manual_seed(recipe.seed)
    model = GPT(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, betas=(0.9, 0.95),
                                  weight_decay=recipe.weight_decay)
    scheduler = make_schedule(optimizer, "warmup_cosine", recipe.steps, recipe.warmup_fraction)
    task = LanguageModelTask(train, valid, config.context, recipe.batch_size)
    history = fit(task, model, optimizer, steps=recipe.steps, seed=recipe.seed,
                  scheduler=scheduler, progress=progress)
    return model.eval(), history


def _checkpoint(config: GPTConfig | str, recipe: PretrainRecipe | None,
                progress: bool | None) -> dict[str, np.ndarray]:
    config, recipe = gpt_config(config), recipe or PretrainRecipe()
    train, valid = pydoc_corpus()
    corpus = hashlib.sha256(train.numpy().astype(np.uint8).tobytes()
                            + valid.numpy().astype(np.uint8).tobytes()).hexdigest()
    key = {"config": dataclasses.asdict(config), "recipe": dataclasses.asdict(recipe),
           "corpus": corpus, "code": _CODE_HASH}

    def make() -> dict[str, np.ndarray]:
        model, history = pretrain_gpt(config, recipe, progress)
        steps, evals = history.steps_frame(), history.evals_frame()
        arrays = {f"weight/{name}": tensor.detach().numpy()
                  for name, tensor in model.state_dict().items()}
        arrays.update({"log/step": steps["step"].to_numpy(), "log/loss": steps["loss"].to_numpy(),
                       "log/time": steps["time"].to_numpy(),
                       "log/eval_step": evals["step"].to_numpy(),
                       "log/valid_bits_per_byte": evals["valid_bits_per_byte"].to_numpy()})
        return arrays

    return cached_arrays("gpt-pretrained", key, make)


def pretrained_gpt(config: GPTConfig | str = "small", recipe: PretrainRecipe | None = None,
                   progress: bool | None = None) -> GPT:
    """The :class:`GPT` of ``config`` pretrained by ``recipe`` (default
    :class:`PretrainRecipe`), loaded from the cache, or pretrained and cached on a miss.

    ``progress`` shows the pretraining's progress bar (default: on, unless
    ``DEEPOPTIM_PROGRESS=0``). The model is returned in eval mode, all parameters trainable;
    each call returns a new model, so every fine-tuning arm can own one.
    """
    arrays = _checkpoint(config, recipe, progress)
    model = GPT(config)
    model.load_state_dict({name.removeprefix("weight/"): torch.from_numpy(array)
                           for name, array in arrays.items() if name.startswith("weight/")})
    return model.eval()


def pretraining_log(config: GPTConfig | str = "small", recipe: PretrainRecipe | None = None,
                    progress: bool | None = None) -> dict[str, np.ndarray]:
    """The record of the cached pretraining run of :func:`pretrained_gpt` (run on a miss):
    ``step``, ``loss`` (mini-batch loss in nats per byte), ``time`` (seconds) per step, and
    ``eval_step``, ``valid_bits_per_byte`` at the start and the end."""
    arrays = _checkpoint(config, recipe, progress)
    return {name.removeprefix("log/"): array for name, array in arrays.items()
            if name.startswith("log/")}
