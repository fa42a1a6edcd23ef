"""One entry point for a task's feature set "as of" a time (what ``govml features`` runs)."""

from __future__ import annotations

import pandas as pd

from govml._exceptions import FeatureError
from govml._time import to_utc
from govml.features.featureset import FeatureSet
from govml.schema import Tables

__all__ = ["build_features", "data_time_range"]


def data_time_range(tables: Tables) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last session end in the tables (the range queries must fall in).

    Examples
    --------
    >>> import govml
    >>> from govml.features import data_time_range
    >>> tables = govml.simulate(n_creators=40, n_days=14, seed=1).tables
    >>> first, last = data_time_range(tables)
    >>> str(first.date()), str(last.date()), str(first.tz)
    ('2025-08-15', '2025-08-28', 'UTC')
    """
    ended = tables.sessions["ended_at"]
    return ended.min(), ended.max()


def parse_time(value: pd.Timestamp | str, name: str) -> pd.Timestamp:
    """A feature window bound a user typed, as a UTC timestamp (naive = UTC).

    Shared by :func:`build_features` and the Spark engine, so both reject the same input
    with the same :class:`~govml.FeatureError`.

    Examples
    --------
    >>> from govml.features.build import parse_time
    >>> parse_time("2026-01-31", "as_of")
    Timestamp('2026-01-31 00:00:00+0000', tz='UTC')
    >>> parse_time("soon", "as_of")
    Traceback (most recent call last):
    ...
    govml._exceptions.FeatureError: as_of='soon' is not a timestamp; write e.g. 2026-01-31 or 2026-01-31T00:00:00Z
    """
    return to_utc(
        value,
        lambda: FeatureError(
            f"{name}={value!r} is not a timestamp; write e.g. 2026-01-31 or 2026-01-31T00:00:00Z"
        ),
    )


def check_task(task: str) -> None:
    """Raise :class:`~govml.FeatureError` unless ``task`` is one of govml's two tasks."""
    if task not in ("low_quality", "adversarial"):
        raise FeatureError(
            f"unknown task {task!r}; govml has two tasks: 'low_quality' (sessions) and "
            "'adversarial' (creators)"
        )


def resolve_window(
    task: str,
    first: pd.Timestamp,
    last: pd.Timestamp,
    *,
    as_of: pd.Timestamp | str | None,
    since: pd.Timestamp | str | None,
    active_within: str,
) -> tuple[pd.Timestamp | None, pd.Timestamp]:
    """``(start, end)`` of a feature build over data whose sessions end in ``[first, last]``.

    The one rule of :func:`build_features` (and of the Spark engine): ``end`` is ``as_of``,
    by default just after the last session end (low_quality) or the next midnight after
    it (adversarial); ``start`` is ``since`` or None.

    Raises
    ------
    FeatureError
        Unknown task, unparsable times, ``since`` after ``as_of``, or ``as_of`` outside
        the data (not after the first session end, or more than ``active_within`` after
        the last).

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.features.build import resolve_window
    >>> first, last = pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-01-31 18:00", tz="UTC")
    >>> resolve_window("adversarial", first, last, as_of=None, since=None, active_within="30D")
    (None, Timestamp('2026-02-01 00:00:00+0000', tz='UTC'))
    """
    check_task(task)
    if as_of is None:
        end = last + pd.Timedelta(microseconds=1)
        if task == "adversarial":
            end = last.normalize() + pd.Timedelta(days=1)
    else:
        end = parse_time(as_of, "as_of")
    start = parse_time(since, "since") if since is not None else None
    if start is not None and start > end:
        raise FeatureError(f"since={start} is after as_of={end}; since must come first")
    if end <= first or end > last + pd.Timedelta(active_within):
        raise FeatureError(
            f"as_of={end} is outside the data: sessions end between {first} and {last}; "
            f"pick a time after the first session end and at most {active_within} after "
            "the last"
        )
    return start, end


def build_features(
    tables: Tables,
    task: str,
    *,
    as_of: pd.Timestamp | str | None = None,
    since: pd.Timestamp | str | None = None,
    freq: str = "1D",
    active_within: str = "30D",
) -> FeatureSet:
    """The feature set of a task as known at ``as_of``.

    Parameters
    ----------
    tables : Tables
        Validated tables.
    task : {"low_quality", "adversarial"}
        ``low_quality``: one row per session that ended before ``as_of`` (and at or after
        ``since``). ``adversarial``: one snapshot per active creator at each time of the
        ``freq`` grid in ``[since, as_of]`` (only ``as_of`` without ``since``).
    as_of : timestamp, optional
        The scoring time. Defaults to just after the last session end (low_quality) or
        the next midnight after it (adversarial). Dates without a timezone are UTC.
    since : timestamp, optional
        Earliest row time.
    freq, active_within : str
        Snapshot grid and activity rule of the adversarial task.

    Returns
    -------
    FeatureSet

    Raises
    ------
    FeatureError
        Unknown task, unparsable times, ``since`` after ``as_of``, or times outside the
        data (before the first session end or more than ``active_within`` after the last).

    Examples
    --------
    >>> import govml
    >>> from govml.features import build_features
    >>> t = govml.simulate(n_creators=60, n_days=30, seed=2).tables
    >>> fs = build_features(t, "adversarial", as_of="2025-09-10")
    >>> fs.frame["snapshot_at"].unique().tolist()
    [Timestamp('2025-09-10 00:00:00+0000', tz='UTC')]
    """
    from govml.features.creator import creator_features
    from govml.features.labels import creator_snapshots
    from govml.features.session import session_features

    first, last = data_time_range(tables)
    start, end = resolve_window(
        task, first, last, as_of=as_of, since=since, active_within=active_within
    )
    if task == "low_quality":
        s = tables.sessions
        keep = s["ended_at"] < end
        if start is not None:
            keep &= s["ended_at"] >= start
        if not keep.any():
            raise FeatureError(
                f"no session ended in [{start or first}, {end}); the sessions table covers "
                f"{first} to {last}"
            )
        return session_features(tables, session_ids=s.loc[keep, "session_id"])
    snaps = creator_snapshots(
        tables,
        start=start if start is not None else end,
        end=end + pd.Timedelta(microseconds=1),
        freq=freq,
        active_within=active_within,
    )
    if snaps.empty:
        raise FeatureError(
            f"no creator was active within {active_within} before {end}; pick an as_of "
            f"inside the data ({first} to {last})"
        )
    return creator_features(tables, snaps)
