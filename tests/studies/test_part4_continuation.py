"""Part IV's experiment code and sentences on made-up results: both directions, ties and
missing values."""

import math

import pandas as pd
import pytest
import torch

from deepoptim import studies
from deepoptim.continuation import (
    HomotopyActivation,
    LinearSchedule,
    NaturalContinuation,
    PseudoArclength,
)
from deepoptim.studies import part4_continuation as part4

NAN = math.nan


def test_the_secant_prediction_is_second_order_on_the_helix_and_exact_on_a_line():
    deltas = [0.1, 0.05, 0.025]
    secant = [max(part4.predictor_errors(d, secant=True)) for d in deltas]
    natural = [max(part4.predictor_errors(d, secant=False)) for d in deltas]
    assert abs(part4.loglog_slope(deltas, secant) - 2) < 0.1
    assert abs(part4.loglog_slope(deltas, natural) - 1) < 0.1
    # the natural prediction's error is the step along the path: |c'| delta
    assert math.isclose(natural[-1], math.sqrt(1 + math.pi**2) * 0.025, rel_tol=0.01)
    assert max(part4.predictor_errors(0.05, secant=True, curved=False)) < 1e-14
    assert len(part4.predictor_errors(0.25, secant=False)) == 3  # 0.25, 0.5, 0.75 (1 is cut)


def test_loglog_slope():
    assert math.isclose(part4.loglog_slope([1, 2, 4], [3, 12, 48]), 2.0)
    assert math.isnan(part4.loglog_slope([1], [1]))
    assert math.isnan(part4.loglog_slope([1, 2], [0.0, 1.0]))
    with pytest.raises(ValueError, match="Invalid y value"):
        part4.loglog_slope([1, 2], [1])


def test_order_verdict_both_ways():
    assert studies.order_verdict(2.01, 2) == ("shrinks like Δλ^2.01, the order 2 expected",
                                              "agrees")
    assert studies.order_verdict(1.3, 2) == ("shrinks like Δλ^1.30, not the order 2 expected",
                                             "disagrees")
    assert studies.order_verdict(-0.1, 2) == ("does not shrink with Δλ (slope -0.10)",
                                              "disagrees")
    assert studies.order_verdict(NAN, 2) == ("was not measured", "not measured")
    assert studies.order_verdict(1.7, 2, tolerance=0.5)[1] == "agrees"


def test_path_error_phrase():
    assert studies.path_error_phrase(2e-16, 0.1) == (
        "lands on the path to rounding (largest error 2e-16)", "agrees")
    assert studies.path_error_phrase(0.012, 0.1) == ("misses the path by up to 0.012",
                                                    "disagrees")
    assert studies.path_error_phrase(NAN, 0.1)[1] == "not measured"
    with pytest.raises(ValueError, match="Invalid scale value"):
        studies.path_error_phrase(0.1, 0.0)


def test_the_autoencoder_and_the_methods():
    torch.manual_seed(0)
    model, homotopy = part4.homotopy_autoencoder((6, 4, 2), lam=0.3)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 4), (4, 2), (2, 4),
                                                                   (4, 6)]
    assert sum(isinstance(m, HomotopyActivation) for m in model.modules()) == 2
    assert homotopy.lam == 0.3
    x = torch.randn(20, 6)
    task = part4.Reconstruction(x, x[:5], batch_size=8)
    assert set(task.evaluate(model)) == {"train_loss", "test_loss"}
    assert part4.with_continuation("plain", task, homotopy) is task and homotopy.lam == 1.0
    kinds = {"npc": NaturalContinuation, "npacs": NaturalContinuation, "parc": PseudoArclength}
    for method, kind in kinds.items():
        assert isinstance(part4.with_continuation(method, task, homotopy), kind)
    assert part4.with_continuation("npc", task, homotopy).secant is False
    assert part4.with_continuation("npacs", task, homotopy).secant is True
    assert isinstance(part4.with_continuation("linear", task, homotopy, steps=5), LinearSchedule)
    with pytest.raises(ValueError, match="Invalid method value: 'npacks'"):
        part4.with_continuation("npacks", task, homotopy)
    with pytest.raises(ValueError, match="Invalid options value"):
        part4.with_continuation("plain", task, homotopy, steps=3)


def test_run_continuation_records_lambda_and_times():
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(0))

    def build(method):
        def make(seed):
            torch.manual_seed(seed)
            model, homotopy = part4.homotopy_autoencoder((6, 4, 2))
            task = part4.with_continuation(method, part4.Reconstruction(x, x, 10), homotopy,
                                           **({"steps": 6} if method == "linear" else {}))
            return task, model, torch.optim.Adam(model.parameters(), lr=1e-2)
        return make

    runs = part4.run_continuation({"plain": build("plain"), "linear": build("linear")},
                                  [0, 1], steps=10, eval_every=5)
    final = runs["final"].set_index(["config", "seed"])
    assert final.loc[("linear", 0), "lambda_one"] == 7  # lambda = 1 after step 6
    assert final.loc[("plain", 1), "lambda_one"] == 1 and final.loc[("plain", 1), "lambda"] == 1
    assert math.isnan(final.loc[("plain", 0), "continuation_ms"])
    assert final.loc[("linear", 0), "continuation_ms"] > 0
    assert len(runs["evals"]) == 2 * 2 * 3 and len(runs["lambdas"]) == 2 * 2 * 10


def test_steps_to_reach_and_its_cell_and_verdict():
    evals = pd.DataFrame({"config": ["a"] * 3 + ["b"] * 3, "seed": [0] * 6,
                          "step": [0, 5, 10] * 2, "time": [0.0, 1.0, 2.0] * 2,
                          "train_loss": [3.0, 1.0, 0.5, 3.0, 2.5, 2.0]})
    reached = part4.steps_to_reach(evals, 1.0)
    assert reached["step"].tolist()[0] == 5 and math.isnan(reached["step"].tolist()[1])
    assert reached["time"].tolist()[0] == 1.0
    assert studies.reach_cell([300, 450], 2000) == "300 to 450"
    assert studies.reach_cell([450, 450], 2000) == "450"
    assert studies.reach_cell([450, NAN], 2000) == "450 (1 of 2 seeds)"
    assert studies.reach_cell([NAN, NAN], 2000) == "not within 2000"
    assert studies.reach_cell([], 2000) == "not run"
    assert studies.reach_verdict([300, 400], [2000, 2000]) == "agrees"
    assert studies.reach_verdict([300, NAN], [2000, 2000]) == "partly"
    assert studies.reach_verdict([2000, NAN], [2000, 2000]) == "disagrees"  # not sooner
    assert studies.reach_verdict([], []) == "not measured"
    assert studies.reach_verdict([1.0], [NAN]) == "not measured"
    with pytest.raises(ValueError, match="Invalid limits value"):
        studies.reach_verdict([1.0], [])


def test_lambda_phrase():
    assert studies.lambda_phrase([520, 610], [1, 1]) == "reaches λ = 1 after 520 to 610 steps"
    assert studies.lambda_phrase([520, 520], [1, 1]) == "reaches λ = 1 after 520 steps"
    assert studies.lambda_phrase([NAN, NAN], [0.43, 0.47]) == "ends at λ = 0.43 to 0.47, short of 1"
    assert studies.lambda_phrase([900, NAN], [1, 0.83]) == (
        "reaches λ = 1 in 1 of 2 seeds (after 900 steps) and ends at λ = 0.83 in the other")
    assert studies.lambda_phrase([1, 1], [1, 1]) == "is 1 throughout"
    assert studies.lambda_phrase([], []) == "not run"
    with pytest.raises(ValueError, match="Invalid finals value"):
        studies.lambda_phrase([1], [])


def test_loss_change_phrase():
    assert studies.loss_change_phrase(3.2e9, 0.1) == "ends 3.2e+10 times above its starting value"
    assert studies.loss_change_phrase(0.145, 0.1) == "ends 45% above its starting value"
    assert studies.loss_change_phrase(0.04, 0.1) == "ends 60% below its starting value"
    assert studies.loss_change_phrase(0.1001, 0.1) == "ends where it started"
    assert studies.loss_change_phrase(NAN, 0.1) == "was not measured"
    with pytest.raises(ValueError, match="Invalid start value"):
        studies.loss_change_phrase(0.1, 0.0)


def test_diverged_runs_count_runs_that_end_above_their_start():
    evals = pd.DataFrame({"config": ["a"] * 6 + ["b"] * 2, "seed": [0, 0, 0, 1, 1, 1, 0, 0],
                          "step": [0, 10, 20, 0, 10, 20, 0, 10],
                          "train_loss": [1.0, 0.5, 0.4, 1.0, 30.0, 10.0, 1.0, float("nan")]})
    assert part4.diverged_runs(evals, "a") == (1, 2)  # tenfold is diverged
    assert part4.diverged_runs(evals.assign(train_loss=evals["train_loss"].clip(upper=9.9)),
                               "a") == (0, 2)  # a rise short of tenfold is not
    assert part4.diverged_runs(evals, "b") == (1, 1)  # a NaN at the end diverged
    assert part4.diverged_runs(evals, "c") == (0, 0)


def test_diverged_phrase_replaces_a_comparison_only_when_runs_diverged():
    assert part4.diverged_phrase("NPACS", 0, 2) is None
    assert part4.diverged_phrase("NPACS", 2, 2) == (
        "NPACS diverged in 2 of 2 runs (its loss ended at least 10-fold above where it started)")
    assert part4.diverged_phrase("NPC", 1, 1).startswith("NPC diverged in 1 of 1 run (")
