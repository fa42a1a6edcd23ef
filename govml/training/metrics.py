"""Honest evaluation of a risk score: ranking, calibration and the review queue, with CIs.

:func:`evaluate` scores one column of a frame against a 0/1 label, overall and per
market, and returns an :class:`Evaluation` (not a dict). Every metric has a bootstrap
confidence interval. :func:`compare` puts several scorers (model, baselines, oracle)
side by side; :func:`evaluate_reviewed` evaluates the low-quality task on the unbiased
random-audit sample and on all reviewed sessions, labelled as such.

Metrics
-------
``roc_auc``
    Area under the ROC curve; tied scores count one half (as scikit-learn).
``pr_auc``
    Average precision, ``sum_n (R_n - R_{n-1}) P_n`` over score thresholds (as
    scikit-learn's ``average_precision_score``, no interpolation).
``brier``
    Mean squared difference between score and label.
``ece``
    Expected calibration error with ``ece_bins`` (default 10) **equal-mass** bins:
    bin edges are quantiles of the scores, so each bin holds about the same number of
    rows; tied scores always share a bin (so bins can be unequal when scores tie).
    ``ECE = sum_b (n_b / n) |mean label_b - mean score_b|``. Equal-mass rather than
    equal-width because risk scores of rare events crowd near 0: with equal-width bins
    almost every row would fall into the first bin and the ECE would say little.
``precision_at_k``
    The review queue: each UTC day, the ``k`` highest-scoring rows are reviewed
    (``k`` = the ``capacity`` per day), and the metric is the **mean over days** of
    the share of reviewed rows that are positive. With a mapping ``market -> k``, each
    market reviews its own top ``k`` every day; the overall daily precision pools the
    markets' queues (hits over reviewed rows) and each market's segment uses its own
    ``k``. With an int, overall is one shared queue and each market segment is
    evaluated as a queue of ``k`` of its own. A day with fewer than ``k`` rows reviews
    all of them. Rows tied at the cut-off share the remaining slots (expected precision
    under a random tie break), so the metric does not depend on row order.
``recall_at_precision``
    The largest recall reachable at a score threshold whose precision is at least
    ``target_precision`` (0 when no threshold reaches it).

Confidence intervals
--------------------
Percentile bootstrap with ``n_bootstrap`` resamples, **resampling whole days** (a
day-block bootstrap): each replicate draws as many days as the segment has, with
replacement, and keeps every row of each drawn day. Rows of one day are not
independent -- the same mega-sale traffic, the same creators streaming repeatedly, the
same moderators -- and precision@k is defined per day, so the day is the unit of
resampling; resampling rows would understate the uncertainty. A segment with fewer than
two days gets no interval (NaN, with a note). Replicates in which a segment has a single
class are skipped for the ranking metrics (noted). The draws depend only on ``seed``,
the segment name and the segment's days, so scorers evaluated on the same frame with
the same seed are compared on the same resamples (a paired bootstrap).

The ECE is biased upwards under resampling (duplicated rows add noise to each bin,
and noise only ever increases ``|mean label - mean score|``), so for a well-calibrated
score its interval can sit above the point estimate; read it as "how large the
miscalibration could plausibly be", not as a symmetric error bar.

Degenerate segments (a single class) give NaN for the ranking metrics with a note
instead of failing; scores outside ``[0, 1]`` (e.g. rule points) give NaN Brier and
ECE with a note.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from govml._exceptions import TrainingError
from govml.training.splits import _labels, _utc_micros

__all__ = [
    "METRIC_NAMES",
    "Metric",
    "MetricSet",
    "Evaluation",
    "ReviewedEvaluation",
    "evaluate",
    "evaluate_reviewed",
    "compare",
    "DEFAULT_CAPACITY",
]

#: Metric names in display order.
METRIC_NAMES: tuple[str, ...] = (
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "precision_at_k",
    "recall_at_precision",
)
#: Default review capacity per day (rows the queue reviews). Set it to your team's capacity.
DEFAULT_CAPACITY = 100

_DAY_US = 86_400_000_000
_RANKING = ("roc_auc", "pr_auc", "recall_at_precision")
_LABELS = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "ece": "ECE",
    "precision_at_k": "precision@k",
    "recall_at_precision": "recall@P",
}


@dataclass(frozen=True)
class Metric:
    """One metric: point estimate and bootstrap confidence interval (NaN when undefined).

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.training import evaluate
    >>> f = pd.DataFrame({
    ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
    ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
    ...     "market": ["ID", "ID", "TH", "TH", "TH", "ID"]})
    >>> ev = evaluate(f, score_col="score", label_col="label", time_col="t", n_bootstrap=50)
    >>> m = ev.overall.roc_auc
    >>> m.name, round(m.value, 3), m.ci_low <= m.value <= m.ci_high
    ('roc_auc', 0.778, True)
    >>> print(m)
    0.778 [0.500, 1.000]
    """

    name: str
    value: float
    ci_low: float
    ci_high: float

    def __str__(self) -> str:
        return _fmt_ci(self.value, self.ci_low, self.ci_high)


@dataclass(frozen=True)
class MetricSet:
    """All metrics of one segment (``"overall"`` or a market).

    ``notes`` explains every NaN and any caveat (single class, no interval, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.training import evaluate
    >>> f = pd.DataFrame({
    ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
    ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
    ...     "market": ["ID", "ID", "TH", "TH", "TH", "ID"]})
    >>> ev = evaluate(f, score_col="score", label_col="label", time_col="t",
    ...               market_col="market", capacity=1, n_bootstrap=0)
    >>> th = ev.by_market["TH"]
    >>> th.segment, th.n_rows, th.n_positive, round(th.pr_auc.value, 3)
    ('TH', 3, 2, 1.0)
    """

    segment: str
    n_rows: int
    n_positive: int
    n_days: int
    roc_auc: Metric
    pr_auc: Metric
    brier: Metric
    ece: Metric
    precision_at_k: Metric
    recall_at_precision: Metric
    notes: tuple[str, ...] = ()

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The metrics in :data:`METRIC_NAMES` order.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import evaluate
        >>> f = pd.DataFrame({
        ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
        ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
        ...     "market": ["ID", "ID", "TH", "TH", "TH", "ID"]})
        >>> ev = evaluate(f, score_col="score", label_col="label", time_col="t", n_bootstrap=0)
        >>> [m.name for m in ev.overall.metrics]
        ['roc_auc', 'pr_auc', 'brier', 'ece', 'precision_at_k', 'recall_at_precision']
        """
        return tuple(getattr(self, name) for name in METRIC_NAMES)

    @property
    def positive_rate(self) -> float:
        """Share of positive rows (NaN for an empty segment).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import evaluate
        >>> f = pd.DataFrame({
        ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
        ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
        ...     "market": ["ID", "ID", "TH", "TH", "TH", "ID"]})
        >>> evaluate(f, score_col="score", label_col="label", time_col="t",
        ...          n_bootstrap=0).overall.positive_rate
        0.5
        """
        return self.n_positive / self.n_rows if self.n_rows else math.nan


@dataclass(frozen=True)
class Evaluation:
    """The evaluation of one score column on one sample.

    Attributes
    ----------
    sample : str
        Which rows were evaluated, e.g. ``"random_audit (unbiased)"`` or
        ``"all reviewed (biased by sampling)"``.
    n_rows, n_positive : int
        Rows and positive labels evaluated.
    overall : MetricSet
        Metrics over all rows.
    by_market : Mapping[str, MetricSet]
        Metrics per market (empty without ``market_col``), read-only, sorted by market.
    score_col : str
        The evaluated score column.
    capacity : int or Mapping[str, int]
        Review capacity per day (per market for a mapping).
    target_precision, confidence : float
        Precision target of ``recall_at_precision``; confidence level of the intervals.
    n_bootstrap, seed, ece_bins : int
        Bootstrap resamples, their seed, and the number of ECE bins.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.training import evaluate
    >>> f = pd.DataFrame({
    ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
    ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
    ...     "market": ["ID", "ID", "TH", "TH", "TH", "ID"]})
    >>> ev = evaluate(f, score_col="score", label_col="label", time_col="t",
    ...               market_col="market", capacity=1, n_bootstrap=0)
    >>> ev.n_rows, ev.n_positive, sorted(ev.by_market)
    (6, 3, ['ID', 'TH'])
    >>> print(ev)  # doctest: +NORMALIZE_WHITESPACE
    Evaluation of 'score' on as given (sampling not stated): 6 rows, 3 positive; capacity 1
    per day; 95% day-block bootstrap CIs (0 resamples)
            rows ROC-AUC PR-AUC  Brier    ECE precision@k recall@P0.8
    segment
    overall    6   0.778  0.806  0.218  0.417       1.000       0.333
    ID         3   1.000  1.000  0.270  0.433       0.500       1.000
    TH         3   1.000  1.000  0.167  0.400       1.000       1.000
    """

    sample: str
    n_rows: int
    n_positive: int
    overall: MetricSet
    by_market: Mapping[str, MetricSet]
    score_col: str
    capacity: int | Mapping[str, int]
    target_precision: float
    confidence: float
    n_bootstrap: int
    seed: int
    ece_bins: int

    @property
    def segments(self) -> tuple[MetricSet, ...]:
        """``overall`` followed by the markets.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import evaluate
        >>> f = pd.DataFrame({
        ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
        ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
        ...     "market": ["ID", "ID", "TH", "TH", "TH", "ID"]})
        >>> ev = evaluate(f, score_col="score", label_col="label", time_col="t",
        ...               market_col="market", n_bootstrap=0)
        >>> [s.segment for s in ev.segments]
        ['overall', 'ID', 'TH']
        """
        return (self.overall, *self.by_market.values())

    @property
    def notes(self) -> tuple[str, ...]:
        """Every segment's notes, prefixed with the segment.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import evaluate
        >>> f = pd.DataFrame({"score": [0.9, 0.1], "label": [0, 0],
        ...                   "t": pd.to_datetime(["2026-01-01"] * 2, utc=True)})
        >>> ev = evaluate(f, score_col="score", label_col="label", time_col="t", capacity=1,
        ...               n_bootstrap=0)
        >>> print(*ev.notes, sep="\\n")  # doctest: +NORMALIZE_WHITESPACE
        overall: only one class (0 positive of 2 rows): roc_auc, pr_auc and
        recall_at_precision are undefined (NaN)
        """
        return tuple(f"{s.segment}: {note}" for s in self.segments for note in s.notes)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (segment, metric) with columns
        ``metric, value, ci_low, ci_high, segment, sample``.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import evaluate
        >>> f = pd.DataFrame({
        ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
        ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
        ...     "market": ["ID", "ID", "TH", "TH", "TH", "ID"]})
        >>> ev = evaluate(f, score_col="score", label_col="label", time_col="t",
        ...               market_col="market", n_bootstrap=0)
        >>> table = ev.to_frame()
        >>> table.shape, table.columns.tolist()[:4]
        ((18, 6), ['metric', 'value', 'ci_low', 'ci_high'])
        """
        rows = [
            {
                "metric": m.name,
                "value": m.value,
                "ci_low": m.ci_low,
                "ci_high": m.ci_high,
                "segment": s.segment,
                "sample": self.sample,
            }
            for s in self.segments
            for m in s.metrics
        ]
        return pd.DataFrame(
            rows, columns=["metric", "value", "ci_low", "ci_high", "segment", "sample"]
        )

    def __str__(self) -> str:
        lines = [
            f"Evaluation of {self.score_col!r} on {self.sample}: {self.n_rows:,} rows, "
            f"{self.n_positive:,} positive; {_capacity_text(self.capacity)}; "
            f"{self.confidence:.0%} day-block bootstrap CIs ({self.n_bootstrap} resamples)"
        ]
        table = pd.DataFrame(
            {
                _display_name(m.name, self.target_precision): [
                    str(getattr(s, m.name)) for s in self.segments
                ]
                for m in self.overall.metrics
            },
            index=pd.Index([s.segment for s in self.segments], name="segment"),
        )
        table.insert(0, "rows", [f"{s.n_rows:,}" for s in self.segments])
        lines.append(table.to_string())
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class ReviewedEvaluation:
    """The low-quality task evaluated twice: on the random audit and on all reviews.

    ``random_audit`` is the **unbiased** estimate (sessions reviewed at random);
    ``all_reviewed`` also counts sessions reviewed because of viewer reports or the
    risk queue, which over-represent suspicious sessions, so it is biased by sampling.
    ``sample_counts`` gives reviewed rows per sample reason.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.training import evaluate
    >>> f = pd.DataFrame({
    ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
    ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
    ...     "market": ["ID", "ID", "TH", "TH", "TH", "ID"]})
    >>> from govml.training import evaluate_reviewed
    >>> f["sample_reason"] = ["random_audit", "risk_queue"] * 3
    >>> rev = evaluate_reviewed(f, score_col="score", label_col="label", time_col="t",
    ...                         n_bootstrap=0)
    >>> rev.unbiased is rev.random_audit, dict(rev.sample_counts)
    (True, {'random_audit': 3, 'risk_queue': 3})
    >>> rev.to_frame()["sample"].unique().tolist()
    ['random_audit (unbiased)', 'all reviewed (biased by sampling)']
    """

    random_audit: Evaluation
    all_reviewed: Evaluation
    sample_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def unbiased(self) -> Evaluation:
        """The random-audit evaluation.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import evaluate_reviewed
        >>> f = pd.DataFrame({
        ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
        ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
        ...     "sample_reason": ["random_audit", "risk_queue"] * 3})
        >>> rev = evaluate_reviewed(f, score_col="score", label_col="label", time_col="t",
        ...                         n_bootstrap=0)
        >>> rev.unbiased.sample, rev.unbiased.n_rows
        ('random_audit (unbiased)', 3)
        """
        return self.random_audit

    def to_frame(self) -> pd.DataFrame:
        """Both tidy tables stacked (the ``sample`` column tells them apart).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.training import evaluate_reviewed
        >>> f = pd.DataFrame({
        ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], "label": [1, 0, 1, 1, 0, 0],
        ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
        ...     "sample_reason": ["random_audit", "risk_queue"] * 3})
        >>> rev = evaluate_reviewed(f, score_col="score", label_col="label", time_col="t",
        ...                         n_bootstrap=0)
        >>> rev.to_frame().groupby("sample", sort=False).size().tolist()
        [6, 6]
        """
        return pd.concat(
            [self.random_audit.to_frame(), self.all_reviewed.to_frame()], ignore_index=True
        )

    def __str__(self) -> str:
        counts = ", ".join(f"{k}={v:,}" for k, v in self.sample_counts.items())
        return "\n\n".join(
            [
                f"reviewed rows by sample reason: {counts}",
                str(self.random_audit),
                str(self.all_reviewed),
            ]
        )


# --------------------------------------------------------------------------- formatting


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.3f}"


def _fmt_ci(value: float, low: float, high: float) -> str:
    if not np.isfinite(value):
        return "nan"
    if not (np.isfinite(low) and np.isfinite(high)):
        return _fmt(value)
    return f"{_fmt(value)} [{_fmt(low)}, {_fmt(high)}]"


def _display_name(name: str, target: float) -> str:
    if name == "recall_at_precision":
        return f"recall@P{target:g}"
    return _LABELS[name]


def _capacity_text(capacity: int | Mapping[str, int]) -> str:
    if isinstance(capacity, Mapping):
        return "capacity per market and day " + ", ".join(f"{m}={k}" for m, k in capacity.items())
    return f"capacity {capacity} per day"


# --------------------------------------------------------------------------- metric kernels


@dataclass(frozen=True)
class _Segment:
    """One segment's rows sorted by score (descending), ready for weighted metrics."""

    name: str
    scores: np.ndarray  # sorted descending
    labels: np.ndarray  # aligned with scores
    starts: np.ndarray  # first position of each distinct score
    day: np.ndarray  # segment-local day code (0..n_days-1) of each sorted row
    n_days: int
    ece_bin: np.ndarray  # ECE bin of each sorted row
    n_bins: int
    probabilities: bool  # all scores within [0, 1]
    daily_precision: np.ndarray  # precision@k per local day (NaN: nothing reviewed)


def _prepare_segment(
    name: str,
    scores: np.ndarray,
    labels: np.ndarray,
    days: np.ndarray,
    daily_precision_by_day: Mapping[int, float],
    ece_bins: int,
) -> _Segment:
    order = np.lexsort((labels, -scores))
    s, y = scores[order], labels[order]
    change = np.flatnonzero(np.diff(s) != 0) + 1
    starts = np.concatenate([[0], change]).astype(np.intp)
    uniq_days, local = np.unique(days[order], return_inverse=True)
    edges = np.quantile(s, np.linspace(0.0, 1.0, ece_bins + 1)[1:-1])
    ece_bin = np.searchsorted(edges, s, side="right")
    return _Segment(
        name=name,
        scores=s,
        labels=y,
        starts=starts,
        day=local.astype(np.intp),
        n_days=len(uniq_days),
        ece_bin=ece_bin,
        n_bins=ece_bins,
        probabilities=bool(s.size and s.min() >= 0.0 and s.max() <= 1.0),
        daily_precision=np.array([daily_precision_by_day.get(int(d), np.nan) for d in uniq_days]),
    )


def _weighted_metrics(seg: _Segment, w: np.ndarray, target: float) -> np.ndarray:
    """roc_auc, pr_auc, brier, ece, recall_at_precision for row weights ``w``."""
    wp = w * seg.labels
    wn = w - wp
    gp = np.add.reduceat(wp, seg.starts)
    gn = np.add.reduceat(wn, seg.starts)
    total_p, total_n = gp.sum(), gn.sum()
    total = total_p + total_n
    out = np.full(5, np.nan)
    if total_p > 0 and total_n > 0:
        tp = np.cumsum(gp)
        fp = np.cumsum(gn)
        out[0] = float(np.sum(gp * (total_n - fp + 0.5 * gn)) / (total_p * total_n))
        denom = tp + fp
        precision = np.divide(tp, denom, out=np.zeros_like(tp), where=denom > 0)
        out[1] = float(np.sum(gp * precision) / total_p)
        ok = (denom > 0) & (precision >= target - 1e-12)
        out[4] = float(tp[ok].max() / total_p) if ok.any() else 0.0
    if seg.probabilities and total > 0:
        out[2] = float(np.sum(w * (seg.scores - seg.labels) ** 2) / total)
        by = np.bincount(seg.ece_bin, weights=wp, minlength=seg.n_bins)
        bs = np.bincount(seg.ece_bin, weights=w * seg.scores, minlength=seg.n_bins)
        out[3] = float(np.sum(np.abs(by - bs)) / total)
    return out


def _mean_daily_precision(seg: _Segment, day_weights: np.ndarray) -> float:
    ok = np.isfinite(seg.daily_precision) & (day_weights > 0)
    if not ok.any():
        return math.nan
    return float(np.sum(day_weights[ok] * seg.daily_precision[ok]) / np.sum(day_weights[ok]))


def _daily_queue(
    scores: np.ndarray, labels: np.ndarray, days: np.ndarray, k: int
) -> dict[int, tuple[float, int]]:
    """Per day: expected hits among the top ``k`` (ties share slots) and rows reviewed."""
    out: dict[int, tuple[float, int]] = {}
    if scores.size == 0:
        return out
    order = np.lexsort((-scores, days))
    s, y, d = scores[order], labels[order], days[order]
    bounds = np.flatnonzero(np.diff(d) != 0) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(d)], strict=True):
        n = hi - lo
        k_eff = min(k, n)
        if k_eff == 0:
            out[int(d[lo])] = (0.0, 0)
            continue
        sd, yd = s[lo:hi], y[lo:hi]
        threshold = sd[k_eff - 1]
        above = sd > threshold
        tied = sd == threshold
        slots = k_eff - int(above.sum())
        hits = float(yd[above].sum()) + slots * float(yd[tied].mean())
        out[int(d[lo])] = (hits, k_eff)
    return out


def _precision_by_day(queues: list[dict[int, tuple[float, int]]]) -> dict[int, float]:
    """Pool several queues (markets) per day: hits over reviewed rows."""
    hits: dict[int, float] = {}
    reviewed: dict[int, int] = {}
    for queue in queues:
        for day, (h, r) in queue.items():
            hits[day] = hits.get(day, 0.0) + h
            reviewed[day] = reviewed.get(day, 0) + r
    return {day: hits[day] / reviewed[day] for day in hits if reviewed[day] > 0}


def _metric_set(
    seg: _Segment,
    *,
    target: float,
    n_bootstrap: int,
    confidence: float,
    seed: int,
    k_text: str,
    notes: list[str],
) -> MetricSet:
    n = seg.scores.size
    n_pos = int(seg.labels.sum())
    point = _weighted_metrics(seg, np.ones(n), target)
    point_p = _mean_daily_precision(seg, np.ones(seg.n_days))
    values = dict(
        zip(("roc_auc", "pr_auc", "brier", "ece", "recall_at_precision"), point, strict=True)
    )
    values["precision_at_k"] = point_p

    if n_pos in (0, n):
        notes.append(
            f"only one class ({n_pos:,} positive of {n:,} rows): roc_auc, pr_auc and "
            "recall_at_precision are undefined (NaN)"
        )
    if not seg.probabilities:
        notes.append(
            "scores are not probabilities (outside [0, 1]): brier and ece are undefined (NaN); "
            "calibrate the scores to evaluate calibration"
        )
    if not np.isfinite(point_p):
        notes.append(f"precision_at_k is undefined: the queue ({k_text}) reviews no rows")

    low = dict.fromkeys(METRIC_NAMES, math.nan)
    high = dict.fromkeys(METRIC_NAMES, math.nan)
    if n_bootstrap > 0 and seg.n_days < 2:
        notes.append(
            f"only {seg.n_days} day of data: the day-block bootstrap gives no interval (NaN)"
        )
    elif n_bootstrap > 0:
        rng = np.random.default_rng([seed, zlib.crc32(seg.name.encode("utf-8"))])
        reps = np.full((n_bootstrap, 6), np.nan)
        for b in range(n_bootstrap):
            counts = np.bincount(rng.integers(0, seg.n_days, seg.n_days), minlength=seg.n_days)
            w = counts[seg.day].astype(np.float64)
            reps[b, :5] = _weighted_metrics(seg, w, target)
            reps[b, 5] = _mean_daily_precision(seg, counts.astype(np.float64))
        alpha = (1.0 - confidence) / 2.0
        names = ("roc_auc", "pr_auc", "brier", "ece", "recall_at_precision", "precision_at_k")
        for j, name in enumerate(names):
            if not np.isfinite(values[name]):
                continue
            col = reps[:, j]
            col = col[np.isfinite(col)]
            skipped = n_bootstrap - col.size
            if col.size:
                low[name], high[name] = (float(x) for x in np.quantile(col, [alpha, 1 - alpha]))
            if skipped and name == "roc_auc":
                notes.append(
                    f"{skipped} of {n_bootstrap} bootstrap resamples held a single class and "
                    "were skipped for the ranking metrics"
                )
    metrics = {
        name: Metric(name, float(values[name]), low[name], high[name]) for name in METRIC_NAMES
    }
    return MetricSet(
        segment=seg.name,
        n_rows=n,
        n_positive=n_pos,
        n_days=seg.n_days,
        notes=tuple(notes),
        **metrics,
    )


# --------------------------------------------------------------------------- evaluate


def _check_frame(frame: pd.DataFrame, columns: dict[str, str | None]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TrainingError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [
        f"{arg}={col!r}"
        for arg, col in columns.items()
        if col is not None and col not in frame.columns
    ]
    if missing:
        raise TrainingError(
            f"the frame is missing column(s) {', '.join(missing)}; it has {list(frame.columns)}"
        )
    if len(frame) == 0:
        raise TrainingError(
            "the frame to evaluate has no rows; evaluate on a non-empty test period"
        )


def _scores(frame: pd.DataFrame, score_col: str) -> np.ndarray:
    series = frame[score_col]
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        raise TrainingError(
            f"score column {score_col!r} has dtype {series.dtype}; expected numeric scores "
            "(e.g. predicted probabilities)"
        )
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise TrainingError(
            f"score column {score_col!r} has {int(bad.sum()):,} missing or infinite value(s) "
            f"(first at positions {np.flatnonzero(bad)[:5].tolist()}); score every row first"
        )
    return values


def _markets(frame: pd.DataFrame, market_col: str) -> np.ndarray:
    series = frame[market_col]
    if series.isna().any():
        raise TrainingError(
            f"market column {market_col!r} has {int(series.isna().sum()):,} missing value(s); "
            "fill them (e.g. 'unknown') or drop those rows"
        )
    return series.astype(str).to_numpy(dtype=object)


def _check_capacity(
    capacity: int | Mapping[str, int], market_col: str | None, markets: np.ndarray | None
) -> int | Mapping[str, int]:
    if isinstance(capacity, Mapping):
        if market_col is None or markets is None:
            raise TrainingError(
                "capacity is a mapping market -> k but market_col is not given; pass "
                "market_col= or a single int capacity"
            )
        cap = {str(m): k for m, k in capacity.items()}
        for m, k in cap.items():
            if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
                raise TrainingError(
                    f"capacity[{m!r}]={k!r} must be a non-negative integer (rows reviewed per day)"
                )
        absent = sorted(set(markets.tolist()) - set(cap))
        if absent:
            raise TrainingError(
                f"capacity has no entry for market(s) {absent} found in {market_col!r}; give "
                "every market a daily capacity (0 if it reviews nothing)"
            )
        return MappingProxyType({m: int(cap[m]) for m in sorted(cap)})
    if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer) or capacity < 1:
        raise TrainingError(
            f"capacity={capacity!r} must be a positive integer (rows reviewed per day) or a "
            "mapping market -> rows per day"
        )
    return int(capacity)


def _check_options(
    target_precision: float, n_bootstrap: int, confidence: float, ece_bins: int, seed: int
) -> None:
    if not isinstance(target_precision, int | float) or not 0.0 < target_precision <= 1.0:
        raise TrainingError(f"target_precision={target_precision!r} must be in (0, 1]")
    if (
        isinstance(n_bootstrap, bool)
        or not isinstance(n_bootstrap, int | np.integer)
        or n_bootstrap < 0
    ):
        raise TrainingError(
            f"n_bootstrap={n_bootstrap!r} must be a non-negative integer (0 = no CIs)"
        )
    if not isinstance(confidence, int | float) or not 0.0 < confidence < 1.0:
        raise TrainingError(f"confidence={confidence!r} must be in (0, 1), e.g. 0.95")
    if isinstance(ece_bins, bool) or not isinstance(ece_bins, int | np.integer) or ece_bins < 1:
        raise TrainingError(f"ece_bins={ece_bins!r} must be a positive integer")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise TrainingError(f"seed={seed!r} must be a non-negative integer")


def evaluate(
    frame: pd.DataFrame,
    *,
    score_col: str,
    label_col: str,
    time_col: str,
    market_col: str | None = None,
    capacity: int | Mapping[str, int] = DEFAULT_CAPACITY,
    target_precision: float = 0.8,
    n_bootstrap: int = 200,
    seed: int = 0,
    sample: str | None = None,
    confidence: float = 0.95,
    ece_bins: int = 10,
) -> Evaluation:
    """Evaluate a score column against a 0/1 label, overall and per market, with CIs.

    See the module docstring for the exact definition of each metric and of the
    day-block bootstrap.

    Parameters
    ----------
    frame : DataFrame
        One row per scored entity (session or creator snapshot); not modified.
    score_col : str
        Scores (higher = riskier); probabilities for Brier and ECE.
    label_col : str
        0/1 or bool label, no missing values.
    time_col : str
        Prediction time (timezone-aware); its UTC day defines the daily review queue and
        the bootstrap blocks.
    market_col : str, optional
        Market column: adds one segment per market.
    capacity : int or Mapping[str, int], default 100
        Rows the moderators review per day (the ``k`` of precision@k); a mapping gives
        each market its own daily capacity (needs ``market_col``).
    target_precision : float, default 0.8
        Precision the reported recall must keep.
    n_bootstrap : int, default 200
        Bootstrap resamples (0 = no intervals).
    seed : int, default 0
        Seed of the resampling.
    sample : str, optional
        Description of which rows these are (e.g. ``"random_audit (unbiased)"``).
        Default: ``"as given (sampling not stated)"``.
    confidence : float, default 0.95
        Confidence level of the percentile intervals.
    ece_bins : int, default 10
        Number of equal-mass ECE bins.

    Returns
    -------
    Evaluation

    Raises
    ------
    TrainingError
        Empty frame; missing columns (all named); non-numeric, missing or infinite
        scores; labels missing or not 0/1; time column missing, naive or with missing
        values; missing markets; a capacity mapping without ``market_col`` or without
        an entry for a market; invalid options.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({
    ...     "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
    ...     "label": [1, 0, 1, 1, 0, 0],
    ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
    ... })
    >>> ev = evaluate(f, score_col="score", label_col="label", time_col="t", capacity=1,
    ...               n_bootstrap=0)
    >>> round(ev.overall.roc_auc.value, 4), round(ev.overall.pr_auc.value, 4)
    (0.7778, 0.8056)
    >>> ev.overall.precision_at_k.value  # day 1: top-1 is positive, day 2: top-1 is positive
    1.0
    """
    _check_options(target_precision, n_bootstrap, confidence, ece_bins, seed)
    _check_frame(
        frame,
        {
            "score_col": score_col,
            "label_col": label_col,
            "time_col": time_col,
            "market_col": market_col,
        },
    )
    scores = _scores(frame, score_col)
    labels = _labels(frame, label_col)
    assert labels is not None
    days = _utc_micros(frame, time_col) // _DAY_US
    markets = _markets(frame, market_col) if market_col is not None else None
    cap = _check_capacity(capacity, market_col, markets)
    options = {
        "target": float(target_precision),
        "n_bootstrap": int(n_bootstrap),
        "confidence": float(confidence),
        "seed": int(seed),
    }

    by_market: dict[str, MetricSet] = {}
    market_queues: list[dict[int, tuple[float, int]]] = []
    if markets is not None:
        for m in sorted(set(markets.tolist())):
            rows = markets == m
            k = cap[m] if isinstance(cap, Mapping) else cap
            queue = _daily_queue(scores[rows], labels[rows], days[rows], k)
            market_queues.append(queue)
            seg = _prepare_segment(
                m, scores[rows], labels[rows], days[rows], _precision_by_day([queue]), ece_bins
            )
            notes = _queue_notes(queue, k)
            by_market[m] = _metric_set(seg, k_text=f"k={k} per day", notes=notes, **options)

    if isinstance(cap, Mapping):
        overall_daily = _precision_by_day(market_queues)
        overall_notes: list[str] = []
        k_text = "per-market capacities"
    else:
        overall_queue = _daily_queue(scores, labels, days, cap)
        overall_daily = _precision_by_day([overall_queue])
        overall_notes = _queue_notes(overall_queue, cap)
        k_text = f"k={cap} per day"
    seg = _prepare_segment("overall", scores, labels, days, overall_daily, ece_bins)
    overall = _metric_set(seg, k_text=k_text, notes=overall_notes, **options)

    return Evaluation(
        sample=sample if sample is not None else "as given (sampling not stated)",
        n_rows=overall.n_rows,
        n_positive=overall.n_positive,
        overall=overall,
        by_market=MappingProxyType(by_market),
        score_col=score_col,
        capacity=cap,
        target_precision=float(target_precision),
        confidence=float(confidence),
        n_bootstrap=int(n_bootstrap),
        seed=int(seed),
        ece_bins=int(ece_bins),
    )


def _queue_notes(queue: Mapping[int, tuple[float, int]], k: int) -> list[str]:
    """Warn when the queue reviews every row on most days (precision@k = base rate)."""
    if not queue or k == 0:
        return []
    # a day with fewer rows than k reviews all of them
    full = sum(1 for _, reviewed in queue.values() if reviewed < k)
    if full * 2 > len(queue):
        return [
            f"on {full} of {len(queue)} days there are fewer rows than the capacity k={k}, so "
            "the queue reviews every row and precision_at_k is close to the positive rate"
        ]
    return []


def evaluate_reviewed(
    frame: pd.DataFrame,
    *,
    score_col: str,
    label_col: str,
    time_col: str,
    sample_col: str = "sample_reason",
    unbiased_value: str = "random_audit",
    market_col: str | None = None,
    capacity: int | Mapping[str, int] = DEFAULT_CAPACITY,
    audit_capacity: int | Mapping[str, int] | None = None,
    target_precision: float = 0.8,
    n_bootstrap: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
    ece_bins: int = 10,
) -> ReviewedEvaluation:
    """Evaluate reviewed sessions twice: the unbiased random audit and all reviews.

    Only sessions reviewed at random (``sample_col == unbiased_value``) are an unbiased
    sample of what the model scores; viewer-report and risk-queue reviews over-represent
    suspicious sessions, which inflates the positive rate and usually the precision. Both
    evaluations are returned, labelled ``"random_audit (unbiased)"`` and
    ``"all reviewed (biased by sampling)"``.

    Parameters
    ----------
    frame : DataFrame
        Reviewed sessions with score, label, time and sample-reason columns; not modified.
    score_col, label_col, time_col, market_col, capacity, target_precision, n_bootstrap, seed, confidence, ece_bins
        As :func:`evaluate`.
    sample_col : str, default ``"sample_reason"``
        Why each session was reviewed.
    unbiased_value : str, default ``"random_audit"``
        The value of ``sample_col`` that marks the random (unbiased) sample.
    audit_capacity : int or Mapping[str, int], optional
        Daily capacity for precision@k on the random-audit rows. The audit is a small
        sample (about 1 % of sessions), so a queue of ``capacity`` rows may review every
        audited row; pass ``capacity`` times the audit rate to mimic the real queue.
        Default: ``capacity``.

    Returns
    -------
    ReviewedEvaluation

    Raises
    ------
    TrainingError
        As :func:`evaluate`; and when ``sample_col`` is missing or no row is a random audit.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({
    ...     "score": [0.9, 0.2, 0.7, 0.1, 0.8, 0.6],
    ...     "label": [1, 0, 0, 0, 1, 1],
    ...     "t": pd.to_datetime(["2026-01-01"] * 3 + ["2026-01-02"] * 3, utc=True),
    ...     "sample_reason": ["random_audit", "random_audit", "risk_queue",
    ...                       "random_audit", "viewer_report", "random_audit"],
    ... })
    >>> rev = evaluate_reviewed(f, score_col="score", label_col="label", time_col="t",
    ...                         n_bootstrap=0)
    >>> rev.random_audit.sample, rev.random_audit.n_rows, rev.all_reviewed.n_rows
    ('random_audit (unbiased)', 4, 6)
    """
    _check_frame(frame, {"sample_col": sample_col})
    reasons = frame[sample_col]
    is_audit = (reasons == unbiased_value).fillna(False).to_numpy(dtype=bool)
    counts = reasons.astype(object).fillna("(missing)").value_counts()
    sample_counts = MappingProxyType({str(k): int(v) for k, v in counts.sort_index().items()})
    if not is_audit.any():
        raise TrainingError(
            f"no row has {sample_col} == {unbiased_value!r} (found {dict(sample_counts)}); the "
            "unbiased evaluation needs the random-audit sample: include the audited sessions"
        )
    common = {
        "score_col": score_col,
        "label_col": label_col,
        "time_col": time_col,
        "market_col": market_col,
        "target_precision": target_precision,
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "confidence": confidence,
        "ece_bins": ece_bins,
    }
    audit = evaluate(
        frame.loc[is_audit],
        capacity=capacity if audit_capacity is None else audit_capacity,
        sample=f"{unbiased_value} (unbiased)",
        **common,
    )
    everything = evaluate(
        frame, capacity=capacity, sample="all reviewed (biased by sampling)", **common
    )
    return ReviewedEvaluation(
        random_audit=audit, all_reviewed=everything, sample_counts=sample_counts
    )


def compare(
    evaluations: Mapping[str, Evaluation], *, segment: str = "overall", text: bool = False
) -> pd.DataFrame:
    """Several scorers side by side: one row per scorer, metrics with CIs as columns.

    Parameters
    ----------
    evaluations : Mapping[str, Evaluation]
        Scorer name -> its evaluation (e.g. ``{"model": ..., "rules": ..., "oracle": ...}``),
        all on the same rows and settings.
    segment : str, default ``"overall"``
        Which segment to compare (``"overall"`` or a market).
    text : bool, default False
        False: numeric columns ``<metric>``, ``<metric>_low``, ``<metric>_high`` plus
        ``n_rows``, ``n_positive``. True: one printable column per metric,
        ``"0.812 [0.790, 0.833]"`` (for the CLI and the README).

    Returns
    -------
    DataFrame
        Indexed by scorer name, in the mapping's order.

    Raises
    ------
    TrainingError
        No evaluations; evaluations on different samples or settings; unknown segment.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"model": [0.9, 0.2, 0.7, 0.1], "rules": [0.5, 0.5, 0.1, 0.5],
    ...                   "y": [1, 0, 1, 0],
    ...                   "t": pd.to_datetime(["2026-01-01"] * 4, utc=True)})
    >>> evs = {c: evaluate(f, score_col=c, label_col="y", time_col="t", n_bootstrap=0)
    ...        for c in ("model", "rules")}
    >>> compare(evs)["roc_auc"].tolist()
    [1.0, 0.25]
    """
    if not evaluations:
        raise TrainingError("compare() needs at least one evaluation, got none")
    items = list(evaluations.items())
    ref_name, ref = items[0]
    for name, ev in items[1:]:
        same = (
            ev.sample == ref.sample
            and ev.n_rows == ref.n_rows
            and ev.n_positive == ref.n_positive
            and dict(_as_dict(ev.capacity)) == dict(_as_dict(ref.capacity))
            and ev.target_precision == ref.target_precision
            and ev.confidence == ref.confidence
        )
        if not same:
            raise TrainingError(
                f"evaluations {ref_name!r} and {name!r} are not comparable: sample "
                f"{ref.sample!r} vs {ev.sample!r}, rows {ref.n_rows} vs {ev.n_rows}, positives "
                f"{ref.n_positive} vs {ev.n_positive}, {_capacity_text(ref.capacity)} vs "
                f"{_capacity_text(ev.capacity)}, target precision {ref.target_precision} vs "
                f"{ev.target_precision}, confidence {ref.confidence} vs {ev.confidence}; evaluate "
                "every scorer on the same frame with the same settings"
            )
    rows = {}
    for name, ev in items:
        if segment == "overall":
            ms = ev.overall
        elif segment in ev.by_market:
            ms = ev.by_market[segment]
        else:
            raise TrainingError(
                f"evaluation {name!r} has no segment {segment!r}; it has "
                f"{['overall', *ev.by_market]}"
            )
        row: dict[str, object] = {}
        for m in ms.metrics:
            if text:
                row[_display_name(m.name, ev.target_precision)] = str(m)
            else:
                row[m.name] = m.value
                row[f"{m.name}_low"] = m.ci_low
                row[f"{m.name}_high"] = m.ci_high
        row["n_rows"] = ms.n_rows
        row["n_positive"] = ms.n_positive
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "scorer"
    return table


def _as_dict(capacity: int | Mapping[str, int]) -> Mapping[str, int]:
    return capacity if isinstance(capacity, Mapping) else {"*": capacity}
