from pathlib import Path

import pytest

from govml import ConfigError, get_settings


def test_defaults_hang_off_cwd(monkeypatch, tmp_path):
    for var in (
        "MLFLOW_TRACKING_URI",
        "GOVML_ARTIFACT_LOCATION",
        "GOVML_MODELS_DIR",
        "GOVML_DATA_DIR",
        "GOVML_N_JOBS",
    ):
        monkeypatch.delenv(var, raising=False)
    s = get_settings(cwd=tmp_path)
    assert s.tracking_uri == f"sqlite:///{(tmp_path / 'mlruns.db').as_posix()}"
    assert s.tracking_is_embedded
    assert s.artifact_location == (tmp_path / "mlartifacts").as_posix()
    assert s.models_dir == tmp_path / "models"
    assert s.data_dir == tmp_path / "data"
    assert s.n_jobs == 0


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("GOVML_MODELS_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("GOVML_N_JOBS", "2")
    s = get_settings(cwd=tmp_path)
    assert s.tracking_uri == "http://127.0.0.1:5000"
    assert not s.tracking_is_embedded
    assert s.models_dir == Path(tmp_path / "m")
    assert s.n_jobs == 2


@pytest.mark.parametrize(
    ("value", "match"),
    [("two", "GOVML_N_JOBS='two' is not an integer"), ("-1", "GOVML_N_JOBS=-1 is negative")],
)
def test_bad_n_jobs(monkeypatch, value, match):
    monkeypatch.setenv("GOVML_N_JOBS", value)
    with pytest.raises(ConfigError, match=match):
        get_settings()
