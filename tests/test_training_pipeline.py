"""Training pipeline: both tasks end to end on a small simulated world.

One small world (400 creators x 120 days) is simulated once per module; the
adversarial task uses a 7-day horizon and resolution delay (gap 14 days) so that
train, validation and test periods fit in 120 days. Boosting rounds and bootstrap
resamples are capped so that the whole file stays fast on two cores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import govml
from govml import ConfigError
from govml._exceptions import TrainingError
from govml.training.config import default_config, load_config
from govml.training.pipeline import (
    TrainingData,
    build_training_data,
    oracle_scores,
    train_model,
    train_task,
)

SCORERS = ["model", "rules", "logistic", "oracle"]
FAST = {
    "model.num_boost_round": 150,
    "model.early_stopping_rounds": 20,
    "model.params.min_data_in_leaf": 20,
    "model.params.num_leaves": 7,
    "evaluation.n_bootstrap": 10,
}


def fast_config(task: str, **overrides):
    cfg = default_config(task).override(FAST)
    if task == "adversarial":
        cfg = cfg.override({"labels.horizon": "7D", "labels.resolution_delay": "7D"})
    return cfg.override(overrides) if overrides else cfg


@pytest.fixture(scope="module")
def world():
    return govml.simulate(n_creators=400, n_days=120, seed=3)


@pytest.fixture(scope="module")
def tables(world):
    return govml.validate_tables(world.tables)


@pytest.fixture(scope="module")
def lq_data(tables):
    return build_training_data(tables, fast_config("low_quality"))


@pytest.fixture(scope="module")
def adv_data(tables):
    return build_training_data(tables, fast_config("adversarial"))


@pytest.fixture(scope="module")
def lq_result(lq_data, world):
    cfg = fast_config("low_quality")
    return train_model(lq_data, cfg, oracle=oracle_scores(world.truth, lq_data, cfg), track=False)


@pytest.fixture(scope="module")
def adv_result(adv_data, world):
    cfg = fast_config("adversarial")
    return train_model(adv_data, cfg, oracle=oracle_scores(world.truth, adv_data, cfg), track=False)


# --------------------------------------------------------------------------- results


@pytest.mark.parametrize("which", ["lq_result", "adv_result"])
def test_comparison_has_model_rules_logistic_oracle(which, request):
    result = request.getfixturevalue(which)
    assert list(result.comparison.index) == SCORERS
    assert set(result.evaluations) == set(SCORERS)
    assert {"PR-AUC", "ROC-AUC"} <= set(result.comparison.columns)
    ratio = result.pr_auc_vs_oracle()
    pr = {k: v.overall.pr_auc.value for k, v in result.evaluations.items()}
    assert ratio == pytest.approx(pr["model"] / pr["oracle"])
    value, lo, hi = result.oracle_ratio(n_bootstrap=30)
    assert value == pytest.approx(ratio)
    assert lo <= hi


def test_low_quality_is_evaluated_on_the_random_audit(lq_result):
    scores = lq_result.test_scores
    audit = scores["sample_reason"] == "random_audit"
    assert 0 < audit.sum() < len(scores)  # the other reviews exist and are left out
    assert "random" in lq_result.sample
    for name in SCORERS:
        unbiased = lq_result.evaluations[name]
        everything = lq_result.evaluations_all_reviewed[name]
        assert unbiased.n_rows == int(audit.sum())
        assert everything.n_rows == len(scores)
        assert unbiased.n_positive == int(scores.loc[audit, "label"].sum())
        assert unbiased.sample != everything.sample
    # the ratio is measured on the audit unless asked otherwise, and both differ
    assert lq_result.oracle_ratio(n_bootstrap=0)[0] == pytest.approx(lq_result.pr_auc_vs_oracle())
    assert lq_result.oracle_ratio(sample="all", n_bootstrap=0)[0] != pytest.approx(
        lq_result.pr_auc_vs_oracle()
    )


def test_adversarial_is_evaluated_on_every_mature_snapshot(adv_result):
    assert adv_result.sample == "all mature snapshots"
    assert adv_result.evaluations_all_reviewed == {}
    assert adv_result.evaluations["model"].n_rows == len(adv_result.test_scores)


@pytest.mark.parametrize("which", ["lq_result", "adv_result"])
def test_thresholds_are_ordered_probabilities(which, request):
    cuts = request.getfixturevalue(which).model.metadata.thresholds
    assert set(cuts) == {"review", "watch"}
    assert 0.0 <= cuts["watch"] < cuts["review"] <= 1.0


def test_configured_thresholds_are_used_as_given(lq_data):
    cfg = fast_config("low_quality").override({"thresholds.review": 0.6, "thresholds.watch": 0.2})
    result = train_model(lq_data, cfg, track=False)
    assert dict(result.model.metadata.thresholds) == {"review": 0.6, "watch": 0.2}
    assert "oracle" not in result.comparison.index
    assert result.pr_auc_vs_oracle() is None


def test_refit_trains_on_train_and_validation_with_the_early_stopped_rounds(adv_data, adv_result):
    refit = adv_result.model.metadata.params
    assert refit["refit"] is True
    assert refit["n_train_first_fit"] == adv_result.split.train.n_rows
    assert adv_result.model.metadata.best_iteration == refit["early_stopped_rounds"]
    plain = train_model(adv_data, fast_config("adversarial", **{"model.refit": False}), track=False)
    assert "refit" not in plain.model.metadata.params
    # both runs stop early after the same rounds on the same validation period
    assert plain.model.metadata.best_iteration == refit["early_stopped_rounds"]
    assert plain.model.metadata.calibration == adv_result.model.metadata.calibration
    assert plain.model.booster.model_to_string() != adv_result.model.booster.model_to_string()


def test_same_data_and_seed_give_a_byte_identical_model(lq_data, lq_result):
    again = train_model(lq_data, fast_config("low_quality"), track=False)
    assert again.model.booster.model_to_string() == lq_result.model.booster.model_to_string()
    other = train_model(lq_data, fast_config("low_quality", **{"model.seed": 1}), track=False)
    assert other.model.booster.model_to_string() != lq_result.model.booster.model_to_string()


def test_train_task_builds_the_data_itself(tables, world, lq_result):
    result = train_task(tables, fast_config("low_quality"), truth=world.truth, track=False)
    assert result.model.booster.model_to_string() == lq_result.model.booster.model_to_string()
    assert result.comparison.equals(lq_result.comparison)


def test_snapshot_warmup_sets_the_first_snapshot(tables, adv_data):
    first_session = tables.sessions["ended_at"].min().normalize()
    assert adv_data.frame["snapshot_at"].min() == first_session + pd.Timedelta("30D")
    later = build_training_data(tables, fast_config("adversarial", **{"snapshots.warmup": "45D"}))
    assert later.frame["snapshot_at"].min() == first_session + pd.Timedelta("45D")


# --------------------------------------------------------------------------- own frames


def own_frame(n_accounts: int = 300, n_days: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-01", periods=n_days, freq="D", tz="UTC")
    frame = pd.DataFrame(
        {
            "account": np.repeat(np.arange(n_accounts), n_days),
            "scored_at": np.tile(days, n_accounts),
        }
    )
    frame["x1"] = rng.normal(size=len(frame))
    frame["x2"] = rng.normal(size=len(frame))
    frame["region"] = rng.choice(["north", "south", "east"], size=len(frame))
    logit = -2.5 + 1.5 * frame["x1"] - 0.8 * frame["x2"] + (frame["region"] == "north")
    frame["y"] = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def test_train_model_accepts_a_users_own_feature_frame():
    frame = own_frame()
    before = frame.copy()
    data = TrainingData(
        frame=frame,
        task="adversarial",
        key=("account",),
        time_col="scored_at",
        label_col="y",
        features=("x1", "x2", "region"),
        categorical=("region",),
        market_col=None,
        group_col="account",
    )
    cfg = default_config("adversarial").override({**FAST, "split.gap": "2D"})
    result = train_model(data, cfg, oracle=np.full(len(frame), 0.1), track=False)
    pd.testing.assert_frame_equal(frame, before)  # the input is not modified
    # no rules baseline: its columns are not in this frame
    assert list(result.comparison.index) == ["model", "logistic", "oracle"]
    assert result.model.metadata.label == "y"
    assert [f.name for f in result.model.metadata.features] == ["x1", "x2", "region"]
    assert result.model.metadata.category_levels["region"] == ("east", "north", "south")
    scores = result.test_scores
    assert {"account", "scored_at", "y", "model"} <= set(scores.columns)
    assert result.evaluations["model"].overall.roc_auc.value > 0.7
    assert result.oracle_ratio(n_bootstrap=5)[0] > 1  # a constant oracle is beaten
    # no group column: the ratio's interval resamples days
    no_group = train_model(
        TrainingData(**{**data.__dict__, "group_col": None}),
        cfg,
        oracle=np.full(len(frame), 0.1),
        track=False,
    )
    assert no_group.group_col is None and no_group.time_col == "scored_at"
    assert np.isfinite(no_group.oracle_ratio(n_bootstrap=5)[1])


# --------------------------------------------------------------------------- tuning


def test_tuning_searches_on_validation_and_keeps_the_best_params(lq_data):
    cfg = fast_config("low_quality", **{"tune.n_trials": 2})
    messages: list[str] = []
    result = train_model(lq_data, cfg, track=False, progress=messages.append)
    assert sum(m.startswith("  trial ") for m in messages) == 2
    assert {"num_leaves", "min_data_in_leaf", "feature_fraction"} <= set(result.best_params)
    assert result.model.metadata.params["num_leaves"] == result.best_params["num_leaves"]


# --------------------------------------------------------------------------- errors


def test_naive_cutoff_is_rejected(tables):
    with pytest.raises(TrainingError, match="must be timezone-aware"):
        build_training_data(tables, fast_config("low_quality"), cutoff="2025-10-01")


def test_oracle_needs_the_same_world(lq_data):
    other = govml.simulate(n_creators=30, n_days=10, seed=99).truth
    with pytest.raises(TrainingError, match=r"session\(s\) are not in the ground truth"):
        oracle_scores(other, lq_data, fast_config("low_quality"))


def test_missing_feature_columns_are_named(lq_data):
    data = TrainingData(**{**lq_data.__dict__, "features": (*lq_data.features, "nope")})
    with pytest.raises(TrainingError, match=r"missing column\(s\) \['nope'\]"):
        train_model(data, fast_config("low_quality"), track=False)


def test_oracle_of_the_wrong_length_is_rejected(lq_data):
    with pytest.raises(TrainingError, match="oracle has 3 values but the training frame has"):
        train_model(lq_data, fast_config("low_quality"), oracle=np.zeros(3), track=False)


def test_oracle_ratio_errors(lq_result, lq_data):
    with pytest.raises(TrainingError, match=r"scorer='oracle' is not a test score"):
        lq_result.oracle_ratio("oracle")
    with pytest.raises(TrainingError, match=r"scorer='xgb' is not a test score"):
        lq_result.oracle_ratio("xgb")
    with pytest.raises(TrainingError, match=r"sample='audit'; use 'unbiased' or 'all'"):
        lq_result.oracle_ratio(sample="audit")
    no_oracle = train_model(lq_data, fast_config("low_quality"), track=False)
    with pytest.raises(TrainingError, match="oracle_ratio needs oracle scores"):
        no_oracle.oracle_ratio()
    scores = lq_result.test_scores.assign(label=0)
    empty = type(lq_result)(**{**lq_result.__dict__, "test_scores": scores})
    with pytest.raises(TrainingError, match="holds no positive"):
        empty.oracle_ratio()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("snapshots: {warmup: soon}", "snapshots.warmup='soon' is not a duration"),
        ("model: {refit: 'yes'}", "model.refit='yes' must be true or false"),
        ("tune: {timeout_s: -5}", "tune.timeout_s=-5 must be a positive number of seconds"),
    ],
)
def test_new_config_fields_are_validated(tmp_path, text, match):
    path = tmp_path / "exp.yaml"
    path.write_text(f"task: adversarial\n{text}\n")
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_shipped_experiments_load():
    for task in ("low_quality", "adversarial"):
        cfg = load_config(f"experiments/{task}.yaml")
        assert cfg.task == task and cfg.model.refit is True
    assert str(load_config("experiments/adversarial.yaml").snapshot_warmup) == "30 days 00:00:00"


# --------------------------------------------------------------------------- tracking


def test_tracked_run_registers_a_champion(lq_data, tmp_path, monkeypatch):
    from govml import tracking

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    for var in ("GOVML_ARTIFACT_LOCATION", "GOVML_MODELS_DIR"):
        monkeypatch.delenv(var, raising=False)
    cfg = fast_config("low_quality", **{"evaluation.n_bootstrap": 0})
    result = train_model(lq_data, cfg, track=True, models_dir=str(tmp_path / "models"))
    assert result.run_id is not None
    assert result.version is not None and result.version.name == "govml-low_quality"
    assert result.promotion is not None and result.promotion.promoted
    champion = tracking.champion("govml-low_quality")
    assert champion is not None and champion.version == result.version.version
    assert (tmp_path / "mlruns.db").exists()
    saved = tracking.load_model(champion.model_uri)
    assert saved.booster.model_to_string() == result.model.booster.model_to_string()
    assert result.model_path is not None and result.model_path.startswith(str(tmp_path))
    # a second run is version 2, and the returned and saved models say so (the artifact
    # was logged before the registry numbered it)
    again = train_model(lq_data, cfg, track=True, models_dir=str(tmp_path / "models"))
    assert again.version.version == 2 and again.model.metadata.version == "2"
    assert govml.GovmlModel.load(again.model_path).metadata.version == "2"
    assert again.model_path.endswith("v2")


@pytest.mark.parametrize(
    ("which", "task"), [("lq_result", "low_quality"), ("adv_result", "adversarial")]
)
def test_the_model_stores_the_config_it_was_trained_with(which, task, request, tmp_path):
    model = request.getfixturevalue(which).model
    cfg = fast_config(task)
    assert model.training_config() == cfg
    # stored as read-only plain data (lists, e.g. the adversarial metric, as tuples)
    from govml.model import _plain_tree

    assert _plain_tree(model.metadata.training_config) == cfg.to_dict()
    loaded = govml.GovmlModel.load(model.save(tmp_path / "m"))
    assert loaded.training_config() == cfg
    if task == "adversarial":
        assert loaded.training_config().labels.horizon == "7D"  # not the 30D default
