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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from govml._exceptions import FeatureError
from govml.features.catalogue import FeatureSpec, WindowBlock, catalogue_version
from govml.features.featureset import FeatureSet
from govml.features.history import DEFAULT_POINTS_EXPIRY, creator_history, history_feature_specs
from govml.features.session_metrics import SESSION_METRIC_DESCRIPTIONS, session_metrics
from govml.schema import Tables

__all__ = ["session_features", "session_feature_specs", "OWN_METRICS", "MARKET_RELATIVE"]

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
    """Catalogue entries of the session feature set, in frame order."""
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
        History still comes from every table. Default: every session.
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
    from govml.features.windows import trailing_windows

    metrics = session_metrics(tables.sessions, tables.creators)
    if session_ids is not None:
        wanted = pd.Index(session_ids)
        unknown = wanted.difference(metrics["session_id"])
        if len(unknown):
            raise FeatureError(
                f"{len(unknown)} of the requested session_ids are not in the sessions table "
                f"(e.g. {list(unknown[:5])}); pass ids from tables.sessions['session_id']"
            )
        queries = metrics[metrics["session_id"].isin(wanted)]
    else:
        queries = metrics
    q = queries[["session_id", "creator_id", "market", "ended_at"]]

    hist_sessions = trailing_windows(
        metrics,
        q,
        keys="creator_id",
        event_time="ended_at",
        values=CREATOR_SESSIONS_BLOCK.value_columns,
        windows=CREATOR_SESSIONS_BLOCK.windows,
        aggregations=CREATOR_SESSIONS_BLOCK.engine_aggregations,
        time_since_last=True,
        prefix=CREATOR_SESSIONS_BLOCK.prefix,
    )
    history = creator_history(tables, q, query_time="ended_at", points_expiry=points_expiry)
    market = trailing_windows(
        metrics,
        q,
        keys="market",
        event_time="ended_at",
        values=list(MARKET_RELATIVE),
        windows=(MARKET_WINDOW,),
        aggregations=("mean", "std"),
        time_since_last=False,
        prefix="mkt_",
    )
    wl = MARKET_WINDOW.lower()
    rel = {}
    for c in MARKET_RELATIVE:
        mean = market[f"mkt_{c}_mean_{wl}"].to_numpy()
        std = market[f"mkt_{c}_std_{wl}"].to_numpy()
        own = queries[c].to_numpy(dtype=np.float64)
        z = np.full(len(own), np.nan)
        np.divide(own - mean, std, out=z, where=np.isfinite(std) & (std > 0))
        rel[f"mkt_z_{c}"] = z
    specs = session_feature_specs()
    names = [s.name for s in specs]
    frame = pd.concat(
        [
            queries[["session_id", "creator_id", "ended_at"]],
            queries[["market", "category", "start_hour_local", *OWN_METRICS]],
            hist_sessions,
            history,
            pd.DataFrame(rel, index=queries.index),
        ],
        axis=1,
    )
    frame = frame[["session_id", "creator_id", "ended_at", *names]].reset_index(drop=True)
    return FeatureSet(
        frame=frame,
        task=TASK,
        key=("session_id",),
        time_col="ended_at",
        features=tuple(names),
        categorical=tuple(s.name for s in specs if s.categorical),
        catalogue_version=catalogue_version(specs),
    )
