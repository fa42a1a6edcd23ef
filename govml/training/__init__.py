"""Training: time splits, LightGBM with calibration, baselines, honest evaluation.

The modules follow the steps of a training run: :mod:`~govml.training.config`
(experiment YAML), :mod:`~govml.training.splits` (time-based periods separated by the
label-maturity gap), :mod:`~govml.training.lgbm` (deterministic, early-stopped,
calibrated LightGBM), :mod:`~govml.training.baselines` (rules, logistic regression,
oracle), :mod:`~govml.training.metrics` (evaluation with bootstrap CIs) and
:mod:`~govml.training.pipeline` (all of it, tracked in MLflow), with
:mod:`~govml.training.prequential` (rolling-origin folds) and
:mod:`~govml.training.tune` (Optuna).
"""

from govml.training.config import ExperimentConfig, default_config, load_config
from govml.training.metrics import (
    Evaluation,
    MetricSet,
    ReviewedEvaluation,
    compare,
    evaluate,
    evaluate_reviewed,
)
from govml.training.pipeline import (
    TrainingData,
    TrainingResult,
    build_training_data,
    oracle_scores,
    train_model,
    train_task,
)
from govml.training.prequential import PrequentialResult, prequential_evaluation
from govml.training.splits import TimeSplit, prequential_splits, split_by_bounds, time_split

__all__ = [
    "Evaluation",
    "ExperimentConfig",
    "MetricSet",
    "PrequentialResult",
    "ReviewedEvaluation",
    "TimeSplit",
    "TrainingData",
    "TrainingResult",
    "build_training_data",
    "compare",
    "default_config",
    "evaluate",
    "evaluate_reviewed",
    "load_config",
    "oracle_scores",
    "prequential_evaluation",
    "prequential_splits",
    "split_by_bounds",
    "time_split",
    "train_model",
    "train_task",
]
