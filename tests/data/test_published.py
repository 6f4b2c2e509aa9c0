"""The MNIST-1D paper's table, parsed from the mnist1d package's metadata."""

import pytest

from deepoptim.data import mnist1d_published_accuracy

README = """
| Dataset | Logistic regression | MLP | CNN | GRU* | Human expert |
| --- | :---: | :---: | :---: | :---: | :---: |
| MNIST | 94% | 99+% | 99+% | 99+% | 99+% |
| MNIST-1D | 30% | 60%  | 90%  | 80%  | 95%  |
| MNIST-1D (shuffle**) | 31% | 61%  | 50%  | 52%  | ~30% |

text after the table
"""


def test_parses_a_table_in_the_published_format():
    table = mnist1d_published_accuracy(README).set_index(["dataset", "model"])
    assert table.loc[("regular", "cnn1d"), "accuracy"] == pytest.approx(0.90)
    assert table.loc[("shuffled", "gru"), "accuracy"] == pytest.approx(0.52)
    assert table.loc[("shuffled", "human"), "as_published"] == "~30%"
    assert table.loc[("MNIST", "mlp"), "accuracy"] == pytest.approx(0.99)
    assert len(table) == 15


def test_the_installed_package_has_the_table_for_both_variants():
    table = mnist1d_published_accuracy()
    for variant in ("regular", "shuffled"):
        rows = table[table["dataset"] == variant]
        assert set(rows["model"]) == {"logreg", "mlp", "cnn1d", "gru", "human"}
        assert rows["accuracy"].between(0.0, 1.0).all()


def test_missing_table_is_an_error():
    with pytest.raises(ValueError, match="no MNIST-1D accuracy table"):
        mnist1d_published_accuracy("no table here")


def test_unexpected_column_is_an_error():
    with pytest.raises(ValueError, match="unexpected columns"):
        mnist1d_published_accuracy(README.replace("GRU*", "Transformer"))
