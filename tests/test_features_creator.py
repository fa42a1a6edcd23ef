"""Creator snapshot features: catalogue coverage, point-in-time truth, two-level scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import known_before, poison_at

import govml
from govml import FeatureError
from govml.features import ExtraEvents, catalogue, creator_features, creator_snapshots
from govml.schema import Tables


@pytest.fixture(scope="module")
def world_tables() -> Tables:
    return govml.validate_tables(govml.simulate(n_creators=150, n_days=60, seed=12).tables)


@pytest.fixture(scope="module")
def snapshots(world_tables):
    start = world_tables.sessions["ended_at"].min().normalize()
    return creator_snapshots(
        world_tables,
        start=start + pd.Timedelta(days=14),
        end=start + pd.Timedelta(days=60),
        freq="7D",
    )


@pytest.fixture(scope="module")
def features(world_tables, snapshots):
    return creator_features(world_tables, snapshots)


def test_features_match_the_catalogue(features, snapshots):
    cat = catalogue("adversarial")
    assert list(features.features) == cat["name"].tolist()
    assert features.categorical == ("market", "category")
    assert len(features) == len(snapshots)
    assert features.frame["creator_id"].tolist() == snapshots["creator_id"].tolist()


def test_no_feature_uses_facts_known_at_or_after_the_snapshot(world_tables, snapshots, features):
    for t in sorted(snapshots["snapshot_at"].unique())[1:3]:
        past = known_before(world_tables, t)
        snaps_t = snapshots[snapshots["snapshot_at"] == t]
        truncated = creator_features(past, snaps_t).frame.reset_index(drop=True)
        full = features.frame[features.frame["snapshot_at"] == t].reset_index(drop=True)
        pd.testing.assert_frame_equal(truncated, full, check_exact=True)


def test_future_poisoning_exactly_at_snapshot_time(world_tables, snapshots, features):
    """Extreme rows of every table known exactly at a snapshot time change no feature of
    any snapshot at or before it."""
    for t in sorted(snapshots["snapshot_at"].unique())[1::3]:
        at_t = snapshots[snapshots["snapshot_at"] == t]
        poisoned = poison_at(world_tables, at_t["creator_id"], t)
        keep = snapshots["snapshot_at"] <= t
        after = creator_features(poisoned, snapshots[keep]).frame
        before = features.frame[keep.to_numpy()].reset_index(drop=True)
        pd.testing.assert_frame_equal(after, before, check_exact=True)


def test_brute_force_outcome_and_sales_features(world_tables, features):
    s = world_tables.sessions
    o = world_tables.outcomes.merge(s[["session_id", "creator_id"]], on="session_id")
    for _, row in features.frame.sample(20, random_state=4).iterrows():
        t, c = row["snapshot_at"], row["creator_id"]
        prev = s[(s["creator_id"] == c) & (s["ended_at"] < t)]
        in30 = prev[prev["ended_at"] >= t - pd.Timedelta(days=30)]
        assert row["sess_count_30d"] == len(in30)
        assert row["sess_gmv_sum_30d"] == pytest.approx(in30["gmv"].sum(), rel=1e-9)
        refunds = o[
            (o["creator_id"] == c)
            & (o["kind"] == "refund")
            & (o["occurred_at"] < t)
            & (o["occurred_at"] >= t - pd.Timedelta(days=30))
        ]
        orders = in30["orders"].sum()
        expected = len(refunds) / orders if orders > 0 else np.nan
        assert row["refund_per_order_30d"] == pytest.approx(expected, nan_ok=True)


def test_extra_events_feed_two_level_scoring_without_leaks(world_tables, snapshots):
    scores = world_tables.sessions[["creator_id", "ended_at"]].assign(
        lq_score=np.linspace(0, 1, len(world_tables.sessions))
    )
    extra = ExtraEvents(
        scores, name="lq", time="ended_at", values={"lq_score": "content-model score"}
    )
    fs = creator_features(world_tables, snapshots, extra_events=[extra])
    assert "lq_lq_score_mean_7d" in fs.features
    assert set(catalogue("adversarial", extra=extra.specs())["name"]) == set(fs.features)
    # a score known exactly at the snapshot time does not count
    snap = snapshots.iloc[[0]].reset_index(drop=True)
    late = pd.DataFrame(
        {"creator_id": snap["creator_id"], "ended_at": snap["snapshot_at"], "lq_score": [1e9]}
    )
    poisoned = ExtraEvents(
        pd.concat([scores, late], ignore_index=True),
        name="lq",
        time="ended_at",
        values={"lq_score": "content-model score"},
    )
    a = creator_features(world_tables, snap, extra_events=[extra]).frame
    b = creator_features(world_tables, snap, extra_events=[poisoned]).frame
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_inputs_are_not_mutated(world_tables, snapshots):
    before = {name: frame.copy() for name, frame in world_tables.items()}
    snaps = snapshots.copy()
    creator_features(world_tables, snapshots.head(30))
    for name, frame in world_tables.items():
        pd.testing.assert_frame_equal(frame, before[name])
    pd.testing.assert_frame_equal(snapshots, snaps)


def test_errors(world_tables, snapshots):
    with pytest.raises(FeatureError, match=r"snapshots is missing column\(s\) \['snapshot_at'\]"):
        creator_features(world_tables, snapshots[["creator_id"]])
    bad = pd.DataFrame({"creator_id": ["ghost"], "snapshot_at": snapshots["snapshot_at"][:1]})
    with pytest.raises(FeatureError, match=r"1 snapshot row\(s\) name creators absent"):
        creator_features(world_tables, bad)
    frame = pd.DataFrame({"creator_id": ["c"], "t": snapshots["snapshot_at"][:1], "x": [1.0]})
    e = ExtraEvents(frame, name="x", time="t", values={"x": "x"})
    with pytest.raises(FeatureError, match="two ExtraEvents share the name 'x'"):
        creator_features(world_tables, snapshots.head(2), extra_events=[e, e])
    with pytest.raises(FeatureError, match="must be a short identifier"):
        ExtraEvents(frame, name="bad name", time="t", values={"x": "x"})
    with pytest.raises(FeatureError, match="unknown reason_group 'ZZ'"):
        ExtraEvents(frame, name="x", time="t", values={"x": "x"}, reason_group="ZZ")
    with pytest.raises(FeatureError, match=r"missing column\(s\) \['y'\]"):
        ExtraEvents(frame, name="x", time="t", values={"y": "y"})


def test_catalogue_rejects_unknown_task():
    with pytest.raises(FeatureError, match="unknown task 'fraud'"):
        catalogue("fraud")
