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
    MonitorError,
    PolicyError,
    ScoringError,
    SimulationError,
    TrackingError,
    TrainingError,
    UnseenCategoryError,
    UnseenCategoryWarning,
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
    "SimulationConfig": "govml.simulation",
    "SimulatedWorld": "govml.simulation",
    "GroundTruth": "govml.simulation",
    "InjectedPattern": "govml.simulation",
    "simulate": "govml.simulation",
    "write_world": "govml.simulation",
    "read_truth": "govml.simulation",
    "empty_table": "govml.schema",
    # summaries
    "TablesSummary": "govml.summary",
    "summarize_tables": "govml.summary",
    # point-in-time features and labels
    "trailing_windows": "govml.features",
    "active_at": "govml.features",
    "latest_before": "govml.features",
    "build_features": "govml.features",
    "session_features": "govml.features",
    "creator_features": "govml.features",
    "creator_snapshots": "govml.features",
    "ExtraEvents": "govml.features",
    "FeatureSet": "govml.features",
    "catalogue": "govml.features",
    "REASON_GROUPS": "govml.features",
    "session_labels": "govml.features",
    "creator_labels": "govml.features",
    "SessionLabels": "govml.features",
    "CreatorLabels": "govml.features",
    "maturity_gap": "govml.features",
    # training and evaluation
    "ExperimentConfig": "govml.training",
    "load_config": "govml.training",
    "default_config": "govml.training",
    "TimeSplit": "govml.training",
    "time_split": "govml.training",
    "prequential_splits": "govml.training",
    "Evaluation": "govml.training",
    "evaluate": "govml.training",
    "evaluate_reviewed": "govml.training",
    "compare": "govml.training",
    "TrainingData": "govml.training",
    "TrainingResult": "govml.training",
    "build_training_data": "govml.training",
    "train_model": "govml.training",
    "train_task": "govml.training",
    "prequential_evaluation": "govml.training",
    # the model artifact
    "GovmlModel": "govml.model",
    "ModelMetadata": "govml.model",
    "Prediction": "govml.model",
    "DataFingerprint": "govml.model",
    "fingerprint": "govml.model",
    # explanations
    "reason_codes": "govml.explain",
    "importance_by_reason": "govml.explain",
    "Contributions": "govml.explain",
    # batch scoring
    "score_frame": "govml.scoring",
    "score_batch": "govml.scoring",
    "resolve_model": "govml.scoring",
    "read_scores": "govml.scoring",
    "read_manifest": "govml.scoring",
    "ScoredChunk": "govml.scoring",
    "ScoreSummary": "govml.scoring",
    "ResolvedModel": "govml.scoring",
    "OUTPUT_SCHEMA": "govml.scoring",
    "QUARANTINE_SCHEMA": "govml.scoring",
    "QUARANTINE_REASONS": "govml.scoring",
    # policy, backtest
    "Policy": "govml.policy",
    "load_policy": "govml.policy",
    "health_points": "govml.policy",
    "assign_tiers": "govml.policy",
    "review_queue": "govml.policy",
    "backtest": "govml.policy",
    "BacktestResult": "govml.policy",
    # monitoring
    "psi": "govml.monitor",
    "DriftReport": "govml.monitor",
    "drift_report": "govml.monitor",
    "TrendReport": "govml.monitor",
    "detect_trends": "govml.monitor",
    "TrendDetectionScore": "govml.monitor",
    "evaluate_trend_detection": "govml.monitor",
    # dashboard
    "Report": "govml.report",
    "build_report": "govml.report",
    "log_report": "govml.report",
}

# subpackages and modules reachable as attributes (``govml.features.catalogue()``) without
# an explicit import; imported on first access like the names above
_SUBMODULES = frozenset(
    {
        "schema",
        "simulation",
        "summary",
        "features",
        "training",
        "explain",
        "model",
        "tracking",
        "scoring",
        "spark",
        "policy",
        "monitor",
        "report",
        "cli",
    }
)

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
    "UnseenCategoryWarning",
    "TrackingError",
    "ScoringError",
    "PolicyError",
    "MonitorError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None and name in _SUBMODULES:
        return importlib.import_module(f"govml.{name}")  # also binds govml.<name>
    if module is None:
        raise AttributeError(f"module 'govml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - static analysers see the real names
    from govml.features import (  # noqa: F401
        REASON_GROUPS,
        CreatorLabels,
        ExtraEvents,
        FeatureSet,
        SessionLabels,
        active_at,
        build_features,
        catalogue,
        creator_features,
        creator_labels,
        creator_snapshots,
        latest_before,
        maturity_gap,
        session_features,
        session_labels,
        trailing_windows,
    )
    from govml.model import (  # noqa: F401
        DataFingerprint,
        GovmlModel,
        ModelMetadata,
        Prediction,
        fingerprint,
    )
    from govml.monitor import (  # noqa: F401
        DriftReport,
        TrendDetectionScore,
        TrendReport,
        detect_trends,
        drift_report,
        evaluate_trend_detection,
        psi,
    )
    from govml.policy import (  # noqa: F401
        BacktestResult,
        Policy,
        assign_tiers,
        backtest,
        health_points,
        load_policy,
        review_queue,
    )
    from govml.report import Report, build_report, log_report  # noqa: F401
    from govml.schema import (  # noqa: F401
        CONTRACT,
        ColumnMapping,
        Problem,
        Tables,
        ValidationReport,
        check_tables,
        describe_contract,
        empty_table,
        load_tables,
        save_tables,
        validate_tables,
    )
    from govml.scoring import (  # noqa: F401
        OUTPUT_SCHEMA,
        QUARANTINE_REASONS,
        QUARANTINE_SCHEMA,
        ResolvedModel,
        ScoredChunk,
        ScoreSummary,
        read_manifest,
        read_scores,
        resolve_model,
        score_batch,
        score_frame,
    )
    from govml.simulation import (  # noqa: F401
        GroundTruth,
        InjectedPattern,
        SimulatedWorld,
        SimulationConfig,
        read_truth,
        simulate,
        write_world,
    )
    from govml.summary import TablesSummary, summarize_tables  # noqa: F401
    from govml.training import (  # noqa: F401
        Evaluation,
        ExperimentConfig,
        TimeSplit,
        TrainingData,
        TrainingResult,
        build_training_data,
        compare,
        default_config,
        evaluate,
        evaluate_reviewed,
        load_config,
        prequential_evaluation,
        prequential_splits,
        time_split,
        train_model,
        train_task,
    )
