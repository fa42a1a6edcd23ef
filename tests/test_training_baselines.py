"""Baselines: rules, logistic regression and the oracle, on small frames with categoricals and NaNs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from govml._exceptions import TrainingError
from govml.training.baselines import LogisticBaseline, OracleScorer, Rule, RulesBaseline
from govml.training.metrics import compare, evaluate
from govml.training.splits import time_split

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def small() -> tuple[pd.DataFrame, np.ndarray]:
    X = pd.DataFrame(
        {
            "report_rate": [0.0, 1.0, 2.0, 8.0, 9.0, np.nan, 0.5, 7.0],
            "points_active": pd.array([0, 0, 4, 12, 0, 1, None, 5], dtype="Int64"),
            "is_business": [True, False, False, False, True, False, True, False],
            "market": pd.Series(["ID", "TH", "ID", None, "TH", "VN", "ID", "TH"], dtype="str"),
            "category": pd.Categorical(
                ["beauty", "home", "home", "food", "food", "home", None, "beauty"]
            ),
        }
    )
    y = np.array([0, 0, 0, 1, 1, 0, 0, 1])
    return X, y


def world(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """A small synthetic world with a known true probability per (creator, snapshot)."""
    rng = np.random.default_rng(seed)
    market = rng.choice(["ID", "TH", "VN", "PH"], n)
    report_rate = rng.gamma(1.0, 2.0, n)
    points = rng.poisson(1.0, n).astype(float)
    effect = {"ID": 0.0, "TH": 0.5, "VN": -0.5, "PH": 0.2}
    logit = -3.0 + 0.35 * report_rate + 0.5 * points + np.vectorize(effect.get)(market)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p).astype(int)
    report_rate[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "creator_id": [f"c{i}" for i in range(n)],
            "snapshot_at": (T0 + pd.to_timedelta(rng.integers(0, 60 * 86400, n), unit="s")).as_unit(
                "us"
            ),
            "market": market,
            "report_rate": report_rate,
            "points_active": points,
            "true_p": p,
            "label": y,
        }
    )


# --------------------------------------------------------------------------- rules


def test_rules_quantile_thresholds_points_and_calibration():
    X, y = small()
    before = X.copy(deep=True)
    rules = [
        Rule("report_rate", points=2, quantile=0.5),
        Rule("report_rate", points=1, quantile=0.9),  # a second tier on the same column
        Rule("points_active", threshold=3),
    ]
    m = RulesBaseline(rules).fit(X, y)
    pd.testing.assert_frame_equal(X, before)
    rr = X["report_rate"].dropna().to_numpy()
    assert m.thresholds_.tolist() == [
        pytest.approx(np.quantile(rr, 0.5)),
        pytest.approx(np.quantile(rr, 0.9)),
        3.0,
    ]
    # median of [0, 1, 2, 8, 9, .5, 7] = 2; q90 = 8.4
    assert m.thresholds_[0] == 2.0
    points = m.decision_function(X)
    #            0    1    2    3    4    nan  .5   7   (report_rate)
    #            0    0    4   12    0    1   NA    5   (points_active)
    assert points.tolist() == [0, 0, 1, 3, 3, 0, 0, 3]
    proba = m.predict_proba(X)
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # isotonic: monotone in points
    order = np.argsort(points, kind="stable")
    assert np.all(np.diff(proba[order, 1]) >= -1e-12)
    assert m.predict(X).tolist() == (proba[:, 1] >= 0.5).astype(int).tolist()
    table = m.rules_table()
    assert table["source"].tolist() == ["quantile 0.5", "quantile 0.9", "given"]
    assert table["threshold"].tolist() == m.thresholds_.tolist()
    assert m.rules[0].threshold is None  # constructor parameters are not modified


def test_rules_direction_nan_bool_and_uncalibrated():
    X, y = small()
    m = RulesBaseline(
        [
            Rule("report_rate", points=1, threshold=0.75, direction="below"),
            Rule("is_business", points=2, threshold=0.5),
        ],
        calibrate=False,
    ).fit(X, y)
    # below 0.75: rows 0 (0.0) and 6 (0.5); NaN never fires; is_business: rows 0, 4, 6
    assert m.decision_function(X).tolist() == [3, 0, 0, 0, 2, 0, 3, 0]
    np.testing.assert_allclose(m.predict_proba(X)[:, 1], np.array([3, 0, 0, 0, 2, 0, 3, 0]) / 3)
    assert m.calibrator_ is None


def test_rules_column_order_extra_columns_and_clone():
    X, y = small()
    m = RulesBaseline([Rule("report_rate", points=2), Rule("points_active", quantile=0.5)]).fit(
        X, y
    )
    shuffled = X[list(reversed(X.columns))].assign(extra=1)
    np.testing.assert_array_equal(m.predict_proba(X), m.predict_proba(shuffled))
    c = clone(m)
    assert c.get_params()["rules"] == m.rules and not hasattr(c, "thresholds_")


def test_rules_errors():
    X, y = small()
    with pytest.raises(TrainingError, match="needs at least one Rule"):
        RulesBaseline().fit(X, y)
    with pytest.raises(TrainingError, match=r"rules\[0\]=\('report_rate', 2\) is not a govml Rule"):
        RulesBaseline([("report_rate", 2)]).fit(X, y)
    with pytest.raises(TrainingError, match="direction='over' must be 'above' or 'below'"):
        RulesBaseline([Rule("report_rate", direction="over")]).fit(X, y)
    with pytest.raises(TrainingError, match="points must be finite"):
        RulesBaseline([Rule("report_rate", points=np.inf)]).fit(X, y)
    with pytest.raises(
        TrainingError, match="give a threshold or a quantile in \\[0, 1\\], got quantile=1.5"
    ):
        RulesBaseline([Rule("report_rate", quantile=1.5)]).fit(X, y)
    with pytest.raises(TrainingError, match="got quantile=None"):
        RulesBaseline([Rule("report_rate", quantile=None)]).fit(X, y)
    with pytest.raises(
        TrainingError, match=r"X is missing column\(s\) \['viewer_reports', 'gmv'\]"
    ):
        RulesBaseline([Rule("viewer_reports"), Rule("gmv"), Rule("report_rate")]).fit(X, y)
    with pytest.raises(
        TrainingError, match="column 'market' has dtype str; a threshold rule needs"
    ):
        RulesBaseline([Rule("market")]).fit(X, y)
    with pytest.raises(TrainingError, match="column 'empty' has no non-missing value"):
        RulesBaseline([Rule("empty")]).fit(X.assign(empty=np.nan), y)
    m = RulesBaseline([Rule("report_rate")]).fit(X, y)
    with pytest.raises(
        TrainingError, match=r"decision_function: X is missing column\(s\) \['report_rate'\]"
    ):
        m.predict_proba(X.drop(columns="report_rate"))


def test_not_fitted_errors_chain_sklearn():
    X, _ = small()
    for est in (
        RulesBaseline([Rule("report_rate")]),
        LogisticBaseline(),
        OracleScorer(pd.DataFrame()),
    ):
        with pytest.raises(
            TrainingError, match=f"this {type(est).__name__} is not fitted yet"
        ) as info:
            est.predict_proba(X)
        assert isinstance(info.value.__cause__, NotFittedError)
    with pytest.raises(TrainingError, match="RulesBaseline is not fitted yet"):
        RulesBaseline([Rule("report_rate")]).rules_table()
    with pytest.raises(TrainingError, match="LogisticBaseline is not fitted yet"):
        LogisticBaseline().coefficients()


@pytest.mark.parametrize("est", [RulesBaseline([Rule("report_rate")]), LogisticBaseline()])
def test_label_and_frame_errors(est):
    X, y = small()
    with pytest.raises(
        TrainingError, match="needs a pandas DataFrame with named columns, got ndarray"
    ):
        est.fit(X.to_numpy(), y)
    with pytest.raises(TrainingError, match="y has 7 values but X has 8 rows"):
        est.fit(X, y[:-1])
    with pytest.raises(TrainingError, match=r"y has 1 missing label\(s\)"):
        est.fit(X, [0, 1, None, 1, 0, 0, 1, 0])
    with pytest.raises(TrainingError, match=r"y must hold only 0/1 \(or bool\), found \[2.0\]"):
        est.fit(X, y * 2)
    with pytest.raises(TrainingError, match="y has dtype str; expected 0/1 or bool"):
        est.fit(X, pd.Series(["a"] * 8, dtype="str"))
    with pytest.raises(TrainingError, match=r"y has a single class \(0 positive of 8\)"):
        est.fit(X, np.zeros(8))


# --------------------------------------------------------------------------- logistic


def test_logistic_with_categoricals_and_nans():
    X, y = small()
    before = X.copy(deep=True)
    m = LogisticBaseline().fit(X, y)
    pd.testing.assert_frame_equal(X, before)
    assert m.numeric_ == ("report_rate", "points_active", "is_business")
    assert m.categorical_ == ("market", "category")
    proba = m.predict_proba(X)
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isfinite(proba).all()
    # positives score higher than negatives on the training data
    assert proba[y == 1, 1].min() > proba[y == 0, 1].max()
    coefs = m.coefficients()
    assert "numeric__report_rate" in coefs.index
    assert "categorical__market_(missing)" in coefs.index
    # unseen levels are ignored (all-zero one-hot), column order does not matter
    new = X.iloc[:2].assign(market=["MY", "SG"], category=["sports", "health"])
    assert np.isfinite(m.predict_proba(new[list(reversed(new.columns))])).all()
    assert m.predict(X).shape == (8,)


def test_logistic_explicit_features_and_categorical():
    X, y = small()
    frame = X.assign(creator_id=[f"c{i}" for i in range(8)], snapshot_at=T0)
    m = LogisticBaseline(["report_rate", "market", "points_active"], categorical=["market"]).fit(
        frame, y
    )
    assert m.features_ == ("report_rate", "points_active", "market")
    assert m.predict_proba(frame[["market", "points_active", "report_rate"]]).shape == (8, 2)
    # a numeric column may be declared categorical
    m = LogisticBaseline(["points_active"], categorical=["points_active"]).fit(X, y)
    assert m.categorical_ == ("points_active",)
    # inferred features skip datetime columns
    m = LogisticBaseline().fit(X.assign(snapshot_at=T0), y)
    assert "snapshot_at" not in m.features_


def test_logistic_probabilities_are_calibrated_by_default():
    f = world(3000)
    X = f[["report_rate", "points_active", "market"]]
    plain = LogisticBaseline().fit(X, f["label"])
    balanced = LogisticBaseline(class_weight="balanced").fit(X, f["label"])
    assert plain.predict_proba(X)[:, 1].mean() == pytest.approx(f["label"].mean(), abs=0.01)
    assert balanced.predict_proba(X)[:, 1].mean() > f["label"].mean() + 0.1
    assert clone(balanced).get_params()["class_weight"] == "balanced"


def test_logistic_errors():
    X, y = small()
    with pytest.raises(
        TrainingError, match=r"LogisticBaseline.fit: X is missing column\(s\) \['gmv'\]"
    ):
        LogisticBaseline(["report_rate", "gmv"]).fit(X, y)
    with pytest.raises(TrainingError, match="no feature columns to fit on"):
        LogisticBaseline([]).fit(X, y)
    with pytest.raises(TrainingError, match=r"categorical column\(s\) \['market'\] are not among"):
        LogisticBaseline(["report_rate"], categorical=["market"]).fit(X, y)
    with pytest.raises(TrainingError, match="feature 'snapshot_at' is a datetime column"):
        LogisticBaseline(["report_rate", "snapshot_at"]).fit(X.assign(snapshot_at=T0), y)
    with pytest.raises(
        TrainingError, match="feature 'market' has dtype str but is not listed as categ"
    ):
        LogisticBaseline(["report_rate", "market"], categorical=[]).fit(X, y)
    many = pd.DataFrame({"x": np.arange(120.0), "creator_id": [f"c{i}" for i in range(120)]})
    with pytest.raises(
        TrainingError, match="column 'creator_id' has 120 distinct values in 120 rows"
    ):
        LogisticBaseline().fit(many, np.arange(120) % 2)
    m = LogisticBaseline().fit(X, y)
    with pytest.raises(
        TrainingError, match=r"predict_proba: X is missing column\(s\) \['market', 'category'\]"
    ):
        m.predict_proba(X.drop(columns=["market", "category"]))


# --------------------------------------------------------------------------- oracle


def test_oracle_aligns_by_key_and_time():
    f = world(200)
    truth = f[["creator_id", "snapshot_at", "true_p"]]
    before = truth.copy(deep=True)
    oracle = OracleScorer(truth, key_col="creator_id", time_col="snapshot_at", prob_col="true_p")
    X = f.sample(frac=1.0, random_state=1)[["snapshot_at", "creator_id"]]
    X = X.assign(snapshot_at=X["snapshot_at"].dt.tz_convert("Asia/Jakarta"))  # same instants
    proba = oracle.fit(X).predict_proba(X)
    pd.testing.assert_frame_equal(truth, before)
    expected = f.set_index("creator_id").loc[X["creator_id"], "true_p"].to_numpy()
    np.testing.assert_allclose(proba[:, 1], expected)
    np.testing.assert_allclose(proba[:, 0], 1 - expected)
    assert oracle.predict(X).tolist() == (expected >= 0.5).astype(int).tolist()


def test_oracle_multi_column_key_and_repeated_entities():
    t = pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-01"], utc=True).as_unit("us")
    truth = pd.DataFrame(
        {
            "creator_id": ["a", "a", "b"],
            "market": ["ID", "ID", "TH"],
            "snapshot_at": t,
            "p": [0.1, 0.2, 0.3],
        }
    )
    oracle = OracleScorer(
        truth, key_col=["creator_id", "market"], time_col="snapshot_at", prob_col="p"
    )
    X = truth.iloc[[2, 0, 1, 0]][["market", "creator_id", "snapshot_at"]]
    assert oracle.fit().predict_proba(X)[:, 1].tolist() == [0.3, 0.1, 0.2, 0.1]


def test_oracle_errors():
    t = pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True).as_unit("us")
    truth = pd.DataFrame({"creator_id": ["a", "a"], "snapshot_at": t, "p": [0.1, 0.7]})
    kw = {"key_col": "creator_id", "time_col": "snapshot_at", "prob_col": "p"}
    with pytest.raises(
        TrainingError, match="OracleScorer truth needs a pandas DataFrame .* got NoneType"
    ):
        OracleScorer(**kw).fit()
    with pytest.raises(
        TrainingError, match=r"OracleScorer truth: X is missing column\(s\) \['p'\]"
    ):
        OracleScorer(truth.drop(columns="p"), **kw).fit()
    with pytest.raises(TrainingError, match=r"'p' has 2 value\(s\) missing or outside \[0, 1\]"):
        OracleScorer(truth.assign(p=[1.5, np.nan]), **kw).fit()
    with pytest.raises(TrainingError, match=r"1 duplicate \(creator_id, snapshot_at\) row"):
        OracleScorer(truth.assign(snapshot_at=t[0]), **kw).fit()
    with pytest.raises(TrainingError, match="time column 'snapshot_at' is timezone-naive"):
        OracleScorer(truth.assign(snapshot_at=t.tz_localize(None)), **kw).fit()
    oracle = OracleScorer(truth, **kw).fit()
    X = pd.DataFrame(
        {"creator_id": ["a", "b", "a"], "snapshot_at": [t[0], t[0], t[0] + pd.Timedelta("1s")]}
    )
    with pytest.raises(
        TrainingError,
        match=r"2 of 3 rows have no ground-truth probability for \(creator_id, snapshot_at\), e\.g\. \[\('b'",
    ):
        oracle.predict_proba(X)
    with pytest.raises(
        TrainingError,
        match=r"OracleScorer.predict_proba: X is missing column\(s\) \['creator_id'\]",
    ):
        oracle.predict_proba(X.drop(columns="creator_id"))


# --------------------------------------------------------------------------- end to end


def test_split_fit_evaluate_compare_end_to_end():
    f = world(6000)
    split = time_split(f, time_col="snapshot_at", gap="2D", label_col="label")
    train, _, test = split.frames(f)
    features = ["report_rate", "points_active", "market"]
    scorers = {
        "rules": RulesBaseline(
            [
                Rule("report_rate", points=1, quantile=0.8),
                Rule("points_active", points=1, threshold=1),
            ]
        ).fit(train[features], train["label"]),
        "logistic": LogisticBaseline(features, categorical=["market"]).fit(train, train["label"]),
        "oracle": OracleScorer(
            f[["creator_id", "snapshot_at", "true_p"]],
            key_col="creator_id",
            time_col="snapshot_at",
            prob_col="true_p",
        ).fit(),
    }
    scored = test.assign(**{name: est.predict_proba(test)[:, 1] for name, est in scorers.items()})
    evs = {
        name: evaluate(
            scored,
            score_col=name,
            label_col="label",
            time_col="snapshot_at",
            market_col="market",
            capacity=10,
            n_bootstrap=50,
        )
        for name in scorers
    }
    table = compare(evs)
    assert table.loc["oracle", "roc_auc"] >= table.loc["logistic", "roc_auc"] - 0.01
    assert table.loc["logistic", "roc_auc"] > table.loc["rules", "roc_auc"]
    assert table.loc["rules", "roc_auc"] > 0.6
    assert table.loc["logistic", "ece"] < 0.05
    assert len(compare(evs, text=True)) == 3
