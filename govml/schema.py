"""The data contract: six tables, their columns, constraints and "known at" times.

Every table has one *known-at* column: the moment its facts became known to the
platform. Point-in-time features for a prediction at ``t`` use only rows whose
known-at time is strictly before ``t``.

Timestamps
----------
One rule: every timestamp column is timezone-aware and normalised to UTC with
microsecond resolution (``datetime64[us, UTC]``). Values in another timezone are
converted to UTC. Naive (timezone-less) values are rejected, unless the caller
says explicitly which timezone they are in (``assume_timezone="Asia/Jakarta"``),
in which case they are localised to it and converted. Mixed naive and aware values
in one column are always rejected.

Money is in USD (``gmv``, ``amount``, ``value``) so markets are comparable.

Validation
----------
:func:`check_tables` checks tables against the contract and returns a
:class:`ValidationReport` listing *every* problem (it never stops at the first, and a
problem in one column never hides problems in another column or table).
:func:`validate_tables` returns normalised copies or raises :class:`ContractError`
carrying that report. The checks, by the name a :class:`Problem` carries:

``unknown_table``, ``missing_table``, ``not_a_frame``
    every contract table is present, as a pandas DataFrame, and nothing else.
``duplicate_column``, ``missing_column``
    column names are unique; every required column is there (optional columns that are
    absent are added, all-null).
``empty_table``
    ``creators`` and ``sessions`` hold at least one row; the event tables (outcomes,
    violations, actions, reviews) may be empty, since a short export window can have none.
``dtype``, ``timezone``
    values convert to the column's kind without loss; timestamps follow the timezone rule.
``null``, ``enum``, ``bounds``
    no missing values in non-nullable columns (blank strings count as missing); enum values
    come from the contract's levels; numbers are finite and inside their bounds.
``unique``, ``order``, ``foreign_key``
    keys are unique; ``TableSpec.ordered`` pairs hold (``ended_at >= started_at``, ...);
    every foreign key value exists in the table it refers to.

Normalised dtypes: ids and text ``str`` (pandas' string dtype), counts ``int64``, other
numbers ``float64``, flags ``bool``, enums ``pd.CategoricalDtype(<contract levels>)``
(the same categories whatever the source), timestamps ``datetime64[us, UTC]``.
Conversions that lose nothing are accepted: integral floats in count columns, integer ids,
ISO 8601 strings for timestamps, ``true``/``false``/``1``/``0`` strings for flags, numeric
strings from CSV. Sub-microsecond digits of timestamps are truncated. Columns that are
not in the contract are kept unchanged, after the contract columns.

The checks are vectorised pandas/numpy rather than a pandera schema: the timezone rule,
the lossless-coercion rule, examples keyed by the table's id and the cross-table checks
are not expressible as pandera column checks, and pandera's lazy mode materialises one
failure case per failing value, which grows to minutes and gigabytes when a whole
ten-million-row column fails (e.g. shares given as percentages); counting masks does not.
"""

from __future__ import annotations

import difflib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from govml._exceptions import ConfigError, ContractError, DataLoadError, MappingError

if TYPE_CHECKING:
    pass

__all__ = [
    "MARKETS",
    "CATEGORIES",
    "VIOLATION_KINDS",
    "ADVERSARIAL_VIOLATION_KINDS",
    "SEVERITIES",
    "VIOLATION_STATUSES",
    "ACTION_KINDS",
    "OUTCOME_KINDS",
    "SAMPLE_REASONS",
    "REVIEW_REASONS",
    "ColumnSpec",
    "ForeignKey",
    "TableSpec",
    "CONTRACT",
    "TABLE_NAMES",
    "TIMESTAMP_DTYPE",
    "Tables",
    "NON_EMPTY_TABLES",
    "CHECKS",
    "Problem",
    "ValidationReport",
    "check_tables",
    "validate_tables",
    "ColumnMapping",
    "load_tables",
    "save_tables",
    "describe_contract",
    "empty_table",
]

TIMESTAMP_DTYPE = "datetime64[us, UTC]"

MARKETS: tuple[str, ...] = ("ID", "MY", "PH", "SG", "TH", "VN")
CATEGORIES: tuple[str, ...] = (
    "fashion",
    "beauty",
    "electronics",
    "home",
    "food",
    "mother_baby",
    "health",
    "sports",
)
VIOLATION_KINDS: tuple[str, ...] = (
    "counterfeit",
    "misleading_claim",
    "prohibited_item",
    "off_platform_transaction",
    "fake_engagement",
    "abusive_behaviour",
    "low_quality_content",
)
#: Violation kinds that mark an adversarial seller (the creator-level task's label).
ADVERSARIAL_VIOLATION_KINDS: tuple[str, ...] = (
    "counterfeit",
    "off_platform_transaction",
    "fake_engagement",
)
SEVERITIES: tuple[str, ...] = ("minor", "major", "critical")
VIOLATION_STATUSES: tuple[str, ...] = ("confirmed", "overturned")
ACTION_KINDS: tuple[str, ...] = (
    "warning",
    "live_restriction",
    "commission_hold",
    "suspension",
    "incentive_reward",
    "campaign_participation",
    "commission_change",
)
OUTCOME_KINDS: tuple[str, ...] = ("refund", "complaint", "return")
#: Why a moderator reviewed a session. Only ``random_audit`` is an unbiased sample.
SAMPLE_REASONS: tuple[str, ...] = ("random_audit", "viewer_report", "risk_queue")
REVIEW_REASONS: tuple[str, ...] = (
    "static_or_looped",
    "no_presenter_speech",
    "misleading_content",
    "off_topic",
    "poor_production",
)

Kind = Literal["string", "int", "float", "bool", "timestamp", "enum"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    ``kind`` is the logical type: ``string`` (ids and free text), ``int`` (counts),
    ``float``, ``bool``, ``timestamp`` (UTC, see module docstring) or ``enum``
    (values from ``values``). ``min``/``max`` bound numbers inclusively.

    Examples
    --------
    >>> from govml.schema import CONTRACT
    >>> spec = CONTRACT["sessions"].column("static_frame_share")
    >>> spec.kind, spec.min, spec.max, spec.nullable
    ('float', 0.0, 1.0, False)
    """

    name: str
    kind: Kind
    description: str
    required: bool = True
    nullable: bool = False
    unique: bool = False
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class ForeignKey:
    """``table.column`` values must exist in ``ref_table.ref_column`` (nulls allowed if the column is nullable).

    Examples
    --------
    >>> from govml.schema import CONTRACT
    >>> [(fk.column, fk.ref_table) for fk in CONTRACT["reviews"].foreign_keys]
    [('session_id', 'sessions')]
    """

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract: its key, its known-at column, columns and cross-column rules.

    ``ordered`` lists ``(earlier, later)`` column pairs where ``later >= earlier`` must
    hold on every row where both are present. :data:`CONTRACT` maps each table name to its
    spec.

    Examples
    --------
    >>> from govml.schema import CONTRACT
    >>> spec = CONTRACT["sessions"]
    >>> spec.key, spec.known_at, spec.ordered
    ('session_id', 'ended_at', (('started_at', 'ended_at'),))
    >>> spec.required_columns[:3]
    ('session_id', 'creator_id', 'started_at')
    """

    name: str
    description: str
    key: str
    known_at: str
    known_at_doc: str
    columns: tuple[ColumnSpec, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    ordered: tuple[tuple[str, str], ...] = field(default=())

    def column(self, name: str) -> ColumnSpec:
        """The spec of column ``name`` (``KeyError`` if the contract has no such column).

        Examples
        --------
        >>> from govml.schema import CONTRACT
        >>> CONTRACT["reviews"].column("sample_reason").values
        ('random_audit', 'viewer_report', 'risk_queue')
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Names of the columns a table must hold (optional ones are added when absent).

        Examples
        --------
        >>> from govml.schema import CONTRACT
        >>> CONTRACT["creators"].required_columns
        ('creator_id', 'market', 'category', 'onboarded_at', 'is_business', 'commission_rate')
        """
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of every contract column, required or optional, in contract order.

        Examples
        --------
        >>> from govml.schema import CONTRACT
        >>> len(CONTRACT["sessions"].column_names) >= len(CONTRACT["sessions"].required_columns)
        True
        """
        return tuple(c.name for c in self.columns)


def _count(name: str, description: str) -> ColumnSpec:
    return ColumnSpec(name, "int", description, min=0)


def _share(name: str, description: str, *, required: bool = True) -> ColumnSpec:
    return ColumnSpec(name, "float", description, required=required, min=0.0, max=1.0)


CREATORS = TableSpec(
    name="creators",
    description="One row per creator account.",
    key="creator_id",
    known_at="onboarded_at",
    known_at_doc="onboarding time",
    columns=(
        ColumnSpec("creator_id", "string", "creator account id", unique=True),
        ColumnSpec("market", "enum", "market the account sells in", values=MARKETS),
        ColumnSpec("category", "enum", "primary product category", values=CATEGORIES),
        ColumnSpec("onboarded_at", "timestamp", "when the account was onboarded (known-at)"),
        ColumnSpec("is_business", "bool", "registered business rather than an individual"),
        ColumnSpec("commission_rate", "float", "commission rate at onboarding", min=0.0, max=1.0),
    ),
)

SESSIONS = TableSpec(
    name="sessions",
    description="One row per livestream session.",
    key="session_id",
    known_at="ended_at",
    known_at_doc="session end",
    columns=(
        ColumnSpec("session_id", "string", "livestream session id", unique=True),
        ColumnSpec("creator_id", "string", "creator who streamed"),
        ColumnSpec("started_at", "timestamp", "stream start"),
        ColumnSpec("ended_at", "timestamp", "stream end (known-at)"),
        _count("viewers", "unique viewers"),
        _count("peak_concurrent_viewers", "peak concurrent viewers"),
        ColumnSpec("avg_watch_seconds", "float", "average watch time per viewer", min=0.0),
        _count("likes", "likes"),
        _count("comments", "comments"),
        _count("shares", "shares"),
        _count("new_followers", "followers gained during the stream"),
        _count("products_listed", "products pinned or listed"),
        _count("product_clicks", "clicks on listed products"),
        _count("orders", "orders placed from the stream"),
        ColumnSpec("gmv", "float", "gross merchandise value, USD", min=0.0),
        _count("viewer_reports", "reports filed by viewers"),
        _share("static_frame_share", "upstream signal: share of static or looped frames"),
        _share("speech_share", "upstream signal: share of time with presenter speech"),
    ),
    foreign_keys=(ForeignKey("creator_id", "creators", "creator_id"),),
    ordered=(("started_at", "ended_at"),),
)

OUTCOMES = TableSpec(
    name="outcomes",
    description="One row per post-sale event tied to a session.",
    key="outcome_id",
    known_at="occurred_at",
    known_at_doc="its own timestamp, days after the session",
    columns=(
        ColumnSpec("outcome_id", "string", "event id", unique=True),
        ColumnSpec("session_id", "string", "session the sale came from"),
        ColumnSpec("kind", "enum", "refund, complaint or return", values=OUTCOME_KINDS),
        ColumnSpec("occurred_at", "timestamp", "when the event happened and became known"),
        ColumnSpec("amount", "float", "amount involved, USD", min=0.0),
    ),
    foreign_keys=(ForeignKey("session_id", "sessions", "session_id"),),
)

VIOLATIONS = TableSpec(
    name="violations",
    description="One row per enforcement record against a creator.",
    key="violation_id",
    known_at="detected_at",
    known_at_doc=(
        "detection time; the status is final only at resolved_at (appeal window closed "
        "or appeal decided). Before resolved_at a violation counts as confirmed."
    ),
    columns=(
        ColumnSpec("violation_id", "string", "enforcement record id", unique=True),
        ColumnSpec("creator_id", "string", "creator the record is against"),
        ColumnSpec(
            "session_id",
            "string",
            "session the violation happened in, if any",
            required=False,
            nullable=True,
        ),
        ColumnSpec("kind", "enum", "violation kind", values=VIOLATION_KINDS),
        ColumnSpec("severity", "enum", "minor, major or critical", values=SEVERITIES),
        _count("health_points", "account-health points the violation carries"),
        ColumnSpec(
            "occurred_at",
            "timestamp",
            "when the violating behaviour happened (not when it became known)",
        ),
        ColumnSpec("detected_at", "timestamp", "when the platform detected it (known-at)"),
        ColumnSpec("appealed", "bool", "the creator appealed"),
        ColumnSpec("status", "enum", "final status", values=VIOLATION_STATUSES),
        ColumnSpec("resolved_at", "timestamp", "when the status became final"),
    ),
    foreign_keys=(
        ForeignKey("creator_id", "creators", "creator_id"),
        ForeignKey("session_id", "sessions", "session_id"),
    ),
    ordered=(("occurred_at", "detected_at"), ("detected_at", "resolved_at")),
)

ACTIONS = TableSpec(
    name="actions",
    description="One row per penalty or reward applied to a creator.",
    key="action_id",
    known_at="taken_at",
    known_at_doc="its timestamp",
    columns=(
        ColumnSpec("action_id", "string", "action id", unique=True),
        ColumnSpec("creator_id", "string", "creator the action applies to"),
        ColumnSpec("kind", "enum", "penalty or reward kind", values=ACTION_KINDS),
        ColumnSpec("taken_at", "timestamp", "when the action took effect (known-at)"),
        ColumnSpec(
            "ends_at",
            "timestamp",
            "when a time-limited action (restriction, hold, suspension, campaign) ends",
            required=False,
            nullable=True,
        ),
        ColumnSpec(
            "value",
            "float",
            "reward amount in USD, or the new commission rate for commission_change",
            required=False,
            nullable=True,
        ),
        ColumnSpec(
            "violation_id",
            "string",
            "violation that triggered a penalty, if any",
            required=False,
            nullable=True,
        ),
    ),
    foreign_keys=(
        ForeignKey("creator_id", "creators", "creator_id"),
        ForeignKey("violation_id", "violations", "violation_id"),
    ),
    ordered=(("taken_at", "ends_at"),),
)

REVIEWS = TableSpec(
    name="reviews",
    description="One row per moderator verdict on a session.",
    key="review_id",
    known_at="reviewed_at",
    known_at_doc="review time",
    columns=(
        ColumnSpec("review_id", "string", "review id", unique=True),
        ColumnSpec("session_id", "string", "session reviewed"),
        ColumnSpec("reviewed_at", "timestamp", "when the verdict was given (known-at)"),
        ColumnSpec("is_low_quality", "bool", "moderator verdict"),
        ColumnSpec(
            "reason",
            "enum",
            "why it is low quality (null when it is not)",
            values=REVIEW_REASONS,
            required=False,
            nullable=True,
        ),
        ColumnSpec(
            "sample_reason",
            "enum",
            "why the session was reviewed; random_audit is the unbiased sample",
            values=SAMPLE_REASONS,
        ),
    ),
    foreign_keys=(ForeignKey("session_id", "sessions", "session_id"),),
)

#: The six tables, in dependency order (a table's foreign keys point to earlier tables).
CONTRACT: dict[str, TableSpec] = {
    t.name: t for t in (CREATORS, SESSIONS, OUTCOMES, VIOLATIONS, ACTIONS, REVIEWS)
}
TABLE_NAMES: tuple[str, ...] = tuple(CONTRACT)


@dataclass(frozen=True)
class Tables:
    """The six contract tables, as pandas DataFrames.

    Build one by hand (``Tables(creators=..., sessions=..., ...)``), from files with
    :func:`govml.load_tables`, or from the simulator. govml never mutates these frames.
    Pass them through :func:`govml.validate_tables` to get contract dtypes.

    Examples
    --------
    >>> import govml
    >>> tables = govml.simulate(n_creators=40, n_days=14, seed=1).tables
    >>> tables["sessions"] is tables.sessions
    True
    >>> [name for name, frame in tables.items()]
    ['creators', 'sessions', 'outcomes', 'violations', 'actions', 'reviews']
    >>> tables.n_rows()["creators"]
    40
    """

    creators: pd.DataFrame
    sessions: pd.DataFrame
    outcomes: pd.DataFrame
    violations: pd.DataFrame
    actions: pd.DataFrame
    reviews: pd.DataFrame

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in CONTRACT:
            raise KeyError(f"no table {name!r}; the contract has {', '.join(TABLE_NAMES)}")
        return getattr(self, name)

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        """``(name, frame)`` pairs in contract order.

        Examples
        --------
        >>> from govml.schema import TABLE_NAMES, Tables, empty_table
        >>> tables = Tables(**{name: empty_table(name) for name in TABLE_NAMES})
        >>> [(name, len(frame)) for name, frame in tables.items()][:2]
        [('creators', 0), ('sessions', 0)]
        """
        return [(name, getattr(self, name)) for name in TABLE_NAMES]

    def n_rows(self) -> dict[str, int]:
        """Row count per table, in contract order.

        Examples
        --------
        >>> from govml.schema import TABLE_NAMES, Tables, empty_table
        >>> Tables(**{name: empty_table(name) for name in TABLE_NAMES}).n_rows()
        {'creators': 0, 'sessions': 0, 'outcomes': 0, 'violations': 0, 'actions': 0, 'reviews': 0}
        """
        return {name: len(frame) for name, frame in self.items()}


# =========================================================================== validation

#: Tables that must hold at least one row. The event tables may be empty: a short
#: export window, or a new market, can have no outcomes, violations, actions or reviews.
NON_EMPTY_TABLES: tuple[str, ...] = ("creators", "sessions")

#: Every check a :class:`Problem` can name, in the order a report lists them.
CHECKS: tuple[str, ...] = (
    "unknown_table",
    "missing_table",
    "not_a_frame",
    "duplicate_column",
    "missing_column",
    "empty_table",
    "dtype",
    "timezone",
    "null",
    "enum",
    "bounds",
    "unique",
    "order",
    "foreign_key",
)

_MAX_EXAMPLES = 5
_TABLE_LEVEL = frozenset(CHECKS[:6])  # checks about a whole table or column, not rows
_STR = pd.StringDtype(na_value=np.nan)  # pandas' default string dtype, shown as "str"
_UTC = pd.DatetimeTZDtype(unit="us", tz="UTC")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_FLOAT_EXACT_INT = 2**53  # integers beyond this lose digits as float64
_INT64_MAX = np.iinfo(np.int64).max
# an ISO 8601 time of day followed by a UTC designator or an offset: "...T10:00:00+07:00"
_TZ_SUFFIX = r"[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class Problem:
    """One broken contract rule: where, what, how many rows, examples and the fix.

    Attributes
    ----------
    table : str
        Contract table (or, for ``unknown_table``, the name that was passed).
    column : str or None
        Column, or ``None`` for a table-level problem.
    check : str
        Name of the broken check, one of :data:`CHECKS`.
    message : str
        What is wrong and what the contract expects.
    n_failing : int
        Rows that break the rule (0 for ``missing_table``, ``unknown_table``,
        ``not_a_frame``, ``duplicate_column`` and ``empty_table``; every row for
        ``missing_column``).
    examples : tuple of str
        Up to five failing rows, as ``<key>=<id>: <column>=<value>``.
    hint : str
        How to fix it.

    Examples
    --------
    >>> p = Problem(table="sessions", column="viewers", check="bounds",
    ...             message="values must be >= 0; 1 below 0", n_failing=1,
    ...             examples=("session_id=s2: viewers=-1",), hint="counts cannot be negative")
    >>> print(p)
    sessions.viewers [bounds] 1 row: values must be >= 0; 1 below 0
        e.g. session_id=s2: viewers=-1
        fix: counts cannot be negative
    """

    table: str
    column: str | None
    check: str
    message: str
    n_failing: int = 0
    examples: tuple[str, ...] = ()
    hint: str = ""

    @property
    def where(self) -> str:
        """``table`` or ``table.column``.

        Examples
        --------
        >>> Problem("sessions", "viewers", "bounds", "values must be >= 0").where
        'sessions.viewers'
        >>> Problem("reviews", None, "missing_table", "no reviews table").where
        'reviews'
        """
        return self.table if self.column is None else f"{self.table}.{self.column}"

    def render(self, *, total: int | None = None) -> str:
        """The problem as a few indented lines; ``total`` is the table's row count.

        Examples
        --------
        >>> p = Problem("sessions", "viewers", "bounds", "values must be >= 0", n_failing=2,
        ...             hint="counts cannot be negative")
        >>> print(p.render(total=40))
        sessions.viewers [bounds] 2 of 40 rows: values must be >= 0
            fix: counts cannot be negative
        """
        if self.n_failing and self.check not in _TABLE_LEVEL:
            if total is None:
                count = f"{self.n_failing:,} row{'s' if self.n_failing != 1 else ''}"
            else:
                count = f"{self.n_failing:,} of {total:,} rows"
            head = f"{self.where} [{self.check}] {count}: {self.message}"
        else:
            head = f"{self.where} [{self.check}] {self.message}"
        lines = [head]
        if self.examples:
            lines.append("    e.g. " + " | ".join(self.examples))
        if self.hint:
            lines.append(f"    fix: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class ValidationReport:
    """Every contract problem found in a set of tables (empty when they are valid).

    Attributes
    ----------
    problems : tuple of Problem
        In contract order: table, then column, then check.
    n_rows : dict of str to int
        Rows of each table that was present (contract order).

    Examples
    --------
    >>> report = ValidationReport(problems=(), n_rows={"creators": 3, "sessions": 9})
    >>> report.ok
    True
    >>> print(report)
    data contract: OK, every check passed (creators=3, sessions=9 rows)

    A report from :func:`check_tables` on tables with a broken column:

    >>> import dataclasses
    >>> import govml
    >>> tables = govml.simulate(n_creators=40, n_days=14, seed=1).tables
    >>> broken = dataclasses.replace(tables, sessions=tables.sessions.assign(viewers=-1))
    >>> report = govml.check_tables(broken)
    >>> report.ok, report.checks_failed
    (False, ('bounds',))
    >>> report.to_frame()[["table", "column", "check"]].to_dict("records")
    [{'table': 'sessions', 'column': 'viewers', 'check': 'bounds'}]
    """

    problems: tuple[Problem, ...]
    n_rows: dict[str, int]

    @property
    def ok(self) -> bool:
        """True when no problem was found.

        Examples
        --------
        >>> ValidationReport(problems=(), n_rows={}).ok
        True
        """
        return not self.problems

    @property
    def checks_failed(self) -> tuple[str, ...]:
        """Names of the checks that failed, each once, in report order.

        Examples
        --------
        >>> problems = (
        ...     Problem("creators", "market", "enum", "unknown market 'XX'", n_failing=1),
        ...     Problem("sessions", "viewers", "bounds", "below 0", n_failing=3),
        ...     Problem("sessions", "likes", "bounds", "below 0", n_failing=1),
        ... )
        >>> ValidationReport(problems=problems, n_rows={}).checks_failed
        ('enum', 'bounds')
        """
        return tuple(dict.fromkeys(p.check for p in self.problems))

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: table, column, check, n_failing, message, examples, hint.

        Examples
        --------
        >>> p = Problem("sessions", "viewers", "bounds", "below 0", n_failing=3)
        >>> ValidationReport(problems=(p,), n_rows={"sessions": 10}).to_frame()[
        ...     ["table", "column", "n_failing"]]
              table   column  n_failing
        0  sessions  viewers          3
        """
        return pd.DataFrame(
            [
                {
                    "table": p.table,
                    "column": p.column,
                    "check": p.check,
                    "n_failing": p.n_failing,
                    "message": p.message,
                    "examples": "; ".join(p.examples),
                    "hint": p.hint,
                }
                for p in self.problems
            ],
            columns=["table", "column", "check", "n_failing", "message", "examples", "hint"],
        )

    def __str__(self) -> str:
        sizes = ", ".join(f"{name}={n:,}" for name, n in self.n_rows.items())
        sizes = f" ({sizes} rows)" if sizes else ""
        if self.ok:
            return f"data contract: OK, every check passed{sizes}"
        tables = ", ".join(dict.fromkeys(p.table for p in self.problems))
        n = len(self.problems)
        lines = [f"data contract: {n} problem{'s' if n != 1 else ''} in {tables}{sizes}"]
        for i, problem in enumerate(self.problems, 1):
            body = problem.render(total=self.n_rows.get(problem.table))
            lines.append(f"{i:>3}. " + body.replace("\n", "\n     "))
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _target_dtype(spec: ColumnSpec) -> Any:
    """The dtype a column has after validation."""
    if spec.kind in ("string",):
        return _STR
    if spec.kind == "int":
        return "Int64" if spec.nullable else np.dtype("int64")
    if spec.kind == "float":
        return np.dtype("float64")
    if spec.kind == "bool":
        return "boolean" if spec.nullable else np.dtype("bool")
    if spec.kind == "timestamp":
        return _UTC
    return pd.CategoricalDtype(list(spec.values), ordered=False)


def _null_series(spec: ColumnSpec, index: pd.Index) -> pd.Series:
    """An all-null column of the contract dtype (for absent optional columns)."""
    target = _target_dtype(spec)
    if spec.kind in ("int", "bool") and not spec.nullable:  # cannot hold nulls
        target = "Int64" if spec.kind == "int" else "boolean"
    return pd.Series(pd.array([None] * len(index), dtype=target), index=index, name=spec.name)


def _na(s: pd.Series) -> np.ndarray:
    """Null mask as a writable numpy array (``to_numpy`` may hand out a read-only view)."""
    return s.isna().to_numpy(dtype=bool, copy=True)


def _blank(s: pd.Series) -> np.ndarray:
    """Empty or whitespace-only strings of a ``str`` Series (NaN is not blank)."""
    if len(s) == 0:
        return np.zeros(0, dtype=bool)
    return ((s.str.len() == 0) | s.str.isspace()).to_numpy(dtype=bool, na_value=False)


def _is_text_dtype(dtype: Any) -> bool:
    return isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype)


def _kind_word(dtype: Any) -> str:
    """A readable word for what a column holds, for messages."""
    if pd.api.types.is_bool_dtype(dtype):
        return "true/false values"
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return "timestamps"
    if pd.api.types.is_numeric_dtype(dtype):
        return f"numbers ({dtype})"
    return f"{dtype} values"


def _from_arrow(s: pd.Series) -> pd.Series:
    """Arrow-backed columns (``pd.ArrowDtype``) as the equivalent numpy/pandas dtype."""
    import pyarrow as pa

    t = s.dtype.pyarrow_dtype
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return s.astype(_STR)
    if pa.types.is_timestamp(t):
        target = pd.DatetimeTZDtype(unit=t.unit, tz=t.tz) if t.tz else f"datetime64[{t.unit}]"
        return s.astype(target)
    if pa.types.is_integer(t):
        return s.astype("Int64")
    if pa.types.is_floating(t):
        return s.astype("Float64")
    if pa.types.is_boolean(t):
        return s.astype("boolean")
    return s.astype(object)


def _decategorise(s: pd.Series) -> pd.Series:
    """A categorical column as plain values (text categories become ``str``)."""
    categories = s.dtype.categories
    if isinstance(categories.dtype, pd.StringDtype) or (
        pd.api.types.infer_dtype(categories, skipna=True) == "string"
    ):
        return s.astype(_STR)
    return s.astype(object)


def _counts(values: pd.Series) -> pd.Series:
    """Value counts, most frequent first, ties by value (independent of row order)."""
    counts = values.value_counts().sort_index(kind="stable")
    return counts.sort_values(ascending=False, kind="stable")


def _label(value: Any) -> str:
    """An index label as the user would type it (``3``, ``'a'``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _fmt(value: Any) -> str:
    """A value as shown in an example (strings quoted so stray spaces are visible)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "<null>"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class _Failure:
    """Rows of one column that failed a conversion (``dtype``, ``timezone`` or ``enum``)."""

    check: str
    mask: np.ndarray
    message: str
    hint: str


@dataclass(frozen=True)
class _Coerced:
    """A column converted towards its contract dtype.

    ``values`` hold NA wherever the input was null (``null``) or could not be converted
    (the failures' masks); elsewhere they are the normalised values.
    """

    spec: ColumnSpec
    values: pd.Series
    null: np.ndarray
    failures: tuple[_Failure, ...] = ()

    @property
    def bad(self) -> np.ndarray:
        out = np.zeros(len(self.null), dtype=bool)
        for failure in self.failures:
            out |= failure.mask
        return out

    @property
    def usable(self) -> np.ndarray:
        """Rows holding a valid, converted value."""
        return ~self.null & ~self.bad


def _dtype_failure(spec: ColumnSpec, mask: np.ndarray, what: str) -> _Failure:
    hints = {
        "string": "store ids and text as strings (integer ids are accepted too)",
        "int": "counts must be whole numbers: fix or drop the rows shown, "
        "then cast with .astype('int64')",
        "float": "store plain numbers (no units, thousands separators or text)",
        "bool": "use true/false (or 1/0)",
        "timestamp": "use datetime64 values or ISO 8601 text with an offset, e.g. "
        "2024-05-01T12:00:00+07:00; convert epoch numbers with "
        "pd.to_datetime(x, unit='s', utc=True)",
        "enum": f"use the text labels {', '.join(spec.values)}",
    }
    return _Failure("dtype", mask, f"{what}; expected {spec.kind} values", hints[spec.kind])


def _all_bad(s: pd.Series, spec: ColumnSpec, what: str) -> _Coerced:
    null = _na(s)
    return _Coerced(spec, _null_series(spec, s.index), null, (_dtype_failure(spec, ~null, what),))


def _text(s: pd.Series, *, allow_int: bool = False) -> tuple[pd.Series, np.ndarray] | None:
    """A text-like column as ``str`` plus a mask of elements that are not text.

    Returns None when the column's dtype is not text-like at all.
    """
    if isinstance(s.dtype, pd.StringDtype):
        return (s if s.dtype == _STR else s.astype(_STR)), np.zeros(len(s), dtype=bool)
    if not pd.api.types.is_object_dtype(s.dtype):
        return None
    inferred = pd.api.types.infer_dtype(s, skipna=True)
    if inferred in ("string", "empty") or (allow_int and inferred == "integer"):
        return s.astype(_STR), np.zeros(len(s), dtype=bool)

    def ok(v: Any) -> bool:
        if isinstance(v, str):
            return True
        return allow_int and isinstance(v, int | np.integer) and not isinstance(v, bool)

    good = np.fromiter((ok(v) for v in s), dtype=bool, count=len(s))
    bad = ~good & ~_na(s)
    return s.where(good).astype(_STR), bad


# --------------------------------------------------------------------------- coercion


def _coerce_string(s: pd.Series, spec: ColumnSpec) -> _Coerced:
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        text, bad = s.astype(_STR), np.zeros(len(s), dtype=bool)
    else:
        converted = _text(s, allow_int=True)
        if converted is None:
            return _all_bad(s, spec, f"{_kind_word(s.dtype)} where text is expected")
        text, bad = converted
    blank = _blank(text)
    if blank.any():
        text = text.mask(blank)
    null = _na(text) & ~bad
    failures = ()
    if bad.any():
        failures = (_dtype_failure(spec, bad, "values that are not text"),)
    return _Coerced(spec, text, null, failures)


def _numeric(s: pd.Series, spec: ColumnSpec) -> tuple[pd.Series | None, np.ndarray, list]:
    """Numbers of a column (numeric dtype kept), its null mask and conversion failures."""
    if pd.api.types.is_bool_dtype(s.dtype):
        null = _na(s)
        return None, null, [_dtype_failure(spec, ~null, "true/false values")]
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s, _na(s), []
    if not _is_text_dtype(s.dtype):
        null = _na(s)
        return None, null, [_dtype_failure(spec, ~null, f"{_kind_word(s.dtype)}")]
    null = _na(s)
    if isinstance(s.dtype, pd.StringDtype) or pd.api.types.infer_dtype(s, skipna=True) in (
        "string",
        "empty",
    ):
        null |= _blank(s.astype(_STR))
    numbers = pd.to_numeric(s.mask(null) if null.any() else s, errors="coerce")
    unparsed = ~null & _na(numbers)
    failures = []
    if unparsed.any():
        failures.append(_dtype_failure(spec, unparsed, "text that is not a number"))
    return numbers, null, failures


def _coerce_int(s: pd.Series, spec: ColumnSpec) -> _Coerced:
    numbers, null, failures = _numeric(s, spec)
    if numbers is None:
        return _Coerced(spec, _null_series(spec, s.index), null, tuple(failures))
    if pd.api.types.is_integer_dtype(numbers.dtype):
        if numbers.dtype == np.int64:
            return _Coerced(spec, numbers, null, tuple(failures))
        if not null.any():
            arr = numbers.to_numpy()
            if arr.dtype == np.uint64 and len(arr) and arr.max() > _INT64_MAX:
                too_big = arr > _INT64_MAX
                failures.append(_dtype_failure(spec, too_big, "integers beyond the int64 range"))
                values = pd.Series(np.where(too_big, np.nan, arr), index=s.index, name=s.name)
                return _Coerced(spec, values, null, tuple(failures))
            return _Coerced(spec, numbers.astype(np.int64), null, tuple(failures))
        floats = numbers.to_numpy(dtype="float64", na_value=np.nan)
        return _Coerced(spec, pd.Series(floats, index=s.index, name=s.name), null, tuple(failures))
    arr = numbers.to_numpy(dtype="float64", na_value=np.nan)
    present = ~np.isnan(arr)
    with np.errstate(invalid="ignore"):
        fractional = present & (
            ~np.isfinite(arr) | (arr != np.trunc(arr)) | (np.abs(arr) > _FLOAT_EXACT_INT)
        )
    if fractional.any():
        failures.append(_dtype_failure(spec, fractional, "values that are not whole numbers"))
    bad = fractional | ~present
    if not bad.any():
        return _Coerced(spec, pd.Series(arr.astype(np.int64), index=s.index, name=s.name), null, ())
    values = pd.Series(np.where(fractional, np.nan, arr), index=s.index, name=s.name)
    return _Coerced(spec, values, null, tuple(failures))


def _coerce_float(s: pd.Series, spec: ColumnSpec) -> _Coerced:
    numbers, null, failures = _numeric(s, spec)
    if numbers is None:
        return _Coerced(spec, _null_series(spec, s.index), null, tuple(failures))
    if numbers.dtype == np.float64:
        return _Coerced(spec, numbers, null, tuple(failures))
    if pd.api.types.is_integer_dtype(numbers.dtype):
        ints = numbers.to_numpy(dtype="float64", na_value=np.nan)
        lossy = ~null & (np.abs(ints) > _FLOAT_EXACT_INT)
        if lossy.any():
            failures.append(_dtype_failure(spec, lossy, "integers too large for float64"))
            ints = np.where(lossy, np.nan, ints)
        return _Coerced(spec, pd.Series(ints, index=s.index, name=s.name), null, tuple(failures))
    arr = numbers.to_numpy(dtype="float64", na_value=np.nan)
    return _Coerced(spec, pd.Series(arr, index=s.index, name=s.name), null, tuple(failures))


def _coerce_bool(s: pd.Series, spec: ColumnSpec) -> _Coerced:
    if s.dtype == bool:
        return _Coerced(spec, s, np.zeros(len(s), dtype=bool))
    if isinstance(s.dtype, pd.BooleanDtype):
        return _Coerced(spec, s, _na(s))
    if pd.api.types.is_numeric_dtype(s.dtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        null = np.isnan(arr)
        is_true, is_false = arr == 1, arr == 0
    elif _is_text_dtype(s.dtype):
        text = s.astype(_STR)
        null = _na(s) | _blank(text)
        low = text.str.strip().str.lower()
        is_true = low.isin(_TRUE).to_numpy(dtype=bool)
        is_false = low.isin(_FALSE).to_numpy(dtype=bool)
    else:
        return _all_bad(s, spec, f"{_kind_word(s.dtype)} where true/false is expected")
    bad = ~null & ~is_true & ~is_false
    failures = (_dtype_failure(spec, bad, "values that are not true/false"),) if bad.any() else ()
    if null.any() or bad.any():
        values = pd.Series(pd.arrays.BooleanArray(is_true, null | bad), index=s.index, name=s.name)
    else:
        values = pd.Series(is_true, index=s.index, name=s.name)
    return _Coerced(spec, values, null, failures)


def _coerce_enum(s: pd.Series, spec: ColumnSpec) -> _Coerced:
    target = _target_dtype(spec)
    failures: list[_Failure] = []
    if isinstance(s.dtype, pd.CategoricalDtype) and (
        pd.api.types.infer_dtype(s.dtype.categories, skipna=True) in ("string", "empty")
    ):
        null = _na(s)
        values = s if s.dtype == target else s.cat.set_categories(target.categories)
        shown = s
    else:
        converted = _text(s)
        if converted is None:
            return _all_bad(s, spec, f"{_kind_word(s.dtype)} where text labels are expected")
        text, bad = converted
        blank = _blank(text)
        if blank.any():
            text = text.mask(blank)
        null = _na(text) & ~bad
        if bad.any():
            failures.append(_dtype_failure(spec, bad, "values that are not text"))
        codes = target.categories.get_indexer(text)  # -1 for nulls and unknown labels
        values = pd.Series(
            pd.Categorical.from_codes(codes, dtype=target), index=s.index, name=s.name
        )
        shown = text
    unknown = ~null & _na(values)
    for failure in failures:
        unknown &= ~failure.mask
    if unknown.any():
        counts = _counts(shown[unknown].astype(_STR))
        found = ", ".join(f"{v!r} ({n:,})" for v, n in counts.head(_MAX_EXAMPLES).items())
        more = f" and {len(counts) - _MAX_EXAMPLES} more" if len(counts) > _MAX_EXAMPLES else ""
        failures.append(
            _Failure(
                "enum",
                unknown,
                f"values outside the contract's levels: {found}{more}",
                f"allowed values: {', '.join(spec.values)}; map your labels onto them, "
                f"e.g. df[{spec.name!r}].replace({{'old label': '{spec.values[0]}'}})",
            )
        )
    return _Coerced(spec, values, null, tuple(failures))


def _naive_failure(spec: ColumnSpec, mask: np.ndarray) -> _Failure:
    return _Failure(
        "timezone",
        mask,
        "timestamps without a timezone (naive)",
        "pass assume_timezone='<the export's timezone>' (e.g. 'Asia/Jakarta' or 'UTC'), "
        "or localise the column yourself: df[col].dt.tz_localize(tz)",
    )


def _localise(naive: pd.Series, spec: ColumnSpec, tz: Any) -> tuple[pd.Series, _Failure | None]:
    """Naive datetimes localised to ``tz`` and converted to UTC; DST gaps/folds fail."""
    null = _na(naive)
    local = naive.dt.as_unit("us").dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    failed = ~null & _na(local)
    failure = None
    if failed.any():
        failure = _Failure(
            "timezone",
            failed,
            f"local times that do not exist or are ambiguous in {tz} (daylight-saving change)",
            "export these timestamps in UTC or with an explicit offset",
        )
    return local.dt.tz_convert("UTC"), failure


def _timestamp_text(s: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """A text or object column as ISO text (datetime objects rendered with their offset)."""
    if isinstance(s.dtype, pd.StringDtype):
        return _text(s)
    if not pd.api.types.is_object_dtype(s.dtype):
        return None
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return s.astype(_STR), np.zeros(len(s), dtype=bool)
    import datetime as dt

    def iso(v: Any) -> Any:
        if isinstance(v, str):
            return v
        if v is pd.NaT:  # NaT is a datetime subclass; it is a null, not bad text
            return None
        if isinstance(v, dt.datetime | dt.date):  # pd.Timestamp is a datetime
            return v.isoformat()
        if isinstance(v, np.datetime64):
            return None if np.isnat(v) else str(v)
        return None

    raw_null = _na(s)
    out = [iso(v) for v in s]
    good = np.fromiter((v is not None for v in out), dtype=bool, count=len(out))
    return pd.Series(out, index=s.index, dtype=_STR), ~good & ~raw_null


def _coerce_timestamp(s: pd.Series, spec: ColumnSpec, tz: Any) -> _Coerced:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        values = s if s.dtype == _UTC else s.dt.tz_convert("UTC").dt.as_unit("us")
        return _Coerced(spec, values, _na(s))
    if pd.api.types.is_datetime64_dtype(s.dtype):
        null = _na(s)
        if tz is None:
            if not (~null).any():  # all-null naive column: nothing to localise
                return _Coerced(spec, _null_series(spec, s.index), null)
            return _Coerced(spec, _null_series(spec, s.index), null, (_naive_failure(spec, ~null),))
        values, failure = _localise(s, spec, tz)
        return _Coerced(spec, values, null, (failure,) if failure else ())
    converted = _timestamp_text(s)
    if converted is None:
        return _all_bad(s, spec, f"{_kind_word(s.dtype)} where timestamps are expected")
    text, not_text = converted
    null = (_na(text) & ~not_text) | _blank(text)
    failures: list[_Failure] = []
    if not_text.any():
        failures.append(_dtype_failure(spec, not_text, "values that are neither text nor dates"))
    text = text.mask(null | not_text)
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    unparsed = ~null & ~not_text & _na(parsed)
    if unparsed.any():
        failures.append(_dtype_failure(spec, unparsed, "text that is not an ISO 8601 timestamp"))
    ok = ~null & ~not_text & ~unparsed
    aware = ok & text.str.contains(_TZ_SUFFIX, regex=True).to_numpy(dtype=bool, na_value=False)
    naive = ok & ~aware
    if naive.any() and aware.any():
        failures.append(
            _Failure(
                "timezone",
                naive,
                f"mixed naive and timezone-aware values ({int(naive.sum()):,} without a "
                f"timezone, {int(aware.sum()):,} with one)",
                "give every value an offset (e.g. +07:00 or Z), or none and pass assume_timezone",
            )
        )
        parsed = parsed.mask(naive)
    elif naive.any():
        if tz is None:
            failures.append(_naive_failure(spec, naive))
            parsed = parsed.mask(naive)
        else:
            local = pd.to_datetime(text, format="ISO8601", errors="coerce")
            parsed, failure = _localise(local, spec, tz)
            if failure:
                failures.append(failure)
    values = parsed.dt.as_unit("us")
    return _Coerced(spec, values, null, tuple(failures))


def _coerce(s: pd.Series, spec: ColumnSpec, tz: Any) -> _Coerced:
    if isinstance(s.dtype, pd.ArrowDtype):
        s = _from_arrow(s)
    if isinstance(s.dtype, pd.CategoricalDtype) and spec.kind != "enum":
        s = _decategorise(s)
    if spec.kind == "string":
        return _coerce_string(s, spec)
    if spec.kind == "int":
        return _coerce_int(s, spec)
    if spec.kind == "float":
        return _coerce_float(s, spec)
    if spec.kind == "bool":
        return _coerce_bool(s, spec)
    if spec.kind == "timestamp":
        return _coerce_timestamp(s, spec, tz)
    return _coerce_enum(s, spec)


def _finalise(col: _Coerced) -> pd.Series:
    """The converted column in exactly its contract dtype (only called on valid columns)."""
    target = _target_dtype(col.spec)
    values = col.values
    return values if values.dtype == target else values.astype(target)


# --------------------------------------------------------------------------- the checks


def _resolve_timezone(assume_timezone: Any) -> Any:
    if assume_timezone is None:
        return None
    try:
        pd.Timestamp("2000-01-01").tz_localize(assume_timezone)
    except Exception as error:
        raise ConfigError(
            f"assume_timezone={assume_timezone!r} is not a timezone pandas knows ({error}); "
            "use an IANA name such as 'Asia/Jakarta', 'Asia/Bangkok' or 'UTC'"
        ) from None
    return assume_timezone


class _TableCheck:
    """Checks one table and keeps its converted columns for the cross-table checks."""

    def __init__(self, spec: TableSpec, frame: pd.DataFrame, tz: Any) -> None:
        self.spec = spec
        self.frame = frame
        self.tz = tz
        self.problems: list[Problem] = []
        self.columns: dict[str, _Coerced] = {}
        self.raw: dict[str, pd.Series] = {}  # the input column each conversion started from
        dup = frame.columns[frame.columns.duplicated()]
        self.duplicated = set(dup)
        key = spec.key
        self.keys = frame[key] if key in frame.columns and key not in self.duplicated else None
        self.key_repeated: np.ndarray | None = None  # rows whose key value is not unique

    def problem(
        self,
        check: str,
        message: str,
        hint: str,
        *,
        column: str | None = None,
        mask: np.ndarray | None = None,
        show: Mapping[str, pd.Series] | None = None,
        n_failing: int = 0,
        examples: tuple[str, ...] | None = None,
    ) -> None:
        if mask is not None:
            n_failing = int(mask.sum())
            if examples is None:
                examples = self.examples(mask, show or {})
        self.problems.append(
            Problem(
                table=self.spec.name,
                column=column,
                check=check,
                message=message,
                n_failing=n_failing,
                examples=examples or (),
                hint=hint,
            )
        )

    def examples(self, mask: np.ndarray, show: Mapping[str, pd.Series]) -> tuple[str, ...]:
        out = []
        for pos in np.flatnonzero(mask)[:_MAX_EXAMPLES]:
            key = None if self.keys is None else self.keys.iloc[pos]
            if key is None or not pd.api.types.is_scalar(key) or pd.isna(key):
                who = f"row {_label(self.frame.index[pos])}"
            else:
                who = f"{self.spec.key}={key.item() if isinstance(key, np.generic) else key}"
                if self.key_repeated is not None and self.key_repeated[pos]:
                    who += f" (row {_label(self.frame.index[pos])})"
            shown = " ".join(f"{name}={_fmt(values.iloc[pos])}" for name, values in show.items())
            out.append(f"{who}: {shown}" if shown else who)
        return tuple(sorted(out))

    def run(self) -> None:
        spec, frame = self.spec, self.frame
        if self.duplicated:
            names = ", ".join(map(repr, sorted(map(str, self.duplicated))))
            self.problem(
                "duplicate_column",
                f"column names appear more than once: {names}",
                "drop or rename the duplicates (df.loc[:, ~df.columns.duplicated()])",
            )
        extras = [str(c) for c in frame.columns if c not in spec.column_names]
        for col in spec.columns:
            if col.required and col.name not in frame.columns:
                self.problem(
                    "missing_column",
                    f"required column {col.name!r} ({col.kind}: {col.description}) is missing",
                    _missing_column_hint(spec.name, col.name, extras),
                    column=col.name,
                    n_failing=len(frame),
                )
        if spec.name in NON_EMPTY_TABLES and len(frame) == 0:
            self.problem(
                "empty_table",
                "the table has no rows; creators and sessions must not be empty",
                "check the export's filters and date range",
            )
        for col in spec.columns:
            if col.name in frame.columns and col.name not in self.duplicated:
                self.check_column(col, frame[col.name])
        self.check_order()

    def check_column(self, spec: ColumnSpec, raw: pd.Series) -> None:
        col = _coerce(raw, spec, self.tz)
        self.columns[spec.name] = col
        self.raw[spec.name] = raw
        for failure in col.failures:
            self.problem(
                failure.check,
                failure.message,
                failure.hint,
                column=spec.name,
                mask=failure.mask,
                show={spec.name: raw},
            )
        if not spec.nullable and col.null.any():
            self.problem(
                "null",
                "missing values (null, NaN or blank) in a column that must always be set",
                "fill or drop the rows shown; the contract does not allow nulls here",
                column=spec.name,
                mask=col.null,
                show={spec.name: raw},
            )
        if spec.kind in ("int", "float"):
            self.check_bounds(col)
        if spec.unique:
            self.check_unique(col)

    def check_bounds(self, col: _Coerced) -> None:
        spec = col.spec
        arr = col.values.to_numpy(dtype="float64", na_value=np.nan)
        usable = col.usable
        parts, failing = [], np.zeros(len(arr), dtype=bool)
        with np.errstate(invalid="ignore"):
            if spec.kind == "float":
                bad = usable & ~np.isfinite(arr)
                if bad.any():
                    parts.append(f"{int(bad.sum()):,} not finite (inf)")
                    failing |= bad
            if spec.min is not None:
                bad = usable & (arr < spec.min)
                if bad.any():
                    parts.append(f"{int(bad.sum()):,} below {spec.min:g}")
                    failing |= bad
            if spec.max is not None:
                bad = usable & (arr > spec.max)
                if bad.any():
                    parts.append(f"{int(bad.sum()):,} above {spec.max:g}")
                    failing |= bad
        if not failing.any():
            return
        hint = "fix or drop the rows shown"
        if spec.min == 0 and spec.max is None:
            hint = f"{spec.name} cannot be negative; {hint}"
        if spec.max == 1.0:
            over = usable & (arr > 1) & (arr <= 100)
            if over.any():
                hint = f"{spec.name} is a fraction in [0, 1]: divide percentages by 100"
        self.problem(
            "bounds",
            f"values must be {_bounds_text(spec)}; {', '.join(parts)}",
            hint,
            column=spec.name,
            mask=failing,
            show={spec.name: self.frame[spec.name]},
        )

    def check_unique(self, col: _Coerced) -> None:
        usable = col.usable
        if not _has_duplicates(col.values):
            return
        dup = usable & col.values.duplicated(keep=False).to_numpy(dtype=bool)
        if not dup.any():
            return
        if col.spec.name == self.spec.key:
            self.key_repeated = dup
        counts = _counts(col.values[dup])
        examples = tuple(
            f"{col.spec.name}={_fmt(v)} appears {n:,} times"
            for v, n in counts.head(_MAX_EXAMPLES).items()
        )
        self.problem(
            "unique",
            f"{len(counts):,} value{' appears' if len(counts) == 1 else 's appear'} more "
            f"than once; {col.spec.name} must be unique",
            f"drop duplicate rows (df.drop_duplicates({col.spec.name!r})) or fix the ids",
            column=col.spec.name,
            mask=dup,
            examples=examples,
        )

    def check_order(self) -> None:
        for earlier, later in self.spec.ordered:
            a, b = self.columns.get(earlier), self.columns.get(later)
            if a is None or b is None:
                continue
            both = a.usable & b.usable
            before = np.asarray(b.values.array < a.values.array, dtype=bool)
            wrong = both & before
            if wrong.any():
                self.problem(
                    "order",
                    f"{later} is before {earlier}; expected {later} >= {earlier}",
                    "check for swapped columns or timestamps exported in different timezones",
                    column=later,
                    mask=wrong,
                    show={earlier: a.values, later: b.values},
                )

    def check_foreign_key(self, fk: ForeignKey, parent: _Coerced) -> None:
        child = self.columns.get(fk.column)
        if child is None:
            return
        usable = parent.usable
        known = parent.values if usable.all() else parent.values[usable]
        orphan = child.usable & ~_isin(child.values, known)
        if orphan.any():
            self.problem(
                "foreign_key",
                f"values not found in {fk.ref_table}.{fk.ref_column} (orphans)",
                f"every {self.spec.name}.{fk.column} must exist in "
                f"{fk.ref_table}.{fk.ref_column}: export the missing {fk.ref_table} rows "
                "or drop these rows",
                column=fk.column,
                mask=orphan,
                show={fk.column: child.values},
            )

    def normalised(self) -> pd.DataFrame:
        """The table with contract columns first (contract order, contract dtypes).

        Columns that already had their contract dtype are not copied: the result is a
        copy-on-write selection of the caller's frame, so writing to it never reaches
        the caller's frame, and memory is only spent on converted columns.
        """
        frame, names = self.frame, self.spec.column_names
        present = [name for name in names if name in self.columns]
        out = frame[present + [c for c in frame.columns if c not in names]]
        for name in present:
            col = self.columns[name]
            values = _finalise(col)
            if values is not self.raw[name]:
                out[name] = values
        for position, spec in enumerate(self.spec.columns):
            if spec.name not in self.columns:
                out.insert(position, spec.name, _null_series_final(spec, frame.index))
        return out


def _has_duplicates(values: pd.Series) -> bool:
    """Whether any non-null value repeats (a fast distinct count before the exact mask)."""
    if isinstance(values.dtype, pd.StringDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(values.array)
        return pc.count_distinct(arr).as_py() < len(arr) - arr.null_count
    return bool(values.duplicated().any())


def _isin(values: pd.Series, known: pd.Series) -> np.ndarray:
    """``values.isin(known)`` as numpy; vectorised in Arrow for text columns.

    (pandas' own ``isin`` on ``str`` columns turns ``known`` into Python objects one by
    one, which takes minutes for millions of keys.)
    """
    if isinstance(values.dtype, pd.StringDtype) and isinstance(known.dtype, pd.StringDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        left = pa.array(values.array)
        right = pa.array(known.array).cast(left.type)
        if len(right) > 4 * len(left):
            # few values, many keys (reviews -> sessions): hash the few, scan the many once
            hits = pc.is_in(right, value_set=left, skip_nulls=True).fill_null(False)
            right = right.filter(hits)
        found = pc.is_in(left, value_set=right, skip_nulls=True)
        return found.fill_null(False).to_numpy(zero_copy_only=False)
    return values.isin(known).to_numpy(dtype=bool)


def _null_series_final(spec: ColumnSpec, index: pd.Index) -> pd.Series:
    target = _target_dtype(spec)
    return _null_series(spec, index).astype(target)


def _bounds_text(spec: ColumnSpec) -> str:
    if spec.min is not None and spec.max is not None:
        return f"in [{spec.min:g}, {spec.max:g}]"
    if spec.min is not None:
        return f">= {spec.min:g}"
    return f"<= {spec.max:g}"


def _missing_column_hint(table: str, column: str, extras: list[str]) -> str:
    hint = (
        f"add it, or map your column onto it: "
        f"ColumnMapping(columns={{{table!r}: {{'<your column>': {column!r}}}}})"
    )
    close = difflib.get_close_matches(column, extras, n=3, cutoff=0.6)
    close += [e for e in extras if e.lower() == column.lower() and e not in close]
    if close:
        hint = f"the table has {', '.join(map(repr, close))}: is that it? " + hint
    return hint


def _unknown_table_hint(name: str) -> str:
    close = difflib.get_close_matches(name, TABLE_NAMES, n=1)
    did = f"did you mean {close[0]!r}? " if close else ""
    return f"{did}the contract has {', '.join(TABLE_NAMES)}; rename it or leave it out"


def _as_frames(tables: Any) -> dict[str, Any]:
    if isinstance(tables, Tables):
        return dict(tables.items())
    if isinstance(tables, Mapping):
        return dict(tables.items())
    raise ContractError(
        f"expected govml.Tables or a mapping {{table name: DataFrame}}, got "
        f"{type(tables).__name__}; build one with Tables(creators=..., sessions=..., ...)"
    )


def _run(tables: Any, assume_timezone: Any) -> tuple[ValidationReport, dict[str, _TableCheck]]:
    tz = _resolve_timezone(assume_timezone)
    given = _as_frames(tables)
    problems: list[Problem] = []
    for name in given:
        if name not in CONTRACT:
            problems.append(
                Problem(
                    table=str(name),
                    column=None,
                    check="unknown_table",
                    message="not a contract table",
                    hint=_unknown_table_hint(str(name)),
                )
            )
    checks: dict[str, _TableCheck] = {}
    for name, spec in CONTRACT.items():
        frame = given.get(name)
        if frame is None:
            problems.append(
                Problem(
                    table=name,
                    column=None,
                    check="missing_table",
                    message=f"table is missing ({spec.description})",
                    hint=(
                        "provide it (govml.describe_contract() lists its columns)"
                        if name in NON_EMPTY_TABLES
                        else "provide it; if there are no such events, pass "
                        f"govml.schema.empty_table({name!r})"
                    ),
                )
            )
            continue
        if not isinstance(frame, pd.DataFrame):
            problems.append(
                Problem(
                    table=name,
                    column=None,
                    check="not_a_frame",
                    message=f"expected a pandas DataFrame, got {type(frame).__name__}",
                    hint="convert it first (polars: .to_pandas(); Spark: .toPandas())",
                )
            )
            continue
        check = _TableCheck(spec, frame, tz)
        check.run()
        checks[name] = check
    for check in checks.values():
        for fk in check.spec.foreign_keys:
            parent = checks.get(fk.ref_table)
            ref = None if parent is None else parent.columns.get(fk.ref_column)
            if ref is not None:
                check.check_foreign_key(fk, ref)
        problems.extend(check.problems)
    report = ValidationReport(
        problems=tuple(sorted(problems, key=_problem_order)),
        n_rows={name: len(check.frame) for name, check in checks.items()},
    )
    return report, checks


def _problem_order(p: Problem) -> tuple[int, int, int]:
    table = TABLE_NAMES.index(p.table) if p.table in CONTRACT else len(TABLE_NAMES)
    names = CONTRACT[p.table].column_names if p.table in CONTRACT else ()
    column = -1 if p.column is None else (names.index(p.column) if p.column in names else 999)
    return table, column, CHECKS.index(p.check)


def check_tables(
    tables: Tables | Mapping[str, pd.DataFrame], *, assume_timezone: str | None = None
) -> ValidationReport:
    """Check tables against the data contract and report every problem.

    Never raises for a contract problem: every problem of every table and column is
    collected into the report (see the module docstring for the checks).

    Parameters
    ----------
    tables : Tables or mapping of str to DataFrame
        The six contract tables.
    assume_timezone : str, optional
        Timezone of naive (timezone-less) timestamps, e.g. ``"Asia/Jakarta"``. Without it
        naive timestamps are a ``timezone`` problem.

    Returns
    -------
    ValidationReport

    Raises
    ------
    ConfigError
        ``assume_timezone`` is not a timezone.
    ContractError
        ``tables`` is neither ``Tables`` nor a mapping.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.schema import TABLE_NAMES, check_tables, empty_table
    >>> creators = pd.DataFrame({
    ...     "creator_id": ["c1", "c1"], "market": ["ID", "XX"], "category": ["beauty"] * 2,
    ...     "onboarded_at": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
    ...     "is_business": [True, False], "commission_rate": [0.05, 0.05]})
    >>> tables = {name: empty_table(name) for name in TABLE_NAMES} | {"creators": creators}
    >>> report = check_tables(tables)
    >>> report.ok
    False
    >>> [(p.where, p.check) for p in report.problems]
    [('creators.creator_id', 'unique'), ('creators.market', 'enum'), ('sessions', 'empty_table')]
    >>> print(report.problems[1])
    creators.market [enum] 1 row: values outside the contract's levels: 'XX' (1)
        e.g. creator_id=c1 (row 1): market='XX'
        fix: allowed values: ID, MY, PH, SG, TH, VN; map your labels onto them, e.g. df['market'].replace({'old label': 'ID'})
    """
    report, _ = _run(tables, assume_timezone)
    return report


def validate_tables(
    tables: Tables | Mapping[str, pd.DataFrame], *, assume_timezone: str | None = None
) -> Tables:
    """Validate tables and return normalised copies, or raise with every problem.

    The caller's frames are never modified. Contract columns come first, in contract
    order and contract dtypes; absent optional columns are added (all null); extra
    columns follow unchanged. The index is kept.

    Parameters
    ----------
    tables : Tables or mapping of str to DataFrame
        The six contract tables.
    assume_timezone : str, optional
        Timezone of naive timestamps (see :func:`check_tables`).

    Returns
    -------
    Tables
        Normalised copies (copy-on-write: unchanged columns share memory until written).

    Raises
    ------
    ContractError
        Any contract problem; ``str(error)`` is the report and ``error.problems`` the
        :class:`Problem` objects.
    ConfigError
        ``assume_timezone`` is not a timezone.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.schema import TABLE_NAMES, empty_table, validate_tables
    >>> creators = pd.DataFrame({
    ...     "creator_id": [101], "market": ["TH"], "category": ["home"],
    ...     "onboarded_at": ["2024-01-01T09:00:00+07:00"],
    ...     "is_business": ["true"], "commission_rate": [0.04]})
    >>> counts = [c.name for c in CONTRACT["sessions"].columns if c.kind == "int"]
    >>> sessions = pd.DataFrame([{
    ...     "session_id": "s1", "creator_id": "101",
    ...     "started_at": "2024-02-01 19:00", "ended_at": "2024-02-01 20:30",
    ...     "avg_watch_seconds": 80.0, "gmv": 250.0,
    ...     "static_frame_share": 0.1, "speech_share": 0.8, **dict.fromkeys(counts, 3)}])
    >>> tables = {name: empty_table(name) for name in TABLE_NAMES}
    >>> tables |= {"creators": creators, "sessions": sessions}
    >>> valid = validate_tables(tables, assume_timezone="Asia/Bangkok")
    >>> valid.creators.loc[0, "onboarded_at"]
    Timestamp('2024-01-01 02:00:00+0000', tz='UTC')
    >>> valid.sessions.loc[0, "ended_at"]
    Timestamp('2024-02-01 13:30:00+0000', tz='UTC')
    >>> valid.creators.dtypes.astype(str).tolist()
    ['str', 'category', 'category', 'datetime64[us, UTC]', 'bool', 'float64']
    """
    report, checks = _run(tables, assume_timezone)
    if not report.ok:
        raise ContractError(str(report), report.problems)
    return Tables(**{name: check.normalised() for name, check in checks.items()})


def empty_table(name: str) -> pd.DataFrame:
    """A valid table with no rows: the contract's columns in their contract dtypes.

    Examples
    --------
    >>> from govml.schema import empty_table
    >>> frame = empty_table("reviews")
    >>> len(frame), frame["sample_reason"].cat.categories.tolist()
    (0, ['random_audit', 'viewer_report', 'risk_queue'])
    """
    if name not in CONTRACT:
        raise ContractError(f"no table {name!r}; the contract has {', '.join(TABLE_NAMES)}")
    index = pd.RangeIndex(0)
    return pd.DataFrame(
        {c.name: _null_series_final(c, index) for c in CONTRACT[name].columns}, index=index
    )


# =========================================================================== mapping


@dataclass(frozen=True)
class ColumnMapping:
    """How a user's export maps onto the contract: file names and column names.

    Attributes
    ----------
    files : mapping of str to str
        Table name -> file or folder (relative to the folder passed to
        :func:`load_tables`, or absolute) holding it, for tables whose file is not
        ``<table>.parquet``, ``<table>.csv`` or ``<table>/``.
    columns : mapping of str to mapping of str to str
        Table name -> ``{their_column: contract_column}``. Columns not named keep their
        names; extra columns are kept.

    Raises
    ------
    MappingError
        On construction, when it names a table or contract column that does not exist,
        maps two columns onto one, or holds something other than strings.

    Examples
    --------
    >>> from govml.schema import ColumnMapping
    >>> mapping = ColumnMapping.from_dict({
    ...     "files": {"sessions": "live_streams.csv"},
    ...     "columns": {"sessions": {"stream_id": "session_id", "host_id": "creator_id"}},
    ... })
    >>> mapping.files["sessions"]
    'live_streams.csv'
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"stream_id": ["s1"], "host_id": ["c1"], "note": ["x"]})
    >>> mapping.rename("sessions", frame).columns.tolist()
    ['session_id', 'creator_id', 'note']
    """

    files: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        files = _mapping_section(self.files, "files")
        for table, name in files.items():
            _mapping_table(table, "files")
            if isinstance(name, os.PathLike):
                name = os.fspath(name)
            if not isinstance(name, str) or not name:
                raise MappingError(f"files: {table}: expected a file or folder name, got {name!r}")
            files[table] = name
        columns: dict[str, dict[str, str]] = {}
        for table, renames in _mapping_section(self.columns, "columns").items():
            _mapping_table(table, "columns")
            renames = _mapping_section(renames, f"columns: {table}")
            spec = CONTRACT[table]
            seen: dict[str, str] = {}
            for theirs, ours in renames.items():
                if not isinstance(theirs, str) or not isinstance(ours, str):
                    raise MappingError(
                        f"columns: {table}: expected 'their_column: contract_column' text "
                        f"pairs, got {theirs!r}: {ours!r}"
                    )
                if ours not in spec.column_names:
                    close = difflib.get_close_matches(ours, spec.column_names, n=1)
                    did = f" (did you mean {close[0]!r}?)" if close else ""
                    raise MappingError(
                        f"columns: {table}: maps {theirs!r} onto {ours!r}, which is not a "
                        f"column of the {table} contract{did}; its columns are "
                        f"{', '.join(spec.column_names)}"
                    )
                if ours in seen:
                    raise MappingError(
                        f"columns: {table}: maps both {seen[ours]!r} and {theirs!r} onto "
                        f"{ours!r}; map exactly one column onto each contract column"
                    )
                seen[ours] = theirs
            if renames:
                columns[table] = dict(renames)
        object.__setattr__(self, "files", files)
        object.__setattr__(self, "columns", columns)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ColumnMapping:
        """Build a mapping from ``{"files": {...}, "columns": {...}}`` (both optional).

        Examples
        --------
        >>> from govml.schema import ColumnMapping
        >>> m = ColumnMapping.from_dict({"columns": {"creators": {"seller_id": "creator_id"}}})
        >>> dict(m.files), m.columns["creators"]
        ({}, {'seller_id': 'creator_id'})
        """
        data = _mapping_section(data, "mapping")
        unknown = sorted(str(k) for k in data if k not in ("files", "columns"))
        if unknown:
            raise MappingError(
                f"unknown mapping section(s) {', '.join(map(repr, unknown))}; a column "
                "mapping has 'files' (table: file name) and 'columns' "
                "(table: {their_column: contract_column})"
            )
        return cls(files=data.get("files") or {}, columns=data.get("columns") or {})

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> ColumnMapping:
        """Read a mapping from a YAML file with ``files:`` and ``columns:`` sections.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from govml.schema import ColumnMapping
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "mapping.yaml"
        >>> _ = path.write_text("columns:\\n  creators:\\n    seller_id: creator_id\\n")
        >>> ColumnMapping.from_yaml(path).columns
        {'creators': {'seller_id': 'creator_id'}}
        """
        import yaml

        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise DataLoadError(
                f"cannot read the column mapping {path}: {error.strerror or error}; check the path"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise MappingError(f"column mapping {path} is not valid YAML: {error}") from None
        try:
            return cls.from_dict(data)
        except MappingError as error:
            raise MappingError(f"column mapping {path}: {error}") from None

    def rename(
        self, table: str, frame: pd.DataFrame, *, source: str | os.PathLike[str] | None = None
    ) -> pd.DataFrame:
        """``frame`` with ``table``'s columns renamed to contract names (a new frame).

        Raises
        ------
        MappingError
            A mapped column is absent from the frame, or renaming would give two columns
            the same name. ``source`` (a file name) is named in the message.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.schema import ColumnMapping
        >>> m = ColumnMapping(columns={"creators": {"seller_id": "creator_id"}})
        >>> m.rename("creators", pd.DataFrame({"seller_id": ["c1"], "market": ["ID"]})).columns.tolist()
        ['creator_id', 'market']
        """
        renames = self.columns.get(table, {})
        if not renames:
            return frame
        where = f"{Path(source).name}" if source is not None else f"the {table} frame"
        have = [str(c) for c in frame.columns]
        absent = [c for c in renames if c not in frame.columns]
        if absent:
            raise MappingError(
                f"column mapping for {table} names {', '.join(map(repr, absent))}, absent from "
                f"{where}; it has columns {', '.join(map(repr, have))}. Fix the mapping's "
                f"'columns: {table}:' entries"
            )
        clashes = [
            (theirs, ours)
            for theirs, ours in renames.items()
            if theirs != ours and ours in frame.columns and ours not in renames
        ]
        if clashes:
            theirs, ours = clashes[0]
            raise MappingError(
                f"column mapping for {table} maps {theirs!r} onto {ours!r}, but {where} "
                f"already has a column {ours!r}; drop one of them or map the other elsewhere"
            )
        return frame.rename(columns={k: v for k, v in renames.items() if k != v})

    def apply(self, tables: Tables | Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """Rename the columns of in-memory tables (a new dict of new frames).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.schema import ColumnMapping
        >>> mapping = ColumnMapping(columns={"creators": {"seller": "creator_id"}})
        >>> out = mapping.apply({"creators": pd.DataFrame({"seller": ["c1"]})})
        >>> out["creators"].columns.tolist()
        ['creator_id']
        """
        return {name: self.rename(name, frame) for name, frame in _as_frames(tables).items()}


def _mapping_section(value: Any, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MappingError(
            f"{where}: expected a mapping (YAML 'key: value' lines), got {type(value).__name__}"
        )
    return dict(value)


def _mapping_table(table: Any, section: str) -> None:
    if table not in CONTRACT:
        close = difflib.get_close_matches(str(table), TABLE_NAMES, n=1)
        did = f" (did you mean {close[0]!r}?)" if close else ""
        raise MappingError(
            f"{section}: names table {table!r}, which is not in the contract{did}; "
            f"the tables are {', '.join(TABLE_NAMES)}"
        )


# =========================================================================== files

_TEXT_KINDS = ("string", "enum", "timestamp", "bool")


def _candidates(root: Path, name: str) -> list[Path]:
    paths = (root / f"{name}.parquet", root / f"{name}.csv", root / name)
    return [p for p in paths if p.exists()]


def _listing(root: Path, limit: int = 20) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    if not names:
        return "nothing (the folder is empty)"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa

    if path.is_dir() and not any(path.rglob("*.parquet")):
        raise DataLoadError(
            f"folder {path} holds no .parquet parts; a table folder must hold the "
            "table's parquet files"
        )
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise DataLoadError(
            f"cannot read {path} as parquet: {error}. Re-export the table "
            "(or delete the file if it is a leftover)"
        ) from None


def _read_csv(name: str, path: Path, mapping: ColumnMapping) -> pd.DataFrame:
    def read(**kwargs: Any) -> pd.DataFrame:
        try:
            return pd.read_csv(path, **kwargs)
        except pd.errors.EmptyDataError:
            raise DataLoadError(
                f"{path} is empty: a CSV table needs at least a header row with the column names"
            ) from None
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise DataLoadError(
                f"cannot read {path} as CSV (UTF-8, comma-separated, header row): {error}"
            ) from None

    header = mapping.rename(name, read(nrows=0), source=path)  # checks the mapping
    inverse = {ours: theirs for theirs, ours in mapping.columns.get(name, {}).items()}
    text_columns = [
        inverse.get(c.name, c.name)
        for c in CONTRACT[name].columns
        if c.kind in _TEXT_KINDS and c.name in header.columns
    ]
    # ids, labels, flags and timestamps stay text: the contract checks parse them (ids
    # like "007" keep their zeros, timestamps follow the timezone rule)
    frame = read(dtype=dict.fromkeys(text_columns, "str"))
    return mapping.rename(name, frame, source=path)


def load_tables(
    path: str | os.PathLike[str],
    *,
    mapping: ColumnMapping | Mapping[str, Any] | None = None,
    assume_timezone: str | None = None,
    validate: bool = True,
) -> Tables:
    """Read the six tables from a folder, map user column names, and validate.

    For each table the folder holds ``<table>.parquet``, ``<table>.csv`` or a folder
    ``<table>/`` of parquet parts (e.g. written by Spark), or the file the mapping names.
    Other files in the folder are ignored. In CSV files ids, labels, flags and timestamps
    are read as text and converted by the contract checks (timestamps by the timezone
    rule); numbers are parsed by pandas.

    Parameters
    ----------
    path : path-like
        The folder.
    mapping : ColumnMapping or dict, optional
        File and column names of the user's export (see :class:`ColumnMapping`).
    assume_timezone : str, optional
        Timezone of naive timestamps (see :func:`check_tables`).
    validate : bool, default True
        Return :func:`validate_tables` of the tables read. With False, return them as
        read (after renaming), e.g. to pass to :func:`check_tables`.

    Returns
    -------
    Tables

    Raises
    ------
    DataLoadError
        The folder is missing, a table's file is missing or ambiguous (both
        ``sessions.csv`` and ``sessions.parquet``), or a file cannot be read.
    MappingError
        The mapping is invalid or names columns a file does not have.
    ContractError
        With ``validate=True``, the tables break the contract.

    Examples
    --------
    >>> import tempfile
    >>> from govml.schema import TABLE_NAMES, empty_table, load_tables
    >>> folder = tempfile.mkdtemp()
    >>> for name in TABLE_NAMES:
    ...     empty_table(name).to_parquet(f"{folder}/{name}.parquet")
    >>> load_tables(folder).n_rows()["reviews"]
    Traceback (most recent call last):
    ...
    govml._exceptions.ContractError: data contract: 2 problems in creators, sessions (creators=0, sessions=0, outcomes=0, violations=0, actions=0, reviews=0 rows)
    ...
    >>> load_tables(folder, validate=False).n_rows()["reviews"]
    0
    """
    root = Path(path)
    if not root.exists():
        raise DataLoadError(
            f"no folder at {root}: load_tables expects a folder holding "
            f"{', '.join(f'{n}.parquet' for n in TABLE_NAMES)} (or .csv)"
        )
    if not root.is_dir():
        raise DataLoadError(
            f"{root} is a file; load_tables expects the folder that holds the six tables"
        )
    if mapping is None:
        mapping = ColumnMapping()
    elif not isinstance(mapping, ColumnMapping):
        mapping = ColumnMapping.from_dict(mapping)
    _resolve_timezone(assume_timezone)
    sources: dict[str, Path] = {}
    missing: list[str] = []
    ambiguous: list[str] = []
    for name in TABLE_NAMES:
        named = mapping.files.get(name)
        if named is not None:
            if (root / named).exists():
                sources[name] = root / named
            else:
                missing.append(f"{name} (the mapping names {named!r})")
            continue
        found = _candidates(root, name)
        if len(found) == 1:
            sources[name] = found[0]
        elif found:
            listed = " and ".join(p.name + ("/" if p.is_dir() else "") for p in found)
            ambiguous.append(f"{name} has both {listed}")
        else:
            missing.append(f"{name} (expected {name}.parquet, {name}.csv or {name}/)")
    if missing or ambiguous:
        parts = []
        if missing:
            parts.append(f"missing tables: {'; '.join(missing)}")
        if ambiguous:
            parts.append(
                f"ambiguous tables: {'; '.join(ambiguous)} (keep one, or name the one to "
                "use in the mapping's 'files:' section)"
            )
        raise DataLoadError(
            f"cannot load tables from {root}: {'. '.join(parts)}. The folder holds "
            f"{_listing(root)}. Rename the files or name them in a ColumnMapping's 'files'"
        )
    frames: dict[str, pd.DataFrame] = {}
    for name, source in sources.items():
        is_csv = source.is_file() and source.name.lower().endswith(
            (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz", ".csv.zst")
        )
        is_parquet = source.is_dir() or source.suffix.lower() in (".parquet", ".pq")
        if is_csv:
            frames[name] = _read_csv(name, source, mapping)
        elif is_parquet:
            frames[name] = mapping.rename(name, _read_parquet(source), source=source)
        else:
            raise DataLoadError(
                f"cannot tell the format of {source} (table {name}): use a .parquet or "
                ".csv file, or a folder of parquet parts"
            )
    if validate:
        return validate_tables(frames, assume_timezone=assume_timezone)
    return Tables(**frames)


def save_tables(
    tables: Tables | Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write each table as ``<path>/<table>.parquet``, each file atomically.

    A file is written under a temporary name and renamed into place, so a reader never
    sees half a file (the set of tables as a whole is not atomic). The index is not
    written. The tables are written as given: validate first for contract dtypes.

    Parameters
    ----------
    tables : Tables or mapping of str to DataFrame
        Contract tables (a mapping may hold a subset).
    path : path-like
        Folder, created if needed.
    overwrite : bool, default False
        Replace existing ``<table>.parquet`` files.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    DataLoadError
        A table file exists and ``overwrite`` is False; the folder also holds a
        ``<table>.csv`` or ``<table>/`` (loading would be ambiguous); ``path`` is a file;
        or a frame cannot be written as parquet.
    ContractError
        A name is not a contract table, or a value is not a DataFrame.

    Examples
    --------
    >>> import tempfile
    >>> from govml.schema import empty_table, save_tables
    >>> folder = save_tables({"reviews": empty_table("reviews")}, tempfile.mkdtemp())
    >>> sorted(p.name for p in folder.iterdir())
    ['reviews.parquet']
    """
    frames = _as_frames(tables)
    for name, frame in frames.items():
        if name not in CONTRACT:
            raise ContractError(
                f"save_tables writes contract tables only; {name!r} is not one "
                f"({', '.join(TABLE_NAMES)})"
            )
        if not isinstance(frame, pd.DataFrame):
            raise ContractError(
                f"save_tables: table {name} is a {type(frame).__name__}, not a DataFrame"
            )
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise DataLoadError(f"{root} is a file; save_tables needs a folder to write into")
    root.mkdir(parents=True, exist_ok=True)
    existing, conflicts = [], []
    for name in frames:
        if (root / f"{name}.parquet").exists():
            existing.append(f"{name}.parquet")
        conflicts += [p.name for p in (root / f"{name}.csv", root / name) if p.exists()]
    if conflicts:
        raise DataLoadError(
            f"{root} also holds {', '.join(conflicts)}; a .parquet beside it would make "
            "loading ambiguous. Move or delete it, or save to another folder"
        )
    if existing and not overwrite:
        raise DataLoadError(
            f"{root} already holds {', '.join(existing)}; pass overwrite=True to replace "
            "them or choose another folder"
        )
    for name, frame in frames.items():
        target = root / f"{name}.parquet"
        tmp = root / f".{name}.parquet.{uuid.uuid4().hex}.tmp"
        try:
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, target)
        except Exception as error:
            tmp.unlink(missing_ok=True)
            raise DataLoadError(
                f"cannot write table {name} to {target}: {error}. Columns holding mixed "
                "Python objects cannot be stored; validate_tables(...) first gives every "
                "contract column its contract dtype"
            ) from None
    return root


# =========================================================================== docs


def describe_contract() -> pd.DataFrame:
    """The data contract as a table: one row per column of every contract table.

    Returns
    -------
    DataFrame
        Columns ``table``, ``column``, ``kind``, ``dtype`` (after validation),
        ``required``, ``nullable``, ``constraints``, ``description`` and ``known_at``
        (True for the column that says when the row's facts became known).

    Examples
    --------
    >>> from govml.schema import describe_contract
    >>> contract = describe_contract()
    >>> row = contract[(contract.table == "sessions") & (contract.column == "ended_at")]
    >>> row[["kind", "constraints", "known_at"]].to_dict("records")
    [{'kind': 'timestamp', 'constraints': '>= started_at', 'known_at': True}]
    >>> contract[contract.known_at].column.tolist()
    ['onboarded_at', 'ended_at', 'occurred_at', 'detected_at', 'taken_at', 'reviewed_at']
    """
    rows = []
    for table in CONTRACT.values():
        refs = {
            fk.column: f"references {fk.ref_table}.{fk.ref_column}" for fk in table.foreign_keys
        }
        for col in table.columns:
            constraints = []
            if col.name == table.key:
                constraints.append("key (unique)")
            elif col.unique:
                constraints.append("unique")
            if col.min is not None or col.max is not None:
                constraints.append(_bounds_text(col))
            if col.values:
                constraints.append("one of " + ", ".join(col.values))
            if col.name in refs:
                constraints.append(refs[col.name])
            constraints += [f">= {early}" for early, late in table.ordered if late == col.name]
            rows.append(
                {
                    "table": table.name,
                    "column": col.name,
                    "kind": col.kind,
                    "dtype": str(_target_dtype(col)) if col.kind != "enum" else "category",
                    "required": col.required,
                    "nullable": col.nullable,
                    "constraints": "; ".join(constraints),
                    "description": col.description,
                    "known_at": col.name == table.known_at,
                }
            )
    return pd.DataFrame(rows)
