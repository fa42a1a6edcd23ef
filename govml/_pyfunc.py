"""The MLflow ``python_function`` flavor of a govml model, with nothing pickled.

MLflow offers two ways to make a custom pyfunc model. ``python_model=`` pickles a
Python object with cloudpickle (and unpickles it on load); ``loader_module=`` only
names a module whose ``_load_pyfunc(data_path)`` builds the model from files. govml
uses the second: :func:`save_pyfunc` writes an MLflow model folder whose ``MLmodel``
says ``loader_module: govml._pyfunc`` and whose ``data`` is the govml model folder
(``model.txt`` + ``metadata.json``), so ``mlflow.pyfunc.load_model(path)`` reads text
and JSON only::

    <path>/
      MLmodel                    loader_module: govml._pyfunc, data: data/govml_model
      data/govml_model/          GovmlModel.save(): model.txt, metadata.json
      requirements.txt, python_env.yaml, conda.yaml
      input_example.json, serving_input_example.json   (when an example is given)

The loaded model's ``predict(df)`` returns :meth:`GovmlModel.predict_proba` of the
same frame, under the same column rules.

Signature
---------
MLflow 3.17 enforces a signature before the model sees the input, and its type rules
are stricter than govml's column contract in ways that would make the two disagree:
a ``string`` column rejects pandas ``category`` input ("Can not safely convert
category to <U0"), a ``double`` column rejects ``int64`` input and a ``long`` column
rejects ``float64``. So the signature declares every feature by **name** with MLflow's
``Any`` type: MLflow still checks that every feature column is present (naming the
missing ones), drops extra columns and orders the rest, and govml checks the types
with its own rules (category/str/object score identically; text in a numeric column
is an error). The typed view of the features (kind and training dtype) is in the
``MLmodel`` metadata under ``govml``, and in full in ``metadata.json``. Two params
are declared: ``unseen`` and ``max_unseen_fraction`` (see
:meth:`GovmlModel.predict`).

Loading needs govml importable (it is the loader); the default ``requirements.txt``
pins govml, lightgbm, pandas and numpy to the versions that saved the model.

Examples
--------
>>> import numpy as np, pandas as pd, tempfile, mlflow.pyfunc
>>> from govml.training.lgbm import fit_lightgbm
>>> from govml.model import GovmlModel
>>> from govml._pyfunc import save_pyfunc
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(size=600), "m": rng.choice(["a", "b"], 600)})
>>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
>>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y",
...                    categorical=["m"], num_threads=1,
...                    params={"min_data_in_leaf": 20, "num_leaves": 7})
>>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = save_pyfunc(model, f"{tmp}/pyfunc")
...     loaded = mlflow.pyfunc.load_model(str(path), suppress_warnings=True)
...     same = np.array_equal(loaded.predict(df[["m", "x"]]), model.predict_proba(df))
>>> same
True
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from govml._exceptions import ModelFormatError
from govml.model import FORMAT_VERSION, MAX_UNSEEN_FRACTION, GovmlModel

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

__all__ = [
    "DATA_DIR",
    "LOADER_MODULE",
    "pyfunc_signature",
    "default_pip_requirements",
    "save_pyfunc",
]

#: Value of ``loader_module`` in the ``MLmodel`` file.
LOADER_MODULE = "govml._pyfunc"
#: Name of the govml model folder inside the MLflow model's ``data`` folder.
DATA_DIR = "govml_model"


def pyfunc_signature(model: GovmlModel) -> ModelSignature:
    """The MLflow signature of a govml model: feature names (type ``Any``) and params.

    Parameters
    ----------
    model : GovmlModel

    Returns
    -------
    mlflow.models.ModelSignature
        Inputs: every feature, required, type ``Any`` (govml checks the types; see the
        module docstring). Output: ``probability`` (double). Params: ``unseen``
        (string, default ``"warn"``) and ``max_unseen_fraction`` (double).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "m": rng.choice(["a", "b"], 600)})
    >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
    ...                    num_boost_round=20, num_threads=1, params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> from govml._pyfunc import pyfunc_signature
    >>> sig = pyfunc_signature(model)
    >>> sig.inputs.to_dict()
    [{'type': 'any', 'name': 'x', 'required': True}, {'type': 'any', 'name': 'm', 'required': True}]
    >>> sig.outputs.input_names(), [(p.name, p.default) for p in sig.params.params]
    (['probability'], [('unseen', 'warn'), ('max_unseen_fraction', 0.05)])
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema([ColSpec(AnyType(), name, required=True) for name in model.feature_names])
    outputs = Schema([ColSpec("double", "probability")])
    params = ParamSchema(
        [
            ParamSpec("unseen", "string", "warn"),
            ParamSpec("max_unseen_fraction", "double", MAX_UNSEEN_FRACTION),
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def default_pip_requirements() -> list[str]:
    """Pinned requirements of the loader: govml, lightgbm, pandas, numpy (this process's).

    Examples
    --------
    >>> import pandas as pd
    >>> from govml._pyfunc import default_pip_requirements
    >>> [r.split("==")[0] for r in default_pip_requirements()]
    ['govml', 'lightgbm', 'pandas', 'numpy']
    >>> f"pandas=={pd.__version__}" in default_pip_requirements()
    True
    """
    import lightgbm

    from govml import __version__

    return [
        f"govml=={__version__}",
        f"lightgbm=={lightgbm.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
    ]


def _mlmodel_metadata(model: GovmlModel) -> dict[str, Any]:
    m = model.metadata
    return {
        "govml": {
            "format_version": FORMAT_VERSION,
            "task": m.task,
            "name": m.name,
            "version": m.version,
            "features": [{"name": f.name, "kind": f.kind, "dtype": f.dtype} for f in m.features],
            "thresholds": dict(m.thresholds),
            "catalogue_version": m.catalogue_version,
            "calibration": m.calibration.method,
        }
    }


def pyfunc_kwargs(
    model: GovmlModel,
    data_path: str | os.PathLike[str],
    *,
    input_example: pd.DataFrame | None = None,
    pip_requirements: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``mlflow.pyfunc.save_model`` / ``mlflow.pyfunc.log_model``.

    The one place that decides how a govml model becomes an MLflow model, so that
    :func:`save_pyfunc` and the tracking module write the same thing.

    Parameters
    ----------
    model : GovmlModel
    data_path : path-like
        A folder written by ``model.save()``; MLflow copies it to ``data/<its name>``
        (:func:`save_pyfunc` names it ``govml_model``). The loader reads whatever path
        the ``MLmodel`` file records.
    input_example, pip_requirements
        As in :func:`save_pyfunc`.

    Returns
    -------
    dict
        ``loader_module``, ``data_path``, ``signature``, ``input_example``,
        ``pip_requirements`` and ``metadata``.

    Raises
    ------
    ColumnMismatchError
        If ``input_example`` lacks feature columns or holds text in numeric ones.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "m": rng.choice(["a", "b"], 600)})
    >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
    ...                    num_boost_round=20, num_threads=1, params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> import tempfile
    >>> from govml._pyfunc import pyfunc_kwargs
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     kwargs = pyfunc_kwargs(model, model.save(f"{tmp}/govml_model"),
    ...                            input_example=df.head(2))
    >>> sorted(kwargs)
    ['data_path', 'input_example', 'loader_module', 'metadata', 'pip_requirements', 'signature']
    >>> kwargs["loader_module"], kwargs["data_path"].endswith("govml_model")
    ('govml._pyfunc', True)
    >>> kwargs["input_example"].columns.tolist(), kwargs["metadata"]["govml"]["task"]
    (['x', 'm'], 'low_quality')
    """
    example = None
    if input_example is not None:
        model.prepare(input_example)  # the example must satisfy the model's column contract
        example = input_example[list(model.feature_names)]
    return {
        "loader_module": LOADER_MODULE,
        "data_path": str(data_path),
        "signature": pyfunc_signature(model),
        "input_example": example,
        "pip_requirements": list(pip_requirements or default_pip_requirements()),
        "metadata": _mlmodel_metadata(model),
    }


def save_pyfunc(
    model: GovmlModel,
    path: str | os.PathLike[str],
    *,
    input_example: pd.DataFrame | None = None,
    pip_requirements: Sequence[str] | None = None,
) -> Path:
    """Write ``model`` as an MLflow pyfunc model folder (``loader_module``, no pickle).

    Parameters
    ----------
    model : GovmlModel
    path : path-like
        New folder to create (must not exist, or be empty).
    input_example : DataFrame, optional
        A few scoring rows; their feature columns are stored as JSON next to the model
        (MLflow shows them and builds the serving example from them). Any dtypes the
        model accepts.
    pip_requirements : sequence of str, optional
        Defaults to :func:`default_pip_requirements`.

    Returns
    -------
    Path
        The MLflow model folder; load it with ``mlflow.pyfunc.load_model(str(path))``.

    Raises
    ------
    ModelFormatError
        If ``path`` exists and is not an empty folder.
    ColumnMismatchError
        If ``input_example`` lacks feature columns or holds text in numeric ones.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "m": rng.choice(["a", "b"], 600)})
    >>> df["y"] = (rng.random(600) < 1 / (1 + np.exp(-2 * df["x"]))).astype(int)
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
    ...                    num_boost_round=20, num_threads=1, params={"num_leaves": 7})
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> import tempfile, mlflow.pyfunc
    >>> from govml._pyfunc import save_pyfunc
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes it
    >>> path = save_pyfunc(model, f"{work.name}/pyfunc", input_example=df[["x", "m"]].head(2))
    >>> sorted(p.name for p in path.iterdir())[:4]
    ['MLmodel', 'conda.yaml', 'data', 'input_example.json']
    >>> "loader_module: govml._pyfunc" in (path / "MLmodel").read_text()
    True
    >>> loaded = mlflow.pyfunc.load_model(str(path))
    >>> p = loaded.predict(df[["m", "x"]].head(3), params={"unseen": "raise"})
    >>> bool(np.array_equal(p, model.predict_proba(df.head(3))))
    True
    >>> save_pyfunc(model, path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ModelFormatError: cannot write the MLflow model to ...: it already exists ...
    >>> work.cleanup()
    """
    from mlflow.pyfunc import save_model

    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ModelFormatError(
            f"cannot write the MLflow model to {target}: it already exists and is not an "
            "empty folder; choose a new path or delete the old model first"
        )
    if input_example is not None:
        model.prepare(input_example)  # fail before touching the target folder
    if target.is_dir():
        target.rmdir()  # MLflow creates the folder itself
    with tempfile.TemporaryDirectory() as tmp:
        data = model.save(Path(tmp) / DATA_DIR)
        kwargs = pyfunc_kwargs(
            model, data, input_example=input_example, pip_requirements=pip_requirements
        )
        save_model(path=str(target), **kwargs)
    return target


class _GovmlPyfuncModel:
    """What ``_load_pyfunc`` returns: MLflow calls ``predict(model_input, params)``."""

    def __init__(self, model: GovmlModel) -> None:
        self._model = model

    def get_raw_model(self) -> GovmlModel:
        """The :class:`GovmlModel` (``PyFuncModel.get_raw_model()`` returns it)."""
        return self._model

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> np.ndarray:
        """Calibrated probabilities of ``model_input`` (a DataFrame, or anything
        ``pd.DataFrame`` accepts), with the unseen-category policy from ``params``."""
        params = dict(params or {})
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        fraction = params.get("max_unseen_fraction")
        return self._model.predict_proba(
            frame,
            unseen=params.get("unseen") or "warn",
            max_unseen_fraction=MAX_UNSEEN_FRACTION if fraction is None else float(fraction),
        )


def _load_pyfunc(data_path: str, model_config: Any = None) -> _GovmlPyfuncModel:
    """MLflow's entry point: build the pyfunc model from the govml folder in ``data``."""
    return _GovmlPyfuncModel(GovmlModel.load(data_path))
