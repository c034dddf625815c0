"""Benchmarks. `make bench` runs every `bench/bench_*.py`; each prints its own figures.

Each benchmark measures against a baseline taken in the same run and reports a ratio, because
the machines it runs on are shared and noisy. A benchmark is a module with a `main()` function.
"""
