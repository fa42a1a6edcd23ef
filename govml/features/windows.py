"""Point-in-time trailing windows: aggregates of events known strictly before each query.

:func:`trailing_windows` answers, for query points ``(key, t)``, "what happened to this
key in the ``w`` before ``t``" using only events known strictly before ``t``. It is the
engine behind every windowed feature of govml.

Semantics
---------
An event with key ``k`` and known-at time ``e`` counts for the query ``(k, t)`` in the
window ``w`` if and only if::

    t - w <= e < t

(left-closed, right-open; the same as polars ``rolling(period=w, closed="left")``). An
event exactly at ``t`` is excluded, one exactly at ``t - w`` included.

=====================  ==================================================================
aggregation            value for the events of a window
=====================  ==================================================================
``count``              number of events (NaN values included); 0 for an empty window
``sum``                sum of the non-NaN values; 0 when there are none
``mean``               mean of the non-NaN values; NaN when there are none
``std``                sample standard deviation (``ddof=1``) of the non-NaN values;
                       NaN for fewer than two
``min`` / ``max``      smallest / largest non-NaN value; NaN when there are none
``last``               the value (NaN included) of the latest event in the window; among
                       events at the same time the one that comes last in ``events``' row
                       order; NaN for an empty window
``days_since_last``    ``(t - e_last) / 1 day`` for the latest event known before ``t``
                       over all history (not bounded by any window); NaN when there is none
=====================  ==================================================================

Output columns, in this order: for each window, ``{prefix}count_{w}`` and then
``{prefix}{value}_{agg}_{w}`` for each value and each non-count aggregation (in the
order given), then ``{prefix}days_since_last``. Window labels come from
:func:`window_label`: the largest unit that divides the window exactly, ``d``, ``h``,
``m`` (minutes), ``s``, ``ms``, ``us`` or ``ns`` (``"7D"`` → ``7d``, ``"36h"`` →
``36h``, ``"90min"`` → ``90m``). Every column is float64, counts included (one dtype
for the whole feature matrix).

Missing keys (NaN/None in any key column) never match: such events are ignored and such
queries get empty windows, as do queries whose key has no events.

Numerics
--------
Every number for a query is a function of the events of its own key that fall in its own
window (``days_since_last``: of the latest earlier event), computed in one fixed order that
depends only on the window's position in the key's time-ordered history. Events of other
keys, events at or after ``t`` and the other queries in the batch never change a result,
bit for bit (future poisoning, batch-size invariance). There are no running sums that
subtract: sums are plain left-to-right sums over the window, of single events at the edges
and of precomputed, aligned blocks of ``2**k`` consecutive events (k >= 4) in the middle,
so a query costs at most 30 single events plus two blocks per power of two of the window's
size, however long the window; the standard deviation is two-pass (deviations from the window's mean; a block contributes
its own sum of squared deviations plus ``n_block * (block mean - mean)**2``). Events of
one key at the same time are taken in input row order, so reordering such ties can move
the last bit of a sum (and changes which one is ``last``). The kernels
are numba functions compiled on first use (about 3 s of CPU; about 0.4 s when loaded from
numba's on-disk cache, used where a cache directory is writable); large batches of queries
run on several threads (``GOVML_N_JOBS``, default all cores).
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import os
import threading
from collections.abc import Sequence

import numpy as np
import pandas as pd

from govml._exceptions import FeatureError

__all__ = ["AGGREGATIONS", "trailing_windows", "window_label"]

#: Aggregation names :func:`trailing_windows` understands.
AGGREGATIONS: tuple[str, ...] = ("count", "sum", "mean", "std", "min", "max", "last")
# per-value aggregations, in the order of the kernel's column table
_VALUE_AGGS: tuple[str, ...] = ("sum", "mean", "std", "min", "max", "last")

# Smallest precomputed block: 2**_LEAF_LEVEL consecutive events of one key. Windows
# shorter than two blocks are summed event by event. Tests lower it to exercise blocks.
_LEAF_LEVEL = 4
# Batches with at least this many queries are split over threads (the kernel releases
# the GIL); each query is computed independently, so results do not depend on the split.
_THREADED_MIN_QUERIES = 100_000

_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_LABEL_UNITS = (
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),  # divides every duration: window_label always finds a unit
)


# ----------------------------------------------------------------------------- windows
def _parse_window(window: object) -> pd.Timedelta:
    if isinstance(window, bool) or not isinstance(
        window, str | pd.Timedelta | _dt.timedelta | np.timedelta64
    ):
        raise FeatureError(
            f"window {window!r} ({type(window).__name__}) is not a duration; give a string "
            "with a unit such as '7D', '12h' or '90min', or a pd.Timedelta"
        )
    try:
        td = pd.Timedelta(window)
    except (ValueError, TypeError) as exc:
        raise FeatureError(
            f"window {window!r} cannot be parsed as a duration ({exc}); use a fixed-length "
            "duration such as '7D', '12h' or '90min' (months and years are not fixed)"
        ) from None
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise FeatureError(
            f"window {window!r} is not a positive duration; windows look back a positive "
            "time such as '7D'"
        )
    return td


def window_label(window: str | pd.Timedelta) -> str:
    """The suffix :func:`trailing_windows` gives a window's columns.

    The window in the largest unit that divides it exactly: ``d``, ``h``, ``m``
    (minutes), ``s``, ``ms``, ``us`` or ``ns``.

    Parameters
    ----------
    window : str or Timedelta
        A positive fixed-length duration, e.g. ``"7D"``.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> window_label("30D"), window_label("36h"), window_label(pd.Timedelta(minutes=90))
    ('30d', '36h', '90m')
    """
    ns = _parse_window(window).value
    unit, size = next((u, size) for u, size in _LABEL_UNITS if ns % size == 0)
    return f"{ns // size}{unit}"


# ----------------------------------------------------------------------------- kernels
# Plain Python functions compiled with numba on first use (see _kernels). Layout:
# events of key k occupy rows starts[k]:starts[k+1] of the sorted arrays, in (time, input
# row) order. Block (level L, j) of key k aggregates that key's events j*2**L ...
# (j+1)*2**L - 1 (key-local positions); levels >= leaf are stored, level by level, in the
# key's region boff[k]:boff[k+1] of the block arrays.


def _sort_events_kernel(codes, times, order, n_keys):  # pragma: no cover - numba
    # stable counting sort by key of the time-ordered permutation ``order``: events of a
    # key end up in (time, input row) order; events with a missing key (-1) are dropped
    starts = np.zeros(n_keys + 1, np.int64)
    for i in range(codes.shape[0]):
        c = codes[i]
        if c >= 0:
            starts[c + 1] += 1
    for k in range(n_keys):
        starts[k + 1] += starts[k]
    fill = starts[:-1].copy()
    perm = np.empty(starts[n_keys], np.int64)
    sorted_times = np.empty(starts[n_keys], np.int64)
    for j in range(order.shape[0]):
        i = order[j]
        c = codes[i]
        if c >= 0:
            perm[fill[c]] = i
            sorted_times[fill[c]] = times[i]
            fill[c] += 1
    return perm, starts, sorted_times


def _build_blocks_kernel(vals, starts, leaf, need_m2):  # pragma: no cover - numba
    # bstat[v, block] = (non-NaN count, sum, min, max, sum of squared deviations)
    n_vals = vals.shape[0]
    n_keys = starts.shape[0] - 1
    boff = np.zeros(n_keys + 1, np.int64)
    for k in range(n_keys):
        m = (starts[k + 1] - starts[k]) >> leaf
        total = 0
        while m > 0:
            total += m
            m >>= 1
        boff[k + 1] = boff[k] + total
    bstat = np.zeros((n_vals, boff[n_keys], 5))
    width = 1 << leaf
    for v in range(n_vals):
        for k in range(n_keys):
            s = starts[k]
            base = boff[k]
            n_leaf = (starts[k + 1] - s) >> leaf
            for j in range(n_leaf):
                cnt = 0.0
                sm = 0.0
                mn = np.inf
                mx = -np.inf
                for i in range(s + j * width, s + (j + 1) * width):
                    x = vals[v, i]
                    if x == x:
                        cnt += 1.0
                        sm += x
                        mn = min(mn, x)
                        mx = max(mx, x)
                m2 = 0.0
                if need_m2 and cnt > 0.0:
                    mean = sm / cnt
                    for i in range(s + j * width, s + (j + 1) * width):
                        x = vals[v, i]
                        if x == x:
                            d = x - mean
                            m2 += d * d
                st = bstat[v, base + j]
                st[0] = cnt
                st[1] = sm
                st[2] = mn
                st[3] = mx
                st[4] = m2
            prev = base
            prev_count = n_leaf
            cur = base + n_leaf
            while prev_count >= 2:
                count = prev_count >> 1
                for j in range(count):
                    sa = bstat[v, prev + 2 * j]
                    sb = bstat[v, prev + 2 * j + 1]
                    st = bstat[v, cur + j]
                    na = sa[0]
                    nb = sb[0]
                    cnt = na + nb
                    sm = sa[1] + sb[1]
                    st[0] = cnt
                    st[1] = sm
                    st[2] = min(sa[2], sb[2])
                    st[3] = max(sa[3], sb[3])
                    m2 = sa[4] + sb[4]
                    if need_m2 and cnt > 0.0:
                        mean = sm / cnt
                        if na > 0.0:
                            d = sa[1] / na - mean
                            m2 += na * d * d
                        if nb > 0.0:
                            d = sb[1] / nb - mean
                            m2 += nb * d * d
                    st[4] = m2
                prev = cur
                cur += count
                prev_count = count
    return boff, bstat


def _query_kernel(  # pragma: no cover - compiled by numba
    k_from,
    k_to,
    q_starts,
    q_perm,
    q_times,
    sorted_times,
    vals,
    starts,
    boff,
    bstat,
    leaf,
    wins,
    count_col,
    agg_col,
    dsl_col,
    day,
    out,
):
    # Queries of key k are q_perm[q_starts[k]:q_starts[k+1]] (times in q_times, same
    # order). Their window bounds are found by galloping forward from the previous
    # query's bounds when times increase (O(1) for time-ordered queries), else from the
    # start of the key; the bounds are exact either way, so results do not depend on it.
    n_wins = wins.shape[0]
    n_vals = vals.shape[0]
    width = 1 << leaf
    lvl_off = np.zeros(64, np.int64)
    blk = np.empty(130, np.int64)
    pos = np.empty(n_wins + 1, np.int64)
    # results go to a small buffer in key order and are scattered to ``out`` (rows in
    # queries' order) column by column: far fewer cache misses than writing every
    # column of every query straight to its row
    n_cols = out.shape[0]
    cap = 8192
    buf = np.empty((n_cols, cap))
    dest = np.empty(cap, np.int64)
    nbuf = 0
    prev = np.empty(n_wins + 1, np.int64)
    for k in range(k_from, k_to):
        s = starts[k]
        e = starts[k + 1]
        m = (e - s) >> leaf  # where each block level of this key starts
        level = leaf
        off = boff[k]
        while m > 0:
            lvl_off[level] = off
            off += m
            level += 1
            m >>= 1
        for r in range(n_wins + 1):
            pos[r] = s
            prev[r] = np.iinfo(np.int64).min
        for jq in range(q_starts[k], q_starts[k + 1]):
            q = q_perm[jq]
            t = q_times[jq]
            # pos[0]: first event at or after t; pos[1 + w]: first at or after t - w
            for r in range(n_wins + 1):
                target = t if r == 0 else t - wins[r - 1]
                lo_ = pos[r] if target >= prev[r] else s
                probe = lo_
                step = 1
                while probe < e and sorted_times[probe] < target:
                    lo_ = probe + 1
                    probe = lo_ + step
                    step <<= 1
                hi_ = min(probe, e)
                while lo_ < hi_:
                    mid = (lo_ + hi_) >> 1
                    if sorted_times[mid] < target:
                        lo_ = mid + 1
                    else:
                        hi_ = mid
                pos[r] = lo_
                prev[r] = target
            hi = pos[0]
            if dsl_col >= 0:
                buf[dsl_col, nbuf] = (t - sorted_times[hi - 1]) / day if hi > s else np.nan
            for w in range(n_wins):
                lo = pos[w + 1]
                if count_col[w] >= 0:
                    buf[count_col[w], nbuf] = hi - lo
                if n_vals == 0:
                    continue
                # canonical split of key-local [a, b): single events a..a1-1, aligned
                # blocks (largest fit, left to right) over a1..b1-1, single events b1..b-1
                a = lo - s
                b = hi - s
                a1 = ((a + width - 1) >> leaf) << leaf
                n_blk = 0
                if a1 + width <= b:
                    i = a1
                    while i + width <= b:
                        level = leaf
                        while ((i >> (level + 1)) << (level + 1)) == i and i + (
                            1 << (level + 1)
                        ) <= b:
                            level += 1
                        blk[n_blk] = lvl_off[level] + (i >> level)
                        n_blk += 1
                        i += 1 << level
                    b1 = i
                else:
                    a1 = b
                    b1 = b
                for v in range(n_vals):
                    cnt = 0.0
                    sm = 0.0
                    mn = np.inf
                    mx = -np.inf
                    for i in range(s + a, s + a1):
                        x = vals[v, i]
                        if x == x:
                            cnt += 1.0
                            sm += x
                            mn = min(mn, x)
                            mx = max(mx, x)
                    for jb in range(n_blk):
                        st = bstat[v, blk[jb]]
                        cnt += st[0]
                        sm += st[1]
                        mn = min(mn, st[2])
                        mx = max(mx, st[3])
                    for i in range(s + b1, s + b):
                        x = vals[v, i]
                        if x == x:
                            cnt += 1.0
                            sm += x
                            mn = min(mn, x)
                            mx = max(mx, x)
                    cols = agg_col[w, v]
                    if cols[0] >= 0:
                        buf[cols[0], nbuf] = sm
                    if cols[1] >= 0:
                        buf[cols[1], nbuf] = sm / cnt if cnt > 0.0 else np.nan
                    if cols[3] >= 0:
                        buf[cols[3], nbuf] = mn if cnt > 0.0 else np.nan
                    if cols[4] >= 0:
                        buf[cols[4], nbuf] = mx if cnt > 0.0 else np.nan
                    if cols[5] >= 0:
                        buf[cols[5], nbuf] = vals[v, hi - 1] if hi > lo else np.nan
                    if cols[2] >= 0:
                        std = np.nan
                        if cnt >= 2.0:
                            mean = sm / cnt
                            m2 = 0.0
                            for i in range(s + a, s + a1):
                                x = vals[v, i]
                                if x == x:
                                    d = x - mean
                                    m2 += d * d
                            for jb in range(n_blk):
                                st = bstat[v, blk[jb]]
                                if st[0] > 0.0:
                                    d = st[1] / st[0] - mean
                                    m2 += st[4] + st[0] * d * d
                            for i in range(s + b1, s + b):
                                x = vals[v, i]
                                if x == x:
                                    d = x - mean
                                    m2 += d * d
                            std = math.sqrt(m2 / (cnt - 1.0))
                        buf[cols[2], nbuf] = std
            dest[nbuf] = q
            nbuf += 1
            if nbuf == cap:
                for c in range(n_cols):
                    for i in range(cap):
                        out[c, dest[i]] = buf[c, i]
                nbuf = 0
    for c in range(n_cols):
        for i in range(nbuf):
            out[c, dest[i]] = buf[c, i]
    return 0


class _Kernel:
    """A numba-compiled kernel that uses numba's on-disk cache when it can.

    Falls back to compiling in memory when numba finds no writable cache directory (a
    read-only install without a home cache) or when a cache entry cannot be loaded (e.g.
    one written while the file was imported under another module name).
    """

    def __init__(self, fn: object, **options: object) -> None:
        import numba

        self._njit = numba.njit
        self._fn = fn
        self._options = options
        try:
            self._dispatcher = numba.njit(cache=True, **options)(fn)
            self.cached = True
        except RuntimeError:  # "cannot cache function ...: no locator available"
            self._dispatcher = numba.njit(**options)(fn)
            self.cached = False
        self._checked = False
        self._lock = threading.Lock()

    def __call__(self, *args: object) -> object:
        if not self._checked:
            with self._lock:
                if not self._checked:
                    try:
                        result = self._dispatcher(*args)
                    except Exception:
                        if not self.cached:
                            raise
                        self._dispatcher = self._njit(**self._options)(self._fn)
                        self.cached = False
                        result = self._dispatcher(*args)
                    self._checked = True
                    return result
        return self._dispatcher(*args)


@functools.cache
def _kernels() -> tuple[_Kernel, _Kernel, _Kernel]:
    """The three kernels, compiled (or loaded from numba's cache) on first call."""
    return (
        _Kernel(_sort_events_kernel),
        _Kernel(_build_blocks_kernel),
        _Kernel(_query_kernel, nogil=True),
    )


# ----------------------------------------------------------------------------- inputs
def _check_columns(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise FeatureError(
            f"{name} is missing column(s) {missing}; it has {list(frame.columns)}. "
            "Rename the columns or pass the right keys/event_time/query_time/values"
        )


def _time_unit(series: pd.Series, frame: str, column: str) -> str:
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        kind = (
            "timezone-naive datetime"
            if pd.api.types.is_datetime64_dtype(series.dtype)
            else "not a datetime"
        )
        raise FeatureError(
            f"{frame}.{column} must be a timezone-aware datetime column (UTC), got dtype "
            f"{series.dtype} ({kind}); convert with pd.to_datetime(..., utc=True) or "
            "validate the tables first (govml.validate_tables)"
        )
    n_missing = int(series.isna().sum())
    if n_missing:
        raise FeatureError(
            f"{frame}.{column} has {n_missing} missing time(s) (NaT) out of {len(series)} "
            f"rows; every {'event' if frame == 'events' else 'query'} needs a time: drop or "
            "fill those rows first"
        )
    return series.dt.unit


def _as_int_times(series: pd.Series, unit: str) -> np.ndarray:
    """Instants as int64 counts of ``unit`` since the epoch (UTC)."""
    return np.asarray(series.array.as_unit(unit).asi8, dtype=np.int64)


def _value_matrix(events: pd.DataFrame, values: list[str]) -> list[np.ndarray]:
    columns = []
    for value in values:
        col = events[value]
        if not (
            pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)
        ) or isinstance(col.dtype, pd.CategoricalDtype):
            raise FeatureError(
                f"events.{value} must be numeric to be aggregated, got dtype {col.dtype}; "
                "convert it (e.g. .astype(float)) or leave it out of values"
            )
        columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
    return columns


def _column_codes(ev: pd.Series, q: pd.Series | None) -> tuple[np.ndarray, int]:
    """Codes of one key column over events then queries (one code space); -1 = missing."""
    if (
        q is not None
        and isinstance(ev.dtype, pd.CategoricalDtype)
        and isinstance(q.dtype, pd.CategoricalDtype)
        and ev.cat.categories.equals(q.cat.categories)
    ):
        codes = np.concatenate([ev.cat.codes.to_numpy(), q.cat.codes.to_numpy()])
        return codes.astype(np.int64), len(ev.cat.categories)
    both = ev if q is None else pd.concat([ev, q], ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def _key_codes(
    events: pd.DataFrame, queries: pd.DataFrame, keys: list[str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Dense key codes 0..n-1 shared by events and queries (-1: a key value is missing)."""
    same = queries is events  # e.g. every event is also a query
    codes = None
    n = 0
    for col in keys:
        c, nc = _column_codes(events[col], None if same else queries[col])
        if codes is None:
            codes, n = c, nc
            continue
        combined = np.where((codes < 0) | (c < 0), -1, codes * nc + c)
        codes, uniques = pd.factorize(combined)  # -1 is a value here: keep it -1
        codes = np.asarray(codes, dtype=np.int64)
        missing = np.flatnonzero(uniques == -1)
        if len(missing):
            hit = codes == missing[0]
            codes = np.where(codes > missing[0], codes - 1, codes)
            codes[hit] = -1
        n = len(uniques) - len(missing)
    n_ev = len(events)
    return codes[:n_ev], (codes if same else codes[n_ev:]), n


def _names(keys: str | Sequence[str]) -> list[str]:
    key_cols = [keys] if isinstance(keys, str) else list(keys)
    if not key_cols:
        raise FeatureError("keys is empty; name at least one key column (e.g. keys='creator_id')")
    if len(set(key_cols)) != len(key_cols):
        raise FeatureError(f"keys {key_cols} lists a column twice; name each key column once")
    return key_cols


# ----------------------------------------------------------------------------- public
def trailing_windows(
    events: pd.DataFrame,
    queries: pd.DataFrame,
    *,
    keys: str | Sequence[str],
    event_time: str,
    query_time: str | None = None,
    values: Sequence[str] = (),
    windows: Sequence[str | pd.Timedelta] = ("1D", "7D", "30D", "90D"),
    aggregations: Sequence[str] = ("count", "sum", "mean", "std", "min", "max", "last"),
    time_since_last: bool = True,
    prefix: str = "",
) -> pd.DataFrame:
    """Aggregates of each key's events in trailing windows known strictly before each query.

    An event counts for the query ``(k, t)`` in window ``w`` iff its key is ``k`` and
    ``t - w <= event_time < t``. See the module documentation for the exact meaning of
    each aggregation, the column names and the numerics.

    Parameters
    ----------
    events : DataFrame
        One row per event: the key column(s), ``event_time`` (timezone-aware, no NaT) and
        the numeric ``values`` columns. Need not be sorted.
    queries : DataFrame
        One row per prediction point: the key column(s) and ``query_time``. Need not be
        sorted; may be ``events`` itself (each event then sees only earlier events).
    keys : str or sequence of str
        Entity key column(s) present in both frames, of any hashable dtype (strings,
        integers, categoricals). Rows with a missing key match nothing.
    event_time : str
        Known-at time column of ``events``.
    query_time : str, optional
        Prediction-time column of ``queries``; defaults to ``event_time``.
    values : sequence of str
        Numeric (or boolean) columns of ``events`` to aggregate (as float64).
    windows : sequence of str or Timedelta
        Positive fixed-length durations (``"7D"``, ``"12h"``, ``pd.Timedelta(days=30)``).
    aggregations : sequence of str
        Any of ``count, sum, mean, std, min, max, last``. ``count`` gives one column per
        window; the others one per window and value.
    time_since_last : bool
        Add ``{prefix}days_since_last``.
    prefix : str
        Prepended to every output column name.

    Returns
    -------
    DataFrame
        Indexed like ``queries``, in its row order, all columns float64 (see the module
        documentation for names and order).

    Raises
    ------
    FeatureError
        Missing columns, time columns that are not timezone-aware datetimes or hold NaT,
        non-numeric values, unparsable or non-positive windows, unknown aggregations,
        duplicate keys/values/aggregations/window labels, or nothing to compute.

    Examples
    --------
    >>> import pandas as pd
    >>> ts = lambda s: pd.Timestamp(s, tz="UTC")
    >>> ev = pd.DataFrame({"creator_id": ["a", "a", "a", "b"],
    ...                    "ended_at": [ts("2026-01-01"), ts("2026-01-05"), ts("2026-01-08"),
    ...                                 ts("2026-01-02")],
    ...                    "gmv": [10.0, 20.0, 40.0, 5.0]})
    >>> q = pd.DataFrame({"creator_id": ["a", "a", "c"],
    ...                   "t": [ts("2026-01-08"), ts("2026-01-09"), ts("2026-01-09")]})
    >>> f = trailing_windows(ev, q, keys="creator_id", event_time="ended_at", query_time="t",
    ...                      values=["gmv"], windows=["7D"], aggregations=["count", "sum"])
    >>> f.columns.tolist()
    ['count_7d', 'gmv_sum_7d', 'days_since_last']
    >>> f.to_numpy().tolist()
    [[2.0, 30.0, 3.0], [2.0, 60.0, 1.0], [0.0, 0.0, nan]]
    """
    key_cols = _names(keys)
    query_time = event_time if query_time is None else query_time
    value_cols = [values] if isinstance(values, str) else list(values)
    if len(set(value_cols)) != len(value_cols):
        raise FeatureError(f"values {value_cols} lists a column twice; name each value once")
    aggs = [aggregations] if isinstance(aggregations, str) else list(aggregations)
    unknown = [a for a in aggs if a not in AGGREGATIONS]
    if unknown:
        raise FeatureError(f"unknown aggregation(s) {unknown}; choose from {list(AGGREGATIONS)}")
    if len(set(aggs)) != len(aggs):
        raise FeatureError(f"aggregations {aggs} lists one twice; name each once")
    windows = [windows] if isinstance(windows, str | pd.Timedelta) else list(windows)
    tds = [_parse_window(w) for w in windows]
    labels = [window_label(td) for td in tds]
    if len(set(labels)) != len(labels):
        raise FeatureError(
            f"windows {list(windows)} name the same duration twice (labels {labels}); "
            "give each window once"
        )
    value_aggs = [a for a in aggs if a != "count"]

    _check_columns(events, "events", [*key_cols, event_time, *value_cols])
    _check_columns(queries, "queries", [*key_cols, query_time])
    unit_e = _time_unit(events[event_time], "events", event_time)
    unit_q = _time_unit(queries[query_time], "queries", query_time)
    value_arrays = _value_matrix(events, value_cols)

    # output column table
    names: list[str] = []
    n_w, n_v = len(tds), len(value_cols)
    count_col = np.full(n_w, -1, np.int64)
    agg_col = np.full((n_w, n_v, len(_VALUE_AGGS)), -1, np.int64)
    for wi, label in enumerate(labels):
        if "count" in aggs:
            count_col[wi] = len(names)
            names.append(f"{prefix}count_{label}")
        for vi, value in enumerate(value_cols):
            for agg in value_aggs:
                agg_col[wi, vi, _VALUE_AGGS.index(agg)] = len(names)
                names.append(f"{prefix}{value}_{agg}_{label}")
    dsl_col = -1
    if time_since_last:
        dsl_col = len(names)
        names.append(f"{prefix}days_since_last")
    if not names:
        raise FeatureError(
            "nothing to compute: no 'count', no values with value aggregations, no windows "
            "or time_since_last=False; ask for at least one output column"
        )

    # common integer time unit (the finer of the two columns): exact comparisons
    unit = unit_e if _UNIT_NS[unit_e] <= _UNIT_NS[unit_q] else unit_q
    unit_ns = _UNIT_NS[unit]
    e_time = _as_int_times(events[event_time], unit)
    q_time = _as_int_times(queries[query_time], unit)
    # e >= t - w  <=>  e >= t - floor(w / unit) for whole-unit e and t
    wins = np.array([td.value // unit_ns for td in tds], dtype=np.int64)
    day = 86_400_000_000_000 // unit_ns

    ev_codes, q_codes, n_keys = _key_codes(events, queries, key_cols)
    sort_events, build_blocks, query = _kernels()
    # time order first (stable: ties keep input row order; fast when already sorted),
    # then a stable counting sort by key
    order = np.argsort(e_time, kind="stable")
    perm, starts, sorted_times = sort_events(ev_codes, e_time, order, n_keys)
    del order
    vals = np.empty((n_v, len(perm)))
    for vi, arr in enumerate(value_arrays):
        np.take(arr, perm, out=vals[vi])
    need_m2 = "std" in value_aggs
    leaf = int(_LEAF_LEVEL)
    boff, bstat = build_blocks(vals, starts, leaf, need_m2)

    # queries grouped by key (input order within a key); unknown keys get empty windows
    n_q = len(queries)
    q_perm, q_starts, q_times = sort_events(q_codes, q_time, np.arange(n_q), n_keys)
    out = np.empty((len(names), n_q))
    unmatched = np.flatnonzero(q_codes < 0)
    if len(unmatched):
        empty = np.full(len(names), np.nan)
        empty[count_col[count_col >= 0]] = 0.0
        empty[agg_col[..., 0][agg_col[..., 0] >= 0]] = 0.0
        out[:, unmatched] = empty[:, None]
    args = (q_starts, q_perm, q_times, sorted_times, vals, starts, boff, bstat, leaf, wins)
    args = (*args, count_col, agg_col, dsl_col, day, out)
    n_threads = _n_threads(len(q_perm))
    if n_threads <= 1:
        query(0, n_keys, *args)
    else:  # contiguous key ranges with about equal numbers of queries
        from concurrent.futures import ThreadPoolExecutor

        query(0, 0, *args)  # compile or load once, before the threads start
        cuts = np.searchsorted(q_starts, np.linspace(0, len(q_perm), 4 * n_threads + 1))
        cuts[0], cuts[-1] = 0, n_keys
        with ThreadPoolExecutor(n_threads) as pool:
            jobs = [
                pool.submit(query, int(a), int(b), *args)
                for a, b in zip(cuts[:-1], cuts[1:], strict=True)
                if b > a
            ]
            for job in jobs:
                job.result()
    return pd.DataFrame(out.T, index=queries.index, columns=names, copy=False)


def _n_threads(n_queries: int) -> int:
    if n_queries < _THREADED_MIN_QUERIES:
        return 1
    from govml._config import get_settings

    return get_settings().n_jobs or os.cpu_count() or 1
