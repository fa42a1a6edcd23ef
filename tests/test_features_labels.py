"""Labels: exact values, maturity at a cutoff, future poisoning, brute-force agreement."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govml import LabelError
from govml.features.labels import (
    CreatorLabels,
    SessionLabels,
    creator_labels,
    creator_snapshots,
    maturity_gap,
    session_labels,
)
from govml.schema import (
    CATEGORIES,
    MARKETS,
    REVIEW_REASONS,
    SAMPLE_REASONS,
    SEVERITIES,
    VIOLATION_KINDS,
    VIOLATION_STATUSES,
    Tables,
)

T0 = pd.Timestamp("2026-01-01", tz="UTC")
TS = "datetime64[us, UTC]"
US = pd.Timedelta(microseconds=1)


def at(days):
    return T0 + pd.Timedelta(days=days)


def times(days):
    return pd.Series([at(d) for d in days], dtype=TS)


def cat(values, levels):
    return pd.Series(pd.Categorical(list(values), categories=levels))


def creators_frame(rows):
    """rows: (creator_id, onboarded_day)."""
    ids, onboard = zip(*rows, strict=True) if rows else ((), ())
    return pd.DataFrame(
        {
            "creator_id": pd.Series(ids, dtype="str"),
            "market": cat([MARKETS[i % len(MARKETS)] for i in range(len(ids))], MARKETS),
            "category": cat([CATEGORIES[i % len(CATEGORIES)] for i in range(len(ids))], CATEGORIES),
            "onboarded_at": times(onboard),
            "is_business": pd.Series([False] * len(ids), dtype=bool),
            "commission_rate": pd.Series([0.05] * len(ids), dtype="float64"),
        }
    )


def sessions_frame(rows):
    """rows: (session_id, creator_id, ended_day)."""
    sids, cids, ends = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame(
        {
            "session_id": pd.Series(sids, dtype="str"),
            "creator_id": pd.Series(cids, dtype="str"),
            "started_at": times([e - 0.1 for e in ends]),
            "ended_at": times(ends),
            "viewers": pd.Series([100] * len(sids), dtype="int64"),
        }
    )


def violations_frame(rows):
    """rows: (creator_id, kind, severity, detected_day, resolved_day, status)."""
    cids, kinds, sevs, det, res, status = zip(*rows, strict=True) if rows else ((),) * 6
    n = len(cids)
    return pd.DataFrame(
        {
            "violation_id": pd.Series([f"v{i}" for i in range(n)], dtype="str"),
            "creator_id": pd.Series(cids, dtype="str"),
            "session_id": pd.Series([None] * n, dtype="str"),
            "kind": cat(kinds, VIOLATION_KINDS),
            "severity": cat(sevs, SEVERITIES),
            "health_points": pd.Series([4] * n, dtype="int64"),
            "occurred_at": times([x - 1 for x in det]),
            "detected_at": times(det),
            "appealed": pd.Series([r - d > 7 for d, r in zip(det, res, strict=True)], dtype=bool),
            "status": cat(status, VIOLATION_STATUSES),
            "resolved_at": times(res),
        }
    )


def reviews_frame(rows):
    """rows: (review_id, session_id, reviewed_day, is_low_quality, sample_reason)."""
    rids, sids, rev, lq, sample = zip(*rows, strict=True) if rows else ((),) * 5
    return pd.DataFrame(
        {
            "review_id": pd.Series(rids, dtype="str"),
            "session_id": pd.Series(sids, dtype="str"),
            "reviewed_at": times(rev),
            "is_low_quality": pd.Series(lq, dtype=bool),
            "reason": cat(
                ["static_or_looped" if x else None for x in lq],
                REVIEW_REASONS,
            ),
            "sample_reason": cat(sample, SAMPLE_REASONS),
        }
    )


def make_tables(*, creators=(), sessions=(), violations=(), reviews=()):
    return Tables(
        creators=creators_frame(list(creators)),
        sessions=sessions_frame(list(sessions)),
        outcomes=pd.DataFrame(),
        violations=violations_frame(list(violations)),
        actions=pd.DataFrame(),
        reviews=reviews_frame(list(reviews)),
    )


def snaps(rows):
    """rows: (creator_id, snapshot_day)."""
    cids, days = zip(*rows, strict=True) if rows else ((), ())
    return pd.DataFrame({"creator_id": pd.Series(cids, dtype="str"), "snapshot_at": times(days)})


def copies(tables):
    return {name: frame.copy(deep=True) for name, frame in tables.items()}


def assert_unchanged(tables, before):
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[name])


# ------------------------------------------------------------------ creator labels


ADV, OTHER = "counterfeit", "misleading_claim"
# snapshot at day 0, horizon 10D, resolution delay 5D, cutoff day 100
EXACT_CASES = {
    "detected_at_snapshot": ([(ADV, "major", 0, 3, "confirmed")], 1),
    "detected_at_horizon_end": ([(ADV, "major", 10, 13, "confirmed")], 0),
    "detected_just_before_end": ([(ADV, "critical", 10 - 1e-6, 13, "confirmed")], 1),
    "detected_before_snapshot": ([(ADV, "major", -1e-6, 3, "confirmed")], 0),
    "overturned": ([(ADV, "critical", 4, 20, "overturned")], 0),
    "minor": ([(ADV, "minor", 4, 6, "confirmed")], 0),
    "non_adversarial_kind": ([(OTHER, "critical", 4, 6, "confirmed")], 0),
    "overturned_and_confirmed": (
        [(ADV, "major", 2, 30, "overturned"), ("fake_engagement", "major", 5, 8, "confirmed")],
        1,
    ),
    "no_violation": ([], 0),
}


def test_exact_creator_labels():
    violations, snapshots = [], []
    for name, (rows, _) in EXACT_CASES.items():
        violations += [(name, *row) for row in rows]
        snapshots.append((name, 0))
    violations.append(("detected_at_snapshot_other", ADV, "major", 0, 1, "confirmed"))
    tables = make_tables(violations=violations)
    res = creator_labels(
        tables, snaps(snapshots), horizon="10D", resolution_delay="5D", cutoff=at(100)
    )
    got = dict(zip(res.frame["creator_id"], res.frame["label"], strict=True))
    assert got == {name: expected for name, (_, expected) in EXACT_CASES.items()}
    assert res.n_snapshots == len(EXACT_CASES)
    assert (res.n_dropped_immature, res.n_dropped_open_appeal) == (0, 0)
    assert res.n_labels == len(EXACT_CASES)
    assert res.n_positive == 3
    # label_known_at: the window + delay, or the last resolution in the window if later
    known = dict(zip(res.frame["creator_id"], res.frame["label_known_at"], strict=True))
    assert known["no_violation"] == at(15)
    assert known["overturned"] == at(20)
    assert known["overturned_and_confirmed"] == at(30)
    assert known["minor"] == at(15)  # non-candidates do not delay the label
    assert res.frame["label"].dtype == np.int8
    assert res.frame["snapshot_at"].dtype == TS
    assert res.frame["label_known_at"].dtype == TS
    assert isinstance(res.frame.index, pd.RangeIndex)


def test_without_cutoff_uses_final_statuses_and_drops_nothing():
    tables = make_tables(
        violations=[
            ("a", ADV, "major", 5, 500, "confirmed"),
            ("b", ADV, "major", 5, 9, "overturned"),
        ]
    )
    res = creator_labels(tables, snaps([("a", 0), ("b", 0), ("a", 400)]), horizon="10D")
    assert res.frame["label"].tolist() == [1, 0, 0]
    assert res.cutoff is None
    assert (res.n_dropped_immature, res.n_dropped_open_appeal) == (0, 0)
    assert res.frame["label_known_at"].tolist() == [at(500), at(31), at(431)]


def test_open_appeal_is_dropped_and_counted():
    tables = make_tables(
        violations=[
            ("open", ADV, "major", 5, 100, "overturned"),  # resolved exactly at the cutoff
            ("closed", ADV, "major", 5, 100 - 1e-6, "overturned"),
            ("minor_open", ADV, "minor", 5, 150, "confirmed"),  # not a candidate
            ("after_window", ADV, "major", 10, 150, "confirmed"),  # outside the window
        ]
    )
    s = snaps([("open", 0), ("closed", 0), ("minor_open", 0), ("after_window", 0)])
    res = creator_labels(tables, s, horizon="10D", resolution_delay="5D", cutoff=at(100))
    assert res.frame["creator_id"].tolist() == ["closed", "minor_open", "after_window"]
    assert res.frame["label"].tolist() == [0, 0, 0]
    assert res.n_dropped_open_appeal == 1
    assert res.n_dropped_immature == 0


def test_immature_is_dropped_and_counted():
    tables = make_tables(violations=[("a", ADV, "major", 86, 87, "confirmed")])
    # 85 + 10 + 5 = 100 <= cutoff: mature; a microsecond later it is not
    s = pd.DataFrame(
        {
            "creator_id": pd.Series(["a", "a", "a"], dtype="str"),
            "snapshot_at": pd.Series([at(85), at(85) + US, at(90)], dtype=TS),
        }
    )
    res = creator_labels(tables, s, horizon="10D", resolution_delay="5D", cutoff=at(100))
    assert res.frame["snapshot_at"].tolist() == [at(85)]
    assert res.frame["label"].tolist() == [1]
    assert res.n_dropped_immature == 2
    assert res.n_snapshots == 3


def test_custom_kinds_and_severities():
    tables = make_tables(violations=[("a", OTHER, "minor", 1, 2, "confirmed")])
    s = snaps([("a", 0)])
    assert creator_labels(tables, s).frame["label"].tolist() == [0]
    res = creator_labels(tables, s, kinds=[OTHER], severities=["minor"])
    assert res.frame["label"].tolist() == [1]
    assert res.kinds == (OTHER,)
    assert res.severities == ("minor",)


def test_snapshot_input_order_and_duplicates_are_kept():
    tables = make_tables(violations=[("b", ADV, "major", 1, 2, "confirmed")])
    s = snaps([("b", 0), ("a", 0), ("b", 0), ("b", -40)])
    res = creator_labels(tables, s)
    assert res.frame["creator_id"].tolist() == ["b", "a", "b", "b"]
    assert res.frame["label"].tolist() == [1, 0, 1, 0]


def brute_creator_labels(tables, snapshots, horizon, delay, cutoff):
    v = tables.violations
    cand = v[v["kind"].isin(["counterfeit", "off_platform_transaction", "fake_engagement"])]
    cand = cand[cand["severity"].isin(["major", "critical"])]
    rows, immature, open_ = [], 0, 0
    for cid, t in zip(snapshots["creator_id"], snapshots["snapshot_at"], strict=True):
        if cutoff is not None and t + horizon + delay > cutoff:
            immature += 1
            continue
        w = cand[
            (cand["creator_id"] == cid)
            & (cand["detected_at"] >= t)
            & (cand["detected_at"] < t + horizon)
        ]
        if cutoff is not None and (w["resolved_at"] >= cutoff).any():
            open_ += 1
            continue
        known = max([t + horizon + delay, *w["resolved_at"]])
        rows.append((cid, t, int((w["status"] == "confirmed").any()), known))
    return rows, immature, open_


CREATOR_IDS = ["a", "b", "c"]
violation_row = st.tuples(
    st.sampled_from(CREATOR_IDS),
    st.sampled_from([ADV, "fake_engagement", OTHER]),
    st.sampled_from(SEVERITIES),
    st.integers(0, 60),  # detected day
    st.integers(0, 25),  # resolution delay in days
    st.sampled_from(VIOLATION_STATUSES),
).map(lambda r: (r[0], r[1], r[2], r[3], r[3] + r[4], r[5]))
snapshot_row = st.tuples(st.sampled_from([*CREATOR_IDS, "d"]), st.integers(-5, 60))


@settings(max_examples=100, deadline=None)
@given(
    violations=st.lists(violation_row, max_size=25),
    snapshot_rows=st.lists(snapshot_row, min_size=1, max_size=15),
    horizon=st.integers(1, 20),
    delay=st.integers(1, 10),
    cutoff=st.one_of(st.none(), st.integers(0, 90)),
)
def test_creator_labels_match_brute_force(violations, snapshot_rows, horizon, delay, cutoff):
    tables = make_tables(violations=violations)
    s = snaps(snapshot_rows)
    h, d = pd.Timedelta(days=horizon), pd.Timedelta(days=delay)
    c = None if cutoff is None else at(cutoff)
    rows, immature, open_ = brute_creator_labels(tables, s, h, d, c)
    if c is not None and not rows:
        with pytest.raises(LabelError, match="no mature creator label"):
            creator_labels(tables, s, horizon=h, resolution_delay=d, cutoff=c)
        return
    res = creator_labels(tables, s, horizon=h, resolution_delay=d, cutoff=c)
    got = list(
        zip(
            res.frame["creator_id"],
            res.frame["snapshot_at"],
            res.frame["label"].astype(int),
            res.frame["label_known_at"],
            strict=True,
        )
    )
    assert got == rows
    assert (res.n_dropped_immature, res.n_dropped_open_appeal) == (immature, open_)
    # a label kept at a cutoff is final: the same as on fully matured history
    final = creator_labels(tables, s, horizon=h, resolution_delay=d).frame.drop_duplicates()
    both = res.frame.merge(final, on=["creator_id", "snapshot_at"], suffixes=("", "_final"))
    assert len(both) == len(res.frame)
    assert (both["label"] == both["label_final"]).all()
    assert (both["label_known_at"] == both["label_known_at_final"]).all()
    if c is not None:
        assert (res.frame["label_known_at"] <= c).all()


def labels_or_error(tables, s, **kw):
    try:
        return creator_labels(tables, s, **kw)
    except LabelError as err:
        return str(err)


@settings(max_examples=100, deadline=None)
@given(
    violations=st.lists(violation_row, max_size=25),
    snapshot_rows=st.lists(snapshot_row, min_size=1, max_size=15),
    cutoff=st.integers(0, 90),
    future=st.lists(violation_row, max_size=10),
    flips=st.lists(st.booleans(), min_size=25, max_size=25),
    shifts=st.lists(st.integers(0, 30), min_size=25, max_size=25),
)
def test_creator_labels_ignore_the_future(violations, snapshot_rows, cutoff, future, flips, shifts):
    """Facts known at or after the cutoff change no kept label, bit for bit."""
    s = snaps(snapshot_rows)
    kw = {"horizon": "10D", "resolution_delay": "5D", "cutoff": at(cutoff)}
    base = labels_or_error(make_tables(violations=violations), s, **kw)
    poisoned = []
    for i, (cid, kind, sev, det, res, status) in enumerate(violations):
        if res >= cutoff:  # status not final before the cutoff: flip it, move resolution
            if flips[i]:
                status = "overturned" if status == "confirmed" else "confirmed"
            res = max(res + shifts[i], det, cutoff)
        poisoned.append((cid, kind, sev, det, res, status))
    for cid, kind, sev, det, res, status in future:  # new violations detected >= cutoff
        poisoned.append((cid, kind, sev, det + cutoff, res + cutoff, status))
    again = labels_or_error(make_tables(violations=poisoned), s, **kw)
    if isinstance(base, str):
        assert again == base
        return
    pd.testing.assert_frame_equal(again.frame, base.frame, check_exact=True)
    for field in ("n_snapshots", "n_dropped_immature", "n_dropped_open_appeal"):
        assert getattr(again, field) == getattr(base, field)


def test_creator_labels_do_not_mutate_inputs():
    tables = make_tables(violations=[("a", ADV, "major", 1, 2, "confirmed")])
    s = snaps([("a", 0), ("b", 0)])
    before, s_before = copies(tables), s.copy(deep=True)
    res = creator_labels(tables, s, horizon="10D", resolution_delay="5D", cutoff=at(50))
    assert isinstance(res, CreatorLabels)
    assert_unchanged(tables, before)
    pd.testing.assert_frame_equal(s, s_before)


def test_creator_labels_accept_other_timezones():
    tables = make_tables(violations=[("a", ADV, "major", 1, 2, "confirmed")])
    s = snaps([("a", 0)])
    s_jkt = s.assign(snapshot_at=s["snapshot_at"].dt.tz_convert("Asia/Jakarta"))
    cutoff = at(60).tz_convert("Asia/Jakarta")
    res = creator_labels(tables, s_jkt, cutoff=cutoff)
    assert res.frame["snapshot_at"].tolist() == [at(0)]
    assert res.frame["snapshot_at"].dtype == TS
    assert res.cutoff == at(60)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"horizon": "0D"}, r"horizon='0D' is not a positive duration"),
        ({"horizon": "-3D"}, r"horizon='-3D' is not a positive duration"),
        ({"horizon": "soon"}, r"horizon='soon' is not a positive duration"),
        ({"resolution_delay": pd.Timedelta(0)}, r"resolution_delay=.* is not a positive"),
        ({"cutoff": pd.Timestamp("2026-03-01")}, r"cutoff=.* not a timezone-aware timestamp"),
        ({"kinds": ["counterfit"]}, r"kinds=.* subset of .*unknown: \['counterfit'\]"),
        ({"severities": []}, r"severities=\(\) must be a non-empty subset"),
    ],
)
def test_creator_label_argument_errors(kw, match):
    tables = make_tables(violations=[("a", ADV, "major", 1, 2, "confirmed")])
    with pytest.raises(LabelError, match=match):
        creator_labels(tables, snaps([("a", 0)]), **kw)


def test_creator_label_snapshot_errors():
    tables = make_tables()
    with pytest.raises(LabelError, match=r"snapshots is missing column\(s\) \['snapshot_at'\]"):
        creator_labels(tables, pd.DataFrame({"creator_id": ["a"]}))
    naive = pd.DataFrame({"creator_id": ["a"], "snapshot_at": [pd.Timestamp("2026-01-01")]})
    with pytest.raises(LabelError, match=r"snapshots.snapshot_at must be a timezone-aware"):
        creator_labels(tables, naive)
    missing = snaps([("a", 0)]).assign(snapshot_at=pd.Series([pd.NaT], dtype=TS))
    with pytest.raises(LabelError, match=r"snapshots.snapshot_at has 1 missing value"):
        creator_labels(tables, missing)
    bad_violations = Tables(**{**dict(tables.items()), "violations": pd.DataFrame({"x": [1]})})
    with pytest.raises(LabelError, match=r"violations is missing column\(s\)"):
        creator_labels(bad_violations, snaps([("a", 0)]))


def test_no_mature_label_says_latest_usable_snapshot():
    tables = make_tables(violations=[("a", ADV, "major", 1, 2, "confirmed")])
    with pytest.raises(
        LabelError,
        match=r"no mature creator label at cutoff 2026-01-31.*1 are immature.*latest usable "
        r"snapshot_at is 2025-12-18.*earlier snapshots or a later cutoff",
    ):
        creator_labels(
            tables, snaps([("a", 0)]), horizon="30D", resolution_delay="14D", cutoff=at(30)
        )
    with pytest.raises(LabelError, match=r"of 0 snapshot\(s\)"):
        creator_labels(tables, snaps([]), cutoff=at(30))


def test_maturity_gap():
    assert maturity_gap("30D", "21D") == pd.Timedelta(days=51)
    assert maturity_gap() == pd.Timedelta(days=51)
    assert maturity_gap(pd.Timedelta(hours=12), "1h") == pd.Timedelta(hours=13)
    with pytest.raises(LabelError, match="resolution_delay='0D' is not a positive"):
        maturity_gap("30D", "0D")


def test_gap_separated_snapshots_are_mature():
    """A snapshot one maturity gap before the cutoff has a usable label."""
    tables = make_tables(violations=[("a", ADV, "major", 1, 2, "confirmed")])
    cutoff = at(100)
    gap = maturity_gap("10D", "5D")
    s = pd.DataFrame(
        {
            "creator_id": pd.Series(["a", "a"], dtype="str"),
            "snapshot_at": pd.Series([cutoff - gap, cutoff - gap + US], dtype=TS),
        }
    )
    res = creator_labels(tables, s, horizon="10D", resolution_delay="5D", cutoff=cutoff)
    assert res.frame["snapshot_at"].tolist() == [cutoff - gap]
    assert res.n_dropped_immature == 1


# ---------------------------------------------------------------- creator snapshots


def test_snapshot_activity_boundaries():
    w = pd.Timedelta(days=3)
    t = at(10)
    tables = make_tables(
        creators=[("at_t", -50), ("edge", -50), ("stale", -50), ("onboarded_at_t", 10)],
        sessions=[],
    )
    sessions = pd.DataFrame(
        {
            "session_id": pd.Series(["s1", "s2", "s3", "s4"], dtype="str"),
            "creator_id": pd.Series(["at_t", "edge", "stale", "onboarded_at_t"], dtype="str"),
            "ended_at": pd.Series([t, t - w, t - w - US, t - pd.Timedelta(days=1)], dtype=TS),
        }
    )
    tables = Tables(**{**dict(tables.items()), "sessions": sessions})
    res = creator_snapshots(tables, start=t, end=t + US, active_within=w)
    # ended exactly at t: not yet known; ended exactly t - window: in; onboarded at t: out
    assert res["creator_id"].tolist() == ["edge"]
    res = creator_snapshots(
        tables, start=t, end=t + pd.Timedelta(days=1, microseconds=1), active_within=w
    )
    assert res["creator_id"].tolist() == ["edge", "at_t", "onboarded_at_t"]
    assert res["snapshot_at"].tolist() == [t, at(11), at(11)]


def test_snapshot_grid_is_anchored_at_midnight_and_end_exclusive():
    tables = make_tables(creators=[("a", -50)], sessions=[("s", "a", -1)])
    res = creator_snapshots(tables, start=at(0.25), end=at(3), active_within="10D")
    assert res["snapshot_at"].tolist() == [at(1), at(2)]
    res = creator_snapshots(tables, start=at(0.25), end=at(1.5), freq="12h", active_within="10D")
    assert res["snapshot_at"].tolist() == [at(0.5), at(1)]
    res = creator_snapshots(tables, start=at(0.25), end=at(1.5), freq="12h", active_within="36h")
    assert res["snapshot_at"].tolist() == [
        at(0.5)
    ]  # ended day -1: active through day 0.5 inclusive


def test_snapshot_output_columns_and_dtypes():
    tables = make_tables(
        creators=[("b", -5), ("a", -5)], sessions=[("s1", "a", 0.5), ("s2", "b", 0.5)]
    )
    res = creator_snapshots(tables, start=at(0), end=at(3))
    assert list(res.columns) == ["creator_id", "snapshot_at", "market", "category"]
    assert res["creator_id"].tolist() == ["a", "b", "a", "b"]
    assert res["market"].tolist() == ["MY", "ID", "MY", "ID"]
    assert res["market"].dtype == tables.creators["market"].dtype
    assert res["category"].dtype == tables.creators["category"].dtype
    assert res["creator_id"].dtype == tables.creators["creator_id"].dtype
    assert res["snapshot_at"].dtype == TS
    assert isinstance(res.index, pd.RangeIndex)
    empty = creator_snapshots(tables, start=at(100), end=at(101))
    assert len(empty) == 0
    assert empty.dtypes.equals(res.dtypes)


def test_snapshots_ignore_sessions_of_unknown_creators():
    tables = make_tables(creators=[("a", -5)], sessions=[("s1", "ghost", 0.5), ("s2", "a", 1.5)])
    res = creator_snapshots(tables, start=at(0), end=at(3))
    assert res["creator_id"].tolist() == ["a"]
    assert res["snapshot_at"].tolist() == [at(2)]


def brute_snapshots(tables, grid, window):
    c, s = tables.creators, tables.sessions
    out = []
    for t in grid:
        for cid, onboarded in sorted(zip(c["creator_id"], c["onboarded_at"], strict=True)):
            ends = s.loc[s["creator_id"] == cid, "ended_at"]
            if onboarded < t and ((ends < t) & (ends >= t - window)).any():
                out.append((cid, t))
    return out


@settings(max_examples=60, deadline=None)
@given(
    creators=st.dictionaries(st.sampled_from("abcdef"), st.integers(-10, 20), max_size=6),
    sessions=st.lists(st.tuples(st.sampled_from("abcdefg"), st.integers(-20, 40)), max_size=30),
    start=st.integers(-5, 20),
    length=st.integers(1, 20),
    window_hours=st.integers(1, 24 * 10),
    freq=st.sampled_from(["1D", "12h", "2D"]),
)
def test_snapshots_match_brute_force(creators, sessions, start, length, window_hours, freq):
    tables = make_tables(
        creators=list(creators.items()),
        sessions=[(f"s{i}", cid, end / 2) for i, (cid, end) in enumerate(sessions)],
    )
    window = pd.Timedelta(hours=window_hours)
    res = creator_snapshots(
        tables, start=at(start + 0.3), end=at(start + length), freq=freq, active_within=window
    )
    grid = [
        g
        for g in pd.date_range(at(start), at(start + length), freq=freq, inclusive="left")
        if g >= at(start + 0.3)
    ]
    assert list(zip(res["creator_id"], res["snapshot_at"], strict=True)) == brute_snapshots(
        tables, grid, window
    )


def test_snapshot_sort_fallback_gives_the_same_rows(monkeypatch):
    """The lexsort path (for grids too large to pack into int64) agrees with the fast path."""
    from govml.features import labels as labels_module

    tables = make_tables(
        creators=[("a", -5), ("b", -5), ("c", 2)],
        sessions=[("s1", "a", 0.5), ("s2", "a", 2.5), ("s3", "b", 1.2), ("s4", "c", 1.5)],
    )
    fast = creator_snapshots(tables, start=at(0), end=at(8), active_within="2D")
    monkeypatch.setattr(labels_module, "_PACK_LIMIT", 0)
    slow = creator_snapshots(tables, start=at(0), end=at(8), active_within="2D")
    got = [(c, (t - T0).days) for c, t in zip(fast["creator_id"], fast["snapshot_at"], strict=True)]
    # a: ends 0.5 and 2.5 -> days 1-4; b: ends 1.2 -> 2-3; c: onboarded day 2 -> only day 3
    assert got == [("a", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3), ("c", 3), ("a", 4)]
    pd.testing.assert_frame_equal(slow, fast)


def test_snapshots_do_not_mutate_inputs():
    tables = make_tables(creators=[("a", -5)], sessions=[("s1", "a", 0.5)])
    before = copies(tables)
    creator_snapshots(tables, start=at(0), end=at(3))
    assert_unchanged(tables, before)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"start": pd.Timestamp("2026-01-01")}, r"start=.* not a timezone-aware timestamp"),
        ({"end": "2026-02-01"}, r"end='2026-02-01' is not a timezone-aware"),
        ({"end": at(0)}, r"end=.* must be after start="),
        ({"freq": "-1D"}, r"freq='-1D' is not a positive pandas frequency"),
        ({"freq": "fortnightly"}, r"freq='fortnightly' is not a positive pandas frequency"),
        ({"active_within": "0h"}, r"active_within='0h' is not a positive duration"),
    ],
)
def test_snapshot_argument_errors(kw, match):
    tables = make_tables(creators=[("a", -5)], sessions=[("s1", "a", 0.5)])
    args = {"start": at(0), "end": at(3), **kw}
    with pytest.raises(LabelError, match=match):
        creator_snapshots(tables, **args)


def test_snapshot_table_errors():
    tables = make_tables(creators=[("a", -5), ("a", -3)], sessions=[("s1", "a", 0.5)])
    with pytest.raises(LabelError, match=r"creators.creator_id must be unique.*\['a'\]"):
        creator_snapshots(tables, start=at(0), end=at(3))
    tables = make_tables(creators=[("a", -5)], sessions=[("s1", "a", 0.5)])
    no_market = Tables(
        **{**dict(tables.items()), "creators": tables.creators.drop(columns="market")}
    )
    with pytest.raises(LabelError, match=r"creators is missing column\(s\) \['market'\]"):
        creator_snapshots(no_market, start=at(0), end=at(3))


# ------------------------------------------------------------------- session labels


def session_tables(reviews, sessions=(("s1", "c1", 0), ("s2", "c1", 1), ("s3", "c2", 2))):
    return make_tables(creators=[("c1", -5), ("c2", -5)], sessions=sessions, reviews=reviews)


def test_single_reviews_become_labels():
    tables = session_tables(
        [("r1", "s2", 3, True, "risk_queue"), ("r2", "s1", 2, False, "viewer_report")]
    )
    res = session_labels(tables)
    f = res.frame
    assert list(f.columns) == [
        "session_id",
        "creator_id",
        "ended_at",
        "label",
        "sample_reason",
        "is_random_audit",
        "reviewed_at",
        "review_id",
        "reason",
        "n_reviews",
    ]
    assert f["session_id"].tolist() == ["s1", "s2"]  # ordered by ended_at
    assert f["creator_id"].tolist() == ["c1", "c1"]
    assert f["ended_at"].tolist() == [at(0), at(1)]
    assert f["label"].tolist() == [0, 1]
    assert f["label"].dtype == np.int8
    assert f["sample_reason"].tolist() == ["viewer_report", "risk_queue"]
    assert list(f["sample_reason"].cat.categories) == list(SAMPLE_REASONS)
    assert f["is_random_audit"].tolist() == [False, False]
    assert f["reviewed_at"].tolist() == [at(2), at(3)]
    assert f["reason"].tolist()[1] == "static_or_looped"
    assert pd.isna(f["reason"].iloc[0])
    assert f["ended_at"].dtype == TS
    assert f["reviewed_at"].dtype == TS
    assert res.n_sessions == 2
    assert res.n_sessions_merged == 0
    assert isinstance(res, SessionLabels)


def test_earliest_verdict_wins_without_audit():
    tables = session_tables(
        [
            ("r1", "s1", 5, False, "risk_queue"),
            ("r2", "s1", 2, True, "viewer_report"),
            ("r3", "s1", 9, True, "risk_queue"),
        ]
    )
    res = session_labels(tables)
    row = res.frame.iloc[0]
    assert (row["label"], row["sample_reason"], row["review_id"]) == (1, "viewer_report", "r2")
    assert row["n_reviews"] == 3
    assert (res.n_sessions_merged, res.n_sessions_conflicting, res.n_audit_precedence) == (1, 1, 0)


def test_random_audit_takes_precedence():
    tables = session_tables(
        [
            ("r1", "s1", 2, True, "viewer_report"),
            ("r2", "s1", 6, False, "random_audit"),
            ("r3", "s1", 4, True, "random_audit"),  # earliest audit: its verdict
            ("r4", "s2", 3, False, "risk_queue"),
            ("r5", "s2", 3, True, "random_audit"),
        ]
    )
    res = session_labels(tables)
    f = res.frame.set_index("session_id")
    assert f.loc["s1", "label"] == 1
    assert f.loc["s1", "review_id"] == "r3"
    assert f.loc["s1", "is_random_audit"]
    assert f.loc["s2", "label"] == 1
    assert f.loc["s2", "sample_reason"] == "random_audit"
    assert res.n_random_audit == 2
    assert res.n_audit_precedence == 1  # s1's audit came after its first review
    assert res.n_sessions_conflicting == 2
    assert res.random_audit()["session_id"].tolist() == ["s1", "s2"]


def test_ties_are_broken_by_review_id():
    tables = session_tables(
        [("r9", "s1", 2, True, "risk_queue"), ("r1", "s1", 2, False, "risk_queue")]
    )
    assert session_labels(tables).frame["review_id"].tolist() == ["r1"]


def test_session_cutoff_uses_only_earlier_reviews_and_ended_sessions():
    tables = session_tables(
        [
            ("r1", "s1", 2, True, "viewer_report"),
            ("r2", "s1", 4, False, "random_audit"),  # exactly at the cutoff: not known
            ("r3", "s2", 3, True, "risk_queue"),
            ("r4", "s3", 3, False, "random_audit"),
        ],
        sessions=(("s1", "c1", 0), ("s2", "c1", 1), ("s3", "c2", 4)),  # s3 ends at the cutoff
    )
    res = session_labels(tables, cutoff=at(4))
    f = res.frame
    assert f["session_id"].tolist() == ["s1", "s2"]
    assert f["label"].tolist() == [1, 1]
    assert f["sample_reason"].tolist() == ["viewer_report", "risk_queue"]
    assert res.n_reviews == 4
    assert res.n_reviews_after_cutoff == 1
    assert res.n_sessions_unended == 1
    assert res.cutoff == at(4)
    later = session_labels(tables, cutoff=at(4) + US)
    assert later.frame.set_index("session_id").loc["s1", "sample_reason"] == "random_audit"


def test_reviews_of_unknown_sessions_are_counted():
    tables = session_tables(
        [("r1", "ghost", 2, True, "risk_queue"), ("r2", "s1", 2, True, "risk_queue")]
    )
    res = session_labels(tables)
    assert res.frame["session_id"].tolist() == ["s1"]
    assert res.n_reviews_unknown_session == 1


def test_object_ids_of_mixed_types_still_match():
    """Ids pyarrow cannot hold in one array fall back to pandas matching."""
    tables = session_tables([("r1", "s1", 2, True, "risk_queue")])
    sessions = tables.sessions.assign(session_id=pd.Series(["s1", 2, "s3"], dtype=object))
    reviews = tables.reviews.assign(session_id=pd.Series([2], dtype=object))
    res = session_labels(
        Tables(**{**dict(tables.items()), "sessions": sessions, "reviews": reviews})
    )
    assert res.frame["session_id"].tolist() == [2]
    assert res.frame["ended_at"].tolist() == [at(1)]


def test_no_reviews_gives_empty_labels():
    res = session_labels(session_tables([]))
    assert len(res.frame) == 0
    assert res.frame["ended_at"].dtype == TS
    assert res.n_random_audit == 0


def test_reason_column_is_optional():
    tables = session_tables([("r1", "s1", 2, True, "risk_queue")])
    tables = Tables(**{**dict(tables.items()), "reviews": tables.reviews.drop(columns="reason")})
    f = session_labels(tables).frame
    assert f["reason"].isna().all()
    assert list(f["reason"].cat.categories) == list(REVIEW_REASONS)


def brute_session_labels(tables, cutoff):
    r = tables.reviews.merge(
        tables.sessions[["session_id", "creator_id", "ended_at"]], on="session_id"
    )
    if cutoff is not None:
        r = r[(r["reviewed_at"] < cutoff) & (r["ended_at"] < cutoff)]
    out = []
    for sid, g in r.groupby("session_id"):
        audits = g[g["sample_reason"] == "random_audit"]
        pool = audits if len(audits) else g
        best = pool.sort_values(["reviewed_at", "review_id"]).iloc[0]
        out.append(
            (best["ended_at"], sid, int(best["is_low_quality"]), str(best["sample_reason"]), len(g))
        )
    return sorted(out)


review_row = st.tuples(
    st.sampled_from(["s1", "s2", "s3", "s4"]),
    st.integers(0, 20),
    st.booleans(),
    st.sampled_from(SAMPLE_REASONS),
)
SESSIONS4 = (("s1", "c1", 0), ("s2", "c1", 3), ("s3", "c2", 6), ("s4", "c2", 9))


def reviews_rows(rows, prefix="r"):
    return [(f"{prefix}{i:02d}", sid, day, lq, sr) for i, (sid, day, lq, sr) in enumerate(rows)]


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(review_row, max_size=20), cutoff=st.one_of(st.none(), st.integers(0, 22)))
def test_session_labels_match_brute_force(rows, cutoff):
    tables = session_tables(reviews_rows(rows), sessions=SESSIONS4)
    c = None if cutoff is None else at(cutoff)
    f = session_labels(tables, cutoff=c).frame
    got = list(
        zip(
            f["ended_at"],
            f["session_id"],
            f["label"].astype(int),
            f["sample_reason"].astype(str),
            f["n_reviews"],
            strict=True,
        )
    )
    assert got == brute_session_labels(tables, c)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(review_row, max_size=20),
    cutoff=st.integers(0, 22),
    future=st.lists(review_row, max_size=10),
    flips=st.lists(st.booleans(), min_size=20, max_size=20),
)
def test_session_labels_ignore_the_future(rows, cutoff, future, flips):
    """Reviews at or after the cutoff (new ones, flipped verdicts) change no label."""
    c = at(cutoff)
    base = session_labels(session_tables(reviews_rows(rows), sessions=SESSIONS4), cutoff=c)
    poisoned = [
        (sid, day, (not lq) if (day >= cutoff and flips[i]) else lq, sr)
        for i, (sid, day, lq, sr) in enumerate(rows)
    ]
    poisoned = reviews_rows(poisoned) + reviews_rows(
        [(sid, day + cutoff, lq, sr) for sid, day, lq, sr in future], prefix="f"
    )
    sessions = (*SESSIONS4, ("s5", "c1", cutoff))  # a session ending at the cutoff
    poisoned.append(("f99", "s5", cutoff - 1, True, "random_audit"))
    again = session_labels(session_tables(poisoned, sessions=sessions), cutoff=c)
    pd.testing.assert_frame_equal(again.frame, base.frame, check_exact=True)
    for field in ("n_sessions_merged", "n_sessions_conflicting", "n_audit_precedence"):
        assert getattr(again, field) == getattr(base, field)


def test_session_labels_do_not_mutate_inputs():
    tables = session_tables(
        [("r1", "s1", 2, True, "risk_queue"), ("r2", "s1", 1, False, "random_audit")]
    )
    before = copies(tables)
    session_labels(tables, cutoff=at(10))
    assert_unchanged(tables, before)


def test_session_label_errors():
    tables = session_tables([("r1", "s1", 2, True, "risk_queue")])
    with pytest.raises(LabelError, match=r"cutoff='2026-01-05' is not a timezone-aware"):
        session_labels(tables, cutoff="2026-01-05")
    replace = lambda **kw: Tables(**{**dict(tables.items()), **kw})  # noqa: E731
    with pytest.raises(LabelError, match=r"reviews is missing column\(s\) \['sample_reason'\]"):
        session_labels(replace(reviews=tables.reviews.drop(columns="sample_reason")))
    with pytest.raises(LabelError, match=r"sessions is missing column\(s\) \['ended_at'\]"):
        session_labels(replace(sessions=tables.sessions.drop(columns="ended_at")))
    naive = tables.reviews.assign(reviewed_at=tables.reviews["reviewed_at"].dt.tz_localize(None))
    with pytest.raises(LabelError, match=r"reviews.reviewed_at must be a timezone-aware"):
        session_labels(replace(reviews=naive))
    nat = tables.reviews.assign(reviewed_at=pd.Series([pd.NaT], dtype=TS))
    with pytest.raises(LabelError, match=r"reviews.reviewed_at has 1 missing value"):
        session_labels(replace(reviews=nat))
    no_verdict = tables.reviews.assign(is_low_quality=pd.Series([None], dtype="boolean"))
    with pytest.raises(LabelError, match=r"reviews.is_low_quality has 1 missing value"):
        session_labels(replace(reviews=no_verdict))
    odd = tables.reviews.assign(sample_reason=["moderator_hunch"])
    with pytest.raises(LabelError, match=r"reviews.sample_reason has 1 value.*moderator_hunch"):
        session_labels(replace(reviews=odd))
    dup = make_tables(sessions=[("s1", "c1", 0), ("s1", "c1", 1)]).sessions
    with pytest.raises(LabelError, match=r"sessions.session_id must be unique"):
        session_labels(replace(sessions=dup))


def test_labels_on_a_simulated_world_depend_only_on_the_past():
    """End to end on the simulator: knowing only what was known before the cutoff (later
    violations and reviews removed, unresolved statuses flipped) gives the same labels."""
    import govml

    world = govml.simulate(n_creators=150, n_days=90, seed=3)
    tables = govml.validate_tables(world.tables)
    start = pd.Timestamp(world.config.start, tz="UTC")
    cutoff = start + pd.Timedelta(days=75)
    snapshots = creator_snapshots(tables, start=start, end=start + pd.Timedelta(days=90))
    assert snapshots["snapshot_at"].is_monotonic_increasing
    labels = creator_labels(tables, snapshots, horizon="20D", resolution_delay="14D", cutoff=cutoff)
    assert labels.n_labels + labels.n_dropped_immature + labels.n_dropped_open_appeal == len(
        snapshots
    )
    assert labels.n_labels > 0
    assert labels.n_positive > 0
    assert (labels.frame["label_known_at"] <= cutoff).all()

    v = tables.violations
    past = v[v["detected_at"] < cutoff].copy()
    open_ = past["resolved_at"] >= cutoff
    past.loc[open_, "status"] = (
        past.loc[open_, "status"]
        .map({"confirmed": "overturned", "overturned": "confirmed"})
        .astype(v["status"].dtype)
    )
    r = tables.reviews
    known = Tables(
        **{
            **dict(tables.items()),
            "violations": past,
            "reviews": r[r["reviewed_at"] < cutoff],
        }
    )
    again = creator_labels(known, snapshots, horizon="20D", resolution_delay="14D", cutoff=cutoff)
    pd.testing.assert_frame_equal(again.frame, labels.frame, check_exact=True)
    assert again.n_dropped_open_appeal == labels.n_dropped_open_appeal

    sessions_now = session_labels(tables, cutoff=cutoff)
    pd.testing.assert_frame_equal(
        session_labels(known, cutoff=cutoff).frame, sessions_now.frame, check_exact=True
    )
    assert (sessions_now.frame["reviewed_at"] < cutoff).all()
    assert (sessions_now.frame["ended_at"] < cutoff).all()
    assert sessions_now.n_random_audit > 0
