"""govml.spark: features and scores on Spark (local[2]) equal the pandas engine's bit for bit.

Parity is exact (``==`` on every float, NaN where NaN): each creator partition gets
exactly the rows the pandas engine uses for its creators, in table order, and runs the
same pandas code. One module-scoped SparkSession (small memory, no UI, 2 shuffle
partitions) keeps the file fast; the Spark tests skip only when Java is missing (CI
installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import govml
from govml._exceptions import (
    ColumnMismatchError,
    ConfigError,
    ContractError,
    DataLoadError,
    FeatureError,
    GovmlError,
    ScoringError,
)
from govml.cli import main
from govml.features import build_features as pandas_features
from govml.scoring import read_manifest, read_scores, score_batch, score_frame

SCORED_AT = "2025-12-01T00:00:00Z"
AS_OF = "2025-11-20"


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").is_file()))


@pytest.fixture(scope="module")
def spark():
    if not _java():
        pytest.skip(
            "Java 17 is not installed (apt-get install openjdk-17-jre-headless); "
            ".ci/run installs it, so CI runs these tests"
        )
    from govml.spark import spark_session

    session = spark_session(
        master="local[2]",
        driver_memory="1g",
        shuffle_partitions=2,
        config={"spark.default.parallelism": "2"},
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def world_dir(small_world, tmp_path_factory):
    """The shared small world's six tables as parquet (what both engines read)."""
    folder = tmp_path_factory.mktemp("spark_world")
    govml.save_tables(govml.validate_tables(small_world.tables), folder)
    return folder


@pytest.fixture(scope="module")
def pandas_tables(world_dir):
    return govml.load_tables(world_dir)


@pytest.fixture(scope="module")
def spark_tables(spark, world_dir):
    from govml.spark import read_tables

    return read_tables(spark, world_dir)


def _spark_frame(spark, frame: pd.DataFrame):
    """A pandas frame as a Spark DataFrame (categoricals as strings)."""
    plain = frame.assign(
        **{
            c: frame[c].astype(object).where(frame[c].notna(), None)
            for c in frame.columns
            if isinstance(frame[c].dtype, pd.CategoricalDtype)
        }
    )
    return spark.createDataFrame(plain)


def _spark_tables_of(spark, tables) -> dict:
    return {name: _spark_frame(spark, frame) for name, frame in tables.items()}


def _assert_identical(got: pd.DataFrame, expected: pd.DataFrame, key: list[str]) -> None:
    """Same columns in the same order and the same rows; floats compared with ==."""
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    got = got.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    for c in expected.columns:
        e, g = expected[c], got[c]
        if pd.api.types.is_float_dtype(e.dtype):
            assert g.dtype == np.float64, c
            np.testing.assert_array_equal(g.to_numpy(), e.to_numpy(), err_msg=c)  # NaN == NaN
        elif isinstance(e.dtype, pd.DatetimeTZDtype):
            g = g if isinstance(g.dtype, pd.DatetimeTZDtype) else g.dt.tz_localize("UTC")
            assert (g.dt.tz_convert("UTC").dt.as_unit("us") == e.dt.as_unit("us")).all(), c
        else:
            assert g.astype(str).tolist() == e.astype(str).tolist(), c


# ----------------------------------------------------------------------------- parity


@pytest.mark.spark
def test_session_features_equal_the_pandas_engine_bit_for_bit(spark_tables, pandas_tables):
    from govml.spark import _quiet, build_features

    kwargs = {"since": "2025-11-01", "as_of": AS_OF}
    with _quiet():
        got = build_features(spark_tables, "low_quality", **kwargs).toPandas()
    expected = pandas_features(pandas_tables, "low_quality", **kwargs).frame
    assert len(expected) > 1000
    # the market context is not trivially missing: most sessions have a z-score
    assert expected["mkt_z_viewers_log"].notna().mean() > 0.9
    _assert_identical(got, expected, ["session_id"])


@pytest.mark.spark
def test_cli_features_engine_spark_equals_pandas(world_dir, pandas_tables, tmp_path, capsys):
    out = tmp_path / "adv"
    argv = ["features", "--engine", "spark", "--tables", str(world_dir), "--task"]
    argv += ["adversarial", "--since", "2025-11-01", "--as-of", AS_OF, "--freq", "7D"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "adversarial:" in printed and "folder of parquet parts" in printed
    assert (out / "_SUCCESS").is_file()
    got = pd.read_parquet(out)
    expected = pandas_features(
        pandas_tables, "adversarial", since="2025-11-01", as_of=AS_OF, freq="7D"
    ).frame
    assert expected["snapshot_at"].nunique() == 3
    _assert_identical(got[list(expected.columns)], expected, ["creator_id", "snapshot_at"])
    # an existing output is refused in one line, before Spark does any work
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists; pass --overwrite" in err[0]


@pytest.mark.spark
def test_score_job_equals_pandas_reruns_and_resumes(
    spark_tables, world_dir, pandas_tables, small_models, tmp_path, capsys
):
    from govml.spark import score_batch as spark_score_batch

    model, path = small_models["low_quality"]
    window = {"as_of": AS_OF, "since": "2025-11-13", "scored_at": SCORED_AT}
    score_batch(model, pandas_tables, out=tmp_path / "pandas", **window)
    out = tmp_path / "spark"
    argv = ["score", "--engine", "spark", "--task", "low_quality", "--model", str(path)]
    argv += ["--tables", str(world_dir), "--as-of", AS_OF, "--since", "2025-11-13"]
    argv += ["--scored-at", SCORED_AT, "--out", str(out)]
    assert main(argv) == 0
    assert "scored" in capsys.readouterr().out

    expected = read_scores(tmp_path / "pandas")
    expected_q = read_scores(tmp_path / "pandas", quarantine=True)
    key = ["entity_id"]

    def check() -> None:
        got = read_scores(out)
        assert len(got) == len(expected) > 500
        pd.testing.assert_frame_equal(
            got.sort_values(key).reset_index(drop=True),
            expected.sort_values(key).reset_index(drop=True),
            check_exact=True,
        )
        pd.testing.assert_frame_equal(
            read_scores(out, quarantine=True).sort_values(key).reset_index(drop=True),
            expected_q.sort_values(key).reset_index(drop=True),
            check_exact=True,
        )

    check()
    manifest = json.loads((out / "_SUCCESS").read_text())
    assert manifest["engine"] == "spark" and manifest["rows"]["input"] == len(expected)
    assert read_manifest(out).n_input == read_manifest(tmp_path / "pandas").n_input

    # a finished job is not run again
    assert main(argv) == 0
    assert "nothing to do" in capsys.readouterr().out

    # kill -9 after some chunks committed: drop _SUCCESS and the last chunk's record and files
    chunks = sorted((out / "_chunks").glob("c*.json"))
    assert len(chunks) >= 2
    record = json.loads(chunks[-1].read_text())
    for rel in record["files"]:
        (out / rel).unlink()
    chunks[-1].unlink()
    (out / "_SUCCESS").unlink()
    summary = spark_score_batch(str(path), spark_tables, out=out, task="low_quality", **window)
    assert summary.status == "resumed"
    assert summary.n_chunks_reused == len(chunks) - 1 and summary.n_chunks == len(chunks)
    check()


@pytest.mark.spark
def test_score_tables_api_equals_pandas_job(spark_tables, pandas_tables, small_models, tmp_path):
    from govml.spark import _quiet, score

    model, _ = small_models["adversarial"]
    reference = score_batch(
        model, pandas_tables, as_of=AS_OF, out=tmp_path / "p", scored_at=SCORED_AT
    )
    scores = score(spark_tables, model, as_of=AS_OF, scored_at=SCORED_AT)
    with _quiet():  # (the quarantined frame is checked on a feature frame below)
        got = scores.scored.toPandas()
    expected = read_scores(tmp_path / "p")
    assert len(got) == reference.n_scored > 300
    got = got.sort_values("entity_id").reset_index(drop=True)
    expected = expected.sort_values("entity_id").reset_index(drop=True)
    assert got["entity_id"].tolist() == expected["entity_id"].tolist()
    np.testing.assert_array_equal(got["score"].to_numpy(), expected["score"].to_numpy())
    np.testing.assert_array_equal(got["raw_score"].to_numpy(), expected["raw_score"].to_numpy())
    assert got["tier"].tolist() == expected["tier"].tolist()
    assert [list(map(dict, r)) for r in got["reasons"]] == [list(r) for r in expected["reasons"]]
    assert (got["prediction_time"].dt.tz_localize("UTC") == expected["prediction_time"]).all()


@pytest.fixture(scope="module")
def lq_frame(pandas_tables):
    """A small low-quality feature frame (pandas), with a duplicated key and an unseen market."""
    fs = pandas_features(pandas_tables, "low_quality", since="2025-11-19", as_of=AS_OF)
    return fs.frame.head(200)


@pytest.mark.spark
def test_score_feature_frame_quarantines_as_pandas(spark, lq_frame, small_models):
    from govml.spark import _quiet, score

    model, _ = small_models["low_quality"]
    frame = pd.concat([lq_frame, lq_frame.head(1)], ignore_index=True)
    frame["market"] = frame["market"].astype(str)
    frame.loc[5, "market"] = "KR"
    expected = score_frame(model, frame, scored_at=SCORED_AT, num_threads=1)
    scores = score(_spark_frame(spark, frame), model, scored_at=SCORED_AT)
    with _quiet():
        got = scores.scored.toPandas().sort_values("entity_id").reset_index(drop=True)
        quarantined = scores.quarantined.toPandas()
    exp = expected.scored.sort_values("entity_id").reset_index(drop=True)
    np.testing.assert_array_equal(got["score"].to_numpy(), exp["score"].to_numpy())
    assert sorted(quarantined["reason_code"]) == sorted(expected.quarantined["reason_code"])
    assert sorted(quarantined["reason_code"]) == [
        "duplicate_key",
        "duplicate_key",
        "unseen_category",
    ]


@pytest.mark.spark
def test_mlflow_spark_udf_keeps_categoricals_and_returns_probabilities(
    spark, lq_frame, small_models, tmp_path
):
    import mlflow.pyfunc
    from pyspark.sql import functions as F

    from govml._pyfunc import save_pyfunc
    from govml.spark import _quiet

    model, _ = small_models["low_quality"]
    path = save_pyfunc(model, tmp_path / "pyfunc")
    with _quiet():
        udf = mlflow.pyfunc.spark_udf(spark, str(path), result_type="double", env_manager="local")
        frame = _spark_frame(spark, lq_frame)
        cols = [F.col(c) for c in model.feature_names]
        got = frame.select("session_id", udf(*cols).alias("p")).toPandas()
    assert dict(frame.dtypes)["market"] == "string"  # categoricals travel as text
    expected = model.predict_proba(lq_frame)
    got = got.set_index("session_id").loc[lq_frame["session_id"], "p"].to_numpy()
    np.testing.assert_array_equal(got, expected)


# ----------------------------------------------------------------------------- errors


@pytest.mark.spark
def test_worker_contract_error_is_raised_as_itself(spark, tiny_tables, tmp_path):
    from govml.spark import write_features

    sessions = tiny_tables.sessions.assign(viewers=[320, -1, 80, 410, 45, 0])
    tables = _spark_tables_of(spark, replace(tiny_tables, sessions=sessions))
    with pytest.raises(ContractError, match=r"(?s)sessions\.viewers.*one partition of creators"):
        write_features(tables, "low_quality", tmp_path / "f")
    assert not (tmp_path / "f").exists()


@pytest.mark.spark
def test_feature_errors_on_tiny_tables(spark, tiny_tables):
    from govml.spark import build_features

    tables = _spark_tables_of(spark, tiny_tables)
    with pytest.raises(FeatureError, match="no creator was active within 12h"):
        build_features(tables, "adversarial", as_of="2024-02-05", active_within="12h")
    with pytest.raises(FeatureError, match="no session ended in"):
        build_features(tables, "low_quality", since="2024-02-02", as_of="2024-02-02")
    with pytest.raises(FeatureError, match="since=.* is after as_of"):
        build_features(tables, "low_quality", since="2024-02-03", as_of="2024-02-02")
    with pytest.raises(FeatureError, match="is outside the data"):
        build_features(tables, "low_quality", as_of="2030-01-01")
    empty = {**tables, "sessions": tables["sessions"].limit(0)}
    with pytest.raises(FeatureError, match="the sessions table is empty"):
        build_features(empty, "low_quality")


@pytest.mark.spark
def test_scoring_errors_on_tiny_tables(spark, tiny_tables, small_models, tmp_path):
    from govml.spark import score
    from govml.spark import score_batch as spark_score_batch

    lq, _ = small_models["low_quality"]
    adv, _ = small_models["adversarial"]
    tables = _spark_tables_of(spark, tiny_tables)
    cases = [
        (lq, {"as_of": "2024-02-02", "since": "2024-02-02"}, "since=.* is not before as_of"),
        (lq, {"as_of": "2024-03-01"}, r"no session ended in \[2024-02-29"),
        (adv, {"as_of": "2024-02-05", "since": "2024-02-01"}, "since applies to the low_quality"),
        (adv, {"as_of": "2024-02-05T06:00"}, "is not midnight UTC"),
        (adv, {"as_of": "2024-02-05", "active_within": "soon"}, "not a duration"),
        (adv, {"as_of": "2024-04-05"}, "no creator was active within 30D"),
        (lq, {}, "as_of is required to score tables"),
    ]
    for model, kwargs, match in cases:
        with pytest.raises(ScoringError, match=match):
            score(tables, model, **kwargs)
    features = _spark_frame(spark, pd.DataFrame({"session_id": ["s1"], "x": [1.0]}))
    with pytest.raises(ScoringError, match="a feature DataFrame is scored row by row"):
        score(features, lq, as_of="2024-02-02")
    with pytest.raises(ColumnMismatchError, match=r"lacks column\(s\) \['ended_at'\]"):
        score(features, lq)
    with pytest.raises(ScoringError, match="is a URI"):
        spark_score_batch(lq, tables, as_of="2024-02-03", out="s3a://bucket/scores")
    with pytest.raises(ScoringError, match="--task is 'adversarial' but model"):
        spark_score_batch(lq, tables, as_of="2024-02-03", out=tmp_path / "o", task="adversarial")


@pytest.mark.spark
def test_row_accounting_failure_is_reported(spark, tmp_path):
    from govml.spark import _verify_job

    records = {0: {"files": [], "rows": {"input": 2}}}
    with pytest.raises(ScoringError, match="row accounting failed.*chunk records say 2"):
        _verify_job(spark, tmp_path, records, None)


@pytest.mark.spark
def test_table_schema_problems_are_listed(spark, tiny_tables):
    from govml.spark import build_features

    tables = _spark_tables_of(spark, tiny_tables)
    sessions = tiny_tables.sessions.drop(columns=["viewers"]).assign(
        likes=tiny_tables.sessions["likes"].astype(float),
        ended_at=tiny_tables.sessions["ended_at"].astype(str),
    )
    bad = {**tables, "sessions": _spark_frame(spark, sessions)}
    with pytest.raises(ContractError, match="3 problem") as info:
        build_features(bad, "low_quality")
    message = str(info.value)
    assert "sessions.viewers is missing" in message
    assert "sessions.likes is double but the contract kind is int" in message
    assert "sessions.ended_at is string but the contract kind is timestamp" in message


@pytest.mark.spark
def test_read_tables_errors(spark, tmp_path):
    from govml.spark import read_tables

    with pytest.raises(DataLoadError, match="no folder at"):
        read_tables(spark, tmp_path / "nowhere")
    csv = tmp_path / "csv"
    csv.mkdir()
    (csv / "creators.csv").write_text("creator_id\nc1\n")
    with pytest.raises(DataLoadError, match="is CSV; the Spark engine reads parquet only"):
        read_tables(spark, csv)
    with pytest.raises(DataLoadError, match="is CSV; the Spark engine reads parquet only"):
        read_tables(spark, csv, mapping={"files": {"creators": "creators.csv"}})
    with pytest.raises(DataLoadError, match="the mapping names 'nope.parquet'"):
        read_tables(spark, csv, mapping={"files": {"creators": "nope.parquet"}})
    both = tmp_path / "both"
    (both / "creators").mkdir(parents=True)
    (both / "creators.parquet").write_bytes(b"")
    with pytest.raises(DataLoadError, match=r"both creators.parquet and creators/"):
        read_tables(spark, both)
    with pytest.raises(DataLoadError, match=r"no creators.parquet or creators/"):
        read_tables(spark, tmp_path)
    with pytest.raises(DataLoadError, match="cannot read table creators from s3a://"):
        read_tables(spark, "s3a://no-such-bucket/world")


def test_tables_must_be_all_six_spark_frames():
    pytest.importorskip("pyspark")
    from govml.spark import build_features

    with pytest.raises(ContractError, match="expected govml.spark.SparkTables or a mapping"):
        build_features([1, 2], "low_quality")
    with pytest.raises(ContractError, match=r"missing tables \[.*'sessions'.*not Spark"):
        build_features({"creators": pd.DataFrame(), "extra": 1}, "low_quality")


def test_option_errors_before_spark_runs():
    # the task and window rules are the pandas engine's own (govml.features.build)
    from govml.features.build import check_task, resolve_window
    from govml.spark import _positive_int, _write_parquet

    with pytest.raises(FeatureError, match="unknown task 'fraud'"):
        check_task("fraud")
    with pytest.raises(FeatureError, match="partitions=0 must be a positive integer"):
        _positive_int(0, "partitions")
    first, last = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-02-01", tz="UTC")
    with pytest.raises(FeatureError, match="as_of='soon' is not a timestamp"):
        resolve_window("low_quality", first, last, as_of="soon", since=None, active_within="30D")
    with pytest.raises(DataLoadError, match="already exists; pass --overwrite"):
        _write_parquet(None, str(Path.cwd()), overwrite=False)


def test_write_features_refuses_an_existing_output(tmp_path):
    from govml.spark import write_features

    with pytest.raises(DataLoadError, match="already exists; pass --overwrite"):
        write_features({}, "low_quality", tmp_path)


def test_worker_errors_travel_back_as_govml_errors():
    from govml.spark import _guarded, _reraise

    def fail():
        yield pd.DataFrame()
        raise FeatureError("bad window\non two lines")

    with pytest.raises(RuntimeError, match=r"\[govml FeatureError\] bad window") as info:
        list(_guarded(fail)())
    wrapped = RuntimeError(f"py4j says: Traceback ... {info.value} ... at org.apache")
    with pytest.raises(FeatureError, match="^bad window\non two lines$"):
        _reraise(wrapped)
    with pytest.raises(GovmlError, match="^odd$"):
        _reraise(RuntimeError("[govml NoSuchError] odd [/govml]"))
    assert _reraise(RuntimeError("a Java error")) is None


def test_missing_pyspark_or_java_is_a_fix_it_message(monkeypatch):
    from govml.spark import _require_java, _require_pyspark

    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ConfigError, match=r"needs pyspark.*pip install 'govml\[spark\]'"):
        _require_pyspark()
    monkeypatch.setenv("JAVA_HOME", "/no/such/jdk")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ConfigError, match="needs Java 17, but JAVA_HOME=/no/such/jdk has no"):
        _require_java()


def test_cli_engine_spark_without_java_exits_2_with_one_line(monkeypatch, tmp_path, capsys):
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: None))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "")
    argv = ["features", "--engine", "spark", "--tables", str(tmp_path), "--task", "adversarial"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs Java 17" in err[0] and "openjdk-17" in err[0]
    assert main([*argv, "--out", str(tmp_path / "o"), "--assume-timezone", "UTC"]) == 2
    assert "does not apply to --engine spark" in capsys.readouterr().err


def test_import_is_light_and_the_layout_matches_the_feature_code():
    import subprocess

    code = "import govml.spark, sys; print('pyspark' in sys.modules, 'lightgbm' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert out.stdout.split() == ["False", "False"]
    from govml.features.session import MARKET_RELATIVE
    from govml.spark import _N_Z, _layout

    assert len(MARKET_RELATIVE) == _N_Z
    # every contract column has a typed slot, and no two columns of a table share one
    for name, spec in govml.CONTRACT.items():
        slots = [slot for _, _, slot in _layout()[name]]
        assert len(slots) == len(set(slots)) == len(spec.columns)
