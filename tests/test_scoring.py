"""Batch scoring: the per-chunk core (accounting, quarantine, invariance, schema) and the
resumable job (atomic chunks, kill -9 at many points, re-runs, CLI)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govml._exceptions import ColumnMismatchError, ConfigError, ScoringError
from govml.explain import explain, reason_codes
from govml.features import build_features
from govml.scoring import (
    OUTPUT_SCHEMA,
    QUARANTINE_REASONS,
    QUARANTINE_SCHEMA,
    ScoredChunk,
    score_frame,
)

SCORED_AT = pd.Timestamp("2030-01-01T00:00:00Z")


def _end(world) -> pd.Timestamp:
    return world.tables.sessions["ended_at"].max().normalize()


@pytest.fixture(scope="module")
def lq(small_world, small_models):
    """The low-quality model and the features of the sessions of the world's last 3 days."""
    end = _end(small_world)
    fs = build_features(
        small_world.tables, "low_quality", as_of=end, since=end - pd.Timedelta(days=3)
    )
    return small_models["low_quality"][0], fs


@pytest.fixture(scope="module")
def adv(small_world, small_models):
    fs = build_features(small_world.tables, "adversarial", as_of=_end(small_world))
    return small_models["adversarial"][0], fs


@pytest.fixture(scope="module")
def lq_scored(lq):
    model, fs = lq
    return score_frame(model, fs, scored_at=SCORED_AT, num_threads=1)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by entity id, index reset: what must not depend on chunking or order."""
    return frame.sort_values("entity_id", kind="stable").reset_index(drop=True)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(_canonical(a), _canonical(b), check_exact=True)


# --------------------------------------------------------------------------- the core


def test_scores_are_the_models_calibrated_probabilities(lq, lq_scored):
    model, fs = lq
    out = lq_scored
    assert out.n_input == len(fs) > 100
    assert out.n_scored == len(fs) and out.n_quarantined == 0
    assert list(out.scored.columns) == OUTPUT_SCHEMA.names
    assert list(out.quarantined.columns) == QUARANTINE_SCHEMA.names
    frame = fs.frame
    assert out.scored["entity_id"].tolist() == frame["session_id"].astype(str).tolist()
    np.testing.assert_array_equal(out.scored["score"], model.predict_proba(frame))
    np.testing.assert_array_equal(out.scored["raw_score"], model.predict_raw(frame))
    assert out.scored["tier"].tolist() == model.tier_of(out.scored["score"]).tolist()
    assert out.scored["creator_id"].tolist() == frame["creator_id"].astype(str).tolist()
    assert out.scored["market"].tolist() == frame["market"].astype(str).tolist()
    times = frame["ended_at"].reset_index(drop=True)
    pd.testing.assert_series_equal(out.scored["prediction_time"], times, check_names=False)
    assert out.scored["date"].tolist() == times.dt.strftime("%Y-%m-%d").tolist()
    assert (out.scored["model_name"] == model.metadata.name).all()
    assert (out.scored["model_version"] == model.metadata.version).all()
    assert (out.scored["scored_at"] == SCORED_AT).all()
    assert not out.scored["unseen_category"].any()
    scored_t, quarantined_t = out.to_arrow()
    assert scored_t.schema.equals(OUTPUT_SCHEMA) and quarantined_t.schema.equals(QUARANTINE_SCHEMA)


def test_reasons_for_rows_at_or_above_the_lowest_tier_threshold(lq, lq_scored):
    model, fs = lq
    scored = lq_scored.scored
    cut = min(model.metadata.thresholds.values())
    above = (scored["score"] >= cut).to_numpy()
    assert 0 < above.sum() < len(scored)
    lengths = scored["reasons"].list.len().to_numpy()
    assert (lengths[~above] == 0).all() and (lengths[above] >= 1).all()
    assert (scored.loc[above, "tier"] != "none").all()
    expected = reason_codes(explain(model, fs.frame.iloc[np.flatnonzero(above)]), k=3)
    for r, (_, row) in zip(np.flatnonzero(above), expected.iterrows(), strict=True):
        got = scored["reasons"].iloc[r]
        assert len(got) <= 3
        for i, reason in enumerate(got, start=1):
            assert reason["code"] == row[f"reason_{i}_code"]
            assert reason["text"] == row[f"reason_{i}_text"]
            assert reason["contribution"] == row[f"reason_{i}_contribution"]
            assert reason["contribution"] > 0
        if len(got) < 3:
            assert pd.isna(row[f"reason_{len(got) + 1}_code"])


def test_reason_options(lq):
    model, fs = lq
    frame = fs.frame.head(40)
    none = score_frame(model, frame, scored_at=SCORED_AT, top_k=0, num_threads=1)
    assert (none.scored["reasons"].list.len() == 0).all()
    every = score_frame(model, frame, scored_at=SCORED_AT, reasons_above=0.0, top_k=1)
    assert (every.scored["reasons"].list.len() == 1).all()
    np.testing.assert_array_equal(none.scored["score"], every.scored["score"])
    bare = _without_thresholds(model)
    plain = score_frame(bare, frame, scored_at=SCORED_AT, num_threads=1)
    assert (plain.scored["tier"] == "none").all()
    assert (plain.scored["reasons"].list.len() == 0).all()


def _without_thresholds(model):
    import dataclasses

    from govml.model import GovmlModel

    return GovmlModel(model.booster, dataclasses.replace(model.metadata, thresholds={}))


def test_adversarial_creator_snapshots(adv):
    model, fs = adv
    out = score_frame(model, fs, scored_at=SCORED_AT, num_threads=1)
    assert out.n_scored + out.n_quarantined == len(fs) > 50
    assert (out.scored["entity_id"] == out.scored["creator_id"]).all()
    assert (out.scored["task"] == "adversarial").all()
    np.testing.assert_array_equal(
        out.scored["score"], model.predict_proba(fs.frame.iloc[: out.n_scored])
    )
    assert out.scored["date"].nunique() == 1


def test_empty_frame(lq):
    model, fs = lq
    out = score_frame(model, fs.frame.iloc[:0], scored_at=SCORED_AT)
    assert out.n_input == out.n_scored == out.n_quarantined == 0
    scored_t, quarantined_t = out.to_arrow()
    assert scored_t.schema.equals(OUTPUT_SCHEMA) and quarantined_t.num_rows == 0


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_same_scores_for_any_chunking_row_and_column_order(lq, lq_scored, data):
    model, fs = lq
    frame = fs.frame
    n = len(frame)
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    columns = list(rng.permutation(frame.columns))
    shuffled = frame.iloc[order][columns]
    n_cuts = data.draw(st.integers(0, 6), label="cuts")
    cuts = sorted(rng.choice(np.arange(1, n), size=n_cuts, replace=False).tolist())
    parts = [
        score_frame(model, shuffled.iloc[a:b], scored_at=SCORED_AT, num_threads=1)
        for a, b in zip([0, *cuts], [*cuts, n], strict=True)
    ]
    assert sum(p.n_input for p in parts) == n
    joined = pd.concat([p.scored for p in parts], ignore_index=True)
    _assert_same(joined, lq_scored.scored)


def test_input_not_modified(lq):
    model, fs = lq
    frame = fs.frame.head(30).copy()
    frame["tenure_days"] = frame["tenure_days"].astype(object)
    frame.loc[frame.index[0], "tenure_days"] = "abc"
    before = frame.copy()
    score_frame(model, frame, scored_at=SCORED_AT, num_threads=1)
    pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------- quarantine


def _broken(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with one problem per row 0..8 (row 9 on are clean)."""
    df = frame.head(30).copy().reset_index(drop=True)
    df["session_id"] = df["session_id"].astype(object)
    df["market"] = df["market"].astype(object)
    feature = "duration_min"
    df[feature] = df[feature].astype(object)
    df.loc[0, "session_id"] = None
    df.loc[1, "session_id"] = df.loc[2, "session_id"]  # rows 1 and 2 share an id
    df.loc[3, "ended_at"] = pd.NaT
    df.loc[4, "market"] = None
    df.loc[5, feature] = "12 minutes"
    df.loc[6, "viewers_log"] = np.inf
    df.loc[7, "tenure_days"] = np.nan
    df.loc[8, "market"] = "KR"
    df.loc[9, "tenure_days"] = -1.0
    return df


def test_every_quarantine_reason(lq):
    model, fs = lq
    df = _broken(fs.frame)
    out = score_frame(model, df, scored_at=SCORED_AT, num_threads=1)
    q = out.quarantined
    assert out.n_scored + out.n_quarantined == len(df)
    expected = [
        "missing_key",
        "duplicate_key",
        "duplicate_key",
        "missing_time",
        "missing_market",
        "invalid_value",
        "invalid_value",
        "missing_history",
        "unseen_category",
        "missing_history",
    ]
    assert q["reason_code"].tolist() == expected
    assert set(q["reason_code"]) == set(QUARANTINE_REASONS)
    reasons = q["reason"].tolist()
    assert "'duration_min' = '12 minutes' (not a number)" in reasons[5]
    assert "'viewers_log' = inf" in reasons[6]
    assert "market=KR never seen in training" in reasons[8]
    assert "tenure_days=-1.0" in reasons[9]
    assert pd.isna(q["entity_id"].iloc[0]) and pd.isna(q["prediction_time"].iloc[3])
    # the clean rows score exactly as alone
    clean = df.iloc[10:].assign(
        session_id=lambda d: d["session_id"].astype(str),
        duration_min=lambda d: d["duration_min"].astype(float),
        market=lambda d: pd.Categorical(d["market"]),
    )
    np.testing.assert_array_equal(out.scored["score"], model.predict_proba(clean))
    assert QUARANTINE_SCHEMA.equals(out.to_arrow()[1].schema)


def test_unseen_levels_within_the_tolerance_are_scored_and_flagged(lq):
    model, fs = lq
    df = fs.frame.head(10).assign(market=lambda d: d["market"].astype(object))
    df.loc[df.index[2], "market"] = "KR"
    strict = score_frame(model, df, scored_at=SCORED_AT, num_threads=1)
    assert strict.quarantined["reason_code"].tolist() == ["unseen_category"]
    lenient = score_frame(model, df, scored_at=SCORED_AT, max_unseen_features=1, num_threads=1)
    assert lenient.n_scored == 10
    assert lenient.scored["unseen_category"].tolist() == [i == 2 for i in range(10)]
    np.testing.assert_array_equal(lenient.scored["score"], model.predict_proba(df, unseen="allow"))
    both = df.assign(category=lambda d: d["category"].astype(object))
    both.loc[both.index[2], "category"] = "pets"
    again = score_frame(model, both, scored_at=SCORED_AT, max_unseen_features=1, num_threads=1)
    assert (
        again.quarantined["reason"].iloc[0].startswith("unseen_category: market=KR, category=pets")
    )


# --------------------------------------------------------------------------- core errors


def test_frame_level_errors(lq, adv):
    model, fs = lq
    frame = fs.frame.head(5)
    with pytest.raises(ColumnMismatchError, match=r"lacks column\(s\) \['ended_at'\]"):
        score_frame(model, frame.drop(columns="ended_at"), scored_at=SCORED_AT)
    with pytest.raises(ColumnMismatchError, match=r"lacks column\(s\) \['viewers_log'\]"):
        score_frame(model, frame.drop(columns="viewers_log"), scored_at=SCORED_AT)
    dup = pd.concat([frame, frame[["viewers_log"]]], axis=1)
    with pytest.raises(ColumnMismatchError, match=r"\['viewers_log'\] more than once"):
        score_frame(model, dup, scored_at=SCORED_AT)
    naive = frame.assign(ended_at=frame["ended_at"].dt.tz_localize(None))
    with pytest.raises(ColumnMismatchError, match="without a timezone"):
        score_frame(model, naive, scored_at=SCORED_AT)
    text_time = frame.assign(ended_at="yesterday")
    with pytest.raises(ColumnMismatchError, match="expected UTC-aware"):
        score_frame(model, text_time, scored_at=SCORED_AT)
    with pytest.raises(ColumnMismatchError, match="expected a pandas DataFrame"):
        score_frame(model, frame.to_numpy(), scored_at=SCORED_AT)
    with pytest.raises(ScoringError, match="feature set is for task 'adversarial'"):
        score_frame(model, adv[1], scored_at=SCORED_AT)


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ({"top_k": -1}, "top_k=-1"),
        ({"top_k": True}, "top_k=True"),
        ({"max_unseen_features": -2}, "max_unseen_features=-2"),
        ({"reasons_above": 1.5}, r"reasons_above=1.5; expected a probability"),
        ({"reasons_above": "high"}, "reasons_above='high'"),
        ({"scored_at": "not a time"}, "scored_at='not a time' is not a timestamp"),
        ({"scored_at": None}, "scored_at=None is not a timestamp"),
        ({"scored_at": pd.NaT}, "scored_at is missing"),
    ],
)
def test_option_errors(lq, option, match):
    model, fs = lq
    kwargs = {"scored_at": SCORED_AT, **option}
    with pytest.raises(ConfigError, match=match):
        score_frame(model, fs.frame.head(3), **kwargs)


def test_scored_chunk_accounting_is_enforced():
    empty = pd.DataFrame()
    assert ScoredChunk(empty, empty, 0).n_input == 0
    with pytest.raises(ScoringError, match=r"0 scored \+ 0 quarantined != 1 input rows"):
        ScoredChunk(empty, empty, 1)


def test_schemas_describe_the_reasons():
    reasons = OUTPUT_SCHEMA.field("reasons").type
    assert pa.types.is_list(reasons)
    assert [f.name for f in reasons.value_type] == ["code", "text", "contribution"]
    assert OUTPUT_SCHEMA.field("scored_at").type == pa.timestamp("us", tz="UTC")
