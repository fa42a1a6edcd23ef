"""Shared fixtures: a tiny, hand-written, fully valid set of the six contract tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import govml
from govml.schema import Tables

UTC = "datetime64[us, UTC]"


def _ts(*values: str | None) -> pd.Series:
    """Aware UTC timestamps from ISO strings (None -> NaT)."""
    return pd.Series(pd.to_datetime(list(values), utc=True, format="ISO8601"), dtype=UTC)


def make_tiny_tables() -> Tables:
    """Three creators, six sessions and a few rows in every event table, all valid.

    Every call builds new frames, so a test may change its copy freely. Plain pandas
    dtypes (object/str, int64, float64, bool, aware timestamps) as a user would hand
    them over, not the normalised contract dtypes.
    """
    creators = pd.DataFrame(
        {
            "creator_id": ["c1", "c2", "c3"],
            "market": ["ID", "TH", "VN"],
            "category": ["beauty", "fashion", "electronics"],
            "onboarded_at": _ts("2024-01-02T08:00:00Z", "2024-01-05T03:30:00Z", "2024-01-10"),
            "is_business": [False, True, False],
            "commission_rate": [0.05, 0.04, 0.06],
        }
    )
    sessions = pd.DataFrame(
        {
            "session_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
            "creator_id": ["c1", "c1", "c2", "c2", "c3", "c3"],
            "started_at": _ts(
                "2024-02-01T12:00:00Z",
                "2024-02-03T12:00:00Z",
                "2024-02-01T13:00:00Z",
                "2024-02-04T02:00:00Z",
                "2024-02-02T10:00:00Z",
                "2024-02-05T11:00:00Z",
            ),
            "ended_at": _ts(
                "2024-02-01T13:00:00Z",
                "2024-02-03T14:30:00Z",
                "2024-02-01T13:45:00Z",
                "2024-02-04T04:00:00Z",
                "2024-02-02T10:30:00Z",
                "2024-02-05T11:00:00Z",  # zero-length stream: allowed (ended_at >= started_at)
            ),
            "viewers": [320, 1250, 80, 410, 45, 0],
            "peak_concurrent_viewers": [60, 300, 12, 90, 8, 0],
            "avg_watch_seconds": [95.5, 140.0, 30.2, 88.0, 12.5, 0.0],
            "likes": [100, 800, 5, 120, 2, 0],
            "comments": [40, 210, 1, 35, 0, 0],
            "shares": [3, 25, 0, 4, 0, 0],
            "new_followers": [10, 55, 0, 12, 1, 0],
            "products_listed": [8, 15, 3, 6, 20, 1],
            "product_clicks": [90, 600, 4, 70, 3, 0],
            "orders": [12, 85, 0, 9, 0, 0],
            "gmv": [240.0, 2100.5, 0.0, 180.25, 0.0, 0.0],
            "viewer_reports": [0, 1, 0, 0, 4, 0],
            "static_frame_share": [0.05, 0.0, 0.1, 0.02, 0.85, 1.0],
            "speech_share": [0.7, 0.8, 0.4, 0.65, 0.0, 0.0],
        }
    )
    outcomes = pd.DataFrame(
        {
            "outcome_id": ["o1", "o2", "o3"],
            "session_id": ["s1", "s2", "s5"],
            "kind": ["refund", "return", "complaint"],
            "occurred_at": _ts(
                "2024-02-04T09:00:00Z", "2024-02-10T15:00:00Z", "2024-02-06T01:00:00Z"
            ),
            "amount": [20.0, 45.5, 0.0],
        }
    )
    violations = pd.DataFrame(
        {
            "violation_id": ["v1", "v2", "v3"],
            "creator_id": ["c3", "c3", "c2"],
            "session_id": ["s5", None, "s4"],
            "kind": ["low_quality_content", "counterfeit", "misleading_claim"],
            "severity": ["minor", "critical", "major"],
            "health_points": [1, 12, 4],
            "occurred_at": _ts(
                "2024-02-02T10:00:00Z", "2024-02-03T00:00:00Z", "2024-02-04T02:30:00Z"
            ),
            "detected_at": _ts(
                "2024-02-03T09:00:00Z", "2024-02-08T00:00:00Z", "2024-02-06T00:00:00Z"
            ),
            "appealed": [False, True, True],
            "status": ["confirmed", "confirmed", "overturned"],
            "resolved_at": _ts(
                "2024-02-10T09:00:00Z", "2024-02-20T00:00:00Z", "2024-02-16T00:00:00Z"
            ),
        }
    )
    actions = pd.DataFrame(
        {
            "action_id": ["a1", "a2", "a3"],
            "creator_id": ["c3", "c3", "c1"],
            "kind": ["warning", "suspension", "incentive_reward"],
            "taken_at": _ts("2024-02-03T09:05:00Z", "2024-02-08T00:10:00Z", "2024-02-06T00:00:00Z"),
            "ends_at": _ts(None, "2024-02-15T00:10:00Z", None),
            "value": [None, None, 50.0],
            "violation_id": ["v1", "v2", None],
        }
    )
    reviews = pd.DataFrame(
        {
            "review_id": ["r1", "r2", "r3", "r4"],
            "session_id": ["s1", "s5", "s6", "s3"],
            "reviewed_at": _ts(
                "2024-02-01T15:00:00Z",
                "2024-02-02T12:00:00Z",
                "2024-02-05T13:00:00Z",
                "2024-02-02T09:00:00Z",
            ),
            "is_low_quality": [False, True, True, False],
            "reason": [None, "static_or_looped", "no_presenter_speech", None],
            "sample_reason": ["random_audit", "viewer_report", "risk_queue", "random_audit"],
        }
    )
    return Tables(
        creators=creators,
        sessions=sessions,
        outcomes=outcomes,
        violations=violations,
        actions=actions,
        reviews=reviews,
    )


@pytest.fixture
def tiny_tables() -> Tables:
    """A fresh, fully valid :class:`~govml.schema.Tables` (see :func:`make_tiny_tables`).

    ``dataclasses.replace(tiny_tables, sessions=...)`` gives a modified copy.
    """
    return make_tiny_tables()


# ---------------------------------------------------------------- point-in-time helpers


def known_before(tables: Tables, t: pd.Timestamp) -> Tables:
    """Drop every row whose known-at time is at or after t (the world as known at t)."""
    s = tables.sessions[tables.sessions["ended_at"] < t]
    return Tables(
        creators=tables.creators[tables.creators["onboarded_at"] < t],
        sessions=s,
        outcomes=tables.outcomes[tables.outcomes["occurred_at"] < t],
        violations=tables.violations[tables.violations["detected_at"] < t],
        actions=tables.actions[tables.actions["taken_at"] < t],
        reviews=tables.reviews[tables.reviews["reviewed_at"] < t],
    )


def poison_at(tables: Tables, creators: pd.Series, t: pd.Timestamp) -> Tables:
    """Extreme rows in every table for ``creators``, each known exactly at ``t``."""
    creators = pd.Series(creators).reset_index(drop=True)
    n = len(creators)
    at = pd.Series([t] * n, dtype="datetime64[us, UTC]")
    ids = pd.Series([f"poison{i}" for i in range(n)])
    sessions = pd.DataFrame(
        {
            "session_id": ids,
            "creator_id": creators,
            "started_at": at - pd.Timedelta(hours=1),
            "ended_at": at,
            "viewers": 10**9,
            "peak_concurrent_viewers": 10**9,
            "avg_watch_seconds": 1e7,
            "likes": 10**9,
            "comments": 10**9,
            "shares": 10**9,
            "new_followers": 10**9,
            "products_listed": 10**6,
            "product_clicks": 10**9,
            "orders": 10**9,
            "gmv": 1e15,
            "viewer_reports": 10**9,
            "static_frame_share": 1.0,
            "speech_share": 0.0,
        }
    )
    violations = pd.DataFrame(
        {
            "violation_id": "pv" + ids,
            "creator_id": creators,
            "session_id": ids,
            "kind": "counterfeit",
            "severity": "critical",
            "health_points": 10**6,
            "occurred_at": at - pd.Timedelta(days=1),
            "detected_at": at,
            "appealed": False,
            "status": "confirmed",
            "resolved_at": at,
        }
    )
    suspensions = pd.DataFrame(
        {
            "action_id": "pa" + ids,
            "creator_id": creators,
            "kind": "suspension",
            "taken_at": at,
            "ends_at": at + pd.Timedelta(days=30),
            "value": np.nan,
            "violation_id": None,
        }
    )
    commission = suspensions.assign(
        action_id="pc" + ids,
        kind="commission_change",
        ends_at=pd.Series(pd.NaT, index=suspensions.index, dtype="datetime64[us, UTC]"),
        value=0.99,
    )
    reviews = pd.DataFrame(
        {
            "review_id": "pr" + ids,
            "session_id": ids,
            "reviewed_at": at,
            "is_low_quality": True,
            "reason": "static_or_looped",
            "sample_reason": "random_audit",
        }
    )
    outcomes = pd.DataFrame(
        {
            "outcome_id": "po" + ids,
            "session_id": ids,
            "kind": "refund",
            "occurred_at": at,
            "amount": 1e12,
        }
    )

    def add(name, *extra):
        return pd.concat([tables[name], *extra], ignore_index=True)

    return govml.validate_tables(
        {
            "creators": tables.creators,
            "sessions": add("sessions", sessions),
            "violations": add("violations", violations),
            "actions": add("actions", suspensions, commission),
            "reviews": add("reviews", reviews),
            "outcomes": add("outcomes", outcomes),
        }
    )


# ---------------------------------------------------------------- a small trained world
#
# One simulated world and one trained model per task for the whole test session, shared by
# the scoring, policy, monitoring, report and Spark tests. Small and fast (seconds on two
# cores): 400 creators x 120 days, few shallow trees, and a 7-day adversarial horizon so
# that train, validation and test periods fit in 120 days.

SMALL_FAST = {
    "model.num_boost_round": 150,
    "model.early_stopping_rounds": 20,
    "model.params.min_data_in_leaf": 20,
    "model.params.num_leaves": 7,
    "evaluation.n_bootstrap": 10,
}


def small_config(task: str):
    """The fast experiment configuration the shared models are trained with."""
    from govml.training.config import default_config

    cfg = default_config(task).override(SMALL_FAST)
    if task == "adversarial":
        cfg = cfg.override({"labels.horizon": "7D", "labels.resolution_delay": "7D"})
    return cfg


@pytest.fixture(scope="session")
def small_world():
    """A simulated world (400 creators x 120 days, seed 3) with its ground truth.

    Treat it as read-only: it is shared by every test in the session.
    """
    return govml.simulate(n_creators=400, n_days=120, seed=3)


@pytest.fixture(scope="session")
def small_models(small_world, tmp_path_factory):
    """``{task: (GovmlModel, saved_path)}`` for both tasks, trained on :func:`small_world`.

    Read-only and shared; the artifacts live in a session temporary folder.
    """
    from govml.training.pipeline import train_task

    root = tmp_path_factory.mktemp("small_models")
    models = {}
    for task in ("low_quality", "adversarial"):
        model = train_task(small_world.tables, small_config(task), track=False).model
        models[task] = (model, model.save(root / task))
    return models
