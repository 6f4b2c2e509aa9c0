"""The book's colours: one fixed colour per optimizer, a stable one for any other name."""

from deepoptim import plotting


def test_every_fixed_colour_is_distinct():
    colours = list(plotting.OPTIMIZER_COLORS.values())
    assert len(set(colours)) == len(colours)


def test_unknown_names_get_a_stable_colour():
    assert plotting.color("MyOptimizer") == plotting.color("MyOptimizer")
    assert plotting.palette(["SGD", "X"]) == {"SGD": plotting.color("SGD"),
                                              "X": plotting.color("X")}


def test_the_old_names_stay_importable_from_the_package():
    """Every name chapters import from ``deepoptim.plotting`` is there after the split."""
    for name in ("color", "palette", "use_book_style", "mean_band", "rolling_mean",
                 "training_curves", "OPTIMIZER_COLORS", "CURVE_LOSSES"):
        assert name in plotting.__all__ and hasattr(plotting, name)
