"""The command line: every user error is one message and exit code 2, never a traceback."""

import re
import subprocess
import sys

import pytest

from govml.cli import build_parser, main


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "govml.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def _commands() -> list[str]:
    import argparse

    from govml.cli import build_parser

    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return sorted(action.choices)
    return []


COMMANDS = _commands()


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


def test_every_documented_command_exists():
    assert {
        "quickstart",
        "simulate",
        "validate",
        "contract",
        "features",
        "train",
        "score",
        "backtest",
        "monitor",
        "report",
    } <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_subcommand_has_help_with_example(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "example:" in out and f"govml {command}" in out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_simulate_then_validate_round_trip(tmp_path, capsys):
    out = tmp_path / "world"
    assert main(["simulate", "--out", str(out), "--creators", "40", "--days", "10"]) == 0
    assert (out / "sessions.parquet").exists() and (out / "truth").is_dir()
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0


def test_simulate_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "world"
    assert main(["simulate", "--out", str(out), "--creators", "30", "--days", "5"]) == 0
    capsys.readouterr()
    assert main(["simulate", "--out", str(out), "--creators", "30", "--days", "5"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("govml simulate: error:") and "--overwrite" in last


def test_validate_reports_problems_with_exit_2(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "world"
    assert main(["simulate", "--out", str(out), "--creators", "30", "--days", "5"]) == 0
    sessions = pd.read_parquet(out / "sessions.parquet")
    sessions.loc[0, "viewers"] = -5
    sessions.to_parquet(out / "sessions.parquet")
    capsys.readouterr()
    assert main(["validate", str(out)]) == 2
    report = capsys.readouterr().out
    assert "sessions" in report and "viewers" in report


def test_missing_directory_is_one_clear_line_not_a_traceback(tmp_path):
    result = run_cli("validate", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("govml validate: error:")
    assert len(result.stderr.strip().splitlines()) >= 1


def test_debug_flag_shows_the_traceback(tmp_path):
    result = run_cli("--debug", "validate", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_contract_prints_every_table(capsys):
    assert main(["contract"]) == 0
    out = capsys.readouterr().out
    for table in ("creators", "sessions", "outcomes", "violations", "actions", "reviews"):
        assert table in out


def test_quickstart_small_world(tmp_path, capsys):
    code = main(
        [
            "quickstart",
            "--out",
            str(tmp_path / "qs"),
            "--creators",
            "60",
            "--days",
            "14",
            "--no-train",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "sessions by market" in out and "reviews by sample reason" in out


def test_parser_is_exposed_for_docs():
    assert build_parser().prog == "govml"


def test_features_command_writes_parquet(tmp_path, capsys):
    import pandas as pd

    world = tmp_path / "world"
    assert main(["simulate", "--out", str(world), "--creators", "40", "--days", "20"]) == 0
    out = tmp_path / "f.parquet"
    args = ["features", "--tables", str(world), "--task", "low_quality", "--out", str(out)]
    assert main(args) == 0
    frame = pd.read_parquet(out)
    assert len(frame) == len(pd.read_parquet(world / "sessions.parquet"))
    capsys.readouterr()
    assert main(args) == 2  # refuses to overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--as-of", "2031-01-01"]) == 2
    assert "outside the data" in capsys.readouterr().err


def test_features_command_rejects_tables_that_break_the_contract(tmp_path, capsys):
    import pandas as pd

    world = tmp_path / "world"
    assert main(["simulate", "--out", str(world), "--creators", "30", "--days", "5"]) == 0
    s = pd.read_parquet(world / "sessions.parquet")
    s.loc[0, "ended_at"] = s.loc[0, "started_at"] - pd.Timedelta(hours=1)
    s.to_parquet(world / "sessions.parquet")
    capsys.readouterr()
    code = main(
        [
            "features",
            "--tables",
            str(world),
            "--task",
            "adversarial",
            "--out",
            str(tmp_path / "f.parquet"),
        ]
    )
    assert code == 2
    assert "ended_at" in capsys.readouterr().err


def test_train_command_prints_the_comparison(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    world = tmp_path / "world"
    assert main(["simulate", "--out", str(world), "--creators", "400", "--days", "120"]) == 0
    capsys.readouterr()
    code = main(
        [
            "train",
            "--task",
            "low_quality",
            "--tables",
            str(world),
            "--no-track",
            "--set",
            "evaluation.n_bootstrap=20",
            "--set",
            "model.num_boost_round=50",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    for scorer in ("model", "rules", "logistic", "oracle"):
        assert scorer in out
    assert "random_audit (unbiased)" in out and "model PR-AUC / oracle PR-AUC" in out
    assert (tmp_path / "models" / "low_quality" / "vlocal" / "model.txt").exists()
    assert not (tmp_path / "mlruns.db").exists()  # --no-track


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--set", "model.sed=1"], "unknown field 'sed'"),
        (["--set", "novalue"], "must look like section.field=value"),
        (["--config", "nope.yaml"], "does not exist"),
        (["--cutoff", "soon"], r"--cutoff 'soon' is not a timestamp; write e.g. 2026-01-31"),
    ],
)
def test_train_command_config_errors(tmp_path, capsys, extra, match):
    world = tmp_path / "world"
    assert main(["simulate", "--out", str(world), "--creators", "30", "--days", "10"]) == 0
    capsys.readouterr()
    assert main(["train", "--task", "low_quality", "--tables", str(world), *extra]) == 2
    assert re.search(match, capsys.readouterr().err)


def test_train_command_rejects_a_config_for_another_task(tmp_path, capsys):
    world = tmp_path / "world"
    assert main(["simulate", "--out", str(world), "--creators", "30", "--days", "10"]) == 0
    cfg = tmp_path / "adv.yaml"
    cfg.write_text("task: adversarial\n")
    capsys.readouterr()
    code = main(["train", "--task", "low_quality", "--tables", str(world), "--config", str(cfg)])
    assert code == 2
    assert "configures task 'adversarial', but --task is 'low_quality'" in capsys.readouterr().err
