"""Session feature set: catalogue coverage, point-in-time truth, brute-force agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import known_before, poison_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import govml
from govml import FeatureError
from govml.features import catalogue, session_features
from govml.schema import Tables


@pytest.fixture(scope="module")
def world_tables() -> Tables:
    return govml.validate_tables(govml.simulate(n_creators=150, n_days=60, seed=11).tables)


@pytest.fixture(scope="module")
def features(world_tables):
    return session_features(world_tables)


def test_features_match_the_catalogue(features):
    cat = catalogue("low_quality")
    assert list(features.features) == cat["name"].tolist()
    assert set(features.categorical) == set(cat.loc[cat["categorical"], "name"])
    assert features.frame["market"].dtype == "category"
    assert list(features.frame["market"].cat.categories) == list(govml.schema.MARKETS)
    numeric = [f for f in features.features if f not in features.categorical]
    assert all(features.frame[c].dtype == np.float64 for c in numeric)


def test_one_row_per_session_in_table_order(world_tables, features):
    assert features.frame["session_id"].tolist() == world_tables.sessions["session_id"].tolist()
    assert features.key == ("session_id",) and features.time_col == "ended_at"


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=st.integers(min_value=5, max_value=58), hour=st.integers(0, 23))
def test_no_feature_uses_facts_known_at_or_after_session_end(world_tables, features, day, hour):
    """Features of sessions ending by t are identical, bit for bit, when every fact known
    at or after t is removed (the reverse of future poisoning)."""
    start = world_tables.sessions["ended_at"].min().normalize()
    t = start + pd.Timedelta(days=day, hours=hour)
    past = known_before(world_tables, t + pd.Timedelta(microseconds=1))
    ids = past.sessions["session_id"]
    if ids.empty:
        return
    truncated = session_features(past)
    full = features.frame.set_index("session_id").loc[ids.to_numpy()]
    pd.testing.assert_frame_equal(truncated.frame.set_index("session_id"), full, check_exact=True)


@pytest.mark.parametrize("pick", [0.2, 0.5, 0.9])
def test_future_poisoning_exactly_at_prediction_time(world_tables, features, pick):
    """Extreme rows of every table known exactly at t (for the creator of a session ending
    at t and for 30 others) change no feature of any session ending at or before t."""
    s = world_tables.sessions
    target = s.iloc[int(pick * (len(s) - 1))]
    t = target["ended_at"]
    others = world_tables.creators["creator_id"].sample(30, random_state=1)
    poisoned = poison_at(world_tables, pd.concat([pd.Series([target["creator_id"]]), others]), t)
    ids = s.loc[s["ended_at"] <= t, "session_id"]
    after = session_features(poisoned, session_ids=ids).frame.set_index("session_id")
    before = features.frame.set_index("session_id").loc[after.index]
    assert target["session_id"] in after.index
    pd.testing.assert_frame_equal(after, before, check_exact=True)


def test_subset_and_row_order_invariance(world_tables, features):
    rng = np.random.default_rng(0)
    shuffled = Tables(
        **{
            name: frame.iloc[rng.permutation(len(frame))][list(rng.permutation(frame.columns))]
            for name, frame in world_tables.items()
        }
    )
    ids = world_tables.sessions["session_id"].sample(200, random_state=1)
    sub = session_features(shuffled, session_ids=ids).frame.set_index("session_id")
    full = features.frame.set_index("session_id").loc[sub.index]
    pd.testing.assert_frame_equal(sub, full, check_exact=True)


def test_brute_force_history_features(world_tables, features):
    s = world_tables.sessions
    reviews = world_tables.reviews.merge(s[["session_id", "creator_id"]], on="session_id")
    v = world_tables.violations
    sample = features.frame.sample(25, random_state=3)
    for _, row in sample.iterrows():
        t, c = row["ended_at"], row["creator_id"]
        prev = s[(s["creator_id"] == c) & (s["ended_at"] < t)]
        in30 = prev[prev["ended_at"] >= t - pd.Timedelta(days=30)]
        assert row["prev_count_30d"] == len(in30)
        rr = (in30["viewer_reports"] / in30["viewers"].where(in30["viewers"] > 0) * 1000).mean()
        assert row["prev_report_rate_mean_30d"] == pytest.approx(rr, nan_ok=True, rel=1e-9)
        rv = reviews[
            (reviews["creator_id"] == c)
            & (reviews["reviewed_at"] < t)
            & (reviews["reviewed_at"] >= t - pd.Timedelta(days=90))
        ]
        assert row["rev_is_low_quality_sum_90d"] == rv["is_low_quality"].sum()
        cv = v[(v["creator_id"] == c) & (v["detected_at"] < t)]
        expires = cv["detected_at"] + pd.Timedelta(days=90)
        gone = (expires < t) | ((cv["status"] == "overturned") & (cv["resolved_at"] < t))
        assert row["points_active"] == cv.loc[~gone, "health_points"].sum()
        tenure = t - world_tables.creators.set_index("creator_id").loc[c, "onboarded_at"]
        assert row["tenure_days"] == pytest.approx(tenure.total_seconds() / 86400)


def test_market_relative_z_score(world_tables, features):
    m = govml.features.session_metrics(world_tables.sessions, world_tables.creators)
    row = features.frame.iloc[len(features.frame) // 2]
    t = row["ended_at"]
    same = m[
        (m["market"] == row["market"])
        & (m["ended_at"] < t)
        & (m["ended_at"] >= t - pd.Timedelta(days=7))
    ]
    z = (row["report_rate"] - same["report_rate"].mean()) / same["report_rate"].std()
    assert row["mkt_z_report_rate"] == pytest.approx(z, rel=1e-9, nan_ok=True)


def test_inputs_are_not_mutated(world_tables):
    before = {name: frame.copy() for name, frame in world_tables.items()}
    session_features(world_tables, session_ids=world_tables.sessions["session_id"][:50])
    for name, frame in world_tables.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_unknown_session_ids(world_tables):
    with pytest.raises(
        FeatureError, match=r"1 of the requested session_ids are not in the sessions"
    ):
        session_features(world_tables, session_ids=["nope"])
