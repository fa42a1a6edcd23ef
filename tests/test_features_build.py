"""build_features: the task's feature set as of a time, with clear errors."""

import pandas as pd
import pytest

import govml
from govml import FeatureError
from govml.features import build_features, data_time_range


@pytest.fixture(scope="module")
def tables():
    return govml.validate_tables(govml.simulate(n_creators=80, n_days=40, seed=4).tables)


def test_low_quality_rows_are_sessions_ended_before_as_of(tables):
    first, last = data_time_range(tables)
    as_of = first + (last - first) / 2
    fs = build_features(tables, "low_quality", as_of=as_of, since=as_of - pd.Timedelta(days=3))
    assert (fs.frame["ended_at"] < as_of).all()
    assert (fs.frame["ended_at"] >= as_of - pd.Timedelta(days=3)).all()
    expected = tables.sessions["ended_at"].between(
        as_of - pd.Timedelta(days=3), as_of, inclusive="left"
    )
    assert len(fs) == int(expected.sum())


def test_adversarial_default_is_next_midnight_after_the_data(tables):
    fs = build_features(tables, "adversarial")
    _, last = data_time_range(tables)
    assert fs.frame["snapshot_at"].unique().tolist() == [last.normalize() + pd.Timedelta(days=1)]


def test_adversarial_range_of_snapshots(tables):
    fs = build_features(tables, "adversarial", since="2025-09-01", as_of="2025-09-08", freq="7D")
    assert sorted(fs.frame["snapshot_at"].dt.strftime("%Y-%m-%d").unique()) == [
        "2025-09-01",
        "2025-09-08",
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "fraud"}, "unknown task 'fraud'"),
        ({"task": "low_quality", "as_of": "soon"}, "as_of='soon' is not a timestamp"),
        ({"task": "low_quality", "as_of": "2030-01-01"}, "is outside the data"),
        ({"task": "low_quality", "as_of": "2020-01-01"}, "is outside the data"),
        (
            {"task": "adversarial", "as_of": "2025-09-01", "since": "2025-09-05"},
            "since=.* is after as_of",
        ),
    ],
)
def test_errors(tables, kwargs, match):
    with pytest.raises(FeatureError, match=match):
        build_features(tables, **kwargs)


def test_no_rows_in_range(tables):
    first, _ = data_time_range(tables)
    with pytest.raises(FeatureError, match="no session ended in"):
        build_features(
            tables,
            "low_quality",
            as_of=first + pd.Timedelta(microseconds=1),
            since=first + pd.Timedelta(microseconds=1),
        )


# ------------------------------------------------------------------ chunked builders


def _concat_by(chunks, key):
    import pandas as pd

    frames = [c.frame for c in chunks]
    return pd.concat(frames, ignore_index=True).sort_values(key, ignore_index=True)


@pytest.mark.parametrize("chunk_rows", [1, 37, 500, 10**9])
def test_session_chunks_are_bit_for_bit_the_whole_feature_set(tables, chunk_rows):
    from govml.features import iter_session_features, session_features

    whole = session_features(tables).frame.sort_values("session_id", ignore_index=True)
    chunks = list(iter_session_features(tables, chunk_rows=chunk_rows))
    creators = [set(c.frame["creator_id"]) for c in chunks]
    assert sum(len(s) for s in creators) == len(set().union(*creators))  # never split
    pd.testing.assert_frame_equal(_concat_by(chunks, "session_id"), whole, check_exact=True)


@pytest.mark.parametrize("chunk_rows", [1, 200, 10**9])
def test_creator_chunks_are_bit_for_bit_the_whole_feature_set(tables, chunk_rows):
    from govml.features import creator_features, creator_snapshots, iter_creator_features

    _, end = data_time_range(tables)
    snapshots = creator_snapshots(tables, start=end - pd.Timedelta(days=10), end=end)
    key = ["creator_id", "snapshot_at"]
    whole = creator_features(tables, snapshots).frame.sort_values(key, ignore_index=True)
    chunks = list(iter_creator_features(tables, snapshots, chunk_rows=chunk_rows))
    assert len(chunks) > 1 or chunk_rows == 10**9
    pd.testing.assert_frame_equal(_concat_by(chunks, key), whole, check_exact=True)
