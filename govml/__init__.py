"""govml: governance ML for live-shopping marketplaces.

Scores livestream sessions (low-quality content) and creators (adversarial-seller
risk) from point-in-time features, explains every score with reason codes, tracks
runs in MLflow and turns scores into governance decisions.

The public API is listed in ``__all__``. Names are imported lazily on first use, so
``import govml`` stays fast and does not pull in LightGBM, SHAP, MLflow or Spark.

Examples
--------
>>> import govml
>>> world = govml.simulate(n_creators=50, n_days=14, seed=0)
>>> tables = govml.validate_tables(world.tables)
>>> sorted(tables.n_rows())[:2]
['actions', 'creators']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from govml._config import Settings, get_settings
from govml._exceptions import (
    ColumnMismatchError,
    ConfigError,
    ContractError,
    DataLoadError,
    FeatureError,
    GovmlError,
    LabelError,
    MappingError,
    ModelFormatError,
    PolicyError,
    ScoringError,
    SimulationError,
    TrackingError,
    TrainingError,
    UnseenCategoryError,
)

__version__ = "0.1.0"

# public name -> module that defines it (imported on first attribute access)
_LAZY: dict[str, str] = {
    # tables: contract, validation, loading
    "Tables": "govml.schema",
    "CONTRACT": "govml.schema",
    "ColumnMapping": "govml.schema",
    "ValidationReport": "govml.schema",
    "Problem": "govml.schema",
    "check_tables": "govml.schema",
    "validate_tables": "govml.schema",
    "load_tables": "govml.schema",
    "save_tables": "govml.schema",
    "describe_contract": "govml.schema",
    # simulator
    "SimulationConfig": "govml.simulate",
    "SimulatedWorld": "govml.simulate",
    "GroundTruth": "govml.simulate",
    "InjectedPattern": "govml.simulate",
    "simulate": "govml.simulate",
    "write_world": "govml.simulate",
    "read_truth": "govml.simulate",
    # summaries
    "TablesSummary": "govml.summary",
    "summarize_tables": "govml.summary",
}

__all__ = [
    "__version__",
    "Settings",
    "get_settings",
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
    "TrackingError",
    "ScoringError",
    "PolicyError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'govml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - static analysers see the real names
    from govml.schema import (  # noqa: F401
        CONTRACT,
        ColumnMapping,
        Problem,
        Tables,
        ValidationReport,
        check_tables,
        describe_contract,
        load_tables,
        save_tables,
        validate_tables,
    )
    from govml.simulate import (  # noqa: F401
        GroundTruth,
        InjectedPattern,
        SimulatedWorld,
        SimulationConfig,
        read_truth,
        simulate,
        write_world,
    )
    from govml.summary import TablesSummary, summarize_tables  # noqa: F401
