"""Governance policy: loading and validation, health points, tiers, queue and backtest."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import make_tiny_tables, poison_at

import govml
from govml._exceptions import ConfigError, PolicyError, TrackingError
from govml.cli import main
from govml.policy import (
    WEEKLY_COLUMNS,
    BacktestResult,
    Policy,
    assign_tiers,
    backtest,
    health_points,
    load_policy,
    review_queue,
)

BASELINE = "experiments/policy_baseline.yaml"
STRICT = "experiments/policy_strict.yaml"
UTC = "datetime64[us, UTC]"


def ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def minimal(**changes) -> dict:
    data = {
        "name": "p",
        "version": 1,
        "tiers": [
            {"name": "restrict", "when": [{"min_points": 12}], "action": "live_restriction"},
            {"name": "ok"},
        ],
    }
    data.update(changes)
    return data


# --------------------------------------------------------------------------- loading


def test_example_policies_load_and_differ():
    base, strict = load_policy(BASELINE), load_policy(STRICT)
    assert (base.label, strict.label) == ("baseline@1", "strict@1")
    assert base.default_tier == strict.default_tier == "healthy"
    assert base.penalty_tiers == ("suspend", "restrict", "warn")
    # strict penalises on model risk alone; baseline's penalties need points
    hold = next(t for t in strict.tiers if t.name == "hold")
    assert hold.action.kind == "commission_hold"
    assert any(r.min_points is None and r.min_risk == "review" for r in hold.rules)
    for tier in base.tiers:
        if tier.is_penalty:
            assert all(r.min_points is not None for r in tier.rules)
    assert base.health.expiry == pd.Timedelta("90D") < strict.health.expiry
    assert strict.points_for("counterfeit", "major") == 6.0
    assert base.points_for("counterfeit", "major") == 4.0
    assert strict.hysteresis.cooldown_days > base.hysteresis.cooldown_days
    assert base.review_queue.capacity_of("ID") == 6 and base.review_queue.capacity_of("SG") == 1


def test_round_trip_through_to_dict():
    for path in (BASELINE, STRICT):
        policy = load_policy(path)
        again = Policy.from_dict(policy.to_dict(), source=path)
        assert again == policy


def test_defaults_of_a_minimal_policy():
    p = Policy.from_dict(minimal())
    assert p.health.expiry == pd.Timedelta("90D") and p.health.count_pending
    assert p.points_for("fake_engagement", "minor") == 1.0
    assert p.hysteresis.cooldown_days == 0 and p.hysteresis.confirm_days == 1
    assert p.review_queue.capacity_of("ID") == 0
    assert p.review_queue.exposure == "sess_gmv_sum_30d"
    assert p.tiers[0].rules[0].name == "restrict.1"
    assert p.tiers[0].rules[0].describe() == "points >= 12"
    assert p.penalty_tiers == ("restrict",)


def _tier(**rule):
    return {"tiers": [{"name": "a", "when": [rule]}, {"name": "b"}]}


BAD_POLICIES = [
    ({"version": 1, "tiers": []}, r"'name' is required"),
    (minimal(nme="x"), r"unknown field\(s\) \['nme'\]"),
    (minimal(name=""), r"name='' must be a non-empty text"),
    (minimal(name="a@b"), r"without '@'"),
    (minimal(version=True), r"version=True must be a text or number"),
    (minimal(version=[1]), r"version=\[1\]"),
    (minimal(description=3), r"description must be text"),
    (minimal(health={"expirey": "9D"}), r"health\.expirey"),
    (minimal(health={"expiry": "soon"}), r"health.expiry='soon' is not a duration"),
    (minimal(health={"expiry": "-3D"}), r"health.expiry='-3D' must be a positive duration"),
    (minimal(health={"count_pending": "yes"}), r"health.count_pending='yes' must be true or"),
    (minimal(health={"points": {"minor": -1}}), r"health.points.minor=-1 must be a number >= 0"),
    (minimal(health={"points": {"tiny": 1}}), r"health.points.tiny"),
    (minimal(health={"points": [1, 4]}), r"health.points must be a mapping"),
    (minimal(health={"by_kind": {"fraud": {}}}), r"health.by_kind.fraud"),
    (
        minimal(health={"by_kind": {"counterfeit": {"major": "x"}}}),
        r"health.by_kind.counterfeit.major='x' must be a number",
    ),
    (minimal(tiers="a"), r"tiers must be a list of at least two tiers"),
    (minimal(tiers=[{"name": "a"}]), r"tiers must be a list of at least two tiers"),
    (minimal(tiers=["a", "b"]), r"tiers\[0\] must be a mapping"),
    (minimal(tiers=[{"when": [{"min_risk": 0.1}]}, {"name": "b"}]), r"tiers\[0\].name=None"),
    (minimal(tiers=[{"name": "a"}, {"name": "a"}]), r"tiers\[1\].name='a' is used by two"),
    (minimal(tiers=[{"name": "a", "when": []}, {"name": "b"}]), r"tiers\[0\].when must be a"),
    (minimal(tiers=[{"name": "a", "if": []}, {"name": "b"}]), r"tiers\[0\].if"),
    (minimal(**_tier()), r"tiers\[0\].when\[0\] has no condition"),
    (minimal(**_tier(min_riks=0.1)), r"tiers\[0\].when\[0\].min_riks"),
    (minimal(**_tier(min_risk=2)), r"tiers\[0\].when\[0\].min_risk=2 must be a probability"),
    (minimal(**_tier(min_risk=" ")), r"min_risk must be a probability or a model tier name"),
    (minimal(**_tier(min_points=-1)), r"min_points=-1 must be a number >= 0"),
    (minimal(**_tier(min_exposure=float("nan"))), r"min_exposure=nan must be a number"),
    (minimal(**_tier(min_points=5, max_points=2)), r"min_points=5 is above max_points=2"),
    (minimal(**_tier(name="", min_points=1)), r"when\[0\].name='' must be a non-empty text"),
    (
        minimal(
            tiers=[
                {"name": "a", "when": [{"min_points": 1}]},
                {"name": "b", "when": [{"min_points": 2}]},
            ]
        ),
        r"exactly one tier must have no 'when' rules .* found 0",
    ),
    (minimal(tiers=[{"name": "a"}, {"name": "b"}]), r"found 2: \['a', 'b'\]"),
    (
        minimal(
            tiers=[{"name": "a", "when": [{"min_points": 1}], "action": "fine"}, {"name": "b"}]
        ),
        r"tiers\[0\].action.kind='fine' is not an action kind",
    ),
    (
        minimal(
            tiers=[
                {
                    "name": "a",
                    "when": [{"min_points": 1}],
                    "action": {"kind": "warning", "duration": "x"},
                },
                {"name": "b"},
            ]
        ),
        r"tiers\[0\].action.duration='x' is not a duration",
    ),
    (
        minimal(
            tiers=[
                {
                    "name": "a",
                    "when": [{"min_points": 1}],
                    "action": {"kind": "warning", "every": "0D"},
                },
                {"name": "b"},
            ]
        ),
        r"tiers\[0\].action.every='0D' must be a positive duration",
    ),
    (
        minimal(
            tiers=[
                {
                    "name": "a",
                    "when": [{"min_points": 1}],
                    "action": {"kind": "incentive_reward", "value_share": -0.1},
                },
                {"name": "b"},
            ]
        ),
        r"action.value_share=-0.1 must be a number >= 0",
    ),
    (
        minimal(
            tiers=[
                {"name": "a", "when": [{"min_points": 1}], "action": {"kind": "warning", "why": 1}},
                {"name": "b"},
            ]
        ),
        r"tiers\[0\].action.why",
    ),
    (
        minimal(hysteresis={"confirm_days": 0}),
        r"hysteresis.confirm_days=0 must be a whole number >= 1",
    ),
    (minimal(hysteresis={"cooldown_days": 1.5}), r"hysteresis.cooldown_days=1.5 must be a whole"),
    (minimal(hysteresis={"cool_days": 1}), r"hysteresis.cool_days"),
    (minimal(review_queue={"capacity": -1}), r"review_queue.capacity=-1 must be a whole number"),
    (minimal(review_queue={"capacity": {"XX": 3}}), r"review_queue.capacity names \['XX'\]"),
    (minimal(review_queue={"capacity": {"ID": -2}}), r"review_queue.capacity.ID=-2"),
    (minimal(review_queue={"exposure": 3}), r"review_queue.exposure=3 must be a column name"),
    (minimal(review_queue={"tiers": ["nope"]}), r"review_queue.tiers names \['nope'\]"),
    (minimal(review_queue={"recheck_days": -1}), r"review_queue.recheck_days=-1"),
    (minimal(review_queue={"min_risk": 1.5}), r"review_queue.min_risk=1.5 must be a probability"),
    (minimal(review_queue={"size": 1}), r"review_queue.size"),
    ([1, 2], r"must be a mapping of fields"),
]


@pytest.mark.parametrize(("data", "match"), BAD_POLICIES)
def test_invalid_policies_name_the_field(data, match):
    with pytest.raises(PolicyError, match=match):
        Policy.from_dict(data)


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nversion: 1\ntiers: [{name: a}]\n")
    with pytest.raises(PolicyError, match=rf"policy {path}: tiers must be a list"):
        load_policy(path)
    path.write_text("name: p\n  version: [1\n")
    with pytest.raises(PolicyError, match=r"is not valid YAML"):
        load_policy(path)
    path.write_text("")
    with pytest.raises(PolicyError, match=r"'name' is required"):
        load_policy(path)
    with pytest.raises(PolicyError, match=r"does not exist"):
        load_policy(tmp_path / "missing.yaml")


def test_a_single_string_review_tier_is_accepted():
    p = Policy.from_dict(minimal(review_queue={"tiers": "restrict", "capacity": {"ID": 2}}))
    assert p.review_queue.tiers == ("restrict",)
    assert p.review_queue.capacity_of("TH") == 0


# --------------------------------------------------------------------------- health points


@pytest.fixture
def tiny():
    return govml.validate_tables(dict(make_tiny_tables().items()))


def _q(creator: str, *times: str) -> pd.DataFrame:
    return pd.DataFrame({"creator_id": creator, "snapshot_at": [ts(t) for t in times]})


def test_health_points_exact_values(tiny):
    # c3: v1 minor (1) detected 02-03 09:00, v2 counterfeit critical (12) detected 02-08;
    # c2: v3 misleading major (4) detected 02-06, overturned at 02-16
    p = Policy.from_dict(minimal())
    got = health_points(
        tiny,
        p,
        _q(
            "c3",
            "2024-02-03T09:00",  # detection not known strictly before: 0
            "2024-02-04",
            "2024-02-09",
            "2024-05-03T09:00",  # v1 expires at detected + 90D, still active at that instant
            "2024-05-03T10:00",
            "2024-05-08T00:00",
            "2024-05-08T01:00",
        ),
    )
    assert got.tolist() == [0.0, 1.0, 13.0, 13.0, 12.0, 12.0, 0.0]
    got = health_points(tiny, p, _q("c2", "2024-02-07", "2024-02-16T00:00", "2024-02-16T01:00"))
    assert got.tolist() == [4.0, 4.0, 0.0]  # counts while under appeal, not after the overturn
    assert health_points(tiny, p, _q("c1", "2024-03-01")).tolist() == [0.0]


def test_health_points_confirmed_only_and_by_kind(tiny):
    p = Policy.from_dict(
        minimal(
            health={
                "count_pending": False,
                "expiry": "30D",
                "by_kind": {"counterfeit": {"critical": 20}},
            }
        )
    )
    # v1 counts from its resolution 02-10 09:00, v2 from 02-20; the overturned v3 never
    got = health_points(tiny, p, _q("c3", "2024-02-09", "2024-02-11", "2024-02-21", "2024-03-05"))
    assert got.tolist() == [0.0, 1.0, 21.0, 20.0]  # v1 expired 03-04 09:00
    assert health_points(tiny, p, _q("c2", "2024-02-07", "2024-02-20")).tolist() == [0.0, 0.0]


def test_health_points_are_point_in_time(small_world):
    tables = small_world.tables
    policy = load_policy(STRICT)
    v = tables.violations
    rng = np.random.default_rng(0)
    rows = rng.choice(len(v), 150)
    # query around real detections and resolutions, where off-by-one errors live
    times = np.where(
        rng.random(150) < 0.5, v["detected_at"].to_numpy()[rows], v["resolved_at"].to_numpy()[rows]
    )
    queries = pd.DataFrame(
        {
            "creator_id": v["creator_id"].to_numpy()[rows],
            "snapshot_at": pd.to_datetime(times, utc=True)
            + pd.to_timedelta(rng.integers(-1, 2, 150), unit="us"),
        }
    )
    got = health_points(tables, policy, queries).to_numpy()
    # brute force: every violation known strictly before t and not yet stopped
    expected = np.zeros(len(queries))
    expiry = policy.health.expiry
    for i, (c, t) in enumerate(zip(queries["creator_id"], queries["snapshot_at"], strict=True)):
        mine = v[v["creator_id"] == c]
        for _, row in mine.iterrows():
            stop = row["detected_at"] + expiry
            if row["status"] == "overturned":
                stop = min(stop, row["resolved_at"])
            if row["detected_at"] < t <= stop:
                expected[i] += policy.points_for(row["kind"], row["severity"])
    np.testing.assert_allclose(got, expected)
    # future poisoning: violations detected at or after each t change nothing
    t0 = queries["snapshot_at"].min()
    poisoned = poison_at(tables, queries["creator_id"].drop_duplicates(), t0)
    early = queries[queries["snapshot_at"] <= t0]
    assert len(early)
    np.testing.assert_array_equal(
        health_points(poisoned, policy, early).to_numpy(), got[early.index]
    )


def test_health_points_needs_the_query_columns(tiny):
    with pytest.raises(ConfigError, match=r"queries lacks column\(s\) \['snapshot_at'\]"):
        health_points(tiny, load_policy(BASELINE), pd.DataFrame({"creator_id": ["c1"]}))
    with pytest.raises(ConfigError, match=r"queries must be a pandas DataFrame"):
        health_points(tiny, load_policy(BASELINE), [("c1", ts("2024-01-01"))])


# --------------------------------------------------------------------------- tiers


def _days(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2026-01-01", periods=n, freq="D", tz="UTC")


HYSTERESIS = {
    "name": "h",
    "version": 1,
    "tiers": [
        {
            "name": "restrict",
            "when": [{"name": "points", "min_points": 12}],
            "action": {"kind": "live_restriction", "duration": "7D"},
        },
        {"name": "watch", "when": [{"name": "risky", "min_risk": "watch"}]},
        {"name": "ok"},
        {
            "name": "reward",
            "when": [{"name": "clean", "max_points": 0, "max_risk": 0.05, "min_exposure": 100}],
            "action": {"kind": "incentive_reward", "every": "3D", "value_share": 0.1},
        },
    ],
    "hysteresis": {"cooldown_days": 3, "confirm_days": 2},
}


def test_tiers_with_cooldown_confirmation_and_actions():
    policy = Policy.from_dict(HYSTERESIS)
    frame = pd.DataFrame(
        {
            "creator_id": "a",
            "snapshot_at": _days(10),
            "probability": [0.01, 0.01, 0.5, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
            "points": [0.0, 12.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "sess_gmv_sum_30d": 200.0,
        }
    )
    out = assign_tiers(frame, policy, thresholds={"watch": 0.3})
    assert out["raw_tier"].tolist() == ["reward", "restrict", "watch"] + ["reward"] * 7
    # day 1 restrict; cooldown holds it to day 4 (3 days), confirmation needs 2 lighter
    # evaluations in a row: days 2 and 3 qualify, day 4 ends the cooldown -> the most severe
    # of the last two (watch on day 2? no: days 3, 4 are reward, reward) -> reward
    assert out["tier"].tolist() == [
        "reward",
        "restrict",
        "restrict",
        "restrict",
        "reward",
        "reward",
        "reward",
        "reward",
        "reward",
        "reward",
    ]
    assert out["rule"].tolist()[:5] == [
        "clean",
        "points",
        "hysteresis:cooldown",
        "hysteresis:cooldown",
        "clean",
    ]
    assert out["changed"].tolist() == [True, True, False, False, True] + [False] * 5
    assert out["previous_tier"].isna().tolist() == [True] + [False] * 9
    # reward on entering (day 0, day 4) and every 3 days while staying (day 7)
    assert out["action"].fillna("-").tolist() == [
        "incentive_reward",
        "live_restriction",
        "-",
        "-",
        "incentive_reward",
        "-",
        "-",
        "incentive_reward",
        "-",
        "-",
    ]
    assert out.loc[0, "action_value"] == pytest.approx(20.0)
    assert np.isnan(out.loc[1, "action_value"])
    assert out.loc[1, "action_ends_at"] == ts("2026-01-09")
    assert out["action_ends_at"].isna().sum() == 9
    assert str(out["action_ends_at"].dtype) == UTC


def test_confirmation_steps_down_to_the_most_severe_recent_tier():
    policy = Policy.from_dict({**HYSTERESIS, "hysteresis": {"confirm_days": 2}})
    frame = pd.DataFrame(
        {
            "creator_id": "a",
            "snapshot_at": _days(6),
            "probability": [0.01, 0.5, 0.5, 0.01, 0.01, 0.01],
            "points": [12.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "sess_gmv_sum_30d": 200.0,
        }
    )
    out = assign_tiers(frame, policy, thresholds={"watch": 0.3})
    assert out["raw_tier"].tolist() == ["restrict", "watch", "watch", "reward", "reward", "reward"]
    assert out["tier"].tolist() == ["restrict", "restrict", "watch", "watch", "reward", "reward"]
    assert out["rule"].tolist()[:3] == ["points", "hysteresis:confirm", "risky"]


def test_tiers_are_per_creator_and_keep_the_input_order():
    policy = Policy.from_dict({**HYSTERESIS, "hysteresis": {"cooldown_days": 5}})
    frame = pd.DataFrame(
        {
            "creator_id": ["b", "a", "b", "a"],
            "snapshot_at": [_days(2)[1], _days(2)[1], _days(2)[0], _days(2)[0]],
            "probability": 0.01,
            "points": [0.0, 0.0, 12.0, 0.0],
        },
        index=[10, 11, 12, 13],
    )
    out = assign_tiers(frame, policy, thresholds={"watch": 0.3})
    assert out.index.tolist() == [10, 11, 12, 13]
    # no exposure column: the reward rule (min_exposure) never matches
    assert out["tier"].tolist() == ["restrict", "ok", "restrict", "ok"]
    assert out["rule"].tolist() == ["hysteresis:cooldown", "ok.default", "points", "ok.default"]


def test_tier_errors():
    policy = Policy.from_dict(HYSTERESIS)
    frame = pd.DataFrame(
        {"creator_id": ["a"], "snapshot_at": _days(1), "probability": [0.1], "points": [0.0]}
    )
    with pytest.raises(PolicyError, match=r"rule 'risky' bounds the risk by the model threshold"):
        assign_tiers(frame, policy, thresholds={"review": 0.5})
    with pytest.raises(ConfigError, match=r"lacks column\(s\) \['points'\]"):
        assign_tiers(frame.drop(columns="points"), policy, thresholds={"watch": 0.3})


# --------------------------------------------------------------------------- review queue


def _scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "creator_id": ["a", "b", "c", "d", "e", "f"],
            "market": ["ID", "ID", "ID", "TH", "TH", "VN"],
            "probability": [0.9, 0.2, 0.5, 0.3, 0.3, 0.8],
            "sess_gmv_sum_30d": [100.0, 1000.0, 100.0, 10.0, 10.0, np.nan],
            "tier": ["r", "r", "w", "r", "r", "r"],
            "snapshot_at": [ts("2026-01-02")] * 5 + [ts("2026-01-03")],
        },
        index=[5, 4, 3, 2, 1, 0],
    )


QUEUE = {
    "name": "q",
    "version": 1,
    "tiers": [{"name": "r", "when": [{"min_risk": 0.2}]}, {"name": "w"}],
    "review_queue": {"capacity": {"ID": 2, "default": 1}},
}


def test_review_queue_takes_top_k_by_expected_harm_per_market():
    out = review_queue(_scores(), Policy.from_dict(QUEUE))
    assert out["creator_id"].tolist() == ["b", "a", "d", "f"]
    assert out["rank"].tolist() == [1, 2, 1, 1]
    assert out.index.tolist() == [4, 5, 2, 0]
    assert out["expected_harm"].tolist() == [200.0, 90.0, 3.0, 0.0]  # missing exposure -> 0
    assert out.columns.tolist() == [
        "market",
        "rank",
        "creator_id",
        "probability",
        "exposure",
        "expected_harm",
        "tier",
    ]


def test_review_queue_filters_tiers_risk_day_and_exclusions():
    policy = Policy.from_dict(
        {**QUEUE, "review_queue": {"capacity": 5, "tiers": ["r"], "min_risk": 0.25}}
    )
    out = review_queue(_scores(), policy, day="2026-01-02", exclude=["d"])
    assert out["creator_id"].tolist() == ["a", "e"]  # c: tier w, b: risk 0.2, f: other day
    assert (out["day"] == ts("2026-01-02")).all()
    empty = review_queue(_scores(), policy, day="2026-02-01")
    assert len(empty) == 0 and "expected_harm" in empty.columns


def test_review_queue_sessions_by_viewers():
    policy = Policy.from_dict({**QUEUE, "review_queue": {"capacity": 1, "exposure": "viewers"}})
    sessions = pd.DataFrame(
        {
            "session_id": ["s1", "s2"],
            "market": ["ID", "ID"],
            "probability": [0.6, 0.3],
            "viewers": [10, 100],
        }
    )
    out = review_queue(sessions, policy, key="session_id")
    assert out["session_id"].tolist() == ["s2"]


def test_review_queue_errors():
    policy = Policy.from_dict({**QUEUE, "review_queue": {"capacity": 1, "tiers": ["r"]}})
    with pytest.raises(ConfigError, match=r"lacks column\(s\) \['tier'\].*among tiers \['r'\]"):
        review_queue(_scores().drop(columns="tier"), policy)
    with pytest.raises(ConfigError, match=r"lacks column\(s\) \['snapshot_at'\]"):
        review_queue(_scores().drop(columns="snapshot_at"), policy, day="2026-01-02")
    with pytest.raises(ConfigError, match=r"day='someday' is not a timestamp"):
        review_queue(_scores(), policy, day="someday")


# --------------------------------------------------------------------------- backtest


def _window(world, first_day=90, days=14):
    first = world.tables.sessions["ended_at"].min().normalize()
    return first + pd.Timedelta(days=first_day), first + pd.Timedelta(days=first_day + days - 1)


@pytest.fixture(scope="module")
def result(small_world, small_models):
    start, end = _window(small_world)
    model = small_models["adversarial"][0]
    return backtest(
        small_world.tables,
        model,
        [BASELINE, load_policy(STRICT)],
        start=start,
        end=end,
        truth=small_world.truth,
        horizon="7D",
        resolution_delay="7D",
        warmup="7D",
    )


def test_backtest_tables(result, small_world):
    assert isinstance(result, BacktestResult)
    assert result.policies == ("baseline@1", "strict@1")
    d = result.decisions
    assert set(d["policy"]) == {"baseline@1", "strict@1"}
    assert d["day"].min() == result.start and d["day"].max() == result.end
    assert str(d["day"].dtype) == UTC
    # one row per policy and creator-day, the same creator-days for every policy
    assert not d.duplicated(["policy", "creator_id", "day"]).any()
    per = d.groupby("policy").size()
    assert per.iloc[0] == per.iloc[1] > 1000
    assert result.weekly.columns.tolist() == list(WEEKLY_COLUMNS)
    assert (result.weekly["week"].dt.day_of_week == 0).all()
    # every count of the weekly table adds up to the decisions
    for label in result.policies:
        mine, week = d[d["policy"] == label], result.weekly[result.weekly["policy"] == label]
        assert week["creator_days"].sum() == len(mine)
        assert week["actions"].sum() == mine["action"].notna().sum()
        assert week["queued"].sum() == mine["queued"].sum()
        assert week["n_warning"].sum() == (mine["action"] == "warning").sum()
        assert week["gmv_affected"].sum() == pytest.approx(
            mine.loc[mine["penalised"], "gmv_day"].sum()
        )
        tiers = result.tiers[result.tiers["policy"] == label]
        assert tiers["creator_days"].sum() == len(mine)
        assert tiers["creators"].sum() == week["creators"].sum()
    # the creator labels are mature for this window; truth is there
    assert d["label"].notna().mean() > 0.95 and d["label"].sum() > 0
    assert d["honest"].notna().all()
    assert any("confirmed major/critical adversarial violation" in n for n in result.notes)
    w = result.weekly
    assert ((w["precision"] >= 0) & (w["precision"] <= 1) | w["precision"].isna()).all()
    assert (w["false_penalties"] <= w["false_penalty_labelled"]).all()
    assert (w["true_positives"] <= w["positives"]).all()


def test_backtest_decisions_are_explained(result):
    d = result.decisions
    acted = d["action"].notna() | d["queued"]
    assert acted.any()
    assert d.loc[acted, "reason_1_code"].notna().mean() > 0.9
    assert (
        d.loc[
            ~acted
            & ~d.set_index(["creator_id", "day"]).index.isin(
                d.loc[acted].set_index(["creator_id", "day"]).index
            ),
            "reason_1_code",
        ]
        .isna()
        .all()
    )
    assert d["rule"].notna().all() and d["tier"].notna().all()
    penalised = d[d["penalised"]]
    policies = {p.label: p for p in (load_policy(BASELINE), load_policy(STRICT))}
    assert all(
        t in policies[p].penalty_tiers
        for p, t in zip(penalised["policy"], penalised["tier"], strict=True)
    )


def test_backtest_queue_respects_capacity_and_recheck(result):
    q = result.queue
    base = load_policy(BASELINE)
    mine = q[q["policy"] == "baseline@1"]
    assert len(mine) > 0
    per_day = mine.groupby(["day", "market"]).size()
    for (_, market), n in per_day.items():
        assert n <= base.review_queue.capacity_of(market)
    assert set(mine["tier"]) <= set(base.review_queue.tiers)
    # a creator is not queued twice within recheck_days
    for _, days in mine.groupby("creator_id")["day"]:
        gaps = days.sort_values().diff().dropna()
        assert (gaps >= pd.Timedelta(days=base.review_queue.recheck_days)).all()
    assert (
        mine.groupby(["day", "market"])["rank"]
        .apply(lambda r: r.tolist() == list(range(1, len(r) + 1)))
        .all()
    )


def test_backtest_compare_side_by_side(result):
    table = result.compare()
    assert table.columns.tolist() == ["baseline@1", "strict@1"]
    w = result.weekly
    for label in result.policies:
        mine = w[w["policy"] == label]
        assert table.loc["creator_days", label] == mine["creator_days"].sum()
        assert table.loc["precision", label] == pytest.approx(
            mine["true_positives"].sum() / mine["penalised_labelled"].sum()
        )
        assert table.loc["false_penalty_rate_truth", label] == pytest.approx(
            mine["false_penalties_truth"].sum() / mine["penalised"].sum()
        )
    # strict holds commissions on model risk; baseline never does
    assert table.loc["n_commission_hold", "baseline@1"] == 0
    assert table.loc["queued", "strict@1"] > table.loc["queued", "baseline@1"]


def test_backtest_uses_only_what_was_known(small_world, small_models, result):
    start, end = _window(small_world)
    cut = start + pd.Timedelta(days=6)
    creators = result.decisions["creator_id"].drop_duplicates().iloc[:40]
    poisoned = poison_at(small_world.tables, creators, cut)
    again = backtest(
        poisoned,
        small_models["adversarial"][0],
        [BASELINE, STRICT],
        start=start,
        end=end,
        horizon="7D",
        resolution_delay="7D",
        warmup="7D",
    )
    cols = [
        "policy",
        "creator_id",
        "day",
        "probability",
        "points",
        "tier",
        "rule",
        "action",
        "queued",
        "queue_rank",
        "reason_1_code",
    ]
    before = result.decisions.loc[result.decisions["day"] <= cut, cols].reset_index(drop=True)
    after = again.decisions.loc[again.decisions["day"] <= cut, cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)
    later = again.decisions[
        (again.decisions["day"] > cut) & again.decisions["creator_id"].isin(creators)
    ]
    assert (later["points"] >= 12).all()  # the poisoned critical violation, from the next day
    assert again.weekly["false_penalties_truth"].isna().all()  # no truth given


def test_backtest_loads_the_model_from_a_folder(small_world, small_models):
    start, _ = _window(small_world)
    out = backtest(
        small_world.tables,
        small_models["adversarial"][1],
        load_policy(BASELINE),
        start=start,
        end=start,
        horizon="7D",
        resolution_delay="7D",
        warmup="0D",
        reasons=0,
    )
    assert out.policies == ("baseline@1",)
    assert out.decisions["day"].nunique() == 1
    assert "reason_1_code" not in out.decisions.columns


BAD_RUNS = [
    ({"start": "2025-12-01", "end": "2025-11-01"}, ConfigError, r"start=2025-12-01 is after end"),
    ({"start": "next tuesday"}, ConfigError, r"start='next tuesday' is not a date"),
    ({"start": "2024-01-01", "end": "2024-01-05"}, ConfigError, r"no creator was active"),
    ({"policies": []}, ConfigError, r"needs at least one policy"),
    ({"policies": [BASELINE, BASELINE]}, ConfigError, r"both labelled \['baseline@1'\]"),
    ({"model": 3}, ConfigError, r"model must be a GovmlModel, a model folder or a model URI"),
    ({"model": "missing/model"}, TrackingError, r"no model at 'missing/model'"),
    ({"horizon": "soon"}, ConfigError, r"backtest: horizon='soon' is not a duration"),
    ({"warmup": "-1D"}, ConfigError, r"backtest: warmup='-1D' must be a positive duration"),
    (
        {"policies": Policy.from_dict(_tier(min_risk="urgent") | {"name": "u", "version": 1})},
        PolicyError,
        r"rule 'a.1' bounds the risk by the model threshold 'urgent', but the model's "
        r"thresholds are \{'review'",
    ),
    (
        {"policies": Policy.from_dict(minimal(review_queue={"exposure": "gmv"}))},
        PolicyError,
        r"review_queue.exposure='gmv' is not a creator feature",
    ),
]


@pytest.mark.parametrize(("changes", "error", "match"), BAD_RUNS)
def test_backtest_errors(small_world, small_models, changes, error, match):
    start, _ = _window(small_world)
    kwargs = {
        "model": small_models["adversarial"][0],
        "policies": BASELINE,
        "start": start,
        "end": start,
    }
    kwargs.update(changes)
    model, policies = kwargs.pop("model"), kwargs.pop("policies")
    with pytest.raises(error, match=match):
        backtest(small_world.tables, model, policies, **kwargs)


def test_backtest_labels_default_to_the_models_training_config(small_world, small_models):
    """small_models' adversarial model trained on 7D labels: the backtest measures with 7D."""
    import dataclasses

    from govml.model import GovmlModel

    start, _ = _window(small_world)
    model = small_models["adversarial"][0]
    assert model.training_config().labels.horizon == "7D"
    kwargs = {"start": start, "end": start, "warmup": "0D", "reasons": 0}
    own = backtest(small_world.tables, model, BASELINE, **kwargs)
    assert "within 7D after the day" in own.notes[1]
    assert "7D resolution delay; settings not given come from the model's training" in own.notes[1]
    explicit = backtest(small_world.tables, model, BASELINE, horizon="7D", **kwargs)
    pd.testing.assert_frame_equal(own.weekly, explicit.weekly)
    # a model that records no training config (saved before govml stored it): 30D / 21D
    older = GovmlModel(model.booster, dataclasses.replace(model.metadata, training_config=None))
    legacy = backtest(small_world.tables, older, BASELINE, **kwargs)
    assert "within 30D after the day" in legacy.notes[1]
    assert (
        "30D + 21D resolution delay; settings not given come from govml's defaults"
        in (legacy.notes[1])
    )


def test_backtest_needs_the_creator_model(small_world, small_models):
    start, _ = _window(small_world)
    with pytest.raises(ConfigError, match=r"needs an adversarial-seller model.*'low_quality'"):
        backtest(
            small_world.tables, small_models["low_quality"][0], BASELINE, start=start, end=start
        )


def test_policies_do_not_mutate_inputs(small_world):
    policy = load_policy(BASELINE)
    frame = pd.DataFrame(
        {"creator_id": ["a"], "snapshot_at": _days(1), "probability": [0.5], "points": [0.0]}
    )
    kept = frame.copy()
    assign_tiers(frame, policy, thresholds={"review": 0.4, "watch": 0.1})
    pd.testing.assert_frame_equal(frame, kept)
    data = copy.deepcopy(HYSTERESIS)
    Policy.from_dict(data)
    assert data == HYSTERESIS
    assert dataclasses.is_dataclass(policy) and dataclasses.fields(policy)


# --------------------------------------------------------------------------- command line


def test_cli_backtest(small_world, small_models, tmp_path, capsys):
    tables = govml.write_world(small_world, tmp_path / "world")
    start, end = _window(small_world, days=3)
    args = [
        "backtest",
        "--tables", str(tables),
        "--model", str(small_models["adversarial"][1]),
        "--policy", BASELINE,
        "--policy", STRICT,
        "--from", f"{start:%Y-%m-%d}",
        "--to", f"{end:%Y-%m-%d}",
        "--warmup", "2D",
        "--out", str(tmp_path / "bt"),
    ]  # fmt: skip
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "baseline@1" in out and "strict@1" in out and "false_penalty_rate_truth" in out
    # no --horizon: the labels of the model's training (7D), not a 30D default
    assert "detected within 7D after the day" in out + err
    weekly = pd.read_parquet(tmp_path / "bt" / "weekly.parquet")
    assert weekly.columns.tolist() == list(WEEKLY_COLUMNS)
    assert (tmp_path / "bt" / "compare.csv").is_file()
    # the results exist: refuse to overwrite them silently
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("govml backtest: error:") and "--overwrite" in err[-1]


def test_cli_bad_policy_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nversion: 1\ntiers:\n  - {name: a, when: [{min_risk: 7}]}\n  - {name: b}\n"
    )
    code = main(
        ["backtest", "--tables", str(tmp_path), "--model", str(tmp_path), "--policy", str(bad),
         "--from", "2025-01-01", "--to", "2025-01-02"]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0] == (
        f"govml backtest: error: policy {bad}: tiers[0].when[0].min_risk=7 must be a "
        "probability in [0, 1]"
    )
