"""Language tasks: bias in text embeddings (Part II, Kenneweg 2025 thesis), and generated text
scored against references (Part IV).

Everything here works on tensors and strings: the caller embeds words or sentences, or builds
the language model, of its choice, so importing this package imports no ``transformers`` (and
the metric libraries only when a metric is called).

* :mod:`~deepoptim.nlp.bias`: the WEAT/SEAT test (:func:`weat`: effect size and permutation
  p-value; :func:`effect_size`, :func:`association`) and MAC (:func:`mac`);
* :mod:`~deepoptim.nlp.probes`: linear and MLP probes of a protected attribute;
* :mod:`~deepoptim.nlp.counterfactual`: counterfactual sentences by whole-word swaps;
* :mod:`~deepoptim.nlp.debias`: the counterfactual pair loss of Kenneweg et al. 2023 and the
  Sent-Debias baseline (bias subspace, projection removal);
* :mod:`~deepoptim.nlp.generation`: greedy continuation of prompts by a causal language model,
  BLEU (``sacrebleu``) and ROUGE-L (``rouge-score``) against references (Part IV).
"""

from .bias import WeatResult, association, effect_size, mac, weat
from .counterfactual import counterfactual, counterfactual_pairs
from .debias import bias_subspace, debias_loss, remove_subspace
from .generation import bleu, greedy_continue, rouge_l
from .probes import ProbeResult, linear_probe, mlp_probe

__all__ = [
    "ProbeResult",
    "WeatResult",
    "association",
    "bias_subspace",
    "bleu",
    "counterfactual",
    "counterfactual_pairs",
    "debias_loss",
    "effect_size",
    "greedy_continue",
    "linear_probe",
    "mac",
    "mlp_probe",
    "remove_subspace",
    "rouge_l",
    "weat",
]
