"""Benchmark: both feature sets at ten-million-session scale against polars rolling windows.

Builds the session feature set (one row per session, at its end) and the creator feature
set (weekly snapshots) of a simulated world and prints rows/s, peak memory (ru_maxrss)
and the ratio against polars doing the same windowed aggregations in the same run.

    python benchmarks/bench_features.py                               # smoke size
    python benchmarks/bench_features.py --creators 200000 --days 180  # full size

Full size is ``simulate(n_creators=200_000, n_days=180, seed=7)``: 12.05 million
sessions (plus 3.7M outcomes, 0.13M violations, 0.65M actions, 0.73M reviews). Targets:
govml within 1.5x of polars, peak at most 6 GB.

What is measured
----------------
* **World**: simulated in a child process and written as parquet (``--world DIR`` keeps
  it for the next run), then read back here, so the simulator's own peak is not
  counted in this process's ru_maxrss.
* **Snapshots** (creator set): ``creator_snapshots(freq="7D", active_within="30D")``,
  i.e. every 7 days at midnight UTC from day 7 of the data to its end, every creator
  with a session ended in the 30 days before (about 4M rows at full size). Daily
  snapshots would be ~7x as many rows at the same cost per row.
* **govml feature sets**: :func:`iter_session_features` and :func:`iter_creator_features`
  with ``--chunk-rows`` rows per chunk (default 1,000,000): every feature of every row,
  consumed chunk by chunk, the way a pipeline writes them out. ``--whole`` builds the
  whole frames with ``session_features`` / ``creator_features`` instead (the
  12M x 89 float64 session frame alone is 8.5 GB, so that cannot meet 6 GB).
* **polars baseline**: the ``trailing_windows`` calls the feature sets make (same
  event tables, keys, windows and aggregations, plus ``days_since_last`` as a backward
  ``join_asof``), with ``DataFrame.rolling(index_column=t, period=w, group_by=key,
  closed="left")``. Where the queries are the events themselves (a session's earlier
  sessions, the market context) the rolling frame is the events; otherwise (history
  tables at session ends, everything at snapshots) the query points are unioned into
  the frame as null-valued rows, counts become sums of an event flag, and the query
  rows are kept: the standard polars approach. Eager ``rolling().agg`` by default:
  ``--polars lazy`` (one ``collect_all`` over the windows and the as-of join)
  measured the same at 3M sessions, ``rolling_*_by(...).over(key)`` 2x slower.
  polars' time runs from the pandas
  inputs to its own result frame (no conversion back to pandas). Only windows are in
  the baseline; govml's feature-set time also covers own metrics, active points and
  penalties, latest commission, profile columns, rates, trends and z-scores, so the
  feature-set ratio is conservative. The same calls are also timed with govml's
  ``trailing_windows`` alone (the like-for-like ratio).
* **Agreement**: every column of every govml call against polars (all rows, relative
  1e-9 with the value's mean magnitude as floor), and the windowed columns of the
  built feature sets (all rows of every 50th creator) against polars, z-scores
  recomputed from polars' market mean and std.
* **Peak memory**: ru_maxrss. Reading 12M sessions from parquet peaks at ~4 GB by
  itself (Arrow buffers next to the pandas frame), so after reading the world the
  script releases Arrow's pool and resets the peak mark (``/proc/self/clear_refs``);
  the printed build peaks are then those of the feature builds (the read peak is
  printed too). The window comparison that follows holds govml's and polars' results
  of one call at a time (at full size the process reaches ~15 GB there, mostly polars'
  rolling frames); its peak is printed separately and is not the target's.

Both engines use the same threads (``GOVML_N_JOBS`` and ``POLARS_MAX_THREADS``,
default all cores). polars is a benchmark-only dependency.

Measured at full size (2 shared cores, polars 2.1.0; machine also busy with others):
session set 12.05M rows in 54.7 s (220k rows/s), creator set 4.10M weekly snapshots
in 18.6 s (220k rows/s), build peak 5,333 MB; polars windows 89.8 s + 57.2 s; ratio
feature sets / polars windows 0.50 (0.61 session, 0.33 creator), windows only 0.42.
The one call where polars is faster is the market context (1.9x: 7-day windows of
~160k sessions, where the engine's exact block sums cost O(log w) per query and a
market cannot be split across threads).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import current_mb, max_rel_diff, peak_mb, reset_peak, timed

sys.path.insert(0, str(Path.cwd()))  # run from the repository root (not pip-installed)

TOLERANCE = 1e-9


# ------------------------------------------------------------------ world
def _simulate_to(path: str, creators: int, days: int, seed: int) -> None:
    import govml
    from govml.schema import save_tables

    save_tables(govml.simulate(n_creators=creators, n_days=days, seed=seed).tables, path)


def load_world(path: Path, creators: int, days: int, seed: int):
    """The world's tables, simulated in a child process on first use of ``path``."""
    import multiprocessing as mp

    from govml.schema import load_tables

    if not (path / "sessions.parquet").exists():
        with timed() as t:
            proc = mp.get_context("spawn").Process(
                target=_simulate_to, args=(str(path), creators, days, seed)
            )
            proc.start()
            proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"simulation failed (exit code {proc.exitcode})")
        print(f"simulated {creators:,} creators x {days} days in a child process: {t.wall:.1f} s")
    with timed() as t:
        tables = load_tables(path, validate=False)  # written from validated tables
    print(f"read {path}: {t.wall:.1f} s")
    return tables


# ------------------------------------------------------------------ polars baseline
def _pl_times(series: pd.Series) -> np.ndarray:
    return series.array.as_unit("us").asi8.view("datetime64[us]")  # UTC instants


def _pl_keys(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int32)
    return pd.factorize(series)[0].astype(np.int32)


def polars_call(call, queries: pd.DataFrame | None, query_time: str, *, lazy: bool = True):
    """The columns ``call.run(queries, query_time)`` gives, with polars, in query order.

    ``queries=None``: the queries are the call's events themselves. ``lazy``: one
    ``collect_all`` over the windows and the as-of join (polars runs them concurrently);
    else each is collected in turn (eager).
    """
    import polars as pl

    from govml.features.windows import window_label

    block, ev = call.block, call.events
    values = block.value_columns
    same = queries is None
    events = pl.DataFrame(
        {
            "k": _pl_keys(ev[call.key]),
            "t": _pl_times(ev[call.time]),
            **{v: ev[v].to_numpy(dtype=np.float64, na_value=np.nan) for v in values},
        }
    ).with_columns([pl.col(v).fill_nan(None) for v in values])
    if same:
        frame = events.with_row_index("row")
        n_q = len(ev)
    else:
        n_q = len(queries)
        q = pl.DataFrame(
            {"k": _pl_keys(queries[call.key]), "t": _pl_times(queries[query_time])}
        ).with_row_index("row")
        frame = pl.concat(
            [
                events.with_columns(pl.lit(1, pl.Int8).alias("ev")),
                q.with_columns(pl.lit(0, pl.Int8).alias("ev")),
            ],
            how="diagonal_relaxed",
        )
    frame = frame.sort(["k", "t"]).lazy()
    aggs = [a for a in block.engine_aggregations if a != "count"]
    plans = [frame.select("row") if same else frame.select("row", "ev")]
    for w in block.windows:
        label = window_label(w)
        exprs = []
        if "count" in block.engine_aggregations:
            n = pl.len() if same else pl.col("ev").sum()
            exprs.append(n.cast(pl.Float64).alias(f"{block.prefix}count_{label}"))
        for v in values:
            col = pl.col(v)
            for agg in aggs:
                expr = {"sum": col.sum(), "mean": col.mean(), "std": col.std()}[agg]
                exprs.append(expr.cast(pl.Float64).alias(f"{block.prefix}{v}_{agg}_{label}"))
        plans.append(
            frame.rolling(index_column="t", period=label, group_by="k", closed="left")
            .agg(exprs)
            .drop("k", "t")
        )
    dsl_name = f"{block.prefix}days_since_last"
    if block.time_since_last:
        left = (events.with_row_index("row") if same else q).lazy().select("row", "k", "t")
        right = events.lazy().select("k", pl.col("t").alias("e")).sort("e")
        dsl = (pl.col("t") - pl.col("e")).dt.total_microseconds().cast(pl.Float64) / 86_400e6
        plans.append(
            left.sort("t")
            .join_asof(
                right,
                left_on="t",
                right_on="e",
                by="k",
                strategy="backward",
                allow_exact_matches=False,
                check_sortedness=False,  # both sorted by time just above
            )
            .select("row", dsl.alias(dsl_name))
            .sort("row")
        )
    done = pl.collect_all(plans) if lazy else [p.collect() for p in plans]
    windows = done[1 : 1 + len(block.windows)]
    out = pl.concat([done[0], *windows], how="horizontal")
    if not same:
        out = out.filter(pl.col("ev") == 0).drop("ev")
    out = out.sort("row")
    if block.time_since_last:
        out = out.with_columns(done[-1].get_column(dsl_name))
    assert out.height == n_q
    return out.drop("row")


# ------------------------------------------------------------------ comparison
def _floors(call) -> dict[str, float]:
    ev = call.events
    return {
        v: float(np.nanmean(np.abs(ev[v].to_numpy(dtype=np.float64, na_value=np.nan))))
        if len(ev)
        else 1.0
        for v in call.block.value_columns
    }


def _floor_of(col: str, call, floors: dict[str, float]) -> float:
    p = call.block.prefix
    match = [v for v in floors if col.startswith(f"{p}{v}_")]
    f = floors[max(match, key=len)] if match else 1.0
    return f if np.isfinite(f) and f > 0 else 1.0


class Report:
    def __init__(self) -> None:
        self.worst = 0.0
        self.n_cols = 0

    def check(self, what: str, a: np.ndarray, b: np.ndarray, floor: float) -> None:
        d = max_rel_diff(a, b, floor)
        self.worst = max(self.worst, d)
        self.n_cols += 1
        if d > TOLERANCE:
            print(f"  MISMATCH {what}: max relative difference {d:.3g}")


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creators", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--freq", default="7D", help="snapshot frequency (default 7D)")
    parser.add_argument("--active-within", default="30D")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--whole", action="store_true", help="build whole frames in memory")
    parser.add_argument("--world", type=Path, help="parquet folder to keep the world in")
    parser.add_argument("--sample-every", type=int, default=50, help="creators checked")
    parser.add_argument("--polars", choices=("lazy", "eager"), default="eager")
    args = parser.parse_args(argv)

    import polars as pl

    import govml
    from govml._config import get_settings
    from govml.features import creator_features, creator_snapshots, session_features
    from govml.features.creator import _snapshot_queries, iter_creator_features
    from govml.features.creator import _window_calls as creator_calls
    from govml.features.session import (
        MARKET_RELATIVE,
        _session_queries,
        iter_session_features,
    )
    from govml.features.session import _window_calls as session_calls

    threads = get_settings().n_jobs or os.cpu_count()
    print(
        f"govml threads {threads}, polars {pl.__version__} threads {pl.thread_pool_size()}, "
        f"pandas {pd.__version__}, numpy {np.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        world = args.world or Path(tmp) / "world"
        tables = load_world(world, args.creators, args.days, args.seed)
        s = tables.sessions
        print(
            "world: "
            + ", ".join(f"{len(f):,} {name}" for name, f in tables.items())
            + f"; peak RSS {peak_mb():,.0f} MB"
        )

        start = s["ended_at"].min().normalize()
        with timed() as t:
            snaps = creator_snapshots(
                tables,
                start=start + pd.Timedelta(days=7),
                end=s["ended_at"].max(),
                freq=args.freq,
                active_within=args.active_within,
            )
        print(
            f"snapshots: {len(snaps):,} rows at {snaps['snapshot_at'].nunique()} times "
            f"(freq {args.freq}, active within {args.active_within}) in {t.wall:.1f} s"
        )

        with timed() as t:  # numba compile or cache load, on a tiny world
            tiny = govml.simulate(n_creators=50, n_days=21, seed=0).tables
            t0 = tiny.sessions["ended_at"].min().normalize() + pd.Timedelta(days=7)
            session_features(tiny)
            creator_features(
                tiny, creator_snapshots(tiny, start=t0, end=t0 + pd.Timedelta(days=14))
            )
        print(f"govml warm-up (tiny world, JIT compile or cache load): {t.wall:.2f} s")
        import gc

        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # parquet read buffers
        gc.collect()
        load_peak = peak_mb()
        reset = reset_peak()
        print(
            f"peak RSS so far (reading parquet): {load_peak:,.0f} MB; RSS now {current_mb():,.0f} MB"
            + (
                "; peak mark reset: the peaks below are those of the feature builds"
                if reset
                else "; peak mark not resettable here: the peaks below include reading"
            )
        )

        creator_ids = tables.creators["creator_id"]
        sample_ids = set(creator_ids.iloc[:: args.sample_every])
        mode = "whole frame" if args.whole else f"chunks of {args.chunk_rows:,} rows"

        # ---------------------------------------------------------- session features
        kept = []
        n_rows = n_chunks = 0
        with timed() as t_sess:
            if args.whole:
                fs = session_features(tables)
                chunks = [fs]
            else:
                chunks = iter_session_features(tables, chunk_rows=args.chunk_rows)
            for fs in chunks:
                n_rows += len(fs)
                n_chunks += 1
                kept.append(fs.frame[fs.frame["creator_id"].isin(sample_ids)])
                n_features = len(fs.features)
                del fs
            del chunks
        peak_sess = peak_mb()
        sess_sample = pd.concat(kept, ignore_index=True).set_index("session_id")
        del kept
        print(
            f"govml session features ({mode}): {n_rows:,} rows x {n_features} features in "
            f"{n_chunks} part(s): {t_sess.wall:6.1f} s  {n_rows / t_sess.wall:10,.0f} rows/s  "
            f"(CPU {t_sess.cpu:.1f} s); peak RSS {peak_sess:,.0f} MB"
        )

        # ---------------------------------------------------------- creator features
        kept = []
        n_snap = n_chunks = 0
        with timed() as t_cre:
            if args.whole:
                chunks = [creator_features(tables, snaps)]
            else:
                chunks = iter_creator_features(tables, snaps, chunk_rows=args.chunk_rows)
            for fs in chunks:
                n_snap += len(fs)
                n_chunks += 1
                kept.append(fs.frame[fs.frame["creator_id"].isin(sample_ids)])
                n_features = len(fs.features)
                del fs
            del chunks
        peak_cre = peak_mb()
        cre_sample = pd.concat(kept, ignore_index=True).set_index(["creator_id", "snapshot_at"])
        del kept
        print(
            f"govml creator features ({mode}): {n_snap:,} rows x {n_features} features in "
            f"{n_chunks} part(s): {t_cre.wall:6.1f} s  {n_snap / t_cre.wall:10,.0f} rows/s  "
            f"(CPU {t_cre.cpu:.1f} s); peak RSS {peak_cre:,.0f} MB"
        )
        peak_govml = peak_mb()

        # ---------------------------------------------------------- windows: govml vs polars
        report = Report()
        sess_rows = np.flatnonzero(s["creator_id"].isin(sample_ids).to_numpy())
        sess_fs = sess_sample.loc[s["session_id"].to_numpy()[sess_rows]]
        snap_rows = np.flatnonzero(snaps["creator_id"].isin(sample_ids).to_numpy())
        snap_fs = cre_sample.loc[
            pd.MultiIndex.from_arrays(
                [snaps["creator_id"].to_numpy()[snap_rows], snaps["snapshot_at"].array[snap_rows]]
            )
        ]
        totals = {"session": [0.0, 0.0], "creator": [0.0, 0.0]}
        print("windowed aggregations (the feature sets' trailing_windows calls), all rows:")
        for kind in ("session", "creator"):
            if kind == "session":
                queries, qt = _session_queries(tables), "ended_at"
                calls = ((c, same) for c, same in session_calls(tables))
                rows, fs_rows = sess_rows, sess_fs
            else:
                queries, qt = _snapshot_queries(tables, snaps), "snapshot_at"
                calls = ((c, False) for c in creator_calls(tables, snaps))
                rows, fs_rows = snap_rows, snap_fs
            for call, same in calls:
                with timed() as tg:
                    ours = call.run(call.events if same else queries, qt)
                with timed() as tp:
                    theirs = polars_call(
                        call, None if same else queries, qt, lazy=args.polars == "lazy"
                    )
                totals[kind][0] += tg.wall
                totals[kind][1] += tp.wall
                aggs = "/".join(call.block.engine_aggregations)
                name = f"{kind}: {call.block.source} by {call.key}, {call.block.prefix}* {aggs}"
                print(
                    f"  {name:<48} {len(ours):>11,} queries  govml {tg.wall:6.2f} s  "
                    f"polars {tp.wall:6.2f} s  ratio {tg.wall / tp.wall:5.2f}"
                )
                floors = _floors(call)
                for col in ours.columns:
                    theirs_col = theirs.get_column(col).to_numpy().astype(np.float64)
                    floor = _floor_of(col, call, floors)
                    report.check(f"{kind} {col}", ours[col].to_numpy(), theirs_col, floor)
                    if col in fs_rows.columns:  # the feature set's column, sampled rows
                        report.check(
                            f"{kind} feature {col}",
                            fs_rows[col].to_numpy(),
                            theirs_col[rows],
                            floor,
                        )
                if call.key == "market":  # the feature set keeps z-scores only
                    wl = call.block.windows[0].lower()
                    for c in MARKET_RELATIVE:
                        own = call.events[c].to_numpy()[rows]
                        mean = theirs.get_column(f"mkt_{c}_mean_{wl}").to_numpy()[rows]
                        std = theirs.get_column(f"mkt_{c}_std_{wl}").to_numpy()[rows].astype(float)
                        z = np.full(len(own), np.nan)
                        np.divide(own - mean, std, out=z, where=np.isfinite(std) & (std > 0))
                        report.check(f"feature mkt_z_{c}", fs_rows[f"mkt_z_{c}"].to_numpy(), z, 1.0)
                del ours, theirs
            del queries
        print(f"peak RSS after the window comparison (includes polars): {peak_mb():,.0f} MB")

    ok = report.worst <= TOLERANCE
    print(
        f"values agree: {ok} (max relative difference {report.worst:.2e} over "
        f"{report.n_cols} column checks)"
    )
    g_s, p_s = totals["session"]
    g_c, p_c = totals["creator"]
    print(
        f"polars windows: session set {p_s:.1f} s, creator set {p_c:.1f} s, total {p_s + p_c:.1f} s"
    )
    print(
        f"ratio govml/polars, windows only (same calls): {g_s / p_s:.2f} session, "
        f"{g_c / p_c:.2f} creator, {(g_s + g_c) / (p_s + p_c):.2f} total"
    )
    print(
        f"ratio govml feature sets (every feature) / polars windows: "
        f"{t_sess.wall / p_s:.2f} session, {t_cre.wall / p_c:.2f} creator, "
        f"{(t_sess.wall + t_cre.wall) / (p_s + p_c):.2f} total (target <= 1.5)"
    )
    print(
        f"govml peak RSS while building: {peak_govml:,.0f} MB = {peak_govml / 1024:.2f} GiB "
        "(target <= 6 GB)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
