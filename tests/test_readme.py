"""The README's Python snippets run as written, in order, in a fresh interpreter.

Every ```python block of README.md is executed top to bottom in one namespace (the
blocks build on each other, as a reader would run them in a notebook), in a temporary
working directory holding a copy of ``experiments/``, with every store (MLflow, models,
data) pointed at that directory, so a README change that breaks a snippet fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def readme_blocks(text: str) -> list[str]:
    """The ```python blocks of a markdown text, in order."""
    return [m.group(1) for m in BLOCK.finditer(text)]


def test_blocks_are_found():
    text = "intro\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = x\n```\n"
    assert readme_blocks(text) == ["x = 1\n", "y = x\n"]


@pytest.mark.slow
def test_readme_python_snippets_run(tmp_path):
    blocks = readme_blocks((ROOT / "README.md").read_text())
    assert blocks, "README.md has no ```python blocks"
    shutil.copytree(ROOT / "experiments", tmp_path / "experiments")
    script = "\n\n".join(f"# --- README block {i + 1}\n{block}" for i, block in enumerate(blocks))
    (tmp_path / "readme_snippets.py").write_text(script)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlruns.db'}",
        "GOVML_ARTIFACT_LOCATION": str(tmp_path / "mlartifacts"),
        "GOVML_MODELS_DIR": str(tmp_path / "models"),
        "GOVML_DATA_DIR": str(tmp_path / "data"),
        "GOVML_N_JOBS": "1",
        "MPLBACKEND": "Agg",
    }
    run = subprocess.run(
        [sys.executable, "readme_snippets.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, f"README snippet failed:\n{run.stderr[-4000:]}"
