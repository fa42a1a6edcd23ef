"""A compact, typed summary of a set of contract tables (what ``govml quickstart`` prints)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from govml.schema import CONTRACT, Tables

__all__ = ["TableSummary", "TablesSummary", "summarize_tables"]


@dataclass(frozen=True)
class TableSummary:
    """Rows and known-at time range of one table (``first``/``last`` are None when empty).

    Examples
    --------
    >>> import govml
    >>> summary = govml.summarize_tables(govml.simulate(n_creators=40, n_days=14, seed=1).tables)
    >>> sessions = summary.tables[1]
    >>> sessions.name, sessions.known_at, sessions.first <= sessions.last
    ('sessions', 'ended_at', True)
    """

    name: str
    n_rows: int
    known_at: str
    first: pd.Timestamp | None
    last: pd.Timestamp | None


@dataclass(frozen=True)
class TablesSummary:
    """What a governance analyst wants to see first about a set of tables.

    Build one with :func:`summarize_tables`; ``str(summary)`` is the text
    ``govml quickstart`` prints.

    Attributes
    ----------
    tables : tuple of TableSummary
        Rows and known-at range of each table, in contract order.
    creators_by_market, sessions_by_market : Series
        Counts per market, largest first.
    reviews_by_sample_reason : Series
        Reviews per sample reason (random audit, viewer report, risk queue).
    low_quality_rate_by_sample_reason : Series
        Share of reviewed sessions judged low quality, per sample reason.
    violations_by_kind, actions_by_kind : Series
        Counts per kind, largest first.
    overturned_share : float
        Share of violations overturned on appeal.

    Examples
    --------
    >>> import govml
    >>> summary = govml.summarize_tables(govml.simulate(n_creators=40, n_days=14, seed=1).tables)
    >>> [t.name for t in summary.tables][:3]
    ['creators', 'sessions', 'outcomes']
    >>> int(summary.creators_by_market.sum()), 0.0 <= summary.overturned_share <= 1.0
    (40, True)
    >>> print(str(summary).splitlines()[-2])
    violations overturned on appeal: 0.0%
    """

    tables: tuple[TableSummary, ...]
    creators_by_market: pd.Series
    sessions_by_market: pd.Series
    reviews_by_sample_reason: pd.Series
    low_quality_rate_by_sample_reason: pd.Series
    violations_by_kind: pd.Series
    overturned_share: float
    actions_by_kind: pd.Series

    def to_frame(self) -> pd.DataFrame:
        """One row per table: rows and known-at range.

        Examples
        --------
        >>> import govml
        >>> summary = govml.summarize_tables(govml.simulate(n_creators=40, n_days=14, seed=1).tables)
        >>> frame = summary.to_frame()
        >>> frame.columns.tolist(), frame.loc["sessions", "known_at"]
        (['rows', 'known_at', 'first', 'last'], 'ended_at')
        """
        return pd.DataFrame(
            [
                {
                    "table": t.name,
                    "rows": t.n_rows,
                    "known_at": t.known_at,
                    "first": t.first,
                    "last": t.last,
                }
                for t in self.tables
            ]
        ).set_index("table")

    def __str__(self) -> str:
        def block(title: str, series: pd.Series, fmt: str = "{:,}") -> str:
            body = "  ".join(f"{idx}={fmt.format(val)}" for idx, val in series.items())
            return f"{title}: {body or '(none)'}"

        lines = [self.to_frame().to_string(), ""]
        lines.append(block("creators by market", self.creators_by_market))
        lines.append(block("sessions by market", self.sessions_by_market))
        lines.append(block("reviews by sample reason", self.reviews_by_sample_reason))
        lines.append(
            block(
                "low-quality rate by sample reason",
                self.low_quality_rate_by_sample_reason,
                "{:.1%}",
            )
        )
        lines.append(block("violations by kind", self.violations_by_kind))
        lines.append(f"violations overturned on appeal: {self.overturned_share:.1%}")
        lines.append(block("actions by kind", self.actions_by_kind))
        return "\n".join(lines)


def _counts(series: pd.Series) -> pd.Series:
    counts = series.value_counts(sort=False)
    return counts[counts > 0].sort_values(ascending=False)


def summarize_tables(tables: Tables) -> TablesSummary:
    """Summarise validated tables: sizes, time ranges, markets, review samples, enforcement.

    Parameters
    ----------
    tables : Tables
        Validated tables (see :func:`govml.validate_tables`).

    Returns
    -------
    TablesSummary

    Examples
    --------
    >>> import govml
    >>> world = govml.simulate(n_creators=60, n_days=20, seed=3)
    >>> summary = govml.summarize_tables(world.tables)
    >>> int(summary.to_frame().loc["creators", "rows"])
    60
    """
    per_table = []
    for name, frame in tables.items():
        spec = CONTRACT[name]
        times = frame[spec.known_at]
        per_table.append(
            TableSummary(
                name=name,
                n_rows=len(frame),
                known_at=spec.known_at,
                first=times.min() if len(frame) else None,
                last=times.max() if len(frame) else None,
            )
        )
    session_market = tables.sessions["creator_id"].map(
        tables.creators.set_index("creator_id")["market"]
    )
    reviews = tables.reviews
    violations = tables.violations
    overturned = float((violations["status"] == "overturned").mean()) if len(violations) else 0.0
    return TablesSummary(
        tables=tuple(per_table),
        creators_by_market=_counts(tables.creators["market"]),
        sessions_by_market=_counts(session_market),
        reviews_by_sample_reason=_counts(reviews["sample_reason"]),
        low_quality_rate_by_sample_reason=reviews.groupby("sample_reason", observed=True)[
            "is_low_quality"
        ]
        .mean()
        .astype(float),
        violations_by_kind=_counts(violations["kind"]),
        overturned_share=overturned,
        actions_by_kind=_counts(tables.actions["kind"]),
    )
