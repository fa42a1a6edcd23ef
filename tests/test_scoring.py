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
    # reasons_above=0: every row is explained (not only tiered ones), one reason each
    # wherever a reason group raises its score (a row whose groups all lower it has none)
    lengths = every.scored["reasons"].list.len().to_numpy()
    has_reason = reason_codes(explain(model, frame), k=1)["reason_1_code"].notna().to_numpy()
    np.testing.assert_array_equal(lengths, has_reason.astype(lengths.dtype))
    assert (lengths[(every.scored["tier"] == "none").to_numpy()] == 1).any()
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


# =========================================================================== the job

WINDOW_DAYS = 3
CHUNK = 1500  # ~9 chunks for the window below


@pytest.fixture(scope="module")
def job_inputs(small_world, small_models, tmp_path_factory):
    """The small world written to disk, and a low-quality model that never saw one
    category level (so some rows are quarantined as unseen and the quarantine files are
    part of every kill test)."""
    import dataclasses

    from govml.model import GovmlModel
    from govml.simulation import write_world

    root = tmp_path_factory.mktemp("scoring_job")
    world = write_world(small_world, root / "world", overwrite=True)
    model = small_models["low_quality"][0]
    features = []
    for spec in model.metadata.features:
        if spec.name == "category":
            spec = dataclasses.replace(spec, levels=spec.levels[:-1])
        features.append(spec)
    narrowed = GovmlModel(
        model.booster, dataclasses.replace(model.metadata, features=tuple(features))
    )
    end = _end(small_world)
    return {
        "root": root,
        "world": world,
        "model": narrowed.save(root / "model_lq"),
        "adv_model": small_models["adversarial"][1],
        "as_of": end,
        "since": end - pd.Timedelta(days=WINDOW_DAYS),
        "dropped": model.metadata.category_levels["category"][-1],
    }


def _job_kwargs(inputs, out, **extra):
    return {
        "as_of": inputs["as_of"],
        "since": inputs["since"],
        "out": out,
        "chunk_rows": CHUNK,
        "scored_at": SCORED_AT,
        "num_threads": 1,
        **extra,
    }


@pytest.fixture(scope="module")
def reference(job_inputs):
    """One uninterrupted run: what every interrupted-and-resumed run must equal."""
    from govml.scoring import read_scores, score_batch

    out = job_inputs["root"] / "reference"
    summary = score_batch(job_inputs["model"], job_inputs["world"], **_job_kwargs(job_inputs, out))
    return summary, read_scores(out), read_scores(out, quarantine=True)


def _assert_same_output(out, reference) -> None:
    from govml.scoring import read_manifest, read_scores

    summary, scored, quarantined = reference
    _assert_same(read_scores(out), scored)
    _assert_same(read_scores(out, quarantine=True), quarantined)
    resumed = read_manifest(out)
    assert (resumed.n_input, resumed.n_scored, resumed.n_quarantined) == (
        summary.n_input,
        summary.n_scored,
        summary.n_quarantined,
    )
    assert resumed.tiers == summary.tiers
    assert not list(out.rglob("*.tmp")) and not (out / "_lock").exists()


def test_job_writes_partitioned_accounted_output(job_inputs, reference):
    import pyarrow.dataset as ds

    from govml.scoring import read_manifest

    summary, scored, quarantined = reference
    out = job_inputs["root"] / "reference"
    assert summary.status == "completed" and summary.n_chunks > 3
    assert summary.n_scored + summary.n_quarantined == summary.n_input > 300
    # the narrowed model never saw one category: exactly those rows are quarantined
    world = job_inputs["world"]
    sessions = pd.read_parquet(world / "sessions.parquet")
    creators = pd.read_parquet(world / "creators.parquet")
    window = sessions[
        (sessions["ended_at"] >= job_inputs["since"]) & (sessions["ended_at"] < job_inputs["as_of"])
    ].merge(creators[["creator_id", "category"]], on="creator_id")
    dropped = window["category"].astype(str) == job_inputs["dropped"]
    assert set(quarantined["entity_id"]) == set(window.loc[dropped, "session_id"])
    assert set(scored["entity_id"]) == set(window.loc[~dropped, "session_id"])
    assert summary.quarantine_reasons == {"unseen_category": int(dropped.sum())}
    assert dict(summary.tiers) == scored["tier"].value_counts().to_dict()
    # hive partitions: any dataset reader sees market and date, and only the scored rows
    dataset = ds.dataset(out, format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert table.num_rows == summary.n_scored
    assert {"market", "date"} <= set(table.column_names)
    for path in out.glob("market=*/date=*/*.parquet"):
        market = path.parent.parent.name.split("=")[1]
        date = path.parent.name.split("=")[1]
        part = scored[scored["entity_id"].isin(pd.read_parquet(path)["entity_id"])]
        assert (part["market"] == market).all() and (part["date"] == date).all()
    manifest = __import__("json").loads((out / "_SUCCESS").read_text())
    assert manifest["rows"] == {
        "input": summary.n_input,
        "scored": summary.n_scored,
        "quarantined": summary.n_quarantined,
    }
    assert manifest["model"]["name"] == "govml-low_quality"
    assert len(manifest["chunks"]) == summary.n_chunks
    assert manifest["input_fingerprint"] == summary.input_fingerprint
    assert read_manifest(out).n_input == summary.n_input
    assert "scored 418 rows" in str(summary) or f"scored {summary.n_input:,} rows" in str(summary)


def test_scores_equal_the_core_on_the_whole_window(job_inputs, reference):
    from govml.model import GovmlModel

    _, scored, quarantined = reference
    model = GovmlModel.load(job_inputs["model"])
    from govml.schema import load_tables

    tables = load_tables(job_inputs["world"])
    fs = build_features(tables, "low_quality", as_of=job_inputs["as_of"], since=job_inputs["since"])
    whole = score_frame(model, fs, scored_at=SCORED_AT, num_threads=1)
    _assert_same(scored, whole.scored)
    _assert_same(quarantined, whole.quarantined)


def test_rerun_of_a_finished_job_does_nothing(job_inputs, reference, tmp_path):
    import shutil

    from govml.scoring import score_batch

    out = tmp_path / "copy"
    shutil.copytree(job_inputs["root"] / "reference", out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    again = score_batch(job_inputs["model"], job_inputs["world"], **_job_kwargs(job_inputs, out))
    assert again.status == "already_complete"
    assert str(again).startswith(f"low_quality: nothing to do: {out} already holds")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    # chunk size is not part of the job: it never changes a score
    other = score_batch(
        job_inputs["model"], job_inputs["world"], **_job_kwargs(job_inputs, out, chunk_rows=7)
    )
    assert other.status == "already_complete"


def _run_child(inputs, out, *, crash: str | None = None, timeout: float = 120, kill_after=None):
    """``govml score`` in a child process; optionally made to SIGKILL itself (crash) or
    killed by us after ``kill_after`` seconds."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "GOVML_N_JOBS": "1"}
    env.pop("GOVML_SCORING_CRASH", None)
    if crash is not None:
        env["GOVML_SCORING_CRASH"] = crash
    argv = [
        sys.executable,
        "-m",
        "govml.cli",
        "score",
        "--task",
        "low_quality",
        "--model",
        str(inputs["model"]),
        "--tables",
        str(inputs["world"]),
        "--as-of",
        str(inputs["as_of"]),
        "--since",
        str(inputs["since"]),
        "--out",
        str(out),
        "--chunk-rows",
        str(CHUNK),
        "--scored-at",
        str(SCORED_AT),
    ]
    child = subprocess.Popen(
        argv, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if kill_after is not None:
        time.sleep(kill_after)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
    stdout, stderr = child.communicate(timeout=timeout)
    return child.returncode, stdout, stderr


def _resume(inputs, out):
    from govml.scoring import score_batch

    return score_batch(inputs["model"], inputs["world"], **_job_kwargs(inputs, out))


def test_killed_at_every_step_then_resumed(job_inputs, reference, tmp_path):
    """One child per kill point, each resuming what the previous one left: a kill after
    the job spec only, with a temporary file not yet renamed, with some files of a chunk
    renamed but its record missing, right after a chunk record, and with every chunk
    done but no manifest. Then the same arguments finish the job, exactly."""
    out = tmp_path / "out"
    chunks = []
    for crash in (
        "job_written:1",
        "tmp_written:2",
        "renamed:4",
        "chunk_committed:2",
        "before_success:1",
    ):
        code, _, stderr = _run_child(job_inputs, out, crash=crash)
        assert code == -9, stderr
        assert (out / "_job.json").is_file() and not (out / "_SUCCESS").exists()
        chunks.append(len(list((out / "_chunks").glob("*.json"))))
    assert chunks[0] == 0 and chunks[3] == chunks[2] + 2 and chunks[4] > chunks[3]
    summary = _resume(job_inputs, out)
    assert summary.status == "resumed" and summary.n_chunks_reused == chunks[-1]
    _assert_same_output(out, reference)


def test_killed_at_a_random_moment(job_inputs, reference, tmp_path):
    import random

    out = tmp_path / "out"
    delay = random.Random().uniform(1.0, 4.0)
    code, _, _ = _run_child(job_inputs, out, kill_after=delay)
    summary = _resume(job_inputs, out)
    if code == 0:  # the child finished before the kill
        assert summary.status == "already_complete"
    else:
        assert code == -9 and summary.status in ("resumed", "completed")
    _assert_same_output(out, reference)


# --------------------------------------------------------------------------- job errors


def test_different_arguments_into_the_same_folder(job_inputs, reference, tmp_path):
    import shutil

    from govml.scoring import score_batch

    out = tmp_path / "copy"
    shutil.copytree(job_inputs["root"] / "reference", out)
    model, world = job_inputs["model"], job_inputs["world"]
    with pytest.raises(ScoringError, match=r"different arguments \(top_k: 3 vs now 2\)"):
        score_batch(model, world, **_job_kwargs(job_inputs, out, top_k=2))
    later = job_inputs["as_of"] - pd.Timedelta(hours=12)
    with pytest.raises(ScoringError, match="as_of: .* vs now .*pass --overwrite"):
        score_batch(model, world, **_job_kwargs(job_inputs, out, as_of=later))
    with pytest.raises(ScoringError, match=r"scored_at: '2030-01-01T00:00:00\+00:00' vs now"):
        score_batch(model, world, **_job_kwargs(job_inputs, out, scored_at="2031-01-01"))
    adv = job_inputs["adv_model"]
    kwargs = _job_kwargs(job_inputs, out, since=None)
    with pytest.raises(
        ScoringError, match="model: govml-low_quality version 1 .* vs now govml-adv"
    ):
        score_batch(adv, world, **kwargs)
    replaced = score_batch(model, world, **_job_kwargs(job_inputs, out, top_k=1, overwrite=True))
    assert replaced.status == "completed"
    from govml.scoring import read_scores

    assert (read_scores(out)["reasons"].list.len() <= 1).all()


def test_changed_input_is_a_different_job(job_inputs, small_world, tmp_path):
    import dataclasses

    from govml.scoring import score_batch

    out = tmp_path / "out"
    tables = small_world.tables
    kwargs = _job_kwargs(job_inputs, out)
    score_batch(job_inputs["model"], tables, **kwargs)
    sessions = tables.sessions.copy()
    sessions.loc[sessions.index[0], "viewers"] += 1  # an old fact changed
    changed = dataclasses.replace(tables, sessions=sessions)
    with pytest.raises(ScoringError, match="input: the tables' rows known before as_of changed"):
        score_batch(job_inputs["model"], changed, **kwargs)
    # rows known only after as_of are not part of the job's input
    late = sessions.copy()
    late = dataclasses.replace(tables, reviews=tables.reviews.iloc[:-1])
    assert tables.reviews["reviewed_at"].iloc[-1] >= job_inputs["as_of"]
    assert score_batch(job_inputs["model"], late, **kwargs).status == "already_complete"


def test_output_folder_errors(job_inputs, reference, tmp_path):
    import os
    import shutil
    import socket

    from govml.scoring import score_batch

    model, world = job_inputs["model"], job_inputs["world"]
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(ScoringError, match="holds no govml scoring job"):
            score_batch(model, world, **_job_kwargs(job_inputs, stray, overwrite=overwrite))
    assert (stray / "notes.txt").read_text() == "mine"
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ScoringError, match="exists and is not a folder"):
        score_batch(model, world, **_job_kwargs(job_inputs, afile))
    # an interrupted job whose lock a live process holds (this one stands in for it)
    locked = tmp_path / "locked"
    shutil.copytree(job_inputs["root"] / "reference", locked)
    (locked / "_SUCCESS").unlink()
    (locked / "_lock").write_text(f"{socket.gethostname()} {os.getpid()}\n")
    with pytest.raises(ScoringError, match=r"another scoring job \(pid \d+\) is writing"):
        score_batch(model, world, **_job_kwargs(job_inputs, locked))
    (locked / "_lock").write_text("elsewhere 123\n")
    with pytest.raises(ScoringError, match="locked by a scoring job on host 'elsewhere'"):
        score_batch(model, world, **_job_kwargs(job_inputs, locked))


def test_damaged_output_is_reported(job_inputs, reference, tmp_path):
    import json
    import shutil

    from govml.scoring import read_scores, score_batch

    model, world = job_inputs["model"], job_inputs["world"]
    src = job_inputs["root"] / "reference"

    def copy(name):
        out = tmp_path / name
        shutil.copytree(src, out)
        (out / "_SUCCESS").unlink()  # an interrupted job
        return out

    out = copy("bad_json")
    (out / "_job.json").write_text("{not json")
    with pytest.raises(ScoringError, match=r"_job.json is unreadable .*--overwrite"):
        score_batch(model, world, **_job_kwargs(job_inputs, out))
    (out / "_job.json").write_text("[1, 2]")
    with pytest.raises(ScoringError, match="does not hold a JSON object"):
        score_batch(model, world, **_job_kwargs(job_inputs, out))
    out = copy("lost_file")
    record = json.loads((out / "_chunks" / "c00000.json").read_text())
    (out / record["files"][0]).unlink()
    with pytest.raises(ScoringError, match="is listed as written but is missing"):
        score_batch(model, world, **_job_kwargs(job_inputs, out))
    out = copy("miscounted")
    record["rows"]["input"] += 1
    (out / "_chunks" / "c00000.json").write_text(json.dumps(record))
    with pytest.raises(
        ScoringError, match="row accounting failed .* 418 written; the chunk records say 419"
    ):
        score_batch(model, world, **_job_kwargs(job_inputs, out))
    with pytest.raises(ScoringError, match="holds no finished scoring job"):
        read_scores(out)


def test_input_errors(job_inputs, small_world, tmp_path):
    from govml.scoring import resolve_model, score_batch

    model, adv, world = job_inputs["model"], job_inputs["adv_model"], job_inputs["world"]
    as_of = job_inputs["as_of"]
    out = tmp_path / "never"

    def run(m=model, **extra):
        return score_batch(m, world, **_job_kwargs(job_inputs, out, **extra))

    with pytest.raises(ScoringError, match="--task is 'adversarial' but model 'govml-low_q"):
        run(task="adversarial")
    with pytest.raises(ScoringError, match=r"no session ended in \[2020"):
        run(as_of="2020-01-02", since=None)
    with pytest.raises(ScoringError, match="is not before as_of"):
        run(since=as_of)
    with pytest.raises(ScoringError, match="since applies to the low_quality task only"):
        run(adv)
    with pytest.raises(ScoringError, match="is not midnight UTC; .* use e.g. "):
        run(adv, since=None, as_of=as_of + pd.Timedelta(hours=3))
    with pytest.raises(ScoringError, match="no creator was active within 30D"):
        run(adv, since=None, as_of=as_of + pd.Timedelta(days=60))
    with pytest.raises(ScoringError, match="cannot take creator snapshots"):
        run(adv, since=None, active_within="soon")
    with pytest.raises(ScoringError, match="as_of='someday' is not a timestamp"):
        run(as_of="someday")
    with pytest.raises(ConfigError, match="chunk_rows=0; expected a positive"):
        run(chunk_rows=0)
    with pytest.raises(ScoringError, match="tables=list is not tables"):
        score_batch(model, [], **_job_kwargs(job_inputs, out))
    with pytest.raises(ScoringError, match="model=42 is not a model"):
        resolve_model(42)
    assert not out.exists()


def test_adversarial_job(job_inputs, small_world, small_models, tmp_path):
    from govml.scoring import read_scores, score_batch

    model = small_models["adversarial"][0]
    summary = score_batch(
        model, small_world.tables, as_of=job_inputs["as_of"], out=tmp_path / "adv", num_threads=1
    )
    assert summary.status == "completed" and summary.window_start is None
    scored = read_scores(tmp_path / "adv")
    fs = build_features(small_world.tables, "adversarial", as_of=job_inputs["as_of"])
    assert summary.n_input == len(fs) == summary.n_scored
    expected = score_frame(model, fs, scored_at=summary.scored_at, num_threads=1).scored
    _assert_same(scored, expected)
    assert (scored["date"] == str(job_inputs["as_of"].date())).all()


def test_registry_uri_pins_the_version(small_models, tmp_path, monkeypatch):
    from govml import tracking
    from govml.scoring import resolve_model

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.chdir(tmp_path)
    config = tracking.configure(tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}", cwd=tmp_path)
    model = small_models["low_quality"][0]
    with tracking.start_run(experiment="scoring-test", tracking=config) as run:
        tracking.log_model(model, run=run)
    resolved = resolve_model("models:/govml-low_quality@candidate", tracking=config)
    assert (resolved.name, resolved.version) == ("govml-low_quality", "1")
    assert resolved.uri == "models:/govml-low_quality/1"
    assert resolved.sha256 == resolve_model(model).sha256
    by_number = resolve_model("models:/govml-low_quality/1", tracking=config)
    assert by_number.version == "1" and by_number.sha256 == resolved.sha256


# --------------------------------------------------------------------------- the CLI


def _cli_args(inputs, out, *extra):
    return [
        "score",
        "--task",
        "low_quality",
        "--model",
        str(inputs["model"]),
        "--tables",
        str(inputs["world"]),
        "--as-of",
        str(inputs["as_of"]),
        "--since",
        str(inputs["since"]),
        "--out",
        str(out),
        "--scored-at",
        str(SCORED_AT),
        *extra,
    ]


def test_cli_score_and_rerun(job_inputs, reference, tmp_path, capsys):
    from govml.cli import main

    out = tmp_path / "cli"
    assert main(_cli_args(job_inputs, out)) == 0
    printed = capsys.readouterr().out
    summary = reference[0]
    assert f"scored {summary.n_scored:,}, quarantined {summary.n_quarantined:,}" in printed
    _assert_same_output(out, reference)
    assert main(_cli_args(job_inputs, out)) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_cli_user_errors_exit_2_with_one_line(job_inputs, reference, tmp_path, capsys):
    import shutil

    from govml.cli import main

    out = tmp_path / "cli"
    shutil.copytree(job_inputs["root"] / "reference", out)
    assert main(_cli_args(job_inputs, out, "--top-k", "1")) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("govml score: error:") and "different arguments" in err
    assert main(_cli_args(job_inputs, tmp_path / "x", "--top-k", "-1")) == 2
    assert "top_k=-1" in capsys.readouterr().err
    missing = [*_cli_args(job_inputs, tmp_path / "y")]
    missing[missing.index("--model") + 1] = str(tmp_path / "no_model")
    assert main(missing) == 2
    assert "no model at" in capsys.readouterr().err


def test_quickstart_scoring_step(small_world, small_models, tmp_path, capsys):
    from types import SimpleNamespace

    from govml.cli import _quickstart_scores

    trained = {
        task: SimpleNamespace(version=None, model=small_models[task][0])
        for task in ("low_quality", "adversarial")
    }
    _quickstart_scores(small_world.tables, trained, tmp_path / "scores")
    printed = capsys.readouterr().out
    for task in trained:
        assert f"{task}: scored " in printed
        assert (tmp_path / "scores" / task / "_SUCCESS").is_file()
    assert printed.count("reasons ") == 6 and ", tier review, reasons " in printed


def test_row_blocks_inside_score_frame_change_nothing(lq, lq_scored, monkeypatch):
    import govml.scoring

    model, fs = lq
    broken = _broken(fs.frame)
    whole = score_frame(model, broken, scored_at=SCORED_AT, num_threads=1)
    monkeypatch.setattr(govml.scoring, "_BLOCK_ROWS", 7)
    blocked = score_frame(model, broken, scored_at=SCORED_AT, num_threads=1)
    pd.testing.assert_frame_equal(blocked.scored, whole.scored)
    pd.testing.assert_frame_equal(blocked.quarantined, whole.quarantined)
    again = score_frame(model, fs, scored_at=SCORED_AT, num_threads=1)
    pd.testing.assert_frame_equal(again.scored, lq_scored.scored)


def test_job_scores_unseen_levels_within_the_tolerance(job_inputs, reference, tmp_path):
    from govml.scoring import read_scores, score_batch

    summary = score_batch(
        job_inputs["model"],
        job_inputs["world"],
        **_job_kwargs(job_inputs, tmp_path / "lenient", max_unseen_features=1),
    )
    strict = reference[0]
    assert summary.n_quarantined == 0 and summary.n_scored == strict.n_input
    assert summary.n_scored_unseen == strict.n_quarantined > 0
    assert "scored with unseen category levels" in str(summary)
    scored = read_scores(tmp_path / "lenient")
    flagged = set(scored.loc[scored["unseen_category"], "entity_id"])
    assert flagged == set(reference[2]["entity_id"])
