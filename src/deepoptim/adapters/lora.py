r"""LoRA through the ``peft`` library (Hu et al., "LoRA: Low-rank adaptation of large language
models", ICLR 2022), applied to our models the way the book compares it.

A targeted linear map :math:`W_0 \in \mathbb R^{d_\text{out} \times d_\text{in}}` becomes

.. math:: h = W_0 x + \tfrac{\alpha}{r}\, B A\, \operatorname{dropout}(x),

:math:`A \in \mathbb R^{r \times d_\text{in}}` Kaiming-uniform, :math:`B \in \mathbb
R^{d_\text{out} \times r}` zero (so the model is unchanged at step 0), :math:`W_0` frozen. The
paper adapts the attention's query and value maps; :func:`lora_targets` names them for our
:class:`~deepoptim.models.GPT` (``q``, ``v``) and for a BERT such as all-MiniLM-L6-v2
(``query``, ``value``). Trainable parameters: :math:`r\,(d_\text{in} + d_\text{out})` per
targeted map, :math:`4Ldr` for the query and value maps of :math:`L` blocks of width
:math:`d` (:func:`~deepoptim.adapters.lora_parameter_count`).

:func:`add_lora` is a thin wrapper of ``peft.get_peft_model``: the returned ``PeftModel``
modifies the given model in place (give each arm its own copy), runs the base model inside
``with model.disable_adapter():`` and folds :math:`\frac{\alpha}{r}BA` into :math:`W_0` with
``model.merge_and_unload()`` (which returns the merged base model: LoRA costs nothing at
inference once merged).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from deepoptim._checks import check_in_range, check_int_at_least, check_positive

from ._freeze import check_module

__all__ = ["add_lora", "lora_targets"]

#: Query and value projection names, by the name of the query map.
_QUERY_VALUE = {"q": ["q", "v"], "query": ["query", "value"]}


def lora_targets(model: nn.Module) -> list[str]:
    """The names of ``model``'s query and value maps, as ``peft``'s ``target_modules``."""
    check_module("model", model)
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules()
             if isinstance(module, nn.Linear)}
    for query, targets in _QUERY_VALUE.items():
        if query in names:
            return targets
    raise ValueError(f"Invalid model value: {type(model).__name__} has no linear map named "
                     f"{' or '.join(map(repr, _QUERY_VALUE))} (pass targets=)")


def add_lora(model: nn.Module, rank: int, *, alpha: float | None = None,
             dropout: float = 0.0, targets: Sequence[str] | None = None,
             head: nn.Module | None = None) -> nn.Module:
    """``peft.get_peft_model(model, LoraConfig(...))`` with rank ``rank`` on ``targets``
    (default :func:`lora_targets`: query and value), scaling ``alpha / rank`` (``alpha``
    defaults to ``rank``: scaling 1) and ``dropout`` on the adapter's input, biases frozen.

    Every other parameter is frozen, but those of ``head`` (a task head inside ``model``,
    trained by every arm; it is left in place, not copied as peft's ``modules_to_save``
    would). Returns the ``PeftModel``.
    """
    check_module("model", model)
    check_module("head", head, optional=True)
    check_int_at_least("rank", rank, 1)
    check_in_range("dropout", dropout, 0.0, 1.0)
    if alpha is not None:
        check_positive("alpha", alpha)
    targets = lora_targets(model) if targets is None else list(targets)
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=rank if alpha is None else alpha,
                        lora_dropout=dropout, target_modules=targets, bias="none")
    wrapped = get_peft_model(model, config)
    if head is not None:
        head.requires_grad_(True)
    return wrapped
