"""Simulator throughput and peak memory at ten-million-session scale.

Simulates about 200,000 creators over 180 days (about 11 million sessions) and prints
wall time, sessions per second and the process's peak resident memory, then the ratio
against a named baseline measured in the same run: the *RNG floor*, the time numpy
needs just to draw 30 float32 normals per session (the simulator draws about that many
random numbers per session, so the ratio says how much the rest costs on top).

Peak memory comes from ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (tracemalloc is far
too slow at this size); it is the peak of the whole process, so the baseline runs after
the simulation.

Usage::

    python benchmarks/bench_simulate.py                      # 200k creators x 180 days
    python benchmarks/bench_simulate.py --creators 20000 --days 90
    python benchmarks/bench_simulate.py --write /tmp/world   # also time write_world

Targets: at most 3 minutes and 8 GB on 2 cores for the default size.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np


def _peak_rss_gb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / (1024**3 if sys.platform == "darwin" else 1024**2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", metavar="DIR", help="also time write_world to DIR")
    args = parser.parse_args(argv)

    from govml.simulation import _kernel, simulate, write_world

    t0 = time.perf_counter()
    _kernel("enforce")  # numba import + compile (or cache load), reported separately
    _kernel("oracle")
    t_setup = time.perf_counter() - t0
    # a tiny world compiles the kernels for their argument types
    t0 = time.perf_counter()
    simulate(n_creators=50, n_days=7, seed=0)
    t_warm = time.perf_counter() - t0

    t0 = time.perf_counter()
    world = simulate(n_creators=args.creators, n_days=args.days, seed=args.seed)
    wall = time.perf_counter() - t0
    peak_sim = _peak_rss_gb()
    rows = world.tables.n_rows()
    n_sessions = rows["sessions"]

    print(f"simulate: {args.creators:,} creators x {args.days} days, seed {args.seed}")
    print(f"  kernel setup {t_setup:.1f}s, warm-up world {t_warm:.1f}s (not counted)")
    print("  rows: " + ", ".join(f"{k}={v:,}" for k, v in rows.items()))
    print(f"  wall time        {wall:8.1f} s")
    print(f"  sessions / s     {n_sessions / wall:11,.0f}")
    print(f"  peak RSS         {peak_sim:8.2f} GB (whole process)")

    if args.write:
        t0 = time.perf_counter()
        write_world(world, args.write, overwrite=True)
        t_write = time.perf_counter() - t0
        print(f"  write_world      {t_write:8.1f} s  ({n_sessions / t_write:,.0f} sessions/s)")
        print(f"  peak RSS         {_peak_rss_gb():8.2f} GB (after writing)")

    del world
    rng = np.random.default_rng(0)
    chunk = 1_000_000
    t0 = time.perf_counter()
    for start in range(0, n_sessions, chunk):
        size = min(chunk, n_sessions - start)
        for _ in range(30):
            rng.standard_normal(size, dtype=np.float32)
    floor = time.perf_counter() - t0
    print(f"baseline 'RNG floor' (30 float32 normals per session): {floor:.1f} s")
    print(f"ratio simulate / RNG floor: {wall / floor:.1f}x")
    target_ok = wall <= 180 and peak_sim <= 8
    print(f"target (<= 180 s, <= 8 GB): {'met' if target_ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
