"""Rolling-origin evaluation: folds move forward in time, each retrained and evaluated."""

import numpy as np
import pandas as pd
import pytest

from govml import TrainingError
from govml.training.config import default_config
from govml.training.pipeline import TrainingData
from govml.training.prequential import prequential_evaluation


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    n = 3000
    df = pd.DataFrame(
        {
            "id": np.arange(n).astype(str),
            "t": pd.date_range("2026-01-01", periods=n, freq="40min", tz="UTC"),
            "x": rng.normal(size=n),
            "market": pd.Categorical(rng.choice(["ID", "TH"], n)),
        }
    )
    p = 1 / (1 + np.exp(-(2 * df["x"] - 1)))
    df["y"] = (rng.random(n) < p).astype(int)
    return (
        TrainingData(
            frame=df,
            task="adversarial",
            key=("id",),
            time_col="t",
            label_col="y",
            features=("x", "market"),
            categorical=("market",),
        ),
        p.to_numpy(),
    )


def test_folds_roll_forward_and_report_every_scorer(data):
    frame, oracle = data
    config = default_config("adversarial").override(
        {
            "split.gap": "1D",
            "evaluation.n_bootstrap": 0,
            "model.num_boost_round": 40,
            "model.params.num_leaves": 7,
        }
    )
    result = prequential_evaluation(frame, config, n_folds=3, oracle=oracle)
    table = result.to_frame()
    assert sorted(table["scorer"].unique()) == ["logistic", "model", "oracle"]
    starts = table.drop_duplicates("fold")["test_start"].tolist()
    assert starts == sorted(starts) and len(starts) == 3
    trains = [f.train.n_rows for f in result.folds]
    assert trains == sorted(trains) and trains[0] < trains[-1]  # expanding window
    assert set(result.summary().index) == {"model", "logistic", "oracle"}
    assert (table["pr_auc"] > 0).all()


def test_errors(data):
    frame, oracle = data
    config = default_config("adversarial").override({"split.gap": "1D"})
    with pytest.raises(TrainingError, match="n_folds=0 must be at least 1"):
        prequential_evaluation(frame, config, n_folds=0)
    with pytest.raises(TrainingError, match="oracle has 3 values"):
        prequential_evaluation(frame, config, oracle=oracle[:3])
