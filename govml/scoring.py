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

Examples
--------
>>> from govml.scoring import OUTPUT_SCHEMA, QUARANTINE_REASONS
>>> OUTPUT_SCHEMA.names[:6]
['task', 'entity_id', 'creator_id', 'market', 'date', 'prediction_time']
>>> list(QUARANTINE_REASONS)[:3]
['missing_key', 'duplicate_key', 'missing_time']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from govml._exceptions import ColumnMismatchError, ConfigError, ScoringError

if TYPE_CHECKING:
    from govml.features.featureset import FeatureSet
    from govml.model import GovmlModel

__all__ = [
    "OUTPUT_SCHEMA",
    "QUARANTINE_SCHEMA",
    "REASON_TYPE",
    "QUARANTINE_REASONS",
    "TASK_COLUMNS",
    "HISTORY_COLUMN",
    "ScoredChunk",
    "score_frame",
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
_PARTITIONS = ("market", "date")

# --------------------------------------------------------------------------- helpers


def _sample(values: Sequence[Any], k: int = 3) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:k])
    return shown + (f", ... ({len(values)} in all)" if len(values) > k else "")


def _timestamp(value: Any, name: str) -> pd.Timestamp:
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


def _text_column(series: pd.Series) -> pd.Series:
    """Any column as pandas' string dtype (missing stays missing)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object).where(series.notna(), None)
    return series.astype("str")


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
        """Rows scored."""
        return len(self.scored)

    @property
    def n_quarantined(self) -> int:
        """Rows quarantined."""
        return len(self.quarantined)

    def to_arrow(self) -> tuple[pa.Table, pa.Table]:
        """``(scored, quarantined)`` as pyarrow tables with exactly the two schemas."""
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


def _day_strings(times: pd.Series) -> np.ndarray:
    """``YYYY-MM-DD`` (UTC) per timestamp, formatting each distinct day once."""
    days = times.dt.tz_convert(None).to_numpy().astype("datetime64[D]")
    codes, uniques = pd.factorize(days)
    text = np.array([str(d) for d in uniques.astype("datetime64[D]")], dtype=object)
    return text[codes] if len(codes) else np.empty(0, dtype=object)


def _check_options(top_k: Any, max_unseen_features: Any, reasons_above: Any) -> None:
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
    when = _scored_at(scored_at)
    _check_options(top_k, max_unseen_features, reasons_above)
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
    index = features.index
    entity = _text_column(features[key])
    if key == _CREATOR:
        creator = entity
    elif _CREATOR in features.columns:
        creator = _text_column(features[_CREATOR])
    else:
        creator = pd.Series(np.nan, index=index, dtype="str")
    market = _text_column(features[_MARKET])
    times = _utc_times(features[time_col], time_col)

    # ---- row problems, in QUARANTINE_REASONS order
    problems: dict[str, np.ndarray] = {}
    details: dict[str, Any] = {}
    problems["missing_key"] = _missing_text(entity)
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
    prepared = model.prepare(frame)
    x = prepared.to_numpy()
    infinite = np.isinf(x).any(axis=1) if n else np.zeros(0, dtype=bool)
    problems["invalid_value"] = invalid | infinite
    details["invalid_value"] = (invalid_cols, infinite, x)
    history = np.zeros(n, dtype=bool)
    if HISTORY_COLUMN in frame.columns:
        tenure, bad = _numeric_column(frame[HISTORY_COLUMN])
        tenure = tenure.to_numpy(dtype=np.float64, na_value=np.nan)
        history = (np.isnan(tenure) | (tenure < 0)) & ~bad
    problems["missing_history"] = history
    unseen_count = np.zeros(n, dtype=np.int64)
    unseen_masks: list[tuple[str, np.ndarray]] = []
    for j, spec in enumerate(meta.features):
        if spec.kind == "categorical" and prepared.unseen.get(spec.name, 0):
            mask = x[:, j] == len(spec.levels)
            unseen_count += mask
            unseen_masks.append((spec.name, mask))
    problems["unseen_category"] = unseen_count > max_unseen_features

    bad_rows = np.zeros(n, dtype=bool)
    for mask in problems.values():
        bad_rows |= mask
    keep = np.flatnonzero(~bad_rows)
    version = str(model_version) if model_version is not None else meta.version

    # ---- score the clean rows
    threads = get_settings().n_jobs if num_threads is None else int(num_threads)
    x_keep = x if len(keep) == n else x[keep]
    if len(keep):
        raw = np.asarray(
            model.booster.predict(x_keep, raw_score=True, num_threads=threads), dtype=np.float64
        )
    else:
        raw = np.empty(0, dtype=np.float64)
    probability = meta.calibration.apply(raw) if len(raw) else np.empty(0)
    tier = model.tier_of(probability)
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
    kept_times = times.iloc[keep] if len(keep) != n else times
    scored = pd.DataFrame(
        {
            "task": pd.Series(task, index=range(len(keep)), dtype="str"),
            "entity_id": entity.iloc[keep].reset_index(drop=True),
            "creator_id": creator.iloc[keep].reset_index(drop=True),
            "market": market.iloc[keep].reset_index(drop=True),
            "date": pd.Series(_day_strings(kept_times), dtype="str"),
            "prediction_time": kept_times.reset_index(drop=True),
            "score": probability,
            "raw_score": raw,
            "tier": pd.Series(tier, dtype="str"),
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
        prepared,
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


def _scored_at(value: Any) -> pd.Timestamp:
    try:
        return _timestamp(value, "scored_at")
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
    prepared: Any,
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
    invalid_cols, infinite, x = details.get("invalid_value", ([], None, None))
    feature_names = list(prepared.frame.columns)
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
                if infinite is not None and infinite[r]:
                    what += [
                        f"{feature_names[j]!r} = {x[r, j]}" for j in np.flatnonzero(np.isinf(x[r]))
                    ]
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
