"""Time splits: periods in time order, the label-maturity gap respected, no row in two periods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from govml._exceptions import TrainingError
from govml.training.splits import (
    Period,
    TimeSplit,
    prequential_splits,
    split_by_bounds,
    time_split,
)

DAY = pd.Timedelta(days=1)


def daily(n: int = 100, *, start: str = "2026-01-01", labels: bool = True) -> pd.DataFrame:
    t = pd.date_range(start, periods=n, freq="D", tz="UTC")
    frame = pd.DataFrame({"creator_id": [f"c{i % 7}" for i in range(n)], "snapshot_at": t})
    if labels:
        frame["y"] = np.arange(n) % 2
    return frame


def check_split(split: TimeSplit, frame: pd.DataFrame, time_col: str) -> None:
    """Invariants every split must satisfy."""
    t = frame[time_col].reset_index(drop=True)
    tr, va, te = split.train_index, split.validation_index, split.test_index
    # disjoint, sorted, read-only
    assert not (set(tr) & set(va) or set(tr) & set(te) or set(va) & set(te))
    for idx in (tr, va, te):
        assert np.all(np.diff(idx) > 0)
        assert not idx.flags.writeable
    assert len(tr) + len(va) + len(te) + split.n_in_gap + split.n_outside == len(frame)
    # bounds in order with the gap between them
    assert split.train.end + split.gap <= split.validation.start
    assert split.validation.end + split.gap <= split.test.start
    for period, idx in zip(split.periods, (tr, va, te), strict=True):
        assert period.n_rows == len(idx)
        assert (t.iloc[idx] >= period.start).all()
        assert (t.iloc[idx] < period.end).all()
    # every train time is at least `gap` before every validation time, etc.
    if len(tr) and len(va):
        assert t.iloc[va].min() - t.iloc[tr].max() >= split.gap
    if len(va) and len(te):
        assert t.iloc[te].min() - t.iloc[va].max() >= split.gap


# --------------------------------------------------------------------------- time_split


def test_default_split_is_60_20_20_of_the_time_range():
    frame = daily(100)
    split = time_split(frame, time_col="snapshot_at")
    assert [p.n_rows for p in split.periods] == [60, 20, 20]
    assert split.train.start == pd.Timestamp("2026-01-01", tz="UTC")
    assert split.test.end == pd.Timestamp("2026-04-11", tz="UTC")  # midnight after the last day
    assert split.n_in_gap == split.n_outside == 0
    assert split.train.n_positive is None
    check_split(split, frame, "snapshot_at")


def test_default_split_with_gap_drops_and_counts_gap_rows():
    frame = daily(100)
    split = time_split(frame, time_col="snapshot_at", gap="5D", label_col="y")
    # usable range 100 - 2*5 = 90 days: test 18, validation 18, train 54
    assert [p.days for p in split.periods] == [54.0, 18.0, 18.0]
    assert [p.n_rows for p in split.periods] == [54, 18, 18]
    assert split.n_in_gap == 10
    assert split.gap == pd.Timedelta(days=5)
    assert split.train.n_positive == 27
    check_split(split, frame, "snapshot_at")


def test_explicit_train_end_valid_and_test_days():
    frame = daily(100)
    split = time_split(
        frame,
        time_col="snapshot_at",
        train_end="2026-03-01",
        valid_days=14,
        test_days=7,
        gap="7D",
    )
    assert split.train.end == pd.Timestamp("2026-03-01", tz="UTC")
    assert split.validation.start == pd.Timestamp("2026-03-08", tz="UTC")
    assert split.validation.end == pd.Timestamp("2026-03-22", tz="UTC")
    assert split.test.start == pd.Timestamp("2026-03-29", tz="UTC")
    assert split.test.end == pd.Timestamp("2026-04-05", tz="UTC")
    assert [p.n_rows for p in split.periods] == [59, 14, 7]
    assert (split.n_in_gap, split.n_outside) == (14, 6)
    check_split(split, frame, "snapshot_at")


def test_train_end_alone_halves_the_rest_and_test_runs_to_the_end():
    frame = daily(100)
    split = time_split(frame, time_col="snapshot_at", train_end="2026-02-10")
    # 2026-02-10 .. 2026-04-11 is 60 days: 30 validation, 30 test
    assert [p.n_rows for p in split.periods] == [40, 30, 30]
    only_test = time_split(frame, time_col="snapshot_at", train_end="2026-02-10", test_days=10)
    assert only_test.validation.days == only_test.test.days == 10
    only_valid = time_split(frame, time_col="snapshot_at", train_end="2026-02-10", valid_days=10)
    assert only_valid.test.end == pd.Timestamp("2026-04-11", tz="UTC")
    assert only_valid.test.n_rows == 50


def test_only_one_length_given_sets_the_other():
    frame = daily(100)
    split = time_split(frame, time_col="snapshot_at", test_days=10)
    assert [p.n_rows for p in split.periods] == [80, 10, 10]
    split = time_split(frame, time_col="snapshot_at", valid_days=5)
    assert [p.n_rows for p in split.periods] == [75, 5, 20]


def test_short_data_is_cut_at_exact_fractions():
    frame = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=100, freq="h", tz="UTC")})
    split = time_split(frame, time_col="t")
    assert [p.n_rows for p in split.periods] == [60, 20, 20]
    check_split(split, frame, "t")


def test_other_timezones_are_converted_and_naive_bounds_read_as_utc():
    frame = daily(100)
    jakarta = frame.assign(snapshot_at=frame["snapshot_at"].dt.tz_convert("Asia/Jakarta"))
    a = time_split(frame, time_col="snapshot_at", train_end="2026-03-01")
    b = time_split(jakarta, time_col="snapshot_at", train_end=pd.Timestamp("2026-03-01"))
    c = time_split(
        frame,
        time_col="snapshot_at",
        train_end=pd.Timestamp("2026-03-01 07:00", tz="Asia/Jakarta"),
    )
    for s in (b, c):
        assert s.train == a.train
        assert np.array_equal(s.test_index, a.test_index)


def test_row_order_does_not_matter():
    frame = daily(60)
    shuffled = frame.sample(frac=1.0, random_state=3)
    a = time_split(frame, time_col="snapshot_at", gap="2D")
    b = time_split(shuffled, time_col="snapshot_at", gap="2D")
    assert a.periods == b.periods
    for x, y in zip(a.frames(frame), b.frames(shuffled), strict=True):
        pd.testing.assert_frame_equal(x, y.sort_values("snapshot_at"))


def test_frames_returns_rows_and_does_not_mutate():
    frame = daily(40)
    before = frame.copy(deep=True)
    split = time_split(frame, time_col="snapshot_at", gap="1D", label_col="y")
    train, valid, test = split.frames(frame)
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(train, frame.iloc[split.train_index])
    assert len(valid) == split.validation.n_rows and len(test) == split.test.n_rows
    table = split.to_frame()
    assert list(table.index) == ["train", "validation", "test"]
    assert table["n_rows"].tolist() == [p.n_rows for p in split.periods]
    assert "rows dropped in gaps" in str(split)
    assert np.array_equal(split.index("validation"), split.validation_index)


def test_frames_refuses_another_frame():
    frame = daily(40)
    split = time_split(frame, time_col="snapshot_at")
    with pytest.raises(TrainingError, match="frame of 40 rows but got 39 rows"):
        split.frames(frame.iloc[:-1])
    with pytest.raises(TrainingError, match="frame has no time column 'snapshot_at'"):
        split.frames(frame.drop(columns="snapshot_at"))
    with pytest.raises(TrainingError, match="was reordered or changed after the split"):
        split.frames(frame.iloc[::-1])
    with pytest.raises(TrainingError, match="unknown period 'valid'"):
        split.index("valid")


def test_period_str_and_days():
    p = Period(
        "test", pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-01-08", tz="UTC"), 3
    )
    assert p.days == 7.0
    assert "3 rows" in str(p)


# --------------------------------------------------------------------------- property


@st.composite
def times_strategy(draw) -> list[int]:
    """Random row times (seconds over 60 days): a few hand-picked by hypothesis (so it can
    shrink towards edge cases such as ties and clusters) plus uniform random ones."""
    picked = draw(st.lists(st.integers(min_value=0, max_value=60 * 86400), max_size=20))
    n = draw(st.integers(min_value=0, max_value=150))
    rng = np.random.default_rng(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    return picked + rng.integers(0, 60 * 86400, size=n).tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=times_strategy(),
    gap_hours=st.integers(min_value=0, max_value=24 * 5),
    train_end_day=st.one_of(st.none(), st.integers(min_value=5, max_value=40)),
    valid_days=st.one_of(st.none(), st.floats(min_value=2, max_value=20)),
    test_days=st.one_of(st.none(), st.floats(min_value=2, max_value=20)),
)
def test_property_time_ordered_gap_respected_disjoint(
    seconds, gap_hours, train_end_day, valid_days, test_days
):
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    frame = pd.DataFrame({"t": (t0 + pd.to_timedelta(seconds, unit="s")).as_unit("us")})
    train_end = None if train_end_day is None else t0 + train_end_day * DAY
    try:
        split = time_split(
            frame,
            time_col="t",
            train_end=train_end,
            valid_days=valid_days,
            test_days=test_days,
            gap=pd.Timedelta(hours=gap_hours),
        )
    except TrainingError as err:
        # only the documented reasons: a period without rows or gaps too long for the data
        assert (
            "has no rows" in str(err)
            or "not longer than two gaps" in str(err)
            or ("leaves no time" in str(err))
        )
        event("documented error")
        return
    event("split")
    check_split(split, frame, "t")


@settings(max_examples=40, deadline=None)
@given(
    jitter=st.lists(st.integers(min_value=0, max_value=24 * 3600 - 1), min_size=40, max_size=80),
    n_folds=st.integers(min_value=1, max_value=4),
    gap_hours=st.integers(min_value=0, max_value=24 * 3),
)
def test_property_prequential_folds(jitter, n_folds, gap_hours):
    # one row per day at a random time of day: every window of 2+ days has rows, and with
    # 40+ days, gaps of at most 3 days and at most 4 folds every default window is 3+ days
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    offsets = pd.to_timedelta(np.arange(len(jitter)) * 86400 + np.array(jitter), unit="s")
    frame = pd.DataFrame({"t": (t0 + offsets).as_unit("us")})
    folds = prequential_splits(
        frame, time_col="t", n_folds=n_folds, gap=pd.Timedelta(hours=gap_hours)
    )
    assert [s.fold for s in folds] == list(range(n_folds))
    for s in folds:
        check_split(s, frame, "t")
    for a, b in zip(folds, folds[1:], strict=False):
        assert b.train.end > a.train.end
        assert set(a.train_index) <= set(b.train_index)
        assert a.test.end == b.test.start  # test windows tile the end of the data


# --------------------------------------------------------------------------- prequential


def test_prequential_folds_expand_and_tile():
    frame = daily(100)
    folds = prequential_splits(frame, time_col="snapshot_at", n_folds=4, gap="2D", label_col="y")
    assert len(folds) == 4
    train_sizes = [s.train.n_rows for s in folds]
    assert train_sizes == sorted(train_sizes) and len(set(train_sizes)) == 4
    assert folds[-1].test.end == pd.Timestamp("2026-04-11", tz="UTC")
    for a, b in zip(folds, folds[1:], strict=False):
        assert a.test.end == b.test.start
        assert b.train.end - a.train.end == a.test.end - a.test.start
    for s in folds:
        check_split(s, frame, "snapshot_at")
        assert s.gap == pd.Timedelta(days=2)
    # first fold trains on 60 % of the usable range (100 - 4 = 96 days -> 57.6, whole days)
    assert folds[0].train.days == pytest.approx(96 - 5 * round(0.4 * 96 / 5), abs=1)


def test_prequential_one_fold_equals_default_time_split():
    frame = daily(90)
    (fold,) = prequential_splits(frame, time_col="snapshot_at", n_folds=1, gap="3D")
    single = time_split(frame, time_col="snapshot_at", gap="3D")
    assert fold.periods == single.periods
    assert fold.fold == 0 and single.fold is None


def test_prequential_explicit_windows():
    frame = daily(100)
    folds = prequential_splits(frame, time_col="snapshot_at", n_folds=3, test_days=10)
    assert [(s.train.n_rows, s.validation.n_rows, s.test.n_rows) for s in folds] == [
        (60, 10, 10),
        (70, 10, 10),
        (80, 10, 10),
    ]
    folds = prequential_splits(frame, time_col="snapshot_at", n_folds=2, valid_days=20)
    assert [(s.train.n_rows, s.validation.n_rows, s.test.n_rows) for s in folds] == [
        (40, 20, 20),
        (60, 20, 20),
    ]


def test_prequential_error_names_the_fold():
    frame = daily(100)
    frame.loc[frame["snapshot_at"] >= "2026-03-25", "y"] = 0
    with pytest.raises(TrainingError, match=r"fold 2: test period .* no positive labels in 'y'"):
        prequential_splits(frame, time_col="snapshot_at", n_folds=3, test_days=10, label_col="y")


@pytest.mark.parametrize("n_folds", [0, -1, 2.0, True, "3"])
def test_prequential_bad_n_folds(n_folds):
    with pytest.raises(TrainingError, match="n_folds=.* must be a positive integer"):
        prequential_splits(daily(20), time_col="snapshot_at", n_folds=n_folds)


def test_prequential_gap_longer_than_data():
    with pytest.raises(TrainingError, match="not longer than two gaps of 30 days"):
        prequential_splits(daily(50), time_col="snapshot_at", n_folds=2, gap="30D")


# --------------------------------------------------------------------------- split_by_bounds


def test_split_by_bounds():
    frame = daily(10)
    split = split_by_bounds(
        frame,
        time_col="snapshot_at",
        train=(None, "2026-01-05"),
        validation=("2026-01-06", "2026-01-08"),
        test=("2026-01-09", None),
        gap="1D",
    )
    assert split.train_index.tolist() == [0, 1, 2, 3]
    assert split.validation_index.tolist() == [5, 6]
    assert split.test_index.tolist() == [8, 9]
    assert split.n_in_gap == 2 and split.n_outside == 0
    split = split_by_bounds(
        frame,
        time_col="snapshot_at",
        train=("2026-01-02", "2026-01-05"),
        validation=("2026-01-05", "2026-01-07"),
        test=("2026-01-07", "2026-01-09"),
    )
    assert split.n_outside == 3 and split.n_in_gap == 0


def test_overlapping_bounds():
    frame = daily(10)
    with pytest.raises(TrainingError, match="overlapping bounds: train ends at 2026-01-06 and "):
        split_by_bounds(
            frame,
            time_col="snapshot_at",
            train=(None, "2026-01-06"),
            validation=("2026-01-05", "2026-01-08"),
            test=("2026-01-08", None),
        )
    with pytest.raises(
        TrainingError, match=r"validation ends at 2026-01-08 and test starts at 2026-01-09 .*gap 2"
    ):
        split_by_bounds(
            frame,
            time_col="snapshot_at",
            train=(None, "2026-01-02"),
            validation=("2026-01-04", "2026-01-08"),
            test=("2026-01-09", None),
            gap="2D",
        )


def test_reversed_and_open_bounds():
    frame = daily(10)
    with pytest.raises(TrainingError, match=r"validation period \[2026-01-07, 2026-01-05\) is rev"):
        split_by_bounds(
            frame,
            time_col="snapshot_at",
            train=(None, "2026-01-03"),
            validation=("2026-01-07", "2026-01-05"),
            test=("2026-01-08", None),
        )
    with pytest.raises(TrainingError, match="are open; only the train start and the test end"):
        split_by_bounds(
            frame,
            time_col="snapshot_at",
            train=(None, "2026-01-03"),
            validation=(None, "2026-01-05"),
            test=("2026-01-08", None),
        )
    with pytest.raises(TrainingError, match="must be a \\(start, end\\) pair"):
        split_by_bounds(
            frame,
            time_col="snapshot_at",
            train="2026-01-03",
            validation=("2026-01-04", "2026-01-05"),
            test=("2026-01-08", None),
        )
    with pytest.raises(TrainingError, match="train end='not a date' is not a timestamp"):
        split_by_bounds(
            frame,
            time_col="snapshot_at",
            train=(None, "not a date"),
            validation=("2026-01-04", "2026-01-05"),
            test=("2026-01-08", None),
        )
    with pytest.raises(TrainingError, match="validation start is NaT"):
        split_by_bounds(
            frame,
            time_col="snapshot_at",
            train=(None, "2026-01-03"),
            validation=("NaT", "2026-01-05"),
            test=("2026-01-08", None),
        )


# --------------------------------------------------------------------------- errors


def test_time_column_missing_wrong_dtype_naive_or_with_nat():
    frame = daily(20)
    with pytest.raises(TrainingError, match="time column 'ended_at' is not in the frame"):
        time_split(frame, time_col="ended_at")
    with pytest.raises(TrainingError, match="has dtype str.*expected datetime64"):
        time_split(
            frame.assign(snapshot_at=frame["snapshot_at"].astype(str)), time_col="snapshot_at"
        )
    naive = frame.assign(snapshot_at=frame["snapshot_at"].dt.tz_localize(None))
    with pytest.raises(TrainingError, match="is timezone-naive .*tz_localize"):
        time_split(naive, time_col="snapshot_at")
    with_nat = frame.copy()
    with_nat.loc[3, "snapshot_at"] = pd.NaT
    with pytest.raises(TrainingError, match=r"1 missing value\(s\) \(first at positions \[3\]\)"):
        time_split(with_nat, time_col="snapshot_at")


def test_not_a_frame_and_empty_frame():
    with pytest.raises(TrainingError, match="expected a pandas DataFrame, got dict"):
        time_split({"t": []}, time_col="t")
    empty = daily(5).iloc[:0]
    with pytest.raises(TrainingError, match="the frame has no rows"):
        time_split(empty, time_col="snapshot_at")


@pytest.mark.parametrize(
    ("gap", "match"),
    [
        ("-3D", "gap='-3D' is negative"),
        (pd.Timedelta(days=-1), "is negative; the label-maturity gap"),
        (7, "gap=7 has no unit"),
        (7.5, "gap=7.5 has no unit"),
        ("soon", "gap='soon' is not a duration"),
        ("NaT", "gap is NaT"),
    ],
)
def test_bad_gap(gap, match):
    with pytest.raises(TrainingError, match=match):
        time_split(daily(20), time_col="snapshot_at", gap=gap)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"valid_days": 0}, "valid_days=0 must be a positive number of days"),
        ({"test_days": -2.5}, "test_days=-2.5 must be a positive number of days"),
        ({"test_days": float("inf")}, "must be a positive number of days"),
        ({"test_days": "7D"}, "test_days='7D' must be a number of days"),
        ({"train_end": "yesterday-ish"}, "train_end='yesterday-ish' is not a timestamp"),
    ],
)
def test_bad_lengths_and_bounds(kwargs, match):
    with pytest.raises(TrainingError, match=match):
        time_split(daily(20), time_col="snapshot_at", **kwargs)


def test_gaps_longer_than_the_data():
    with pytest.raises(TrainingError, match="not longer than two gaps of 10 days"):
        time_split(daily(20), time_col="snapshot_at", gap="10D")
    with pytest.raises(TrainingError, match="leaves no time for validation and test"):
        time_split(daily(20), time_col="snapshot_at", train_end="2026-01-15", gap="4D")


def test_period_without_rows_says_bounds_and_counts():
    frame = daily(20)
    with pytest.raises(
        TrainingError,
        match=r"train period \[2025-12-01, 2025-12-01\) has no rows \(rows per period: train 0, "
        r"validation 0, test \d+.*move train_end",
    ):
        time_split(frame, time_col="snapshot_at", train_end="2025-12-01", valid_days=5)
    # a validation period in a hole of the data
    holes = frame[(frame["snapshot_at"] < "2026-01-08") | (frame["snapshot_at"] >= "2026-01-12")]
    with pytest.raises(TrainingError, match=r"validation period \[2026-01-08, 2026-01-11\) has no"):
        time_split(holes, time_col="snapshot_at", train_end="2026-01-08", valid_days=3)


def test_period_without_positives_or_negatives():
    frame = daily(40)
    no_pos = frame.assign(y=np.where(frame["snapshot_at"] >= "2026-02-01", 0, frame["y"]))
    with pytest.raises(
        TrainingError,
        match=r"test period \[2026-02-02, 2026-02-10\) has 8 rows but no positive labels in 'y' "
        r"\(rows per period: train 24 \(12 pos\)",
    ):
        time_split(no_pos, time_col="snapshot_at", label_col="y")
    all_pos = frame.assign(y=np.where(frame["snapshot_at"] >= "2026-02-01", 1, frame["y"]))
    with pytest.raises(TrainingError, match="test period .* all are positive in 'y'"):
        time_split(all_pos, time_col="snapshot_at", label_col="y")


def test_bad_label_column():
    frame = daily(20)
    with pytest.raises(TrainingError, match="label column 'label' is not in the frame"):
        time_split(frame, time_col="snapshot_at", label_col="label")
    with pytest.raises(TrainingError, match=r"1 missing value\(s\); unlabelled"):
        time_split(
            frame.assign(y=frame["y"].astype("float").where(frame.index != 2)),
            time_col="snapshot_at",
            label_col="y",
        )
    with pytest.raises(
        TrainingError, match=r"must hold only 0/1 \(or bool\), found values \[2.0\]"
    ):
        time_split(frame.assign(y=frame["y"] * 2), time_col="snapshot_at", label_col="y")
    with pytest.raises(TrainingError, match="has dtype str; expected 0/1 or bool"):
        time_split(frame.assign(y=["a"] * 20), time_col="snapshot_at", label_col="y")
    # bool labels work
    split = time_split(
        frame.assign(y=frame["y"].astype(bool)), time_col="snapshot_at", label_col="y"
    )
    assert split.train.n_positive == 6


def test_default_bounds_are_whole_days_for_long_data():
    t = pd.date_range("2026-01-01 09:30", periods=30 * 24, freq="h", tz="UTC")
    split = time_split(pd.DataFrame({"t": t}), time_col="t", gap="1D")
    for p in split.periods:
        assert p.start == p.start.normalize() and p.end == p.end.normalize()
    assert split.train.start == pd.Timestamp("2026-01-01", tz="UTC")
    assert split.test.end == pd.Timestamp("2026-02-01", tz="UTC")  # last row: 01-31 08:30
