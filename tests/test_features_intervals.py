"""active_at / latest_before: exact boundaries, brute-force agreement, future poisoning."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govml import FeatureError
from govml.features.intervals import active_at, latest_before

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def ts(hours):
    return T0 + pd.to_timedelta(np.asarray(hours, dtype=float), unit="h")


def intervals_frame(rows):
    keys, starts, ends, vals = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pd.DataFrame(
        {
            "k": pd.Series(keys, dtype="str"),
            "start": pd.Series(ts(list(starts)), dtype="datetime64[us, UTC]"),
            "end": pd.Series(
                [T0 + pd.Timedelta(hours=e) if e is not None else pd.NaT for e in ends],
                dtype="datetime64[us, UTC]",
            ),
            "v": pd.Series(vals, dtype="float64"),
        }
    )


def brute_active(iv, q):
    out = []
    for _, row in q.iterrows():
        t = row["t"]
        sel = iv[(iv["k"] == row["k"]) & (iv["start"] < t) & ~(iv["end"] < t)]
        out.append((float(len(sel)), float(sel["v"].fillna(0).sum())))
    return np.array(out).reshape(-1, 2)


def test_boundaries_are_exact():
    iv = intervals_frame([("a", 10, 20, 1.0)])
    q = pd.DataFrame({"k": ["a"] * 5, "t": ts([10, 10.001, 20, 20.001, 5])})
    res = active_at(iv, q, keys="k", start="start", end="end", query_time="t", values=["v"])
    # start at t: not yet known; end exactly at t: still active; end before t: gone
    assert res["active_count"].tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]


def test_open_ended_interval_never_ends():
    iv = intervals_frame([("a", 0, None, 2.0)])
    q = pd.DataFrame({"k": ["a"], "t": ts([10_000])})
    res = active_at(iv, q, keys="k", start="start", end="end", query_time="t", values=["v"])
    assert res["active_v"].tolist() == [2.0]


row = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.integers(0, 20),
    st.one_of(st.none(), st.integers(0, 30)),
    st.one_of(st.floats(-5, 5, allow_nan=False), st.just(np.nan)),
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(row, max_size=25),
    queries=st.lists(
        st.tuples(st.sampled_from(["a", "b", "d"]), st.integers(0, 35)), min_size=1, max_size=15
    ),
)
def test_matches_brute_force(rows, queries):
    rows = [(k, s, None if e is None else max(e, s), v) for k, s, e, v in rows]
    iv = intervals_frame(rows)
    q = pd.DataFrame({"k": [k for k, _ in queries], "t": ts([t for _, t in queries])})
    res = active_at(iv, q, keys="k", start="start", end="end", query_time="t", values=["v"])
    expected = brute_active(iv, q)
    np.testing.assert_allclose(res[["active_count", "active_v"]].to_numpy(), expected, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(row, max_size=20),
    poison=st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 10)), min_size=1, max_size=5
    ),
    t=st.integers(1, 30),
)
def test_future_poisoning_changes_nothing(rows, poison, t):
    rows = [(k, s, None if e is None else max(e, s), v) for k, s, e, v in rows]
    iv = intervals_frame(rows)
    q = pd.DataFrame({"k": ["a", "b"], "t": ts([t, t])})
    before = active_at(iv, q, keys="k", start="start", end="end", query_time="t", values=["v"])
    future = intervals_frame([(k, t + d, t + d + 1, 1e12) for k, d in poison])
    after = active_at(
        pd.concat([future, iv], ignore_index=True),
        q,
        keys="k",
        start="start",
        end="end",
        query_time="t",
        values=["v"],
    )
    pd.testing.assert_frame_equal(before, after, check_exact=True)


def test_latest_before_ties_and_strictness():
    ev = pd.DataFrame({"k": ["a", "a", "a"], "t": ts([1, 2, 2]), "x": [1.0, 2.0, 3.0]})
    q = pd.DataFrame({"k": ["a", "a", "a"], "t": ts([1, 2, 3])}, index=[7, 8, 9])
    res = latest_before(ev, q, keys="k", event_time="t", query_time="t", value="x")
    assert res.index.tolist() == [7, 8, 9]
    assert np.isnan(res.iloc[0]) and res.iloc[1] == 1.0 and res.iloc[2] == 3.0


def test_inputs_not_mutated():
    iv = intervals_frame([("b", 3, 9, 1.0), ("a", 1, None, 2.0)])
    q = pd.DataFrame({"k": ["a", "b"], "t": ts([5, 5])})
    iv0, q0 = iv.copy(), q.copy()
    active_at(iv, q, keys="k", start="start", end="end", query_time="t", values=["v"])
    latest_before(iv, q, keys="k", event_time="start", query_time="t", value="v")
    pd.testing.assert_frame_equal(iv, iv0)
    pd.testing.assert_frame_equal(q, q0)


def test_errors_name_the_problem():
    iv = intervals_frame([("a", 1, 2, 1.0)])
    q = pd.DataFrame({"k": ["a"], "t": ts([5])})
    with pytest.raises(FeatureError, match=r"queries is missing column\(s\) \['t2'\]"):
        active_at(iv, q, keys="k", start="start", end="end", query_time="t2")
    with pytest.raises(FeatureError, match="must be numeric to be summed"):
        active_at(
            iv.assign(v="x"), q, keys="k", start="start", end="end", query_time="t", values=["v"]
        )
    with pytest.raises(FeatureError, match="must be a timezone-aware datetime"):
        active_at(
            iv.assign(start=iv["start"].dt.tz_localize(None)),
            q,
            keys="k",
            start="start",
            end="end",
            query_time="t",
        )
    with pytest.raises(FeatureError, match="missing value"):
        active_at(
            iv.assign(start=pd.Series([pd.NaT], dtype="datetime64[us, UTC]")),
            q,
            keys="k",
            start="start",
            end="end",
            query_time="t",
        )
    with pytest.raises(FeatureError, match="every query needs a time"):
        active_at(
            iv,
            q.assign(t=pd.Series([pd.NaT], dtype="datetime64[us, UTC]")),
            keys="k",
            start="start",
            end="end",
            query_time="t",
        )
    with pytest.raises(FeatureError, match=r"events is missing column\(s\) \['nope'\]"):
        latest_before(iv, q, keys="k", event_time="start", query_time="t", value="nope")
