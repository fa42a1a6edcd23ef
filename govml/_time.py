"""Times given by users (``as_of``, ``--from``, windows): parsed once, the same way.

The contract's tables must carry timezone-aware timestamps (:mod:`govml.schema`), but a
time a user types (``2026-01-31``) may be naive: it is read as UTC. Every module that
accepts such a time goes through :func:`to_utc`, raising its own error type with its own
fix-it message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["to_utc"]


def to_utc(value: Any, fail: Callable[[], Exception]) -> pd.Timestamp:
    """``value`` as a UTC timestamp; naive values are UTC.

    Parameters
    ----------
    value : timestamp, str, datetime or date
    fail : callable
        Builds the error raised when ``value`` is not a timestamp (unparsable, or a
        missing value such as ``None`` or ``NaT``), so each caller keeps its own error
        type and message.

    Examples
    --------
    >>> from govml._time import to_utc
    >>> to_utc("2026-01-31", lambda: ValueError("bad"))
    Timestamp('2026-01-31 00:00:00+0000', tz='UTC')
    >>> to_utc("2026-01-31T08:00+07:00", lambda: ValueError("bad"))
    Timestamp('2026-01-31 01:00:00+0000', tz='UTC')
    >>> to_utc("soon", lambda: ValueError("as_of='soon' is not a timestamp"))
    Traceback (most recent call last):
    ...
    ValueError: as_of='soon' is not a timestamp
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise fail() from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
