"""The simulated world: contract, determinism, magnitudes, delays, policy, truth and oracle."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from govml._exceptions import DataLoadError, SimulationError
from govml.schema import (
    ADVERSARIAL_VIOLATION_KINDS,
    CONTRACT,
    MARKETS,
    check_tables,
    load_tables,
    validate_tables,
)
from govml.simulation import (
    ADVERSARIAL_TYPES,
    HEALTH_POINTS,
    GroundTruth,
    InjectedPattern,
    SimulatedWorld,
    SimulationConfig,
    read_truth,
    simulate,
    write_world,
)

DAY = pd.Timedelta(days=1)
SEVERE = ("major", "critical")


@pytest.fixture(scope="module")
def world() -> SimulatedWorld:
    return simulate(n_creators=1500, n_days=100, seed=3)


@pytest.fixture(scope="module")
def sleepy() -> SimulatedWorld:
    """Many adversarial creators, all sleepers turning 20-40 days in."""
    return simulate(
        n_creators=800,
        n_days=120,
        seed=4,
        adversarial_share=0.3,
        sleeper_share=1.0,
        sleeper_days=(20, 40),
    )


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Two-sided AUC: how well a score separates the classes, whatever its direction."""
    a = roc_auc_score(y, score)
    return max(a, 1.0 - a)


def label_events(tables) -> pd.DataFrame:
    v = tables.violations
    keep = (
        v["kind"].isin(ADVERSARIAL_VIOLATION_KINDS)
        & v["severity"].isin(SEVERE)
        & (v["status"] == "confirmed")
    )
    return v[keep]


# ----------------------------------------------------------------------------- contract


def test_tables_follow_the_contract_exactly(world):
    assert check_tables(world.tables).ok
    normalised = validate_tables(world.tables)
    for name, frame in world.tables.items():
        assert list(frame.columns) == list(CONTRACT[name].column_names)
        pd.testing.assert_frame_equal(frame, normalised[name])  # already contract dtypes
    assert str(world.tables.sessions["started_at"].dtype) == "datetime64[us, UTC]"
    assert world.tables.sessions["session_id"].is_unique


def test_truth_is_aligned_with_the_tables(world):
    t = world.truth
    assert t.sessions["session_id"].equals(world.tables.sessions["session_id"])
    assert t.creators["creator_id"].equals(world.tables.creators["creator_id"])
    assert t.sessions["p_low_quality"].between(0, 1).all()
    assert set(t.creators["adversarial_type"].astype(str)) <= set(ADVERSARIAL_TYPES)
    honest = t.creators["adversarial_type"] == "none"
    assert t.creators.loc[honest, "adversarial_from"].isna().all()
    assert t.creators.loc[~honest, "adversarial_from"].notna().all()
    assert (t.creators.loc[honest, "daily_hazard"] == 0).all()
    assert (t.creators.loc[~honest, "daily_hazard"] > 0).all()
    assert "SimulatedWorld(1,500 creators x 100 days" in repr(world)
    assert repr(t).startswith("GroundTruth(sessions=")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_creators=st.integers(20, 120),
    n_days=st.integers(3, 40),
    seed=st.integers(0, 2**32),
    start=st.dates(dt.date(2023, 1, 1), dt.date(2027, 12, 31)),
)
def test_any_small_world_passes_the_contract(n_creators, n_days, seed, start):
    try:
        world = simulate(n_creators=n_creators, n_days=n_days, seed=seed, start=start)
    except SimulationError as error:  # a world too small to hold a stream
        assert "holds no session" in str(error)
        return
    report = check_tables(world.tables)
    assert report.ok, str(report)
    end = pd.Timestamp(start, tz="UTC") + n_days * DAY
    for name, frame in world.tables.items():
        known_at = CONTRACT[name].known_at
        assert (frame[known_at] < end).all(), name  # an export taken at the end


def test_world_without_sessions_is_refused():
    with pytest.raises(SimulationError, match="holds no session.*more creators or days"):
        simulate(n_creators=1, n_days=1, seed=0)


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_world_bit_for_bit():
    a = simulate(n_creators=200, n_days=30, seed=11)
    b = simulate(n_creators=200, n_days=30, seed=11)
    for name, frame in a.tables.items():
        pd.testing.assert_frame_equal(frame, b.tables[name], check_exact=True)
    for name in ("sessions", "creators", "penalties"):
        pd.testing.assert_frame_equal(
            getattr(a.truth, name), getattr(b.truth, name), check_exact=True
        )
    assert a.truth.pattern == b.truth.pattern


def test_different_seeds_differ():
    a = simulate(n_creators=200, n_days=30, seed=11)
    b = simulate(n_creators=200, n_days=30, seed=12)
    assert not a.tables.sessions["viewers"].equals(b.tables.sessions["viewers"])
    assert not a.tables.creators["market"].equals(b.tables.creators["market"])


def test_config_object_and_overrides_agree():
    cfg = SimulationConfig(n_creators=100, n_days=10, seed=5)
    a = simulate(cfg)
    b = simulate(n_creators=100, n_days=10, seed=5)
    c = simulate(cfg, seed=6)
    pd.testing.assert_frame_equal(a.tables.sessions, b.tables.sessions)
    assert c.config.seed == 6 and c.config.n_creators == 100


def test_simulate_function_is_not_shadowed_by_its_module():
    import govml.simulation

    assert isinstance(govml.simulate(n_creators=40, n_days=7, seed=0), SimulatedWorld)


# ----------------------------------------------------------------------------- magnitudes


def test_market_and_category_shares():
    w = simulate(n_creators=8000, n_days=2, seed=1)
    shares = w.tables.creators["market"].value_counts(normalize=True)
    for market, share in w.config.market_shares:
        assert shares[market] == pytest.approx(share, abs=0.025)
    cats = w.tables.creators["category"].value_counts(normalize=True)
    for cat, share in w.config.category_shares:
        assert cats[cat] == pytest.approx(share, abs=0.025)
    only = simulate(n_creators=50, n_days=5, seed=1, market_shares={"SG": 1.0})
    assert set(only.tables.creators["market"]) == {"SG"}
    assert dict(only.config.market_shares)["ID"] == 0.0


def test_low_quality_rate_follows_the_parameter(world):
    truth = world.truth.sessions
    assert truth["p_low_quality"].mean() == pytest.approx(0.10, abs=0.005)
    assert truth["is_low_quality"].mean() == pytest.approx(0.10, abs=0.01)
    high = simulate(n_creators=300, n_days=30, seed=2, low_quality_rate=0.3).truth.sessions
    assert high["is_low_quality"].mean() == pytest.approx(0.3, abs=0.02)


def test_low_quality_concentrates_in_low_quality_creators(world):
    s = world.truth.sessions.merge(world.truth.creators, on="creator_id")
    bottom = s["latent_quality"] <= s["latent_quality"].quantile(0.2)
    assert s.loc[bottom, "is_low_quality"].sum() > 0.35 * s["is_low_quality"].sum()


def test_sessions_magnitudes(world):
    s = world.tables.sessions
    minutes = (s["ended_at"] - s["started_at"]).dt.total_seconds() / 60
    assert minutes.between(30, 240).all()
    assert 100 <= s["viewers"].median() <= 1000
    assert 5_000 <= s["viewers"].quantile(0.99) <= 100_000
    per_week = len(s) / (world.config.n_creators * world.config.n_days / 7)
    assert 1.0 <= per_week <= 4.0
    onboarded = s["creator_id"].map(world.tables.creators.set_index("creator_id")["onboarded_at"])
    assert (s["started_at"] >= onboarded).all()
    # a creator never runs two streams at once
    by = s.sort_values(["creator_id", "started_at"])
    same = by["creator_id"].to_numpy()[1:] == by["creator_id"].to_numpy()[:-1]
    gap = by["started_at"].to_numpy()[1:] - by["ended_at"].to_numpy()[:-1]
    assert (gap[same] >= np.timedelta64(15, "m")).all()
    assert (s["peak_concurrent_viewers"] <= s["viewers"]).all()
    assert (s["orders"] <= s["product_clicks"]).all()


def test_mega_sale_days_bring_several_times_the_traffic(world):
    s = world.tables.sessions
    local = s["started_at"] + pd.Timedelta(hours=7)
    md = local.dt.month * 100 + local.dt.day
    mega = md.isin([909, 1010, 1111, 1212])
    ordinary = ~mega & (local.dt.day < 25)
    assert mega.sum() > 100
    ratio = s.loc[mega, "viewers"].median() / s.loc[ordinary, "viewers"].median()
    assert ratio > 2.5
    streams_per_day = s.groupby(local.dt.date).size()
    mega_days = [
        d for d in streams_per_day.index if (d.month, d.day) in world.config.mega_sale_days
    ]
    others = streams_per_day.drop(mega_days).iloc[3:-3]  # skip the ramp-up of the first days
    assert streams_per_day[mega_days].mean() > 1.4 * others.median()


def test_outcomes_follow_sales(world):
    t = world.tables
    o = t.outcomes.merge(t.sessions[["session_id", "orders", "ended_at"]], on="session_id")
    per_kind = o.groupby(["session_id", "kind"], observed=True).size().rename("n").reset_index()
    per_kind = per_kind.merge(t.sessions[["session_id", "orders"]], on="session_id")
    assert (per_kind["n"] <= per_kind["orders"]).all()
    assert (o["amount"] > 0).all()
    delay = o["occurred_at"] - o["ended_at"]
    assert delay.min() >= 2 * DAY and delay.max() <= 30 * DAY
    assert delay.max() > 20 * DAY


# ----------------------------------------------------------------------------- truth vs raw


def test_p_low_quality_separates_far_better_than_any_raw_column(world):
    t = world.tables
    reviews = t.reviews.drop_duplicates("session_id")
    lab = reviews.merge(world.truth.sessions, on="session_id", suffixes=("", "_truth"))
    lab = lab.merge(t.sessions, on="session_id", suffixes=("", "_s"))
    y = lab["is_low_quality"].to_numpy()
    oracle = auc(y, lab["p_low_quality"].to_numpy())
    numeric = [c for c in t.sessions.columns if pd.api.types.is_numeric_dtype(t.sessions[c])]
    best = max(auc(y, lab[c].to_numpy(dtype=float)) for c in numeric)
    assert oracle > 0.9
    assert oracle > best + 0.04
    # labels are calibrated draws from p: mean verdict ~ mean p on the unbiased sample
    audit = lab[lab["sample_reason"] == "random_audit"]
    assert audit["is_low_quality"].mean() == pytest.approx(audit["p_low_quality"].mean(), abs=0.04)


def _creator_snapshots(w: SimulatedWorld, horizon_days: int = 30) -> pd.DataFrame:
    t = w.tables
    start = pd.Timestamp(w.config.start, tz="UTC")
    events = label_events(t)
    rows = []
    for d in range(14, w.config.n_days - horizon_days, 7):
        at = start + d * DAY
        creators = t.creators.loc[t.creators["onboarded_at"] < at, "creator_id"]
        window = events[
            (events["detected_at"] >= at) & (events["detected_at"] < at + horizon_days * DAY)
        ]
        recent = t.sessions[
            (t.sessions["ended_at"] < at) & (t.sessions["ended_at"] >= at - 30 * DAY)
        ]
        agg = recent.groupby("creator_id").agg(
            n=("session_id", "size"),
            viewers=("viewers", "sum"),
            likes=("likes", "sum"),
            orders=("orders", "sum"),
            clicks=("product_clicks", "sum"),
            comments=("comments", "sum"),
            reports=("viewer_reports", "sum"),
            watch=("avg_watch_seconds", "mean"),
        )
        frame = pd.DataFrame({"creator_id": creators.to_numpy(), "at": at})
        frame["label"] = frame["creator_id"].isin(window["creator_id"])
        frame = frame.merge(agg, left_on="creator_id", right_index=True, how="left").fillna(0)
        rows.append(frame)
    snaps = pd.concat(rows, ignore_index=True)
    snaps["oracle"] = w.truth.adversarial_probability(
        snaps["creator_id"], snaps["at"], horizon=f"{horizon_days}D"
    )
    return snaps


def test_creator_oracle_separates_and_is_calibrated(world):
    snaps = _creator_snapshots(world)
    y = snaps["label"].to_numpy()
    assert 50 < y.sum() < 0.1 * len(y)
    oracle = auc(y, snaps["oracle"].to_numpy())
    raw = ["n", "viewers", "likes", "orders", "clicks", "comments", "reports", "watch"]
    best = max(auc(y, snaps[c].to_numpy(dtype=float)) for c in raw)
    assert oracle > 0.8
    assert oracle > best + 0.1
    # calibrated: expected events match observed ones overall and among the riskiest
    assert snaps["oracle"].sum() == pytest.approx(y.sum(), rel=0.25)
    top = snaps["oracle"] >= snaps["oracle"].quantile(0.95)
    assert snaps.loc[top, "oracle"].mean() == pytest.approx(
        snaps.loc[top, "label"].mean(), abs=0.08
    )


def test_adversarial_state_and_probability_queries(world):
    truth = world.truth
    c = truth.creators
    adv = c[c["adversarial_type"] != "none"].iloc[0]
    honest = c[c["adversarial_type"] == "none"].iloc[0]
    ids = [adv["creator_id"], adv["creator_id"], honest["creator_id"]]
    times = [adv["adversarial_from"] - DAY, adv["adversarial_from"] + DAY, adv["adversarial_from"]]
    state = truth.adversarial_state(ids, pd.Series(times))
    assert state.tolist() == ["none", str(adv["adversarial_type"]), "none"]
    start = pd.Timestamp(world.config.start, tz="UTC") + 40 * DAY
    short = truth.adversarial_probability(ids, start, horizon="7D")
    long = truth.adversarial_probability(ids, start, horizon=pd.Timedelta(days=60))
    assert ((short >= 0) & (short <= long) & (long <= 1)).all()
    assert truth.adversarial_probability([], start).shape == (0,)
    # one time for all, as a string or a datetime
    many = truth.adversarial_probability(c["creator_id"][:5], "2025-10-01T00:00Z")
    assert many.shape == (5,)


def test_partial_oracles_know_less_than_the_oracle(world):
    """Replacing intensity or stream rate by what an observer could guess costs ranking."""
    snaps = _creator_snapshots(world)
    truth, y = world.truth, snaps["label"].to_numpy()
    ids, at = snaps["creator_id"], snaps["at"]
    full = truth.adversarial_probability(ids, at, horizon="30D")
    true_rate = truth.creators.set_index("creator_id").loc[ids, "sessions_per_day"].to_numpy()
    # passing the true rates or the true intensity changes nothing
    assert np.array_equal(truth.adversarial_probability(ids, at, stream_rate=true_rate), full)
    flat = np.full(len(ids), true_rate.mean())
    guessed = truth.adversarial_probability(ids, at, intensity="mean", stream_rate=flat)
    assert not np.array_equal(guessed, full)
    assert auc(y, guessed) < auc(y, full)
    # the mean intensity keeps the expected number of label events about the same
    mean_int = truth.adversarial_probability(ids, at, intensity="mean")
    assert mean_int.sum() == pytest.approx(full.sum(), rel=0.15)
    assert (truth.adversarial_probability(ids, at, stream_rate=np.zeros(len(ids))) <= full).all()


# ----------------------------------------------------------------------------- delays and shares


def test_violation_delays_and_resolution(world):
    v = world.tables.violations
    cfg = world.config
    assert len(v) > 200
    detection = v["detected_at"] - v["occurred_at"]
    assert detection.min() >= 1 * DAY and detection.max() <= 14 * DAY
    resolution = v["resolved_at"] - v["detected_at"]
    assert (resolution[~v["appealed"]] == pd.Timedelta(days=cfg.appeal_window_days)).all()
    appealed = resolution[v["appealed"]]
    assert appealed.min() >= 3 * DAY and appealed.max() <= 21 * DAY
    assert (v.loc[~v["appealed"], "status"] == "confirmed").all()
    assert v["appealed"].mean() == pytest.approx(0.2, abs=0.06)
    assert (v.loc[v["appealed"], "status"] == "overturned").mean() == pytest.approx(1 / 3, abs=0.1)
    points = v["severity"].astype(str).map(HEALTH_POINTS)
    assert (v["health_points"] == points).all()
    # occurred during its stream, when it has one
    s = world.tables.sessions.set_index("session_id")
    tied = v.dropna(subset=["session_id"])
    assert (tied["occurred_at"] >= tied["session_id"].map(s["started_at"])).all()
    assert (tied["occurred_at"] <= tied["session_id"].map(s["ended_at"])).all()
    assert v["session_id"].isna().any()  # some records are not tied to a stream


def test_violation_kinds_follow_behaviour(world):
    v = world.tables.violations.merge(world.truth.creators, on="creator_id")
    honest = v["adversarial_type"] == "none"
    adversarial_kind = v["kind"].isin(ADVERSARIAL_VIOLATION_KINDS)
    # adversarial kinds come mostly from adversarial creators, though they are a few percent
    assert (~honest[adversarial_kind]).mean() > 0.5
    # honest creators' adversarial-kind records are false positives: more often overturned
    fp = v[honest & adversarial_kind & v["appealed"]]
    genuine = v[~honest & adversarial_kind & v["appealed"]]
    assert (fp["status"] == "overturned").mean() > (genuine["status"] == "overturned").mean()
    lq = world.tables.violations[world.tables.violations["kind"] == "low_quality_content"]
    truth = world.truth.sessions.set_index("session_id")
    assert truth.loc[lq["session_id"], "is_low_quality"].all()


def test_review_delays_and_sampling_shares(world):
    t, cfg = world.tables, world.config
    r = t.reviews.merge(t.sessions, on="session_id")
    delay = r["reviewed_at"] - r["ended_at"]
    assert delay.min() >= pd.Timedelta(0) and delay.max() <= 3 * DAY
    n = len(t.sessions)
    audit = (r["sample_reason"] == "random_audit").sum()
    assert audit / n == pytest.approx(cfg.random_audit_rate, abs=4 * np.sqrt(0.01 / n))
    reported = r[r["sample_reason"] == "viewer_report"]
    assert (reported["viewer_reports"] >= 1).all()
    assert 0.01 < len(reported) / n < 0.08
    # the chance of a report review rises with the number of reports
    s = t.sessions.assign(
        rev=t.sessions["session_id"].isin(reported["session_id"]),
        bucket=pd.cut(t.sessions["viewer_reports"], [0, 1, 3, 10, np.inf], right=False),
    )
    rates = s.groupby("bucket", observed=True)["rev"].mean().to_numpy()
    assert rates[0] == 0 and np.all(np.diff(rates) > 0)
    # the risk queue: per market and day at most its capacity, and it finds low quality
    queue = r[r["sample_reason"] == "risk_queue"].merge(
        t.creators[["creator_id", "market"]], on="creator_id"
    )
    start = pd.Timestamp(cfg.start, tz="UTC")
    per_market = t.sessions.merge(t.creators, on="creator_id")["market"].value_counts()
    capacity = np.ceil(cfg.risk_queue_share * per_market / cfg.n_days)
    day = (queue["ended_at"] - start) // DAY
    used = queue.groupby([queue["market"].astype(str), day]).size()
    assert all(used[m].max() <= capacity[m] for m in used.index.get_level_values(0).unique())
    assert len(queue) / n == pytest.approx(cfg.risk_queue_share, rel=0.15)
    assert (
        queue["is_low_quality"].mean()
        > 3 * r.loc[r["sample_reason"] == "random_audit", "is_low_quality"].mean()
    )
    # a reason only for low quality
    assert r.loc[r["is_low_quality"], "reason"].notna().all()
    assert r.loc[~r["is_low_quality"], "reason"].isna().all()
    # verdicts are the latent draw of the session
    truth = world.truth.sessions.set_index("session_id")
    assert (
        r["is_low_quality"].to_numpy() == truth.loc[r["session_id"], "is_low_quality"].to_numpy()
    ).all()


# ----------------------------------------------------------------------------- policy


def _active_points(v: pd.DataFrame, creator: str, at: pd.Timestamp, expiry: int) -> int:
    """Points active at ``at`` as known then, counting violations detected at or before it."""
    mine = v[(v["creator_id"] == creator) & (v["detected_at"] <= at)]
    live = (mine["detected_at"] + expiry * DAY > at) & ~(
        (mine["status"] == "overturned") & (mine["resolved_at"] <= at)
    )
    return int(mine.loc[live, "health_points"].sum())


def test_penalties_follow_the_account_health_policy(world):
    t, cfg = world.tables, world.config
    a, v = t.actions, t.violations
    assert set(a["kind"].astype(str)) == set(CONTRACT["actions"].column("kind").values)
    thresholds = {
        "warning": cfg.warning_points,
        "live_restriction": cfg.restriction_points,
        "suspension": cfg.suspension_points,
    }
    penalties = a[a["kind"].isin(list(thresholds))]
    assert penalties["violation_id"].notna().all()
    for row in penalties.itertuples():
        points = _active_points(v, row.creator_id, row.taken_at, cfg.points_expiry_days)
        assert points >= thresholds[row.kind], row
    length = {"live_restriction": cfg.restriction_days, "suspension": cfg.suspension_days}
    for kind, days in length.items():
        rows = a[a["kind"] == kind]
        assert ((rows["ends_at"] - rows["taken_at"]) == pd.Timedelta(days=days)).all()
    holds = a[a["kind"] == "commission_hold"].merge(v, on="violation_id", suffixes=("", "_v"))
    assert len(holds) > 0
    assert holds["kind_v"].isin(ADVERSARIAL_VIOLATION_KINDS).all()
    assert (holds["ends_at"] == holds["resolved_at"]).all()
    assert (holds["taken_at"] == holds["detected_at"]).all()


def test_suspended_creators_do_not_stream(world):
    t = world.tables
    susp = t.actions[t.actions["kind"] == "suspension"]
    assert len(susp) > 5
    s = t.sessions.merge(susp[["creator_id", "taken_at", "ends_at"]], on="creator_id")
    during = (s["started_at"] >= s["taken_at"]) & (s["started_at"] < s["ends_at"])
    assert not during.any()
    # restrictions block about half the planned streams: fewer streams while restricted
    truth = world.truth.penalties
    assert (truth["stream_factor"].isin([0.0, 0.5])).all()


def test_rewards_go_to_healthy_creators(world):
    t, cfg = world.tables, world.config
    a, v = t.actions, t.violations
    rewards = a[a["kind"] == "incentive_reward"]
    assert len(rewards) > 50 and (rewards["value"] >= 5).all() and rewards["ends_at"].isna().all()
    for row in rewards.sample(60, random_state=0).itertuples():
        before = row.taken_at - pd.Timedelta(microseconds=1)
        assert _active_points(v, row.creator_id, before, cfg.points_expiry_days) == 0
    campaigns = a[a["kind"] == "campaign_participation"]
    assert (
        len(campaigns) > 0
        and (campaigns["ends_at"] - campaigns["taken_at"]).between(7 * DAY, 8 * DAY).all()
    )
    changes = a[a["kind"] == "commission_change"]
    assert changes["value"].between(0.01, 0.25).all() and changes["violation_id"].isna().all()


# ----------------------------------------------------------------------------- sleepers, pattern


def test_sleepers_behave_well_before_turning(sleepy):
    t, truth = sleepy.tables, sleepy.truth
    c = truth.creators
    assert c.loc[c["adversarial_type"] != "none", "is_sleeper"].all()
    adversarial = c[c["adversarial_type"] != "none"]
    first_possible = adversarial["onboarded_at"].clip(
        lower=pd.Timestamp(sleepy.config.start, tz="UTC")
    )
    sleep = adversarial["adversarial_from"] - first_possible
    assert sleep.between(20 * DAY, 40 * DAY).all()  # sleeper_days=(20, 40)
    s = t.sessions.merge(c, on="creator_id")
    before = s["started_at"] < s["adversarial_from"]
    after = s["started_at"] >= s["adversarial_from"]
    honest = s["adversarial_type"] == "none"
    fake = s["adversarial_type"] == "fake_engagement"
    likes = s["likes"] / s["viewers"]
    # before turning, fake-engagement sleepers look like honest creators; after, they do not
    assert likes[fake & before].median() == pytest.approx(likes[honest].median(), rel=0.2)
    assert likes[fake & after].median() > 1.8 * likes[honest].median()
    watch = s["avg_watch_seconds"]
    assert watch[fake & before].median() == pytest.approx(watch[honest].median(), rel=0.2)
    assert watch[fake & after].median() < 0.6 * watch[honest].median()
    # violations of their own kind: rare before (false-positive level), frequent after
    kind = {
        "fake_engagement": "fake_engagement",
        "counterfeit": "counterfeit",
        "off_platform": "off_platform_transaction",
    }
    v = t.violations.merge(c, on="creator_id")
    own = v[v["kind"].astype(str) == v["adversarial_type"].astype(str).map(kind)]
    n_before = (before & ~honest).sum()
    n_after = (after & ~honest).sum()
    rate_before = (own["occurred_at"] < own["adversarial_from"]).sum() / n_before
    rate_after = (own["occurred_at"] >= own["adversarial_from"]).sum() / n_after
    assert rate_after > 20 * max(rate_before, 1e-4)
    # and the truth's state switches exactly at adversarial_from
    row = c[c["adversarial_type"] != "none"].iloc[0]
    at = [row["adversarial_from"] - pd.Timedelta(microseconds=1), row["adversarial_from"]]
    assert truth.adversarial_state([row["creator_id"]] * 2, at).tolist() == [
        "none",
        str(row["adversarial_type"]),
    ]


def test_injected_pattern_appears_in_its_market_from_its_day():
    w = simulate(n_creators=1200, n_days=60, seed=8, pattern_market="TH", pattern_start_day=30)
    p = w.truth.pattern
    assert isinstance(p, InjectedPattern)
    assert p.market == "TH"
    assert p.started_at == pd.Timestamp(w.config.start, tz="UTC") + 30 * DAY
    markets = w.tables.creators.set_index("creator_id")["market"]
    assert len(p.creator_ids) > 10 and (markets[list(p.creator_ids)] == "TH").all()
    s = w.tables.sessions
    affected = s["creator_id"].isin(p.creator_ids)
    after = s["started_at"] >= p.started_at
    share = s["avg_watch_seconds"] / ((s["ended_at"] - s["started_at"]).dt.total_seconds())
    # bots: more viewers, collapsed watch time, in the affected streams from the day on only
    assert share[affected & after].median() < 0.35 * share[affected & ~after].median()
    assert share[~affected & after].median() == pytest.approx(
        share[~affected & ~after].median(), rel=0.15
    )
    views = s["viewers"]
    assert views[affected & after].median() > 3 * views[affected & ~after].median()
    assert (share[affected & ~after] > 0.005).mean() > 0.95
    # nothing else describes it: without bots, violations and truth labels are identical
    clean = simulate(
        n_creators=1200,
        n_days=60,
        seed=8,
        pattern_market="TH",
        pattern_start_day=30,
        pattern_bot_multiplier=0.0,
    )
    pd.testing.assert_frame_equal(w.tables.violations, clean.tables.violations)
    pd.testing.assert_frame_equal(w.truth.sessions, clean.truth.sessions)
    assert not w.tables.sessions["viewers"].equals(clean.tables.sessions["viewers"])


def test_pattern_default_day_and_disabling():
    cfg = SimulationConfig(n_days=100)
    assert cfg.pattern_day == 70
    w = simulate(n_creators=200, n_days=20, seed=1, pattern_creator_share=0.0)
    assert w.truth.pattern.creator_ids == ()


# ----------------------------------------------------------------------------- no leak


def test_nothing_in_the_tables_is_a_truth_column(world):
    t, truth = world.tables, world.truth
    truth_only = {
        "p_low_quality",
        "p_adversarial_violation",
        "latent_quality",
        "adversarial_type",
        "adversarial_from",
        "is_sleeper",
        "sessions_per_day",
        "typical_minutes",
        "daily_hazard",
        "session_label_prob",
    }
    for name, frame in t.items():
        assert not truth_only & set(frame.columns), name
    per_session = {
        "p_low_quality": truth.sessions["p_low_quality"].to_numpy(),
        "is_low_quality": truth.sessions["is_low_quality"].to_numpy(dtype=float),
        "p_adversarial_violation": truth.sessions["p_adversarial_violation"].to_numpy(),
    }
    for col in t.sessions.columns:
        values = t.sessions[col]
        if not pd.api.types.is_numeric_dtype(values):
            continue
        x = values.to_numpy(dtype=float)
        for name, y in per_session.items():
            assert not np.allclose(x, y), (col, name)
            assert abs(np.corrcoef(x, y)[0, 1]) < 0.9, (col, name)
    per_creator = {
        "latent_quality": truth.creators["latent_quality"].to_numpy(),
        "is_adversarial": (truth.creators["adversarial_type"] != "none").to_numpy(dtype=float),
        "is_sleeper": truth.creators["is_sleeper"].to_numpy(dtype=float),
        "sessions_per_day": truth.creators["sessions_per_day"].to_numpy(),
    }
    for col in ("is_business", "commission_rate"):
        x = t.creators[col].to_numpy(dtype=float)
        for name, y in per_creator.items():
            assert abs(np.corrcoef(x, y)[0, 1]) < 0.5, (col, name)
    # the review verdict is the only place a latent draw shows, and only for reviewed streams
    assert t.reviews["session_id"].nunique() < 0.2 * len(t.sessions)


# ----------------------------------------------------------------------------- files


def test_write_world_and_read_truth_round_trip(world, tmp_path):
    out = write_world(world, tmp_path / "world")
    assert sorted(p.name for p in out.glob("*.parquet")) == sorted(f"{n}.parquet" for n in CONTRACT)
    loaded = load_tables(out)
    for name, frame in world.tables.items():
        pd.testing.assert_frame_equal(loaded[name], frame)
    truth = read_truth(out)
    assert isinstance(truth, GroundTruth)
    assert truth.config == world.config
    assert truth.pattern == world.truth.pattern
    for name in ("sessions", "creators", "penalties"):
        pd.testing.assert_frame_equal(getattr(truth, name), getattr(world.truth, name))
    ids = world.truth.creators["creator_id"][:200]
    at = pd.Timestamp(world.config.start, tz="UTC") + 50 * DAY
    np.testing.assert_array_equal(
        truth.adversarial_probability(ids, at), world.truth.adversarial_probability(ids, at)
    )
    assert read_truth(out / "truth").config == world.config  # the truth folder itself
    meta = json.loads((out / "truth" / "world.json").read_text())
    assert meta["config"]["n_creators"] == 1500 and meta["pattern"]["market"] == "VN"


def test_write_world_refuses_to_overwrite(tmp_path):
    w = simulate(n_creators=40, n_days=7, seed=0)
    out = write_world(w, tmp_path / "w")
    with pytest.raises(DataLoadError, match="already holds a world.*overwrite=True"):
        write_world(w, out)
    other = simulate(n_creators=40, n_days=7, seed=1)
    write_world(other, out, overwrite=True)
    assert read_truth(out).config.seed == 1
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(DataLoadError, match="is a file"):
        write_world(w, afile)


def test_read_truth_errors(tmp_path):
    with pytest.raises(DataLoadError, match="no simulator ground truth.*missing world.json"):
        read_truth(tmp_path)
    w = simulate(n_creators=40, n_days=7, seed=0)
    out = write_world(w, tmp_path / "w")
    meta_path = out / "truth" / "world.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 999
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DataLoadError, match="format_version 999"):
        read_truth(out)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"n_days": 0}, r"n_days=0 is out of range; expected an integer in \[1, 3660\]"),
        ({"n_creators": 2.5}, r"n_creators=2.5 has type float; expected an integer"),
        ({"n_creators": True}, r"n_creators=True has type bool"),
        ({"low_quality_rate": 1.5}, r"low_quality_rate=1.5 is out of range.*\[0.001, 0.9\]"),
        ({"median_viewers": float("nan")}, r"median_viewers=nan is out of range"),
        ({"random_audit_rate": "0.01"}, r"random_audit_rate='0.01' has type str"),
        ({"detection_delay_days": (14, 1)}, r"detection_delay_days=\(14, 1\).*low <= high"),
        ({"sleeper_days": 30}, r"sleeper_days=30 must be a pair \(low, high\)"),
        ({"outcome_delay_days": (-1, 30)}, r"outcome_delay_days\[0\]=-1 is out of range"),
        ({"market_shares": {"XX": 1.0}}, r"market_shares has unknown level 'XX'"),
        ({"market_shares": {"id": 1.0}}, r"unknown level 'id' \(did you mean 'ID'\?\)"),
        (
            {"market_shares": {"ID": -1.0}},
            r"market_shares\['ID'\]=-1.0 must be a finite number >= 0",
        ),
        ({"category_shares": {"beauty": 0}}, r"category_shares=.* must have a positive total"),
        ({"adversarial_mix": 3}, r"adversarial_mix=3 must be a mapping of level to weight"),
        ({"mega_sale_days": ((2, 30),)}, r"mega_sale_days=.*must be \(month, day\) pairs"),
        ({"mega_sale_days": 5}, r"mega_sale_days=5 must be \(month, day\) pairs"),
        ({"start": "15/08/2025"}, r"start='15/08/2025' is not an ISO date"),
        ({"start": 20250815}, r"start=20250815 has type int"),
        ({"start": dt.datetime(2025, 8, 15, 12)}, r"is not midnight"),
        ({"start": dt.date(1900, 1, 1)}, r"start=1900-01-01 is out of range"),
        (
            {"warning_points": 10, "restriction_points": 8},
            r"warning_points=10, restriction_points=8, suspension_points=12 must be non-decreasing",
        ),
        ({"pattern_market": "JP"}, r"pattern_market='JP' is not a market"),
        (
            {"n_days": 30, "pattern_start_day": 30},
            r"pattern_start_day=30 is out of range.*\[0, 29\]",
        ),
    ],
)
def test_config_validation_names_field_value_and_range(overrides, match):
    with pytest.raises(SimulationError, match=match):
        SimulationConfig(**overrides)


def test_config_normalises_inputs():
    cfg = SimulationConfig(
        start="2025-09-01",
        market_shares=[("ID", 2), ("TH", 2)],
        mega_sale_days=[[11, 11], (9, 9)],
    )
    assert cfg.start == dt.date(2025, 9, 1)
    assert dict(cfg.market_shares) == {
        "ID": 0.5,
        "MY": 0.0,
        "PH": 0.0,
        "SG": 0.0,
        "TH": 0.5,
        "VN": 0.0,
    }
    assert cfg.mega_sale_days == ((9, 9), (11, 11))
    assert SimulationConfig(start=pd.Timestamp("2025-09-01", tz="UTC")).start == dt.date(2025, 9, 1)
    assert SimulationConfig(start=dt.datetime(2025, 9, 1)).start == dt.date(2025, 9, 1)
    assert SimulationConfig(**cfg.to_dict()) == cfg
    assert cfg.end == dt.date(2025, 12, 30)
    assert [m for m, _ in cfg.market_shares] == list(MARKETS)


def test_simulate_rejects_unknown_parameters_and_bad_config():
    with pytest.raises(
        SimulationError,
        match=r"unknown simulation parameter\(s\) 'n_creator' \(did you mean 'n_creators'\?\)",
    ):
        simulate(n_creator=10)
    with pytest.raises(SimulationError, match="config must be a SimulationConfig, got dict"):
        simulate({"n_creators": 10})  # type: ignore[arg-type]


def test_truth_query_errors(world):
    truth = world.truth
    some = truth.creators["creator_id"][:2]
    at = pd.Timestamp(world.config.start, tz="UTC") + 10 * DAY
    with pytest.raises(SimulationError, match=r"1 creator id\(s\) are not in this world.*'nobody'"):
        truth.adversarial_state(["nobody", some.iloc[0]], at)
    with pytest.raises(SimulationError, match="times must be timezone-aware"):
        truth.adversarial_probability(some, pd.Timestamp("2025-10-01"))
    with pytest.raises(SimulationError, match=r"times hold 1 missing value"):
        truth.adversarial_probability(some, pd.Series([at, pd.NaT]))
    with pytest.raises(SimulationError, match="got 2 creator ids but 3 times"):
        truth.adversarial_state(some, pd.Series([at, at, at]))
    with pytest.raises(SimulationError, match="horizon='soon' is not a positive duration"):
        truth.adversarial_probability(some, at, horizon="soon")
    with pytest.raises(SimulationError, match="horizon=.* is not a positive duration"):
        truth.adversarial_probability(some, at, horizon="-3D")
    with pytest.raises(SimulationError, match="intensity='low'; use 'true'"):
        truth.adversarial_probability(some, at, intensity="low")
    with pytest.raises(
        SimulationError, match=r"one finite rate >= 0 per query \(2\); got 3 values$"
    ):
        truth.adversarial_probability(some, at, stream_rate=[0.1, 0.2, 0.3])
    with pytest.raises(SimulationError, match="got 2 values with negative or missing ones"):
        truth.adversarial_probability(some, at, stream_rate=[0.1, np.nan])
