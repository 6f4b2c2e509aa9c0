"""Tests of deepoptim.plotting."""
