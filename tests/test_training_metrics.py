"""Evaluation metrics: exact values on hand-computed examples, agreement with scikit-learn,
the daily review queue, calibration, and the day-block bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from govml._exceptions import TrainingError
from govml.training.metrics import (
    METRIC_NAMES,
    Evaluation,
    MetricSet,
    _prepare_segment,
    _weighted_metrics,
    compare,
    evaluate,
    evaluate_reviewed,
)

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def days(*offsets: float) -> pd.Series:
    return pd.Series([T0 + pd.Timedelta(days=o) for o in offsets]).dt.as_unit("us")


def hand_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
            "label": [1, 0, 1, 1, 0, 0],
            "t": days(0, 0, 0.5, 1, 1, 1.2),
        }
    )


def synthetic(n: int = 6000, n_days: int = 30, seed: int = 0, markets=("ID", "TH", "VN")):
    """Calibrated scores p with labels ~ Bernoulli(p), over n_days days."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 4.0, n)
    y = (rng.random(n) < p).astype(int)
    t = T0 + pd.to_timedelta(rng.integers(0, n_days * 86400, n), unit="s")
    return pd.DataFrame(
        {
            "p": p,
            "noisy": np.clip(p + rng.normal(0, 0.2, n), 0, 1),
            "y": y,
            "t": t.as_unit("us"),
            "market": rng.choice(list(markets), n),
        }
    )


def ev(frame, score="score", label="label", **kw) -> Evaluation:
    kw.setdefault("n_bootstrap", 0)
    return evaluate(frame, score_col=score, label_col=label, time_col=kw.pop("time", "t"), **kw)


# --------------------------------------------------------------------------- exact values


def test_hand_computed_values():
    e = ev(hand_frame(), capacity=1)
    o = e.overall
    # positives 0.9, 0.7, 0.6; negatives 0.8, 0.5, 0.4: 7 of 9 pairs ordered correctly
    assert o.roc_auc.value == pytest.approx(7 / 9)
    # AP = 1/3 * (1/1 + 2/3 + 3/4)
    assert o.pr_auc.value == pytest.approx(29 / 36)
    assert o.brier.value == pytest.approx((0.01 + 0.64 + 0.09 + 0.16 + 0.25 + 0.16) / 6)
    # precision at thresholds: 1, 1/2, 2/3, 3/4, 3/5, 1/2 -> only the top-1 reaches 0.8
    assert o.recall_at_precision.value == pytest.approx(1 / 3)
    # day 1 top-1 = 0.9 (positive), day 2 top-1 = 0.6 (positive)
    assert o.precision_at_k.value == 1.0
    assert (o.n_rows, o.n_positive, o.n_days) == (6, 3, 2)
    assert (e.n_rows, e.n_positive) == (6, 3)
    assert ev(hand_frame(), target_precision=0.75).overall.recall_at_precision.value == 1.0
    assert ev(hand_frame(), capacity=2).overall.precision_at_k.value == pytest.approx(
        (1 / 2 + 1 / 2) / 2
    )
    assert ev(hand_frame(), capacity=3).overall.precision_at_k.value == pytest.approx(
        (2 / 3 + 1 / 3) / 2
    )


def test_recall_is_zero_when_precision_target_unreachable():
    f = hand_frame().assign(label=[0, 1, 0, 1, 0, 1])
    assert ev(f).overall.recall_at_precision.value == 0.0


def test_agreement_with_scikit_learn_with_ties():
    rng = np.random.default_rng(7)
    n = 3000
    score = np.round(rng.random(n), 2)  # many ties
    label = (rng.random(n) < score).astype(int)
    f = pd.DataFrame({"score": score, "label": label, "t": days(*rng.integers(0, 20, n))})
    o = ev(f).overall
    assert o.roc_auc.value == pytest.approx(roc_auc_score(label, score), abs=1e-12)
    assert o.pr_auc.value == pytest.approx(average_precision_score(label, score), abs=1e-12)
    assert o.brier.value == pytest.approx(brier_score_loss(label, score), abs=1e-12)


def test_weighted_kernel_matches_scikit_learn_sample_weight():
    """The bootstrap reweights rows; the weighted kernel must equal sklearn's weighted metrics."""
    rng = np.random.default_rng(3)
    n = 500
    score = np.round(rng.random(n), 1)
    label = (rng.random(n) < score).astype(np.float64)
    day = rng.integers(0, 10, n)
    seg = _prepare_segment("x", score, label, day, {}, 10)
    w_rows = rng.integers(0, 4, n).astype(np.float64)
    order = np.lexsort((label, -score))
    got = _weighted_metrics(seg, w_rows[order], 0.8)
    assert got[0] == pytest.approx(roc_auc_score(label, score, sample_weight=w_rows))
    assert got[1] == pytest.approx(average_precision_score(label, score, sample_weight=w_rows))
    assert got[2] == pytest.approx(brier_score_loss(label, score, sample_weight=w_rows))


# --------------------------------------------------------------------------- review queue


def queue_frame() -> pd.DataFrame:
    rows = [
        # day 0
        ("A", 0, 0.9, 1),
        ("A", 0, 0.8, 0),
        ("A", 0, 0.3, 1),
        ("B", 0, 0.7, 1),
        ("B", 0, 0.6, 0),
        # day 1
        ("A", 1, 0.5, 0),
        ("A", 1, 0.4, 1),
        ("B", 1, 0.95, 0),
        ("B", 1, 0.2, 0),
        ("B", 1, 0.1, 1),
    ]
    f = pd.DataFrame(rows, columns=["market", "day", "score", "label"])
    return f.assign(t=days(*(f["day"] + 0.25)))


def test_precision_at_k_shared_queue_and_per_market():
    f = queue_frame()
    e = ev(f, market_col="market", capacity=2)
    # one shared queue of 2 per day: day 0 -> 0.9 (1), 0.8 (0); day 1 -> 0.95 (0), 0.5 (0)
    assert e.overall.precision_at_k.value == pytest.approx((0.5 + 0.0) / 2)
    # each market evaluated as its own queue of 2 per day
    assert e.by_market["A"].precision_at_k.value == pytest.approx((0.5 + 0.5) / 2)
    assert e.by_market["B"].precision_at_k.value == pytest.approx((0.5 + 0.0) / 2)


def test_precision_at_k_per_market_capacity():
    f = queue_frame()
    e = ev(f, market_col="market", capacity={"A": 1, "B": 2})
    # A: day 0 top-1 = 0.9 (1); day 1 top-1 = 0.5 (0)
    assert e.by_market["A"].precision_at_k.value == pytest.approx(0.5)
    # B: day 0 top-2 = 0.7 (1), 0.6 (0); day 1 top-2 = 0.95 (0), 0.2 (0)
    assert e.by_market["B"].precision_at_k.value == pytest.approx(0.25)
    # pooled per day: day 0 hits 1 + 1 of 3 reviewed, day 1 hits 0 of 3
    assert e.overall.precision_at_k.value == pytest.approx((2 / 3 + 0) / 2)
    assert dict(e.capacity) == {"A": 1, "B": 2}


def test_precision_at_k_ties_share_slots_and_short_days():
    f = pd.DataFrame(
        {"score": [0.9, 0.5, 0.5, 0.5, 0.1], "label": [0, 1, 0, 0, 1], "t": days(0, 0, 0, 0, 0)}
    )
    # top-2: 0.9 (negative) plus one of three tied rows, one of which is positive
    assert ev(f, capacity=2).overall.precision_at_k.value == pytest.approx((1 / 3) / 2)
    # the tie result does not depend on row order
    assert ev(f.iloc[::-1], capacity=2).overall.precision_at_k.value == pytest.approx(1 / 6)
    # a day with fewer rows than k reviews all of them
    e = ev(f, capacity=10)
    assert e.overall.precision_at_k.value == pytest.approx(2 / 5)
    assert any("fewer rows than the capacity k=10" in n for n in e.overall.notes)


def test_zero_capacity_market_has_undefined_precision():
    e = ev(queue_frame(), market_col="market", capacity={"A": 0, "B": 2})
    assert math.isnan(e.by_market["A"].precision_at_k.value)
    assert any("reviews no rows" in n for n in e.by_market["A"].notes)
    # the pooled queue only counts B's reviews
    assert e.overall.precision_at_k.value == pytest.approx((1 / 2 + 0) / 2)


# --------------------------------------------------------------------------- calibration


def test_ece_hand_computed_equal_mass_bins():
    f = pd.DataFrame(
        {
            "score": [0.1, 0.1, 0.3, 0.3, 0.8, 0.8, 0.9, 0.9],
            "label": [0, 0, 1, 0, 1, 1, 1, 0],
            "t": days(*range(8)),
        }
    )
    # 4 bins of 2 rows: |0 - .1|, |.5 - .3|, |1 - .8|, |.5 - .9|, each weighted 2/8
    assert ev(f, ece_bins=4).overall.ece.value == pytest.approx((0.1 + 0.2 + 0.2 + 0.4) / 4)
    # one bin: |mean label - mean score| = |.5 - .525|
    assert ev(f, ece_bins=1).overall.ece.value == pytest.approx(0.025)


def test_ece_calibrated_vs_miscalibrated():
    rng = np.random.default_rng(11)
    n = 20_000
    p = rng.random(n)
    y = (rng.random(n) < p).astype(int)
    f = pd.DataFrame(
        {"p": p, "over": 0.4 + 0.5 * p, "sq": p**2, "y": y, "t": days(*(np.arange(n) % 20))}
    )
    calibrated = ev(f, score="p", label="y").overall.ece.value
    over = ev(f, score="over", label="y").overall.ece.value
    squared = ev(f, score="sq", label="y").overall.ece.value
    assert calibrated < 0.02
    assert over == pytest.approx(np.mean(np.abs(0.4 + 0.5 * p - p)), abs=0.02)
    assert squared > 0.1
    # ranking is unchanged by a monotone transform; only calibration differs
    assert ev(f, score="sq", label="y").overall.roc_auc.value == pytest.approx(
        ev(f, score="p", label="y").overall.roc_auc.value
    )


def test_scores_that_are_not_probabilities():
    f = hand_frame().assign(score=[9.0, 8.0, 7.0, 6.0, 5.0, 4.0])
    o = ev(f).overall
    assert math.isnan(o.brier.value) and math.isnan(o.ece.value)
    assert o.roc_auc.value == pytest.approx(7 / 9)
    assert any("not probabilities" in n for n in o.notes)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_contains_point_and_is_deterministic():
    f = synthetic()
    a = evaluate(f, score_col="p", label_col="y", time_col="t", capacity=20, n_bootstrap=200)
    for m in a.overall.metrics:
        if m.name == "ece":
            continue  # resampling inflates the ECE of a calibrated score: checked below
        assert m.ci_low <= m.value <= m.ci_high, m
        assert m.ci_low < m.ci_high, m
    b = evaluate(f, score_col="p", label_col="y", time_col="t", capacity=20, n_bootstrap=200)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    c = evaluate(f, score_col="p", label_col="y", time_col="t", capacity=20, seed=1)
    assert c.overall.roc_auc.ci_low != a.overall.roc_auc.ci_low
    assert c.overall.roc_auc.value == a.overall.roc_auc.value


def test_bootstrap_ci_of_a_miscalibrated_ece_contains_the_point():
    f = synthetic(seed=2)
    f = f.assign(over=np.clip(f["p"] * 0.5 + 0.3, 0, 1))
    m = evaluate(f, score_col="over", label_col="y", time_col="t", n_bootstrap=200).overall.ece
    assert m.ci_low <= m.value <= m.ci_high


def test_bootstrap_width_shrinks_with_confidence():
    f = synthetic(n=3000)
    wide = evaluate(f, score_col="p", label_col="y", time_col="t", confidence=0.95).overall
    narrow = evaluate(f, score_col="p", label_col="y", time_col="t", confidence=0.5).overall
    assert (
        narrow.roc_auc.ci_high - narrow.roc_auc.ci_low < wide.roc_auc.ci_high - wide.roc_auc.ci_low
    )


def test_single_day_gives_no_interval():
    f = hand_frame().assign(t=days(0, 0, 0, 0, 0, 0))
    o = evaluate(f, score_col="score", label_col="label", time_col="t").overall
    assert not math.isnan(o.roc_auc.value)
    assert math.isnan(o.roc_auc.ci_low) and math.isnan(o.roc_auc.ci_high)
    assert any("only 1 day" in n for n in o.notes)


def test_no_bootstrap_gives_nan_intervals():
    o = ev(hand_frame()).overall
    assert all(math.isnan(m.ci_low) and math.isnan(m.ci_high) for m in o.metrics)


# --------------------------------------------------------------------------- segments


def test_per_market_and_degenerate_segment():
    f = synthetic(n=3000)
    f.loc[f["market"] == "VN", "y"] = 0  # VN: a single class
    e = evaluate(f, score_col="p", label_col="y", time_col="t", market_col="market", n_bootstrap=50)
    assert list(e.by_market) == ["ID", "TH", "VN"]
    vn = e.by_market["VN"]
    assert isinstance(vn, MetricSet)
    assert math.isnan(vn.roc_auc.value) and math.isnan(vn.pr_auc.value)
    assert math.isnan(vn.recall_at_precision.value) and math.isnan(vn.roc_auc.ci_low)
    assert vn.precision_at_k.value == 0.0
    assert vn.brier.value == pytest.approx(float(np.mean(f.loc[f["market"] == "VN", "p"] ** 2)))
    assert any("only one class (0 positive" in n for n in vn.notes)
    assert any(n.startswith("VN: only one class") for n in e.notes)
    th = f[f["market"] == "TH"]
    assert e.by_market["TH"].roc_auc.value == pytest.approx(roc_auc_score(th["y"], th["p"]))
    assert sum(s.n_rows for s in e.by_market.values()) == e.n_rows
    with pytest.raises(TypeError):
        e.by_market["XX"] = vn  # read-only


def test_bootstrap_notes_skipped_single_class_resamples():
    # positives only on one day of five: many resamples miss that day
    f = pd.DataFrame(
        {
            "score": np.linspace(0.1, 0.9, 10),
            "label": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
            "t": days(0, 0, 1, 1, 2, 2, 3, 3, 4, 4),
        }
    )
    o = evaluate(f, score_col="score", label_col="label", time_col="t", n_bootstrap=100).overall
    assert any("bootstrap resamples held a single class" in n for n in o.notes)
    assert o.roc_auc.ci_low == o.roc_auc.ci_high == 1.0


def test_to_frame_and_str():
    f = synthetic(n=1000)
    e = evaluate(
        f,
        score_col="p",
        label_col="y",
        time_col="t",
        market_col="market",
        n_bootstrap=20,
        sample="random_audit (unbiased)",
    )
    table = e.to_frame()
    assert list(table.columns) == ["metric", "value", "ci_low", "ci_high", "segment", "sample"]
    assert len(table) == 4 * len(METRIC_NAMES)
    assert set(table["segment"]) == {"overall", "ID", "TH", "VN"}
    assert set(table["sample"]) == {"random_audit (unbiased)"}
    row = table[(table["segment"] == "overall") & (table["metric"] == "roc_auc")].iloc[0]
    assert row["value"] == e.overall.roc_auc.value
    text = str(e)
    assert "random_audit (unbiased)" in text and "ROC-AUC" in text and "recall@P0.8" in text
    assert ev(hand_frame()).sample == "as given (sampling not stated)"


def test_inputs_not_mutated_and_row_order_irrelevant():
    f = synthetic(n=1500)
    before = f.copy(deep=True)
    a = evaluate(f, score_col="p", label_col="y", time_col="t", market_col="market", n_bootstrap=30)
    pd.testing.assert_frame_equal(f, before)
    b = evaluate(
        f.sample(frac=1.0, random_state=5),
        score_col="p",
        label_col="y",
        time_col="t",
        market_col="market",
        n_bootstrap=30,
    )
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), atol=1e-12, rtol=0)


def test_bool_labels_nullable_scores_and_other_timezones():
    f = hand_frame()
    g = f.assign(
        label=f["label"].astype(bool),
        score=f["score"].astype("Float64"),
        t=f["t"].dt.tz_convert("Asia/Bangkok"),
    )
    assert ev(g).overall.roc_auc.value == pytest.approx(7 / 9)


# --------------------------------------------------------------------------- compare


def test_compare_numeric_and_text():
    f = synthetic(n=2000)
    evs = {
        name: evaluate(f, score_col=col, label_col="y", time_col="t", n_bootstrap=30)
        for name, col in (("model", "noisy"), ("oracle", "p"))
    }
    table = compare(evs)
    assert list(table.index) == ["model", "oracle"]
    assert table.index.name == "scorer"
    assert table.loc["oracle", "roc_auc"] > table.loc["model", "roc_auc"]
    assert table.loc["model", "roc_auc_low"] <= table.loc["model", "roc_auc"]
    assert {"pr_auc_high", "n_rows", "n_positive"} <= set(table.columns)
    text = compare(evs, text=True)
    assert list(text.columns[:6]) == [
        "ROC-AUC",
        "PR-AUC",
        "Brier",
        "ECE",
        "precision@k",
        "recall@P0.8",
    ]
    assert text.loc["oracle", "ROC-AUC"].startswith(f"{evs['oracle'].overall.roc_auc.value:.3f} [")


def test_compare_market_segment():
    f = synthetic(n=2000)
    evs = {
        c: evaluate(f, score_col=c, label_col="y", time_col="t", market_col="market", n_bootstrap=0)
        for c in ("noisy", "p")
    }
    table = compare(evs, segment="TH")
    assert table.loc["p", "n_rows"] == (f["market"] == "TH").sum()


def test_compare_errors():
    f = synthetic(n=500)
    a = evaluate(f, score_col="p", label_col="y", time_col="t", n_bootstrap=0)
    b = evaluate(f.iloc[:400], score_col="p", label_col="y", time_col="t", n_bootstrap=0)
    c = evaluate(f, score_col="p", label_col="y", time_col="t", n_bootstrap=0, capacity=5)
    with pytest.raises(TrainingError, match="needs at least one evaluation"):
        compare({})
    with pytest.raises(TrainingError, match="'a' and 'b' are not comparable: .*rows 500 vs 400"):
        compare({"a": a, "b": b})
    with pytest.raises(TrainingError, match="capacity 100 per day vs capacity 5 per day"):
        compare({"a": a, "c": c})
    with pytest.raises(
        TrainingError, match="evaluation 'a' has no segment 'TH'; it has \\['overall'\\]"
    ):
        compare({"a": a}, segment="TH")


# --------------------------------------------------------------------------- reviewed sample


def reviewed_frame(seed: int = 0) -> pd.DataFrame:
    f = synthetic(n=4000, seed=seed)
    rng = np.random.default_rng(seed)
    # suspicious sessions are over-represented among non-random reviews
    reason = np.where(
        rng.random(len(f)) < 0.3,
        "random_audit",
        np.where(f["p"] > 0.3, "risk_queue", "viewer_report"),
    )
    return f.assign(sample_reason=reason)


def test_evaluate_reviewed_labels_both_samples():
    f = reviewed_frame()
    before = f.copy(deep=True)
    r = evaluate_reviewed(
        f, score_col="p", label_col="y", time_col="t", n_bootstrap=20, audit_capacity=5
    )
    pd.testing.assert_frame_equal(f, before)
    assert r.random_audit.sample == "random_audit (unbiased)"
    assert r.all_reviewed.sample == "all reviewed (biased by sampling)"
    assert r.unbiased is r.random_audit
    n_audit = int((f["sample_reason"] == "random_audit").sum())
    assert r.random_audit.n_rows == n_audit and r.all_reviewed.n_rows == len(f)
    assert dict(r.sample_counts) == f["sample_reason"].value_counts().sort_index().to_dict()
    assert r.random_audit.capacity == 5 and r.all_reviewed.capacity == 100
    audit = f[f["sample_reason"] == "random_audit"]
    assert r.random_audit.overall.roc_auc.value == pytest.approx(
        roc_auc_score(audit["y"], audit["p"])
    )
    table = r.to_frame()
    assert set(table["sample"]) == {"random_audit (unbiased)", "all reviewed (biased by sampling)"}
    assert "reviewed rows by sample reason: random_audit=" in str(r)


def test_evaluate_reviewed_errors():
    f = reviewed_frame()
    with pytest.raises(TrainingError, match="missing column\\(s\\) sample_col='why'"):
        evaluate_reviewed(f, score_col="p", label_col="y", time_col="t", sample_col="why")
    no_audit = f[f["sample_reason"] != "random_audit"]
    with pytest.raises(TrainingError, match="no row has sample_reason == 'random_audit'"):
        evaluate_reviewed(no_audit, score_col="p", label_col="y", time_col="t")


# --------------------------------------------------------------------------- errors


def test_frame_errors():
    f = hand_frame()
    with pytest.raises(TrainingError, match="expected a pandas DataFrame, got list"):
        evaluate([1, 2], score_col="score", label_col="label", time_col="t")
    with pytest.raises(
        TrainingError, match="missing column\\(s\\) score_col='s', market_col='market'"
    ):
        evaluate(f, score_col="s", label_col="label", time_col="t", market_col="market")
    with pytest.raises(TrainingError, match="the frame to evaluate has no rows"):
        ev(f.iloc[:0])


def test_score_errors():
    f = hand_frame()
    with pytest.raises(TrainingError, match="score column 'score' has dtype str; expected numeric"):
        ev(f.assign(score=f["score"].astype(str)))
    with pytest.raises(TrainingError, match="score column 'score' has dtype bool"):
        ev(f.assign(score=f["score"] > 0.5))
    with pytest.raises(
        TrainingError, match=r"2 missing or infinite value\(s\) \(first at positions \[1, 4\]\)"
    ):
        ev(f.assign(score=[0.9, np.nan, 0.7, 0.6, np.inf, 0.4]))


def test_label_and_time_errors():
    f = hand_frame()
    with pytest.raises(TrainingError, match=r"label column 'label' has 1 missing value\(s\)"):
        ev(f.assign(label=[1, 0, None, 1, 0, 0]))
    with pytest.raises(TrainingError, match="must hold only 0/1"):
        ev(f.assign(label=[1, 0, 2, 1, 0, 0]))
    with pytest.raises(TrainingError, match="time column 't' is timezone-naive"):
        ev(f.assign(t=f["t"].dt.tz_localize(None)))


def test_market_and_capacity_errors():
    f = queue_frame()
    with pytest.raises(TrainingError, match=r"market column 'market' has 1 missing value\(s\)"):
        ev(f.assign(market=f["market"].where(f.index != 0)), market_col="market")
    with pytest.raises(TrainingError, match="capacity is a mapping market -> k but market_col"):
        ev(f, capacity={"A": 1, "B": 1})
    with pytest.raises(TrainingError, match=r"capacity has no entry for market\(s\) \['B'\]"):
        ev(f, market_col="market", capacity={"A": 1})
    with pytest.raises(TrainingError, match=r"capacity\['A'\]=-1 must be a non-negative integer"):
        ev(f, market_col="market", capacity={"A": -1, "B": 1})
    with pytest.raises(TrainingError, match=r"capacity\['A'\]=1.5 must be a non-negative integer"):
        ev(f, market_col="market", capacity={"A": 1.5, "B": 1})
    for bad in (0, -3, 2.5, True):
        with pytest.raises(TrainingError, match=f"capacity={bad!r} must be a positive integer"):
            ev(f, capacity=bad)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_precision": 0.0}, "target_precision=0.0 must be in \\(0, 1\\]"),
        ({"target_precision": 1.2}, "target_precision=1.2 must be in"),
        ({"n_bootstrap": -1}, "n_bootstrap=-1 must be a non-negative integer"),
        ({"n_bootstrap": 10.0}, "n_bootstrap=10.0 must be a non-negative integer"),
        ({"confidence": 1.0}, "confidence=1.0 must be in \\(0, 1\\)"),
        ({"ece_bins": 0}, "ece_bins=0 must be a positive integer"),
        ({"seed": -1}, "seed=-1 must be a non-negative integer"),
    ],
)
def test_option_errors(kwargs, match):
    with pytest.raises(TrainingError, match=match):
        ev(hand_frame(), **kwargs)
