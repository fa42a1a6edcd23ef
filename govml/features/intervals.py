"""Point-in-time state from intervals: "what is active at ``t``", known strictly before ``t``.

Some facts are states with a start and an end rather than events in a window: a
violation's health points are active from detection until they expire (or until an
appeal overturns it); a live restriction is active from ``taken_at`` until
``ends_at``. :func:`active_at` answers, for query points ``(key, t)``, the sum (and
count) of the values of intervals active at ``t``:

    active at t  ⟺  start < t  and  not (end < t)

i.e. an interval counts once its start is known strictly before ``t`` and stops
counting once its end is known strictly before ``t`` (an interval ending exactly at
``t`` still counts at ``t``; a missing end never ends). Each interval becomes a
``+value`` event at ``start`` and a ``-value`` event at ``end``; the state at ``t`` is
the per-key running sum of events strictly before ``t``. Running sums are per key and
in time order, so events after ``t`` (or of other keys) never change a value at ``t``.

Keys are matched by integer codes (categorical keys over the same categories, as the
feature builders pass them, are used as they are; anything else is factorised once);
a missing key value matches nothing, as in :func:`trailing_windows`. Events are grouped
by key in (time, input row) order with a counting sort and each query finds its last
earlier event by binary search within its key, in small numba kernels (compiled on
first use, cached on disk like the window engine's), so a call costs O(events log
events + queries log events-per-key) with no sort of the queries.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from govml._exceptions import FeatureError

__all__ = ["active_at", "latest_before"]


def _key_codes(
    events: pd.DataFrame, queries: pd.DataFrame, keys: list[str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Dense codes ``0..n-1`` for the key tuples of events and queries, consistent across
    both; ``-1`` where a key value is missing (such rows never match)."""
    if len(keys) == 1:
        ev, q = events[keys[0]], queries[keys[0]]
        if (
            isinstance(ev.dtype, pd.CategoricalDtype)
            and isinstance(q.dtype, pd.CategoricalDtype)
            and ev.cat.categories.equals(q.cat.categories)
        ):  # one code space already (the feature builders' creator keys): no hashing
            return (
                ev.cat.codes.to_numpy().astype(np.int64),
                q.cat.codes.to_numpy().astype(np.int64),
                len(ev.cat.categories),
            )
    both = pd.concat([events[keys], queries[keys]], ignore_index=True)
    missing = both.isna().any(axis=1).to_numpy()
    if len(keys) == 1:
        codes, uniques = pd.factorize(both[keys[0]].astype(object), use_na_sentinel=True)
        n = len(uniques)
    else:
        codes = both.astype(object).groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
        n = int(codes.max()) + 1 if len(codes) else 0
    codes = np.where(missing, -1, np.asarray(codes, dtype=np.int64))
    return codes[: len(events)], codes[len(events) :], n


def _last_before_kernel(starts, sorted_times, q_codes, q_times):  # pragma: no cover - numba
    # for each query (k, t): index of the last event of key k with time < t, else -1
    out = np.full(q_codes.shape[0], -1, np.int64)
    for i in range(q_codes.shape[0]):
        k = q_codes[i]
        if k < 0 or k + 1 >= starts.shape[0]:
            continue
        lo = starts[k]
        hi = starts[k + 1]
        t = q_times[i]
        while lo < hi:
            mid = (lo + hi) >> 1
            if sorted_times[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        if lo > starts[k]:
            out[i] = lo - 1
    return out


def _running_sums_kernel(vals, starts):  # pragma: no cover - compiled by numba
    # per-key running sums, added one event at a time in the key's (time, row) order
    out = np.empty_like(vals)
    for k in range(starts.shape[0] - 1):
        acc = np.zeros(vals.shape[1])
        for i in range(starts[k], starts[k + 1]):
            for j in range(vals.shape[1]):
                acc[j] += vals[i, j]
                out[i, j] = acc[j]
    return out


@functools.cache
def _kernels() -> tuple[object, object, object]:
    """The interval kernels, compiled (or loaded from numba's cache) on first call.

    Grouping events by key is the window engine's stable counting sort (shared, so
    both engines order a key's events identically: by time, then input row).
    """
    from govml.features.windows import _Kernel
    from govml.features.windows import _kernels as window_kernels

    return (
        window_kernels()[0],
        _Kernel(_last_before_kernel),
        _Kernel(_running_sums_kernel),
    )


def _last_before(
    ev_codes: np.ndarray,
    e_time: np.ndarray,
    q_codes: np.ndarray,
    q_time: np.ndarray,
    n_keys: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events grouped by key in (time, input row) order, and for each query the position
    (in that order) of the last event of its key known strictly before it (-1: none).

    Returns ``(perm, starts, last)``: ``perm`` maps grouped positions to input rows,
    ``starts[k]:starts[k+1]`` are key ``k``'s events.
    """
    group, last_before, _ = _kernels()
    order = np.argsort(e_time, kind="stable")
    perm, starts, sorted_times = group(ev_codes, e_time, order, n_keys)
    last = last_before(starts, sorted_times, q_codes, q_time)
    return perm, starts, last


def _as_utc_ns(series: pd.Series, frame: str, column: str) -> np.ndarray:
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        raise FeatureError(
            f"{frame}.{column} must be a timezone-aware datetime column (UTC), got dtype "
            f"{series.dtype}; validate the tables first (govml.validate_tables) or convert "
            "with pd.to_datetime(..., utc=True)"
        )
    return (
        series.dt.tz_convert("UTC").dt.as_unit("us").to_numpy(dtype="datetime64[us]").view(np.int64)
    )


def active_at(
    intervals: pd.DataFrame,
    queries: pd.DataFrame,
    *,
    keys: str | Sequence[str],
    start: str,
    end: str | None,
    query_time: str,
    values: Sequence[str] = (),
    name: str = "active",
) -> pd.DataFrame:
    """Sum and count of intervals active at each query time, known strictly before it.

    Parameters
    ----------
    intervals : DataFrame
        One row per interval with the key column(s), ``start`` and optionally ``end``
        (NaT = never ends) timestamps (timezone-aware).
    queries : DataFrame
        Query points with the key column(s) and ``query_time``.
    keys : str or sequence of str
        Entity key column(s), present in both frames.
    start, end : str
        Interval start and end columns; ``end=None`` means intervals never end.
    query_time : str
        Prediction-time column of ``queries``.
    values : sequence of str
        Numeric columns summed over active intervals (NaN counts as 0).
    name : str
        Output column prefix: ``{name}_count`` and ``{name}_{value}`` per value.

    Returns
    -------
    DataFrame
        Indexed like ``queries``, in its row order, with ``{name}_count`` and one
        ``{name}_{value}`` column per value (float64).

    Examples
    --------
    >>> import pandas as pd
    >>> ts = lambda s: pd.Timestamp(s, tz="UTC")
    >>> iv = pd.DataFrame({"creator_id": ["a", "a"], "start": [ts("2026-01-01"), ts("2026-01-05")],
    ...                    "end": [ts("2026-01-10"), pd.NaT], "points": [4.0, 1.0]})
    >>> q = pd.DataFrame({"creator_id": ["a", "a", "a"],
    ...                   "t": [ts("2026-01-01"), ts("2026-01-06"), ts("2026-01-11")]})
    >>> active_at(iv, q, keys="creator_id", start="start", end="end", query_time="t",
    ...           values=["points"], name="pts")["pts_points"].tolist()
    [0.0, 5.0, 1.0]
    """
    key_cols = [keys] if isinstance(keys, str) else list(keys)
    value_cols = list(values)
    needed = {
        "intervals": [*key_cols, start] + ([end] if end else []) + value_cols,
        "queries": [*key_cols, query_time],
    }
    for frame_name, frame in (("intervals", intervals), ("queries", queries)):
        missing = [c for c in needed[frame_name] if c not in frame.columns]
        if missing:
            raise FeatureError(
                f"{frame_name} is missing column(s) {missing}; it has {list(frame.columns)}"
            )
    for value in value_cols:
        if not pd.api.types.is_numeric_dtype(intervals[value]) or pd.api.types.is_bool_dtype(
            intervals[value]
        ):
            raise FeatureError(
                f"intervals.{value} must be numeric to be summed, got dtype "
                f"{intervals[value].dtype}"
            )
    starts = _as_utc_ns(intervals[start], "intervals", start)
    if pd.isna(intervals[start]).any():
        raise FeatureError(
            f"intervals.{start} has {int(intervals[start].isna().sum())} missing value(s); "
            "every interval needs a start"
        )
    qt = _as_utc_ns(queries[query_time], "queries", query_time)
    if pd.isna(queries[query_time]).any():
        raise FeatureError(
            f"queries.{query_time} has {int(queries[query_time].isna().sum())} missing "
            "value(s); every query needs a time"
        )
    ev_key, q_key, n_keys = _key_codes(intervals, queries, key_cols)
    vals = np.column_stack(
        [np.ones(len(intervals))]
        + [np.nan_to_num(intervals[v].to_numpy(dtype=np.float64), nan=0.0) for v in value_cols]
    )
    if end is not None:
        ends_raw = intervals[end]
        has_end = ends_raw.notna().to_numpy()
        ends = _as_utc_ns(ends_raw, "intervals", end)[has_end]
        e_key = np.concatenate([ev_key, ev_key[has_end]])
        e_time = np.concatenate([starts, ends])
        e_val = np.concatenate([vals, -vals[has_end]])
    else:
        e_key, e_time, e_val = ev_key, starts, vals

    # events grouped by key in (time, row) order; per-key running sums in that order, so
    # the state at t is a function of the key's events before t only
    perm, key_starts, last = _last_before(e_key, e_time, q_key, qt, n_keys)
    out = np.zeros((len(queries), e_val.shape[1]))
    if len(perm):
        sums = _kernels()[2](np.ascontiguousarray(e_val[perm]), key_starts)
        hit = last >= 0
        out[hit] = sums[last[hit]]
    columns = [f"{name}_count"] + [f"{name}_{v}" for v in value_cols]
    return pd.DataFrame(out, index=queries.index, columns=columns)


def latest_before(
    events: pd.DataFrame,
    queries: pd.DataFrame,
    *,
    keys: str | Sequence[str],
    event_time: str,
    query_time: str,
    value: str,
    name: str | None = None,
) -> pd.Series:
    """The latest ``value`` among events known strictly before each query time.

    Ties on time are broken by input row order (the later row wins). Queries with no
    earlier event get NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> ts = lambda s: pd.Timestamp(s, tz="UTC")
    >>> ev = pd.DataFrame({"k": ["a", "a"], "t": [ts("2026-01-01"), ts("2026-01-03")],
    ...                    "rate": [0.1, 0.2]})
    >>> q = pd.DataFrame({"k": ["a", "a", "b"],
    ...                   "t": [ts("2026-01-03"), ts("2026-01-04"), ts("2026-01-04")]})
    >>> latest_before(ev, q, keys="k", event_time="t", query_time="t", value="rate").tolist()
    [0.1, 0.2, nan]
    """
    key_cols = [keys] if isinstance(keys, str) else list(keys)
    for frame_name, frame, cols in (
        ("events", events, [*key_cols, event_time, value]),
        ("queries", queries, [*key_cols, query_time]),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise FeatureError(
                f"{frame_name} is missing column(s) {missing}; it has {list(frame.columns)}"
            )
    ev_key, q_key, n_keys = _key_codes(events, queries, key_cols)
    e_time = _as_utc_ns(events[event_time], "events", event_time)
    q_time = _as_utc_ns(queries[query_time], "queries", query_time)
    vals = events[value].to_numpy(dtype=np.float64, na_value=np.nan)
    perm, _, last = _last_before(ev_key, e_time, q_key, q_time, n_keys)
    result = np.full(len(q_key), np.nan)
    hit = last >= 0
    result[hit] = vals[perm[last[hit]]]
    return pd.Series(result, index=queries.index, name=name or value)
