"""Helpers shared by the benchmark scripts (not part of govml).

The scripts run from the repository root (``python benchmarks/bench_x.py``), so this
folder is on ``sys.path`` and ``from _common import ...`` finds this module.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


def peak_mb() -> float:
    """Peak resident memory of this process so far (``ru_maxrss``), in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024**2 if sys.platform == "darwin" else 1024)  # bytes on macOS, else KiB


def current_mb() -> float:
    """Resident memory of this process now (``VmRSS``), in MB; NaN where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def reset_peak() -> bool:
    """Reset the peak-memory mark (``ru_maxrss``) to the current RSS (Linux >= 4.0).

    Lets a script measure the peak of one phase (e.g. building features) without the
    transient peak of an earlier one (e.g. reading parquet). False when unsupported.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return peak_mb() <= current_mb() * 1.05 + 16


def max_rel_diff(a: np.ndarray, b: np.ndarray, floor: float) -> float:
    """Largest ``|a - b| / max(|a|, |b|, floor)``; inf when NaN patterns differ.

    ``floor`` is the typical magnitude of the aggregated value: polars' rolling sums add
    entering and subtract leaving values, so a window whose remaining values are all
    missing can read e.g. 5e-13 where the exact (govml) sum is 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if (np.isnan(a) != np.isnan(b)).any():
        return float("inf")
    diff = np.abs(np.where(np.isnan(a), 0.0, a - b))
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    return float(np.nanmax(rel)) if len(rel) else 0.0


@dataclass
class Timer:
    """Wall and CPU (all threads) seconds of a ``with timed() as t:`` block."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    out = Timer()
    t, c = time.perf_counter(), time.process_time()
    try:
        yield out
    finally:
        out.wall = time.perf_counter() - t
        out.cpu = time.process_time() - c
