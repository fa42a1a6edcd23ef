"""A creator's enforcement, reward, review and profile history as known before ``t``.

Both tasks need the same picture of a creator's standing at prediction time: active
account-health points (by violation kind), active penalties, recent warnings, rewards
and campaigns, the current commission rate, earlier review verdicts, tenure. This
module computes it for any query points ``(creator_id, t)``.

Time rules (all strictly before ``t``):

* a violation counts from ``detected_at``; its health points stay active until
  ``detected_at + points_expiry`` or, if it was overturned on appeal, until
  ``resolved_at`` — the overturn is only known from ``resolved_at``;
* a penalty is active from ``taken_at`` until ``ends_at`` (open-ended when missing);
* a review verdict is known from ``reviewed_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from govml._exceptions import FeatureError
from govml.features.catalogue import FeatureSpec, WindowBlock
from govml.features.intervals import active_at, latest_before
from govml.schema import VIOLATION_KINDS, Tables

__all__ = [
    "creator_history",
    "history_feature_specs",
    "history_names",
    "WindowCall",
    "DEFAULT_POINTS_EXPIRY",
]

#: Account-health points expire this long after detection (DESIGN: 90 days).
DEFAULT_POINTS_EXPIRY = "90D"

_PENALTY_KINDS = ("live_restriction", "suspension", "commission_hold")

VIOLATION_BLOCK = WindowBlock(
    source="violations",
    prefix="viol_",
    values=(
        ("is_severe", "major or critical violations detected", "VH"),
        ("is_adversarial_kind", "counterfeit, off-platform or fake-engagement violations", "VH"),
    ),
    windows=("30D", "180D"),
    aggregations=("sum",),
    count_group="VH",
    count_description="violations detected",
    time_since_last=True,
)
OVERTURN_BLOCK = WindowBlock(
    source="violations",
    prefix="overturned_",
    values=(),
    windows=("180D",),
    aggregations=(),
    count_group="VH",
    count_description="violations overturned on appeal",
)
ACTION_BLOCK = WindowBlock(
    source="actions",
    prefix="act_",
    values=(
        ("is_warning", "warnings", "PN"),
        ("is_penalty", "restrictions, suspensions and commission holds", "PN"),
        ("is_reward", "incentive rewards", "RW"),
        ("reward_usd", "incentive reward amount (USD)", "RW"),
        ("is_campaign", "campaign participations", "RW"),
        ("is_commission_change", "commission changes", "AP"),
    ),
    windows=("30D", "90D"),
    aggregations=("sum",),
)
REVIEW_BLOCK = WindowBlock(
    source="reviews",
    prefix="rev_",
    values=(("is_low_quality", "earlier reviewed sessions judged low quality", "RH"),),
    windows=("30D", "90D"),
    aggregations=("sum", "mean"),
    count_group="RH",
    count_description="reviews of earlier sessions",
    time_since_last=False,
)


def history_feature_specs(task: str) -> list[FeatureSpec]:
    """Catalogue entries of :func:`creator_history`'s columns.

    Examples
    --------
    >>> from govml.features.history import history_feature_specs
    >>> specs = history_feature_specs("low_quality")
    >>> specs[0].name, specs[0].reason_group, {s.task for s in specs}
    ('points_active', 'VH', {'low_quality'})
    """
    specs = [
        FeatureSpec(
            "points_active",
            "active account-health points (confirmed or under appeal, not expired)",
            "VH",
            "violations",
            None,
            task,
        ),
        FeatureSpec(
            "violations_active",
            "violations whose points are active",
            "VH",
            "violations",
            None,
            task,
        ),
    ]
    specs += [
        FeatureSpec(
            f"points_active_{kind}",
            f"active account-health points from {kind.replace('_', ' ')} violations",
            "VH",
            "violations",
            None,
            task,
        )
        for kind in VIOLATION_KINDS
    ]
    specs += [
        FeatureSpec(
            "penalties_active",
            "penalties in force (restriction, suspension, hold)",
            "PN",
            "actions",
            None,
            task,
        )
    ]
    specs += VIOLATION_BLOCK.specs(task) + OVERTURN_BLOCK.specs(task)
    specs += ACTION_BLOCK.specs(task) + REVIEW_BLOCK.specs(task)
    specs += [
        FeatureSpec(
            "commission_rate_now",
            "commission rate in force (latest change, else the onboarding rate)",
            "AP",
            "actions",
            None,
            task,
        ),
        FeatureSpec("tenure_days", "days since onboarding", "AP", "creators", None, task),
        FeatureSpec("is_business", "registered business account", "AP", "creators", None, task),
    ]
    return specs


# ------------------------------------------------------------------ creator key space
class _CreatorIndex:
    """Creator ids as integer codes ``0..n-1`` (their rows in ``tables.creators``).

    Every table of one build gets its creator key as a categorical column over the same
    categories, so the engines group by integer codes (no string hashing per call) and
    the builders look profile columns up by position. Ids absent from the creators
    table get code -1 (a missing key: such rows match nothing).
    """

    def __init__(self, creators: pd.DataFrame) -> None:
        self.ids = creators["creator_id"]
        self.dtype = pd.CategoricalDtype(pd.Index(self.ids))
        self.creators = creators

    def __len__(self) -> int:
        return len(self.ids)

    def codes(self, ids: pd.Series) -> np.ndarray:
        """Creator codes (int64, -1 for unknown or missing ids) of ``ids``."""
        return _positions(ids, self.ids)

    def key(self, codes: np.ndarray, index: pd.Index | None = None) -> pd.Series:
        """A categorical creator-id column from codes."""
        cat = pd.Categorical.from_codes(codes, dtype=self.dtype)
        return pd.Series(cat, index=index, name="creator_id", copy=False)

    def profile(self, column: str, codes: np.ndarray) -> pd.Series:
        """``creators[column]`` looked up by code (missing where the code is -1)."""
        values = self.creators[column].array
        return pd.Series(pd.api.extensions.take(values, codes, allow_fill=True), copy=False)


def _positions(values: pd.Series, universe: pd.Series) -> np.ndarray:
    """Position of each value in ``universe`` (unique), -1 where absent or missing.

    Hashes with Arrow (``index_in``), several times faster than a pandas index lookup on
    strings at ten million rows; falls back to pandas for types Arrow cannot compare.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values.dtype, pd.CategoricalDtype):
        pos = _positions(pd.Series(values.cat.categories), universe)
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, pos[codes], -1).astype(np.int64)

    def as_numpy(positions: object) -> np.ndarray:
        filled = positions.fill_null(-1)  # type: ignore[attr-defined]
        return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.int64)

    try:
        v = pa.array(values, from_pandas=True)
        u = pa.array(universe, from_pandas=True)
        if u.type != v.type:
            u = u.cast(v.type)
        if len(u) > len(v):  # e.g. reviews in sessions: hash the smaller side only
            small = pc.unique(v)
            where = as_numpy(pc.index_in(u, value_set=small, skip_nulls=True))
            hit = np.flatnonzero(where >= 0)[::-1]  # reversed: the first occurrence wins
            first = np.full(len(small), -1, np.int64)
            first[where[hit]] = hit
            slot = as_numpy(pc.index_in(v, value_set=small, skip_nulls=True))
            return np.where(slot >= 0, first[np.maximum(slot, 0)], -1)
        if isinstance(u, pa.ChunkedArray):
            u = u.combine_chunks()
        return as_numpy(pc.index_in(v, value_set=u, skip_nulls=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return np.asarray(pd.Index(universe).get_indexer(values), dtype=np.int64)


class _Partition:
    """Creators split into contiguous code ranges (chunks) of about ``chunk_rows`` weight.

    Features of a creator depend only on that creator's rows (and, for the market
    context, on other precomputed inputs), so a chunk is built from its creators' rows
    of every table alone and gives bit-for-bit the values of a whole-table build.
    Creators outside ``active`` (e.g. with nothing to build) belong to no chunk.
    """

    def __init__(
        self, weights: np.ndarray, chunk_rows: int | None, active: np.ndarray | None = None
    ) -> None:
        weights = np.asarray(weights, dtype=np.int64)
        if active is not None:
            weights = np.where(active, weights, 0)
        self.all_active = active is None or bool(active.all())
        total = int(weights.sum())
        if chunk_rows is None or total <= chunk_rows:
            self.chunk_of = np.zeros(len(weights), np.int64)
            self.n_chunks = 1
        else:
            first = np.cumsum(weights) - weights  # weight before each creator
            _, self.chunk_of = np.unique(first // chunk_rows, return_inverse=True)
            self.n_chunks = int(self.chunk_of.max()) + 1
        if not self.all_active:
            self.chunk_of = np.where(active, self.chunk_of, -1)

    def split(self, codes: np.ndarray) -> list[np.ndarray]:
        """Row positions (ascending) of each chunk, for rows with creator ``codes``.

        Rows whose code is -1 (no such creator) or whose creator is not active belong
        to no chunk.
        """
        known = codes >= 0
        if self.n_chunks == 1 and self.all_active:
            return [np.arange(len(codes)) if known.all() else np.flatnonzero(known)]
        chunk = np.where(known, self.chunk_of[np.where(known, codes, 0)], -1)
        chunk = np.where(chunk < 0, self.n_chunks, chunk)
        dtype = np.int16 if self.n_chunks < np.iinfo(np.int16).max else np.int64
        chunk = chunk.astype(dtype)
        order = np.argsort(chunk, kind="stable")  # radix sort for int16: O(n)
        bounds = np.searchsorted(chunk[order], np.arange(self.n_chunks + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(self.n_chunks)]


def _check_chunk_rows(chunk_rows: object) -> int:
    if (
        isinstance(chunk_rows, bool)
        or not isinstance(chunk_rows, int | np.integer)
        or chunk_rows < 1
    ):
        raise FeatureError(
            f"chunk_rows={chunk_rows!r} must be a positive integer (rows built at a time, "
            "e.g. 1_000_000)"
        )
    return int(chunk_rows)


# ------------------------------------------------------------------ window calls
@dataclass(frozen=True)
class WindowCall:
    """One :func:`~govml.features.trailing_windows` call of a feature builder.

    ``events`` carries the ``key`` column (a categorical ``creator_id``, see
    :class:`_CreatorIndex`, unless said otherwise), the ``time`` column and the block's
    value columns. ``benchmarks/bench_features.py`` replays these calls.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.features.catalogue import WindowBlock
    >>> from govml.features.history import WindowCall
    >>> ts = lambda s: pd.Timestamp(s, tz="UTC")
    >>> events = pd.DataFrame({"creator_id": ["a", "a", "b"],
    ...                        "at": [ts("2026-01-01"), ts("2026-01-05"), ts("2026-01-02")],
    ...                        "gmv": [10.0, 30.0, 5.0]})
    >>> block = WindowBlock("sessions", "s_", (("gmv", "GMV", "SA"),), ("7D",), ("sum",))
    >>> call = WindowCall(events, time="at", block=block)
    >>> queries = pd.DataFrame({"creator_id": ["a", "b"], "t": [ts("2026-01-06")] * 2})
    >>> call.run(queries, "t")["s_gmv_sum_7d"].tolist()
    [40.0, 5.0]
    >>> len(call.take([0]).events)
    1
    """

    events: pd.DataFrame
    time: str
    block: WindowBlock
    key: str = "creator_id"

    def run(self, queries: pd.DataFrame, query_time: str) -> pd.DataFrame:
        """The block's columns for ``queries`` (with the ``key`` column and ``query_time``).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.features.catalogue import WindowBlock
        >>> from govml.features.history import WindowCall
        >>> at = pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-02"], utc=True)
        >>> events = pd.DataFrame({"creator_id": ["a", "a", "b"], "at": at,
        ...                        "gmv": [10.0, 30.0, 5.0]})
        >>> block = WindowBlock("sessions", "s_", (("gmv", "GMV", "SA"),), ("7D",), ("sum",))
        >>> call = WindowCall(events, time="at", block=block)
        >>> queries = pd.DataFrame({"creator_id": ["a", "b"],
        ...                         "t": pd.to_datetime(["2026-01-06"] * 2, utc=True)})
        >>> call.run(queries, "t")["s_gmv_sum_7d"].tolist()
        [40.0, 5.0]
        """
        from govml.features.windows import trailing_windows

        return trailing_windows(
            self.events,
            queries,
            keys=self.key,
            event_time=self.time,
            query_time=query_time,
            values=self.block.value_columns,
            windows=self.block.windows,
            aggregations=self.block.engine_aggregations,
            time_since_last=self.block.time_since_last,
            prefix=self.block.prefix,
        )

    def take(self, rows: np.ndarray) -> WindowCall:
        """The same call on a subset of the events (e.g. one chunk's creators).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.features.catalogue import WindowBlock
        >>> from govml.features.history import WindowCall
        >>> at = pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-02"], utc=True)
        >>> events = pd.DataFrame({"creator_id": ["a", "a", "b"], "at": at,
        ...                        "gmv": [10.0, 30.0, 5.0]})
        >>> block = WindowBlock("sessions", "s_", (("gmv", "GMV", "SA"),), ("7D",), ("sum",))
        >>> call = WindowCall(events, time="at", block=block)
        >>> call.take([2]).events["creator_id"].tolist()
        ['b']
        """
        return replace(self, events=self.events.take(rows))


# ------------------------------------------------------------------ history inputs
@dataclass(frozen=True)
class _History:
    """Everything :func:`creator_history` reads, keyed by creator code, built once."""

    intervals: pd.DataFrame  # violations as point intervals
    penalties: pd.DataFrame
    calls: tuple[WindowCall, ...]
    commission: pd.DataFrame
    index: _CreatorIndex

    @classmethod
    def build(
        cls,
        tables: Tables,
        index: _CreatorIndex,
        *,
        points_expiry: str | pd.Timedelta,
        review_codes: np.ndarray | None = None,
        session_codes: np.ndarray | None = None,
    ) -> _History:
        from govml.schema import ADVERSARIAL_VIOLATION_KINDS

        v = tables.violations
        vkey = index.key(index.codes(v["creator_id"]))
        kind = v["kind"].astype(str)
        expiry_end = v["detected_at"] + pd.Timedelta(points_expiry)
        overturned = (v["status"] == "overturned").to_numpy()
        end = expiry_end.where(~overturned | (v["resolved_at"] >= expiry_end), v["resolved_at"])
        points = v["health_points"].to_numpy(dtype=np.float64)
        intervals = pd.DataFrame(
            {
                "creator_id": vkey.array,
                "start": v["detected_at"].array,
                "end": end.array,
                "points": points,
                **{f"points_{k}": np.where(kind == k, points, 0.0) for k in VIOLATION_KINDS},
            }
        )
        vev = pd.DataFrame(
            {
                "creator_id": vkey.array,
                "detected_at": v["detected_at"].array,
                "is_severe": v["severity"].isin(["major", "critical"]).to_numpy(np.float64),
                "is_adversarial_kind": v["kind"]
                .isin(ADVERSARIAL_VIOLATION_KINDS)
                .to_numpy(np.float64),
            }
        )
        ov = pd.DataFrame(
            {
                "creator_id": vkey.array[overturned],
                "resolved_at": v["resolved_at"].array[overturned],
            }
        )

        a = tables.actions
        akey = index.key(index.codes(a["creator_id"]))
        akind = a["kind"].astype(str)
        is_pen = akind.isin(_PENALTY_KINDS).to_numpy()
        penalties = pd.DataFrame(
            {
                "creator_id": akey.array[is_pen],
                "taken_at": a["taken_at"].array[is_pen],
                "ends_at": a["ends_at"].array[is_pen],
            }
        )
        aev = pd.DataFrame(
            {
                "creator_id": akey.array,
                "taken_at": a["taken_at"].array,
                "is_warning": (akind == "warning").to_numpy(np.float64),
                "is_penalty": is_pen.astype(np.float64),
                "is_reward": (akind == "incentive_reward").to_numpy(np.float64),
                "reward_usd": np.where(
                    akind == "incentive_reward", a["value"].fillna(0.0).to_numpy(np.float64), 0.0
                ),
                "is_campaign": (akind == "campaign_participation").to_numpy(np.float64),
                "is_commission_change": (akind == "commission_change").to_numpy(np.float64),
            }
        )
        is_cc = (akind == "commission_change").to_numpy()
        commission = pd.DataFrame(
            {
                "creator_id": akey.array[is_cc],
                "taken_at": a["taken_at"].array[is_cc],
                "value": a["value"].to_numpy(dtype=np.float64, na_value=np.nan)[is_cc],
            }
        )

        r = tables.reviews
        if review_codes is None:
            review_codes = _review_creator_codes(tables, index, session_codes)
        rev = pd.DataFrame(
            {
                "creator_id": index.key(review_codes).array,
                "reviewed_at": r["reviewed_at"].array,
                "is_low_quality": r["is_low_quality"].to_numpy(np.float64),
            }
        )
        calls = (
            WindowCall(vev, "detected_at", VIOLATION_BLOCK),
            WindowCall(ov, "resolved_at", OVERTURN_BLOCK),
            WindowCall(aev, "taken_at", ACTION_BLOCK),
            WindowCall(rev, "reviewed_at", REVIEW_BLOCK),
        )
        return cls(intervals, penalties, calls, commission, index)

    def chunks(self, partition: _Partition) -> list[_History]:
        """The inputs restricted to each chunk's creators (rows keep table order)."""
        if partition.n_chunks == 1 and partition.all_active:
            return [self]

        def split(frame: pd.DataFrame) -> list[np.ndarray]:
            return partition.split(frame["creator_id"].cat.codes.to_numpy().astype(np.int64))

        parts = {
            "intervals": split(self.intervals),
            "penalties": split(self.penalties),
            "commission": split(self.commission),
        }
        call_parts = [split(c.events) for c in self.calls]
        return [
            _History(
                self.intervals.take(parts["intervals"][i]),
                self.penalties.take(parts["penalties"][i]),
                tuple(c.take(p[i]) for c, p in zip(self.calls, call_parts, strict=True)),
                self.commission.take(parts["commission"][i]),
                self.index,
            )
            for i in range(partition.n_chunks)
        ]

    def empty(self) -> _History:
        """The same inputs with no rows (for queries of creators absent from the table)."""
        return _History(
            self.intervals.iloc[:0],
            self.penalties.iloc[:0],
            tuple(c.take(np.zeros(0, np.int64)) for c in self.calls),
            self.commission.iloc[:0],
            self.index,
        )

    def features(
        self,
        key: pd.Series,
        codes: np.ndarray,
        times: pd.Series,
        put: Callable[[str, np.ndarray], None],
    ) -> None:
        """Compute the history columns for queries ``(key, times)`` and ``put`` each one.

        ``key`` is the queries' categorical creator id, ``codes`` its codes, ``times``
        the query times (a Series aligned with ``key``).
        """
        q = pd.DataFrame({"creator_id": key.array, "t": times.array}, copy=False)
        active = active_at(
            self.intervals,
            q,
            keys="creator_id",
            start="start",
            end="end",
            query_time="t",
            values=["points", *(f"points_{k}" for k in VIOLATION_KINDS)],
            name="v",
        )
        put("points_active", active["v_points"].to_numpy())
        put("violations_active", active["v_count"].to_numpy())
        for k in VIOLATION_KINDS:
            put(f"points_active_{k}", active[f"v_points_{k}"].to_numpy())
        del active
        pen = active_at(
            self.penalties,
            q,
            keys="creator_id",
            start="taken_at",
            end="ends_at",
            query_time="t",
            name="pen",
        )
        put("penalties_active", pen["pen_count"].to_numpy())
        for call in self.calls:
            frame = call.run(q, "t")
            for name in frame.columns:
                put(name, frame[name].to_numpy())
            del frame
        latest = latest_before(
            self.commission,
            q,
            keys="creator_id",
            event_time="taken_at",
            query_time="t",
            value="value",
        ).to_numpy()
        onboarding_rate = self.index.profile("commission_rate", codes).to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        put("commission_rate_now", np.where(np.isnan(latest), onboarding_rate, latest))
        onboarded = self.index.profile("onboarded_at", codes)
        tenure = (pd.Series(times.array, copy=False) - onboarded).dt.total_seconds()
        put("tenure_days", tenure.to_numpy() / 86400.0)
        put(
            "is_business",
            self.index.profile("is_business", codes).to_numpy(dtype=np.float64, na_value=np.nan),
        )


def _review_creator_codes(
    tables: Tables, index: _CreatorIndex, session_codes: np.ndarray | None = None
) -> np.ndarray:
    """Creator code of each review, through its session (``session_codes``: the
    sessions' creator codes, when the caller has them)."""
    pos = _positions(tables.reviews["session_id"], tables.sessions["session_id"])
    if session_codes is None:
        session_codes = index.codes(tables.sessions["creator_id"])
    return np.where(pos >= 0, session_codes[np.maximum(pos, 0)], -1)


def history_names() -> list[str]:
    """Names of :func:`creator_history`'s columns, in order.

    Examples
    --------
    >>> from govml.features.history import history_names
    >>> history_names()[:2]
    ['points_active', 'violations_active']
    """
    return [s.name for s in history_feature_specs("adversarial")]


def creator_history(
    tables: Tables,
    queries: pd.DataFrame,
    *,
    query_time: str,
    points_expiry: str | pd.Timedelta = DEFAULT_POINTS_EXPIRY,
    reviews: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """History features for query points ``(creator_id, query_time)``.

    Parameters
    ----------
    tables : Tables
        Validated tables.
    queries : DataFrame
        With ``creator_id`` and ``query_time`` columns.
    query_time : str
        The prediction-time column of ``queries``.
    points_expiry : str or Timedelta
        How long health points stay active after detection.
    reviews : DataFrame, optional
        Reviews with a ``creator_id`` column already attached (saves a join when the
        caller has it).

    Returns
    -------
    DataFrame
        Indexed like ``queries``; the columns of :func:`history_feature_specs`.

    Examples
    --------
    >>> import govml
    >>> from govml.features.history import creator_history
    >>> t = govml.simulate(n_creators=30, n_days=14, seed=0).tables
    >>> h = creator_history(t, t.sessions, query_time="ended_at")
    >>> h.shape[0] == len(t.sessions), bool((h["tenure_days"] > 0).all())
    (True, True)
    """
    index = _CreatorIndex(tables.creators)
    review_codes = None if reviews is None else index.codes(reviews["creator_id"])
    if reviews is not None:
        tables = replace(tables, reviews=reviews)
    history = _History.build(tables, index, points_expiry=points_expiry, review_codes=review_codes)
    codes = index.codes(queries["creator_id"])
    out: dict[str, np.ndarray] = {}
    history.features(index.key(codes), codes, queries[query_time], out.__setitem__)
    return pd.DataFrame({n: out[n] for n in history_names()}, index=queries.index)
