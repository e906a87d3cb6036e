"""Reproducible benchmarks against the fake Qualtrics server on 127.0.0.1 (issue 7).

Each module runs as ``python -m benchmarks.NAME [--quick]`` and prints a small table with the ratio
that matters; ``python -m benchmarks [--quick]`` runs them all. Results: ``docs/benchmarks.md``.
"""

__all__ = ["ALL"]

#: Benchmark modules in the order ``python -m benchmarks`` runs them.
ALL = (
    "model_conversion",
    "sdk_overhead",
    "memory_streaming",
    "delivery_cost",
    "rate_limited_delivery",
    "receiver_throughput",
)
