"""Benchmarks, run by hand: `make bench` (see bench/__main__.py)."""
