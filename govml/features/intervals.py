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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from govml._exceptions import FeatureError

__all__ = ["active_at", "latest_before"]


def _key_codes(
    events: pd.DataFrame, queries: pd.DataFrame, keys: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for the key tuples of events and queries, consistent across both."""
    both = pd.concat([events[keys], queries[keys]], ignore_index=True)
    if len(keys) == 1:
        codes, _ = pd.factorize(both[keys[0]].astype(object), use_na_sentinel=True)
    else:
        codes = both.astype(object).groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    codes = np.asarray(codes, dtype=np.int64)
    return codes[: len(events)], codes[len(events) :]


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
    ev_key, q_key = _key_codes(intervals, queries, key_cols)
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

    # sort events by (key, time); per-key running sums in time order
    order = np.lexsort((e_time, e_key))
    e_key, e_time, e_val = e_key[order], e_time[order], e_val[order]
    n_q = len(queries)
    out = np.zeros((n_q, e_val.shape[1]))
    if len(e_key):
        # per-key running sums, accumulated in time order within each key only
        val_cs = pd.DataFrame(e_val).groupby(e_key, sort=False).cumsum().to_numpy()
        # merge queries into the sorted events: on equal (key, time) a query sorts
        # before the events, so an event exactly at t is not "before" t
        m_key = np.concatenate([e_key, q_key])
        m_time = np.concatenate([e_time, qt])
        is_event = np.concatenate([np.ones(len(e_key), np.int8), np.zeros(n_q, np.int8)])
        merged = np.lexsort((is_event, m_time, m_key))
        events_before = np.cumsum(is_event[merged]) - is_event[merged]
        q_pos = merged >= len(e_key)
        q_rows = merged[q_pos] - len(e_key)
        idx = events_before[q_pos] - 1  # last event (in sorted order) before the query
        ok = idx >= 0
        ok[ok] = e_key[idx[ok]] == q_key[q_rows[ok]]
        out[q_rows[ok]] = val_cs[idx[ok]]
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
    ev_key, q_key = _key_codes(events, queries, key_cols)
    e_time = _as_utc_ns(events[event_time], "events", event_time)
    q_time = _as_utc_ns(queries[query_time], "queries", query_time)
    vals = events[value].to_numpy(dtype=np.float64)
    order = np.lexsort((np.arange(len(e_time)), e_time, ev_key))
    e_key, e_time, vals = ev_key[order], e_time[order], vals[order]
    m_key = np.concatenate([e_key, q_key])
    m_time = np.concatenate([e_time, q_time])
    is_event = np.concatenate([np.ones(len(e_key), np.int8), np.zeros(len(q_key), np.int8)])
    merged = np.lexsort((is_event, m_time, m_key))
    events_before = np.cumsum(is_event[merged]) - is_event[merged]
    q_pos = merged >= len(e_key)
    q_rows = merged[q_pos] - len(e_key)
    idx = events_before[q_pos] - 1
    ok = idx >= 0
    ok[ok] = e_key[idx[ok]] == q_key[q_rows[ok]]
    result = np.full(len(q_key), np.nan)
    result[q_rows[ok]] = vals[idx[ok]]
    return pd.Series(result, index=queries.index, name=name or value)
