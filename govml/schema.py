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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

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
    """``table.column`` values must exist in ``ref_table.ref_column`` (nulls allowed if the column is nullable)."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract: its key, its known-at column, columns and cross-column rules.

    ``ordered`` lists ``(earlier, later)`` column pairs where ``later >= earlier`` must
    hold on every row where both are present.
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
        """The spec of column ``name`` (``KeyError`` if the contract has no such column)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
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
        """``(name, frame)`` pairs in contract order."""
        return [(name, getattr(self, name)) for name in TABLE_NAMES]

    def n_rows(self) -> dict[str, int]:
        """Row count per table, in contract order."""
        return {name: len(frame) for name, frame in self.items()}
