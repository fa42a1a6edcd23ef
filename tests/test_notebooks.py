"""Every notebook in ``notebooks/`` runs top to bottom, and is committed without outputs.

Each notebook is executed with nbclient in a fresh kernel of *this* interpreter (a
kernelspec written for ``sys.executable`` into a temporary folder, so neither a user's
``python3`` kernel nor whatever ``python`` is first on ``PATH`` is picked up), with the
working directory, the MLflow store, govml's folders, the temporary folder and IPython's
profile all inside pytest's ``tmp_path``. The working directory mirrors the repository
layout (``<tmp>/notebooks`` next to a copy of ``experiments/``), as when Jupyter runs a
notebook from ``notebooks/``. A failing cell fails the test with the cell's source and
traceback.

New notebooks are picked up by the glob: nothing to register here.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "govml-test-python"
#: Longest a single cell may run; the slowest cell (training the adversarial model on the
#: notebooks' small world) takes about a minute on a loaded two-core machine.
CELL_TIMEOUT_S = 600


def _ids(path: Path) -> str:
    return path.name


def _kernel_env(tmp: Path) -> dict[str, str]:
    """Environment of the kernel: every store and scratch folder inside ``tmp``."""
    (tmp / "ipython").mkdir(exist_ok=True)
    (tmp / "scratch").mkdir(exist_ok=True)
    python_path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        "MLFLOW_TRACKING_URI": f"sqlite:///{(tmp / 'mlruns.db').as_posix()}",
        "GOVML_ARTIFACT_LOCATION": (tmp / "mlartifacts").as_posix(),
        "GOVML_MODELS_DIR": str(tmp / "models"),
        "GOVML_DATA_DIR": str(tmp / "data"),
        # one LightGBM thread: pytest -n 2 runs two kernels on a two-core machine
        "GOVML_N_JOBS": "1",
        "PYTHONPATH": os.pathsep.join(python_path),
        "IPYTHONDIR": str(tmp / "ipython"),
        "TMPDIR": str(tmp / "scratch"),
    }


def _kernel_spec_dir(tmp: Path) -> Path:
    """A kernelspec that starts ``sys.executable -m ipykernel_launcher``."""
    from ipykernel.kernelspec import write_kernel_spec

    kernels = tmp / "kernels"
    write_kernel_spec(
        kernels / KERNEL_NAME, overrides={"display_name": f"govml tests ({sys.executable})"}
    )
    return kernels


def _execute(nb: nbformat.NotebookNode, tmp: Path) -> None:
    """Run ``nb`` in place (outputs land in the in-memory copy only)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    cwd = tmp / "notebooks"
    cwd.mkdir(exist_ok=True)
    specs = KernelSpecManager(kernel_dirs=[str(_kernel_spec_dir(tmp))])
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    client = NotebookClient(
        nb,
        km=km,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(cwd)}},
    )
    # the kernel's environment only: this process's own stays as it is
    client.execute(env={**os.environ, **_kernel_env(tmp)})


def _stream_text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


# ----------------------------------------------------------------------- committed form


def test_notebooks_exist():
    expected = {"01_quickstart.ipynb", "02_explaining_scores.ipynb", "04_bring_your_own_data.ipynb"}
    assert expected <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_valid_and_stripped(path: Path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4, f"{path.name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)  # raises ValidationError with the offending field
    assert nb.metadata.get("kernelspec", {}).get("language") == "python", (
        f"{path.name}: no Python kernelspec in the notebook metadata"
    )
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} hold outputs or execution counts; outputs are "
        "stripped in git: clear them before committing (JupyterLab: Edit > Clear Outputs of "
        f"All Cells, then save; or `jupyter nbconvert --clear-output --inplace {path}`)"
    )
    attached = [i for i, cell in enumerate(nb.cells) if cell.get("attachments")]
    assert not attached, f"{path.name}: cells {attached} carry attachments (binary data in git)"
    assert any(c.cell_type == "markdown" for c in nb.cells), f"{path.name}: no markdown cell"


def test_stripped_check_catches_outputs(tmp_path):
    """The check above fails on a notebook that was saved with outputs."""
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}}
    )
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("1 + 1")]
    nb.cells[1].execution_count = 1
    nb.cells[1].outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)
    ]
    path = tmp_path / "dirty.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError, match=r"cells \[1\] hold outputs"):
        test_notebook_is_valid_and_stripped(path)


# ----------------------------------------------------------------------- execution


@pytest.mark.slow
def test_kernel_is_this_interpreter_and_checkout(tmp_path):
    """The harness's kernel runs sys.executable, imports this checkout's govml, and sees the
    temporary stores (so a notebook can never write into the repository)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os, sys, govml, govml._config\n"
            "print(sys.executable)\n"
            "print(govml.__file__)\n"
            "print(os.getcwd())\n"
            "print(govml._config.get_settings().tracking_uri)"
        )
    ]
    _execute(nb, tmp_path)
    executable, govml_file, cwd, tracking = _stream_text(nb.cells[0]).splitlines()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(govml_file).resolve().is_relative_to(ROOT)
    assert Path(cwd).resolve() == (tmp_path / "notebooks").resolve()
    assert tracking == f"sqlite:///{(tmp_path / 'mlruns.db').as_posix()}"


@pytest.mark.slow
def test_failing_cell_fails_with_its_error(tmp_path):
    """A notebook whose cell raises makes the harness raise, naming the error."""
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import govml\ngovml.simulate(n_creators=-1)")]
    with pytest.raises(CellExecutionError, match="SimulationError"):
        _execute(nb, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs(path: Path, tmp_path):
    from nbclient.exceptions import CellExecutionError

    shutil.copytree(ROOT / "experiments", tmp_path / "experiments")
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    nb = nbformat.read(path, as_version=4)
    try:
        _execute(nb, tmp_path)
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    ran = [c for c in nb.cells if c.cell_type == "code" and c.execution_count is not None]
    assert len(ran) == n_code, f"{path.name}: only {len(ran)} of {n_code} code cells ran"
    assert sorted(p.name for p in NOTEBOOK_DIR.iterdir()) == before, (
        f"{path.name} wrote files into notebooks/"
    )
    assert not (tmp_path / "notebooks" / "mlruns.db").exists(), (
        f"{path.name} created an MLflow store in its working directory"
    )
