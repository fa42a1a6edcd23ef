"""GovmlModel: the categorical contract at scoring, predictions, save/load without pickle,
the data fingerprint, and the MLflow pyfunc flavor."""

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govml import (
    ColumnMismatchError,
    ConfigError,
    ModelFormatError,
    TrainingError,
    UnseenCategoryError,
)
from govml._exceptions import UnseenCategoryWarning
from govml.model import (
    METADATA_FILE,
    MODEL_FILE,
    NO_TIER,
    FeatureSpec,
    GovmlModel,
    ModelMetadata,
    fingerprint,
)
from govml.training.lgbm import fit_lightgbm

FEATURES = ["viewers", "likes_rate", "static_share", "market", "category"]
MARKETS = ("ID", "MY", "PH", "TH", "VN")
CATEGORIES = ("beauty", "fashion", "food", "home")
SMALL = {"num_leaves": 15, "min_data_in_leaf": 20, "learning_rate": 0.1, "min_data_per_group": 20}
THRESHOLDS = {"review": 0.5, "watch": 0.2}


def make_frame(n, seed):
    rng = np.random.default_rng(seed)
    market = rng.choice(MARKETS, n)
    category = rng.choice(CATEGORIES, n)
    likes_rate = rng.beta(2, 20, n)
    static_share = rng.random(n)
    z = (
        -1.0
        + 2.5 * (static_share - 0.5)
        - 8 * (likes_rate - 0.1)
        + np.where(market == "PH", 1.2, 0.0)
        + np.where(category == "beauty", -0.8, 0.0)
    )
    return pd.DataFrame(
        {
            "session_id": np.arange(n),
            "viewers": rng.lognormal(5, 1, n).round().astype("int64"),
            "likes_rate": likes_rate,
            "static_share": static_share,
            "market": pd.Categorical(market),
            "category": category.astype(object),
            "started_at": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
            "y": (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int),
        }
    )


@pytest.fixture(scope="module")
def train():
    return make_frame(3000, 1)


@pytest.fixture(scope="module")
def fit(train):
    return fit_lightgbm(
        train,
        make_frame(1500, 2),
        features=FEATURES,
        label="y",
        categorical=["market", "category"],
        params=SMALL,
        num_boost_round=300,
        early_stopping_rounds=20,
        num_threads=1,
    )


@pytest.fixture(scope="module")
def model(fit, train):
    return GovmlModel.from_fit(
        fit,
        task="low_quality",
        name="session-quality",
        thresholds=THRESHOLDS,
        fingerprint=fingerprint(train, time_col="started_at", label_col="y"),
        catalogue_version="cat-1",
        version="7",
    )


@pytest.fixture(scope="module")
def scoring():
    return make_frame(400, 3).drop(columns=["y"])


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    return model.save(tmp_path_factory.mktemp("models") / "m")


def with_dtype(df, dtype):
    """The same frame with both categorical columns as category, str or object dtype."""
    out = df.copy()
    for col in ("market", "category"):
        values = out[col].astype(object)
        out[col] = values.astype("category") if dtype == "category" else values.astype(dtype)
    return out


# --------------------------------------------------------------------------- building


def test_from_fit_carries_the_training_contract(model, fit):
    meta = model.metadata
    assert meta.feature_names == tuple(FEATURES)
    assert meta.category_levels == {"market": MARKETS, "category": CATEGORIES}
    assert meta.categorical_features == ("market", "category")
    assert meta.calibration == fit.calibration
    assert dict(meta.thresholds) == THRESHOLDS
    assert (meta.task, meta.name, meta.version, meta.label) == (
        "low_quality",
        "session-quality",
        "7",
        "y",
    )
    assert meta.catalogue_version == "cat-1"
    assert meta.best_iteration == fit.best_iteration == model.booster.num_trees()
    assert set(meta.library_versions) == {"govml", "lightgbm", "pandas", "numpy", "python"}
    assert str(meta.created_at.tz) == "UTC"
    assert meta.params["num_leaves"] == 15
    assert "GovmlModel(task='low_quality'" in repr(model)


def test_booster_and_metadata_must_match(model, fit):
    other = fit_lightgbm(
        make_frame(1000, 5),
        make_frame(500, 6),
        features=["viewers", "likes_rate"],
        label="y",
        params=SMALL,
        num_threads=1,
    )
    with pytest.raises(ModelFormatError, match="booster and metadata do not belong together"):
        GovmlModel(other.booster, model.metadata)


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"none": 0.5}, "tier name 'none' is invalid"),
        ({"": 0.5}, "tier name '' is invalid"),
        ({"review": 1.5}, r"threshold of tier 'review' is 1.5; expected a probability"),
        ({"review": "high"}, "threshold of tier 'review' is 'high'"),
        ({"review": 0.5, "watch": 0.5}, "give two tiers the same cut"),
    ],
)
def test_invalid_thresholds_are_rejected(fit, thresholds, message):
    with pytest.raises(ConfigError, match=message):
        GovmlModel.from_fit(fit, task="low_quality", name="m", thresholds=thresholds)


def test_unknown_task_is_rejected(fit):
    with pytest.raises(ConfigError, match="unknown task 'spam'"):
        GovmlModel.from_fit(fit, task="spam", name="m")


def test_metadata_needs_unique_features(model):
    meta = model.metadata
    fields = {k: getattr(meta, k) for k in meta.__dataclass_fields__}
    with pytest.raises(ConfigError, match="at least one feature"):
        ModelMetadata(**(fields | {"features": ()}))
    with pytest.raises(ConfigError, match="duplicate feature names"):
        ModelMetadata(**(fields | {"features": meta.features + meta.features[:1]}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "text"}, "has kind 'text'"),
        ({"kind": "numeric", "levels": ("a",)}, "cannot have category levels"),
        ({"kind": "categorical", "levels": ("a", "a")}, "duplicate levels"),
    ],
)
def test_invalid_feature_specs_are_rejected(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        FeatureSpec(name="f", dtype="object", **kwargs)


# --------------------------------------------------------------------------- scoring


def test_predictions_are_calibrated_raw_scores_with_tiers(model, scoring):
    pred = model.predict(scoring)
    assert len(pred) == len(scoring)
    assert np.array_equal(pred.probability, model.metadata.calibration.apply(pred.raw))
    assert np.array_equal(pred.raw, model.predict_raw(scoring))
    assert np.array_equal(pred.probability, model.predict_proba(scoring))
    expected = np.where(
        pred.probability >= 0.5, "review", np.where(pred.probability >= 0.2, "watch", NO_TIER)
    )
    assert pred.tier.tolist() == expected.tolist()
    assert set(pred.tier) == {"review", "watch", NO_TIER}  # the data reach every tier
    assert dict(pred.unseen) == {"market": 0, "category": 0}
    frame = pred.to_frame()
    assert frame.index.equals(scoring.index)
    assert list(frame.columns) == ["probability", "raw", "tier", "unseen_category"]


def test_tier_boundaries_are_inclusive(model):
    assert model.tier_of([0.5, 0.49, 0.2, 0.19999, 1.0, 0.0]).tolist() == [
        "review",
        "watch",
        "watch",
        NO_TIER,
        "review",
        NO_TIER,
    ]


def test_raw_scores_equal_lightgbm_on_the_prepared_matrix(model, scoring):
    prepared = model.prepare(scoring)
    direct = model.booster.predict(prepared.to_numpy(), raw_score=True)
    assert np.array_equal(model.predict_raw(scoring), direct)
    assert list(prepared.frame.columns) == FEATURES
    assert prepared.frame.index.equals(scoring.index)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.permutations(list(make_frame(1, 0).drop(columns=["y"]).columns)))
def test_column_order_never_matters(model, scoring, order):
    expected = model.predict_proba(scoring)
    shuffled = scoring[order].assign(extra_column="ignored")
    assert np.array_equal(model.predict_proba(shuffled), expected)


value_lists = st.lists(
    st.tuples(
        st.sampled_from([*MARKETS, None, "SG"]),
        st.sampled_from([*CATEGORIES, None]),
        st.floats(0, 1),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=value_lists)
def test_category_str_and_object_dtypes_score_identically(model, rows):
    df = pd.DataFrame(
        {
            "market": [r[0] for r in rows],
            "category": [r[1] for r in rows],
            "static_share": [r[2] for r in rows],
            "viewers": 100,
            "likes_rate": 0.1,
        }
    )
    results = [
        model.predict(with_dtype(df, dtype), unseen="allow")
        for dtype in ("category", "str", object)
    ]
    for other in results[1:]:
        assert np.array_equal(other.raw, results[0].raw)
        assert dict(other.unseen) == dict(results[0].unseen)
        assert np.array_equal(other.unseen_rows, results[0].unseen_rows)
    n_sg = sum(r[0] == "SG" for r in rows)
    assert results[0].unseen["market"] == n_sg


def test_categories_declared_but_unused_do_not_matter(model, scoring):
    wide = scoring.assign(market=scoring["market"].cat.add_categories(["SG", "XX"]))
    reordered = scoring.assign(
        market=scoring["market"].cat.reorder_categories(list(reversed(MARKETS)))
    )
    expected = model.predict_raw(scoring)
    assert np.array_equal(model.predict_raw(wide), expected)
    assert np.array_equal(model.predict_raw(reordered), expected)


def test_numeric_dtypes_are_interchangeable(model, scoring):
    expected = model.predict_raw(scoring)
    variants = [
        scoring.assign(viewers=scoring["viewers"].astype("float64")),
        scoring.assign(viewers=scoring["viewers"].astype("Int64")),
        scoring.assign(viewers=scoring["viewers"].astype(object)),
        scoring.assign(likes_rate=scoring["likes_rate"].astype("Float64")),
    ]
    for variant in variants:
        assert np.array_equal(model.predict_raw(variant), expected)


def test_missing_numeric_values_are_scored(model, scoring):
    df = scoring.assign(viewers=scoring["viewers"].astype("Int64"))
    df.loc[df.index[:5], "viewers"] = pd.NA
    as_float = scoring.assign(viewers=scoring["viewers"].astype(float))
    as_float.loc[as_float.index[:5], "viewers"] = np.nan
    assert np.array_equal(model.predict_raw(df), model.predict_raw(as_float))


def test_unseen_levels_are_encoded_counted_and_warned(model, scoring):
    df = with_dtype(scoring, object)
    df.loc[df.index[:3], "market"] = "SG"
    df.loc[df.index[3], "category"] = "toys"
    df.loc[df.index[4], "category"] = None  # missing is not unseen
    with pytest.warns(UnseenCategoryWarning, match=r"4 of 400 rows .*'market': 3 .*'SG'"):
        pred = model.predict(df)
    assert dict(pred.unseen) == {"market": 3, "category": 1}
    assert dict(pred.unseen_levels) == {"market": ("SG",), "category": ("toys",)}
    assert pred.unseen_rows.tolist() == [True] * 4 + [False] * 396
    prepared = model.prepare(df)
    assert prepared.frame["market"].iloc[0] == len(MARKETS)  # the unseen code, not NaN
    assert np.isnan(prepared.frame["category"].iloc[4])
    assert prepared.unseen_fraction == pytest.approx(4 / 400)
    assert pred.to_frame()["unseen_category"].sum() == 4


def test_unseen_levels_take_lightgbms_none_of_the_known_levels_branch(model, scoring):
    df = with_dtype(scoring.head(20), object)
    unseen = df.assign(market="SG")
    missing = df.assign(market=None)
    assert np.array_equal(model.predict_raw(unseen, unseen="allow"), model.predict_raw(missing))


def test_unseen_above_the_tolerance_raises(model, scoring):
    df = with_dtype(scoring, object).assign(market="SG")
    with pytest.raises(
        UnseenCategoryError, match=r"400 of 400 rows.*more than max_unseen_fraction"
    ):
        model.predict_proba(df)


def test_unseen_raise_policy_refuses_any(model, scoring):
    df = with_dtype(scoring, object)
    df.loc[df.index[0], "market"] = "SG"
    with pytest.raises(UnseenCategoryError, match="unseen='raise' refuses to score them"):
        model.predict(df, unseen="raise")


def test_unseen_allow_policy_is_silent_but_still_counts(model, scoring):
    df = with_dtype(scoring, object).assign(market="SG")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = model.predict(df, unseen="allow")
    assert pred.unseen["market"] == 400


def test_a_wider_tolerance_scores_with_a_warning(model, scoring):
    df = with_dtype(scoring, object).assign(market="SG")
    with pytest.warns(UnseenCategoryWarning):
        model.predict(df, max_unseen_fraction=1.0)


def test_invalid_unseen_policy_is_rejected(model, scoring):
    with pytest.raises(ConfigError, match="unseen='ignore'; expected one of"):
        model.predict(scoring, unseen="ignore")
    with pytest.raises(ConfigError, match="max_unseen_fraction=2"):
        model.predict(scoring, max_unseen_fraction=2)


def test_missing_columns_are_named(model, scoring):
    with pytest.raises(
        ColumnMismatchError, match=r"missing feature column\(s\) \['likes_rate', 'market'\]"
    ):
        model.predict(scoring.drop(columns=["market", "likes_rate"]))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (lambda s: s.astype(str), r"'viewers' \(str dtype \(text\) with values such as '"),
        (lambda s: s.astype(str).astype(object), r"'viewers' \(object dtype holding string"),
        (lambda s: pd.Categorical(s), r"'viewers' \(category dtype\)"),
        (lambda s: pd.to_datetime(s, unit="s"), r"'viewers' \(datetime64\[\w+\] dtype\)"),
    ],
)
def test_numbers_as_text_or_other_types_are_rejected(model, scoring, values, message):
    df = scoring.assign(viewers=values(scoring["viewers"]))
    with pytest.raises(ColumnMismatchError, match=message + ".*pd.to_numeric"):
        model.predict(df)


def test_duplicate_feature_columns_are_rejected(model, scoring):
    df = pd.concat([scoring, scoring[["market"]]], axis=1)
    with pytest.raises(ColumnMismatchError, match=r"\['market'\] appear more than once"):
        model.predict(df)


def test_non_frames_are_rejected(model):
    with pytest.raises(ColumnMismatchError, match="expected a pandas DataFrame.*got dict"):
        model.predict({"viewers": [1]})


def test_empty_frames_give_empty_predictions(model, scoring):
    pred = model.predict(scoring.iloc[:0])
    assert len(pred) == 0 and pred.raw.dtype == np.float64


def test_inputs_are_not_modified(model, scoring):
    df = with_dtype(scoring, object)
    df.loc[df.index[0], "market"] = "SG"
    before = df.copy(deep=True)
    with pytest.warns(UnseenCategoryWarning):
        model.predict(df)
    model.prepare(df)
    pd.testing.assert_frame_equal(df, before)


# --------------------------------------------------------------------------- save / load


def test_save_writes_only_text_files(saved, model):
    assert sorted(p.name for p in saved.iterdir()) == [METADATA_FILE, MODEL_FILE]
    assert (saved / MODEL_FILE).read_text() == model.booster.model_to_string()
    meta = json.loads((saved / METADATA_FILE).read_text())
    assert meta["format_version"] == 1
    assert meta["features"][3] == {
        "name": "market",
        "kind": "categorical",
        "dtype": "category",
        "levels": list(MARKETS),
    }


def test_load_round_trips_bit_for_bit(saved, model, scoring):
    loaded = GovmlModel.load(saved)
    assert loaded.metadata == model.metadata
    for dtype in ("category", "str", object):
        df = with_dtype(scoring, dtype)
        assert np.array_equal(loaded.predict_raw(df), model.predict_raw(df))
        assert np.array_equal(loaded.predict_proba(df), model.predict_proba(df))


def test_resaving_a_loaded_model_reproduces_the_files(saved, tmp_path):
    again = GovmlModel.load(saved).save(tmp_path / "again")
    for name in (MODEL_FILE, METADATA_FILE):
        assert (again / name).read_bytes() == (saved / name).read_bytes()


def test_load_never_unpickles(saved, scoring, model, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading a govml model")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    cloudpickle = pytest.importorskip("cloudpickle")
    monkeypatch.setattr(cloudpickle, "loads", refuse)
    monkeypatch.setattr(cloudpickle, "load", refuse)
    loaded = GovmlModel.load(saved)
    assert np.array_equal(loaded.predict_proba(scoring), model.predict_proba(scoring))


def _copy(saved, tmp_path):
    target = tmp_path / "copy"
    target.mkdir()
    for name in (MODEL_FILE, METADATA_FILE):
        (target / name).write_bytes((saved / name).read_bytes())
    return target


def _edit_metadata(folder, change):
    data = json.loads((folder / METADATA_FILE).read_text())
    change(data)
    (folder / METADATA_FILE).write_text(json.dumps(data))


def test_load_reports_a_missing_folder(tmp_path):
    with pytest.raises(ModelFormatError, match=r"no model folder at .*nowhere; pass the folder"):
        GovmlModel.load(tmp_path / "nowhere")


def test_load_reports_missing_files(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / MODEL_FILE).unlink()
    with pytest.raises(ModelFormatError, match=r"copy.* lacks \['model.txt'\].*re-save it"):
        GovmlModel.load(folder)


def test_load_reports_corrupt_json(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / METADATA_FILE).write_text('{"format_version": 1, "task": ')
    with pytest.raises(ModelFormatError, match=r"metadata.json is not valid JSON.*restore it"):
        GovmlModel.load(folder)


def test_load_reports_json_that_is_not_an_object(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / METADATA_FILE).write_text("[1, 2]")
    with pytest.raises(ModelFormatError, match="holds a JSON list, not an object"):
        GovmlModel.load(folder)


def test_load_reports_a_newer_format(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    _edit_metadata(folder, lambda d: d.update(format_version=2))
    with pytest.raises(
        ModelFormatError, match=r"format_version=2, newer than the 1.*upgrade govml"
    ):
        GovmlModel.load(folder)


@pytest.mark.parametrize("value", [None, "1", 0, True])
def test_load_reports_an_invalid_format_version(saved, tmp_path, value):
    folder = _copy(saved, tmp_path)
    _edit_metadata(folder, lambda d: d.update(format_version=value))
    with pytest.raises(ModelFormatError, match="expected a positive integer"):
        GovmlModel.load(folder)


def test_load_reports_files_from_two_saves(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    text = (folder / MODEL_FILE).read_text()
    (folder / MODEL_FILE).write_text(text.replace("[seed: 0]", "[seed: 1]"))
    with pytest.raises(ModelFormatError, match="does not match the checksum.*from one save"):
        GovmlModel.load(folder)


def test_load_reports_invalid_metadata(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    _edit_metadata(folder, lambda d: d.pop("thresholds"))
    with pytest.raises(
        ModelFormatError, match=r"metadata.json: model metadata is invalid \(missing"
    ):
        GovmlModel.load(folder)


def test_load_reports_a_corrupt_model_text(saved, tmp_path):
    import hashlib

    folder = _copy(saved, tmp_path)
    garbage = b"tree\nversion=v4\nnot a model\n"
    (folder / MODEL_FILE).write_bytes(garbage)
    _edit_metadata(folder, lambda d: d.update(model_sha256=hashlib.sha256(garbage).hexdigest()))
    with pytest.raises(ModelFormatError, match="is not a LightGBM text model"):
        GovmlModel.load(folder)


def test_load_reports_metadata_of_another_model(saved, tmp_path):
    folder = _copy(saved, tmp_path)

    def rename(data):
        data["features"][0]["name"] = "renamed"

    _edit_metadata(folder, rename)
    with pytest.raises(ModelFormatError, match="the files come from different models"):
        GovmlModel.load(folder)


def test_save_refuses_a_file_path(model, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ModelFormatError, match="exists and is not a folder"):
        model.save(target)


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_summarises_the_frame(train):
    fp = fingerprint(train, time_col="started_at", label_col="y")
    assert fp.n_rows == 3000
    assert fp.n_positive == int(train["y"].sum())
    assert fp.label_rate == pytest.approx(train["y"].mean())
    assert fp.time_min == train["started_at"].min() and fp.time_max == train["started_at"].max()
    assert ("market", "category") in fp.columns
    assert len(fp.sha256) == 64


def test_fingerprint_ignores_column_order_and_index_but_not_content(train):
    fp = fingerprint(train).sha256
    assert fingerprint(train[list(reversed(train.columns))]).sha256 == fp
    assert fingerprint(train.set_axis(np.arange(len(train)) + 10)).sha256 == fp
    changed = train.copy()
    changed.loc[5, "likes_rate"] += 1e-9
    assert fingerprint(changed).sha256 != fp
    assert fingerprint(train.iloc[::-1]).sha256 != fp  # row order changes training
    assert fingerprint(train.astype({"viewers": "float64"})).sha256 != fp
    assert fingerprint(train.rename(columns={"viewers": "views"})).sha256 != fp


def test_fingerprint_round_trips_through_the_model(saved, model):
    assert GovmlModel.load(saved).metadata.fingerprint == model.metadata.fingerprint


def test_fingerprint_does_not_modify_the_frame(train):
    before = train.copy(deep=True)
    fingerprint(train, time_col="started_at", label_col="y")
    pd.testing.assert_frame_equal(train, before)


def test_fingerprint_errors(train):
    with pytest.raises(TrainingError, match="time_col='when' is not a column"):
        fingerprint(train, time_col="when")
    with pytest.raises(TrainingError, match="expected timezone-aware timestamps"):
        fingerprint(train.assign(naive=pd.Timestamp("2024-01-01")), time_col="naive")
    with pytest.raises(TrainingError, match="label column 'viewers' must hold only 0/1"):
        fingerprint(train, label_col="viewers")
    with pytest.raises(TrainingError, match="duplicate column names"):
        fingerprint(pd.concat([train, train[["y"]]], axis=1))


# --------------------------------------------------------------------------- MLflow pyfunc


@pytest.fixture(scope="module")
def pyfunc_path(model, scoring, tmp_path_factory):
    from govml._pyfunc import save_pyfunc

    path = tmp_path_factory.mktemp("mlflow") / "pyfunc"
    return save_pyfunc(model, path, input_example=scoring.head(3))


@pytest.fixture(scope="module")
def pyfunc_model(pyfunc_path):
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(pyfunc_path), suppress_warnings=True)


def test_pyfunc_folder_names_the_loader_module_and_holds_no_pickle(pyfunc_path):
    import yaml

    mlmodel = yaml.safe_load((pyfunc_path / "MLmodel").read_text())
    flavor = mlmodel["flavors"]["python_function"]
    assert flavor["loader_module"] == "govml._pyfunc"
    assert flavor["data"] == "data/govml_model"
    assert sorted(p.name for p in (pyfunc_path / "data" / "govml_model").iterdir()) == [
        METADATA_FILE,
        MODEL_FILE,
    ]
    assert not [
        p for p in pyfunc_path.rglob("*") if p.suffix in {".pkl", ".pickle", ".cloudpickle"}
    ]
    assert mlmodel["metadata"]["govml"]["features"][3] == {
        "name": "market",
        "kind": "categorical",
        "dtype": "category",
    }
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [c["name"] for c in inputs] == FEATURES


@pytest.mark.parametrize("dtype", ["category", "str", object])
def test_pyfunc_predicts_like_the_model_for_every_category_dtype(
    pyfunc_model, model, scoring, dtype
):
    df = with_dtype(scoring, dtype)
    shuffled = df[list(reversed(df.columns))].assign(extra="ignored")
    expected = model.predict_proba(df)
    assert np.array_equal(np.asarray(pyfunc_model.predict(df)), expected)
    assert np.array_equal(np.asarray(pyfunc_model.predict(shuffled)), expected)


def test_pyfunc_accepts_int_and_float_numeric_columns(pyfunc_model, model, scoring):
    df = scoring.assign(viewers=scoring["viewers"].astype(float))
    assert np.array_equal(np.asarray(pyfunc_model.predict(df)), model.predict_proba(scoring))


def test_pyfunc_loads_and_predicts_with_pickle_disabled(pyfunc_path, model, scoring, monkeypatch):
    import mlflow.pyfunc

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading the MLflow model")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    cloudpickle = pytest.importorskip("cloudpickle")
    monkeypatch.setattr(cloudpickle, "loads", refuse)
    monkeypatch.setattr(cloudpickle, "load", refuse)
    loaded = mlflow.pyfunc.load_model(str(pyfunc_path), suppress_warnings=True)
    assert np.array_equal(np.asarray(loaded.predict(scoring)), model.predict_proba(scoring))


def test_pyfunc_unseen_policy_comes_from_params(pyfunc_model, scoring):
    df = with_dtype(scoring, object)
    df.loc[df.index[0], "market"] = "SG"
    with pytest.raises(UnseenCategoryError, match="unseen='raise' refuses"):
        pyfunc_model.predict(df, params={"unseen": "raise"})
    with pytest.warns(UnseenCategoryWarning):
        pyfunc_model.predict(df)


def test_pyfunc_reports_missing_columns_by_name(pyfunc_model, scoring):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match=r"missing inputs \['market'\]"):
        pyfunc_model.predict(scoring.drop(columns=["market"]))


def test_pyfunc_rejects_numbers_as_text(pyfunc_model, scoring):
    with pytest.raises(ColumnMismatchError, match="'viewers'"):
        pyfunc_model.predict(scoring.assign(viewers=scoring["viewers"].astype(str)))


def test_pyfunc_exposes_the_govml_model(pyfunc_model, model):
    raw = pyfunc_model.get_raw_model()
    assert isinstance(raw, GovmlModel) and raw.metadata == model.metadata


def test_save_pyfunc_refuses_a_non_empty_folder(model, tmp_path):
    from govml._pyfunc import save_pyfunc

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(ModelFormatError, match="already exists and is not an empty folder"):
        save_pyfunc(model, tmp_path / "busy")


def test_save_pyfunc_into_an_empty_folder(model, scoring, tmp_path):
    import mlflow.pyfunc

    from govml._pyfunc import save_pyfunc

    (tmp_path / "empty").mkdir()
    path = save_pyfunc(model, tmp_path / "empty")
    loaded = mlflow.pyfunc.load_model(str(path), suppress_warnings=True)
    assert np.array_equal(np.asarray(loaded.predict(scoring)), model.predict_proba(scoring))


def test_save_pyfunc_checks_the_input_example(model, scoring, tmp_path):
    from govml._pyfunc import save_pyfunc

    with pytest.raises(ColumnMismatchError, match=r"missing feature column\(s\) \['market'\]"):
        save_pyfunc(model, tmp_path / "pf", input_example=scoring.drop(columns=["market"]).head(2))


def test_save_pyfunc_stores_only_the_feature_columns_of_the_example(pyfunc_path):
    example = json.loads((pyfunc_path / "input_example.json").read_text())
    assert example["columns"] == FEATURES


def test_pyfunc_kwargs_describe_the_loader_module_flavor(model, scoring, tmp_path):
    from govml._pyfunc import pyfunc_kwargs

    kwargs = pyfunc_kwargs(model, tmp_path / "m", input_example=scoring.head(2))
    assert kwargs["loader_module"] == "govml._pyfunc"
    assert kwargs["data_path"] == str(tmp_path / "m")
    assert list(kwargs["input_example"].columns) == FEATURES
    assert kwargs["pip_requirements"][0].startswith("govml==")
    assert kwargs["signature"].params.to_dict()[0]["name"] == "unseen"
    assert "python_model" not in kwargs


def test_created_at_must_be_timezone_aware(fit):
    with pytest.raises(ConfigError, match="created_at=2024-01-01 00:00:00 has no timezone"):
        GovmlModel.from_fit(
            fit, task="low_quality", name="m", created_at=pd.Timestamp("2024-01-01")
        )


def test_numpy_params_survive_saving(tmp_path):
    res = fit_lightgbm(
        make_frame(800, 7),
        make_frame(400, 8),
        features=["viewers", "likes_rate"],
        label="y",
        params=SMALL | {"lambda_l2": np.float64(2.0), "num_leaves": np.int64(7)},
        num_threads=1,
    )
    model = GovmlModel.from_fit(res, task="adversarial", name="m")
    loaded = GovmlModel.load(model.save(tmp_path / "m"))
    assert loaded.metadata.params["lambda_l2"] == 2.0 and loaded.metadata.params["num_leaves"] == 7


# --------------------------------------------------------------------------- training config


def _lq_config():
    from govml.training.config import default_config

    return default_config("low_quality").override(
        {
            "labels.review_delay": "5D",
            "evaluation.capacity": {"ID": 30, "TH": 10},
            "model.params.num_leaves": 15,
        }
    )


def test_training_config_round_trips_through_save_load_and_pyfunc(fit, scoring, tmp_path):
    import mlflow.pyfunc

    from govml._pyfunc import save_pyfunc

    cfg = _lq_config()
    model = GovmlModel.from_fit(fit, task="low_quality", name="m", training_config=cfg)
    assert model.training_config() == cfg
    folder = model.save(tmp_path / "m")
    stored = json.loads((folder / METADATA_FILE).read_text())["training_config"]
    assert stored == json.loads(json.dumps(cfg.to_dict()))  # plain JSON, not a pickle
    loaded = GovmlModel.load(folder)
    assert loaded.metadata == model.metadata and loaded.training_config() == cfg
    assert loaded.training_config().labels.review_delay == "5D"
    again = GovmlModel.load(loaded.save(tmp_path / "again"))
    assert (tmp_path / "again" / METADATA_FILE).read_bytes() == (
        folder / METADATA_FILE
    ).read_bytes()
    assert again.training_config() == cfg
    path = save_pyfunc(model, tmp_path / "pyfunc", input_example=scoring.head(2))
    raw = mlflow.pyfunc.load_model(str(path), suppress_warnings=True).get_raw_model()
    assert raw.metadata == model.metadata and raw.training_config() == cfg
    # a mapping (to_dict()) is accepted like the ExperimentConfig itself
    same = GovmlModel.from_fit(fit, task="low_quality", name="m", training_config=cfg.to_dict())
    assert same.metadata.training_config == model.metadata.training_config


def test_artifacts_without_a_training_config_still_load(saved, model, tmp_path):
    assert model.metadata.training_config is None and model.training_config() is None
    folder = _copy(saved, tmp_path)
    _edit_metadata(folder, lambda d: d.pop("training_config"))  # as written before the field
    old = GovmlModel.load(folder)
    assert old.metadata.training_config is None and old.training_config() is None
    assert old.metadata == model.metadata
    old_dict = {k: v for k, v in model.metadata.to_dict().items() if k != "training_config"}
    assert ModelMetadata.from_dict(old_dict).training_config is None


def test_training_config_is_stored_read_only(fit):
    data = _lq_config().to_dict()
    model = GovmlModel.from_fit(fit, task="low_quality", name="m", training_config=data)
    data["labels"]["review_delay"] = "9D"  # the caller's dict is copied, not kept
    stored = model.metadata.training_config
    assert stored["labels"]["review_delay"] == "5D"
    with pytest.raises(TypeError):
        stored["labels"]["review_delay"] = "9D"
    with pytest.raises(TypeError):
        stored["task"] = "adversarial"
    numpy_valued = dict(data, evaluation=dict(data["evaluation"], n_bootstrap=np.int64(7)))
    model = GovmlModel.from_fit(fit, task="low_quality", name="m", training_config=numpy_valued)
    assert type(model.metadata.training_config["evaluation"]["n_bootstrap"]) is int


@pytest.mark.parametrize(
    ("training_config", "message"),
    [
        ({"task": "adversarial"}, "training_config is the configuration of task 'adversarial'"),
        ({"labels": {}}, r"training_config is the configuration of task None"),
        ("task: low_quality", "training_config is a str; expected a mapping"),
        ({"task": "low_quality", "seen": {1, 2}}, r"training_config.seen holds a set"),
        ({"task": "low_quality", "model": {1: "x"}}, "keys must be text"),
        ({"task": "low_quality", "x": float("nan")}, r"training_config.x=nan; JSON metadata"),
    ],
)
def test_invalid_training_configs_are_rejected(fit, training_config, message):
    with pytest.raises(ConfigError, match=message):
        GovmlModel.from_fit(fit, task="low_quality", name="m", training_config=training_config)


def test_a_stored_config_this_govml_cannot_read_still_scores(saved, scoring, tmp_path):
    folder = _copy(saved, tmp_path)
    _edit_metadata(
        folder, lambda d: d.update(training_config={"task": "low_quality", "labels": {"x": "1D"}})
    )
    model = GovmlModel.load(folder)  # scoring never needs the config
    assert len(model.predict_proba(scoring)) == len(scoring)
    with pytest.raises(
        ConfigError,
        match=r"model session-quality v7: its stored training config is not valid .*labels\.x",
    ):
        model.training_config()
    _edit_metadata(folder, lambda d: d.update(training_config={"task": "adversarial"}))
    with pytest.raises(ModelFormatError, match="training_config is the configuration of task"):
        GovmlModel.load(folder)
