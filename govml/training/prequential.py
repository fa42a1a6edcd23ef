"""Prequential (rolling-origin) evaluation: how a task's model holds up over time.

One train/validation/test split is one sample of the future. Rolling-origin evaluation
retrains on an expanding window and tests on the next window, several times
(:func:`govml.training.splits.prequential_splits`), so a data scientist sees whether the
model's lead over the baselines is stable or a lucky period. Every fold uses the same
label-maturity gap as :func:`govml.training.train_model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from govml._exceptions import TrainingError

if TYPE_CHECKING:
    from govml.training.config import ExperimentConfig
    from govml.training.metrics import Evaluation
    from govml.training.pipeline import TrainingData
    from govml.training.splits import TimeSplit

__all__ = ["PrequentialResult", "prequential_evaluation"]


@dataclass(frozen=True)
class PrequentialResult:
    """Per-fold test evaluations of the model and its baselines.

    ``evaluations[i]`` maps scorer name (``model``, ``logistic``, ``oracle``) to the
    :class:`~govml.training.metrics.Evaluation` of fold ``i`` on the unbiased sample.
    :func:`prequential_evaluation` builds one; here, by hand, for a score column:

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from govml.training import PrequentialResult, evaluate, prequential_splits
    >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=120, freq="D", tz="UTC"),
    ...                   "y": [int(i % 3 == 0) for i in range(120)]})
    >>> f["score"] = np.random.default_rng(0).random(120) + 0.5 * f["y"]
    >>> folds = prequential_splits(f, time_col="t", n_folds=2, test_days=20)
    >>> result = PrequentialResult(folds=tuple(folds), evaluations=tuple(
    ...     {"model": evaluate(f.iloc[s.test_index], score_col="score", label_col="y",
    ...                        time_col="t", n_bootstrap=0)} for s in folds))
    >>> [fold.test.n_rows for fold in result.folds], list(result.evaluations[0])
    ([20, 20], ['model'])
    """

    folds: tuple[TimeSplit, ...]
    evaluations: tuple[Mapping[str, Evaluation], ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per fold and scorer: test period, rows, positives and the metrics.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from govml.training import PrequentialResult, evaluate, prequential_splits
        >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=120, freq="D", tz="UTC"),
        ...                   "y": [int(i % 3 == 0) for i in range(120)]})
        >>> f["score"] = np.random.default_rng(0).random(120) + 0.5 * f["y"]
        >>> folds = prequential_splits(f, time_col="t", n_folds=2, test_days=20)
        >>> result = PrequentialResult(folds=tuple(folds), evaluations=tuple(
        ...     {"model": evaluate(f.iloc[s.test_index], score_col="score", label_col="y",
        ...                        time_col="t", n_bootstrap=0)} for s in folds))
        >>> result.to_frame()[["fold", "scorer", "n_rows", "n_positive"]]
           fold scorer  n_rows  n_positive
        0     0  model      20           7
        1     1  model      20           6
        """
        rows = []
        for i, (split, evs) in enumerate(zip(self.folds, self.evaluations, strict=True)):
            for scorer, ev in evs.items():
                m = ev.overall
                rows.append(
                    {
                        "fold": i,
                        "test_start": split.test.start,
                        "test_end": split.test.end,
                        "scorer": scorer,
                        "n_rows": ev.n_rows,
                        "n_positive": ev.n_positive,
                        "roc_auc": m.roc_auc.value,
                        "pr_auc": m.pr_auc.value,
                        "brier": m.brier.value,
                        "ece": m.ece.value,
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Mean and spread of each metric across folds, per scorer.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from govml.training import PrequentialResult, evaluate, prequential_splits
        >>> f = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=120, freq="D", tz="UTC"),
        ...                   "y": [int(i % 3 == 0) for i in range(120)]})
        >>> f["score"] = np.random.default_rng(0).random(120) + 0.5 * f["y"]
        >>> folds = prequential_splits(f, time_col="t", n_folds=2, test_days=20)
        >>> result = PrequentialResult(folds=tuple(folds), evaluations=tuple(
        ...     {"model": evaluate(f.iloc[s.test_index], score_col="score", label_col="y",
        ...                        time_col="t", n_bootstrap=0)} for s in folds))
        >>> table = result.summary()
        >>> table.index.tolist(), table.columns.tolist()[:2]
        (['model'], [('roc_auc', 'mean'), ('roc_auc', 'std')])
        """
        frame = self.to_frame()
        metrics = ["roc_auc", "pr_auc", "brier", "ece"]
        return frame.groupby("scorer", sort=False)[metrics].agg(["mean", "std", "min", "max"])


def prequential_evaluation(
    data: TrainingData,
    config: ExperimentConfig,
    *,
    n_folds: int = 3,
    oracle: np.ndarray | None = None,
) -> PrequentialResult:
    """Retrain and test on ``n_folds`` rolling origins.

    Parameters
    ----------
    data : TrainingData
        Labelled features (:func:`govml.training.build_training_data` or your own).
    config : ExperimentConfig
        Split lengths, gap, model and evaluation settings (``split.test_days`` is the
        window each fold tests on).
    n_folds : int, default 3
        Number of folds.
    oracle : ndarray, optional
        Ground-truth probabilities aligned with ``data.frame`` (simulated data).

    Returns
    -------
    PrequentialResult

    Raises
    ------
    TrainingError
        Fewer than one fold, an oracle of the wrong length, or a fold without both
        classes in a period (from the splitter, naming the period).

    Examples
    --------
    >>> import govml
    >>> from govml.training import build_training_data, default_config, oracle_scores
    >>> world = govml.simulate(n_creators=300, n_days=90, seed=1)
    >>> config = default_config("low_quality").override(
    ...     {"model.num_boost_round": 20, "evaluation.n_bootstrap": 5, "split.test_days": 10})
    >>> data = build_training_data(world.tables, config)
    >>> oracle = oracle_scores(world.truth, data, config)
    >>> result = prequential_evaluation(data, config, n_folds=2, oracle=oracle)
    >>> len(result.folds), result.summary().index.tolist()
    (2, ['model', 'logistic', 'oracle'])
    """
    from govml.model import GovmlModel
    from govml.training.baselines import LogisticBaseline
    from govml.training.lgbm import fit_experiment
    from govml.training.pipeline import _evaluate_all
    from govml.training.splits import prequential_splits

    if n_folds < 1:
        raise TrainingError(f"n_folds={n_folds} must be at least 1")
    if oracle is not None and len(oracle) != len(data.frame):
        raise TrainingError(
            f"oracle has {len(oracle):,} values but the training frame has {len(data.frame):,} rows"
        )
    folds = prequential_splits(
        data.frame,
        time_col=data.time_col,
        n_folds=n_folds,
        valid_days=config.split.valid_days,
        test_days=config.split.test_days,
        gap=config.maturity_gap,
        label_col=data.label_col,
    )
    evaluations = []
    for split in folds:
        train, valid, test = split.frames(data.frame)
        fit = fit_experiment(train, valid, data, config, dict(config.model.params))
        model = GovmlModel.from_fit(fit, task=data.task, name=config.registered_name)
        scores = test[[*data.key, data.time_col, data.label_col]].copy()
        for extra in (data.market_col, data.sample_col):
            if extra is not None and extra in test:
                scores[extra] = test[extra].astype(str)
        scores["model"] = model.predict_proba(test)
        logistic = LogisticBaseline(
            features=list(data.features), categorical=list(data.categorical)
        ).fit(train, train[data.label_col])
        scores["logistic"] = logistic.predict_proba(test)[:, 1]
        if oracle is not None:
            scores["oracle"] = oracle[split.test_index]
        scorers = [c for c in ("model", "logistic", "oracle") if c in scores]
        unbiased, _ = _evaluate_all(scores, scorers, data, config)
        evaluations.append(unbiased)
    return PrequentialResult(folds=tuple(folds), evaluations=tuple(evaluations))
