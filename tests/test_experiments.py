"""The analysis scripts in ``experiments/`` run (the YAML files: test_training_pipeline)."""

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_adversarial_limits_prints_the_model_against_partial_oracles(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    script = runpy.run_path(str(ROOT / "experiments" / "adversarial_limits.py"))
    argv = ["--creators", "400", "--days", "240", "--seed", "3", "--bootstrap", "10"]
    assert script["main"](argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("400 creators x 240 days (seed 3)")
    rows = {line[:74].strip(): line[74:].split() for line in out[1:]}
    assert list(rows)[0] == "govml model (features from the tables only)"
    assert len(rows) == 4 and all(k.startswith("knows who") for k in list(rows)[1:])
    for values in rows.values():
        assert 0 < float(values[0]) < 2
    assert re.fullmatch(r"\[\d\.\d\d, \d\.\d\d\]", " ".join(rows[list(rows)[0]][1:]))
