"""Every error type govml raises.

All errors derive from :class:`GovmlError`, so ``except govml.GovmlError`` catches
anything govml raises on purpose. Each message says what went wrong, where (table,
column, rows), what was expected and how to fix it. The command line turns any
``GovmlError`` into one message on stderr and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "GovmlError",
    "ConfigError",
    "DataLoadError",
    "ContractError",
    "MappingError",
    "SimulationError",
    "FeatureError",
    "LabelError",
    "TrainingError",
    "ModelFormatError",
    "ColumnMismatchError",
    "UnseenCategoryError",
    "UnseenCategoryWarning",
    "TrackingError",
    "ScoringError",
    "PolicyError",
    "MonitorError",
]


class GovmlError(Exception):
    """Base class of every error govml raises on purpose.

    Examples
    --------
    >>> import govml
    >>> try:
    ...     govml.validate_tables({})  # no tables at all: a ContractError
    ... except govml.GovmlError as error:  # catches every error govml raises on purpose
    ...     caught = error
    >>> type(caught).__name__, isinstance(caught, ValueError)
    ('ContractError', True)
    >>> print(str(caught).splitlines()[0])
    data contract: 6 problems in creators, sessions, outcomes, violations, actions, reviews
    """


class ConfigError(GovmlError, ValueError):
    """A configuration value (file, environment variable or argument) is invalid.

    Examples
    --------
    >>> from govml import ConfigError
    >>> from govml.training import default_config
    >>> try:
    ...     default_config("low_quality").override({"model.num_rounds": 20})
    ... except ConfigError as error:
    ...     print(str(error).split(";")[0])
    override 'model.num_rounds': unknown field 'num_rounds'
    """


class DataLoadError(GovmlError, FileNotFoundError):
    """A table could not be read: missing file, unreadable format, ambiguous files.

    Examples
    --------
    >>> import govml
    >>> try:
    ...     govml.load_tables("no/such/folder")
    ... except FileNotFoundError as error:  # also a FileNotFoundError
    ...     print(type(error).__name__, "|", str(error).split(":")[0])
    DataLoadError | no folder at no/such/folder
    """


class ContractError(GovmlError, ValueError):
    """Tables break the data contract.

    ``problems`` holds every problem found (validation never stops at the first one);
    ``str(error)`` is the human-readable report.

    Examples
    --------
    >>> import govml
    >>> world = govml.simulate(n_creators=20, n_days=5, seed=0)
    >>> tables = {name: getattr(world.tables, name) for name in world.tables.n_rows()}
    >>> tables["sessions"] = tables["sessions"].drop(columns="ended_at")
    >>> try:
    ...     govml.validate_tables(tables)
    ... except govml.ContractError as error:
    ...     problems = error.problems
    >>> [(p.table, p.column, p.check) for p in problems]
    [('sessions', 'ended_at', 'missing_column')]
    """

    def __init__(self, message: str, problems: tuple = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class MappingError(GovmlError, ValueError):
    """A column mapping refers to tables or columns that do not exist.

    Examples
    --------
    >>> import govml
    >>> try:
    ...     govml.ColumnMapping.from_dict({"colums": {"creators": {"seller_id": "creator_id"}}})
    ... except govml.MappingError as error:
    ...     print(str(error).split(";")[0])
    unknown mapping section(s) 'colums'
    """


class SimulationError(GovmlError, ValueError):
    """Simulator parameters are invalid.

    Examples
    --------
    >>> import govml
    >>> try:
    ...     govml.simulate(n_creators=0)
    ... except govml.SimulationError as error:
    ...     print(error)
    n_creators=0 is out of range; expected an integer in [1, 5000000]
    """


class FeatureError(GovmlError, ValueError):
    """Features cannot be built from the given events or query points.

    Examples
    --------
    >>> import govml
    >>> from govml.features import build_features
    >>> world = govml.simulate(n_creators=20, n_days=5, seed=0)
    >>> try:
    ...     build_features(world.tables, "spam")
    ... except govml.FeatureError as error:
    ...     print(error)
    unknown task 'spam'; govml has two tasks: 'low_quality' (sessions) and 'adversarial' (creators)
    """


class LabelError(GovmlError, ValueError):
    """Labels cannot be built (bad horizon, cutoff, or no mature labels).

    Examples
    --------
    >>> import govml
    >>> from govml.features.labels import maturity_gap
    >>> try:
    ...     maturity_gap(horizon="-30D")
    ... except govml.LabelError as error:
    ...     print(str(error).split(";")[0])
    horizon='-30D' is not a positive duration
    """


class TrainingError(GovmlError, ValueError):
    """A model cannot be trained from the given frame or configuration.

    Examples
    --------
    >>> import pandas as pd, govml
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    >>> try:
    ...     fit_lightgbm(df, df, features=[], label="y")
    ... except govml.TrainingError as error:
    ...     print(error)
    features is empty; name the columns the model should use
    """


class ModelFormatError(GovmlError, ValueError):
    """A saved model is missing files, is corrupt, or was written by an incompatible version.

    Examples
    --------
    >>> import govml
    >>> from govml.model import GovmlModel
    >>> try:
    ...     GovmlModel.load("no/such/model")
    ... except govml.ModelFormatError as error:
    ...     print(str(error).split(";")[0])
    no model folder at no/such/model
    """


class ColumnMismatchError(GovmlError, KeyError):
    """Scoring input lacks columns the model needs (matched by name, never by position).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "m": ["a", "b"] * 300})
    >>> df["y"] = np.arange(600) % 7 == 0
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
    ...                    num_boost_round=5, num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> try:
    ...     model.predict(pd.DataFrame({"x": [1.0]}))
    ... except KeyError as error:  # also a KeyError; str() is the plain message
    ...     print(type(error).__name__, "|", str(error).split(";")[0])
    ColumnMismatchError | scoring input: missing feature column(s) ['m']
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class UnseenCategoryError(GovmlError, ValueError):
    """Scoring input holds category levels never seen in training, beyond the tolerance.

    Examples
    --------
    >>> import govml, numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "m": ["a", "b"] * 300})
    >>> df["y"] = np.arange(600) % 7 == 0
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
    ...                    num_boost_round=5, num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> new = pd.DataFrame({"x": [1.0, 2.0], "m": ["a", "zz"]})  # 'zz' never seen
    >>> try:
    ...     model.predict(new)  # 1 row in 2 is above the default 5% tolerance
    ... except govml.UnseenCategoryError as error:
    ...     print(str(error).split(": ", 1)[0])
    1 of 2 rows (50.00%) hold category levels never seen in training
    """


class UnseenCategoryWarning(GovmlError, UserWarning):
    """Scoring input holds unseen category levels, within the tolerance: scored, and reported.

    A :class:`UserWarning` (emitted with :func:`warnings.warn`) that is also a
    :class:`GovmlError`, so a warnings filter set to ``"error"`` turns it into an
    exception that ``except GovmlError`` catches.

    Examples
    --------
    >>> import govml, warnings, numpy as np, pandas as pd
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "m": ["a", "b"] * 300})
    >>> df["y"] = np.arange(600) % 7 == 0
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x", "m"], label="y", categorical=["m"],
    ...                    num_boost_round=5, num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> new = pd.DataFrame({"x": [1.0, 2.0], "m": ["a", "zz"]})  # 'zz' never seen
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     pred = model.predict(new, max_unseen_fraction=0.5)
    >>> [w.category.__name__ for w in caught], pred.unseen_rows.tolist()
    (['UnseenCategoryWarning'], [False, True])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", govml.UnseenCategoryWarning)  # make it fatal
    ...     try:
    ...         model.predict(new, max_unseen_fraction=0.5)
    ...     except govml.GovmlError as error:
    ...         print(type(error).__name__)
    UnseenCategoryWarning
    """


class TrackingError(GovmlError, RuntimeError):
    """The MLflow tracking store or model registry cannot be used.

    Examples
    --------
    >>> import govml
    >>> from govml import tracking
    >>> try:
    ...     tracking.load_model("no/such/model")
    ... except govml.TrackingError as error:
    ...     print(str(error).split(";")[0])
    no model at 'no/such/model': the folder does not exist
    """


class ScoringError(GovmlError, RuntimeError):
    """A batch scoring job cannot run or cannot be resumed.

    Examples
    --------
    >>> import tempfile, govml
    >>> from govml.scoring import read_scores
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         read_scores(tmp)  # an empty folder: no finished job
    ...     except govml.ScoringError as error:
    ...         print(str(error).split(" (")[0].replace(tmp, "OUT"))
    OUT holds no finished scoring job
    """


class PolicyError(GovmlError, ValueError):
    """A governance policy file is invalid.

    Examples
    --------
    >>> import govml
    >>> from govml.policy import load_policy
    >>> try:
    ...     load_policy("no/such/policy.yaml")
    ... except govml.PolicyError as error:
    ...     print(str(error).split(";")[0])
    policy file no/such/policy.yaml does not exist
    """


class MonitorError(GovmlError, ValueError):
    """Drift or trend monitoring cannot run on the given frames or parameters.

    Examples
    --------
    >>> import govml
    >>> from govml.monitor import drift_report
    >>> try:
    ...     drift_report([0.1, 0.2], [0.3])
    ... except govml.MonitorError as error:
    ...     print(str(error).split(";")[0])
    reference is a list
    """
