"""The saved model: LightGBM's text format plus JSON metadata, and nothing pickled.

A :class:`GovmlModel` is a LightGBM booster plus :class:`ModelMetadata`: the features
in training order with their kinds, the category levels fixed at training, the
probability calibration, the tier thresholds, the feature-catalogue version, a
fingerprint of the training data, library versions, the training parameters and the
experiment configuration it was trained with (label horizon, snapshot grid, evaluation
settings; see :meth:`GovmlModel.training_config`). On disk it is a folder with two text
files::

    model/
      model.txt       LightGBM's own text format (booster.model_to_string())
      metadata.json   everything else, plus the format version and model.txt's SHA-256

Loading reads text and JSON only; nothing is ever unpickled.

The categorical contract
------------------------
Category levels are fixed at training (sorted, as text: a level is ``str(value)``),
stored in the metadata and re-applied at scoring by :meth:`GovmlModel.prepare`, which
turns a frame into LightGBM's input:

* columns are matched by **name**; their order never matters and extra columns are
  ignored; missing columns raise :class:`~govml.ColumnMismatchError` naming them;
* a categorical column may arrive as ``category``, ``str`` or ``object`` dtype (or as
  numbers or booleans): the values, not the dtype, decide the code, so all of them
  score identically;
* a value never seen in training is encoded as the *unseen* code ``len(levels)``
  (not as missing), counted per column and reported. LightGBM sends it down the
  "not in any learned category set" branch of every categorical split; missing values
  take the same branch, so the score is the model's answer for "none of the known
  levels". What govml adds is that it never happens silently: see the ``unseen``
  policy of :meth:`GovmlModel.predict`;
* a numeric column must hold numbers (any int, float or bool dtype, nullable ones
  included, or ``object`` holding numbers); numbers sent as text raise
  :class:`~govml.ColumnMismatchError` instead of being parsed.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from govml.training.lgbm import fit_lightgbm
>>> from govml.model import GovmlModel
>>> rng = np.random.default_rng(0)
>>> n = 600
>>> df = pd.DataFrame({"x": rng.normal(size=n), "market": rng.choice(["ID", "TH"], n)})
>>> df["y"] = (rng.random(n) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
>>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
...                    categorical=["market"], num_threads=1,
...                    params={"min_data_in_leaf": 20, "num_leaves": 7})
>>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
...                             thresholds={"review": 0.5})
>>> pred = model.predict(df[["market", "x"]].head(3))
>>> pred.tier.tolist() == ["review" if p >= 0.5 else "none" for p in pred.probability]
True
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from govml._exceptions import (
    ColumnMismatchError,
    ConfigError,
    ModelFormatError,
    TrainingError,
    UnseenCategoryError,
    UnseenCategoryWarning,
)

if TYPE_CHECKING:
    import lightgbm

    from govml.training.calibration import Calibration
    from govml.training.config import ExperimentConfig
    from govml.training.lgbm import FitResult

__all__ = [
    "FORMAT_VERSION",
    "MAX_UNSEEN_FRACTION",
    "MODEL_FILE",
    "METADATA_FILE",
    "NO_TIER",
    "TASKS",
    "FeatureSpec",
    "DataFingerprint",
    "ModelMetadata",
    "PreparedFrame",
    "Prediction",
    "GovmlModel",
    "UnseenPolicy",
    "fingerprint",
]

#: Version of the on-disk layout this govml writes and the newest it can read.
FORMAT_VERSION = 1
MODEL_FILE = "model.txt"
METADATA_FILE = "metadata.json"
#: Tier of a row whose probability is below every threshold.
NO_TIER = "none"
#: The tasks a model can be trained for (see ``govml.features``).
TASKS: tuple[str, ...] = ("low_quality", "adversarial")

UnseenPolicy = Literal["warn", "raise", "allow"]
_POLICIES: tuple[str, ...] = ("warn", "raise", "allow")
#: Default largest fraction of rows with an unseen level that ``unseen="warn"`` scores.
MAX_UNSEEN_FRACTION = 0.05
_NUMERIC_OBJECT_KINDS = frozenset(
    {"integer", "floating", "mixed-integer-float", "boolean", "empty", "decimal"}
)


def _frozen_mapping(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _frozen_tree(value: Any, where: str) -> Any:
    """A read-only copy of plain JSON data: mappings as MappingProxyType, lists as tuples."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(
                    f"{where} has the key {key!r} ({type(key).__name__}); keys must be text "
                    "so the metadata stays JSON"
                )
            out[key] = _frozen_tree(item, f"{where}.{key}")
        return MappingProxyType(out)
    if isinstance(value, list | tuple):
        return tuple(_frozen_tree(item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}={value!r}; JSON metadata holds finite numbers only")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ConfigError(
        f"{where} holds a {type(value).__name__} ({value!r}); the training config must be "
        "plain JSON data (mappings, lists, text, numbers, booleans, null): pass "
        "ExperimentConfig.to_dict()"
    )


def _plain_tree(value: Any) -> Any:
    """Inverse of :func:`_frozen_tree`: dicts and lists again (for JSON and for parsing)."""
    if isinstance(value, Mapping):
        return {key: _plain_tree(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_plain_tree(item) for item in value]
    return value


def _sample(values: Iterable[Any], k: int = 5) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:k])
    return shown + (f", ... ({len(values)} in all)" if len(values) > k else "")


# --------------------------------------------------------------------------- features


@dataclass(frozen=True)
class FeatureSpec:
    """One model input column.

    Attributes
    ----------
    name : str
        Column name (matched by name at scoring).
    kind : {"numeric", "categorical"}
    dtype : str
        The dtype the column had in the training frame (informational).
    levels : tuple of str
        Categorical only: the category levels seen in training, sorted. Code ``i`` is
        ``levels[i]``; code ``len(levels)`` means "unseen at training".

    Examples
    --------
    >>> from govml.model import FeatureSpec
    >>> FeatureSpec("market", "categorical", "category", ("ID", "TH")).to_dict()["levels"]
    ['ID', 'TH']
    """

    name: str
    kind: Literal["numeric", "categorical"]
    dtype: str
    levels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(str(v) for v in self.levels))
        if self.kind not in ("numeric", "categorical"):
            raise ConfigError(
                f"feature {self.name!r} has kind {self.kind!r}; expected 'numeric' or 'categorical'"
            )
        if self.kind == "numeric" and self.levels:
            raise ConfigError(f"numeric feature {self.name!r} cannot have category levels")
        if len(set(self.levels)) != len(self.levels):
            raise ConfigError(f"categorical feature {self.name!r} has duplicate levels")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Examples
        --------
        >>> from govml.model import FeatureSpec
        >>> FeatureSpec("market", "categorical", "str", ("ID", "TH")).to_dict()
        {'name': 'market', 'kind': 'categorical', 'dtype': 'str', 'levels': ['ID', 'TH']}
        """
        return {"name": self.name, "kind": self.kind, "dtype": self.dtype, "levels": [*self.levels]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of :meth:`to_dict`.

        Examples
        --------
        >>> from govml.model import FeatureSpec
        >>> spec = FeatureSpec.from_dict({"name": "x", "kind": "numeric", "dtype": "float64"})
        >>> spec, FeatureSpec.from_dict(spec.to_dict()) == spec
        (FeatureSpec(name='x', kind='numeric', dtype='float64', levels=()), True)
        """
        return cls(
            name=str(data["name"]),
            kind=data["kind"],
            dtype=str(data["dtype"]),
            levels=tuple(data.get("levels", ())),
        )


def _level_strings(values: Any) -> list[str]:
    """The text form of category values: the one rule that makes dtypes interchangeable."""
    return [v if isinstance(v, str) else str(v) for v in values]


def _encode_categorical(
    series: pd.Series, levels: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Codes (float, NaN for missing, ``len(levels)`` for unseen), unseen mask, unseen values."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        uniques = series.cat.categories
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    as_text = _level_strings(uniques)
    lookup = pd.Index(list(levels), dtype=object).get_indexer(pd.Index(as_text, dtype=object))
    unseen_unique = lookup < 0
    lookup = np.where(unseen_unique, len(levels), lookup).astype(np.float64)
    present = codes >= 0
    out = np.full(len(series), np.nan)
    out[present] = lookup[codes[present]]
    unseen = np.zeros(len(series), dtype=bool)
    unseen[present] = unseen_unique[codes[present]]
    used = np.zeros(len(as_text), dtype=bool)
    used[np.unique(codes[present])] = True
    unseen_values = tuple(sorted({as_text[i] for i in np.flatnonzero(unseen_unique & used)}))
    return out, unseen, unseen_values


def _numeric_problem(series: pd.Series) -> str | None:
    """Why a column cannot be a numeric feature, or None when it can."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category dtype"
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        return "complex numbers" if pd.api.types.is_complex_dtype(dtype) else None
    if pd.api.types.is_object_dtype(dtype):
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in _NUMERIC_OBJECT_KINDS:
            return None
        bad = series[series.notna()].head(3).tolist()
        return f"object dtype holding {kind} values such as {_sample(bad)}"
    if pd.api.types.is_string_dtype(dtype):
        bad = series[series.notna()].head(3).tolist()
        return f"{dtype} dtype (text) with values such as {_sample(bad)}"
    return f"{dtype} dtype"


def _to_float(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_object_dtype(series.dtype):
        series = series.where(series.notna(), np.nan)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


# --------------------------------------------------------------------------- prepared frame


@dataclass(frozen=True)
class PreparedFrame:
    """A scoring frame turned into LightGBM's input, with what did not fit the contract.

    Attributes
    ----------
    frame : DataFrame
        float64 columns in training order, indexed like the input. Numeric features as
        numbers; categorical features as codes into the stored levels: ``0 ..
        len(levels) - 1``, ``len(levels)`` for a level unseen at training, NaN for a
        missing value. Pass ``frame.to_numpy()`` (not the frame) to LightGBM.
    unseen : mapping of str to int
        Number of values per categorical feature that were not seen in training (every
        categorical feature is listed, zeros included).
    unseen_rows : ndarray of bool
        Rows with at least one unseen value.
    unseen_levels : mapping of str to tuple of str
        The distinct unseen values per categorical feature (only features with some).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=600)
    >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
    ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
    ...                    categorical=["market"], num_boost_round=20, num_threads=1,
    ...                    params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.5, "watch": 0.2})
    >>> new = pd.DataFrame({"market": ["TH", "KR", None], "x": [0.5, 1.0, None], "id": 7})
    >>> prepared = model.prepare(new)  # by name: column order and extra columns don't matter
    >>> prepared.frame.columns.tolist(), prepared.frame["market"].tolist()
    (['x', 'market'], [1.0, 2.0, nan])
    >>> dict(prepared.unseen), dict(prepared.unseen_levels), prepared.unseen_rows.tolist()
    ({'market': 1}, {'market': ('KR',)}, [False, True, False])
    """

    frame: pd.DataFrame
    unseen: Mapping[str, int]
    unseen_rows: np.ndarray
    unseen_levels: Mapping[str, tuple[str, ...]]

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def n_unseen_rows(self) -> int:
        """Number of rows with at least one unseen category value.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> new = pd.DataFrame({"x": [0.0, 0.0, 0.0], "market": ["KR", "TH", "KR"]})
        >>> model.prepare(new).n_unseen_rows
        2
        """
        return int(self.unseen_rows.sum())

    @property
    def unseen_fraction(self) -> float:
        """Share of rows with at least one unseen category value (0 for no rows).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> new = pd.DataFrame({"x": [0.0] * 4, "market": ["KR", "TH", "ID", "TH"]})
        >>> model.prepare(new).unseen_fraction, model.prepare(new.head(0)).unseen_fraction
        (0.25, 0.0)
        """
        return self.n_unseen_rows / len(self.frame) if len(self.frame) else 0.0

    def to_numpy(self) -> np.ndarray:
        """The feature matrix as a C-contiguous float64 array (LightGBM's input).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> matrix = model.prepare(df).to_numpy()
        >>> matrix.shape, matrix.dtype, matrix.flags["C_CONTIGUOUS"]
        ((600, 2), dtype('float64'), True)
        >>> raw = model.booster.predict(matrix, raw_score=True, num_threads=1)
        >>> bool(np.array_equal(raw, model.predict_raw(df)))
        True
        """
        return np.ascontiguousarray(self.frame.to_numpy(dtype=np.float64, copy=False))

    def describe_unseen(self) -> str:
        """One line per column with unseen values: count and examples.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> new = pd.DataFrame({"x": [0.0, 0.0, 0.0], "market": ["KR", "VN", "KR"]})
        >>> model.prepare(new).describe_unseen()
        "'market': 3 value(s) never seen in training ('KR', 'VN')"
        >>> model.prepare(df).describe_unseen()
        ''
        """
        return "; ".join(
            f"{col!r}: {self.unseen[col]} value(s) never seen in training "
            f"({_sample(self.unseen_levels[col])})"
            for col in self.unseen_levels
        )


def _prepare(df: pd.DataFrame, specs: Sequence[FeatureSpec], *, where: str) -> PreparedFrame:
    """Apply the categorical contract; the one encoder used by training and scoring."""
    if not isinstance(df, pd.DataFrame):
        raise ColumnMismatchError(
            f"{where}: expected a pandas DataFrame with the feature columns, got "
            f"{type(df).__name__}; build one with pd.DataFrame(...)"
        )
    missing = [s.name for s in specs if s.name not in df.columns]
    if missing:
        raise ColumnMismatchError(
            f"{where}: missing feature column(s) {missing}; the model needs "
            f"{[s.name for s in specs]} (matched by name, in any order; extra columns are "
            "ignored). Add the missing columns or score with the feature set the model was "
            "trained on"
        )
    if df.columns.duplicated().any():
        dup = sorted(
            {str(c) for c in df.columns[df.columns.duplicated()]} & {s.name for s in specs}
        )
        if dup:
            raise ColumnMismatchError(
                f"{where}: feature column(s) {dup} appear more than once; columns are matched "
                "by name, so each name must be unique"
            )
    problems = []
    for s in specs:
        if s.kind == "numeric":
            problem = _numeric_problem(df[s.name])
            if problem is not None:
                problems.append(f"{s.name!r} ({problem})")
    if problems:
        raise ColumnMismatchError(
            f"{where}: numeric feature column(s) hold non-numbers: {'; '.join(problems)}. "
            "Convert them with pd.to_numeric(...) before scoring; numbers are never parsed "
            "from text implicitly"
        )
    # one C-ordered matrix, wrapped (not copied) by the frame: to_numpy() is then free
    matrix = np.empty((len(df), len(specs)), dtype=np.float64)
    unseen: dict[str, int] = {}
    unseen_levels: dict[str, tuple[str, ...]] = {}
    rows = np.zeros(len(df), dtype=bool)
    for j, s in enumerate(specs):
        column = df[s.name]
        if s.kind == "numeric":
            matrix[:, j] = _to_float(column)
            continue
        codes, mask, values = _encode_categorical(column, s.levels)
        matrix[:, j] = codes
        unseen[s.name] = int(mask.sum())
        if values:
            unseen_levels[s.name] = values
        rows |= mask
    frame = pd.DataFrame(matrix, index=df.index, columns=[s.name for s in specs], copy=False)
    return PreparedFrame(
        frame=frame,
        unseen=_frozen_mapping(unseen),
        unseen_rows=rows,
        unseen_levels=_frozen_mapping(unseen_levels),
    )


# --------------------------------------------------------------------------- fingerprint


@dataclass(frozen=True)
class DataFingerprint:
    """What the model was trained on, compactly: sizes, time range, label rate, hash.

    Attributes
    ----------
    n_rows : int
    n_positive : int or None
        Rows with label 1 (None when no label column was given).
    label_rate : float or None
    time_min, time_max : Timestamp or None
        Range of the time column (UTC), None when none was given or it is empty.
    columns : tuple of (str, str)
        ``(name, dtype)`` of every column, sorted by name.
    sha256 : str
        Hash of the frame's content: see :func:`fingerprint`.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.model import DataFingerprint, fingerprint
    >>> frame = pd.DataFrame({"t": pd.to_datetime(["2026-01-01", "2026-01-03"], utc=True),
    ...                       "x": [0.5, 1.5], "y": [0, 1]})
    >>> fp = fingerprint(frame, time_col="t", label_col="y")
    >>> fp.n_rows, fp.n_positive, fp.label_rate, str(fp.time_max.date())
    (2, 1, 0.5, '2026-01-03')
    >>> fp.columns
    (('t', 'datetime64[us, UTC]'), ('x', 'float64'), ('y', 'int64'))
    """

    n_rows: int
    n_positive: int | None
    label_rate: float | None
    time_min: pd.Timestamp | None
    time_max: pd.Timestamp | None
    columns: tuple[tuple[str, str], ...]
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (timestamps as ISO 8601 UTC).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.model import DataFingerprint, fingerprint
        >>> frame = pd.DataFrame({"t": pd.to_datetime(["2026-01-01", "2026-01-03"], utc=True),
        ...                       "x": [0.5, 1.5], "y": [0, 1]})
        >>> fp = fingerprint(frame, time_col="t", label_col="y")
        >>> d = fp.to_dict()
        >>> d["time_min"], d["columns"][1], len(d["sha256"])
        ('2026-01-01T00:00:00+00:00', ['x', 'float64'], 64)
        """
        return {
            "n_rows": self.n_rows,
            "n_positive": self.n_positive,
            "label_rate": self.label_rate,
            "time_min": None if self.time_min is None else self.time_min.isoformat(),
            "time_max": None if self.time_max is None else self.time_max.isoformat(),
            "columns": [[n, d] for n, d in self.columns],
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataFingerprint:
        """Inverse of :meth:`to_dict`.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.model import DataFingerprint, fingerprint
        >>> frame = pd.DataFrame({"t": pd.to_datetime(["2026-01-01", "2026-01-03"], utc=True),
        ...                       "x": [0.5, 1.5], "y": [0, 1]})
        >>> fp = fingerprint(frame, time_col="t", label_col="y")
        >>> import json
        >>> DataFingerprint.from_dict(json.loads(json.dumps(fp.to_dict()))) == fp
        True
        """

        def ts(value: str | None) -> pd.Timestamp | None:
            return None if value is None else pd.Timestamp(value).tz_convert("UTC")

        return cls(
            n_rows=int(data["n_rows"]),
            n_positive=None if data["n_positive"] is None else int(data["n_positive"]),
            label_rate=None if data["label_rate"] is None else float(data["label_rate"]),
            time_min=ts(data["time_min"]),
            time_max=ts(data["time_max"]),
            columns=tuple((str(n), str(d)) for n, d in data["columns"]),
            sha256=str(data["sha256"]),
        )


def fingerprint(
    frame: pd.DataFrame, *, time_col: str | None = None, label_col: str | None = None
) -> DataFingerprint:
    """Fingerprint a training frame: sizes, time range, label rate and a content hash.

    The hash is SHA-256 over (1) the JSON list of ``(column, dtype)`` pairs sorted by
    column name and (2) ``pandas.util.hash_pandas_object(frame[sorted columns],
    index=False)`` as little-endian uint64 bytes, one per row. So it ignores the index
    and the column order (names matter, as everywhere in govml), and it changes with
    any value, dtype, column name or **row order** (row order changes what LightGBM
    learns, so two frames that train differently never share a hash). It is stable
    for a given pandas major version.

    Parameters
    ----------
    frame : DataFrame
        The training frame (not modified).
    time_col : str, optional
        Column whose range is recorded (timestamps, converted to UTC).
    label_col : str, optional
        0/1 label column whose positives and rate are recorded.

    Returns
    -------
    DataFingerprint

    Raises
    ------
    TrainingError
        If ``time_col`` or ``label_col`` is not a column, the time column does not
        hold timezone-aware timestamps, or the label is not 0/1.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.model import fingerprint
    >>> df = pd.DataFrame({"y": [0, 1, 1], "x": [1.0, 2.0, 3.0]})
    >>> fp = fingerprint(df, label_col="y")
    >>> fp.n_rows, fp.n_positive, round(fp.label_rate, 3)
    (3, 2, 0.667)
    >>> fingerprint(df[["x", "y"]], label_col="y").sha256 == fp.sha256
    True
    """
    for role, col in (("time_col", time_col), ("label_col", label_col)):
        if col is not None and col not in frame.columns:
            raise TrainingError(
                f"fingerprint: {role}={col!r} is not a column of the frame (columns: "
                f"{_sample(map(str, frame.columns), 10)}); pass an existing column or None"
            )
    names = sorted(map(str, frame.columns))
    if len(names) != len(set(names)):
        raise TrainingError("fingerprint: the frame has duplicate column names; make them unique")
    ordered = frame[sorted(frame.columns, key=str)]
    header = json.dumps([[str(c), str(ordered[c].dtype)] for c in ordered.columns])
    digest = hashlib.sha256(header.encode("utf-8"))
    if len(ordered.columns) and len(ordered):
        hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
        digest.update(hashed.astype("<u8").tobytes())
    n_positive = label_rate = None
    if label_col is not None:
        label = frame[label_col]
        try:
            values = label.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            values = np.full(len(label), np.nan)
        if not np.isin(values, (0.0, 1.0)).all():
            raise TrainingError(
                f"fingerprint: label column {label_col!r} must hold only 0/1 (or bool) "
                "without missing values"
            )
        n_positive = int(values.sum())
        label_rate = n_positive / len(values) if len(values) else None
    time_min = time_max = None
    if time_col is not None:
        times = frame[time_col]
        if not isinstance(times.dtype, pd.DatetimeTZDtype):
            raise TrainingError(
                f"fingerprint: time column {time_col!r} has dtype {times.dtype}; expected "
                "timezone-aware timestamps (datetime64[us, UTC], see govml.schema)"
            )
        if times.notna().any():
            time_min = times.min().tz_convert("UTC")
            time_max = times.max().tz_convert("UTC")
    return DataFingerprint(
        n_rows=len(frame),
        n_positive=n_positive,
        label_rate=label_rate,
        time_min=time_min,
        time_max=time_max,
        columns=tuple((str(c), str(ordered[c].dtype)) for c in ordered.columns),
        sha256=digest.hexdigest(),
    )


# --------------------------------------------------------------------------- metadata


def _check_thresholds(thresholds: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, cut in dict(thresholds).items():
        if not isinstance(name, str) or not name or name == NO_TIER:
            raise ConfigError(
                f"tier name {name!r} is invalid; use a non-empty name other than {NO_TIER!r} "
                f"(which means 'below every threshold')"
            )
        try:
            value = float(cut)
        except (TypeError, ValueError):
            value = math.nan
        if not 0.0 <= value <= 1.0:
            raise ConfigError(
                f"threshold of tier {name!r} is {cut!r}; expected a probability in [0, 1]"
            )
        out[name] = value
    cuts = list(out.values())
    if len(set(cuts)) != len(cuts):
        raise ConfigError(
            f"thresholds {out} give two tiers the same cut; each tier needs its own probability"
        )
    return out


def _library_versions() -> dict[str, str]:
    import platform

    import lightgbm

    from govml import __version__

    return {
        "govml": __version__,
        "lightgbm": lightgbm.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class ModelMetadata:
    """Everything about a model except the trees.

    Attributes
    ----------
    task : {"low_quality", "adversarial"}
    name : str
        Model name (e.g. the registry name).
    version : str
        Model version label chosen by the caller.
    label : str
        Name of the training label column.
    features : tuple of FeatureSpec
        Model inputs in training order (the booster's column order).
    calibration : Calibration
        Raw score to probability map fitted on the validation period.
    thresholds : mapping of str to float
        Tier name to probability cut; a row gets the tier with the highest cut not
        above its probability, or ``"none"``.
    catalogue_version : str or None
        Version of the feature catalogue the features come from.
    fingerprint : DataFingerprint or None
        The training data.
    library_versions : mapping of str to str
        govml, lightgbm, pandas, numpy and python versions that trained the model.
    created_at : Timestamp
        When the model was built (UTC).
    params : mapping
        LightGBM parameters used, plus govml's training options.
    best_iteration : int
        Number of boosting rounds kept (chosen by early stopping).
    training_config : mapping or None, default None
        The resolved experiment configuration the model was trained with, as plain
        read-only data (:meth:`govml.training.ExperimentConfig.to_dict`: nested
        mappings, lists as tuples): label horizon and delays, snapshot grid, split,
        LightGBM settings, evaluation settings. Its ``task`` is the model's task.
        :meth:`GovmlModel.training_config` rebuilds the ``ExperimentConfig``. None for
        models built without one (and for artifacts saved before govml stored it).

    Examples
    --------
    :meth:`GovmlModel.from_fit` builds it after training; by hand:

    >>> import pandas as pd
    >>> from govml.model import FeatureSpec, ModelMetadata
    >>> from govml.training.calibration import Calibration
    >>> meta = ModelMetadata(
    ...     task="low_quality", name="demo", version="1", label="y",
    ...     features=(FeatureSpec("x", "numeric", "float64"),
    ...               FeatureSpec("market", "categorical", "str", ("ID", "TH"))),
    ...     calibration=Calibration.identity(), thresholds={"review": 0.5},
    ...     catalogue_version=None, fingerprint=None, library_versions={},
    ...     created_at=pd.Timestamp("2026-01-02", tz="UTC"), params={}, best_iteration=20)
    >>> meta.feature_names, dict(meta.thresholds), str(meta.created_at)
    (('x', 'market'), {'review': 0.5}, '2026-01-02 00:00:00+00:00')
    >>> import dataclasses
    >>> dataclasses.replace(meta, task="spam")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ConfigError: unknown task 'spam'; govml models are one of ['low_quality', ...]

    The training configuration is stored read-only:

    >>> from govml.training import default_config
    >>> cfg = default_config("low_quality").override({"labels.review_delay": "5D"})
    >>> meta.training_config is None
    True
    >>> trained = dataclasses.replace(meta, training_config=cfg.to_dict())
    >>> trained.training_config["labels"]["review_delay"], type(trained.training_config).__name__
    ('5D', 'mappingproxy')
    >>> dataclasses.replace(meta, training_config={"task": "adversarial"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ConfigError: training_config is the configuration of task 'adversarial', ...
    """

    task: str
    name: str
    version: str
    label: str
    features: tuple[FeatureSpec, ...]
    calibration: Calibration
    thresholds: Mapping[str, float]
    catalogue_version: str | None
    fingerprint: DataFingerprint | None
    library_versions: Mapping[str, str]
    created_at: pd.Timestamp
    params: Mapping[str, Any]
    best_iteration: int
    training_config: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"unknown task {self.task!r}; govml models are one of {list(TASKS)}")
        if not self.features:
            raise ConfigError("a model needs at least one feature")
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ConfigError(f"duplicate feature names in {names}")
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "thresholds", _frozen_mapping(_check_thresholds(self.thresholds)))
        object.__setattr__(self, "library_versions", _frozen_mapping(self.library_versions))
        object.__setattr__(self, "params", _frozen_mapping(self.params))
        if self.training_config is not None:
            if not isinstance(self.training_config, Mapping):
                raise ConfigError(
                    f"training_config is a {type(self.training_config).__name__}; expected a "
                    "mapping (ExperimentConfig.to_dict()) or None"
                )
            tree = _frozen_tree(self.training_config, "training_config")
            if tree.get("task") != self.task:
                raise ConfigError(
                    f"training_config is the configuration of task {tree.get('task')!r}, but "
                    f"the model's task is {self.task!r}; pass the ExperimentConfig.to_dict() "
                    "the model was trained with"
                )
            object.__setattr__(self, "training_config", tree)
        created = pd.Timestamp(self.created_at)
        if created.tz is None:
            raise ConfigError(
                f"created_at={created} has no timezone; pass a timezone-aware timestamp "
                "(govml stores UTC)"
            )
        object.__setattr__(self, "created_at", created.tz_convert("UTC"))

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature names in training order.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.model import FeatureSpec, ModelMetadata
        >>> from govml.training.calibration import Calibration
        >>> meta = ModelMetadata(
        ...     task="low_quality", name="demo", version="1", label="y",
        ...     features=(FeatureSpec("x", "numeric", "float64"),
        ...               FeatureSpec("market", "categorical", "str", ("ID", "TH"))),
        ...     calibration=Calibration.identity(), thresholds={"review": 0.5},
        ...     catalogue_version=None, fingerprint=None, library_versions={},
        ...     created_at=pd.Timestamp("2026-01-02", tz="UTC"), params={}, best_iteration=20)
        >>> meta.feature_names
        ('x', 'market')
        """
        return tuple(f.name for f in self.features)

    @property
    def categorical_features(self) -> tuple[str, ...]:
        """Names of the categorical features, in training order.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.model import FeatureSpec, ModelMetadata
        >>> from govml.training.calibration import Calibration
        >>> meta = ModelMetadata(
        ...     task="low_quality", name="demo", version="1", label="y",
        ...     features=(FeatureSpec("x", "numeric", "float64"),
        ...               FeatureSpec("market", "categorical", "str", ("ID", "TH"))),
        ...     calibration=Calibration.identity(), thresholds={"review": 0.5},
        ...     catalogue_version=None, fingerprint=None, library_versions={},
        ...     created_at=pd.Timestamp("2026-01-02", tz="UTC"), params={}, best_iteration=20)
        >>> meta.categorical_features
        ('market',)
        """
        return tuple(f.name for f in self.features if f.kind == "categorical")

    @property
    def category_levels(self) -> Mapping[str, tuple[str, ...]]:
        """Stored levels of each categorical feature.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.model import FeatureSpec, ModelMetadata
        >>> from govml.training.calibration import Calibration
        >>> meta = ModelMetadata(
        ...     task="low_quality", name="demo", version="1", label="y",
        ...     features=(FeatureSpec("x", "numeric", "float64"),
        ...               FeatureSpec("market", "categorical", "str", ("ID", "TH"))),
        ...     calibration=Calibration.identity(), thresholds={"review": 0.5},
        ...     catalogue_version=None, fingerprint=None, library_versions={},
        ...     created_at=pd.Timestamp("2026-01-02", tz="UTC"), params={}, best_iteration=20)
        >>> dict(meta.category_levels)
        {'market': ('ID', 'TH')}
        """
        return MappingProxyType(
            {f.name: f.levels for f in self.features if f.kind == "categorical"}
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what ``metadata.json`` holds, minus the file checks).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.model import FeatureSpec, ModelMetadata
        >>> from govml.training.calibration import Calibration
        >>> meta = ModelMetadata(
        ...     task="low_quality", name="demo", version="1", label="y",
        ...     features=(FeatureSpec("x", "numeric", "float64"),
        ...               FeatureSpec("market", "categorical", "str", ("ID", "TH"))),
        ...     calibration=Calibration.identity(), thresholds={"review": 0.5},
        ...     catalogue_version=None, fingerprint=None, library_versions={},
        ...     created_at=pd.Timestamp("2026-01-02", tz="UTC"), params={}, best_iteration=20)
        >>> d = meta.to_dict()
        >>> d["features"][1]
        {'name': 'market', 'kind': 'categorical', 'dtype': 'str', 'levels': ['ID', 'TH']}
        >>> d["calibration"]["method"], d["created_at"], d["thresholds"]
        ('identity', '2026-01-02T00:00:00+00:00', {'review': 0.5})
        """
        return {
            "task": self.task,
            "name": self.name,
            "version": self.version,
            "label": self.label,
            "features": [f.to_dict() for f in self.features],
            "calibration": self.calibration.to_dict(),
            "thresholds": dict(self.thresholds),
            "catalogue_version": self.catalogue_version,
            "fingerprint": None if self.fingerprint is None else self.fingerprint.to_dict(),
            "library_versions": dict(self.library_versions),
            "created_at": self.created_at.isoformat(),
            "params": dict(self.params),
            "best_iteration": self.best_iteration,
            "training_config": _plain_tree(self.training_config),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelMetadata:
        """Inverse of :meth:`to_dict`; raises :class:`~govml.ModelFormatError` if invalid.

        Metadata written before govml stored the training configuration has no
        ``training_config`` key; it reads as None.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.model import FeatureSpec, ModelMetadata
        >>> from govml.training.calibration import Calibration
        >>> meta = ModelMetadata(
        ...     task="low_quality", name="demo", version="1", label="y",
        ...     features=(FeatureSpec("x", "numeric", "float64"),
        ...               FeatureSpec("market", "categorical", "str", ("ID", "TH"))),
        ...     calibration=Calibration.identity(), thresholds={"review": 0.5},
        ...     catalogue_version=None, fingerprint=None, library_versions={},
        ...     created_at=pd.Timestamp("2026-01-02", tz="UTC"), params={}, best_iteration=20)
        >>> import json
        >>> ModelMetadata.from_dict(json.loads(json.dumps(meta.to_dict()))) == meta
        True
        >>> old = {k: v for k, v in meta.to_dict().items() if k != "training_config"}
        >>> ModelMetadata.from_dict(old).training_config is None  # an older artifact
        True
        >>> ModelMetadata.from_dict({**meta.to_dict(), "task": "spam"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        govml._exceptions.ModelFormatError: model metadata is invalid (unknown task 'spam'; ...)...
        """
        # imported here, not at the top: govml.training imports this module
        from govml.training.calibration import Calibration

        try:
            fp = data["fingerprint"]
            return cls(
                task=data["task"],
                name=str(data["name"]),
                version=str(data["version"]),
                label=str(data["label"]),
                features=tuple(FeatureSpec.from_dict(f) for f in data["features"]),
                calibration=Calibration.from_dict(data["calibration"]),
                thresholds=dict(data["thresholds"]),
                catalogue_version=data["catalogue_version"],
                fingerprint=None if fp is None else DataFingerprint.from_dict(fp),
                library_versions=dict(data["library_versions"]),
                created_at=pd.Timestamp(data["created_at"]),
                params=dict(data["params"]),
                best_iteration=int(data["best_iteration"]),
                training_config=data.get("training_config"),
            )
        except ModelFormatError:
            raise
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ModelFormatError(
                f"model metadata is invalid ({detail}); expected the form written by "
                "GovmlModel.save() of this govml version"
            ) from None


# --------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Prediction:
    """Scores of a frame: calibrated probability, raw log-odds, tier, unseen categories.

    Attributes
    ----------
    index : Index
        The input frame's index.
    probability : ndarray of float64
        Calibrated probabilities.
    raw : ndarray of float64
        LightGBM raw scores (log-odds, what SHAP contributions add up to).
    tier : ndarray of str
        Tier per row (``"none"`` below every threshold).
    unseen : mapping of str to int
        Unseen category values per categorical feature.
    unseen_rows : ndarray of bool
        Rows with at least one unseen value.
    unseen_levels : mapping of str to tuple of str
        The distinct unseen values per categorical feature (only features with some).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=600)
    >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
    ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
    ...                    categorical=["market"], num_boost_round=20, num_threads=1,
    ...                    params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.5, "watch": 0.2})
    >>> pred = model.predict(df.set_index(df.index + 100).head(3))
    >>> len(pred), pred.index.tolist()
    (3, [100, 101, 102])
    >>> pred.tier.tolist() == model.tier_of(pred.probability).tolist()
    True
    >>> bool(np.allclose(pred.probability, model.metadata.calibration.apply(pred.raw)))
    True
    """

    index: pd.Index
    probability: np.ndarray
    raw: np.ndarray
    tier: np.ndarray
    unseen: Mapping[str, int]
    unseen_rows: np.ndarray
    unseen_levels: Mapping[str, tuple[str, ...]]

    def __len__(self) -> int:
        return len(self.probability)

    def to_frame(self) -> pd.DataFrame:
        """One row per input row: ``probability``, ``raw``, ``tier``, ``unseen_category``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> frame = model.predict(df.head(3)).to_frame()
        >>> frame.columns.tolist(), frame.index.tolist()
        (['probability', 'raw', 'tier', 'unseen_category'], [0, 1, 2])
        >>> bool(frame["tier"].isin(["review", "watch", "none"]).all())
        True
        """
        return pd.DataFrame(
            {
                "probability": self.probability,
                "raw": self.raw,
                "tier": pd.array(self.tier, dtype="str"),
                "unseen_category": self.unseen_rows,
            },
            index=self.index,
        )


# --------------------------------------------------------------------------- the model


def _check_booster(booster: lightgbm.Booster, metadata: ModelMetadata) -> str | None:
    names = tuple(booster.feature_name())
    if names != metadata.feature_names:
        return (
            f"the booster's features {list(names)} differ from the metadata's "
            f"{list(metadata.feature_names)}"
        )
    return None


def _atomic_write(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class GovmlModel:
    """A trained model: LightGBM booster plus :class:`ModelMetadata`.

    Build one with :meth:`from_fit` after training, or :meth:`load` from a folder
    written by :meth:`save`. See the module docstring for the column contract.

    Parameters
    ----------
    booster : lightgbm.Booster
        Its feature names must be ``metadata.feature_names``, in that order.
    metadata : ModelMetadata

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=600)
    >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
    ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
    ...                    categorical=["market"], num_boost_round=20, num_threads=1,
    ...                    params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.5, "watch": 0.2})
    >>> model  # doctest: +ELLIPSIS
    GovmlModel(task='low_quality', name='demo', version='1', features=2, trees=..., calibration=...)
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     loaded = GovmlModel.load(model.save(f"{tmp}/model"))
    >>> bool(np.array_equal(loaded.predict_proba(df), model.predict_proba(df)))
    True
    """

    __slots__ = ("_booster", "_metadata")

    def __init__(self, booster: lightgbm.Booster, metadata: ModelMetadata) -> None:
        problem = _check_booster(booster, metadata)
        if problem is not None:
            raise ModelFormatError(
                f"booster and metadata do not belong together: {problem}; build the model "
                "with GovmlModel.from_fit(...) or GovmlModel.load(...)"
            )
        self._booster = booster
        self._metadata = metadata

    @property
    def booster(self) -> lightgbm.Booster:
        """The LightGBM booster (feed it ``prepare(df).to_numpy()``, never a raw frame).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> model.booster.feature_name(), model.booster.num_trees() == model.metadata.best_iteration
        (['x', 'market'], True)
        >>> raw = model.booster.predict(model.prepare(df).to_numpy(), raw_score=True, num_threads=1)
        >>> bool(np.array_equal(raw, model.predict_raw(df)))
        True
        """
        return self._booster

    @property
    def metadata(self) -> ModelMetadata:
        """Features, levels, calibration, thresholds, fingerprint, versions, params.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> meta = model.metadata
        >>> meta.task, meta.name, meta.label, dict(meta.thresholds)
        ('low_quality', 'demo', 'y', {'review': 0.5, 'watch': 0.2})
        >>> dict(meta.category_levels), meta.params["num_leaves"], sorted(meta.library_versions)
        ({'market': ('ID', 'TH')}, 7, ['govml', 'lightgbm', 'numpy', 'pandas', 'python'])
        """
        return self._metadata

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature names in training order.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> model.feature_names
        ('x', 'market')
        """
        return self._metadata.feature_names

    def __repr__(self) -> str:
        m = self._metadata
        return (
            f"GovmlModel(task={m.task!r}, name={m.name!r}, version={m.version!r}, "
            f"features={len(m.features)}, trees={m.best_iteration}, "
            f"calibration={m.calibration.method!r})"
        )

    @classmethod
    def from_fit(
        cls,
        fit: FitResult,
        *,
        task: str,
        name: str,
        thresholds: Mapping[str, float] | None = None,
        fingerprint: DataFingerprint | None = None,
        catalogue_version: str | None = None,
        version: str = "1",
        created_at: pd.Timestamp | None = None,
        training_config: ExperimentConfig | Mapping[str, Any] | None = None,
    ) -> GovmlModel:
        """Build the model artifact from :func:`govml.training.lgbm.fit_lightgbm`'s result.

        Parameters
        ----------
        fit : FitResult
        task : {"low_quality", "adversarial"}
        name : str
            Model name (e.g. the registry name).
        thresholds : mapping of str to float, optional
            Tier name to probability cut, e.g. ``{"review": 0.5, "watch": 0.2}``.
        fingerprint : DataFingerprint, optional
            Of the training data (see :func:`fingerprint`).
        catalogue_version : str, optional
            Feature catalogue version of the feature set.
        version : str, default "1"
            Version label.
        created_at : Timestamp, optional
            Defaults to now (UTC).
        training_config : ExperimentConfig or mapping, optional
            The experiment configuration the model was trained with (or its
            ``to_dict()``), stored so reports and monitors use the model's own label
            horizon and snapshot grid (see :meth:`training_config`).

        Returns
        -------
        GovmlModel

        Raises
        ------
        ConfigError
            If the task is unknown, the thresholds are invalid (tier named ``"none"``,
            cut outside ``[0, 1]``, two tiers with the same cut), or the training
            config is of another task or not plain JSON data.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel, fingerprint
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo", version="3",
        ...                             thresholds={"review": 0.5},
        ...                             fingerprint=fingerprint(df[:400], label_col="y"))
        >>> model.metadata.version, model.metadata.fingerprint.n_rows, model.feature_names
        ('3', 400, ('x', 'market'))
        >>> GovmlModel.from_fit(fit, task="low_quality", name="demo", thresholds={"none": 0.5})
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        govml._exceptions.ConfigError: tier name 'none' is invalid; use a non-empty name other ...
        """
        now = pd.Timestamp.now(tz="UTC").floor("us") if created_at is None else created_at
        if training_config is not None and not isinstance(training_config, Mapping):
            from govml.training.config import ExperimentConfig

            if isinstance(training_config, ExperimentConfig):
                training_config = training_config.to_dict()
        metadata = ModelMetadata(
            task=task,
            name=name,
            version=str(version),
            label=fit.label,
            features=fit.features,
            calibration=fit.calibration,
            thresholds=dict(thresholds or {}),
            catalogue_version=catalogue_version,
            fingerprint=fingerprint,
            library_versions=_library_versions(),
            created_at=now,
            params=dict(fit.params),
            best_iteration=fit.best_iteration,
            training_config=training_config,
        )
        return cls(fit.booster, metadata)

    def with_version(self, version: str) -> GovmlModel:
        """The same model named as ``version`` (e.g. the registry's number for it).

        A model's artifact is logged before the registry numbers it, so tracking gives
        the trained or loaded model the registered version this way; the booster is
        shared, not copied.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y",
        ...                    num_boost_round=10, num_threads=1)
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
        >>> model.metadata.version, model.with_version("3").metadata.version
        ('1', '3')
        >>> model.with_version("1") is model
        True
        """
        version = str(version)
        if version == self.metadata.version:
            return self
        return GovmlModel(self.booster, replace(self.metadata, version=version))

    def training_config(self) -> ExperimentConfig | None:
        """The experiment configuration the model was trained with, or None if unknown.

        Rebuilt from :attr:`ModelMetadata.training_config`, so a report or monitor can
        label and snapshot data exactly as the model's training did (e.g. a model trained
        with ``--set labels.horizon=60D`` is evaluated on 60-day labels). LightGBM
        parameters chosen by tuning are in ``metadata.params``, not here.

        Returns
        -------
        ExperimentConfig or None
            None for models built without one, e.g. artifacts saved before govml stored
            it: callers then fall back to ``experiments/<task>.yaml`` or
            :func:`govml.default_config`.

        Raises
        ------
        ConfigError
            If the stored configuration is not valid for this govml (the message names
            the model, the field and the fix).

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training import default_config
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> cfg = default_config("adversarial").override({"labels.horizon": "60D"})
        >>> model = GovmlModel.from_fit(fit, task="adversarial", name="demo",
        ...                             training_config=cfg)
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     loaded = GovmlModel.load(model.save(f"{tmp}/model"))
        >>> loaded.training_config().labels.horizon, loaded.training_config() == cfg
        ('60D', True)
        >>> GovmlModel.from_fit(fit, task="adversarial", name="old").training_config() is None
        True
        """
        stored = self._metadata.training_config
        if stored is None:
            return None
        from govml.training.config import ExperimentConfig

        m = self._metadata
        try:
            return ExperimentConfig.from_dict(_plain_tree(stored))
        except ConfigError as exc:
            raise ConfigError(
                f"model {m.name} v{m.version}: its stored training config is not valid for "
                f"this govml ({exc}); pass the experiment config explicitly (e.g. "
                f"--config experiments/{m.task}.yaml) or retrain the model with this govml"
            ) from None

    # ----------------------------------------------------------------- scoring

    def prepare(self, df: pd.DataFrame) -> PreparedFrame:
        """Turn a scoring frame into LightGBM's input under the categorical contract.

        Parameters
        ----------
        df : DataFrame
            Must hold every feature column (by name; any order; extra columns ignored).
            Not modified.

        Returns
        -------
        PreparedFrame

        Raises
        ------
        ColumnMismatchError
            If feature columns are missing or duplicated, or numeric features hold text.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> new = pd.DataFrame({"market": pd.Categorical(["TH", "KR"]), "x": [0.5, None]})
        >>> prepared = model.prepare(new)
        >>> prepared.frame.to_dict("list"), dict(prepared.unseen)
        ({'x': [0.5, nan], 'market': [1.0, 2.0]}, {'market': 1})
        >>> model.prepare(pd.DataFrame({"x": ["0.5"], "market": ["TH"]}))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        govml._exceptions.ColumnMismatchError: scoring input: numeric feature column(s) hold ...
        """
        return _prepare(df, self._metadata.features, where="scoring input")

    def _apply_policy(
        self, prepared: PreparedFrame, unseen: str, max_unseen_fraction: float
    ) -> None:
        if unseen not in _POLICIES:
            raise ConfigError(f"unseen={unseen!r}; expected one of {list(_POLICIES)}")
        if not 0.0 <= max_unseen_fraction <= 1.0:
            raise ConfigError(
                f"max_unseen_fraction={max_unseen_fraction!r}; expected a fraction in [0, 1]"
            )
        if prepared.n_unseen_rows == 0 or unseen == "allow":
            return
        what = (
            f"{prepared.n_unseen_rows} of {len(prepared)} rows "
            f"({prepared.unseen_fraction:.2%}) hold category levels never seen in training: "
            f"{prepared.describe_unseen()}"
        )
        if unseen == "raise":
            raise UnseenCategoryError(
                f"{what}. unseen='raise' refuses to score them; retrain on data that includes "
                "these levels, fix the values, or pass unseen='warn' to score them as 'none "
                "of the known levels'"
            )
        if prepared.unseen_fraction > max_unseen_fraction:
            raise UnseenCategoryError(
                f"{what}; that is more than max_unseen_fraction={max_unseen_fraction:.2%}. "
                "The model was not trained for this population: retrain it, or raise "
                "max_unseen_fraction (or pass unseen='allow') if scoring them as 'none of "
                "the known levels' is acceptable"
            )
        warnings.warn(
            f"{what}; scored as 'none of the known levels' (see Prediction.unseen)",
            UnseenCategoryWarning,
            stacklevel=3,
        )

    def _raw(self, prepared: PreparedFrame) -> np.ndarray:
        if len(prepared) == 0:
            return np.empty(0, dtype=np.float64)
        from govml._config import get_settings

        raw = self._booster.predict(
            prepared.to_numpy(), raw_score=True, num_threads=get_settings().n_jobs
        )
        return np.asarray(raw, dtype=np.float64)

    def predict_raw(
        self,
        df: pd.DataFrame,
        *,
        unseen: UnseenPolicy = "warn",
        max_unseen_fraction: float = MAX_UNSEEN_FRACTION,
    ) -> np.ndarray:
        """Raw scores (log-odds), one per row of ``df``.

        Parameters
        ----------
        df : DataFrame
        unseen, max_unseen_fraction
            As in :meth:`predict`.

        Returns
        -------
        ndarray of float64

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> raw = model.predict_raw(df)
        >>> raw.shape, raw.dtype
        ((600,), dtype('float64'))
        >>> bool(np.array_equal(model.metadata.calibration.apply(raw), model.predict_proba(df)))
        True
        """
        prepared = self.prepare(df)
        self._apply_policy(prepared, unseen, max_unseen_fraction)
        return self._raw(prepared)

    def predict_proba(
        self,
        df: pd.DataFrame,
        *,
        unseen: UnseenPolicy = "warn",
        max_unseen_fraction: float = MAX_UNSEEN_FRACTION,
    ) -> np.ndarray:
        """Calibrated probabilities, one per row of ``df``.

        Parameters
        ----------
        df : DataFrame
        unseen, max_unseen_fraction
            As in :meth:`predict`.

        Returns
        -------
        ndarray of float64

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> p = model.predict_proba(df[["market", "x"]])  # columns are matched by name
        >>> p.shape, bool(((p > 0) & (p < 1)).all())
        ((600,), True)
        >>> bool(p[df["x"] > 1].mean() > p[df["x"] < -1].mean())
        True
        """
        return self._metadata.calibration.apply(
            self.predict_raw(df, unseen=unseen, max_unseen_fraction=max_unseen_fraction)
        )

    def tier_of(self, probability: Any) -> np.ndarray:
        """Tier name per probability: the tier with the highest cut not above it.

        With thresholds ``{"review": 0.5, "watch": 0.2}``, probabilities 0.7, 0.3 and 0.1
        get ``"review"``, ``"watch"`` and ``"none"``; a probability equal to a cut gets
        that tier.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> dict(model.metadata.thresholds)
        {'review': 0.5, 'watch': 0.2}
        >>> model.tier_of([0.7, 0.5, 0.3, 0.1]).tolist()
        ['review', 'review', 'watch', 'none']
        """
        p = np.asarray(probability, dtype=np.float64)
        tiers = sorted(self._metadata.thresholds.items(), key=lambda kv: kv[1], reverse=True)
        out = np.full(p.shape, NO_TIER, dtype=object)
        assigned = np.zeros(p.shape, dtype=bool)
        for name, cut in tiers:
            hit = ~assigned & (p >= cut)
            out[hit] = name
            assigned |= hit
        return out

    def predict(
        self,
        df: pd.DataFrame,
        *,
        unseen: UnseenPolicy = "warn",
        max_unseen_fraction: float = MAX_UNSEEN_FRACTION,
    ) -> Prediction:
        """Score a frame: probability, raw score, tier and unseen-category report per row.

        Parameters
        ----------
        df : DataFrame
            Feature columns by name, any order, extra columns ignored; not modified.
        unseen : {"warn", "raise", "allow"}, default "warn"
            What to do with category levels never seen in training. ``"warn"``: score
            them as "none of the known levels" and emit an
            :class:`~govml.UnseenCategoryWarning`, unless more than
            ``max_unseen_fraction`` of the rows hold one, then raise
            :class:`~govml.UnseenCategoryError`. ``"raise"``: raise on any. ``"allow"``:
            score them without a warning (the counts are still in the result; for
            callers such as batch scoring that account for them themselves).
        max_unseen_fraction : float, default 0.05
            Tolerance of ``"warn"``: the largest share of rows with an unseen level.

        Returns
        -------
        Prediction

        Raises
        ------
        ColumnMismatchError
            Missing or duplicated feature columns, or text in numeric features.
        UnseenCategoryError
            Unseen levels beyond the policy.
        ConfigError
            Unknown ``unseen`` policy or a tolerance outside ``[0, 1]``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> pred = model.predict(df.head(3))
        >>> pred.tier.tolist() == model.tier_of(pred.probability).tolist(), dict(pred.unseen)
        (True, {'market': 0})
        >>> new = pd.DataFrame({"x": [0.0, 0.0], "market": ["TH", "KR"]})  # KR never seen
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     pred = model.predict(new, max_unseen_fraction=0.5)
        >>> pred.unseen_rows.tolist(), [w.category.__name__ for w in caught]
        ([False, True], ['UnseenCategoryWarning'])
        >>> model.predict(new, unseen="raise")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        govml._exceptions.UnseenCategoryError: 1 of 2 rows (50.00%) hold category levels never ...
        """
        prepared = self.prepare(df)
        self._apply_policy(prepared, unseen, max_unseen_fraction)
        raw = self._raw(prepared)
        probability = self._metadata.calibration.apply(raw)
        return Prediction(
            index=df.index,
            probability=probability,
            raw=raw,
            tier=self.tier_of(probability),
            unseen=prepared.unseen,
            unseen_rows=prepared.unseen_rows,
            unseen_levels=prepared.unseen_levels,
        )

    # ----------------------------------------------------------------- files

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder: ``model.txt`` and ``metadata.json``.

        Each file is written atomically; ``metadata.json`` is written last and holds
        the SHA-256 of ``model.txt``, so a folder that mixes two saves is detected on
        load. Other files in the folder are left alone.

        Parameters
        ----------
        path : path-like
            Folder to write (created with its parents if needed).

        Returns
        -------
        Path
            The folder.

        Raises
        ------
        ModelFormatError
            If ``path`` exists and is not a folder.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> import json, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = model.save(f"{tmp}/models/demo")  # parents are created
        ...     files = sorted(p.name for p in folder.iterdir())
        ...     meta = json.loads((folder / "metadata.json").read_text())
        >>> files, meta["format_version"], meta["name"], len(meta["model_sha256"])
        (['metadata.json', 'model.txt'], 1, 'demo', 64)
        """
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise ModelFormatError(
                f"cannot save the model to {folder}: it exists and is not a folder; pass a "
                "folder path (it is created if missing)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        text = self._booster.model_to_string().encode("utf-8")
        _atomic_write(folder / MODEL_FILE, text)
        payload = {
            "format_version": FORMAT_VERSION,
            "model_sha256": hashlib.sha256(text).hexdigest(),
            **self._metadata.to_dict(),
        }
        document = json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"
        _atomic_write(folder / METADATA_FILE, document.encode("utf-8"))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GovmlModel:
        """Read a model folder written by :meth:`save`. Never unpickles anything.

        Parameters
        ----------
        path : path-like
            The model folder.

        Returns
        -------
        GovmlModel
            Predicts bit for bit like the model that was saved.

        Raises
        ------
        ModelFormatError
            Missing folder or files, corrupt JSON or model text, a checksum mismatch, or
            a format version newer than this govml reads. The message names the path and
            the fix.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=600)
        >>> df = pd.DataFrame({"x": x, "market": rng.choice(["ID", "TH"], 600),
        ...                    "y": (rng.random(600) < 1 / (1 + np.exp(-2 * x))).astype(int)})
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5, "watch": 0.2})
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     loaded = GovmlModel.load(model.save(f"{tmp}/model"))
        >>> loaded.metadata == model.metadata
        True
        >>> bool(np.array_equal(loaded.predict_raw(df), model.predict_raw(df)))
        True
        >>> GovmlModel.load("no/such/folder")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        govml._exceptions.ModelFormatError: no model folder at no/such/folder; pass the folder ...
        """
        import lightgbm

        folder = Path(path)
        if not folder.is_dir():
            raise ModelFormatError(
                f"no model folder at {folder}; pass the folder written by GovmlModel.save() "
                f"(it holds {MODEL_FILE} and {METADATA_FILE})"
            )
        missing = [f for f in (MODEL_FILE, METADATA_FILE) if not (folder / f).is_file()]
        if missing:
            raise ModelFormatError(
                f"model folder {folder} lacks {missing}; a govml model is {MODEL_FILE} plus "
                f"{METADATA_FILE}: re-save it with GovmlModel.save() or copy the whole folder"
            )
        meta_path = folder / METADATA_FILE
        try:
            data = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelFormatError(
                f"{meta_path} is not valid JSON ({exc}); the file is corrupt or truncated: "
                "restore it from the original model folder or re-save the model"
            ) from None
        if not isinstance(data, dict):
            raise ModelFormatError(
                f"{meta_path} holds a JSON {type(data).__name__}, not an object; restore it "
                "from the original model folder or re-save the model"
            )
        version = data.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ModelFormatError(
                f"{meta_path} has format_version={version!r}; expected a positive integer. "
                "It was not written by GovmlModel.save(): re-save the model"
            )
        if version > FORMAT_VERSION:
            raise ModelFormatError(
                f"{meta_path} has format_version={version}, newer than the {FORMAT_VERSION} "
                "this govml reads; upgrade govml (the library versions that wrote it are in "
                "the file under 'library_versions')"
            )
        text = (folder / MODEL_FILE).read_bytes()
        if hashlib.sha256(text).hexdigest() != data.get("model_sha256"):
            raise ModelFormatError(
                f"{folder / MODEL_FILE} does not match the checksum in {meta_path}: the "
                "folder mixes files of two saves or the model text was edited; copy both "
                "files from one save"
            )
        try:
            metadata = ModelMetadata.from_dict(data)
        except ModelFormatError as exc:
            raise ModelFormatError(f"{meta_path}: {exc}") from None
        try:
            booster = lightgbm.Booster(model_str=text.decode("utf-8"))
        except (lightgbm.basic.LightGBMError, UnicodeDecodeError) as exc:
            raise ModelFormatError(
                f"{folder / MODEL_FILE} is not a LightGBM text model ({exc}); restore the "
                "folder from the original save"
            ) from None
        problem = _check_booster(booster, metadata)
        if problem is not None:
            raise ModelFormatError(
                f"{folder}: {problem}; the files come from different models: copy both files "
                "from one save"
            )
        return cls(booster, metadata)
