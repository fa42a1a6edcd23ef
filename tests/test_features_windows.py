"""trailing_windows: brute-force agreement, exact boundaries, future poisoning, invariances."""

from __future__ import annotations

import doctest
import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govml import FeatureError
from govml.features import windows as windows_module
from govml.features.windows import AGGREGATIONS, trailing_windows, window_label

T0 = pd.Timestamp("2026-01-01", tz="UTC")
US = pd.Timedelta(microseconds=1)
TS = "datetime64[us, UTC]"
ALL_AGGS = AGGREGATIONS
EXACT_AGGS = {"count", "min", "max", "last", "days_since_last"}


def at(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hours)


def times(values) -> pd.api.extensions.ExtensionArray:
    """A datetime64[us, UTC] array (no index, so frames keep their own)."""
    return pd.Series(list(values), dtype=TS).array


# ----------------------------------------------------------------------------- reference
def brute_force(
    events: pd.DataFrame,
    queries: pd.DataFrame,
    *,
    keys,
    event_time,
    query_time=None,
    values=(),
    windows=("1D", "7D", "30D", "90D"),
    aggregations=ALL_AGGS,
    time_since_last=True,
    prefix="",
):
    """A plain loop over all events for every query. Returns (expected, scale, kinds)."""
    key_cols = [keys] if isinstance(keys, str) else list(keys)
    query_time = query_time or event_time
    tds = [pd.Timedelta(w) for w in windows]
    labels = [window_label(w) for w in windows]
    ev = [
        (
            tuple(row[c] for c in key_cols),
            row[event_time],
            pos,
            {v: float(row[v]) if not pd.isna(row[v]) else math.nan for v in values},
        )
        for pos, (_, row) in enumerate(events.iterrows())
    ]
    columns, kinds = [], {}
    for label in labels:
        if "count" in aggregations:
            columns.append(f"{prefix}count_{label}")
            kinds[columns[-1]] = "count"
        for v in values:
            for agg in aggregations:
                if agg != "count":
                    columns.append(f"{prefix}{v}_{agg}_{label}")
                    kinds[columns[-1]] = agg
    if time_since_last:
        columns.append(f"{prefix}days_since_last")
        kinds[columns[-1]] = "days_since_last"
    expected = pd.DataFrame(np.nan, index=queries.index, columns=columns)
    scale = pd.DataFrame(0.0, index=queries.index, columns=columns)
    for row_no, (_, q) in enumerate(queries.iterrows()):
        qk = tuple(q[c] for c in key_cols)
        t = q[query_time]
        missing = any(pd.isna(x) for x in qk)  # a missing key matches nothing
        before = [] if missing else [e for e in ev if e[0] == qk and e[1] < t]
        if time_since_last and before:
            latest = max(e[1] for e in before)
            expected.iloc[row_no, columns.index(f"{prefix}days_since_last")] = (
                t - latest
            ) / pd.Timedelta(days=1)
        for td, label in zip(tds, labels, strict=True):
            inside = sorted((e for e in before if e[1] >= t - td), key=lambda e: (e[1], e[2]))
            if "count" in aggregations:
                expected.iloc[row_no, columns.index(f"{prefix}count_{label}")] = len(inside)
            for v in values:
                xs = [e[3][v] for e in inside if not math.isnan(e[3][v])]
                res = {
                    "sum": math.fsum(xs),
                    "mean": math.fsum(xs) / len(xs) if xs else math.nan,
                    "std": statistics.stdev(xs) if len(xs) >= 2 else math.nan,
                    "min": min(xs) if xs else math.nan,
                    "max": max(xs) if xs else math.nan,
                    "last": inside[-1][3][v] if inside else math.nan,
                }
                for agg in aggregations:
                    if agg == "count":
                        continue
                    col = columns.index(f"{prefix}{v}_{agg}_{label}")
                    expected.iloc[row_no, col] = res[agg]
                    scale.iloc[row_no, col] = max((abs(x) for x in xs), default=0.0)
    return expected, scale, kinds


def assert_matches(got: pd.DataFrame, expected: pd.DataFrame, scale, kinds) -> None:
    """Exact for count/min/max/last/days_since_last; 1e-9 relative (to the window's
    largest |value|) for sum/mean/std."""
    assert list(got.columns) == list(expected.columns)
    assert got.index.equals(expected.index)
    assert (got.dtypes == np.float64).all()
    for col in got.columns:
        g = got[col].to_numpy()
        e = expected[col].to_numpy(dtype=np.float64)
        if kinds[col] in EXACT_AGGS:
            np.testing.assert_array_equal(g, e, err_msg=col)
        else:
            np.testing.assert_array_equal(np.isnan(g), np.isnan(e), err_msg=col)
            ok = np.isnan(e) | (np.abs(g - e) <= 1e-9 * np.maximum(np.abs(e), scale[col]))
            assert ok.all(), (col, g[~ok], e[~ok])


def run_both(events, queries, **kwargs):
    got = trailing_windows(events, queries, **kwargs)
    expected, scale, kinds = brute_force(events, queries, **kwargs)
    assert_matches(got, expected, scale, kinds)
    return got


def bits(frame: pd.DataFrame) -> np.ndarray:
    return frame.to_numpy(dtype=np.float64).view(np.int64)


# ----------------------------------------------------------------------------- strategies
SINGLE_KEYS = ["a", "b", "c"]
MARKETS = ["ID", "TH"]
CATEGORIES = ["fashion", "beauty"]
WINDOW_CHOICES = ["1h", "3h", "5h", "1D", pd.Timedelta(minutes=150)]
# no magnitudes below 1e-100: squared deviations of ~1e-291 underflow to 0 in any float64
# std (numpy's too), while the reference (statistics.stdev) computes with exact fractions
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(
    lambda x: 0.0 if abs(x) < 1e-100 else x
)
values_st = st.one_of(st.just(math.nan), st.integers(-3, 3).map(float), finite)
jitter_st = st.sampled_from([0, 0, 0, 0, 1, -1])  # microseconds off the hour grid


@st.composite
def world(draw):
    """Random events and queries with many exact ties and window-edge coincidences."""
    multi = draw(st.booleans())
    key_dtype = draw(st.sampled_from(["str", "object", "category"]))
    windows = draw(st.lists(st.sampled_from(WINDOW_CHOICES), min_size=1, max_size=3))
    windows = list({window_label(w): w for w in windows}.values())

    def key():
        if multi:
            return (
                draw(st.sampled_from([*MARKETS, None])),
                draw(st.sampled_from(CATEGORIES)),
            )
        return (draw(st.sampled_from([*SINGLE_KEYS, None])),)

    n_ev = draw(st.integers(0, 25))
    ev_rows = []
    for _ in range(n_ev):
        t = at(draw(st.integers(0, 30))) + draw(jitter_st) * US
        ev_rows.append((*key(), t, draw(values_st), draw(values_st)))
    n_q = draw(st.integers(0, 12))
    q_rows = []
    for _ in range(n_q):
        how = draw(st.sampled_from(["grid", "event", "edge"]))
        if how != "grid" and ev_rows:
            src = draw(st.sampled_from(ev_rows))
            t = src[-3]
            if how == "edge":  # the event sits exactly at t - w
                t = t + pd.Timedelta(draw(st.sampled_from(windows)))
            qk = src[:-3] if draw(st.booleans()) else key()
        else:
            t = at(draw(st.integers(0, 40))) + draw(jitter_st) * US
            qk = key()
        if not multi and draw(st.integers(0, 9)) == 0:
            qk = ("zz",)  # a key no event has
        q_rows.append((*qk, t))
    key_cols = ["market", "category"] if multi else ["creator_id"]
    events = pd.DataFrame(
        {
            **{c: [r[i] for r in ev_rows] for i, c in enumerate(key_cols)},
            "known_at": times(r[-3] for r in ev_rows),
            "gmv": pd.Series([r[-2] for r in ev_rows], dtype=np.float64),
            "viewers": pd.Series([r[-1] for r in ev_rows], dtype=np.float64),
        }
    )
    queries = pd.DataFrame(
        {
            **{c: [r[i] for r in q_rows] for i, c in enumerate(key_cols)},
            "t": times(r[-1] for r in q_rows),
        }
    )
    queries.index = pd.Index(draw(st.permutations(range(100, 100 + n_q))), name="qid")
    for c in key_cols:
        if key_dtype == "category":
            cats = sorted(set(SINGLE_KEYS + MARKETS + CATEGORIES + ["zz"]))
            events[c] = events[c].astype(pd.CategoricalDtype(cats))
            queries[c] = queries[c].astype(pd.CategoricalDtype(cats[::-1]))
        else:
            events[c] = events[c].astype(key_dtype)
            queries[c] = queries[c].astype(key_dtype)
    return events, queries, key_cols, windows


HYP = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYP
@given(world(), st.sampled_from([0, 1, 2, 4]), st.data())
def test_matches_brute_force(w, leaf, data):
    events, queries, key_cols, windows = w
    aggs = data.draw(st.lists(st.sampled_from(ALL_AGGS), min_size=1, max_size=7, unique=True))
    old = windows_module._LEAF_LEVEL
    windows_module._LEAF_LEVEL = leaf  # small blocks so short histories use the block path
    try:
        run_both(
            events,
            queries,
            keys=key_cols,
            event_time="known_at",
            query_time="t",
            values=["gmv", "viewers"],
            windows=windows,
            aggregations=aggs,
            prefix="x_",
        )
    finally:
        windows_module._LEAF_LEVEL = old


EXTREMES = [1e300, -1e300, math.inf, -math.inf, math.nan, 5e-324, -0.0]


@HYP
@given(world(), st.sampled_from([0, 1, 4]), st.data())
def test_future_poisoning_changes_nothing_before_the_cut(w, leaf, data):
    events, queries, key_cols, windows = w
    if queries.empty:
        return
    cut = data.draw(st.sampled_from(list(queries["t"])))
    poison_rows = []
    for _ in range(data.draw(st.integers(1, 8))):
        after = data.draw(st.sampled_from([0, 0, 1, 3600_000_000, 10**12])) * US
        if len(key_cols) == 1:
            k = {"creator_id": data.draw(st.sampled_from([*SINGLE_KEYS, "zz", "new"]))}
        else:
            k = {
                "market": data.draw(st.sampled_from([*MARKETS, "VN"])),
                "category": data.draw(st.sampled_from(CATEGORIES)),
            }
        poison_rows.append(
            {
                **k,
                "known_at": cut + after,
                "gmv": data.draw(st.sampled_from(EXTREMES)),
                "viewers": data.draw(st.sampled_from(EXTREMES)),
            }
        )
    poison = pd.DataFrame(poison_rows)
    poison["known_at"] = poison["known_at"].astype(TS)
    # insert the poison at random positions, keeping the original rows' relative order
    slots = data.draw(
        st.lists(st.integers(0, len(events)), min_size=len(poison), max_size=len(poison))
    )
    pieces, prev = [], 0
    for i, slot in enumerate(sorted(slots)):
        pieces += [events.iloc[prev:slot], poison.iloc[[i]]]
        prev = slot
    pieces.append(events.iloc[prev:])
    poisoned = pd.concat(pieces, ignore_index=True)
    for c in key_cols:
        poisoned[c] = poisoned[c].astype(object) if events[c].dtype == object else poisoned[c]
    kwargs = dict(
        keys=key_cols,
        event_time="known_at",
        query_time="t",
        values=["gmv", "viewers"],
        windows=windows,
    )
    old = windows_module._LEAF_LEVEL
    windows_module._LEAF_LEVEL = leaf
    try:
        clean = trailing_windows(events, queries, **kwargs)
        dirty = trailing_windows(poisoned, queries, **kwargs)
    finally:
        windows_module._LEAF_LEVEL = old
    before = (queries["t"] <= cut).to_numpy()
    assert before.any()
    np.testing.assert_array_equal(bits(clean[before]), bits(dirty[before]))
    pd.testing.assert_frame_equal(clean[before], dirty[before], check_exact=True)


# ----------------------------------------------------------------------------- semantics
def simple_events():
    return pd.DataFrame(
        {
            "creator_id": ["a", "a", "a", "a", "b"],
            "ended_at": times([at(0), at(10), at(24), at(47), at(5)]),
            "gmv": [1.0, 2.0, 4.0, 8.0, 100.0],
        }
    )


def test_window_boundaries_are_exact():
    t = at(100)
    w = pd.Timedelta("1D")
    events = pd.DataFrame(
        {
            "k": ["a"] * 5,
            "e": times([t - w - US, t - w, t - US, t, t + US]),
            "v": [1.0, 2.0, 4.0, 8.0, 16.0],
        }
    )
    queries = pd.DataFrame({"k": ["a"], "e": times([t])})
    res = trailing_windows(
        events,
        queries,
        keys="k",
        event_time="e",
        values=["v"],
        windows=["1D"],
        aggregations=["count", "sum", "min", "max", "last"],
    )
    # t - w - 1us: out; t - w: in; t - 1us: in; t: out (not known before t); after t: out
    assert res.iloc[0].to_dict() == {
        "count_1d": 2.0,
        "v_sum_1d": 6.0,
        "v_min_1d": 2.0,
        "v_max_1d": 4.0,
        "v_last_1d": 4.0,
        "days_since_last": 1 / 86_400_000_000,
    }


def test_event_exactly_at_query_time_is_excluded_even_when_it_is_the_query():
    events = simple_events()
    res = trailing_windows(
        events,
        events,
        keys="creator_id",
        event_time="ended_at",
        values=["gmv"],
        windows=["1D"],
        aggregations=["count", "sum"],
    )
    # each event sees only strictly earlier events of its creator; the 24h event's window
    # [0h, 24h) holds the events at 0h (exactly t - w) and 10h, but not itself
    assert res["count_1d"].tolist() == [0.0, 1.0, 2.0, 1.0, 0.0]
    assert res["gmv_sum_1d"].tolist() == [0.0, 1.0, 3.0, 4.0, 0.0]
    dsl = res["days_since_last"].tolist()
    assert math.isnan(dsl[0]) and math.isnan(dsl[4])
    assert dsl[1:4] == [10 / 24, 14 / 24, 23 / 24]


def test_sub_microsecond_times_compare_exactly():
    t = pd.Timestamp("2026-01-02", tz="UTC")
    ns = pd.Timedelta(nanoseconds=1)
    w = pd.Timedelta("1D")
    events = pd.DataFrame(
        {
            "k": ["a"] * 4,
            "e": pd.Series([t - w - ns, t - w, t - ns, t], dtype="datetime64[ns, UTC]"),
        }
    )
    queries = pd.DataFrame({"k": ["a"], "t": times([t])})  # microsecond column
    res = trailing_windows(
        events, queries, keys="k", event_time="e", query_time="t", windows=["1D"]
    )
    assert res["count_1d"].item() == 2.0
    assert res["days_since_last"].item() == 1 / 86_400_000_000_000  # 1 ns in days


def test_aggregation_semantics_with_missing_values_and_ties():
    events = pd.DataFrame(
        {
            "k": ["a"] * 5 + ["b"] * 2,
            "e": times([at(1), at(2), at(2), at(3), at(3), at(1), at(2)]),
            "v": [5.0, math.nan, 1.0, 3.0, math.nan, math.nan, math.nan],
        }
    )
    queries = pd.DataFrame({"k": ["a", "a", "b", "c"], "e": times([at(4), at(2.5), at(4), at(4)])})
    res = trailing_windows(events, queries, keys="k", event_time="e", values=["v"], windows=["1D"])
    a4, a25, b4, c4 = (res.iloc[i] for i in range(4))
    assert a4["count_1d"] == 5.0  # NaN values still count as events
    assert a4["v_sum_1d"] == 9.0 and a4["v_mean_1d"] == 3.0
    assert a4["v_std_1d"] == 2.0  # sample std of 5, 1, 3
    assert (a4["v_min_1d"], a4["v_max_1d"]) == (1.0, 5.0)
    assert math.isnan(a4["v_last_1d"])  # latest event (tie at 3h: the later row) has NaN
    assert a25["v_last_1d"] == 1.0  # tie at 2h: the later row wins
    assert a25["count_1d"] == 3.0
    # all values missing: sum 0, the rest NaN
    assert b4["count_1d"] == 2.0 and b4["v_sum_1d"] == 0.0
    assert all(math.isnan(b4[f"v_{a}_1d"]) for a in ("mean", "std", "min", "max", "last"))
    # unknown key: empty windows
    assert c4["count_1d"] == 0.0 and c4["v_sum_1d"] == 0.0 and math.isnan(c4["days_since_last"])
    # one value: std is NaN (ddof=1)
    one = trailing_windows(
        events,
        queries.iloc[[1]].assign(e=times([at(1.5)])),
        keys="k",
        event_time="e",
        values=["v"],
        windows=["1D"],
    )
    assert one["v_mean_1d"].item() == 5.0 and math.isnan(one["v_std_1d"].item())


def test_days_since_last_looks_beyond_every_window():
    events = pd.DataFrame({"k": ["a"], "e": times([at(0)])})
    queries = pd.DataFrame({"k": ["a"], "e": times([at(24 * 400)])})
    res = trailing_windows(events, queries, keys="k", event_time="e", windows=["7D"])
    assert res["count_7d"].item() == 0.0
    assert res["days_since_last"].item() == 400.0


def test_column_names_order_and_dtype():
    res = trailing_windows(
        simple_events(),
        simple_events(),
        keys="creator_id",
        event_time="ended_at",
        values=["gmv"],
        windows=["36h", "7D"],
        aggregations=["sum", "count"],
        prefix="cr_",
    )
    assert res.columns.tolist() == [
        "cr_count_36h",
        "cr_gmv_sum_36h",
        "cr_count_7d",
        "cr_gmv_sum_7d",
        "cr_days_since_last",
    ]
    assert (res.dtypes == np.float64).all()
    no_dsl = trailing_windows(
        simple_events(),
        simple_events(),
        keys="creator_id",
        event_time="ended_at",
        windows=["1D"],
        time_since_last=False,
    )
    assert no_dsl.columns.tolist() == ["count_1d"]


def test_single_names_need_no_list():
    one = trailing_windows(
        simple_events(),
        simple_events(),
        keys="creator_id",
        event_time="ended_at",
        values="gmv",
        windows="1D",
        aggregations="sum",
        time_since_last=False,
    )
    many = trailing_windows(
        simple_events(),
        simple_events(),
        keys=["creator_id"],
        event_time="ended_at",
        values=["gmv"],
        windows=["1D"],
        aggregations=["sum"],
        time_since_last=False,
    )
    pd.testing.assert_frame_equal(one, many, check_exact=True)
    assert one.columns.tolist() == ["gmv_sum_1d"]


def test_window_labels():
    assert window_label("7D") == "7d"
    assert window_label(pd.Timedelta(hours=36)) == "36h"
    assert window_label("90min") == "90m"
    assert window_label("45s") == "45s"
    assert window_label(pd.Timedelta(milliseconds=1500)) == "1500ms"
    assert window_label(pd.Timedelta(nanoseconds=7)) == "7ns"
    res = trailing_windows(
        simple_events(),
        simple_events(),
        keys="creator_id",
        event_time="ended_at",
        windows="12h",
        time_since_last=False,
    )
    assert res.columns.tolist() == ["count_12h"]


def test_index_and_row_order_are_the_queries():
    events = simple_events()
    queries = pd.DataFrame(
        {"creator_id": ["b", "a", "zz", "a"], "t": times([at(50), at(50), at(50), at(11)])},
        index=pd.Index(["q9", "q1", "q1", "q0"], name="id"),
    )
    res = trailing_windows(
        events,
        queries,
        keys="creator_id",
        event_time="ended_at",
        query_time="t",
        values=["gmv"],
        windows=["2D"],
        aggregations=["count", "sum"],
    )
    assert res.index.equals(queries.index)
    assert res["count_2d"].tolist() == [1.0, 3.0, 0.0, 2.0]
    assert res["gmv_sum_2d"].tolist() == [100.0, 14.0, 0.0, 3.0]


def test_inputs_are_not_mutated():
    events = simple_events().iloc[::-1]
    events["cat"] = events["creator_id"].astype("category")
    queries = events.rename(columns={"ended_at": "t"}).sample(frac=1.0, random_state=0)
    before_e, before_q = events.copy(deep=True), queries.copy(deep=True)
    trailing_windows(
        events,
        queries,
        keys=["cat"],
        event_time="ended_at",
        query_time="t",
        values=["gmv"],
        windows=["1D", "7D"],
    )
    pd.testing.assert_frame_equal(events, before_e, check_exact=True)
    pd.testing.assert_frame_equal(queries, before_q, check_exact=True)


def random_world(seed: int, n_events: int = 400, n_queries: int = 150, n_keys: int = 12):
    rng = np.random.default_rng(seed)
    events = pd.DataFrame(
        {
            "creator_id": [f"c{k}" for k in rng.integers(0, n_keys, n_events)],
            "ended_at": times(
                T0 + pd.to_timedelta(rng.integers(0, 10**6, n_events) * 60, unit="s")
            ),
            "gmv": np.where(rng.random(n_events) < 0.1, np.nan, rng.lognormal(3, 1, n_events)),
            "orders": rng.integers(0, 9, n_events),
        }
    )
    queries = pd.DataFrame(
        {
            "creator_id": [f"c{k}" for k in rng.integers(0, n_keys + 2, n_queries)],
            "t": times(T0 + pd.to_timedelta(rng.integers(0, 10**6, n_queries) * 60, unit="s")),
        }
    )
    return events, queries


KW = dict(
    keys="creator_id",
    event_time="ended_at",
    query_time="t",
    values=["gmv", "orders"],
    windows=["1D", "7D", "30D"],
)


def test_row_and_column_order_do_not_matter():
    events, queries = random_world(1)
    base = trailing_windows(events, queries, **KW)
    rng = np.random.default_rng(2)
    shuffled_events = events.iloc[rng.permutation(len(events))][events.columns[::-1]]
    perm = rng.permutation(len(queries))
    shuffled_queries = queries.iloc[perm][queries.columns[::-1]]
    res = trailing_windows(shuffled_events, shuffled_queries, **KW)
    # (key, time) pairs are unique in this world, so sums add in the same order: exact
    assert not events.duplicated(["creator_id", "ended_at"]).any()
    pd.testing.assert_frame_equal(res, base.iloc[perm], check_exact=True)


def test_batches_and_threads_give_identical_bits(monkeypatch):
    events, queries = random_world(3, n_events=3000, n_queries=2000, n_keys=40)
    whole = trailing_windows(events, queries, **KW)
    parts = pd.concat(
        [
            trailing_windows(events, queries.iloc[a:b], **KW)
            for a, b in ((0, 1), (1, 700), (700, 2000))
        ]
    )
    np.testing.assert_array_equal(bits(whole), bits(parts))
    monkeypatch.setattr(windows_module, "_THREADED_MIN_QUERIES", 1)
    monkeypatch.setenv("GOVML_N_JOBS", "3")
    threaded = trailing_windows(events, queries, **KW)
    np.testing.assert_array_equal(bits(whole), bits(threaded))


def test_long_histories_use_blocks_and_match_brute_force():
    # a few keys with hundreds of events: windows span many 16-event blocks
    events, queries = random_world(4, n_events=1500, n_queries=60, n_keys=3)
    queries = pd.concat([queries, events.rename(columns={"ended_at": "t"}).iloc[:40]])
    queries = queries.reset_index(drop=True)[["creator_id", "t"]]
    run_both(
        events,
        queries,
        keys="creator_id",
        event_time="ended_at",
        query_time="t",
        values=["gmv", "orders"],
        windows=["7D", "90D", "400D"],
    )


def test_market_by_category_keys():
    events = pd.DataFrame(
        {
            "market": ["ID", "ID", "ID", "TH", None],
            "category": ["beauty", "fashion", "beauty", "beauty", "beauty"],
            "ended_at": times([at(1), at(2), at(3), at(4), at(5)]),
            "gmv": [1.0, 10.0, 100.0, 1000.0, 1e4],
        }
    )
    queries = pd.DataFrame(
        {
            "market": ["ID", "ID", "TH", "TH", None, "VN"],
            "category": ["beauty", "fashion", "beauty", "fashion", "beauty", "beauty"],
            "ended_at": times([at(10)] * 6),
        }
    )
    res = run_both(
        events,
        queries,
        keys=["market", "category"],
        event_time="ended_at",
        values=["gmv"],
        windows=["1D"],
        aggregations=["count", "sum"],
    )
    # a missing key never matches, not even another missing key
    assert res["gmv_sum_1d"].tolist() == [101.0, 10.0, 1000.0, 0.0, 0.0, 0.0]


def test_categorical_keys_with_different_categories():
    events = simple_events()
    events["creator_id"] = events["creator_id"].astype(pd.CategoricalDtype(["b", "a", "x"]))
    queries = pd.DataFrame(
        {
            "creator_id": pd.Categorical(["a", "b", "y"], categories=["y", "a", "b"]),
            "t": times([at(50)] * 3),
        }
    )
    res = trailing_windows(
        events,
        queries,
        keys="creator_id",
        event_time="ended_at",
        query_time="t",
        values=["gmv"],
        windows=["7D"],
        aggregations=["count", "sum"],
    )
    assert res["gmv_sum_7d"].tolist() == [15.0, 100.0, 0.0]
    as_str = queries.assign(creator_id=queries["creator_id"].astype(str))
    res2 = trailing_windows(
        events,
        as_str,
        keys="creator_id",
        event_time="ended_at",
        query_time="t",
        values=["gmv"],
        windows=["7D"],
        aggregations=["count", "sum"],
    )
    pd.testing.assert_frame_equal(res, res2, check_exact=True)


def test_integer_boolean_and_nullable_values():
    events = pd.DataFrame(
        {
            "k": [1, 1, 1],
            "e": times([at(0), at(1), at(2)]),
            "flag": [True, False, True],
            "n": pd.array([3, pd.NA, 5], dtype="Int64"),
        }
    )
    queries = pd.DataFrame({"k": [1, 2], "e": times([at(3), at(3)])})
    res = trailing_windows(
        events,
        queries,
        keys="k",
        event_time="e",
        values=["flag", "n"],
        windows=["1D"],
        aggregations=["count", "sum", "mean"],
    )
    assert res.iloc[0].tolist() == [3.0, 2.0, 2 / 3, 8.0, 4.0, 1 / 24]


def test_empty_events_and_empty_queries():
    events = simple_events().iloc[:0]
    queries = simple_events()
    res = trailing_windows(
        events, queries, keys="creator_id", event_time="ended_at", values=["gmv"], windows=["1D"]
    )
    assert (res["count_1d"] == 0).all() and (res["gmv_sum_1d"] == 0).all()
    assert res.drop(columns=["count_1d", "gmv_sum_1d"]).isna().all().all()
    none = trailing_windows(
        queries,
        queries.iloc[:0],
        keys="creator_id",
        event_time="ended_at",
        values=["gmv"],
        windows=["1D"],
    )
    assert none.empty and len(none.columns) == 8


def test_timezones_other_than_utc_are_the_same_instants():
    events = simple_events()
    local = events.assign(ended_at=events["ended_at"].dt.tz_convert("Asia/Jakarta"))
    a = trailing_windows(
        events, events, keys="creator_id", event_time="ended_at", values=["gmv"], windows=["1D"]
    )
    b = trailing_windows(
        local, events, keys="creator_id", event_time="ended_at", values=["gmv"], windows=["1D"]
    )
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_doctests_run():
    result = doctest.testmod(windows_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------------- errors
def call(events=None, queries=None, **kwargs):
    events = simple_events() if events is None else events
    queries = simple_events() if queries is None else queries
    args = dict(keys="creator_id", event_time="ended_at", values=["gmv"], windows=["1D"])
    args.update(kwargs)
    return trailing_windows(events, queries, **args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"windows": [7]}, r"window 7 \(int\) is not a duration"),
        ({"windows": [True]}, r"is not a duration"),
        ({"windows": ["1M"]}, r"window '1M' cannot be parsed as a duration"),
        ({"windows": ["soon"]}, r"window 'soon' cannot be parsed"),
        ({"windows": ["-1D"]}, r"window '-1D' is not a positive duration"),
        ({"windows": ["0s"]}, r"is not a positive duration"),
        ({"windows": ["nat"]}, r"is not a positive duration"),
        ({"windows": ["7D", "168h"]}, r"name the same duration twice \(labels \['7d', '7d'\]\)"),
        ({"aggregations": ["sum", "median"]}, r"unknown aggregation\(s\) \['median'\]"),
        ({"aggregations": ["sum", "sum"]}, r"aggregations \['sum', 'sum'\] lists one twice"),
        ({"values": ["gmv", "gmv"]}, r"values \['gmv', 'gmv'\] lists a column twice"),
        ({"keys": []}, r"keys is empty"),
        ({"keys": ["creator_id", "creator_id"]}, r"keys \['creator_id', 'creator_id'\] lists"),
        (
            {"windows": [], "time_since_last": False},
            r"nothing to compute",
        ),
        (
            {"aggregations": ["sum"], "values": [], "time_since_last": False},
            r"nothing to compute",
        ),
    ],
)
def test_argument_errors(kwargs, match):
    with pytest.raises(FeatureError, match=match):
        call(**kwargs)


def test_missing_columns_name_the_frame_and_its_columns():
    with pytest.raises(
        FeatureError,
        match=r"events is missing column\(s\) \['orders'\]; it has \['creator_id', "
        r"'ended_at', 'gmv'\]",
    ):
        call(values=["gmv", "orders"])
    with pytest.raises(FeatureError, match=r"queries is missing column\(s\) \['t'\]"):
        call(query_time="t")
    with pytest.raises(FeatureError, match=r"events is missing column\(s\) \['market'\]"):
        call(keys=["creator_id", "market"])


def test_time_column_errors():
    naive = simple_events().assign(ended_at=lambda d: d["ended_at"].dt.tz_localize(None))
    with pytest.raises(
        FeatureError,
        match=r"events\.ended_at must be a timezone-aware.*"
        r"timezone-naive",
    ):
        call(events=naive)
    strings = simple_events().assign(ended_at=lambda d: d["ended_at"].astype(str))
    with pytest.raises(FeatureError, match=r"queries\.ended_at must be .*not a datetime"):
        call(queries=strings)
    with_nat = simple_events()
    with_nat.loc[[1, 3], "ended_at"] = pd.NaT
    with pytest.raises(
        FeatureError,
        match=r"events\.ended_at has 2 missing time\(s\) \(NaT\) "
        r"out of 5 rows",
    ):
        call(events=with_nat)
    with pytest.raises(FeatureError, match=r"queries\.ended_at has 2 missing time"):
        call(queries=with_nat)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["1", "2", "3", "4", "5"]),
        pd.Series(pd.Categorical([1, 2, 3, 4, 5])),
        pd.Series(pd.to_timedelta([1, 2, 3, 4, 5], unit="h")),
    ],
)
def test_non_numeric_values_are_rejected(column):
    events = simple_events().assign(bad=column)
    with pytest.raises(FeatureError, match=r"events\.bad must be numeric to be aggregated"):
        call(events=events, values=["bad"])


# ----------------------------------------------------------------------------- numba cache
def _add(a, b):
    return a + b


def test_read_only_install_compiles_without_the_cache(monkeypatch):
    """No writable cache directory anywhere: numba refuses cache=True; we compile in memory."""
    from numba.core import caching

    def read_only(self):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(caching._CacheLocator, "ensure_cache_path", read_only)
    kernel = windows_module._Kernel(_add)
    assert not kernel.cached
    assert kernel(2, 3) == 5
    windows_module._kernels.cache_clear()
    try:
        assert not windows_module._kernels()[0].cached
        run_both(
            simple_events(),
            simple_events(),
            keys="creator_id",
            event_time="ended_at",
            values=["gmv"],
            windows=["1D", "2D"],
        )
    finally:
        windows_module._kernels.cache_clear()


def test_unloadable_cache_entry_falls_back_to_compiling(monkeypatch):
    kernel = windows_module._Kernel(_add)
    assert kernel.cached

    def broken(*args):
        raise ModuleNotFoundError("No module named 'windows'")  # stale cache entry

    monkeypatch.setattr(kernel, "_dispatcher", broken)
    assert kernel(2, 3) == 5
    assert not kernel.cached
    assert kernel(4, 5) == 9


def _not_compilable(a):
    return pd.Timestamp(a)  # numba cannot type pandas


def test_real_compile_errors_still_surface():
    import numba

    kernel = windows_module._Kernel(_not_compilable)
    with pytest.raises(numba.core.errors.TypingError, match="Timestamp|pd|Untyped global"):
        kernel(1)
