"""Tests of deepoptim.curvature (a package, so the tests share problems.py)."""
