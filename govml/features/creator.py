"""Creator snapshot features for the adversarial-seller task (scored on a schedule).

For a snapshot of creator ``c`` at ``t`` (e.g. daily at midnight UTC), every feature
uses facts known strictly before ``t``:

* **activity and sales** — sessions, minutes, GMV, orders, clicks over 7/30/90 days;
* **engagement and conversion patterns** — viewers against watch time and
  interaction, orders against clicks, average order value;
* **refunds, complaints and returns** known at ``t`` (they arrive days after the
  sale), as counts and as rates per order;
* **violations, penalties, rewards, campaigns, commission changes, reviews, tenure**
  (shared with the session task, :mod:`govml.features.history`);
* **trends** — the last 7 days against the last 30;
* optional **extra event tables** (:class:`ExtraEvents`), e.g. the content model's
  session scores, so two-level scoring adds no leak: an extra event counts only when
  its own time is before ``t``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from govml._exceptions import FeatureError
from govml.features.catalogue import REASON_GROUPS, FeatureSpec, WindowBlock, catalogue_version
from govml.features.featureset import FeatureSet
from govml.features.history import DEFAULT_POINTS_EXPIRY, creator_history, history_feature_specs
from govml.features.session_metrics import SESSION_METRIC_DESCRIPTIONS, session_metrics
from govml.schema import Tables

__all__ = ["ExtraEvents", "creator_features", "creator_feature_specs"]

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
        """Catalogue entries of this table's features."""
        return self._block.specs(TASK)


def _derived_specs() -> list[FeatureSpec]:
    specs = [FeatureSpec(n, d, g, "sessions+outcomes", None, TASK) for n, _, _, d, g in _RATES]
    specs += [FeatureSpec(n, d, g, "sessions", None, TASK) for n, _, _, d, g in _TRENDS]
    specs += [FeatureSpec(n, d, g, "sessions", None, TASK) for n, _, _, d, g in _PACE]
    return specs


def creator_feature_specs(extra: Sequence[ExtraEvents] = ()) -> list[FeatureSpec]:
    """Catalogue entries of the creator feature set, in frame order."""
    specs = [
        FeatureSpec("market", "market of the creator", "MK", "creators", None, TASK, True),
        FeatureSpec(
            "category", "primary category of the creator", "AP", "creators", None, TASK, True
        ),
    ]
    specs += SALES_BLOCK.specs(TASK) + PATTERN_BLOCK.specs(TASK) + OUTCOME_BLOCK.specs(TASK)
    specs += _derived_specs()
    specs += history_feature_specs(TASK)
    for e in extra:
        specs += e.specs()
    return specs


def _ratio(num: pd.Series, den: pd.Series, scale: float = 1.0) -> np.ndarray:
    n, d = num.to_numpy(np.float64), den.to_numpy(np.float64)
    out = np.full(len(n), np.nan)
    np.divide(n * scale, d, out=out, where=d > 0)
    return out


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
    from govml.features.windows import trailing_windows

    missing = [c for c in ("creator_id", "snapshot_at") if c not in snapshots.columns]
    if missing:
        raise FeatureError(
            f"snapshots is missing column(s) {missing}; it needs creator_id and snapshot_at "
            "(see govml.features.creator_snapshots)"
        )
    known = snapshots["creator_id"].isin(tables.creators["creator_id"])
    if not known.all():
        bad = snapshots.loc[~known, "creator_id"].unique()[:5]
        raise FeatureError(
            f"{int((~known).sum())} snapshot row(s) name creators absent from the creators "
            f"table (e.g. {list(bad)}); snapshot only creators in tables.creators"
        )
    names_seen: set[str] = set()
    for e in extra_events:
        if e.name in names_seen:
            raise FeatureError(f"two ExtraEvents share the name {e.name!r}; names must be unique")
        names_seen.add(e.name)

    q = snapshots[["creator_id", "snapshot_at"]].reset_index(drop=True)
    metrics = session_metrics(tables.sessions, tables.creators)

    def windows(events: pd.DataFrame, block: WindowBlock, time: str) -> pd.DataFrame:
        return trailing_windows(
            events,
            q,
            keys="creator_id",
            event_time=time,
            query_time="snapshot_at",
            values=block.value_columns,
            windows=block.windows,
            aggregations=block.engine_aggregations,
            time_since_last=block.time_since_last,
            prefix=block.prefix,
        )

    parts = [windows(metrics, SALES_BLOCK, "ended_at"), windows(metrics, PATTERN_BLOCK, "ended_at")]
    o = tables.outcomes
    okind = o["kind"].astype(str)
    outcome_events = pd.DataFrame(
        {
            "creator_id": o["session_id"].map(
                tables.sessions.set_index("session_id")["creator_id"]
            ),
            "occurred_at": o["occurred_at"],
            "is_refund": (okind == "refund").astype(np.float64),
            "is_complaint": (okind == "complaint").astype(np.float64),
            "is_return": (okind == "return").astype(np.float64),
            "amount": o["amount"].astype(np.float64),
        }
    )
    parts.append(windows(outcome_events, OUTCOME_BLOCK, "occurred_at"))
    feats = pd.concat(parts, axis=1)
    for name, num, den, _, _ in _RATES:
        feats[name] = _ratio(feats[num], feats[den])
    for name, short, long_, _, _ in _TRENDS:
        feats[name] = feats[short] - feats[long_]
    for name, short, long_, _, _ in _PACE:
        feats[name] = _ratio(feats[short] * 30.0, feats[long_] * 7.0)
    history = creator_history(tables, q, query_time="snapshot_at", points_expiry=points_expiry)
    extra_parts = [windows(e.frame, e._block, e.time) for e in extra_events]
    profile = tables.creators.set_index("creator_id")
    base = q.assign(
        market=q["creator_id"].map(profile["market"]).astype(tables.creators["market"].dtype),
        category=q["creator_id"].map(profile["category"]).astype(tables.creators["category"].dtype),
    )
    specs = creator_feature_specs(extra_events)
    names = [s.name for s in specs]
    frame = pd.concat([base, feats, history, *extra_parts], axis=1)
    frame = frame[["creator_id", "snapshot_at", *names]]
    return FeatureSet(
        frame=frame,
        task=TASK,
        key=("creator_id",),
        time_col="snapshot_at",
        features=tuple(names),
        categorical=tuple(s.name for s in specs if s.categorical),
        catalogue_version=catalogue_version(specs),
    )
