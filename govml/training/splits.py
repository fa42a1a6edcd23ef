"""Time-ordered train / validation / test splits separated by the label-maturity gap.

A model is trained on the past and used on the future, so it is evaluated the same
way: every split here puts the training period first, then validation, then test, and
never shuffles rows across time. There are no random splits in govml.

Periods are half-open intervals ``[start, end)`` of the frame's prediction-time
column. Between consecutive periods lies the **gap**: the label-maturity gap (for the
adversarial-seller task, the label horizon plus the resolution delay). A row at time
``t`` near the end of the training period has a label that only becomes known at
``t + gap``; in production such a label would not yet exist when the model is trained
and used on the next period. Rows whose time falls inside a gap are therefore dropped
(and counted in :attr:`TimeSplit.n_in_gap`), so no label used for training or
validation is resolved by events that happen in the period scored after it.

Bounds given without a timezone (``train_end="2026-03-01"``) are read as UTC. The
time column itself must be timezone-aware (govml's contract is
``datetime64[us, UTC]``); other timezones are converted to UTC, naive columns are
rejected.

Three entry points:

* :func:`time_split` -- one split from a cutoff (or sensible defaults, see there);
* :func:`prequential_splits` -- rolling-origin folds with an expanding train window;
* :func:`split_by_bounds` -- one split from explicit period bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from govml._exceptions import TrainingError

__all__ = [
    "Period",
    "TimeSplit",
    "time_split",
    "prequential_splits",
    "split_by_bounds",
    "DEFAULT_TEST_SHARE",
    "DEFAULT_VALID_SHARE",
    "DEFAULT_PREQUENTIAL_SHARE",
]

#: Share of the usable time range (span minus the two gaps) that :func:`time_split`
#: gives to the test period when ``test_days`` is not given.
DEFAULT_TEST_SHARE = 0.2
#: Likewise for the validation period when neither ``valid_days`` nor ``test_days`` is given.
DEFAULT_VALID_SHARE = 0.2
#: Share of the usable time range that :func:`prequential_splits` covers with the
#: first fold's validation window plus all test windows (the first fold trains on the rest).
DEFAULT_PREQUENTIAL_SHARE = 0.4

_US = pd.Timedelta(1, "us")
_EPOCH = pd.Timestamp(0, tz="UTC")
_PERIODS = ("train", "validation", "test")


@dataclass(frozen=True)
class Period:
    """One period of a split: ``[start, end)`` in UTC, with its row and positive counts.

    ``n_positive`` is ``None`` when the split was made without a label column.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.training import time_split
    >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="D", tz="UTC")})
    >>> test = time_split(f, time_col="t", valid_days=14, test_days=14, gap="2D").test
    >>> print(test)
    test       [2026-03-28, 2026-04-11)    14.00 days  14 rows
    >>> test.n_rows, test.n_positive
    (14, None)
    """

    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    n_rows: int
    n_positive: int | None = None

    @property
    def days(self) -> float:
        """Length of the period in days.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training.splits import Period
        >>> Period("test", pd.Timestamp("2026-03-01", tz="UTC"),
        ...        pd.Timestamp("2026-03-15 12:00", tz="UTC"), n_rows=10).days
        14.5
        """
        return (self.end - self.start) / pd.Timedelta(days=1)

    def __str__(self) -> str:
        pos = "" if self.n_positive is None else f", {self.n_positive:,} positive"
        return (
            f"{self.name:<10} [{_fmt(self.start)}, {_fmt(self.end)})  "
            f"{self.days:7.2f} days  {self.n_rows:,} rows{pos}"
        )


@dataclass(frozen=True)
class TimeSplit:
    """A time-ordered train / validation / test split of one frame.

    Attributes
    ----------
    time_col : str
        The prediction-time column the split was made on.
    gap : Timedelta
        The label-maturity gap between consecutive periods.
    train, validation, test : Period
        Period bounds ``[start, end)`` and counts, in time order with
        ``train.end + gap <= validation.start`` and ``validation.end + gap <= test.start``.
    n_rows : int
        Rows of the frame that was split (used to check :meth:`frames` gets the same frame).
    n_in_gap : int
        Rows dropped because their time falls inside a gap.
    n_outside : int
        Rows dropped because they are before the train period or after the test period.
    train_index, validation_index, test_index : ndarray of int64
        Positional row numbers (for ``frame.iloc``), ascending, read-only. No row is in
        two of them.
    label_col : str or None
        The label column positives were counted in, if any.
    fold : int or None
        Fold number (0 = oldest) for splits made by :func:`prequential_splits`.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.training import time_split
    >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="D", tz="UTC"),
    ...                   "y": [int(i % 4 == 0) for i in range(100)]})
    >>> split = time_split(f, time_col="t", valid_days=14, test_days=14, gap="2D", label_col="y")
    >>> print(split)
    TimeSplit on 't'
      train      [2026-01-01, 2026-03-10)    68.00 days  68 rows, 17 positive
      validation [2026-03-12, 2026-03-26)    14.00 days  14 rows, 3 positive
      test       [2026-03-28, 2026-04-11)    14.00 days  14 rows, 3 positive
      gap 2 days 00:00:00: 4 rows dropped in gaps, 0 outside the periods, of 100
    >>> train, valid, test = split.frames(f)
    >>> len(train), len(valid), len(test), split.n_in_gap
    (68, 14, 14, 4)
    """

    time_col: str
    gap: pd.Timedelta
    train: Period
    validation: Period
    test: Period
    n_rows: int
    n_in_gap: int
    n_outside: int
    train_index: np.ndarray = field(repr=False, compare=False)
    validation_index: np.ndarray = field(repr=False, compare=False)
    test_index: np.ndarray = field(repr=False, compare=False)
    label_col: str | None = None
    fold: int | None = None

    @property
    def periods(self) -> tuple[Period, Period, Period]:
        """``(train, validation, test)``.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import time_split
        >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="D", tz="UTC")})
        >>> [(p.name, p.n_rows) for p in time_split(f, time_col="t").periods]
        [('train', 60), ('validation', 20), ('test', 20)]
        """
        return (self.train, self.validation, self.test)

    def index(self, period: str) -> np.ndarray:
        """Positional row numbers of ``period`` (``"train"``, ``"validation"`` or ``"test"``).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import time_split
        >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="D", tz="UTC")})
        >>> split = time_split(f, time_col="t", valid_days=14, test_days=14, gap="2D")
        >>> split.index("test")[:3].tolist(), len(split.index("validation"))
        ([86, 87, 88], 14)
        """
        if period not in _PERIODS:
            raise TrainingError(
                f"unknown period {period!r}; a TimeSplit has periods {', '.join(_PERIODS)}"
            )
        return getattr(self, f"{period}_index")

    def frames(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The ``(train, validation, test)`` rows of ``frame`` (new frames; ``frame`` is untouched).

        ``frame`` must be the frame the split was made from (same rows, same order):
        its length and the times of the selected rows are checked.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import time_split
        >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="D", tz="UTC"),
        ...                   "x": range(100)})
        >>> split = time_split(f, time_col="t", valid_days=14, test_days=14, gap="2D")
        >>> train, valid, test = split.frames(f)
        >>> train["t"].max() < valid["t"].min(), test["x"].tolist()[:3]
        (True, [86, 87, 88])
        >>> split.frames(f.head(50))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        govml._exceptions.TrainingError: this split was made on a frame of 100 rows but got 50 rows; ...
        """
        if len(frame) != self.n_rows:
            raise TrainingError(
                f"this split was made on a frame of {self.n_rows:,} rows but got "
                f"{len(frame):,} rows; pass the same frame (same rows, same order) the split "
                "was made from, or make a new split"
            )
        if self.time_col not in frame.columns:
            raise TrainingError(
                f"frame has no time column {self.time_col!r} (the split was made on it); "
                "pass the frame the split was made from"
            )
        times = _utc_micros(frame, self.time_col)
        out = []
        for period in self.periods:
            idx = self.index(period.name)
            t = times[idx]
            lo, hi = _micros(period.start), _micros(period.end)
            if t.size and (t.min() < lo or t.max() >= hi):
                raise TrainingError(
                    f"rows selected for the {period.name} period of this split have "
                    f"{self.time_col!r} outside [{_fmt(period.start)}, {_fmt(period.end)}): the "
                    "frame was reordered or changed after the split was made; make a new split"
                )
            out.append(frame.iloc[idx])
        return out[0], out[1], out[2]

    def to_frame(self) -> pd.DataFrame:
        """One row per period: start, end, days, rows, positives.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import time_split
        >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="D", tz="UTC")})
        >>> table = time_split(f, time_col="t", valid_days=14, test_days=14, gap="2D").to_frame()
        >>> table[["days", "n_rows"]]  # doctest: +NORMALIZE_WHITESPACE
                    days  n_rows
        period
        train       68.0      68
        validation  14.0      14
        test        14.0      14
        """
        return pd.DataFrame(
            {
                "start": [p.start for p in self.periods],
                "end": [p.end for p in self.periods],
                "days": [p.days for p in self.periods],
                "n_rows": [p.n_rows for p in self.periods],
                "n_positive": pd.array([p.n_positive for p in self.periods], dtype="Int64"),
            },
            index=pd.Index([p.name for p in self.periods], name="period"),
        )

    def __str__(self) -> str:
        head = f"TimeSplit on {self.time_col!r}" + (
            f" (fold {self.fold})" if self.fold is not None else ""
        )
        lines = [head, *(f"  {p}" for p in self.periods)]
        lines.append(
            f"  gap {self.gap}: {self.n_in_gap:,} rows dropped in gaps, "
            f"{self.n_outside:,} outside the periods, of {self.n_rows:,}"
        )
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _fmt(ts: pd.Timestamp) -> str:
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def _micros(ts: pd.Timestamp) -> int:
    return int((ts - _EPOCH) // _US)


def _stamp(micros: int) -> pd.Timestamp:
    return pd.Timestamp(int(micros), unit="us", tz="UTC")


def _utc_micros(frame: pd.DataFrame, col: str) -> np.ndarray:
    """Microseconds since the epoch (int64) of a timezone-aware column, checked."""
    if col not in frame.columns:
        raise TrainingError(
            f"time column {col!r} is not in the frame; it has {list(frame.columns)}. "
            "Pass time_col= the prediction-time column (e.g. 'ended_at' or 'snapshot_at')"
        )
    series = frame[col]
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        raise TrainingError(
            f"time column {col!r} has dtype {series.dtype}, expected datetime64[us, UTC]; "
            "convert it with pd.to_datetime(frame[col], utc=True)"
        )
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        raise TrainingError(
            f"time column {col!r} is timezone-naive ({series.dtype}), expected "
            "datetime64[us, UTC]; say which timezone it is in with "
            "frame[col].dt.tz_localize('UTC') (or the local zone, then .dt.tz_convert('UTC'))"
        )
    n_missing = int(series.isna().sum())
    if n_missing:
        rows = np.flatnonzero(series.isna().to_numpy())[:5].tolist()
        raise TrainingError(
            f"time column {col!r} has {n_missing:,} missing value(s) (first at positions "
            f"{rows}); every row needs a prediction time: drop or fill those rows first"
        )
    return (
        series.dt.tz_convert("UTC").dt.as_unit("us").to_numpy(dtype="datetime64[us]").view(np.int64)
    )


def _bound(value: Any, what: str) -> int | None:
    """A period bound as epoch microseconds (naive values read as UTC); None stays None."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise TrainingError(
            f"{what}={value!r} is not a timestamp; pass e.g. '2026-03-01' or a pd.Timestamp"
        ) from err
    if ts is pd.NaT:
        raise TrainingError(f"{what} is NaT; pass a timestamp such as '2026-03-01'")
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return _micros(ts)


def _duration(value: Any, what: str) -> int:
    """A non-negative duration as microseconds. Bare numbers are refused (unit unknown)."""
    if isinstance(value, int | float | np.number):  # bool is an int too
        raise TrainingError(
            f"{what}={value!r} has no unit; pass a duration such as '7D' or pd.Timedelta(days=7)"
        )
    try:
        td = pd.Timedelta(value)
    except (TypeError, ValueError) as err:
        raise TrainingError(
            f"{what}={value!r} is not a duration; pass e.g. '37D' or pd.Timedelta(days=37)"
        ) from err
    if td is pd.NaT:
        raise TrainingError(f"{what} is NaT; pass a duration such as '7D'")
    if td < pd.Timedelta(0):
        raise TrainingError(
            f"{what}={value!r} is negative; the label-maturity gap is a non-negative duration "
            "(label horizon plus resolution delay, or '0D' for none)"
        )
    return int(td // _US)


def _days(value: float | None, what: str) -> int | None:
    """A positive number of days as microseconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TrainingError(f"{what}={value!r} must be a number of days (e.g. 14 or 3.5)")
    if not np.isfinite(value) or value <= 0:
        raise TrainingError(f"{what}={value!r} must be a positive number of days")
    return round(float(value) * 86_400_000_000)


def _labels(frame: pd.DataFrame, label_col: str | None) -> np.ndarray | None:
    if label_col is None:
        return None
    if label_col not in frame.columns:
        raise TrainingError(
            f"label column {label_col!r} is not in the frame; it has {list(frame.columns)}"
        )
    series = frame[label_col]
    n_missing = int(series.isna().sum())
    if n_missing:
        raise TrainingError(
            f"label column {label_col!r} has {n_missing:,} missing value(s); unlabelled "
            "(e.g. not yet mature) rows cannot be used for training or evaluation: drop them first"
        )
    try:
        values = series.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TrainingError(
            f"label column {label_col!r} has dtype {series.dtype}; expected 0/1 or bool"
        ) from err
    if not np.isin(values, (0.0, 1.0)).all():
        bad = sorted(set(np.unique(values).tolist()) - {0.0, 1.0})[:5]
        raise TrainingError(
            f"label column {label_col!r} must hold only 0/1 (or bool), found values {bad}"
        )
    return values


_DAY_US = 86_400_000_000


def _day_range(times: np.ndarray) -> tuple[int, int]:
    """The data's range ``[lo, hi)`` that default period lengths are cut from.

    When the rows span at least 5 days the range is taken in whole UTC days: midnight of
    the first row's day to midnight after the last row's day (so "the last 7 days" of
    daily snapshots holds 7 snapshots). Shorter data keeps its exact range.
    """
    t_min, t_max = int(times.min()), int(times.max())
    if t_max - t_min >= 5 * _DAY_US:
        return t_min // _DAY_US * _DAY_US, (t_max // _DAY_US + 1) * _DAY_US
    return t_min, t_max + 1


def _train_start(lo: int, train_end: int) -> int | None:
    """The train period starts at the start of the data's range (open if that is empty)."""
    return lo if lo < train_end else None


def _usable(lo: int, hi: int, gap: int, data_range: str) -> int:
    usable = hi - lo - 2 * gap
    if usable <= 0:
        raise TrainingError(
            f"the data runs {data_range} (a range of {pd.Timedelta(hi - lo, 'us')}), which "
            f"is not longer than two gaps of {pd.Timedelta(gap, 'us')}; use a shorter gap or "
            "more history"
        )
    return usable


def _default_length(usable: int, share: float) -> int:
    """``share`` of ``usable``, rounded to whole days (at least one) once that is 5+ days."""
    length = usable * share
    if usable >= 5 * _DAY_US:
        return max(1, round(length / _DAY_US)) * _DAY_US
    return max(1, round(length))


# --------------------------------------------------------------------------- splitting


def _split(
    times: np.ndarray,
    labels: np.ndarray | None,
    *,
    time_col: str,
    label_col: str | None,
    bounds: Sequence[tuple[int | None, int | None]],
    gap: int,
    fold: int | None,
    data_range: str,
) -> TimeSplit:
    t_min, t_max = int(times.min()), int(times.max())
    (tr_s, tr_e), (va_s, va_e), (te_s, te_e) = bounds
    # open ends reach the first / past the last row (and never make a period reversed)
    tr_s = min(t_min, tr_e) if tr_s is None else tr_s
    te_e = max(t_max + 1, te_s) if te_e is None else te_e
    resolved = [(tr_s, tr_e), (va_s, va_e), (te_s, te_e)]
    prefix = f"fold {fold}: " if fold is not None else ""
    for name, (s, e) in zip(_PERIODS, resolved, strict=True):
        if s > e:
            raise TrainingError(
                f"{prefix}{name} period [{_fmt(_stamp(s))}, {_fmt(_stamp(e))}) is reversed: "
                "its start must be before its end"
            )
    for i in range(2):
        a, b = _PERIODS[i], _PERIODS[i + 1]
        a_end, b_start = resolved[i][1], resolved[i + 1][0]
        if b_start < a_end + gap:
            have = pd.Timedelta(b_start - a_end, "us")
            raise TrainingError(
                f"{prefix}overlapping bounds: {a} ends at {_fmt(_stamp(a_end))} and {b} starts "
                f"at {_fmt(_stamp(b_start))} (only {have} apart), but periods must be separated by "
                f"the gap {pd.Timedelta(gap, 'us')}; start {b} at or after "
                f"{_fmt(_stamp(a_end + gap))} or end {a} earlier"
            )

    masks = [(times >= s) & (times < e) for s, e in resolved]
    in_gap = ((times >= tr_e) & (times < va_s)) | ((times >= va_e) & (times < te_s))
    outside = (times < tr_s) | (times >= te_e)
    periods = []
    for name, (s, e), mask in zip(_PERIODS, resolved, masks, strict=True):
        n = int(mask.sum())
        n_pos = None if labels is None else int(labels[mask].sum())
        periods.append(Period(name, _stamp(s), _stamp(e), n, n_pos))

    counts = ", ".join(
        f"{p.name} {p.n_rows:,}" + ("" if p.n_positive is None else f" ({p.n_positive:,} pos)")
        for p in periods
    )
    counts += f", in gaps {int(in_gap.sum()):,}, outside {int(outside.sum()):,}"
    fix = (
        "move train_end, shorten the gap or change valid_days/test_days so every period "
        "covers enough of the data"
    )
    for p in periods:
        where = f"{p.name} period [{_fmt(p.start)}, {_fmt(p.end)})"
        if p.n_rows == 0:
            raise TrainingError(
                f"{prefix}{where} has no rows (rows per period: {counts}; the data runs "
                f"{data_range}); {fix}"
            )
        if p.n_positive is not None and p.n_positive == 0:
            raise TrainingError(
                f"{prefix}{where} has {p.n_rows:,} rows but no positive labels in "
                f"{label_col!r} (rows per period: {counts}); {fix}, e.g. a longer period"
            )
        if p.n_positive is not None and p.n_positive == p.n_rows:
            raise TrainingError(
                f"{prefix}{where} has {p.n_rows:,} rows and all are positive in "
                f"{label_col!r} (rows per period: {counts}); metrics need both classes: {fix}"
            )

    indexes = []
    for mask in masks:
        idx = np.flatnonzero(mask).astype(np.int64)
        idx.setflags(write=False)
        indexes.append(idx)
    return TimeSplit(
        time_col=time_col,
        gap=pd.Timedelta(gap, "us"),
        train=periods[0],
        validation=periods[1],
        test=periods[2],
        n_rows=len(times),
        n_in_gap=int(in_gap.sum()),
        n_outside=int(outside.sum()),
        train_index=indexes[0],
        validation_index=indexes[1],
        test_index=indexes[2],
        label_col=label_col,
        fold=fold,
    )


def _prepare(
    frame: pd.DataFrame, time_col: str, label_col: str | None
) -> tuple[np.ndarray, np.ndarray | None, str]:
    if not isinstance(frame, pd.DataFrame):
        raise TrainingError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    times = _utc_micros(frame, time_col)
    if times.size == 0:
        raise TrainingError(
            "the frame has no rows; a time split needs rows in each of train, validation and test"
        )
    labels = _labels(frame, label_col)
    data_range = f"from {_fmt(_stamp(times.min()))} to {_fmt(_stamp(times.max()))}"
    return times, labels, data_range


def split_by_bounds(
    frame: pd.DataFrame,
    *,
    time_col: str,
    train: tuple[Any, Any],
    validation: tuple[Any, Any],
    test: tuple[Any, Any],
    gap: str | pd.Timedelta | timedelta = "0D",
    label_col: str | None = None,
) -> TimeSplit:
    """Split ``frame`` at explicit period bounds.

    Parameters
    ----------
    frame : DataFrame
        Any frame with a timezone-aware prediction-time column. Not modified.
    time_col : str
        The prediction-time column.
    train, validation, test : (start, end) pairs
        Half-open bounds ``[start, end)``; strings or Timestamps (naive ones are read as
        UTC). The train start may be ``None`` (from the first row) and the test end may be
        ``None`` (through the last row).
    gap : str or Timedelta, default ``"0D"``
        Minimum distance between a period's end and the next period's start.
    label_col : str, optional
        0/1 label column; when given each period must hold both classes.

    Returns
    -------
    TimeSplit

    Raises
    ------
    TrainingError
        Bad time column, negative gap, empty or overlapping periods, or a period
        without rows or without positives.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=10, freq="D", tz="UTC")})
    >>> s = split_by_bounds(f, time_col="t", train=(None, "2026-01-05"),
    ...                     validation=("2026-01-06", "2026-01-08"), test=("2026-01-09", None),
    ...                     gap="1D")
    >>> s.train_index.tolist(), s.validation_index.tolist(), s.test_index.tolist(), s.n_in_gap
    ([0, 1, 2, 3], [5, 6], [8, 9], 2)
    """
    gap_us = _duration(gap, "gap")
    times, labels, data_range = _prepare(frame, time_col, label_col)
    bounds = []
    for name, pair in (("train", train), ("validation", validation), ("test", test)):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TrainingError(f"{name}={pair!r} must be a (start, end) pair")
        start = _bound(pair[0], f"{name} start")
        end = _bound(pair[1], f"{name} end")
        if (start is None and name != "train") or (end is None and name != "test"):
            raise TrainingError(
                f"{name} bounds {pair!r} are open; only the train start and the test end "
                "may be None"
            )
        bounds.append((start, end))
    return _split(
        times,
        labels,
        time_col=time_col,
        label_col=label_col,
        bounds=bounds,
        gap=gap_us,
        fold=None,
        data_range=data_range,
    )


def time_split(
    frame: pd.DataFrame,
    *,
    time_col: str,
    train_end: Any = None,
    valid_days: float | None = None,
    test_days: float | None = None,
    gap: str | pd.Timedelta | timedelta = "0D",
    label_col: str | None = None,
) -> TimeSplit:
    """Split ``frame`` into train, validation and test periods in time order.

    Layout: ``train [.., train_end)``, gap, ``validation [train_end + gap, +valid_days)``,
    gap, ``test [validation end + gap, +test_days)``. Rows inside a gap are dropped and
    counted. Defaults give a sensible split of any frame:

    ===============  ========================================================================
    ``train_end``    layout
    ===============  ========================================================================
    not given        Laid out from the end of the data backwards. The *usable range* is the
                     data's time span minus two gaps. Test = the last ``test_days`` (default
                     20 % of the usable range); validation = ``valid_days`` (default: as
                     long as the test period) before it; train = everything earlier (60 %
                     with both defaults).
    given            Laid out forwards from ``train_end``. Test runs to the last row unless
                     ``test_days`` is given; validation lasts ``valid_days``, by default as
                     long as ``test_days`` or, if that is not given either, half of what
                     remains after ``train_end`` and the two gaps.
    ===============  ========================================================================

    When the rows span 5 days or more, the data's range is counted in whole UTC days
    (midnight of the first row's day to midnight after the last row's day) and default
    lengths are rounded to whole days, so daily snapshots split into whole days and "the
    last 14 days" holds 14 of them. Shorter data is cut at exact fractions of its range.

    Parameters
    ----------
    frame : DataFrame
        Any frame with a timezone-aware prediction-time column (an entity key and label
        are not needed here). Not modified.
    time_col : str
        The prediction-time column (e.g. ``ended_at`` for sessions, ``snapshot_at`` for
        creator snapshots).
    train_end : str or Timestamp, optional
        Exclusive end of the training period. Naive values are read as UTC.
    valid_days, test_days : float, optional
        Lengths of the validation and test periods in days.
    gap : str or Timedelta, default ``"0D"``
        The label-maturity gap between periods (label horizon plus resolution delay).
    label_col : str, optional
        0/1 label column; when given each period must hold positives and negatives.

    Returns
    -------
    TimeSplit

    Raises
    ------
    TrainingError
        Time column missing, not a datetime or naive; gap negative or without unit;
        non-positive ``valid_days``/``test_days``; gaps longer than the data; a period
        with no rows or a single class (the message gives bounds and counts).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="D", tz="UTC")})
    >>> s = time_split(f, time_col="t")
    >>> [p.n_rows for p in s.periods]
    [60, 20, 20]
    >>> s = time_split(f, time_col="t", train_end="2026-03-01", valid_days=14, test_days=7,
    ...                gap="7D")
    >>> [p.n_rows for p in s.periods], s.n_in_gap, s.n_outside
    ([59, 14, 7], 14, 6)
    """
    gap_us = _duration(gap, "gap")
    valid_us = _days(valid_days, "valid_days")
    test_us = _days(test_days, "test_days")
    train_end_us = _bound(train_end, "train_end")
    times, labels, data_range = _prepare(frame, time_col, label_col)
    lo, hi = _day_range(times)

    if train_end_us is None:
        usable = _usable(lo, hi, gap_us, data_range)
        if test_us is None:
            test_us = _default_length(usable, DEFAULT_TEST_SHARE)
            if valid_us is None:
                valid_us = _default_length(usable, DEFAULT_VALID_SHARE)
        elif valid_us is None:
            valid_us = test_us
        te_s = hi - test_us
        va_e = te_s - gap_us
        va_s = va_e - valid_us
        tr_e = va_s - gap_us
        bounds = [(_train_start(lo, tr_e), tr_e), (va_s, va_e), (te_s, hi)]
    else:
        va_s = train_end_us + gap_us
        if valid_us is None:
            if test_us is not None:
                valid_us = test_us
            else:
                remaining = hi - va_s - gap_us
                if remaining <= 0:
                    raise TrainingError(
                        f"train_end={train_end!r} plus two gaps of {pd.Timedelta(gap_us, 'us')} "
                        f"leaves no time for validation and test (the data runs {data_range}); "
                        "move train_end earlier or shorten the gap"
                    )
                valid_us = _default_length(remaining, 0.5)
        va_e = va_s + valid_us
        te_s = va_e + gap_us
        te_e = max(hi, te_s) if test_us is None else te_s + test_us
        bounds = [(_train_start(lo, train_end_us), train_end_us), (va_s, va_e), (te_s, te_e)]
    return _split(
        times,
        labels,
        time_col=time_col,
        label_col=label_col,
        bounds=bounds,
        gap=gap_us,
        fold=None,
        data_range=data_range,
    )


def prequential_splits(
    frame: pd.DataFrame,
    *,
    time_col: str,
    n_folds: int,
    valid_days: float | None = None,
    test_days: float | None = None,
    gap: str | pd.Timedelta | timedelta = "0D",
    label_col: str | None = None,
) -> list[TimeSplit]:
    """Rolling-origin (prequential) folds: expanding train window, validation and test after it.

    The test windows of the folds tile the end of the data: fold ``n_folds - 1`` tests
    on the last ``test_days`` up to the last row, each earlier fold on the window just
    before. Each fold's validation window (``valid_days``) sits before its test window
    and its train period runs from the first row to the validation start, with ``gap``
    between periods. The origin moves forward by ``test_days`` per fold, so each fold
    trains on everything the previous fold trained on plus one more window.

    Defaults: the last 40 % of the usable range (time span minus two gaps) is cut into
    ``n_folds + 1`` equal windows: the first fold validates on the first of them and
    every fold tests on one. So the first fold trains on 60 % of the usable range, and
    ``n_folds=1`` gives the same split as :func:`time_split`'s default.

    Parameters
    ----------
    frame : DataFrame
        Any frame with a timezone-aware prediction-time column. Not modified.
    time_col : str
        The prediction-time column.
    n_folds : int
        Number of folds (at least 1).
    valid_days, test_days : float, optional
        Window lengths in days. If only one is given the other gets the same length.
    gap : str or Timedelta, default ``"0D"``
        The label-maturity gap between periods.
    label_col : str, optional
        0/1 label column; when given every period of every fold must hold both classes.

    Returns
    -------
    list of TimeSplit
        Oldest fold first, ``fold`` set to 0, 1, ...

    Raises
    ------
    TrainingError
        As :func:`time_split` (messages say which fold), and for ``n_folds < 1``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="D", tz="UTC")})
    >>> folds = prequential_splits(f, time_col="t", n_folds=3, test_days=10)
    >>> [(s.train.n_rows, s.validation.n_rows, s.test.n_rows) for s in folds]
    [(60, 10, 10), (70, 10, 10), (80, 10, 10)]
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 1:
        raise TrainingError(f"n_folds={n_folds!r} must be a positive integer")
    n_folds = int(n_folds)
    gap_us = _duration(gap, "gap")
    valid_us = _days(valid_days, "valid_days")
    test_us = _days(test_days, "test_days")
    times, labels, data_range = _prepare(frame, time_col, label_col)
    lo, hi = _day_range(times)
    usable = _usable(lo, hi, gap_us, data_range)
    if test_us is None:
        if valid_us is not None:
            test_us = valid_us
        else:
            test_us = _default_length(usable, DEFAULT_PREQUENTIAL_SHARE / (n_folds + 1))
    if valid_us is None:
        valid_us = test_us
    splits = []
    for fold in range(n_folds):
        te_e = hi - (n_folds - 1 - fold) * test_us
        te_s = te_e - test_us
        va_e = te_s - gap_us
        va_s = va_e - valid_us
        tr_e = va_s - gap_us
        bounds = [(_train_start(lo, tr_e), tr_e), (va_s, va_e), (te_s, te_e)]
        splits.append(
            _split(
                times,
                labels,
                time_col=time_col,
                label_col=label_col,
                bounds=bounds,
                gap=gap_us,
                fold=fold,
                data_range=data_range,
            )
        )
    return splits
