"""Optuna search over the validation period: reproducible, and clear errors."""

import numpy as np
import pandas as pd
import pytest

from govml import ConfigError
from govml.training.config import default_config
from govml.training.pipeline import TrainingData
from govml.training.tune import DEFAULT_START, SEARCH_SPACE, tune_params


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    n = 1200
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "m": pd.Categorical(rng.choice(["a", "b"], n)),
            "t": pd.date_range("2026-01-01", periods=n, freq="h", tz="UTC"),
            "id": np.arange(n).astype(str),
        }
    )
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    data = TrainingData(
        frame=df,
        task="low_quality",
        key=("id",),
        time_col="t",
        label_col="y",
        features=("x", "m"),
        categorical=("m",),
        market_col=None,
    )
    return df[:800], df[800:], data


def test_search_is_reproducible_and_stays_in_the_space(frames):
    train, valid, data = frames
    config = default_config("low_quality").override(
        {"tune.n_trials": 3, "model.num_boost_round": 30}
    )
    a = tune_params(train, valid, data=data, config=config, base_params={"verbose": -1})
    b = tune_params(train, valid, data=data, config=config, base_params={"verbose": -1})
    assert a == b
    assert a["verbose"] == -1
    for name, (low, high, _, _) in SEARCH_SPACE.items():
        assert low <= a[name] <= high


def test_first_trial_is_the_configured_parameters_clipped_into_the_space(frames):
    train, valid, data = frames
    config = default_config("low_quality").override(
        {"tune.n_trials": 1, "model.num_boost_round": 30}
    )
    base = {"verbose": -1, "num_leaves": 500, "learning_rate": 0.05}
    best = tune_params(train, valid, data=data, config=config, base_params=base)
    assert best["num_leaves"] == SEARCH_SPACE["num_leaves"][1]  # 500 clipped to the top
    assert best["learning_rate"] == 0.05
    assert best["min_data_in_leaf"] == DEFAULT_START["min_data_in_leaf"]


def test_zero_trials_is_an_error(frames):
    train, valid, data = frames
    with pytest.raises(ConfigError, match="must be at least 1 to tune"):
        tune_params(train, valid, data=data, config=default_config("low_quality"))


def test_missing_optuna_says_how_to_install(frames, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "optuna":
            raise ImportError("no optuna")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    train, valid, data = frames
    config = default_config("low_quality").override({"tune.n_trials": 1})
    with pytest.raises(
        ConfigError, match=r'tune.n_trials=1 needs Optuna: pip install "govml\[tune\]"'
    ):
        tune_params(train, valid, data=data, config=config)
