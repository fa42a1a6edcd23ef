"""Labels for both tasks, with label maturity at a training cutoff.

Two tasks, two labels (see ``DESIGN.md``):

* **Low-quality content** (session level, scored at session end): the label is a
  moderator verdict from the ``reviews`` table. :func:`session_labels` gives one row
  per reviewed session; its prediction time is the session's known-at, ``ended_at``.
* **Adversarial seller** (creator level, scored on snapshots): the label of a
  snapshot ``(creator, t)`` is 1 iff the creator has a violation of an adversarial
  kind and a severe severity *detected* in ``[t, t + horizon)`` whose *final* status
  is ``confirmed``. :func:`creator_snapshots` builds the snapshot grid and
  :func:`creator_labels` the labels.

The cutoff rule
---------------
A label used for training at a cutoff ``C`` depends only on facts known strictly
before ``C`` (a fact stamped exactly at ``C`` is *not* known before ``C``):

* session labels use only reviews with ``reviewed_at < C`` of sessions with
  ``ended_at < C``;
* a creator snapshot at ``t`` is kept only if ``t + horizon + resolution_delay <= C``
  (its detection window ``[t, t + horizon)`` closed at least ``resolution_delay``
  before ``C``, so no violation detected at or after ``C`` can fall into it) **and**
  every candidate violation in its window has ``resolved_at < C`` (its status is
  final before ``C``; otherwise its appeal window is still open and the snapshot is
  dropped and counted). The violation contract says a violation counts as confirmed
  until ``resolved_at``; a provisional label built on that could still flip, so it is
  never used for training.

Without a cutoff every label is computed from the final statuses in the tables
(evaluation on fully matured history); pass the end of the data as ``cutoff`` to drop
the snapshots whose label had not matured by then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from govml._exceptions import LabelError
from govml.schema import (
    ADVERSARIAL_VIOLATION_KINDS,
    REVIEW_REASONS,
    SAMPLE_REASONS,
    SEVERITIES,
    TIMESTAMP_DTYPE,
    VIOLATION_KINDS,
)

if TYPE_CHECKING:
    from govml.schema import Tables

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_RESOLUTION_DELAY",
    "DEFAULT_SEVERITIES",
    "SessionLabels",
    "CreatorLabels",
    "session_labels",
    "creator_snapshots",
    "creator_labels",
    "maturity_gap",
]

#: Default label horizon of the adversarial-seller task.
DEFAULT_HORIZON = "30D"
#: Default wait after the horizon for appeals to be decided (the simulator resolves
#: appeals within 3-21 days of detection).
DEFAULT_RESOLUTION_DELAY = "21D"
#: Severities that make a violation count for the adversarial-seller label.
DEFAULT_SEVERITIES: tuple[str, ...] = ("major", "critical")

_NAT = np.iinfo(np.int64).min  # NaT viewed as int64
_NEVER = np.iinfo(np.int64).max  # "not resolved" sentinel for maxima
_PACK_LIMIT = 2**62  # creator_snapshots packs (creator, lo, hi) into one int64 below this


# --------------------------------------------------------------------------- helpers


def _require(frame: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LabelError(
            f"{table} is missing column(s) {missing}; it has {list(frame.columns)}. "
            "Labels need the contract columns (see govml.schema.CONTRACT); validate the "
            "tables first (govml.validate_tables) or map your column names onto the contract"
        )


def _micros(series: pd.Series, table: str, column: str) -> np.ndarray:
    """A timezone-aware timestamp column as int64 microseconds since the epoch (UTC)."""
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        raise LabelError(
            f"{table}.{column} must be a timezone-aware timestamp column "
            f"({TIMESTAMP_DTYPE}), got dtype {series.dtype}; validate the tables first "
            "(govml.validate_tables) or convert with pd.to_datetime(..., utc=True)"
        )
    return (
        series.dt.tz_convert("UTC").dt.as_unit("us").to_numpy(dtype="datetime64[us]").view(np.int64)
    )


def _no_missing(values: np.ndarray | pd.Series, table: str, column: str) -> None:
    missing = (
        int((values == _NAT).sum()) if isinstance(values, np.ndarray) else int(values.isna().sum())
    )
    if missing:
        raise LabelError(
            f"{table}.{column} has {missing} missing value(s); every row needs one. "
            "Drop or fill those rows before building labels"
        )


def _unique_index(series: pd.Series, table: str, column: str) -> pd.Index:
    index = pd.Index(series)
    if not index.is_unique:
        dupes = series[series.duplicated()].unique()[:5]
        raise LabelError(
            f"{table}.{column} must be unique, but {int(series.duplicated().sum())} value(s) "
            f"repeat (e.g. {list(dupes)}); validate the tables (govml.validate_tables)"
        )
    return index


def _codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in ``index`` (-1 if absent or missing), as int64.

    Factorizes ``values`` first so only the distinct values are hashed against
    ``index``: on Arrow-backed string columns of millions of rows this is several
    times faster than ``index.get_indexer(values)``.
    """
    codes, uniques = pd.factorize(values)
    lookup = np.append(index.get_indexer(uniques), -1).astype(np.int64)
    return lookup[codes]  # code -1 (missing) picks the appended -1


def _isin(values: pd.Series, among: pd.Series) -> np.ndarray:
    """``values.isin(among)`` as a bool array, via Arrow for string columns.

    pandas' ``isin`` on Arrow-backed strings builds its lookup set in a Python loop;
    ``pyarrow.compute.is_in`` does the same in C++ (about 10x faster for 10M ids).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        left = pa.array(values, from_pandas=True)
        right = pa.array(pd.unique(among.dropna()), from_pandas=True).cast(left.type)
        return np.asarray(pc.fill_null(pc.is_in(left, value_set=right), False), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return values.isin(among).to_numpy(dtype=bool)


def _timestamp(value: object, name: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if ts is pd.NaT or ts.tzinfo is None:
        raise LabelError(
            f"{name}={value!r} is not a timezone-aware timestamp; naive times are ambiguous. "
            f"Pass e.g. pd.Timestamp('2026-03-01', tz='UTC') or '2026-03-01T00:00Z'"
        )
    return ts.tz_convert("UTC").as_unit("us")


def _cutoff(cutoff: object) -> pd.Timestamp | None:
    return None if cutoff is None else _timestamp(cutoff, "cutoff")


def _positive_timedelta(value: str | pd.Timedelta, name: str) -> pd.Timedelta:
    try:
        td = pd.Timedelta(value)
    except (TypeError, ValueError):
        td = pd.NaT
    if td is pd.NaT or td <= pd.Timedelta(0):
        raise LabelError(
            f"{name}={value!r} is not a positive duration; pass a pandas Timedelta or a "
            f"string such as '30D' or '12h'"
        )
    return td.as_unit("us")


def _int64_us(td: pd.Timedelta) -> int:
    return int(td / pd.Timedelta(microseconds=1))


def _utc_from_micros(values: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(values.astype("datetime64[us]")).tz_localize("UTC")


def _subset(values: Iterable[str], allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(values))
    unknown = [v for v in chosen if v not in allowed]
    if not chosen or unknown:
        raise LabelError(
            f"{name}={chosen!r} must be a non-empty subset of {allowed}"
            + (f"; unknown: {unknown}" if unknown else "")
        )
    return chosen


# --------------------------------------------------------------------- session labels


@dataclass(frozen=True, eq=False)
class SessionLabels:
    """Low-quality-content labels: one row per reviewed session.

    Attributes
    ----------
    frame : DataFrame
        ``session_id, creator_id, ended_at`` (prediction time), ``label`` (int8, 1 =
        low quality), ``sample_reason`` (categorical, contract levels; the sample the
        label comes from), ``is_random_audit`` (bool: the session is in the unbiased
        random-audit sample), ``reviewed_at`` and ``review_id`` of the review the label
        comes from, ``reason`` (that review's reason, null when not low quality) and
        ``n_reviews`` (usable reviews of the session). Sorted by ``ended_at`` then
        ``session_id``, ``RangeIndex``.
    cutoff : Timestamp or None
        The cutoff the labels were built at (None: all reviews).
    n_reviews : int
        Review rows given.
    n_reviews_after_cutoff : int
        Reviews ignored because ``reviewed_at >= cutoff``.
    n_reviews_unknown_session : int
        Reviews ignored because their session is not in the sessions table.
    n_sessions_unended : int
        Sessions ignored because they ended at or after the cutoff (their row is not
        known before the cutoff) although a review came before it.
    n_sessions_merged : int
        Labelled sessions with more than one usable review (merged into one row).
    n_sessions_conflicting : int
        Merged sessions whose reviews disagree.
    n_audit_precedence : int
        Sessions whose label is a random audit's verdict although an earlier
        non-audit review exists.

    Examples
    --------
    >>> import govml
    >>> tables = govml.simulate(n_creators=200, n_days=60, seed=4).tables
    >>> labels = govml.session_labels(tables, cutoff="2025-10-01T00:00Z")
    >>> labels.frame.columns.tolist()[:5]
    ['session_id', 'creator_id', 'ended_at', 'label', 'sample_reason']
    >>> labels.n_sessions == len(labels.frame), 0 < labels.n_random_audit < labels.n_sessions
    (True, True)
    >>> labels.random_audit()["sample_reason"].unique().tolist()
    ['random_audit']
    """

    frame: pd.DataFrame
    cutoff: pd.Timestamp | None
    n_reviews: int
    n_reviews_after_cutoff: int
    n_reviews_unknown_session: int
    n_sessions_unended: int
    n_sessions_merged: int
    n_sessions_conflicting: int
    n_audit_precedence: int

    @property
    def n_sessions(self) -> int:
        """Labelled sessions (rows of ``frame``).

        Examples
        --------
        >>> import govml
        >>> labels = govml.session_labels(govml.simulate(n_creators=60, n_days=30, seed=4).tables)
        >>> labels.n_sessions == labels.frame["session_id"].nunique()
        True
        """
        return len(self.frame)

    @property
    def n_random_audit(self) -> int:
        """Labelled sessions in the unbiased random-audit sample.

        Examples
        --------
        >>> import govml
        >>> labels = govml.session_labels(govml.simulate(n_creators=60, n_days=30, seed=4).tables)
        >>> labels.n_random_audit == len(labels.random_audit())
        True
        """
        return int(self.frame["is_random_audit"].sum())

    def random_audit(self) -> pd.DataFrame:
        """The rows of the unbiased random-audit sample (a new frame).

        Evaluate a model on these rows: the other reviews were sampled because something
        already looked wrong, so their positive rate is inflated.

        Examples
        --------
        >>> import govml
        >>> import pandas as pd
        >>> labels = govml.session_labels(govml.simulate(n_creators=60, n_days=30, seed=4).tables)
        >>> audit = labels.random_audit()
        >>> bool(audit["is_random_audit"].all()), audit.index.equals(pd.RangeIndex(len(audit)))
        (True, True)
        """
        return self.frame[self.frame["is_random_audit"]].reset_index(drop=True)


def session_labels(tables: Tables, *, cutoff: object = None) -> SessionLabels:
    """Low-quality-content labels from moderator reviews, one row per reviewed session.

    Rule when a session has several usable reviews (``reviewed_at < cutoff``):

    1. if any of them is a ``random_audit`` review, the label is the verdict of the
       earliest random audit and the session belongs to the random-audit sample —
       the random-audit sample is then exactly "sessions picked by a random audit",
       whatever other queues also picked them, so evaluation on it stays unbiased;
    2. otherwise the label is the earliest verdict (the first one the platform knew),
       with that review's ``sample_reason``.

    Ties on ``reviewed_at`` are broken by ``review_id``. As the cutoff moves later a
    session's label changes only if a random audit arrives after a non-audit review
    (counted in ``n_audit_precedence``).

    Parameters
    ----------
    tables : Tables
        Validated tables (``reviews`` and ``sessions`` are used).
    cutoff : timestamp-like, optional
        Timezone-aware training cutoff. Only reviews with ``reviewed_at < cutoff`` of
        sessions with ``ended_at < cutoff`` are used. None uses every review.

    Returns
    -------
    SessionLabels

    Raises
    ------
    LabelError
        Naive cutoff; missing columns; non-UTC-aware or missing timestamps, verdicts
        or sample reasons; duplicate session ids.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.schema import Tables
    >>> from govml.features.labels import session_labels
    >>> ts = lambda s: pd.Timestamp(s, tz="UTC")
    >>> sessions = pd.DataFrame({"session_id": ["s1", "s2"], "creator_id": ["c1", "c1"],
    ...                          "ended_at": [ts("2026-01-01"), ts("2026-01-02")]})
    >>> reviews = pd.DataFrame({
    ...     "review_id": ["r1", "r2", "r3"], "session_id": ["s1", "s1", "s2"],
    ...     "reviewed_at": [ts("2026-01-02"), ts("2026-01-03"), ts("2026-01-04")],
    ...     "is_low_quality": [True, False, True],
    ...     "sample_reason": ["viewer_report", "random_audit", "risk_queue"]})
    >>> empty = pd.DataFrame()
    >>> tables = Tables(creators=empty, sessions=sessions, outcomes=empty,
    ...                 violations=empty, actions=empty, reviews=reviews)
    >>> labels = session_labels(tables)
    >>> labels.frame[["session_id", "label", "sample_reason"]].values.tolist()
    [['s1', 0, 'random_audit'], ['s2', 1, 'risk_queue']]
    >>> session_labels(tables, cutoff=ts("2026-01-03")).frame["label"].tolist()
    [1]
    """
    c = _cutoff(cutoff)
    reviews, sessions = tables.reviews, tables.sessions
    _require(
        reviews,
        "reviews",
        ("review_id", "session_id", "reviewed_at", "is_low_quality", "sample_reason"),
    )
    _require(sessions, "sessions", ("session_id", "creator_id", "ended_at"))
    reviewed = _micros(reviews["reviewed_at"], "reviews", "reviewed_at")
    _no_missing(reviewed, "reviews", "reviewed_at")
    ended_all = _micros(sessions["ended_at"], "sessions", "ended_at")
    _no_missing(reviews["is_low_quality"], "reviews", "is_low_quality")
    bad_sample = ~reviews["sample_reason"].isin(SAMPLE_REASONS).to_numpy(dtype=bool)
    if bad_sample.any():
        bad = reviews.loc[bad_sample, "sample_reason"].unique()[:5]
        raise LabelError(
            f"reviews.sample_reason has {int(bad_sample.sum())} value(s) missing or outside "
            f"{SAMPLE_REASONS} (e.g. {list(bad)}); validate the tables (govml.validate_tables)"
        )
    sample = pd.Categorical(reviews["sample_reason"].astype(object), categories=SAMPLE_REASONS)
    # hash only the sessions that were reviewed (reviews are a small share of sessions)
    reviewed_rows = np.flatnonzero(_isin(sessions["session_id"], reviews["session_id"]))
    session_index = _unique_index(
        sessions["session_id"].iloc[reviewed_rows], "sessions", "session_id"
    )

    n_reviews = len(reviews)
    usable = np.ones(n_reviews, dtype=bool) if c is None else reviewed < c.value // 1000
    n_after = int(n_reviews - usable.sum())
    sub = _codes(reviews["session_id"], session_index)
    pos = np.where(sub >= 0, reviewed_rows[sub], -1)
    n_unknown = int((usable & (pos < 0)).sum())
    usable &= pos >= 0
    unended = np.zeros(n_reviews, dtype=bool)
    if c is not None:
        unended[usable] = ended_all[pos[usable]] >= c.value // 1000
    n_unended = int(pd.unique(pos[unended]).size)
    usable &= ~unended

    rows = np.flatnonzero(usable)
    audit = np.asarray(sample == "random_audit")[rows]
    verdict = reviews["is_low_quality"].to_numpy(dtype=bool)[rows]
    work = pd.DataFrame(
        {
            "spos": pos[rows],
            "not_audit": ~audit,
            "reviewed": reviewed[rows],
            "review_id": reviews["review_id"].iloc[rows].to_numpy(),
            "row": rows,
            "verdict": verdict,
        }
    )
    work = work.sort_values(["spos", "not_audit", "reviewed", "review_id"], kind="mergesort")
    chosen = work.drop_duplicates("spos", keep="first")
    per_session = work.groupby("spos", sort=True).agg(
        n=("verdict", "size"),
        any_lq=("verdict", "max"),
        all_lq=("verdict", "min"),
        first=("reviewed", "min"),
    )
    chosen = chosen.set_index("spos").sort_index()
    n_merged = int((per_session["n"] > 1).sum())
    n_conflicting = int((per_session["any_lq"] != per_session["all_lq"]).sum())
    n_precedence = int(((~chosen["not_audit"]) & (chosen["reviewed"] > per_session["first"])).sum())

    spos = chosen.index.to_numpy()
    src = chosen["row"].to_numpy()
    if "reason" in reviews.columns:  # optional in the contract
        reason = reviews["reason"].iloc[src].reset_index(drop=True)
    else:
        reason = pd.Series(pd.Categorical([None] * len(src), categories=REVIEW_REASONS))
    frame = pd.DataFrame(
        {
            "session_id": sessions["session_id"].iloc[spos].reset_index(drop=True),
            "creator_id": sessions["creator_id"].iloc[spos].reset_index(drop=True),
            "ended_at": _utc_from_micros(ended_all[spos]),
            "label": chosen["verdict"].to_numpy().astype(np.int8),
            "sample_reason": sample.take(src),
            "is_random_audit": ~chosen["not_audit"].to_numpy(),
            "reviewed_at": _utc_from_micros(chosen["reviewed"].to_numpy()),
            "review_id": reviews["review_id"].iloc[src].reset_index(drop=True),
            "reason": reason,
            "n_reviews": per_session["n"].to_numpy(dtype=np.int64),
        }
    )
    frame = frame.sort_values(["ended_at", "session_id"], kind="mergesort").reset_index(drop=True)
    return SessionLabels(
        frame=frame,
        cutoff=c,
        n_reviews=n_reviews,
        n_reviews_after_cutoff=n_after,
        n_reviews_unknown_session=n_unknown,
        n_sessions_unended=n_unended,
        n_sessions_merged=n_merged,
        n_sessions_conflicting=n_conflicting,
        n_audit_precedence=n_precedence,
    )


# ------------------------------------------------------------------ creator snapshots


def _snapshot_times(start: pd.Timestamp, end: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (TypeError, ValueError):
        offset = None
    if offset is None or offset.n <= 0:
        raise LabelError(
            f"freq={freq!r} is not a positive pandas frequency; use e.g. '1D', '12h' or 'W-MON'"
        )
    times = pd.date_range(start.normalize(), end, freq=offset, inclusive="left")
    return times[times >= start].as_unit("us")


def creator_snapshots(
    tables: Tables,
    *,
    start: object,
    end: object,
    freq: str = "1D",
    active_within: str | pd.Timedelta = "30D",
) -> pd.DataFrame:
    """Snapshot points ``(creator_id, snapshot_at)`` for the adversarial-seller task.

    Snapshot times are the ``freq`` grid anchored at midnight UTC of ``start``'s day
    (daily midnights by default), restricted to ``start <= snapshot_at < end``. A
    creator gets a snapshot at ``t`` iff it was onboarded strictly before ``t`` and at
    least one of its sessions ended (became known) in ``[t - active_within, t)``.

    Each session makes its creator active on the grid points in
    ``(ended_at, ended_at + active_within]``; the per-creator union of these index
    ranges is expanded directly, so the cost grows with the number of sessions and
    active pairs, never with creators × grid points.

    Parameters
    ----------
    tables : Tables
        Validated tables (``creators`` and ``sessions`` are used).
    start, end : timestamp-like
        Timezone-aware bounds of the snapshot times, ``[start, end)``.
    freq : str
        Grid frequency (any pandas frequency, e.g. ``"1D"``, ``"12h"``, ``"W-MON"``).
    active_within : str or Timedelta
        How recent the creator's last session end must be.

    Returns
    -------
    DataFrame
        ``creator_id, snapshot_at`` (``datetime64[us, UTC]``), ``market, category``
        (as in the creators table), sorted by ``snapshot_at`` then ``creator_id``.

    Raises
    ------
    LabelError
        Naive ``start``/``end``, ``end <= start``, bad ``freq``/``active_within``,
        missing columns, duplicate creator ids.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.schema import Tables
    >>> from govml.features.labels import creator_snapshots
    >>> ts = lambda s: pd.Timestamp(s, tz="UTC")
    >>> creators = pd.DataFrame({"creator_id": ["a", "b"], "market": ["ID", "TH"],
    ...                          "category": ["beauty", "home"],
    ...                          "onboarded_at": [ts("2025-12-01"), ts("2026-01-02")]})
    >>> sessions = pd.DataFrame({"session_id": ["s1", "s2"], "creator_id": ["a", "b"],
    ...                          "ended_at": [ts("2026-01-01 20:00"), ts("2026-01-02 20:00")]})
    >>> empty = pd.DataFrame()
    >>> tables = Tables(creators=creators, sessions=sessions, outcomes=empty,
    ...                 violations=empty, actions=empty, reviews=empty)
    >>> snaps = creator_snapshots(tables, start=ts("2026-01-01"), end=ts("2026-01-05"),
    ...                           active_within="2D")
    >>> [(c, t.day) for c, t in zip(snaps["creator_id"], snaps["snapshot_at"])]
    [('a', 2), ('a', 3), ('b', 3), ('b', 4)]
    """
    t0, t1 = _timestamp(start, "start"), _timestamp(end, "end")
    if t1 <= t0:
        raise LabelError(f"end={t1} must be after start={t0}; snapshots cover [start, end)")
    window = _int64_us(_positive_timedelta(active_within, "active_within"))
    creators, sessions = tables.creators, tables.sessions
    _require(creators, "creators", ("creator_id", "market", "category", "onboarded_at"))
    _require(sessions, "sessions", ("creator_id", "ended_at"))
    grid = _snapshot_times(t0, t1, freq).asi8
    onboarded = _micros(creators["onboarded_at"], "creators", "onboarded_at")
    ended = _micros(sessions["ended_at"], "sessions", "ended_at")
    _unique_index(creators["creator_id"], "creators", "creator_id")

    m = len(grid)
    if m:
        # sessions that can make a creator active on some grid point
        near = (ended >= grid[0] - window) & (ended < grid[-1]) & (ended != _NAT)
        sel = np.flatnonzero(near)
    else:
        sel = np.zeros(0, dtype=np.int64)
    # creator codes in creator_id order, so expanded rows come out sorted by id
    by_id = creators["creator_id"].argsort(kind="stable").to_numpy()
    ids_sorted = pd.Index(creators["creator_id"].iloc[by_id])
    code = _codes(sessions["creator_id"].iloc[sel], ids_sorted)
    e = ended[sel]
    lo = np.searchsorted(grid, e, side="right")  # first grid point after the session end
    hi = np.searchsorted(grid, e + window, side="right")  # first one past the window
    known = code >= 0
    code, lo, hi = code[known], lo[known], hi[known]
    onboard_lo = np.searchsorted(grid, onboarded[by_id], side="right")
    lo = np.maximum(lo, onboard_lo[code])
    keep = lo < hi
    code, lo, hi = code[keep].astype(np.int64), lo[keep], hi[keep]

    # union of [lo, hi) per creator: encode (code, grid index) into one int64 so a single
    # running maximum merges overlapping ranges and never crosses creators
    span = m + 1
    klo, khi = code * span + lo, code * span + hi
    if len(creators) * span * span < _PACK_LIMIT:
        # sort (klo, hi) packed into one int64: a plain sort is much faster than argsort
        packed = np.sort(klo * span + hi)
        klo = packed // span
        khi = klo - klo % span + packed % span
    else:
        order = np.lexsort((khi, klo))
        klo, khi = klo[order], khi[order]
    run = np.maximum.accumulate(khi) if len(khi) else khi
    starts_mask = np.ones(len(klo), dtype=bool)
    starts_mask[1:] = klo[1:] > run[:-1]
    first = np.flatnonzero(starts_mask)
    last = np.append(first[1:] - 1, len(klo) - 1) if len(first) else first
    seg_start, seg_end = klo[first], run[last]
    lengths = seg_end - seg_start
    total = int(lengths.sum())
    offsets = np.repeat(seg_start - (np.cumsum(lengths) - lengths), lengths)
    flat = np.arange(total, dtype=np.int64) + offsets
    row_code, row_grid = np.divmod(flat, span)
    by_time = np.argsort(row_grid.astype(np.int16 if m < 2**15 else np.int64), kind="stable")
    src = by_id[row_code[by_time]]
    snap = grid[row_grid[by_time]]
    return pd.DataFrame(
        {
            "creator_id": creators["creator_id"].iloc[src].reset_index(drop=True),
            "snapshot_at": _utc_from_micros(snap),
            "market": creators["market"].iloc[src].reset_index(drop=True),
            "category": creators["category"].iloc[src].reset_index(drop=True),
        }
    )


# --------------------------------------------------------------------- creator labels


@dataclass(frozen=True, eq=False)
class CreatorLabels:
    """Adversarial-seller labels for creator snapshots.

    Attributes
    ----------
    frame : DataFrame
        ``creator_id, snapshot_at, label`` (int8) and ``label_known_at``: the moment the
        label became final, ``max(snapshot_at + horizon + resolution_delay, latest
        resolved_at of the candidate violations in the window)``. Rows are the kept
        snapshots, in input order, ``RangeIndex``.
    horizon, resolution_delay : Timedelta
        The label window length and the extra wait for appeals.
    cutoff : Timestamp or None
        The training cutoff (None: labels from final statuses, nothing dropped).
    kinds, severities : tuple of str
        Violation kinds and severities that count.
    n_snapshots : int
        Snapshot rows given.
    n_dropped_immature : int
        Snapshots with ``snapshot_at + horizon + resolution_delay > cutoff``.
    n_dropped_open_appeal : int
        Time-mature snapshots with a candidate violation whose ``resolved_at >= cutoff``.

    Examples
    --------
    >>> import govml
    >>> tables = govml.simulate(n_creators=200, n_days=60, seed=4).tables
    >>> snaps = govml.creator_snapshots(tables, start="2025-09-01T00:00Z",
    ...                                 end="2025-09-15T00:00Z", freq="7D")
    >>> labels = govml.creator_labels(tables, snaps, horizon="7D", resolution_delay="7D",
    ...                               cutoff="2025-09-20T00:00Z")
    >>> labels.frame.columns.tolist(), str(labels.frame["label"].dtype)
    (['creator_id', 'snapshot_at', 'label', 'label_known_at'], 'int8')
    >>> labels.n_labels + labels.n_dropped_immature + labels.n_dropped_open_appeal == len(snaps)
    True
    """

    frame: pd.DataFrame
    horizon: pd.Timedelta
    resolution_delay: pd.Timedelta
    cutoff: pd.Timestamp | None
    kinds: tuple[str, ...]
    severities: tuple[str, ...]
    n_snapshots: int
    n_dropped_immature: int
    n_dropped_open_appeal: int

    @property
    def n_labels(self) -> int:
        """Kept snapshots (rows of ``frame``).

        Examples
        --------
        >>> import govml
        >>> tables = govml.simulate(n_creators=60, n_days=30, seed=4).tables
        >>> snaps = govml.creator_snapshots(tables, start="2025-08-25T00:00Z",
        ...                                 end="2025-09-01T00:00Z")
        >>> labels = govml.creator_labels(tables, snaps, horizon="7D", resolution_delay="7D")
        >>> labels.n_labels == labels.n_snapshots == len(snaps)  # no cutoff: nothing dropped
        True
        """
        return len(self.frame)

    @property
    def n_positive(self) -> int:
        """Kept snapshots labelled 1.

        Examples
        --------
        >>> import govml
        >>> tables = govml.simulate(n_creators=60, n_days=30, seed=4).tables
        >>> snaps = govml.creator_snapshots(tables, start="2025-08-25T00:00Z",
        ...                                 end="2025-09-01T00:00Z")
        >>> labels = govml.creator_labels(tables, snaps, horizon="7D", resolution_delay="7D")
        >>> labels.n_positive == int(labels.frame["label"].sum()) <= labels.n_labels
        True
        """
        return int(self.frame["label"].sum())


def maturity_gap(
    horizon: str | pd.Timedelta = DEFAULT_HORIZON,
    resolution_delay: str | pd.Timedelta = DEFAULT_RESOLUTION_DELAY,
) -> pd.Timedelta:
    """How long after a snapshot its creator label is mature: ``horizon + resolution_delay``.

    Training separates its periods by this gap: snapshots of a training period must be
    at least this much before the period's cutoff (e.g. the validation start) to have
    labels, so train/validation/test labels never overlap in time.

    Examples
    --------
    >>> from govml.features.labels import maturity_gap
    >>> maturity_gap("30D", "21D")
    Timedelta('51 days 00:00:00')
    """
    return _positive_timedelta(horizon, "horizon") + _positive_timedelta(
        resolution_delay, "resolution_delay"
    )


def creator_labels(
    tables: Tables,
    snapshots: pd.DataFrame,
    *,
    horizon: str | pd.Timedelta = DEFAULT_HORIZON,
    resolution_delay: str | pd.Timedelta = DEFAULT_RESOLUTION_DELAY,
    cutoff: object = None,
    kinds: Iterable[str] = ADVERSARIAL_VIOLATION_KINDS,
    severities: Iterable[str] = DEFAULT_SEVERITIES,
) -> CreatorLabels:
    """Adversarial-seller labels for snapshots ``(creator_id, snapshot_at)``.

    A *candidate* violation is one whose ``kind`` is in ``kinds`` and ``severity`` in
    ``severities``. The label of snapshot ``(c, t)`` is 1 iff ``c`` has a candidate
    violation with ``t <= detected_at < t + horizon`` whose final ``status`` is
    ``confirmed`` (overturned ones do not count), else 0.

    Maturity at ``cutoff`` — a snapshot is kept iff both hold:

    * ``t + horizon + resolution_delay <= cutoff`` (else dropped, ``n_dropped_immature``);
    * every candidate violation in its window has ``resolved_at < cutoff`` (else an
      appeal is still open at the cutoff: dropped, ``n_dropped_open_appeal``).

    So every kept label depends only on violations detected before ``t + horizon``
    and statuses final before ``cutoff``: appending violations detected at or after the
    cutoff, or changing statuses resolved at or after it, changes no kept label; a kept
    label equals the label on fully matured history and its ``label_known_at`` is at
    most ``cutoff``. Without ``cutoff``, no row is dropped and labels come from the final statuses
    (evaluation on fully matured history: the tables must cover every window plus the
    resolution delay — pass the end of the data as ``cutoff`` to enforce that).

    Parameters
    ----------
    tables : Tables
        Validated tables (``violations`` is used).
    snapshots : DataFrame
        ``creator_id`` and ``snapshot_at`` (timezone-aware), e.g. from
        :func:`creator_snapshots`. Other columns are ignored.
    horizon, resolution_delay : str or Timedelta
        Label window length and the wait for appeals; both positive.
    cutoff : timestamp-like, optional
        Timezone-aware training cutoff.
    kinds, severities : iterable of str
        Violation kinds and severities that count (subsets of the contract's).

    Returns
    -------
    CreatorLabels

    Raises
    ------
    LabelError
        Non-positive ``horizon``/``resolution_delay``, naive ``cutoff``, unknown
        ``kinds``/``severities``, ``snapshots`` missing columns or with naive/missing
        times, or no mature label at ``cutoff``.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.schema import Tables
    >>> from govml.features.labels import creator_labels
    >>> ts = lambda s: pd.Timestamp(s, tz="UTC")
    >>> violations = pd.DataFrame({
    ...     "creator_id": ["a", "a"], "kind": ["counterfeit", "counterfeit"],
    ...     "severity": ["major", "critical"],
    ...     "detected_at": [ts("2026-01-05"), ts("2026-01-20")],
    ...     "status": ["confirmed", "overturned"],
    ...     "resolved_at": [ts("2026-01-15"), ts("2026-02-01")]})
    >>> empty = pd.DataFrame()
    >>> tables = Tables(creators=empty, sessions=empty, outcomes=empty,
    ...                 violations=violations, actions=empty, reviews=empty)
    >>> snaps = pd.DataFrame({"creator_id": ["a", "a"],
    ...                       "snapshot_at": [ts("2026-01-01"), ts("2026-01-10")]})
    >>> labels = creator_labels(tables, snaps, horizon="14D", resolution_delay="7D")
    >>> labels.frame["label"].tolist()
    [1, 0]
    >>> at = creator_labels(tables, snaps, horizon="14D", resolution_delay="7D",
    ...                     cutoff=ts("2026-01-31"))
    >>> at.n_labels, at.n_dropped_open_appeal
    (1, 1)
    """
    h = _positive_timedelta(horizon, "horizon")
    d = _positive_timedelta(resolution_delay, "resolution_delay")
    c = _cutoff(cutoff)
    kinds_t = _subset(kinds, VIOLATION_KINDS, "kinds")
    severities_t = _subset(severities, SEVERITIES, "severities")
    _require(snapshots, "snapshots", ("creator_id", "snapshot_at"))
    t = _micros(snapshots["snapshot_at"], "snapshots", "snapshot_at")
    _no_missing(t, "snapshots", "snapshot_at")
    viol = tables.violations
    _require(
        viol,
        "violations",
        ("creator_id", "kind", "severity", "detected_at", "status", "resolved_at"),
    )
    h_us, d_us = _int64_us(h), _int64_us(d)
    n = len(snapshots)

    mature_by_time = np.ones(n, dtype=bool) if c is None else t + h_us + d_us <= c.value // 1000
    rows = np.flatnonzero(mature_by_time)
    tq = t[rows]

    cand = (viol["kind"].isin(kinds_t) & viol["severity"].isin(severities_t)).to_numpy()
    vc = viol.loc[cand]
    det = _micros(vc["detected_at"], "violations", "detected_at")
    _no_missing(det, "violations", "detected_at")
    res = _micros(vc["resolved_at"], "violations", "resolved_at")
    res = np.where(res == _NAT, _NEVER, res)  # never resolved: never final
    confirmed = (vc["status"] == "confirmed").to_numpy(dtype=bool)

    # locate each snapshot's window [t, t + h) in the candidates sorted by (creator, time):
    # ranks of detection times keep the (creator, time) key small enough for int64
    vcode, cand_ids = pd.factorize(vc["creator_id"])
    vcode = vcode.astype(np.int64)
    qcode = _codes(snapshots["creator_id"].iloc[rows], cand_ids)
    uniq = np.unique(det)
    k = len(uniq) + 1
    vkey = vcode * k + np.searchsorted(uniq, det)
    order = np.argsort(vkey, kind="stable")
    vkey, res_s, conf_s = vkey[order], res[order], confirmed[order]
    lo = np.searchsorted(vkey, qcode * k + np.searchsorted(uniq, tq), side="left")
    hi = np.searchsorted(vkey, qcode * k + np.searchsorted(uniq, tq + h_us), side="left")
    has = (qcode >= 0) & (hi > lo)
    conf_cs = np.concatenate([[0], np.cumsum(conf_s, dtype=np.int64)])
    label = np.where(has, conf_cs[hi] - conf_cs[lo] > 0, False)
    max_res = np.full(len(rows), _NAT, dtype=np.int64)
    if has.any():
        padded = np.append(res_s, _NAT)  # reduceat needs every index < len
        bounds = np.column_stack([lo[has], hi[has]]).ravel()
        max_res[has] = np.maximum.reduceat(padded, bounds)[::2]

    if c is None:
        open_appeal = np.zeros(len(rows), dtype=bool)
    else:
        open_appeal = has & (max_res >= c.value // 1000)
    n_immature = int(n - len(rows))
    n_open = int(open_appeal.sum())
    keep = ~open_appeal
    if c is not None and not keep.any():
        latest = c - h - d
        earliest = _utc_from_micros(t.min(keepdims=True))[0] if n else None
        raise LabelError(
            f"no mature creator label at cutoff {c}: of {n} snapshot(s), {n_immature} are "
            f"immature (snapshot_at + horizon {h} + resolution_delay {d} > cutoff) and "
            f"{n_open} have a candidate violation whose appeal is still open at the cutoff "
            f"(resolved_at >= cutoff). The latest usable snapshot_at is {latest}"
            + (f"; the earliest snapshot given is {earliest}" if earliest is not None else "")
            + ". Use earlier snapshots or a later cutoff (or a shorter horizon/resolution_delay)"
        )
    base = tq + h_us + d_us
    known_at = np.where(has, np.maximum(base, max_res), base)
    known_at = np.where(known_at == _NEVER, _NAT, known_at)
    kept_rows = rows[keep]
    frame = pd.DataFrame(
        {
            "creator_id": snapshots["creator_id"].iloc[kept_rows].reset_index(drop=True),
            "snapshot_at": _utc_from_micros(tq[keep]),
            "label": label[keep].astype(np.int8),
            "label_known_at": _utc_from_micros(known_at[keep]),
        }
    )
    return CreatorLabels(
        frame=frame,
        horizon=h,
        resolution_delay=d,
        cutoff=c,
        kinds=kinds_t,
        severities=severities_t,
        n_snapshots=n,
        n_dropped_immature=n_immature,
        n_dropped_open_appeal=n_open,
    )
