"""Parameter-efficient fine-tuning of a frozen transformer, measured fairly (Part IV).

* :mod:`.pretrain`: the base, our small byte-level :class:`~deepoptim.models.GPT` pretrained
  on Python's help topics and cached on disk (:func:`pretrained_gpt`);
* :mod:`.solo`: Solo-Connection (Pathak 2024; Pathak and Paffenroth 2025), gated low-rank long
  skips between blocks sharing one encoder/decoder pair, hooked onto any block stack
  (:class:`SoloConnected`);
* :mod:`.lora`: LoRA through ``peft`` on the query and value maps (:func:`add_lora`);
* :mod:`.bitfit`: the biases only (:func:`bitfit`); :func:`freeze` for zero-shot and heads;
* :mod:`.counting`: one trainable-parameter count for every arm (:func:`count_trainable`) and
  the closed forms it agrees with.

Every arm modifies the model it is given (hooks, peft's layers, ``requires_grad``): give each
its own ``copy.deepcopy`` of the base.
"""

from ._freeze import freeze
from .bitfit import bitfit
from .counting import ParameterCount, count_trainable, lora_parameter_count, solo_parameter_count
from .lora import add_lora, lora_targets
from .pretrain import (
    LanguageModelTask,
    PretrainRecipe,
    bits_per_byte,
    pretrain_gpt,
    pretrained_gpt,
    pretraining_log,
    pydoc_corpus,
)
from .solo import GATES, INITS, SoloConnected, SoloConnection, connections, find_blocks

__all__ = [
    "GATES",
    "INITS",
    "LanguageModelTask",
    "ParameterCount",
    "PretrainRecipe",
    "SoloConnected",
    "SoloConnection",
    "add_lora",
    "bitfit",
    "bits_per_byte",
    "connections",
    "count_trainable",
    "find_blocks",
    "freeze",
    "lora_parameter_count",
    "lora_targets",
    "pretrain_gpt",
    "pretrained_gpt",
    "pretraining_log",
    "pydoc_corpus",
    "solo_parameter_count",
]
