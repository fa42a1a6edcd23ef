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
    """Base class of every error govml raises on purpose."""


class ConfigError(GovmlError, ValueError):
    """A configuration value (file, environment variable or argument) is invalid."""


class DataLoadError(GovmlError, FileNotFoundError):
    """A table could not be read: missing file, unreadable format, ambiguous files."""


class ContractError(GovmlError, ValueError):
    """Tables break the data contract.

    ``problems`` holds every problem found (validation never stops at the first one);
    ``str(error)`` is the human-readable report.
    """

    def __init__(self, message: str, problems: tuple = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class MappingError(GovmlError, ValueError):
    """A column mapping refers to tables or columns that do not exist."""


class SimulationError(GovmlError, ValueError):
    """Simulator parameters are invalid."""


class FeatureError(GovmlError, ValueError):
    """Features cannot be built from the given events or query points."""


class LabelError(GovmlError, ValueError):
    """Labels cannot be built (bad horizon, cutoff, or no mature labels)."""


class TrainingError(GovmlError, ValueError):
    """A model cannot be trained from the given frame or configuration."""


class ModelFormatError(GovmlError, ValueError):
    """A saved model is missing files, is corrupt, or was written by an incompatible version."""


class ColumnMismatchError(GovmlError, KeyError):
    """Scoring input lacks columns the model needs (matched by name, never by position)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class UnseenCategoryError(GovmlError, ValueError):
    """Scoring input holds category levels never seen in training, beyond the tolerance."""


class UnseenCategoryWarning(GovmlError, UserWarning):
    """Scoring input holds unseen category levels, within the tolerance: scored, and reported."""


class TrackingError(GovmlError, RuntimeError):
    """The MLflow tracking store or model registry cannot be used."""


class ScoringError(GovmlError, RuntimeError):
    """A batch scoring job cannot run or cannot be resumed."""


class PolicyError(GovmlError, ValueError):
    """A governance policy file is invalid."""


class MonitorError(GovmlError, ValueError):
    """Drift or trend monitoring cannot run on the given frames or parameters."""
