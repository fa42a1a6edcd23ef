"""The same point-in-time features and batch scoring on Apache Spark.

When one machine is not enough, govml runs its own pandas feature and scoring code
inside Spark partitions. Nothing is re-implemented in Spark SQL, so every value is the
one the single-machine engine gives (see "Parity" below).

How a job is laid out
---------------------
* **Partitioned by creator.** A creator's features depend only on that creator's rows
  of the six tables. The tables are packed into one narrow frame (a table tag plus
  typed slots; outcomes and reviews are routed to the creator of their session) and
  hash-partitioned by creator id, so each Spark partition holds whole creator histories.
  Inside ``mapInPandas`` a partition is unpacked into :class:`~govml.schema.Tables`,
  validated with :func:`govml.validate_tables` and built with the pandas builders.
* **Market context in its own stage.** The session task compares each session with its
  market's trailing 7-day distribution of other creators' sessions. That context is
  computed first, one whole market per task (the same engine call the pandas build
  makes), and joined to the sessions by ``session_id`` before the creator stage. It is
  six floats per scored session.
* **Broadcast, not partitioned:** the model, as text (LightGBM's model string plus the
  JSON metadata: features, category levels, calibration, thresholds; nothing pickled),
  is a Spark broadcast variable, sent to each executor once and built once per worker.
  The feature and reason catalogue is govml's own code, installed on every executor.

Parity
------
Features and scores equal the pandas engine's **bit for bit** (tests compare with
``==``, not a tolerance): each partition gets exactly the rows the pandas engine uses
for its creators, in the same row order (ties in time are taken in table order, which
the engine documents can move the last bit of a sum), and the feature engine's results
do not depend on how creators are chunked or threaded. Table order is the order of the
parquet files (file path, then row in file) when :func:`read_tables` reads them, the
DataFrame's own order otherwise (``monotonically_increasing_id``), or a ``_govml_row``
column when a DataFrame has one.

Workers and threads
-------------------
:func:`spark_session` points the workers at this Python (``PYSPARK_PYTHON``) and sets
``GOVML_N_JOBS=1`` (LightGBM and the feature engine use one thread per task) plus
``OMP_NUM_THREADS=1`` in the executors: Spark runs one task per core, so threads per
task would oversubscribe the cores. Give tasks more cores with ``spark.task.cpus`` and
``spark.executorEnv.GOVML_N_JOBS`` together.

Validation differs in one way from :func:`govml.load_tables`: rows are checked one
partition of creators at a time, so an id repeated across two creators' partitions is
not reported, and a violation's session (an action's violation) must belong to the
same creator. Run ``govml validate`` once on a new export for the whole-table checks.

pyspark is imported only inside these functions (``pip install "govml[spark]"``).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from govml import _exceptions
from govml._exceptions import (
    ConfigError,
    ContractError,
    DataLoadError,
    FeatureError,
    GovmlError,
)
from govml.schema import CONTRACT, MARKETS, TABLE_NAMES, ColumnMapping, Tables

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from govml.model import GovmlModel


__all__ = [
    "check_spark",
    "SparkTables",
    "spark_session",
    "read_tables",
    "build_features",
    "write_features",
    "WrittenFeatures",
    "SparkScores",
    "score",
    "score_batch",
]

#: Column that orders a table's rows (ties in time are taken in this order).
ROW_COLUMN = "_govml_row"
#: About how many sessions one creator partition holds (sets the default partition count).
PARTITION_SESSIONS = 200_000

_PYSPARK_PANDAS_WARNING = "PySpark does not yet fully support pandas"
# packed frame: each contract kind goes to typed slots s0.., l0.., d0.., b0.., t0..
_SLOT_PREFIX = {"string": "s", "enum": "s", "int": "l", "float": "d", "bool": "b", "timestamp": "t"}
_SLOT_TYPE = {"s": "string", "l": "bigint", "d": "double", "b": "boolean", "t": "bigint"}
_N_Z = 6  # market-relative session metrics (govml.features.session.MARKET_RELATIVE)
_ERROR = re.compile(r"\[govml (\w+)\] (.*?) \[/govml\]", re.S)


# ============================================================================ session


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the Spark engine needs pyspark, which is not installed: pip install "
            "'govml[spark]' (pyspark 4.x and Java 17), or use --engine pandas"
        ) from None


def _require_java() -> None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return
    if shutil.which("java"):
        return
    where = f"JAVA_HOME={home} has no bin/java and " if home else ""
    raise ConfigError(
        f"the Spark engine needs Java 17, but {where}no java is on the PATH: install it "
        "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install "
        "openjdk@17) and set JAVA_HOME, or use --engine pandas"
    )


def check_spark() -> None:
    """Check that the Spark engine can run here: pyspark importable, and Java found
    (unless a SparkSession is already active).

    Raises
    ------
    ConfigError
        With the command that installs what is missing.

    Examples
    --------
    >>> from govml.spark import check_spark
    >>> check_spark()  # silent when pyspark and Java are there
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is None:
        _require_java()


def spark_session(
    *,
    master: str | None = None,
    app_name: str = "govml",
    driver_memory: str = "2g",
    shuffle_partitions: int | None = None,
    config: Mapping[str, str] | None = None,
) -> SparkSession:
    """A SparkSession set up for govml (or the active one, unchanged).

    Workers run this Python (``PYSPARK_PYTHON``, unless already set), one thread per
    task (``GOVML_N_JOBS=1``, ``OMP_NUM_THREADS=1`` in the executors), the UI is off and
    the session time zone is UTC. With a session already active (e.g. under
    ``spark-submit`` or in a notebook) that session is returned as it is.

    Parameters
    ----------
    master : str, optional
        E.g. ``"local[2]"`` or ``"spark://host:7077"``. Default: ``spark.master`` from
        the environment (``spark-submit``, ``spark-defaults.conf``), else ``local[*]``.
    app_name : str
    driver_memory : str
        ``spark.driver.memory`` (only effective when this call starts the JVM).
    shuffle_partitions : int, optional
        ``spark.sql.shuffle.partitions``.
    config : mapping of str to str, optional
        More Spark settings (they win over the defaults above).

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    ConfigError
        pyspark is not installed, or no Java runtime is found (the message says how to
        install them).

    Examples
    --------
    >>> from govml.spark import spark_session
    >>> spark = spark_session(master="local[1]", driver_memory="512m", shuffle_partitions=1)
    >>> spark.conf.get("spark.sql.session.timeZone"), spark.conf.get("spark.ui.enabled")
    ('UTC', 'false')
    >>> spark_session(master="local[4]").sparkContext.master  # the active one, unchanged
    'local[1]'
    >>> spark.stop()
    """
    check_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    settings = {
        "spark.app.name": app_name,
        "spark.driver.memory": driver_memory,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.executorEnv.GOVML_N_JOBS": "1",
        "spark.executorEnv.OMP_NUM_THREADS": "1",
        "spark.executorEnv.PYTHONWARNINGS": f"ignore:{_PYSPARK_PANDAS_WARNING}",
    }
    if master is not None:
        settings["spark.master"] = master
    if shuffle_partitions is not None:
        settings["spark.sql.shuffle.partitions"] = str(int(shuffle_partitions))
    settings.update(config or {})
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    from pyspark import SparkConf

    if master is None and not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    with _quiet():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence pyspark's 'pandas >= 3 not fully supported' FutureWarning (it works)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PYSPARK_PANDAS_WARNING)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyspark")
        yield


# ============================================================================ errors


def _guarded(fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """A Spark task function (a generator) whose GovmlError travels back as a tagged
    message the driver turns into that error again (see :func:`_reraise`)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Iterator[Any]:
        warnings.filterwarnings("ignore", message=_PYSPARK_PANDAS_WARNING)
        try:
            yield from fn(*args, **kwargs)
        except GovmlError as error:
            raise RuntimeError(f"[govml {type(error).__name__}] {error} [/govml]") from None

    return run


def _reraise(error: Exception) -> None:
    """Raise the GovmlError a worker reported inside ``error`` (else nothing)."""
    found = _ERROR.findall(str(error))
    if found:
        name, message = found[-1]
        cls = getattr(_exceptions, name, GovmlError)
        if not (isinstance(cls, type) and issubclass(cls, GovmlError)):
            cls = GovmlError
        raise cls(message) from None


@contextmanager
def _worker_errors() -> Iterator[None]:
    """Turn a worker's GovmlError (wrapped by Spark) back into that GovmlError."""
    try:
        with _quiet():
            yield
    except GovmlError:
        raise
    except Exception as error:
        _reraise(error)
        raise


# ============================================================================ tables


@dataclass(frozen=True)
class SparkTables:
    """The six contract tables as Spark DataFrames (see :func:`read_tables`).

    Columns follow the contract (``govml contract``) with Spark types of the contract
    kinds: ids and enums ``string``, counts integral, amounts numeric, flags
    ``boolean``, times ``timestamp`` (instants). Extra columns are ignored.

    Examples
    --------
    >>> import tempfile, govml, govml.spark as gs
    >>> spark = gs.spark_session(master="local[1]", driver_memory="512m", shuffle_partitions=1)
    >>> world = govml.simulate(n_creators=60, n_days=20, seed=1)  # sessions 2025-08-15..09-03
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the files
    >>> tables = gs.read_tables(spark, govml.save_tables(world.tables, work.name))
    >>> dtypes = dict(tables.sessions.dtypes)
    >>> dtypes["session_id"], dtypes["viewers"], dtypes["gmv"], dtypes["ended_at"]
    ('string', 'bigint', 'double', 'timestamp')
    >>> tables.sessions.columns[-1]  # the row's place in the files: the table order
    '_govml_row'
    >>> work.cleanup()
    """

    creators: DataFrame
    sessions: DataFrame
    outcomes: DataFrame
    violations: DataFrame
    actions: DataFrame
    reviews: DataFrame

    def items(self) -> list[tuple[str, DataFrame]]:
        """``(name, frame)`` pairs in contract order.

        Examples
        --------
        >>> import tempfile, govml, govml.spark as gs
        >>> spark = gs.spark_session(master="local[1]", driver_memory="512m", shuffle_partitions=1)
        >>> world = govml.simulate(n_creators=60, n_days=20, seed=1)  # sessions 2025-08-15..09-03
        >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the files
        >>> tables = gs.read_tables(spark, govml.save_tables(world.tables, work.name))
        >>> [name for name, frame in tables.items()]
        ['creators', 'sessions', 'outcomes', 'violations', 'actions', 'reviews']
        >>> work.cleanup()
        """
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


def _as_spark_tables(tables: SparkTables | Mapping[str, DataFrame]) -> SparkTables:
    from pyspark.sql import DataFrame

    if isinstance(tables, SparkTables):
        return tables
    if not isinstance(tables, Mapping):
        raise ContractError(
            f"expected govml.spark.SparkTables or a mapping {{table name: Spark DataFrame}}, "
            f"got {type(tables).__name__}; read parquet exports with govml.spark.read_tables"
        )
    unknown = sorted(set(tables) - set(TABLE_NAMES))
    missing = [n for n in TABLE_NAMES if n not in tables]
    wrong = [n for n in TABLE_NAMES if n in tables and not isinstance(tables[n], DataFrame)]
    if unknown or missing or wrong:
        parts = []
        if missing:
            parts.append(f"missing tables {missing}")
        if unknown:
            parts.append(f"unknown tables {unknown}")
        if wrong:
            parts.append(f"not Spark DataFrames: {wrong}")
        raise ContractError(
            f"Spark tables: {'; '.join(parts)}. Pass all six contract tables "
            f"({', '.join(TABLE_NAMES)}) as pyspark DataFrames"
        )
    return SparkTables(**{n: tables[n] for n in TABLE_NAMES})


def _spark_problem(table: str, column: str, kind: str, dtype: Any) -> str | None:
    from pyspark.sql import types as T

    ok = {
        "string": (T.StringType, T.IntegralType),
        "enum": (T.StringType,),
        "int": (T.IntegralType,),
        "float": (T.NumericType,),
        "bool": (T.BooleanType,),
        "timestamp": (T.TimestampType,),
    }[kind]
    if isinstance(dtype, ok):
        return None
    fix = {
        "timestamp": "F.to_timestamp(...) for text; F.to_utc_timestamp(col, tz) for timestamp_ntz",
        "int": "col.cast('long') after checking the values are whole",
        "float": "col.cast('double')",
        "bool": "col.cast('boolean') or a comparison",
    }.get(kind, "col.cast('string')")
    return (
        f"{table}.{column} is {dtype.simpleString()} but the contract kind is {kind}: "
        f"convert it ({fix})"
    )


def _typed(name: str, frame: DataFrame) -> DataFrame:
    """Contract columns of one table with Spark types of their kinds, plus the row order."""
    from pyspark.sql import functions as F

    spec = CONTRACT[name]
    types = {f.name: f.dataType for f in frame.schema.fields}
    problems = []
    cols = []
    for c in spec.columns:
        if c.name not in types:
            if c.required:
                problems.append(f"{name}.{c.name} is missing (required, {c.kind})")
            continue
        problem = _spark_problem(name, c.name, c.kind, types[c.name])
        if problem:
            problems.append(problem)
            continue
        target = {"int": "bigint", "float": "double", "string": "string"}.get(c.kind)
        col = F.col(f"`{c.name}`")
        cols.append((col.cast(target) if target else col).alias(c.name))
    if problems:
        raise ContractError(
            f"data contract: {len(problems)} problem(s) in the Spark {name} table: "
            + "; ".join(problems)
            + ". govml contract lists every column and kind"
        )
    order = F.col(ROW_COLUMN) if ROW_COLUMN in types else F.monotonically_increasing_id()
    return frame.select(*cols, order.cast("bigint").alias(ROW_COLUMN))


def read_tables(
    spark: SparkSession,
    path: str | os.PathLike[str],
    *,
    mapping: ColumnMapping | Mapping[str, Any] | None = None,
) -> SparkTables:
    """Read the six tables from parquet with Spark, in file order.

    Looks for ``<path>/<table>.parquet`` (a file, or a folder of parts) or
    ``<path>/<table>/`` (a folder of parquet parts, e.g. written by Spark), or the file
    the mapping names, like :func:`govml.load_tables`. CSV exports are not read by the
    Spark engine. Each table gets a ``_govml_row`` column, the row's place in the files
    (path order, then row), which is the order the pandas engine reads them in.

    Parameters
    ----------
    spark : SparkSession
    path : str or path-like
        A local folder, or a URI Spark can read (``s3a://``, ``hdfs://``, ...).
    mapping : ColumnMapping or dict, optional
        File and column names of the export (see :class:`govml.ColumnMapping`).

    Returns
    -------
    SparkTables

    Raises
    ------
    DataLoadError
        The folder or a table is missing, a table is only available as CSV, or both a
        file and a folder exist for one table.
    MappingError
        The mapping names columns the files do not have.

    Examples
    --------
    >>> import tempfile, govml, govml.spark as gs
    >>> spark = gs.spark_session(master="local[1]", driver_memory="512m", shuffle_partitions=1)
    >>> world = govml.simulate(n_creators=60, n_days=20, seed=1)  # sessions 2025-08-15..09-03
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the files
    >>> tables = gs.read_tables(spark, govml.save_tables(world.tables, work.name))
    >>> type(tables).__name__, tables.creators.count()
    ('SparkTables', 60)
    >>> work.cleanup()
    """
    if mapping is None:
        mapping = ColumnMapping()
    elif not isinstance(mapping, ColumnMapping):
        mapping = ColumnMapping.from_dict(mapping)
    root = str(path)
    remote = _is_remote(root)
    if not remote and not Path(root.removeprefix("file://")).is_dir():
        raise DataLoadError(
            f"no folder at {root}: the Spark engine reads a folder holding "
            f"{', '.join(f'{n}.parquet' for n in TABLE_NAMES)} (or <table>/ folders of parts)"
        )
    frames = {}
    with _quiet():
        for name in TABLE_NAMES:
            source = _table_source(spark, root, name, mapping, remote)
            frame = spark.read.parquet(source)
            renamed = mapping.rename(name, pd.DataFrame(columns=frame.columns), source=source)
            frame = frame.toDF(*[str(c) for c in renamed.columns])
            frames[name] = _with_file_order(spark, frame)
    return SparkTables(**frames)


def _table_source(
    spark: SparkSession, root: str, name: str, mapping: ColumnMapping, remote: bool
) -> str:
    base = root.rstrip("/")
    named = mapping.files.get(name)
    if remote:
        candidates = [f"{base}/{named}"] if named else [f"{base}/{name}.parquet", f"{base}/{name}"]
        for candidate in candidates:
            try:
                spark.read.parquet(candidate).schema  # noqa: B018 - probes the path
                return candidate
            except Exception:  # AnalysisException: PATH_NOT_FOUND
                continue
        raise DataLoadError(
            f"cannot read table {name} from {root}: tried {', '.join(candidates)}; export "
            "it as parquet there or name it in the mapping's 'files:' section"
        )
    local = Path(base.removeprefix("file://"))
    if named:
        target = Path(named) if Path(named).is_absolute() else local / named
        if not target.exists():
            raise DataLoadError(
                f"cannot load table {name}: the mapping names {named!r}, absent from {local}"
            )
        found = [target]
    else:
        found = [p for p in (local / f"{name}.parquet", local / name) if p.exists()]
        if not found and (local / f"{name}.csv").exists():
            raise DataLoadError(
                f"{local / f'{name}.csv'} is CSV; the Spark engine reads parquet only: "
                "convert it once (govml.save_tables(govml.load_tables(folder), folder)) or "
                "use --engine pandas"
            )
        if len(found) != 1:
            what = f"both {name}.parquet and {name}/" if found else f"no {name}.parquet or {name}/"
            raise DataLoadError(
                f"cannot load table {name} from {local}: {what}. Keep exactly one, or name "
                "it in the mapping's 'files:' section"
            )
    if found[0].suffix.lower() == ".csv":
        raise DataLoadError(
            f"{found[0]} is CSV; the Spark engine reads parquet only: convert it once "
            "(govml.save_tables) or use --engine pandas"
        )
    return str(found[0])


def _normal_path(uri: str) -> str:
    """A file URI without its scheme's slashes ("file:/a" and "file:///a" agree)."""
    return re.sub(r"^file:/+", "/", uri)


def _with_file_order(spark: SparkSession, frame: DataFrame) -> DataFrame:
    """Add ``_govml_row``: (rank of the file's path) * 2**40 + row in the file."""
    from pyspark.sql import functions as F

    files = sorted({_normal_path(f) for f in frame.inputFiles()})
    path = F.regexp_replace(F.col("_metadata.file_path"), r"^file:/+", "/")
    rank = F.array_position(F.array(*[F.lit(f) for f in files]), path) - F.lit(1)
    row = rank * F.lit(2**40) + F.col("_metadata.row_index")
    return frame.withColumn(ROW_COLUMN, row.cast("bigint"))


# ============================================================================ packing


@functools.cache
def _layout() -> dict[str, tuple[tuple[str, str, str], ...]]:
    """Table -> ``(column, kind, slot)`` per contract column; slots are shared by tables."""
    out = {}
    for name, spec in CONTRACT.items():
        used: dict[str, int] = {}
        cols = []
        for c in spec.columns:
            p = _SLOT_PREFIX[c.kind]
            cols.append((c.name, c.kind, f"{p}{used.get(p, 0)}"))
            used[p] = used.get(p, 0) + 1
        out[name] = tuple(cols)
    return out


@functools.cache
def _slots() -> tuple[str, ...]:
    found = {slot for cols in _layout().values() for _, _, slot in cols}
    return tuple(sorted(found, key=lambda s: (s[0], int(s[1:]))))


def _pack(
    name: str,
    frame: DataFrame,
    creator: Column,
    extra: tuple[str, ...] = (),
    carry: Mapping[str, Column] | None = None,
) -> DataFrame:
    """One typed table as rows of the packed frame (``_t`` = its contract position).

    ``extra`` names double columns of ``frame`` to keep (null when absent); ``carry``
    adds more columns as they are."""
    from pyspark.sql import functions as F

    present = set(frame.columns)
    by_slot = {slot: (col, kind) for col, kind, slot in _layout()[name]}
    cols = [
        F.lit(TABLE_NAMES.index(name)).alias("_t"),
        F.col(ROW_COLUMN),
        creator.cast("string").alias("_creator"),
    ]
    for slot in _slots():
        col, kind = by_slot.get(slot, (None, None))
        if col is None or col not in present:
            cols.append(F.lit(None).cast(_SLOT_TYPE[slot[0]]).alias(slot))
        elif kind == "timestamp":
            cols.append(F.unix_micros(F.col(col)).alias(slot))
        else:
            cols.append(F.col(col).cast(_SLOT_TYPE[slot[0]]).alias(slot))
    for c in extra:
        cols.append((F.col(c) if c in present else F.lit(None)).cast("double").alias(c))
    cols += [col.alias(alias) for alias, col in (carry or {}).items()]
    return frame.select(*cols)


def _timestamps(values: pd.Series) -> pd.Series:
    """Microseconds since the epoch (int, or float with NaN for nulls) as UTC times."""
    a = values.to_numpy()
    if a.dtype.kind == "f":
        missing = np.isnan(a)
        micros = np.where(missing, 0, a).astype(np.int64)  # exact below 2**53 us (year 2255)
    else:
        missing = pd.isna(values).to_numpy()
        micros = np.asarray(values.fillna(0) if missing.any() else values, dtype=np.int64)
    dt = micros.view("datetime64[us]").copy()
    dt[missing] = np.datetime64("NaT")
    return pd.Series(pd.DatetimeIndex(dt).tz_localize("UTC"), copy=False)


def _table_frame(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """One table's rows of a packed frame, in table order, with its own column names."""
    rows = rows.sort_values(ROW_COLUMN, kind="stable")
    cols = {}
    for col, kind, slot in _layout()[name]:
        values = rows[slot].reset_index(drop=True)
        if kind == "timestamp":
            cols[col] = _timestamps(values)
        elif kind == "int" and not values.isna().any():
            cols[col] = values.astype(np.int64)
        else:
            cols[col] = values
    return pd.DataFrame(cols)


def _unpack(packed: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Packed rows -> ``{table: frame}`` (table order) and the sessions' packed rows."""
    tag = packed["_t"].to_numpy()
    frames, sessions_rows = {}, None
    for i, name in enumerate(TABLE_NAMES):
        rows = packed[tag == i]
        frames[name] = _table_frame(rows, name)
        if name == "sessions":
            sessions_rows = rows.sort_values(ROW_COLUMN, kind="stable").reset_index(drop=True)
    return frames, sessions_rows


def _validated(frames: Mapping[str, pd.DataFrame]) -> Tables:
    from govml.schema import validate_tables

    try:
        return validate_tables(frames)
    except ContractError as error:
        raise ContractError(
            f"{error}\n(the Spark engine checks the tables one partition of creators at a "
            "time: a violation's session and an action's violation must belong to the same "
            "creator)",
            error.problems,
        ) from None


def _whole(batches: Iterator[pd.DataFrame]) -> pd.DataFrame | None:
    parts = [b for b in batches if len(b)]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


# ============================================================================ features


@dataclass(frozen=True)
class _FeaturePlan:
    """What every task of a feature job needs (pickled into the closure)."""

    task: str
    start: int | None  # microseconds; low_quality: earliest ended_at; adversarial: grid start
    end: int  # microseconds; low_quality: ended_at < end; adversarial: snapshot time
    freq: str
    active_within: str
    names: tuple[str, ...]
    categorical: tuple[str, ...]
    key: tuple[str, ...]
    time_col: str


def _feature_plan(task: str, start: pd.Timestamp | None, end: pd.Timestamp, **kw: Any):
    from govml.features.creator import creator_feature_specs
    from govml.features.session import session_feature_specs

    specs = session_feature_specs() if task == "low_quality" else creator_feature_specs()
    return _FeaturePlan(
        task=task,
        start=None if start is None else start.value // 1000,
        end=end.value // 1000,
        names=tuple(s.name for s in specs),
        categorical=tuple(s.name for s in specs if s.categorical),
        key=("session_id",) if task == "low_quality" else ("creator_id",),
        time_col="ended_at" if task == "low_quality" else "snapshot_at",
        **kw,
    )


def _feature_schema(plan: _FeaturePlan) -> str:
    head = [f"{k} string" for k in plan.key] + [f"{plan.time_col} bigint"]
    if plan.task == "low_quality":
        head.insert(1, "creator_id string")
    body = [f"`{n}` {'string' if n in plan.categorical else 'double'}" for n in plan.names]
    return ", ".join(head + body)


def _spark_frame(frame: pd.DataFrame, time_col: str, categorical: tuple[str, ...]):
    """A feature frame with the types of its Spark schema (times as microseconds)."""
    out = {}
    for c in frame.columns:
        s = frame[c]
        if c == time_col:
            out[c] = pd.Series(s.array.as_unit("us").asi8, copy=False)
        elif c in categorical or not pd.api.types.is_numeric_dtype(s.dtype):
            out[c] = s.astype(object).where(s.notna(), None)
        else:
            out[c] = s.astype(np.float64)
    return pd.DataFrame(out)


def _partition_features(tables: Tables, sessions_rows: pd.DataFrame, plan: _FeaturePlan):
    """The feature frame of one partition's creators (None when it has no rows)."""
    us = pd.Timestamp(plan.end, unit="us", tz="UTC")
    if plan.task == "low_quality":
        ended = tables.sessions["ended_at"].array.asi8
        query = ended < plan.end
        if plan.start is not None:
            query &= ended >= plan.start
        if not query.any():
            return None
        from govml.features.session import session_frame

        z = sessions_rows[[f"z{j}" for j in range(_N_Z)]].to_numpy(np.float64).T
        return session_frame(tables, context=z, session_ids=tables.sessions["session_id"][query])
    from govml.features.creator import creator_features
    from govml.features.labels import creator_snapshots

    start = us if plan.start is None else pd.Timestamp(plan.start, unit="us", tz="UTC")
    snaps = creator_snapshots(
        tables,
        start=start,
        end=us + pd.Timedelta(microseconds=1),
        freq=plan.freq,
        active_within=plan.active_within,
    )
    if snaps.empty:
        return None
    return creator_features(tables, snaps).frame


def _set_threads(threads: int) -> None:
    """One task's threads for LightGBM and the feature engine (this worker process)."""
    os.environ["GOVML_N_JOBS"] = str(threads)


def _partition_frame(
    batches: Iterator[pd.DataFrame], plan: _FeaturePlan, threads: int
) -> pd.DataFrame | None:
    """The point-in-time feature rows of one creator partition (None when it has none)."""
    _set_threads(threads)
    packed = _whole(batches)
    if packed is None:
        return None
    frames, sessions_rows = _unpack(packed)
    del packed
    frame = _partition_features(_validated(frames), sessions_rows, plan)
    return frame if frame is not None and len(frame) else None


def _features_job(batches: Iterator[pd.DataFrame], plan: _FeaturePlan, threads: int):
    frame = _partition_frame(batches, plan, threads)
    if frame is not None:
        yield _spark_frame(frame, plan.time_col, plan.categorical)


def _market_job(batches: Iterator[pd.DataFrame], plan: _FeaturePlan):
    """z-scores of the queried sessions against their market's trailing window."""
    from govml.features.session import market_context

    rows = _whole(batches)
    if rows is None:
        return
    for market, part in rows.groupby("_market", sort=True, dropna=False):
        sessions = _table_frame(part, "sessions")
        ended = sessions["ended_at"].array.asi8
        query = ended < plan.end
        if plan.start is not None:
            query &= ended >= plan.start
        qpos = np.flatnonzero(query)
        if not len(qpos):
            continue
        if pd.isna(market):  # creator unknown: no market, no context (as in pandas)
            z = np.full((_N_Z, len(qpos)), np.nan)
        else:
            ids = pd.unique(sessions["creator_id"])
            creators = pd.DataFrame({"creator_id": ids, "market": [market] * len(ids)})
            z = market_context(sessions, creators, qpos=qpos)
        out = {"_session": sessions["session_id"].to_numpy(object)[qpos]}
        out.update({f"z{j}": z[j] for j in range(_N_Z)})
        yield pd.DataFrame(out)


def _session_stats(sessions: DataFrame, window: Column | None) -> Any:
    """One Spark job: first and last session end (microseconds), sessions, and sessions
    in ``window`` (when given)."""
    from pyspark.sql import functions as F

    cols = [
        F.min(F.unix_micros("ended_at")).alias("first"),
        F.max(F.unix_micros("ended_at")).alias("last"),
        F.count(F.lit(1)).alias("n"),
    ]
    if window is not None:
        cols.append(F.sum(F.when(window, 1).otherwise(0)).alias("in_window"))
    with _quiet():
        return sessions.agg(*cols).first()


def _feature_window(
    task: str, start: pd.Timestamp | None, end: pd.Timestamp, active_within: str
) -> Column:
    """Sessions a feature run needs at least one of (else there is nothing to build)."""
    from pyspark.sql import functions as F

    ended = F.col("ended_at")
    if task == "low_quality":
        lo = start if start is not None else pd.Timestamp(0, tz="UTC")
        return (ended < F.lit(end)) & (ended >= F.lit(lo))
    first_snapshot = start if start is not None else end
    return (ended < F.lit(end)) & (ended >= F.lit(first_snapshot - pd.Timedelta(active_within)))


def _utc(micros: int | None) -> pd.Timestamp:
    """Microseconds since the epoch as a UTC timestamp (NaT for None)."""
    if micros is None:
        return pd.NaT
    return pd.Timestamp(int(micros), unit="us", tz="UTC")


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise FeatureError(f"{name}={value!r} must be a positive integer (Spark partitions)")
    return int(value)


def build_features(
    tables: SparkTables | Mapping[str, DataFrame],
    task: str,
    *,
    as_of: pd.Timestamp | str | None = None,
    since: pd.Timestamp | str | None = None,
    freq: str = "1D",
    active_within: str = "30D",
    partitions: int | None = None,
) -> DataFrame:
    """A task's point-in-time feature set on Spark: :func:`govml.features.build_features`.

    Same rows and the same values, bit for bit. The result is a lazy Spark DataFrame
    with the key, the time column (``timestamp``), ``market`` and ``category``
    (``string``) and the numeric features (``double``); rows in no particular order.
    A worker's :class:`~govml.GovmlError` (e.g. a contract problem found while
    validating a partition) surfaces when an action runs, as a ``PythonException``
    whose message holds ``[govml ContractError] ... [/govml]``; :func:`write_features`
    raises the error itself.

    Parameters
    ----------
    tables : SparkTables or mapping of str to Spark DataFrame
        The six contract tables (:func:`read_tables`, or your own DataFrames).
    task : {"low_quality", "adversarial"}
    as_of, since, freq, active_within
        As in :func:`govml.features.build_features`.
    partitions : int, optional
        Creator partitions of the feature stage. Default: at least one per
        ``PARTITION_SESSIONS`` sessions, rounded up to a multiple of the default
        parallelism (the cores).

    Returns
    -------
    pyspark.sql.DataFrame

    Raises
    ------
    FeatureError
        Unknown task, unparsable times, times outside the data, no rows to build, or
        ``partitions`` not a positive integer.
    ContractError
        Tables missing, or columns missing or of the wrong Spark type.

    Examples
    --------
    >>> import tempfile, govml, govml.spark as gs
    >>> spark = gs.spark_session(master="local[1]", driver_memory="512m", shuffle_partitions=1)
    >>> world = govml.simulate(n_creators=60, n_days=20, seed=1)  # sessions 2025-08-15..09-03
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the files
    >>> tables = gs.read_tables(spark, govml.save_tables(world.tables, work.name))
    >>> features = gs.build_features(tables, "adversarial", partitions=1)
    >>> features.columns[:4]
    ['creator_id', 'snapshot_at', 'market', 'category']
    >>> features.count() == len(govml.build_features(world.tables, "adversarial").frame)
    True
    >>> work.cleanup()
    """
    from pyspark.sql import functions as F

    from govml.features.build import check_task, resolve_window

    check_task(task)
    if partitions is not None:
        partitions = _positive_int(partitions, "partitions")
    typed = {name: _typed(name, frame) for name, frame in _as_spark_tables(tables).items()}
    sessions = typed["sessions"]
    spark = sessions.sparkSession
    window = None
    if as_of is not None:  # the window is known before the data range: one Spark job
        from govml.features.build import parse_time

        given_end = parse_time(as_of, "as_of")
        given_start = parse_time(since, "since") if since is not None else None
        window = _feature_window(task, given_start, given_end, active_within)
    stats = _session_stats(sessions, window)
    if stats["n"] == 0 or stats["first"] is None:
        raise FeatureError("the sessions table is empty; there is nothing to build features from")
    first = _utc(stats["first"])
    last = _utc(stats["last"])
    start, end = resolve_window(
        task, first, last, as_of=as_of, since=since, active_within=active_within
    )
    plan = _feature_plan(task, start, end, freq=freq, active_within=active_within)
    if window is not None:
        n_window = int(stats["in_window"])
    else:
        with _quiet():
            window = _feature_window(task, start, end, active_within)
            n_window = sessions.filter(window).limit(1).count()
    if n_window == 0:
        if task == "low_quality":
            raise FeatureError(
                f"no session ended in [{start or first}, {end}); the sessions table covers "
                f"{first} to {last}"
            )
        raise FeatureError(
            f"no creator was active within {active_within} before {end}; pick an as_of "
            f"inside the data ({first} to {last})"
        )
    if partitions is None:
        partitions = _default_partitions(spark, stats["n"])
    packed = _creator_partitions(typed, plan, partitions)
    job = _guarded(functools.partial(_features_job, plan=plan, threads=_task_cpus(spark)))
    result = packed.mapInPandas(job, _feature_schema(plan))
    return result.withColumn(plan.time_col, F.timestamp_micros(plan.time_col))


def _default_partitions(spark: SparkSession, n_sessions: int) -> int:
    """At least one partition per ``PARTITION_SESSIONS`` sessions, rounded up to whole
    waves of the cluster's cores (``defaultParallelism``)."""
    cores = max(1, spark.sparkContext.defaultParallelism)
    return cores * max(1, math.ceil(n_sessions / PARTITION_SESSIONS / cores))


def _task_cpus(spark: SparkSession) -> int:
    """Cores per task (``spark.task.cpus``): the threads one task may use."""
    try:
        return max(1, int(spark.conf.get("spark.task.cpus", "1") or 1))
    except (ValueError, TypeError):
        return 1


def _creator_partitions(
    typed: Mapping[str, DataFrame], plan: _FeaturePlan, partitions: int
) -> DataFrame:
    """The six tables packed into one frame and hash-partitioned by creator id: every
    partition holds whole creator histories (plus the market context for sessions)."""
    from pyspark.sql import functions as F

    sessions = typed["sessions"]
    extra: tuple[str, ...] = ()
    if plan.task == "low_quality":
        sessions = _with_market_context(typed, plan)
        extra = tuple(f"z{j}" for j in range(_N_Z))
    route = (
        typed["sessions"]
        .select(F.col("session_id").alias("_sid"), F.col("creator_id").alias("_cid"))
        .dropDuplicates(["_sid"])
    )
    packed = []
    for name in TABLE_NAMES:
        frame = sessions if name == "sessions" else typed[name]
        if name in ("outcomes", "reviews"):  # routed to the creator of their session
            frame = frame.join(route, frame["session_id"] == route["_sid"], "left")
            creator = F.col("_cid")
        else:
            creator = F.col("creator_id")
        packed.append(_pack(name, frame, creator, extra))
    union = functools.reduce(lambda a, b: a.unionByName(b), packed)
    return union.repartition(partitions, "_creator")


def _with_market_context(typed: Mapping[str, DataFrame], plan: _FeaturePlan) -> DataFrame:
    """Sessions with ``z0..z5``: their market-relative z-scores (queried sessions only)."""
    from pyspark.sql import functions as F

    markets = typed["creators"].select(
        F.col("creator_id").alias("_mcid"), F.col("market").alias("_market")
    )
    sessions = typed["sessions"]
    with_market = sessions.join(markets, sessions["creator_id"] == markets["_mcid"], "left")
    packed = _pack(
        "sessions", with_market, F.col("creator_id"), carry={"_market": F.col("_market")}
    )
    job = _guarded(functools.partial(_market_job, plan=plan))
    schema = "_session string, " + ", ".join(f"z{j} double" for j in range(_N_Z))
    z = packed.repartition(len(MARKETS), "_market").mapInPandas(job, schema)
    return sessions.join(z, sessions["session_id"] == z["_session"], "left").drop("_session")


# ============================================================================ writing


@dataclass(frozen=True)
class WrittenFeatures:
    """What :func:`write_features` wrote.

    Attributes
    ----------
    path : str
        The folder of parquet parts (read it back with ``pd.read_parquet(path)``).
    task : str
    rows : int
    features : tuple of str
    catalogue_version : str
    first, last : Timestamp
        Range of the time column.

    Examples
    --------
    See :func:`write_features` for a run; the fields:

    >>> import pandas as pd
    >>> from govml.spark import WrittenFeatures
    >>> day = pd.Timestamp("2025-09-04", tz="UTC")
    >>> written = WrittenFeatures(path="/data/features/2025-09-04", task="adversarial",
    ...                           rows=57, features=("points_active", "sess_gmv_sum_30d"),
    ...                           catalogue_version="50882f324d2f", first=day, last=day)
    >>> written.rows, written.first == written.last  # one snapshot day
    (57, True)
    """

    path: str
    task: str
    rows: int
    features: tuple[str, ...]
    catalogue_version: str
    first: pd.Timestamp
    last: pd.Timestamp


def _is_remote(path: str) -> bool:
    return re.match(r"^[a-zA-Z][\w+.-]*://", path) is not None and not path.startswith("file://")


def _write_parquet(frame: DataFrame, out: str, *, overwrite: bool) -> None:
    """Write ``frame`` as a folder of parquet parts; locally via a temporary folder that
    is renamed into place, so ``out`` never holds half a result."""
    if _is_remote(out):
        frame.write.mode("overwrite" if overwrite else "errorifexists").parquet(out)
        return
    target = Path(out.removeprefix("file://"))
    if target.exists() and not overwrite:
        raise DataLoadError(f"{target} already exists; pass --overwrite to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.write.parquet(str(tmp))
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        tmp.replace(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_features(
    tables: SparkTables | Mapping[str, DataFrame],
    task: str,
    out: str | os.PathLike[str],
    *,
    as_of: pd.Timestamp | str | None = None,
    since: pd.Timestamp | str | None = None,
    freq: str = "1D",
    active_within: str = "30D",
    partitions: int | None = None,
    overwrite: bool = False,
) -> WrittenFeatures:
    """Build a task's features with :func:`build_features` and write them as parquet parts.

    ``out`` becomes a folder of parquet parts plus Spark's ``_SUCCESS`` marker
    (``pd.read_parquet(out)`` reads it as one frame). Locally the parts are written to a
    temporary folder that replaces ``out`` only when complete.

    Parameters
    ----------
    tables, task, as_of, since, freq, active_within, partitions
        As in :func:`build_features`.
    out : str or path-like
        Output folder (local, or a URI Spark can write).
    overwrite : bool, default False
        Replace an existing ``out``.

    Returns
    -------
    WrittenFeatures

    Raises
    ------
    DataLoadError
        ``out`` exists and ``overwrite`` is False.
    FeatureError, ContractError
        As :func:`build_features`, including the ones found by the workers.

    Examples
    --------
    A run looks like :func:`build_features`'s example, with an output folder::

        written = gs.write_features(tables, "adversarial", "features/2025-09-04")
        pd.read_parquet(written.path)  # written.rows rows

    An existing folder is never replaced silently (checked before any Spark work):

    >>> import tempfile
    >>> from govml.spark import write_features
    >>> with tempfile.TemporaryDirectory() as out:
    ...     write_features({}, "adversarial", out)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.DataLoadError: ... already exists; pass --overwrite to replace it
    """
    from pyspark.sql import functions as F

    from govml.features.catalogue import catalogue_version
    from govml.features.creator import creator_feature_specs
    from govml.features.session import session_feature_specs

    out = os.fspath(out)
    if not _is_remote(out) and Path(out).exists() and not overwrite:
        raise DataLoadError(f"{out} already exists; pass --overwrite to replace it")
    with _worker_errors():
        frame = build_features(
            tables,
            task,
            as_of=as_of,
            since=since,
            freq=freq,
            active_within=active_within,
            partitions=partitions,
        )
        _write_parquet(frame, out, overwrite=overwrite)
        written = frame.sparkSession.read.parquet(out)
        time_col = "ended_at" if task == "low_quality" else "snapshot_at"
        stats = written.agg(
            F.count(F.lit(1)).alias("n"),
            F.min(F.unix_micros(time_col)).alias("a"),
            F.max(F.unix_micros(time_col)).alias("b"),
        ).first()
    specs = session_feature_specs() if task == "low_quality" else creator_feature_specs()
    return WrittenFeatures(
        path=out,
        task=task,
        rows=int(stats["n"]),
        features=tuple(s.name for s in specs),
        catalogue_version=catalogue_version(specs),
        first=_utc(stats["a"]),
        last=_utc(stats["b"]),
    )


# ============================================================================ scoring


@dataclass(frozen=True)
class SparkScores:
    """What :func:`score` returns: two lazy Spark DataFrames of one plan.

    Attributes
    ----------
    scored : pyspark.sql.DataFrame
        Scored rows, the columns of :data:`govml.scoring.OUTPUT_SCHEMA` (``reasons`` is
        ``array<struct<code, text, contribution>>``, times are ``timestamp``).
    quarantined : pyspark.sql.DataFrame
        Rows that could not be scored, the columns of
        :data:`govml.scoring.QUARANTINE_SCHEMA`.

    Both are filters of one plan: ``persist()`` ``scored``'s parent if you act on both
    (or write them with :func:`score_batch`, which computes everything once).

    Examples
    --------
    See :func:`score` for a run. The two frames share the row identity; only scored
    rows have a score, only quarantined rows a reason:

    >>> from govml.scoring import OUTPUT_SCHEMA, QUARANTINE_SCHEMA
    >>> [c for c in OUTPUT_SCHEMA.names if c not in QUARANTINE_SCHEMA.names]
    ['date', 'score', 'raw_score', 'tier', 'unseen_category', 'reasons']
    >>> [c for c in QUARANTINE_SCHEMA.names if c not in OUTPUT_SCHEMA.names]
    ['reason_code', 'reason']
    """

    scored: DataFrame
    quarantined: DataFrame


@dataclass(frozen=True)
class _ScoreOptions:
    """The arguments of :func:`govml.scoring.score_frame` (pickled into the tasks)."""

    scored_at: pd.Timestamp
    top_k: int
    reasons_above: float | None
    max_unseen_features: int
    model_version: str
    threads: int


_MODELS: dict[str, Any] = {}  # per worker process: the broadcast model, built once


def _model_payload(model: GovmlModel) -> tuple[str, dict[str, Any], str]:
    """The model as text: LightGBM's model string, the metadata dict and its SHA-256."""
    import hashlib

    text = model.booster.model_to_string()
    return text, model.metadata.to_dict(), hashlib.sha256(text.encode("utf-8")).hexdigest()


def _model_from(payload: tuple[str, dict[str, Any], str]) -> GovmlModel:
    text, metadata, sha = payload
    model = _MODELS.get(sha)
    if model is None:
        import lightgbm

        from govml.model import GovmlModel, ModelMetadata

        model = GovmlModel(lightgbm.Booster(model_str=text), ModelMetadata.from_dict(metadata))
        _MODELS.clear()
        _MODELS[sha] = model
    return model


def _score_chunk(frame: pd.DataFrame, model: GovmlModel, opts: _ScoreOptions):
    from govml.scoring import score_frame

    return score_frame(
        model,
        frame,
        scored_at=opts.scored_at,
        top_k=opts.top_k,
        reasons_above=opts.reasons_above,
        max_unseen_features=opts.max_unseen_features,
        model_version=opts.model_version,
        num_threads=opts.threads,
    )


def _ddl(dtype: Any) -> str:
    """Spark DDL of an output column's Arrow type (timestamps travel as microseconds)."""
    import pyarrow as pa

    if pa.types.is_timestamp(dtype) or pa.types.is_integer(dtype):
        return "bigint"
    if pa.types.is_floating(dtype):
        return "double"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_list(dtype):
        return f"array<{_ddl(dtype.value_type)}>"
    if pa.types.is_struct(dtype):
        return "struct<" + ",".join(f"{f.name}:{_ddl(f.type)}" for f in dtype) + ">"
    return "string"


@functools.cache
def _scores_columns() -> tuple[tuple[str, str], ...]:
    """Columns of the combined scored-or-quarantined frame the tasks return."""
    from govml.scoring import OUTPUT_SCHEMA, QUARANTINE_SCHEMA

    cols = {f.name: _ddl(f.type) for f in OUTPUT_SCHEMA}
    for f in QUARANTINE_SCHEMA:
        cols.setdefault(f.name, _ddl(f.type))
    cols["_quarantined"] = "boolean"
    return tuple(cols.items())


def _micros(values: pd.Series) -> pd.Series:
    """UTC timestamps as nullable int64 microseconds."""
    times = pd.Series(values.array, copy=False).dt.as_unit("us")
    missing = times.isna().to_numpy()
    micros = times.array.asi8.copy()
    return pd.Series(pd.arrays.IntegerArray(micros, missing), copy=False)


def _scores_frames(chunk: Any) -> Iterator[pd.DataFrame]:
    """A ScoredChunk as frames of the combined schema (scored rows, then quarantined)."""
    from govml.scoring import OUTPUT_SCHEMA, QUARANTINE_SCHEMA

    names = [n for n, _ in _scores_columns()]
    times = {f.name for f in (*OUTPUT_SCHEMA, *QUARANTINE_SCHEMA) if "timestamp" in str(f.type)}
    for frame, quarantined in ((chunk.scored, False), (chunk.quarantined, True)):
        if not len(frame):
            continue
        n = len(frame)
        out = {}
        for name in names:
            if name == "_quarantined":
                out[name] = np.full(n, quarantined)
            elif name not in frame.columns:
                out[name] = pd.Series([None] * n, dtype=object)
            elif name in times:
                out[name] = _micros(frame[name])
            else:
                out[name] = frame[name].reset_index(drop=True)
        yield pd.DataFrame(out)


def _score_tables_job(
    batches: Iterator[pd.DataFrame], plan: _FeaturePlan, model: Any, opts: _ScoreOptions
):
    """Features of one creator partition, scored: rows of the combined schema."""
    frame = _partition_frame(batches, plan, opts.threads)
    if frame is None:
        return
    yield from _scores_frames(_score_chunk(frame, _model_from(model.value), opts))


def _score_features_job(
    batches: Iterator[pd.DataFrame], time_col: str, model: Any, opts: _ScoreOptions
):
    """One partition of a feature frame (all rows of its keys), scored."""
    _set_threads(opts.threads)
    frame = _whole(batches)
    if frame is None:
        return
    frame = frame.assign(**{time_col: _timestamps(frame[time_col])})
    yield from _scores_frames(_score_chunk(frame, _model_from(model.value), opts))


def _split_scores(combined: DataFrame) -> SparkScores:
    from pyspark.sql import functions as F

    from govml.scoring import OUTPUT_SCHEMA, QUARANTINE_SCHEMA

    def select(schema: Any, quarantined: bool) -> DataFrame:
        cols = []
        for f in schema:
            col = F.col(f.name)
            if "timestamp" in str(f.type):
                col = F.timestamp_micros(col).alias(f.name)
            cols.append(col)
        keep = F.col("_quarantined") if quarantined else ~F.col("_quarantined")
        return combined.filter(keep).select(*cols)

    return SparkScores(select(OUTPUT_SCHEMA, False), select(QUARANTINE_SCHEMA, True))


@dataclass(frozen=True)
class _ScoreInput:
    """The rows a scoring run covers, resolved on the driver."""

    task: str
    plan: _FeaturePlan
    typed: Mapping[str, DataFrame]
    as_of: pd.Timestamp
    window_start: pd.Timestamp | None
    n_sessions: int
    n_window: int  # sessions in the window (low_quality: the rows to score)
    wanted: Column  # the queried sessions (low_quality) or the recent ones (adversarial)


def _score_input(
    tables: SparkTables | Mapping[str, DataFrame],
    task: str,
    as_of: object,
    since: object,
    active_within: str,
) -> _ScoreInput:
    """The rows of a scoring run, with the errors of :func:`govml.scoring.score_batch`."""
    from pyspark.sql import functions as F

    from govml._exceptions import ScoringError
    from govml.scoring import parse_timestamp

    when = parse_timestamp(as_of, "as_of")
    start = parse_timestamp(since, "since") if since is not None else None
    typed = {name: _typed(name, frame) for name, frame in _as_spark_tables(tables).items()}
    sessions = typed["sessions"]
    ended = F.col("ended_at")
    if task == "low_quality":
        start = start if start is not None else when - pd.Timedelta(days=1)
        if start >= when:
            raise ScoringError(f"since={start} is not before as_of={when}; since must come first")
        wanted = (ended >= F.lit(start)) & (ended < F.lit(when))
        plan_start = start
    else:
        if start is not None:
            raise ScoringError(
                "since applies to the low_quality task only; adversarial scoring takes one "
                "snapshot per active creator at --as-of (run one job per day to backfill)"
            )
        if when != when.normalize():
            raise ScoringError(
                f"as_of={when} is not midnight UTC; adversarial snapshots are daily at midnight "
                f"UTC, as in training: use e.g. {when.normalize().date()}"
            )
        try:
            recent = when - pd.Timedelta(active_within)
        except (TypeError, ValueError):
            raise ScoringError(
                f"cannot take creator snapshots at {when}: active_within={active_within!r} is "
                "not a duration such as '30D'"
            ) from None
        wanted = (ended >= F.lit(recent)) & (ended < F.lit(when))
        plan_start = None
    stats = _session_stats(sessions, wanted)
    first, last = _utc(stats["first"]), _utc(stats["last"])
    if not stats["in_window"]:
        if task == "low_quality":
            raise ScoringError(
                f"no session ended in [{start}, {when}); the sessions table covers {first} to "
                f"{last}: pick an --as-of inside the data (or widen the window with --since)"
            )
        raise ScoringError(
            f"no creator was active within {active_within} before {when}; the sessions table "
            f"covers {first} to {last}: pick an --as-of inside the data"
        )
    plan = _feature_plan(task, plan_start, when, freq="1D", active_within=active_within)
    return _ScoreInput(
        task=task,
        plan=plan,
        typed=typed,
        as_of=when,
        window_start=plan_start,
        n_sessions=int(stats["n"]),
        n_window=int(stats["in_window"]),
        wanted=wanted,
    )


def score(
    data: SparkTables | Mapping[str, DataFrame] | DataFrame,
    model: Any,
    *,
    as_of: pd.Timestamp | str | None = None,
    since: pd.Timestamp | str | None = None,
    active_within: str = "30D",
    scored_at: pd.Timestamp | str | None = None,
    top_k: int = 3,
    reasons_above: float | None = None,
    max_unseen_features: int = 0,
    partitions: int | None = None,
) -> SparkScores:
    """Score on Spark with :func:`govml.scoring.score_frame`: lazy scored and quarantined frames.

    Two inputs:

    * **tables** (:class:`SparkTables` or a mapping) and ``as_of``: the rows
      :func:`govml.scoring.score_batch` scores (low_quality: sessions that ended in
      ``[as_of - 1 day, as_of)`` or ``[since, as_of)``; adversarial: one snapshot at
      ``as_of``, midnight UTC, per creator active within ``active_within``). Features
      are built and scored in the same task, one creator partition at a time.
    * **a feature DataFrame** (e.g. from :func:`build_features`, or your own with the
      model's feature columns by name, the key, the time column and ``market``): every
      row is scored; rows are grouped by key first, so duplicate keys are quarantined as
      in pandas.

    Each row gets the score, tier and reasons :func:`~govml.scoring.score_frame` gives
    it on one machine, bit for bit. The model travels to the executors once, as text
    (a broadcast of LightGBM's model string and the JSON metadata; nothing pickled).

    Parameters
    ----------
    data : SparkTables, mapping of str to DataFrame, or DataFrame
    model : GovmlModel, ResolvedModel, str or path-like
        A model, a model folder or a registry URI (:func:`govml.scoring.resolve_model`).
    as_of, since, active_within
        Tables only: the rows to score (see above).
    scored_at : timestamp, optional
        Written to every row; default now.
    top_k, reasons_above, max_unseen_features
        As in :func:`govml.scoring.score_frame`.
    partitions : int, optional
        Spark partitions (default as in :func:`build_features`).

    Returns
    -------
    SparkScores

    Raises
    ------
    ScoringError
        ``as_of`` missing with tables or given with a feature frame; the window holds no
        row; ``since`` with adversarial; a non-midnight adversarial ``as_of``.
    ConfigError
        Invalid ``top_k``, ``max_unseen_features`` or ``reasons_above``.
    ColumnMismatchError
        A feature frame lacks the key, time, ``market`` or a model feature.

    Examples
    --------
    >>> import tempfile, govml, govml.spark as gs
    >>> spark = gs.spark_session(master="local[1]", driver_memory="512m", shuffle_partitions=1)
    >>> world = govml.simulate(n_creators=60, n_days=20, seed=1)  # sessions 2025-08-15..09-03
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the files
    >>> tables = gs.read_tables(spark, govml.save_tables(world.tables, work.name))
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> sessions = govml.build_features(world.tables, "low_quality").frame.merge(
    ...     world.truth.sessions[["session_id", "is_low_quality"]], on="session_id")
    >>> fit = fit_lightgbm(sessions[:300], sessions[300:], features=["report_rate", "market"],
    ...                    label="is_low_quality", categorical=["market"], num_boost_round=20,
    ...                    num_threads=1, params={"num_leaves": 7, "min_data_in_leaf": 10})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo",
    ...                             thresholds={"review": 0.3})
    >>> scores = gs.score(tables, model, as_of="2025-09-03", partitions=1)  # lazy
    >>> scores.quarantined.columns[-4:]
    ['reason', 'model_name', 'model_version', 'scored_at']
    >>> scored = scores.scored.toPandas()  # the sessions that ended on 2025-09-02
    >>> len(scored), bool(scored["tier"].isin(["review", "none"]).all())
    (26, True)
    >>> work.cleanup()
    """
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import functions as F

    from govml._exceptions import ColumnMismatchError, ScoringError
    from govml.scoring import TASK_COLUMNS, check_options, parse_scored_at, resolve_model

    check_options(top_k, max_unseen_features, reasons_above)
    if partitions is not None:
        partitions = _positive_int(partitions, "partitions")
    resolved = resolve_model(model)
    task = resolved.model.metadata.task
    stamp = (
        parse_scored_at(scored_at)
        if scored_at is not None
        else pd.Timestamp.now(tz="UTC").floor("us")
    )
    if isinstance(data, SparkDataFrame):
        if as_of is not None or since is not None:
            raise ScoringError(
                "as_of and since choose rows from tables; a feature DataFrame is scored row "
                "by row as it is: filter it first, or pass the tables"
            )
        spark = data.sparkSession
        key, time_col = TASK_COLUMNS[task]
        missing = [c for c in (key, time_col) if c not in data.columns]
        if missing:
            raise ColumnMismatchError(
                f"scoring input lacks column(s) {missing}; a {task} feature frame needs "
                f"{key!r} and {time_col!r}: build it with govml.spark.build_features"
            )
        frame = data.withColumn(time_col, F.unix_micros(F.col(time_col).cast("timestamp")))
        n = partitions or 2 * spark.sparkContext.defaultParallelism
        opts = _score_options(spark, stamp, top_k, reasons_above, max_unseen_features, resolved)
        payload = spark.sparkContext.broadcast(_model_payload(resolved.model))
        job = functools.partial(_score_features_job, time_col=time_col, model=payload, opts=opts)
        combined = frame.repartition(n, key).mapInPandas(_guarded(job), _scores_ddl())
        return _split_scores(combined)
    if as_of is None:
        raise ScoringError(
            "as_of is required to score tables: the scoring time (e.g. '2025-12-01'); "
            "low_quality scores the sessions that ended in the day before it"
        )
    job_input = _score_input(data, task, as_of, since, active_within)
    spark = job_input.typed["sessions"].sparkSession
    n = partitions or _default_partitions(spark, job_input.n_sessions)
    opts = _score_options(spark, stamp, top_k, reasons_above, max_unseen_features, resolved)
    payload = spark.sparkContext.broadcast(_model_payload(resolved.model))
    packed = _creator_partitions(job_input.typed, job_input.plan, n)
    job = functools.partial(_score_tables_job, plan=job_input.plan, model=payload, opts=opts)
    return _split_scores(packed.mapInPandas(_guarded(job), _scores_ddl()))


def _scores_ddl() -> str:
    return ", ".join(f"`{n}` {t}" for n, t in _scores_columns())


def _score_options(
    spark: SparkSession,
    stamp: pd.Timestamp,
    top_k: int,
    reasons_above: float | None,
    max_unseen_features: int,
    resolved: Any,
) -> _ScoreOptions:
    return _ScoreOptions(
        scored_at=stamp,
        top_k=int(top_k),
        reasons_above=None if reasons_above is None else float(reasons_above),
        max_unseen_features=int(max_unseen_features),
        model_version=str(resolved.version),
        threads=_task_cpus(spark),
    )


# ============================================================================ the job


def _spark_fingerprint(typed: Mapping[str, DataFrame], as_of: pd.Timestamp) -> str:
    """SHA-256 over every table's rows known before ``as_of``: count, column names and
    types, and the sum of one 64-bit hash per row (so it does not depend on the order
    or partitioning of the rows). One Spark job. Not comparable with the pandas
    engine's fingerprint."""
    import hashlib

    from pyspark.sql import functions as F

    parts = []
    for name, spec in CONTRACT.items():
        frame = typed[name]
        cols = sorted(c for c in frame.columns if c != ROW_COLUMN)
        known = frame.filter(F.col(spec.known_at) < F.lit(as_of))
        parts.append(
            known.agg(
                F.count(F.lit(1)).alias("n"),
                F.sum(F.xxhash64(*[F.col(c) for c in cols]).cast("decimal(38,0)")).alias("h"),
            ).select(F.lit(name).alias("table"), "n", F.col("h").cast("string").alias("h"))
        )
    with _quiet():
        rows = {r["table"]: r for r in functools.reduce(lambda a, b: a.union(b), parts).collect()}
    digest = hashlib.sha256()
    for name in CONTRACT:
        frame = typed[name]
        types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        cols = sorted(c for c in types if c != ROW_COLUMN)
        row = rows[name]
        header = [name, int(row["n"]), [[c, types[c]] for c in cols], str(row["h"])]
        digest.update(json.dumps(header).encode("utf-8"))
    return digest.hexdigest()


def _write_chunks_job(
    batches: Iterator[pd.DataFrame],
    plan: _FeaturePlan,
    model: Any,
    opts: _ScoreOptions,
    out: str,
):
    """Score one creator partition and write it as chunk ``partition id`` of the job's
    output (:func:`govml._jobfiles.write_chunk`: its files, then its record); yields the
    record. A chunk whose record exists (an interrupted run finished it) is not built
    again."""
    from pyspark import TaskContext

    from govml import _jobfiles as jf

    chunk = TaskContext.get().partitionId()
    record = jf.record_path(Path(out), chunk)
    if record.is_file():
        for _ in batches:  # drain the input
            pass
        yield pd.DataFrame({"chunk": [chunk], "record": [record.read_text(encoding="utf-8")]})
        return
    frame = _partition_frame(batches, plan, opts.threads)
    if frame is None:
        return
    result = _score_chunk(frame, _model_from(model.value), opts)
    written = jf.write_chunk(Path(out), chunk, result)
    yield pd.DataFrame({"chunk": [chunk], "record": [json.dumps(written)]})


def _verify_job(
    spark: SparkSession,
    out: Path,
    records: Mapping[int, Mapping[str, Any]],
    expected: DataFrame | None,
) -> None:
    """Every input row is in the output exactly once (scored or quarantined), checked
    with Spark: the written ids are distinct, as many as the chunks' input rows, and
    (low_quality) exactly the sessions of the window."""
    from pyspark.sql import functions as F

    from govml._exceptions import ScoringError
    from govml._jobfiles import chunk_files, sample

    files = [str(out / f) for f in chunk_files(records)]
    n_rows = sum(r["rows"]["input"] for r in records.values())
    with _quiet():
        if files:
            written = spark.read.schema("entity_id string").parquet(*files).select("entity_id")
        else:
            written = spark.createDataFrame([], "entity_id string")
        per_id = written.groupBy("entity_id").agg(F.count(F.lit(1)).alias("times"))
        if expected is not None:
            both = per_id.join(expected.withColumn("wanted", F.lit(1)), "entity_id", "full_outer")
        else:
            both = per_id.withColumn("wanted", F.lit(1))
        counts = both.agg(
            F.coalesce(F.sum("times"), F.lit(0)).alias("written"),
            F.sum(F.when(F.col("times") > 1, 1).otherwise(0)).alias("duplicated"),
            F.sum(F.when(F.col("times").isNull(), 1).otherwise(0)).alias("missing"),
            F.sum(F.when(F.col("wanted").isNull(), 1).otherwise(0)).alias("extra"),
            F.sum(F.when(F.col("wanted").isNotNull(), 1).otherwise(0)).alias("expected"),
        ).first()
        n_written = int(counts["written"])
        n_expected = int(counts["expected"] or 0) if expected is not None else n_rows
        bad = bool(counts["duplicated"] or counts["missing"] or counts["extra"])
        duplicated: list[str] = []
        missing: list[str] = []
        extra: list[str] = []
        if bad:  # a few examples of each problem (only when something is wrong)

            def sample(condition: Column) -> list[str]:
                return [r[0] for r in both.filter(condition).limit(3).collect()]

            duplicated = sample(F.col("times") > 1)
            missing = sample(F.col("times").isNull())
            extra = sample(F.col("wanted").isNull())
    if bad or n_rows != n_written or n_expected != n_written:
        raise ScoringError(
            f"row accounting failed in {out}: {n_expected:,} input rows, {n_written:,} written "
            f"(chunk records say {n_rows:,}); duplicated {sample(duplicated)}, missing "
            f"{sample(missing)}, unexpected {sample(extra)}. The output is not trustworthy: "
            "re-run with overwrite=True (--overwrite)"
        )


def score_batch(
    model: Any,
    tables: SparkTables | Mapping[str, DataFrame],
    *,
    as_of: pd.Timestamp | str,
    out: str | os.PathLike[str],
    task: str | None = None,
    since: pd.Timestamp | str | None = None,
    active_within: str = "30D",
    top_k: int = 3,
    reasons_above: float | None = None,
    max_unseen_features: int = 0,
    scored_at: pd.Timestamp | str | None = None,
    overwrite: bool = False,
    partitions: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """:func:`govml.scoring.score_batch` on Spark: the same rows, scores and output folder.

    Every Spark partition of creators is one chunk of the job: its task builds the
    features, scores them with :func:`govml.scoring.score_frame` and writes the chunk
    exactly as the single-machine job does (``OUT/market=../date=../part-cNNNNN.parquet``,
    ``OUT/_quarantine/``, the ``OUT/_chunks/cNNNNN.json`` record), then the driver checks
    the row accounting with Spark and writes the ``OUT/_SUCCESS`` manifest, so
    :func:`govml.scoring.read_scores` and :func:`~govml.scoring.read_manifest` read it.
    Re-run after an interruption with the same arguments, chunks with a record are not
    built again (partitions are a fixed hash of the creator id; the partition count is
    part of the job). The manifest adds ``engine: spark`` and ``partitions``; its
    ``input_fingerprint`` is computed by Spark (row hashes), so a folder written by one
    engine is "another job" for the other.

    ``out`` must be a path that the driver and every executor see (local mode, or a
    shared file system): tasks write their chunk files themselves. For object stores,
    use :func:`score` and write its DataFrames with Spark.

    Parameters
    ----------
    model, as_of, out, task, since, active_within, top_k, reasons_above,
    max_unseen_features, scored_at, overwrite, progress
        As in :func:`govml.scoring.score_batch`.
    tables : SparkTables or mapping of str to Spark DataFrame
    partitions : int, optional
        Creator partitions, one chunk each (default as in :func:`build_features`).

    Returns
    -------
    govml.scoring.ScoreSummary

    Raises
    ------
    ScoringError
        As :func:`govml.scoring.score_batch`, or ``out`` is a URI (not a shared path).
    ConfigError, ContractError, FeatureError
        Invalid options or tables.

    Examples
    --------
    A run looks like :func:`score`'s example, with an output folder::

        summary = gs.score_batch(model, tables, as_of="2025-09-03", out="scores/2025-09-03")
        govml.read_scores(summary.out)  # summary.n_scored rows

    Tasks write their chunks themselves, so ``out`` must be a path every executor sees
    (checked before any Spark work):

    >>> from govml.spark import score_batch
    >>> score_batch("models:/govml-low_quality@champion", {}, as_of="2025-09-03",
    ...             out="s3a://bucket/scores")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: out=s3a://bucket/scores is a URI; ... govml.spark.score(...) ...
    """
    from pyspark.sql import functions as F

    from govml import _jobfiles as jf
    from govml._exceptions import ScoringError
    from govml.scoring import OUTPUT_SCHEMA, check_options, parse_scored_at, resolve_model

    say = progress if progress is not None else (lambda message: None)
    check_options(top_k, max_unseen_features, reasons_above)
    if partitions is not None:
        partitions = _positive_int(partitions, "partitions")
    target = os.fspath(out)
    if _is_remote(target):
        raise ScoringError(
            f"out={target} is a URI; the Spark scoring job's tasks write their chunks to a path "
            "every executor and the driver see (local or a shared file system). For object "
            "stores use govml.spark.score(...) and write its DataFrames with Spark"
        )
    out_dir = Path(target.removeprefix("file://")).resolve()
    explicit_scored_at = scored_at is not None
    stamp = (
        parse_scored_at(scored_at) if explicit_scored_at else pd.Timestamp.now(tz="UTC").floor("us")
    )
    resolved = resolve_model(model)
    model_task = resolved.model.metadata.task
    if task is not None and task != model_task:
        raise ScoringError(
            f"--task is {task!r} but model {resolved.name!r} (version {resolved.version}) was "
            f"trained for {model_task!r}; pass that model's task or a {task} model"
        )
    task = model_task
    job = _score_input(tables, task, as_of, since, active_within)
    sessions = job.typed["sessions"]
    spark = sessions.sparkSession
    n = partitions or _default_partitions(spark, job.n_sessions)
    expected = None
    n_input = None
    if task == "low_quality":
        expected = sessions.filter(job.wanted).select(F.col("session_id").alias("entity_id"))
        n_input = job.n_window
    say(f"{task}: scoring as of {job.as_of} on Spark, {n} creator partitions")
    spec = jf.job_spec(
        task=task,
        model=resolved,
        as_of=job.as_of,
        window_start=job.window_start,
        active_within=active_within,
        top_k=top_k,
        reasons_above=reasons_above,
        max_unseen_features=max_unseen_features,
        input_rows=n_input,
        input_fingerprint=_spark_fingerprint(job.typed, job.as_of),
        scored_at=stamp,
        extra={"engine": "spark", "partitions": n},
    )
    stored = jf.check_out(out_dir, spec, explicit_scored_at=explicit_scored_at, overwrite=overwrite)
    if jf.is_finished(out_dir, stored):
        say(f"{out_dir} already holds this finished job; nothing to do")
        return jf.summarize(
            out_dir, stored, jf.read_records(out_dir), status="already_complete", reused=0
        )
    payload = None
    with jf.open_job(out_dir, spec, stored, progress=say) as opened:
        try:
            records = opened.records
            opts = _score_options(
                spark,
                pd.Timestamp(opened.spec["scored_at"]),
                top_k,
                reasons_above,
                max_unseen_features,
                resolved,
            )
            payload = spark.sparkContext.broadcast(_model_payload(resolved.model))
            packed = _creator_partitions(job.typed, job.plan, n)
            writer = functools.partial(
                _write_chunks_job, plan=job.plan, model=payload, opts=opts, out=str(out_dir)
            )
            with _worker_errors():
                rows = packed.mapInPandas(_guarded(writer), "chunk int, record string").collect()
            for row in rows:
                records[int(row["chunk"])] = json.loads(row["record"])
            say(f"{len(rows)} chunk(s) written; checking the row accounting")
            _verify_job(spark, out_dir, records, expected)
            summary = opened.summary()
            jf.write_success(
                out_dir, opened.spec, summary, records, output_columns=OUTPUT_SCHEMA.names
            )
        finally:
            if payload is not None:
                payload.unpersist()
    return summary
