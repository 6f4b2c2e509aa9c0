"""Bias in text embeddings: measuring it and removing it (Part II, Kenneweg 2025 thesis).

Everything here works on embedding tensors, one vector per row: the caller embeds words or
sentences with a model of its choice, so importing this package imports no ``transformers``.

* :mod:`~deepoptim.nlp.bias`: the WEAT/SEAT test (:func:`weat`: effect size and permutation
  p-value; :func:`effect_size`, :func:`association`) and MAC (:func:`mac`);
* :mod:`~deepoptim.nlp.probes`: linear and MLP probes of a protected attribute;
* :mod:`~deepoptim.nlp.counterfactual`: counterfactual sentences by whole-word swaps;
* :mod:`~deepoptim.nlp.debias`: the counterfactual pair loss of Kenneweg et al. 2023 and the
  Sent-Debias baseline (bias subspace, projection removal).
"""

from .bias import WeatResult, association, effect_size, mac, weat
from .counterfactual import counterfactual, counterfactual_pairs
from .debias import bias_subspace, debias_loss, remove_subspace
from .probes import ProbeResult, linear_probe, mlp_probe

__all__ = [
    "ProbeResult",
    "WeatResult",
    "association",
    "bias_subspace",
    "counterfactual",
    "counterfactual_pairs",
    "debias_loss",
    "effect_size",
    "linear_probe",
    "mac",
    "mlp_probe",
    "remove_subspace",
    "weat",
]
