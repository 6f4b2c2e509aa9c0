"""The book's experiment code: seeded runs, grids, sweeps and each part's comparison set-up.

Only the book's chapters import this package; nothing else in ``deepoptim`` does. The library
proper (optimizers, schedules, the training loop, profiles and summaries) knows nothing of it.

* :mod:`~deepoptim.studies.runs`: one seeded training run of a registered optimizer
  (:func:`run_classifier`), named configurations times seeds as tidy frames (:func:`run_grid`,
  :class:`Runs`, :func:`concat_runs`) and per-run means of per-step diagnostics
  (:func:`with_step_means`);
* :mod:`~deepoptim.studies.tuning`: step-size sweeps (:func:`tune_lr`) and whether they
  bracket the optimum (:func:`at_grid_edge`);
* :mod:`~deepoptim.studies.summaries`: the quantities the chapters read from a summary of runs
  (:func:`mean_of`, :func:`loss_ratio`, :func:`standardized_difference`);
* :mod:`~deepoptim.studies.part1`: Part I's comparison of the line-search chapters
  (:func:`setup_comparison`);
* :mod:`~deepoptim.studies.verdicts`: measured values in words, both ways (:func:`joined`,
  :func:`count_phrase`, :func:`share_verdict`, :func:`holds_verdict`, :func:`holds_phrase`,
  :func:`times_phrase`, :func:`every_phrase`, :func:`speed_verdict`,
  :func:`relative_phrase`, :func:`relative_to`, :func:`clear_difference`,
  :func:`mean_spread`, :func:`spread_phrase`, :func:`seeds_phrase`,
  :func:`machine_phrase`), and the sentences of
  the chapters built from them: :mod:`~deepoptim.studies.part1_verdicts` for Part I,
  :mod:`~deepoptim.studies.part3` for Part III, :mod:`~deepoptim.studies.part5` for Part V;
* :mod:`~deepoptim.studies.display`: tables for readers (:func:`results_table`, :func:`show`);
* :mod:`~deepoptim.studies.peers`: the authors' published SaLSa run through the same training
  loop (:class:`ReferenceSaLSa`, :func:`run_reference`).
"""

from deepoptim.studies.display import results_table, show
from deepoptim.studies.part1 import COMPARISON_LR_GRID, Comparison, Problem, setup_comparison
from deepoptim.studies.part1_verdicts import (
    better_than_baselines,
    budget_sentence,
    expectation_phrase,
    frequency_word,
    gru_budget_sentence,
    interpolation_verdict,
    layerwise_verdict,
    loss_halving_verdict,
    overhead_verdict,
    paper_accuracy_verdict,
    reproduction_verdict,
    roundoff_verdict,
    search_cost_phrase,
    seed_spread_sentence,
    small_start_sentence,
    spatial_prior_verdict,
    step_scale_phrase,
    wins_summary,
)
from deepoptim.studies.part3 import (
    anisotropy_verdict,
    batched_products_sentence,
    binarised_weights_phrase,
    early_share_phrase,
    eos_phrase,
    exact_match_verdict,
    flatness_phrase,
    flops_speed_phrase,
    growth_phrase,
    larger_step_phrase,
    loss_rises_sentence,
    matched_sparsity_sentence,
    nas_random_phrase,
    nas_supernet_phrase,
    orthogonality_phrase,
    outlier_gap_phrase,
    penalty_effect_phrase,
    products_phrase,
    proximal_gap_phrase,
    quadratic_model_phrase,
    random_cosine_phrase,
    smooth_convergence_phrase,
    sparsity_claim,
    spectrum_shape,
    trace_estimators_phrase,
    weight_spike_phrase,
)
from deepoptim.studies.part5 import not_worse_verdict, row_sum_verdict, versus_baselines
from deepoptim.studies.peers import ReferenceSaLSa, run_reference
from deepoptim.studies.runs import (
    METRICS,
    RUN_KEYS,
    Runs,
    concat_runs,
    run_classifier,
    run_grid,
    with_step_means,
)
from deepoptim.studies.summaries import loss_ratio, mean_of, standardized_difference
from deepoptim.studies.tuning import at_grid_edge, tune_lr
from deepoptim.studies.verdicts import (
    clear_difference,
    count_phrase,
    every_phrase,
    holds_phrase,
    holds_verdict,
    joined,
    machine_phrase,
    mean_spread,
    relative_phrase,
    relative_to,
    seeds_phrase,
    share_verdict,
    speed_verdict,
    spread_phrase,
    times_phrase,
)

__all__ = [
    "COMPARISON_LR_GRID",
    "METRICS",
    "RUN_KEYS",
    "Comparison",
    "Problem",
    "ReferenceSaLSa",
    "Runs",
    "anisotropy_verdict",
    "at_grid_edge",
    "batched_products_sentence",
    "binarised_weights_phrase",
    "better_than_baselines",
    "budget_sentence",
    "clear_difference",
    "concat_runs",
    "count_phrase",
    "early_share_phrase",
    "eos_phrase",
    "every_phrase",
    "exact_match_verdict",
    "expectation_phrase",
    "flatness_phrase",
    "flops_speed_phrase",
    "frequency_word",
    "growth_phrase",
    "gru_budget_sentence",
    "holds_phrase",
    "holds_verdict",
    "interpolation_verdict",
    "joined",
    "larger_step_phrase",
    "layerwise_verdict",
    "loss_halving_verdict",
    "loss_ratio",
    "loss_rises_sentence",
    "machine_phrase",
    "matched_sparsity_sentence",
    "mean_of",
    "mean_spread",
    "nas_random_phrase",
    "nas_supernet_phrase",
    "not_worse_verdict",
    "orthogonality_phrase",
    "outlier_gap_phrase",
    "overhead_verdict",
    "paper_accuracy_verdict",
    "penalty_effect_phrase",
    "products_phrase",
    "proximal_gap_phrase",
    "quadratic_model_phrase",
    "random_cosine_phrase",
    "relative_phrase",
    "relative_to",
    "reproduction_verdict",
    "results_table",
    "roundoff_verdict",
    "row_sum_verdict",
    "run_classifier",
    "run_grid",
    "run_reference",
    "search_cost_phrase",
    "seed_spread_sentence",
    "seeds_phrase",
    "setup_comparison",
    "share_verdict",
    "show",
    "small_start_sentence",
    "smooth_convergence_phrase",
    "sparsity_claim",
    "spatial_prior_verdict",
    "spectrum_shape",
    "speed_verdict",
    "spread_phrase",
    "standardized_difference",
    "step_scale_phrase",
    "times_phrase",
    "trace_estimators_phrase",
    "tune_lr",
    "versus_baselines",
    "weight_spike_phrase",
    "wins_summary",
    "with_step_means",
]
