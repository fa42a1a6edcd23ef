"""The typed result of a feature builder: the frame plus what training needs to know."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["FeatureSet"]


@dataclass(frozen=True)
class FeatureSet:
    """A point-in-time feature frame.

    Attributes
    ----------
    frame : DataFrame
        One row per prediction: the ``key`` column(s), ``time_col`` (the prediction time;
        every feature uses only facts known strictly before it, except the scored
        session's own metrics) and the ``features`` (``market`` among them).
    task : str
        ``"low_quality"`` or ``"adversarial"``.
    key : tuple of str
        Entity key columns (``("session_id",)`` or ``("creator_id",)``).
    time_col : str
        Prediction-time column.
    features : tuple of str
        Model input columns, in a stable order.
    categorical : tuple of str
        The subset of ``features`` that are categorical.
    catalogue_version : str
        Hash of the catalogue entries of ``features`` (see ``catalogue_version``).

    Examples
    --------
    >>> import govml
    >>> tables = govml.simulate(n_creators=40, n_days=14, seed=1).tables
    >>> fs = govml.session_features(tables)
    >>> fs.task, fs.key, fs.time_col, fs.categorical
    ('low_quality', ('session_id',), 'ended_at', ('market', 'category'))
    >>> len(fs) == len(tables.sessions), fs.X.columns.tolist() == list(fs.features)
    (True, True)
    """

    frame: pd.DataFrame
    task: str
    key: tuple[str, ...]
    time_col: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    catalogue_version: str

    @property
    def X(self) -> pd.DataFrame:
        """The model input columns only (a new frame, in ``features`` order).

        Examples
        --------
        >>> import govml
        >>> fs = govml.session_features(govml.simulate(n_creators=40, n_days=14, seed=1).tables)
        >>> fs.X.shape[1] == len(fs.features), "session_id" in fs.X
        (True, False)
        """
        return self.frame[list(self.features)]

    def __len__(self) -> int:
        return len(self.frame)
