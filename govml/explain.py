"""Exact explanations and reason codes: Tree SHAP from the LightGBM model itself.

:func:`explain` computes exact Tree SHAP contributions in log-odds with LightGBM's own
``Booster.predict(pred_contrib=True)`` on the model's prepared matrix (the categorical
contract of :meth:`govml.model.GovmlModel.prepare`), so per row
``base_value + values.sum() == raw score`` up to floating-point rounding (tested to
1e-6 against :meth:`~govml.model.GovmlModel.predict_raw`). The result,
:class:`Contributions`, turns into a tidy frame (:meth:`Contributions.to_frame`) or a
``shap.Explanation`` (:meth:`Contributions.to_shap`) whose ``display_data`` holds the
category labels, so ``shap.plots.waterfall``, ``beeswarm`` and ``bar`` work on it.

:func:`reason_codes` sums contributions by the feature catalogue's reason groups
(:data:`govml.features.catalogue.REASON_GROUPS`) and keeps the top ``k`` groups pushing
a score up, each with its stable code, a business-language sentence and its
contribution. Codes come from the catalogue, never from model internals, so they stay
the same across model versions. A feature that is not in the catalogue (a user's own
model) is its own group, named after the feature. :func:`importance_by_reason` gives
the global view: mean absolute group contribution, overall or per market.

Speed
-----
Exact Tree SHAP costs a few hundred predictions per row. :func:`explain` never changes
the algorithm (so values are bit-identical to LightGBM's); it only avoids work:

* ``rows="above_threshold"`` explains only rows whose calibrated probability reaches
  the model's lowest tier threshold (what scoring needs: reasons for rows that get a
  tier). Cost: one prediction for every row plus Tree SHAP for the selected share.
* ``deduplicate=True`` (default) hashes the prepared feature rows, explains each
  distinct row once and scatters the values back. Rows are compared byte for byte
  after hashing, so equal rows get identical values by construction. Cost: one pass
  over the matrix; it pays only when rows repeat.

Tree SHAP is computed per row independently, so explaining a subset gives exactly
(bit for bit) the values the full explanation has on those rows (tested).
``benchmarks/bench_explain.py`` measures both against ``pred_contrib`` on all rows: on
100k simulated sessions (13.9% above the lowest cut) ``rows="above_threshold"`` took
6.5x less time with identical values; explaining every row takes as long as
``pred_contrib`` (no session row repeats, so de-duplication saves nothing and costs ~1-3%).
The speed-up is bounded by ``1 / (share above + cost of one prediction / cost of Tree
SHAP)``: about ``1/share`` for a selective threshold, about 1 when most rows are above it.
A faster exact algorithm (e.g. Fast TreeSHAP v2) would change the floating-point
summation order, so values would no longer be bit-identical to LightGBM's; not used.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from govml.training.lgbm import fit_lightgbm
>>> from govml.model import GovmlModel
>>> from govml.explain import explain, reason_codes
>>> rng = np.random.default_rng(0)
>>> n = 600
>>> df = pd.DataFrame({"report_rate": rng.gamma(1.0, 1.0, n),
...                    "market": rng.choice(["ID", "TH"], n)})
>>> df["y"] = (rng.random(n) < 1 / (1 + np.exp(3 - 2 * df["report_rate"]))).astype(int)
>>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
...                    categorical=["market"], num_threads=1,
...                    params={"min_data_in_leaf": 20, "num_leaves": 7})
>>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
>>> contrib = explain(model, df)
>>> bool(np.allclose(contrib.raw, model.predict_raw(df), atol=1e-6))
True
>>> codes = reason_codes(contrib, k=1)
>>> codes.loc[df["report_rate"].idxmax(), "reason_1_code"]
'VR'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from govml._exceptions import ConfigError

if TYPE_CHECKING:
    import shap

    from govml.model import GovmlModel, UnseenPolicy

__all__ = [
    "Contributions",
    "ReasonInfo",
    "explain",
    "group_contributions",
    "reason_codes",
    "importance_by_reason",
]

RowSelection = None | Literal["above_threshold"] | Sequence[bool] | np.ndarray | pd.Series


# --------------------------------------------------------------------------- reason map


@dataclass(frozen=True)
class ReasonInfo:
    """How features map to reason groups, and what each group says.

    Attributes
    ----------
    feature_groups : tuple of str
        Reason-group code per feature (model order). A feature missing from the
        catalogue is its own group, whose code is the feature name.
    feature_descriptions : tuple of str
        Catalogue description per feature (the feature name when missing).
    codes : tuple of str
        The groups present, in display order: catalogue groups in
        :data:`~govml.features.catalogue.REASON_GROUPS` order, then fallback groups in
        feature order.
    labels, sentences : tuple of str
        Short label and business-language sentence per entry of ``codes``.

    Examples
    --------
    :func:`explain` builds it from the feature catalogue (``Contributions.reasons``):

    >>> import numpy as np, pandas as pd
    >>> from govml.explain import explain
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> rate = rng.gamma(1.0, 1.0, 600)
    >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
    >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
    ...                    categorical=["market"], num_boost_round=20, num_threads=1,
    ...                    params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> info = explain(model, df.head(1), num_threads=1).reasons  # the task's catalogue
    >>> info.feature_groups, info.labels
    (('VR', 'MK'), ('viewer reports', 'market context'))
    >>> info.sentences[0]
    'viewers reported this content far more than usual'
    >>> own = pd.DataFrame({"name": ["report_rate"], "reason_group": ["VR"]})  # no 'market'
    >>> explain(model, df.head(1), catalogue=own, num_threads=1).reasons.codes
    ('VR', 'market')
    """

    feature_groups: tuple[str, ...]
    feature_descriptions: tuple[str, ...]
    codes: tuple[str, ...]
    labels: tuple[str, ...]
    sentences: tuple[str, ...]


def _reason_info(feature_names: Sequence[str], catalogue: pd.DataFrame) -> ReasonInfo:
    from govml.features.catalogue import REASON_GROUPS

    if not isinstance(catalogue, pd.DataFrame) or not {"name", "reason_group"} <= set(
        catalogue.columns
    ):
        raise ConfigError(
            "catalogue must be a DataFrame with at least the columns 'name' and "
            "'reason_group' (and optionally 'description'), as govml.features.catalogue() "
            "returns; pass catalogue=None to use the model task's catalogue"
        )
    unknown = sorted(set(catalogue["reason_group"].astype(str)) - set(REASON_GROUPS))
    if unknown:
        raise ConfigError(
            f"catalogue uses reason group(s) {unknown} that are not in govml's REASON_GROUPS "
            f"{list(REASON_GROUPS)}; map each feature to one of those codes (reason codes "
            "must be stable), or leave the feature out to give it its own group"
        )
    entries = catalogue.drop_duplicates("name", keep="first").set_index("name")
    has_description = "description" in entries.columns
    groups: list[str] = []
    descriptions: list[str] = []
    fallback: list[str] = []
    for name in feature_names:
        if name in entries.index:
            groups.append(str(entries.at[name, "reason_group"]))
            text = entries.at[name, "description"] if has_description else None
            descriptions.append(str(text) if isinstance(text, str) and text else name)
        else:
            groups.append(name)
            descriptions.append(name)
            fallback.append(name)
    present = set(groups)
    codes = [c for c in REASON_GROUPS if c in present] + fallback
    labels = [REASON_GROUPS[c].label if c in REASON_GROUPS else c for c in codes]
    sentences = [
        REASON_GROUPS[c].sentence if c in REASON_GROUPS else f"{c} pushed the score up"
        for c in codes
    ]
    return ReasonInfo(
        feature_groups=tuple(groups),
        feature_descriptions=tuple(descriptions),
        codes=tuple(codes),
        labels=tuple(labels),
        sentences=tuple(sentences),
    )


def _default_catalogue(task: str) -> pd.DataFrame:
    from govml.features.catalogue import catalogue

    return catalogue(task)  # a model's task is always one of govml's (ModelMetadata checks)


# --------------------------------------------------------------------------- contributions


@dataclass(frozen=True, eq=False)
class Contributions:
    """Exact Tree SHAP contributions of explained rows, in log-odds.

    Attributes
    ----------
    values : ndarray of float64, shape (n, p)
        Contribution of each feature to each row's raw score.
    base_value : float
        The model's expected raw score (the same for every row).
    raw : ndarray of float64, shape (n,)
        ``base_value + values.sum(axis=1)``: the raw score (log-odds).
    probability : ndarray of float64, shape (n,)
        Calibrated probability, exactly as :meth:`GovmlModel.predict_proba` gives it
        (from the booster's raw score, which ``raw`` matches to rounding).
    feature_names : tuple of str
        Model features, in training order.
    data : ndarray of float64, shape (n, p)
        The prepared feature values the model saw: numbers, and category codes
        (``len(levels)`` = unseen, NaN = missing) for categorical features.
    levels : mapping of str to tuple of str
        Category levels of each categorical feature (code ``i`` is ``levels[i]``).
    index : Index
        Row labels of the explained rows in the input frame.
    positions : ndarray of int64
        Positions of the explained rows in the input frame.
    reasons : ReasonInfo
        Reason group of every feature (from the catalogue) and the groups' texts.
    n_input : int
        Rows in the input frame (explained or not).
    n_distinct : int
        Distinct feature rows actually sent to Tree SHAP (``n`` without de-duplication).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.explain import explain
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> rate = rng.gamma(1.0, 1.0, 600)
    >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
    >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
    ...                    categorical=["market"], num_boost_round=20, num_threads=1,
    ...                    params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> c = explain(model, df.head(3), num_threads=1)
    >>> len(c), c.values.shape, c.feature_names, c.index.tolist()
    (3, (3, 2), ('report_rate', 'market'), [0, 1, 2])
    >>> bool(np.allclose(c.base_value + c.values.sum(axis=1), model.predict_raw(df.head(3))))
    True
    >>> bool(np.allclose(c.probability, model.predict_proba(df.head(3))))
    True
    """

    values: np.ndarray
    base_value: float
    raw: np.ndarray
    probability: np.ndarray
    feature_names: tuple[str, ...]
    data: np.ndarray
    levels: Mapping[str, tuple[str, ...]]
    index: pd.Index
    positions: np.ndarray
    reasons: ReasonInfo
    n_input: int
    n_distinct: int

    def __len__(self) -> int:
        return len(self.values)

    def display_data(self) -> np.ndarray:
        """Feature values for display: category labels for categorical features.

        Returns
        -------
        ndarray of object, shape (n, p)
            Numbers as floats; categories as their level text, ``"<unseen>"`` for a
            level never seen in training and ``None`` for a missing value.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.explain import explain
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> rate = rng.gamma(1.0, 1.0, 600)
        >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
        >>> new = pd.DataFrame({"report_rate": [0.5, 2.0, 1.0], "market": ["TH", "KR", None]})
        >>> c = explain(model, new, unseen="allow", num_threads=1)
        >>> c.data[:, 1].tolist()  # codes into the levels ('ID', 'TH'); 2 = unseen
        [1.0, 2.0, nan]
        >>> c.display_data().tolist()
        [[0.5, 'TH'], [2.0, '<unseen>'], [1.0, None]]
        """
        out = self.data.astype(object)
        for j, name in enumerate(self.feature_names):
            if name in self.levels:
                out[:, j] = self._display_column(j)
        return out

    def _display_column(self, j: int) -> np.ndarray:
        """Display values of feature ``j`` (object array; labels for categoricals)."""
        name = self.feature_names[j]
        if name not in self.levels:
            return self.data[:, j].astype(object)
        labels = np.array([*self.levels[name], "<unseen>", None], dtype=object)
        codes = self.data[:, j]
        pos = np.where(np.isnan(codes), len(labels) - 1, codes).astype(np.int64)
        return labels[pos]

    def to_frame(self) -> pd.DataFrame:
        """Tidy long frame: one row per (explained row, feature).

        Returns
        -------
        DataFrame
            Columns ``row`` (the input's index label), ``feature``, ``value`` (prepared
            value, category code for categoricals), ``display_value`` (category label or
            the number), ``contribution`` (log-odds) and ``reason_group`` (code). Rows
            in input order, features in model order.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.explain import explain
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> rate = rng.gamma(1.0, 1.0, 600)
        >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
        >>> frame = explain(model, df.head(2), num_threads=1).to_frame()
        >>> frame[["row", "feature", "display_value", "reason_group"]]
          row      feature display_value reason_group
        0   0  report_rate      0.679932           VR
        1   0       market            ID           MK
        2   1  report_rate      1.019597           VR
        3   1       market            TH           MK
        >>> bool(np.allclose(frame.groupby("row")["contribution"].sum(),
        ...                  explain(model, df.head(2)).values.sum(axis=1)))
        True
        """
        n, p = self.values.shape
        return pd.DataFrame(
            {
                "row": np.repeat(np.asarray(self.index, dtype=object), p),
                "feature": np.tile(np.asarray(self.feature_names, dtype=object), n),
                "value": self.data.reshape(-1),
                "display_value": self.display_data().reshape(-1),
                "contribution": self.values.reshape(-1),
                "reason_group": np.tile(np.asarray(self.reasons.feature_groups, dtype=object), n),
            }
        )

    def to_shap(self) -> shap.Explanation:
        """The contributions as a ``shap.Explanation`` for ``shap.plots``.

        ``data`` holds the prepared numbers (category codes, so beeswarm can colour
        them) and ``display_data`` the category labels (shown by waterfall and bar).

        Returns
        -------
        shap.Explanation

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.explain import explain
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> rate = rng.gamma(1.0, 1.0, 600)
        >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
        >>> exp = explain(model, df.head(3), num_threads=1).to_shap()
        >>> type(exp).__name__, exp.values.shape, exp.feature_names
        ('Explanation', (3, 2), ['report_rate', 'market'])
        >>> exp.display_data[:, 1].tolist(), exp.data[:, 1].tolist()
        (['ID', 'TH', 'ID'], [0.0, 1.0, 0.0])

        ``shap.plots.waterfall(exp[0])`` then draws the first row's explanation.
        """
        import shap

        return shap.Explanation(
            values=self.values,
            base_values=np.full(len(self.values), self.base_value),
            data=self.data,
            display_data=self.display_data(),
            feature_names=list(self.feature_names),
        )


def _row_mask(rows: Any, n: int, probability: Any, thresholds: Mapping[str, float]) -> np.ndarray:
    if rows is None:
        return np.ones(n, dtype=bool)
    if isinstance(rows, str):
        if rows != "above_threshold":
            raise ConfigError(
                f"rows={rows!r}; expected None (all rows), 'above_threshold' or a boolean mask "
                "with one entry per row"
            )
        if not thresholds:
            raise ConfigError(
                "rows='above_threshold' needs tier thresholds, but the model has none; "
                "train it with thresholds (GovmlModel.from_fit(..., thresholds=...)) or pass "
                "a boolean mask"
            )
        return np.asarray(probability(), dtype=np.float64) >= min(thresholds.values())
    mask = np.asarray(rows)
    if mask.dtype != bool or mask.shape != (n,):
        raise ConfigError(
            f"rows must be a boolean mask with one entry per row ({n}); got dtype "
            f"{mask.dtype} and shape {mask.shape}. Build one with e.g. df['x'] > 0"
        )
    return mask


def _distinct_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the first of each distinct row and, per row, its distinct row number.

    Rows are equal when their bytes are equal (so -0.0 and 0.0 differ, and NaNs with the
    same payload are equal): hashing finds candidates, a byte comparison confirms them.
    """
    bits = x.view(np.uint64)
    h = np.zeros(len(x), dtype=np.uint64)
    for j in range(x.shape[1]):
        h = h * np.uint64(1_000_003) ^ pd.util.hash_array(bits[:, j], categorize=False)
    codes, _ = pd.factorize(h)
    first = np.full(codes.max() + 1 if len(codes) else 0, len(x), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(x)))
    if not (bits[first[codes]] == bits).all(axis=1).all():  # a hash collision: exact path
        _, first, codes = np.unique(bits, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        first, codes = first[order], rank[codes.reshape(-1)]
    return first, codes


def explain(
    model: GovmlModel,
    df: pd.DataFrame,
    *,
    rows: RowSelection = None,
    deduplicate: bool = True,
    catalogue: pd.DataFrame | None = None,
    unseen: UnseenPolicy = "warn",
    max_unseen_fraction: float = 0.05,
    num_threads: int | None = None,
) -> Contributions:
    """Exact Tree SHAP contributions (log-odds) of a model's scores.

    Parameters
    ----------
    model : GovmlModel
    df : DataFrame
        Feature columns by name (any order, extra columns ignored); not modified.
    rows : None, "above_threshold" or boolean mask, optional
        Which rows to explain: all (default); those whose calibrated probability is at
        least the model's lowest tier threshold; or those where the mask is True.
    deduplicate : bool, default True
        Explain each distinct feature row once and copy its values to its duplicates
        (identical values either way; faster only when rows repeat).
    catalogue : DataFrame, optional
        Feature catalogue (``name, reason_group, description``) mapping features to
        reason groups. Defaults to ``govml.features.catalogue(model.metadata.task)``.
        Features not in it become their own group.
    unseen : {"warn", "raise", "allow"}, default "warn"
        Policy for category levels never seen in training, as in
        :meth:`GovmlModel.predict`.
    max_unseen_fraction : float, default 0.05
        Tolerance of ``unseen="warn"``, as in :meth:`GovmlModel.predict`.
    num_threads : int, optional
        LightGBM threads; defaults to ``get_settings().n_jobs`` (0 = all cores).

    Returns
    -------
    Contributions

    Raises
    ------
    ConfigError
        If ``rows`` is not a valid selection, ``"above_threshold"`` is asked of a model
        without thresholds, or the catalogue is malformed.
    ColumnMismatchError, UnseenCategoryError
        As :meth:`GovmlModel.predict` raises them.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.training.lgbm import fit_lightgbm
    >>> from govml.model import GovmlModel
    >>> from govml.explain import explain
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x": rng.normal(size=500), "market": rng.choice(["ID", "VN"], 500)})
    >>> df["y"] = (rng.random(500) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> fit = fit_lightgbm(df[:300], df[300:], features=["x", "market"], label="y",
    ...                    categorical=["market"], num_threads=1,
    ...                    params={"min_data_in_leaf": 20, "num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.6})
    >>> c = explain(model, df, rows="above_threshold")
    >>> bool((c.probability >= 0.6).all()), c.values.shape[1]
    (True, 2)
    >>> c.to_frame().columns.tolist()
    ['row', 'feature', 'value', 'display_value', 'contribution', 'reason_group']
    """
    from govml._config import get_settings

    threads = get_settings().n_jobs if num_threads is None else int(num_threads)
    names = tuple(model.feature_names)
    reasons = _reason_info(
        names, _default_catalogue(model.metadata.task) if catalogue is None else catalogue
    )
    # validates columns and applies the unseen policy exactly as scoring does
    prepared = model.prepare(df)
    # the model's own unseen-category policy (one rule for scoring and explaining)
    model._apply_policy(prepared, unseen, max_unseen_fraction)
    x = prepared.to_numpy()
    booster = model.booster
    calibration = model.metadata.calibration

    def predict(rows_x: np.ndarray) -> np.ndarray:
        if not len(rows_x):
            return np.empty(0)
        return np.asarray(booster.predict(rows_x, raw_score=True, num_threads=threads))

    scored: dict[str, np.ndarray] = {}

    def probability_all() -> np.ndarray:
        scored["raw"] = predict(x)
        return calibration.apply(scored["raw"])

    mask = _row_mask(rows, len(x), probability_all, model.metadata.thresholds)
    positions = np.flatnonzero(mask)
    selected = x[positions]
    p = len(names)
    first = inverse = None
    distinct = selected
    if deduplicate and len(selected):
        first, inverse = _distinct_rows(selected)
        if len(first) < len(selected):
            distinct = selected[first]
        else:  # nothing repeats: no gather, no scatter
            inverse = None
    if len(distinct):
        out = booster.predict(distinct, pred_contrib=True, num_threads=threads)
        out = np.asarray(out, dtype=np.float64).reshape(len(distinct), p + 1)
    else:
        out = np.zeros((0, p + 1))
    if inverse is not None:
        out = out[inverse]
    values = np.ascontiguousarray(out[:, :p])
    base = float(out[0, p]) if len(out) else _expected_value(booster, x, threads)
    raw = base + values.sum(axis=1)
    # the probability scoring gives (from the model's own raw score, not the sum)
    model_raw = scored["raw"][positions] if "raw" in scored else predict(selected)
    levels = {s.name: s.levels for s in model.metadata.features if s.kind == "categorical"}
    return Contributions(
        values=values,
        base_value=base,
        raw=raw,
        probability=calibration.apply(model_raw) if len(raw) else np.empty(0),
        feature_names=names,
        data=selected,
        levels=levels,
        index=df.index[positions],
        positions=positions.astype(np.int64),
        reasons=reasons,
        n_input=len(x),
        n_distinct=len(distinct),
    )


def _expected_value(booster: Any, x: np.ndarray, threads: int) -> float:
    """The base value when no row is explained: Tree SHAP of one all-missing row."""
    probe = np.full((1, booster.num_feature()), np.nan)
    return float(booster.predict(probe, pred_contrib=True, num_threads=threads)[0, -1])


# --------------------------------------------------------------------------- reason codes


def _reasons_for(contributions: Contributions, catalogue: pd.DataFrame | None) -> ReasonInfo:
    if not isinstance(contributions, Contributions):
        raise ConfigError(
            f"expected the Contributions that govml.explain.explain() returns, got "
            f"{type(contributions).__name__}; call explain(model, df) first"
        )
    if catalogue is None:
        return contributions.reasons
    return _reason_info(contributions.feature_names, catalogue)


def _group_matrix(values: np.ndarray, reasons: ReasonInfo) -> np.ndarray:
    """Sum of contributions per reason group (columns in ``reasons.codes`` order)."""
    groups = np.asarray(reasons.feature_groups, dtype=object)
    out = np.zeros((len(values), len(reasons.codes)))
    for g, code in enumerate(reasons.codes):
        out[:, g] = values[:, np.flatnonzero(groups == code)].sum(axis=1)
    return out


def group_contributions(
    contributions: Contributions, *, catalogue: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Contributions summed by reason group: one row per explained row, one column per group.

    Parameters
    ----------
    contributions : Contributions
        From :func:`explain`.
    catalogue : DataFrame, optional
        Overrides the catalogue the contributions were explained with.

    Returns
    -------
    DataFrame
        Indexed like the explained rows; columns are reason codes in display order
        (catalogue groups first, then one group per feature missing from the
        catalogue). Each row sums to ``raw - base_value``.

    Raises
    ------
    ConfigError
        If ``contributions`` is not a :class:`Contributions` or the catalogue is malformed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.explain import Contributions, group_contributions, _reason_info
    >>> names = ("report_rate", "mkt_z_report_rate", "my_feature")
    >>> info = _reason_info(names, pd.DataFrame({"name": ["report_rate", "mkt_z_report_rate"],
    ...                                          "reason_group": ["VR", "VR"]}))
    >>> c = Contributions(values=np.array([[0.5, 0.25, -1.0]]), base_value=-2.0,
    ...                   raw=np.array([-2.25]), probability=np.array([0.1]),
    ...                   feature_names=names, data=np.zeros((1, 3)), levels={},
    ...                   index=pd.RangeIndex(1), positions=np.array([0]), reasons=info,
    ...                   n_input=1, n_distinct=1)
    >>> group_contributions(c).to_dict("records")
    [{'VR': 0.75, 'my_feature': -1.0}]
    """
    reasons = _reasons_for(contributions, catalogue)
    return pd.DataFrame(
        _group_matrix(contributions.values, reasons),
        index=contributions.index,
        columns=pd.Index(list(reasons.codes), dtype=object),
    )


def _format_value(contributions: Contributions, row: int, feature: int) -> str:
    """One feature value as text: the category label, or the number to 3 digits."""
    value = float(contributions.data[row, feature])
    if np.isnan(value):
        return "missing"
    levels = contributions.levels.get(contributions.feature_names[feature])
    if levels is None:
        return f"{value:.3g}"
    return levels[int(value)] if int(value) < len(levels) else "<unseen>"


def reason_codes(
    contributions: Contributions, *, k: int = 3, catalogue: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The top ``k`` reasons pushing each explained score up.

    Contributions are summed by reason group; groups with a positive sum are ranked
    by it (ties broken by the catalogue's display order) and the first ``k`` kept.
    Each reason has the group's stable code (from
    :data:`~govml.features.catalogue.REASON_GROUPS`), a text and its contribution in
    log-odds. The text is the group's sentence plus the group's strongest feature:
    its catalogue description and value, e.g. ``"viewers reported this content far
    more than usual (mainly: viewer reports per viewer against the market's trailing
    7d distribution (z-score) = 4.1)"``. A feature missing from the catalogue is its
    own group, with the feature name as code.

    Parameters
    ----------
    contributions : Contributions
        From :func:`explain`.
    k : int, default 3
        Reasons per row (at least 1).
    catalogue : DataFrame, optional
        Overrides the catalogue the contributions were explained with.

    Returns
    -------
    DataFrame
        Indexed like the explained rows, with ``reason_{i}_code``,
        ``reason_{i}_text`` and ``reason_{i}_contribution`` for ``i = 1..k``. When
        fewer than ``i`` groups push the score up, code and text are None and the
        contribution NaN.

    Raises
    ------
    ConfigError
        If ``k < 1``, ``contributions`` is not a :class:`Contributions` or the
        catalogue is malformed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.explain import Contributions, reason_codes, _reason_info
    >>> names = ("report_rate", "speech_share")
    >>> cat = pd.DataFrame({"name": names, "reason_group": ["VR", "CS"],
    ...                     "description": ["viewer reports per viewer", "share of speech"]})
    >>> c = Contributions(values=np.array([[0.9, 0.3], [-0.2, 0.4]]), base_value=-2.0,
    ...                   raw=np.array([-0.8, -1.8]), probability=np.array([0.3, 0.14]),
    ...                   feature_names=names, data=np.array([[0.02, 0.1], [0.0, 0.05]]),
    ...                   levels={}, index=pd.Index(["s1", "s2"]), positions=np.arange(2),
    ...                   reasons=_reason_info(names, cat), n_input=2, n_distinct=2)
    >>> r = reason_codes(c, k=2)
    >>> r["reason_1_code"].tolist(), r["reason_2_code"].tolist()
    (['VR', 'CS'], ['CS', None])
    >>> r.loc["s1", "reason_1_text"]
    'viewers reported this content far more than usual (mainly: viewer reports per viewer = 0.02)'
    """
    reasons = _reasons_for(contributions, catalogue)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k={k!r}; expected a whole number of reasons per row, at least 1")
    values = contributions.values
    grouped = _group_matrix(values, reasons)
    n, n_groups = grouped.shape
    # rank: larger sum first, then display order (lexsort's last key is the primary one)
    order = np.lexsort((np.tile(np.arange(n_groups), (n, 1)), -grouped), axis=1)
    top = order[:, :k]
    top_values = np.take_along_axis(grouped, top, axis=1)
    groups = np.asarray(reasons.feature_groups, dtype=object)
    members = [np.flatnonzero(groups == code) for code in reasons.codes]
    # strongest feature of each group in each row (first in model order on ties)
    best_of = np.zeros((n, n_groups), dtype=np.int64)
    for g, cols in enumerate(members):
        best_of[:, g] = cols[np.argmax(values[:, cols], axis=1)] if n else 0
    index = contributions.index
    out: dict[str, Any] = {}
    for i in range(min(k, n_groups)):
        codes = np.full(n, None, dtype=object)
        texts = np.full(n, None, dtype=object)
        contrib = np.full(n, np.nan)
        for r in np.flatnonzero(top_values[:, i] > 0):
            g = top[r, i]
            best = best_of[r, g]
            codes[r] = reasons.codes[g]
            texts[r] = (
                f"{reasons.sentences[g]} (mainly: {reasons.feature_descriptions[best]} = "
                f"{_format_value(contributions, r, best)})"
            )
            contrib[r] = top_values[r, i]
        out[f"reason_{i + 1}_code"] = pd.Series(codes, dtype=object, index=index)
        out[f"reason_{i + 1}_text"] = pd.Series(texts, dtype=object, index=index)
        out[f"reason_{i + 1}_contribution"] = pd.Series(contrib, index=index)
    for i in range(n_groups, k):  # fewer groups than k: the columns still exist
        out[f"reason_{i + 1}_code"] = pd.Series(None, dtype=object, index=index)
        out[f"reason_{i + 1}_text"] = pd.Series(None, dtype=object, index=index)
        out[f"reason_{i + 1}_contribution"] = pd.Series(np.nan, index=index)
    return pd.DataFrame(out, index=index)


def importance_by_reason(
    contributions: Contributions,
    *,
    by: str | Sequence[Any] | np.ndarray | pd.Series | None = None,
    catalogue: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Global importance: mean absolute contribution of each reason group.

    Per row, contributions are first summed by group (as :func:`reason_codes` does), then
    the absolute group sums are averaged over rows.

    Parameters
    ----------
    contributions : Contributions
        From :func:`explain`.
    by : str or array-like, optional
        Also split by segment: a model feature name (e.g. ``"market"``; categorical
        features by their labels) or one value per explained row.
    catalogue : DataFrame, optional
        Overrides the catalogue the contributions were explained with.

    Returns
    -------
    DataFrame
        Tidy: (``by`` column when given,) ``reason_code``, ``reason_label``,
        ``mean_abs_contribution``, ``n_rows``; sorted by segment, then importance
        (largest first), then display order.

    Raises
    ------
    ConfigError
        If ``by`` is neither a model feature nor one value per explained row.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.explain import Contributions, importance_by_reason, _reason_info
    >>> names = ("report_rate", "market")
    >>> cat = pd.DataFrame({"name": names, "reason_group": ["VR", "MK"]})
    >>> c = Contributions(values=np.array([[0.9, 0.1], [-0.3, -0.5]]), base_value=-2.0,
    ...                   raw=np.array([-1.0, -2.8]), probability=np.array([0.3, 0.06]),
    ...                   feature_names=names, data=np.array([[0.02, 0.0], [0.0, 1.0]]),
    ...                   levels={"market": ("ID", "TH")}, index=pd.RangeIndex(2),
    ...                   positions=np.arange(2), reasons=_reason_info(names, cat),
    ...                   n_input=2, n_distinct=2)
    >>> importance_by_reason(c)[["reason_code", "mean_abs_contribution"]].values.tolist()
    [['VR', 0.6], ['MK', 0.3]]
    >>> importance_by_reason(c, by="market")["market"].tolist()
    ['ID', 'ID', 'TH', 'TH']
    """
    reasons = _reasons_for(contributions, catalogue)
    grouped = np.abs(_group_matrix(contributions.values, reasons))
    n, n_groups = grouped.shape
    if by is None:
        segment_name, segments = None, np.zeros(n, dtype=np.int64)
    elif isinstance(by, str):
        if by not in contributions.feature_names:
            raise ConfigError(
                f"by={by!r} is not a model feature ({list(contributions.feature_names)[:8]}"
                "...); pass a feature name such as 'market' or one value per explained row"
            )
        segment_name = by
        segments = contributions._display_column(contributions.feature_names.index(by))
    else:
        segments = np.asarray(by, dtype=object)
        if segments.shape != (n,):
            raise ConfigError(
                f"by has shape {segments.shape}; expected one value per explained row ({n}), "
                "e.g. the market of each explained row"
            )
        segment_name = getattr(by, "name", None) or "segment"
    codes, uniques = pd.factorize(pd.Series(segments, dtype=object), sort=True)
    frames = []
    for s, level in enumerate(uniques):
        rows = codes == s
        mean = grouped[rows].mean(axis=0)
        part = pd.DataFrame(
            {
                "reason_code": list(reasons.codes),
                "reason_label": list(reasons.labels),
                "mean_abs_contribution": mean,
                "n_rows": int(rows.sum()),
                "_order": np.arange(n_groups),
            }
        )
        if segment_name is not None:
            part.insert(0, segment_name, level)
        frames.append(part)
    if not frames:
        columns = ["reason_code", "reason_label", "mean_abs_contribution", "n_rows"]
        return pd.DataFrame(columns=([segment_name] if segment_name else []) + columns)
    out = pd.concat(frames, ignore_index=True)
    keys = ([segment_name] if segment_name else []) + ["mean_abs_contribution", "_order"]
    ascending = ([True] if segment_name else []) + [False, True]
    out = out.sort_values(keys, ascending=ascending, kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)
