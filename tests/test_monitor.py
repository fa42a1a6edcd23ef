"""Tests of govml.monitor: PSI drift, calibration drift, segment-day trend alerts."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import govml
import govml.cli
from govml._exceptions import MonitorError
from govml.monitor import (
    ALERT_AT,
    DRIFT_STATUSES,
    EPSILON,
    TREND_STATUSES,
    WARN_AT,
    DriftReport,
    TrendDetectionScore,
    TrendReport,
    detect_trends,
    drift_report,
    evaluate_trend_detection,
    psi,
)
from govml.simulation import InjectedPattern

DAY0 = pd.Timestamp("2026-01-01", tz="UTC")
SEGMENTS = (("ID", "a"), ("ID", "b"), ("TH", "a"), ("TH", "b"), ("VN", "a"), ("VN", "b"))


# ----------------------------------------------------------------------------- helpers


def brute_psi(ref, cur, n_bins=10, eps=EPSILON):
    """PSI written out the slow way: quantile edges of the reference, a NaN bin."""
    ref, cur = np.asarray(ref, float), np.asarray(cur, float)
    finite = ref[~np.isnan(ref)]
    edges = (
        sorted(set(np.quantile(finite, [i / n_bins for i in range(1, n_bins)]).tolist()))
        if len(finite)
        else []
    )

    def bin_of(v):
        if math.isnan(v):
            return "nan"
        return sum(1 for e in edges if e <= v)

    bins = [*range(len(edges) + 1), "nan"]
    total = 0.0
    for b in bins:
        r = max(sum(1 for v in ref if bin_of(v) == b) / len(ref), eps)
        c = max(sum(1 for v in cur if bin_of(v) == b) / len(cur), eps)
        total += (c - r) * math.log(c / r)
    return total


def synthetic(
    *,
    n_days: int = 50,
    per_day: int = 60,
    seed: int = 0,
    segments=SEGMENTS,
    shift: dict | None = None,
) -> pd.DataFrame:
    """Sessions of a few segments: ``peak_ratio`` (beta), ``avg_watch_min`` (gamma),
    ``viewers_log`` (normal). ``shift={(market, category): (from_day, factor)}``
    multiplies that segment's ``avg_watch_min`` from that day on."""
    rng = np.random.default_rng(seed)
    parts = []
    for market, category in segments:
        counts = rng.poisson(per_day, n_days)
        day = np.repeat(np.arange(n_days), counts)
        n = len(day)
        watch = rng.gamma(2.0, 1.0, n)
        if shift and (market, category) in shift:
            start, factor = shift[(market, category)]
            watch = np.where(day >= start, watch * factor, watch)
        parts.append(
            pd.DataFrame(
                {
                    "ended_at": DAY0
                    + pd.to_timedelta(day, unit="D")
                    + pd.to_timedelta(rng.uniform(0, 86_399, n), unit="s"),
                    "market": market,
                    "category": category,
                    "peak_ratio": rng.beta(2, 8, n),
                    "avg_watch_min": watch,
                    "viewers_log": rng.normal(5.5, 1.3, n),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["ended_at"] = frame["ended_at"].astype("datetime64[us, UTC]")
    return frame.sort_values("ended_at", kind="stable").reset_index(drop=True)


FEATURES = ["peak_ratio", "avg_watch_min", "viewers_log"]


def windows(seed=0, n=3000, vn_shift=0.0):
    rng = np.random.default_rng(seed)

    def one(shift):
        market = rng.choice(["ID", "VN"], n)
        x = rng.normal(0, 1, n) + np.where(market == "VN", shift, 0.0)
        return pd.DataFrame(
            {
                "market": market,
                "x": x,
                "level": rng.choice(["p", "q", "r"], n, p=[0.5, 0.3, 0.2]),
                "score": rng.beta(2, 8, n),
            }
        )

    return one(0.0), one(vn_shift)


# ----------------------------------------------------------------------------- PSI


@settings(max_examples=60, deadline=None)
@given(
    ref=st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=40,
    ),
    cur=st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=40,
    ),
    n_bins=st.integers(1, 12),
)
def test_psi_matches_the_formula_written_out(ref, cur, n_bins):
    assert psi(ref, cur, n_bins=n_bins) == pytest.approx(brute_psi(ref, cur, n_bins), abs=1e-9)


def test_psi_is_zero_for_identical_samples_and_grows_with_the_shift():
    x = np.random.default_rng(0).normal(0, 1, 5000)
    assert psi(x, x) == 0.0
    values = [psi(x, x + d) for d in (0.1, 0.3, 0.6)]
    assert values == sorted(values) and values[0] > 0


def test_psi_categorical_by_level_with_known_value():
    ref, cur = ["x"] * 90 + ["y"] * 10, ["x"] * 50 + ["y"] * 50
    expected = (0.5 - 0.9) * math.log(0.5 / 0.9) + (0.5 - 0.1) * math.log(0.5 / 0.1)
    assert psi(ref, cur) == pytest.approx(expected)
    # a level unseen in the reference counts with the epsilon floor: finite and large
    new = psi(["a"] * 100, ["a"] * 50 + ["b"] * 50)
    assert new == pytest.approx(
        (0.5 - 1) * math.log(0.5) + (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    )
    # numbers can be binned by level on request
    assert psi([1, 1, 2], [1, 2, 2], categorical=True) == pytest.approx(
        psi(["1", "1", "2"], ["1", "2", "2"])
    )


def test_psi_missing_values_are_their_own_bin():
    x = np.random.default_rng(1).normal(0, 1, 4000)
    holes = x.copy()
    holes[::3] = np.nan
    assert psi(x, holes) > ALERT_AT
    cats = pd.Series(["a", "b"] * 100)
    assert psi(cats, cats.where(cats.index % 2 == 0)) > ALERT_AT


def test_psi_of_an_empty_sample_is_nan():
    assert math.isnan(psi([], [1.0, 2.0]))


def test_psi_rejects_bad_parameters_and_text_in_numbers():
    with pytest.raises(MonitorError, match=r"n_bins=0 must be an integer >= 1"):
        psi([1.0], [1.0], n_bins=0)
    with pytest.raises(MonitorError, match=r"epsilon=-1 must be a positive finite number"):
        psi([1.0], [1.0], epsilon=-1)
    with pytest.raises(MonitorError, match=r"holds text in a numeric variable"):
        psi(["a", "b"], [1.0], categorical=False)


# ----------------------------------------------------------------------------- drift


def test_drift_report_per_market_rows_equal_psi_of_the_subsets():
    ref, cur = windows(vn_shift=1.0)
    rep = drift_report(ref, cur, features=["x", "level"], score_col="score")
    f = rep.frame.set_index(["feature", "market"])
    assert list(rep.frame.columns) == [
        "feature",
        "kind",
        "market",
        "n_reference",
        "n_current",
        "psi",
        "status",
    ]
    for market in ("ID", "VN"):
        r, c = ref[ref["market"] == market], cur[cur["market"] == market]
        assert f.loc[("x", market), "psi"] == pytest.approx(psi(r["x"], c["x"]))
        assert f.loc[("level", market), "psi"] == pytest.approx(psi(r["level"], c["level"]))
        assert f.loc[("x", market), "n_current"] == len(c)
    assert f.loc[("x", "ALL"), "psi"] == pytest.approx(psi(ref["x"], cur["x"]))
    assert f.loc[("x", "VN"), "status"] == "alert"
    assert f.loc[("x", "ID"), "status"] == "ok"
    assert f.loc[("level", "ALL"), "kind"] == "categorical"
    assert f.loc[("score", "ALL"), "kind"] == "score"
    assert rep.frame["market"].tolist()[:3] == ["ALL", "ID", "VN"]
    assert set(rep.frame["status"]) <= set(DRIFT_STATUSES)
    assert rep.warn_at == WARN_AT and rep.alert_at == ALERT_AT


def test_drift_thresholds_and_minimum_rows_decide_the_status():
    ref, cur = windows(vn_shift=0.3)
    base = drift_report(ref, cur, features=["x"], by=None)
    value = base.frame["psi"].item()
    at_warn = drift_report(ref, cur, features=["x"], by=None, warn_at=value, alert_at=value * 2)
    assert at_warn.frame["status"].item() == "warning"  # the threshold itself counts
    at_alert = drift_report(ref, cur, features=["x"], by=None, warn_at=value / 2, alert_at=value)
    assert at_alert.frame["status"].item() == "alert"
    below = drift_report(ref, cur, features=["x"], by=None, warn_at=value * 1.01, alert_at=1)
    assert below.frame["status"].item() == "ok"
    few = drift_report(ref, cur, features=["x"], min_rows=len(ref) + 1)
    assert set(few.frame["status"]) == {"insufficient"}
    assert few.frame["psi"].notna().all()  # still reported


def test_drift_report_ignores_row_and_column_order_and_never_mutates():
    ref, cur = windows(vn_shift=0.5)
    ref_copy, cur_copy = ref.copy(), cur.copy()
    a = drift_report(ref, cur, features=["x", "level"])
    shuffled = cur.sample(frac=1.0, random_state=3)[["score", "level", "x", "market"]]
    b = drift_report(ref, shuffled, features=["x", "level"])
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(ref, ref_copy)
    pd.testing.assert_frame_equal(cur, cur_copy)


def test_drift_report_helpers_for_the_dashboard():
    ref, cur = windows(vn_shift=1.0)
    rep = drift_report(ref, cur, features=["x", "level"])
    assert isinstance(rep, DriftReport)
    m = rep.matrix()
    assert m.index.tolist() == ["x", "level"] and m.columns.tolist() == ["ALL", "ID", "VN"]
    assert m.loc["x", "VN"] == rep.frame.query("feature == 'x' and market == 'VN'")["psi"].item()
    assert rep.alerts("alert")["status"].eq("alert").all()
    assert rep.alerts()["psi"].is_monotonic_decreasing
    assert rep.worst(2)["psi"].iloc[0] == rep.frame["psi"].max()
    assert sum(rep.status_counts().values()) == len(rep.frame)
    assert "x [VN]" in str(rep)
    with pytest.raises(MonitorError, match=r"level='bad' must be 'warning' or 'alert'"):
        rep.alerts("bad")


def test_calibration_drift_compares_expected_and_observed_rates():
    rng = np.random.default_rng(4)
    n = 6000
    ref = pd.DataFrame({"market": "ID", "score": rng.beta(2, 5, n)})
    cur = pd.DataFrame({"market": "ID", "score": rng.beta(2, 5, n)})
    ref["label"] = (rng.random(n) < ref["score"]).astype(float)  # calibrated
    cur["label"] = (rng.random(n) < cur["score"] * 0.4).astype(float)  # over-predicting now
    cur.loc[: n // 2, "label"] = np.nan  # not mature yet: left out
    rep = drift_report(ref, cur, features=[], score_col="score", label_col="label", by=None)
    s = rep.calibration_summary.set_index("market").loc["ALL"]
    assert s["n_current"] == int(cur["label"].notna().sum())
    assert s["ece_reference"] < 0.03 and s["ece_current"] > 0.1
    assert s["status"] == "alert"
    cal = rep.calibration
    assert set(cal["window"]) == {"reference", "current"}
    cur_bins = cal[cal["window"] == "current"]
    assert cur_bins["n"].sum() == s["n_current"]
    assert (cur_bins["expected"] > cur_bins["observed"]).all()
    # the ECE written out for one bin: all scores 0.2, half the labels 1
    one = pd.DataFrame({"s": [0.2] * 200, "y": [0, 1] * 100})
    flat = drift_report(one, one, features=[], score_col="s", label_col="y", by=None)
    assert flat.calibration_summary["ece_current"].item() == pytest.approx(0.3)
    assert flat.calibration_summary["status"].item() == "ok"


def test_calibration_reports_markets_with_too_few_labels_as_insufficient():
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"market": ["ID"] * 500 + ["SG"] * 20, "s": rng.random(520)})
    ref["y"] = (rng.random(520) < ref["s"]).astype(int)
    rep = drift_report(ref, ref, features=[], score_col="s", label_col="y")
    status = rep.calibration_summary.set_index("market")["status"]
    assert status["SG"] == "insufficient" and status["ID"] == "ok"
    assert "calibration [SG]" in str(rep)


def test_drift_report_with_a_model_scores_both_windows(small_world, small_models):
    model, _ = small_models["low_quality"]
    fs = govml.session_features(small_world.tables)
    t = fs.frame["ended_at"]
    ref, cur = fs.frame[t < "2025-10-15"], fs.frame[t >= "2025-11-15"]
    rep = drift_report(ref, cur, model=model)
    assert list(dict.fromkeys(rep.frame["feature"])) == [*model.feature_names, "score"]
    score_all = rep.frame.query("feature == 'score' and market == 'ALL'")["psi"].item()
    expected = psi(model.predict_proba(ref), model.predict_proba(cur))
    assert score_all == pytest.approx(expected)
    assert rep.frame.query("feature == 'market'")["kind"].eq("categorical").all()
    # a FeatureSet brings its features, categorical columns and time column
    fs_ref, fs_cur = dataclasses.replace(fs, frame=ref), dataclasses.replace(fs, frame=cur)
    from_fs = drift_report(fs_ref, fs_cur)
    assert set(from_fs.frame["feature"]) == set(fs.features)
    assert from_fs.reference_period == (ref["ended_at"].min(), ref["ended_at"].max())


def test_drift_report_errors_say_what_to_pass():
    ref, cur = windows()
    with pytest.raises(MonitorError, match=r"reference is a list; expected a pandas DataFrame"):
        drift_report([1, 2], cur, features=["x"])
    with pytest.raises(MonitorError, match=r"current lacks column\(s\) \['x'\]"):
        drift_report(ref, cur.drop(columns="x"), features=["x"])
    with pytest.raises(MonitorError, match=r"no features to compare"):
        drift_report(ref, cur)
    with pytest.raises(MonitorError, match=r"warn_at=0.5 is above alert_at=0.25"):
        drift_report(ref, cur, features=["x"], warn_at=0.5)
    with pytest.raises(MonitorError, match=r"categorical=\['level'\] are not among"):
        drift_report(ref, cur, features=["x"], categorical=["level"])
    with pytest.raises(MonitorError, match=r"label_col='y' needs a score"):
        drift_report(ref, cur, features=["x"], label_col="y")
    with pytest.raises(MonitorError, match=r"reference labels must be 1/0"):
        drift_report(
            ref.assign(y=2), cur.assign(y=1), features=[], score_col="score", label_col="y"
        )
    with pytest.raises(MonitorError, match=r"min_rows=0 must be an integer >= 1"):
        drift_report(ref, cur, features=["x"], min_rows=0)
    with pytest.raises(MonitorError, match=r"holds text in a numeric variable"):
        drift_report(ref, cur.assign(score="high"), features=[], score_col="score")


# ----------------------------------------------------------------------------- trends


def test_trends_flag_the_segment_and_day_a_pattern_starts():
    frame = synthetic(shift={("VN", "a"): (35, 0.4)})
    rep = detect_trends(frame, features=FEATURES)
    assert isinstance(rep, TrendReport)
    first = rep.alerts.iloc[0]
    assert (first["day"], first["market"], first["category"]) == (
        DAY0 + pd.Timedelta(days=35),
        "VN",
        "a",
    )
    assert set(zip(rep.alerts["market"], rep.alerts["category"], strict=True)) == {("VN", "a")}
    assert first["top_features"][0] == "avg_watch_min" and first["top_z"][0] < -6
    assert first["known_at"] == first["day"] + pd.Timedelta(days=1)
    assert first["top_reasons"][0] == "engagement quality"  # the catalogue's reason group
    assert list(np.abs(first["top_z"])) == sorted(np.abs(first["top_z"]), reverse=True)
    assert len(first["top_features"]) == 3
    assert set(rep.daily["status"]) <= set(TREND_STATUSES)
    assert len(rep.daily) == 50 * len(SEGMENTS) and rep.z.columns.tolist() == FEATURES
    assert rep.alerts_on("2026-02-05")["market"].tolist() == ["VN"]
    hist = rep.history(market="VN", category="a")
    assert len(hist) == 50 and "avg_watch_min" in hist.columns
    assert (hist["status"].iloc[:14] == "no_baseline").all()
    assert "VN x a" in str(rep)


def test_platform_wide_swings_do_not_alert():
    frame = synthetic(seed=2)
    sale = frame["ended_at"].dt.floor("D") == DAY0 + pd.Timedelta(days=30)
    everywhere = frame.assign(
        avg_watch_min=frame["avg_watch_min"].where(~sale, frame["avg_watch_min"] * 4)
    )
    assert detect_trends(everywhere, features=FEATURES).n_alerts == 0
    # the same swing in one segment only is a trend
    one = sale & (frame["market"] == "TH") & (frame["category"] == "b")
    alone = frame.assign(
        avg_watch_min=frame["avg_watch_min"].where(~one, frame["avg_watch_min"] * 4)
    )
    alerts = detect_trends(alone, features=FEATURES).alerts
    assert alerts[["market", "category"]].drop_duplicates().values.tolist() == [["TH", "b"]]


def test_small_segments_never_alert():
    frame = synthetic(seed=3)
    rng = np.random.default_rng(0)
    tiny = pd.DataFrame(
        {
            "ended_at": (DAY0 + pd.to_timedelta(np.repeat(np.arange(50), 5), unit="D")).astype(
                "datetime64[us, UTC]"
            ),
            "market": "SG",
            "category": "a",
            "peak_ratio": rng.beta(2, 8, 250),
            "avg_watch_min": np.where(np.repeat(np.arange(50), 5) >= 30, 100.0, 1.0),
            "viewers_log": rng.normal(5.5, 1.3, 250),
        }
    )
    both = pd.concat([frame, tiny], ignore_index=True)
    rep = detect_trends(both, features=FEATURES, min_sessions=20)
    assert not (rep.alerts["market"] == "SG").any()
    assert (rep.daily.loc[rep.daily["market"] == "SG", "status"] == "low_volume").all()
    # with the guard lowered it is seen
    low = detect_trends(both, features=FEATURES, min_sessions=5)
    assert (low.alerts["market"] == "SG").any()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(16, 48),
    n_new=st.integers(1, 300),
    seed=st.integers(0, 2**16),
    new_segment=st.booleans(),
)
def test_appending_later_rows_changes_no_earlier_day(cut, n_new, seed, new_segment):
    frame = synthetic(seed=11, shift={("ID", "b"): (30, 2.0)})
    rng = np.random.default_rng(seed)
    segs = [*SEGMENTS, ("MY", "z")] if new_segment else list(SEGMENTS)
    pick = rng.integers(0, len(segs), n_new)
    future = pd.DataFrame(
        {
            # from exactly midnight of the cut day on
            "ended_at": (
                DAY0
                + pd.Timedelta(days=cut)
                + pd.to_timedelta(rng.integers(0, 20 * 86_400, n_new), unit="s")
            ).astype("datetime64[us, UTC]"),
            "market": [segs[i][0] for i in pick],
            "category": [segs[i][1] for i in pick],
            "peak_ratio": rng.choice([0.0, 1.0, 1e6], n_new),
            "avg_watch_min": rng.choice([-1e9, 0.0, 1e9], n_new),
            "viewers_log": rng.normal(0, 1e3, n_new),
        }
    )
    past = frame[frame["ended_at"] < DAY0 + pd.Timedelta(days=cut)]
    known = detect_trends(past, features=FEATURES)
    later = detect_trends(pd.concat([frame, future], ignore_index=True), features=FEATURES)
    key = ["day", "market", "category"]

    def before_cut(rep):
        both = rep.daily.join(rep.z)
        both = both[both["day"] < DAY0 + pd.Timedelta(days=cut)]
        both = both[both["market"] != "MY"]
        return both.set_index(key).sort_index()

    pd.testing.assert_frame_equal(before_cut(known), before_cut(later))
    early = known.alerts.set_index(key)
    late = later.alerts[later.alerts["day"] < DAY0 + pd.Timedelta(days=cut)].set_index(key)
    pd.testing.assert_frame_equal(early, late)


def test_since_only_hides_earlier_days_and_inputs_stay_untouched():
    frame = synthetic(shift={("VN", "a"): (35, 0.4)})
    copy = frame.copy()
    full = detect_trends(frame, features=FEATURES)
    later = detect_trends(frame, features=FEATURES, since="2026-02-01")
    pd.testing.assert_frame_equal(frame, copy)
    keep = full.daily["day"] >= DAY0 + pd.Timedelta(days=31)
    pd.testing.assert_frame_equal(
        full.daily[keep].reset_index(drop=True), later.daily.reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        full.z[keep].reset_index(drop=True), later.z.reset_index(drop=True)
    )
    assert later.first_day == DAY0 + pd.Timedelta(days=31)
    assert later.last_day == DAY0 + pd.Timedelta(days=49)


def test_trends_with_a_score_column_and_column_order():
    frame = synthetic(shift={("VN", "b"): (35, 0.4)})
    frame["risk"] = np.random.default_rng(0).random(len(frame))
    rep = detect_trends(frame, features=FEATURES, score_col="risk")
    assert rep.aggregates == (*FEATURES, "risk") and rep.score_col == "risk"
    cell = rep.daily.iloc[100]
    rows = frame[
        (frame["ended_at"].dt.floor("D") == cell["day"])
        & (frame["market"] == cell["market"])
        & (frame["category"] == cell["category"])
    ]
    assert cell["score_mean"] == pytest.approx(rows["risk"].mean())
    assert np.isfinite(rep.alerts["score_z"]).all()
    reordered = detect_trends(frame[frame.columns[::-1]], features=FEATURES, score_col="risk")
    pd.testing.assert_frame_equal(rep.daily, reordered.daily)


def test_trends_with_the_low_quality_model(small_world, small_models):
    model, _ = small_models["low_quality"]
    fs = govml.session_features(small_world.tables)
    rep = detect_trends(fs, model=model, min_sessions=3, min_baseline_days=7)
    assert rep.aggregates[-1] == "score" and "peak_ratio" in rep.aggregates
    scores = pd.Series(model.predict_proba(fs.frame), index=fs.frame.index)
    day = fs.frame["ended_at"].dt.floor("D")
    expected = scores.groupby(
        [day, fs.frame["market"].astype(str), fs.frame["category"].astype(str)]
    ).mean()
    got = rep.daily.set_index(["day", "market", "category"])["score_mean"].dropna()
    pd.testing.assert_series_equal(
        got.sort_index(), expected.loc[got.index].sort_index(), check_names=False
    )


@pytest.fixture(scope="module")
def pattern_world():
    """Quickstart-like but smaller: 1,000 creators x 100 days, three categories, bots from
    day 70 (measured: detected on the onset day, no false alert)."""
    world = govml.simulate(
        n_creators=1000,
        n_days=100,
        seed=5,
        pattern_start_day=70,
        category_shares={"fashion": 1, "beauty": 1, "home": 1},
        sessions_per_week=3.0,
    )
    return world, govml.session_features(world.tables)


def test_the_injected_pattern_is_found_quickly_with_few_false_alerts(pattern_world):
    world, fs = pattern_world
    rep = detect_trends(fs)
    score = evaluate_trend_detection(rep, world.truth.pattern, creators=world.tables.creators)
    assert isinstance(score, TrendDetectionScore)
    assert score.detected and score.lag_days <= 2
    assert score.n_false_alerts <= 2 and score.false_alerts_per_week <= 0.2
    assert score.n_true_alerts >= 3
    assert score.onset == world.truth.pattern.started_at.floor("D")
    assert {m for m, _ in score.pattern_segments} == {world.truth.pattern.market}
    top = rep.alerts[rep.alerts["day"] >= score.onset]["top_features"].str[0]
    assert top.eq("peak_ratio").mean() >= 0.5  # bots spike peak concurrency
    assert f"detected {score.lag_days} day(s) after onset" in str(score)


def test_evaluation_counts_false_alerts_before_onset_and_in_other_segments():
    shift = {("VN", "a"): (35, 0.25), ("ID", "b"): (20, 3.0), ("TH", "a"): (40, 3.0)}
    frame = synthetic(seed=7, shift=shift)
    # the ID and TH swings last one day only
    day = (frame["ended_at"] - DAY0).dt.days
    for (m, c), (start, factor) in list(shift.items())[1:]:
        later = (frame["market"] == m) & (frame["category"] == c) & (day > start)
        frame.loc[later, "avg_watch_min"] /= factor
    rep = detect_trends(frame, features=FEATURES)
    pattern = InjectedPattern(
        market="VN",
        started_at=DAY0 + pd.Timedelta(days=35, hours=7),
        creator_ids=("c1",),
        description="test",
        bot_multiplier=4.0,
    )
    creators = pd.DataFrame(
        {"creator_id": ["c1", "c2"], "market": ["VN", "VN"], "category": ["a", "b"]}
    )
    score = evaluate_trend_detection(rep, pattern, creators=creators)
    assert score.pattern_segments == (("VN", "a"),)
    assert score.lag_days == 0 and score.first_alert == DAY0 + pd.Timedelta(days=35)
    assert score.n_false_before_onset == int((rep.alerts["day"] < score.onset).sum()) >= 1
    assert score.n_false_other_segments >= 1
    assert score.n_true_alerts + score.n_false_alerts == rep.n_alerts
    monitored = rep.daily.loc[rep.daily["status"].isin(["ok", "alert"]), "day"].nunique()
    assert score.monitored_weeks == pytest.approx(monitored / 7)
    assert score.false_alerts_per_week == pytest.approx(score.n_false_alerts / (monitored / 7))
    # without the creators table every segment of the market counts
    loose = evaluate_trend_detection(rep, pattern)
    assert loose.pattern_segments == (("VN", "a"), ("VN", "b"))
    # a pattern that never shows
    late = InjectedPattern("MY", DAY0 + pd.Timedelta(days=45), (), "none", 4.0)
    missed = evaluate_trend_detection(rep, late)
    assert not missed.detected and missed.lag_days is None and "not detected" in str(missed)


def test_trend_errors_say_what_to_pass():
    frame = synthetic(n_days=20)
    with pytest.raises(MonitorError, match=r"sessions is a dict"):
        detect_trends({}, features=FEATURES)
    with pytest.raises(MonitorError, match=r"sessions lacks column\(s\) \['nope'\]"):
        detect_trends(frame, features=["nope"])
    with pytest.raises(MonitorError, match=r"no features to monitor"):
        detect_trends(frame[["ended_at", "market", "category"]])
    with pytest.raises(MonitorError, match=r"features \['market'\] are not numeric"):
        detect_trends(frame, features=["market"])
    with pytest.raises(MonitorError, match=r"sessions has no rows"):
        detect_trends(frame.iloc[:0], features=FEATURES)
    with pytest.raises(MonitorError, match=r"segment=\(\) names no column"):
        detect_trends(frame, features=FEATURES, segment=())
    with pytest.raises(MonitorError, match=r"min_baseline_days=30 exceeds baseline_days=28"):
        detect_trends(frame, features=FEATURES, min_baseline_days=30)
    with pytest.raises(MonitorError, match=r"threshold=0 must be a positive finite number"):
        detect_trends(frame, features=FEATURES, threshold=0)
    with pytest.raises(MonitorError, match=r"is datetime64\[us\], not a timezone-aware"):
        detect_trends(
            frame.assign(ended_at=frame["ended_at"].dt.tz_localize(None)), features=FEATURES
        )
    with pytest.raises(MonitorError, match=r"has 1 missing time"):
        detect_trends(
            frame.assign(ended_at=frame["ended_at"].where(frame.index != 0)), features=FEATURES
        )
    with pytest.raises(MonitorError, match=r"since='soon' is not a timestamp"):
        detect_trends(frame, features=FEATURES, since="soon")
    with pytest.raises(MonitorError, match=r"sessions lacks column\(s\) \['risk'\]"):
        detect_trends(frame, features=FEATURES, score_col="risk")
    rep = detect_trends(frame, features=FEATURES)
    with pytest.raises(MonitorError, match=r"\['shop'\] are not segment columns"):
        rep.history(shop="x")
    by_category = detect_trends(frame, features=FEATURES, segment=("category",))
    pattern = InjectedPattern("VN", DAY0, (), "x", 1.0)
    with pytest.raises(MonitorError, match=r"do not include 'market'"):
        evaluate_trend_detection(by_category, pattern)
    with pytest.raises(MonitorError, match=r"creators lacks column\(s\) \['category'\]"):
        evaluate_trend_detection(
            rep, pattern, creators=pd.DataFrame({"creator_id": [], "market": []})
        )


# ----------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    world = govml.simulate(n_creators=400, n_days=120, seed=3)  # the small_world
    return govml.write_world(world, tmp_path_factory.mktemp("monitor") / "world")


def test_cli_monitor_prints_drift_and_trends_and_writes_tables(
    world_dir, small_models, tmp_path, capsys
):
    _, path = small_models["low_quality"]
    out = tmp_path / "mon"
    argv = [
        "monitor",
        "--tables",
        str(world_dir),
        "--model",
        str(path),
        "--reference",
        "2025-08-15:2025-10-15",
        "--current",
        "2025-11-01:2025-12-13",
        "--out",
        str(out),
    ]
    assert govml.cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "drift:" in printed and "trends:" in printed and "calibration [ALL]" in printed
    drift = pd.read_parquet(out / "drift.parquet")
    assert {"feature", "market", "psi", "status"} <= set(drift.columns)
    assert "score" in set(drift["feature"])
    daily = pd.read_parquet(out / "trend_daily.parquet")
    assert daily["day"].min() == pd.Timestamp("2025-11-01", tz="UTC") and "score" in daily
    assert (out / "trend_alerts.parquet").is_file() and (out / "calibration.parquet").is_file()
    # results are not overwritten silently
    assert govml.cli.main(argv) == 2
    assert "pass --overwrite" in capsys.readouterr().err


def test_cli_monitor_with_the_adversarial_model(world_dir, small_models, capsys):
    _, path = small_models["adversarial"]
    argv = [
        "monitor",
        "--tables",
        str(world_dir),
        "--model",
        str(path),
        "--reference",
        "2025-09-01:2025-09-15",
        "--current",
        "2025-11-20..2025-12-04",
        "--freq",
        "7D",
    ]
    assert govml.cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "drift:" in printed and "calibration" not in printed


def test_cli_monitor_snapshots_creators_on_the_models_training_grid(
    world_dir, small_models, tmp_path, capsys
):
    """Without --freq, the adversarial windows use the grid the model was trained on."""
    import dataclasses

    from govml.model import GovmlModel

    model, _ = small_models["adversarial"]
    weekly = model.training_config().override({"snapshots.freq": "7D"}).to_dict()
    meta = dataclasses.replace(model.metadata, training_config=weekly)
    path = GovmlModel(model.booster, meta).save(tmp_path / "weekly")
    base = ["monitor", "--tables", str(world_dir), "--model", str(path)]
    base += ["--reference", "2025-09-01:2025-09-15", "--current", "2025-11-20:2025-12-04"]

    def rows(extra):
        assert govml.cli.main(base + extra) == 0
        printed = "".join(capsys.readouterr())
        return re.search(
            r"drift of adversarial features and score \(([\d,]+) vs ([\d,]+)", printed
        )[0]

    assert rows([]) == rows(["--freq", "7D"]) != rows(["--freq", "1D"])


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("2025-09-01", r"--current '2025-09-01' must look like D1:D2"),
        ("soon:later", r"are not dates"),
        ("2025-10-01:2025-09-01", r"does not end after it starts"),
        ("2030-01-01:2030-02-01", r"holds no low_quality rows; the sessions end between"),
    ],
)
def test_cli_monitor_rejects_bad_windows(world_dir, small_models, capsys, window, message):
    _, path = small_models["low_quality"]
    argv = [
        "monitor",
        "--tables",
        str(world_dir),
        "--model",
        str(path),
        "--reference",
        "2025-08-15:2025-10-15",
        "--current",
        window,
    ]
    assert govml.cli.main(argv) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err


# ----------------------------------------------------------------------------- frozen baseline


def brute_frozen_z(frame, feature, ref_days, *, min_sessions=20, clip=10.0):
    """z of every (market, category, day) against a frozen reference, written out: same-day
    median / IQR standardisation, segment-day means, the reference's median, MAD, typical
    count and pooled variance (no common-mode correction)."""
    day = (frame["ended_at"] - DAY0).dt.days
    x = frame[feature]
    by_day = x.groupby(day)
    med, q1, q3 = (
        by_day.transform("median"),
        by_day.transform(lambda s: s.quantile(0.25)),
        (by_day.transform(lambda s: s.quantile(0.75))),
    )
    u = ((x - med) / ((q3 - q1) / 1.349)).clip(-clip, clip)
    cells = u.groupby([frame["market"], frame["category"], day])
    mean, var, cnt = cells.mean(), cells.var(ddof=0), cells.size()
    out = {}
    for (market, category), seg_mean in mean.groupby(level=[0, 1]):
        seg_mean = seg_mean.droplevel([0, 1])
        seg_var = var.loc[(market, category)]
        seg_cnt = cnt.loc[(market, category)]
        ref = [d for d in ref_days if seg_cnt.get(d, 0) >= min_sessions]
        a = seg_mean.loc[ref]
        centre = a.median()
        mad = (a - centre).abs().median()
        typical = seg_cnt.loc[ref].median()
        pooled = (seg_var.loc[ref] * seg_cnt.loc[ref]).sum() / seg_cnt.loc[ref].sum()
        for d in seg_mean.index[seg_mean.index > max(ref_days)]:
            n = seg_cnt[d]
            scale = max(1.4826 * mad * math.sqrt(typical / n), math.sqrt(pooled / n))
            out[(market, category, d)] = (seg_mean[d] - centre) / scale
    return out


def test_frozen_z_matches_the_formula_written_out():
    frame = synthetic(n_days=40, seed=4, shift={("TH", "b"): (30, 0.5)})
    # the day that starts before the end (12:00 on Jan 25) belongs to the reference
    rep = detect_trends(
        frame,
        features=FEATURES,
        baseline="frozen",
        reference=("2026-01-03 08:00", "2026-01-25 12:00"),
        common_mode=False,
    )
    assert rep.baseline == "frozen"
    assert rep.reference == (DAY0 + pd.Timedelta(days=2), DAY0 + pd.Timedelta(days=25))
    expected = brute_frozen_z(frame, "avg_watch_min", range(2, 25))
    got = rep.daily[["market", "category"]].assign(
        d=(rep.daily["day"] - DAY0).dt.days, z=rep.z["avg_watch_min"]
    )
    scored = got[got["d"] >= 25]
    assert len(scored) == 15 * len(SEGMENTS) and scored["z"].notna().all()
    for row in scored.itertuples(index=False):
        assert row.z == pytest.approx(expected[(row.market, row.category, row.d)], rel=1e-9)
    # days up to the end of the reference have no baseline yet
    early = rep.daily["day"] < rep.reference[1]
    assert (rep.daily.loc[early, "status"] == "no_baseline").all()
    assert rep.z[early.to_numpy()].isna().all().all()
    assert "baseline frozen on 2026-01-03 .. 2026-01-25" in str(rep)


def test_frozen_baseline_keeps_flagging_a_persistent_shift_and_stops_when_it_ends():
    frame = synthetic(n_days=80, shift={("VN", "a"): (35, 0.25)})
    copy = frame.copy()
    trailing = detect_trends(frame, features=FEATURES)
    frozen = detect_trends(frame, features=FEATURES, baseline="frozen")
    pd.testing.assert_frame_equal(frame, copy)

    def alert_days(rep):
        assert set(zip(rep.alerts["market"], rep.alerts["category"], strict=True)) == {("VN", "a")}
        return set((rep.alerts["day"] - DAY0).dt.days)

    # the trailing baseline absorbs the shift within about two weeks...
    assert min(alert_days(trailing)) == 35 and max(alert_days(trailing)) <= 35 + 14
    # ...the frozen one (default: the first 28 days) flags it to the end of the data
    days = alert_days(frozen)
    assert min(days) == 35 and 79 in days and len(days) >= 0.9 * 45
    assert frozen.reference == (DAY0, DAY0 + pd.Timedelta(days=28))
    assert (
        frozen.daily.loc[frozen.daily["day"] < DAY0 + pd.Timedelta(days=28), "status"]
        .eq("no_baseline")
        .all()
    )
    # a pattern that ends stops alerting the day it ends (a trailing baseline would alert
    # on the return to normal once the pattern is its baseline)
    day = (frame["ended_at"] - DAY0).dt.days
    over = (frame["market"] == "VN") & (frame["category"] == "a") & (day >= 50)
    ended = frame.assign(
        avg_watch_min=frame["avg_watch_min"].where(~over, copy["avg_watch_min"] * 4)
    )
    days = alert_days(detect_trends(ended, features=FEATURES, baseline="frozen"))
    assert min(days) == 35 and max(days) == 49


def test_the_default_baseline_stays_the_trailing_one():
    frame = synthetic(shift={("VN", "a"): (35, 0.4)})
    default = detect_trends(frame, features=FEATURES)
    trailing = detect_trends(frame, features=FEATURES, baseline="trailing")
    assert default.baseline == "trailing" and default.reference is None
    for a, b in ((default.daily, trailing.daily), (default.z, trailing.z)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(default.alerts, trailing.alerts)
    assert str(default) == str(trailing) and "frozen" not in str(default)
    assert str(default).splitlines()[0].endswith("at least 20 sessions)")


def test_frozen_baseline_is_point_in_time():
    frame = synthetic(n_days=60, seed=11, shift={("ID", "b"): (35, 2.0)})
    rng = np.random.default_rng(1)
    n_new = 400
    pick = rng.integers(0, len(SEGMENTS), n_new)
    future = pd.DataFrame(
        {
            "ended_at": (
                DAY0
                + pd.Timedelta(days=45)
                + pd.to_timedelta(rng.integers(0, 20 * 86_400, n_new), unit="s")
            ).astype("datetime64[us, UTC]"),
            "market": [SEGMENTS[i][0] for i in pick],
            "category": [SEGMENTS[i][1] for i in pick],
            "peak_ratio": rng.choice([0.0, 1.0, 1e6], n_new),
            "avg_watch_min": rng.choice([-1e9, 0.0, 1e9], n_new),
            "viewers_log": rng.normal(0, 1e3, n_new),
        }
    )
    cut = DAY0 + pd.Timedelta(days=45)
    for reference in (None, ("2026-01-05", "2026-02-01")):
        known = detect_trends(
            frame[frame["ended_at"] < cut],
            features=FEATURES,
            baseline="frozen",
            reference=reference,
        )
        later = detect_trends(
            pd.concat([frame, future], ignore_index=True),
            features=FEATURES,
            baseline="frozen",
            reference=reference,
        )
        keep = later.daily["day"] < cut
        pd.testing.assert_frame_equal(known.daily, later.daily[keep])
        pd.testing.assert_frame_equal(known.z, later.z[keep.to_numpy()])
        assert known.reference == later.reference
        assert known.n_alerts >= 5  # the ID x b shift from day 35 on


def test_frozen_baseline_keeps_flagging_the_injected_pattern_until_the_end(pattern_world):
    world, fs = pattern_world
    pattern = world.truth.pattern
    trailing = detect_trends(fs)
    frozen = detect_trends(
        fs, baseline="frozen", reference=(fs.frame["ended_at"].min(), pattern.started_at)
    )
    lasts = (frozen.last_day - pattern.started_at.floor("D")).days + 1  # 30 days

    def flagged(rep):
        score = evaluate_trend_detection(rep, pattern, creators=world.tables.creators)
        a = rep.alerts
        true = a[(a["market"] == pattern.market) & (a["day"] >= score.onset)]
        return score, true["day"].nunique(), true["day"].max()

    score, days, last = flagged(frozen)
    assert score.detected and score.lag_days <= 2
    assert last == frozen.last_day and days >= 0.8 * lasts  # measured: 28 of 30 days
    assert score.n_false_alerts <= 2 and score.false_alerts_per_week <= 0.5
    top = frozen.alerts[frozen.alerts["day"] >= score.onset]["top_features"].str[0]
    assert top.eq("peak_ratio").mean() >= 0.5
    # the trailing baseline absorbs it: alerts stop long before the data ends
    t_score, t_days, t_last = flagged(trailing)
    assert t_score.detected and t_last <= score.onset + pd.Timedelta(days=21)
    assert t_days < days


def test_frozen_baseline_errors_say_what_to_pass():
    frame = synthetic(n_days=40)
    with pytest.raises(
        MonitorError, match=r"baseline='rolling' is not one of \['trailing', 'frozen'\]"
    ):
        detect_trends(frame, features=FEATURES, baseline="rolling")
    with pytest.raises(MonitorError, match=r"only applies to baseline='frozen'"):
        detect_trends(frame, features=FEATURES, reference=("2026-01-01", "2026-01-20"))
    with pytest.raises(MonitorError, match=r"must be a \(start, end\) pair"):
        detect_trends(
            frame, features=FEATURES, baseline="frozen", reference="2026-01-01:2026-01-20"
        )
    with pytest.raises(MonitorError, match=r"must be a \(start, end\) pair"):
        detect_trends(frame, features=FEATURES, baseline="frozen", reference=("2026-01-01",))
    with pytest.raises(MonitorError, match=r"reference start='soon' is not a timestamp"):
        detect_trends(frame, features=FEATURES, baseline="frozen", reference=("soon", "2026-01-20"))
    with pytest.raises(MonitorError, match=r"does not end after it starts"):
        detect_trends(
            frame, features=FEATURES, baseline="frozen", reference=("2026-01-20", "2026-01-01")
        )
    # a reference before the data, or too short for min_baseline_days
    with pytest.raises(MonitorError, match=r"gives no segment a baseline.*the best segment has 0"):
        detect_trends(
            frame, features=FEATURES, baseline="frozen", reference=("2025-01-01", "2025-02-01")
        )
    with pytest.raises(
        MonitorError, match=r"min_baseline_days=14 days .*\(the best segment has 10\)"
    ):
        detect_trends(
            frame, features=FEATURES, baseline="frozen", reference=("2026-01-01", "2026-01-11")
        )


@pytest.fixture(scope="module")
def pattern_dir(pattern_world, tmp_path_factory):
    world, _ = pattern_world
    return govml.write_world(world, tmp_path_factory.mktemp("pattern") / "world")


def test_cli_monitor_with_a_frozen_trend_baseline(
    pattern_dir, pattern_world, small_models, tmp_path, capsys
):
    world, _ = pattern_world
    _, path = small_models["low_quality"]
    out = tmp_path / "mon"
    base = ["monitor", "--tables", str(pattern_dir), "--model", str(path)]
    windows = ["--reference", "2025-08-15:2025-10-01", "--current", "2025-10-15:2025-11-23"]
    argv = [*base, *windows, "--trend-baseline", "frozen", "--out", str(out)]
    assert govml.cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "baseline frozen on 2025-08-15 .. 2025-09-30" in printed
    alerts = pd.read_parquet(out / "trend_alerts.parquet")
    vn = alerts[alerts["market"] == world.truth.pattern.market]
    assert vn["day"].max() == pd.Timestamp("2025-11-22", tz="UTC")  # the data's last day
    assert vn["day"].min() <= world.truth.pattern.started_at + pd.Timedelta(days=2)
    # a reference window too thin for any segment is a user error: one line, exit 2
    thin = ["--reference", "2025-08-15:2025-08-20", "--current", "2025-10-15:2025-11-23"]
    assert govml.cli.main([*base, *thin, "--trend-baseline", "frozen"]) == 2
    assert "gives no segment a baseline" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        govml.cli.main([*base, *windows, "--trend-baseline", "rolling"])
    assert "invalid choice: 'rolling'" in capsys.readouterr().err
