"""Tables for readers: readable names, formatted numbers, no index, nothing raw."""

import math

import pandas as pd
import pytest

from deepoptim import experiment, studies


def _summary():
    records = [{"problem": "MLP", "config": "SGD", "train_loss": loss, "test_acc": acc}
               for loss, acc in ((0.5, 0.60), (0.7, 0.64))]
    records.append({"problem": "MLP", "config": "Adam", "train_loss": 0.2, "test_acc": 0.654})
    return experiment.summarize(records, by=["problem", "config"],
                                metrics=["train_loss", "test_acc"])


def test_results_table_shows_spreads_only_where_there_are_seeds():
    table = studies.results_table(_summary(), {"final training loss": ("train_loss", ".3f"),
                                               "test accuracy": ("test_acc", ".1%")},
                                  {"problem": "problem", "config": "method"})
    assert list(table.columns) == ["problem", "method", "final training loss", "test accuracy",
                                   "seeds"]
    assert isinstance(table.index, pd.RangeIndex)
    sgd, adam = table.iloc[0], table.iloc[1]
    assert (sgd["method"], sgd["final training loss"], sgd["seeds"]) == ("SGD", "0.600 ± 0.141", 2)
    assert sgd["test accuracy"] == "62.0% ± 2.8%"
    assert (adam["final training loss"], adam["test accuracy"], adam["seeds"]) == (
        "0.200", "65.4%", 1)


def test_results_table_names_what_is_missing():
    with pytest.raises(ValueError, match=r"\['accuracy_mean', 'accuracy_std'\] not in"):
        studies.results_table(_summary(), {"accuracy": ("accuracy", ".1%")}, {"config": "m"})
    with pytest.raises(ValueError, match="Invalid columns value"):
        studies.results_table(_summary(), {}, {"config": "method"})


def test_show_hides_the_index_and_formats_every_number():
    frame = pd.DataFrame({"name": ["a", "b"], "rate": [0.95183, math.nan],
                          "tiny": [9.023444e-16, 0.5], "count": [1, 2]},
                         index=pd.Index([7, 8], name="claim"))
    html = studies.show(frame, {"rate": ".4f"}).to_html()
    assert "0.9518" in html and "not run" in html and "9.02e-16" in html
    assert "9.023444e-16" not in html and ">nan<" not in html.lower()
    assert ">claim<" not in html and ">7<" not in html  # no index, no index name
    assert "none" in studies.show(frame, missing="none").to_html()
    with pytest.raises(ValueError, match=r"Invalid formats value: \['speed'\]"):
        studies.show(frame, {"speed": ".2f"})
