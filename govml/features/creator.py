"""Creator snapshot features for the adversarial-seller task (scored on a schedule).

For a snapshot of creator ``c`` at ``t`` (e.g. daily at midnight UTC), every feature
uses facts known strictly before ``t``:

* **activity and sales** — sessions, minutes, GMV, orders, clicks over 7/30/90 days;
* **engagement and conversion patterns** — viewers against watch time and
  interaction, orders against clicks, average order value;
* **refunds, complaints and returns** known at ``t`` (they arrive days after the
  sale), as counts and as rates per order;
* **rates as ratios of sums** (likes, comments per viewer; GMV per order; refunds per
  order over 90 days) and the **most extreme stream** of the last 30 days, the
  aggregations that show fake engagement, off-platform diversion and counterfeit
  selling most clearly;
* **violations, penalties, rewards, campaigns, commission changes, reviews, tenure**
  (shared with the session task, :mod:`govml.features.history`);
* **trends** — the last 7 days against the last 30;
* optional **extra event tables** (:class:`ExtraEvents`), e.g. the content model's
  session scores, so two-level scoring adds no leak: an extra event counts only when
  its own time is before ``t``.

Every feature of a snapshot depends only on its creator's rows, so the build runs over
contiguous groups of creators (chunks of about ``CHUNK_ROWS`` snapshot and session
rows) with creator ids as integer codes, writing each chunk into the one float64 block
of the returned frame; :func:`iter_creator_features` yields the chunks instead, so
memory stays at the tables plus one chunk however many snapshots there are. Values are
bit for bit those of a one-piece build.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from govml._exceptions import FeatureError
from govml.features.catalogue import REASON_GROUPS, FeatureSpec, WindowBlock, catalogue_version
from govml.features.featureset import FeatureSet
from govml.features.history import (
    DEFAULT_POINTS_EXPIRY,
    WindowCall,
    _check_chunk_rows,
    _CreatorIndex,
    _History,
    _Partition,
    _positions,
    history_feature_specs,
)
from govml.features.session_metrics import SESSION_METRIC_DESCRIPTIONS, metric_values
from govml.schema import Tables

__all__ = [
    "ExtraEvents",
    "creator_features",
    "iter_creator_features",
    "creator_feature_specs",
]

TASK = "adversarial"

SALES_BLOCK = WindowBlock(
    source="sessions",
    prefix="sess_",
    values=(
        ("duration_min", "streamed minutes", "AC"),
        ("gmv", "GMV (USD)", "SA"),
        ("orders", "orders", "SA"),
        ("product_clicks", "product clicks", "CV"),
        ("viewers", "viewers", "EA"),
        ("likes", "likes", "EA"),
        ("comments", "comments", "EA"),
    ),
    windows=("7D", "30D", "90D"),
    aggregations=("sum",),
    count_group="AC",
    count_description="sessions",
    time_since_last=True,
)
PATTERN_BLOCK = WindowBlock(
    source="sessions",
    prefix="sess_",
    values=tuple(
        (c, *SESSION_METRIC_DESCRIPTIONS[c])
        for c in (
            "viewers_log",
            "watch_share",
            "likes_per_viewer",
            "comments_per_viewer",
            "click_rate",
            "order_per_click",
            "avg_order_value",
            "report_rate",
            "static_frame_share",
            "peak_ratio",
        )
    ),
    windows=("7D", "30D"),
    aggregations=("mean",),
)
#: The most extreme session of the last 30 days: a sleeper who just turned shows in one
#: stream before the 30-day means move (bought likes, off-platform comment spikes).
SPIKE_BLOCK = WindowBlock(
    source="sessions",
    prefix="sess_",
    values=tuple(
        (c, *SESSION_METRIC_DESCRIPTIONS[c]) for c in ("likes_per_viewer", "comments_per_viewer")
    ),
    windows=("30D",),
    aggregations=("max",),
)
OUTCOME_BLOCK = WindowBlock(
    source="outcomes",
    prefix="out_",
    values=(
        ("is_refund", "refunds", "RC"),
        ("is_complaint", "complaints", "RC"),
        ("is_return", "returns", "RC"),
        ("amount", "refunded, complained or returned amount (USD)", "RC"),
    ),
    windows=("30D", "90D"),
    aggregations=("sum",),
    count_group="RC",
    count_description="refunds, complaints and returns",
)

_RATES = (
    (
        "refund_per_order_30d",
        "out_is_refund_sum_30d",
        "sess_orders_sum_30d",
        "refunds per order, last 30 days",
        "RC",
    ),
    (
        "complaint_per_order_30d",
        "out_is_complaint_sum_30d",
        "sess_orders_sum_30d",
        "complaints per order, last 30 days",
        "RC",
    ),
    (
        "return_per_order_30d",
        "out_is_return_sum_30d",
        "sess_orders_sum_30d",
        "returns per order, last 30 days",
        "RC",
    ),
    (
        "outcome_amount_per_gmv_90d",
        "out_amount_sum_90d",
        "sess_gmv_sum_90d",
        "refunded/complained amount per USD of GMV, last 90 days",
        "RC",
    ),
    (
        "orders_per_click_30d",
        "sess_orders_sum_30d",
        "sess_product_clicks_sum_30d",
        "orders per product click, last 30 days",
        "CV",
    ),
    (
        "clicks_per_viewer_30d",
        "sess_product_clicks_sum_30d",
        "sess_viewers_sum_30d",
        "product clicks per viewer, last 30 days",
        "CV",
    ),
    # rates as ratios of sums: every viewer and order weighs the same, so a few tiny
    # streams cannot swing them the way they swing a mean of per-stream ratios
    *(
        (
            f"{what}_per_viewer_{w}",
            f"sess_{what}_sum_{w}",
            f"sess_viewers_sum_{w}",
            f"{what} per viewer, last {w[:-1]} days",
            "EA",
        )
        for what in ("likes", "comments")
        for w in ("30d", "90d")
    ),
    *(
        (
            f"avg_order_value_{w}",
            f"sess_gmv_sum_{w}",
            f"sess_orders_sum_{w}",
            f"GMV per order (USD), last {w[:-1]} days",
            "SA",
        )
        for w in ("7d", "30d", "90d")
    ),
    (
        "orders_per_click_90d",
        "sess_orders_sum_90d",
        "sess_product_clicks_sum_90d",
        "orders per product click, last 90 days",
        "CV",
    ),
    # refunds arrive 2-30 days after the sale: over 90 days they match their orders
    *(
        (
            f"{kind}_per_order_90d",
            f"out_is_{kind}_sum_90d",
            "sess_orders_sum_90d",
            f"{kind}s per order, last 90 days",
            "RC",
        )
        for kind in ("refund", "complaint", "return")
    ),
)
#: Changes of a creator's own rates: (name, numerator rate, denominator rate, ...).
_RATE_CHANGES = (
    (
        "avg_order_value_7v90",
        "avg_order_value_7d",
        "avg_order_value_90d",
        "GMV per order last 7 days / last 90 days (cheaper goods than usual)",
        "SA",
    ),
)
_TRENDS = (
    (
        "trend_viewers_log",
        "sess_viewers_log_mean_7d",
        "sess_viewers_log_mean_30d",
        "viewers (log) last 7 days minus last 30 days",
        "EA",
    ),
    (
        "trend_watch_share",
        "sess_watch_share_mean_7d",
        "sess_watch_share_mean_30d",
        "watch share last 7 days minus last 30 days",
        "EA",
    ),
    (
        "trend_click_rate",
        "sess_click_rate_mean_7d",
        "sess_click_rate_mean_30d",
        "click rate last 7 days minus last 30 days",
        "CV",
    ),
    (
        "trend_order_per_click",
        "sess_order_per_click_mean_7d",
        "sess_order_per_click_mean_30d",
        "orders per click last 7 days minus last 30 days",
        "CV",
    ),
)
_PACE = (
    (
        "pace_sessions_7v30",
        "sess_count_7d",
        "sess_count_30d",
        "daily session rate last 7 days / last 30 days",
        "AC",
    ),
    (
        "pace_gmv_7v30",
        "sess_gmv_sum_7d",
        "sess_gmv_sum_30d",
        "daily GMV last 7 days / last 30 days",
        "SA",
    ),
)


@dataclass(frozen=True)
class ExtraEvents:
    """A user-supplied event table aggregated into creator features.

    Parameters
    ----------
    frame : DataFrame
        One row per event, with ``creator_id``, the ``time`` column (when the event became
        known, timezone-aware UTC) and the ``values`` columns.
    name : str
        Short name; features are called ``{name}_{value}_{agg}_{window}``.
    time : str
        Known-at column.
    values : mapping of str to str
        Value column -> one-line description (for the catalogue).
    windows, aggregations : sequence of str
        As in :func:`govml.features.trailing_windows`.
    reason_group : str
        Reason-group code of these features (default ``"MS"``, content model scores).

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"creator_id": ["c1"], "ended_at": [pd.Timestamp("2026-01-02", tz="UTC")],
    ...                        "lq_score": [0.8]})
    >>> extra = ExtraEvents(scores, name="lq", time="ended_at",
    ...                     values={"lq_score": "content-model low-quality score"})
    >>> [s.name for s in extra.specs()][:2]
    ['lq_count_7d', 'lq_lq_score_mean_7d']
    """

    frame: pd.DataFrame
    name: str
    time: str
    values: Mapping[str, str]
    windows: Sequence[str] = ("7D", "30D")
    aggregations: Sequence[str] = ("mean", "max")
    reason_group: str = "MS"
    _block: WindowBlock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise FeatureError(
                f"ExtraEvents name {self.name!r} must be a short identifier (letters, digits, "
                "underscores); it prefixes the feature names"
            )
        if self.reason_group not in REASON_GROUPS:
            raise FeatureError(
                f"ExtraEvents {self.name!r}: unknown reason_group {self.reason_group!r}; "
                f"use one of {sorted(REASON_GROUPS)}"
            )
        needed = ["creator_id", self.time, *self.values]
        missing = [c for c in needed if c not in self.frame.columns]
        if missing:
            raise FeatureError(
                f"ExtraEvents {self.name!r} frame is missing column(s) {missing}; it has "
                f"{list(self.frame.columns)}"
            )
        block = WindowBlock(
            source=f"extra:{self.name}",
            prefix=f"{self.name}_",
            values=tuple((c, d, self.reason_group) for c, d in self.values.items()),
            windows=tuple(self.windows),
            aggregations=tuple(self.aggregations),
            count_group=self.reason_group,
            count_description=f"{self.name} events",
        )
        object.__setattr__(self, "_block", block)

    def specs(self) -> list[FeatureSpec]:
        """Catalogue entries of this table's features.

        Examples
        --------
        >>> import pandas as pd
        >>> at = pd.Timestamp("2026-01-02", tz="UTC")
        >>> scores = pd.DataFrame({"creator_id": ["c1"], "at": [at], "lq": [0.8]})
        >>> extra = ExtraEvents(scores, name="cm", time="at", values={"lq": "content score"},
        ...                     windows=("7D",), aggregations=("max",))
        >>> [(s.name, s.reason_group) for s in extra.specs()]
        [('cm_count_7d', 'MS'), ('cm_lq_max_7d', 'MS')]
        """
        return self._block.specs(TASK)


def _derived_specs() -> list[FeatureSpec]:
    specs = [FeatureSpec(n, d, g, "sessions+outcomes", None, TASK) for n, _, _, d, g in _RATES]
    specs += [FeatureSpec(n, d, g, "sessions", None, TASK) for n, _, _, d, g in _TRENDS]
    specs += [FeatureSpec(n, d, g, "sessions", None, TASK) for n, _, _, d, g in _PACE]
    specs += [FeatureSpec(n, d, g, "sessions", None, TASK) for n, _, _, d, g in _RATE_CHANGES]
    return specs


def creator_feature_specs(extra: Sequence[ExtraEvents] = ()) -> list[FeatureSpec]:
    """Catalogue entries of the creator feature set, in frame order.

    Parameters
    ----------
    extra : sequence of ExtraEvents
        User-supplied event tables whose entries are appended.

    Returns
    -------
    list of FeatureSpec

    Examples
    --------
    >>> from govml.features import creator_feature_specs
    >>> specs = creator_feature_specs()
    >>> [s.name for s in specs[:2]], {s.task for s in specs}
    (['market', 'category'], {'adversarial'})
    >>> [s.name for s in specs if s.categorical]
    ['market', 'category']
    """
    specs = [
        FeatureSpec("market", "market of the creator", "MK", "creators", None, TASK, True),
        FeatureSpec(
            "category", "primary category of the creator", "AP", "creators", None, TASK, True
        ),
    ]
    specs += SALES_BLOCK.specs(TASK) + PATTERN_BLOCK.specs(TASK) + SPIKE_BLOCK.specs(TASK)
    specs += OUTCOME_BLOCK.specs(TASK)
    specs += _derived_specs()
    specs += history_feature_specs(TASK)
    for e in extra:
        specs += e.specs()
    return specs


def _ratio(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    out = np.full(len(n), np.nan)
    np.divide(n, d, out=out, where=d > 0)
    return out


#: Default number of snapshot rows (plus their creators' sessions) built at a time.
CHUNK_ROWS = 1_000_000

#: raw session counts summed as they are (not metrics of session_metrics)
_RAW_COUNTS = ("likes", "comments")
_SESSION_VALUES = tuple(
    c
    for c in dict.fromkeys(
        [*SALES_BLOCK.value_columns, *PATTERN_BLOCK.value_columns, *SPIKE_BLOCK.value_columns]
    )
    if c not in _RAW_COUNTS
)
# raw session columns those metrics read
_SESSION_INPUTS = (
    "started_at",
    "ended_at",
    "viewers",
    "avg_watch_seconds",
    "likes",
    "comments",
    "product_clicks",
    "orders",
    "gmv",
    "viewer_reports",
    "static_frame_share",
    "peak_concurrent_viewers",
)


class _CreatorBuild:
    """One creator feature build: inputs keyed by creator code, split into chunks."""

    def __init__(
        self,
        tables: Tables,
        snapshots: pd.DataFrame,
        extra_events: Sequence[ExtraEvents],
        points_expiry: str | pd.Timedelta,
        chunk_rows: int | None,
    ) -> None:
        missing = [c for c in ("creator_id", "snapshot_at") if c not in snapshots.columns]
        if missing:
            raise FeatureError(
                f"snapshots is missing column(s) {missing}; it needs creator_id and "
                "snapshot_at (see govml.features.creator_snapshots)"
            )
        index = _CreatorIndex(tables.creators)
        q_codes = index.codes(snapshots["creator_id"])
        unknown = q_codes < 0
        if unknown.any():
            bad = snapshots.loc[unknown, "creator_id"].unique()[:5]
            raise FeatureError(
                f"{int(unknown.sum())} snapshot row(s) name creators absent from the creators "
                f"table (e.g. {list(bad)}); snapshot only creators in tables.creators"
            )
        names_seen: set[str] = set()
        for e in extra_events:
            if e.name in names_seen:
                raise FeatureError(
                    f"two ExtraEvents share the name {e.name!r}; names must be unique"
                )
            names_seen.add(e.name)

        self.index = index
        self.snapshots = snapshots
        self.q_codes = q_codes
        s = tables.sessions
        self.sessions = s
        self.s_codes = index.codes(s["creator_id"])
        n = len(index)
        weights = np.bincount(q_codes, minlength=n) + np.bincount(
            self.s_codes[self.s_codes >= 0], minlength=n
        )
        self.partition = _Partition(
            weights, chunk_rows, active=np.bincount(q_codes, minlength=n) > 0
        )
        self.session_rows = self.partition.split(self.s_codes)
        self.query_rows = self.partition.split(q_codes)

        o = tables.outcomes
        pos = _positions(o["session_id"], s["session_id"])
        o_codes = np.where(pos >= 0, self.s_codes[np.maximum(pos, 0)], -1)
        okind = o["kind"].astype(str)
        outcome_events = pd.DataFrame(
            {
                "creator_id": index.key(o_codes).array,
                "occurred_at": o["occurred_at"].array,
                "is_refund": (okind == "refund").to_numpy(np.float64),
                "is_complaint": (okind == "complaint").to_numpy(np.float64),
                "is_return": (okind == "return").to_numpy(np.float64),
                "amount": o["amount"].to_numpy(np.float64),
            },
            copy=False,
        )
        calls = [WindowCall(outcome_events, "occurred_at", OUTCOME_BLOCK)]
        for e in extra_events:
            cols = list(dict.fromkeys([e.time, *e.values]))
            events = e.frame[cols].assign(
                creator_id=index.key(index.codes(e.frame["creator_id"]), index=e.frame.index)
            )
            calls.append(WindowCall(events, e.time, e._block))
        self.calls = [self._split(c) for c in calls]
        self.history = _History.build(
            tables, index, points_expiry=points_expiry, session_codes=self.s_codes
        ).chunks(self.partition)
        self.specs = creator_feature_specs(extra_events)
        self.names = [sp.name for sp in self.specs]
        self.numeric = [sp.name for sp in self.specs if not sp.categorical]
        self.column = {name: i for i, name in enumerate(self.numeric)}

    def _split(self, call: WindowCall) -> list[WindowCall]:
        if self.partition.n_chunks == 1 and self.partition.all_active:
            return [call]
        codes = call.events["creator_id"].cat.codes.to_numpy().astype(np.int64)
        return [call.take(rows) for rows in self.partition.split(codes)]

    def _session_events(self, rows: np.ndarray) -> pd.DataFrame:
        # single columns are views: take only this chunk's rows of the inputs
        part = {c: pd.Series(self.sessions[c].array.take(rows)) for c in _SESSION_INPUTS}
        return pd.DataFrame(
            {
                "creator_id": self.index.key(self.s_codes[rows]).array,
                "ended_at": part["ended_at"].array,
                **metric_values(part, _SESSION_VALUES),
                **{c: part[c].to_numpy(np.float64) for c in _RAW_COUNTS},
            },
            copy=False,
        )

    def chunks(self) -> Iterator[tuple[np.ndarray, Callable[[Callable], None]]]:
        for i in range(self.partition.n_chunks):
            q_sel = self.query_rows[i]
            if len(q_sel):
                yield q_sel, functools.partial(self._fill, i, q_sel)

    def _fill(self, i: int, q_sel: np.ndarray, put: Callable) -> None:
        codes = self.q_codes[q_sel]
        times = self.snapshots["snapshot_at"].array.take(q_sel)
        key = self.index.key(codes)
        q = pd.DataFrame({"creator_id": key.array, "snapshot_at": times}, copy=False)
        events = self._session_events(self.session_rows[i])
        sales = WindowCall(events, "ended_at", SALES_BLOCK).run(q, "snapshot_at")
        pattern = WindowCall(events, "ended_at", PATTERN_BLOCK).run(q, "snapshot_at")
        spike = WindowCall(events, "ended_at", SPIKE_BLOCK).run(q, "snapshot_at")
        del events
        outcomes = self.calls[0][i].run(q, "snapshot_at")
        feats = {}
        for frame in (sales, pattern, spike, outcomes):
            for name in frame.columns:
                feats[name] = frame[name].to_numpy()
                put(name, feats[name])
        for name, num, den, _, _ in _RATES:
            feats[name] = _ratio(feats[num], feats[den])
            put(name, feats[name])
        for name, num, den, _, _ in _RATE_CHANGES:
            put(name, _ratio(feats[num], feats[den]))
        for name, short, long_, _, _ in _TRENDS:
            put(name, feats[short] - feats[long_])
        for name, short, long_, _, _ in _PACE:
            put(name, _ratio(feats[short] * 30.0, feats[long_] * 7.0))
        del feats, sales, pattern, spike, outcomes
        self.history[i].features(key, codes, pd.Series(times, copy=False), put)
        for call in self.calls[1:]:
            frame = call[i].run(q, "snapshot_at")
            for name in frame.columns:
                put(name, frame[name].to_numpy())

    def frame(self, q_sel: np.ndarray | None, values: np.ndarray) -> pd.DataFrame:
        snaps = self.snapshots
        codes = self.q_codes if q_sel is None else self.q_codes[q_sel]

        def col(name: str) -> pd.Series:
            if q_sel is None:  # the input's column, shared copy-on-write
                return snaps[name].reset_index(drop=True)
            return pd.Series(snaps[name].array.take(q_sel), copy=False)

        head = pd.DataFrame(
            {
                "creator_id": col("creator_id"),
                "snapshot_at": col("snapshot_at"),
                "market": self.index.profile("market", codes).array,
                "category": self.index.profile("category", codes).array,
            },
            copy=False,
        )
        numeric = pd.DataFrame(values.T, columns=self.numeric, copy=False)
        return pd.concat([head, numeric], axis=1)

    def feature_set(self, frame: pd.DataFrame) -> FeatureSet:
        return FeatureSet(
            frame=frame,
            task=TASK,
            key=("creator_id",),
            time_col="snapshot_at",
            features=tuple(self.names),
            categorical=tuple(sp.name for sp in self.specs if sp.categorical),
            catalogue_version=catalogue_version(self.specs),
        )


def _window_calls(
    tables: Tables,
    snapshots: pd.DataFrame,
    *,
    points_expiry: str | pd.Timedelta = DEFAULT_POINTS_EXPIRY,
) -> Iterator[WindowCall]:
    """The windowed aggregations of a whole-table creator build, one call at a time.

    The queries are the snapshots with a categorical ``creator_id``
    (:func:`_snapshot_queries`). The builder makes the same calls per chunk of
    creators, which gives the same values. For benchmarks.
    """
    build = _CreatorBuild(tables, snapshots, (), points_expiry, None)
    events = build._session_events(np.arange(len(build.sessions)))
    yield WindowCall(events, "ended_at", SALES_BLOCK)
    yield WindowCall(events, "ended_at", PATTERN_BLOCK)
    yield WindowCall(events, "ended_at", SPIKE_BLOCK)
    del events
    yield build.calls[0][0]
    yield from build.history[0].calls


def _snapshot_queries(tables: Tables, snapshots: pd.DataFrame) -> pd.DataFrame:
    """The snapshots as queries: categorical ``creator_id`` and ``snapshot_at``."""
    index = _CreatorIndex(tables.creators)
    return pd.DataFrame(
        {
            "creator_id": index.key(index.codes(snapshots["creator_id"])).array,
            "snapshot_at": snapshots["snapshot_at"].array,
        },
        copy=False,
    )


def creator_features(
    tables: Tables,
    snapshots: pd.DataFrame,
    *,
    extra_events: Sequence[ExtraEvents] = (),
    points_expiry: str | pd.Timedelta = DEFAULT_POINTS_EXPIRY,
) -> FeatureSet:
    """Build creator snapshot features, point in time.

    Parameters
    ----------
    tables : Tables
        Validated tables.
    snapshots : DataFrame
        ``creator_id`` and ``snapshot_at`` (timezone-aware), e.g. from
        :func:`govml.features.creator_snapshots`. Every creator must exist.
    extra_events : sequence of ExtraEvents
        More event tables to aggregate (two-level scoring).
    points_expiry : str or Timedelta
        How long violation health points stay active.

    Returns
    -------
    FeatureSet
        ``frame`` has ``creator_id, snapshot_at`` plus the features, in snapshot order.

    Examples
    --------
    >>> import govml, pandas as pd
    >>> from govml.features import creator_features
    >>> world = govml.simulate(n_creators=40, n_days=30, seed=1)
    >>> snaps = pd.DataFrame({"creator_id": world.tables.creators["creator_id"],
    ...                       "snapshot_at": pd.Timestamp(world.config.start, tz="UTC")
    ...                                      + pd.Timedelta(days=20)})
    >>> fs = creator_features(world.tables, snaps)
    >>> fs.key, len(fs) == 40
    (('creator_id',), True)
    """
    build = _CreatorBuild(tables, snapshots, extra_events, points_expiry, CHUNK_ROWS)
    n = len(snapshots)
    values = np.empty((len(build.numeric), n))
    for q_sel, fill in build.chunks():
        target = slice(None) if len(q_sel) == n else q_sel

        def put(name: str, v: np.ndarray, target: object = target) -> None:
            values[build.column[name]][target] = v  # row view, then index (fast path)

        fill(put)
    return build.feature_set(build.frame(None, values))


def iter_creator_features(
    tables: Tables,
    snapshots: pd.DataFrame,
    *,
    extra_events: Sequence[ExtraEvents] = (),
    points_expiry: str | pd.Timedelta = DEFAULT_POINTS_EXPIRY,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[FeatureSet]:
    """Creator snapshot features in chunks of creators, for worlds too large to hold at once.

    Each chunk holds every snapshot of a group of creators (about ``chunk_rows``
    snapshots plus sessions; one creator is never split), in ``snapshots`` order within
    the chunk. Every value is bit-for-bit the one :func:`creator_features` gives (a
    creator's features depend only on its own rows); memory is the tables plus one
    chunk instead of the whole frame.

    Parameters
    ----------
    tables, snapshots, extra_events, points_expiry
        As in :func:`creator_features`.
    chunk_rows : int
        About how many snapshot and session rows to build at a time.

    Yields
    ------
    FeatureSet
        One per chunk, with the columns of :func:`creator_features`.

    Raises
    ------
    FeatureError
        As :func:`creator_features`, or ``chunk_rows`` is not a positive integer.

    Examples
    --------
    >>> import govml, pandas as pd
    >>> from govml.features import creator_features, creator_snapshots
    >>> from govml.features.creator import iter_creator_features
    >>> t = govml.simulate(n_creators=40, n_days=30, seed=1).tables
    >>> start = t.sessions["ended_at"].min().normalize()
    >>> snaps = creator_snapshots(t, start=start + pd.Timedelta(days=7),
    ...                           end=start + pd.Timedelta(days=30), freq="7D")
    >>> chunks = list(iter_creator_features(t, snaps, chunk_rows=300))
    >>> len(chunks) > 1
    True
    >>> joined = pd.concat([c.frame for c in chunks]).sort_values(["snapshot_at", "creator_id"])
    >>> joined.reset_index(drop=True).equals(creator_features(t, snaps).frame)
    True
    >>> next(iter_creator_features(t, snaps, chunk_rows=-1))
    Traceback (most recent call last):
    ...
    govml._exceptions.FeatureError: chunk_rows=-1 must be a positive integer (rows built at a time, e.g. 1_000_000)
    """
    chunk_rows = _check_chunk_rows(chunk_rows)
    build = _CreatorBuild(tables, snapshots, extra_events, points_expiry, chunk_rows)
    for q_sel, fill in build.chunks():
        values = np.empty((len(build.numeric), len(q_sel)))

        def put(name: str, v: np.ndarray, values: np.ndarray = values) -> None:
            values[build.column[name]] = v

        fill(put)
        frame = build.frame(q_sel, values)
        del values, put  # only the yielded frame holds this chunk now
        yield build.feature_set(frame)
        del frame
