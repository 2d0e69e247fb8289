"""Benchmarks: `make bench` (or `python -m bench`) prints one table with each figure against its goal."""
