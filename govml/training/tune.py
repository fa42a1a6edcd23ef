"""Hyperparameter search with Optuna over the time-based validation period.

Each trial fits LightGBM on the training period with early stopping on the validation
period and is scored by validation average precision (PR-AUC). The test period is never
seen. The sampler is seeded (``model.seed``), so a search is reproducible for the same
data, settings and number of trials (up to LightGBM's thread-level determinism).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from govml._exceptions import ConfigError

if TYPE_CHECKING:
    from govml.training.config import ExperimentConfig
    from govml.training.pipeline import TrainingData

__all__ = ["tune_params", "SEARCH_SPACE"]

#: name -> (low, high, log scale, integer)
SEARCH_SPACE: dict[str, tuple[float, float, bool, bool]] = {
    "num_leaves": (4, 127, True, True),
    "learning_rate": (0.01, 0.2, True, False),
    "min_data_in_leaf": (10, 500, True, True),
    "feature_fraction": (0.5, 1.0, False, False),
    "lambda_l2": (1e-3, 10.0, True, False),
}


def tune_params(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    *,
    data: TrainingData,
    config: ExperimentConfig,
    base_params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Search LightGBM parameters; returns ``base_params`` updated with the best trial's.

    Parameters
    ----------
    train, valid : DataFrame
        The training and validation periods (the test period must not be passed).
    data : TrainingData
        Feature, categorical and label columns.
    config : ExperimentConfig
        ``tune.n_trials``, ``tune.timeout_s`` and the model settings of each trial.
    base_params : mapping, optional
        Parameters every trial starts from (the searched ones are overwritten).

    Raises
    ------
    ConfigError
        Optuna is not installed (``pip install "govml[tune]"``) or ``tune.n_trials`` < 1.
    """
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            'hyperparameter search needs Optuna: pip install "govml[tune]" (or run without --tune)'
        ) from None
    from sklearn.metrics import average_precision_score

    from govml.training.lgbm import fit_lightgbm

    if config.tune.n_trials < 1:
        raise ConfigError(f"tune.n_trials={config.tune.n_trials} must be at least 1 to tune")
    base = dict(base_params or {})
    y_valid = valid[data.label_col].to_numpy()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        params = dict(base)
        for name, (low, high, log, integer) in SEARCH_SPACE.items():
            if integer:
                params[name] = trial.suggest_int(name, int(low), int(high), log=log)
            else:
                params[name] = trial.suggest_float(name, low, high, log=log)
        fit = fit_lightgbm(
            train,
            valid,
            features=data.features,
            label=data.label_col,
            categorical=data.categorical,
            params=params,
            num_boost_round=config.model.num_boost_round,
            early_stopping_rounds=config.model.early_stopping_rounds,
            seed=config.model.seed,
            imbalance=config.model.imbalance,  # type: ignore[arg-type]
            calibration="identity",
        )
        from govml.model import GovmlModel

        model = GovmlModel.from_fit(fit, task=data.task, name="trial")
        raw = model.predict_raw(valid)
        return float(average_precision_score(y_valid, np.asarray(raw)))

    sampler = optuna.samplers.TPESampler(seed=config.model.seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=config.tune.n_trials, timeout=config.tune.timeout_s)
    return {**base, **study.best_params}
