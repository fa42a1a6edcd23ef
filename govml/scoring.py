"""Batch scoring: chunked, atomic, resumable and accounted.

Two layers:

* :func:`score_frame` is the **pure per-chunk core**: a feature frame in, a
  :class:`ScoredChunk` out (scored rows in :data:`OUTPUT_SCHEMA`, rows that cannot be
  scored in :data:`QUARANTINE_SCHEMA`, with the reason). It depends only on its
  arguments, never on other rows (except duplicate-key detection within the frame), so
  Spark runs it inside ``mapInPandas`` and any chunk size, row order or column order
  gives the same score for every row (tested with hypothesis).
* :func:`score_batch` is the **job**: it builds the task's point-in-time features as of
  the scoring time in chunks of creators (the same builders as training), scores each
  chunk with :func:`score_frame`, writes it atomically and records it, so a job killed
  at any moment and re-run with the same arguments finishes with every input row
  written exactly once. ``govml score`` runs it.

What is scored
--------------
``low_quality``: every session that ended in ``[as_of - 1 day, as_of)`` (``since``
widens the window to ``[since, as_of)``). ``adversarial``: one snapshot at ``as_of`` of
every creator active within ``active_within`` (default 30 days) before it. Features use
only facts known strictly before each row's prediction time (session end or snapshot).

Output schema
-------------
One row per scored entity (:data:`OUTPUT_SCHEMA`; :func:`read_scores` reads it back).
On disk the rows are parquet files partitioned Hive-style by ``market`` and ``date``
(``OUT/market=ID/date=2025-09-20/part-c00000.parquet``), so those two columns are
in the folder names, not in the files; a dataset reader (pyarrow, Spark, DuckDB)
restores them.

===================  ===============================  ==========================================
column               type                             meaning
===================  ===============================  ==========================================
``task``             string                           ``low_quality`` or ``adversarial``
``entity_id``        string                           session id (low_quality) or creator id
                                                      (adversarial); unique in a job
``creator_id``       string, nullable                 the creator (= ``entity_id`` for
                                                      adversarial)
``market``           string                           market of the creator (partition)
``date``             string                           UTC date ``YYYY-MM-DD`` of
                                                      ``prediction_time`` (partition)
``prediction_time``  timestamp[us, UTC]               session end / snapshot time: features
                                                      use facts known strictly before it
``score``            double                           calibrated probability in [0, 1]
``raw_score``        double                           LightGBM log-odds (reasons add up to it)
``tier``             string                           tier from the model's thresholds
                                                      (highest cut not above ``score``), or
                                                      ``"none"``
``unseen_category``  bool                             scored with category levels never seen in
                                                      training (within ``max_unseen_features``)
``reasons``          list<struct<code: string,        top ``top_k`` reason groups pushing the
                     text: string, contribution:      score up (largest first) for rows with
                     double>>                         ``score >= reasons_above``; empty list
                                                      otherwise. ``code``: stable catalogue
                                                      code (e.g. ``VR``); ``text``: business-
                                                      language sentence; ``contribution``:
                                                      log-odds
``model_name``       string                           model (registry) name
``model_version``    string                           registry version when loaded from the
                                                      registry, else the model's version label
``scored_at``        timestamp[us, UTC]               when the job scored (one value per job)
===================  ===============================  ==========================================

Quarantined rows go to ``OUT/_quarantine/part-c*.parquet`` (:data:`QUARANTINE_SCHEMA`:
``task, entity_id, creator_id, market, prediction_time, reason_code, reason,
model_name, model_version, scored_at``), with one of the :data:`QUARANTINE_REASONS`
codes and a sentence naming the column and value. Folders and files whose names start
with ``_`` or ``.`` are ignored by dataset readers, so reading ``OUT`` gives the scored
rows only.

Files of a job
--------------
::

    OUT/_job.json              the job's arguments and identity (written first)
    OUT/_lock                  pid of the job writing (stale locks of dead jobs are taken over)
    OUT/_chunks/c00003.json    chunk 3 is complete: its files and row counts
    OUT/market=../date=../part-c00003.parquet
    OUT/_quarantine/part-c00003.parquet
    OUT/_SUCCESS               manifest (JSON), written last

Every file is written under a hidden temporary name, flushed and renamed; a chunk
counts only once its ``_chunks`` record exists (renamed last). On a re-run, files of
chunks without a record are deleted, the entities of recorded chunks are skipped, and
the rest is built and scored again, so rows are neither lost nor duplicated. Before
``_SUCCESS`` is written the job re-reads every entity id and checks that the scored
and quarantined rows together are exactly the input rows, once each. A re-run of a
finished job does nothing and says so; a re-run with other arguments (model, as-of,
window, reason settings, or an input that changed) into the same folder is an error
unless ``overwrite=True``.

The Spark engine (:func:`govml.spark.score_batch`) writes the same folder: both go
through :mod:`govml._jobfiles`, the one module that implements this protocol.

Examples
--------
>>> from govml.scoring import OUTPUT_SCHEMA, QUARANTINE_REASONS
>>> OUTPUT_SCHEMA.names[:6]
['task', 'entity_id', 'creator_id', 'market', 'date', 'prediction_time']
>>> list(QUARANTINE_REASONS)[:3]
['missing_key', 'duplicate_key', 'missing_time']
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from govml import _jobfiles as jf
from govml._exceptions import ColumnMismatchError, ConfigError, LabelError, ScoringError
from govml._jobfiles import ScoreSummary

if TYPE_CHECKING:
    from govml.features.featureset import FeatureSet
    from govml.model import GovmlModel
    from govml.schema import Tables
    from govml.tracking import TrackingConfig

__all__ = [
    "OUTPUT_SCHEMA",
    "QUARANTINE_SCHEMA",
    "REASON_TYPE",
    "QUARANTINE_REASONS",
    "TASK_COLUMNS",
    "HISTORY_COLUMN",
    "CHUNK_ROWS",
    "ScoredChunk",
    "ResolvedModel",
    "ScoreSummary",
    "score_frame",
    "resolve_model",
    "score_batch",
    "read_scores",
    "read_manifest",
]

# --------------------------------------------------------------------------- schemas

#: One reason: stable catalogue code, business-language text, contribution in log-odds.
REASON_TYPE = pa.struct(
    [
        pa.field("code", pa.string()),
        pa.field("text", pa.string()),
        pa.field("contribution", pa.float64()),
    ]
)
_REASONS_LIST = pa.list_(REASON_TYPE)
_TS = pa.timestamp("us", tz="UTC")

#: Scored rows (see the module docstring for the meaning of every column).
OUTPUT_SCHEMA = pa.schema(
    [
        pa.field("task", pa.string(), nullable=False),
        pa.field("entity_id", pa.string(), nullable=False),
        pa.field("creator_id", pa.string()),
        pa.field("market", pa.string(), nullable=False),
        pa.field("date", pa.string(), nullable=False),
        pa.field("prediction_time", _TS, nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("raw_score", pa.float64(), nullable=False),
        pa.field("tier", pa.string(), nullable=False),
        pa.field("unseen_category", pa.bool_(), nullable=False),
        pa.field("reasons", _REASONS_LIST, nullable=False),
        pa.field("model_name", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("scored_at", _TS, nullable=False),
    ]
)

#: Rows that could not be scored, with why (``reason_code`` from QUARANTINE_REASONS).
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("task", pa.string(), nullable=False),
        pa.field("entity_id", pa.string()),
        pa.field("creator_id", pa.string()),
        pa.field("market", pa.string()),
        pa.field("prediction_time", _TS),
        pa.field("reason_code", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("model_name", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("scored_at", _TS, nullable=False),
    ]
)

#: Quarantine codes, in the order they are checked (a row gets the first that applies;
#: ``reason`` lists every problem of the row).
QUARANTINE_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "missing_key": "the entity id is missing",
        "duplicate_key": "the entity id appears more than once in the input",
        "missing_time": "the prediction time is missing",
        "missing_market": "the market is missing (it is needed for the output partition)",
        "invalid_value": "a numeric feature holds text or an infinite value",
        "missing_history": "the creator has no history at the prediction time "
        "(tenure_days missing or negative: not onboarded before it)",
        "unseen_category": "category levels never seen in training in more features than "
        "max_unseen_features allows",
    }
)

#: Entity key, prediction-time column and entity kind of each task's feature frame.
TASK_COLUMNS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"low_quality": ("session_id", "ended_at"), "adversarial": ("creator_id", "snapshot_at")}
)
#: Feature that proves a creator history exists at the prediction time (checked when the
#: frame has it): missing or negative means the creator was unknown then.
HISTORY_COLUMN = "tenure_days"
_MARKET = "market"
_CREATOR = "creator_id"
_BLOCK_ROWS = 131_072  # rows prepared and predicted at a time inside score_frame

# --------------------------------------------------------------------------- helpers


def parse_timestamp(value: Any, name: str) -> pd.Timestamp:
    """A scoring argument as a UTC timestamp in microseconds (internal API, shared
    with :mod:`govml.spark`): dates and times without a timezone are UTC.

    Parameters
    ----------
    value : timestamp, str or datetime
        What the caller passed.
    name : str
        The argument's name, for the message (``as_of``, ``since``, ``scored_at``).

    Returns
    -------
    Timestamp

    Raises
    ------
    ScoringError
        ``value`` is None, a bool, NaT or not a timestamp.

    Examples
    --------
    >>> from govml.scoring import parse_timestamp
    >>> parse_timestamp("2025-09-03", "as_of")
    Timestamp('2025-09-03 00:00:00+0000', tz='UTC')
    >>> parse_timestamp("soon", "as_of")
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: as_of='soon' is not a timestamp; write e.g. 2026-01-31 or 2026-01-31T00:00Z (dates without a timezone are UTC)
    """
    if isinstance(value, bool) or value is None:
        raise ScoringError(f"{name}={value!r} is not a timestamp; write e.g. 2026-01-31T00:00Z")
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ScoringError(
            f"{name}={value!r} is not a timestamp; write e.g. 2026-01-31 or 2026-01-31T00:00Z "
            "(dates without a timezone are UTC)"
        ) from None
    if ts is pd.NaT:
        raise ScoringError(f"{name} is missing (NaT); pass a timestamp such as 2026-01-31")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.as_unit("us").floor("us")


def _decoded(codes: np.ndarray, labels: Sequence[str]) -> pd.Series:
    """Strings from integer codes into ``labels`` (-1 = missing), built in Arrow (no
    Python string per row)."""
    array = pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32), mask=np.asarray(codes) < 0),
        pa.array(list(labels), type=pa.string()),
    ).dictionary_decode()
    return pd.Series(array, dtype="str")


def _text_column(series: pd.Series) -> pd.Series:
    """Any column as pandas' string dtype (missing stays missing), index reset."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        labels = [v if isinstance(v, str) else str(v) for v in series.cat.categories]
        return _decoded(series.cat.codes.to_numpy(), labels)
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return series.astype("str").reset_index(drop=True)
    values = series.astype(object)
    return values.where(values.notna(), None).astype("str").reset_index(drop=True)


def _missing_text(series: pd.Series) -> np.ndarray:
    return (series.isna() | (series.str.len() == 0)).to_numpy(dtype=bool)


def _utc_times(series: pd.Series, column: str) -> pd.Series:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        out = series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        raise ColumnMismatchError(
            f"scoring input: time column {column!r} holds timestamps without a timezone; "
            "govml times are UTC-aware (datetime64[us, UTC]): use "
            "pd.to_datetime(..., utc=True) or .dt.tz_localize('UTC')"
        )
    elif series.isna().all():
        out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us, UTC]")
    else:
        raise ColumnMismatchError(
            f"scoring input: time column {column!r} has dtype {dtype}; expected UTC-aware "
            "timestamps (datetime64[us, UTC]), as the feature builders write them"
        )
    return out.astype("datetime64[us, UTC]")


def _is_number(value: Any) -> bool:
    return value is None or isinstance(value, int | float | np.number | np.bool_)


def _numeric_column(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """A numeric feature as float64, and the rows whose value is not a number.

    Columns of a numeric dtype pass through. Others (object, text, category) are read
    value by value: numbers are kept, missing values stay missing, anything else (text
    included: numbers are never parsed from text) marks the row invalid.
    """
    dtype = series.dtype
    if not isinstance(dtype, pd.CategoricalDtype) and (
        pd.api.types.is_bool_dtype(dtype)
        or (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype))
    ):
        return series, np.zeros(len(series), dtype=bool)
    values = series.astype(object).to_numpy()
    missing = pd.isna(values)
    ok = np.fromiter((_is_number(v) for v in values), dtype=bool, count=len(values)) | missing
    clean = np.where(ok & ~missing, values, np.nan)
    return pd.Series(clean.astype(np.float64), index=series.index), ~ok


# --------------------------------------------------------------------------- the core


@dataclass(frozen=True)
class ScoredChunk:
    """What :func:`score_frame` returns for one frame.

    Attributes
    ----------
    scored : DataFrame
        Scored rows in :data:`OUTPUT_SCHEMA` (same columns, in that order), in input
        order. ``reasons`` is a pyarrow-backed list-of-struct column.
    quarantined : DataFrame
        Rows that could not be scored, in :data:`QUARANTINE_SCHEMA`, in input order.
    n_input : int
        Rows in the input frame; always ``len(scored) + len(quarantined)``.

    Examples
    --------
    :func:`score_frame` returns one:

    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.scoring import score_frame
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> rate = rng.gamma(1.0, 1.0, 600)
    >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
    >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
    ...                    categorical=["market"], num_boost_round=20, num_threads=1,
    ...                    params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.5})
    >>> frame = df.assign(session_id=[f"s{i}" for i in range(600)],
    ...                   ended_at=pd.Timestamp("2026-01-02T10:00", tz="UTC"))
    >>> frame.loc[3, "market"] = "KR"  # a market the model never saw: quarantined
    >>> chunk = score_frame(model, frame, scored_at="2026-01-03", num_threads=1)
    >>> chunk.n_input, len(chunk.scored), len(chunk.quarantined)
    (600, 599, 1)
    >>> chunk.scored.columns.tolist()[:4], chunk.quarantined["entity_id"].tolist()
    (['task', 'entity_id', 'creator_id', 'market'], ['s3'])
    """

    scored: pd.DataFrame
    quarantined: pd.DataFrame
    n_input: int

    def __post_init__(self) -> None:
        if len(self.scored) + len(self.quarantined) != self.n_input:
            raise ScoringError(
                f"row accounting broken: {len(self.scored)} scored + {len(self.quarantined)} "
                f"quarantined != {self.n_input} input rows; every input row must be in "
                "exactly one of the two frames"
            )

    @property
    def n_scored(self) -> int:
        """Rows scored.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.scoring import score_frame
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> rate = rng.gamma(1.0, 1.0, 600)
        >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5})
        >>> frame = df.assign(session_id=[f"s{i}" for i in range(600)],
        ...                   ended_at=pd.Timestamp("2026-01-02T10:00", tz="UTC"))
        >>> frame.loc[3, "market"] = "KR"  # a market the model never saw: quarantined
        >>> chunk = score_frame(model, frame, scored_at="2026-01-03", num_threads=1)
        >>> chunk.n_scored, chunk.n_scored == len(chunk.scored)
        (599, True)
        """
        return len(self.scored)

    @property
    def n_quarantined(self) -> int:
        """Rows quarantined.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.scoring import score_frame
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> rate = rng.gamma(1.0, 1.0, 600)
        >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5})
        >>> frame = df.assign(session_id=[f"s{i}" for i in range(600)],
        ...                   ended_at=pd.Timestamp("2026-01-02T10:00", tz="UTC"))
        >>> frame.loc[3, "market"] = "KR"  # a market the model never saw: quarantined
        >>> chunk = score_frame(model, frame, scored_at="2026-01-03", num_threads=1)
        >>> chunk.n_quarantined, chunk.quarantined.loc[0, "reason_code"]
        (1, 'unseen_category')
        """
        return len(self.quarantined)

    def to_arrow(self) -> tuple[pa.Table, pa.Table]:
        """``(scored, quarantined)`` as pyarrow tables with exactly the two schemas.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.model import GovmlModel
        >>> from govml.scoring import score_frame
        >>> from govml.training.lgbm import fit_lightgbm
        >>> rng = np.random.default_rng(0)
        >>> rate = rng.gamma(1.0, 1.0, 600)
        >>> df = pd.DataFrame({"report_rate": rate, "market": rng.choice(["ID", "TH"], 600)})
        >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(3 - 2 * rate))).astype(int)
        >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
        ...                    categorical=["market"], num_boost_round=20, num_threads=1,
        ...                    params={"num_leaves": 7})
        >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
        ...                             thresholds={"review": 0.5})
        >>> frame = df.assign(session_id=[f"s{i}" for i in range(600)],
        ...                   ended_at=pd.Timestamp("2026-01-02T10:00", tz="UTC"))
        >>> frame.loc[3, "market"] = "KR"  # a market the model never saw: quarantined
        >>> chunk = score_frame(model, frame, scored_at="2026-01-03", num_threads=1)
        >>> from govml.scoring import OUTPUT_SCHEMA, QUARANTINE_SCHEMA
        >>> scored, quarantined = chunk.to_arrow()
        >>> scored.schema.equals(OUTPUT_SCHEMA), quarantined.schema.equals(QUARANTINE_SCHEMA)
        (True, True)
        >>> scored.num_rows, str(scored.schema.field("reasons").type)
        (599, 'list<item: struct<code: string, text: string, contribution: double>>')
        """
        return _to_table(self.scored, OUTPUT_SCHEMA), _to_table(self.quarantined, QUARANTINE_SCHEMA)


def _to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """A frame in one of the output schemas as a pyarrow table with exactly that schema."""
    arrays = []
    for f in schema:
        column = frame[f.name]
        if pa.types.is_timestamp(f.type):
            values = column.dt.tz_convert(None).to_numpy()
            arrays.append(pa.array(values, type=f.type, from_pandas=True))
        elif pa.types.is_floating(f.type):
            arrays.append(pa.array(column.to_numpy(np.float64), type=f.type))
        else:
            arrays.append(pa.array(column.array, type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _empty_reasons(n: int) -> pd.Series:
    offsets = pa.array(np.zeros(n + 1, dtype=np.int32))
    values = pa.array([], type=REASON_TYPE)
    array = pa.ListArray.from_arrays(offsets, values, type=_REASONS_LIST)
    return pd.Series(pd.arrays.ArrowExtensionArray(array))


def _reason_lists(n: int, positions: np.ndarray, codes: pd.DataFrame, k: int) -> pd.Series:
    """A list-of-struct column: the reasons of rows ``positions``, empty lists elsewhere."""
    if not len(positions) or k == 0:
        return _empty_reasons(n)
    code = np.column_stack([codes[f"reason_{i}_code"].to_numpy(object) for i in range(1, k + 1)])
    text = np.column_stack([codes[f"reason_{i}_text"].to_numpy(object) for i in range(1, k + 1)])
    contrib = np.column_stack(
        [codes[f"reason_{i}_contribution"].to_numpy(np.float64) for i in range(1, k + 1)]
    )
    valid = ~pd.isna(code)
    counts = np.zeros(n, dtype=np.int64)
    counts[positions] = valid.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    values = pa.StructArray.from_arrays(
        [
            pa.array(code[valid], type=pa.string()),
            pa.array(text[valid], type=pa.string()),
            pa.array(contrib[valid], type=pa.float64()),
        ],
        fields=list(REASON_TYPE),
    )
    array = pa.ListArray.from_arrays(pa.array(offsets), values, type=_REASONS_LIST)
    return pd.Series(pd.arrays.ArrowExtensionArray(array))


def _day_strings(times: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` (UTC) per timestamp, formatting each distinct day once."""
    days = times.dt.tz_convert(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    if not len(days):
        return pd.Series([], dtype="str")
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
    return _decoded(days - first, [str(d) for d in span])


def _tiers(model: GovmlModel, probability: np.ndarray) -> pd.Series:
    """:meth:`GovmlModel.tier_of` as a string column, without a Python object per row:
    the tier with the highest cut not above the probability, ``"none"`` below all."""
    from govml.model import NO_TIER

    ranked = sorted(model.metadata.thresholds.items(), key=lambda kv: kv[1])
    cuts = np.array([cut for _, cut in ranked], dtype=np.float64)
    codes = np.searchsorted(cuts, probability, side="right")  # number of cuts <= p
    codes[np.isnan(probability)] = 0
    return _decoded(codes, [NO_TIER, *(name for name, _ in ranked)])


def check_options(top_k: Any, max_unseen_features: Any, reasons_above: Any) -> None:
    """Check the reason and quarantine options of :func:`score_frame` and the scoring
    jobs (internal API, shared with :mod:`govml.spark`).

    Raises
    ------
    ConfigError
        ``top_k`` or ``max_unseen_features`` is not a whole number >= 0, or
        ``reasons_above`` is neither None nor a probability.

    Examples
    --------
    >>> from govml.scoring import check_options
    >>> check_options(3, 0, None)
    >>> check_options(-1, 0, None)
    Traceback (most recent call last):
    ...
    govml._exceptions.ConfigError: top_k=-1; expected a whole number of reasons per row, at least 0 (0 = no reasons)
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 0:
        raise ConfigError(
            f"top_k={top_k!r}; expected a whole number of reasons per row, at least 0 "
            "(0 = no reasons)"
        )
    if (
        isinstance(max_unseen_features, bool)
        or not isinstance(max_unseen_features, int | np.integer)
        or max_unseen_features < 0
    ):
        raise ConfigError(
            f"max_unseen_features={max_unseen_features!r}; expected a whole number >= 0 "
            "(0 quarantines every row with a category level never seen in training)"
        )
    if reasons_above is not None:
        try:
            value = float(reasons_above)
        except (TypeError, ValueError):
            value = float("nan")
        if isinstance(reasons_above, bool) or not 0.0 <= value <= 1.0:
            raise ConfigError(
                f"reasons_above={reasons_above!r}; expected a probability in [0, 1] (rows "
                "scoring at least this get reason codes) or None for the model's lowest tier "
                "threshold"
            )


def score_frame(
    model: GovmlModel,
    features: pd.DataFrame | FeatureSet,
    *,
    scored_at: pd.Timestamp | str,
    top_k: int = 3,
    reasons_above: float | None = None,
    max_unseen_features: int = 0,
    model_version: str | None = None,
    num_threads: int | None = None,
) -> ScoredChunk:
    """Score one feature frame: calibrated score, tier, reasons, and a quarantine.

    The pure per-chunk core of batch scoring (Spark calls it inside ``mapInPandas``).
    Every output row depends only on its own input row and the arguments, so the
    score, tier and reasons of an entity are the same for any chunking, row order and
    column order. Rows that cannot be scored are quarantined with a reason (see
    :data:`QUARANTINE_REASONS`); every input row is in exactly one of the two outputs.

    Parameters
    ----------
    model : GovmlModel
        The trained model; its task decides the key and time columns
        (:data:`TASK_COLUMNS`).
    features : DataFrame or FeatureSet
        The task's feature frame (from :func:`govml.features.build_features` or the
        chunked builders): the key and time columns, ``market``, ``creator_id`` if
        available, and every model feature by name (any order; extra columns are
        ignored). Not modified.
    scored_at : timestamp
        When the job scored (the same for every chunk of a job); naive means UTC.
    top_k : int, default 3
        Reason groups per row above ``reasons_above`` (0: no reasons, fastest).
    reasons_above : float, optional
        Probability from which rows get reasons. Defaults to the model's lowest tier
        threshold (the action threshold: rows that get a tier); a model without
        thresholds then gives no reasons.
    max_unseen_features : int, default 0
        A row with category levels never seen in training in at most this many
        categorical features is scored as "none of the known levels" and flagged
        (``unseen_category``); with more, it is quarantined. The rule is per row, so it
        does not depend on what else is in the chunk.
    model_version : str, optional
        Version written to the rows; defaults to ``model.metadata.version`` (batch
        scoring passes the registry version when the model came from the registry).
    num_threads : int, optional
        LightGBM threads; defaults to ``get_settings().n_jobs`` (0 = all cores).

    Returns
    -------
    ScoredChunk

    Raises
    ------
    ColumnMismatchError
        A column the task needs is missing or duplicated (key, time, ``market``, a
        model feature), or the time column is not UTC-aware timestamps. These are
        problems of the whole frame (a wrong feature set), not of rows.
    ScoringError
        A FeatureSet of another task than the model's.
    ConfigError
        Invalid ``top_k``, ``max_unseen_features``, ``reasons_above`` or ``scored_at``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.training.lgbm import fit_lightgbm
    >>> from govml.model import GovmlModel
    >>> from govml.scoring import score_frame
    >>> rng = np.random.default_rng(0)
    >>> n = 600
    >>> df = pd.DataFrame({"report_rate": rng.gamma(1.0, 1.0, n),
    ...                    "market": rng.choice(["ID", "TH"], n)})
    >>> df["y"] = (rng.random(n) < 1 / (1 + np.exp(3 - 2 * df["report_rate"]))).astype(int)
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["report_rate", "market"], label="y",
    ...                    categorical=["market"], num_threads=1,
    ...                    params={"min_data_in_leaf": 20, "num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.5})
    >>> frame = df.assign(session_id=[f"s{i}" for i in range(n)],
    ...                   ended_at=pd.Timestamp("2026-01-02T10:00", tz="UTC"))
    >>> frame.loc[3, "market"] = "KR"  # a market the model never saw
    >>> out = score_frame(model, frame, scored_at="2026-01-03", num_threads=1)
    >>> out.n_scored, out.n_quarantined, out.quarantined["reason_code"].tolist()
    (599, 1, ['unseen_category'])
    >>> row = out.scored.loc[out.scored["score"].idxmax()]
    >>> row["tier"], row["reasons"][0]["code"]
    ('review', 'VR')
    """
    from govml._config import get_settings
    from govml.features.featureset import FeatureSet

    task = model.metadata.task
    meta = model.metadata
    when = parse_scored_at(scored_at)
    check_options(top_k, max_unseen_features, reasons_above)
    if isinstance(features, FeatureSet):
        if features.task != task:
            raise ScoringError(
                f"the feature set is for task {features.task!r} but the model "
                f"{meta.name!r} scores {task!r}; build the features of the model's task"
            )
        features = features.frame
    if not isinstance(features, pd.DataFrame):
        raise ColumnMismatchError(
            f"scoring input: expected a pandas DataFrame (or FeatureSet) of features, got "
            f"{type(features).__name__}"
        )
    key, time_col = TASK_COLUMNS[task]
    needed = [key, time_col, _MARKET, *meta.feature_names]
    missing = [c for c in dict.fromkeys(needed) if c not in features.columns]
    if missing:
        raise ColumnMismatchError(
            f"scoring input lacks column(s) {missing}; a {task} frame needs {key!r} (entity "
            f"id), {time_col!r} (prediction time), 'market' and the model's "
            f"{len(meta.feature_names)} features, by name in any order: build it with "
            f"govml.features.build_features(tables, {task!r})"
        )
    dup = sorted({str(c) for c in features.columns[features.columns.duplicated()]})
    if dup:
        raise ColumnMismatchError(
            f"scoring input has column(s) {dup} more than once; columns are matched by "
            "name, so each name must be unique"
        )
    n = len(features)
    entity = _text_column(features[key])
    if key == _CREATOR:
        creator = entity
    elif _CREATOR in features.columns:
        creator = _text_column(features[_CREATOR])
    else:
        creator = pd.Series(np.nan, index=range(n), dtype="str")
    market = _text_column(features[_MARKET])
    times = _utc_times(features[time_col], time_col).reset_index(drop=True)

    # ---- row problems, in QUARANTINE_REASONS order
    problems: dict[str, np.ndarray] = {}
    details: dict[str, Any] = {}
    problems["missing_key"] = _missing_text(entity)
    if pd.Index(entity).is_unique:
        dup_rows = np.zeros(n, dtype=bool)
    else:
        dup_rows = entity.duplicated(keep=False).to_numpy() & ~problems["missing_key"]
    problems["duplicate_key"] = dup_rows
    problems["missing_time"] = times.isna().to_numpy()
    problems["missing_market"] = _missing_text(market)
    replacements: dict[str, pd.Series] = {}
    invalid = np.zeros(n, dtype=bool)
    invalid_cols: list[tuple[str, np.ndarray]] = []
    for spec in meta.features:
        if spec.kind != "numeric":
            continue
        clean, bad = _numeric_column(features[spec.name])
        if clean is not features[spec.name]:
            replacements[spec.name] = clean
        if bad.any():
            invalid |= bad
            invalid_cols.append((spec.name, bad))
    frame = features.assign(**replacements) if replacements else features
    history = np.zeros(n, dtype=bool)
    if HISTORY_COLUMN in frame.columns:
        tenure, bad = _numeric_column(frame[HISTORY_COLUMN])
        tenure = tenure.to_numpy(dtype=np.float64, na_value=np.nan)
        history = (np.isnan(tenure) | (tenure < 0)) & ~bad
    before = invalid | history
    for code in ("missing_key", "duplicate_key", "missing_time", "missing_market"):
        before |= problems[code]

    # ---- prepare, check and predict in row blocks (cache-sized matrices, bounded memory)
    threads = get_settings().n_jobs if num_threads is None else int(num_threads)
    names = meta.feature_names
    categorical = [(j, s) for j, s in enumerate(meta.features) if s.kind == "categorical"]
    raw_all = np.full(n, np.nan)
    infinite = np.zeros(n, dtype=bool)
    infinite_values: dict[int, list[tuple[str, float]]] = {}
    unseen_count = np.zeros(n, dtype=np.int64)
    unseen_cols: dict[str, np.ndarray] = {}
    for start in range(0, max(n, 1), _BLOCK_ROWS):
        stop = min(n, start + _BLOCK_ROWS)
        prepared = model.prepare(frame.iloc[start:stop])
        x = prepared.to_numpy()
        inf_rows = np.isinf(x).any(axis=1)
        for r in np.flatnonzero(inf_rows):
            cols = np.flatnonzero(np.isinf(x[r]))
            infinite_values[start + int(r)] = [(names[j], float(x[r, j])) for j in cols]
        infinite[start:stop] = inf_rows
        if prepared.n_unseen_rows:
            for j, spec in categorical:
                mask = x[:, j] == len(spec.levels)
                if mask.any():
                    unseen_count[start:stop] += mask
                    unseen_cols.setdefault(spec.name, np.zeros(n, dtype=bool))[start:stop] = mask
        ok = ~(before[start:stop] | inf_rows | (unseen_count[start:stop] > max_unseen_features))
        if ok.any():
            rows = x if ok.all() else x[ok]
            raw_all[start:stop][ok] = model.booster.predict(
                rows, raw_score=True, num_threads=threads
            )
    problems["invalid_value"] = invalid | infinite
    details["invalid_value"] = (invalid_cols, infinite_values)
    problems["missing_history"] = history
    problems["unseen_category"] = unseen_count > max_unseen_features
    unseen_masks = list(unseen_cols.items())

    bad_rows = np.zeros(n, dtype=bool)
    for mask in problems.values():
        bad_rows |= mask
    keep = np.flatnonzero(~bad_rows)
    version = str(model_version) if model_version is not None else meta.version
    raw = raw_all if len(keep) == n else raw_all[keep]
    probability = meta.calibration.apply(raw) if len(raw) else np.empty(0)
    tier = _tiers(model, probability)
    cut = (
        float(reasons_above)
        if reasons_above is not None
        else (min(meta.thresholds.values()) if meta.thresholds else None)
    )
    explain_pos = (
        np.flatnonzero(probability >= cut)
        if cut is not None and top_k > 0
        else np.empty(0, dtype=np.int64)
    )
    if len(explain_pos):
        from govml.explain import explain, reason_codes

        rows = frame.iloc[keep[explain_pos]]
        contributions = explain(model, rows, unseen="allow", num_threads=threads)
        codes = reason_codes(contributions, k=int(top_k))
        reasons = _reason_lists(len(keep), explain_pos, codes, int(top_k))
    else:
        reasons = _empty_reasons(len(keep))
    everything = len(keep) == n
    kept_times = times if everything else times.iloc[keep]

    def kept(column: pd.Series) -> pd.Series:
        return column if everything else column.iloc[keep].reset_index(drop=True)

    scored = pd.DataFrame(
        {
            "task": pd.Series(task, index=range(len(keep)), dtype="str"),
            "entity_id": kept(entity),
            "creator_id": kept(creator),
            "market": kept(market),
            "date": _day_strings(kept_times),
            "prediction_time": kept_times.reset_index(drop=True),
            "score": probability,
            "raw_score": raw,
            "tier": tier,
            "unseen_category": unseen_count[keep] > 0,
            "reasons": reasons,
            "model_name": pd.Series(meta.name, index=range(len(keep)), dtype="str"),
            "model_version": pd.Series(version, index=range(len(keep)), dtype="str"),
            "scored_at": pd.Series(when, index=range(len(keep)), dtype="datetime64[us, UTC]"),
        }
    )
    quarantined = _quarantine_frame(
        np.flatnonzero(bad_rows),
        problems,
        details,
        unseen_masks,
        features,
        frame,
        task=task,
        entity=entity,
        creator=creator,
        market=market,
        times=times,
        name=meta.name,
        version=version,
        when=when,
    )
    return ScoredChunk(scored=scored, quarantined=quarantined, n_input=n)


def parse_scored_at(value: Any) -> pd.Timestamp:
    """The ``scored_at`` argument as a timestamp (:func:`parse_timestamp`); a bad value
    is a :class:`ConfigError` (internal API, shared with :mod:`govml.spark`).

    Examples
    --------
    >>> from govml.scoring import parse_scored_at
    >>> parse_scored_at("2025-09-03T06:00")
    Timestamp('2025-09-03 06:00:00+0000', tz='UTC')
    >>> parse_scored_at(None)
    Traceback (most recent call last):
    ...
    govml._exceptions.ConfigError: scored_at=None is not a timestamp; write e.g. 2026-01-31T00:00Z
    """
    try:
        return parse_timestamp(value, "scored_at")
    except ScoringError as exc:
        raise ConfigError(str(exc)) from None


def _show(value: Any) -> str:
    """A value as plain Python repr (numpy scalars as their Python value)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _quarantine_frame(
    positions: np.ndarray,
    problems: Mapping[str, np.ndarray],
    details: Mapping[str, Any],
    unseen_masks: Sequence[tuple[str, np.ndarray]],
    original: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    task: str,
    entity: pd.Series,
    creator: pd.Series,
    market: pd.Series,
    times: pd.Series,
    name: str,
    version: str,
    when: pd.Timestamp,
) -> pd.DataFrame:
    """The quarantine rows of ``positions``: first reason code, every problem as text."""
    codes: list[str] = []
    texts: list[str] = []
    invalid_cols, infinite_values = details.get("invalid_value", ([], {}))
    for r in positions:
        found = [code for code, mask in problems.items() if mask[r]]
        parts = []
        for code in found:
            if code == "invalid_value":
                what = [
                    f"{c!r} = {_show(original[c].iloc[r])} (not a number)"
                    for c, m in invalid_cols
                    if m[r]
                ]
                what += [f"{c!r} = {v}" for c, v in infinite_values.get(int(r), [])]
                parts.append(f"invalid_value: {', '.join(what)}")
            elif code == "unseen_category":
                what = [f"{c}={frame[c].iloc[r]!s}" for c, m in unseen_masks if m[r]]
                parts.append(f"unseen_category: {', '.join(what)} never seen in training")
            elif code == "missing_history":
                value = frame[HISTORY_COLUMN].iloc[r]
                parts.append(f"missing_history: {HISTORY_COLUMN}={_show(value)}")
            else:
                parts.append(f"{code}: {QUARANTINE_REASONS[code]}")
        codes.append(found[0])
        texts.append("; ".join(parts))
    m = len(positions)
    return pd.DataFrame(
        {
            "task": pd.Series(task, index=range(m), dtype="str"),
            "entity_id": entity.iloc[positions].reset_index(drop=True),
            "creator_id": creator.iloc[positions].reset_index(drop=True),
            "market": market.iloc[positions].reset_index(drop=True),
            "prediction_time": times.iloc[positions].reset_index(drop=True),
            "reason_code": pd.Series(codes, index=range(m), dtype="str"),
            "reason": pd.Series(texts, index=range(m), dtype="str"),
            "model_name": pd.Series(name, index=range(m), dtype="str"),
            "model_version": pd.Series(version, index=range(m), dtype="str"),
            "scored_at": pd.Series(when, index=range(m), dtype="datetime64[us, UTC]"),
        }
    )


# =========================================================================== the job

#: Rows built and scored at a time by :func:`score_batch` (about; one creator is never split).
CHUNK_ROWS = 250_000


@dataclass(frozen=True)
class ResolvedModel:
    """A model with the identity batch scoring records.

    Attributes
    ----------
    model : GovmlModel
    name : str
        Model (registry) name.
    version : str
        Registry version when the model was resolved from ``models:/``, else the
        model's own version label.
    uri : str or None
        Where it came from, pinned: ``models:/<name>/<version>`` for registry URIs
        (aliases are resolved once, so a resumed job cannot switch models), the folder
        or URI given otherwise, None for an in-memory model.
    sha256 : str
        Hash of the booster text and the metadata: identifies the model exactly.

    Examples
    --------
    :func:`resolve_model` returns one; the hash is the same wherever the model comes from:

    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.scoring import resolve_model
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y", num_boost_round=5,
    ...                    num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo", version="2")
    >>> resolved = resolve_model(model)  # in memory: no uri
    >>> resolved.name, resolved.version, resolved.uri, len(resolved.sha256)
    ('demo', '2', None, 64)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     from_folder = resolve_model(model.save(f"{tmp}/model"))
    ...     uri_is_folder = from_folder.uri.endswith("model")
    >>> from_folder.sha256 == resolved.sha256, uri_is_folder
    (True, True)
    """

    model: GovmlModel
    name: str
    version: str
    uri: str | None
    sha256: str


def _model_hash(model: GovmlModel) -> str:
    digest = hashlib.sha256(model.booster.model_to_string().encode("utf-8"))
    meta = json.dumps(model.metadata.to_dict(), sort_keys=True, default=str)
    digest.update(meta.encode("utf-8"))
    return digest.hexdigest()


def resolve_model(
    model: GovmlModel | ResolvedModel | str | os.PathLike[str],
    *,
    tracking: TrackingConfig | None = None,
) -> ResolvedModel:
    """Load a model for scoring and pin its identity (name, version, hash).

    Parameters
    ----------
    model : GovmlModel, ResolvedModel, str or path-like
        A model object, a local model folder (plain or MLflow), or any URI
        :func:`govml.tracking.load_model` reads: ``models:/<name>@<alias>`` (e.g.
        ``models:/govml-low_quality@champion``), ``models:/<name>/<version>``,
        ``runs:/<run_id>/model``. Registry URIs are resolved to their version number
        first, so the version written to every row is the registry's.
    tracking : TrackingConfig, optional
        Store resolving ``models:/`` and ``runs:/`` URIs (default: the configured one).

    Returns
    -------
    ResolvedModel

    Raises
    ------
    TrackingError
        Unknown registered model, version, alias or run, or a path that does not exist.
    ModelFormatError
        The files are not a valid govml model.
    ScoringError
        ``model`` is of another type.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.scoring import resolve_model
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y", num_boost_round=5,
    ...                    num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     resolved = resolve_model(model.save(f"{tmp}/model"))  # a model folder
    >>> resolved.name, resolved.version, resolved.sha256 == resolve_model(model).sha256
    ('demo', '1', True)
    >>> resolve_model(42)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: model=42 is not a model; pass a GovmlModel, a model folder ...
    """
    from govml import tracking as tr
    from govml.model import GovmlModel

    if isinstance(model, ResolvedModel):
        return model
    if isinstance(model, GovmlModel):
        meta = model.metadata
        return ResolvedModel(model, meta.name, meta.version, None, _model_hash(model))
    if not isinstance(model, str | os.PathLike):
        raise ScoringError(
            f"model={model!r} is not a model; pass a GovmlModel, a model folder or a URI such "
            "as models:/govml-low_quality@champion"
        )
    text = os.fspath(model)
    version: str | None = None
    uri = text
    if text.startswith("models:"):
        path = text[len("models:") :].lstrip("/")
        name, alias = path.rsplit("@", 1) if "@" in path else (path, None)
        if alias is not None or "/" in path:
            ref = f"@{alias}" if alias is not None else path.rsplit("/", 1)[1]
            name = name if alias is not None else path.rsplit("/", 1)[0]
            info = tr.get_version(name, ref, tracking=tracking)
            uri, version = info.model_uri, str(info.version)
    elif "://" not in text and ":/" not in text:
        uri = str(Path(text).resolve())
    loaded = tr.load_model(uri, tracking=tracking)
    meta = loaded.metadata
    return ResolvedModel(
        loaded,
        meta.name,
        version if version is not None else meta.version,
        uri,
        _model_hash(loaded),
    )


# --------------------------------------------------------------------------- inputs


def _input_fingerprint(tables: Tables, as_of: pd.Timestamp) -> str:
    """SHA-256 over every table's rows known strictly before ``as_of`` (all that the
    features of the job can see), with column names and dtypes."""
    from govml.schema import CONTRACT

    digest = hashlib.sha256()
    for name, spec in CONTRACT.items():
        frame = tables[name]
        if spec.known_at in frame.columns and len(frame):
            known = (frame[spec.known_at] < as_of).to_numpy(dtype=bool, na_value=False)
            frame = frame if known.all() else frame.loc[known]
        cols = sorted(map(str, frame.columns))
        header = [name, len(frame), [[c, str(frame[c].dtype)] for c in cols]]
        digest.update(json.dumps(header).encode("utf-8"))
        if len(frame) and cols:
            hashed = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
            digest.update(hashed.astype("<u8").tobytes())
    return digest.hexdigest()


def _load_tables(tables: Any) -> Tables:
    from govml.schema import Tables, load_tables

    if isinstance(tables, Tables):
        return tables
    if isinstance(tables, str | os.PathLike):
        return load_tables(tables)
    raise ScoringError(
        f"tables={type(tables).__name__} is not tables; pass govml.schema.Tables or the "
        "folder holding the six tables"
    )


@dataclass(frozen=True)
class _Input:
    """The rows of a job: entity ids (in input order) and how to build their features."""

    ids: pd.Index
    window_start: pd.Timestamp | None
    snapshots: pd.DataFrame | None


def _job_input(
    tables: Tables,
    task: str,
    as_of: pd.Timestamp,
    since: pd.Timestamp | None,
    active_within: str,
) -> _Input:
    sessions = tables.sessions
    ended = sessions["ended_at"]
    first, last = ended.min(), ended.max()
    if task == "low_quality":
        start = since if since is not None else as_of - pd.Timedelta(days=1)
        if start >= as_of:
            raise ScoringError(f"since={start} is not before as_of={as_of}; since must come first")
        keep = ((ended >= start) & (ended < as_of)).to_numpy(dtype=bool, na_value=False)
        if not keep.any():
            raise ScoringError(
                f"no session ended in [{start}, {as_of}); the sessions table covers {first} to "
                f"{last}: pick an --as-of inside the data (or widen the window with --since)"
            )
        ids = pd.Index(sessions.loc[keep, "session_id"].astype("str"), name="entity_id")
        return _Input(ids=ids, window_start=start, snapshots=None)
    from govml.features.labels import creator_snapshots

    if since is not None:
        raise ScoringError(
            "since applies to the low_quality task only; adversarial scoring takes one "
            "snapshot per active creator at --as-of (run one job per day to backfill)"
        )
    if as_of != as_of.normalize():
        raise ScoringError(
            f"as_of={as_of} is not midnight UTC; adversarial snapshots are daily at midnight "
            f"UTC, as in training: use e.g. {as_of.normalize().date()}"
        )
    try:
        snaps = creator_snapshots(
            tables,
            start=as_of,
            end=as_of + pd.Timedelta(microseconds=1),
            active_within=active_within,
        )
    except LabelError as exc:  # e.g. a bad active_within
        raise ScoringError(f"cannot take creator snapshots at {as_of}: {exc}") from None
    if snaps.empty:
        raise ScoringError(
            f"no creator was active within {active_within} before {as_of}; the sessions table "
            f"covers {first} to {last}: pick an --as-of inside the data"
        )
    snaps = snaps[["creator_id", "snapshot_at"]].reset_index(drop=True)
    ids = pd.Index(snaps["creator_id"].astype("str"), name="entity_id")
    return _Input(ids=ids, window_start=None, snapshots=snaps)


def _feature_chunks(
    tables: Tables, task: str, job: _Input, remaining: np.ndarray, chunk_rows: int
) -> Iterator[FeatureSet]:
    from govml.features import iter_creator_features, iter_session_features

    if task == "low_quality":
        yield from iter_session_features(
            tables, session_ids=job.ids[remaining], chunk_rows=chunk_rows
        )
    else:
        assert job.snapshots is not None
        yield from iter_creator_features(
            tables, job.snapshots.iloc[np.flatnonzero(remaining)], chunk_rows=chunk_rows
        )


def score_batch(
    model: GovmlModel | ResolvedModel | str | os.PathLike[str],
    tables: Tables | str | os.PathLike[str],
    *,
    as_of: pd.Timestamp | str,
    out: str | os.PathLike[str],
    task: str | None = None,
    since: pd.Timestamp | str | None = None,
    active_within: str = "30D",
    top_k: int = 3,
    reasons_above: float | None = None,
    max_unseen_features: int = 0,
    chunk_rows: int = CHUNK_ROWS,
    scored_at: pd.Timestamp | str | None = None,
    overwrite: bool = False,
    num_threads: int | None = None,
    tracking: TrackingConfig | None = None,
    progress: Any = None,
) -> ScoreSummary:
    """Score a task's rows as of a time into partitioned parquet: chunked, atomic,
    resumable and accounted.

    Builds the task's point-in-time features as of ``as_of`` in chunks of creators
    (the training code: :func:`~govml.features.iter_session_features` /
    :func:`~govml.features.iter_creator_features`), scores every chunk with
    :func:`score_frame` and writes it atomically (see the module docstring for the
    files and the output schema). Memory is the tables plus one chunk. Killed at any
    moment and re-run with the same arguments, the job finishes with every input row
    written exactly once (scored or quarantined); the check is done before
    ``_SUCCESS`` is written.

    Parameters
    ----------
    model : GovmlModel, ResolvedModel, str or path-like
        The model, a model folder or a URI such as
        ``models:/govml-low_quality@champion`` (see :func:`resolve_model`).
    tables : Tables, str or path-like
        The six tables, or the folder to load (and validate) them from.
    as_of : timestamp
        The scoring time (naive means UTC). low_quality scores the sessions that ended
        in ``[as_of - 1 day, as_of)``; adversarial one snapshot at ``as_of`` (midnight
        UTC) per creator active within ``active_within`` before it.
    out : path-like
        Output folder: new or empty, or holding this same job (finished: nothing is
        done; interrupted: it is resumed).
    task : {"low_quality", "adversarial"}, optional
        Checked against the model's task when given.
    since : timestamp, optional
        low_quality only: widen the window to ``[since, as_of)``.
    active_within : str, default "30D"
        adversarial only: how recent a creator's last session must be.
    top_k, reasons_above, max_unseen_features
        As in :func:`score_frame`.
    chunk_rows : int, default 250_000
        About how many rows to build and score at a time (memory; never changes a
        score, and a resumed job may use another value).
    scored_at : timestamp, optional
        The ``scored_at`` of every row. Default: when the job first started (a resumed
        job keeps its first value).
    overwrite : bool, default False
        Replace a folder that holds a different scoring job.
    num_threads : int, optional
        LightGBM threads (default ``get_settings().n_jobs``).
    tracking : TrackingConfig, optional
        Store resolving ``models:/`` URIs.
    progress : callable, optional
        Called with one progress message per step.

    Returns
    -------
    ScoreSummary

    Raises
    ------
    ScoringError
        The model's task is not ``task``; no row to score at ``as_of``; ``since`` not
        before ``as_of`` or given for adversarial; a non-midnight adversarial
        ``as_of``; ``out`` holds something else, another job (without
        ``overwrite``), or is being written by a live job; the output was damaged.
    ConfigError
        Invalid ``top_k``, ``max_unseen_features``, ``reasons_above`` or ``chunk_rows``.
    TrackingError, ModelFormatError, DataLoadError, ContractError
        The model or tables cannot be loaded.

    Examples
    --------
    >>> import tempfile, govml
    >>> from govml.features import build_features
    >>> from govml.model import GovmlModel
    >>> from govml.scoring import score_batch
    >>> from govml.training.lgbm import fit_lightgbm
    >>> world = govml.simulate(n_creators=60, n_days=20, seed=1)  # sessions 2025-08-15..09-03
    >>> sessions = build_features(world.tables, "low_quality").frame.merge(
    ...     world.truth.sessions[["session_id", "is_low_quality"]], on="session_id")
    >>> fit = fit_lightgbm(sessions[:300], sessions[300:], features=["report_rate", "market"],
    ...                    label="is_low_quality", categorical=["market"], num_boost_round=20,
    ...                    num_threads=1, params={"num_leaves": 7, "min_data_in_leaf": 10})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.3})
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the output
    >>> out = f"{work.name}/scores"
    >>> summary = score_batch(model, world.tables, as_of="2025-09-03", out=out,
    ...                       scored_at="2025-09-03T06:00", num_threads=1)
    >>> summary.status, summary.n_scored + summary.n_quarantined == summary.n_input
    ('completed', True)
    >>> sorted(p.name for p in summary.out.iterdir())  # doctest: +ELLIPSIS
    ['_SUCCESS', '_chunks', '_job.json', ..., 'market=...']
    >>> again = score_batch(model, world.tables, as_of="2025-09-03", out=out,
    ...                     scored_at="2025-09-03T06:00", num_threads=1)
    >>> again.status, again.n_scored == summary.n_scored  # a finished job is not redone
    ('already_complete', True)
    >>> score_batch(model, world.tables, as_of="2025-09-03", out=out, top_k=2)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: ... with different arguments (top_k: 3 vs now 2); pass ...
    >>> work.cleanup()
    """
    say = progress if progress is not None else (lambda message: None)
    check_options(top_k, max_unseen_features, reasons_above)
    if (
        isinstance(chunk_rows, bool)
        or not isinstance(chunk_rows, int | np.integer)
        or chunk_rows < 1
    ):
        raise ConfigError(
            f"chunk_rows={chunk_rows!r}; expected a positive whole number of rows per chunk "
            f"(default {CHUNK_ROWS:,})"
        )
    when = parse_timestamp(as_of, "as_of")
    start = parse_timestamp(since, "since") if since is not None else None
    explicit_scored_at = scored_at is not None
    stamp = (
        parse_scored_at(scored_at) if explicit_scored_at else pd.Timestamp.now(tz="UTC").floor("us")
    )
    resolved = resolve_model(model, tracking=tracking)
    model_task = resolved.model.metadata.task
    if task is not None and task != model_task:
        raise ScoringError(
            f"--task is {task!r} but model {resolved.name!r} (version {resolved.version}) was "
            f"trained for {model_task!r}; pass that model's task or a {task} model"
        )
    task = model_task
    tables = _load_tables(tables)
    job = _job_input(tables, task, when, start, active_within)
    say(f"{task}: {len(job.ids):,} rows to score as of {when}")
    out_dir = Path(out)
    spec = jf.job_spec(
        task=task,
        model=resolved,
        as_of=when,
        window_start=job.window_start,
        active_within=active_within,
        top_k=top_k,
        reasons_above=reasons_above,
        max_unseen_features=max_unseen_features,
        input_rows=len(job.ids),
        input_fingerprint=_input_fingerprint(tables, when),
        scored_at=stamp,
    )
    stored = jf.check_out(out_dir, spec, explicit_scored_at=explicit_scored_at, overwrite=overwrite)
    if jf.is_finished(out_dir, stored):
        summary = jf.summarize(
            out_dir, stored, jf.read_records(out_dir), status="already_complete", reused=0
        )
        say(f"{out_dir} already holds this finished job; nothing to do")
        return summary
    with jf.open_job(out_dir, spec, stored, progress=say) as opened:
        if not opened.resumed:
            jf.crash_point("job_written")
        records = opened.records
        done = jf.written_ids(out_dir, jf.chunk_files(records))
        remaining = ~job.ids.isin(done)
        next_chunk = max(records, default=-1) + 1
        stamp = pd.Timestamp(opened.spec["scored_at"])
        if remaining.any():
            for fs in _feature_chunks(tables, task, job, remaining, int(chunk_rows)):
                result = score_frame(
                    resolved.model,
                    fs,
                    scored_at=stamp,
                    top_k=top_k,
                    reasons_above=reasons_above,
                    max_unseen_features=max_unseen_features,
                    model_version=resolved.version,
                    num_threads=num_threads,
                )
                records[next_chunk] = jf.write_chunk(out_dir, next_chunk, result)
                say(
                    f"chunk {next_chunk}: {result.n_input:,} rows, {result.n_scored:,} scored, "
                    f"{result.n_quarantined:,} quarantined"
                )
                next_chunk += 1
        jf.check_accounting(out_dir, job.ids, records)
        summary = opened.summary()
        jf.crash_point("before_success")
        jf.write_success(out_dir, opened.spec, summary, records, output_columns=OUTPUT_SCHEMA.names)
    return summary


# --------------------------------------------------------------------------- reading


def read_manifest(out: str | os.PathLike[str]) -> ScoreSummary:
    """The summary of a finished job, from its ``_SUCCESS`` manifest.

    Raises
    ------
    ScoringError
        The folder holds no finished job.

    Examples
    --------
    >>> import tempfile, govml
    >>> from govml.features import build_features
    >>> from govml.model import GovmlModel
    >>> from govml.scoring import score_batch
    >>> from govml.training.lgbm import fit_lightgbm
    >>> world = govml.simulate(n_creators=60, n_days=20, seed=1)  # sessions 2025-08-15..09-03
    >>> sessions = build_features(world.tables, "low_quality").frame.merge(
    ...     world.truth.sessions[["session_id", "is_low_quality"]], on="session_id")
    >>> fit = fit_lightgbm(sessions[:300], sessions[300:], features=["report_rate", "market"],
    ...                    label="is_low_quality", categorical=["market"], num_boost_round=20,
    ...                    num_threads=1, params={"num_leaves": 7, "min_data_in_leaf": 10})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.3})
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the output
    >>> out = f"{work.name}/scores"
    >>> summary = score_batch(model, world.tables, as_of="2025-09-03", out=out,
    ...                       scored_at="2025-09-03T06:00", num_threads=1)
    >>> from govml.scoring import read_manifest
    >>> read_manifest(out) == summary  # the job's summary, read back from OUT/_SUCCESS
    True
    >>> read_manifest(work.name)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: ... holds no finished scoring job (_SUCCESS is missing): ...
    >>> work.cleanup()
    """
    out = Path(out)
    manifest = jf.read_success(out)
    records = {int(r["chunk"]): r for r in manifest["chunks"]}
    return jf.summarize(out, manifest, records, status="completed", reused=0)


def _arrow_types(dtype: pa.DataType) -> Any:
    if pa.types.is_list(dtype):
        return pd.ArrowDtype(dtype)
    return None


def read_scores(out: str | os.PathLike[str], *, quarantine: bool = False) -> pd.DataFrame:
    """Read a finished job's scored rows (or its quarantine) as one DataFrame.

    Reads exactly the files the manifest lists, with the partition columns restored,
    in :data:`OUTPUT_SCHEMA` (or :data:`QUARANTINE_SCHEMA`) column order and dtypes, as
    :func:`score_frame` returns them; rows in chunk, then file order.

    Parameters
    ----------
    out : path-like
        The job's output folder.
    quarantine : bool, default False
        Read the quarantined rows instead.

    Returns
    -------
    DataFrame

    Raises
    ------
    ScoringError
        The folder holds no finished job.

    Examples
    --------
    >>> import tempfile, govml
    >>> from govml.features import build_features
    >>> from govml.model import GovmlModel
    >>> from govml.scoring import score_batch
    >>> from govml.training.lgbm import fit_lightgbm
    >>> world = govml.simulate(n_creators=60, n_days=20, seed=1)  # sessions 2025-08-15..09-03
    >>> sessions = build_features(world.tables, "low_quality").frame.merge(
    ...     world.truth.sessions[["session_id", "is_low_quality"]], on="session_id")
    >>> fit = fit_lightgbm(sessions[:300], sessions[300:], features=["report_rate", "market"],
    ...                    label="is_low_quality", categorical=["market"], num_boost_round=20,
    ...                    num_threads=1, params={"num_leaves": 7, "min_data_in_leaf": 10})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.3})
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the output
    >>> out = f"{work.name}/scores"
    >>> summary = score_batch(model, world.tables, as_of="2025-09-03", out=out,
    ...                       scored_at="2025-09-03T06:00", num_threads=1)
    >>> from govml.scoring import OUTPUT_SCHEMA, read_scores
    >>> scores = read_scores(out)
    >>> scores.columns.tolist() == OUTPUT_SCHEMA.names, len(scores) == summary.n_scored
    (True, True)
    >>> bool(scores["entity_id"].is_unique), str(scores["prediction_time"].dtype)
    (True, 'datetime64[us, UTC]')
    >>> read_scores(out, quarantine=True).columns.tolist()[-5:]
    ['reason_code', 'reason', 'model_name', 'model_version', 'scored_at']
    >>> work.cleanup()
    """
    from urllib.parse import unquote

    import pyarrow.parquet as pq

    out = Path(out)
    manifest = jf.read_success(out)
    schema = QUARANTINE_SCHEMA if quarantine else OUTPUT_SCHEMA
    tables = []
    for record in manifest["chunks"]:
        for rel in record["files"]:
            if rel.startswith(jf.QUARANTINE) != quarantine:
                continue
            table = pq.read_table(out / rel)
            if not quarantine:
                parts = dict(p.split("=", 1) for p in rel.split("/")[:-1])
                for name in jf.PARTITIONS:
                    value = pa.array([unquote(parts[name])] * table.num_rows, pa.string())
                    table = table.append_column(name, value)
            tables.append(table.select(schema.names).cast(schema))
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    frame = table.to_pandas(types_mapper=_arrow_types)
    for f in schema:
        if pa.types.is_timestamp(f.type):
            frame[f.name] = frame[f.name].astype("datetime64[us, UTC]")
        elif pa.types.is_string(f.type):
            frame[f.name] = frame[f.name].astype("str")
    return frame
