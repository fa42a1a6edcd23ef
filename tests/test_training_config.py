"""Experiment YAML: defaults, overrides and errors that name the field."""

import pytest

from govml import ConfigError
from govml.training.config import default_config, load_config


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
    assert cfg2.model.params == {"num_leaves": 15, "learning_rate": 0.1}
    assert str(cfg2.maturity_gap) == "2 days 00:00:00"
    assert cfg.model.params == {"num_leaves": 15}  # the original is untouched


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("task: fraud\n", r"task='fraud' is not a govml task"),
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
