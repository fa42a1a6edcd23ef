"""govml._jobfiles: the on-disk protocol of a resumable batch-scoring job.

The engines' end-to-end behaviour (kills at every step, resume, reruns, damaged
folders) is tested through ``score_batch`` in tests/test_scoring.py and
tests/test_spark.py; here each piece of the protocol is tested on its own, on tiny
hand-made chunks.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govml import _jobfiles as jf
from govml._exceptions import ScoringError

AS_OF = pd.Timestamp("2025-09-03", tz="UTC")
SCORED_AT = pd.Timestamp("2025-09-03T06:00", tz="UTC")


@pytest.fixture(scope="module")
def model():
    from govml.model import GovmlModel
    from govml.scoring import resolve_model
    from govml.training.lgbm import fit_lightgbm

    df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
    fit = fit_lightgbm(
        df[:400], df[400:], features=["x"], label="y", num_boost_round=5, num_threads=1
    )
    return resolve_model(
        GovmlModel.from_fit(fit, task="low_quality", name="demo", thresholds={"review": 0.1})
    )


def _chunk(model, ids, markets):
    """A scored chunk of sessions ``ids`` (a None market is quarantined)."""
    from govml.scoring import score_frame

    frame = pd.DataFrame(
        {
            "session_id": ids,
            "market": markets,
            "x": np.arange(len(ids), dtype=float) * 100,
            "ended_at": [AS_OF - pd.Timedelta(hours=h + 1) for h in range(len(ids))],
        }
    )
    return score_frame(model.model, frame, scored_at=SCORED_AT, num_threads=1)


def _spec(model, **extra):
    return jf.job_spec(
        task="low_quality",
        model=model,
        as_of=AS_OF,
        window_start=AS_OF - pd.Timedelta(days=1),
        active_within="30D",
        top_k=3,
        reasons_above=None,
        max_unseen_features=0,
        input_rows=4,
        input_fingerprint="f" * 64,
        scored_at=SCORED_AT,
        extra=extra or None,
    )


# --------------------------------------------------------------------------- the spec


def test_job_spec_records_the_identity(model):
    spec = _spec(model)
    assert spec == {
        "format": jf.FORMAT,
        "task": "low_quality",
        "model": {"name": "demo", "version": "1", "sha256": model.sha256},
        "model_uri": None,
        "as_of": "2025-09-03T00:00:00+00:00",
        "window_start": "2025-09-02T00:00:00+00:00",
        "active_within": None,  # low_quality: not part of the job
        "top_k": 3,
        "reasons_above": None,
        "max_unseen_features": 0,
        "input_rows": 4,
        "input_fingerprint": "f" * 64,
        "scored_at": "2025-09-03T06:00:00+00:00",
    }
    adv = jf.job_spec(**{**_spec_kwargs(model), "task": "adversarial", "reasons_above": 0.5})
    assert adv["active_within"] == "30D" and adv["reasons_above"] == 0.5
    assert _spec(model, engine="spark", partitions=3)["partitions"] == 3


def _spec_kwargs(model):
    return {
        "task": "low_quality",
        "model": model,
        "as_of": AS_OF,
        "window_start": None,
        "active_within": "30D",
        "top_k": 3,
        "reasons_above": None,
        "max_unseen_features": 0,
        "input_rows": None,
        "input_fingerprint": "f",
        "scored_at": SCORED_AT,
    }


def test_check_out_compares_identities(model, tmp_path):
    out = tmp_path / "out"
    spec = _spec(model)
    assert jf.check_out(out, spec, explicit_scored_at=True, overwrite=False) is None
    out.mkdir()
    assert jf.check_out(out, spec, explicit_scored_at=True, overwrite=False) is None  # empty
    jf.write_json(out / jf.JOB, {**spec, "started_at": "then"})
    # the model URI, scored_at (unless given) and started_at are not the job's identity
    later = {**spec, "model_uri": "elsewhere", "scored_at": "2030-01-01T00:00:00+00:00"}
    assert jf.check_out(out, later, explicit_scored_at=False, overwrite=False)["started_at"]
    with pytest.raises(ScoringError, match=r"scored_at: '2025-09-03T06:00:00\+00:00' vs now"):
        jf.check_out(out, later, explicit_scored_at=True, overwrite=False)
    with pytest.raises(ScoringError, match=r"different arguments \(top_k: 3 vs now 1\); pass"):
        jf.check_out(out, {**spec, "top_k": 1}, explicit_scored_at=False, overwrite=False)
    with pytest.raises(ScoringError, match="input: the tables' rows known before as_of changed"):
        jf.check_out(
            out, {**spec, "input_fingerprint": "g"}, explicit_scored_at=False, overwrite=False
        )
    other = {**spec, "model": {"name": "new", "version": "2", "sha256": "ab" * 32}}
    with pytest.raises(ScoringError, match="model: demo version 1 .* vs now new version 2"):
        jf.check_out(out, other, explicit_scored_at=False, overwrite=False)
    with pytest.raises(ScoringError, match="engine: None vs now 'spark'"):
        jf.check_out(out, {**spec, "engine": "spark"}, explicit_scored_at=False, overwrite=False)
    # overwrite deletes a folder that holds another govml job
    assert jf.check_out(out, {**spec, "top_k": 1}, explicit_scored_at=False, overwrite=True) is None
    assert not out.exists()


def test_check_out_refuses_what_govml_did_not_write(model, tmp_path):
    spec = _spec(model)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ScoringError, match="exists and is not a folder; pass a folder path"):
        jf.check_out(afile, spec, explicit_scored_at=False, overwrite=False)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(ScoringError, match=r"holds no govml scoring job \(_job.json is miss"):
            jf.check_out(stray, spec, explicit_scored_at=False, overwrite=overwrite)
    assert (stray / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- files


def test_json_files_are_atomic_and_checked(tmp_path):
    path = tmp_path / "x.json"
    jf.write_json(path, {"b": 1, "a": [1, 2], "when": AS_OF})
    assert path.read_text() == (
        '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1,\n  "when": "2025-09-03 00:00:00+00:00"\n}\n'
    )
    assert jf.read_json(path)["b"] == 1

    def fail(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        jf.write_atomic(path, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary file left
    assert jf.read_json(path)["b"] == 1  # the old file, whole
    path.write_text("{not json")
    with pytest.raises(ScoringError, match=r"x.json is unreadable .*re-run with overwrite=True"):
        jf.read_json(path)
    path.write_text("[1, 2]")
    with pytest.raises(ScoringError, match="does not hold a JSON object; re-run with --overwrite"):
        jf.read_json(path)
    with pytest.raises(ScoringError, match="missing.json is unreadable"):
        jf.read_json(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("crash", "left"),
    [("tmp_written:1", r"\.x\.json\.\d+\.tmp"), ("renamed:1", r"x\.json")],
)
def test_killed_between_the_writes_of_a_file(tmp_path, crash, left):
    """The test hook kills the process right after the temporary file is written (the
    target does not exist yet) or right after the rename."""
    code = (
        "from pathlib import Path; from govml._jobfiles import write_json; "
        f"write_json(Path({str(tmp_path)!r}) / 'x.json', {{'a': 1}})"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), jf.CRASH_ENV: crash}
    child = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True)
    assert child.returncode == -9, child.stderr
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 1 and re.fullmatch(left, names[0]), names
    assert jf.clean_partial(tmp_path, {}) == (1 if crash.startswith("tmp") else 0)


def test_write_chunk_then_read_it_back(model, tmp_path):
    result = _chunk(model, ["s1", "s2", "s3", "s4"], ["ID", "TH", "ID", None])
    record = jf.write_chunk(tmp_path, 7, result)
    assert record == {
        "chunk": 7,
        "files": [
            "market=ID/date=2025-09-02/part-c00007.parquet",
            "market=TH/date=2025-09-02/part-c00007.parquet",
            "_quarantine/part-c00007.parquet",
        ],
        "rows": {"input": 4, "scored": 3, "quarantined": 1},
        "tiers": {str(k): int(v) for k, v in result.scored["tier"].value_counts().items()},
        "scored_with_unseen_category": 0,
        "quarantine_reasons": {"missing_market": 1},
    }
    assert jf.record_path(tmp_path, 7) == tmp_path / "_chunks" / "c00007.json"
    assert jf.read_records(tmp_path) == {7: record}
    ids = jf.written_ids(tmp_path, jf.chunk_files({7: record}))
    assert sorted(ids) == ["s1", "s2", "s3", "s4"] and ids.dtype == "str"
    part = pd.read_parquet(tmp_path / record["files"][0])
    assert "market" not in part.columns and "date" not in part.columns  # in the folder names
    assert part["entity_id"].tolist() == ["s1", "s3"]
    assert jf.partition_dir("a/b", "x y") == "market=a%2Fb/date=x%20y"


def test_clean_partial_keeps_committed_chunks_only(model, tmp_path):
    record = jf.write_chunk(tmp_path, 0, _chunk(model, ["s1", "s2"], ["ID", None]))
    orphan = jf.write_chunk(tmp_path, 1, _chunk(model, ["s3"], ["VN"]))
    jf.record_path(tmp_path, 1).unlink()  # killed before chunk 1's commit
    (tmp_path / "_quarantine" / ".part-c00002.parquet.9.tmp").write_bytes(b"x")
    (tmp_path / "_job.json").write_text("{}")
    records = jf.read_records(tmp_path)
    assert list(records) == [0]
    assert jf.clean_partial(tmp_path, records) == 2
    assert not (tmp_path / orphan["files"][0]).exists()
    assert not (tmp_path / "market=VN").exists()  # empty folders go too
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted([*record["files"], "_chunks/c00000.json", "_job.json"])


def test_written_ids_of_a_missing_file(tmp_path):
    with pytest.raises(ScoringError, match=r"gone.parquet is listed as written but is missing"):
        jf.written_ids(tmp_path, ["gone.parquet"])
    with pytest.raises(ScoringError, match=r"c00000.json is unreadable"):
        (tmp_path / "_chunks").mkdir()
        jf.record_path(tmp_path, 0).write_text("{")
        jf.read_records(tmp_path)


# --------------------------------------------------------------------------- the lock


def test_lock_of_a_live_dead_or_remote_job(tmp_path):
    lock = jf.take_lock(tmp_path)
    assert lock.read_text() == f"{socket.gethostname()} {os.getpid()}\n"
    with pytest.raises(ScoringError, match=rf"another scoring job \(pid {os.getpid()}\) is writ"):
        jf.take_lock(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    lock.write_text(f"{socket.gethostname()} {dead.stdout.strip()}\n")
    assert jf.take_lock(tmp_path).read_text().endswith(f" {os.getpid()}\n")  # taken over
    lock.write_text(f"{socket.gethostname()} {dead.stdout.strip()}\n")
    with pytest.raises(ScoringError, match=r"another scoring job \(pid \d+\) is writing"):
        jf.take_lock(tmp_path, retry=False)
    lock.write_text("")
    with pytest.raises(ScoringError, match=r"another scoring job \(pid \?\) is writing"):
        jf.take_lock(tmp_path, retry=False)
    lock.write_text("elsewhere 123\n")
    with pytest.raises(ScoringError, match="locked by a scoring job on host 'elsewhere'"):
        jf.take_lock(tmp_path)


# --------------------------------------------------------------------------- a whole job


def test_open_job_fresh_then_resumed(model, tmp_path):
    out = tmp_path / "out"
    spec = _spec(model)
    said = []
    with jf.open_job(out, spec, None, progress=said.append) as job:
        assert (out / jf.LOCK).is_file() and not job.resumed and job.records == {}
        job.records[0] = jf.write_chunk(out, 0, _chunk(model, ["s1", "s2"], ["ID", "ID"]))
        jf.write_chunk(out, 1, _chunk(model, ["s3"], ["ID"]))
    assert not (out / jf.LOCK).exists() and said == []
    stored = jf.read_json(out / jf.JOB)
    assert stored == job.spec and pd.Timestamp(stored["started_at"]).tzinfo is not None
    jf.record_path(out, 1).unlink()  # chunk 1 never committed
    later = {**spec, "scored_at": "2030-01-01T00:00:00+00:00"}
    with jf.open_job(out, later, stored, progress=said.append) as again:
        assert again.resumed and list(again.records) == [0] and again.removed == 1
        # a resumed job keeps its first scored_at and started_at
        assert again.spec == {
            **later,
            "scored_at": spec["scored_at"],
            "started_at": stored["started_at"],
        }
    assert said == [
        "resuming: 1 chunk(s) already written, 1 partial file(s) of an interrupted chunk removed"
    ]
    with pytest.raises(RuntimeError, match="boom"), jf.open_job(out, spec, stored):
        raise RuntimeError("boom")
    assert not (out / jf.LOCK).exists()  # released on error too
    (out / jf.LOCK).write_text("elsewhere 1\n")
    with pytest.raises(ScoringError, match="locked by a scoring job on host"):
        jf.open_job(out, spec, stored).__enter__()
    assert (out / jf.LOCK).read_text() == "elsewhere 1\n"  # another job's lock stays


def test_summary_and_manifest_of_a_finished_job(model, tmp_path):
    from govml.scoring import OUTPUT_SCHEMA, read_manifest, read_scores

    out = tmp_path / "out"
    spec = _spec(model)
    with jf.open_job(out, spec, None) as job:
        job.records[0] = jf.write_chunk(out, 0, _chunk(model, ["s1", "s2"], ["ID", None]))
        job.records[1] = jf.write_chunk(out, 1, _chunk(model, ["s3", "s4"], ["TH", "TH"]))
        jf.check_accounting(out, pd.Index(["s1", "s2", "s3", "s4"]), job.records)
        assert not jf.is_finished(out, spec)
        summary = jf.summarize(out, job.spec, job.records, status="completed", reused=0)
        jf.write_success(out, job.spec, summary, job.records, output_columns=OUTPUT_SCHEMA.names)
    assert jf.is_finished(out, spec) and not jf.is_finished(out, None)
    assert (summary.n_input, summary.n_scored, summary.n_quarantined) == (4, 3, 1)
    assert dict(summary.quarantine_reasons) == {"missing_market": 1} and summary.n_chunks == 2
    assert list(summary.tiers.values()) == sorted(summary.tiers.values(), reverse=True)
    manifest = jf.read_success(out)
    assert set(manifest) == set(job.spec) | {
        "rows",
        "tiers",
        "scored_with_unseen_category",
        "quarantine_reasons",
        "chunks",
        "finished_at",
        "output_schema",
        "partitioning",
    }
    assert manifest["chunks"] == [job.records[0], job.records[1]]
    assert manifest["output_schema"] == OUTPUT_SCHEMA.names
    assert manifest["partitioning"] == ["market", "date"]
    assert read_manifest(out) == summary  # the public readers read this protocol
    assert sorted(read_scores(out)["entity_id"]) == ["s1", "s3", "s4"]
    assert str(summary).endswith(f"manifest: {out / '_SUCCESS'})")


def test_read_success_of_an_unfinished_job(tmp_path):
    with pytest.raises(ScoringError, match=r"holds no finished scoring job \(_SUCCESS is miss"):
        jf.read_success(tmp_path)


def test_check_accounting_finds_every_kind_of_problem(model, tmp_path):
    records = {0: jf.write_chunk(tmp_path, 0, _chunk(model, ["s1", "s2"], ["ID", "ID"]))}
    records[1] = jf.write_chunk(tmp_path, 1, _chunk(model, ["s2", "s9"], ["ID", "ID"]))
    with pytest.raises(
        ScoringError,
        match=r"row accounting failed in .*: 3 input rows, 4 written; the chunk records say 4; "
        r"1 written more than once \('s2'\); 1 missing \('s3'\); 1 not in the input \('s9'\)\. "
        r"The output is not trustworthy",
    ):
        jf.check_accounting(tmp_path, pd.Index(["s1", "s2", "s3"]), records)
    jf.check_accounting(tmp_path, pd.Index(["s1", "s2"]), {0: records[0]})
    assert jf.sample(["a", "b", "c", "d"]) == "'a', 'b', 'c', ... (4 in all)"
    assert jf.sample(["a", "b"], k=1) == "'a', ... (2 in all)"


# --------------------------------------------------------------------------- the API


def test_score_summary_keeps_its_public_name():
    import govml.scoring

    assert govml.scoring.ScoreSummary is jf.ScoreSummary
    assert jf.ScoreSummary.__module__ == "govml.scoring"
    summary = jf.ScoreSummary(
        out=Path("o"),
        status="completed",
        task="low_quality",
        model_name="m",
        model_version="1",
        model_uri=None,
        as_of=AS_OF,
        window_start=None,
        scored_at=SCORED_AT,
        n_input=0,
        n_scored=0,
        n_quarantined=0,
    )
    assert pickle.loads(pickle.dumps(summary)) == summary


def test_the_spark_engine_uses_no_private_scoring_or_session_helper():
    """spark.py reaches the job files and the session build through their documented
    internal API only (a private helper changed in scoring.py must not silently change
    the Spark job's files)."""
    source = (Path(__file__).resolve().parents[1] / "govml" / "spark.py").read_text()
    private = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in (
            "govml.scoring",
            "govml.features.session",
            "govml._jobfiles",
        ):
            private += [a.name for a in node.names if a.name.startswith("_")]
        if isinstance(node, ast.ImportFrom) and node.module == "govml":
            assert "scoring" not in {a.name for a in node.names}
    assert private == []
    assert json.dumps(jf.__all__)  # the API is listed
