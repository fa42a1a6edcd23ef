"""Runtime settings, read from environment variables when asked for.

Nothing here runs at import time and no path is derived from ``__file__``: every
default is relative to the current working directory, so a notebook, a training job
and a batch job each keep their own stores where they run.

=========================  ======================================  ==============================
setting                    environment variable                    default
=========================  ======================================  ==============================
``tracking_uri``           ``MLFLOW_TRACKING_URI``                 ``sqlite:///<cwd>/mlruns.db``
``artifact_location``      ``GOVML_ARTIFACT_LOCATION``             ``<cwd>/mlartifacts``
``models_dir``             ``GOVML_MODELS_DIR``                    ``<cwd>/models``
``data_dir``               ``GOVML_DATA_DIR``                      ``<cwd>/data``
``n_jobs``                 ``GOVML_N_JOBS``                        ``0`` (LightGBM: all cores)
=========================  ======================================  ==============================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from govml._exceptions import ConfigError

__all__ = ["Settings", "get_settings"]


@dataclass(frozen=True)
class Settings:
    """Resolved runtime settings. Build one with :func:`get_settings`.

    Attributes
    ----------
    tracking_uri : str
        MLflow tracking URI (``sqlite:///...`` for the embedded store, or a server).
    artifact_location : str
        Where new MLflow experiments store their artifacts.
    models_dir, data_dir : Path
        Default folders for saved models and for tables.
    n_jobs : int
        LightGBM threads (0 = all cores).

    Examples
    --------
    >>> from govml import get_settings
    >>> s = get_settings(cwd="/srv/govml")
    >>> type(s).__name__, s.n_jobs >= 0
    ('Settings', True)
    >>> s.tracking_is_embedded == s.tracking_uri.startswith("sqlite:///")
    True
    """

    tracking_uri: str
    artifact_location: str
    models_dir: Path
    data_dir: Path
    n_jobs: int

    @property
    def tracking_is_embedded(self) -> bool:
        """True when tracking goes to the local SQLite store (no server configured).

        Examples
        --------
        >>> from dataclasses import replace
        >>> from govml import get_settings
        >>> s = get_settings(cwd="/srv/govml")
        >>> replace(s, tracking_uri="sqlite:////srv/govml/mlruns.db").tracking_is_embedded
        True
        >>> replace(s, tracking_uri="http://mlflow:5000").tracking_is_embedded
        False
        """
        return self.tracking_uri.startswith("sqlite:///")


def get_settings(*, cwd: str | os.PathLike[str] | None = None) -> Settings:
    """Read the settings from the environment, with defaults relative to ``cwd``.

    Parameters
    ----------
    cwd : path-like, optional
        Folder that relative defaults hang off. Defaults to the current directory.

    Returns
    -------
    Settings

    Examples
    --------
    >>> from govml._config import get_settings
    >>> s = get_settings(cwd="/tmp/project")
    >>> s.models_dir.name
    'models'
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    env = os.environ
    tracking_uri = env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(base / 'mlruns.db').as_posix()}"
    artifact_location = env.get("GOVML_ARTIFACT_LOCATION") or (base / "mlartifacts").as_posix()
    models_dir = Path(env.get("GOVML_MODELS_DIR") or base / "models")
    data_dir = Path(env.get("GOVML_DATA_DIR") or base / "data")
    raw_jobs = env.get("GOVML_N_JOBS", "0")
    try:
        n_jobs = int(raw_jobs)
    except ValueError:
        raise ConfigError(
            f"environment variable GOVML_N_JOBS={raw_jobs!r} is not an integer; "
            "set it to the number of threads LightGBM may use (0 = all cores) or unset it"
        ) from None
    if n_jobs < 0:
        raise ConfigError(
            f"environment variable GOVML_N_JOBS={n_jobs} is negative; "
            "use 0 for all cores or a positive thread count"
        )
    return Settings(
        tracking_uri=tracking_uri,
        artifact_location=artifact_location,
        models_dir=models_dir,
        data_dir=data_dir,
        n_jobs=n_jobs,
    )
