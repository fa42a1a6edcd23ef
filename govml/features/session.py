"""Session features for the low-quality-content task (scored when a session ends).

Three kinds of features, for a session ending at ``t``:

* **own metrics** — the session's own numbers made comparable (per viewer, per
  minute, per click) and its upstream content signals: the input being scored;
* **creator history** — the creator's earlier sessions over trailing windows, earlier
  review verdicts, active health points by violation kind, penalties, rewards and
  tenure, all from facts known strictly before ``t``;
* **market context** — the session against its market's trailing 7-day distribution of
  the same metrics (a z-score), from other sessions that ended strictly before ``t``.

``market`` and ``category`` are categorical features.

Scale and memory
----------------
A creator's features depend only on that creator's rows of every table, and the market
context only on the market's sessions. So the build computes the market context first,
one market at a time, for all requested sessions (6 floats per session), then builds
the rest for contiguous groups of creators (chunks of about ``CHUNK_ROWS`` sessions)
from those creators' rows alone; every value is bit for bit what a one-piece build
gives. Creator ids become integer codes once per build (Arrow hashing), so no engine
call hashes strings. :func:`session_features` writes each chunk straight into the one
float64 block of the returned frame (no concatenation copies); its peak memory is the
tables plus that frame (89 float64 columns: about 0.7 GB per million sessions, 8.5 GB
for the 12M sessions of ``simulate(n_creators=200_000, n_days=180)``) plus one chunk.
:func:`iter_session_features` yields the chunks instead, for worlds whose whole frame
does not fit: its peak is the tables plus the market context plus one chunk (measured
in ``benchmarks/bench_features.py``). Features stay float64: the engine's bit-for-bit
guarantees are stated for float64 results, and chunking, not a narrower dtype, is what
bounds memory at any size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from govml._exceptions import FeatureError
from govml.features.catalogue import FeatureSpec, WindowBlock, catalogue_version
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
from govml.features.session_metrics import (
    SESSION_METRIC_DESCRIPTIONS,
    _metrics_frame,
    metric_values,
)
from govml.schema import Tables

__all__ = [
    "session_features",
    "iter_session_features",
    "session_feature_specs",
    "OWN_METRICS",
    "MARKET_RELATIVE",
]

TASK = "low_quality"

#: The session's own metrics used as features.
OWN_METRICS: tuple[str, ...] = (
    "duration_min",
    "viewers_log",
    "peak_ratio",
    "avg_watch_min",
    "watch_share",
    "likes_per_viewer",
    "comments_per_viewer",
    "shares_per_viewer",
    "followers_per_viewer",
    "report_rate",
    "click_rate",
    "order_per_click",
    "gmv_per_viewer",
    "products_listed",
    "static_frame_share",
    "speech_share",
)
#: Metrics also compared with the market's trailing distribution.
MARKET_RELATIVE: tuple[str, ...] = (
    "viewers_log",
    "watch_share",
    "report_rate",
    "click_rate",
    "static_frame_share",
    "speech_share",
)
MARKET_WINDOW = "7D"


def _described(cols: Sequence[str]) -> tuple[tuple[str, str, str], ...]:
    return tuple((c, *SESSION_METRIC_DESCRIPTIONS[c]) for c in cols)


CREATOR_SESSIONS_BLOCK = WindowBlock(
    source="sessions",
    prefix="prev_",
    values=_described(
        (
            "report_rate",
            "static_frame_share",
            "speech_share",
            "watch_share",
            "viewers_log",
            "click_rate",
            "likes_per_viewer",
        )
    ),
    windows=("7D", "30D", "90D"),
    aggregations=("mean",),
    count_group="AC",
    count_description="earlier sessions of the creator",
    time_since_last=True,
)


def session_feature_specs() -> list[FeatureSpec]:
    """Catalogue entries of the session feature set, in frame order.

    Examples
    --------
    >>> from govml.features import session_feature_specs
    >>> specs = session_feature_specs()
    >>> [s.name for s in specs[:3]]
    ['market', 'category', 'start_hour_local']
    >>> {s.task for s in specs}, "report_rate" in {s.name for s in specs}
    ({'low_quality'}, True)
    """
    specs = [
        FeatureSpec("market", "market of the creator", "MK", "creators", None, TASK, True),
        FeatureSpec(
            "category", "primary category of the creator", "AP", "creators", None, TASK, True
        ),
        FeatureSpec(
            "start_hour_local",
            "hour of day the stream started, market time",
            "AC",
            "sessions",
            None,
            TASK,
        ),
    ]
    specs += [
        FeatureSpec(
            c,
            SESSION_METRIC_DESCRIPTIONS[c][0],
            SESSION_METRIC_DESCRIPTIONS[c][1],
            "sessions",
            None,
            TASK,
        )
        for c in OWN_METRICS
    ]
    specs += CREATOR_SESSIONS_BLOCK.specs(TASK)
    specs += history_feature_specs(TASK)
    specs += [
        FeatureSpec(
            f"mkt_z_{c}",
            f"{SESSION_METRIC_DESCRIPTIONS[c][0]} against the market's trailing "
            f"{MARKET_WINDOW.lower()} distribution (z-score)",
            "MK" if c != "report_rate" else "VR",
            "sessions",
            MARKET_WINDOW.lower(),
            TASK,
        )
        for c in MARKET_RELATIVE
    ]
    return specs


#: Default number of sessions built at a time (see :func:`iter_session_features`).
CHUNK_ROWS = 1_000_000

# raw session columns the market-relative metrics read
_MARKET_INPUTS = (
    "started_at",
    "ended_at",
    "viewers",
    "avg_watch_seconds",
    "viewer_reports",
    "product_clicks",
    "static_frame_share",
    "speech_share",
)


class _SessionBuild:
    """One session feature build: inputs keyed by creator code, market context, chunks."""

    def __init__(
        self,
        tables: Tables,
        session_ids: Sequence[str] | pd.Index | None,
        points_expiry: str | pd.Timedelta,
        chunk_rows: int | None,
        context: np.ndarray | None = None,
    ) -> None:
        s = tables.sessions
        self.sessions = s
        self.index = _CreatorIndex(tables.creators)
        self.codes = self.index.codes(s["creator_id"])
        if session_ids is None:
            self.qpos = np.arange(len(s))
        else:
            wanted = pd.Index(session_ids)
            pos = _positions(pd.Series(wanted, copy=False), s["session_id"])
            unknown = wanted[pos < 0].unique()
            if len(unknown):
                raise FeatureError(
                    f"{len(unknown)} of the requested session_ids are not in the sessions "
                    f"table (e.g. {list(unknown.sort_values()[:5])}); pass ids from "
                    "tables.sessions['session_id']"
                )
            is_query = np.zeros(len(s), bool)
            is_query[pos] = True
            self.qpos = np.flatnonzero(is_query)
        self.all_rows = len(self.qpos) == len(s)
        q_codes = self.codes[self.qpos]
        n = len(self.index)
        queried = np.bincount(q_codes[q_codes >= 0], minlength=n) > 0
        weights = np.bincount(self.codes[self.codes >= 0], minlength=n)
        self.partition = _Partition(weights, chunk_rows, active=queried)
        self.history = _History.build(
            tables, self.index, points_expiry=points_expiry, session_codes=self.codes
        ).chunks(self.partition)
        self.session_rows = self.partition.split(self.codes)
        self.query_rows = self.partition.split(q_codes)
        self.unmatched = np.flatnonzero(q_codes < 0)  # sessions of unknown creators
        if context is None:
            self.z = _market_z(s, self.index, self.codes, self.qpos)
        else:  # given for every session row (see session_frame)
            self.z = context[:, self.qpos]
        specs = session_feature_specs()
        self.specs = specs
        self.names = [sp.name for sp in specs]
        self.numeric = [sp.name for sp in specs if not sp.categorical]
        self.column = {name: i for i, name in enumerate(self.numeric)}

    # -- one chunk of creators
    def chunks(self) -> Iterator[tuple[np.ndarray, Callable[[Callable], None]]]:
        """``(query positions into qpos, fill)`` per chunk; ``fill(put)`` computes the
        chunk's numeric features and calls ``put(name, values)`` for each."""
        for i in range(self.partition.n_chunks):
            q_sel = self.query_rows[i]
            if len(q_sel):
                yield q_sel, functools.partial(self._fill, i, q_sel)
        if len(self.unmatched):
            yield self.unmatched, functools.partial(self._fill, None, self.unmatched)

    def _fill(self, i: int | None, q_sel: np.ndarray, put: Callable) -> None:
        s = self.sessions
        if i is None:  # sessions whose creator is not in the creators table: no history
            ev_rows = self.qpos[q_sel]
            history = self.history[0].empty()
        else:
            ev_rows = self.session_rows[i]
            history = self.history[i]
        codes = self.codes[ev_rows]
        metrics = _metrics_frame(s.take(ev_rows), self.index, codes, copy=False)
        metrics["creator_id"] = self.index.key(codes, index=metrics.index).array
        local = np.searchsorted(ev_rows, self.qpos[q_sel])
        queries = metrics if len(local) == len(ev_rows) else metrics.take(local)
        for c in ("start_hour_local", *OWN_METRICS):
            put(c, queries[c].to_numpy())
        prev = WindowCall(metrics, "ended_at", CREATOR_SESSIONS_BLOCK).run(queries, "ended_at")
        for name in prev.columns:
            put(name, prev[name].to_numpy())
        del prev
        q_codes = codes[local]
        history.features(queries["creator_id"], q_codes, queries["ended_at"], put)
        for j, c in enumerate(MARKET_RELATIVE):
            put(f"mkt_z_{c}", self.z[j, q_sel])

    # -- frames
    def frame(self, q_sel: np.ndarray | None, values: np.ndarray) -> pd.DataFrame:
        """The feature frame of the queries ``qpos[q_sel]`` (all when None)."""
        s = self.sessions
        rows = self.qpos if q_sel is None else self.qpos[q_sel]
        whole = q_sel is None and self.all_rows

        def col(name: str) -> pd.Series:
            if whole:  # the input's column, shared copy-on-write (never written through)
                return s[name].reset_index(drop=True)
            return pd.Series(s[name].array.take(rows), copy=False)

        codes = self.codes[rows]
        head = pd.DataFrame(
            {
                "session_id": col("session_id"),
                "creator_id": col("creator_id"),
                "ended_at": col("ended_at"),
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
            key=("session_id",),
            time_col="ended_at",
            features=tuple(self.names),
            categorical=tuple(sp.name for sp in self.specs if sp.categorical),
            catalogue_version=catalogue_version(self.specs),
        )


MARKET_BLOCK = WindowBlock(
    source="sessions",
    prefix="mkt_",
    values=_described(MARKET_RELATIVE),
    windows=(MARKET_WINDOW,),
    aggregations=("mean", "std"),
)


def _market_z(
    s: pd.DataFrame, index: _CreatorIndex, codes: np.ndarray, qpos: np.ndarray
) -> np.ndarray:
    """z-scores of the queries ``qpos`` against their market's trailing window (one row
    per metric of ``MARKET_RELATIVE``). One engine call per metric over all markets keeps
    the working set to one float column of every session, and the engine spreads the
    markets over its threads."""
    z = np.full((len(MARKET_RELATIVE), len(qpos)), np.nan)
    # every session in time order (ties in table order, as the engine orders them):
    # the engine's own time sort is then linear, once per metric
    order = np.argsort(s["ended_at"].array.asi8, kind="stable")
    market = index.profile("market", codes[order]).array
    ended = s["ended_at"].array.take(order)
    columns = {c: s[c] for c in _MARKET_INPUTS}  # single columns: views, no copies
    if len(qpos) == len(s):
        q_rows, q_out = None, order  # the queries are the events; row r is order[r]
    else:
        is_query = np.zeros(len(s), bool)
        is_query[qpos] = True
        q_rows = np.flatnonzero(is_query[order])
        q_out = np.searchsorted(qpos, order[q_rows])
    wl = MARKET_WINDOW.lower()
    for j, (c, description, group) in enumerate(MARKET_BLOCK.values):
        own = metric_values(columns, [c])[c][order]
        events = pd.DataFrame({"market": market, "ended_at": ended, c: own}, copy=False)
        queries = events if q_rows is None else events.take(q_rows)
        block = replace(MARKET_BLOCK, values=((c, description, group),))
        stats = WindowCall(events, "ended_at", block, key="market").run(queries, "ended_at")
        mean = stats[f"mkt_{c}_mean_{wl}"].to_numpy()
        std = stats[f"mkt_{c}_std_{wl}"].to_numpy()
        q_own = own if q_rows is None else own[q_rows]
        zc = np.full(len(q_own), np.nan)
        np.divide(q_own - mean, std, out=zc, where=np.isfinite(std) & (std > 0))
        z[j][q_out] = zc
        del stats, events, queries, mean, std, own, q_own, zc
    return z


def market_context(
    sessions: pd.DataFrame, creators: pd.DataFrame, *, qpos: np.ndarray | None = None
) -> np.ndarray:
    """The market-context step of the session build on its own: z-scores of sessions
    against their market's trailing 7-day distribution of the other sessions.

    Internal API for :mod:`govml.spark`, which computes the context in its own stage,
    one whole market per task, and hands it to :func:`session_frame` in the creator
    stage. Same engine calls as :func:`session_features`, so the same bits.

    Parameters
    ----------
    sessions : DataFrame
        Sessions rows (contract columns), every session of the markets concerned: the
        trailing distributions come from them.
    creators : DataFrame
        At least ``creator_id`` and ``market`` of the sessions' creators (sessions of
        other creators have no market, hence no context).
    qpos : array of int, optional
        Sorted positions in ``sessions`` of the sessions to return (default: all).

    Returns
    -------
    ndarray of float64, shape (len(MARKET_RELATIVE), len(qpos))
        Row ``j`` is the z-score of metric ``MARKET_RELATIVE[j]`` (the ``mkt_z_*``
        features); NaN where the market's window has no spread.

    Examples
    --------
    >>> import govml, numpy as np
    >>> from govml.features import session_features
    >>> from govml.features.session import MARKET_RELATIVE, market_context
    >>> world = govml.simulate(n_creators=40, n_days=14, seed=1)
    >>> z = market_context(world.tables.sessions, world.tables.creators)
    >>> z.shape == (len(MARKET_RELATIVE), len(world.tables.sessions))
    True
    >>> frame = session_features(world.tables).frame
    >>> np.array_equal(z[2], frame["mkt_z_report_rate"].to_numpy(), equal_nan=True)
    True
    """
    index = _CreatorIndex(creators)
    qpos = np.arange(len(sessions)) if qpos is None else np.asarray(qpos)
    return _market_z(sessions, index, index.codes(sessions["creator_id"]), qpos)


def _whole_frame(build: _SessionBuild) -> pd.DataFrame:
    """Every query of ``build`` in one frame, each chunk written into one float64 block."""
    values = np.empty((len(build.numeric), len(build.qpos)))
    for q_sel, fill in build.chunks():
        target = slice(None) if len(q_sel) == len(build.qpos) else q_sel

        def put(name: str, v: np.ndarray, target: object = target) -> None:
            values[build.column[name]][target] = v  # row view, then index (fast path)

        fill(put)
    return build.frame(None, values)


def session_frame(
    tables: Tables,
    *,
    context: np.ndarray,
    session_ids: Sequence[str] | pd.Index | None = None,
    points_expiry: str | pd.Timedelta = DEFAULT_POINTS_EXPIRY,
) -> pd.DataFrame:
    """:func:`session_features`' frame, with the market context given instead of
    computed from ``tables``.

    Internal API for :mod:`govml.spark`: a Spark partition holds whole creators but not
    whole markets, so the context comes from :func:`market_context` run per market.

    Parameters
    ----------
    tables : Tables
        Validated tables.
    context : ndarray of float64, shape (len(MARKET_RELATIVE), len(tables.sessions))
        :func:`market_context` of every row of ``tables.sessions`` (only the requested
        sessions' columns are read).
    session_ids, points_expiry
        As in :func:`session_features`.

    Returns
    -------
    DataFrame
        As ``session_features(...).frame``.

    Raises
    ------
    FeatureError
        ``session_ids`` names unknown sessions.

    Examples
    --------
    >>> import govml
    >>> from govml.features import session_features
    >>> from govml.features.session import market_context, session_frame
    >>> world = govml.simulate(n_creators=40, n_days=14, seed=1)
    >>> z = market_context(world.tables.sessions, world.tables.creators)
    >>> ids = world.tables.sessions["session_id"][:50]
    >>> frame = session_frame(world.tables, context=z, session_ids=ids)
    >>> frame.equals(session_features(world.tables, session_ids=ids).frame)
    True
    """
    build = _SessionBuild(tables, session_ids, points_expiry, CHUNK_ROWS, context=context)
    return _whole_frame(build)


def _window_calls(
    tables: Tables, *, points_expiry: str | pd.Timedelta = DEFAULT_POINTS_EXPIRY
) -> Iterator[tuple[WindowCall, bool]]:
    """The windowed aggregations of a whole-table session build, one call at a time.

    Yields ``(call, queries_are_events)``; the queries are every session at its
    ``ended_at`` with its categorical ``creator_id`` (:func:`_session_queries`). When
    ``queries_are_events`` the call's events are those very sessions, in table order.
    The builder makes the same calls per chunk of creators (and the market call per
    market), which gives the same values. For benchmarks.
    """
    s = tables.sessions
    index = _CreatorIndex(tables.creators)
    codes = index.codes(s["creator_id"])
    events = pd.DataFrame(
        {
            "creator_id": index.key(codes).array,
            "ended_at": s["ended_at"].array,
            **metric_values(s, CREATOR_SESSIONS_BLOCK.value_columns),
        },
        copy=False,
    )
    yield WindowCall(events, "ended_at", CREATOR_SESSIONS_BLOCK), True
    del events
    history = _History.build(tables, index, points_expiry=points_expiry)
    for call in history.calls:
        yield call, False
    del history
    events = pd.DataFrame(
        {
            "market": index.profile("market", codes).array,
            "ended_at": s["ended_at"].array,
            **metric_values(s, MARKET_RELATIVE),
        },
        copy=False,
    )
    yield WindowCall(events, "ended_at", MARKET_BLOCK, key="market"), True


def _session_queries(tables: Tables) -> pd.DataFrame:
    """Every session as a query: categorical ``creator_id`` and ``ended_at``."""
    index = _CreatorIndex(tables.creators)
    return pd.DataFrame(
        {
            "creator_id": index.key(index.codes(tables.sessions["creator_id"])).array,
            "ended_at": tables.sessions["ended_at"].array,
        },
        copy=False,
    )


def session_features(
    tables: Tables,
    *,
    session_ids: Sequence[str] | pd.Index | None = None,
    points_expiry: str | pd.Timedelta = DEFAULT_POINTS_EXPIRY,
) -> FeatureSet:
    """Build the session feature set, point in time, at each session's end.

    Parameters
    ----------
    tables : Tables
        Validated tables (:func:`govml.validate_tables`); history comes from all of
        them, restricted per row to facts known strictly before that session ended.
    session_ids : sequence of str, optional
        Only build rows for these sessions (e.g. the reviewed ones, or today's batch).
        History still comes from every table (only the requested sessions' creators'
        rows are read, which is all their features depend on). Default: every session.
    points_expiry : str or Timedelta
        How long violation health points stay active.

    Returns
    -------
    FeatureSet
        ``frame`` has ``session_id, creator_id, ended_at`` plus the features,
        in the order of ``tables.sessions`` (filtered to ``session_ids``).

    Examples
    --------
    >>> import govml
    >>> from govml.features import session_features
    >>> world = govml.simulate(n_creators=40, n_days=14, seed=1)
    >>> fs = session_features(world.tables)
    >>> fs.key, fs.time_col, "report_rate" in fs.features
    (('session_id',), 'ended_at', True)
    """
    build = _SessionBuild(tables, session_ids, points_expiry, CHUNK_ROWS)
    return build.feature_set(_whole_frame(build))


def iter_session_features(
    tables: Tables,
    *,
    session_ids: Sequence[str] | pd.Index | None = None,
    points_expiry: str | pd.Timedelta = DEFAULT_POINTS_EXPIRY,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[FeatureSet]:
    """The session feature set in chunks of creators, for worlds too large to hold at once.

    Each chunk holds every requested session of a group of creators (about
    ``chunk_rows`` sessions; one creator is never split), in ``tables.sessions`` order
    within the chunk. Every value is bit-for-bit the one :func:`session_features`
    gives: a creator's features depend only on its own rows and on the market context,
    which is computed once for all sessions. Memory is the tables plus the market
    context (6 floats per session) plus one chunk, instead of the whole frame (a
    10-million-session frame of 89 float64 features alone is about 7 GB).

    Parameters
    ----------
    tables, session_ids, points_expiry
        As in :func:`session_features`.
    chunk_rows : int
        About how many sessions (of all the chunk's creators) to build at a time.

    Yields
    ------
    FeatureSet
        One per chunk, with the columns of :func:`session_features`.

    Raises
    ------
    FeatureError
        ``chunk_rows`` is not a positive integer, or ``session_ids`` names unknown
        sessions.

    Examples
    --------
    >>> import govml, pandas as pd
    >>> from govml.features import session_features
    >>> from govml.features.session import iter_session_features
    >>> world = govml.simulate(n_creators=40, n_days=14, seed=1)
    >>> chunks = list(iter_session_features(world.tables, chunk_rows=100))
    >>> len(chunks) > 1
    True
    >>> joined = pd.concat([c.frame for c in chunks], ignore_index=True)
    >>> whole = session_features(world.tables).frame.set_index("session_id")
    >>> joined.set_index("session_id").equals(whole.loc[joined["session_id"]])
    True
    >>> next(iter_session_features(world.tables, chunk_rows=0))
    Traceback (most recent call last):
    ...
    govml._exceptions.FeatureError: chunk_rows=0 must be a positive integer (rows built at a time, e.g. 1_000_000)
    """
    chunk_rows = _check_chunk_rows(chunk_rows)
    build = _SessionBuild(tables, session_ids, points_expiry, chunk_rows)
    for q_sel, fill in build.chunks():
        values = np.empty((len(build.numeric), len(q_sel)))

        def put(name: str, v: np.ndarray, values: np.ndarray = values) -> None:
            values[build.column[name]] = v

        fill(put)
        frame = build.frame(q_sel, values)
        del values, put  # only the yielded frame holds this chunk now
        yield build.feature_set(frame)
        del frame
