"""Hyperparameter search with Optuna over the time-based validation period.

Each trial fits LightGBM on the training period with early stopping on the validation
period and is scored by validation average precision (PR-AUC). The test period is never
seen. The sampler is seeded (``model.seed``), so a search is reproducible for the same
data, settings and number of trials (up to LightGBM's thread-level determinism).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from govml._exceptions import ConfigError

if TYPE_CHECKING:
    from govml.training.config import ExperimentConfig
    from govml.training.pipeline import TrainingData

__all__ = ["tune_params", "SEARCH_SPACE", "DEFAULT_START"]

#: name -> (low, high, log scale, integer). The ranges cover the shallow, heavily
#: regularised trees that rare, noisy labels need as well as the deeper ones of the
#: session task.
SEARCH_SPACE: dict[str, tuple[float, float, bool, bool]] = {
    "num_leaves": (3, 63, True, True),
    "min_data_in_leaf": (20, 4000, True, True),
    "feature_fraction": (0.2, 1.0, False, False),
    "lambda_l2": (0.01, 100.0, True, False),
    "learning_rate": (0.01, 0.1, True, False),
}

#: Where the first trial starts when ``base_params`` does not set a searched parameter.
DEFAULT_START: dict[str, float] = {
    "num_leaves": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "learning_rate": 0.05,
}


def _first_trial(base: Mapping[str, Any]) -> dict[str, float]:
    """The configured parameters, clipped into the search space."""
    first = {}
    for name, (low, high, _, integer) in SEARCH_SPACE.items():
        value = base.get(name, DEFAULT_START[name])
        value = int(value) if integer else float(value)
        first[name] = min(max(value, int(low) if integer else low), int(high) if integer else high)
    return first


def tune_params(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    *,
    data: TrainingData,
    config: ExperimentConfig,
    base_params: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Search LightGBM parameters; returns ``base_params`` updated with the best trial's.

    The first trial is ``base_params`` itself (clipped into :data:`SEARCH_SPACE`), so
    the search never returns parameters worse on validation than the configured ones.

    Parameters
    ----------
    train, valid : DataFrame
        The training and validation periods (the test period must not be passed).
    data : TrainingData
        Feature, categorical and label columns.
    config : ExperimentConfig
        ``tune.n_trials``, ``tune.timeout_s`` and the model settings of each trial
        (rounds, early stopping, seed, imbalance handling).
    base_params : mapping, optional
        Parameters every trial starts from (the searched ones are overwritten).
    progress : callable, optional
        Called with one line per trial.

    Returns
    -------
    dict
        ``base_params`` with the best trial's values of the searched parameters.

    Raises
    ------
    ConfigError
        Optuna is not installed (``pip install "govml[tune]"``) or ``tune.n_trials`` < 1.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from govml.training import TrainingData, default_config, time_split
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=600, freq="h", tz="UTC"),
    ...                    "id": [f"r{i}" for i in range(600)], "x": rng.normal(size=600)})
    >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> data = TrainingData(df, task="adversarial", key=("id",), time_col="t", label_col="y",
    ...                     features=("x",), categorical=(), market_col=None, group_col=None)
    >>> config = default_config("adversarial").override(
    ...     {"split.gap": "1D", "model.num_boost_round": 20})
    >>> train, valid, _ = time_split(df, time_col="t", gap=config.maturity_gap).frames(df)
    >>> from govml.training.tune import SEARCH_SPACE, tune_params
    >>> best = tune_params(train, valid, data=data, config=config.override({"tune.n_trials": 2}),
    ...                    base_params={"num_leaves": 7})
    >>> sorted(best) == sorted(SEARCH_SPACE)
    True
    """
    if config.tune.n_trials < 1:
        raise ConfigError(f"tune.n_trials={config.tune.n_trials} must be at least 1 to tune")
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            f"tune.n_trials={config.tune.n_trials} needs Optuna: "
            'pip install "govml[tune]" (or run without --tune / set tune.n_trials: 0)'
        ) from None
    from sklearn.metrics import average_precision_score

    from govml.model import GovmlModel
    from govml.training.lgbm import fit_experiment

    base = dict(base_params or {})
    y_valid = valid[data.label_col].to_numpy()

    def objective(trial: Any) -> float:
        params = dict(base)
        for name, (low, high, log, integer) in SEARCH_SPACE.items():
            if integer:
                params[name] = trial.suggest_int(name, int(low), int(high), log=log)
            else:
                params[name] = trial.suggest_float(name, low, high, log=log)
        fit = fit_experiment(train, valid, data, config, params, calibration="identity")
        # Average precision depends only on the order of the scores, so the raw score
        # ranks validation exactly as any calibration of it would.
        raw = GovmlModel.from_fit(fit, task=data.task, name="trial").predict_raw(valid)
        score = float(average_precision_score(y_valid, np.asarray(raw)))
        if progress is not None:
            progress(f"  trial {trial.number}: validation PR-AUC {score:.4f}")
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.model.seed)
    )
    study.enqueue_trial(_first_trial(base))
    study.optimize(objective, n_trials=config.tune.n_trials, timeout=config.tune.timeout_s)
    return {**base, **study.best_params}
