"""Fit a LightGBM binary classifier with early stopping, calibration and fixed categories.

:func:`fit_lightgbm` trains on one period and early-stops and calibrates on the next
(the validation period from ``govml.training.splits``). It applies the same
categorical contract as scoring (:mod:`govml.model`): category levels are fixed from
the training frame (sorted, as text), encoded as integer codes and handed to
LightGBM as native categorical features; the levels travel with the result.

Determinism
-----------
The same data, parameters, ``seed`` and thread count give a byte-identical model text
(``booster.model_to_string()``): govml sets ``deterministic=True``,
``force_row_wise=True`` and derives every LightGBM seed from ``seed``. The thread
count is written into the model text's parameter section, so it is part of the
identity of the *text*; the trees and predictions measured here were identical for 1
and 2 threads.

Class imbalance
---------------
``imbalance="none"`` (the default) trains on the unweighted rows; ``"balanced"`` sets
``scale_pos_weight = n_neg / n_pos`` and ``"sqrt"`` its square root. Measured on a
synthetic problem shaped like govml's (8 numeric features with an interaction, a sine
and a step; ``market`` with 6 levels and ``category`` with 8 as native categoricals;
40,000 train, 15,000 validation and 60,000 test rows; 3 data seeds; default params,
2 threads; ``calibration="auto"``), scoring the test rows:

============  ===========  ======  ======  ============  ==========  ==========
positives     imbalance    rounds  PR-AUC  raw ECE       Brier       ECE
============  ===========  ======  ======  ============  ==========  ==========
*early stopping on validation log loss (the default metric)*
3.6 %         none         92      0.217   0.003         0.03137     0.0019
3.6 %         sqrt         4       0.157   0.027         0.03258     0.0030
3.6 %         balanced     1       0.095   0.026         0.03370     0.0044
12.5 %        none         152     0.417   0.004         0.09024     0.0040
12.5 %        sqrt         457     0.389   0.063         0.09244     0.0050
12.5 %        balanced     3       0.315   0.083         0.09715     0.0072
*early stopping on validation average precision*
3.6 %         none         91      0.216   0.003         0.03138     0.0020
3.6 %         sqrt         81      0.210   0.070         0.03156     0.0023
3.6 %         balanced     139     0.210   0.169         0.03164     0.0027
12.5 %        none         134     0.416   0.004         0.09020     0.0042
12.5 %        sqrt         151     0.414   0.095         0.09041     0.0054
12.5 %        balanced     170     0.413   0.215         0.09063     0.0091
============  ===========  ======  ======  ============  ==========  ==========

(PR-AUC is average precision of the test scores; "raw ECE" is of ``sigmoid(raw)``;
Brier and ECE are after calibration, 10 equal-mass bins.) Reweighting never ranked
better, and even after recalibration its probabilities were worse: the weights
distort every score (raw ECE up to 0.2) and the calibrator has to undo it from the
validation rows alone. Combined with early stopping on the unweighted validation log
loss it is actively harmful: the loss rises from the first rounds because of the
shift, so training stops after 1-4 rounds. Hence ``"none"`` by default, with the rare
class served by a ranking metric (average precision is recorded every round) and by
calibration. When ``imbalance`` is not ``"none"`` and ``params`` does not set
``metric``, early stopping switches to average precision so the weights cannot stop
training early.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from govml._exceptions import TrainingError
from govml.model import FeatureSpec, _level_strings, _numeric_problem, _prepare
from govml.training.calibration import _FIT_METHODS, Calibration, fit_calibration

if TYPE_CHECKING:
    import lightgbm

    from govml.training.config import ExperimentConfig
    from govml.training.pipeline import TrainingData

__all__ = ["DEFAULT_PARAMS", "IMBALANCE_OPTIONS", "FitResult", "fit_lightgbm", "fit_experiment"]

#: Defaults for ~10^5-10^6 rows and tens of features. Callers override any of them
#: through ``params``; the determinism settings and the objective are fixed.
DEFAULT_PARAMS: Mapping[str, Any] = MappingProxyType(
    {
        "learning_rate": 0.05,
        "num_leaves": 63,
        "min_data_in_leaf": 100,  # a leaf speaks for >= 100 rows: stable at 10^5 rows
        "min_sum_hessian_in_leaf": 1e-3,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l1": 0.0,
        "lambda_l2": 1.0,
        "max_bin": 255,
        "cat_smooth": 10.0,  # shrink category statistics towards the prior
        "cat_l2": 10.0,
        "max_cat_threshold": 32,
        "min_data_per_group": 100,  # a category needs 100 rows to get its own branch
        "metric": ["binary_logloss", "average_precision"],
    }
)
#: govml sets these; passing them in ``params`` is an error.
_FIXED = (
    "objective",
    "seed",
    "deterministic",
    "force_row_wise",
    "force_col_wise",
    "num_threads",
    "verbosity",
    "is_unbalance",
    "scale_pos_weight",
    "num_iterations",
    "num_boost_round",
    "n_estimators",
    "early_stopping_round",
    "early_stopping_rounds",
    "categorical_feature",
)
IMBALANCE_OPTIONS: tuple[str, ...] = ("none", "balanced", "sqrt")


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit_lightgbm` produced.

    Attributes
    ----------
    booster : lightgbm.Booster
        Holds exactly ``best_iteration`` trees (it is rebuilt from its own text, so it
        predicts bit for bit like a booster loaded from a saved model).
    best_iteration : int
        Boosting rounds kept, chosen by early stopping on the validation log loss.
    history : mapping
        ``{"train": {metric: values}, "valid": {metric: values}}``, one value per
        round trained (including the rounds after the best one).
    features : tuple of FeatureSpec
        Model inputs in training order; categorical ones carry their levels.
    label : str
        Label column.
    calibration : Calibration
        Fitted on the validation rows' raw scores.
    params : mapping
        LightGBM parameters used (defaults, overrides and the fixed settings), plus
        ``num_boost_round``, ``early_stopping_rounds`` and ``imbalance``.
    n_train, n_valid : int
        Rows used.
    valid_unseen : mapping of str to int
        Validation values per categorical feature whose level never occurs in train
        (they were encoded as "unseen", exactly as at scoring).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "m": rng.choice(["a", "b"], 600)})
    >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
    ...                    num_boost_round=20, num_threads=1, params={"num_leaves": 7})
    >>> fit.n_train, fit.n_valid, 0 < fit.best_iteration <= 20, fit.label
    (400, 200, True, 'y')
    >>> fit.params["num_leaves"], sorted(fit.history)
    (7, ['train', 'valid'])
    """

    booster: lightgbm.Booster
    best_iteration: int
    history: Mapping[str, Mapping[str, tuple[float, ...]]]
    features: tuple[FeatureSpec, ...]
    label: str
    calibration: Calibration
    params: Mapping[str, Any]
    n_train: int
    n_valid: int
    valid_unseen: Mapping[str, int]

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature names in training order.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=600), "m": rng.choice(["a", "b"], 600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
        ...                    num_boost_round=20, num_threads=1, params={"num_leaves": 7})
        >>> fit.feature_names
        ('x', 'm')
        """
        return tuple(f.name for f in self.features)

    @property
    def category_levels(self) -> Mapping[str, tuple[str, ...]]:
        """Levels of each categorical feature, fixed from the training frame.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=600), "m": rng.choice(["a", "b"], 600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
        ...                    num_boost_round=20, num_threads=1, params={"num_leaves": 7})
        >>> dict(fit.category_levels)
        {'m': ('a', 'b')}
        """
        return MappingProxyType(
            {f.name: f.levels for f in self.features if f.kind == "categorical"}
        )


def _labels(frame: pd.DataFrame, label: str, which: str) -> np.ndarray:
    column = frame[label]
    bad = ~column.isin([0, 1]).to_numpy(dtype=bool)  # 0/1 ints or floats, bools; not NaN
    if bad.any():
        examples = sorted({repr(v) for v in column[bad].head(20).tolist()})[:5]
        raise TrainingError(
            f"{which} frame: label column {label!r} must hold 0/1 (or bool) without missing "
            f"values; {int(bad.sum())} row(s) hold other values, e.g. {', '.join(examples)}. "
            "Drop unlabelled rows and map the label to 0/1"
        )
    values = column.to_numpy(dtype=np.float64)
    n_pos = int(values.sum())
    if n_pos in (0, len(values)):
        raise TrainingError(
            f"{which} frame: label column {label!r} has only class {int(values[0])} in "
            f"{len(values)} rows; both classes are needed (widen the {which} period)"
        )
    return values


def _check_frame(
    frame: pd.DataFrame, which: str, features: Sequence[str], label: str, categorical: set[str]
) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TrainingError(f"{which}: expected a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise TrainingError(
            f"{which} frame has no rows; check the time split (is the {which} period empty?)"
        )
    missing = [c for c in (*features, label) if c not in frame.columns]
    if missing:
        raise TrainingError(
            f"{which} frame lacks column(s) {missing}; pass frames that hold every feature "
            f"and the label {label!r}, or remove them from `features`"
        )
    bad = [
        f"{c!r} ({frame[c].dtype})"
        for c in features
        if c not in categorical
        and (
            pd.api.types.is_object_dtype(frame[c].dtype)
            or isinstance(frame[c].dtype, pd.CategoricalDtype)
            or _numeric_problem(frame[c]) is not None
        )
    ]
    if bad:
        raise TrainingError(
            f"{which} frame: feature column(s) {', '.join(bad)} are neither numeric nor "
            "declared categorical; declare them in `categorical=[...]` or convert them to "
            "numbers (pd.to_numeric, or drop them)"
        )


def _feature_specs(
    train: pd.DataFrame, features: Sequence[str], categorical: set[str]
) -> tuple[FeatureSpec, ...]:
    specs = []
    for name in features:
        column = train[name]
        if name not in categorical:
            specs.append(FeatureSpec(name, "numeric", str(column.dtype)))
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            used = column.cat.categories[np.unique(column.cat.codes[column.cat.codes >= 0])]
        else:
            used = pd.unique(column[column.notna()])
        levels = tuple(sorted(set(_level_strings(used))))
        if not levels:
            raise TrainingError(
                f"train frame: categorical feature {name!r} has no non-missing values, so no "
                "category level can be learned; drop it from `features` or fill it"
            )
        specs.append(FeatureSpec(name, "categorical", str(column.dtype), levels))
    return tuple(specs)


def _params(
    params: Mapping[str, Any] | None,
    *,
    seed: int,
    num_threads: int,
    imbalance: str,
    n_pos: int,
    n_neg: int,
) -> dict[str, Any]:
    user = dict(params or {})
    fixed = sorted(k for k in user if k in _FIXED)
    if fixed:
        raise TrainingError(
            f"params {fixed} are set by fit_lightgbm; use its arguments instead (seed=, "
            "num_threads=, imbalance=, num_boost_round=, early_stopping_rounds=, "
            "categorical=); the objective is always binary"
        )
    # numpy scalars would not survive json.dumps in the saved metadata
    user = {k: v.item() if isinstance(v, np.generic) else v for k, v in user.items()}
    merged = {**DEFAULT_PARAMS, **user}
    if imbalance != "none" and "metric" not in user:
        # class weights shift every raw score, so the unweighted validation log loss would
        # stop training after a few rounds: early-stop on the ranking instead
        merged["metric"] = ["average_precision", "binary_logloss"]
    merged.update(
        objective="binary",
        seed=int(seed),
        deterministic=True,
        force_row_wise=True,
        num_threads=int(num_threads),
        verbosity=-1,
    )
    if imbalance == "balanced":
        merged["scale_pos_weight"] = n_neg / n_pos
    elif imbalance == "sqrt":
        merged["scale_pos_weight"] = math.sqrt(n_neg / n_pos)
    if isinstance(merged.get("metric"), tuple):
        merged["metric"] = list(merged["metric"])
    return merged


def fit_lightgbm(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    *,
    features: Sequence[str],
    label: str,
    categorical: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    num_boost_round: int = 2000,
    early_stopping_rounds: int = 100,
    seed: int = 0,
    imbalance: Literal["none", "balanced", "sqrt"] = "none",
    calibration: Literal["auto", "platt", "isotonic", "identity"] = "auto",
    num_threads: int | None = None,
) -> FitResult:
    """Train a LightGBM binary classifier, early-stopped and calibrated on ``valid``.

    Parameters
    ----------
    train, valid : DataFrame
        Training and validation periods with the feature and label columns. Not
        modified.
    features : sequence of str
        Model inputs; their order is the booster's column order.
    label : str
        0/1 (or bool) label column; both classes must occur in both frames.
    categorical : sequence of str, optional
        Features treated as categorical (any dtype: category, str, object, numbers).
        Levels are the sorted distinct values of ``train`` (as text).
    params : mapping, optional
        Overrides of :data:`DEFAULT_PARAMS`. The objective, seeds, determinism,
        threads and class weights are set through the other arguments.
    num_boost_round : int, default 2000
        Upper bound on boosting rounds.
    early_stopping_rounds : int, default 100
        Stop when the validation log loss has not improved for this many rounds.
    seed : int, default 0
        Seed of every random choice (bagging, feature fraction).
    imbalance : {"none", "balanced", "sqrt"}, default "none"
        Positive-class weight: none, ``n_neg / n_pos`` or its square root. See the
        module docstring for why ``"none"`` is the default.
    calibration : {"auto", "platt", "isotonic", "identity"}, default "auto"
        Method of :func:`govml.training.calibration.fit_calibration`.
    num_threads : int, optional
        LightGBM threads; defaults to ``get_settings().n_jobs`` (0 = all cores).

    Returns
    -------
    FitResult

    Raises
    ------
    TrainingError
        Empty frames, missing columns (named), labels that are not 0/1 or have one
        class, feature columns that are neither numeric nor declared categorical
        (named), an all-missing categorical feature, invalid arguments, or params
        that govml sets itself.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=800), "m": rng.choice(["a", "b"], 800)})
    >>> df["y"] = (rng.random(800) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> fit = fit_lightgbm(df[:500], df[500:], features=["x", "m"], label="y",
    ...                    categorical=["m"], num_threads=1,
    ...                    params={"min_data_in_leaf": 20, "num_leaves": 7})
    >>> fit.category_levels["m"], fit.best_iteration > 0
    (('a', 'b'), True)
    """
    import lightgbm

    features = list(features)
    categorical_set = set(categorical or ())
    if not features:
        raise TrainingError("features is empty; name the columns the model should use")
    duplicated = sorted({f for f in features if features.count(f) > 1})
    if duplicated:
        raise TrainingError(f"features lists {duplicated} more than once; name each column once")
    if label in features:
        raise TrainingError(
            f"the label {label!r} is also listed as a feature; remove it from `features`"
        )
    unknown = sorted(categorical_set - set(features))
    if unknown:
        raise TrainingError(
            f"categorical {unknown} are not in features; every categorical column must also "
            "be listed in `features`"
        )
    if imbalance not in IMBALANCE_OPTIONS:
        raise TrainingError(f"imbalance={imbalance!r}; expected one of {list(IMBALANCE_OPTIONS)}")
    if calibration not in _FIT_METHODS:
        raise TrainingError(f"calibration={calibration!r}; expected one of {list(_FIT_METHODS)}")
    if num_boost_round < 1 or early_stopping_rounds < 1:
        raise TrainingError(
            f"num_boost_round={num_boost_round} and early_stopping_rounds="
            f"{early_stopping_rounds} must both be at least 1"
        )
    _check_frame(train, "train", features, label, categorical_set)
    _check_frame(valid, "valid", features, label, categorical_set)
    y_train = _labels(train, label, "train")
    y_valid = _labels(valid, label, "valid")
    specs = _feature_specs(train, features, categorical_set)
    x_train = _prepare(train, specs, where="train frame").to_numpy()
    prepared_valid = _prepare(valid, specs, where="valid frame")
    x_valid = prepared_valid.to_numpy()

    if num_threads is None:
        from govml._config import get_settings

        num_threads = get_settings().n_jobs
    n_pos = int(y_train.sum())
    merged = _params(
        params,
        seed=seed,
        num_threads=num_threads,
        imbalance=imbalance,
        n_pos=n_pos,
        n_neg=len(y_train) - n_pos,
    )
    cat_names = [f.name for f in specs if f.kind == "categorical"]
    train_set = lightgbm.Dataset(
        x_train,
        label=y_train,
        feature_name=features,
        categorical_feature=cat_names,
        free_raw_data=True,
    )
    valid_set = lightgbm.Dataset(x_valid, label=y_valid, reference=train_set)
    record: dict[str, dict[str, list[float]]] = {}
    try:
        trained = lightgbm.train(
            merged,
            train_set,
            num_boost_round=num_boost_round,
            valid_sets=[train_set, valid_set],
            valid_names=["train", "valid"],
            callbacks=[
                lightgbm.early_stopping(
                    early_stopping_rounds, first_metric_only=True, verbose=False
                ),
                lightgbm.record_evaluation(record),
            ],
        )
    except lightgbm.basic.LightGBMError as exc:
        raise TrainingError(f"LightGBM rejected the training set-up: {exc}") from None
    best = int(trained.best_iteration) or int(trained.current_iteration())
    booster = lightgbm.Booster(model_str=trained.model_to_string(num_iteration=best))
    raw_valid = booster.predict(x_valid, raw_score=True)
    fitted = fit_calibration(raw_valid, y_valid, method=calibration, seed=seed)
    history = MappingProxyType(
        {
            split: MappingProxyType({m: tuple(float(v) for v in vals) for m, vals in res.items()})
            for split, res in record.items()
        }
    )
    used = {
        **merged,
        "num_boost_round": int(num_boost_round),
        "early_stopping_rounds": int(early_stopping_rounds),
        "imbalance": imbalance,
    }
    return FitResult(
        booster=booster,
        best_iteration=best,
        history=history,
        features=specs,
        label=label,
        calibration=fitted,
        params=MappingProxyType(used),
        n_train=len(train),
        n_valid=len(valid),
        valid_unseen=prepared_valid.unseen,
    )


def fit_experiment(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    data: TrainingData,
    config: ExperimentConfig,
    params: Mapping[str, Any],
    *,
    calibration: str | None = None,
) -> FitResult:
    """:func:`fit_lightgbm` with a training data set's columns and an experiment's settings.

    ``calibration`` overrides ``config.model.calibration`` (tuning trials rank by the raw
    score and skip it with ``"identity"``).

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
    >>> from govml.training.lgbm import fit_experiment
    >>> fit = fit_experiment(train, valid, data, config, {"num_leaves": 7})
    >>> fit.feature_names, fit.params["num_boost_round"], fit.n_train == len(train)
    (('x',), 20, True)
    """
    m = config.model
    return fit_lightgbm(
        train,
        valid,
        features=data.features,
        label=data.label_col,
        categorical=data.categorical,
        params=params,
        num_boost_round=m.num_boost_round,
        early_stopping_rounds=m.early_stopping_rounds,
        seed=m.seed,
        imbalance=m.imbalance,  # type: ignore[arg-type]
        calibration=(calibration or m.calibration),  # type: ignore[arg-type]
    )
