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

import numpy as np
import pandas as pd

from govml.features.catalogue import FeatureSpec, WindowBlock
from govml.features.intervals import active_at, latest_before
from govml.schema import VIOLATION_KINDS, Tables

__all__ = ["creator_history", "history_feature_specs", "DEFAULT_POINTS_EXPIRY"]

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
    """Catalogue entries of :func:`creator_history`'s columns."""
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


def _windows(
    events: pd.DataFrame, queries: pd.DataFrame, block: WindowBlock, time: str, query_time: str
) -> pd.DataFrame:
    from govml.features.windows import trailing_windows

    return trailing_windows(
        events,
        queries,
        keys="creator_id",
        event_time=time,
        query_time=query_time,
        values=block.value_columns,
        windows=block.windows,
        aggregations=block.engine_aggregations,
        time_since_last=block.time_since_last,
        prefix=block.prefix,
    )


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
    """
    q = queries[["creator_id", query_time]]
    v = tables.violations
    kind = v["kind"].astype(str)
    expiry_end = v["detected_at"] + pd.Timedelta(points_expiry)
    overturned = (v["status"] == "overturned").to_numpy()
    end = expiry_end.where(~overturned | (v["resolved_at"] >= expiry_end), v["resolved_at"])
    points = v["health_points"].to_numpy(dtype=np.float64)
    iv = pd.DataFrame(
        {
            "creator_id": v["creator_id"],
            "start": v["detected_at"],
            "end": end,
            "points": points,
            **{f"points_{k}": np.where(kind == k, points, 0.0) for k in VIOLATION_KINDS},
        }
    )
    active = active_at(
        iv,
        q,
        keys="creator_id",
        start="start",
        end="end",
        query_time=query_time,
        values=["points", *(f"points_{k}" for k in VIOLATION_KINDS)],
        name="v",
    )
    out = pd.DataFrame(index=queries.index)
    out["points_active"] = active["v_points"]
    out["violations_active"] = active["v_count"]
    for k in VIOLATION_KINDS:
        out[f"points_active_{k}"] = active[f"v_points_{k}"]

    a = tables.actions
    pen = a[a["kind"].isin(_PENALTY_KINDS)]
    out["penalties_active"] = active_at(
        pen,
        q,
        keys="creator_id",
        start="taken_at",
        end="ends_at",
        query_time=query_time,
        name="pen",
    )["pen_count"]

    from govml.schema import ADVERSARIAL_VIOLATION_KINDS

    vev = pd.DataFrame(
        {
            "creator_id": v["creator_id"],
            "detected_at": v["detected_at"],
            "is_severe": v["severity"].isin(["major", "critical"]).astype(np.float64),
            "is_adversarial_kind": v["kind"].isin(ADVERSARIAL_VIOLATION_KINDS).astype(np.float64),
        }
    )
    out = out.join(_windows(vev, q, VIOLATION_BLOCK, "detected_at", query_time))
    ov = v.loc[overturned, ["creator_id", "resolved_at"]]
    out = out.join(_windows(ov, q, OVERTURN_BLOCK, "resolved_at", query_time))

    akind = a["kind"].astype(str)
    aev = pd.DataFrame(
        {
            "creator_id": a["creator_id"],
            "taken_at": a["taken_at"],
            "is_warning": (akind == "warning").astype(np.float64),
            "is_penalty": akind.isin(_PENALTY_KINDS).astype(np.float64),
            "is_reward": (akind == "incentive_reward").astype(np.float64),
            "reward_usd": np.where(
                akind == "incentive_reward", a["value"].fillna(0.0).to_numpy(np.float64), 0.0
            ),
            "is_campaign": (akind == "campaign_participation").astype(np.float64),
            "is_commission_change": (akind == "commission_change").astype(np.float64),
        }
    )
    out = out.join(_windows(aev, q, ACTION_BLOCK, "taken_at", query_time))

    if reviews is None:
        reviews = tables.reviews.assign(
            creator_id=tables.reviews["session_id"].map(
                tables.sessions.set_index("session_id")["creator_id"]
            )
        )
    rev = pd.DataFrame(
        {
            "creator_id": reviews["creator_id"],
            "reviewed_at": reviews["reviewed_at"],
            "is_low_quality": reviews["is_low_quality"].astype(np.float64),
        }
    )
    out = out.join(_windows(rev, q, REVIEW_BLOCK, "reviewed_at", query_time))

    cc = a[akind == "commission_change"]
    latest = latest_before(
        cc, q, keys="creator_id", event_time="taken_at", query_time=query_time, value="value"
    )
    profile = tables.creators.set_index("creator_id")
    onboarding_rate = q["creator_id"].map(profile["commission_rate"]).astype(np.float64)
    out["commission_rate_now"] = latest.fillna(onboarding_rate)
    onboarded = q["creator_id"].map(profile["onboarded_at"])
    out["tenure_days"] = (q[query_time] - onboarded).dt.total_seconds().to_numpy() / 86400.0
    out["is_business"] = q["creator_id"].map(profile["is_business"]).astype(np.float64)
    return out
