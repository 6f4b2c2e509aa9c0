"""The small networks the book trains: the MNIST-1D baselines (logistic regression, MLP, 1-D CNN,
bidirectional GRU), a batch-normalised CNN and a small ResNet for the 8x8 digits and a tiny
vision transformer for both, the iterated block maps of Part IV (:class:`Sequential2D` and its
skip blocks), the small byte-level :class:`GPT` that Part IV's adapters fine-tune, the sentence
models of Part II (all-MiniLM-L6-v2 loaded offline by :func:`load_minilm`,
:class:`SentenceEncoder`, :class:`SentenceClassifier`, masked pooling and the searched
classification heads of :mod:`.heads`), plus :func:`build_model` to create any of the
small networks by name and :func:`count_parameters`.
Models only define architectures; they know nothing of data loading, optimizers or training.
"""

from .blocks import (
    Diagonal,
    LowRankLinear,
    MaskedLinear,
    ScaledIdentity,
    count_effective_parameters,
)
from .classifiers import MLP, CNN1d, DigitsCNN, GRUClassifier, LogisticRegression
from .gpt import (
    GPT,
    GPT_CONFIGS,
    GPTConfig,
    decode_bytes,
    encode_bytes,
    gpt_config,
)
from .heads import ConvBlocks, SentenceHead, TransformerBlocks, build_head
from .kv_cache import KVCache
from .minilm import SentenceClassifier, SentenceEncoder, load_minilm, minilm_path
from .pooling import POOLINGS, Pooling, cls_pool, max_pool, mean_pool
from .registry import MODELS, build_model, count_parameters
from .resnet import BasicBlock, ResNet
from .sequential2d import Sequential2D
from .vit import SelfAttention, TinyViT

__all__ = [
    "MLP",
    "MODELS",
    "POOLINGS",
    "BasicBlock",
    "CNN1d",
    "ConvBlocks",
    "Diagonal",
    "DigitsCNN",
    "GPT",
    "GPTConfig",
    "GPT_CONFIGS",
    "GRUClassifier",
    "KVCache",
    "LogisticRegression",
    "LowRankLinear",
    "MaskedLinear",
    "Pooling",
    "ResNet",
    "ScaledIdentity",
    "SelfAttention",
    "SentenceClassifier",
    "SentenceEncoder",
    "SentenceHead",
    "Sequential2D",
    "TinyViT",
    "TransformerBlocks",
    "build_head",
    "build_model",
    "cls_pool",
    "count_effective_parameters",
    "count_parameters",
    "decode_bytes",
    "encode_bytes",
    "gpt_config",
    "load_minilm",
    "max_pool",
    "mean_pool",
    "minilm_path",
]
