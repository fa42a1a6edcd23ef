"""Benchmark: govml.features.windows.trailing_windows against polars rolling windows.

Every event is also a query (its own time, prior events only), which is exactly what
polars computes with ``df.rolling(index_column=time, period=w, group_by=key,
closed="left")``. Both engines run in this process on the same pandas frame (unsorted
keys, events in time order like a log export); the script checks that every value agrees
to 1e-9 relative and prints rows/s for each, the JIT warm-up time, peak memory
(ru_maxrss) after each phase and the ratio govml/polars (target <= 1.5).

    python benchmarks/bench_windows.py [--rows N] [--keys K] [--days D] [--seed S]

polars is a benchmark-only dependency (govml never imports it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import max_rel_diff, peak_mb

sys.path.insert(0, str(Path.cwd()))  # run from the repository root (not pip-installed)

WINDOWS = ("7D", "30D")
VALUES = ("gmv", "viewers")
AGGS = ("sum", "mean", "std", "min", "max")


def make_events(n_rows: int, n_keys: int, n_days: int, seed: int) -> pd.DataFrame:
    """Heavy-tailed activity per key, microsecond times over ``n_days``, ~1% NaN values."""
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 1.0, n_keys)
    key = rng.choice(n_keys, size=n_rows, p=weights / weights.sum())
    start = pd.Timestamp("2025-01-01", tz="UTC").value // 1_000
    micros = start + rng.integers(0, n_days * 86_400_000_000, n_rows)
    micros = np.sort(micros)  # a log export: time order, keys interleaved
    gmv = rng.lognormal(4.0, 1.5, n_rows)
    viewers = np.round(rng.lognormal(5.0, 1.2, n_rows))
    gmv[rng.random(n_rows) < 0.01] = np.nan
    viewers[rng.random(n_rows) < 0.01] = np.nan
    return pd.DataFrame(
        {
            "creator_id": pd.Series([f"c{k:06d}" for k in key], dtype="str"),
            "ended_at": pd.Series(micros.astype("datetime64[us]")).dt.tz_localize("UTC"),
            "gmv": gmv,
            "viewers": viewers,
        }
    )


def run_govml(events: pd.DataFrame) -> pd.DataFrame:
    from govml.features.windows import trailing_windows

    return trailing_windows(
        events,
        events,
        keys="creator_id",
        event_time="ended_at",
        values=VALUES,
        windows=WINDOWS,
        aggregations=("count", *AGGS),
        time_since_last=False,
    )


def run_polars(events: pd.DataFrame) -> pd.DataFrame:
    import polars as pl

    df = pl.from_pandas(events, nan_to_null=True).with_row_index("row")
    df = df.sort(["creator_id", "ended_at"])  # polars needs time sorted within each key
    parts = []
    for w in WINDOWS:
        label = w.lower()
        exprs = [pl.len().alias(f"count_{label}")]
        for v in VALUES:
            col = pl.col(v)
            exprs += [
                col.sum().alias(f"{v}_sum_{label}"),
                col.mean().alias(f"{v}_mean_{label}"),
                col.std().alias(f"{v}_std_{label}"),
                col.min().alias(f"{v}_min_{label}"),
                col.max().alias(f"{v}_max_{label}"),
            ]
        parts.append(
            df.rolling(index_column="ended_at", period=label, group_by="creator_id", closed="left")
            .agg(exprs)
            .drop("creator_id", "ended_at")
        )
    out = pl.concat([df.select("row"), *parts], how="horizontal").sort("row")
    return out.drop("row").to_pandas()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--keys", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    events = make_events(args.rows, args.keys, args.days, args.seed)
    print(
        f"events: {len(events):,} rows, {events['creator_id'].nunique():,} keys over "
        f"{args.days} days; values {list(VALUES)}; windows {list(WINDOWS)}; "
        f"aggregations count + {list(AGGS)}"
    )
    print(f"peak RSS after building the data: {peak_mb():,.0f} MB")

    t = time.perf_counter()
    run_govml(events.head(1_000))  # JIT compile (or load from numba's cache)
    warm = time.perf_counter() - t
    print(f"govml JIT warm-up (first small call, incl. numba import): {warm:.2f} s")

    t, c = time.perf_counter(), time.process_time()
    ours = run_govml(events)
    t_govml, c_govml = time.perf_counter() - t, time.process_time() - c
    print(
        f"govml : {t_govml:6.2f} s  {len(events) / t_govml:12,.0f} rows/s  "
        f"(CPU {c_govml:.2f} s over all threads)"
    )
    print(f"peak RSS after govml: {peak_mb():,.0f} MB")

    t, c = time.perf_counter(), time.process_time()
    theirs = run_polars(events)
    t_polars, c_polars = time.perf_counter() - t, time.process_time() - c
    print(
        f"polars: {t_polars:6.2f} s  {len(events) / t_polars:12,.0f} rows/s  "
        f"(CPU {c_polars:.2f} s over all threads)"
    )
    print(f"peak RSS after polars: {peak_mb():,.0f} MB")

    worst = 0.0
    floors = {v: float(np.nanmean(np.abs(events[v].to_numpy()))) for v in VALUES}
    for col in ours.columns:
        floor = next((f for v, f in floors.items() if col.startswith(f"{v}_")), 1.0)
        d = max_rel_diff(ours[col].to_numpy(), theirs[col].to_numpy(dtype=np.float64), floor)
        worst = max(worst, d)
        if d > 1e-9:
            print(f"MISMATCH {col}: max relative difference {d:.3g}")
    ok = worst <= 1e-9
    print(f"values agree: {ok} (max relative difference {worst:.2e} over {ours.shape[1]} columns)")
    print(
        f"ratio govml/polars: {t_govml / t_polars:.2f} wall, {c_govml / c_polars:.2f} CPU "
        "(target <= 1.5)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
