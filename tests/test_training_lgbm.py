"""fit_lightgbm: determinism, the categorical contract at training, early stopping, errors."""

import numpy as np
import pandas as pd
import pytest

from govml import TrainingError
from govml.model import _prepare
from govml.training.lgbm import DEFAULT_PARAMS, fit_lightgbm

FEATURES = ["viewers", "likes_rate", "static_share", "market", "category"]
CATEGORICAL = ["market", "category"]
SMALL = {"num_leaves": 15, "min_data_in_leaf": 20, "learning_rate": 0.1, "min_data_per_group": 20}


def make_frame(n, seed, *, base=-1.5, markets=("ID", "MY", "PH", "TH", "VN")):
    rng = np.random.default_rng(seed)
    market = rng.choice(list(markets), n)
    category = rng.choice(["beauty", "fashion", "food", "home"], n)
    viewers = rng.lognormal(5, 1, n).round()
    likes_rate = rng.beta(2, 20, n)
    static_share = rng.random(n)
    z = (
        base
        + 2.5 * (static_share - 0.5)
        - 8 * (likes_rate - 0.1)
        + np.where(market == "PH", 0.8, 0.0)
        + np.where(category == "beauty", -0.6, 0.0)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame(
        {
            "session_id": np.arange(n),
            "viewers": viewers.astype("int64"),
            "likes_rate": likes_rate,
            "static_share": static_share,
            "market": pd.Categorical(market),
            "category": category.astype(object),
            "y": y,
        }
    )


@pytest.fixture(scope="module")
def frames():
    return make_frame(3000, 1), make_frame(1500, 2)


def fit(train, valid, **kwargs):
    options = {
        "features": FEATURES,
        "label": "y",
        "categorical": CATEGORICAL,
        "params": SMALL,
        "num_boost_round": 300,
        "early_stopping_rounds": 20,
        "num_threads": 1,
    }
    options.update(kwargs)
    return fit_lightgbm(train, valid, **options)


@pytest.fixture(scope="module")
def result(frames):
    return fit(*frames)


def test_same_data_and_seed_give_a_byte_identical_model(frames, result):
    again = fit(*frames)
    assert again.booster.model_to_string() == result.booster.model_to_string()
    assert again.calibration == result.calibration


def test_another_seed_gives_another_model(frames, result):
    other = fit(*frames, seed=1)
    assert other.booster.model_to_string() != result.booster.model_to_string()


def test_thread_count_does_not_change_the_trees(frames, result):
    two = fit(*frames, num_threads=2)
    x = np.random.default_rng(0).random((50, len(FEATURES)))
    assert np.array_equal(two.booster.predict(x), result.booster.predict(x))


def test_training_dtype_and_column_order_do_not_change_the_model(frames, result):
    train, valid = frames
    as_text = train.assign(market=train["market"].astype(str), category=train["category"])
    as_category = train.assign(category=train["category"].astype("category"))
    shuffled = train[list(reversed(train.columns))]
    for variant in (as_text, as_category, shuffled):
        other = fit(variant, valid)
        assert other.booster.model_to_string() == result.booster.model_to_string()


def test_levels_come_from_train_sorted_and_unseen_valid_levels_are_counted(frames):
    train, valid = frames
    valid = valid.copy()
    valid["market"] = valid["market"].astype(object)
    valid.loc[valid.index[:7], "market"] = "SG"  # never in train
    res = fit(train, valid)
    assert res.category_levels == {
        "market": ("ID", "MY", "PH", "TH", "VN"),
        "category": ("beauty", "fashion", "food", "home"),
    }
    assert dict(res.valid_unseen) == {"market": 7, "category": 0}


def test_features_keep_their_order_and_kinds(result):
    assert result.feature_names == tuple(FEATURES)
    assert tuple(result.booster.feature_name()) == tuple(FEATURES)
    kinds = {f.name: (f.kind, f.dtype) for f in result.features}
    assert kinds["viewers"] == ("numeric", "int64")
    assert kinds["market"] == ("categorical", "category")


def test_early_stopping_keeps_only_the_best_rounds(result):
    rounds_trained = len(result.history["valid"]["binary_logloss"])
    assert 0 < result.best_iteration < rounds_trained < 300
    assert result.booster.num_trees() == result.best_iteration
    valid_loss = result.history["valid"]["binary_logloss"]
    assert int(np.argmin(valid_loss)) + 1 == result.best_iteration
    assert set(result.history) == {"train", "valid"}
    assert set(result.history["valid"]) == {"binary_logloss", "average_precision"}


def test_calibration_is_fitted_on_the_validation_rows(frames, result):
    _, valid = frames
    assert result.calibration.n_rows == len(valid)
    assert result.calibration.n_positive == int(valid["y"].sum())
    assert (result.n_train, result.n_valid) == (3000, 1500)


def test_params_record_defaults_overrides_and_fixed_settings(result):
    params = result.params
    assert params["num_leaves"] == 15  # override
    assert params["feature_fraction"] == DEFAULT_PARAMS["feature_fraction"]  # default
    assert params["deterministic"] is True and params["force_row_wise"] is True
    assert params["objective"] == "binary" and params["seed"] == 0
    assert params["imbalance"] == "none" and "scale_pos_weight" not in params
    assert params["metric"] == ["binary_logloss", "average_precision"]
    assert params["num_boost_round"] == 300 and params["early_stopping_rounds"] == 20


@pytest.mark.parametrize(("imbalance", "expected"), [("balanced", 1.0), ("sqrt", 0.5)])
def test_imbalance_sets_the_positive_weight(frames, imbalance, expected):
    train, _ = frames
    n_pos = int(train["y"].sum())
    res = fit(*frames, imbalance=imbalance)
    assert res.params["scale_pos_weight"] == pytest.approx(
        ((len(train) - n_pos) / n_pos) ** expected
    )
    # weights shift the raw scores: early stopping ranks instead of using the log loss
    assert res.params["metric"] == ["average_precision", "binary_logloss"]


def test_an_explicit_metric_is_kept_with_reweighting(frames):
    res = fit(*frames, imbalance="balanced", params=SMALL | {"metric": ["binary_logloss"]})
    assert res.params["metric"] == ["binary_logloss"]


def test_inputs_are_not_modified(frames):
    train, valid = frames
    before = train.copy(deep=True), valid.copy(deep=True)
    fit(train, valid)
    pd.testing.assert_frame_equal(train, before[0])
    pd.testing.assert_frame_equal(valid, before[1])


def test_bool_labels_and_extra_columns_are_fine(frames, result):
    train, valid = frames
    other = fit(train.assign(y=train["y"].astype(bool), extra="x"), valid)
    assert other.booster.model_to_string() == result.booster.model_to_string()


def test_no_reweighting_is_not_worse_on_an_imbalanced_problem():
    """The measurement behind imbalance="none" (module docstring), at test size: the
    ranking is no worse without weights, while weights distort the raw probabilities."""
    from sklearn.metrics import average_precision_score

    from govml.training.calibration import _ece

    train = make_frame(6000, 11, base=-3.5)
    valid = make_frame(3000, 12, base=-3.5)
    test = make_frame(20000, 13, base=-3.5)
    y = test["y"].to_numpy()
    assert y.mean() < 0.06
    ap, raw_ece = {}, {}
    for imbalance in ("none", "balanced"):
        res = fit(train, valid, imbalance=imbalance)
        raw = res.booster.predict(
            _prepare(test, res.features, where="test").to_numpy(), raw_score=True
        )
        ap[imbalance] = average_precision_score(y, raw)
        raw_ece[imbalance] = _ece(1 / (1 + np.exp(-raw)), y)
    assert ap["none"] >= ap["balanced"] - 0.01
    assert raw_ece["balanced"] > 5 * raw_ece["none"]


# --------------------------------------------------------------------------- errors


def test_empty_train_is_rejected(frames):
    train, valid = frames
    with pytest.raises(TrainingError, match="train frame has no rows"):
        fit(train.iloc[:0], valid)


def test_empty_valid_is_rejected(frames):
    train, valid = frames
    with pytest.raises(TrainingError, match="valid frame has no rows"):
        fit(train, valid.iloc[:0])


def test_non_frames_are_rejected(frames):
    _, valid = frames
    with pytest.raises(TrainingError, match="train: expected a pandas DataFrame, got dict"):
        fit({"viewers": [1]}, valid)


def test_missing_columns_are_named(frames):
    train, valid = frames
    with pytest.raises(TrainingError, match=r"valid frame lacks column\(s\) \['likes_rate', 'y'\]"):
        fit(train, valid.drop(columns=["likes_rate", "y"]))


def test_single_class_label_is_rejected(frames):
    train, valid = frames
    with pytest.raises(TrainingError, match="train frame: label column 'y' has only class 0"):
        fit(train.assign(y=0), valid)


@pytest.mark.parametrize("bad", [2, np.nan, "yes"])
def test_labels_must_be_0_1(frames, bad):
    train, valid = frames
    broken = valid.copy()
    broken["y"] = broken["y"].astype(object)
    broken.loc[broken.index[3], "y"] = bad
    with pytest.raises(TrainingError, match=r"valid frame: label column 'y' must hold 0/1.*1 row"):
        fit(train, broken)


@pytest.mark.parametrize(
    ("column", "values", "dtype"),
    [
        ("viewers", lambda n: pd.Series([12] * n, dtype=object), "object"),
        ("viewers", lambda n: pd.Categorical(["a"] * n), "category"),
        ("viewers", lambda n: pd.Series(["12"] * n, dtype="str"), "str"),
        ("viewers", lambda n: pd.date_range("2024-01-01", periods=n, tz="UTC"), "datetime64"),
    ],
)
def test_non_numeric_undeclared_features_are_named(frames, column, values, dtype):
    train, valid = frames
    broken = train.assign(**{column: values(len(train))})
    with pytest.raises(
        TrainingError, match=rf"'{column}' \({dtype}.*declare them in `categorical=\[...\]`"
    ):
        fit(broken, valid)


def test_empty_feature_list_is_rejected(frames):
    with pytest.raises(TrainingError, match="features is empty"):
        fit(*frames, features=[], categorical=[])


def test_duplicate_features_are_rejected(frames):
    with pytest.raises(TrainingError, match=r"features lists \['viewers'\] more than once"):
        fit(*frames, features=[*FEATURES, "viewers"])


def test_label_as_feature_is_rejected(frames):
    with pytest.raises(TrainingError, match="the label 'y' is also listed as a feature"):
        fit(*frames, features=[*FEATURES, "y"])


def test_categorical_outside_features_is_rejected(frames):
    with pytest.raises(TrainingError, match=r"categorical \['channel'\] are not in features"):
        fit(*frames, categorical=[*CATEGORICAL, "channel"])


def test_unknown_imbalance_is_rejected(frames):
    with pytest.raises(TrainingError, match="imbalance='smote'"):
        fit(*frames, imbalance="smote")


def test_unknown_calibration_is_rejected(frames):
    with pytest.raises(TrainingError, match="calibration='beta'"):
        fit(*frames, calibration="beta")


def test_round_counts_must_be_positive(frames):
    with pytest.raises(TrainingError, match="must both be at least 1"):
        fit(*frames, num_boost_round=0)


@pytest.mark.parametrize("key", ["seed", "objective", "scale_pos_weight", "num_iterations"])
def test_params_that_govml_sets_are_rejected(frames, key):
    with pytest.raises(TrainingError, match=rf"params \['{key}'\] are set by fit_lightgbm"):
        fit(*frames, params=SMALL | {key: 1})


def test_all_missing_categorical_is_rejected(frames):
    train, valid = frames
    with pytest.raises(TrainingError, match="categorical feature 'market' has no non-missing"):
        fit(train.assign(market=None), valid)


def test_lightgbm_errors_become_training_errors(frames):
    with pytest.raises(TrainingError, match="LightGBM rejected the training set-up"):
        fit(*frames, params=SMALL | {"num_leaves": 1})
