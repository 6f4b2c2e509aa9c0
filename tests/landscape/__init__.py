"""Tests of deepoptim.landscape (a package, so the tests share problems.py)."""
