"""Experiment YAML: defaults, overrides and errors that name the field."""

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from govml import ConfigError
from govml.training.config import (
    EvaluationConfig,
    ExperimentConfig,
    LabelConfig,
    ModelConfig,
    SnapshotConfig,
    SplitConfig,
    TuneConfig,
    default_config,
    load_config,
)


def write(tmp_path, text):
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    return p


def test_defaults_and_maturity_gap():
    adv = default_config("adversarial")
    assert adv.registered_name == "govml-adversarial"
    assert str(adv.maturity_gap) == "51 days 00:00:00"  # horizon 30D + resolution 21D
    assert str(default_config("low_quality").maturity_gap) == "3 days 00:00:00"


def test_yaml_round_trip_and_override(tmp_path):
    cfg = load_config(
        write(tmp_path, "task: low_quality\nmodel:\n  seed: 4\n  params: {num_leaves: 15}\n")
    )
    assert cfg.model.seed == 4 and cfg.model.params["num_leaves"] == 15
    cfg2 = cfg.override({"model.params.learning_rate": 0.1, "split.gap": "2D"})
    task_params = dict(default_config("low_quality").model.params)
    assert cfg2.model.params == {**task_params, "num_leaves": 15, "learning_rate": 0.1}
    assert str(cfg2.maturity_gap) == "2 days 00:00:00"
    # the original is untouched
    assert cfg.model.params == {**task_params, "num_leaves": 15}
    assert cfg.model.params["learning_rate"] == 0.03


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("task: fraud\n", r"task='fraud' is not a govml task"),
        ("task: [a, b]\n", r"task=\['a', 'b'\] is not a govml task"),
        ("task: fraud\nmodel: {params: {num_leaves: 3}}\n", r"task='fraud' is not a govml"),
        ("model: {seed: 1}\n", "'task' is required"),
        ("task: low_quality\nmodle: {}\n", r"unknown field\(s\) \['modle'\]"),
        ("task: low_quality\nmodel: {sed: 1}\n", r"unknown field\(s\) \['model.sed'\]"),
        ("task: low_quality\nlabels: {horizon: soon}\n", "labels.horizon='soon' is not a duration"),
        ("task: low_quality\nlabels: {horizon: '-1D'}\n", "must be a positive duration"),
        ("task: low_quality\nmodel: {imbalance: smote}\n", r"model.imbalance='smote' is not one"),
        ("task: low_quality\nmodel: {num_boost_round: 0}\n", "must be a positive integer"),
        ("task: low_quality\nmodel: {seed: x}\n", "model.seed='x' must be an integer"),
        ("task: low_quality\nmodel: {params: 3}\n", "model.params must be a mapping"),
        ("task: low_quality\nmodel: 3\n", "model must be a mapping of fields"),
        ("task: low_quality\nsplit: {test_days: -2}\n", r"split.test_days=-2 must be a positive"),
        ("task: low_quality\nevaluation: {capacity: {ID: 0}}\n", "evaluation.capacity="),
        ("task: low_quality\nevaluation: {target_precision: 2}\n", r"must be in \(0, 1\)"),
        ("task: low_quality\nevaluation: {n_bootstrap: -1}\n", "n_bootstrap=-1 must be"),
        ("task: low_quality\nthresholds: {review: 1.5}\n", r"thresholds.review=1.5 must be a"),
        ("task: low_quality\ntune: {n_trials: -1}\n", r"tune.n_trials=-1 must be"),
        ("- a\n- b\n", "expected a mapping of fields at the top level"),
        ("task: [unclosed\n", "is not valid YAML"),
    ],
)
def test_errors_name_the_field(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"modle.seed": 1}, "no section 'modle'"),
        ({"model.sed": 1}, "unknown field 'sed'"),
    ],
)
def test_bad_overrides(override, match):
    with pytest.raises(ConfigError, match=match):
        default_config("low_quality").override(override)


def test_from_dict_inverts_to_dict_through_json():
    import json

    from govml.training.config import ExperimentConfig

    cfg = default_config("adversarial").override(
        {
            "labels.horizon": "14D",
            "snapshots.freq": "7D",
            "evaluation.capacity": {"ID": 30, "TH": 10},
            "model.params.num_leaves": 15,
            "thresholds.review": 0.6,
        }
    )
    back = ExperimentConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.source is None
    assert back.labels.horizon == "14D" and back.evaluation.capacity == {"ID": 30, "TH": 10}
    assert ExperimentConfig.from_dict({"task": "low_quality"}, source="x").source == "x"
    with pytest.raises(ConfigError, match=r"model m: 'task' is required"):
        ExperimentConfig.from_dict({"labels": {}}, source="model m")
    with pytest.raises(ConfigError, match=r"labels.horizon='soon' is not a duration"):
        ExperimentConfig.from_dict({"task": "adversarial", "labels": {"horizon": "soon"}})


# ------------------------------------------------------------------ per-task measured defaults

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SECTIONS = ("labels", "snapshots", "split", "model", "evaluation", "tune")


def test_default_config_is_the_measured_settings():
    lq = default_config("low_quality")
    assert dict(lq.model.params) == {
        "num_leaves": 3,
        "min_data_in_leaf": 40,
        "learning_rate": 0.03,
        "feature_fraction": 0.5,
        "lambda_l2": 1.0,
    }
    assert (lq.model.num_boost_round, lq.model.early_stopping_rounds) == (3000, 150)
    assert (lq.evaluation.capacity, lq.evaluation.target_precision) == (20, 0.8)
    assert lq.labels.review_delay == "3D"
    adv = default_config("adversarial")
    assert dict(adv.model.params) == {
        "num_leaves": 7,
        "min_data_in_leaf": 1000,
        "feature_fraction": 0.3,
        "learning_rate": 0.02,
        "lambda_l2": 10.0,
        "metric": ["average_precision", "binary_logloss"],
    }
    assert (adv.model.num_boost_round, adv.model.early_stopping_rounds) == (2000, 100)
    assert (adv.evaluation.capacity, adv.evaluation.target_precision) == (20, 0.5)
    assert (adv.labels.horizon, adv.labels.resolution_delay) == ("30D", "21D")
    assert adv.model.imbalance == lq.model.imbalance == "none"


@pytest.mark.parametrize("task", ["low_quality", "adversarial"])
def test_experiment_yaml_equals_default_config(task):
    """experiments/<task>.yaml and default_config(task) cannot drift apart."""
    path = EXPERIMENTS / f"{task}.yaml"
    loaded = load_config(path)
    assert loaded.source == str(path)
    assert dataclasses.replace(loaded, source=None) == default_config(task)
    # and the file alone is a complete record: its sections over the bare dataclass
    # defaults (no task defaults underneath) give the same settings
    raw = yaml.safe_load(path.read_text())
    assert raw["task"] == task
    bare = ExperimentConfig(
        task=task,
        **{
            name: section(**raw[name])
            for name, section in zip(
                SECTIONS,
                (
                    LabelConfig,
                    SnapshotConfig,
                    SplitConfig,
                    ModelConfig,
                    EvaluationConfig,
                    TuneConfig,
                ),
                strict=True,
            )
            if name in raw
        },
    )
    default = default_config(task)
    for name in SECTIONS:
        assert getattr(bare, name) == getattr(default, name), name


def test_partial_file_inherits_the_task_defaults(tmp_path):
    cfg = load_config(write(tmp_path, "task: adversarial\nevaluation: {capacity: 5}\nsplit:\n"))
    adv = default_config("adversarial")
    assert cfg.evaluation.capacity == 5
    assert cfg.evaluation.target_precision == 0.5  # not the generic 0.8
    assert cfg.model == adv.model and cfg.split == adv.split
    lq = load_config(write(tmp_path, "task: low_quality\nmodel: {seed: 9, refit: false}\n"))
    assert (lq.model.seed, lq.model.refit) == (9, False)
    assert lq.model.num_boost_round == 3000 and lq.model.params["num_leaves"] == 3


def test_params_merge_key_by_key_and_generic_values_come_back_when_set(tmp_path):
    from govml.training.lgbm import DEFAULT_PARAMS, _params

    text = "task: adversarial\nmodel:\n  params: {num_leaves: 15, min_data_in_leaf: 100}\n"
    cfg = load_config(write(tmp_path, text))
    assert cfg.model.params["num_leaves"] == 15
    assert cfg.model.params["lambda_l2"] == 10.0  # the task's other params stay
    lgb = _params(cfg.model.params, seed=0, num_threads=1, imbalance="none", n_pos=1, n_neg=9)
    assert lgb["min_data_in_leaf"] == DEFAULT_PARAMS["min_data_in_leaf"] == 100
    assert lgb["bagging_fraction"] == DEFAULT_PARAMS["bagging_fraction"]  # named nowhere
    assert lgb["learning_rate"] == 0.02 and lgb["metric"][0] == "average_precision"
    # the same through override and from_dict
    over = default_config("adversarial").override({"model.params.num_leaves": 15})
    assert over.model.params == {**default_config("adversarial").model.params, "num_leaves": 15}
    data = {"task": "adversarial", "model": {"params": {"num_leaves": 15}}}
    assert ExperimentConfig.from_dict(data) == over
    assert data == {"task": "adversarial", "model": {"params": {"num_leaves": 15}}}  # untouched


@pytest.mark.parametrize("task", ["low_quality", "adversarial"])
def test_defaults_round_trip_through_json_and_yaml(task, tmp_path):
    cfg = default_config(task).override({"model.params.num_leaves": 31, "model.seed": 2})
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    assert ExperimentConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    path = write(tmp_path, yaml.safe_dump(cfg.to_dict()))
    assert dataclasses.replace(load_config(path), source=None) == cfg


def test_configs_do_not_share_the_task_defaults():
    a = default_config("adversarial")
    a.model.params["metric"].append("auc")  # mutate one config's (plain) params
    a.model.params["num_leaves"] = 99
    fresh = default_config("adversarial")
    assert fresh.model.params["metric"] == ["average_precision", "binary_logloss"]
    assert fresh.model.params["num_leaves"] == 7
