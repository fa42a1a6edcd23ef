"""Baselines a model must beat, and the oracle it cannot beat.

Three scikit-learn-style estimators (``__init__`` only stores parameters, ``fit``
returns ``self``, fitted attributes end in ``_``, ``predict_proba(X)`` returns an
``(n, 2)`` array of ``[P(negative), P(positive)]``). Columns are always matched **by
name**, so they work on govml's feature sets (e.g. ``report_rate``, ``points_active``)
or on any frame of the user's own; column order never matters and extra columns are
ignored.

* :class:`RulesBaseline` -- what governance teams run today: points for thresholds on
  named columns ("report rate above its 95th percentile: 2 points").
* :class:`LogisticBaseline` -- logistic regression on the same features.
* :class:`OracleScorer` -- the true probabilities of simulated data, looked up by entity
  key and time: the ceiling any scorer can reach.

Errors
------
Every misuse raises :class:`govml.TrainingError`: missing columns (all named), bad
labels, and calling ``predict_proba`` before ``fit``. In the last case the error is
chained from scikit-learn's ``NotFittedError`` (``err.__cause__``), so the cause is
visible in tracebacks; catch ``TrainingError`` (or ``govml.GovmlError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from govml._exceptions import TrainingError
from govml.training.splits import _utc_micros

__all__ = ["Rule", "RulesBaseline", "LogisticBaseline", "OracleScorer"]

_MISSING_LEVEL = "(missing)"


# --------------------------------------------------------------------------- shared checks


def _check_X(X: Any, who: str) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TrainingError(
            f"{who} needs a pandas DataFrame with named columns, got {type(X).__name__}; "
            "columns are matched by name"
        )
    return X


def _require(X: pd.DataFrame, columns: Sequence[str], who: str) -> None:
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise TrainingError(
            f"{who}: X is missing column(s) {missing} (needs {list(columns)}); it has "
            f"{list(X.columns)}"
        )


def _check_y(y: Any, n: int, who: str) -> np.ndarray:
    values = pd.Series(np.asarray(y) if not isinstance(y, pd.Series) else y)
    if len(values) != n:
        raise TrainingError(f"{who}: y has {len(values):,} values but X has {n:,} rows")
    if values.isna().any():
        raise TrainingError(
            f"{who}: y has {int(values.isna().sum()):,} missing label(s); drop unlabelled "
            "(e.g. not yet mature) rows before fitting"
        )
    try:
        arr = values.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TrainingError(f"{who}: y has dtype {values.dtype}; expected 0/1 or bool") from err
    if not np.isin(arr, (0.0, 1.0)).all():
        bad = sorted(set(np.unique(arr).tolist()) - {0.0, 1.0})[:5]
        raise TrainingError(f"{who}: y must hold only 0/1 (or bool), found {bad}")
    if arr.min() == arr.max():
        raise TrainingError(
            f"{who}: y has a single class ({int(arr.sum()):,} positive of {n:,}); fitting needs "
            "positive and negative labels: use a longer training period"
        )
    return arr


def _check_fitted(est: BaseEstimator) -> None:
    try:
        check_is_fitted(est)
    except NotFittedError as err:
        raise TrainingError(
            f"this {type(est).__name__} is not fitted yet; call fit(X, y) before "
            "predict_proba / decision_function"
        ) from err


def _numeric(X: pd.DataFrame, column: str, who: str) -> np.ndarray:
    series = X[column]
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    raise TrainingError(
        f"{who}: column {column!r} has dtype {series.dtype}; a threshold rule needs a numeric "
        "or bool column"
    )


def _proba(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    return np.column_stack([1.0 - p, p])


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """One threshold rule of a :class:`RulesBaseline`.

    The rule fires on a row when ``column`` is strictly above (``direction="above"``)
    or strictly below (``"below"``) the threshold; a missing value never fires. The
    threshold is ``threshold`` when given, otherwise the ``quantile`` of the column's
    non-missing training values (``numpy.nanquantile``, linear interpolation).

    Examples
    --------
    >>> Rule("report_rate", points=2, quantile=0.95)
    Rule(column='report_rate', points=2, quantile=0.95, threshold=None, direction='above')
    """

    column: str
    points: float = 1.0
    quantile: float | None = 0.9
    threshold: float | None = None
    direction: Literal["above", "below"] = "above"


class RulesBaseline(ClassifierMixin, BaseEstimator):
    """A weighted points score from threshold rules, as governance teams use today.

    ``points(row) = sum of rule.points over the rules that fire on the row`` (see
    :class:`Rule`). Thresholds given explicitly are used as they are; the others are
    fitted as quantiles of the training data. With ``calibrate=True`` (default) the
    probability is an isotonic (monotone non-decreasing) fit of the training label on
    the points, so more points never means less risk and the probabilities are
    calibrated on the training data; point totals not seen in training are
    interpolated (clipped at the ends). With ``calibrate=False`` the probability is
    the points rescaled to [0, 1] between the lowest and highest possible total.

    Parameters
    ----------
    rules : sequence of Rule
        The rules (at least one). Several rules may use the same column (tiers).
    calibrate : bool, default True
        Map points to probabilities by isotonic regression on the training labels.

    Attributes
    ----------
    rules_ : tuple of Rule
        The rules with their fitted ``threshold`` filled in.
    thresholds_ : ndarray
        The thresholds, aligned with ``rules``.
    calibrator_ : IsotonicRegression or None
        The points-to-probability map (``None`` without calibration).
    classes_ : ndarray
        ``[0, 1]``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, 2.0, 8.0, 9.0, 0.5],
    ...                   "points_active": [0, 0, 4, 12, 0, 1]})
    >>> y = [0, 0, 0, 1, 1, 0]
    >>> rules = [Rule("report_rate", points=2, quantile=0.5), Rule("points_active", threshold=3)]
    >>> m = RulesBaseline(rules).fit(X, y)
    >>> m.thresholds_.tolist()
    [1.5, 3.0]
    >>> m.decision_function(X).tolist()
    [0.0, 0.0, 3.0, 3.0, 2.0, 0.0]
    >>> m.predict_proba(X)[:, 1].round(2).tolist()
    [0.0, 0.0, 0.67, 0.67, 0.67, 0.0]
    """

    def __init__(self, rules: Sequence[Rule] = (), *, calibrate: bool = True) -> None:
        self.rules = rules
        self.calibrate = calibrate

    def _check_rules(self) -> tuple[Rule, ...]:
        rules = tuple(self.rules)
        if not rules:
            raise TrainingError(
                "RulesBaseline needs at least one Rule, e.g. "
                "RulesBaseline([Rule('report_rate', points=2, quantile=0.95)])"
            )
        for i, rule in enumerate(rules):
            if not isinstance(rule, Rule):
                raise TrainingError(f"rules[{i}]={rule!r} is not a govml Rule")
            if rule.direction not in ("above", "below"):
                raise TrainingError(
                    f"rules[{i}] ({rule.column!r}): direction={rule.direction!r} must be "
                    "'above' or 'below'"
                )
            if not np.isfinite(rule.points):
                raise TrainingError(f"rules[{i}] ({rule.column!r}): points must be finite")
            if rule.threshold is None and (
                rule.quantile is None or not 0.0 <= rule.quantile <= 1.0
            ):
                raise TrainingError(
                    f"rules[{i}] ({rule.column!r}): give a threshold or a quantile in [0, 1], "
                    f"got quantile={rule.quantile!r}"
                )
        return rules

    def fit(self, X: pd.DataFrame, y: Any) -> RulesBaseline:
        """Fit quantile thresholds (and the calibration) on training rows ``X``, ``y``.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import Rule, RulesBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, 2.0, 8.0, 9.0, 0.5],
        ...                   "points_active": [0, 0, 4, 0, 6, 0]})
        >>> rules = [Rule("report_rate", points=2, quantile=0.5),
        ...          Rule("points_active", threshold=3)]
        >>> m = RulesBaseline(rules).fit(X, [0, 0, 0, 1, 1, 0])
        >>> m.thresholds_.tolist()  # the median report rate; the given threshold
        [1.5, 3.0]
        """
        rules = self._check_rules()
        X = _check_X(X, "RulesBaseline.fit")
        _require(X, [r.column for r in rules], "RulesBaseline.fit")
        labels = _check_y(y, len(X), "RulesBaseline.fit")
        fitted = []
        for rule in rules:
            if rule.threshold is not None:
                fitted.append(rule)
                continue
            values = _numeric(X, rule.column, "RulesBaseline.fit")
            if np.isnan(values).all():
                raise TrainingError(
                    f"RulesBaseline.fit: column {rule.column!r} has no non-missing value, so its "
                    f"quantile {rule.quantile} is undefined; give the rule an explicit threshold"
                )
            fitted.append(replace(rule, threshold=float(np.nanquantile(values, rule.quantile))))
        self.rules_ = tuple(fitted)
        self.thresholds_ = np.array([r.threshold for r in fitted], dtype=np.float64)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len({r.column for r in fitted})
        points = self._points(X)
        if self.calibrate:
            from sklearn.isotonic import IsotonicRegression

            self.calibrator_ = IsotonicRegression(
                y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip"
            ).fit(points, labels)
        else:
            self.calibrator_ = None
        return self

    def _points(self, X: pd.DataFrame) -> np.ndarray:
        total = np.zeros(len(X))
        for rule in self.rules_:
            values = _numeric(X, rule.column, "RulesBaseline")
            with np.errstate(invalid="ignore"):
                fires = (
                    values > rule.threshold
                    if rule.direction == "above"
                    else values < rule.threshold
                )
            total += rule.points * np.where(np.isnan(values), False, fires)
        return total

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The points of each row (the raw rule score).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import Rule, RulesBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, 2.0, 8.0, 9.0, 0.5],
        ...                   "points_active": [0, 0, 4, 0, 6, 0]})
        >>> rules = [Rule("report_rate", points=2, quantile=0.5),
        ...          Rule("points_active", threshold=3)]
        >>> m = RulesBaseline(rules).fit(X, [0, 0, 0, 1, 1, 0])
        >>> m.decision_function(X).tolist()
        [0.0, 0.0, 3.0, 2.0, 3.0, 0.0]
        """
        _check_fitted(self)
        X = _check_X(X, "RulesBaseline.decision_function")
        _require(X, [r.column for r in self.rules_], "RulesBaseline.decision_function")
        return self._points(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 2)`` array ``[1 - p, p]`` with ``p`` the calibrated (or rescaled) points.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import Rule, RulesBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, 2.0, 8.0, 9.0, 0.5],
        ...                   "points_active": [0, 0, 4, 0, 6, 0]})
        >>> rules = [Rule("report_rate", points=2, quantile=0.5),
        ...          Rule("points_active", threshold=3)]
        >>> m = RulesBaseline(rules).fit(X, [0, 0, 0, 1, 1, 0])
        >>> proba = m.predict_proba(X)
        >>> proba.shape, bool((proba.sum(axis=1) == 1).all())
        ((6, 2), True)
        """
        points = self.decision_function(X)
        if self.calibrator_ is not None:
            return _proba(self.calibrator_.predict(points))
        lo = sum(min(r.points, 0.0) for r in self.rules_)
        hi = sum(max(r.points, 0.0) for r in self.rules_)
        return _proba((points - lo) / (hi - lo) if hi > lo else np.zeros_like(points))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at probability 0.5.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import Rule, RulesBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, 2.0, 8.0, 9.0, 0.5],
        ...                   "points_active": [0, 0, 4, 0, 6, 0]})
        >>> rules = [Rule("report_rate", points=2, quantile=0.5),
        ...          Rule("points_active", threshold=3)]
        >>> m = RulesBaseline(rules).fit(X, [0, 0, 0, 1, 1, 0])
        >>> m.predict(X).tolist()
        [0, 0, 1, 1, 1, 0]
        """
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def rules_table(self) -> pd.DataFrame:
        """The fitted rules: column, direction, threshold, where it came from, points.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import Rule, RulesBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, 2.0, 8.0, 9.0, 0.5],
        ...                   "points_active": [0, 0, 4, 0, 6, 0]})
        >>> rules = [Rule("report_rate", points=2, quantile=0.5),
        ...          Rule("points_active", threshold=3)]
        >>> m = RulesBaseline(rules).fit(X, [0, 0, 0, 1, 1, 0])
        >>> m.rules_table()
                  column direction  threshold        source  points
        0    report_rate     above        1.5  quantile 0.5     2.0
        1  points_active     above        3.0         given     1.0
        """
        _check_fitted(self)
        return pd.DataFrame(
            {
                "column": [r.column for r in self.rules_],
                "direction": [r.direction for r in self.rules_],
                "threshold": self.thresholds_,
                "source": [
                    "given" if given.threshold is not None else f"quantile {given.quantile:g}"
                    for given in self.rules
                ],
                "points": [float(r.points) for r in self.rules_],
            }
        )


# --------------------------------------------------------------------------- logistic


class LogisticBaseline(ClassifierMixin, BaseEstimator):
    """Logistic regression on the same features, as a scikit-learn Pipeline.

    Numeric (and bool) columns: median imputation, then standardisation. Categorical
    columns: one-hot encoding with ``handle_unknown="ignore"`` (a level not seen in
    training encodes as all zeros) and missing values as their own level
    ``"(missing)"``. Then ``LogisticRegression(C=C, class_weight=class_weight)``.

    ``class_weight`` defaults to ``None`` (no reweighting): the predicted probabilities
    then estimate the true risk, which Brier, ECE and thresholds on the probability
    rely on. ``"balanced"`` up-weights the rare positives; ranking metrics barely move
    but probabilities are inflated towards 0.5, so use it only for ranking.

    Parameters
    ----------
    features : sequence of str, optional
        Feature columns. Default: every column of ``X`` at fit time except datetime
        columns; then pass only features (no keys, times or labels).
    categorical : sequence of str, optional
        Which features are categorical. Default: those with object, string or category
        dtype.
    C : float, default 1.0
        Inverse regularisation strength.
    class_weight : None, "balanced" or dict, default None
        Passed to ``LogisticRegression`` (see above).
    max_iter : int, default 1000
        Solver iterations.

    Attributes
    ----------
    features_, numeric_, categorical_ : tuple of str
        The columns used, split by treatment.
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted preprocessing + logistic regression.
    classes_ : ndarray
        ``[0, 1]``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, None, 8.0, 9.0, 0.5],
    ...                   "market": ["ID", "TH", "ID", None, "TH", "VN"]})
    >>> m = LogisticBaseline().fit(X, [0, 0, 0, 1, 1, 0])
    >>> m.numeric_, m.categorical_
    (('report_rate',), ('market',))
    >>> m.predict_proba(X).shape
    (6, 2)
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        *,
        categorical: Sequence[str] | None = None,
        C: float = 1.0,
        class_weight: str | dict | None = None,
        max_iter: int = 1000,
    ) -> None:
        self.features = features
        self.categorical = categorical
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    def _columns(self, X: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self.features is None:
            features = [
                c for c in X.columns if not pd.api.types.is_datetime64_any_dtype(X[c].dtype)
            ]
        else:
            features = list(self.features)
            _require(X, features, "LogisticBaseline.fit")
        if not features:
            raise TrainingError("LogisticBaseline.fit: no feature columns to fit on")
        if self.categorical is None:
            categorical = [
                c
                for c in features
                if not (
                    pd.api.types.is_numeric_dtype(X[c].dtype)
                    or pd.api.types.is_bool_dtype(X[c].dtype)
                )
            ]
        else:
            categorical = list(self.categorical)
            outside = [c for c in categorical if c not in features]
            if outside:
                raise TrainingError(
                    f"LogisticBaseline.fit: categorical column(s) {outside} are not among the "
                    f"features {features}"
                )
        for c in features:
            if pd.api.types.is_datetime64_any_dtype(X[c].dtype):
                raise TrainingError(
                    f"LogisticBaseline.fit: feature {c!r} is a datetime column; derive a "
                    "numeric feature from it (e.g. days since) or leave it out"
                )
            if c not in categorical and not (
                pd.api.types.is_numeric_dtype(X[c].dtype) or pd.api.types.is_bool_dtype(X[c].dtype)
            ):
                raise TrainingError(
                    f"LogisticBaseline.fit: feature {c!r} has dtype {X[c].dtype} but is not "
                    "listed as categorical; add it to categorical= or convert it to numbers"
                )
        if self.features is None:
            n = len(X)
            for c in categorical:
                n_levels = X[c].nunique(dropna=True)
                if n_levels > max(50, n // 2):
                    raise TrainingError(
                        f"LogisticBaseline.fit: column {c!r} has {n_levels:,} distinct values in "
                        f"{n:,} rows and looks like an identifier; pass features= without keys, "
                        "times and labels"
                    )
        numeric = tuple(c for c in features if c not in categorical)
        return numeric, tuple(categorical)

    def _design(self, X: pd.DataFrame) -> pd.DataFrame:
        cols = {}
        for c in self.numeric_:
            cols[c] = X[c].to_numpy(dtype=np.float64, na_value=np.nan)
        for c in self.categorical_:
            series = X[c].astype(object)
            cols[c] = series.where(series.notna(), _MISSING_LEVEL).map(str).to_numpy(dtype=object)
        return pd.DataFrame(cols, index=X.index)

    def fit(self, X: pd.DataFrame, y: Any) -> LogisticBaseline:
        """Fit the pipeline on training rows ``X`` and 0/1 labels ``y``.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import LogisticBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, None, 8.0, 9.0, 0.5],
        ...                   "market": ["ID", "TH", "ID", "TH", "ID", "TH"]})
        >>> m = LogisticBaseline().fit(X, [0, 0, 0, 1, 1, 0])
        >>> m.features_
        ('report_rate', 'market')
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        X = _check_X(X, "LogisticBaseline.fit")
        labels = _check_y(y, len(X), "LogisticBaseline.fit")
        numeric, categorical = self._columns(X)
        self.numeric_, self.categorical_ = numeric, categorical
        self.features_ = numeric + categorical
        parts = []
        if numeric:
            parts.append(
                (
                    "numeric",
                    Pipeline(
                        [
                            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                            ("scale", StandardScaler()),
                        ]
                    ),
                    list(numeric),
                )
            )
        if categorical:
            parts.append(
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    list(categorical),
                )
            )
        self.pipeline_ = Pipeline(
            [
                ("prepare", ColumnTransformer(parts, remainder="drop")),
                (
                    "logistic",
                    LogisticRegression(
                        C=self.C, class_weight=self.class_weight, max_iter=self.max_iter
                    ),
                ),
            ]
        )
        self.pipeline_.fit(self._design(X), labels.astype(np.int64))
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(self.features_)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 2)`` array of ``[P(0), P(1)]``; columns are matched by name.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import LogisticBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, None, 8.0, 9.0, 0.5],
        ...                   "market": ["ID", "TH", "ID", "TH", "ID", "TH"]})
        >>> m = LogisticBaseline().fit(X, [0, 0, 0, 1, 1, 0])
        >>> m.predict_proba(X[["market", "report_rate"]]).shape  # any column order
        (6, 2)
        """
        _check_fitted(self)
        X = _check_X(X, "LogisticBaseline.predict_proba")
        _require(X, self.features_, "LogisticBaseline.predict_proba")
        return self.pipeline_.predict_proba(self._design(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at probability 0.5.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import LogisticBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, None, 8.0, 9.0, 0.5],
        ...                   "market": ["ID", "TH", "ID", "TH", "ID", "TH"]})
        >>> m = LogisticBaseline().fit(X, [0, 0, 0, 1, 1, 0])
        >>> m.predict(X).tolist()
        [0, 0, 0, 1, 1, 0]
        """
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def coefficients(self) -> pd.Series:
        """Coefficients by expanded feature name (standardised numeric, one-hot levels).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import LogisticBaseline
        >>> X = pd.DataFrame({"report_rate": [0.0, 1.0, None, 8.0, 9.0, 0.5],
        ...                   "market": ["ID", "TH", "ID", "TH", "ID", "TH"]})
        >>> m = LogisticBaseline().fit(X, [0, 0, 0, 1, 1, 0])
        >>> m.coefficients().index.tolist()
        ['numeric__report_rate', 'categorical__market_ID', 'categorical__market_TH']
        """
        _check_fitted(self)
        names = self.pipeline_.named_steps["prepare"].get_feature_names_out()
        coef = self.pipeline_.named_steps["logistic"].coef_[0]
        return pd.Series(coef, index=pd.Index(names, name="feature"), name="coefficient")


# --------------------------------------------------------------------------- oracle


class OracleScorer(ClassifierMixin, BaseEstimator):
    """The true probabilities of simulated data, looked up by entity key and time.

    The simulator knows each row's true probability of being positive; no model can
    do better on average, so the oracle is the ceiling in :func:`~govml.training.metrics.compare`.
    ``predict_proba(X)`` looks each row of ``X`` up by ``(key..., time)`` (exact match,
    times compared in UTC to the microsecond); every row must be found.

    Parameters
    ----------
    truth : DataFrame
        One row per ``(key..., time)`` with the true probability in ``prob_col``.
    key_col : str or sequence of str
        Entity key column(s), e.g. ``"session_id"`` or ``"creator_id"``.
    time_col : str
        Prediction-time column (timezone-aware), e.g. ``"snapshot_at"``.
    prob_col : str
        Column of ``truth`` with the probabilities in [0, 1].

    Attributes
    ----------
    lookup_ : pandas.Series
        Probabilities indexed by ``(key..., time in microseconds)``.
    classes_ : ndarray
        ``[0, 1]``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)
    >>> truth = pd.DataFrame({"creator_id": ["a", "a"], "snapshot_at": t, "p": [0.1, 0.7]})
    >>> X = pd.DataFrame({"snapshot_at": t[::-1], "creator_id": ["a", "a"]})
    >>> oracle = OracleScorer(truth, key_col="creator_id", time_col="snapshot_at", prob_col="p")
    >>> oracle.fit(X).predict_proba(X)[:, 1].tolist()
    [0.7, 0.1]
    """

    def __init__(
        self,
        truth: pd.DataFrame | None = None,
        *,
        key_col: str | Sequence[str] = "creator_id",
        time_col: str = "snapshot_at",
        prob_col: str = "probability",
    ) -> None:
        self.truth = truth
        self.key_col = key_col
        self.time_col = time_col
        self.prob_col = prob_col

    def _keys(self) -> list[str]:
        return [self.key_col] if isinstance(self.key_col, str) else list(self.key_col)

    def _index(self, frame: pd.DataFrame) -> pd.MultiIndex:
        keys = self._keys()
        arrays = [frame[k].to_numpy(dtype=object) for k in keys]
        arrays.append(_utc_micros(frame, self.time_col))
        return pd.MultiIndex.from_arrays(arrays, names=[*keys, self.time_col])

    def fit(self, X: Any = None, y: Any = None) -> OracleScorer:
        """Check ``truth`` and index it (``X`` and ``y`` are ignored: nothing is learnt).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import OracleScorer
        >>> t = pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)
        >>> truth = pd.DataFrame({"creator_id": ["a", "a"], "snapshot_at": t, "p": [0.1, 0.7]})
        >>> oracle = OracleScorer(truth, key_col="creator_id", time_col="snapshot_at", prob_col="p")
        >>> X = truth[["creator_id", "snapshot_at"]]
        >>> oracle.fit() is oracle
        True
        """
        truth = _check_X(self.truth, "OracleScorer truth")
        keys = self._keys()
        _require(truth, [*keys, self.time_col, self.prob_col], "OracleScorer truth")
        probs = _numeric(truth, self.prob_col, "OracleScorer truth")
        bad = ~((probs >= 0.0) & (probs <= 1.0))
        if bad.any():
            raise TrainingError(
                f"OracleScorer truth: {self.prob_col!r} has {int(bad.sum()):,} value(s) missing "
                f"or outside [0, 1] (first at positions {np.flatnonzero(bad)[:5].tolist()})"
            )
        index = self._index(truth)
        if not index.is_unique:
            dup = index[index.duplicated()][:3].tolist()
            raise TrainingError(
                f"OracleScorer truth has {int(index.duplicated().sum()):,} duplicate "
                f"({', '.join([*keys, self.time_col])}) row(s), e.g. {dup}; keep one "
                "probability per entity and time"
            )
        self.lookup_ = pd.Series(probs, index=index, name=self.prob_col)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 2)`` array of the true ``[1 - p, p]`` for each row of ``X``.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import OracleScorer
        >>> t = pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)
        >>> truth = pd.DataFrame({"creator_id": ["a", "a"], "snapshot_at": t, "p": [0.1, 0.7]})
        >>> oracle = OracleScorer(truth, key_col="creator_id", time_col="snapshot_at", prob_col="p")
        >>> X = truth[["creator_id", "snapshot_at"]]
        >>> oracle.fit().predict_proba(X).round(2).tolist()
        [[0.9, 0.1], [0.3, 0.7]]
        """
        _check_fitted(self)
        X = _check_X(X, "OracleScorer.predict_proba")
        keys = self._keys()
        _require(X, [*keys, self.time_col], "OracleScorer.predict_proba")
        query = self._index(X)
        pos = self.lookup_.index.get_indexer(query)
        missing = np.flatnonzero(pos < 0)
        if missing.size:
            examples = [
                tuple(X[k].iloc[i] for k in keys) + (X[self.time_col].iloc[i],) for i in missing[:3]
            ]
            raise TrainingError(
                f"OracleScorer: {missing.size:,} of {len(X):,} rows have no ground-truth "
                f"probability for ({', '.join([*keys, self.time_col])}), e.g. {examples}; the "
                "truth frame must cover every scored row (same key values and dtypes, same "
                "timestamps)"
            )
        return _proba(self.lookup_.to_numpy()[pos])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at probability 0.5.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.baselines import OracleScorer
        >>> t = pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)
        >>> truth = pd.DataFrame({"creator_id": ["a", "a"], "snapshot_at": t, "p": [0.1, 0.7]})
        >>> oracle = OracleScorer(truth, key_col="creator_id", time_col="snapshot_at", prob_col="p")
        >>> X = truth[["creator_id", "snapshot_at"]]
        >>> oracle.fit().predict(X).tolist()
        [0, 1]
        """
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)
