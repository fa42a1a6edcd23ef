"""Tests of govml.tracking: embedded store, runs, registry, promotion, a real server.

MLflow creates and migrates a new SQLite store in seconds, so one migrated store is
built per module and copied (with SQLite's backup API) into each test's folder; one
test creates a store from nothing to check the embedded default. The tracking server
is started once per module on a free loopback port and always terminated.
"""

from __future__ import annotations

import doctest
import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import govml.tracking as tracking
from govml._exceptions import ConfigError, ModelFormatError, TrackingError
from govml.model import GovmlModel, fingerprint
from govml.training.lgbm import fit_lightgbm
from govml.training.metrics import evaluate, evaluate_reviewed

mlflow = pytest.importorskip("mlflow")

REPO = Path(__file__).resolve().parents[1]
PERIOD = ("2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z")
ENV_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "GOVML_ARTIFACT_LOCATION")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _no_telemetry():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        yield


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    """An empty, migrated MLflow SQLite store (built once, copied per test)."""
    folder = tmp_path_factory.mktemp("template")
    tracking.configure(tracking_uri=f"sqlite:///{folder / 'mlruns.db'}", cwd=folder)
    return folder / "mlruns.db"


def _copy_db(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)


@pytest.fixture
def store(tmp_path, monkeypatch, template_db) -> tracking.TrackingConfig:
    """The embedded default store in a fresh working directory."""
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    _copy_db(template_db, project / "mlruns.db")
    return tracking.configure()


def _client(config: tracking.TrackingConfig):
    return mlflow.MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)


def _frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"x": rng.normal(size=n), "z": rng.normal(size=n), "market": rng.choice(["ID", "TH"], n)}
    )
    logit = 2 * df["x"] - df["z"] + np.where(df["market"] == "ID", 0.5, -0.5)
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def _model(leaves: int, *, task: str = "low_quality", seed: int = 0) -> GovmlModel:
    df = _frame(seed=seed)
    fit = fit_lightgbm(
        df[:400],
        df[400:],
        features=["x", "z", "market"],
        label="y",
        categorical=["market"],
        num_threads=1,
        params={"min_data_in_leaf": 20, "num_leaves": leaves},
    )
    return GovmlModel.from_fit(
        fit,
        task=task,
        name=f"demo-{leaves}",
        thresholds={"review": 0.5},
        fingerprint=fingerprint(df[:400], label_col="y"),
    )


@pytest.fixture(scope="module")
def models() -> tuple[GovmlModel, GovmlModel]:
    """Two low-quality models that predict differently."""
    return _model(3), _model(15, seed=1)


@pytest.fixture(scope="module")
def scoring() -> pd.DataFrame:
    return _frame(200, seed=7)[["market", "z", "x"]]  # column order differs from training


def _promote(config, name, version, candidate, champion=None, **kwargs):
    return tracking.promote(
        name,
        version,
        candidate_metric=candidate,
        champion_metric=champion,
        metric_name="test.random_audit.pr_auc",
        test_period=PERIOD,
        tracking=config,
        **kwargs,
    )


# --------------------------------------------------------------------------- resolution


def test_tracking_uri_follows_cwd_and_env(tmp_path, monkeypatch):
    assert tracking.tracking_uri(cwd=tmp_path) == f"sqlite:///{(tmp_path / 'mlruns.db').as_posix()}"
    config = tracking.configure(cwd=tmp_path, check=False)
    assert config.embedded and not config.is_server
    assert config.artifact_location == (tmp_path / "mlartifacts").resolve().as_posix()

    monkeypatch.setenv("GOVML_ARTIFACT_LOCATION", "runs/artifacts")  # relative: to cwd
    config = tracking.configure(cwd=tmp_path, check=False)
    assert config.artifact_location == (tmp_path / "runs" / "artifacts").resolve().as_posix()

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert tracking.tracking_uri(cwd=tmp_path) == "http://127.0.0.1:5999"
    config = tracking.configure(cwd=tmp_path, check=False)
    assert config.is_server and not config.embedded and config.artifact_location is None
    assert not list(tmp_path.iterdir())  # nothing was created


def test_importing_tracking_does_not_import_mlflow():
    code = "import sys, govml, govml.tracking; print('mlflow' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_embedded_default_creates_store_in_cwd_only(tmp_path, monkeypatch, capfd):
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(home))
    capfd.readouterr()
    with tracking.start_run(experiment="embedded", run_name="first") as run:
        run.log_metrics({"pr_auc": 0.5}, prefix="test")
        run.log_dict({"a": 1}, "config/settings")
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # no migration chatter, no links, no progress bars
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "project"]
    assert not list(home.iterdir())
    assert sorted(p.name for p in project.iterdir()) == ["mlartifacts", "mlruns.db"]
    assert "MLFLOW_TRACKING_URI" not in os.environ  # MLflow's global state untouched

    config = tracking.configure()
    client = _client(config)
    experiment = client.get_experiment_by_name("embedded")
    assert experiment.artifact_location == (project / "mlartifacts" / "embedded").as_posix()
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FINISHED" and stored.info.run_name == "first"
    assert stored.data.metrics == {"test.pr_auc": 0.5}
    files = project / "mlartifacts" / "embedded" / run.run_id / "artifacts"
    assert json.loads((files / "config" / "settings.json").read_text()) == {"a": 1}
    assert run.url is None and not run.active


def test_configure_rejects_missing_sqlite_folder(tmp_path):
    uri = f"sqlite:///{tmp_path / 'nowhere' / 'mlruns.db'}"
    with pytest.raises(TrackingError, match=r"nowhere, which does not exist; create the folder"):
        tracking.configure(tracking_uri=uri)


def test_configure_reports_a_file_that_is_not_a_store(tmp_path):
    (tmp_path / "mlruns.db").write_text("not a database " * 20)
    with pytest.raises(TrackingError, match=r"opening the store failed .*not an MLflow SQLite"):
        tracking.configure(cwd=tmp_path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_names_uri_and_fixes(monkeypatch, tmp_path):
    uri = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(TrackingError, match=r"unreachable") as info:
        tracking.configure(cwd=tmp_path)
    message = str(info.value)
    assert uri in message and "(from MLFLOW_TRACKING_URI)" in message
    assert "unset MLFLOW_TRACKING_URI" in message
    assert "mlflow server --host 127.0.0.1" in message
    with pytest.raises(TrackingError, match=r"unreachable"), tracking.start_run(experiment="x"):
        pass  # pragma: no cover


def test_server_lost_during_use_is_a_tracking_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    config = tracking.configure(tracking_uri=f"http://127.0.0.1:{_free_port()}", check=False)
    with (
        pytest.raises(TrackingError, match=r"starting a run .* failed .*unset MLFLOW_TRACKING_URI"),
        tracking.start_run(experiment="x", tracking=config),
    ):
        pass  # pragma: no cover


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("test.random_audit.pr_auc", "test.random_audit.pr_auc"),
        ("test.market.ID.precision@k", "test.market.ID.precision_k"),
        ("recall@P0.8 (ci:low)", "recall_P0.8 _ci_low_"),
        ("/a//b/./c/../d/", "a/b/_/c/_/d"),
        ("สด.pr_auc", "สด.pr_auc"),
        (42, "42"),
    ],
)
def test_sanitize_key(raw, expected):
    assert tracking.sanitize_key(raw) == expected
    from mlflow.utils.validation import _validate_metric_name

    _validate_metric_name(expected)  # MLflow accepts it


def test_sanitize_key_errors():
    with pytest.raises(TrackingError, match=r"empty once the characters MLflow rejects"):
        tracking.sanitize_key("//")
    with pytest.raises(TrackingError, match=r"has 251 characters; MLflow allows at most 250"):
        tracking.sanitize_key("a" * 251)


# --------------------------------------------------------------------------- runs


def test_params_metrics_tags_and_artifacts_read_back(store, tmp_path):
    frame = pd.DataFrame(
        {
            "feature": ["gmv_7d", "reports_30d"],
            "window": ["7D", "30D"],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
        }
    )
    yaml_file = tmp_path / "experiment.yaml"
    yaml_file.write_text("task: low_quality\nseed: 3\n")
    from matplotlib.figure import Figure

    figure = Figure()
    figure.add_subplot().plot([0, 1], [0, 1])
    with tracking.start_run(experiment="exp", run_name="r", tags={"stage": "test"}) as run:
        params = run.log_params(
            {"lgbm": {"num_leaves": 7, "learning_rate": 0.05}, "features": ("x", "z"), "note": None}
        )
        run.log_params({"lgbm.num_leaves": 7})  # the same value again is fine
        logged = run.log_metrics(
            {"pr_auc": np.float64(0.41), "n": np.int64(12), "flag": True, "auc": math.nan},
            prefix="test.random_audit",
        )
        run.log_metrics({"market": {"ID": {"pr_auc": 0.3}}}, prefix="test", step=2)
        catalogue = run.log_frame(frame, "tables/catalogue")
        as_csv = run.log_frame(frame, "tables/catalogue.csv")
        figure_path = run.log_figure(figure, "calibration")
        yaml_path = run.log_file(yaml_file, artifact_dir="config")
        dict_path = run.log_dict(
            {"when": pd.Timestamp("2024-01-01", tz="UTC"), "x": np.float32(0.5), "bad": math.nan},
            "config/resolved",
        )
        yaml_dict = run.log_dict({"b": [1, 2]}, "config/resolved.yaml")
        run.set_tags({"govml.data.train.sha256": "abc"})
    assert dict(params) == {
        "lgbm.num_leaves": "7",
        "lgbm.learning_rate": "0.05",
        "features": '["x", "z"]',
        "note": "None",
    }
    assert logged.skipped == ("test.random_audit.auc",)
    assert dict(logged.values) == {
        "test.random_audit.pr_auc": 0.41,
        "test.random_audit.n": 12.0,
        "test.random_audit.flag": 1.0,
    }
    client = _client(store)
    stored = client.get_run(run.run_id)
    assert stored.data.params == dict(params)
    assert stored.data.metrics == {**logged.values, "test.market.ID.pr_auc": 0.3}
    assert client.get_metric_history(run.run_id, "test.market.ID.pr_auc")[0].step == 2
    tags = stored.data.tags
    assert tags["stage"] == "test" and tags["govml.data.train.sha256"] == "abc"
    assert tags["govml.version"] and tags["govml.git_commit"]
    assert (catalogue, as_csv) == ("tables/catalogue.parquet", "tables/catalogue.csv")
    assert (figure_path, yaml_path) == ("figures/calibration.png", "config/experiment.yaml")
    assert (dict_path, yaml_dict) == ("config/resolved.json", "config/resolved.yaml")

    folder = Path(client.download_artifacts(run.run_id, "", str(tmp_path / "dl")))
    pd.testing.assert_frame_equal(pd.read_parquet(folder / catalogue), frame)
    assert pd.read_csv(folder / as_csv)["feature"].tolist() == ["gmv_7d", "reports_30d"]
    assert (folder / figure_path).read_bytes()[:4] == b"\x89PNG"
    assert (folder / yaml_path).read_text() == yaml_file.read_text()
    assert json.loads((folder / dict_path).read_text()) == {
        "bad": None,
        "when": "2024-01-01T00:00:00+00:00",
        "x": 0.5,
    }
    assert (folder / yaml_dict).read_text() == "b:\n- 1\n- 2\n"


def test_log_fingerprint_tags_the_run(store, models):
    fp = models[0].metadata.fingerprint
    with tracking.start_run(experiment="fp") as run:
        run.log_fingerprint(fp)
    tags = _client(store).get_run(run.run_id).data.tags
    assert tags["govml.data.train.sha256"] == fp.sha256
    assert tags["govml.data.train.n_rows"] == "400"
    assert tags["govml.data.train.time_min"] == "None"  # no time column given


def _scored(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    y = (rng.random(n) < 0.3).astype(int)
    return pd.DataFrame(
        {
            "score": np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1),
            "label": y,
            "t": pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(np.arange(n) % 8, "D"),
            "market": np.where(np.arange(n) % 3 == 0, "TH", "ID"),
            "sample_reason": np.where(np.arange(n) % 2 == 0, "random_audit", "viewer_report"),
        }
    )


def test_log_evaluation_logs_every_metric_and_bound(store, tmp_path):
    frame = _scored()
    ev = evaluate(
        frame,
        score_col="score",
        label_col="label",
        time_col="t",
        market_col="market",
        capacity=5,
        n_bootstrap=20,
    )
    with tracking.start_run(experiment="eval") as run:
        logged = run.log_evaluation(ev, prefix="test")
    metrics = _client(store).get_run(run.run_id).data.metrics
    assert metrics == dict(logged.values)
    assert metrics["test.pr_auc"] == pytest.approx(ev.overall.pr_auc.value)
    assert metrics["test.pr_auc.ci_low"] == pytest.approx(ev.overall.pr_auc.ci_low)
    assert metrics["test.roc_auc.ci_high"] == pytest.approx(ev.overall.roc_auc.ci_high)
    assert metrics["test.market.ID.pr_auc"] == pytest.approx(ev.by_market["ID"].pr_auc.value)
    assert metrics["test.market.TH.n_rows"] == ev.by_market["TH"].n_rows
    tidy = ev.to_frame()
    n_defined = int(np.isfinite(tidy[["value", "ci_low", "ci_high"]].to_numpy()).sum())
    assert len(logged) == n_defined + 2 * len(ev.segments)  # + n_rows, n_positive
    assert len(logged.skipped) == 3 * len(tidy) - n_defined

    folder = Path(_client(store).download_artifacts(run.run_id, "evaluation", str(tmp_path)))
    pd.testing.assert_frame_equal(pd.read_csv(folder / "test.csv"), tidy, check_dtype=False)
    document = json.loads((folder / "test.json").read_text())
    assert document["evaluations"][0]["sample"] == ev.sample
    assert document["evaluations"][0]["capacity"] == 5


def test_log_evaluation_of_reviewed_sessions_logs_both_samples(store):
    rev = evaluate_reviewed(
        _scored(), score_col="score", label_col="label", time_col="t", capacity=5, n_bootstrap=0
    )
    with tracking.start_run(experiment="eval") as run:
        logged = run.log_evaluation(rev, prefix="test")
    assert logged.values["test.random_audit.pr_auc"] == pytest.approx(
        rev.random_audit.overall.pr_auc.value
    )
    assert logged.values["test.all_reviewed.pr_auc"] == pytest.approx(
        rev.all_reviewed.overall.pr_auc.value
    )
    assert "test.random_audit.pr_auc.ci_low" in logged.skipped  # no bootstrap: no bounds


def test_run_status_failed_when_block_raises(store):
    with (
        pytest.raises(RuntimeError, match="boom"),
        tracking.start_run(experiment="status") as run,
    ):
        raise RuntimeError("boom")
    assert _client(store).get_run(run.run_id).info.status == "FAILED"


def test_run_errors(store, tmp_path):
    with tracking.start_run(experiment="errors") as run:
        run.log_params({"a": 1})
        with pytest.raises(
            TrackingError, match=r"already has param\(s\) with other values \(a: '1' -> '2'\)"
        ):
            run.log_params({"a": 2})
        with pytest.raises(
            TrackingError, match=r"metric 'x' has value 'high' \(str\); metrics must be numbers"
        ):
            run.log_metrics({"x": "high"})
        with pytest.raises(TrackingError, match=r"'a:b' and 'a_b' both become 'a_b'"):
            run.log_metrics({"a:b": 1, "a_b": 2})
        with pytest.raises(TrackingError, match=r"cannot write a object value .* as JSON"):
            run.log_dict({"x": object()}, "bad")
        with pytest.raises(TrackingError, match=r"must be a relative path inside the run"):
            run.log_dict({"x": 1}, "../outside")
        with pytest.raises(TrackingError, match=r"log_frame expects a pandas DataFrame, got list"):
            run.log_frame([1, 2], "t")
        with pytest.raises(TrackingError, match=r"suffix '.xlsx'; use '.parquet' or '.csv'"):
            run.log_frame(pd.DataFrame({"a": [1]}), "t.xlsx")
        with pytest.raises(
            TrackingError, match=r"format='csv' does not fit table artifact 't.parquet'"
        ):
            run.log_frame(pd.DataFrame({"a": [1]}), "t.parquet", format="csv")
        with pytest.raises(TrackingError, match=r"expects a matplotlib Figure .*got str"):
            run.log_figure("figure", "f")
        with pytest.raises(TrackingError, match=r"no such file or folder"):
            run.log_file(tmp_path / "missing.yaml")
        with pytest.raises(TrackingError, match=r"expects an Evaluation or ReviewedEvaluation"):
            run.log_evaluation({"pr_auc": 0.4}, prefix="test")
    with pytest.raises(TrackingError, match=r"run .* has ended; log inside the `with"):
        run.log_metrics({"late": 1.0})


def test_experiment_errors(store):
    with (
        pytest.raises(ConfigError, match=r"pass a non-empty experiment name"),
        tracking.start_run(experiment=" "),
    ):
        pass  # pragma: no cover
    client = _client(store)
    with tracking.start_run(experiment="gone"):
        pass
    client.delete_experiment(client.get_experiment_by_name("gone").experiment_id)
    with (
        pytest.raises(
            TrackingError, match=r"experiment 'gone' .* was deleted .*mlflow experiments restore"
        ),
        tracking.start_run(experiment="gone"),
    ):
        pass  # pragma: no cover


def test_ending_a_deleted_run_is_reported(store):
    with (
        pytest.raises(TrackingError, match=r"ending the run failed"),
        tracking.start_run(experiment="deleted") as run,
    ):
        _client(store).delete_run(run.run_id)


# --------------------------------------------------------------------------- git


def test_git_commit_outside_checkout_and_without_git(tmp_path, monkeypatch):
    assert tracking.git_commit(tmp_path) == "unknown"
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable anywhere
    assert tracking.git_commit(REPO) == "unknown"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_run_is_tagged_with_the_commit(store, monkeypatch):
    repo = Path.cwd()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "a.txt").write_text("a")
    subprocess.run([*git, "add", "a.txt"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], cwd=repo, check=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert tracking.git_commit() == sha
    with tracking.start_run(experiment="git") as run:
        pass
    tags = _client(store).get_run(run.run_id).data.tags
    assert tags["govml.git_commit"] == sha == tags["mlflow.source.git.commit"]
    assert tags["govml.git_dirty"] == "false"

    monkeypatch.setenv("PATH", str(repo / "no-bin"))  # git disappears: still no failure
    with tracking.start_run(experiment="git") as run:
        pass
    tags = _client(store).get_run(run.run_id).data.tags
    assert tags["govml.git_commit"] == "unknown" and "mlflow.source.git.commit" not in tags


# --------------------------------------------------------------------------- registry


def test_log_model_registers_versions_and_loads_them(store, models, scoring, tmp_path):
    first, second = models
    with tracking.start_run(experiment="train") as run:
        v1 = tracking.log_model(first, run=run, tags={"period": "2024-03"})
    with tracking.start_run(experiment="train") as run2:
        v2 = tracking.log_model(second, run=run2, input_example=scoring.head(3))
    assert (v1.name, v1.version, v2.version) == ("govml-low_quality", 1, 2)
    assert v1.run_id == run.run_id and v1.model_uri == "models:/govml-low_quality/1"
    assert v1.task == "low_quality" and v1.tags["period"] == "2024-03"
    assert v1.tags["govml.data.train.sha256"] == first.metadata.fingerprint.sha256
    assert v1.model_id and v1.model_id.startswith("m-")
    assert v2.aliases == ("candidate",)
    assert tracking.get_version(v1.name, 1, tracking=store).aliases == ()  # moved to v2
    assert tracking.get_version(v1.name, "@candidate", tracking=store).version == 2
    assert tracking.champion(v1.name, tracking=store) is None

    expected = {1: first.predict_proba(scoring), 2: second.predict_proba(scoring)}
    assert not np.array_equal(expected[1], expected[2])
    for uri, version in [
        (v1.model_uri, 1),
        ("models:/govml-low_quality@candidate", 2),
        ("models:/govml-low_quality/latest", 2),
        (f"runs:/{run.run_id}/model", 1),
        (f"models:/{v2.model_id}", 2),
        (v2.source, 2),  # the storage location itself
    ]:
        loaded = tracking.load_model(uri, tracking=store)
        np.testing.assert_array_equal(loaded.predict_proba(scoring), expected[version])

    # the files are an MLflow pyfunc model with govml's loader and no pickle anywhere
    folder = Path(mlflow.artifacts.download_artifacts(v1.source, dst_path=str(tmp_path / "v1")))
    names = {p.name for p in folder.rglob("*")}
    assert {"MLmodel", "model.txt", "metadata.json"} <= names
    assert not any(p.suffix in (".pkl", ".pickle") for p in folder.rglob("*"))
    mlmodel = mlflow.models.Model.load(str(folder))
    assert mlmodel.flavors["python_function"]["loader_module"] == "govml._pyfunc"
    assert mlmodel.run_id == run.run_id and mlmodel.model_id == v1.model_id
    np.testing.assert_array_equal(tracking.load_model(folder).predict_proba(scoring), expected[1])
    pyfunc = mlflow.pyfunc.load_model(str(folder))
    np.testing.assert_array_equal(pyfunc.predict(scoring), expected[1])
    plain = first.save(tmp_path / "plain")  # a plain GovmlModel folder loads too
    np.testing.assert_array_equal(tracking.load_model(plain).predict_proba(scoring), expected[1])
    assert _client(store).get_run(run.run_id).outputs.model_outputs[0].model_id == v1.model_id


def test_log_model_registry_errors(store, models):
    adversarial = _model(3, task="adversarial")
    with tracking.start_run(experiment="train") as run:
        tracking.log_model(models[0], run=run, registered_name="shared")
        with pytest.raises(
            TrackingError, match=r"'shared' holds 'low_quality' models, not 'adversarial'"
        ):
            tracking.log_model(adversarial, run=run, registered_name="shared")
        with pytest.raises(ConfigError, match=r"registered model name 'a/b' is invalid"):
            tracking.log_model(models[0], run=run, registered_name="a/b")
        info = tracking.log_model(adversarial, run=run)
    assert info.name == "govml-adversarial" and info.version == 1
    with pytest.raises(TrackingError, match=r"cannot log a model: run .* has ended"):
        tracking.log_model(models[0], run=run)
    with pytest.raises(ConfigError, match=r"unknown task 'fraud'"):
        tracking.default_registered_name("fraud")


def test_load_model_errors(store, models, tmp_path):
    with tracking.start_run(experiment="train") as run:
        tracking.log_model(models[0], run=run)
    with tracking.start_run(experiment="train") as empty_run:
        pass
    client = _client(store)
    client.create_registered_model("no-versions")
    cases = [
        (
            "models:/nope@champion",
            r"no registered model named 'nope' .*registered models: \['govml-low_quality', 'no-versions'\]",
        ),
        (
            "models:/govml-low_quality@champion",
            r"has no alias 'champion' \(aliases: candidate -> version 1\); promote a version",
        ),
        (
            "models:/govml-low_quality@staging",
            r"has no alias 'staging' .*set_registered_model_alias",
        ),
        ("models:/govml-low_quality/7", r"has no version 7 \(versions: \[1\]\)"),
        ("models:/govml-low_quality/Production", r"stages such as 'Production' are deprecated"),
        ("models:/no-versions/latest", r"'no-versions' has no versions yet"),
        ("models:/", r"names no model"),
        ("models:/m-0123456789abcdef", r"neither a logged model id nor a registered version"),
        ("runs:/abc", r"must look like runs:/<run_id>/model"),
        (
            "runs:/0123456789abcdef0123456789abcdef/model",
            r"no run '0123456789abcdef0123456789abcdef'",
        ),
        (f"runs:/{empty_run.run_id}/model", r"has no model named 'model'"),
        (str(tmp_path / "missing"), r"no model at .*missing.*the folder does not exist"),
    ]
    for uri, pattern in cases:
        with pytest.raises(TrackingError, match=pattern):
            tracking.load_model(uri, tracking=store)
    with pytest.raises(TrackingError, match=r"no registered model named 'nope'"):
        tracking.get_version("nope", 1, tracking=store)
    with pytest.raises(TrackingError, match=r"no registered model named 'nope'"):
        tracking.champion("nope", tracking=store)

    other = tmp_path / "other"  # an MLflow model of another kind
    other.mkdir()
    spec = mlflow.models.Model()
    spec.add_flavor("python_function", loader_module="somebody.else")
    spec.save(str(other / "MLmodel"))
    with pytest.raises(
        TrackingError, match=r"not a govml model \(python_function loader_module='somebody.else'"
    ):
        tracking.load_model(other)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFormatError, match=r"lacks"):
        tracking.load_model(tmp_path / "empty")


# --------------------------------------------------------------------------- promotion


def test_promotion_first_beats_and_does_not_beat(store, models, scoring):
    first, second = models
    with tracking.start_run(experiment="train") as run:
        v1 = tracking.log_model(first, run=run)
    decision = _promote(store, v1.name, v1.version, 0.40)
    assert decision.promoted and decision.champion_version is None
    assert decision.champion_value is None and "first champion" in decision.reason
    assert decision.test_start == pd.Timestamp(PERIOD[0]) and decision.test_end.tz is not None
    assert tracking.champion(v1.name, tracking=store).version == 1

    again = _promote(store, v1.name, 1, 0.40, 0.40)
    assert not again.promoted and "already the champion" in again.reason

    with tracking.start_run(experiment="train") as run:
        v2 = tracking.log_model(second, run=run)
    worse = _promote(store, v2.name, v2.version, 0.39, 0.40)
    assert not worse.promoted and worse.champion_version == 1
    assert worse.reason.startswith("version 1 stays champion: candidate version 2 does not beat")
    tie = _promote(store, v2.name, v2.version, 0.40, 0.40)
    assert not tie.promoted  # must strictly beat
    margin = _promote(store, v2.name, v2.version, 0.405, 0.40, min_improvement=0.01)
    assert not margin.promoted and "by more than 0.01" in margin.reason
    assert tracking.champion(v2.name, tracking=store).version == 1
    np.testing.assert_array_equal(
        tracking.load_model(f"models:/{v1.name}@champion", tracking=store).predict_proba(scoring),
        first.predict_proba(scoring),
    )

    better = _promote(store, v2.name, v2.version, 0.45, 0.40)
    assert better.promoted and better.champion_version == 1
    assert "version 2 becomes champion" in str(better) and "2024-03-01" in better.reason
    np.testing.assert_array_equal(
        tracking.load_model(f"models:/{v1.name}@champion", tracking=store).predict_proba(scoring),
        second.predict_proba(scoring),
    )
    info = tracking.get_version(v2.name, 2, tracking=store)
    assert set(info.aliases) == {"candidate", "champion"}
    assert info.tags["govml.promotion.promoted"] == "true"
    assert info.tags["govml.promotion.champion_version"] == "1"
    assert info.tags["govml.promotion.test_end"] == "2024-04-01T00:00:00+00:00"

    lower = _promote(store, v1.name, 1, 0.20, 0.25, higher_is_better=False)  # e.g. Brier
    assert lower.promoted and "lower is better" in lower.reason
    assert tracking.champion(v1.name, tracking=store).version == 1


def test_promotion_errors(store, models):
    with tracking.start_run(experiment="train") as run:
        v1 = tracking.log_model(models[0], run=run)
        v2 = tracking.log_model(models[1], run=run)
    name = v1.name
    with pytest.raises(TrackingError, match=r"has no champion, yet champion_metric=0.3 was given"):
        _promote(store, name, 1, 0.4, 0.3)
    _promote(store, name, 1, 0.4)
    with pytest.raises(
        TrackingError, match=r"has champion version 1; score it on the same test period"
    ):
        _promote(store, name, v2.version, 0.5)
    with pytest.raises(TrackingError, match=r"has no version 9"):
        _promote(store, name, 9, 0.5, 0.4)
    with pytest.raises(ConfigError, match=r"candidate_metric=nan is not a finite number"):
        _promote(store, name, 2, math.nan, 0.4)
    with pytest.raises(ConfigError, match=r"champion_metric='x' is not a finite number"):
        _promote(store, name, 2, 0.5, "x")
    with pytest.raises(ConfigError, match=r"min_improvement=-0.1 is negative"):
        _promote(store, name, 2, 0.5, 0.4, min_improvement=-0.1)
    bad_periods = [
        (("2024-03-01", "2024-04-01"), r"timezone-naive bounds"),
        ((PERIOD[1], PERIOD[0]), r"start must be before end"),
        ("2024-03", r"is not a \(start, end\) pair"),
    ]
    for period, pattern in bad_periods:
        with pytest.raises(ConfigError, match=pattern):
            tracking.promote(
                name,
                2,
                candidate_metric=0.5,
                champion_metric=0.4,
                metric_name="m",
                test_period=period,
                tracking=store,
            )
    with pytest.raises(ConfigError, match=r"metric_name=''; name the compared metric"):
        tracking.promote(
            name,
            2,
            candidate_metric=0.5,
            champion_metric=0.4,
            metric_name="",
            test_period=PERIOD,
            tracking=store,
        )
    assert tracking.champion(name, tracking=store).version == 1  # nothing changed


# --------------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory, template_db):
    """``mlflow server`` on a free loopback port, with its own store and artifact folder."""
    root = tmp_path_factory.mktemp("server")
    _copy_db(template_db, root / "server.db")  # already migrated: faster start
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"mlflow server exited with {proc.returncode}: "
                    f"{(root / 'server.log').read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("mlflow server did not answer /health within 180 s")
            time.sleep(0.5)
        yield uri, root
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_server_round_trip(mlflow_server, models, scoring, tmp_path, monkeypatch, capfd):
    uri, root = mlflow_server
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    first, second = models
    capfd.readouterr()
    with tracking.start_run(experiment="server", run_name="http") as run:
        run.log_params({"num_leaves": 3})
        run.log_metrics({"pr_auc": 0.4}, prefix="test.random_audit")
        run.log_frame(scoring.head(), "tables/head")
        v1 = tracking.log_model(first, run=run)
    with tracking.start_run(experiment="server") as run2:
        v2 = tracking.log_model(second, run=run2)
    out, err = capfd.readouterr()
    assert "View run" not in out and "Waiting up to" not in err
    assert run.url == f"{uri}/#/experiments/{run.experiment_id}/runs/{run.run_id}"
    assert v1.source.startswith("mlflow-artifacts:") and (v1.version, v2.version) == (1, 2)

    assert _promote(None, v1.name, 1, 0.40).promoted
    assert not _promote(None, v2.name, 2, 0.38, 0.40).promoted
    champion = tracking.load_model(f"models:/{v1.name}@champion")
    np.testing.assert_array_equal(champion.predict_proba(scoring), first.predict_proba(scoring))
    candidate = tracking.load_model(f"models:/{v1.name}@candidate")
    np.testing.assert_array_equal(candidate.predict_proba(scoring), second.predict_proba(scoring))
    # a model from the registry carries the registry's version number
    assert (champion.metadata.version, candidate.metadata.version) == ("1", "2")
    assert tracking.load_model(f"models:/{v1.name}/2").metadata.version == "2"
    from_run = tracking.load_model(f"runs:/{run2.run_id}/model")
    np.testing.assert_array_equal(from_run.predict_proba(scoring), second.predict_proba(scoring))

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    stored = client.get_run(run.run_id)
    assert stored.data.metrics == {"test.random_audit.pr_auc": 0.4}
    assert stored.data.params == {"num_leaves": "3"}
    assert client.get_registered_model(v1.name).aliases == {"candidate": "2", "champion": "1"}
    # the server stored everything; the client's working directory got nothing
    assert list(tmp_path.iterdir()) == []
    assert list((root / "artifacts").rglob("metadata.json"))
    assert list((root / "artifacts").rglob("head.parquet"))


def test_doctests_run(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(tracking, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
