"""MLflow tracking and the model registry: the only govml module that imports mlflow.

Where runs go
-------------
With no ``MLFLOW_TRACKING_URI`` set, tracking is **embedded**: runs, metrics and the
model registry live in a SQLite file in the working directory
(``sqlite:///<cwd>/mlruns.db``) and artifacts (models, tables, figures) in
``<cwd>/mlartifacts`` (``GOVML_ARTIFACT_LOCATION`` moves them; see
:mod:`govml._config`). No server is started and runs, metrics and models stay on the
machine (MLflow's own anonymous usage telemetry is MLflow's setting: switch it off with
``MLFLOW_DISABLE_TELEMETRY=true`` or ``DO_NOT_TRACK=true``). To browse the runs, start
the MLflow UI in the same directory::

    mlflow ui --backend-store-uri sqlite:///mlruns.db

and open http://127.0.0.1:5000. Each govml experiment records the absolute path of its
artifact folder (``mlartifacts/<experiment>``), so the UI finds the files; moving the
project folder breaks those links (move ``mlruns.db`` and ``mlartifacts/`` together and
keep the path, or use a tracking server).

A tracking server is only ever the user's choice: set ``MLFLOW_TRACKING_URI`` (e.g.
``http://127.0.0.1:5000`` for ``mlflow server --host 127.0.0.1 --port 5000``) and
govml logs there instead; the server decides where artifacts go. govml checks that
the server answers before it starts a run, so a typo fails in a second with a
:class:`~govml.TrackingError` instead of MLflow retrying for minutes.

govml never changes MLflow's global state (``mlflow.set_tracking_uri`` would also
set the ``MLFLOW_TRACKING_URI`` environment variable and pin every later run to one
store): every call uses a client bound to the resolved URI. To use plain ``mlflow``
calls on the same store, call ``mlflow.set_tracking_uri(govml.tracking.tracking_uri())``.

MLflow's first use of a new SQLite file creates and migrates its tables and logs that
at INFO level; govml routes those messages to the ``govml.tracking`` logger at DEBUG,
so normal use prints nothing.

What a training run records
---------------------------
:func:`start_run` opens a run and yields a :class:`TrackedRun`: parameters, metrics
(``test.random_audit.pr_auc``, ``test.random_audit.market.ID.pr_auc`` and their
``.ci_low``/``.ci_high`` bounds from an :class:`~govml.training.metrics.Evaluation`),
tables, figures, files and the tags that make a run reproducible: the git commit
(``"unknown"`` outside a git checkout or without git) and the training-data
fingerprint. :func:`log_model` stores the model through govml's MLflow pyfunc flavor
(LightGBM text plus JSON, never a pickle), registers it under ``govml-<task>`` and
points the ``candidate`` alias at the new version. :func:`promote` moves the
``champion`` alias only when the candidate beats the current champion on the same
test period, and records the comparison on the version. :func:`load_model` reads a
model back from ``models:/name@alias``, ``models:/name/3``, ``runs:/<id>/model`` or a
local folder, again without unpickling anything.

Examples
--------
>>> from govml import tracking
>>> tracking.configure(tracking_uri="http://127.0.0.1:5000", check=False).is_server
True
>>> tracking.sanitize_key("test.market.ID.precision@k")
'test.market.ID.precision_k'

A training job (``evaluation`` from :mod:`govml.training.metrics`, ``model`` a
:class:`~govml.model.GovmlModel`, ``champion_pr_auc`` the current champion's PR-AUC on
the same test rows)::

    with tracking.start_run(experiment="low_quality", run_name="weekly") as run:
        run.log_params({"lgbm": params, "test_period": [start, end]})
        run.log_fingerprint(model.metadata.fingerprint)
        run.log_evaluation(evaluation, prefix="test")
        info = tracking.log_model(model, run=run)
    decision = tracking.promote(
        info.name, info.version,
        candidate_metric=evaluation.random_audit.overall.pr_auc.value,
        champion_metric=champion_pr_auc,  # None before the first champion
        metric_name="test.random_audit.pr_auc",
        test_period=(start, end),
    )
    scorer = tracking.load_model("models:/govml-low_quality@champion")
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import math
import numbers
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from govml._config import get_settings
from govml._exceptions import ConfigError, TrackingError

if TYPE_CHECKING:
    import mlflow

    from govml.model import DataFingerprint, GovmlModel
    from govml.training.metrics import Evaluation, ReviewedEvaluation

__all__ = [
    "DEFAULT_EXPERIMENT",
    "CHAMPION",
    "CANDIDATE",
    "MODEL_ARTIFACT",
    "TrackingConfig",
    "TrackedRun",
    "LoggedMetrics",
    "ModelVersionInfo",
    "PromotionDecision",
    "tracking_uri",
    "configure",
    "start_run",
    "sanitize_key",
    "git_commit",
    "default_registered_name",
    "log_model",
    "load_model",
    "get_version",
    "champion",
    "promote",
]

_log = logging.getLogger(__name__)

#: Experiment that :func:`start_run` uses when none is given.
DEFAULT_EXPERIMENT = "govml"
#: Alias of the registered version that scoring should use.
CHAMPION = "champion"
#: Alias of the most recently logged version.
CANDIDATE = "candidate"
#: Name of the logged model inside a run: ``runs:/<run_id>/model``.
MODEL_ARTIFACT = "model"

_MAX_KEY_LENGTH = 250  # MLflow's limit for metric, param and tag keys
_MAX_METRICS_PER_BATCH = 1000
_MAX_PARAMS_PER_BATCH = 100
_BAD_KEY_CHARS = re.compile(r"[^\w.\- /]")
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_NOISY_LOGGERS = (
    "mlflow.store.db.utils",  # "Creating initial MLflow database tables..."
    "mlflow.store.model_registry.abstract_store",  # "Waiting up to 300 seconds..."
    "alembic",
    "alembic.runtime.migration",
)
_SERVER_SCHEMES = ("http", "https")
_QUIET_ENV = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
_FORMS = (
    "models:/<name>@<alias>, models:/<name>/<version>, models:/<logged model id>, "
    "runs:/<run_id>/model, or a local model folder"
)


# --------------------------------------------------------------------------- plumbing


def _mlflow() -> Any:
    """Import mlflow lazily (seconds of import time; ``import govml`` must stay fast)."""
    import mlflow

    return mlflow


class _ToDebug(logging.Filter):
    """Send MLflow's INFO chatter (table creation, migrations) to govml's DEBUG log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.INFO:
            _log.debug("%s: %s", record.name, record.getMessage())
            return False
        return True


_TO_DEBUG = _ToDebug()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence MLflow's INFO messages (SQLite migrations), progress bars and run links.

    Progress bars and the "View run at" lines MLflow prints to stdout for a server are
    switched off through MLflow's own environment variables, only while govml calls
    MLflow and only when the user has not set them (``TrackedRun.url`` has the link).
    """
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    for logger in loggers:
        logger.addFilter(_TO_DEBUG)
    unset = [name for name in _QUIET_ENV if name not in os.environ]
    for name in unset:
        os.environ[name] = _QUIET_ENV[name]
    try:
        yield
    finally:
        for name in unset:
            os.environ.pop(name, None)
        for logger in loggers:
            logger.removeFilter(_TO_DEBUG)


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", "") or "")


def _is_mlflow_error(exc: BaseException) -> bool:
    from mlflow.exceptions import MlflowException

    return isinstance(exc, MlflowException)


def _is_store_error(exc: BaseException) -> bool:
    """MLflow's own errors, database errors of SQL stores, and I/O errors."""
    if _is_mlflow_error(exc) or isinstance(exc, OSError):
        return True
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover - mlflow depends on sqlalchemy
        return False
    return isinstance(exc, SQLAlchemyError)


@contextlib.contextmanager
def _errors(action: str, config: TrackingConfig) -> Iterator[None]:
    """Turn MLflow's exceptions into a :class:`TrackingError` that names the store."""
    try:
        yield
    except TrackingError:
        raise
    except Exception as exc:
        if not _is_store_error(exc):
            raise
        message = getattr(exc, "message", None) or str(exc)
        message = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
        hint = ""
        if config.is_server and re.search(
            r"connect|max retries|refused|timed out", message, re.IGNORECASE
        ):
            hint = " " + _server_fix(config.tracking_uri)
        elif config.embedded and re.search(r"not a database|malformed", message, re.IGNORECASE):
            hint = (
                " The file is not an MLflow SQLite store: move it away (a new store is "
                "created) or point MLFLOW_TRACKING_URI at the right one."
            )
        raise TrackingError(
            f"{action} failed on the MLflow tracking store {config.tracking_uri}: {message}{hint}"
        ) from exc


def _server_fix(uri: str) -> str:
    parsed = urllib.parse.urlparse(uri)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return (
        "Start the server (e.g. `mlflow server --host 127.0.0.1 --port "
        f"{port} --backend-store-uri sqlite:///mlruns.db`), fix MLFLOW_TRACKING_URI, or "
        "unset MLFLOW_TRACKING_URI to track into the embedded store "
        "(sqlite:///<cwd>/mlruns.db)"
    )


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class TrackingConfig:
    """Where tracking goes: the resolved tracking URI and the artifact root.

    Build one with :func:`configure`. The model registry always lives in the same
    store as the runs.

    Attributes
    ----------
    tracking_uri : str
        MLflow tracking (and registry) URI.
    artifact_location : str or None
        Root under which new experiments store artifacts (one folder per experiment),
        or None when a tracking server decides.

    Examples
    --------
    >>> import tempfile
    >>> from govml.tracking import configure
    >>> tmp = tempfile.gettempdir()  # check=False: nothing is created
    >>> local = configure(tracking_uri=f"sqlite:///{tmp}/mlruns.db", cwd=tmp, check=False)
    >>> local.embedded, local.is_server, local.artifact_location is not None
    (True, False, True)
    """

    tracking_uri: str
    artifact_location: str | None

    @property
    def embedded(self) -> bool:
        """True for the local SQLite store (no server).

        Examples
        --------
        >>> from govml.tracking import TrackingConfig
        >>> TrackingConfig("sqlite:////tmp/project/mlruns.db", "/tmp/project/mlartifacts").embedded
        True
        """
        return self.tracking_uri.startswith("sqlite:")

    @property
    def is_server(self) -> bool:
        """True when runs go to an MLflow tracking server over HTTP(S).

        Examples
        --------
        >>> from govml.tracking import TrackingConfig
        >>> TrackingConfig("https://mlflow.example.com", None).is_server
        True
        """
        return urllib.parse.urlparse(self.tracking_uri).scheme in _SERVER_SCHEMES


def tracking_uri(*, cwd: str | os.PathLike[str] | None = None) -> str:
    """The tracking URI govml uses: ``MLFLOW_TRACKING_URI`` or the embedded SQLite store.

    Parameters
    ----------
    cwd : path-like, optional
        Folder of the embedded store (default: the current directory).

    Returns
    -------
    str

    Examples
    --------
    >>> import govml
    >>> from govml.tracking import tracking_uri
    >>> tracking_uri(cwd="/tmp/project") == govml.get_settings(cwd="/tmp/project").tracking_uri
    True

    Without ``MLFLOW_TRACKING_URI`` this is ``'sqlite:////tmp/project/mlruns.db'``.
    """
    return get_settings(cwd=cwd).tracking_uri


def _absolute_location(location: str, base: Path) -> str:
    """A local artifact location as an absolute path; URIs (``s3://...``) unchanged."""
    scheme = urllib.parse.urlparse(location).scheme
    if len(scheme) > 1 and scheme != "file":
        return location.rstrip("/")
    path = Path(location[len("file://") :] if scheme == "file" else location)
    return (path if path.is_absolute() else base / path).resolve().as_posix()


def _sqlite_path(uri: str) -> Path | None:
    rest = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else None
    if not rest or rest.startswith(":memory:"):
        return None
    return Path(urllib.parse.unquote(rest.split("?", 1)[0]))


def _check_server(uri: str, timeout: float, source: str) -> None:
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read(64)
    except urllib.error.HTTPError:
        return  # the server answered (e.g. 401 behind auth, 404 behind a proxy)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(
            f"the MLflow tracking server at {uri} (from {source}) is unreachable: "
            f"{reason}. {_server_fix(uri)}"
        ) from None


def configure(
    *,
    tracking_uri: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = True,
    timeout: float = 5.0,
) -> TrackingConfig:
    """Resolve where tracking goes and check that the store can be used.

    With no ``MLFLOW_TRACKING_URI`` the store is ``sqlite:///<cwd>/mlruns.db`` with
    artifacts under ``<cwd>/mlartifacts`` (``GOVML_ARTIFACT_LOCATION``); browse it with
    ``mlflow ui --backend-store-uri sqlite:///mlruns.db`` run in that folder. A server
    URI (``http://...``) is used as given and must answer ``/health``. Other database
    URIs (``postgresql://...``) get the artifact location too, since no server
    proxies their artifacts.

    Nothing global changes: the result is passed to (or resolved again by) the other
    functions of this module.

    Parameters
    ----------
    tracking_uri : str, optional
        Use this URI instead of the settings (environment or embedded default).
    cwd : path-like, optional
        Folder of the embedded store and of relative artifact locations.
    check : bool, default True
        Check the store: the server answers, or the SQLite file can be opened (its
        tables are created on first use, quietly).
    timeout : float, default 5.0
        Seconds to wait for a server's health endpoint.

    Returns
    -------
    TrackingConfig

    Raises
    ------
    TrackingError
        The server does not answer, the SQLite file's folder does not exist, or the
        store cannot be opened.

    Examples
    --------
    >>> import tempfile
    >>> from govml.tracking import configure
    >>> configure(tracking_uri="http://127.0.0.1:5000", check=False).artifact_location is None
    True
    >>> tmp = tempfile.gettempdir()  # check=False: nothing is created
    >>> configure(tracking_uri=f"sqlite:///{tmp}/mlruns.db", cwd=tmp, check=False).embedded
    True
    >>> configure(tracking_uri="sqlite:////no/such/folder/mlruns.db")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.TrackingError: the SQLite tracking store ... which does not exist; ...
    """
    settings = get_settings(cwd=cwd)
    base = Path(cwd) if cwd is not None else Path.cwd()
    uri = tracking_uri or settings.tracking_uri
    scheme = urllib.parse.urlparse(uri).scheme
    if scheme in _SERVER_SCHEMES or scheme.startswith("databricks"):
        config = TrackingConfig(tracking_uri=uri, artifact_location=None)
        if check and scheme in _SERVER_SCHEMES:
            source = "the tracking_uri argument" if tracking_uri else "MLFLOW_TRACKING_URI"
            _check_server(uri, timeout, source)
        return config
    config = TrackingConfig(
        tracking_uri=uri, artifact_location=_absolute_location(settings.artifact_location, base)
    )
    db = _sqlite_path(uri)
    if db is not None and not db.parent.is_dir():
        raise TrackingError(
            f"the SQLite tracking store {uri} is in folder {db.parent}, which does not exist; "
            "create the folder, point MLFLOW_TRACKING_URI at an existing one, or unset it "
            "for the default sqlite:///<cwd>/mlruns.db"
        )
    if check:
        with _quiet(), _errors("opening the store", config):
            _client(config).search_experiments(max_results=1)
    return config


def _client(config: TrackingConfig) -> mlflow.MlflowClient:
    mlflow = _mlflow()
    return mlflow.MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)


def _resolve(tracking: TrackingConfig | None) -> TrackingConfig:
    return tracking if tracking is not None else configure()


# --------------------------------------------------------------------------- names and values


def sanitize_key(name: Any) -> str:
    """A metric, param or tag name that MLflow accepts.

    Characters other than letters, digits, ``_ - . /`` and spaces become ``_``;
    empty, ``.`` and ``..`` path segments (which MLflow rejects because names may be
    used as file paths) are removed or replaced. Dots are kept: they nest names
    (``test.market.ID.pr_auc``).

    Parameters
    ----------
    name : str
        Any name (non-strings are converted with ``str``).

    Returns
    -------
    str

    Raises
    ------
    TrackingError
        If nothing is left of the name, or it is longer than MLflow's 250 characters.

    Examples
    --------
    >>> from govml.tracking import sanitize_key
    >>> sanitize_key("test.market.ID.recall@P0.8")
    'test.market.ID.recall_P0.8'
    >>> sanitize_key("/a//b/../c")
    'a/b/_/c'
    """
    text = _BAD_KEY_CHARS.sub("_", str(name).strip())
    parts = ["_" if p in (".", "..") else p for p in text.split("/") if p.strip()]
    key = "/".join(parts)
    if not key:
        raise TrackingError(
            f"name {name!r} is empty once the characters MLflow rejects are removed; use "
            "letters, digits, '_', '-', '.', '/' or spaces"
        )
    if len(key) > _MAX_KEY_LENGTH:
        raise TrackingError(
            f"name {key[:60]!r}... has {len(key)} characters; MLflow allows at most "
            f"{_MAX_KEY_LENGTH}: use a shorter prefix or name"
        )
    return key


def _join(prefix: str | None, key: Any) -> str:
    key = str(key)
    if prefix is None or not str(prefix).strip(". "):
        return key
    return f"{str(prefix).rstrip('.')}.{key}"


def _sanitized(items: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Sanitise every key; two keys that sanitise to the same name are an error."""
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for raw, value in items.items():
        key = sanitize_key(raw)
        if key in origin and origin[key] != str(raw):
            raise TrackingError(
                f"{what} names {origin[key]!r} and {raw!r} both become {key!r} once the "
                "characters MLflow rejects are replaced; rename one of them"
            )
        origin[key] = str(raw)
        out[key] = value
    return out


def _flatten(mapping: Mapping[str, Any], prefix: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = _join(prefix, key)
        if isinstance(value, Mapping):
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Path):
        return value.as_posix()
    raise TrackingError(
        f"cannot write a {type(value).__name__} value ({value!r:.80}) as JSON; convert it to "
        "text, a number, a list or a mapping first"
    )


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return json.dumps(items, default=_json_default)
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _metric_value(key: str, value: Any) -> float:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TrackingError(
        f"metric {key!r} has value {value!r:.80} ({type(value).__name__}); metrics must be "
        "numbers: log text with log_params or as a tag"
    )


def _artifact_name(name: str, *, default_suffix: str) -> str:
    """A relative artifact path (``tables/catalogue.parquet``); no absolute or ``..`` parts."""
    text = str(name).replace("\\", "/").strip()
    parts = [p for p in text.split("/") if p]
    if not parts or text.startswith("/") or any(p in (".", "..") for p in parts):
        raise TrackingError(
            f"artifact name {name!r} must be a relative path inside the run (e.g. "
            "'tables/catalogue.parquet'), without '..' or a leading '/'"
        )
    path = "/".join(parts)
    return path if Path(path).suffix else path + default_suffix


def _split_artifact(path: str) -> tuple[str | None, str]:
    folder, _, filename = path.rpartition("/")
    return (folder or None), filename


# --------------------------------------------------------------------------- git


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_commit(path: str | os.PathLike[str] | None = None) -> str:
    """The commit checked out at ``path`` (``git rev-parse HEAD``), or ``"unknown"``.

    Never fails: without git, outside a checkout, or on any git error the answer is
    ``"unknown"``.

    Parameters
    ----------
    path : path-like, optional
        A folder inside the checkout (default: the current directory).

    Returns
    -------
    str

    Examples
    --------
    >>> import tempfile
    >>> from govml.tracking import git_commit
    >>> git_commit(tempfile.mkdtemp())
    'unknown'
    """
    folder = Path(path) if path is not None else Path.cwd()
    out = _git(["rev-parse", "HEAD"], folder)
    sha = (out or "").strip()
    return sha if _SHA.fullmatch(sha) else "unknown"


def _git_dirty(folder: Path) -> str:
    out = _git(["status", "--porcelain", "--untracked-files=no"], folder)
    if out is None:
        return "unknown"
    return "true" if out.strip() else "false"


def _default_tags() -> dict[str, str]:
    from govml import __version__

    cwd = Path.cwd()
    commit = git_commit(cwd)
    tags = {
        "govml.version": __version__,
        "govml.git_commit": commit,
        "govml.git_dirty": _git_dirty(cwd) if commit != "unknown" else "unknown",
    }
    if commit != "unknown":
        tags["mlflow.source.git.commit"] = commit  # shown by the MLflow UI
    with contextlib.suppress(Exception):
        tags["mlflow.user"] = getpass.getuser()
    return tags


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class LoggedMetrics:
    """What :meth:`TrackedRun.log_metrics` sent to MLflow.

    Attributes
    ----------
    values : mapping of str to float
        Logged metric name (sanitised) to value.
    skipped : tuple of str
        Names whose value was NaN or infinite (undefined, e.g. ROC-AUC of a single
        class): not logged, so charts and comparisons only see defined values. The
        tidy table written by :meth:`TrackedRun.log_evaluation` keeps them.

    Examples
    --------
    :meth:`TrackedRun.log_metrics` returns one (see :func:`start_run`):

    >>> from govml.tracking import LoggedMetrics
    >>> logged = LoggedMetrics(values={"test.pr_auc": 0.41}, skipped=("test.roc_auc",))
    >>> len(logged), logged.skipped
    (1, ('test.roc_auc',))
    """

    values: Mapping[str, float]
    skipped: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.values)


class TrackedRun:
    """An open MLflow run, yielded by :func:`start_run`.

    Every method logs immediately. After the ``with`` block ends the run is closed
    and the methods raise :class:`~govml.TrackingError`.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from govml import tracking
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the store
    >>> store = tracking.configure(tracking_uri=f"sqlite:///{work.name}/mlruns.db", cwd=work.name)
    >>> with tracking.start_run(experiment="demo", run_name="weekly", tracking=store) as run:
    ...     params = run.log_params({"lgbm": {"num_leaves": 7}, "rows": 1200})
    ...     tags = run.set_tags({"team": "governance"})
    ...     logged = run.log_metrics({"pr_auc": 0.41, "roc_auc": float("nan")}, prefix="test")
    ...     paths = [run.log_dict({"task": "low_quality"}, "config/resolved"),
    ...              run.log_frame(pd.DataFrame({"n": [1, 2]}), "tables/counts.csv")]
    >>> dict(params)
    {'lgbm.num_leaves': '7', 'rows': '1200'}
    >>> dict(logged.values), logged.skipped, paths
    ({'test.pr_auc': 0.41}, ('test.roc_auc',), ['config/resolved.json', 'tables/counts.csv'])
    >>> run.experiment_name, run.run_name, run.active, run.url, run.tracking == store
    ('demo', 'weekly', False, None, True)
    >>> run.log_metrics({"late": 1.0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.TrackingError: cannot log metrics: run ... has ended; ...
    >>> work.cleanup()
    """

    __slots__ = (
        "_client",
        "_config",
        "_run_id",
        "_experiment_id",
        "_experiment_name",
        "_run_name",
        "_artifact_uri",
        "_active",
    )

    def __init__(
        self,
        client: mlflow.MlflowClient,
        config: TrackingConfig,
        run: Any,
        experiment_name: str,
    ) -> None:
        self._client = client
        self._config = config
        self._run_id: str = run.info.run_id
        self._experiment_id: str = run.info.experiment_id
        self._experiment_name = experiment_name
        self._run_name: str = run.info.run_name
        self._artifact_uri: str = run.info.artifact_uri
        self._active = True

    @property
    def run_id(self) -> str:
        """MLflow run id."""
        return self._run_id

    @property
    def experiment_id(self) -> str:
        """MLflow experiment id."""
        return self._experiment_id

    @property
    def experiment_name(self) -> str:
        """Experiment name."""
        return self._experiment_name

    @property
    def run_name(self) -> str:
        """Run name (MLflow picks one when none was given)."""
        return self._run_name

    @property
    def artifact_uri(self) -> str:
        """Where the run's artifacts are stored."""
        return self._artifact_uri

    @property
    def tracking(self) -> TrackingConfig:
        """The store the run lives in."""
        return self._config

    @property
    def url(self) -> str | None:
        """Link to the run in a tracking server's UI (None for the embedded store)."""
        if not self._config.is_server:
            return None
        base = self._config.tracking_uri.rstrip("/")
        return f"{base}/#/experiments/{self._experiment_id}/runs/{self._run_id}"

    @property
    def active(self) -> bool:
        """False once the ``with`` block of :func:`start_run` has ended."""
        return self._active

    def __repr__(self) -> str:
        state = "active" if self._active else "ended"
        return (
            f"TrackedRun(run_id={self._run_id!r}, experiment={self._experiment_name!r}, "
            f"{state}, store={self._config.tracking_uri!r})"
        )

    def _check_active(self, what: str) -> None:
        if not self._active:
            raise TrackingError(
                f"cannot {what}: run {self._run_id} has ended; log inside the "
                "`with govml.tracking.start_run(...) as run:` block"
            )

    def _errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        return _errors(f"{action} (run {self._run_id})", self._config)

    # ------------------------------------------------------------- tags and params

    def set_tags(self, tags: Mapping[str, Any]) -> Mapping[str, str]:
        """Set run tags (values become text).

        Parameters
        ----------
        tags : mapping
            Tag name to value; names are sanitised with :func:`sanitize_key`.

        Returns
        -------
        mapping of str to str
            The tags as logged.
        """
        self._check_active("set tags")
        mlflow = _mlflow()
        clean = {k: _param_text(v) for k, v in _sanitized(tags, "tag").items()}
        entities = [mlflow.entities.RunTag(k, v) for k, v in clean.items()]
        with _quiet(), self._errors("setting tags"):
            for i in range(0, len(entities), _MAX_PARAMS_PER_BATCH):
                self._client.log_batch(self._run_id, tags=entities[i : i + _MAX_PARAMS_PER_BATCH])
        return MappingProxyType(clean)

    def log_params(self, params: Mapping[str, Any]) -> Mapping[str, str]:
        """Log parameters; nested mappings become dotted names (``lgbm.num_leaves``).

        MLflow parameters are write-once: logging a name again with the same value is
        fine, with a different value it is an error.

        Parameters
        ----------
        params : mapping
            Name to value. Values become text (floats round-trip, lists as JSON,
            timestamps as ISO 8601).

        Returns
        -------
        mapping of str to str
            The parameters as logged (sanitised names).

        Raises
        ------
        TrackingError
            If a parameter was already logged in this run with another value.
        """
        self._check_active("log params")
        mlflow = _mlflow()
        clean = {k: _param_text(v) for k, v in _sanitized(_flatten(params), "param").items()}
        with _quiet(), self._errors("logging params"):
            existing = self._client.get_run(self._run_id).data.params
            changed = {k: (existing[k], v) for k, v in clean.items() if existing.get(k, v) != v}
            if changed:
                shown = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
                raise TrackingError(
                    f"run {self._run_id} already has param(s) with other values ({shown}); "
                    "MLflow params are write-once: log the new values under other names or "
                    "in a new run"
                )
            entities = [mlflow.entities.Param(k, v) for k, v in clean.items()]
            for i in range(0, len(entities), _MAX_PARAMS_PER_BATCH):
                self._client.log_batch(self._run_id, params=entities[i : i + _MAX_PARAMS_PER_BATCH])
        return MappingProxyType(clean)

    # ------------------------------------------------------------- metrics

    def log_metrics(
        self, metrics: Mapping[str, Any], *, prefix: str | None = None, step: int = 0
    ) -> LoggedMetrics:
        """Log numeric metrics, optionally under a dotted prefix.

        Parameters
        ----------
        metrics : mapping of str to number
            Nested mappings become dotted names. Booleans log as 0/1.
        prefix : str, optional
            Prepended with a dot: ``prefix="test.random_audit"`` and ``"pr_auc"`` give
            ``test.random_audit.pr_auc``.
        step : int, default 0
            MLflow step (e.g. a fold or boosting round).

        Returns
        -------
        LoggedMetrics
            Logged names and values; NaN and infinite values are skipped and listed.

        Raises
        ------
        TrackingError
            A value is not a number, or two names collide once sanitised.
        """
        self._check_active("log metrics")
        mlflow = _mlflow()
        named = _sanitized({_join(prefix, k): v for k, v in _flatten(metrics).items()}, "metric")
        values: dict[str, float] = {}
        skipped: list[str] = []
        for key, raw in named.items():
            value = _metric_value(key, raw)
            if math.isfinite(value):
                values[key] = value
            else:
                skipped.append(key)
        now = int(time.time() * 1000)
        entities = [mlflow.entities.Metric(k, v, now, int(step)) for k, v in values.items()]
        with _quiet(), self._errors("logging metrics"):
            for i in range(0, len(entities), _MAX_METRICS_PER_BATCH):
                self._client.log_batch(
                    self._run_id, metrics=entities[i : i + _MAX_METRICS_PER_BATCH]
                )
        return LoggedMetrics(values=MappingProxyType(values), skipped=tuple(skipped))

    def log_evaluation(
        self, evaluation: Evaluation | ReviewedEvaluation, *, prefix: str
    ) -> LoggedMetrics:
        """Log every metric and confidence bound of an evaluation, plus its tidy table.

        For an :class:`~govml.training.metrics.Evaluation` and ``prefix="test"``:
        ``test.pr_auc``, ``test.pr_auc.ci_low``, ``test.pr_auc.ci_high`` (likewise
        every metric), ``test.n_rows``, ``test.n_positive``, and per market
        ``test.market.ID.pr_auc`` and so on. A
        :class:`~govml.training.metrics.ReviewedEvaluation` logs both samples:
        ``test.random_audit.*`` (unbiased) and ``test.all_reviewed.*``. The tidy table
        (``to_frame()``, NaN kept) goes to ``evaluation/<prefix>.csv`` and, with the
        sample, capacity, bootstrap settings and notes, to ``evaluation/<prefix>.json``.

        Parameters
        ----------
        evaluation : Evaluation or ReviewedEvaluation
        prefix : str
            E.g. ``"test"`` or ``"validation"``.

        Returns
        -------
        LoggedMetrics
            Undefined (NaN) metrics and bounds are listed in ``skipped``.

        Raises
        ------
        TrackingError
            If ``evaluation`` is not an evaluation.
        """
        from govml.training.metrics import Evaluation, ReviewedEvaluation

        self._check_active("log an evaluation")
        if isinstance(evaluation, ReviewedEvaluation):
            parts = [
                ("random_audit", evaluation.random_audit),
                ("all_reviewed", evaluation.all_reviewed),
            ]
        elif isinstance(evaluation, Evaluation):
            parts = [(None, evaluation)]
        else:
            raise TrackingError(
                f"log_evaluation expects an Evaluation or ReviewedEvaluation from "
                f"govml.training.metrics, got {type(evaluation).__name__}; log plain numbers "
                "with log_metrics"
            )
        base_key = sanitize_key(prefix)
        metrics: dict[str, float] = {}
        documents = []
        for sub, ev in parts:
            base = base_key if sub is None else f"{base_key}.{sub}"
            for segment in ev.segments:
                seg = base if segment is ev.overall else f"{base}.market.{segment.segment}"
                metrics[f"{seg}.n_rows"] = segment.n_rows
                metrics[f"{seg}.n_positive"] = segment.n_positive
                for m in segment.metrics:
                    metrics[f"{seg}.{m.name}"] = m.value
                    metrics[f"{seg}.{m.name}.ci_low"] = m.ci_low
                    metrics[f"{seg}.{m.name}.ci_high"] = m.ci_high
            documents.append(
                {
                    "prefix": base,
                    "sample": ev.sample,
                    "score_col": ev.score_col,
                    "n_rows": ev.n_rows,
                    "n_positive": ev.n_positive,
                    "capacity": ev.capacity,
                    "target_precision": ev.target_precision,
                    "confidence": ev.confidence,
                    "n_bootstrap": ev.n_bootstrap,
                    "seed": ev.seed,
                    "ece_bins": ev.ece_bins,
                    "notes": list(ev.notes),
                    "metrics": json.loads(ev.to_frame().to_json(orient="records")),
                }
            )
        logged = self.log_metrics(metrics)
        document: dict[str, Any] = {"evaluations": documents}
        if isinstance(evaluation, ReviewedEvaluation):
            document["sample_counts"] = dict(evaluation.sample_counts)
        self.log_frame(evaluation.to_frame(), f"evaluation/{base_key}.csv")
        self.log_dict(document, f"evaluation/{base_key}.json")
        return logged

    def log_fingerprint(self, fingerprint: DataFingerprint, *, role: str = "train") -> None:
        """Tag the run with a data fingerprint and store it as JSON.

        Tags ``govml.data.<role>.sha256``, ``.n_rows``, ``.n_positive``,
        ``.label_rate``, ``.time_min`` and ``.time_max``; the whole fingerprint goes to
        ``data/<role>_fingerprint.json``.

        Parameters
        ----------
        fingerprint : DataFingerprint
            From :func:`govml.model.fingerprint`.
        role : str, default "train"
            Which data it describes (``"train"``, ``"validation"``, ``"test"``).
        """
        self._check_active("log a fingerprint")
        data = fingerprint.to_dict()
        role_key = sanitize_key(role)
        tags = {
            f"govml.data.{role_key}.{key}": data[key]
            for key in ("sha256", "n_rows", "n_positive", "label_rate", "time_min", "time_max")
        }
        self.set_tags(tags)
        self.log_dict(data, f"data/{role_key}_fingerprint.json")

    # ------------------------------------------------------------- artifacts

    def _log_local(self, local: Path, artifact_path: str) -> str:
        folder, _ = _split_artifact(artifact_path)
        with _quiet(), self._errors(f"logging artifact {artifact_path!r}"):
            self._client.log_artifact(self._run_id, str(local), artifact_path=folder)
        return artifact_path

    def log_frame(
        self,
        frame: pd.DataFrame,
        name: str,
        *,
        format: Literal["parquet", "csv"] | None = None,
    ) -> str:
        """Store a DataFrame as a parquet or CSV artifact (e.g. the feature catalogue).

        Parameters
        ----------
        frame : DataFrame
            Not modified.
        name : str
            Artifact path, e.g. ``"tables/catalogue"``; ``.parquet`` or ``.csv`` as the
            suffix picks the format, otherwise ``format`` does and is appended.
        format : {"parquet", "csv"}, optional
            Default: from the suffix, else parquet. The index is kept only when it is
            not a default range index.

        Returns
        -------
        str
            The artifact path inside the run.

        Raises
        ------
        TrackingError
            Not a DataFrame, an unknown format or suffix, or a format that contradicts
            the suffix.
        """
        self._check_active("log a table")
        if not isinstance(frame, pd.DataFrame):
            raise TrackingError(
                f"log_frame expects a pandas DataFrame, got {type(frame).__name__}; wrap it "
                "with pd.DataFrame(...)"
            )
        suffix = Path(str(name)).suffix.lower()
        by_suffix = {".parquet": "parquet", ".csv": "csv"}
        if suffix and suffix not in by_suffix:
            raise TrackingError(
                f"table artifact {name!r} has suffix {suffix!r}; use '.parquet' or '.csv' "
                "(or no suffix and format=...)"
            )
        fmt = format or by_suffix.get(suffix, "parquet")
        if fmt not in ("parquet", "csv") or (suffix and by_suffix[suffix] != fmt):
            raise TrackingError(
                f"format={format!r} does not fit table artifact {name!r}; use 'parquet' or "
                "'csv', matching the suffix if there is one"
            )
        path = _artifact_name(name, default_suffix=f".{fmt}")
        keep_index = not isinstance(frame.index, pd.RangeIndex)
        with tempfile.TemporaryDirectory(prefix="govml-artifact-") as tmp:
            local = Path(tmp) / _split_artifact(path)[1]
            if fmt == "parquet":
                frame.to_parquet(local, index=keep_index)
            else:
                frame.to_csv(local, index=keep_index)
            return self._log_local(local, path)

    def log_figure(self, figure: Any, name: str, *, dpi: int = 120) -> str:
        """Store a matplotlib figure as an image artifact under ``figures/``.

        Parameters
        ----------
        figure : matplotlib.figure.Figure
            Anything with ``savefig``; not closed.
        name : str
            E.g. ``"calibration"`` (``figures/calibration.png``) or
            ``"shap/summary.svg"``; the suffix picks the image format (default PNG).
        dpi : int, default 120

        Returns
        -------
        str
            The artifact path inside the run.

        Raises
        ------
        TrackingError
            If ``figure`` cannot be saved as an image.
        """
        self._check_active("log a figure")
        if not callable(getattr(figure, "savefig", None)):
            raise TrackingError(
                f"log_figure expects a matplotlib Figure (with savefig), got "
                f"{type(figure).__name__}; for an Axes pass ax.figure"
            )
        path = _artifact_name(f"figures/{name}", default_suffix=".png")
        with tempfile.TemporaryDirectory(prefix="govml-artifact-") as tmp:
            local = Path(tmp) / _split_artifact(path)[1]
            figure.savefig(local, dpi=dpi, bbox_inches="tight")
            return self._log_local(local, path)

    def log_file(self, path: str | os.PathLike[str], *, artifact_dir: str | None = None) -> str:
        """Store a local file (e.g. the experiment YAML) or folder as an artifact.

        Parameters
        ----------
        path : path-like
            An existing file or folder.
        artifact_dir : str, optional
            Folder inside the run's artifacts (default: the top level).

        Returns
        -------
        str
            The artifact path inside the run.

        Raises
        ------
        TrackingError
            If ``path`` does not exist.
        """
        self._check_active("log a file")
        local = Path(path)
        if not local.exists():
            raise TrackingError(
                f"cannot log {local}: no such file or folder; pass the path of an existing "
                "file (e.g. the experiment YAML)"
            )
        folder = None if artifact_dir is None else _artifact_name(artifact_dir, default_suffix="")
        target = f"{folder}/{local.name}" if folder else local.name
        with _quiet(), self._errors(f"logging {local}"):
            if local.is_dir():
                self._client.log_artifacts(self._run_id, str(local), artifact_path=target)
            else:
                self._client.log_artifact(self._run_id, str(local), artifact_path=folder)
        return target

    def log_dict(self, data: Mapping[str, Any] | list[Any], name: str) -> str:
        """Store a mapping (or list) as a JSON artifact, or YAML for a ``.yaml`` name.

        Timestamps become ISO 8601 text and numpy scalars plain numbers; NaN becomes
        ``null`` in JSON.

        Parameters
        ----------
        data : mapping or list
        name : str
            Artifact path, e.g. ``"config/resolved"`` (``.json`` is appended).

        Returns
        -------
        str
            The artifact path inside the run.

        Raises
        ------
        TrackingError
            A value cannot be written as JSON (e.g. an arbitrary object).
        """
        self._check_active("log a dict")
        path = _artifact_name(name, default_suffix=".json")
        plain = json.loads(
            json.dumps(data, default=_json_default, allow_nan=True), parse_constant=lambda _: None
        )
        with tempfile.TemporaryDirectory(prefix="govml-artifact-") as tmp:
            local = Path(tmp) / _split_artifact(path)[1]
            if local.suffix.lower() in (".yaml", ".yml"):
                import yaml

                text = yaml.safe_dump(plain, sort_keys=True, allow_unicode=True)
            else:
                text = json.dumps(plain, indent=2, sort_keys=True, allow_nan=False) + "\n"
            local.write_text(text, encoding="utf-8")
            return self._log_local(local, path)


def _experiment_id(client: mlflow.MlflowClient, config: TrackingConfig, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = None
        if config.artifact_location is not None:
            location = f"{config.artifact_location.rstrip('/')}/{_slug(name)}"
        try:
            return client.create_experiment(name, artifact_location=location)
        except Exception as exc:
            if "ALREADY_EXISTS" not in _error_code(exc):
                raise
            experiment = client.get_experiment_by_name(name)  # created concurrently
            if experiment is None:
                raise
    if experiment.lifecycle_stage != "active":
        raise TrackingError(
            f"experiment {name!r} (id {experiment.experiment_id}) was deleted in "
            f"{config.tracking_uri}; restore it with `mlflow experiments restore "
            f"--experiment-id {experiment.experiment_id}` or use another experiment name"
        )
    return experiment.experiment_id


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return slug or "experiment"


@contextlib.contextmanager
def start_run(
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    tracking: TrackingConfig | None = None,
) -> Iterator[TrackedRun]:
    """Open an MLflow run for the duration of a ``with`` block.

    The experiment is created if needed (embedded stores give it the folder
    ``<artifact root>/<experiment name>``). The run is tagged with the govml
    version, the git commit (``govml.git_commit`` and MLflow's
    ``mlflow.source.git.commit``; ``"unknown"`` outside a checkout or without git),
    whether the checkout had uncommitted changes (``govml.git_dirty``) and ``tags``.
    It ends as FINISHED, or FAILED (KILLED for Ctrl-C) when the block raises.

    Parameters
    ----------
    experiment : str, default "govml"
        Experiment name.
    run_name : str, optional
        MLflow picks a name when omitted.
    tags : mapping, optional
        Extra run tags (names sanitised, values as text).
    tracking : TrackingConfig, optional
        Default: :func:`configure` (``MLFLOW_TRACKING_URI`` or the embedded store).

    Yields
    ------
    TrackedRun

    Raises
    ------
    TrackingError
        The store cannot be used, or the experiment was deleted.
    ConfigError
        An empty experiment name.

    Examples
    --------
    >>> import tempfile
    >>> from govml.tracking import configure, start_run
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the store
    >>> store = configure(tracking_uri=f"sqlite:///{work.name}/mlruns.db", cwd=work.name)
    >>> with start_run(experiment="demo", tracking=store) as run:
    ...     logged = run.log_metrics({"pr_auc": 0.41}, prefix="test")
    >>> logged
    LoggedMetrics(values=mappingproxy({'test.pr_auc': 0.41}), skipped=())
    >>> len(run.run_id), run.active
    (32, False)
    >>> work.cleanup()
    """
    if not isinstance(experiment, str) or not experiment.strip():
        raise ConfigError(f"experiment={experiment!r}; pass a non-empty experiment name")
    config = _resolve(tracking)
    client = _client(config)
    with _quiet(), _errors(f"starting a run in experiment {experiment!r}", config):
        experiment_id = _experiment_id(client, config, experiment)
        all_tags = {**_default_tags(), **{k: _param_text(v) for k, v in (tags or {}).items()}}
        clean = {k: str(v) for k, v in _sanitized(all_tags, "tag").items()}
        run = client.create_run(experiment_id, run_name=run_name, tags=clean)
    handle = TrackedRun(client, config, run, experiment)
    if handle.url is not None:
        _log.info("MLflow run %s: %s", handle.run_name, handle.url)
    status = "FINISHED"
    try:
        yield handle
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except BaseException:
        status = "FAILED"
        raise
    finally:
        handle._active = False
        try:
            with _quiet(), _errors("ending the run", config):
                client.set_terminated(handle.run_id, status=status)
        except TrackingError:
            if status == "FINISHED":
                raise
            _log.warning("could not mark run %s as %s", handle.run_id, status, exc_info=True)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version.

    Attributes
    ----------
    name : str
        Registered model name, e.g. ``"govml-low_quality"``.
    version : int
    run_id : str or None
        Run that logged it.
    model_id : str or None
        MLflow logged-model id (``models:/<model_id>`` also loads it).
    model_uri : str
        ``models:/<name>/<version>``: pass it to :func:`load_model`.
    source : str
        Where the files are stored.
    aliases : tuple of str
        E.g. ``("candidate", "champion")``.
    task : str or None
        govml task of the model (``govml.task`` tag).
    tags : mapping of str to str
        All version tags (promotion decisions are recorded as ``govml.promotion.*``).

    Examples
    --------
    :func:`log_model`, :func:`get_version` and :func:`champion` return one:

    >>> from govml.tracking import ModelVersionInfo
    >>> info = ModelVersionInfo(name="govml-low_quality", version=3, run_id=None, model_id=None,
    ...                         model_uri="models:/govml-low_quality/3", source="/tmp/m",
    ...                         aliases=("candidate",), task="low_quality")
    >>> info.model_uri, "champion" in info.aliases
    ('models:/govml-low_quality/3', False)
    """

    name: str
    version: int
    run_id: str | None
    model_id: str | None
    model_uri: str
    source: str
    aliases: tuple[str, ...]
    task: str | None
    tags: Mapping[str, str] = field(default_factory=dict)


def _version_info(mv: Any) -> ModelVersionInfo:
    tags = dict(mv.tags or {})
    return ModelVersionInfo(
        name=mv.name,
        version=int(mv.version),
        run_id=mv.run_id or None,
        model_id=getattr(mv, "model_id", None) or tags.get("govml.logged_model_id"),
        model_uri=f"models:/{mv.name}/{mv.version}",
        source=mv.source,
        aliases=tuple(sorted(mv.aliases or ())),
        task=tags.get("govml.task"),
        tags=MappingProxyType(tags),
    )


def default_registered_name(task: str) -> str:
    """Default registry name of a task's models: ``govml-<task>``.

    Examples
    --------
    >>> from govml.tracking import default_registered_name
    >>> default_registered_name("adversarial")
    'govml-adversarial'
    """
    from govml.model import TASKS

    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; govml models are one of {list(TASKS)}")
    return f"govml-{task}"


def _check_registered_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or not name.strip()
        or any(c in name for c in "/:@")
        or name.strip() in (".", "..")
    ):
        raise ConfigError(
            f"registered model name {name!r} is invalid; use a non-empty name without '/', "
            "':' or '@' (e.g. 'govml-low_quality')"
        )
    return name


def _is_not_found(exc: BaseException) -> bool:
    return _error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


def _registered_model(client: mlflow.MlflowClient, config: TrackingConfig, name: str) -> Any:
    try:
        return client.get_registered_model(name)
    except Exception as exc:
        if not (_is_mlflow_error(exc) and _is_not_found(exc)):
            raise
    known: list[str] = []
    with contextlib.suppress(Exception):
        known = sorted(m.name for m in client.search_registered_models(max_results=20))
    raise TrackingError(
        f"no registered model named {name!r} in {config.tracking_uri} (registered models: "
        f"{known or 'none'}); log one with govml.tracking.log_model(...), or check "
        "MLFLOW_TRACKING_URI and the working directory of the embedded store"
    )


def _versions(client: mlflow.MlflowClient, name: str) -> list[int]:
    escaped = name.replace("'", "\\'")
    with contextlib.suppress(Exception):
        found = client.search_model_versions(f"name = '{escaped}'", max_results=1000)
        return sorted(int(v.version) for v in found)
    return []


def _model_version(
    client: mlflow.MlflowClient, config: TrackingConfig, name: str, version: int | str
) -> Any:
    registered = _registered_model(client, config, name)
    text = str(version).strip()
    if text.lower() == "latest":
        versions = _versions(client, name)
        if not versions:
            raise TrackingError(f"registered model {name!r} has no versions yet; log one first")
        text = str(versions[-1])
    if not text.isdigit():
        raise TrackingError(
            f"{text!r} is not a version of registered model {name!r}; versions are numbers "
            f"(stages such as 'Production' are deprecated: use aliases, e.g. "
            f"models:/{name}@{CHAMPION})"
        )
    try:
        return client.get_model_version(registered.name, text)
    except Exception as exc:
        if not (_is_mlflow_error(exc) and _is_not_found(exc)):
            raise
    raise TrackingError(
        f"registered model {name!r} has no version {text} (versions: "
        f"{_versions(client, name) or 'none'}) in {config.tracking_uri}"
    )


def _version_by_alias(
    client: mlflow.MlflowClient, config: TrackingConfig, name: str, alias: str
) -> Any:
    registered = _registered_model(client, config, name)
    aliases = dict(registered.aliases or {})
    if alias not in aliases:
        shown = ", ".join(f"{a} -> version {v}" for a, v in sorted(aliases.items())) or "none"
        fix = (
            "promote a version with govml.tracking.promote(...)"
            if alias == CHAMPION
            else f"set it with MlflowClient().set_registered_model_alias({name!r}, {alias!r}, v)"
        )
        raise TrackingError(
            f"registered model {name!r} has no alias {alias!r} (aliases: {shown}); {fix}, "
            f"or load a version by number: models:/{name}/<version>"
        )
    return client.get_model_version(name, str(aliases[alias]))


def get_version(
    name: str, version: int | str, *, tracking: TrackingConfig | None = None
) -> ModelVersionInfo:
    """Look up a registered version by number, ``"latest"`` or alias (``"@champion"``).

    Parameters
    ----------
    name : str
        Registered model name.
    version : int or str
        ``3``, ``"3"``, ``"latest"`` or ``"@champion"``.
    tracking : TrackingConfig, optional

    Returns
    -------
    ModelVersionInfo

    Raises
    ------
    TrackingError
        Unknown model, version or alias.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from govml import tracking
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y", num_boost_round=5,
    ...                    num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the store
    >>> store = tracking.configure(tracking_uri=f"sqlite:///{work.name}/mlruns.db", cwd=work.name)
    >>> with tracking.start_run(experiment="demo", tracking=store) as run:
    ...     info = tracking.log_model(model, run=run)
    >>> by_alias = tracking.get_version("govml-low_quality", "@candidate", tracking=store)
    >>> by_alias.version, by_alias.task, by_alias.run_id == run.run_id
    (1, 'low_quality', True)
    >>> tracking.get_version("govml-low_quality", "latest", tracking=store) == by_alias
    True
    >>> work.cleanup()
    """
    config = _resolve(tracking)
    client = _client(config)
    with _quiet(), _errors(f"looking up {name!r} version {version!r}", config):
        text = str(version)
        if text.startswith("@"):
            mv = _version_by_alias(client, config, name, text[1:])
        else:
            mv = _model_version(client, config, name, version)
    return _version_info(mv)


def champion(name: str, *, tracking: TrackingConfig | None = None) -> ModelVersionInfo | None:
    """The version the ``champion`` alias points at, or None before the first promotion.

    Parameters
    ----------
    name : str
        Registered model name.
    tracking : TrackingConfig, optional

    Returns
    -------
    ModelVersionInfo or None

    Raises
    ------
    TrackingError
        If the registered model does not exist.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from govml import tracking
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y", num_boost_round=5,
    ...                    num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the store
    >>> store = tracking.configure(tracking_uri=f"sqlite:///{work.name}/mlruns.db", cwd=work.name)
    >>> with tracking.start_run(experiment="demo", tracking=store) as run:
    ...     info = tracking.log_model(model, run=run)
    >>> tracking.champion("govml-low_quality", tracking=store) is None  # nothing promoted yet
    True
    >>> _ = tracking.promote("govml-low_quality", info.version, candidate_metric=0.4,
    ...                      champion_metric=None, metric_name="test.pr_auc",
    ...                      test_period=("2026-03-01T00:00Z", "2026-04-01T00:00Z"),
    ...                      tracking=store)
    >>> tracking.champion("govml-low_quality", tracking=store).version
    1
    >>> work.cleanup()
    """
    config = _resolve(tracking)
    client = _client(config)
    with _quiet(), _errors(f"looking up the champion of {name!r}", config):
        registered = _registered_model(client, config, name)
        version = dict(registered.aliases or {}).get(CHAMPION)
        if version is None:
            return None
        return _version_info(client.get_model_version(name, str(version)))


def _ensure_registered_model(
    client: mlflow.MlflowClient, config: TrackingConfig, name: str, task: str
) -> None:
    try:
        client.create_registered_model(
            name,
            tags={"govml.task": task},
            description=f"govml {task} models (LightGBM text + JSON metadata, no pickle)",
        )
        return
    except Exception as exc:
        if not (_is_mlflow_error(exc) and "ALREADY_EXISTS" in _error_code(exc)):
            raise
    existing = client.get_registered_model(name)
    other = dict(existing.tags or {}).get("govml.task")
    if other is not None and other != task:
        raise TrackingError(
            f"registered model {name!r} holds {other!r} models, not {task!r}; register "
            f"{task!r} models under {default_registered_name(task)!r} or another name"
        )


def _stamp_mlmodel(folder: Path, run_id: str, logged_model: Any) -> None:
    """Record the run and logged-model ids in MLmodel, as ``mlflow.<flavor>.log_model`` does."""
    from mlflow.models import Model

    mlmodel = Model.load(str(folder))
    mlmodel.run_id = run_id
    mlmodel.model_id = logged_model.model_id
    mlmodel.artifact_path = logged_model.artifact_location
    mlmodel.save(str(folder / "MLmodel"))


def log_model(
    model: GovmlModel,
    *,
    run: TrackedRun,
    registered_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    input_example: pd.DataFrame | None = None,
) -> ModelVersionInfo:
    """Log a model through govml's pyfunc flavor, register it and alias it ``candidate``.

    The files are govml's artifact (LightGBM text plus JSON metadata) inside an MLflow
    model directory whose loader is ``govml._pyfunc``: nothing is pickled. The model
    becomes a logged model of the run (``runs:/<run_id>/model``) and a new version of
    the registered model, tagged with the task, the model's name and version label and
    the training-data fingerprint. The ``candidate`` alias moves to the new version;
    ``champion`` moves only through :func:`promote`.

    Parameters
    ----------
    model : GovmlModel
    run : TrackedRun
        The open run that trained it.
    registered_name : str, optional
        Default ``govml-<task>`` (``govml-low_quality``, ``govml-adversarial``).
    tags : mapping, optional
        Extra model-version tags.
    input_example : DataFrame, optional
        A few scoring rows stored with the model (MLflow shows them and builds the
        serving example from them). Without one MLflow would warn; govml does not,
        because the signature already names every feature.

    Returns
    -------
    ModelVersionInfo
        Load it back with ``load_model(info.model_uri)``.

    Raises
    ------
    TrackingError
        The run has ended, the registered model holds another task's models, or the
        store rejects the model.
    ConfigError
        An invalid registered model name.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from govml import tracking
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y", num_boost_round=5,
    ...                    num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the store
    >>> store = tracking.configure(tracking_uri=f"sqlite:///{work.name}/mlruns.db", cwd=work.name)
    >>> with tracking.start_run(experiment="demo", tracking=store) as run:
    ...     info = tracking.log_model(model, run=run)
    >>> info.name, info.version, info.aliases, info.task
    ('govml-low_quality', 1, ('candidate',), 'low_quality')
    >>> info.model_uri
    'models:/govml-low_quality/1'
    >>> tracking.get_version(info.name, "@candidate", tracking=store) == info
    True
    >>> tracking.get_version(info.name, "latest", tracking=store).run_id == run.run_id
    True
    >>> work.cleanup()
    """
    from govml._pyfunc import save_pyfunc

    run._check_active("log a model")
    meta = model.metadata
    name = _check_registered_name(
        registered_name if registered_name is not None else default_registered_name(meta.task)
    )
    model_tags: dict[str, str] = {
        "govml.task": meta.task,
        "govml.model_name": meta.name,
        "govml.model_version_label": meta.version,
        "govml.n_features": str(len(meta.features)),
        "govml.calibration": str(meta.calibration.method),
    }
    if meta.catalogue_version is not None:
        model_tags["govml.catalogue_version"] = str(meta.catalogue_version)
    if meta.fingerprint is not None:
        model_tags["govml.data.train.sha256"] = meta.fingerprint.sha256
        model_tags["govml.data.train.n_rows"] = str(meta.fingerprint.n_rows)
    model_tags.update({k: _param_text(v) for k, v in _sanitized(tags or {}, "tag").items()})
    client, config = run._client, run._config
    with tempfile.TemporaryDirectory(prefix="govml-model-") as tmp:
        local = Path(tmp) / MODEL_ARTIFACT
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input example was not provided")
            save_pyfunc(model, local, input_example=input_example)
        with _quiet(), _errors(f"logging model {name!r}", config):
            logged = client.create_logged_model(
                run.experiment_id,
                name=MODEL_ARTIFACT,
                source_run_id=run.run_id,
                tags=model_tags,
                model_type=f"govml-{meta.task}",
            )
            try:
                _stamp_mlmodel(local, run.run_id, logged)
                client.log_model_artifacts(logged.model_id, str(local))
                client.finalize_logged_model(logged.model_id, "READY")
                client.log_outputs(
                    run.run_id, [_mlflow().entities.LoggedModelOutput(logged.model_id, step=0)]
                )
            except BaseException:
                with contextlib.suppress(Exception):
                    client.finalize_logged_model(logged.model_id, "FAILED")
                raise
            _ensure_registered_model(client, config, name, meta.task)
            # The storage location (not models:/<id>) as source: MLflow's SQL registry
            # would otherwise look the logged model up through the *global* tracking URI.
            mv = client.create_model_version(
                name,
                source=logged.artifact_location,
                run_id=run.run_id,
                tags={**model_tags, "govml.logged_model_id": logged.model_id},
                model_id=logged.model_id,
                description=f"{meta.task} model {meta.name!r} (label {meta.version!r})",
            )
            client.set_registered_model_alias(name, CANDIDATE, mv.version)
            mv = client.get_model_version(name, mv.version)
    return _version_info(mv)


# --------------------------------------------------------------------------- loading


def _load_folder(folder: Path, *, what: str) -> GovmlModel:
    """A govml model from an MLflow model directory (pyfunc flavor) or a plain model folder."""
    from govml._pyfunc import LOADER_MODULE
    from govml.model import GovmlModel

    if (folder / "MLmodel").is_file():
        from mlflow.models import Model

        pyfunc = Model.load(str(folder)).flavors.get("python_function", {})
        loader = pyfunc.get("loader_module")
        if loader != LOADER_MODULE:
            raise TrackingError(
                f"{what} is an MLflow model but not a govml model (python_function "
                f"loader_module={loader!r}, expected {LOADER_MODULE!r}); load it with "
                "mlflow.pyfunc.load_model, or pass a model logged by govml.tracking.log_model"
            )
        data = pyfunc.get("data")
        return GovmlModel.load(folder / data if data else folder)
    return GovmlModel.load(folder)


def _download(location: str, config: TrackingConfig, dst: Path) -> Path:
    mlflow = _mlflow()
    return Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=location,
            dst_path=str(dst),
            tracking_uri=config.tracking_uri,
            registry_uri=config.tracking_uri,
        )
    )


def _models_location(
    client: mlflow.MlflowClient, config: TrackingConfig, uri: str
) -> tuple[str, str | None]:
    """Storage location of ``models:/name@alias``, ``models:/name/N`` or ``models:/<id>``,
    and the registry version (None for a logged model id)."""
    path = uri[len("models:") :].lstrip("/")
    if "@" in path:
        name, alias = path.rsplit("@", 1)
        mv = _version_by_alias(client, config, name, alias)
        return client.get_model_version_download_uri(mv.name, mv.version), str(mv.version)
    if "/" in path:
        name, version = path.rsplit("/", 1)
        mv = _model_version(client, config, name, version)
        return client.get_model_version_download_uri(mv.name, mv.version), str(mv.version)
    if not path:
        raise TrackingError(f"model URI {uri!r} names no model; use {_FORMS}")
    try:
        return client.get_logged_model(path).artifact_location, None
    except Exception as exc:
        if not (_is_mlflow_error(exc) and _is_not_found(exc)):
            raise
    raise TrackingError(
        f"{uri!r} is neither a logged model id nor a registered version (for a registered "
        f"model use models:/{path}@{CHAMPION} or models:/{path}/<version>); accepted: {_FORMS}"
    )


def _runs_location(client: mlflow.MlflowClient, config: TrackingConfig, uri: str) -> str:
    """Storage location of ``runs:/<run_id>/<name>``: run artifacts or the run's logged model."""
    parts = uri[len("runs:") :].lstrip("/").split("/", 1)
    run_id, name = parts[0], (parts[1].strip("/") if len(parts) > 1 else "")
    if not run_id or not name:
        raise TrackingError(f"run URI {uri!r} must look like runs:/<run_id>/{MODEL_ARTIFACT}")
    try:
        run = client.get_run(run_id)
    except Exception as exc:
        if not (_is_mlflow_error(exc) and _is_not_found(exc)):
            raise
        raise TrackingError(f"no run {run_id!r} in {config.tracking_uri} (from {uri!r})") from None
    escaped = name.replace("'", "\\'")
    models = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"name = '{escaped}' AND source_run_id = '{run_id}'",
    )
    matches = [m for m in models if m.source_run_id == run_id]
    if not matches:  # a model saved as plain run artifacts (MLmodel under <name>/)
        location = f"{run.info.artifact_uri.rstrip('/')}/{name}"
        files = _mlflow().artifacts.list_artifacts(
            artifact_uri=location, tracking_uri=config.tracking_uri
        )
        if any(Path(f.path).name == "MLmodel" for f in files):
            return location
        raise TrackingError(
            f"run {run_id} has no model named {name!r} (from {uri!r}); models are logged "
            f"with govml.tracking.log_model as runs:/<run_id>/{MODEL_ARTIFACT}"
        )
    return max(matches, key=lambda m: m.creation_timestamp).artifact_location


def load_model(
    uri: str | os.PathLike[str], *, tracking: TrackingConfig | None = None
) -> GovmlModel:
    """Load a govml model from the registry, a run, or a local folder. Never unpickles.

    A model loaded from the registry (``models:/name@alias``, ``models:/name/N``)
    carries the registry's version number in ``metadata.version``.

    Parameters
    ----------
    uri : str or path-like
        ``models:/<name>@<alias>`` (e.g. ``models:/govml-low_quality@champion``),
        ``models:/<name>/<version>``, ``models:/<name>/latest``,
        ``models:/<logged model id>``, ``runs:/<run_id>/model``, any artifact URI of
        an MLflow model directory, or a local folder: an MLflow model directory
        written by govml's pyfunc flavor, or a plain :meth:`GovmlModel.save` folder.
    tracking : TrackingConfig, optional
        Store that resolves ``models:/`` and ``runs:/`` URIs (default:
        :func:`configure`).

    Returns
    -------
    GovmlModel
        Predicts exactly as the model that was logged.

    Raises
    ------
    TrackingError
        Unknown registered model, version, alias, run or logged model; a local path
        that does not exist; an MLflow model of another kind.
    ModelFormatError
        The files are not a valid govml model.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from govml import tracking
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y", num_boost_round=5,
    ...                    num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the store
    >>> store = tracking.configure(tracking_uri=f"sqlite:///{work.name}/mlruns.db", cwd=work.name)
    >>> with tracking.start_run(experiment="demo", tracking=store) as run:
    ...     info = tracking.log_model(model, run=run)
    >>> loaded = tracking.load_model("models:/govml-low_quality@candidate", tracking=store)
    >>> bool((loaded.predict_proba(df) == model.predict_proba(df)).all())
    True
    >>> tracking.load_model(model.save(f"{work.name}/plain")).metadata.name  # a local folder
    'demo'
    >>> work.cleanup()
    """
    text = os.fspath(uri)
    scheme = urllib.parse.urlparse(text).scheme
    if scheme in ("", "file") or len(scheme) == 1:  # a path (``C:`` on Windows)
        folder = Path(urllib.parse.urlparse(text).path if scheme == "file" else text)
        if not folder.exists():
            raise TrackingError(
                f"no model at {text!r}: the folder does not exist; accepted: {_FORMS}"
            )
        return _load_folder(folder, what=str(folder))
    config = _resolve(tracking)
    client = _client(config)
    registry_version = None
    with _quiet(), _errors(f"loading model {text!r}", config):
        if scheme == "models":
            location, registry_version = _models_location(client, config, text)
        elif scheme == "runs":
            location = _runs_location(client, config, text)
        else:
            location = text
        with tempfile.TemporaryDirectory(prefix="govml-load-") as tmp:
            folder = _download(location, config, Path(tmp))
            model = _load_folder(folder, what=f"{text!r}")
    if registry_version is not None:
        # the artifact is logged before the registry numbers it: a model loaded from the
        # registry carries the registry's version, so reports and decisions name it right
        model = model.with_version(registry_version)
    return model


# --------------------------------------------------------------------------- promotion


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a version became the champion, and why.

    Attributes
    ----------
    name : str
        Registered model name.
    version : int
        The candidate version.
    promoted : bool
        True when ``champion`` now points at ``version`` because of this decision.
    reason : str
        One sentence for humans (also stored on the version as
        ``govml.promotion.reason``).
    metric_name : str
    candidate_value : float
    champion_value : float or None
        None when there was no champion.
    champion_version : int or None
        The champion before the decision (None for the first promotion).
    higher_is_better : bool
    test_start, test_end : Timestamp
        The test period (UTC) on which both values were computed.

    Examples
    --------
    :func:`promote` returns one; ``str(decision)`` is the reason:

    >>> import pandas as pd
    >>> from govml.tracking import PromotionDecision
    >>> decision = PromotionDecision(
    ...     "govml-low_quality", 4, promoted=False, reason="version 3 stays champion",
    ...     metric_name="test.pr_auc", candidate_value=0.38, champion_value=0.41,
    ...     champion_version=3, higher_is_better=True,
    ...     test_start=pd.Timestamp("2026-03-01", tz="UTC"),
    ...     test_end=pd.Timestamp("2026-04-01", tz="UTC"))
    >>> print(decision)
    version 3 stays champion
    """

    name: str
    version: int
    promoted: bool
    reason: str
    metric_name: str
    candidate_value: float
    champion_value: float | None
    champion_version: int | None
    higher_is_better: bool
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def __str__(self) -> str:
        return self.reason


def _finite(value: Any, what: str) -> float:
    try:
        number = _metric_value(what, value)
    except TrackingError:
        number = math.nan
    if not math.isfinite(number):
        raise ConfigError(
            f"{what}={value!r} is not a finite number; promotion compares defined metric "
            "values: evaluate on a test period where the metric is defined (e.g. both "
            "classes present)"
        )
    return number


def _period(test_period: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    try:
        start, end = (pd.Timestamp(t) for t in test_period)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"test_period={test_period!r} is not a (start, end) pair of timestamps ({exc}); "
            "pass the bounds of the test period both metrics were computed on"
        ) from None
    if start.tzinfo is None or end.tzinfo is None:
        raise ConfigError(
            f"test_period=({start}, {end}) has timezone-naive bounds; pass UTC timestamps "
            "(e.g. pd.Timestamp('2024-03-01', tz='UTC'))"
        )
    start, end = start.tz_convert("UTC"), end.tz_convert("UTC")
    if not start < end:
        raise ConfigError(
            f"test_period starts at {start} but ends at {end}; start must be before end"
        )
    return start, end


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def promote(
    name: str,
    version: int | str,
    *,
    candidate_metric: float,
    champion_metric: float | None,
    metric_name: str,
    test_period: tuple[Any, Any],
    higher_is_better: bool = True,
    min_improvement: float = 0.0,
    tracking: TrackingConfig | None = None,
) -> PromotionDecision:
    """Point the ``champion`` alias at a version if it beats the current champion.

    Both metric values must be computed on the **same test period** (the caller
    scores the current champion, e.g. ``load_model(f"models:/{name}@champion")``, on
    the candidate's test rows); ``test_period`` states that period and is recorded
    with the decision. The candidate must be strictly better by more than
    ``min_improvement``; a tie keeps the champion. With no champion yet, the version
    becomes the first champion (pass ``champion_metric=None``). The decision is
    stored as ``govml.promotion.*`` tags on the version.

    Parameters
    ----------
    name : str
        Registered model name.
    version : int or str
        The candidate version.
    candidate_metric : float
        The candidate's metric on the test period.
    champion_metric : float or None
        The current champion's metric on the same period; None only when there is no
        champion yet.
    metric_name : str
        E.g. ``"test.random_audit.pr_auc"``.
    test_period : (start, end)
        UTC bounds of the test period.
    higher_is_better : bool, default True
        False for losses (Brier, ECE).
    min_improvement : float, default 0.0
        Required margin.
    tracking : TrackingConfig, optional

    Returns
    -------
    PromotionDecision

    Raises
    ------
    ConfigError
        A metric is NaN or not a number, an empty metric name, a negative margin, or a
        test period that is not an ordered pair of UTC timestamps.
    TrackingError
        Unknown model or version; a champion exists but ``champion_metric`` is None, or
        there is no champion but ``champion_metric`` was given.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from govml import tracking
    >>> from govml.model import GovmlModel
    >>> from govml.training.lgbm import fit_lightgbm
    >>> df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
    >>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y", num_boost_round=5,
    ...                    num_threads=1)
    >>> model = GovmlModel.from_fit(fit, task="low_quality", name="demo")
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the store
    >>> store = tracking.configure(tracking_uri=f"sqlite:///{work.name}/mlruns.db", cwd=work.name)
    >>> with tracking.start_run(experiment="demo", tracking=store) as run:
    ...     info = tracking.log_model(model, run=run)
    >>> tracking.champion(info.name, tracking=store) is None  # nothing promoted yet
    True
    >>> period = ("2026-03-01T00:00Z", "2026-04-01T00:00Z")
    >>> first = tracking.promote(info.name, info.version, candidate_metric=0.41,
    ...                          champion_metric=None, metric_name="test.pr_auc",
    ...                          test_period=period, tracking=store)
    >>> first.promoted, first.champion_version
    (True, None)
    >>> tracking.champion(info.name, tracking=store).aliases
    ('candidate', 'champion')
    >>> print(tracking.promote(info.name, info.version, candidate_metric=0.41,
    ...                        champion_metric=0.41, metric_name="test.pr_auc",
    ...                        test_period=period, tracking=store))
    version 1 of 'govml-low_quality' is already the champion; nothing changed
    >>> work.cleanup()
    """
    if not isinstance(metric_name, str) or not metric_name.strip():
        raise ConfigError(f"metric_name={metric_name!r}; name the compared metric")
    candidate_value = _finite(candidate_metric, "candidate_metric")
    champion_value = (
        None if champion_metric is None else _finite(champion_metric, "champion_metric")
    )
    margin = _finite(min_improvement, "min_improvement")
    if margin < 0:
        raise ConfigError(f"min_improvement={min_improvement!r} is negative; use 0 or more")
    start, end = _period(test_period)
    period = f"{start.isoformat()} to {end.isoformat()}"
    config = _resolve(tracking)
    client = _client(config)
    with _quiet(), _errors(f"promoting {name!r} version {version}", config):
        mv = _model_version(client, config, name, version)
        number = int(mv.version)
        registered = client.get_registered_model(name)
        current = dict(registered.aliases or {}).get(CHAMPION)
        current = None if current is None else int(current)
        if current is None and champion_value is not None:
            raise TrackingError(
                f"registered model {name!r} has no champion, yet champion_metric="
                f"{champion_metric!r} was given; pass champion_metric=None to make version "
                f"{number} the first champion, or check that you use the right store"
            )
        if current is not None and current != number and champion_value is None:
            raise TrackingError(
                f"registered model {name!r} has champion version {current}; score it on the "
                f"same test period ({period}) and pass its {metric_name} as champion_metric"
            )
        direction = "higher" if higher_is_better else "lower"
        if current is None:
            promoted = True
            reason = (
                f"version {number} of {name!r} becomes the first champion "
                f"({metric_name} {_fmt(candidate_value)} on {period}; there was no champion)"
            )
        elif current == number:
            promoted = False
            reason = f"version {number} of {name!r} is already the champion; nothing changed"
        else:
            assert champion_value is not None
            gain = candidate_value - champion_value
            if not higher_is_better:
                gain = -gain
            promoted = gain > margin
            verb = "beats" if promoted else "does not beat"
            margin_text = f" by more than {_fmt(margin)}" if margin > 0 else ""
            outcome = (
                f"version {number} becomes champion"
                if promoted
                else f"version {current} stays champion"
            )
            reason = (
                f"{outcome}: candidate version {number} {verb} champion version {current} "
                f"on {metric_name} ({_fmt(candidate_value)} vs {_fmt(champion_value)}, "
                f"{direction} is better{margin_text}) on the test period {period}"
            )
        if promoted:
            client.set_registered_model_alias(name, CHAMPION, str(number))
        record = {
            "govml.promotion.promoted": str(promoted).lower(),
            "govml.promotion.reason": reason,
            "govml.promotion.metric": metric_name,
            "govml.promotion.candidate_value": repr(candidate_value),
            "govml.promotion.champion_value": ""
            if champion_value is None
            else repr(champion_value),
            "govml.promotion.champion_version": "" if current is None else str(current),
            "govml.promotion.test_start": start.isoformat(),
            "govml.promotion.test_end": end.isoformat(),
        }
        for key, value in record.items():
            client.set_model_version_tag(name, str(number), key, value)
    return PromotionDecision(
        name=name,
        version=number,
        promoted=promoted,
        reason=reason,
        metric_name=metric_name,
        candidate_value=candidate_value,
        champion_value=champion_value,
        champion_version=current,
        higher_is_better=higher_is_better,
        test_start=start,
        test_end=end,
    )
